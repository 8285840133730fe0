//! Official community links: VK, Odnoklassniki and Telegram URLs → `(network, external id)`.
//!
//! Canonical external ids:
//! - VK: numeric communities as `club<N>` (from `club`, `public` or `event` links), screen names
//!   lower-cased (`minzdrav_severnaya`);
//! - Odnoklassniki: numeric groups as `group<N>` (from `ok.ru/group/<N>` or `ok.ru/group<N>`),
//!   screen names lower-cased;
//! - Telegram: the channel username, lower-cased.

use otklik_domain::Network;
use thiserror::Error;

/// Why a community link was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommunityUrlError {
    /// Nothing was given.
    #[error("empty community link")]
    Empty,
    /// The text is not a link (spaces, control characters, a bare `@name`).
    #[error("not a link: \"{0}\" (write the full address, e.g. https://vk.com/name)")]
    NotUrl(String),
    /// A scheme other than http/https.
    #[error("unsupported scheme \"{0}\" (use https://)")]
    Scheme(String),
    /// A site that is not VK, Odnoklassniki or Telegram.
    #[error("unsupported site \"{0}\" (expected vk.com, vk.ru, ok.ru, t.me or telegram.me)")]
    UnsupportedHost(String),
    /// A link to something other than a community (a person, a post, a service page).
    #[error("not a community link: \"{url}\": {reason}")]
    NotCommunity {
        /// The link.
        url: String,
        /// What it points to instead.
        reason: &'static str,
    },
    /// A community name with characters or length the network does not allow.
    #[error("invalid {network} community name \"{name}\"")]
    BadName {
        /// Network code.
        network: &'static str,
        /// The offending name.
        name: String,
    },
}

/// Parses and normalises a VK, Odnoklassniki or Telegram community link.
///
/// The scheme is optional; `www.` and `m.` prefixes, query strings, fragments and trailing
/// slashes are ignored; `vk.ru` is VK, `telegram.me` and `t.me/s/` are Telegram.
///
/// ```
/// use otklik_domain::Network;
/// use otklik_import::parse_community_url;
///
/// assert_eq!(
///     parse_community_url("https://m.vk.com/public123?w=wall-123_1"),
///     Ok((Network::Vk, "club123".to_owned()))
/// );
/// assert_eq!(
///     parse_community_url("t.me/s/Minzdrav_Sev/"),
///     Ok((Network::Telegram, "minzdrav_sev".to_owned()))
/// );
/// assert!(parse_community_url("https://example.com/minzdrav").is_err());
/// ```
pub fn parse_community_url(input: &str) -> Result<(Network, String), CommunityUrlError> {
    let url = input.trim();
    if url.is_empty() {
        return Err(CommunityUrlError::Empty);
    }
    if url.chars().count() > crate::field::MAX_TEXT_CHARS
        || url.starts_with('@')
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(CommunityUrlError::NotUrl(shorten(url)));
    }
    let rest = match url.split_once("://") {
        Some((scheme, rest)) => {
            if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
                return Err(CommunityUrlError::Scheme(shorten(scheme)));
            }
            rest
        }
        None => url.strip_prefix("//").unwrap_or(url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host);
    let host = host.strip_prefix("www.").unwrap_or(host);
    let host = host.strip_prefix("m.").unwrap_or(host);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let not = |reason| CommunityUrlError::NotCommunity {
        url: shorten(url),
        reason,
    };
    match host {
        "vk.com" | "vk.ru" | "vkontakte.ru" => match segments.as_slice() {
            [name] => Ok((Network::Vk, vk_name(name, url)?)),
            [] => Err(not("no community name after the site")),
            _ => Err(not("a link to a page inside VK, not to a community")),
        },
        "ok.ru" | "odnoklassniki.ru" => match segments.as_slice() {
            [group, id] if group.eq_ignore_ascii_case("group") => {
                Ok((Network::Ok, ok_group_id(id).ok_or_else(|| bad_ok(id))?))
            }
            [profile, ..] if profile.eq_ignore_ascii_case("profile") => {
                Err(not("a personal profile, not a group"))
            }
            [name] => Ok((Network::Ok, ok_name(name, url)?)),
            [] => Err(not("no group name after the site")),
            _ => Err(not("a link to a page inside Odnoklassniki, not to a group")),
        },
        "t.me" | "telegram.me" | "telegram.dog" => {
            let segments = match segments.as_slice() {
                [s, tail @ ..] if *s == "s" && !tail.is_empty() => tail,
                all => all,
            };
            match segments {
                [name] if name.starts_with('+') || name.eq_ignore_ascii_case("joinchat") => {
                    Err(not("a private invite link"))
                }
                [join, ..] if join.eq_ignore_ascii_case("joinchat") => {
                    Err(not("a private invite link"))
                }
                [name] => Ok((Network::Telegram, telegram_name(name)?)),
                [] => Err(not("no channel name after the site")),
                _ => Err(not("a link to a post; give the channel link")),
            }
        }
        "" => Err(CommunityUrlError::NotUrl(shorten(url))),
        other => Err(CommunityUrlError::UnsupportedHost(shorten(other))),
    }
}

/// The canonical public URL of a community (`https://vk.com/club123`, `https://ok.ru/group/1`,
/// `https://t.me/name`); `None` for networks without communities (RSS, web).
pub fn community_url(network: Network, external_id: &str) -> Option<String> {
    match network {
        Network::Vk => Some(format!("https://vk.com/{external_id}")),
        Network::Telegram => Some(format!("https://t.me/{external_id}")),
        Network::Ok => Some(match ok_group_id(external_id) {
            Some(id) => format!("https://ok.ru/group/{}", id.trim_start_matches("group")),
            None => format!("https://ok.ru/{external_id}"),
        }),
        Network::Rss | Network::Web => None,
    }
}

/// Words VK uses for its own pages.
const VK_RESERVED: &[&str] = &[
    "feed",
    "im",
    "friends",
    "groups",
    "search",
    "settings",
    "login",
    "support",
    "about",
    "dev",
    "apps",
    "games",
    "music",
    "video",
    "audio",
    "audios",
    "photos",
    "videos",
    "docs",
    "market",
    "services",
    "away.php",
    "share.php",
    "wall",
    "id",
];
/// VK object links: `wall-1_2`, `photo1_2`, `topic-1_2` …
const VK_OBJECTS: &[&str] = &[
    "wall", "photo", "video", "topic", "album", "board", "market", "app", "note", "audio", "clip",
    "doc", "poll", "story", "wiki", "page", "product",
];

/// Normalises one VK path segment or bare id (`club1`, `public1`, `event1`, `-1`, screen name).
pub(crate) fn vk_name(segment: &str, url: &str) -> Result<String, CommunityUrlError> {
    let lower = segment.to_ascii_lowercase();
    let not = |reason| CommunityUrlError::NotCommunity {
        url: shorten(url),
        reason,
    };
    for prefix in ["club", "public", "event", "-"] {
        if let Some(digits) = lower.strip_prefix(prefix)
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            return match digits.parse::<u64>() {
                Ok(n) if n > 0 => Ok(format!("club{n}")),
                _ => Err(bad_vk(segment)),
            };
        }
    }
    if let Some(digits) = lower.strip_prefix("id")
        && !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
    {
        return Err(not("a personal page, not a community"));
    }
    if VK_RESERVED.contains(&lower.as_str()) {
        return Err(not("a VK service page, not a community"));
    }
    for object in VK_OBJECTS {
        if let Some(tail) = lower.strip_prefix(object)
            && tail.starts_with(|c: char| c == '-' || c.is_ascii_digit())
        {
            return Err(not("a link to a post or object; give the community link"));
        }
    }
    let valid = (2..=64).contains(&lower.len())
        && lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && lower.chars().any(|c| c.is_ascii_lowercase());
    if valid {
        Ok(lower)
    } else {
        Err(bad_vk(segment))
    }
}

/// Normalises a Telegram username (`@` allowed in front).
pub(crate) fn telegram_name(name: &str) -> Result<String, CommunityUrlError> {
    let name = name.strip_prefix('@').unwrap_or(name);
    let valid = (4..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(CommunityUrlError::BadName {
            network: "telegram",
            name: shorten(name),
        })
    }
}

const OK_RESERVED: &[&str] = &[
    "feed",
    "profile",
    "dk",
    "video",
    "music",
    "games",
    "search",
    "messages",
    "friends",
    "groups",
    "settings",
    "app",
    "live",
    "discussions",
    "market",
];

/// Normalises one Odnoklassniki path segment or bare id (`group<N>`, screen name).
pub(crate) fn ok_name(segment: &str, url: &str) -> Result<String, CommunityUrlError> {
    if let Some(id) = ok_group_id(segment) {
        return Ok(id);
    }
    let lower = segment.to_ascii_lowercase();
    if OK_RESERVED.contains(&lower.as_str()) || lower == "group" {
        return Err(CommunityUrlError::NotCommunity {
            url: shorten(url),
            reason: "an Odnoklassniki service page, not a group",
        });
    }
    let valid = (2..=64).contains(&lower.len())
        && lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        && lower.chars().any(|c| c.is_ascii_lowercase());
    if valid {
        Ok(lower)
    } else {
        Err(bad_ok(segment))
    }
}

/// `group<N>` or `<N>` → `Some("group<N>")`.
fn ok_group_id(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let digits = lower.strip_prefix("group").unwrap_or(&lower);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => Some(format!("group{n}")),
        _ => None,
    }
}

fn bad_vk(name: &str) -> CommunityUrlError {
    CommunityUrlError::BadName {
        network: "vk",
        name: shorten(name),
    }
}

fn bad_ok(name: &str) -> CommunityUrlError {
    CommunityUrlError::BadName {
        network: "ok",
        name: shorten(name),
    }
}

/// Keeps error messages readable when the input is huge.
fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_table() {
        use Network::{Telegram, Vk};
        const OK: Network = Network::Ok;
        let table: &[(&str, Network, &str)] = &[
            ("https://vk.com/club123", Vk, "club123"),
            ("vk.com/public123", Vk, "club123"),
            ("http://vk.com/event0123", Vk, "club123"),
            (
                "https://vk.com/Minzdrav_Severnaya",
                Vk,
                "minzdrav_severnaya",
            ),
            ("https://m.vk.com/adm.seversk/", Vk, "adm.seversk"),
            (
                "https://www.vk.com/adm_seversk?w=wall-1_2#top",
                Vk,
                "adm_seversk",
            ),
            ("vk.ru/zarechny_rayon", Vk, "zarechny_rayon"),
            ("HTTPS://VK.COM/CLUB7", Vk, "club7"),
            ("//vk.com/club5", Vk, "club5"),
            ("t.me/seversk_news", Telegram, "seversk_news"),
            ("https://t.me/s/Seversk_News/", Telegram, "seversk_news"),
            ("https://telegram.me/seversk_news", Telegram, "seversk_news"),
            (
                "https://www.t.me/seversk_news?start=1",
                Telegram,
                "seversk_news",
            ),
            ("ok.ru/group/70000001234567", OK, "group70000001234567"),
            (
                "https://ok.ru/group70000001234567/",
                OK,
                "group70000001234567",
            ),
            (
                "https://m.ok.ru/group/70000001234567?st=1",
                OK,
                "group70000001234567",
            ),
            ("https://ok.ru/MinzdravSev", OK, "minzdravsev"),
            ("www.odnoklassniki.ru/minzdravsev", OK, "minzdravsev"),
        ];
        for (url, network, id) in table {
            assert_eq!(
                parse_community_url(url),
                Ok((*network, (*id).to_owned())),
                "{url}"
            );
        }
    }

    #[test]
    fn refusals() {
        let refused = [
            "",
            "@seversk_news",
            "seversk news",
            "ftp://vk.com/club1",
            "https://example.com/club1",
            "https://vk.com.evil.example/club1",
            "https://vk.com/",
            "https://vk.com/id12345",
            "https://vk.com/wall-123_45",
            "https://vk.com/photo-1_2",
            "https://vk.com/club0",
            "https://vk.com/feed",
            "https://vk.com/minzdrav/photos",
            "https://vk.com/имя",
            "https://t.me/+AbCdEf",
            "https://t.me/joinchat/AbCdEf",
            "https://t.me/seversk_news/123",
            "https://t.me/1abc",
            "https://t.me/ab",
            "https://ok.ru/profile/123",
            "https://ok.ru/group/abc",
            "https://ok.ru/",
            "https://ok.ru/feed",
            "https://ok.ru/group",
        ];
        for url in refused {
            assert!(parse_community_url(url).is_err(), "{url}");
        }
        assert_eq!(
            parse_community_url("https://example.com/x"),
            Err(CommunityUrlError::UnsupportedHost("example.com".to_owned()))
        );
    }

    #[test]
    fn canonical_urls() {
        assert_eq!(
            community_url(Network::Vk, "club123").as_deref(),
            Some("https://vk.com/club123")
        );
        assert_eq!(
            community_url(Network::Ok, "group42").as_deref(),
            Some("https://ok.ru/group/42")
        );
        assert_eq!(
            community_url(Network::Ok, "minzdravsev").as_deref(),
            Some("https://ok.ru/minzdravsev")
        );
        assert_eq!(
            community_url(Network::Telegram, "news").as_deref(),
            Some("https://t.me/news")
        );
        assert_eq!(community_url(Network::Rss, "x"), None);
        for url in [
            "https://vk.com/club9",
            "https://ok.ru/group/9",
            "https://t.me/abcde",
        ] {
            let (n, id) = parse_community_url(url).unwrap_or((Network::Web, String::new()));
            assert_eq!(community_url(n, &id).as_deref(), Some(url));
        }
    }
}
