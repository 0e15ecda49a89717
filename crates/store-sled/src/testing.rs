//! Test support (feature `testing`, and this crate's own tests): the raw
//! tamper hooks that damage a ledger the way a crash or an attacker would.
//! Never used by the `claims` binary.

use claims_core::error::Result;
use claims_core::record::{Record, ENCODING_COMPACT};

use crate::keys::{seq_key, META_FORMAT, META_INDEXED};
use crate::packed::{Block, BlockView};
use crate::{from_sled, SledStore};

/// Raw access for crash, tamper and recovery tests: these bypass every rule
/// and exist only so tests can damage a ledger the way a crash or an attacker
/// would. Never used by the `claims` binary.
#[doc(hidden)]
impl SledStore {
    /// Writes `value` as the stored entry at `seq` (no index, no head change):
    /// into the block that holds (or would hold) `seq`, or a block of its own.
    pub fn raw_log_put(&self, seq: u64, value: &[u8]) -> Result<()> {
        self.cache().clear();
        let (key, mut block) = match self.block_at(seq)? {
            Some((key, v)) => (key, Block::decode(key, &v)?),
            None => (seq, Block::default()),
        };
        match block.entries.binary_search_by_key(&seq, |e| e.0) {
            Ok(i) => block.entries[i].1 = value.to_vec(),
            Err(i) => block.entries.insert(i, (seq, value.to_vec())),
        }
        self.log
            .insert(seq_key(key), block.encode(key))
            .map_err(from_sled)?;
        self.sync()
    }

    /// Removes the log entry at `seq`.
    pub fn raw_log_remove(&self, seq: u64) -> Result<()> {
        self.cache().clear();
        if let Some((key, v)) = self.block_at(seq)? {
            let mut block = Block::decode(key, &v)?;
            block.entries.retain(|e| e.0 != seq);
            if block.entries.is_empty() {
                self.log.remove(seq_key(key)).map_err(from_sled)?;
            } else {
                self.log
                    .insert(seq_key(key), block.encode(key))
                    .map_err(from_sled)?;
            }
        }
        self.sync()
    }

    /// The stored entry at `seq`. An entry in the compact encoding is given
    /// as its format-1 value (tag 1 and the JSON of its export form), so
    /// tests can edit it; anything that does not decode is given as stored.
    pub fn raw_log_get(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let Some((key, v)) = self.block_at(seq)? else {
            return Ok(None);
        };
        let mut found = None;
        BlockView::parse(key, &v, |s, bytes| {
            if s == seq {
                found = Some(bytes.to_vec());
            }
            s < seq
        })?;
        Ok(found.map(|bytes| match bytes.first() {
            Some(&ENCODING_COMPACT) => Record::decode(&bytes).map_or(bytes, |r| r.encode()),
            _ => bytes,
        }))
    }

    /// Empties every index tree and sets the index high-water mark to `indexed`,
    /// as if a crash had lost the index writes after that seq.
    pub fn raw_forget_indexes(&self, indexed: u64) -> Result<()> {
        for t in self.index_trees() {
            t.clear().map_err(from_sled)?;
        }
        self.meta
            .insert(META_INDEXED, &indexed.to_be_bytes())
            .map_err(from_sled)?;
        self.sync()
    }

    /// Overwrites the stored format version.
    pub fn raw_set_format(&self, version: u32) -> Result<()> {
        self.meta
            .insert(META_FORMAT, &version.to_be_bytes())
            .map_err(from_sled)?;
        self.sync()
    }
}
