//! The analyzer's dictionaries: stop words and abbreviation synonyms.
//!
//! Both are plain UTF-8 text files, by default `dictionaries/ru/stopwords.txt` and
//! `dictionaries/ru/synonyms.txt`; copies of the repository's files are embedded in the binary
//! ([`Dictionaries::embedded`], also [`Default`]) so the analyzer works with no files around.
//! Every malformed line is reported as `file:line: problem`, all of them at once.
//!
//! **`stopwords.txt`**: one word per line; `#` starts a comment (a whole line or the rest of a
//! line); blank lines are ignored. Words are lowercased and ё-folded when loaded and compared
//! with tokens before stemming. A line with more than one word, or with characters other than
//! letters and digits, is an error; so is a word listed twice.
//!
//! **`synonyms.txt`**: one entry per line, `#` comment lines and blank lines ignored:
//!
//! ```text
//! ЖКХ => жилищно-коммунальное хозяйство
//! УК, УКи, УКа => управляющая компания
//! ТКО => твердые коммунальные отходы | мусор
//! ```
//!
//! Left of `=>`: the abbreviation and optional variant spellings, comma-separated, each a
//! single word; the first is canonical, and variants are indexed as it. Right of `=>`: one or
//! more expansions separated by `|`, each one or more words (split like any text, so hyphenated
//! words become two). Keys are case-insensitive and may appear only once in the file.

use foldhash::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{DictionaryIssue, TextError};

/// The repository's `dictionaries/ru/stopwords.txt`, embedded.
pub const EMBEDDED_STOPWORDS: &str = include_str!("../../../dictionaries/ru/stopwords.txt");
/// The repository's `dictionaries/ru/synonyms.txt`, embedded.
pub const EMBEDDED_SYNONYMS: &str = include_str!("../../../dictionaries/ru/synonyms.txt");
/// Where the dictionaries live in the repository, relative to its root.
pub const DEFAULT_DICTIONARY_DIR: &str = "dictionaries/ru";
/// File name of the stop list inside a dictionary directory.
pub const STOPWORDS_FILE: &str = "stopwords.txt";
/// File name of the synonym list inside a dictionary directory.
pub const SYNONYMS_FILE: &str = "synonyms.txt";

/// Lowercases and ё-folds `word` the way the analyzer normalizes tokens.
pub(crate) fn normalize_word(word: &str, out: &mut String) {
    out.clear();
    for c in word.chars() {
        crate::chars::push_lower_folded(c, out);
    }
}

fn normalized(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    normalize_word(word, &mut s);
    s
}

/// Splits text into words the way the tokenizer does (on anything but letters and digits).
pub(crate) fn split_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !crate::tokenizer::is_word_char(c))
        .filter(|w| !w.is_empty())
}

/// The stop list: normalized word forms dropped by the `otklik_ru` analyzer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopWords {
    words: HashSet<String>,
}

impl StopWords {
    /// Parses a stop list; `file` names it in errors.
    pub fn parse(text: &str, file: impl AsRef<Path>) -> Result<Self, TextError> {
        let file = file.as_ref();
        let mut words = HashSet::default();
        let mut first_line: HashMap<String, usize> = HashMap::default();
        let mut issues = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = strip_comment(raw).trim();
            if content.is_empty() {
                continue;
            }
            let mut parts = split_words(content);
            let word = parts.next().unwrap_or("");
            if parts.next().is_some() || word != content {
                issues.push(issue(
                    file,
                    line,
                    format!(
                        "stop word must be a single word of letters or digits, got {content:?}"
                    ),
                ));
                continue;
            }
            let word = normalized(word);
            if let Some(first) = first_line.get(&word) {
                issues.push(issue(
                    file,
                    line,
                    format!("duplicate stop word {word:?} (first at line {first})"),
                ));
                continue;
            }
            first_line.insert(word.clone(), line);
            words.insert(word);
        }
        if issues.is_empty() {
            Ok(Self { words })
        } else {
            Err(TextError::Dictionary(issues))
        }
    }

    /// Builds a stop list from words (normalized here).
    pub fn from_words<I, S>(words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            words: words.into_iter().map(|w| normalized(w.as_ref())).collect(),
        }
    }

    /// True when `word` (already lowercased and ё-folded) is a stop word.
    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when there are no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(String::as_str)
    }
}

/// One line of the synonym list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynonymEntry {
    /// Normalized keys; the first is canonical.
    pub keys: Vec<String>,
    /// Normalized (lowercased, ё-folded, unstemmed) words of all expansions, in order, without
    /// duplicates.
    pub words: Vec<String>,
    /// 1-based line in the source file.
    pub line: usize,
}

/// The abbreviation list: key → expansion words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synonyms {
    entries: Vec<SynonymEntry>,
    by_key: HashMap<String, usize>,
}

impl Synonyms {
    /// Parses a synonym list; `file` names it in errors.
    pub fn parse(text: &str, file: impl AsRef<Path>) -> Result<Self, TextError> {
        let file = file.as_ref();
        let mut out = Self::default();
        let mut issues = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let Some((left, right)) = content.split_once("=>") else {
                issues.push(issue(
                    file,
                    line,
                    "expected `KEY => expansion`, found no `=>`".to_owned(),
                ));
                continue;
            };
            let mut keys = Vec::new();
            let mut bad = false;
            for key in left.split(',') {
                let key = key.trim();
                let mut parts = split_words(key);
                let word = parts.next().unwrap_or("");
                if key.is_empty() {
                    issues.push(issue(
                        file,
                        line,
                        "empty abbreviation before `=>`".to_owned(),
                    ));
                    bad = true;
                } else if parts.next().is_some() || word != key {
                    issues.push(issue(
                        file,
                        line,
                        format!(
                            "abbreviation must be a single word of letters or digits, got {key:?}"
                        ),
                    ));
                    bad = true;
                } else {
                    keys.push(normalized(word));
                }
            }
            let mut words: Vec<String> = Vec::new();
            for alternative in right.split('|') {
                let before = words.len();
                for word in split_words(alternative) {
                    let word = normalized(word);
                    if !words.contains(&word) {
                        words.push(word);
                    }
                }
                if words.len() == before && split_words(alternative).next().is_none() {
                    issues.push(issue(
                        file,
                        line,
                        "empty expansion after `=>` (or between `|`)".to_owned(),
                    ));
                    bad = true;
                }
            }
            if bad {
                continue;
            }
            let index = out.entries.len();
            let mut dup = false;
            for key in &keys {
                if let Some(&other) = out.by_key.get(key) {
                    let first = out.entries.get(other).map_or(0, |e| e.line);
                    issues.push(issue(
                        file,
                        line,
                        format!("duplicate abbreviation {key:?} (first at line {first})"),
                    ));
                    dup = true;
                }
            }
            let mut seen_here = HashSet::default();
            for key in &keys {
                if !seen_here.insert(key) {
                    issues.push(issue(
                        file,
                        line,
                        format!("abbreviation {key:?} listed twice on one line"),
                    ));
                    dup = true;
                }
            }
            if dup {
                continue;
            }
            for key in &keys {
                out.by_key.insert(key.clone(), index);
            }
            out.entries.push(SynonymEntry { keys, words, line });
        }
        if issues.is_empty() {
            Ok(out)
        } else {
            Err(TextError::Dictionary(issues))
        }
    }

    /// The entry for a normalized key or variant.
    pub fn get(&self, key: &str) -> Option<&SynonymEntry> {
        self.by_key.get(key).and_then(|&i| self.entries.get(i))
    }

    /// A copy whose expansion words exclude `stop` words (entries left with no word keep
    /// their keys, so variants are still canonicalized).
    pub fn without_stopwords(&self, stop: &StopWords) -> Self {
        let entries = self
            .entries
            .iter()
            .map(|e| SynonymEntry {
                keys: e.keys.clone(),
                words: e
                    .words
                    .iter()
                    .filter(|w| !stop.contains(w))
                    .cloned()
                    .collect(),
                line: e.line,
            })
            .collect();
        Self {
            entries,
            by_key: self.by_key.clone(),
        }
    }

    /// Every key and variant, normalized.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.by_key.keys().map(String::as_str)
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[SynonymEntry] {
        &self.entries
    }

    /// Number of entries (lines), not keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The dictionaries an analyzer is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dictionaries {
    /// Stop words.
    pub stopwords: StopWords,
    /// Abbreviations.
    pub synonyms: Synonyms,
}

impl Default for Dictionaries {
    fn default() -> Self {
        Self::embedded()
    }
}

impl Dictionaries {
    /// The dictionaries embedded at build time from `dictionaries/ru/`. (They are checked by the
    /// crate's tests; should they ever fail to parse, the list concerned is empty rather than a
    /// panic.)
    pub fn embedded() -> Self {
        Self {
            stopwords: StopWords::parse(EMBEDDED_STOPWORDS, "<embedded>/stopwords.txt")
                .unwrap_or_default(),
            synonyms: Synonyms::parse(EMBEDDED_SYNONYMS, "<embedded>/synonyms.txt")
                .unwrap_or_default(),
        }
    }

    /// Loads `stopwords.txt` and `synonyms.txt` from `dir` (e.g. `dictionaries/ru`). Both files
    /// must exist; problems in both are reported together.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, TextError> {
        let dir = dir.as_ref();
        Self::load_files(dir.join(STOPWORDS_FILE), dir.join(SYNONYMS_FILE))
    }

    /// Loads the two files from explicit paths.
    pub fn load_files(
        stopwords: impl AsRef<Path>,
        synonyms: impl AsRef<Path>,
    ) -> Result<Self, TextError> {
        let stop_path = stopwords.as_ref();
        let syn_path = synonyms.as_ref();
        let stop_text = read(stop_path)?;
        let syn_text = read(syn_path)?;
        Self::parse(&stop_text, stop_path, &syn_text, syn_path)
    }

    /// Parses both lists from text; the paths name them in errors.
    pub fn parse(
        stopwords: &str,
        stopwords_file: impl AsRef<Path>,
        synonyms: &str,
        synonyms_file: impl AsRef<Path>,
    ) -> Result<Self, TextError> {
        let stop = StopWords::parse(stopwords, stopwords_file);
        let syn = Synonyms::parse(synonyms, synonyms_file);
        match (stop, syn) {
            (Ok(stopwords), Ok(synonyms)) => Ok(Self {
                stopwords,
                synonyms,
            }),
            (Err(TextError::Dictionary(mut a)), Err(TextError::Dictionary(b))) => {
                a.extend(b);
                Err(TextError::Dictionary(a))
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// No stop words, no synonyms.
    pub fn empty() -> Self {
        Self {
            stopwords: StopWords::default(),
            synonyms: Synonyms::default(),
        }
    }
}

fn read(path: &Path) -> Result<String, TextError> {
    std::fs::read_to_string(path).map_err(|source| TextError::Io {
        file: path.to_path_buf(),
        source,
    })
}

fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(before, _)| before)
}

fn issue(file: &Path, line: usize, message: String) -> DictionaryIssue {
    DictionaryIssue {
        file: PathBuf::from(file),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_dictionaries_parse() {
        let stop = StopWords::parse(EMBEDDED_STOPWORDS, "stopwords.txt");
        assert!(stop.is_ok(), "{stop:?}");
        let syn = Synonyms::parse(EMBEDDED_SYNONYMS, "synonyms.txt");
        assert!(syn.is_ok(), "{syn:?}");
        let d = Dictionaries::embedded();
        assert!(d.stopwords.len() > 200);
        assert!(d.synonyms.len() >= 40);
        for keep in [
            "не",
            "нет",
            "без",
            "ни",
            "когда",
            "где",
            "надо",
            "опять",
            "нельзя",
        ] {
            assert!(
                !d.stopwords.contains(keep),
                "{keep} must not be a stop word"
            );
        }
        for stop in ["на", "и", "в", "что", "это", "еще"] {
            assert!(d.stopwords.contains(stop), "{stop} must be a stop word");
        }
    }

    #[test]
    fn stopword_errors_name_file_and_line() {
        let err = StopWords::parse("и\n\nне знаю\nИ\nа-б\n", "stop.txt")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "stop.txt:3: stop word must be a single word of letters or digits, got \"не знаю\"\n\
                 stop.txt:4: duplicate stop word \"и\" (first at line 1)\n\
                 stop.txt:5: stop word must be a single word of letters or digits, got \"а-б\""
            )
        );
    }

    #[test]
    fn synonym_parsing_and_errors() {
        let ok = Synonyms::parse(
            "# c\nУК, УКи => управляющая компания | Управляющая организация\n",
            "s.txt",
        );
        let Ok(syn) = ok else {
            panic!("{ok:?}");
        };
        let e = syn
            .get("уки")
            .map(|e| (e.keys.clone(), e.words.clone(), e.line));
        assert_eq!(
            e,
            Some((
                vec!["ук".to_owned(), "уки".to_owned()],
                vec![
                    "управляющая".to_owned(),
                    "компания".to_owned(),
                    "организация".to_owned()
                ],
                2
            ))
        );
        let err = Synonyms::parse(
            "ЖКХ жилищное\nА Б => в\n => г\nД =>\nЕ => ж |\nЖКХ => x\nжкх => y\n",
            "s.txt",
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "s.txt:1: expected `KEY => expansion`, found no `=>`\n\
                 s.txt:2: abbreviation must be a single word of letters or digits, got \"А Б\"\n\
                 s.txt:3: empty abbreviation before `=>`\n\
                 s.txt:4: empty expansion after `=>` (or between `|`)\n\
                 s.txt:5: empty expansion after `=>` (or between `|`)\n\
                 s.txt:7: duplicate abbreviation \"жкх\" (first at line 6)"
            )
        );
    }

    #[test]
    fn load_dir_reads_files_and_reports_missing() {
        let dir = tempfile::tempdir();
        let Ok(dir) = dir else {
            panic!("tempdir");
        };
        let missing = Dictionaries::load_dir(dir.path());
        assert!(matches!(missing, Err(TextError::Io { .. })));
        assert!(std::fs::write(dir.path().join(STOPWORDS_FILE), "и\nа\n").is_ok());
        assert!(std::fs::write(dir.path().join(SYNONYMS_FILE), "ЖКХ => жилищное\n").is_ok());
        let loaded = Dictionaries::load_dir(dir.path());
        let Ok(d) = loaded else {
            panic!("{loaded:?}");
        };
        assert_eq!(d.stopwords.len(), 2);
        assert_eq!(d.synonyms.len(), 1);
    }
}
