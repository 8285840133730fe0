//! Territory detection on the demo region (`demo/territories.csv` +
//! `dictionaries/severnaya-oblast/`) and on small hand-made lists.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use otklik_classify::ClassifyError;
use otklik_classify::territory::{
    PRIOR_EVIDENCE, PRIOR_ONLY_SCORE, RegionDictionary, StreetEntry, StreetKind, TerritoryDetector,
    TerritoryEntry, TerritoryMatch, read_territories,
};
use otklik_domain::TerritoryKind;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

static DETECTOR: LazyLock<TerritoryDetector> = LazyLock::new(|| {
    TerritoryDetector::from_files(
        &root().join("demo/territories.csv"),
        Some(&root().join("dictionaries/severnaya-oblast")),
    )
    .unwrap()
});

fn detect(text: &str, prior: Option<&str>) -> Vec<TerritoryMatch> {
    DETECTOR.detect(text, prior)
}

fn describe(found: &[TerritoryMatch]) -> String {
    found
        .iter()
        .map(|m| {
            format!(
                "{} {:.2} {:?}{}{}",
                m.code,
                m.score,
                m.evidence,
                m.street
                    .as_deref()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default(),
                m.place
                    .as_deref()
                    .map(|s| format!(" <{s}>"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, serde::Deserialize)]
struct Case {
    text: String,
    prior: String,
    expected: String,
    street: String,
    place: String,
}

fn cases() -> Vec<Case> {
    let path = root().join("crates/otklik-classify/tests/data/territory/cases.csv");
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every sentence of `tests/data/territory/cases.csv`: `expected` is the best territory's
/// code, `none` for no match, `prior` for the prior alone; `street` and `place` are checked
/// when given (and must be absent when not).
#[test]
fn demo_sentences() {
    let cases = cases();
    assert!(cases.len() >= 60);
    let mut failures = Vec::new();
    for c in &cases {
        let prior = Some(c.prior.as_str()).filter(|p| !p.is_empty());
        let found = detect(&c.text, prior);
        let ok = match c.expected.as_str() {
            "none" => found.is_empty(),
            "prior" => {
                found.len() == 1
                    && Some(found[0].code.as_str()) == prior
                    && found[0].evidence == [PRIOR_EVIDENCE]
                    && found[0].score == PRIOR_ONLY_SCORE
            }
            code => found.first().is_some_and(|m| {
                m.code == code
                    && m.street.as_deref().unwrap_or("") == c.street
                    && m.place.as_deref().unwrap_or("") == c.place
                    && !m.evidence.is_empty()
                    && m.score > PRIOR_ONLY_SCORE
            }),
        };
        if !ok {
            failures.push(format!(
                "{:?} (prior {:?}): expected {} {} {}, got {}",
                c.text,
                c.prior,
                c.expected,
                c.street,
                c.place,
                describe(&found)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn evidence_keeps_preposition_and_kind_word() {
    let found = detect("Опять нет воды в Северске", None);
    assert_eq!(found[0].evidence, ["в Северске"]);
    let found = detect("Яма на улице Ленина, у школы", Some("seversk-okrug"));
    assert_eq!(found[0].evidence, ["на улице Ленина"]);
    let found = detect("В посёлке Лесном нет света", None);
    assert_eq!(found[0].evidence, ["В посёлке Лесном"]);
    let found = detect("Пожар на Заречной улице", Some("volokov"));
    assert_eq!(found[0].evidence, ["на Заречной улице"]);
    let found = detect("Глава Волоковского района", None);
    assert_eq!(found[0].evidence, ["Волоковского района"]);
    let found = detect("мкр «Солнечный» — нет воды", None);
    assert_eq!(found[0].evidence, ["мкр «Солнечный»"]);
    let found = detect("В Северном   микрорайоне\nнет воды", None);
    assert_eq!(found[0].evidence, ["В Северном микрорайоне"]);
}

#[test]
fn every_case_of_a_town_name() {
    for text in [
        "Северск",
        "Северска",
        "Северску",
        "Северском",
        "в Северске",
        "северский",
        "Северского",
        "северчане",
        "северчан",
        "северчанам",
        "Северьск",
        "г. Северск",
        "город Северск",
    ] {
        let found = detect(&format!("Новости: {text} сегодня"), None);
        assert_eq!(
            found.first().map(|m| m.code.as_str()),
            Some("seversk-okrug"),
            "{text}: {}",
            describe(&found)
        );
    }
    for text in [
        "Волоков",
        "Волокова",
        "Волокову",
        "Волоковом",
        "Волокове",
        "волоковский",
        "Волоковской",
    ] {
        let found = detect(&format!("Новости: {text} сегодня"), None);
        assert_eq!(
            found.first().map(|m| m.code.as_str()),
            Some("volokov"),
            "{text}: {}",
            describe(&found)
        );
    }
}

#[test]
fn snowball_stem_catches_forms_the_paradigm_misses() {
    // «Волоковою» (archaic instrumental) is not generated for a masculine noun; its Snowball
    // stem is that of «Волокова» and it starts with «волоков».
    let found = detect("Новости: Волоковою сегодня", None);
    assert_eq!(found[0].code, "volokov", "{}", describe(&found));
    // Snowball gives «волок» for both «Волоков» and «волоку»: the word must contain the
    // whole name.
    assert!(detect("Я волоку мешок", None).is_empty());
    assert!(detect("Волокуша сломалась", None).is_empty());
}

#[test]
fn abbreviations_with_and_without_dots() {
    for (text, code) in [
        ("Заводской р-н, ул. Курчатова", "seversk-zavodskoy"),
        ("в Заводском р-не Северска", "seversk-zavodskoy"),
        ("р.п. Заречный", "zarechny"),
        ("пгт Горный", "gorny"),
        ("гор. Волоков", "volokov"),
        ("дер. Камышовка", "kamyshovka"),
        ("мкр-н Солнечный", "seversk-zavodskoy"),
        ("мкрн. Химград", "seversk-zavodskoy"),
        ("Северная обл., Степной МО", "stepnoy-district"),
    ] {
        let found = detect(text, None);
        assert_eq!(
            found.first().map(|m| m.code.as_str()),
            Some(code),
            "{text}: {}",
            describe(&found)
        );
    }
    // Without their dot, one-letter abbreviations are prepositions or letters.
    assert!(detect("с каменкой в бане беда", None).is_empty());
    assert!(detect("д 5 кв 3", None).is_empty());
}

#[test]
fn is_within_follows_the_hierarchy() {
    assert!(DETECTOR.is_within("seversk-tsentralny", "seversk-okrug"));
    assert!(DETECTOR.is_within("seversk-tsentralny", "severnaya-oblast"));
    assert!(DETECTOR.is_within("volokov", "volokov"));
    assert!(!DETECTOR.is_within("seversk-okrug", "seversk-tsentralny"));
    assert!(!DETECTOR.is_within("volokov", "nowhere"));
    assert_eq!(DETECTOR.territories().count(), 63);
    assert_eq!(
        DETECTOR.territory("kedrovka").map(|t| t.name.as_str()),
        Some("село Кедровка")
    );
}

#[test]
fn ambiguous_street_without_prior_gives_every_town() {
    let found = detect("На ул. Ленина прорвало трубу", None);
    let codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
    for code in [
        "seversk-tsentralny",
        "ust-ledyansk-okrug",
        "lesogorsk",
        "volokov",
    ] {
        assert!(codes.contains(&code), "{code}: {}", describe(&found));
    }
    assert!(
        found
            .iter()
            .all(|m| m.street.as_deref() == Some("улица Ленина"))
    );
    // Split evenly: each far below an unambiguous street.
    assert!(found[0].score < 0.3, "{}", describe(&found));
}

#[test]
fn ambiguous_street_resolved_by_town_in_text() {
    let found = detect("Каменск-Северный: на ул. Ленина прорвало трубу", None);
    assert_eq!(
        found[0].code,
        "kamensk-severny-okrug",
        "{}",
        describe(&found)
    );
    assert_eq!(found[0].street.as_deref(), Some("улица Ленина"));
    assert_eq!(found.len(), 1);
    // Named town beats the prior.
    let found = detect(
        "В Лесогорске на ул. Ленина нет света",
        Some("seversk-okrug"),
    );
    assert_eq!(found[0].code, "lesogorsk", "{}", describe(&found));
    assert_eq!(found[0].street.as_deref(), Some("улица Ленина"));
}

#[test]
fn street_ranks_above_its_town() {
    let found = detect("В Северске на улице Курчатова нет воды", None);
    let codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
    assert_eq!(
        codes,
        ["seversk-zavodskoy", "seversk-okrug"],
        "{}",
        describe(&found)
    );
    assert!(found[0].score > found[1].score);
    // Settlement above its district, district above the region.
    let found = detect(
        "Северная область, Берёзовский район, село Ягодное: нет воды",
        None,
    );
    let codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
    assert_eq!(
        codes,
        ["yagodnoe", "berezovsky-district", "severnaya-oblast"],
        "{}",
        describe(&found)
    );
}

#[test]
fn prior_raises_the_score_but_does_not_override() {
    let without = detect("В Ольховке нет воды", None);
    let inside = detect("В Ольховке нет воды", Some("seversk-okrug"));
    let outside = detect("В Ольховке нет воды", Some("volokov"));
    assert_eq!(inside[0].code, "olkhovka");
    assert_eq!(outside[0].code, "olkhovka");
    assert!(inside[0].score > without[0].score);
    assert_eq!(outside[0].score, without[0].score);
    // Unknown prior: ignored.
    assert!(detect("Спасибо!", Some("no-such-code")).is_empty());
}

#[test]
fn several_places_are_all_reported() {
    let found = detect("Жители Кедровки и Ольховки просят пустить автобус", None);
    let mut codes: Vec<&str> = found.iter().map(|m| m.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["kedrovka", "olkhovka"], "{}", describe(&found));
    let found = detect("В Северске и снова в Северске", None);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].evidence, ["В Северске", "в Северске"]);
}

#[test]
fn odd_input_does_not_panic() {
    for text in [
        "",
        " ",
        "...",
        "ул.",
        "в",
        "г. г. г.",
        "р-н",
        "Ледянка-",
        "-Северск-",
        "😡😡😡 в Северске!!!",
        "ул. Ленина ул. Ленина ул. Ленина",
        "Се\u{301}верск",
        "СЕВЕРСК СЕВЕРСК",
        "\u{feff}Северск",
        "В. Н. С. Д. П.",
    ] {
        let _ = detect(text, Some("seversk-okrug"));
        let _ = detect(text, None);
    }
    assert_eq!(detect("Се\u{301}верск", None)[0].code, "seversk-okrug");
}

fn entry(code: &str, kind: TerritoryKind, name: &str, parent: Option<&str>) -> TerritoryEntry {
    TerritoryEntry {
        code: code.into(),
        kind,
        name: name.into(),
        parent: parent.map(Into::into),
        variants: vec![],
    }
}

/// The example of the module docs.
#[test]
fn module_docs_example() {
    let t =
        |code: &str, kind, name: &str, parent: Option<&str>, variants: &[&str]| TerritoryEntry {
            code: code.into(),
            kind,
            name: name.into(),
            parent: parent.map(Into::into),
            variants: variants.iter().map(|v| v.to_string()).collect(),
        };
    let territories = vec![
        t(
            "oblast",
            TerritoryKind::Region,
            "Северная область",
            None,
            &[],
        ),
        t(
            "seversk",
            TerritoryKind::UrbanOkrug,
            "Городской округ город Северск",
            Some("oblast"),
            &["Северск"],
        ),
        t(
            "volokov-district",
            TerritoryKind::MunicipalDistrict,
            "Волоковский муниципальный район",
            Some("oblast"),
            &["Волоковский район"],
        ),
        t(
            "volokov",
            TerritoryKind::Settlement,
            "город Волоков",
            Some("volokov-district"),
            &["Волоков"],
        ),
    ];
    let mut dictionary = RegionDictionary::default();
    for code in ["seversk", "volokov"] {
        dictionary.streets.push(StreetEntry {
            code: code.into(),
            kind: StreetKind::Street,
            name: "Ленина".into(),
            variants: vec![],
        });
    }
    let detector = TerritoryDetector::new(territories, &dictionary).unwrap();
    let found = detector.detect("Опять нет воды в Волокове", None);
    assert_eq!(found[0].code, "volokov");
    assert_eq!(found[0].evidence, ["в Волокове"]);
    let found = detector.detect("Яма на улице Ленина у школы", Some("seversk"));
    assert_eq!(found[0].code, "seversk");
    assert_eq!(found[0].street.as_deref(), Some("улица Ленина"));
    let found = detector.detect("Спасибо за помощь!", Some("volokov"));
    assert_eq!(
        (found[0].code.as_str(), found[0].evidence[0].as_str()),
        ("volokov", "source territory")
    );
    assert!(detector.is_within("volokov", "oblast"));
    assert!(!detector.is_within("volokov", "seversk"));
}

#[test]
fn works_without_a_dictionary() {
    let territories = read_territories(&root().join("demo/territories.csv")).unwrap();
    assert!(territories.len() > 60);
    let detector = TerritoryDetector::new(territories, &RegionDictionary::default()).unwrap();
    assert_eq!(
        detector.detect("В Ольховке нет воды", None)[0].code,
        "olkhovka"
    );
    assert!(detector.detect("На ул. Ленина яма", None).is_empty());
}

#[test]
fn bad_input_is_reported() {
    let dup = vec![
        entry("a", TerritoryKind::Region, "Область", None),
        entry("a", TerritoryKind::Settlement, "Село", Some("a")),
    ];
    let err = TerritoryDetector::new(dup, &RegionDictionary::default()).unwrap_err();
    assert!(matches!(err, ClassifyError::Territory { .. }), "{err}");
    let orphan = vec![entry(
        "b",
        TerritoryKind::Settlement,
        "Село",
        Some("nowhere"),
    )];
    let err = TerritoryDetector::new(orphan, &RegionDictionary::default()).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
    let cycle = vec![
        entry("x", TerritoryKind::Settlement, "Икс", Some("y")),
        entry("y", TerritoryKind::Settlement, "Игрек", Some("x")),
    ];
    let err = TerritoryDetector::new(cycle, &RegionDictionary::default()).unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");

    let mut dict = RegionDictionary::default();
    dict.streets.push(StreetEntry {
        code: "nowhere".into(),
        kind: StreetKind::Street,
        name: "Ленина".into(),
        variants: vec![],
    });
    let ok = vec![entry("a", TerritoryKind::Region, "Область", None)];
    let err = TerritoryDetector::new(ok, &dict).unwrap_err();
    assert!(err.to_string().contains("Ленина"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("streets.csv"),
        "code,kind,name,variants\nseversk-okrug,улица,Ленина,\nseversk-okrug,дорожка,Лесная,\n",
    )
    .unwrap();
    let err = RegionDictionary::load(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("streets.csv:3") && msg.contains("дорожка"),
        "{msg}"
    );
    std::fs::write(dir.path().join("streets.csv"), "code,name\n").unwrap();
    let err = RegionDictionary::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("kind"), "{err}");
    assert!(RegionDictionary::load(&dir.path().join("missing")).is_err());
}

#[test]
fn demo_dictionary_loads() {
    let dict = RegionDictionary::load(&root().join("dictionaries/severnaya-oblast")).unwrap();
    assert!(dict.streets.len() >= 150, "{}", dict.streets.len());
    assert!(dict.places.len() >= 20);
    assert!(!dict.aliases.is_empty() && !dict.common_words.is_empty());
    // Every town of the demo region has 10–30 streets.
    for town in [
        "ust-ledyansk-okrug",
        "kamensk-severny-okrug",
        "lesogorsk",
        "berezovsk",
        "volokov",
    ] {
        let n = dict.streets.iter().filter(|s| s.code == town).count();
        assert!((10..=30).contains(&n), "{town}: {n}");
    }
    let seversk = dict
        .streets
        .iter()
        .filter(|s| s.code.starts_with("seversk-"))
        .count();
    assert!(seversk >= 30, "{seversk}");
}

/// Throughput on ~300-character posts, one core. Run with
/// `cargo test --release -p otklik-classify --test territory -- --ignored --nocapture speed`.
#[test]
#[ignore]
fn speed() {
    let snippets: Vec<String> = cases().into_iter().map(|c| c.text).collect();
    let filler = "Уважаемая администрация, прошу разобраться с ситуацией, которая длится уже \
                  несколько месяцев и никак не решается, несмотря на обращения жителей.";
    let texts: Vec<(String, Option<&str>)> = (0..snippets.len())
        .map(|i| {
            let t = format!(
                "{} {filler} {} Ответа так и не получили, просим принять меры и сообщить о сроках. Спасибо.",
                snippets[i],
                snippets[(i * 7 + 3) % snippets.len()]
            );
            (
                t,
                if i % 2 == 0 {
                    Some("seversk-okrug")
                } else {
                    None
                },
            )
        })
        .collect();
    let avg = texts.iter().map(|(t, _)| t.chars().count()).sum::<usize>() / texts.len();
    let _ = detect("прогрев", None);
    let rounds = 300;
    let start = Instant::now();
    let mut found = 0usize;
    for _ in 0..rounds {
        for (t, p) in &texts {
            found += detect(t, *p).len();
        }
    }
    let n = rounds * texts.len();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} texts of ~{avg} chars in {secs:.2}s: {:.0} texts/s ({found} matches)",
        n as f64 / secs
    );
}
