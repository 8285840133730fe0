//! # otklik-classify
//!
//! Classification of citizens' messages and collected posts, all over the one Russian analysis
//! of `otklik-text`:
//!
//! - [`keywords`]: the keyword and phrase rules of `rules/keywords/` compiled into tantivy
//!   queries (for the archive search) and into a fast in-memory matcher with the same
//!   semantics (for every post);
//! - [`complaint`]: complaint or question to the authorities versus news, advertising,
//!   thanks, greetings, spam — a lexicon plus a small trainable model, threshold configurable;
//! - [`territory`]: the territory a text is about, from the region's toponyms in every
//!   grammatical case, with the source's territory as the prior;
//! - [`Classifier`]: learning from labelled examples — any label set (category, topic,
//!   executor). Examples are kept in a tantivy index (field `text` analysed with
//!   [`RU_ANALYZER`](otklik_text::RU_ANALYZER)); the default scorer is a one-vs-rest linear SVM
//!   over TF-IDF stemmed words and bigrams, character 3–5-grams and, when given, the keyword
//!   rules' hits as features (so the rules help whatever the label set). Features are 64-bit
//!   hashes looked up in a compact open-addressing table, and scores are accumulated straight
//!   from the counts, so classifying a post allocates little; training streams the examples
//!   twice (document frequencies, then compact sparse vectors). On held-out calibration
//!   folds the class-weight power is chosen, per-label score offsets are fitted for the
//!   [`Objective`] and the confidence is calibrated. The BM25 nearest examples can be mixed
//!   in ([`Method::Combined`]); on the measured data they do not improve quality and cost a
//!   query per text, so by default they are looked up only to explain a decision.
//!   Moderators' corrections are learned with [`Classifier::add_example`] without a rebuild;
//! - [`monitor::PostAnalyzer`]: all of the above in one call for the monitoring pipeline,
//!   analysing each post once for the complaint detector, the rules and the model.
//!
//! [`eval`] and [`cross_validate`] (stratified folds) give [`Metrics`]; [`read_csv`] reads
//! `text,label` CSV files with row-numbered errors. Figures are in `BENCHMARKS.md`.
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
mod hash;
pub mod keywords;
mod linear;
mod metrics;
pub mod monitor;
pub mod territory;
mod tokens;

pub use classifier::{
    Calibration, Classifier, Explanation, Learner, Method, Objective, Prediction, Progress,
    TrainOptions, cross_validate, eval,
};
pub use data::{Dataset, read_csv, read_csv_from, stratified_folds};
pub use error::{ClassifyError, Result};
pub use features::FeatureConfig;
pub use metrics::{LabelMetrics, Metrics};
