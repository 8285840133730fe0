//! Queries: parsing, filters, facet counts, sorting, paging, snippets.

use std::collections::{BTreeMap, HashMap};
use std::ops::{Bound, Range};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TokenStream;
use tantivy::{DocId, Order, Score, SegmentOrdinal, SegmentReader, TantivyDocument, Term};

use crate::doc::{DocKey, Facet, SearchDoc};
use crate::index::SearchIndex;
use crate::safe_seek::SafeSeek;
use crate::{Result, SearchError};

/// Most hits one page may ask for.
pub const MAX_LIMIT: usize = 1_000;

/// How hits are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// BM25 relevance, best first (the default).
    #[default]
    Relevance,
    /// Publication time, newest first.
    Newest,
    /// Publication time, oldest first.
    Oldest,
}

/// A search.
///
/// The text is a list of words, all required (each matched by its stem: «ямы» finds «яма»,
/// «ямой»; ё = е), `"quoted phrases"` (the words in that order; stop words inside keep
/// their place), and `-word` / `-"phrase"` exclusions. An empty text matches everything
/// (browse by filters and facets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// The query text.
    pub text: String,
    /// Facet filters: a document must have one of the listed values of every listed facet.
    pub filters: BTreeMap<Facet, Vec<String>>,
    /// Published at or after (epoch ms).
    pub since: Option<i64>,
    /// Published before (epoch ms).
    pub until: Option<i64>,
    /// Facets to count over all matching documents (after the filters: a filtered facet
    /// counts only its selected values).
    pub facets: Vec<Facet>,
    /// Values per facet, most frequent first (default 20).
    pub facet_limit: usize,
    /// Order of the hits.
    pub sort: Sort,
    /// Hits per page (default 10, at most [`MAX_LIMIT`]; 0 for counts only).
    pub limit: usize,
    /// Hits to skip.
    pub offset: usize,
    /// Whether hits carry a highlighted snippet (default true).
    pub snippets: bool,
}

impl Default for SearchQuery {
    fn default() -> Self {
        Self {
            text: String::new(),
            filters: BTreeMap::new(),
            since: None,
            until: None,
            facets: Vec::new(),
            facet_limit: 20,
            sort: Sort::Relevance,
            limit: 10,
            offset: 0,
            snippets: true,
        }
    }
}

impl SearchQuery {
    /// A search for `text` with the defaults.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Also requires `facet` = `value` (values of one facet are alternatives).
    #[must_use]
    pub fn filter(mut self, facet: Facet, value: impl Into<String>) -> Self {
        self.filters.entry(facet).or_default().push(value.into());
        self
    }

    /// Also counts `facet`.
    #[must_use]
    pub fn facet(mut self, facet: Facet) -> Self {
        if !self.facets.contains(&facet) {
            self.facets.push(facet);
        }
        self
    }

    /// Published in `[since, until)` (epoch ms; either end open).
    #[must_use]
    pub fn published(mut self, since: Option<i64>, until: Option<i64>) -> Self {
        self.since = since;
        self.until = until;
        self
    }

    /// Orders by `sort`.
    #[must_use]
    pub fn sort(mut self, sort: Sort) -> Self {
        self.sort = sort;
        self
    }

    /// Page size.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Hits skipped.
    #[must_use]
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// With or without snippets.
    #[must_use]
    pub fn snippets(mut self, on: bool) -> Self {
        self.snippets = on;
        self
    }
}

/// A highlighted fragment of a hit's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    /// The fragment (at most about 200 characters).
    pub fragment: String,
    /// Byte ranges of the matched words in `fragment`.
    pub highlighted: Vec<Range<usize>>,
    /// The fragment as HTML, matches in `<b>…</b>`, the rest escaped.
    pub html: String,
}

impl Snippet {
    /// The matched words, as written in the text.
    pub fn matches(&self) -> Vec<&str> {
        self.highlighted
            .iter()
            .filter_map(|r| self.fragment.get(r.clone()))
            .collect()
    }
}

/// One hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Which document.
    pub key: DocKey,
    /// BM25 score (relevance order only).
    pub score: Option<f32>,
    /// The stored document.
    pub doc: SearchDoc,
    /// The best fragment with the matches highlighted (when asked for and the text matched).
    pub snippet: Option<Snippet>,
}

/// A facet value and how many matching documents have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    /// The value.
    pub value: String,
    /// Matching documents with it.
    pub count: u64,
}

/// The counts of one facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCounts {
    /// The facet.
    pub facet: Facet,
    /// The most frequent values, count descending then value ascending.
    pub values: Vec<FacetValue>,
    /// Matching documents with a value beyond the listed ones.
    pub other: u64,
}

impl FacetCounts {
    /// The count of `value` (0 when absent or beyond the limit).
    pub fn count(&self, value: &str) -> u64 {
        self.values
            .iter()
            .find(|v| v.value == value)
            .map_or(0, |v| v.count)
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Matching documents in all.
    pub total: u64,
    /// The requested page.
    pub hits: Vec<Hit>,
    /// The requested facet counts, in the requested order.
    pub facets: Vec<FacetCounts>,
    /// Time spent, microseconds.
    pub took_us: u64,
}

impl SearchResults {
    /// The counts of `facet`, when requested.
    pub fn facet(&self, facet: Facet) -> Option<&FacetCounts> {
        self.facets.iter().find(|f| f.facet == facet)
    }
}

/// A compiled search: the query, and its positive text part alone (for snippets).
type Compiled = (Box<dyn Query>, Option<Box<dyn Query>>);

/// A clause of the query text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    text: String,
    negated: bool,
}

/// Splits the query text into words, quoted phrases and exclusions.
fn split_clauses(text: &str) -> Vec<Clause> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut word = String::new();
    let mut negated = false;
    let flush = |word: &mut String, negated: &mut bool, out: &mut Vec<Clause>| {
        if !word.is_empty() {
            out.push(Clause {
                text: std::mem::take(word),
                negated: *negated,
            });
        }
        *negated = false;
    };
    while let Some(c) = chars.next() {
        match c {
            '"' | '«' | '»' | '“' | '”' => {
                let negate_phrase = negated && word.is_empty();
                flush(&mut word, &mut negated, &mut out);
                let mut phrase = String::new();
                for c in chars.by_ref() {
                    if matches!(c, '"' | '»' | '”' | '«' | '“') {
                        break;
                    }
                    phrase.push(c);
                }
                out.push(Clause {
                    text: phrase,
                    negated: negate_phrase,
                });
            }
            '-' if word.is_empty() && !negated => negated = true,
            c if c.is_whitespace() => flush(&mut word, &mut negated, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut negated, &mut out);
    out
}

impl SearchIndex {
    /// The terms of `text` as the index holds them: a term query for one word, a phrase for
    /// several (a quoted phrase, or a hyphenated word split by the tokenizer). `None` when
    /// the text has only stop words or no word at all.
    fn clause_query(&self, text: &str) -> Option<Box<dyn Query>> {
        let mut analyzer = self.analyzers.query_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut terms: Vec<(usize, Term)> = Vec::new();
        let mut first: Option<usize> = None;
        while stream.advance() {
            let token = stream.token();
            let base = *first.get_or_insert(token.position);
            let offset = token.position.saturating_sub(base);
            if terms.last().is_some_and(|(o, _)| *o == offset) {
                continue; // one term per position
            }
            terms.push((offset, Term::from_field_text(self.fields.body, &token.text)));
        }
        match terms.len() {
            0 => None,
            1 => {
                let (_, term) = terms.pop()?;
                Some(Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)))
            }
            _ => Some(Box::new(PhraseQuery::new_with_offset(terms))),
        }
    }

    /// The query for `q`, and the positive text part alone (for snippets).
    fn compile(&self, q: &SearchQuery) -> Result<Compiled> {
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut positive: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut excluded: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut unsearchable = false;
        for clause in split_clauses(&q.text) {
            let Some(query) = self.clause_query(&clause.text) else {
                // Only stop words (or no word): a required clause that cannot match.
                unsearchable |= !clause.negated;
                continue;
            };
            if clause.negated {
                excluded.push((Occur::MustNot, Box::new(SafeSeek(query))));
            } else {
                positive.push((Occur::Must, query.box_clone()));
                must.push((Occur::Must, query));
            }
        }
        if unsearchable && must.is_empty() {
            return Ok((Box::new(EmptyQuery), None));
        }
        let has_text = !must.is_empty();
        for (facet, values) in &q.filters {
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
            if alternatives.is_empty() {
                continue;
            }
            let filter: Box<dyn Query> = Box::new(BooleanQuery::new(alternatives));
            must.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
        }
        if q.since.is_some() || q.until.is_some() {
            let field = self.fields.published_at;
            let lower = q.since.map_or(Bound::Unbounded, |s| {
                Bound::Included(Term::from_field_i64(field, s))
            });
            let upper = q.until.map_or(Bound::Unbounded, |u| {
                Bound::Excluded(Term::from_field_i64(field, u))
            });
            let range: Box<dyn Query> = Box::new(RangeQuery::new(lower, upper));
            must.push((Occur::Must, Box::new(ConstScoreQuery::new(range, 0.0))));
        }
        if must.is_empty() {
            must.push((Occur::Must, Box::new(AllQuery)));
        }
        must.extend(excluded);
        let query: Box<dyn Query> = if must.len() == 1 && has_text {
            let Some((_, only)) = must.pop() else {
                return Err(SearchError::Invalid("empty query".into()));
            };
            only
        } else {
            Box::new(BooleanQuery::new(must))
        };
        let positive: Option<Box<dyn Query>> =
            (!positive.is_empty()).then(|| Box::new(BooleanQuery::new(positive)) as Box<dyn Query>);
        Ok((query, positive))
    }

    /// Runs `q`.
    #[tracing::instrument(skip(self), fields(text = %q.text))]
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let started = Instant::now();
        if q.limit > MAX_LIMIT {
            return Err(SearchError::Invalid(format!(
                "limit {} is above {MAX_LIMIT}",
                q.limit
            )));
        }
        let (query, positive) = self.compile(q)?;
        let searcher = self.reader.searcher();
        let counter = FacetCounter {
            facets: q.facets.clone(),
        };
        let (total, counts, top) = if q.limit == 0 {
            let (total, counts) = searcher.search(&*query, &counter)?;
            (total, counts, Vec::new())
        } else {
            let pages = TopDocs::with_limit(q.limit).and_offset(q.offset);
            match q.sort {
                Sort::Relevance => {
                    let ((total, counts), top) =
                        searcher.search(&*query, &(counter.clone(), pages.order_by_score()))?;
                    let top = top.into_iter().map(|(s, a)| (Some(s), a)).collect();
                    (total, counts, top)
                }
                Sort::Newest | Sort::Oldest => {
                    let order = if q.sort == Sort::Newest {
                        Order::Desc
                    } else {
                        Order::Asc
                    };
                    let collector =
                        pages.order_by_fast_field::<i64>(crate::schema::PUBLISHED_AT, order);
                    let ((total, counts), top) =
                        searcher.search(&*query, &(counter.clone(), collector))?;
                    let top = top.into_iter().map(|(_, a)| (None, a)).collect();
                    (total, counts, top)
                }
            }
        };
        let snippets = match (&positive, q.snippets && !top.is_empty()) {
            (Some(positive), true) => {
                let mut generator =
                    SnippetGenerator::create(&searcher, &**positive, self.fields.body)?;
                generator.set_max_num_chars(200);
                Some(generator)
            }
            _ => None,
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let stored: TantivyDocument = searcher.doc(address)?;
            let doc = self.fields.to_search_doc(&stored);
            let snippet = snippets.as_ref().and_then(|g| {
                let mut s = g.snippet(&doc.text);
                if s.highlighted().is_empty()
                    && let Some(title) = &doc.title
                {
                    s = g.snippet(title);
                }
                if s.highlighted().is_empty() {
                    return None;
                }
                Some(Snippet {
                    fragment: s.fragment().to_owned(),
                    highlighted: s.highlighted().to_vec(),
                    html: s.to_html(),
                })
            });
            hits.push(Hit {
                key: doc.key(),
                score,
                doc,
                snippet,
            });
        }
        let facets = q
            .facets
            .iter()
            .map(|facet| {
                let mut values: Vec<FacetValue> = counts
                    .get(facet)
                    .map(|m| {
                        m.iter()
                            .map(|(value, count)| FacetValue {
                                value: value.clone(),
                                count: *count,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                let other = values.iter().skip(q.facet_limit).map(|v| v.count).sum();
                values.truncate(q.facet_limit);
                FacetCounts {
                    facet: *facet,
                    values,
                    other,
                }
            })
            .collect();
        let took_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        tracing::debug!(total, took_us, "searched");
        Ok(SearchResults {
            total,
            hits,
            facets,
            took_us,
        })
    }

    /// The stored document with `key`, if indexed.
    pub fn get(&self, key: DocKey) -> Result<Option<SearchDoc>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(self.fields.key_term(&key), IndexRecordOption::Basic);
        let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        match top.first() {
            Some((_, address)) => {
                let stored: TantivyDocument = searcher.doc(*address)?;
                Ok(Some(self.fields.to_search_doc(&stored)))
            }
            None => Ok(None),
        }
    }
}

/// Counts matching documents and the values of some facets, from the facets' fast fields
/// (term ordinals per segment, turned into strings once per segment).
#[derive(Clone)]
struct FacetCounter {
    facets: Vec<Facet>,
}

type FacetFruit = (u64, HashMap<Facet, HashMap<String, u64>>);

/// Documents buffered before their facet values are read.
const BLOCK: usize = 1_024;

struct SegmentFacetCounter {
    total: u64,
    columns: Vec<(Facet, StrColumn, Column<u64>, Vec<u32>)>,
    /// Collected, not yet counted.
    docs: Vec<DocId>,
    /// Scratch for the values of `docs`.
    values: Vec<Option<u64>>,
}

impl Collector for FacetCounter {
    type Fruit = FacetFruit;
    type Child = SegmentFacetCounter;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentFacetCounter> {
        let mut columns = Vec::with_capacity(self.facets.len());
        for facet in &self.facets {
            if let Some(column) = segment.fast_fields().str(facet.name())? {
                let ords = column.ords().clone();
                let counts = vec![0u32; column.num_terms()];
                columns.push((*facet, column, ords, counts));
            }
        }
        Ok(SegmentFacetCounter {
            total: 0,
            columns,
            docs: Vec::with_capacity(BLOCK),
            values: Vec::with_capacity(BLOCK),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetFruit>) -> tantivy::Result<FacetFruit> {
        let mut total = 0;
        let mut merged: HashMap<Facet, HashMap<String, u64>> = HashMap::new();
        for (n, counts) in fruits {
            total += n;
            for (facet, values) in counts {
                let into = merged.entry(facet).or_default();
                for (value, count) in values {
                    *into.entry(value).or_default() += count;
                }
            }
        }
        Ok((total, merged))
    }
}

impl SegmentFacetCounter {
    /// Counts the buffered documents' values, a block at a time (columns decode blocks
    /// faster than single values).
    fn flush(&mut self) {
        let docs = &self.docs;
        if docs.is_empty() {
            return;
        }
        self.total += docs.len() as u64;
        self.values.clear();
        self.values.resize(docs.len(), None);
        for (_, _, ords, counts) in &mut self.columns {
            ords.first_vals(docs, &mut self.values);
            for ord in self.values.iter().flatten() {
                if let Some(c) = counts.get_mut(*ord as usize) {
                    *c += 1;
                }
            }
        }
        self.docs.clear();
    }
}

impl SegmentCollector for SegmentFacetCounter {
    type Fruit = FacetFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.docs.push(doc);
        if self.docs.len() == BLOCK {
            self.flush();
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for chunk in docs.chunks(BLOCK) {
            self.docs.extend_from_slice(chunk);
            if self.docs.len() >= BLOCK {
                self.flush();
            }
        }
    }

    fn harvest(mut self) -> FacetFruit {
        self.flush();
        let mut out: HashMap<Facet, HashMap<String, u64>> = HashMap::new();
        for (facet, column, _, counts) in self.columns {
            let values = out.entry(facet).or_default();
            let mut text = String::new();
            for (ord, count) in counts.iter().enumerate() {
                if *count == 0 {
                    continue;
                }
                text.clear();
                if column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                    *values.entry(text.clone()).or_default() += u64::from(*count);
                }
            }
        }
        (self.total, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clauses(text: &str) -> Vec<(String, bool)> {
        split_clauses(text)
            .into_iter()
            .map(|c| (c.text, c.negated))
            .collect()
    }

    #[test]
    fn query_text_splits_into_words_phrases_and_exclusions() {
        assert_eq!(
            clauses("ямы  \"улица Ленина\" -снег -\"новый год\" «нет света»"),
            [
                ("ямы".to_owned(), false),
                ("улица Ленина".to_owned(), false),
                ("снег".to_owned(), true),
                ("новый год".to_owned(), true),
                ("нет света".to_owned(), false),
            ]
        );
        assert_eq!(
            clauses("Усть-Ледянск"),
            [("Усть-Ледянск".to_owned(), false)]
        );
        assert_eq!(clauses("\"незакрытая"), [("незакрытая".to_owned(), false)]);
        assert!(clauses("   ").is_empty());
    }
}
