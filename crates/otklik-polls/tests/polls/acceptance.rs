//! Issue 7's acceptance: 10,000 votes from 1,000 identities sent concurrently — exact counts,
//! every double vote refused (or replacing the ballot where re-votes are allowed), budget caps
//! and min/max enforced — on SQLite and PostgreSQL.

use std::collections::HashMap;
use std::time::Instant;

use otklik_domain::{PollKind, PollOptionId};
use otklik_polls::{
    Ballot, BallotError, PollDetails, PollsError, VoteMeta, VoteOutcome, VoteReceipt,
};
use otklik_store::Store;

use crate::fixtures::{NOW, World, world};

both_backends!(ten_thousand_votes_no_revote, ten_thousand_votes_with_revote);

const IDENTITIES: usize = 1_000;
const ATTEMPTS: usize = 10;

/// What attempt `j` of identity `i` sends: option numbers (1-based) and its idempotency key.
type Plan = fn(usize, usize) -> (Vec<usize>, String);

/// Sends every (identity, attempt) at once, in a scrambled order; returns the outcome of each.
async fn storm(
    w: &World,
    poll: &PollDetails,
    plan: Plan,
) -> HashMap<(usize, usize), Result<VoteReceipt, PollsError>> {
    let mut order: Vec<(usize, usize)> = (0..IDENTITIES)
        .flat_map(|i| (0..ATTEMPTS).map(move |j| (i, j)))
        .collect();
    // A fixed scramble (multiplicative step coprime with 10,000).
    let n = order.len();
    order = (0..n).map(|k| order[(k * 7_919) % n]).collect();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for (i, j) in order {
        let polls = w.polls.clone();
        let id = poll.poll.id;
        let kind = poll.poll.kind;
        let options: Vec<PollOptionId> = poll.options.iter().map(|o| o.id).collect();
        let meta = VoteMeta {
            territory: None,
            age: Some(30),
            ip: format!("10.{}.{}.1", i / 250, i % 250).parse().ok(),
        };
        tasks.push(tokio::spawn(async move {
            let (picked, key) = plan(i, j);
            let ids: Vec<PollOptionId> = picked.iter().map(|k| options[k - 1]).collect();
            let ballot = match kind {
                PollKind::Budget => Ballot::Budget { projects: ids },
                _ => Ballot::Multiple { options: ids },
            };
            let r = polls
                .vote(id, &format!("esia:{i}"), &ballot, &key, &meta, NOW)
                .await;
            ((i, j), r)
        }));
    }
    let mut out = HashMap::with_capacity(n);
    for t in tasks {
        let (k, r) = t.await.unwrap();
        out.insert(k, r);
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} votes on {} in {secs:.2} s: {:.0} votes/s",
        n,
        w.store.backend(),
        n as f64 / secs
    );
    out
}

/// Valid combinations (1-based option numbers).
const BUDGET_OK: [&[usize]; 7] = [
    &[1, 2],
    &[1, 3, 5],
    &[2, 4],
    &[3, 6],
    &[1, 2, 6],
    &[4, 5],
    &[2, 3, 5],
];

/// Budget poll, 6 projects costing 100…600, cap 1000, 2–3 projects per ballot.
/// Attempt 0 is over the cap, 1 has too many projects, 2 too few, 9 retries attempt 3.
fn budget_plan(i: usize, j: usize) -> (Vec<usize>, String) {
    match j {
        0 => (vec![6, 5], format!("k{i}-{j}")),
        1 => (vec![1, 2, 3, 4], format!("k{i}-{j}")),
        2 => (vec![1], format!("k{i}-{j}")),
        9 => budget_plan(i, 3),
        _ => (
            BUDGET_OK[(i * 3 + j) % BUDGET_OK.len()].to_vec(),
            format!("k{i}-{j}"),
        ),
    }
}

const MULTI_OK: [&[usize]; 6] = [
    &[1, 2],
    &[2, 3, 4],
    &[5, 1],
    &[3, 5],
    &[4, 2, 1],
    &[5, 4, 3],
];

/// Multiple choice over 5 options, 2–3 per ballot. Attempt 0 has too few, 1 too many, 9 retries
/// attempt 3.
fn multi_plan(i: usize, j: usize) -> (Vec<usize>, String) {
    match j {
        0 => (vec![3], format!("k{i}-{j}")),
        1 => (vec![1, 2, 3, 4], format!("k{i}-{j}")),
        9 => multi_plan(i, 3),
        _ => (
            MULTI_OK[(i + j * 5) % MULTI_OK.len()].to_vec(),
            format!("k{i}-{j}"),
        ),
    }
}

/// Stored votes per option, in option order.
async fn stored_counts(w: &World, poll: &PollDetails) -> Vec<i64> {
    let tally = w.store.poll_tally(poll.poll.id).await.unwrap();
    poll.options
        .iter()
        .map(|o| {
            tally
                .options
                .iter()
                .find(|t| t.option == o.id)
                .map_or(0, |t| t.votes)
        })
        .collect()
}

async fn ballots_outside(w: &World, poll: &PollDetails, min: i64, max: i64) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT ballot_id, COUNT(*) AS c FROM poll_ballot_choices \
         WHERE poll_id = $1 GROUP BY ballot_id) AS t WHERE t.c < $2 OR t.c > $3",
    )
    .bind(poll.poll.id.get())
    .bind(min)
    .bind(max)
    .fetch_one(w.store.pool())
    .await
    .unwrap()
}

async fn ten_thousand_votes_no_revote(store: Store) {
    let w = world(store).await;
    let mut draft = w.draft(PollKind::Budget, 6);
    draft.min_choices = Some(2);
    draft.max_choices = Some(3);
    let poll = w.publish(&draft).await;
    let outcomes = storm(&w, &poll, budget_plan).await;

    let mut expected = vec![0i64; 6];
    let (mut recorded, mut refused_double, mut replayed) = (0, 0, 0);
    for i in 0..IDENTITIES {
        let mut recorded_here = Vec::new();
        let mut replayed_here = false;
        for j in 0..ATTEMPTS {
            match (&outcomes[&(i, j)], j) {
                (
                    Err(PollsError::InvalidBallot(BallotError::OverBudget {
                        cap: 1000,
                        total: 1100,
                    })),
                    0,
                )
                | (Err(PollsError::InvalidBallot(BallotError::TooMany { max: 3, got: 4 })), 1)
                | (Err(PollsError::InvalidBallot(BallotError::TooFew { min: 2, got: 1 })), 2) => {}
                (Ok(r), 3..) if r.outcome == VoteOutcome::Recorded => {
                    assert_eq!(r.revision, 1);
                    recorded_here.push(j);
                }
                (Ok(r), 3 | 9) if r.outcome == VoteOutcome::Replayed => {
                    replayed += 1;
                    replayed_here = true;
                }
                (Err(PollsError::AlreadyVoted { .. }), 3..) => refused_double += 1,
                (other, _) => panic!("identity {i} attempt {j}: unexpected {other:?}"),
            }
        }
        assert_eq!(recorded_here.len(), 1, "identity {i}: exactly one ballot");
        let j = recorded_here[0];
        // A replay only of the recorded vote's own key (attempts 3 and 9 share one).
        assert!(!replayed_here || [3, 9].contains(&j), "identity {i}");
        recorded += 1;
        for k in budget_plan(i, j).0 {
            expected[k - 1] += 1;
        }
    }
    assert_eq!(recorded, IDENTITIES);
    assert_eq!(recorded + refused_double + replayed, IDENTITIES * 7);
    assert_eq!(stored_counts(&w, &poll).await, expected);
    let tally = w.store.poll_tally(poll.poll.id).await.unwrap();
    assert_eq!(tally.ballots, 1_000);
    // Caps and limits hold in the stored data.
    let over: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM poll_ballots WHERE total_cost > 1000")
        .fetch_one(w.store.pool())
        .await
        .unwrap();
    assert_eq!(over, 0);
    assert_eq!(ballots_outside(&w, &poll, 2, 3).await, 0);
    assert_eq!(
        otklik_store::testing::rows_in(&w.store, "poll_votes").await,
        1_000
    );
    let results = w.polls.results(poll.poll.id, NOW).await.unwrap();
    assert!(results.budget.unwrap().funded_total <= 1000);
}

async fn ten_thousand_votes_with_revote(store: Store) {
    let w = world(store).await;
    let mut draft = w.draft(PollKind::MultipleChoice, 5);
    draft.min_choices = Some(2);
    draft.max_choices = Some(3);
    draft.allow_revote = true;
    let poll = w.publish(&draft).await;
    let outcomes = storm(&w, &poll, multi_plan).await;

    let mut expected = vec![0i64; 5];
    let (mut recorded, mut replaced, mut replayed) = (0, 0, 0);
    for i in 0..IDENTITIES {
        // The accepted write with the highest revision is the ballot that stands.
        let mut last: Option<(u32, usize)> = None;
        let mut revisions = Vec::new();
        for j in 0..ATTEMPTS {
            match (&outcomes[&(i, j)], j) {
                (Err(PollsError::InvalidBallot(BallotError::TooFew { min: 2, got: 1 })), 0)
                | (Err(PollsError::InvalidBallot(BallotError::TooMany { max: 3, got: 4 })), 1) => {}
                (Ok(r), 2..) if r.outcome != VoteOutcome::Replayed => {
                    if r.outcome == VoteOutcome::Recorded {
                        recorded += 1;
                    } else {
                        replaced += 1;
                    }
                    revisions.push(r.revision);
                    if last.is_none_or(|(rev, _)| r.revision > rev) {
                        last = Some((r.revision, j));
                    }
                }
                (Ok(_), 3 | 9) => replayed += 1,
                (other, _) => panic!("identity {i} attempt {j}: unexpected {other:?}"),
            }
        }
        revisions.sort_unstable();
        assert_eq!(revisions, (1..=7).collect::<Vec<u32>>(), "identity {i}");
        let (_, j) = last.unwrap();
        for k in multi_plan(i, j).0 {
            expected[k - 1] += 1;
        }
    }
    assert_eq!((recorded, replaced, replayed), (1_000, 6_000, 1_000));
    assert_eq!(stored_counts(&w, &poll).await, expected);
    assert_eq!(
        w.store.poll_tally(poll.poll.id).await.unwrap().ballots,
        1_000
    );
    assert_eq!(ballots_outside(&w, &poll, 2, 3).await, 0);
    let stale: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM poll_ballots WHERE revision <> 7")
        .fetch_one(w.store.pool())
        .await
        .unwrap();
    assert_eq!(stale, 0);
    assert_eq!(
        otklik_store::testing::rows_in(&w.store, "poll_votes").await,
        7_000
    );
}
