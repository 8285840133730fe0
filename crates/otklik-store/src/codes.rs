//! Short ASCII codes the store keeps in TEXT columns for the collectors, the classifier and the
//! reply outbox: what a post is ([`PostKind`]), a source's circuit breaker ([`CircuitState`]),
//! where an outbound reply stands ([`ReplyStatus`]). Each has a Russian label for people and
//! parses back from its code (or label) with [`FromStr`](std::str::FromStr).

use otklik_domain::DomainError;

macro_rules! store_code {
    (
        $(#[$doc:meta])*
        $name:ident, $what:literal {
            $($(#[$vdoc:meta])* $variant:ident = $code:literal, $label:literal;)+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable ASCII code kept in the database.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The Russian label shown to people.
            pub fn label_ru(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($code) || t == $label { return Ok($name::$variant); })+
                Err(DomainError::UnknownCode { what: $what, value: s.to_owned() })
            }
        }
    };
}

store_code! {
    /// What the classifier decided a post is. The codes are the classifier's own names
    /// (`otklik_classify::PostKind::as_str`), so its verdict parses straight into this.
    PostKind, "post kind" {
        /// A problem report or complaint.
        Complaint = "complaint", "жалоба";
        /// A question to the authorities.
        Question = "question", "вопрос";
        /// News, announcements.
        News = "news", "новость";
        /// Advertising, offers, vacancies.
        Advertising = "advertising", "реклама";
        /// Thanks.
        Thanks = "thanks", "благодарность";
        /// Greetings and congratulations.
        Greeting = "greeting", "поздравление";
        /// Spam.
        Spam = "spam", "спам";
        /// Anything else.
        Other = "other", "другое";
    }
}

store_code! {
    /// A collector source's circuit breaker, as the scheduler sees it.
    CircuitState, "circuit state" {
        /// Polling normally.
        Closed = "closed", "работает";
        /// Too many failures in a row: not polled until `open_until`.
        Open = "open", "отключён";
        /// Cool-down over: the next poll is a probe; success closes, failure re-opens.
        HalfOpen = "half_open", "пробный опрос";
    }
}

store_code! {
    /// Where an outbound reply stands.
    ReplyStatus, "reply status" {
        /// Waiting to be sent (possibly leased by a worker right now).
        Pending = "pending", "ожидает отправки";
        /// Posted; never sent again.
        Delivered = "delivered", "опубликован";
        /// Given up on; not sent again.
        Failed = "failed", "не доставлен";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for k in PostKind::ALL {
            assert_eq!(k.code().parse::<PostKind>().ok(), Some(*k));
            assert_eq!(k.label_ru().parse::<PostKind>().ok(), Some(*k));
        }
        for c in CircuitState::ALL {
            assert_eq!(c.to_string().parse::<CircuitState>().ok(), Some(*c));
        }
        for s in ReplyStatus::ALL {
            assert_eq!(s.code().parse::<ReplyStatus>().ok(), Some(*s));
        }
        assert!("half-open".parse::<CircuitState>().is_err());
        assert_eq!(
            "COMPLAINT".parse::<PostKind>().ok(),
            Some(PostKind::Complaint)
        );
    }
}
