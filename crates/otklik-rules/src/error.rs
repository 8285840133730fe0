//! Errors with a file:line:column position, and the collector that gathers several of them.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A position in a rules file: the file as it was named by the caller, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// File as named by the caller (`rules/routing.toml`).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Origin {
    /// The position of byte `offset` of `text`, which was read from `file`.
    pub fn at(file: &Path, text: &str, offset: usize) -> Self {
        let (line, column) = line_col(text, offset);
        Self {
            file: file.to_path_buf(),
            line,
            column,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// A value read from a rules file, with where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it is written.
    pub origin: Origin,
}

/// 1-based (line, column) of byte `offset` in `text`; column counts characters, not bytes.
/// Offsets past the end or inside a character are clamped, never a panic.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Everything that can go wrong while loading rules. Every variant that comes from a file's
/// content names the file, line and column.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or not the expected shape (unknown field, wrong type, missing field,
    /// unknown level).
    #[error("{}:{line}:{column}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed TOML that breaks a rule (duplicate id, dangling parent, bad deadline, …).
    #[error("{}:{line}:{column}: {message}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Several errors, in file and line order; displayed one per line.
    #[error("{}", display_all(.0))]
    Many(Vec<RulesError>),
}

fn display_all(errors: &[RulesError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl RulesError {
    /// A semantic error at `origin`.
    pub fn invalid(origin: &Origin, message: impl Into<String>) -> Self {
        Self::Invalid {
            file: origin.file.clone(),
            line: origin.line,
            column: origin.column,
            message: message.into(),
        }
    }

    /// A TOML error from the `toml` crate, positioned with its span.
    pub(crate) fn from_toml(file: &Path, text: &str, error: &toml::de::Error) -> Self {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| line_col(text, span.start));
        Self::Syntax {
            file: file.to_path_buf(),
            line,
            column,
            message: error.message().trim().to_owned(),
        }
    }

    /// The single errors this one is made of (itself unless it is [`RulesError::Many`]).
    pub fn errors(&self) -> Vec<&RulesError> {
        match self {
            Self::Many(all) => all.iter().flat_map(RulesError::errors).collect(),
            other => vec![other],
        }
    }

    /// File, line and column, for the variants that have them.
    pub fn location(&self) -> Option<(&Path, usize, usize)> {
        match self {
            Self::Syntax {
                file, line, column, ..
            }
            | Self::Invalid {
                file, line, column, ..
            } => Some((file.as_path(), *line, *column)),
            Self::Io { .. } | Self::Many(_) => None,
        }
    }
}

/// Gathers errors so that one load reports all of them.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    errors: Vec<RulesError>,
}

impl Collector {
    pub(crate) fn push(&mut self, error: RulesError) {
        match error {
            RulesError::Many(all) => self.errors.extend(all),
            other => self.errors.push(other),
        }
    }

    pub(crate) fn at(&mut self, origin: &Origin, message: impl Into<String>) {
        self.push(RulesError::invalid(origin, message));
    }

    pub(crate) fn merge<T>(&mut self, result: Result<T, RulesError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// `Ok(())` when nothing was collected, the error itself when one, [`RulesError::Many`]
    /// (sorted by file, line, column) otherwise.
    pub(crate) fn finish(mut self) -> Result<(), RulesError> {
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(self.errors.remove(0)),
            _ => {
                self.errors.sort_by(|a, b| {
                    let key = |e: &RulesError| {
                        e.location()
                            .map(|(f, l, c)| (f.to_path_buf(), l, c))
                            .unwrap_or_default()
                    };
                    key(a).cmp(&key(b))
                });
                Err(RulesError::Many(self.errors))
            }
        }
    }
}

/// Spanned value helper: the origin of a span in `text`.
pub(crate) fn origin_of(file: &Path, text: &str, span: Range<usize>) -> Origin {
    Origin::at(file, text, span.start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let t = "ab\nцд = 1\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        // "цд" is 4 bytes; "=" is the 4th character.
        assert_eq!(line_col(t, 8), (2, 4));
        // Inside a multibyte character or past the end: clamped, no panic.
        assert_eq!(line_col(t, 4), (2, 1));
        assert_eq!(line_col(t, 1000), (3, 1));
    }

    #[test]
    fn many_sorted_and_displayed_per_line() {
        let o = |line| Origin {
            file: PathBuf::from("r.toml"),
            line,
            column: 1,
        };
        let mut c = Collector::default();
        c.at(&o(9), "b");
        c.at(&o(2), "a");
        let e = c.finish().err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("r.toml:2:1: a\nr.toml:9:1: b"));
    }
}
