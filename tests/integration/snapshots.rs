//! Snapshots (insta) of what people read: `--help` of every command, the
//! error line of representative refusals, and the seed story's tables. A
//! change to any of them shows as a readable diff; accept a deliberate one
//! with `INSTA_UPDATE=always cargo test --test integration snapshots` (or
//! `cargo insta review`) and commit the `.snap` files.
//!
//! Every command runs with `CLAIMS_SERVER=off` (no ledger server in between)
//! and a piped stdout (no terminal, so no pager and rows written whole);
//! zones are given with `--tz` and query times with `--at`/`--as-of`.
//! Volatile parts (temporary paths, the clock, hashes over recorded times)
//! are replaced by filters.

use claims_store_sled::{OpenOptions, SledStore, FORMAT_VERSION};
use serde_json::json;

use crate::harness::*;

/// `claims --db <ledger> LINE` opening the ledger itself.
fn run(l: &Ledger, line: &str) -> Run {
    l.sh(line).env("CLAIMS_SERVER", "off")
}

/// A ledger holding the seed story, appended without a ledger server.
fn seeded() -> Ledger {
    let l = Ledger::empty();
    let out = run(&l, &format!("append {SEED}")).output();
    out.expect_eq(
        "stdout",
        out.stdout.as_str(),
        "appended 27 events (seq 1..27)\n",
    );
    l
}

/// The ledger opened in this process (a ledger server, if any, lets go).
fn open_store(l: &Ledger) -> SledStore {
    let options = OpenOptions {
        create: false,
        ..open_options()
    };
    SledStore::open(l.db(), &options).expect("the ledger opens")
}

/// Stdout (or, for a refusal, the stderr line) with the volatile parts named.
fn settings(l: &Ledger) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    let dir = regex_escape(&l.dir.path().display().to_string());
    s.add_filter(&dir, "[TMP]");
    // Recorded times: the clock of the run.
    s.add_filter(r"20[2-9]\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", "[RECORDED]");
    s.add_filter(r"20[2-9]\d-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC", "[NOW]");
    // Entry hashes cover the recorded time.
    s.add_filter(r"\b[0-9a-f]{64}\b", "[HASH]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

const COMMANDS: &[&str] = &[
    "assert",
    "corroborate",
    "dispute",
    "refute",
    "retract",
    "void",
    "append",
    "export",
    "import",
    "state",
    "show",
    "audit",
    "diff",
    "log",
    "stories",
    "verify",
    "key generate",
    "checkpoint",
    "prove",
    "proof check",
    "publish",
    "timeline",
    "claimreview",
    "serve",
    "completions",
];

#[test]
fn help_of_every_command() {
    let l = Ledger::empty();
    let _g = settings(&l).bind_to_scope();
    insta::assert_snapshot!("help", l.bare("--help").ok());
    for c in COMMANDS {
        insta::assert_snapshot!(
            format!("help-{}", c.replace(' ', "-")),
            l.bare(&format!("{c} --help")).ok()
        );
    }
}

#[test]
fn error_lines() {
    let l = seeded();
    let _g = settings(&l).bind_to_scope();
    let bad = l.write(
        "bad.ndjson",
        "{\"id\":\"7e570000-0000-4000-8000-000000000001\",\"kind\":\"rumoured\"}\n",
    );
    let cases: &[(&str, String)] = &[
        (
            "unknown-claim",
            "dispute 00000000 --by X --at 2020-07-11".into(),
        ),
        ("short-prefix", "show 854a".into()),
        ("unknown-kind", format!("append {bad}")),
        ("bad-time", "state --at yesterday".into()),
        ("interval-query", "state --at 2020-07-10/2020-07-11".into()),
        ("bad-zone", "--tz Mars/Olympus state".into()),
        (
            "blank-by",
            "assert --story s --by ' ' --text T --at 2020-07-10".into(),
        ),
        (
            "backwards-interval",
            "assert --story s --by A --text T --at 2020-07-11/2020-07-10".into(),
        ),
        ("unknown-story", "state --story nope".into()),
        ("void-unknown", "void 0000000000 --reason oops".into()),
        ("import-not-an-export", format!("import {SEED}")),
        ("timeline-name", "timeline -o pic.png".into()),
        ("missing-file", "append nowhere.ndjson".into()),
    ];
    for (name, line) in cases {
        let out = run(&l, line).output();
        out.expect_error_line(&[]);
        insta::assert_snapshot!(format!("error-{name}"), out.stderr.trim_end());
    }
    // A usage error is clap's, with exit 2.
    let out = run(&l, "state --bogus").output();
    out.expect_code(2);
    insta::assert_snapshot!("error-usage", out.stderr.trim_end());
}

/// The error line of `line` run on `l`, which must be a refusal (exit 1, one
/// `error:` line), as the snapshot `error-NAME`.
fn refusal_snapshot(l: &Ledger, name: &str, run: Run) {
    let out = run.output();
    out.expect_error_line(&[]);
    let _g = settings(l).bind_to_scope();
    insta::assert_snapshot!(format!("error-{name}"), out.stderr.trim_end());
}

#[test]
fn error_line_of_a_read_without_a_ledger() {
    let l = Ledger::empty();
    refusal_snapshot(&l, "no-ledger", run(&l, "state"));
}

#[test]
fn error_line_of_an_ambiguous_prefix() {
    let l = seeded();
    let claim = |event: u128, claim: &str| {
        json!({"id": id(event), "kind": "asserted", "claim": claim, "story": "s",
               "by": "Tester", "text": "A new claim.", "valid": {"from": "2020-07-11T00:00:00Z"}})
    };
    let lines = lines_of(&[
        claim(1, "abcdef01-0000-4000-8000-000000000001"),
        claim(2, "abcdef01-0000-4000-8000-000000000002"),
    ]);
    let file = l.write("two.ndjson", lines);
    run(&l, &format!("append {file}")).ok();
    refusal_snapshot(&l, "ambiguous-prefix", run(&l, "show abcdef01"));
}

#[test]
fn error_line_of_an_import_the_ledger_is_not_a_prefix_of() {
    let export = seeded().export();
    let l = Ledger::empty();
    run(&l, "assert --story s --by B --text T --at 2020-07-12").ok();
    let file = l.write("export.ndjson", export);
    refusal_snapshot(
        &l,
        "import-not-a-prefix",
        run(&l, &format!("import {file}")),
    );
}

#[test]
fn error_line_of_a_newer_format_version() {
    let l = seeded();
    open_store(&l).raw_set_format(FORMAT_VERSION + 1).unwrap();
    let out = run(&l, "state").output();
    out.expect_error_line(&["newer"]);
    // The version numbers are the build's: name them.
    let mut s = settings(&l);
    s.add_filter(&format!(r"\b{}\b", FORMAT_VERSION + 1), "[NEWER]");
    s.add_filter(&format!(r"\b{FORMAT_VERSION}\b"), "[FORMAT_VERSION]");
    let _g = s.bind_to_scope();
    insta::assert_snapshot!("error-newer-format", out.stderr.trim_end());
}

#[test]
fn error_line_of_a_ledger_in_use() {
    let l = seeded();
    let holder = open_store(&l);
    let out = run(&l, "state").env("CLAIMS_LOCK_WAIT", "0.2").output();
    drop(holder);
    out.expect_error_line(&["in use"]);
    let _g = settings(&l).bind_to_scope();
    insta::assert_snapshot!("error-ledger-in-use", out.stderr.trim_end());
}

#[test]
fn error_line_of_a_verify_failure_names_the_seq() {
    let l = seeded();
    {
        let store = open_store(&l);
        let raw = store.raw_log_get(5).unwrap().expect("seq 5");
        assert_eq!(raw[0], claims_core::record::ENCODING_JSON);
        let mut v: serde_json::Value = serde_json::from_slice(&raw[1..]).unwrap();
        v["text"] = json!("Something the source never said.");
        let mut edited = vec![claims_core::record::ENCODING_JSON];
        edited.extend(serde_json::to_vec(&v).unwrap());
        store.raw_log_put(5, &edited).unwrap();
    }
    refusal_snapshot(&l, "verify-seq", run(&l, "verify"));
}

#[test]
fn seed_story_tables() {
    let l = seeded();
    let _g = settings(&l).bind_to_scope();
    let at = "--as-of 2099-01-01";
    for (name, line) in [
        (
            "state-at-15-new-york",
            format!("--tz America/New_York state --story {STORY} --at 2020-07-10T15:00 {at}"),
        ),
        (
            "state-at-publication",
            format!("--tz Europe/Oslo state --story {STORY} --at 2020-07-10T21:06 {at}"),
        ),
        (
            "state-after-update",
            format!("--tz Europe/Oslo state --at 2020-07-12 {at}"),
        ),
        (
            "audit",
            format!("--tz Europe/Oslo audit --story {STORY} {at}"),
        ),
        (
            "show-email",
            format!("--tz Europe/Oslo show {EMAIL_CLAIM} --at 2020-07-12 {at}"),
        ),
        (
            "diff",
            format!("--tz Europe/Oslo diff 2020-07-10T12:00 2020-07-11 {at}"),
        ),
        ("stories", "stories".to_string()),
        ("log", "log --since 20".to_string()),
    ] {
        insta::assert_snapshot!(name, run(&l, &line).ok());
    }
}
