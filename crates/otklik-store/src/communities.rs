//! The Госпаблики registry: official communities of government bodies in the social networks,
//! their verification, activity and statistics, and which bodies still lack the pages the law
//! requires (ФЗ-270: state bodies, local governments and their subordinate institutions keep
//! official pages in VK and OK).
//!
//! Linking posts to communities is done through sources: a source whose network matches a
//! community's and whose target equals the community's external id, URL or screen name (exact
//! text) is linked to it (`sources.community_id`) — by [`Store::add_source`], by directory
//! imports, and by [`Store::register_community`] for sources added before the community. A post
//! takes its source's link when first stored ([`Store::store_posts`]); registering a community
//! also fills in the link on posts already stored from its sources.
//!
//! A page counts towards the legal requirement when it is marked `required` and its
//! verification has not failed. Directory imports mark new VK and OK pages required (the
//! migration did the same for rows stored before it); [`Store::register_community`] takes the
//! flag explicitly.

use std::collections::HashSet;

use otklik_domain::directory::NewCommunity;
use otklik_domain::{
    CommunityId, EntityKind, Network, OfficialCommunity, OrgKind, Organisation, OrganisationId,
    SourceId, Timestamp, UserId, Verification,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::posts::later_of;
use crate::rows::{self, COMMUNITY_COLS, COMMUNITY_DETAIL_COLS, flag};
use crate::{Result, Store, StoreError, audit, directory};

/// An official community with its registry fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCommunity {
    /// The community (network, external id, URL, title, organisation, verification).
    pub community: OfficialCommunity,
    /// The name the network reports (from the last verification).
    pub resolved_name: Option<String>,
    /// The screen name («minzdrav38»), when known.
    pub screen_name: Option<String>,
    /// Last verification.
    pub verified_at: Option<Timestamp>,
    /// Newest post seen on it.
    pub last_post_at: Option<Timestamp>,
    /// Members (subscribers), from the last verification.
    pub members: Option<i64>,
    /// It is one of the pages the law requires of its organisation.
    pub required: bool,
    /// When it was registered (`None` for rows older than the registry).
    pub added_at: Option<Timestamp>,
}

/// What a verification found out about a community (each `None` keeps the stored value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedCommunity {
    /// Name the network reports.
    pub name: Option<String>,
    /// Screen name.
    pub screen_name: Option<String>,
    /// Members.
    pub members: Option<i64>,
}

/// Activity of one community over a period ([`Store::community_stats`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CommunityStats {
    /// The community.
    pub community: OfficialCommunity,
    /// Posts (not comments) published in the period.
    pub posts: i64,
    /// `posts` per 7 days of the period.
    pub posts_per_week: f64,
    /// Comments published in the period.
    pub comments: i64,
    /// Posts and comments the classifier marked as complaints.
    pub complaints: i64,
}

/// `network:external_id`, the natural key as text.
fn key_of(network: Network, external_id: &str) -> String {
    format!("{}:{external_id}", network.code())
}

/// The canonical form of a community reference on `network`, so that a source's target and a
/// registered community match however either was written: links (`https://vk.com/Club1/`,
/// `t.me/s/name`), `@name`, VK's `-123` / `123` / `public123` / `event123` (all `club123`),
/// OK's `group/123` (`group123`); names lower-cased. Other networks: the text trimmed, without
/// a trailing slash.
///
/// ```
/// use otklik_domain::Network;
/// use otklik_store::canonical_community_ref as c;
/// assert_eq!(c(Network::Vk, "https://vk.com/Club218004512/"), "club218004512");
/// assert_eq!(c(Network::Vk, "-218004512"), c(Network::Vk, "public218004512"));
/// assert_eq!(c(Network::Vk, "vk.ru/Zarechny_Rayon"), "zarechny_rayon");
/// assert_eq!(c(Network::Telegram, "@Seversk_News"), c(Network::Telegram, "https://t.me/s/seversk_news"));
/// assert_eq!(c(Network::Ok, "https://ok.ru/group/5555"), "group5555");
/// ```
pub fn canonical_community_ref(network: Network, raw: &str) -> String {
    let mut s = raw.trim();
    if matches!(network, Network::Rss | Network::Web) {
        return s.trim_end_matches('/').to_owned();
    }
    for scheme in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            s = rest;
        }
    }
    for prefix in ["www.", "m."] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
        }
    }
    for host in [
        "vk.com/",
        "vk.ru/",
        "ok.ru/",
        "t.me/s/",
        "t.me/",
        "telegram.me/s/",
        "telegram.me/",
    ] {
        if let Some(rest) = s.strip_prefix(host) {
            s = rest;
            break;
        }
    }
    let s = s.split(['?', '#']).next().unwrap_or(s);
    let s = s
        .trim_end_matches('/')
        .trim_start_matches('@')
        .to_lowercase();
    match network {
        Network::Vk => {
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            let id = s.trim_start_matches('-');
            if digits(id) {
                return format!("club{id}");
            }
            for prefix in ["club", "public", "event"] {
                if let Some(n) = s.strip_prefix(prefix)
                    && digits(n)
                {
                    return format!("club{n}");
                }
            }
            s
        }
        Network::Ok => match s.strip_prefix("group/") {
            Some(n) => format!("group{n}"),
            None => s,
        },
        _ => s,
    }
}

/// Does a source's `target` name the community (by its external id, screen name or URL)?
fn names_community(
    network: Network,
    target: &str,
    external_id: &str,
    screen_name: Option<&str>,
    url: Option<&str>,
) -> bool {
    let t = canonical_community_ref(network, target);
    [Some(external_id), screen_name, url]
        .into_iter()
        .flatten()
        .any(|r| !r.trim().is_empty() && canonical_community_ref(network, r) == t)
}

/// Links one source to the community its target names (or to none), returns the link. The
/// target and the community's id, screen name and URL are compared in their canonical forms
/// ([`canonical_community_ref`]).
pub(crate) async fn link_source(
    conn: &mut AnyConnection,
    source: SourceId,
) -> Result<Option<CommunityId>> {
    let row = sqlx::query("SELECT network, target FROM sources WHERE id = $1")
        .bind(source.get())
        .fetch_one(&mut *conn)
        .await?;
    let network: Network = rows::text(&row, "network")?
        .parse()
        .map_err(|_| StoreError::Invalid(format!("source {source}: unknown network")))?;
    let target = rows::text(&row, "target")?;
    let candidates = sqlx::query(
        "SELECT id, external_id, screen_name, url FROM communities WHERE network = $1 ORDER BY id",
    )
    .bind(network.code())
    .fetch_all(&mut *conn)
    .await?;
    let mut found = None;
    for c in &candidates {
        if names_community(
            network,
            &target,
            &rows::text(c, "external_id")?,
            rows::opt_text(c, "screen_name")?.as_deref(),
            rows::opt_text(c, "url")?.as_deref(),
        ) {
            found = Some(rows::int(c, "id")?);
            break;
        }
    }
    sqlx::query("UPDATE sources SET community_id = $1 WHERE id = $2")
        .bind(found)
        .bind(source.get())
        .execute(&mut *conn)
        .await?;
    Ok(found.map(CommunityId))
}

/// Links the not yet linked sources whose target names `community` (canonical forms, see
/// [`canonical_community_ref`]), and their not yet linked posts.
pub(crate) async fn link_community(conn: &mut AnyConnection, community: CommunityId) -> Result<()> {
    let Some(c) =
        sqlx::query("SELECT network, external_id, screen_name, url FROM communities WHERE id = $1")
            .bind(community.get())
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(());
    };
    let network_code = rows::text(&c, "network")?;
    let network: Network = network_code
        .parse()
        .map_err(|_| StoreError::Invalid(format!("community {community}: unknown network")))?;
    let (external_id, screen_name, url) = (
        rows::text(&c, "external_id")?,
        rows::opt_text(&c, "screen_name")?,
        rows::opt_text(&c, "url")?,
    );
    let sources =
        sqlx::query("SELECT id, target FROM sources WHERE community_id IS NULL AND network = $1")
            .bind(network_code.as_str())
            .fetch_all(&mut *conn)
            .await?;
    for s in &sources {
        if names_community(
            network,
            &rows::text(s, "target")?,
            &external_id,
            screen_name.as_deref(),
            url.as_deref(),
        ) {
            sqlx::query("UPDATE sources SET community_id = $1 WHERE id = $2")
                .bind(community.get())
                .bind(rows::int(s, "id")?)
                .execute(&mut *conn)
                .await?;
        }
    }
    sqlx::query(
        "UPDATE posts SET community_id = $1 WHERE community_id IS NULL AND source_id IN (\
         SELECT id FROM sources WHERE community_id = $1)",
    )
    .bind(community.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn community_by_id(
    conn: &mut AnyConnection,
    id: CommunityId,
) -> Result<Option<RegisteredCommunity>> {
    let sql = format!("SELECT {COMMUNITY_DETAIL_COLS} FROM communities WHERE id = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(rows::registered_community).transpose()
}

/// Registers one community inside the caller's transaction (see [`Store::register_community`]).
async fn register_in(
    conn: &mut AnyConnection,
    new: &NewCommunity,
    required: bool,
    actor: Option<UserId>,
    now: Timestamp,
) -> Result<CommunityId> {
    if new.external_id.trim().is_empty() {
        return Err(StoreError::Invalid(
            "community external id must not be empty".into(),
        ));
    }
    let duplicate = || StoreError::Duplicate {
        entity: EntityKind::Community,
        key: key_of(new.network, &new.external_id),
    };
    let organisation = directory::organisation_by_code(conn, &new.organisation_code)
        .await?
        .ok_or_else(|| StoreError::UnknownReference {
            kind: EntityKind::Organisation,
            code: new.organisation_code.clone(),
        })?;
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM communities WHERE network = $1 AND external_id = $2",
    )
    .bind(new.network.code())
    .bind(new.external_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if exists > 0 {
        return Err(duplicate());
    }
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO communities (network, external_id, url, title, organisation_id, \
         verification, required, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING id",
    )
    .bind(new.network.code())
    .bind(new.external_id.as_str())
    .bind(new.url.as_str())
    .bind(new.title.as_str())
    .bind(organisation.id.get())
    .bind(new.verification.code())
    .bind(flag(required))
    .bind(now.millis())
    .fetch_one(&mut *conn)
    .await;
    let id = match inserted.map_err(StoreError::from) {
        Ok(id) => CommunityId(id),
        // Lost a race with a concurrent registration of the same page.
        Err(e) if e.is_unique_violation() => return Err(duplicate()),
        Err(e) => return Err(e),
    };
    link_community(conn, id).await?;
    let event = audit::event(
        actor,
        EntityKind::Community,
        id.get(),
        "registered",
        json!({
            "network": new.network.code(),
            "external_id": new.external_id,
            "organisation": organisation.code,
            "required": required,
        }),
        now,
    );
    audit::insert(conn, &event).await?;
    Ok(id)
}

fn community_not_found(id: CommunityId) -> StoreError {
    StoreError::NotFound {
        entity: EntityKind::Community,
        key: id.to_string(),
    }
}

impl Store {
    /// Registers an official community of the organisation named by `new.organisation_code`
    /// and audits it (entity `community`, action `registered`), in one transaction; returns its
    /// id. `required` marks it as one of the pages the law requires of the organisation.
    /// Sources that read it (and their posts) are linked to it.
    ///
    /// Fails with [`StoreError::Duplicate`] when `(network, external_id)` is registered
    /// already, [`StoreError::UnknownReference`] for an unknown organisation code.
    #[tracing::instrument(skip(self, new), fields(network = %new.network, external_id = %new.external_id))]
    pub async fn register_community(
        &self,
        new: &NewCommunity,
        required: bool,
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<CommunityId> {
        let mut tx = self.begin_write().await?;
        let id = register_in(&mut tx, new, required, actor, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Registers a whole list of communities (each with its `required` flag) in ONE
    /// transaction — all or nothing: an unknown organisation, an empty id or any store error
    /// rolls back every row of the list. Pages registered already (before, or earlier in the
    /// same list) are skipped, not errors. Returns the ids of the new ones and how many were
    /// skipped.
    #[tracing::instrument(skip(self, list), fields(n = list.len()))]
    pub async fn register_communities(
        &self,
        list: &[(NewCommunity, bool)],
        actor: Option<UserId>,
        now: Timestamp,
    ) -> Result<(Vec<CommunityId>, usize)> {
        let mut tx = self.begin_write().await?;
        let (mut added, mut skipped) = (Vec::new(), 0);
        for (new, required) in list {
            match register_in(&mut tx, new, *required, actor, now).await {
                Ok(id) => added.push(id),
                Err(StoreError::Duplicate { .. }) => skipped += 1,
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok((added, skipped))
    }

    /// A community with its registry fields.
    #[tracing::instrument(skip(self))]
    pub async fn community(&self, id: CommunityId) -> Result<Option<RegisteredCommunity>> {
        let mut conn = self.pool.acquire().await?;
        community_by_id(&mut conn, id).await
    }

    /// Records the outcome of verifying a community (through the network's API): its status,
    /// and what was resolved (`None` fields keep the stored values); `verified_at` becomes
    /// `now`. Audited (entity `community`, action `verification`) in the same transaction.
    #[tracing::instrument(skip(self, resolved))]
    pub async fn set_community_verification(
        &self,
        id: CommunityId,
        status: Verification,
        resolved: &ResolvedCommunity,
        now: Timestamp,
    ) -> Result<RegisteredCommunity> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let before = community_by_id(conn, id)
            .await?
            .ok_or_else(|| community_not_found(id))?;
        sqlx::query(
            "UPDATE communities SET verification = $1, resolved_name = COALESCE($2, resolved_name), \
             screen_name = COALESCE($3, screen_name), members = COALESCE($4, members), \
             verified_at = $5 WHERE id = $6",
        )
        .bind(status.code())
        .bind(resolved.name.as_deref())
        .bind(resolved.screen_name.as_deref())
        .bind(resolved.members)
        .bind(now.millis())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
        if resolved.screen_name.is_some() {
            // The screen name may be what a source's target says.
            link_community(conn, id).await?;
        }
        let event = audit::event(
            None,
            EntityKind::Community,
            id.get(),
            "verification",
            json!({
                "from": before.community.verification.code(),
                "to": status.code(),
                "resolved_name": resolved.name,
                "members": resolved.members,
            }),
            now,
        );
        audit::insert(conn, &event).await?;
        let after = community_by_id(conn, id)
            .await?
            .ok_or_else(|| community_not_found(id))?;
        tx.commit().await?;
        Ok(after)
    }

    /// Notes a post on the community published at `last_post_at`; the stored time only moves
    /// forward. ([`Store::store_posts`] does this itself for sources linked to a community.)
    #[tracing::instrument(skip(self))]
    pub async fn update_community_activity(
        &self,
        id: CommunityId,
        last_post_at: Timestamp,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE communities SET last_post_at = {} WHERE id = $2",
            later_of("last_post_at", "$1")
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(last_post_at.millis())
            .bind(id.get())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(community_not_found(id));
        }
        Ok(())
    }

    /// The communities of an organisation, by id.
    #[tracing::instrument(skip(self))]
    pub async fn communities_of(
        &self,
        organisation: OrganisationId,
    ) -> Result<Vec<RegisteredCommunity>> {
        let sql = format!(
            "SELECT {COMMUNITY_DETAIL_COLS} FROM communities WHERE organisation_id = $1 \
             ORDER BY id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(organisation.get())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::registered_community).collect()
    }

    /// Organisations the law obliges to keep official pages (every kind but
    /// [`OrgKind::Other`]) that lack one in some of `networks`, with the networks missing (in
    /// the order asked), by organisation id. A page counts when it is `required` and its
    /// verification has not failed.
    #[tracing::instrument(skip(self))]
    pub async fn organisations_missing_required_pages(
        &self,
        networks: &[Network],
    ) -> Result<Vec<(Organisation, Vec<Network>)>> {
        let mut wanted: Vec<Network> = Vec::with_capacity(networks.len());
        for n in networks {
            if !wanted.contains(n) {
                wanted.push(*n);
            }
        }
        let rows = sqlx::query(
            "SELECT DISTINCT organisation_id, network FROM communities \
             WHERE required = 1 AND verification <> $1",
        )
        .bind(Verification::Failed.code())
        .fetch_all(&self.pool)
        .await?;
        let mut present: HashSet<(i64, Network)> = HashSet::with_capacity(rows.len());
        for r in &rows {
            // Pages in networks this build does not know cannot be asked about: skip them.
            if let Ok(network) = rows::text(r, "network")?.parse::<Network>() {
                present.insert((rows::int(r, "organisation_id")?, network));
            }
        }
        let mut out = Vec::new();
        for org in self.organisations().await? {
            if org.kind == OrgKind::Other {
                continue;
            }
            let missing: Vec<Network> = wanted
                .iter()
                .copied()
                .filter(|n| !present.contains(&(org.id.get(), *n)))
                .collect();
            if !missing.is_empty() {
                out.push((org, missing));
            }
        }
        Ok(out)
    }

    /// Communities with no post seen for `days` days before `now` (never-seen ones count from
    /// their registration; rows older than the registry count as never active), longest
    /// silent first.
    #[tracing::instrument(skip(self))]
    pub async fn inactive_communities(
        &self,
        days: i64,
        now: Timestamp,
    ) -> Result<Vec<RegisteredCommunity>> {
        if days < 0 {
            return Err(StoreError::Invalid("days must not be negative".into()));
        }
        let cutoff = now.plus_days(-days);
        let sql = format!(
            "SELECT {COMMUNITY_DETAIL_COLS} FROM communities \
             WHERE COALESCE(last_post_at, added_at, 0) < $1 \
             ORDER BY COALESCE(last_post_at, added_at, 0), id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(cutoff.millis())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::registered_community).collect()
    }

    /// Per community (every registered one, by id): posts, comments and complaints published
    /// from `since` up to `now` (deleted ones left out), and posts per week over that period
    /// (a period shorter than a day counts as one day).
    #[tracing::instrument(skip(self))]
    pub async fn community_stats(
        &self,
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<CommunityStats>> {
        let cols = COMMUNITY_COLS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, \
             COUNT(CASE WHEN p.id IS NOT NULL AND p.parent_external_id IS NULL THEN 1 END) \
             AS posts, \
             COUNT(CASE WHEN p.parent_external_id IS NOT NULL THEN 1 END) AS comments, \
             COUNT(CASE WHEN p.is_complaint = 1 THEN 1 END) AS complaints \
             FROM communities c LEFT JOIN posts p ON p.community_id = c.id \
             AND p.published_at >= $1 AND p.published_at <= $2 AND p.deleted = 0 \
             GROUP BY {cols} ORDER BY c.id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(since.millis())
            .bind(now.millis())
            .fetch_all(&self.pool)
            .await?;
        let period_ms = now
            .millis()
            .saturating_sub(since.millis())
            .max(Timestamp::DAY_MS);
        let weeks = period_ms as f64 / (7 * Timestamp::DAY_MS) as f64;
        rows.iter()
            .map(|r| {
                let posts = rows::int(r, "posts")?;
                let per_week = posts as f64 / weeks;
                Ok(CommunityStats {
                    community: rows::community(r)?,
                    posts,
                    posts_per_week: per_week,
                    comments: rows::int(r, "comments")?,
                    complaints: rows::int(r, "complaints")?,
                })
            })
            .collect()
    }
}
