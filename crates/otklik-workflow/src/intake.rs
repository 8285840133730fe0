//! What the channels bring: direct submissions (widget, portal, mobile app), incidents found by
//! the collectors, and submissions of integrated external systems.

use otklik_domain::{
    Channel, MessageRecord, OrganisationId, PostId, SubcategoryId, TerritoryId, UserId,
};
use otklik_store::AttachmentId;
use serde::{Deserialize, Serialize};

/// Longest accepted message text, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Most attachments per message.
pub const MAX_ATTACHMENTS: usize = 10;

/// A citizen's message through the widget on an organisation's site, the portal form or a
/// mobile application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// [`Channel::Widget`], [`Channel::Portal`] or [`Channel::MobileApp`].
    pub channel: Channel,
    /// The citizen's text.
    pub text: String,
    /// The subcategory the citizen chose; without one the message waits for the moderator
    /// under the configured «unclassified» subcategory.
    pub category_hint: Option<SubcategoryId>,
    /// Territory of the problem.
    pub territory: Option<TerritoryId>,
    /// Address or place.
    pub address: Option<String>,
    /// The organisation whose widget received it («по месту подачи»).
    pub submitted_via: Option<OrganisationId>,
    /// The citizen's account (ЕСИА), when logged in.
    pub author: Option<UserId>,
    /// E-mail or phone for the answer.
    pub contact: Option<String>,
    /// Ids of attachments already uploaded to the attachments store (the decimal id
    /// `Store::save_attachment` returned, which checked type and size): each must exist and
    /// belong to no other message — an unknown id is [`crate::WorkflowError::Invalid`] — and
    /// is linked to the message in its transaction; the ids are kept with the message.
    pub attachments: Vec<String>,
}

/// A complaint found by the collectors in a social network or an open source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// The stored post.
    pub post: PostId,
    /// Link to the post.
    pub source_url: Option<String>,
    /// Its author's handle in the network.
    pub author_handle: Option<String>,
    /// The post's text.
    pub text: String,
    /// Territory detected.
    pub territory: Option<TerritoryId>,
    /// Street or place detected.
    pub address: Option<String>,
    /// Subcategory by the classifier.
    pub subcategory: SubcategoryId,
    /// The classifier's confidence, per mille.
    pub confidence_pm: i64,
}

/// A message handed over by an integrated external feedback system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationSubmission {
    /// The external system's registered id («gosuslugi-pos», «region-portal»).
    pub system: String,
    /// The message's id in that system; (system, external id) is unique.
    pub external_id: String,
    /// The text.
    pub text: String,
    /// Subcategory, when the system classifies.
    pub category_hint: Option<SubcategoryId>,
    /// Territory.
    pub territory: Option<TerritoryId>,
    /// Address.
    pub address: Option<String>,
    /// Contact for the answer.
    pub contact: Option<String>,
    /// Attachment ids.
    pub attachments: Vec<String>,
}

/// The result of an intake call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The registered message (after the automatic acceptance of a confident incident).
    pub record: MessageRecord,
    /// The key was seen before with the same payload: this is the first call's message.
    pub replayed: bool,
    /// Why this executor (Russian), or why the message waits for the moderator.
    pub note: Option<String>,
}

pub(crate) fn check_text(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("message text must not be empty".into());
    }
    let n = text.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(format!(
            "message text has {n} characters, at most {MAX_TEXT_CHARS} are accepted"
        ));
    }
    Ok(())
}

pub(crate) fn check_attachments(ids: &[String]) -> Result<(), String> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(format!(
            "{} attachments, at most {MAX_ATTACHMENTS} are accepted",
            ids.len()
        ));
    }
    for id in ids {
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
        if !ok {
            return Err(format!("bad attachment id {id:?}"));
        }
    }
    Ok(())
}

/// The attachments-store ids of a direct submission: at most [`MAX_ATTACHMENTS`], each a
/// positive decimal id, none twice.
pub(crate) fn attachment_ids(ids: &[String]) -> Result<Vec<AttachmentId>, String> {
    if ids.len() > MAX_ATTACHMENTS {
        return Err(format!(
            "{} attachments, at most {MAX_ATTACHMENTS} are accepted",
            ids.len()
        ));
    }
    let mut out: Vec<AttachmentId> = Vec::with_capacity(ids.len());
    for raw in ids {
        let id = raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0 && raw.trim().bytes().all(|b| b.is_ascii_digit()))
            .map(AttachmentId)
            .ok_or_else(|| {
                format!("bad attachment id {raw:?}: give the number the upload returned")
            })?;
        if out.contains(&id) {
            return Err(format!("attachment {id} is given twice"));
        }
        out.push(id);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_attachments_are_checked() {
        assert!(check_text("  ").is_err());
        assert!(check_text("Яма").is_ok());
        assert!(check_text(&"я".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(check_attachments(&["sha256:ab12".into()]).is_ok());
        assert!(check_attachments(&["../etc/passwd".into()]).is_err());
        assert!(check_attachments(&vec!["a".to_owned(); MAX_ATTACHMENTS + 1]).is_err());
    }

    #[test]
    fn attachment_ids_are_upload_ids() {
        assert_eq!(
            attachment_ids(&["7".into(), " 12 ".into()]),
            Ok(vec![AttachmentId(7), AttachmentId(12)])
        );
        for bad in [
            "0",
            "-3",
            "+4",
            "sha256:ab12",
            "",
            "1e3",
            "99999999999999999999",
        ] {
            assert!(attachment_ids(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(
            attachment_ids(&["5".into(), "5".into()])
                .unwrap_err()
                .contains("twice")
        );
        assert!(attachment_ids(&vec!["1".to_owned(); MAX_ATTACHMENTS + 1]).is_err());
    }
}
