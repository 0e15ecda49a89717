//! The PostgreSQL store of claims (SPEC, "PostgreSQL"; docs/format.md,
//! "PostgreSQL"): the ledger in tables of one database, behind the same
//! [`Store`] trait as the embedded sled store, passing the same
//! conformance suite.
//!
//! - [`url`]: which `--db` is a PostgreSQL URL, how it is shown (never
//!   with its password), connecting (TLS through rustls as `sslmode` asks);
//! - `schema`: the tables, created and migrated here, their version kept;
//! - `conn`: a handle's one connection and its prepared statements;
//! - `codec`: times and summary facts as column values;
//! - `write`: commits and staged commits, one transaction each;
//! - `read`: the reads, the log in chunks.
//!
//! Several processes may write one database. A commit locks the one row of
//! `claims.head` (`SELECT … FOR UPDATE`), so commits serialize on the head:
//! `seq` stays gapless and the chain unbroken, and a commit against a head
//! another writer moved is refused with [`claims_core::ErrorKind::HeadMoved`]
//! (the ledger re-reads and re-seals). All rows of a commit become visible
//! together at its `COMMIT`, which is durable when it returns (PostgreSQL's
//! `synchronous_commit`). A handle reads the ledger as of its own head
//! ([`Store::head`], moved by its commits and by [`Store::read_head`]):
//! every read is bounded by that seq, so a handle sees one chained prefix
//! with no holes, whatever other writers commit meanwhile.

mod codec;
mod conn;
mod read;
mod schema;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
pub mod url;
mod write;

use std::sync::{Mutex, MutexGuard};

use claims_core::account::Account;
use claims_core::error::Hint;
use claims_core::record::Record;
use claims_core::store::{Head, IdRange, IndexEntry, Role, StagedIndex, Store};
use claims_core::summary::{Fact, Filed};
use claims_core::time::Time;
use claims_core::tree::TileId;
use claims_core::{Error, Result};
use uuid::Uuid;

pub use schema::VERSION as SCHEMA_VERSION;
pub use url::is_postgres_url;

use conn::Conn;

/// `map_err` for a failed statement while doing `what`.
pub(crate) fn sql(what: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| conn::sql_error(what, &e)
}

/// A ledger in a PostgreSQL database.
pub struct PgStore {
    target: url::Target,
    shown: String,
    conn: Mutex<Conn>,
    /// The head as this handle last saw it; every read is bounded by it.
    head: Mutex<Head>,
    /// While a commit is staged: the end of what is staged (its
    /// transaction is open on the connection).
    staged: Option<Head>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("db", &self.shown).finish()
    }
}

impl PgStore {
    /// Opens the ledger in the database `url` names, creating its tables
    /// when `create` and there are none. Without `create`, a database with
    /// no ledger is `NotFound`. Errors never show the URL's password.
    pub fn open(url: &str, create: bool) -> Result<PgStore> {
        PgStore::open_with(url, create, &url::Defaults::none())
    }

    /// [`PgStore::open`], with what the URL leaves out (user, host,
    /// password) taken from `defaults`, as libpq would.
    pub fn open_with(url: &str, create: bool, defaults: &url::Defaults) -> Result<PgStore> {
        let target = url::parse_with(url, defaults)?;
        let shown = url::shown(&target.config);
        let mut client = url::connect(&target)?;
        if !schema::prepare(&mut client, create, &shown)? {
            return Err(Error::not_found(format!("there is no ledger in {shown}"))
                .with_hint(Hint::CreateLedger));
        }
        let store = PgStore {
            target,
            shown,
            conn: Mutex::new(Conn::new(client)),
            head: Mutex::new(Head::EMPTY),
            staged: None,
        };
        store.read_head()?;
        Ok(store)
    }

    /// The database, as it may be shown (no password).
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The connection, connected again if it was lost while no transaction
    /// of ours was open on it.
    pub(crate) fn conn(&self) -> Result<MutexGuard<'_, Conn>> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if self.staged.is_none() {
            c.reconnect_if_closed(&self.target)?;
        }
        Ok(c)
    }

    /// The last seq a read may see: the head, or the end of what is staged.
    pub(crate) fn bound(&self) -> i64 {
        let seq = match &self.staged {
            Some(s) => s.seq,
            None => self.head().seq,
        };
        seq as i64
    }

    pub(crate) fn set_head(&self, head: Head) {
        *self.head.lock().unwrap_or_else(|p| p.into_inner()) = head;
    }
}

impl Store for PgStore {
    fn head(&self) -> Head {
        *self.head.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_head(&self) -> Result<Head> {
        if self.staged.is_some() {
            return Ok(self.head());
        }
        let head = read::head_row(&mut *self.conn()?, false)?;
        self.set_head(head);
        Ok(head)
    }

    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        write::commit(self, expected, records)
    }

    fn stage(
        &mut self,
        expected: &Head,
        records: &[Record],
        staged: &dyn StagedIndex,
    ) -> Result<()> {
        write::stage(self, expected, records, staged)
    }

    fn commit_staged(&mut self, expected: &Head) -> Result<()> {
        write::commit_staged(self, expected)
    }

    fn abort_staged(&mut self) -> Result<()> {
        write::abort_staged(self)
    }

    fn get(&self, seq: u64) -> Result<Option<Record>> {
        read::get(self, seq)
    }

    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
        read::scan(self, from_seq)
    }

    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>> {
        read::seq_of_event(self, id)
    }

    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        read::event_ids_in(self, range, limit)
    }

    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        read::claim_ids_in(self, range, limit)
    }

    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>> {
        read::claim_entries(self, claim)
    }

    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        read::story_claims(self, story)
    }

    fn stories(&self) -> Result<Vec<String>> {
        read::stories(self)
    }

    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>> {
        read::seqs_by_valid_to(self, lo, hi)
    }

    fn summaries(
        &self,
        from_claim_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, Filed)>> + '_> {
        read::summaries(self, from_claim_seq)
    }

    fn summary(&self, claim_seq: u64) -> Result<Vec<Fact>> {
        read::summary(self, claim_seq)
    }

    fn stored_index(&self) -> Box<dyn Iterator<Item = Result<IndexEntry>> + '_> {
        read::stored_index(self)
    }

    fn tile(&self, id: TileId) -> Result<Option<Vec<u8>>> {
        read::tile(self, id)
    }

    fn stored_tiles(&self) -> Box<dyn Iterator<Item = Result<(TileId, Vec<u8>)>> + '_> {
        read::stored_tiles(self)
    }

    fn accounts(&self) -> Result<Vec<Account>> {
        read::accounts(self)
    }

    fn put_account(&mut self, account: &Account) -> Result<()> {
        write::put_account(self, account)
    }
}

#[cfg(test)]
mod tests;
