//! The in-memory evaluator: one text's tokens against the compiled patterns.
//!
//! A text's tokens are looked up in the rule vocabulary (a token no rule mentions is dropped
//! at once, unless a wildcard matches it) and kept as sorted `(token id << 32) | position`
//! words; a bitset tells which token ids are present and a table where their positions are.
//! Every present token id triggers the patterns anchored on it (each pattern on its rarest
//! word, so it is checked at most once); a phrase is checked only when all its words are
//! present, by binary searches and merges over their positions. A single word fires at once:
//! its trigger carries the range of its uses. Fired patterns add their weight to (or veto) the
//! entries using them. Buffers are kept per thread: matching allocates only the hits, and the
//! classifier's rule features ([`KeywordMatcher::feature_scores`]) only one vector of borrowed
//! ids.

use std::cell::RefCell;

use tantivy::tokenizer::Token;

use super::{HitLevel, KeywordMatcher, MIN_SCORE_TOLERANCE, RuleHit, Trigger, Use, Wildcard};

/// Per-text buffers, reused by the thread's matches.
#[derive(Debug, Default)]
struct Scratch {
    /// `(token id << 32) | position` of the text's rule tokens.
    occ: Vec<u64>,
    /// The distinct token ids of `occ`.
    ids: Vec<u32>,
    /// Bit `id` is set while token `id` is present (cleared after each text).
    present: Vec<u64>,
    /// `occ[start..end]` are the words of a present token id.
    ranges: Vec<(u32, u32)>,
    acc: Accumulator,
}

/// Scores of the entries touched by one text.
#[derive(Debug, Default)]
struct Accumulator {
    generation: u32,
    /// One slot per entry, valid when its stamp equals `generation`.
    slots: Vec<EntrySlot>,
    touched: Vec<u32>,
    /// `(entry, label)` of every fired positive item.
    fired: Vec<(u32, u32)>,
    /// The hits before they are built, best first.
    candidates: Vec<Candidate>,
}

/// An entry's score for the current text (one cache line holds five).
#[derive(Debug, Clone, Copy, Default)]
struct EntrySlot {
    stamp: u32,
    score: f32,
    vetoed: bool,
}

/// A hit before its strings are built.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    entry: u32,
    score: f32,
    level: HitLevel,
    /// Whether the category evidence is part of the score.
    with_category: bool,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch (a fresh one if it is busy or gone).
fn with_scratch<R>(f: impl Fn(&mut Scratch) -> R) -> R {
    SCRATCH
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut s| f(&mut s)))
        .ok()
        .flatten()
        .unwrap_or_else(|| f(&mut Scratch::default()))
}

const POSITION_MASK: u64 = 0xFFFF_FFFF;

#[inline]
fn packed(id: u32, position: u64) -> u64 {
    (u64::from(id) << 32) | (position & POSITION_MASK)
}

#[inline]
fn id_of(x: u64) -> u32 {
    (x >> 32) as u32
}

#[inline]
fn position_of(x: u64) -> i64 {
    (x & POSITION_MASK) as i64
}

/// True when some `a` and `b` satisfy `|(b - off_b) - (a - off_a)| <= slop` — tantivy's
/// two-term phrase condition (`b` at its written distance from `a`, give or take `slop`).
fn pair_within(a: &[u64], off_a: i64, b: &[u64], off_b: i64, slop: i64) -> bool {
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        let l = position_of(x) - off_a;
        let r = position_of(y) - off_b;
        if (l - r).abs() <= slop {
            return true;
        }
        if l < r {
            i += 1;
        } else {
            j += 1;
        }
    }
    false
}

/// The text's tokens: what is present and where.
struct Text<'a> {
    occ: &'a [u64],
    present: &'a [u64],
    ranges: &'a [(u32, u32)],
}

impl Text<'_> {
    #[inline]
    fn has(&self, id: u32) -> bool {
        self.present
            .get((id >> 6) as usize)
            .is_some_and(|w| w >> (id & 63) & 1 == 1)
    }

    /// The sorted words of a present token id.
    #[inline]
    fn positions(&self, id: u32) -> &[u64] {
        self.ranges
            .get(id as usize)
            .and_then(|&(a, b)| self.occ.get(a as usize..b as usize))
            .unwrap_or(&[])
    }
}

impl Accumulator {
    fn begin(&mut self, entries: usize) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter_mut().for_each(|s| s.stamp = 0);
            self.generation = 1;
        }
        if self.slots.len() < entries {
            self.slots.resize(entries, EntrySlot::default());
        }
        self.touched.clear();
        self.fired.clear();
    }

    #[inline]
    fn fire(&mut self, uses: &[Use]) {
        for u in uses {
            if let Some(slot) = self.slots.get_mut(u.entry as usize) {
                if slot.stamp != self.generation {
                    *slot = EntrySlot {
                        stamp: self.generation,
                        score: 0.0,
                        vetoed: false,
                    };
                    self.touched.push(u.entry);
                }
                if u.negative {
                    slot.vetoed = true;
                } else {
                    slot.score += u.weight;
                    self.fired.push((u.entry, u.label));
                }
            }
        }
    }

    /// The score of an entry that was touched, not vetoed and scored.
    fn live_score(&self, e: u32) -> Option<f32> {
        let slot = self.slots.get(e as usize)?;
        (slot.stamp == self.generation && !slot.vetoed && slot.score > 0.0).then_some(slot.score)
    }

    /// The fired `(entry, label)` pairs of `entry`, in rule order (`fired` is sorted).
    fn fired_of(&self, entry: u32) -> &[(u32, u32)] {
        let start = self.fired.partition_point(|&(e, _)| e < entry);
        let fired = self.fired.get(start..).unwrap_or(&[]);
        let len = fired.partition_point(|&(e, _)| e == entry);
        fired.get(..len).unwrap_or(&[])
    }
}

fn passes(min_score: Option<f32>, score: f32) -> bool {
    min_score.is_none_or(|m| score + MIN_SCORE_TOLERANCE >= m)
}

impl KeywordMatcher {
    /// The subcategories (and categories) whose rules fire on `text`, best first; see the
    /// [module docs](super#scoring). `text` is analysed as given: run
    /// [`clean_text`](otklik_text::clean_text) first on raw posts.
    pub fn matches(&self, text: &str) -> Vec<RuleHit> {
        with_scratch(|s| {
            s.occ.clear();
            let occ = &mut s.occ;
            self.analyzers
                .for_each_token(text, |t| self.push_token(&t.text, t.position, occ));
            self.hits(s)
        })
    }

    /// [`matches`](Self::matches) for a text already analysed with the matcher's analyzers
    /// ([`Analyzers::analyze_tokens`](otklik_text::Analyzers::analyze_tokens), i.e.
    /// [`RU_ANALYZER`](otklik_text::RU_ANALYZER) tokens with positions).
    pub fn matches_tokens(&self, tokens: &[Token]) -> Vec<RuleHit> {
        with_scratch(|s| {
            s.occ.clear();
            for t in tokens {
                self.push_token(&t.text, t.position, &mut s.occ);
            }
            self.hits(s)
        })
    }

    /// [`matches`](Self::matches) for a text analysed once for every detector.
    pub(crate) fn matches_token_list(&self, tokens: &crate::tokens::TokenList) -> Vec<RuleHit> {
        with_scratch(|s| {
            s.occ.clear();
            for t in tokens.iter() {
                self.push_token(t.text, t.position, &mut s.occ);
            }
            self.hits(s)
        })
    }

    /// The hits of [`matches_token_list`](Self::matches_token_list) as the classifier's rule
    /// features, without building them: for every hit, best first, its subcategory id (for a
    /// subcategory hit) and then its category id, each with the hit's score — what
    /// [`rule_features`](crate::classifier::rule_features) makes of the hits.
    pub(crate) fn feature_scores(&self, tokens: &crate::tokens::TokenList) -> Vec<(&str, f32)> {
        with_scratch(|s| {
            s.occ.clear();
            for t in tokens.iter() {
                self.push_token(t.text, t.position, &mut s.occ);
            }
            if !self.scan(s) {
                return Vec::new();
            }
            self.rank(&mut s.acc);
            let mut out = Vec::with_capacity(s.acc.candidates.len() * 2);
            let name = |(a, b): (u32, u32)| self.names.get(a as usize..b as usize).unwrap_or("");
            for c in &s.acc.candidates {
                let Some(entry) = self.entry_info.get(c.entry as usize) else {
                    continue;
                };
                let id = name(entry.id);
                if c.level == HitLevel::Subcategory && !id.is_empty() {
                    out.push((id, c.score));
                }
                out.push((name(entry.category), c.score));
            }
            out
        })
    }

    #[inline]
    fn wildcard(&self, id: u32) -> Option<&Wildcard> {
        let base = self.vocab.len() as u32;
        id.checked_sub(base)
            .and_then(|i| self.wildcards.get(i as usize))
    }

    /// Records one analysed token (if any rule can use it).
    #[inline]
    fn push_token(&self, text: &str, position: usize, occ: &mut Vec<u64>) {
        let position = position as u64;
        if let Some(id) = self.vocab.get(text) {
            occ.push(packed(id, position));
            for &w in self.token_wildcards.get(id) {
                occ.push(packed(w, position));
            }
        } else if !self.wildcards.is_empty()
            && let Some(first) = text.chars().next()
            && let Some(list) = self.wildcards_by_first.get(&first)
        {
            for &w in list {
                if self.wildcard(w).is_some_and(|wc| wc.matches(text)) {
                    occ.push(packed(w, position));
                }
            }
        }
    }

    /// Whether pattern `p` of two or more words occurs in the text.
    #[inline]
    fn phrase_fires(&self, p: u32, text: &Text<'_>) -> bool {
        let words = self.pattern_words.get(p);
        if !words.iter().all(|&(_, id)| text.has(id)) {
            return false;
        }
        let slop = i64::from(self.pattern_slop.get(p as usize).copied().unwrap_or(0));
        let Some((&(off0, id0), rest)) = words.split_first() else {
            return false;
        };
        if slop == 0 {
            // Every word exactly at its offset from some occurrence of the first.
            return text.positions(id0).iter().any(|&x| {
                let base = position_of(x) - i64::from(off0);
                rest.iter().all(|&(off, id)| {
                    let p = base + i64::from(off);
                    p >= 0
                        && text
                            .positions(id)
                            .binary_search(&packed(id, p as u64))
                            .is_ok()
                })
            });
        }
        // Neighbouring words pairwise within the slop (one pair for two words).
        words.windows(2).all(|w| match w {
            [(off_a, a), (off_b, b)] => pair_within(
                text.positions(*a),
                i64::from(*off_a),
                text.positions(*b),
                i64::from(*off_b),
                slop,
            ),
            _ => false,
        })
    }

    /// Runs the patterns over the words in `s.occ` (any order, duplicates allowed) and
    /// leaves the entries' scores in `s.acc`; false when no entry was touched.
    fn scan(&self, s: &mut Scratch) -> bool {
        let Scratch {
            occ,
            ids,
            present,
            ranges,
            acc,
        } = s;
        occ.sort_unstable();
        occ.dedup();
        if present.len() < self.n_ids.div_ceil(64) {
            present.resize(self.n_ids.div_ceil(64), 0);
        }
        if ranges.len() < self.n_ids {
            ranges.resize(self.n_ids, (0, 0));
        }

        // Present ids and their ranges.
        ids.clear();
        let mut i = 0;
        while let Some(&x) = occ.get(i) {
            let id = id_of(x);
            let len = occ
                .get(i..)
                .map_or(1, |rest| rest.partition_point(|&y| id_of(y) == id).max(1));
            if let Some(w) = present.get_mut((id >> 6) as usize) {
                *w |= 1 << (id & 63);
            }
            if let Some(r) = ranges.get_mut(id as usize) {
                *r = (i as u32, (i + len) as u32);
            }
            ids.push(id);
            i += len;
        }

        acc.begin(self.entries.len());
        let text = Text {
            occ,
            present,
            ranges,
        };
        for &id in ids.iter() {
            for t in self.triggers.get(id) {
                if t.second == Trigger::SINGLE
                    || (text.has(t.second) && self.phrase_fires(t.pattern, &text))
                {
                    acc.fire(self.pattern_uses.slice(t.uses));
                }
            }
        }
        for &id in ids.iter() {
            if let Some(w) = present.get_mut((id >> 6) as usize) {
                *w = 0;
            }
        }
        !acc.touched.is_empty()
    }

    /// The hits of the words in `s.occ`.
    fn hits(&self, s: &mut Scratch) -> Vec<RuleHit> {
        if !self.scan(s) {
            return Vec::new();
        }
        self.rank(&mut s.acc);
        self.build_hits(&mut s.acc)
    }

    /// Leaves the hits of the scanned text in `acc.candidates`, best first.
    fn rank(&self, acc: &mut Accumulator) {
        let mut candidates = std::mem::take(&mut acc.candidates);
        candidates.clear();
        for &e in &acc.touched {
            let Some(entry) = self.entry_info.get(e as usize) else {
                continue;
            };
            if entry.level != HitLevel::Subcategory {
                continue;
            }
            let Some(own) = acc.live_score(e) else {
                continue;
            };
            let category = acc.live_score(entry.category_entry);
            let score = own + category.unwrap_or(0.0);
            if passes(entry.min_score, score) {
                candidates.push(Candidate {
                    entry: e,
                    score,
                    level: HitLevel::Subcategory,
                    with_category: category.is_some(),
                });
            }
        }
        let subcategory_hits = candidates.len();
        for &e in &acc.touched {
            let Some(entry) = self.entry_info.get(e as usize) else {
                continue;
            };
            if entry.level != HitLevel::Category {
                continue;
            }
            let has_subcategory = candidates.get(..subcategory_hits).is_some_and(|c| {
                c.iter().any(|c| {
                    self.entry_info
                        .get(c.entry as usize)
                        .is_some_and(|s| s.category_entry == e)
                })
            });
            if has_subcategory {
                continue;
            }
            if let Some(score) = acc.live_score(e)
                && passes(entry.min_score, score)
            {
                candidates.push(Candidate {
                    entry: e,
                    score,
                    level: HitLevel::Category,
                    with_category: false,
                });
            }
        }
        candidates.sort_unstable_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| level_rank(a.level).cmp(&level_rank(b.level)))
                .then_with(|| a.entry.cmp(&b.entry))
        });
        acc.candidates = candidates;
    }

    /// The [`RuleHit`]s of the ranked candidates.
    fn build_hits(&self, acc: &mut Accumulator) -> Vec<RuleHit> {
        acc.fired.sort_unstable();
        let acc = &*acc;
        let mut hits = Vec::with_capacity(acc.candidates.len());
        for c in &acc.candidates {
            let Some(entry) = self.entries.get(c.entry as usize) else {
                continue;
            };
            let own = acc.fired_of(c.entry);
            let category = self
                .entries
                .get(entry.category_entry as usize)
                .filter(|_| c.with_category);
            let evidence = match category {
                Some(_) => acc.fired_of(entry.category_entry),
                None => &[],
            };
            let mut matched = Vec::with_capacity(own.len() + evidence.len());
            matched.extend(
                own.iter()
                    .filter_map(|&(_, l)| entry.labels.get(l as usize).cloned()),
            );
            if let Some(category) = category {
                matched.extend(
                    evidence
                        .iter()
                        .filter_map(|&(_, l)| category.evidence_labels.get(l as usize).cloned()),
                );
            }
            hits.push(RuleHit {
                subcategory: match c.level {
                    HitLevel::Subcategory => entry.id.clone(),
                    HitLevel::Category => String::new(),
                },
                category: entry.category.clone(),
                level: c.level,
                score: c.score,
                matched,
            });
        }
        hits
    }
}

fn level_rank(level: HitLevel) -> u8 {
    match level {
        HitLevel::Subcategory => 0,
        HitLevel::Category => 1,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::Path;

    use otklik_text::{Analyzers, clean_text};

    use super::super::{PatternKey, Word};
    use super::*;
    use crate::tokens::TokenList;

    fn shipped() -> KeywordMatcher {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
        let rules = otklik_rules::RulesDir::load(&dir).expect("shipped rules load");
        KeywordMatcher::compile(rules.keywords().expect("keywords"), Analyzers::embedded())
            .expect("compile")
    }

    /// Texts of the crate's test data: the keyword corpus and the complaint sets.
    fn texts() -> Vec<String> {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut out = Vec::new();
        let mut files: Vec<_> = ["keywords", "complaint"]
            .iter()
            .flat_map(|d| std::fs::read_dir(data.join(d)).expect("data dir"))
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read");
            if f.extension().is_some_and(|e| e == "csv") {
                let mut r = csv::Reader::from_reader(text.as_bytes());
                out.extend(r.records().map(|r| r.expect("row")[0].to_owned()));
            } else {
                out.extend(
                    text.lines()
                        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                        .map(str::to_owned),
                );
            }
        }
        out
    }

    /// Whether a word of a pattern matches a token, straight from the analysed item.
    fn word_matches(word: &Word, token: &str) -> bool {
        match word {
            Word::Exact(t) => t == token,
            Word::Wildcard(w) => w.matches(token),
        }
    }

    /// Whether a pattern occurs in the tokens, by scanning every occurrence.
    fn naive_fires(
        key: &PatternKey,
        tokens: &[(String, usize)],
        words: &std::collections::HashSet<&str>,
    ) -> bool {
        // A shortcut: an exact word absent from the text.
        if key
            .words
            .iter()
            .any(|(_, w)| matches!(w, Word::Exact(t) if !words.contains(t.as_str())))
        {
            return false;
        }
        let lists: Vec<(i64, Vec<i64>)> = key
            .words
            .iter()
            .map(|(off, w)| {
                let at = tokens
                    .iter()
                    .filter(|(t, _)| word_matches(w, t))
                    .map(|&(_, p)| p as i64)
                    .collect();
                (i64::from(*off), at)
            })
            .collect();
        if lists.iter().any(|(_, at)| at.is_empty()) {
            return false;
        }
        let slop = i64::from(key.slop);
        if lists.len() == 1 {
            true
        } else if slop == 0 {
            let (off0, first) = &lists[0];
            first
                .iter()
                .any(|&x| lists.iter().all(|(off, at)| at.contains(&(x - off0 + off))))
        } else {
            lists.windows(2).all(|w| {
                let ((off_a, a), (off_b, b)) = (&w[0], &w[1]);
                a.iter()
                    .any(|&x| b.iter().any(|&y| ((y - off_b) - (x - off_a)).abs() <= slop))
            })
        }
    }

    impl KeywordMatcher {
        /// The hits by a naive scan: every pattern checked against every token, without the
        /// vocabulary, the wildcard index or the triggers.
        fn naive_matches(&self, tokens: &[(String, usize)]) -> Vec<RuleHit> {
            let mut acc = Accumulator::default();
            acc.begin(self.entries.len());
            let words = tokens.iter().map(|(t, _)| t.as_str()).collect();
            for (p, key) in self.patterns.iter().enumerate() {
                if naive_fires(key, tokens, &words) {
                    acc.fire(self.pattern_uses.get(p as u32));
                }
            }
            if acc.touched.is_empty() {
                return Vec::new();
            }
            self.rank(&mut acc);
            self.build_hits(&mut acc)
        }

        /// The indexed matcher on `(token, position)` pairs.
        fn matches_pairs(&self, tokens: &[(String, usize)]) -> Vec<RuleHit> {
            with_scratch(|s| {
                s.occ.clear();
                for (t, p) in tokens {
                    self.push_token(t, *p, &mut s.occ);
                }
                self.hits(s)
            })
        }
    }

    /// Same hits up to the order of equal scores and the rounding of the sums.
    fn assert_same(mut got: Vec<RuleHit>, mut want: Vec<RuleHit>, what: &str) {
        let key = |h: &RuleHit| {
            (
                h.level == HitLevel::Category,
                h.subcategory.clone(),
                h.category.clone(),
            )
        };
        got.sort_by_key(key);
        want.sort_by_key(key);
        assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(key(g), key(w), "{what}");
            assert_eq!(g.matched, w.matched, "{what}");
            assert!((g.score - w.score).abs() < 1e-4, "{what}: {g:?} vs {w:?}");
        }
    }

    fn analysed(m: &KeywordMatcher, text: &str) -> Vec<(String, usize)> {
        m.analyzers()
            .analyze_tokens(text)
            .into_iter()
            .map(|t| (t.text, t.position))
            .collect()
    }

    #[test]
    fn indexed_matcher_equals_a_naive_scan_on_texts() {
        let m = shipped();
        let texts = texts();
        assert!(texts.len() > 500, "{}", texts.len());
        let mut hits = 0;
        for text in &texts {
            let tokens = analysed(&m, &clean_text(text).text);
            let got = m.matches_pairs(&tokens);
            hits += got.len();
            assert_same(got, m.naive_matches(&tokens), text);
        }
        assert!(hits > texts.len() / 2, "only {hits} hits");
    }

    /// Random token sequences made of the rules' own words (exact stems, wildcard prefixes
    /// with endings, whole phrases with jitter) and filler, at positions with gaps and shared
    /// positions, so that phrases, slops, wildcards and negatives fire often.
    #[test]
    fn indexed_matcher_equals_a_naive_scan_on_random_tokens() {
        let m = shipped();
        let exact: Vec<&str> = (0..m.vocab.len() as u32)
            .map(|i| m.vocab.token(i))
            .collect();
        assert!(exact.len() > 1000, "{}", exact.len());
        for (i, t) in exact.iter().enumerate() {
            assert_eq!(m.vocab.get(t), Some(i as u32), "{t}");
        }
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n.max(1) as u64) as usize
        };
        let word_text = |w: &Word, r: usize| match w {
            Word::Exact(t) => t.clone(),
            Word::Wildcard(wc) => match r % 3 {
                0 => format!("{}{}", wc.prefix, ["", "н", "ка", "ов"][r % 4]),
                1 => wc.stem.clone().unwrap_or_else(|| wc.prefix.clone()),
                _ => wc.prefix.clone(),
            },
        };
        let (mut fired, mut phrases) = (0, 0);
        for round in 0..1000 {
            let mut tokens: Vec<(String, usize)> = Vec::new();
            let mut pos = 0usize;
            for _ in 0..(5 + next(40)) {
                match next(10) {
                    0..=3 => tokens.push((exact[next(exact.len())].to_owned(), pos)),
                    4..=6 => {
                        let key = &m.patterns[next(m.patterns.len())];
                        for (off, w) in &key.words {
                            let jitter = if key.slop > 0 {
                                next(3)
                            } else {
                                usize::from(next(8) == 0)
                            };
                            tokens.push((word_text(w, next(12)), pos + *off as usize + jitter));
                        }
                        pos += key.words.last().map_or(0, |w| w.0 as usize) + 1;
                    }
                    7 => {
                        let w = &m.wildcards[next(m.wildcards.len())];
                        tokens.push((word_text(&Word::Wildcard(w.clone()), next(12)), pos));
                    }
                    _ => tokens.push((["и", "дом", "xyz", "сам", "ул"][next(5)].to_owned(), pos)),
                }
                // Usually the next position, sometimes a gap or the same position.
                pos += [1, 1, 1, 2, 0][next(5)];
            }
            if round % 2 == 1 {
                tokens.reverse();
            }
            let got = m.matches_pairs(&tokens);
            let want = m.naive_matches(&tokens);
            fired += got.len();
            phrases += got
                .iter()
                .filter(|h| h.matched.iter().any(|l| l.contains("фраза")))
                .count();
            assert_same(got, want, &format!("{tokens:?}"));
        }
        assert!(
            fired > 1000 && phrases > 100,
            "{fired} hits, {phrases} with phrases"
        );
    }

    #[test]
    fn feature_scores_equal_the_features_of_the_hits() {
        let m = shipped();
        let mut nonempty = 0;
        for text in texts() {
            let text = clean_text(&text).text;
            let tokens = TokenList::analyse(m.analyzers(), &text);
            let hits = m.matches_token_list(&tokens);
            let want = crate::classifier::rule_features(&hits);
            let got = m.feature_scores(&tokens);
            // Bit for bit, in the same order.
            let bits = |v: &[(&str, f32)]| -> Vec<(String, u32)> {
                v.iter()
                    .map(|(s, f)| ((*s).to_owned(), f.to_bits()))
                    .collect()
            };
            assert_eq!(bits(&got), bits(&want), "{text}");
            nonempty += usize::from(!got.is_empty());
        }
        assert!(nonempty > 300, "{nonempty}");
    }
}
