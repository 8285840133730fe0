//! The learned part: a multinomial logistic regression over the post's stems (unigrams and
//! bigrams) and the cues that fired, with the lexicon's logits as a fixed offset. With no or
//! few labels the L2 penalty keeps the weights near zero, so the detector behaves like the
//! lexicon; with more labels the model corrects it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::lexicon::{Cues, Lexicon, Weights};
use super::text::{Analysis, Feature};
use super::{KINDS, PostKind};

/// The keys are already hashes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The model keys of the shape features (`f NAME`), by [`Feature::index`].
static FEATURE_KEYS: std::sync::LazyLock<[u64; Feature::ALL.len()]> =
    std::sync::LazyLock::new(|| Feature::ALL.map(|f| hash_parts(&["f", f.name()])));

/// The model key of a feature name given as its space-separated parts (`["b", "ям",
/// "дорог"]` for `b ям дорог`). Stable across runs and platforms (saved models use names,
/// and keys are recomputed on load).
pub(crate) fn hash_parts(parts: &[&str]) -> u64 {
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for p in parts {
        h = super::lexicon::fx_bytes(h, p.as_bytes());
        h = h.rotate_left(7) ^ 0x20;
    }
    // A final mix so that the low bits are well spread for the identity hasher.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// Calls `sink(hash, value, parts)` for every model feature of a post. `parts` joined with a
/// space is the feature's name (`w ям`, `b ям дорог`, `c problem`, `f phone`, `x thanks_problem`).
pub(crate) fn features(
    a: &Analysis,
    cues: &Cues,
    lex: &Lexicon,
    mut sink: impl FnMut(u64, f32, &[&str]),
) {
    // Bag of stems: unigrams (expansions included) and bigrams of consecutive main stems,
    // counted with repetition, scaled so that the bag has unit L2 norm when no term repeats.
    let mains = a.stems.iter().filter(|(_, main)| *main).count();
    let n = a.stems.len() + mains.saturating_sub(1);
    if n > 0 {
        let value = 1.0 / (n as f32).sqrt();
        let mut prev: Option<&str> = None;
        for (range, main) in &a.stems {
            let s = a.slice(range.clone());
            sink(hash_parts(&["w", s]), value, &["w", s]);
            if *main {
                if let Some(p) = prev {
                    sink(hash_parts(&["b", p, s]), value, &["b", p, s]);
                }
                prev = Some(s);
            }
        }
    }
    for (g, &count) in lex.groups.iter().zip(&cues.counts) {
        if count > 0 {
            sink(g.model_key, count as f32, &["c", &g.name]);
        }
    }
    for f in Feature::ALL {
        if a.has(f) {
            sink(FEATURE_KEYS[f.index()], 1.0, &["f", f.name()]);
        }
    }
    for (c, &fired) in lex.combos.iter().zip(&cues.combos) {
        if fired {
            sink(c.model_key, 1.0, &["x", &c.name]);
        }
    }
}

/// Options of [`ComplaintDetector::train_with`](super::ComplaintDetector::train_with): a
/// multinomial logistic regression fitted by AdaGrad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComplaintTrainOptions {
    /// Passes over the examples (default 40).
    pub epochs: usize,
    /// AdaGrad's base step (default 0.3).
    pub learning_rate: f32,
    /// L2 penalty per update; larger keeps the detector closer to the lexicon (default 1e-3).
    pub l2: f32,
    /// Seed of the example order (default 42).
    pub seed: u64,
}

impl Default for ComplaintTrainOptions {
    fn default() -> Self {
        Self {
            epochs: 40,
            learning_rate: 0.3,
            l2: 1e-3,
            seed: 42,
        }
    }
}

impl ComplaintTrainOptions {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::ClassifyError::InvalidOption(m.to_owned()));
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate must be positive");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2 must be zero or positive");
        }
        if self.epochs > 10_000 {
            return bad("epochs must be at most 10000");
        }
        Ok(())
    }
}

/// One training example, featurized.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    pub features: Vec<(u64, f32)>,
    pub prior: Weights,
    pub label: usize,
}

/// The learned model.
#[derive(Debug, Clone, Default)]
pub(crate) struct Model {
    pub bias: Weights,
    weights: IdMap<Weights>,
    names: IdMap<Box<str>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ModelFile {
    format: String,
    kinds: Vec<String>,
    bias: Vec<f32>,
    /// Feature name (`w ям`, `b ям дорог`, `c problem`, …) and its per-kind weights.
    weights: Vec<(String, Vec<f32>)>,
}

const FORMAT: &str = "otklik-complaint-model/1";

fn softmax(z: &mut Weights) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 && sum.is_finite() {
        for v in z.iter_mut() {
            *v /= sum;
        }
    } else {
        *z = [1.0 / KINDS as f32; KINDS];
    }
}

pub(crate) fn probabilities(mut logits: Weights) -> Weights {
    for v in &mut logits {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    softmax(&mut logits);
    logits
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Model {
    /// Trains on featurized examples with AdaGrad.
    pub(crate) fn train(
        examples: &[Example],
        names: IdMap<Box<str>>,
        s: ComplaintTrainOptions,
    ) -> Model {
        let mut weights: IdMap<Weights> = IdMap::default();
        let mut grad2: IdMap<Weights> = IdMap::default();
        let mut bias = [0.0f32; KINDS];
        let mut bias_g2 = [0.0f32; KINDS];
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = SplitMix(s.seed);
        for _ in 0..s.epochs {
            for i in (1..order.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &i in &order {
                let ex = &examples[i];
                let mut z = ex.prior;
                for k in 0..KINDS {
                    z[k] += bias[k];
                }
                for (h, x) in &ex.features {
                    if let Some(w) = weights.get(h) {
                        for k in 0..KINDS {
                            z[k] += w[k] * x;
                        }
                    }
                }
                let p = probabilities(z);
                let mut g = p;
                g[ex.label] -= 1.0;
                for k in 0..KINDS {
                    bias_g2[k] += g[k] * g[k];
                    bias[k] -= s.learning_rate * g[k] / (bias_g2[k].sqrt() + 1e-6);
                }
                for (h, x) in &ex.features {
                    let w = weights.entry(*h).or_insert([0.0; KINDS]);
                    let g2 = grad2.entry(*h).or_insert([0.0; KINDS]);
                    for k in 0..KINDS {
                        let gk = g[k] * x + s.l2 * w[k];
                        g2[k] += gk * gk;
                        w[k] -= s.learning_rate * gk / (g2[k].sqrt() + 1e-6);
                    }
                }
            }
        }
        weights.retain(|_, w| w.iter().any(|v| v.abs() > 1e-4));
        let mut names = names;
        names.retain(|h, _| weights.contains_key(h));
        Model {
            bias,
            weights,
            names,
        }
    }

    /// Adds the model's contributions to `logits`; returns the features seen with their
    /// values and weight rows, for [`explain`](Self::explain).
    pub(crate) fn add_logits<'m>(
        &'m self,
        a: &Analysis,
        cues: &Cues,
        lex: &Lexicon,
        logits: &mut Weights,
    ) -> Vec<(u64, f32, &'m Weights)> {
        for (l, b) in logits.iter_mut().zip(&self.bias) {
            *l += b;
        }
        let mut seen = Vec::with_capacity(a.stems.len() * 2);
        features(a, cues, lex, |h, x, _| {
            if let Some(w) = self.weights.get(&h) {
                for (l, wk) in logits.iter_mut().zip(w) {
                    *l += wk * x;
                }
                seen.push((h, x, w));
            }
        });
        seen
    }

    /// The up to `n` features that pushed most towards `kind` (relative to the other kinds),
    /// as reason strings.
    pub(crate) fn explain(
        &self,
        seen: &[(u64, f32, &Weights)],
        kind: PostKind,
        n: usize,
    ) -> Vec<String> {
        let k = kind.index();
        let mut top: Vec<(f32, u64)> = Vec::with_capacity(n + 1);
        for &(h, x, w) in seen {
            let mean = w.iter().sum::<f32>() / KINDS as f32;
            let c = (w[k] - mean) * x;
            if c <= 0.05 || (top.len() == n && top.last().is_some_and(|t| t.0 >= c)) {
                continue;
            }
            if top.iter().any(|t| t.1 == h) {
                continue;
            }
            let at = top.iter().position(|t| t.0 < c).unwrap_or(top.len());
            top.insert(at, (c, h));
            top.truncate(n);
        }
        top.into_iter()
            .filter_map(|(c, h)| {
                let name = self.names.get(&h)?;
                let (tag, rest) = name.split_once(' ').unwrap_or(("", name));
                let what = match tag {
                    "w" | "b" => format!("«{rest}»"),
                    "c" => format!("cue {rest}"),
                    "f" => format!("feature {rest}"),
                    _ => format!("combo {rest}"),
                };
                Some(format!("model: {what} +{c:.2}"))
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.weights.len()
    }

    pub(crate) fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut weights: Vec<(String, Vec<f32>)> = self
            .weights
            .iter()
            .filter_map(|(h, w)| Some((self.names.get(h)?.to_string(), w.to_vec())))
            .collect();
        weights.sort_by(|a, b| a.0.cmp(&b.0));
        let file = ModelFile {
            format: FORMAT.to_owned(),
            kinds: PostKind::ALL
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            bias: self.bias.to_vec(),
            weights,
        };
        serde_json::to_string(&file)
    }

    pub(crate) fn from_json(json: &str) -> Result<Model, serde_json::Error> {
        use serde::de::Error;
        let file: ModelFile = serde_json::from_str(json)?;
        if file.format != FORMAT {
            return Err(serde_json::Error::custom(format!(
                "format `{}`, expected `{FORMAT}`",
                file.format
            )));
        }
        // Map the file's kinds onto ours by name.
        let mut map = Vec::with_capacity(file.kinds.len());
        for name in &file.kinds {
            match name.parse::<PostKind>() {
                Ok(k) => map.push(k.index()),
                Err(_) => return Err(serde_json::Error::custom(format!("unknown kind `{name}`"))),
            }
        }
        let to_weights = |v: &[f32]| -> Result<Weights, serde_json::Error> {
            if v.len() != map.len() || v.iter().any(|x| !x.is_finite()) {
                return Err(serde_json::Error::custom(
                    "a weight row does not match `kinds`",
                ));
            }
            let mut w = [0.0; KINDS];
            for (&k, &x) in map.iter().zip(v) {
                w[k] = x;
            }
            Ok(w)
        };
        let bias = to_weights(&file.bias)?;
        let mut weights = IdMap::default();
        let mut names = IdMap::default();
        for (name, row) in &file.weights {
            let parts: Vec<&str> = name.split(' ').collect();
            let h = hash_parts(&parts);
            weights.insert(h, to_weights(row)?);
            names.insert(h, name.clone().into_boxed_str());
        }
        Ok(Model {
            bias,
            weights,
            names,
        })
    }
}

/// Builds the name map entry for a feature (training only).
pub(crate) fn remember(names: &mut IdMap<Box<str>>, h: u64, parts: &[&str]) {
    names
        .entry(h)
        .or_insert_with(|| parts.join(" ").into_boxed_str());
}

pub(crate) type NameMap = IdMap<Box<str>>;
