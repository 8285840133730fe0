//! Input records for the directory (territories, organisations, users, official communities,
//! sources), as they come from imports and the demo region. They refer to each other by stable
//! codes, not database ids; the store resolves codes inside one transaction.

use serde::{Deserialize, Serialize};

use crate::{CategoryId, Network, Onboarding, OrgKind, Role, TerritoryKind, Verification};

/// A territory to create or update (keyed by `code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTerritory {
    /// Stable code.
    pub code: String,
    /// Level.
    pub kind: TerritoryKind,
    /// Official name.
    pub name: String,
    /// Code of the enclosing territory (`None` for the region).
    pub parent_code: Option<String>,
    /// Other names.
    pub name_variants: Vec<String>,
}

/// An organisation to create or update (keyed by `code`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrganisation {
    /// Stable code.
    pub code: String,
    /// Type.
    pub kind: OrgKind,
    /// Full name.
    pub name: String,
    /// Short name.
    pub short_name: Option<String>,
    /// Code of the parent organisation.
    pub parent_code: Option<String>,
    /// Code of the territory served.
    pub territory_code: String,
    /// Categories the body answers for.
    pub competences: Vec<CategoryId>,
    /// Onboarding confirmations.
    pub onboarding: Onboarding,
    /// Site URL.
    pub site_url: Option<String>,
}

/// A role grant by organisation code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRoleGrant {
    /// Role.
    pub role: Role,
    /// Organisation code.
    pub organisation_code: String,
}

/// A user to create or update (keyed by `login`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    /// Login.
    pub login: String,
    /// Full name.
    pub full_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Home organisation code (`None` for citizens).
    pub organisation_code: Option<String>,
    /// Confirmed by the organisation.
    pub confirmed: bool,
    /// Roles.
    pub roles: Vec<NewRoleGrant>,
}

/// An official community to register (keyed by `(network, external_id)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCommunity {
    /// Network.
    pub network: Network,
    /// Normalised id or screen name.
    pub external_id: String,
    /// Public URL.
    pub url: String,
    /// Title.
    pub title: String,
    /// Owning organisation code.
    pub organisation_code: String,
    /// Verification status.
    pub verification: Verification,
}

/// A collector source to create or update (keyed by `name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSource {
    /// Unique name.
    pub name: String,
    /// Network.
    pub network: Network,
    /// Target (community id, channel name, feed URL).
    pub target: String,
    /// Cron schedule with seconds.
    pub schedule: String,
    /// Territory code (prior for territory detection).
    pub territory_code: Option<String>,
    /// Enabled.
    pub enabled: bool,
}

/// One all-or-nothing batch of directory records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryBatch {
    /// Territories, parents before children.
    pub territories: Vec<NewTerritory>,
    /// Organisations, parents before children.
    pub organisations: Vec<NewOrganisation>,
    /// Users.
    pub users: Vec<NewUser>,
    /// Official communities.
    pub communities: Vec<NewCommunity>,
    /// Sources.
    pub sources: Vec<NewSource>,
}

impl DirectoryBatch {
    /// Total number of records.
    pub fn len(&self) -> usize {
        self.territories.len()
            + self.organisations.len()
            + self.users.len()
            + self.communities.len()
            + self.sources.len()
    }

    /// True when the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
