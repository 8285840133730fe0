//! The crate's error type.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// One malformed line of a dictionary file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictionaryIssue {
    /// The file as named by the caller (`dictionaries/ru/synonyms.txt`), or `<embedded …>`.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, in English.
    pub message: String,
}

impl fmt::Display for DictionaryIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Everything that can go wrong in this crate. Text cleaning, language detection and analysis
/// never fail; only loading dictionaries and registering on an index do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TextError {
    /// A dictionary file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// One or more lines of a dictionary file are malformed; every bad line is listed, one per
    /// line of the message, as `file:line: problem`.
    #[error("{}", join_issues(.0))]
    Dictionary(Vec<DictionaryIssue>),
}

fn join_issues(issues: &[DictionaryIssue]) -> String {
    let mut out = String::new();
    for (i, issue) in issues.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&issue.to_string());
    }
    out
}
