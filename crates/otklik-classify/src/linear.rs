//! The linear model: a one-vs-rest linear SVM (or averaged passive-aggressive) over TF-IDF
//! weighted, per-block L2-normalized features (see [`crate::features`]).
//!
//! Features are keyed by stable 64-bit hashes; a compact open-addressing [`FeatureTable`]
//! maps a hash to its dense id, block and idf in one probe. Weights are stored feature-major
//! (`weights[feature * labels + label]`), so scoring a text touches one contiguous row per
//! feature present, and scores are accumulated per normalization block straight from the
//! counts (no intermediate vector): a block's norm is a scalar applied at the end.
//!
//! Training streams the examples twice (document frequencies, then compact vectors in one
//! [`Csr`] matrix of `u32` ids and `f32` values), so no example's raw features are kept.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::data::SplitMix;
use crate::features::{self, BLOCKS, Block, CharScratch, Feat, FeatureConfig, norm_block};
use crate::hash::{FeatureTable, IdMap, MAX_FEATURES};

/// A sparse feature vector: (feature id, value), sorted by id.
pub(crate) type Sparse = Vec<(u32, f32)>;

/// The model's small parameters (saved as JSON); the arrays go to a binary file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct LinearHeader {
    pub labels: Vec<String>,
    pub features: FeatureConfig,
    pub n_docs: u32,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LinearModel {
    pub labels: Vec<String>,
    pub features: FeatureConfig,
    pub n_docs: u32,
    table: FeatureTable,
    /// Document frequency per feature id.
    df: Vec<u32>,
    /// Inverse document frequency per feature id.
    idf: Vec<f32>,
    /// `weights[feature * labels + label]`.
    weights: Vec<f32>,
    /// Per-label bias.
    bias: Vec<f32>,
}

/// A text to vectorize: the cleaned text (character n-grams), the analyzer's stems and the
/// fired keyword rules with their scores.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doc<'a> {
    pub text: &'a str,
    pub tokens: &'a crate::tokens::TokenList,
    pub rules: &'a [(&'a str, f32)],
}

/// Reusable buffers of vectorization and scoring.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    chars: CharScratch,
    /// Per feature id: 1 + the index of its entry in `touched`, 0 when not touched.
    dense: Vec<u32>,
    /// (id, block, idf, count) of the features present.
    touched: Vec<(u32, u8, f32, f32)>,
    /// Per normalization block, the label scores.
    acc: Vec<f32>,
    /// (hash, block) of one document, for document frequencies.
    seen: Vec<(u64, u8)>,
}

/// Training vectors in compressed sparse rows.
#[derive(Debug, Default)]
pub(crate) struct Csr {
    offsets: Vec<usize>,
    ids: Vec<u32>,
    vals: Vec<f32>,
    ys: Vec<usize>,
}

impl Csr {
    pub(crate) fn new() -> Self {
        Self {
            offsets: vec![0],
            ..Self::default()
        }
    }

    pub(crate) fn push(&mut self, x: &Sparse, y: usize) {
        for &(i, v) in x {
            self.ids.push(i);
            self.vals.push(v);
        }
        self.offsets.push(self.ids.len());
        self.ys.push(y);
    }

    pub(crate) fn len(&self) -> usize {
        self.ys.len()
    }

    /// Row `i`: ids, values, label.
    fn row(&self, i: usize) -> (&[u32], &[f32], usize) {
        let (a, b) = (
            self.offsets.get(i).copied().unwrap_or(0),
            self.offsets.get(i + 1).copied().unwrap_or(0),
        );
        (
            self.ids.get(a..b).unwrap_or(&[]),
            self.vals.get(a..b).unwrap_or(&[]),
            self.ys.get(i).copied().unwrap_or(0),
        )
    }
}

/// Document frequencies of training texts, counted one text at a time.
#[derive(Debug, Default)]
pub(crate) struct DfCounter {
    counts: IdMap<(u32, u8)>,
    n_docs: u32,
}

const MAGIC: &[u8; 8] = b"OTKLIN01";

/// The norm of the keyword-rule block relative to the word and character blocks (1.0 each).
const RULE_BLOCK_WEIGHT: f32 = 1.0;

fn tf(count: f32, block: u8) -> f32 {
    if block == Block::Rule as u8 || count <= 1.0 {
        count
    } else {
        1.0 + count.ln()
    }
}

fn idf_of(n_docs: u32, df: u32) -> f32 {
    ((n_docs as f32 + 1.0) / (df as f32 + 1.0)).ln() + 1.0
}

impl DfCounter {
    /// Counts the distinct features of one training text.
    pub(crate) fn add(&mut self, cfg: &FeatureConfig, doc: Doc<'_>, scratch: &mut Scratch) {
        let seen = &mut scratch.seen;
        seen.clear();
        features::extract(
            cfg,
            doc.text,
            doc.tokens.texts(),
            doc.rules,
            &mut scratch.chars,
            |h, f, _| seen.push((h, f.block() as u8)),
        );
        seen.sort_unstable_by_key(|e| e.0);
        seen.dedup_by_key(|e| e.0);
        for &(h, b) in seen.iter() {
            self.counts.entry(h).or_insert((0, b)).0 += 1;
        }
        self.n_docs += 1;
    }
}

impl LinearModel {
    pub(crate) fn new(features: FeatureConfig) -> Self {
        Self {
            features,
            ..Self::default()
        }
    }

    pub(crate) fn header(&self) -> LinearHeader {
        LinearHeader {
            labels: self.labels.clone(),
            features: self.features,
            n_docs: self.n_docs,
        }
    }

    pub(crate) fn num_features(&self) -> usize {
        self.table.len()
    }

    /// Bytes held by the arrays (table, document frequencies, weights).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + (self.df.capacity() + self.idf.capacity() + self.weights.capacity()) * 4
    }

    fn nl(&self) -> usize {
        self.labels.len()
    }

    /// The id of a label, added (with zero weights) when new.
    pub(crate) fn label_id(&mut self, label: &str) -> usize {
        if let Some(i) = self.labels.iter().position(|l| l == label) {
            return i;
        }
        let old = self.nl();
        let nf = self.num_features();
        let mut w = Vec::with_capacity(nf * (old + 1));
        if old == 0 {
            w.resize(nf, 0.0);
        } else {
            for row in self.weights.chunks(old).take(nf) {
                w.extend_from_slice(row);
                w.push(0.0);
            }
        }
        self.weights = w;
        self.labels.push(label.to_owned());
        self.bias.push(0.0);
        self.labels.len() - 1
    }

    /// Builds the vocabulary from counted training documents, keeping character n-grams and
    /// word bigrams seen in at least `min_df` documents (single words and rule hits always).
    /// Ids follow hash order, so the model does not depend on the order of the examples.
    pub(crate) fn build_vocab(&mut self, counter: DfCounter, min_df: u32) {
        let mut kept: Vec<(u64, u32, u8)> = counter
            .counts
            .into_iter()
            .filter(|(_, (n, b))| {
                *n >= min_df || *b == Block::Word as u8 || *b == Block::Rule as u8
            })
            .map(|(h, (n, b))| (h, n, b))
            .collect();
        kept.sort_unstable_by_key(|e| e.0);
        kept.truncate(MAX_FEATURES);
        self.n_docs = counter.n_docs;
        self.table = FeatureTable::with_capacity(kept.len());
        self.df = Vec::with_capacity(kept.len());
        for (h, n, b) in kept {
            self.table.insert(h, b);
            self.df.push(n);
        }
        self.refresh_idf();
        self.weights = vec![0.0; self.num_features() * self.nl()];
    }

    /// Adds one more document to the vocabulary (new features get weight 0).
    pub(crate) fn observe(&mut self, doc: Doc<'_>, scratch: &mut Scratch) {
        let mut counter = DfCounter::default();
        counter.add(&self.features, doc, scratch);
        self.n_docs += 1;
        let nl = self.nl();
        let mut fresh: Vec<(u64, u8)> = Vec::new();
        for (&h, &(_, b)) in &counter.counts {
            match self.table.get(h) {
                Some(s) => {
                    if let Some(d) = self.df.get_mut(s.id() as usize) {
                        *d += 1;
                    }
                }
                None => fresh.push((h, b)),
            }
        }
        fresh.sort_unstable_by_key(|e| e.0);
        for (h, b) in fresh {
            if self.num_features() >= MAX_FEATURES {
                break;
            }
            self.table.insert(h, b);
            self.df.push(1);
            self.weights.extend(std::iter::repeat_n(0.0, nl));
        }
        self.refresh_idf();
    }

    /// Recomputes the inverse document frequencies after `n_docs` or `df` changed.
    pub(crate) fn refresh_idf(&mut self) {
        let n = self.n_docs;
        self.idf = self.df.iter().map(|&d| idf_of(n, d)).collect();
    }

    /// Counts a text's known features into `scratch.touched`.
    fn count(&self, doc: Doc<'_>, scratch: &mut Scratch) {
        let nf = self.num_features();
        let Scratch {
            chars,
            dense,
            touched,
            ..
        } = scratch;
        if dense.len() < nf {
            dense.resize(nf, 0);
        }
        touched.clear();
        let (table, idf) = (&self.table, &self.idf);
        features::extract(
            &self.features,
            doc.text,
            doc.tokens.texts(),
            doc.rules,
            chars,
            |h, _, v| {
                if let Some(s) = table.get(h)
                    && let Some(slot) = dense.get_mut(s.id() as usize)
                {
                    if *slot == 0 {
                        let w = idf.get(s.id() as usize).copied().unwrap_or(1.0);
                        touched.push((s.id(), s.block(), w, v));
                        *slot = touched.len() as u32;
                    } else if let Some(t) = touched.get_mut(*slot as usize - 1) {
                        t.3 += v;
                    }
                }
            },
        );
        for t in touched.iter() {
            if let Some(slot) = dense.get_mut(t.0 as usize) {
                *slot = 0;
            }
        }
    }

    /// The TF-IDF vector of a text (sublinear tf, each block L2-normalized, unknown features
    /// dropped), sorted by id: for training and corrections.
    pub(crate) fn vectorize(&self, doc: Doc<'_>, scratch: &mut Scratch) -> Sparse {
        self.count(doc, scratch);
        let mut norms = [0.0f32; BLOCKS];
        let mut out: Sparse = Vec::with_capacity(scratch.touched.len());
        for &(id, b, idf, count) in &scratch.touched {
            let x = tf(count, b) * idf;
            if let Some(n) = norms.get_mut(norm_block(b)) {
                *n += x * x;
            }
            out.push((id, x));
        }
        let inv = inverse_norms(norms);
        for ((_, x), t) in out.iter_mut().zip(&scratch.touched) {
            *x *= inv.get(norm_block(t.1)).copied().unwrap_or(0.0);
        }
        out.sort_unstable_by_key(|e| e.0);
        out
    }

    /// Scores of every label for a text, accumulated straight from its feature counts: the
    /// fast path of classification.
    pub(crate) fn score_text(&self, doc: Doc<'_>, scratch: &mut Scratch) -> Vec<f32> {
        self.count(doc, scratch);
        let nl = self.nl();
        let acc = &mut scratch.acc;
        acc.clear();
        acc.resize(nl * BLOCKS, 0.0);
        let mut norms = [0.0f32; BLOCKS];
        for &(id, b, idf, count) in &scratch.touched {
            let x = tf(count, b) * idf;
            let nb = norm_block(b);
            if let Some(n) = norms.get_mut(nb) {
                *n += x * x;
            }
            let start = id as usize * nl;
            if let (Some(row), Some(a)) = (
                self.weights.get(start..start + nl),
                acc.get_mut(nb * nl..nb * nl + nl),
            ) {
                for (ai, wi) in a.iter_mut().zip(row) {
                    *ai += x * wi;
                }
            }
        }
        let inv = inverse_norms(norms);
        let mut s = self.bias.clone();
        s.resize(nl, 0.0);
        for (b, scale) in inv.iter().enumerate() {
            if *scale == 0.0 {
                continue;
            }
            if let Some(a) = acc.get(b * nl..b * nl + nl) {
                for (si, ai) in s.iter_mut().zip(a) {
                    *si += scale * ai;
                }
            }
        }
        s
    }

    /// Scores of every label for a vector.
    pub(crate) fn scores(&self, x: &[(u32, f32)]) -> Vec<f32> {
        self.scores_of(x.iter().map(|&(i, v)| (i, v)))
    }

    fn scores_of(&self, x: impl Iterator<Item = (u32, f32)>) -> Vec<f32> {
        let nl = self.nl();
        let mut s = self.bias.clone();
        s.resize(nl, 0.0);
        for (id, v) in x {
            let start = id as usize * nl;
            if let Some(row) = self.weights.get(start..start + nl) {
                for (si, wi) in s.iter_mut().zip(row) {
                    *si += wi * v;
                }
            }
        }
        s
    }

    /// The weight of a feature for a label.
    pub(crate) fn weight(&self, id: u32, label: usize) -> f32 {
        self.weights
            .get(id as usize * self.nl() + label)
            .copied()
            .unwrap_or(0.0)
    }

    fn add(&mut self, id: u32, label: usize, delta: f32) {
        let nl = self.nl();
        if let Some(w) = self.weights.get_mut(id as usize * nl + label) {
            *w += delta;
        }
    }

    /// One passive-aggressive (PA-I) step; returns the step size. `acc` (the running sum for
    /// averaging) is updated with weight `c` when given.
    fn step(
        &mut self,
        ids: &[u32],
        vals: &[f32],
        y: usize,
        aggressiveness: f32,
        acc: Option<(&mut [f32], f32)>,
    ) -> f32 {
        let scores = self.scores_of(ids.iter().copied().zip(vals.iter().copied()));
        let sy = scores.get(y).copied().unwrap_or(0.0);
        let Some((r, sr)) = scores
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != y)
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, s)| (i, *s))
        else {
            return 0.0;
        };
        let loss = 1.0 - (sy - sr);
        if loss <= 0.0 {
            return 0.0;
        }
        let sq: f32 = vals.iter().map(|v| v * v).sum();
        if sq <= 0.0 {
            return 0.0;
        }
        let tau = (loss / (2.0 * sq)).min(aggressiveness);
        let nl = self.nl();
        for (&i, &v) in ids.iter().zip(vals) {
            self.add(i, y, tau * v);
            self.add(i, r, -tau * v);
        }
        if let Some((acc, c)) = acc {
            for (&i, &v) in ids.iter().zip(vals) {
                let base = i as usize * nl;
                if let Some(a) = acc.get_mut(base + y) {
                    *a += c * tau * v;
                }
                if let Some(a) = acc.get_mut(base + r) {
                    *a -= c * tau * v;
                }
            }
        }
        tau
    }

    /// Averaged PA training over `data` for `epochs`.
    pub(crate) fn fit_pa(&mut self, data: &Csr, epochs: usize, aggressiveness: f32, seed: u64) {
        let mut acc = vec![0.0f32; self.weights.len()];
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = SplitMix::new(seed);
        let mut c = 1.0f32;
        for _ in 0..epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                let (ids, vals, y) = data.row(i);
                self.step(ids, vals, y, aggressiveness, Some((&mut acc, c)));
                c += 1.0;
            }
        }
        for (w, a) in self.weights.iter_mut().zip(&acc) {
            *w -= a / c;
        }
    }

    /// One-vs-rest linear SVM with the squared hinge loss (liblinear's / scikit-learn's
    /// `LinearSVC`), solved by dual coordinate descent with an implicit bias feature. `c` is
    /// the regularization constant; each example's `C` is scaled by
    /// `(n / (labels * count(label)))^balance` — 0 for equal weights, 1 for scikit-learn's
    /// `class_weight="balanced"`, in between for a partial balance.
    pub(crate) fn fit_svm(&mut self, data: &Csr, epochs: usize, c: f32, balance: f32, seed: u64) {
        let nl = self.nl();
        let nf = self.num_features();
        let mut counts = vec![0usize; nl];
        for &y in &data.ys {
            if let Some(n) = counts.get_mut(y) {
                *n += 1;
            }
        }
        let present = counts.iter().filter(|&&n| n > 0).count().max(1) as f32;
        let cw: Vec<f32> = counts
            .iter()
            .map(|&n| {
                if balance != 0.0 && n > 0 {
                    (data.len() as f32 / (present * n as f32)).powf(balance)
                } else {
                    1.0
                }
            })
            .collect();
        let d: Vec<f32> = data
            .ys
            .iter()
            .map(|y| 0.5 / (c * cw.get(*y).copied().unwrap_or(1.0)).max(1e-6))
            .collect();
        let xx: Vec<f32> = (0..data.len())
            .map(|i| data.row(i).1.iter().map(|v| v * v).sum::<f32>() + 1.0)
            .collect();
        let mut rng = SplitMix::new(seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        self.bias = vec![0.0; nl];
        self.weights = vec![0.0; nf * nl];
        let mut w = vec![0.0f32; nf];
        let mut alpha = vec![0.0f32; data.len()];
        for label in 0..nl {
            w.iter_mut().for_each(|x| *x = 0.0);
            alpha.iter_mut().for_each(|x| *x = 0.0);
            let mut b = 0.0f32;
            for _ in 0..epochs {
                rng.shuffle(&mut order);
                let mut max_pg = 0.0f32;
                for &i in &order {
                    let (ids, vals, y) = data.row(i);
                    let yi = if y == label { 1.0 } else { -1.0 };
                    let a = alpha.get(i).copied().unwrap_or(0.0);
                    let di = d.get(i).copied().unwrap_or(0.5);
                    let wx: f32 = ids
                        .iter()
                        .zip(vals)
                        .map(|(&j, &v)| w.get(j as usize).copied().unwrap_or(0.0) * v)
                        .sum::<f32>()
                        + b;
                    let g = yi * wx - 1.0 + di * a;
                    let pg = if a > 0.0 { g } else { g.min(0.0) };
                    max_pg = max_pg.max(pg.abs());
                    if pg.abs() > 1e-6 {
                        let q = xx.get(i).copied().unwrap_or(1.0) + di;
                        let na = (a - g / q).max(0.0);
                        let delta = (na - a) * yi;
                        if let Some(slot) = alpha.get_mut(i) {
                            *slot = na;
                        }
                        for (&j, &v) in ids.iter().zip(vals) {
                            if let Some(wj) = w.get_mut(j as usize) {
                                *wj += delta * v;
                            }
                        }
                        b += delta;
                    }
                }
                if max_pg < 1e-2 {
                    break;
                }
            }
            for (j, wj) in w.iter().enumerate() {
                if let Some(slot) = self.weights.get_mut(j * nl + label) {
                    *slot = *wj;
                }
            }
            if let Some(slot) = self.bias.get_mut(label) {
                *slot = b;
            }
        }
    }

    /// Incremental correction: PA steps on one example until it is classified with margin 1
    /// (at most 10 steps).
    pub(crate) fn correct(&mut self, x: &Sparse, y: usize) {
        let (ids, vals): (Vec<u32>, Vec<f32>) = x.iter().copied().unzip();
        for _ in 0..10 {
            if self.step(&ids, &vals, y, f32::INFINITY, None) == 0.0 {
                break;
            }
        }
    }

    /// Writes the arrays (per feature id: hash, document frequency, block; then weights and
    /// bias). The format (`OTKLIN01`) is unchanged since the vocabulary was a `HashMap`.
    pub(crate) fn write_arrays(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(MAGIC)?;
        let nl = self.nl() as u64;
        let nf = self.num_features();
        out.write_all(&nl.to_le_bytes())?;
        out.write_all(&(nf as u64).to_le_bytes())?;
        for i in 0..nf as u32 {
            out.write_all(&self.table.hash_of(i).to_le_bytes())?;
            out.write_all(&self.df.get(i as usize).copied().unwrap_or(0).to_le_bytes())?;
            out.write_all(&[self.table.block_of(i)])?;
        }
        for w in &self.weights {
            out.write_all(&w.to_le_bytes())?;
        }
        for b in &self.bias {
            out.write_all(&b.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reads what [`LinearModel::write_arrays`] wrote, for this header.
    pub(crate) fn read_arrays(
        header: LinearHeader,
        input: &mut impl Read,
    ) -> std::io::Result<Self> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        let mut magic = [0u8; 8];
        input.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad("not an Otklik linear model file"));
        }
        let mut u64b = [0u8; 8];
        let mut u32b = [0u8; 4];
        input.read_exact(&mut u64b)?;
        let nl = u64::from_le_bytes(u64b) as usize;
        input.read_exact(&mut u64b)?;
        let nf = u64::from_le_bytes(u64b) as usize;
        if nl != header.labels.len() {
            return Err(bad("label count differs from model.json"));
        }
        if nf > 1 << 28 || nl > 1 << 16 {
            return Err(bad("implausible model size"));
        }
        let mut m = LinearModel {
            labels: header.labels,
            features: header.features,
            n_docs: header.n_docs,
            table: FeatureTable::with_capacity(nf),
            ..Self::default()
        };
        m.df.reserve_exact(nf);
        for i in 0..nf {
            input.read_exact(&mut u64b)?;
            let h = u64::from_le_bytes(u64b);
            input.read_exact(&mut u32b)?;
            let mut b = [0u8; 1];
            input.read_exact(&mut b)?;
            if m.table.insert(h, b[0]) as usize != i {
                return Err(bad("duplicate feature hash"));
            }
            m.df.push(u32::from_le_bytes(u32b));
        }
        m.weights = read_f32s(input, nf * nl)?;
        m.bias = read_f32s(input, nl)?;
        m.refresh_idf();
        Ok(m)
    }

    /// Names of a text's features with their ids (for explanations).
    pub(crate) fn named_features(&self, doc: Doc<'_>) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        features::extract(
            &self.features,
            doc.text,
            doc.tokens.texts(),
            doc.rules,
            &mut CharScratch::default(),
            |h, f: Feat<'_>, _| {
                if let Some(s) = self.table.get(h) {
                    out.push((s.id(), f.name()));
                }
            },
        );
        out.sort_by_key(|e| e.0);
        out.dedup_by_key(|e| e.0);
        out
    }
}

/// `1 / norm` per block (0 for an empty block), the rule block scaled by its weight.
fn inverse_norms(norms: [f32; BLOCKS]) -> [f32; BLOCKS] {
    let mut inv = norms.map(|n| if n > 0.0 { 1.0 / n.sqrt() } else { 0.0 });
    if let Some(r) = inv.get_mut(Block::Rule as usize) {
        *r *= RULE_BLOCK_WEIGHT;
    }
    inv
}

/// Reads `n` little-endian `f32`s in chunks (no second copy of a large array).
fn read_f32s(input: &mut impl Read, n: usize) -> std::io::Result<Vec<f32>> {
    let mut out = Vec::with_capacity(n);
    let mut buf = vec![0u8; 1 << 16];
    while out.len() < n {
        let take = ((n - out.len()) * 4).min(buf.len());
        let chunk = buf.get_mut(..take).unwrap_or_default();
        input.read_exact(chunk)?;
        out.extend(
            chunk
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::tokens::TokenList;

    fn model() -> (LinearModel, Vec<(String, TokenList)>) {
        let analyzers = otklik_text::Analyzers::embedded();
        let texts = [
            ("Яма на дороге возле школы", "roads"),
            ("Огромные ямы на проезжей части", "roads"),
            ("Не вывозят мусор с площадки", "waste"),
            ("Переполнены мусорные баки во дворе", "waste"),
        ];
        let mut m = LinearModel::new(FeatureConfig::default());
        let mut counter = DfCounter::default();
        let mut scratch = Scratch::default();
        let docs: Vec<(String, TokenList)> = texts
            .iter()
            .map(|(t, _)| ((*t).to_owned(), TokenList::analyse(analyzers, t)))
            .collect();
        fn doc((t, toks): &(String, TokenList)) -> Doc<'_> {
            Doc {
                text: t.as_str(),
                tokens: toks,
                rules: &[],
            }
        }
        let mut ys = Vec::new();
        for (d, (_, label)) in docs.iter().zip(texts) {
            counter.add(&m.features, doc(d), &mut scratch);
            ys.push(m.label_id(label));
        }
        m.build_vocab(counter, 1);
        let mut data = Csr::new();
        for (d, y) in docs.iter().zip(ys) {
            let x = m.vectorize(doc(d), &mut scratch);
            data.push(&x, y);
        }
        m.fit_svm(&data, 50, 1.0, 1.0, 7);
        (m, docs)
    }

    #[test]
    fn fast_scores_equal_vector_scores_and_survive_a_save() {
        let (m, docs) = model();
        let mut scratch = Scratch::default();
        let mut bytes = Vec::new();
        m.write_arrays(&mut bytes).unwrap();
        // Unchanged format: magic, label and feature counts, 13 bytes a feature, the floats.
        let (nl, nf) = (m.labels.len(), m.num_features());
        assert_eq!(bytes.len(), 8 + 16 + nf * 13 + (nf * nl + nl) * 4);
        assert_eq!(bytes.get(..8), Some(&MAGIC[..]));
        let loaded = LinearModel::read_arrays(m.header(), &mut bytes.as_slice()).unwrap();
        for (t, toks) in &docs {
            let doc = Doc {
                text: t,
                tokens: toks,
                rules: &[],
            };
            let fast = m.score_text(doc, &mut scratch);
            let x = m.vectorize(doc, &mut scratch);
            let norm: f32 = x.iter().map(|(_, v)| v * v).sum();
            assert!((norm - 2.0).abs() < 1e-4, "two unit blocks: {norm}");
            for (a, b) in fast.iter().zip(m.scores(&x)) {
                assert!((a - b).abs() < 1e-5);
            }
            assert_eq!(loaded.score_text(doc, &mut scratch), fast);
        }
    }
}
