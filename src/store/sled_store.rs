//! The embedded default backend: one sled database (docs/format.md pins it).
//!
//! Write protocol of [`SledStore::commit`] (log first, indexes derived):
//! 1. the records go into `log` in one atomic batch, then a real fsync;
//! 2. the index entries and the new `head` in `meta`, then a real fsync;
//! 3. `indexed` (the index high-water mark) is set to the head, unsynced.
//!
//! `head` is the commit point. On open, log entries past `head` (a crash between
//! 1 and 2) are removed with any index entries derived from them, and index
//! entries for `(indexed, head]` (a crash after 2) are derived again. Because
//! `indexed` is only written after the indexes it covers are on disk, no crash
//! can leave an index that disagrees with the log.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::DateTime;
use uuid::Uuid;

use super::{index_entries, Head, IdRange, IndexEntry, Role, Store};
use crate::error::{Error, ErrorKind, Result};
use crate::record::{Hash, Record};
use crate::time::Time;

/// The on-disk format version this build writes (docs/format.md).
pub const FORMAT_VERSION: u32 = 1;

const META_FORMAT: &[u8] = b"format";
const META_HEAD: &[u8] = b"head";
const META_INDEXED: &[u8] = b"indexed";

/// How to open a sled ledger.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Create the ledger if the path does not exist.
    pub create: bool,
    /// How long to wait for another process to release the ledger.
    pub lock_wait: Duration,
    /// sled's page cache, in bytes.
    pub cache_bytes: u64,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            create: true,
            lock_wait: Duration::from_secs(10),
            cache_bytes: 256 * 1024 * 1024,
        }
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
}

impl SledStore {
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
                .with_hint("pass the ledger's directory with --db, or a new path to create one"))
            }
            Ok(_) => {
                let empty = fs::read_dir(&path)
                    .map_err(|e| Error::io(format!("reading {shown}"), e))?
                    .next()
                    .is_none();
                if !empty && !looks_like_sled(&path) {
                    return Err(Error::damaged(format!(
                        "{shown} is not a claims ledger: the directory holds other files"
                    ))
                    .with_hint("pass a ledger directory with --db, or a new path to create one"));
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
            log: tree("log")?,
            meta: tree("meta")?,
            ids: tree("ids")?,
            claims: tree("claims")?,
            stories: tree("stories")?,
            valid: tree("valid")?,
            db,
            path,
            head: Head::EMPTY,
        };
        store.check_format()?;
        store.head = store.read_head()?;
        store.recover()?;
        Ok(store)
    }

    /// The directory of the ledger.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_format(&mut self) -> Result<()> {
        match self.meta.get(META_FORMAT)? {
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
                    .with_hint("upgrade claims, or export the ledger with the newer version and import it here"));
                }
                if version == 0 {
                    return Err(Error::damaged(format!(
                        "{} has format version 0, which no claims ever wrote",
                        self.path.display()
                    )));
                }
                Ok(())
            }
            None => {
                if !self.log.is_empty() || self.meta.get(META_HEAD)?.is_some() {
                    return Err(Error::damaged(format!(
                        "{} is a sled database without a claims format version",
                        self.path.display()
                    ))
                    .with_hint("pass a claims ledger with --db"));
                }
                self.meta
                    .insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
                self.sync()
            }
        }
    }

    fn read_head(&self) -> Result<Head> {
        let Some(v) = self.meta.get(META_HEAD)? else {
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
        Ok(match self.meta.get(META_INDEXED)? {
            Some(v) if v.len() == 8 => u64::from_be_bytes(v.as_ref().try_into().expect("8")),
            Some(_) => return Err(Error::damaged("the index high-water mark is damaged")),
            None => 0,
        })
    }

    /// Brings the store back to its commit point after a crash.
    fn recover(&mut self) -> Result<()> {
        // 1. Entries past the head were never committed: drop them and whatever
        //    index entries were derived from them.
        let leftovers: Vec<Record> = self
            .log
            .range(seq_key(self.head.seq + 1)..)
            .values()
            .map(|v| Record::decode(&v?))
            .collect::<Result<_>>()?;
        if !leftovers.is_empty() {
            let entries = self.derive(&leftovers)?;
            self.apply_index(&entries, false)?;
            let mut batch = sled::Batch::default();
            for r in &leftovers {
                batch.remove(&seq_key(r.seq));
            }
            self.log.apply_batch(batch)?;
            self.sync()?;
        }
        // 2. Indexes behind the head are derived again (inserts are idempotent).
        let indexed = self.indexed()?.min(self.head.seq);
        if indexed < self.head.seq {
            let mut from = indexed + 1;
            while from <= self.head.seq {
                let to = (from + 50_000 - 1).min(self.head.seq);
                let chunk: Vec<Record> = self
                    .log
                    .range(seq_key(from)..=seq_key(to))
                    .values()
                    .map(|v| Record::decode(&v?))
                    .collect::<Result<_>>()?;
                if chunk.len() as u64 != to - from + 1 {
                    return Err(Error::damaged(format!(
                        "the log of {} has a gap between seq {from} and {to}",
                        self.path.display()
                    ))
                    .with_hint("run `claims verify` to find the first bad entry"));
                }
                let entries = self.derive(&chunk)?;
                self.apply_index(&entries, true)?;
                from = to + 1;
            }
            self.sync()?;
            self.meta
                .insert(META_INDEXED, &self.head.seq.to_be_bytes())?;
        }
        Ok(())
    }

    /// Index entries of `records`, looking targets up in `records` first.
    fn derive(&self, records: &[Record]) -> Result<Vec<IndexEntry>> {
        let mut local: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
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

    fn apply_index(&self, entries: &[IndexEntry], insert: bool) -> Result<()> {
        let mut ids = sled::Batch::default();
        let mut claims = sled::Batch::default();
        let mut stories = sled::Batch::default();
        let mut valid = sled::Batch::default();
        for e in entries {
            match e {
                IndexEntry::EventId(id, seq) => {
                    if insert {
                        ids.insert(id.as_bytes(), &seq.to_be_bytes());
                    } else {
                        ids.remove(id.as_bytes());
                    }
                }
                IndexEntry::Claim(c, seq, role) => {
                    let k = claim_key(*c, *seq);
                    if insert {
                        claims.insert(&k, &[*role as u8]);
                    } else {
                        claims.remove(&k);
                    }
                }
                IndexEntry::Story(s, c, seq) => {
                    let k = story_key(s, *c);
                    if insert {
                        stories.insert(k, &seq.to_be_bytes());
                    } else {
                        stories.remove(k);
                    }
                }
                IndexEntry::ValidTo(t, seq) => {
                    let k = valid_key(t, *seq);
                    if insert {
                        valid.insert(&k, &[]);
                    } else {
                        valid.remove(&k);
                    }
                }
            }
        }
        self.ids.apply_batch(ids)?;
        self.claims.apply_batch(claims)?;
        self.stories.apply_batch(stories)?;
        self.valid.apply_batch(valid)?;
        Ok(())
    }

    /// Makes every write so far durable: sled's flush, then a real fsync of
    /// every file of the database and of its directory (sled's own flush uses
    /// `sync_file_range` on Linux, which is not enough).
    pub fn sync(&self) -> Result<()> {
        self.db.flush()?;
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
        .with_hint("pass a claims ledger with --db, or a new path to create one"));
    }
    Ok(())
}

fn no_ledger(path: &Path) -> Error {
    Error::not_found(format!("there is no ledger at {}", path.display())).with_hint(
        "record a claim with `claims assert` or load events with `claims append`, or pass --db",
    )
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
                    .with_hint("try again when the other claims command has finished"));
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
                return Err(Error::damaged(format!(
                    "the ledger at {} cannot be opened: {e}",
                    path.display()
                ))
                .with_hint("if it is damaged, restore it from an export with `claims import`"))
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

impl Store for SledStore {
    fn head(&self) -> Head {
        self.head
    }

    fn commit(&mut self, records: &[Record]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        super::check_contiguous(self.head.seq, records)?;
        let mut batch = sled::Batch::default();
        for r in records {
            batch.insert(&seq_key(r.seq), r.encode());
        }
        self.log.apply_batch(batch)?;
        self.sync()?;
        let entries = self.derive(records)?;
        self.apply_index(&entries, true)?;
        let last = records.last().expect("not empty");
        let head = Head {
            seq: last.seq,
            hash: last.hash,
            recorded_at: Some(last.recorded_at),
        };
        self.meta.insert(META_HEAD, Self::head_bytes(&head))?;
        self.sync()?;
        self.head = head;
        self.meta.insert(META_INDEXED, &head.seq.to_be_bytes())?;
        Ok(())
    }

    fn get(&self, seq: u64) -> Result<Option<Record>> {
        if seq == 0 || seq > self.head.seq {
            return Ok(None);
        }
        match self.log.get(seq_key(seq))? {
            Some(v) => Record::decode(&v).map(Some),
            None => Err(Error::damaged(format!(
                "the log of {} has no entry at seq {seq}",
                self.path.display()
            ))
            .with_hint("run `claims verify`, and restore from an export if it fails")),
        }
    }

    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
        let head = self.head.seq;
        let from = from_seq.max(1);
        if from > head {
            return Box::new(std::iter::empty());
        }
        Box::new(
            self.log
                .range(seq_key(from)..=seq_key(head))
                .values()
                .map(|v| Record::decode(&v?)),
        )
    }

    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>> {
        match self.ids.get(id.as_bytes())? {
            Some(v) => {
                let seq = u64_at(&v, 0)?;
                Ok((seq <= self.head.seq).then_some(seq))
            }
            None => Ok(None),
        }
    }

    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        let mut out = Vec::new();
        for kv in self
            .ids
            .range(range.lo.as_bytes().to_vec()..=range.hi.as_bytes().to_vec())
        {
            let (k, v) = kv?;
            if u64_at(&v, 0)? > self.head.seq {
                continue;
            }
            out.push(
                Uuid::from_slice(&k).map_err(|_| Error::damaged("a stored event id is damaged"))?,
            );
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        let mut out: Vec<Uuid> = Vec::new();
        let lo = claim_key(range.lo, 0);
        let hi = claim_key(range.hi, u64::MAX);
        for kv in self.claims.range(lo..=hi) {
            let (k, v) = kv?;
            if v.first() != Some(&(Role::Asserted as u8)) || u64_at(&k, 16)? > self.head.seq {
                continue;
            }
            let c = Uuid::from_slice(&k[..16])
                .map_err(|_| Error::damaged("a stored claim id is damaged"))?;
            if out.last() != Some(&c) {
                out.push(c);
                if out.len() == limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>> {
        let mut out = Vec::new();
        for kv in self.claims.scan_prefix(claim.as_bytes()) {
            let (k, v) = kv?;
            let seq = u64_at(&k, 16)?;
            if seq > self.head.seq {
                continue;
            }
            let role = v
                .first()
                .and_then(|b| Role::from_byte(*b))
                .ok_or_else(|| Error::damaged("a claim index entry is damaged"))?;
            out.push((seq, role));
        }
        Ok(out)
    }

    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        let mut prefix = story.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.stories.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let seq = u64_at(&v, 0)?;
            if seq > self.head.seq {
                continue;
            }
            let c = Uuid::from_slice(&k[prefix.len()..])
                .map_err(|_| Error::damaged("a story index entry is damaged"))?;
            out.push((c, seq));
        }
        Ok(out)
    }

    fn stories(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut next: Option<Vec<u8>> = Some(Vec::new());
        // Skip from one slug to the next instead of walking every claim.
        while let Some(from) = next.take() {
            let Some(kv) = self.stories.range(from..).next() else {
                break;
            };
            let (k, _) = kv?;
            let end = k
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| Error::damaged("a story index key is damaged"))?;
            let slug = String::from_utf8(k[..end].to_vec())
                .map_err(|_| Error::damaged("a story slug is not UTF-8"))?;
            let mut after = k[..end].to_vec();
            after.push(1);
            next = Some(after);
            out.push(slug);
        }
        Ok(out)
    }

    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for kv in self
            .valid
            .range(valid_key(&lo, 0)..=valid_key(&hi, u64::MAX))
        {
            let (k, _) = kv?;
            let seq = u64_at(&k, 12)?;
            if seq <= self.head.seq {
                out.push(seq);
            }
        }
        Ok(out)
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
    /// Writes raw bytes at `seq` in the log tree (no index, no head change).
    pub fn raw_log_put(&self, seq: u64, value: &[u8]) -> Result<()> {
        self.log.insert(seq_key(seq), value)?;
        self.sync()
    }

    /// Removes the log entry at `seq`.
    pub fn raw_log_remove(&self, seq: u64) -> Result<()> {
        self.log.remove(seq_key(seq))?;
        self.sync()
    }

    /// The raw bytes at `seq` in the log tree.
    pub fn raw_log_get(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.log.get(seq_key(seq))?.map(|v| v.to_vec()))
    }

    /// Empties every index tree and sets the index high-water mark to `indexed`,
    /// as if a crash had lost the index writes after that seq.
    pub fn raw_forget_indexes(&self, indexed: u64) -> Result<()> {
        for t in [&self.ids, &self.claims, &self.stories, &self.valid] {
            t.clear()?;
        }
        self.meta.insert(META_INDEXED, &indexed.to_be_bytes())?;
        self.sync()
    }

    /// Overwrites the stored format version.
    pub fn raw_set_format(&self, version: u32) -> Result<()> {
        self.meta.insert(META_FORMAT, &version.to_be_bytes())?;
        self.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_keys_sort_by_time_then_seq() {
        let t = |s| crate::time::parse_rfc3339(s).unwrap();
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
