//! Parsing of the `t.me/s/NAME` web preview markup. Everything here is synchronous: the HTML
//! tree is not `Send` and never lives across an `.await`.

use std::str::FromStr;

use otklik_domain::Network;
use scraper::{ElementRef, Html, Selector};

use crate::item::AttachmentKind;
use crate::text::element_text;
use crate::{CollectError, Item};

/// One message of a page, with its numeric id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageItem {
    /// The message id within the channel.
    pub id: u64,
    /// The item.
    pub item: Item,
}

/// What a preview page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelPage {
    /// Messages, oldest first as on the page (service messages left out).
    pub items: Vec<PageItem>,
    /// The page links to older messages (`?before=`).
    pub has_older: bool,
}

struct Selectors {
    history: Selector,
    wrap: Selector,
    message: Selector,
    text: Selector,
    date: Selector,
    views: Selector,
    owner: Selector,
    signature: Selector,
    forwarded: Selector,
    meta: Selector,
    more: Selector,
    not_channel: Selector,
    poll_question: Selector,
}

fn sel(css: &str) -> Result<Selector, CollectError> {
    Selector::parse(css).map_err(|e| CollectError::Config(format!("selector {css:?}: {e}")))
}

impl Selectors {
    fn new() -> Result<Self, CollectError> {
        Ok(Self {
            history: sel(".tgme_channel_history")?,
            wrap: sel(".tgme_widget_message_wrap")?,
            message: sel(".tgme_widget_message[data-post]")?,
            text: sel(".tgme_widget_message_text")?,
            date: sel(".tgme_widget_message_date time[datetime], time.time[datetime]")?,
            views: sel(".tgme_widget_message_views")?,
            owner: sel(".tgme_widget_message_owner_name")?,
            signature: sel(".tgme_widget_message_from_author")?,
            forwarded: sel(".tgme_widget_message_forwarded_from_name")?,
            meta: sel(".tgme_widget_message_meta")?,
            more: sel(".tme_messages_more[data-before], .js-messages_more[data-before]")?,
            not_channel: sel(".tgme_page, .tgme_page_extra, .tgme_page_title")?,
            poll_question: sel(".tgme_widget_message_poll_question")?,
        })
    }
}

/// Parses a preview page of `channel` fetched from `url` (used in errors).
///
/// Errors: [`CollectError::NotAccessible`] for a page without a public preview (private or
/// missing channel, or a user), [`CollectError::Format`] for markup that is not a preview or
/// whose messages lack an id or a date.
pub fn parse_channel_page(
    html: &str,
    channel: &str,
    url: &str,
) -> Result<ChannelPage, CollectError> {
    let s = Selectors::new()?;
    let doc = Html::parse_document(html);
    let wraps = doc.select(&s.wrap).count();
    let is_history = doc.select(&s.history).next().is_some();
    if !is_history && wraps == 0 {
        if doc.select(&s.not_channel).next().is_some() {
            return Err(CollectError::NotAccessible {
                what: format!("Telegram channel @{channel}"),
                reason: "no public web preview (private channel, not a channel, or no such name)"
                    .into(),
            });
        }
        return Err(CollectError::format(
            url,
            "not a Telegram channel preview (no message history in the page)",
        ));
    }
    let mut items = Vec::new();
    let mut messages = 0usize;
    for msg in doc.select(&s.message) {
        messages += 1;
        if has_class(msg, "service_message") {
            continue;
        }
        items.push(parse_message(msg, &s, url)?);
    }
    if messages == 0 && wraps > 0 {
        return Err(CollectError::format(
            url,
            format!("{wraps} message blocks but none with a data-post id: markup changed?"),
        ));
    }
    let has_older = doc.select(&s.more).next().is_some();
    Ok(ChannelPage { items, has_older })
}

fn has_class(el: ElementRef<'_>, class: &str) -> bool {
    el.value().classes().any(|c| c == class)
}

/// Inside a quoted reply (whose text and media belong to another message)?
fn in_reply(el: ElementRef<'_>, message: ElementRef<'_>) -> bool {
    for anc in el.ancestors() {
        if anc.id() == message.id() {
            return false;
        }
        if let Some(a) = ElementRef::wrap(anc)
            && has_class(a, "tgme_widget_message_reply")
        {
            return true;
        }
    }
    false
}

fn first_own<'a>(msg: ElementRef<'a>, selector: &Selector) -> Option<ElementRef<'a>> {
    msg.select(selector).find(|el| !in_reply(*el, msg))
}

fn parse_message(msg: ElementRef<'_>, s: &Selectors, url: &str) -> Result<PageItem, CollectError> {
    let post = msg.value().attr("data-post").unwrap_or_default().trim();
    let id = post
        .rsplit_once('/')
        .and_then(|(_, id)| id.parse::<u64>().ok())
        .ok_or_else(|| CollectError::format(url, format!("bad data-post {post:?}")))?;
    let datetime = first_own(msg, &s.date)
        .and_then(|t| t.value().attr("datetime"))
        .ok_or_else(|| CollectError::format(url, format!("message {post} has no date")))?;
    let published_at_ms = jiff::Timestamp::from_str(datetime)
        .map_err(|e| CollectError::format(url, format!("message {post}: date {datetime:?}: {e}")))?
        .as_millisecond();

    let mut text = first_own(msg, &s.text)
        .map(element_text)
        .unwrap_or_default();
    if let Some(q) = first_own(msg, &s.poll_question) {
        let q = element_text(q);
        if !q.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&q);
        }
    }
    let views = first_own(msg, &s.views).and_then(|v| parse_views(&v.text().collect::<String>()));
    let owner = first_own(msg, &s.owner)
        .map(element_text)
        .filter(|t| !t.is_empty());
    let signature = first_own(msg, &s.signature)
        .map(element_text)
        .filter(|t| !t.is_empty());
    let forwarded_from = first_own(msg, &s.forwarded)
        .map(element_text)
        .filter(|t| !t.is_empty());
    let edited = first_own(msg, &s.meta).is_some_and(|m| {
        let t = m.text().collect::<String>().to_lowercase();
        t.contains("edited") || t.contains("изменено") || t.contains("изменён")
    });
    let attachments = attachments(msg);

    let mut item = Item::new(Network::Telegram, post, text, published_at_ms);
    item.url = Some(format!("https://t.me/{post}"));
    item.author = signature.or(owner);
    item.views = views;
    item.forwarded_from = forwarded_from;
    item.edited = edited;
    item.attachments = attachments;
    Ok(PageItem {
        id,
        item: item.finish(),
    })
}

/// Attachment kinds in document order, quoted replies left out.
fn attachments(msg: ElementRef<'_>) -> Vec<AttachmentKind> {
    let mut out = Vec::new();
    for node in msg.descendants() {
        let Some(el) = ElementRef::wrap(node) else {
            continue;
        };
        let kind = el.value().classes().find_map(|c| match c {
            "tgme_widget_message_photo_wrap" => Some(AttachmentKind::Photo),
            "tgme_widget_message_video_player" | "tgme_widget_message_roundvideo_player" => {
                Some(AttachmentKind::Video)
            }
            "tgme_widget_message_voice_player" => Some(AttachmentKind::Voice),
            "tgme_widget_message_document_wrap" => Some(if has_class(el, "audio") {
                AttachmentKind::Audio
            } else {
                AttachmentKind::Document
            }),
            "tgme_widget_message_sticker_wrap" => Some(AttachmentKind::Sticker),
            "tgme_widget_message_poll" => Some(AttachmentKind::Poll),
            "tgme_widget_message_link_preview" => Some(AttachmentKind::Link),
            "tgme_widget_message_location_wrap" => Some(AttachmentKind::Geo),
            _ => None,
        });
        if let Some(kind) = kind
            && !in_reply(el, msg)
        {
            out.push(kind);
        }
    }
    out
}

/// «37.2K» → 37200, «1.5M» → 1500000, «1,2K» → 1200, «950» → 950.
pub fn parse_views(raw: &str) -> Option<u64> {
    let s: String = raw.trim().chars().filter(|c| !c.is_whitespace()).collect();
    let s = s.replace(',', ".");
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' | 'К' | 'к' => (&s[..s.len() - s.chars().last()?.len_utf8()], 1_000.0),
        'M' | 'm' | 'М' | 'м' => (&s[..s.len() - s.chars().last()?.len_utf8()], 1_000_000.0),
        _ => (s.as_str(), 1.0),
    };
    let value: f64 = num.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some((value * mult).round() as u64)
}
