use serde::{Deserialize, Serialize};

use crate::{OrganisationId, PollId, TerritoryId, Timestamp};

code_enum! {
    /// Kind of a poll question.
    PollKind, "poll kind" {
        /// One option.
        SingleChoice = "single", "Один вариант";
        /// Several options within min/max.
        MultipleChoice = "multiple", "Несколько вариантов";
        /// Options ranked.
        Ranking = "ranking", "Ранжирование";
        /// Free text.
        FreeText = "free_text", "Свободный ответ";
        /// Projects chosen within a budget cap.
        Budget = "budget", "Распределение бюджета";
    }
}

code_enum! {
    /// Life cycle of a poll.
    PollStatus, "poll status" {
        /// Being prepared.
        Draft = "draft", "Черновик";
        /// Waiting for the moderator.
        Review = "review", "На модерации";
        /// Open for votes.
        Published = "published", "Опубликовано";
        /// Finished.
        Closed = "closed", "Завершено";
    }
}

code_enum! {
    /// When a poll's results may be seen.
    ResultsVisibility, "results visibility" {
        /// While voting goes on.
        Live = "live", "Видны во время голосования";
        /// Only once the poll is closed (or its end time has passed).
        AfterClose = "after_close", "Видны после завершения";
    }
}

/// A public vote run by a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    /// Database id.
    pub id: PollId,
    /// Body running it.
    pub organisation: OrganisationId,
    /// Title.
    pub title: String,
    /// Question kind.
    pub kind: PollKind,
    /// Status.
    pub status: PollStatus,
    /// Audience territory.
    pub territory: Option<TerritoryId>,
    /// Opens.
    pub starts_at: Timestamp,
    /// Closes.
    pub ends_at: Timestamp,
}
