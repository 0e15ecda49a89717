//! The `accounts` tree: the newsroom server's accounts, beside the log
//! (docs/format.md, "The `accounts` tree"). Key: the account's name, its
//! UTF-8 bytes. Value:
//!
//! ```text
//! value   = 0x01 (encoding) ‖ role (1 B: 0 reader, 1 writer, 2 admin)
//!           ‖ token hash (32 B) ‖ created ‖ revoked
//! time    = seconds since the epoch, i64 big-endian ‖ nanoseconds, u32 big-endian
//! created = time
//! revoked = 0x00 (active) | 0x01 ‖ time
//! ```
//!
//! Not chained, not indexed, not in the tree: commits, recovery, the
//! upgrade, `verify` and export never read or write it. A write is one
//! sled insert (atomic), then the same real fsync as a commit's.

use claims_core::account::{check_name, Account, Role};
use claims_core::error::{Error, Hint, Result};
use claims_core::time::Time;

use crate::{from_sled, SledStore};

/// The encoding byte of an account value this build writes.
pub(crate) const ACCOUNT_ENCODING: u8 = 1;

fn role_byte(role: Role) -> u8 {
    match role {
        Role::Reader => 0,
        Role::Writer => 1,
        Role::Admin => 2,
    }
}

fn role_of(b: u8) -> Option<Role> {
    Some(match b {
        0 => Role::Reader,
        1 => Role::Writer,
        2 => Role::Admin,
        _ => return None,
    })
}

fn put_time(out: &mut Vec<u8>, t: &Time) {
    out.extend_from_slice(&t.timestamp().to_be_bytes());
    out.extend_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
}

/// The stored value of `account` (its name is the key).
pub(crate) fn encode(account: &Account) -> Vec<u8> {
    let mut out = Vec::with_capacity(59);
    out.push(ACCOUNT_ENCODING);
    out.push(role_byte(account.role));
    out.extend_from_slice(&account.token_hash);
    put_time(&mut out, &account.created_at);
    match &account.revoked_at {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            put_time(&mut out, t);
        }
    }
    out
}

/// Reads a stored account back; `None` if the bytes do not decode exactly.
fn decode_value(name: &str, v: &[u8]) -> Option<Account> {
    fn time(v: &[u8]) -> Option<Time> {
        let secs = i64::from_be_bytes(v.get(..8)?.try_into().ok()?);
        let nanos = u32::from_be_bytes(v.get(8..12)?.try_into().ok()?);
        if nanos >= 1_000_000_000 {
            return None;
        }
        Time::from_timestamp(secs, nanos)
    }
    if v.first() != Some(&ACCOUNT_ENCODING) {
        return None;
    }
    let role = role_of(*v.get(1)?)?;
    let token_hash: [u8; 32] = v.get(2..34)?.try_into().ok()?;
    let created_at = time(v.get(34..46)?)?;
    let revoked_at = match (v.get(46)?, v.len()) {
        (0, 47) => None,
        (1, 59) => Some(time(&v[47..59])?),
        _ => return None,
    };
    Some(Account {
        name: name.to_string(),
        role,
        token_hash,
        created_at,
        revoked_at,
    })
}

/// A stored account: its key and value, refused (`Damaged`) unless they
/// decode exactly.
pub(crate) fn decode(path: &std::path::Path, key: &[u8], v: &[u8]) -> Result<Account> {
    let shown = path.display();
    let name = std::str::from_utf8(key)
        .ok()
        .filter(|n| check_name(n).is_ok())
        .ok_or_else(|| {
            Error::damaged(format!(
                "the accounts of {shown} hold a damaged name ({} bytes)",
                key.len()
            ))
            .with_hint(Hint::RestoreIntoNewLedger)
        })?;
    if let Some(&encoding) = v.first().filter(|&&b| b > ACCOUNT_ENCODING) {
        return Err(Error::damaged(format!(
            "the account {name} of {shown} is stored in encoding {encoding}, which this build does not know"
        ))
        .with_hint(Hint::UpgradeProgram));
    }
    decode_value(name, v).ok_or_else(|| {
        Error::damaged(format!("the account {name} of {shown} is damaged"))
            .with_hint(Hint::RestoreIntoNewLedger)
    })
}

impl SledStore {
    /// [`Store::accounts`](claims_core::Store::accounts): the whole tree,
    /// in key (name) order.
    pub(crate) fn read_accounts(&self) -> Result<Vec<Account>> {
        self.accounts
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(from_sled)?;
                decode(&self.path, &k, &v)
            })
            .collect()
    }

    /// [`Store::put_account`](claims_core::Store::put_account): one insert,
    /// then a real fsync.
    pub(crate) fn write_account(&mut self, account: &Account) -> Result<()> {
        if self.poisoned {
            return Err(Error::damaged(
                "an earlier write through this handle failed part-way, so it takes no more writes",
            )
            .with_hint(Hint::Reopen));
        }
        check_name(&account.name)?;
        self.accounts
            .insert(account.name.as_bytes(), encode(account))
            .map_err(from_sled)?;
        self.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims_core::store::conformance::{some_accounts, t};
    use claims_core::ErrorKind;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn an_account_value_is_pinned() {
        let mut a = Account::new("alice", Role::Writer, "abc", t("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(
            hex(&encode(&a)),
            concat!(
                "01",
                "01",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "000000006955b900",
                "00000000",
                "00"
            )
        );
        a.revoke(t("2026-01-01T00:00:01.5Z")).unwrap();
        assert_eq!(
            hex(&encode(&a)[46..]),
            concat!("01", "000000006955b901", "1dcd6500")
        );
    }

    #[test]
    fn accounts_decode_as_encoded_and_damage_is_refused() {
        let path = std::path::Path::new("ledger");
        for a in some_accounts() {
            let v = encode(&a);
            assert_eq!(decode(path, a.name.as_bytes(), &v).unwrap(), a);
            // Every cut, and a byte too many, is refused.
            for n in 0..v.len() {
                let e = decode(path, a.name.as_bytes(), &v[..n]).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Damaged, "{} cut at {n}", a.name);
            }
            let mut long = v.clone();
            long.push(0);
            assert!(decode(path, a.name.as_bytes(), &long).is_err());
        }
        let v = encode(&some_accounts()[0]);
        let damaged = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut w = v.clone();
            f(&mut w);
            decode(path, b"alice", &w).unwrap_err()
        };
        assert_eq!(
            damaged(&|w| w[0] = 0).message(),
            "the account alice of ledger is damaged"
        );
        let newer = damaged(&|w| w[0] = 2);
        assert!(
            newer.message().contains("encoding 2"),
            "{}",
            newer.message()
        );
        assert_eq!(newer.hint(), Some(&Hint::UpgradeProgram));
        damaged(&|w| w[1] = 3);
        damaged(&|w| w[46] = 2);
        // Nanoseconds past a second.
        damaged(&|w| w[42..46].copy_from_slice(&1_000_000_000u32.to_be_bytes()));
        // Seconds out of chrono's range.
        damaged(&|w| w[34..42].copy_from_slice(&i64::MAX.to_be_bytes()));
        for key in [&b""[..], b"Alice", b"-x", b"\xff"] {
            let e = decode(path, key, &v).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Damaged);
            assert!(e.message().contains("damaged name"), "{}", e.message());
        }
    }
}
