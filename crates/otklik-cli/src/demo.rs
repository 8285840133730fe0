//! Demo messages (`demo/messages.csv`): each is routed by the real router, registered through
//! the store and moved through the workflow, so a newcomer sees every stage with data.

use std::path::Path;

use anyhow::Context as _;
use otklik_domain::{
    CategoryTree, Channel, EntityKind, MessageId, NewAuditEvent, NewMessage, SubcategoryId,
    Timestamp, Transition,
};
use otklik_route::{RouteRequest, Router};
use otklik_store::{MessageChange, Store};
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

/// What each demo step carries.
fn change_for(t: Transition) -> MessageChange {
    match t {
        Transition::Reject => MessageChange {
            reason: Some("Вопрос уже решён: тротуар очищен 21 ноября".into()),
            ..MessageChange::default()
        },
        Transition::SubmitForApproval => MessageChange {
            answer: Some("Работы включены в план на текущую неделю; о результате сообщим.".into()),
            ..MessageChange::default()
        },
        Transition::Rate => MessageChange {
            rating: Some(5),
            ..MessageChange::default()
        },
        _ => MessageChange::default(),
    }
}

/// Load, route and advance the demo messages; returns how many were registered.
pub async fn load_messages(
    store: &Store,
    router: &Router,
    tree: &CategoryTree,
    path: &Path,
    now: Timestamp,
) -> anyhow::Result<usize> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut count = 0;
    for (i, row) in reader.deserialize::<Row>().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("{}:{line}: malformed row", path.display()))?;
        let at = |what: &str| format!("{}:{line}: {what}", path.display());
        let channel: Channel = row.channel.parse().with_context(|| at("channel"))?;
        let subcategory = SubcategoryId(row.subcategory.trim().to_owned());
        let sub = tree
            .subcategory(&subcategory)
            .with_context(|| at("unknown subcategory"))?;
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
        let submitted_via = match opt(&row.via_organisation_code) {
            Some(code) => Some(
                store
                    .organisation_by_code(&code)
                    .await?
                    .with_context(|| at("unknown organisation"))?
                    .id,
            ),
            None => None,
        };
        let decision = router
            .route(&RouteRequest {
                subcategory: &subcategory,
                territory,
                submitted_via,
            })
            .map_err(|e| anyhow::anyhow!("{}: {e}", at("routing")))?;
        let new = NewMessage {
            channel,
            subcategory: subcategory.clone(),
            territory,
            executor: Some(decision.executor),
            submitted_via,
            author: None,
            author_handle: opt(&row.author_handle),
            source_post: None,
            text: row.text.clone(),
            address: opt(&row.address),
            confidence_pm: None,
            deadline_at: now.plus_days(i64::from(sub.effective_deadline_days())),
        };
        let key = format!("demo:{line}");
        let mut msg = store.create_message(&new, Some(&key), None, now).await?;
        store
            .record_audit(&NewAuditEvent {
                actor: None,
                entity: EntityKind::Message,
                entity_id: msg.id.get(),
                action: "routed".into(),
                detail: serde_json::json!({ "executor": decision.executor.get(), "reason": decision.reason.explain_ru() })
                    .to_string(),
                at: now,
            })
            .await?;
        for step in row
            .steps
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let t: Transition = step.parse().with_context(|| at("steps"))?;
            msg = store
                .transition_message(
                    MessageId(msg.id.get()),
                    msg.version,
                    t,
                    change_for(t),
                    None,
                    now,
                )
                .await?;
        }
        count += 1;
    }
    Ok(count)
}
