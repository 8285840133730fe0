//! ВКонтакте: the VK API client ([`VkApi`]) and two sources built on it:
//!
//! * [`VkWallSource`]: walls of registered communities (`wall.get`, owner ids negative), and
//!   optionally the comments under their recent posts (`wall.getComments`). Communities may be
//!   given as `-123`, `club123`, `public123`, a screen name or a `vk.com/...` link; each round
//!   starts with one `groups.getById` call that resolves names to ids and checks that the
//!   communities exist and are open.
//! * [`VkSearchSource`]: `newsfeed.search` by keywords. VK returns at most 1,000 results per
//!   query and time window, so a window reporting more is split in halves (by `start_time` /
//!   `end_time`) until each half fits.
//!
//! The API version is pinned ([`DEFAULT_VERSION`], configurable) and sent with every call with
//! the token ([`VkApiConfig::token`], never logged). Calls go through the shared
//! [`HttpClient`] with a rate limiter shared per token: 3 requests/s
//! for a user or service token, 20 for a community token, or
//! [`VkApiConfig::requests_per_second`].
//!
//! Errors: VK error objects become [`CollectError::Vk`] with the code; 1, 6, 9, 10 (and 29, the
//! daily quota, after an hour) are retried, others — 5 (authorisation), 15/18/30 (access
//! denied, deleted, private), 100 (bad parameters) — are permanent.

mod search;
#[cfg(test)]
mod tests;
mod types;
mod wall;

use std::sync::Arc;

use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::CollectError;
use crate::http::{FetchOptions, HttpClient, RateLimit, RateLimiter, Secret};
use crate::telegram::parse_base;

pub use search::{VkSearchConfig, VkSearchSource};
pub use types::{
    VkAttachment, VkComment, VkCommentsPage, VkCount, VkGroup, VkPost, VkProfile, VkSearchPage,
    VkWallPage,
};
pub use wall::{CommentsConfig, OwnerRef, VkWallConfig, VkWallSource};

/// The API version the parsers are written for.
pub const DEFAULT_VERSION: &str = "5.199";

fn default_base_url() -> String {
    "https://api.vk.com/method/".to_owned()
}

fn default_version() -> String {
    DEFAULT_VERSION.to_owned()
}

/// What kind of token the configuration holds (it decides the default rate limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A user token: 3 requests per second.
    #[default]
    User,
    /// A service token of an application: 3 requests per second.
    Service,
    /// A community token: 20 requests per second.
    Group,
}

/// How to reach the VK API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VkApiConfig {
    /// Method endpoint (`https://api.vk.com/method/`).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// API version sent as `v`.
    #[serde(default = "default_version")]
    pub version: String,
    /// The access token.
    pub token: Secret,
    /// Kind of token.
    #[serde(default)]
    pub token_kind: TokenKind,
    /// Overrides the rate limit of the token kind.
    #[serde(default)]
    pub requests_per_second: Option<f64>,
}

impl VkApiConfig {
    /// Defaults with `token`.
    pub fn new(token: Secret) -> Self {
        Self {
            base_url: default_base_url(),
            version: default_version(),
            token,
            token_kind: TokenKind::User,
            requests_per_second: None,
        }
    }

    /// The rate limit that applies.
    pub fn rate_limit(&self) -> RateLimit {
        match (self.requests_per_second, self.token_kind) {
            (Some(r), _) => RateLimit::per_second(r),
            (None, TokenKind::Group) => RateLimit::VK_GROUP,
            (None, TokenKind::User | TokenKind::Service) => RateLimit::VK_USER,
        }
    }
}

/// A VK API client: signs calls with the token and version, rate-limits per token, retries,
/// and turns VK error objects into [`CollectError::Vk`].
#[derive(Debug, Clone)]
pub struct VkApi {
    config: VkApiConfig,
    base: Url,
    http: HttpClient,
    limiter: Arc<RateLimiter>,
}

/// The answer of `groups.getById` in either shape.
#[derive(Deserialize)]
#[serde(untagged)]
enum GroupsAnswer {
    /// Since 5.194: `{"groups": [...], "profiles": [...]}`.
    Object { groups: Vec<VkGroup> },
    /// Older versions: a bare array.
    List(Vec<VkGroup>),
}

impl GroupsAnswer {
    fn into_groups(self) -> Vec<VkGroup> {
        match self {
            Self::Object { groups } | Self::List(groups) => groups,
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    response: Option<serde_json::Value>,
    error: Option<VkErrorBody>,
}

#[derive(Deserialize)]
struct VkErrorBody {
    error_code: i64,
    #[serde(default)]
    error_msg: String,
}

impl VkApi {
    /// Checks the configuration; the rate limiter is shared with every other client using the
    /// same token through the same `http`.
    pub fn new(config: VkApiConfig, http: HttpClient) -> Result<Self, CollectError> {
        if config.token.is_empty() {
            return Err(CollectError::Config("vk: the token is empty".into()));
        }
        if config.version.trim().is_empty() {
            return Err(CollectError::Config("vk: the API version is empty".into()));
        }
        let base = parse_base(&config.base_url)?;
        let key = format!("vk:{}", config.token.fingerprint());
        let limiter = http.limiter(&key, config.rate_limit());
        Ok(Self {
            config,
            base,
            http,
            limiter,
        })
    }

    /// Calls `method` with `params` (token and version added), with retries.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<T, CollectError> {
        let mut url = self
            .base
            .join(method)
            .map_err(|e| CollectError::Config(format!("vk: bad method URL: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            q.append_pair("access_token", self.config.token.expose());
            q.append_pair("v", &self.config.version);
        }
        let opts = FetchOptions {
            limiter: Some(Arc::clone(&self.limiter)),
            accept: Some("application/json"),
        };
        self.http
            .retry(method, || async {
                let page = self.http.fetch(&url, &opts).await?;
                let env: Envelope = serde_json::from_str(&page.text)
                    .map_err(|e| CollectError::from_json(&page.url, &e))?;
                if let Some(err) = env.error {
                    return Err(CollectError::Vk {
                        code: err.error_code,
                        method: method.to_owned(),
                        message: err.error_msg,
                    });
                }
                let response = env.response.ok_or_else(|| {
                    CollectError::format(&page.url, "neither response nor error in the answer")
                })?;
                serde_json::from_value(response)
                    .map_err(|e| CollectError::format(&page.url, format!("{method} response: {e}")))
            })
            .await
    }

    /// `wall.get` of `owner_id` (negative for communities), newest first.
    pub async fn wall_get(
        &self,
        owner_id: i64,
        offset: u32,
        count: u32,
    ) -> Result<VkWallPage, CollectError> {
        self.call(
            "wall.get",
            &[
                ("owner_id", owner_id.to_string()),
                ("offset", offset.to_string()),
                ("count", count.min(100).to_string()),
                ("filter", "all".into()),
                ("extended", "1".into()),
            ],
        )
        .await
    }

    /// `wall.getComments` of a post, oldest first.
    pub async fn wall_get_comments(
        &self,
        owner_id: i64,
        post_id: u64,
        offset: u32,
        count: u32,
    ) -> Result<VkCommentsPage, CollectError> {
        self.call(
            "wall.getComments",
            &[
                ("owner_id", owner_id.to_string()),
                ("post_id", post_id.to_string()),
                ("offset", offset.to_string()),
                ("count", count.min(100).to_string()),
                ("sort", "asc".into()),
                ("extended", "1".into()),
            ],
        )
        .await
    }

    /// `newsfeed.search` for `q` with `start_time <= date <= end_time` (unix seconds).
    pub async fn newsfeed_search(
        &self,
        q: &str,
        start_time: i64,
        end_time: i64,
        start_from: Option<&str>,
        count: u32,
    ) -> Result<VkSearchPage, CollectError> {
        let mut params = vec![
            ("q", q.to_owned()),
            ("start_time", start_time.to_string()),
            ("end_time", end_time.to_string()),
            ("count", count.min(200).to_string()),
            ("extended", "1".into()),
        ];
        if let Some(from) = start_from {
            params.push(("start_from", from.to_owned()));
        }
        self.call("newsfeed.search", &params).await
    }

    /// `groups.getById` for ids (without the minus) or screen names.
    pub async fn groups_get_by_id(&self, ids: &[String]) -> Result<Vec<VkGroup>, CollectError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let answer: GroupsAnswer = self
            .call(
                "groups.getById",
                &[
                    ("group_ids", ids.join(",")),
                    ("fields", "screen_name".into()),
                ],
            )
            .await?;
        Ok(answer.into_groups())
    }
}
