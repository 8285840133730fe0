//! The analyst and the replier against a temp SQLite store; the replier against a fake VK
//! API on loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router as HttpRouter;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::routing::post;
use otklik_classify::monitor::PostAnalyzer;
use otklik_domain::directory::NewSource;
use otklik_domain::{Channel, MessageStatus, Network, NewMessage, SubcategoryId, Timestamp};
use otklik_pipeline::{Analyst, AnalystSettings, Replier, ReplierSettings, VkReplySender};
use otklik_store::{NewPost, ReplyStatus, Store};

const NOW: Timestamp = Timestamp(1_741_000_000_000);

async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open_data_dir(dir.path()).await.expect("open");
    store.migrate().await.expect("migrate");
    (dir, store)
}

fn analyst(store: &Store, min_confidence: f32) -> Analyst {
    let rules = otklik_rules::RulesDir::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules"))
        .expect("rules");
    let analyzer = PostAnalyzer::from_rules(&rules).expect("analyzer");
    let router = otklik_route::Router::new(
        rules.routing(),
        rules.tree(),
        otklik_route::Directory::new(vec![], vec![]),
    )
    .expect("router");
    let config = otklik_pipeline::workflow_config(&rules, &[], min_confidence, &[]);
    let workflow =
        otklik_pipeline::build_workflow(store.clone(), &rules, router, config).expect("workflow");
    Analyst::new(
        workflow,
        analyzer,
        rules.tree().clone(),
        &[],
        AnalystSettings::default(),
    )
}

fn new_post(id: &str, text: &str) -> NewPost {
    NewPost::new(
        Network::Rss,
        id,
        text,
        NOW,
        otklik_collect::content_hash(text, &[]),
    )
}

#[tokio::test]
async fn analyst_turns_complaints_into_messages_once() {
    let (_dir, store) = temp_store().await;
    let source = store
        .add_source(
            &NewSource {
                name: "rss".into(),
                network: Network::Rss,
                target: "http://127.0.0.1:1/feed.xml".into(),
                schedule: "0 */10 * * * *".into(),
                territory_code: None,
                enabled: true,
            },
            None,
            NOW,
        )
        .await
        .expect("source");
    let posts = [
        new_post(
            "1",
            "Когда засыплют огромные ямы на дороге по улице Ленина? Колёса пробили!",
        ),
        new_post(
            "2",
            "В городе открылся новый сквер, на открытии выступили творческие коллективы.",
        ),
    ];
    store
        .store_posts(source.id, &posts, Some("c1"), NOW)
        .await
        .expect("store");
    let a = analyst(&store, 0.5);
    let report = a.run_once(NOW).await.expect("analyse");
    assert_eq!(report.analysed, 2);
    assert_eq!(report.complaints, 1, "{report:#?}");
    assert_eq!(report.messages_created, 1, "{report:#?}");
    let complaint = report
        .posts
        .iter()
        .find(|p| p.is_complaint)
        .expect("complaint");
    assert_eq!(
        complaint
            .subcategory
            .as_deref()
            .map(|s| s.starts_with("roads.")),
        Some(true)
    );
    let msg_id = complaint.message.expect("message");
    let msg = store.message(msg_id).await.expect("get").expect("exists");
    assert_eq!(msg.channel, Channel::SocialNetwork);
    assert_eq!(msg.source_post, Some(complaint.post));
    // No executor in an empty directory: it waits for a moderator, and the audit says why.
    assert_eq!(msg.status, MessageStatus::Moderation);
    assert!(complaint.in_moderation);
    let details = store
        .post_details(complaint.post)
        .await
        .expect("details")
        .expect("post");
    assert_eq!(details.message, Some(msg_id));

    // Nothing left to analyse; a re-run creates nothing.
    let again = a.run_once(NOW).await.expect("again");
    assert_eq!(again.analysed, 0);
}

/// A district with its administration: a confident complaint about it goes through the
/// workflow straight to coordination, deadlined on the calendar and audited.
#[tokio::test]
async fn confident_complaints_go_through_the_workflow_to_coordination() {
    use otklik_domain::directory::{DirectoryBatch, NewOrganisation, NewTerritory};
    use otklik_domain::{EntityKind, Onboarding, OrgKind, TerritoryKind};

    let (_dir, store) = temp_store().await;
    store
        .import_directory(
            &DirectoryBatch {
                territories: vec![NewTerritory {
                    code: "district".into(),
                    kind: TerritoryKind::MunicipalDistrict,
                    name: "Северский район".into(),
                    parent_code: None,
                    name_variants: vec![],
                }],
                organisations: vec![NewOrganisation {
                    code: "adm".into(),
                    kind: OrgKind::Omsu,
                    name: "Администрация района".into(),
                    short_name: None,
                    parent_code: None,
                    territory_code: "district".into(),
                    competences: vec![],
                    onboarding: Onboarding::default(),
                    site_url: None,
                }],
                users: vec![],
                communities: vec![],
                sources: vec![NewSource {
                    name: "rss".into(),
                    network: Network::Rss,
                    target: "http://127.0.0.1:1/feed.xml".into(),
                    schedule: "0 */10 * * * *".into(),
                    territory_code: Some("district".into()),
                    enabled: true,
                }],
            },
            None,
            NOW,
        )
        .await
        .expect("directory");
    let source = store.sources().await.expect("sources")[0].id;
    let mut post = new_post(
        "1",
        "Когда засыплют огромные ямы на дороге по улице Ленина? Колёса пробили!",
    );
    post.url = Some("https://example.invalid/post/1".into());
    post.author = Some("id42".into());
    store
        .store_posts(source, &[post], Some("c1"), NOW)
        .await
        .expect("store");

    let rules = otklik_rules::RulesDir::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules"))
        .expect("rules");
    let directory = otklik_route::Directory::new(
        store.territories().await.expect("territories"),
        store.organisations().await.expect("organisations"),
    );
    let router =
        otklik_route::Router::new(rules.routing(), rules.tree(), directory).expect("router");
    let territories = router.directory().territories().to_vec();
    let config = otklik_pipeline::workflow_config(&rules, &[], 0.0, &[]);
    let workflow =
        otklik_pipeline::build_workflow(store.clone(), &rules, router, config).expect("workflow");
    let entries = otklik_pipeline::territory_entries(&store)
        .await
        .expect("entries");
    let detector = otklik_classify::territory::TerritoryDetector::new(
        entries,
        &otklik_classify::territory::RegionDictionary::default(),
    )
    .expect("detector");
    let analyzer = PostAnalyzer::from_rules(&rules)
        .expect("analyzer")
        .with_territories(detector);
    let a = Analyst::new(
        workflow.clone(),
        analyzer,
        rules.tree().clone(),
        &territories,
        AnalystSettings::default(),
    );
    let report = a.run_once(NOW).await.expect("analyse");
    assert_eq!(report.messages_created, 1, "{report:#?}");
    assert_eq!(report.in_moderation, 0, "{report:#?}");
    let id = report.posts[0].message.expect("message");
    let record = workflow.message(id).await.expect("record");
    let adm = store
        .organisation_by_code("adm")
        .await
        .expect("get")
        .expect("adm");
    assert_eq!(record.message.executor, Some(adm.id));
    assert_eq!(record.message.status, MessageStatus::Coordination);
    assert_eq!(record.message.author_handle.as_deref(), Some("id42"));
    assert_eq!(
        record.source_url.as_deref(),
        Some("https://example.invalid/post/1")
    );
    assert!(record.message.deadline_at > NOW);
    assert!(record.deadline_clock.is_some(), "calendar deadline clock");
    let trail = store
        .audit_trail(EntityKind::Message, id.get())
        .await
        .expect("audit");
    assert!(
        trail.len() >= 2,
        "intake and automatic acceptance: {trail:#?}"
    );
}

#[derive(Clone, Default)]
struct FakeVk {
    calls: Arc<AtomicUsize>,
    guids: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn create_comment(
    State(vk): State<FakeVk>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> (StatusCode, String) {
    let n = vk.calls.fetch_add(1, Ordering::SeqCst);
    vk.guids
        .lock()
        .expect("lock")
        .push(form.get("guid").cloned().unwrap_or_default());
    assert_eq!(form.get("owner_id").map(String::as_str), Some("-123"));
    assert_eq!(form.get("post_id").map(String::as_str), Some("456"));
    if n == 0 {
        (StatusCode::INTERNAL_SERVER_ERROR, "oops".into())
    } else {
        (StatusCode::OK, r#"{"response":{"comment_id":77}}"#.into())
    }
}

#[tokio::test]
async fn replier_retries_after_500_and_never_sends_twice() {
    let vk = FakeVk::default();
    let app = HttpRouter::new()
        .route("/method/wall.createComment", post(create_comment))
        .with_state(vk.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let (_dir, store) = temp_store().await;
    let msg = store
        .create_message(
            &NewMessage {
                channel: Channel::SocialNetwork,
                subcategory: SubcategoryId("roads.potholes".into()),
                territory: None,
                executor: None,
                submitted_via: None,
                author: None,
                author_handle: None,
                source_post: None,
                text: "Яма".into(),
                address: None,
                confidence_pm: None,
                deadline_at: NOW.plus_days(30),
            },
            Some("t"),
            None,
            NOW,
        )
        .await
        .expect("message");
    let reply = store
        .enqueue_reply(
            msg.id,
            Network::Vk,
            "-123_456",
            "Яму заделают до пятницы.",
            "reply:1",
            NOW,
        )
        .await
        .expect("enqueue");

    let sender = VkReplySender::new(format!("http://{addr}/method/"), "token").expect("sender");
    let replier = Replier::new(
        store.clone(),
        Arc::new(sender),
        ReplierSettings {
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(60),
            ..ReplierSettings::default()
        },
    );
    let r = replier.run_once(NOW).await.expect("first");
    assert_eq!((r.delivered, r.retrying), (0, 1));
    let after = store.reply(reply.id).await.expect("get").expect("reply");
    assert_eq!(after.status, ReplyStatus::Pending, "not lost");
    assert!(after.next_attempt_at > NOW);
    assert!(
        after
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("500"))
    );
    // Not due yet: nothing sent.
    let r = replier.run_once(NOW).await.expect("not due");
    assert_eq!((r.delivered, r.retrying), (0, 0));
    assert_eq!(vk.calls.load(Ordering::SeqCst), 1);

    let later = Timestamp(NOW.millis() + 120_000);
    let r = replier.run_once(later).await.expect("second");
    assert_eq!(r.delivered, 1);
    let done = store.reply(reply.id).await.expect("get").expect("reply");
    assert_eq!(done.status, ReplyStatus::Delivered);
    assert_eq!(done.remote_id.as_deref(), Some("77"));

    let much_later = Timestamp(NOW.millis() + 3_600_000);
    let r = replier.run_once(much_later).await.expect("third");
    assert_eq!(r.delivered, 0);
    assert_eq!(
        vk.calls.load(Ordering::SeqCst),
        2,
        "delivered once, never again"
    );
    let guids = vk.guids.lock().expect("lock").clone();
    assert_eq!(guids, ["reply:1", "reply:1"], "the same guid on the retry");
}
