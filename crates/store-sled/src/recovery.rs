//! Crash recovery, the last step of every open (docs/format.md, "Recovery on
//! open"): entries past the head are rolled back with any index elements
//! derived from them, and the index elements of `(indexed, head]` are derived
//! again from the log.

use claims_core::error::{Error, Hint, Result};
use claims_core::record::Record;

use crate::keys::{seq_key, u64_at, META_INDEXED};
use crate::packed::Block;
use crate::{from_sled, SledStore};

impl SledStore {
    /// Brings the store back to its commit point after a crash.
    pub(crate) fn recover(&mut self) -> Result<()> {
        let head = self.head.seq;
        // 1. Entries past the head were never committed: drop them and whatever
        //    index entries were derived from them.
        let start = match self.block_at(head.max(1))? {
            Some((k, _)) => k,
            None => 1,
        };
        let mut leftovers: Vec<Record> = Vec::new();
        let mut rewrites: Vec<(u64, Block)> = Vec::new();
        for kv in self.log.range(seq_key(start)..) {
            let (k, v) = kv.map_err(from_sled)?;
            let key = u64_at(&k, 0)?;
            let block = Block::decode(key, &v)?;
            if block.entries.iter().all(|(s, _)| *s <= head) {
                continue;
            }
            let (keep, gone): (Vec<_>, Vec<_>) =
                block.entries.into_iter().partition(|(s, _)| *s <= head);
            leftovers.extend(gone.iter().filter_map(|(_, b)| Record::decode(b).ok()));
            rewrites.push((key, Block { entries: keep }));
        }
        if !rewrites.is_empty() {
            let entries = self.derive(&leftovers)?;
            self.apply_index(&entries, false)?;
            let mut batch = sled::Batch::default();
            for (key, keep) in rewrites {
                if keep.entries.is_empty() {
                    batch.remove(&seq_key(key));
                } else {
                    batch.insert(&seq_key(key), keep.encode(key));
                }
            }
            self.log.apply_batch(batch).map_err(from_sled)?;
            self.sync()?;
        }
        // 2. Indexes behind the head are derived again (inserts are idempotent).
        let indexed = self.indexed()?.min(head);
        if indexed < head {
            let mut from = indexed + 1;
            while from <= head {
                let to = (from + 50_000 - 1).min(head);
                let mut chunk: Vec<Record> = Vec::with_capacity((to - from + 1) as usize);
                self.each_entry(from, to, |_, bytes| {
                    chunk.push(Record::decode(bytes)?);
                    Ok(true)
                })?;
                if chunk.len() as u64 != to - from + 1 {
                    return Err(Error::damaged(format!(
                        "the log of {} has a gap between seq {from} and {to}",
                        self.path.display()
                    ))
                    .with_hint(Hint::Verify));
                }
                let entries = self.derive(&chunk)?;
                self.apply_index(&entries, true)?;
                from = to + 1;
            }
            self.sync()?;
            self.meta
                .insert(META_INDEXED, &head.to_be_bytes())
                .map_err(from_sled)?;
        }
        self.applied = head;
        Ok(())
    }
}
