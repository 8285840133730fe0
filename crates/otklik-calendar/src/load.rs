//! Reading `rules/calendar/*.toml`: one file per year, every entry checked and located.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::CalendarError;

/// The calendar files shipped in `rules/calendar`, embedded at build time.
pub(crate) const EMBEDDED: &[(&str, &str)] = &[
    (
        "rules/calendar/2025.toml",
        include_str!("../../../rules/calendar/2025.toml"),
    ),
    (
        "rules/calendar/2026.toml",
        include_str!("../../../rules/calendar/2026.toml"),
    ),
    (
        "rules/calendar/2027.toml",
        include_str!("../../../rules/calendar/2027.toml"),
    ),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: Spanned<i64>,
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<String>,
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    #[serde(default)]
    days_off: Vec<Spanned<String>>,
    #[serde(default)]
    working_days: Vec<Spanned<String>>,
    #[serde(default)]
    shortened: Vec<Spanned<String>>,
}

/// What one date is declared to be in a calendar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Holiday,
    DayOff,
    WorkingWeekend,
}

/// The parsed content of all files: declared dates and shortened days, per covered year.
#[derive(Debug, Default, Clone)]
pub(crate) struct Parsed {
    pub(crate) marks: BTreeMap<NaiveDate, Mark>,
    pub(crate) shortened: BTreeMap<NaiveDate, ()>,
    pub(crate) years: BTreeMap<i32, PathBuf>,
}

/// 1-based (line, column) of byte `offset` in `text`; never panics.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, column)
}

fn entry_error(file: &Path, text: &str, offset: usize, message: String) -> CalendarError {
    let (line, column) = line_col(text, offset);
    CalendarError::Entry {
        file: file.to_path_buf(),
        line,
        column,
        message,
    }
}

/// Parses `YYYY-MM-DD` strictly (four-digit year, two-digit month and day).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Adds one file to `parsed`, checking every entry.
pub(crate) fn parse_file(
    parsed: &mut Parsed,
    file: &Path,
    text: &str,
) -> Result<(), CalendarError> {
    let raw: RawYear = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        entry_error(file, text, offset, e.message().trim().to_string())
    })?;
    let year_span = raw.year.span();
    let year = i32::try_from(*raw.year.get_ref())
        .ok()
        .filter(|y| (1992..=2200).contains(y))
        .ok_or_else(|| {
            entry_error(
                file,
                text,
                year_span.start,
                format!("year {} is out of range 1992..=2200", raw.year.get_ref()),
            )
        })?;
    if let Some(other) = parsed.years.get(&year) {
        return Err(entry_error(
            file,
            text,
            year_span.start,
            format!("year {year} is already defined in {}", other.display()),
        ));
    }

    let mut local: BTreeMap<NaiveDate, Mark> = BTreeMap::new();
    let date_of = |entry: &Spanned<String>| -> Result<NaiveDate, CalendarError> {
        let at = entry.span().start;
        let date = parse_date(entry.get_ref()).ok_or_else(|| {
            entry_error(
                file,
                text,
                at,
                format!("`{}` is not a date (YYYY-MM-DD)", entry.get_ref()),
            )
        })?;
        if date.year() != year {
            return Err(entry_error(
                file,
                text,
                at,
                format!("{date} is outside the file's year {year}"),
            ));
        }
        Ok(date)
    };
    let mark = |entry: &Spanned<String>,
                kind: Mark,
                local: &mut BTreeMap<NaiveDate, Mark>|
     -> Result<(), CalendarError> {
        let date = date_of(entry)?;
        let at = entry.span().start;
        match kind {
            Mark::DayOff if is_weekend(date) => {
                return Err(entry_error(
                    file,
                    text,
                    at,
                    format!(
                        "{date} is a {:?}: a transferred day off must be a weekday",
                        date.weekday()
                    ),
                ));
            }
            Mark::WorkingWeekend if !is_weekend(date) => {
                return Err(entry_error(
                    file,
                    text,
                    at,
                    format!(
                        "{date} is a {:?}: a transferred working day must be a Saturday or Sunday",
                        date.weekday()
                    ),
                ));
            }
            _ => {}
        }
        if local.insert(date, kind).is_some() {
            return Err(entry_error(
                file,
                text,
                at,
                format!("{date} is listed twice"),
            ));
        }
        Ok(())
    };
    for e in &raw.holidays {
        mark(e, Mark::Holiday, &mut local)?;
    }
    for e in &raw.days_off {
        mark(e, Mark::DayOff, &mut local)?;
    }
    for e in &raw.working_days {
        mark(e, Mark::WorkingWeekend, &mut local)?;
    }
    let mut shortened = BTreeMap::new();
    for e in &raw.shortened {
        let date = date_of(e)?;
        let at = e.span().start;
        let working = match local.get(&date) {
            Some(Mark::WorkingWeekend) => true,
            Some(Mark::Holiday | Mark::DayOff) => false,
            None => !is_weekend(date),
        };
        if !working {
            return Err(entry_error(
                file,
                text,
                at,
                format!("{date} is not a working day, so it cannot be shortened"),
            ));
        }
        if shortened.insert(date, ()).is_some() {
            return Err(entry_error(
                file,
                text,
                at,
                format!("{date} is listed twice"),
            ));
        }
    }
    parsed.years.insert(year, file.to_path_buf());
    parsed.marks.extend(local);
    parsed.shortened.extend(shortened);
    Ok(())
}

/// The calendar files of `dir`: `dir/calendar/*.toml` when `dir` has a `calendar` folder (so the
/// rules folder itself may be given), otherwise `dir/*.toml`. Sorted by name.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, String)>, CalendarError> {
    let sub = dir.join("calendar");
    let dir = if sub.is_dir() { sub } else { dir.to_path_buf() };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CalendarError::Io { path, source }
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
        let path = entry.map_err(io(&dir))?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(CalendarError::NoFiles { dir });
    }
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            Ok((path, text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strict_dates() {
        assert_eq!(
            parse_date("2025-03-08"),
            NaiveDate::from_ymd_opt(2025, 3, 8)
        );
        assert_eq!(parse_date("2025-3-8"), None);
        assert_eq!(parse_date("2025-02-30"), None);
        assert_eq!(parse_date("+025-02-10"), None);
        assert_eq!(parse_date("2025-02-1x"), None);
    }

    #[test]
    fn line_col_is_one_based_and_clamped() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab\ncd", 99), (2, 3));
    }
}
