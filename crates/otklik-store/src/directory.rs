//! The directory: territories, organisations, users with roles, official communities, sources.
//! Imports are all-or-nothing and resolve codes inside their transaction.

use std::collections::{BTreeMap, HashMap};

use otklik_domain::directory::{
    DirectoryBatch, NewCommunity, NewOrganisation, NewSource, NewTerritory, NewUser,
};
use otklik_domain::{
    CommunityId, EntityKind, MessageStatus, Network, OfficialCommunity, Onboarding, OrgKind,
    Organisation, OrganisationId, Role, RoleGrant, Source, SourceId, Territory, TerritoryId,
    Timestamp, User, UserId,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::rows::{
    self, COMMUNITY_COLS, ORGANISATION_COLS, SOURCE_COLS, TERRITORY_COLS, USER_COLS, flag,
    json_list,
};
use crate::{Result, Store, StoreError};
use crate::{audit, communities};

/// What an import did to one kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindSummary {
    /// New rows.
    pub created: u64,
    /// Existing rows (same natural key) whose values changed.
    pub updated: u64,
    /// Existing rows that already held exactly these values.
    pub unchanged: u64,
}

impl KindSummary {
    fn to_json(self) -> serde_json::Value {
        json!({ "created": self.created, "updated": self.updated, "unchanged": self.unchanged })
    }
}

/// What [`Store::import_directory`] did, per kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Territories.
    pub territories: KindSummary,
    /// Organisations.
    pub organisations: KindSummary,
    /// Users (a change of roles counts as an update).
    pub users: KindSummary,
    /// Official communities.
    pub communities: KindSummary,
    /// Collector sources.
    pub sources: KindSummary,
}

impl ImportSummary {
    /// Rows created, all kinds together.
    pub fn created(&self) -> u64 {
        self.kinds().iter().map(|k| k.created).sum()
    }

    /// Rows updated, all kinds together.
    pub fn updated(&self) -> u64 {
        self.kinds().iter().map(|k| k.updated).sum()
    }

    /// Rows left as they were, all kinds together.
    pub fn unchanged(&self) -> u64 {
        self.kinds().iter().map(|k| k.unchanged).sum()
    }

    fn kinds(&self) -> [KindSummary; 5] {
        [
            self.territories,
            self.organisations,
            self.users,
            self.communities,
            self.sources,
        ]
    }

    fn to_json(self) -> serde_json::Value {
        json!({
            "territories": self.territories.to_json(),
            "organisations": self.organisations.to_json(),
            "users": self.users.to_json(),
            "communities": self.communities.to_json(),
            "sources": self.sources.to_json(),
        })
    }
}

impl std::fmt::Display for KindSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} new, {} updated, {} unchanged",
            self.created, self.updated, self.unchanged
        )
    }
}

impl std::fmt::Display for ImportSummary {
    /// One line: `territories: 3 new, 0 updated, 0 unchanged; organisations: …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "territories: {}; organisations: {}; users: {}; communities: {}; sources: {}",
            self.territories, self.organisations, self.users, self.communities, self.sources
        )
    }
}

/// Sizes of the directory and of the message queue, for dashboards and status reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryCounts {
    /// Territories.
    pub territories: i64,
    /// Organisations, all kinds.
    pub organisations: i64,
    /// Organisations per kind; every kind is present (0 when none).
    pub organisations_by_kind: BTreeMap<OrgKind, i64>,
    /// Users.
    pub users: i64,
    /// Official communities.
    pub communities: i64,
    /// Collector sources.
    pub sources: i64,
    /// Messages, all statuses.
    pub messages: i64,
    /// Messages per status; every status is present (0 when none).
    pub messages_by_status: BTreeMap<MessageStatus, i64>,
}

impl DirectoryCounts {
    /// The directory sizes as labelled rows in Russian, for status pages: territories,
    /// organisations (then one row per kind), users, communities, sources.
    pub fn rows_ru(&self) -> Vec<(String, i64)> {
        let mut rows = vec![
            ("Территории".to_owned(), self.territories),
            ("Организации".to_owned(), self.organisations),
        ];
        for (kind, n) in &self.organisations_by_kind {
            rows.push((format!("— {}", kind.label_ru()), *n));
        }
        rows.push(("Пользователи".to_owned(), self.users));
        rows.push(("Госпаблики".to_owned(), self.communities));
        rows.push(("Источники".to_owned(), self.sources));
        rows
    }

    /// Messages per status as labelled rows in Russian (every status, in workflow order),
    /// then the total.
    pub fn messages_ru(&self) -> Vec<(String, i64)> {
        let mut rows: Vec<(String, i64)> = self
            .messages_by_status
            .iter()
            .map(|(status, n)| (status.label_ru().to_owned(), *n))
            .collect();
        rows.push(("Всего".to_owned(), self.messages));
        rows
    }
}

/// Codes resolved so far in one import (batch records and stored rows alike).
#[derive(Default)]
struct Resolver {
    territories: HashMap<String, TerritoryId>,
    organisations: HashMap<String, OrganisationId>,
}

impl Resolver {
    async fn territory(&mut self, conn: &mut AnyConnection, code: &str) -> Result<TerritoryId> {
        if let Some(id) = self.territories.get(code) {
            return Ok(*id);
        }
        match territory_by_code(conn, code).await? {
            Some(t) => {
                self.territories.insert(code.to_owned(), t.id);
                Ok(t.id)
            }
            None => Err(StoreError::UnknownReference {
                kind: EntityKind::Territory,
                code: code.to_owned(),
            }),
        }
    }

    async fn organisation(
        &mut self,
        conn: &mut AnyConnection,
        code: &str,
    ) -> Result<OrganisationId> {
        if let Some(id) = self.organisations.get(code) {
            return Ok(*id);
        }
        match organisation_by_code(conn, code).await? {
            Some(o) => {
                self.organisations.insert(code.to_owned(), o.id);
                Ok(o.id)
            }
            None => Err(StoreError::UnknownReference {
                kind: EntityKind::Organisation,
                code: code.to_owned(),
            }),
        }
    }
}

fn require_key(what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(StoreError::Invalid(format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}

pub(crate) async fn territory_by_code(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<Territory>> {
    let sql = format!("SELECT {TERRITORY_COLS} FROM territories WHERE code = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::territory).transpose()
}

pub(crate) async fn organisation_by_code(
    conn: &mut AnyConnection,
    code: &str,
) -> Result<Option<Organisation>> {
    let sql = format!("SELECT {ORGANISATION_COLS} FROM organisations WHERE code = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::organisation).transpose()
}

pub(crate) async fn organisation_by_id(
    conn: &mut AnyConnection,
    id: OrganisationId,
) -> Result<Option<Organisation>> {
    let sql = format!("SELECT {ORGANISATION_COLS} FROM organisations WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::organisation).transpose()
}

async fn roles_of(conn: &mut AnyConnection, user: UserId) -> Result<Vec<RoleGrant>> {
    let rows = sqlx::query(
        "SELECT role, organisation_id FROM user_roles WHERE user_id = $1 \
         ORDER BY organisation_id, role",
    )
    .bind(user.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RoleGrant {
                role: rows::text(r, "role")?.parse::<Role>()?,
                organisation: OrganisationId(rows::int(r, "organisation_id")?),
            })
        })
        .collect()
}

/// How to find a user.
#[derive(Clone, Copy)]
enum UserKey<'a> {
    Login(&'a str),
    Id(UserId),
}

async fn find_user(conn: &mut AnyConnection, key: UserKey<'_>) -> Result<Option<User>> {
    let row = match key {
        UserKey::Login(login) => {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {USER_COLS} FROM users WHERE login = $1"
            )))
            .bind(login)
            .fetch_optional(&mut *conn)
            .await?
        }
        UserKey::Id(id) => {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {USER_COLS} FROM users WHERE id = $1"
            )))
            .bind(id.get())
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    match row {
        Some(row) => {
            let mut user = rows::user(&row)?;
            user.roles = roles_of(conn, user.id).await?;
            Ok(Some(user))
        }
        None => Ok(None),
    }
}

fn normalised_roles(mut roles: Vec<RoleGrant>) -> Vec<RoleGrant> {
    roles.sort_by_key(|g| (g.organisation, g.role));
    roles.dedup();
    roles
}

async fn import_territory(
    conn: &mut AnyConnection,
    res: &mut Resolver,
    t: &NewTerritory,
    sum: &mut KindSummary,
) -> Result<()> {
    require_key("territory code", &t.code)?;
    let parent = match &t.parent_code {
        Some(code) => Some(res.territory(conn, code).await?),
        None => None,
    };
    let variants = json_list(t.name_variants.iter().map(String::as_str));
    match territory_by_code(conn, &t.code).await? {
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO territories (code, kind, name, parent_id, name_variants) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(t.code.as_str())
            .bind(t.kind.code())
            .bind(t.name.as_str())
            .bind(parent.map(TerritoryId::get))
            .bind(variants)
            .fetch_one(&mut *conn)
            .await?;
            res.territories.insert(t.code.clone(), TerritoryId(id));
            sum.created += 1;
        }
        Some(old) => {
            res.territories.insert(t.code.clone(), old.id);
            let new = Territory {
                id: old.id,
                code: t.code.clone(),
                kind: t.kind,
                name: t.name.clone(),
                parent,
                name_variants: t.name_variants.clone(),
            };
            if new == old {
                sum.unchanged += 1;
            } else {
                sqlx::query(
                    "UPDATE territories SET kind = $1, name = $2, parent_id = $3, \
                     name_variants = $4 WHERE id = $5",
                )
                .bind(t.kind.code())
                .bind(t.name.as_str())
                .bind(parent.map(TerritoryId::get))
                .bind(variants)
                .bind(old.id.get())
                .execute(&mut *conn)
                .await?;
                sum.updated += 1;
            }
        }
    }
    Ok(())
}

async fn import_organisation(
    conn: &mut AnyConnection,
    res: &mut Resolver,
    o: &NewOrganisation,
    sum: &mut KindSummary,
) -> Result<()> {
    require_key("organisation code", &o.code)?;
    let parent = match &o.parent_code {
        Some(code) => Some(res.organisation(conn, code).await?),
        None => None,
    };
    let territory = res.territory(conn, &o.territory_code).await?;
    let competences = json_list(o.competences.iter().map(|c| c.0.as_str()));
    let existing = organisation_by_code(conn, &o.code).await?;
    if let Some(old) = &existing {
        res.organisations.insert(o.code.clone(), old.id);
        let new = Organisation {
            id: old.id,
            code: o.code.clone(),
            kind: o.kind,
            name: o.name.clone(),
            short_name: o.short_name.clone(),
            parent,
            territory,
            competences: o.competences.clone(),
            onboarding: o.onboarding,
            site_url: o.site_url.clone(),
        };
        if &new == old {
            sum.unchanged += 1;
            return Ok(());
        }
    }
    let query = match &existing {
        None => sqlx::query(
            "INSERT INTO organisations (kind, name, short_name, parent_id, territory_id, \
             competences, account_ready, training_done, widget_installed, site_url, code) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        ),
        Some(_) => sqlx::query(
            "UPDATE organisations SET kind = $1, name = $2, short_name = $3, parent_id = $4, \
             territory_id = $5, competences = $6, account_ready = $7, training_done = $8, \
             widget_installed = $9, site_url = $10 WHERE code = $11 RETURNING id",
        ),
    };
    let row = query
        .bind(o.kind.code())
        .bind(o.name.as_str())
        .bind(o.short_name.as_deref())
        .bind(parent.map(OrganisationId::get))
        .bind(territory.get())
        .bind(competences)
        .bind(flag(o.onboarding.account_ready))
        .bind(flag(o.onboarding.training_done))
        .bind(flag(o.onboarding.widget_installed))
        .bind(o.site_url.as_deref())
        .bind(o.code.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let id = OrganisationId(rows::int(&row, "id")?);
    res.organisations.insert(o.code.clone(), id);
    if existing.is_some() {
        sum.updated += 1;
    } else {
        sum.created += 1;
    }
    Ok(())
}

async fn import_user(
    conn: &mut AnyConnection,
    res: &mut Resolver,
    u: &NewUser,
    sum: &mut KindSummary,
) -> Result<()> {
    require_key("user login", &u.login)?;
    let organisation = match &u.organisation_code {
        Some(code) => Some(res.organisation(conn, code).await?),
        None => None,
    };
    let mut roles = Vec::with_capacity(u.roles.len());
    for grant in &u.roles {
        roles.push(RoleGrant {
            role: grant.role,
            organisation: res.organisation(conn, &grant.organisation_code).await?,
        });
    }
    let roles = normalised_roles(roles);
    let existing = find_user(conn, UserKey::Login(&u.login)).await?;
    let (id, roles_changed) = match existing {
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (login, full_name, email, organisation_id, confirmed) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(u.login.as_str())
            .bind(u.full_name.as_str())
            .bind(u.email.as_deref())
            .bind(organisation.map(OrganisationId::get))
            .bind(flag(u.confirmed))
            .fetch_one(&mut *conn)
            .await?;
            sum.created += 1;
            (UserId(id), true)
        }
        Some(old) => {
            let roles_changed = normalised_roles(old.roles.clone()) != roles;
            let fields_changed = old.full_name != u.full_name
                || old.email != u.email
                || old.organisation != organisation
                || old.confirmed != u.confirmed;
            if !fields_changed && !roles_changed {
                sum.unchanged += 1;
                return Ok(());
            }
            sqlx::query(
                "UPDATE users SET full_name = $1, email = $2, organisation_id = $3, \
                 confirmed = $4 WHERE id = $5",
            )
            .bind(u.full_name.as_str())
            .bind(u.email.as_deref())
            .bind(organisation.map(OrganisationId::get))
            .bind(flag(u.confirmed))
            .bind(old.id.get())
            .execute(&mut *conn)
            .await?;
            sum.updated += 1;
            (old.id, roles_changed)
        }
    };
    if roles_changed {
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(id.get())
            .execute(&mut *conn)
            .await?;
        for grant in &roles {
            sqlx::query(
                "INSERT INTO user_roles (user_id, role, organisation_id) VALUES ($1, $2, $3)",
            )
            .bind(id.get())
            .bind(grant.role.code())
            .bind(grant.organisation.get())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

async fn import_community(
    conn: &mut AnyConnection,
    res: &mut Resolver,
    c: &NewCommunity,
    sum: &mut KindSummary,
    now: Timestamp,
) -> Result<()> {
    require_key("community external id", &c.external_id)?;
    let organisation = res.organisation(conn, &c.organisation_code).await?;
    let sql =
        format!("SELECT {COMMUNITY_COLS} FROM communities WHERE network = $1 AND external_id = $2");
    let existing = sqlx::query(AssertSqlSafe(sql))
        .bind(c.network.code())
        .bind(c.external_id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(rows::community)
        .transpose()?;
    match existing {
        None => {
            // The law requires VK and OK pages: imported pages there count towards it.
            let required = matches!(c.network, Network::Vk | Network::Ok);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO communities (url, title, organisation_id, verification, network, \
                 external_id, required, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 RETURNING id",
            )
            .bind(c.url.as_str())
            .bind(c.title.as_str())
            .bind(organisation.get())
            .bind(c.verification.code())
            .bind(c.network.code())
            .bind(c.external_id.as_str())
            .bind(flag(required))
            .bind(now.millis())
            .fetch_one(&mut *conn)
            .await?;
            communities::link_community(conn, CommunityId(id)).await?;
            sum.created += 1;
        }
        Some(old) => {
            let new = OfficialCommunity {
                id: old.id,
                network: c.network,
                external_id: c.external_id.clone(),
                url: c.url.clone(),
                title: c.title.clone(),
                organisation,
                verification: c.verification,
            };
            if new == old {
                sum.unchanged += 1;
            } else {
                sqlx::query(
                    "UPDATE communities SET url = $1, title = $2, organisation_id = $3, \
                     verification = $4 WHERE id = $5",
                )
                .bind(c.url.as_str())
                .bind(c.title.as_str())
                .bind(organisation.get())
                .bind(c.verification.code())
                .bind(old.id.get())
                .execute(&mut *conn)
                .await?;
                sum.updated += 1;
            }
        }
    }
    Ok(())
}

async fn import_source(
    conn: &mut AnyConnection,
    res: &mut Resolver,
    s: &NewSource,
    sum: &mut KindSummary,
) -> Result<()> {
    require_key("source name", &s.name)?;
    let territory = match &s.territory_code {
        Some(code) => Some(res.territory(conn, code).await?),
        None => None,
    };
    let sql = format!("SELECT {SOURCE_COLS} FROM sources WHERE name = $1");
    let existing = sqlx::query(AssertSqlSafe(sql))
        .bind(s.name.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(rows::source)
        .transpose()?;
    match existing {
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sources (network, target, schedule, territory_id, enabled, name) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(s.network.code())
            .bind(s.target.as_str())
            .bind(s.schedule.as_str())
            .bind(territory.map(TerritoryId::get))
            .bind(flag(s.enabled))
            .bind(s.name.as_str())
            .fetch_one(&mut *conn)
            .await?;
            communities::link_source(conn, SourceId(id)).await?;
            sum.created += 1;
        }
        Some(old) => {
            let new = Source {
                id: old.id,
                name: s.name.clone(),
                network: s.network,
                target: s.target.clone(),
                schedule: s.schedule.clone(),
                territory,
                enabled: s.enabled,
            };
            if new == old {
                sum.unchanged += 1;
            } else {
                sqlx::query(
                    "UPDATE sources SET network = $1, target = $2, schedule = $3, \
                     territory_id = $4, enabled = $5 WHERE id = $6",
                )
                .bind(s.network.code())
                .bind(s.target.as_str())
                .bind(s.schedule.as_str())
                .bind(territory.map(TerritoryId::get))
                .bind(flag(s.enabled))
                .bind(old.id.get())
                .execute(&mut *conn)
                .await?;
                communities::link_source(conn, old.id).await?;
                sum.updated += 1;
            }
        }
    }
    Ok(())
}

async fn count(conn: &mut AnyConnection, table: &str) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

async fn count_by(
    conn: &mut AnyConnection,
    table: &str,
    column: &str,
) -> Result<Vec<(String, i64)>> {
    let sql = format!("SELECT {column} AS k, COUNT(*) AS n FROM {table} GROUP BY {column}");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok((rows::text(r, "k")?, rows::int(r, "n")?)))
        .collect()
}

impl Store {
    /// Creates or updates every record of `batch` in ONE transaction: all of it lands, or
    /// none of it does.
    ///
    /// Records are upserted by natural key (territory and organisation `code`, user `login`,
    /// community `(network, external_id)`, source `name`), in the batch's order: territories,
    /// organisations, users, communities, sources. A `*_code` reference is resolved against
    /// records earlier in the batch and rows already stored; one that names nothing fails the
    /// whole import with [`StoreError::UnknownReference`]. A user's roles are replaced by the
    /// record's roles. One audit event (entity `import`, id 0, action `import`) records the
    /// counts.
    #[tracing::instrument(skip(self, batch), fields(records = batch.len()))]
    pub async fn import_directory(
        &self,
        batch: &DirectoryBatch,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<ImportSummary> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let mut res = Resolver::default();
        let mut sum = ImportSummary::default();
        for t in &batch.territories {
            import_territory(conn, &mut res, t, &mut sum.territories).await?;
        }
        for o in &batch.organisations {
            import_organisation(conn, &mut res, o, &mut sum.organisations).await?;
        }
        for u in &batch.users {
            import_user(conn, &mut res, u, &mut sum.users).await?;
        }
        for c in &batch.communities {
            import_community(conn, &mut res, c, &mut sum.communities, now).await?;
        }
        for s in &batch.sources {
            import_source(conn, &mut res, s, &mut sum.sources).await?;
        }
        let event = audit::event(
            actor,
            EntityKind::Import,
            0,
            "import",
            json!({ "records": batch.len(), "summary": sum.to_json() }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        tracing::info!(
            created = sum.created(),
            updated = sum.updated(),
            unchanged = sum.unchanged(),
            "directory imported"
        );
        Ok(sum)
    }

    /// All territories, by id.
    #[tracing::instrument(skip(self))]
    pub async fn territories(&self) -> Result<Vec<Territory>> {
        let sql = format!("SELECT {TERRITORY_COLS} FROM territories ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::territory).collect()
    }

    /// A territory by its code.
    #[tracing::instrument(skip(self))]
    pub async fn territory_by_code(&self, code: &str) -> Result<Option<Territory>> {
        let mut conn = self.pool.acquire().await?;
        territory_by_code(&mut conn, code).await
    }

    /// All organisations, by id.
    #[tracing::instrument(skip(self))]
    pub async fn organisations(&self) -> Result<Vec<Organisation>> {
        let sql = format!("SELECT {ORGANISATION_COLS} FROM organisations ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::organisation).collect()
    }

    /// An organisation by its code.
    #[tracing::instrument(skip(self))]
    pub async fn organisation_by_code(&self, code: &str) -> Result<Option<Organisation>> {
        let mut conn = self.pool.acquire().await?;
        organisation_by_code(&mut conn, code).await
    }

    /// An organisation by id.
    #[tracing::instrument(skip(self))]
    pub async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>> {
        let mut conn = self.pool.acquire().await?;
        organisation_by_id(&mut conn, id).await
    }

    /// All users with their roles, by id.
    #[tracing::instrument(skip(self))]
    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        let mut users = rows.iter().map(rows::user).collect::<Result<Vec<_>>>()?;
        let grants = sqlx::query(
            "SELECT user_id, role, organisation_id FROM user_roles \
             ORDER BY user_id, organisation_id, role",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut by_user: HashMap<i64, Vec<RoleGrant>> = HashMap::new();
        for g in &grants {
            by_user
                .entry(rows::int(g, "user_id")?)
                .or_default()
                .push(RoleGrant {
                    role: rows::text(g, "role")?.parse::<Role>()?,
                    organisation: OrganisationId(rows::int(g, "organisation_id")?),
                });
        }
        for u in &mut users {
            u.roles = by_user.remove(&u.id.get()).unwrap_or_default();
        }
        Ok(users)
    }

    /// A user (with roles) by login.
    #[tracing::instrument(skip(self))]
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let mut conn = self.pool.acquire().await?;
        find_user(&mut conn, UserKey::Login(login)).await
    }

    /// A user (with roles) by id.
    #[tracing::instrument(skip(self))]
    pub async fn user(&self, id: UserId) -> Result<Option<User>> {
        let mut conn = self.pool.acquire().await?;
        find_user(&mut conn, UserKey::Id(id)).await
    }

    /// All official communities, by id.
    #[tracing::instrument(skip(self))]
    pub async fn communities(&self) -> Result<Vec<OfficialCommunity>> {
        let sql = format!("SELECT {COMMUNITY_COLS} FROM communities ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::community).collect()
    }

    /// All collector sources, by id.
    #[tracing::instrument(skip(self))]
    pub async fn sources(&self) -> Result<Vec<Source>> {
        let sql = format!("SELECT {SOURCE_COLS} FROM sources ORDER BY id");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::source).collect()
    }

    /// A collector source by its unique name.
    #[tracing::instrument(skip(self))]
    pub async fn source_by_name(&self, name: &str) -> Result<Option<Source>> {
        let sql = format!("SELECT {SOURCE_COLS} FROM sources WHERE name = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::source).transpose()
    }

    /// Sizes of the directory and the message queue.
    #[tracing::instrument(skip(self))]
    pub async fn counts(&self) -> Result<DirectoryCounts> {
        let mut conn = self.pool.acquire().await?;
        let conn: &mut AnyConnection = &mut conn;
        let mut counts = DirectoryCounts {
            territories: count(conn, "territories").await?,
            users: count(conn, "users").await?,
            communities: count(conn, "communities").await?,
            sources: count(conn, "sources").await?,
            organisations_by_kind: OrgKind::ALL.iter().map(|k| (*k, 0)).collect(),
            messages_by_status: MessageStatus::ALL.iter().map(|s| (*s, 0)).collect(),
            ..DirectoryCounts::default()
        };
        for (kind, n) in count_by(conn, "organisations", "kind").await? {
            *counts
                .organisations_by_kind
                .entry(kind.parse()?)
                .or_default() += n;
            counts.organisations += n;
        }
        for (status, n) in count_by(conn, "messages", "status").await? {
            *counts
                .messages_by_status
                .entry(status.parse()?)
                .or_default() += n;
            counts.messages += n;
        }
        Ok(counts)
    }

    /// Sets an organisation's onboarding confirmations and audits the change (entity
    /// `organisation`, action `onboarding`), in one transaction.
    #[tracing::instrument(skip(self))]
    pub async fn set_onboarding(
        &self,
        organisation: OrganisationId,
        onboarding: Onboarding,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<Organisation> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let mut org = organisation_by_id(conn, organisation)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                entity: EntityKind::Organisation,
                key: organisation.to_string(),
            })?;
        sqlx::query(
            "UPDATE organisations SET account_ready = $1, training_done = $2, \
             widget_installed = $3 WHERE id = $4",
        )
        .bind(flag(onboarding.account_ready))
        .bind(flag(onboarding.training_done))
        .bind(flag(onboarding.widget_installed))
        .bind(organisation.get())
        .execute(&mut *conn)
        .await?;
        let onboarding_json = |o: Onboarding| {
            json!({
                "account_ready": o.account_ready,
                "training_done": o.training_done,
                "widget_installed": o.widget_installed,
            })
        };
        let event = audit::event(
            actor,
            EntityKind::Organisation,
            organisation.get(),
            "onboarding",
            json!({ "from": onboarding_json(org.onboarding), "to": onboarding_json(onboarding) }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        org.onboarding = onboarding;
        Ok(org)
    }

    /// Confirms (or withdraws the confirmation of) a user account and audits it (entity
    /// `user`, action `confirm` or `unconfirm`), in one transaction.
    #[tracing::instrument(skip(self))]
    pub async fn confirm_user(
        &self,
        user: UserId,
        confirmed: bool,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let mut found =
            find_user(conn, UserKey::Id(user))
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    entity: EntityKind::User,
                    key: user.to_string(),
                })?;
        sqlx::query("UPDATE users SET confirmed = $1 WHERE id = $2")
            .bind(flag(confirmed))
            .bind(user.get())
            .execute(&mut *conn)
            .await?;
        let event = audit::event(
            actor,
            EntityKind::User,
            user.get(),
            if confirmed { "confirm" } else { "unconfirm" },
            json!({ "from": found.confirmed, "to": confirmed }),
            now,
        );
        audit::insert(conn, &event).await?;
        tx.commit().await?;
        found.confirmed = confirmed;
        Ok(found)
    }
}
