//! # otklik-classify
//!
//! Learning to classify citizens' messages from labelled examples — any label set: category,
//! topic, executor. A [`Classifier`] keeps the examples in a tantivy index (field `text`
//! analysed with `otklik-text`'s [`RU_ANALYZER`](otklik_text::RU_ANALYZER), label stored) and
//! combines two scorers over the same Russian analysis:
//!
//! - **nearest examples**: a BM25 query of the text's analysed tokens, the top `k` (15)
//!   examples voting with weight `(score / best score)²`;
//! - **a linear model**: an averaged passive-aggressive multiclass classifier over TF-IDF
//!   weighted, L2-normalized stemmed unigrams and bigrams.
//!
//! The mixing weight and the confidence temperature are fitted on held-out folds of the
//! training data, so [`Prediction::confidence`] is a calibrated probability. A moderator's
//! correction is learned at once with [`Classifier::add_example`] (no rebuild);
//! [`Classifier::save`] / [`Classifier::load`] persist a directory index plus `model.json`.
//! [`eval`] and [`cross_validate`] (stratified folds) give [`Metrics`]; [`read_csv`] reads
//! `text,label` CSV files with row-numbered errors.
//!
//! ```
//! use otklik_classify::{Classifier, TrainOptions};
//!
//! let examples = [
//!     ("Яма на дороге возле школы", "дороги"),
//!     ("Разбитый асфальт на улице Ленина, ямы", "дороги"),
//!     ("Не вывозят мусор с контейнерной площадки", "мусор"),
//!     ("Переполнены мусорные баки во дворе", "мусор"),
//! ]
//! .map(|(t, l)| (t.to_owned(), l.to_owned()));
//! let clf = Classifier::train(examples, TrainOptions::default())?;
//! let p = clf.classify("Огромные ямы на дороге")?;
//! assert_eq!(p.label(), Some("дороги"));
//! assert!((0.0..=1.0).contains(&p.confidence));
//! # Ok::<(), otklik_classify::ClassifyError>(())
//! ```

mod classifier;
pub mod complaint;
mod data;
mod error;
mod features;
pub mod keywords;
mod linear;
mod metrics;
pub mod monitor;
pub mod territory;

pub use classifier::{
    Calibration, Classifier, Explanation, Learner, Method, Prediction, Progress, TrainOptions,
    cross_validate, eval,
};
pub use data::{Dataset, read_csv, read_csv_from, stratified_folds};
pub use error::{ClassifyError, Result};
pub use features::FeatureConfig;
pub use metrics::{LabelMetrics, Metrics};
