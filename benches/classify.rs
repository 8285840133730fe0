//! Classifier benchmarks (issue 3): classification throughput on one core and training time.
//!
//! Data: `OTKLIK_BENCH_EXAMPLES` (a `text,label` CSV), by default the labelled appeals at
//! `../shared/data/kursk-appeals/train.csv`; without it, a small built-in set is used so the
//! benchmark still runs. Texts are cut to ~300 characters for the throughput figure, as in the
//! target ("posts of ~300 characters"). `predict_300_chars` is the default model;
//! `predict_300_chars_rules` the model with the keyword rules of `rules/keywords/` as features
//! (what `otklik classify` and the monitoring pipeline use), so each post is also matched
//! against the rules. Run: `cargo bench --bench classify`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otklik_classify::monitor::PostAnalyzer;
use otklik_classify::{Classifier, TrainOptions, read_csv};

fn examples() -> Vec<(String, String)> {
    let path = std::env::var_os("OTKLIK_BENCH_EXAMPLES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/kursk-appeals/train.csv"),
        PathBuf::from,
    );
    match read_csv(&path, "label") {
        Ok(d) if !d.examples.is_empty() => d.examples,
        _ => {
            eprintln!("{} not readable: using built-in examples", path.display());
            let base = [
                (
                    "Яма на дороге по улице Ленина, невозможно проехать",
                    "дороги",
                ),
                (
                    "Не вывозят мусор с контейнерной площадки уже неделю",
                    "мусор",
                ),
                (
                    "В квартире холодные батареи, управляющая компания молчит",
                    "жкх",
                ),
                (
                    "Не горят фонари во дворе дома, темно и страшно",
                    "освещение",
                ),
                ("Автобус номер 5 не ходит по расписанию", "транспорт"),
            ];
            (0..400)
                .map(|i| {
                    let (t, l) = base[i % base.len()];
                    (format!("{t}, обращение {i}"), l.to_owned())
                })
                .collect()
        }
    }
}

fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

fn bench(c: &mut Criterion) {
    let data = examples();
    let split = data.len() * 4 / 5;
    let (train, test) = data.split_at(split);
    let posts: Vec<String> = test.iter().map(|(t, _)| cut(t, 300)).collect();
    let clf = Classifier::train(train.iter().cloned(), TrainOptions::default())
        .expect("training succeeds");
    let rules =
        otklik_rules::RulesDir::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .expect("the shipped rules load");
    let matcher = PostAnalyzer::from_rules(&rules)
        .expect("the shipped keyword rules compile")
        .keyword_matcher();
    let with_rules = Classifier::train(
        train.iter().cloned(),
        TrainOptions {
            rules: Some(matcher),
            ..TrainOptions::default()
        },
    )
    .expect("training with rule features succeeds");

    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(posts.len() as u64));
    g.sample_size(10);
    g.bench_function("predict_300_chars", |b| {
        b.iter(|| {
            for p in &posts {
                black_box(clf.predict(p).expect("predict"));
            }
        });
    });
    g.bench_function("predict_300_chars_rules", |b| {
        b.iter(|| {
            for p in &posts {
                black_box(with_rules.predict(p).expect("predict"));
            }
        });
    });
    g.bench_function("classify_with_explanation_300_chars", |b| {
        b.iter(|| {
            for p in posts.iter().take(100) {
                black_box(clf.classify(p).expect("classify"));
            }
        });
    });
    g.finish();

    let mut g = c.benchmark_group("train");
    g.sample_size(10);
    g.throughput(Throughput::Elements(train.len() as u64));
    g.bench_function("train_calibrated", |b| {
        b.iter(|| {
            black_box(
                Classifier::train(train.iter().cloned(), TrainOptions::default()).expect("train"),
            )
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
