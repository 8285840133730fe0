//! `otklik classifier train|eval` and `otklik classify`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use otklik_classify::{Classifier, Dataset, Metrics, TrainOptions, read_csv};

fn load(path: &Path, label_column: &str) -> anyhow::Result<Dataset> {
    let data =
        read_csv(path, label_column).with_context(|| format!("cannot read {}", path.display()))?;
    eprintln!(
        "{}: {} examples, {} rows skipped (empty text or `{label_column}`)",
        path.display(),
        data.examples.len(),
        data.skipped
    );
    Ok(data)
}

fn bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn progress(bar: &ProgressBar) -> impl FnMut(&str, u64, u64) + '_ {
    move |stage, done, total| {
        bar.set_message(stage.to_owned());
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// `otklik classifier train`.
pub fn train(examples: &Path, out: &Path, label_column: &str) -> anyhow::Result<ExitCode> {
    let data = load(examples, label_column)?;
    let bar = bar();
    let mut clf = Classifier::train_with_progress(
        data.examples,
        TrainOptions::default(),
        &mut progress(&bar),
    )
    .context("training failed")?;
    bar.finish_and_clear();
    clf.save(out)
        .with_context(|| format!("cannot save the model to {}", out.display()))?;
    println!(
        "trained on {} examples, {} labels; saved to {} (calibration {:?})",
        clf.num_examples(),
        clf.labels().len(),
        out.display(),
        clf.calibration()
    );
    Ok(ExitCode::SUCCESS)
}

/// `otklik classifier eval`.
pub fn eval(
    train: &Path,
    test: Option<&Path>,
    folds: Option<usize>,
    label_column: &str,
) -> anyhow::Result<ExitCode> {
    let train_data = load(train, label_column)?;
    let bar = bar();
    let options = TrainOptions::default();
    let metrics = match (test, folds) {
        (Some(test), _) => {
            let test_data = load(test, label_column)?;
            otklik_classify::eval(
                &train_data.examples,
                &test_data.examples,
                &options,
                &mut progress(&bar),
            )?
        }
        (None, Some(k)) => otklik_classify::cross_validate(
            &train_data.examples,
            k,
            options.seed,
            &options,
            &mut progress(&bar),
        )?,
        (None, None) => anyhow::bail!("give --test FILE or --folds K"),
    };
    bar.finish_and_clear();
    print_metrics(&metrics)?;
    Ok(ExitCode::SUCCESS)
}

fn print_metrics(m: &Metrics) -> anyhow::Result<()> {
    println!(
        "{:<50} {:>9} {:>9} {:>9} {:>7}",
        "label", "precision", "recall", "f1", "support"
    );
    for (label, l) in &m.per_label {
        println!(
            "{:<50} {:>9.3} {:>9.3} {:>9.3} {:>7}",
            label.chars().take(50).collect::<String>(),
            l.precision,
            l.recall,
            l.f1,
            l.support
        );
    }
    let summary = serde_json::json!({
        "accuracy": m.accuracy,
        "macro_f1": m.macro_f1,
        "weighted_f1": m.weighted_f1,
        "texts_per_second": m.texts_per_second,
        "support": m.support,
    });
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// `otklik classify TEXT`.
pub fn classify(text: &str, model: &Path) -> anyhow::Result<ExitCode> {
    let clf = Classifier::load(model)
        .with_context(|| format!("cannot load the model from {}", model.display()))?;
    let p = clf.classify(text)?;
    for (label, score) in p.labels.iter().take(3) {
        println!("{score:.3}  {label}");
    }
    println!("confidence: {:.3}", p.confidence);
    println!("nearest examples:");
    for (id, label, score, snippet) in &p.explanation.neighbours {
        println!("  #{id} [{label}] {score:.2}  {snippet}");
    }
    println!("features:");
    for (token, label, weight) in &p.explanation.top_features {
        println!("  {token} → {label} ({weight:.3})");
    }
    Ok(ExitCode::SUCCESS)
}
