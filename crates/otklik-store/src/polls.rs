//! Polls (storage only; voting comes later).

use otklik_domain::{
    EntityKind, OrganisationId, Poll, PollId, PollKind, PollStatus, TerritoryId, Timestamp, UserId,
};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::audit;
use crate::rows::{self, POLL_COLS};
use crate::{Result, Store, StoreError};

/// What is needed to create a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPoll {
    /// Body running it.
    pub organisation: OrganisationId,
    /// Title.
    pub title: String,
    /// Question kind.
    pub kind: PollKind,
    /// Initial status (normally draft).
    pub status: PollStatus,
    /// Audience territory.
    pub territory: Option<TerritoryId>,
    /// Opens.
    pub starts_at: Timestamp,
    /// Closes.
    pub ends_at: Timestamp,
}

impl Store {
    /// Creates a poll and audits it (`created`), in one transaction.
    #[tracing::instrument(skip(self, new))]
    pub async fn create_poll(
        &self,
        new: &NewPoll,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Poll> {
        if new.ends_at < new.starts_at {
            return Err(StoreError::Invalid(
                "a poll cannot end before it starts".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO polls (organisation_id, title, kind, status, territory_id, starts_at, \
             ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.organisation.get())
        .bind(new.title.as_str())
        .bind(new.kind.code())
        .bind(new.status.code())
        .bind(new.territory.map(TerritoryId::get))
        .bind(new.starts_at.millis())
        .bind(new.ends_at.millis())
        .fetch_one(&mut *tx)
        .await?;
        let event = audit::event(
            actor,
            EntityKind::Poll,
            id,
            "created",
            json!({ "title": new.title, "kind": new.kind.code(), "status": new.status.code() }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Poll {
            id: PollId(id),
            organisation: new.organisation,
            title: new.title.clone(),
            kind: new.kind,
            status: new.status,
            territory: new.territory,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
        })
    }

    /// A poll by id.
    #[tracing::instrument(skip(self))]
    pub async fn poll(&self, id: PollId) -> Result<Option<Poll>> {
        let sql = format!("SELECT {POLL_COLS} FROM polls WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::poll).transpose()
    }

    /// All polls, by id.
    #[tracing::instrument(skip(self))]
    pub async fn polls(&self) -> Result<Vec<Poll>> {
        let sql = format!("SELECT {POLL_COLS} FROM polls ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::poll).collect()
    }
}
