//! `rules/poll-topics.toml`: the region's approved list of poll topics («перечень тематик для
//! проведения голосований»). Validated like the other rules files: every error names the file,
//! line and column, and all of them are reported together.

use std::collections::HashMap;
use std::path::Path;

use otklik_rules::{Origin, RulesError, is_valid_category_id};
use serde::Deserialize;
use toml::Spanned;

/// File name of the poll topics in a rules directory.
pub const POLL_TOPICS_FILE: &str = "poll-topics.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    topic: Vec<Spanned<RawTopic>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    code: Spanned<String>,
    name: Spanned<String>,
}

/// One topic polls may be held on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PollTopic {
    /// Stable code («improvement»).
    pub code: String,
    /// Russian name shown to people («Благоустройство»).
    pub name: String,
}

/// The validated list of topics, in file order. An empty list means "no list": any topic (or
/// none) is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PollTopics {
    topics: Vec<PollTopic>,
}

impl PollTopics {
    /// A list built in code (tests, defaults); codes are not re-validated.
    pub fn new(topics: Vec<PollTopic>) -> Self {
        Self { topics }
    }

    /// Every topic, in file order.
    pub fn all(&self) -> &[PollTopic] {
        &self.topics
    }

    /// The topic with `code`.
    pub fn get(&self, code: &str) -> Option<&PollTopic> {
        self.topics.iter().find(|t| t.code == code)
    }

    /// How many topics.
    pub fn len(&self) -> usize {
        self.topics.len()
    }

    /// No list at all.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }
}

/// Reads and validates a poll topics file.
pub fn load_poll_topics(path: impl AsRef<Path>) -> Result<PollTopics, RulesError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_poll_topics(&text, path)
}

/// Parses and validates the text of a poll topics file: at least one `[[topic]]`; codes valid
/// (`[a-z][a-z0-9_]*`) and unique; names non-empty and unique.
pub fn parse_poll_topics(
    text: &str,
    file_name: impl AsRef<Path>,
) -> Result<PollTopics, RulesError> {
    let file = file_name.as_ref();
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let origin = Origin::at(file, text, e.span().map_or(0, |s| s.start));
        RulesError::Syntax {
            file: origin.file,
            line: origin.line,
            column: origin.column,
            message: e.message().trim().to_owned(),
        }
    })?;
    let at = |span: std::ops::Range<usize>| Origin::at(file, text, span.start);
    let mut errors = Vec::new();
    if raw.topic.is_empty() {
        errors.push(RulesError::invalid(&at(0..0), "no [[topic]] defined"));
    }
    let mut codes: HashMap<String, usize> = HashMap::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut topics = Vec::with_capacity(raw.topic.len());
    for t in &raw.topic {
        let t = t.get_ref();
        let code_at = at(t.code.span());
        let code = t.code.get_ref().trim();
        if !is_valid_category_id(code) {
            errors.push(RulesError::invalid(
                &code_at,
                format!("bad topic code {code:?}: expected ASCII lowercase [a-z][a-z0-9_]*"),
            ));
        }
        if let Some(first) = codes.get(code) {
            errors.push(RulesError::invalid(
                &code_at,
                format!("duplicate topic code {code:?} (first defined at line {first})"),
            ));
            continue;
        }
        codes.insert(code.to_owned(), code_at.line);
        let name_at = at(t.name.span());
        let name = t.name.get_ref().trim();
        if name.is_empty() {
            errors.push(RulesError::invalid(
                &name_at,
                format!("empty name of topic {code:?}"),
            ));
        } else if let Some(first) = names.get(&name.to_lowercase()) {
            errors.push(RulesError::invalid(
                &name_at,
                format!("duplicate topic name {name:?} (first used at line {first})"),
            ));
        } else {
            names.insert(name.to_lowercase(), name_at.line);
        }
        topics.push(PollTopic {
            code: code.to_owned(),
            name: name.to_owned(),
        });
    }
    match errors.len() {
        0 => Ok(PollTopics { topics }),
        1 => Err(errors.remove(0)),
        _ => {
            errors.sort_by_key(|e| e.location().map(|(_, l, c)| (l, c)).unwrap_or_default());
            Err(RulesError::Many(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_shipped_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../rules")
            .join(POLL_TOPICS_FILE);
        let topics = load_poll_topics(&path).expect("shipped file is valid");
        assert!(topics.len() >= 5);
        assert!(topics.get("improvement").is_some());
        assert!(topics.get("budget").is_some());
        assert!(topics.get("nope").is_none());
    }

    #[test]
    fn errors_have_positions_and_are_all_reported() {
        let text = "[[topic]]\ncode = \"roads\"\nname = \"Дороги\"\n\n[[topic]]\ncode = \"roads\"\nname = \"Дороги 2\"\n\n[[topic]]\ncode = \"Bad-Code\"\nname = \" \"\n\n[[topic]]\ncode = \"parks\"\nname = \"дороги\"\n";
        let err = parse_poll_topics(text, "rules/poll-topics.toml")
            .expect_err("invalid")
            .to_string();
        assert!(
            err.contains("rules/poll-topics.toml:6:8: duplicate topic code \"roads\" (first defined at line 2)"),
            "{err}"
        );
        assert!(
            err.contains("rules/poll-topics.toml:10:8: bad topic code"),
            "{err}"
        );
        assert!(
            err.contains("rules/poll-topics.toml:11:8: empty name"),
            "{err}"
        );
        assert!(
            err.contains("rules/poll-topics.toml:15:8: duplicate topic name"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_unknown_fields_and_empty_files() {
        let err = parse_poll_topics("[[topic]]\ncode = \"a\"\nname = \"x\"\nwhy = 1\n", "t.toml")
            .expect_err("unknown field")
            .to_string();
        assert!(err.starts_with("t.toml:4:1: unknown field `why`"), "{err}");
        let err = parse_poll_topics("", "t.toml")
            .expect_err("empty")
            .to_string();
        assert!(err.contains("no [[topic]] defined"), "{err}");
        let err = parse_poll_topics("[[topic]\n", "t.toml")
            .expect_err("syntax")
            .to_string();
        assert!(err.starts_with("t.toml:1:"), "{err}");
        assert!(load_poll_topics("/nonexistent/poll-topics.toml").is_err());
    }
}
