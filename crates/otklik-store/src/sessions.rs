//! Web sign-in state shared by every node: server-side sessions and the failed-sign-in
//! throttle, and the staff password hashes.
//!
//! * **Sessions** are keyed by the SHA-256 of a random session id ([`session_digest`]): the id
//!   itself lives only in the browser's cookie, so a copy of the database yields no usable
//!   session. A session expires after [`SessionLimits::idle_ms`] without use and, whatever the
//!   use, [`SessionLimits::absolute_ms`] after it began; [`Store::session`] deletes an expired
//!   one when it meets it. [`Store::create_session`] can replace the session the browser had in
//!   the same transaction (id rotation at sign-in).
//! * **Throttle**: failed sign-ins are counted per login and per client address within a
//!   window; reaching the limit locks that login (or address) until a time
//!   ([`Store::record_login_failure`], [`Store::login_locked_until`]). The counters are rows, so
//!   every node of a cluster sees the same lock.
//! * **Passwords**: the store keeps the hash (a PHC string made by the web crate) and never
//!   sees the password; setting one is audited and ends the user's sessions.

use otklik_domain::{EntityKind, Timestamp, UserId};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::audit;
use crate::rows;
use crate::{Result, Store, StoreError};

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionKind {
    /// A staff member of an organisation (local account).
    Staff,
    /// A citizen (signed in through the identity provider).
    Citizen,
}

impl SessionKind {
    /// The stored code («staff», «citizen»).
    pub fn code(self) -> &'static str {
        match self {
            SessionKind::Staff => "staff",
            SessionKind::Citizen => "citizen",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "staff" => Ok(SessionKind::Staff),
            "citizen" => Ok(SessionKind::Citizen),
            other => Err(StoreError::Invalid(format!(
                "unknown session kind {other:?}"
            ))),
        }
    }
}

/// How long a session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Ends after this long without a request (milliseconds).
    pub idle_ms: i64,
    /// Ends this long after sign-in whatever the activity (milliseconds).
    pub absolute_ms: i64,
}

impl Default for SessionLimits {
    /// 30 minutes idle, 12 hours absolute.
    fn default() -> Self {
        Self {
            idle_ms: 30 * 60 * 1000,
            absolute_ms: 12 * Timestamp::HOUR_MS,
        }
    }
}

/// A session to open.
#[derive(Clone, Copy)]
pub struct NewSession<'a> {
    /// The signed-in user.
    pub user: UserId,
    /// Staff or citizen.
    pub kind: SessionKind,
    /// The synchronizer token of the session's forms.
    pub csrf_token: &'a str,
    /// The client's address, for the owner's list of sessions.
    pub ip: Option<&'a str>,
    /// The client's user agent (cut to 300 characters).
    pub user_agent: Option<&'a str>,
}

impl std::fmt::Debug for NewSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("user", &self.user)
            .field("kind", &self.kind)
            .field("csrf_token", &"***")
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

/// A live session.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The signed-in user.
    pub user: UserId,
    /// Staff or citizen.
    pub kind: SessionKind,
    /// The synchronizer token of the session's forms (secret).
    pub csrf_token: String,
    /// Sign-in time.
    pub created_at: Timestamp,
    /// Last request seen (updated at most every [`SessionLimits::idle_ms`]/20).
    pub last_seen_at: Timestamp,
    /// The client's address at sign-in.
    pub ip: Option<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("kind", &self.kind)
            .field("csrf_token", &"***")
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("ip", &self.ip)
            .finish()
    }
}

/// Limits of the failed sign-in throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures of one login within the window that lock it (default 5).
    pub max_failures_per_login: i64,
    /// Failures from one client address within the window that lock it (default 20: offices
    /// share addresses).
    pub max_failures_per_ip: i64,
    /// The window failures are counted in (default 15 minutes).
    pub window_ms: i64,
    /// How long a lock lasts (default 15 minutes).
    pub lockout_ms: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            max_failures_per_login: 5,
            max_failures_per_ip: 20,
            window_ms: 15 * 60 * 1000,
            lockout_ms: 15 * 60 * 1000,
        }
    }
}

/// The hex SHA-256 of a session id: what the `sessions` table keys sessions by.
pub fn session_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The throttle's key of a login: trimmed and lowercased.
fn login_subject(login: &str) -> String {
    login.trim().to_lowercase()
}

const SESSION_COLS: &str = "user_id, kind, csrf_token, created_at, last_seen_at, ip";

fn session_row(row: &sqlx::any::AnyRow) -> Result<Session> {
    Ok(Session {
        user: UserId(rows::int(row, "user_id")?),
        kind: SessionKind::parse(&rows::text(row, "kind")?)?,
        csrf_token: rows::text(row, "csrf_token")?,
        created_at: Timestamp(rows::int(row, "created_at")?),
        last_seen_at: Timestamp(rows::int(row, "last_seen_at")?),
        ip: rows::opt_text(row, "ip")?,
    })
}

fn check_limits(limits: SessionLimits) -> Result<()> {
    if limits.idle_ms <= 0 || limits.absolute_ms <= 0 {
        return Err(StoreError::Invalid(
            "session timeouts must be positive".into(),
        ));
    }
    Ok(())
}

/// Adds one failure of `(scope, subject)` and locks it when the count reaches `max`; returns
/// the lock's end when locked now.
async fn add_failure(
    conn: &mut AnyConnection,
    scope: &str,
    subject: &str,
    max: i64,
    policy: &ThrottlePolicy,
    now: Timestamp,
) -> Result<Option<Timestamp>> {
    let window_from = now.millis() - policy.window_ms;
    let row = sqlx::query(
        "INSERT INTO login_throttle (scope, subject, failures, window_start, locked_until) \
         VALUES ($1, $2, 1, $3, NULL) \
         ON CONFLICT (scope, subject) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_start < $4 THEN 1 \
                           ELSE login_throttle.failures + 1 END, \
           window_start = CASE WHEN login_throttle.window_start < $4 THEN $3 \
                               ELSE login_throttle.window_start END \
         RETURNING failures",
    )
    .bind(scope)
    .bind(subject)
    .bind(now.millis())
    .bind(window_from)
    .fetch_one(&mut *conn)
    .await?;
    let failures = rows::int(&row, "failures")?;
    if failures < max {
        return Ok(None);
    }
    let until = Timestamp(now.millis() + policy.lockout_ms);
    sqlx::query(
        "UPDATE login_throttle SET locked_until = $1, failures = 0, window_start = $2 \
         WHERE scope = $3 AND subject = $4",
    )
    .bind(until.millis())
    .bind(now.millis())
    .bind(scope)
    .bind(subject)
    .execute(&mut *conn)
    .await?;
    Ok(Some(until))
}

impl Store {
    /// Opens a session for the random id `token` (only its digest is stored). With
    /// `replaces`, the session of that id (the one the browser had before signing in) is
    /// deleted in the same transaction: the session id rotates at sign-in.
    #[tracing::instrument(skip(self, token, new, replaces), fields(user = %new.user, kind = new.kind.code()))]
    pub async fn create_session(
        &self,
        token: &str,
        new: &NewSession<'_>,
        replaces: Option<&str>,
        now: Timestamp,
    ) -> Result<Session> {
        if token.len() < 32 {
            return Err(StoreError::Invalid("a session id is too short".into()));
        }
        if new.csrf_token.is_empty() {
            return Err(StoreError::Invalid("a session needs a CSRF token".into()));
        }
        let user_agent: Option<String> = new.user_agent.map(|ua| ua.chars().take(300).collect());
        let mut tx = self.begin_write().await?;
        if let Some(old) = replaces {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(session_digest(old))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, kind, csrf_token, created_at, last_seen_at, \
             ip, user_agent) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
        )
        .bind(session_digest(token))
        .bind(new.user.get())
        .bind(new.kind.code())
        .bind(new.csrf_token)
        .bind(now.millis())
        .bind(new.ip)
        .bind(user_agent)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Session {
            user: new.user,
            kind: new.kind,
            csrf_token: new.csrf_token.to_owned(),
            created_at: now,
            last_seen_at: now,
            ip: new.ip.map(str::to_owned),
        })
    }

    /// The live session of id `token`, or `None` when unknown or expired (an expired one is
    /// deleted). Marks it used now (at most every `idle_ms / 20`, to spare writes).
    #[tracing::instrument(skip(self, token))]
    pub async fn session(
        &self,
        token: &str,
        limits: SessionLimits,
        now: Timestamp,
    ) -> Result<Option<Session>> {
        check_limits(limits)?;
        let digest = session_digest(token);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE id_hash = $1"
        )))
        .bind(&digest)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut session = session_row(&row)?;
        let idle = now.millis() - session.last_seen_at.millis();
        let age = now.millis() - session.created_at.millis();
        if idle > limits.idle_ms || age > limits.absolute_ms {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(&digest)
                .execute(&self.pool)
                .await?;
            tracing::debug!(idle, age, "session expired");
            return Ok(None);
        }
        if idle >= limits.idle_ms / 20 && idle > 0 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now.millis())
                .bind(&digest)
                .execute(&self.pool)
                .await?;
            session.last_seen_at = now;
        }
        Ok(Some(session))
    }

    /// Ends the session of id `token` (sign-out). True when there was one.
    #[tracing::instrument(skip(self, token))]
    pub async fn end_session(&self, token: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(session_digest(token))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every session of `user` (password change, account withdrawn); how many.
    #[tracing::instrument(skip(self))]
    pub async fn end_user_sessions(&self, user: UserId) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.get())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Live sessions of `user`, newest first.
    #[tracing::instrument(skip(self))]
    pub async fn user_sessions(&self, user: UserId) -> Result<Vec<Session>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLS} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC"
        )))
        .bind(user.get())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_row).collect()
    }

    /// Deletes every expired session; how many.
    #[tracing::instrument(skip(self))]
    pub async fn purge_expired_sessions(
        &self,
        limits: SessionLimits,
        now: Timestamp,
    ) -> Result<u64> {
        check_limits(limits)?;
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(now.millis() - limits.idle_ms)
            .bind(now.millis() - limits.absolute_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// The stored password hash (PHC string) of the account `login`: `None` for no such
    /// account, `Some((id, None))` for an account without a password or a blocked one
    /// ([`Store::set_user_blocked`]: it cannot sign in).
    #[tracing::instrument(skip(self))]
    pub async fn password_hash(&self, login: &str) -> Result<Option<(UserId, Option<String>)>> {
        let row = sqlx::query(
            "SELECT id, CASE WHEN blocked_at IS NULL THEN password_hash END AS password_hash \
             FROM users WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                UserId(rows::int(&r, "id")?),
                rows::opt_text(&r, "password_hash")?,
            ))
        })
        .transpose()
    }

    /// Sets (or with `None` removes) the password hash of `user`, audits it (entity `user`,
    /// action `password`, no hash in the detail) and ends the user's sessions, in one
    /// transaction.
    #[tracing::instrument(skip(self, hash))]
    pub async fn set_password_hash(
        &self,
        user: UserId,
        hash: Option<&str>,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<()> {
        if hash.is_some_and(|h| !h.starts_with('$')) {
            return Err(StoreError::Invalid(
                "a password hash must be a PHC string".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user.get())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                entity: EntityKind::User,
                key: user.to_string(),
            });
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.get())
            .execute(&mut *tx)
            .await?;
        let event = audit::event(
            actor,
            EntityKind::User,
            user.get(),
            "password",
            json!({ "set": hash.is_some() }),
            now,
        );
        audit::insert(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// When `login` or the client address `ip` is locked out of signing in, the end of the
    /// later lock.
    #[tracing::instrument(skip(self))]
    pub async fn login_locked_until(
        &self,
        login: &str,
        ip: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let until: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(locked_until) FROM login_throttle \
             WHERE locked_until > $1 AND ((scope = 'login' AND subject = $2) \
             OR (scope = 'ip' AND subject = $3))",
        )
        .bind(now.millis())
        .bind(login_subject(login))
        .bind(ip.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        Ok(until.map(Timestamp))
    }

    /// Counts a failed sign-in of `login` from `ip`. Returns the end of the lock when this
    /// failure locked the login or the address.
    #[tracing::instrument(skip(self))]
    pub async fn record_login_failure(
        &self,
        login: &str,
        ip: Option<&str>,
        policy: &ThrottlePolicy,
        now: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let mut tx = self.begin_write().await?;
        let by_login = add_failure(
            &mut tx,
            "login",
            &login_subject(login),
            policy.max_failures_per_login,
            policy,
            now,
        )
        .await?;
        let by_ip = match ip {
            Some(ip) => {
                add_failure(&mut tx, "ip", ip, policy.max_failures_per_ip, policy, now).await?
            }
            None => None,
        };
        tx.commit().await?;
        Ok(by_login.max(by_ip))
    }

    /// Forgets the failures of `login` (after a successful sign-in). The client address keeps
    /// its count: one valid account must not reset a password-guessing address.
    #[tracing::instrument(skip(self))]
    pub async fn clear_login_failures(&self, login: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE scope = 'login' AND subject = $1")
            .bind(login_subject(login))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_hex_sha256() {
        let d = session_digest("abc");
        assert_eq!(
            d,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(login_subject("  Moderator "), "moderator");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let s = Session {
            user: UserId(1),
            kind: SessionKind::Staff,
            csrf_token: "topsecret".into(),
            created_at: Timestamp(0),
            last_seen_at: Timestamp(0),
            ip: None,
        };
        assert!(!format!("{s:?}").contains("topsecret"));
        let n = NewSession {
            user: UserId(1),
            kind: SessionKind::Citizen,
            csrf_token: "topsecret",
            ip: None,
            user_agent: None,
        };
        assert!(!format!("{n:?}").contains("topsecret"));
    }
}
