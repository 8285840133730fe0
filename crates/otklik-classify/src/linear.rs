//! The linear model: a one-vs-rest linear SVM (or averaged passive-aggressive) over TF-IDF
//! weighted, per-block L2-normalized features (see [`crate::features`]).
//!
//! Weights are stored feature-major (`weights[feature * labels + label]`), so scoring a text
//! touches one contiguous row per feature present. Features are keyed by stable hashes; the
//! vocabulary maps a hash to a dense id.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

use crate::data::SplitMix;
use crate::features::{self, BLOCKS, Block, Feat, FeatureConfig, Scratch, norm_block};
use crate::hash::IdMap;

/// A sparse feature vector: (feature id, value), sorted by id.
pub(crate) type Sparse = Vec<(u32, f32)>;

type Vocab = IdMap<u32>;

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
    vocab: Vocab,
    hashes: Vec<u64>,
    df: Vec<u32>,
    blocks: Vec<u8>,
    /// `weights[feature * labels + label]`.
    weights: Vec<f32>,
    /// Per-label bias.
    bias: Vec<f32>,
    /// Cached inverse document frequencies (empty until [`LinearModel::refresh_idf`]).
    idf: Vec<f32>,
}

/// One document's raw features: (hash, block, count).
pub(crate) type RawFeatures = Vec<(u64, u8, f32)>;

const MAGIC: &[u8; 8] = b"OTKLIN01";

/// The norm of the keyword-rule block relative to the word and character blocks (1.0 each).
const RULE_BLOCK_WEIGHT: f32 = 1.0;

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
        self.hashes.len()
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
        for row in self.weights.chunks(old.max(1)).take(nf) {
            w.extend_from_slice(row);
            w.push(0.0);
        }
        if old == 0 {
            w = vec![0.0; nf];
        }
        self.weights = w;
        self.labels.push(label.to_owned());
        self.bias.push(0.0);
        self.labels.len() - 1
    }

    /// Extracts a document's features with counts (merged by hash).
    pub(crate) fn raw_features(
        &self,
        text: &str,
        tokens: &[String],
        rules: &[(&str, f32)],
        scratch: &mut Scratch,
    ) -> RawFeatures {
        let mut out: RawFeatures = Vec::with_capacity(tokens.len() * 16);
        features::extract(
            &self.features,
            text,
            tokens,
            rules,
            scratch,
            &mut |h, f, v| {
                out.push((h, f.block() as u8, v));
            },
        );
        out.sort_unstable_by_key(|e| e.0);
        out.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.2 += b.2;
                true
            } else {
                false
            }
        });
        out
    }

    /// Builds the vocabulary from training documents, keeping character n-grams and word
    /// bigrams seen in at least `min_df` documents (single words and rule hits always).
    pub(crate) fn build_vocab(&mut self, docs: &[RawFeatures], min_df: u32) {
        let mut df: IdMap<(u32, u8)> = IdMap::default();
        for d in docs {
            for &(h, b, _) in d {
                df.entry(h).or_insert((0, b)).0 += 1;
            }
        }
        let mut kept: Vec<(u64, u32, u8)> = df
            .into_iter()
            .filter(|(_, (n, b))| {
                *n >= min_df || *b == Block::Word as u8 || *b == Block::Rule as u8
            })
            .map(|(h, (n, b))| (h, n, b))
            .collect();
        kept.sort_unstable_by_key(|e| e.0);
        self.n_docs = docs.len() as u32;
        self.vocab = Vocab::default();
        self.vocab.reserve(kept.len());
        self.hashes.clear();
        self.df.clear();
        self.blocks.clear();
        for (h, n, b) in kept {
            self.vocab.insert(h, self.hashes.len() as u32);
            self.hashes.push(h);
            self.df.push(n);
            self.blocks.push(b);
        }
        self.weights = vec![0.0; self.hashes.len() * self.nl()];
        self.refresh_idf();
    }

    /// Adds one more document to the vocabulary (new features get weight 0).
    pub(crate) fn observe(&mut self, doc: &RawFeatures) {
        self.n_docs += 1;
        let nl = self.nl();
        for &(h, b, _) in doc {
            match self.vocab.get(&h) {
                Some(&id) => {
                    if let Some(d) = self.df.get_mut(id as usize) {
                        *d += 1;
                    }
                }
                None => {
                    self.vocab.insert(h, self.hashes.len() as u32);
                    self.hashes.push(h);
                    self.df.push(1);
                    self.blocks.push(b);
                    self.weights.extend(std::iter::repeat_n(0.0, nl));
                }
            }
        }
        self.refresh_idf();
    }

    fn idf(&self, id: usize) -> f32 {
        if let Some(&v) = self.idf.get(id)
            && self.idf.len() == self.df.len()
        {
            return v;
        }
        let df = self.df.get(id).copied().unwrap_or(0) as f32;
        ((self.n_docs as f32 + 1.0) / (df + 1.0)).ln() + 1.0
    }

    /// Recomputes the cached inverse document frequencies.
    pub(crate) fn refresh_idf(&mut self) {
        let n = self.n_docs as f32 + 1.0;
        self.idf = self
            .df
            .iter()
            .map(|&d| (n / (d as f32 + 1.0)).ln() + 1.0)
            .collect();
    }

    /// The TF-IDF vector of a text straight from its features, without sorting or
    /// allocating per feature: counts accumulate in `scratch.dense` (the fast path).
    pub(crate) fn vectorize_text(
        &self,
        text: &str,
        tokens: &[String],
        rules: &[(&str, f32)],
        scratch: &mut Scratch,
    ) -> Sparse {
        let nf = self.num_features();
        let mut dense = std::mem::take(&mut scratch.dense);
        let mut touched = std::mem::take(&mut scratch.touched);
        if dense.len() != nf {
            dense.clear();
            dense.resize(nf, 0.0);
        }
        touched.clear();
        features::extract(
            &self.features,
            text,
            tokens,
            rules,
            scratch,
            &mut |h, _, v| {
                if let Some(&id) = self.vocab.get(&h)
                    && let Some(slot) = dense.get_mut(id as usize)
                {
                    if *slot == 0.0 {
                        touched.push(id);
                    }
                    *slot += v;
                }
            },
        );
        let mut norms = [0.0f32; BLOCKS];
        let mut out: Sparse = Vec::with_capacity(touched.len());
        for &id in &touched {
            let Some(slot) = dense.get_mut(id as usize) else {
                continue;
            };
            let count = std::mem::take(slot);
            let b = self.blocks.get(id as usize).copied().unwrap_or(0);
            let tf = if b == Block::Rule as u8 || count <= 1.0 {
                count
            } else {
                1.0 + count.ln()
            };
            let x = tf * self.idf(id as usize);
            if let Some(n) = norms.get_mut(norm_block(b)) {
                *n += x * x;
            }
            out.push((id, x));
        }
        let mut inv = norms.map(|n| if n > 0.0 { 1.0 / n.sqrt() } else { 0.0 });
        if let Some(r) = inv.get_mut(Block::Rule as usize) {
            *r *= RULE_BLOCK_WEIGHT;
        }
        for (id, x) in &mut out {
            let b = self.blocks.get(*id as usize).copied().unwrap_or(0);
            *x *= inv.get(norm_block(b)).copied().unwrap_or(0.0);
        }
        scratch.dense = dense;
        scratch.touched = touched;
        out
    }

    /// The id of a feature hash.
    pub(crate) fn feature_id(&self, h: u64) -> Option<u32> {
        self.vocab.get(&h).copied()
    }

    /// Sublinear TF-IDF, each block L2-normalized; unknown features dropped.
    pub(crate) fn vectorize(&self, doc: &RawFeatures) -> Sparse {
        let mut v: Sparse = Vec::with_capacity(doc.len());
        let mut norms = [0.0f32; BLOCKS];
        for &(h, b, count) in doc {
            let Some(id) = self.feature_id(h) else {
                continue;
            };
            let tf = if b == Block::Rule as u8 {
                count
            } else {
                1.0 + count.max(1.0).ln()
            };
            let x = tf * self.idf(id as usize);
            if let Some(n) = norms.get_mut(norm_block(b)) {
                *n += x * x;
            }
            v.push((id, x));
        }
        for (id, x) in &mut v {
            let b = self.blocks.get(*id as usize).copied().unwrap_or(0);
            let n = norms.get(norm_block(b)).copied().unwrap_or(1.0).sqrt();
            if n > 0.0 {
                *x /= n;
            }
            if b == Block::Rule as u8 {
                *x *= RULE_BLOCK_WEIGHT;
            }
        }
        v.sort_unstable_by_key(|e| e.0);
        v
    }

    /// Scores of every label for a vector.
    pub(crate) fn scores(&self, x: &Sparse) -> Vec<f32> {
        let nl = self.nl();
        let mut s = self.bias.clone();
        s.resize(nl, 0.0);
        for &(id, v) in x {
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
        x: &Sparse,
        y: usize,
        aggressiveness: f32,
        acc: Option<(&mut [f32], f32)>,
    ) -> f32 {
        let scores = self.scores(x);
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
        let sq: f32 = x.iter().map(|(_, v)| v * v).sum();
        if sq <= 0.0 {
            return 0.0;
        }
        let tau = (loss / (2.0 * sq)).min(aggressiveness);
        let nl = self.nl();
        for &(i, v) in x {
            self.add(i, y, tau * v);
            self.add(i, r, -tau * v);
        }
        if let Some((acc, c)) = acc {
            for &(i, v) in x {
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

    /// Averaged PA training over `data` (vector, label id) for `epochs`.
    pub(crate) fn fit_pa(
        &mut self,
        data: &[(Sparse, usize)],
        epochs: usize,
        aggressiveness: f32,
        seed: u64,
    ) {
        let mut acc = vec![0.0f32; self.weights.len()];
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = SplitMix::new(seed);
        let mut c = 1.0f32;
        for _ in 0..epochs {
            rng.shuffle(&mut order);
            for &i in &order {
                if let Some((x, y)) = data.get(i) {
                    self.step(x, *y, aggressiveness, Some((&mut acc, c)));
                }
                c += 1.0;
            }
        }
        for (w, a) in self.weights.iter_mut().zip(&acc) {
            *w -= a / c;
        }
    }

    /// One-vs-rest linear SVM with the squared hinge loss (liblinear's / scikit-learn's
    /// `LinearSVC`), solved by dual coordinate descent with an implicit bias feature. `c` is
    /// the regularization constant; with `balanced`, each example's `C` is scaled by
    /// `n / (labels * count(label))` (scikit-learn's `class_weight="balanced"`).
    pub(crate) fn fit_svm(
        &mut self,
        data: &[(Sparse, usize)],
        epochs: usize,
        c: f32,
        balanced: bool,
        seed: u64,
    ) {
        let nl = self.nl();
        let nf = self.num_features();
        let mut counts = vec![0usize; nl];
        for (_, y) in data {
            if let Some(n) = counts.get_mut(*y) {
                *n += 1;
            }
        }
        let present = counts.iter().filter(|&&n| n > 0).count().max(1) as f32;
        let cw: Vec<f32> = counts
            .iter()
            .map(|&n| {
                if balanced && n > 0 {
                    data.len() as f32 / (present * n as f32)
                } else {
                    1.0
                }
            })
            .collect();
        let d: Vec<f32> = data
            .iter()
            .map(|(_, y)| 0.5 / (c * cw.get(*y).copied().unwrap_or(1.0)).max(1e-6))
            .collect();
        let xx: Vec<f32> = data
            .iter()
            .map(|(x, _)| x.iter().map(|(_, v)| v * v).sum::<f32>() + 1.0)
            .collect();
        let mut rng = SplitMix::new(seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        self.bias = vec![0.0; nl];
        self.weights = vec![0.0; nf * nl];
        let mut w = vec![0.0f32; nf];
        for label in 0..nl {
            w.iter_mut().for_each(|x| *x = 0.0);
            let mut b = 0.0f32;
            let mut alpha = vec![0.0f32; data.len()];
            for _ in 0..epochs {
                rng.shuffle(&mut order);
                let mut max_pg = 0.0f32;
                for &i in &order {
                    let Some((x, y)) = data.get(i) else { continue };
                    let yi = if *y == label { 1.0 } else { -1.0 };
                    let a = alpha.get(i).copied().unwrap_or(0.0);
                    let di = d.get(i).copied().unwrap_or(0.5);
                    let wx: f32 = x
                        .iter()
                        .map(|&(j, v)| w.get(j as usize).copied().unwrap_or(0.0) * v)
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
                        for &(j, v) in x {
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
        for _ in 0..10 {
            if self.step(x, y, f32::INFINITY, None) == 0.0 {
                break;
            }
        }
    }

    /// Writes the arrays (vocabulary, document frequencies, blocks, weights, bias).
    pub(crate) fn write_arrays(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(MAGIC)?;
        let nl = self.nl() as u64;
        let nf = self.num_features() as u64;
        out.write_all(&nl.to_le_bytes())?;
        out.write_all(&nf.to_le_bytes())?;
        for i in 0..self.num_features() {
            out.write_all(&self.hashes.get(i).copied().unwrap_or(0).to_le_bytes())?;
            out.write_all(&self.df.get(i).copied().unwrap_or(0).to_le_bytes())?;
            out.write_all(&[self.blocks.get(i).copied().unwrap_or(0)])?;
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
            ..Self::default()
        };
        m.vocab.reserve(nf);
        for i in 0..nf {
            input.read_exact(&mut u64b)?;
            let h = u64::from_le_bytes(u64b);
            input.read_exact(&mut u32b)?;
            let mut b = [0u8; 1];
            input.read_exact(&mut b)?;
            m.vocab.insert(h, i as u32);
            m.hashes.push(h);
            m.df.push(u32::from_le_bytes(u32b));
            m.blocks.push(b[0]);
        }
        m.weights.reserve(nf * nl);
        for _ in 0..nf * nl + nl {
            input.read_exact(&mut u32b)?;
            let v = f32::from_le_bytes(u32b);
            if m.weights.len() < nf * nl {
                m.weights.push(v);
            } else {
                m.bias.push(v);
            }
        }
        m.refresh_idf();
        Ok(m)
    }

    /// Names of a text's features with their ids (for explanations).
    pub(crate) fn named_features(
        &self,
        text: &str,
        tokens: &[String],
        rules: &[(&str, f32)],
    ) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        features::extract(
            &self.features,
            text,
            tokens,
            rules,
            &mut Scratch::default(),
            &mut |h, f: Feat<'_>, _| {
                if let Some(id) = self.feature_id(h) {
                    out.push((id, f.name()));
                }
            },
        );
        out.sort_by_key(|e| e.0);
        out.dedup_by_key(|e| e.0);
        out
    }
}
