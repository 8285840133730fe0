//! The back-office's work queues: messages by status, executor organisations, channel,
//! category and text, a page at a time in `(deadline_at, id)` order.
//!
//! Pages are fetched with keyset cursors ([`QueueFilter::after`], [`QueueFilter::before`]):
//! with the indexes of migration 0011 (`(status, deadline_at, id)`, `(status, channel,
//! deadline_at, id)`, `(executor_id, status, deadline_at, id)`) a page costs a short index
//! range however deep it is, and the total is counted only up to
//! [`QueueFilter::count_limit`] so that a queue of 100,000 messages is not counted row by row
//! on every page view. Text search (`LIKE '%…%'`) cannot use an index and scans the rows the
//! other filters leave.

use otklik_domain::{
    CategoryId, Channel, MessageId, MessageRecord, MessageStatus, OrganisationId, SubcategoryId,
    Timestamp,
};
use sqlx::AssertSqlSafe;

use crate::rows::{self, RECORD_COLS};
use crate::{Result, Store, StoreError};

/// Most rows [`Store::message_queue`] returns at once.
pub const MAX_QUEUE_PAGE: i64 = 200;

/// Which messages [`Store::message_queue`] returns; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only these statuses (any when empty).
    pub statuses: Vec<MessageStatus>,
    /// Only messages of these executor organisations (`None`: whatever the executor).
    pub executors: Option<Vec<OrganisationId>>,
    /// With `executors`, also messages without an executor.
    pub include_unrouted: bool,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this subcategory.
    pub subcategory: Option<SubcategoryId>,
    /// Only subcategories of this category.
    pub category: Option<CategoryId>,
    /// Only texts (or addresses) containing this, as SQL `LIKE` (case-insensitive for Latin
    /// letters only on SQLite); a number also matches the message id.
    pub text: Option<String>,
    /// Page size (1..=[`MAX_QUEUE_PAGE`]).
    pub limit: i64,
    /// Skip this many first (prefer the keyset cursors: an offset still reads the rows it
    /// skips).
    pub offset: i64,
    /// Keyset cursor: only messages after this one in queue order (the next page).
    pub after: Option<QueueCursor>,
    /// Keyset cursor: only messages before this one (the previous page; still returned in
    /// queue order). Ignored when `after` is set.
    pub before: Option<QueueCursor>,
    /// Count matching messages only up to this many (`None`: count them all).
    pub count_limit: Option<i64>,
}

/// A position in a queue: the `(deadline_at, id)` of a message, as the text
/// `DEADLINE_MS.ID` in page links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueCursor {
    /// The message's deadline.
    pub deadline_at: Timestamp,
    /// The message.
    pub id: MessageId,
}

impl QueueCursor {
    /// The cursor of a record.
    pub fn of(record: &MessageRecord) -> Self {
        Self {
            deadline_at: record.message.deadline_at,
            id: record.message.id,
        }
    }
}

impl std::fmt::Display for QueueCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.deadline_at.millis(), self.id.get())
    }
}

impl std::str::FromStr for QueueCursor {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || StoreError::Invalid(format!("not a queue cursor: {s:?}"));
        let (d, i) = s.split_once('.').ok_or_else(bad)?;
        let deadline: i64 = d.parse().map_err(|_| bad())?;
        let id: i64 = i.parse().map_err(|_| bad())?;
        if id <= 0 {
            return Err(bad());
        }
        Ok(Self {
            deadline_at: Timestamp(deadline),
            id: MessageId(id),
        })
    }
}

/// One page of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePage {
    /// The messages, earliest deadline first.
    pub records: Vec<MessageRecord>,
    /// How many match in all — at most [`QueueFilter::count_limit`].
    pub total: i64,
    /// `total` reached the count limit: there are at least that many.
    pub total_capped: bool,
    /// The cursor of the next page, when more messages follow.
    pub next: Option<QueueCursor>,
    /// The cursor of the previous page, when messages precede this page.
    pub prev: Option<QueueCursor>,
}

impl QueuePage {
    fn empty() -> Self {
        Self {
            records: Vec::new(),
            total: 0,
            total_capped: false,
            next: None,
            prev: None,
        }
    }
}

/// `s` as a `LIKE` pattern matching it literally anywhere (escape character `\`).
fn like_anywhere(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

enum Bind {
    Int(i64),
    Text(String),
}

impl Store {
    /// A page of the messages matching `filter`, earliest deadline first, with the total.
    #[tracing::instrument(skip(self))]
    pub async fn message_queue(&self, filter: &QueueFilter) -> Result<QueuePage> {
        if !(1..=MAX_QUEUE_PAGE).contains(&filter.limit)
            || filter.offset < 0
            || filter.count_limit.is_some_and(|n| n < 1)
        {
            return Err(StoreError::Invalid(format!(
                "page size must be 1..={MAX_QUEUE_PAGE}, offset not negative, count limit positive"
            )));
        }
        let mut clauses: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let param = |b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            format!("${}", binds.len())
        };
        if !filter.statuses.is_empty() {
            let ps: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| param(Bind::Text(s.code().to_owned()), &mut binds))
                .collect();
            clauses.push(format!("status IN ({})", ps.join(", ")));
        }
        if let Some(executors) = &filter.executors {
            let mut parts = Vec::new();
            if !executors.is_empty() {
                let ps: Vec<String> = executors
                    .iter()
                    .map(|o| param(Bind::Int(o.get()), &mut binds))
                    .collect();
                parts.push(format!("executor_id IN ({})", ps.join(", ")));
            }
            if filter.include_unrouted {
                parts.push("executor_id IS NULL".to_owned());
            }
            if parts.is_empty() {
                return Ok(QueuePage::empty());
            }
            clauses.push(format!("({})", parts.join(" OR ")));
        }
        if let Some(channel) = filter.channel {
            let p = param(Bind::Text(channel.code().to_owned()), &mut binds);
            clauses.push(format!("channel = {p}"));
        }
        if let Some(sub) = &filter.subcategory {
            let p = param(Bind::Text(sub.0.clone()), &mut binds);
            clauses.push(format!("subcategory = {p}"));
        }
        if let Some(cat) = &filter.category {
            let p = param(
                Bind::Text(like_anywhere(&format!("{}.", cat.0))[1..].to_owned()),
                &mut binds,
            );
            clauses.push(format!("subcategory LIKE {p} ESCAPE '\\'"));
        }
        if let Some(text) = filter
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let raw = param(Bind::Text(like_anywhere(text)), &mut binds);
            let p = param(Bind::Text(like_anywhere(&text.to_lowercase())), &mut binds);
            // As typed, and lowercased on both sides (SQLite's LOWER folds ASCII only).
            let mut c = format!(
                "(text LIKE {raw} ESCAPE '\\' OR LOWER(text) LIKE {p} ESCAPE '\\' \
                 OR COALESCE(address, '') LIKE {raw} ESCAPE '\\' \
                 OR LOWER(COALESCE(address, '')) LIKE {p} ESCAPE '\\'"
            );
            if let Ok(id) = text.trim_start_matches('№').trim().parse::<i64>() {
                let q = param(Bind::Int(id), &mut binds);
                c.push_str(&format!(" OR id = {q}"));
            }
            c.push(')');
            clauses.push(c);
        }
        let filter_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let count_sql = match filter.count_limit {
            None => format!("SELECT COUNT(*) FROM messages{filter_sql}"),
            Some(_) => format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM messages{filter_sql} LIMIT ${}) AS capped",
                binds.len() + 1
            ),
        };
        let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
        for b in &binds {
            count = match b {
                Bind::Int(i) => count.bind(*i),
                Bind::Text(t) => count.bind(t.clone()),
            };
        }
        if let Some(n) = filter.count_limit {
            count = count.bind(n);
        }
        let total = count.fetch_one(&self.pool).await?;
        let total_capped = filter.count_limit.is_some_and(|n| total >= n);

        // Keyset: the cursor's row value, forwards (next page) or backwards (previous page).
        let backwards = filter.after.is_none() && filter.before.is_some();
        if let Some(c) = filter.after.or(filter.before) {
            let d = param(Bind::Int(c.deadline_at.millis()), &mut binds);
            let i = param(Bind::Int(c.id.get()), &mut binds);
            let op = if backwards { "<" } else { ">" };
            clauses.push(format!("(deadline_at, id) {op} ({d}, {i})"));
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let order = if backwards {
            "deadline_at DESC, id DESC"
        } else {
            "deadline_at, id"
        };
        let n = binds.len();
        // One row more than the page tells whether another page follows.
        let page_sql = format!(
            "SELECT {RECORD_COLS} FROM messages{where_sql} ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut q = sqlx::query(AssertSqlSafe(page_sql));
        for b in &binds {
            q = match b {
                Bind::Int(i) => q.bind(*i),
                Bind::Text(t) => q.bind(t.clone()),
            };
        }
        let rows = q
            .bind(filter.limit + 1)
            .bind(filter.offset)
            .fetch_all(&self.pool)
            .await?;
        let mut records = rows
            .iter()
            .map(rows::message_record)
            .collect::<Result<Vec<_>>>()?;
        let more = records.len() > usize::try_from(filter.limit).unwrap_or(usize::MAX);
        records.truncate(usize::try_from(filter.limit).unwrap_or(usize::MAX));
        let (next, prev) = if backwards {
            records.reverse();
            (
                records.last().map(QueueCursor::of),
                more.then(|| records.first().map(QueueCursor::of)).flatten(),
            )
        } else {
            (
                more.then(|| records.last().map(QueueCursor::of)).flatten(),
                (filter.after.is_some() || filter.offset > 0)
                    .then(|| records.first().map(QueueCursor::of))
                    .flatten(),
            )
        };
        Ok(QueuePage {
            records,
            total,
            total_capped,
            next,
            prev,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{QueueCursor, like_anywhere};

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_anywhere("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(like_anywhere("яма"), "%яма%");
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let c: QueueCursor = "1700000000000.42".parse().expect("cursor");
        assert_eq!(c.id.get(), 42);
        assert_eq!(c.to_string(), "1700000000000.42");
        let neg: QueueCursor = "-5.1".parse().expect("negative deadlines are times too");
        assert_eq!(neg.deadline_at.millis(), -5);
        for bad in ["", "1", "a.b", "1.0", "1.-3", "1.2.3", "' OR 1=1 --"] {
            assert!(bad.parse::<QueueCursor>().is_err(), "{bad}");
        }
    }
}
