//! Settings of the workflow service.

use otklik_calendar::AtRisk;
use otklik_domain::{OrganisationId, SubcategoryId};

/// Workflow settings; [`WorkflowConfig::default`] gives the documented defaults.
#[derive(Debug, Clone)]
pub struct WorkflowConfig {
    /// Collected incidents classified with confidence below this (per mille) wait for the
    /// moderator; at or above it they go straight to coordination (default 700).
    pub min_confidence_pm: i64,
    /// Subcategory of a direct submission that came without a category hint (it waits for the
    /// moderator to choose one). Must exist in the category tree (default `other.other`).
    pub unclassified_subcategory: SubcategoryId,
    /// Organisations whose moderators and curators act on every message of the region (the
    /// ЦУР).
    pub oversight: Vec<OrganisationId>,
    /// First public reply to a social-network incident due within this many working hours
    /// (default 8; 0 = not tracked).
    pub first_reply_working_hours: u32,
    /// Near-duplicates are looked for among messages of the same territory registered within
    /// this many calendar days (default 14; 0 disables the search).
    pub duplicate_window_days: i64,
    /// Estimated Jaccard similarity from which two texts are duplicates (default 0.5).
    pub duplicate_threshold: f64,
    /// When a message counts as at risk.
    pub at_risk: AtRisk,
    /// The curator may reopen an answer rated at most this (default 3).
    pub reopen_max_rating: i64,
    /// Working days given to a reopened message (default 5).
    pub reopen_working_days: u32,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        Self {
            min_confidence_pm: 700,
            unclassified_subcategory: SubcategoryId("other.other".into()),
            oversight: Vec::new(),
            first_reply_working_hours: 8,
            duplicate_window_days: 14,
            duplicate_threshold: 0.5,
            at_risk: AtRisk::default(),
            reopen_max_rating: 3,
            reopen_working_days: 5,
        }
    }
}
