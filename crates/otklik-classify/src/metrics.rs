//! Accuracy and F1 scores.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LabelMetrics {
    /// Correct predictions of the label / all predictions of the label (0 if never predicted).
    pub precision: f64,
    /// Correct predictions of the label / true examples of the label (0 if none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 if both are 0).
    pub f1: f64,
    /// True examples of the label.
    pub support: usize,
}

/// Evaluation results.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Share of texts whose top label is the true one.
    pub accuracy: f64,
    /// Unweighted mean F1 over every label seen in the truth or the predictions.
    pub macro_f1: f64,
    /// Mean F1 weighted by each label's support.
    pub weighted_f1: f64,
    /// Classification speed (texts per second of wall time), 0 when not measured.
    pub texts_per_second: f64,
    /// Number of evaluated texts.
    pub support: usize,
    /// Per-label scores.
    pub per_label: BTreeMap<String, LabelMetrics>,
}

impl Metrics {
    /// Computes the metrics from parallel slices of true and predicted labels (extra entries
    /// of the longer slice are ignored).
    pub fn from_predictions<S: AsRef<str>, P: AsRef<str>>(truth: &[S], predicted: &[P]) -> Self {
        let n = truth.len().min(predicted.len());
        let labels: BTreeSet<&str> = truth
            .iter()
            .take(n)
            .map(AsRef::as_ref)
            .chain(predicted.iter().take(n).map(AsRef::as_ref))
            .collect();
        let mut tp: BTreeMap<&str, usize> = BTreeMap::new();
        let mut pred_count: BTreeMap<&str, usize> = BTreeMap::new();
        let mut true_count: BTreeMap<&str, usize> = BTreeMap::new();
        let mut correct = 0usize;
        for (t, p) in truth.iter().zip(predicted.iter()) {
            let (t, p) = (t.as_ref(), p.as_ref());
            *true_count.entry(t).or_default() += 1;
            *pred_count.entry(p).or_default() += 1;
            if t == p {
                correct += 1;
                *tp.entry(t).or_default() += 1;
            }
        }
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let mut per_label = BTreeMap::new();
        let (mut f1_sum, mut weighted) = (0.0, 0.0);
        for l in &labels {
            let tp = tp.get(l).copied().unwrap_or(0);
            let support = true_count.get(l).copied().unwrap_or(0);
            let precision = ratio(tp, pred_count.get(l).copied().unwrap_or(0));
            let recall = ratio(tp, support);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            f1_sum += f1;
            weighted += f1 * support as f64;
            per_label.insert(
                (*l).to_owned(),
                LabelMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                },
            );
        }
        Metrics {
            accuracy: ratio(correct, n),
            macro_f1: if labels.is_empty() {
                0.0
            } else {
                f1_sum / labels.len() as f64
            },
            weighted_f1: if n == 0 { 0.0 } else { weighted / n as f64 },
            texts_per_second: 0.0,
            support: n,
            per_label,
        }
    }
}
