//! The period a report covers: a UTC month (`2026-10`), a range of UTC days, or everything.

use otklik_domain::Timestamp;

use crate::{ReportError, Result};

const DAY_MS: i64 = 86_400_000;

/// Registered in `[since, until)` (epoch ms), either end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    /// At or after.
    pub since: Option<i64>,
    /// Before.
    pub until: Option<i64>,
}

impl Period {
    /// Everything.
    pub const ALL: Period = Period {
        since: None,
        until: None,
    };

    /// A UTC month `YYYY-MM`.
    ///
    /// ```
    /// use otklik_reports::Period;
    /// let p = Period::month("2026-10").unwrap();
    /// assert_eq!(p.label(), "2026-10-01 — 2026-10-31");
    /// assert!(Period::month("2026-13").is_err());
    /// ```
    pub fn month(text: &str) -> Result<Period> {
        let (since, until) = otklik_search::topics::month_range(text)
            .map_err(|_| ReportError::Invalid(format!("{text:?} is not a month (YYYY-MM)")))?;
        Ok(Period {
            since: Some(since),
            until: Some(until),
        })
    }

    /// From the UTC day `since` to the UTC day `until`, both included (`YYYY-MM-DD`);
    /// either may be missing.
    pub fn days(since: Option<&str>, until: Option<&str>) -> Result<Period> {
        let since = since.map(parse_day).transpose()?;
        let until = until.map(parse_day).transpose()?.map(|d| d + DAY_MS);
        if let (Some(a), Some(b)) = (since, until)
            && a >= b
        {
            return Err(ReportError::Invalid(
                "the period ends before it starts (--until before --since)".into(),
            ));
        }
        Ok(Period { since, until })
    }

    /// Does `at` fall in the period?
    pub fn contains(&self, at: Timestamp) -> bool {
        let t = at.millis();
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// `YYYY-MM-DD — YYYY-MM-DD` (the last day included), «всё время» for no limits.
    pub fn label(&self) -> String {
        match (self.since, self.until) {
            (None, None) => "всё время".to_owned(),
            (s, u) => format!(
                "{} — {}",
                s.map(day_label).unwrap_or_default(),
                u.map(|u| day_label(u - 1)).unwrap_or_default()
            ),
        }
    }
}

/// `YYYY-MM-DD` of a UTC instant.
pub fn day_label(ms: i64) -> String {
    let month = otklik_search::month_of(ms);
    let (y, m) = month.split_once('-').unwrap_or(("1970", "01"));
    let start = otklik_search::month_start_ms(y.parse().unwrap_or(1970), m.parse().unwrap_or(1));
    format!("{month}-{:02}", (ms - start).div_euclid(DAY_MS) + 1)
}

/// Epoch ms of the start of the UTC day `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<i64> {
    let bad = || ReportError::Invalid(format!("{text:?} is not a date (YYYY-MM-DD)"));
    let t = text.trim();
    let mut parts = t.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let year: i64 = y.parse().map_err(|_| bad())?;
    let month: u32 = m.parse().map_err(|_| bad())?;
    let day: i64 = d.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) || day < 1 {
        return Err(bad());
    }
    let start = otklik_search::month_start_ms(year, month);
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let days_in_month = (otklik_search::month_start_ms(ny, nm) - start) / DAY_MS;
    if day > days_in_month {
        return Err(bad());
    }
    Ok(start + (day - 1) * DAY_MS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        let oct = Period::month("2026-10").unwrap();
        assert_eq!(oct.since, Some(parse_day("2026-10-01").unwrap()));
        assert_eq!(oct.until, Some(parse_day("2026-11-01").unwrap()));
        let days = Period::days(Some("2026-10-01"), Some("2026-10-31")).unwrap();
        assert_eq!(days, oct);
        assert_eq!(days.label(), "2026-10-01 — 2026-10-31");
        assert_eq!(Period::ALL.label(), "всё время");
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-10-01",
            "2026-10",
            "завтра",
            "2026-10-01-01",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
        assert!(Period::days(Some("2026-10-02"), Some("2026-10-01")).is_err());
        assert!(Period::month("октябрь").is_err());
        assert!(parse_day("2024-02-29").is_ok());
        assert!(parse_day("2026-02-29").is_err());
        assert!(oct.contains(Timestamp(oct.since.unwrap())));
        assert!(!oct.contains(Timestamp(oct.until.unwrap())));
    }
}
