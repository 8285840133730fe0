//! RSS 2.0 and Atom feeds: regional news sites, city portals, ministries.
//!
//! Each `<item>`/`<entry>` becomes an item: the id is the `guid` (RSS) or `id` (Atom), else the
//! link; the text is the title followed by the plain text of `content:encoded`,
//! `yandex:full-text` or Atom `content`, else `description`/`summary` (HTML removed); the date is
//! `pubDate` (RFC 2822), `dc:date`, `published` or `updated`; `enclosure` and `media:content`
//! give attachment kinds. The feed's charset is honoured (windows-1251 feeds are common).
//!
//! Feeds have no paging: the cursor remembers the delivered items with their content hashes, and
//! a poll returns the items that are new or changed (edits), then `done`. An XML document cut off
//! mid-way is a retryable [`CollectError::Truncated`]; a document that is not a feed is a
//! [`CollectError::Format`].

mod parse;
#[cfg(test)]
mod tests;

use otklik_domain::Network;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::events::{BatchCollected, InternalEvent, ItemSkipped};
use crate::http::{FetchOptions, HttpClient};
use crate::seen::SeenSet;
use crate::{Batch, CollectError, Cursor, PollContext, PollFuture, Source};

pub use parse::{FeedEntry, parse_feed};

const CURSOR_KIND: &str = "rss";

fn default_remember() -> usize {
    1000
}

/// Configuration of a feed source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RssConfig {
    /// The feed URL.
    pub url: String,
    /// Delivered items remembered (should exceed the feed's length).
    #[serde(default = "default_remember")]
    pub remember: usize,
    /// Put the title before the text (default true).
    #[serde(default = "default_true")]
    pub include_title: bool,
}

fn default_true() -> bool {
    true
}

impl RssConfig {
    /// Defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            remember: default_remember(),
            include_title: true,
        }
    }
}

/// An RSS or Atom feed.
#[derive(Debug, Clone)]
pub struct RssSource {
    config: RssConfig,
    url: Url,
    http: HttpClient,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RssState {
    seen: SeenSet,
}

impl RssSource {
    /// Checks the configuration.
    pub fn new(config: RssConfig, http: HttpClient) -> Result<Self, CollectError> {
        let url = Url::parse(&config.url)
            .map_err(|e| CollectError::Config(format!("rss: bad URL {:?}: {e}", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CollectError::Config(format!(
                "rss: {:?} is not an http(s) URL",
                config.url
            )));
        }
        Ok(Self { config, url, http })
    }

    async fn poll_inner(
        &self,
        cursor: Option<Cursor>,
        ctx: &PollContext,
    ) -> Result<Batch, CollectError> {
        let mut st: RssState = Cursor::decode(cursor.as_ref(), CURSOR_KIND)?;
        let opts = FetchOptions {
            accept: Some(
                "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8",
            ),
            ..FetchOptions::default()
        };
        // A feed cut off mid-way is retried like a failed request.
        let entries = self
            .http
            .retry(&self.config.url, || async {
                let page = self.http.fetch(&self.url, &opts).await?;
                parse_feed(&page.text, &page.url)
            })
            .await?;
        let mut items = Vec::with_capacity(entries.len());
        for entry in entries {
            match entry.into_item(ctx.now_ms, self.config.include_title) {
                Ok(item) => items.push(item),
                Err(reason) => ItemSkipped {
                    source: &ctx.source_name,
                    reason,
                }
                .emit(),
            }
        }
        let fresh = st.seen.fresh(items);
        st.seen.remember(&fresh, self.config.remember.max(1));
        let next_cursor = Cursor::encode(CURSOR_KIND, &st)?;
        BatchCollected {
            source: &ctx.source_name,
            network: Network::Rss.code(),
            items: fresh.len(),
            done: true,
        }
        .emit();
        Ok(Batch {
            items: fresh,
            next_cursor,
            done: true,
        })
    }
}

impl Source for RssSource {
    fn network(&self) -> Network {
        Network::Rss
    }

    fn poll<'a>(&'a self, cursor: Option<Cursor>, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(self.poll_inner(cursor, ctx))
    }
}
