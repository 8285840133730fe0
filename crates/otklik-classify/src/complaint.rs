//! Complaint detection for monitored posts and comments: is a post a **problem report,
//! complaint or question to the authorities** (it becomes a message in the workflow), or
//! **news, advertising, thanks, greetings, spam or other chatter** (stored, not routed)?
//!
//! A [`ComplaintDetector`] scores a post in three layers over the shared Russian analysis of
//! `otklik-text` ([`clean_text`](otklik_text::clean_text), the `otklik_ru` stems, language
//! detection):
//!
//! 1. **Cue lexicon** (`dictionaries/ru/complaint.toml`, embedded; an override file can be
//!    loaded at runtime): groups of phrases — problem words («не работает», «не вывозят»,
//!    «сколько можно», «нет света»), requests («прошу принять меры»), authorities
//!    («администрация», «УК»), news style («состоится», «пресс-служба»), ads («скидка»,
//!    «звоните»), thanks, greetings, spam — matched by stem, exact form or prefix, each group
//!    with a weight per [`PostKind`].
//! 2. **Shape features** computed from the text: question marks, phone numbers, prices,
//!    dates, link density, repeated characters, shouting, @mentions of officials…, and
//!    **combinations** declared in the lexicon («спасибо» + a problem and no resolution →
//!    complaint; a negation next to a service word; a question mark + an authority).
//! 3. Optionally a **learned model** ([`ComplaintDetector::train`]): a multinomial logistic
//!    regression over stemmed unigrams and bigrams and the cues that fired, trained with the
//!    lexicon's logits as a fixed offset, so a region's moderator labels correct the lexicon
//!    instead of replacing it.
//!
//! The kind probabilities are a softmax of the summed logits (the lexicon's `temperature`
//! was fitted on the project's labelled set), and [`ComplaintVerdict::score`] is
//! P(complaint) + P(question). A post is routed when `score >= threshold` (0.5 unless the
//! lexicon or [`ComplaintDetector::with_threshold`] says otherwise); [`ComplaintVerdict::kind`]
//! is always consistent with that decision. Posts not in Russian get [`PostKind::Other`] with
//! the reason `language: xx` (they are flagged, not dropped). Only the first 16 KiB of a post
//! are looked at; nothing here panics on any input.
//!
//! ```
//! use otklik_classify::complaint::{ComplaintDetector, PostKind};
//!
//! let detector = ComplaintDetector::embedded();
//! let v = detector.detect("Третью неделю не вывозят мусор во дворе! Сколько можно?");
//! assert!(v.is_complaint);
//! assert_eq!(v.kind, PostKind::Complaint);
//! assert!(v.reasons.iter().any(|r| r.contains("не вывозят")));
//!
//! let v = detector.detect("Поздравляем всех жителей с Днём города!");
//! assert_eq!(v.kind, PostKind::Greeting);
//! assert!(!v.is_complaint);
//!
//! // A region's moderators' labels improve it:
//! let labelled = [
//!     ("Опять не пришла маршрутка 12", PostKind::Complaint),
//!     ("Маршрутка 12 ходит по новому расписанию с понедельника", PostKind::News),
//! ]
//! .map(|(t, k)| (t.to_owned(), k));
//! let tuned = detector.train(labelled)?.with_threshold(0.6);
//! assert!(tuned.has_model());
//! # Ok::<(), otklik_classify::ClassifyError>(())
//! ```

mod lexicon;
mod model;
mod tables;
mod text;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use otklik_text::{Analyzers, Lang};
use serde::{Deserialize, Serialize};

use crate::error::{ClassifyError, Result};
use lexicon::{Lexicon, Weights};
pub use model::ComplaintTrainOptions;
use model::{Example, Model, NameMap};
pub(crate) use text::truncate;

/// The embedded cue lexicon (`dictionaries/ru/complaint.toml`).
pub const EMBEDDED_LEXICON: &str = include_str!("../../../dictionaries/ru/complaint.toml");

/// Number of [`PostKind`]s.
pub(crate) const KINDS: usize = 8;

/// What a post is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    /// A problem report or complaint («не вывозят мусор», «ямы на дороге»).
    Complaint,
    /// A question to the authorities («когда включат горячую воду?»).
    Question,
    /// News, announcements, official information.
    News,
    /// Advertising, offers, sales, vacancies.
    Advertising,
    /// Thanks («спасибо коммунальщикам»).
    Thanks,
    /// Greetings and congratulations («с праздником»).
    Greeting,
    /// Spam: links only, easy money, crypto, gibberish.
    Spam,
    /// Anything else: chatter, private questions, lost and found, non-Russian posts.
    Other,
}

impl PostKind {
    /// All kinds, in a fixed order (the order of [`ComplaintVerdict::probabilities`]).
    pub const ALL: [PostKind; KINDS] = [
        PostKind::Complaint,
        PostKind::Question,
        PostKind::News,
        PostKind::Advertising,
        PostKind::Thanks,
        PostKind::Greeting,
        PostKind::Spam,
        PostKind::Other,
    ];

    /// The English name used in CSV files and the lexicon: `complaint`, `question`, `news`,
    /// `advertising`, `thanks`, `greeting`, `spam`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Complaint => "complaint",
            PostKind::Question => "question",
            PostKind::News => "news",
            PostKind::Advertising => "advertising",
            PostKind::Thanks => "thanks",
            PostKind::Greeting => "greeting",
            PostKind::Spam => "spam",
            PostKind::Other => "other",
        }
    }

    /// The Russian name shown to people: «жалоба», «вопрос», «новость», «реклама»,
    /// «благодарность», «поздравление», «спам», «другое».
    pub fn name_ru(self) -> &'static str {
        match self {
            PostKind::Complaint => "жалоба",
            PostKind::Question => "вопрос",
            PostKind::News => "новость",
            PostKind::Advertising => "реклама",
            PostKind::Thanks => "благодарность",
            PostKind::Greeting => "поздравление",
            PostKind::Spam => "спам",
            PostKind::Other => "другое",
        }
    }

    /// Complaints and questions: the kinds that become messages in the workflow.
    pub fn is_actionable(self) -> bool {
        matches!(self, PostKind::Complaint | PostKind::Question)
    }

    /// The position in [`PostKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for PostKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`PostKind`] from a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown post kind `{0}` (expected complaint, question, news, advertising, thanks, greeting, spam or other)"
)]
pub struct UnknownPostKind(pub String);

impl std::str::FromStr for PostKind {
    type Err = UnknownPostKind;

    /// Accepts the English names ([`PostKind::as_str`]) and the Russian ones
    /// ([`PostKind::name_ru`]), case-insensitively, plus `ad`/`ads`.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let t = s.trim().to_lowercase().replace('ё', "е");
        let kind = match t.as_str() {
            "complaint" | "жалоба" => PostKind::Complaint,
            "question" | "вопрос" => PostKind::Question,
            "news" | "новость" => PostKind::News,
            "advertising" | "ad" | "ads" | "реклама" => PostKind::Advertising,
            "thanks" | "благодарность" => PostKind::Thanks,
            "greeting" | "поздравление" => PostKind::Greeting,
            "spam" | "спам" => PostKind::Spam,
            "other" | "другое" => PostKind::Other,
            _ => return Err(UnknownPostKind(s.to_owned())),
        };
        Ok(kind)
    }
}

/// The decision about one post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplaintVerdict {
    /// What the post is. [`Complaint`](PostKind::Complaint) or
    /// [`Question`](PostKind::Question) exactly when `is_complaint`; otherwise the most
    /// probable of the other kinds.
    pub kind: PostKind,
    /// A complaint or question to the authorities: `score >= threshold`.
    pub is_complaint: bool,
    /// P(complaint) + P(question), in `0.0..=1.0`.
    pub score: f32,
    /// The cues that fired, as short strings: `problem: «не работает»`, `phone number`,
    /// `thanks + problem, unresolved`, `model: «ям» +0.42`, `language: uk`.
    pub reasons: Vec<String>,
    /// The probability of each kind, in [`PostKind::ALL`] order (sums to 1).
    pub probabilities: [f32; KINDS],
}

impl ComplaintVerdict {
    /// The probability of `kind`.
    pub fn probability(&self, kind: PostKind) -> f32 {
        self.probabilities[kind.index()]
    }
}

/// What [`ComplaintDetector::train`] learned, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintTraining {
    /// Examples used.
    pub examples: usize,
    /// Examples per kind, in [`PostKind::ALL`] order.
    pub per_kind: [usize; KINDS],
    /// Features with a non-zero weight.
    pub features: usize,
}

/// Decides whether posts are complaints; see the [module docs](self).
///
/// Cheap to clone (the lexicon and the model are shared); `Send + Sync`.
#[derive(Debug, Clone)]
pub struct ComplaintDetector {
    lexicon: Arc<Lexicon>,
    model: Option<Arc<Model>>,
    training: Option<ComplaintTraining>,
    threshold: f32,
}

static EMBEDDED: LazyLock<std::result::Result<Arc<Lexicon>, lexicon::LexiconError>> =
    LazyLock::new(|| Lexicon::parse(EMBEDDED_LEXICON, Analyzers::embedded()).map(Arc::new));

fn lexicon_error(origin: &str, e: lexicon::LexiconError) -> ClassifyError {
    ClassifyError::Lexicon {
        origin: origin.to_owned(),
        line: e.line,
        message: e.message,
    }
}

impl ComplaintDetector {
    /// The detector over the embedded lexicon, with no learned model.
    pub fn embedded() -> ComplaintDetector {
        match &*EMBEDDED {
            Ok(lexicon) => ComplaintDetector::with_lexicon(Arc::clone(lexicon)),
            Err(e) => {
                // The embedded lexicon is checked by the tests; never panic in production.
                debug_assert!(
                    false,
                    "embedded complaint lexicon: line {}: {}",
                    e.line, e.message
                );
                ComplaintDetector::with_lexicon(Arc::new(Lexicon::empty()))
            }
        }
    }

    /// A detector over a lexicon given as TOML text (the format of
    /// `dictionaries/ru/complaint.toml`). Errors name the line.
    pub fn from_toml(text: &str) -> Result<ComplaintDetector> {
        Lexicon::parse(text, Analyzers::embedded())
            .map(|l| ComplaintDetector::with_lexicon(Arc::new(l)))
            .map_err(|e| lexicon_error("complaint lexicon", e))
    }

    /// A detector over a lexicon file (an override of the embedded one).
    pub fn from_file(path: impl AsRef<Path>) -> Result<ComplaintDetector> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ClassifyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Lexicon::parse(&text, Analyzers::embedded())
            .map(|l| ComplaintDetector::with_lexicon(Arc::new(l)))
            .map_err(|e| lexicon_error(&path.display().to_string(), e))
    }

    fn with_lexicon(lexicon: Arc<Lexicon>) -> ComplaintDetector {
        ComplaintDetector {
            threshold: lexicon.threshold,
            lexicon,
            model: None,
            training: None,
        }
    }

    /// The same detector deciding at `threshold` (clamped to `0.0..=1.0`; NaN is ignored).
    /// A higher threshold routes fewer posts.
    #[must_use]
    pub fn with_threshold(mut self, threshold: f32) -> ComplaintDetector {
        if !threshold.is_nan() {
            self.threshold = threshold.clamp(0.0, 1.0);
        }
        self
    }

    /// The decision threshold on [`ComplaintVerdict::score`].
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// True when a learned model is combined with the lexicon.
    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// What the last [`train`](Self::train) learned, if this detector was trained.
    pub fn training(&self) -> Option<&ComplaintTraining> {
        self.training.as_ref()
    }

    /// The same detector without its learned model (the lexicon alone).
    #[must_use]
    pub fn without_model(&self) -> ComplaintDetector {
        ComplaintDetector {
            model: None,
            training: None,
            ..self.clone()
        }
    }

    /// Decides about one post (plain text or HTML, raw from the collector).
    pub fn detect(&self, text: &str) -> ComplaintVerdict {
        let a = text::analyze(text, Analyzers::embedded(), &self.lexicon.officials);
        self.decide_analysis(&a)
    }

    /// [`detect`](Self::detect) for a post already cleaned (from at most the first 16 KiB of
    /// the raw text) and analysed with the embedded analyzers: the monitoring pipeline
    /// analyses a post once for every detector.
    pub(crate) fn detect_analysed(
        &self,
        clean: otklik_text::CleanText,
        tokens: &crate::tokens::TokenList,
    ) -> ComplaintVerdict {
        let a = text::analyze_tokens(clean, tokens, &self.lexicon.officials);
        self.decide_analysis(&a)
    }

    fn decide_analysis(&self, a: &text::Analysis) -> ComplaintVerdict {
        let lex = &*self.lexicon;
        if let Some(lang) = a.lang
            && !matches!(lang, Lang::Ru | Lang::Unknown)
        {
            let mut probabilities = [0.0; KINDS];
            probabilities[PostKind::Other.index()] = 1.0;
            return ComplaintVerdict {
                kind: PostKind::Other,
                is_complaint: false,
                score: 0.0,
                reasons: vec![format!("language: {}", lang.code())],
                probabilities,
            };
        }
        let cues = lex.match_cues(a);
        let mut reasons = Vec::with_capacity(12);
        let mut logits = lexicon_logits(lex, a, &cues, Some(&mut reasons));
        let seen = match &self.model {
            Some(m) => m.add_logits(a, &cues, lex, &mut logits),
            None => Vec::new(),
        };
        let probabilities = model::probabilities(logits);
        let (kind, is_complaint, score) = self.decide(&probabilities);
        if let Some(m) = &self.model {
            reasons.extend(m.explain(&seen, kind, 3));
        }
        ComplaintVerdict {
            kind,
            is_complaint,
            score,
            reasons,
            probabilities,
        }
    }

    fn decide(&self, p: &Weights) -> (PostKind, bool, f32) {
        let c = p[PostKind::Complaint.index()];
        let q = p[PostKind::Question.index()];
        let score = (c + q).clamp(0.0, 1.0);
        let is_complaint = score >= self.threshold;
        let kind = if is_complaint {
            if q > c {
                PostKind::Question
            } else {
                PostKind::Complaint
            }
        } else {
            PostKind::ALL
                .into_iter()
                .filter(|k| !k.is_actionable())
                .max_by(|a, b| p[a.index()].total_cmp(&p[b.index()]))
                .unwrap_or(PostKind::Other)
        };
        (kind, is_complaint, score)
    }

    /// Learns a model from labelled posts (e.g. moderators' decisions) and returns a detector
    /// combining it with this detector's lexicon and threshold (any previous model is
    /// replaced, not extended: pass all the labels). Deterministic. Fails with
    /// [`ClassifyError::NoExamples`] when there are no examples.
    pub fn train(
        &self,
        examples: impl IntoIterator<Item = (String, PostKind)>,
    ) -> Result<ComplaintDetector> {
        self.train_with(examples, ComplaintTrainOptions::default())
    }

    /// [`train`](Self::train) with explicit options. Fails with
    /// [`ClassifyError::InvalidOption`] for a non-positive or non-finite learning rate, a
    /// negative L2 penalty or more than 10,000 epochs.
    pub fn train_with(
        &self,
        examples: impl IntoIterator<Item = (String, PostKind)>,
        options: ComplaintTrainOptions,
    ) -> Result<ComplaintDetector> {
        options.validate()?;
        let lex = &*self.lexicon;
        let mut names = NameMap::default();
        let mut featurized = Vec::new();
        let mut per_kind = [0usize; KINDS];
        for (text, kind) in examples {
            let a = text::analyze(&text, Analyzers::embedded(), &lex.officials);
            let cues = lex.match_cues(&a);
            let prior = lexicon_logits(lex, &a, &cues, None);
            let mut features = Vec::new();
            model::features(&a, &cues, lex, |h, x, parts| {
                model::remember(&mut names, h, parts);
                features.push((h, x));
            });
            per_kind[kind.index()] += 1;
            featurized.push(Example {
                features,
                prior,
                label: kind.index(),
            });
        }
        if featurized.is_empty() {
            return Err(ClassifyError::NoExamples);
        }
        let model = Model::train(&featurized, names, options);
        let training = ComplaintTraining {
            examples: featurized.len(),
            per_kind,
            features: model.len(),
        };
        Ok(ComplaintDetector {
            lexicon: Arc::clone(&self.lexicon),
            model: Some(Arc::new(model)),
            training: Some(training),
            threshold: self.threshold,
        })
    }

    /// The learned model as JSON (feature names and weights), or `None` without a model.
    pub fn model_json(&self) -> Option<String> {
        self.model.as_ref().and_then(|m| m.to_json().ok())
    }

    /// This detector with a model read from [`model_json`](Self::model_json) output.
    pub fn with_model_json(&self, json: &str) -> Result<ComplaintDetector> {
        self.with_model_from(json, Path::new("<json>"))
    }

    /// Saves the learned model to `path` as JSON; does nothing without a model.
    pub fn save_model(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let Some(m) = &self.model else { return Ok(()) };
        let json = m.to_json().map_err(|source| ClassifyError::Model {
            path: path.to_owned(),
            source,
        })?;
        std::fs::write(path, json).map_err(|source| ClassifyError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// This detector with the model saved by [`save_model`](Self::save_model).
    pub fn load_model(&self, path: impl AsRef<Path>) -> Result<ComplaintDetector> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|source| ClassifyError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.with_model_from(&json, path)
    }

    fn with_model_from(&self, json: &str, path: &Path) -> Result<ComplaintDetector> {
        let model = Model::from_json(json).map_err(|source| ClassifyError::Model {
            path: PathBuf::from(path),
            source,
        })?;
        Ok(ComplaintDetector {
            model: Some(Arc::new(model)),
            training: None,
            ..self.clone()
        })
    }
}

/// The lexicon's logits (divided by its temperature); with `reasons`, the fired cues are
/// described there.
fn lexicon_logits(
    lex: &Lexicon,
    a: &text::Analysis,
    cues: &lexicon::Cues,
    mut reasons: Option<&mut Vec<String>>,
) -> Weights {
    let mut z = lex.bias;
    let mut add = |w: &Weights, times: f32| {
        for (zk, wk) in z.iter_mut().zip(w) {
            *zk += wk * times;
        }
    };
    let matters = |w: &Weights| w.iter().any(|&x| x != 0.0);
    let mut first_match = vec![None; lex.groups.len()];
    for m in &cues.matches {
        if let Some(slot) = first_match.get_mut(usize::from(m.group))
            && slot.is_none()
        {
            *slot = Some(*m);
        }
    }
    for ((g, &count), first) in lex.groups.iter().zip(&cues.counts).zip(&first_match) {
        if count == 0 {
            continue;
        }
        add(&g.weights, count as f32);
        if let (Some(r), Some(m), true) = (reasons.as_deref_mut(), first, matters(&g.weights)) {
            let surface = a.surface(m.start as usize, m.end as usize);
            let mut reason = String::with_capacity(g.reason.len() + surface.len() + 8);
            reason.push_str(&g.reason);
            reason.push_str(": «");
            reason.push_str(surface);
            reason.push('»');
            r.push(reason);
        }
    }
    for f in text::Feature::ALL {
        if let (true, Some(cue)) = (a.has(f), &lex.features[f.index()]) {
            add(&cue.weights, 1.0);
            if let Some(r) = reasons.as_deref_mut()
                && matters(&cue.weights)
            {
                r.push(cue.reason.clone());
            }
        }
    }
    for (c, &fired) in lex.combos.iter().zip(&cues.combos) {
        if fired {
            add(&c.weights, 1.0);
            if let Some(r) = reasons.as_deref_mut()
                && matters(&c.weights)
            {
                r.push(c.reason.clone());
            }
        }
    }
    let t = lex.temperature.max(0.05);
    z.map(|v| v / t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nanoseconds this thread has run (Linux), else wall-clock nanoseconds since `epoch`.
    fn cpu_ns(epoch: std::time::Instant) -> u128 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u128>().ok())
            .unwrap_or_else(|| epoch.elapsed().as_nanos())
    }

    /// Times the stages of `detect` on ~300-character texts, best of 5 runs, per text
    /// (`cargo test --release -p otklik-classify --lib stage_times -- --ignored --nocapture`).
    #[test]
    #[ignore = "measurement"]
    fn stage_times() {
        let mut posts = Vec::new();
        let mut labelled = Vec::new();
        for f in ["test.csv", "train.csv"] {
            let path = format!("{}/tests/data/complaint/{f}", env!("CARGO_MANIFEST_DIR"));
            if let Ok(mut rdr) = csv::Reader::from_path(path) {
                for r in rdr.records().filter_map(|r| r.ok()) {
                    let (Some(t), Some(k)) = (r.get(0), r.get(1).and_then(|k| k.parse().ok()))
                    else {
                        continue;
                    };
                    posts.push(t.to_owned());
                    if f == "train.csv" {
                        labelled.push((t.to_owned(), k));
                    }
                }
            }
        }
        let mut texts = Vec::new();
        let mut cur = String::new();
        for p in &posts {
            cur.push_str(p);
            cur.push(' ');
            if cur.chars().count() >= 300 {
                texts.push(cur.chars().take(300).collect::<String>());
                cur.clear();
            }
        }
        let det = ComplaintDetector::embedded();
        let trained = det.train(labelled).unwrap_or_else(|_| det.clone());
        let lex = &*det.lexicon;
        let an = Analyzers::embedded();
        let epoch = std::time::Instant::now();
        let mut sink = 0usize;
        let mut time = |name: &str, f: &mut dyn FnMut(&str) -> usize| {
            let mut best = f64::INFINITY;
            for _ in 0..5 {
                let start = cpu_ns(epoch);
                for _ in 0..100 {
                    for x in &texts {
                        sink = sink.wrapping_add(f(x));
                    }
                }
                let us = (cpu_ns(epoch) - start) as f64 / 1e3 / (100 * texts.len()) as f64;
                best = best.min(us);
            }
            println!("{name}: {best:.2} us");
        };
        time("clean_text", &mut |x| otklik_text::clean_text(x).text.len());
        time("analyzer tokens", &mut |x| {
            let mut n = 0;
            an.for_each_token(x, |_| n += 1);
            n
        });
        time("char scan", &mut |x| {
            usize::from(text::CharStats::scan(x).surely_russian())
        });
        time("tokenize", &mut |x| {
            let mut a = text::Analysis::default();
            a.clean.text = x.to_owned();
            text::tokenize(&mut a, an);
            a.words.len()
        });
        time("text::analyze", &mut |x| {
            text::analyze(x, an, &lex.officials).words.len()
        });
        let analyses: Vec<_> = texts
            .iter()
            .map(|x| text::analyze(x, an, &lex.officials))
            .collect();
        let by_text: std::collections::HashMap<&str, usize> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (t.as_str(), i))
            .collect();
        let of = |x: &str| &analyses[by_text[x]];
        time("match_cues", &mut |x| lex.match_cues(of(x)).matches.len());
        let cues: Vec<_> = analyses.iter().map(|a| lex.match_cues(a)).collect();
        let cues_of = |x: &str| &cues[by_text[x]];
        time("lexicon_logits + reasons", &mut |x| {
            let mut r = Vec::new();
            lexicon_logits(lex, of(x), cues_of(x), Some(&mut r)).len() + r.len()
        });
        let model = trained.model.clone().unwrap_or_default();
        time("model logits + explain", &mut |x| {
            let mut z = [0.0; KINDS];
            let seen = model.add_logits(of(x), cues_of(x), lex, &mut z);
            model.explain(&seen, PostKind::Complaint, 3).len()
        });
        time("detect (lexicon)", &mut |x| det.detect(x).reasons.len());
        time("detect (lexicon + model)", &mut |x| {
            trained.detect(x).reasons.len()
        });
        println!("({sink})");
    }
}
