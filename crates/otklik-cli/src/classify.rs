//! `otklik classifier train|eval` and `otklik classify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use otklik_classify::keywords::KeywordMatcher;
use otklik_classify::monitor::PostAnalyzer;
use otklik_classify::territory::{RegionDictionary, TerritoryDetector, read_territories};
use otklik_classify::{Classifier, Dataset, Metrics, TrainOptions, read_csv};

use crate::config::Config;

fn load_rules(cfg: &Config) -> anyhow::Result<otklik_rules::RulesDir> {
    otklik_rules::RulesDir::load(&cfg.rules_dir).map_err(|e| anyhow::anyhow!("{e}"))
}

fn matcher(cfg: &Config) -> anyhow::Result<Arc<KeywordMatcher>> {
    let rules = load_rules(cfg)?;
    let keywords = rules
        .keywords()
        .with_context(|| format!("{} has no keyword rules", cfg.rules_dir.display()))?;
    Ok(Arc::new(KeywordMatcher::compile(
        keywords,
        otklik_text::Analyzers::embedded(),
    )?))
}

fn options(cfg: &Config, rules: bool) -> anyhow::Result<TrainOptions> {
    Ok(TrainOptions {
        rules: if rules { Some(matcher(cfg)?) } else { None },
        ..TrainOptions::default()
    })
}

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
pub fn train(
    cfg: &Config,
    examples: &Path,
    out: &Path,
    label_column: &str,
    rules: bool,
) -> anyhow::Result<ExitCode> {
    let data = load(examples, label_column)?;
    let options = options(cfg, rules)?;
    let bar = bar();
    let mut clf = Classifier::train_with_progress(data.examples, options, &mut progress(&bar))
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
    cfg: &Config,
    rules: bool,
    train: &Path,
    test: Option<&Path>,
    folds: Option<usize>,
    label_column: &str,
) -> anyhow::Result<ExitCode> {
    let train_data = load(train, label_column)?;
    let options = options(cfg, rules)?;
    let bar = bar();
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

/// Options of `otklik classify`.
#[derive(Debug)]
pub struct ClassifyArgs {
    /// Explicit model directory.
    pub model: Option<PathBuf>,
    /// Territories CSV.
    pub territories: Option<PathBuf>,
    /// Region dictionary directory.
    pub dictionary: Option<PathBuf>,
    /// Prior territory code.
    pub prior: Option<String>,
    /// JSON output.
    pub json: bool,
}

/// `otklik classify TEXT`.
pub fn classify(cfg: &Config, text: &str, args: &ClassifyArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(cfg)?;
    let mut analyzer = PostAnalyzer::from_rules(&rules)?;
    let model_dir = args
        .model
        .clone()
        .unwrap_or_else(|| cfg.data_dir.join("classifier"));
    let mut model = None;
    if args.model.is_some() || model_dir.join("model.json").is_file() {
        let clf = Classifier::load_with_rules(&model_dir, Some(analyzer.keyword_matcher()))
            .with_context(|| format!("cannot load the model from {}", model_dir.display()))?;
        let explained = clf.classify(text)?;
        analyzer = analyzer.with_model(clf);
        model = Some(explained);
    }
    if let Some(csv) = &args.territories {
        let entries = read_territories(csv)?;
        let dict = match &args.dictionary {
            Some(d) => RegionDictionary::load(d)?,
            None => RegionDictionary::default(),
        };
        analyzer = analyzer.with_territories(TerritoryDetector::new(entries, &dict)?);
    }
    let a = analyzer.analyze(text, args.prior.as_deref());
    if args.json {
        let j = serde_json::json!({ "analysis": a, "model": model });
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(ExitCode::SUCCESS);
    }
    match &model {
        Some(p) => {
            for (label, score) in p.labels.iter().take(3) {
                println!("{score:.3}  {label}");
            }
            println!("confidence: {:.3}", p.confidence);
        }
        None => {
            for (sub, score) in a.candidates.iter().take(3) {
                println!("{score:.3}  {sub}");
            }
            println!("confidence: {:.3}", a.confidence);
            println!(
                "(no learned model in {}: keyword rules only)",
                model_dir.display()
            );
        }
    }
    println!(
        "complaint: {} ({}, {:.2})",
        if a.is_complaint { "yes" } else { "no" },
        a.kind.as_str(),
        a.complaint_score
    );
    println!(
        "category: {} / {} ({:.2})",
        a.category.as_deref().unwrap_or("-"),
        a.subcategory.as_deref().unwrap_or("-"),
        a.confidence
    );
    if args.territories.is_some() {
        match a.territories.first() {
            Some(t) => println!(
                "territory: {} {} ({:.2}) {}{}",
                t.code,
                t.name,
                t.score,
                t.evidence.join(", "),
                t.street
                    .as_deref()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default()
            ),
            None => println!("territory: -"),
        }
    }
    println!("why:");
    for line in &a.explanation {
        println!("  {line}");
    }
    if let Some(p) = &model {
        println!("nearest examples:");
        for (id, label, score, snippet) in &p.explanation.neighbours {
            println!("  #{id} [{label}] {score:.2}  {snippet}");
        }
        println!("features:");
        for (token, label, weight) in &p.explanation.top_features {
            println!("  {token} → {label} ({weight:.3})");
        }
    }
    Ok(ExitCode::SUCCESS)
}
