//! Behaviour of the index: analysis-sensitive matching, phrases, filters, facets, snippets,
//! sorting, paging, updates, near-real-time visibility, the watermark.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use otklik_search::generate::Generator;
use otklik_search::{
    Change, DocKey, DocKind, Facet, FeedMark, IndexerOptions, SearchDoc, SearchIndex, SearchQuery,
    Sort, Watermark, month_start_ms,
};

/// 2026-10-15T00:00Z.
const OCT: i64 = 1_792_022_400_000;
const DAY: i64 = 86_400_000;

fn options() -> IndexerOptions {
    IndexerOptions {
        threads: 1,
        heap_bytes: 20_000_000,
    }
}

fn post(id: i64, text: &str) -> SearchDoc {
    SearchDoc {
        kind: DocKind::Post,
        id,
        text: text.into(),
        published_at: OCT + id * 1_000,
        updated_at: OCT + id * 1_000,
        network: Some("vk".into()),
        ..SearchDoc::default()
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

fn ids(index: &SearchIndex, q: &SearchQuery) -> Vec<i64> {
    let mut v: Vec<i64> = index
        .search(q)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.key.id)
        .collect();
    v.sort_unstable();
    v
}

fn found(index: &SearchIndex, text: &str) -> Vec<i64> {
    ids(index, &SearchQuery::new(text).limit(100))
}

#[test]
fn words_are_found_by_their_stem_in_every_form() {
    let index = index_of(&[
        post(1, "Во дворе огромная яма"),
        post(2, "Машина провалилась ямой в асфальт"),
        post(3, "Ямы на дорогах Северска"),
        post(4, "Ямщик гнал лошадей"),
        post(5, "Дорогой друг, спасибо"),
    ]);
    assert_eq!(found(&index, "ямы"), [1, 2, 3]);
    assert_eq!(found(&index, "яма"), [1, 2, 3]);
    assert_eq!(found(&index, "ЯМОЙ"), [1, 2, 3]);
    assert_eq!(found(&index, "ямщики"), [4]);
    // All words are required.
    assert_eq!(found(&index, "ямы дорога"), [3]);
    assert!(found(&index, "ямы лошадь").is_empty());
    // Stop words alone match nothing; alongside words they are ignored.
    assert!(found(&index, "на во").is_empty());
    assert_eq!(found(&index, "на дорогах"), [3, 5]);
}

#[test]
fn yo_and_ye_are_the_same_letter() {
    let index = index_of(&[
        post(1, "Упала ёлка на остановке"),
        post(2, "Елки во дворе не убрали"),
        post(3, "Всё засыпано снегом"),
    ]);
    assert_eq!(found(&index, "ёлки"), [1, 2]);
    assert_eq!(found(&index, "елка"), [1, 2]);
    assert_eq!(found(&index, "ЁЛКОЙ"), [1, 2]);
    assert_eq!(found(&index, "засыпаны"), [3]);
}

#[test]
fn phrases_keep_order_and_stop_word_gaps() {
    let index = index_of(&[
        post(1, "Яма на улице Ленина у дома 5"),
        post(2, "Ленина улица вся в ямах"),
        post(3, "Ямы на дорогах и во дворах"),
        post(4, "Яма, дорога разбита"),
        post(5, "Улицу Ленина перекопали"),
    ]);
    assert_eq!(found(&index, "\"улица Ленина\""), [1, 5]);
    assert_eq!(found(&index, "улица Ленина"), [1, 2, 5]);
    // «на» is a stop word but keeps its place: «яма дорога» with nothing between is not it.
    assert_eq!(found(&index, "\"ямы на дороге\""), [3]);
    assert_eq!(found(&index, "«яма на дорогах»"), [3]);
    assert_eq!(found(&index, "яма дорога"), [3, 4]);
    // Exclusions, of words and of phrases.
    assert_eq!(found(&index, "ленина -ямы"), [5]);
    assert_eq!(found(&index, "ямы -\"улица Ленина\""), [2, 3, 4]);
}

#[test]
fn abbreviations_match_their_expansions() {
    let index = index_of(&[
        post(1, "Жалоба в ЖКХ на отопление"),
        post(2, "Жилищно-коммунальное хозяйство не работает"),
        post(3, "Хозяйство у нас большое"),
    ]);
    assert_eq!(found(&index, "ЖКХ"), [1]);
    assert_eq!(found(&index, "жилищное хозяйство"), [1, 2]);
}

fn facet_corpus() -> Vec<SearchDoc> {
    let spec: [(&str, &str, &str, &str, &str, i64); 8] = [
        (
            "Яма на дороге",
            "roads",
            "roads.potholes",
            "seversk",
            "vk",
            0,
        ),
        (
            "Ямы во дворе",
            "yards",
            "yards.potholes",
            "seversk",
            "telegram",
            1,
        ),
        (
            "Яма у школы",
            "roads",
            "roads.potholes",
            "lesogorsk",
            "vk",
            40,
        ),
        (
            "Опять яма",
            "roads",
            "roads.road_repair",
            "volokov",
            "ok",
            41,
        ),
        (
            "Нет воды третий день",
            "water",
            "water.water_outage",
            "seversk",
            "vk",
            2,
        ),
        (
            "Нет горячей воды",
            "water",
            "water.hot_water",
            "lesogorsk",
            "vk",
            45,
        ),
        (
            "Спасибо за ремонт дороги",
            "roads",
            "roads.road_repair",
            "seversk",
            "vk",
            3,
        ),
        (
            "Яма и нет воды",
            "water",
            "water.pipe_damage",
            "volokov",
            "telegram",
            70,
        ),
    ];
    spec.iter()
        .enumerate()
        .map(|(i, (text, cat, sub, terr, net, day))| SearchDoc {
            kind: if i % 4 == 3 {
                DocKind::Message
            } else {
                DocKind::Post
            },
            id: i as i64 + 1,
            text: (*text).into(),
            published_at: OCT + day * DAY,
            updated_at: OCT + day * DAY,
            category: Some((*cat).into()),
            subcategory: Some((*sub).into()),
            territory: Some((*terr).into()),
            organisation: Some(format!("adm-{terr}")),
            network: Some((*net).into()),
            status: Some(if i % 2 == 0 { "complaint" } else { "news" }.into()),
            ..SearchDoc::default()
        })
        .collect()
}

#[test]
fn facet_counts_are_exact_over_all_matches() {
    let index = index_of(&facet_corpus());
    let q = SearchQuery::new("яма").limit(1);
    let mut q = q;
    for f in [
        Facet::Kind,
        Facet::Category,
        Facet::Subcategory,
        Facet::Territory,
        Facet::Organisation,
        Facet::Network,
        Facet::Status,
        Facet::Period,
    ] {
        q = q.facet(f);
    }
    let r = index.search(&q).unwrap();
    // Docs 1, 2, 3, 4, 8 mention «яма».
    assert_eq!(r.total, 5);
    assert_eq!(r.hits.len(), 1);
    let cat = r.facet(Facet::Category).unwrap();
    assert_eq!(
        cat.values
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect::<Vec<_>>(),
        [("roads", 3), ("water", 1), ("yards", 1)]
    );
    assert_eq!(cat.other, 0);
    let sub = r.facet(Facet::Subcategory).unwrap();
    assert_eq!(sub.count("roads.potholes"), 2);
    assert_eq!(sub.count("roads.road_repair"), 1);
    let terr = r.facet(Facet::Territory).unwrap();
    assert_eq!(
        (
            terr.count("seversk"),
            terr.count("lesogorsk"),
            terr.count("volokov")
        ),
        (2, 1, 2)
    );
    assert_eq!(
        r.facet(Facet::Organisation).unwrap().count("adm-volokov"),
        2
    );
    let net = r.facet(Facet::Network).unwrap();
    assert_eq!(
        (net.count("vk"), net.count("telegram"), net.count("ok")),
        (2, 2, 1)
    );
    let kind = r.facet(Facet::Kind).unwrap();
    assert_eq!((kind.count("post"), kind.count("message")), (3, 2));
    let status = r.facet(Facet::Status).unwrap();
    assert_eq!((status.count("complaint"), status.count("news")), (2, 3));
    // Days 0, 1 → October 2026; 40, 41 → November; 70 → December.
    let period = r.facet(Facet::Period).unwrap();
    assert_eq!(
        (
            period.count("2026-10"),
            period.count("2026-11"),
            period.count("2026-12")
        ),
        (2, 2, 1)
    );

    // A facet limit keeps the most frequent values and sums the rest.
    let mut q = SearchQuery::new("яма").facet(Facet::Category).limit(0);
    q.facet_limit = 1;
    let r = index.search(&q).unwrap();
    assert!(r.hits.is_empty());
    let cat = r.facet(Facet::Category).unwrap();
    assert_eq!(cat.values.len(), 1);
    assert_eq!(
        (cat.values[0].value.as_str(), cat.values[0].count, cat.other),
        ("roads", 3, 2)
    );
}

#[test]
fn filters_narrow_matches_and_their_facets() {
    let index = index_of(&facet_corpus());
    let q = SearchQuery::new("яма")
        .filter(Facet::Category, "roads")
        .facet(Facet::Territory)
        .limit(100);
    let r = index.search(&q).unwrap();
    assert_eq!(r.total, 3);
    let terr = r.facet(Facet::Territory).unwrap();
    assert_eq!(terr.values.len(), 3);
    assert_eq!(terr.count("seversk"), 1);

    // Values of one facet are alternatives; facets are combined.
    let q = SearchQuery::new("")
        .filter(Facet::Territory, "seversk")
        .filter(Facet::Territory, "volokov")
        .filter(Facet::Network, "vk")
        .limit(100);
    assert_eq!(ids(&index, &q), [1, 5, 7]);
    let q = SearchQuery::new("")
        .filter(Facet::Kind, "message")
        .limit(100);
    assert_eq!(ids(&index, &q), [4, 8]);
    let q = SearchQuery::new("")
        .filter(Facet::Period, "2026-11")
        .limit(100);
    assert_eq!(ids(&index, &q), [3, 4, 6]);
    // A date range: [Nov 1, Dec 1).
    let q = SearchQuery::new("")
        .published(
            Some(month_start_ms(2026, 11)),
            Some(month_start_ms(2026, 12)),
        )
        .limit(100);
    assert_eq!(ids(&index, &q), [3, 4, 6]);
    let q = SearchQuery::new("вода")
        .published(Some(OCT + 3 * DAY), None)
        .limit(100);
    assert_eq!(ids(&index, &q), [6, 8]);
    // An unknown value matches nothing.
    let q = SearchQuery::new("яма").filter(Facet::Territory, "nowhere");
    assert_eq!(index.search(&q).unwrap().total, 0);
    // Browsing everything.
    assert_eq!(index.search(&SearchQuery::new("")).unwrap().total, 8);
}

#[test]
fn snippets_highlight_the_matched_forms() {
    let index = index_of(&[
        post(
            1,
            "Машина провалилась ямой в асфальт возле дома 5 на улице Ленина",
        ),
        post(2, "Ёлку у подъезда так и не убрали"),
    ]);
    let r = index.search(&SearchQuery::new("ямы")).unwrap();
    let s = r.hits[0].snippet.as_ref().unwrap();
    assert_eq!(s.matches(), ["ямой"]);
    assert!(s.html.contains("<b>ямой</b>"), "{}", s.html);
    let r = index.search(&SearchQuery::new("\"улица Ленина\"")).unwrap();
    let s = r.hits[0].snippet.as_ref().unwrap();
    assert_eq!(s.matches(), ["улице", "Ленина"]);
    let r = index.search(&SearchQuery::new("елка")).unwrap();
    assert_eq!(r.hits[0].snippet.as_ref().unwrap().matches(), ["Ёлку"]);
    // Without snippets, or without text to match, none.
    let r = index
        .search(&SearchQuery::new("ямы").snippets(false))
        .unwrap();
    assert!(r.hits[0].snippet.is_none());
    let r = index.search(&SearchQuery::new("")).unwrap();
    assert!(r.hits.iter().all(|h| h.snippet.is_none()));
}

#[test]
fn hits_sort_by_relevance_or_date_and_page() {
    let index = index_of(&[
        post(1, "Яма"),
        post(2, "Яма, яма, ещё одна яма и снова яма на дороге"),
        post(
            3,
            "Где-то есть яма, а может и нет, пишут много всего разного про район",
        ),
        post(4, "Снег"),
    ]);
    let r = index.search(&SearchQuery::new("яма").limit(10)).unwrap();
    assert_eq!(r.total, 3);
    assert!(r.hits.iter().all(|h| h.score.is_some()));
    assert_eq!(
        r.hits.last().unwrap().key.id,
        3,
        "the long text with one match is last"
    );
    let newest: Vec<i64> = index
        .search(&SearchQuery::new("яма").sort(Sort::Newest))
        .unwrap()
        .hits
        .iter()
        .map(|h| h.key.id)
        .collect();
    assert_eq!(newest, [3, 2, 1]);
    let oldest: Vec<i64> = index
        .search(&SearchQuery::new("яма").sort(Sort::Oldest))
        .unwrap()
        .hits
        .iter()
        .map(|h| h.key.id)
        .collect();
    assert_eq!(oldest, [1, 2, 3]);
    // Pages are disjoint and cover everything.
    let page = |offset| {
        index
            .search(
                &SearchQuery::new("яма")
                    .sort(Sort::Newest)
                    .limit(2)
                    .offset(offset),
            )
            .unwrap()
    };
    let first = page(0);
    let second = page(2);
    assert_eq!(first.total, 3);
    assert_eq!(
        first
            .hits
            .iter()
            .chain(&second.hits)
            .map(|h| h.key.id)
            .collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert!(page(10).hits.is_empty());
    assert!(index.search(&SearchQuery::new("яма").limit(5_000)).is_err());
    // The stored document comes back whole.
    let hit = &page(0).hits[0];
    assert_eq!(
        hit.doc,
        post(
            3,
            "Где-то есть яма, а может и нет, пишут много всего разного про район"
        )
    );
}

#[test]
fn upserts_replace_and_deletes_remove() {
    let index = SearchIndex::in_ram().unwrap();
    let mut w = index.indexer(options()).unwrap();
    w.upsert(&post(1, "Яма на дороге")).unwrap();
    w.upsert(&post(2, "Нет воды")).unwrap();
    w.commit().unwrap();
    assert_eq!(found(&index, "яма"), [1]);
    // A message and a post may share an id: the key tells them apart.
    let mut message = post(1, "Нет воды в доме");
    message.kind = DocKind::Message;
    w.apply([
        Change::Upsert(post(1, "Яму заделали, спасибо")),
        Change::Upsert(message),
        Change::Delete(DocKey::post(2)),
    ])
    .unwrap();
    assert_eq!(w.pending(), 3);
    w.commit().unwrap();
    assert_eq!(index.num_docs(), 2);
    assert_eq!(found(&index, "спасибо"), [1]);
    let water = index.search(&SearchQuery::new("вода")).unwrap();
    assert_eq!(water.hits.len(), 1);
    assert_eq!(water.hits[0].key, DocKey::message(1));
    assert_eq!(
        index.get(DocKey::post(1)).unwrap().unwrap().text,
        "Яму заделали, спасибо"
    );
    assert!(index.get(DocKey::post(2)).unwrap().is_none());
}

#[test]
fn new_items_are_searchable_within_two_seconds_in_another_process_view() {
    let dir = tempfile::tempdir().unwrap();
    let writer_side = SearchIndex::open(dir.path()).unwrap();
    // A second, independent handle on the same directory (as a web server would hold).
    let reader_side = SearchIndex::open(dir.path()).unwrap();
    let mut w = writer_side.indexer(options()).unwrap();
    w.upsert(&post(1, "Старый пост")).unwrap();
    w.commit().unwrap();

    w.upsert(&post(2, "Прорвало трубу на улице Мира")).unwrap();
    let started = Instant::now();
    w.commit().unwrap();
    // The writer's own handle sees it at once.
    assert_eq!(found(&writer_side, "трубы"), [2]);
    // The other handle's reader reloads by itself on the commit.
    loop {
        if found(&reader_side, "трубы") == [2] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "not visible after 2 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_watermark_survives_a_restart_and_a_rebuild_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let wm = Watermark {
        posts: Some(FeedMark {
            changed_at: 1_000,
            id: 7,
        }),
        messages: None,
    };
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(index.watermark().unwrap(), Watermark::default());
        let mut w = index.indexer(options()).unwrap();
        w.upsert(&post(1, "Яма")).unwrap();
        w.set_watermark(wm);
        w.commit().unwrap();
        // Uncommitted work and watermark are lost with the writer.
        w.upsert(&post(2, "Яма два")).unwrap();
        w.set_watermark(Watermark::default());
        drop(w);
    }
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.watermark().unwrap(), wm);
    assert_eq!(found(&index, "яма"), [1]);
    let w = index.indexer(options()).unwrap();
    assert_eq!(w.watermark(), wm, "a new writer continues from the commit");
    // A second writer on the same directory is refused while one is open.
    assert!(index.indexer(options()).is_err());
    w.finish().unwrap();
    drop(index);

    let rebuilt = SearchIndex::rebuild_in(dir.path()).unwrap();
    assert_eq!(rebuilt.num_docs(), 0);
    assert_eq!(rebuilt.watermark().unwrap(), Watermark::default());

    // A directory with other files is not wiped.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "keep").unwrap();
    assert!(SearchIndex::rebuild_in(other.path()).is_err());
    assert!(other.path().join("notes.txt").exists());
}

#[test]
fn generated_posts_are_searchable_with_consistent_counts() {
    let docs: Vec<SearchDoc> = Generator::new(5).take(3_000).collect();
    let index = index_of(&docs);
    assert_eq!(index.num_docs(), 3_000);
    let r = index
        .search(
            &SearchQuery::new("яма")
                .facet(Facet::Category)
                .facet(Facet::Subcategory),
        )
        .unwrap();
    assert!(r.total > 200, "{}", r.total);
    // Every match has exactly one category: the counts add up to the total.
    let cat = r.facet(Facet::Category).unwrap();
    assert_eq!(
        cat.values.iter().map(|v| v.count).sum::<u64>() + cat.other,
        r.total
    );
    // And they agree with a filter.
    let roads = cat.count("roads");
    let filtered = index
        .search(
            &SearchQuery::new("яма")
                .filter(Facet::Category, "roads")
                .limit(0),
        )
        .unwrap();
    assert_eq!(filtered.total, roads);
    // The same by brute force over the generated texts, through the same analyzer.
    let brute = docs
        .iter()
        .filter(|d| otklik_text::analyze(&d.text).iter().any(|t| t == "ям"))
        .count() as u64;
    assert_eq!(r.total, brute);
}
