//! # otklik-collect
//!
//! Otklik's collectors: they bring public posts and comments about a region from social networks
//! and open sources into the pipeline. Each kind of source is its own module with its own
//! configuration struct:
//!
//! | module | what it reads |
//! |--------|---------------|
//! | [`vk`] | ВКонтакте API: `wall.get` of registered communities, `wall.getComments` under their posts, `newsfeed.search` by keywords, `groups.getById` to resolve and verify communities |
//! | [`telegram`] | public channels through their web preview `t.me/s/NAME`, paging back with `?before=` |
//! | [`rss`] | RSS 2.0 and Atom feeds (city portals, regional news) |
//! | [`web`] | any web page, items found with CSS selectors from the configuration |
//! | [`ok`] | Одноклассники REST API with signed requests (group feed and its discussions) |
//!
//! Every source implements [`Source`]: [`Source::poll`] takes the cursor the caller committed
//! last time and returns a [`Batch`] — the new [`Item`]s and the cursor to commit **together
//! with them** (the store does both in one transaction). Calling `poll` again with the committed
//! cursor continues exactly where the previous batch ended, without losing or repeating items; a
//! poll that fails (network error, changed markup, API error) returns a [`CollectError`] and the
//! old cursor stays valid, so the next run simply tries the same page again. A batch is one page
//! (one request) at most; `done == true` means the source is caught up for now, and the caller
//! stops until the next scheduled run ([`schedule::Schedule`]).
//!
//! All network access goes through one shared polite [`http::HttpClient`]: a per-host concurrency
//! limit, token-bucket rate limits shared per API token, a body-size cap enforced while
//! streaming, charset decoding (windows-1251 pages are common), capped exponential backoff with
//! full jitter that honours `Retry-After`, and a per-host circuit breaker. What happens is
//! reported as typed [`events`] through `tracing`.
//!
//! [`CollectError::is_retryable`] tells transient failures (HTTP 429 and 5xx, timeouts, truncated
//! bodies, VK errors 6/9/10/29) from permanent ones (authorisation, private or deleted
//! communities, 404, bad configuration).
//!
//! ## Example
//!
//! ```no_run
//! use otklik_collect::http::{HttpClient, HttpConfig};
//! use otklik_collect::telegram::{TelegramConfig, TelegramSource};
//! use otklik_collect::{Cursor, PollContext, Source};
//!
//! # async fn run() -> Result<(), otklik_collect::CollectError> {
//! let http = HttpClient::new(HttpConfig::default())?;
//! let source = TelegramSource::new(TelegramConfig::new("gorod_novosti"), http)?;
//! let ctx = PollContext::new("tg-gorod-novosti");
//! let mut cursor: Option<Cursor> = None; // the committed cursor, from the store
//! loop {
//!     let batch = source.poll(cursor.clone(), &ctx).await?;
//!     for item in &batch.items {
//!         println!("{} {}: {}", item.network, item.external_id, item.text);
//!     }
//!     // Commit batch.items and batch.next_cursor in ONE transaction, then:
//!     cursor = Some(batch.next_cursor);
//!     if batch.done {
//!         break;
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Items convert directly into the store's `NewPost`: `network`, `external_id`, `url`, `author`,
//! `text`, [`Item::published_at`] and `content_hash`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod error;
pub mod events;
pub mod http;
pub mod item;
pub mod ok;
pub mod rss;
pub mod schedule;
pub mod telegram;
pub mod text;
pub mod vk;
pub mod web;

mod config;
mod dates;
mod seen;
#[cfg(test)]
mod testutil;

pub use config::SourceConfig;
pub use error::CollectError;
pub use item::{AttachmentKind, Item, content_hash};
pub use otklik_domain::Network;

/// The future [`Source::poll`] returns (boxed, so that sources can be used as `dyn Source`).
pub type PollFuture<'a> = Pin<Box<dyn Future<Output = Result<Batch, CollectError>> + Send + 'a>>;

/// A collector source: something that can be polled for new items, resumably.
pub trait Source: Send + Sync + fmt::Debug {
    /// The network the items come from.
    fn network(&self) -> Network;

    /// Fetches the next batch after `cursor` (`None`: the source was never polled).
    ///
    /// The caller commits `items` and `next_cursor` atomically and passes the committed cursor
    /// to the next call. On error nothing is returned and the old cursor stays valid.
    fn poll<'a>(&'a self, cursor: Option<Cursor>, ctx: &'a PollContext) -> PollFuture<'a>;
}

/// What one [`Source::poll`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// New items (posts and comments), in the order they were found.
    pub items: Vec<Item>,
    /// The cursor to commit together with `items`.
    pub next_cursor: Cursor,
    /// True when the source is caught up: polling again now would find nothing new.
    pub done: bool,
}

/// Where a source stopped: an opaque string the store keeps for the source (`source_state.cursor`).
///
/// Inside it is a small JSON document tagged with the kind of source; a cursor of another kind
/// of source, or garbage, is refused with [`CollectError::Cursor`].
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps a stored cursor.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored form, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    pub(crate) fn encode<T: Serialize>(kind: &str, state: &T) -> Result<Self, CollectError> {
        #[derive(Serialize)]
        struct Envelope<'a, T> {
            k: &'a str,
            v: u32,
            s: &'a T,
        }
        serde_json::to_string(&Envelope {
            k: kind,
            v: 1,
            s: state,
        })
        .map(Self)
        .map_err(|e| CollectError::Cursor(format!("cannot encode {kind} cursor: {e}")))
    }

    /// Decodes a cursor of `kind`; `None` gives the default (fresh) state.
    pub(crate) fn decode<T: DeserializeOwned + Default>(
        cursor: Option<&Cursor>,
        kind: &str,
    ) -> Result<T, CollectError> {
        #[derive(Deserialize)]
        struct Envelope<T> {
            k: String,
            v: u32,
            s: T,
        }
        let Some(cursor) = cursor else {
            return Ok(T::default());
        };
        let env: Envelope<T> = serde_json::from_str(&cursor.0).map_err(|e| {
            CollectError::Cursor(format!("not a {kind} cursor ({e}): {:?}", cursor.0))
        })?;
        if env.k != kind || env.v != 1 {
            return Err(CollectError::Cursor(format!(
                "cursor of a {} source (version {}) given to a {kind} source",
                env.k, env.v
            )));
        }
        Ok(env.s)
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Cursor {
    fn from(raw: String) -> Self {
        Self(raw)
    }
}

/// What a poll runs in: the source's name (for telemetry) and the current time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollContext {
    /// The configured source's unique name («vk-minzdrav-wall»), used in events.
    pub source_name: String,
    /// "Now" in epoch milliseconds; sources use it for age limits and search windows.
    pub now_ms: i64,
}

impl PollContext {
    /// A context at the current wall-clock time.
    pub fn new(source_name: impl Into<String>) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self::at(source_name, now_ms)
    }

    /// A context at a given time (tests, replays).
    pub fn at(source_name: impl Into<String>, now_ms: i64) -> Self {
        Self {
            source_name: source_name.into(),
            now_ms,
        }
    }
}

/// Serde helpers: durations as integer milliseconds in configuration files.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    struct St {
        n: u32,
    }

    #[test]
    fn cursor_round_trips_and_refuses_other_kinds() {
        let c = Cursor::encode("tg", &St { n: 7 }).expect("encode");
        let back: St = Cursor::decode(Some(&c), "tg").expect("decode");
        assert_eq!(back, St { n: 7 });
        let fresh: St = Cursor::decode(None, "tg").expect("fresh");
        assert_eq!(fresh, St::default());
        let err = Cursor::decode::<St>(Some(&c), "rss").expect_err("other kind");
        assert!(matches!(err, CollectError::Cursor(_)), "{err}");
        let err = Cursor::decode::<St>(Some(&Cursor::new("{oops")), "tg").expect_err("garbage");
        assert!(!err.is_retryable());
    }
}
