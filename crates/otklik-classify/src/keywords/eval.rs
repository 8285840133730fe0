//! The in-memory evaluator: one text's tokens against the compiled patterns.
//!
//! A text's tokens are looked up in the rule vocabulary (a token no rule mentions is dropped
//! at once, unless a wildcard matches it) and kept as sorted `(token id << 32) | position`
//! words; a bitset tells which token ids are present and a table where their positions are.
//! Every present token id triggers the patterns anchored on it (each pattern on its rarest
//! word, so it is checked at most once); a phrase is checked only when all its words are
//! present, by binary searches and merges over their positions. Fired patterns add their
//! weight to (or veto) the entries using them. Buffers are kept per thread: matching allocates
//! only the hits.

use std::cell::RefCell;

use tantivy::tokenizer::Token;

use super::{HitLevel, KeywordMatcher, MIN_SCORE_TOLERANCE, RuleHit, Use, Wildcard};

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
    /// An entry's slot is valid when its stamp equals `generation`.
    stamp: Vec<u32>,
    score: Vec<f32>,
    vetoed: Vec<bool>,
    touched: Vec<u32>,
    /// `(entry, label)` of every fired positive item.
    fired: Vec<(u32, u32)>,
    /// The hits before they are built, best first.
    candidates: Vec<Candidate>,
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
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        if self.stamp.len() < entries {
            self.stamp.resize(entries, 0);
            self.score.resize(entries, 0.0);
            self.vetoed.resize(entries, false);
        }
        self.touched.clear();
        self.fired.clear();
    }

    #[inline]
    fn fire(&mut self, uses: &[Use]) {
        for u in uses {
            let e = u.entry as usize;
            if let (Some(stamp), Some(score), Some(vetoed)) = (
                self.stamp.get_mut(e),
                self.score.get_mut(e),
                self.vetoed.get_mut(e),
            ) {
                if *stamp != self.generation {
                    *stamp = self.generation;
                    *score = 0.0;
                    *vetoed = false;
                    self.touched.push(u.entry);
                }
                if u.negative {
                    *vetoed = true;
                } else {
                    *score += u.weight;
                    self.fired.push((u.entry, u.label));
                }
            }
        }
    }

    /// The score of an entry that was touched, not vetoed and scored.
    fn live_score(&self, e: u32) -> Option<f32> {
        let e = e as usize;
        let touched = self.stamp.get(e) == Some(&self.generation);
        let vetoed = self.vetoed.get(e).copied().unwrap_or(true);
        let score = self.score.get(e).copied().unwrap_or(0.0);
        (touched && !vetoed && score > 0.0).then_some(score)
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
            self.evaluate(s)
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
            self.evaluate(s)
        })
    }

    /// [`matches`](Self::matches) for a text analysed once for every detector.
    pub(crate) fn matches_token_list(&self, tokens: &crate::tokens::TokenList) -> Vec<RuleHit> {
        with_scratch(|s| {
            s.occ.clear();
            for t in tokens.iter() {
                self.push_token(t.text, t.position, &mut s.occ);
            }
            self.evaluate(s)
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
        if let Some(&id) = self.vocab.get(text) {
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

    fn evaluate(&self, s: &mut Scratch) -> Vec<RuleHit> {
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
            for &(tag, second) in self.triggers.get(id) {
                let p = tag >> 1;
                if tag & 1 == 1 || (text.has(second) && self.phrase_fires(p, &text)) {
                    acc.fire(self.pattern_uses.get(p));
                }
            }
        }
        for &id in ids.iter() {
            if let Some(w) = present.get_mut((id >> 6) as usize) {
                *w = 0;
            }
        }
        if acc.touched.is_empty() {
            return Vec::new();
        }
        acc.fired.sort_unstable();
        self.collect_hits(acc)
    }

    fn collect_hits(&self, acc: &mut Accumulator) -> Vec<RuleHit> {
        let mut candidates = std::mem::take(&mut acc.candidates);
        candidates.clear();
        for &e in &acc.touched {
            let Some(entry) = self.entries.get(e as usize) else {
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
            let Some(entry) = self.entries.get(e as usize) else {
                continue;
            };
            if entry.level != HitLevel::Category {
                continue;
            }
            let has_subcategory = candidates.get(..subcategory_hits).is_some_and(|c| {
                c.iter().any(|c| {
                    self.entries
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

        let mut hits = Vec::with_capacity(candidates.len());
        for c in &candidates {
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
        acc.candidates = candidates;
        hits
    }
}

fn level_rank(level: HitLevel) -> u8 {
    match level {
        HitLevel::Subcategory => 0,
        HitLevel::Category => 1,
    }
}
