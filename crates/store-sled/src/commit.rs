//! The commit protocols (docs/format.md, "Commit protocol"): a small commit
//! is one sled transaction then a sync; a large one writes and syncs the log
//! blocks, then the index chunks and a sync, then the head and a sync (the
//! commit point), then the `indexed` mark.

use sled::Transactional;

use claims_core::error::{Error, Hint, Result};
use claims_core::record::Record;
use claims_core::store::{Head, StagedIndex};

use crate::keys::{head_bytes, seq_key, u64_at, LOG_HEAD, META_INDEXED, META_TREE};
use crate::packed::{Block, BLOCK_TAG, BLOCK_TARGET, MAX_ENTRY};
use crate::tree::tile_key;
use crate::{from_sled, fsync_tree, SledStore, SMALL_COMMIT};

/// The points of the commit protocols where a test can make a commit fail
/// (feature `testing`: `SledStore::set_fail_point`). A `Sync` stage fails
/// the fsync itself, after sled's own flush has handed the writes to the
/// operating system; the others fail just after the step they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Small commit: everything is worked out, nothing is written.
    SmallBeforeTransaction,
    /// Small commit: the transaction is applied, not synced.
    SmallAfterTransaction,
    /// Small commit: its fsync.
    SmallSync,
    /// Large commit: the log blocks are written, not synced.
    LargeAfterBlocks,
    /// Large commit: the fsync of the blocks.
    LargeBlocksSync,
    /// Large commit: the blocks are synced, the index chunks are not written.
    LargeAfterBlocksSync,
    /// Large commit: the index chunks are written, not synced.
    LargeAfterIndex,
    /// Large commit: the fsync of the blocks and index chunks.
    LargeIndexSync,
    /// Large commit: the head is written, not synced.
    LargeAfterHead,
    /// Large commit: the fsync of the head (the commit point).
    LargeHeadSync,
    /// Large commit: the head is synced (committed), `meta/indexed` is not written.
    LargeAfterHeadSync,
    /// Large commit: just before `meta/indexed` is written.
    LargeBeforeIndexedMark,
}

#[cfg(any(test, feature = "testing"))]
impl Stage {
    /// Every stage, small commit first.
    pub const ALL: [Stage; 12] = [
        Stage::SmallBeforeTransaction,
        Stage::SmallAfterTransaction,
        Stage::SmallSync,
        Stage::LargeAfterBlocks,
        Stage::LargeBlocksSync,
        Stage::LargeAfterBlocksSync,
        Stage::LargeAfterIndex,
        Stage::LargeIndexSync,
        Stage::LargeAfterHead,
        Stage::LargeHeadSync,
        Stage::LargeAfterHeadSync,
        Stage::LargeBeforeIndexedMark,
    ];

    /// Whether it is a stage of the large commit.
    pub fn is_large(self) -> bool {
        !matches!(
            self,
            Stage::SmallBeforeTransaction | Stage::SmallAfterTransaction | Stage::SmallSync
        )
    }
}

impl SledStore {
    /// [`Store::commit`](claims_core::Store::commit): the head check, then
    /// the commit; a handle whose commit failed part-way takes no more.
    pub(crate) fn commit_checked(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        if self.poisoned {
            return Err(Error::damaged(
                "an earlier write through this handle failed part-way, so it takes no more writes",
            )
            .with_hint(Hint::Reopen));
        }
        if self.staged.is_some() {
            return Err(Error::invalid(
                "a commit is staged through this handle; commit or abort it first",
            ));
        }
        // A refusal before anything is written leaves the handle usable.
        claims_core::store::check_continues(expected, &self.head, records)?;
        self.commit_inner(records)?;
        self.poisoned = false;
        Ok(())
    }

    /// The commit without the poison check. It poisons the handle just
    /// before its first write, so that a refusal before (an entry too long
    /// to store) leaves the handle usable.
    fn commit_inner(&mut self, records: &[Record]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let last = records.last().expect("not empty");
        let head = Head {
            seq: last.seq,
            hash: last.hash,
            recorded_at: Some(last.recorded_at),
        };
        if records.len() <= SMALL_COMMIT
            && self.applied == self.head.seq
            && self.tree_size == self.head.seq
        {
            // Everything in one transaction: log, head, indexes and their mark.
            let blocks = self.pack_blocks(records)?;
            self.forget_blocks(&blocks);
            let entries = self.derive(records)?;
            let index = self.index_writes(&entries, true)?;
            let tiles = self.tile_writes(records)?;
            let head_bytes = head_bytes(&head);
            let mark = head.seq.to_be_bytes();
            self.poisoned = true;
            self.fail_point(Stage::SmallBeforeTransaction)?;
            let trees = [
                &self.log,
                &self.meta,
                &self.ids,
                &self.claims,
                &self.stories,
                &self.valid,
                &self.summary,
                &self.tiles,
            ];
            trees
                .as_slice()
                .transaction(|tx| {
                    for (k, v) in &blocks {
                        tx[0].insert(&seq_key(*k)[..], v.as_slice())?;
                    }
                    tx[0].insert(&LOG_HEAD[..], head_bytes.as_slice())?;
                    tx[1].insert(META_INDEXED, &mark[..])?;
                    tx[1].insert(META_TREE, &mark[..])?;
                    for (id, t) in &tiles.put {
                        tx[7].insert(&tile_key(*id)[..], t.as_slice())?;
                    }
                    for id in &tiles.remove {
                        tx[7].remove(&tile_key(*id)[..])?;
                    }
                    for (t, ws) in index.iter().enumerate() {
                        for (k, v) in ws {
                            match v {
                                Some(v) => tx[2 + t].insert(k.as_slice(), v.as_slice())?,
                                None => tx[2 + t].remove(k.as_slice())?,
                            };
                        }
                    }
                    Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
                })
                .map_err(|e| match e {
                    sled::transaction::TransactionError::Storage(e) => from_sled(e),
                    sled::transaction::TransactionError::Abort(()) => {
                        Error::damaged("a commit was aborted")
                    }
                })?;
            self.fail_point(Stage::SmallAfterTransaction)?;
            self.commit_sync(Stage::SmallSync)?;
            self.head = head;
            self.visible = head.seq;
            self.applied = head.seq;
            self.tree_size = head.seq;
            return Ok(());
        }
        // A large commit: staged in one part, then committed.
        self.stage_part(records, None)?;
        self.finish_staged()
    }

    /// [`Store::stage`](claims_core::Store::stage): the head check (first
    /// part) or the contiguity check (later parts), then the part's writes.
    pub(crate) fn stage_checked(
        &mut self,
        expected: &Head,
        records: &[Record],
        staged: &dyn StagedIndex,
    ) -> Result<()> {
        match self.staged {
            None => {
                if self.poisoned {
                    return Err(Error::damaged(
                        "an earlier write through this handle failed part-way, so it takes no more writes",
                    )
                    .with_hint(Hint::Reopen));
                }
                claims_core::store::check_continues(expected, &self.head, records)?;
            }
            Some(staged) => {
                claims_core::store::check_continues(expected, &self.head, &[])?;
                claims_core::store::check_contiguous(staged.seq, records)?;
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        self.stage_part(records, Some(staged))
    }

    /// [`Store::commit_staged`](claims_core::Store::commit_staged).
    pub(crate) fn commit_staged_checked(&mut self, expected: &Head) -> Result<()> {
        claims_core::store::check_continues(expected, &self.head, &[])?;
        if self.staged.is_none() {
            return Ok(());
        }
        self.finish_staged()?;
        self.poisoned = false;
        Ok(())
    }

    /// [`Store::abort_staged`](claims_core::Store::abort_staged): takes the
    /// staged entries and their index elements out again.
    pub(crate) fn abort_staged_here(&mut self) -> Result<()> {
        if self.staged.take().is_none() {
            return Ok(());
        }
        self.visible = self.head.seq;
        self.roll_back_past_head(true)?;
        self.cut_back(self.head.seq)?;
        self.tree_size = self.head.seq;
        self.clear_stage()?;
        self.parts = 0;
        self.sync()?;
        self.poisoned = false;
        Ok(())
    }

    /// Writes one part of a staged commit: its log blocks (past the head,
    /// so no read of another handle and no reopen sees them), a sync, then
    /// its index elements. The index writes are worked out on a second
    /// thread while the blocks are packed, written and synced. The handle is
    /// poisoned until the commit finishes or is aborted.
    fn stage_part(&mut self, records: &[Record], staged: Option<&dyn StagedIndex>) -> Result<()> {
        let last = records.last().expect("not empty");
        let end = Head {
            seq: last.seq,
            hash: last.hash,
            recorded_at: Some(last.recorded_at),
        };
        if staged.is_some() && self.parts == 0 {
            // Marks a commit staged in parts before anything of it is
            // written (it is synced with the first blocks): recovery, and
            // an abort, then sweep every index past the head instead of
            // working out elements whose look-ups need the runs.
            self.stage
                .insert(crate::staging::STAGING_MARK, &[][..])
                .map_err(from_sled)?;
        }
        let mut writing = false;
        let part = self.parts;
        let index = std::thread::scope(|s| -> Result<_> {
            let derive = || match staged {
                // A part of many: runs for the random-keyed trees.
                Some(staged) => self
                    .derive_staged(records, staged)
                    .and_then(|e| self.staged_writes(&e, part)),
                None => self
                    .derive(records)
                    .and_then(|e| self.index_writes(&e, true))
                    .map(|w| (w, Vec::new())),
            };
            let worker = std::thread::Builder::new().spawn_scoped(s, derive);
            let blocks = self.pack_blocks(records)?;
            writing = true;
            self.forget_blocks(&blocks);
            for group in blocks.chunks(256) {
                let mut batch = sled::Batch::default();
                for (k, v) in group {
                    batch.insert(&seq_key(*k), v.as_slice());
                }
                self.log.apply_batch(batch).map_err(from_sled)?;
            }
            self.fail_point(Stage::LargeAfterBlocks)?;
            // The blocks are durable before any index element derived from
            // them is written, so recovery can always work out (from the
            // blocks) which elements to take out again.
            self.commit_sync(Stage::LargeBlocksSync)?;
            self.fail_point(Stage::LargeAfterBlocksSync)?;
            match worker {
                Ok(w) => w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                // No second thread to be had: work them out here.
                Err(_) => derive(),
            }
        });
        // Once the first block is written, only a finished commit, an
        // abort or a reopen makes the handle usable again.
        self.poisoned |= writing;
        let (index, runs) = index?;
        // The index elements go in before the head moves: reads of other
        // handles ignore elements past the head, and recovery removes them
        // with the entries a crash left past it. So every write that can
        // fail for want of space happens before the commit point.
        self.write_index(index)?;
        // The part's leaves, on the right edge of the tiles.
        let tiles = self.tile_writes(records)?;
        self.write_tiles(tiles, records.len() as u64)?;
        if staged.is_some() {
            let mut b = sled::Batch::default();
            for (k, v) in runs {
                if let Some(v) = v {
                    b.insert(k, v);
                }
            }
            self.stage.apply_batch(b).map_err(from_sled)?;
            self.parts += 1;
        }
        self.fail_point(Stage::LargeAfterIndex)?;
        self.staged = Some(end);
        self.visible = end.seq;
        Ok(())
    }

    /// Commits what is staged: a sync of the blocks and index elements,
    /// then the head (the commit point) and a sync, then `meta/indexed`.
    fn finish_staged(&mut self) -> Result<()> {
        let head = self.staged.expect("a staged commit");
        self.merge_runs(self.parts)?;
        self.commit_sync(Stage::LargeIndexSync)?;
        self.log
            .insert(LOG_HEAD, head_bytes(&head))
            .map_err(from_sled)?;
        self.fail_point(Stage::LargeAfterHead)?;
        self.commit_sync(Stage::LargeHeadSync)?;
        self.head = head;
        self.staged = None;
        self.visible = head.seq;
        self.applied = head.seq;
        self.fail_point(Stage::LargeAfterHeadSync)?;
        self.fail_point(Stage::LargeBeforeIndexedMark)?;
        // Not synced: if they are lost, the next open derives the indexes
        // and the tree's last tiles again.
        let mut marks = sled::Batch::default();
        marks.insert(META_INDEXED, &head.seq.to_be_bytes());
        marks.insert(META_TREE, &head.seq.to_be_bytes());
        self.meta.apply_batch(marks).map_err(from_sled)?;
        if self.parts > 0 {
            // Not synced either: the next open empties it anyway.
            self.clear_stage()?;
            self.parts = 0;
        }
        Ok(())
    }

    /// [`SledStore::sync`] with the fail point of a `Sync` stage between
    /// sled's flush and the fsync.
    fn commit_sync(&self, stage: Stage) -> Result<()> {
        self.db.flush().map_err(from_sled)?;
        self.fail_point(stage)?;
        fsync_tree(&self.path).map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))
    }

    /// Without the `testing` feature, no fail point ever fires.
    #[cfg(not(any(test, feature = "testing")))]
    #[inline(always)]
    fn fail_point(&self, _stage: Stage) -> Result<()> {
        Ok(())
    }

    /// The log values that append `records` (contiguous after the head): the
    /// last block is continued while it has room, then new blocks follow.
    fn pack_blocks(&self, records: &[Record]) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut key = records.first().map_or(0, |r| r.seq);
        let mut cur = Block::default();
        let mut size = 0usize;
        if let Some((k, v)) = self.log.last().map_err(from_sled)? {
            if k.as_ref() != LOG_HEAD && v.first() == Some(&BLOCK_TAG) {
                let k = u64_at(&k, 0)?;
                let b = Block::decode(k, &v)?;
                let len = b.raw_len();
                if len < BLOCK_TARGET && b.entries.last().map(|e| e.0) == Some(self.visible) {
                    key = k;
                    size = len;
                    cur = b;
                }
            }
        }
        for r in records {
            if size >= BLOCK_TARGET {
                out.push((key, cur.encode(key)));
                cur = Block::default();
                size = 0;
                key = r.seq;
            }
            let bytes = r.encode_compact();
            if bytes.len() > MAX_ENTRY {
                return Err(Error::invalid(format!(
                    "the event at seq {} takes {} bytes stored, more than a ledger stores in one entry ({} MiB)",
                    r.seq,
                    bytes.len(),
                    MAX_ENTRY >> 20
                )));
            }
            size += bytes.len() + 4;
            cur.entries.push((r.seq, bytes));
        }
        if !cur.entries.is_empty() {
            out.push((key, cur.encode(key)));
        }
        Ok(out)
    }
}
