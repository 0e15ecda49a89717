//! Opening a ledger: the path checks, the refusal of foreign data, the wait
//! for sled's lock, the format check and the in-place upgrades of older
//! formats. Crash recovery, the last step of an open, is in `recovery.rs`.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use claims_core::error::{Detail, Error, ErrorKind, Hint, Result};
use claims_core::store::Head;

use crate::keys::{LOG_HEAD, META_FORMAT, META_HEAD, META_INDEXED};
use crate::{from_sled, Recovery, SledStore, FORMAT_VERSION};

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
            cache_bytes: 64 * 1024 * 1024,
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

/// Whether `dir` holds a `conf` that sled's set-up was killed while writing,
/// before anything was stored: sled writes its `conf` as text and then a
/// CRC-32 of it in a second write, before it creates `db`; killed between the
/// two (or part-way), the next open finds a `conf` whose checksum does not
/// hold, reads the text without its last four bytes and calls it corrupted.
/// Only with no `db`, or an empty one nobody holds: nothing was stored yet.
fn unfinished_set_up(dir: &Path) -> bool {
    let Ok(conf) = fs::read(dir.join("conf")) else {
        return false;
    };
    // sled reads a `conf` of 8 bytes or fewer as none, and writes it again.
    if conf.len() <= 8 {
        return false;
    }
    let (text, crc) = conf.split_at(conf.len() - 4);
    if crc32fast::hash(text).to_le_bytes() == crc {
        return false;
    }
    match fs::metadata(dir.join("db")) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        Ok(m) => m.is_file() && m.len() == 0 && !lock_held(dir),
    }
}

/// Removes the `conf` of an unfinished set-up (see [`unfinished_set_up`]),
/// so that sled writes it again on the next try.
fn clear_unfinished_set_up(dir: &Path) -> Result<()> {
    match fs::remove_file(dir.join("conf")) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(
            format!(
                "removing the unfinished set-up of the ledger at {}",
                dir.display()
            ),
            e,
        )),
    }
}

impl SledStore {
    /// Opens (or, with `create`, makes) the ledger at `path`, waiting up to
    /// `lock_wait` for another process to let go of it, and recovers from any
    /// crash of an earlier writer.
    pub fn open(path: impl AsRef<Path>, opts: &OpenOptions) -> Result<SledStore> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display();
        clear_stale_snapshots(&path)?;
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
            summary: tree("summary").map_err(from_sled)?,
            stage: tree("stage").map_err(from_sled)?,
            tiles: tree("tiles").map_err(from_sled)?,
            accounts: tree("accounts").map_err(from_sled)?,
            tree_size: 0,
            parts: 0,
            db,
            path,
            head: Head::EMPTY,
            visible: 0,
            staged: None,
            applied: 0,
            poisoned: false,
            blocks: Default::default(),
            recovery: Recovery::default(),
            #[cfg(any(test, feature = "testing"))]
            faults: Default::default(),
        };
        let format = store.check_format()?;
        if format < FORMAT_VERSION {
            store.upgrade_from(format)?;
            store.recovery.upgraded_from = Some(format);
        }
        store.head = store.read_head()?;
        store.visible = store.head.seq;
        store.recover()?;
        Ok(store)
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

    /// Upgrades an older ledger in place (see the crate docs). Format 4
    /// only switches its version (format 5 adds the entry encoding tag 3,
    /// which a format-4 log does not hold); so does format 3, whose tiles
    /// recovery derives. Formats 1 and 2: a format-1 head moves into the
    /// log; every index is emptied and derived again from the log by the
    /// recovery that follows (format 3 adds the summary tree). Each step is
    /// synced before the next, and the version is switched last, so a crash
    /// leaves the old format, which the next open upgrades again.
    fn upgrade_from(&mut self, format: u32) -> Result<()> {
        if format == 3 || format == 4 {
            // Format 4 adds the tiles, which recovery derives (from
            // `meta/tree`, absent: from the first entry); format 5 adds an
            // entry encoding, and no entry of a format-4 log uses it.
            self.meta
                .insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes())
                .map_err(from_sled)?;
            return self.sync();
        }
        if format == 1 {
            match self.meta.get(META_HEAD).map_err(from_sled)? {
                Some(h) => self.log.insert(LOG_HEAD, h).map_err(from_sled)?,
                None => self.log.remove(LOG_HEAD).map_err(from_sled)?,
            };
        }
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
}

const TREES: [&[u8]; 11] = [
    b"__sled__default",
    b"log",
    b"meta",
    b"ids",
    b"claims",
    b"stories",
    b"valid",
    b"summary",
    b"stage",
    b"tiles",
    b"accounts",
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

/// Removes `snap.*.generating` files: sled writes a snapshot under that
/// name and renames it when it is complete, so such a file is always a
/// snapshot that a crash or a full disk cut short, and sled 0.34 refuses to
/// open a directory holding one ("corrupted"). Only while nobody holds the
/// ledger: the `db` file's lock is taken for the removal.
fn clear_stale_snapshots(path: &Path) -> Result<()> {
    // Only in what looks like a sled directory (another program's files are
    // refused later, untouched).
    if !path.join("conf").is_file() {
        return Ok(());
    }
    let Ok(db) = fs::File::open(path.join("db")) else {
        return Ok(());
    };
    if db.try_lock().is_err() {
        return Ok(());
    }
    let Ok(entries) = fs::read_dir(path) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            fs::remove_file(e.path()).map_err(|err| {
                Error::io(format!("removing the unfinished snapshot {name}"), err)
            })?;
        }
    }
    Ok(())
}

fn no_ledger(path: &Path) -> Error {
    Error::not_found(format!("there is no ledger at {}", path.display()))
        .with_hint(Hint::CreateLedger)
}

/// Whether another process (or another handle in this one) holds sled's
/// lock on the ledger: sled takes an exclusive `flock` on the `db` file for
/// as long as the database is open (fs2's `try_lock_exclusive`), and
/// `File::try_lock` is the same `flock` on Unix. Taking the lock here and
/// dropping it at once tells a held lock apart from any other I/O failure
/// without reading sled's message.
pub(crate) fn lock_held(path: &Path) -> bool {
    match fs::File::open(path.join("db")) {
        Ok(f) => matches!(f.try_lock(), Err(fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

fn open_with_lock_wait(path: &Path, opts: &OpenOptions) -> Result<sled::Db> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    // An I/O failure while the lock is free is tried once more: the holder
    // may have let go between sled's attempt and the check.
    let mut retried = false;
    // An unfinished set-up is cleared and tried again, a few times: another
    // process creating the same new ledger may be between its two writes.
    let mut set_ups = 0;
    loop {
        // No background flusher: every commit flushes and fsyncs itself
        // (`SledStore::sync`), and a flusher thread would write sled's files
        // back into a ledger directory deleted under a long-lived process.
        let cfg = sled::Config::new()
            .path(path)
            .cache_capacity(opts.cache_bytes)
            .flush_every_ms(None);
        match cfg.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) => {
                if !lock_held(path) {
                    if !retried {
                        retried = true;
                        continue;
                    }
                    return Err(Error::io(
                        format!("opening the ledger at {}", path.display()),
                        crate::plain_io(e),
                    ));
                }
                if started.elapsed() >= opts.lock_wait {
                    return Err(Error::new(
                        ErrorKind::Locked,
                        format!(
                            "the ledger at {} is in use by another process (waited {:.1} s)",
                            path.display(),
                            opts.lock_wait.as_secs_f64()
                        ),
                    )
                    .with_hint(Hint::TryAgainLater)
                    .with_detail(Detail::Locked {
                        path: path.to_path_buf(),
                        waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    }));
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
            Err(sled::Error::Corruption { .. }) if set_ups < 3 && unfinished_set_up(path) => {
                set_ups += 1;
                clear_unfinished_set_up(path)?;
            }
            Err(e) => {
                return Err(Error::damaged(format!(
                    "the ledger at {} cannot be opened: {}",
                    path.display(),
                    crate::sled_failure(&e)
                ))
                .with_hint(Hint::RestoreFromExport));
            }
        }
    }
}
