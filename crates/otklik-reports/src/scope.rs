//! Which organisations a report covers: everything (regional roles: the ЦУР, the region's
//! administrators and analysts) or a set of executor organisations (organisation-bound roles:
//! a municipality's head sees its own organisation and the ones beneath it).
//!
//! Message reports (volumes, deadlines, late answers, satisfaction) keep the messages whose
//! executor is in the scope — a scoped report has no «Без исполнителя» row. Directory reports
//! (onboarding, Госпаблики) keep the organisations in the scope and their staff and pages.

use std::collections::BTreeSet;

use otklik_domain::{Organisation, OrganisationId};

/// The organisations a report covers.
///
/// ```
/// use otklik_domain::OrganisationId;
/// use otklik_reports::Scope;
///
/// let own = Scope::organisations([OrganisationId(3), OrganisationId(4)]);
/// assert!(own.allows(Some(OrganisationId(3))));
/// assert!(!own.allows(Some(OrganisationId(5))));
/// assert!(!own.allows(None)); // messages without an executor are regional
/// assert!(Scope::All.allows(None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every organisation, and messages without an executor.
    #[default]
    All,
    /// Only these organisations.
    Organisations(BTreeSet<OrganisationId>),
}

impl Scope {
    /// Only `ids`.
    pub fn organisations(ids: impl IntoIterator<Item = OrganisationId>) -> Self {
        Scope::Organisations(ids.into_iter().collect())
    }

    /// Does the scope cover everything?
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// Does the scope cover this executor (`None`: no executor, only in [`Scope::All`])?
    pub fn allows(&self, org: Option<OrganisationId>) -> bool {
        match self {
            Scope::All => true,
            Scope::Organisations(set) => org.is_some_and(|o| set.contains(&o)),
        }
    }

    /// The organisations of `all` in the scope.
    pub fn filter_organisations(&self, all: &[Organisation]) -> Vec<Organisation> {
        all.iter()
            .filter(|o| self.allows(Some(o.id)))
            .cloned()
            .collect()
    }
}
