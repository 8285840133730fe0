//! RSS 2.0 / RSS 1.0 (RDF) / Atom parsing with `quick-xml`.

use otklik_domain::Network;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::dates::parse_feed_date;
use crate::item::{AttachmentKind, content_hash};
use crate::text::{decode_entity, html_to_text};
use crate::{CollectError, Item};

/// One `<item>` or `<entry>` as found in the feed (HTML not yet removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedEntry {
    /// `guid` or Atom `id`.
    pub id: Option<String>,
    /// `link` (RSS text, Atom `href` of the alternate link).
    pub link: Option<String>,
    /// Title.
    pub title: String,
    /// `description` or `summary` (HTML).
    pub summary: String,
    /// `content:encoded`, `yandex:full-text` or Atom `content` (HTML).
    pub content: String,
    /// Publication date as written.
    pub published: Option<String>,
    /// Update date as written.
    pub updated: Option<String>,
    /// Author.
    pub author: Option<String>,
    /// From `enclosure` and `media:content`.
    pub attachments: Vec<AttachmentKind>,
}

impl FeedEntry {
    /// The item; `now_ms` is the date of an entry without one. `Err` says why the entry is
    /// unusable (no id, link or title).
    pub fn into_item(self, now_ms: i64, include_title: bool) -> Result<Item, String> {
        let title = html_to_text(&self.title);
        let body_html = if self.content.trim().is_empty() {
            &self.summary
        } else {
            &self.content
        };
        let body = html_to_text(body_html);
        let text = if !include_title || title.is_empty() || body.starts_with(&title) {
            if body.is_empty() { title.clone() } else { body }
        } else if body.is_empty() {
            title.clone()
        } else {
            format!("{title}\n\n{body}")
        };
        let published = self
            .published
            .as_deref()
            .and_then(parse_feed_date)
            .or_else(|| self.updated.as_deref().and_then(parse_feed_date));
        let link = self
            .link
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_owned());
        let id = self
            .id
            .map(|i| i.trim().to_owned())
            .filter(|i| !i.is_empty())
            .or_else(|| link.clone())
            .or_else(|| {
                (!title.is_empty()).then(|| {
                    let key = format!("{title}|{}", self.published.as_deref().unwrap_or(""));
                    format!("urn:sha256:{}", &content_hash(&key, &[])[..32])
                })
            })
            .ok_or_else(|| "feed entry without guid, link or title".to_owned())?;
        let published_at_ms = published.unwrap_or(now_ms);
        let mut item = Item::new(Network::Rss, id, text, published_at_ms);
        item.url = link;
        item.author = self
            .author
            .as_deref()
            .map(author_name)
            .filter(|a| !a.is_empty());
        if let Some(updated) = self.updated.as_deref().and_then(parse_feed_date)
            && updated > published_at_ms
        {
            item.edited = true;
            item.edited_at_ms = Some(updated);
        }
        item.attachments = self.attachments;
        Ok(item.finish())
    }
}

/// «editor@city.example (Иван Петров)» → «Иван Петров».
fn author_name(raw: &str) -> String {
    let raw = raw.trim();
    if let (Some(open), true) = (raw.find('('), raw.ends_with(')'))
        && raw[..open].contains('@')
    {
        return raw[open + 1..raw.len() - 1].trim().to_owned();
    }
    raw.to_owned()
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn media_kind(e: &BytesStart<'_>) -> AttachmentKind {
    let medium = attr(e, "medium").unwrap_or_default();
    let mime = attr(e, "type").unwrap_or_default();
    let t = if medium.is_empty() { mime } else { medium };
    if t.starts_with("image") {
        AttachmentKind::Photo
    } else if t.starts_with("video") {
        AttachmentKind::Video
    } else if t.starts_with("audio") {
        AttachmentKind::Audio
    } else {
        AttachmentKind::Document
    }
}

/// Element-level facts while inside an entry.
fn on_entry_element(entry: &mut FeedEntry, name: &str, e: &BytesStart<'_>) {
    match name {
        "link" => {
            if let Some(href) = attr(e, "href") {
                let rel = attr(e, "rel").unwrap_or_default();
                if (rel.is_empty() || rel == "alternate") && entry.link.is_none() {
                    entry.link = Some(href);
                } else if rel == "enclosure" {
                    entry.attachments.push(media_kind(e));
                }
            }
        }
        "enclosure" | "media:content" => entry.attachments.push(media_kind(e)),
        _ => {}
    }
}

fn set_once(slot: &mut Option<String>, value: &str) {
    let v = value.trim();
    if slot.is_none() && !v.is_empty() {
        *slot = Some(v.to_owned());
    }
}

fn assign(entry: &mut FeedEntry, field: &str, text: &str, author_name: Option<&str>) {
    match field {
        "title" if entry.title.is_empty() => entry.title = text.trim().to_owned(),
        "link" => set_once(&mut entry.link, text),
        "guid" | "id" => set_once(&mut entry.id, text),
        "description" | "summary" if entry.summary.is_empty() => entry.summary = text.to_owned(),
        "content:encoded" | "yandex:full-text" | "content" if entry.content.trim().is_empty() => {
            entry.content = text.to_owned();
        }
        "pubdate" | "dc:date" | "published" | "issued" => set_once(&mut entry.published, text),
        "updated" | "modified" | "dc:modified" => set_once(&mut entry.updated, text),
        "author" | "dc:creator" => set_once(&mut entry.author, author_name.unwrap_or(text)),
        _ => {}
    }
}

/// Parses a feed document fetched from `url` (used in errors).
pub fn parse_feed(xml: &str, url: &str) -> Result<Vec<FeedEntry>, CollectError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut is_feed = false;
    let mut entries = Vec::new();
    // The entry being read, and the depth of its element.
    let mut entry: Option<(FeedEntry, usize)> = None;
    // Text of the entry's child element being read.
    let mut field: Option<String> = None;
    let mut text = String::new();
    let mut nested_name: Option<String> = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            let pos = reader.buffer_position();
            if pos as usize >= xml.len().saturating_sub(1) {
                CollectError::Truncated {
                    url: url.to_owned(),
                    message: format!("XML ends early: {e}"),
                }
            } else {
                CollectError::format(url, format!("XML error at byte {pos}: {e}"))
            }
        })?;
        match event {
            Event::Start(e) => {
                let name = e.name().as_ref().to_lowercase();
                if stack.is_empty() {
                    is_feed = matches!(name.as_str(), "rss" | "rdf:rdf" | "feed");
                    if !is_feed {
                        return Err(CollectError::format(
                            url,
                            format!("not an RSS or Atom feed (root element <{name}>)"),
                        ));
                    }
                }
                match &mut entry {
                    None if name == "item" || name == "entry" => {
                        entry = Some((FeedEntry::default(), stack.len()));
                    }
                    Some((en, depth)) => {
                        on_entry_element(en, &name, &e);
                        if stack.len() == *depth + 1 {
                            field = Some(name.clone());
                            text.clear();
                            nested_name = None;
                        }
                    }
                    None => {}
                }
                stack.push(name);
            }
            Event::Empty(e) => {
                if let Some((en, _)) = &mut entry {
                    let name = e.name().as_ref().to_lowercase();
                    on_entry_element(en, &name, &e);
                }
            }
            Event::Text(t) if field.is_some() => text.push_str(&t.xml10_content()),
            Event::CData(c) if field.is_some() => text.push_str(&c.xml10_content()),
            Event::GeneralRef(r) if field.is_some() => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    decode_entity(&r.xml10_content())
                };
                match resolved {
                    Some(c) => text.push(c),
                    None => {
                        text.push('&');
                        text.push_str(&r.xml10_content());
                        text.push(';');
                    }
                }
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                // The entry element sits at stack[depth]: after the pop, a length of depth + 2
                // closed a grandchild, depth + 1 a direct child, depth the entry itself.
                let len = stack.len();
                let entry_closed = entry.as_ref().is_some_and(|(_, d)| len == *d);
                if entry_closed {
                    if let Some((done, _)) = entry.take() {
                        entries.push(done);
                    }
                    field = None;
                } else if let Some((en, depth)) = &mut entry {
                    if len == *depth + 2 && name == "name" {
                        // Atom <author><name>…</name></author>
                        nested_name = Some(text.trim().to_owned());
                    } else if len == *depth + 1 {
                        if let Some(f) = field.take() {
                            assign(en, &f, &text, nested_name.as_deref());
                        }
                        text.clear();
                    }
                }
            }
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(CollectError::Truncated {
                        url: url.to_owned(),
                        message: format!("XML ends inside <{}>", stack.join("><")),
                    });
                }
                break;
            }
            _ => {}
        }
    }
    if !is_feed {
        return Err(CollectError::format(url, "empty document, not a feed"));
    }
    Ok(entries)
}
