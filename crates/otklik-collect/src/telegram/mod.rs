//! Telegram public channels through the web preview `https://t.me/s/NAME`.
//!
//! The preview shows the latest ~20 messages; `?before=ID` shows the ones before `ID`. Each
//! message gives its id (`data-post`), text (`<br>` as line breaks), date, views («1.2K» → 1200),
//! channel name and author signature, where it was forwarded from, its attachment kinds, and the
//! «edited»/«изменено» marker. No API key or account is needed; only public channels with the
//! preview enabled can be read.
//!
//! ## Cursor and resumption
//!
//! The cursor keeps `seen_up_to` — every message with a lower or equal id has been delivered —
//! and, while a gap is being filled, the walk back in progress (`before`, and the newest id of
//! the walk, `top`). A poll fetches one page:
//!
//! * no walk: the latest page. Messages newer than `seen_up_to` are returned. If the page reaches
//!   back to `seen_up_to` (or to the channel's first message), the source is caught up;
//!   otherwise a walk starts at the page's oldest message.
//! * walk: the page `?before=…`; its messages between `seen_up_to` and `before` are returned and
//!   the walk moves on, until it reaches `seen_up_to`; then `seen_up_to` becomes `top`.
//!
//! So every message is returned exactly once, and a failed page leaves the committed cursor
//! pointing at the same page. On the very first poll the history is read back
//! [`TelegramConfig::backfill_pages`] pages only.
//!
//! With [`TelegramConfig::revisit_latest`], messages of the latest page that were already
//! delivered are returned again on each poll, so edits (a new content hash) reach the store.
//!
//! A page that is clearly a channel preview but whose messages can't be read (no id, no date)
//! is an error — the cursor never moves past messages that were not understood. A channel
//! without a public preview is [`CollectError::NotAccessible`].

mod parse;
#[cfg(test)]
mod tests;

use otklik_domain::Network;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::events::{BatchCollected, InternalEvent};
use crate::http::{FetchOptions, HttpClient};
use crate::{Batch, CollectError, Cursor, Item, PollContext, PollFuture, Source};

pub use parse::{ChannelPage, parse_channel_page, parse_views};

const CURSOR_KIND: &str = "telegram";

fn default_base_url() -> String {
    "https://t.me/".to_owned()
}

fn default_backfill_pages() -> u32 {
    1
}

/// Configuration of one Telegram channel source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The channel: `name`, `@name`, `t.me/name` or `https://t.me/s/name`.
    pub channel: String,
    /// Where the preview lives (`https://t.me/`); tests point it at a fake server.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Pages of history read on the very first poll (1: only the latest page).
    #[serde(default = "default_backfill_pages")]
    pub backfill_pages: u32,
    /// Return already delivered messages of the latest page again, to catch edits.
    #[serde(default)]
    pub revisit_latest: bool,
}

impl TelegramConfig {
    /// Defaults for `channel`.
    pub fn new(channel: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            base_url: default_base_url(),
            backfill_pages: default_backfill_pages(),
            revisit_latest: false,
        }
    }
}

/// Normalises `@name`, `t.me/name`, `https://t.me/s/name/123` to `name`, checking Telegram's
/// username rules (5–32 of `a-z0-9_`, starting with a letter).
pub fn channel_name(raw: &str) -> Result<String, CollectError> {
    let mut s = raw.trim();
    for prefix in ["https://", "http://"] {
        s = s.strip_prefix(prefix).unwrap_or(s);
    }
    for prefix in ["www.", "t.me/", "telegram.me/", "s/", "@"] {
        s = s.strip_prefix(prefix).unwrap_or(s);
    }
    let name = s.split(['/', '?', '#']).next().unwrap_or("");
    let valid = (5..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(CollectError::Config(format!(
            "telegram: {raw:?} is not a channel name (5–32 letters, digits, _)"
        )))
    }
}

/// A Telegram channel read through its web preview.
#[derive(Debug, Clone)]
pub struct TelegramSource {
    config: TelegramConfig,
    channel: String,
    base: Url,
    http: HttpClient,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TgState {
    /// Every message with an id up to this one was delivered.
    seen_up_to: u64,
    /// A walk back through older pages, in progress.
    walk: Option<Walk>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Walk {
    /// The next page is `?before=before`.
    before: u64,
    /// The newest message of the walk; `seen_up_to` once the walk is over.
    top: u64,
    /// Pages read in this walk.
    pages: u32,
    /// The first poll's backfill (limited to `backfill_pages`).
    initial: bool,
}

impl TelegramSource {
    /// Checks the configuration.
    pub fn new(config: TelegramConfig, http: HttpClient) -> Result<Self, CollectError> {
        let channel = channel_name(&config.channel)?;
        let base = parse_base(&config.base_url)?;
        Ok(Self {
            config,
            channel,
            base,
            http,
        })
    }

    /// The normalised channel name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    fn page_url(&self, before: Option<u64>) -> Result<Url, CollectError> {
        let mut url = self
            .base
            .join(&format!("s/{}", self.channel))
            .map_err(|e| CollectError::Config(format!("telegram: bad URL: {e}")))?;
        if let Some(before) = before {
            url.query_pairs_mut()
                .append_pair("before", &before.to_string());
        }
        Ok(url)
    }

    async fn fetch(&self, before: Option<u64>) -> Result<ChannelPage, CollectError> {
        let url = self.page_url(before)?;
        let opts = FetchOptions {
            accept: Some("text/html"),
            ..FetchOptions::default()
        };
        let what = crate::http::redact_url(&url);
        self.http
            .retry(&what, || async {
                let page = self.http.fetch(&url, &opts).await?;
                // The HTML tree is not Send: parse synchronously, keep only owned results.
                parse_channel_page(&page.text, &self.channel, &page.url)
            })
            .await
    }

    async fn poll_inner(
        &self,
        cursor: Option<Cursor>,
        ctx: &PollContext,
    ) -> Result<Batch, CollectError> {
        let mut st: TgState = Cursor::decode(cursor.as_ref(), CURSOR_KIND)?;
        let (items, done) = match st.walk.clone() {
            Some(walk) => self.walk_step(&mut st, walk).await?,
            None => self.latest_step(&mut st).await?,
        };
        let next_cursor = Cursor::encode(CURSOR_KIND, &st)?;
        BatchCollected {
            source: &ctx.source_name,
            network: Network::Telegram.code(),
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

    async fn latest_step(&self, st: &mut TgState) -> Result<(Vec<Item>, bool), CollectError> {
        let page = self.fetch(None).await?;
        let Some(top) = page.items.iter().map(|m| m.id).max() else {
            return Ok((Vec::new(), true));
        };
        let oldest = page.items.iter().map(|m| m.id).min().unwrap_or(top);
        let initial = st.seen_up_to == 0;
        let covered = oldest <= st.seen_up_to
            || !page.has_older
            || (initial && self.config.backfill_pages <= 1);
        let revisit = self.config.revisit_latest;
        let seen = st.seen_up_to;
        let items: Vec<Item> = page
            .items
            .into_iter()
            .filter(|m| revisit || m.id > seen)
            .map(|m| m.item)
            .collect();
        if covered {
            st.seen_up_to = st.seen_up_to.max(top);
        } else if top > st.seen_up_to {
            st.walk = Some(Walk {
                before: oldest,
                top,
                pages: 1,
                initial,
            });
        }
        Ok((items, st.walk.is_none()))
    }

    async fn walk_step(
        &self,
        st: &mut TgState,
        walk: Walk,
    ) -> Result<(Vec<Item>, bool), CollectError> {
        let page = self.fetch(Some(walk.before)).await?;
        let seen = st.seen_up_to;
        let oldest = page.items.iter().map(|m| m.id).min();
        if oldest.is_some_and(|o| o >= walk.before) {
            return Err(CollectError::format(
                self.page_url(Some(walk.before))?.as_ref(),
                format!("page before {} did not go back in history", walk.before),
            ));
        }
        let pages = walk.pages + 1;
        let finished = match oldest {
            None => true,
            Some(o) => {
                o <= seen
                    || !page.has_older
                    || (walk.initial && pages >= self.config.backfill_pages)
            }
        };
        let items: Vec<Item> = page
            .items
            .into_iter()
            .filter(|m| m.id > seen && m.id < walk.before)
            .map(|m| m.item)
            .collect();
        if finished {
            st.seen_up_to = st.seen_up_to.max(walk.top);
            st.walk = None;
        } else if let Some(o) = oldest {
            st.walk = Some(Walk {
                before: o,
                pages,
                ..walk
            });
        }
        Ok((items, finished))
    }
}

impl Source for TelegramSource {
    fn network(&self) -> Network {
        Network::Telegram
    }

    fn poll<'a>(&'a self, cursor: Option<Cursor>, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(self.poll_inner(cursor, ctx))
    }
}

/// Parses a base URL, making sure it ends with `/` so that joining keeps its path.
pub(crate) fn parse_base(raw: &str) -> Result<Url, CollectError> {
    let with_slash = if raw.ends_with('/') {
        raw.to_owned()
    } else {
        format!("{raw}/")
    };
    let url = Url::parse(&with_slash)
        .map_err(|e| CollectError::Config(format!("bad base URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CollectError::Config(format!(
            "base URL {raw:?} must be http or https"
        )));
    }
    Ok(url)
}
