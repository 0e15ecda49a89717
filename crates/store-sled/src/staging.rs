//! Sorted runs of a staged commit (docs/format.md, "The stage tree"): each
//! part's elements for the trees keyed by random ids (event ids, claims,
//! stories) are written as one sorted run into the `stage` tree, keyed
//! `tree (1) ‖ part (4, big-endian) ‖ chunk number (4)`, with chunk values in
//! the index chunk encoding. At commit the runs of each tree are merged into
//! it, so that each of its chunks is rewritten about once however many parts
//! there were. The `stage` tree is derived data of an unfinished commit:
//! emptied after every commit and abort, and on open.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use claims_core::error::Result;

use crate::packed::{self, Write};
use crate::{from_sled, SledStore};

/// The `stage` key written before the first part of a commit staged in
/// parts, and removed only once it is committed or fully taken out.
pub(crate) const STAGING_MARK: &[u8] = &[0xFF];

/// Elements a run chunk holds at most.
const RUN_CHUNK: usize = 128;
/// Merged elements planned into a tree at a time.
const MERGE_BATCH: usize = 200_000;

fn run_key(tree: u8, part: u32, n: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(tree);
    k.extend_from_slice(&part.to_be_bytes());
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The `stage` tree writes of one part's sorted elements of `tree`.
pub(crate) fn run_writes<E: AsRef<[u8]>>(tree: u8, part: u32, el: &[E], out: &mut Vec<Write>) {
    for (n, group) in el.chunks(RUN_CHUNK).enumerate() {
        out.push((
            run_key(tree, part, n as u32),
            Some(packed::encode_chunk(group)),
        ));
    }
}

/// One run, read a chunk at a time.
struct Run {
    chunks: sled::Iter,
    buf: std::vec::IntoIter<Vec<u8>>,
}

impl Run {
    fn next(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(e) = self.buf.next() {
                return Ok(Some(e));
            }
            match self.chunks.next() {
                None => return Ok(None),
                Some(kv) => {
                    let (_, v) = kv.map_err(from_sled)?;
                    self.buf = packed::decode_chunk(&v)?.into_iter();
                }
            }
        }
    }
}

impl SledStore {
    /// Merges every part's run of the three random-keyed trees into them.
    pub(crate) fn merge_runs(&self, parts: u32) -> Result<()> {
        if parts == 0 {
            return Ok(());
        }
        let trees = self.index_trees();
        for t in 0..3u8 {
            let tree = trees[t as usize];
            let mut runs: Vec<Run> = (0..parts)
                .map(|p| Run {
                    chunks: self.stage.range(run_key(t, p, 0)..=run_key(t, p, u32::MAX)),
                    buf: Vec::new().into_iter(),
                })
                .collect();
            let mut heap = BinaryHeap::new();
            for (i, r) in runs.iter_mut().enumerate() {
                if let Some(e) = r.next()? {
                    heap.push(Reverse((e, i)));
                }
            }
            let mut batch: Vec<Vec<u8>> = Vec::with_capacity(MERGE_BATCH);
            while let Some(Reverse((e, i))) = heap.pop() {
                if let Some(n) = runs[i].next()? {
                    heap.push(Reverse((n, i)));
                }
                if batch.last() != Some(&e) {
                    batch.push(e);
                }
                if batch.len() == MERGE_BATCH {
                    self.write_planned(tree, &batch)?;
                    batch.clear();
                }
            }
            if !batch.is_empty() {
                self.write_planned(tree, &batch)?;
            }
        }
        Ok(())
    }

    fn write_planned(&self, tree: &sled::Tree, el: &[Vec<u8>]) -> Result<()> {
        let mut b = sled::Batch::default();
        for (k, v) in packed::plan(tree, el, &[])? {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        tree.apply_batch(b).map_err(from_sled)
    }

    /// Empties the `stage` tree.
    pub(crate) fn clear_stage(&self) -> Result<()> {
        self.stage.clear().map_err(from_sled)
    }
}
