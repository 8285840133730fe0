//! Any web page with a list of news or announcements, read with CSS selectors from the
//! configuration: a district administration's news page, a utility's outage list.
//!
//! [`WebConfig::item_selector`] finds the items; inside each, optional selectors give the title,
//! text (default: the whole item), link (default: the first `a[href]`, resolved against the
//! page URL), date (text or an attribute, parsed with [`WebConfig::date_format`] — Russian month
//! names work with `%B`/`%b` — or as RFC 3339 / RFC 2822) and author. The id of an item is its
//! link, else a hash of its title (of its text when it has no title).
//!
//! Like feeds, pages have no paging: the cursor remembers the delivered items and their hashes;
//! a poll returns new and edited items, then `done`. When the item selector matches nothing the
//! page layout has probably changed: that is a [`CollectError::Format`] (unless
//! [`WebConfig::allow_empty`]), never a silent empty success. An item whose date can't be parsed
//! is skipped with an event and not remembered, so it comes back once the format is fixed.

#[cfg(test)]
mod tests;

use otklik_domain::Network;
use reqwest::Url;
use scraper::{ElementRef, Html, Selector};
use serde::{Deserialize, Serialize};

use crate::dates::{parse_feed_date, parse_with_format};
use crate::events::{BatchCollected, InternalEvent, ItemSkipped};
use crate::http::{FetchOptions, HttpClient};
use crate::item::content_hash;
use crate::seen::SeenSet;
use crate::text::element_text;
use crate::{Batch, CollectError, Cursor, Item, PollContext, PollFuture, Source};

const CURSOR_KIND: &str = "web";

fn default_remember() -> usize {
    1000
}

fn default_offset() -> i32 {
    180
}

/// Configuration of a web page source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// The page.
    pub url: String,
    /// Selects each item («.news-list .news-item»).
    pub item_selector: String,
    /// Inside an item: the title.
    #[serde(default)]
    pub title_selector: Option<String>,
    /// Inside an item: the text (all matches, one per line); default the whole item.
    #[serde(default)]
    pub text_selector: Option<String>,
    /// Inside an item: the link (`href`); default the first `a[href]`.
    #[serde(default)]
    pub link_selector: Option<String>,
    /// Inside an item: the date.
    #[serde(default)]
    pub date_selector: Option<String>,
    /// Take the date from this attribute (`datetime`) instead of the text.
    #[serde(default)]
    pub date_attribute: Option<String>,
    /// `strptime` format of the date («%d.%m.%Y %H:%M», «%d %B %Y»); default RFC 3339/2822.
    #[serde(default)]
    pub date_format: Option<String>,
    /// UTC offset of dates without one, in minutes (Moscow: 180).
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    /// Inside an item: the author.
    #[serde(default)]
    pub author_selector: Option<String>,
    /// A page without items is fine (otherwise it is a layout-change error).
    #[serde(default)]
    pub allow_empty: bool,
    /// Delivered items remembered.
    #[serde(default = "default_remember")]
    pub remember: usize,
}

impl WebConfig {
    /// A configuration with just the page and the item selector.
    pub fn new(url: impl Into<String>, item_selector: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            item_selector: item_selector.into(),
            title_selector: None,
            text_selector: None,
            link_selector: None,
            date_selector: None,
            date_attribute: None,
            date_format: None,
            utc_offset_minutes: default_offset(),
            author_selector: None,
            allow_empty: false,
            remember: default_remember(),
        }
    }
}

/// Compiled selectors.
#[derive(Debug)]
struct Selectors {
    item: Selector,
    title: Option<Selector>,
    text: Option<Selector>,
    link: Selector,
    date: Option<Selector>,
    author: Option<Selector>,
}

fn compile(css: &str, what: &str) -> Result<Selector, CollectError> {
    Selector::parse(css)
        .map_err(|e| CollectError::Config(format!("web: {what} selector {css:?}: {e}")))
}

fn compile_opt(css: Option<&String>, what: &str) -> Result<Option<Selector>, CollectError> {
    css.map(|c| compile(c, what)).transpose()
}

impl Selectors {
    fn new(c: &WebConfig) -> Result<Self, CollectError> {
        Ok(Self {
            item: compile(&c.item_selector, "item")?,
            title: compile_opt(c.title_selector.as_ref(), "title")?,
            text: compile_opt(c.text_selector.as_ref(), "text")?,
            link: compile(c.link_selector.as_deref().unwrap_or("a[href]"), "link")?,
            date: compile_opt(c.date_selector.as_ref(), "date")?,
            author: compile_opt(c.author_selector.as_ref(), "author")?,
        })
    }
}

/// A web page read with selectors.
#[derive(Debug, Clone)]
pub struct WebSource {
    config: WebConfig,
    url: Url,
    http: HttpClient,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct WebState {
    seen: SeenSet,
}

/// What a page yields: items, and the reasons items were skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebPage {
    /// Usable items in page order.
    pub items: Vec<Item>,
    /// Why some items were left out.
    pub skipped: Vec<String>,
}

impl WebSource {
    /// Checks the configuration (URL, selectors, date format).
    pub fn new(config: WebConfig, http: HttpClient) -> Result<Self, CollectError> {
        let url = Url::parse(&config.url)
            .map_err(|e| CollectError::Config(format!("web: bad URL {:?}: {e}", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CollectError::Config(format!(
                "web: {:?} is not an http(s) URL",
                config.url
            )));
        }
        Selectors::new(&config)?;
        if let Some(f) = &config.date_format
            && (f.trim().is_empty() || !f.contains('%'))
        {
            return Err(CollectError::Config(format!(
                "web: date_format {f:?} has no % fields"
            )));
        }
        if config.date_attribute.is_some() && config.date_selector.is_none() {
            return Err(CollectError::Config(
                "web: date_attribute needs a date_selector".into(),
            ));
        }
        Ok(Self { config, url, http })
    }

    async fn poll_inner(
        &self,
        cursor: Option<Cursor>,
        ctx: &PollContext,
    ) -> Result<Batch, CollectError> {
        let mut st: WebState = Cursor::decode(cursor.as_ref(), CURSOR_KIND)?;
        let opts = FetchOptions {
            accept: Some("text/html,application/xhtml+xml"),
            ..FetchOptions::default()
        };
        let page = self.http.fetch_retrying(&self.url, &opts).await?;
        let parsed = parse_web_page(&page.text, &self.url, &self.config, ctx.now_ms)?;
        for reason in parsed.skipped {
            ItemSkipped {
                source: &ctx.source_name,
                reason,
            }
            .emit();
        }
        let fresh = st.seen.fresh(parsed.items);
        st.seen.remember(&fresh, self.config.remember.max(1));
        let next_cursor = Cursor::encode(CURSOR_KIND, &st)?;
        BatchCollected {
            source: &ctx.source_name,
            network: Network::Web.code(),
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

impl Source for WebSource {
    fn network(&self) -> Network {
        Network::Web
    }

    fn poll<'a>(&'a self, cursor: Option<Cursor>, ctx: &'a PollContext) -> PollFuture<'a> {
        Box::pin(self.poll_inner(cursor, ctx))
    }
}

fn first_text(el: ElementRef<'_>, sel: Option<&Selector>) -> Option<String> {
    let sel = sel?;
    el.select(sel).map(element_text).find(|t| !t.is_empty())
}

/// Parses a page fetched from `base` with the configured selectors (synchronously: the HTML
/// tree is not `Send`). `now_ms` dates items when no date selector is configured.
pub fn parse_web_page(
    html: &str,
    base: &Url,
    config: &WebConfig,
    now_ms: i64,
) -> Result<WebPage, CollectError> {
    let sel = Selectors::new(config)?;
    let doc = Html::parse_document(html);
    let mut page = WebPage::default();
    let mut matched = 0usize;
    for el in doc.select(&sel.item) {
        matched += 1;
        let title = first_text(el, sel.title.as_ref()).unwrap_or_default();
        let body = match &sel.text {
            Some(s) => el
                .select(s)
                .map(element_text)
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            None => element_text(el),
        };
        let text = if title.is_empty() || body.starts_with(&title) {
            if body.is_empty() { title.clone() } else { body }
        } else if body.is_empty() {
            title.clone()
        } else {
            format!("{title}\n\n{body}")
        };
        let link_el = if el.value().name() == "a" && config.link_selector.is_none() {
            Some(el)
        } else {
            el.select(&sel.link).next()
        };
        let link = link_el
            .and_then(|a| a.value().attr("href"))
            .and_then(|href| base.join(href.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(String::from);
        let published_at_ms = match &sel.date {
            None => now_ms,
            Some(ds) => {
                let raw = el
                    .select(ds)
                    .next()
                    .and_then(|d| match &config.date_attribute {
                        Some(attr) => d.value().attr(attr).map(str::to_owned),
                        None => Some(element_text(d)),
                    });
                let parsed = match (&raw, &config.date_format) {
                    (None, _) => Err("no date element".to_owned()),
                    (Some(r), Some(f)) => parse_with_format(r, f, config.utc_offset_minutes),
                    (Some(r), None) => {
                        parse_feed_date(r).ok_or_else(|| format!("date {r:?} not understood"))
                    }
                };
                match parsed {
                    Ok(ms) => ms,
                    Err(why) => {
                        page.skipped.push(format!(
                            "item {} of {base}: {why}",
                            link.as_deref().unwrap_or(&title)
                        ));
                        continue;
                    }
                }
            }
        };
        if text.is_empty() && link.is_none() {
            page.skipped.push(format!("empty item {matched} of {base}"));
            continue;
        }
        // Without a link the title identifies the item (so that an edited text is an edit),
        // else the text itself.
        let id = link.clone().unwrap_or_else(|| {
            let key = if title.is_empty() { &text } else { &title };
            format!(
                "urn:sha256:{}",
                &content_hash(&format!("{}|{key}", base.as_str()), &[])[..32]
            )
        });
        let mut item = Item::new(Network::Web, id, text, published_at_ms);
        item.url = link;
        item.author = first_text(el, sel.author.as_ref());
        page.items.push(item.finish());
    }
    if matched == 0 && !config.allow_empty {
        return Err(CollectError::format(
            base.as_str(),
            format!(
                "item selector {:?} matched nothing: has the page layout changed?",
                config.item_selector
            ),
        ));
    }
    Ok(page)
}
