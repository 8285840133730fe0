//! Frequent and emerging problems: significant terms and phrases of a period and territory
//! against a baseline, near-duplicates clustered into topics, and spikes of today against the
//! trailing weeks.
//!
//! Everything works on the stored texts of the index, analysed again with **the same Russian
//! analyzer** ([`otklik_text::RU_ANALYZER`]: stems, stop words, abbreviations), so «трубы»,
//! «трубу» and «труба» are one term:
//!
//! - **Significant terms** ([`SearchIndex::topics`]): the documents of the *foreground* (a
//!   period, a territory, any facet filters) against a *background* (by default the same
//!   filters over the 90 days before). For every stem and every phrase of two adjacent stems,
//!   the document frequencies of both sets give a 2×2 table; the score is Dunning's
//!   log-likelihood ratio G², kept only for terms over-represented in the foreground. The
//!   background is a uniform sample (default 20,000 documents), so rates, not counts, are
//!   compared.
//! - **Topics**: the foreground's documents, as sets of stems weighted by inverse document
//!   frequency over the whole index (less a floor, so template words of every tenth post
//!   weigh nothing; numbers, words of one document, and words typical of the baseline far
//!   beyond their share of the index — a territory's own street names — are left out), are
//!   compared by weighted Jaccard similarity (every pair up to
//!   [`TopicOptions::exact_pairs_limit`] documents, MinHash-banded candidates above it) and
//!   star-clustered: the document with the most similar neighbours leads a topic of them,
//!   so topics do not chain from one problem into the next. A topic is titled with the
//!   sentence of its leader (the most central document) that carries most of the topic's
//!   shared words — the first such sentence, trimmed — and carries its top terms, its main
//!   territory and category, and (by [`SearchIndex::topics`]) its G² against the baseline;
//!   topics are ordered by size or by that score ([`TopicOrder`]).
//! - **Spikes** ([`SearchIndex::spikes`]): today's documents against the trailing weeks. For
//!   every topic of today and every significant term, today's count is compared with the
//!   daily counts of the trailing days: ratio `(today + 1) / (mean + 1)` and z-score
//!   `(today − mean) / sqrt(max(variance, mean) + 1)` (the Poisson floor and the `+ 1` smooth
//!   quiet histories). A spike needs all of [`SpikeQuery::min_count`], [`SpikeQuery::min_ratio`]
//!   and [`SpikeQuery::min_z`].
//!
//! [`cluster_texts`] clusters plain texts without an index (the same algorithm).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, TantivyDocument, Term};

use crate::doc::{DocKey, Facet, SearchDoc, civil_from_days};
use crate::index::SearchIndex;
use crate::{Result, SearchError};

const DAY_MS: i64 = 86_400_000;

/// Tuning shared by [`TopicsQuery`] and [`SpikeQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TopicOptions {
    /// Significant terms to return (default 20).
    pub max_terms: usize,
    /// Topics to return (default 20).
    pub max_topics: usize,
    /// Least foreground documents for a term or a topic (default 3).
    pub min_docs: u64,
    /// Weighted Jaccard similarity joining two documents into a topic (default 0.4).
    pub similarity: f64,
    /// Most foreground documents analysed (a uniform sample above it; default 20,000).
    pub foreground_limit: usize,
    /// Most background documents analysed (a uniform sample above it; default 20,000).
    pub background_sample: usize,
    /// Up to this many foreground documents, every pair is compared; above it, MinHash
    /// banding finds the candidate pairs (default 1,500).
    pub exact_pairs_limit: usize,
    /// Seed of the samples (the same seed, the same result).
    pub seed: u64,
    /// Order of the topics of [`SearchIndex::topics`].
    pub order: TopicOrder,
}

/// Order of the topics of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopicOrder {
    /// Largest first: the most frequent problems (the default).
    #[default]
    Size,
    /// Most over-represented against the baseline first ([`Topic::score`]): what is new.
    Significance,
}

impl Default for TopicOptions {
    fn default() -> Self {
        Self {
            max_terms: 20,
            max_topics: 20,
            min_docs: 3,
            similarity: 0.4,
            foreground_limit: 20_000,
            background_sample: 20_000,
            exact_pairs_limit: 1_500,
            seed: 1,
            order: TopicOrder::Size,
        }
    }
}

/// Which documents the background of [`TopicsQuery`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineScope {
    /// The foreground's filters (the territory's own history; the default).
    #[default]
    Same,
    /// No filters: the whole region over the baseline period.
    Region,
}

/// Top problems of a period (and territory, and any facet filters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicsQuery {
    /// Foreground: published at or after (epoch ms).
    pub since: i64,
    /// Foreground: published before (epoch ms).
    pub until: i64,
    /// Foreground filters: one of the values of every listed facet.
    pub filters: BTreeMap<Facet, Vec<String>>,
    /// Background: published at or after (default: 90 days before `since`).
    pub baseline_since: Option<i64>,
    /// Background: published before (default: `since`). Foreground documents are never
    /// counted in the background.
    pub baseline_until: Option<i64>,
    /// Background filters.
    pub baseline_scope: BaselineScope,
    /// Tuning.
    pub options: TopicOptions,
}

impl TopicsQuery {
    /// Documents published in `[since, until)`.
    pub fn new(since: i64, until: i64) -> Self {
        Self {
            since,
            until,
            filters: BTreeMap::new(),
            baseline_since: None,
            baseline_until: None,
            baseline_scope: BaselineScope::Same,
            options: TopicOptions::default(),
        }
    }

    /// The documents of a UTC month `YYYY-MM`.
    pub fn month(period: &str) -> Result<Self> {
        let (since, until) = month_range(period)?;
        Ok(Self::new(since, until))
    }

    /// Also requires `facet` = `value` (values of one facet are alternatives).
    #[must_use]
    pub fn filter(mut self, facet: Facet, value: impl Into<String>) -> Self {
        self.filters.entry(facet).or_default().push(value.into());
        self
    }

    /// Only this territory.
    #[must_use]
    pub fn territory(self, code: impl Into<String>) -> Self {
        self.filter(Facet::Territory, code)
    }
}

/// `[start, end)` epoch ms of a UTC month `YYYY-MM`.
pub fn month_range(period: &str) -> Result<(i64, i64)> {
    let bad = || SearchError::Invalid(format!("{period:?} is not a month (YYYY-MM)"));
    let (y, m) = period.trim().split_once('-').ok_or_else(bad)?;
    let year: i64 = y.parse().map_err(|_| bad())?;
    let month: u32 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) {
        return Err(bad());
    }
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    Ok((
        crate::month_start_ms(year, month),
        crate::month_start_ms(ny, nm),
    ))
}

/// Emerging problems: today against the trailing days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeQuery {
    /// Start of "today" (epoch ms; today is `[day_start, day_start + 1 day)`).
    pub day_start: i64,
    /// Trailing days compared with (default 28).
    pub trailing_days: u32,
    /// Filters of both today and the trailing days.
    pub filters: BTreeMap<Facet, Vec<String>>,
    /// Least documents today (default 5).
    pub min_count: u64,
    /// Least ratio `(today + 1) / (mean + 1)` (default 3).
    pub min_ratio: f64,
    /// Least z-score (default 4).
    pub min_z: f64,
    /// Tuning.
    pub options: TopicOptions,
}

impl SpikeQuery {
    /// Spikes of the UTC day starting at `day_start` (rounded down to midnight).
    pub fn new(day_start: i64) -> Self {
        Self {
            day_start: day_start.div_euclid(DAY_MS) * DAY_MS,
            trailing_days: 28,
            filters: BTreeMap::new(),
            min_count: 5,
            min_ratio: 3.0,
            min_z: 4.0,
            options: TopicOptions::default(),
        }
    }

    /// Also requires `facet` = `value`.
    #[must_use]
    pub fn filter(mut self, facet: Facet, value: impl Into<String>) -> Self {
        self.filters.entry(facet).or_default().push(value.into());
        self
    }

    /// Only this territory.
    #[must_use]
    pub fn territory(self, code: impl Into<String>) -> Self {
        self.filter(Facet::Territory, code)
    }
}

/// A term or phrase over-represented in the foreground.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignificantTerm {
    /// The stems, space-separated (`прорыв труб`).
    pub term: String,
    /// Its most frequent wording in the foreground (`прорыв трубы`).
    pub display: String,
    /// Two adjacent stems rather than one.
    pub phrase: bool,
    /// Foreground documents with the term.
    pub foreground_docs: u64,
    /// Share of foreground documents with it.
    pub foreground_rate: f64,
    /// Share of (sampled) background documents with it.
    pub background_rate: f64,
    /// Log-likelihood ratio G².
    pub score: f64,
}

/// A cluster of near-duplicate documents: one problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// The first sentence of the most central document, trimmed.
    pub title: String,
    /// That document.
    pub representative: DocKey,
    /// Documents in the topic (of the analysed foreground).
    pub size: u64,
    /// Its most significant terms (display forms).
    pub terms: Vec<String>,
    /// The most frequent territory of its documents.
    pub territory: Option<String>,
    /// Share of its documents in that territory.
    pub territory_share: f64,
    /// The most frequent category.
    pub category: Option<String>,
    /// The most frequent subcategory.
    pub subcategory: Option<String>,
    /// Share of (sampled) background documents similar to the topic's central ones (set by
    /// [`SearchIndex::topics`]; 0 for spikes).
    pub background_rate: f64,
    /// G² of the topic's documents against those background documents (0 when the topic is
    /// not over-represented, and for spikes).
    pub score: f64,
    /// Earliest publication (epoch ms).
    pub first_seen: i64,
    /// Latest publication (epoch ms).
    pub last_seen: i64,
    /// Its documents, oldest first (at most 100).
    pub members: Vec<DocKey>,
}

/// The result of [`SearchIndex::topics`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicsReport {
    /// Foreground documents matching.
    pub foreground_total: u64,
    /// Foreground documents analysed.
    pub foreground_docs: u64,
    /// Background documents matching.
    pub background_total: u64,
    /// Background documents analysed.
    pub background_docs: u64,
    /// Significant terms, best first.
    pub terms: Vec<SignificantTerm>,
    /// Topics, largest first.
    pub topics: Vec<Topic>,
    /// Time taken, µs.
    pub took_us: u64,
}

/// What spiked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpikeKind {
    /// A topic (cluster) of today.
    Topic,
    /// A term or phrase.
    Term,
}

/// One emerging problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    /// Topic or term.
    pub kind: SpikeKind,
    /// The topic's title or the term's display form.
    pub label: String,
    /// Documents today.
    pub today: u64,
    /// Mean documents per trailing day (scaled up from the sample).
    pub mean: f64,
    /// Standard deviation per trailing day.
    pub sd: f64,
    /// `(today + 1) / (mean + 1)`.
    pub ratio: f64,
    /// `(today − mean) / sqrt(max(variance, mean) + 1)`.
    pub z: f64,
    /// The topic, for a topic spike.
    pub topic: Option<Topic>,
    /// The term, for a term spike.
    pub term: Option<SignificantTerm>,
}

/// The result of [`SearchIndex::spikes`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpikeReport {
    /// Today, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Documents today.
    pub today_docs: u64,
    /// Documents in the trailing days.
    pub trailing_docs: u64,
    /// Spikes: topics first, then terms, each by z-score.
    pub spikes: Vec<Spike>,
    /// Time taken, µs.
    pub took_us: u64,
}

impl SpikeReport {
    /// The strongest topic spike, if any.
    pub fn top_topic(&self) -> Option<&Spike> {
        self.spikes.iter().find(|s| s.kind == SpikeKind::Topic)
    }
}

// ---------------------------------------------------------------------------------------
// Analysis

/// Interned stems and phrases.
#[derive(Default)]
struct Vocab {
    ids: HashMap<String, u32>,
    terms: Vec<String>,
}

impl Vocab {
    fn id(&mut self, term: &str) -> u32 {
        if let Some(id) = self.ids.get(term) {
            return *id;
        }
        let id = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
        self.ids.insert(term.to_owned(), id);
        self.terms.push(term.to_owned());
        id
    }
}

/// One analysed document.
struct Analysed {
    /// Stems, sorted, distinct.
    words: Vec<u32>,
    /// Phrases of two adjacent stems, sorted, distinct.
    phrases: Vec<u32>,
    published_at: i64,
}

/// Analyses texts, interning their terms; remembers the wording of foreground terms.
struct Analyser<'a> {
    analyzers: &'a otklik_text::Analyzers,
    vocab: Vocab,
    /// term id → wording → count (foreground only).
    surfaces: HashMap<u32, HashMap<String, u32>>,
}

impl<'a> Analyser<'a> {
    fn new(analyzers: &'a otklik_text::Analyzers) -> Self {
        Self {
            analyzers,
            vocab: Vocab::default(),
            surfaces: HashMap::new(),
        }
    }

    fn analyse(&mut self, text: &str, published_at: i64, foreground: bool) -> Analysed {
        // (position, stem, byte range of the original word)
        let mut tokens: Vec<(usize, String, usize, usize)> = Vec::new();
        self.analyzers.for_each_token(text, |t| {
            if tokens.last().is_some_and(|(p, ..)| *p == t.position) {
                return; // one term per position (abbreviation expansions)
            }
            tokens.push((t.position, t.text.clone(), t.offset_from, t.offset_to));
        });
        let mut words = Vec::with_capacity(tokens.len());
        let mut phrases = Vec::with_capacity(tokens.len());
        for (i, (pos, stem, from, to)) in tokens.iter().enumerate() {
            let id = self.vocab.id(stem);
            words.push(id);
            if foreground && let Some(surface) = text.get(*from..*to) {
                self.note_surface(id, surface);
            }
            // A phrase: two adjacent words with nothing but spaces or a hyphen between.
            if let Some((next_pos, next, next_from, next_to)) = tokens.get(i + 1)
                && *next_pos == pos + 1
                && text
                    .get(*to..*next_from)
                    .is_some_and(|gap| gap.chars().all(|c| c.is_whitespace() || c == '-'))
            {
                let pid = self.vocab.id(&format!("{stem} {next}"));
                phrases.push(pid);
                if foreground && let Some(surface) = text.get(*from..*next_to) {
                    self.note_surface(pid, surface);
                }
            }
        }
        words.sort_unstable();
        words.dedup();
        phrases.sort_unstable();
        phrases.dedup();
        Analysed {
            words,
            phrases,
            published_at,
        }
    }

    fn note_surface(&mut self, id: u32, surface: &str) {
        let surface = surface.to_lowercase().replace('ё', "е");
        *self
            .surfaces
            .entry(id)
            .or_default()
            .entry(surface)
            .or_default() += 1;
    }

    fn display(&self, id: u32) -> String {
        self.surfaces
            .get(&id)
            .and_then(|m| {
                m.iter()
                    .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                    .map(|(s, _)| s.clone())
            })
            .unwrap_or_else(|| self.term(id).to_owned())
    }

    fn term(&self, id: u32) -> &str {
        self.vocab.terms.get(id as usize).map_or("", String::as_str)
    }
}

/// Documents containing each term.
fn doc_freqs(docs: &[Analysed]) -> HashMap<u32, u64> {
    let mut df: HashMap<u32, u64> = HashMap::new();
    for d in docs {
        for t in d.words.iter().chain(&d.phrases) {
            *df.entry(*t).or_default() += 1;
        }
    }
    df
}

/// Dunning's G² of a 2×2 table: `a` of `n1` foreground and `c` of `n2` background documents
/// have the term.
pub fn log_likelihood(a: u64, n1: u64, c: u64, n2: u64) -> f64 {
    let (a, n1, c, n2) = (a as f64, n1 as f64, c as f64, n2 as f64);
    let (b, d) = (n1 - a, n2 - c);
    let n = n1 + n2;
    if n <= 0.0 {
        return 0.0;
    }
    let k = a + c; // documents with the term
    let part = |o: f64, e: f64| {
        if o > 0.0 && e > 0.0 {
            o * (o / e).ln()
        } else {
            0.0
        }
    };
    let g = part(a, n1 * k / n)
        + part(b, n1 * (n - k) / n)
        + part(c, n2 * k / n)
        + part(d, n2 * (n - k) / n);
    (2.0 * g).max(0.0)
}

/// Significant terms of `fg` against `bg`, best first (all that qualify).
fn significant(
    an: &Analyser<'_>,
    fg: &[Analysed],
    bg: &[Analysed],
    min_docs: u64,
) -> Vec<(u32, SignificantTerm)> {
    let fg_df = doc_freqs(fg);
    let bg_df = doc_freqs(bg);
    let (n1, n2) = (fg.len() as u64, bg.len() as u64);
    let mut out: Vec<(u32, SignificantTerm)> = fg_df
        .iter()
        .filter(|(_, a)| **a >= min_docs.max(1))
        .filter_map(|(id, a)| {
            let c = bg_df.get(id).copied().unwrap_or(0);
            let fg_rate = *a as f64 / n1.max(1) as f64;
            // Smoothed: a term absent from a small background is not infinitely rare.
            let bg_rate = (c as f64 + 0.5) / (n2 as f64 + 1.0);
            if fg_rate <= bg_rate {
                return None;
            }
            let term = an.term(*id).to_owned();
            Some((
                *id,
                SignificantTerm {
                    display: an.display(*id),
                    phrase: term.contains(' '),
                    term,
                    foreground_docs: *a,
                    foreground_rate: fg_rate,
                    background_rate: c as f64 / n2.max(1) as f64,
                    score: log_likelihood(*a, n1, c, n2),
                },
            ))
        })
        .collect();
    out.sort_by(|x, y| {
        y.1.score
            .total_cmp(&x.1.score)
            .then_with(|| x.1.term.cmp(&y.1.term))
    });
    // A word of a significant phrase that adds nothing of its own is left out.
    let phrases: Vec<(String, u64)> = out
        .iter()
        .filter(|(_, t)| t.phrase)
        .map(|(_, t)| (t.term.clone(), t.foreground_docs))
        .collect();
    out.retain(|(_, t)| {
        t.phrase
            || !phrases.iter().any(|(p, n)| {
                p.split(' ').any(|w| w == t.term) && (*n as f64) >= 0.8 * t.foreground_docs as f64
            })
    });
    out
}

// ---------------------------------------------------------------------------------------
// Clustering

/// Weights of the words that can tell topics apart: inverse document frequency over the
/// whole collection (`df_of(word)` of `n` documents) less a floor, so words of nearly every
/// tenth document (greetings, templates, «улица») weigh nothing. Only words of at least two
/// of the `local` documents count (a word of one document joins nothing but would dilute
/// every similarity), and no numbers (house numbers).
fn idf_weights(
    an: &Analyser<'_>,
    local: &[&Analysed],
    n: u64,
    df_of: &dyn Fn(&str) -> u64,
) -> HashMap<u32, f64> {
    let mut df: HashMap<u32, u64> = HashMap::new();
    for d in local {
        for w in &d.words {
            *df.entry(*w).or_default() += 1;
        }
    }
    let n = n.max(1) as f64;
    let floor = (1.0 + (n / 20.0).min(10.0)).ln();
    df.into_iter()
        .filter(|(w, k)| *k >= 2 && !an.term(*w).chars().all(|c| c.is_ascii_digit()))
        .filter_map(|(w, k)| {
            let global = df_of(an.term(w)).max(k) as f64;
            let weight = (1.0 + n / global).ln() - floor;
            (weight > 0.0).then_some((w, weight))
        })
        .collect()
}

/// Document frequencies of words among `docs`, by term.
fn local_df(an: &Analyser<'_>, docs: &[&Analysed]) -> HashMap<String, u64> {
    let mut df: HashMap<String, u64> = HashMap::new();
    for d in docs {
        for w in &d.words {
            *df.entry(an.term(*w).to_owned()).or_default() += 1;
        }
    }
    df
}

/// The words of `d` that carry weight, sorted.
fn features(d: &Analysed, weights: &HashMap<u32, f64>) -> Vec<u32> {
    d.words
        .iter()
        .copied()
        .filter(|w| weights.contains_key(w))
        .collect()
}

/// Weighted Jaccard similarity of two sorted word sets.
fn similarity(a: &[u32], b: &[u32], idf: &HashMap<u32, f64>) -> f64 {
    let w = |t: &u32| idf.get(t).copied().unwrap_or(0.0);
    let (mut i, mut j) = (0, 0);
    let (mut inter, mut union) = (0.0, 0.0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                inter += w(x);
                union += w(x);
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                union += w(x);
                i += 1;
            }
            (Some(_), Some(y)) => {
                union += w(y);
                j += 1;
            }
            (Some(x), None) => {
                union += w(x);
                i += 1;
            }
            (None, Some(y)) => {
                union += w(y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    if union <= 0.0 { 0.0 } else { inter / union }
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const MINHASHES: usize = 32;
const ROWS: usize = 2;
/// Largest LSH bucket compared pair by pair; a larger one is compared with its first members.
const BUCKET_PAIRS: usize = 64;

/// Pairs of `words` (sorted word sets) at least `threshold` similar, as adjacency lists:
/// every pair below `exact_limit` documents, MinHash-banded candidates above.
fn similar_pairs(
    words: &[&[u32]],
    idf: &HashMap<u32, f64>,
    threshold: f64,
    exact_limit: usize,
) -> Vec<Vec<(usize, f64)>> {
    let n = words.len();
    let mut adjacent: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    let mut check = |adjacent: &mut Vec<Vec<(usize, f64)>>, i: usize, j: usize| {
        let pair = (i.min(j), i.max(j));
        if i == j || (n > exact_limit && !seen.insert(pair)) {
            return;
        }
        let s = similarity(words[i], words[j], idf);
        if s >= threshold {
            adjacent[i].push((j, s));
            adjacent[j].push((i, s));
        }
    };
    if n <= exact_limit {
        for i in 0..n {
            for j in i + 1..n {
                check(&mut adjacent, i, j);
            }
        }
        return adjacent;
    }
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, ws) in words.iter().enumerate() {
        if ws.is_empty() {
            continue;
        }
        let mut sig = [u64::MAX; MINHASHES];
        for w in *ws {
            for (k, s) in sig.iter_mut().enumerate() {
                let h = mix(u64::from(*w) ^ mix(k as u64 + 1));
                *s = (*s).min(h);
            }
        }
        for (band, rows) in sig.chunks(ROWS).enumerate() {
            let key = rows
                .iter()
                .fold(mix(band as u64), |acc, r| mix(acc ^ r.rotate_left(17)));
            buckets.entry(key).or_default().push(i);
        }
    }
    let mut keys: Vec<u64> = buckets.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let Some(members) = buckets.get(&key) else {
            continue;
        };
        if members.len() <= BUCKET_PAIRS {
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    check(&mut adjacent, i, j);
                }
            }
        } else {
            for &i in members {
                for &j in members.iter().take(4) {
                    check(&mut adjacent, i, j);
                }
            }
        }
    }
    adjacent
}

/// Star clustering of `words`: the document with the most similar neighbours (then the
/// largest sum of similarities) leads a cluster of its still unclustered neighbours, and so
/// on — every member is similar to its leader, so clusters do not chain from one problem
/// into the next. Returns `(leader, members)` with the leader first among the members,
/// largest first; every document is in exactly one cluster (singletons included).
fn cluster(
    words: &[&[u32]],
    idf: &HashMap<u32, f64>,
    threshold: f64,
    exact_limit: usize,
) -> Vec<(usize, Vec<usize>)> {
    let adjacent = similar_pairs(words, idf, threshold, exact_limit);
    let strength: Vec<f64> = adjacent
        .iter()
        .map(|a| a.iter().map(|(_, s)| s).sum())
        .collect();
    let mut order: Vec<usize> = (0..words.len()).collect();
    order.sort_by(|&a, &b| {
        adjacent[b]
            .len()
            .cmp(&adjacent[a].len())
            .then_with(|| strength[b].total_cmp(&strength[a]))
            .then_with(|| a.cmp(&b))
    });
    let mut assigned = vec![false; words.len()];
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for leader in order {
        if assigned[leader] {
            continue;
        }
        assigned[leader] = true;
        let mut members = vec![leader];
        let mut neighbours: Vec<usize> = adjacent[leader].iter().map(|(j, _)| *j).collect();
        neighbours.sort_unstable();
        for j in neighbours {
            if !assigned[j] {
                assigned[j] = true;
                members.push(j);
            }
        }
        out.push((leader, members));
    }
    out.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Up to `k` distinct word sets of a cluster, its leader first.
fn probes_of<'w>(members: &[usize], words: &[&'w [u32]], k: usize) -> Vec<&'w [u32]> {
    let mut out: Vec<&'w [u32]> = Vec::with_capacity(k);
    for &i in members {
        if out.len() == k {
            break;
        }
        if !words[i].is_empty() && !out.contains(&words[i]) {
            out.push(words[i]);
        }
    }
    out
}

/// Whether `doc` is similar enough to one of the `probes`.
fn is_like(probes: &[&[u32]], doc: &[u32], idf: &HashMap<u32, f64>, threshold: f64) -> bool {
    probes.iter().any(|p| similarity(p, doc, idf) >= threshold)
}

/// The clusters of near-duplicate `texts` (each a list of indexes into `texts`, largest
/// first; singletons included), analysed with the embedded Russian analyzer; two texts are
/// joined when their IDF-weighted Jaccard similarity over stems is at least `threshold`
/// (0.4 is [`TopicOptions`]'s default).
pub fn cluster_texts(texts: &[&str], threshold: f64) -> Vec<Vec<usize>> {
    let mut an = Analyser::new(otklik_text::Analyzers::embedded());
    let docs: Vec<Analysed> = texts.iter().map(|t| an.analyse(t, 0, false)).collect();
    let refs: Vec<&Analysed> = docs.iter().collect();
    let df = local_df(&an, &refs);
    let df_of = |t: &str| df.get(t).copied().unwrap_or(0);
    let idf = idf_weights(&an, &refs, refs.len() as u64, &df_of);
    let feats: Vec<Vec<u32>> = docs.iter().map(|d| features(d, &idf)).collect();
    let words: Vec<&[u32]> = feats.iter().map(Vec::as_slice).collect();
    cluster(&words, &idf, threshold, usize::MAX)
        .into_iter()
        .map(|(_, members)| members)
        .collect()
}

/// The sentences of `text`: split after `.`, `!`, `?`, `…` or a line break followed by a space,
/// a fragment under 20 characters («ул.», «д. 5.») joined to the next.
fn sentences(text: &str) -> Vec<&str> {
    let text = text.trim();
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '.' | '!' | '?' | '\n' | '…') {
            let next_is_break = chars.peek().is_none_or(|(_, n)| n.is_whitespace());
            let end = i + c.len_utf8();
            // «ул.», «д.», «г.»: a short lowercase word before a full stop is an abbreviation;
            // and a sentence does not start with a digit or a lowercase letter.
            let last_word = text[start..i]
                .rsplit(|ch: char| !ch.is_alphabetic())
                .next()
                .unwrap_or("");
            let abbreviation = c == '.'
                && !last_word.is_empty()
                && last_word.chars().count() <= 3
                && last_word.chars().all(char::is_lowercase);
            let next_starts_sentence = text[end..]
                .trim_start()
                .chars()
                .next()
                .is_none_or(|n| !n.is_ascii_digit() && !n.is_lowercase());
            if next_is_break
                && !abbreviation
                && next_starts_sentence
                && text[start..end].trim().chars().count() >= 20
            {
                out.push(text[start..end].trim());
                start = end;
            }
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// `sentence` trimmed to about 120 characters at a word boundary.
fn trim_title(sentence: &str) -> String {
    const MAX: usize = 120;
    if sentence.chars().count() <= MAX {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(MAX).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(at) if at > 40 => &cut[..at],
        _ => cut.as_str(),
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_whitespace() || c == ',')
    )
}

/// The first sentence of `text` (at least 20 characters when there are more), trimmed to
/// about 120 characters at a word boundary.
pub fn first_sentence(text: &str) -> String {
    sentences(text)
        .first()
        .map_or_else(String::new, |s| trim_title(s))
}

/// The title of a topic from its central document: the first of its sentences with the most
/// of the topic's words (`stems`), trimmed — the problem rather than a greeting or an address.
fn topic_title(text: &str, stems: &HashSet<&str>, analyzers: &otklik_text::Analyzers) -> String {
    let mut best: Option<(usize, &str)> = None;
    for sentence in sentences(text) {
        let found: HashSet<String> = analyzers
            .analyze(sentence)
            .into_iter()
            .filter(|t| stems.contains(t.as_str()))
            .collect();
        if best.is_none_or(|(n, _)| found.len() > n) {
            best = Some((found.len(), sentence));
        }
    }
    best.map_or_else(String::new, |(_, s)| trim_title(s))
}

// ---------------------------------------------------------------------------------------
// The index

/// Documents of one set: the analysed texts and their stored form.
struct Set {
    total: u64,
    docs: Vec<SearchDoc>,
    addresses: HashSet<DocAddress>,
}

fn most_common<'a>(values: impl Iterator<Item = Option<&'a str>>) -> (Option<String>, u64) {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for v in values.flatten() {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map_or((None, 0), |(v, n)| (Some(v.to_owned()), n))
}

impl SearchIndex {
    /// The query of documents published in `[since, until)` with `filters`.
    fn window_query(
        &self,
        since: i64,
        until: i64,
        filters: &BTreeMap<Facet, Vec<String>>,
    ) -> Box<dyn Query> {
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (facet, values) in filters {
            let field = self.fields.facet(*facet);
            let alternatives: Vec<(Occur, Box<dyn Query>)> = values
                .iter()
                .map(|v| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(field, v),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            if !alternatives.is_empty() {
                must.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
            }
        }
        let field = self.fields.published_at;
        let range: Box<dyn Query> = Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_i64(field, since)),
            Bound::Excluded(Term::from_field_i64(field, until)),
        ));
        must.push((Occur::Must, range));
        Box::new(ConstScoreQuery::new(Box::new(BooleanQuery::new(must)), 0.0))
    }

    /// The stored documents matching, a seeded uniform sample of at most `limit`, without
    /// those in `exclude`.
    fn collect_set(
        &self,
        query: &dyn Query,
        limit: usize,
        seed: u64,
        exclude: Option<&HashSet<DocAddress>>,
    ) -> Result<Set> {
        let searcher = self.reader.searcher();
        let found = searcher.search(query, &DocSetCollector)?;
        let mut addresses: Vec<DocAddress> = found
            .into_iter()
            .filter(|a| exclude.is_none_or(|e| !e.contains(a)))
            .collect();
        let total = addresses.len() as u64;
        addresses.sort_unstable();
        if addresses.len() > limit {
            fastrand::Rng::with_seed(seed).shuffle(&mut addresses);
            addresses.truncate(limit);
            addresses.sort_unstable();
        }
        let mut docs = Vec::with_capacity(addresses.len());
        for a in &addresses {
            let stored: TantivyDocument = searcher.doc(*a)?;
            docs.push(self.fields.to_search_doc(&stored));
        }
        Ok(Set {
            total,
            docs,
            addresses: addresses.into_iter().collect(),
        })
    }

    /// Weights of the words of `docs` for clustering, with document frequencies over the
    /// whole index. Words far more frequent in the `baseline` than in the whole index
    /// (≥ 5 times, in ≥ 2 baseline documents) are left out: with a territory's own history as
    /// the baseline these are its streets and villages, which say where, not what.
    fn weights(
        &self,
        an: &Analyser<'_>,
        docs: &[Analysed],
        baseline: &[Analysed],
    ) -> HashMap<u32, f64> {
        let searcher = self.reader.searcher();
        let body = self.fields.body;
        let df_of = |t: &str| {
            searcher
                .doc_freq(&Term::from_field_text(body, t))
                .unwrap_or(0)
        };
        let local: Vec<&Analysed> = docs.iter().collect();
        let n = searcher.num_docs();
        let mut weights = idf_weights(an, &local, n, &df_of);
        if !baseline.is_empty() && n > 0 {
            let bg_df = doc_freqs(baseline);
            let bg_n = baseline.len() as f64;
            weights.retain(|w, _| {
                let in_bg = bg_df.get(w).copied().unwrap_or(0);
                let global = df_of(an.term(*w)).max(1) as f64 / n as f64;
                in_bg < 2 || (in_bg as f64 / bg_n) < 5.0 * global
            });
        }
        weights
    }

    /// Top problems of a period and territory: significant terms against the baseline and
    /// topics of near-duplicates, largest first.
    #[tracing::instrument(skip(self))]
    pub fn topics(&self, q: &TopicsQuery) -> Result<TopicsReport> {
        let started = Instant::now();
        if q.until <= q.since {
            return Err(SearchError::Invalid("empty period".into()));
        }
        let o = &q.options;
        let fg = self.collect_set(
            &*self.window_query(q.since, q.until, &q.filters),
            o.foreground_limit,
            o.seed,
            None,
        )?;
        let b_since = q.baseline_since.unwrap_or(q.since - 90 * DAY_MS);
        let b_until = q.baseline_until.unwrap_or(q.since);
        let no_filters = BTreeMap::new();
        let b_filters = match q.baseline_scope {
            BaselineScope::Same => &q.filters,
            BaselineScope::Region => &no_filters,
        };
        let bg = if b_until > b_since {
            self.collect_set(
                &*self.window_query(b_since, b_until, b_filters),
                o.background_sample,
                o.seed.wrapping_add(1),
                Some(&fg.addresses),
            )?
        } else {
            Set {
                total: 0,
                docs: Vec::new(),
                addresses: HashSet::new(),
            }
        };
        let mut an = Analyser::new(&self.analyzers);
        let fg_an: Vec<Analysed> = fg
            .docs
            .iter()
            .map(|d| an.analyse(&doc_text(d), d.published_at, true))
            .collect();
        let bg_an: Vec<Analysed> = bg
            .docs
            .iter()
            .map(|d| an.analyse(&doc_text(d), d.published_at, false))
            .collect();
        let terms = significant(&an, &fg_an, &bg_an, o.min_docs);
        let idf = self.weights(&an, &fg_an, &bg_an);
        let feats: Vec<Vec<u32>> = fg_an.iter().map(|d| features(d, &idf)).collect();
        let words: Vec<&[u32]> = feats.iter().map(Vec::as_slice).collect();
        let bg_feats: Vec<Vec<u32>> = bg_an.iter().map(|d| features(d, &idf)).collect();
        let clusters = cluster(&words, &idf, o.similarity, o.exact_pairs_limit);
        let candidates = match o.order {
            TopicOrder::Size => o.max_topics,
            TopicOrder::Significance => o.max_topics.saturating_mul(3),
        };
        let (n1, n2) = (fg_an.len() as u64, bg_an.len() as u64);
        let mut topics: Vec<Topic> = clusters
            .iter()
            .filter(|(_, c)| c.len() as u64 >= o.min_docs.max(2))
            .take(candidates)
            .map(|(leader, c)| {
                let mut topic = make_topic((*leader, c), &fg.docs, &fg_an, &words, &an, &terms);
                // Foreground and background measured alike: documents like its central ones.
                let probes = probes_of(c, &words, 5);
                let like = |d: &[u32]| is_like(&probes, d, &idf, o.similarity);
                let a = words.iter().filter(|d| like(d)).count() as u64;
                let similar = bg_feats
                    .iter()
                    .map(Vec::as_slice)
                    .filter(|d| like(d))
                    .count() as u64;
                topic.background_rate = similar as f64 / n2.max(1) as f64;
                let smoothed = (similar as f64 + 0.5) / (n2 as f64 + 1.0);
                if a as f64 / n1.max(1) as f64 > smoothed {
                    topic.score = log_likelihood(a, n1, similar, n2);
                }
                topic
            })
            .collect();
        if o.order == TopicOrder::Significance {
            topics.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then_with(|| b.size.cmp(&a.size))
            });
        }
        topics.truncate(o.max_topics);
        let terms = terms
            .into_iter()
            .take(o.max_terms)
            .map(|(_, t)| t)
            .collect();
        Ok(TopicsReport {
            foreground_total: fg.total,
            foreground_docs: fg.docs.len() as u64,
            background_total: bg.total,
            background_docs: bg.docs.len() as u64,
            terms,
            topics,
            took_us: elapsed_us(started),
        })
    }

    /// Emerging problems: the topics and terms of today whose count is far above their
    /// daily counts over the trailing days.
    #[tracing::instrument(skip(self))]
    pub fn spikes(&self, q: &SpikeQuery) -> Result<SpikeReport> {
        let started = Instant::now();
        let o = &q.options;
        let day = q.day_start.div_euclid(DAY_MS) * DAY_MS;
        let days = i64::from(q.trailing_days.max(1));
        let fg = self.collect_set(
            &*self.window_query(day, day + DAY_MS, &q.filters),
            o.foreground_limit,
            o.seed,
            None,
        )?;
        let bg = self.collect_set(
            &*self.window_query(day - days * DAY_MS, day, &q.filters),
            o.background_sample,
            o.seed.wrapping_add(1),
            None,
        )?;
        // Sampled counts are scaled back to the whole trailing period.
        let scale = if bg.docs.is_empty() {
            1.0
        } else {
            bg.total as f64 / bg.docs.len() as f64
        };
        let fg_scale = if fg.docs.is_empty() {
            1.0
        } else {
            fg.total as f64 / fg.docs.len() as f64
        };
        let mut an = Analyser::new(&self.analyzers);
        let fg_an: Vec<Analysed> = fg
            .docs
            .iter()
            .map(|d| an.analyse(&doc_text(d), d.published_at, true))
            .collect();
        let bg_an: Vec<Analysed> = bg
            .docs
            .iter()
            .map(|d| an.analyse(&doc_text(d), d.published_at, false))
            .collect();
        let day_of = |t: i64| -> Option<usize> {
            let k = (t - (day - days * DAY_MS)).div_euclid(DAY_MS);
            usize::try_from(k).ok().filter(|k| (*k as i64) < days)
        };
        let stats = |daily: &[f64], today: f64| -> (f64, f64, f64, f64) {
            let n = daily.len().max(1) as f64;
            let mean = daily.iter().sum::<f64>() / n;
            let var = daily.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n;
            let ratio = (today + 1.0) / (mean + 1.0);
            let z = (today - mean) / (var.max(mean) + 1.0).sqrt();
            (mean, var.sqrt(), ratio, z)
        };
        let spiking = |today: f64, ratio: f64, z: f64| {
            today >= q.min_count as f64 && ratio >= q.min_ratio && z >= q.min_z
        };
        let mut spikes = Vec::new();

        // Topics of today.
        let terms = significant(&an, &fg_an, &bg_an, q.min_count.max(2));
        let idf = self.weights(&an, &fg_an, &bg_an);
        let feats: Vec<Vec<u32>> = fg_an.iter().map(|d| features(d, &idf)).collect();
        let words: Vec<&[u32]> = feats.iter().map(Vec::as_slice).collect();
        let bg_feats: Vec<Vec<u32>> = bg_an.iter().map(|d| features(d, &idf)).collect();
        let clusters = cluster(&words, &idf, o.similarity, o.exact_pairs_limit);
        // The 50 largest clusters; today and the trailing days measured alike: documents
        // like the cluster's central ones.
        for (leader, c) in clusters.iter().take_while(|(_, c)| c.len() >= 2).take(50) {
            let probes = probes_of(c, &words, 10);
            let like = |d: &[u32]| is_like(&probes, d, &idf, o.similarity);
            let today = words.iter().filter(|d| like(d)).count() as f64 * fg_scale;
            if today < q.min_count as f64 {
                continue;
            }
            let mut daily = vec![0.0; days as usize];
            for (d, f) in bg_an.iter().zip(&bg_feats) {
                if like(f)
                    && let Some(k) = day_of(d.published_at)
                {
                    daily[k] += scale;
                }
            }
            let (mean, sd, ratio, z) = stats(&daily, today);
            if spiking(today, ratio, z) {
                let topic = make_topic((*leader, c), &fg.docs, &fg_an, &words, &an, &terms);
                spikes.push(Spike {
                    kind: SpikeKind::Topic,
                    label: topic.title.clone(),
                    today: today.round() as u64,
                    mean,
                    sd,
                    ratio,
                    z,
                    topic: Some(topic),
                    term: None,
                });
            }
        }
        // Terms of today.
        let candidates: Vec<&(u32, SignificantTerm)> = terms.iter().take(100).collect();
        let wanted: HashMap<u32, usize> = candidates
            .iter()
            .enumerate()
            .map(|(k, (id, _))| (*id, k))
            .collect();
        let mut daily = vec![vec![0.0; days as usize]; candidates.len()];
        for d in &bg_an {
            let Some(k) = day_of(d.published_at) else {
                continue;
            };
            for t in d.words.iter().chain(&d.phrases) {
                if let Some(&c) = wanted.get(t) {
                    daily[c][k] += scale;
                }
            }
        }
        let mut term_spikes = Vec::new();
        for ((_, term), daily) in candidates.iter().zip(&daily) {
            let today = term.foreground_docs as f64 * fg_scale;
            let (mean, sd, ratio, z) = stats(daily, today);
            if spiking(today, ratio, z) {
                term_spikes.push(Spike {
                    kind: SpikeKind::Term,
                    label: term.display.clone(),
                    today: today.round() as u64,
                    mean,
                    sd,
                    ratio,
                    z,
                    topic: None,
                    term: Some(term.clone()),
                });
            }
        }
        let by_z = |a: &Spike, b: &Spike| b.z.total_cmp(&a.z).then_with(|| a.label.cmp(&b.label));
        spikes.sort_by(by_z);
        term_spikes.sort_by(by_z);
        term_spikes.truncate(o.max_terms);
        spikes.truncate(o.max_topics);
        spikes.extend(term_spikes);
        let (y, m, d) = civil_from_days(day.div_euclid(DAY_MS));
        Ok(SpikeReport {
            day: format!("{y:04}-{m:02}-{d:02}"),
            today_docs: fg.total,
            trailing_docs: bg.total,
            spikes,
            took_us: elapsed_us(started),
        })
    }
}

fn elapsed_us(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Title and text, as indexed.
fn doc_text(d: &SearchDoc) -> String {
    match d.title.as_deref().filter(|t| !t.is_empty()) {
        Some(title) => format!("{title}\n{}", d.text),
        None => d.text.clone(),
    }
}

fn make_topic(
    (leader, members): (usize, &[usize]),
    docs: &[SearchDoc],
    analysed: &[Analysed],
    words: &[&[u32]],
    an: &Analyser<'_>,
    significant: &[(u32, SignificantTerm)],
) -> Topic {
    let rep = &docs[leader];
    let n = members.len() as f64;
    let (territory, in_territory) =
        most_common(members.iter().map(|&i| docs[i].territory.as_deref()));
    let (category, _) = most_common(members.iter().map(|&i| docs[i].category.as_deref()));
    let (subcategory, _) = most_common(members.iter().map(|&i| docs[i].subcategory.as_deref()));
    let shared_by_half = |id: &u32, phrases: bool| {
        let with = members
            .iter()
            .filter(|&&i| {
                let a = &analysed[i];
                a.words.binary_search(id).is_ok()
                    || (phrases && a.phrases.binary_search(id).is_ok())
            })
            .count();
        with as f64 >= n / 2.0
    };
    let terms: Vec<String> = significant
        .iter()
        .filter(|(id, _)| shared_by_half(id, true))
        .take(5)
        .map(|(_, t)| t.display.clone())
        .collect();
    // The leader's weighty words that at least half of the members share.
    let stems: HashSet<&str> = words[leader]
        .iter()
        .filter(|w| shared_by_half(w, false))
        .map(|w| an.term(*w))
        .collect();
    let mut sorted: Vec<usize> = members.to_vec();
    sorted.sort_by_key(|&i| (docs[i].published_at, docs[i].key()));
    Topic {
        title: topic_title(&rep.text, &stems, an.analyzers),
        representative: rep.key(),
        size: members.len() as u64,
        terms,
        territory,
        territory_share: in_territory as f64 / n.max(1.0),
        background_rate: 0.0,
        score: 0.0,
        category,
        subcategory,
        first_seen: sorted.first().map_or(0, |&i| docs[i].published_at),
        last_seen: sorted.last().map_or(0, |&i| docs[i].published_at),
        members: sorted.iter().take(100).map(|&i| docs[i].key()).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn log_likelihood_is_zero_for_equal_rates_and_grows_with_the_difference() {
        assert!(log_likelihood(10, 100, 100, 1000) < 1e-9);
        let small = log_likelihood(20, 100, 100, 1000);
        let large = log_likelihood(50, 100, 100, 1000);
        assert!(small > 3.84, "{small}");
        assert!(large > small);
        assert_eq!(log_likelihood(0, 0, 0, 0), 0.0);
    }

    #[test]
    fn first_sentences_are_trimmed() {
        assert_eq!(
            first_sentence("Прорыв трубы на Садовой. Вода везде!"),
            "Прорыв трубы на Садовой."
        );
        assert_eq!(
            first_sentence("Ул. Ленина, д. 5. Яма на дороге уже месяц. Примите меры."),
            "Ул. Ленина, д. 5. Яма на дороге уже месяц."
        );
        assert_eq!(
            first_sentence("В Северске, ул. Кедровая, д. 28. Снег сгребли на тротуар."),
            "В Северске, ул. Кедровая, д. 28."
        );
        assert_eq!(
            sentences("Привет. Нет горячей воды уже две недели! Когда дадут?"),
            vec!["Привет. Нет горячей воды уже две недели!", "Когда дадут?"]
        );
        let long = "слово ".repeat(60);
        let t = first_sentence(&long);
        assert!(t.ends_with('…') && t.chars().count() <= 121, "{t}");
    }

    #[test]
    fn months_have_utc_bounds() {
        let (a, b) = month_range("2026-12").unwrap();
        assert_eq!(crate::month_of(a), "2026-12");
        assert_eq!(crate::month_of(b), "2027-01");
        assert_eq!(crate::month_of(b - 1), "2026-12");
        assert!(month_range("2026-13").is_err());
        assert!(month_range("октябрь").is_err());
    }

    #[test]
    fn minhash_banding_finds_what_all_pairs_find() {
        let docs: Vec<crate::SearchDoc> = crate::generate::Generator::new(5).take(400).collect();
        let mut an = Analyser::new(otklik_text::Analyzers::embedded());
        let analysed: Vec<Analysed> = docs.iter().map(|d| an.analyse(&d.text, 0, false)).collect();
        let refs: Vec<&Analysed> = analysed.iter().collect();
        let df = local_df(&an, &refs);
        let df_of = |t: &str| df.get(t).copied().unwrap_or(0);
        let idf = idf_weights(&an, &refs, refs.len() as u64, &df_of);
        let feats: Vec<Vec<u32>> = analysed.iter().map(|d| features(d, &idf)).collect();
        let words: Vec<&[u32]> = feats.iter().map(Vec::as_slice).collect();
        let edges =
            |a: &[Vec<(usize, f64)>]| -> usize { a.iter().map(Vec::len).sum::<usize>() / 2 };
        let pe = edges(&similar_pairs(&words, &idf, 0.4, usize::MAX));
        let pb = edges(&similar_pairs(&words, &idf, 0.4, 0));
        assert!(pe > 100, "{pe} similar pairs");
        assert!(pb <= pe);
        assert!(pb as f64 >= 0.8 * pe as f64, "banding found {pb} of {pe}");
    }
}
