//! What the test modules share: the seed story, the `claims` binary (the
//! `Run`/`Out`/`Ledger` harness, and `claims_at` for a raw `Output`), the
//! ledger server's wire protocol (the binary has no library), how a test
//! opens a ledger directly, and a readable text diff for failed comparisons.

#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};
use tempfile::TempDir;

/// The ledger's socket (its path, the peer check, asking its server to let
/// go), shared with the binary.
#[cfg(unix)]
#[path = "../../src/cli/socket.rs"]
pub mod server;

/// The `claims` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_claims");

/// The seed story as `append` events.
pub const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/amazon-tiktok-2020-07.ndjson"
);

/// The seed story's slug.
pub const STORY: &str = "amazon-tiktok-2020-07";

/// Events and claims in the seed story.
pub const SEED_EVENTS: usize = 27;
pub const SEED_CLAIMS: usize = 20;

// ---------------------------------------------------------------------------
// The seed story (data/amazon-tiktok-2020-07.ndjson): a few fixed ids.
// ---------------------------------------------------------------------------

/// Amazon's e-mail: asserted 2020-07-10T09:00Z–19:00Z (line 6), disputed by
/// TikTok (line 11, 09:00Z–22:05Z) and retracted by the spokesperson (line 16,
/// 11:00Z–22:05Z).
pub const EMAIL_CLAIM: &str = "854a140a-60a0-4347-bd5e-9ce34872d972";
pub const EMAIL_ASSERTED: &str = "6ea7452a-8111-411e-8098-0fae275eaa6a";
pub const EMAIL_DISPUTED: &str = "970325a4-81a8-425d-918d-c4392a29bf27";
pub const EMAIL_RETRACTED: &str = "d80e1299-12af-4a25-8854-a4a0f2b34313";
/// "Several US media report …": corroborated by the Amazon spokesperson.
pub const MEDIA_CLAIM: &str = "98613568-7451-4557-9fe9-715b4e736098";
/// "Several US media report … sent in error": disputed.
pub const DISPUTED_CLAIM: &str = "ce2521f7-3960-44ea-950b-4857c83625b7";
/// TikTok "user security is very important": asserted 09:00Z–22:05Z.
pub const TIKTOK_CLAIM: &str = "e6a78fd2-3d89-4626-8654-5d9eeaba8fd5";

/// How the tests open a ledger directly: like the CLI, asking a ledger server
/// that holds it to let go.
pub fn open_options() -> claims_store_sled::OpenOptions {
    claims_store_sled::OpenOptions {
        on_locked: Some(std::sync::Arc::new(server::ask_release)),
        ..claims_store_sled::OpenOptions::default()
    }
}

/// The seed story's events, parsed as `append` parses them (a bad line
/// panics naming its line number).
pub fn seed_events() -> Vec<claims_core::Event> {
    std::fs::read_to_string(SEED)
        .expect("the seed file")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("seed line {}: not JSON: {e}", i + 1));
            claims_core::Event::from_json(&v, &[])
                .unwrap_or_else(|e| panic!("seed line {}: {e}", i + 1))
        })
        .collect()
}

/// `claims --db DB` as a plain command (for tests that want the raw
/// `Output`): a generous lock wait, no inherited `CLAIMS_DB`, and a timeout so
/// that a hang fails the test instead of stalling it.
pub fn claims_at(db: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--db")
        .arg(db)
        .env_remove("CLAIMS_DB")
        .env("CLAIMS_LOCK_WAIT", "60")
        .timeout(Duration::from_secs(300));
    c
}

/// Fails unless `got` and `expected` are the same bytes, showing where they
/// differ as a unified line diff instead of two walls of text.
#[track_caller]
pub fn assert_same_text(what: &str, got: impl AsRef<[u8]>, expected: impl AsRef<[u8]>) {
    let (got, expected) = (got.as_ref(), expected.as_ref());
    if got != expected {
        panic!("{what}:\n{}", text_diff(expected, got));
    }
}

/// A unified line diff from `expected` to `got` (`-` expected, `+` got).
pub fn text_diff(expected: &[u8], got: &[u8]) -> String {
    let (e, g) = (
        String::from_utf8_lossy(expected),
        String::from_utf8_lossy(got),
    );
    if e == g {
        return format!(
            "  they differ only in bytes that are not UTF-8 ({} bytes expected, {} got)",
            expected.len(),
            got.len()
        );
    }
    let diff = similar::TextDiff::from_lines(e.as_ref(), g.as_ref())
        .unified_diff()
        .context_radius(3)
        .header("expected", "got")
        .to_string();
    indent(&diff)
}

// ---------------------------------------------------------------------------
// Running the binary (moved here from cli.rs so that every module uses it)
// ---------------------------------------------------------------------------

/// A fixed, test-only UUID numbered `n`.
pub fn id(n: u128) -> String {
    uuid::Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0000 | n).to_string()
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// Splits a command line into arguments: white space separates, '…' quotes.
pub fn words(line: &str) -> Vec<OsString> {
    let (mut out, mut cur, mut in_word, mut quoted) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    out.push(std::mem::take(&mut cur).into());
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quote in {line:?}");
    if in_word {
        out.push(cur.into());
    }
    out
}

/// One invocation of `claims`, described so that a failure can show it.
pub struct Run {
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    pub cwd: PathBuf,
}

/// What an invocation did.
pub struct Out {
    pub shown: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Out {
    /// The command, its exit code, stdout and stderr, for failure messages.
    pub fn context(&self) -> String {
        let code = self
            .code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "killed by a signal".into());
        format!(
            "\n  command: {}\n  exit:    {code}\n  --- stdout ---\n{}\n  --- stderr ---\n{}\n  --------------",
            self.shown,
            indent(&self.stdout),
            indent(&self.stderr)
        )
    }

    #[track_caller]
    pub fn fail(&self, what: &str) -> ! {
        panic!("{what}{}", self.context())
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        if self.code != Some(code) {
            self.fail(&format!("expected exit code {code}, got {:?}", self.code));
        }
        self
    }

    /// Exit 1, nothing on stdout, and one line on stderr, `error: …`,
    /// containing every needle.
    #[track_caller]
    pub fn expect_error_line(&self, needles: &[&str]) -> &Self {
        self.expect_code(1);
        let lines: Vec<&str> = self.stderr.lines().collect();
        if lines.len() != 1 {
            self.fail(&format!(
                "expected exactly one line on stderr, got {}",
                lines.len()
            ));
        }
        if !lines[0].starts_with("error: ") {
            self.fail("expected stderr to start with `error: `");
        }
        for n in needles {
            if !lines[0].contains(n) {
                self.fail(&format!("expected the error to contain {n:?}"));
            }
        }
        if !self.stdout.is_empty() {
            self.fail("expected nothing on stdout after an error");
        }
        self
    }

    #[track_caller]
    pub fn expect_stdout_contains(&self, needles: &[&str]) -> &Self {
        for n in needles {
            if !self.stdout.contains(n) {
                self.fail(&format!("expected stdout to contain {n:?}"));
            }
        }
        self
    }

    /// Exit 0 and stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        self.expect_code(0);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| self.fail(&format!("expected JSON on stdout: {e}")))
    }

    /// Fails with the context unless `got == expected`.
    #[track_caller]
    pub fn expect_eq<T: PartialEq + std::fmt::Debug>(&self, what: &str, got: T, expected: T) {
        if got != expected {
            self.fail(&format!(
                "{what}:\n  expected: {expected:?}\n  got:      {got:?}"
            ));
        }
    }
}

impl Run {
    pub fn new(cwd: &Path) -> Self {
        Run {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
            cwd: cwd.to_path_buf(),
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<Path>) -> Self {
        self.env
            .push((k.to_string(), v.as_ref().display().to_string()));
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = data.into();
        self
    }

    pub fn shown(&self) -> String {
        let mut s: String = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v:?} "))
            .collect();
        s.push_str("claims");
        for a in &self.args {
            s.push_str(&format!(" {a:?}"));
        }
        if !self.stdin.is_empty() {
            s.push_str(&format!(" <<< ({} bytes on stdin)", self.stdin.len()));
        }
        s
    }

    /// Runs it. Never a panic, never a signal, whatever the outcome.
    #[track_caller]
    pub fn output(&self) -> Out {
        let mut cmd = Command::cargo_bin("claims").expect("the claims binary is built");
        // Nothing of the caller's shell: clap wraps help at $COLUMNS when
        // stdout is not a terminal.
        cmd.env_remove("CLAIMS_DB")
            .env_remove("CLAIMS_LOCK_WAIT")
            .env_remove("COLUMNS")
            .env_remove("LINES")
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE")
            .env_remove("PGUSER")
            .env("NO_COLOR", "1")
            .current_dir(&self.cwd)
            .args(&self.args)
            .timeout(Duration::from_secs(120))
            .write_stdin(self.stdin.clone());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let o = cmd.output().expect("claims runs");
        let out = Out {
            shown: self.shown(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        if out.stderr.contains("panicked") || out.stderr.contains("RUST_BACKTRACE") {
            out.fail("the command panicked");
        }
        if out.code.is_none() {
            out.fail("the command was killed (timeout or signal)");
        }
        out
    }

    /// Runs it, expects exit 0 and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> String {
        let out = self.output();
        out.expect_code(0);
        out.stdout
    }
}

/// A ledger in a fresh temporary directory (the commands run there too).
pub struct Ledger {
    pub dir: TempDir,
}

impl Ledger {
    /// A ledger path that does not exist yet.
    pub fn empty() -> Self {
        Ledger {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// A ledger holding the seed story.
    pub fn seeded() -> Self {
        let l = Ledger::empty();
        let out = l.sh(&format!("append {SEED}")).output();
        out.expect_code(0);
        out.expect_eq(
            "stdout",
            out.stdout.as_str(),
            "appended 27 events (seq 1..27)\n",
        );
        l
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("ledger")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `claims --db <ledger> ARGS…`.
    pub fn claims<I: IntoIterator<Item = S>, S: Into<OsString>>(&self, args: I) -> Run {
        Run::new(self.dir.path())
            .args([OsString::from("--db"), self.db().into()])
            .args(args)
    }

    /// `claims --db <ledger> LINE`, LINE split by [`words`].
    pub fn sh(&self, line: &str) -> Run {
        self.claims(words(line))
    }

    /// `claims LINE` with no `--db`.
    pub fn bare(&self, line: &str) -> Run {
        Run::new(self.dir.path()).args(words(line))
    }

    /// Writes a file in the temp dir and returns its path (no spaces in it).
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write a fixture");
        p.display().to_string()
    }

    /// Writes `lines` as NDJSON and returns `claims append FILE`.
    pub fn append_lines(&self, lines: &[Value]) -> Run {
        let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
        let p = self.write("batch.ndjson", text);
        self.sh(&format!("append {p}"))
    }

    /// `claims import FILE` of `contents`.
    pub fn import(&self, contents: impl AsRef<[u8]>) -> Run {
        let p = self.write("import.ndjson", contents);
        self.sh(&format!("import {p}"))
    }

    #[track_caller]
    pub fn export(&self) -> String {
        self.sh("export").ok()
    }

    #[track_caller]
    pub fn last_entry(&self) -> Value {
        ndjson(&self.export()).pop().expect("a non-empty log")
    }

    /// Runs a command that SPEC says must be refused: exit 1, one `error:`
    /// line holding every needle, and the export unchanged, byte for byte.
    #[track_caller]
    pub fn refuses(&self, run: Run, needles: &[&str]) -> Out {
        let before = self.export();
        let out = run.output();
        out.expect_error_line(needles);
        let after = self.export();
        if before != after {
            out.fail(&format!(
                "a refused command changed the ledger (export before → after):\n{}",
                text_diff(before.as_bytes(), after.as_bytes())
            ));
        }
        out
    }
}

/// Parses NDJSON into values.
#[track_caller]
pub fn ndjson(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub fn lines_of(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// The first `n` lines of `s`.
pub fn head(s: &str, n: usize) -> String {
    s.lines().take(n).map(|l| format!("{l}\n")).collect()
}

#[track_caller]
pub fn assert_uuid_line(out: &str) -> String {
    let line = out
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("expected one line, got {out:?}"));
    assert!(
        !line.contains('\n') && line.len() == 36 && uuid::Uuid::parse_str(line).is_ok(),
        "expected a hyphenated UUID on its own line, got {out:?}"
    );
    line.to_string()
}

/// A new claim in `test-story`, asserted 2020-07-11T00:00Z–01:00Z.
pub fn new_claim(event: u128, claim: u128) -> Value {
    json!({"id": id(event), "kind": "asserted", "claim": id(claim), "story": "test-story",
           "by": "Tester", "text": "A new claim.",
           "valid": {"from": "2020-07-11T00:00:00Z", "to": "2020-07-11T01:00:00Z"}})
}

/// A dispute of the e-mail claim, well after its assertion.
pub fn dispute_email(event: u128) -> Value {
    json!({"id": id(event), "kind": "disputed", "claim": EMAIL_CLAIM, "by": "Reuters",
           "valid": {"from": "2020-07-12T00:00:00Z", "to": "2020-07-12T00:00:00Z"}})
}

pub fn void_of(event: u128, target: &str) -> Value {
    json!({"id": id(event), "kind": "voided", "target": target, "reason": "typo"})
}

pub fn seed_lines() -> Vec<Value> {
    ndjson(&std::fs::read_to_string(SEED).expect("seed file"))
}

#[track_caller]
pub fn claim_entry<'a>(state: &'a Value, claim: &str) -> &'a Value {
    state["claims"]
        .as_array()
        .expect("claims array")
        .iter()
        .find(|c| c["claim"] == claim)
        .unwrap_or_else(|| panic!("claim {claim} not in state:\n{state:#}"))
}

#[track_caller]
pub fn assert_keys(v: &Value, keys: &[&str], what: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: expected an object, got {v:#}"));
    for k in keys {
        assert!(obj.contains_key(*k), "{what}: expected key {k:?} in {v:#}");
    }
}

// ---------------------------------------------------------------------------
// 1. Happy paths
// ---------------------------------------------------------------------------

#[test]
fn a_text_diff_shows_the_changed_lines() {
    let d = text_diff(b"one\ntwo\nthree\n", b"one\nTWO\nthree\n");
    assert!(d.contains("-two") && d.contains("+TWO"), "{d}");
    assert!(d.contains("--- expected") && d.contains("+++ got"), "{d}");
    let d = text_diff(b"\xff\n", b"\xfe\n");
    assert!(d.contains("not UTF-8"), "{d}");
    let r = std::panic::catch_unwind(|| assert_same_text("same", "x\n", "x\n"));
    assert!(r.is_ok());
}
