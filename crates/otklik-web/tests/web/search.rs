//! The archive search page: stemmed words, highlighted and escaped snippets, facet counts by
//! name, links to message cards and source posts, filters, and the same organisation scope as
//! the reports.

use std::sync::Arc;

use otklik_domain::{Channel, MessageId, SubcategoryId};
use otklik_search::sync::{SyncOptions, sync};
use otklik_search::{IndexerOptions, SearchIndex};
use otklik_store::{Store, sqlite_url};
use otklik_web::auth::hash_password;
use otklik_web::{AppState, ServerInfo};
use otklik_workflow::{Submission, Workflow};
use reqwest::StatusCode;

use crate::support::{
    Browser, PASSWORD, ROADS, RegionWorkflow, now, region_batch, region_workflow, server,
    store_vk_post,
};

/// The test region's server with an archive index (synced by hand with [`SearchServer::sync`]).
struct SearchServer {
    base: String,
    store: Store,
    wf: Arc<Workflow>,
    territories: std::collections::HashMap<String, otklik_domain::TerritoryId>,
    orgs: std::collections::HashMap<String, otklik_domain::OrganisationId>,
    index: SearchIndex,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn search_server() -> SearchServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir.path().join("otklik.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let t0 = now();
    store
        .import_directory(&region_batch(), None, t0)
        .await
        .unwrap();
    let hash = hash_password(PASSWORD).unwrap();
    for u in store.users().await.unwrap() {
        store
            .set_password_hash(u.id, Some(&hash), None, t0)
            .await
            .unwrap();
    }
    let RegionWorkflow {
        workflow,
        tree,
        reasons,
        orgs,
        territories,
    } = region_workflow(&store).await;
    let wf = Arc::new(workflow);
    let index = SearchIndex::open(dir.path().join("search")).unwrap();
    let info = ServerInfo {
        region: Some("Тестовая область".into()),
        tree,
        ..ServerInfo::default()
    };
    let state = AppState::new(store.clone(), info)
        .unwrap()
        .with_workflow(wf.clone())
        .with_reject_reasons(reasons)
        .with_search(index.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        otklik_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    SearchServer {
        base,
        store,
        wf,
        territories,
        orgs,
        index,
        _shutdown: tx,
        _dir: dir,
    }
}

impl SearchServer {
    async fn submit(&self, text: &str, town: &str) -> MessageId {
        let citizen = self.store.user_by_login("citizen").await.unwrap().unwrap();
        let s = Submission {
            channel: Channel::Portal,
            text: text.into(),
            category_hint: Some(SubcategoryId(ROADS.into())),
            territory: Some(self.territories[town]),
            address: None,
            submitted_via: None,
            author: Some(citizen.id),
            contact: None,
            attachments: vec![],
        };
        let key = format!("search-{}-{}", town, text.len());
        self.wf
            .submit(&s, &key, now())
            .await
            .unwrap()
            .record
            .message
            .id
    }

    /// A collected post of the region-wide VK search (no organisation).
    async fn post(&self, external_id: &str, text: &str) {
        store_vk_post(&self.store, external_id, text, now()).await;
    }

    async fn sync(&self) {
        let mut ix = self
            .index
            .indexer(IndexerOptions {
                threads: 1,
                heap_bytes: 20 << 20,
            })
            .unwrap();
        sync(&self.store, &mut ix, SyncOptions::default())
            .await
            .unwrap();
        ix.finish().unwrap();
    }

    async fn signed_in(&self, login: &str) -> Browser {
        let mut b = Browser::new(&self.base);
        assert_eq!(
            b.login(login, PASSWORD).await,
            StatusCode::SEE_OTHER,
            "sign-in of {login}"
        );
        b
    }
}

/// adm1: a pothole with markup in its text; adm2: a pothole in a yard; a VK post.
async fn archive() -> (SearchServer, MessageId, MessageId) {
    let s = search_server().await;
    let a = s
        .submit(
            "Огромная яма <script>alert('x')</script> на улице Ленина & рядом",
            "town1",
        )
        .await;
    let b = s
        .submit("Яма во дворе дома второго района", "district2")
        .await;
    s.post("-1_77", "Опять ямы на трассе, колёса пробиты").await;
    s.sync().await;
    (s, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_shows_escaped_snippets_named_facets_and_links() {
    let (s, a, b) = archive().await;
    let mut curator = s.signed_in("curator").await; // the ЦУР: the whole region
    let p = curator.get("/office/search?q=%D1%8F%D0%BC%D1%8B").await; // «ямы»
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let body = &p.body;
    assert!(body.contains("Найдено: 3 "), "any word form: {body}");
    // Snippets: the markup of the text escaped, only the matches marked.
    assert!(!body.contains("<script>alert"), "XSS in a snippet: {body}");
    assert!(body.contains("&lt;script&gt;alert("), "{body}");
    assert!(body.contains("<mark>яма</mark>"), "{body}");
    assert!(body.contains("&amp; рядом"));
    // Links: message cards and the source post.
    assert!(body.contains(&format!("href=\"/office/messages/{a}\"")));
    assert!(body.contains(&format!("href=\"/office/messages/{b}\"")));
    assert!(body.contains("href=\"https://vk.com/wall-1_77\""), "{body}");
    // Facets by name: kinds, categories, subcategories, territories, organisations, networks,
    // statuses in Russian.
    for name in [
        "сообщение",
        "публикация",
        "Автомобильные дороги",
        "Территория town1",
        "Территория district2",
        "Организация adm1",
        "Организация adm2",
        "ВКонтакте",
        "На модерации",
    ] {
        assert!(
            body.contains(&format!(">{name}</a>")),
            "facet {name}: {body}"
        );
    }
    assert!(!body.contains("Территория №") && !body.contains("Организация №"));
    let adm1 = s.orgs["adm1"].get();
    assert!(
        body.contains(&format!("organisation={adm1}")),
        "facet links filter by the value"
    );
    assert!(
        body.contains("href=\"/office/search\">Поиск по архиву</a>"),
        "navigation"
    );

    // Filters: territory by code (with everything inside), organisation, kind, period, sort.
    let p = curator
        .get("/office/search?q=яма&territory=district2")
        .await;
    assert!(p.body.contains("Найдено: 1 "), "{}", p.body);
    assert!(
        p.body.contains("Территория: Территория district2"),
        "the chip shows the name"
    );
    let p = curator
        .get(&format!("/office/search?q=яма&organisation={adm1}"))
        .await;
    assert!(p.body.contains("Найдено: 1 ") && p.body.contains("Ленина"));
    let p = curator.get("/office/search?q=яма&kind=post").await;
    assert!(p.body.contains("Найдено: 1 ") && p.body.contains("трассе"));
    let m = otklik_search::month_of(now().millis());
    let p = curator
        .get(&format!("/office/search?q=яма&period={m}"))
        .await;
    assert!(p.body.contains("Найдено: 3 "));
    let p = curator.get("/office/search?q=яма&period=2001-01").await;
    assert!(p.body.contains("Найдено: 0 "));
    let p = curator.get("/office/search?q=яма&sort=date").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("<option value=\"date\" selected>"));
    // An empty query browses everything.
    let p = curator.get("/office/search").await;
    assert!(p.body.contains("Найдено: 3 "), "{}", p.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_is_limited_to_the_users_organisations() {
    let (s, a, b) = archive().await;
    for login in ["head-adm1", "executor-adm1", "moderator-adm1"] {
        let mut u = s.signed_in(login).await;
        let p = u.get("/office/search?q=яма").await;
        assert_eq!(p.status, StatusCode::OK, "{login}");
        assert!(p.body.contains("Найдено: 1 "), "{login}: {}", p.body);
        assert!(p.body.contains(&format!("/office/messages/{a}")), "{login}");
        assert!(
            !p.body.contains(&format!("/office/messages/{b}")),
            "{login}"
        );
        assert!(!p.body.contains("второго района"), "{login}");
        assert!(
            !p.body.contains("Организация adm2"),
            "{login}: no foreign facet"
        );
        // Asking for the foreign organisation finds nothing.
        let adm2 = s.orgs["adm2"].get();
        let p = u
            .get(&format!("/office/search?q=яма&organisation={adm2}"))
            .await;
        assert!(p.body.contains("Найдено: 0 "), "{login}");
    }
    // The regional administrator sees everything.
    let mut admin = s.signed_in("admin").await;
    let p = admin.get("/office/search?q=яма").await;
    assert!(p.body.contains("Найдено: 3 "), "{}", p.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_index_the_page_says_so() {
    let s = server().await;
    let mut curator = s.signed_in("curator").await;
    let p = curator.get("/office/search?q=яма").await;
    assert_eq!(p.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(p.body.contains("Поиск недоступен"));
}
