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

/// One slot of a [`FeatureTable`]: the high 32 bits of the feature hash (its fingerprint,
/// never 0: 0 marks an empty slot) and the feature's dense id (low 30 bits) with its block
/// (high 2 bits). Eight bytes, so a probe rarely leaves its cache line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slot(u64);

impl Slot {
    pub(crate) fn id(self) -> u32 {
        (self.0 as u32) & ID_MASK
    }
    pub(crate) fn block(self) -> u8 {
        ((self.0 as u32) >> 30) as u8
    }
    fn fingerprint(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

const ID_MASK: u32 = (1 << 30) - 1;

/// The largest number of features a [`FeatureTable`] holds.
pub(crate) const MAX_FEATURES: usize = ID_MASK as usize;

/// An open-addressing hash table from 64-bit feature hashes to (dense id, block), with
/// linear probing and a load factor of at most 4/5: the vocabulary of the linear model,
/// looked up for every word and character n-gram of every text, so it is kept small (8 bytes
/// a slot) to stay in the CPU cache. A slot keeps 32 bits of the hash and the home position
/// another 16 or more, so two features are confused only when about 50 bits of their hashes
/// agree — far rarer than the collisions a hashing-trick model accepts.
#[derive(Debug, Clone, Default)]
pub(crate) struct FeatureTable {
    slots: Vec<Slot>,
    /// The full hash of each id (for growing and saving; not read when classifying).
    hashes: Vec<u64>,
    shift: u32,
}

impl FeatureTable {
    /// An empty table sized for `n` features.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let size = (n.max(8) * 5 / 4 + 1).next_power_of_two();
        Self {
            slots: vec![Slot::default(); size],
            hashes: Vec::with_capacity(n),
            shift: 64 - size.trailing_zeros(),
        }
    }

    /// Number of features.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot>() + self.hashes.capacity() * 8
    }

    /// The hash of feature `id`.
    pub(crate) fn hash_of(&self, id: u32) -> u64 {
        self.hashes.get(id as usize).copied().unwrap_or(0)
    }

    /// The block of feature `id`.
    pub(crate) fn block_of(&self, id: u32) -> u8 {
        self.get(self.hash_of(id)).map_or(0, Slot::block)
    }

    #[inline]
    fn fingerprint(h: u64) -> u32 {
        match (h >> 32) as u32 {
            0 => 1,
            f => f,
        }
    }

    #[inline]
    fn home(&self, h: u64) -> usize {
        ((h as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The slot of feature hash `h`.
    #[inline]
    pub(crate) fn get(&self, h: u64) -> Option<Slot> {
        if self.slots.is_empty() {
            return None;
        }
        let fp = Self::fingerprint(h);
        let mask = self.slots.len() - 1;
        let mut i = self.home(h);
        loop {
            let s = *self.slots.get(i)?;
            if s.fingerprint() == fp {
                return Some(s);
            }
            if s.0 == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts feature `h` with the next id (`len`), unless present; returns its id.
    pub(crate) fn insert(&mut self, h: u64, block: u8) -> u32 {
        if (self.len() + 1) * 5 > self.slots.len() * 4 {
            self.grow();
        }
        let fp = Self::fingerprint(h);
        let mask = self.slots.len() - 1;
        let mut i = self.home(h);
        while let Some(s) = self.slots.get_mut(i) {
            if s.fingerprint() == fp {
                return s.id();
            }
            if s.0 == 0 {
                let id = self.hashes.len() as u32 & ID_MASK;
                let meta = id | (u32::from(block & 3) << 30);
                *s = Slot((u64::from(fp) << 32) | u64::from(meta));
                self.hashes.push(h);
                return id;
            }
            i = (i + 1) & mask;
        }
        0
    }

    /// Doubles the table.
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let size = (old.len() * 2).max(16);
        self.slots = vec![Slot::default(); size];
        self.shift = 64 - size.trailing_zeros();
        let mask = size - 1;
        for s in old.into_iter().filter(|s| s.0 != 0) {
            let mut i = self.home(self.hash_of(s.id()));
            while let Some(t) = self.slots.get_mut(i) {
                if t.0 == 0 {
                    *t = s;
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_finds_what_it_holds_and_nothing_else() {
        let mut t = FeatureTable::with_capacity(2);
        let key = |i: u64| i.wrapping_mul(0x1234_5678_9abc_def1) ^ (i << 40);
        for i in 0..10_000u64 {
            assert_eq!(t.insert(key(i), (i % 4) as u8), i as u32);
        }
        assert_eq!(t.insert(key(1), 0), 1, "present: same id");
        assert_eq!(t.len(), 10_000);
        for i in 0..10_000u64 {
            let s = t.get(key(i)).expect("present");
            assert_eq!((s.id(), s.block()), (i as u32, (i % 4) as u8));
            assert_eq!(t.hash_of(i as u32), key(i));
            assert_eq!(t.block_of(i as u32), (i % 4) as u8);
        }
        let absent = (20_000..30_000u64)
            .filter(|&i| t.get(key(i)).is_some())
            .count();
        assert_eq!(absent, 0);
        assert!(t.heap_bytes() <= 16_384 * 8 + 10_000 * 8 * 2);
    }
}
