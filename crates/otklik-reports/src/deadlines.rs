//! Deadline compliance per executor organisation, and the late answers by body.
//!
//! For every message registered in the period, by its executor:
//!
//! - **answered on time** — the answer went out (`answered_at`) at or before the deadline in
//!   force (`deadline_at`, which a postponement moves); **answered late** — after it;
//! - **open, overdue** — not answered, still in the workflow, the deadline passed and the
//!   clock not paused (a message waiting for the citizen's clarification is not overdue);
//!   **open in time** — the rest of the open ones;
//! - **postponed** — the deadline was postponed at least once; **rejected** — rejected by the
//!   moderator (outside the compliance share);
//! - **compliance** — answered on time among those answered or overdue, in percent, with its
//!   zone (green 80–100 %, yellow 50–80 %, red below);
//! - **response time** — from registration to the answer in **working days** of the
//!   production calendar ([`otklik_calendar::Calendar::working_ms_between`] divided by the
//!   length of a full office day; pauses for clarification included): mean and median.
//!
//! The late answers list every message answered late or open and overdue, with how late in
//! working days (from the deadline to the answer, or to now) and calendar days.

use std::collections::BTreeMap;

use otklik_calendar::Calendar;
use otklik_domain::{MessageId, MessageRecord, MessageStatus, OrganisationId, Timestamp};

use crate::feed::for_each_record;
use crate::names::Names;
use crate::period::day_label;
use crate::table::{Cell, Table};
use crate::zone::{ZoneThresholds, percent};
use crate::{Period, Result, Scope};

const DAY_MS: f64 = 86_400_000.0;

/// Where a message stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineState {
    /// Answered at or before the deadline.
    OnTime,
    /// Answered after the deadline.
    Late,
    /// Not answered, in the workflow, deadline not passed (or the clock is paused).
    Open,
    /// Not answered, in the workflow, deadline passed.
    Overdue,
    /// Rejected by the moderator.
    Rejected,
    /// Closed without an answer.
    ClosedUnanswered,
}

/// The state of `r` at `now`.
pub fn deadline_state(r: &MessageRecord, now: Timestamp) -> DeadlineState {
    let m = &r.message;
    if let Some(answered) = r.answered_at {
        return if answered <= m.deadline_at {
            DeadlineState::OnTime
        } else {
            DeadlineState::Late
        };
    }
    match m.status {
        MessageStatus::Rejected => DeadlineState::Rejected,
        s if s.is_final() || matches!(s, MessageStatus::Answered | MessageStatus::Rated) => {
            DeadlineState::ClosedUnanswered
        }
        MessageStatus::Clarification => DeadlineState::Open,
        _ if r.clock_paused_at.is_some() => DeadlineState::Open,
        _ if now > m.deadline_at => DeadlineState::Overdue,
        _ => DeadlineState::Open,
    }
}

/// Working days between two instants (the working time divided by a full office day).
pub fn working_days(cal: &Calendar, from: Timestamp, to: Timestamp) -> f64 {
    let day = cal.office_hours().day_ms().max(1);
    cal.working_ms_between(from, to) as f64 / day as f64
}

/// One executor's deadline figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeadlineRow {
    /// The executor (`None`: not routed yet).
    pub executor: Option<OrganisationId>,
    /// Messages registered in the period.
    pub messages: u64,
    /// Answered on time.
    pub on_time: u64,
    /// Answered late.
    pub late: u64,
    /// Open, deadline not passed.
    pub open: u64,
    /// Open, deadline passed.
    pub overdue: u64,
    /// Deadline postponed at least once.
    pub postponed: u64,
    /// Rejected.
    pub rejected: u64,
    /// Response times of the answered ones, working days.
    pub response_days: Vec<f64>,
}

impl DeadlineRow {
    /// Answered on time among answered and overdue, percent.
    pub fn compliance(&self) -> Option<f64> {
        percent(self.on_time, self.on_time + self.late + self.overdue)
    }

    /// Mean response time, working days.
    pub fn mean_response_days(&self) -> Option<f64> {
        let n = self.response_days.len();
        (n > 0).then(|| self.response_days.iter().sum::<f64>() / n as f64)
    }

    /// Median response time, working days.
    pub fn median_response_days(&self) -> Option<f64> {
        let mut v = self.response_days.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        Some(if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        })
    }

    fn add(&mut self, r: &MessageRecord, state: DeadlineState, cal: &Calendar) {
        self.messages += 1;
        if r.postponements > 0 {
            self.postponed += 1;
        }
        match state {
            DeadlineState::OnTime => self.on_time += 1,
            DeadlineState::Late => self.late += 1,
            DeadlineState::Open => self.open += 1,
            DeadlineState::Overdue => self.overdue += 1,
            DeadlineState::Rejected => self.rejected += 1,
            DeadlineState::ClosedUnanswered => {}
        }
        if let Some(answered) = r.answered_at {
            self.response_days
                .push(working_days(cal, r.message.created_at, answered));
        }
    }
}

/// Deadline compliance per executor.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineReport {
    /// The period of registration.
    pub period: Period,
    /// When overdue was judged.
    pub now: Timestamp,
    /// One row per executor, by executor id (unrouted first).
    pub rows: Vec<DeadlineRow>,
    /// Everything together.
    pub total: DeadlineRow,
    /// Zones of the compliance share.
    pub zones: ZoneThresholds,
}

/// Accumulates a [`DeadlineReport`] one message at a time.
#[derive(Debug)]
pub struct DeadlineBuilder<'a> {
    cal: &'a Calendar,
    report: DeadlineReport,
    groups: BTreeMap<Option<OrganisationId>, DeadlineRow>,
}

impl<'a> DeadlineBuilder<'a> {
    /// An empty report of `period` judged at `now`.
    pub fn new(cal: &'a Calendar, period: Period, now: Timestamp) -> Self {
        Self {
            cal,
            report: DeadlineReport {
                period,
                now,
                rows: Vec::new(),
                total: DeadlineRow::default(),
                zones: ZoneThresholds::default(),
            },
            groups: BTreeMap::new(),
        }
    }

    /// Counts `r` when registered in the period.
    pub fn add(&mut self, r: &MessageRecord) {
        if !self.report.period.contains(r.message.created_at) {
            return;
        }
        let state = deadline_state(r, self.report.now);
        let executor = r.message.executor;
        self.report.total.add(r, state, self.cal);
        self.groups
            .entry(executor)
            .or_insert_with(|| DeadlineRow {
                executor,
                ..DeadlineRow::default()
            })
            .add(r, state, self.cal);
    }

    /// The report.
    pub fn finish(mut self) -> DeadlineReport {
        self.report.rows = self.groups.into_values().collect();
        self.report
    }
}

impl DeadlineReport {
    /// Compliance of `records` registered in `period`, judged at `now`.
    pub fn build<'r>(
        cal: &Calendar,
        records: impl IntoIterator<Item = &'r MessageRecord>,
        period: Period,
        now: Timestamp,
    ) -> Self {
        let mut b = DeadlineBuilder::new(cal, period, now);
        for r in records {
            b.add(r);
        }
        b.finish()
    }

    /// The report as a table: one row per organisation (by name), a last «Итого» row.
    pub fn table(&self, names: &Names) -> Table {
        let mut table = Table::new(
            "Соблюдение сроков",
            &[
                "Организация",
                "Тип",
                "Сообщений",
                "В срок",
                "С нарушением срока",
                "Открыто, срок не истёк",
                "Открыто, просрочено",
                "Срок продлён",
                "Отклонено",
                "Исполнено в срок, %",
                "Зона",
                "Среднее время ответа, раб. дн.",
                "Медиана, раб. дн.",
            ],
        );
        let cells = |row: &DeadlineRow, name: String, kind: String| {
            let compliance = row.compliance();
            vec![
                Cell::Text(name),
                Cell::Text(kind),
                Cell::count(row.messages),
                Cell::count(row.on_time),
                Cell::count(row.late),
                Cell::count(row.open),
                Cell::count(row.overdue),
                Cell::count(row.postponed),
                Cell::count(row.rejected),
                Cell::num(compliance, 1),
                Cell::text(
                    compliance
                        .map(|c| self.zones.zone(c).label_ru())
                        .unwrap_or_default(),
                ),
                Cell::num(row.mean_response_days(), 1),
                Cell::num(row.median_response_days(), 1),
            ]
        };
        let mut rows: Vec<&DeadlineRow> = self.rows.iter().collect();
        rows.sort_by_key(|r| names.organisation(r.executor));
        for row in rows {
            table.push(cells(
                row,
                names.organisation(row.executor),
                names.organisation_kind(row.executor),
            ));
        }
        table.push(cells(&self.total, "Итого".into(), String::new()));
        table
    }
}

/// One late message.
#[derive(Debug, Clone, PartialEq)]
pub struct LateMessage {
    /// The message.
    pub id: MessageId,
    /// Its executor.
    pub executor: Option<OrganisationId>,
    /// Subcategory code.
    pub subcategory: String,
    /// Registered.
    pub created_at: Timestamp,
    /// The deadline in force.
    pub deadline_at: Timestamp,
    /// When answered (`None`: still open).
    pub answered_at: Option<Timestamp>,
    /// How late, working days (to the answer, or to now).
    pub working_days_late: f64,
    /// How late, calendar days.
    pub days_late: f64,
    /// Times the deadline was postponed.
    pub postponements: i64,
}

/// Late answers (and overdue open messages) by executor.
#[derive(Debug, Clone, PartialEq)]
pub struct LateReport {
    /// The period of registration.
    pub period: Period,
    /// When overdue was judged.
    pub now: Timestamp,
    /// The late messages.
    pub messages: Vec<LateMessage>,
}

impl LateReport {
    /// An empty report.
    pub fn new(period: Period, now: Timestamp) -> Self {
        Self {
            period,
            now,
            messages: Vec::new(),
        }
    }

    /// Notes `r` when registered in the period and answered late or overdue.
    pub fn add(&mut self, cal: &Calendar, r: &MessageRecord) {
        let m = &r.message;
        if !self.period.contains(m.created_at) {
            return;
        }
        let until = match deadline_state(r, self.now) {
            DeadlineState::Late => r.answered_at.unwrap_or(self.now),
            DeadlineState::Overdue => self.now,
            _ => return,
        };
        self.messages.push(LateMessage {
            id: m.id,
            executor: m.executor,
            subcategory: m.subcategory.0.clone(),
            created_at: m.created_at,
            deadline_at: m.deadline_at,
            answered_at: r.answered_at,
            working_days_late: working_days(cal, m.deadline_at, until),
            days_late: (until.millis() - m.deadline_at.millis()) as f64 / DAY_MS,
            postponements: r.postponements,
        });
    }

    /// Late messages of `records` registered in `period`, judged at `now`.
    pub fn build<'r>(
        cal: &Calendar,
        records: impl IntoIterator<Item = &'r MessageRecord>,
        period: Period,
        now: Timestamp,
    ) -> Self {
        let mut report = Self::new(period, now);
        for r in records {
            report.add(cal, r);
        }
        report
    }

    /// Late messages per executor: `(executor, count)`, most first.
    pub fn counts(&self) -> Vec<(Option<OrganisationId>, u64)> {
        let mut counts: BTreeMap<Option<OrganisationId>, u64> = BTreeMap::new();
        for m in &self.messages {
            *counts.entry(m.executor).or_default() += 1;
        }
        let mut v: Vec<_> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// The list as a table: by organisation name, then the latest first.
    pub fn table(&self, names: &Names) -> Table {
        let mut table = Table::new(
            "Нарушения сроков",
            &[
                "Организация",
                "Сообщение",
                "Подкатегория",
                "Зарегистрировано",
                "Срок",
                "Ответ",
                "Просрочка, раб. дн.",
                "Просрочка, дн.",
                "Продлений срока",
            ],
        );
        let mut rows: Vec<(String, &LateMessage)> = self
            .messages
            .iter()
            .map(|m| (names.organisation(m.executor), m))
            .collect();
        rows.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then(b.1.days_late.total_cmp(&a.1.days_late))
                .then(a.1.id.cmp(&b.1.id))
        });
        for (name, m) in rows {
            table.push(vec![
                Cell::Text(name),
                Cell::Int(m.id.get()),
                Cell::Text(names.subcategory(&m.subcategory)),
                Cell::Text(day_label(m.created_at.millis())),
                Cell::Text(day_label(m.deadline_at.millis())),
                Cell::Text(
                    m.answered_at
                        .map_or_else(|| "не дан".to_owned(), |a| day_label(a.millis())),
                ),
                Cell::Num(m.working_days_late, 1),
                Cell::Num(m.days_late, 1),
                Cell::Int(m.postponements),
            ]);
        }
        table
    }
}

/// Deadline compliance of the store's messages registered in `period`, judged at `now`;
/// reads the messages a page at a time (`progress` gets the number read so far).
pub async fn deadlines(
    store: &otklik_store::Store,
    cal: &Calendar,
    period: Period,
    now: Timestamp,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<DeadlineReport> {
    deadlines_in(store, cal, period, now, &Scope::All, progress).await
}

/// [`deadlines`] of the messages whose executor is in `scope`.
pub async fn deadlines_in(
    store: &otklik_store::Store,
    cal: &Calendar,
    period: Period,
    now: Timestamp,
    scope: &Scope,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<DeadlineReport> {
    let mut b = DeadlineBuilder::new(cal, period, now);
    for_each_record(store, period, crate::feed::PAGE, progress, |r| {
        if scope.allows(r.message.executor) {
            b.add(r);
        }
    })
    .await?;
    Ok(b.finish())
}

/// The late answers of the store's messages registered in `period`, judged at `now`.
pub async fn late_answers(
    store: &otklik_store::Store,
    cal: &Calendar,
    period: Period,
    now: Timestamp,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<LateReport> {
    late_answers_in(store, cal, period, now, &Scope::All, progress).await
}

/// [`late_answers`] of the messages whose executor is in `scope`.
pub async fn late_answers_in(
    store: &otklik_store::Store,
    cal: &Calendar,
    period: Period,
    now: Timestamp,
    scope: &Scope,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<LateReport> {
    let mut report = LateReport::new(period, now);
    for_each_record(store, period, crate::feed::PAGE, progress, |r| {
        if scope.allows(r.message.executor) {
            report.add(cal, r);
        }
    })
    .await?;
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use otklik_domain::{Channel, Message, SubcategoryId, TerritoryId};

    use super::*;

    /// Monday 2026-10-12 09:00 Moscow (06:00 UTC).
    const MON: i64 = 1_791_784_800_000;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;

    fn record(
        id: i64,
        executor: Option<i64>,
        status: MessageStatus,
        deadline_days: i64,
        answered_after_days: Option<i64>,
    ) -> MessageRecord {
        let mut r = MessageRecord::new(Message {
            id: MessageId(id),
            status,
            version: 1,
            channel: Channel::Widget,
            subcategory: SubcategoryId("roads.potholes".into()),
            territory: Some(TerritoryId(1)),
            executor: executor.map(OrganisationId),
            submitted_via: None,
            author: None,
            author_handle: None,
            source_post: None,
            text: "Яма".into(),
            address: None,
            confidence_pm: None,
            rating: None,
            created_at: Timestamp(MON),
            deadline_at: Timestamp(MON + deadline_days * DAY),
            updated_at: Timestamp(MON),
        });
        r.answered_at = answered_after_days.map(|d| Timestamp(MON + d * DAY));
        r
    }

    fn sample() -> Vec<MessageRecord> {
        let mut postponed = record(3, Some(1), MessageStatus::Closed, 10, Some(12));
        postponed.postponements = 1;
        vec![
            // Answered on day 2 of 5: on time; 2 working days (Mon 09:00 → Wed 09:00).
            record(1, Some(1), MessageStatus::Answered, 5, Some(2)),
            // Answered on day 7 of 5: late by 2 calendar days.
            record(2, Some(1), MessageStatus::Rated, 5, Some(7)),
            postponed,
            // Open, deadline in 30 days: open in time.
            record(4, Some(2), MessageStatus::Execution, 30, None),
            // Open, deadline passed 5 days ago (now = MON + 10 days): overdue.
            record(5, Some(2), MessageStatus::Execution, 5, None),
            // Waiting for the citizen: not overdue though past the deadline.
            record(6, Some(2), MessageStatus::Clarification, 5, None),
            record(7, Some(2), MessageStatus::Rejected, 5, None),
            record(8, None, MessageStatus::Moderation, 30, None),
        ]
    }

    fn now() -> Timestamp {
        Timestamp(MON + 10 * DAY)
    }

    #[test]
    fn compliance_per_executor() {
        let cal = Calendar::embedded();
        let records = sample();
        let r = DeadlineReport::build(&cal, &records, Period::ALL, now());
        assert_eq!(r.rows.len(), 3);
        let unrouted = &r.rows[0];
        assert_eq!(unrouted.executor, None);
        assert_eq!((unrouted.messages, unrouted.open), (1, 1));
        let first = &r.rows[1];
        assert_eq!(first.executor, Some(OrganisationId(1)));
        assert_eq!(
            (first.messages, first.on_time, first.late, first.postponed),
            (3, 1, 2, 1)
        );
        assert!((first.compliance().unwrap() - 100.0 / 3.0).abs() < 1e-9);
        let second = &r.rows[2];
        assert_eq!(
            (second.open, second.overdue, second.rejected, second.on_time),
            (2, 1, 1, 0)
        );
        assert_eq!(second.compliance(), Some(0.0));
        assert_eq!(second.mean_response_days(), None);
        // Response times: 2 working days, 7 calendar days = 5 working days (Mon → next
        // Mon), 12 calendar days = Mon → Sat after next = 10 working days (Sat not working).
        let mut days = first.response_days.clone();
        days.sort_by(f64::total_cmp);
        assert_eq!(days.len(), 3);
        assert!((days[0] - 2.0).abs() < 1e-9, "{days:?}");
        assert!((days[1] - 5.0).abs() < 1e-9, "{days:?}");
        assert!((days[2] - 10.0).abs() < 1e-9, "{days:?}");
        assert!((first.median_response_days().unwrap() - 5.0).abs() < 1e-9);
        assert!((first.mean_response_days().unwrap() - 17.0 / 3.0).abs() < 1e-9);
        assert_eq!(r.total.messages, 8);
        assert_eq!(r.total.overdue, 1);
        // Outside the period: nothing.
        let later = Period {
            since: Some(MON + DAY),
            until: None,
        };
        assert_eq!(
            DeadlineReport::build(&cal, &records, later, now())
                .total
                .messages,
            0
        );
    }

    #[test]
    fn late_answers_by_body() {
        let cal = Calendar::embedded();
        let records = sample();
        let r = LateReport::build(&cal, &records, Period::ALL, now());
        let ids: Vec<i64> = r.messages.iter().map(|m| m.id.get()).collect();
        assert_eq!(ids, vec![2, 3, 5]);
        let late = &r.messages[0];
        assert!((late.days_late - 2.0).abs() < 1e-9);
        let overdue = &r.messages[2];
        assert_eq!(overdue.answered_at, None);
        assert!((overdue.days_late - 5.0).abs() < 1e-9);
        assert_eq!(
            r.counts(),
            vec![(Some(OrganisationId(1)), 2), (Some(OrganisationId(2)), 1)]
        );
        let names = Names::default();
        let t = r.table(&names);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0][0], Cell::text("Организация № 1"));
        // The later one first within a body.
        assert_eq!(t.rows[0][1], Cell::Int(2));
        assert_eq!(t.rows[2][5], Cell::text("не дан"));
        let _ = HOUR;
    }

    #[test]
    fn working_days_follow_the_calendar() {
        let cal = Calendar::embedded();
        // Friday 09:00 → Monday 09:00: one working day.
        let fri = MON - 3 * DAY;
        assert!((working_days(&cal, Timestamp(fri), Timestamp(MON)) - 1.0).abs() < 1e-9);
    }
}
