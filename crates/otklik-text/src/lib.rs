//! # otklik-text
//!
//! The Russian text analysis of Otklik, used alike by indexing (archive search), by the
//! classifier's rules and by queries — so that a post, a rule and a query all reduce «Ямы на
//! дорогах», «яма на дороге» and «ЯМЫ НА ДОРОГЕ!!!» to the same terms.
//!
//! - [`clean_text`] turns a raw post (plain text or HTML from VK, Telegram, RSS, web pages) into
//!   analysable text: tags stripped, entities decoded, Unicode normalized, ё→е, URLs removed
//!   (kept aside), VK links and @mentions reduced to names, hashtags split into words, emoji
//!   removed (counted), whitespace collapsed. See [`normalize`].
//! - [`detect`] / [`is_russian`] tell the language, deciding by letters first and asking
//!   whatlang only in ambiguous cases, because short Russian posts are often misread as
//!   Ukrainian, Belarusian or Bulgarian. See [`lang`].
//! - [`Analyzers`] builds the tantivy analyzers [`RU_ANALYZER`] (`otklik_ru`: tokenize,
//!   lowercase, ё→е, stop words, abbreviation expansion, Snowball stemming),
//!   [`RU_QUERY_ANALYZER`] and [`RU_EXACT_ANALYZER`] from [`Dictionaries`] (loaded from
//!   `dictionaries/ru/` or embedded), registers them on an index ([`Analyzers::register`] —
//!   needed every time an index is opened) and analyses text directly ([`Analyzers::analyze`]).
//!
//! There is one stemmer everywhere: `rust-stemmers` (Russian Snowball; English for Latin
//! words), wrapped as our own token filter [`RussianStemFilter`]; tantivy's built-in stemmer is
//! not used. Nothing here panics on any input; only loading dictionaries can fail
//! ([`TextError`], with `file:line` positions).
//!
//! ```
//! use otklik_text::{Analyzers, Lang, clean_text, detect};
//!
//! let post = clean_text("<p>Ямы на дорогах Шелехова!</p> 😡 #ЖКХ https://vk.com/wall-1_2");
//! assert_eq!(post.text, "Ямы на дорогах Шелехова!\nжкх");
//! assert_eq!(post.urls, ["https://vk.com/wall-1_2"]);
//! assert_eq!(detect(&post.text).lang, Lang::Ru);
//!
//! let analyzers = Analyzers::default();
//! assert_eq!(
//!     analyzers.analyze(&post.text),
//!     ["ям", "дорог", "шелехов", "жкх", "жилищн", "коммунальн", "хозяйств"]
//! );
//! assert_eq!(analyzers.stem_word("дорогой"), "дорог");
//!
//! // Registering on a tantivy index (required every time the index is opened):
//! use tantivy::schema::{Schema, TextFieldIndexing, TextOptions};
//! let mut schema = Schema::builder();
//! schema.add_text_field(
//!     "text",
//!     TextOptions::default().set_indexing_options(
//!         TextFieldIndexing::default().set_tokenizer(otklik_text::RU_ANALYZER),
//!     ),
//! );
//! let index = tantivy::Index::create_in_ram(schema.build());
//! analyzers.register(&index);
//! assert!(index.tokenizers().get(otklik_text::RU_ANALYZER).is_some());
//! ```

pub mod analyzer;
mod chars;
pub mod dict;
mod error;
pub mod lang;
pub mod normalize;
pub mod tokenizer;

pub use analyzer::{
    Analyzers, RU_ANALYZER, RU_EXACT_ANALYZER, RU_QUERY_ANALYZER, analyze, register, register_on,
    stem_word,
};
pub use dict::{Dictionaries, StopWords, SynonymEntry, Synonyms};
pub use error::{DictionaryIssue, TextError};
pub use lang::{DetectedBy, Detection, Lang, detect, is_russian};
pub use normalize::{CleanText, clean_text};
pub use tokenizer::{
    OtklikTokenizer, RuNormalizer, RussianStemFilter, StopWordFilter, SynonymFilter,
};
