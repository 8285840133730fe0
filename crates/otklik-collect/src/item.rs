//! [`Item`]: one post or comment as a collector found it.

use otklik_domain::{Network, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The kind of a media attachment (the media itself is not downloaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A photo or picture.
    Photo,
    /// A video (or a round video message).
    Video,
    /// A music track.
    Audio,
    /// A voice message.
    Voice,
    /// A file.
    Document,
    /// A link with a preview.
    Link,
    /// A poll.
    Poll,
    /// A sticker.
    Sticker,
    /// A place or map point.
    Geo,
    /// Anything else.
    Other,
}

impl AttachmentKind {
    /// Stable code, used in the content hash.
    pub fn code(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Voice => "voice",
            Self::Document => "document",
            Self::Link => "link",
            Self::Poll => "poll",
            Self::Sticker => "sticker",
            Self::Geo => "geo",
            Self::Other => "other",
        }
    }
}

/// A post or comment; keyed by (`network`, `external_id`).
///
/// Converts directly into the store's `NewPost` (`published_at` via [`Item::published_at`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Network.
    pub network: Network,
    /// Id in the network: «-123_456» (VK wall post), «-123_456_789» (VK comment 789 under it),
    /// «channel/1234» (Telegram), the guid or link (RSS/Atom/web).
    pub external_id: String,
    /// For a comment, the external id of the post it is under.
    pub parent_external_id: Option<String>,
    /// Link to the original.
    pub url: Option<String>,
    /// Author handle or signature.
    pub author: Option<String>,
    /// Plain text (HTML removed, `<br>` turned into line breaks).
    pub text: String,
    /// Publication time, epoch milliseconds.
    pub published_at_ms: i64,
    /// The network marks the item as edited («edited»/«изменено» in Telegram, `edited` in VK).
    pub edited: bool,
    /// Last edit time, epoch milliseconds, when the network tells it.
    pub edited_at_ms: Option<i64>,
    /// View counter at collection time.
    pub views: Option<u64>,
    /// Where a repost or forward came from (channel, community or author name).
    pub forwarded_from: Option<String>,
    /// Kinds of the attachments, in order.
    pub attachments: Vec<AttachmentKind>,
    /// SHA-256 (hex) of the normalised text and attachment kinds: a different hash for a known
    /// item is an edit. Views and dates are not part of it.
    pub content_hash: String,
    /// The network reports the item as deleted.
    pub deleted: bool,
}

impl Item {
    /// An item with just its identity, text and date; set the other fields, then call
    /// [`Item::finish`] to compute the hash.
    pub fn new(
        network: Network,
        external_id: impl Into<String>,
        text: impl Into<String>,
        published_at_ms: i64,
    ) -> Self {
        Self {
            network,
            external_id: external_id.into(),
            parent_external_id: None,
            url: None,
            author: None,
            text: text.into(),
            published_at_ms,
            edited: false,
            edited_at_ms: None,
            views: None,
            forwarded_from: None,
            attachments: Vec::new(),
            content_hash: String::new(),
            deleted: false,
        }
        .finish()
    }

    /// Recomputes [`Item::content_hash`] from the text and attachments.
    #[must_use]
    pub fn finish(mut self) -> Self {
        self.content_hash = content_hash(&self.text, &self.attachments);
        self
    }

    /// Publication time as the domain's timestamp.
    pub fn published_at(&self) -> Timestamp {
        Timestamp(self.published_at_ms)
    }
}

/// SHA-256 (lowercase hex) of the text with whitespace runs collapsed and the ends trimmed,
/// followed by the attachment kinds. Formatting-only differences (extra spaces, line breaks)
/// don't change it; a changed word or an added photo does.
pub fn content_hash(text: &str, attachments: &[AttachmentKind]) -> String {
    let mut h = Sha256::new();
    let mut first = true;
    for word in text.split_whitespace() {
        if !first {
            h.update(b" ");
        }
        first = false;
        h.update(word.as_bytes());
    }
    h.update(b"\n#");
    for a in attachments {
        h.update(a.code().as_bytes());
        h.update(b",");
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_formatting_but_not_words_or_attachments() {
        let a = content_hash("Отключение воды\n на ул. Ленина", &[]);
        let b = content_hash("  Отключение   воды на ул.  Ленина ", &[]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, content_hash("Отключение воды на ул. Мира", &[]));
        assert_ne!(
            a,
            content_hash("Отключение воды на ул. Ленина", &[AttachmentKind::Photo])
        );
        assert_ne!(
            content_hash("", &[AttachmentKind::Photo, AttachmentKind::Video]),
            content_hash("", &[AttachmentKind::Video, AttachmentKind::Photo])
        );
    }

    #[test]
    fn new_item_has_a_hash() {
        let it = Item::new(Network::Rss, "g1", "Текст", 1_000);
        assert_eq!(it.content_hash, content_hash("Текст", &[]));
        assert_eq!(it.published_at(), Timestamp(1_000));
    }
}
