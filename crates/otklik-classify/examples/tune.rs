//! Cross-validates a few option sets on a CSV: `cargo run --release -p otklik-classify
//! --example tune -- FILE.csv [LABEL_COLUMN]`.

use otklik_classify::{Learner, Method, TrainOptions, cross_validate, read_csv};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: tune FILE.csv [LABEL_COLUMN]")?;
    let column = args.next().unwrap_or_else(|| "label".to_owned());
    let data = read_csv(path.as_ref(), &column)?;
    let base = TrainOptions::default();
    let configs = [
        ("combined", base.clone()),
        (
            "knn",
            TrainOptions {
                method: Method::Knn,
                ..base.clone()
            },
        ),
        (
            "svm",
            TrainOptions {
                method: Method::Linear,
                ..base.clone()
            },
        ),
        (
            "svm-no-char",
            TrainOptions {
                method: Method::Linear,
                char_ngrams: false,
                ..base.clone()
            },
        ),
        (
            "svm-C0.5",
            TrainOptions {
                method: Method::Linear,
                aggressiveness: 0.5,
                ..base.clone()
            },
        ),
        (
            "pa",
            TrainOptions {
                method: Method::Linear,
                learner: Learner::PassiveAggressive,
                ..base.clone()
            },
        ),
    ];

    for (name, opts) in configs {
        let m = cross_validate(&data.examples, 5, base.seed, &opts, &mut |_, _, _| {})?;
        println!(
            "{name:<18} acc {:.3} macro-F1 {:.3} weighted-F1 {:.3} {:.0} texts/s",
            m.accuracy, m.macro_f1, m.weighted_f1, m.texts_per_second
        );
    }
    Ok(())
}
