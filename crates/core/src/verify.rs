//! `verify`: the hash chain recomputed from the first entry, and every index
//! checked against the log, in memory that does not grow with the log's
//! entries (only with its claims).
//!
//! The index check derives every index entry the log implies, as
//! [`crate::store::index_entries`] does at commit, and reads every entry the
//! store holds ([`Store::stored_index`]); both sides are folded into an
//! order-independent digest per index (a count and two sums of 64-bit hashes
//! of each entry's canonical bytes), so neither side is ever held whole. Any
//! entry missing, extra or different changes its index's digest. The Merkle
//! tree's tiles are built again from the leaves (keeping only the right
//! edge) and compared the same way with the stored ones.

use std::collections::HashMap;
use std::hash::Hasher;

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Hint, Result};
use crate::event::Body;
use crate::ledger::{Ledger, VerifyReport};
use crate::record::{Record, GENESIS};
use crate::store::{index_entries, IndexEntry, Lookup, Store};
use crate::summary::Parties;
use crate::tree::{leaf_hash, TileId, TreeBuilder};
use sha2::{Digest as _, Sha256};

impl<S: Store> Ledger<S> {
    /// Recomputes the hash chain from the first entry, and checks that every
    /// index agrees with the log. Fails naming the first bad `seq`.
    pub fn verify(&self, mut progress: impl FnMut(u64)) -> Result<VerifyReport> {
        let store = self.store();
        let head = store.head();
        let mut prev = GENESIS;
        let mut count = 0u64;
        let mut expected = Digests::default();
        let mut canonical = Vec::with_capacity(512);
        let mut tree = TreeBuilder::new();
        let mut expected_tiles = Digest::default();
        let mut lookup = VerifyLookup {
            store,
            claims: HashMap::new(),
            parties: Parties::default(),
        };
        for item in store.scan(1) {
            let r = item.map_err(|e| {
                Error::new(
                    ErrorKind::Verification,
                    format!(
                        "seq {}: the entry cannot be read ({})",
                        count + 1,
                        e.message()
                    ),
                )
            })?;
            let seq = count + 1;
            if r.seq != seq {
                return Err(Error::new(
                    ErrorKind::Verification,
                    format!("seq {seq}: the entry there says it is seq {}", r.seq),
                ));
            }
            canonical.clear();
            r.canonical_into(&mut canonical);
            let mut chain = Sha256::new();
            chain.update(prev);
            chain.update(&canonical);
            if <[u8; 32]>::from(chain.finalize()) != r.hash {
                return Err(Error::new(
                    ErrorKind::Verification,
                    format!("seq {seq}: the hash does not match the entry (it was changed, removed or reordered)"),
                ));
            }
            prev = r.hash;
            count = seq;
            // A store keeps no full level-0 tile (`tree::is_stored`).
            tree.push(leaf_hash(&canonical), &mut |id, t| {
                if id.level > 0 {
                    expected_tiles.add(id, t)
                }
            });
            for e in index_entries(&r, &mut lookup)? {
                expected.add(&e);
            }
            lookup.learn(&r);
            progress(count);
        }
        if count == head.seq && prev != head.hash {
            return Err(Error::new(
                ErrorKind::Verification,
                format!("seq {count}: the hash does not match the one the ledger's head recorded (the entry was changed or replaced)"),
            ));
        }
        if count != head.seq {
            return Err(Error::new(
                ErrorKind::Verification,
                format!(
                    "seq {}: the log ends at seq {count} but the ledger's head says {}",
                    count.min(head.seq) + 1,
                    head.seq
                ),
            ));
        }
        let mut stored = Digests::default();
        for e in store.stored_index() {
            stored.add(&e?);
        }
        for (i, name) in INDEX_NAMES.iter().enumerate() {
            if expected.0[i] != stored.0[i] {
                return Err(Error::new(
                    ErrorKind::Verification,
                    format!("the {name} index disagrees with the log"),
                )
                .with_hint(Hint::RebuildIndexes));
            }
        }
        for (id, t) in tree.partial_tiles() {
            expected_tiles.add(id, t);
        }
        let mut stored_tiles = Digest::default();
        for t in store.stored_tiles() {
            let (id, t) = t?;
            stored_tiles.add(id, &t);
        }
        if expected_tiles != stored_tiles {
            return Err(Error::new(
                ErrorKind::Verification,
                "the Merkle tree disagrees with the log",
            )
            .with_hint(Hint::RebuildIndexes));
        }
        Ok(VerifyReport { count, head: prev })
    }
}

/// The indexes, in [`index_slot`] order, as error messages name them.
const INDEX_NAMES: [&str; 5] = ["event id", "claim", "story", "valid-time", "claim summary"];

fn index_slot(e: &IndexEntry) -> usize {
    match e {
        IndexEntry::EventId(..) => 0,
        IndexEntry::Claim(..) => 1,
        IndexEntry::Story(..) => 2,
        IndexEntry::ValidTo(..) => 3,
        IndexEntry::Summary(..) | IndexEntry::Header(..) => 4,
    }
}

/// A multiset digest: the count, and two wrapping sums of independent
/// 64-bit hashes of each element.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Digest {
    count: u64,
    a: u64,
    b: u64,
}

#[derive(Default)]
struct Digests([Digest; 5]);

impl Digests {
    fn add(&mut self, e: &IndexEntry) {
        let mut bytes = Vec::with_capacity(64);
        e.canonical_into(&mut bytes);
        self.0[index_slot(e)].add_bytes(&bytes);
    }
}

impl Digest {
    fn add_bytes(&mut self, bytes: &[u8]) {
        self.count += 1;
        self.a = self.a.wrapping_add(hash64(0x9e37_79b9_7f4a_7c15, bytes));
        self.b = self.b.wrapping_add(hash64(0xc2b2_ae3d_27d4_eb4f, bytes));
    }

    /// A tile: its place, then its hashes.
    fn add(&mut self, id: TileId, tile: &[u8]) {
        let mut bytes = Vec::with_capacity(9 + tile.len());
        bytes.push(id.level);
        bytes.extend_from_slice(&id.index.to_be_bytes());
        bytes.extend_from_slice(tile);
        self.add_bytes(&bytes);
    }
}

fn hash64(seed: u64, bytes: &[u8]) -> u64 {
    // Fixed keys: both sides are hashed in this one process.
    let mut h = std::hash::DefaultHasher::new();
    h.write_u64(seed);
    h.write(bytes);
    h.finish()
}

/// Look-ups for deriving the log's index entries: claims from what the scan
/// has seen (their assertion's seq and `by`, the `by`s interned), a void's
/// target through the store's event id index (checked: the entry found must
/// carry that id; a wrong index is caught by its own digest anyway).
struct VerifyLookup<'a, S: Store> {
    store: &'a S,
    claims: HashMap<Uuid, (u64, u32)>,
    parties: Parties,
}

impl<S: Store> VerifyLookup<'_, S> {
    fn learn(&mut self, r: &Record) {
        if let Body::Asserted(a) = &r.event.body {
            let party = self.parties.intern(&a.by);
            self.claims.insert(a.claim, (r.seq, party));
        }
    }
}

impl<S: Store> Lookup for VerifyLookup<'_, S> {
    fn event(&mut self, id: Uuid) -> Result<Option<Record>> {
        let Some(seq) = self.store.seq_of_event(id)? else {
            return Ok(None);
        };
        Ok(self.store.get(seq)?.filter(|r| r.event.id == id))
    }

    fn claim(&mut self, claim: Uuid) -> Result<Option<(u64, String)>> {
        Ok(self
            .claims
            .get(&claim)
            .map(|(seq, p)| (*seq, self.parties.name(*p).to_string())))
    }
}
