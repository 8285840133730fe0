//! Building the messages workflow ([`otklik_workflow::Workflow`]) the [`crate::Analyst`] hands
//! its complaints to: the category tree and the reject reasons of the rules folder, the
//! working-day calendar of `rules/calendar` (the embedded one when the folder has none), the
//! router and its directory snapshot.

use std::path::Path;

use otklik_calendar::Calendar;
use otklik_domain::{Organisation, OrganisationId};
use otklik_route::Router;
use otklik_rules::{RejectReasons, RulesDir, load_reject_reasons};
use otklik_store::Store;
use otklik_workflow::{Workflow, WorkflowConfig};

use crate::PipelineError;

/// File of the reject reasons in a rules folder.
pub const REJECT_REASONS_FILE: &str = "reject-reasons.toml";
/// Folder of the working-day calendar files in a rules folder.
pub const CALENDAR_DIR: &str = "calendar";

/// The reject reasons (`DIR/reject-reasons.toml`, required) and the calendar
/// (`DIR/calendar/*.toml` when present, else the embedded calendar) of a rules folder.
pub fn load_workflow_rules(rules_dir: &Path) -> Result<(RejectReasons, Calendar), PipelineError> {
    let reasons = load_reject_reasons(rules_dir.join(REJECT_REASONS_FILE))
        .map_err(|e| PipelineError::Config(format!("reject reasons: {e}")))?;
    let calendar_dir = rules_dir.join(CALENDAR_DIR);
    let calendar = if calendar_dir.is_dir() {
        Calendar::load(&calendar_dir).map_err(|e| {
            PipelineError::Config(format!("calendar {}: {e}", calendar_dir.display()))
        })?
    } else {
        Calendar::embedded()
    };
    Ok((reasons, calendar))
}

/// Workflow settings for the pipeline: complaints classified with at least `min_confidence`
/// (0..=1) skip moderation; `oversight` are the codes of the regional oversight organisations
/// (the ЦУР) whose moderators and curators act on every message — codes missing from the
/// directory are ignored, and the routing rules' fallback executor is one when configured.
pub fn workflow_config(
    rules: &RulesDir,
    organisations: &[Organisation],
    min_confidence: f32,
    oversight: &[String],
) -> WorkflowConfig {
    let fallback = rules
        .routing()
        .defaults()
        .fallback_executor
        .as_ref()
        .map(|f| f.value.clone());
    let mut ids: Vec<OrganisationId> = oversight
        .iter()
        .chain(fallback.iter())
        .filter_map(|code| organisations.iter().find(|o| &o.code == code))
        .map(|o| o.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    WorkflowConfig {
        min_confidence_pm: (f64::from(min_confidence.clamp(0.0, 1.0)) * 1000.0).round() as i64,
        oversight: ids,
        ..WorkflowConfig::default()
    }
}

/// The workflow over `store`, routed by `router` (whose directory gives the organisations'
/// scopes), with the tree, reject reasons and calendar of `rules`.
pub fn build_workflow(
    store: Store,
    rules: &RulesDir,
    router: Router,
    config: WorkflowConfig,
) -> Result<Workflow, PipelineError> {
    let (reasons, calendar) = load_workflow_rules(rules.dir())?;
    let organisations = router.directory().organisations().to_vec();
    Ok(Workflow::new(
        store,
        router,
        rules.tree().clone(),
        &organisations,
        reasons,
        calendar,
        config,
    )?)
}
