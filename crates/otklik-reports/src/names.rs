//! Names, not ids: organisations, territories, categories and subcategories as people read
//! them in a report.

use std::collections::HashMap;

use otklik_domain::{CategoryTree, Organisation, OrganisationId, Territory, TerritoryId};

use crate::Result;

/// What a report shows for a missing executor.
pub const NO_EXECUTOR: &str = "Без исполнителя";
/// What a report shows for a missing territory.
pub const NO_TERRITORY: &str = "Без территории";

/// Lookup of display names.
#[derive(Debug, Clone, Default)]
pub struct Names {
    organisations: HashMap<OrganisationId, Organisation>,
    territories: HashMap<TerritoryId, String>,
    categories: HashMap<String, String>,
    subcategories: HashMap<String, String>,
}

impl Names {
    /// Names of these organisations and territories, and of the category tree if given.
    pub fn new(
        organisations: &[Organisation],
        territories: &[Territory],
        tree: Option<&CategoryTree>,
    ) -> Self {
        let mut names = Self {
            organisations: organisations.iter().map(|o| (o.id, o.clone())).collect(),
            territories: territories.iter().map(|t| (t.id, t.name.clone())).collect(),
            ..Self::default()
        };
        if let Some(tree) = tree {
            names.categories = tree
                .categories()
                .iter()
                .map(|c| (c.id.0.clone(), c.name.clone()))
                .collect();
            names.subcategories = tree
                .subcategories()
                .iter()
                .map(|s| (s.id.0.clone(), s.name.clone()))
                .collect();
        }
        names
    }

    /// The store's organisations and territories, and the tree's categories.
    pub async fn load(store: &otklik_store::Store, tree: Option<&CategoryTree>) -> Result<Self> {
        let organisations = store.organisations().await?;
        let territories = store.territories().await?;
        Ok(Self::new(&organisations, &territories, tree))
    }

    /// An organisation of the directory.
    pub fn org(&self, id: OrganisationId) -> Option<&Organisation> {
        self.organisations.get(&id)
    }

    /// The organisation's full name ([`NO_EXECUTOR`] for none, `№ id` when unknown).
    pub fn organisation(&self, id: Option<OrganisationId>) -> String {
        match id {
            None => NO_EXECUTOR.to_owned(),
            Some(id) => self
                .organisations
                .get(&id)
                .map_or_else(|| format!("Организация № {id}"), |o| o.name.clone()),
        }
    }

    /// The organisation's type label («РОИВ»), empty when unknown.
    pub fn organisation_kind(&self, id: Option<OrganisationId>) -> String {
        id.and_then(|id| self.organisations.get(&id))
            .map(|o| o.kind.label_ru().to_owned())
            .unwrap_or_default()
    }

    /// The territory's name ([`NO_TERRITORY`] for none, `№ id` when unknown).
    pub fn territory(&self, id: Option<TerritoryId>) -> String {
        match id {
            None => NO_TERRITORY.to_owned(),
            Some(id) => self
                .territories
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("Территория № {id}")),
        }
    }

    /// A category's name, or its code when the tree does not know it.
    pub fn category(&self, code: &str) -> String {
        self.categories
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }

    /// A value of an archive search facet as people read it: names of categories,
    /// subcategories, territories and organisations (the index keeps codes and ids), Russian
    /// labels of kinds, networks and statuses (a message's workflow status or a post's
    /// classifier kind), months as «октябрь 2026».
    ///
    /// ```
    /// use otklik_reports::Names;
    /// use otklik_search::Facet;
    /// let names = Names::default();
    /// assert_eq!(names.facet_value(Facet::Network, "vk"), "ВКонтакте");
    /// assert_eq!(names.facet_value(Facet::Status, "moderation"), "На модерации");
    /// assert_eq!(names.facet_value(Facet::Status, "complaint"), "жалоба");
    /// assert_eq!(names.facet_value(Facet::Period, "2026-10"), "октябрь 2026");
    /// assert_eq!(names.facet_value(Facet::Kind, "post"), "публикация");
    /// assert_eq!(names.facet_value(Facet::Territory, "7"), "Территория № 7");
    /// ```
    pub fn facet_value(&self, facet: otklik_search::Facet, value: &str) -> String {
        use otklik_search::Facet;
        let id = || value.trim().parse::<i64>().ok();
        match facet {
            Facet::Kind => match value {
                "message" => "сообщение".to_owned(),
                "post" => "публикация".to_owned(),
                other => other.to_owned(),
            },
            Facet::Category => self.category(value),
            Facet::Subcategory => self.subcategory(value),
            Facet::Territory => match id() {
                Some(i) => self.territory(Some(TerritoryId(i))),
                None => value.to_owned(),
            },
            Facet::Organisation => match id() {
                Some(i) => self.organisation(Some(OrganisationId(i))),
                None => value.to_owned(),
            },
            Facet::Network => value
                .parse::<otklik_domain::Network>()
                .map_or_else(|_| value.to_owned(), |n| n.label_ru().to_owned()),
            Facet::Status => match value.parse::<otklik_domain::MessageStatus>() {
                Ok(s) => s.label_ru().to_owned(),
                Err(_) => value
                    .parse::<otklik_store::PostKind>()
                    .map_or_else(|_| value.to_owned(), |k| k.label_ru().to_owned()),
            },
            Facet::Period => month_label(value),
        }
    }

    /// A subcategory's name, or its code when the tree does not know it.
    pub fn subcategory(&self, code: &str) -> String {
        self.subcategories
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
}

/// `2026-10` → «октябрь 2026» (anything else unchanged).
pub fn month_label(month: &str) -> String {
    const MONTHS: [&str; 12] = [
        "январь",
        "февраль",
        "март",
        "апрель",
        "май",
        "июнь",
        "июль",
        "август",
        "сентябрь",
        "октябрь",
        "ноябрь",
        "декабрь",
    ];
    match month.split_once('-') {
        Some((y, m)) if y.len() == 4 && y.parse::<u32>().is_ok() => m
            .parse::<usize>()
            .ok()
            .and_then(|m| m.checked_sub(1))
            .and_then(|i| MONTHS.get(i))
            .map_or_else(|| month.to_owned(), |name| format!("{name} {y}")),
        _ => month.to_owned(),
    }
}
