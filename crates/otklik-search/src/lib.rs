//! # otklik-search
//!
//! The archive search of Otklik: one [tantivy] index over every workflow message and every
//! collected post, analysed with **the same Russian analyzer** as the classifier and the rules
//! ([`otklik_text::RU_ANALYZER`]: ё→е, stop words, abbreviation expansion, Snowball stemming
//! with `rust-stemmers`), so «ямы» finds «яма», «ямой», and «ЖКХ» finds «жилищно-коммунальное
//! хозяйство».
//!
//! - [`SearchDoc`] is what is indexed (independent of the store): id, kind (message or
//!   post), text, title, timestamps and the facet fields — category, subcategory, territory,
//!   organisation, network, status; the month (`period`) is derived from the publication
//!   time.
//! - [`SearchIndex`] opens or creates an index directory (registering the analyzers every
//!   time), searches it ([`SearchIndex::search`]): stemmed words (all required), `"phrases"`,
//!   `-exclusions`, facet filters and a date range, facet counts over all matches, sort by
//!   relevance or date, paging, highlighted snippets.
//! - [`Indexer`] applies batches of [`Change`]s and commits them with a [`Watermark`] (the
//!   last indexed change of the store) in the commit payload; every commit reloads the reader,
//!   so new items are searchable at once (other processes see them within about a second:
//!   the reader also watches `meta.json`).
//! - [`sync`] (feature `store`, on by default) follows the store from the watermark, or
//!   rebuilds the index from scratch — the index is only a cache.
//! - [`generate`] produces realistic posts about the demo region for benchmarks.
//! - [`topics`] finds frequent and emerging problems: significant terms and phrases of a
//!   period and territory against a baseline ([`SearchIndex::topics`]), near-duplicates
//!   clustered into titled [`Topic`]s, and spikes of today against the trailing weeks
//!   ([`SearchIndex::spikes`]).
//!
//! ```
//! use otklik_search::{Facet, SearchDoc, SearchIndex, SearchQuery, DocKind};
//!
//! # fn main() -> Result<(), otklik_search::SearchError> {
//! let index = SearchIndex::in_ram()?;
//! let mut indexer = index.indexer(Default::default())?;
//! indexer.upsert(&SearchDoc {
//!     kind: DocKind::Post,
//!     id: 1,
//!     text: "Огромная яма на улице Ленина, машины бьют колёса".into(),
//!     published_at: 1_760_000_000_000,
//!     category: Some("roads".into()),
//!     territory: Some("seversk-tsentralny".into()),
//!     ..SearchDoc::default()
//! })?;
//! indexer.commit()?; // searchable from here on
//!
//! let found = index.search(&SearchQuery::new("ямы").facet(Facet::Category))?;
//! assert_eq!(found.total, 1);
//! assert_eq!(found.facet(Facet::Category).map(|f| f.count("roads")), Some(1));
//! let snippet = found.hits[0].snippet.as_ref().map(|s| s.html.as_str());
//! assert_eq!(snippet, Some("Огромная <b>яма</b> на улице Ленина, машины бьют колёса"));
//! # Ok(())
//! # }
//! ```

pub mod doc;
mod error;
pub mod generate;
mod index;
mod safe_seek;
mod schema;
mod search;
#[cfg(feature = "store")]
pub mod sync;
pub mod topics;

pub use doc::{DocKey, DocKind, Facet, SearchDoc, month_of, month_start_ms};
pub use error::{Result, SearchError};
pub use index::{Change, FeedMark, Indexer, IndexerOptions, SearchIndex, Watermark};
pub use schema::SCHEMA_VERSION;
pub use search::{
    FacetCounts, FacetValue, Hit, MAX_LIMIT, SearchQuery, SearchResults, Snippet, Sort,
};
pub use topics::{
    BaselineScope, SignificantTerm, Spike, SpikeKind, SpikeQuery, SpikeReport, Topic, TopicOptions,
    TopicOrder, TopicsQuery, TopicsReport,
};

/// Resident memory of this process (VmRSS), bytes; `None` where `/proc` is unavailable. For
/// the benchmarks' memory figure.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
