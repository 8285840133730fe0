//! The tantivy tokenizer and token filters of the Otklik analyzers.
//!
//! - [`OtklikTokenizer`]: splits on every character that is not a letter or a digit. Combining
//!   accents and soft hyphens inside a word do not split it (they are dropped by
//!   [`RuNormalizer`]). **Hyphenated words are split into their parts** at consecutive
//!   positions («Усть-Илимск» → `усть`, `илимск`; «из-за» → two stop words): a query analysed
//!   the same way finds them as a phrase, and no joined form is indexed. Tokens longer than
//!   [`MAX_TOKEN_CHARS`] characters are dropped (they are never words, and would bloat the
//!   index). Positions count emitted tokens; offsets are byte offsets into the text.
//! - [`RuNormalizer`]: lowercase, ё→е, combining accents and soft hyphens removed.
//! - [`StopWordFilter`]: drops tokens in a [`StopWords`] list (keeping the positions of the
//!   others, so phrase queries across a removed word still work).
//! - [`SynonymFilter`]: after an abbreviation from [`Synonyms`] (`жкх`), emits the words of its
//!   expansions at the same position and offsets; a variant spelling (`уки`) is replaced by the
//!   canonical key (`ук`).
//! - [`RussianStemFilter`]: Snowball stemming with `rust-stemmers` — Russian for Cyrillic
//!   tokens, English for ASCII-letter tokens, other tokens (digits, mixed) unchanged; words in
//!   its keyword set (the abbreviations) are never stemmed.

use std::borrow::Cow;
use std::cell::RefCell;
use std::mem;
use std::sync::{Arc, LazyLock};

use rust_stemmers::{Algorithm, Stemmer};
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

use crate::dict::{StopWords, Synonyms};

/// Tokens longer than this many characters are dropped by [`OtklikTokenizer`].
pub const MAX_TOKEN_CHARS: usize = 64;

/// True for the characters a token is made of: letters, digits, and the marks that may sit
/// inside a word (combining accents, soft hyphen).
pub(crate) fn is_word_char(c: char) -> bool {
    crate::chars::is_alnum(c) || matches!(c, '\u{0300}'..='\u{036F}' | '\u{00AD}')
}

/// Splits text on every character that is not a letter or a digit; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct OtklikTokenizer {
    token: Token,
}

/// The stream of [`OtklikTokenizer`].
#[derive(Debug)]
pub struct OtklikTokenStream<'a> {
    text: &'a str,
    offset: usize,
    token: &'a mut Token,
}

impl Tokenizer for OtklikTokenizer {
    type TokenStream<'a> = OtklikTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> OtklikTokenStream<'a> {
        self.token.reset();
        OtklikTokenStream {
            text,
            offset: 0,
            token: &mut self.token,
        }
    }
}

impl TokenStream for OtklikTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let rest = self.text.get(self.offset..).unwrap_or("");
            let Some((start_rel, _)) = rest.char_indices().find(|&(_, c)| is_word_char(c)) else {
                self.offset = self.text.len();
                return false;
            };
            let start = self.offset + start_rel;
            let word = self.text.get(start..).unwrap_or("");
            let mut end_rel = word.len();
            let mut chars = 0usize;
            let mut has_alnum = false;
            for (i, c) in word.char_indices() {
                if !is_word_char(c) {
                    end_rel = i;
                    break;
                }
                has_alnum = has_alnum || crate::chars::is_alnum(c);
                chars += 1;
            }
            let end = start + end_rel;
            self.offset = end;
            // Too long to be a word, or only marks (a lone stress accent or soft hyphen).
            if chars > MAX_TOKEN_CHARS || !has_alnum {
                continue;
            }
            self.token.text.clear();
            self.token.text.push_str(word.get(..end_rel).unwrap_or(""));
            self.token.offset_from = start;
            self.token.offset_to = end;
            self.token.position = self.token.position.wrapping_add(1);
            self.token.position_length = 1;
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Writes the lowercased, ё-folded form of `text` into `out` (cleared first).
fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    for c in text.chars() {
        crate::chars::push_lower_folded(c, out);
    }
}

/// Token filter: lowercase, ё→е, combining accents and soft hyphens removed.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuNormalizer;

impl TokenFilter for RuNormalizer {
    type Tokenizer<T: Tokenizer> = RuNormalizerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> RuNormalizerFilter<T> {
        RuNormalizerFilter {
            inner: tokenizer,
            buffer: String::new(),
        }
    }
}

/// [`RuNormalizer`] applied to a tokenizer.
#[derive(Clone, Debug)]
pub struct RuNormalizerFilter<T> {
    inner: T,
    buffer: String,
}

impl<T: Tokenizer> Tokenizer for RuNormalizerFilter<T> {
    type TokenStream<'a> = RuNormalizerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        RuNormalizerStream {
            tail: self.inner.token_stream(text),
            buffer: &mut self.buffer,
        }
    }
}

/// The stream of [`RuNormalizerFilter`].
#[derive(Debug)]
pub struct RuNormalizerStream<'a, S> {
    tail: S,
    buffer: &'a mut String,
}

impl<S: TokenStream> TokenStream for RuNormalizerStream<'_, S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if token.text.is_ascii() {
            token.text.make_ascii_lowercase();
        } else {
            normalize_into(&token.text, self.buffer);
            mem::swap(&mut token.text, self.buffer);
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Token filter dropping stop words (compared with the normalized, unstemmed token).
#[derive(Clone, Debug, Default)]
pub struct StopWordFilter {
    words: Arc<StopWords>,
}

impl StopWordFilter {
    /// A filter dropping `words`.
    pub fn new(words: Arc<StopWords>) -> Self {
        Self { words }
    }
}

impl TokenFilter for StopWordFilter {
    type Tokenizer<T: Tokenizer> = StopWordFilterTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> StopWordFilterTokenizer<T> {
        StopWordFilterTokenizer {
            inner: tokenizer,
            words: self.words,
        }
    }
}

/// [`StopWordFilter`] applied to a tokenizer.
#[derive(Clone, Debug)]
pub struct StopWordFilterTokenizer<T> {
    inner: T,
    words: Arc<StopWords>,
}

impl<T: Tokenizer> Tokenizer for StopWordFilterTokenizer<T> {
    type TokenStream<'a> = StopWordStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StopWordStream {
            tail: self.inner.token_stream(text),
            words: &self.words,
        }
    }
}

/// The stream of [`StopWordFilterTokenizer`].
#[derive(Debug)]
pub struct StopWordStream<'a, S> {
    tail: S,
    words: &'a StopWords,
}

impl<S: TokenStream> TokenStream for StopWordStream<'_, S> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            if !self.words.contains(&self.tail.token().text) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Token filter expanding abbreviations: after the (canonical) abbreviation, the words of its
/// expansions are emitted at the same position and offsets.
///
/// The words are emitted as stored in the [`Synonyms`]; the `otklik_ru` analyzer builds them
/// with stop words already removed and places this filter before [`RussianStemFilter`], which
/// stems them (and leaves the abbreviations themselves alone).
#[derive(Clone, Debug, Default)]
pub struct SynonymFilter {
    synonyms: Arc<Synonyms>,
    expand: bool,
}

impl SynonymFilter {
    /// A filter expanding `synonyms`.
    pub fn new(synonyms: Arc<Synonyms>) -> Self {
        Self {
            synonyms,
            expand: true,
        }
    }

    /// A filter that only replaces variant spellings by the canonical abbreviation, without
    /// emitting expansions (for query analysis against an index expanded at indexing time).
    pub fn canonical_only(synonyms: Arc<Synonyms>) -> Self {
        Self {
            synonyms,
            expand: false,
        }
    }
}

impl TokenFilter for SynonymFilter {
    type Tokenizer<T: Tokenizer> = SynonymFilterTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> SynonymFilterTokenizer<T> {
        SynonymFilterTokenizer {
            inner: tokenizer,
            synonyms: self.synonyms,
            expand: self.expand,
        }
    }
}

/// [`SynonymFilter`] applied to a tokenizer.
#[derive(Clone, Debug)]
pub struct SynonymFilterTokenizer<T> {
    inner: T,
    synonyms: Arc<Synonyms>,
    expand: bool,
}

impl<T: Tokenizer> Tokenizer for SynonymFilterTokenizer<T> {
    type TokenStream<'a> = SynonymStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        SynonymStream {
            tail: self.inner.token_stream(text),
            synonyms: &self.synonyms,
            expand: self.expand,
            pending: &[],
        }
    }
}

/// The stream of [`SynonymFilterTokenizer`].
#[derive(Debug)]
pub struct SynonymStream<'a, S> {
    tail: S,
    synonyms: &'a Synonyms,
    expand: bool,
    /// Expansion words still to emit at the current position.
    pending: &'a [String],
}

impl<S: TokenStream> TokenStream for SynonymStream<'_, S> {
    fn advance(&mut self) -> bool {
        if let Some((word, rest)) = self.pending.split_first() {
            self.pending = rest;
            let token = self.tail.token_mut();
            token.text.clear();
            token.text.push_str(word);
            return true;
        }
        if !self.tail.advance() {
            return false;
        }
        let synonyms = self.synonyms;
        if let Some(entry) = synonyms.get(&self.tail.token().text) {
            if let Some(canonical) = entry.keys.first()
                && *canonical != self.tail.token().text
            {
                let token = self.tail.token_mut();
                token.text.clear();
                token.text.push_str(canonical);
            }
            if self.expand {
                self.pending = &entry.words;
            }
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));
static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// Which Snowball stemmer applies to a normalized token.
fn stemmer_for(word: &str) -> Option<&'static Stemmer> {
    let mut cyrillic = false;
    let mut latin = false;
    for c in word.chars() {
        match c {
            'а'..='я' | 'ё' => cyrillic = true,
            'a'..='z' => latin = true,
            _ => return None,
        }
    }
    match (cyrillic, latin) {
        (true, false) => Some(&RUSSIAN),
        (false, true) => Some(&ENGLISH),
        _ => None,
    }
}

/// Stems one normalized (lowercase, ё-folded) word: Russian Snowball for Cyrillic words,
/// English Snowball for ASCII-letter words; anything else is returned unchanged.
pub(crate) fn stem_normalized(word: &str) -> Cow<'_, str> {
    match stemmer_for(word) {
        Some(stemmer) => stemmer.stem(word),
        None => Cow::Borrowed(word),
    }
}

/// Words a [`RussianStemFilter`] leaves unstemmed.
pub(crate) type KeywordSet = foldhash::HashSet<String>;

/// Stems of recently seen words, per thread. Snowball costs a few hundred nanoseconds a word;
/// post vocabulary is very repetitive, so most tokens are found here. Cleared when full.
const STEM_CACHE_CAPACITY: usize = 65_536;
/// Longer words are stemmed without the cache.
const STEM_CACHE_MAX_WORD_BYTES: usize = 48;

thread_local! {
    static STEM_CACHE: RefCell<foldhash::HashMap<Box<str>, Box<str>>> =
        RefCell::new(foldhash::HashMap::default());
}

/// Replaces the normalized word in `text` by its stem, through the per-thread cache.
fn stem_in_place(text: &mut String) {
    let Some(stemmer) = stemmer_for(text) else {
        return;
    };
    if text.len() <= STEM_CACHE_MAX_WORD_BYTES {
        let cached = STEM_CACHE.try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return false;
            };
            if let Some(stem) = cache.get(text.as_str()) {
                text.clear();
                text.push_str(stem);
                return true;
            }
            let stem: Box<str> = stemmer.stem(text).into();
            if cache.len() >= STEM_CACHE_CAPACITY {
                cache.clear();
            }
            let word = mem::take(text).into_boxed_str();
            text.push_str(&stem);
            cache.insert(word, stem);
            true
        });
        if cached == Ok(true) {
            return;
        }
    }
    if let Cow::Owned(stemmed) = stemmer.stem(text) {
        *text = stemmed;
    }
}

/// Token filter stemming with `rust-stemmers` (Russian Snowball; English for Latin words).
/// Expects normalized tokens (see [`RuNormalizer`]). Words in the keyword set are kept as they
/// are. Stems are memoized per thread (at most 65,536 words).
#[derive(Clone, Debug, Default)]
pub struct RussianStemFilter {
    keywords: Arc<KeywordSet>,
}

impl RussianStemFilter {
    /// A stemmer with no protected words.
    pub fn new() -> Self {
        Self::default()
    }

    /// A stemmer that leaves `keywords` unstemmed (compared after lowercasing and ё→е).
    pub fn with_keywords<I, S>(keywords: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = KeywordSet::default();
        let mut buf = String::new();
        for word in keywords {
            crate::dict::normalize_word(word.as_ref(), &mut buf);
            set.insert(buf.clone());
        }
        Self {
            keywords: Arc::new(set),
        }
    }

    /// A stemmer sharing an already normalized keyword set.
    pub(crate) fn with_shared_keywords(keywords: Arc<KeywordSet>) -> Self {
        Self { keywords }
    }
}

impl TokenFilter for RussianStemFilter {
    type Tokenizer<T: Tokenizer> = RussianStemFilterTokenizer<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> RussianStemFilterTokenizer<T> {
        RussianStemFilterTokenizer {
            inner: tokenizer,
            keywords: self.keywords,
        }
    }
}

/// [`RussianStemFilter`] applied to a tokenizer.
#[derive(Clone, Debug)]
pub struct RussianStemFilterTokenizer<T> {
    inner: T,
    keywords: Arc<KeywordSet>,
}

impl<T: Tokenizer> Tokenizer for RussianStemFilterTokenizer<T> {
    type TokenStream<'a> = RussianStemStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        RussianStemStream {
            tail: self.inner.token_stream(text),
            keywords: &self.keywords,
        }
    }
}

/// The stream of [`RussianStemFilterTokenizer`].
#[derive(Debug)]
pub struct RussianStemStream<'a, S> {
    tail: S,
    keywords: &'a KeywordSet,
}

impl<S: TokenStream> TokenStream for RussianStemStream<'_, S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if self.keywords.contains(&token.text) {
            return true;
        }
        stem_in_place(&mut token.text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
