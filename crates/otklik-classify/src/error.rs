//! The error type of the crate.

use std::path::PathBuf;

/// What can go wrong while reading examples, training, saving or loading a classifier.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    /// A CSV file could not be parsed; `row` is the 1-based line of the file (the header is
    /// line 1).
    #[error("CSV row {row}: {message}")]
    Csv {
        /// 1-based line number in the file.
        row: u64,
        /// What is wrong.
        message: String,
    },
    /// The CSV header lacks a required column.
    #[error("CSV header has no column `{0}`")]
    MissingColumn(String),
    /// Training needs at least one example with a non-empty text and label.
    #[error("no usable examples (every text or label was empty)")]
    NoExamples,
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The saved model file is not valid.
    #[error("model file {path}: {source}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The tantivy index failed.
    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// Opening an index directory failed.
    #[error("index directory: {0}")]
    OpenDirectory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// No keyword rules for this subcategory or category id.
    #[error("no keyword rules for {0:?}")]
    UnknownKeywordRule(String),
    /// The complaint cue lexicon (`complaint.toml`) is invalid.
    #[error("{origin}: line {line}: {message}")]
    Lexicon {
        /// The file, or `complaint lexicon` for text.
        origin: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The territory list or a region dictionary is invalid.
    #[error("{origin}: {message}")]
    Territory {
        /// The file and line (`streets.csv:12`), or the entry at fault.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Result with [`ClassifyError`].
pub type Result<T, E = ClassifyError> = std::result::Result<T, E>;
