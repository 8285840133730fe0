//! The store readers: messages paged, directory and registry read, names resolved.

use otklik_calendar::Calendar;
use otklik_domain::directory::{
    DirectoryBatch, NewCommunity, NewOrganisation, NewTerritory, NewUser,
};
use otklik_domain::{
    Channel, MessageStatus, Network, NewMessage, Onboarding, OrgKind, SubcategoryId, TerritoryKind,
    Timestamp, Transition, Verification,
};
use otklik_reports::deadlines::{deadlines, late_answers};
use otklik_reports::gospabliki::{CoverageBy, gospabliki};
use otklik_reports::onboarding::onboarding;
use otklik_reports::satisfaction::{SatisfactionBy, satisfaction};
use otklik_reports::volumes::{Dimension, volumes};
use otklik_reports::{Cell, Names, Period, Scope, ZoneThresholds};
use otklik_store::{MessageChange, Store};

both_backends!(
    reports_read_the_store,
    directory_reports,
    scoped_reports_keep_their_organisations
);

/// Monday 2026-10-12 09:00 Moscow.
pub const MON: i64 = 1_791_784_800_000;
pub const DAY: i64 = 86_400_000;

fn org(code: &str, kind: OrgKind, name: &str, flags: (bool, bool, bool)) -> NewOrganisation {
    NewOrganisation {
        code: code.into(),
        kind,
        name: name.into(),
        short_name: None,
        parent_code: None,
        territory_code: "region".into(),
        competences: vec![],
        onboarding: Onboarding {
            account_ready: flags.0,
            training_done: flags.1,
            widget_installed: flags.2,
        },
        site_url: None,
    }
}

fn user(login: &str, org: &str, confirmed: bool) -> NewUser {
    NewUser {
        login: login.into(),
        full_name: login.into(),
        email: None,
        organisation_code: Some(org.into()),
        confirmed,
        roles: vec![],
    }
}

fn page(network: Network, id: &str, org: &str, v: Verification) -> NewCommunity {
    NewCommunity {
        network,
        external_id: id.into(),
        url: format!("https://example.ru/{id}"),
        title: id.into(),
        organisation_code: org.into(),
        verification: v,
    }
}

pub async fn directory(store: &Store) {
    let batch = DirectoryBatch {
        territories: vec![NewTerritory {
            code: "region".into(),
            kind: TerritoryKind::Region,
            name: "Северная область".into(),
            parent_code: None,
            name_variants: vec![],
        }],
        organisations: vec![
            org(
                "minzdrav",
                OrgKind::Roiv,
                "Минздрав области",
                (true, true, true),
            ),
            org(
                "mintrans",
                OrgKind::Roiv,
                "Минтранс области",
                (true, false, true),
            ),
            org(
                "adm",
                OrgKind::Omsu,
                "Администрация района",
                (false, false, false),
            ),
        ],
        users: vec![
            user("a", "minzdrav", true),
            user("b", "mintrans", true),
            user("c", "mintrans", false),
        ],
        communities: vec![
            page(Network::Vk, "minzdrav", "minzdrav", Verification::Verified),
            page(
                Network::Ok,
                "minzdrav_ok",
                "minzdrav",
                Verification::Verified,
            ),
            page(Network::Vk, "mintrans", "mintrans", Verification::Pending),
        ],
        sources: vec![],
    };
    store
        .import_directory(&batch, None, Timestamp(MON))
        .await
        .unwrap();
}

async fn message(store: &Store, executor: &str, sub: &str, at: i64, deadline_days: i64) -> i64 {
    let org = store.organisation_by_code(executor).await.unwrap().unwrap();
    let new = NewMessage {
        channel: Channel::Portal,
        subcategory: SubcategoryId(sub.into()),
        territory: None,
        executor: Some(org.id),
        submitted_via: None,
        author: None,
        author_handle: None,
        source_post: None,
        text: "Яма на дороге".into(),
        address: None,
        confidence_pm: None,
        deadline_at: Timestamp(at + deadline_days * DAY),
    };
    store
        .create_message(&new, None, None, Timestamp(at))
        .await
        .unwrap()
        .id
        .get()
}

/// Moves a message to answered at `at` (and rated when `rating`).
async fn answer(store: &Store, id: i64, at: i64, rating: Option<i64>) {
    let id = otklik_domain::MessageId(id);
    let mut m = store.message(id).await.unwrap().unwrap();
    for t in [
        Transition::Accept,
        Transition::SendToExecution,
        Transition::SubmitForApproval,
        Transition::Approve,
    ] {
        m = store
            .transition_message(
                id,
                m.version,
                t,
                MessageChange::default(),
                None,
                Timestamp(at),
            )
            .await
            .unwrap();
    }
    sqlx::query("UPDATE messages SET answered_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id.get())
        .execute(store.pool())
        .await
        .unwrap();
    if let Some(r) = rating {
        let change = MessageChange {
            rating: Some(r),
            ..MessageChange::default()
        };
        m = store
            .transition_message(id, m.version, Transition::Rate, change, None, Timestamp(at))
            .await
            .unwrap();
        assert_eq!(m.status, MessageStatus::Rated);
    }
}

async fn reports_read_the_store(store: Store) {
    directory(&store).await;
    // Minzdrav: on time (rated 5), late (rated 2); Mintrans: overdue, open in time.
    let a = message(&store, "minzdrav", "health.appointments", MON, 5).await;
    answer(&store, a, MON + 2 * DAY, Some(5)).await;
    let b = message(&store, "minzdrav", "health.appointments", MON, 5).await;
    answer(&store, b, MON + 7 * DAY, Some(2)).await;
    let c = message(&store, "mintrans", "roads.potholes", MON, 3).await;
    message(&store, "mintrans", "roads.potholes", MON + DAY, 30).await;
    // September: outside the October period.
    message(&store, "mintrans", "roads.potholes", MON - 30 * DAY, 3).await;
    let cal = Calendar::embedded();
    let oct = Period::month("2026-10").unwrap();
    let now = Timestamp(MON + 10 * DAY);
    let names = Names::load(&store, None).await.unwrap();
    let mut pages = Vec::new();
    let r = deadlines(&store, &cal, oct, now, &mut |n| pages.push(n))
        .await
        .unwrap();
    assert_eq!(pages, vec![4], "one short page of the 4 October messages");
    assert_eq!(r.total.messages, 4);
    assert_eq!(
        (r.total.on_time, r.total.late, r.total.overdue, r.total.open),
        (1, 1, 1, 1)
    );
    let t = r.table(&names);
    assert_eq!(t.rows[0][0], Cell::text("Минздрав области"));
    assert_eq!(t.rows[0][9].display(), "50.0");
    assert_eq!(t.rows[0][11].display(), "3.5", "2 and 5 working days");
    assert_eq!(t.rows[1][0], Cell::text("Минтранс области"));
    assert_eq!(t.rows[1][10], Cell::text("красная"));
    let late = late_answers(&store, &cal, oct, now, &mut |_| ())
        .await
        .unwrap();
    let ids: Vec<i64> = late.messages.iter().map(|m| m.id.get()).collect();
    assert_eq!(ids, vec![b, c]);
    let all = late_answers(&store, &cal, Period::ALL, now, &mut |_| ())
        .await
        .unwrap();
    assert_eq!(all.messages.len(), 3, "September's overdue one too");

    let s = satisfaction(&store, SatisfactionBy::Organisation, oct, &mut |_| ())
        .await
        .unwrap();
    let t = s.table(&names);
    assert_eq!(t.rows[0][0], Cell::text("Минздрав области"));
    assert_eq!(t.rows[0][2], Cell::Int(2));
    assert_eq!(t.rows[0][3].display(), "3.50");
    let v = volumes(&store, &[Dimension::Category], oct, &mut |_| ())
        .await
        .unwrap();
    let csv = v.table(&names).to_csv();
    assert!(csv.contains("\r\nhealth,2,2,3.50,0,1,0,0,1\r\n"), "{csv}");
    assert!(csv.contains("\r\nroads,2,0,,0,0,0,0,0\r\n"), "{csv}");
    assert!(csv.ends_with("Итого,4,2,3.50,0,1,0,0,1\r\n"), "{csv}");
}

async fn directory_reports(store: Store) {
    directory(&store).await;
    let names = Names::load(&store, None).await.unwrap();
    let r = onboarding(&store, ZoneThresholds::default()).await.unwrap();
    let roiv = &r.rows[0];
    assert_eq!(roiv.kind, Some(OrgKind::Roiv));
    // Account 100, training 50, widget 100, all users confirmed 50 → 75: yellow.
    assert_eq!(roiv.readiness(), Some(75.0));
    assert_eq!(roiv.confirmed_users, 2);
    let t = r.table();
    assert_eq!(t.rows[0][12], Cell::text("жёлтая"));
    assert_eq!(t.rows[1][12], Cell::text("красная"));
    let p = r.pending_table(&names);
    assert_eq!(p.rows.len(), 2);
    assert_eq!(p.rows[0][1], Cell::text("Минтранс области"));

    // Minzdrav has both pages, verified; Mintrans VK only; the district none.
    let now = Timestamp(MON);
    let g = gospabliki(&store, CoverageBy::Kind, now, 30, ZoneThresholds::default())
        .await
        .unwrap();
    let roiv = &g.rows[0];
    assert_eq!(
        (
            roiv.organisations,
            roiv.vk,
            roiv.ok,
            roiv.both,
            roiv.verified
        ),
        (2, 2, 1, 1, 1)
    );
    assert_eq!(roiv.active, 0, "no posts seen");
    let minzdrav = store
        .organisation_by_code("minzdrav")
        .await
        .unwrap()
        .unwrap();
    let page = store.communities_of(minzdrav.id).await.unwrap()[0]
        .community
        .id;
    store
        .update_community_activity(page, Timestamp(MON - 2 * DAY))
        .await
        .unwrap();
    let g = gospabliki(
        &store,
        CoverageBy::Territory,
        now,
        30,
        ZoneThresholds::default(),
    )
    .await
    .unwrap();
    assert_eq!(g.total.active, 1);
    let t = g.table(&names);
    assert_eq!(t.rows[0][0], Cell::text("Северная область"));
    assert_eq!(g.missing_table(&names).rows.len(), 2);
}

/// A report limited to one organisation counts only its messages, organisations and pages.
async fn scoped_reports_keep_their_organisations(store: Store) {
    directory(&store).await;
    let a = message(&store, "minzdrav", "health.appointments", MON, 5).await;
    answer(&store, a, MON + 7 * DAY, Some(2)).await;
    message(&store, "mintrans", "roads.potholes", MON, 3).await;
    message(&store, "mintrans", "roads.potholes", MON, 3).await;
    let mintrans = store
        .organisation_by_code("mintrans")
        .await
        .unwrap()
        .unwrap();
    let scope = Scope::organisations([mintrans.id]);
    let cal = Calendar::embedded();
    let oct = Period::month("2026-10").unwrap();
    let now = Timestamp(MON + 10 * DAY);
    let names = Names::load(&store, None).await.unwrap();

    let r = otklik_reports::deadlines::deadlines_in(&store, &cal, oct, now, &scope, &mut |_| ())
        .await
        .unwrap();
    assert_eq!(r.total.messages, 2);
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].executor, Some(mintrans.id));
    let all = deadlines(&store, &cal, oct, now, &mut |_| ())
        .await
        .unwrap();
    assert_eq!(all.total.messages, 3);

    let late =
        otklik_reports::deadlines::late_answers_in(&store, &cal, oct, now, &scope, &mut |_| ())
            .await
            .unwrap();
    assert_eq!(
        late.messages.len(),
        2,
        "the two overdue ones, not minzdrav's late one"
    );
    assert!(
        late.messages
            .iter()
            .all(|m| m.executor == Some(mintrans.id))
    );

    let v = otklik_reports::volumes::volumes_in(
        &store,
        &[Dimension::Executor],
        oct,
        &scope,
        &mut |_| (),
    )
    .await
    .unwrap();
    let csv = v.table(&names).to_csv();
    assert!(csv.contains("Минтранс области,2,"), "{csv}");
    assert!(!csv.contains("Минздрав"), "{csv}");

    let s = otklik_reports::satisfaction::satisfaction_in(
        &store,
        SatisfactionBy::Organisation,
        oct,
        &scope,
        &mut |_| (),
    )
    .await
    .unwrap();
    assert_eq!(s.volumes.total.rated, 0, "minzdrav's rating is outside");

    let o = otklik_reports::onboarding::onboarding_in(&store, ZoneThresholds::default(), &scope)
        .await
        .unwrap();
    assert_eq!(o.total.organisations, 1);
    assert_eq!(o.total.users, 2, "mintrans's two users");
    let g = otklik_reports::gospabliki::gospabliki_in(
        &store,
        CoverageBy::Kind,
        now,
        30,
        ZoneThresholds::default(),
        &scope,
    )
    .await
    .unwrap();
    assert_eq!((g.total.organisations, g.total.vk, g.total.ok), (1, 1, 0));
    assert!(
        g.missing_table(&names)
            .to_csv()
            .contains("Минтранс области")
    );
    assert!(
        !g.missing_table(&names)
            .to_csv()
            .contains("Администрация района")
    );
}
