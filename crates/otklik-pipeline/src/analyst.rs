//! [`Analyst`]: unclassified posts → [`PostAnalyzer`] → classification stored; complaints go
//! through the messages workflow ([`Workflow::intake_incident_batch`]: a batch's complaints in
//! one transaction, idempotency key `post:<id>`).

use std::collections::HashMap;
use std::sync::Arc;

use otklik_classify::monitor::{PostAnalysis, PostAnalyzer};
use otklik_classify::territory::TerritoryEntry;
use otklik_domain::{
    CategoryTree, MessageId, MessageRecord, MessageStatus, PostId, SourceId, SubcategoryId,
    Territory, TerritoryId, Timestamp,
};
use otklik_store::{Classification, PostDetails, PostKind, Store};
use otklik_workflow::{Incident, Workflow, WorkflowError};

use crate::{PipelineError, telemetry};

/// How the analyst works. Whether a complaint's message skips moderation is the workflow's
/// decision ([`otklik_workflow::WorkflowConfig::min_confidence_pm`]; see
/// [`crate::workflow_config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AnalystSettings {
    /// Posts fetched per round.
    pub batch_size: i64,
}

impl Default for AnalystSettings {
    fn default() -> Self {
        Self { batch_size: 1000 }
    }
}

/// What became of one post.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysedPost {
    /// The post.
    pub post: PostId,
    /// Its source.
    pub source: SourceId,
    /// The classifier's kind.
    pub kind: PostKind,
    /// A complaint.
    pub is_complaint: bool,
    /// Subcategory, when one was found.
    pub subcategory: Option<String>,
    /// Territory code, when one was found.
    pub territory: Option<String>,
    /// Confidence 0..=1.
    pub confidence: f32,
    /// The message created (or found again) for a complaint.
    pub message: Option<MessageId>,
    /// The message was left in moderation (low confidence or no executor).
    pub in_moderation: bool,
}

/// What one [`Analyst::run_once`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalystReport {
    /// Posts classified.
    pub analysed: u64,
    /// Of them, complaints.
    pub complaints: u64,
    /// Messages created.
    pub messages_created: u64,
    /// Of them, left in moderation.
    pub in_moderation: u64,
    /// Complaints with no subcategory (or refused by the workflow): classified, no message.
    pub unrouted: u64,
    /// Every post, in the order analysed.
    pub posts: Vec<AnalysedPost>,
}

/// Territory entries for the territory detector, from the store's territories (parent ids
/// mapped to codes).
pub async fn territory_entries(store: &Store) -> Result<Vec<TerritoryEntry>, PipelineError> {
    let territories = store.territories().await?;
    let code_of: HashMap<TerritoryId, String> =
        territories.iter().map(|t| (t.id, t.code.clone())).collect();
    Ok(territories
        .into_iter()
        .map(|t| TerritoryEntry {
            parent: t.parent.and_then(|p| code_of.get(&p).cloned()),
            code: t.code,
            kind: t.kind,
            name: t.name,
            variants: t.name_variants,
        })
        .collect())
}

/// The analysis step of the pipeline.
#[derive(Debug)]
pub struct Analyst {
    workflow: Workflow,
    analyzer: Arc<PostAnalyzer>,
    tree: CategoryTree,
    settings: AnalystSettings,
    territory_ids: HashMap<String, TerritoryId>,
    territory_codes: HashMap<TerritoryId, String>,
}

impl Analyst {
    /// An analyst whose complaints go through `workflow` (whose store it reads the posts
    /// from). `tree` is the category tree the workflow was built with; `territories` the
    /// directory's territories (the detector's codes are mapped to their ids).
    pub fn new(
        workflow: Workflow,
        analyzer: PostAnalyzer,
        tree: CategoryTree,
        territories: &[Territory],
        settings: AnalystSettings,
    ) -> Self {
        let territory_ids = territories.iter().map(|t| (t.code.clone(), t.id)).collect();
        let territory_codes = territories.iter().map(|t| (t.id, t.code.clone())).collect();
        Self {
            workflow,
            analyzer: Arc::new(analyzer),
            tree,
            settings,
            territory_ids,
            territory_codes,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AnalystSettings {
        &self.settings
    }

    /// The workflow complaints go through.
    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    fn store(&self) -> &Store {
        self.workflow.store()
    }

    /// Classifies every post not classified yet, batch after batch, and turns complaints into
    /// messages. Safe to re-run after a crash: a message is found again by its key.
    pub async fn run_once(&self, now: Timestamp) -> Result<AnalystReport, PipelineError> {
        self.run_gated(now, None).await
    }

    /// [`Analyst::run_once`], taking `gate` around each batch's writes (messages and
    /// verdicts) — the [`crate::Scheduler`]'s store writer takes the same gate, so the two
    /// never wait on each other inside SQLite's busy handler (which sleeps and lets one
    /// starve the other); the classification itself runs outside the gate.
    pub(crate) async fn run_gated(
        &self,
        now: Timestamp,
        gate: Option<&tokio::sync::Mutex<()>>,
    ) -> Result<AnalystReport, PipelineError> {
        let priors: HashMap<SourceId, String> = self
            .store()
            .sources()
            .await?
            .into_iter()
            .filter_map(|s| {
                let code = self.territory_codes.get(&s.territory?)?.clone();
                Some((s.id, code))
            })
            .collect();
        let mut report = AnalystReport::default();
        loop {
            let batch = self
                .store()
                .posts_to_classify(self.settings.batch_size)
                .await?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len();
            let analyses = self.analyse_texts(&batch, &priors).await?;
            let mut decided = Vec::with_capacity(n);
            let mut incidents = Vec::new();
            let mut at = Vec::new();
            for (post, a) in batch.iter().zip(analyses) {
                let (done, classification, incident) = self.decide(post, a, now);
                if let Some(incident) = incident {
                    let key = format!("post:{}", incident.post.get());
                    at.push(decided.len());
                    incidents.push((incident, key));
                }
                decided.push((done, classification));
            }
            let guard = match gate {
                Some(gate) => Some(gate.lock().await),
                None => None,
            };
            // The batch's complaints in one workflow transaction.
            let records = self.intake(&incidents, now).await?;
            for (i, record) in at.into_iter().zip(records) {
                if let Some(record) = record {
                    let done = &mut decided[i].0;
                    done.in_moderation = record.message.status == MessageStatus::Moderation;
                    done.message = Some(record.message.id);
                }
            }
            let mut verdicts = Vec::with_capacity(n);
            for (done, classification) in decided {
                verdicts.push((done.post, classification, done.message));
                report.analysed += 1;
                if done.is_complaint {
                    report.complaints += 1;
                    match done.message {
                        Some(_) => {
                            report.messages_created += 1;
                            if done.in_moderation {
                                report.in_moderation += 1;
                            }
                        }
                        None => report.unrouted += 1,
                    }
                }
                report.posts.push(done);
            }
            // The whole batch's verdicts in one transaction.
            self.store().record_classifications(&verdicts).await?;
            drop(guard);
            if i64::try_from(n).unwrap_or(i64::MAX) < self.settings.batch_size {
                break;
            }
        }
        Ok(report)
    }

    /// Runs the analyzer over the batch's texts on all cores (off the async runtime).
    async fn analyse_texts(
        &self,
        batch: &[PostDetails],
        priors: &HashMap<SourceId, String>,
    ) -> Result<Vec<PostAnalysis>, PipelineError> {
        let inputs: Vec<(String, Option<String>)> = batch
            .iter()
            .map(|p| (p.post.text.clone(), priors.get(&p.post.source).cloned()))
            .collect();
        let analyzer = Arc::clone(&self.analyzer);
        tokio::task::spawn_blocking(move || {
            let threads = std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .clamp(1, 4);
            let chunk = inputs.len().div_ceil(threads).max(1);
            std::thread::scope(|scope| {
                let handles: Vec<_> = inputs
                    .chunks(chunk)
                    .map(|part| {
                        let analyzer = &analyzer;
                        scope.spawn(move || {
                            part.iter()
                                .map(|(text, prior)| analyzer.analyze(text, prior.as_deref()))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                let mut out = Vec::with_capacity(inputs.len());
                for h in handles {
                    match h.join() {
                        Ok(part) => out.extend(part),
                        Err(_) => {
                            return Err(PipelineError::Config("the post analyzer panicked".into()));
                        }
                    }
                }
                Ok(out)
            })
        })
        .await
        .map_err(|e| PipelineError::Config(format!("analysis task failed: {e}")))?
    }

    /// Turns one post's analysis into its classification and, for a complaint with a
    /// subcategory, the incident for the workflow.
    fn decide(
        &self,
        post: &PostDetails,
        a: PostAnalysis,
        now: Timestamp,
    ) -> (AnalysedPost, Classification, Option<Incident>) {
        let kind: PostKind = a.kind.as_str().parse().unwrap_or(PostKind::Other);
        let territory = a
            .territory()
            .and_then(|c| self.territory_ids.get(c))
            .copied();
        let subcategory = a
            .subcategory
            .as_ref()
            .map(|s| SubcategoryId(s.clone()))
            .filter(|s| self.tree.subcategory(s).is_some());
        let confidence_pm = (f64::from(a.confidence.clamp(0.0, 1.0)) * 1000.0).round() as i64;
        telemetry::analysed(
            post.post.id.get(),
            kind.code(),
            a.is_complaint,
            a.confidence,
        );
        let done = AnalysedPost {
            post: post.post.id,
            source: post.post.source,
            kind,
            is_complaint: a.is_complaint,
            subcategory: subcategory.as_ref().map(|s| s.0.clone()),
            territory: a.territory().map(str::to_owned),
            confidence: a.confidence,
            message: None,
            in_moderation: false,
        };
        let classification = Classification {
            kind,
            is_complaint: a.is_complaint,
            subcategory: subcategory.clone(),
            confidence_pm: Some(confidence_pm),
            territory,
            classified_at: now,
        };
        let incident = match (subcategory, a.is_complaint) {
            (Some(sub), true) => Some(Incident {
                post: post.post.id,
                source_url: post.post.url.clone(),
                author_handle: post.post.author.clone(),
                text: post.post.text.clone(),
                territory,
                address: a.territories.first().and_then(|t| t.street.clone()),
                subcategory: sub,
                confidence_pm,
            }),
            _ => None,
        };
        (done, classification, incident)
    }

    /// Registers a batch's complaints through the workflow in one transaction (routing,
    /// calendar deadline, duplicate group, audit; confident ones with an executor accepted at
    /// once), one result per incident: `None` when the workflow refuses the incident itself
    /// (it stays a classified post; logged).
    async fn intake(
        &self,
        incidents: &[(Incident, String)],
        now: Timestamp,
    ) -> Result<Vec<Option<MessageRecord>>, PipelineError> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let results = self.workflow.intake_incident_batch(incidents, now).await?;
        let mut out = Vec::with_capacity(results.len());
        for ((incident, _), result) in incidents.iter().zip(results) {
            let post = incident.post.get();
            out.push(match result {
                Ok(intake) => {
                    let m = &intake.record.message;
                    let moderation = m.status == MessageStatus::Moderation;
                    if !intake.replayed {
                        telemetry::message_created(
                            post,
                            m.id.get(),
                            &incident.subcategory.0,
                            moderation,
                        );
                    }
                    Some(intake.record)
                }
                // Registered before with another payload (a re-run after the classifier
                // changed, or a message of an older version): the post's message is that one.
                Err(WorkflowError::KeyReused { message, .. }) => {
                    Some(self.workflow.message(message).await?)
                }
                Err(
                    e @ (WorkflowError::Invalid(_)
                    | WorkflowError::Route(_)
                    | WorkflowError::Deadline(_)),
                ) => {
                    tracing::warn!(post, error = %e, "complaint not registered by the workflow");
                    None
                }
                Err(e) => return Err(e.into()),
            });
        }
        Ok(out)
    }
}
