//! Test support (feature `testing`, and this crate's own tests): the raw
//! tamper hooks that damage a ledger the way a crash or an attacker would,
//! and fail points that stop a commit at any stage of its protocol
//! ([`Stage`]). Never used by the `claims` binary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use claims_core::error::{Error, Result};
use claims_core::record::{Record, ENCODING_COMPACT, ENCODING_COMPACT_BY};

use crate::commit::Stage;
use crate::keys::{seq_key, META_FORMAT, META_INDEXED};
use crate::packed::{Block, BlockView};
use crate::{from_sled, SledStore};

/// What a fail point does when its commit reaches its stage.
#[derive(Clone)]
pub enum Fault {
    /// A crash: the commit returns an error at once, and the handle writes
    /// nothing more (its `Drop` skips its flush; sled's own drop still hands
    /// sled's buffers to the operating system, as a process killed after
    /// those writes would leave them).
    Crash,
    /// A crash (as [`Fault::Crash`]) that first copies the ledger directory
    /// to this path: the copy holds what the files held at that moment, as
    /// a process killed there leaves them (sled's unwritten buffers lost).
    Snapshot(PathBuf),
    /// A crash (as [`Fault::Crash`]) that first runs this, e.g. to shut the
    /// file system down or to end the process.
    Run(Arc<dyn Fn(Stage) + Send + Sync>),
    /// The disk is full: the step fails with ENOSPC as sled reports an
    /// error it kept (a clone), and the handle goes on (it is poisoned).
    NoSpace,
}

impl std::fmt::Debug for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Crash => f.write_str("Crash"),
            Fault::Snapshot(p) => f.debug_tuple("Snapshot").field(p).finish(),
            Fault::Run(_) => f.write_str("Run(..)"),
            Fault::NoSpace => f.write_str("NoSpace"),
        }
    }
}

/// A fault at a stage of the next commit that reaches it; it fires once.
#[derive(Debug, Clone)]
pub struct FailPoint {
    /// Where.
    pub stage: Stage,
    /// What.
    pub fault: Fault,
}

/// A handle's fail point and whether it crashed.
#[derive(Default)]
pub(crate) struct Faults {
    armed: Mutex<Option<FailPoint>>,
    crashed: AtomicBool,
}

impl Faults {
    pub(crate) fn crashed(&self) -> bool {
        self.crashed.load(Ordering::SeqCst)
    }
}

/// Fail points of the commit protocols.
#[doc(hidden)]
impl SledStore {
    /// Arms (or, with `None`, disarms) the fail point of the next commit.
    pub fn set_fail_point(&self, point: Option<FailPoint>) {
        *self.faults.armed.lock().unwrap_or_else(|p| p.into_inner()) = point;
    }

    /// Whether a fail point simulated a crash on this handle.
    pub fn crashed(&self) -> bool {
        self.faults.crashed()
    }

    /// Fires the armed fail point if it is for `stage`.
    pub(crate) fn fail_point(&self, stage: Stage) -> Result<()> {
        let fault = {
            let mut armed = self.faults.armed.lock().unwrap_or_else(|p| p.into_inner());
            match armed.as_ref() {
                Some(p) if p.stage == stage => armed.take().map(|p| p.fault),
                _ => None,
            }
        };
        let Some(fault) = fault else {
            return Ok(());
        };
        let crash = || {
            self.faults.crashed.store(true, Ordering::SeqCst);
            Error::io(
                format!("a commit at {stage:?}"),
                std::io::Error::other("simulated crash"),
            )
        };
        match fault {
            Fault::Crash => Err(crash()),
            Fault::Snapshot(to) => {
                copy_tree(&self.path, &to)
                    .map_err(|e| Error::io(format!("copying the ledger to {}", to.display()), e))?;
                Err(crash())
            }
            Fault::Run(f) => {
                f(stage);
                Err(crash())
            }
            Fault::NoSpace => {
                let kept = sled::Error::Io(std::io::Error::from_raw_os_error(28));
                Err(from_sled(kept.clone()))
            }
        }
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            match std::fs::copy(entry.path(), &target) {
                Ok(_) => {}
                // sled may remove an old snapshot while we copy.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

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

    /// The stored entry at `seq`. An entry in the compact encoding (tag 2 or
    /// 3) is given as its format-1 value (tag 1 and the JSON of its export
    /// form), so tests can edit it; anything that does not decode is given
    /// as stored.
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
            Some(&(ENCODING_COMPACT | ENCODING_COMPACT_BY)) => {
                Record::decode(&bytes).map_or(bytes, |r| r.encode())
            }
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

    /// Empties the summary tree (what a format-2 ledger lacks).
    pub fn raw_clear_summaries(&self) -> Result<()> {
        self.summary.clear().map_err(from_sled)?;
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
