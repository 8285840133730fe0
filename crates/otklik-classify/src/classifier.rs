//! The classifier: BM25 nearest labelled examples plus the linear model, calibrated.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use otklik_text::{Analyzers, RU_ANALYZER, clean_text};
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, Schema, TantivyDocument, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Term, doc};

use crate::data::stratified_folds;
use crate::error::{ClassifyError, Result};
use crate::features::FeatureConfig;
use crate::keywords::{KeywordMatcher, RuleHit};
use crate::linear::{Csr, DfCounter, Doc, LinearHeader, LinearModel, Scratch, Sparse};
use crate::metrics::Metrics;
use crate::tokens::TokenList;

const MODEL_FILE: &str = "model.json";
const ARRAYS_FILE: &str = "model.bin";
const INDEX_DIR: &str = "index";
const MAX_QUERY_TERMS: usize = 128;
const SNIPPET_CHARS: usize = 120;
const WRITER_MEMORY: usize = 50_000_000;

/// Analyses a cleaned text once: its tokens, and the keyword rules' hits as `(id, score)`
/// pairs (each hit gives its subcategory and its category), borrowed from the rules.
fn analyse<'r>(
    analyzers: &Analyzers,
    rules: Option<&'r KeywordMatcher>,
    text: &str,
) -> (TokenList, Vec<(&'r str, f32)>) {
    let tokens = TokenList::analyse(analyzers, text);
    let hits = rules.map_or_else(Vec::new, |m| m.feature_scores(&tokens));
    (tokens, hits)
}

/// Keyword-rule hits as features: each hit gives its subcategory and its category.
pub(crate) fn rule_features(hits: &[RuleHit]) -> Vec<(&str, f32)> {
    let mut out = Vec::with_capacity(hits.len() * 2);
    for h in hits {
        if !h.subcategory.is_empty() {
            out.push((h.subcategory.as_str(), h.score));
        }
        out.push((h.category.as_str(), h.score));
    }
    out
}

thread_local! {
    /// Per-thread buffers of the classification fast path.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// How scores are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Method {
    /// Only the BM25 nearest neighbours vote.
    Knn,
    /// Only the linear model: the default, as accurate as [`Method::Combined`] on the
    /// measured data (see `BENCHMARKS.md`) and several times faster; the nearest examples
    /// are still looked up for explanations.
    #[default]
    Linear,
    /// Both, with the mixing weight fitted on held-out folds of the training data.
    Combined,
}

/// The linear learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Learner {
    /// One-vs-rest linear SVM (squared hinge, dual coordinate descent), like `LinearSVC`.
    #[default]
    Svm,
    /// Averaged passive-aggressive multiclass (one pass per epoch, faster).
    PassiveAggressive,
}

/// Training options.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// How many nearest examples vote.
    pub k: usize,
    /// Epochs of the linear model.
    pub epochs: usize,
    /// SVM regularization constant `C`, or PA-I aggressiveness (maximum step).
    pub aggressiveness: f32,
    /// The linear learner.
    #[serde(default)]
    pub learner: Learner,
    /// The linear model's features.
    #[serde(default)]
    pub features: FeatureConfig,
    /// Character n-grams seen in fewer training texts than this are dropped (word features
    /// are always kept).
    #[serde(default = "default_min_df")]
    pub min_df: u32,
    /// Keyword rules whose hits (subcategory and category ids, with their scores) become
    /// features of the linear model, so it learns how the rules map onto any label set.
    /// Not saved with the model: [`Classifier::load_with_rules`] gives them back.
    #[serde(skip)]
    pub rules: Option<Arc<KeywordMatcher>>,
    /// Whether the model was trained with rule features (set from `rules`).
    #[serde(default)]
    pub rule_features: bool,
    /// Weight the SVM's classes inversely to their frequency (better macro-F1 on skewed
    /// label sets), to the power [`TrainOptions::balance_power`].
    #[serde(default)]
    pub balanced: bool,
    /// With `balanced`, each class's weight is `(n / (labels * count))^balance_power`: 1 is
    /// scikit-learn's `class_weight="balanced"`, smaller values balance partially (less
    /// macro-F1, more accuracy).
    #[serde(default = "default_balance_power")]
    pub balance_power: f32,
    /// With `balanced` and two or more values, `balance_power` is chosen among these on the
    /// calibration folds (the best mean of accuracy and macro-F1), and saved with the model.
    #[serde(default)]
    pub balance_candidates: Vec<f32>,
    /// What the per-label score offsets are fitted to maximize on the calibration folds;
    /// with [`Objective::Both`] (the default) the calibration folds choose among no offsets,
    /// accuracy and macro-F1, judging each by the mean of accuracy and macro-F1.
    #[serde(default = "default_objective")]
    pub objective: Objective,
    /// How the two scorers are combined.
    pub method: Method,
    /// Folds of the training data used to fit the mixing weight and the confidence
    /// temperature; below 2 (or too few examples) uses defaults with no fitting.
    pub calibration_folds: usize,
    /// Seed for shuffling.
    pub seed: u64,
    /// Labels returned per prediction.
    pub top_labels: usize,
    /// Neighbours returned in the explanation.
    pub explain_neighbours: usize,
    /// Features returned in the explanation.
    pub explain_features: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            k: 15,
            epochs: 10,
            aggressiveness: 0.5,
            learner: Learner::Svm,
            features: FeatureConfig::default(),
            min_df: 2,
            balanced: true,
            balance_power: 1.0,
            balance_candidates: vec![1.0, 0.5],
            rules: None,
            rule_features: false,
            objective: Objective::Both,
            method: Method::Linear,
            calibration_folds: 3,
            seed: 42,
            top_labels: 3,
            explain_neighbours: 5,
            explain_features: 8,
        }
    }
}

fn default_min_df() -> u32 {
    2
}

fn default_balance_power() -> f32 {
    1.0
}

/// Models saved before offsets existed have none.
fn default_objective() -> Objective {
    Objective::None
}

/// The objective of [`fit_offsets`] for predictions `pred` of `truth` (label ids `< nl`):
/// accuracy, or macro-F1 over the labels present in either.
fn objective_value(objective: Objective, truth: &[usize], pred: &[usize], nl: usize) -> f64 {
    match objective {
        Objective::None => 0.0,
        Objective::Both => {
            0.5 * (objective_value(Objective::Accuracy, truth, pred, nl)
                + objective_value(Objective::MacroF1, truth, pred, nl))
        }
        Objective::Accuracy => {
            truth.iter().zip(pred).filter(|(t, p)| t == p).count() as f64
                / truth.len().max(1) as f64
        }
        Objective::MacroF1 => {
            let mut counts = vec![(0u32, 0u32, 0u32); nl];
            for (&t, &p) in truth.iter().zip(pred) {
                if let Some(c) = counts.get_mut(t) {
                    c.1 += 1;
                    if t == p {
                        c.0 += 1;
                    }
                }
                if let Some(c) = counts.get_mut(p) {
                    c.2 += 1;
                }
            }
            let (mut sum, mut n) = (0.0f64, 0usize);
            for &(tp, support, predicted) in &counts {
                if support + predicted == 0 {
                    continue;
                }
                n += 1;
                sum += 2.0 * f64::from(tp) / f64::from(support + predicted);
            }
            sum / n.max(1) as f64
        }
    }
}

/// The mean of accuracy and macro-F1 of held-out predictions with offsets for `objective`
/// fitted on the other half of the examples (alternate examples, both ways).
fn cross_fitted_value(held: &[(Raw, usize)], nl: usize, objective: Objective) -> f64 {
    let half = |parity: usize| -> Vec<(Raw, usize)> {
        held.iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, h)| h.clone())
            .collect()
    };
    let (a, b) = (half(0), half(1));
    let mut truth = Vec::with_capacity(held.len());
    let mut pred = Vec::with_capacity(held.len());
    for (fit_on, apply_to) in [(&a, &b), (&b, &a)] {
        let off = fit_offsets(fit_on, nl, objective);
        for (r, y) in apply_to.iter() {
            let shifted: Vec<f32> = r
                .linear
                .iter()
                .enumerate()
                .map(|(j, s)| s + off.get(j).copied().unwrap_or(0.0))
                .collect();
            truth.push(*y);
            pred.push(argmax(&shifted).unwrap_or(0));
        }
    }
    objective_value(Objective::Both, &truth, &pred, nl)
}

/// Per-label offsets to the linear scores maximizing `objective` on held-out scores, by
/// coordinate ascent over a grid (ties go to the smaller offset, so a label only moves
/// when that helps).
fn fit_offsets(held: &[(Raw, usize)], nl: usize, objective: Objective) -> Vec<f32> {
    let mut off = vec![0.0f32; nl];
    if objective == Objective::None || held.is_empty() || nl < 2 {
        return Vec::new();
    }
    let truth: Vec<usize> = held.iter().map(|(_, y)| *y).collect();
    let score = |r: &Raw, j: usize, off: &[f32]| {
        r.linear.get(j).copied().unwrap_or(f32::NEG_INFINITY) + off.get(j).copied().unwrap_or(0.0)
    };
    let grid: Vec<f32> = (-16..=16).map(|i| i as f32 * 0.05).collect();
    let mut pred = vec![0usize; held.len()];
    let mut others: Vec<(usize, f32)> = vec![(0, 0.0); held.len()];
    for _round in 0..4 {
        let mut changed = false;
        for l in 0..nl {
            for ((r, _), o) in held.iter().zip(others.iter_mut()) {
                *o = (0..nl)
                    .filter(|&j| j != l)
                    .map(|j| (j, score(r, j, &off)))
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                    .unwrap_or((0, f32::NEG_INFINITY));
            }
            let current = off.get(l).copied().unwrap_or(0.0);
            let mut best = (f64::NEG_INFINITY, current);
            for &o in std::iter::once(&current).chain(&grid) {
                for ((p, (r, _)), other) in pred.iter_mut().zip(held).zip(&others) {
                    let s = r.linear.get(l).copied().unwrap_or(f32::NEG_INFINITY) + o;
                    *p = if s > other.1 || (s == other.1 && l < other.0) {
                        l
                    } else {
                        other.0
                    };
                }
                let v = objective_value(objective, &truth, &pred, nl);
                if v > best.0 + 1e-9 || ((v - best.0).abs() <= 1e-9 && o.abs() < best.1.abs()) {
                    best = (v, o);
                }
            }
            if let Some(slot) = off.get_mut(l)
                && *slot != best.1
            {
                *slot = best.1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    off
}

/// What the per-label score offsets ([`Calibration::offsets`]) are fitted to maximize on
/// held-out folds of the training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Objective {
    /// No offsets.
    None,
    /// Accuracy (for label sets where the common labels matter most, e.g. executors).
    Accuracy,
    /// Macro-averaged F1 (every label counts the same).
    MacroF1,
    /// Chosen on the calibration folds among the above by the mean of accuracy and
    /// macro-F1 of cross-fitted offsets: good on both, whatever the label set.
    #[default]
    Both,
}

/// Fitted combination parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Weight of the kNN distribution (the linear one gets `1 - knn_weight`).
    pub knn_weight: f32,
    /// Softmax temperature turning linear scores into a distribution.
    pub linear_temperature: f32,
    /// Power `1/temperature` applied to the mixed distribution before renormalizing, fitted
    /// to minimize held-out log-loss, so that `confidence` matches accuracy.
    pub temperature: f32,
    /// Per-label offsets added to the linear scores (empty: none), fitted on held-out folds
    /// to maximize [`TrainOptions::objective`]: they move the decision boundaries of rare or
    /// over-predicted labels the way a one-vs-rest SVM trained on skewed data cannot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<f32>,
}

impl Default for Calibration {
    fn default() -> Self {
        Self {
            knn_weight: 0.5,
            linear_temperature: 0.1,
            temperature: 1.0,
            offsets: Vec::new(),
        }
    }
}

/// Why a prediction was made.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Explanation {
    /// Nearest labelled examples: (example id, label, BM25 score, snippet).
    pub neighbours: Vec<(u64, String, f32, String)>,
    /// Strongest linear-model features present in the text: (token or bigram, label,
    /// contribution to the label's score).
    pub top_features: Vec<(String, String, f32)>,
}

/// A classification.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Prediction {
    /// Top labels with probabilities, best first.
    pub labels: Vec<(String, f32)>,
    /// Calibrated probability that the first label is right, in `[0, 1]`.
    pub confidence: f32,
    /// Why.
    pub explanation: Explanation,
}

impl Prediction {
    /// The best label, if any.
    pub fn label(&self) -> Option<&str> {
        self.labels.first().map(|(l, _)| l.as_str())
    }

    fn with_confidence(mut self) -> Self {
        self.confidence = self.labels.first().map_or(0.0, |l| l.1.clamp(0.0, 1.0));
        self
    }
}

/// Progress of a long operation: (stage, done, total).
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    text: Field,
    label: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_u64_field("id", INDEXED | STORED);
    let text = b.add_text_field(
        "text",
        TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(RU_ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    let label = b.add_text_field("label", STORED);
    (b.build(), Fields { id, text, label })
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    options: TrainOptions,
    calibration: Calibration,
    next_id: u64,
    model: LinearHeader,
}

/// A trained classifier. See the [crate documentation](crate).
pub struct Classifier {
    analyzers: Analyzers,
    index: Index,
    reader: IndexReader,
    writer: Option<IndexWriter>,
    fields: Fields,
    model: LinearModel,
    options: TrainOptions,
    calibration: Calibration,
    next_id: u64,
    /// The directory the index lives in, when loaded from one.
    dir: Option<PathBuf>,
}

impl fmt::Debug for Classifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classifier")
            .field("labels", &self.model.labels)
            .field("examples", &self.next_id)
            .field("features", &self.model.num_features())
            .field("model_bytes", &self.model.heap_bytes())
            .field("options", &self.options)
            .field("calibration", &self.calibration)
            .finish_non_exhaustive()
    }
}

/// (example id, label, BM25 score, snippet).
type Neighbour = (u64, String, f32, String);

/// Everything scoring one text produced, kept for the explanation.
struct Scored {
    raw: Raw,
    neighbours: Vec<Neighbour>,
    /// The text's feature vector.
    x: Sparse,
}

/// Raw scorer outputs for one text: kNN distribution, linear scores.
#[derive(Clone)]
struct Raw {
    knn: Vec<f32>,
    linear: Vec<f32>,
}

fn softmax(scores: &[f32], temperature: f32) -> Vec<f32> {
    let t = temperature.max(1e-4);
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return vec![0.0; scores.len()];
    }
    let exp: Vec<f32> = scores.iter().map(|s| ((s - max) / t).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter()
        .map(|e| e / sum.max(f32::MIN_POSITIVE))
        .collect()
}

fn mix(raw: &Raw, c: &Calibration) -> Vec<f32> {
    let lin = if c.offsets.len() == raw.linear.len() {
        let shifted: Vec<f32> = raw
            .linear
            .iter()
            .zip(&c.offsets)
            .map(|(s, o)| s + o)
            .collect();
        softmax(&shifted, c.linear_temperature)
    } else {
        softmax(&raw.linear, c.linear_temperature)
    };
    let has_knn = raw.knn.iter().any(|&v| v > 0.0);
    let w = if has_knn { c.knn_weight } else { 0.0 };
    let mixed: Vec<f32> = lin
        .iter()
        .enumerate()
        .map(|(i, l)| w * raw.knn.get(i).copied().unwrap_or(0.0) + (1.0 - w) * l)
        .collect();
    let power = 1.0 / c.temperature.max(1e-3);
    let powered: Vec<f32> = mixed.iter().map(|p| p.max(1e-9).powf(power)).collect();
    let sum: f32 = powered.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        powered.into_iter().map(|p| p / sum).collect()
    } else {
        let n = mixed.len().max(1) as f32;
        vec![1.0 / n; mixed.len()]
    }
}

fn argmax(v: &[f32]) -> Option<usize> {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
}

impl Classifier {
    /// Trains on `(text, label)` examples (raw text: it is cleaned with
    /// [`otklik_text::clean_text`]) into an in-memory index. Examples with an empty text or
    /// label are ignored; at least one must remain.
    pub fn train(
        examples: impl IntoIterator<Item = (String, String)>,
        options: TrainOptions,
    ) -> Result<Self> {
        Self::train_with_progress(examples, options, &mut |_, _, _| {})
    }

    /// [`Classifier::train`], reporting progress.
    pub fn train_with_progress(
        examples: impl IntoIterator<Item = (String, String)>,
        options: TrainOptions,
        progress: Progress<'_>,
    ) -> Result<Self> {
        if options.k == 0 {
            return Err(ClassifyError::InvalidOption("k must be at least 1".into()));
        }
        let mut options = options;
        options.rule_features = options.rules.is_some();
        let examples: Vec<(String, String)> = examples
            .into_iter()
            .map(|(t, l)| (clean_text(&t).text, l.trim().to_owned()))
            .filter(|(t, l)| !t.trim().is_empty() && !l.is_empty())
            .collect();
        if examples.is_empty() {
            return Err(ClassifyError::NoExamples);
        }
        let refs: Vec<(&str, &str)> = examples
            .iter()
            .map(|(t, l)| (t.as_str(), l.as_str()))
            .collect();
        let (calibration, power) = Self::calibrate(&refs, &options, progress)?;
        options.balance_power = power;
        let mut clf = Self::fit(&refs, &options, true, progress)?;
        clf.calibration = calibration;
        Ok(clf)
    }

    /// Builds the index (when `with_index`) and the linear model from cleaned examples, no
    /// calibration. The examples are analysed twice — document frequencies first, then the
    /// compact training vectors — so no example's raw features are kept in memory.
    fn fit(
        examples: &[(&str, &str)],
        options: &TrainOptions,
        with_index: bool,
        progress: Progress<'_>,
    ) -> Result<Self> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        let analyzers = Analyzers::embedded().clone();
        analyzers.register(&index);
        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let mut model = LinearModel::new(options.features);
        let total = examples.len() as u64;
        let rules = options.rules.as_deref();
        let mut scratch = Scratch::default();
        let mut counter = DfCounter::default();
        let mut ys = Vec::with_capacity(examples.len());
        for (i, &(text, label)) in examples.iter().enumerate() {
            if with_index {
                writer.add_document(doc!(
                    fields.id => i as u64,
                    fields.text => text,
                    fields.label => label,
                ))?;
            }
            let (tokens, refs) = analyse(&analyzers, rules, text);
            counter.add(
                &options.features,
                Doc {
                    text,
                    tokens: &tokens,
                    rules: &refs,
                },
                &mut scratch,
            );
            ys.push(model.label_id(label));
            if i % 64 == 0 {
                progress("index", i as u64, total);
            }
        }
        writer.commit()?;
        progress("index", total, total);
        model.build_vocab(counter, options.min_df);
        let mut data = Csr::new();
        for (&(text, _), &y) in examples.iter().zip(&ys) {
            let (tokens, refs) = analyse(&analyzers, rules, text);
            let x = model.vectorize(
                Doc {
                    text,
                    tokens: &tokens,
                    rules: &refs,
                },
                &mut scratch,
            );
            data.push(&x, y);
        }
        drop(scratch);
        progress("vectors", total, total);
        match options.learner {
            Learner::Svm => {
                let balance = if options.balanced {
                    options.balance_power
                } else {
                    0.0
                };
                model.fit_svm(
                    &data,
                    options.epochs.max(1) * 5,
                    options.aggressiveness,
                    balance,
                    options.seed,
                );
            }
            Learner::PassiveAggressive => {
                model.fit_pa(&data, options.epochs, options.aggressiveness, options.seed);
            }
        }
        progress("linear", total, total);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            analyzers,
            index,
            reader,
            writer: Some(writer),
            fields,
            model,
            options: options.clone(),
            calibration: Calibration::default(),
            next_id: examples.len() as u64,
            dir: None,
        })
    }

    /// Fits the mixing weight and temperatures on held-out folds of the training data.
    /// and chooses the class-weight power among [`TrainOptions::balance_candidates`] (the
    /// one whose held-out predictions, with their fitted offsets, have the best mean of
    /// accuracy and macro-F1). Returns the calibration and the chosen power.
    fn calibrate(
        examples: &[(&str, &str)],
        options: &TrainOptions,
        progress: Progress<'_>,
    ) -> Result<(Calibration, f32)> {
        let folds_n = options.calibration_folds;
        let mut cal = Calibration::default();
        match options.method {
            Method::Knn => cal.knn_weight = 1.0,
            Method::Linear => cal.knn_weight = 0.0,
            Method::Combined => {}
        }
        let candidates: Vec<f32> = if options.balanced && options.balance_candidates.len() > 1 {
            options.balance_candidates.clone()
        } else {
            vec![options.balance_power]
        };
        let chosen = candidates.first().copied().unwrap_or(options.balance_power);
        if folds_n < 2 || examples.len() < 2 * folds_n {
            return Ok((cal, chosen));
        }
        // Label ids in order of first appearance, as the model numbers them.
        let mut order: Vec<&str> = Vec::new();
        for (_, l) in examples {
            if !order.contains(l) {
                order.push(l);
            }
        }
        let nl = order.len();
        let labels: Vec<&str> = examples.iter().map(|(_, l)| *l).collect();
        let folds = stratified_folds(&labels, folds_n, options.seed ^ 0xC0FFEE);
        let mut helds: Vec<Vec<(Raw, usize)>> = vec![Vec::new(); candidates.len()];
        for (&power, held) in candidates.iter().zip(helds.iter_mut()) {
            let options = TrainOptions {
                balance_power: power,
                ..options.clone()
            };
            Self::held_out(examples, &options, &folds, &order, held)?;
            progress("calibrate", 1, candidates.len() as u64);
        }
        // Each (power, offset objective) pair is judged by the mean of accuracy and macro-F1
        // of its held-out predictions, the offsets being cross-fitted (fitted on one half of
        // the held-out scores, applied to the other) so that fitting them is not rewarded.
        let objectives: Vec<Objective> = match options.objective {
            Objective::Both => vec![Objective::None, Objective::Accuracy, Objective::MacroF1],
            o => vec![o],
        };
        let mut best: Option<(f64, usize, Objective)> = None;
        for (c, held) in helds.iter().enumerate() {
            for &objective in &objectives {
                let v = cross_fitted_value(held, nl, objective);
                if best.as_ref().is_none_or(|b| v > b.0 + 1e-9) {
                    best = Some((v, c, objective));
                }
            }
        }
        let Some((_, c, objective)) = best else {
            return Ok((cal, chosen));
        };
        let offsets = helds
            .get(c)
            .map(|held| fit_offsets(held, nl, objective))
            .unwrap_or_default();
        let chosen = candidates.get(c).copied().unwrap_or(chosen);
        let held = helds.swap_remove(c);
        if held.is_empty() {
            return Ok((cal, chosen));
        }
        cal.offsets = offsets;
        Self::fit_mixing(&mut cal, &held, options.method);
        Ok((cal, chosen))
    }

    /// Raw scores of every example by models trained on the other folds, in `order`'s label
    /// ids.
    fn held_out(
        examples: &[(&str, &str)],
        options: &TrainOptions,
        folds: &[usize],
        order: &[&str],
        held: &mut Vec<(Raw, usize)>,
    ) -> Result<()> {
        let folds_n = options.calibration_folds;
        for f in 0..folds_n {
            let train: Vec<(&str, &str)> = examples
                .iter()
                .zip(folds)
                .filter(|(_, g)| **g != f)
                .map(|(e, _)| *e)
                .collect();
            if train.is_empty() {
                continue;
            }
            let with_index = options.method != Method::Linear;
            let sub = Self::fit(&train, options, with_index, &mut |_, _, _| {})?;
            for ((text, label), _) in examples.iter().zip(folds).filter(|(_, g)| **g == f) {
                let Some(y) = order.iter().position(|l| l == label) else {
                    continue;
                };
                let raw = sub.raw(text, None)?.raw;
                // Re-index the sub-model's label order to ours.
                let mut knn = vec![0.0; order.len()];
                let mut linear = vec![-1.0e3; order.len()];
                for (i, l) in sub.model.labels.iter().enumerate() {
                    if let Some(j) = order.iter().position(|m| m == l) {
                        knn[j] = raw.knn.get(i).copied().unwrap_or(0.0);
                        linear[j] = raw.linear.get(i).copied().unwrap_or(0.0);
                    }
                }
                held.push((Raw { knn, linear }, y));
            }
        }
        Ok(())
    }

    /// Fits the kNN weight and the temperatures on held-out scores.
    fn fit_mixing(cal: &mut Calibration, held: &[(Raw, usize)], method: Method) {
        let weights: &[f32] = match method {
            Method::Knn => &[1.0],
            Method::Linear => &[0.0],
            Method::Combined => &[0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0],
        };
        let lin_temps = [0.05f32, 0.1, 0.2, 0.5];
        let score = |c: &Calibration| {
            let (mut correct, mut nll) = (0usize, 0.0f64);
            for (raw, y) in held {
                let p = mix(raw, c);
                if argmax(&p) == Some(*y) {
                    correct += 1;
                }
                nll -= f64::from(p.get(*y).copied().unwrap_or(0.0).max(1e-9)).ln();
            }
            (correct, nll)
        };
        let mut best: Option<(Calibration, usize, f64)> = None;
        for &w in weights {
            for &t in &lin_temps {
                let c = Calibration {
                    knn_weight: w,
                    linear_temperature: t,
                    temperature: 1.0,
                    offsets: cal.offsets.clone(),
                };
                let (acc, nll) = score(&c);
                let better = best
                    .as_ref()
                    .is_none_or(|(_, ba, bn)| acc > *ba || (acc == *ba && nll < *bn));
                if better {
                    best = Some((c, acc, nll));
                }
            }
        }
        if let Some((c, _, _)) = best {
            *cal = c;
        }
        let mut best_t = (1.0f32, f64::INFINITY);
        for t in [0.25f32, 0.35, 0.5, 0.7, 0.85, 1.0, 1.25, 1.5, 2.0, 3.0] {
            let c = Calibration {
                temperature: t,
                ..cal.clone()
            };
            let (_, nll) = score(&c);
            if nll < best_t.1 {
                best_t = (t, nll);
            }
        }
        cal.temperature = best_t.0;
    }

    /// kNN distribution and linear scores for a cleaned text; with `explain`, the neighbours.
    fn raw(&self, text: &str, explain: Option<usize>) -> Result<Scored> {
        let (tokens, hits) = analyse(&self.analyzers, self.options.rules.as_deref(), text);
        self.raw_analysed(text, &tokens, &hits, explain)
    }

    /// [`Classifier::raw`] for a text already analysed.
    fn raw_analysed(
        &self,
        text: &str,
        tokens: &TokenList,
        refs: &[(&str, f32)],
        explain: Option<usize>,
    ) -> Result<Scored> {
        let n = self.model.labels.len();
        let mut knn = vec![0.0f32; n];
        let mut neighbours = Vec::new();
        // The nearest examples are only needed when they weigh in or are asked for.
        let need_knn = explain.is_some() || self.calibration.knn_weight > 0.0;
        let clauses: Vec<(Occur, Box<dyn Query>)> = if need_knn {
            let mut seen = HashSet::new();
            tokens
                .texts()
                .filter(|t| seen.insert(*t))
                .take(MAX_QUERY_TERMS)
                .map(|t| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.text, t),
                        IndexRecordOption::WithFreqs,
                    ));
                    (Occur::Should, q)
                })
                .collect()
        } else {
            Vec::new()
        };
        if !clauses.is_empty() {
            let searcher = self.reader.searcher();
            let query = BooleanQuery::new(clauses);
            let hits: Vec<(f32, DocAddress)> = searcher.search(
                &query,
                &TopDocs::with_limit(self.options.k).order_by_score(),
            )?;
            let top = hits.first().map_or(0.0, |h| h.0);
            for (rank, (score, addr)) in hits.iter().enumerate() {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                let label = doc
                    .get_first(self.fields.label)
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                if let Some(i) = self.model.labels.iter().position(|l| l == label)
                    && top > 0.0
                {
                    let r = score / top;
                    if let Some(v) = knn.get_mut(i) {
                        *v += r * r;
                    }
                }
                if explain.is_some_and(|m| rank < m) {
                    let id = doc
                        .get_first(self.fields.id)
                        .and_then(|v| v.as_u64())
                        .unwrap_or(0);
                    let snippet: String = doc
                        .get_first(self.fields.text)
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .chars()
                        .take(SNIPPET_CHARS)
                        .collect();
                    neighbours.push((id, label.to_owned(), *score, snippet));
                }
            }
            let sum: f32 = knn.iter().sum();
            if sum > 0.0 {
                for v in &mut knn {
                    *v /= sum;
                }
            }
        }
        let doc = Doc {
            text,
            tokens,
            rules: refs,
        };
        let (linear, x) = SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            if explain.is_some() {
                let x = self.model.vectorize(doc, &mut s);
                (self.model.scores(&x), x)
            } else {
                (self.model.score_text(doc, &mut s), Sparse::new())
            }
        });
        Ok(Scored {
            raw: Raw { knn, linear },
            neighbours,
            x,
        })
    }

    /// [`Classifier::predict`] for a cleaned text already analysed with the classifier's
    /// analyzer: the monitoring pipeline analyses a post once for every detector. `rule_hits`
    /// are the hits of the keyword rules the model was trained with, as
    /// [`rule_features`] gives them (ignored when the model has no rule features).
    pub(crate) fn predict_analysed(
        &self,
        text: &str,
        tokens: &TokenList,
        rule_hits: &[(&str, f32)],
    ) -> Result<Prediction> {
        let hits = if self.options.rule_features {
            rule_hits
        } else {
            &[]
        };
        let probs = mix(
            &self.raw_analysed(text, tokens, hits, None)?.raw,
            &self.calibration,
        );
        Ok(Prediction {
            labels: self.top(&probs),
            confidence: 0.0,
            explanation: Explanation::default(),
        }
        .with_confidence())
    }

    /// The keyword rules the model uses as features, if any.
    pub(crate) fn rules(&self) -> Option<&Arc<KeywordMatcher>> {
        self.options.rules.as_ref()
    }

    /// The best label only, without the explanation (the fast path of evaluation).
    pub fn predict_label(&self, text: &str) -> Result<Option<String>> {
        let text = clean_text(text).text;
        let probs = mix(&self.raw(&text, None)?.raw, &self.calibration);
        Ok(argmax(&probs).and_then(|i| self.model.labels.get(i).cloned()))
    }

    /// Top labels and calibrated confidence of a raw text, without the explanation: the
    /// fast path used for every collected post. The nearest examples are consulted only when
    /// the fitted mixing weight gives them a say.
    pub fn predict(&self, text: &str) -> Result<Prediction> {
        let text = clean_text(text).text;
        let probs = mix(&self.raw(&text, None)?.raw, &self.calibration);
        Ok(Prediction {
            labels: self.top(&probs),
            confidence: 0.0,
            explanation: Explanation::default(),
        }
        .with_confidence())
    }

    fn top(&self, probs: &[f32]) -> Vec<(String, f32)> {
        let mut order: Vec<usize> = (0..probs.len()).collect();
        let k = self.options.top_labels.max(1);
        let cmp = |a: &usize, b: &usize| {
            probs
                .get(*b)
                .unwrap_or(&0.0)
                .total_cmp(probs.get(*a).unwrap_or(&0.0))
                .then(a.cmp(b))
        };
        if order.len() > k {
            order.select_nth_unstable_by(k - 1, cmp);
            order.truncate(k);
        }
        order.sort_by(cmp);
        order
            .iter()
            .filter_map(|&i| Some((self.model.labels.get(i)?.clone(), *probs.get(i)?)))
            .collect()
    }

    /// Classifies a raw text (cleaned first). Never panics; an empty or unknown text gets the
    /// model's flattest guess with a low confidence.
    pub fn classify(&self, text: &str) -> Result<Prediction> {
        let text = clean_text(text).text;
        let (tokens, hits) = analyse(&self.analyzers, self.options.rules.as_deref(), &text);
        let Scored { raw, neighbours, x } =
            self.raw_analysed(&text, &tokens, &hits, Some(self.options.explain_neighbours))?;
        let probs = mix(&raw, &self.calibration);
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| {
            probs
                .get(b)
                .unwrap_or(&0.0)
                .total_cmp(probs.get(a).unwrap_or(&0.0))
                .then(a.cmp(&b))
        });
        let labels: Vec<(String, f32)> = order
            .iter()
            .take(self.options.top_labels.max(1))
            .filter_map(|&i| Some((self.model.labels.get(i)?.clone(), *probs.get(i)?)))
            .collect();
        let confidence = labels.first().map_or(0.0, |l| l.1.clamp(0.0, 1.0));
        let mut top_features = Vec::new();
        let named = self.model.named_features(Doc {
            text: &text,
            tokens: &tokens,
            rules: &hits,
        });
        for &l in order.iter().take(self.options.top_labels.max(1)) {
            let Some(label) = self.model.labels.get(l) else {
                continue;
            };
            for &(id, v) in &x {
                let c = self.model.weight(id, l) * v;
                if c > 0.0
                    && let Ok(k) = named.binary_search_by_key(&id, |e| e.0)
                    && let Some((_, name)) = named.get(k)
                {
                    top_features.push((name.clone(), label.clone(), c));
                }
            }
        }
        top_features.sort_by(|a, b| b.2.total_cmp(&a.2));
        top_features.truncate(self.options.explain_features);
        Ok(Prediction {
            labels,
            confidence,
            explanation: Explanation {
                neighbours,
                top_features,
            },
        })
    }

    /// Adds a labelled example (e.g. a moderator's correction) without rebuilding: the index
    /// gets the document (commit and reader reload), the linear model is updated on it, and
    /// a new label is learned on the fly. Call [`Classifier::save`] to persist the model.
    pub fn add_example(&mut self, text: &str, label: &str) -> Result<u64> {
        let text = clean_text(text).text;
        let label = label.trim();
        if text.trim().is_empty() || label.is_empty() {
            return Err(ClassifyError::InvalidOption(
                "an example needs a non-empty text and label".into(),
            ));
        }
        let id = self.next_id;
        let writer = match &mut self.writer {
            Some(w) => w,
            slot => slot.insert(self.index.writer_with_num_threads(1, WRITER_MEMORY)?),
        };
        writer.add_document(doc!(
            self.fields.id => id,
            self.fields.text => text.as_str(),
            self.fields.label => label,
        ))?;
        writer.commit()?;
        self.reader.reload()?;
        self.next_id += 1;
        let (tokens, hits) = analyse(&self.analyzers, self.options.rules.as_deref(), &text);
        let doc = Doc {
            text: &text,
            tokens: &tokens,
            rules: &hits,
        };
        let mut scratch = Scratch::default();
        let y = self.model.label_id(label);
        self.model.observe(doc, &mut scratch);
        let x = self.model.vectorize(doc, &mut scratch);
        self.model.correct(&x, y);
        Ok(id)
    }

    /// Saves to `dir`: the index in `dir/index/` (a tantivy directory index) and the linear
    /// model with options and calibration in `dir/model.json`. `dir` is created if needed;
    /// an existing index there is replaced.
    pub fn save(&mut self, dir: &Path) -> Result<()> {
        let io = |path: PathBuf| move |source| ClassifyError::Io { path, source };
        let index_dir = dir.join(INDEX_DIR);
        if let Some(w) = &mut self.writer {
            w.commit()?;
        }
        self.reader.reload()?;
        let same = self
            .dir
            .as_deref()
            .is_some_and(|d| std::fs::canonicalize(d).ok() == std::fs::canonicalize(dir).ok());
        if !same {
            if index_dir.exists() {
                std::fs::remove_dir_all(&index_dir).map_err(io(index_dir.clone()))?;
            }
            std::fs::create_dir_all(&index_dir).map_err(io(index_dir.clone()))?;
            let (schema, _) = schema();
            let target = Index::create_in_dir(&index_dir, schema)?;
            self.analyzers.register(&target);
            let mut writer: IndexWriter = target.writer_with_num_threads(1, WRITER_MEMORY)?;
            let searcher = self.reader.searcher();
            for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                for doc_id in segment.doc_ids_alive() {
                    let doc: TantivyDocument = searcher.doc(DocAddress::new(ord as u32, doc_id))?;
                    writer.add_document(doc)?;
                }
            }
            writer.commit()?;
            writer.wait_merging_threads()?;
        }
        let saved = Saved {
            options: self.options.clone(),
            calibration: self.calibration.clone(),
            next_id: self.next_id,
            model: self.model.header(),
        };
        let arrays = dir.join(ARRAYS_FILE);
        let file = std::fs::File::create(&arrays).map_err(io(arrays.clone()))?;
        let mut out = std::io::BufWriter::new(file);
        self.model
            .write_arrays(&mut out)
            .and_then(|()| std::io::Write::flush(&mut out))
            .map_err(io(arrays.clone()))?;
        let path = dir.join(MODEL_FILE);
        let json = serde_json::to_vec(&saved).map_err(|source| ClassifyError::Model {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, json).map_err(io(path.clone()))?;
        Ok(())
    }

    /// Loads a classifier saved with [`Classifier::save`]; later [`Classifier::add_example`]
    /// calls write to that directory's index. A model trained with keyword-rule features
    /// needs [`Classifier::load_with_rules`].
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with_rules(dir, None)
    }

    /// [`Classifier::load`] giving back the keyword rules the model was trained with.
    pub fn load_with_rules(dir: &Path, rules: Option<Arc<KeywordMatcher>>) -> Result<Self> {
        let path = dir.join(MODEL_FILE);
        let bytes = std::fs::read(&path).map_err(|source| ClassifyError::Io {
            path: path.clone(),
            source,
        })?;
        let mut saved: Saved = serde_json::from_slice(&bytes)
            .map_err(|source| ClassifyError::Model { path, source })?;
        if saved.options.rule_features && rules.is_none() {
            return Err(ClassifyError::InvalidOption(format!(
                "the model in {} was trained with keyword-rule features: load it with the rules",
                dir.display()
            )));
        }
        if saved.options.rule_features {
            saved.options.rules = rules;
        }
        let arrays = dir.join(ARRAYS_FILE);
        let file = std::fs::File::open(&arrays).map_err(|source| ClassifyError::Io {
            path: arrays.clone(),
            source,
        })?;
        let model = LinearModel::read_arrays(saved.model, &mut std::io::BufReader::new(file))
            .map_err(|source| ClassifyError::Io {
                path: arrays.clone(),
                source,
            })?;
        let index = Index::open_in_dir(dir.join(INDEX_DIR))?;
        let analyzers = Analyzers::embedded().clone();
        analyzers.register(&index);
        let (_, fields) = schema();
        let s = index.schema();
        let fields = Fields {
            id: s.get_field("id").unwrap_or(fields.id),
            text: s.get_field("text").unwrap_or(fields.text),
            label: s.get_field("label").unwrap_or(fields.label),
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            analyzers,
            index,
            reader,
            writer: None,
            fields,
            model,
            options: saved.options,
            calibration: saved.calibration,
            next_id: saved.next_id,
            dir: Some(dir.to_owned()),
        })
    }

    /// The known labels, in order of first appearance.
    pub fn labels(&self) -> &[String] {
        &self.model.labels
    }

    /// Number of examples in the index.
    pub fn num_examples(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The fitted combination parameters.
    pub fn calibration(&self) -> Calibration {
        self.calibration.clone()
    }

    /// The options it was trained with.
    pub fn options(&self) -> &TrainOptions {
        &self.options
    }
}

/// Trains on `train`, classifies `test` and scores the top labels. `texts_per_second` is
/// measured over the classification of `test` alone.
pub fn eval(
    train: &[(String, String)],
    test: &[(String, String)],
    options: &TrainOptions,
    progress: Progress<'_>,
) -> Result<Metrics> {
    let clf = Classifier::train_with_progress(train.iter().cloned(), options.clone(), progress)?;
    let (pred, secs) = predict_all(&clf, test)?;
    let truth: Vec<&str> = test.iter().map(|(_, l)| l.as_str()).collect();
    let mut m = Metrics::from_predictions(&truth, &pred);
    m.texts_per_second = if secs > 0.0 {
        test.len() as f64 / secs
    } else {
        0.0
    };
    Ok(m)
}

fn predict_all(clf: &Classifier, test: &[(String, String)]) -> Result<(Vec<String>, f64)> {
    let start = Instant::now();
    let mut pred = Vec::with_capacity(test.len());
    for (text, _) in test {
        pred.push(clf.predict_label(text)?.unwrap_or_default());
    }
    Ok((pred, start.elapsed().as_secs_f64()))
}

/// Stratified `folds`-fold cross-validation: every example is predicted by a model trained
/// on the other folds, and the metrics are computed over all these out-of-fold predictions.
pub fn cross_validate(
    data: &[(String, String)],
    folds: usize,
    seed: u64,
    options: &TrainOptions,
    progress: Progress<'_>,
) -> Result<Metrics> {
    if folds < 2 {
        return Err(ClassifyError::InvalidOption("at least 2 folds".into()));
    }
    let labels: Vec<&str> = data.iter().map(|(_, l)| l.as_str()).collect();
    let assign = stratified_folds(&labels, folds, seed);
    let mut truth = Vec::new();
    let mut pred = Vec::new();
    let mut secs = 0.0;
    for f in 0..folds {
        let split = |held: bool| -> Vec<(String, String)> {
            data.iter()
                .zip(&assign)
                .filter(|(_, g)| (**g == f) == held)
                .map(|(e, _)| e.clone())
                .collect()
        };
        let (train, test) = (split(false), split(true));
        if train.is_empty() || test.is_empty() {
            continue;
        }
        let clf = Classifier::train(train, options.clone())?;
        let (p, s) = predict_all(&clf, &test)?;
        secs += s;
        truth.extend(test.into_iter().map(|(_, l)| l));
        pred.extend(p);
        progress("fold", f as u64 + 1, folds as u64);
    }
    let mut m = Metrics::from_predictions(&truth, &pred);
    m.texts_per_second = if secs > 0.0 {
        truth.len() as f64 / secs
    } else {
        0.0
    };
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(linear: [f32; 2]) -> Raw {
        Raw {
            knn: vec![0.0; 2],
            linear: linear.to_vec(),
        }
    }

    #[test]
    fn offsets_move_a_boundary_only_when_it_helps() {
        // Label 1 always scores 0.3 below where it should: held-out label-1 examples score
        // (0.5, 0.3), label-0 examples (0.5, -0.5).
        let mut held: Vec<(Raw, usize)> = (0..10).map(|_| (raw([0.5, 0.3]), 1)).collect();
        held.extend((0..30).map(|_| (raw([0.5, -0.5]), 0)));
        let truth: Vec<usize> = held.iter().map(|h| h.1).collect();
        let before: Vec<usize> = held.iter().map(|_| 0).collect();
        for objective in [Objective::MacroF1, Objective::Accuracy, Objective::Both] {
            let off = fit_offsets(&held, 2, objective);
            assert_eq!(off.len(), 2);
            let pred: Vec<usize> = held
                .iter()
                .map(|(r, _)| usize::from(r.linear[1] + off[1] > r.linear[0] + off[0]))
                .collect();
            assert_eq!(pred, truth, "{objective:?}: {off:?}");
            assert!(
                objective_value(objective, &truth, &pred, 2)
                    > objective_value(objective, &truth, &before, 2)
            );
            // Small offsets: the smallest that separates.
            assert!(off.iter().all(|o| o.abs() <= 0.5), "{off:?}");
        }
        assert!(fit_offsets(&held, 2, Objective::None).is_empty());
        // Already perfect: no offsets.
        let perfect = vec![(raw([1.0, -1.0]), 0), (raw([-1.0, 1.0]), 1)];
        assert_eq!(fit_offsets(&perfect, 2, Objective::MacroF1), vec![0.0, 0.0]);
    }

    #[test]
    fn macro_f1_counts_predicted_only_labels() {
        // truth a a b, predicted a c b: a F1 2/3, b 1, c 0 → 5/9.
        let v = objective_value(Objective::MacroF1, &[0, 0, 1], &[0, 2, 1], 3);
        assert!((v - 5.0 / 9.0).abs() < 1e-9, "{v}");
        let a = objective_value(Objective::Accuracy, &[0, 0, 1], &[0, 2, 1], 3);
        assert!((a - 2.0 / 3.0).abs() < 1e-9);
    }
}
