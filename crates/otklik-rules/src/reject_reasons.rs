//! `reject-reasons.toml`: the configurable list of reasons a moderator may reject a message
//! with.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::categories::is_valid_category_id;
use crate::error::{Collector, RulesError, origin_of};

/// File name of the reject reasons in a rules directory.
pub const REJECT_REASONS_FILE: &str = "reject-reasons.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    reason: Vec<Spanned<RawReason>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReason {
    code: Spanned<String>,
    text: Spanned<String>,
    #[serde(default)]
    requires_comment: bool,
}

/// One reason a moderator may reject a message with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectReason {
    /// Stable code («duplicate»).
    pub code: String,
    /// Russian text shown to the citizen.
    pub text: String,
    /// The moderator must add a comment.
    pub requires_comment: bool,
}

/// The validated list of reject reasons, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RejectReasons {
    reasons: Vec<RejectReason>,
}

impl RejectReasons {
    /// A list built in code (tests, defaults); codes are not re-validated.
    pub fn new(reasons: Vec<RejectReason>) -> Self {
        Self { reasons }
    }

    /// Every reason, in file order.
    pub fn all(&self) -> &[RejectReason] {
        &self.reasons
    }

    /// The reason with `code`.
    pub fn get(&self, code: &str) -> Option<&RejectReason> {
        self.reasons.iter().find(|r| r.code == code)
    }

    /// How many reasons.
    pub fn len(&self) -> usize {
        self.reasons.len()
    }

    /// No reasons at all.
    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Reads and validates a reject-reasons file; errors name the file as given, with line and
/// column.
pub fn load_reject_reasons(path: impl AsRef<Path>) -> Result<RejectReasons, RulesError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_reject_reasons(&text, path)
}

/// Parses and validates the text of a reject-reasons file: at least one reason; codes valid
/// (`[a-z][a-z0-9_]*`) and unique; texts non-empty and unique. All validation errors are
/// reported together.
pub fn parse_reject_reasons(
    text: &str,
    file_name: impl AsRef<Path>,
) -> Result<RejectReasons, RulesError> {
    let file = file_name.as_ref();
    let raw: RawFile = toml::from_str(text).map_err(|e| RulesError::from_toml(file, text, &e))?;
    let at = |span: std::ops::Range<usize>| origin_of(file, text, span);
    let mut errs = Collector::default();
    if raw.reason.is_empty() {
        errs.at(&at(0..0), "no [[reason]] defined");
    }
    let mut codes: HashMap<String, usize> = HashMap::new();
    let mut texts: HashMap<String, usize> = HashMap::new();
    let mut reasons = Vec::with_capacity(raw.reason.len());
    for r in &raw.reason {
        let r = r.get_ref();
        let code_at = at(r.code.span());
        let code = r.code.get_ref().trim();
        if !is_valid_category_id(code) {
            errs.at(
                &code_at,
                format!("bad reason code {code:?}: expected ASCII lowercase [a-z][a-z0-9_]*"),
            );
        }
        if let Some(first) = codes.get(code) {
            errs.at(
                &code_at,
                format!("duplicate reason code {code:?} (first defined at line {first})"),
            );
            continue;
        }
        codes.insert(code.to_owned(), code_at.line);
        let text_at = at(r.text.span());
        let reason_text = r.text.get_ref().trim();
        if reason_text.is_empty() {
            errs.at(&text_at, format!("empty text of reason {code:?}"));
        } else if let Some(first) = texts.get(reason_text) {
            errs.at(
                &text_at,
                format!("duplicate reason text {reason_text:?} (first used at line {first})"),
            );
        } else {
            texts.insert(reason_text.to_owned(), text_at.line);
        }
        reasons.push(RejectReason {
            code: code.to_owned(),
            text: reason_text.to_owned(),
            requires_comment: r.requires_comment,
        });
    }
    errs.finish()?;
    Ok(RejectReasons { reasons })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shipped_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/reject-reasons.toml");
        let reasons = load_reject_reasons(&path).expect("shipped file is valid");
        assert!(reasons.len() >= 5);
        assert!(reasons.get("duplicate").is_some());
        assert!(reasons.get("other").is_some_and(|r| r.requires_comment));
        assert!(reasons.get("nope").is_none());
    }

    #[test]
    fn errors_have_positions_and_are_all_reported() {
        let text = "[[reason]]\ncode = \"dup\"\ntext = \"A\"\n\n[[reason]]\ncode = \"dup\"\ntext = \"B\"\n\n[[reason]]\ncode = \"Bad-Code\"\ntext = \"  \"\n";
        let err = parse_reject_reasons(text, "rules/reject-reasons.toml")
            .expect_err("invalid")
            .to_string();
        assert!(
            err.contains("rules/reject-reasons.toml:6:8: duplicate reason code \"dup\" (first defined at line 2)"),
            "{err}"
        );
        assert!(
            err.contains("rules/reject-reasons.toml:10:8: bad reason code"),
            "{err}"
        );
        assert!(
            err.contains("rules/reject-reasons.toml:11:8: empty text"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_and_empty_files_are_errors() {
        let err = parse_reject_reasons(
            "[[reason]]\ncode = \"a\"\ntext = \"x\"\nwhy = 1\n",
            "r.toml",
        )
        .expect_err("unknown field")
        .to_string();
        assert!(err.starts_with("r.toml:4:1: unknown field `why`"), "{err}");
        let err = parse_reject_reasons("", "r.toml")
            .expect_err("empty")
            .to_string();
        assert!(err.contains("no [[reason]] defined"), "{err}");
        let err = parse_reject_reasons(
            "[[reason]]\ncode = \"a\"\ntext = \"x\"\n[[reason]]\ncode = \"b\"\ntext = \"x\"\n",
            "r.toml",
        )
        .expect_err("duplicate text")
        .to_string();
        assert!(err.contains("r.toml:6:8: duplicate reason text"), "{err}");
    }
}
