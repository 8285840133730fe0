//! Working days, hours and the deadline clock against the real production calendar.

use chrono::NaiveDate;
use otklik_calendar::{
    AtRisk, Calendar, CalendarError, ClockError, DayKind, DeadlineClock, DeadlineStatus,
    OfficeHours, Term,
};
use otklik_domain::Timestamp;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn cal() -> Calendar {
    Calendar::embedded()
}

/// A Moscow wall-clock instant.
fn msk(y: i32, m: u32, d: u32, h: u16, min: u16) -> Timestamp {
    cal().local_instant(date(y, m, d), h * 60 + min)
}

/// A UTC wall-clock instant.
fn utc(y: i32, m: u32, d: u32, h: u16, min: u16) -> Timestamp {
    Calendar::statutory()
        .with_utc_offset_minutes(0)
        .expect("offset")
        .local_instant(date(y, m, d), h * 60 + min)
}

const H: i64 = Timestamp::HOUR_MS;

#[test]
fn embedded_calendar_matches_official_yearly_totals() {
    let c = cal();
    assert_eq!(c.years().collect::<Vec<_>>(), vec![2025, 2026, 2027]);
    assert_eq!(c.working_days_in_year(2025), 247);
    assert_eq!(c.working_days_in_year(2026), 247);
    // 247 days of 9 office hours, 4 shortened days an hour shorter.
    let year_2025 = c.working_ms_between(msk(2025, 1, 1, 0, 0), msk(2026, 1, 1, 0, 0));
    assert_eq!(year_2025, (247 * 9 - 4) * H);
    let year_2026 = c.working_ms_between(msk(2026, 1, 1, 0, 0), msk(2027, 1, 1, 0, 0));
    assert_eq!(year_2026, (247 * 9 - 4) * H);
}

#[test]
fn load_from_rules_dir_and_calendar_dir_equals_embedded() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let from_rules = Calendar::load(&root).expect("rules dir");
    let from_calendar = Calendar::load(&root.join("calendar")).expect("calendar dir");
    assert_eq!(from_rules, cal());
    assert_eq!(from_calendar, cal());
}

#[test]
fn day_kinds_of_holidays_transfers_and_shortened_days() {
    let c = cal();
    let cases = [
        (date(2025, 1, 1), DayKind::Holiday),
        (date(2025, 1, 8), DayKind::Holiday),
        (date(2025, 1, 9), DayKind::Working),
        (date(2025, 2, 23), DayKind::Holiday),
        (date(2025, 2, 24), DayKind::Working), // 23 Feb moved to 8 May instead
        (date(2025, 3, 7), DayKind::Shortened),
        (date(2025, 3, 8), DayKind::Holiday),
        (date(2025, 3, 10), DayKind::Working), // 8 March moved to 13 June instead
        (date(2025, 5, 1), DayKind::Holiday),
        (date(2025, 5, 2), DayKind::DayOff),
        (date(2025, 5, 8), DayKind::DayOff),
        (date(2025, 5, 9), DayKind::Holiday),
        (date(2025, 6, 12), DayKind::Holiday),
        (date(2025, 6, 13), DayKind::DayOff),
        (date(2025, 11, 1), DayKind::Shortened), // working Saturday, pre-holiday
        (date(2025, 11, 3), DayKind::DayOff),
        (date(2025, 11, 4), DayKind::Holiday),
        (date(2025, 12, 31), DayKind::DayOff),
        (date(2025, 12, 27), DayKind::Weekend),
        (date(2026, 1, 9), DayKind::DayOff),
        (date(2026, 1, 12), DayKind::Working),
        (date(2026, 3, 9), DayKind::DayOff),
        (date(2026, 5, 8), DayKind::Shortened),
        (date(2026, 5, 11), DayKind::DayOff),
        (date(2027, 11, 13), DayKind::Working),
        (date(2027, 11, 5), DayKind::DayOff),
    ];
    for (d, kind) in cases {
        assert_eq!(c.day_kind(d), kind, "{d}");
        assert_eq!(c.is_working_day(d), kind.is_working(), "{d}");
    }
}

#[test]
fn years_without_a_file_fall_back_to_statutory_holidays() {
    let c = cal();
    assert!(!c.covers(2028));
    assert_eq!(c.day_kind(date(2028, 1, 3)), DayKind::Holiday);
    assert_eq!(c.day_kind(date(2028, 6, 12)), DayKind::Holiday);
    assert_eq!(c.day_kind(date(2028, 6, 13)), DayKind::Working);
    assert_eq!(c.day_kind(date(2028, 6, 17)), DayKind::Weekend);
}

#[test]
fn working_days_skip_weekends() {
    let c = cal();
    // Friday 14 Feb 2025 → Monday 17 Feb is day 1.
    assert_eq!(
        c.add_working_days(msk(2025, 2, 14, 10, 0), 1),
        msk(2025, 2, 17, 18, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2025, 2, 14, 10, 0), 2),
        msk(2025, 2, 18, 18, 0)
    );
    // Registered on a Saturday: the Saturday does not count either.
    assert_eq!(
        c.add_working_days(msk(2025, 2, 15, 10, 0), 1),
        msk(2025, 2, 17, 18, 0)
    );
    // A typical 30-day term from the first working day of 2025.
    assert_eq!(
        c.add_working_days(msk(2025, 1, 9, 11, 0), 30),
        msk(2025, 2, 20, 18, 0)
    );
}

#[test]
fn registration_day_never_counts_whatever_the_hour() {
    let c = cal();
    for (h, m) in [(0, 0), (8, 59), (9, 0), (17, 59), (18, 0), (23, 59)] {
        assert_eq!(
            c.add_working_days(msk(2025, 2, 17, h, m), 1),
            msk(2025, 2, 18, 18, 0),
            "{h}:{m}"
        );
    }
    // Zero days: the close of the registration day when it works, else of the next working day.
    assert_eq!(
        c.add_working_days(msk(2025, 2, 17, 10, 0), 0),
        msk(2025, 2, 17, 18, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2025, 2, 15, 10, 0), 0),
        msk(2025, 2, 17, 18, 0)
    );
}

#[test]
fn working_days_across_new_year_holidays() {
    let c = cal();
    // 31 Dec 2025 is a transferred day off, 1–11 Jan 2026 are holidays and days off.
    assert_eq!(
        c.add_working_days(msk(2025, 12, 30, 10, 0), 1),
        msk(2026, 1, 12, 18, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2025, 12, 29, 10, 0), 2),
        msk(2026, 1, 12, 18, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2025, 1, 3, 10, 0), 0),
        msk(2025, 1, 9, 18, 0)
    );
}

#[test]
fn working_days_across_march_may_june_and_november_holidays() {
    let c = cal();
    // 8 March 2025 (Saturday): the Friday before is shortened, closing at 17:00.
    assert_eq!(
        c.add_working_days(msk(2025, 3, 6, 10, 0), 1),
        msk(2025, 3, 7, 17, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2025, 3, 7, 10, 0), 5),
        msk(2025, 3, 14, 18, 0)
    );
    // 8 March 2026 (Sunday) moves to Monday 9 March.
    assert_eq!(
        c.add_working_days(msk(2026, 3, 6, 10, 0), 1),
        msk(2026, 3, 10, 18, 0)
    );
    // 1 May 2025: 1–4 May off, then 8–11 May off.
    assert_eq!(
        c.add_working_days(msk(2025, 4, 30, 10, 0), 3),
        msk(2025, 5, 7, 18, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2025, 4, 30, 10, 0), 4),
        msk(2025, 5, 12, 18, 0)
    );
    // 9 May 2026 (Saturday) moves to Monday 11 May.
    assert_eq!(
        c.add_working_days(msk(2026, 5, 8, 10, 0), 1),
        msk(2026, 5, 12, 18, 0)
    );
    // 12 June 2025 (Thursday) and the transferred 13 June.
    assert_eq!(
        c.add_working_days(msk(2025, 6, 11, 10, 0), 1),
        msk(2025, 6, 16, 18, 0)
    );
    // 23 Feb 2026 (Monday).
    assert_eq!(
        c.add_working_days(msk(2026, 2, 20, 10, 0), 1),
        msk(2026, 2, 24, 18, 0)
    );
    // 4 Nov 2025: Saturday 1 Nov is a (shortened) working day, 2–4 Nov off.
    assert_eq!(
        c.add_working_days(msk(2025, 10, 31, 10, 0), 1),
        msk(2025, 11, 1, 17, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2025, 10, 31, 10, 0), 2),
        msk(2025, 11, 5, 18, 0)
    );
    // 4 Nov 2026 (Wednesday) alone; the Tuesday before is shortened.
    assert_eq!(
        c.add_working_days(msk(2026, 11, 2, 10, 0), 1),
        msk(2026, 11, 3, 17, 0)
    );
    assert_eq!(
        c.add_working_days(msk(2026, 11, 3, 10, 0), 1),
        msk(2026, 11, 5, 18, 0)
    );
}

#[test]
fn working_days_use_the_regions_local_date() {
    // Monday 3 March 2025, 23:30 UTC: Tuesday 09:30 in Vladivostok (+10), 02:30 in Moscow.
    let at = utc(2025, 3, 3, 23, 30);
    let vladivostok = cal().with_utc_offset_hours(10).expect("offset");
    assert_eq!(vladivostok.local_date(at), date(2025, 3, 4));
    // Vladivostok: day 1 is Wednesday, closing 18:00 local = 08:00 UTC.
    assert_eq!(vladivostok.add_working_days(at, 1), utc(2025, 3, 5, 8, 0));
    // Moscow: local date is Tuesday as well; 18:00 MSK = 15:00 UTC.
    assert_eq!(cal().add_working_days(at, 1), utc(2025, 3, 5, 15, 0));
    // Kaliningrad (+2) at 21:30 UTC Monday is still Monday 23:30 local.
    let kaliningrad = cal().with_utc_offset_hours(2).expect("offset");
    assert_eq!(
        kaliningrad.add_working_days(utc(2025, 3, 3, 21, 30), 1),
        utc(2025, 3, 4, 16, 0)
    );
    assert!(matches!(
        cal().with_utc_offset_hours(15),
        Err(CalendarError::InvalidOffset { minutes: 900 })
    ));
}

#[test]
fn working_hours_for_social_network_incidents() {
    let c = cal();
    // Friday 16:00 + 4 h → Monday 11:00.
    assert_eq!(
        c.add_working_hours(msk(2025, 2, 14, 16, 0), 4),
        msk(2025, 2, 17, 11, 0)
    );
    // Before opening: the count starts at 09:00.
    assert_eq!(
        c.add_working_hours(msk(2025, 2, 17, 7, 0), 2),
        msk(2025, 2, 17, 11, 0)
    );
    // After closing: the next opening.
    assert_eq!(
        c.add_working_hours(msk(2025, 2, 17, 20, 0), 2),
        msk(2025, 2, 18, 11, 0)
    );
    // Landing exactly on the closing stays there.
    assert_eq!(
        c.add_working_hours(msk(2025, 2, 17, 16, 0), 2),
        msk(2025, 2, 17, 18, 0)
    );
    // Shortened Friday 7 March 2025 closes at 17:00, then 8–9 March off.
    assert_eq!(
        c.add_working_hours(msk(2025, 3, 7, 15, 0), 3),
        msk(2025, 3, 10, 10, 0)
    );
    // Across the New Year holidays.
    assert_eq!(
        c.add_working_hours(msk(2025, 12, 30, 17, 0), 2),
        msk(2026, 1, 12, 10, 0)
    );
    // Zero hours: unchanged.
    assert_eq!(
        c.add_working_hours(msk(2025, 2, 15, 3, 0), 0),
        msk(2025, 2, 15, 3, 0)
    );
}

#[test]
fn working_ms_between_counts_only_office_hours() {
    let c = cal();
    assert_eq!(
        c.working_ms_between(msk(2025, 2, 17, 10, 0), msk(2025, 2, 17, 12, 30)),
        5 * H / 2
    );
    assert_eq!(
        c.working_ms_between(msk(2025, 3, 7, 15, 0), msk(2025, 3, 10, 10, 0)),
        3 * H
    );
    assert_eq!(
        c.working_ms_between(msk(2025, 12, 30, 9, 0), msk(2026, 1, 12, 18, 0)),
        18 * H
    );
    assert_eq!(
        c.working_ms_between(msk(2025, 2, 15, 0, 0), msk(2025, 2, 16, 23, 0)),
        0
    );
    // Reversed or empty intervals are zero.
    assert_eq!(
        c.working_ms_between(msk(2025, 2, 18, 10, 0), msk(2025, 2, 17, 10, 0)),
        0
    );
}

#[test]
fn adding_and_measuring_working_time_agree() {
    let c = cal();
    let starts = [
        msk(2025, 12, 30, 17, 30),
        msk(2025, 4, 30, 8, 0),
        msk(2025, 10, 31, 12, 15),
        msk(2026, 2, 20, 19, 0),
        msk(2025, 6, 11, 16, 59),
    ];
    for a in starts {
        for ms in [1, 60_000, 2 * H, 9 * H, 31 * H + 7, 200 * H] {
            let b = c.add_working_ms(a, ms);
            assert_eq!(c.working_ms_between(a, b), ms, "{a:?} + {ms}");
        }
    }
}

#[test]
fn custom_office_hours_and_their_validation() {
    let office = OfficeHours::new((8, 30), (17, 30)).expect("valid");
    let c = cal().with_office_hours(office);
    assert_eq!(
        c.add_working_days(msk(2025, 3, 6, 10, 0), 1),
        msk(2025, 3, 7, 16, 30)
    );
    assert_eq!(
        c.add_working_hours(msk(2025, 2, 17, 7, 0), 1),
        msk(2025, 2, 17, 9, 30)
    );
    assert!(OfficeHours::new((18, 0), (9, 0)).is_err());
    assert!(
        OfficeHours::new((9, 0), (9, 30)).is_err(),
        "nothing left on a shortened day"
    );
    assert!(OfficeHours::new((9, 60), (18, 0)).is_err());
    assert!(OfficeHours::new((9, 0), (25, 0)).is_err());
}

// ---- loading errors ----

fn load_one(text: &str) -> Result<Calendar, CalendarError> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bad.toml"), text).expect("write");
    Calendar::load(dir.path())
}

fn entry_error(text: &str) -> (usize, usize, String) {
    match load_one(text) {
        Err(e @ CalendarError::Entry { .. }) => {
            let shown = e.to_string();
            let CalendarError::Entry {
                line, column, file, ..
            } = e
            else {
                unreachable!()
            };
            assert!(file.ends_with("bad.toml"), "{}", file.display());
            assert!(
                shown.contains(&format!("bad.toml:{line}:{column}: ")),
                "{shown}"
            );
            (line, column, shown)
        }
        other => panic!("expected an entry error, got {other:?}"),
    }
}

#[test]
fn a_malformed_date_is_reported_with_file_line_and_column() {
    let (line, column, msg) =
        entry_error("year = 2025\nholidays = [\n    \"2025-01-01\",\n    \"2025-13-01\",\n]\n");
    assert_eq!((line, column), (4, 5));
    assert!(msg.contains("2025-13-01"), "{msg}");
}

#[test]
fn contradictory_entries_are_reported() {
    let (line, _, msg) = entry_error("year = 2025\nworking_days = [\"2025-11-03\"]\n");
    assert_eq!(line, 2);
    assert!(msg.contains("Saturday or Sunday"), "{msg}");
    let (line, _, msg) = entry_error("year = 2025\n\ndays_off = [\"2025-11-01\"]\n");
    assert_eq!(line, 3);
    assert!(msg.contains("weekday"), "{msg}");
    let (_, _, msg) = entry_error("year = 2025\nholidays = [\"2024-12-31\"]\n");
    assert!(msg.contains("outside the file's year"), "{msg}");
    let (_, _, msg) =
        entry_error("year = 2025\nholidays = [\"2025-05-02\"]\ndays_off = [\"2025-05-02\"]\n");
    assert!(msg.contains("listed twice"), "{msg}");
    let (line, _, msg) = entry_error("year = 2025\nshortened = [\n\"2025-03-08\"]\n");
    assert_eq!(line, 3);
    assert!(msg.contains("not a working day"), "{msg}");
    let (line, _, _) = entry_error("year = 2025\nholiday = []\n");
    assert_eq!(line, 2);
    let (line, _, _) = entry_error("year = 2025\nholidays = [\n");
    assert!(line >= 2);
    let (line, _, msg) = entry_error("# c\nyear = 1800\n");
    assert_eq!(line, 2);
    assert!(msg.contains("out of range"), "{msg}");
}

#[test]
fn a_year_defined_twice_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.toml"), "year = 2025\n").expect("write");
    std::fs::write(dir.path().join("b.toml"), "\nyear = 2025\n").expect("write");
    let err = Calendar::load(dir.path()).expect_err("duplicate year");
    let shown = err.to_string();
    assert!(
        shown.contains("b.toml:2:") && shown.contains("a.toml"),
        "{shown}"
    );

    let empty = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        Calendar::load(empty.path()),
        Err(CalendarError::NoFiles { .. })
    ));
    assert!(matches!(
        Calendar::load(&empty.path().join("missing")),
        Err(CalendarError::Io { .. })
    ));
}

// ---- the deadline clock ----

#[test]
fn clock_starts_with_the_working_day_deadline_and_fast_tracks_are_shorter() {
    let c = cal();
    let at = msk(2025, 1, 9, 11, 0);
    let normal = DeadlineClock::start(&c, at, Term::WorkingDays(30));
    let fast = DeadlineClock::start(&c, at, Term::WorkingDays(5));
    assert_eq!(normal.deadline(), Some(msk(2025, 2, 20, 18, 0)));
    assert_eq!(fast.deadline(), Some(msk(2025, 1, 16, 18, 0)));
    assert_eq!(normal.original_deadline(), msk(2025, 2, 20, 18, 0));
    assert_eq!(fast.term_ms(), 7 * H + 5 * 9 * H);
    assert_eq!(
        fast.status(&c, at, AtRisk::default()),
        DeadlineStatus::OnTime
    );
    assert_eq!(
        fast.status(&c, msk(2025, 1, 17, 9, 0), AtRisk::default()),
        DeadlineStatus::Overdue
    );
    assert_eq!(
        normal.status(&c, msk(2025, 1, 17, 9, 0), AtRisk::default()),
        DeadlineStatus::OnTime
    );
}

#[test]
fn clock_in_working_hours_for_incidents() {
    let c = cal();
    let clock = DeadlineClock::start(&c, msk(2025, 5, 30, 16, 30), Term::WorkingHours(4));
    assert_eq!(clock.deadline(), Some(msk(2025, 6, 2, 11, 30)));
    assert_eq!(clock.term_ms(), 4 * H);
    // Saturday: nothing of the term is used up.
    assert_eq!(clock.remaining_ms(&c, msk(2025, 5, 31, 12, 0)), 5 * H / 2);
}

#[test]
fn clock_status_thresholds() {
    let c = cal();
    // 10 working days from Monday 22 Dec 2025: the New Year break is skipped → 15 Jan 2026.
    let clock = DeadlineClock::start(&c, msk(2025, 12, 22, 10, 0), Term::WorkingDays(10));
    assert_eq!(clock.deadline(), Some(msk(2026, 1, 15, 18, 0)));
    assert_eq!(clock.term_ms(), 98 * H);
    let s = |now, policy| clock.status(&c, now, policy);
    // 26 h of 98 left, three working days: on time by default.
    assert_eq!(
        s(msk(2026, 1, 13, 10, 0), AtRisk::default()),
        DeadlineStatus::OnTime
    );
    assert_eq!(
        s(msk(2026, 1, 13, 10, 0), AtRisk::last_working_days(3)),
        DeadlineStatus::AtRisk
    );
    // 9 h left (< 20 % of 98 h), still the day before the deadline.
    assert_eq!(
        s(msk(2026, 1, 14, 18, 0), AtRisk::share(20)),
        DeadlineStatus::AtRisk
    );
    assert_eq!(
        s(msk(2026, 1, 14, 18, 0), AtRisk::last_working_days(1)),
        DeadlineStatus::OnTime
    );
    // 27 h left is above 20 %, below 30 %.
    assert_eq!(
        s(msk(2026, 1, 13, 8, 0), AtRisk::share(20)),
        DeadlineStatus::OnTime
    );
    assert_eq!(
        s(msk(2026, 1, 13, 8, 0), AtRisk::share(30)),
        DeadlineStatus::AtRisk
    );
    // The deadline's day: at risk by the last-day rule, even at opening.
    assert_eq!(
        s(msk(2026, 1, 15, 9, 0), AtRisk::last_working_days(1)),
        DeadlineStatus::AtRisk
    );
    assert_eq!(
        s(msk(2026, 1, 15, 12, 0), AtRisk::never()),
        DeadlineStatus::OnTime
    );
    // The deadline instant itself is still in time; one millisecond later is overdue.
    assert_eq!(
        s(msk(2026, 1, 15, 18, 0), AtRisk::default()),
        DeadlineStatus::AtRisk
    );
    let late = Timestamp(msk(2026, 1, 15, 18, 0).millis() + 1);
    assert_eq!(s(late, AtRisk::never()), DeadlineStatus::Overdue);
    assert_eq!(clock.remaining_ms(&c, msk(2026, 1, 16, 10, 0)), -H);
}

#[test]
fn pause_over_new_year_preserves_the_working_time_left() {
    let c = cal();
    let mut clock = DeadlineClock::start(&c, msk(2025, 12, 22, 10, 0), Term::WorkingDays(10));
    let paused_at = msk(2025, 12, 25, 10, 0);
    clock.pause(&c, paused_at).expect("pause");
    assert!(clock.is_paused());
    assert_eq!(clock.deadline(), None);
    // 8 h on the 25th, 26, 29, 30 Dec, 12–15 Jan: 8 + 7 × 9.
    assert_eq!(clock.remaining_ms(&c, msk(2026, 1, 1, 0, 0)), 71 * H);
    assert_eq!(
        clock.status(&c, msk(2026, 3, 1, 0, 0), AtRisk::default()),
        DeadlineStatus::Paused
    );
    let deadline = clock.resume(&c, msk(2026, 1, 13, 10, 0)).expect("resume");
    assert_eq!(deadline, msk(2026, 1, 22, 18, 0));
    assert_eq!(clock.deadline(), Some(deadline));
    assert_eq!(clock.remaining_ms(&c, msk(2026, 1, 13, 10, 0)), 71 * H);
    assert_eq!(clock.pauses().len(), 1);
    assert_eq!(clock.pauses()[0].to, Some(msk(2026, 1, 13, 10, 0)));
    assert_eq!(clock.original_deadline(), msk(2026, 1, 15, 18, 0));
}

#[test]
fn pause_spanning_may_holidays_and_a_shortened_day() {
    let c = cal();
    let mut clock = DeadlineClock::start(&c, msk(2025, 4, 28, 12, 0), Term::WorkingDays(5));
    assert_eq!(clock.deadline(), Some(msk(2025, 5, 7, 18, 0)));
    clock.pause(&c, msk(2025, 4, 29, 12, 0)).expect("pause");
    // 6 h on 29 Apr, 8 h on shortened 30 Apr, 27 h on 5–7 May.
    assert_eq!(clock.pauses()[0].remaining_ms, 41 * H);
    let deadline = clock.resume(&c, msk(2025, 5, 12, 12, 0)).expect("resume");
    assert_eq!(deadline, msk(2025, 5, 16, 17, 0));
}

#[test]
fn pause_during_a_weekend_and_twice() {
    let c = cal();
    let mut clock = DeadlineClock::start(&c, msk(2025, 2, 17, 10, 0), Term::WorkingDays(3));
    assert_eq!(clock.deadline(), Some(msk(2025, 2, 20, 18, 0)));
    // Paused and resumed over a weekend only: nothing changes.
    clock.pause(&c, msk(2025, 2, 18, 18, 0)).expect("pause");
    clock.resume(&c, msk(2025, 2, 19, 8, 0)).expect("resume");
    assert_eq!(clock.deadline(), Some(msk(2025, 2, 20, 18, 0)));
    // A working day of pause moves it one working day.
    clock.pause(&c, msk(2025, 2, 19, 9, 0)).expect("pause");
    clock.resume(&c, msk(2025, 2, 20, 9, 0)).expect("resume");
    assert_eq!(clock.deadline(), Some(msk(2025, 2, 21, 18, 0)));
    assert_eq!(clock.pauses().len(), 2);
}

#[test]
fn a_clock_paused_when_overdue_stays_overdue() {
    let c = cal();
    let mut clock = DeadlineClock::start(&c, msk(2025, 2, 17, 10, 0), Term::WorkingDays(1));
    clock.pause(&c, msk(2025, 2, 19, 10, 0)).expect("pause");
    assert!(clock.pauses()[0].overdue);
    let deadline = clock.resume(&c, msk(2025, 2, 25, 10, 0)).expect("resume");
    assert_eq!(deadline, msk(2025, 2, 18, 18, 0));
    assert_eq!(
        clock.status(&c, msk(2025, 2, 25, 10, 0), AtRisk::default()),
        DeadlineStatus::Overdue
    );
}

#[test]
fn postponement_moves_the_deadline_and_is_kept_in_history() {
    let c = cal();
    let start = msk(2025, 6, 2, 10, 0);
    let mut clock = DeadlineClock::start(&c, start, Term::WorkingDays(5));
    assert_eq!(clock.deadline(), Some(msk(2025, 6, 9, 18, 0)));
    let at = msk(2025, 6, 9, 10, 0);
    assert_eq!(
        clock.status(&c, at, AtRisk::default()),
        DeadlineStatus::AtRisk
    );
    let new = msk(2025, 6, 30, 18, 0);
    clock
        .postpone(
            &c,
            at,
            new,
            "Ремонт возможен только после поставки материалов",
        )
        .expect("postpone");
    assert_eq!(clock.deadline(), Some(new));
    assert_eq!(clock.term_ms(), c.working_ms_between(start, new));
    assert_eq!(
        clock.status(&c, at, AtRisk::default()),
        DeadlineStatus::OnTime
    );
    let p = &clock.postponements()[0];
    assert_eq!((p.at, p.from, p.to), (at, msk(2025, 6, 9, 18, 0), new));
    assert!(p.reason.starts_with("Ремонт"));
    assert_eq!(clock.original_deadline(), msk(2025, 6, 9, 18, 0));
}

#[test]
fn clock_refuses_impossible_moves() {
    let c = cal();
    let mut clock = DeadlineClock::start(&c, msk(2025, 2, 17, 10, 0), Term::WorkingDays(5));
    let deadline = clock.deadline().expect("running");
    assert_eq!(
        clock.resume(&c, msk(2025, 2, 17, 11, 0)),
        Err(ClockError::NotPaused)
    );
    assert!(matches!(
        clock.postpone(&c, msk(2025, 2, 17, 11, 0), deadline, "x"),
        Err(ClockError::NotLater { .. })
    ));
    assert_eq!(
        clock.postpone(&c, msk(2025, 2, 17, 11, 0), deadline.plus_days(3), "  "),
        Err(ClockError::EmptyReason)
    );
    clock.pause(&c, msk(2025, 2, 18, 10, 0)).expect("pause");
    assert_eq!(
        clock.pause(&c, msk(2025, 2, 18, 11, 0)),
        Err(ClockError::AlreadyPaused)
    );
    assert_eq!(
        clock.postpone(
            &c,
            msk(2025, 2, 18, 11, 0),
            deadline.plus_days(3),
            "причина"
        ),
        Err(ClockError::Paused)
    );
    assert!(matches!(
        clock.resume(&c, msk(2025, 2, 18, 9, 0)),
        Err(ClockError::TimeWentBackwards { .. })
    ));
    assert!(clock.postponements().is_empty());
}

#[test]
fn clock_state_round_trips_through_json() {
    let c = cal();
    let mut clock = DeadlineClock::start(&c, msk(2025, 12, 22, 10, 0), Term::WorkingDays(10));
    clock
        .postpone(
            &c,
            msk(2025, 12, 23, 10, 0),
            msk(2026, 1, 30, 18, 0),
            "нужна экспертиза",
        )
        .expect("postpone");
    clock.pause(&c, msk(2025, 12, 24, 10, 0)).expect("pause");
    let json = serde_json::to_string(&clock).expect("serialise");
    let mut back: DeadlineClock = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, clock);
    let a = clock.resume(&c, msk(2026, 1, 12, 9, 0)).expect("resume");
    let b = back.resume(&c, msk(2026, 1, 12, 9, 0)).expect("resume");
    assert_eq!(a, b);
}
