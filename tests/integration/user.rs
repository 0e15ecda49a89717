//! `claims user add|list|revoke`: the newsroom server's accounts, end to
//! end through the real binary (directly, and through the ledger server
//! that the first command starts). A token is printed once and never
//! stored; refusals are one sentence, exit 1, and change nothing.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{assert_keys, Ledger, Out};

/// The token `user add` printed: `claims_` and 64 lowercase hex digits,
/// alone on one line, with one line on stderr saying it is shown once.
#[track_caller]
fn token_of(out: &Out) -> String {
    out.expect_code(0);
    let line = out
        .stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| out.fail("expected the token on one line"));
    let hex = line
        .strip_prefix("claims_")
        .unwrap_or_else(|| out.fail("expected the token to start with claims_"));
    if line.contains('\n')
        || hex.len() != 64
        || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        out.fail("expected `claims_` and 64 lowercase hex digits");
    }
    let note: Vec<&str> = out.stderr.lines().collect();
    if note.len() != 1 || !note[0].contains("shown only this once") {
        out.fail("expected one line on stderr saying the token is shown only this once");
    }
    line.to_string()
}

#[track_caller]
fn add(l: &Ledger, name: &str, role: &str) -> String {
    token_of(&l.sh(&format!("user add {name} --role {role}")).output())
}

#[track_caller]
fn list_json(l: &Ledger) -> Value {
    l.sh("user list --json").output().json()
}

/// Every byte of every file under `dir`.
fn files_of(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)
        .expect("the ledger directory")
        .flatten()
    {
        let ty = e.file_type().expect("a file type");
        if ty.is_dir() {
            out.extend(files_of(&e.path()));
        } else if ty.is_file() {
            if let Ok(bytes) = std::fs::read(e.path()) {
                out.push((e.path(), bytes));
            }
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn accounts_are_added_listed_and_revoked() {
    let l = Ledger::empty();
    l.sh("user list")
        .output()
        .expect_error_line(&["there is no ledger"]);

    let alice = add(&l, "alice", "writer");
    // The second runs through the ledger server the first one started:
    // the token still reaches this terminal's stdout.
    let bob = add(&l, "bob", "admin");
    let carol = add(&l, "night-desk.2", "reader");
    assert!(alice != bob && bob != carol && alice != carol);

    let table = l.sh("user list").ok();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|r| r.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["name", "role", "created", "status"], "{table}");
    assert_eq!(rows.len(), 5, "header, rule, three accounts:\n{table}");
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{table}"))
    };
    assert_eq!(row("alice")[1], "writer");
    assert_eq!(row("bob")[1], "admin");
    assert_eq!(row("night-desk.2")[1], "reader");
    for name in ["alice", "bob", "night-desk.2"] {
        assert_eq!(row(name).last(), Some(&"active"), "{table}");
    }

    let out = l.sh("user revoke alice").output();
    out.expect_code(0);
    out.expect_stdout_contains(&["revoked alice (writer) at "]);
    let table = l.sh("user list").ok();
    let alice_row = table.lines().find(|r| r.starts_with("alice")).unwrap();
    assert!(alice_row.contains("revoked 20"), "{table}");
    let bob_row = table.lines().find(|r| r.starts_with("bob")).unwrap();
    assert!(bob_row.ends_with("active"), "{table}");

    // Never a token or a hash in the listing.
    let json = l.sh("user list --json").ok();
    for token in [&alice, &bob, &carol] {
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        for shown in [&table, &json] {
            assert!(!shown.contains(token.as_str()) && !shown.contains(&hash));
            assert!(!shown.contains(&token["claims_".len()..]));
        }
    }
}

#[test]
fn the_list_in_json_is_name_role_created_and_revoked() {
    assert_eq!(list_json(&Ledger::seeded()), Value::Array(vec![]));
    let l = Ledger::empty();
    add(&l, "zoe", "reader");
    add(&l, "adam", "admin");
    l.sh("user revoke zoe").ok();
    let v = list_json(&l);
    let rows = v.as_array().expect("an array");
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_keys(
            r,
            &["name", "role", "created_at", "revoked_at"],
            "an account",
        );
        let created = r["created_at"].as_str().expect("created_at is a string");
        assert!(created.ends_with('Z'), "in UTC: {created}");
        claims_core::time::parse_rfc3339(created).expect("RFC 3339");
    }
    assert_eq!(rows[0]["name"], "adam", "in name order");
    assert_eq!(rows[0]["role"], "admin");
    assert_eq!(rows[0]["revoked_at"], Value::Null);
    assert_eq!(rows[1]["name"], "zoe");
    assert_eq!(rows[1]["role"], "reader");
    let revoked = rows[1]["revoked_at"]
        .as_str()
        .expect("revoked_at is a time");
    let revoked = claims_core::time::parse_rfc3339(revoked).unwrap();
    let created = claims_core::time::parse_rfc3339(rows[1]["created_at"].as_str().unwrap());
    assert!(revoked >= created.unwrap());
    // --tz changes the table, never the JSON.
    let oslo = l.sh("user list --json --tz Europe/Oslo").output().json();
    assert_eq!(oslo, v);
}

#[test]
fn the_token_is_never_stored() {
    let l = Ledger::seeded();
    let token = add(&l, "alice", "writer");
    let raw = hex::decode(&token["claims_".len()..]).unwrap();
    let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let files = files_of(&l.db());
    assert!(!files.is_empty());
    for (path, bytes) in &files {
        for (what, needle) in [
            ("the token", token.as_bytes()),
            (
                "the token's hex digits",
                &token.as_bytes()["claims_".len()..],
            ),
            ("the token's random bytes", raw.as_slice()),
        ] {
            assert!(!holds(bytes, needle), "{} holds {what}", path.display());
        }
    }
    assert!(
        files.iter().any(|(_, b)| holds(b, &hash)),
        "the token's hash is what is kept"
    );
}

#[test]
fn accounts_are_not_entries() {
    let l = Ledger::seeded();
    let before = l.export();
    add(&l, "alice", "writer");
    l.sh("user revoke alice").ok();
    add(&l, "bob", "reader");
    assert_eq!(l.export(), before, "export carries no account");
    l.sh("verify").output().expect_code(0);
}

#[test]
fn refusals_are_one_sentence_and_change_nothing() {
    let l = Ledger::empty();
    add(&l, "alice", "writer");
    add(&l, "bob", "reader");
    l.sh("user revoke bob").ok();
    let before = list_json(&l);
    let unchanged = |out: &Out| {
        let after = list_json(&l);
        out.expect_eq("the accounts after a refusal", &after, &before);
    };

    for (line, needles) in [
        (
            "user add alice --role admin",
            &["there is already an account alice", "choose another name"][..],
        ),
        (
            "user add bob --role writer",
            &["there is already an account bob (revoked)"],
        ),
        (
            "user add Alice --role writer",
            &["`Alice` holds `A`", "lowercase: `alice`"],
        ),
        ("user add --role writer -- -x", &["starts with `-`"]),
        ("user add a/b --role writer", &["holds `/`"]),
        ("user add '' --role writer", &["cannot be empty"]),
        (
            "user revoke carol",
            &["there is no account carol", "claims user list"],
        ),
        ("user revoke bob", &["the account bob is revoked already"]),
    ] {
        let out = l.sh(line).output();
        out.expect_error_line(needles);
        unchanged(&out);
    }
    let long = "a".repeat(65);
    let out = l.sh(&format!("user add {long} --role reader")).output();
    out.expect_error_line(&["65 characters is too long (at most 64)"]);
    unchanged(&out);

    // Usage errors are clap's: exit 2.
    for line in [
        "user add carol --role root",
        "user add carol",
        "user add --role reader",
        "user revoke",
        "user",
    ] {
        let out = l.sh(line).output();
        out.expect_code(2);
        unchanged(&out);
    }
}

#[test]
fn a_refused_command_leaves_no_ledger_behind() {
    let l = Ledger::empty();
    for line in [
        "user revoke alice",
        "user add Alice --role writer",
        "user add alice --role root",
    ] {
        let out = l.sh(line).output();
        assert!(
            out.code == Some(1) || out.code == Some(2),
            "{}",
            out.context()
        );
        assert!(!l.db().exists(), "{line} left a ledger behind");
    }
    // `user add` creates one.
    add(&l, "alice", "admin");
    assert!(l.db().exists());
}

#[test]
fn without_the_ledger_server_too() {
    let l = Ledger::empty();
    let off = |line: &str| l.sh(line).env("CLAIMS_SERVER", "off");
    let token = token_of(&off("user add alice --role writer").output());
    let again = token_of(&off("user add bob --role writer").output());
    assert_ne!(token, again);
    off("user revoke bob").ok();
    off("user revoke bob")
        .output()
        .expect_error_line(&["revoked already"]);
    let v: Value = serde_json::from_str(&off("user list --json").ok()).unwrap();
    assert_eq!(v[0]["revoked_at"], Value::Null);
    assert!(v[1]["revoked_at"].is_string());
}
