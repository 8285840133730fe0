//! Onboarding status per organisation type, as in the regional status reports: the share of
//! organisations whose account is ready («ЛКО готов к работе»), whose staff confirmed the
//! training («Мной пройдено обучение»), with the widget installed on their site, and with
//! every user account confirmed (at least one user); the number of confirmed users.
//!
//! The **readiness** of a type is the mean of those four shares, and its zone is green from
//! 80 % (the seeds' «зелёная зона (80-100% внедрения)»), yellow from 50 %, red below
//! ([`ZoneThresholds`]). Every organisation missing something is listed with what it must
//! still do («установить галочку готовности ЛКО», «подтвердить учётные записи», …).

use std::collections::{BTreeMap, HashMap};

use otklik_domain::{OrgKind, Organisation, OrganisationId, User};

use crate::names::Names;
use crate::table::{Cell, Table};
use crate::zone::{Zone, ZoneThresholds, percent};
use crate::{Result, Scope};

/// One organisation type's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct OnboardingRow {
    /// The type (`None` for the total).
    pub kind: Option<OrgKind>,
    /// Organisations of the type.
    pub organisations: u64,
    /// With the account ready.
    pub account_ready: u64,
    /// With the training confirmed.
    pub training_done: u64,
    /// With the widget installed.
    pub widget_installed: u64,
    /// With at least one user and every user confirmed.
    pub users_confirmed: u64,
    /// Staff users of those organisations.
    pub users: u64,
    /// Of them confirmed.
    pub confirmed_users: u64,
}

impl OnboardingRow {
    fn new(kind: Option<OrgKind>) -> Self {
        Self {
            kind,
            organisations: 0,
            account_ready: 0,
            training_done: 0,
            widget_installed: 0,
            users_confirmed: 0,
            users: 0,
            confirmed_users: 0,
        }
    }

    /// The four shares, percent: account ready, training done, widget, users confirmed.
    pub fn shares(&self) -> [Option<f64>; 4] {
        let n = self.organisations;
        [
            percent(self.account_ready, n),
            percent(self.training_done, n),
            percent(self.widget_installed, n),
            percent(self.users_confirmed, n),
        ]
    }

    /// Mean of the four shares, percent.
    pub fn readiness(&self) -> Option<f64> {
        let shares = self.shares();
        let known: Vec<f64> = shares.iter().flatten().copied().collect();
        (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
    }
}

/// An organisation that still has something to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingOrganisation {
    /// The organisation.
    pub id: OrganisationId,
    /// Its type.
    pub kind: OrgKind,
    /// What is missing, in Russian.
    pub missing: Vec<&'static str>,
}

/// Onboarding per organisation type.
#[derive(Debug, Clone, PartialEq)]
pub struct OnboardingReport {
    /// One row per type present, in the order РОИВ, ОМСУ, institutions, other.
    pub rows: Vec<OnboardingRow>,
    /// Every organisation.
    pub total: OnboardingRow,
    /// Organisations missing something, by type then id.
    pub pending: Vec<PendingOrganisation>,
    /// The zones.
    pub zones: ZoneThresholds,
}

/// What an organisation must still do: set the account-ready flag, confirm the training,
/// install the widget, create users, confirm its users.
pub const MISSING_ACCOUNT: &str = "установить галочку «ЛКО готов к работе»";
/// See [`MISSING_ACCOUNT`].
pub const MISSING_TRAINING: &str = "подтвердить «Мной пройдено обучение»";
/// See [`MISSING_ACCOUNT`].
pub const MISSING_WIDGET: &str = "установить виджет на сайте";
/// See [`MISSING_ACCOUNT`].
pub const MISSING_USERS: &str = "завести пользователей";
/// See [`MISSING_ACCOUNT`].
pub const MISSING_CONFIRMATION: &str = "подтвердить учётные записи всех пользователей";

impl OnboardingReport {
    /// The report over these organisations and users (staff users count towards their
    /// home organisation).
    pub fn build(organisations: &[Organisation], users: &[User], zones: ZoneThresholds) -> Self {
        let mut staff: HashMap<OrganisationId, (u64, u64)> = HashMap::new();
        for u in users {
            if let Some(org) = u.organisation {
                let e = staff.entry(org).or_default();
                e.0 += 1;
                if u.confirmed {
                    e.1 += 1;
                }
            }
        }
        let mut by_kind: BTreeMap<usize, OnboardingRow> = BTreeMap::new();
        let mut total = OnboardingRow::new(None);
        let mut pending = Vec::new();
        for o in organisations {
            let rank = OrgKind::ALL.iter().position(|k| *k == o.kind).unwrap_or(0);
            let row = by_kind
                .entry(rank)
                .or_insert_with(|| OnboardingRow::new(Some(o.kind)));
            let (users, confirmed) = staff.get(&o.id).copied().unwrap_or_default();
            let all_confirmed = users > 0 && confirmed == users;
            for r in [&mut *row, &mut total] {
                r.organisations += 1;
                r.account_ready += u64::from(o.onboarding.account_ready);
                r.training_done += u64::from(o.onboarding.training_done);
                r.widget_installed += u64::from(o.onboarding.widget_installed);
                r.users_confirmed += u64::from(all_confirmed);
                r.users += users;
                r.confirmed_users += confirmed;
            }
            let mut missing = Vec::new();
            if !o.onboarding.account_ready {
                missing.push(MISSING_ACCOUNT);
            }
            if !o.onboarding.training_done {
                missing.push(MISSING_TRAINING);
            }
            if !o.onboarding.widget_installed {
                missing.push(MISSING_WIDGET);
            }
            if users == 0 {
                missing.push(MISSING_USERS);
            } else if !all_confirmed {
                missing.push(MISSING_CONFIRMATION);
            }
            if !missing.is_empty() {
                pending.push((
                    rank,
                    PendingOrganisation {
                        id: o.id,
                        kind: o.kind,
                        missing,
                    },
                ));
            }
        }
        pending.sort_by_key(|(rank, p)| (*rank, p.id));
        Self {
            rows: by_kind.into_values().collect(),
            total,
            pending: pending.into_iter().map(|(_, p)| p).collect(),
            zones,
        }
    }

    /// The zone of a row's readiness.
    pub fn zone(&self, row: &OnboardingRow) -> Option<Zone> {
        row.readiness().map(|r| self.zones.zone(r))
    }

    /// The summary per type.
    pub fn table(&self) -> Table {
        let mut table = Table::new(
            "Статус внедрения",
            &[
                "Тип организаций",
                "Организаций",
                "ЛКО готов к работе",
                "ЛКО готов, %",
                "Обучение пройдено",
                "Обучение, %",
                "Виджет установлен",
                "Виджет, %",
                "Все пользователи подтверждены",
                "Пользователи подтверждены, %",
                "Подтверждённых пользователей",
                "Внедрение, %",
                "Зона",
            ],
        );
        for row in self.rows.iter().chain(std::iter::once(&self.total)) {
            let shares = row.shares();
            table.push(vec![
                Cell::text(row.kind.map_or("Итого", |k| k.label_ru())),
                Cell::count(row.organisations),
                Cell::count(row.account_ready),
                Cell::num(shares[0], 1),
                Cell::count(row.training_done),
                Cell::num(shares[1], 1),
                Cell::count(row.widget_installed),
                Cell::num(shares[2], 1),
                Cell::count(row.users_confirmed),
                Cell::num(shares[3], 1),
                Cell::count(row.confirmed_users),
                Cell::num(row.readiness(), 1),
                Cell::text(self.zone(row).map(Zone::label_ru).unwrap_or_default()),
            ]);
        }
        table
    }

    /// The organisations that still have something to do.
    pub fn pending_table(&self, names: &Names) -> Table {
        let mut table = Table::new(
            "Что сделать организациям",
            &["Тип", "Организация", "Необходимо"],
        );
        for p in &self.pending {
            table.push(vec![
                Cell::text(p.kind.label_ru()),
                Cell::Text(names.organisation(Some(p.id))),
                Cell::Text(p.missing.join("; ")),
            ]);
        }
        table
    }
}

/// Onboarding of the store's organisations and users.
pub async fn onboarding(
    store: &otklik_store::Store,
    zones: ZoneThresholds,
) -> Result<OnboardingReport> {
    onboarding_in(store, zones, &Scope::All).await
}

/// [`onboarding`] of the organisations in `scope` and their staff.
pub async fn onboarding_in(
    store: &otklik_store::Store,
    zones: ZoneThresholds,
    scope: &Scope,
) -> Result<OnboardingReport> {
    let organisations = scope.filter_organisations(&store.organisations().await?);
    let mut users = store.users().await?;
    users.retain(|u| u.organisation.is_some_and(|o| scope.allows(Some(o))));
    Ok(OnboardingReport::build(&organisations, &users, zones))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use otklik_domain::{Onboarding, TerritoryId, UserId};

    use super::*;

    fn org(id: i64, kind: OrgKind, flags: (bool, bool, bool)) -> Organisation {
        Organisation {
            id: OrganisationId(id),
            code: format!("o{id}"),
            kind,
            name: format!("Орг {id}"),
            short_name: None,
            parent: None,
            territory: TerritoryId(1),
            competences: vec![],
            onboarding: Onboarding {
                account_ready: flags.0,
                training_done: flags.1,
                widget_installed: flags.2,
            },
            site_url: None,
        }
    }

    fn user(id: i64, org: i64, confirmed: bool) -> User {
        User {
            id: UserId(id),
            login: format!("u{id}"),
            full_name: "П".into(),
            email: None,
            organisation: Some(OrganisationId(org)),
            confirmed,
            roles: vec![],
        }
    }

    #[test]
    fn shares_readiness_and_zones_per_type() {
        let orgs = vec![
            org(1, OrgKind::Roiv, (true, true, true)),
            org(2, OrgKind::Roiv, (true, true, true)),
            org(3, OrgKind::Omsu, (true, false, false)),
            org(4, OrgKind::Omsu, (false, false, true)),
            org(5, OrgKind::Institution, (false, false, false)),
        ];
        let users = vec![
            user(1, 1, true),
            user(2, 2, true),
            user(3, 2, true),
            user(4, 3, true),
            user(5, 3, false),
            user(6, 4, true),
            // A citizen: no organisation.
            User {
                organisation: None,
                ..user(7, 1, false)
            },
        ];
        let r = OnboardingReport::build(&orgs, &users, ZoneThresholds::default());
        let kinds: Vec<Option<OrgKind>> = r.rows.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Some(OrgKind::Roiv),
                Some(OrgKind::Omsu),
                Some(OrgKind::Institution)
            ]
        );
        let roiv = &r.rows[0];
        assert_eq!(roiv.readiness(), Some(100.0));
        assert_eq!(r.zone(roiv), Some(Zone::Green));
        assert_eq!(roiv.confirmed_users, 3);
        let omsu = &r.rows[1];
        // Account 50, training 0, widget 50, users 50 (org 4 only) → 37.5: red.
        assert_eq!(
            omsu.shares(),
            [Some(50.0), Some(0.0), Some(50.0), Some(50.0)]
        );
        assert_eq!(omsu.readiness(), Some(37.5));
        assert_eq!(r.zone(omsu), Some(Zone::Red));
        assert_eq!((omsu.users, omsu.confirmed_users), (3, 2));
        assert_eq!(r.total.organisations, 5);
        assert_eq!(r.total.confirmed_users, 5);
        let pending: Vec<(i64, usize)> = r
            .pending
            .iter()
            .map(|p| (p.id.get(), p.missing.len()))
            .collect();
        assert_eq!(pending, vec![(3, 3), (4, 2), (5, 4)]);
        assert!(r.pending[0].missing.contains(&MISSING_CONFIRMATION));
        assert!(r.pending[2].missing.contains(&MISSING_USERS));
        let t = r.table();
        assert_eq!(t.rows.len(), 4);
        assert_eq!(t.rows[0][12], Cell::text("зелёная"));
        assert_eq!(t.rows[3][0], Cell::text("Итого"));
        let p = r.pending_table(&Names::new(&orgs, &[], None));
        assert_eq!(p.rows[0][1], Cell::text("Орг 3"));
    }
}
