//! Госпаблики coverage: how many of the organisations the law obliges to keep official pages
//! (every type but «Иная организация»; ФЗ-270: a page in VK and one in OK) have them, per
//! organisation type or per territory.
//!
//! A page counts when it is registered as required and its verification has not failed
//! (as [`otklik_store::Store::organisations_missing_required_pages`] counts). Per
//! organisation: **VK** and **OK** — it has such a page there; **both** — the law is met;
//! **verified** — it has a verified page in both networks; **active** — one of its counted
//! pages has a post within the last N days. The zone is that of the «both» share.

use std::collections::{BTreeMap, HashMap};

use otklik_domain::{Network, OrgKind, Organisation, OrganisationId, Timestamp, Verification};
use otklik_store::RegisteredCommunity;

use crate::names::Names;
use crate::table::{Cell, Table};
use crate::zone::{Zone, ZoneThresholds, percent};
use crate::{ReportError, Result, Scope};

/// What coverage is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageBy {
    /// Organisation type.
    Kind,
    /// The organisation's territory.
    Territory,
}

impl std::str::FromStr for CoverageBy {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kind" | "type" => Ok(CoverageBy::Kind),
            "territory" => Ok(CoverageBy::Territory),
            other => Err(ReportError::Invalid(format!(
                "Госпаблики coverage is grouped by kind or territory, not {other:?}"
            ))),
        }
    }
}

/// One group's coverage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageRow {
    /// The group: the type's code or the territory id (empty for the total).
    pub key: String,
    /// Organisations obliged to keep pages.
    pub organisations: u64,
    /// With a VK page.
    pub vk: u64,
    /// With an OK page.
    pub ok: u64,
    /// With both.
    pub both: u64,
    /// With a verified page in both networks.
    pub verified: u64,
    /// With a page active within the last N days.
    pub active: u64,
}

/// An obliged organisation lacking a required page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPages {
    /// The organisation.
    pub id: OrganisationId,
    /// The networks missing.
    pub networks: Vec<Network>,
}

/// Госпаблики coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageReport {
    /// The grouping.
    pub by: CoverageBy,
    /// Days a page may be silent and still count as active.
    pub active_days: u32,
    /// One row per group.
    pub rows: Vec<CoverageRow>,
    /// Everything.
    pub total: CoverageRow,
    /// Organisations lacking pages, by id.
    pub missing: Vec<MissingPages>,
    /// Zones of the «both» share.
    pub zones: ZoneThresholds,
}

#[derive(Default)]
struct Pages {
    vk: bool,
    ok: bool,
    vk_verified: bool,
    ok_verified: bool,
    active: bool,
}

impl CoverageReport {
    /// Coverage of `organisations` by `communities` at `now`.
    pub fn build(
        by: CoverageBy,
        organisations: &[Organisation],
        communities: &[RegisteredCommunity],
        now: Timestamp,
        active_days: u32,
        zones: ZoneThresholds,
    ) -> Self {
        let cutoff = now.plus_days(-i64::from(active_days));
        let mut pages: HashMap<OrganisationId, Pages> = HashMap::new();
        for c in communities {
            let v = c.community.verification;
            if !c.required || v == Verification::Failed {
                continue;
            }
            let p = pages.entry(c.community.organisation).or_default();
            let verified = v == Verification::Verified;
            match c.community.network {
                Network::Vk => {
                    p.vk = true;
                    p.vk_verified |= verified;
                }
                Network::Ok => {
                    p.ok = true;
                    p.ok_verified |= verified;
                }
                _ => {}
            }
            if c.last_post_at.is_some_and(|t| t >= cutoff) {
                p.active = true;
            }
        }
        let mut groups: BTreeMap<(usize, String), CoverageRow> = BTreeMap::new();
        let mut total = CoverageRow::default();
        let mut missing = Vec::new();
        let none = Pages::default();
        for o in organisations {
            if o.kind == OrgKind::Other {
                continue;
            }
            let (rank, key) = match by {
                CoverageBy::Kind => (
                    OrgKind::ALL.iter().position(|k| *k == o.kind).unwrap_or(0),
                    o.kind.code().to_owned(),
                ),
                CoverageBy::Territory => (0, o.territory.get().to_string()),
            };
            let p = pages.get(&o.id).unwrap_or(&none);
            let row = groups
                .entry((rank, key.clone()))
                .or_insert_with(|| CoverageRow {
                    key,
                    ..CoverageRow::default()
                });
            for r in [&mut *row, &mut total] {
                r.organisations += 1;
                r.vk += u64::from(p.vk);
                r.ok += u64::from(p.ok);
                r.both += u64::from(p.vk && p.ok);
                r.verified += u64::from(p.vk_verified && p.ok_verified);
                r.active += u64::from(p.active);
            }
            let mut lacking = Vec::new();
            if !p.vk {
                lacking.push(Network::Vk);
            }
            if !p.ok {
                lacking.push(Network::Ok);
            }
            if !lacking.is_empty() {
                missing.push(MissingPages {
                    id: o.id,
                    networks: lacking,
                });
            }
        }
        missing.sort_by_key(|m| m.id);
        Self {
            by,
            active_days,
            rows: groups.into_values().collect(),
            total,
            missing,
            zones,
        }
    }

    /// The zone of a row's «both» share.
    pub fn zone(&self, row: &CoverageRow) -> Option<Zone> {
        percent(row.both, row.organisations).map(|p| self.zones.zone(p))
    }

    /// The coverage per group (types in order, territories by name), a last «Итого» row.
    pub fn table(&self, names: &Names) -> Table {
        let first = match self.by {
            CoverageBy::Kind => "Тип организаций",
            CoverageBy::Territory => "Территория",
        };
        let active = format!("Активны за {} дн.", self.active_days);
        let active_pct = format!("Активны за {} дн., %", self.active_days);
        let mut table = Table::new(
            "Госпаблики",
            &[
                first,
                "Организаций",
                "Страница ВКонтакте",
                "Страница Одноклассники",
                "Обе страницы",
                "Обе страницы, %",
                "Подтверждены",
                "Подтверждены, %",
                &active,
                &active_pct,
                "Зона",
            ],
        );
        let label = |row: &CoverageRow| match self.by {
            CoverageBy::Kind => row
                .key
                .parse::<OrgKind>()
                .map_or_else(|_| row.key.clone(), |k| k.label_ru().to_owned()),
            CoverageBy::Territory => names.territory(row.key.parse::<i64>().ok().map(Into::into)),
        };
        let mut rows: Vec<(String, &CoverageRow)> =
            self.rows.iter().map(|r| (label(r), r)).collect();
        if self.by == CoverageBy::Territory {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let cells = |name: String, row: &CoverageRow| {
            vec![
                Cell::Text(name),
                Cell::count(row.organisations),
                Cell::count(row.vk),
                Cell::count(row.ok),
                Cell::count(row.both),
                Cell::num(percent(row.both, row.organisations), 1),
                Cell::count(row.verified),
                Cell::num(percent(row.verified, row.organisations), 1),
                Cell::count(row.active),
                Cell::num(percent(row.active, row.organisations), 1),
                Cell::text(self.zone(row).map(Zone::label_ru).unwrap_or_default()),
            ]
        };
        for (name, row) in rows {
            table.push(cells(name, row));
        }
        table.push(cells("Итого".into(), &self.total));
        table
    }

    /// The organisations lacking a required page.
    pub fn missing_table(&self, names: &Names) -> Table {
        let mut table = Table::new(
            "Нет обязательных страниц",
            &["Тип", "Организация", "Нет страницы"],
        );
        for m in &self.missing {
            let networks: Vec<&str> = m.networks.iter().map(|n| n.label_ru()).collect();
            table.push(vec![
                Cell::Text(names.organisation_kind(Some(m.id))),
                Cell::Text(names.organisation(Some(m.id))),
                Cell::Text(networks.join(", ")),
            ]);
        }
        table
    }
}

/// Coverage of the store's organisations by its registered communities at `now`.
pub async fn gospabliki(
    store: &otklik_store::Store,
    by: CoverageBy,
    now: Timestamp,
    active_days: u32,
    zones: ZoneThresholds,
) -> Result<CoverageReport> {
    gospabliki_in(store, by, now, active_days, zones, &Scope::All).await
}

/// [`gospabliki`] of the organisations in `scope` and their pages.
pub async fn gospabliki_in(
    store: &otklik_store::Store,
    by: CoverageBy,
    now: Timestamp,
    active_days: u32,
    zones: ZoneThresholds,
    scope: &Scope,
) -> Result<CoverageReport> {
    let organisations = scope.filter_organisations(&store.organisations().await?);
    let mut communities = store.registered_communities().await?;
    communities.retain(|c| scope.allows(Some(c.community.organisation)));
    Ok(CoverageReport::build(
        by,
        &organisations,
        &communities,
        now,
        active_days,
        zones,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use otklik_domain::{CommunityId, OfficialCommunity, Onboarding, TerritoryId};

    use super::*;

    const NOW: Timestamp = Timestamp(1_792_022_400_000);

    fn org(id: i64, kind: OrgKind, territory: i64) -> Organisation {
        Organisation {
            id: OrganisationId(id),
            code: format!("o{id}"),
            kind,
            name: format!("Орг {id}"),
            short_name: None,
            parent: None,
            territory: TerritoryId(territory),
            competences: vec![],
            onboarding: Onboarding::default(),
            site_url: None,
        }
    }

    fn page(
        org: i64,
        network: Network,
        verification: Verification,
        required: bool,
        last_post_days_ago: Option<i64>,
    ) -> RegisteredCommunity {
        RegisteredCommunity {
            community: OfficialCommunity {
                id: CommunityId(org * 10),
                network,
                external_id: format!("p{org}"),
                url: format!("https://example/{org}"),
                title: "Страница".into(),
                organisation: OrganisationId(org),
                verification,
            },
            resolved_name: None,
            screen_name: None,
            verified_at: None,
            last_post_at: last_post_days_ago.map(|d| NOW.plus_days(-d)),
            members: None,
            required,
            added_at: None,
        }
    }

    #[test]
    fn coverage_per_kind_and_territory() {
        let orgs = vec![
            org(1, OrgKind::Roiv, 1),
            org(2, OrgKind::Roiv, 1),
            org(3, OrgKind::Omsu, 2),
            org(4, OrgKind::Other, 1),
        ];
        let pages = vec![
            page(1, Network::Vk, Verification::Verified, true, Some(3)),
            page(1, Network::Ok, Verification::Verified, true, None),
            page(2, Network::Vk, Verification::Pending, true, Some(40)),
            // A failed page does not count; neither does one not required.
            page(2, Network::Ok, Verification::Failed, true, Some(1)),
            page(3, Network::Ok, Verification::Verified, false, Some(1)),
            page(3, Network::Telegram, Verification::Verified, true, Some(1)),
            page(4, Network::Vk, Verification::Verified, true, Some(1)),
        ];
        let r = CoverageReport::build(
            CoverageBy::Kind,
            &orgs,
            &pages,
            NOW,
            30,
            ZoneThresholds::default(),
        );
        assert_eq!(r.rows.len(), 2, "the «other» organisation is not obliged");
        let roiv = &r.rows[0];
        assert_eq!(roiv.key, "roiv");
        assert_eq!(
            (
                roiv.organisations,
                roiv.vk,
                roiv.ok,
                roiv.both,
                roiv.verified,
                roiv.active
            ),
            (2, 2, 1, 1, 1, 1)
        );
        assert_eq!(r.zone(roiv), Some(Zone::Yellow));
        let omsu = &r.rows[1];
        // Only the Telegram page counts as active (any counted page).
        assert_eq!((omsu.vk, omsu.ok, omsu.both, omsu.active), (0, 0, 0, 1));
        assert_eq!(r.zone(omsu), Some(Zone::Red));
        let missing: Vec<(i64, usize)> = r
            .missing
            .iter()
            .map(|m| (m.id.get(), m.networks.len()))
            .collect();
        assert_eq!(missing, vec![(2, 1), (3, 2)]);
        let t = r.table(&Names::default());
        assert_eq!(t.rows[0][0], Cell::text("РОИВ"));
        assert_eq!(t.rows[2][0], Cell::text("Итого"));
        assert_eq!(t.rows[2][1], Cell::Int(3));
        let by_territory = CoverageReport::build(
            CoverageBy::Territory,
            &orgs,
            &pages,
            NOW,
            30,
            ZoneThresholds::default(),
        );
        let keys: Vec<&str> = by_territory.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, vec!["1", "2"]);
        assert!("colour".parse::<CoverageBy>().is_err());
    }
}
