//! A snapshot of territories and organisations with the indexes the router needs.

use std::collections::{HashMap, HashSet};

use otklik_domain::{
    CategoryId, OrgKind, Organisation, OrganisationId, Territory, TerritoryId, TerritoryKind,
};

/// Territories and organisations of one or more regions, indexed for routing. Built from
/// whatever the store returns; inconsistent data (unknown parents, cycles, duplicate codes)
/// never panics: unknown parents end a chain, cycles are cut, the first duplicate code wins.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    territories: Vec<Territory>,
    organisations: Vec<Organisation>,
    territory_index: HashMap<TerritoryId, usize>,
    territory_codes: HashMap<String, usize>,
    organisation_index: HashMap<OrganisationId, usize>,
    organisation_codes: HashMap<String, usize>,
    /// The head ОМСУ of each territory that has one.
    omsu: HashMap<TerritoryId, usize>,
    /// РОИВ by competence, sorted by code.
    roivs: HashMap<CategoryId, Vec<usize>>,
    /// Institutions by (territory, competence), sorted by code.
    institutions: HashMap<(TerritoryId, CategoryId), Vec<usize>>,
    /// `Other` organisations by territory, sorted by code.
    others: HashMap<TerritoryId, Vec<usize>>,
    /// Region territories, sorted by code.
    regions: Vec<usize>,
}

impl Directory {
    /// Indexes a snapshot.
    pub fn new(territories: Vec<Territory>, organisations: Vec<Organisation>) -> Self {
        let mut d = Self {
            territories,
            organisations,
            ..Self::default()
        };
        for (i, t) in d.territories.iter().enumerate() {
            d.territory_index.entry(t.id).or_insert(i);
            d.territory_codes.entry(t.code.clone()).or_insert(i);
        }
        for (i, o) in d.organisations.iter().enumerate() {
            d.organisation_index.entry(o.id).or_insert(i);
            d.organisation_codes.entry(o.code.clone()).or_insert(i);
        }
        let orgs = &d.organisations;
        let by_code = |a: &usize, b: &usize| orgs[*a].code.cmp(&orgs[*b].code);

        // ОМСУ: per territory, prefer the head body (no parent, or a parent that is not an ОМСУ
        // of the same territory) over its departments; then the first by code.
        let mut omsu_candidates: HashMap<TerritoryId, Vec<usize>> = HashMap::new();
        for (i, o) in orgs.iter().enumerate() {
            match o.kind {
                OrgKind::Omsu => omsu_candidates.entry(o.territory).or_default().push(i),
                OrgKind::Roiv => {
                    for c in &o.competences {
                        d.roivs.entry(c.clone()).or_default().push(i);
                    }
                }
                OrgKind::Institution => {
                    for c in &o.competences {
                        d.institutions
                            .entry((o.territory, c.clone()))
                            .or_default()
                            .push(i);
                    }
                }
                OrgKind::Other => d.others.entry(o.territory).or_default().push(i),
            }
        }
        for (territory, mut list) in omsu_candidates {
            list.sort_by(by_code);
            let is_head = |i: &usize| {
                orgs[*i].parent.is_none_or(|p| {
                    d.organisation_index.get(&p).is_none_or(|pi| {
                        let parent = &orgs[*pi];
                        !(parent.kind == OrgKind::Omsu && parent.territory == territory)
                    })
                })
            };
            let chosen = list.iter().copied().find(is_head).or(list.first().copied());
            if let Some(i) = chosen {
                d.omsu.insert(territory, i);
            }
        }
        for list in d.roivs.values_mut() {
            list.sort_by(by_code);
            list.dedup();
        }
        for list in d.institutions.values_mut() {
            list.sort_by(by_code);
            list.dedup();
        }
        for list in d.others.values_mut() {
            list.sort_by(by_code);
        }
        let mut regions: Vec<usize> = d
            .territories
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind == TerritoryKind::Region)
            .map(|(i, _)| i)
            .collect();
        regions.sort_by(|a, b| d.territories[*a].code.cmp(&d.territories[*b].code));
        d.regions = regions;
        d
    }

    /// All territories, as given.
    pub fn territories(&self) -> &[Territory] {
        &self.territories
    }

    /// All organisations, as given.
    pub fn organisations(&self) -> &[Organisation] {
        &self.organisations
    }

    /// A territory by id.
    pub fn territory(&self, id: TerritoryId) -> Option<&Territory> {
        self.territory_index.get(&id).map(|i| &self.territories[*i])
    }

    /// A territory by code.
    pub fn territory_by_code(&self, code: &str) -> Option<&Territory> {
        self.territory_codes
            .get(code)
            .map(|i| &self.territories[*i])
    }

    /// An organisation by id.
    pub fn organisation(&self, id: OrganisationId) -> Option<&Organisation> {
        self.organisation_index
            .get(&id)
            .map(|i| &self.organisations[*i])
    }

    /// An organisation by code.
    pub fn organisation_by_code(&self, code: &str) -> Option<&Organisation> {
        self.organisation_codes
            .get(code)
            .map(|i| &self.organisations[*i])
    }

    /// The territory and its ancestors, nearest first, ending at the root (normally the
    /// region). Empty for an unknown id; stops at an unknown parent or a cycle.
    pub fn ancestors(&self, id: TerritoryId) -> Vec<TerritoryId> {
        let mut chain = Vec::new();
        let mut seen = HashSet::new();
        let mut next = self.territory(id).map(|t| t.id);
        while let Some(t) = next {
            if !seen.insert(t) {
                break;
            }
            chain.push(t);
            next = self.territory(t).and_then(|t| t.parent);
        }
        chain
    }

    /// The root of the territory's chain (its region).
    pub fn region_of(&self, id: TerritoryId) -> Option<TerritoryId> {
        self.ancestors(id).last().copied()
    }

    /// The ОМСУ answering for a territory: the head ОМСУ of the territory or of its nearest
    /// ancestor that has one, with the territory it was found at.
    pub fn omsu_for(&self, territory: TerritoryId) -> Option<(TerritoryId, &Organisation)> {
        self.ancestors(territory)
            .into_iter()
            .find_map(|t| self.omsu.get(&t).map(|i| (t, &self.organisations[*i])))
    }

    /// РОИВ whose competences contain the category, sorted by code. With a territory, only
    /// those serving a territory of its chain (its region) qualify.
    pub fn roivs_for(
        &self,
        category: &CategoryId,
        territory: Option<TerritoryId>,
    ) -> Vec<&Organisation> {
        let chain = territory.map(|t| self.ancestors(t));
        self.roivs
            .get(category)
            .into_iter()
            .flatten()
            .map(|i| &self.organisations[*i])
            .filter(|o| chain.as_ref().is_none_or(|c| c.contains(&o.territory)))
            .collect()
    }

    /// An institution with the competence in the territory or its nearest ancestor that has
    /// one (first by code), with the territory it was found at.
    pub fn institution_for(
        &self,
        territory: TerritoryId,
        category: &CategoryId,
    ) -> Option<(TerritoryId, &Organisation)> {
        self.ancestors(territory).into_iter().find_map(|t| {
            self.institutions
                .get(&(t, category.clone()))
                .and_then(|list| list.first())
                .map(|i| (t, &self.organisations[*i]))
        })
    }

    /// The region-level fallback organisation for a territory (or for the first region by code
    /// when there is none): an `Other` body at the region, preferring the ЦУР, else the first
    /// РОИВ of the region by code.
    pub fn region_fallback(&self, territory: Option<TerritoryId>) -> Option<&Organisation> {
        let regions: Vec<TerritoryId> = match territory.and_then(|t| self.region_of(t)) {
            Some(r) => vec![r],
            None => self
                .regions
                .iter()
                .map(|i| self.territories[*i].id)
                .collect(),
        };
        for region in &regions {
            let others: Vec<&Organisation> = self
                .others
                .get(region)
                .into_iter()
                .flatten()
                .map(|i| &self.organisations[*i])
                .collect();
            if let Some(o) = others.iter().find(|o| is_cur(o)).or(others.first()) {
                return Some(o);
            }
        }
        for region in &regions {
            let roiv = self
                .organisations
                .iter()
                .filter(|o| o.kind == OrgKind::Roiv && self.region_of(o.territory) == Some(*region))
                .min_by(|a, b| a.code.cmp(&b.code));
            if roiv.is_some() {
                return roiv;
            }
        }
        // No regions at all (or none with a body): any РОИВ.
        self.organisations
            .iter()
            .filter(|o| o.kind == OrgKind::Roiv)
            .min_by(|a, b| a.code.cmp(&b.code))
    }
}

/// Whether an organisation looks like the regional management centre (ЦУР).
fn is_cur(o: &Organisation) -> bool {
    let names = [Some(o.name.as_str()), o.short_name.as_deref()];
    names.into_iter().flatten().any(|n| {
        let n = n.to_lowercase();
        n.contains("цур") || n.contains("центр управления регион")
    })
}
