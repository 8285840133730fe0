//! [`Replier`]: the reply outbox worker — due replies are claimed (leased), posted through an
//! outbound adapter ([`ReplySender`]; [`VkReplySender`] for VK `wall.createComment`) and marked
//! delivered, or failed with a retry time. A delivered reply is never claimed again; a send
//! that fails is retried until it succeeds or `max_attempts` is reached; VK's `guid` parameter
//! (the reply's idempotency key) makes a resend after a lost answer harmless.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use otklik_domain::Timestamp;
use otklik_store::{OutboundReply, Store};
use serde::Deserialize;

use crate::collector::backoff_delay;
use crate::{PipelineError, SendError, telemetry};

/// The future a [`ReplySender`] returns: the remote id of the posted comment.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<String, SendError>> + Send + 'a>>;

/// An outbound adapter: posts one reply in its network.
pub trait ReplySender: Send + Sync + fmt::Debug {
    /// Posts `reply` and returns the network's id of the new comment.
    fn send<'a>(&'a self, reply: &'a OutboundReply) -> SendFuture<'a>;
}

/// Posts replies as VK comments (`wall.createComment`).
#[derive(Clone)]
pub struct VkReplySender {
    client: reqwest::Client,
    base_url: String,
    token: String,
    version: String,
    from_group: Option<u64>,
}

impl fmt::Debug for VkReplySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VkReplySender")
            .field("base_url", &self.base_url)
            .field("token", &"***")
            .field("version", &self.version)
            .field("from_group", &self.from_group)
            .finish()
    }
}

#[derive(Deserialize)]
struct VkAnswer {
    response: Option<VkComment>,
    error: Option<VkError>,
}

#[derive(Deserialize)]
struct VkComment {
    comment_id: i64,
}

#[derive(Deserialize)]
struct VkError {
    error_code: i64,
    error_msg: String,
}

impl VkReplySender {
    /// VK's endpoint `https://api.vk.com/method/`.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.vk.com/method/";

    /// A sender with a community (or user) token; `base_url` ends with `/method/` (tests point
    /// it at a fake server).
    pub fn new(
        base_url: impl Into<String>,
        token: impl Into<String>,
    ) -> Result<Self, PipelineError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| PipelineError::Config(format!("HTTP client: {e}")))?;
        let mut base_url = base_url.into();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Ok(Self {
            client,
            base_url,
            token: token.into(),
            version: "5.199".into(),
            from_group: None,
        })
    }

    /// Posts on behalf of community `group_id` (a community token is needed).
    pub fn from_group(mut self, group_id: u64) -> Self {
        self.from_group = Some(group_id);
        self
    }

    /// Splits «-123_456» into owner id and post id.
    fn target(reply: &OutboundReply) -> Result<(String, String), SendError> {
        let (owner, post) = reply.target_external_id.split_once('_').ok_or_else(|| {
            SendError::Invalid(format!("not a VK post id: {:?}", reply.target_external_id))
        })?;
        if owner.parse::<i64>().is_err() || post.parse::<i64>().is_err() {
            return Err(SendError::Invalid(format!(
                "not a VK post id: {:?}",
                reply.target_external_id
            )));
        }
        Ok((owner.to_owned(), post.to_owned()))
    }

    async fn create_comment(&self, reply: &OutboundReply) -> Result<String, SendError> {
        let (owner_id, post_id) = Self::target(reply)?;
        let url = format!("{}wall.createComment", self.base_url);
        let mut form = vec![
            ("owner_id", owner_id),
            ("post_id", post_id),
            ("message", reply.text.clone()),
            ("guid", reply.idempotency_key.clone()),
            ("access_token", self.token.clone()),
            ("v", self.version.clone()),
        ];
        if let Some(g) = self.from_group {
            form.push(("from_group", g.to_string()));
        }
        let resp = self
            .client
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| SendError::Transport {
                url: url.clone(),
                message: e.without_url().to_string(),
            })?;
        let status = resp.status();
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(SendError::Http {
                status: status.as_u16(),
                url,
                retry_after,
            });
        }
        let body = resp.bytes().await.map_err(|e| SendError::Transport {
            url: url.clone(),
            message: e.without_url().to_string(),
        })?;
        let answer: VkAnswer =
            serde_json::from_slice(&body).map_err(|e| SendError::Format(e.to_string()))?;
        match (answer.response, answer.error) {
            (_, Some(e)) => Err(SendError::Api {
                code: e.error_code,
                message: e.error_msg,
            }),
            (Some(c), None) => Ok(c.comment_id.to_string()),
            (None, None) => Err(SendError::Format("neither response nor error".into())),
        }
    }
}

impl ReplySender for VkReplySender {
    fn send<'a>(&'a self, reply: &'a OutboundReply) -> SendFuture<'a> {
        Box::pin(self.create_comment(reply))
    }
}

/// How the replier behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplierSettings {
    /// Replies claimed per round.
    pub batch_size: i64,
    /// Lease on a claimed reply; must exceed a send's timeout.
    pub lease: Duration,
    /// Attempts after which a failing reply is given up.
    pub max_attempts: i64,
    /// First retry delay (doubling, capped at `backoff_max`).
    pub backoff_base: Duration,
    /// Cap of the retry delay.
    pub backoff_max: Duration,
}

impl Default for ReplierSettings {
    fn default() -> Self {
        Self {
            batch_size: 20,
            lease: Duration::from_secs(120),
            max_attempts: 10,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

/// What one [`Replier::run_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplierReport {
    /// Replies posted.
    pub delivered: u64,
    /// Failed sends to be retried.
    pub retrying: u64,
    /// Replies given up.
    pub given_up: u64,
}

/// The reply outbox worker.
#[derive(Debug, Clone)]
pub struct Replier {
    store: Store,
    sender: Arc<dyn ReplySender>,
    settings: ReplierSettings,
}

impl Replier {
    /// A worker posting through `sender`.
    pub fn new(store: Store, sender: Arc<dyn ReplySender>, settings: ReplierSettings) -> Self {
        Self {
            store,
            sender,
            settings,
        }
    }

    /// Claims the replies due at `now` and tries to post each once.
    pub async fn run_once(&self, now: Timestamp) -> Result<ReplierReport, PipelineError> {
        let lease_ms = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
        let due = self
            .store
            .claim_due_replies(now, self.settings.batch_size, lease_ms)
            .await?;
        let mut report = ReplierReport::default();
        for reply in due {
            match self.sender.send(&reply).await {
                Ok(remote_id) => {
                    self.store
                        .mark_reply_delivered(reply.id, &remote_id, now)
                        .await?;
                    telemetry::reply_delivered(reply.id.get(), &remote_id);
                    report.delivered += 1;
                }
                Err(e) => {
                    let retryable = e.is_retryable() && reply.attempts < self.settings.max_attempts;
                    let next = retryable.then(|| {
                        let d = backoff_delay(
                            self.settings.backoff_base,
                            self.settings.backoff_max,
                            reply.attempts,
                            e.retry_after(),
                        );
                        Timestamp(
                            now.millis()
                                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                        )
                    });
                    let message = e.to_string();
                    self.store
                        .mark_reply_failed(reply.id, &message, next, now)
                        .await?;
                    telemetry::reply_failed(reply.id.get(), retryable, &message);
                    if retryable {
                        report.retrying += 1;
                    } else {
                        report.given_up += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}
