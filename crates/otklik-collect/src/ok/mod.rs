//! Одноклассники: the OK REST API (`https://api.ok.ru/fb.do`) with signed requests, reading a
//! group's posts (media topics) and the comments under them (discussions).
//!
//! ## Signing
//!
//! Every call carries `application_key`, `method`, `format=json`, its own parameters, `sig`
//! and `access_token`. `sig = md5(k1=v1k2=v2… + session_secret_key)` over all parameters except
//! `access_token`/`session_key`, sorted by name, concatenated without separators;
//! `session_secret_key = md5(access_token + application_secret_key)`; hex lowercase
//! ([`sign`]).
//!
//! ## Methods and cursor
//!
//! * feed: [`OkConfig::feed_method`] (default `stream.get`) with `gid`, `patterns=POST`,
//!   `count` and `anchor` (paging backwards); the answer lists `feeds` with `target_refs` into
//!   `entities.media_topics`, whose `media` blocks give the text and attachments.
//! * comments: `discussions.getComments` with `entityId` (the topic), `entityType=GROUP_TOPIC`,
//!   `anchor` (paging forwards).
//!
//! The cursor is the same as Telegram's: `seen_up_to` (topic ids grow), a walk back through
//! older pages by `anchor` while a gap is being filled, and a queue of new topics whose
//! comments are still to be read (read once, when the topic is found; later comments are not
//! followed yet).
//!
//! Status: the request signing, error handling and paging are implemented and tested against a
//! fake server that speaks the shapes above, which follow OK's public documentation as far as it
//! could be checked without an application key; the response shapes still need a check against
//! the live API before production use.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use md5::{Digest, Md5};
use otklik_domain::Network;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::events::{BatchCollected, InternalEvent};
use crate::http::{FetchOptions, HttpClient, RateLimit, RateLimiter, Secret};
use crate::item::AttachmentKind;
use crate::text::html_to_text;
use crate::{Batch, CollectError, Cursor, Item, PollContext, PollFuture, Source};

const CURSOR_KIND: &str = "ok_group";

fn default_base_url() -> String {
    "https://api.ok.ru/fb.do".to_owned()
}

fn default_feed_method() -> String {
    "stream.get".to_owned()
}

fn default_page_size() -> u32 {
    20
}

fn default_backfill_pages() -> u32 {
    1
}

fn default_rps() -> f64 {
    3.0
}

/// Configuration of an OK group source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OkConfig {
    /// Endpoint (`https://api.ok.ru/fb.do`).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The application's public key.
    pub application_key: String,
    /// The application's secret key.
    pub application_secret_key: Secret,
    /// A session or eternal access token.
    pub access_token: Secret,
    /// The group id (digits).
    pub group_id: String,
    /// The feed method.
    #[serde(default = "default_feed_method")]
    pub feed_method: String,
    /// Topics per request.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Pages of history on the first poll.
    #[serde(default = "default_backfill_pages")]
    pub backfill_pages: u32,
    /// Read the comments of new topics.
    #[serde(default)]
    pub comments: bool,
    /// Requests per second for this token.
    #[serde(default = "default_rps")]
    pub requests_per_second: f64,
}

impl OkConfig {
    /// Defaults for the keys and the group.
    pub fn new(
        application_key: impl Into<String>,
        application_secret_key: Secret,
        access_token: Secret,
        group_id: impl Into<String>,
    ) -> Self {
        Self {
            base_url: default_base_url(),
            application_key: application_key.into(),
            application_secret_key,
            access_token,
            group_id: group_id.into(),
            feed_method: default_feed_method(),
            page_size: default_page_size(),
            backfill_pages: default_backfill_pages(),
            comments: false,
            requests_per_second: default_rps(),
        }
    }
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// The `sig` of a call: `md5(sorted k=v pairs (without access_token/session_key) +
/// md5(access_token + application_secret_key))`, lowercase hex.
pub fn sign(params: &BTreeMap<String, String>, access_token: &str, app_secret: &str) -> String {
    let session_secret = md5_hex(&format!("{access_token}{app_secret}"));
    let mut s = String::new();
    for (k, v) in params {
        if k == "access_token" || k == "session_key" || k == "sig" {
            continue;
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s.push_str(&session_secret);
    md5_hex(&s)
}

/// An OK API client.
#[derive(Debug, Clone)]
pub struct OkApi {
    config: OkConfig,
    base: Url,
    http: HttpClient,
    limiter: Arc<RateLimiter>,
}

#[derive(Deserialize)]
struct OkErrorBody {
    error_code: i64,
    #[serde(default)]
    error_msg: String,
}

impl OkApi {
    /// Checks the configuration.
    pub fn new(config: OkConfig, http: HttpClient) -> Result<Self, CollectError> {
        if config.application_key.trim().is_empty()
            || config.application_secret_key.is_empty()
            || config.access_token.is_empty()
        {
            return Err(CollectError::Config(
                "ok: application_key, application_secret_key and access_token are required".into(),
            ));
        }
        if config.group_id.is_empty() || !config.group_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(CollectError::Config(format!(
                "ok: group_id {:?} must be digits",
                config.group_id
            )));
        }
        let base = Url::parse(&config.base_url)
            .map_err(|e| CollectError::Config(format!("ok: bad base URL: {e}")))?;
        let limiter = http.limiter(
            &format!("ok:{}", config.access_token.fingerprint()),
            RateLimit::per_second(config.requests_per_second),
        );
        Ok(Self {
            config,
            base,
            http,
            limiter,
        })
    }

    /// The full signed parameter list of a call.
    pub fn signed_params(&self, method: &str, params: &[(&str, String)]) -> Vec<(String, String)> {
        let mut all: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        all.insert(
            "application_key".into(),
            self.config.application_key.clone(),
        );
        all.insert("method".into(), method.to_owned());
        all.insert("format".into(), "json".into());
        let sig = sign(
            &all,
            self.config.access_token.expose(),
            self.config.application_secret_key.expose(),
        );
        let mut out: Vec<(String, String)> = all.into_iter().collect();
        out.push(("sig".into(), sig));
        out.push((
            "access_token".into(),
            self.config.access_token.expose().to_owned(),
        ));
        out
    }

    /// Calls `method` (signed, rate-limited, retried) and returns the JSON answer.
    pub async fn call(
        &self,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, CollectError> {
        let mut url = self.base.clone();
        url.query_pairs_mut()
            .extend_pairs(self.signed_params(method, params));
        let opts = FetchOptions {
            limiter: Some(Arc::clone(&self.limiter)),
            accept: Some("application/json"),
        };
        self.http
            .retry(method, || async {
                let page = self.http.fetch(&url, &opts).await?;
                let value: serde_json::Value = serde_json::from_str(&page.text)
                    .map_err(|e| CollectError::from_json(&page.url, &e))?;
                if value.get("error_code").is_some() {
                    let err: OkErrorBody = serde_json::from_value(value).map_err(|e| {
                        CollectError::format(&page.url, format!("OK error object: {e}"))
                    })?;
                    return Err(CollectError::Ok {
                        code: err.error_code,
                        method: method.to_owned(),
                        message: err.error_msg,
                    });
                }
                Ok(value)
            })
            .await
    }

    /// One page of the group's feed, newest first; `anchor` continues backwards.
    pub async fn group_feed(&self, anchor: Option<&str>) -> Result<OkFeedPage, CollectError> {
        let mut params = vec![
            ("gid", self.config.group_id.clone()),
            ("patterns", "POST".to_owned()),
            ("count", self.config.page_size.clamp(1, 100).to_string()),
            (
                "fields",
                "media_topic.*,group.name,group.uid,user.name".to_owned(),
            ),
        ];
        if let Some(a) = anchor {
            params.push(("anchor", a.to_owned()));
            params.push(("direction", "BACKWARD".to_owned()));
        }
        let value = self.call(&self.config.feed_method, &params).await?;
        serde_json::from_value(value)
            .map_err(|e| CollectError::format(&self.config.base_url, format!("feed: {e}")))
    }

    /// One page of a topic's comments, oldest first; `anchor` continues forwards.
    pub async fn topic_comments(
        &self,
        topic_id: &str,
        anchor: Option<&str>,
    ) -> Result<OkCommentsPage, CollectError> {
        let mut params = vec![
            ("entityId", topic_id.to_owned()),
            ("entityType", "GROUP_TOPIC".to_owned()),
            ("count", "100".to_owned()),
        ];
        if let Some(a) = anchor {
            params.push(("anchor", a.to_owned()));
            params.push(("direction", "FORWARD".to_owned()));
        }
        let value = self.call("discussions.getComments", &params).await?;
        serde_json::from_value(value)
            .map_err(|e| CollectError::format(&self.config.base_url, format!("comments: {e}")))
    }
}

/// A feed page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkFeedPage {
    /// Paging anchor for older items.
    #[serde(default)]
    pub anchor: Option<String>,
    /// More items are available.
    #[serde(default)]
    pub has_more: bool,
    /// Feed entries, newest first.
    #[serde(default)]
    pub feeds: Vec<OkFeed>,
    /// Objects the entries refer to.
    #[serde(default)]
    pub entities: OkEntities,
}

/// A feed entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkFeed {
    /// `POST`, `CONTENT`…
    #[serde(default)]
    pub pattern: String,
    /// Refs of the objects (`group_topic:123`).
    #[serde(default)]
    pub target_refs: Vec<String>,
}

/// Entities of a feed page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkEntities {
    /// Topics.
    #[serde(default)]
    pub media_topics: Vec<OkTopic>,
    /// Groups (authors).
    #[serde(default)]
    pub groups: Vec<OkGroup>,
}

/// A group.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkGroup {
    /// `group:123`.
    #[serde(default)]
    pub r#ref: String,
    /// Name.
    #[serde(default)]
    pub name: String,
}

/// A media topic (post).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkTopic {
    /// `group_topic:123`.
    #[serde(default)]
    pub r#ref: String,
    /// Topic id.
    pub id: String,
    /// Creation time, epoch ms.
    #[serde(default)]
    pub created_ms: Option<i64>,
    /// Content blocks.
    #[serde(default)]
    pub media: Vec<OkMedia>,
    /// Author ref (`group:123`, `user:456`).
    #[serde(default)]
    pub author_ref: Option<String>,
    /// Comment counter.
    #[serde(default)]
    pub discussion_summary: Option<OkDiscussionSummary>,
    /// Reshared topic.
    #[serde(default)]
    pub reshared_topic_ref: Option<String>,
}

/// Comment counter of a topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct OkDiscussionSummary {
    /// Comments.
    #[serde(default)]
    pub comments_count: u64,
}

/// A content block of a topic.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkMedia {
    /// `text`, `photo`, `movie`, `link`, `poll`, `music`, `app`…
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Text of a `text` block.
    #[serde(default)]
    pub text: Option<String>,
}

/// A comments page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkCommentsPage {
    /// Comments, oldest first.
    #[serde(default)]
    pub comments: Vec<OkComment>,
    /// Anchor to continue.
    #[serde(default)]
    pub anchor: Option<String>,
    /// More comments follow.
    #[serde(default)]
    pub has_more: bool,
}

/// A comment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct OkComment {
    /// Comment id.
    pub id: String,
    /// «2025-03-03 11:20:00» (UTC).
    #[serde(default)]
    pub date: Option<String>,
    /// Epoch ms, when given.
    #[serde(default)]
    pub date_ms: Option<i64>,
    /// Author id.
    #[serde(default)]
    pub author_id: Option<String>,
    /// Author name.
    #[serde(default)]
    pub author_name: Option<String>,
    /// Text.
    #[serde(default)]
    pub text: String,
}

fn media_kind(kind: &str) -> Option<AttachmentKind> {
    Some(match kind {
        "text" => return None,
        "photo" => AttachmentKind::Photo,
        "movie" => AttachmentKind::Video,
        "music" => AttachmentKind::Audio,
        "link" => AttachmentKind::Link,
        "poll" => AttachmentKind::Poll,
        "place" => AttachmentKind::Geo,
        _ => AttachmentKind::Other,
    })
}

/// «2025-03-03 11:20:00» as UTC, epoch ms.
fn ok_date(raw: &str) -> Option<i64> {
    let dt = jiff::civil::DateTime::from_str(raw.trim()).ok()?;
    jiff::tz::Offset::UTC
        .to_timestamp(dt)
        .ok()
        .map(|t| t.as_millisecond())
}

/// Topics of a feed page in feed order, as (numeric id, item, comment count).
pub fn feed_items(page: &OkFeedPage, group_id: &str) -> Result<Vec<(u64, Item, u64)>, String> {
    let mut out = Vec::new();
    for feed in &page.feeds {
        for r in &feed.target_refs {
            let Some(topic) = page.entities.media_topics.iter().find(|t| t.r#ref == *r) else {
                continue;
            };
            let id: u64 = topic
                .id
                .parse()
                .map_err(|_| format!("topic id {:?} is not a number", topic.id))?;
            let created = topic
                .created_ms
                .ok_or_else(|| format!("topic {} has no created_ms", topic.id))?;
            let text = topic
                .media
                .iter()
                .filter_map(|m| m.text.as_deref())
                .map(html_to_text)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n");
            let mut item = Item::new(Network::Ok, format!("{group_id}_{id}"), text, created);
            item.url = Some(format!("https://ok.ru/group/{group_id}/topic/{id}"));
            item.author = topic.author_ref.as_ref().map(|a| {
                page.entities
                    .groups
                    .iter()
                    .find(|g| g.r#ref == *a)
                    .map_or_else(|| a.clone(), |g| g.name.clone())
            });
            item.forwarded_from = topic.reshared_topic_ref.clone();
            item.attachments = topic
                .media
                .iter()
                .filter_map(|m| media_kind(&m.kind))
                .collect();
            let comments = topic.discussion_summary.map_or(0, |d| d.comments_count);
            out.push((id, item.finish(), comments));
        }
    }
    Ok(out)
}

/// A comment under topic `topic_id` as an item.
pub fn comment_item(group_id: &str, topic_id: u64, c: &OkComment) -> Option<Item> {
    let at = c.date_ms.or_else(|| c.date.as_deref().and_then(ok_date))?;
    let mut item = Item::new(
        Network::Ok,
        format!("{group_id}_{topic_id}_{}", c.id),
        html_to_text(&c.text),
        at,
    );
    item.parent_external_id = Some(format!("{group_id}_{topic_id}"));
    item.url = Some(format!("https://ok.ru/group/{group_id}/topic/{topic_id}"));
    item.author = c.author_name.clone().or_else(|| c.author_id.clone());
    Some(item.finish())
}

/// An OK group's posts (and the comments of new posts).
#[derive(Debug, Clone)]
pub struct OkGroupSource {
    config: OkConfig,
    api: OkApi,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OkState {
    seen_up_to: u64,
    walk: Option<OkWalk>,
    /// New topics whose comments are still to be read, with the anchor reached.
    #[serde(default)]
    comments: Vec<(u64, Option<String>)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OkWalk {
    anchor: String,
    /// Lowest topic id delivered in this walk.
    before: u64,
    top: u64,
    pages: u32,
    initial: bool,
}

impl OkGroupSource {
    /// Checks the configuration.
    pub fn new(config: OkConfig, http: HttpClient) -> Result<Self, CollectError> {
        let api = OkApi::new(config.clone(), http)?;
        Ok(Self { config, api })
    }

    async fn poll_inner(
        &self,
        cursor: Option<Cursor>,
        ctx: &PollContext,
    ) -> Result<Batch, CollectError> {
        let mut st: OkState = Cursor::decode(cursor.as_ref(), CURSOR_KIND)?;
        let gid = &self.config.group_id;
        let items = if st.walk.is_none() && !st.comments.is_empty() {
            self.comments_step(&mut st).await?
        } else {
            let walk = st.walk.clone();
            let page = self
                .api
                .group_feed(walk.as_ref().map(|w| w.anchor.as_str()))
                .await?;
            let topics = feed_items(&page, gid)
                .map_err(|why| CollectError::format(&self.config.base_url, why))?;
            let seen = st.seen_up_to;
            let before = walk.as_ref().map(|w| w.before);
            let oldest = topics.iter().map(|(id, _, _)| *id).min();
            let newest = topics.iter().map(|(id, _, _)| *id).max().unwrap_or(seen);
            let initial = walk.as_ref().map_or(seen == 0, |w| w.initial);
            let pages = walk.as_ref().map_or(0, |w| w.pages) + 1;
            let finished = !page.has_more
                || page.anchor.is_none()
                || oldest.is_none_or(|o| o <= seen)
                || (initial && pages >= self.config.backfill_pages);
            let mut items = Vec::new();
            for (id, item, comments) in topics {
                if id <= seen || before.is_some_and(|b| id >= b) {
                    continue;
                }
                if self.config.comments && comments > 0 {
                    st.comments.push((id, None));
                }
                items.push(item);
            }
            let top = walk.as_ref().map_or(newest, |w| w.top);
            if finished {
                st.seen_up_to = seen.max(top);
                st.walk = None;
            } else if let (Some(anchor), Some(oldest)) = (page.anchor, oldest) {
                st.walk = Some(OkWalk {
                    anchor,
                    before: before.map_or(oldest, |b| b.min(oldest)),
                    top,
                    pages,
                    initial,
                });
            }
            items
        };
        let done = st.walk.is_none() && st.comments.is_empty();
        let next_cursor = Cursor::encode(CURSOR_KIND, &st)?;
        BatchCollected {
            source: &ctx.source_name,
            network: Network::Ok.code(),
            items: items.len(),
            done,
        }
        .emit();
        Ok(Batch {
            items,
            next_cursor,
            done,
        })
    }

    async fn comments_step(&self, st: &mut OkState) -> Result<Vec<Item>, CollectError> {
        let Some((topic, anchor)) = st.comments.first().cloned() else {
            return Ok(Vec::new());
        };
        let gid = &self.config.group_id;
        let page = self
            .api
            .topic_comments(&topic.to_string(), anchor.as_deref())
            .await?;
        let items = page
            .comments
            .iter()
            .filter_map(|c| comment_item(gid, topic, c))
            .collect();
        match (page.has_more, page.anchor) {
            (true, Some(next)) if !page.comments.is_empty() => st.comments[0].1 = Some(next),
            _ => {
                st.comments.remove(0);
            }
        }
        Ok(items)
    }
}

impl Source for OkGroupSource {
    fn network(&self) -> Network {
        Network::Ok
    }

    fn poll<'a>(&'a self, cursor: Option<Cursor>, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(self.poll_inner(cursor, ctx))
    }
}
