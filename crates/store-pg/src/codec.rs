//! The values of the columns that are not plain numbers, ids or text
//! (crates/store-pg/SCHEMA.md pins them): times as (seconds, nanoseconds)
//! since the Unix epoch in UTC, and the summary facts as bytes.

use claims_core::account::Role as AccountRole;
use claims_core::event::FollowUpKind;
use claims_core::store::Role;
use claims_core::summary::{Fact, What};
use claims_core::time::Time;
use claims_core::{Error, Result};
use uuid::Uuid;

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

fn put_time(out: &mut Vec<u8>, t: &Time) {
    let (s, n) = time_cols(t);
    out.extend_from_slice(&s.to_be_bytes());
    out.extend_from_slice(&(n as u32).to_be_bytes());
}

fn kind_byte(k: FollowUpKind) -> u8 {
    match k {
        FollowUpKind::Corroborated => 0,
        FollowUpKind::Disputed => 1,
        FollowUpKind::Refuted => 2,
        FollowUpKind::Retracted => 3,
    }
}

fn kind_of(b: u8) -> Option<FollowUpKind> {
    Some(match b {
        0 => FollowUpKind::Corroborated,
        1 => FollowUpKind::Disputed,
        2 => FollowUpKind::Refuted,
        3 => FollowUpKind::Retracted,
        _ => return None,
    })
}

/// A fact's `fact` column (its seq is a column of its own too):
///
/// ```text
/// fact = seq (u64 BE) ‖ id (16 B) ‖ recorded_at ‖ what
/// time = seconds (i64 BE) ‖ nanoseconds (u32 BE)
/// what = 0 ‖ from ‖ to                            asserted
///      | 1 ‖ kind (1 B) ‖ other_party (1 B) ‖ from ‖ to   follow-up
///      | 2 ‖ from ‖ to                            superseding
///      | 3 ‖ target seq (u64 BE)                  void
/// kind = 0 corroborated, 1 disputed, 2 refuted, 3 retracted
/// ```
pub fn encode_fact(f: &Fact) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&f.seq.to_be_bytes());
    out.extend_from_slice(f.id.as_bytes());
    put_time(&mut out, &f.recorded_at);
    match f.what {
        What::Asserted { from, to } => {
            out.push(0);
            put_time(&mut out, &from);
            put_time(&mut out, &to);
        }
        What::FollowUp {
            kind,
            other_party,
            from,
            to,
        } => {
            out.push(1);
            out.push(kind_byte(kind));
            out.push(u8::from(other_party));
            put_time(&mut out, &from);
            put_time(&mut out, &to);
        }
        What::Superseding { from, to } => {
            out.push(2);
            put_time(&mut out, &from);
            put_time(&mut out, &to);
        }
        What::Void { target } => {
            out.push(3);
            out.extend_from_slice(&target.to_be_bytes());
        }
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    fn time(&mut self) -> Option<Time> {
        let s = i64::from_be_bytes(self.take(8)?.try_into().ok()?);
        let n = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
        Time::from_timestamp(s, n)
    }
}

/// Reads a `fact` column back; a damaged one is refused, never misread.
pub fn decode_fact(bytes: &[u8]) -> Result<Fact> {
    fn read(bytes: &[u8]) -> Option<Fact> {
        let mut r = Reader(bytes);
        let seq = r.u64()?;
        let id = Uuid::from_slice(r.take(16)?).ok()?;
        let recorded_at = r.time()?;
        let what = match r.u8()? {
            0 => What::Asserted {
                from: r.time()?,
                to: r.time()?,
            },
            1 => {
                let kind = kind_of(r.u8()?)?;
                let other_party = match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return None,
                };
                What::FollowUp {
                    kind,
                    other_party,
                    from: r.time()?,
                    to: r.time()?,
                }
            }
            2 => What::Superseding {
                from: r.time()?,
                to: r.time()?,
            },
            3 => What::Void { target: r.u64()? },
            _ => return None,
        };
        if !r.0.is_empty() {
            return None;
        }
        Some(Fact {
            seq,
            id,
            recorded_at,
            what,
        })
    }
    read(bytes).ok_or_else(|| damaged("a claim summary's fact"))
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
