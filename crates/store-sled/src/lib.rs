//! The embedded default backend: one sled database (docs/format.md pins it).
//!
//! Layout (format 2): the `log` tree holds *blocks* of consecutive entries
//! (about 10 KiB each, LZ4-compressed, each entry in the compact binary
//! encoding), keyed by the seq of the block's first entry; its key 0 holds the
//! head record, the commit point. The index trees hold sorted runs of index
//! keys packed into chunks (see `packed`). Packing keeps sled's key count, and
//! with it sled's write, open and space costs, small.
//!
//! Write protocol of [`SledStore::commit`]:
//! - a small commit (up to [`SMALL_COMMIT`] entries) is one sled transaction
//!   over every tree: the log blocks, the head, the index chunks and the index
//!   high-water mark (`meta/indexed`) commit atomically; then a real fsync;
//! - a large commit writes the log blocks, fsync; then the head, fsync (the
//!   commit point); then derives and writes the index chunks, fsync; then
//!   `meta/indexed` (unsynced).
//!
//! On open, log entries past the head (a crash inside a large commit) are
//! removed with any index entries derived from them, and index entries for
//! `(indexed, head]` are derived again from the log. `indexed` is only written
//! together with, or after a sync of, the index entries it covers, so no crash
//! can leave an index that disagrees with the log.
//!
//! A format-1 ledger (one log key per entry, head in `meta`, one index key per
//! entry) is upgraded in place on open: its log values stay as they are (a
//! value that is not a block is one entry), the head moves into the log, and
//! the indexes are derived again in the packed layout.

mod packed;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::DateTime;
use uuid::Uuid;

use claims_core::error::{Error, ErrorKind, Hint, Result};
use claims_core::record::{Hash, Record, ENCODING_COMPACT};
use claims_core::store::{index_entries, Head, IdRange, IndexEntry, Role, Store};
use claims_core::time::Time;
use packed::{Block, BlockView, BLOCK_TAG, BLOCK_TARGET};
use sled::Transactional;

/// A sled failure as the ledger's error: I/O stays I/O, anything else means
/// the files are damaged.
pub(crate) fn from_sled(err: sled::Error) -> Error {
    match err {
        sled::Error::Io(e) => Error::io("a ledger read or write", e),
        sled::Error::Corruption { .. } => Error::damaged("the ledger's sled files are corrupted")
            .with_hint(Hint::RestoreIntoNewLedger),
        other => Error::damaged(format!("the ledger's storage failed: {other}")),
    }
}

/// The on-disk format version this build writes (docs/format.md).
pub const FORMAT_VERSION: u32 = 2;

/// Scans longer than this decode on a second thread.
const PARALLEL_SCAN: u64 = 20_000;

/// Commits of at most this many entries are one atomic sled transaction.
pub const SMALL_COMMIT: usize = 4096;

/// The `log` key of the head record (seq 0, which no entry has).
const LOG_HEAD: [u8; 8] = [0; 8];

const META_FORMAT: &[u8] = b"format";
const META_HEAD: &[u8] = b"head";
const META_INDEXED: &[u8] = b"indexed";

/// Called while the ledger is locked by another process, with the ledger's
/// path, how long to wait for someone to take a request (`ready`) and how
/// long is left of the lock wait (`left`). It returns `true` when whoever held
/// the lock has let go, so that the open is tried again at once. The command
/// line uses it to ask its own ledger server to close the ledger; the store
/// knows nothing of servers.
pub type LockedHook = std::sync::Arc<dyn Fn(&Path, Duration, Duration) -> bool + Send + Sync>;

/// How to open a sled ledger.
#[derive(Clone)]
pub struct OpenOptions {
    /// Create the ledger if the path does not exist.
    pub create: bool,
    /// How long to wait for another process to release the ledger.
    pub lock_wait: Duration,
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
    /// What to do while the ledger is locked, besides waiting (see [`LockedHook`]).
    pub on_locked: Option<LockedHook>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: true,
            lock_wait: Duration::from_secs(10),
            cache_bytes: 256 * 1024 * 1024,
            on_locked: None,
        }
    }
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("create", &self.create)
            .field("lock_wait", &self.lock_wait)
            .field("cache_bytes", &self.cache_bytes)
            .field("on_locked", &self.on_locked.is_some())
            .finish()
    }
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
    head: Head,
    /// Index entries are in the index trees (maybe not yet on disk) up to here.
    applied: u64,
    /// Set while a commit is writing; still set if it failed part-way, after
    /// which this handle refuses to commit (reopening recovers).
    poisoned: bool,
    /// Recently read log blocks, decompressed, for look-ups by seq. A commit
    /// drops the blocks it rewrites before writing them.
    blocks: std::sync::Mutex<BlockCache>,
}

/// A bounded map from block key to the block's decompressed entries and
/// the last seq it holds, so that a look-up by seq needs no sled read.
#[derive(Default)]
struct BlockCache {
    map: std::collections::BTreeMap<u64, Cached>,
    bytes: usize,
    tick: u64,
}

struct Cached {
    payload: std::sync::Arc<Vec<u8>>,
    last: u64,
    used: u64,
}

impl BlockCache {
    /// The most the cache holds (the blocks are about 10 KiB compressed).
    const MAX_BYTES: usize = 32 << 20;

    /// The cached block holding `seq`: its key and entries.
    fn find(&mut self, seq: u64) -> Option<(u64, std::sync::Arc<Vec<u8>>)> {
        self.tick += 1;
        let tick = self.tick;
        let (key, c) = self.map.range_mut(..=seq).next_back()?;
        if c.last < seq {
            return None;
        }
        c.used = tick;
        Some((*key, c.payload.clone()))
    }

    fn put(&mut self, key: u64, last: u64, payload: std::sync::Arc<Vec<u8>>) {
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

    fn remove(&mut self, key: u64) {
        if let Some(old) = self.map.remove(&key) {
            self.bytes -= old.payload.len();
        }
    }

    fn clear(&mut self) {
        self.map.clear();
        self.bytes = 0;
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore")
            .field("path", &self.path)
            .field("head", &self.head)
            .finish()
    }
}

fn looks_like_sled(dir: &Path) -> bool {
    dir.join("conf").is_file() && dir.join("db").is_file()
        || fs::read_dir(dir)
            .is_ok_and(|entries| entries.flatten().all(|e| set_up_leftover(&e.path())))
}

/// Whether the directory holds some of sled's files (`conf`, `db`, `snap.*`)
/// without being whole: a damaged ledger rather than another program's files.
fn looks_half_sled(dir: &Path) -> bool {
    let conf = dir.join("conf").is_file();
    let db = dir.join("db").is_file();
    let snap = fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("snap."))
    });
    (conf || db || snap) && !(conf && db)
}

/// What a first open killed inside sled's set-up leaves (sled makes `blobs/`,
/// then writes `conf`, then creates `db`): nothing was stored yet.
fn set_up_leftover(path: &Path) -> bool {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("blobs") => fs::read_dir(path).is_ok_and(|mut d| d.next().is_none()),
        Some("conf") => {
            fs::read(path).is_ok_and(|b| b.is_empty() || b.starts_with(b"segment_size: "))
        }
        _ => false,
    }
}

impl SledStore {
    /// Whether a commit failed part-way on this handle, which then refuses
    /// to commit until the ledger is reopened (reopening recovers).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Opens (or, with `create`, makes) the ledger at `path`, waiting up to
    /// `lock_wait` for another process to let go of it, and recovers from any
    /// crash of an earlier writer.
    pub fn open(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<SledStore> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display();
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                return Err(Error::damaged(format!(
                    "{shown} is a file, not a claims ledger (a ledger is a directory)"
                ))
                .with_hint(Hint::NameLedgerDirectory))
            }
            Ok(_) => {
                let empty = fs::read_dir(&path)
                    .map_err(|e| Error::io(format!("reading {shown}"), e))?
                    .next()
                    .is_none();
                if !empty && !looks_like_sled(&path) && looks_half_sled(&path) {
                    return Err(Error::damaged(format!(
                        "the ledger at {shown} is damaged: sled's `conf` or `db` file is missing"
                    ))
                    .with_hint(Hint::RestoreIntoNewLedger));
                }
                if !empty && !looks_like_sled(&path) {
                    return Err(Error::damaged(format!(
                        "{shown} is not a claims ledger: the directory holds other files"
                    ))
                    .with_hint(Hint::NameLedgerDirectory));
                }
                if empty && !opts.create {
                    return Err(no_ledger(&path));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !opts.create {
                    return Err(no_ledger(&path));
                }
            }
            Err(e) => return Err(Error::io(format!("reading {shown}"), e)),
        }
        let existed = path.exists();
        let db = open_with_lock_wait(&path, opts)?;
        if !existed {
            // Make the new directory's own entry durable too.
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::File::open(parent)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| Error::io(format!("syncing {}", parent.display()), e))?;
            }
        }
        refuse_foreign(&db, &path)?;
        let tree = |name: &str| db.open_tree(name);
        let mut store = SledStore {
            log: tree("log").map_err(from_sled)?,
            meta: tree("meta").map_err(from_sled)?,
            ids: tree("ids").map_err(from_sled)?,
            claims: tree("claims").map_err(from_sled)?,
            stories: tree("stories").map_err(from_sled)?,
            valid: tree("valid").map_err(from_sled)?,
            db,
            path,
            head: Head::EMPTY,
            applied: 0,
            poisoned: false,
            blocks: Default::default(),
        };
        if store.check_format()? == 1 {
            store.upgrade_from_1()?;
        }
        store.head = store.read_head()?;
        store.recover()?;
        Ok(store)
    }

    /// The directory of the ledger.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks (or, for a new ledger, writes) the format version; returns it.
    fn check_format(&mut self) -> Result<u32> {
        match self.meta.get(META_FORMAT).map_err(from_sled)? {
            Some(v) => {
                let version = u32::from_be_bytes(v.as_ref().try_into().map_err(|_| {
                    Error::damaged(format!(
                        "{} has an unreadable format version",
                        self.path.display()
                    ))
                })?);
                if version > FORMAT_VERSION {
                    return Err(Error::new(
                        ErrorKind::Damaged,
                        format!(
                            "{} was written by a newer claims (format {version}; this build reads up to {FORMAT_VERSION})",
                            self.path.display()
                        ),
                    )
                    .with_hint(Hint::NewerFormat));
                }
                if version == 0 {
                    return Err(Error::damaged(format!(
                        "{} has format version 0, which no claims ever wrote",
                        self.path.display()
                    )));
                }
                Ok(version)
            }
            None => {
                if !self.log.is_empty() || self.meta.get(META_HEAD).map_err(from_sled)?.is_some() {
                    return Err(Error::damaged(format!(
                        "{} is a sled database without a claims format version",
                        self.path.display()
                    ))
                    .with_hint(Hint::NameLedger));
                }
                self.meta
                    .insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes())
                    .map_err(from_sled)?;
                self.sync()?;
                Ok(FORMAT_VERSION)
            }
        }
    }

    /// Upgrades a format-1 ledger in place (see the module docs). Each step
    /// is synced before the next, and the version is switched last, so a
    /// crash leaves a format-1 ledger that the next open upgrades again.
    fn upgrade_from_1(&mut self) -> Result<()> {
        match self.meta.get(META_HEAD).map_err(from_sled)? {
            Some(h) => self.log.insert(LOG_HEAD, h).map_err(from_sled)?,
            None => self.log.remove(LOG_HEAD).map_err(from_sled)?,
        };
        for t in self.index_trees() {
            t.clear().map_err(from_sled)?;
        }
        self.meta
            .insert(META_INDEXED, &0u64.to_be_bytes())
            .map_err(from_sled)?;
        self.sync()?;
        let mut b = sled::Batch::default();
        b.insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes());
        b.remove(META_HEAD);
        self.meta.apply_batch(b).map_err(from_sled)?;
        self.sync()
    }

    fn index_trees(&self) -> [&sled::Tree; 4] {
        [&self.ids, &self.claims, &self.stories, &self.valid]
    }

    fn read_head(&self) -> Result<Head> {
        let Some(v) = self.log.get(LOG_HEAD).map_err(from_sled)? else {
            return Ok(Head::EMPTY);
        };
        if v.len() != 48 {
            return Err(Error::damaged(format!(
                "{} has a damaged head record",
                self.path.display()
            )));
        }
        let seq = u64::from_be_bytes(v[0..8].try_into().expect("8 bytes"));
        let hash: Hash = v[8..40].try_into().expect("32 bytes");
        let micros = i64::from_be_bytes(v[40..48].try_into().expect("8 bytes"));
        Ok(Head {
            seq,
            hash,
            recorded_at: DateTime::from_timestamp_micros(micros),
        })
    }

    fn head_bytes(head: &Head) -> Vec<u8> {
        let mut v = Vec::with_capacity(48);
        v.extend_from_slice(&head.seq.to_be_bytes());
        v.extend_from_slice(&head.hash);
        let micros = head.recorded_at.map(|t| t.timestamp_micros()).unwrap_or(0);
        v.extend_from_slice(&micros.to_be_bytes());
        v
    }

    fn indexed(&self) -> Result<u64> {
        Ok(match self.meta.get(META_INDEXED).map_err(from_sled)? {
            Some(v) if v.len() == 8 => u64::from_be_bytes(v.as_ref().try_into().expect("8")),
            Some(_) => return Err(Error::damaged("the index high-water mark is damaged")),
            None => 0,
        })
    }

    /// The block holding `seq` (the one with the greatest key at or below
    /// it): its first seq and its stored value.
    /// Drops the cached copies of blocks about to be rewritten.
    fn forget_blocks(&self, blocks: &[(u64, Vec<u8>)]) {
        let mut cache = self.cache();
        for (k, _) in blocks {
            cache.remove(*k);
        }
    }

    /// The block cache (a poisoned lock only means a reader panicked: the
    /// map itself is always whole).
    fn cache(&self) -> std::sync::MutexGuard<'_, BlockCache> {
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn block_at(&self, seq: u64) -> Result<Option<(u64, sled::IVec)>> {
        // A block holds a few dozen entries, so the one holding `seq` almost
        // always starts within the last `NEAR` seqs: a short forward range
        // finds it far faster than sled's `get_lt`, which walks backwards by
        // copying tree nodes (a third of a cold story query at 1M events).
        const NEAR: u64 = 64;
        if seq > NEAR {
            let mut last = None;
            for kv in self.log.range(seq_key(seq - NEAR)..=seq_key(seq)) {
                last = Some(kv.map_err(from_sled)?);
            }
            if let Some((k, v)) = last {
                return Ok(Some((u64_at(&k, 0)?, v)));
            }
        }
        match self
            .log
            .get_lt(seq_key(seq.saturating_add(1)))
            .map_err(from_sled)?
        {
            Some((k, v)) if k.as_ref() != LOG_HEAD => Ok(Some((u64_at(&k, 0)?, v))),
            _ => Ok(None),
        }
    }

    /// Calls `f(seq, entry bytes)` for the log entries in `[from, to]`, in seq
    /// order, until it returns false.
    fn each_entry(
        &self,
        from: u64,
        to: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let start = match self.block_at(from)? {
            Some((k, _)) => k,
            None => from.max(1),
        };
        for kv in self.log.range(seq_key(start)..) {
            let (k, v) = kv.map_err(from_sled)?;
            let key = u64_at(&k, 0)?;
            if key > to {
                break;
            }
            let mut go = true;
            let mut err = None;
            BlockView::parse(key, &v, |seq, bytes| {
                if seq < from {
                    return true;
                }
                if seq > to {
                    go = false;
                    return false;
                }
                match f(seq, bytes) {
                    Ok(more) => go = more,
                    Err(e) => {
                        err = Some(e);
                        go = false;
                    }
                }
                go
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            if !go {
                break;
            }
        }
        Ok(())
    }

    /// Brings the store back to its commit point after a crash.
    fn recover(&mut self) -> Result<()> {
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

    /// Index entries of `records`, looking targets up in `records` first.
    fn derive(&self, records: &[Record]) -> Result<Vec<IndexEntry>> {
        let mut local: std::collections::HashMap<Uuid, usize> =
            std::collections::HashMap::with_capacity(records.len());
        let mut out = Vec::with_capacity(records.len() * 4);
        for (i, r) in records.iter().enumerate() {
            local.insert(r.event.id, i);
            let entries = index_entries(r, |id| match local.get(&id) {
                Some(&j) => Ok(Some(records[j].clone())),
                None => self.find_committed(id),
            })?;
            out.extend(entries);
        }
        Ok(out)
    }

    fn find_committed(&self, id: Uuid) -> Result<Option<Record>> {
        match self.seq_of_event(id)? {
            Some(seq) => self.get(seq),
            None => Ok(None),
        }
    }

    /// The chunk writes, per index tree (in [`Self::index_trees`] order), that
    /// add (`insert`) or take out `entries`.
    fn index_writes(
        &self,
        entries: &[IndexEntry],
        insert: bool,
    ) -> Result<[Vec<packed::Write>; 4]> {
        // Fixed-size elements sort as arrays, without an allocation each.
        let mut ids: Vec<[u8; 24]> = Vec::new();
        let mut claims: Vec<[u8; 25]> = Vec::new();
        let mut stories: Vec<Vec<u8>> = Vec::new();
        let mut valid: Vec<[u8; 20]> = Vec::new();
        for e in entries {
            match e {
                IndexEntry::EventId(id, seq) => {
                    let mut k = [0u8; 24];
                    k[..16].copy_from_slice(id.as_bytes());
                    k[16..].copy_from_slice(&seq.to_be_bytes());
                    ids.push(k);
                }
                IndexEntry::Claim(c, seq, role) => {
                    let mut k = [0u8; 25];
                    k[..24].copy_from_slice(&claim_key(*c, *seq));
                    k[24] = *role as u8;
                    claims.push(k);
                }
                IndexEntry::Story(s, c, seq) => {
                    let mut k = story_key(s, *c);
                    k.extend_from_slice(&seq.to_be_bytes());
                    stories.push(k);
                }
                IndexEntry::ValidTo(t, seq) => valid.push(valid_key(t, *seq)),
            }
        }
        fn planned<E: AsRef<[u8]> + Ord>(
            tree: &sled::Tree,
            mut el: Vec<E>,
            insert: bool,
        ) -> Result<Vec<packed::Write>> {
            if el.is_empty() {
                return Ok(Vec::new());
            }
            el.sort_unstable();
            el.dedup();
            if insert {
                packed::plan(tree, &el, &[])
            } else {
                packed::plan(tree, &[], &el)
            }
        }
        Ok([
            planned(&self.ids, ids, insert)?,
            planned(&self.claims, claims, insert)?,
            planned(&self.stories, stories, insert)?,
            planned(&self.valid, valid, insert)?,
        ])
    }

    fn apply_index(&self, entries: &[IndexEntry], insert: bool) -> Result<()> {
        self.write_index(self.index_writes(entries, insert)?)
    }

    /// Writes chunk writes from [`Self::index_writes`], one sled batch a tree.
    fn write_index(&self, writes: [Vec<packed::Write>; 4]) -> Result<()> {
        for (tree, ws) in self.index_trees().into_iter().zip(writes) {
            let mut batch = sled::Batch::default();
            for (k, v) in ws {
                match v {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            tree.apply_batch(batch).map_err(from_sled)?;
        }
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
                if len < BLOCK_TARGET && b.entries.last().map(|e| e.0) == Some(self.head.seq) {
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
            size += bytes.len() + 4;
            cur.entries.push((r.seq, bytes));
        }
        if !cur.entries.is_empty() {
            out.push((key, cur.encode(key)));
        }
        Ok(out)
    }

    /// Makes every write so far durable: sled's flush, then a real fsync of
    /// every file of the database and of its directory (sled's own flush uses
    /// `sync_file_range` on Linux, which is not enough).
    pub fn sync(&self) -> Result<()> {
        self.db.flush().map_err(from_sled)?;
        fsync_tree(&self.path).map_err(|e| Error::io(format!("syncing {}", self.path.display()), e))
    }
}

const TREES: [&[u8]; 7] = [
    b"__sled__default",
    b"log",
    b"meta",
    b"ids",
    b"claims",
    b"stories",
    b"valid",
];

/// Refuses, before creating any tree in it, a sled database that another
/// program wrote.
fn refuse_foreign(db: &sled::Db, path: &Path) -> Result<()> {
    let names = db.tree_names();
    let foreign_tree = names.iter().any(|n| !TREES.contains(&n.as_ref()));
    let has_meta = names.iter().any(|n| n.as_ref() == b"meta");
    let non_empty = !db.is_empty() || names.len() > 1;
    if foreign_tree || (!has_meta && non_empty) {
        return Err(Error::damaged(format!(
            "{} is a sled database of another program, not a claims ledger",
            path.display()
        ))
        .with_hint(Hint::NameLedger));
    }
    Ok(())
}

fn no_ledger(path: &Path) -> Error {
    Error::not_found(format!("there is no ledger at {}", path.display()))
        .with_hint(Hint::CreateLedger)
}

fn open_with_lock_wait(path: &Path, opts: &OpenOptions) -> Result<sled::Db> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let cfg = sled::Config::new()
            .path(path)
            .cache_capacity(opts.cache_bytes);
        match cfg.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= opts.lock_wait {
                    return Err(Error::new(
                        ErrorKind::Locked,
                        format!(
                            "the ledger at {} is in use by another process (waited {:.1} s)",
                            path.display(),
                            opts.lock_wait.as_secs_f64()
                        ),
                    )
                    .with_hint(Hint::TryAgainLater));
                }
                if let Some(hook) = &opts.on_locked {
                    let left = opts.lock_wait.saturating_sub(started.elapsed());
                    let ready = left.min(Duration::from_millis(250));
                    if hook(path, ready, left) {
                        continue;
                    }
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(sled::Error::Io(e)) => {
                return Err(Error::io(
                    format!("opening the ledger at {}", path.display()),
                    e,
                ))
            }
            Err(e) => {
                let why = match e {
                    sled::Error::Corruption { .. } => "its sled files are corrupted".to_string(),
                    e => e.to_string(),
                };
                return Err(Error::damaged(format!(
                    "the ledger at {} cannot be opened: {why}",
                    path.display()
                ))
                .with_hint(Hint::RestoreFromExport));
            }
        }
    }
}

fn fsync_tree(dir: &Path) -> std::io::Result<()> {
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

/// `log` key: the seq, big-endian.
pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// `claims` key: claim id (16 bytes) then seq (8, big-endian).
fn claim_key(claim: Uuid, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(claim.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// `stories` key: the slug's UTF-8, a 0 byte, then the claim id.
fn story_key(story: &str, claim: Uuid) -> Vec<u8> {
    let mut k = Vec::with_capacity(story.len() + 17);
    k.extend_from_slice(story.as_bytes());
    k.push(0);
    k.extend_from_slice(claim.as_bytes());
    k
}

/// `valid` key: seconds since the epoch with the sign bit flipped (so negative
/// times sort first), nanoseconds, then the seq; all big-endian.
fn valid_key(t: &Time, seq: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    let secs = (t.timestamp() as u64) ^ (1 << 63);
    k[..8].copy_from_slice(&secs.to_be_bytes());
    k[8..12].copy_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::damaged("an index key of the ledger is damaged"))
}

impl SledStore {
    /// [`Store::commit`] without the poison check.
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
        if records.len() <= SMALL_COMMIT && self.applied == self.head.seq {
            // Everything in one transaction: log, head, indexes and their mark.
            let blocks = self.pack_blocks(records)?;
            self.forget_blocks(&blocks);
            let entries = self.derive(records)?;
            let index = self.index_writes(&entries, true)?;
            let head_bytes = Self::head_bytes(&head);
            let mark = head.seq.to_be_bytes();
            let trees = [
                &self.log,
                &self.meta,
                &self.ids,
                &self.claims,
                &self.stories,
                &self.valid,
            ];
            trees
                .as_slice()
                .transaction(|tx| {
                    for (k, v) in &blocks {
                        tx[0].insert(&seq_key(*k)[..], v.as_slice())?;
                    }
                    tx[0].insert(&LOG_HEAD[..], head_bytes.as_slice())?;
                    tx[1].insert(META_INDEXED, &mark[..])?;
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
            self.sync()?;
            self.head = head;
            self.applied = head.seq;
            return Ok(());
        }
        // A large commit: the blocks (invisible past the head until it moves),
        // the head, then the indexes. The index writes are worked out on a
        // second thread while the blocks are packed, written and synced; if
        // that fails, the head has not moved and nothing is committed.
        let index = std::thread::scope(|s| -> Result<_> {
            let derive = || {
                self.derive(records)
                    .and_then(|e| self.index_writes(&e, true))
            };
            let worker = std::thread::Builder::new().spawn_scoped(s, derive);
            let blocks = self.pack_blocks(records)?;
            self.forget_blocks(&blocks);
            for group in blocks.chunks(256) {
                let mut batch = sled::Batch::default();
                for (k, v) in group {
                    batch.insert(&seq_key(*k), v.as_slice());
                }
                self.log.apply_batch(batch).map_err(from_sled)?;
            }
            self.sync()?;
            match worker {
                Ok(w) => w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                // No second thread to be had: work them out here.
                Err(_) => derive(),
            }
        })?;
        self.log
            .insert(LOG_HEAD, Self::head_bytes(&head))
            .map_err(from_sled)?;
        self.sync()?;
        self.head = head;
        self.write_index(index)?;
        self.applied = head.seq;
        self.sync()?;
        // Not synced: if it is lost, the next open derives the indexes again.
        self.meta
            .insert(META_INDEXED, &head.seq.to_be_bytes())
            .map_err(from_sled)?;
        Ok(())
    }
}

impl Store for SledStore {
    fn head(&self) -> Head {
        self.head
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        if self.poisoned {
            return Err(Error::damaged(
                "an earlier write through this handle failed part-way, so it takes no more writes",
            )
            .with_hint(Hint::Reopen));
        }
        // A refusal before anything is written leaves the handle usable.
        claims_core::store::check_continues(expected, &self.head, records)?;
        self.poisoned = true;
        self.commit_inner(records)?;
        self.poisoned = false;
        Ok(())
    }

    fn get(&self, seq: u64) -> Result<Option<Record>> {
        if seq == 0 || seq > self.head.seq {
            return Ok(None);
        }
        let mut found = None;
        let pick = |s: u64, bytes: &[u8]| {
            if s == seq {
                found = Some(Record::decode(bytes));
            }
            s < seq
        };
        let cached = self.cache().find(seq);
        if let Some((key, payload)) = cached {
            BlockView::parse_payload(key, &payload, pick)?;
        } else if let Some((key, v)) = self.block_at(seq)? {
            if BlockView::is_block(&v) {
                let payload = std::sync::Arc::new(BlockView::unpack(key, &v)?.into_owned());
                let mut last = key;
                BlockView::parse_payload(key, &payload, |s, _| {
                    last = s;
                    true
                })?;
                self.cache().put(key, last, payload.clone());
                BlockView::parse_payload(key, &payload, pick)?;
            } else {
                BlockView::parse(key, &v, pick)?;
            }
        }
        match found {
            Some(r) => r.map(Some),
            None => Err(Error::damaged(format!(
                "the log of {} has no entry at seq {seq}",
                self.path.display()
            ))
            .with_hint(Hint::VerifyThenRestore)),
        }
    }

    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
        let head = self.head.seq;
        let from = from_seq.max(1);
        if from > head {
            return Box::new(std::iter::empty());
        }
        let start = match self.block_at(from) {
            Ok(Some((k, _))) => k,
            Ok(None) => from,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let scan = LogScan {
            blocks: self.log.range(seq_key(start)..),
            from,
            head,
            buf: Vec::new().into_iter(),
            done: false,
        };
        if head - from < PARALLEL_SCAN {
            return Box::new(scan);
        }
        // A long scan decodes blocks on a second thread while the caller
        // folds the records it already has. Dropping the iterator ends it.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Result<Record>>>(16);
        let (scan_tx, scan_rx) = std::sync::mpsc::channel::<LogScan>();
        let spawned = std::thread::Builder::new()
            .name("claims-scan".into())
            .spawn(move || {
                let Ok(mut scan) = scan_rx.recv() else { return };
                loop {
                    let batch: Vec<Result<Record>> = scan.by_ref().take(512).collect();
                    if batch.is_empty() || tx.send(batch).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(_) => {
                let _ = scan_tx.send(scan);
                Box::new(rx.into_iter().flatten())
            }
            // No thread to be had: decode here.
            Err(_) => Box::new(scan),
        }
    }

    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>> {
        let mut lo = [0u8; 24];
        lo[..16].copy_from_slice(id.as_bytes());
        let mut hi = lo;
        hi[16..].fill(0xFF);
        let head = self.head.seq;
        let mut out = None;
        let mut bad = false;
        packed::scan(&self.ids, &lo, &hi, |e| match tail_seq(e, 24) {
            Some(seq) if seq <= head => {
                out = Some(seq);
                false
            }
            Some(_) => true,
            None => {
                bad = true;
                false
            }
        })?;
        if bad {
            return Err(Error::damaged("an event id index entry is damaged"));
        }
        Ok(out)
    }

    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        let mut lo = [0u8; 24];
        lo[..16].copy_from_slice(range.lo.as_bytes());
        let mut hi = [0xFFu8; 24];
        hi[..16].copy_from_slice(range.hi.as_bytes());
        let head = self.head.seq;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(&self.ids, &lo, &hi, |e| {
            match (tail_seq(e, 24), Uuid::from_slice(&e[..e.len().min(16)])) {
                (Some(seq), Ok(id)) => {
                    if seq <= head {
                        out.push(id);
                    }
                }
                _ => bad = true,
            }
            !bad && out.len() < limit
        })?;
        if bad {
            return Err(Error::damaged("a stored event id is damaged"));
        }
        Ok(out)
    }

    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        let mut lo = claim_key(range.lo, 0).to_vec();
        lo.push(0);
        let mut hi = claim_key(range.hi, u64::MAX).to_vec();
        hi.push(0xFF);
        let head = self.head.seq;
        let mut out: Vec<Uuid> = Vec::new();
        let mut bad = false;
        packed::scan(&self.claims, &lo, &hi, |e| {
            if e.len() != 25 {
                bad = true;
                return false;
            }
            let seq = u64::from_be_bytes(e[16..24].try_into().expect("8 bytes"));
            if e[24] == Role::Asserted as u8 && seq <= head {
                let c = Uuid::from_slice(&e[..16]).expect("16 bytes");
                if out.last() != Some(&c) {
                    out.push(c);
                }
            }
            out.len() < limit
        })?;
        if bad {
            return Err(Error::damaged("a stored claim id is damaged"));
        }
        Ok(out)
    }

    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>> {
        let mut lo = claim_key(claim, 0).to_vec();
        lo.push(0);
        let mut hi = claim_key(claim, u64::MAX).to_vec();
        hi.push(0xFF);
        let head = self.head.seq;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(&self.claims, &lo, &hi, |e| {
            let role = if e.len() == 25 {
                Role::from_byte(e[24])
            } else {
                None
            };
            match role {
                Some(role) => {
                    let seq = u64::from_be_bytes(e[16..24].try_into().expect("8 bytes"));
                    if seq <= head {
                        out.push((seq, role));
                    }
                    true
                }
                None => {
                    bad = true;
                    false
                }
            }
        })?;
        if bad {
            return Err(Error::damaged("a claim index entry is damaged"));
        }
        Ok(out)
    }

    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        let mut lo = story.as_bytes().to_vec();
        lo.push(0);
        let n = lo.len();
        let mut hi = lo.clone();
        hi.extend_from_slice(&[0xFF; 24]);
        let head = self.head.seq;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(&self.stories, &lo, &hi, |e| {
            if e.len() != n + 24 {
                bad = true;
                return false;
            }
            let c = Uuid::from_slice(&e[n..n + 16]).expect("16 bytes");
            let seq = u64::from_be_bytes(e[n + 16..].try_into().expect("8 bytes"));
            if seq <= head {
                out.push((c, seq));
            }
            true
        })?;
        if bad {
            return Err(Error::damaged("a story index entry is damaged"));
        }
        Ok(out)
    }

    fn stories(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        // Skip from one slug to the next instead of walking every claim.
        while let Some(e) = packed::first_from(&self.stories, &from)? {
            let end = e
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| Error::damaged("a story index key is damaged"))?;
            let slug = String::from_utf8(e[..end].to_vec())
                .map_err(|_| Error::damaged("a story slug is not UTF-8"))?;
            from = e[..end].to_vec();
            from.push(1);
            out.push(slug);
        }
        Ok(out)
    }

    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>> {
        let head = self.head.seq;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(
            &self.valid,
            &valid_key(&lo, 0),
            &valid_key(&hi, u64::MAX),
            |e| match tail_seq(e, 20) {
                Some(seq) => {
                    if seq <= head {
                        out.push(seq);
                    }
                    true
                }
                None => {
                    bad = true;
                    false
                }
            },
        )?;
        if bad {
            return Err(Error::damaged("a valid-time index entry is damaged"));
        }
        Ok(out)
    }
}

/// The last 8 bytes of an index element of length `len`, as a seq.
fn tail_seq(e: &[u8], len: usize) -> Option<u64> {
    (e.len() == len).then(|| u64::from_be_bytes(e[len - 8..].try_into().expect("8 bytes")))
}

/// [`Store::scan`] over the log blocks: decodes one block at a time.
struct LogScan {
    blocks: sled::Iter,
    from: u64,
    head: u64,
    buf: std::vec::IntoIter<Result<Record>>,
    done: bool,
}

impl Iterator for LogScan {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if let Some(r) = self.buf.next() {
                return Some(r);
            }
            if self.done {
                return None;
            }
            let (k, v) = match self.blocks.next() {
                None => {
                    self.done = true;
                    continue;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(from_sled(e)));
                }
                Some(Ok(kv)) => kv,
            };
            let key = match u64_at(&k, 0) {
                Ok(key) => key,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if key > self.head {
                self.done = true;
                continue;
            }
            let (from, head) = (self.from, self.head);
            let mut out = Vec::with_capacity(64);
            let parsed = BlockView::parse(key, &v, |seq, bytes| {
                if seq > head {
                    return false;
                }
                if seq >= from {
                    out.push(Record::decode(bytes));
                }
                true
            });
            if let Err(e) = parsed {
                out.push(Err(e));
                self.done = true;
            }
            self.buf = out.into_iter();
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Best effort: persists the index high-water mark; correctness never
        // depends on it (see the module docs).
        let _ = self.db.flush();
    }
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
        for t in [&self.ids, &self.claims, &self.stories, &self.valid] {
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn valid_keys_sort_by_time_then_seq() {
        let t = |s| claims_core::time::parse_rfc3339(s).unwrap();
        let a = valid_key(&t("1960-01-01T00:00:00Z"), 9);
        let b = valid_key(&t("2020-07-10T00:00:00Z"), 1);
        let c = valid_key(&t("2020-07-10T00:00:00.5Z"), 0);
        let d = valid_key(&t("2020-07-10T00:00:00.5Z"), 1);
        assert!(a < b && b < c && c < d);
    }

    #[test]
    fn claim_keys_group_by_claim_then_seq() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert!(claim_key(a, u64::MAX) < claim_key(b, 0));
        assert!(claim_key(a, 1) < claim_key(a, 256));
    }

    #[test]
    fn story_keys_do_not_mix_slugs_that_prefix_each_other() {
        let c = Uuid::max();
        assert!(story_key("ab", c) < story_key("ab-c", Uuid::nil()));
    }
}
