//! The deadline clock of one message: start, pause, resume, postpone, status.

use otklik_domain::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Calendar, ClockError};

/// The length of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// Working days after the day of registration (see [`Calendar::add_working_days`]);
    /// `deadline_days` or `fast_track_days` of a subcategory.
    WorkingDays(u32),
    /// Working hours from the instant of registration (see [`Calendar::add_working_hours`]).
    WorkingHours(u32),
}

impl Term {
    /// The deadline of this term started at `at`.
    pub fn deadline(self, cal: &Calendar, at: Timestamp) -> Timestamp {
        match self {
            Term::WorkingDays(d) => cal.add_working_days(at, d),
            Term::WorkingHours(h) => cal.add_working_hours(at, h),
        }
    }
}

/// When a running clock counts as at risk: when **either** threshold is reached.
/// The default is the last 20 % of the term or the last working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AtRisk {
    /// At risk when the remaining working time is at most this share of the term, percent.
    pub percent_of_term: Option<u8>,
    /// At risk when at most this many working days are left, the current day and the
    /// deadline's day included (1 = on the deadline's day).
    pub last_working_days: Option<u32>,
}

impl Default for AtRisk {
    fn default() -> Self {
        Self {
            percent_of_term: Some(20),
            last_working_days: Some(1),
        }
    }
}

impl AtRisk {
    /// Only the share threshold.
    pub fn share(percent: u8) -> Self {
        Self {
            percent_of_term: Some(percent),
            last_working_days: None,
        }
    }

    /// Only the working-days threshold.
    pub fn last_working_days(days: u32) -> Self {
        Self {
            percent_of_term: None,
            last_working_days: Some(days),
        }
    }

    /// Never at risk (only on time or overdue).
    pub fn never() -> Self {
        Self {
            percent_of_term: None,
            last_working_days: None,
        }
    }
}

/// The state of a deadline at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// Running, with time left above the at-risk threshold.
    OnTime,
    /// Running, inside the at-risk threshold, not yet past the deadline.
    AtRisk,
    /// Past the deadline (strictly after it).
    Overdue,
    /// Stopped, waiting for the citizen.
    Paused,
}

/// One pause of the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRecord {
    /// When the clock stopped.
    pub from: Timestamp,
    /// When it started again (`None` while paused).
    pub to: Option<Timestamp>,
    /// Working milliseconds left when it stopped (zero when already overdue).
    pub remaining_ms: i64,
    /// Whether the deadline had already passed when it stopped (the deadline then stays put).
    pub overdue: bool,
}

/// One postponement of the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Postponement {
    /// When it was decided.
    pub at: Timestamp,
    /// The deadline before.
    pub from: Timestamp,
    /// The deadline after.
    pub to: Timestamp,
    /// Why (shown to the curator and the citizen).
    pub reason: String,
}

/// The deadline state of one message, serialisable (store it as JSON next to the message).
///
/// Time left is counted in **working time** of the [`Calendar`]: a pause keeps the working
/// milliseconds left, and [`DeadlineClock::resume`] puts the deadline that much working time
/// after the resumption, so days off during the pause never eat into the term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineClock {
    started_at: Timestamp,
    original_deadline: Timestamp,
    deadline: Timestamp,
    term_ms: i64,
    last_event: Timestamp,
    pauses: Vec<PauseRecord>,
    postponements: Vec<Postponement>,
}

impl DeadlineClock {
    /// Starts a clock at `at` for `term`.
    pub fn start(cal: &Calendar, at: Timestamp, term: Term) -> Self {
        let deadline = term.deadline(cal, at);
        let term_ms = match term {
            Term::WorkingHours(h) => i64::from(h) * Timestamp::HOUR_MS,
            Term::WorkingDays(_) => cal.working_ms_between(at, deadline),
        };
        Self::with_term_ms(at, deadline, term_ms)
    }

    /// Starts a clock at `at` with an explicit deadline.
    pub fn start_until(cal: &Calendar, at: Timestamp, deadline: Timestamp) -> Self {
        Self::with_term_ms(at, deadline, cal.working_ms_between(at, deadline))
    }

    fn with_term_ms(at: Timestamp, deadline: Timestamp, term_ms: i64) -> Self {
        Self {
            started_at: at,
            original_deadline: deadline,
            deadline,
            term_ms,
            last_event: at,
            pauses: Vec::new(),
            postponements: Vec::new(),
        }
    }

    /// When the clock started.
    pub fn started_at(&self) -> Timestamp {
        self.started_at
    }

    /// The current deadline; `None` while paused (it is fixed on resumption).
    pub fn deadline(&self) -> Option<Timestamp> {
        (!self.is_paused()).then_some(self.deadline)
    }

    /// The deadline set at start, before pauses and postponements.
    pub fn original_deadline(&self) -> Timestamp {
        self.original_deadline
    }

    /// The whole term in working milliseconds (grown by postponements; pauses do not count).
    pub fn term_ms(&self) -> i64 {
        self.term_ms
    }

    /// Whether the clock is stopped.
    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(|p| p.to.is_none())
    }

    /// Every pause, oldest first.
    pub fn pauses(&self) -> &[PauseRecord] {
        &self.pauses
    }

    /// Every postponement, oldest first.
    pub fn postponements(&self) -> &[Postponement] {
        &self.postponements
    }

    fn check_time(&self, at: Timestamp) -> Result<(), ClockError> {
        if at < self.last_event {
            return Err(ClockError::TimeWentBackwards {
                at,
                last: self.last_event,
            });
        }
        Ok(())
    }

    /// Stops the clock at `at` (waiting for the citizen), keeping the working time left.
    pub fn pause(&mut self, cal: &Calendar, at: Timestamp) -> Result<(), ClockError> {
        if self.is_paused() {
            return Err(ClockError::AlreadyPaused);
        }
        self.check_time(at)?;
        let overdue = at > self.deadline;
        self.pauses.push(PauseRecord {
            from: at,
            to: None,
            remaining_ms: if overdue {
                0
            } else {
                cal.working_ms_between(at, self.deadline)
            },
            overdue,
        });
        self.last_event = at;
        Ok(())
    }

    /// Starts the clock again at `at` and returns the new deadline: the working time left at
    /// the pause, counted from `at`. A clock paused when already overdue keeps its deadline.
    pub fn resume(&mut self, cal: &Calendar, at: Timestamp) -> Result<Timestamp, ClockError> {
        if !self.is_paused() {
            return Err(ClockError::NotPaused);
        }
        self.check_time(at)?;
        if let Some(pause) = self.pauses.last_mut() {
            pause.to = Some(at);
            if !pause.overdue {
                self.deadline = cal.add_working_ms(at, pause.remaining_ms).max(at);
            }
        }
        self.last_event = at;
        Ok(self.deadline)
    }

    /// Moves the deadline later to `new_deadline` at `at`, for `reason` (kept in history).
    /// The term grows by the working time added, so the at-risk share follows the new term.
    pub fn postpone(
        &mut self,
        cal: &Calendar,
        at: Timestamp,
        new_deadline: Timestamp,
        reason: impl Into<String>,
    ) -> Result<(), ClockError> {
        if self.is_paused() {
            return Err(ClockError::Paused);
        }
        self.check_time(at)?;
        if new_deadline <= self.deadline {
            return Err(ClockError::NotLater {
                current: self.deadline,
                new: new_deadline,
            });
        }
        let reason = reason.into();
        if reason.trim().is_empty() {
            return Err(ClockError::EmptyReason);
        }
        self.term_ms = self
            .term_ms
            .saturating_add(cal.working_ms_between(self.deadline, new_deadline));
        self.postponements.push(Postponement {
            at,
            from: self.deadline,
            to: new_deadline,
            reason,
        });
        self.deadline = new_deadline;
        self.last_event = at;
        Ok(())
    }

    /// Working milliseconds left at `now`: frozen while paused, negative (working time past the
    /// deadline) when overdue.
    pub fn remaining_ms(&self, cal: &Calendar, now: Timestamp) -> i64 {
        if let Some(p) = self.pauses.last().filter(|p| p.to.is_none()) {
            return p.remaining_ms;
        }
        if now > self.deadline {
            -cal.working_ms_between(self.deadline, now)
        } else {
            cal.working_ms_between(now, self.deadline)
        }
    }

    /// The status at `now` with the `at_risk` threshold.
    pub fn status(&self, cal: &Calendar, now: Timestamp, at_risk: AtRisk) -> DeadlineStatus {
        if self.is_paused() {
            return DeadlineStatus::Paused;
        }
        if now > self.deadline {
            return DeadlineStatus::Overdue;
        }
        let remaining = cal.working_ms_between(now, self.deadline);
        let by_share = at_risk.percent_of_term.is_some_and(|p| {
            i128::from(remaining) * 100 <= i128::from(self.term_ms) * i128::from(p)
        });
        let by_days = at_risk
            .last_working_days
            .is_some_and(|d| cal.working_days_until(now, self.deadline) <= d);
        if by_share || by_days {
            DeadlineStatus::AtRisk
        } else {
            DeadlineStatus::OnTime
        }
    }
}
