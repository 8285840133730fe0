use serde::{Deserialize, Serialize};

use crate::{PostId, SourceId, TerritoryId, Timestamp};

code_enum! {
    /// A social network or kind of open source.
    Network, "network" {
        /// ВКонтакте.
        Vk = "vk", "ВКонтакте";
        /// Telegram public channels.
        Telegram = "telegram", "Telegram";
        /// Одноклассники.
        Ok = "ok", "Одноклассники";
        /// RSS/Atom feeds.
        Rss = "rss", "RSS";
        /// Web pages scraped with CSS selectors.
        Web = "web", "Веб-страница";
    }
}

/// A configured collector source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// Database id.
    pub id: SourceId,
    /// Unique name («vk-minzdrav-wall»).
    pub name: String,
    /// Network.
    pub network: Network,
    /// What to poll: a community id, channel name, or feed URL.
    pub target: String,
    /// Cron schedule with a seconds field («0 */10 * * * *»).
    pub schedule: String,
    /// The territory the source is about (prior for territory detection).
    pub territory: Option<TerritoryId>,
    /// Polling enabled.
    pub enabled: bool,
}

/// A post or comment brought in by a collector; keyed by (network, external id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectedPost {
    /// Database id.
    pub id: PostId,
    /// Source that found it.
    pub source: SourceId,
    /// Network.
    pub network: Network,
    /// Id in the network («-123_456» for a VK wall post).
    pub external_id: String,
    /// Link to the original.
    pub url: Option<String>,
    /// Author handle.
    pub author: Option<String>,
    /// Plain text.
    pub text: String,
    /// When it was published.
    pub published_at: Timestamp,
    /// When we stored it.
    pub collected_at: Timestamp,
    /// Hash of the content, to keep edits as versions.
    pub content_hash: String,
}
