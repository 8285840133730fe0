//! Signed, expiring, single-use rating links.
//!
//! A token is `base64url(message id ‖ expiry ‖ HMAC-SHA256(key, "otklik-rating-v1" ‖ message id ‖
//! expiry))` — 48 bytes, 64 URL-safe characters, no padding. Verification recomputes the MAC and
//! compares in constant time ([`hmac::Mac::verify_slice`]), then checks the expiry. The token is
//! never stored: [`RatingLinks::redeem`] records the SHA-256 of the token with the rating in one
//! transaction ([`otklik_store::Store::consume_rating_link`]), so a second use is refused.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use otklik_domain::{MessageId, Timestamp};
use otklik_store::{RatingLinkUse, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::RatingLinkError;

const DOMAIN: &[u8] = b"otklik-rating-v1";
const TOKEN_BYTES: usize = 8 + 8 + 32;

/// A verified rating token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRatingLink {
    /// The message to rate.
    pub message: MessageId,
    /// When the link expires.
    pub expires_at: Timestamp,
    /// Hex SHA-256 of the token: what the database keeps to refuse a second use.
    pub token_digest: String,
}

/// Issues and checks rating links. The key is hidden from `Debug`.
#[derive(Clone)]
pub struct RatingLinks {
    key: Vec<u8>,
    base_url: String,
}

impl std::fmt::Debug for RatingLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RatingLinks")
            .field("key", &"***")
            .field("base_url", &self.base_url)
            .finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RatingLinks {
    /// Links to `base_url` (`https://otklik.example/rate`) signed with `key` (at least 32 bytes;
    /// keep it secret and stable: changing it invalidates the links sent).
    pub fn new(key: &[u8], base_url: impl Into<String>) -> Result<Self, RatingLinkError> {
        if key.len() < 32 {
            return Err(RatingLinkError::WeakKey);
        }
        Ok(Self {
            key: key.to_vec(),
            base_url: base_url.into(),
        })
    }

    fn mac(&self, message: MessageId, expires_at: Timestamp) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(DOMAIN);
        mac.update(&message.get().to_be_bytes());
        mac.update(&expires_at.millis().to_be_bytes());
        mac
    }

    /// The token for `message`, valid until `expires_at`.
    pub fn token(&self, message: MessageId, expires_at: Timestamp) -> String {
        let tag = self.mac(message, expires_at).finalize().into_bytes();
        let mut raw = Vec::with_capacity(TOKEN_BYTES);
        raw.extend_from_slice(&message.get().to_be_bytes());
        raw.extend_from_slice(&expires_at.millis().to_be_bytes());
        raw.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The full link: `BASE_URL?t=TOKEN` (or `&t=` when the base already has a query).
    pub fn link(&self, message: MessageId, expires_at: Timestamp) -> String {
        let sep = if self.base_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}t={}",
            self.base_url,
            self.token(message, expires_at)
        )
    }

    /// Checks `token` at `now`: encoding, signature (constant time), expiry — in that order, so
    /// a forged token is refused as such whatever expiry it claims.
    pub fn verify(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<VerifiedRatingLink, RatingLinkError> {
        if token.len() != 64 {
            return Err(RatingLinkError::Malformed);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token.as_bytes())
            .map_err(|_| RatingLinkError::Malformed)?;
        if raw.len() != TOKEN_BYTES {
            return Err(RatingLinkError::Malformed);
        }
        let (id, rest) = raw.split_at(8);
        let (expiry, tag) = rest.split_at(8);
        let message = MessageId(i64::from_be_bytes(
            id.try_into().map_err(|_| RatingLinkError::Malformed)?,
        ));
        let expires_at = Timestamp(i64::from_be_bytes(
            expiry.try_into().map_err(|_| RatingLinkError::Malformed)?,
        ));
        self.mac(message, expires_at)
            .verify_slice(tag)
            .map_err(|_| RatingLinkError::BadSignature)?;
        if now > expires_at {
            return Err(RatingLinkError::Expired);
        }
        Ok(VerifiedRatingLink {
            message,
            expires_at,
            token_digest: hex(&Sha256::digest(token.as_bytes())),
        })
    }

    /// Verifies `token` and records its single use with `rating` in one transaction. A second
    /// use (even concurrent) gets [`RatingLinkError::AlreadyUsed`]. Applying the rating to the
    /// message's workflow is the caller's next step (or do both in one transaction with
    /// [`otklik_store::consume_rating_link_in`]).
    pub async fn redeem(
        &self,
        store: &Store,
        token: &str,
        rating: u8,
        now: Timestamp,
    ) -> Result<RatingLinkUse, RatingLinkError> {
        if !(1..=5).contains(&rating) {
            return Err(RatingLinkError::BadRating(rating));
        }
        let v = self.verify(token, now)?;
        let link = RatingLinkUse {
            token_digest: v.token_digest,
            message: v.message,
            rating,
            expires_at: v.expires_at,
        };
        match store.consume_rating_link(&link, now).await {
            Ok(()) => Ok(link),
            Err(e) if e.is_duplicate() || e.is_unique_violation() => {
                Err(RatingLinkError::AlreadyUsed)
            }
            Err(e @ StoreError::NotFound { .. }) => Err(RatingLinkError::Store(e)),
            Err(e) => Err(RatingLinkError::Store(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> RatingLinks {
        RatingLinks::new(&[7u8; 32], "https://otklik.example/rate").expect("key")
    }

    const EXP: Timestamp = Timestamp(1_800_000_000_000);

    #[test]
    fn a_token_verifies_until_it_expires() {
        let l = links();
        let t = l.token(MessageId(42), EXP);
        assert_eq!(t.len(), 64);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let v = l.verify(&t, Timestamp(EXP.millis() - 1)).expect("valid");
        assert_eq!((v.message, v.expires_at), (MessageId(42), EXP));
        assert_eq!(v.token_digest.len(), 64);
        assert!(
            l.verify(&t, EXP).is_ok(),
            "valid at the expiry instant itself"
        );
        assert!(matches!(
            l.verify(&t, Timestamp(EXP.millis() + 1)),
            Err(RatingLinkError::Expired)
        ));
        assert_eq!(
            l.link(MessageId(42), EXP),
            format!("https://otklik.example/rate?t={t}")
        );
        let q = RatingLinks::new(&[7u8; 32], "https://x/r?lang=ru").expect("key");
        assert!(
            q.link(MessageId(1), EXP)
                .starts_with("https://x/r?lang=ru&t=")
        );
    }

    #[test]
    fn altered_forged_and_malformed_tokens_are_refused() {
        let l = links();
        let t = l.token(MessageId(42), EXP);
        // Another message id or a later expiry with the old signature.
        let mut raw = URL_SAFE_NO_PAD.decode(&t).expect("b64");
        raw[7] ^= 1;
        let other_id = URL_SAFE_NO_PAD.encode(&raw);
        assert!(matches!(
            l.verify(&other_id, EXP),
            Err(RatingLinkError::BadSignature)
        ));
        let mut raw = URL_SAFE_NO_PAD.decode(&t).expect("b64");
        raw[15] ^= 0x40;
        let later = URL_SAFE_NO_PAD.encode(&raw);
        assert!(matches!(
            l.verify(&later, EXP),
            Err(RatingLinkError::BadSignature)
        ));
        let mut raw = URL_SAFE_NO_PAD.decode(&t).expect("b64");
        raw[40] ^= 0x80;
        assert!(matches!(
            l.verify(&URL_SAFE_NO_PAD.encode(&raw), EXP),
            Err(RatingLinkError::BadSignature)
        ));
        // Signed with another key.
        let other = RatingLinks::new(&[8u8; 32], "https://otklik.example/rate").expect("key");
        assert!(matches!(
            l.verify(&other.token(MessageId(42), EXP), EXP),
            Err(RatingLinkError::BadSignature)
        ));
        // An expired forgery is refused as a forgery.
        assert!(matches!(
            l.verify(&other.token(MessageId(42), Timestamp(0)), EXP),
            Err(RatingLinkError::BadSignature)
        ));
        for bad in ["", "abc", &"!".repeat(64), &format!("{t}A"), &t[..63]] {
            assert!(
                matches!(l.verify(bad, EXP), Err(RatingLinkError::Malformed)),
                "{bad}"
            );
        }
    }

    #[test]
    fn weak_keys_are_refused_and_keys_never_show() {
        assert!(matches!(
            RatingLinks::new(&[1u8; 31], "https://x"),
            Err(RatingLinkError::WeakKey)
        ));
        let l = RatingLinks::new(b"0123456789abcdef0123456789abcdef-very-secret", "https://x")
            .expect("key");
        let shown = format!("{l:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains("0123"),
            "{shown}"
        );
        assert!(shown.contains("***"));
    }
}
