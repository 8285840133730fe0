//! Errors of loading a calendar, configuring it and driving a deadline clock.

use std::path::PathBuf;

use otklik_domain::Timestamp;
use thiserror::Error;

/// A problem with the calendar files or the calendar's settings. Problems in a file's content
/// name the file, line and column (`rules/calendar/2025.toml:17:5: …`).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// A file or folder could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A bad entry: not TOML, wrong shape, a malformed date, a date outside the file's year,
    /// a duplicate, or a day that contradicts the week (a working Saturday that is a Monday…).
    #[error("{}:{line}:{column}: {message}", file.display())]
    Entry {
        /// The file, as named by the caller.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong, in English.
        message: String,
    },
    /// The folder holds no `*.toml` calendar file.
    #[error("{}: no calendar files (*.toml)", dir.display())]
    NoFiles {
        /// The folder.
        dir: PathBuf,
    },
    /// A UTC offset outside −12:00…+14:00 (Russia uses +2…+12).
    #[error("UTC offset of {minutes} minutes is out of range (-720..=840)")]
    InvalidOffset {
        /// The rejected offset.
        minutes: i32,
    },
    /// Office hours that do not make sense (closing before opening, past midnight, or a
    /// shortened day that would have no hours left).
    #[error("invalid office hours: {0}")]
    InvalidOfficeHours(String),
}

/// A deadline clock was driven in a way that does not fit its state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClockError {
    /// `pause` on a clock that is already paused.
    #[error("the deadline clock is already paused")]
    AlreadyPaused,
    /// `resume` on a clock that is running.
    #[error("the deadline clock is not paused")]
    NotPaused,
    /// `postpone` on a paused clock (resume it first).
    #[error("the deadline clock is paused; resume it before postponing")]
    Paused,
    /// An instant earlier than the clock's last event.
    #[error("time went backwards: {at:?} is before the clock's last event {last:?}")]
    TimeWentBackwards {
        /// The instant given.
        at: Timestamp,
        /// The clock's last event.
        last: Timestamp,
    },
    /// A postponement that does not move the deadline later.
    #[error("the new deadline {new:?} is not later than the current one {current:?}")]
    NotLater {
        /// The current deadline.
        current: Timestamp,
        /// The rejected one.
        new: Timestamp,
    },
    /// A postponement without a reason.
    #[error("a postponement needs a reason")]
    EmptyReason,
}
