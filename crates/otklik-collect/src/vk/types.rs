//! VK API response types (the fields the collectors use, lenient about the rest) and their
//! conversion into [`Item`]s.

use otklik_domain::Network;
use serde::{Deserialize, Deserializer};

use crate::Item;
use crate::item::AttachmentKind;
use crate::text::unescape_plain;

/// `{"count": N}` objects (views, comments, likes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct VkCount {
    /// The counter.
    #[serde(default)]
    pub count: u64,
}

/// An attachment; only its type matters here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkAttachment {
    /// `photo`, `video`, `doc`, `link`, `poll`, `audio`…
    #[serde(rename = "type")]
    pub kind: String,
}

/// VK sends flags as 0/1 or as booleans.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    })
}

/// A wall post (also a search result or a repost inside `copy_history`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkPost {
    /// Post id on the owner's wall.
    pub id: u64,
    /// Wall owner (negative: a community).
    pub owner_id: i64,
    /// Author (the community itself for its own posts).
    #[serde(default)]
    pub from_id: Option<i64>,
    /// Signed by this user.
    #[serde(default)]
    pub signer_id: Option<i64>,
    /// Unix seconds.
    pub date: i64,
    /// Text.
    #[serde(default)]
    pub text: String,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<VkAttachment>,
    /// A place.
    #[serde(default)]
    pub geo: Option<serde_json::Value>,
    /// The reposted originals.
    #[serde(default)]
    pub copy_history: Vec<VkPost>,
    /// Views.
    #[serde(default)]
    pub views: Option<VkCount>,
    /// Comments.
    #[serde(default)]
    pub comments: Option<VkCount>,
    /// Pinned at the top of the wall.
    #[serde(default, deserialize_with = "flag")]
    pub is_pinned: bool,
    /// Unix seconds of the last edit.
    #[serde(default)]
    pub edited: Option<i64>,
    /// `post`, `copy`, `reply`, `postpone`, `suggest`.
    #[serde(default)]
    pub post_type: Option<String>,
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkComment {
    /// Comment id (unique on the owner's wall).
    pub id: u64,
    /// Author.
    #[serde(default)]
    pub from_id: Option<i64>,
    /// Unix seconds.
    #[serde(default)]
    pub date: i64,
    /// Text.
    #[serde(default)]
    pub text: String,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<VkAttachment>,
    /// Deleted comments stay in the list with this flag.
    #[serde(default, deserialize_with = "flag")]
    pub deleted: bool,
}

/// A user from `profiles` of an extended answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkProfile {
    /// User id.
    pub id: i64,
    /// Screen name.
    #[serde(default)]
    pub screen_name: Option<String>,
}

/// A community.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkGroup {
    /// Community id (positive).
    pub id: i64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Screen name.
    #[serde(default)]
    pub screen_name: Option<String>,
    /// 0 open, 1 closed, 2 private.
    #[serde(default)]
    pub is_closed: u8,
    /// `deleted` or `banned`.
    #[serde(default)]
    pub deactivated: Option<String>,
}

impl VkGroup {
    /// Why the community's wall can't be read, if it can't.
    pub fn inaccessible_reason(&self, allow_closed: bool) -> Option<String> {
        if let Some(d) = &self.deactivated {
            return Some(format!("community is {d}"));
        }
        match self.is_closed {
            0 => None,
            1 if allow_closed => None,
            1 => Some("community is closed".into()),
            _ => Some("community is private".into()),
        }
    }
}

/// `wall.get` with `extended=1`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkWallPage {
    /// Posts on the wall in all.
    #[serde(default)]
    pub count: u64,
    /// This page, newest first (a pinned post first of all).
    #[serde(default)]
    pub items: Vec<VkPost>,
    /// Authors.
    #[serde(default)]
    pub profiles: Vec<VkProfile>,
    /// Communities.
    #[serde(default)]
    pub groups: Vec<VkGroup>,
}

/// `wall.getComments` with `extended=1`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkCommentsPage {
    /// Comments in all.
    #[serde(default)]
    pub count: u64,
    /// This page.
    #[serde(default)]
    pub items: Vec<VkComment>,
    /// Authors.
    #[serde(default)]
    pub profiles: Vec<VkProfile>,
    /// Communities.
    #[serde(default)]
    pub groups: Vec<VkGroup>,
}

/// `newsfeed.search` with `extended=1`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VkSearchPage {
    /// This page, newest first.
    #[serde(default)]
    pub items: Vec<VkPost>,
    /// Items in this page.
    #[serde(default)]
    pub count: Option<u64>,
    /// Results in the whole window (VK returns at most 1,000 of them).
    #[serde(default)]
    pub total_count: Option<u64>,
    /// Cursor of the next page.
    #[serde(default)]
    pub next_from: Option<String>,
    /// Authors.
    #[serde(default)]
    pub profiles: Vec<VkProfile>,
    /// Communities.
    #[serde(default)]
    pub groups: Vec<VkGroup>,
}

/// Screen names of the authors in an extended answer.
#[derive(Debug, Default)]
pub(crate) struct Names<'a> {
    profiles: &'a [VkProfile],
    groups: &'a [VkGroup],
}

impl<'a> Names<'a> {
    pub(crate) fn new(profiles: &'a [VkProfile], groups: &'a [VkGroup]) -> Self {
        Self { profiles, groups }
    }

    /// `screen_name`, else `id123` for users and `club123` for communities.
    pub(crate) fn handle(&self, id: i64) -> String {
        let found = if id < 0 {
            self.groups
                .iter()
                .find(|g| g.id == -id)
                .and_then(|g| g.screen_name.clone())
        } else {
            self.profiles
                .iter()
                .find(|p| p.id == id)
                .and_then(|p| p.screen_name.clone())
        };
        found.filter(|s| !s.is_empty()).unwrap_or_else(|| {
            if id < 0 {
                format!("club{}", -id)
            } else {
                format!("id{id}")
            }
        })
    }
}

/// The attachment kind of a VK attachment type.
pub fn attachment_kind(kind: &str) -> AttachmentKind {
    match kind {
        "photo" | "posted_photo" | "graffiti" | "album" => AttachmentKind::Photo,
        "video" | "clip" | "video_playlist" => AttachmentKind::Video,
        "audio" | "audio_playlist" | "podcast" => AttachmentKind::Audio,
        "audio_message" => AttachmentKind::Voice,
        "doc" => AttachmentKind::Document,
        "link" | "page" | "article" => AttachmentKind::Link,
        "poll" => AttachmentKind::Poll,
        "sticker" => AttachmentKind::Sticker,
        "geo" | "place" => AttachmentKind::Geo,
        _ => AttachmentKind::Other,
    }
}

fn attachments(list: &[VkAttachment], geo: bool) -> Vec<AttachmentKind> {
    let mut out: Vec<AttachmentKind> = list.iter().map(|a| attachment_kind(&a.kind)).collect();
    if geo {
        out.push(AttachmentKind::Geo);
    }
    out
}

/// External id of a wall post: `owner_post` («-123_456»).
pub(crate) fn post_external_id(owner_id: i64, post_id: u64) -> String {
    format!("{owner_id}_{post_id}")
}

/// A wall post as an item. A repost's original text and attachments follow the post's own.
pub(crate) fn post_item(p: &VkPost, names: &Names<'_>) -> Item {
    let mut text = unescape_plain(p.text.trim());
    let mut kinds = attachments(&p.attachments, p.geo.is_some());
    let mut forwarded_from = None;
    if let Some(orig) = p.copy_history.first() {
        forwarded_from = Some(names.handle(orig.from_id.unwrap_or(orig.owner_id)));
        let orig_text = unescape_plain(orig.text.trim());
        if !orig_text.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&orig_text);
        }
        kinds.extend(attachments(&orig.attachments, orig.geo.is_some()));
    }
    let mut item = Item::new(
        Network::Vk,
        post_external_id(p.owner_id, p.id),
        text,
        p.date.saturating_mul(1000),
    );
    item.url = Some(format!("https://vk.com/wall{}_{}", p.owner_id, p.id));
    item.author = Some(names.handle(p.signer_id.or(p.from_id).unwrap_or(p.owner_id)));
    item.views = p.views.map(|v| v.count);
    item.forwarded_from = forwarded_from;
    item.edited = p.edited.is_some();
    item.edited_at_ms = p.edited.map(|e| e.saturating_mul(1000));
    item.attachments = kinds;
    item.finish()
}

/// A comment under post `post_id` of `owner_id` as an item.
pub(crate) fn comment_item(owner_id: i64, post_id: u64, c: &VkComment, names: &Names<'_>) -> Item {
    let text = if c.deleted {
        String::new()
    } else {
        unescape_plain(c.text.trim())
    };
    let mut item = Item::new(
        Network::Vk,
        format!("{owner_id}_{post_id}_{}", c.id),
        text,
        c.date.saturating_mul(1000),
    );
    item.parent_external_id = Some(post_external_id(owner_id, post_id));
    item.url = Some(format!(
        "https://vk.com/wall{owner_id}_{post_id}?reply={}",
        c.id
    ));
    item.author = c.from_id.map(|id| names.handle(id));
    item.attachments = attachments(&c.attachments, false);
    item.deleted = c.deleted;
    item.finish()
}
