//! Who may vote: residents of the poll's territory (or of any territory beneath it) of at least
//! the poll's minimum age. Pure functions over a snapshot of the territory tree.

use std::collections::HashMap;

use otklik_domain::{Territory, TerritoryId};
use otklik_store::PollDetails;

use crate::error::AudienceError;

/// The territory hierarchy: parent links.
#[derive(Debug, Clone, Default)]
pub struct TerritoryTree {
    parents: HashMap<TerritoryId, Option<TerritoryId>>,
}

impl TerritoryTree {
    /// The tree of `territories` (as stored in the directory).
    pub fn new(territories: &[Territory]) -> Self {
        Self {
            parents: territories.iter().map(|t| (t.id, t.parent)).collect(),
        }
    }

    /// Is `id` known?
    pub fn contains(&self, id: TerritoryId) -> bool {
        self.parents.contains_key(&id)
    }

    /// Is `place` the territory `area` or beneath it?
    pub fn is_within(&self, place: TerritoryId, area: TerritoryId) -> bool {
        let mut at = Some(place);
        // The chain is bounded by the number of territories (guards against a cycle).
        for _ in 0..=self.parents.len() {
            match at {
                Some(t) if t == area => return true,
                Some(t) => at = self.parents.get(&t).copied().flatten(),
                None => return false,
            }
        }
        false
    }
}

/// What the identity provider says about a voter (besides the identity itself), and where the
/// vote came from. Nothing here is stored as given: the address only as a keyed hash of its
/// network prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoteMeta {
    /// The voter's territory of residence (from the registration address).
    pub territory: Option<TerritoryId>,
    /// The voter's age in full years.
    pub age: Option<u32>,
    /// The client's address (for rate limits and the anomaly report).
    pub ip: Option<std::net::IpAddr>,
}

/// Checks that the voter belongs to the poll's audience: when the poll has a territory, the
/// voter's territory is it or beneath it; when it has a minimum age, the voter is that old.
/// An unknown territory or age is refused when the poll needs it.
pub fn check_audience(
    poll: &PollDetails,
    tree: &TerritoryTree,
    meta: &VoteMeta,
) -> Result<(), AudienceError> {
    if let Some(area) = poll.poll.territory {
        let place = meta.territory.ok_or(AudienceError::TerritoryUnknown)?;
        if !tree.contains(place) {
            return Err(AudienceError::TerritoryUnknown);
        }
        if !tree.is_within(place, area) {
            return Err(AudienceError::OutsideTerritory);
        }
    }
    if let Some(min_age) = poll.min_age {
        let age = meta.age.ok_or(AudienceError::AgeUnknown)?;
        if age < min_age {
            return Err(AudienceError::TooYoung { min_age });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use otklik_domain::{PollKind, TerritoryKind};

    use super::*;
    use crate::ballot::tests::poll;

    fn t(id: i64, parent: Option<i64>) -> Territory {
        Territory {
            id: TerritoryId(id),
            code: format!("t{id}"),
            kind: TerritoryKind::Settlement,
            name: format!("T{id}"),
            parent: parent.map(TerritoryId),
            name_variants: vec![],
        }
    }

    /// 1 region → 2 district → 3 town; 1 → 4 other district.
    fn tree() -> TerritoryTree {
        TerritoryTree::new(&[t(1, None), t(2, Some(1)), t(3, Some(2)), t(4, Some(1))])
    }

    fn meta(territory: Option<i64>, age: Option<u32>) -> VoteMeta {
        VoteMeta {
            territory: territory.map(TerritoryId),
            age,
            ip: None,
        }
    }

    #[test]
    fn territory_and_descendants() {
        let mut p = poll(PollKind::SingleChoice, 2);
        p.poll.territory = Some(TerritoryId(2));
        let tree = tree();
        assert_eq!(check_audience(&p, &tree, &meta(Some(2), None)), Ok(()));
        assert_eq!(check_audience(&p, &tree, &meta(Some(3), None)), Ok(()));
        assert_eq!(
            check_audience(&p, &tree, &meta(Some(4), None)),
            Err(AudienceError::OutsideTerritory)
        );
        // The region is above the district, not in it.
        assert_eq!(
            check_audience(&p, &tree, &meta(Some(1), None)),
            Err(AudienceError::OutsideTerritory)
        );
        assert_eq!(
            check_audience(&p, &tree, &meta(None, None)),
            Err(AudienceError::TerritoryUnknown)
        );
        assert_eq!(
            check_audience(&p, &tree, &meta(Some(99), None)),
            Err(AudienceError::TerritoryUnknown)
        );
        // No territory on the poll: anyone, known or not.
        p.poll.territory = None;
        assert_eq!(check_audience(&p, &tree, &meta(None, None)), Ok(()));
    }

    #[test]
    fn minimum_age() {
        let mut p = poll(PollKind::SingleChoice, 2);
        p.min_age = Some(18);
        let tree = tree();
        assert_eq!(check_audience(&p, &tree, &meta(None, Some(18))), Ok(()));
        assert_eq!(
            check_audience(&p, &tree, &meta(None, Some(17))),
            Err(AudienceError::TooYoung { min_age: 18 })
        );
        assert_eq!(
            check_audience(&p, &tree, &meta(None, None)),
            Err(AudienceError::AgeUnknown)
        );
    }

    #[test]
    fn a_cycle_does_not_hang() {
        let tree = TerritoryTree::new(&[t(1, Some(2)), t(2, Some(1))]);
        assert!(!tree.is_within(TerritoryId(1), TerritoryId(3)));
        assert!(tree.is_within(TerritoryId(1), TerritoryId(2)));
    }
}
