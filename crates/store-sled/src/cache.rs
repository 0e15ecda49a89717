//! The block cache: decompressed log blocks, keyed by their seq range, so
//! that a point read by seq needs neither a sled read nor a decompression.

use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard};

use crate::SledStore;

/// A bounded map from block key to the block's decompressed entries and
/// the last seq it holds, so that a look-up by seq needs no sled read.
#[derive(Default)]
pub(crate) struct BlockCache {
    map: BTreeMap<u64, Cached>,
    bytes: usize,
    tick: u64,
}

struct Cached {
    payload: Arc<Vec<u8>>,
    last: u64,
    used: u64,
}

impl BlockCache {
    /// The most the cache holds (the blocks are about 10 KiB compressed).
    const MAX_BYTES: usize = 32 << 20;

    /// The cached block holding `seq`: its key and entries.
    pub(crate) fn find(&mut self, seq: u64) -> Option<(u64, Arc<Vec<u8>>)> {
        self.tick += 1;
        let tick = self.tick;
        let (key, c) = self.map.range_mut(..=seq).next_back()?;
        if c.last < seq {
            return None;
        }
        c.used = tick;
        Some((*key, c.payload.clone()))
    }

    pub(crate) fn put(&mut self, key: u64, last: u64, payload: Arc<Vec<u8>>) {
        self.tick += 1;
        self.bytes += payload.len();
        let cached = Cached {
            payload,
            last,
            used: self.tick,
        };
        if let Some(old) = self.map.insert(key, cached) {
            self.bytes -= old.payload.len();
        }
        if self.bytes > Self::MAX_BYTES {
            // Keep the more recently used half.
            let mut ticks: Vec<u64> = self.map.values().map(|c| c.used).collect();
            ticks.sort_unstable();
            let cut = ticks[ticks.len() / 2];
            self.map.retain(|_, c| c.used >= cut);
            self.bytes = self.map.values().map(|c| c.payload.len()).sum();
        }
    }

    pub(crate) fn remove(&mut self, key: u64) {
        if let Some(old) = self.map.remove(&key) {
            self.bytes -= old.payload.len();
        }
    }

    #[cfg_attr(not(any(test, feature = "testing")), allow(dead_code))]
    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }
}

impl SledStore {
    /// Drops the cached copies of blocks about to be rewritten.
    pub(crate) fn forget_blocks(&self, blocks: &[(u64, Vec<u8>)]) {
        let mut cache = self.cache();
        for (k, _) in blocks {
            cache.remove(*k);
        }
    }

    /// The block cache (a poisoned lock only means a reader panicked: the
    /// map itself is always whole).
    pub(crate) fn cache(&self) -> MutexGuard<'_, BlockCache> {
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }
}
