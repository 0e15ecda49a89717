//! End-to-end tests of the `claims` binary against SPEC.md: every command's
//! happy path, every append refusal, export/import round trips, lock
//! contention, usage errors and "never panics".
//!
//! Each test runs the real executable in its own temporary directory. On a
//! mismatch the failure message shows the command, its exit code, stdout and
//! stderr. Command lines are written as one string (`l.sh("state --json")`);
//! '…' quotes an argument with spaces, and '' is an empty argument.

use crate::harness::*;
use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[test]
fn assert_prints_the_new_claim_id_and_records_an_asserted_event() {
    let l = Ledger::empty();
    let out = l
        .sh(
            "assert --story s1 --by Amazon --text 'Staff must delete TikTok' \
             --at 2020-07-10T09:00Z/2020-07-10T19:00Z --said 'i morges' --quote Q --lang nb \
             --translation T --via Reuters --via WSJ --source https://example.org",
        )
        .ok();
    let claim = assert_uuid_line(&out);
    let export = ndjson(&l.export());
    assert_eq!(export.len(), 1, "one entry expected: {export:#?}");
    let e = &export[0];
    assert_eq!(e["kind"], "asserted");
    assert_eq!(e["claim"], claim.as_str());
    assert_eq!(
        (&e["story"], &e["by"], &e["text"]),
        (
            &json!("s1"),
            &json!("Amazon"),
            &json!("Staff must delete TikTok")
        )
    );
    assert_eq!(
        (&e["quote"], &e["lang"], &e["translation"]),
        (&json!("Q"), &json!("nb"), &json!("T"))
    );
    assert_eq!(e["via"], json!(["Reuters", "WSJ"]));
    assert_eq!(e["source"], "https://example.org");
    let valid =
        json!({"from": "2020-07-10T09:00:00Z", "to": "2020-07-10T19:00:00Z", "text": "i morges"});
    assert_eq!(e["valid"], valid);
    let shown = l.sh(&format!("show {claim} --json")).output();
    shown.expect_eq("show's claim", &shown.json()["claim"], &json!(claim));
}

#[test]
fn assert_with_supersedes_marks_the_old_claim_superseded() {
    let l = Ledger::seeded();
    let prefix = &EMAIL_CLAIM[..8];
    let out = l.sh(&format!("assert --story {STORY} --by Amazon --text Corrected --at 2020-07-10T20:00Z --supersedes {prefix}")).ok();
    let new = assert_uuid_line(&out);
    let last = l.last_entry();
    assert_eq!(
        (&last["claim"], &last["supersedes"]),
        (&json!(new), &json!(EMAIL_CLAIM))
    );
    // The e-mail claim is retracted, which outranks superseded; the disputed
    // claim is not, so supersede that one too and look.
    l.sh(&format!("assert --story {STORY} --by X --text Y --at 2020-07-10T20:00Z --supersedes {DISPUTED_CLAIM}")).ok();
    let out = l.sh("state --at 2020-07-11 --json").output();
    out.expect_eq(
        "status",
        &claim_entry(&out.json(), DISPUTED_CLAIM)["status"],
        &json!("superseded"),
    );
}

fn followup_prints_the_event_id(command: &str, kind: &str) {
    let l = Ledger::seeded();
    let prefix = &EMAIL_CLAIM[..6];
    let out = l
        .sh(&format!(
            "{command} {prefix} --by Reuters --at 2020-07-11T12:00Z --said saturday \
                      --reason 'a reason' --via AP --source https://example.org"
        ))
        .ok();
    let event = assert_uuid_line(&out);
    let last = l.last_entry();
    assert_eq!(
        last["id"],
        event.as_str(),
        "the printed id is the event's id"
    );
    assert_eq!(last["kind"], kind);
    assert_eq!(last["claim"], EMAIL_CLAIM);
    assert_eq!(last["by"], "Reuters");
    assert_eq!(last["via"], json!(["AP"]));
    assert_eq!(
        last["valid"],
        json!({"from": "2020-07-11T12:00:00Z", "to": "2020-07-11T12:00:00Z", "text": "saturday"})
    );
    let why = if kind == "corroborated" {
        "note"
    } else {
        "reason"
    };
    assert_eq!(last[why], "a reason", "{last:#}");
}

#[test]
fn corroborate_prints_the_event_id_of_a_corroborated_event() {
    followup_prints_the_event_id("corroborate", "corroborated");
}

#[test]
fn dispute_prints_the_event_id_of_a_disputed_event() {
    followup_prints_the_event_id("dispute", "disputed");
}

#[test]
fn refute_prints_the_event_id_of_a_refuted_event() {
    followup_prints_the_event_id("refute", "refuted");
}

#[test]
fn retract_prints_the_event_id_of_a_retracted_event() {
    followup_prints_the_event_id("retract", "retracted");
}

#[test]
fn void_prints_the_void_id_and_the_voided_claim_leaves_the_state() {
    let l = Ledger::seeded();
    let void = assert_uuid_line(
        &l.sh(&format!(
            "void {EMAIL_ASSERTED} --reason 'entered in error'"
        ))
        .ok(),
    );
    let last = l.last_entry();
    assert_eq!(last["id"], void.as_str());
    assert_eq!(last["kind"], "voided");
    assert_eq!(last["target"], EMAIL_ASSERTED);
    assert_eq!(last["reason"], "entered in error");
    let out = l.sh("state --at 2020-07-11 --json").output();
    let claims = out.json()["claims"].as_array().unwrap().clone();
    out.expect_eq("claims in the state", claims.len(), SEED_CLAIMS - 1);
    if claims.iter().any(|c| c["claim"] == EMAIL_CLAIM) {
        out.fail("the voided claim is still in the state");
    }
}

#[test]
fn a_void_is_not_seen_as_of_a_recorded_time_before_it() {
    let l = Ledger::seeded();
    let seed_recorded = l.last_entry()["recorded_at"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(5));
    l.sh(&format!(
        "void {EMAIL_ASSERTED} --reason 'entered in error'"
    ))
    .ok();
    let then = l
        .sh(&format!(
            "state --at 2020-07-11 --as-of {seed_recorded} --json"
        ))
        .output();
    then.expect_eq(
        "status as known then",
        &claim_entry(&then.json(), EMAIL_CLAIM)["status"],
        &json!("retracted"),
    );
    let now = l
        .sh(&format!("show {EMAIL_CLAIM} --at 2020-07-11 --json"))
        .output();
    now.expect_eq("status as known now", &now.json()["status"], &Value::Null);
    let diff = l
        .sh(&format!(
            "diff --recorded {seed_recorded} now --at 2020-07-11 --json"
        ))
        .output();
    let changes = diff.json()["changes"].clone();
    let email = changes
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["claim"] == EMAIL_CLAIM)
        .unwrap_or_else(|| diff.fail("expected the voided claim in the recorded-time diff"))
        .clone();
    diff.expect_eq(
        "before → after",
        (&email["before"], &email["after"]),
        (&json!("retracted"), &Value::Null),
    );
}

#[test]
fn append_file_appends_every_line_of_the_seed_story() {
    let l = Ledger::empty();
    assert_eq!(
        l.sh(&format!("append {SEED}")).ok(),
        "appended 27 events (seq 1..27)\n"
    );
    assert_eq!(ndjson(&l.export()).len(), SEED_EVENTS);
}

#[test]
fn append_dash_reads_standard_input() {
    let l = Ledger::empty();
    let out = l.sh("append -").stdin(std::fs::read(SEED).unwrap()).ok();
    assert_eq!(out, "appended 27 events (seq 1..27)\n");
    assert_eq!(ndjson(&l.export()).len(), SEED_EVENTS);
}

#[test]
fn append_without_a_file_reads_standard_input() {
    let l = Ledger::empty();
    let out = l.sh("append").stdin(std::fs::read(SEED).unwrap()).ok();
    assert_eq!(out, "appended 27 events (seq 1..27)\n");
}

#[test]
fn append_skips_blank_lines_and_crlf_line_ends() {
    let l = Ledger::empty();
    let (a, b) = (new_claim(1, 2), new_claim(3, 4));
    let p = l.write("crlf.ndjson", format!("\r\n{a}\r\n   \r\n{b}\r\n"));
    assert_eq!(
        l.sh(&format!("append {p}")).ok(),
        "appended 2 events (seq 1..2)\n"
    );
}

#[test]
fn export_writes_one_line_per_entry_with_seq_recorded_at_and_hash() {
    let l = Ledger::seeded();
    let lines = ndjson(&l.export());
    assert_eq!(lines.len(), SEED_EVENTS);
    for (i, (line, original)) in lines.iter().zip(&seed_lines()).enumerate() {
        assert_eq!(line["seq"], json!(i + 1), "{line:#}");
        let hash = line["hash"].as_str().expect("hash");
        assert!(
            hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{line:#}"
        );
        let recorded = line["recorded_at"].as_str().expect("recorded_at");
        assert!(recorded.ends_with('Z'), "recorded_at in UTC: {recorded}");
        let mut stripped = line.clone();
        for k in ["seq", "hash", "recorded_at"] {
            stripped.as_object_mut().unwrap().remove(k);
        }
        assert_eq!(
            &stripped,
            original,
            "export line {} is the appended event",
            i + 1
        );
    }
}

#[test]
fn export_story_keeps_only_that_story_and_voids_of_its_entries() {
    let l = Ledger::seeded();
    l.append_lines(&[new_claim(1, 2), void_of(3, EMAIL_DISPUTED)])
        .ok();
    let seed_only = ndjson(&l.sh(&format!("export --story {STORY}")).ok());
    assert_eq!(
        seed_only.len(),
        SEED_EVENTS + 1,
        "the story's entries and the void of one"
    );
    assert_eq!(seed_only.last().unwrap()["target"], EMAIL_DISPUTED);
    let test_only = ndjson(&l.sh("export --story test-story").ok());
    assert_eq!(test_only.len(), 1);
    assert_eq!(test_only[0]["claim"], id(2));
}

#[test]
fn log_lists_every_entry_in_seq_order() {
    let l = Ledger::seeded();
    let out = l.sh("log").output();
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    out.expect_eq("lines", lines.len(), SEED_EVENTS);
    if !(lines[0].trim_start().starts_with("1 ") && lines[26].trim_start().starts_with("27 ")) {
        out.fail("expected seq 1 first and seq 27 last");
    }
    if !(lines[5].contains(EMAIL_ASSERTED) && lines[5].contains("asserted")) {
        out.fail("expected seq 6 to be the e-mail's assertion");
    }
    let since = l.sh("log --since 25").output();
    since.expect_code(0);
    since.expect_eq("lines after --since 25", since.stdout.lines().count(), 2);
    if !since.stdout.trim_start().starts_with("26 ") {
        since.fail("expected seq 26 first");
    }
}

#[test]
fn log_json_is_an_array_of_entries_in_the_export_form() {
    let l = Ledger::seeded();
    let out = l.sh("log --json").output();
    out.expect_eq("log --json", out.json(), Value::Array(ndjson(&l.export())));
    let empty = l.sh("log --json --since 27").output();
    empty.expect_eq("log --json --since 27", empty.json(), json!([]));
}

#[test]
fn stories_lists_the_seed_story_with_its_claim_and_event_counts() {
    let l = Ledger::seeded();
    let out = l.sh("stories").output();
    out.expect_code(0);
    let row = out
        .stdout
        .lines()
        .find(|r| r.contains(STORY))
        .unwrap_or_else(|| out.fail("no row for the seed story"));
    out.expect_eq(
        "row",
        row.split_whitespace().collect::<Vec<_>>(),
        vec![STORY, "20", "27"],
    );
    let json = l.sh("stories --json").output();
    json.expect_eq(
        "stories --json",
        json.json(),
        json!([{"story": STORY, "claims": 20, "events": 27}]),
    );
}

#[test]
fn verify_prints_the_event_count_and_head_hash() {
    let l = Ledger::seeded();
    let head = l.last_entry()["hash"].as_str().unwrap().to_string();
    assert_eq!(l.sh("verify").ok(), format!("ok: 27 events, head {head}\n"));
}

#[test]
fn completions_bash_prints_a_bash_completion_script() {
    let l = Ledger::empty();
    let out = l.bare("completions bash").output();
    out.expect_code(0)
        .expect_stdout_contains(&["_claims", "complete", "corroborate", "--db"]);
    assert!(
        !l.path("claims.db").exists(),
        "completions created a ledger"
    );
}

#[test]
fn state_table_names_each_status() {
    let l = Ledger::seeded();
    let out = l.sh("state --at 2020-07-11T00:00Z").output();
    out.expect_code(0).expect_stdout_contains(&[
        "reported",
        "corroborated",
        "disputed",
        "retracted",
        &EMAIL_CLAIM[..8],
    ]);
}

#[test]
fn state_json_has_the_spec_shape_and_the_seed_statuses() {
    let l = Ledger::seeded();
    let out = l
        .sh("state --at 2020-07-11T00:00Z --as-of 2100-01-01 --json")
        .output();
    let v = out.json();
    assert_keys(&v, &["at", "as_of", "claims", "pending"], "state");
    out.expect_eq("at", &v["at"], &json!("2020-07-11T00:00:00Z"));
    out.expect_eq(
        "as_of (a bare date is the end of the day)",
        &v["as_of"],
        &json!("2100-01-01T23:59:59.999999999Z"),
    );
    out.expect_eq("claims", v["claims"].as_array().unwrap().len(), SEED_CLAIMS);
    for c in v["claims"].as_array().unwrap() {
        assert_keys(
            c,
            &[
                "claim", "story", "by", "text", "status", "since", "events", "pending",
            ],
            "state claim",
        );
    }
    let email = claim_entry(&v, EMAIL_CLAIM);
    out.expect_eq("e-mail status", &email["status"], &json!("retracted"));
    out.expect_eq(
        "e-mail since",
        &email["since"],
        &json!("2020-07-10T22:05:00Z"),
    );
    out.expect_eq("e-mail events", &email["events"], &json!(3));
    out.expect_eq(
        "media claim",
        &claim_entry(&v, MEDIA_CLAIM)["status"],
        &json!("corroborated"),
    );
    out.expect_eq(
        "disputed claim",
        &claim_entry(&v, DISPUTED_CLAIM)["status"],
        &json!("disputed"),
    );
    out.expect_eq(
        "TikTok's claim",
        &claim_entry(&v, TIKTOK_CLAIM)["status"],
        &json!("reported"),
    );
}

#[test]
fn state_lists_events_that_only_possibly_happened_as_pending() {
    let l = Ledger::seeded();
    let out = l.sh("state --at 2020-07-10T20:00Z --json").output();
    let v = out.json();
    let email = claim_entry(&v, EMAIL_CLAIM);
    out.expect_eq("e-mail status", &email["status"], &json!("reported"));
    let pending: Vec<&str> = email["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    out.expect_eq(
        "the e-mail claim's pending events",
        pending,
        vec![EMAIL_DISPUTED, EMAIL_RETRACTED],
    );
    // TikTok's statement (09:00Z–22:05Z) possibly, not certainly, happened.
    let top = v["pending"].as_array().unwrap();
    if !top
        .iter()
        .any(|p| p == &json!(TIKTOK_CLAIM) || p["claim"] == TIKTOK_CLAIM)
    {
        out.fail(&format!(
            "expected {TIKTOK_CLAIM} in the top-level pending list"
        ));
    }
    if v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["claim"] == TIKTOK_CLAIM)
    {
        out.fail("a possibly-asserted claim must not count");
    }
}

#[test]
fn show_prints_the_claim_its_status_and_every_event() {
    let l = Ledger::seeded();
    let out = l
        .sh(&format!("show {} --at 2020-07-11", &EMAIL_CLAIM[..8]))
        .output();
    out.expect_code(0).expect_stdout_contains(&[
        EMAIL_CLAIM,
        "retracted",
        "disputed",
        "asserted",
        "spokesperson",
    ]);
}

#[test]
fn show_json_is_the_state_entry_plus_history() {
    let l = Ledger::seeded();
    let out = l
        .sh(&format!("show {EMAIL_CLAIM} --at 2020-07-11 --json"))
        .output();
    let v = out.json();
    let keys = [
        "claim", "story", "by", "text", "status", "since", "events", "pending", "history",
    ];
    assert_keys(&v, &keys, "show");
    out.expect_eq("status", &v["status"], &json!("retracted"));
    let ids: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    out.expect_eq(
        "history",
        ids,
        vec![EMAIL_ASSERTED, EMAIL_DISPUTED, EMAIL_RETRACTED],
    );
}

#[test]
fn audit_lists_status_changes_in_table_and_spec_json_shape() {
    let l = Ledger::seeded();
    let out = l.sh(&format!("audit --story {STORY}")).output();
    out.expect_code(0)
        .expect_stdout_contains(&["retracted", "disputed", "corroborated"]);
    let out = l
        .sh(&format!("audit --claim {} --json", &EMAIL_CLAIM[..6]))
        .output();
    let rows = out
        .json()
        .as_array()
        .cloned()
        .unwrap_or_else(|| out.fail("expected a JSON array"));
    if rows.is_empty() {
        out.fail("expected status changes");
    }
    let keys = [
        "seq",
        "event",
        "claim",
        "kind",
        "by",
        "valid",
        "recorded_at",
        "from",
        "to",
    ];
    for r in &rows {
        assert_keys(r, &keys, "audit row");
        out.expect_eq("claim", &r["claim"], &json!(EMAIL_CLAIM));
    }
    let first = (&rows[0]["event"], &rows[0]["from"], &rows[0]["to"]);
    out.expect_eq(
        "first change",
        first,
        (&json!(EMAIL_ASSERTED), &Value::Null, &json!("reported")),
    );
    let last = rows.last().unwrap();
    out.expect_eq(
        "last change",
        (&last["from"], &last["to"]),
        (&json!("reported"), &json!("retracted")),
    );
    let recorded = l.sh("audit --recorded --json").output();
    if !recorded.json().is_array() {
        recorded.fail("expected a JSON array");
    }
}

#[test]
fn diff_lists_claims_whose_status_changed_between_two_valid_times() {
    let l = Ledger::seeded();
    let out = l
        .sh("diff 2020-07-10T20:00Z 2020-07-11T00:00Z --json")
        .output();
    let v = out.json();
    assert_keys(&v, &["from", "to", "changes"], "diff");
    out.expect_eq("from", &v["from"], &json!("2020-07-10T20:00:00Z"));
    out.expect_eq("to", &v["to"], &json!("2020-07-11T00:00:00Z"));
    let changes = v["changes"].as_array().unwrap();
    for c in changes {
        assert_keys(c, &["claim", "text", "before", "after"], "diff change");
    }
    let find = |claim: &str| {
        let c = changes.iter().find(|c| c["claim"] == claim);
        let c = c.unwrap_or_else(|| out.fail(&format!("expected {claim} to change")));
        (c["before"].clone(), c["after"].clone())
    };
    out.expect_eq(
        "e-mail claim",
        find(EMAIL_CLAIM),
        (json!("reported"), json!("retracted")),
    );
    out.expect_eq(
        "TikTok's claim",
        find(TIKTOK_CLAIM),
        (Value::Null, json!("reported")),
    );
    let text = l.sh("diff 2020-07-10T20:00Z 2020-07-11T00:00Z").output();
    text.expect_code(0)
        .expect_stdout_contains(&["reported", "retracted"]);
    let recorded = l.sh("diff --recorded 2000-01-01 now --json").output();
    if !recorded.json()["changes"].is_array() {
        recorded.fail("expected a changes array");
    }
}

#[test]
fn db_flag_selects_the_ledger_directory() {
    let l = Ledger::empty();
    let other = l.path("elsewhere");
    l.bare(&format!("--db {} append {SEED}", other.display()))
        .ok();
    assert!(other.is_dir(), "--db created the ledger there");
    assert!(!l.path("claims.db").exists());
    // --db is global: it works after the subcommand too.
    let out = l.bare(&format!("verify --db {}", other.display())).ok();
    assert!(out.starts_with("ok: 27 events"), "{out}");
}

#[test]
fn claims_db_env_selects_the_ledger_when_no_flag_is_given() {
    let l = Ledger::empty();
    let env_db = l.path("from-env");
    l.bare(&format!("append {SEED}"))
        .env("CLAIMS_DB", &env_db)
        .ok();
    assert!(env_db.is_dir(), "CLAIMS_DB named the ledger");
    assert!(!l.path("claims.db").exists(), "the default was not used");
    let out = l.bare("verify").env("CLAIMS_DB", &env_db).ok();
    assert!(out.starts_with("ok: 27 events"), "{out}");
}

#[test]
fn db_flag_overrides_claims_db_env() {
    let l = Ledger::empty();
    let (env_db, flag_db) = (l.path("from-env"), l.path("from-flag"));
    l.bare(&format!("--db {} append {SEED}", flag_db.display()))
        .env("CLAIMS_DB", &env_db)
        .ok();
    assert!(flag_db.is_dir());
    assert!(!env_db.exists(), "CLAIMS_DB must lose to --db");
}

#[test]
fn without_db_or_claims_db_the_ledger_is_claims_db_in_the_working_directory() {
    let l = Ledger::empty();
    l.bare(&format!("append {SEED}")).ok();
    assert!(l.path("claims.db").is_dir());
}

#[test]
fn tz_reads_naive_times_in_that_zone() {
    let l = Ledger::empty();
    l.sh("--tz America/New_York assert --story s --by B --text T1 --at 2020-07-10T15:00")
        .ok();
    l.sh("assert --tz Europe/Oslo --story s --by B --text T2 --at '2020-07-10 21:06'")
        .ok();
    l.sh("--tz Europe/Oslo assert --story s --by B --text T3 --at 2020-07-10")
        .ok();
    l.sh("--tz Europe/Oslo assert --story s --by B --text T4 --at 2020-07-10T12:00-04:00")
        .ok();
    let e = ndjson(&l.export());
    let instant = |t: &str| json!({"from": t, "to": t});
    assert_eq!(
        e[0]["valid"],
        instant("2020-07-10T19:00:00Z"),
        "15:00 New York"
    );
    assert_eq!(e[1]["valid"], instant("2020-07-10T19:06:00Z"), "21:06 Oslo");
    let day = json!({"from": "2020-07-09T22:00:00Z", "to": "2020-07-10T21:59:59.999999999Z"});
    assert_eq!(e[2]["valid"], day, "a date is the whole day in --tz");
    assert_eq!(
        e[3]["valid"],
        instant("2020-07-10T16:00:00Z"),
        "an explicit offset wins over --tz"
    );
}

#[test]
fn tz_applies_to_query_times() {
    let l = Ledger::seeded();
    let out = l
        .sh("--tz America/New_York state --at 2020-07-10T15:00 --json")
        .output();
    out.expect_eq("at", &out.json()["at"], &json!("2020-07-10T19:00:00Z"));
    let out = l.sh("state --at 2020-07-10 --json").output();
    out.expect_eq(
        "a bare query date is the end of the day",
        &out.json()["at"],
        &json!("2020-07-10T23:59:59.999999999Z"),
    );
    let out = l
        .sh("--tz Europe/Oslo state --at 2020-07-10 --json")
        .output();
    out.expect_eq(
        "a bare query date is the end of that day in --tz",
        &out.json()["at"],
        &json!("2020-07-10T21:59:59.999999999Z"),
    );
}

#[test]
fn unknown_tz_is_refused_with_exit_1() {
    let l = Ledger::seeded();
    let run = l.sh("--tz Mars/Olympus assert --story s --by B --text T --at 2020-07-10T15:00");
    l.refuses(run, &["Mars/Olympus"]);
}

#[test]
fn id_prefix_of_six_or_more_hex_digits_names_a_claim() {
    let l = Ledger::seeded();
    for prefix in [
        &EMAIL_CLAIM[..6],
        &EMAIL_CLAIM[..8],
        &EMAIL_CLAIM[..11],
        EMAIL_CLAIM,
        "854A140A",
    ] {
        let out = l.sh(&format!("show {prefix} --json")).output();
        out.expect_eq("claim", &out.json()["claim"], &json!(EMAIL_CLAIM));
    }
    assert_uuid_line(
        &l.sh(&format!(
            "dispute {} --by X --at 2020-07-12",
            &MEDIA_CLAIM[..6]
        ))
        .ok(),
    );
    assert_eq!(l.last_entry()["claim"], MEDIA_CLAIM);
}

#[test]
fn id_prefix_names_an_event_for_void() {
    let l = Ledger::seeded();
    l.sh(&format!(
        "void {} --reason 'wrong claim'",
        &EMAIL_RETRACTED[..6]
    ))
    .ok();
    assert_eq!(l.last_entry()["target"], EMAIL_RETRACTED);
}

#[test]
fn id_prefix_shorter_than_six_hex_digits_is_refused() {
    let l = Ledger::seeded();
    let short = &EMAIL_CLAIM[..5];
    l.refuses(l.sh(&format!("show {short}")), &[short, "6"]);
    l.refuses(
        l.sh(&format!("corroborate {short} --by X --at 2020-07-12")),
        &[short, "6"],
    );
    let short = &EMAIL_ASSERTED[..4];
    l.refuses(l.sh(&format!("void {short} --reason r")), &[short, "6"]);
}

#[test]
fn id_prefix_matching_two_claims_is_refused_as_ambiguous() {
    let l = Ledger::seeded();
    let (mut a, mut b) = (new_claim(1, 2), new_claim(3, 4));
    a["claim"] = json!("abcdef01-0000-4000-8000-000000000001");
    b["claim"] = json!("abcdef01-0000-4000-8000-000000000002");
    l.append_lines(&[a, b]).ok();
    l.refuses(l.sh("show abcdef01"), &["abcdef01"]);
    l.refuses(
        l.sh("retract abcdef01 --by X --at 2020-07-12"),
        &["abcdef01"],
    );
    l.sh("show abcdef01-0000-4000-8000-000000000002").ok();
}

// ---------------------------------------------------------------------------
// 2. Append rules: every refusal exits 1 with one `error:` line and writes
//    nothing. Batch refusals name the line and the field; the bad event is
//    on line 2, behind a good one that must not be written either.
// ---------------------------------------------------------------------------

#[test]
fn append_refuses_an_event_on_an_unknown_claim() {
    let l = Ledger::seeded();
    let mut bad = dispute_email(3);
    bad["claim"] = json!(id(99));
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`claim`"],
    );
}

#[test]
fn corroborate_refuses_an_unknown_claim() {
    let l = Ledger::seeded();
    let unknown = id(99);
    l.refuses(
        l.sh(&format!("corroborate {unknown} --by X --at 2020-07-12")),
        &[&unknown],
    );
}

#[test]
fn append_refuses_a_void_of_an_unknown_target() {
    let l = Ledger::seeded();
    let bad = void_of(3, &id(99));
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`target`"],
    );
}

#[test]
fn void_refuses_an_unknown_event() {
    let l = Ledger::seeded();
    let unknown = id(99);
    l.refuses(l.sh(&format!("void {unknown} --reason typo")), &[&unknown]);
}

#[test]
fn append_refuses_an_unknown_supersedes() {
    let l = Ledger::seeded();
    let mut bad = new_claim(3, 4);
    bad["supersedes"] = json!(id(99));
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`supersedes`"],
    );
}

#[test]
fn assert_refuses_an_unknown_supersedes() {
    let l = Ledger::seeded();
    let run = l.sh(&format!(
        "assert --story s --by B --text T --at 2020-07-12 --supersedes {}",
        id(99)
    ));
    l.refuses(run, &["--supersedes"]);
}

#[test]
fn append_refuses_a_second_asserted_for_an_existing_claim() {
    let l = Ledger::seeded();
    let mut bad = new_claim(3, 4);
    bad["claim"] = json!(EMAIL_CLAIM);
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`claim`", EMAIL_CLAIM],
    );
}

#[test]
fn append_refuses_a_second_asserted_for_a_claim_asserted_earlier_in_the_batch() {
    let l = Ledger::seeded();
    l.refuses(
        l.append_lines(&[new_claim(1, 2), new_claim(3, 2)]),
        &["line 2", "`claim`"],
    );
}

#[test]
fn append_refuses_an_event_whose_valid_time_starts_before_its_claims_assertion() {
    let l = Ledger::seeded();
    let mut bad = dispute_email(3);
    // The e-mail claim was asserted from 2020-07-10T09:00Z.
    bad["valid"] = json!({"from": "2020-07-10T08:59:59Z", "to": "2020-07-12T00:00:00Z"});
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`valid.from`"],
    );
}

#[test]
fn dispute_refuses_an_at_before_the_claims_assertion() {
    let l = Ledger::seeded();
    l.refuses(
        l.sh(&format!("dispute {EMAIL_CLAIM} --by X --at 2020-07-09")),
        &["--at"],
    );
}

#[test]
fn append_refuses_valid_from_after_to() {
    let l = Ledger::seeded();
    let mut bad = new_claim(3, 4);
    bad["valid"] = json!({"from": "2020-07-12T00:00:00Z", "to": "2020-07-11T00:00:00Z"});
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`valid`"],
    );
}

#[test]
fn assert_refuses_an_at_interval_that_ends_before_it_starts() {
    let l = Ledger::seeded();
    let run = l.sh("assert --story s --by B --text T --at 2020-07-12T00:00Z/2020-07-11T00:00Z");
    l.refuses(run, &["--at"]);
}

#[test]
fn corroborate_refuses_an_at_interval_that_ends_before_it_starts() {
    let l = Ledger::seeded();
    l.refuses(
        l.sh(&format!(
            "corroborate {EMAIL_CLAIM} --by X --at 2020-07-13/2020-07-12"
        )),
        &["--at"],
    );
}

#[test]
fn append_refuses_an_unparsable_valid_time() {
    let l = Ledger::seeded();
    for bad_time in ["yesterday", "2020-07-10T15:00", "2020-02-30T00:00:00Z", ""] {
        let mut bad = new_claim(3, 4);
        bad["valid"]["from"] = json!(bad_time);
        l.refuses(
            l.append_lines(&[new_claim(1, 2), bad]),
            &["line 2", "`valid.from`"],
        );
    }
    let mut bad = new_claim(3, 4);
    bad["valid"]["to"] = json!("tomorrow");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`valid.to`"],
    );
}

#[test]
fn assert_refuses_an_unparsable_at() {
    let l = Ledger::seeded();
    for at in ["yesterday", "2020-13-01", "2020-07-10T25:00", "''", "/"] {
        l.refuses(
            l.sh(&format!("assert --story s --by B --text T --at {at}")),
            &["--at"],
        );
    }
}

#[test]
fn append_refuses_an_empty_by() {
    let l = Ledger::seeded();
    let mut bad = dispute_email(3);
    bad["by"] = json!("");
    l.refuses(l.append_lines(&[new_claim(1, 2), bad]), &["line 2", "`by`"]);
}

#[test]
fn append_refuses_a_blank_text() {
    let l = Ledger::seeded();
    let mut bad = new_claim(3, 4);
    bad["text"] = json!(" \t ");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`text`"],
    );
}

#[test]
fn append_refuses_a_blank_reason_on_a_void() {
    let l = Ledger::seeded();
    let mut bad = void_of(3, EMAIL_DISPUTED);
    bad["reason"] = json!("   ");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`reason`"],
    );
}

#[test]
fn append_refuses_a_blank_reason_on_a_dispute() {
    let l = Ledger::seeded();
    let mut bad = dispute_email(3);
    bad["reason"] = json!("");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`reason`"],
    );
}

#[test]
fn assert_and_followups_refuse_blank_by_text_and_reason_options() {
    let l = Ledger::seeded();
    l.refuses(
        l.sh("assert --story s --by '  ' --text T --at 2020-07-12"),
        &["--by"],
    );
    l.refuses(
        l.sh("assert --story s --by B --text '' --at 2020-07-12"),
        &["--text"],
    );
    l.refuses(
        l.sh(&format!("refute {EMAIL_CLAIM} --by '' --at 2020-07-12")),
        &["--by"],
    );
    l.refuses(
        l.sh(&format!(
            "refute {EMAIL_CLAIM} --by X --at 2020-07-12 --reason ' '"
        )),
        &["--reason"],
    );
    l.refuses(
        l.sh(&format!("void {EMAIL_DISPUTED} --reason ''")),
        &["--reason"],
    );
}

#[test]
fn append_refuses_an_unknown_kind() {
    let l = Ledger::seeded();
    let mut bad = dispute_email(3);
    bad["kind"] = json!("confirmed");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`kind`", "confirmed"],
    );
}

#[test]
fn append_refuses_an_unknown_field() {
    let l = Ledger::seeded();
    let mut bad = new_claim(3, 4);
    bad["colour"] = json!("red");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`colour`"],
    );
    let mut bad = new_claim(3, 4);
    bad["valid"]["when"] = json!("friday");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`valid.when`"],
    );
    // A field of another kind is unknown here too.
    let mut bad = dispute_email(3);
    bad["story"] = json!(STORY);
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`story`"],
    );
}

fn append_refuses_an_import_only_field(field: &str, value: Value) {
    let l = Ledger::seeded();
    let mut bad = new_claim(3, 4);
    bad[field] = value;
    let needle = format!("`{field}`");
    let out = l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", &needle],
    );
    if !out.stderr.contains("import") {
        out.fail("the error should point to `claims import`");
    }
}

#[test]
fn append_refuses_seq() {
    append_refuses_an_import_only_field("seq", json!(28));
}

#[test]
fn append_refuses_recorded_at() {
    append_refuses_an_import_only_field("recorded_at", json!("2020-07-11T00:00:00Z"));
}

#[test]
fn append_refuses_hash() {
    append_refuses_an_import_only_field("hash", json!("00".repeat(32)));
}

#[test]
fn append_refuses_voiding_a_voided() {
    let l = Ledger::seeded();
    l.append_lines(&[void_of(5, EMAIL_DISPUTED)]).ok();
    let bad = void_of(6, &id(5));
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`target`"],
    );
    // Also when the void being voided is earlier in the same batch.
    let (v1, v2) = (void_of(7, EMAIL_RETRACTED), void_of(8, &id(7)));
    l.refuses(l.append_lines(&[v1, v2]), &["line 2", "`target`"]);
}

#[test]
fn void_command_refuses_voiding_a_voided() {
    let l = Ledger::seeded();
    let void = assert_uuid_line(&l.sh(&format!("void {EMAIL_DISPUTED} --reason typo")).ok());
    l.refuses(l.sh(&format!("void {void} --reason undo")), &[&void]);
}

#[test]
fn append_refuses_the_same_id_with_different_content() {
    let l = Ledger::seeded();
    let mut changed = seed_lines()[5].clone();
    changed["text"] = json!("Amazon's e-mail says something else.");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), changed]),
        &["line 2", "`id`", EMAIL_ASSERTED],
    );
    // Within one batch, too.
    let mut b = new_claim(1, 2);
    b["text"] = json!("Different.");
    l.refuses(l.append_lines(&[new_claim(1, 2), b]), &["line 2", "`id`"]);
}

#[test]
fn append_batch_whose_last_line_is_bad_writes_nothing_from_earlier_lines() {
    let l = Ledger::seeded();
    let mut bad = dispute_email(9);
    bad["by"] = json!(" ");
    let lines = [new_claim(1, 2), new_claim(3, 4), dispute_email(5), bad];
    l.refuses(l.append_lines(&lines), &["line 4", "`by`"]);
    l.sh(&format!("show {}", id(2)))
        .output()
        .expect_error_line(&[&id(2)]);
}

#[test]
fn append_refuses_a_line_that_is_not_json_naming_the_line() {
    let l = Ledger::seeded();
    let good = new_claim(1, 2).to_string();
    let p = l.write("bad.ndjson", format!("{good}\n{{\"id\": oops\n"));
    l.refuses(l.sh(&format!("append {p}")), &["line 2", "JSON"]);
    let p = l.write("array.ndjson", format!("{good}\n[1, 2]\n"));
    l.refuses(l.sh(&format!("append {p}")), &["line 2"]);
    let p = l.write(
        "latin1.ndjson",
        [good.as_bytes(), b"\n\"\xe6\xf8\xe5\"\n"].concat(),
    );
    l.refuses(l.sh(&format!("append {p}")), &["line 2", "UTF-8"]);
}

#[test]
fn append_refuses_a_missing_required_field_naming_it() {
    let l = Ledger::seeded();
    for field in ["id", "kind", "claim", "story", "by", "text", "valid"] {
        let mut bad = new_claim(3, 4);
        bad.as_object_mut().unwrap().remove(field);
        let needle = format!("`{field}`");
        l.refuses(
            l.append_lines(&[new_claim(1, 2), bad]),
            &["line 2", &needle],
        );
    }
    let mut bad = void_of(3, EMAIL_DISPUTED);
    bad.as_object_mut().unwrap().remove("reason");
    l.refuses(
        l.append_lines(&[new_claim(1, 2), bad]),
        &["line 2", "`reason`"],
    );
}

#[test]
fn append_refuses_an_empty_file_and_a_missing_file() {
    let l = Ledger::seeded();
    let p = l.write("empty.ndjson", "\n\n");
    l.refuses(l.sh(&format!("append {p}")), &[]);
    l.refuses(l.sh("append -").stdin(""), &[]);
    l.refuses(l.sh("append no-such-file.ndjson"), &["no-such-file.ndjson"]);
}

#[test]
fn voiding_an_already_voided_event_is_allowed_and_changes_no_state() {
    let l = Ledger::seeded();
    let state = || l.sh("state --at 2100-01-01 --as-of 2100-01-01 --json").ok();
    l.sh(&format!("void {EMAIL_RETRACTED} --reason 'wrong claim'"))
        .ok();
    let after_first = state();
    assert_uuid_line(
        &l.sh(&format!("void {EMAIL_RETRACTED} --reason 'still wrong'"))
            .ok(),
    );
    assert_eq!(
        state(),
        after_first,
        "a second void of the same event must not change the state"
    );
    l.append_lines(&[void_of(1, EMAIL_RETRACTED)]).ok();
    assert_eq!(state(), after_first, "nor a third, appended");
    let v: Value = serde_json::from_str(&after_first).unwrap();
    assert_eq!(
        claim_entry(&v, EMAIL_CLAIM)["status"],
        "disputed",
        "retraction voided:\n{v:#}"
    );
}

#[test]
fn reappending_the_seed_file_appends_nothing() {
    let l = Ledger::seeded();
    let before = l.export();
    let out = l.sh(&format!("append {SEED}")).ok();
    assert_eq!(out, "appended 0 events; 27 already in the ledger\n");
    assert_eq!(
        l.export(),
        before,
        "an idempotent retry must not change the ledger"
    );
    // A batch that mixes retries and new events appends only the new ones.
    let seed = seed_lines();
    let out = l
        .append_lines(&[seed[0].clone(), new_claim(1, 2), seed[26].clone()])
        .ok();
    assert_eq!(
        out,
        "appended 1 event; 2 already in the ledger (seq 28..28)\n"
    );
}

// ---------------------------------------------------------------------------
// 3. Export and import
// ---------------------------------------------------------------------------

/// The seed story plus one of each CLI write, so every kind is exported.
fn busy_ledger() -> Ledger {
    let l = Ledger::seeded();
    l.sh(&format!(
        "corroborate {EMAIL_CLAIM} --by Reuters --at 2020-07-11 --reason n"
    ))
    .ok();
    l.sh(&format!(
        "refute {MEDIA_CLAIM} --by Reuters --at 2020-07-11"
    ))
    .ok();
    l.sh(&format!("void {EMAIL_DISPUTED} --reason typo")).ok();
    l.sh(
        "assert --story s2 --by 'ÆØÅ \"quoted\"' --text 'Ünïcödé\ttab \\ backslash' \
          --at 2020-07-12T10:00:00.123456789+02:00",
    )
    .ok();
    l
}

#[test]
fn export_then_import_into_a_fresh_ledger_is_byte_identical_and_verifies() {
    let a = busy_ledger();
    let export = a.export();
    let verify_a = a.sh("verify").ok();
    assert!(verify_a.starts_with("ok: 31 events, head "), "{verify_a}");
    let b = Ledger::empty();
    assert_eq!(b.import(&export).ok(), "restored 31 entries\n");
    assert_eq!(
        b.export(),
        export,
        "the restored export must be byte-identical"
    );
    assert_eq!(b.sh("verify").ok(), verify_a, "same count and head hash");
    let q = "state --at 2100-01-01 --as-of 2100-01-01 --json";
    assert_eq!(
        b.sh(q).ok(),
        a.sh(q).ok(),
        "the restored ledger answers alike"
    );
}

#[test]
fn import_reads_standard_input() {
    let export = Ledger::seeded().export();
    let b = Ledger::empty();
    b.sh("import -").stdin(export.clone()).ok();
    assert_same_text("the export after the import", b.export(), &export);
}

#[test]
fn import_resumes_a_ledger_whose_log_is_a_prefix_of_the_file() {
    let export = busy_ledger().export();
    let b = Ledger::empty();
    assert_eq!(
        b.import(head(&export, SEED_EVENTS)).ok(),
        "restored 27 entries\n"
    );
    let out = b.import(&export).ok();
    assert_eq!(
        out,
        "restored 4 entries after the 27 the ledger already had\n"
    );
    assert_same_text("the export after the import", b.export(), &export);
    b.sh("verify").ok();
    // Importing it once more is a resume with nothing left to do.
    b.import(&export).ok();
    assert_same_text("the export after the import", b.export(), &export);
}

#[test]
fn import_refuses_a_file_that_conflicts_with_the_ledger_and_changes_nothing() {
    let export = Ledger::seeded().export();
    // b's log starts with its own assertion: not a prefix of the file.
    let b = Ledger::empty();
    b.sh("assert --story s --by B --text T --at 2020-07-12")
        .ok();
    b.refuses(b.import(&export), &["prefix"]);
    b.sh("verify").ok();
    // Same events appended separately: same content, other recorded times.
    let c = Ledger::seeded();
    c.refuses(c.import(&export), &["line 1", "prefix"]);
}

#[test]
fn import_refuses_a_file_shorter_than_the_ledger() {
    let a = busy_ledger();
    let export = a.export();
    a.refuses(a.import(head(&export, 10)), &[]);
}

#[test]
fn import_refuses_an_edited_export_line_naming_the_line() {
    let a = Ledger::seeded();
    let export = a.export();
    let mut lines = ndjson(&export);
    lines[4]["text"] = json!("Edited after export.");
    let edited = lines_of(&lines);
    // Into a ledger holding the first entries (a resume)…
    let b = Ledger::empty();
    b.import(head(&export, 3)).ok();
    b.refuses(b.import(&edited), &["line 5", "`hash`"]);
    // …and into a fresh one: refused, and nothing restored.
    let c = Ledger::empty();
    c.import(&edited)
        .output()
        .expect_error_line(&["line 5", "`hash`"]);
    let after = c.sh("export").output();
    if !after.stdout.is_empty() {
        after.fail("a refused import into a fresh ledger restored entries");
    }
}

#[test]
fn import_refuses_an_append_file_and_a_story_filtered_export() {
    let b = Ledger::empty();
    b.sh("assert --story s --by B --text T --at 2020-07-12")
        .ok();
    b.refuses(b.sh(&format!("import {SEED}")), &["line 1", "`seq`"]);
    let filtered = busy_ledger().sh("export --story s2").ok();
    let c = Ledger::seeded();
    c.refuses(c.import(filtered), &["line 1", "`seq`"]);
}

/// The canonical JSON the hash chain covers (docs/format.md): keys sorted at
/// every level, no white space, strings escaped as serde_json does.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap(),
                        canonical(&m[*k])
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => serde_json::to_string(other).unwrap(),
    }
}

/// Seals `events` into an export with a correct hash chain, as a forger who
/// knows the format would, bypassing the append rules.
fn forge_export(events: &[Value]) -> String {
    forge_export_at(events, "2026-01-01T00:00:00.000000Z")
}

/// [`forge_export`] with every entry recorded at `recorded_at`.
fn forge_export_at(events: &[Value], recorded_at: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut prev = [0u8; 32];
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let mut v = e.clone();
        v["seq"] = json!(i + 1);
        v["recorded_at"] = json!(recorded_at);
        let mut h = Sha256::new();
        h.update(prev);
        h.update(canonical(&v).as_bytes());
        prev = h.finalize().into();
        v["hash"] = json!(hex::encode(prev));
        out.push(v);
    }
    lines_of(&out)
}

/// Regression: with the clock behind the ledger's last recorded time (set
/// back, or a ledger restored from a machine whose clock ran ahead), "as of
/// now" left out the newest entries, as if they were lost.
#[test]
fn queries_as_of_now_include_entries_recorded_after_the_clock() {
    let l = Ledger::empty();
    let forged = forge_export_at(&[new_claim(1, 2)], "2999-01-01T00:00:00.000000Z");
    // Refused as it is: every later entry would be stamped 2999.
    let p = l.write("future.ndjson", &forged);
    l.sh(&format!("import {p}")).output().expect_error_line(&[
        "line 1",
        "`recorded_at`",
        "--accept-future-times",
    ]);
    assert!(!l.db().exists(), "the refused import left no ledger behind");
    l.sh(&format!("import --accept-future-times {p}")).ok();
    let state = l.sh("state --json").output().json();
    assert_eq!(state["claims"].as_array().unwrap().len(), 1, "{state}");
    let claim = id(2);
    l.sh(&format!("dispute {claim} --by Someone --at 2021-01-01"))
        .ok();
    l.sh("verify").ok();
    let state = l.sh("state --json").output().json();
    assert_eq!(state["claims"][0]["status"], "disputed", "{state}");
}

#[test]
fn import_accepts_a_well_formed_forged_chain() {
    // The control for the test below: the forging itself is right.
    let l = Ledger::empty();
    assert_eq!(
        l.import(forge_export(&[new_claim(1, 2), new_claim(3, 4)]))
            .ok(),
        "restored 2 entries\n"
    );
    l.sh("verify").ok();
}

#[test]
fn import_applies_the_append_rules_to_a_file_with_a_valid_hash_chain() {
    let mut on_unknown = dispute_email(3);
    on_unknown["claim"] = json!(id(99));
    let mut before_assertion = dispute_email(3);
    before_assertion["valid"] =
        json!({"from": "2020-07-10T00:00:00Z", "to": "2020-07-10T00:00:00Z"});
    let void_void = void_of(4, &id(3));
    let cases = [
        (vec![on_unknown], "`claim`"),
        (vec![before_assertion], "`valid.from`"),
        (vec![void_of(3, EMAIL_DISPUTED), void_void], "`target`"),
        (vec![new_claim(1, 2), new_claim(1, 2)], "`id`"),
    ];
    for (extra, field) in cases {
        let mut events = seed_lines();
        events.extend(extra);
        let forged = forge_export(&events);
        let fresh = Ledger::empty();
        let n = format!("line {}", events.len());
        fresh
            .import(&forged)
            .output()
            .expect_error_line(&[&n, field]);
        // Resuming from the seed-only prefix of the same chain: refused too.
        let resumed = Ledger::empty();
        resumed.import(head(&forged, SEED_EVENTS)).ok();
        resumed.refuses(resumed.import(&forged), &[&n, field]);
    }
}

#[test]
fn verify_names_the_first_seq_whose_entry_was_changed_or_removed() {
    let l = Ledger::seeded();
    // Through the test-only raw hooks (docs/format.md: entries live packed in
    // blocks; raw_log_get gives one entry as tag 1 + its JSON).
    {
        let store =
            claims_store_sled::SledStore::open(l.db(), &open_options()).expect("open the ledger");
        let raw = store.raw_log_get(5).unwrap().expect("seq 5 is stored");
        assert_eq!(raw[0], 1, "raw_log_get gives tag-1 JSON");
        let mut v: Value = serde_json::from_slice(&raw[1..]).unwrap();
        v["text"] = json!("Quietly edited in the database.");
        let mut edited = vec![1u8];
        edited.extend(serde_json::to_vec(&v).unwrap());
        store.raw_log_put(5, &edited).unwrap();
    }
    l.sh("verify").output().expect_error_line(&["seq 5"]);
    {
        let store =
            claims_store_sled::SledStore::open(l.db(), &open_options()).expect("open the ledger");
        store.raw_log_remove(5).unwrap();
    }
    l.sh("verify").output().expect_error_line(&["seq 5"]);
}

// ---------------------------------------------------------------------------
// 4. Lock contention
// ---------------------------------------------------------------------------

/// A ledger whose `claims log` prints far more than a pipe holds, so a `log`
/// whose stdout nobody reads blocks while it holds the ledger open.
///
/// (`claims append -` would not do: it reads all of stdin before it opens
/// the ledger, so a pipe held open does not hold the lock.)
fn big_ledger() -> Ledger {
    let l = Ledger::empty();
    let long = "x".repeat(500);
    let lines: Vec<Value> = (0..1000u128)
        .map(|i| {
            let mut v = new_claim(10_000 + i, 20_000 + i);
            v["text"] = json!(format!("{i} {long}"));
            v
        })
        .collect();
    l.append_lines(&lines).ok();
    l
}

fn spawn(l: &Ledger, line: &str) -> Child {
    spawn_env(l, line, &[])
}

fn spawn_env(l: &Ledger, line: &str, env: &[(&str, &str)]) -> Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_claims"))
        .envs(env.iter().copied())
        .arg("--db")
        .arg(l.db())
        .args(words(line))
        .env_remove("CLAIMS_DB")
        .env_remove("CLAIMS_LOCK_WAIT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn claims")
}

/// A `claims log` that holds the ledger itself (no server: it asks a
/// running one to let go) until it is drained (or dropped).
struct Holder {
    child: Child,
    stdout: Option<ChildStdout>,
}

impl Holder {
    fn start(l: &Ledger) -> Holder {
        let mut child = spawn_env(l, "log", &[("CLAIMS_SERVER", "off")]);
        let mut stdout = child.stdout.take().unwrap();
        // Its first byte means it has the ledger open; then stop reading.
        stdout.read_exact(&mut [0u8; 1]).expect("claims log prints");
        Holder {
            child,
            stdout: Some(stdout),
        }
    }

    /// Reads the rest of its output and waits for it: exit 0, no panic.
    fn finish(mut self) {
        let mut rest = Vec::new();
        self.stdout.take().unwrap().read_to_end(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(
            status.success() && !err.contains("panicked"),
            "the holder failed: {status}: {err}"
        );
        assert!(
            rest.len() > 64 * 1024,
            "the holder's output must be larger than a pipe"
        );
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if self.stdout.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_second_command_on_a_ledger_in_use_waits_claims_lock_wait_then_says_so() {
    let l = big_ledger();
    let holder = Holder::start(&l);
    let started = Instant::now();
    let out = l
        .sh("assert --story s --by B --text T --at 2020-07-12")
        .env("CLAIMS_LOCK_WAIT", "1")
        .output();
    let waited = started.elapsed();
    out.expect_error_line(&["in use by another process"]);
    if waited < Duration::from_millis(900) || waited > Duration::from_secs(8) {
        out.fail(&format!(
            "with CLAIMS_LOCK_WAIT=1 it gave up after {waited:?}"
        ));
    }
    // Readers are told the same.
    let out = l.sh("state").env("CLAIMS_LOCK_WAIT", "0.2").output();
    out.expect_error_line(&["in use by another process"]);
    holder.finish();
    // Nothing was written by the refused writer.
    assert!(l.sh("verify").ok().starts_with("ok: 1000 events"));
}

#[test]
fn a_second_writer_with_the_default_wait_succeeds_once_the_first_finishes() {
    let l = big_ledger();
    let holder = Holder::start(&l);
    let mut writer = spawn(&l, "assert --story s --by B --text T --at 2020-07-12");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        writer.try_wait().unwrap().is_none(),
        "the second writer should still be waiting for the lock"
    );
    holder.finish();
    let out = writer.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "the second writer failed: {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let claim = assert_uuid_line(&stdout);
    l.sh(&format!("show {claim}")).ok();
    assert!(l.sh("verify").ok().starts_with("ok: 1001 events"));
}

// ---------------------------------------------------------------------------
// 5. Usage errors, missing ledgers, hostile input: never a panic
// ---------------------------------------------------------------------------

#[test]
fn usage_errors_exit_2() {
    let l = Ledger::seeded();
    let cases = [
        "".to_string(),
        "frobnicate".into(),
        "assert".into(),
        "assert --story s --by B --text T".into(),
        "corroborate --by B --at 2020-07-12".into(),
        format!("dispute {EMAIL_CLAIM} --at 2020-07-12"),
        format!("void {EMAIL_DISPUTED}"),
        "import".into(),
        "show".into(),
        "diff 2020-07-10".into(),
        "diff 2020-07-10 2020-07-11 --at 2020-07-10".into(),
        "log --since minus-one".into(),
        "log --since -1".into(),
        "state --colour".into(),
        "completions".into(),
        "completions tcsh-ish".into(),
        "--db".into(),
    ];
    for line in cases {
        let out = l.sh(&line).output();
        out.expect_code(2);
        if out.stderr.trim().is_empty() {
            out.fail("a usage error should explain itself on stderr");
        }
    }
    assert_eq!(
        ndjson(&l.export()).len(),
        SEED_EVENTS,
        "usage errors wrote nothing"
    );
}

#[test]
fn help_and_version_exit_0() {
    let l = Ledger::empty();
    l.bare("--help")
        .output()
        .expect_code(0)
        .expect_stdout_contains(&["assert", "verify"]);
    l.bare("assert --help")
        .output()
        .expect_code(0)
        .expect_stdout_contains(&["--story"]);
    l.bare("--version")
        .output()
        .expect_code(0)
        .expect_stdout_contains(&["claims"]);
    assert!(!l.path("claims.db").exists());
}

#[test]
fn read_commands_on_a_missing_ledger_exit_1_and_create_nothing() {
    let l = Ledger::empty();
    let show = format!("show {EMAIL_CLAIM}");
    for line in [
        "state",
        &show,
        "audit",
        "diff 2020-07-10 2020-07-11",
        "log",
        "stories",
        "verify",
        "export",
    ] {
        let out = l.sh(line).output();
        out.expect_error_line(&["no ledger"]);
        if l.db().exists() {
            out.fail("a read command created a ledger");
        }
    }
}

#[test]
fn a_refused_write_on_a_missing_ledger_creates_no_ledger() {
    // Regression. BUG found at 32e930c (fixed by 99bbe23's Ctx::undo_create):
    // write commands opened, and so created, the ledger before applying the
    // append rules, so a refused `append`, `corroborate`, `void` or `import`
    // against a mistyped --db left an empty ledger behind, and read commands
    // then answered "No claim counts" instead of "there is no ledger".
    // SPEC: a refusal writes nothing.
    let l = Ledger::empty();
    let mut bad = dispute_email(1);
    bad["claim"] = json!(id(99));
    let mut edited = ndjson(&forge_export(&[new_claim(1, 2)]));
    edited[0]["text"] = json!("edited");
    let runs = [
        l.append_lines(&[bad]),
        l.sh(&format!("corroborate {EMAIL_CLAIM} --by X --at 2020-07-12")),
        l.sh(&format!("void {EMAIL_DISPUTED} --reason typo")),
        l.import(lines_of(&edited)),
    ];
    for run in runs {
        let out = run.output();
        out.expect_error_line(&[]);
        if l.db().exists() {
            out.fail("the refused command created a ledger at --db");
        }
    }
}

#[test]
fn no_command_panics_on_hostile_input() {
    let l = Ledger::seeded();
    let file = l.write("not-a-ledger.txt", "hello");
    let dir = l.path("other-dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let dir = dir.display().to_string();
    let db = l.db().display().to_string();
    let tmp = l.dir.path().display().to_string();
    let binary = l.write("binary.ndjson", [0u8, 159, 146, 150, 255, b'\n']);
    let huge = json!({"seq": u64::MAX, "id": id(1), "kind": "voided", "target": id(2), "reason": "r",
                      "recorded_at": "2020-01-01T00:00:00Z", "hash": "zz"});
    let huge = l.write("huge.ndjson", format!("{huge}\n"));
    let deep = l.write(
        "deep.ndjson",
        format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let mut cases = vec![
        format!("--db {file} state"),
        format!("--db {file} append {SEED}"),
        format!("--db {dir} verify"),
        format!("--db {dir} append {SEED}"),
        format!("--db {db} append {tmp}"),
        format!("--db {db} append {binary}"),
        format!("--db {db} append {deep}"),
        format!("--db {db} import {deep}"),
        format!("--db {db} import {huge}"),
        format!("--db {db} show zzzzzzzz"),
        format!("--db {db} show -- -854a140a"),
        format!("--db {db} show {EMAIL_CLAIM}-00"),
        format!("--db {db} state --at 2020-07-10/2020-07-11"),
        format!("--db {db} state --as-of tuesday"),
        format!("--db {db} audit --from 2020-02-30"),
        format!("--db {db} audit --claim abc"),
        format!("--db {db} diff x y"),
        format!("--db {db} log --since 18446744073709551615"),
    ];
    for t in [
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "+275760-09-13T00:00:00Z",
        "2020-07-10T24:00:00Z",
    ] {
        cases.push(format!("--db {db} state --at {t}"));
        cases.push(format!(
            "--db {db} assert --story s --by B --text T --at {t}"
        ));
    }
    for line in cases {
        let out = Run::new(l.dir.path()).args(words(&line)).output();
        // Exit 0 is fine for odd-but-valid input; anything else must be exit
        // 1 with one clear line. `output()` already refused panics.
        if out.code != Some(0) {
            out.expect_error_line(&[]);
        }
    }
    assert!(l.sh("verify").ok().starts_with("ok: "));
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let l = big_ledger();
    for cmd in ["log", "export", "log --json"] {
        let mut child = spawn(&l, cmd);
        let mut stdout = child.stdout.take().unwrap();
        stdout.read_exact(&mut [0u8; 16]).unwrap();
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "`claims {cmd} | head` should end quietly, got {}: {stderr}",
            out.status
        );
    }
}

// ---------------------------------------------------------------------------
// The ledger server (README "The ledger server"): commands after the first
// are run by a server that keeps the ledger open.
// ---------------------------------------------------------------------------

/// The server's pid and command count from `claims serve --status`, waiting
/// up to 20 s for a server to answer; `None` if none did.
fn server_status(l: &Ledger) -> Option<(u32, u64)> {
    let started = Instant::now();
    loop {
        let out = l.sh("serve --status").ok();
        if let Some(rest) = out.strip_prefix("a ledger server (pid ") {
            let pid: u32 = rest.split(')').next().unwrap().parse().unwrap();
            let served: u64 = rest
                .split("it has answered ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected status line: {out}"));
            return Some((pid, served));
        }
        assert!(
            out.starts_with("no ledger server runs for "),
            "unexpected status line: {out}"
        );
        if started.elapsed() > Duration::from_secs(20) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits up to 20 s for `serve --status` to say that no server runs.
fn wait_for_no_server(l: &Ledger, why: &str) {
    let started = Instant::now();
    while !l
        .sh("serve --status")
        .ok()
        .starts_with("no ledger server runs for ")
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server did not exit {why}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn commands_after_the_first_are_run_by_the_server_with_the_same_output() {
    let l = Ledger::seeded();
    let (pid, before) = server_status(&l).expect("the first command started a server");
    let served = l
        .sh("state --at 2020-07-10T23:00Z --as-of 2030-01-01 --json")
        .ok();
    let audit = l.sh(&format!("audit --story {STORY}")).ok();
    let (pid_after, after) = server_status(&l).expect("the server still runs");
    assert_eq!(pid_after, pid, "the same server ran both commands");
    assert!(after >= before + 2, "the server answered the two commands");
    // The same commands run directly (which makes the server let go).
    let direct = l
        .sh("state --at 2020-07-10T23:00Z --as-of 2030-01-01 --json")
        .env("CLAIMS_SERVER", "off")
        .ok();
    assert_eq!(served, direct, "state through the server and directly");
    let direct_audit = l
        .sh(&format!("audit --story {STORY}"))
        .env("CLAIMS_SERVER", "off")
        .ok();
    assert_eq!(audit, direct_audit, "audit through the server and directly");
    wait_for_no_server(&l, "when a direct command needed the ledger");
}

#[test]
fn the_server_reads_the_clients_stdin_and_relative_file_names() {
    let l = Ledger::seeded();
    let (_, before) = server_status(&l).expect("a server");
    let line = format!("{}\n", new_claim(9001, 9002));
    let out = l.sh("append -").stdin(line.clone()).output();
    out.expect_code(0);
    out.expect_eq(
        "stdout",
        out.stdout.as_str(),
        "appended 1 event (seq 28..28)\n",
    );
    // A relative file name is the client's, not the server's (which runs in /).
    l.write("more.ndjson", format!("{}\n", new_claim(9003, 9004)));
    let out = l.sh("append more.ndjson").output();
    out.expect_code(0);
    out.expect_eq(
        "stdout",
        out.stdout.as_str(),
        "appended 1 event (seq 29..29)\n",
    );
    let out = l
        .sh(&format!("timeline --story {STORY} -o pic.svg"))
        .output();
    out.expect_code(0);
    assert!(
        l.path("pic.svg").is_file(),
        "the picture is in the client's directory"
    );
    l.sh("append missing.ndjson")
        .output()
        .expect_error_line(&["there is no file missing.ndjson"]);
    // An empty stdin is refused as when run directly.
    l.sh("append -")
        .output()
        .expect_error_line(&["standard input holds no events"]);
    // The refusals are the client's own (it reads its files): the server
    // answered the three others.
    let (_, after) = server_status(&l).expect("the server still runs");
    assert_eq!(after, before + 3, "the server answered three commands");
}

#[test]
fn the_server_exits_when_idle_and_when_its_ledger_is_deleted() {
    let l = Ledger::empty();
    l.sh(&format!("append {SEED}"))
        .env("CLAIMS_SERVER_IDLE", "0.5")
        .ok();
    wait_for_no_server(&l, "after half a second idle");
    l.sh("stories").ok();
    let (pid, _) = server_status(&l).expect("a command started a server again");
    std::fs::remove_dir_all(l.db()).unwrap();
    let started = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server of a deleted ledger did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    l.sh("stories")
        .output()
        .expect_code(1)
        .expect_error_line(&["there is no ledger at"]);
}

#[test]
fn a_server_of_another_build_hands_over_to_the_new_one() {
    let l = Ledger::seeded();
    let (old, _) = server_status(&l).expect("a server");
    // A copy of the binary is another build as far as the server can tell.
    let copy = l.path("claims-copy");
    std::fs::copy(env!("CARGO_BIN_EXE_claims"), &copy).unwrap();
    let run = |args: &str| {
        let o = std::process::Command::new(&copy)
            .arg("--db")
            .arg(l.db())
            .args(words(args))
            .env_remove("CLAIMS_DB")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    };
    let out = run("stories");
    assert!(out.contains(STORY), "{out}");
    let started = Instant::now();
    loop {
        let status = run("serve --status");
        if status.starts_with("a ledger server (pid ") && !status.contains(&format!("pid {old})")) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the new build's server did not take over: {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !Path::new(&format!("/proc/{old}")).exists()
            || std::fs::read_to_string(format!("/proc/{old}/stat"))
                .is_ok_and(|s| s.contains(") Z ")),
        "the old server exited"
    );
    run("serve --stop");
}

#[test]
fn an_interrupted_client_makes_the_server_run_nothing() {
    use std::io::{Read, Write};
    let l = Ledger::seeded();
    server_status(&l).expect("a server");
    let before = l.export();
    let line = format!("{}\n", new_claim(9101, 9102));
    // A request whose body is cut off: the client went away mid-input.
    let mut s = server::connect(&server::socket_path(&l.db())).unwrap();
    write!(
        s,
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{}",
        line.len() + 100,
        line
    )
    .unwrap();
    drop(s);
    // The whole request: it runs, once.
    let mut s = server::connect(&server::socket_path(&l.db())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
        line.len(),
        line
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"appended\":1"), "{answer}");
    let after = l.export();
    assert_eq!(after.lines().count(), before.lines().count() + 1);
    assert!(after.starts_with(&before));
    // An entry appended on the owner's socket is a local append: no
    // recorded_by.
    assert!(!after.lines().last().unwrap().contains("recorded_by"));
}

#[test]
fn serve_options_and_claims_server_are_checked() {
    let l = Ledger::seeded();
    l.refuses(
        l.sh("serve --idle 0"),
        &["--idle must be a positive number of seconds"],
    );
    let none = Ledger::empty();
    none.sh("serve")
        .output()
        .expect_code(1)
        .expect_error_line(&["there is no ledger at"]);
    none.sh("serve --stop")
        .output()
        .expect_stdout_contains(&["no ledger server runs for"]);
    l.refuses(
        l.sh("stories").env("CLAIMS_SERVER", "sometimes"),
        &["CLAIMS_SERVER must be `auto` or `off`, not `sometimes`"],
    );
    server_status(&l).expect("a server");
    l.sh("serve --stop")
        .output()
        .expect_stdout_contains(&["stopped the ledger server of"]);
    wait_for_no_server(&l, "when stopped");
    // CLAIMS_SERVER=off starts none.
    l.sh("stories").env("CLAIMS_SERVER", "off").ok();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server_status_now(&l),
        None,
        "CLAIMS_SERVER=off started a server"
    );
}

/// `serve --status` once, without waiting.
fn server_status_now(l: &Ledger) -> Option<String> {
    let out = l.sh("serve --status").ok();
    out.starts_with("a ledger server").then_some(out)
}
