//! Errors: row-numbered [`RowError`]s collected into one [`ImportError`].

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// How many row errors [`ImportError`]'s `Display` prints before summarising the rest.
const DISPLAY_LIMIT: usize = 100;

/// One problem in one row of one file.
///
/// `row` is the line number a person sees in an editor: the header is line 1, so the first data
/// row is line 2. A record with a quoted multi-line field is reported at the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// File name (or path) as given to the parser.
    pub file: String,
    /// 1-based line number where the record starts (header = 1).
    pub row: u64,
    /// Column name, when the problem belongs to one column.
    pub column: Option<String>,
    /// What is wrong, in English.
    pub message: String,
}

impl RowError {
    /// A new row error.
    pub fn new(
        file: impl Into<String>,
        row: u64,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            row,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.row)?;
        if let Some(column) = &self.column {
            write!(f, "column {column}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RowError {}

/// Everything that can go wrong while importing directory files.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ImportError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The data is invalid; every problem found is listed. Nothing from the affected files may be
    /// imported.
    #[error("{}", display_rows(.errors))]
    Invalid {
        /// All problems, in file and line order.
        errors: Vec<RowError>,
    },
    /// An import kind name that is not one of the five.
    #[error(
        "unknown import kind {0:?} (expected one of: territories, organisations, users, communities, sources)"
    )]
    UnknownKind(String),
    /// A directory without any of the known file names.
    #[error(
        "{} holds none of the directory files (territories.csv, organisations.csv, users.csv, communities.csv, sources.csv)",
        dir.display()
    )]
    NoFiles {
        /// The directory.
        dir: PathBuf,
    },
    /// A file above the size limit.
    #[error("{file}: file is larger than {limit} bytes")]
    TooLarge {
        /// File name.
        file: String,
        /// The limit in bytes.
        limit: u64,
    },
}

impl ImportError {
    /// The row errors of an [`ImportError::Invalid`]; empty for other variants.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            ImportError::Invalid { errors } => errors,
            _ => &[],
        }
    }
}

fn display_rows(errors: &[RowError]) -> String {
    if errors.is_empty() {
        return "invalid import data".to_owned();
    }
    let mut out = String::new();
    for (i, e) in errors.iter().take(DISPLAY_LIMIT).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&e.to_string());
    }
    if errors.len() > DISPLAY_LIMIT {
        out.push_str(&format!(
            "\n… and {} more errors",
            errors.len() - DISPLAY_LIMIT
        ));
    }
    out
}

/// Collects the row errors of one file.
#[derive(Debug)]
pub(crate) struct Errors {
    file: String,
    list: Vec<RowError>,
}

impl Errors {
    pub(crate) fn new(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            list: Vec::new(),
        }
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    pub(crate) fn push(&mut self, row: u64, column: Option<&str>, message: impl Into<String>) {
        self.list
            .push(RowError::new(self.file.clone(), row, column, message));
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// `Ok(value)` when nothing was reported, otherwise all errors sorted by line.
    pub(crate) fn into_result<T>(mut self, value: T) -> Result<T, ImportError> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            // Stable: errors of one row keep their column order.
            self.list.sort_by_key(|e| e.row);
            Err(ImportError::Invalid { errors: self.list })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_the_documented_shape() {
        let e = RowError::new(
            "organisations.csv",
            7,
            Some("kind"),
            "unknown organisation kind \"ROIV2\"",
        );
        assert_eq!(
            e.to_string(),
            "organisations.csv:7: column kind: unknown organisation kind \"ROIV2\""
        );
        let e = RowError::new("users.csv", 3, None, "expected 6 fields, found 5");
        assert_eq!(e.to_string(), "users.csv:3: expected 6 fields, found 5");
    }

    #[test]
    fn invalid_lists_every_error_and_caps_the_display() {
        let errors: Vec<RowError> = (0..150)
            .map(|i| RowError::new("a.csv", i + 2, None, "bad"))
            .collect();
        let e = ImportError::Invalid { errors };
        let text = e.to_string();
        assert!(text.starts_with("a.csv:2: bad\na.csv:3: bad"));
        assert!(text.ends_with("… and 50 more errors"));
        assert_eq!(e.row_errors().len(), 150);
    }
}
