//! The named analyzers and their registration on tantivy indexes.

use std::sync::{Arc, LazyLock};

use tantivy::Index;
use tantivy::tokenizer::{
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

use crate::dict::{Dictionaries, StopWords, Synonyms};
use crate::tokenizer::{
    KeywordSet, OtklikTokenizer, RuNormalizer, RuNormalizerFilter, RussianStemFilter,
    RussianStemFilterTokenizer, StopWordFilter, StopWordFilterTokenizer, SynonymFilter,
    SynonymFilterTokenizer, stem_normalized,
};

/// The main analyzer: tokenize, lowercase, ё→е, stop words, abbreviation expansion, Snowball
/// stemming. For indexing post text and for classifier rules.
pub const RU_ANALYZER: &str = "otklik_ru";
/// Tokenize, lowercase, ё→е only: no stop words, no synonyms, no stemming. Positions match
/// [`RU_ANALYZER`]'s, so it suits exact phrases and highlighting.
pub const RU_EXACT_ANALYZER: &str = "otklik_ru_exact";
/// Like [`RU_ANALYZER`] but abbreviations are only canonicalized, not expanded: for analysing
/// *queries* against fields indexed with [`RU_ANALYZER`] (the index holds the expansions, so a
/// query «ЖКХ» needs only `жкх`, and a query «жилищное хозяйство» still finds posts saying
/// «ЖКХ»).
pub const RU_QUERY_ANALYZER: &str = "otklik_ru_query";

type RuPipeline = RussianStemFilterTokenizer<
    SynonymFilterTokenizer<StopWordFilterTokenizer<RuNormalizerFilter<OtklikTokenizer>>>,
>;
type ExactPipeline = RuNormalizerFilter<OtklikTokenizer>;

/// The Otklik analyzers built from one set of [`Dictionaries`].
///
/// Cheap to clone (the dictionaries are shared). Analysis methods take `&self` and allocate
/// only the output.
#[derive(Clone, Debug)]
pub struct Analyzers {
    ru: RuPipeline,
    query: RuPipeline,
    exact: ExactPipeline,
    synonyms: Arc<Synonyms>,
    keywords: Arc<KeywordSet>,
}

impl Default for Analyzers {
    /// The analyzers over the embedded dictionaries.
    fn default() -> Self {
        Self::new(Dictionaries::embedded())
    }
}

impl Analyzers {
    /// Builds the analyzers from `dictionaries`.
    pub fn new(dictionaries: Dictionaries) -> Self {
        let Dictionaries {
            stopwords,
            synonyms,
        } = dictionaries;
        let expansions = Arc::new(synonyms.without_stopwords(&stopwords));
        let synonyms = Arc::new(synonyms);
        let keywords: Arc<KeywordSet> = Arc::new(synonyms.keys().map(str::to_owned).collect());
        let stopwords: Arc<StopWords> = Arc::new(stopwords);
        let ru = stemmed_pipeline(&stopwords, SynonymFilter::new(expansions), &keywords);
        let query = stemmed_pipeline(
            &stopwords,
            SynonymFilter::canonical_only(Arc::clone(&synonyms)),
            &keywords,
        );
        let exact = RuNormalizer.transform(OtklikTokenizer::default());
        Self {
            ru,
            query,
            exact,
            synonyms,
            keywords,
        }
    }

    /// The shared analyzers over the embedded dictionaries.
    pub fn embedded() -> &'static Analyzers {
        static EMBEDDED: LazyLock<Analyzers> = LazyLock::new(Analyzers::default);
        &EMBEDDED
    }

    /// The [`RU_ANALYZER`] pipeline as a tantivy analyzer.
    pub fn ru_analyzer(&self) -> TextAnalyzer {
        TextAnalyzer::from(self.ru.clone())
    }

    /// The [`RU_QUERY_ANALYZER`] pipeline as a tantivy analyzer.
    pub fn query_analyzer(&self) -> TextAnalyzer {
        TextAnalyzer::from(self.query.clone())
    }

    /// The [`RU_EXACT_ANALYZER`] pipeline as a tantivy analyzer.
    pub fn exact_analyzer(&self) -> TextAnalyzer {
        TextAnalyzer::from(self.exact.clone())
    }

    /// Registers the three analyzers on `index`. Tokenizers are not stored in an index, so
    /// this must be done every time an index is created or opened, before writing or querying.
    pub fn register(&self, index: &Index) {
        self.register_on(index.tokenizers());
    }

    /// Registers the three analyzers on a tokenizer manager.
    pub fn register_on(&self, manager: &TokenizerManager) {
        manager.register(RU_ANALYZER, self.ru_analyzer());
        manager.register(RU_QUERY_ANALYZER, self.query_analyzer());
        manager.register(RU_EXACT_ANALYZER, self.exact_analyzer());
    }

    /// A tokenizer manager for tantivy's `QueryParser::new(schema, fields, manager)`: the name
    /// [`RU_ANALYZER`] maps to the *query* pipeline ([`RU_QUERY_ANALYZER`]), so a parsed query
    /// on a field indexed with `otklik_ru` does not demand every expansion of an abbreviation.
    /// The other names map as in [`register_on`](Self::register_on), plus tantivy's defaults.
    pub fn query_tokenizer_manager(&self) -> TokenizerManager {
        let manager = TokenizerManager::default();
        self.register_on(&manager);
        manager.register(RU_ANALYZER, self.query_analyzer());
        manager
    }

    /// The token texts [`RU_ANALYZER`] produces for `text`, in order (what indexing stores).
    /// Expansions of an abbreviation follow it. `text` is analysed as given: run
    /// [`clean_text`](crate::clean_text) first on raw posts.
    pub fn analyze(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t.text.clone()));
        out
    }

    /// The full tokens (text, position, byte offsets) [`RU_ANALYZER`] produces for `text`.
    pub fn analyze_tokens(&self, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        self.for_each_token(text, |t| out.push(t.clone()));
        out
    }

    /// The token texts of [`RU_QUERY_ANALYZER`].
    pub fn analyze_query(&self, text: &str) -> Vec<String> {
        let mut pipeline = self.query.clone();
        collect_texts(&mut pipeline, text)
    }

    /// The token texts of [`RU_EXACT_ANALYZER`].
    pub fn analyze_exact(&self, text: &str) -> Vec<String> {
        let mut pipeline = self.exact.clone();
        collect_texts(&mut pipeline, text)
    }

    /// Calls `sink` with every token [`RU_ANALYZER`] produces for `text`, without allocating
    /// per token: the fast path for the classifier.
    pub fn for_each_token(&self, text: &str, mut sink: impl FnMut(&Token)) {
        let mut pipeline = self.ru.clone();
        let mut stream = pipeline.token_stream(text);
        while stream.advance() {
            sink(stream.token());
        }
    }

    /// The index term of one word as [`RU_ANALYZER`] would produce it, ignoring stop words:
    /// lowercase, ё→е, the canonical form of an abbreviation, otherwise its Snowball stem.
    /// Returns an empty string for input with no word; only the first word of several is used.
    pub fn stem_word(&self, word: &str) -> String {
        let mut normalized = String::new();
        let Some(first) = crate::dict::split_words(word).next() else {
            return normalized;
        };
        crate::dict::normalize_word(first, &mut normalized);
        if let Some(entry) = self.synonyms.get(&normalized) {
            return entry.keys.first().cloned().unwrap_or(normalized);
        }
        if self.keywords.contains(&normalized) {
            return normalized;
        }
        stem_normalized(&normalized).into_owned()
    }
}

fn collect_texts<T: Tokenizer>(pipeline: &mut T, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = pipeline.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// The stemmed pipeline with a given synonym filter.
fn stemmed_pipeline(
    stopwords: &Arc<StopWords>,
    synonyms: SynonymFilter,
    keywords: &Arc<KeywordSet>,
) -> RuPipeline {
    let t = RuNormalizer.transform(OtklikTokenizer::default());
    let t = StopWordFilter::new(Arc::clone(stopwords)).transform(t);
    let t = synonyms.transform(t);
    RussianStemFilter::with_shared_keywords(Arc::clone(keywords)).transform(t)
}

/// Registers the analyzers over the embedded dictionaries on `index`; see
/// [`Analyzers::register`].
pub fn register(index: &Index) {
    Analyzers::embedded().register(index);
}

/// Registers the analyzers over the embedded dictionaries on `manager`.
pub fn register_on(manager: &TokenizerManager) {
    Analyzers::embedded().register_on(manager);
}

/// [`Analyzers::analyze`] with the embedded dictionaries.
pub fn analyze(text: &str) -> Vec<String> {
    Analyzers::embedded().analyze(text)
}

/// Lowercases, ё-folds and Snowball-stems one word (Russian for Cyrillic, English for ASCII
/// letters; other words unchanged), with no dictionary: `«Дорогами»` → `дорог`. Only the first
/// word of the input is used; empty input gives an empty string.
pub fn stem_word(word: &str) -> String {
    let mut normalized = String::new();
    if let Some(first) = crate::dict::split_words(word).next() {
        crate::dict::normalize_word(first, &mut normalized);
    }
    stem_normalized(&normalized).into_owned()
}
