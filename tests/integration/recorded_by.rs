//! `recorded_by`: the server account that entered an entry, as `audit`,
//! `show` and `log` show it (human and `--json`), locally, through the
//! ledger server and against `claims serve`. The command line cannot append
//! with a `recorded_by`, so the ledgers here are `claims import`s of exports
//! built in the test: the seed story sealed with `Record::seal_as` (real
//! hashes), some entries entered by `alice` or `bob`, the others by no one.
//! The same ledger without any `recorded_by` prints what it always has (the
//! snapshots hold that); here each output of the named ledger is compared
//! with the plain one's.

use claims_core::record::{Record, GENESIS};
use claims_core::time::parse_rfc3339;
use serde_json::Value;

use crate::harness::*;
use crate::server::Served;

/// Who entered seq `n` of the built ledger: of the e-mail claim's entries
/// (6, 11, 16), 6 by alice, 11 by no one, 16 by bob.
fn name_of(seq: u64) -> Option<&'static str> {
    match seq % 3 {
        0 => Some("alice"),
        1 => Some("bob"),
        _ => None,
    }
}

/// The seed story as an export, every entry recorded at one time, entered
/// by `names(seq)`.
fn export_of(names: impl Fn(u64) -> Option<&'static str>) -> String {
    let at = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let mut prev = GENESIS;
    let mut out = String::new();
    for (i, event) in seed_events().into_iter().enumerate() {
        let seq = i as u64 + 1;
        let r = Record::seal_as(event, seq, at, names(seq), &prev);
        prev = r.hash;
        out.push_str(&r.to_line());
        out.push('\n');
    }
    out
}

/// A ledger imported from `export`.
fn imported(export: &str) -> Ledger {
    let l = Ledger::empty();
    l.import(export).ok();
    l
}

const VIEW: &str = "--tz UTC --at 2020-07-12T23:59:59Z --as-of 2099-01-01T00:00:00Z";

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// `with` is `without` plus `"recorded_by"` right after `recorded_at` when
/// the entry `seq` has a name (the hash, which covers it, aside).
fn assert_same_but_recorded_by(with: &Value, without: &Value, what: &str) {
    let seq = with["seq"].as_u64().expect("a seq");
    let mut expected = serde_json::Map::new();
    for (k, v) in without.as_object().expect("an object") {
        expected.insert(k.clone(), v.clone());
        if k == "recorded_at" {
            if let Some(name) = name_of(seq) {
                expected.insert("recorded_by".into(), name.into());
            }
        }
    }
    let mut got = with.as_object().expect("an object").clone();
    if got.contains_key("hash") {
        got.insert("hash".into(), Value::Null);
        expected.insert("hash".into(), Value::Null);
    }
    let (got, expected) = (Value::Object(got), Value::Object(expected));
    assert_eq!(keys(&got), keys(&expected), "{what}: keys of seq {seq}");
    assert_eq!(got, expected, "{what}: seq {seq}");
}

#[test]
fn an_import_keeps_recorded_by_and_its_hashes() {
    let export = export_of(name_of);
    let l = imported(&export);
    // Exported again byte for byte: the same names, the same hashes.
    assert_same_text("export", l.export(), &export);
    l.sh("verify").ok();
    let first = &ndjson(&export)[0];
    assert_eq!(
        keys(first)[..3],
        ["seq", "recorded_at", "recorded_by"],
        "after recorded_at in the export form"
    );
    assert_eq!(first["recorded_by"], "bob");
    // An entry that names no one has no such key, not a null.
    assert!(!ndjson(&export)[1]
        .as_object()
        .unwrap()
        .contains_key("recorded_by"));
}

#[test]
fn log_says_who_entered_each_entry_and_only_then() {
    let named = imported(&export_of(name_of));
    let plain = imported(&export_of(|_| None));
    let with = named.sh("log").ok();
    let without = plain.sh("log").ok();
    assert!(!without.contains("entered by"), "{without}");
    let (with, without): (Vec<&str>, Vec<&str>) =
        (with.lines().collect(), without.lines().collect());
    assert_eq!(with.len(), SEED_EVENTS);
    for (i, (w, p)) in with.iter().zip(&without).enumerate() {
        let expected = match name_of(i as u64 + 1) {
            Some(name) => format!("{p}  (entered by {name})"),
            None => p.to_string(),
        };
        assert_eq!(*w, expected, "seq {}", i + 1);
    }
    let with: Value = serde_json::from_str(&named.sh("log --json").ok()).unwrap();
    let without: Value = serde_json::from_str(&plain.sh("log --json").ok()).unwrap();
    for (w, p) in with
        .as_array()
        .unwrap()
        .iter()
        .zip(without.as_array().unwrap())
    {
        assert_same_but_recorded_by(w, p, "log --json");
    }
}

#[test]
fn audit_says_who_entered_each_change_and_only_then() {
    let named = imported(&export_of(name_of));
    let plain = imported(&export_of(|_| None));
    let line = format!("audit {VIEW} --json");
    let with: Value = serde_json::from_str(&named.sh(&line).ok()).unwrap();
    let without: Value = serde_json::from_str(&plain.sh(&line).ok()).unwrap();
    let (with, without) = (with.as_array().unwrap(), without.as_array().unwrap());
    assert_eq!(with.len(), without.len());
    assert!(with.iter().any(|r| r.get("recorded_by").is_some()));
    for (w, p) in with.iter().zip(without) {
        assert_eq!(
            keys(p),
            [
                "seq",
                "event",
                "claim",
                "kind",
                "by",
                "valid",
                "recorded_at",
                "from",
                "to"
            ],
            "SPEC's row, unchanged"
        );
        assert_same_but_recorded_by(w, p, "audit --json");
    }

    // The table: in the `by / via` cell, after who said it.
    let line = format!("audit {VIEW}");
    let table = named.sh(&line).ok();
    assert_eq!(table.lines().count(), 2 + with.len(), "{table}");
    let row = |seq: u64| {
        table
            .lines()
            .find(|l| l.contains(&format!(" (seq {seq})")))
            .unwrap_or_else(|| panic!("no row of seq {seq}: {table}"))
            .trim_end()
            .to_string()
    };
    assert!(
        row(6).ends_with("Amazon via Reuters; entered by alice"),
        "{table}"
    );
    assert!(
        row(2).ends_with("Mike Pompeo via Fox News ← Bloomberg"),
        "seq 2 names no one: {table}"
    );
    assert!(
        row(16).ends_with("Amazon spokesperson via Wall Street Journal; entered by bob"),
        "{table}"
    );
    assert!(!plain.sh(&line).ok().contains("entered by"));
}

#[test]
fn show_says_who_entered_each_event_and_only_then() {
    let named = imported(&export_of(name_of));
    let plain = imported(&export_of(|_| None));
    let line = format!("show {} {VIEW}", &EMAIL_CLAIM[..8]);
    let text = named.sh(&line).ok();
    let row = |seq: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{seq} ")))
            .unwrap_or_else(|| panic!("no row {seq}: {text}"))
            .to_string()
    };
    assert!(row("6").contains("entered by alice; via Reuters"), "{text}");
    assert!(!row("11").contains("entered by"), "{text}");
    assert!(
        row("16").contains("entered by bob; via Wall Street Journal; reason: "),
        "{text}"
    );
    assert!(!plain.sh(&line).ok().contains("entered by"));

    let line = format!("show {} {VIEW} --json", &EMAIL_CLAIM[..8]);
    let with: Value = serde_json::from_str(&named.sh(&line).ok()).unwrap();
    let without: Value = serde_json::from_str(&plain.sh(&line).ok()).unwrap();
    let (hw, hp) = (
        with["history"].as_array().unwrap(),
        without["history"].as_array().unwrap(),
    );
    assert_eq!(hw.len(), 3);
    for (w, p) in hw.iter().zip(hp) {
        assert_same_but_recorded_by(w, p, "show --json");
    }
    let mut rest_w = with.clone();
    let mut rest_p = without.clone();
    rest_w["history"] = Value::Null;
    rest_p["history"] = Value::Null;
    assert_eq!(rest_w, rest_p, "the state entry is the same");
}

#[test]
fn the_ledger_server_and_a_newsroom_server_show_recorded_by_as_a_local_command_does() {
    let named = imported(&export_of(name_of));
    let lines = [
        "log".to_string(),
        "log --json".to_string(),
        format!("audit {VIEW}"),
        format!("audit {VIEW} --json"),
        format!("audit --recorded {VIEW}"),
        format!("audit --claim {} {VIEW}", &EMAIL_CLAIM[..8]),
        format!("show {} {VIEW}", &EMAIL_CLAIM[..8]),
        format!("show {} {VIEW} --json", &EMAIL_CLAIM[..8]),
    ];
    let here: Vec<String> = lines
        .iter()
        .map(|line| named.sh(line).env("CLAIMS_SERVER", "off").ok())
        .collect();
    assert!(here[0].contains("(entered by alice)"));
    // Through the ledger server in the ledger directory.
    named.sh("log").env("CLAIMS_SERVER", "auto").ok();
    for (line, expected) in lines.iter().zip(&here) {
        let got = named.sh(line).env("CLAIMS_SERVER", "auto").ok();
        assert_same_text(&format!("{line} (ledger server)"), got, expected);
    }
    // Against `claims serve`, as a reader, on a copy that no ledger server
    // ever held.
    let served = Ledger::empty();
    let export = served.write("export.ndjson", export_of(name_of));
    let off = |line: &str| served.sh(line).env("CLAIMS_SERVER", "off");
    off(&format!("import {export}")).ok();
    let token = off("user add rita --role reader").ok().trim().to_string();
    let s = Served::start(&served, &[]);
    for (line, expected) in lines.iter().zip(&here) {
        let got = Run::new(served.dir.path())
            .args(["--db", &s.url])
            .env("CLAIMS_TOKEN", &token)
            .args(words(line))
            .ok();
        assert_same_text(&format!("{line} (claims serve)"), got, expected);
    }
}

#[test]
fn recorded_by_is_set_by_the_ledger_and_an_import_takes_only_a_name() {
    let l = Ledger::seeded();
    let mut event = new_claim(9001, 9002);
    event["recorded_by"] = "alice".into();
    l.refuses(
        l.append_lines(&[event]),
        &[
            "line 1",
            "field `recorded_by` is set by the ledger; only an import of an export takes it",
        ],
    );

    let export = export_of(name_of);
    for bad in [Value::from(""), Value::from(7), Value::Null] {
        let mut lines = ndjson(&export);
        lines[0]["recorded_by"] = bad.clone();
        let empty = Ledger::empty();
        let run = empty.import(lines_of(&lines));
        if bad.is_null() {
            // Null counts as absent: then the hash, which covered "bob", fails.
            run.output().expect_error_line(&["line 1", "field `hash`"]);
        } else {
            run.output().expect_error_line(&[
                "line 1",
                "field `recorded_by` must be the name of the account that entered the entry, a non-empty string",
            ]);
        }
        assert!(!empty.db().join("conf").exists() || empty.export().is_empty());
    }
    // Another name than the one hashed: the chain says so.
    let mut lines = ndjson(&export);
    lines[2]["recorded_by"] = "mallory".into();
    let other = Ledger::empty();
    other
        .import(lines_of(&lines))
        .output()
        .expect_error_line(&["line 3", "field `hash` does not match"]);
}
