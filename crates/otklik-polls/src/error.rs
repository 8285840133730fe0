//! The crate's errors: one enum for the service, with the ballot, audience and definition
//! problems as their own types so that a web handler can show them field by field.

use otklik_domain::{BallotId, PollId, PollKind, PollOptionId, PollStatus};
use otklik_rules::RulesError;
use otklik_store::StoreError;
use thiserror::Error;

/// Why a ballot is not acceptable for its poll (checked before anything is written).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BallotError {
    /// The ballot is of another kind than the poll.
    #[error("this poll takes a {expected} ballot, not {got}")]
    WrongKind {
        /// The poll's kind.
        expected: PollKind,
        /// The ballot's kind.
        got: PollKind,
    },
    /// An option that is not one of the poll's.
    #[error("option {0} is not an option of this poll")]
    UnknownOption(PollOptionId),
    /// The same option twice.
    #[error("option {0} is chosen more than once")]
    DuplicateOption(PollOptionId),
    /// Fewer options than the poll asks for.
    #[error("choose at least {min} option(s), not {got}")]
    TooFew {
        /// Fewest allowed.
        min: u32,
        /// Chosen.
        got: usize,
    },
    /// More options than the poll allows.
    #[error("choose at most {max} option(s), not {got}")]
    TooMany {
        /// Most allowed.
        max: u32,
        /// Chosen.
        got: usize,
    },
    /// Budget allocation: the chosen projects cost more than the cap.
    #[error("the chosen projects cost {total}, more than the budget of {cap}")]
    OverBudget {
        /// The poll's budget cap.
        cap: i64,
        /// The projects' total.
        total: i64,
    },
    /// An empty free-text answer.
    #[error("the answer is empty")]
    EmptyText,
    /// A free-text answer longer than allowed.
    #[error("the answer has {got} characters, more than {max}")]
    TextTooLong {
        /// Most characters allowed.
        max: u32,
        /// Characters given.
        got: usize,
    },
    /// Control characters other than line breaks and tabs.
    #[error("the answer contains control characters")]
    ControlCharacters,
}

impl BallotError {
    /// The problem in Russian, for the voter.
    pub fn message_ru(&self) -> String {
        match self {
            Self::WrongKind { .. } => {
                "Ответ не подходит к этому голосованию. Обновите страницу и ответьте заново.".into()
            }
            Self::UnknownOption(_) => {
                "Выбран вариант, которого нет в этом голосовании. Обновите страницу.".into()
            }
            Self::DuplicateOption(_) => "Один и тот же вариант выбран дважды.".into(),
            Self::TooFew { min, got } => {
                format!("Выберите не меньше {min} вариант(ов): выбрано {got}.")
            }
            Self::TooMany { max, got } => {
                format!("Выберите не больше {max} вариант(ов): выбрано {got}.")
            }
            Self::OverBudget { cap, total } => format!(
                "Выбранные проекты стоят {} руб., это больше бюджета {} руб. Уберите часть проектов.",
                group_digits(*total),
                group_digits(*cap)
            ),
            Self::EmptyText => "Ответ пуст: напишите его.".into(),
            Self::TextTooLong { max, got } => {
                format!("Ответ длиннее {max} знаков ({got}). Сократите его.")
            }
            Self::ControlCharacters => "Ответ содержит недопустимые служебные символы.".into(),
        }
    }
}

/// `1234567` as «1 234 567» (thin groups of three, as Russian money is written).
pub fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Why a voter is outside a poll's audience.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AudienceError {
    /// The poll is for a territory and the voter's territory is not known.
    #[error("this poll is for residents of a territory, and the voter's territory is unknown")]
    TerritoryUnknown,
    /// The voter lives elsewhere.
    #[error("this poll is for residents of another territory")]
    OutsideTerritory,
    /// The poll has a minimum age and the voter's age is not known.
    #[error("this poll has a minimum age, and the voter's age is unknown")]
    AgeUnknown,
    /// The voter is younger than the poll's minimum age.
    #[error("this poll is for voters aged {min_age} and over")]
    TooYoung {
        /// The poll's minimum age.
        min_age: u32,
    },
}

impl AudienceError {
    /// The problem in Russian, for the voter.
    pub fn message_ru(&self) -> String {
        match self {
            Self::TerritoryUnknown => {
                "Голосование проводится для жителей территории: укажите, где вы живёте.".into()
            }
            Self::OutsideTerritory => {
                "Голосование проводится для жителей другой территории.".into()
            }
            Self::AgeUnknown => {
                "Голосование проводится с ограничением по возрасту: подтвердите возраст.".into()
            }
            Self::TooYoung { min_age } => {
                format!("В голосовании участвуют граждане от {min_age} лет.")
            }
        }
    }
}

/// Everything the polls service can fail with.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PollsError {
    /// No such poll.
    #[error("poll {0} not found")]
    NotFound(PollId),
    /// The definition breaks the rules; one line per problem.
    #[error("invalid poll: {}", .0.join("; "))]
    InvalidPoll(Vec<String>),
    /// The ballot breaks the poll's rules.
    #[error("invalid ballot: {0}")]
    InvalidBallot(#[from] BallotError),
    /// The voter is outside the poll's audience.
    #[error("not in the poll's audience: {0}")]
    Audience(#[from] AudienceError),
    /// The actor may not do this; the text says why.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The life-cycle step does not apply to the poll's current status.
    #[error("poll {poll} is {status}; cannot {action}")]
    WrongStatus {
        /// The poll.
        poll: PollId,
        /// Its status.
        status: PollStatus,
        /// The step («submit», «approve», «return», «close», «edit»).
        action: &'static str,
    },
    /// Voting refused: the poll is not published (draft, on moderation or closed).
    #[error("poll {poll} is not open for voting (status {status})")]
    NotOpen {
        /// The poll.
        poll: PollId,
        /// Its status.
        status: PollStatus,
    },
    /// Voting refused: before the start time.
    #[error("voting in poll {0} has not started yet")]
    NotStarted(PollId),
    /// Voting refused: at or after the end time.
    #[error("voting in poll {0} has ended")]
    Ended(PollId),
    /// This identity has voted and the poll allows no re-vote.
    #[error("this identity has already voted in poll {poll}")]
    AlreadyVoted {
        /// The poll.
        poll: PollId,
        /// The existing ballot.
        ballot: BallotId,
    },
    /// The idempotency key was used before with another ballot.
    #[error("the idempotency key was already used with another ballot")]
    KeyReused,
    /// Too many votes from one network in a short time.
    #[error("too many votes from this network; try again later")]
    RateLimited,
    /// The results are hidden until the poll closes.
    #[error("the results of poll {0} are hidden until it closes")]
    ResultsHidden(PollId),
    /// A bad argument (identity, key, server key); the text says which.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The poll topics file is invalid.
    #[error(transparent)]
    Topics(#[from] RulesError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The vote writer stopped (the runtime is shutting down).
    #[error("the vote writer has stopped")]
    WriterGone,
    /// Writing an export failed.
    #[error("export failed: {0}")]
    Export(String),
}

impl PollsError {
    /// A refusal of the vote itself (as opposed to a failure of the system): the citizen gets
    /// the message; nothing was written.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::InvalidBallot(_)
                | Self::Audience(_)
                | Self::NotOpen { .. }
                | Self::NotStarted(_)
                | Self::Ended(_)
                | Self::AlreadyVoted { .. }
                | Self::KeyReused
                | Self::RateLimited
        )
    }
}

impl PollsError {
    /// A refusal or problem in Russian, for people (system failures get a general text).
    pub fn message_ru(&self) -> String {
        match self {
            Self::NotFound(_) => "Голосование не найдено.".into(),
            Self::InvalidPoll(p) => format!("Голосование заполнено неверно: {}.", p.join("; ")),
            Self::InvalidBallot(b) => b.message_ru(),
            Self::Audience(a) => a.message_ru(),
            Self::Forbidden(_) => "У вас нет прав на это действие с голосованием.".into(),
            Self::WrongStatus { status, .. } => format!(
                "Действие недоступно: голосование сейчас в состоянии «{}».",
                status.label_ru()
            ),
            Self::NotOpen { status, .. } => format!(
                "Голосование не принимает голоса: оно в состоянии «{}».",
                status.label_ru()
            ),
            Self::NotStarted(_) => "Голосование ещё не началось.".into(),
            Self::Ended(_) => "Голосование завершено: голоса больше не принимаются.".into(),
            Self::AlreadyVoted { .. } => {
                "Вы уже проголосовали. В этом голосовании изменить ответ нельзя.".into()
            }
            Self::KeyReused => {
                "Эта форма уже была отправлена с другим ответом. Обновите страницу и ответьте заново.".into()
            }
            Self::RateLimited => {
                "Слишком много голосов из вашей сети за короткое время. Попробуйте позже.".into()
            }
            Self::ResultsHidden(_) => "Итоги будут показаны после завершения голосования.".into(),
            Self::Invalid(_) => "Запрос заполнен неверно.".into(),
            Self::Topics(_) | Self::Store(_) | Self::WriterGone | Self::Export(_) => {
                "Внутренняя ошибка. Попробуйте повторить позже.".into()
            }
        }
    }
}

/// `Result` with [`PollsError`].
pub type Result<T, E = PollsError> = std::result::Result<T, E>;
