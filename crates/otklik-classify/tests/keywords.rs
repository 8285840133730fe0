//! Tests of `otklik_classify::keywords`: the compiled keyword rules, the in-memory matcher and
//! its agreement with the tantivy queries, on small hand-written rule sets and on the shipped
//! `rules/` directory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Instant;

use otklik_classify::ClassifyError;
use otklik_classify::keywords::{
    CATEGORY_WEIGHT, HitLevel, KeywordMatcher, MIN_SCORE_TOLERANCE, PHRASE_WEIGHT, RuleHit,
    TERM_WEIGHT,
};
use otklik_rules::{KeywordRules, RulesDir};
use otklik_text::{Analyzers, RU_ANALYZER};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{AllQuery, Query};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{DocAddress, Index, IndexWriter, Searcher, TantivyDocument, doc};

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

/// The shipped rules, compiled once.
static SHIPPED: LazyLock<KeywordMatcher> = LazyLock::new(|| {
    let rules = RulesDir::load(rules_dir()).expect("shipped rules load");
    let keywords = rules.keywords().expect("rules/keywords exists");
    KeywordMatcher::compile(keywords, Analyzers::embedded()).expect("shipped rules compile")
});

/// A small category tree and keyword files exercising every feature.
const TREE: &str = r#"
[[category]]
id = "roads"
name = "Дороги"
[[subcategory]]
id = "roads.potholes"
category = "roads"
name = "Ямы"
[[subcategory]]
id = "roads.road_marking"
category = "roads"
name = "Разметка"
[[subcategory]]
id = "roads.snow_removal"
category = "roads"
name = "Снег"

[[category]]
id = "housing"
name = "Дома"
[[subcategory]]
id = "housing.management"
category = "housing"
name = "УК"
[[subcategory]]
id = "housing.lift"
category = "housing"
name = "Лифт"

[[category]]
id = "waste"
name = "Мусор"
[[subcategory]]
id = "waste.containers"
category = "waste"
name = "Контейнеры"

[[category]]
id = "culture"
name = "Культура"
[[subcategory]]
id = "culture.museums"
category = "culture"
name = "Музеи"
[[subcategory]]
id = "culture.holidays"
category = "culture"
name = "Праздники"
"#;

const ROADS: &str = r#"
[category]
id = "roads"
terms = ["дорога", "асфальт"]
phrases = ["проезжая часть"]
negative = ["железная дорога"]

[[subcategory]]
id = "roads.potholes"
terms = ["яма", "выбоина", "колдобина"]
phrases = ["яма на дороге", "разбитая дорога~2", "провал асфальта~1"]
negative = ["оркестровая яма", "выгребная яма"]
boost = 1.5

[[subcategory]]
id = "roads.road_marking"
terms = ["разметка", "разметку", "разметки", "стоп-линия"]
phrases = ["нанести разметку~1", "разметка пешеходного перехода~1"]

[[subcategory]]
id = "roads.snow_removal"
terms = ["снег", "гололёд", "наледь"]
phrases = ["не чистят дорогу~2", "снег не убран~1"]
min_score = 2.5
"#;

const HOUSING: &str = r#"
[category]
id = "housing"
terms = ["ЖКХ", "дом"]

[[subcategory]]
id = "housing.management"
terms = ["УК", "ТСЖ"]
phrases = ["управляющая компания"]

[[subcategory]]
id = "housing.lift"
terms = ["лифт"]
phrases = ["лифт не работает~2"]
negative = ["лифт работает"]
"#;

const WASTE: &str = r#"
[category]
id = "waste"
terms = ["мусор"]

[[subcategory]]
id = "waste.containers"
terms = ["контейнер", "мусорн*"]
phrases = ["вывоз ТКО", "мусор не вывозят~1"]
"#;

const CULTURE: &str = r#"
[category]
id = "culture"

[[subcategory]]
id = "culture.museums"
terms = ["музе*", "санатори*", "театр*"]
phrases = ["экскурсия в музе*~1", "вход в под*"]

[[subcategory]]
id = "culture.holidays"
terms = ["ёлка", "праздник"]
phrases = ["новогодняя елка"]
"#;

fn compile(files: &[(&str, &str)]) -> KeywordMatcher {
    let tree = otklik_rules::parse_category_tree(TREE, "categories.toml").expect("tree");
    let categories = files
        .iter()
        .map(|(name, text)| {
            otklik_rules::parse_keyword_file(text, name, &tree)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        })
        .collect();
    let rules = KeywordRules::from_categories(categories).expect("rules");
    KeywordMatcher::compile(&rules, Analyzers::embedded()).expect("compile")
}

static SMALL: LazyLock<KeywordMatcher> = LazyLock::new(|| {
    compile(&[
        ("roads.toml", ROADS),
        ("housing.toml", HOUSING),
        ("waste.toml", WASTE),
        ("culture.toml", CULTURE),
    ])
});

fn ids(hits: &[RuleHit]) -> Vec<&str> {
    hits.iter()
        .map(|h| match h.level {
            HitLevel::Subcategory => h.subcategory.as_str(),
            HitLevel::Category => h.category.as_str(),
        })
        .collect()
}

fn hit<'a>(hits: &'a [RuleHit], subcategory: &str) -> Option<&'a RuleHit> {
    hits.iter().find(|h| h.subcategory == subcategory)
}

fn fires(m: &KeywordMatcher, text: &str, subcategory: &str) -> bool {
    hit(&m.matches(text), subcategory).is_some()
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

/// Texts of `tests/data/keywords/*.txt`, one per line, `#` lines skipped.
fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keywords");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("data dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read corpus file");
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    out
}

/// A small deterministic generator (xorshift) for random texts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------------
// Behaviour on the small rule set.

#[test]
fn potholes_on_top_with_explanation() {
    let hits = SMALL.matches("Огромные ямы на дороге по улице Ленина");
    assert_eq!(ids(&hits), ["roads.potholes"]);
    let h = &hits[0];
    assert_eq!(h.category, "roads");
    assert_eq!(h.level, HitLevel::Subcategory);
    assert!(close(
        h.score,
        1.5 * (TERM_WEIGHT + PHRASE_WEIGHT) + CATEGORY_WEIGHT * TERM_WEIGHT
    ));
    assert_eq!(
        h.matched,
        [
            "слово «яма»",
            "фраза «яма на дороге»",
            "категория: слово «дорога»"
        ]
    );
}

#[test]
fn inflections_and_case_find_the_same_rule() {
    for text in [
        "ЯМА!!!",
        "Тут ямы",
        "угодил в яму",
        "перед ямой",
        "нет ям",
        "Выбоины кругом",
        "колдобины",
    ] {
        assert!(fires(&SMALL, text, "roads.potholes"), "{text}");
    }
    assert!(!fires(&SMALL, "ямочный", "roads.potholes"));
}

#[test]
fn inflected_variants_collapse_into_one_item() {
    // «разметка», «разметку», «разметки» all analyse to `разметк`: one item, counted once.
    let hits = SMALL.matches("Разметка стерлась, разметки не видно, нанесите разметку");
    let h = hit(&hits, "roads.road_marking").expect("marking");
    assert_eq!(h.matched, ["слово «разметка»"]);
    assert!(close(h.score, TERM_WEIGHT));
}

#[test]
fn negatives_veto_their_entry_only() {
    assert!(
        SMALL
            .matches("Оркестровая яма в театре")
            .iter()
            .all(|h| h.subcategory != "roads.potholes")
    );
    assert!(!fires(
        &SMALL,
        "Выгребная яма переполнена",
        "roads.potholes"
    ));
    // The negative is a phrase: «яма» alone or near other words still fires.
    assert!(fires(&SMALL, "Оркестр играл у ямы", "roads.potholes"));
    // A potholes negative does not veto another subcategory.
    let hits = SMALL.matches("Оркестровая яма, и разметки нет");
    assert_eq!(ids(&hits), ["roads.road_marking"]);
    // A category negative vetoes the category evidence, not the subcategory.
    let hits = SMALL.matches("Яма на переезде через железную дорогу");
    let h = hit(&hits, "roads.potholes").expect("potholes");
    assert_eq!(h.matched, ["слово «яма»"]);
    assert!(close(h.score, 1.5));
    assert!(SMALL.matches("Железная дорога").is_empty());
    // Negative with a slop.
    assert!(fires(&SMALL, "Лифт не работает", "housing.lift"));
    assert!(fires(&SMALL, "Лифт уже работает", "housing.lift")); // «уже» is a gap
    assert!(!fires(&SMALL, "Лифт работает плохо", "housing.lift"));
}

#[test]
fn stop_words_are_position_gaps() {
    let phrase = "фраза «яма на дороге»";
    let has = |text: &str| {
        hit(&SMALL.matches(text), "roads.potholes")
            .is_some_and(|h| h.matched.iter().any(|m| m == phrase))
    };
    assert!(has("Ямы на дорогах"));
    assert!(has("яма в дороге")); // another stop word fills the gap
    assert!(!has("яма дорога")); // no gap
    assert!(!has("яма на нашей дороге")); // slop 0
    assert!(!has("дорога на яме"));
}

#[test]
fn slop_phrases() {
    let phrase = "фраза «разбитая дорога~2»";
    let has = |text: &str| {
        hit(&SMALL.matches(text), "roads.potholes")
            .is_some_and(|h| h.matched.iter().any(|m| m == phrase))
    };
    assert!(has("Разбитая дорога"));
    assert!(has("разбитая старая дорога"));
    assert!(has("разбитая старая грязная дорога"));
    assert!(!has("разбитая старая грязная узкая дорога"));
    // tantivy's slop: the reversed order costs 2.
    assert!(has("дорога разбитая"));
    assert!(!has("дорога совсем разбитая"));

    let phrase = "фраза «провал асфальта~1»";
    let has = |text: &str| {
        hit(&SMALL.matches(text), "roads.potholes")
            .is_some_and(|h| h.matched.iter().any(|m| m == phrase))
    };
    assert!(has("провал асфальта"));
    assert!(has("провал старого асфальта"));
    assert!(!has("асфальта провал"));

    // Three words with a slop: every neighbouring pair within the slop.
    let phrase = "фраза «разметка пешеходного перехода~1»";
    let has = |text: &str| {
        hit(&SMALL.matches(text), "roads.road_marking")
            .is_some_and(|h| h.matched.iter().any(|m| m == phrase))
    };
    assert!(has("Разметка пешеходного перехода"));
    assert!(has("разметка у пешеходного перехода")); // «у» is a stop word: one gap
    assert!(has("разметка старого пешеходного перехода"));
    assert!(has("разметка старого пешеходного нового перехода")); // one gap per pair
    assert!(!has("разметка старая у пешеходного перехода"));

    // «не» is not a stop word: negation phrases work.
    assert!(fires(
        &SMALL,
        "Снег не убран, гололёд",
        "roads.snow_removal"
    ));
}

#[test]
fn wildcards() {
    for text in ["Мусорные баки", "мусорная площадка", "мусорный бак"]
    {
        assert!(fires(&SMALL, text, "waste.containers"), "{text}");
    }
    // «музей» is stemmed to «муз», «санаторий» to «санатор»: the wildcard's own stem counts.
    for text in [
        "Музей закрыт",
        "в музее",
        "музейный фонд",
        "музеи",
        "санаторий",
        "в санатории",
        "театральный кружок",
        "театр",
    ] {
        assert!(fires(&SMALL, text, "culture.museums"), "{text}");
    }
    assert!(!fires(
        &SMALL,
        "санаторно-курортное лечение",
        "culture.museums"
    ));
    // A phrase ending with a wildcard, with slop.
    let phrase = "фраза «экскурсия в музе*~1»";
    let has = |text: &str| {
        hit(&SMALL.matches(text), "culture.museums")
            .is_some_and(|h| h.matched.iter().any(|m| m == phrase))
    };
    assert!(has("экскурсия в музей"));
    assert!(has("экскурсии в краеведческий музейный комплекс"));
    assert!(!has("экскурсия по городу, потом музей"));
    // A wildcard on a stop word («под» is one): only the prefix matches.
    let phrase = "фраза «вход в под*»";
    let has = |text: &str| {
        hit(&SMALL.matches(text), "culture.museums")
            .is_some_and(|h| h.matched.iter().any(|m| m == phrase))
    };
    assert!(has("вход в подъезд"));
    assert!(has("вход в подвал"));
    assert!(!has("вход в под"));
}

#[test]
fn yo_and_ye_are_the_same_letter() {
    // Rule with ё, text with е and ё.
    assert!(
        fires(&SMALL, "На тротуаре гололед", "roads.snow_removal") || {
            // min_score 2.5 hides a lone term: check through a richer text.
            fires(&SMALL, "Гололед, снег не убран", "roads.snow_removal")
        }
    );
    let h = SMALL.matches("Гололед, снег не убран");
    assert!(
        hit(&h, "roads.snow_removal")
            .is_some_and(|h| h.matched.contains(&"слово «гололёд»".to_owned()))
    );
    assert!(fires(&SMALL, "Ёлка", "culture.holidays"));
    assert!(fires(&SMALL, "елка", "culture.holidays"));
    // Rule without ё, text with ё.
    let h = SMALL.matches("Новогодняя ёлка на площади");
    assert!(
        hit(&h, "culture.holidays")
            .is_some_and(|h| h.matched.contains(&"фраза «новогодняя елка»".to_owned()))
    );
}

#[test]
fn abbreviations() {
    // The rule «УК» finds «УК», «ук», and the variant «УКи».
    for text in [
        "УК не отвечает",
        "ук бездействует",
        "Эти УКи только деньги собирают",
        "ТСЖ",
    ] {
        assert!(fires(&SMALL, text, "housing.management"), "{text}");
    }
    assert!(fires(
        &SMALL,
        "Управляющая компания бездействует",
        "housing.management"
    ));
    // The category term «ЖКХ».
    for text in ["Проблемы ЖКХ", "жкх"] {
        let hits = SMALL.matches(text);
        assert_eq!(ids(&hits), ["housing"], "{text}");
        assert_eq!(hits[0].level, HitLevel::Category);
        assert_eq!(hits[0].subcategory, "");
        assert_eq!(hits[0].matched, ["слово «жкх»"]);
    }
    // A rule word inside an abbreviation's expansion finds the abbreviation («ТКО» → мусор).
    let hits = SMALL.matches("Горы ТКО за гаражами");
    assert_eq!(ids(&hits), ["waste"]);
    assert_eq!(hits[0].matched, ["слово «мусор»"]);
    // A phrase with an abbreviation.
    assert!(fires(
        &SMALL,
        "Вывоз ТКО не организован",
        "waste.containers"
    ));
    // The spelled-out form is not the abbreviation as a phrase (expansions share a position).
    assert!(!fires(
        &SMALL,
        "Вывоз твердых коммунальных отходов",
        "waste.containers"
    ));
}

#[test]
fn hyphenated_terms() {
    for text in ["Стоп-линию не видно", "стоп линия стерлась", "СТОП-ЛИНИЯ"]
    {
        assert!(fires(&SMALL, text, "roads.road_marking"), "{text}");
    }
    assert!(!fires(&SMALL, "линия стоп", "roads.road_marking"));
}

#[test]
fn min_score_is_honoured() {
    assert_eq!(SMALL.min_score("roads.snow_removal"), Some(2.5));
    assert_eq!(SMALL.min_score("roads.potholes"), None);
    // «снег» (1) + category «дорога» (0.25) < 2.5.
    assert!(!fires(&SMALL, "Снег на дороге", "roads.snow_removal"));
    // The category is reported instead, as nothing else of it fired.
    assert_eq!(ids(&SMALL.matches("Снег на дороге")), ["roads"]);
    // «снег» + «гололёд» + phrase «снег не убран» = 4.
    let hits = SMALL.matches("Снег не убран, гололёд");
    let h = hit(&hits, "roads.snow_removal").expect("snow");
    assert!(close(h.score, 2.0 * TERM_WEIGHT + PHRASE_WEIGHT));
}

#[test]
fn category_level_hits_and_order() {
    let hits = SMALL.matches("Асфальт положили на проезжую часть");
    assert_eq!(ids(&hits), ["roads"]);
    let h = &hits[0];
    assert_eq!(h.level, HitLevel::Category);
    assert!(close(
        h.score,
        CATEGORY_WEIGHT * (TERM_WEIGHT + PHRASE_WEIGHT)
    ));
    assert_eq!(h.matched, ["слово «асфальт»", "фраза «проезжая часть»"]);

    // Several subcategories, best first; no category hit once a subcategory of it fired.
    let hits =
        SMALL.matches("Яма на дороге, разметки нет, лифт не работает, управляющая компания молчит");
    assert_eq!(
        ids(&hits),
        [
            "roads.potholes",
            "housing.lift",
            "housing.management",
            "roads.road_marking"
        ]
    );
    for w in hits.windows(2) {
        assert!(w[0].score >= w[1].score);
    }
}

#[test]
fn matches_tokens_equals_matches() {
    let analyzers = SHIPPED.analyzers();
    for text in corpus().iter().take(80) {
        let tokens = analyzers.analyze_tokens(text);
        assert_eq!(
            SHIPPED.matches_tokens(&tokens),
            SHIPPED.matches(text),
            "{text}"
        );
    }
}

#[test]
fn unknown_ids_and_warnings() {
    let schema = schema();
    assert!(matches!(
        SMALL.to_tantivy_query("roads.nothing", schema.1),
        Err(ClassifyError::UnknownKeywordRule(id)) if id == "roads.nothing"
    ));
    // A category is not a subcategory, and the other way round.
    assert!(SMALL.to_tantivy_query("roads", schema.1).is_err());
    assert!(
        SMALL
            .to_tantivy_category_query("roads.potholes", schema.1)
            .is_err()
    );
    assert!(SMALL.to_tantivy_category_query("culture", schema.1).is_ok());
    assert!(SMALL.warnings().is_empty(), "{:?}", SMALL.warnings());

    // Items that analyse to nothing, and a negative that analyses like a positive.
    let bad = r#"
[category]
id = "roads"

[[subcategory]]
id = "roads.potholes"
terms = ["яма", "на"]
phrases = ["на дороге"]
negative = ["в яме", "и"]
"#;
    let m = compile(&[("roads.toml", bad)]);
    let w = m.warnings();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w[0].starts_with("roads.toml:7:") && w[0].contains("«на»"),
        "{w:?}"
    );
    assert!(
        w[1].contains("«в яме»") && w[1].contains("слово «яма»"),
        "{w:?}"
    );
    assert!(w[2].contains("«и»"), "{w:?}");
    // «на дороге» is left as the term `дорог`.
    assert!(fires(&m, "дороги", "roads.potholes"));
    assert!(fires(&m, "яма", "roads.potholes"));
}

// ---------------------------------------------------------------------------------------------
// The shipped rules.

#[test]
fn shipped_rules_compile_without_warnings() {
    let rules = RulesDir::load(rules_dir()).expect("rules");
    let keywords = rules.keywords().expect("keywords");
    assert!(SHIPPED.warnings().is_empty(), "{:#?}", SHIPPED.warnings());
    let subs: Vec<&str> = SHIPPED.subcategories().collect();
    assert_eq!(subs.len(), keywords.summary().subcategories);
    assert_eq!(subs.len(), rules.tree().subcategories().len());
    assert_eq!(SHIPPED.categories().count(), keywords.categories().len());
    let field = schema().1;
    for s in subs {
        SHIPPED.to_tantivy_query(s, field).expect("query");
    }
    for c in SHIPPED.categories() {
        SHIPPED
            .to_tantivy_category_query(c, field)
            .expect("category query");
    }
    assert!(
        SHIPPED.pattern_count() > 5_000,
        "{}",
        SHIPPED.pattern_count()
    );
}

/// Own sentences and the subcategory each must have among its top 3 hits.
const TABLE: &[(&str, &str)] = &[
    ("Огромные ямы на дороге по улице Ленина", "roads.potholes"),
    (
        "На Садовой опять яма на яме, подвеску разбил",
        "roads.potholes",
    ),
    (
        "Стёрлась разметка на перекрестке, полос не видно",
        "roads.road_marking",
    ),
    (
        "Светофор на перекрёстке Ленина и Мира не работает",
        "roads.traffic_lights",
    ),
    (
        "Знак пешеходного перехода упал и лежит на обочине",
        "roads.road_signs",
    ),
    (
        "Машины паркуются на газоне под окнами",
        "improvement.lawn_parking",
    ),
    (
        "Дорогу к поселку не чистят от снега третий день",
        "roads.snow_removal",
    ),
    (
        "На тротуаре по улице Мира огромная лужа и разбитая плитка",
        "roads.sidewalks",
    ),
    (
        "Остановку общественного транспорта снесли, павильона нет",
        "roads.transport_stops",
    ),
    (
        "Не вывозят мусор с контейнерной площадки, баки переполнены",
        "waste.containers",
    ),
    (
        "В лесу за деревней огромная свалка мусора",
        "waste.dumps_in_forest",
    ),
    (
        "Во дворе стихийная свалка, строительный мусор лежит месяц",
        "waste.dumps_in_yards",
    ),
    (
        "Батареи в квартире холодные, отопление не дали",
        "apartment_buildings.heating",
    ),
    (
        "Прорыв теплотрассы у школы, из-под асфальта идет пар",
        "heating.pipe_damage",
    ),
    ("Горячей воды нет уже неделю", "water.hot_water"),
    ("Из крана течет ржавая вода с запахом", "water.poor_quality"),
    (
        "Канализация затопила подвал, нечистоты текут по двору",
        "water.sewerage",
    ),
    (
        "Во дворе не горят фонари, темно и страшно",
        "yards.street_lighting",
    ),
    (
        "Отключили электричество на всей улице без предупреждения",
        "electricity.power_outage",
    ),
    (
        "В подъезде не горит свет, лампочки не меняют",
        "apartment_buildings.lighting",
    ),
    (
        "С крыши свисают огромные сосульки над входом",
        "apartment_buildings.icicles",
    ),
    (
        "Лифт в доме не работает вторую неделю",
        "apartment_buildings.lift",
    ),
    (
        "Протекает крыша, после дождя мокрый потолок",
        "apartment_buildings.roof_leaks",
    ),
    (
        "Управляющая компания не отвечает на звонки и ничего не делает",
        "apartment_buildings.management_companies",
    ),
    (
        "Капитальный ремонт дома перенесли, а взносы собирают",
        "apartment_buildings.capital_repair",
    ),
    (
        "Автобус номер 5 не ходит по расписанию, ждали час",
        "transport.schedule_violations",
    ),
    (
        "Водитель маршрутки грубит пассажирам и курит",
        "transport.crew_conduct",
    ),
    (
        "Электричку отменили, в вагонах холодно",
        "transport.suburban_train_conditions",
    ),
    (
        "Бездомные собаки стаей бегают по двору и кидаются на детей",
        "veterinary.stray_animal_capture",
    ),
    (
        "Детская площадка сломана, качели оторваны",
        "improvement.playground_equipment",
    ),
    ("Песок в песочнице не меняли три года", "yards.playgrounds"),
    (
        "Аварийное дерево во дворе может упасть на машины",
        "yards.green_spaces",
    ),
    (
        "Брошенный автомобиль без колес стоит во дворе два года",
        "yards.abandoned_car",
    ),
    ("Открытый канализационный люк во дворе", "yards.manholes"),
    (
        "Не могу записаться к врачу, талонов нет",
        "health.appointments",
    ),
    ("Скорая помощь ехала к бабушке два часа", "health.ambulance"),
    ("В аптеке нет льготных лекарств", "health.medicines"),
    (
        "В школьной столовой кормят холодной едой",
        "education.school_meals",
    ),
    ("В МФЦ огромная очередь, ждали три часа", "mfc.queue"),
    ("Продают алкоголь подросткам ночью", "trade.alcohol_sales"),
    (
        "Газ к дому не провели, газификацию обещали давно",
        "gas.gasification",
    ),
    (
        "Начислили неправильно за отопление, требуем перерасчет",
        "utility_bills.billing_errors",
    ),
    (
        "Незаконная вырубка леса возле деревни",
        "forestry.illegal_logging",
    ),
];

#[test]
fn shipped_rules_put_the_expected_subcategory_in_the_top_3() {
    let mut failures = Vec::new();
    for (text, expected) in TABLE {
        let hits = SHIPPED.matches(text);
        let top: Vec<&str> = hits
            .iter()
            .take(3)
            .map(|h| h.subcategory.as_str())
            .collect();
        if !top.contains(expected) {
            let shown: Vec<String> = hits
                .iter()
                .take(5)
                .map(|h| {
                    format!(
                        "{} {:.2} {:?}",
                        ids(std::slice::from_ref(h))[0],
                        h.score,
                        h.matched
                    )
                })
                .collect();
            failures.push(format!("{text:?}: expected {expected}, got {shown:#?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        TABLE.len(),
        failures.join("\n")
    );
}

#[test]
fn shipped_rules_potholes_and_orchestra_pit() {
    let hits = SHIPPED.matches("Огромные ямы на дороге по улице Ленина");
    assert_eq!(hits[0].subcategory, "roads.potholes", "{hits:#?}");
    assert!(
        !fires(
            &SHIPPED,
            "Оркестровая яма в театре требует ремонта",
            "roads.potholes"
        ),
        "{:#?}",
        SHIPPED.matches("Оркестровая яма в театре требует ремонта")
    );
}

// ---------------------------------------------------------------------------------------------
// Equivalence of the matcher and the tantivy queries.

fn schema() -> (Schema, Field, Field) {
    let mut b = Schema::builder();
    let n = b.add_u64_field("n", INDEXED | STORED);
    let text = b.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(RU_ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        ),
    );
    (b.build(), text, n)
}

/// An in-RAM index of `texts`; returns the searcher, the text field and doc → text number.
fn index(texts: &[String]) -> (Searcher, Field, HashMap<DocAddress, usize>) {
    let (schema, text, n) = schema();
    let index = Index::create_in_ram(schema);
    Analyzers::embedded().register(&index);
    let mut writer: IndexWriter = index
        .writer_with_num_threads(1, 50_000_000)
        .expect("writer");
    for (i, t) in texts.iter().enumerate() {
        writer
            .add_document(doc!(n => i as u64, text => t.as_str()))
            .expect("add");
    }
    writer.commit().expect("commit");
    let searcher = index.reader().expect("reader").searcher();
    let all = searcher.search(&AllQuery, &DocSetCollector).expect("all");
    let numbers = all
        .into_iter()
        .map(|addr| {
            let d: TantivyDocument = searcher.doc(addr).expect("doc");
            let v = d.get_first(n).and_then(|v| v.as_u64()).expect("n");
            (addr, v as usize)
        })
        .collect();
    (searcher, text, numbers)
}

/// Documents matched by `query` with their scores (scoring on), and the documents matched with
/// scoring off (another phrase code path of tantivy).
fn search(
    searcher: &Searcher,
    numbers: &HashMap<DocAddress, usize>,
    query: &dyn Query,
) -> (BTreeMap<usize, f32>, BTreeSet<usize>) {
    let limit = numbers.len().max(1);
    let scored = searcher
        .search(query, &TopDocs::with_limit(limit).order_by_score())
        .expect("search");
    let scored = scored
        .into_iter()
        .map(|(score, addr)| (numbers[&addr], score))
        .collect();
    let plain = searcher
        .search(query, &DocSetCollector)
        .expect("search")
        .into_iter()
        .map(|addr| numbers[&addr])
        .collect();
    (scored, plain)
}

/// Checks, for every subcategory and category of `m`, that the tantivy query matches exactly
/// the texts the matcher fires it on, with the same score. Returns the number of (text,
/// subcategory) hits compared.
fn assert_equivalent(m: &KeywordMatcher, texts: &[String]) -> usize {
    let (searcher, field, numbers) = index(texts);
    // The matcher's view: subcategory → text → score, category → texts with category evidence.
    let mut expected: HashMap<String, BTreeMap<usize, f32>> = HashMap::new();
    let mut category_fires: HashMap<String, BTreeMap<usize, f32>> = HashMap::new();
    for (i, t) in texts.iter().enumerate() {
        for h in m.matches(t) {
            match h.level {
                HitLevel::Subcategory => {
                    expected
                        .entry(h.subcategory.clone())
                        .or_default()
                        .insert(i, h.score);
                    if h.matched.iter().any(|l| l.starts_with("категория: ")) {
                        category_fires
                            .entry(h.category.clone())
                            .or_default()
                            .insert(i, f32::NAN);
                    }
                }
                HitLevel::Category => {
                    category_fires
                        .entry(h.category.clone())
                        .or_default()
                        .insert(i, h.score);
                }
            }
        }
    }
    let mut compared = 0;
    let mut problems = Vec::new();
    let empty = BTreeMap::new();
    for sub in m.subcategories() {
        let query = m.to_tantivy_query(sub, field).expect("query");
        let (scored, plain) = search(&searcher, &numbers, query.as_ref());
        // min_score applies to the tantivy scores too.
        let min = m.min_score(sub);
        let kept: BTreeMap<usize, f32> = scored
            .into_iter()
            .filter(|(_, s)| min.is_none_or(|m| s + MIN_SCORE_TOLERANCE >= m))
            .collect();
        let want = expected.get(sub).unwrap_or(&empty);
        if kept.keys().ne(want.keys()) {
            let extra: Vec<&String> = kept
                .keys()
                .filter(|k| !want.contains_key(k))
                .map(|k| &texts[*k])
                .collect();
            let missing: Vec<&String> = want
                .keys()
                .filter(|k| !kept.contains_key(k))
                .map(|k| &texts[*k])
                .collect();
            problems.push(format!(
                "{sub}: tantivy only {extra:?}, matcher only {missing:?}"
            ));
            continue;
        }
        for (doc, score) in want {
            if !close(kept[doc], *score) {
                problems.push(format!(
                    "{sub}: {:?} scored {} by tantivy, {score} by the matcher",
                    texts[*doc], kept[doc]
                ));
            }
        }
        if min.is_none() && plain.iter().ne(want.keys()) {
            problems.push(format!("{sub}: tantivy without scoring differs"));
        }
        compared += want.len();
    }
    for cat in m.categories() {
        let query = m.to_tantivy_category_query(cat, field).expect("query");
        let (scored, _) = search(&searcher, &numbers, query.as_ref());
        let want = category_fires.get(cat).unwrap_or(&empty);
        if m.min_score(cat).is_none() && scored.keys().ne(want.keys()) {
            let extra: Vec<&String> = scored
                .keys()
                .filter(|k| !want.contains_key(k))
                .map(|k| &texts[*k])
                .collect();
            let missing: Vec<&String> = want
                .keys()
                .filter(|k| !scored.contains_key(k))
                .map(|k| &texts[*k])
                .collect();
            problems.push(format!(
                "category {cat}: tantivy only {extra:?}, matcher only {missing:?}"
            ));
        }
        for (doc, score) in want {
            if !score.is_nan() && scored.get(doc).is_some_and(|s| !close(*s, *score)) {
                problems.push(format!("category {cat}: {:?} scores differ", texts[*doc]));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    compared
}

/// The corpus, plus pairs of its texts joined (multi-topic posts) and texts with their words
/// reversed (to exercise proximity in both directions).
fn equivalence_texts() -> Vec<String> {
    let base = corpus();
    let mut texts = base.clone();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..120 {
        let a = &base[rng.below(base.len())];
        let b = &base[rng.below(base.len())];
        texts.push(format!("{a} {b}"));
    }
    for t in base.iter().step_by(3) {
        let words: Vec<&str> = t.split_whitespace().rev().collect();
        texts.push(words.join(" "));
    }
    texts
}

#[test]
fn shipped_rules_agree_with_tantivy() {
    let texts = equivalence_texts();
    assert!(texts.len() >= 300, "{}", texts.len());
    let compared = assert_equivalent(&SHIPPED, &texts);
    // The corpus is about the rules' topics: most texts hit something.
    assert!(compared > texts.len(), "only {compared} hits compared");
}

#[test]
fn small_rules_agree_with_tantivy_on_random_texts() {
    const WORDS: &[&str] = &[
        "яма",
        "ямы",
        "на",
        "дороге",
        "дорога",
        "разбитая",
        "старая",
        "оркестровая",
        "выгребная",
        "асфальта",
        "провал",
        "разметка",
        "разметку",
        "нанести",
        "пешеходного",
        "перехода",
        "у",
        "в",
        "стоп-линия",
        "снег",
        "не",
        "убран",
        "чистят",
        "гололёд",
        "лифт",
        "работает",
        "УК",
        "ЖКХ",
        "ТКО",
        "вывоз",
        "мусорные",
        "мусор",
        "вывозят",
        "музей",
        "музея",
        "экскурсия",
        "санаторий",
        "железная",
        "проезжая",
        "часть",
        "ёлка",
        "елка",
        "новогодняя",
        "театральный",
        "управляющая",
        "компания",
        "дом",
        "вход",
        "подъезд",
        "под",
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut texts = Vec::new();
    for _ in 0..1500 {
        let len = 2 + rng.below(11);
        let words: Vec<&str> = (0..len).map(|_| WORDS[rng.below(WORDS.len())]).collect();
        texts.push(words.join(" "));
    }
    let compared = assert_equivalent(&SMALL, &texts);
    assert!(compared > 1000, "only {compared} hits compared");
}

// ---------------------------------------------------------------------------------------------
// Speed (numbers for the record, no assertion). Run with
// `cargo test -p otklik-classify --release --test keywords -- --ignored --nocapture speed`.

/// Nanoseconds this thread has spent on a CPU (Linux), so that the numbers hold on a busy
/// machine; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Runs `f`, returning (wall seconds, CPU seconds of this thread when known).
fn timed(mut f: impl FnMut()) -> (f64, Option<f64>) {
    let cpu = thread_cpu_ns();
    let start = Instant::now();
    f();
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu.zip(thread_cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
    (wall, cpu)
}

#[test]
#[ignore]
fn speed_of_matches() {
    let base = corpus();
    // ~300-character texts: corpus lines joined (several complaints each, so many hits), and
    // the single corpus lines (one complaint each, ~60 characters) for comparison.
    let mut texts = Vec::new();
    let mut current = String::new();
    for t in base.iter().cycle().take(base.len() * 4) {
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(t);
        if current.chars().count() >= 300 {
            texts.push(std::mem::take(&mut current));
        }
    }
    let m = &*SHIPPED;
    let analyzers = m.analyzers();
    println!(
        "{} patterns, {} subcategories",
        m.pattern_count(),
        m.subcategories().count()
    );
    for (name, texts) in [
        ("~300-character texts", &texts),
        ("single complaints", &base),
    ] {
        let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
        let rounds = 200_000 / texts.len() + 1;
        let n = (rounds * texts.len()) as f64;
        let mut hits = 0usize;
        for t in texts.iter() {
            hits += m.matches(t).len();
        }
        let analysed: Vec<_> = texts.iter().map(|t| analyzers.analyze_tokens(t)).collect();
        let mut tokens = 0usize;
        let analysis = timed(|| {
            for _ in 0..rounds {
                for t in texts.iter() {
                    analyzers.for_each_token(t, |_| tokens += 1);
                }
            }
        });
        let matching = timed(|| {
            for _ in 0..rounds {
                for t in texts.iter() {
                    hits += m.matches(t).len();
                }
            }
        });
        let matching_only = timed(|| {
            for _ in 0..rounds {
                for t in &analysed {
                    hits += m.matches_tokens(t).len();
                }
            }
        });
        let rate = |(wall, cpu): (f64, Option<f64>)| match cpu {
            Some(cpu) => format!("{:.0} texts/s wall, {:.0} texts/s CPU", n / wall, n / cpu),
            None => format!("{:.0} texts/s wall", n / wall),
        };
        println!(
            "{name}: {} texts of {:.0} characters, {:.1} hits per text",
            texts.len(),
            chars as f64 / texts.len() as f64,
            hits as f64 / (2.0 * n + texts.len() as f64)
        );
        println!("  analysis only: {}", rate(analysis));
        println!("  matches (analysis included): {}", rate(matching));
        println!(
            "  matches_tokens (already analysed): {}",
            rate(matching_only)
        );
    }
}
