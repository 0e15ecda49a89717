//! What a year of real use throws at it: each test reproduces one thing a
//! hostile pass found broken (issue 11), named for what broke, and a few of
//! the scale issue's (ids that resolve).

use serde_json::{json, Value};

use crate::harness::*;

/// An `asserted` event of `test-story` with this text.
fn asserted_with_text(event: u128, claim: u128, text: &str) -> Value {
    json!({"id": id(event), "kind": "asserted", "claim": id(claim), "story": "test-story",
           "by": "Tester", "text": text,
           "valid": {"from": "2020-07-11T00:00:00Z", "to": "2020-07-11T01:00:00Z"}})
}

#[test]
fn an_appended_line_of_exactly_16_mib_round_trips_through_export_and_import() {
    let l = Ledger::empty();
    let head = asserted_with_text(1, 2, "");
    let overhead = serde_json::to_string(&head).unwrap().len();
    let text = "x".repeat((16 << 20) - overhead);
    let line = serde_json::to_string(&asserted_with_text(1, 2, &text)).unwrap();
    assert_eq!(line.len(), 16 << 20, "the line is exactly 16 MiB");
    let p = l.write("big.ndjson", format!("{line}\n"));
    l.sh(&format!("append {p}")).ok();
    let export = l.export();
    assert!(
        export.trim_end().len() > 16 << 20,
        "its export line is longer"
    );
    let restored = Ledger::empty();
    restored.import(&export).ok();
    assert_same_text("the restored export", restored.export(), &export);
    restored.sh("verify").ok();
    // One byte more is refused by append, naming the line.
    let longer = serde_json::to_string(&asserted_with_text(3, 4, &format!("{text}x"))).unwrap();
    let p = l.write("bigger.ndjson", format!("{longer}\n"));
    l.refuses(l.sh(&format!("append {p}")), &["line 1", "16 MiB"]);
}

#[test]
fn ledger_text_cannot_drive_the_terminal() {
    let l = Ledger::empty();
    let hostile = "a\u{1b}[31mred\u{7}\u{9b}2J\rover\nnext";
    l.append_lines(&[
        asserted_with_text(1, 2, hostile),
        json!({"id": id(3), "kind": "disputed", "claim": id(2), "by": "B\u{1b}]0;title\u{7}",
               "reason": "r\u{8}\u{8}x", "via": ["V\u{1b}[2J"],
               "valid": {"from": "2020-07-12T00:00:00Z", "text": "w\u{1b}[5m"}}),
    ])
    .ok();
    let raw = |s: &str| s.chars().any(|c| c.is_control() && c != '\n');
    for line in [
        "state",
        "state --at 2030-01-01",
        "state --at 2030-01-01 --wide",
        &format!("show {}", &id(2)[..8]),
        "audit",
        "audit --recorded",
        "log",
        "stories",
        "diff 2020-07-10 2030-01-01",
    ] {
        let out = l.sh(line).output();
        out.expect_code(0);
        assert!(
            !raw(&out.stdout),
            "{line} wrote a raw control character:\n{:?}",
            out.stdout
        );
        assert!(!raw(&out.stderr), "{line}: {:?}", out.stderr);
    }
    let state = l.sh("state --at 2030-01-01").ok();
    assert!(state.contains("a\\u{1b}[31mred\\u{7}"), "{state}");
    // An error line that quotes ledger text or input is escaped too.
    let out = l.sh("state --story 'x\u{1b}[31m'").output();
    out.expect_code(1);
    assert!(!raw(&out.stderr), "{:?}", out.stderr);
    // --json and export keep the text exact.
    let json = l.sh("state --at 2030-01-01 --json").output().json();
    assert_eq!(json["claims"][0]["text"], hostile);
    assert!(l.export().contains("\\u001b[31mred\\u0007"));
}

#[test]
fn a_day_that_samoa_skipped_is_a_query_time() {
    let l = Ledger::seeded();
    let out = l
        .sh("--tz Pacific/Apia state --at 2011-12-29 --json")
        .output()
        .json();
    assert_eq!(out["at"], "2011-12-30T09:59:59.999999999Z");
    let out = l
        .sh("--tz Pacific/Apia state --at 2011-12-30 --json")
        .output()
        .json();
    assert_eq!(out["at"], "2011-12-30T09:59:59.999999999Z");
}

#[test]
fn query_times_keep_the_limits_of_assert() {
    let l = Ledger::seeded();
    l.refuses(
        l.sh("state --at 2016-06-30T12:00:60Z"),
        &["--at", "second 60"],
    );
    l.refuses(
        l.sh("state --at 0000-01-01T00:00+01:00"),
        &["--at", "0000 to 9999"],
    );
    l.refuses(l.sh("audit --as-of 10000-01-01"), &["--as-of"]);
    // The same forms as `append`: lowercase t and z.
    let a = l.sh("state --at 2020-07-10t15:00z --json").output().json();
    let b = l.sh("state --at 2020-07-10T15:00Z --json").output().json();
    assert_eq!(a["at"], b["at"]);
}

#[test]
fn an_export_of_an_unknown_story_is_an_error() {
    let l = Ledger::seeded();
    l.refuses(l.sh("export --story typo"), &["no story `typo`"]);
}

#[test]
fn bad_environment_values_are_refused_not_defaulted() {
    let l = Ledger::seeded();
    for (var, value) in [
        ("CLAIMS_SERVER_IDLE", "abc"),
        ("CLAIMS_SERVER_IDLE", "0"),
        ("CLAIMS_SERVER_IDLE", "-1"),
        ("CLAIMS_LOCK_WAIT", "abc"),
        ("CLAIMS_LOCK_WAIT", "-1"),
        ("CLAIMS_SERVER", "OFF"),
    ] {
        let out = l.sh("stories").env(var, value).output();
        out.expect_error_line(&[var]);
        out.expect_code(1);
    }
    // An empty CLAIMS_DB is the default, `claims.db` here.
    let out = l.bare("stories").env("CLAIMS_DB", "").output();
    out.expect_error_line(&["no ledger at claims.db"]);
}

#[test]
fn blank_wording_is_refused_by_one_rule() {
    let l = Ledger::seeded();
    l.refuses(
        l.sh("assert --story s --by A --text T --at 2020-07-10 --said ' '"),
        &["--said", "blank"],
    );
    l.refuses(
        l.sh("assert --story s --by A --text T --at 2020-07-10 --via ' '"),
        &["--via", "blank"],
    );
    let mut e = new_claim(9, 10);
    e["valid"]["text"] = json!("  ");
    l.refuses(l.append_lines(&[e]), &["line 1", "valid.text", "blank"]);
}

#[test]
fn a_file_starting_with_a_byte_order_mark_is_read() {
    let l = Ledger::empty();
    let p = l.write(
        "bom.ndjson",
        format!(
            "\u{feff}{}\n",
            serde_json::to_string(&new_claim(1, 2)).unwrap()
        ),
    );
    assert_eq!(
        l.sh(&format!("append {p}")).ok(),
        "appended 1 event (seq 1..1)\n"
    );
}

#[test]
fn many_blank_lines_are_read_and_counted() {
    let l = Ledger::empty();
    let mut file = "\n".repeat(2_000_000);
    file.push_str(&serde_json::to_string(&new_claim(1, 2)).unwrap());
    file.push_str("\n\n{\"bad\n");
    let p = l.write("blank.ndjson", &file);
    // The line number of the bad line is right however many blank lines
    // come before it (the file is read in pieces, on every core).
    l.sh(&format!("append {p}"))
        .output()
        .expect_error_line(&["line 2000003"]);
    assert!(!l.db().exists(), "nothing was written");
}

#[test]
fn a_line_repeated_in_one_batch_is_not_called_already_in_the_ledger() {
    let l = Ledger::empty();
    let e = new_claim(1, 2);
    assert_eq!(
        l.append_lines(&[e.clone(), e]).ok(),
        "appended 1 event; 1 line repeated an earlier one (seq 1..1)\n"
    );
}

#[test]
fn timeline_refuses_to_overwrite_a_file_or_write_through_a_link() {
    let l = Ledger::seeded();
    let existing = l.write("pic.svg", "mine");
    l.refuses(
        l.sh(&format!("timeline -o {existing}")),
        &["already exists", "--force"],
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "mine");
    #[cfg(unix)]
    {
        let target = l.write("target.txt", "keep me");
        let link = l.path("link.svg");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        l.refuses(
            l.sh(&format!("timeline -o {}", link.display())),
            &["already exists"],
        );
        l.sh(&format!("timeline --force -o {}", link.display()))
            .ok();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(std::fs::read_to_string(&link).unwrap().contains("<svg"));
    }
    l.sh(&format!("timeline --force -o {existing}")).ok();
    assert!(std::fs::read_to_string(&existing).unwrap().contains("<svg"));
}

#[test]
fn show_as_of_before_anything_was_recorded_lists_no_events() {
    let l = Ledger::seeded();
    let out = l.sh(&format!("show {EMAIL_CLAIM} --as-of 2000-01-01")).ok();
    // The events table has its header and rule, and no row.
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with('─'))
        .skip(1)
        .collect();
    assert!(rows.is_empty(), "{out}");
    assert!(!out.contains("unknown"), "{out}");
    let json = l
        .sh(&format!("show {EMAIL_CLAIM} --as-of 2000-01-01 --json"))
        .output()
        .json();
    assert_eq!(json["history"], json!([]));
}

#[test]
fn a_hundred_claims_made_in_one_second_resolve_by_eight_digits() {
    let l = Ledger::seeded();
    let mut ids = Vec::new();
    let started = std::time::Instant::now();
    // Through the ledger server after the first: far more than 100 a second.
    for i in 0..100 {
        let out = l
            .sh(&format!(
                "assert --story burst --by Tester --text 'Claim {i}' --at 2020-07-11T00:00Z"
            ))
            .ok();
        ids.push(out.trim().to_string());
    }
    let took = started.elapsed();
    for full in &ids {
        let short = &full[..8];
        let json = l.sh(&format!("show {short} --json")).output().json();
        assert_eq!(
            json["claim"],
            full.as_str(),
            "{short} (100 claims in {took:?})"
        );
    }
    // And the tables show prefixes that resolve, at least 8 digits.
    let table = l.sh("state --story burst").ok();
    for full in &ids {
        assert!(table.contains(&full[..8]), "{table}");
    }
}

#[test]
fn a_stale_unfinished_snapshot_does_not_make_an_intact_ledger_corrupted() {
    let l = Ledger::seeded();
    l.sh("serve --stop").output();
    // What a full disk during a snapshot leaves: sled's half-written file.
    std::fs::write(l.db().join("snap.0000000000000001.generating"), b"").unwrap();
    let out = l.sh("verify").env("CLAIMS_SERVER", "off").ok();
    assert!(
        out.starts_with(&format!("ok: {SEED_EVENTS} events")),
        "{out}"
    );
    assert!(!l.db().join("snap.0000000000000001.generating").exists());
}

#[test]
fn a_ledger_deleted_right_after_a_command_is_made_anew_by_the_next() {
    // The first command starts a ledger server in the background; the
    // ledger is deleted under it (it used to write sled's files back while
    // still opening, or on its way out).
    for round in 0..10 {
        let l = Ledger::empty();
        l.sh("assert --story s --by A --text One --at 2020-07-10")
            .ok();
        std::fs::remove_dir_all(l.db())
            .or_else(|_| std::fs::remove_dir_all(l.db()))
            .ok();
        let out = l
            .sh("assert --story s --by A --text Two --at 2020-07-10")
            .output();
        out.expect_code(0);
        let verified = l.sh("verify").ok();
        assert!(
            verified.starts_with("ok: 1 events") || verified.starts_with("ok: 2 events"),
            "round {round}: {verified}"
        );
        l.sh("serve --stop").output();
    }
}

/// A small filesystem of our own (tmpfs, as root), unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(
            st.success(),
            "this test fills a small filesystem: it needs to mount a tmpfs (run the tests as root)"
        );
        SmallDisk(dir.to_path_buf())
    }

    fn grow(&self, size: &str) {
        let st = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl SmallDisk {
    fn read_only(&self) {
        let st = std::process::Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_during_an_append_loses_nothing_acknowledged() {
    let l = Ledger::empty();
    let disk = SmallDisk::mount(&l.db(), "3m");
    l.sh(&format!("append {SEED}"))
        .env("CLAIMS_SERVER", "off")
        .ok();
    let before = l.sh("export").env("CLAIMS_SERVER", "off").ok();
    // About 6 MB of events: more than the disk has left.
    let big: Vec<Value> = (0..20_000u128)
        .map(|i| {
            asserted_with_text(
                100_000 + i,
                200_000 + i,
                &format!("Claim number {i} of a batch too large for the disk"),
            )
        })
        .collect();
    let p = l.write("big.ndjson", lines_of(&big));
    let out = l
        .sh(&format!("append {p}"))
        .env("CLAIMS_SERVER", "off")
        .output();
    out.expect_code(1);
    out.expect_error_line(&["No space left on device", "free some space"]);
    assert!(!out.stderr.contains("Os {"), "{}", out.stderr);
    // Space freed: every acknowledged event is there, the chain verifies,
    // and the refused batch left nothing (every write that can run out of
    // space comes before the commit point).
    disk.grow("64m");
    let verified = l.sh("verify").env("CLAIMS_SERVER", "off").ok();
    assert!(
        verified.starts_with(&format!("ok: {SEED_EVENTS} events")),
        "{verified}"
    );
    assert_same_text(
        "the export after the refused append",
        l.sh("export").env("CLAIMS_SERVER", "off").ok(),
        &before,
    );
    // And the same append now goes in whole.
    l.sh(&format!("append {p}"))
        .env("CLAIMS_SERVER", "off")
        .ok();
    let verified = l.sh("verify").env("CLAIMS_SERVER", "off").ok();
    assert!(
        verified.starts_with(&format!("ok: {} events", SEED_EVENTS + 20_000)),
        "{verified}"
    );
}

#[test]
fn a_read_only_ledger_can_be_read_and_says_why_it_cannot_be_written() {
    let l = Ledger::empty();
    let disk = SmallDisk::mount(&l.db(), "16m");
    l.sh(&format!("append {SEED}"))
        .env("CLAIMS_SERVER", "off")
        .ok();
    let before = l
        .sh("state --json --at 2030-01-01")
        .env("CLAIMS_SERVER", "off")
        .ok();
    disk.read_only();
    // Root may write anywhere it has permission bits for; a read-only file
    // system refuses root too.
    for line in [
        "state --json --at 2030-01-01",
        "verify",
        "export",
        "stories",
    ] {
        l.sh(line).env("CLAIMS_SERVER", "off").ok();
    }
    let after = l
        .sh("state --json --at 2030-01-01")
        .env("CLAIMS_SERVER", "off")
        .ok();
    assert_eq!(
        serde_json::from_str::<Value>(&before).unwrap()["claims"],
        serde_json::from_str::<Value>(&after).unwrap()["claims"]
    );
    let out = l
        .sh("assert --story s --by A --text T --at 2020-07-10")
        .env("CLAIMS_SERVER", "off")
        .output();
    out.expect_code(1);
    out.expect_error_line(&["cannot be written", "nothing was recorded", "write access"]);
}

/// More events than one staged part (50 000): a refusal on the last line
/// writes nothing of the parts before it, the whole batch commits at once,
/// and its export restores (import staged the same way).
#[test]
fn a_batch_larger_than_a_staged_part_is_all_or_nothing() {
    let l = Ledger::seeded();
    let before = l.export();
    let n = 50_001u128;
    let mut text = String::with_capacity(n as usize * 220);
    for i in 0..n {
        let claim = 10_000_000 + i;
        let mut v = asserted_with_text(20_000_000 + i, claim, &format!("claim {i}"));
        if i > 0 && i % 1000 == 0 {
            // Supersedes a claim of an earlier part.
            v["supersedes"] = json!(id(claim - 999));
        }
        text.push_str(&v.to_string());
        text.push('\n');
    }
    let bad = json!({"id": id(30_000_000), "kind": "disputed", "claim": id(424_242),
                     "by": "X", "valid": {"from": "2020-07-12T00:00:00Z", "to": "2020-07-12T00:00:00Z"}});
    let p = l.write("big-bad.ndjson", format!("{text}{bad}\n"));
    l.refuses(l.sh(&format!("append {p}")), &["line 50002", "claim"]);
    assert_same_text("the ledger after the refused batch", l.export(), &before);
    let p = l.write("big.ndjson", &text);
    let out = l.sh(&format!("append {p}")).ok();
    assert_eq!(out, "appended 50001 events (seq 28..50028)\n");
    l.sh("verify").ok();
    let export = l.export();
    let restored = Ledger::empty();
    restored.import(&export).ok();
    assert_same_text("the restored export", restored.export(), &export);
    let state = l.sh("state --story test-story --json").ok();
    assert!(
        state.contains("\"superseded\""),
        "a supersession across parts counts"
    );
}
