//! Which store a `--db` names, and opening it: a sled ledger directory, or
//! a PostgreSQL database (`postgres://…`, `postgresql://…`). The commands
//! hold an [`AnyLedger`] and do not know which. (A server's address,
//! `http(s)://…`, is not opened here: the commands are its clients.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use claims_core::error::Detail;
use claims_core::{Error, Ledger, Result, Store};
use claims_store_sled::{OpenOptions, SledStore};

/// A ledger over whichever store `--db` names.
pub type AnyLedger = Ledger<Box<dyn Store>>;

/// How a command opens its ledger.
#[derive(Debug, Clone, Copy)]
pub struct Open {
    /// Create the ledger if there is none.
    pub create: bool,
    /// How long to wait for another process that holds it.
    pub lock_wait: Duration,
    /// Whether to ask a ledger server that holds it to let go (everyone but
    /// the server itself).
    pub evict_server: bool,
}

/// A copy of a ledger this process cannot write, made so that it can be read
/// (sled opens every database read-write). Removed when dropped.
pub struct TempCopy(PathBuf);

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether an error is the system refusing to write (permissions, or a
/// read-only file system).
fn is_read_only(e: &Error) -> bool {
    matches!(
        e.detail(),
        Detail::Io {
            kind: std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        }
    )
}

/// Whether `db` names a PostgreSQL database rather than a directory.
pub fn is_postgres(db: &Path) -> bool {
    db.to_str().is_some_and(claims_store_pg::is_postgres_url)
}

/// `db` as it may be shown: a directory's path, or a PostgreSQL URL without
/// its password or parameters.
pub fn shown(db: &Path) -> String {
    match db.to_str() {
        Some(url) if claims_store_pg::is_postgres_url(url) => {
            claims_store_pg::url::parse_with(url, &super::settings::pg_defaults())
                .map(|t| claims_store_pg::url::shown(&t.config))
                .unwrap_or_else(|_| "the PostgreSQL database --db names".into())
        }
        _ => db.display().to_string(),
    }
}

/// Opens the ledger at `db` for a read. A ledger this user may read but not
/// write (read-only permissions or file system) is read from a private copy
/// in the temporary directory, kept while the returned [`TempCopy`] lives.
pub fn open_for_reading(db: &Path, how: Open) -> Result<(AnyLedger, Option<TempCopy>)> {
    if is_postgres(db) {
        return open(db, how).map(|l| (l, None));
    }
    match open(db, how) {
        Err(e) if is_read_only(&e) => {
            let copy = std::env::temp_dir().join(format!(
                "claims-read-only-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ));
            let guard = TempCopy(copy.clone());
            copy_dir(db, &copy).map_err(|err| {
                Error::io(
                    format!(
                        "copying the read-only ledger at {} to read it",
                        db.display()
                    ),
                    err,
                )
            })?;
            let how = Open {
                create: false,
                evict_server: false,
                ..how
            };
            Ok((open(&copy, how)?, Some(guard)))
        }
        other => other.map(|l| (l, None)),
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let ty = entry.file_type()?;
        let target = to.join(entry.file_name());
        if ty.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if ty.is_file() {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Opens the store at `db`.
pub fn open(db: &Path, how: Open) -> Result<AnyLedger> {
    if let Some(url) = db.to_str().filter(|d| claims_store_pg::is_postgres_url(d)) {
        let defaults = super::settings::pg_defaults();
        let store = claims_store_pg::PgStore::open_with(url, how.create, &defaults)?;
        return Ok(Ledger::new(Box::new(store)));
    }
    let opts = OpenOptions {
        create: how.create,
        lock_wait: how.lock_wait,
        on_locked: if how.evict_server {
            release_hook()
        } else {
            None
        },
        ..OpenOptions::default()
    };
    let store = SledStore::open(db, &opts).map_err(|e| {
        if how.create && is_read_only(&e) {
            Error::invalid(format!(
                "the ledger at {} cannot be written by this user or on this file system ({}), so nothing was recorded",
                db.display(),
                e.message()
            ))
            .with_hint("ask for write access to its directory; reading it works as it is")
        } else {
            e
        }
    })?;
    Ok(Ledger::new(Box::new(store)))
}

/// Whether `db` holds an empty ledger (no entries, no accounts) that nobody
/// else has open. It waits a moment for the lock: the handle this process
/// just dropped may take that long to let go of it on a loaded machine.
pub fn is_empty_ledger(db: &Path) -> bool {
    if is_postgres(db) {
        // A database's tables are left: others may have opened it since.
        return false;
    }
    let how = Open {
        create: false,
        lock_wait: Duration::from_millis(500),
        evict_server: false,
    };
    open(db, how).is_ok_and(|l| {
        l.store().head().seq == 0 && l.store().accounts().is_ok_and(|a| a.is_empty())
    })
}

/// While a ledger is locked, ask the ledger server holding it (if it is one)
/// to let go: see `socket::ask_release`.
fn release_hook() -> Option<claims_store_sled::LockedHook> {
    #[cfg(unix)]
    {
        Some(std::sync::Arc::new(super::socket::ask_release))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
