//! Ballots: what a citizen sends, checked against the poll's rules (pure functions), and
//! their canonical form (what is stored, and the hash an idempotency key is bound to).

use std::collections::HashSet;

use otklik_domain::{PollKind, PollOptionId};
use otklik_store::{BallotChoice, PollDetails};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::definition::{DEFAULT_TEXT_CHARS, choice_bounds};
use crate::error::BallotError;

/// A citizen's answer, as the web layer receives it (JSON: `{"kind":"single","option":7}`,
/// `{"kind":"ranking","options":[3,1,2]}`, `{"kind":"free_text","text":"…"}`,
/// `{"kind":"budget","projects":[4,6]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Ballot {
    /// Single choice: one option.
    Single {
        /// The option.
        option: PollOptionId,
    },
    /// Multiple choice: several options (order does not matter).
    Multiple {
        /// The options.
        options: Vec<PollOptionId>,
    },
    /// Ranking: options best first.
    Ranking {
        /// The options, best first.
        options: Vec<PollOptionId>,
    },
    /// Free text.
    FreeText {
        /// The answer.
        text: String,
    },
    /// Budget allocation: the projects to fund (order does not matter).
    Budget {
        /// The projects.
        projects: Vec<PollOptionId>,
    },
}

impl Ballot {
    /// The poll kind this ballot answers.
    pub fn kind(&self) -> PollKind {
        match self {
            Self::Single { .. } => PollKind::SingleChoice,
            Self::Multiple { .. } => PollKind::MultipleChoice,
            Self::Ranking { .. } => PollKind::Ranking,
            Self::FreeText { .. } => PollKind::FreeText,
            Self::Budget { .. } => PollKind::Budget,
        }
    }
}

/// A ballot that passed [`check_ballot`]: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBallot {
    /// Options picked; ranking: in rank order with ranks 1, 2, …; otherwise sorted by id.
    pub choices: Vec<BallotChoice>,
    /// Free-text answer (trimmed).
    pub text: Option<String>,
    /// Budget allocation: the chosen projects' total cost.
    pub total_cost: Option<i64>,
    /// SHA-256 (hex) of the canonical form: same answer, same hash.
    pub payload_hash: String,
}

/// Checks `ballot` against `poll`'s rules:
///
/// * the ballot's kind is the poll's;
/// * every option is one of the poll's, none twice;
/// * single choice: exactly one; multiple choice, ranking and budget: between the poll's
///   minimum and maximum ([`choice_bounds`]);
/// * budget: the projects' costs sum to the cap at most;
/// * free text: not empty once trimmed, at most the poll's limit in characters, no control
///   characters other than line breaks and tabs.
pub fn check_ballot(poll: &PollDetails, ballot: &Ballot) -> Result<CheckedBallot, BallotError> {
    let kind = poll.poll.kind;
    if ballot.kind() != kind {
        return Err(BallotError::WrongKind {
            expected: kind,
            got: ballot.kind(),
        });
    }
    let (min, max) = choice_bounds(kind, poll.min_choices, poll.max_choices, poll.options.len());
    let picked: &[PollOptionId] = match ballot {
        Ballot::Single { option } => std::slice::from_ref(option),
        Ballot::Multiple { options } | Ballot::Ranking { options } => options,
        Ballot::Budget { projects } => projects,
        Ballot::FreeText { text } => return check_text(poll, text),
    };
    let mut seen = HashSet::with_capacity(picked.len());
    let mut total_cost: i64 = 0;
    for id in picked {
        let option = poll.option(*id).ok_or(BallotError::UnknownOption(*id))?;
        if !seen.insert(*id) {
            return Err(BallotError::DuplicateOption(*id));
        }
        total_cost = total_cost.saturating_add(option.cost.unwrap_or(0));
    }
    if picked.len() < usize::try_from(min).unwrap_or(usize::MAX) {
        return Err(BallotError::TooFew {
            min,
            got: picked.len(),
        });
    }
    if picked.len() > usize::try_from(max).unwrap_or(usize::MAX) {
        return Err(BallotError::TooMany {
            max,
            got: picked.len(),
        });
    }
    let mut total = None;
    if kind == PollKind::Budget {
        let cap = poll.budget_cap.unwrap_or(0);
        if total_cost > cap {
            return Err(BallotError::OverBudget {
                cap,
                total: total_cost,
            });
        }
        total = Some(total_cost);
    }
    let choices: Vec<BallotChoice> = if kind == PollKind::Ranking {
        picked
            .iter()
            .zip(1u32..)
            .map(|(id, rank)| BallotChoice {
                option: *id,
                rank: Some(rank),
            })
            .collect()
    } else {
        let mut ids = picked.to_vec();
        ids.sort_unstable();
        ids.into_iter()
            .map(|option| BallotChoice { option, rank: None })
            .collect()
    };
    let mut canonical = format!("{}\n", kind.code());
    for c in &choices {
        canonical.push_str(&format!("{}:{}\n", c.option, c.rank.unwrap_or(0)));
    }
    Ok(CheckedBallot {
        choices,
        text: None,
        total_cost: total,
        payload_hash: sha256_hex(&canonical),
    })
}

fn check_text(poll: &PollDetails, text: &str) -> Result<CheckedBallot, BallotError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(BallotError::EmptyText);
    }
    let max = poll.max_text_chars.unwrap_or(DEFAULT_TEXT_CHARS);
    let chars = text.chars().count();
    if chars > usize::try_from(max).unwrap_or(usize::MAX) {
        return Err(BallotError::TextTooLong { max, got: chars });
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(BallotError::ControlCharacters);
    }
    Ok(CheckedBallot {
        choices: Vec::new(),
        text: Some(text.to_owned()),
        total_cost: None,
        payload_hash: sha256_hex(&format!("{}\n{text}", PollKind::FreeText.code())),
    })
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
pub(crate) mod tests {
    use otklik_domain::{OrganisationId, Poll, PollId, PollStatus, ResultsVisibility, Timestamp};
    use otklik_store::PollOption;

    use super::*;

    /// A published poll of `kind` with options 1…n (costs 100·id for budget polls).
    pub(crate) fn poll(kind: PollKind, n: i64) -> PollDetails {
        PollDetails {
            poll: Poll {
                id: PollId(1),
                organisation: OrganisationId(1),
                title: "Опрос".into(),
                kind,
                status: PollStatus::Published,
                territory: None,
                starts_at: Timestamp(0),
                ends_at: Timestamp(10_000),
            },
            description: String::new(),
            topic: None,
            min_age: None,
            min_choices: None,
            max_choices: None,
            budget_cap: (kind == PollKind::Budget).then_some(500),
            max_text_chars: None,
            allow_revote: false,
            results: ResultsVisibility::Live,
            settings: "{}".into(),
            options: if kind == PollKind::FreeText {
                vec![]
            } else {
                (1..=n)
                    .map(|i| PollOption {
                        id: PollOptionId(i),
                        position: u32::try_from(i - 1).unwrap_or(0),
                        label: format!("Вариант {i}"),
                        description: String::new(),
                        cost: (kind == PollKind::Budget).then_some(100 * i),
                    })
                    .collect()
            },
            created_by: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            submitted_at: None,
            reviewed_by: None,
            reviewed_at: None,
            review_note: None,
            published_at: None,
            closed_at: None,
        }
    }

    fn ids(v: &[i64]) -> Vec<PollOptionId> {
        v.iter().copied().map(PollOptionId).collect()
    }

    #[test]
    fn single_choice() {
        let p = poll(PollKind::SingleChoice, 3);
        let ok = check_ballot(
            &p,
            &Ballot::Single {
                option: PollOptionId(2),
            },
        )
        .expect("valid");
        assert_eq!(
            ok.choices,
            vec![BallotChoice {
                option: PollOptionId(2),
                rank: None
            }]
        );
        assert_eq!(
            check_ballot(
                &p,
                &Ballot::Single {
                    option: PollOptionId(9)
                }
            ),
            Err(BallotError::UnknownOption(PollOptionId(9)))
        );
        assert_eq!(
            check_ballot(&p, &Ballot::Multiple { options: ids(&[1]) }),
            Err(BallotError::WrongKind {
                expected: PollKind::SingleChoice,
                got: PollKind::MultipleChoice
            })
        );
    }

    #[test]
    fn multiple_choice_min_max_and_duplicates() {
        let mut p = poll(PollKind::MultipleChoice, 5);
        p.min_choices = Some(2);
        p.max_choices = Some(3);
        let b = |v: &[i64]| check_ballot(&p, &Ballot::Multiple { options: ids(v) });
        assert_eq!(b(&[1]), Err(BallotError::TooFew { min: 2, got: 1 }));
        assert_eq!(
            b(&[1, 2, 3, 4]),
            Err(BallotError::TooMany { max: 3, got: 4 })
        );
        assert_eq!(
            b(&[1, 1]),
            Err(BallotError::DuplicateOption(PollOptionId(1)))
        );
        assert_eq!(b(&[]), Err(BallotError::TooFew { min: 2, got: 0 }));
        // Order does not matter: same canonical form, same hash.
        let x = b(&[3, 1]).expect("valid");
        let y = b(&[1, 3]).expect("valid");
        assert_eq!(x, y);
        assert_eq!(x.choices[0].option, PollOptionId(1));
    }

    #[test]
    fn ranking_keeps_order_and_ranks() {
        let p = poll(PollKind::Ranking, 3);
        let r = check_ballot(
            &p,
            &Ballot::Ranking {
                options: ids(&[3, 1, 2]),
            },
        )
        .expect("valid");
        assert_eq!(
            r.choices,
            vec![
                BallotChoice {
                    option: PollOptionId(3),
                    rank: Some(1)
                },
                BallotChoice {
                    option: PollOptionId(1),
                    rank: Some(2)
                },
                BallotChoice {
                    option: PollOptionId(2),
                    rank: Some(3)
                },
            ]
        );
        let other = check_ballot(
            &p,
            &Ballot::Ranking {
                options: ids(&[1, 3, 2]),
            },
        )
        .expect("ok");
        assert_ne!(r.payload_hash, other.payload_hash);
        // By default every option is ranked.
        assert_eq!(
            check_ballot(
                &p,
                &Ballot::Ranking {
                    options: ids(&[3, 1])
                }
            ),
            Err(BallotError::TooFew { min: 3, got: 2 })
        );
    }

    #[test]
    fn budget_cap_is_enforced() {
        // Costs 100, 200, 300, 400; cap 500.
        let p = poll(PollKind::Budget, 4);
        let ok = check_ballot(
            &p,
            &Ballot::Budget {
                projects: ids(&[2, 3]),
            },
        )
        .expect("500 fits");
        assert_eq!(ok.total_cost, Some(500));
        assert_eq!(
            check_ballot(
                &p,
                &Ballot::Budget {
                    projects: ids(&[1, 2, 3])
                }
            ),
            Err(BallotError::OverBudget {
                cap: 500,
                total: 600
            })
        );
        assert_eq!(
            check_ballot(&p, &Ballot::Budget { projects: vec![] }),
            Err(BallotError::TooFew { min: 1, got: 0 })
        );
    }

    #[test]
    fn free_text() {
        let mut p = poll(PollKind::FreeText, 0);
        p.max_text_chars = Some(5);
        let t = |s: &str| check_ballot(&p, &Ballot::FreeText { text: s.into() });
        assert_eq!(t("  Парк \n").expect("ok").text.as_deref(), Some("Парк"));
        assert_eq!(t("   "), Err(BallotError::EmptyText));
        assert_eq!(
            t("Шесть!"),
            Err(BallotError::TextTooLong { max: 5, got: 6 })
        );
        assert_eq!(t("a\u{7}b"), Err(BallotError::ControlCharacters));
        assert_eq!(
            t("a\nb").expect("line breaks are fine").text.as_deref(),
            Some("a\nb")
        );
    }

    #[test]
    fn ballots_read_from_json() {
        let b: Ballot =
            serde_json::from_str(r#"{"kind":"budget","projects":[4,6]}"#).expect("json");
        assert_eq!(
            b,
            Ballot::Budget {
                projects: ids(&[4, 6])
            }
        );
        assert!(serde_json::from_str::<Ballot>(r#"{"kind":"single","option":1,"x":2}"#).is_err());
    }
}
