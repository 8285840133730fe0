//! Voter identities and client networks as keyed hashes (HMAC-SHA256 with the server's key).
//!
//! The identity (the OIDC subject) is hashed per poll: the same citizen gets unrelated hashes
//! in two polls, so ballots cannot be linked across polls from the database alone, and without
//! the key the hashes cannot be recomputed from a list of subjects. The client's address is
//! cut to its network prefix (IPv4 /24, IPv6 /48) before it is hashed, per poll, and only the
//! first 16 hex characters are kept: enough to group votes by network, never the address.

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use otklik_domain::PollId;
use sha2::Sha256;

use crate::error::{PollsError, Result};

/// Shortest server key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;
/// Longest identity (OIDC subject) accepted, in bytes.
pub const MAX_IDENTITY_BYTES: usize = 255;

/// The server's secret for voter and network hashes. Never printed.
#[derive(Clone)]
pub struct VoterKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for VoterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoterKey(***)")
    }
}

impl VoterKey {
    /// A key of at least [`MIN_KEY_BYTES`] bytes.
    pub fn new(key: impl Into<Vec<u8>>) -> Result<Self> {
        let key = key.into();
        if key.len() < MIN_KEY_BYTES {
            return Err(PollsError::Invalid(format!(
                "the voter hash key must have at least {MIN_KEY_BYTES} bytes"
            )));
        }
        Ok(Self { key })
    }

    /// A key written as hexadecimal text (`openssl rand -hex 32`).
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| PollsError::Invalid("the voter hash key is not hexadecimal".into()))?;
        Self::new(bytes)
    }

    fn mac(&self, domain: &[u8], poll: PollId, data: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return [0; 32],
        };
        mac.update(domain);
        mac.update(&poll.get().to_be_bytes());
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The voter's hash in `poll` (64 hex characters). The identity must be non-empty and at
    /// most [`MAX_IDENTITY_BYTES`] bytes.
    pub fn voter_hash(&self, poll: PollId, identity: &str) -> Result<String> {
        if identity.trim().is_empty() {
            return Err(PollsError::Invalid("the voter identity is empty".into()));
        }
        if identity.len() > MAX_IDENTITY_BYTES {
            return Err(PollsError::Invalid(format!(
                "the voter identity is longer than {MAX_IDENTITY_BYTES} bytes"
            )));
        }
        Ok(hex::encode(self.mac(
            b"otklik-poll-voter\0",
            poll,
            identity.as_bytes(),
        )))
    }

    /// The hash of `ip`'s network prefix in `poll` (16 hex characters).
    pub fn network_hash(&self, poll: PollId, ip: IpAddr) -> String {
        let digest = self.mac(b"otklik-poll-net\0", poll, network_prefix(ip).as_bytes());
        hex::encode(&digest[..8])
    }
}

/// The network an address belongs to, for grouping: IPv4 /24, IPv6 /48 (an IPv4-mapped IPv6
/// address counts as IPv4).
pub fn network_prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_prefix(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> VoterKey {
        VoterKey::new(vec![7u8; 32]).expect("32 bytes")
    }

    #[test]
    fn keys_are_long_enough_and_never_printed() {
        assert!(VoterKey::new(vec![1u8; 31]).is_err());
        assert!(VoterKey::from_hex("zz").is_err());
        let k = VoterKey::from_hex(&"ab".repeat(32)).expect("hex");
        assert_eq!(format!("{k:?}"), "VoterKey(***)");
    }

    #[test]
    fn voter_hashes_are_keyed_and_per_poll() {
        let k = key();
        let a = k.voter_hash(PollId(1), "esia:1000").expect("ok");
        assert_eq!(a.len(), 64);
        assert!(!a.contains("1000"));
        assert_eq!(a, k.voter_hash(PollId(1), "esia:1000").expect("ok"));
        assert_ne!(a, k.voter_hash(PollId(2), "esia:1000").expect("ok"));
        assert_ne!(a, k.voter_hash(PollId(1), "esia:1001").expect("ok"));
        let other = VoterKey::new(vec![8u8; 32]).expect("key");
        assert_ne!(a, other.voter_hash(PollId(1), "esia:1000").expect("ok"));
        assert!(k.voter_hash(PollId(1), " ").is_err());
        assert!(k.voter_hash(PollId(1), &"x".repeat(256)).is_err());
    }

    #[test]
    fn networks_group_by_prefix() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(network_prefix(ip("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(network_prefix(ip("::ffff:203.0.113.9")), "203.0.113.0/24");
        assert_eq!(network_prefix(ip("2001:db8:1:2::5")), "2001:db8:1::/48");
        let k = key();
        let h = k.network_hash(PollId(1), ip("203.0.113.77"));
        assert_eq!(h.len(), 16);
        assert_eq!(h, k.network_hash(PollId(1), ip("203.0.113.1")));
        assert_ne!(h, k.network_hash(PollId(1), ip("203.0.114.1")));
        assert_ne!(h, k.network_hash(PollId(2), ip("203.0.113.1")));
    }
}
