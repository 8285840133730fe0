//! Staff passwords: argon2id PHC strings with a random salt of their own.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use otklik_domain::{Timestamp, UserId};
use otklik_store::Store;

use super::AuthError;

/// Shortest accepted password (characters).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password (characters): hashing cost stays bounded.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password against the policy.
pub fn check_password_policy(password: &str) -> Result<(), AuthError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(format!(
            "at least {MIN_PASSWORD_CHARS} characters are needed"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(format!(
            "at most {MAX_PASSWORD_CHARS} characters are accepted"
        )));
    }
    if password.trim().is_empty() {
        return Err(AuthError::WeakPassword("blank password".into()));
    }
    Ok(())
}

/// The argon2id PHC string of `password` (default parameters, random salt).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Does `password` match the stored PHC string? A malformed hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A well-formed hash of a password nobody knows: verified against when the login is unknown,
/// so that unknown and known logins take the same time.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password("decoy password that is never accepted").unwrap_or_else(|_| {
            // Hashing failed (no randomness): a fixed, valid PHC string.
            "$argon2id$v=19$m=19456,t=2,p=1$ZGVjb3lzYWx0ZGVjb3k$\
             8CM3pXDRzDrqAVu+0t6N+8tJZ+qq8CUOdK3m9Wq0Nvo"
                .to_owned()
        })
    })
}

/// Sets the password of the staff account `login` (what `otklik users passwd` calls): checks
/// the policy, hashes it with argon2id, stores the hash (audited, by `actor`) and ends the
/// account's sessions.
pub async fn set_password(
    store: &Store,
    login: &str,
    password: &str,
    actor: Option<UserId>,
    now: Timestamp,
) -> Result<UserId, AuthError> {
    check_password_policy(password)?;
    let (user, _) = store
        .password_hash(login)
        .await?
        .ok_or_else(|| AuthError::UnknownLogin(login.to_owned()))?;
    let owned = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&owned))
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))??;
    store
        .set_password_hash(user, Some(&hash), actor, now)
        .await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_salts_differ() {
        let a = hash_password("correct horse battery").expect("hash");
        let b = hash_password("correct horse battery").expect("hash");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse batterY", &a));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("decoy", decoy_hash()));
    }

    #[test]
    fn policy_refuses_short_and_huge_passwords() {
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy(&"я".repeat(300)).is_err());
        assert!(check_password_policy("          ").is_err());
        assert!(check_password_policy("длинный пароль").is_ok());
    }
}
