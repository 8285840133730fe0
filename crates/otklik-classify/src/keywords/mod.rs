//! The keyword rules of `rules/keywords/` compiled for classification and archive search.
//!
//! [`KeywordMatcher::compile`] takes the validated [`KeywordRules`] (see
//! `rules/keywords/README.md`) and the [`Analyzers`] that analyse the texts, and produces two
//! views of the same rules that agree on every text:
//!
//! - **a fast in-memory evaluator**: [`KeywordMatcher::matches`] analyses one text and returns
//!   the subcategories whose rules fire, scored and explained ([`RuleHit`]), best first;
//!   [`KeywordMatcher::matches_tokens`] does the same for a text already analysed with
//!   [`Analyzers::analyze_tokens`];
//! - **tantivy queries**: [`KeywordMatcher::to_tantivy_query`] gives one query per subcategory
//!   for a text field indexed with [`RU_ANALYZER`](otklik_text::RU_ANALYZER) *with positions*,
//!   so the archive search finds the posts the classifier would put there. The query's score
//!   equals [`RuleHit::score`] (every rule item is a constant-score clause), so `min_score` can
//!   be applied to search results too ([`KeywordMatcher::min_score`]).
//!
//! ```
//! use otklik_classify::keywords::KeywordMatcher;
//! use otklik_text::Analyzers;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tree = otklik_rules::parse_category_tree(
//!     r#"
//! [[category]]
//! id = "roads"
//! name = "Автомобильные дороги"
//!
//! [[subcategory]]
//! id = "roads.potholes"
//! category = "roads"
//! name = "Ямы, выбоины"
//! "#,
//!     "categories.toml",
//! )?;
//! let file = r#"
//! [category]
//! id = "roads"
//! terms = ["дорога", "асфальт"]
//!
//! [[subcategory]]
//! id = "roads.potholes"
//! terms = ["яма", "выбоина"]
//! phrases = ["яма на дороге", "разбитая дорога~2"]
//! negative = ["оркестровая яма"]
//! boost = 1.5
//! "#;
//! let roads = otklik_rules::parse_keyword_file(file, "roads.toml", &tree)?;
//! let rules = otklik_rules::KeywordRules::from_categories(vec![roads])?;
//! let matcher = KeywordMatcher::compile(&rules, Analyzers::embedded())?;
//!
//! let hits = matcher.matches("Огромные ямы на дороге по улице Ленина");
//! assert_eq!(hits[0].subcategory, "roads.potholes");
//! // term «яма» (1) + phrase «яма на дороге» (2), times boost 1.5, plus weak category evidence
//! // «дорога» (0.25).
//! assert_eq!(hits[0].score, 4.75);
//! assert_eq!(
//!     hits[0].matched,
//!     ["слово «яма»", "фраза «яма на дороге»", "категория: слово «дорога»"]
//! );
//! assert!(matcher.matches("Оркестровая яма в театре").is_empty());
//!
//! // The same rules as a tantivy query, for a field indexed with RU_ANALYZER and positions:
//! use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
//! let mut schema = Schema::builder();
//! let text = schema.add_text_field(
//!     "text",
//!     TextOptions::default().set_indexing_options(
//!         TextFieldIndexing::default()
//!             .set_tokenizer(otklik_text::RU_ANALYZER)
//!             .set_index_option(IndexRecordOption::WithFreqsAndPositions),
//!     ),
//! );
//! let query = matcher.to_tantivy_query("roads.potholes", text)?;
//! # let _ = query;
//! # Ok(())
//! # }
//! ```
//!
//! # How rule items are analysed
//!
//! Every term, phrase and negative goes through the analyzer pipeline of the texts — tokenize
//! (hyphenated words split), lowercase, ё→е, stop words dropped, Snowball stemming — in its
//! *query* form ([`Analyzers::query_analyzer`]): an abbreviation is canonicalized («УКи» →
//! `ук`) but not expanded, because the texts are indexed with the expansions at the
//! abbreviation's position. So the rule «ЖКХ» finds «ЖКХ», «жкх»; the rule «УК» finds «УКи»;
//! and a rule word that is part of an expansion («мусор») also finds the abbreviation («ТКО»).
//! The spelled-out form does not find the abbreviation as a phrase («жилищно-коммунальное
//! хозяйство» does not match «ЖКХ»: the expansion words share one position), in both paths.
//!
//! - Inflected variants that analyse the same («разметка», «разметку», «разметки») collapse
//!   into one item of their entry: it counts once and is explained by its first spelling.
//! - A stop word inside a phrase is a position gap: «яма на дороге» finds «ямы на дороге» and
//!   «яма в дороге», not «яма дороге». Stop words at the ends of a phrase are dropped, and a
//!   phrase or a hyphenated term left with one word is a term.
//! - An item with no word left after analysis (only stop words) is skipped and reported by
//!   [`KeywordMatcher::warnings`]; so is a negative that analyses like a positive of its entry
//!   (it would veto the entry whenever that item fires).
//!
//! # Wildcards
//!
//! `X*` matches every *stemmed* token that begins with `X` lowercased and ё-folded but not
//! stemmed (`дорож*` → `дорожн`, `дорожк`), and also whatever the plain word `X` matches
//! (its stem). The second part matters when stemming eats into the prefix: «музей» is stemmed
//! to `муз` and «санаторий» to `санатор`, so `музе*` and `санатори*` still find them. In a
//! phrase only the last word may be a wildcard. In tantivy a wildcard is a [`RegexQuery`]
//! (`дорож.*`, or `(музе.*|муз)`), inside a phrase a [`RegexPhraseQuery`].
//!
//! [`RegexQuery`]: tantivy::query::RegexQuery
//! [`RegexPhraseQuery`]: tantivy::query::RegexPhraseQuery
//!
//! # Phrases and slop
//!
//! A phrase with slop 0 needs its words at exactly their relative positions (stop-word gaps
//! included). With slop `N` tantivy's rule applies: the two words' distance may differ from the
//! written one by at most `N` positions, in either direction — so with `~2` or more the
//! reversed order also matches («разбитая дорога~2» finds «дорога разбитая»). A phrase of three
//! or more words with a slop is checked *pair by pair*: every two neighbouring words must be
//! within the slop of each other (not necessarily around the same occurrences). tantivy's own
//! multi-word sloppy phrase depends on the index's term statistics, so it is not used; the
//! tantivy query is the conjunction of the pairs' two-word phrase queries, the same check.
//!
//! # Scoring
//!
//! - A fired term is worth [`TERM_WEIGHT`], a fired phrase [`PHRASE_WEIGHT`], times the entry's
//!   `boost`; every item counts once, however often it occurs.
//! - A subcategory is hit when one of its own items fires and none of its negatives does. The
//!   category's items (`[category]`, times the category's boost and [`CATEGORY_WEIGHT`]) are
//!   then added as weak evidence, unless a category negative fired.
//! - When only category items fire (and no category negative), the result is one
//!   [`HitLevel::Category`] hit for the category (with an empty `subcategory`) — also when the
//!   category's subcategory hits all fell below their `min_score`.
//! - `min_score` is compared with the total score (including the category evidence).

mod eval;
mod query;

use std::collections::hash_map::Entry as Slot;
use std::collections::{HashMap, HashSet};

use otklik_rules::{KeywordRules, KeywordSet, Phrase};
use otklik_text::Analyzers;
use tantivy::tokenizer::TokenStream;

use crate::error::Result;

use crate::hash::FastMap;

/// Score of a fired term (before the entry's boost).
pub const TERM_WEIGHT: f32 = 1.0;
/// Score of a fired phrase (before the entry's boost): a phrase is stronger evidence than a
/// single word.
pub const PHRASE_WEIGHT: f32 = 2.0;
/// Factor of the category-wide items (`[category]`): weak evidence for its subcategories.
pub const CATEGORY_WEIGHT: f32 = 0.25;
/// Tolerance of the `min_score` comparison, so that sums computed in another order (tantivy)
/// land on the same side of the threshold.
pub const MIN_SCORE_TOLERANCE: f32 = 1e-4;

/// Whether a [`RuleHit`] is a subcategory or only its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HitLevel {
    /// A subcategory's own items fired.
    Subcategory,
    /// Only the category-wide items fired; [`RuleHit::subcategory`] is empty.
    Category,
}

/// A subcategory (or a category) whose keyword rules fire on a text.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    /// The subcategory id (`roads.potholes`); empty for a [`HitLevel::Category`] hit.
    pub subcategory: String,
    /// The category id (`roads`).
    pub category: String,
    /// Subcategory or category-only hit.
    pub level: HitLevel,
    /// Sum of the fired items' weights; see the [module docs](self#scoring).
    pub score: f32,
    /// The rule items that fired, in rule order, for explanations: `слово «яма»`,
    /// `фраза «яма на дороге»`, `категория: слово «дорога»`.
    pub matched: Vec<String>,
}

/// The keyword rules compiled for matching texts and for tantivy; see the
/// [module docs](self).
///
/// Cheap to share between threads (`&self` everywhere); matching keeps its scratch buffers per
/// thread.
#[derive(Debug, Clone)]
pub struct KeywordMatcher {
    analyzers: Analyzers,
    /// Exact stemmed token → token id (`0..vocab.len()`).
    vocab: TokenIds,
    /// For every exact token id, the wildcard ids it also matches.
    token_wildcards: Lists<u32>,
    /// Wildcards; wildcard `i` has the token id `vocab.len() + i`.
    wildcards: Vec<Wildcard>,
    /// Wildcards by the first character of their prefix, for tokens outside `vocab`.
    wildcards_by_first: FastMap<char, Vec<u32>>,
    /// Number of token ids: exact tokens, then wildcards.
    n_ids: usize,
    /// For every token id, the patterns anchored on it, in pattern order, each with the
    /// range of its uses, so a single word fires without reading the pattern.
    triggers: Lists<Trigger>,
    /// For every pattern, its words as `(offset, token id)` in offset order.
    pattern_words: Lists<(u32, u32)>,
    /// For every pattern, its slop.
    pattern_slop: Vec<u32>,
    /// For every pattern, the entries using it.
    pattern_uses: Lists<Use>,
    /// The analysed items, for the tantivy queries.
    patterns: Vec<PatternKey>,
    entries: Vec<Entry>,
    /// What matching reads of every entry, packed: the entries' strings and item lists stay
    /// out of the cache until hits are built.
    entry_info: Vec<EntryInfo>,
    /// The entries' ids and categories, one after another (see [`EntryInfo`]).
    names: String,
    by_id: HashMap<String, u32>,
    warnings: Vec<String>,
}

/// Lists in one allocation: list `i` is `items[start[i]..start[i + 1]]`.
#[derive(Debug, Clone)]
struct Lists<T> {
    start: Vec<u32>,
    items: Vec<T>,
}

impl<T> Lists<T> {
    fn from_lists(lists: impl IntoIterator<Item = Vec<T>>) -> Self {
        let mut start = vec![0];
        let mut items = Vec::new();
        for list in lists {
            items.extend(list);
            start.push(u32::try_from(items.len()).unwrap_or(u32::MAX));
        }
        Self { start, items }
    }

    /// The bounds of list `i` in `items`.
    fn range(&self, i: u32) -> (u32, u32) {
        let i = i as usize;
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => (a, b),
            _ => (0, 0),
        }
    }

    /// `items[range.0..range.1]`.
    #[inline]
    fn slice(&self, range: (u32, u32)) -> &[T] {
        self.items
            .get(range.0 as usize..range.1 as usize)
            .unwrap_or(&[])
    }

    #[inline]
    fn get(&self, i: u32) -> &[T] {
        let i = i as usize;
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// The rules' exact tokens and their ids, looked up for every token of every text: an
/// open-addressing table (linear probing, load at most 1/2) of 8-byte slots — 32 bits of the
/// token's hash and its id + 1 (0 marks an empty slot) — over the tokens' bytes kept in one
/// string. A token's bytes are compared only when its 32-bit fingerprint matches, so a word
/// no rule mentions (most words) costs one probe of a compact table.
#[derive(Debug, Clone, Default)]
struct TokenIds {
    slots: Vec<u64>,
    /// Token `i` is `text[bounds[i]..bounds[i + 1]]`.
    text: String,
    bounds: Vec<u32>,
}

impl TokenIds {
    /// The table of `ids` (token → id, ids `0..ids.len()`).
    fn new(ids: &FastMap<Box<str>, u32>) -> Self {
        let mut by_id: Vec<(u32, &str)> = ids.iter().map(|(t, &id)| (id, &**t)).collect();
        by_id.sort_unstable();
        let mut text = String::new();
        let mut bounds = vec![0u32];
        for (_, t) in &by_id {
            text.push_str(t);
            bounds.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        let size = (by_id.len() * 2).max(8).next_power_of_two();
        let mut slots = vec![0u64; size];
        let mask = size - 1;
        for (id, t) in by_id {
            let h = Self::hash(t);
            let mut i = h as usize & mask;
            while let Some(slot) = slots.get_mut(i) {
                if *slot == 0 {
                    *slot = (h & !0xFFFF_FFFF) | (u64::from(id) + 1);
                    break;
                }
                i = (i + 1) & mask;
            }
        }
        Self {
            slots,
            text,
            bounds,
        }
    }

    #[inline]
    fn hash(token: &str) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::default().hash_one(token)
    }

    /// Number of tokens.
    fn len(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// Token `id`.
    fn token(&self, id: u32) -> &str {
        let i = id as usize;
        match (self.bounds.get(i), self.bounds.get(i + 1)) {
            (Some(&a), Some(&b)) => self.text.get(a as usize..b as usize).unwrap_or(""),
            _ => "",
        }
    }

    /// The id of `token`, if a rule uses it.
    #[inline]
    fn get(&self, token: &str) -> Option<u32> {
        let h = Self::hash(token);
        let fingerprint = h >> 32;
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = h as usize & mask;
        loop {
            let slot = *self.slots.get(i)?;
            if slot == 0 {
                return None;
            }
            if slot >> 32 == fingerprint {
                let id = (slot as u32).wrapping_sub(1);
                if self.token(id) == token {
                    return Some(id);
                }
            }
            i = (i + 1) & mask;
        }
    }
}

/// A pattern anchored on a token id (see [`KeywordMatcher::triggers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Trigger {
    pattern: u32,
    /// Another word of a phrase, checked before the phrase is read; [`Trigger::SINGLE`] for a
    /// single-word pattern, which fires whenever its token is present.
    second: u32,
    /// The pattern's uses: `pattern_uses.items[uses.0..uses.1]`.
    uses: (u32, u32),
}

impl Trigger {
    const SINGLE: u32 = u32::MAX;
}

/// A wildcard word after analysis.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Wildcard {
    /// The prefix, lowercased and ё-folded, not stemmed.
    prefix: String,
    /// The analysed form of the prefix as a plain word, when it differs from `prefix`.
    stem: Option<String>,
}

impl Wildcard {
    /// Whether a stemmed token matches.
    fn matches(&self, token: &str) -> bool {
        token.starts_with(&self.prefix) || self.stem.as_deref() == Some(token)
    }
}

/// One word of an analysed item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Word {
    /// A stemmed token.
    Exact(String),
    /// A prefix wildcard.
    Wildcard(Wildcard),
}

/// An analysed item: words at relative positions, and the slop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PatternKey {
    /// `(offset, word)`, offsets increasing from 0.
    words: Vec<(u32, Word)>,
    /// 0 for single words.
    slop: u32,
}

/// One entry's use of a pattern.
#[derive(Debug, Clone, Copy)]
struct Use {
    entry: u32,
    /// Weight of a positive item (boost included); unused for negatives.
    weight: f32,
    /// Index of the item's label in the entry.
    label: u32,
    negative: bool,
}

/// A category or subcategory with its compiled items.
#[derive(Debug, Clone)]
struct Entry {
    /// Subcategory id, or the category id for a category entry.
    id: String,
    category: String,
    level: HitLevel,
    /// The entry of the category (itself for a category entry).
    category_entry: u32,
    min_score: Option<f32>,
    /// Positive items: `(pattern, weight)`, label `i` is `labels[i]`.
    positives: Vec<(u32, f32)>,
    negatives: Vec<u32>,
    /// Explanations of the positives, as shown in [`RuleHit::matched`].
    labels: Vec<String>,
    /// The same prefixed as category evidence (category entries only).
    evidence_labels: Vec<String>,
}

/// The fields of an [`Entry`] read while ranking a text's hits.
#[derive(Debug, Clone, Copy)]
struct EntryInfo {
    level: HitLevel,
    category_entry: u32,
    min_score: Option<f32>,
    /// `names[id.0..id.1]` is the entry's id, `names[category.0..category.1]` its category.
    id: (u32, u32),
    category: (u32, u32),
}

/// An item before deduplication.
struct RawItem<'a> {
    phrase: Phrase,
    label: String,
    origin: &'a otklik_rules::Origin,
    negative: bool,
    weight: f32,
}

impl KeywordMatcher {
    /// Compiles `rules`, analysing every item with `analyzers` (which must be the analyzers of
    /// the texts and of the index). Items that cannot match anything are skipped and listed in
    /// [`warnings`](Self::warnings).
    pub fn compile(rules: &KeywordRules, analyzers: &Analyzers) -> Result<Self> {
        let mut compiler = Compiler::new(analyzers);
        for category in rules.categories() {
            let cat_id = category.id.0.clone();
            let cat_entry = compiler.add_entry(
                &cat_id,
                &cat_id,
                HitLevel::Category,
                None,
                &category.keywords,
            );
            for sub in &category.subcategories {
                compiler.add_entry(
                    &sub.id.0,
                    &cat_id,
                    HitLevel::Subcategory,
                    Some(cat_entry),
                    &sub.keywords,
                );
            }
        }
        Ok(compiler.finish(analyzers))
    }

    /// Problems found while compiling (items skipped), each starting with `file:line:column`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The analyzers texts are analysed with.
    pub fn analyzers(&self) -> &Analyzers {
        &self.analyzers
    }

    /// Ids of the subcategories with rules, in rule file order.
    pub fn subcategories(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries
            .iter()
            .filter(|e| e.level == HitLevel::Subcategory)
            .map(|e| e.id.as_str())
    }

    /// Ids of the categories with rules, in rule file order.
    pub fn categories(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries
            .iter()
            .filter(|e| e.level == HitLevel::Category)
            .map(|e| e.id.as_str())
    }

    /// The `min_score` of a subcategory or category id, when its rules set one.
    pub fn min_score(&self, id: &str) -> Option<f32> {
        self.entry(id).and_then(|e| e.min_score)
    }

    /// Number of distinct analysed items (terms, phrases, negatives) of all entries.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_id
            .get(id)
            .and_then(|&i| self.entries.get(i as usize))
    }
}

/// Builds a [`KeywordMatcher`].
struct Compiler {
    query: tantivy::tokenizer::TextAnalyzer,
    exact: tantivy::tokenizer::TextAnalyzer,
    pattern_ids: HashMap<PatternKey, u32>,
    patterns: Vec<(PatternKey, Vec<Use>)>,
    entries: Vec<Entry>,
    by_id: HashMap<String, u32>,
    warnings: Vec<String>,
}

impl Compiler {
    fn new(analyzers: &Analyzers) -> Self {
        Self {
            query: analyzers.query_analyzer(),
            exact: analyzers.exact_analyzer(),
            pattern_ids: HashMap::new(),
            patterns: Vec::new(),
            entries: Vec::new(),
            by_id: HashMap::new(),
            warnings: Vec::new(),
        }
    }

    fn add_entry(
        &mut self,
        id: &str,
        category: &str,
        level: HitLevel,
        category_entry: Option<u32>,
        set: &KeywordSet,
    ) -> u32 {
        let index = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        let boost = set.boost as f32;
        let factor = match level {
            HitLevel::Category => boost * CATEGORY_WEIGHT,
            HitLevel::Subcategory => boost,
        };
        let mut items: Vec<RawItem<'_>> = Vec::new();
        for t in &set.terms {
            items.push(RawItem {
                phrase: Phrase {
                    words: vec![t.value.clone()],
                    slop: 0,
                },
                label: format!("слово «{}»", t.value),
                origin: &t.origin,
                negative: false,
                weight: TERM_WEIGHT * factor,
            });
        }
        for (list, negative) in [(&set.phrases, false), (&set.negatives, true)] {
            for p in list {
                let kind = if p.value.is_single_word() {
                    "слово"
                } else {
                    "фраза"
                };
                items.push(RawItem {
                    phrase: p.value.clone(),
                    label: format!("{kind} «{}»", p.value),
                    origin: &p.origin,
                    negative,
                    weight: PHRASE_WEIGHT * factor,
                });
            }
        }

        let mut entry = Entry {
            id: id.to_owned(),
            category: category.to_owned(),
            level,
            category_entry: category_entry.unwrap_or(index),
            min_score: set.min_score.map(|m| m as f32),
            positives: Vec::new(),
            negatives: Vec::new(),
            labels: Vec::new(),
            evidence_labels: Vec::new(),
        };
        // Analysed key → label of the first positive with it.
        let mut seen: HashMap<u32, usize> = HashMap::new();
        let mut seen_negative: HashSet<u32> = HashSet::new();
        for item in items {
            let Some(key) = self.analyse(&item.phrase) else {
                let what = if item.negative { "negative" } else { "item" };
                self.warnings.push(format!(
                    "{}: {what} «{}» of {id} has no word left after analysis (only stop \
                     words?); skipped",
                    item.origin, item.phrase
                ));
                continue;
            };
            let pattern = self.pattern_id(key);
            if item.negative {
                if let Some(&label) = seen.get(&pattern) {
                    self.warnings.push(format!(
                        "{}: negative «{}» of {id} analyses like its {}; skipped (it would veto \
                         the entry whenever that item fires)",
                        item.origin,
                        item.phrase,
                        entry.labels.get(label).map_or("", String::as_str)
                    ));
                    continue;
                }
                if seen_negative.insert(pattern) {
                    entry.negatives.push(pattern);
                    self.add_use(pattern, index, 0.0, 0, true);
                }
            } else if let Slot::Vacant(slot) = seen.entry(pattern) {
                let label = entry.labels.len();
                slot.insert(label);
                entry.labels.push(item.label);
                entry.positives.push((pattern, item.weight));
                self.add_use(
                    pattern,
                    index,
                    item.weight,
                    u32::try_from(label).unwrap_or(u32::MAX),
                    false,
                );
            }
        }
        if level == HitLevel::Category {
            entry.evidence_labels = entry
                .labels
                .iter()
                .map(|l| format!("категория: {l}"))
                .collect();
        }
        self.by_id.insert(id.to_owned(), index);
        self.entries.push(entry);
        index
    }

    fn add_use(&mut self, pattern: u32, entry: u32, weight: f32, label: u32, negative: bool) {
        if let Some((_, uses)) = self.patterns.get_mut(pattern as usize) {
            uses.push(Use {
                entry,
                weight,
                label,
                negative,
            });
        }
    }

    fn pattern_id(&mut self, key: PatternKey) -> u32 {
        if let Some(&id) = self.pattern_ids.get(&key) {
            return id;
        }
        let id = u32::try_from(self.patterns.len()).unwrap_or(u32::MAX);
        self.pattern_ids.insert(key.clone(), id);
        self.patterns.push((key, Vec::new()));
        id
    }

    /// Analyses one item; `None` when no word is left.
    fn analyse(&mut self, phrase: &Phrase) -> Option<PatternKey> {
        let wildcard = phrase.has_wildcard();
        let body = phrase
            .words
            .iter()
            .map(|w| w.trim_end_matches('*'))
            .collect::<Vec<_>>()
            .join(" ");
        let mut words: Vec<(usize, Word)> = Vec::new();
        {
            let mut stream = self.query.token_stream(&body);
            while stream.advance() {
                let t = stream.token();
                if !t.text.is_empty() {
                    words.push((t.position, Word::Exact(t.text.clone())));
                }
            }
        }
        if wildcard {
            // The last word as written (lowercased, ё-folded), at its position.
            let mut last: Option<(usize, String)> = None;
            let mut stream = self.exact.token_stream(&body);
            while stream.advance() {
                let t = stream.token();
                last = Some((t.position, t.text.clone()));
            }
            if let Some((position, prefix)) = last {
                // The plain word's analysed form (none for a stop word), unless the prefix
                // already covers it.
                let stem = words.iter().find_map(|(p, w)| match w {
                    Word::Exact(t) if *p == position && !t.starts_with(&prefix) => Some(t.clone()),
                    _ => None,
                });
                words.retain(|(p, _)| *p != position);
                words.push((position, Word::Wildcard(Wildcard { prefix, stem })));
                words.sort_by_key(|(p, _)| *p);
            }
        }
        let first = words.first()?.0;
        let words: Vec<(u32, Word)> = words
            .into_iter()
            .map(|(p, w)| (u32::try_from(p - first).unwrap_or(u32::MAX), w))
            .collect();
        let slop = if words.len() > 1 { phrase.slop } else { 0 };
        Some(PatternKey { words, slop })
    }

    fn finish(self, analyzers: &Analyzers) -> KeywordMatcher {
        // Token ids: exact words (and wildcard stems) first, then wildcards.
        let mut vocab: FastMap<Box<str>, u32> = FastMap::default();
        let mut wildcards: Vec<Wildcard> = Vec::new();
        let mut wildcard_ids: HashMap<Wildcard, u32> = HashMap::new();
        fn exact_id(vocab: &mut FastMap<Box<str>, u32>, text: &str) -> u32 {
            if let Some(&id) = vocab.get(text) {
                return id;
            }
            let id = u32::try_from(vocab.len()).unwrap_or(u32::MAX);
            vocab.insert(text.into(), id);
            id
        }
        for (key, _) in &self.patterns {
            for (_, word) in &key.words {
                match word {
                    Word::Exact(t) => {
                        exact_id(&mut vocab, t);
                    }
                    Word::Wildcard(w) => {
                        if let Some(stem) = &w.stem {
                            exact_id(&mut vocab, stem);
                        }
                        if !wildcard_ids.contains_key(w) {
                            let id = u32::try_from(wildcards.len()).unwrap_or(u32::MAX);
                            wildcard_ids.insert(w.clone(), id);
                            wildcards.push(w.clone());
                        }
                    }
                }
            }
        }
        let n_exact = u32::try_from(vocab.len()).unwrap_or(u32::MAX);
        let n_ids = vocab.len() + wildcards.len();

        // Which wildcards every exact token matches.
        let mut token_wildcards = vec![Vec::new(); vocab.len()];
        for (text, &id) in &vocab {
            for (wi, w) in wildcards.iter().enumerate() {
                if w.matches(text)
                    && let Some(list) = token_wildcards.get_mut(id as usize)
                {
                    list.push(n_exact + u32::try_from(wi).unwrap_or(u32::MAX));
                }
            }
        }
        let mut wildcards_by_first: FastMap<char, Vec<u32>> = FastMap::default();
        for (wi, w) in wildcards.iter().enumerate() {
            if let Some(c) = w.prefix.chars().next() {
                wildcards_by_first
                    .entry(c)
                    .or_default()
                    .push(n_exact + u32::try_from(wi).unwrap_or(u32::MAX));
            }
        }

        // Patterns with token ids; each anchored on its rarest word.
        let mut df = vec![0u32; n_ids];
        let mut keys = Vec::with_capacity(self.patterns.len());
        let mut words = Vec::with_capacity(self.patterns.len());
        let mut slops = Vec::with_capacity(self.patterns.len());
        let mut uses = Vec::with_capacity(self.patterns.len());
        for (key, pattern_uses) in self.patterns {
            let ids: Vec<(u32, u32)> = key
                .words
                .iter()
                .map(|(off, word)| {
                    let id = match word {
                        Word::Exact(t) => vocab.get(t.as_str()).copied().unwrap_or(0),
                        Word::Wildcard(w) => n_exact + wildcard_ids.get(w).copied().unwrap_or(0),
                    };
                    (*off, id)
                })
                .collect();
            for (_, id) in &ids {
                if let Some(d) = df.get_mut(*id as usize) {
                    *d += 1;
                }
            }
            slops.push(key.slop);
            keys.push(key);
            words.push(ids);
            uses.push(pattern_uses);
        }
        let pattern_uses = Lists::from_lists(uses);
        let mut triggers = vec![Vec::new(); n_ids];
        for (pi, ids) in words.iter().enumerate() {
            // The rarest word (in the rules) anchors the pattern, the next rarest is checked
            // first.
            let mut by_df: Vec<u32> = ids.iter().map(|&(_, id)| id).collect();
            by_df.sort_by_key(|id| df.get(*id as usize).copied().unwrap_or(0));
            let (Some(&anchor), second) = (by_df.first(), by_df.get(1)) else {
                continue;
            };
            let pattern = u32::try_from(pi).unwrap_or(u32::MAX);
            let second = if ids.len() > 1 {
                second.copied().unwrap_or(anchor)
            } else {
                Trigger::SINGLE
            };
            if let Some(list) = triggers.get_mut(anchor as usize) {
                list.push(Trigger {
                    pattern,
                    second,
                    uses: pattern_uses.range(pattern),
                });
            }
        }

        let mut names = String::new();
        let mut push_name = |name: &str| {
            let start = u32::try_from(names.len()).unwrap_or(u32::MAX);
            names.push_str(name);
            (start, u32::try_from(names.len()).unwrap_or(u32::MAX))
        };
        let entry_info = self
            .entries
            .iter()
            .map(|e| EntryInfo {
                level: e.level,
                category_entry: e.category_entry,
                min_score: e.min_score,
                id: push_name(&e.id),
                category: push_name(&e.category),
            })
            .collect();

        KeywordMatcher {
            analyzers: analyzers.clone(),
            vocab: TokenIds::new(&vocab),
            token_wildcards: Lists::from_lists(token_wildcards),
            wildcards,
            wildcards_by_first,
            n_ids,
            triggers: Lists::from_lists(triggers),
            pattern_words: Lists::from_lists(words),
            pattern_slop: slops,
            pattern_uses,
            patterns: keys,
            entries: self.entries,
            entry_info,
            names,
            by_id: self.by_id,
            warnings: self.warnings,
        }
    }
}
