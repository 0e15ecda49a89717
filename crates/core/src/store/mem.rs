//! The in-memory reference store: plain collections, no durability. Used by
//! the conformance suite, the model tests and anything that wants a scratch
//! ledger.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::{index_entries, BatchLookup, Head, IdRange, IndexEntry, Role, Store};
use crate::account::Account;
use crate::error::Result;
use crate::record::Record;
use crate::summary::{ClaimHeader, Fact, Filed};
use crate::time::Time;
use crate::tree::{self, TileId};

/// A ledger held in memory.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    log: Vec<Record>,
    ids: BTreeMap<Uuid, u64>,
    claims: BTreeMap<(Uuid, u64), Role>,
    stories: BTreeMap<(String, Uuid), u64>,
    valid: BTreeSet<(Time, u64)>,
    summaries: BTreeMap<(u64, u64), Fact>,
    headers: BTreeMap<u64, ClaimHeader>,
    /// The Merkle tree's tiles.
    tiles: BTreeMap<TileId, Vec<u8>>,
    /// While a commit is staged: the store as it was before.
    before_staging: Option<Box<MemStore>>,
    /// The accounts, by name (beside the log: an abort keeps them).
    accounts: BTreeMap<String, Account>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl MemStore {
    /// The end of the log as the reads of this store see it.
    fn seen_head(&self) -> Head {
        match self.log.last() {
            None => Head::EMPTY,
            Some(r) => Head {
                seq: r.seq,
                hash: r.hash,
                recorded_at: Some(r.recorded_at),
            },
        }
    }

    /// Adds `records` and their index entries (all or nothing).
    fn apply(&mut self, records: &[Record]) -> Result<()> {
        let mut staged = self.clone();
        let mut entries = Vec::new();
        {
            let mut lookup = BatchLookup::new(self, records);
            for (i, r) in records.iter().enumerate() {
                entries.extend(index_entries(r, &mut lookup)?);
                lookup.add(i);
            }
        }
        let leaves: Vec<tree::Hash> = records.iter().map(tree::leaf_of).collect();
        let size = self.log.len() as u64;
        let tiles = tree::extend(size, &leaves, &mut |id| Ok(self.tiles.get(&id).cloned()))?;
        for id in &tiles.remove {
            staged.tiles.remove(id);
        }
        staged.tiles.extend(tiles.put);
        staged.log.extend(records.iter().cloned());
        {
            for e in entries {
                match e {
                    IndexEntry::EventId(id, seq) => {
                        staged.ids.insert(id, seq);
                    }
                    IndexEntry::Claim(c, seq, role) => {
                        staged.claims.insert((c, seq), role);
                    }
                    IndexEntry::Story(s, c, seq) => {
                        staged.stories.insert((s, c), seq);
                    }
                    IndexEntry::ValidTo(t, seq) => {
                        staged.valid.insert((t, seq));
                    }
                    IndexEntry::Summary(claim_seq, f) => {
                        staged.summaries.insert((claim_seq, f.seq), f);
                    }
                    IndexEntry::Header(claim_seq, h) => {
                        staged.headers.insert(claim_seq, h);
                    }
                }
            }
        }
        *self = staged;
        Ok(())
    }
}

impl Store for MemStore {
    fn head(&self) -> Head {
        match &self.before_staging {
            Some(before) => before.seen_head(),
            None => self.seen_head(),
        }
    }

    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        if self.before_staging.is_some() {
            return Err(crate::error::Error::invalid(
                "a commit is staged through this handle; commit or abort it first",
            ));
        }
        super::check_continues(expected, &self.head(), records)?;
        self.apply(records)
    }

    fn stage(
        &mut self,
        expected: &Head,
        records: &[Record],
        _staged: &dyn super::StagedIndex,
    ) -> Result<()> {
        super::check_continues(expected, &self.head(), &[])?;
        super::check_contiguous(self.seen_head().seq, records)?;
        let before = match self.before_staging.take() {
            Some(b) => b,
            None => Box::new(self.clone()),
        };
        let result = self.apply(records);
        self.before_staging = Some(before);
        result
    }

    fn commit_staged(&mut self, expected: &Head) -> Result<()> {
        super::check_continues(expected, &self.head(), &[])?;
        self.before_staging = None;
        Ok(())
    }

    fn abort_staged(&mut self) -> Result<()> {
        if let Some(before) = self.before_staging.take() {
            let accounts = std::mem::take(&mut self.accounts);
            *self = *before;
            self.accounts = accounts;
        }
        Ok(())
    }

    fn get(&self, seq: u64) -> Result<Option<Record>> {
        Ok(seq
            .checked_sub(1)
            .and_then(|i| self.log.get(i as usize))
            .cloned())
    }

    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
        let start = from_seq.saturating_sub(1) as usize;
        Box::new(self.log.iter().skip(start).cloned().map(Ok))
    }

    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>> {
        Ok(self.ids.get(&id).copied())
    }

    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        Ok(self
            .ids
            .range(range.lo..=range.hi)
            .map(|(k, _)| *k)
            .take(limit)
            .collect())
    }

    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        let mut out: Vec<Uuid> = Vec::new();
        for ((c, _), role) in self.claims.range((range.lo, 0)..=(range.hi, u64::MAX)) {
            if *role == Role::Asserted && out.last() != Some(c) {
                out.push(*c);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>> {
        Ok(self
            .claims
            .range((claim, 0)..=(claim, u64::MAX))
            .map(|((_, s), r)| (*s, *r))
            .collect())
    }

    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        let lo = (story.to_string(), Uuid::nil());
        let hi = (story.to_string(), Uuid::max());
        Ok(self
            .stories
            .range(lo..=hi)
            .map(|((_, c), s)| (*c, *s))
            .collect())
    }

    fn stories(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for (s, _) in self.stories.keys() {
            if out.last() != Some(s) {
                out.push(s.clone());
            }
        }
        Ok(out)
    }

    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>> {
        Ok(self
            .valid
            .range((lo, 0)..=(hi, u64::MAX))
            .map(|(_, s)| *s)
            .collect())
    }

    fn summaries(
        &self,
        from_claim_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, Filed)>> + '_> {
        let mut headers = self.headers.range(from_claim_seq..).peekable();
        let mut facts = self.summaries.range((from_claim_seq, 0)..).peekable();
        // Each claim's header first, then its facts.
        Box::new(std::iter::from_fn(move || {
            let h = headers.peek().map(|(c, _)| **c);
            let f = facts.peek().map(|((c, _), _)| *c);
            match (h, f) {
                (Some(h), f) if f.is_none_or(|f| h <= f) => headers
                    .next()
                    .map(|(c, h)| Ok((*c, Filed::Header(h.clone())))),
                (_, Some(_)) => facts.next().map(|((c, _), f)| Ok((*c, Filed::Fact(*f)))),
                _ => None,
            }
        }))
    }

    fn stored_index(&self) -> Box<dyn Iterator<Item = Result<IndexEntry>> + '_> {
        let ids = self.ids.iter().map(|(id, s)| IndexEntry::EventId(*id, *s));
        let claims = self
            .claims
            .iter()
            .map(|((c, s), r)| IndexEntry::Claim(*c, *s, *r));
        let stories = self
            .stories
            .iter()
            .map(|((st, c), s)| IndexEntry::Story(st.clone(), *c, *s));
        let valid = self.valid.iter().map(|(t, s)| IndexEntry::ValidTo(*t, *s));
        let summaries = self
            .summaries
            .iter()
            .map(|((c, _), f)| IndexEntry::Summary(*c, *f));
        let headers = self
            .headers
            .iter()
            .map(|(c, h)| IndexEntry::Header(*c, h.clone()));
        Box::new(
            ids.chain(claims)
                .chain(stories)
                .chain(valid)
                .chain(summaries)
                .chain(headers)
                .map(Ok),
        )
    }

    fn summary(&self, claim_seq: u64) -> Result<Vec<Fact>> {
        Ok(self
            .summaries
            .range((claim_seq, 0)..=(claim_seq, u64::MAX))
            .map(|(_, f)| *f)
            .collect())
    }

    fn tile(&self, id: TileId) -> Result<Option<Vec<u8>>> {
        Ok(self.tiles.get(&id).cloned())
    }

    fn stored_tiles(&self) -> Box<dyn Iterator<Item = Result<(TileId, Vec<u8>)>> + '_> {
        Box::new(self.tiles.iter().map(|(id, t)| Ok((*id, t.clone()))))
    }

    fn accounts(&self) -> Result<Vec<Account>> {
        Ok(self.accounts.values().cloned().collect())
    }

    fn put_account(&mut self, account: &Account) -> Result<()> {
        self.accounts.insert(account.name.clone(), account.clone());
        Ok(())
    }
}
