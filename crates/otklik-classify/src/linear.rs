//! The linear model: averaged passive-aggressive multiclass classifier over TF-IDF weighted,
//! L2-normalized stemmed unigrams and bigrams.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::SplitMix;

/// A sparse feature vector: (feature index, value), L2-normalized.
pub(crate) type Sparse = Vec<(usize, f32)>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct LinearModel {
    pub labels: Vec<String>,
    pub vocab: HashMap<String, u32>,
    pub df: Vec<u32>,
    pub n_docs: u32,
    pub bigrams: bool,
    #[serde(default)]
    pub char_ngrams: bool,
    /// `weights[label][feature]`.
    pub weights: Vec<Vec<f32>>,
    /// Per-label bias (SVM only; empty or zero otherwise).
    #[serde(default)]
    pub bias: Vec<f32>,
}

/// Unigrams and (optionally) bigrams of the analyzed tokens, with term counts.
pub(crate) fn features(
    tokens: &[String],
    bigrams: bool,
    char_ngrams: bool,
) -> HashMap<String, u32> {
    let mut out: HashMap<String, u32> = HashMap::new();
    for t in tokens {
        *out.entry(t.clone()).or_default() += 1;
        if char_ngrams {
            let chars: Vec<char> = std::iter::once('<')
                .chain(t.chars())
                .chain(std::iter::once('>'))
                .collect();
            for n in 3..=5 {
                for w in chars.windows(n) {
                    let mut g = String::from("#");
                    g.extend(w);
                    *out.entry(g).or_default() += 1;
                }
            }
        }
    }
    if bigrams {
        for w in tokens.windows(2) {
            if let [a, b] = w {
                *out.entry(format!("{a} {b}")).or_default() += 1;
            }
        }
    }
    out
}

impl LinearModel {
    pub(crate) fn new(bigrams: bool, char_ngrams: bool) -> Self {
        Self {
            bigrams,
            char_ngrams,
            ..Self::default()
        }
    }

    pub(crate) fn label_id(&mut self, label: &str) -> usize {
        if let Some(i) = self.labels.iter().position(|l| l == label) {
            return i;
        }
        self.labels.push(label.to_owned());
        self.weights.push(vec![0.0; self.df.len()]);
        self.bias.resize(self.labels.len(), 0.0);
        self.labels.len() - 1
    }

    /// The features of analyzed tokens, as configured.
    pub(crate) fn features(&self, tokens: &[String]) -> HashMap<String, u32> {
        features(tokens, self.bigrams, self.char_ngrams)
    }

    /// Feature names by index.
    pub(crate) fn feature_names(&self) -> Vec<String> {
        let mut names = vec![String::new(); self.df.len()];
        for (f, &id) in &self.vocab {
            if let Some(n) = names.get_mut(id as usize) {
                n.clone_from(f);
            }
        }
        names
    }

    /// Adds a document's features to the vocabulary and document frequencies.
    pub(crate) fn observe(&mut self, feats: &HashMap<String, u32>) {
        self.n_docs += 1;
        for f in feats.keys() {
            let next = self.df.len() as u32;
            let id = *self.vocab.entry(f.clone()).or_insert(next);
            if id == next {
                self.df.push(0);
                for w in &mut self.weights {
                    w.push(0.0);
                }
            }
            if let Some(d) = self.df.get_mut(id as usize) {
                *d += 1;
            }
        }
    }

    fn idf(&self, id: usize) -> f32 {
        let df = self.df.get(id).copied().unwrap_or(0) as f32;
        ((self.n_docs as f32 + 1.0) / (df + 1.0)).ln() + 1.0
    }

    /// The TF-IDF vector of known features (unknown ones are dropped).
    pub(crate) fn vectorize(&self, feats: &HashMap<String, u32>) -> Sparse {
        let mut v: Sparse = feats
            .iter()
            .filter_map(|(f, &tf)| {
                let id = *self.vocab.get(f)? as usize;
                Some((id, (1.0 + (tf as f32).ln()) * self.idf(id)))
            })
            .collect();
        let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, x) in &mut v {
                *x /= norm;
            }
        }
        v.sort_unstable_by_key(|(i, _)| *i);
        v
    }

    pub(crate) fn scores(&self, x: &Sparse) -> Vec<f32> {
        self.weights
            .iter()
            .map(|w| {
                x.iter()
                    .map(|&(i, v)| w.get(i).copied().unwrap_or(0.0) * v)
                    .sum()
            })
            .collect()
    }

    /// One passive-aggressive (PA-I) step; returns the step size. `acc` (the running sum for
    /// averaging) is updated with weight `c` when given.
    fn step(
        &mut self,
        x: &Sparse,
        y: usize,
        aggressiveness: f32,
        acc: Option<(&mut [Vec<f32>], f32)>,
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
        for &(i, v) in x {
            if let Some(w) = self.weights.get_mut(y).and_then(|w| w.get_mut(i)) {
                *w += tau * v;
            }
            if let Some(w) = self.weights.get_mut(r).and_then(|w| w.get_mut(i)) {
                *w -= tau * v;
            }
        }
        if let Some((acc, c)) = acc {
            for &(i, v) in x {
                if let Some(w) = acc.get_mut(y).and_then(|w| w.get_mut(i)) {
                    *w += c * tau * v;
                }
                if let Some(w) = acc.get_mut(r).and_then(|w| w.get_mut(i)) {
                    *w -= c * tau * v;
                }
            }
        }
        tau
    }

    /// Averaged PA training over `data` (vector, label id) for `epochs`.
    pub(crate) fn fit(
        &mut self,
        data: &[(Sparse, usize)],
        epochs: usize,
        aggressiveness: f32,
        seed: u64,
    ) {
        let mut acc: Vec<Vec<f32>> = self.weights.iter().map(|w| vec![0.0; w.len()]).collect();
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
            for (wi, ai) in w.iter_mut().zip(a) {
                *wi -= ai / c;
            }
        }
    }

    /// One-vs-rest linear SVM with the squared hinge loss (as liblinear's / scikit-learn's
    /// `LinearSVC`), solved by dual coordinate descent; a constant bias feature is appended
    /// implicitly. `c` is the regularization constant.
    pub(crate) fn fit_svm(&mut self, data: &[(Sparse, usize)], epochs: usize, c: f32, seed: u64) {
        let d = 0.5 / c.max(1e-6);
        let mut rng = SplitMix::new(seed);
        let mut order: Vec<usize> = (0..data.len()).collect();
        let nfeat = self.df.len();
        // x·x + bias² for each example.
        let qii: Vec<f32> = data
            .iter()
            .map(|(x, _)| x.iter().map(|(_, v)| v * v).sum::<f32>() + 1.0 + d)
            .collect();
        self.bias = vec![0.0; self.labels.len()];
        for (label, (w, b)) in self
            .weights
            .iter_mut()
            .zip(self.bias.iter_mut())
            .enumerate()
        {
            w.clear();
            w.resize(nfeat, 0.0);
            let mut alpha = vec![0.0f32; data.len()];
            for _ in 0..epochs {
                rng.shuffle(&mut order);
                let mut max_pg = 0.0f32;
                for &i in &order {
                    let Some((x, y)) = data.get(i) else { continue };
                    let yi = if *y == label { 1.0 } else { -1.0 };
                    let a = alpha.get(i).copied().unwrap_or(0.0);
                    let wx: f32 = x
                        .iter()
                        .map(|&(j, v)| w.get(j).copied().unwrap_or(0.0) * v)
                        .sum::<f32>()
                        + *b;
                    let g = yi * wx - 1.0 + d * a;
                    let pg = if a > 0.0 { g } else { g.min(0.0) };
                    max_pg = max_pg.max(pg.abs());
                    if pg.abs() > 1e-6 {
                        let q = qii.get(i).copied().unwrap_or(1.0);
                        let na = (a - g / q).max(0.0);
                        let delta = (na - a) * yi;
                        if let Some(slot) = alpha.get_mut(i) {
                            *slot = na;
                        }
                        for &(j, v) in x {
                            if let Some(wj) = w.get_mut(j) {
                                *wj += delta * v;
                            }
                        }
                        *b += delta;
                    }
                }
                if max_pg < 1e-3 {
                    break;
                }
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
}
