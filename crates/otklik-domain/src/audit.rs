use serde::{Deserialize, Serialize};

use crate::{AuditEventId, Timestamp, UserId};

code_enum! {
    /// What an audit event is about.
    EntityKind, "entity kind" {
        /// A message.
        Message = "message", "Сообщение";
        /// An organisation.
        Organisation = "organisation", "Организация";
        /// A user.
        User = "user", "Пользователь";
        /// A territory.
        Territory = "territory", "Территория";
        /// An official community.
        Community = "community", "Госпаблик";
        /// A collector source.
        Source = "source", "Источник";
        /// A poll.
        Poll = "poll", "Голосование";
        /// An import batch.
        Import = "import", "Импорт";
    }
}

/// An audit event to be written in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    /// Who acted; `None` for the system (collectors, timers).
    pub actor: Option<UserId>,
    /// What kind of entity changed.
    pub entity: EntityKind,
    /// Its id.
    pub entity_id: i64,
    /// The action code («transition:accept», «created»).
    pub action: String,
    /// Details as a JSON text.
    pub detail: String,
    /// When.
    pub at: Timestamp,
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Database id (monotonic).
    pub id: AuditEventId,
    /// The event.
    #[serde(flatten)]
    pub event: NewAuditEvent,
}
