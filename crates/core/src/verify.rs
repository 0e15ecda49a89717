//! `verify`: the hash chain recomputed from the first entry, and every index
//! checked against the log, in memory that does not grow with the log's
//! entries (only with its claims).
//!
//! The index check derives every index entry the log implies, as
//! [`crate::store::index_entries`] does at commit, and reads every entry the
//! store holds ([`Store::stored_index`]); both sides are folded into an
//! order-independent digest per index (a count and two sums of 64-bit hashes
//! of each entry's canonical bytes), so neither side is ever held whole. Any
//! entry missing, extra or different changes its index's digest.

use std::collections::HashMap;
use std::hash::Hasher;

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Hint, Result};
use crate::event::Body;
use crate::ledger::{Ledger, VerifyReport};
use crate::record::{Record, GENESIS};
use crate::store::{index_entries, IndexEntry, Lookup, Store};
use crate::summary::Parties;

impl<S: Store> Ledger<S> {
    /// Recomputes the hash chain from the first entry, and checks that every
    /// index agrees with the log. Fails naming the first bad `seq`.
    pub fn verify(&self, mut progress: impl FnMut(u64)) -> Result<VerifyReport> {
        let store = self.store();
        let head = store.head();
        let mut prev = GENESIS;
        let mut count = 0u64;
        let mut expected = Digests::default();
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
            if r.compute_hash(&prev) != r.hash {
                return Err(Error::new(
                    ErrorKind::Verification,
                    format!("seq {seq}: the hash does not match the entry (it was changed, removed or reordered)"),
                ));
            }
            prev = r.hash;
            count = seq;
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
        let d = &mut self.0[index_slot(e)];
        d.count += 1;
        d.a = d.a.wrapping_add(hash64(0x9e37_79b9_7f4a_7c15, &bytes));
        d.b = d.b.wrapping_add(hash64(0xc2b2_ae3d_27d4_eb4f, &bytes));
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
