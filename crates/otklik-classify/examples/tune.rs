//! Cross-validates option sets on a CSV (5 stratified folds, pooled out-of-fold predictions):
//!
//! ```sh
//! cargo run --release -p otklik-classify --example tune -- FILE.csv [LABEL_COLUMN] [SPEC...]
//! ```
//!
//! A SPEC is a comma-separated list of `key=value` changes to the defaults
//! ([`TrainOptions::default`] with the keyword rules as features): `C` (SVM regularization),
//! `bal` (class-weight power, 0 = unbalanced, 1 = balanced), `balc` (candidate powers chosen
//! on the calibration folds, `1/0.5`), `char` (`3-5`, `2-5`, `none`),
//! `bigrams` (0/1), `mindf`, `rules` (0/1), `method` (`linear`, `knn`, `combined`), `k`,
//! `learner` (`svm`, `pa`), `epochs`, `obj` (score offsets fitted for `none`, `acc`, `f1`). `default` (or no SPEC) runs the defaults.

use otklik_classify::{
    FeatureConfig, Learner, Method, Objective, TrainOptions, cross_validate, read_csv,
};

fn parse(spec: &str, base: &TrainOptions) -> Result<TrainOptions, Box<dyn std::error::Error>> {
    let mut o = base.clone();
    for kv in spec.split(',').filter(|s| !s.is_empty() && *s != "default") {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("{kv}: not key=value"))?;
        match k {
            "C" => o.aggressiveness = v.parse()?,
            "bal" => {
                let p: f32 = v.parse()?;
                o.balanced = p != 0.0;
                o.balance_power = p;
                o.balance_candidates = Vec::new();
            }
            "balc" => {
                o.balanced = true;
                o.balance_candidates = v.split('/').map(str::parse).collect::<Result<_, _>>()?;
            }
            "char" => {
                o.features.char_ngrams = match v {
                    "none" => None,
                    r => {
                        let (a, b) = r.split_once('-').ok_or("char=LO-HI")?;
                        Some((a.parse()?, b.parse()?))
                    }
                }
            }
            "bigrams" => o.features.bigrams = v == "1",
            "mindf" => o.min_df = v.parse()?,
            "rules" => {
                if v == "0" {
                    o.rules = None;
                }
            }
            "method" => {
                o.method = match v {
                    "knn" => Method::Knn,
                    "combined" => Method::Combined,
                    _ => Method::Linear,
                }
            }
            "k" => o.k = v.parse()?,
            "learner" => {
                o.learner = if v == "pa" {
                    Learner::PassiveAggressive
                } else {
                    Learner::Svm
                }
            }
            "epochs" => o.epochs = v.parse()?,
            "obj" => {
                o.objective = match v {
                    "acc" => Objective::Accuracy,
                    "f1" => Objective::MacroF1,
                    "both" => Objective::Both,
                    _ => Objective::None,
                }
            }
            _ => return Err(format!("unknown key {k}").into()),
        }
    }
    Ok(o)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: tune FILE.csv [LABEL_COLUMN] [SPEC...]")?;
    let column = args.next().unwrap_or_else(|| "label".to_owned());
    let mut specs: Vec<String> = args.collect();
    if specs.is_empty() {
        specs.push("default".to_owned());
    }
    let data = read_csv(path.as_ref(), &column)?;
    let rules_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let rules = otklik_rules::RulesDir::load(&rules_dir)?;
    let matcher = otklik_classify::keywords::KeywordMatcher::compile(
        rules.keywords().ok_or("no keyword rules")?,
        otklik_text::Analyzers::embedded(),
    )?;
    let base = TrainOptions {
        rules: Some(std::sync::Arc::new(matcher)),
        features: FeatureConfig::default(),
        ..TrainOptions::default()
    };
    for spec in specs {
        let opts = parse(&spec, &base)?;
        if std::env::var_os("TUNE_DEBUG").is_some() {
            let clf = otklik_classify::Classifier::train(data.examples.clone(), opts.clone())?;
            eprintln!("{spec}: {clf:?}");
        }
        let m = cross_validate(&data.examples, 5, base.seed, &opts, &mut |_, _, _| {})?;
        println!(
            "{spec:<32} acc {:.4} macro-F1 {:.4} weighted-F1 {:.4} {:.0} texts/s",
            m.accuracy, m.macro_f1, m.weighted_f1, m.texts_per_second
        );
    }
    Ok(())
}
