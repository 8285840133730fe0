//! Typed ids: an `OrganisationId` can never be passed where a `UserId` is expected.

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw database value.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    )+};
}

typed_id!(
    /// A territory (region, district, settlement).
    TerritoryId,
    /// An organisation (РОИВ, ОМСУ, institution).
    OrganisationId,
    /// A staff member or citizen account.
    UserId,
    /// A message (appeal) in the workflow.
    MessageId,
    /// A collector source (a feed, a channel, a community wall).
    SourceId,
    /// A collected post or comment.
    PostId,
    /// An official community (госпаблик).
    CommunityId,
    /// A poll.
    PollId,
    /// One answer option of a poll (a choice, a ranked item, a budget project).
    PollOptionId,
    /// A citizen's ballot in a poll (one per identity; a re-vote replaces it in place).
    BallotId,
    /// An audit event.
    AuditEventId,
);
