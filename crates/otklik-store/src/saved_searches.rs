//! Saved archive searches with e-mail alerts on spikes.
//!
//! An analyst saves a search of the archive (the query text and facet filters of `otklik
//! search`) with an e-mail address and a threshold: at least [`SavedSearch::min_count`]
//! matching documents today and a ratio `(today + 1) / (mean + 1)` against the trailing days
//! of at least [`SavedSearch::min_ratio_pct`] / 100. The check itself runs over the search
//! index (`otklik-reports`' `alerts`); the store keeps the searches and records an alert
//! together with its e-mail in one transaction ([`Store::record_saved_search_alert`]): the
//! e-mail's idempotency key (one per search per day) makes a second alert the same day queue
//! nothing.

use std::collections::BTreeMap;

use otklik_domain::{Timestamp, UserId};
use sqlx::AnyConnection;

use crate::notify::{NewEmail, OutboundEmail, enqueue_email_in};
use crate::rows;
use crate::{Result, Store, StoreError};

/// Longest name of a saved search, in characters.
pub const MAX_SAVED_SEARCH_NAME_CHARS: usize = 200;

/// Database id of a saved search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SavedSearchId(pub i64);

impl SavedSearchId {
    /// The raw database value.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for SavedSearchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A saved search to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSavedSearch {
    /// Unique name («Ямы в Северске»).
    pub name: String,
    /// The query text (words, `"phrases"`, `-exclusions`; empty matches everything).
    pub query: String,
    /// Facet filters: facet name → accepted values.
    pub filters: BTreeMap<String, Vec<String>>,
    /// Who saved it, if a known user.
    pub owner: Option<UserId>,
    /// Where alerts go.
    pub email: String,
    /// Least matching documents today for an alert (at least 1).
    pub min_count: i64,
    /// Least ratio `(today + 1) / (mean + 1)`, in percent (at least 100).
    pub min_ratio_pct: i64,
}

/// A stored saved search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSearch {
    /// Database id.
    pub id: SavedSearchId,
    /// Unique name.
    pub name: String,
    /// The query text.
    pub query: String,
    /// Facet filters.
    pub filters: BTreeMap<String, Vec<String>>,
    /// Who saved it.
    pub owner: Option<UserId>,
    /// Where alerts go.
    pub email: String,
    /// Least matching documents today.
    pub min_count: i64,
    /// Least ratio, percent.
    pub min_ratio_pct: i64,
    /// When it was saved.
    pub created_at: Timestamp,
    /// The last alert queued.
    pub last_alert_at: Option<Timestamp>,
}

const COLS: &str = "id, name, query, filters, owner_id, email, min_count, min_ratio_pct, \
                    created_at, last_alert_at";

fn check_new(new: &NewSavedSearch) -> Result<()> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("a saved search needs a name".into()));
    }
    if name.chars().count() > MAX_SAVED_SEARCH_NAME_CHARS {
        return Err(StoreError::Invalid(format!(
            "a saved search's name is at most {MAX_SAVED_SEARCH_NAME_CHARS} characters"
        )));
    }
    let email = new.email.trim();
    if email.is_empty() || !email.contains('@') || email.chars().any(char::is_whitespace) {
        return Err(StoreError::Invalid(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    if new.min_count < 1 {
        return Err(StoreError::Invalid(
            "the least count of a saved search is at least 1".into(),
        ));
    }
    if new.min_ratio_pct < 100 {
        return Err(StoreError::Invalid(
            "the least ratio of a saved search is at least 100 % (1.0)".into(),
        ));
    }
    for (facet, values) in &new.filters {
        if facet.trim().is_empty() || values.iter().any(|v| v.trim().is_empty()) {
            return Err(StoreError::Invalid(
                "a filter needs a facet name and non-empty values".into(),
            ));
        }
    }
    Ok(())
}

fn saved_search(row: &sqlx::any::AnyRow) -> Result<SavedSearch> {
    let filters_text = rows::text(row, "filters")?;
    let filters = serde_json::from_str(&filters_text).map_err(|e| {
        StoreError::Invalid(format!("stored saved-search filters are malformed: {e}"))
    })?;
    Ok(SavedSearch {
        id: SavedSearchId(rows::int(row, "id")?),
        name: rows::text(row, "name")?,
        query: rows::text(row, "query")?,
        filters,
        owner: rows::opt_int(row, "owner_id")?.map(UserId),
        email: rows::text(row, "email")?,
        min_count: rows::int(row, "min_count")?,
        min_ratio_pct: rows::int(row, "min_ratio_pct")?,
        created_at: Timestamp(rows::int(row, "created_at")?),
        last_alert_at: rows::opt_int(row, "last_alert_at")?.map(Timestamp),
    })
}

async fn by_id(conn: &mut AnyConnection, id: SavedSearchId) -> Result<Option<SavedSearch>> {
    let sql = format!("SELECT {COLS} FROM saved_searches WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(saved_search).transpose()
}

impl Store {
    /// Saves a search. A name in use already, an address without `@`, a count below 1 or a
    /// ratio below 100 % are [`StoreError::Invalid`].
    #[tracing::instrument(skip(self, new), fields(name = %new.name))]
    pub async fn create_saved_search(
        &self,
        new: &NewSavedSearch,
        now: Timestamp,
    ) -> Result<SavedSearch> {
        check_new(new)?;
        let filters = serde_json::to_string(&new.filters)
            .map_err(|e| StoreError::Invalid(format!("filters: {e}")))?;
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM saved_searches WHERE name = $1")
                .bind(new.name.trim())
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Invalid(format!(
                "a saved search named «{}» exists already",
                new.name.trim()
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO saved_searches (name, query, filters, owner_id, email, min_count, \
             min_ratio_pct, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.name.trim())
        .bind(new.query.trim())
        .bind(filters)
        .bind(new.owner.map(UserId::get))
        .bind(new.email.trim())
        .bind(new.min_count)
        .bind(new.min_ratio_pct)
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        let saved = by_id(&mut tx, SavedSearchId(id))
            .await?
            .ok_or_else(|| StoreError::Invalid("saved search vanished".into()))?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Every saved search, by id.
    #[tracing::instrument(skip(self))]
    pub async fn saved_searches(&self) -> Result<Vec<SavedSearch>> {
        let sql = format!("SELECT {COLS} FROM saved_searches ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(saved_search).collect()
    }

    /// A saved search by id.
    #[tracing::instrument(skip(self))]
    pub async fn saved_search(&self, id: SavedSearchId) -> Result<Option<SavedSearch>> {
        let mut conn = self.pool.acquire().await?;
        by_id(&mut conn, id).await
    }

    /// A saved search by name.
    #[tracing::instrument(skip(self))]
    pub async fn saved_search_by_name(&self, name: &str) -> Result<Option<SavedSearch>> {
        let sql = format!("SELECT {COLS} FROM saved_searches WHERE name = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name.trim())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(saved_search).transpose()
    }

    /// Removes a saved search; `false` when there was none with this id.
    #[tracing::instrument(skip(self))]
    pub async fn delete_saved_search(&self, id: SavedSearchId) -> Result<bool> {
        let done = sqlx::query("DELETE FROM saved_searches WHERE id = $1")
            .bind(id.get())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Queues the alert e-mail of a saved search and notes the alert time, in one
    /// transaction. The e-mail's idempotency key decides: a key queued before (the same
    /// search's alert of the same day) queues nothing, changes nothing and returns `None`.
    #[tracing::instrument(skip(self, email), fields(key = %email.idempotency_key))]
    pub async fn record_saved_search_alert(
        &self,
        id: SavedSearchId,
        email: &NewEmail,
        now: Timestamp,
    ) -> Result<Option<OutboundEmail>> {
        let mut tx = self.begin_write().await?;
        let seen: Option<i64> =
            sqlx::query_scalar("SELECT id FROM email_outbox WHERE idempotency_key = $1")
                .bind(email.idempotency_key.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if seen.is_some() {
            return Ok(None);
        }
        let updated = sqlx::query("UPDATE saved_searches SET last_alert_at = $1 WHERE id = $2")
            .bind(now.millis())
            .bind(id.get())
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!("no saved search {id}")));
        }
        let queued = enqueue_email_in(&mut tx, email, now).await?;
        tx.commit().await?;
        Ok(Some(queued))
    }
}
