//! Throughput of `Classifier::predict` on posts cut to 300 characters, one thread, like the
//! criterion benches `classify/predict_300_chars` (and, with `rules`, the keyword rules as
//! features: `classify/predict_300_chars_rules`) but without building the whole workspace:
//! `cargo run --release -p otklik-classify --example speed -- FILE.csv [LABEL_COLUMN] [rules]`.

use std::hint::black_box;
use std::time::Instant;

use otklik_classify::{Classifier, TrainOptions, read_csv};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: speed FILE.csv [LABEL_COLUMN] [rules]")?;
    let column = args.next().unwrap_or_else(|| "label".to_owned());
    let with_rules = args.next().is_some_and(|a| a == "rules");
    let data = read_csv(path.as_ref(), &column)?.examples;
    let split = data.len() * 4 / 5;
    let (train, test) = data.split_at(split);
    let posts: Vec<String> = test
        .iter()
        .map(|(t, _)| t.chars().take(300).collect())
        .collect();
    let mut options = TrainOptions::default();
    if with_rules {
        let rules_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
        let rules = otklik_rules::RulesDir::load(&rules_dir)?;
        let matcher = otklik_classify::keywords::KeywordMatcher::compile(
            rules.keywords().ok_or("no keyword rules")?,
            otklik_text::Analyzers::embedded(),
        )?;
        options.rules = Some(std::sync::Arc::new(matcher));
    }
    let t = Instant::now();
    let clf = Classifier::train(train.iter().cloned(), options)?;
    eprintln!("trained in {:.2} s: {clf:?}", t.elapsed().as_secs_f64());
    let mut best = f64::INFINITY;
    let rounds: usize = std::env::var("OTKLIK_SPEED_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    for _ in 0..rounds {
        let t = Instant::now();
        for p in &posts {
            black_box(clf.predict(p)?);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} posts: best {:.2} ms, {:.0} posts/s",
        posts.len(),
        best * 1e3,
        posts.len() as f64 / best
    );
    Ok(())
}
