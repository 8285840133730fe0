//! The cursor of sources without paging (feeds, web pages): which items were delivered, with
//! their content hashes, so that new and edited items are returned and unchanged ones are not.

use serde::{Deserialize, Serialize};

use crate::Item;

/// Delivered items, most recent last; bounded.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SeenSet {
    /// (external id, content hash).
    items: Vec<(String, String)>,
}

impl SeenSet {
    /// The items that are new or changed since they were delivered (the first of several with
    /// the same id).
    pub(crate) fn fresh(&self, items: Vec<Item>) -> Vec<Item> {
        let mut out: Vec<Item> = Vec::new();
        for it in items {
            let known = self
                .items
                .iter()
                .any(|(id, hash)| *id == it.external_id && *hash == it.content_hash);
            if !known && !out.iter().any(|o| o.external_id == it.external_id) {
                out.push(it);
            }
        }
        out
    }

    /// Records delivered items, keeping at most `cap` entries (the oldest go first).
    pub(crate) fn remember(&mut self, items: &[Item], cap: usize) {
        for it in items {
            self.items.retain(|(id, _)| *id != it.external_id);
            self.items
                .push((it.external_id.clone(), it.content_hash.clone()));
        }
        if self.items.len() > cap {
            let excess = self.items.len() - cap;
            self.items.drain(..excess);
        }
    }
}

#[cfg(test)]
mod tests {
    use otklik_domain::Network;

    use super::*;

    #[test]
    fn new_and_edited_items_are_fresh() {
        let a = Item::new(Network::Rss, "a", "Текст А", 1);
        let b = Item::new(Network::Rss, "b", "Текст Б", 2);
        let mut seen = SeenSet::default();
        assert_eq!(seen.fresh(vec![a.clone(), b.clone(), a.clone()]).len(), 2);
        seen.remember(&[a.clone(), b.clone()], 10);
        assert!(seen.fresh(vec![a.clone(), b.clone()]).is_empty());
        let mut b2 = b.clone();
        b2.text = "Текст Б (исправлено)".into();
        let b2 = b2.finish();
        assert_eq!(
            seen.fresh(vec![a.clone(), b2.clone()]),
            std::slice::from_ref(&b2)
        );
        seen.remember(std::slice::from_ref(&b2), 1);
        assert_eq!(seen.items.len(), 1);
        assert_eq!(seen.fresh(vec![a, b2]).len(), 1, "a was forgotten");
    }
}
