//! The values of the columns that are not plain numbers, ids or text
//! (docs/format.md, "PostgreSQL", pins them): times as (seconds, nanoseconds)
//! since the Unix epoch in UTC, and the summary facts as bytes.

use claims_core::account::Role as AccountRole;
use claims_core::store::Role;
use claims_core::summary::Fact;
use claims_core::time::Time;
use claims_core::{Error, Result};

/// A time as its two columns.
pub fn time_cols(t: &Time) -> (i64, i32) {
    // Below 2·10⁹ even in a leap second: it fits an i32.
    (t.timestamp(), t.timestamp_subsec_nanos() as i32)
}

/// The time of two columns; damaged if they name none.
pub fn time_of(secs: i64, nanos: i32) -> Result<Time> {
    u32::try_from(nanos)
        .ok()
        .and_then(|n| Time::from_timestamp(secs, n))
        .ok_or_else(|| damaged("a time"))
}

/// A fact's `fact` column: its canonical bytes ([`Fact::encode_into`];
/// docs/format.md, "PostgreSQL").
pub fn encode_fact(f: &Fact) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    f.encode_into(&mut out);
    out
}

/// Reads a `fact` column back; a damaged one is refused, never misread.
pub fn decode_fact(bytes: &[u8]) -> Result<Fact> {
    Fact::decode(bytes).ok_or_else(|| damaged("a claim summary's fact"))
}

/// The error for a stored value that does not decode.
pub fn damaged(what: &str) -> Error {
    Error::damaged(format!(
        "{what} stored in PostgreSQL does not decode: the ledger's tables are damaged"
    ))
    .with_hint(claims_core::error::Hint::Say(
            "the ledger's tables were changed outside claims: restore the database from a backup, or import an export into an empty one".into(),
        ))
}

/// The role of a claim-index `role` column.
pub fn role_of(v: i16) -> Result<Role> {
    u8::try_from(v)
        .ok()
        .and_then(Role::from_byte)
        .ok_or_else(|| damaged("a claim index entry's role"))
}

/// The role of an account's `role` column.
pub fn account_role_of(s: &str) -> Result<AccountRole> {
    AccountRole::parse(s).ok_or_else(|| damaged("an account's role"))
}
