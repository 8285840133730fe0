//! # otklik-calendar
//!
//! Working time for Otklik's deadlines: the Russian production calendar («производственный
//! календарь») read from `rules/calendar/*.toml` — public holidays, transferred days off,
//! transferred working Saturdays and shortened pre-holiday days — in a region's time zone
//! (Russia has no daylight saving time) with office hours (09:00–18:00 by default, shortened
//! days end an hour earlier).
//!
//! * [`Calendar`] answers whether a date is a working day and does arithmetic in working days
//!   ([`Calendar::add_working_days`]: the deadline is the close of office hours on the N-th
//!   working day after the day of registration), working hours ([`Calendar::add_working_hours`],
//!   for the first public reply to a social-network incident) and working milliseconds
//!   ([`Calendar::working_ms_between`]).
//! * [`DeadlineClock`] is the serialisable deadline state of one message: start, pause while
//!   waiting for the citizen, resume with the remaining working time preserved, postpone with a
//!   reason (kept in history), and [`DeadlineClock::status`] → [`DeadlineStatus`] with a
//!   configurable [`AtRisk`] threshold.
//!
//! The crate is pure: no I/O except reading its TOML in [`Calendar::load`].
//!
//! ```
//! use otklik_calendar::{AtRisk, Calendar, DeadlineClock, DeadlineStatus, Term};
//! use otklik_domain::Timestamp;
//!
//! // Moscow time, the calendar files compiled into the crate.
//! let cal = Calendar::embedded();
//! // Registered on Friday 7 March 2025, 10:00 Moscow (07:00 UTC).
//! let registered = Timestamp(1_741_330_800_000);
//! // 8 March is a Saturday holiday, so day 1 is Monday 10 March; day 5 is Friday 14 March.
//! let deadline = cal.add_working_days(registered, 5);
//! assert_eq!(cal.local_date(deadline).to_string(), "2025-03-14");
//!
//! let mut clock = DeadlineClock::start(&cal, registered, Term::WorkingDays(5));
//! assert_eq!(clock.deadline(), Some(deadline));
//! assert_eq!(clock.status(&cal, registered, AtRisk::default()), DeadlineStatus::OnTime);
//! // Waiting for the citizen's clarification: the clock stops.
//! clock.pause(&cal, registered.plus_hours(1))?;
//! assert_eq!(clock.status(&cal, registered.plus_days(30), AtRisk::default()), DeadlineStatus::Paused);
//! # Ok::<(), otklik_calendar::ClockError>(())
//! ```

mod calendar;
mod clock;
mod error;
mod load;

pub use calendar::{Calendar, DayKind, OfficeHours};
/// The date type of [`Calendar::is_working_day`] and [`Calendar::day_kind`] (from `chrono`).
pub use chrono::NaiveDate;
pub use clock::{AtRisk, DeadlineClock, DeadlineStatus, PauseRecord, Postponement, Term};
pub use error::{CalendarError, ClockError};
