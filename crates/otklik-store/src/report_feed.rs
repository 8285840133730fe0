//! What the reports read (`otklik-reports`): messages with their workflow fields a page at a
//! time in id order, registered in a period, and the whole Госпаблики registry with its
//! registry fields. The reports aggregate page by page, so memory stays flat however many
//! messages the store holds.

use sqlx::AssertSqlSafe;

use otklik_domain::MessageRecord;

use crate::communities::RegisteredCommunity;
use crate::rows::{self, COMMUNITY_DETAIL_COLS, RECORD_COLS};
use crate::{Result, Store, StoreError};

/// Most rows [`Store::report_records_after`] returns at once.
pub const MAX_REPORT_PAGE: i64 = 10_000;

impl Store {
    /// Up to `limit` (1..=[`MAX_REPORT_PAGE`]) messages with their workflow fields whose id
    /// is greater than `after_id`, registered in `[since, until)` (either end open), in id
    /// order. The next page starts after the last id returned.
    #[tracing::instrument(skip(self))]
    pub async fn report_records_after(
        &self,
        after_id: i64,
        since: Option<i64>,
        until: Option<i64>,
        limit: i64,
    ) -> Result<Vec<MessageRecord>> {
        if !(1..=MAX_REPORT_PAGE).contains(&limit) {
            return Err(StoreError::Invalid(format!(
                "page size must be 1..={MAX_REPORT_PAGE}, got {limit}"
            )));
        }
        let sql = format!(
            "SELECT {RECORD_COLS} FROM messages WHERE id > $1 AND created_at >= $2 \
             AND created_at < $3 ORDER BY id LIMIT $4"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after_id)
            .bind(since.unwrap_or(i64::MIN))
            .bind(until.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::message_record).collect()
    }

    /// Every official community with its registry fields (required, verification, last
    /// post seen), by id.
    #[tracing::instrument(skip(self))]
    pub async fn registered_communities(&self) -> Result<Vec<RegisteredCommunity>> {
        let sql = format!("SELECT {COMMUNITY_DETAIL_COLS} FROM communities ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::registered_community).collect()
    }
}
