//! Row ↔ domain conversions shared by the modules. Columns are decoded by name; integers
//! always as `i64` (SQLite INTEGER and PostgreSQL BIGINT both decode to it through `Any`).

use std::str::FromStr;

use otklik_domain::{
    AuditEvent, AuditEventId, CategoryId, Channel, CollectedPost, CommunityId, DomainError,
    EntityKind, Message, MessageId, MessageRecord, MessageStatus, Network, NewAuditEvent,
    OfficialCommunity, Onboarding, OrgKind, Organisation, OrganisationId, Poll, PollId, PollKind,
    PollStatus, PostId, Source, SourceId, SubcategoryId, Territory, TerritoryId, TerritoryKind,
    Timestamp, User, UserId, Verification,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::codes::{CircuitState, PostKind, ReplyStatus};
use crate::communities::RegisteredCommunity;
use crate::health::SourceHealth;
use crate::outbox::{OutboundReply, ReplyId};
use crate::posts::{Classification, PostDetails};
use crate::{Result, StoreError};

pub(crate) const TERRITORY_COLS: &str = "id, code, kind, name, parent_id, name_variants";
pub(crate) const ORGANISATION_COLS: &str = "id, code, kind, name, short_name, parent_id, \
     territory_id, competences, account_ready, training_done, widget_installed, site_url";
pub(crate) const USER_COLS: &str = "id, login, full_name, email, organisation_id, confirmed";
pub(crate) const COMMUNITY_COLS: &str =
    "id, network, external_id, url, title, organisation_id, verification";
pub(crate) const SOURCE_COLS: &str = "id, name, network, target, schedule, territory_id, enabled";
pub(crate) const MESSAGE_COLS: &str = "id, status, version, channel, subcategory, territory_id, \
     executor_id, submitted_via_id, author_id, author_handle, source_post_id, text, address, \
     confidence_pm, rating, created_at, deadline_at, updated_at";
/// [`MESSAGE_COLS`] and the workflow's columns (see [`message_record`]).
pub(crate) const RECORD_COLS: &str = "id, status, version, channel, subcategory, territory_id, \
     executor_id, submitted_via_id, author_id, author_handle, source_post_id, text, address, \
     confidence_pm, rating, created_at, deadline_at, updated_at, citizen_contact, attachments, \
     external_system, external_id, source_url, fast_track, moderation_note, reject_reason_code, \
     rejection_reason, answer_text, revision_comment, clock_paused_at, paused_ms, postponements, \
     postpone_reason, first_reply_due_at, duplicate_group, answered_at, reopened, deadline_clock";
pub(crate) const POST_COLS: &str = "id, source_id, network, external_id, url, author, text, \
     published_at, collected_at, content_hash";
/// [`POST_COLS`] and the columns added for collectors and the classifier (no table prefix).
pub(crate) const POST_DETAIL_COLS: &str = "id, source_id, network, external_id, url, author, \
     text, published_at, collected_at, content_hash, updated_at, deleted, parent_external_id, \
     views, attachments, deleted_at, community_id, kind, is_complaint, subcategory, \
     confidence_pm, territory_id, classified_at, message_id";
/// [`COMMUNITY_COLS`] and the registry columns.
pub(crate) const COMMUNITY_DETAIL_COLS: &str = "id, network, external_id, url, title, \
     organisation_id, verification, resolved_name, screen_name, verified_at, last_post_at, \
     members, required, added_at";
/// A source joined with its (possibly missing) state row, as `s` and `st`.
pub(crate) const SOURCE_HEALTH_COLS: &str = "s.id, s.name, s.network, s.target, s.schedule, \
     s.territory_id, s.enabled, s.community_id, st.cursor, \
     COALESCE(st.consecutive_failures, 0) AS consecutive_failures, \
     COALESCE(st.circuit, 'closed') AS circuit, st.open_until, st.last_poll_at, \
     st.last_success_at, st.last_error_at, st.last_error, \
     COALESCE(st.items_total, 0) AS items_total, \
     COALESCE(st.items_last_poll, 0) AS items_last_poll, st.last_published_at, st.next_run_at";
pub(crate) const REPLY_COLS: &str = "id, message_id, network, target_external_id, text, \
     idempotency_key, status, attempts, next_attempt_at, lease_until, last_error, remote_id, \
     created_at, updated_at, delivered_at";
pub(crate) const POLL_COLS: &str =
    "id, organisation_id, title, kind, status, territory_id, starts_at, ends_at";
pub(crate) const AUDIT_COLS: &str = "id, at, actor_id, entity, entity_id, action, detail";

/// A boolean as stored (0/1).
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn get_i64(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

fn get_opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

fn get_string(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

fn get_opt_string(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

fn get_flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(get_i64(row, col)? != 0)
}

fn get_code<T: FromStr<Err = DomainError>>(row: &AnyRow, col: &str) -> Result<T> {
    Ok(get_string(row, col)?.parse::<T>()?)
}

/// A list of strings as JSON text.
pub(crate) fn json_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::Array(
        items
            .into_iter()
            .map(|s| serde_json::Value::String(s.to_owned()))
            .collect(),
    )
    .to_string()
}

fn get_json_list(row: &AnyRow, col: &str) -> Result<Vec<String>> {
    let text = get_string(row, col)?;
    serde_json::from_str::<Vec<String>>(&text)
        .map_err(|e| StoreError::Invalid(format!("column {col} holds malformed JSON list: {e}")))
}

pub(crate) fn territory(row: &AnyRow) -> Result<Territory> {
    Ok(Territory {
        id: TerritoryId(get_i64(row, "id")?),
        code: get_string(row, "code")?,
        kind: get_code::<TerritoryKind>(row, "kind")?,
        name: get_string(row, "name")?,
        parent: get_opt_i64(row, "parent_id")?.map(TerritoryId),
        name_variants: get_json_list(row, "name_variants")?,
    })
}

pub(crate) fn organisation(row: &AnyRow) -> Result<Organisation> {
    Ok(Organisation {
        id: OrganisationId(get_i64(row, "id")?),
        code: get_string(row, "code")?,
        kind: get_code::<OrgKind>(row, "kind")?,
        name: get_string(row, "name")?,
        short_name: get_opt_string(row, "short_name")?,
        parent: get_opt_i64(row, "parent_id")?.map(OrganisationId),
        territory: TerritoryId(get_i64(row, "territory_id")?),
        competences: get_json_list(row, "competences")?
            .into_iter()
            .map(CategoryId)
            .collect(),
        onboarding: Onboarding {
            account_ready: get_flag(row, "account_ready")?,
            training_done: get_flag(row, "training_done")?,
            widget_installed: get_flag(row, "widget_installed")?,
        },
        site_url: get_opt_string(row, "site_url")?,
    })
}

/// A user without roles (the caller loads `user_roles`).
pub(crate) fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(get_i64(row, "id")?),
        login: get_string(row, "login")?,
        full_name: get_string(row, "full_name")?,
        email: get_opt_string(row, "email")?,
        organisation: get_opt_i64(row, "organisation_id")?.map(OrganisationId),
        confirmed: get_flag(row, "confirmed")?,
        roles: Vec::new(),
    })
}

pub(crate) fn community(row: &AnyRow) -> Result<OfficialCommunity> {
    Ok(OfficialCommunity {
        id: CommunityId(get_i64(row, "id")?),
        network: get_code::<Network>(row, "network")?,
        external_id: get_string(row, "external_id")?,
        url: get_string(row, "url")?,
        title: get_string(row, "title")?,
        organisation: OrganisationId(get_i64(row, "organisation_id")?),
        verification: get_code::<Verification>(row, "verification")?,
    })
}

pub(crate) fn source(row: &AnyRow) -> Result<Source> {
    Ok(Source {
        id: SourceId(get_i64(row, "id")?),
        name: get_string(row, "name")?,
        network: get_code::<Network>(row, "network")?,
        target: get_string(row, "target")?,
        schedule: get_string(row, "schedule")?,
        territory: get_opt_i64(row, "territory_id")?.map(TerritoryId),
        enabled: get_flag(row, "enabled")?,
    })
}

pub(crate) fn message(row: &AnyRow) -> Result<Message> {
    Ok(Message {
        id: MessageId(get_i64(row, "id")?),
        status: get_code::<MessageStatus>(row, "status")?,
        version: get_i64(row, "version")?,
        channel: get_code::<Channel>(row, "channel")?,
        subcategory: SubcategoryId(get_string(row, "subcategory")?),
        territory: get_opt_i64(row, "territory_id")?.map(TerritoryId),
        executor: get_opt_i64(row, "executor_id")?.map(OrganisationId),
        submitted_via: get_opt_i64(row, "submitted_via_id")?.map(OrganisationId),
        author: get_opt_i64(row, "author_id")?.map(UserId),
        author_handle: get_opt_string(row, "author_handle")?,
        source_post: get_opt_i64(row, "source_post_id")?.map(PostId),
        text: get_string(row, "text")?,
        address: get_opt_string(row, "address")?,
        confidence_pm: get_opt_i64(row, "confidence_pm")?,
        rating: get_opt_i64(row, "rating")?,
        created_at: Timestamp(get_i64(row, "created_at")?),
        deadline_at: Timestamp(get_i64(row, "deadline_at")?),
        updated_at: Timestamp(get_i64(row, "updated_at")?),
    })
}

pub(crate) fn message_record(row: &AnyRow) -> Result<MessageRecord> {
    Ok(MessageRecord {
        message: message(row)?,
        citizen_contact: get_opt_string(row, "citizen_contact")?,
        attachments: get_json_list(row, "attachments")?,
        external_system: get_opt_string(row, "external_system")?,
        external_id: get_opt_string(row, "external_id")?,
        source_url: get_opt_string(row, "source_url")?,
        fast_track: get_flag(row, "fast_track")?,
        moderation_note: get_opt_string(row, "moderation_note")?,
        reject_reason_code: get_opt_string(row, "reject_reason_code")?,
        rejection_reason: get_opt_string(row, "rejection_reason")?,
        answer_text: get_opt_string(row, "answer_text")?,
        revision_comment: get_opt_string(row, "revision_comment")?,
        clock_paused_at: get_opt_i64(row, "clock_paused_at")?.map(Timestamp),
        paused_ms: get_i64(row, "paused_ms")?,
        postponements: get_i64(row, "postponements")?,
        postpone_reason: get_opt_string(row, "postpone_reason")?,
        first_reply_due_at: get_opt_i64(row, "first_reply_due_at")?.map(Timestamp),
        duplicate_group: get_opt_i64(row, "duplicate_group")?.map(MessageId),
        answered_at: get_opt_i64(row, "answered_at")?.map(Timestamp),
        reopened: get_i64(row, "reopened")?,
        deadline_clock: get_opt_string(row, "deadline_clock")?,
    })
}

pub(crate) fn post(row: &AnyRow) -> Result<CollectedPost> {
    Ok(CollectedPost {
        id: PostId(get_i64(row, "id")?),
        source: SourceId(get_i64(row, "source_id")?),
        network: get_code::<Network>(row, "network")?,
        external_id: get_string(row, "external_id")?,
        url: get_opt_string(row, "url")?,
        author: get_opt_string(row, "author")?,
        text: get_string(row, "text")?,
        published_at: Timestamp(get_i64(row, "published_at")?),
        collected_at: Timestamp(get_i64(row, "collected_at")?),
        content_hash: get_string(row, "content_hash")?,
    })
}

pub(crate) fn poll(row: &AnyRow) -> Result<Poll> {
    Ok(Poll {
        id: PollId(get_i64(row, "id")?),
        organisation: OrganisationId(get_i64(row, "organisation_id")?),
        title: get_string(row, "title")?,
        kind: get_code::<PollKind>(row, "kind")?,
        status: get_code::<PollStatus>(row, "status")?,
        territory: get_opt_i64(row, "territory_id")?.map(TerritoryId),
        starts_at: Timestamp(get_i64(row, "starts_at")?),
        ends_at: Timestamp(get_i64(row, "ends_at")?),
    })
}

pub(crate) fn audit_event(row: &AnyRow) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: AuditEventId(get_i64(row, "id")?),
        event: NewAuditEvent {
            actor: get_opt_i64(row, "actor_id")?.map(UserId),
            entity: get_code::<EntityKind>(row, "entity")?,
            entity_id: get_i64(row, "entity_id")?,
            action: get_string(row, "action")?,
            detail: get_string(row, "detail")?,
            at: Timestamp(get_i64(row, "at")?),
        },
    })
}

pub(crate) fn post_details(row: &AnyRow) -> Result<PostDetails> {
    let classification = match get_opt_i64(row, "classified_at")? {
        Some(at) => Some(Classification {
            kind: match get_opt_string(row, "kind")? {
                Some(kind) => kind.parse::<PostKind>()?,
                None => {
                    return Err(StoreError::Invalid(
                        "a classified post has no kind".to_owned(),
                    ));
                }
            },
            is_complaint: get_opt_i64(row, "is_complaint")?.is_some_and(|v| v != 0),
            subcategory: get_opt_string(row, "subcategory")?.map(SubcategoryId),
            confidence_pm: get_opt_i64(row, "confidence_pm")?,
            territory: get_opt_i64(row, "territory_id")?.map(TerritoryId),
            classified_at: Timestamp(at),
        }),
        None => None,
    };
    Ok(PostDetails {
        post: post(row)?,
        updated_at: Timestamp(get_i64(row, "updated_at")?),
        parent_external_id: get_opt_string(row, "parent_external_id")?,
        views: get_opt_i64(row, "views")?,
        attachments: get_json_list(row, "attachments")?,
        deleted: get_flag(row, "deleted")?,
        deleted_at: get_opt_i64(row, "deleted_at")?.map(Timestamp),
        community: get_opt_i64(row, "community_id")?.map(CommunityId),
        classification,
        message: get_opt_i64(row, "message_id")?.map(MessageId),
    })
}

pub(crate) fn registered_community(row: &AnyRow) -> Result<RegisteredCommunity> {
    Ok(RegisteredCommunity {
        community: community(row)?,
        resolved_name: get_opt_string(row, "resolved_name")?,
        screen_name: get_opt_string(row, "screen_name")?,
        verified_at: get_opt_i64(row, "verified_at")?.map(Timestamp),
        last_post_at: get_opt_i64(row, "last_post_at")?.map(Timestamp),
        members: get_opt_i64(row, "members")?,
        required: get_flag(row, "required")?,
        added_at: get_opt_i64(row, "added_at")?.map(Timestamp),
    })
}

pub(crate) fn source_health(row: &AnyRow) -> Result<SourceHealth> {
    Ok(SourceHealth {
        source: source(row)?,
        community: get_opt_i64(row, "community_id")?.map(CommunityId),
        cursor: get_opt_string(row, "cursor")?,
        consecutive_failures: get_i64(row, "consecutive_failures")?,
        circuit: get_string(row, "circuit")?.parse::<CircuitState>()?,
        open_until: get_opt_i64(row, "open_until")?.map(Timestamp),
        last_poll_at: get_opt_i64(row, "last_poll_at")?.map(Timestamp),
        last_success_at: get_opt_i64(row, "last_success_at")?.map(Timestamp),
        last_error_at: get_opt_i64(row, "last_error_at")?.map(Timestamp),
        last_error: get_opt_string(row, "last_error")?,
        items_total: get_i64(row, "items_total")?,
        items_last_poll: get_i64(row, "items_last_poll")?,
        last_published_at: get_opt_i64(row, "last_published_at")?.map(Timestamp),
        next_run_at: get_opt_i64(row, "next_run_at")?.map(Timestamp),
    })
}

pub(crate) fn reply(row: &AnyRow) -> Result<OutboundReply> {
    Ok(OutboundReply {
        id: ReplyId(get_i64(row, "id")?),
        message: MessageId(get_i64(row, "message_id")?),
        network: get_code::<Network>(row, "network")?,
        target_external_id: get_string(row, "target_external_id")?,
        text: get_string(row, "text")?,
        idempotency_key: get_string(row, "idempotency_key")?,
        status: get_string(row, "status")?.parse::<ReplyStatus>()?,
        attempts: get_i64(row, "attempts")?,
        next_attempt_at: Timestamp(get_i64(row, "next_attempt_at")?),
        lease_until: get_opt_i64(row, "lease_until")?.map(Timestamp),
        last_error: get_opt_string(row, "last_error")?,
        remote_id: get_opt_string(row, "remote_id")?,
        created_at: Timestamp(get_i64(row, "created_at")?),
        updated_at: Timestamp(get_i64(row, "updated_at")?),
        delivered_at: get_opt_i64(row, "delivered_at")?.map(Timestamp),
    })
}

/// Reads a column by name as `i64` (for ad-hoc queries such as counts).
pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64> {
    get_i64(row, col)
}

/// Reads a column by name as `String`.
pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String> {
    get_string(row, col)
}

/// Reads a nullable integer column by name.
pub(crate) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    get_opt_i64(row, col)
}

/// Reads a nullable text column by name.
pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    get_opt_string(row, col)
}
