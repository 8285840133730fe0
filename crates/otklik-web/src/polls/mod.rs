//! «Голосования» on the web: the back-office pages of poll managers and moderators, the
//! citizens' poll pages and the embeddable poll widget, and the public JSON endpoints — all
//! over one [`otklik_polls::Polls`] service ([`AppState::with_polls`]; without it these
//! pages answer 503).
//!
//! * **Staff** (`/office/polls…`, the back-office session, every POST behind
//!   [`crate::auth::csrf_guard`]): poll managers create and edit drafts of every kind
//!   (audience, schedule, topic from the region's list, options, budget cap, min/max) and send
//!   them to moderation; a moderator of the organisation (or above it) approves or returns
//!   them; managers and moderators close them. A poll is visible to staff whose poll-manager,
//!   moderator, regional-administrator or analyst grant covers its organisation; others get
//!   404. Results pages draw inline SVG bar charts with the numbers in a table beside them,
//!   and offer CSV and XLSX downloads; results hidden until close stay hidden to staff too.
//! * **Citizens** (`/polls`, `/polls/{id}`, `/polls/{id}/results`) and the **widget**
//!   (`/polls/widget.js` adds a frame of `/widget/poll/{id}`, one of the `/widget/…` pages
//!   other sites may frame): voting needs the citizen's OIDC sign-in; the voter's identity is
//!   the account's login, itself derived from the keyed hash of the OIDC subject, and
//!   `otklik-polls` keeps only its keyed hash per poll. Every vote form carries the session's
//!   CSRF token and an idempotency key; votes are rate-limited per client address (the API's
//!   token buckets, `api::limit::Limiter`, on the server's rate clock), on top of the
//!   server-wide limit of form submissions. The identity provider does not tell the
//!   voter's territory or age today: a poll with a territory asks the voter to choose where
//!   they live, a poll with a minimum age asks them to confirm it (declarations, recorded
//!   with the vote's territory).
//! * **JSON** (`GET /api/v1/polls`, `GET /api/v1/polls/{id}/results`): published and closed
//!   polls and their results, public like the categories (results hidden until close answer
//!   `403 results_hidden`). Described in the OpenAPI document.

mod api;
mod charts;
mod office;
mod public;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use otklik_domain::Timestamp;
use otklik_polls::Polls;

use crate::AppState;
use crate::api::limit::Limiter;

pub(crate) use api::listed as api_routes_listed;

/// Roles that see the polls of the organisations their grant covers in the back-office.
pub(crate) const STAFF_ROLES: [otklik_domain::Role; 4] = [
    otklik_domain::Role::PollManager,
    otklik_domain::Role::Moderator,
    otklik_domain::Role::RegionAdmin,
    otklik_domain::Role::Analyst,
];

/// Votes a minute one client address may send unless configured otherwise.
pub const DEFAULT_VOTES_PER_MINUTE: i64 = 60;

/// The polls service with the web layer's per-client limiter.
#[derive(Debug, Clone)]
pub(crate) struct PollsWeb {
    pub polls: Polls,
    limiter: Arc<Limiter<String>>,
    votes_per_minute: i64,
}

impl AppState {
    /// Serves «Голосования» over `polls` (staff pages, citizen pages, widget, JSON). The vote
    /// limiter reads the rate-limit clock set so far ([`Self::with_rate_clock`] first).
    #[must_use]
    pub fn with_polls(self, polls: Polls) -> Self {
        let clock = self.rate_clock();
        let inner = Arc::unwrap_or_clone(self.inner);
        Self {
            inner: Arc::new(crate::Inner {
                polls: Some(PollsWeb {
                    polls,
                    limiter: Arc::new(Limiter::new(clock)),
                    votes_per_minute: DEFAULT_VOTES_PER_MINUTE,
                }),
                ..inner
            }),
        }
    }

    /// At most `n` votes a minute from one client address (default 60; bursts of `n / 6`
    /// pass). Call after [`Self::with_polls`].
    #[must_use]
    pub fn with_poll_vote_rate(self, n: i64) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        let polls = inner.polls.clone().map(|p| PollsWeb {
            votes_per_minute: n.max(1),
            ..p
        });
        Self {
            inner: Arc::new(crate::Inner { polls, ..inner }),
        }
    }

    pub(crate) fn polls_web(&self) -> Option<&PollsWeb> {
        self.inner.polls.as_ref()
    }
}

impl PollsWeb {
    /// Takes one vote from the client address's bucket; `Err(seconds)` to wait.
    pub(crate) fn limit(&self, client: Option<&str>) -> Result<(), u64> {
        self.limiter.check(
            client.unwrap_or("-").to_owned(),
            Some(self.votes_per_minute),
        )
    }
}

/// The polls routes (staff pages behind the CSRF guard, citizen pages, widget, JSON).
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let office = Router::new()
        .route("/office/polls", get(office::list))
        .route(
            "/office/polls/new",
            get(office::new_form).post(office::create),
        )
        .route("/office/polls/{id}", get(office::card))
        .route("/office/polls/{id}/edit", post(office::edit))
        .route("/office/polls/{id}/step", post(office::step))
        .route("/office/polls/{id}/results", get(office::results))
        .route("/office/polls/{id}/results.csv", get(office::results_csv))
        .route("/office/polls/{id}/results.xlsx", get(office::results_xlsx))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::csrf_guard,
        ));
    let citizen = Router::new()
        .route("/polls", get(public::list))
        .route("/polls/widget.js", get(public::script))
        .route("/polls/{id}", get(public::page).post(public::vote_page))
        .route("/polls/{id}/results", get(public::results))
        .route(
            "/widget/poll/{id}",
            get(public::widget).post(public::vote_widget),
        );
    office.merge(citizen).merge(api::router())
}

/// The current time.
pub(crate) fn now() -> Timestamp {
    crate::auth::now()
}

/// Parses a poll id from the path (`None`: not a number, answer 404).
pub(crate) fn poll_id(raw: &str) -> Option<otklik_domain::PollId> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(otklik_domain::PollId)
}

/// A date and time as «01.12.2025 10:00» Moscow time.
pub(crate) fn fmt_time(t: Timestamp) -> String {
    crate::backoffice::fmt_time(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_pages_in_widgets_are_framable_and_ids_parse() {
        // The framed poll lives under /widget/, the only framable prefix.
        assert!(crate::citizen::widget::framable("/widget/poll/5"));
        assert!(!crate::citizen::widget::framable("/polls/5"));
        assert_eq!(poll_id("5"), Some(otklik_domain::PollId(5)));
        assert_eq!(poll_id("-1"), None);
        assert_eq!(poll_id("x"), None);
    }
}
