//! Snapshots (insta) of what people read: `--help` of every command, the
//! error line of representative refusals, and the seed story's tables. A
//! change to any of them shows as a readable diff; accept a deliberate one
//! with `INSTA_UPDATE=always cargo test --test integration snapshots` (or
//! `cargo insta review`) and commit the `.snap` files.
//!
//! Volatile parts (temporary paths, the clock) are replaced by filters.

use crate::harness::*;

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
    "timeline",
    "serve",
    "completions",
];

#[test]
fn help_of_every_command() {
    let l = Ledger::empty();
    let _g = settings(&l).bind_to_scope();
    insta::assert_snapshot!("help", l.bare("--help").ok());
    for c in COMMANDS {
        insta::assert_snapshot!(format!("help-{c}"), l.bare(&format!("{c} --help")).ok());
    }
}

#[test]
fn error_lines() {
    let l = Ledger::seeded();
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
        let out = l.sh(line).output();
        out.expect_code(1);
        insta::assert_snapshot!(format!("error-{name}"), out.stderr.trim_end());
    }
    let empty = Ledger::empty();
    let out = empty.sh("state").output();
    out.expect_code(1);
    let _g2 = settings(&empty).bind_to_scope();
    insta::assert_snapshot!("error-no-ledger", out.stderr.trim_end());
    // A usage error is clap's, with exit 2.
    let out = l.sh("state --bogus").output();
    out.expect_code(2);
    insta::assert_snapshot!("error-usage", out.stderr.trim_end());
}

#[test]
fn seed_story_tables() {
    let l = Ledger::seeded();
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
        insta::assert_snapshot!(name, l.sh(&line).ok());
    }
}
