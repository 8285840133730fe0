//! The crate's hash maps: `foldhash` (as in `otklik-text`) with a fixed seed for word keys, so
//! iteration order is the same in every run, and a pass-through hasher for keys that already
//! are 64-bit hashes (feature ids).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use foldhash::fast::FixedState;

/// A `HashMap` for short trusted keys (words, stems), looked up on every post.
pub(crate) type FastMap<K, V> = HashMap<K, V, FixedState>;

/// A `HashSet` with the hasher of [`FastMap`].
pub(crate) type FastSet<K> = HashSet<K, FixedState>;

/// Passes a `u64` key through: the keys are already hashes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by 64-bit hashes.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;
