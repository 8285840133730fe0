//! The cue lexicon: compiled from `complaint.toml`, matched against an [`Analysis`].

use otklik_text::Analyzers;

use super::tables::{self, Table, Value};
use super::text::{Analysis, Feature};
use super::{KINDS, PostKind};

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

#[inline]
fn fx_add(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(FX_K)
}

/// Hashes `bytes` into `h`, eight bytes at a time.
#[inline]
pub(crate) fn fx_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = fx_add(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = fx_add(h, u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }
    h
}

pub(crate) use crate::hash::FastMap as FnvMap;

/// Per-kind weights, in [`PostKind::ALL`] order.
pub(crate) type Weights = [f32; KINDS];

/// An error in a lexicon file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexiconError {
    pub line: usize,
    pub message: String,
}

fn lerr<T>(line: usize, message: impl Into<String>) -> Result<T, LexiconError> {
    Err(LexiconError {
        line,
        message: message.into(),
    })
}

/// How one word of a pattern matches a word of the text. A text word is looked up once, by
/// its *key*: its stem, or its exact form for a stop word (which has no stem).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    /// The word's key has this id.
    Key(u32),
    /// The word's key has this id and its exact form is this (`=word` for a word that is not
    /// a stop word).
    KeyExact(u32, Box<str>),
    /// The word's lowercase, ё-folded form starts with this.
    Prefix(Box<str>),
    /// Any one word.
    Any,
}

/// No key: the word is in no pattern.
const NO_KEY: u32 = u32::MAX;

/// The ids of the words patterns use: stems and stop words' exact forms in one id space.
#[derive(Debug, Clone, Default)]
struct Vocab {
    stems: FnvMap<Box<str>, u32>,
    stop_words: FnvMap<Box<str>, u32>,
}

impl Vocab {
    fn len(&self) -> usize {
        self.stems.len() + self.stop_words.len()
    }

    fn intern(&mut self, word: &str, stop_word: bool) -> u32 {
        let next = self.len() as u32;
        let map = if stop_word {
            &mut self.stop_words
        } else {
            &mut self.stems
        };
        *map.entry(word.into()).or_insert(next)
    }

    /// The key id of a text word: its stem's, or its exact form's for a stop word.
    fn key(&self, stem: Option<&str>, exact: &str) -> u32 {
        let found = match stem {
            Some(s) => self.stems.get(s),
            None => self.stop_words.get(exact),
        };
        found.copied().unwrap_or(NO_KEY)
    }
}

/// Index of the two-letter prefixes made of Russian lowercase letters (а–я).
fn cyrillic_pair(word: &str) -> Option<usize> {
    let mut chars = word.chars();
    let idx = |c: Option<char>| match c {
        Some(c @ 'а'..='я') => Some((u32::from(c) - u32::from('а')) as usize),
        _ => None,
    };
    Some(idx(chars.next())? * 32 + idx(chars.next())?)
}

#[derive(Debug, Clone)]
struct Pattern {
    group: u16,
    matchers: Vec<Matcher>,
}

/// A group of cue patterns sharing weights (`[cues.NAME]`).
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub name: String,
    /// The key of `c NAME` in the learned model.
    pub model_key: u64,
    pub reason: String,
    pub max: u32,
    pub weights: Weights,
}

/// A reference from a combination to a cue group or a shape feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Group(u16),
    Feature(Feature),
}

/// `[combos.NAME]`: fires when all of `all` fired and none of `none`.
#[derive(Debug, Clone)]
pub(crate) struct Combo {
    pub name: String,
    /// The key of `x NAME` in the learned model.
    pub model_key: u64,
    pub reason: String,
    all: Vec<Ref>,
    none: Vec<Ref>,
    /// Matches of the first two groups of `all` must have fewer than this many words between
    /// them.
    within: Option<usize>,
    pub weights: Weights,
}

/// A shape feature's weights (`[features.NAME]`).
#[derive(Debug, Clone)]
pub(crate) struct FeatureCue {
    pub reason: String,
    pub weights: Weights,
}

/// The compiled lexicon.
#[derive(Debug, Clone)]
pub(crate) struct Lexicon {
    pub threshold: f32,
    pub temperature: f32,
    pub bias: Weights,
    pub groups: Vec<Group>,
    pub features: Vec<Option<FeatureCue>>,
    pub combos: Vec<Combo>,
    pub officials: Vec<String>,
    patterns: Vec<Pattern>,
    vocab: Vocab,
    /// By key id: the patterns whose first word has that key and whose second word (if
    /// any) is not indexed in `by_pair`.
    by_first: Vec<Vec<u32>>,
    /// By key id of the first word: (key id of the second word, pattern), sorted.
    by_pair: Vec<Vec<(u32, u32)>>,
    /// Prefix patterns by their first two letters: Russian ones in a table
    /// ([`cyrillic_pair`]), others in a map.
    by_prefix_ru: Vec<Vec<u32>>,
    by_prefix_other: FnvMap<Box<str>, Vec<u32>>,
}

/// A match of a group's pattern: words `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Match {
    pub group: u16,
    pub start: u32,
    pub end: u32,
}

/// What fired in one text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cues {
    /// Matches, sorted by group then start; one per (group, start).
    pub matches: Vec<Match>,
    /// Match count per group (capped by the group's `max`).
    pub counts: Vec<u32>,
    /// Fired combos, by index.
    pub combos: Vec<bool>,
}

impl Cues {
    fn group_fired(&self, g: u16) -> bool {
        self.counts.get(usize::from(g)).is_some_and(|&c| c > 0)
    }
}

fn kind_weight(key: &str) -> Option<usize> {
    PostKind::ALL.iter().position(|k| k.as_str() == key)
}

fn expect_str(e: &tables::Entry) -> Result<String, LexiconError> {
    match &e.value {
        Value::Str(s) => Ok(s.clone()),
        v => lerr(
            e.line,
            format!("`{}` must be a string, not {}", e.key, v.type_name()),
        ),
    }
}

fn expect_f32(e: &tables::Entry) -> Result<f32, LexiconError> {
    match e.value.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 1e6 => Ok(f as f32),
        _ => lerr(
            e.line,
            format!("`{}` must be a number, not {}", e.key, e.value.type_name()),
        ),
    }
}

fn expect_strings(e: &tables::Entry) -> Result<Vec<String>, LexiconError> {
    let Value::Array(items) = &e.value else {
        return lerr(e.line, format!("`{}` must be an array of strings", e.key));
    };
    items
        .iter()
        .map(|v| match v {
            Value::Str(s) => Ok(s.clone()),
            v => lerr(
                e.line,
                format!("`{}` must hold strings, found {}", e.key, v.type_name()),
            ),
        })
        .collect()
}

/// Reads the per-kind weights and `reason` of a table; other keys go to `extra`.
fn weights_and_reason<'t>(
    table: &'t Table,
    name: &str,
    mut extra: impl FnMut(&'t tables::Entry) -> Result<bool, LexiconError>,
) -> Result<(Weights, String), LexiconError> {
    let mut weights = [0.0; KINDS];
    let mut reason = name.replace('_', " ");
    for e in &table.entries {
        if let Some(k) = kind_weight(&e.key) {
            weights[k] = expect_f32(e)?;
        } else if e.key == "reason" {
            reason = expect_str(e)?;
        } else if !extra(e)? {
            return lerr(
                e.line,
                format!(
                    "unknown key `{}` in [{}] (kind weights are {})",
                    e.key,
                    table.path.join("."),
                    PostKind::ALL.map(PostKind::as_str).join(", ")
                ),
            );
        }
    }
    Ok((weights, reason))
}

impl Lexicon {
    /// A lexicon with no cues: everything is [`PostKind::Other`].
    pub(crate) fn empty() -> Lexicon {
        let mut bias = [0.0; KINDS];
        bias[PostKind::Other.index()] = 1.0;
        Lexicon {
            threshold: 0.5,
            temperature: 1.0,
            bias,
            groups: Vec::new(),
            features: vec![None; Feature::ALL.len()],
            combos: Vec::new(),
            officials: Vec::new(),
            patterns: Vec::new(),
            vocab: Vocab::default(),
            by_first: Vec::new(),
            by_pair: Vec::new(),
            by_prefix_ru: vec![Vec::new(); 32 * 32],
            by_prefix_other: FnvMap::default(),
        }
    }

    /// Parses and compiles a lexicon file.
    pub(crate) fn parse(text: &str, analyzers: &Analyzers) -> Result<Lexicon, LexiconError> {
        let tables = tables::parse(text).map_err(|e| LexiconError {
            line: e.line,
            message: e.message,
        })?;
        let mut lex = Lexicon::empty();
        lex.bias = [0.0; KINDS];
        // Groups first, so that combos may refer to groups defined later in the file.
        let mut combo_tables = Vec::new();
        for table in &tables {
            let path: Vec<&str> = table.path.iter().map(String::as_str).collect();
            match path.as_slice() {
                [] => {
                    if let Some(e) = table.entries.first() {
                        return lerr(e.line, "keys must be inside a [table]");
                    }
                }
                ["settings"] => lex.read_settings(table)?,
                ["bias"] => {
                    let (w, _) = weights_and_reason(table, "bias", |_| Ok(false))?;
                    lex.bias = w;
                }
                ["mentions"] => {
                    for e in &table.entries {
                        match e.key.as_str() {
                            "official" => {
                                lex.officials = expect_strings(e)?
                                    .into_iter()
                                    .map(|s| s.to_lowercase())
                                    .filter(|s| !s.is_empty())
                                    .collect();
                            }
                            _ => {
                                return lerr(
                                    e.line,
                                    format!("unknown key `{}` in [mentions]", e.key),
                                );
                            }
                        }
                    }
                }
                ["cues" | "combos", name] if !valid_name(name) => {
                    return lerr(
                        table.line,
                        format!("name `{name}`: use letters, digits, `_` and `-` only"),
                    );
                }
                ["cues", name] => lex.read_group(table, name, analyzers)?,
                ["features", name] => {
                    let Some(f) = Feature::from_name(name) else {
                        let known: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
                        return lerr(
                            table.line,
                            format!("unknown feature `{name}`; known: {}", known.join(", ")),
                        );
                    };
                    let (weights, reason) = weights_and_reason(table, name, |_| Ok(false))?;
                    lex.features[f.index()] = Some(FeatureCue { reason, weights });
                }
                ["combos", name] => combo_tables.push((table, *name)),
                ["cues" | "features" | "combos"] => {}
                _ => {
                    return lerr(
                        table.line,
                        format!(
                            "unknown table [{}]; expected settings, bias, mentions, cues.NAME, \
                             features.NAME or combos.NAME",
                            table.path.join(".")
                        ),
                    );
                }
            }
        }
        for (table, name) in combo_tables {
            lex.read_combo(table, name)?;
        }
        Ok(lex)
    }

    fn read_settings(&mut self, table: &Table) -> Result<(), LexiconError> {
        for e in &table.entries {
            match e.key.as_str() {
                "threshold" => {
                    let t = expect_f32(e)?;
                    if !(0.0..=1.0).contains(&t) {
                        return lerr(e.line, "threshold must be within 0..1");
                    }
                    self.threshold = t;
                }
                "temperature" => {
                    let t = expect_f32(e)?;
                    if !(0.05..=20.0).contains(&t) {
                        return lerr(e.line, "temperature must be within 0.05..20");
                    }
                    self.temperature = t;
                }
                _ => return lerr(e.line, format!("unknown key `{}` in [settings]", e.key)),
            }
        }
        Ok(())
    }

    fn read_group(
        &mut self,
        table: &Table,
        name: &str,
        analyzers: &Analyzers,
    ) -> Result<(), LexiconError> {
        if self.groups.len() >= usize::from(u16::MAX) {
            return lerr(table.line, "too many cue groups");
        }
        let group = self.groups.len() as u16;
        let mut max = 1u32;
        let mut patterns: Vec<(usize, String)> = Vec::new();
        let (weights, reason) = weights_and_reason(table, name, |e| match e.key.as_str() {
            "max" => match e.value {
                Value::Int(m) if (1..=100).contains(&m) => {
                    max = m as u32;
                    Ok(true)
                }
                _ => lerr(e.line, "`max` must be an integer within 1..100"),
            },
            "patterns" => {
                patterns.extend(expect_strings(e)?.into_iter().map(|p| (e.line, p)));
                Ok(true)
            }
            _ => Ok(false),
        })?;
        for (line, source) in patterns {
            let matchers =
                compile_pattern(&source, analyzers, &mut self.vocab).map_err(|m| LexiconError {
                    line,
                    message: format!("[cues.{name}] pattern «{source}»: {m}"),
                })?;
            let id = self.patterns.len() as u32;
            let n = self.vocab.len();
            self.by_first.resize_with(n, Vec::new);
            self.by_pair.resize_with(n, Vec::new);
            let key_of = |m: &Matcher| match *m {
                Matcher::Key(k) | Matcher::KeyExact(k, _) => Some(k),
                _ => None,
            };
            match (key_of(&matchers[0]), matchers.get(1).and_then(key_of)) {
                (Some(first), Some(second)) => {
                    let list = &mut self.by_pair[first as usize];
                    let at = list.partition_point(|&(k, _)| k <= second);
                    list.insert(at, (second, id));
                }
                (Some(first), None) => self.by_first[first as usize].push(id),
                (None, _) => match &matchers[0] {
                    Matcher::Prefix(p) => match cyrillic_pair(p) {
                        Some(i) => self.by_prefix_ru[i].push(id),
                        None => {
                            let key: String = p.chars().take(2).collect();
                            self.by_prefix_other.entry(key.into()).or_default().push(id);
                        }
                    },
                    _ => {
                        return lerr(
                            line,
                            format!("[cues.{name}] pattern «{source}» starts with `_`"),
                        );
                    }
                },
            }
            self.patterns.push(Pattern { group, matchers });
        }
        self.groups.push(Group {
            name: name.to_owned(),
            model_key: super::model::hash_parts(&["c", name]),
            reason,
            max,
            weights,
        });
        Ok(())
    }

    fn resolve(&self, name: &str, line: usize) -> Result<Ref, LexiconError> {
        if let Some(f) = Feature::from_name(name) {
            return Ok(Ref::Feature(f));
        }
        match self.groups.iter().position(|g| g.name == name) {
            Some(g) => Ok(Ref::Group(g as u16)),
            None => lerr(
                line,
                format!("`{name}` is neither a cue group nor a feature"),
            ),
        }
    }

    fn read_combo(&mut self, table: &Table, name: &str) -> Result<(), LexiconError> {
        let mut all = Vec::new();
        let mut none = Vec::new();
        let mut within = None;
        let (weights, reason) = weights_and_reason(table, name, |e| match e.key.as_str() {
            "all" | "none" => {
                let refs = expect_strings(e)?
                    .iter()
                    .map(|n| self.resolve(n, e.line))
                    .collect::<Result<Vec<_>, _>>()?;
                if e.key == "all" {
                    all = refs;
                } else {
                    none = refs;
                }
                Ok(true)
            }
            "within" => match e.value {
                Value::Int(w) if (1..=1000).contains(&w) => {
                    within = Some(w as usize);
                    Ok(true)
                }
                _ => lerr(e.line, "`within` must be an integer within 1..1000"),
            },
            _ => Ok(false),
        })?;
        if all.is_empty() {
            return lerr(
                table.line,
                format!("[combos.{name}] needs a non-empty `all`"),
            );
        }
        if within.is_some() && !matches!(all.as_slice(), [Ref::Group(_), Ref::Group(_), ..]) {
            return lerr(
                table.line,
                format!("[combos.{name}]: `within` needs two cue groups first in `all`"),
            );
        }
        self.combos.push(Combo {
            name: name.to_owned(),
            model_key: super::model::hash_parts(&["x", name]),
            reason,
            all,
            none,
            within,
            weights,
        });
        Ok(())
    }

    /// Matches the cue patterns and combos against `a`.
    pub(crate) fn match_cues(&self, a: &Analysis) -> Cues {
        // Each word's key id (NO_KEY when no pattern uses it): one lookup per word.
        let keys: Vec<u32> = a
            .words
            .iter()
            .map(|w| self.vocab.key(a.stem(w), a.exact(w)))
            .collect();
        let mut matches = Vec::new();
        for (i, &key) in keys.iter().enumerate() {
            if key != NO_KEY {
                if let Some(p) = self.by_first.get(key as usize) {
                    self.try_patterns(a, &keys, i, p.iter().copied(), &mut matches);
                }
                if let (Some(pairs), Some(&next)) =
                    (self.by_pair.get(key as usize), keys.get(i + 1))
                    && next != NO_KEY
                    && !pairs.is_empty()
                {
                    let from = pairs.partition_point(|&(k, _)| k < next);
                    let hits = pairs[from..].iter().take_while(|&&(k, _)| k == next);
                    self.try_patterns(a, &keys, i, hits.map(|&(_, p)| p), &mut matches);
                }
            }
            let word = a.exact(&a.words[i]);
            let prefixed = match cyrillic_pair(word) {
                Some(ix) => self.by_prefix_ru.get(ix),
                None if self.by_prefix_other.is_empty() => None,
                None => {
                    let end = word.char_indices().nth(2).map_or(word.len(), |(e, _)| e);
                    self.by_prefix_other.get(word.get(..end).unwrap_or(word))
                }
            };
            if let Some(p) = prefixed
                && !p.is_empty()
            {
                self.try_patterns(a, &keys, i, p.iter().copied(), &mut matches);
            }
        }
        matches.sort_unstable();
        matches.dedup_by(|b, a| a.group == b.group && a.start == b.start);
        let mut counts = vec![0u32; self.groups.len()];
        for m in &matches {
            if let Some(c) = counts.get_mut(usize::from(m.group)) {
                *c += 1;
            }
        }
        for (c, g) in counts.iter_mut().zip(&self.groups) {
            *c = (*c).min(g.max);
        }
        let mut cues = Cues {
            matches,
            counts,
            combos: Vec::new(),
        };
        cues.combos = self
            .combos
            .iter()
            .map(|c| self.combo_fires(c, a, &cues))
            .collect();
        cues
    }

    fn try_patterns(
        &self,
        a: &Analysis,
        keys: &[u32],
        at: usize,
        patterns: impl Iterator<Item = u32>,
        out: &mut Vec<Match>,
    ) {
        for id in patterns {
            let Some(p) = self.patterns.get(id as usize) else {
                continue;
            };
            let n = p.matchers.len();
            let Some(ks) = keys.get(at..at + n) else {
                continue;
            };
            let ok = p
                .matchers
                .iter()
                .zip(ks)
                .enumerate()
                .all(|(j, (m, &key))| match m {
                    Matcher::Key(k) => key == *k,
                    Matcher::KeyExact(k, e) => key == *k && a.exact(&a.words[at + j]) == &**e,
                    Matcher::Prefix(s) => a.exact(&a.words[at + j]).starts_with(&**s),
                    Matcher::Any => true,
                });
            if ok {
                out.push(Match {
                    group: p.group,
                    start: at as u32,
                    end: (at + n) as u32,
                });
            }
        }
    }

    fn fired(&self, r: Ref, a: &Analysis, cues: &Cues) -> bool {
        match r {
            Ref::Group(g) => cues.group_fired(g),
            Ref::Feature(f) => a.has(f),
        }
    }

    fn combo_fires(&self, c: &Combo, a: &Analysis, cues: &Cues) -> bool {
        if !c.all.iter().all(|&r| self.fired(r, a, cues)) {
            return false;
        }
        if c.none.iter().any(|&r| self.fired(r, a, cues)) {
            return false;
        }
        let Some(within) = c.within else { return true };
        let (Some(Ref::Group(g0)), Some(Ref::Group(g1))) = (c.all.first(), c.all.get(1)) else {
            return true;
        };
        let of = |g: u16| cues.matches.iter().filter(move |m| m.group == g);
        of(*g0).any(|m0| {
            of(*g1).any(|m1| {
                // Not overlapping, and the gap between them at most `within` words.
                let gap = if m1.start >= m0.end {
                    m1.start - m0.end
                } else if m0.start >= m1.end {
                    m0.start - m1.end
                } else {
                    return false;
                };
                (gap as usize) < within
            })
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Compiles one pattern: words separated by spaces; `word` matches by stem (or exactly, for a
/// stop word), `=word` matches the exact form, `word*` a prefix, `_` any one word.
fn compile_pattern(
    source: &str,
    analyzers: &Analyzers,
    vocab: &mut Vocab,
) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    for chunk in source.split_whitespace() {
        if chunk == "_" {
            out.push(Matcher::Any);
            continue;
        }
        let (exact_only, rest) = match chunk.strip_prefix('=') {
            Some(r) => (true, r),
            None => (false, chunk),
        };
        let (prefix, rest) = match rest.strip_suffix('*') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let words = analyzers.analyze_exact(rest);
        if words.is_empty() {
            return Err(format!("`{chunk}` has no word"));
        }
        let last = words.len() - 1;
        for (i, w) in words.into_iter().enumerate() {
            if prefix && i == last {
                if w.chars().count() < 2 {
                    return Err(format!("prefix `{chunk}` is shorter than two letters"));
                }
                out.push(Matcher::Prefix(w.into()));
                continue;
            }
            // The word's key as a text word would have it: its stem, or for a stop word its
            // exact form.
            match analyzers.analyze(&w).into_iter().next() {
                Some(stem) if exact_only => {
                    out.push(Matcher::KeyExact(vocab.intern(&stem, false), w.into()));
                }
                Some(stem) => out.push(Matcher::Key(vocab.intern(&stem, false))),
                None => out.push(Matcher::Key(vocab.intern(&w, true))),
            }
        }
    }
    if out.is_empty() {
        return Err("empty pattern".into());
    }
    if out.len() > 12 {
        return Err("more than 12 words".into());
    }
    Ok(out)
}
