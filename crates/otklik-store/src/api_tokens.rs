//! The JSON API's and Open311's storage: API tokens of integrations and mobile applications,
//! the cursor-paged message listing the API serves, and what an Open311 request carried beside
//! its message.
//!
//! * **Tokens** look like `otk_` followed by 43 base64url characters (32 random bytes from the
//!   operating system). Only their SHA-256 is stored ([`api_token_digest`]); the plaintext is
//!   returned once, by [`Store::create_api_token`], inside an [`ApiSecret`] whose `Debug`
//!   shows only the prefix. A token has a name (unique: for integration submissions it is the
//!   external system's id), an organisation scope (`None` = the whole region), [`ApiScope`]s,
//!   an optional write rate, and creation / last use / revocation times. Creating and revoking
//!   are audited.
//! * **Listing** ([`Store::api_messages`]) filters by organisation (executor or place of
//!   submission), statuses, subcategories, ids and creation time, pages by id.

use std::collections::HashMap;

use base64::Engine as _;
use otklik_domain::{
    EntityKind, MessageId, MessageRecord, MessageStatus, OrganisationId, SubcategoryId, Timestamp,
    UserId,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use crate::audit;
use crate::rows::{self, RECORD_COLS};
use crate::{Result, Store, StoreError};

/// Every API token starts with this.
pub const API_TOKEN_PREFIX: &str = "otk_";
/// Characters of a token after [`API_TOKEN_PREFIX`] (32 bytes in unpadded base64url).
pub const API_TOKEN_BODY_CHARS: usize = 43;
/// Longest token name.
pub const MAX_API_TOKEN_NAME_CHARS: usize = 100;
/// Most messages one [`Store::api_messages`] call returns.
pub const MAX_API_PAGE: i64 = 1000;

/// Database id of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiTokenId(pub i64);

impl std::fmt::Display for ApiTokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiScope {
    /// Submit citizens' messages (`POST /api/v1/messages`, Open311 `POST requests.json`).
    Submit,
    /// Read messages of the token's organisation (or of the region).
    Read,
    /// Hand over messages of an external feedback system (`POST /api/v1/integrations/messages`).
    Integration,
}

impl ApiScope {
    /// Every scope.
    pub const ALL: [ApiScope; 3] = [ApiScope::Submit, ApiScope::Read, ApiScope::Integration];

    /// The stored code («submit», «read», «integration»).
    pub fn code(self) -> &'static str {
        match self {
            ApiScope::Submit => "submit",
            ApiScope::Read => "read",
            ApiScope::Integration => "integration",
        }
    }
}

impl std::fmt::Display for ApiScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for ApiScope {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        ApiScope::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "unknown API scope {s:?} (expected submit, read or integration)"
                ))
            })
    }
}

/// A stored API token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Database id.
    pub id: ApiTokenId,
    /// Unique name; the external system's id for integration submissions.
    pub name: String,
    /// First characters of the token, to tell tokens apart («otk_AbCd»).
    pub prefix: String,
    /// The organisation whose messages it reaches; `None` = the whole region.
    pub organisation: Option<OrganisationId>,
    /// What it may do.
    pub scopes: Vec<ApiScope>,
    /// Write requests per minute; `None` = the server's default.
    pub rate_per_minute: Option<i64>,
    /// Created.
    pub created_at: Timestamp,
    /// Last used (updated at most about once a minute).
    pub last_used_at: Option<Timestamp>,
    /// Revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    /// May the token do `scope`?
    pub fn has_scope(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Not revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// The plaintext of a token, shown once at creation. `Debug` and `Display` show only its
/// prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

impl ApiSecret {
    /// The token itself, for the `Authorization: Bearer` header. Show it to the operator once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiSecret({}…)", display_prefix(&self.0))
    }
}

/// What [`Store::create_api_token`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Unique name (1–100 characters).
    pub name: String,
    /// Organisation scope; `None` = regional.
    pub organisation: Option<OrganisationId>,
    /// At least one scope.
    pub scopes: Vec<ApiScope>,
    /// Write requests per minute; `None` = the server's default.
    pub rate_per_minute: Option<i64>,
}

/// A new token: the stored row and the plaintext, which is not kept anywhere.
#[derive(Debug, Clone)]
pub struct CreatedApiToken {
    /// The stored token.
    pub token: ApiToken,
    /// The plaintext, to hand over once.
    pub secret: ApiSecret,
}

/// Which messages [`Store::api_messages`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiMessageQuery {
    /// Only messages this organisation executes or received through its widget or tokens.
    pub organisation: Option<OrganisationId>,
    /// Only these statuses (any when empty).
    pub statuses: Vec<MessageStatus>,
    /// Only these subcategories (any when empty).
    pub subcategories: Vec<SubcategoryId>,
    /// Only these ids (any when empty).
    pub ids: Vec<MessageId>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created at or before.
    pub created_to: Option<Timestamp>,
    /// Cursor: only ids above (ascending order) or below (newest first) this one.
    pub after: Option<MessageId>,
    /// Newest (highest id) first instead of oldest first.
    pub newest_first: bool,
    /// At most this many, 1..=[`MAX_API_PAGE`].
    pub limit: i64,
}

/// What an Open311 request carried beside its message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Open311Extras {
    /// Latitude as sent (decimal degrees).
    pub lat: Option<String>,
    /// Longitude as sent.
    pub lon: Option<String>,
    /// A photo's URL.
    pub media_url: Option<String>,
    /// The requester's first name.
    pub first_name: Option<String>,
    /// The requester's last name.
    pub last_name: Option<String>,
    /// The requester's phone.
    pub phone: Option<String>,
    /// The client device's id.
    pub device_id: Option<String>,
    /// The requester's account in the client.
    pub account_id: Option<String>,
}

/// The hex SHA-256 of a token: what the `api_tokens` table keys tokens by.
pub fn api_token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Does `token` look like one of ours (prefix, length, alphabet)? Checked before any lookup.
pub fn is_well_formed_api_token(token: &str) -> bool {
    token.strip_prefix(API_TOKEN_PREFIX).is_some_and(|body| {
        body.len() == API_TOKEN_BODY_CHARS
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn display_prefix(token: &str) -> String {
    token.chars().take(API_TOKEN_PREFIX.len() + 4).collect()
}

fn generate_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Invalid(format!("no randomness for an API token: {e}")))?;
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    Ok(format!("{API_TOKEN_PREFIX}{body}"))
}

const TOKEN_COLS: &str = "id, name, prefix, organisation_id, scopes, rate_per_minute, created_at, \
     last_used_at, revoked_at";

fn token_row(row: &sqlx::any::AnyRow) -> Result<ApiToken> {
    let scopes_text = rows::text(row, "scopes")?;
    let codes: Vec<String> = serde_json::from_str(&scopes_text).map_err(|e| {
        StoreError::Invalid(format!("column scopes holds malformed JSON list: {e}"))
    })?;
    let scopes = codes
        .iter()
        .map(|c| c.parse::<ApiScope>())
        .collect::<Result<Vec<_>>>()?;
    Ok(ApiToken {
        id: ApiTokenId(rows::int(row, "id")?),
        name: rows::text(row, "name")?,
        prefix: rows::text(row, "prefix")?,
        organisation: rows::opt_int(row, "organisation_id")?.map(OrganisationId),
        scopes,
        rate_per_minute: rows::opt_int(row, "rate_per_minute")?,
        created_at: Timestamp(rows::int(row, "created_at")?),
        last_used_at: rows::opt_int(row, "last_used_at")?.map(Timestamp),
        revoked_at: rows::opt_int(row, "revoked_at")?.map(Timestamp),
    })
}

fn check_new(new: &NewApiToken) -> Result<(String, Vec<ApiScope>)> {
    let name = new.name.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_API_TOKEN_NAME_CHARS {
        return Err(StoreError::Invalid(format!(
            "an API token's name has 1..={MAX_API_TOKEN_NAME_CHARS} characters, got {n}"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "an API token's name must not contain control characters".into(),
        ));
    }
    let mut scopes = new.scopes.clone();
    scopes.sort_unstable();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(StoreError::Invalid(
            "an API token needs at least one scope".into(),
        ));
    }
    if let Some(r) = new.rate_per_minute
        && r <= 0
    {
        return Err(StoreError::Invalid(format!(
            "rate per minute must be positive, got {r}"
        )));
    }
    Ok((name.to_owned(), scopes))
}

impl Store {
    /// Creates a token and returns its plaintext, the only time it is available. Fails with
    /// [`StoreError::Invalid`] on an empty or taken name, no scopes, a non-positive rate, and
    /// with [`StoreError::NotFound`] on an unknown organisation. Audited (`api_token:created`
    /// on the organisation, entity id 0 for a regional token).
    #[tracing::instrument(skip(self, new), fields(name = %new.name))]
    pub async fn create_api_token(
        &self,
        new: &NewApiToken,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<CreatedApiToken> {
        let (name, scopes) = check_new(new)?;
        let secret = generate_secret()?;
        let digest = api_token_digest(&secret);
        let prefix = display_prefix(&secret);
        let scopes_json = rows::json_list(scopes.iter().map(|s| s.code()));
        let mut tx = self.begin_write().await?;
        if let Some(org) = new.organisation {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT id FROM organisations WHERE id = $1")
                    .bind(org.get())
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.is_none() {
                return Err(StoreError::NotFound {
                    entity: EntityKind::Organisation,
                    key: org.to_string(),
                });
            }
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1")
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Invalid(format!(
                "an API token named {name:?} exists already"
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, token_hash, prefix, organisation_id, scopes, \
             rate_per_minute, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&name)
        .bind(&digest)
        .bind(&prefix)
        .bind(new.organisation.map(OrganisationId::get))
        .bind(&scopes_json)
        .bind(new.rate_per_minute)
        .bind(now.millis())
        .fetch_one(&mut *tx)
        .await?;
        let ev = audit::event(
            actor,
            EntityKind::Organisation,
            new.organisation.map_or(0, OrganisationId::get),
            "api_token:created",
            json!({"token_id": id, "name": name, "prefix": prefix,
                   "scopes": scopes.iter().map(|s| s.code()).collect::<Vec<_>>(),
                   "rate_per_minute": new.rate_per_minute}),
            now,
        );
        audit::insert(&mut tx, &ev).await?;
        tx.commit().await?;
        Ok(CreatedApiToken {
            token: ApiToken {
                id: ApiTokenId(id),
                name,
                prefix,
                organisation: new.organisation,
                scopes,
                rate_per_minute: new.rate_per_minute,
                created_at: now,
                last_used_at: None,
                revoked_at: None,
            },
            secret: ApiSecret(secret),
        })
    }

    /// Every token, revoked ones included, by id.
    #[tracing::instrument(skip(self))]
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_row).collect()
    }

    /// One token by id.
    #[tracing::instrument(skip(self))]
    pub async fn api_token(&self, id: ApiTokenId) -> Result<Option<ApiToken>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_row).transpose()
    }

    /// The active token whose plaintext is `token`; `None` for a malformed, unknown or revoked
    /// one. Does not record the use (see [`Store::touch_api_token`]).
    #[tracing::instrument(skip(self, token))]
    pub async fn authenticate_api_token(&self, token: &str) -> Result<Option<ApiToken>> {
        if !is_well_formed_api_token(token) {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        )))
        .bind(api_token_digest(token))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_row).transpose()
    }

    /// Records a use of the token at `now`, unless one was recorded within the last minute
    /// (so that busy tokens do not turn every request into a write). True when written.
    #[tracing::instrument(skip(self))]
    pub async fn touch_api_token(&self, id: ApiTokenId, now: Timestamp) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(now.millis())
        .bind(id.0)
        .bind(now.millis().saturating_sub(60_000))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes a token: it authenticates nothing from now on. False when it was revoked
    /// already; [`StoreError::NotFound`]-like `Invalid` for an unknown id. Audited.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_api_token(
        &self,
        id: ApiTokenId,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM api_tokens WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(token) = row.as_ref().map(token_row).transpose()? else {
            return Err(StoreError::Invalid(format!("no API token with id {id}")));
        };
        if token.revoked_at.is_some() {
            return Ok(false);
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now.millis())
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
        let ev = audit::event(
            actor,
            EntityKind::Organisation,
            token.organisation.map_or(0, OrganisationId::get),
            "api_token:revoked",
            json!({"token_id": id.0, "name": token.name, "prefix": token.prefix}),
            now,
        );
        audit::insert(&mut tx, &ev).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Messages for the API, with their workflow fields, by id (see [`ApiMessageQuery`]).
    #[tracing::instrument(skip(self))]
    pub async fn api_messages(&self, q: &ApiMessageQuery) -> Result<Vec<MessageRecord>> {
        if !(1..=MAX_API_PAGE).contains(&q.limit) {
            return Err(StoreError::Invalid(format!(
                "limit must be within 1..={MAX_API_PAGE}, got {}",
                q.limit
            )));
        }
        if q.ids.len() > 1000 {
            return Err(StoreError::Invalid("at most 1000 ids at once".into()));
        }
        let mut sql = format!("SELECT {RECORD_COLS} FROM messages WHERE 1 = 1");
        let mut p = Params::default();
        if let Some(org) = q.organisation {
            let o = p.push(Bind::Int(org.get()));
            sql.push_str(&format!(
                " AND (executor_id = {o} OR submitted_via_id = {o})"
            ));
        }
        if !q.statuses.is_empty() {
            let list = p.list(q.statuses.iter().map(|s| Bind::Text(s.code().to_owned())));
            sql.push_str(&format!(" AND status IN ({list})"));
        }
        if !q.subcategories.is_empty() {
            let list = p.list(q.subcategories.iter().map(|s| Bind::Text(s.0.clone())));
            sql.push_str(&format!(" AND subcategory IN ({list})"));
        }
        if !q.ids.is_empty() {
            let list = p.list(q.ids.iter().map(|i| Bind::Int(i.get())));
            sql.push_str(&format!(" AND id IN ({list})"));
        }
        if let Some(t) = q.created_from {
            let x = p.push(Bind::Int(t.millis()));
            sql.push_str(&format!(" AND created_at >= {x}"));
        }
        if let Some(t) = q.created_to {
            let x = p.push(Bind::Int(t.millis()));
            sql.push_str(&format!(" AND created_at <= {x}"));
        }
        if let Some(after) = q.after {
            let x = p.push(Bind::Int(after.get()));
            let op = if q.newest_first { "<" } else { ">" };
            sql.push_str(&format!(" AND id {op} {x}"));
        }
        let x = p.push(Bind::Int(q.limit));
        let order = if q.newest_first { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY id {order} LIMIT {x}"));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for b in p.binds {
            query = match b {
                Bind::Int(i) => query.bind(i),
                Bind::Text(s) => query.bind(s),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(rows::message_record).collect()
    }

    /// Keeps what an Open311 request carried beside message `message`, submitted with token
    /// `token`. Idempotent: a replayed request keeps the first row.
    #[tracing::instrument(skip(self, extras))]
    pub async fn record_open311_request(
        &self,
        message: MessageId,
        token: ApiTokenId,
        extras: &Open311Extras,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO open311_requests (message_id, token_id, lat, lon, media_url, first_name, \
             last_name, phone, device_id, account_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message.get())
        .bind(token.0)
        .bind(extras.lat.as_deref())
        .bind(extras.lon.as_deref())
        .bind(extras.media_url.as_deref())
        .bind(extras.first_name.as_deref())
        .bind(extras.last_name.as_deref())
        .bind(extras.phone.as_deref())
        .bind(extras.device_id.as_deref())
        .bind(extras.account_id.as_deref())
        .bind(now.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The Open311 extras of these messages (those that have some).
    #[tracing::instrument(skip(self, ids), fields(n = ids.len()))]
    pub async fn open311_extras(
        &self,
        ids: &[MessageId],
    ) -> Result<HashMap<MessageId, Open311Extras>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT message_id, lat, lon, media_url, first_name, last_name, phone, device_id, \
                 account_id FROM open311_requests WHERE message_id IN ({list})"
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.get());
            }
            for row in q.fetch_all(&self.pool).await? {
                out.insert(
                    MessageId(rows::int(&row, "message_id")?),
                    Open311Extras {
                        lat: rows::opt_text(&row, "lat")?,
                        lon: rows::opt_text(&row, "lon")?,
                        media_url: rows::opt_text(&row, "media_url")?,
                        first_name: rows::opt_text(&row, "first_name")?,
                        last_name: rows::opt_text(&row, "last_name")?,
                        phone: rows::opt_text(&row, "phone")?,
                        device_id: rows::opt_text(&row, "device_id")?,
                        account_id: rows::opt_text(&row, "account_id")?,
                    },
                );
            }
        }
        Ok(out)
    }
}

enum Bind {
    Int(i64),
    Text(String),
}

/// Numbered placeholders and their values, in order.
#[derive(Default)]
struct Params {
    binds: Vec<Bind>,
}

impl Params {
    fn push(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn list(&mut self, items: impl IntoIterator<Item = Bind>) -> String {
        items
            .into_iter()
            .map(|b| self.push(b))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_differ() {
        let a = generate_secret().unwrap_or_default();
        let b = generate_secret().unwrap_or_default();
        assert!(is_well_formed_api_token(&a), "{a}");
        assert!(is_well_formed_api_token(&b));
        assert_ne!(a, b);
        assert!(!is_well_formed_api_token("otk_short"));
        assert!(!is_well_formed_api_token(&a.replace("otk_", "xyz_")));
        assert!(!is_well_formed_api_token(&format!(
            "{}'",
            &a[..a.len() - 1]
        )));
        assert_eq!(api_token_digest(&a).len(), 64);
    }

    #[test]
    fn secrets_are_hidden_from_debug() {
        let s = ApiSecret("otk_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq".into());
        let shown = format!("{s:?}");
        assert!(shown.contains("otk_ABCD"), "{shown}");
        assert!(!shown.contains("EFGH"), "{shown}");
        let created = CreatedApiToken {
            token: ApiToken {
                id: ApiTokenId(1),
                name: "app".into(),
                prefix: "otk_ABCD".into(),
                organisation: None,
                scopes: vec![ApiScope::Read],
                rate_per_minute: None,
                created_at: Timestamp(0),
                last_used_at: None,
                revoked_at: None,
            },
            secret: s,
        };
        assert!(!format!("{created:?}").contains("EFGH"));
    }

    #[test]
    fn scopes_parse() {
        for s in ApiScope::ALL {
            assert_eq!(s.code().parse::<ApiScope>().ok(), Some(s));
        }
        assert!("admin".parse::<ApiScope>().is_err());
    }
}
