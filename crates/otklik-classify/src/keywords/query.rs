//! The tantivy form of the compiled rules.

use tantivy::query::{
    BooleanQuery, ConstScoreQuery, EmptyQuery, EnableScoring, Explanation, Occur, PhraseQuery,
    Query, RegexPhraseQuery, RegexQuery, Scorer, TermQuery, Weight, wildcard_query_to_regex_str,
};
use tantivy::schema::{Field, IndexRecordOption, Term};
use tantivy::{DocId, DocSet, Score, SegmentReader};

use super::{Entry, HitLevel, KeywordMatcher, Word};
use crate::error::{ClassifyError, Result};

impl KeywordMatcher {
    /// The tantivy query of a subcategory (`"roads.potholes"`) over `field`, a text field
    /// indexed with [`RU_ANALYZER`](otklik_text::RU_ANALYZER) *with positions*
    /// (`IndexRecordOption::WithFreqsAndPositions`).
    ///
    /// It matches exactly the documents for which [`matches`](Self::matches) fires the
    /// subcategory's own rules (`min_score` aside), and scores them with the same score as
    /// [`RuleHit::score`](super::RuleHit::score):
    ///
    /// ```text
    /// Bool[ Must(Bool[Should(ConstScore(item, weight)) …]),        the subcategory's items
    ///       Should(Bool[Must(Bool[Should(ConstScore(…)) …]),       the category's items,
    ///                   MustNot(category negative) …]),             weak evidence
    ///       MustNot(negative) … ]
    /// ```
    ///
    /// An item is a [`TermQuery`], a [`PhraseQuery`] (with offsets for stop-word gaps, and the
    /// slop), a [`RegexQuery`] for a wildcard, a [`RegexPhraseQuery`] for a phrase ending with
    /// a wildcard, and for a sloppy phrase of three or more words the conjunction of its
    /// neighbouring pairs (see the [module docs](super#phrases-and-slop)). A negative of more
    /// than one word is wrapped in a small pass-through query that keeps tantivy 0.27's
    /// phrase scorer from a debug-build assertion under `MustNot` (see `ForwardOnly`). Apply
    /// [`min_score`](Self::min_score) to the scores of the results when the rules set one.
    /// A subcategory whose items were all skipped gives an [`EmptyQuery`]. Every collector
    /// matches the same documents (the phrase code paths with and without scoring agree on
    /// these queries).
    ///
    /// Fails with [`ClassifyError::UnknownKeywordRule`] when the subcategory has no rules.
    pub fn to_tantivy_query(&self, subcategory: &str, field: Field) -> Result<Box<dyn Query>> {
        let entry = self
            .entry(subcategory)
            .filter(|e| e.level == HitLevel::Subcategory)
            .ok_or_else(|| ClassifyError::UnknownKeywordRule(subcategory.to_owned()))?;
        let Some(own) = self.positives_query(entry, field)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let mut clauses = vec![(Occur::Must, own)];
        if let Some(category) = self.entries.get(entry.category_entry as usize)
            && let Some(evidence) = self.entry_query(category, field)?
        {
            clauses.push((Occur::Should, evidence));
        }
        for &n in &entry.negatives {
            clauses.push((Occur::MustNot, self.negative_query(n, field)?));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// The tantivy query of a category's own items (`[category]`; `"roads"`), minus its
    /// negatives, scored as category evidence ([`CATEGORY_WEIGHT`](super::CATEGORY_WEIGHT)).
    /// [`EmptyQuery`] when the category has no items of its own.
    ///
    /// Fails with [`ClassifyError::UnknownKeywordRule`] when the category has no rules.
    pub fn to_tantivy_category_query(
        &self,
        category: &str,
        field: Field,
    ) -> Result<Box<dyn Query>> {
        let entry = self
            .entry(category)
            .filter(|e| e.level == HitLevel::Category)
            .ok_or_else(|| ClassifyError::UnknownKeywordRule(category.to_owned()))?;
        Ok(self
            .entry_query(entry, field)?
            .unwrap_or_else(|| Box::new(EmptyQuery)))
    }

    /// Any positive item of the entry, each scored with its weight.
    fn positives_query(&self, entry: &Entry, field: Field) -> Result<Option<Box<dyn Query>>> {
        if entry.positives.is_empty() {
            return Ok(None);
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(entry.positives.len());
        for &(p, weight) in &entry.positives {
            let q = self.pattern_query(p, field)?;
            clauses.push((Occur::Should, Box::new(ConstScoreQuery::new(q, weight))));
        }
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }

    /// The entry's positives minus its negatives.
    fn entry_query(&self, entry: &Entry, field: Field) -> Result<Option<Box<dyn Query>>> {
        let Some(positives) = self.positives_query(entry, field)? else {
            return Ok(None);
        };
        if entry.negatives.is_empty() {
            return Ok(Some(positives));
        }
        let mut clauses = vec![(Occur::Must, positives)];
        for &n in &entry.negatives {
            clauses.push((Occur::MustNot, self.negative_query(n, field)?));
        }
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }

    /// The query of a negative item, for a `MustNot` clause.
    fn negative_query(&self, pattern: u32, field: Field) -> Result<Box<dyn Query>> {
        let single = self
            .patterns
            .get(pattern as usize)
            .is_some_and(|p| p.words.len() == 1);
        let q = self.pattern_query(pattern, field)?;
        Ok(if single { q } else { Box::new(ForwardOnly(q)) })
    }

    /// The query of one analysed item.
    fn pattern_query(&self, pattern: u32, field: Field) -> Result<Box<dyn Query>> {
        let Some(pattern) = self.patterns.get(pattern as usize) else {
            return Ok(Box::new(EmptyQuery));
        };
        let slop = pattern.slop;
        Ok(match pattern.words.as_slice() {
            [] => Box::new(EmptyQuery),
            [(_, word)] => word_query(word, field)?,
            words if slop == 0 || words.len() == 2 => phrase_query(words, slop, field),
            words => Box::new(BooleanQuery::new(
                words
                    .windows(2)
                    .map(|pair| (Occur::Must, phrase_query(pair, slop, field)))
                    .collect(),
            )),
        })
    }
}

/// A single word.
fn word_query(word: &Word, field: Field) -> Result<Box<dyn Query>> {
    Ok(match word {
        Word::Exact(t) => Box::new(TermQuery::new(
            Term::from_field_text(field, t),
            IndexRecordOption::Basic,
        )),
        Word::Wildcard(_) => Box::new(RegexQuery::from_pattern(&regex(word), field)?),
    })
}

/// Two or more words at their offsets; a wildcard makes it a regex phrase.
fn phrase_query(words: &[(u32, Word)], slop: u32, field: Field) -> Box<dyn Query> {
    if words.iter().any(|(_, w)| matches!(w, Word::Wildcard(_))) {
        let terms = words
            .iter()
            .map(|(off, w)| (*off as usize, regex(w)))
            .collect();
        let mut q = RegexPhraseQuery::new_with_offset_and_slop(field, terms, slop);
        q.set_max_expansions(u32::MAX);
        Box::new(q)
    } else {
        let terms = words
            .iter()
            .map(|(off, w)| {
                let text = match w {
                    Word::Exact(t) => t.as_str(),
                    Word::Wildcard(wc) => wc.prefix.as_str(),
                };
                (*off as usize, Term::from_field_text(field, text))
            })
            .collect();
        Box::new(PhraseQuery::new_with_offset_and_slop(terms, slop))
    }
}

/// The regex of a word over index terms: the escaped token, or `prefix.*` (or
/// `(prefix.*|stem)`) for a wildcard.
fn regex(word: &Word) -> String {
    match word {
        Word::Exact(t) => wildcard_query_to_regex_str(t),
        Word::Wildcard(w) => {
            let prefix = wildcard_query_to_regex_str(&w.prefix) + ".*";
            match &w.stem {
                Some(stem) => format!("({prefix}|{})", wildcard_query_to_regex_str(stem)),
                None => prefix,
            }
        }
    }
}

/// Works around a debug assertion of tantivy 0.27: `PhraseScorer::seek_danger` asserts that it
/// is never asked about a document before its current one, yet the `MustNot` clauses of a
/// `BooleanQuery` (`Exclude`) ask a freshly positioned scorer exactly that. Release builds
/// answer correctly (the document is not there); debug builds panic. This wrapper answers such
/// questions itself and only ever moves the inner scorer forward (tantivy's default
/// `seek_danger`).
#[derive(Debug)]
struct ForwardOnly(Box<dyn Query>);

impl Clone for ForwardOnly {
    fn clone(&self) -> Self {
        Self(self.0.box_clone())
    }
}

impl Query for ForwardOnly {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ForwardOnlyWeight(self.0.weight(enable_scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct ForwardOnlyWeight(Box<dyn Weight>);

impl Weight for ForwardOnlyWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ForwardOnlyScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct ForwardOnlyScorer(Box<dyn Scorer>);

impl DocSet for ForwardOnlyScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.0.doc();
        if doc >= target {
            doc
        } else {
            self.0.seek(target)
        }
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
}

impl Scorer for ForwardOnlyScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}
