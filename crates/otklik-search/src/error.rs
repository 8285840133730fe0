//! The errors of the archive search.

use std::path::PathBuf;

/// Everything that can go wrong in the archive search.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// tantivy failed (I/O under the index, a corrupt or locked index…).
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be opened or created.
    #[error("search index directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The index on disk was written by another version of the schema: run a rebuild.
    #[error(
        "search index {path} has schema version {found}, this build needs {expected}: \
         rebuild it (`otklik search --rebuild`)"
    )]
    SchemaVersion {
        /// The directory.
        path: PathBuf,
        /// The version found in the commit payload.
        found: u32,
        /// The version this build writes.
        expected: u32,
    },
    /// The commit payload (the watermark) is not what this crate writes.
    #[error("search index watermark is unreadable: {0}")]
    Watermark(String),
    /// A query or a parameter is not valid.
    #[error("invalid search: {0}")]
    Invalid(String),
    /// Reading the store failed (the `sync` module).
    #[cfg(feature = "store")]
    #[error("store: {0}")]
    Store(#[from] otklik_store::StoreError),
}

/// `Result` with [`SearchError`].
pub type Result<T, E = SearchError> = std::result::Result<T, E>;
