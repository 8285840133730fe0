//! Classifier behaviour on small synthetic Russian examples.
#![allow(clippy::unwrap_used)]

use otklik_classify::{
    Classifier, ClassifyError, Metrics, TrainOptions, read_csv_from, stratified_folds,
};

fn examples() -> Vec<(String, String)> {
    let roads = [
        "Яма на дороге возле школы",
        "Разбитый асфальт на улице Ленина",
        "Огромные ямы на проезжей части",
        "Дорогу не ремонтировали десять лет",
        "Нужен ремонт дороги в посёлке",
        "Асфальт провалился у перекрёстка",
        "Машины ломаются на ямах, отремонтируйте дорогу",
        "Нет тротуара и разбита дорога",
        "После зимы вся дорога в выбоинах",
        "Просим заасфальтировать дорогу к деревне",
    ];
    let waste = [
        "Не вывозят мусор с контейнерной площадки",
        "Переполнены мусорные баки во дворе",
        "Свалка мусора за гаражами",
        "Мусоровоз не приезжал две недели",
        "Контейнеры для мусора сломаны",
        "Вокруг баков разбросан мусор",
        "Несанкционированная свалка в лесу",
        "Мусор не вывозят уже месяц",
        "Просим поставить контейнеры для мусора",
        "Оператор по вывозу мусора не работает",
    ];
    let health = [
        "Не могу записаться к врачу в поликлинику",
        "В больнице нет лекарств",
        "Очереди к терапевту в поликлинике",
        "Нет педиатра в районной больнице",
        "Скорая помощь ехала два часа",
        "Врач не принимает по записи",
        "В поликлинике не хватает врачей",
        "Лекарства для льготников не выдают в аптеке",
        "Закрыли фельдшерский пункт в селе",
        "Хамство медсестры в больнице",
    ];
    let mut out = Vec::new();
    for (texts, label) in [
        (roads, "дороги"),
        (waste, "мусор"),
        (health, "здравоохранение"),
    ] {
        out.extend(texts.iter().map(|t| ((*t).to_owned(), label.to_owned())));
    }
    out
}

fn trained() -> Classifier {
    Classifier::train(examples(), TrainOptions::default()).unwrap()
}

#[test]
fn classifies_unseen_texts() {
    let clf = trained();
    for (text, label) in [
        ("Когда отремонтируют дорогу? Сплошные ямы", "дороги"),
        ("Мусорные контейнеры переполнены, мусор не вывозят", "мусор"),
        (
            "В поликлинике невозможно попасть к врачу",
            "здравоохранение",
        ),
    ] {
        let p = clf.classify(text).unwrap();
        assert_eq!(p.label(), Some(label), "{text}: {p:?}");
    }
}

#[test]
fn top_k_is_ordered_and_confidence_in_range() {
    let clf = trained();
    for text in ["ямы на дороге", "", "!!! 😡", "qwerty", "мусор и врач"] {
        let p = clf.classify(text).unwrap();
        assert_eq!(p.labels.len(), 3);
        assert!(p.labels.windows(2).all(|w| w[0].1 >= w[1].1), "{p:?}");
        assert!((0.0..=1.0).contains(&p.confidence), "{p:?}");
        assert!(p.labels.iter().all(|(_, s)| (0.0..=1.0).contains(s)));
    }
    let p = clf.classify("ямы на дороге").unwrap();
    assert!(!p.explanation.neighbours.is_empty());
    assert_eq!(p.explanation.neighbours[0].1, "дороги");
    assert!(p.explanation.top_features.iter().any(|f| f.1 == "дороги"));
}

#[test]
fn add_example_changes_prediction_without_rebuild() {
    let mut clf = trained();
    let text = "Сломался светофор на перекрёстке у вокзала";
    let before = clf.classify(text).unwrap();
    assert_ne!(before.label(), Some("светофоры"));
    let n = clf.num_examples();
    clf.add_example(text, "светофоры").unwrap();
    assert_eq!(clf.num_examples(), n + 1);
    let after = clf
        .classify("Светофор на перекрёстке у вокзала сломался")
        .unwrap();
    assert_eq!(after.label(), Some("светофоры"), "{after:?}");
    assert!(clf.add_example("", "x").is_err());
}

#[test]
fn save_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut clf = trained();
    clf.save(dir.path()).unwrap();
    let loaded = Classifier::load(dir.path()).unwrap();
    assert_eq!(loaded.num_examples(), clf.num_examples());
    assert_eq!(loaded.labels(), clf.labels());
    for text in ["ямы на дороге", "мусор во дворе", "нет врача"] {
        let (a, b) = (clf.classify(text).unwrap(), loaded.classify(text).unwrap());
        assert_eq!(a.explanation.neighbours, b.explanation.neighbours);
        assert_eq!(a.labels.len(), b.labels.len());
        for ((la, sa), (lb, sb)) in a.labels.iter().zip(&b.labels) {
            assert_eq!(la, lb);
            assert!((sa - sb).abs() < 1e-5, "{a:?} {b:?}");
        }
    }
    // Corrections after loading go to the directory index and survive another save/load.
    let mut loaded = loaded;
    loaded
        .add_example("Не работает уличное освещение", "освещение")
        .unwrap();
    loaded.save(dir.path()).unwrap();
    let again = Classifier::load(dir.path()).unwrap();
    assert_eq!(again.num_examples(), clf.num_examples() + 1);
    assert!(again.labels().iter().any(|l| l == "освещение"));
    assert!(matches!(
        Classifier::load(&dir.path().join("missing")),
        Err(ClassifyError::Io { .. })
    ));
}

#[test]
fn training_needs_examples() {
    let r = Classifier::train(
        vec![(" ".to_owned(), "a".to_owned())],
        TrainOptions::default(),
    );
    assert!(matches!(r, Err(ClassifyError::NoExamples)));
}

#[test]
fn metrics_on_a_hand_computed_confusion_matrix() {
    // truth:  a a a b b c ; predicted: a a b b c c
    // a: tp2 fp0 fn1 → P 1, R 2/3, F1 0.8
    // b: tp1 fp1 fn1 → P 1/2, R 1/2, F1 0.5
    // c: tp1 fp1 fn0 → P 1/2, R 1, F1 2/3
    let truth = ["a", "a", "a", "b", "b", "c"];
    let pred = ["a", "a", "b", "b", "c", "c"];
    let m = Metrics::from_predictions(&truth, &pred);
    let close = |x: f64, y: f64| (x - y).abs() < 1e-9;
    assert!(close(m.accuracy, 4.0 / 6.0));
    assert!(close(m.macro_f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0));
    assert!(close(
        m.weighted_f1,
        (0.8 * 3.0 + 0.5 * 2.0 + 2.0 / 3.0) / 6.0
    ));
    assert!(close(m.per_label["b"].precision, 0.5));
    assert_eq!(m.per_label["a"].support, 3);
    let empty = Metrics::from_predictions::<&str, &str>(&[], &[]);
    assert_eq!(empty.accuracy, 0.0);
}

#[test]
fn folds_are_stratified_and_cross_validation_runs() {
    let data = examples();
    let labels: Vec<&str> = data.iter().map(|(_, l)| l.as_str()).collect();
    let folds = stratified_folds(&labels, 5, 7);
    for f in 0..5 {
        for label in ["дороги", "мусор", "здравоохранение"] {
            let n = labels
                .iter()
                .zip(&folds)
                .filter(|(l, g)| **l == label && **g == f)
                .count();
            assert_eq!(n, 2);
        }
    }
    assert_eq!(folds, stratified_folds(&labels, 5, 7));
    let m =
        otklik_classify::cross_validate(&data, 5, 1, &TrainOptions::default(), &mut |_, _, _| {})
            .unwrap();
    assert_eq!(m.support, 30);
    assert!(m.accuracy > 0.6, "{m:?}");
    assert!(m.texts_per_second > 0.0);
}

#[test]
fn csv_rows_skipped_and_errors_numbered() {
    let csv = "text,label,executor\nЯма,дороги,ДорУправление\n,дороги,x\nМусор,,y\n\"Врач\",здоровье,Минздрав\n";
    let d = read_csv_from(csv.as_bytes(), "label").unwrap();
    assert_eq!(d.examples.len(), 2);
    assert_eq!(d.skipped, 2);
    let d = read_csv_from(csv.as_bytes(), "executor").unwrap();
    assert_eq!(d.examples[0].1, "ДорУправление");
    assert_eq!(d.skipped, 1);
    let bad = "text,label\nЯма,дороги\nМусор,мусор,лишнее\n";
    let err = read_csv_from(bad.as_bytes(), "label").unwrap_err();
    assert!(matches!(err, ClassifyError::Csv { row: 3, .. }), "{err}");
    assert!(err.to_string().contains("row 3"));
    let err = read_csv_from("text,x\na,b\n".as_bytes(), "label").unwrap_err();
    assert!(matches!(err, ClassifyError::MissingColumn(_)));
}

fn keyword_rules() -> std::sync::Arc<otklik_classify::keywords::KeywordMatcher> {
    let rules =
        otklik_rules::RulesDir::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules")).unwrap();
    std::sync::Arc::new(
        otklik_classify::keywords::KeywordMatcher::compile(
            rules.keywords().unwrap(),
            otklik_text::Analyzers::embedded(),
        )
        .unwrap(),
    )
}

/// The fast path (`predict`, scores accumulated straight from feature counts) and the
/// explained path (`classify`, an explicit TF-IDF vector) agree, before and after corrections
/// that grow the vocabulary.
#[test]
fn predict_and_classify_agree() {
    let mut clf = Classifier::train(
        examples(),
        TrainOptions {
            rules: Some(keyword_rules()),
            ..TrainOptions::default()
        },
    )
    .unwrap();
    let texts = [
        "Когда отремонтируют дорогу? Сплошные ямы",
        "Мусор не вывозят, баки переполнены!!!",
        "Врач в поликлинике не принимает",
        "Новые совершенно незнакомые слова: синхрофазотрон",
        "",
    ];
    let check = |clf: &Classifier| {
        for t in texts {
            let (fast, full) = (clf.predict(t).unwrap(), clf.classify(t).unwrap());
            assert_eq!(fast.labels.len(), full.labels.len(), "{t}");
            for ((la, pa), (lb, pb)) in fast.labels.iter().zip(&full.labels) {
                assert_eq!(la, lb, "{t}");
                assert!((pa - pb).abs() < 1e-4, "{t}: {fast:?} {full:?}");
            }
        }
    };
    check(&clf);
    clf.add_example("Синхрофазотрон шумит по ночам во дворе", "шум")
        .unwrap();
    check(&clf);
}

/// Moderators' corrections on a model loaded from disk, trained with the keyword rules as
/// features: learned without a rebuild (the fast `predict` path too), written to the same
/// directory, and still there after loading again.
#[test]
fn corrections_on_a_loaded_rule_model_survive_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let rules = keyword_rules();
    let mut clf = Classifier::train(
        examples(),
        TrainOptions {
            rules: Some(rules.clone()),
            ..TrainOptions::default()
        },
    )
    .unwrap();
    clf.save(dir.path()).unwrap();
    assert!(Classifier::load(dir.path()).is_err(), "needs its rules");
    let mut loaded = Classifier::load_with_rules(dir.path(), Some(rules.clone())).unwrap();
    let text = "Сломался светофор на перекрёстке у вокзала";
    assert_ne!(loaded.predict(text).unwrap().label(), Some("светофоры"));
    let n = loaded.num_examples();
    for t in [
        text,
        "Светофор не работает на перекрёстке",
        "Не переключается светофор у школы",
    ] {
        loaded.add_example(t, "светофоры").unwrap();
    }
    assert_eq!(loaded.num_examples(), n + 3);
    let probe = "Светофор на перекрёстке у вокзала сломался";
    let before = loaded.predict(probe).unwrap();
    assert_eq!(before.label(), Some("светофоры"), "{before:?}");
    loaded.save(dir.path()).unwrap();
    let again = Classifier::load_with_rules(dir.path(), Some(rules)).unwrap();
    assert_eq!(again.num_examples(), n + 3);
    let after = again.predict(probe).unwrap();
    assert_eq!(before.labels.len(), after.labels.len());
    for ((la, pa), (lb, pb)) in before.labels.iter().zip(&after.labels) {
        assert_eq!(la, lb);
        assert!((pa - pb).abs() < 1e-5, "{before:?} {after:?}");
    }
    // The other labels were not forgotten.
    assert_eq!(
        again.predict("Огромные ямы на дороге").unwrap().label(),
        Some("дороги")
    );
}

/// The class-weight power is chosen among the candidates on the calibration folds and saved.
#[test]
fn balance_power_is_chosen_among_candidates_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let options = TrainOptions {
        balance_candidates: vec![1.0, 0.25],
        ..TrainOptions::default()
    };
    let mut clf = Classifier::train(examples(), options).unwrap();
    let power = clf.options().balance_power;
    assert!(power == 1.0 || power == 0.25, "{power}");
    clf.save(dir.path()).unwrap();
    let loaded = Classifier::load(dir.path()).unwrap();
    assert_eq!(loaded.options().balance_power, power);
    assert_eq!(loaded.calibration(), clf.calibration());
}
