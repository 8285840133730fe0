//! The status zones of the regional reports: green (80–100 %), yellow (50–80 %), red
//! (below 50 %) by default.

use serde::{Deserialize, Serialize};

/// A status zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    /// On track.
    Green,
    /// Needs attention.
    Yellow,
    /// Behind.
    Red,
}

impl Zone {
    /// The Russian label («зелёная»).
    pub fn label_ru(self) -> &'static str {
        match self {
            Zone::Green => "зелёная",
            Zone::Yellow => "жёлтая",
            Zone::Red => "красная",
        }
    }

    /// The code («green»).
    pub fn code(self) -> &'static str {
        match self {
            Zone::Green => "green",
            Zone::Yellow => "yellow",
            Zone::Red => "red",
        }
    }
}

/// Where the zones start, in percent.
///
/// ```
/// use otklik_reports::{Zone, ZoneThresholds};
/// let z = ZoneThresholds::default();
/// assert_eq!(z.zone(80.0), Zone::Green);
/// assert_eq!(z.zone(79.9), Zone::Yellow);
/// assert_eq!(z.zone(50.0), Zone::Yellow);
/// assert_eq!(z.zone(49.9), Zone::Red);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZoneThresholds {
    /// Green from this share on (default 80).
    pub green: f64,
    /// Yellow from this share on (default 50); below it red.
    pub yellow: f64,
}

impl Default for ZoneThresholds {
    fn default() -> Self {
        Self {
            green: 80.0,
            yellow: 50.0,
        }
    }
}

impl ZoneThresholds {
    /// The zone of a share in percent.
    pub fn zone(&self, percent: f64) -> Zone {
        if percent >= self.green {
            Zone::Green
        } else if percent >= self.yellow {
            Zone::Yellow
        } else {
            Zone::Red
        }
    }
}

/// `part` of `whole` in percent; `None` when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}
