//! Which store a `--db` names, and opening it. Today every `--db` is a sled
//! ledger directory; a PostgreSQL URL or a server address plugs in here, and
//! the commands, which hold an [`AnyLedger`], do not change.

use std::path::Path;
use std::time::Duration;

use claims_core::{Ledger, Result, Store};
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

/// Opens the store at `db`.
pub fn open(db: &Path, how: Open) -> Result<AnyLedger> {
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
    let store = SledStore::open(db, &opts)?;
    Ok(Ledger::new(Box::new(store)))
}

/// Whether `db` holds an empty ledger that nobody else has open.
pub fn is_empty_ledger(db: &Path) -> bool {
    let how = Open {
        create: false,
        lock_wait: Duration::ZERO,
        evict_server: false,
    };
    open(db, how).is_ok_and(|l| l.store().head().seq == 0)
}

/// While a ledger is locked, ask the ledger server holding it (if it is one)
/// to let go: see `protocol::ask_release`.
fn release_hook() -> Option<claims_store_sled::LockedHook> {
    #[cfg(unix)]
    {
        Some(std::sync::Arc::new(super::protocol::ask_release))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
