//! Voting: audience, idempotency, re-votes, hashed identities, rate limits, anomaly report.

use otklik_domain::{PollKind, PollStatus, Timestamp};
use otklik_polls::{
    AudienceError, Ballot, BallotError, BurstSource, Polls, PollsConfig, PollsError, RateLimit,
    VoteMeta, VoteOutcome,
};
use otklik_store::Store;
use sqlx::Row;

use crate::fixtures::{NOW, key, meta, world, world_with};

both_backends!(
    audience_by_territory_and_age,
    idempotent_retries_and_reused_keys,
    revotes_replace_the_ballot,
    revotes_refused_when_the_poll_disallows_them,
    identities_and_addresses_are_never_stored,
    a_stale_cache_is_caught_in_the_transaction,
    rate_limit_per_network,
    anomaly_report_finds_a_burst,
    two_processes_race_for_the_same_voters
);

async fn audience_by_territory_and_age(store: Store) {
    let w = world(store).await;
    let mut draft = w.draft(PollKind::SingleChoice, 2);
    draft.territory = Some(w.territories["district1"]);
    draft.min_age = Some(18);
    let poll = w.publish(&draft).await;
    let id = poll.poll.id;
    let b = Ballot::Single {
        option: poll.options[0].id,
    };
    let vote = |who: &'static str, m: VoteMeta| {
        let (polls, b) = (w.polls.clone(), b.clone());
        async move { polls.vote(id, who, &b, who, &m, NOW).await }
    };
    // The district itself and a town in it.
    vote("esia:d", meta(&w, Some("district1"))).await.unwrap();
    vote("esia:t", meta(&w, Some("town1"))).await.unwrap();
    // Another district, the region above, nowhere.
    for (who, t) in [("esia:o", Some("district2")), ("esia:r", Some("region"))] {
        assert!(matches!(
            vote(who, meta(&w, t)).await,
            Err(PollsError::Audience(AudienceError::OutsideTerritory))
        ));
    }
    assert!(matches!(
        vote("esia:n", meta(&w, None)).await,
        Err(PollsError::Audience(AudienceError::TerritoryUnknown))
    ));
    let mut young = meta(&w, Some("town1"));
    young.age = Some(17);
    assert!(matches!(
        vote("esia:y", young.clone()).await,
        Err(PollsError::Audience(AudienceError::TooYoung {
            min_age: 18
        }))
    ));
    young.age = None;
    assert!(matches!(
        vote("esia:u", young).await,
        Err(PollsError::Audience(AudienceError::AgeUnknown))
    ));
    assert_eq!(w.polls.turnout(id).await.unwrap(), 2);
}

async fn idempotent_retries_and_reused_keys(store: Store) {
    let w = world(store).await;
    let poll = w.publish(&w.draft(PollKind::MultipleChoice, 3)).await;
    let id = poll.poll.id;
    let o = |i: usize| poll.options[i].id;
    let m = meta(&w, None);
    let first = w
        .polls
        .vote(
            id,
            "esia:1",
            &Ballot::Multiple {
                options: vec![o(0), o(2)],
            },
            "key-1",
            &m,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(first.outcome, VoteOutcome::Recorded);
    // The same request again, options in another order (same ballot): a replay.
    let again = w
        .polls
        .vote(
            id,
            "esia:1",
            &Ballot::Multiple {
                options: vec![o(2), o(0)],
            },
            "key-1",
            &m,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(again.outcome, VoteOutcome::Replayed);
    assert_eq!(again.ballot, first.ballot);
    // The same key with another ballot: refused.
    assert!(matches!(
        w.polls
            .vote(
                id,
                "esia:1",
                &Ballot::Multiple {
                    options: vec![o(1)]
                },
                "key-1",
                &m,
                NOW
            )
            .await,
        Err(PollsError::KeyReused)
    ));
    // Another voter may use the same key: keys are per voter.
    let other = w
        .polls
        .vote(
            id,
            "esia:2",
            &Ballot::Multiple {
                options: vec![o(1)],
            },
            "key-1",
            &m,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(other.outcome, VoteOutcome::Recorded);
    assert_ne!(other.ballot, first.ballot);
    // Bad keys and identities are errors, not refusals of a valid vote.
    for k in ["", &"k".repeat(129)] {
        assert!(matches!(
            w.polls
                .vote(
                    id,
                    "esia:3",
                    &Ballot::Multiple {
                        options: vec![o(1)]
                    },
                    k,
                    &m,
                    NOW
                )
                .await,
            Err(PollsError::Invalid(_))
        ));
    }
    assert!(matches!(
        w.polls
            .vote(
                id,
                "",
                &Ballot::Multiple {
                    options: vec![o(1)]
                },
                "k",
                &m,
                NOW
            )
            .await,
        Err(PollsError::Invalid(_))
    ));
    let tally = w.store.poll_tally(id).await.unwrap();
    assert_eq!(tally.ballots, 2);
    let votes: Vec<i64> = tally.options.iter().map(|t| t.votes).collect();
    assert_eq!(votes, vec![1, 1, 1]);
    let mine = w.polls.ballot_of(id, "esia:1").await.unwrap().unwrap();
    assert_eq!(mine.id, first.ballot);
    assert_eq!(mine.choices.len(), 2);
    assert!(w.polls.ballot_of(id, "esia:9").await.unwrap().is_none());
}

async fn revotes_replace_the_ballot(store: Store) {
    let w = world(store).await;
    let mut draft = w.draft(PollKind::Ranking, 3);
    draft.allow_revote = true;
    let poll = w.publish(&draft).await;
    let id = poll.poll.id;
    let o = |i: usize| poll.options[i].id;
    let m = meta(&w, None);
    let r1 = w
        .polls
        .vote(
            id,
            "esia:1",
            &Ballot::Ranking {
                options: vec![o(0), o(1), o(2)],
            },
            "a",
            &m,
            NOW,
        )
        .await
        .unwrap();
    let r2 = w
        .polls
        .vote(
            id,
            "esia:1",
            &Ballot::Ranking {
                options: vec![o(2), o(1), o(0)],
            },
            "b",
            &m,
            NOW.plus_hours(1),
        )
        .await
        .unwrap();
    assert_eq!(r2.outcome, VoteOutcome::Replaced);
    assert_eq!((r2.ballot, r2.revision), (r1.ballot, 2));
    // Retrying the first request now answers what it did then; it does not undo the re-vote.
    let replay = w
        .polls
        .vote(
            id,
            "esia:1",
            &Ballot::Ranking {
                options: vec![o(0), o(1), o(2)],
            },
            "a",
            &m,
            NOW.plus_hours(2),
        )
        .await
        .unwrap();
    assert_eq!(
        (replay.outcome, replay.revision),
        (VoteOutcome::Replayed, 1)
    );
    let b = w.polls.ballot_of(id, "esia:1").await.unwrap().unwrap();
    assert_eq!(b.revision, 2);
    assert_eq!(b.choices[0].option, o(2));
    assert_eq!(b.cast_at, NOW);
    assert_eq!(b.updated_at, NOW.plus_hours(1));
    let tally = w.store.poll_tally(id).await.unwrap();
    assert_eq!(tally.ballots, 1);
    // Ranks now: o2 → 1, o1 → 2, o0 → 3.
    let sums: Vec<(i64, i64)> = tally
        .options
        .iter()
        .map(|t| (t.votes, t.rank_sum))
        .collect();
    assert_eq!(sums, vec![(1, 3), (1, 2), (1, 1)]);
}

async fn revotes_refused_when_the_poll_disallows_them(store: Store) {
    let w = world(store).await;
    let poll = w.publish(&w.draft(PollKind::SingleChoice, 2)).await;
    let id = poll.poll.id;
    let m = meta(&w, None);
    let first = w
        .polls
        .vote(
            id,
            "esia:1",
            &Ballot::Single {
                option: poll.options[0].id,
            },
            "a",
            &m,
            NOW,
        )
        .await
        .unwrap();
    let e = w
        .polls
        .vote(
            id,
            "esia:1",
            &Ballot::Single {
                option: poll.options[1].id,
            },
            "b",
            &m,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, PollsError::AlreadyVoted { ballot, .. } if ballot == first.ballot),
        "{e}"
    );
    // Invalid ballots never reach the store.
    let e = w
        .polls
        .vote(
            id,
            "esia:2",
            &Ballot::Single {
                option: otklik_domain::PollOptionId(9_999),
            },
            "c",
            &m,
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, PollsError::InvalidBallot(BallotError::UnknownOption(_))),
        "{e}"
    );
    let b = w.polls.ballot_of(id, "esia:1").await.unwrap().unwrap();
    assert_eq!(b.choices[0].option, poll.options[0].id);
    assert_eq!(
        otklik_store::testing::rows_in(&w.store, "poll_votes").await,
        1
    );
}

async fn identities_and_addresses_are_never_stored(store: Store) {
    let w = world(store).await;
    let poll = w.publish(&w.draft(PollKind::SingleChoice, 2)).await;
    let m = VoteMeta {
        territory: Some(w.territories["town1"]),
        age: Some(40),
        ip: "203.0.113.77".parse().ok(),
    };
    w.polls
        .vote(
            poll.poll.id,
            "esia:SECRET-SUBJECT-4242",
            &Ballot::Single {
                option: poll.options[0].id,
            },
            "k",
            &m,
            NOW,
        )
        .await
        .unwrap();
    for table in ["poll_ballots", "poll_votes", "audit_events"] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(w.store.pool())
            .await
            .unwrap();
        for row in &rows {
            for i in 0..row.len() {
                if let Ok(Some(text)) = row.try_get::<Option<String>, _>(i) {
                    assert!(!text.contains("SECRET-SUBJECT"), "{table}: {text}");
                    assert!(!text.contains("203.0.113"), "{table}: {text}");
                }
            }
        }
    }
    let hash: String = sqlx::query_scalar("SELECT voter_hash FROM poll_ballots")
        .fetch_one(w.store.pool())
        .await
        .unwrap();
    assert_eq!(
        hash,
        key()
            .voter_hash(poll.poll.id, "esia:SECRET-SUBJECT-4242")
            .unwrap()
    );
    let net: String = sqlx::query_scalar("SELECT network_hash FROM poll_votes")
        .fetch_one(w.store.pool())
        .await
        .unwrap();
    assert_eq!(
        net,
        w.polls
            .network_label(poll.poll.id, "203.0.113.1".parse().unwrap())
    );
}

async fn a_stale_cache_is_caught_in_the_transaction(store: Store) {
    let w = world(store.clone()).await;
    let poll = w.publish(&w.draft(PollKind::SingleChoice, 2)).await;
    let id = poll.poll.id;
    let b = Ballot::Single {
        option: poll.options[0].id,
    };
    let m = meta(&w, None);
    // This instance caches the published definition…
    w.polls.vote(id, "esia:1", &b, "a", &m, NOW).await.unwrap();
    // …another process closes the poll…
    let other = Polls::new(store, PollsConfig::new(key()));
    other.close(id, w.user("manager1"), NOW).await.unwrap();
    // …and the vote is refused inside the writing transaction.
    assert!(matches!(
        w.polls.vote(id, "esia:2", &b, "b", &m, NOW).await,
        Err(PollsError::NotOpen {
            status: PollStatus::Closed,
            ..
        })
    ));
    assert_eq!(w.polls.turnout(id).await.unwrap(), 1);
}

async fn rate_limit_per_network(store: Store) {
    let w = world_with(store, |c| {
        c.rate_limit = Some(RateLimit {
            max_votes: 3,
            window_ms: 60_000,
        });
    })
    .await;
    let poll = w.publish(&w.draft(PollKind::SingleChoice, 2)).await;
    let id = poll.poll.id;
    let b = Ballot::Single {
        option: poll.options[0].id,
    };
    let from = |ip: &str| VoteMeta {
        territory: None,
        age: None,
        ip: ip.parse().ok(),
    };
    for i in 0..3 {
        w.polls
            .vote(
                id,
                &format!("esia:{i}"),
                &b,
                "k",
                &from(&format!("198.51.100.{i}")),
                NOW,
            )
            .await
            .unwrap();
    }
    assert!(matches!(
        w.polls
            .vote(id, "esia:9", &b, "k", &from("198.51.100.200"), NOW)
            .await,
        Err(PollsError::RateLimited)
    ));
    // Another network, and the same one after the window.
    w.polls
        .vote(id, "esia:9", &b, "k", &from("198.51.101.1"), NOW)
        .await
        .unwrap();
    w.polls
        .vote(
            id,
            "esia:10",
            &b,
            "k",
            &from("198.51.100.9"),
            Timestamp(NOW.millis() + 60_000),
        )
        .await
        .unwrap();
}

async fn anomaly_report_finds_a_burst(store: Store) {
    let w = world(store).await;
    let mut draft = w.draft(PollKind::SingleChoice, 2);
    draft.allow_revote = true;
    let poll = w.publish(&draft).await;
    let id = poll.poll.id;
    let b = Ballot::Single {
        option: poll.options[0].id,
    };
    // Calm: one vote a minute from different networks over an hour.
    for i in 0..60 {
        let m = VoteMeta {
            territory: Some(w.territories["town1"]),
            age: None,
            ip: format!("10.{i}.0.1").parse().ok(),
        };
        w.polls
            .vote(
                id,
                &format!("esia:calm{i}"),
                &b,
                "k",
                &m,
                Timestamp(NOW.millis() + i * 60_000),
            )
            .await
            .unwrap();
    }
    // A farm: 30 votes from one /24 within 15 seconds.
    let farm_at = NOW.millis() + 30 * 60_000 + 500;
    for i in 0..30 {
        let m = VoteMeta {
            territory: Some(w.territories["district2"]),
            age: None,
            ip: format!("192.0.2.{i}").parse().ok(),
        };
        w.polls
            .vote(
                id,
                &format!("esia:farm{i}"),
                &b,
                "k",
                &m,
                Timestamp(farm_at + i * 500),
            )
            .await
            .unwrap();
    }
    let report = w.polls.anomaly_report(id, NOW).await.unwrap();
    assert_eq!(report.votes, 90);
    assert_eq!(report.bursts.len(), 1, "{:?}", report.bursts);
    let burst = &report.bursts[0];
    assert_eq!(
        burst.source,
        BurstSource::Network(w.polls.network_label(id, "192.0.2.250".parse().unwrap()))
    );
    assert_eq!(burst.votes, 30);
    assert_eq!(burst.from, Timestamp(farm_at));
    assert_eq!(burst.to, Timestamp(farm_at + 29 * 500));
    // Since after the farm: nothing.
    let later = w
        .polls
        .anomaly_report(id, Timestamp(farm_at + 60_000))
        .await
        .unwrap();
    assert!(later.bursts.is_empty());
}

/// Two services (two processes' writers) vote for the same identities at the same time: the
/// store's constraints and the batch fallback keep one ballot per identity, and re-votes
/// count their revisions exactly.
async fn two_processes_race_for_the_same_voters(store: Store) {
    let w = world(store.clone()).await;
    let other = Polls::new(store, PollsConfig::new(key()));
    for revote in [false, true] {
        let mut draft = w.draft(PollKind::SingleChoice, 2);
        draft.allow_revote = revote;
        let poll = w.publish(&draft).await;
        let id = poll.poll.id;
        let mut tasks = Vec::new();
        for i in 0..200 {
            for (n, polls) in [w.polls.clone(), other.clone()].into_iter().enumerate() {
                let b = Ballot::Single {
                    option: poll.options[n].id,
                };
                tasks.push(tokio::spawn(async move {
                    polls
                        .vote(
                            id,
                            &format!("esia:{i}"),
                            &b,
                            &format!("k{n}"),
                            &VoteMeta::default(),
                            NOW,
                        )
                        .await
                }));
            }
        }
        let (mut ok, mut refused) = (0, 0);
        let mut revisions = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => {
                    ok += 1;
                    revisions.push(r.revision);
                }
                Err(PollsError::AlreadyVoted { .. }) if !revote => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        if revote {
            assert_eq!(ok, 400);
            revisions.sort_unstable();
            assert_eq!(revisions.iter().filter(|r| **r == 1).count(), 200);
            assert_eq!(revisions.iter().filter(|r| **r == 2).count(), 200);
        } else {
            assert_eq!((ok, refused), (200, 200));
        }
        assert_eq!(w.polls.turnout(id).await.unwrap(), 200);
    }
}
