use serde::{Deserialize, Serialize};

/// A point in time as milliseconds since the Unix epoch (UTC).
///
/// Stored as a plain integer in every backend, so SQLite and PostgreSQL agree byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds in one day.
    pub const DAY_MS: i64 = 86_400_000;
    /// Milliseconds in one hour.
    pub const HOUR_MS: i64 = 3_600_000;

    /// The raw value in milliseconds.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This instant plus whole days (calendar days; working-day calendars live in the workflow).
    pub fn plus_days(self, days: i64) -> Self {
        Self(self.0.saturating_add(days.saturating_mul(Self::DAY_MS)))
    }

    /// This instant plus whole hours.
    pub fn plus_hours(self, hours: i64) -> Self {
        Self(self.0.saturating_add(hours.saturating_mul(Self::HOUR_MS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_days_and_hours() {
        let t = Timestamp(1_000);
        assert_eq!(t.plus_days(2).millis(), 1_000 + 2 * 86_400_000);
        assert_eq!(t.plus_hours(3).millis(), 1_000 + 3 * 3_600_000);
        assert_eq!(Timestamp(i64::MAX).plus_days(1), Timestamp(i64::MAX));
    }
}
