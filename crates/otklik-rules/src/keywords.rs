//! `rules/keywords/<category id>.toml`: keyword and phrase rules of the classifier, one file per
//! category (see `rules/keywords/README.md`).
//!
//! Rules are written as plain Russian words and phrases, not stems: the classifier runs the same
//! analyzer (lowercasing, ё→е, stop words, Snowball stemming) over the rules and over the text.
//! This module only reads and validates them; every item keeps the file, line and column it was
//! written at so that a compiled query can be traced back to its rule.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use otklik_domain::{CategoryId, CategoryTree, SubcategoryId};
use serde::Deserialize;
use toml::Spanned;

use crate::categories::{is_valid_category_id, is_valid_subcategory_id};
use crate::error::{Collector, Located, Origin, RulesError};

/// Weight of a category or subcategory that does not set `boost`.
pub const DEFAULT_BOOST: f64 = 1.0;

/// Largest accepted `boost` (the smallest is anything above zero).
pub const MAX_BOOST: f64 = 10.0;

/// Largest accepted proximity slop of a phrase (`"разбитая дорога~10"`).
pub const MAX_SLOP: u32 = 10;

/// Fewest characters before the `*` of a wildcard word (`дор*` is the shortest accepted).
pub const MIN_WILDCARD_PREFIX: usize = 3;

/// A phrase: words that must occur in this order, with at most `slop` other words between them
/// (tantivy's phrase slop). A single-word phrase is a term; `negative` items use that form.
/// Words are lowercased as written, not stemmed; the last word may end with `*` (prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phrase {
    /// The words, lowercased, at least one.
    pub words: Vec<String>,
    /// Proximity slop, `0..=MAX_SLOP`; 0 means adjacent.
    pub slop: u32,
}

impl Phrase {
    /// True when this is a single word (a term).
    pub fn is_single_word(&self) -> bool {
        self.words.len() == 1
    }

    /// True when a word ends with the `*` prefix wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.words.iter().any(|w| w.ends_with('*'))
    }
}

impl fmt::Display for Phrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words.join(" "))?;
        if self.slop > 0 {
            write!(f, "~{}", self.slop)?;
        }
        Ok(())
    }
}

/// The rules of one category (`[category]`) or subcategory (`[[subcategory]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordSet {
    /// Single words; any of them is evidence. May end with `*` (prefix wildcard).
    pub terms: Vec<Located<String>>,
    /// Phrases of two or more words; any of them is evidence.
    pub phrases: Vec<Located<Phrase>>,
    /// Words (one-word phrases) and phrases whose presence vetoes this entry.
    pub negatives: Vec<Located<Phrase>>,
    /// Weight, `0 < boost <= MAX_BOOST`, [`DEFAULT_BOOST`] when not set.
    pub boost: f64,
    /// Score below which the entry is not assigned, when set (`>= 0`).
    pub min_score: Option<f64>,
    /// Where the entry's `id` is written.
    pub origin: Origin,
}

impl KeywordSet {
    /// Number of positive rules: terms and phrases.
    pub fn rule_count(&self) -> usize {
        self.terms.len() + self.phrases.len()
    }

    /// True when the entry has neither terms nor phrases.
    pub fn is_empty(&self) -> bool {
        self.rule_count() == 0
    }
}

/// The rules of one subcategory.
#[derive(Debug, Clone, PartialEq)]
pub struct SubcategoryKeywords {
    /// The subcategory.
    pub id: SubcategoryId,
    /// Its terms, phrases, negatives and weight.
    pub keywords: KeywordSet,
}

/// One keyword file: the category-wide rules (weak evidence for the whole category) and the
/// rules of its subcategories, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryKeywords {
    /// The category (equal to the file's name without `.toml`).
    pub id: CategoryId,
    /// The file, as named by the caller.
    pub file: PathBuf,
    /// The `[category]` rules; terms and phrases may be empty.
    pub keywords: KeywordSet,
    /// The `[[subcategory]]` entries.
    pub subcategories: Vec<SubcategoryKeywords>,
}

/// Keyword rules of every category that has a keyword file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeywordRules {
    categories: Vec<CategoryKeywords>,
    category_index: HashMap<CategoryId, usize>,
    subcategory_index: HashMap<SubcategoryId, (usize, usize)>,
}

/// Counts of loaded keyword rules, for logs and `otklik rules check`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeywordSummary {
    /// Keyword files (categories with rules).
    pub files: usize,
    /// Subcategories with rules.
    pub subcategories: usize,
    /// Terms, category-wide and per subcategory.
    pub terms: usize,
    /// Phrases, category-wide and per subcategory.
    pub phrases: usize,
    /// Negative words and phrases.
    pub negatives: usize,
}

impl fmt::Display for KeywordSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} keyword files, {} subcategories; {} terms, {} phrases, {} negatives",
            self.files, self.subcategories, self.terms, self.phrases, self.negatives
        )
    }
}

impl KeywordRules {
    /// Gathers parsed files, checking that no category or subcategory has rules twice.
    pub fn from_categories(categories: Vec<CategoryKeywords>) -> Result<Self, RulesError> {
        let mut errs = Collector::default();
        let mut rules = Self::default();
        for c in categories {
            if let Some(&first) = rules.category_index.get(&c.id) {
                let first = rules
                    .categories
                    .get(first)
                    .map(|f| f.file.display().to_string());
                errs.at(
                    &c.keywords.origin,
                    format!(
                        "duplicate keyword rules for category \"{}\" (first in {})",
                        c.id,
                        first.unwrap_or_default()
                    ),
                );
                continue;
            }
            let ci = rules.categories.len();
            for (si, s) in c.subcategories.iter().enumerate() {
                if let Some(&(fc, fs)) = rules.subcategory_index.get(&s.id) {
                    let first = rules
                        .categories
                        .get(fc)
                        .and_then(|f| f.subcategories.get(fs))
                        .map(|f| f.keywords.origin.to_string());
                    errs.at(
                        &s.keywords.origin,
                        format!(
                            "duplicate subcategory \"{}\" (first at {})",
                            s.id,
                            first.unwrap_or_default()
                        ),
                    );
                    continue;
                }
                rules.subcategory_index.insert(s.id.clone(), (ci, si));
            }
            rules.category_index.insert(c.id.clone(), ci);
            rules.categories.push(c);
        }
        errs.finish()?;
        Ok(rules)
    }

    /// Every keyword file, in load order.
    pub fn categories(&self) -> &[CategoryKeywords] {
        &self.categories
    }

    /// The rules of a category, when it has a keyword file.
    pub fn category(&self, id: &CategoryId) -> Option<&CategoryKeywords> {
        self.category_index
            .get(id)
            .and_then(|i| self.categories.get(*i))
    }

    /// The rules of a subcategory, when it has an entry.
    pub fn subcategory(&self, id: &SubcategoryId) -> Option<&SubcategoryKeywords> {
        self.subcategory_index
            .get(id)
            .and_then(|(c, s)| self.categories.get(*c)?.subcategories.get(*s))
    }

    /// Every subcategory entry, file by file.
    pub fn subcategories(&self) -> impl Iterator<Item = &SubcategoryKeywords> + '_ {
        self.categories.iter().flat_map(|c| c.subcategories.iter())
    }

    /// True when no keyword file was loaded.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    /// Counts of files, subcategories, terms, phrases and negatives.
    pub fn summary(&self) -> KeywordSummary {
        let sets = self.categories.iter().flat_map(|c| {
            std::iter::once(&c.keywords).chain(c.subcategories.iter().map(|s| &s.keywords))
        });
        let mut s = KeywordSummary {
            files: self.categories.len(),
            subcategories: self.subcategory_index.len(),
            ..KeywordSummary::default()
        };
        for k in sets {
            s.terms += k.terms.len();
            s.phrases += k.phrases.len();
            s.negatives += k.negatives.len();
        }
        s
    }
}

/// Subcategories of `tree` (in tree order) that have no keyword rules: no entry, or an entry
/// without terms and phrases.
pub fn check_coverage(rules: &KeywordRules, tree: &CategoryTree) -> Vec<SubcategoryId> {
    tree.subcategories()
        .iter()
        .filter(|s| {
            rules
                .subcategory(&s.id)
                .is_none_or(|k| k.keywords.is_empty())
        })
        .map(|s| s.id.clone())
        .collect()
}

/// Reads every `*.toml` file of `dir` (other files, hidden files and subdirectories are
/// skipped), in file name order, and validates each against `tree`. Errors of all files are
/// reported together, each with file:line:column.
pub fn load_keyword_rules(
    dir: impl AsRef<Path>,
    tree: &CategoryTree,
) -> Result<KeywordRules, RulesError> {
    let dir = dir.as_ref();
    let io = |file: &Path| {
        let file = file.to_path_buf();
        move |source| RulesError::Io { file, source }
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if !hidden && path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();

    let mut errs = Collector::default();
    let mut categories = Vec::with_capacity(paths.len());
    for path in &paths {
        let parsed = std::fs::read_to_string(path)
            .map_err(io(path))
            .and_then(|text| parse_keyword_file(&text, path, tree));
        if let Some(c) = errs.merge(parsed) {
            categories.push(c);
        }
    }
    let rules = errs.merge(KeywordRules::from_categories(categories));
    errs.finish()?;
    Ok(rules.unwrap_or_default())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    category: RawEntry,
    #[serde(default)]
    subcategory: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<String>,
    #[serde(default)]
    terms: Vec<Spanned<String>>,
    #[serde(default)]
    phrases: Vec<Spanned<String>>,
    #[serde(default)]
    negative: Vec<Spanned<String>>,
    boost: Option<Spanned<f64>>,
    min_score: Option<Spanned<f64>>,
}

/// Which list an item is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Term,
    Phrase,
    Negative,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Term => "term",
            Kind::Phrase => "phrase",
            Kind::Negative => "negative",
        }
    }
}

/// Parses and validates the text of one keyword file against `tree`; `file_name` is used in
/// errors and kept in origins, and its name must be `<category id>.toml`.
///
/// Syntax errors stop at the first one; all validation errors are reported together.
pub fn parse_keyword_file(
    text: &str,
    file_name: impl AsRef<Path>,
    tree: &CategoryTree,
) -> Result<CategoryKeywords, RulesError> {
    let file = file_name.as_ref();
    let raw: RawFile = toml::from_str(text).map_err(|e| RulesError::from_toml(file, text, &e))?;
    let lines = LineIndex::new(text);
    let at = |span: Range<usize>| lines.origin(file, span.start);
    let mut errs = Collector::default();

    // The category.
    let cat_id = raw.category.id.get_ref().trim().to_owned();
    let cat_at = at(raw.category.id.span());
    let known_category = tree.category(&CategoryId(cat_id.clone())).is_some();
    if !is_valid_category_id(&cat_id) {
        errs.at(
            &cat_at,
            format!("bad category id {cat_id:?}: expected ASCII lowercase [a-z][a-z0-9_]*"),
        );
    } else if !known_category {
        errs.at(&cat_at, format!("unknown category {cat_id:?}"));
    }
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
    if let Some(stem) = stem
        && stem != cat_id
    {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        errs.at(
            &cat_at,
            format!(
                "category id {cat_id:?} does not match the file name {name:?} \
                 (expected \"{cat_id}.toml\")"
            ),
        );
    }
    let owner = format!("category {cat_id:?}");
    let keywords = keyword_set(&raw.category, &owner, false, &at, &mut errs);

    // Its subcategories.
    let mut subcategories = Vec::with_capacity(raw.subcategory.len());
    let mut lines: HashMap<String, usize> = HashMap::new();
    for s in &raw.subcategory {
        let id = s.id.get_ref().trim().to_owned();
        let id_at = at(s.id.span());
        let sub_id = SubcategoryId(id.clone());
        if !is_valid_subcategory_id(&id) {
            errs.at(
                &id_at,
                format!(
                    "bad subcategory id {id:?}: expected <category id>.<slug>, \
                     ASCII lowercase [a-z0-9_]"
                ),
            );
        } else {
            match tree.subcategory(&sub_id) {
                None => errs.at(&id_at, format!("unknown subcategory {id:?}")),
                Some(known) if known_category && known.category.0 != cat_id => errs.at(
                    &id_at,
                    format!(
                        "subcategory {id:?} belongs to category \"{parent}\", not {cat_id:?}: \
                         move it to {parent}.toml",
                        parent = known.category
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(first) = lines.get(&id) {
            errs.at(
                &id_at,
                format!("duplicate subcategory {id:?} (first at line {first})"),
            );
            continue;
        }
        lines.insert(id.clone(), id_at.line);
        let owner = format!("subcategory {id:?}");
        let keywords = keyword_set(s, &owner, true, &at, &mut errs);
        subcategories.push(SubcategoryKeywords {
            id: sub_id,
            keywords,
        });
    }

    errs.finish()?;
    Ok(CategoryKeywords {
        id: CategoryId(cat_id),
        file: file.to_path_buf(),
        keywords,
        subcategories,
    })
}

/// Validates one entry's lists and numbers; `needs_rules` for subcategories.
fn keyword_set(
    raw: &RawEntry,
    owner: &str,
    needs_rules: bool,
    at: &impl Fn(Range<usize>) -> Origin,
    errs: &mut Collector,
) -> KeywordSet {
    let origin = at(raw.id.span());
    // Normalised words (ё→е) of every item seen: positives and negatives, with their line.
    let mut positives: HashMap<Vec<String>, (Kind, usize)> = HashMap::new();
    let mut negatives_seen: HashMap<Vec<String>, usize> = HashMap::new();

    let mut items = |list: &[Spanned<String>], kind: Kind, errs: &mut Collector| {
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            let item_at = at(item.span());
            let phrase = match parse_item(item.get_ref(), kind) {
                Ok(p) => p,
                Err(message) => {
                    errs.at(&item_at, message);
                    continue;
                }
            };
            let key: Vec<String> = phrase.words.iter().map(|w| fold(w)).collect();
            let shown = item.get_ref().trim();
            if kind == Kind::Negative {
                if let Some(first) = negatives_seen.get(&key) {
                    errs.at(
                        &item_at,
                        format!("duplicate negative {shown:?} (first at line {first})"),
                    );
                    continue;
                }
                if let Some((k, line)) = positives.get(&key) {
                    errs.at(
                        &item_at,
                        format!(
                            "negative {shown:?} is also a {} of {owner} (line {line})",
                            k.name()
                        ),
                    );
                    continue;
                }
                negatives_seen.insert(key, item_at.line);
            } else {
                if let Some((k, line)) = positives.get(&key) {
                    errs.at(
                        &item_at,
                        format!(
                            "duplicate {} {shown:?} (first as a {} at line {line})",
                            kind.name(),
                            k.name()
                        ),
                    );
                    continue;
                }
                positives.insert(key, (kind, item_at.line));
            }
            out.push(Located {
                value: phrase,
                origin: item_at,
            });
        }
        out
    };
    let terms = items(&raw.terms, Kind::Term, errs)
        .into_iter()
        .map(|t| Located {
            value: t.value.words.concat(),
            origin: t.origin,
        })
        .collect::<Vec<_>>();
    let phrases = items(&raw.phrases, Kind::Phrase, errs);
    let negatives = items(&raw.negative, Kind::Negative, errs);

    if needs_rules && raw.terms.is_empty() && raw.phrases.is_empty() {
        errs.at(&origin, format!("{owner} has no terms or phrases"));
    }

    let boost = match &raw.boost {
        None => DEFAULT_BOOST,
        Some(b) => {
            let value = *b.get_ref();
            if value > 0.0 && value <= MAX_BOOST {
                value
            } else {
                errs.at(
                    &at(b.span()),
                    format!("boost of {owner} must be > 0 and <= {MAX_BOOST}, got {value}"),
                );
                DEFAULT_BOOST
            }
        }
    };
    let min_score = raw.min_score.as_ref().and_then(|m| {
        let value = *m.get_ref();
        if value.is_finite() && value >= 0.0 {
            Some(value)
        } else {
            errs.at(
                &at(m.span()),
                format!("min_score of {owner} must be a finite number >= 0, got {value}"),
            );
            None
        }
    });

    KeywordSet {
        terms,
        phrases,
        negatives,
        boost,
        min_score,
        origin,
    }
}

/// Line starts of a text, so that the many items of a keyword file get their line and column
/// without rescanning the text (same numbering as [`Origin::at`]).
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    /// The origin of byte `offset`; offsets past the end or inside a character are clamped.
    fn origin(&self, file: &Path, offset: usize) -> Origin {
        let mut end = offset.min(self.text.len());
        while end > 0 && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= end).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self.text.get(start..end).unwrap_or("").chars().count() + 1;
        Origin {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

/// Lowercase with ё folded to е, for duplicate checks.
fn fold(word: &str) -> String {
    word.chars()
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

/// Parses one list item into lowercased words and slop; the error is the message.
fn parse_item(raw: &str, kind: Kind) -> Result<Phrase, String> {
    let name = kind.name();
    let text = raw.trim();
    if text.is_empty() {
        return Err(format!("empty {name}"));
    }

    let (body, slop) = match text.split_once('~') {
        None => (text, None),
        Some((body, n)) => {
            if kind == Kind::Term {
                return Err(format!(
                    "term {text:?} has a proximity \"~{n}\": only phrases and negatives take ~N"
                ));
            }
            let slop = n
                .parse::<u32>()
                .ok()
                .filter(|s| n.bytes().all(|b| b.is_ascii_digit()) && *s <= MAX_SLOP);
            match slop {
                Some(s) => (body.trim_end(), Some(s)),
                None => {
                    return Err(format!(
                        "bad proximity \"~{n}\" in {name} {text:?}: expected ~0 to ~{MAX_SLOP} \
                         at the end"
                    ));
                }
            }
        }
    };
    if body.is_empty() {
        return Err(format!("empty {name} {text:?}"));
    }
    if let Some(c) = body
        .chars()
        .find(|c| !(c.is_alphanumeric() || c.is_whitespace() || *c == '-' || *c == '*'))
    {
        return Err(format!(
            "{name} {text:?} has the character {c:?}: only letters, digits, spaces, hyphens \
             and * are allowed"
        ));
    }

    let words: Vec<String> = body.split_whitespace().map(str::to_lowercase).collect();
    let count = words.len();
    for (i, word) in words.iter().enumerate() {
        if !word.chars().any(char::is_alphanumeric) {
            return Err(format!(
                "{name} {text:?} has the word {word:?} without letters or digits"
            ));
        }
        if let Some(stars) = word.find('*') {
            let prefix = word.get(..stars).unwrap_or("");
            let good = stars + 1 == word.len()
                && prefix.chars().filter(|c| c.is_alphanumeric()).count() >= MIN_WILDCARD_PREFIX;
            if !good {
                return Err(format!(
                    "bad wildcard {word:?} in {name} {text:?}: * goes once, at the end of a word, \
                     after at least {MIN_WILDCARD_PREFIX} letters (\"дорож*\")"
                ));
            }
            if i + 1 != count {
                return Err(format!(
                    "bad wildcard {word:?} in {name} {text:?}: only the last word of a phrase \
                     may end with *"
                ));
            }
        }
    }

    match kind {
        Kind::Term if count > 1 => Err(format!(
            "term {text:?} has {count} words: write it in phrases"
        )),
        Kind::Phrase if count < 2 => {
            Err(format!("phrase {text:?} has one word: write it in terms"))
        }
        Kind::Negative if count < 2 && slop.is_some() => Err(format!(
            "negative {text:?} has one word: a proximity ~N needs two or more"
        )),
        _ => Ok(Phrase {
            words,
            slop: slop.unwrap_or(0),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, kind: Kind) -> Phrase {
        parse_item(raw, kind).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn items() {
        assert_eq!(ok(" Яма ", Kind::Term).words, ["яма"]);
        assert_eq!(ok("дорож*", Kind::Term).words, ["дорож*"]);
        let p = ok("Разбитая   дорога ~2", Kind::Phrase);
        assert_eq!(p.words, ["разбитая", "дорога"]);
        assert_eq!(p.slop, 2);
        assert_eq!(p.to_string(), "разбитая дорога~2");
        assert_eq!(ok("выгребная яма", Kind::Negative).slop, 0);
        assert_eq!(ok("covid-19", Kind::Term).words, ["covid-19"]);
        assert!(ok("яма на дорож*", Kind::Phrase).has_wildcard());
    }

    #[test]
    fn line_index_matches_origin_at() {
        let text = "ab\nцд = 1\n\nx";
        let index = LineIndex::new(text);
        let file = Path::new("k.toml");
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                index.origin(file, offset),
                Origin::at(file, text, offset),
                "{offset}"
            );
        }
    }

    #[test]
    fn bad_items() {
        let err = |raw: &str, kind| parse_item(raw, kind).err().unwrap_or_default();
        assert_eq!(err("  ", Kind::Term), "empty term");
        assert!(err("яма!", Kind::Term).contains("character '!'"));
        assert!(err("дыра в асфальте", Kind::Term).contains("3 words"));
        assert!(err("яма", Kind::Phrase).contains("one word"));
        assert!(err("яма~1", Kind::Negative).contains("one word"));
        assert!(err("яма дорога~11", Kind::Phrase).starts_with("bad proximity \"~11\""));
        assert!(err("яма дорога~", Kind::Phrase).starts_with("bad proximity \"~\""));
        assert!(err("яма дорога~+1", Kind::Phrase).starts_with("bad proximity"));
        assert!(err("яма~1 дорога", Kind::Phrase).starts_with("bad proximity"));
        assert!(err("яма~1", Kind::Term).contains("only phrases"));
        assert!(err("до*", Kind::Term).starts_with("bad wildcard"));
        assert!(err("*яма", Kind::Term).starts_with("bad wildcard"));
        assert!(err("дорож* яма", Kind::Phrase).contains("last word"));
        assert!(err("яма - дорога", Kind::Phrase).contains("without letters"));
        assert_eq!(err("~3", Kind::Phrase), "empty phrase \"~3\"");
    }
}
