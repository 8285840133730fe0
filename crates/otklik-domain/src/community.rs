use serde::{Deserialize, Serialize};

use crate::{CommunityId, Network, OrganisationId};

code_enum! {
    /// Whether an official community was verified as the body's own.
    Verification, "verification status" {
        /// Registered, not yet checked.
        Pending = "pending", "Не проверено";
        /// Confirmed through the network's API and the body.
        Verified = "verified", "Подтверждено";
        /// Could not be confirmed (deleted, private, not the body's).
        Failed = "failed", "Не подтверждено";
    }
}

/// An official community of a government body (госпаблик).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialCommunity {
    /// Database id.
    pub id: CommunityId,
    /// Network.
    pub network: Network,
    /// Id or screen name in the network, normalised («club123», «minzdrav38»).
    pub external_id: String,
    /// Public URL.
    pub url: String,
    /// Title as shown in the network.
    pub title: String,
    /// Owning organisation.
    pub organisation: OrganisationId,
    /// Verification status.
    pub verification: Verification,
}
