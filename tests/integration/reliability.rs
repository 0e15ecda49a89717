//! Reliability (issue 5): crashes, concurrent writers, hostile input and
//! tampering, run against the `claims` binary the way users run it.
//!
//! - Crashes: `claims append` (2–5k events) and `claims assert` run as child
//!   processes and are killed with SIGKILL at random moments from a seeded
//!   generator (`CLAIMS_CRASH_TRIALS`, default 30; `CLAIMS_CRASH_SEED`). After
//!   each trial the ledger is reopened: `verify` passes (hash chain and every
//!   index against the log), each command's events are all there or none, every
//!   command that exited 0 is fully there, and nothing committed earlier changed.
//!   `scripts/crash-soak` runs 500 trials in release mode.
//! - Concurrency: writers and readers at once, all through the lock wait.
//! - Hostile input: every file of `tests/hostile/` (listed in its
//!   `MANIFEST.tsv` with the line and field its error must name) and a few
//!   generated inputs are refused with exit 1 and one `error:` line, and the
//!   ledger's export is byte-identical afterwards.
//! - Tampering and damage: stored entries are changed, removed or reordered
//!   through the `raw_*` test hooks and `verify` names the first bad seq;
//!   damaged, foreign and newer-format directories get a clear error.
//!
//! No `claims` process may panic: every run checks its stderr.

use crate::harness::{assert_same_text, claims_at, BIN, SEED, SEED_EVENTS};
use crate::harness::{open_options, server};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use chrono::{DateTime, SecondsFormat};
use claims_core::event::Body;
use claims_core::Record;
use claims_store_sled::OpenOptions;
use claims_store_sled::SledStore;
use serde_json::{json, Value};
use tempfile::TempDir;
use uuid::Uuid;

const HOSTILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile");
/// A seed claim asserted from 2020-07-10T09:00Z, and its `asserted` event.
use crate::harness::MEDIA_CLAIM as SEED_CLAIM;
const SEED_EVENT: &str = "d40a8448-931b-45d4-bf62-af02ee24550e";
/// 2020-07-10T09:00:00Z, when [`SEED_CLAIM`] starts.
const SEED_CLAIM_FROM: i64 = 1_594_371_600;

// ---------------------------------------------------------------- helpers

/// SplitMix64: small, seeded and good enough to pick kill moments and events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn uuid(&mut self) -> Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_le_bytes());
        b[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={s:?} is not a whole number")),
        Err(_) => default,
    }
}

/// The same, as a child process that can be killed. It writes the ledger
/// itself (`CLAIMS_SERVER=off`), so that killing it kills the writer.
fn spawn_claims(db: &Path, args: &[&str]) -> Child {
    StdCommand::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("CLAIMS_DB")
        .env("CLAIMS_LOCK_WAIT", "60")
        .env("CLAIMS_SERVER", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn claims")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn no_panic(what: &str, out: &Output) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{what}: claims panicked:\n{err}"
    );
}

/// Runs to the end; any panic fails the test.
fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    no_panic(what, &out);
    out
}

/// Runs and requires exit 0.
fn ok(what: &str, cmd: &mut Command) -> Output {
    let out = run(what, cmd);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstderr: {}",
        out.status.code(),
        text(&out.stderr)
    );
    out
}

/// Requires exit 1 with exactly one stderr line `error: …`; returns the line.
fn refused(what: &str, out: &Output) -> String {
    no_panic(what, out);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: expected exit 1\nstdout: {}\nstderr: {err}",
        text(&out.stdout)
    );
    assert!(
        err.starts_with("error: ") && err.ends_with('\n') && err.lines().count() == 1,
        "{what}: expected one `error:` line on stderr, got:\n{err}"
    );
    for dump in ["backtrace", "Some(", "Error {", "Io(", "Custom {"] {
        assert!(
            !err.contains(dump),
            "{what}: the error reads like a debug dump: {err}"
        );
    }
    err.trim_end().to_string()
}

/// A ledger holding the seed story.
fn seeded() -> (TempDir, PathBuf) {
    let tmp = TempDir::new().unwrap();
    let db = tmp.path().join("ledger");
    ok("seed append", claims_at(&db).arg("append").arg(SEED));
    (tmp, db)
}

fn export(db: &Path) -> Vec<u8> {
    ok("export", claims_at(db).arg("export")).stdout
}

fn verify_ok(what: &str, db: &Path) -> String {
    let out = ok(what, claims_at(db).arg("verify"));
    let s = text(&out.stdout);
    assert!(s.starts_with("ok: "), "{what}: verify said {s}");
    s
}

/// Parses an export, requiring seq 1..n without gaps and an unbroken chain.
fn parse_export(what: &str, bytes: &[u8]) -> Vec<Record> {
    let s = std::str::from_utf8(bytes).expect("export is UTF-8");
    let records: Vec<Record> = s
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{what}: export line is not JSON ({e}): {l}"));
            Record::from_json(&v).unwrap_or_else(|e| panic!("{what}: bad export line ({e}): {l}"))
        })
        .collect();
    check_chain(what, &records);
    records
}

fn check_chain(what: &str, records: &[Record]) {
    let mut prev = claims_core::record::GENESIS;
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "{what}: seq gap at position {i}");
        assert_eq!(
            r.compute_hash(&prev),
            r.hash,
            "{what}: the chain breaks at seq {}",
            r.seq
        );
        prev = r.hash;
    }
}

fn time(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

const WORDS: &[&str] = &[
    "Amazon",
    "TikTok",
    "e-post",
    "ansatte",
    "sikkerhet",
    "Pompeo",
    "Hongkong",
    "Indien",
    "forbud",
    "«sendt ved en feil»",
    "smarttelefon",
    "中文",
    "🙂",
    "Reuters",
    "said",
    "later",
    "ærlig",
    "\"quoted\"",
    "tab\there",
];

fn words(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let n = rng.range(lo, hi);
    (0..n)
        .map(|_| *rng.pick(WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A valid batch of `n` events for `append`: claims of `story`, follow-ups on
/// them and on a seed claim, and voids of earlier entries (never of voids).
/// Returns the NDJSON and the event ids in order.
fn gen_batch(rng: &mut Rng, n: usize, story: &str) -> (String, Vec<Uuid>) {
    let base = 1_594_339_200; // 2020-07-10T00:00:00Z
    let seed_claim: Uuid = SEED_CLAIM.parse().unwrap();
    let mut claims: Vec<(Uuid, i64)> = vec![(seed_claim, SEED_CLAIM_FROM)];
    let mut targets: Vec<Uuid> = vec![SEED_EVENT.parse().unwrap()];
    let mut ids = Vec::with_capacity(n);
    let mut out = String::with_capacity(n * 400);
    let outlets = ["Reuters", "Bloomberg", "Wall Street Journal", "NRK"];
    for i in 0..n {
        let id = rng.uuid();
        let roll = rng.below(10);
        let mut via: Vec<&str> = Vec::new();
        for _ in 0..rng.below(3) {
            via.push(*rng.pick(&outlets));
        }
        let v = if i < 4 || roll < 4 {
            let claim = rng.uuid();
            let from = base + rng.below(30 * 86_400) as i64;
            let to = from + rng.below(3 * 86_400) as i64;
            claims.push((claim, from));
            let mut v = json!({"id": id, "kind": "asserted", "claim": claim, "story": story,
                "by": words(rng, 1, 3), "text": format!("{story} #{i}: {}", words(rng, 5, 40)),
                "valid": {"from": time(from), "to": time(to), "text": words(rng, 1, 4)},
                "lang": "nb", "quote": words(rng, 3, 20), "translation": words(rng, 3, 20)});
            if !via.is_empty() {
                v["via"] = json!(via);
            }
            if rng.chance(0.1) && claims.len() > 2 {
                let old = claims[rng.below(claims.len() as u64 - 1) as usize].0;
                v["supersedes"] = json!(old);
            }
            v
        } else if roll < 8 {
            let (claim, claim_from) = *rng.pick(&claims);
            let from = claim_from + rng.below(5 * 86_400) as i64;
            let to = from + rng.below(86_400) as i64;
            let kind = *rng.pick(&["corroborated", "disputed", "refuted", "retracted"]);
            let mut v = json!({"id": id, "kind": kind, "claim": claim, "by": words(rng, 1, 3),
                "valid": {"from": time(from), "to": time(to)}, "source": format!("https://example.org/{i}")});
            let why = if kind == "corroborated" {
                "note"
            } else {
                "reason"
            };
            v[why] = json!(words(rng, 3, 30));
            if !via.is_empty() {
                v["via"] = json!(via);
            }
            v
        } else {
            let target = *rng.pick(&targets);
            json!({"id": id, "kind": "voided", "target": target, "reason": words(rng, 2, 10)})
        };
        if v["kind"] != "voided" {
            targets.push(id);
        }
        ids.push(id);
        out.push_str(&v.to_string());
        out.push('\n');
    }
    (out, ids)
}

// ---------------------------------------------------------------- crashes

/// One child process of a crash trial.
struct Kid {
    what: String,
    child: Child,
    kill_at: Option<Duration>,
    /// The append's event ids, or the assert's unique text.
    expect: Expect,
}

enum Expect {
    Batch { ids: Vec<Uuid>, file: PathBuf },
    Assert { text: String },
}

#[derive(Debug, Default)]
struct CrashStats {
    appends_exited_ok: u64,
    appends_killed_none: u64,
    appends_killed_all: u64,
    asserts_exited_ok: u64,
    asserts_killed_none: u64,
    asserts_killed_all: u64,
    /// Appends killed after half the time a whole one takes (when it is
    /// sealing, writing and syncing rather than reading and checking).
    appends_killed_late: u64,
    retries: u64,
    /// Time spent generating, in the killed commands, checking, retrying.
    time: [Duration; 4],
}

/// Starts the kids, kills each at its moment (unless it already exited) and
/// collects how each ended.
fn run_kids(kids: &mut [Kid]) -> Vec<Output> {
    let start = Instant::now();
    let mut order: Vec<usize> = (0..kids.len()).collect();
    order.sort_by_key(|&i| kids[i].kill_at.unwrap_or(Duration::MAX));
    for i in order {
        let Some(at) = kids[i].kill_at else { break };
        if let Some(left) = at.checked_sub(start.elapsed()) {
            std::thread::sleep(left);
        }
        if kids[i].child.try_wait().expect("try_wait").is_none() {
            // Child::kill sends SIGKILL on Unix.
            let _ = kids[i].child.kill();
        }
    }
    kids.iter_mut()
        .map(|k| {
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            use std::io::Read;
            k.child
                .stdout
                .take()
                .unwrap()
                .read_to_end(&mut stdout)
                .unwrap();
            k.child
                .stderr
                .take()
                .unwrap()
                .read_to_end(&mut stderr)
                .unwrap();
            let status = k.child.wait().expect("wait");
            Output {
                status,
                stdout,
                stderr,
            }
        })
        .collect()
}

/// The end of the log as a trial last saw it.
#[derive(Debug, Clone, Copy)]
struct Known {
    count: u64,
    hash: claims_core::record::Hash,
}

/// `claims verify`, then the entries after `known` through `claims log
/// --since`: they must chain onto the entry `known` remembers (so, by the
/// chain, nothing before it changed) and end at the head `verify` reported.
fn read_new(what: &str, db: &Path, known: Known) -> (Known, Vec<Record>) {
    let said = verify_ok(&format!("{what}: verify"), db);
    let since = known.count.saturating_sub(1).to_string();
    let out = ok(
        what,
        claims_at(db).args(["log", "--json", "--since", &since]),
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("log --json is JSON");
    let mut records: Vec<Record> = v
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| Record::from_json(e).expect("a log entry"))
        .collect();
    let mut prev = claims_core::record::GENESIS;
    if known.count > 0 {
        let first = records.remove(0);
        assert_eq!(
            (first.seq, first.hash),
            (known.count, known.hash),
            "{what}: the last entry committed before the trial changed"
        );
        prev = first.hash;
    }
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, known.count + 1 + i as u64, "{what}: seq gap");
        assert_eq!(
            r.compute_hash(&prev),
            r.hash,
            "{what}: the chain breaks at seq {}",
            r.seq
        );
        prev = r.hash;
    }
    let now = Known {
        count: known.count + records.len() as u64,
        hash: prev,
    };
    assert_eq!(
        said.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap(),
        now.count,
        "{what}: verify counted another number of entries: {said}"
    );
    assert!(
        said.trim_end().ends_with(&hex::encode(now.hash)),
        "{what}: {said}"
    );
    (now, records)
}

/// Checks what the kids of trial `t` left against what each of them did.
fn check_trial(
    t: u64,
    kids: &[Kid],
    outs: &[Output],
    new: &[Record],
    stats: &mut CrashStats,
) -> Vec<bool> {
    let what = format!("trial {t}");
    let by_id: HashMap<Uuid, &Record> = new.iter().map(|r| (r.event.id, r)).collect();
    let mut landed = Vec::new();
    let mut expected_new = 0;
    for (k, out) in kids.iter().zip(outs) {
        no_panic(&k.what, out);
        let exited_ok = out.status.success();
        assert!(
            exited_ok || out.status.code().is_none(),
            "{what}: {} failed without being killed: {}",
            k.what,
            text(&out.stderr)
        );
        match &k.expect {
            Expect::Batch { ids, .. } => {
                let seqs: Vec<u64> = ids
                    .iter()
                    .filter_map(|id| by_id.get(id).map(|r| r.seq))
                    .collect();
                let all = seqs.len() == ids.len();
                assert!(
                    seqs.is_empty() || all,
                    "{what}: {} of the {} events of the killed `{}` are in the ledger",
                    seqs.len(),
                    ids.len(),
                    k.what
                );
                assert!(
                    all || !exited_ok,
                    "{what}: `{}` exited 0 but its events are not in the ledger",
                    k.what
                );
                if all {
                    for (i, s) in seqs.iter().enumerate() {
                        assert_eq!(
                            *s,
                            seqs[0] + i as u64,
                            "{what}: the events of `{}` are not contiguous in the log",
                            k.what
                        );
                    }
                    let first = by_id[&ids[0]].recorded_at;
                    assert!(
                        ids.iter().all(|id| by_id[id].recorded_at == first),
                        "{what}: one append got several recorded times"
                    );
                    expected_new += ids.len();
                }
                match (exited_ok, all) {
                    (true, _) => stats.appends_exited_ok += 1,
                    (false, true) => stats.appends_killed_all += 1,
                    (false, false) => stats.appends_killed_none += 1,
                }
                landed.push(all);
            }
            Expect::Assert { text: marker } => {
                let hits: Vec<&Record> = new
                    .iter()
                    .filter(|r| matches!(&r.event.body, Body::Asserted(a) if &a.text == marker))
                    .collect();
                assert!(
                    hits.len() <= 1,
                    "{what}: `{}` landed {} times",
                    k.what,
                    hits.len()
                );
                if exited_ok {
                    assert_eq!(
                        hits.len(),
                        1,
                        "{what}: `{}` exited 0 but its claim is not in the ledger",
                        k.what
                    );
                    let printed = text(&out.stdout);
                    assert_eq!(
                        hits[0].event.claim().map(|c| c.to_string()),
                        Some(printed.trim().to_string()),
                        "{what}: `{}` printed another claim id",
                        k.what
                    );
                }
                match (exited_ok, hits.len()) {
                    (true, _) => stats.asserts_exited_ok += 1,
                    (false, 1) => stats.asserts_killed_all += 1,
                    _ => stats.asserts_killed_none += 1,
                }
                expected_new += hits.len();
                landed.push(hits.len() == 1);
            }
        }
    }
    assert_eq!(
        new.len(),
        expected_new,
        "{what}: the log holds entries no command of the trial wrote"
    );
    landed
}

/// `lo-hi` from the environment, or the default.
fn env_range(name: &str, default: (u64, u64)) -> (u64, u64) {
    match std::env::var(name) {
        Ok(s) => {
            let (lo, hi) = s
                .split_once('-')
                .unwrap_or_else(|| panic!("{name}={s:?} is not LO-HI"));
            (lo.trim().parse().unwrap(), hi.trim().parse().unwrap())
        }
        Err(_) => default,
    }
}

/// Runs `trials` crash trials from `seed` in `CLAIMS_CRASH_STREAMS` (default
/// 2) parallel streams, each on its own ledgers; returns the outcome counts.
fn crash_trials(trials: u64, seed: u64) -> CrashStats {
    let (lo, hi) = env_range("CLAIMS_CRASH_EVENTS", (2000, 3000));
    let streams = env_u64("CLAIMS_CRASH_STREAMS", 2).max(1);
    let tmp = TempDir::new().unwrap();
    // Calibrate the kill window on uninterrupted appends of large batches, as
    // many at once as there are streams (they compete the same way later).
    let n = (lo + hi) as usize / 2;
    let calibration: Vec<(PathBuf, PathBuf)> = (0..streams)
        .map(|i| {
            let db = tmp.path().join(format!("calibration-{i}"));
            ok("calibration seed", claims_at(&db).arg("append").arg(SEED));
            let (batch, _) = gen_batch(&mut Rng(seed + i), n, "calibration");
            let file = tmp.path().join(format!("calibration-{i}.ndjson"));
            fs::write(&file, batch).unwrap();
            (db, file)
        })
        .collect();
    let started = Instant::now();
    let kids: Vec<Child> = calibration
        .iter()
        .map(|(db, file)| spawn_claims(db, &["append", file.to_str().unwrap()]))
        .collect();
    for kid in kids {
        let out = kid.wait_with_output().unwrap();
        no_panic("calibration append", &out);
        assert!(out.status.success(), "calibration: {}", text(&out.stderr));
    }
    let window = started.elapsed().mul_f64(1.15);
    eprintln!(
        "crash trials: {trials} in {streams} streams, seed {seed:#x}, {lo}-{hi} events an append, kill window {window:?}"
    );
    let all: Vec<CrashStats> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..streams)
            .map(|stream| {
                let mine: Vec<u64> = (0..trials).filter(|t| t % streams == stream).collect();
                let dir = tmp.path().join(format!("stream-{stream}"));
                fs::create_dir(&dir).unwrap();
                let rng = Rng(seed ^ (stream + 1).wrapping_mul(0xA076_1D64_78BD_642F));
                s.spawn(move || crash_stream(&dir, &mine, rng, seed, window, (lo, hi)))
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut stats = CrashStats::default();
    for st in all {
        stats.appends_exited_ok += st.appends_exited_ok;
        stats.appends_killed_none += st.appends_killed_none;
        stats.appends_killed_all += st.appends_killed_all;
        stats.asserts_exited_ok += st.asserts_exited_ok;
        stats.asserts_killed_none += st.asserts_killed_none;
        stats.asserts_killed_all += st.asserts_killed_all;
        stats.appends_killed_late += st.appends_killed_late;
        stats.retries += st.retries;
        for (a, b) in stats.time.iter_mut().zip(st.time) {
            *a += b;
        }
    }
    eprintln!("crash outcomes: {stats:?}");
    stats
}

/// One stream of crash trials, in `dir`.
fn crash_stream(
    dir: &Path,
    trials: &[u64],
    mut rng: Rng,
    seed: u64,
    window: Duration,
    (lo, hi): (u64, u64),
) -> CrashStats {
    let mut stats = CrashStats::default();
    // A fresh ledger every few trials keeps `verify` fast while a ledger still
    // goes through several crashes and recoveries.
    const TRIALS_PER_LEDGER: usize = 2;
    let mut db = PathBuf::new();
    let mut known = Known {
        count: 0,
        hash: claims_core::record::GENESIS,
    };
    for (i, &t) in trials.iter().enumerate() {
        if i % TRIALS_PER_LEDGER == 0 {
            db = dir.join(format!("ledger-{t}"));
            ok("seed append", claims_at(&db).arg("append").arg(SEED));
            known = read_new(
                "seed",
                &db,
                Known {
                    count: 0,
                    hash: claims_core::record::GENESIS,
                },
            )
            .0;
        }
        let clock = Instant::now();
        let mut kids = Vec::new();
        let n = rng.range(lo, hi) as usize;
        let (batch, ids) = gen_batch(&mut rng, n, &format!("crash-{t}"));
        let file = dir.join(format!("batch-{t}.ndjson"));
        fs::write(&file, batch).unwrap();
        kids.push(Kid {
            what: format!("claims append ({n} events)"),
            child: spawn_claims(&db, &["append", file.to_str().unwrap()]),
            kill_at: None,
            expect: Expect::Batch {
                ids,
                file: file.clone(),
            },
        });
        for k in 0..rng.below(3) {
            let marker = format!("crash trial {t} assert {k} (seed {seed:#x})");
            kids.push(Kid {
                what: format!("claims assert #{k}"),
                child: spawn_claims(
                    &db,
                    &[
                        "assert",
                        "--story",
                        "crash-asserts",
                        "--by",
                        "Crash Tester",
                        "--text",
                        &marker,
                        "--at",
                        "2020-07-10T10:00Z/2020-07-10T12:00Z",
                        "--via",
                        "Reuters",
                    ],
                ),
                kill_at: None,
                expect: Expect::Assert { text: marker },
            });
        }
        for k in &mut kids {
            // Mostly late in the window, where the append seals, writes and
            // syncs (reading and checking take its first third or so);
            // sometimes right at the start; sometimes not at all.
            let u = rng.unit();
            k.kill_at = if u < 0.08 {
                None
            } else if u < 0.16 {
                Some(Duration::from_millis(rng.below(20)))
            } else {
                Some(window.mul_f64(0.3 + 0.85 * rng.unit()))
            };
        }
        stats.time[0] += clock.elapsed();
        let clock = Instant::now();
        let outs = run_kids(&mut kids);
        stats.time[1] += clock.elapsed();
        if !outs[0].status.success()
            && kids[0]
                .kill_at
                .is_some_and(|at| at.as_secs_f64() >= window.as_secs_f64() / 1.15 / 2.0)
        {
            stats.appends_killed_late += 1;
        }
        let clock = Instant::now();
        let (now, new) = read_new(&format!("trial {t}"), &db, known);
        let landed = check_trial(t, &kids, &outs, &new, &mut stats);
        known = now;
        stats.time[2] += clock.elapsed();
        let clock = Instant::now();
        // Like a user after a crash: run a lost append again (it must land
        // whole), or a landed one (it must change nothing).
        if let Expect::Batch { ids, file } = &kids[0].expect {
            let retry = rng.chance(if landed[0] { 0.05 } else { 0.2 });
            if retry {
                stats.retries += 1;
                let what = format!("trial {t}: the append run again");
                let out = ok(&what, claims_at(&db).arg("append").arg(file));
                let (now, new) = read_new(&what, &db, known);
                if landed[0] {
                    assert!(new.is_empty(), "{what}: it wrote again");
                    assert!(text(&out.stdout).contains("appended 0 events"));
                } else {
                    let got: Vec<Uuid> = new.iter().map(|r| r.event.id).collect();
                    assert_eq!(&got, ids, "{what}: it did not land whole and in order");
                }
                known = now;
            }
        }
        stats.time[3] += clock.elapsed();
    }
    stats
}

#[test]
fn crash_kills_leave_each_command_all_or_nothing() {
    let trials = env_u64("CLAIMS_CRASH_TRIALS", 30);
    let seed = env_u64("CLAIMS_CRASH_SEED", 0x5EED_C1A1);
    let stats = crash_trials(trials, seed);
    assert_eq!(
        stats.appends_exited_ok + stats.appends_killed_all + stats.appends_killed_none,
        trials
    );
}

#[test]
fn a_crash_while_creating_a_ledger_leaves_a_path_that_opens() {
    // What a first `claims` command killed inside sled's own set-up can leave:
    // sled makes `blobs/`, then writes `conf`, then creates `db`.
    let tmp = TempDir::new().unwrap();
    let conf = "segment_size: 524288\nuse_compression: false\nversion: 0.34\n";
    type Layout = fn(&Path, &str);
    let layouts: [(&str, Layout); 7] = [
        ("blobs/ only", |d, _| {
            fs::create_dir_all(d.join("blobs")).unwrap()
        }),
        ("blobs/ and an empty conf", |d, _| {
            fs::create_dir_all(d.join("blobs")).unwrap();
            fs::write(d.join("conf"), "").unwrap();
        }),
        ("blobs/ and conf, no db", |d, conf| {
            fs::create_dir_all(d.join("blobs")).unwrap();
            let mut bytes = conf.as_bytes().to_vec();
            bytes.extend_from_slice(&crc32(conf.as_bytes()).to_le_bytes());
            fs::write(d.join("conf"), bytes).unwrap();
        }),
        ("blobs/, conf and an empty db", |d, conf| {
            fs::create_dir_all(d.join("blobs")).unwrap();
            let mut bytes = conf.as_bytes().to_vec();
            bytes.extend_from_slice(&crc32(conf.as_bytes()).to_le_bytes());
            fs::write(d.join("conf"), bytes).unwrap();
            fs::write(d.join("db"), b"").unwrap();
        }),
        // Killed between sled's two writes of `conf` (its text, then its
        // checksum): sled itself calls that corrupted.
        ("blobs/ and a conf without its checksum", |d, conf| {
            fs::create_dir_all(d.join("blobs")).unwrap();
            fs::write(d.join("conf"), conf).unwrap();
        }),
        ("blobs/, a conf cut short and an empty db", |d, conf| {
            fs::create_dir_all(d.join("blobs")).unwrap();
            fs::write(d.join("conf"), &conf[..30]).unwrap();
            fs::write(d.join("db"), b"").unwrap();
        }),
        ("a conf without its checksum and an empty db", |d, conf| {
            fs::create_dir_all(d).unwrap();
            fs::write(d.join("conf"), conf).unwrap();
            fs::write(d.join("db"), b"").unwrap();
        }),
    ];
    for (i, (name, make)) in layouts.iter().enumerate() {
        let db = tmp.path().join(format!("ledger-{i}"));
        make(&db, conf);
        ok(
            &format!("append into a ledger path left as {name}"),
            claims_at(&db).arg("append").arg(SEED),
        );
        verify_ok(name, &db);
        assert_eq!(parse_export(name, &export(&db)).len(), SEED_EVENTS);
    }
}

/// CRC-32 (IEEE), as sled writes after its `conf`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= *b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn killing_the_first_command_on_a_new_path_never_strands_it() {
    let tmp = TempDir::new().unwrap();
    let mut rng = Rng(0xF1257);
    for i in 0..10 {
        let db = tmp.path().join(format!("new-{i}"));
        let mut kid = spawn_claims(&db, &["append", SEED]);
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        let _ = kid.kill();
        let out = kid.wait_with_output().unwrap();
        no_panic("killed first append", &out);
        // Whatever the kill left, the same command run again must work.
        ok(
            &format!("append after killing the first one ({i})"),
            claims_at(&db).arg("append").arg(SEED),
        );
        verify_ok("after the first append was killed", &db);
        assert_eq!(
            parse_export("new path", &export(&db)).len(),
            SEED_EVENTS,
            "trial {i}"
        );
    }
}

// ---------------------------------------------------------------- concurrency

/// Runs `claims log --json` or `claims export` until `done`, checking that
/// every read is gapless, chains, and extends the read before it.
fn reader(db: &Path, json_log: bool, done: &std::sync::atomic::AtomicBool) -> usize {
    let mut last: Vec<Record> = Vec::new();
    let mut reads = 0;
    loop {
        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
        let records = if json_log {
            let out = ok("log --json", claims_at(db).args(["log", "--json"]));
            let v: Value = serde_json::from_slice(&out.stdout).expect("log --json is JSON");
            let records: Vec<Record> = v
                .as_array()
                .expect("an array")
                .iter()
                .map(|e| Record::from_json(e).expect("a log entry"))
                .collect();
            check_chain("log --json during writes", &records);
            records
        } else {
            parse_export("export during writes", &export(db))
        };
        assert!(
            records.len() >= last.len() && records[..last.len()] == last[..],
            "a reader saw the log shrink or change (from {} to {} entries)",
            last.len(),
            records.len()
        );
        last = records;
        reads += 1;
        if finished {
            return reads;
        }
        // The lock is not a queue: leave the writers room to get in.
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn concurrent_writers(db: &Path, rng: &mut Rng, per_batch: (u64, u64)) {
    let dir = db.parent().unwrap().to_path_buf();
    let mut writers: Vec<(String, Child, Expect)> = Vec::new();
    for w in 0..4 {
        let n = rng.range(per_batch.0, per_batch.1) as usize;
        let (batch, ids) = gen_batch(rng, n, &format!("writer-{w}"));
        let file = dir.join(format!(
            "{}-writer-{w}.ndjson",
            db.file_name().unwrap().to_str().unwrap()
        ));
        fs::write(&file, batch).unwrap();
        let child = spawn_claims(db, &["append", file.to_str().unwrap()]);
        writers.push((format!("append #{w}"), child, Expect::Batch { ids, file }));
    }
    for a in 0..4 {
        let marker = format!("concurrent assert {a} into {}", db.display());
        let child = spawn_claims(
            db,
            &[
                "assert",
                "--story",
                "concurrent",
                "--by",
                "Writer",
                "--text",
                &marker,
                "--at",
                "2020-07-10",
            ],
        );
        writers.push((
            format!("assert #{a}"),
            child,
            Expect::Assert { text: marker },
        ));
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let (outs, reads) = std::thread::scope(|s| {
        let log_reader = s.spawn(|| reader(db, true, &done));
        let export_reader = s.spawn(|| reader(db, false, &done));
        let outs: Vec<Output> = writers
            .iter_mut()
            .map(|(_, c, _)| {
                let mut stdout = Vec::new();
                let mut stderr = Vec::new();
                use std::io::Read;
                c.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
                c.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
                Output {
                    status: c.wait().unwrap(),
                    stdout,
                    stderr,
                }
            })
            .collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let reads = log_reader.join().unwrap() + export_reader.join().unwrap();
        (outs, reads)
    });
    for ((what, _, _), out) in writers.iter().zip(&outs) {
        no_panic(what, out);
        assert!(
            out.status.success(),
            "{what} did not get through the lock wait: {}",
            text(&out.stderr)
        );
    }
    verify_ok("after concurrent writers", db);
    let records = parse_export("after concurrent writers", &export(db));
    let by_id: HashMap<Uuid, u64> = records.iter().map(|r| (r.event.id, r.seq)).collect();
    let mut total = 0;
    for ((what, _, expect), out) in writers.iter().zip(&outs) {
        match expect {
            Expect::Batch { ids, .. } => {
                let first = by_id[&ids[0]];
                for (i, id) in ids.iter().enumerate() {
                    assert_eq!(
                        by_id.get(id),
                        Some(&(first + i as u64)),
                        "{what}: its events are missing or not contiguous"
                    );
                }
                total += ids.len();
            }
            Expect::Assert { text: marker } => {
                let claim = text(&out.stdout).trim().to_string();
                let hits: Vec<&Record> = records
                    .iter()
                    .filter(|r| matches!(&r.event.body, Body::Asserted(a) if &a.text == marker && a.claim.to_string() == claim))
                    .collect();
                assert_eq!(
                    hits.len(),
                    1,
                    "{what}: its claim landed {} times",
                    hits.len()
                );
                total += 1;
            }
        }
    }
    assert_eq!(records.len(), SEED_EVENTS + total, "every event lands once");
    eprintln!(
        "concurrency: {} writers, {total} events, {reads} consistent reads during the writes",
        writers.len()
    );
}

#[test]
fn concurrent_writers_all_land_and_readers_see_a_prefix() {
    let (_tmp, db) = seeded();
    concurrent_writers(&db, &mut Rng(0xC0C0), (300, 800));
}

#[test]
fn concurrent_writers_on_a_new_ledger_path_all_land() {
    let tmp = TempDir::new().unwrap();
    let mut rng = Rng(0x0EE1);
    for i in 0..4 {
        let db = tmp.path().join(format!("new-{i}"));
        // No seed: every writer races to create the ledger.
        let mut kids: Vec<Child> = (0..5)
            .map(|_| spawn_claims(&db, &["append", SEED]))
            .collect();
        let n = rng.range(20, 60) as usize;
        let (batch, _) = gen_batch(&mut rng, n, "new-path");
        let _ = batch;
        let outs: Vec<Output> = kids
            .drain(..)
            .map(|k| k.wait_with_output().unwrap())
            .collect();
        for out in &outs {
            no_panic("racing first append", out);
            assert!(
                out.status.success(),
                "run {i}: a racing first append failed: {}",
                text(&out.stderr)
            );
        }
        // The first to commit appended the seed; the rest found it there.
        assert_eq!(parse_export("new path", &export(&db)).len(), SEED_EVENTS);
        verify_ok("racing first appends", &db);
    }
}

#[test]
fn the_lock_wait_gives_up_with_one_sentence() {
    let (_tmp, db) = seeded();
    let store = SledStore::open(&db, &open_options()).unwrap();
    let started = Instant::now();
    let out = claims_at(&db)
        .env("CLAIMS_LOCK_WAIT", "0.5")
        .arg("export")
        .output()
        .unwrap();
    let took = started.elapsed();
    let line = refused("export of a held ledger", &out);
    assert!(
        line.contains("in use by another process") && line.contains("0.5 s"),
        "{line}"
    );
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(20),
        "gave up after {took:?}"
    );
    drop(store);
}

#[test]
fn the_default_lock_wait_is_ten_seconds() {
    let (_tmp, db) = seeded();
    let store = SledStore::open(&db, &open_options()).unwrap();
    let started = Instant::now();
    let out = claims_at(&db)
        .env_remove("CLAIMS_LOCK_WAIT")
        .arg("export")
        .output()
        .unwrap();
    let took = started.elapsed();
    let line = refused("export of a held ledger", &out);
    // 10.0 s when it waited for the lock itself; a little more when a ledger
    // server was still opening and it waited for the server instead.
    assert!(line.contains("(waited 10."), "{line}");
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(30),
        "gave up after {took:?}"
    );
    drop(store);
}

#[test]
fn a_writer_waits_for_the_lock_and_then_succeeds() {
    let (tmp, db) = seeded();
    let (batch, ids) = gen_batch(&mut Rng(7), 200, "waited");
    let file = tmp.path().join("waited.ndjson");
    fs::write(&file, batch).unwrap();
    let store = SledStore::open(&db, &open_options()).unwrap();
    let mut kid = spawn_claims(&db, &["append", file.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        kid.try_wait().unwrap().is_none(),
        "the writer did not wait for the lock"
    );
    drop(store);
    let out = kid.wait_with_output().unwrap();
    no_panic("waiting writer", &out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records = parse_export("waited", &export(&db));
    assert_eq!(records.len(), SEED_EVENTS + ids.len());
}

// ---------------------------------------------------------------- hostile input

struct HostileCase {
    file: String,
    line: Option<usize>,
    field: Option<String>,
    why: String,
}

fn manifest() -> Vec<HostileCase> {
    let text = fs::read_to_string(Path::new(HOSTILE).join("MANIFEST.tsv")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "bad manifest line: {l}");
            HostileCase {
                file: cols[0].to_string(),
                line: (cols[1] != "-").then(|| cols[1].parse().unwrap()),
                field: (cols[2] != "-").then(|| cols[2].to_string()),
                why: cols[3].to_string(),
            }
        })
        .collect()
}

fn check_refusal(what: &str, out: &Output, line: Option<usize>, field: Option<&str>) {
    let msg = refused(what, out);
    if let Some(n) = line {
        assert!(
            msg.contains(&format!("line {n}:")),
            "{what}: the error does not name line {n}: {msg}"
        );
    }
    if let Some(f) = field {
        assert!(
            msg.contains(&format!("`{f}`")),
            "{what}: the error does not name field `{f}`: {msg}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "{what}: printed to stdout: {}",
        text(&out.stdout)
    );
}

#[test]
fn hostile_corpus_is_refused_and_changes_nothing() {
    let cases = manifest();
    assert!(
        cases.len() >= 40,
        "the corpus has only {} cases",
        cases.len()
    );
    let listed: HashSet<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    let mut on_disk = Vec::new();
    for entry in fs::read_dir(HOSTILE).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".ndjson") {
            assert!(
                listed.contains(name.as_str()),
                "{name} is not in MANIFEST.tsv"
            );
            on_disk.push(name);
        }
    }
    assert_eq!(
        on_disk.len(),
        cases.len(),
        "MANIFEST.tsv lists missing files"
    );

    let (_tmp, db) = seeded();
    let before = export(&db);
    for (i, case) in cases.iter().enumerate() {
        let path = Path::new(HOSTILE).join(&case.file);
        let what = format!("{} ({})", case.file, case.why);
        let out = run(&what, claims_at(&db).arg("append").arg(&path));
        check_refusal(&what, &out, case.line, case.field.as_deref());
        // Every third case again through standard input.
        if i % 3 == 0 {
            let out = run(
                &what,
                claims_at(&db)
                    .args(["append", "-"])
                    .write_stdin(fs::read(&path).unwrap()),
            );
            check_refusal(
                &format!("{what} on stdin"),
                &out,
                case.line,
                case.field.as_deref(),
            );
        }
        assert!(
            export(&db) == before,
            "{what}: the ledger changed after a refused append"
        );
    }
    verify_ok("after the hostile corpus", &db);
}

#[test]
fn hostile_files_that_are_not_files_are_refused() {
    let (tmp, db) = seeded();
    let before = export(&db);
    let missing = tmp.path().join("no-such-file.ndjson");
    let msg = refused(
        "missing file",
        &run("missing", claims_at(&db).arg("append").arg(&missing)),
    );
    assert!(msg.contains("no-such-file.ndjson"), "{msg}");
    let msg = refused(
        "directory",
        &run("directory", claims_at(&db).arg("append").arg(tmp.path())),
    );
    assert!(msg.contains("directory"), "{msg}");
    let msg = refused(
        "the ledger itself",
        &run("ledger as input", claims_at(&db).arg("append").arg(&db)),
    );
    assert!(msg.contains("directory"), "{msg}");
    let msg = refused(
        "empty stdin",
        &run(
            "empty stdin",
            claims_at(&db).args(["append", "-"]).write_stdin(""),
        ),
    );
    assert!(msg.contains("no events"), "{msg}");
    assert_same_text("the ledger changed", export(&db), &before);
}

#[test]
fn a_50_mb_line_is_refused_without_trouble() {
    let (tmp, db) = seeded();
    let before = export(&db);
    let good = fs::read_to_string(SEED).unwrap();
    let first = good.lines().next().unwrap();
    let big = "x".repeat(50 * 1024 * 1024);

    // Broken JSON: a string that never ends.
    let file = tmp.path().join("huge-broken.ndjson");
    fs::write(
        &file,
        format!("{first}\n{{\"id\":\"0e5e0000-0000-4000-8000-00000000ffff\",\"kind\":\"asserted\",\"text\":\"{big}"),
    )
    .unwrap();
    let out = run("50 MB broken line", claims_at(&db).arg("append").arg(&file));
    check_refusal("50 MB broken line", &out, Some(2), None);
    assert!(out.stderr.len() < 4096, "the error echoes the input");

    // Well-formed JSON, but a 50 MB field.
    let file = tmp.path().join("huge-field.ndjson");
    let event = json!({"id": "0e5e0000-0000-4000-8000-00000000fffe", "kind": "asserted",
        "claim": "0e5e0000-0000-4000-8000-00000000fffd", "story": "huge", "by": "Someone",
        "text": big, "valid": {"from": "2020-07-10T10:00:00Z"}});
    fs::write(&file, format!("{first}\n{event}\n")).unwrap();
    let out = run("50 MB event", claims_at(&db).arg("append").arg(&file));
    check_refusal("50 MB event", &out, Some(2), None);
    assert!(out.stderr.len() < 4096, "the error echoes the input");
    assert_same_text("the ledger changed", export(&db), &before);
}

#[test]
fn an_export_line_given_to_append_is_refused() {
    let (_tmp, db) = seeded();
    let before = export(&db);
    let line = std::str::from_utf8(&before)
        .unwrap()
        .lines()
        .nth(3)
        .unwrap();
    let out = run(
        "export line",
        claims_at(&db)
            .args(["append", "-"])
            .write_stdin(format!("{line}\n")),
    );
    let msg = refused("export line", &out);
    assert!(
        msg.contains("line 1:") && msg.contains("import"),
        "the error should point to `claims import`: {msg}"
    );
    assert_same_text("the ledger changed", export(&db), &before);
}

// ---------------------------------------------------------------- tampering

fn open_store(db: &Path) -> SledStore {
    SledStore::open(
        db,
        &OpenOptions {
            create: false,
            ..open_options()
        },
    )
    .unwrap()
}

/// The stored JSON of the entry at `seq`.
fn stored_json(store: &SledStore, seq: u64) -> Value {
    let raw = store.raw_log_get(seq).unwrap().expect("an entry");
    assert_eq!(raw[0], claims_core::record::ENCODING_JSON);
    serde_json::from_slice(&raw[1..]).unwrap()
}

fn put_json(store: &SledStore, seq: u64, v: &Value) {
    let mut raw = vec![claims_core::record::ENCODING_JSON];
    raw.extend(serde_json::to_vec(v).unwrap());
    store.raw_log_put(seq, &raw).unwrap();
}

/// Tampers with a seeded ledger, then requires `verify` to fail naming `seq`.
fn tampered(what: &str, seq: u64, tamper: impl FnOnce(&SledStore)) {
    let (_tmp, db) = seeded();
    {
        let store = open_store(&db);
        tamper(&store);
    }
    let out = run(what, claims_at(&db).arg("verify"));
    let msg = refused(what, &out);
    assert!(
        msg.contains(&format!("seq {seq}:")),
        "{what}: verify should name seq {seq}: {msg}"
    );
}

#[test]
fn verify_names_a_changed_entry() {
    tampered("changed text", 5, |s| {
        let mut v = stored_json(s, 5);
        v["text"] = json!("Something the source never said.");
        put_json(s, 5, &v);
    });
    tampered("changed valid time", 12, |s| {
        let mut v = stored_json(s, 12);
        v["valid"]["to"] = json!("2020-07-10T23:00:00Z");
        put_json(s, 12, &v);
    });
    tampered("changed recorded time", 3, |s| {
        let mut v = stored_json(s, 3);
        v["recorded_at"] = json!("2001-01-01T00:00:00.000000Z");
        put_json(s, 3, &v);
    });
    tampered("changed hash", 20, |s| {
        let mut v = stored_json(s, 20);
        v["hash"] = json!("00".repeat(32));
        put_json(s, 20, &v);
    });
    tampered("garbage bytes", 8, |s| {
        s.raw_log_put(8, b"\x01{not json").unwrap()
    });
    tampered("unknown encoding", 9, |s| {
        s.raw_log_put(9, b"\x07{}").unwrap()
    });
    tampered("garbage in the compact encoding", 10, |s| {
        s.raw_log_put(
            10,
            &[claims_core::record::ENCODING_COMPACT, 0xff, 0x00, 0x13],
        )
        .unwrap()
    });
}

#[test]
fn verify_names_a_resealed_entry() {
    // An entry rewritten with a correct hash of its own breaks the link to the
    // entry after it.
    tampered("resealed middle entry", 11, |s| {
        let r = Record::decode(&s.raw_log_get(10).unwrap().unwrap()).unwrap();
        let mut event = r.event.clone();
        if let Body::Asserted(a) = &mut event.body {
            a.text = "A rewritten claim.".into();
        }
        let prev = Record::decode(&s.raw_log_get(9).unwrap().unwrap())
            .unwrap()
            .hash;
        let forged = Record::seal(event, 10, r.recorded_at, &prev);
        s.raw_log_put(10, &forged.encode()).unwrap();
    });
}

/// `verify` named seq 28 of a 27-entry log ("the log ends at seq 27 but the
/// ledger's head says 27") when the last entry was rewritten with a fresh hash.
#[test]
fn verify_names_the_last_entry_when_only_the_head_hash_disagrees() {
    tampered("resealed last entry", SEED_EVENTS as u64, |s| {
        let last = SEED_EVENTS as u64;
        let r = Record::decode(&s.raw_log_get(last).unwrap().unwrap()).unwrap();
        let mut event = r.event.clone();
        if let Body::Asserted(a) = &mut event.body {
            a.by = "Someone else".into();
        }
        let prev = Record::decode(&s.raw_log_get(last - 1).unwrap().unwrap())
            .unwrap()
            .hash;
        s.raw_log_put(
            last,
            &Record::seal(event, last, r.recorded_at, &prev).encode(),
        )
        .unwrap();
    });
}

#[test]
fn verify_names_a_removed_entry() {
    tampered("removed middle entry", 9, |s| s.raw_log_remove(9).unwrap());
    tampered("removed first entry", 1, |s| s.raw_log_remove(1).unwrap());
    tampered("removed last entry", SEED_EVENTS as u64, |s| {
        s.raw_log_remove(SEED_EVENTS as u64).unwrap()
    });
}

#[test]
fn verify_names_reordered_entries() {
    tampered("swapped entries", 14, |s| {
        let a = s.raw_log_get(14).unwrap().unwrap();
        let b = s.raw_log_get(15).unwrap().unwrap();
        s.raw_log_put(14, &b).unwrap();
        s.raw_log_put(15, &a).unwrap();
    });
    tampered("swapped entries, seq fields fixed", 14, |s| {
        let mut a = stored_json(s, 14);
        let mut b = stored_json(s, 15);
        a["seq"] = json!(15);
        b["seq"] = json!(14);
        put_json(s, 14, &b);
        put_json(s, 15, &a);
    });
}

#[test]
fn verify_catches_an_index_that_disagrees_with_the_log() {
    let (_tmp, db) = seeded();
    {
        // Indexes emptied while claiming they are complete.
        let store = open_store(&db);
        store.raw_forget_indexes(SEED_EVENTS as u64).unwrap();
    }
    let msg = refused(
        "emptied indexes",
        &run("verify", claims_at(&db).arg("verify")),
    );
    assert!(msg.contains("index"), "{msg}");
}

#[test]
fn lost_index_writes_are_rebuilt_on_open() {
    let (_tmp, db) = seeded();
    let before = export(&db);
    let state_args = [
        "state",
        "--json",
        "--at",
        "2020-07-11T00:05:00+02:00",
        "--as-of",
        "2100-01-01T00:00:00Z",
    ];
    let state = text(&ok("state", claims_at(&db).args(state_args)).stdout);
    {
        let store = open_store(&db);
        store.raw_forget_indexes(0).unwrap();
    }
    verify_ok("after lost index writes", &db);
    assert_same_text("the log changed", export(&db), &before);
    assert_eq!(
        text(&ok("state", claims_at(&db).args(state_args)).stdout),
        state,
        "queries through the rebuilt indexes give another state"
    );
}

#[test]
fn an_uncommitted_entry_past_the_head_is_dropped_on_open() {
    let (_tmp, db) = seeded();
    let before = export(&db);
    {
        let store = open_store(&db);
        // A well-formed entry written past the head, as a crash between the
        // log write and the head write leaves it.
        let last =
            Record::decode(&store.raw_log_get(SEED_EVENTS as u64).unwrap().unwrap()).unwrap();
        let event: claims_core::Event = claims_core::Event::from_json(
            &json!({"id": "0e5e0000-0000-4000-8000-0000000000aa", "kind": "voided",
                "target": SEED_EVENT, "reason": "never committed"}),
            &[],
        )
        .unwrap();
        let next = Record::seal(event, SEED_EVENTS as u64 + 1, last.recorded_at, &last.hash);
        store
            .raw_log_put(SEED_EVENTS as u64 + 1, &next.encode())
            .unwrap();
    }
    verify_ok("after a leftover entry", &db);
    assert_same_text("an uncommitted entry became visible", export(&db), &before);
}

// ---------------------------------------------------------------- damage

/// Runs `verify`, `export` and `append` against `db`; each must either work or
/// be refused with one `error:` line, never panic or hang.
fn clear_error_or_ok(what: &str, db: &Path) -> Vec<Output> {
    let mut seen = Vec::new();
    for args in [vec!["verify"], vec!["export"], vec!["append", SEED]] {
        let out = run(
            what,
            claims_at(db)
                .args(&args)
                .timeout(Duration::from_secs(60))
                .env("CLAIMS_LOCK_WAIT", "2"),
        );
        match out.status.code() {
            Some(0) => {}
            Some(1) => {
                refused(&format!("{what}: {}", args[0]), &out);
            }
            other => panic!(
                "{what}: `claims {}` ended with {other:?}: {}",
                args[0],
                text(&out.stderr)
            ),
        }
        seen.push(out);
    }
    seen
}

/// `claims assert --at -1-1-1` (or a date that lies past 9999 in UTC) was
/// accepted, and the stored entry could then not be read back: `export`,
/// `verify` and every later append that looked at it failed.
#[test]
fn an_unstorable_year_is_refused_and_the_ledger_stays_readable() {
    let (_tmp, db) = seeded();
    let before = export(&db);
    for (tz, at) in [
        ("UTC", "-1-1-1"),
        ("America/New_York", "9999-12-31"),
        ("Asia/Tokyo", "0000-01-01"),
        ("UTC", "2020-07-10T00:00Z/9999-12-31T23:59:59-23:59"),
    ] {
        let out = run(
            at,
            claims_at(&db).args([
                "--tz",
                tz,
                "assert",
                "--story",
                "s",
                "--by",
                "A",
                "--text",
                "T",
                &format!("--at={at}"),
            ]),
        );
        let msg = refused(at, &out);
        assert!(msg.contains("0000 to 9999"), "{at} in {tz}: {msg}");
    }
    let event = json!({"id": "0e5e0000-0000-4000-8000-0000000000b1", "kind": "asserted",
        "claim": "0e5e0000-0000-4000-8000-0000000000b2", "story": "s", "by": "A", "text": "T",
        "valid": {"from": "2020-07-10T00:00:00Z", "to": "9999-12-31T23:59:59-23:59"}});
    let out = run(
        "append",
        claims_at(&db)
            .args(["append", "-"])
            .write_stdin(format!("{event}\n")),
    );
    check_refusal("year 10000 in UTC", &out, Some(1), Some("valid.to"));
    assert_same_text("the ledger changed", export(&db), &before);
    verify_ok("after unstorable years", &db);
}

#[test]
fn a_foreign_directory_is_refused_clearly() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("photos");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("holiday.jpg"), b"\xff\xd8\xff").unwrap();
    for args in [vec!["verify"], vec!["export"], vec!["append", SEED]] {
        let msg = refused(
            "foreign directory",
            &run("foreign", claims_at(&dir).args(&args)),
        );
        assert!(msg.contains("not a claims ledger"), "{msg}");
    }
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "claims wrote into it"
    );

    let file = tmp.path().join("notes.txt");
    fs::write(&file, "hello").unwrap();
    let msg = refused(
        "a file as --db",
        &run("file", claims_at(&file).arg("export")),
    );
    assert!(msg.contains("is a file"), "{msg}");

    let msg = refused(
        "a missing ledger",
        &run("missing", claims_at(&tmp.path().join("nope")).arg("export")),
    );
    assert!(msg.contains("no ledger"), "{msg}");
}

#[test]
fn a_sled_database_of_another_program_is_refused() {
    let tmp = TempDir::new().unwrap();
    let db = tmp.path().join("other");
    {
        let other = sled::open(&db).unwrap();
        other.insert(b"user:1", b"alice").unwrap();
        other
            .open_tree("sessions")
            .unwrap()
            .insert(b"x", b"y")
            .unwrap();
        other.flush().unwrap();
    }
    // The ledger server's files (sled itself writes a snapshot on close).
    let server_files = |db: &Path| -> Vec<String> {
        fs::read_dir(db)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("server."))
            .collect()
    };
    for args in [
        vec!["export"],
        vec!["append", SEED],
        vec!["serve", "--idle", "5"],
    ] {
        let msg = refused(
            "foreign sled",
            &run("foreign sled", claims_at(&db).args(&args)),
        );
        assert!(msg.contains("not a claims ledger"), "{msg}");
    }
    // No ledger server files were left in the other program's directory.
    assert_eq!(server_files(&db), Vec::<String>::new());
    let other = sled::open(&db).unwrap();
    assert_eq!(
        other.get(b"user:1").unwrap().as_deref(),
        Some(&b"alice"[..])
    );
}

#[test]
fn a_newer_format_version_is_refused_with_what_to_do() {
    let (_tmp, db) = seeded();
    open_store(&db)
        .raw_set_format(claims_store_sled::FORMAT_VERSION + 1)
        .unwrap();
    for args in [vec!["verify"], vec!["export"], vec!["append", SEED]] {
        let msg = refused(
            "newer format",
            &run("newer format", claims_at(&db).args(&args)),
        );
        assert!(
            msg.contains("newer") && msg.contains("upgrade"),
            "the error should say to upgrade: {msg}"
        );
    }
    // Nothing was changed by the refusals: the right build still reads it.
    open_store_raw_format(&db, claims_store_sled::FORMAT_VERSION);
    verify_ok("after the format is put back", &db);
}

fn open_store_raw_format(db: &Path, version: u32) {
    // A store of a newer format cannot be opened through `SledStore::open`;
    // set it back through sled directly.
    let raw = sled::open(db).unwrap();
    raw.open_tree("meta")
        .unwrap()
        .insert(b"format", &version.to_be_bytes())
        .unwrap();
    raw.flush().unwrap();
}

#[test]
fn damaged_sled_files_get_a_clear_error_not_a_panic() {
    let (tmp, db) = seeded();
    let good = export(&db);
    let copy = |name: &str| -> PathBuf {
        let to = tmp.path().join(name);
        copy_dir(&db, &to);
        to
    };
    let len = fs::metadata(db.join("db")).unwrap().len();
    type Damage = Box<dyn Fn(&Path)>;
    let damages: Vec<(&str, Damage)> = vec![
        (
            "db truncated to half",
            Box::new(move |d| truncate(&d.join("db"), len / 2)),
        ),
        (
            "db truncated to 0",
            Box::new(|d| truncate(&d.join("db"), 0)),
        ),
        (
            "db overwritten with noise",
            Box::new(move |d| {
                let mut rng = Rng(len);
                let noise: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                fs::write(d.join("db"), noise).unwrap();
            }),
        ),
        (
            "db zeroed",
            Box::new(move |d| fs::write(d.join("db"), vec![0u8; len as usize]).unwrap()),
        ),
        (
            "conf garbage",
            Box::new(|d| fs::write(d.join("conf"), "segment_size: banana\n").unwrap()),
        ),
        (
            "conf removed",
            Box::new(|d| fs::remove_file(d.join("conf")).unwrap()),
        ),
        (
            "db removed",
            Box::new(|d| fs::remove_file(d.join("db")).unwrap()),
        ),
        (
            "snapshots removed",
            Box::new(|d| {
                for e in fs::read_dir(d).unwrap() {
                    let p = e.unwrap().path();
                    if p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with("snap.")
                    {
                        fs::remove_file(p).unwrap();
                    }
                }
            }),
        ),
    ];
    let mut report = Vec::new();
    for (i, (name, damage)) in damages.iter().enumerate() {
        let d = copy(&format!("damaged-{i}"));
        damage(&d);
        let seen = clear_error_or_ok(name, &d);
        let (verify, export) = (&seen[0], &seen[1]);
        let read = if export.status.success() {
            if export.stdout == good {
                "reads the whole log"
            } else {
                "READS ANOTHER LOG"
            }
        } else {
            "refused"
        };
        report.push(format!(
            "{name}: verify {}, export {read}; {}",
            if verify.status.success() {
                "ok"
            } else {
                "fails"
            },
            text(&export.stderr).trim()
        ));
        // A damaged ledger may be refused or read, never misread: whatever
        // `export` gives must be the log that was written.
        assert!(
            !export.status.success() || export.stdout == good,
            "{name}: export succeeded with another log ({} of {} bytes)",
            export.stdout.len(),
            good.len()
        );
    }
    eprintln!("damage outcomes:\n{}", report.join("\n"));
}

fn truncate(path: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&e.path(), &target);
        } else if std::os::unix::fs::FileTypeExt::is_socket(&kind) {
            // A ledger server's socket is not part of the ledger.
        } else {
            fs::copy(e.path(), target).unwrap();
        }
    }
}

// ---------------------------------------------------------------- the server

#[test]
fn killing_the_ledger_server_mid_command_leaves_each_command_all_or_nothing() {
    let trials = env_u64("CLAIMS_SERVER_CRASH_TRIALS", 4);
    let mut rng = Rng(0x5E12_7E12);
    let mut outcomes = Vec::new();
    for t in 0..trials {
        let tmp = TempDir::new().unwrap();
        let db = tmp.path().join("ledger");
        ok(
            "seed",
            claims_at(&db)
                .env("CLAIMS_SERVER", "off")
                .arg("append")
                .arg(SEED),
        );
        // A server in the foreground of this test, so that it can be killed.
        let mut server = StdCommand::new(BIN)
            .arg("--db")
            .arg(&db)
            .args(["serve", "--idle", "60"])
            .env_remove("CLAIMS_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !server_ready(&db) {
            assert!(started.elapsed() < Duration::from_secs(20), "no server");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut kids = Vec::new();
        for k in 0..3 {
            let (batch, ids) = gen_batch(&mut rng, 1500, &format!("server-{t}-{k}"));
            let file = tmp.path().join(format!("batch-{k}.ndjson"));
            fs::write(&file, batch).unwrap();
            // Through the server (the default), not on their own.
            let child = StdCommand::new(BIN)
                .arg("--db")
                .arg(&db)
                .arg("append")
                .arg(&file)
                .env_remove("CLAIMS_DB")
                .env_remove("CLAIMS_SERVER")
                .env("CLAIMS_LOCK_WAIT", "60")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            kids.push((child, ids));
        }
        std::thread::sleep(Duration::from_millis(rng.below(400)));
        let _ = server.kill();
        let _ = server.wait();
        // Those that had not reached the server run on their own; all end.
        let outs: Vec<(Output, Vec<Uuid>)> = kids
            .into_iter()
            .map(|(child, ids)| (child.wait_with_output().unwrap(), ids))
            .collect();
        let present: HashSet<Uuid> = parse_export("after the kill", &export(&db))
            .iter()
            .map(|r| r.event.id)
            .collect();
        for (k, (out, ids)) in outs.into_iter().enumerate() {
            no_panic("append through a killed server", &out);
            let landed = ids.iter().filter(|id| present.contains(id)).count();
            let what = format!("trial {t}, append {k}");
            assert!(
                landed == 0 || landed == ids.len(),
                "{what}: {landed} of {} events landed",
                ids.len()
            );
            if out.status.success() {
                assert_eq!(
                    landed,
                    ids.len(),
                    "{what}: exit 0 but the events are missing"
                );
            } else {
                let line = refused(&what, &out);
                assert!(
                    line.contains("stopped before the command finished"),
                    "{what}: {line}"
                );
            }
            outcomes.push((out.status.success(), landed > 0));
        }
        verify_ok("after the server was killed", &db);
    }
    eprintln!("(exit 0, landed) per append: {outcomes:?}");
}

/// Whether the ledger's server answers.
fn server_ready(db: &Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = server::connect(&server::socket_path(db)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}
