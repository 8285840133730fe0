//! [`SourceConfig`]: any source's configuration, tagged by kind, buildable into a `dyn Source`.

use serde::Deserialize;

use crate::http::HttpClient;
use crate::ok::{OkConfig, OkGroupSource};
use crate::rss::{RssConfig, RssSource};
use crate::telegram::{TelegramConfig, TelegramSource};
use crate::vk::{VkSearchConfig, VkSearchSource, VkWallConfig, VkWallSource};
use crate::web::{WebConfig, WebSource};
use crate::{CollectError, Network, Source};

/// The configuration of one source, e.g. from TOML:
///
/// ```
/// use otklik_collect::SourceConfig;
///
/// let cfg: SourceConfig = serde_json::from_str(r#"{
///     "kind": "vk_wall",
///     "api": {"token": "vk1.a.xxx", "token_kind": "group"},
///     "owners": ["severny_adm", "-210000002"],
///     "comments": {"watch_hours": 48}
/// }"#)?;
/// assert_eq!(cfg.network(), otklik_collect::Network::Vk);
/// assert!(!format!("{cfg:?}").contains("vk1.a.xxx"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceConfig {
    /// VK community walls (and comments).
    VkWall(VkWallConfig),
    /// VK keyword search.
    VkSearch(VkSearchConfig),
    /// A Telegram channel's web preview.
    Telegram(TelegramConfig),
    /// An RSS or Atom feed.
    Rss(RssConfig),
    /// A web page with selectors.
    Web(WebConfig),
    /// An OK group.
    OkGroup(OkConfig),
}

impl SourceConfig {
    /// The network of the items.
    pub fn network(&self) -> Network {
        match self {
            Self::VkWall(_) | Self::VkSearch(_) => Network::Vk,
            Self::Telegram(_) => Network::Telegram,
            Self::Rss(_) => Network::Rss,
            Self::Web(_) => Network::Web,
            Self::OkGroup(_) => Network::Ok,
        }
    }

    /// Checks the configuration and builds the source on the shared client.
    pub fn build(self, http: &HttpClient) -> Result<Box<dyn Source>, CollectError> {
        let http = http.clone();
        Ok(match self {
            Self::VkWall(c) => Box::new(VkWallSource::new(c, http)?),
            Self::VkSearch(c) => Box::new(VkSearchSource::new(c, http)?),
            Self::Telegram(c) => Box::new(TelegramSource::new(c, http)?),
            Self::Rss(c) => Box::new(RssSource::new(c, http)?),
            Self::Web(c) => Box::new(WebSource::new(c, http)?),
            Self::OkGroup(c) => Box::new(OkGroupSource::new(c, http)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::fast_http;

    #[test]
    fn every_kind_builds_from_toml() {
        let doc = r#"
            [[source]]
            kind = "telegram"
            channel = "@severny_rayon_news"
            backfill_pages = 3

            [[source]]
            kind = "rss"
            url = "https://severgorod.example.invalid/rss.xml"

            [[source]]
            kind = "web"
            url = "https://zarechny.example.invalid/news/"
            item_selector = ".news-item"
            date_selector = ".news-date"
            date_format = "%d %B %Y, %H:%M"

            [[source]]
            kind = "vk_search"
            queries = ["отключение воды Северный район"]
            api = { token = "t", requests_per_second = 2.5 }

            [[source]]
            kind = "vk_wall"
            owners = ["club1"]
            api = { token = "t", version = "5.199" }

            [[source]]
            kind = "ok_group"
            application_key = "K"
            application_secret_key = "S"
            access_token = "T"
            group_id = "70000000000001"
        "#;
        #[derive(Deserialize)]
        struct Doc {
            source: Vec<SourceConfig>,
        }
        let doc: Doc = toml::from_str(doc).expect("toml");
        let networks: Vec<Network> = doc.source.iter().map(SourceConfig::network).collect();
        assert_eq!(
            networks,
            [
                Network::Telegram,
                Network::Rss,
                Network::Web,
                Network::Vk,
                Network::Vk,
                Network::Ok
            ]
        );
        let http = fast_http();
        for cfg in doc.source {
            let src = cfg.build(&http).expect("builds");
            assert!(!format!("{src:?}").is_empty());
        }
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let bad: Result<SourceConfig, _> =
            serde_json::from_str(r#"{"kind": "telegram", "channel": "x", "chanel": "y"}"#);
        assert!(bad.is_err());
        let cfg: SourceConfig =
            serde_json::from_str(r#"{"kind": "telegram", "channel": "no"}"#).expect("parses");
        assert!(matches!(
            cfg.build(&fast_http()),
            Err(CollectError::Config(_))
        ));
    }
}
