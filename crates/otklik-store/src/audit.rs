//! The append-only audit trail.

use otklik_domain::{AuditEvent, AuditEventId, EntityKind, NewAuditEvent, Timestamp, UserId};
use sqlx::AnyConnection;

use crate::rows::{self, AUDIT_COLS};
use crate::{Result, Store};

/// Writes one audit event on `conn` (normally inside the transaction of the change it records).
pub(crate) async fn insert(conn: &mut AnyConnection, ev: &NewAuditEvent) -> Result<AuditEventId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_events (at, actor_id, entity, entity_id, action, detail) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(ev.at.millis())
    .bind(ev.actor.map(UserId::get))
    .bind(ev.entity.code())
    .bind(ev.entity_id)
    .bind(ev.action.as_str())
    .bind(ev.detail.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(AuditEventId(id))
}

/// Writes several audit events, at most 16 per statement: SQLite looks up each bound
/// parameter's name linearly, so a statement's binding cost grows with the square of its
/// parameters; 96 keep it negligible.
pub(crate) async fn insert_many(conn: &mut AnyConnection, events: &[NewAuditEvent]) -> Result<()> {
    for chunk in events.chunks(16) {
        let mut sql = String::from(
            "INSERT INTO audit_events (at, actor_id, entity, entity_id, action, detail) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let p = i * 6;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5,
                p + 6
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ev in chunk {
            q = q
                .bind(ev.at.millis())
                .bind(ev.actor.map(UserId::get))
                .bind(ev.entity.code())
                .bind(ev.entity_id)
                .bind(ev.action.as_str())
                .bind(ev.detail.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Shorthand for building an event.
pub(crate) fn event(
    actor: Option<UserId>,
    entity: EntityKind,
    entity_id: i64,
    action: impl Into<String>,
    detail: serde_json::Value,
    at: Timestamp,
) -> NewAuditEvent {
    NewAuditEvent {
        actor,
        entity,
        entity_id,
        action: action.into(),
        detail: detail.to_string(),
        at,
    }
}

impl Store {
    /// Every audit event about one entity, oldest first.
    #[tracing::instrument(skip(self))]
    pub async fn audit_trail(&self, entity: EntityKind, entity_id: i64) -> Result<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_events WHERE entity = $1 AND entity_id = $2 ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(entity.code())
            .bind(entity_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::audit_event).collect()
    }

    /// Records an event that is not tied to a change made through this store (a login, an
    /// export). Changes made through the store write their own events.
    #[tracing::instrument(skip(self, event), fields(entity = %event.entity, action = %event.action))]
    pub async fn record_audit(&self, event: &NewAuditEvent) -> Result<AuditEventId> {
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, event).await
    }
}
