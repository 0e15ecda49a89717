//! The embedded default backend: one sled database (docs/format.md pins it).
//!
//! Layout (format 5): the `log` tree holds *blocks* of consecutive entries
//! (about 10 KiB each, LZ4-compressed, each entry in the compact binary
//! encoding: tag 2, or tag 3 for an entry with `recorded_by`, which format 5
//! adds), keyed by the seq of the block's first entry; its key 0 holds the
//! head record, the commit point. Five index trees (`ids`, `claims`,
//! `stories`, `valid`, `summary`) hold sorted runs of index keys packed into
//! chunks (see `packed`); `summary` keeps each claim's facts and header for
//! the whole ledger's state. The `stage` tree holds the runs of a commit
//! staged in parts. The `tiles` tree holds the log's Merkle tree as tiles of
//! 256 hashes (`tree.rs`: every tile of level 1 and up, and of the leaf
//! hashes only the partial tile), with its high-water mark `meta/tree`.
//! Packing keeps sled's key count, and with it sled's write, open and space
//! costs, small.
//!
//! Write protocols ([`Store::commit`](claims_core::Store::commit) and the
//! staged commit):
//! - a small commit (up to [`SMALL_COMMIT`] entries) is one sled transaction
//!   over the log, the index trees and `tiles`: the log blocks, the head, the
//!   index chunks, the changed tiles and both marks (`meta/indexed`,
//!   `meta/tree`) commit atomically; then a real fsync;
//! - a large commit is one staged part: the log blocks, fsync, the index
//!   chunks and the tiles; then fsync, the head, fsync (the commit point),
//!   the two marks;
//! - a commit staged in parts ([`Store::stage`](claims_core::Store::stage)):
//!   each part writes its blocks, fsync, its `valid` and `summary` chunks,
//!   sorted runs of its other elements into `stage`, and its tiles; the
//!   commit merges the runs into their trees, then fsync, head, fsync, the
//!   two marks, and empties `stage`.
//!
//! On open, log entries past the head (a crash inside a commit) are removed
//! with any index elements derived from them (or, when `stage` is not empty,
//! by a sweep of every index element past the head), index elements for
//! `(indexed, head]` are derived again from the log, and the tiles are cut
//! back to the tree of `meta/tree` and extended from the log to the head.
//! What recovery did is kept as a [`Recovery`] report
//! ([`SledStore::recovery`]).
//!
//! A format-1 or format-2 ledger is upgraded in place on open: a format-1
//! head moves into the log, and every index is emptied and derived again. A
//! format-3 ledger only switches its version: recovery builds its tree. A
//! format-4 ledger only switches its version: its entries are all tag 1 or
//! 2, which format 5 reads as before.
//!
//! The files, one concern each:
//! - `open.rs`: path checks, foreign-data refusal, the lock wait, the format
//!   check and the upgrades;
//! - `recovery.rs`: rolling back entries past the head, deriving the indexes
//!   after `indexed`, and the [`Recovery`] report;
//! - `commit.rs`: the small, large and staged commit protocols and packing
//!   records into blocks;
//! - `staging.rs`: the runs of a commit staged in parts, and their merge;
//! - `index.rs`: deriving index elements from records and planning the chunk
//!   writes (shared by commit and recovery);
//! - `read.rs`: point reads, scans and index reads (the read side of the
//!   [`Store`](claims_core::Store) impl);
//! - `tree.rs`: the Merkle tree's tiles: their writes, their cut back
//!   after an abort or a crash, and their catch-up on open;
//! - `summary.rs`: streaming reads of the summary tree and of every index
//!   element (for `verify`);
//! - `cache.rs`: the cache of decompressed blocks;
//! - `keys.rs`: the keys of the trees, the index elements and the head record;
//! - `packed.rs`: the block and chunk encodings;
//! - `accounts.rs`: the `accounts` tree (the newsroom server's accounts,
//!   beside the log: no commit, recovery or upgrade touches it);
//! - `testing.rs` (feature `testing`): the tamper hooks and the commit fail
//!   points of the tests.

mod accounts;
mod cache;
mod commit;
mod index;
mod keys;
mod open;
mod packed;
mod read;
mod recovery;
mod staging;
mod summary;
#[cfg(any(test, feature = "testing"))]
mod testing;
mod tree;

use std::fs;
use std::path::{Path, PathBuf};

use claims_core::error::{Error, Hint, Result};
use claims_core::store::Head;

pub use open::{LockedHook, OpenOptions};
pub use recovery::Recovery;
#[cfg(any(test, feature = "testing"))]
pub use {
    commit::Stage,
    testing::{FailPoint, Fault},
};

/// The on-disk format version this build writes (docs/format.md).
pub const FORMAT_VERSION: u32 = 5;

/// Commits of at most this many entries are one atomic sled transaction.
pub const SMALL_COMMIT: usize = 4096;

/// A sled failure as the ledger's error: I/O stays I/O (through
/// [`Error::io`], which keeps the `std::io::Error` as the source), anything
/// else means the files are damaged. A `sled::Error` is never put into a
/// message with its own `Display`: sled's clones of an I/O error carry the
/// original's `Debug` text (`Os { code: 28, kind: StorageFull, … }`).
pub(crate) fn from_sled(err: sled::Error) -> Error {
    match err {
        sled::Error::Io(e) => Error::io("a ledger read or write", plain_io(e)),
        sled::Error::Corruption { .. } => Error::damaged("the ledger's sled files are corrupted")
            .with_hint(Hint::RestoreIntoNewLedger),
        other => Error::damaged(format!(
            "the ledger's storage failed: {}",
            sled_failure(&other)
        )),
    }
}

/// What a sled failure other than I/O says, in words for a message.
pub(crate) fn sled_failure(err: &sled::Error) -> String {
    match err {
        sled::Error::Io(e) => plain_io_ref(e).to_string(),
        sled::Error::Corruption { .. } => "its sled files are corrupted".to_string(),
        sled::Error::CollectionNotFound(_) => "one of its sled trees is missing".to_string(),
        sled::Error::Unsupported(why) => format!("sled does not support this ({why})"),
        sled::Error::ReportableBug(what) => format!("sled failed inside ({what})"),
        #[allow(unreachable_patterns)]
        _ => "sled failed".to_string(),
    }
}

/// An I/O error from sled as the operating system gave it. sled hands out
/// clones of an error it has kept (a failed background write, then every
/// later flush), and a clone keeps the kind but replaces the error by the
/// original's `Debug` text. The OS error is rebuilt from the kind where only
/// one error number gives that kind (ENOSPC for [`std::io::ErrorKind::StorageFull`]),
/// else the kind alone is kept; an OS error or a bare kind is kept as it is.
pub(crate) fn plain_io(e: std::io::Error) -> std::io::Error {
    if e.raw_os_error().is_some() || e.get_ref().is_none() {
        return e;
    }
    match errno_of(e.kind()) {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::from(e.kind()),
    }
}

fn plain_io_ref(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error().or_else(|| errno_of(e.kind())) {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::from(e.kind()),
    }
}

/// The error number that alone gives `kind` (Linux numbers; a unit test
/// checks each against the standard library's own decoding).
fn errno_of(kind: std::io::ErrorKind) -> Option<i32> {
    use std::io::ErrorKind as K;
    if !cfg!(target_os = "linux") {
        return None;
    }
    Some(match kind {
        K::NotFound => 2,
        K::Interrupted => 4,
        K::OutOfMemory => 12,
        K::ResourceBusy => 16,
        K::AlreadyExists => 17,
        K::NotADirectory => 20,
        K::IsADirectory => 21,
        K::FileTooLarge => 27,
        K::StorageFull => 28,
        K::ReadOnlyFilesystem => 30,
        K::DirectoryNotEmpty => 39,
        K::StaleNetworkFileHandle => 116,
        K::QuotaExceeded => 122,
        _ => return None,
    })
}

/// A ledger in a sled database directory.
pub struct SledStore {
    path: PathBuf,
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
    ids: sled::Tree,
    claims: sled::Tree,
    stories: sled::Tree,
    valid: sled::Tree,
    summary: sled::Tree,
    /// The sorted runs of a staged commit (`staging.rs`).
    stage: sled::Tree,
    /// The Merkle tree's tiles (`tree.rs`).
    tiles: sled::Tree,
    /// The newsroom server's accounts, beside the log (`accounts.rs`).
    accounts: sled::Tree,
    /// The leaves the tiles hold: the head's seq, or while a commit is
    /// staged, its last staged seq.
    tree_size: u64,
    /// How many parts of a staged commit wrote runs.
    parts: u32,
    head: Head,
    /// What this handle's reads see: the head's seq, or while a commit is
    /// staged through this handle, its last staged seq.
    visible: u64,
    /// The end of the staged log while a commit is staged.
    staged: Option<Head>,
    /// Index entries are in the index trees (maybe not yet on disk) up to here.
    applied: u64,
    /// Set while a commit is writing; still set if it failed part-way, after
    /// which this handle refuses to commit (reopening recovers).
    poisoned: bool,
    /// Recently read log blocks, decompressed, for look-ups by seq. A commit
    /// drops the blocks it rewrites before writing them.
    blocks: std::sync::Mutex<cache::BlockCache>,
    /// What the open did to recover the ledger.
    recovery: Recovery,
    /// The fail point of the next commit, and whether one simulated a crash
    /// (after which the handle writes nothing more, not even in `Drop`).
    #[cfg(any(test, feature = "testing"))]
    faults: testing::Faults,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .field("head", &self.head)
            .finish()
    }
}

impl SledStore {
    /// Whether a commit failed part-way on this handle, which then refuses
    /// to commit until the ledger is reopened (reopening recovers).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The directory of the ledger.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn index_trees(&self) -> [&sled::Tree; 5] {
        [
            &self.ids,
            &self.claims,
            &self.stories,
            &self.valid,
            &self.summary,
        ]
    }

    /// Makes every write so far durable: sled's flush, then a real fsync of
    /// every file of the database and of its directory (sled's own flush uses
    /// `sync_file_range` on Linux, which is not enough).
    pub fn sync(&self) -> Result<()> {
        self.db.flush().map_err(from_sled)?;
        fsync_tree(&self.path).map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))
    }
}

pub(crate) fn fsync_tree(dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        if ty.is_dir() {
            fsync_tree(&entry.path())?;
        } else if ty.is_file() {
            match fs::File::open(entry.path()) {
                Ok(f) => f.sync_all()?,
                // sled may remove an old snapshot while we walk.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    fs::File::open(dir)?.sync_all()
}

impl Drop for SledStore {
    fn drop(&mut self) {
        #[cfg(any(test, feature = "testing"))]
        if self.faults.crashed() {
            return;
        }
        // Best effort: persists the index high-water mark; correctness never
        // depends on it (see the module docs).
        let _ = self.db.flush();
    }
}

#[cfg(test)]
mod alloc_probe;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tree_tests;
