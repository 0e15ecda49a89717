//! The storage boundary. The [`Store`] trait is everything the ledger needs
//! from a backend: an append-only log of sealed [`Record`]s and the indexes
//! derived from it. [`SledStore`] is the embedded default; [`MemStore`] is the
//! plain in-memory reference the conformance suite and model tests use.
//!
//! A store does not validate events; [`crate::Ledger`] does. A store keeps two
//! invariants: `commit` is atomic and durable (all records or none, on disk
//! before it returns), and its indexes never disagree with its log.

mod mem;

pub use mem::MemStore;

use std::collections::HashMap;

use uuid::Uuid;

use crate::account::Account;
use crate::error::Result;
use crate::event::Body;
use crate::record::{Hash, Record, GENESIS};
use crate::summary::{ClaimHeader, Fact, Filed};
use crate::time::Time;
use crate::tree::TileId;

/// The end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last `seq` (0 for an empty log).
    pub seq: u64,
    /// The last hash ([`GENESIS`] for an empty log).
    pub hash: Hash,
    /// When the last entry was recorded.
    pub recorded_at: Option<Time>,
}

impl Head {
    /// The head of an empty log.
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: GENESIS,
        recorded_at: None,
    };
}

/// How a log entry touches a claim, as kept in the claim index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Role {
    /// The claim's own `asserted`.
    Asserted = 0,
    /// A `corroborated`, `disputed`, `refuted` or `retracted` on the claim.
    FollowUp = 1,
    /// A `voided` whose target touches the claim.
    Void = 2,
    /// Another claim's `asserted` that names this one in `supersedes`.
    Superseding = 3,
}

impl Role {
    /// Decodes the stored byte.
    pub fn from_byte(b: u8) -> Option<Role> {
        Some(match b {
            0 => Role::Asserted,
            1 => Role::FollowUp,
            2 => Role::Void,
            3 => Role::Superseding,
            _ => return None,
        })
    }
}

/// One index entry derived from a log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexEntry {
    /// event id → seq
    EventId(Uuid, u64),
    /// (claim, seq) → role
    Claim(Uuid, u64, Role),
    /// (story, claim) → seq of the claim's assertion
    Story(String, Uuid, u64),
    /// (valid.to, seq)
    ValidTo(Time, u64),
    /// (seq of the claim's assertion, fact): the claim summaries.
    Summary(u64, Fact),
    /// (seq of the claim's assertion, header), beside its summary.
    Header(u64, ClaimHeader),
}

impl IndexEntry {
    /// A canonical byte form (for `verify`'s digests; not a storage layout).
    pub fn canonical_into(&self, out: &mut Vec<u8>) {
        fn time(out: &mut Vec<u8>, t: &Time) {
            out.extend_from_slice(&t.timestamp().to_be_bytes());
            out.extend_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
        }
        match self {
            IndexEntry::EventId(id, seq) => {
                out.push(0);
                out.extend_from_slice(id.as_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
            }
            IndexEntry::Claim(c, seq, role) => {
                out.push(1);
                out.extend_from_slice(c.as_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
                out.push(*role as u8);
            }
            IndexEntry::Story(s, c, seq) => {
                out.push(2);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(c.as_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
            }
            IndexEntry::ValidTo(t, seq) => {
                out.push(3);
                time(out, t);
                out.extend_from_slice(&seq.to_be_bytes());
            }
            IndexEntry::Summary(claim_seq, f) => {
                out.push(4);
                out.extend_from_slice(&claim_seq.to_be_bytes());
                f.encode_into(out);
            }
            IndexEntry::Header(claim_seq, h) => {
                out.push(5);
                out.extend_from_slice(&claim_seq.to_be_bytes());
                out.extend_from_slice(h.claim.as_bytes());
                for s in [&h.story, &h.by, &h.text] {
                    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }
}

/// What deriving the index entries of a record needs to know of the entries
/// before it (in the log, or earlier in the same commit).
pub trait Lookup {
    /// An earlier record, by event id.
    fn event(&mut self, id: Uuid) -> Result<Option<Record>>;
    /// The seq and `by` of a claim's assertion.
    fn claim(&mut self, claim: Uuid) -> Result<Option<(u64, String)>>;
}

/// Derives the index entries of `record`, looking earlier entries up
/// through `lookup` (a `voided` is filed under its target's claims; a
/// follow-up's summary needs its claim's assertion).
pub fn index_entries(record: &Record, lookup: &mut dyn Lookup) -> Result<Vec<IndexEntry>> {
    let seq = record.seq;
    let mut out = vec![IndexEntry::EventId(record.event.id, seq)];
    let no_target = |_| None;
    match &record.event.body {
        Body::Asserted(a) => {
            out.push(IndexEntry::Claim(a.claim, seq, Role::Asserted));
            out.push(IndexEntry::Story(a.story.clone(), a.claim, seq));
            out.push(IndexEntry::ValidTo(a.valid.to, seq));
            if let Some(f) = Fact::of(record, a.claim, &a.by, no_target) {
                out.push(IndexEntry::Summary(seq, f));
            }
            if let Some(h) = ClaimHeader::of(record).filter(ClaimHeader::fits) {
                out.push(IndexEntry::Header(seq, h));
            }
            if let Some(old) = a.supersedes {
                out.push(IndexEntry::Claim(old, seq, Role::Superseding));
                if let Some((old_seq, old_by)) = lookup.claim(old)? {
                    if let Some(f) = Fact::of(record, old, &old_by, no_target) {
                        out.push(IndexEntry::Summary(old_seq, f));
                    }
                }
            }
        }
        Body::FollowedUp(f) => {
            out.push(IndexEntry::Claim(f.claim, seq, Role::FollowUp));
            out.push(IndexEntry::ValidTo(f.valid.to, seq));
            if let Some((claim_seq, by)) = lookup.claim(f.claim)? {
                if let Some(fact) = Fact::of(record, f.claim, &by, no_target) {
                    out.push(IndexEntry::Summary(claim_seq, fact));
                }
            }
        }
        Body::Voided(v) => {
            if let Some(t) = lookup.event(v.target)? {
                for claim in claims_touched(&t) {
                    out.push(IndexEntry::Claim(claim, seq, Role::Void));
                    let claim_seq = match &t.event.body {
                        Body::Asserted(a) if a.claim == claim => Some(t.seq),
                        _ => lookup.claim(claim)?.map(|(s, _)| s),
                    };
                    if let Some(claim_seq) = claim_seq {
                        let fact = Fact::of(record, claim, "", |_| Some(t.seq));
                        out.extend(fact.map(|f| IndexEntry::Summary(claim_seq, f)));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// What the writer of a staged commit knows of the entries it staged in
/// earlier parts, so that a store can derive a part's index entries without
/// reading indexes it has not finished ([`Store::stage`]).
pub trait StagedIndex: Sync {
    /// The seq of a staged event (a candidate: the store checks the entry
    /// there carries the id).
    fn event_seq(&self, id: Uuid) -> Option<u64>;
    /// The seq and `by` of a staged claim's assertion.
    fn claim(&self, claim: Uuid) -> Option<(u64, String)>;
}

/// A [`StagedIndex`] of nothing: for a commit in one part.
pub struct NothingStaged;

impl StagedIndex for NothingStaged {
    fn event_seq(&self, _: Uuid) -> Option<u64> {
        None
    }
    fn claim(&self, _: Uuid) -> Option<(u64, String)> {
        None
    }
}

/// A [`Lookup`] over the records of one commit, then what was staged
/// before them, then a store: what the backends derive their index entries
/// with.
pub struct BatchLookup<'a, S: Store + ?Sized> {
    store: &'a S,
    events: HashMap<Uuid, usize>,
    claims: HashMap<Uuid, usize>,
    records: &'a [Record],
    staged: &'a dyn StagedIndex,
}

impl<'a, S: Store + ?Sized> BatchLookup<'a, S> {
    /// Looks up in `store` (as committed) and in `records` as they are
    /// [`BatchLookup::add`]ed.
    pub fn new(store: &'a S, records: &'a [Record]) -> Self {
        Self::staged(store, records, &NothingStaged)
    }

    /// As [`BatchLookup::new`], consulting `staged` before the store.
    pub fn staged(store: &'a S, records: &'a [Record], staged: &'a dyn StagedIndex) -> Self {
        BatchLookup {
            store,
            events: HashMap::with_capacity(records.len()),
            claims: HashMap::new(),
            records,
            staged,
        }
    }

    /// Makes `records[i]` known to later look-ups.
    pub fn add(&mut self, i: usize) {
        let r = &self.records[i];
        self.events.insert(r.event.id, i);
        if let Body::Asserted(a) = &r.event.body {
            self.claims.insert(a.claim, i);
        }
    }
}

impl<S: Store + ?Sized> Lookup for BatchLookup<'_, S> {
    fn event(&mut self, id: Uuid) -> Result<Option<Record>> {
        if let Some(&i) = self.events.get(&id) {
            return Ok(Some(self.records[i].clone()));
        }
        if let Some(seq) = self.staged.event_seq(id) {
            if let Some(r) = self.store.get(seq)?.filter(|r| r.event.id == id) {
                return Ok(Some(r));
            }
        }
        match self.store.seq_of_event(id)? {
            Some(seq) => self.store.get(seq),
            None => Ok(None),
        }
    }

    fn claim(&mut self, claim: Uuid) -> Result<Option<(u64, String)>> {
        if !self.claims.contains_key(&claim) {
            if let Some(found) = self.staged.claim(claim) {
                return Ok(Some(found));
            }
        }
        let found = match self.claims.get(&claim) {
            Some(&i) => Some(self.records[i].clone()),
            None => match self
                .store
                .claim_entries(claim)?
                .into_iter()
                .find(|(_, role)| *role == Role::Asserted)
            {
                Some((seq, _)) => self.store.get(seq)?,
                None => None,
            },
        };
        Ok(found.and_then(|r| match r.event.body {
            Body::Asserted(a) if a.claim == claim => Some((r.seq, a.by)),
            _ => None,
        }))
    }
}

/// The claims whose state an event can change: its own claim and, for an
/// assertion that supersedes, the superseded claim.
pub fn claims_touched(record: &Record) -> Vec<Uuid> {
    match &record.event.body {
        Body::Asserted(a) => std::iter::once(a.claim).chain(a.supersedes).collect(),
        Body::FollowedUp(f) => vec![f.claim],
        Body::Voided(_) => vec![],
    }
}

/// The check every backend's `commit` makes first, against its own current
/// head: `expected` must be that head ([`crate::Error::head_moved`] if
/// another writer moved it), and `records` must continue it without gaps.
pub fn check_continues(expected: &Head, actual: &Head, records: &[Record]) -> Result<()> {
    if expected.seq != actual.seq || expected.hash != actual.hash {
        return Err(crate::error::Error::head_moved(*expected, *actual));
    }
    check_contiguous(actual.seq, records)
}

/// Refuses records that do not continue `head_seq` without gaps.
pub fn check_contiguous(head_seq: u64, records: &[Record]) -> Result<()> {
    for (expected, r) in (head_seq + 1..).zip(records) {
        if r.seq != expected {
            return Err(crate::error::Error::invalid(format!(
                "commit out of order: expected seq {expected}, got {}",
                r.seq
            )));
        }
    }
    Ok(())
}

/// Ids lying between two UUIDs (inclusive), for prefix look-ups.
#[derive(Debug, Clone, Copy)]
pub struct IdRange {
    /// Lowest id.
    pub lo: Uuid,
    /// Highest id.
    pub hi: Uuid,
}

/// What a ledger backend must do. See the module docs for the invariants.
pub trait Store: Send + Sync {
    /// The end of the log as this handle last saw it (after its own commits,
    /// or its last [`Store::read_head`]). Cheap; for a backend that is the
    /// only writer of its data (sled holds an exclusive lock) it is always
    /// current.
    fn head(&self) -> Head;

    /// Whether an earlier commit through this handle failed part-way, so that
    /// it takes no more writes (reopening recovers). A long-lived process
    /// (a server) drops such a handle.
    fn is_poisoned(&self) -> bool {
        false
    }

    /// The end of the log read fresh from the backend: another writer's
    /// commits are seen. The ledger reads it before it checks and seals a
    /// batch. The default is [`Store::head`], right for a single-writer backend.
    fn read_head(&self) -> Result<Head> {
        Ok(self.head())
    }

    /// Appends `records` (sealed against `expected`, `seq` continuing it
    /// without gaps) atomically and durably: when it returns `Ok`, all of them
    /// survive a crash; if it fails or the process dies, none of them are
    /// visible after reopening. If the log's head is not `expected` (another
    /// writer committed first), it writes nothing and fails with
    /// [`crate::ErrorKind::HeadMoved`] and [`crate::error::Detail::HeadMoved`]
    /// naming the actual head, so that the ledger can re-read, re-check and
    /// re-seal. See [`check_continues`].
    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()>;

    /// Writes `records` as one part of a commit too large to hold at once:
    /// the first part continues `expected` (the head), each later part the
    /// part before; `staged` tells where the events and claims of earlier
    /// parts are. Staged entries are seen by this handle's [`Store::get`]
    /// and [`Store::scan`] (so that the ledger can check later parts against
    /// earlier ones), maybe not yet by its index reads, not by
    /// [`Store::head`], not by other handles, and not after a crash or a
    /// reopen. [`Store::commit_staged`] makes them all part of the log at
    /// once; [`Store::abort_staged`] takes them out. While a commit is
    /// staged, [`Store::commit`] is refused.
    fn stage(
        &mut self,
        expected: &Head,
        records: &[Record],
        staged: &dyn StagedIndex,
    ) -> Result<()>;

    /// Commits every staged part, atomically and durably (as
    /// [`Store::commit`]), if the head is still `expected`.
    fn commit_staged(&mut self, expected: &Head) -> Result<()>;

    /// Takes every staged part out again; the store is as it was before
    /// the first.
    fn abort_staged(&mut self) -> Result<()>;

    /// The entry at `seq`.
    fn get(&self, seq: u64) -> Result<Option<Record>>;

    /// Entries from `from_seq` (inclusive) to the head, in order.
    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_>;

    /// The `seq` of the event with this id.
    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>>;

    /// Up to `limit` event ids within `range`, ascending.
    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>>;

    /// Up to `limit` claim ids within `range`, ascending.
    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>>;

    /// Every entry touching `claim`, in `seq` order, with its role.
    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>>;

    /// The claims of a story with the `seq` of each one's assertion, by claim id.
    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>>;

    /// Every story slug, sorted.
    fn stories(&self) -> Result<Vec<String>>;

    /// The `seq`s of world events whose `valid.to` lies in `[lo, hi]`, in
    /// valid-time order.
    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>>;

    /// The summary facts of the claims asserted at `from_claim_seq` or
    /// later, in (claim seq, seq) order: each item is a claim's assertion
    /// seq and one fact filed under it.
    fn summaries(&self, from_claim_seq: u64)
        -> Box<dyn Iterator<Item = Result<(u64, Filed)>> + '_>;

    /// The summary facts of the claim asserted at `claim_seq`, in seq order.
    fn summary(&self, claim_seq: u64) -> Result<Vec<Fact>>;

    /// Every entry of every index as stored, in any order (for `verify`,
    /// which compares them with the entries the log implies).
    fn stored_index(&self) -> Box<dyn Iterator<Item = Result<IndexEntry>> + '_>;

    /// A tile of the log's Merkle tree ([`crate::tree`]) as stored: the
    /// hashes it holds, 32 bytes each (a full tile 256, the partial tile at
    /// the right edge of its level fewer); `None` if there is none. A store
    /// keeps the tiles [`crate::tree::is_stored`] names (every tile of
    /// level 1 and up, and of level 0 only the partial one: a full level-0
    /// tile is `None`, and the tree reads its leaves from the log), for the
    /// tree of [`Store::head`]'s size: every commit extends them in the same
    /// all-or-nothing way as the other indexes.
    fn tile(&self, id: TileId) -> Result<Option<Vec<u8>>>;

    /// Every stored tile, in (level, index) order (for `verify`, which
    /// compares them with the tiles the log implies).
    fn stored_tiles(&self) -> Box<dyn Iterator<Item = Result<(TileId, Vec<u8>)>> + '_>;

    /// Every account of the newsroom server ([`crate::account`]), active
    /// and revoked, in name order. Accounts are kept beside the log: not
    /// chained, not in the tree, not derived from the entries, not
    /// exported, and not seen by `verify` or recovery.
    fn accounts(&self) -> Result<Vec<Account>>;

    /// Stores `account`, replacing the account of the same name if there is
    /// one, durably: when it returns `Ok` it survives a crash (a real fsync,
    /// as a commit's). It does not touch the log, the indexes or the tiles.
    /// A handle that takes no more writes ([`Store::is_poisoned`]) refuses it.
    fn put_account(&mut self, account: &Account) -> Result<()>;
}

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
#[cfg(any(test, feature = "testing"))]
pub mod faulty;

/// A boxed store is a store: the front ends hold `Ledger<Box<dyn Store>>`
/// and choose the backend when they open it.
impl<S: Store + ?Sized> Store for Box<S> {
    fn head(&self) -> Head {
        (**self).head()
    }
    fn is_poisoned(&self) -> bool {
        (**self).is_poisoned()
    }
    fn read_head(&self) -> Result<Head> {
        (**self).read_head()
    }
    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        (**self).commit(expected, records)
    }
    fn stage(
        &mut self,
        expected: &Head,
        records: &[Record],
        staged: &dyn StagedIndex,
    ) -> Result<()> {
        (**self).stage(expected, records, staged)
    }
    fn commit_staged(&mut self, expected: &Head) -> Result<()> {
        (**self).commit_staged(expected)
    }
    fn abort_staged(&mut self) -> Result<()> {
        (**self).abort_staged()
    }
    fn get(&self, seq: u64) -> Result<Option<Record>> {
        (**self).get(seq)
    }
    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
        (**self).scan(from_seq)
    }
    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>> {
        (**self).seq_of_event(id)
    }
    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        (**self).event_ids_in(range, limit)
    }
    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        (**self).claim_ids_in(range, limit)
    }
    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>> {
        (**self).claim_entries(claim)
    }
    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        (**self).story_claims(story)
    }
    fn stories(&self) -> Result<Vec<String>> {
        (**self).stories()
    }
    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>> {
        (**self).seqs_by_valid_to(lo, hi)
    }
    fn summaries(
        &self,
        from_claim_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, Filed)>> + '_> {
        (**self).summaries(from_claim_seq)
    }
    fn summary(&self, claim_seq: u64) -> Result<Vec<Fact>> {
        (**self).summary(claim_seq)
    }
    fn stored_index(&self) -> Box<dyn Iterator<Item = Result<IndexEntry>> + '_> {
        (**self).stored_index()
    }
    fn tile(&self, id: TileId) -> Result<Option<Vec<u8>>> {
        (**self).tile(id)
    }
    fn stored_tiles(&self) -> Box<dyn Iterator<Item = Result<(TileId, Vec<u8>)>> + '_> {
        (**self).stored_tiles()
    }
    fn accounts(&self) -> Result<Vec<Account>> {
        (**self).accounts()
    }
    fn put_account(&mut self, account: &Account) -> Result<()> {
        (**self).put_account(account)
    }
}
