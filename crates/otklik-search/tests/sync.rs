//! The index follows the store: incremental sync from the watermark, restarts, late commits,
//! deletions, classification, messages, rebuilds. On SQLite (the feeds themselves are tested
//! on both backends in otklik-store's suite).

#![allow(clippy::unwrap_used)]

use otklik_domain::directory::{DirectoryBatch, NewOrganisation, NewSource, NewTerritory};
use otklik_domain::{
    CategoryId, Channel, Network, NewMessage, Onboarding, OrgKind, SourceId, SubcategoryId,
    TerritoryKind, Timestamp, Transition,
};
use otklik_search::sync::{SyncOptions, rebuild, sync};
use otklik_search::{DocKey, Facet, IndexerOptions, SearchIndex, SearchQuery};
use otklik_store::{Classification, MessageChange, NewPost, PostKind, Store, sqlite_url};

const NOW: Timestamp = Timestamp(1_792_022_400_000);

fn options() -> IndexerOptions {
    IndexerOptions {
        threads: 1,
        heap_bytes: 20_000_000,
    }
}

async fn store(dir: &std::path::Path) -> (Store, SourceId) {
    let store = Store::connect(&sqlite_url(&dir.join("otklik.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let batch = DirectoryBatch {
        territories: vec![NewTerritory {
            code: "region".into(),
            kind: TerritoryKind::Region,
            name: "Северная область".into(),
            parent_code: None,
            name_variants: vec![],
        }],
        organisations: vec![NewOrganisation {
            code: "mintrans".into(),
            kind: OrgKind::Roiv,
            name: "Минтранс".into(),
            short_name: None,
            parent_code: None,
            territory_code: "region".into(),
            competences: vec![CategoryId("roads".into())],
            onboarding: Onboarding::default(),
            site_url: None,
        }],
        users: vec![],
        communities: vec![],
        sources: vec![NewSource {
            name: "vk-wall".into(),
            network: Network::Vk,
            target: "club1".into(),
            schedule: "0 */10 * * * *".into(),
            territory_code: Some("region".into()),
            enabled: true,
        }],
    };
    store.import_directory(&batch, None, NOW).await.unwrap();
    let source = store.source_by_name("vk-wall").await.unwrap().unwrap().id;
    (store, source)
}

fn post(id: &str, text: &str) -> NewPost {
    NewPost::new(Network::Vk, id, text, NOW, format!("h:{text}"))
}

fn at(ms: i64) -> Timestamp {
    Timestamp(NOW.millis() + ms)
}

fn hits(index: &SearchIndex, text: &str) -> Vec<DocKey> {
    let mut keys: Vec<DocKey> = index
        .search(&SearchQuery::new(text).limit(100))
        .unwrap()
        .hits
        .iter()
        .map(|h| h.key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_follows_posts_messages_and_deletions_and_resumes_after_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, source) = store(tmp.path()).await;
    let index_dir = tmp.path().join("search");
    store
        .store_posts(
            source,
            &[post("1", "Яма на дороге"), post("2", "Нет горячей воды")],
            None,
            at(0),
        )
        .await
        .unwrap();
    let pothole = store
        .post_by_external_id(Network::Vk, "1")
        .await
        .unwrap()
        .unwrap();
    let water = store
        .post_by_external_id(Network::Vk, "2")
        .await
        .unwrap()
        .unwrap();

    let index = SearchIndex::open(&index_dir).unwrap();
    let mut indexer = index.indexer(options()).unwrap();
    let report = sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!((report.posts, report.messages), (2, 0));
    assert_eq!(hits(&index, "ямы"), [DocKey::post(pothole.id.get())]);
    assert_eq!(index.watermark().unwrap(), report.watermark);
    assert_eq!(report.watermark.posts.unwrap().changed_at, at(0).millis());

    // A classification, a deletion and a message, later.
    store
        .record_classification(
            pothole.id,
            &Classification {
                kind: PostKind::Complaint,
                is_complaint: true,
                subcategory: Some(SubcategoryId("roads.potholes".into())),
                confidence_pm: Some(900),
                territory: None,
                classified_at: at(60_000),
            },
            None,
        )
        .await
        .unwrap();
    store
        .mark_post_deleted(Network::Vk, "2", at(61_000))
        .await
        .unwrap();
    let new = NewMessage {
        channel: Channel::Widget,
        subcategory: SubcategoryId("roads.potholes".into()),
        territory: None,
        executor: None,
        submitted_via: None,
        author: None,
        author_handle: None,
        source_post: Some(pothole.id),
        text: "Яма у школы".into(),
        address: Some("улица Ленина, 5".into()),
        confidence_pm: None,
        deadline_at: at(30 * 86_400_000),
    };
    let message = store
        .create_message(&new, None, None, at(62_000))
        .await
        .unwrap();

    // A restart: the writer and the index are dropped and opened again.
    indexer.finish().unwrap();
    drop(index);
    let index = SearchIndex::open(&index_dir).unwrap();
    let mut indexer = index.indexer(options()).unwrap();
    let report = sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    // Only what changed after the watermark (minus the overlap) was read.
    assert_eq!((report.posts, report.deleted, report.messages), (1, 1, 1));
    assert!(
        hits(&index, "горячая вода").is_empty(),
        "the deleted post left the index"
    );
    assert!(index.get(DocKey::post(water.id.get())).unwrap().is_none());
    assert_eq!(
        hits(&index, "яма"),
        [
            DocKey::message(message.id.get()),
            DocKey::post(pothole.id.get())
        ]
    );
    // The message's address is searchable, its facets filled in.
    assert_eq!(hits(&index, "Ленина"), [DocKey::message(message.id.get())]);
    let r = index
        .search(
            &SearchQuery::new("яма")
                .facet(Facet::Category)
                .facet(Facet::Status)
                .facet(Facet::Network)
                .facet(Facet::Kind),
        )
        .unwrap();
    assert_eq!(r.facet(Facet::Category).unwrap().count("roads"), 2);
    let status = r.facet(Facet::Status).unwrap();
    assert_eq!(
        (status.count("complaint"), status.count("moderation")),
        (1, 1)
    );
    assert_eq!(r.facet(Facet::Network).unwrap().count("vk"), 2);

    // A workflow step reindexes the message with its new status.
    store
        .transition_message(
            message.id,
            message.version,
            Transition::Accept,
            MessageChange::default(),
            None,
            at(120_000),
        )
        .await
        .unwrap();
    let report = sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(report.messages, 1);
    let r = index
        .search(
            &SearchQuery::new("")
                .filter(Facet::Kind, "message")
                .facet(Facet::Status),
        )
        .unwrap();
    assert_eq!(r.facet(Facet::Status).unwrap().count("moderation"), 0);
    assert_eq!(r.total, 1);

    // A rebuild from scratch gives the same documents and a watermark at the store's head.
    indexer.finish().unwrap();
    drop(index);
    let (rebuilt, report) = rebuild(&store, &index_dir, options(), SyncOptions::default())
        .await
        .unwrap();
    assert_eq!((report.posts, report.messages), (1, 1));
    assert_eq!(rebuilt.num_docs(), 2);
    assert_eq!(
        report.watermark.messages.unwrap().changed_at,
        at(120_000).millis()
    );
    assert_eq!(rebuilt.watermark().unwrap(), report.watermark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_commit_behind_the_watermark_is_caught_by_the_overlap() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, source) = store(tmp.path()).await;
    let index = SearchIndex::in_ram().unwrap();
    let mut indexer = index.indexer(options()).unwrap();
    store
        .store_posts(source, &[post("1", "Сугробы во дворе")], None, at(10_000))
        .await
        .unwrap();
    sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    // Another writer's transaction commits now, stamped 2 s before the watermark.
    store
        .store_posts(source, &[post("2", "Сугробы у школы")], None, at(8_000))
        .await
        .unwrap();
    let no_overlap = SyncOptions {
        overlap_ms: 0,
        ..SyncOptions::default()
    };
    let report = sync(&store, &mut indexer, no_overlap).await.unwrap();
    assert_eq!(report.posts, 1, "only the row at the watermark is re-read");
    assert_eq!(
        hits(&index, "сугробы").len(),
        1,
        "missed without the overlap"
    );
    sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(hits(&index, "сугробы").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_change_is_searchable_within_two_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, source) = store(tmp.path()).await;
    let index = SearchIndex::open(tmp.path().join("search")).unwrap();
    let mut indexer = index.indexer(options()).unwrap();
    sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    store
        .store_posts(
            source,
            &[post("9", "Прорвало трубу отопления")],
            None,
            at(0),
        )
        .await
        .unwrap();
    sync(&store, &mut indexer, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(hits(&index, "трубы").len(), 1);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
