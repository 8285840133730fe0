//! One call that analyses a collected post for the monitoring pipeline: language, complaint
//! or not ([`crate::complaint`]), the subcategory of the unified tree (keyword rules,
//! [`crate::keywords`], combined with a learned [`Classifier`] when one is loaded), and the
//! territory ([`crate::territory`]) with the source's own territory as the prior.
//!
//! How the subcategory is decided: when the learned model's labels are subcategory ids of
//! the tree (a model trained on moderators' decisions), its calibrated probabilities are
//! mixed with the rules' normalized scores (`model_weight` to the model); otherwise — no
//! model, or a model with another label set (topic groups, executors) — the rules decide and
//! the model's top labels are reported beside them. The confidence of a rule-only decision
//! is the winning rule's share of all rule scores, damped for weak evidence, so a single
//! weak term never looks certain; low confidence sends the message to moderation.
//!
//! ```
//! use otklik_classify::monitor::PostAnalyzer;
//!
//! let rules = otklik_rules::RulesDir::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules"))?;
//! let analyzer = PostAnalyzer::from_rules(&rules)?;
//! let a = analyzer.analyze("Когда засыплют огромные ямы на дороге по улице Ленина? Колёса пробили!", None);
//! assert!(a.is_complaint);
//! assert_eq!(a.category.as_deref(), Some("roads"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use otklik_rules::RulesDir;
use otklik_text::{Analyzers, clean_text, detect};
use serde::Serialize;

use crate::classifier::rule_features;
use crate::complaint::{ComplaintDetector, PostKind};
use crate::error::{ClassifyError, Result};
use crate::keywords::{HitLevel, KeywordMatcher};
use crate::territory::{TerritoryDetector, TerritoryMatch};
use crate::tokens::TokenList;
use crate::{Classifier, Prediction};

/// Evidence below this total rule score is considered weak.
const STRONG_RULE_SCORE: f32 = 3.0;

/// What the pipeline learns about one post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostAnalysis {
    /// Detected language code (`ru`, `uk`, `be`, `en`, …).
    pub language: String,
    /// What the post is.
    pub kind: PostKind,
    /// A complaint or question to the authorities (above the detector's threshold).
    pub is_complaint: bool,
    /// Probability of complaint or question.
    pub complaint_score: f32,
    /// The chosen subcategory of the unified tree, if any evidence points to one.
    pub subcategory: Option<String>,
    /// Its category (or the category of category-level evidence alone).
    pub category: Option<String>,
    /// Confidence of the subcategory decision, `0..=1`.
    pub confidence: f32,
    /// Top subcategories with scores, best first.
    pub candidates: Vec<(String, f32)>,
    /// The learned model's prediction, when a model is loaded.
    pub learned: Option<Prediction>,
    /// Best territory matches, best first.
    pub territories: Vec<TerritoryMatch>,
    /// Why: the complaint cues, the rule items that fired, the territory evidence.
    pub explanation: Vec<String>,
}

impl PostAnalysis {
    /// The best territory's code.
    pub fn territory(&self) -> Option<&str> {
        self.territories.first().map(|t| t.code.as_str())
    }
}

/// The analysers of the monitoring pipeline. Cheap to share (`Arc` inside); `Send + Sync`.
#[derive(Debug, Clone)]
pub struct PostAnalyzer {
    complaint: Arc<ComplaintDetector>,
    rules: Arc<KeywordMatcher>,
    model: Option<Arc<Classifier>>,
    territory: Option<Arc<TerritoryDetector>>,
    /// Subcategory ids of the tree, to know whether the model speaks the tree's language.
    subcategory_of: HashMap<String, String>,
    model_weight: f32,
}

impl PostAnalyzer {
    /// Keyword rules and the tree from a loaded rules directory; the embedded complaint
    /// lexicon; no learned model and no territories yet.
    pub fn from_rules(rules: &RulesDir) -> Result<Self> {
        let keywords = rules.keywords().ok_or_else(|| {
            ClassifyError::InvalidOption(format!(
                "{} has no keyword rules (rules/keywords/)",
                rules.dir().display()
            ))
        })?;
        let matcher = KeywordMatcher::compile(keywords, Analyzers::embedded())?;
        let subcategory_of = rules
            .tree()
            .subcategories()
            .iter()
            .map(|s| (s.id.0.clone(), s.category.0.clone()))
            .collect();
        Ok(Self {
            complaint: Arc::new(ComplaintDetector::embedded()),
            rules: Arc::new(matcher),
            model: None,
            territory: None,
            subcategory_of,
            model_weight: 0.6,
        })
    }

    /// The compiled keyword rules (also usable as classifier features).
    pub fn keyword_matcher(&self) -> Arc<KeywordMatcher> {
        Arc::clone(&self.rules)
    }

    /// Uses this complaint detector (e.g. with a configured threshold or a trained model).
    pub fn with_complaint_detector(mut self, detector: ComplaintDetector) -> Self {
        self.complaint = Arc::new(detector);
        self
    }

    /// Adds a learned classifier.
    pub fn with_model(mut self, model: Classifier) -> Self {
        self.model = Some(Arc::new(model));
        self
    }

    /// Adds territory detection.
    pub fn with_territories(mut self, detector: TerritoryDetector) -> Self {
        self.territory = Some(Arc::new(detector));
        self
    }

    /// Weight of the learned model against the rules when it predicts subcategories.
    pub fn with_model_weight(mut self, weight: f32) -> Self {
        self.model_weight = weight.clamp(0.0, 1.0);
        self
    }

    /// Analyses a raw post; `prior_territory` is the source's own territory code. Never
    /// fails: a broken or foreign-language text gets a low-confidence answer, not an error.
    ///
    /// The post is cleaned and analysed **once** (the first 16 KiB, like the complaint
    /// detector) and the same tokens feed the complaint detector, the keyword rules and the
    /// learned model (whose rule features reuse the rules' hits when it was trained with the
    /// same rules).
    pub fn analyze(&self, raw: &str, prior_territory: Option<&str>) -> PostAnalysis {
        let cleaned = clean_text(crate::complaint::truncate(raw));
        let text = cleaned.text.as_str();
        let language = detect(text).lang.code().to_owned();
        let tokens = TokenList::analyse(self.rules.analyzers(), text);
        let mut explanation: Vec<String> = Vec::new();

        let hits = self.rules.matches_token_list(&tokens);
        let mut rule_scores: HashMap<String, f32> = HashMap::new();
        let mut category_only: Option<(String, f32)> = None;
        for h in &hits {
            match h.level {
                HitLevel::Subcategory => {
                    *rule_scores.entry(h.subcategory.clone()).or_default() += h.score;
                    explanation.push(format!(
                        "rule {} ({:.1}): {}",
                        h.subcategory,
                        h.score,
                        h.matched.join(", ")
                    ));
                }
                HitLevel::Category => {
                    if category_only.as_ref().is_none_or(|c| h.score > c.1) {
                        category_only = Some((h.category.clone(), h.score));
                    }
                }
            }
        }
        let total: f32 = rule_scores.values().sum();
        let best_rule = rule_scores.values().copied().fold(0.0f32, f32::max);
        let mut combined: HashMap<String, f32> = rule_scores
            .iter()
            .map(|(k, v)| {
                let share = v / total.max(f32::MIN_POSITIVE);
                let strength = (best_rule / STRONG_RULE_SCORE).min(1.0);
                (k.clone(), share * (0.5 + 0.5 * strength))
            })
            .collect();

        let learned = self
            .model
            .as_ref()
            .and_then(|m| {
                let features = match m.rules() {
                    Some(r) if Arc::ptr_eq(r, &self.rules) => rule_features(&hits),
                    Some(r) => r.feature_scores(&tokens),
                    None => Vec::new(),
                };
                m.predict_analysed(text, &tokens, &features).ok()
            })
            .filter(|p| !p.labels.is_empty());
        if let Some(p) = &learned {
            let speaks_tree = p
                .labels
                .iter()
                .all(|(l, _)| self.subcategory_of.contains_key(l));
            if speaks_tree {
                let w = self.model_weight;
                for v in combined.values_mut() {
                    *v *= 1.0 - w;
                }
                for (l, prob) in &p.labels {
                    *combined.entry(l.clone()).or_default() += w * prob;
                }
            }
            explanation.push(format!(
                "model: {}",
                p.labels
                    .iter()
                    .map(|(l, s)| format!("{l} {s:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let mut candidates: Vec<(String, f32)> = combined.into_iter().collect();
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        candidates.truncate(5);
        let subcategory = candidates.first().map(|c| c.0.clone());
        let confidence = candidates.first().map_or(0.0, |c| c.1.clamp(0.0, 1.0));
        let category = subcategory
            .as_ref()
            .and_then(|s| self.subcategory_of.get(s).cloned())
            .or_else(|| category_only.map(|c| c.0));

        let territories = self
            .territory
            .as_ref()
            .map(|t| t.detect(text, prior_territory))
            .unwrap_or_default();
        if let Some(t) = territories.first() {
            explanation.push(format!(
                "territory {} ({:.2}): {}",
                t.code,
                t.score,
                t.evidence.join(", ")
            ));
        }
        // Last, because the detector keeps the cleaned text.
        let verdict = self.complaint.detect_analysed(cleaned, &tokens);
        explanation.splice(0..0, verdict.reasons.iter().cloned());
        PostAnalysis {
            language,
            kind: verdict.kind,
            is_complaint: verdict.is_complaint,
            complaint_score: verdict.score,
            subcategory,
            category,
            confidence,
            candidates,
            learned,
            territories,
            explanation,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::TrainOptions;
    use crate::tokens::ANALYSES;

    fn analyzer() -> PostAnalyzer {
        let rules = RulesDir::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules")).unwrap();
        let analyzer = PostAnalyzer::from_rules(&rules).unwrap();
        let examples = [
            ("Яма на дороге возле школы, асфальт разбит", "roads"),
            ("Огромные ямы на проезжей части улицы", "roads"),
            ("Дорогу не ремонтировали десять лет, ямы", "roads"),
            ("Не вывозят мусор с контейнерной площадки", "waste"),
            ("Переполнены мусорные баки во дворе", "waste"),
            ("Мусоровоз не приезжал две недели, свалка", "waste"),
        ]
        .map(|(t, l)| (t.to_owned(), l.to_owned()));
        let model = Classifier::train(
            examples,
            TrainOptions {
                rules: Some(analyzer.keyword_matcher()),
                calibration_folds: 0,
                ..TrainOptions::default()
            },
        )
        .unwrap();
        analyzer.with_model(model)
    }

    #[test]
    fn a_post_is_analysed_once_and_agrees_with_each_detector() {
        let analyzer = analyzer();
        let post = "Когда засыплют огромные ямы на дороге по улице Ленина? Колёса пробили!";
        let before = ANALYSES.with(std::cell::Cell::get);
        let a = analyzer.analyze(post, None);
        assert_eq!(
            ANALYSES.with(std::cell::Cell::get) - before,
            1,
            "one analysis"
        );

        // The same answers as each detector on its own (each analysing the post again).
        let verdict = analyzer.complaint.detect(post);
        assert_eq!(a.kind, verdict.kind);
        assert_eq!(a.complaint_score, verdict.score);
        assert!(verdict.reasons.iter().all(|r| a.explanation.contains(r)));
        let model = analyzer.model.as_ref().unwrap();
        let learned = a.learned.as_ref().unwrap();
        assert_eq!(learned, &model.predict(post).unwrap());
        assert_eq!(learned.label(), Some("roads"));
        let cleaned = clean_text(post);
        let rules = analyzer.rules.matches(&cleaned.text);
        assert!(!rules.is_empty());
        assert_eq!(a.category.as_deref(), Some("roads"));
    }
}
