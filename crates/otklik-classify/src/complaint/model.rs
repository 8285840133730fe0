//! The learned part: a multinomial logistic regression over the post's stems (unigrams and
//! bigrams) and the cues that fired, with the lexicon's logits as a fixed offset. With no or
//! few labels the L2 penalty keeps the weights near zero, so the detector behaves like the
//! lexicon; with more labels the model corrects it.

use serde::{Deserialize, Serialize};

use super::lexicon::{Cues, Lexicon, Weights};
use super::text::{Analysis, Feature};
use super::{KINDS, PostKind};

use crate::hash::IdMap;

/// The model keys of the shape features (`f NAME`), by [`Feature::index`].
static FEATURE_KEYS: std::sync::LazyLock<[u64; Feature::ALL.len()]> =
    std::sync::LazyLock::new(|| Feature::ALL.map(|f| hash_parts(&["f", f.name()])));

/// The hash of one part of a feature name.
#[inline]
fn part_hash(part: &str) -> u64 {
    super::lexicon::fx_bytes(0x243f_6a88_85a3_08d3, part.as_bytes())
}

/// The model key of a feature name from its parts' hashes.
#[inline]
fn combine(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x1319_8a2e_0370_7344;
    for &p in parts {
        h = (h.rotate_left(5) ^ p).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    // A final mix so that all bits are well spread for the identity hasher and the filter.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The model key of a feature name given as its space-separated parts (`["b", "ям",
/// "дорог"]` for `b ям дорог`). Stable across runs and platforms (saved models store names;
/// keys are recomputed on load).
pub(crate) fn hash_parts(parts: &[&str]) -> u64 {
    let mut hashes = [0u64; 4];
    let n = parts.len().min(4);
    for (h, p) in hashes.iter_mut().zip(parts) {
        *h = part_hash(p);
    }
    combine(&hashes[..n])
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
        let (tag_w, tag_b) = (part_hash("w"), part_hash("b"));
        let mut prev: Option<(&str, u64)> = None;
        for (range, main) in &a.stems {
            let s = a.slice(range.clone());
            let hs = part_hash(s);
            sink(combine(&[tag_w, hs]), value, &["w", s]);
            if *main {
                if let Some((p, hp)) = prev {
                    sink(combine(&[tag_b, hp, hs]), value, &["b", p, s]);
                }
                prev = Some((s, hs));
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
    /// One bit per `FILTER_BITS` hash bucket, set for the keys in `weights`: most features
    /// of a new post (rare words, bigrams) are unknown and skipped here, without probing the
    /// map.
    filter: Vec<u64>,
}

const FILTER_BITS: usize = 1 << 16;

fn filter_bit(h: u64) -> (usize, u64) {
    let b = (h >> 40) as usize & (FILTER_BITS - 1);
    (b / 64, 1u64 << (b % 64))
}

fn build_filter(weights: &IdMap<Weights>) -> Vec<u64> {
    let mut f = vec![0u64; FILTER_BITS / 64];
    for h in weights.keys() {
        let (i, bit) = filter_bit(*h);
        f[i] |= bit;
    }
    f
}

/// Pushes a non-negative number with two decimals (`1.25`), without the formatting machinery.
fn push_hundredths(out: &mut String, x: f32) {
    let v = (x.max(0.0) * 100.0).round().min(1e9) as u64;
    let (int, frac) = (v / 100, v % 100);
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut i = int;
    loop {
        digits[n] = b'0' + (i % 10) as u8;
        n += 1;
        i /= 10;
        if i == 0 {
            break;
        }
    }
    for &d in digits[..n].iter().rev() {
        out.push(char::from(d));
    }
    out.push('.');
    out.push(char::from(b'0' + (frac / 10) as u8));
    out.push(char::from(b'0' + (frac % 10) as u8));
}

#[cfg(test)]
#[test]
fn hundredths() {
    for (x, s) in [
        (0.0, "0.00"),
        (0.424, "0.42"),
        (1.004, "1.00"),
        (12.345, "12.35"),
        (-1.0, "0.00"),
    ] {
        let mut out = String::new();
        push_hundredths(&mut out, x);
        assert_eq!(out, s);
    }
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
            filter: build_filter(&weights),
            weights,
            names,
        }
    }

    #[inline]
    fn weight(&self, h: u64) -> Option<&Weights> {
        let (i, bit) = filter_bit(h);
        if self.filter.get(i).is_some_and(|w| w & bit != 0) {
            self.weights.get(&h)
        } else {
            None
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
            if let Some(w) = self.weight(h) {
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
                let mut r = String::with_capacity(rest.len() + 24);
                r.push_str("model: ");
                match tag {
                    "w" | "b" => {
                        r.push('«');
                        r.push_str(rest);
                        r.push('»');
                    }
                    "c" => {
                        r.push_str("cue ");
                        r.push_str(rest);
                    }
                    "f" => {
                        r.push_str("feature ");
                        r.push_str(rest);
                    }
                    _ => {
                        r.push_str("combo ");
                        r.push_str(rest);
                    }
                }
                r.push_str(" +");
                push_hundredths(&mut r, c);
                Some(r)
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
            filter: build_filter(&weights),
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
