//! Directory imports, reads, onboarding, confirmation, counts.

use otklik_domain::directory::{DirectoryBatch, NewSource};
use otklik_domain::{
    EntityKind, MessageStatus, Network, Onboarding, OrgKind, Role, RoleGrant, TerritoryKind, UserId,
};
use otklik_store::{KindSummary, Store, StoreError};

use crate::fixtures::{NOW, org_id, organisation, region_batch, territory, user, with_region};
use crate::harness::snapshot;

both_backends!(
    import_creates_and_reads_back,
    import_is_all_or_nothing,
    import_upserts_update_in_place,
    import_resolves_codes_already_stored,
    onboarding_and_confirmation_are_audited,
    counts_cover_directory_and_messages,
);

async fn import_creates_and_reads_back(store: Store) {
    let sum = store
        .import_directory(&region_batch(), Some(UserId(77)), NOW)
        .await
        .unwrap();
    let created = |n| KindSummary {
        created: n,
        updated: 0,
        unchanged: 0,
    };
    assert_eq!(sum.territories, created(3));
    assert_eq!(sum.organisations, created(3));
    assert_eq!(sum.users, created(3));
    assert_eq!(sum.communities, created(1));
    assert_eq!(sum.sources, created(1));
    assert_eq!(sum.created(), 11);
    assert!(
        sum.to_string()
            .starts_with("territories: 3 new, 0 updated, 0 unchanged; organisations:")
    );

    let territories = store.territories().await.unwrap();
    assert_eq!(territories.len(), 3);
    let region = store.territory_by_code("region").await.unwrap().unwrap();
    let district = store.territory_by_code("district").await.unwrap().unwrap();
    let town = store.territory_by_code("town").await.unwrap().unwrap();
    assert_eq!(region.kind, TerritoryKind::Region);
    assert_eq!(region.parent, None);
    assert_eq!(district.parent, Some(region.id));
    assert_eq!(town.parent, Some(district.id));
    assert_eq!(town.name_variants, vec!["town-alias".to_owned()]);
    assert!(store.territory_by_code("nowhere").await.unwrap().is_none());

    let adm = store
        .organisation_by_code("district-adm")
        .await
        .unwrap()
        .unwrap();
    let school = store
        .organisation_by_code("school-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(school.parent, Some(adm.id));
    assert_eq!(school.territory, town.id);
    assert_eq!(school.kind, OrgKind::Institution);
    assert_eq!(school.short_name.as_deref(), Some("SCHOOL-1"));
    assert_eq!(school.competences.len(), 2);
    assert_eq!(
        store.organisation(school.id).await.unwrap(),
        Some(school.clone())
    );
    assert_eq!(store.organisations().await.unwrap().len(), 3);

    let minzdrav = store
        .organisation_by_code("minzdrav")
        .await
        .unwrap()
        .unwrap();
    let moderator = store.user_by_login("moderator").await.unwrap().unwrap();
    assert_eq!(moderator.organisation, Some(minzdrav.id));
    assert!(moderator.has_role_in(Role::Moderator, minzdrav.id));
    assert!(moderator.has_role_in(Role::Analyst, minzdrav.id));
    assert_eq!(moderator.roles.len(), 2);
    assert!(!moderator.confirmed);
    let citizen = store.user_by_login("citizen").await.unwrap().unwrap();
    assert_eq!(citizen.organisation, None);
    assert!(citizen.roles.is_empty());
    assert_eq!(
        store.user(moderator.id).await.unwrap(),
        Some(moderator.clone())
    );
    let users = store.users().await.unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(
        users.iter().find(|u| u.login == "moderator"),
        Some(&moderator)
    );

    let communities = store.communities().await.unwrap();
    assert_eq!(communities.len(), 1);
    assert_eq!(communities[0].organisation, minzdrav.id);
    let sources = store.sources().await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].territory, Some(region.id));
    assert!(sources[0].enabled);
    assert_eq!(
        store.source_by_name("vk-minzdrav-wall").await.unwrap(),
        Some(sources[0].clone())
    );

    let trail = store.audit_trail(EntityKind::Import, 0).await.unwrap();
    assert_eq!(trail.len(), 1, "one audit event per import");
    assert_eq!(trail[0].event.actor, Some(UserId(77)));
    assert_eq!(trail[0].event.action, "import");
    let detail: serde_json::Value = serde_json::from_str(&trail[0].event.detail).unwrap();
    assert_eq!(detail["summary"]["organisations"]["created"], 3);
    assert_eq!(detail["records"], 11);
}

async fn import_is_all_or_nothing(store: Store) {
    // A batch whose LAST record refers to an unknown territory writes nothing at all.
    let mut batch = region_batch();
    batch.sources.push(NewSource {
        name: "rss-nowhere".into(),
        network: Network::Rss,
        target: "https://example.ru/feed".into(),
        schedule: "0 0 * * * *".into(),
        territory_code: Some("nowhere".into()),
        enabled: true,
    });
    let before = snapshot(&store).await;
    let err = store.import_directory(&batch, None, NOW).await.unwrap_err();
    match &err {
        StoreError::UnknownReference { kind, code } => {
            assert_eq!(*kind, EntityKind::Territory);
            assert_eq!(code, "nowhere");
        }
        other => panic!("expected UnknownReference, got {other:?}"),
    }
    assert_eq!(snapshot(&store).await, before, "nothing may be written");
    assert!(store.territory_by_code("region").await.unwrap().is_none());

    // Over stored data: a failing batch leaves the stored rows as they were, too.
    with_region(&store).await;
    let before = snapshot(&store).await;
    let mut batch = region_batch();
    batch.organisations[0].name = "Переименовано".into();
    batch.users.push(user("ghost", Some("no-such-org"), &[]));
    let err = store.import_directory(&batch, None, NOW).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownReference { kind: EntityKind::Organisation, code } if code == "no-such-org"),
        "{err:?}"
    );
    assert_eq!(snapshot(&store).await, before);
    let minzdrav = store
        .organisation_by_code("minzdrav")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(minzdrav.name, "Организация minzdrav");
    assert_eq!(
        store
            .audit_trail(EntityKind::Import, 0)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn import_upserts_update_in_place(store: Store) {
    with_region(&store).await;
    let ids_before: Vec<_> = store
        .organisations()
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    let moderator_before = store.user_by_login("moderator").await.unwrap().unwrap();

    let mut batch = region_batch();
    batch.territories[2].name_variants = vec!["г. Town".into(), "Town".into()];
    batch.organisations[1].name = "Администрация района".into();
    batch.organisations[1].onboarding.account_ready = true;
    batch.users[0].roles.retain(|g| g.role == Role::Moderator);
    batch.users[0].confirmed = true;
    batch.communities[0].verification = otklik_domain::Verification::Verified;
    batch.sources[0].enabled = false;
    let sum = store.import_directory(&batch, None, NOW).await.unwrap();
    assert_eq!(
        sum.territories,
        KindSummary {
            created: 0,
            updated: 1,
            unchanged: 2
        }
    );
    assert_eq!(
        sum.organisations,
        KindSummary {
            created: 0,
            updated: 1,
            unchanged: 2
        }
    );
    assert_eq!(
        sum.users,
        KindSummary {
            created: 0,
            updated: 1,
            unchanged: 2
        }
    );
    assert_eq!(
        sum.communities,
        KindSummary {
            created: 0,
            updated: 1,
            unchanged: 0
        }
    );
    assert_eq!(
        sum.sources,
        KindSummary {
            created: 0,
            updated: 1,
            unchanged: 0
        }
    );

    let ids_after: Vec<_> = store
        .organisations()
        .await
        .unwrap()
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(ids_before, ids_after, "upserts keep ids");
    let town = store.territory_by_code("town").await.unwrap().unwrap();
    assert_eq!(
        town.name_variants,
        vec!["г. Town".to_owned(), "Town".to_owned()]
    );
    let adm = store
        .organisation_by_code("district-adm")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(adm.name, "Администрация района");
    assert!(adm.onboarding.account_ready);
    let moderator = store.user_by_login("moderator").await.unwrap().unwrap();
    assert_eq!(moderator.id, moderator_before.id);
    assert!(moderator.confirmed);
    assert_eq!(
        moderator.roles,
        vec![RoleGrant {
            role: Role::Moderator,
            organisation: moderator_before.organisation.unwrap()
        }]
    );
    assert_eq!(
        store.communities().await.unwrap()[0].verification,
        otklik_domain::Verification::Verified
    );
    assert!(!store.sources().await.unwrap()[0].enabled);

    // Importing the same batch again changes nothing.
    let again = store.import_directory(&batch, None, NOW).await.unwrap();
    assert_eq!(again.created() + again.updated(), 0);
    assert_eq!(again.unchanged(), 11);
}

async fn import_resolves_codes_already_stored(store: Store) {
    with_region(&store).await;
    // A later batch refers to territories and organisations stored by the first one.
    let batch = DirectoryBatch {
        territories: vec![territory(
            "village",
            TerritoryKind::Settlement,
            Some("district"),
        )],
        organisations: vec![organisation(
            "clinic",
            OrgKind::Institution,
            "village",
            Some("minzdrav"),
        )],
        users: vec![user(
            "doctor",
            Some("clinic"),
            &[(Role::Executor, "clinic"), (Role::Curator, "minzdrav")],
        )],
        ..DirectoryBatch::default()
    };
    let sum = store.import_directory(&batch, None, NOW).await.unwrap();
    assert_eq!(sum.created(), 3);
    let clinic = store.organisation_by_code("clinic").await.unwrap().unwrap();
    let minzdrav = org_id(&store, "minzdrav").await;
    assert_eq!(clinic.parent, Some(minzdrav));
    let doctor = store.user_by_login("doctor").await.unwrap().unwrap();
    assert!(doctor.has_role_in(Role::Executor, clinic.id));
    assert!(doctor.has_role_in(Role::Curator, minzdrav));

    // A code defined LATER in the same batch is not visible earlier: order matters.
    let batch = DirectoryBatch {
        territories: vec![
            territory("hamlet", TerritoryKind::Settlement, Some("late-district")),
            territory(
                "late-district",
                TerritoryKind::MunicipalDistrict,
                Some("region"),
            ),
        ],
        ..DirectoryBatch::default()
    };
    let err = store.import_directory(&batch, None, NOW).await.unwrap_err();
    assert!(matches!(
        err,
        StoreError::UnknownReference {
            kind: EntityKind::Territory,
            ..
        }
    ));
    assert!(
        store
            .territory_by_code("late-district")
            .await
            .unwrap()
            .is_none()
    );
}

async fn onboarding_and_confirmation_are_audited(store: Store) {
    with_region(&store).await;
    let school = org_id(&store, "school-1").await;
    let onboarding = Onboarding {
        account_ready: true,
        training_done: true,
        widget_installed: false,
    };
    let org = store
        .set_onboarding(school, onboarding, Some(UserId(5)), NOW)
        .await
        .unwrap();
    assert_eq!(org.onboarding, onboarding);
    assert_eq!(
        store
            .organisation(school)
            .await
            .unwrap()
            .unwrap()
            .onboarding
            .percent(),
        66
    );
    let trail = store
        .audit_trail(EntityKind::Organisation, school.get())
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].event.action, "onboarding");
    assert_eq!(trail[0].event.actor, Some(UserId(5)));
    let detail: serde_json::Value = serde_json::from_str(&trail[0].event.detail).unwrap();
    assert_eq!(detail["from"]["account_ready"], false);
    assert_eq!(detail["to"]["training_done"], true);

    let head = store.user_by_login("head").await.unwrap().unwrap();
    let confirmed = store.confirm_user(head.id, true, None, NOW).await.unwrap();
    assert!(confirmed.confirmed);
    assert_eq!(confirmed.roles, head.roles);
    assert!(store.user(head.id).await.unwrap().unwrap().confirmed);
    let trail = store
        .audit_trail(EntityKind::User, head.id.get())
        .await
        .unwrap();
    assert_eq!(
        trail
            .iter()
            .map(|e| e.event.action.as_str())
            .collect::<Vec<_>>(),
        ["confirm"]
    );

    // Unknown ids: NotFound, and nothing written.
    let before = snapshot(&store).await;
    let err = store
        .confirm_user(UserId(999_999), true, None, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: EntityKind::User,
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .set_onboarding(
            otklik_domain::OrganisationId(999_999),
            onboarding,
            None,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::NotFound {
            entity: EntityKind::Organisation,
            ..
        }
    ));
    assert_eq!(snapshot(&store).await, before);
}

async fn counts_cover_directory_and_messages(store: Store) {
    let empty = store.counts().await.unwrap();
    assert_eq!(empty.territories, 0);
    assert_eq!(empty.messages, 0);
    assert_eq!(empty.organisations_by_kind.len(), OrgKind::ALL.len());
    assert_eq!(empty.messages_by_status.len(), MessageStatus::ALL.len());

    with_region(&store).await;
    let minzdrav = org_id(&store, "minzdrav").await;
    for i in 0..3 {
        store
            .create_message(
                &crate::fixtures::new_message(Some(minzdrav), &format!("m{i}")),
                None,
                None,
                NOW,
            )
            .await
            .unwrap();
    }
    let first = store
        .list_messages(Default::default())
        .await
        .unwrap()
        .remove(0);
    store
        .transition_message(
            first.id,
            1,
            otklik_domain::Transition::Accept,
            Default::default(),
            None,
            NOW,
        )
        .await
        .unwrap();

    let c = store.counts().await.unwrap();
    assert_eq!(c.territories, 3);
    assert_eq!(c.organisations, 3);
    assert_eq!(c.organisations_by_kind[&OrgKind::Roiv], 1);
    assert_eq!(c.organisations_by_kind[&OrgKind::Omsu], 1);
    assert_eq!(c.organisations_by_kind[&OrgKind::Institution], 1);
    assert_eq!(c.organisations_by_kind[&OrgKind::Other], 0);
    assert_eq!(c.users, 3);
    assert_eq!(c.communities, 1);
    assert_eq!(c.sources, 1);
    assert_eq!(c.messages, 3);
    assert_eq!(c.messages_by_status[&MessageStatus::Moderation], 2);
    assert_eq!(c.messages_by_status[&MessageStatus::Coordination], 1);
    assert_eq!(c.messages_by_status[&MessageStatus::Closed], 0);

    let rows = c.rows_ru();
    assert_eq!(rows[0], ("Территории".to_owned(), 3));
    assert!(rows.contains(&("— РОИВ".to_owned(), 1)));
    let statuses = c.messages_ru();
    assert_eq!(statuses[0], ("На модерации".to_owned(), 2));
    assert_eq!(statuses.last(), Some(&("Всего".to_owned(), 3)));
    store.ping().await.unwrap();
}
