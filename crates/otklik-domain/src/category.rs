use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Stable id of a category («roads»).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategoryId(pub String);

/// Stable id of a subcategory («roads.potholes»).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubcategoryId(pub String);

impl std::fmt::Display for CategoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for SubcategoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A top-level category of the unified classifier («Автомобильные дороги»).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Stable id.
    pub id: CategoryId,
    /// Russian name.
    pub name: String,
}

/// The shorter deadline of an urgent quick-fix item (snow, potholes, open manholes, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FastTrack {
    /// Working days to fix.
    pub deadline_days: u16,
}

/// A subcategory: the unit messages are classified into and deadlines are set by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subcategory {
    /// Stable id.
    pub id: SubcategoryId,
    /// Parent category.
    pub category: CategoryId,
    /// Russian name.
    pub name: String,
    /// Review deadline in days (default 30).
    pub deadline_days: u16,
    /// Fast-track («быстрое решение») with its shorter deadline, when the item is urgent.
    pub fast_track: Option<FastTrack>,
}

impl Subcategory {
    /// The deadline that applies: the fast-track one when present.
    pub fn effective_deadline_days(&self) -> u16 {
        self.fast_track
            .map_or(self.deadline_days, |f| f.deadline_days)
    }
}

/// The whole validated tree, with lookups.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    categories: Vec<Category>,
    subcategories: Vec<Subcategory>,
    category_index: HashMap<CategoryId, usize>,
    subcategory_index: HashMap<SubcategoryId, usize>,
}

impl CategoryTree {
    /// Builds the tree; the caller (the rules loader) has already validated ids and parents.
    pub fn new(categories: Vec<Category>, subcategories: Vec<Subcategory>) -> Self {
        let category_index = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let subcategory_index = subcategories
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Self {
            categories,
            subcategories,
            category_index,
            subcategory_index,
        }
    }

    /// All categories in file order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// All subcategories in file order.
    pub fn subcategories(&self) -> &[Subcategory] {
        &self.subcategories
    }

    /// A category by id.
    pub fn category(&self, id: &CategoryId) -> Option<&Category> {
        self.category_index.get(id).map(|i| &self.categories[*i])
    }

    /// A subcategory by id.
    pub fn subcategory(&self, id: &SubcategoryId) -> Option<&Subcategory> {
        self.subcategory_index
            .get(id)
            .map(|i| &self.subcategories[*i])
    }

    /// Subcategories of one category.
    pub fn children<'a>(
        &'a self,
        id: &'a CategoryId,
    ) -> impl Iterator<Item = &'a Subcategory> + 'a {
        self.subcategories.iter().filter(move |s| &s.category == id)
    }

    /// Number of fast-track subcategories.
    pub fn fast_track_count(&self) -> usize {
        self.subcategories
            .iter()
            .filter(|s| s.fast_track.is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> CategoryTree {
        CategoryTree::new(
            vec![Category {
                id: CategoryId("roads".into()),
                name: "Автомобильные дороги".into(),
            }],
            vec![
                Subcategory {
                    id: SubcategoryId("roads.potholes".into()),
                    category: CategoryId("roads".into()),
                    name: "Ямы, выбоины".into(),
                    deadline_days: 30,
                    fast_track: Some(FastTrack { deadline_days: 5 }),
                },
                Subcategory {
                    id: SubcategoryId("roads.signs".into()),
                    category: CategoryId("roads".into()),
                    name: "Дорожные знаки".into(),
                    deadline_days: 30,
                    fast_track: None,
                },
            ],
        )
    }

    #[test]
    fn lookups_and_deadlines() {
        let t = tree();
        let p = t
            .subcategory(&SubcategoryId("roads.potholes".into()))
            .map(|s| s.effective_deadline_days());
        assert_eq!(p, Some(5));
        let s = t
            .subcategory(&SubcategoryId("roads.signs".into()))
            .map(|s| s.effective_deadline_days());
        assert_eq!(s, Some(30));
        assert_eq!(t.children(&CategoryId("roads".into())).count(), 2);
        assert_eq!(t.fast_track_count(), 1);
        assert!(t.category(&CategoryId("none".into())).is_none());
    }
}
