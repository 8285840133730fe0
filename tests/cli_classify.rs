//! `otklik classifier train|eval` and `otklik classify`, on our own small labelled set.

use crate::support::{data, otklik, run, text};

fn last_json(out: &str) -> serde_json::Value {
    let line = out
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("no output: {out}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

#[test]
fn train_then_classify_prints_top3_with_explanation() {
    let dir = tempfile::tempdir().expect("tmp");
    let model = dir.path().join("model");
    let o = run(otklik(dir.path())
        .args(["classifier", "train", "--examples"])
        .arg(data("classify-train.csv"))
        .arg("--out")
        .arg(&model));
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("40 examples"), "{out}");
    assert!(model.join("model.json").is_file() && model.join("index").is_dir());

    let o = run(otklik(dir.path())
        .args([
            "classify",
            "Огромная яма на дороге, асфальт разбит",
            "--model",
        ])
        .arg(&model));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    let labels: Vec<&str> = out
        .lines()
        .take(3)
        .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    assert_eq!(labels.first(), Some(&"дороги"), "{out}");
    assert_eq!(labels.len(), 3, "{out}");
    assert!(out.contains("confidence:"), "{out}");
    assert!(
        out.contains("nearest examples:") && out.contains("[дороги]"),
        "{out}"
    );
    assert!(out.contains("features:"), "{out}");
}

#[test]
fn classify_uses_the_model_in_the_data_directory_by_default() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args(["classifier", "train", "--examples"])
        .arg(data("classify-train.csv"))
        .arg("--out")
        .arg(dir.path().join("classifier")));
    assert!(o.status.success(), "{}", text(&o));
    let o = run(otklik(dir.path()).args(["classify", "Не горят фонари во дворе, темно"]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        out.lines().next().unwrap_or("").ends_with("освещение"),
        "{out}"
    );
}

#[test]
fn a_missing_explicit_model_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args(["classify", "текст", "--model"])
        .arg(dir.path().join("nowhere")));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("cannot load the model"), "{out}");
}

#[test]
fn without_a_model_the_rules_complaint_and_territory_decide() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path()).args([
        "classify",
        "Третью неделю не вывозят мусор с контейнерной площадки на улице Ленина в Северске!",
        "--territories",
        "demo/territories.csv",
        "--dictionary",
        "dictionaries/severnaya-oblast",
    ]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.contains("keyword rules only"), "{out}");
    assert!(out.contains("complaint: yes"), "{out}");
    let category = out
        .lines()
        .find(|l| l.starts_with("category: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(category.contains("waste"), "{out}");
    assert!(out.contains("territory: seversk"), "{out}");

    let o = run(otklik(dir.path()).args([
        "classify",
        "--json",
        "Поздравляем всех жителей с Днём города! Праздничный концерт начнётся в 18:00.",
    ]));
    assert!(o.status.success(), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(j["analysis"]["is_complaint"], false, "{j}");
    assert!(j["model"].is_null(), "{j}");
}

#[test]
fn eval_on_a_test_file_ends_with_a_json_summary() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args(["classifier", "eval", "--train"])
        .arg(data("classify-train.csv"))
        .arg("--test")
        .arg(data("classify-test.csv")));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    let j = last_json(&out);
    for key in ["accuracy", "macro_f1", "weighted_f1", "texts_per_second"] {
        assert!(
            j.get(key).and_then(|v| v.as_f64()).is_some(),
            "{key} in {j}"
        );
    }
    let acc = j["accuracy"].as_f64().unwrap_or(0.0);
    assert!(acc >= 0.75, "our four topics are easy: {j}");
    assert_eq!(j["support"].as_u64(), Some(12), "{j}");
}

#[test]
fn eval_cross_validates_another_label_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(otklik(dir.path())
        .args([
            "classifier",
            "eval",
            "--folds",
            "3",
            "--label-column",
            "topic",
            "--train",
        ])
        .arg(data("classify-train.csv")));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", text(&o));
    let j = last_json(&out);
    assert_eq!(j["support"].as_u64(), Some(40), "{j}");
    assert!(
        out.contains("тема-дор"),
        "per-label lines use the topic column: {out}"
    );
}

#[test]
fn eval_rejects_bad_input_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("no-label.csv");
    std::fs::write(&missing, "text,other\nяма,x\n").expect("write");
    let o = run(otklik(dir.path())
        .args(["classifier", "eval", "--folds", "2", "--train"])
        .arg(&missing));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("label"), "names the missing column: {out}");

    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "text,label\nяма,дороги\nмусор,мусор,лишнее\n").expect("write");
    let o = run(otklik(dir.path())
        .args(["classifier", "train", "--out"])
        .arg(dir.path().join("m"))
        .arg("--examples")
        .arg(&ragged));
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("row 3") || out.contains("line 3"),
        "names the row: {out}"
    );

    let o = run(otklik(dir.path())
        .args(["classifier", "eval", "--folds", "1", "--train"])
        .arg(data("classify-train.csv")));
    assert!(!o.status.success(), "one fold is refused: {}", text(&o));
}
