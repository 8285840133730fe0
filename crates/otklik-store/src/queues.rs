//! The back-office's work queues: messages by status, executor organisations, channel,
//! category and text, a page at a time with the total for paging.

use otklik_domain::{
    CategoryId, Channel, MessageRecord, MessageStatus, OrganisationId, SubcategoryId,
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
    /// Skip this many first.
    pub offset: i64,
}

/// One page of a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePage {
    /// The messages, earliest deadline first.
    pub records: Vec<MessageRecord>,
    /// How many match in all.
    pub total: i64,
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
        if !(1..=MAX_QUEUE_PAGE).contains(&filter.limit) || filter.offset < 0 {
            return Err(StoreError::Invalid(format!(
                "page size must be 1..={MAX_QUEUE_PAGE} and offset not negative"
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
                return Ok(QueuePage {
                    records: Vec::new(),
                    total: 0,
                });
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
        let count_sql = format!("SELECT COUNT(*) FROM messages{filter_sql}");
        let mut count = sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql));
        for b in &binds {
            count = match b {
                Bind::Int(i) => count.bind(*i),
                Bind::Text(t) => count.bind(t.clone()),
            };
        }
        let total = count.fetch_one(&self.pool).await?;
        let n = binds.len();
        let page_sql = format!(
            "SELECT {RECORD_COLS} FROM messages{filter_sql} ORDER BY deadline_at, id LIMIT ${} OFFSET ${}",
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
            .bind(filter.limit)
            .bind(filter.offset)
            .fetch_all(&self.pool)
            .await?;
        let records = rows
            .iter()
            .map(rows::message_record)
            .collect::<Result<Vec<_>>>()?;
        Ok(QueuePage { records, total })
    }
}

#[cfg(test)]
mod tests {
    use super::like_anywhere;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_anywhere("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(like_anywhere("яма"), "%яма%");
    }
}
