//! The accounts of the newsroom server: who may read the ledger, append to
//! it, or manage the accounts, each known by a bearer token of which only a
//! hash is kept.
//!
//! Accounts are not part of the log: they are not chained, not in the
//! Merkle tree, not derived from the entries and not exported. A store keeps
//! them beside the log ([`Store::accounts`], [`Store::put_account`]). A name
//! is never reused, even once its account is revoked, so that the name an
//! entry was recorded by always means one account.
//!
//! The core reads no clock and draws no randomness: the caller passes the
//! times, and a new token's randomness ([`new_token`] takes the caller's
//! random number generator).

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::store::Store;
use crate::time::{fmt_time, Time};

/// What an account may do. Each role allows what the one before it does,
/// and more: a reader every read, a writer also appends, an admin also the
/// accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Every read (every `GET` of the server).
    Reader,
    /// Every read, and appends.
    Writer,
    /// Every read, appends, and the accounts.
    Admin,
}

impl Role {
    /// Every role, the least allowed first.
    pub const ALL: [Role; 3] = [Role::Reader, Role::Writer, Role::Admin];

    /// The role named `reader`, `writer` or `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Its name: `reader`, `writer` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }

    /// Whether this role allows what `need` allows: a request that needs a
    /// reader (any read) is allowed to every role, one that needs a writer
    /// (an append) to writers and admins, one that needs an admin (the
    /// accounts) to admins alone.
    pub fn allows(self, need: Role) -> bool {
        self >= need
    }

    /// Whether it may read (every role may).
    pub fn can_read(self) -> bool {
        self.allows(Role::Reader)
    }

    /// Whether it may append.
    pub fn can_append(self) -> bool {
        self.allows(Role::Writer)
    }

    /// Whether it may add, list and revoke accounts.
    pub fn can_manage_accounts(self) -> bool {
        self.allows(Role::Admin)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Role> {
        Role::parse(s).ok_or_else(|| {
            Error::invalid(format!("`{s}` is not a role")).with_hint(
                "a role is reader (every read), writer (also appends) or admin (also the accounts)",
            )
        })
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its name ([`check_name`]), unique in the ledger for good: what the
    /// entries it appends are recorded by.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// [`token_hash`] of its token. The token itself is never stored.
    pub token_hash: [u8; 32],
    /// When it was added.
    pub created_at: Time,
    /// When it was revoked; `None` while it is active.
    pub revoked_at: Option<Time>,
}

/// The longest account name, in characters.
pub const MAX_NAME: usize = 64;

/// What every token starts with (so that a token is recognisable as one,
/// say by a secret scanner).
pub const TOKEN_PREFIX: &str = "claims_";

const NAME_RULE: &str = "an account name is 1 to 64 of the characters a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit (such as `alice` or `night-desk.2`)";

/// Checks an account name: 1 to [`MAX_NAME`] of `a-z`, `0-9`, `.`, `_` and
/// `-`, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<()> {
    let refuse = |message: String| Err(Error::invalid(message).with_hint(hint_for(name)));
    let Some(first) = name.chars().next() else {
        return refuse("an account name cannot be empty".into());
    };
    let len = name.chars().count();
    if len > MAX_NAME {
        return refuse(format!(
            "an account name of {len} characters is too long (at most {MAX_NAME})"
        ));
    }
    if let Some(c) = name.chars().find(|&c| !allowed(c)) {
        return refuse(format!(
            "the account name `{name}` holds `{c}`, which account names do not allow"
        ));
    }
    if !first.is_ascii_alphanumeric() {
        return refuse(format!(
            "the account name `{name}` starts with `{first}`, not a letter or digit"
        ));
    }
    Ok(())
}

fn allowed(c: char) -> bool {
    matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-')
}

/// The hint of a refused name: the lowercase form when that one is good.
fn hint_for(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let good = lower != name
        && lower.chars().count() <= MAX_NAME
        && lower.chars().all(allowed)
        && lower.starts_with(|c: char| c.is_ascii_alphanumeric());
    if good {
        format!("account names are lowercase: `{lower}`")
    } else {
        NAME_RULE.to_string()
    }
}

/// The hash of a token that an account keeps: SHA-256 of its bytes.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A token made of 32 random bytes: [`TOKEN_PREFIX`] and 64 lowercase hex
/// digits.
pub fn token_from_bytes(bytes: &[u8; 32]) -> String {
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// A new token of 32 bytes from `rng` (the caller's: the operating
/// system's, such as `rand_core::OsRng`), as [`token_from_bytes`] writes it.
pub fn new_token<R: rand_core::RngCore + rand_core::CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    token_from_bytes(&bytes)
}

/// The active account whose token is `token`, if any. The presented
/// token's hash is compared with every active account's hash, each in
/// constant time and all of them whatever matches, so that the time taken
/// says nothing about which bytes, or which account, matched.
pub fn authenticate<'a>(accounts: &'a [Account], token: &str) -> Option<&'a Account> {
    let presented = token_hash(token);
    let mut found = subtle::Choice::from(0);
    let mut at = 0u64;
    for (i, a) in accounts.iter().enumerate() {
        let hit = a.token_hash.ct_eq(&presented) & subtle::Choice::from(a.is_active() as u8);
        at.conditional_assign(&(i as u64), hit);
        found |= hit;
    }
    if bool::from(found) {
        usize::try_from(at).ok().and_then(|i| accounts.get(i))
    } else {
        None
    }
}

impl Account {
    /// A new, active account of `name` (checked by [`check_name`]) with
    /// `role`, keeping only the hash of `token`, added at `created_at`.
    pub fn new(name: &str, role: Role, token: &str, created_at: Time) -> Result<Account> {
        check_name(name)?;
        if token.is_empty() {
            return Err(Error::invalid("an account's token cannot be empty"));
        }
        Ok(Account {
            name: name.to_string(),
            role,
            token_hash: token_hash(token),
            created_at,
            revoked_at: None,
        })
    }

    /// Whether it is active (not revoked).
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Revokes it at `at` (no earlier than its creation, if the clock went
    /// back); refused if it is revoked already.
    pub fn revoke(&mut self, at: Time) -> Result<()> {
        if self.revoked_at.is_some() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("the account {} is revoked already", self.name),
            )
            .with_hint("a revoked account stays revoked; add a new account under another name"));
        }
        self.revoked_at = Some(at.max(self.created_at));
        Ok(())
    }

    /// The account as JSON, without its hash:
    /// `{"name","role","created_at","revoked_at"}` (`revoked_at` null while
    /// it is active; times as the ledger writes them, RFC 3339 in UTC).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "role": self.role.as_str(),
            "created_at": fmt_time(&self.created_at),
            "revoked_at": self.revoked_at.as_ref().map(fmt_time),
        })
    }
}

/// The accounts of a ledger. They are kept by its store, beside the log.
impl<S: Store> Ledger<S> {
    /// Every account, active and revoked, by name.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        self.store().accounts()
    }

    /// Adds `account`, durably; refused if an account of that name exists,
    /// active or revoked (a name stays tied to what its account entered).
    pub fn add_account(&mut self, account: &Account) -> Result<()> {
        check_name(&account.name)?;
        if let Some(old) = self
            .accounts()?
            .into_iter()
            .find(|a| a.name == account.name)
        {
            let status = if old.is_active() { "" } else { " (revoked)" };
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("there is already an account {}{status}", account.name),
            )
            .with_hint(
                "choose another name: a name stays tied to what its account entered, even once revoked",
            ));
        }
        self.store_mut().put_account(account)
    }

    /// Revokes the account `name` at `at`, durably, and returns it as
    /// stored; refused if there is no such account or it is revoked already.
    pub fn revoke_account(&mut self, name: &str, at: Time) -> Result<Account> {
        let Some(mut account) = self.accounts()?.into_iter().find(|a| a.name == name) else {
            return Err(Error::not_found(format!("there is no account {name}")));
        };
        account.revoke(at)?;
        self.store_mut().put_account(&account)?;
        Ok(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::t;
    use crate::MemStore;

    /// A predictable "random" source for the tests.
    struct Counter(u8);

    impl rand_core::RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                *b = self.0;
                self.0 = self.0.wrapping_add(1);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl rand_core::CryptoRng for Counter {}

    fn account(name: &str, role: Role, token: &str) -> Account {
        Account::new(name, role, token, t("2026-01-01T00:00:00Z")).unwrap()
    }

    #[test]
    fn roles_parse_as_they_are_written() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(r.to_string(), r.as_str());
        }
        for bad in ["", "Reader", "ADMIN", "root", " writer", "writer "] {
            assert_eq!(Role::parse(bad), None, "{bad:?}");
            let e = bad.parse::<Role>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn each_role_allows_what_the_one_before_does_and_more() {
        use Role::*;
        let allowed = |r: Role| {
            Role::ALL
                .into_iter()
                .filter(|&n| r.allows(n))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Reader), [Reader]);
        assert_eq!(allowed(Writer), [Reader, Writer]);
        assert_eq!(allowed(Admin), [Reader, Writer, Admin]);
        assert!(Reader.can_read() && !Reader.can_append() && !Reader.can_manage_accounts());
        assert!(Writer.can_read() && Writer.can_append() && !Writer.can_manage_accounts());
        assert!(Admin.can_read() && Admin.can_append() && Admin.can_manage_accounts());
    }

    #[test]
    fn names_follow_the_rule() {
        let longest = "a".repeat(64);
        for good in [
            "a",
            "0",
            "alice",
            "night-desk.2",
            "j_smith",
            "9lives",
            &longest,
        ] {
            check_name(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
        }
        let too_long = "a".repeat(65);
        for (bad, says) in [
            ("", "cannot be empty"),
            (too_long.as_str(), "65 characters is too long (at most 64)"),
            ("-x", "starts with `-`"),
            (".x", "starts with `.`"),
            ("_x", "starts with `_`"),
            ("Alice", "holds `A`"),
            ("al ice", "holds ` `"),
            ("al/ice", "holds `/`"),
            ("åse", "holds `å`"),
            ("a\nb", "holds `\n`"),
        ] {
            let e = check_name(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.message().contains(says), "{bad:?}: {}", e.message());
            assert!(!e.message().contains(';'), "one sentence: {}", e.message());
            assert!(e.hint().is_some(), "{bad:?} has a hint");
        }
        let e = check_name("Alice").unwrap_err();
        assert_eq!(
            e.hint(),
            Some(&crate::error::Hint::Say(
                "account names are lowercase: `alice`".into()
            ))
        );
        let e = check_name("a b").unwrap_err();
        assert_eq!(e.hint(), Some(&crate::error::Hint::Say(NAME_RULE.into())));
    }

    #[test]
    fn a_token_hash_is_the_sha256_of_its_bytes() {
        assert_eq!(
            hex::encode(token_hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn tokens_are_the_prefix_and_64_hex_digits_of_the_callers_randomness() {
        let token = new_token(&mut Counter(0));
        assert_eq!(
            token,
            "claims_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        );
        assert_eq!(token, token_from_bytes(&std::array::from_fn(|i| i as u8)));
        let mut rng = Counter(7);
        assert_ne!(new_token(&mut rng), new_token(&mut rng));
    }

    #[test]
    fn an_account_keeps_the_hash_of_its_token_not_the_token() {
        let a = account("alice", Role::Writer, "claims_secret");
        assert_eq!(a.token_hash, token_hash("claims_secret"));
        assert!(a.is_active());
        assert!(!format!("{a:?}").contains("claims_secret"));
        let json = a.to_json();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "alice",
                "role": "writer",
                "created_at": "2026-01-01T00:00:00Z",
                "revoked_at": null,
            })
        );
        assert_eq!(
            Account::new("Alice", Role::Reader, "x", a.created_at)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        assert!(Account::new("bob", Role::Reader, "", a.created_at).is_err());
    }

    #[test]
    fn authenticate_finds_the_active_account_of_a_token() {
        let mut accounts = vec![
            account("alice", Role::Writer, "claims_a"),
            account("bob", Role::Reader, "claims_b"),
            account("carol", Role::Admin, "claims_c"),
        ];
        assert_eq!(authenticate(&accounts, "claims_b").unwrap().name, "bob");
        assert_eq!(authenticate(&accounts, "claims_c").unwrap().name, "carol");
        assert_eq!(authenticate(&accounts, "claims_a").unwrap().name, "alice");
        for wrong in ["", "claims_", "claims_d", "claims_a ", "CLAIMS_A"] {
            assert!(authenticate(&accounts, wrong).is_none(), "{wrong:?}");
        }
        assert!(authenticate(&[], "claims_a").is_none());
        accounts[1].revoke(t("2026-01-02T00:00:00Z")).unwrap();
        assert!(authenticate(&accounts, "claims_b").is_none());
        assert_eq!(authenticate(&accounts, "claims_c").unwrap().name, "carol");
    }

    #[test]
    fn an_account_is_revoked_once() {
        let mut a = account("alice", Role::Writer, "claims_a");
        a.revoke(t("2026-01-02T00:00:00Z")).unwrap();
        assert_eq!(a.revoked_at, Some(t("2026-01-02T00:00:00Z")));
        assert_eq!(a.to_json()["revoked_at"], "2026-01-02T00:00:00Z");
        let e = a.revoke(t("2026-01-03T00:00:00Z")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.message(), "the account alice is revoked already");
        assert_eq!(a.revoked_at, Some(t("2026-01-02T00:00:00Z")));
        // A clock that went back does not revoke it before it was made.
        let mut b = account("bob", Role::Reader, "claims_b");
        b.revoke(t("2025-01-01T00:00:00Z")).unwrap();
        assert_eq!(b.revoked_at, Some(b.created_at));
    }

    #[test]
    fn a_ledger_adds_each_name_once_and_revokes_what_it_has() {
        let mut l = Ledger::new(MemStore::new());
        assert!(l.accounts().unwrap().is_empty());
        l.add_account(&account("bob", Role::Reader, "claims_b"))
            .unwrap();
        l.add_account(&account("alice", Role::Admin, "claims_a"))
            .unwrap();
        let names = |l: &Ledger<MemStore>| {
            l.accounts()
                .unwrap()
                .into_iter()
                .map(|a| a.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&l), ["alice", "bob"]);

        let e = l
            .add_account(&account("bob", Role::Admin, "claims_x"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.message(), "there is already an account bob");

        let revoked = l.revoke_account("bob", t("2026-02-01T00:00:00Z")).unwrap();
        assert_eq!(revoked.revoked_at, Some(t("2026-02-01T00:00:00Z")));
        assert_eq!(l.accounts().unwrap()[1], revoked);

        let e = l
            .revoke_account("bob", t("2026-03-01T00:00:00Z"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let e = l
            .add_account(&account("bob", Role::Admin, "claims_x"))
            .unwrap_err();
        assert_eq!(e.message(), "there is already an account bob (revoked)");
        let e = l
            .revoke_account("carol", t("2026-03-01T00:00:00Z"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "there is no account carol");
        assert_eq!(l.accounts().unwrap()[1], revoked);
        assert_eq!(l.store().head().seq, 0, "accounts are not in the log");
    }
}
