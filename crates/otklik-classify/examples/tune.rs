//! Cross-validates a few option sets on a CSV: `cargo run --release -p otklik-classify
//! --example tune -- FILE.csv [LABEL_COLUMN] [CONFIG...]`.

use otklik_classify::{FeatureConfig, Learner, Method, TrainOptions, cross_validate, read_csv};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: tune FILE.csv [LABEL_COLUMN] [CONFIG...]")?;
    let column = args.next().unwrap_or_else(|| "label".to_owned());
    let only: Vec<String> = args.collect();
    let data = read_csv(path.as_ref(), &column)?;
    let base = TrainOptions::default();
    let linear = TrainOptions {
        method: Method::Linear,
        ..base.clone()
    };
    let rules_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let rules = otklik_rules::RulesDir::load(&rules_dir)?;
    let matcher = otklik_classify::keywords::KeywordMatcher::compile(
        rules.keywords().ok_or("no keyword rules")?,
        otklik_text::Analyzers::embedded(),
    )?;
    let with_rules = TrainOptions {
        rules: Some(std::sync::Arc::new(matcher)),
        ..linear.clone()
    };
    let configs = [
        ("combined", base.clone()),
        (
            "knn",
            TrainOptions {
                method: Method::Knn,
                ..base.clone()
            },
        ),
        ("linear", linear.clone()),
        ("linear-rules", with_rules.clone()),
        (
            "combined-rules",
            TrainOptions {
                method: Method::Combined,
                ..with_rules.clone()
            },
        ),
        (
            "linear-unbalanced",
            TrainOptions {
                balanced: false,
                ..linear.clone()
            },
        ),
        (
            "linear-no-char",
            TrainOptions {
                features: FeatureConfig {
                    char_ngrams: None,
                    ..FeatureConfig::default()
                },
                ..linear.clone()
            },
        ),
        (
            "linear-char3-5",
            TrainOptions {
                features: FeatureConfig {
                    char_ngrams: Some((3, 5)),
                    ..FeatureConfig::default()
                },
                ..linear.clone()
            },
        ),
        (
            "linear-C0.5",
            TrainOptions {
                aggressiveness: 0.5,
                ..linear.clone()
            },
        ),
        (
            "linear-C0.3",
            TrainOptions {
                aggressiveness: 0.3,
                ..linear.clone()
            },
        ),
        (
            "linear-C0.2",
            TrainOptions {
                aggressiveness: 0.2,
                ..linear.clone()
            },
        ),
        (
            "linear-C0.3-char1-4",
            TrainOptions {
                aggressiveness: 0.3,
                features: FeatureConfig {
                    char_ngrams: Some((1, 4)),
                    ..FeatureConfig::default()
                },
                ..linear.clone()
            },
        ),
        (
            "linear-mindf1",
            TrainOptions {
                min_df: 1,
                ..linear.clone()
            },
        ),
        (
            "pa",
            TrainOptions {
                learner: Learner::PassiveAggressive,
                ..linear.clone()
            },
        ),
    ];

    for (name, opts) in configs {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let m = cross_validate(&data.examples, 5, base.seed, &opts, &mut |_, _, _| {})?;
        println!(
            "{name:<18} acc {:.3} macro-F1 {:.3} weighted-F1 {:.3} {:.0} texts/s",
            m.accuracy, m.macro_f1, m.weighted_f1, m.texts_per_second
        );
    }
    Ok(())
}
