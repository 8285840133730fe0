//! Citizens signed in through an OpenID Connect provider (the federal ЕСИА or a regional one).
//!
//! * **Identities** (`citizen_identities`): a provider's subject maps to one `users` row. The
//!   subject itself is never stored: the web crate hands over `subject_hash` (64 hex digits,
//!   an HMAC or SHA-256 of provider and subject). The first sign-in creates the account — no
//!   organisation, no role grants (a citizen's role is held nowhere), login
//!   `PROVIDER:HASHPREFIX` — and its identity row in one transaction, audited; later sign-ins
//!   refresh the name and e-mail from the provider's claims ([`Store::sign_in_citizen`]).
//! * **Sign-ins under way** (`oidc_logins`): the authorization request's state (only its
//!   SHA-256 is the key), nonce and PKCE code verifier wait for the provider's redirect and
//!   are taken once ([`Store::take_oidc_login`]); stale ones are purged on the way.
//! * **A citizen's messages** ([`Store::messages_of_author`]), newest first.

use otklik_domain::{EntityKind, MessageRecord, Timestamp, User, UserId};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use crate::rows::{self, RECORD_COLS};
use crate::{Result, Store, StoreError, audit};

/// Longest provider name (`esia`, `test`), characters.
pub const MAX_PROVIDER_CHARS: usize = 40;
/// Longest stored citizen name or e-mail, characters (longer claims are cut).
pub const MAX_CLAIM_CHARS: usize = 200;

/// A citizen as the identity provider describes them.
#[derive(Clone, PartialEq, Eq)]
pub struct NewCitizen<'a> {
    /// The provider's short name (`esia`).
    pub provider: &'a str,
    /// 64 lowercase hex digits identifying the subject at that provider (never the subject).
    pub subject_hash: &'a str,
    /// Full name from the claims («Иванова Мария Петровна»); empty → «Гражданин».
    pub full_name: &'a str,
    /// E-mail from the claims, if any.
    pub email: Option<&'a str>,
}

impl std::fmt::Debug for NewCitizen<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCitizen")
            .field("provider", &self.provider)
            .field("subject_hash", &self.subject_hash.get(..8))
            .finish_non_exhaustive()
    }
}

/// The result of a citizen's sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenSignIn {
    /// The account (no roles).
    pub user: User,
    /// The account was created by this sign-in.
    pub created: bool,
}

/// A sign-in waiting for the provider's redirect.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcLogin {
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier (secret until the token request).
    pub code_verifier: String,
    /// Where to send the citizen afterwards (a local path).
    pub return_to: String,
    /// When the sign-in began.
    pub created_at: Timestamp,
}

impl std::fmt::Debug for OidcLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLogin")
            .field("nonce", &"***")
            .field("code_verifier", &"***")
            .field("return_to", &self.return_to)
            .field("created_at", &self.created_at)
            .finish()
    }
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn cut(s: &str) -> String {
    s.trim().chars().take(MAX_CLAIM_CHARS).collect()
}

fn check_provider(provider: &str) -> Result<()> {
    let ok = !provider.is_empty()
        && provider.chars().count() <= MAX_PROVIDER_CHARS
        && provider
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "bad identity provider name {provider:?} (ASCII letters, digits, - _ .)"
        )))
    }
}

impl Store {
    /// The account of `(provider, subject_hash)`, if that citizen signed in before.
    #[tracing::instrument(skip(self, subject_hash))]
    pub async fn citizen_by_identity(
        &self,
        provider: &str,
        subject_hash: &str,
    ) -> Result<Option<User>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM citizen_identities WHERE provider = $1 AND subject_hash = $2",
        )
        .bind(provider)
        .bind(subject_hash)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => self.user(UserId(id)).await,
            None => Ok(None),
        }
    }

    /// Signs a citizen in: finds the account of the identity, or creates it (a `users` row with
    /// no organisation and no roles, and its identity) in one audited transaction. A known
    /// citizen's name and e-mail are refreshed from the claims. Two first sign-ins racing
    /// end with one account.
    #[tracing::instrument(skip(self, c), fields(provider = c.provider))]
    pub async fn sign_in_citizen(
        &self,
        c: &NewCitizen<'_>,
        now: Timestamp,
    ) -> Result<CitizenSignIn> {
        check_provider(c.provider)?;
        if !is_hex64(c.subject_hash) {
            return Err(StoreError::Invalid(
                "a subject hash is 64 lowercase hex digits".into(),
            ));
        }
        let name = match cut(c.full_name) {
            n if n.is_empty() => "Гражданин".to_owned(),
            n => n,
        };
        let email = c.email.map(cut).filter(|e| !e.is_empty());
        for _ in 0..2 {
            match self
                .try_sign_in_citizen(c, &name, email.as_deref(), now)
                .await
            {
                Err(e) if e.is_unique_violation() => continue,
                other => return other,
            }
        }
        Err(StoreError::Duplicate {
            entity: EntityKind::User,
            key: format!("{}:{}", c.provider, &c.subject_hash[..8]),
        })
    }

    async fn try_sign_in_citizen(
        &self,
        c: &NewCitizen<'_>,
        name: &str,
        email: Option<&str>,
        now: Timestamp,
    ) -> Result<CitizenSignIn> {
        let mut tx = self.begin_write().await?;
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM citizen_identities WHERE provider = $1 AND subject_hash = $2",
        )
        .bind(c.provider)
        .bind(c.subject_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let (id, created) = match known {
            Some(id) => {
                sqlx::query(
                    "UPDATE users SET full_name = $1, email = COALESCE($2, email) WHERE id = $3",
                )
                .bind(name)
                .bind(email)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE citizen_identities SET last_sign_in_at = $1 \
                     WHERE provider = $2 AND subject_hash = $3",
                )
                .bind(now.millis())
                .bind(c.provider)
                .bind(c.subject_hash)
                .execute(&mut *tx)
                .await?;
                (id, false)
            }
            None => {
                let login = format!("{}:{}", c.provider, &c.subject_hash[..24]);
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO users (login, full_name, email, organisation_id, confirmed) \
                     VALUES ($1, $2, $3, NULL, 1) RETURNING id",
                )
                .bind(login.as_str())
                .bind(name)
                .bind(email)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO citizen_identities \
                     (provider, subject_hash, user_id, created_at, last_sign_in_at) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(c.provider)
                .bind(c.subject_hash)
                .bind(id)
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
                let ev = audit::event(
                    Some(UserId(id)),
                    EntityKind::User,
                    id,
                    "citizen_registered",
                    json!({ "provider": c.provider }),
                    now,
                );
                audit::insert(&mut tx, &ev).await?;
                (id, true)
            }
        };
        tx.commit().await?;
        let user = self
            .user(UserId(id))
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: EntityKind::User,
                key: id.to_string(),
            })?;
        Ok(CitizenSignIn { user, created })
    }

    /// Records a sign-in under way, keyed by the SHA-256 of its `state`; sign-ins older than
    /// `max_age_ms` are purged on the way.
    #[tracing::instrument(skip_all)]
    pub async fn start_oidc_login(
        &self,
        state: &str,
        login: &OidcLogin,
        max_age_ms: i64,
        now: Timestamp,
    ) -> Result<()> {
        if state.len() < 32 || login.nonce.is_empty() || login.code_verifier.len() < 43 {
            return Err(StoreError::Invalid(
                "an OIDC sign-in needs a state of 32+ characters, a nonce and a PKCE verifier"
                    .into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1")
            .bind(now.millis() - max_age_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_logins (state_hash, nonce, code_verifier, return_to, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hex_sha256(state))
        .bind(login.nonce.as_str())
        .bind(login.code_verifier.as_str())
        .bind(login.return_to.as_str())
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes (deletes and returns) the sign-in of `state`: `None` when unknown, already taken
    /// or older than `max_age_ms`.
    #[tracing::instrument(skip_all)]
    pub async fn take_oidc_login(
        &self,
        state: &str,
        max_age_ms: i64,
        now: Timestamp,
    ) -> Result<Option<OidcLogin>> {
        let row = sqlx::query(
            "DELETE FROM oidc_logins WHERE state_hash = $1 \
             RETURNING nonce, code_verifier, return_to, created_at",
        )
        .bind(hex_sha256(state))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let login = OidcLogin {
            nonce: rows::text(&row, "nonce")?,
            code_verifier: rows::text(&row, "code_verifier")?,
            return_to: rows::text(&row, "return_to")?,
            created_at: Timestamp(rows::int(&row, "created_at")?),
        };
        if now.millis() - login.created_at.millis() > max_age_ms {
            return Ok(None);
        }
        Ok(Some(login))
    }

    /// The messages `author` submitted, newest first, at most `limit` (1–500).
    #[tracing::instrument(skip(self))]
    pub async fn messages_of_author(
        &self,
        author: UserId,
        limit: i64,
    ) -> Result<Vec<MessageRecord>> {
        if !(1..=500).contains(&limit) {
            return Err(StoreError::Invalid(format!(
                "a page of messages holds 1 to 500, not {limit}"
            )));
        }
        let sql = format!(
            "SELECT {RECORD_COLS} FROM messages WHERE author_id = $1 ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(author.get())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::message_record).collect()
    }
}
