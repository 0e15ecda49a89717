//! The one connection of a handle, its prepared statements, and the words
//! of a failed statement.

use std::collections::HashMap;

use claims_core::error::Hint;
use claims_core::{Error, ErrorKind, Result};
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use crate::url::Target;

/// A connection and the statements prepared on it.
pub(crate) struct Conn {
    pub client: Client,
    stmts: HashMap<&'static str, Statement>,
}

impl Conn {
    pub fn new(client: Client) -> Conn {
        Conn {
            client,
            stmts: HashMap::new(),
        }
    }

    /// Connects again after the connection was lost (PostgreSQL restarted,
    /// say), when no transaction of ours was open on it.
    pub fn reconnect_if_closed(&mut self, target: &Target) -> Result<()> {
        if self.client.is_closed() {
            self.client = crate::url::connect(target)?;
            self.stmts.clear();
        }
        Ok(())
    }

    fn statement(&mut self, sql: &'static str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.stmts.insert(sql, s.clone());
        Ok(s)
    }

    /// Runs a query (prepared once per connection).
    pub fn query(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let what = "reading the ledger";
        let s = self.statement(sql).map_err(crate::sql(what))?;
        self.client.query(&s, params).map_err(crate::sql(what))
    }

    /// Runs a statement (prepared once per connection).
    pub fn execute(&mut self, sql: &'static str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let what = "writing the ledger";
        let s = self.statement(sql).map_err(crate::sql(what))?;
        self.client.execute(&s, params).map_err(crate::sql(what))
    }
}

/// A failed statement as one sentence: what was being done, and what
/// PostgreSQL (or the connection) said.
pub(crate) fn sql_error(what: &str, e: &postgres::Error) -> Error {
    match e.as_db_error() {
        Some(d) => {
            let kind = match d.code().code() {
                // insufficient_privilege, read_only_sql_transaction
                "42501" | "25006" => ErrorKind::Io,
                // connection exceptions, transaction rollbacks (deadlock,
                // serialization), insufficient resources, operator
                // intervention (a shutdown), system errors: the server's
                // state, not the ledger's
                c if ["08", "40", "53", "57", "58"].iter().any(|k| c.starts_with(k)) => {
                    ErrorKind::Io
                }
                _ => ErrorKind::Damaged,
            };
            Error::new(
                kind,
                format!("{what} in PostgreSQL failed: {}", d.message()),
            )
            .with_hint(Hint::Say(
                "check the database's state and the account's rights".into(),
            ))
        }
        None if is_connection(e) => Error::new(
            ErrorKind::Io,
            format!("{what} in PostgreSQL failed: {}", crate::url::cause_of(e)),
        )
        .with_hint(Hint::Say(
            "check that PostgreSQL runs and can be reached, then try again".into(),
        )),
        // The client refused a value: a column of another type than the
        // schema says (tables changed outside claims).
        None => Error::new(
            ErrorKind::Damaged,
            format!("{what} in PostgreSQL failed: {}", crate::url::cause_of(e)),
        )
        .with_hint(Hint::Say(
            "the ledger's tables were changed outside claims: restore the database from a backup, or import an export into an empty one".into(),
        )),
    }
}

/// Whether a client-side error is the connection's (closed, or an I/O
/// error underneath) rather than a value the client refused.
fn is_connection(e: &postgres::Error) -> bool {
    use std::error::Error as _;
    if e.is_closed() {
        return true;
    }
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}
