//! The in-memory reference store: plain collections, no durability. Used by
//! the conformance suite, the model tests and anything that wants a scratch
//! ledger.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::{index_entries, Head, IdRange, IndexEntry, Role, Store};
use crate::error::Result;
use crate::record::Record;
use crate::time::Time;

/// A ledger held in memory.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    log: Vec<Record>,
    ids: BTreeMap<Uuid, u64>,
    claims: BTreeMap<(Uuid, u64), Role>,
    stories: BTreeMap<(String, Uuid), u64>,
    valid: BTreeSet<(Time, u64)>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemStore {
    fn head(&self) -> Head {
        match self.log.last() {
            None => Head::EMPTY,
            Some(r) => Head {
                seq: r.seq,
                hash: r.hash,
                recorded_at: Some(r.recorded_at),
            },
        }
    }

    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        super::check_continues(expected, &self.head(), records)?;
        let mut staged = self.clone();
        for r in records {
            staged.log.push(r.clone());
            let entries = index_entries(r, |id| Ok(staged.find(id)))?;
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
                }
            }
        }
        *self = staged;
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
}

impl MemStore {
    fn find(&self, id: Uuid) -> Option<Record> {
        let seq = *self.ids.get(&id)?;
        self.log.get(seq as usize - 1).cloned()
    }
}
