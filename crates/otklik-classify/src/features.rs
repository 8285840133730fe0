//! Feature extraction for the linear model: stemmed word unigrams and bigrams (from the shared
//! Russian analyzer), character n-grams of the lowercased words (like scikit-learn's
//! `char_wb`), and keyword-rule hits. Features are identified by a stable 64-bit FNV-1a hash,
//! so the hot path allocates no strings; names are rebuilt only for explanations.

use serde::{Deserialize, Serialize};

/// Which features the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Stemmed word bigrams as well as unigrams.
    pub bigrams: bool,
    /// Character n-grams of lowercased words, lengths `min..=max`; `None` disables them.
    pub char_ngrams: Option<(u8, u8)>,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            bigrams: true,
            char_ngrams: Some((3, 5)),
        }
    }
}

/// The kind of a feature, which is also its block: each block is TF-IDF weighted and
/// L2-normalized separately, then the blocks are concatenated (scikit-learn's `FeatureUnion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Block {
    Word = 0,
    Char = 1,
    Rule = 2,
    /// Word bigrams: normalized with [`Block::Word`], but pruned by document frequency.
    Bigram = 3,
}

/// Number of normalization blocks.
pub(crate) const BLOCKS: usize = 3;

/// The normalization block of a stored block code.
pub(crate) fn norm_block(b: u8) -> usize {
    if b == Block::Bigram as u8 {
        Block::Word as usize
    } else {
        usize::from(b)
    }
}

/// A feature as text, for explanations.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Feat<'a> {
    Word(&'a str),
    Bigram(&'a str, &'a str),
    Char(&'a str),
    Rule(&'a str),
}

impl Feat<'_> {
    pub(crate) fn block(self) -> Block {
        match self {
            Feat::Word(_) => Block::Word,
            Feat::Bigram(..) => Block::Bigram,
            Feat::Char(_) => Block::Char,
            Feat::Rule(_) => Block::Rule,
        }
    }

    pub(crate) fn name(self) -> String {
        match self {
            Feat::Word(w) => w.to_owned(),
            Feat::Bigram(a, b) => format!("{a} {b}"),
            Feat::Char(c) => format!("«{c}»"),
            Feat::Rule(r) => format!("rule:{r}"),
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Stable hash of a feature; the block is folded in so blocks never collide.
pub(crate) fn hash(f: Feat<'_>) -> u64 {
    match f {
        Feat::Word(w) => fnv(FNV_OFFSET ^ 1, w.as_bytes()),
        Feat::Bigram(a, b) => fnv(fnv(FNV_OFFSET ^ 2, a.as_bytes()) ^ 0xff, b.as_bytes()),
        Feat::Char(c) => fnv(FNV_OFFSET ^ 3, c.as_bytes()),
        Feat::Rule(r) => fnv(FNV_OFFSET ^ 4, r.as_bytes()),
    }
}

/// Letters and digits, with a fast path for Cyrillic and ASCII.
fn is_word_char(c: char) -> bool {
    match c {
        'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | 'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        c if c.is_ascii() => false,
        c => c.is_alphanumeric(),
    }
}

/// Reusable buffers for [`extract`].
#[derive(Debug, Default)]
pub(crate) struct CharScratch {
    /// The current word, lowercased, ё-folded, padded with a space on each side.
    word: String,
    /// Byte offsets of the characters of `word`, plus its length.
    bounds: Vec<usize>,
}

/// Calls `sink(hash, feature, value)` for every feature occurrence of a text: `tokens` are
/// the analyzer's stems, `text` the cleaned text (for character n-grams), `rules` the fired
/// keyword rules with their scores.
///
/// Character n-grams are hashed incrementally: for each start position the FNV-1a state is
/// extended one character at a time and emitted at every length in `min..=max`, which gives
/// the same hash as hashing each n-gram separately at a third of the cost.
pub(crate) fn extract<'t, F>(
    cfg: &FeatureConfig,
    text: &str,
    tokens: impl Iterator<Item = &'t str> + Clone,
    rules: &[(&str, f32)],
    scratch: &mut CharScratch,
    mut sink: F,
) where
    F: FnMut(u64, Feat<'_>, f32),
{
    for t in tokens.clone() {
        let f = Feat::Word(t);
        sink(hash(f), f, 1.0);
    }
    if cfg.bigrams {
        let mut prev: Option<&str> = None;
        for b in tokens {
            if let Some(a) = prev {
                let f = Feat::Bigram(a, b);
                sink(hash(f), f, 1.0);
            }
            prev = Some(b);
        }
    }
    if let Some((lo, hi)) = cfg.char_ngrams {
        let (lo, hi) = (usize::from(lo.max(1)), usize::from(hi.max(lo)));
        for word in text.split(|c: char| !is_word_char(c)) {
            if word.is_empty() {
                continue;
            }
            let buf = &mut scratch.word;
            let bounds = &mut scratch.bounds;
            buf.clear();
            bounds.clear();
            bounds.push(0);
            buf.push(' ');
            for c in word.chars() {
                let folded = match c {
                    'Ё' | 'ё' => 'е',
                    'А'..='Я' => char::from_u32(c as u32 + 32).unwrap_or(c),
                    'а'..='я' | 'a'..='z' | '0'..='9' => c,
                    'A'..='Z' => c.to_ascii_lowercase(),
                    c if c.is_uppercase() => {
                        // Rare multi-character lowercasings: one n-gram unit per character.
                        for l in c.to_lowercase() {
                            bounds.push(buf.len());
                            buf.push(l);
                        }
                        continue;
                    }
                    c => c,
                };
                bounds.push(buf.len());
                buf.push(folded);
            }
            bounds.push(buf.len());
            buf.push(' ');
            bounds.push(buf.len());
            let bytes = buf.as_bytes();
            let nchars = bounds.len() - 1;
            for start in 0..nchars {
                let Some(&from) = bounds.get(start) else {
                    break;
                };
                let mut h = FNV_OFFSET ^ 3;
                for n in 1..=hi.min(nchars - start) {
                    let (Some(&a), Some(&b)) = (bounds.get(start + n - 1), bounds.get(start + n))
                    else {
                        break;
                    };
                    h = fnv(h, bytes.get(a..b).unwrap_or(&[]));
                    if n >= lo
                        && let Some(s) = buf.get(from..b)
                    {
                        sink(h, Feat::Char(s), 1.0);
                    }
                }
            }
        }
    }
    for (r, score) in rules {
        let f = Feat::Rule(r);
        sink(hash(f), f, *score);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_ngrams_pad_words_and_fold_yo() {
        let cfg = FeatureConfig {
            bigrams: false,
            char_ngrams: Some((3, 3)),
        };
        let mut got = Vec::new();
        extract(
            &cfg,
            "Ёж!",
            std::iter::empty(),
            &[],
            &mut CharScratch::default(),
            |_, f, _| got.push(f.name()),
        );
        assert_eq!(got, ["« еж»", "«еж »"]);
    }

    #[test]
    fn incremental_char_hashes_equal_whole_ngram_hashes() {
        let cfg = FeatureConfig {
            bigrams: true,
            char_ngrams: Some((2, 5)),
        };
        let mut n = 0;
        let words = ["ям", "дорог"];
        extract(
            &cfg,
            "Ямы на ДОРОГАХ, Ёлки-2024 Straße",
            words.iter().copied(),
            &[("roads", 2.0)],
            &mut CharScratch::default(),
            |h, f, v| {
                n += 1;
                assert_eq!(h, hash(f), "{}", f.name());
                if let Feat::Char(c) = f {
                    let len = c.chars().count();
                    assert!((2..=5).contains(&len), "{c}");
                    assert_eq!(c, c.to_lowercase());
                    assert!(!c.contains('ё'));
                }
                if let Feat::Rule(_) = f {
                    assert_eq!(v, 2.0);
                }
            },
        );
        // 2 words, 1 bigram, 1 rule and the character n-grams.
        assert!(n > 4 + 40, "{n}");
    }

    #[test]
    fn blocks_do_not_collide() {
        assert_ne!(hash(Feat::Word("ям")), hash(Feat::Char("ям")));
        assert_ne!(hash(Feat::Bigram("a", "b")), hash(Feat::Word("a b")));
    }
}
