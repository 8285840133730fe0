//! Demo messages (`demo/messages.csv`): each is registered through the messages workflow
//! ([`Workflow::submit`]: routed by the real router, deadline on the working-day calendar,
//! duplicate groups, audit) and moved through it by the demo staff of the right roles
//! ([`Workflow::act`]: every step role- and organisation-checked and audited), so a newcomer
//! sees every stage with data. Direct submissions are authored by the demo's first citizen
//! account, which also rates the answers. Social-network rows are skipped: in the demo such
//! messages come from the collectors, which read the demo feeds (`demo/feeds`) and register
//! the complaints through [`Workflow::intake_incident`].

use std::path::Path;

use anyhow::Context as _;
use otklik_domain::{Channel, MessageRecord, SubcategoryId, Timestamp, Transition, User};
use otklik_route::{RouteRequest, Router};
use otklik_workflow::{Action, Submission, Workflow, may_act};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Row {
    channel: String,
    subcategory: String,
    territory_code: String,
    via_organisation_code: String,
    author_handle: String,
    text: String,
    address: String,
    steps: String,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The action of a demo step, with what it carries.
fn action_for(t: Transition) -> anyhow::Result<Action> {
    Ok(match t {
        Transition::Accept => Action::Accept,
        Transition::Reject => Action::Reject {
            reason: "already_solved".into(),
            comment: Some("Тротуар очищен 21 ноября".into()),
        },
        Transition::SendToExecution => Action::SendToExecution,
        Transition::SubmitForApproval => Action::SubmitForApproval {
            answer: "Работы включены в план на текущую неделю; о результате сообщим.".into(),
        },
        Transition::Approve => Action::Approve,
        Transition::Rate => Action::Rate { rating: 5 },
        Transition::Close => Action::Close,
        other => anyhow::bail!("demo step {other} is not supported"),
    })
}

/// The demo user who performs `t` on `record`: someone allowed by the workflow's role and
/// organisation rules, preferring staff of the executor organisation itself.
fn actor_for<'a>(
    users: &'a [User],
    workflow: &Workflow,
    record: &MessageRecord,
    t: Transition,
) -> Option<&'a User> {
    let allowed = |u: &&User| may_act(u, t, &record.message, workflow.organisations()).is_ok();
    let executor = record.message.executor;
    users
        .iter()
        .filter(allowed)
        .find(|u| executor.is_some() && u.organisation == executor)
        .or_else(|| users.iter().find(allowed))
}

/// Registers the demo messages through the workflow and advances them; returns how many
/// were registered.
pub async fn load_messages(
    workflow: &Workflow,
    router: &Router,
    path: &Path,
    now: Timestamp,
) -> anyhow::Result<usize> {
    let store = workflow.store();
    let users = store.users().await?;
    let citizen = users
        .iter()
        .find(|u| u.organisation.is_none() && u.confirmed);
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut count = 0;
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}:{line}: malformed row", path.display()))?;
        let at = |what: &str| format!("{}:{line}: {what}", path.display());
        let channel: Channel = row.channel.parse().with_context(|| at("channel"))?;
        if !matches!(
            channel,
            Channel::Widget | Channel::Portal | Channel::MobileApp
        ) {
            tracing::info!(
                line,
                %channel,
                author = row.author_handle.trim(),
                "demo message skipped: this channel comes in through the collectors"
            );
            continue;
        }
        let subcategory = SubcategoryId(row.subcategory.trim().to_owned());
        let territory = match opt(&row.territory_code) {
            Some(code) => Some(
                store
                    .territory_by_code(&code)
                    .await?
                    .with_context(|| at("unknown territory"))?
                    .id,
            ),
            None => None,
        };
        let mut submitted_via = match opt(&row.via_organisation_code) {
            Some(code) => Some(
                store
                    .organisation_by_code(&code)
                    .await?
                    .with_context(|| at("unknown organisation"))?
                    .id,
            ),
            None => None,
        };
        if channel == Channel::Widget && submitted_via.is_none() {
            // The widget on the site of the organisation responsible for the problem.
            let decision = router
                .route(&RouteRequest {
                    subcategory: &subcategory,
                    territory,
                    submitted_via: None,
                })
                .map_err(|e| anyhow::anyhow!("{}: {e}", at("routing")))?;
            submitted_via = Some(decision.executor);
        }
        let submission = Submission {
            channel,
            text: row.text.clone(),
            category_hint: Some(subcategory),
            territory,
            address: opt(&row.address),
            submitted_via,
            author: citizen.map(|u| u.id),
            contact: citizen.and_then(|u| u.email.clone()),
            attachments: vec![],
        };
        let key = format!("demo:{line}");
        let mut record = workflow
            .submit(&submission, &key, now)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", at("submission")))?
            .record;
        for (n, step) in row
            .steps
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let t: Transition = step.parse().with_context(|| at("steps"))?;
            let action = action_for(t).with_context(|| at("steps"))?;
            let actor = actor_for(&users, workflow, &record, t)
                .with_context(|| at(&format!("no demo user may {t}")))?;
            record = workflow
                .act(
                    actor,
                    record.message.id,
                    record.message.version,
                    action,
                    &format!("{key}:{n}:{t}"),
                    now,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", at(&format!("step {t}"))))?
                .record;
        }
        count += 1;
    }
    Ok(count)
}
