//! The newsroom server under load (issue 14, BENCHMARKS.md "The newsroom
//! server"): the real `claims serve --listen 127.0.0.1:0` on fresh temporary
//! ledgers, driven over HTTP by threads of this process, each with its own
//! keep-alive connection (one `ureq::Agent` a thread).
//!
//! ```text
//! scripts/bench-server                      # builds in release, 60 s a phase
//! serve_load --seconds 3 --phases writers --writer-counts 32   # the CI smoke
//! ```
//!
//! Phases (`--phases`, comma-separated, default all four):
//!
//! - `writers`: for each count in `--writer-counts` (default `1,8,32`), a
//!   fresh ledger and that many writers, each posting one-event appends (a
//!   fresh `asserted`, new UUID v4 ids) for `--seconds` (default 60). Every
//!   acknowledged event id, its seq and each request's latency are recorded;
//!   then the ledger is checked through the API: every acknowledged event is
//!   in `GET /v1/export` exactly once and at the seq its answer named, seq is
//!   gapless from 1, nothing else is there, and `GET /v1/verify` answers 200
//!   with the same count. The 1-writer run is the peer: one fsync an append.
//! - `cli`: the same one-event append through `claims append -` as a whole
//!   process, `--cli-appends` times (default 200) serially on another fresh
//!   ledger with `CLAIMS_SERVER=off`, no server.
//! - `readers`: a fresh ledger loaded with `--background` events (default
//!   10000, the bench generator's workload, one POST of NDJSON) and one story
//!   of `--story-claims` claims (default 20) with follow-ups; then readers of
//!   that story's state (`GET /v1/state?story=S`) for `--seconds`: alone, for
//!   each count in `--reader-counts` (default `1,8,64`: how latency grows
//!   with them; `--readers` alone is the peer), then `--readers` readers
//!   (default 64) while `--reader-writers` writers (default 8) append to
//!   other stories. The ledger is checked as above afterwards.
//! - `state`: on the readers' ledger (needs `readers`), one story's state
//!   `--state-runs` times (default 20) each way, alternating, after one untimed
//!   run of each: a GET on a new connection from this process; `curl` (if on
//!   PATH); the remote CLI (`claims --db http://… state --story S --json`,
//!   token in `CLAIMS_TOKEN`); the local CLI on a copy (export through the
//!   API, `claims import` into another directory) with `CLAIMS_SERVER=off`, and
//!   with its local ledger server. The claims in the answers are compared.
//!
//! Results go to standard output as markdown (and to `--markdown FILE`);
//! progress to standard error. Exit 1 when a check fails or a request was not
//! answered 200, 2 on bad usage. `--claims PATH` names the `claims` binary
//! (default: the one beside this binary, same profile); `--dir DIR` keeps the
//! ledgers there instead of a temporary directory.

use claims_bench::workload;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use ureq::Agent;
use uuid::Uuid;

type Res<T> = Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match Opts::parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("serve_load: {e}");
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    match run(&opts) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("serve_load: {e}");
            std::process::exit(1);
        }
    }
}

const USAGE: &str = "usage: serve_load [--seconds S] [--phases writers,cli,readers,state] \
[--writer-counts 1,8,32] [--cli-appends N] [--reader-counts 1,8,64] [--readers N] [--reader-writers N] \
[--background N] [--story-claims N] [--state-runs N] [--claims PATH] [--dir DIR] [--markdown FILE]";

struct Opts {
    seconds: f64,
    phases: Vec<String>,
    writer_counts: Vec<usize>,
    cli_appends: usize,
    readers: usize,
    reader_counts: Vec<usize>,
    reader_writers: usize,
    background: u64,
    story_claims: usize,
    state_runs: usize,
    claims: Option<PathBuf>,
    dir: Option<PathBuf>,
    markdown: Option<PathBuf>,
}

impl Opts {
    fn parse(args: &[String]) -> Res<Opts> {
        let mut o = Opts {
            seconds: 60.0,
            phases: ["writers", "cli", "readers", "state"]
                .map(String::from)
                .to_vec(),
            writer_counts: vec![1, 8, 32],
            cli_appends: 200,
            readers: 64,
            reader_counts: vec![1, 8, 64],
            reader_writers: 8,
            background: 10_000,
            story_claims: 20,
            state_runs: 20,
            claims: None,
            dir: None,
            markdown: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
            fn num<T: std::str::FromStr>(a: &str, v: String) -> Res<T> {
                v.replace('_', "")
                    .parse()
                    .map_err(|_| format!("{a}: '{v}' is not a number"))
            }
            match a.as_str() {
                "--seconds" => o.seconds = num(a, val()?)?,
                "--phases" => o.phases = val()?.split(',').map(String::from).collect(),
                "--writer-counts" => {
                    o.writer_counts = val()?
                        .split(',')
                        .map(|v| num(a, v.to_string()))
                        .collect::<Res<_>>()?
                }
                "--cli-appends" => o.cli_appends = num(a, val()?)?,
                "--readers" => o.readers = num(a, val()?)?,
                "--reader-counts" => {
                    o.reader_counts = val()?
                        .split(',')
                        .map(|v| num(a, v.to_string()))
                        .collect::<Res<_>>()?
                }
                "--reader-writers" => o.reader_writers = num(a, val()?)?,
                "--background" => o.background = num(a, val()?)?,
                "--story-claims" => o.story_claims = num(a, val()?)?,
                "--state-runs" => o.state_runs = num(a, val()?)?,
                "--claims" => o.claims = Some(val()?.into()),
                "--dir" => o.dir = Some(val()?.into()),
                "--markdown" => o.markdown = Some(val()?.into()),
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                _ => return Err(format!("unknown argument '{a}'")),
            }
        }
        if !o.seconds.is_finite() || o.seconds <= 0.0 {
            return Err("--seconds must be more than 0".into());
        }
        for p in &o.phases {
            if !["writers", "cli", "readers", "state"].contains(&p.as_str()) {
                return Err(format!("unknown phase '{p}'"));
            }
        }
        if o.phases.iter().any(|p| p == "state") && !o.phases.iter().any(|p| p == "readers") {
            return Err("the state phase runs on the readers' ledger: add readers".into());
        }
        if o.writer_counts.contains(&0)
            || o.reader_counts.contains(&0)
            || o.readers == 0
            || o.state_runs == 0
        {
            return Err("counts must be at least 1".into());
        }
        Ok(o)
    }

    fn has(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

/// The story the readers read.
const READ_STORY: &str = "serve-load-read";

fn run(o: &Opts) -> Res<bool> {
    let claims = match &o.claims {
        Some(p) => p.clone(),
        None => {
            let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
            me.parent()
                .ok_or("no directory of this binary")?
                .join("claims")
        }
    };
    if !claims.exists() {
        return Err(format!(
            "{} is missing; build it first (or name it with --claims)",
            claims.display()
        ));
    }
    let _tmp;
    let root = match &o.dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            d.clone()
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("serve-load-")
                .tempdir()
                .map_err(|e| format!("a temporary directory: {e}"))?;
            let p = t.path().to_path_buf();
            _tmp = t;
            p
        }
    };
    let dur = Duration::from_secs_f64(o.seconds);
    let mut md = String::new();
    let mut failures: Vec<String> = Vec::new();
    let load_before = loadavg();
    let started = chrono::Utc::now();

    // 1 and 2: writers, and the serial peers.
    let mut writer_rows: Vec<(usize, WriteStats)> = Vec::new();
    if o.has("writers") {
        for &n in &o.writer_counts {
            let dir = fresh(&root, &format!("writers-{n}"))?;
            let srv = Server::start(&claims, &dir)?;
            eprintln!(
                "serve_load: {n} writer(s) for {:.0} s at {}",
                o.seconds, srv.url
            );
            let barrier = Arc::new(Barrier::new(n));
            let cpu = Cpu::start(&srv);
            let hs = spawn_writers(&srv, n, "serve-load-w", &barrier, dur);
            let mut stats = WriteStats::join(hs);
            stats.cpu = cpu.cores(stats.elapsed);
            let checks = check_ledger(&srv, &stats.acked, 0);
            srv.stop();
            record_checks(&format!("{n} writer(s)"), &mut stats, checks, &mut failures);
            writer_rows.push((n, stats));
        }
    }
    let mut cli_row: Option<(usize, f64, Vec<u64>)> = None;
    if o.has("cli") && o.cli_appends > 0 {
        let dir = fresh(&root, "cli")?;
        eprintln!("serve_load: {} serial `claims append -`", o.cli_appends);
        let mut lat = Vec::with_capacity(o.cli_appends);
        let t0 = Instant::now();
        for k in 0..o.cli_appends {
            let line = asserted(Uuid::new_v4(), Uuid::new_v4(), "serve-load-cli", 0, k);
            let t = Instant::now();
            let mut child = claims_cmd(&claims)
                .args(["--db".as_ref(), dir.as_os_str()])
                .args(["append", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("{}: {e}", claims.display()))?;
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(line.as_bytes())
                .map_err(|e| format!("claims append's stdin: {e}"))?;
            let st = child.wait().map_err(|e| format!("claims append: {e}"))?;
            if !st.success() {
                return Err(format!("claims append -: {st}"));
            }
            lat.push(t.elapsed().as_micros() as u64);
        }
        cli_row = Some((o.cli_appends, t0.elapsed().as_secs_f64(), lat));
    }

    // 3: readers, alone and beside writers; then 4 on the same ledger.
    let mut reader_rows: Vec<(String, ReadStats, Option<WriteStats>)> = Vec::new();
    let mut state_rows: Vec<(String, Vec<f64>)> = Vec::new();
    let mut ledger_events = 0u64;
    if o.has("readers") {
        let dir = fresh(&root, "readers")?;
        let srv = Server::start(&claims, &dir)?;
        eprintln!(
            "serve_load: loading {} background events and the story {READ_STORY} at {}",
            o.background, srv.url
        );
        let mut background = Vec::new();
        workload::generate(&workload::Params::new(o.background), &mut background)
            .map_err(|e| format!("the workload: {e}"))?;
        let story = read_story(o.story_claims);
        let mut preloaded = 0u64;
        for (what, body) in [("background", background), ("story", story.into_bytes())] {
            let lines = body.iter().filter(|&&b| b == b'\n').count() as u64;
            let agent = agent();
            let (status, text) = post(&agent, &srv.url, &srv.writer, &body)
                .map_err(|e| format!("POST of the {what}: {e}"))?;
            let appended = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["appended"].as_u64());
            if status != 200 || appended != Some(lines) {
                return Err(format!("POST of the {what}: {status} {text}"));
            }
            preloaded += lines;
        }
        let mut runs: Vec<(usize, usize)> = o.reader_counts.iter().map(|&r| (r, 0)).collect();
        if !o.reader_counts.contains(&o.readers) {
            runs.push((o.readers, 0));
        }
        if o.reader_writers > 0 {
            runs.push((o.readers, o.reader_writers));
        }
        for (readers, w) in runs {
            eprintln!(
                "serve_load: {readers} reader(s){} for {:.0} s",
                if w > 0 {
                    format!(" and {w} writers")
                } else {
                    String::new()
                },
                o.seconds
            );
            let barrier = Arc::new(Barrier::new(readers + w));
            let cpu = Cpu::start(&srv);
            let rh = spawn_readers(&srv, readers, &barrier, dur);
            let wh = (w > 0).then(|| spawn_writers(&srv, w, "serve-load-rw", &barrier, dur));
            let mut reads = ReadStats::join(rh);
            let writes = wh.map(WriteStats::join);
            reads.cpu = cpu.cores(reads.elapsed);
            if reads.errors > 0 {
                failures.push(format!(
                    "readers: {} requests not answered 200 (first: {})",
                    reads.errors,
                    reads.first_error.clone().unwrap_or_default()
                ));
            }
            let label = if w > 0 {
                format!("{readers} readers + {w} writers")
            } else {
                alone(readers)
            };
            reader_rows.push((label, reads, writes));
        }
        let acked: Vec<(String, u64)> = reader_rows
            .iter()
            .filter_map(|r| r.2.as_ref())
            .flat_map(|w| w.acked.iter().cloned())
            .collect();
        let export = root.join("readers-export.ndjson");
        let checks = check_ledger_to(&srv, &acked, preloaded, Some(&export));
        ledger_events = preloaded + acked.len() as u64;
        if let Some((_, _, Some(w))) = reader_rows.last_mut() {
            record_checks("readers' writers", w, checks, &mut failures);
        } else if let Err(e) = checks {
            failures.push(format!("readers' ledger: {e}"));
        }

        if o.has("state") {
            // Two copies: the local ledger server of the default runs holds
            // its copy, so the CLAIMS_SERVER=off runs need another.
            let copy = fresh(&root, "readers-copy")?;
            let copy2 = fresh(&root, "readers-copy-served")?;
            for c in [&copy, &copy2] {
                let st = claims_cmd(&claims)
                    .args([
                        "--db".as_ref(),
                        c.as_os_str(),
                        "import".as_ref(),
                        export.as_os_str(),
                    ])
                    .stdout(Stdio::null())
                    .status()
                    .map_err(|e| format!("claims import: {e}"))?;
                if !st.success() {
                    return Err(format!("claims import of the export: {st}"));
                }
            }
            eprintln!(
                "serve_load: one story's state, {} runs each way",
                o.state_runs
            );
            match state_three_ways(&claims, &srv, &copy, &copy2, o.state_runs) {
                Ok((rows, mut fails)) => {
                    state_rows = rows;
                    failures.append(&mut fails);
                }
                Err(e) => failures.push(format!("state three ways: {e}")),
            }
            // The local ledger server the default runs started, if any.
            let _ = claims_cmd(&claims)
                .args([
                    "--db".as_ref(),
                    copy2.as_os_str(),
                    "serve".as_ref(),
                    "--stop".as_ref(),
                ])
                .env_remove("CLAIMS_SERVER")
                .stdout(Stdio::null())
                .status();
        }
        srv.stop();
    }
    let load_after = loadavg();

    // The report.
    let _ = writeln!(
        md,
        "serve_load, {} UTC: {:.0} s a phase; load average (1, 5, 15 min) {} before, {} after; {} cores.\n",
        started.format("%Y-%m-%d %H:%M"),
        o.seconds,
        load_before,
        load_after,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if !writer_rows.is_empty() || cli_row.is_some() {
        let base = writer_rows.iter().find(|r| r.0 == 1).map(|r| r.1.rate());
        let _ = writeln!(
            md,
            "One-event appends (`POST /v1/events`, each writer its own keep-alive connection; latency of acknowledged requests):\n"
        );
        let _ = writeln!(
            md,
            "| writers | acknowledged events | events/s | vs 1 writer | p50 ms | p99 ms | max ms | not 200 | CPU: server, client, others (cores) | checks |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for (n, s) in &writer_rows {
            let (p50, p99, max) = pcts(&s.lat_us);
            let _ = writeln!(
                md,
                "| {n} | {} | {:.0} | {} | {p50:.2} | {p99:.2} | {max:.2} | {} | {:.2}, {:.2}, {:.2} | {} |",
                s.acked.len(),
                s.rate(),
                ratio(s.rate(), base),
                s.errors,
                s.cpu.0,
                s.cpu.1,
                s.cpu.2,
                s.verdict.as_deref().unwrap_or("—")
            );
        }
        if let Some((n, secs, lat)) = &cli_row {
            let (p50, p99, max) = pcts(lat);
            let rate = *n as f64 / secs;
            let _ = writeln!(
                md,
                "| `claims append -`, one process an event, serial, no server | {n} | {rate:.0} | {} | {p50:.2} | {p99:.2} | {max:.2} | 0 | — | — |",
                ratio(rate, base)
            );
        }
        md.push('\n');
    }
    if !reader_rows.is_empty() {
        let base = reader_rows
            .iter()
            .find(|r| r.0 == alone(o.readers))
            .map(|r| pcts(&r.1.lat_us).1);
        let _ = writeln!(
            md,
            "Readers of one story's state (`GET /v1/state?story={READ_STORY}`, {} claims, {} events in the ledger at the end; {} background events in other stories):\n",
            o.story_claims, ledger_events, o.background
        );
        let _ = writeln!(
            md,
            "| load | reads | reads/s | p50 ms | p99 ms | p99 vs alone | max ms | writers' events/s | writers' p99 ms | CPU: server, client, others (cores) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for (label, r, w) in &reader_rows {
            let (p50, p99, max) = pcts(&r.lat_us);
            let (wr, wp99) = match w {
                Some(w) => (
                    format!("{:.0}", w.rate()),
                    format!("{:.2}", pcts(&w.lat_us).1),
                ),
                None => ("—".into(), "—".into()),
            };
            let _ = writeln!(
                md,
                "| {label} | {} | {:.0} | {p50:.2} | {p99:.2} | {} | {max:.2} | {wr} | {wp99} | {:.2}, {:.2}, {:.2} |",
                r.lat_us.len(),
                r.lat_us.len() as f64 / r.elapsed,
                ratio(p99, base),
                r.cpu.0,
                r.cpu.1,
                r.cpu.2
            );
        }
        md.push('\n');
    }
    if !state_rows.is_empty() {
        let base = state_rows
            .iter()
            .find(|r| r.0.starts_with("local CLI") && r.0.contains("CLAIMS_SERVER=off"))
            .map(|r| median(&r.1));
        let _ = writeln!(
            md,
            "One story's state three ways (`state --story {READ_STORY} --json`, {} runs each, alternating; wall time):\n",
            o.state_runs
        );
        let _ = writeln!(md, "| way | median ms | min ms | max ms | vs local CLI |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for (label, t) in &state_rows {
            let min = t.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = t.iter().cloned().fold(0.0, f64::max);
            let _ = writeln!(
                md,
                "| {label} | {:.2} | {min:.2} | {max:.2} | {} |",
                median(t),
                ratio(median(t), base)
            );
        }
        md.push('\n');
    }
    if failures.is_empty() {
        let _ = writeln!(md, "All checks passed.");
    } else {
        let _ = writeln!(md, "**Checks that failed:**\n");
        for f in &failures {
            let _ = writeln!(md, "- {f}");
        }
    }
    print!("{md}");
    if let Some(p) = &o.markdown {
        std::fs::write(p, &md).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(failures.is_empty())
}

/// Keeps the checks' verdict in the row; a failure, or a request not
/// answered 200, in `failures`.
fn record_checks(
    what: &str,
    stats: &mut WriteStats,
    checks: Res<String>,
    failures: &mut Vec<String>,
) {
    match checks {
        Ok(v) => stats.verdict = Some(v),
        Err(e) => {
            stats.verdict = Some("**failed**".into());
            failures.push(format!("{what}: {e}"));
        }
    }
    if stats.errors > 0 {
        failures.push(format!(
            "{what}: {} appends not answered 200 (first: {})",
            stats.errors,
            stats.first_error.clone().unwrap_or_default()
        ));
    }
}

/// The label of a readers' run without writers.
fn alone(readers: usize) -> String {
    if readers == 1 {
        "1 reader alone".into()
    } else {
        format!("{readers} readers alone")
    }
}

/// A fresh ledger directory `name` under `root` (what was there is removed).
fn fresh(root: &Path, name: &str) -> Res<PathBuf> {
    let d = root.join(name);
    if d.exists() {
        std::fs::remove_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    Ok(d)
}

/// A `claims` command with no ledger server and no inherited target.
fn claims_cmd(claims: &Path) -> Command {
    let mut c = Command::new(claims);
    c.env("CLAIMS_SERVER", "off")
        .env_remove("CLAIMS_DB")
        .env_remove("CLAIMS_TOKEN")
        .env_remove("CLAIMS_PAGER")
        .stderr(Stdio::inherit());
    c
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------- the server

struct Server {
    child: Child,
    url: String,
    writer: String,
    reader: String,
}

impl Server {
    /// Makes a writer and a reader account in `dir`, then starts `claims
    /// serve` on it and waits for its first line.
    fn start(claims: &Path, dir: &Path) -> Res<Server> {
        let user = |name: &str, role: &str| -> Res<String> {
            let out = claims_cmd(claims)
                .args(["--db".as_ref(), dir.as_os_str()])
                .args(["user", "add", name, "--role", role])
                .stderr(Stdio::null())
                .output()
                .map_err(|e| format!("{}: {e}", claims.display()))?;
            if !out.status.success() {
                return Err(format!("claims user add {name}: {}", out.status));
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let writer = user("loadwriter", "writer")?;
        let reader = user("loadreader", "reader")?;
        let mut child = claims_cmd(claims)
            .args(["--db".as_ref(), dir.as_os_str()])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", claims.display()))?;
        let mut out = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        let _ = out.read_line(&mut first);
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(String::from);
        let Some(url) = url else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "claims serve did not say where it serves: {first:?}"
            ));
        };
        // Keep its standard output drained.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let srv = Server {
            child,
            url,
            writer,
            reader,
        };
        let a = agent();
        let t0 = Instant::now();
        loop {
            match a.get(format!("{}/healthz", srv.url)).call() {
                Ok(r) if r.status() == 200 => break,
                _ if t0.elapsed() > Duration::from_secs(10) => {
                    srv.stop();
                    return Err("claims serve did not answer /healthz in 10 s".into());
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        Ok(srv)
    }

    /// Ctrl-C (SIGINT) and a wait; SIGKILL after 10 s.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("serve_load: claims serve did not stop on SIGINT in 10 s; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive connection's client.
fn agent() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections_per_host(1)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

fn post(agent: &Agent, url: &str, token: &str, body: &[u8]) -> Result<(u16, String), ureq::Error> {
    let mut r = agent
        .post(format!("{url}/v1/events"))
        .header("Authorization", format!("Bearer {token}"))
        .content_type("application/x-ndjson")
        .send(body)?;
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string()?;
    Ok((status, text))
}

fn get(agent: &Agent, url: &str, token: &str) -> Result<(u16, String), ureq::Error> {
    let mut r = agent
        .get(url)
        .header("Authorization", format!("Bearer {token}"))
        .call()?;
    let status = r.status().as_u16();
    let text = r.body_mut().with_config().limit(1 << 30).read_to_string()?;
    Ok((status, text))
}

/// CPU time (user + system) of the server and of this process since `start`.
struct Cpu {
    pid: u32,
    server: f64,
    me: f64,
    busy: f64,
}

impl Cpu {
    fn start(srv: &Server) -> Cpu {
        let pid = srv.child.id();
        Cpu {
            pid,
            server: cpu_secs(&pid.to_string()),
            me: cpu_secs("self"),
            busy: machine_busy_secs(),
        }
    }

    /// Cores used over `secs` of wall time: (server, this process, every
    /// other process of the machine).
    fn cores(&self, secs: f64) -> (f64, f64, f64) {
        let server = (cpu_secs(&self.pid.to_string()) - self.server) / secs;
        let me = (cpu_secs("self") - self.me) / secs;
        let busy = (machine_busy_secs() - self.busy) / secs;
        (server, me, (busy - server - me).max(0.0))
    }
}

/// The machine's busy CPU time (every core, /proc/stat: user, nice, system,
/// irq, softirq, steal), at 100 ticks a second.
fn machine_busy_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return f64::NAN;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return f64::NAN;
    };
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(f64::NAN))
        .collect();
    if f.len() < 8 {
        return f64::NAN;
    }
    (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100.0
}

/// utime + stime of /proc/PID/stat, at 100 ticks a second (Linux's USER_HZ).
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let Some(rest) = stat.rsplit_once(')').map(|r| r.1) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line; `rest` starts at field 3.
    let tick = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (tick(11) + tick(12)) / 100.0
}

// ---------------------------------------------------------------- events

/// A new claim's `asserted` event, one line.
fn asserted(id: Uuid, claim: Uuid, story: &str, writer: usize, k: usize) -> String {
    format!(
        concat!(
            r#"{{"id":"{}","kind":"asserted","claim":"{}","story":"{}","by":"load writer {}","#,
            r#""text":"Load claim {} of writer {}.","valid":{{"from":"2024-05-01T00:00:00Z","to":"2024-05-01T00:01:00Z"}}}}"#,
            "\n"
        ),
        id, claim, story, writer, k, writer
    )
}

/// The readers' story: `n` claims, a corroboration of each by someone else,
/// a dispute of every third.
fn read_story(n: usize) -> String {
    let mut s = String::new();
    let mut claims = Vec::new();
    for k in 0..n {
        let claim = Uuid::new_v4();
        claims.push(claim);
        let _ = writeln!(
            s,
            r#"{{"id":"{}","kind":"asserted","claim":"{claim}","story":"{READ_STORY}","by":"Source {}","text":"Claim {k} of the story the readers read.","valid":{{"from":"2024-04-01T{:02}:00:00Z","to":"2024-04-01T{:02}:30:00Z"}},"via":["Outlet {}"]}}"#,
            Uuid::new_v4(),
            k % 7,
            k % 24,
            k % 24,
            k % 3
        );
    }
    for (k, claim) in claims.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"{{"id":"{}","kind":"corroborated","claim":"{claim}","by":"Witness {}","valid":{{"from":"2024-04-02T00:00:00Z","to":"2024-04-02T01:00:00Z"}}}}"#,
            Uuid::new_v4(),
            k
        );
        if k % 3 == 0 {
            let _ = writeln!(
                s,
                r#"{{"id":"{}","kind":"disputed","claim":"{claim}","by":"Critic {}","valid":{{"from":"2024-04-03T00:00:00Z","to":"2024-04-03T01:00:00Z"}},"reason":"Says otherwise."}}"#,
                Uuid::new_v4(),
                k
            );
        }
    }
    s
}

// ---------------------------------------------------------------- writers

struct WriterOut {
    acked: Vec<(String, u64)>,
    lat_us: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
    start: Instant,
    end: Instant,
}

struct WriteStats {
    acked: Vec<(String, u64)>,
    lat_us: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
    elapsed: f64,
    verdict: Option<String>,
    /// CPU used meanwhile, in cores: the server's, this process's, the rest
    /// of the machine's.
    cpu: (f64, f64, f64),
}

impl WriteStats {
    fn join(hs: Vec<JoinHandle<WriterOut>>) -> WriteStats {
        let outs: Vec<WriterOut> = hs
            .into_iter()
            .map(|h| h.join().expect("a writer thread"))
            .collect();
        let start = outs.iter().map(|o| o.start).min().expect("one writer");
        let end = outs.iter().map(|o| o.end).max().expect("one writer");
        let mut s = WriteStats {
            acked: Vec::new(),
            lat_us: Vec::new(),
            errors: 0,
            first_error: None,
            elapsed: (end - start).as_secs_f64(),
            verdict: None,
            cpu: (f64::NAN, f64::NAN, f64::NAN),
        };
        for o in outs {
            s.acked.extend(o.acked);
            s.lat_us.extend(o.lat_us);
            s.errors += o.errors;
            if s.first_error.is_none() {
                s.first_error = o.first_error;
            }
        }
        s
    }

    fn rate(&self) -> f64 {
        self.acked.len() as f64 / self.elapsed
    }
}

fn spawn_writers(
    srv: &Server,
    n: usize,
    story: &str,
    barrier: &Arc<Barrier>,
    dur: Duration,
) -> Vec<JoinHandle<WriterOut>> {
    (0..n)
        .map(|w| {
            let url = srv.url.clone();
            let token = srv.writer.clone();
            let story = format!("{story}-{w:02}");
            let barrier = Arc::clone(barrier);
            std::thread::spawn(move || {
                let agent = agent();
                let mut o = WriterOut {
                    acked: Vec::new(),
                    lat_us: Vec::new(),
                    errors: 0,
                    first_error: None,
                    start: Instant::now(),
                    end: Instant::now(),
                };
                barrier.wait();
                o.start = Instant::now();
                let deadline = o.start + dur;
                let mut k = 0;
                while Instant::now() < deadline {
                    let id = Uuid::new_v4();
                    let line = asserted(id, Uuid::new_v4(), &story, w, k);
                    k += 1;
                    let t = Instant::now();
                    let r = post(&agent, &url, &token, line.as_bytes());
                    let dt = t.elapsed().as_micros() as u64;
                    let seq = match &r {
                        Ok((200, text)) => serde_json::from_str::<Value>(text).ok().and_then(|v| {
                            (v["appended"] == 1 && v["first_seq"] == v["last_seq"])
                                .then(|| v["first_seq"].as_u64())
                                .flatten()
                        }),
                        _ => None,
                    };
                    match seq {
                        Some(seq) => {
                            o.acked.push((id.to_string(), seq));
                            o.lat_us.push(dt);
                        }
                        None => {
                            o.errors += 1;
                            if o.first_error.is_none() {
                                o.first_error = Some(match r {
                                    Ok((st, text)) => format!("{st} {}", text.trim()),
                                    Err(e) => e.to_string(),
                                });
                            }
                        }
                    }
                }
                o.end = Instant::now();
                o
            })
        })
        .collect()
}

// ---------------------------------------------------------------- readers

struct ReaderOut {
    lat_us: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
    start: Instant,
    end: Instant,
}

struct ReadStats {
    lat_us: Vec<u64>,
    errors: usize,
    first_error: Option<String>,
    elapsed: f64,
    /// CPU used meanwhile, in cores: the server's, this process's, the rest
    /// of the machine's.
    cpu: (f64, f64, f64),
}

impl ReadStats {
    fn join(hs: Vec<JoinHandle<ReaderOut>>) -> ReadStats {
        let outs: Vec<ReaderOut> = hs
            .into_iter()
            .map(|h| h.join().expect("a reader thread"))
            .collect();
        let start = outs.iter().map(|o| o.start).min().expect("one reader");
        let end = outs.iter().map(|o| o.end).max().expect("one reader");
        let mut s = ReadStats {
            lat_us: Vec::new(),
            errors: 0,
            first_error: None,
            elapsed: (end - start).as_secs_f64(),
            cpu: (f64::NAN, f64::NAN, f64::NAN),
        };
        for o in outs {
            s.lat_us.extend(o.lat_us);
            s.errors += o.errors;
            if s.first_error.is_none() {
                s.first_error = o.first_error;
            }
        }
        s
    }
}

fn spawn_readers(
    srv: &Server,
    n: usize,
    barrier: &Arc<Barrier>,
    dur: Duration,
) -> Vec<JoinHandle<ReaderOut>> {
    (0..n)
        .map(|_| {
            let url = format!("{}/v1/state?story={READ_STORY}", srv.url);
            let token = srv.reader.clone();
            let barrier = Arc::clone(barrier);
            std::thread::spawn(move || {
                let agent = agent();
                let mut o = ReaderOut {
                    lat_us: Vec::new(),
                    errors: 0,
                    first_error: None,
                    start: Instant::now(),
                    end: Instant::now(),
                };
                barrier.wait();
                o.start = Instant::now();
                let deadline = o.start + dur;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = get(&agent, &url, &token);
                    let dt = t.elapsed().as_micros() as u64;
                    match r {
                        Ok((200, text)) if text.contains("\"claims\"") => o.lat_us.push(dt),
                        other => {
                            o.errors += 1;
                            if o.first_error.is_none() {
                                o.first_error = Some(match other {
                                    Ok((st, text)) => format!("{st} {}", text.trim()),
                                    Err(e) => e.to_string(),
                                });
                            }
                        }
                    }
                }
                o.end = Instant::now();
                o
            })
        })
        .collect()
}

// ---------------------------------------------------------------- checks

fn check_ledger(srv: &Server, acked: &[(String, u64)], others: u64) -> Res<String> {
    check_ledger_to(srv, acked, others, None)
}

/// Every acknowledged event in `GET /v1/export` exactly once, at the seq its
/// answer named; seq gapless from 1; `others` entries besides; `GET
/// /v1/verify` 200 with the same count. Writes the export to `save`.
fn check_ledger_to(
    srv: &Server,
    acked: &[(String, u64)],
    others: u64,
    save: Option<&Path>,
) -> Res<String> {
    let agent = agent();
    let r = agent
        .get(format!("{}/v1/export", srv.url))
        .header("Authorization", format!("Bearer {}", srv.reader))
        .call()
        .map_err(|e| format!("GET /v1/export: {e}"))?;
    if r.status() != 200 {
        return Err(format!("GET /v1/export: {}", r.status()));
    }
    let mut file = match save {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?,
        )),
        None => None,
    };
    let mut want: std::collections::HashMap<&str, u64> =
        acked.iter().map(|(id, seq)| (id.as_str(), *seq)).collect();
    if want.len() != acked.len() {
        return Err("the server acknowledged one event id twice".into());
    }
    let mut seen = std::collections::HashSet::new();
    let mut n = 0u64;
    let mut problems = Vec::new();
    let reader = BufReader::new(r.into_body().into_reader());
    for line in reader.lines() {
        let line = line.map_err(|e| format!("reading the export: {e}"))?;
        if line.is_empty() {
            continue;
        }
        if let Some(f) = file.as_mut() {
            f.write_all(line.as_bytes())
                .and_then(|_| f.write_all(b"\n"))
                .map_err(|e| format!("the export's copy: {e}"))?;
        }
        n += 1;
        let v: Value =
            serde_json::from_str(&line).map_err(|e| format!("export line {n} is not JSON: {e}"))?;
        let seq = v["seq"].as_u64();
        let id = v["id"].as_str().unwrap_or_default().to_string();
        if seq != Some(n) && problems.len() < 5 {
            problems.push(format!(
                "export line {n} has seq {seq:?}: not gapless from 1"
            ));
        }
        if !seen.insert(id.clone()) && problems.len() < 5 {
            problems.push(format!("event {id} is in the export twice"));
        }
        if let Some(at) = want.remove(id.as_str()) {
            if Some(at) != seq && problems.len() < 5 {
                problems.push(format!(
                    "event {id} was acknowledged at seq {at} but is at {seq:?}"
                ));
            }
        }
    }
    if let Some(mut f) = file {
        f.flush().map_err(|e| format!("the export's copy: {e}"))?;
    }
    if !want.is_empty() {
        problems.push(format!(
            "{} acknowledged events are not in the export",
            want.len()
        ));
    }
    let expected = acked.len() as u64 + others;
    if n != expected {
        problems.push(format!(
            "the export has {n} entries, not {expected} (acknowledged + loaded)"
        ));
    }
    match get(&agent, &format!("{}/v1/verify", srv.url), &srv.reader) {
        Ok((200, text)) => {
            let count = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["count"].as_u64());
            if count != Some(n) {
                problems.push(format!("GET /v1/verify counts {count:?}, the export {n}"));
            }
        }
        Ok((st, text)) => problems.push(format!("GET /v1/verify: {st} {}", text.trim())),
        Err(e) => problems.push(format!("GET /v1/verify: {e}")),
    }
    if problems.is_empty() {
        eprintln!("serve_load: checked {n} entries: every acknowledged event once, seq 1..{n}, verify 200");
        Ok(format!("ok ({n})"))
    } else {
        Err(problems.join("; "))
    }
}

// ---------------------------------------------------------------- state

type StateRows = (Vec<(String, Vec<f64>)>, Vec<String>);

/// One way to ask for the state: its wall time in ms and its answer.
type Way<'a> = Box<dyn Fn() -> Res<(f64, String)> + 'a>;

fn state_three_ways(
    claims: &Path,
    srv: &Server,
    copy: &Path,
    copy2: &Path,
    runs: usize,
) -> Res<StateRows> {
    let url = format!("{}/v1/state?story={READ_STORY}", srv.url);
    let curl = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let run_cmd = |mut c: Command| -> Res<(f64, String)> {
        let t = Instant::now();
        let out = c
            .stdout(Stdio::piped())
            .output()
            .map_err(|e| format!("{e}"))?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if !out.status.success() {
            return Err(format!("{c:?}: {}", out.status));
        }
        Ok((ms, String::from_utf8_lossy(&out.stdout).into_owned()))
    };
    let state_args = ["state", "--story", READ_STORY, "--json"];
    let mut ways: Vec<(String, Way<'_>)> = Vec::new();
    ways.push((
        "API: one GET on a new connection, from this process".into(),
        Box::new(|| {
            let t = Instant::now();
            let (st, text) = get(&agent(), &url, &srv.reader).map_err(|e| e.to_string())?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if st != 200 {
                return Err(format!("GET /v1/state: {st}"));
            }
            Ok((ms, text))
        }),
    ));
    if curl {
        ways.push((
            "API through `curl -s` (a process)".into(),
            Box::new(|| {
                let mut c = Command::new("curl");
                c.args(["-s", "-f", "-H"])
                    .arg(format!("Authorization: Bearer {}", srv.reader))
                    .arg(&url);
                run_cmd(c)
            }),
        ));
    }
    ways.push((
        "remote CLI: `claims --db http://… state` (CLAIMS_TOKEN)".into(),
        Box::new(|| {
            let mut c = claims_cmd(claims);
            c.args(["--db", &srv.url])
                .args(state_args)
                .env("CLAIMS_TOKEN", &srv.reader);
            run_cmd(c)
        }),
    ));
    ways.push((
        "local CLI on the copy, CLAIMS_SERVER=off".into(),
        Box::new(|| {
            let mut c = claims_cmd(claims);
            c.args(["--db".as_ref(), copy.as_os_str()]).args(state_args);
            run_cmd(c)
        }),
    ));
    ways.push((
        "local CLI on a second copy, with its local ledger server (the default)".into(),
        Box::new(|| {
            let mut c = claims_cmd(claims);
            c.env_remove("CLAIMS_SERVER")
                .args(["--db".as_ref(), copy2.as_os_str()])
                .args(state_args);
            run_cmd(c)
        }),
    ));
    let mut fails = Vec::new();
    // One untimed run of each; the claims of every answer compared.
    let mut first: Option<Value> = None;
    for (label, f) in &ways {
        let (_, text) = f().map_err(|e| format!("{label}: {e}"))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{label}: {e}"))?;
        let claims = v["claims"].clone();
        match &first {
            None => first = Some(claims),
            Some(c) if *c != claims => fails.push(format!(
                "state three ways: {label} answers other claims than the API"
            )),
            Some(_) => {}
        }
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); ways.len()];
    for _ in 0..runs {
        for (i, (label, f)) in ways.iter().enumerate() {
            let (ms, _) = f().map_err(|e| format!("{label}: {e}"))?;
            times[i].push(ms);
        }
    }
    Ok((ways.into_iter().map(|w| w.0).zip(times).collect(), fails))
}

// ---------------------------------------------------------------- numbers

/// p50, p99 and max in milliseconds (nearest rank).
fn pcts(us: &[u64]) -> (f64, f64, f64) {
    if us.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mut v = us.to_vec();
    v.sort_unstable();
    let at =
        |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1000.0;
    (at(0.50), at(0.99), *v.last().unwrap() as f64 / 1000.0)
}

fn median(t: &[f64]) -> f64 {
    let mut v = t.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn ratio(x: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 => format!("{:.2}×", x / b),
        _ => "—".into(),
    }
}
