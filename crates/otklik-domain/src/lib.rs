//! # otklik-domain
//!
//! The shared vocabulary of Otklik: every pipeline stage (collect → text → classify → route →
//! workflow → store/search → web) speaks in these types. The crate does no I/O: no files, no
//! network, no clock. Time is passed in as [`Timestamp`] (milliseconds since the Unix epoch).
//!
//! ```
//! use otklik_domain::{MessageStatus, Transition, Role, role_may};
//!
//! // A moderator accepts a new message: it moves on to coordination.
//! let next = MessageStatus::Moderation.apply(Transition::Accept).unwrap();
//! assert_eq!(next, MessageStatus::Coordination);
//! assert!(role_may(Role::Moderator, Transition::Accept));
//! assert!(!role_may(Role::Executor, Transition::Accept));
//! ```

#[macro_use]
mod codes;
mod audit;
mod category;
mod community;
pub mod directory;
mod error;
mod ids;
mod message;
mod organisation;
mod poll;
mod role;
mod source;
mod territory;
mod time;

pub use audit::{AuditEvent, EntityKind, NewAuditEvent};
pub use category::{Category, CategoryId, CategoryTree, FastTrack, Subcategory, SubcategoryId};
pub use community::{OfficialCommunity, Verification};
pub use error::DomainError;
pub use ids::{
    AuditEventId, BallotId, CommunityId, MessageId, OrganisationId, PollId, PollOptionId, PostId,
    SourceId, TerritoryId, UserId,
};
pub use message::{
    Channel, Message, MessageRecord, MessageStatus, NewMessage, Transition, check_rating,
};
pub use organisation::{Onboarding, OrgKind, Organisation};
pub use poll::{Poll, PollKind, PollStatus, ResultsVisibility};
pub use role::{Role, RoleGrant, User, role_may};
pub use source::{CollectedPost, Network, Source};
pub use territory::{Territory, TerritoryKind};
pub use time::Timestamp;
