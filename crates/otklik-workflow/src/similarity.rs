//! Near-duplicate texts: MinHash signatures over stemmed words and word pairs (from
//! `otklik-text`'s Russian analyzer), banded for a locality-sensitive lookup in the store.
//!
//! The signature has [`HASHES`] = 64 hash functions; its first 24 are cut into [`BANDS`] = 8
//! bands of 3 rows, so two texts whose shingle sets have Jaccard similarity `s` share at least
//! one band with probability `1 - (1 - s³)⁸` (0.66 at s = 0.5, 0.97 at s = 0.7, 0.99 at
//! s = 0.8); the candidates are then compared on the whole signature. (16 bands of 4 rows gave
//! 0.64 / 0.99 for twice the index entries — and index pages written — per message.)

/// Hash functions in a signature.
pub const HASHES: usize = 64;
/// Bands the signature is cut into.
pub const BANDS: usize = 8;
/// Hash functions per band.
const ROWS: usize = 3;

/// A MinHash signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(pub [u32; HASHES]);

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser.
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The shingles of a text: its stemmed words (stop words dropped) and adjacent word pairs.
pub fn shingles(text: &str) -> Vec<u64> {
    let words = otklik_text::analyze(text);
    let mut out: Vec<u64> = words.iter().map(|w| fnv1a(w.as_bytes())).collect();
    out.extend(
        words
            .windows(2)
            .map(|p| mix(fnv1a(p[0].as_bytes()) ^ fnv1a(p[1].as_bytes()).rotate_left(17))),
    );
    out.sort_unstable();
    out.dedup();
    out
}

impl Signature {
    /// The signature of `text`; `None` when it has no words.
    pub fn of_text(text: &str) -> Option<Self> {
        Self::of_shingles(&shingles(text))
    }

    /// The signature of a shingle set; `None` when empty.
    pub fn of_shingles(shingles: &[u64]) -> Option<Self> {
        if shingles.is_empty() {
            return None;
        }
        let mut sig = [u32::MAX; HASHES];
        for s in shingles {
            for (i, slot) in sig.iter_mut().enumerate() {
                let h = (mix(s ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 32) as u32;
                if h < *slot {
                    *slot = h;
                }
            }
        }
        Some(Signature(sig))
    }

    /// Estimated Jaccard similarity: the share of equal positions.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self
            .0
            .iter()
            .zip(other.0.iter())
            .filter(|(a, b)| a == b)
            .count();
        same as f64 / HASHES as f64
    }

    /// The band keys (band index mixed in), for the store's lookup.
    pub fn bands(&self) -> Vec<i64> {
        self.0
            .chunks(ROWS)
            .take(BANDS)
            .enumerate()
            .map(|(band, rows)| {
                let mut h = fnv1a(&(band as u64).to_le_bytes());
                for r in rows {
                    h = mix(h ^ u64::from(*r));
                }
                // Stored as a signed 64-bit integer.
                i64::from_le_bytes(h.to_le_bytes())
            })
            .collect()
    }

    /// Hex text (as stored).
    pub fn to_hex(&self) -> String {
        let mut bytes = Vec::with_capacity(HASHES * 4);
        for v in self.0 {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        hex::encode(bytes)
    }

    /// Parses [`Signature::to_hex`]; `None` when malformed.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = hex::decode(text).ok()?;
        if bytes.len() != HASHES * 4 {
            return None;
        }
        let mut sig = [0u32; HASHES];
        for (slot, chunk) in sig.iter_mut().zip(bytes.chunks_exact(4)) {
            *slot = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Some(Signature(sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_are_similar_and_others_not() {
        let a = Signature::of_text(
            "Огромная яма на дороге по улице Ленина возле дома 5, машины ломают колёса",
        )
        .expect("words");
        let b = Signature::of_text(
            "На улице Ленина у дома 5 огромная яма на дороге, машины ломают колеса!",
        )
        .expect("words");
        let c = Signature::of_text("Не вывозят мусор с контейнерной площадки во дворе уже неделю")
            .expect("words");
        assert!(a.similarity(&b) >= 0.5, "{}", a.similarity(&b));
        assert!(a.similarity(&c) < 0.2, "{}", a.similarity(&c));
        // Similar texts share a band; unrelated ones do not.
        let shared = |x: &Signature, y: &Signature| {
            x.bands().iter().zip(y.bands().iter()).any(|(p, q)| p == q)
        };
        assert!(shared(&a, &b));
        assert!(!shared(&a, &c));
    }

    #[test]
    fn hex_round_trip_and_empty_text() {
        let a = Signature::of_text("Яма на дороге").expect("words");
        assert_eq!(Signature::from_hex(&a.to_hex()), Some(a.clone()));
        assert_eq!(Signature::from_hex("zz"), None);
        assert_eq!(a.bands().len(), BANDS);
        assert!(Signature::of_text("   ").is_none());
        assert_eq!(a.similarity(&a), 1.0);
    }
}
