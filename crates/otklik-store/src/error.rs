//! The crate's error type and the helper that keeps passwords out of messages and logs.

use otklik_domain::{DomainError, EntityKind, MessageId};
use thiserror::Error;

/// Everything a [`Store`](crate::Store) method can fail with.
///
/// No variant ever carries a connection string with its password: URLs are passed through
/// [`redact_url`] before they are put into an error.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database refused or failed a statement (constraint, I/O, protocol, pool timeout).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Could not open the database. `target` is already redacted.
    #[error("cannot open database {target}: {source}")]
    Connect {
        /// The connection string with any password replaced by `***`.
        target: String,
        /// What went wrong.
        #[source]
        source: sqlx::Error,
    },
    /// Optimistic concurrency: the message is no longer at the version the caller read.
    #[error("message {id} was changed concurrently (expected version {expected_version})")]
    Conflict {
        /// The message.
        id: MessageId,
        /// The version the caller expected.
        expected_version: i64,
    },
    /// The addressed row does not exist.
    #[error("{entity} {key} not found")]
    NotFound {
        /// Kind of the row.
        entity: EntityKind,
        /// Its id or natural key, as text.
        key: String,
    },
    /// A row with this natural key exists already (a community's `(network, external id)`,
    /// a source's name).
    #[error("{entity} {key} already exists")]
    Duplicate {
        /// Kind of the row.
        entity: EntityKind,
        /// Its natural key, as text («vk:minzdrav38», «vk-minzdrav-wall»).
        key: String,
    },
    /// A directory record refers by code to something neither in the batch nor stored.
    #[error("unknown {kind} code {code:?}")]
    UnknownReference {
        /// What the code should name (territory, organisation).
        kind: EntityKind,
        /// The unresolved code.
        code: String,
    },
    /// A domain rule refused the change (illegal transition, bad rating, unknown code in a row).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The input (or a stored value) is not acceptable; the text says why.
    #[error("invalid: {0}")]
    Invalid(String),
}

impl StoreError {
    /// True for [`StoreError::Conflict`]: the caller should re-read and retry.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }

    /// True for [`StoreError::Duplicate`].
    pub fn is_duplicate(&self) -> bool {
        matches!(self, StoreError::Duplicate { .. })
    }

    /// True when the database reported a unique-constraint violation.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation)
            }
            _ => false,
        }
    }
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection string safe to print: the password in `scheme://user:password@host` and any
/// `password=` query parameter are replaced by `***`.
///
/// ```
/// use otklik_store::redact_url;
/// assert_eq!(
///     redact_url("postgres://otklik:s3cret@db:5432/otklik?sslmode=disable&password=x"),
///     "postgres://otklik:***@db:5432/otklik?sslmode=disable&password=***"
/// );
/// assert_eq!(redact_url("sqlite:///var/lib/otklik/otklik.db"), "sqlite:///var/lib/otklik/otklik.db");
/// ```
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) if !scheme.eq_ignore_ascii_case("sqlite") => {
            out.push_str(scheme);
            out.push_str("://");
            // Userinfo ends at the last '@' (a password may hold an unescaped '/' or '@').
            match rest.rsplit_once('@') {
                Some((userinfo, host_and_path)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push_str(":***");
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host_and_path);
                }
                None => out.push_str(rest),
            }
        }
        _ => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        let parts: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://u:p@h/db"),
            "postgres://u:***@h/db".to_owned()
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h:5432/db"), "postgres://h:5432/db");
        assert_eq!(
            redact_url("postgresql://u:p%40ss@h/db?options=-c%20x"),
            "postgresql://u:***@h/db?options=-c%20x"
        );
        assert_eq!(
            redact_url("postgres:///db?host=/run/pg&PASSWORD=zz"),
            "postgres:///db?host=/run/pg&PASSWORD=***"
        );
        assert_eq!(
            redact_url("postgres://u:a/b@c@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(redact_url("sqlite:///d/a:b@c.db"), "sqlite:///d/a:b@c.db");
    }

    #[test]
    fn errors_display_without_secrets() {
        let e = StoreError::Connect {
            target: redact_url("postgres://u:topsecret@h/db"),
            source: sqlx::Error::PoolTimedOut,
        };
        assert!(!e.to_string().contains("topsecret"));
        assert!(!format!("{e:?}").contains("topsecret"));
    }
}
