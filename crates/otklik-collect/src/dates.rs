//! Date parsing for feeds and web pages.

use std::str::FromStr;

use jiff::fmt::rfc2822::DateTimeParser;
use jiff::tz::Offset;
use jiff::{Timestamp, civil};

static RFC2822: DateTimeParser = DateTimeParser::new();

/// Russian month names (genitive, nominative: English full names for `%B`; short: English
/// abbreviations for `%b`).
const RU_MONTHS: [(&str, &str); 36] = [
    ("января", "January"),
    ("февраля", "February"),
    ("марта", "March"),
    ("апреля", "April"),
    ("мая", "May"),
    ("июня", "June"),
    ("июля", "July"),
    ("августа", "August"),
    ("сентября", "September"),
    ("октября", "October"),
    ("ноября", "November"),
    ("декабря", "December"),
    ("январь", "January"),
    ("февраль", "February"),
    ("март", "March"),
    ("апрель", "April"),
    ("май", "May"),
    ("июнь", "June"),
    ("июль", "July"),
    ("август", "August"),
    ("сентябрь", "September"),
    ("октябрь", "October"),
    ("ноябрь", "November"),
    ("декабрь", "December"),
    ("янв", "Jan"),
    ("фев", "Feb"),
    ("мар", "Mar"),
    ("апр", "Apr"),
    ("июн", "Jun"),
    ("июл", "Jul"),
    ("авг", "Aug"),
    ("сен", "Sep"),
    ("окт", "Oct"),
    ("ноя", "Nov"),
    ("дек", "Dec"),
    ("сент", "Sep"),
];

/// A feed date: RFC 2822 (`pubDate`, lenient about a wrong weekday and `MSK`), RFC 3339
/// (Atom, `dc:date`), or an ISO date-time without offset (taken as UTC). Epoch ms.
pub(crate) fn parse_feed_date(raw: &str) -> Option<i64> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(ts) = Timestamp::from_str(s) {
        return Some(ts.as_millisecond());
    }
    let fixed = s
        .replace(" MSK", " +0300")
        .replace(" MSD", " +0400")
        .replace(" UTC", " +0000");
    if let Ok(ts) = RFC2822.parse_timestamp(&fixed) {
        return Some(ts.as_millisecond());
    }
    // A wrong day of the week is common; drop it.
    if let Some((_, rest)) = fixed.split_once(',')
        && let Ok(ts) = RFC2822.parse_timestamp(rest.trim())
    {
        return Some(ts.as_millisecond());
    }
    if let Ok(dt) = civil::DateTime::from_str(s) {
        return Offset::UTC
            .to_timestamp(dt)
            .ok()
            .map(|t| t.as_millisecond());
    }
    None
}

/// Parses `raw` with a `strftime`-style `format` (jiff's `strptime`); Russian month names are
/// understood by `%B`/`%b`. Without an offset in the input, `utc_offset_minutes` applies.
pub(crate) fn parse_with_format(
    raw: &str,
    format: &str,
    utc_offset_minutes: i32,
) -> Result<i64, String> {
    let input = english_months(raw.trim());
    let tm = jiff::fmt::strtime::parse(format, &input)
        .map_err(|e| format!("date {raw:?} does not match {format:?}: {e}"))?;
    if tm.offset().is_some() {
        return tm
            .to_timestamp()
            .map(|t| t.as_millisecond())
            .map_err(|e| format!("date {raw:?}: {e}"));
    }
    let dt = tm
        .to_datetime()
        .map_err(|e| format!("date {raw:?} with {format:?}: {e}"))?;
    let offset = Offset::from_seconds(utc_offset_minutes.saturating_mul(60))
        .map_err(|e| format!("UTC offset {utc_offset_minutes} min: {e}"))?;
    offset
        .to_timestamp(dt)
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("date {raw:?}: {e}"))
}

/// Replaces Russian month names by English ones (longest names first), case-insensitively.
fn english_months(s: &str) -> String {
    let lower = s.to_lowercase();
    if !lower.chars().any(|c| ('а'..='я').contains(&c)) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = lower.as_str();
    'outer: while !rest.is_empty() {
        let at_word_start = out.chars().last().is_none_or(|c| !c.is_alphabetic());
        if at_word_start {
            for (ru, en) in RU_MONTHS {
                if let Some(after) = rest.strip_prefix(ru)
                    && after
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_alphabetic() || c == '.')
                {
                    out.push_str(en);
                    rest = after.strip_prefix('.').unwrap_or(after);
                    continue 'outer;
                }
            }
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_dates() {
        let want = 1_741_000_000_000;
        assert_eq!(parse_feed_date("2025-03-03T11:06:40Z"), Some(want));
        assert_eq!(
            parse_feed_date("Mon, 03 Mar 2025 14:06:40 +0300"),
            Some(want)
        );
        assert_eq!(
            parse_feed_date("Fri, 03 Mar 2025 14:06:40 +0300"),
            Some(want),
            "wrong weekday"
        );
        assert_eq!(parse_feed_date("Mon, 03 Mar 2025 14:06:40 MSK"), Some(want));
        assert_eq!(parse_feed_date("Mon, 03 Mar 2025 11:06:40 GMT"), Some(want));
        assert_eq!(parse_feed_date("2025-03-03T11:06:40"), Some(want));
        assert_eq!(parse_feed_date("вчера"), None);
        assert_eq!(parse_feed_date(""), None);
    }

    #[test]
    fn formatted_dates_with_russian_months() {
        let want = 1_741_000_000_000 - 40_000; // 2025-03-03 11:06:00 UTC
        assert_eq!(
            parse_with_format("03.03.2025 14:06", "%d.%m.%Y %H:%M", 180),
            Ok(want)
        );
        assert_eq!(
            parse_with_format("3 марта 2025, 14:06", "%d %B %Y, %H:%M", 180),
            Ok(want)
        );
        assert_eq!(
            parse_with_format("3 МАРТА 2025, 14:06", "%d %B %Y, %H:%M", 180),
            Ok(want)
        );
        assert_eq!(
            parse_with_format("3 мар. 2025 14:06", "%d %b %Y %H:%M", 180),
            Ok(want)
        );
        assert_eq!(
            parse_with_format("2025-03-03 11:06 +0000", "%Y-%m-%d %H:%M %z", 180),
            Ok(want)
        );
        assert!(parse_with_format("03/03/2025", "%d.%m.%Y", 180).is_err());
    }
}
