//! Crash recovery, the last step of every open (docs/format.md, "Recovery on
//! open"): entries past the head are rolled back with any index elements
//! derived from them, and the index elements of `(indexed, head]` are derived
//! again from the log. What it did is kept as a [`Recovery`] report.

use std::ops::RangeInclusive;

use claims_core::error::{Error, Hint, Result};
use claims_core::record::Record;

use crate::keys::{element_seq, seq_key, u64_at, META_INDEXED};
use crate::packed::{self, Block};
use crate::{from_sled, SledStore};

/// What an open did to bring the ledger back to its last commit: nothing,
/// for a ledger that was closed cleanly. A front end can tell the user
/// ([`SledStore::recovery`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// The format version the ledger was upgraded from (1, 2 or 3), if it was.
    pub upgraded_from: Option<u32>,
    /// How many entries past the head (written by a commit that did not
    /// reach its commit point) were taken out of the log.
    pub rolled_back: u64,
    /// The lowest and highest seq of those entries.
    pub rolled_back_seqs: Option<RangeInclusive<u64>>,
    /// The seqs of rolled-back entries whose bytes did not decode, so that
    /// the index elements derived from them could not be worked out; every
    /// index element past the head was removed instead.
    pub undecodable: Vec<u64>,
    /// How many index elements past the head that sweep removed.
    pub stale_index_elements: u64,
    /// The seqs whose index elements were derived again from the log (the
    /// index writes after `meta/indexed` had not all been made durable).
    pub reindexed: Option<RangeInclusive<u64>>,
    /// The seqs whose leaves were added to the Merkle tree again (the tile
    /// writes after `meta/tree` had not all been made durable, or the
    /// ledger was upgraded from a format without the tree).
    pub retiled: Option<RangeInclusive<u64>>,
    /// Whether tiles past the last commit's tree were cut back (written by
    /// a commit that did not finish), or the partial tile of leaf hashes
    /// was put back from the log.
    pub tiles_cut: bool,
}

impl Recovery {
    /// Whether the open found the ledger as it was left by a clean close.
    pub fn is_clean(&self) -> bool {
        *self == Recovery::default()
    }
}

impl SledStore {
    /// Brings the store back to its commit point after a crash.
    pub(crate) fn recover(&mut self) -> Result<()> {
        let head = self.head.seq;
        // 1. Entries past the head were never committed: drop them and whatever
        //    index entries were derived from them.
        // A commit staged in parts leaves runs in the `stage` tree and maybe
        // merged elements whose look-ups need those runs: sweep instead.
        let staged_in_parts = !self.stage.is_empty();
        if self.roll_back_past_head(staged_in_parts)? || staged_in_parts {
            self.sync()?;
        }
        if staged_in_parts {
            self.clear_stage()?;
        }
        // 2. Indexes behind the head are derived again (inserts are idempotent).
        let indexed = self.indexed()?.min(head);
        if indexed < head {
            self.recovery.reindexed = Some(indexed + 1..=head);
            self.each_chunk(indexed + 1, head, |s, chunk| {
                let entries = s.derive(chunk)?;
                s.apply_index(&entries, true)
            })?;
            self.sync()?;
            self.meta
                .insert(META_INDEXED, &head.to_be_bytes())
                .map_err(from_sled)?;
        }
        self.applied = head;
        // 3. The Merkle tree: cut back to its mark, extended to the head.
        let (retiled, cut) = self.recover_tree()?;
        self.recovery.retiled = retiled;
        self.recovery.tiles_cut = cut;
        Ok(())
    }

    /// Calls `f` with the entries `from..=to`, decoded 50 000 at a time (so
    /// memory does not grow with the range); a missing entry is damage.
    pub(crate) fn each_chunk(
        &mut self,
        from: u64,
        to: u64,
        mut f: impl FnMut(&mut Self, &[Record]) -> Result<()>,
    ) -> Result<()> {
        const CHUNK: u64 = 50_000;
        let mut from = from;
        while from <= to {
            let last = (from + CHUNK - 1).min(to);
            let mut chunk: Vec<Record> = Vec::with_capacity((last - from + 1) as usize);
            self.each_entry(from, last, |_, bytes| {
                chunk.push(Record::decode(bytes)?);
                Ok(true)
            })?;
            if chunk.len() as u64 != last - from + 1 {
                return Err(Error::damaged(format!(
                    "the log of {} has a gap between seq {from} and {last}",
                    self.path.display()
                ))
                .with_hint(Hint::Verify));
            }
            f(self, &chunk)?;
            from = last + 1;
        }
        Ok(())
    }

    /// Takes the log entries past the head out, with the index elements
    /// derived from them; returns whether there were any. It works through
    /// them from the last block back, a group of blocks at a time, so its
    /// memory does not grow with how many there are: each group's index
    /// elements are worked out (their look-ups see the entries before the
    /// group, still in place) and removed, then its blocks. A crash part-way
    /// leaves fewer entries past the head, which the next open takes out.
    pub(crate) fn roll_back_past_head(&mut self, sweep: bool) -> Result<bool> {
        /// Blocks a group (about 30 entries each).
        const GROUP: usize = 2048;
        let head = self.head.seq;
        let start = match self.block_at(head.max(1))? {
            Some((k, _)) => k,
            None => 1,
        };
        let mut keys: Vec<u64> = Vec::new();
        for kv in self.log.range(seq_key(start)..) {
            let (k, _) = kv.map_err(from_sled)?;
            keys.push(u64_at(&k, 0)?);
        }
        let mut any = false;
        for group in keys.rchunks(GROUP) {
            let mut leftovers: Vec<Record> = Vec::new();
            let mut rewrites: Vec<(u64, Block)> = Vec::new();
            for &key in group {
                let Some(v) = self.log.get(seq_key(key)).map_err(from_sled)? else {
                    continue;
                };
                let block = Block::decode(key, &v)?;
                if block.entries.iter().all(|(s, _)| *s <= head) {
                    continue;
                }
                let (keep, gone): (Vec<_>, Vec<_>) =
                    block.entries.into_iter().partition(|(s, _)| *s <= head);
                for (seq, bytes) in &gone {
                    let report = &mut self.recovery;
                    report.rolled_back += 1;
                    report.rolled_back_seqs = Some(match report.rolled_back_seqs.take() {
                        Some(r) => *r.start().min(seq)..=*r.end().max(seq),
                        None => *seq..=*seq,
                    });
                    match Record::decode(bytes) {
                        Ok(r) => leftovers.push(r),
                        Err(_) => report.undecodable.push(*seq),
                    }
                }
                rewrites.push((key, Block { entries: keep }));
            }
            if rewrites.is_empty() {
                continue;
            }
            any = true;
            if sweep {
                // Their index elements go in the sweep below.
                leftovers.clear();
            }
            // Look-ups see what lies before this group, nothing of it.
            let first = leftovers.first().map_or(head + 1, |r| r.seq);
            self.visible = first.saturating_sub(1).max(head);
            let derived = self
                .derive(&leftovers)
                .and_then(|entries| self.apply_index(&entries, false));
            self.visible = head;
            derived?;
            let mut batch = sled::Batch::default();
            for (key, keep) in &rewrites {
                if keep.entries.is_empty() {
                    batch.remove(&seq_key(*key));
                } else {
                    batch.insert(&seq_key(*key), keep.encode(*key));
                }
            }
            let forget: Vec<(u64, Vec<u8>)> =
                rewrites.iter().map(|(k, _)| (*k, Vec::new())).collect();
            self.forget_blocks(&forget);
            self.log.apply_batch(batch).map_err(from_sled)?;
        }
        // A sweep runs even when no entry was left past the head: an earlier
        // rollback may have taken the entries out and stopped before its
        // sweep (the `stage` tree, emptied only after it, says so).
        if sweep || (any && !self.recovery.undecodable.is_empty()) {
            // Their index elements (if any were written) are unknown: take
            // out every element past the head, so that none is found again
            // once a later commit reuses those seqs.
            self.recovery.stale_index_elements = self.remove_index_past(head)?;
        }
        Ok(any)
    }

    /// Removes every index element whose seq is past `head`; returns how
    /// many. It reads every chunk, so it runs only when recovery cannot
    /// tell which elements the rolled-back entries had. Each chunk holding
    /// such elements is rewritten without them where it is (under its new
    /// first element, or removed when none is left), a window of chunks at a
    /// time, so memory stays a window whatever it removes.
    fn remove_index_past(&self, head: u64) -> Result<u64> {
        const WINDOW: usize = 1024;
        let mut removed = 0;
        for (i, tree) in self.index_trees().into_iter().enumerate() {
            let mut from: Vec<u8> = Vec::new();
            loop {
                let mut batch = sled::Batch::default();
                let mut seen = 0;
                let mut last: Option<Vec<u8>> = None;
                for kv in tree.range(from.clone()..) {
                    let (k, v) = kv.map_err(from_sled)?;
                    seen += 1;
                    last = Some(k.to_vec());
                    let elems = packed::decode_chunk(&v)?;
                    let keep: Vec<&Vec<u8>> = elems
                        .iter()
                        .filter(|e| element_seq(i, e).is_none_or(|seq| seq <= head))
                        .collect();
                    if keep.len() < elems.len() {
                        removed += (elems.len() - keep.len()) as u64;
                        batch.remove(k.as_ref());
                        if let Some(first) = keep.first() {
                            batch.insert(first.as_slice(), packed::encode_chunk(&keep));
                        }
                    }
                    if seen == WINDOW {
                        break;
                    }
                }
                tree.apply_batch(batch).map_err(from_sled)?;
                match last {
                    Some(mut k) if seen == WINDOW => {
                        k.push(0);
                        from = k;
                    }
                    _ => break,
                }
            }
        }
        Ok(removed)
    }

    /// What the open that made this handle did to recover the ledger.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }
}
