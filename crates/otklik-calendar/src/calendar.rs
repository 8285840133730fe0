//! The working-time calendar: which days are working, office hours in the region's time zone,
//! and arithmetic in working days, hours and milliseconds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};
use otklik_domain::Timestamp;
use serde::{Deserialize, Serialize};

use crate::CalendarError;
use crate::load::{self, Mark, Parsed};

const MINUTE_MS: i64 = 60_000;
/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// What a date is in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// An ordinary working day, including a Saturday or Sunday declared working by a transfer.
    Working,
    /// A pre-holiday working day, one hour shorter (art. 95 of the Labour Code).
    Shortened,
    /// Saturday or Sunday.
    Weekend,
    /// A non-working public holiday (art. 112 of the Labour Code), also when it falls on a weekend.
    Holiday,
    /// A weekday declared non-working by a transfer of days off.
    DayOff,
}

impl DayKind {
    /// Whether people work that day.
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Working | DayKind::Shortened)
    }
}

/// Office hours of a working day in local time, as minutes since midnight. A shortened day
/// closes `shortened_by_minutes` earlier (one hour by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OfficeHours {
    open_minute: u16,
    close_minute: u16,
    shortened_by_minutes: u16,
}

impl Default for OfficeHours {
    /// 09:00–18:00, shortened days until 17:00.
    fn default() -> Self {
        Self {
            open_minute: 9 * 60,
            close_minute: 18 * 60,
            shortened_by_minutes: 60,
        }
    }
}

impl OfficeHours {
    /// Office hours from `open` to `close` (hour, minute) with shortened days closing one hour
    /// earlier. Fails unless `open < close − 1 h` and `close ≤ 24:00`.
    pub fn new(open: (u8, u8), close: (u8, u8)) -> Result<Self, CalendarError> {
        Self::with_shortening(open, close, 60)
    }

    /// Like [`OfficeHours::new`] with a custom shortening of pre-holiday days.
    pub fn with_shortening(
        open: (u8, u8),
        close: (u8, u8),
        shortened_by_minutes: u16,
    ) -> Result<Self, CalendarError> {
        let minute = |(h, m): (u8, u8)| -> Result<u16, CalendarError> {
            if m >= 60 || h > 24 || (h == 24 && m != 0) {
                return Err(CalendarError::InvalidOfficeHours(format!(
                    "{h:02}:{m:02} is not a time of day"
                )));
            }
            Ok(u16::from(h) * 60 + u16::from(m))
        };
        let (open_minute, close_minute) = (minute(open)?, minute(close)?);
        if close_minute <= open_minute.saturating_add(shortened_by_minutes) {
            return Err(CalendarError::InvalidOfficeHours(format!(
                "opening {:02}:{:02} must be before closing {:02}:{:02} minus the {shortened_by_minutes} minutes of a shortened day",
                open.0, open.1, close.0, close.1
            )));
        }
        Ok(Self {
            open_minute,
            close_minute,
            shortened_by_minutes,
        })
    }

    /// Opening, minutes since local midnight.
    pub fn open_minute(self) -> u16 {
        self.open_minute
    }

    /// Closing of an ordinary day, minutes since local midnight.
    pub fn close_minute(self) -> u16 {
        self.close_minute
    }

    /// Closing of a shortened day, minutes since local midnight.
    pub fn shortened_close_minute(self) -> u16 {
        self.close_minute - self.shortened_by_minutes
    }

    /// Working milliseconds of an ordinary day.
    pub fn day_ms(self) -> i64 {
        i64::from(self.close_minute - self.open_minute) * MINUTE_MS
    }
}

/// The Russian production calendar of a region: working days from `rules/calendar`, the
/// region's UTC offset (Russia has no daylight saving time) and office hours.
///
/// Years not covered by a calendar file fall back to Saturdays and Sundays plus the public
/// holidays of art. 112 of the Labour Code (1–8 January, 23 February, 8 March, 1 and 9 May,
/// 12 June, 4 November) without transfers; [`Calendar::covers`] tells which years are exact.
///
/// # Counting rules
///
/// * A **working day** is a Monday–Friday that is neither a holiday nor a transferred day off,
///   or a Saturday/Sunday declared working by a transfer.
/// * **Working time** is the office hours of working days in the region's local time
///   (09:00–18:00 by default; a shortened pre-holiday day ends an hour earlier).
/// * [`Calendar::add_working_days`]: the deadline of a term of `N` working days is the **close
///   of office hours on the N-th working day after the day of registration**. The day of
///   registration never counts, whatever the hour (the term starts the next day, as in the law
///   on citizens' appeals, 59-FZ, art. 12); days are local days of the region. With `N = 0` the
///   deadline is the close of the registration day when it is a working day, otherwise the close
///   of the next working day.
/// * [`Calendar::add_working_ms`] / [`Calendar::add_working_hours`] consume office time from the
///   given instant (an instant outside office hours starts at the next opening). A result that
///   lands exactly on a closing stays on that closing rather than moving to the next opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    marks: std::collections::BTreeMap<NaiveDate, Mark>,
    shortened: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
    utc_offset_minutes: i32,
    office: OfficeHours,
}

impl Calendar {
    /// Loads every `*.toml` file of `dir/calendar` (when `dir` is the rules folder) or of `dir`
    /// itself. Moscow time (UTC+3) and default office hours; change them with
    /// [`Calendar::with_utc_offset_hours`] and [`Calendar::with_office_hours`]. A bad entry is
    /// reported as [`CalendarError::Entry`] with file, line and column.
    pub fn load(dir: &Path) -> Result<Self, CalendarError> {
        let files = load::read_dir(dir)?;
        let mut parsed = Parsed::default();
        for (path, text) in &files {
            load::parse_file(&mut parsed, path, text)?;
        }
        Ok(Self::from_parsed(parsed))
    }

    /// Builds a calendar from in-memory files `(name, content)`; `name` is used in errors.
    pub fn from_sources(files: &[(&str, &str)]) -> Result<Self, CalendarError> {
        let mut parsed = Parsed::default();
        for (name, text) in files {
            load::parse_file(&mut parsed, &PathBuf::from(name), text)?;
        }
        Ok(Self::from_parsed(parsed))
    }

    /// The calendar files shipped with Otklik (`rules/calendar/*.toml`, compiled in), Moscow
    /// time, default office hours.
    pub fn embedded() -> Self {
        #[allow(clippy::expect_used)]
        Self::from_sources(load::EMBEDDED).expect("the embedded calendar files are valid (tested)")
    }

    /// Only the fallback rules (weekends and the statutory holidays, no transfers): for tests and
    /// for years without a file.
    pub fn statutory() -> Self {
        Self::from_parsed(Parsed::default())
    }

    fn from_parsed(parsed: Parsed) -> Self {
        Self {
            marks: parsed.marks,
            shortened: parsed.shortened.into_keys().collect(),
            years: parsed.years.into_keys().collect(),
            utc_offset_minutes: 180,
            office: OfficeHours::default(),
        }
    }

    /// The same calendar in another time zone, given in whole hours east of UTC (Moscow +3,
    /// Yekaterinburg +5, Vladivostok +10, Kaliningrad +2).
    pub fn with_utc_offset_hours(self, hours: i32) -> Result<Self, CalendarError> {
        self.with_utc_offset_minutes(hours.saturating_mul(60))
    }

    /// The same calendar in another time zone, in minutes east of UTC (−720…+840).
    pub fn with_utc_offset_minutes(mut self, minutes: i32) -> Result<Self, CalendarError> {
        if !(-720..=840).contains(&minutes) {
            return Err(CalendarError::InvalidOffset { minutes });
        }
        self.utc_offset_minutes = minutes;
        Ok(self)
    }

    /// The same calendar with other office hours.
    pub fn with_office_hours(mut self, office: OfficeHours) -> Self {
        self.office = office;
        self
    }

    /// The region's offset from UTC, minutes.
    pub fn utc_offset_minutes(&self) -> i32 {
        self.utc_offset_minutes
    }

    /// The office hours.
    pub fn office_hours(&self) -> OfficeHours {
        self.office
    }

    /// Years defined by calendar files, ascending.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Whether `year` is defined by a calendar file (otherwise the fallback rules apply).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// What `date` is.
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let kind = if self.years.contains(&date.year()) {
            match self.marks.get(&date) {
                Some(Mark::Holiday) => DayKind::Holiday,
                Some(Mark::DayOff) => DayKind::DayOff,
                Some(Mark::WorkingWeekend) => DayKind::Working,
                None if weekend => DayKind::Weekend,
                None => DayKind::Working,
            }
        } else if is_statutory_holiday(date) {
            DayKind::Holiday
        } else if weekend {
            DayKind::Weekend
        } else {
            DayKind::Working
        };
        if kind == DayKind::Working && self.shortened.contains(&date) {
            DayKind::Shortened
        } else {
            kind
        }
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_kind(date).is_working()
    }

    /// The first working day strictly after `date` (`None` only at the end of representable time).
    pub fn next_working_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date;
        loop {
            d = d.succ_opt()?;
            if self.is_working_day(d) {
                return Some(d);
            }
        }
    }

    /// Working days in `year` (for checks against the official totals).
    pub fn working_days_in_year(&self, year: i32) -> u32 {
        let Some(mut d) = NaiveDate::from_ymd_opt(year, 1, 1) else {
            return 0;
        };
        let mut n = 0;
        while d.year() == year {
            n += u32::from(self.is_working_day(d));
            match d.succ_opt() {
                Some(next) => d = next,
                None => break,
            }
        }
        n
    }

    /// The local date (in the region's time zone) of an instant.
    pub fn local_date(&self, at: Timestamp) -> NaiveDate {
        let local = at.millis().saturating_add(self.offset_ms());
        let days = local.div_euclid(Timestamp::DAY_MS);
        i32::try_from(days + EPOCH_DAYS_FROM_CE)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .unwrap_or(if days < 0 {
                NaiveDate::MIN
            } else {
                NaiveDate::MAX
            })
    }

    /// The instant of local `minute` (since midnight) on `date`.
    pub fn local_instant(&self, date: NaiveDate, minute: u16) -> Timestamp {
        let days = i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE;
        Timestamp(days * Timestamp::DAY_MS + i64::from(minute) * MINUTE_MS - self.offset_ms())
    }

    /// Office hours of `date` as instants `[open, close)`, or `None` on a non-working day.
    pub fn office_interval(&self, date: NaiveDate) -> Option<(Timestamp, Timestamp)> {
        let close = match self.day_kind(date) {
            DayKind::Working => self.office.close_minute,
            DayKind::Shortened => self.office.shortened_close_minute(),
            _ => return None,
        };
        Some((
            self.local_instant(date, self.office.open_minute),
            self.local_instant(date, close),
        ))
    }

    /// The deadline of a term of `days` working days registered at `from`: the close of office
    /// hours on the `days`-th working day after the registration day (see the type's docs).
    pub fn add_working_days(&self, from: Timestamp, days: u32) -> Timestamp {
        let mut date = self.local_date(from);
        if days == 0 && self.is_working_day(date) {
            return self.close_of(date);
        }
        let mut left = days.max(1);
        while left > 0 {
            match self.next_working_day(date) {
                Some(d) => date = d,
                None => return Timestamp(i64::MAX),
            }
            left -= 1;
        }
        self.close_of(date)
    }

    fn close_of(&self, date: NaiveDate) -> Timestamp {
        self.office_interval(date)
            .map_or(Timestamp(i64::MAX), |(_, close)| close)
    }

    /// The instant when `hours` working hours have passed since `from` (first public reply to a
    /// social-network incident within N working hours).
    pub fn add_working_hours(&self, from: Timestamp, hours: u32) -> Timestamp {
        self.add_working_ms(from, i64::from(hours) * Timestamp::HOUR_MS)
    }

    /// The instant when `ms` working milliseconds have passed since `from`. `ms ≤ 0` gives `from`.
    pub fn add_working_ms(&self, from: Timestamp, ms: i64) -> Timestamp {
        if ms <= 0 {
            return from;
        }
        let mut left = ms;
        let mut date = self.local_date(from);
        loop {
            if let Some((open, close)) = self.office_interval(date) {
                let start = open.max(from);
                if start < close {
                    let available = close.millis() - start.millis();
                    if left <= available {
                        return Timestamp(start.millis() + left);
                    }
                    left -= available;
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => return Timestamp(i64::MAX),
            }
        }
    }

    /// Working milliseconds in `[a, b)`; zero when `b ≤ a`.
    pub fn working_ms_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        if b <= a {
            return 0;
        }
        let last = self.local_date(b);
        let mut date = self.local_date(a);
        let mut total = 0i64;
        loop {
            if let Some((open, close)) = self.office_interval(date) {
                let start = open.max(a);
                let end = close.min(b);
                if start < end {
                    total += end.millis() - start.millis();
                }
            }
            if date >= last {
                return total;
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => return total,
            }
        }
    }

    /// Working days from the local date of `now` to the local date of `deadline`, both
    /// included (zero when the deadline's day is already past).
    pub fn working_days_until(&self, now: Timestamp, deadline: Timestamp) -> u32 {
        let mut date = self.local_date(now);
        let last = self.local_date(deadline);
        let mut n = 0u32;
        while date <= last {
            n = n.saturating_add(u32::from(self.is_working_day(date)));
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        n
    }

    fn offset_ms(&self) -> i64 {
        i64::from(self.utc_offset_minutes) * MINUTE_MS
    }
}

/// The public holidays of art. 112 of the Labour Code (used for years without a file).
fn is_statutory_holiday(date: NaiveDate) -> bool {
    matches!(
        (date.month(), date.day()),
        (1, 1..=8) | (2, 23) | (3, 8) | (5, 1) | (5, 9) | (6, 12) | (11, 4)
    )
}
