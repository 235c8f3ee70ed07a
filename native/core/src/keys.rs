//! Group keys as small integer ids that stay the same from batch to batch, so that the
//! JavaScript side builds each key's values and strings once, not once per batch.
//!
//! A key is its encoded bytes (`Aggregator::key_id`); ids are given in order of first
//! sight. A batch that cannot be delivered takes back the keys it added (`rollback`), so
//! the ids stay those the TS twin gives.
//!
//! With 100K keys the table is larger than the caches, so a lookup should touch one
//! cache line: each slot holds the key's hash and, for a key of up to `INLINE` bytes (one
//! short string or one number), the key itself.

use std::hash::BuildHasher;

/// Keys up to this many bytes are compared in their slot.
const INLINE: usize = 16;

#[derive(Clone, Copy, Default)]
#[repr(align(32))]
struct Slot {
    hash: u64,
    /// id + 1; 0 for an empty slot.
    id: u32,
    len: u32,
    inline: [u8; INLINE],
}

#[derive(Default)]
pub struct KeyIds {
    /// Open addressing with linear probing.
    slots: Vec<Slot>,
    /// Per id: its hash.
    hashes: Vec<u64>,
    /// The encoded keys back to back; id i is `bytes[ends[i - 1]..ends[i]]`.
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// The hash `KeyIds` files `key` under.
pub fn hash_key(key: &[u8]) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(key)
}

impl KeyIds {
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub fn clear(&mut self) {
        self.slots.fill(Slot::default());
        self.hashes.clear();
        self.bytes.clear();
        self.ends.clear();
    }

    /// The home slot of `hash`: its top bits after a Fibonacci multiply, so that every
    /// bit of the hash counts (FxHash's low bits alone cluster).
    fn home(&self, hash: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    /// The encoded key of `id`.
    pub fn key(&self, id: usize) -> &[u8] {
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.bytes[start..self.ends[id]]
    }

    /// The hash of `id`.
    pub fn hash(&self, id: usize) -> u64 {
        self.hashes[id]
    }

    /// Reads the home slots of `hashes` ahead of their lookups: independent loads the
    /// processor overlaps, where lookups one by one would wait for each miss in turn.
    /// Returns a meaningless sum, so that the reads are not optimised away.
    pub fn warm(&self, hashes: impl Iterator<Item = u64>) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        hashes.fold(0, |sum, hash| sum ^ self.slots[self.home(hash)].hash)
    }

    fn matches(&self, slot: &Slot, hash: u64, key: &[u8]) -> bool {
        slot.hash == hash
            && slot.len as usize == key.len()
            && if key.len() <= INLINE {
                slot.inline[..key.len()] == *key
            } else {
                self.key((slot.id - 1) as usize) == key
            }
    }

    /// The id of `key` (whose hash is `hash`) and whether it is new.
    pub fn intern(&mut self, key: &[u8], hash: u64) -> (u32, bool) {
        if self.slots.is_empty() {
            self.slots.resize(1024, Slot::default());
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(hash);
        loop {
            let slot = &self.slots[at];
            if slot.id == 0 {
                break;
            }
            if self.matches(slot, hash, key) {
                return (slot.id - 1, false);
            }
            at = (at + 1) & mask;
        }
        let id = self.hashes.len();
        self.hashes.push(hash);
        self.bytes.extend_from_slice(key);
        self.ends.push(self.bytes.len());
        if self.hashes.len() * 2 > self.slots.len() {
            self.rehash(self.slots.len() * 2);
        } else {
            self.slots[at] = self.slot_of(id);
        }
        (id as u32, true)
    }

    fn slot_of(&self, id: usize) -> Slot {
        let key = self.key(id);
        let mut inline = [0; INLINE];
        if key.len() <= INLINE {
            inline[..key.len()].copy_from_slice(key);
        }
        Slot {
            hash: self.hashes[id],
            id: id as u32 + 1,
            len: key.len() as u32,
            inline,
        }
    }

    /// Every id placed again, in id order: the table is then as if built by inserting
    /// them one by one, which `rollback` relies on.
    fn rehash(&mut self, size: usize) {
        self.slots.clear();
        self.slots.resize(size, Slot::default());
        let mask = size - 1;
        for id in 0..self.hashes.len() {
            let mut at = self.home(self.hashes[id]);
            while self.slots[at].id != 0 {
                at = (at + 1) & mask;
            }
            self.slots[at] = self.slot_of(id);
        }
    }

    /// Forgets the ids from `len` on. Removed newest first, each from the slot it took:
    /// with linear probing, no older key's probe ever passed over a newer key's slot, so
    /// emptying those slots leaves every older key where its lookup finds it.
    pub fn rollback(&mut self, len: usize) {
        let mask = self.slots.len().wrapping_sub(1);
        while self.hashes.len() > len {
            let id = self.hashes.len() - 1;
            let mut at = self.home(self.hashes[id]);
            while self.slots[at].id != id as u32 + 1 {
                at = (at + 1) & mask;
            }
            self.slots[at] = Slot::default();
            self.hashes.pop();
            self.ends.pop();
            self.bytes.truncate(self.ends.last().copied().unwrap_or(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{hash_key, KeyIds};

    fn intern(keys: &mut KeyIds, key: &str) -> (u32, bool) {
        keys.intern(key.as_bytes(), hash_key(key.as_bytes()))
    }

    #[test]
    fn ids_are_stable_and_a_rollback_forgets_only_the_newest() {
        let mut keys = KeyIds::default();
        // Short keys (compared in their slot) and long ones (compared in the arena).
        let names: Vec<String> = (0..5_000)
            .map(|i| {
                if i % 3 == 0 {
                    format!("a-rather-long-user-name-{i}")
                } else {
                    format!("u-{i}")
                }
            })
            .collect();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(intern(&mut keys, name), (i as u32, true));
        }
        for (i, name) in names.iter().enumerate() {
            assert_eq!(intern(&mut keys, name), (i as u32, false));
        }
        keys.rollback(1_000);
        assert_eq!(keys.len(), 1_000);
        for (i, name) in names.iter().enumerate().take(1_000) {
            assert_eq!(intern(&mut keys, name), (i as u32, false));
        }
        assert_eq!(intern(&mut keys, &names[4_000]), (1_000, true));
        keys.clear();
        assert!(keys.is_empty());
        assert_eq!(intern(&mut keys, &names[7]), (0, true));
    }

    #[test]
    fn keys_with_equal_hashes_stay_apart() {
        let mut keys = KeyIds::default();
        assert_eq!(keys.intern(b"one", 42), (0, true));
        assert_eq!(keys.intern(b"two", 42), (1, true));
        assert_eq!(keys.intern(b"one", 42), (0, false));
        assert_eq!(keys.intern(b"two", 42), (1, false));
    }
}
