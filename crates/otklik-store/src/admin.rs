//! Administration from the back-office: staff accounts (create, roles, block), organisations'
//! names and contacts, and the registry fields an administrator sets by hand on a community
//! (owner, verification, required page). Every change is audited in its own transaction.
//!
//! Territories, categories and deadlines are not edited here: they come from the `rules/`
//! files and the directory import.

use otklik_domain::{
    CommunityId, EntityKind, OrganisationId, Role, RoleGrant, Timestamp, User, UserId, Verification,
};
use serde_json::json;
use sqlx::AnyConnection;

use crate::rows::{self, flag};
use crate::{Result, Store, StoreError, audit, directory};

/// Longest login accepted by [`Store::create_staff_user`].
pub const MAX_LOGIN_CHARS: usize = 64;
/// Longest full name, organisation name or contact field.
pub const MAX_ADMIN_TEXT_CHARS: usize = 300;

/// A staff account with what the administration page needs beside the [`User`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// The user with roles.
    pub user: User,
    /// When the account was blocked (`None`: it may sign in).
    pub blocked_at: Option<Timestamp>,
    /// A password is set.
    pub has_password: bool,
}

/// A staff account to create ([`Store::create_staff_user`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStaffUser {
    /// Unique login: Latin letters, digits, `.`, `_`, `-` (1..=[`MAX_LOGIN_CHARS`]).
    pub login: String,
    /// Full name.
    pub full_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Home organisation.
    pub organisation: OrganisationId,
    /// Confirmed at once.
    pub confirmed: bool,
    /// Roles to grant (not [`Role::Citizen`]).
    pub roles: Vec<RoleGrant>,
}

/// An organisation's editable details ([`Store::update_organisation_details`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrganisationDetails {
    /// Full name (required).
    pub name: String,
    /// Short name.
    pub short_name: Option<String>,
    /// Site.
    pub site_url: Option<String>,
    /// Contact e-mail.
    pub contact_email: Option<String>,
    /// Contact phone.
    pub contact_phone: Option<String>,
    /// Postal address.
    pub contact_address: Option<String>,
}

/// Is `login` acceptable for a staff account?
pub fn is_valid_login(login: &str) -> bool {
    !login.is_empty()
        && login.chars().count() <= MAX_LOGIN_CHARS
        && login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn check_text(what: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{what} must not be empty")));
    }
    if value.chars().count() > MAX_ADMIN_TEXT_CHARS {
        return Err(StoreError::Invalid(format!(
            "{what} is longer than {MAX_ADMIN_TEXT_CHARS} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} contains control characters"
        )));
    }
    Ok(())
}

fn user_not_found(user: UserId) -> StoreError {
    StoreError::NotFound {
        entity: EntityKind::User,
        key: user.to_string(),
    }
}

async fn require_organisation(conn: &mut AnyConnection, org: OrganisationId) -> Result<()> {
    if directory::organisation_by_id(conn, org).await?.is_none() {
        return Err(StoreError::NotFound {
            entity: EntityKind::Organisation,
            key: org.to_string(),
        });
    }
    Ok(())
}

async fn require_user(conn: &mut AnyConnection, user: UserId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
        .bind(user.get())
        .fetch_optional(&mut *conn)
        .await?;
    found.map(|_| ()).ok_or_else(|| user_not_found(user))
}

fn grant_json(g: RoleGrant) -> serde_json::Value {
    json!({ "role": g.role.code(), "organisation": g.organisation.get() })
}

impl Store {
    /// Every staff account (users with a home organisation or a role other than citizen),
    /// with whether it is blocked and has a password, by id.
    #[tracing::instrument(skip(self))]
    pub async fn staff_accounts(&self) -> Result<Vec<StaffAccount>> {
        let users = self.users().await?;
        let rows = sqlx::query(
            "SELECT id, blocked_at, CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_pw \
             FROM users",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut extra = std::collections::HashMap::with_capacity(rows.len());
        for r in &rows {
            extra.insert(
                rows::int(r, "id")?,
                (
                    rows::opt_int(r, "blocked_at")?.map(Timestamp),
                    rows::int(r, "has_pw")? == 1,
                ),
            );
        }
        Ok(users
            .into_iter()
            .filter(|u| u.organisation.is_some() || u.roles.iter().any(|g| g.role != Role::Citizen))
            .map(|user| {
                let (blocked_at, has_password) =
                    extra.get(&user.id.get()).copied().unwrap_or((None, false));
                StaffAccount {
                    user,
                    blocked_at,
                    has_password,
                }
            })
            .collect())
    }

    /// One staff account (any user) with its block and password state.
    #[tracing::instrument(skip(self))]
    pub async fn staff_account(&self, id: UserId) -> Result<Option<StaffAccount>> {
        let Some(user) = self.user(id).await? else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT blocked_at, CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_pw \
             FROM users WHERE id = $1",
        )
        .bind(id.get())
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(StaffAccount {
            user,
            blocked_at: rows::opt_int(&row, "blocked_at")?.map(Timestamp),
            has_password: rows::int(&row, "has_pw")? == 1,
        }))
    }

    /// Creates a staff account without a password (set one with
    /// [`Store::set_password_hash`]) and audits it (entity `user`, action `created`), in one
    /// transaction. Fails with [`StoreError::Duplicate`] when the login is taken,
    /// [`StoreError::NotFound`] for an unknown organisation and [`StoreError::Invalid`] for a
    /// bad login, empty or oversize name, or a citizen role.
    #[tracing::instrument(skip(self, new), fields(login = %new.login))]
    pub async fn create_staff_user(
        &self,
        new: &NewStaffUser,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<User> {
        if !is_valid_login(&new.login) {
            return Err(StoreError::Invalid(format!(
                "a login is 1..={MAX_LOGIN_CHARS} Latin letters, digits, '.', '_' or '-'"
            )));
        }
        check_text("full name", &new.full_name, true)?;
        if let Some(e) = &new.email {
            check_text("e-mail", e, false)?;
        }
        if new.roles.iter().any(|g| g.role == Role::Citizen) {
            return Err(StoreError::Invalid(
                "a staff account cannot hold the citizen role".into(),
            ));
        }
        let duplicate = || StoreError::Duplicate {
            entity: EntityKind::User,
            key: new.login.clone(),
        };
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        require_organisation(conn, new.organisation).await?;
        for g in &new.roles {
            require_organisation(conn, g.organisation).await?;
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
            .bind(new.login.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_some() {
            return Err(duplicate());
        }
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (login, full_name, email, organisation_id, confirmed) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.login.as_str())
        .bind(new.full_name.trim())
        .bind(new.email.as_deref())
        .bind(new.organisation.get())
        .bind(flag(new.confirmed))
        .fetch_one(&mut *conn)
        .await;
        let id = match inserted.map_err(StoreError::from) {
            Ok(id) => UserId(id),
            Err(e) if e.is_unique_violation() => return Err(duplicate()),
            Err(e) => return Err(e),
        };
        let mut roles = new.roles.clone();
        roles.sort_by_key(|g| (g.organisation, g.role));
        roles.dedup();
        for g in &roles {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role, organisation_id) VALUES ($1, $2, $3)",
            )
            .bind(id.get())
            .bind(g.role.code())
            .bind(g.organisation.get())
            .execute(&mut *conn)
            .await?;
        }
        let event = audit::event(
            actor,
            EntityKind::User,
            id.get(),
            "created",
            json!({
                "login": new.login,
                "organisation": new.organisation.get(),
                "confirmed": new.confirmed,
                "roles": roles.iter().map(|g| grant_json(*g)).collect::<Vec<_>>(),
            }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        Ok(User {
            id,
            login: new.login.clone(),
            full_name: new.full_name.trim().to_owned(),
            email: new.email.clone(),
            organisation: Some(new.organisation),
            confirmed: new.confirmed,
            roles,
        })
    }

    /// Grants `grant` to `user` and audits it (entity `user`, action `role_granted`). False
    /// when the user held it already (nothing is written).
    #[tracing::instrument(skip(self))]
    pub async fn grant_role(
        &self,
        user: UserId,
        grant: RoleGrant,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<bool> {
        if grant.role == Role::Citizen {
            return Err(StoreError::Invalid(
                "the citizen role is not granted by administrators".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        require_user(conn, user).await?;
        require_organisation(conn, grant.organisation).await?;
        let done = sqlx::query(
            "INSERT INTO user_roles (user_id, role, organisation_id) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, role, organisation_id) DO NOTHING",
        )
        .bind(user.get())
        .bind(grant.role.code())
        .bind(grant.organisation.get())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let event = audit::event(
            actor,
            EntityKind::User,
            user.get(),
            "role_granted",
            grant_json(grant),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes `grant` from `user` and audits it (entity `user`, action `role_revoked`). False
    /// when the user did not hold it.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_role(
        &self,
        user: UserId,
        grant: RoleGrant,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        require_user(conn, user).await?;
        let done = sqlx::query(
            "DELETE FROM user_roles WHERE user_id = $1 AND role = $2 AND organisation_id = $3",
        )
        .bind(user.get())
        .bind(grant.role.code())
        .bind(grant.organisation.get())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let event = audit::event(
            actor,
            EntityKind::User,
            user.get(),
            "role_revoked",
            grant_json(grant),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Blocks (or unblocks) an account and audits it (entity `user`, action `block` or
    /// `unblock`), in one transaction. A blocked account cannot sign in
    /// ([`Store::password_hash`] yields no hash for it) and its sessions end at once. False
    /// when it already was in that state.
    #[tracing::instrument(skip(self))]
    pub async fn set_user_blocked(
        &self,
        user: UserId,
        blocked: bool,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let current: Option<Option<i64>> =
            sqlx::query_scalar("SELECT blocked_at FROM users WHERE id = $1")
                .bind(user.get())
                .fetch_optional(&mut *conn)
                .await?;
        let Some(current) = current else {
            return Err(user_not_found(user));
        };
        if current.is_some() == blocked {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET blocked_at = $1 WHERE id = $2")
            .bind(blocked.then_some(now.millis()))
            .bind(user.get())
            .execute(&mut *conn)
            .await?;
        if blocked {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.get())
                .execute(&mut *conn)
                .await?;
        }
        let event = audit::event(
            actor,
            EntityKind::User,
            user.get(),
            if blocked { "block" } else { "unblock" },
            json!({ "blocked": blocked }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An organisation's contacts `(e-mail, phone, address)`.
    #[tracing::instrument(skip(self))]
    pub async fn organisation_details(
        &self,
        org: OrganisationId,
    ) -> Result<Option<OrganisationDetails>> {
        let row = sqlx::query(
            "SELECT name, short_name, site_url, contact_email, contact_phone, contact_address \
             FROM organisations WHERE id = $1",
        )
        .bind(org.get())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(OrganisationDetails {
                name: rows::text(&r, "name")?,
                short_name: rows::opt_text(&r, "short_name")?,
                site_url: rows::opt_text(&r, "site_url")?,
                contact_email: rows::opt_text(&r, "contact_email")?,
                contact_phone: rows::opt_text(&r, "contact_phone")?,
                contact_address: rows::opt_text(&r, "contact_address")?,
            })
        })
        .transpose()
    }

    /// Sets an organisation's name, short name, site and contacts and audits it (entity
    /// `organisation`, action `details`, with the values before and after), in one
    /// transaction. Empty optional fields are stored as `NULL`.
    #[tracing::instrument(skip(self, details))]
    pub async fn update_organisation_details(
        &self,
        org: OrganisationId,
        details: &OrganisationDetails,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<()> {
        check_text("name", &details.name, true)?;
        let opt = |v: &Option<String>| -> Option<String> {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let new = OrganisationDetails {
            name: details.name.trim().to_owned(),
            short_name: opt(&details.short_name),
            site_url: opt(&details.site_url),
            contact_email: opt(&details.contact_email),
            contact_phone: opt(&details.contact_phone),
            contact_address: opt(&details.contact_address),
        };
        for (what, v) in [
            ("short name", &new.short_name),
            ("site", &new.site_url),
            ("e-mail", &new.contact_email),
            ("phone", &new.contact_phone),
            ("address", &new.contact_address),
        ] {
            if let Some(v) = v {
                check_text(what, v, false)?;
            }
        }
        let Some(before) = self.organisation_details(org).await? else {
            return Err(StoreError::NotFound {
                entity: EntityKind::Organisation,
                key: org.to_string(),
            });
        };
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        sqlx::query(
            "UPDATE organisations SET name = $1, short_name = $2, site_url = $3, \
             contact_email = $4, contact_phone = $5, contact_address = $6 WHERE id = $7",
        )
        .bind(new.name.as_str())
        .bind(new.short_name.as_deref())
        .bind(new.site_url.as_deref())
        .bind(new.contact_email.as_deref())
        .bind(new.contact_phone.as_deref())
        .bind(new.contact_address.as_deref())
        .bind(org.get())
        .execute(&mut *conn)
        .await?;
        let as_json = |d: &OrganisationDetails| {
            json!({
                "name": d.name,
                "short_name": d.short_name,
                "site_url": d.site_url,
                "contact_email": d.contact_email,
                "contact_phone": d.contact_phone,
                "contact_address": d.contact_address,
            })
        };
        let event = audit::event(
            actor,
            EntityKind::Organisation,
            org.get(),
            "details",
            json!({ "from": as_json(&before), "to": as_json(&new) }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets what an administrator decides about a registered community — its organisation,
    /// its verification status and whether it is one of the pages the law requires — and
    /// audits it (entity `community`, action `registry`, before and after), in one
    /// transaction.
    #[tracing::instrument(skip(self))]
    pub async fn set_community_registry(
        &self,
        id: CommunityId,
        organisation: OrganisationId,
        verification: Verification,
        required: bool,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let row = sqlx::query(
            "SELECT organisation_id, verification, required FROM communities WHERE id = $1",
        )
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: EntityKind::Community,
            key: id.to_string(),
        })?;
        require_organisation(conn, organisation).await?;
        let before = json!({
            "organisation": rows::int(&row, "organisation_id")?,
            "verification": rows::text(&row, "verification")?,
            "required": rows::int(&row, "required")? == 1,
        });
        sqlx::query(
            "UPDATE communities SET organisation_id = $1, verification = $2, required = $3 \
             WHERE id = $4",
        )
        .bind(organisation.get())
        .bind(verification.code())
        .bind(flag(required))
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
        let event = audit::event(
            actor,
            EntityKind::Community,
            id.get(),
            "registry",
            json!({
                "from": before,
                "to": {
                    "organisation": organisation.get(),
                    "verification": verification.code(),
                    "required": required,
                },
            }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_plain() {
        assert!(is_valid_login("ivanova.mp"));
        assert!(is_valid_login("a-b_c.1"));
        assert!(!is_valid_login(""));
        assert!(!is_valid_login("иванова"));
        assert!(!is_valid_login("a b"));
        assert!(!is_valid_login("x'; DROP TABLE users; --"));
        assert!(!is_valid_login(&"a".repeat(65)));
    }

    #[test]
    fn texts_are_bounded() {
        assert!(check_text("name", "  ", true).is_err());
        assert!(check_text("name", &"я".repeat(301), false).is_err());
        assert!(check_text("name", "a\u{0}b", false).is_err());
        assert!(check_text("name", "<script>", true).is_ok());
    }
}
