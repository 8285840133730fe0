//! Frequent and emerging problems: significant terms against a baseline, topics of
//! near-duplicates, spikes of today against the trailing weeks.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use otklik_search::generate::{Generator, GeneratorOptions};
use otklik_search::topics::cluster_texts;
use otklik_search::{
    BaselineScope, DocKey, DocKind, IndexerOptions, SearchDoc, SearchIndex, SpikeKind, SpikeQuery,
    TopicOrder, TopicsQuery,
};

/// 2026-10-15T00:00Z: "today".
const TODAY: i64 = 1_792_022_400_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
/// The territory of улица Садовая in Северск (dictionaries/severnaya-oblast/streets.csv).
const BURST_TERRITORY: &str = "seversk-rechnoy";

/// Twelve ways of saying «a pipe burst on Садовая».
const BURST: &[&str] = &[
    "Прорыв трубы на улице Садовой в Северске, вода хлещет прямо на дорогу.",
    "На Садовой прорыв трубы, вода заливает двор дома 12. Аварийная служба не едет.",
    "Опять прорыв трубы на улице Садовой, воды в доме нет с самого утра.",
    "Садовая, 14: прорыв трубы, вода течёт по улице рекой. Примите меры!",
    "Северск, улица Садовая. Прорыв трубы, вода уже подтопила подвал.",
    "Прорыв трубы у дома 8 на Садовой, вода бьёт фонтаном из-под асфальта.",
    "Из-за прорыва трубы на Садовой улице нет воды во всех домах.",
    "Улица Садовая затоплена: прорыв трубы, вода стоит по колено.",
    "Срочно! Прорыв трубы на улице Садовой, вода заливает проезжую часть.",
    "Прорыв трубы на Садовой, вода уходит в землю уже несколько часов.",
    "На улице Садовой снова прорыв трубы, вода хлещет, никто не приезжает.",
    "Жители Садовой без воды: прорыв трубы напротив дома 20.",
];

fn options() -> IndexerOptions {
    IndexerOptions {
        threads: 1,
        heap_bytes: 20_000_000,
    }
}

fn index_of(docs: &[SearchDoc]) -> SearchIndex {
    let index = SearchIndex::in_ram().unwrap();
    let mut w = index.indexer(options()).unwrap();
    for d in docs {
        w.upsert(d).unwrap();
    }
    w.commit().unwrap();
    index
}

/// `count` generated posts spread over `[start, start + days)`.
fn generated(seed: u64, first_id: i64, start: i64, days: i64, count: usize) -> Vec<SearchDoc> {
    Generator::with_options(GeneratorOptions {
        seed,
        first_id,
        start_ms: start,
        span_days: days,
    })
    .take(count)
    .collect()
}

/// The burst, published on `day` between 07:00 and 19:00.
fn burst(day: i64, first_id: i64) -> Vec<SearchDoc> {
    BURST
        .iter()
        .enumerate()
        .map(|(k, text)| {
            let at = day + 7 * HOUR + k as i64 * HOUR;
            SearchDoc {
                kind: DocKind::Post,
                id: first_id + k as i64,
                text: (*text).to_owned(),
                published_at: at,
                updated_at: at,
                category: Some("housing".into()),
                subcategory: Some("housing.water".into()),
                territory: Some(BURST_TERRITORY.into()),
                organisation: Some("adm-seversk".into()),
                network: Some("vk".into()),
                status: Some("complaint".into()),
                ..SearchDoc::default()
            }
        })
        .collect()
}

/// Four weeks of ordinary posts (100 a day) and an ordinary today.
fn ordinary_month() -> Vec<SearchDoc> {
    let mut docs = generated(11, 1, TODAY - 28 * DAY, 28, 2_800);
    docs.extend(generated(12, 100_000, TODAY, 1, 100));
    docs
}

#[test]
fn an_injected_burst_is_the_top_emerging_problem() {
    let mut docs = ordinary_month();
    docs.extend(burst(TODAY, 500_000));
    let index = index_of(&docs);
    let report = index.spikes(&SpikeQuery::new(TODAY + 12 * HOUR)).unwrap();
    assert_eq!(report.day, "2026-10-15");
    assert_eq!(report.today_docs, 112);
    assert_eq!(report.trailing_docs, 2_800);

    let top = report.spikes.first().expect("a spike");
    assert_eq!(top.kind, SpikeKind::Topic, "{report:#?}");
    let topic = top.topic.as_ref().unwrap();
    assert_eq!(topic.territory.as_deref(), Some(BURST_TERRITORY));
    assert!(topic.size >= 10, "{topic:#?}");
    assert!(topic.territory_share > 0.9, "{topic:#?}");
    assert!(topic.title.to_lowercase().contains("прорыв"), "{topic:#?}");
    assert!(top.ratio >= 3.0 && top.z >= 4.0, "{top:#?}");
    assert!(
        topic
            .members
            .iter()
            .all(|k| k.id >= 500_000 && k.kind == DocKind::Post),
        "only the burst: {topic:#?}"
    );
    assert_eq!(report.top_topic().map(|s| &s.label), Some(&top.label));

    // The phrase itself spikes as a term too, in its usual wording.
    let phrase = report
        .spikes
        .iter()
        .filter_map(|s| s.term.as_ref())
        .find(|t| t.display == "прорыв трубы")
        .unwrap_or_else(|| panic!("no phrase spike: {report:#?}"));
    assert!(phrase.phrase);
    assert_eq!(phrase.term.split(' ').count(), 2, "{phrase:?}");

    // Steady background vocabulary (potholes are the most frequent problem) is not a spike.
    for s in &report.spikes {
        if let Some(t) = &s.term {
            assert!(
                !["ям", "дорог", "улиц"].contains(&t.term.as_str()),
                "{s:#?}"
            );
        }
        if let Some(t) = &s.topic {
            assert_ne!(t.subcategory.as_deref(), Some("roads.potholes"), "{s:#?}");
        }
    }

    // Only the burst's territory: still there; another territory: nothing.
    let here = index
        .spikes(&SpikeQuery::new(TODAY).territory(BURST_TERRITORY))
        .unwrap();
    assert_eq!(
        here.top_topic()
            .and_then(|s| s.topic.as_ref())
            .and_then(|t| t.territory.as_deref()),
        Some(BURST_TERRITORY)
    );
    let elsewhere = index
        .spikes(&SpikeQuery::new(TODAY).territory("ust-ledyansk-okrug"))
        .unwrap();
    assert!(elsewhere.spikes.is_empty(), "{elsewhere:#?}");
}

#[test]
fn an_ordinary_day_has_no_spikes() {
    let index = index_of(&ordinary_month());
    let report = index.spikes(&SpikeQuery::new(TODAY)).unwrap();
    assert!(report.today_docs >= 100);
    assert!(report.spikes.is_empty(), "{report:#?}");
}

/// The burst's wording `per_day` times a day over the four weeks and today, and `extra` more
/// today.
fn steady_pipes(per_day: usize, extra: usize) -> Vec<SearchDoc> {
    let mut out = Vec::new();
    let mut id = 700_000;
    for day in -28..=0 {
        let n = if day == 0 { per_day + extra } else { per_day };
        for k in 0..n {
            let mut d = burst(TODAY, id).swap_remove(k % BURST.len());
            d.id = id;
            d.published_at = TODAY + day * DAY + 6 * HOUR + (k as i64) * 20 * 60_000;
            d.updated_at = d.published_at;
            out.push(d);
            id += 1;
        }
    }
    out
}

#[test]
fn a_steady_problem_is_not_a_spike_until_it_jumps() {
    let mut docs = ordinary_month();
    docs.extend(steady_pipes(6, 0));
    let index = index_of(&docs);
    let report = index.spikes(&SpikeQuery::new(TODAY)).unwrap();
    assert_eq!(report.today_docs, 106);
    assert!(report.spikes.is_empty(), "{report:#?}");

    // Twice the usual today: ratio (12 + 1) / (6 + 1) < 3, not yet.
    let mut docs = ordinary_month();
    docs.extend(steady_pipes(6, 6));
    let report = index_of(&docs).spikes(&SpikeQuery::new(TODAY)).unwrap();
    assert!(report.spikes.is_empty(), "{report:#?}");

    // Five times the usual: a spike, with the trailing mean measured. (Twelve paraphrases
    // of a problem that is common anyway weigh little as words, so they need not form one
    // topic: the phrase spikes.)
    let mut docs = ordinary_month();
    docs.extend(steady_pipes(6, 24));
    let report = index_of(&docs).spikes(&SpikeQuery::new(TODAY)).unwrap();
    let top = report
        .spikes
        .iter()
        .find(|s| s.label == "прорыв трубы")
        .unwrap_or_else(|| panic!("{report:#?}"));
    // 30 today, two of which say «из-за прорыва трубы» (another stem to Snowball).
    assert_eq!(top.today, 28, "{top:#?}");
    assert!((top.mean - 6.0).abs() < 0.01 && top.sd < 0.01, "{top:#?}");
    assert!(top.ratio >= 3.0 && top.z >= 4.0, "{top:#?}");
    assert!(
        report
            .spikes
            .iter()
            .all(|s| s.term.as_ref().is_none_or(|t| t.term != "ям")),
        "{report:#?}"
    );
}

#[test]
fn top_problems_of_a_month_and_territory() {
    // September and October, 60 a day, and the burst on 15 October.
    let mut docs = generated(21, 1, TODAY - 44 * DAY, 61, 3_660);
    docs.extend(burst(TODAY, 500_000));
    let index = index_of(&docs);

    let report = index
        .topics(
            &TopicsQuery::month("2026-10")
                .unwrap()
                .territory(BURST_TERRITORY),
        )
        .unwrap();
    assert!(report.foreground_docs >= 12, "{report:#?}");
    let top = report.topics.first().expect("a topic");
    assert!(top.size >= 10, "{top:#?}");
    assert_eq!(top.territory.as_deref(), Some(BURST_TERRITORY));
    assert_eq!(top.subcategory.as_deref(), Some("housing.water"));
    assert!(top.terms.iter().any(|t| t == "прорыв трубы"), "{top:#?}");
    assert!(top.title.to_lowercase().contains("прорыв"), "{top:#?}");
    // The territory's own streets do not make a topic of different problems. (Three short
    // template questions differing in one word — «когда дадут свет / отопление» — may still
    // be joined: only topics of four or more are checked.)
    let by_key: HashMap<DocKey, &SearchDoc> = docs.iter().map(|d| (d.key(), d)).collect();
    for topic in report.topics.iter().filter(|t| t.size >= 4) {
        let first = by_key[&topic.members[0]].subcategory.as_deref();
        let same = topic
            .members
            .iter()
            .filter(|k| by_key[*k].subcategory.as_deref() == first)
            .count();
        let texts: Vec<&str> = topic
            .members
            .iter()
            .map(|k| by_key[k].text.as_str())
            .collect();
        assert!(
            same * 5 >= topic.members.len() * 4,
            "mixed topic {texts:#?}"
        );
    }
    // The burst's phrase is the most significant term of the month there, and the bare words
    // it is made of are not listed again.
    assert_eq!(report.terms[0].display, "прорыв трубы", "{report:#?}");
    assert!(report.terms[0].phrase);
    assert!(
        report.terms.iter().all(|t| t.display != "трубы"),
        "{report:#?}"
    );
    assert!(report.terms.windows(2).all(|w| w[0].score >= w[1].score));

    // Region-wide against the region's baseline: the burst is the most significant topic,
    // though far from the largest.
    let mut region = TopicsQuery::month("2026-10").unwrap();
    region.baseline_scope = BaselineScope::Region;
    region.options.order = TopicOrder::Significance;
    let report = index.topics(&region).unwrap();
    assert!(
        report
            .terms
            .iter()
            .take(5)
            .any(|t| t.display == "прорыв трубы"),
        "{:#?}",
        report.terms
    );
    let top = &report.topics[0];
    assert!(top.terms.iter().any(|w| w == "прорыв трубы"), "{top:#?}");
    assert_eq!(top.territory.as_deref(), Some(BURST_TERRITORY));
    assert_eq!(top.background_rate, 0.0);
    assert!(
        report
            .topics
            .iter()
            .skip(1)
            .all(|t| t.score < top.score / 2.0)
    );
    let by_size = index
        .topics(&TopicsQuery::month("2026-10").unwrap())
        .unwrap();
    assert!(by_size.topics.windows(2).all(|w| w[0].size >= w[1].size));
    assert!(by_size.topics[0].size > top.size);

    // September had no burst.
    let september = index
        .topics(&TopicsQuery::month("2026-09").unwrap())
        .unwrap();
    assert!(
        september
            .terms
            .iter()
            .all(|t| !t.display.contains("прорыв"))
    );
}

#[test]
fn topics_of_generated_posts_are_single_problems() {
    let docs = generated(31, 1, TODAY - 44 * DAY, 61, 4_880);
    let by_key: HashMap<DocKey, &SearchDoc> = docs.iter().map(|d| (d.key(), d)).collect();
    let index = index_of(&docs);
    let mut q = TopicsQuery::month("2026-10").unwrap();
    q.options.max_topics = 30;
    let report = index.topics(&q).unwrap();
    // > 1,500 documents: the MinHash candidates path.
    assert!(report.foreground_docs > 1_500, "{}", report.foreground_docs);
    assert!(report.topics.len() >= 10, "{:#?}", report.topics.len());
    let largest = report.topics[0].size;
    assert!(
        largest < report.foreground_docs / 5,
        "one topic swallowed {largest} of {}",
        report.foreground_docs
    );
    for topic in &report.topics {
        let mut subs: HashMap<&str, usize> = HashMap::new();
        for k in &topic.members {
            let sub = by_key[k].subcategory.as_deref().unwrap_or("");
            *subs.entry(sub).or_default() += 1;
        }
        let main = subs.values().max().copied().unwrap_or(0);
        assert!(
            main as f64 >= 0.9 * topic.members.len() as f64,
            "mixed topic {:?}: {subs:?}",
            topic.title
        );
        assert!(!topic.title.is_empty() && topic.title.chars().count() <= 121);
    }
}

#[test]
fn clustering_puts_paraphrases_together_and_problems_apart() {
    let texts = [
        // 0–3: a burst pipe on Садовая
        "Прорыв трубы на улице Садовой, вода заливает двор.",
        "На Садовой улице прорвало трубу, весь двор в воде.",
        "Опять прорыв трубы у дома на Садовой, вода течёт по двору.",
        "Трубу прорвало на Садовой, двор залит водой.",
        // 4–6: a pothole on the same street
        "Огромная яма на дороге на улице Садовой, машины бьют колёса.",
        "На Садовой яма на дороге, пробил колесо.",
        "Ямы на дороге по улице Садовой, колёса машин разбиты.",
        // 7–9: rubbish
        "Не вывозят мусор, контейнеры переполнены уже неделю.",
        "Мусор не вывозят неделю, контейнеры переполнены, воняет.",
        "Контейнеры для мусора переполнены, мусор неделю не вывозят.",
        // 10: alone
        "Спасибо за новую детскую площадку в парке!",
    ];
    let clusters = cluster_texts(&texts, 0.4);
    let mut sorted: Vec<Vec<usize>> = clusters
        .into_iter()
        .map(|mut c| {
            c.sort_unstable();
            c
        })
        .collect();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![vec![0, 1, 2, 3], vec![4, 5, 6], vec![7, 8, 9], vec![10]]
    );
}
