//! Collector sources at run time: adding and switching them, and their health — failures in a
//! row, a per-source circuit breaker, what the last poll brought, how far behind the newest
//! post is, when the next run is due.
//!
//! The state lives in `source_state` (one row per source, created by the first poll outcome).
//! Who writes what:
//!
//! * [`Store::store_posts`] — posts and cursor in one transaction; it also counts as a
//!   success: `last_success_at`, `items_total` (+ inserted), `last_published_at` (max),
//!   `consecutive_failures = 0`, circuit closed.
//! * [`Store::record_poll_success`] — once per poll, after its last page (also when nothing was
//!   found and `store_posts` was not called): `last_poll_at`, `items_last_poll`,
//!   `last_published_at` (max), `last_success_at`, failures reset, circuit closed.
//! * [`Store::record_poll_failure`] — a failed poll: error and time, one more consecutive
//!   failure, `next_run_at = retry_at`, and the circuit opens until `retry_at` after
//!   [`CIRCUIT_OPEN_AFTER`] failures in a row (or at once when the failed poll was the
//!   half-open probe).
//! * [`Store::set_source_circuit`], [`Store::set_source_next_run`] — the scheduler's own
//!   moves (e.g. open → half-open once `open_until` has passed).

use otklik_domain::directory::NewSource;
use otklik_domain::{CommunityId, EntityKind, Source, SourceId, TerritoryId, Timestamp, UserId};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::codes::CircuitState;
use crate::posts::{later_of, source_community, source_not_found};
use crate::rows::{self, SOURCE_COLS, SOURCE_HEALTH_COLS, flag};
use crate::{Result, Store, StoreError, audit, communities, directory};

/// Consecutive failed polls after which [`Store::record_poll_failure`] opens a source's
/// circuit.
pub const CIRCUIT_OPEN_AFTER: i64 = 5;

/// A source with its run-time state, for the health page and the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceHealth {
    /// The source (name, network, target, schedule, enabled…).
    pub source: Source,
    /// The official community it reads, when known.
    pub community: Option<CommunityId>,
    /// The committed cursor.
    pub cursor: Option<String>,
    /// Failed polls since the last success.
    pub consecutive_failures: i64,
    /// The source's circuit breaker.
    pub circuit: CircuitState,
    /// While open: not polled before this.
    pub open_until: Option<Timestamp>,
    /// Last poll outcome recorded, success or failure.
    pub last_poll_at: Option<Timestamp>,
    /// Last success.
    pub last_success_at: Option<Timestamp>,
    /// Last failure.
    pub last_error_at: Option<Timestamp>,
    /// Its message.
    pub last_error: Option<String>,
    /// Posts stored from this source, ever (new ones only, not edits).
    pub items_total: i64,
    /// Items the last successful poll brought.
    pub items_last_poll: i64,
    /// Newest publication time seen from this source.
    pub last_published_at: Option<Timestamp>,
    /// When the scheduler should run it next.
    pub next_run_at: Option<Timestamp>,
}

impl SourceHealth {
    /// How far behind the source is: `now` minus the newest publication time seen, in
    /// milliseconds (`None` before anything was seen).
    pub fn lag_ms(&self, now: Timestamp) -> Option<i64> {
        self.last_published_at
            .map(|t| now.millis().saturating_sub(t.millis()))
    }

    /// True when the scheduler may poll the source at `now`: enabled, its circuit not open
    /// (or open with `open_until` passed), and its next run due.
    pub fn is_due(&self, now: Timestamp) -> bool {
        let circuit_allows = match self.circuit {
            CircuitState::Open => self.open_until.is_some_and(|t| t <= now),
            CircuitState::Closed | CircuitState::HalfOpen => true,
        };
        self.source.enabled && circuit_allows && self.next_run_at.is_none_or(|t| t <= now)
    }
}

/// Makes sure the source has a state row (all defaults).
async fn ensure_state(conn: &mut AnyConnection, source: SourceId) -> Result<()> {
    if source_community(conn, source).await?.is_none() {
        return Err(source_not_found(source));
    }
    sqlx::query(
        "INSERT INTO source_state (source_id, items_total) VALUES ($1, 0) \
         ON CONFLICT (source_id) DO NOTHING",
    )
    .bind(source.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn health_of(conn: &mut AnyConnection, source: SourceId) -> Result<SourceHealth> {
    let sql = format!(
        "SELECT {SOURCE_HEALTH_COLS} FROM sources s \
         LEFT JOIN source_state st ON st.source_id = s.id WHERE s.id = $1"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(source.get())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| source_not_found(source))?;
    rows::source_health(&row)
}

async fn source_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Source>> {
    let sql = format!("SELECT {SOURCE_COLS} FROM sources WHERE name = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::source).transpose()
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Every source with its health, by source id (sources never polled have zero counters
    /// and a closed circuit).
    #[tracing::instrument(skip(self))]
    pub async fn source_health(&self) -> Result<Vec<SourceHealth>> {
        let sql = format!(
            "SELECT {SOURCE_HEALTH_COLS} FROM sources s \
             LEFT JOIN source_state st ON st.source_id = s.id ORDER BY s.id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::source_health).collect()
    }

    /// One source's health.
    #[tracing::instrument(skip(self))]
    pub async fn source_health_of(&self, source: SourceId) -> Result<SourceHealth> {
        let mut conn = self.pool.acquire().await?;
        health_of(&mut conn, source).await
    }

    /// Records a successful poll of `source` that brought `items` items (new or not), the
    /// newest published at `newest_published_at`: failures reset, circuit closed,
    /// `last_published_at` moves up (never down). Posts and cursor are stored separately by
    /// [`Store::store_posts`], which also resets the failures.
    #[tracing::instrument(skip(self))]
    pub async fn record_poll_success(
        &self,
        source: SourceId,
        items: u64,
        newest_published_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        ensure_state(&mut tx, source).await?;
        let sql = format!(
            "UPDATE source_state SET last_success_at = $1, last_poll_at = $1, \
             items_last_poll = $2, last_published_at = {}, consecutive_failures = 0, \
             circuit = 'closed', open_until = NULL WHERE source_id = $4",
            later_of("last_published_at", "$3")
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(now.millis())
            .bind(to_i64(items))
            .bind(newest_published_at.map(Timestamp::millis))
            .bind(source.get())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed poll of `source`: the error and its time, one more consecutive
    /// failure, next run at `retry_at`. The circuit opens until `retry_at` when the failures
    /// in a row reach [`CIRCUIT_OPEN_AFTER`], or when the failed poll was the half-open probe.
    /// The cursor is untouched. Returns the source's health afterwards.
    #[tracing::instrument(skip(self))]
    pub async fn record_poll_failure(
        &self,
        source: SourceId,
        error: &str,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> Result<SourceHealth> {
        let mut tx = self.begin_write().await?;
        ensure_state(&mut tx, source).await?;
        let before = health_of(&mut tx, source).await?;
        let failures = before.consecutive_failures.saturating_add(1);
        let open = before.circuit == CircuitState::HalfOpen || failures >= CIRCUIT_OPEN_AFTER;
        let (circuit, open_until) = if open {
            (CircuitState::Open, Some(retry_at.millis()))
        } else {
            (CircuitState::Closed, None)
        };
        sqlx::query(
            "UPDATE source_state SET last_error_at = $1, last_poll_at = $1, last_error = $2, \
             consecutive_failures = $3, circuit = $4, open_until = $5, next_run_at = $6 \
             WHERE source_id = $7",
        )
        .bind(now.millis())
        .bind(error)
        .bind(failures)
        .bind(circuit.code())
        .bind(open_until)
        .bind(retry_at.millis())
        .bind(source.get())
        .execute(&mut *tx)
        .await?;
        let after = health_of(&mut tx, source).await?;
        tx.commit().await?;
        if circuit != before.circuit {
            tracing::warn!(source = %after.source.name, failures, %circuit, "source circuit changed");
        }
        Ok(after)
    }

    /// Sets a source's circuit explicitly (the scheduler half-opens an open circuit once its
    /// `open_until` has passed). `open_until` is kept only for [`CircuitState::Open`].
    #[tracing::instrument(skip(self))]
    pub async fn set_source_circuit(
        &self,
        source: SourceId,
        circuit: CircuitState,
        open_until: Option<Timestamp>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        ensure_state(&mut tx, source).await?;
        let open_until = match circuit {
            CircuitState::Open => open_until.map(Timestamp::millis),
            CircuitState::Closed | CircuitState::HalfOpen => None,
        };
        sqlx::query("UPDATE source_state SET circuit = $1, open_until = $2 WHERE source_id = $3")
            .bind(circuit.code())
            .bind(open_until)
            .bind(source.get())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets when the scheduler should run the source next (`None`: as soon as possible).
    #[tracing::instrument(skip(self))]
    pub async fn set_source_next_run(
        &self,
        source: SourceId,
        next_run_at: Option<Timestamp>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        ensure_state(&mut tx, source).await?;
        sqlx::query("UPDATE source_state SET next_run_at = $1 WHERE source_id = $2")
            .bind(next_run_at.map(Timestamp::millis))
            .bind(source.get())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a collector source and audits it (entity `source`, action `created`), in one
    /// transaction. A source whose target names a registered community of its network (its
    /// external id, URL or screen name) is linked to it. Fails with
    /// [`StoreError::Duplicate`] when the name is taken and
    /// [`StoreError::UnknownReference`] for an unknown territory code.
    #[tracing::instrument(skip(self, new), fields(name = %new.name))]
    pub async fn add_source(
        &self,
        new: &NewSource,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Source> {
        if new.name.trim().is_empty() || new.target.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a source needs a name and a target".into(),
            ));
        }
        let duplicate = || StoreError::Duplicate {
            entity: EntityKind::Source,
            key: new.name.clone(),
        };
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        if source_by_name(conn, &new.name).await?.is_some() {
            return Err(duplicate());
        }
        let territory = match &new.territory_code {
            Some(code) => Some(
                directory::territory_by_code(conn, code)
                    .await?
                    .ok_or_else(|| StoreError::UnknownReference {
                        kind: EntityKind::Territory,
                        code: code.clone(),
                    })?
                    .id,
            ),
            None => None,
        };
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO sources (name, network, target, schedule, territory_id, enabled) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.network.code())
        .bind(new.target.as_str())
        .bind(new.schedule.as_str())
        .bind(territory.map(TerritoryId::get))
        .bind(flag(new.enabled))
        .fetch_one(&mut *conn)
        .await;
        let id = match inserted.map_err(StoreError::from) {
            Ok(id) => SourceId(id),
            Err(e) if e.is_unique_violation() => return Err(duplicate()),
            Err(e) => return Err(e),
        };
        let community = communities::link_source(conn, id).await?;
        let event = audit::event(
            actor,
            EntityKind::Source,
            id.get(),
            "created",
            json!({
                "name": new.name,
                "network": new.network.code(),
                "target": new.target,
                "community": community.map(CommunityId::get),
            }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        Ok(Source {
            id,
            name: new.name.clone(),
            network: new.network,
            target: new.target.clone(),
            schedule: new.schedule.clone(),
            territory,
            enabled: new.enabled,
        })
    }

    /// Switches polling of the source named `name` on or off and audits it (entity `source`,
    /// action `enable` or `disable`), in one transaction.
    #[tracing::instrument(skip(self))]
    pub async fn set_source_enabled(
        &self,
        name: &str,
        enabled: bool,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Source> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let mut source = source_by_name(conn, name)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: EntityKind::Source,
                key: name.to_owned(),
            })?;
        sqlx::query("UPDATE sources SET enabled = $1 WHERE id = $2")
            .bind(flag(enabled))
            .bind(source.id.get())
            .execute(&mut *conn)
            .await?;
        let event = audit::event(
            actor,
            EntityKind::Source,
            source.id.get(),
            if enabled { "enable" } else { "disable" },
            json!({ "from": source.enabled, "to": enabled }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        source.enabled = enabled;
        Ok(source)
    }
}
