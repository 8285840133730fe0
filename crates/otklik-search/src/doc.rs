//! The indexed document, independent of the store.

use serde::{Deserialize, Serialize};

/// What a document is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// A workflow message (citizen submission or a complaint taken from a post).
    Message,
    /// A collected post or comment (the default).
    #[default]
    Post,
}

impl DocKind {
    /// `message` / `post`: the value of the `kind` facet.
    pub fn code(self) -> &'static str {
        match self {
            DocKind::Message => "message",
            DocKind::Post => "post",
        }
    }

    /// The kind of a `kind` facet value.
    pub fn from_code(code: &str) -> Option<DocKind> {
        match code {
            "message" => Some(DocKind::Message),
            "post" => Some(DocKind::Post),
            _ => None,
        }
    }

    fn prefix(self) -> char {
        match self {
            DocKind::Message => 'm',
            DocKind::Post => 'p',
        }
    }
}

impl std::fmt::Display for DocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The identity of a document: its kind and its id in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocKey {
    /// Message or post.
    pub kind: DocKind,
    /// Id in the store.
    pub id: i64,
}

impl DocKey {
    /// A message's key.
    pub fn message(id: i64) -> Self {
        Self {
            kind: DocKind::Message,
            id,
        }
    }

    /// A post's key.
    pub fn post(id: i64) -> Self {
        Self {
            kind: DocKind::Post,
            id,
        }
    }

    /// The unique term stored in the index (`m:42`, `p:7`).
    pub fn term(&self) -> String {
        format!("{}:{}", self.kind.prefix(), self.id)
    }
}

/// A facet: a field that can be filtered on and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Facet {
    /// `message` or `post`.
    Kind,
    /// Category of the unified classifier (`roads`).
    Category,
    /// Subcategory (`roads.potholes`).
    Subcategory,
    /// Territory (a code or an id, as the feeder writes it).
    Territory,
    /// Organisation (executor of a message; owner of a post's community).
    Organisation,
    /// Network (`vk`, `telegram`, …).
    Network,
    /// Workflow status of a message; the classifier's kind of a post.
    Status,
    /// Month of publication, UTC (`2026-10`).
    Period,
}

impl Facet {
    /// Every facet, in display order.
    pub const ALL: [Facet; 8] = [
        Facet::Kind,
        Facet::Category,
        Facet::Subcategory,
        Facet::Territory,
        Facet::Organisation,
        Facet::Network,
        Facet::Status,
        Facet::Period,
    ];

    /// The field name in the index (also the name accepted by [`Facet::from_name`]).
    pub fn name(self) -> &'static str {
        match self {
            Facet::Kind => "kind",
            Facet::Category => "category",
            Facet::Subcategory => "subcategory",
            Facet::Territory => "territory",
            Facet::Organisation => "organisation",
            Facet::Network => "network",
            Facet::Status => "status",
            Facet::Period => "period",
        }
    }

    /// The facet with this name (`category`, …); `organization` is accepted too.
    pub fn from_name(name: &str) -> Option<Facet> {
        let name = name.trim().to_ascii_lowercase();
        if name == "organization" {
            return Some(Facet::Organisation);
        }
        Facet::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Facet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Facet {
    type Err = crate::SearchError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Facet::from_name(s).ok_or_else(|| {
            crate::SearchError::Invalid(format!(
                "unknown facet {s:?}; expected one of {}",
                Facet::ALL.map(Facet::name).join(", ")
            ))
        })
    }
}

/// A message or post as the index holds it. Build it from the store (see the `sync` module),
/// from the generator ([`crate::generate`]) or by hand.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchDoc {
    /// Message or post.
    pub kind: DocKind,
    /// Id in the store (unique per kind).
    pub id: i64,
    /// A title, when the source has one (RSS items, web pages); searched like the text.
    pub title: Option<String>,
    /// The text (plain; run `otklik_text::clean_text` on raw HTML first).
    pub text: String,
    /// Link to the original, when any.
    pub url: Option<String>,
    /// Publication time (a post) or registration time (a message), epoch ms: sorted on, the
    /// `period` facet and the date filters.
    pub published_at: i64,
    /// Last change in the store, epoch ms.
    pub updated_at: i64,
    /// Category id.
    pub category: Option<String>,
    /// Subcategory id.
    pub subcategory: Option<String>,
    /// Territory.
    pub territory: Option<String>,
    /// Organisation.
    pub organisation: Option<String>,
    /// Network.
    pub network: Option<String>,
    /// Status.
    pub status: Option<String>,
}

impl SearchDoc {
    /// The document's key.
    pub fn key(&self) -> DocKey {
        DocKey {
            kind: self.kind,
            id: self.id,
        }
    }

    /// The value of `facet` for this document (`period` is derived from `published_at`).
    pub fn facet(&self, facet: Facet) -> Option<String> {
        match facet {
            Facet::Kind => Some(self.kind.code().to_owned()),
            Facet::Category => self.category.clone(),
            Facet::Subcategory => self.subcategory.clone(),
            Facet::Territory => self.territory.clone(),
            Facet::Organisation => self.organisation.clone(),
            Facet::Network => self.network.clone(),
            Facet::Status => self.status.clone(),
            Facet::Period => Some(month_of(self.published_at)),
        }
    }
}

/// The UTC month (`YYYY-MM`) of an epoch-millisecond time.
pub fn month_of(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let (y, m, _) = civil_from_days(days);
    format!("{y:04}-{m:02}")
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    // d in 1..=31 and m in 1..=12 by construction.
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Epoch ms of the first instant of a UTC month (`year`, `month` 1..=12).
pub fn month_start_ms(year: i64, month: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_of(0), "1970-01");
        // 2024-03-01T00:00:00Z and one millisecond before.
        assert_eq!(month_of(1_709_251_200_000), "2024-03");
        assert_eq!(month_of(1_709_251_199_999), "2024-02");
        assert_eq!(month_start_ms(2024, 3), 1_709_251_200_000);
        assert_eq!(month_start_ms(1970, 1), 0);
        assert_eq!(month_of(month_start_ms(2026, 10)), "2026-10");
        assert_eq!(month_of(month_start_ms(2026, 11) - 1), "2026-10");
        assert_eq!(month_of(-1), "1969-12");
    }

    #[test]
    fn keys_and_facet_names_round_trip() {
        assert_eq!(DocKey::post(7).term(), "p:7");
        assert_eq!(DocKey::message(42).term(), "m:42");
        for f in Facet::ALL {
            assert_eq!(Facet::from_name(f.name()), Some(f));
        }
        assert_eq!(
            "Organization".parse::<Facet>().ok(),
            Some(Facet::Organisation)
        );
        assert!("colour".parse::<Facet>().is_err());
        assert_eq!(DocKind::from_code("message"), Some(DocKind::Message));
    }
}
