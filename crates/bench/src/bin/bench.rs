//! `claims` against SQLite on the same workload, in one run, one table.
//!
//! ```text
//! cargo build --release && cargo run --release -p claims-bench --bin bench -- --events 1000000
//! ```
//!
//! Options: `--events N` (default 1000000), `--runs R` (whole-process runs per
//! median, default 7), `--dir DIR` (work directory, default
//! `target/bench/N`), `--no-build` (do not run `cargo build` for the `claims`
//! binary first).
//!
//! Every measured operation that the table calls "process" runs as its own
//! process: `claims` is the real CLI binary (`target/<profile>/claims`), and
//! SQLite is this same bench binary re-run in a child mode (`bench child
//! sqlite-…`) that opens the database with rusqlite, does the work and exits.
//! "In-process" numbers come from child modes that time the work inside the
//! process after opening. Peak memory is the maximum resident set of the
//! process, from `/usr/bin/time -f %M` where it exists, else the child's own
//! `VmHWM` (not available for the `claims` binary).
//!
//! SQLite setup (what a careful engineer would do for these queries): WAL,
//! `synchronous=FULL`, one `events` table keyed by `seq` with a UNIQUE event
//! id, a `claims` table keyed by claim id, and indexes on (claim, seq),
//! void target, story and supersedes. The append rules are checked with
//! indexed look-ups, each batch is one transaction. The status rule of SPEC
//! is one SQL query (see `STATE_SQL`). SQLite does not compute a hash chain;
//! `claims` does.
//!
//! The SQLite *shell* peer (issue 12): the `sqlite3` command-line shell (it
//! must be on PATH; the bench says so and exits 1 if it is not) over one
//! `events` table (`seq`, `id`, `kind`, `claim`, `story`, `by`, `supersedes`,
//! `target`, `valid_from`, `valid_to`, `recorded_at`, `body`; WAL; indexes on
//! (claim, valid_to), (story, valid_to), target and supersedes), written by
//! `bench child shell-load` with rusqlite (not timed). The status rule is one
//! query of `EXISTS` subqueries per rank and a void check (`shell_sql`, also
//! printed by `bench child shell-sql AT AS_OF`, which `scripts/bench-scale`
//! uses). The timed measure is the whole process, `sqlite3 -bail DB <
//! query.sql > out`, against `claims --db D state --at T --as-of R --json >
//! out`, with the ledger server and with `CLAIMS_SERVER=off`.

use claims_bench::workload;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        let out = child::run(&args[1..]);
        println!("{out}");
        return;
    }
    if let Err(e) = parent(&args) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

type Res<T> = std::result::Result<T, String>;

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

struct Opts {
    events: u64,
    runs: usize,
    dir: PathBuf,
    build: bool,
}

fn parse_opts(args: &[String]) -> Res<Opts> {
    let mut events = 1_000_000u64;
    let mut runs = 7usize;
    let mut dir = None;
    let mut build = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--events" => events = val()?.replace('_', "").parse().map_err(err("--events"))?,
            "--runs" => runs = val()?.parse().map_err(err("--runs"))?,
            "--dir" => dir = Some(PathBuf::from(val()?)),
            "--no-build" => build = false,
            other => {
                return Err(format!(
                    "unknown option {other} (see the doc comment of crates/bench/src/bin/bench.rs)"
                ))
            }
        }
    }
    let dir = dir.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .join("bench")
            .join(events.to_string())
    });
    Ok(Opts {
        events,
        runs: runs.max(1),
        dir,
        build,
    })
}

/// The `claims` binary of the same profile as this bench binary.
fn claims_binary(build: bool) -> Res<PathBuf> {
    let me = std::env::current_exe().map_err(err("current_exe"))?;
    let profile_dir = me
        .parent()
        .ok_or("cannot find the target directory")?
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    if build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "claims", "--bin", "claims"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        if release {
            cmd.arg("--release");
        }
        let st = cmd.status().map_err(err("cargo build"))?;
        if !st.success() {
            return Err("cargo build --bin claims failed".into());
        }
    }
    let bin = profile_dir.join("claims");
    if !bin.exists() {
        return Err(format!("{} is missing; build it first", bin.display()));
    }
    Ok(bin)
}

/// One finished process: wall time, peak RSS (KiB) if known, stdout.
struct Ran {
    wall: Duration,
    rss_kib: Option<u64>,
    stdout: String,
}

fn have_time() -> bool {
    Path::new("/usr/bin/time").exists()
        && Command::new("/usr/bin/time")
            .args(["-f", "%M", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn run_proc(
    program: &Path,
    args: &[&str],
    stdin: Option<&Path>,
    timed: bool,
    tmp: &Path,
) -> Res<Ran> {
    run_proc_env(program, args, &[], stdin, timed, tmp)
}

/// [`run_proc`] with environment variables set for the child.
fn run_proc_env(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&Path>,
    timed: bool,
    tmp: &Path,
) -> Res<Ran> {
    run_proc_to(program, args, env, stdin, None, timed, tmp)
}

/// [`run_proc_env`], with the child's standard output written to `stdout`
/// (as a shell's `> out` does) when given; `Ran::stdout` is then empty.
fn run_proc_to(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&Path>,
    stdout: Option<&Path>,
    timed: bool,
    tmp: &Path,
) -> Res<Ran> {
    let rss_file = tmp.join("rss.txt");
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).stderr(Stdio::piped());
    match stdout {
        Some(p) => cmd.stdout(std::fs::File::create(p).map_err(err("stdout file"))?),
        None => cmd.stdout(Stdio::piped()),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    match stdin {
        Some(p) => cmd.stdin(std::fs::File::open(p).map_err(err("stdin"))?),
        None => cmd.stdin(Stdio::null()),
    };
    let start = Instant::now();
    let out = cmd.output().map_err(err("spawn"))?;
    let wall = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{} {} failed ({}): {}",
            program.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let rss_kib = if timed {
        std::fs::read_to_string(&rss_file)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
    } else {
        None
    };
    Ok(Ran {
        wall,
        rss_kib,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(meta) = std::fs::metadata(p) else {
        return 0;
    };
    if meta.is_file() {
        return meta.len();
    }
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| dir_bytes(&e.path())).sum())
        .unwrap_or(0)
}

fn sqlite_bytes(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| dir_bytes(Path::new(&format!("{}{s}", db.display()))))
        .sum()
}

/// A status histogram from `state --json`-shaped output, and claim → status.
fn statuses(v: &Value) -> BTreeMap<String, String> {
    v["claims"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["claim"].as_str().unwrap_or("").to_string(),
                        c["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Claim → status from the sqlite3 shell's output (`.mode tabs`: claim,
/// story, by, text, status a line).
fn shell_statuses(out: &str) -> Res<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for (i, line) in out.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 5 {
            return Err(format!(
                "the sqlite3 shell's output line {} has {} fields, not 5 (claim, story, by, text, status): {line:?}",
                i + 1,
                f.len()
            ));
        }
        m.insert(f[0].to_string(), f[4].to_string());
    }
    Ok(m)
}

fn status_histogram(m: &BTreeMap<String, String>) -> BTreeMap<&str, u64> {
    let mut h = BTreeMap::new();
    for s in m.values() {
        *h.entry(s.as_str()).or_default() += 1;
    }
    h
}

struct Row {
    what: String,
    claims: String,
    sqlite: String,
    ratio: String,
    target: String,
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.0} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

/// The `sqlite3` command-line shell on PATH, if there is one.
fn sqlite3_shell() -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("sqlite3"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn parent(args: &[String]) -> Res<()> {
    let o = parse_opts(args)?;
    let shell = sqlite3_shell().ok_or(
        "the sqlite3 command-line shell is not on PATH, and the SQLite shell peer needs it: install it (apt-get install -y sqlite3) and run the bench again",
    )?;
    let claims = claims_binary(o.build)?;
    let me = std::env::current_exe().map_err(err("current_exe"))?;
    let timed = have_time();
    std::fs::create_dir_all(&o.dir).map_err(err("creating the work directory"))?;
    let tmp = o.dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(err("tmp"))?;
    let events_file = o.dir.join("events.ndjson");
    let cdb = o.dir.join("claims.db");
    let sdb = o.dir.join("sqlite.db");
    let _ = std::fs::remove_dir_all(&cdb);
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", sdb.display()));
    }

    eprintln!(
        "bench: writing {} events to {}",
        o.events,
        events_file.display()
    );
    let summary = {
        let f = std::fs::File::create(&events_file).map_err(err("events file"))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let s = workload::generate(&workload::Params::new(o.events), &mut w)
            .map_err(err("writing events"))?;
        use std::io::Write;
        w.flush().map_err(err("writing events"))?;
        // On disk before anything is timed: otherwise the kernel's write-back
        // of these 300 MB lands in the first measurement (claims' append).
        w.get_ref().sync_all().map_err(err("syncing events"))?;
        s
    };
    let ndjson = summary.bytes;
    // The story in the middle of the log, at a time in the middle of its life.
    let (story, s_first, s_last) = summary.stories[summary.stories.len() / 2].clone();
    let story_t = workload::time(s_first + (s_last - s_first) / 2);
    // Every claim at a time two thirds into the workload's span.
    let first = summary.stories.first().map(|s| s.1).unwrap_or(0);
    let all_t = workload::time(first + (summary.latest - first) * 2 / 3);
    let as_of = "2100-01-01T00:00:00Z";
    let e = o.events as f64;
    let c = |p: &Path| p.to_str().unwrap_or("").to_string();
    let (cdb_s, sdb_s, ev_s) = (c(&cdb), c(&sdb), c(&events_file));
    let mut rows: Vec<Row> = Vec::new();

    // 1. Bulk append, durable at the end.
    eprintln!("bench: bulk append (claims)");
    // Run by the process itself in either mode (no server holds a new
    // ledger); `off` only keeps it from starting a server for what follows.
    let cb = run_proc_env(
        &claims,
        &["--db", &cdb_s, "append", &ev_s],
        OFF,
        None,
        timed,
        &tmp,
    )?;
    eprintln!("bench: bulk append (sqlite)");
    let sb = run_proc(
        &me,
        &["child", "sqlite-bulk", &sdb_s, &ev_s],
        None,
        timed,
        &tmp,
    )?;
    let sbv: Value = serde_json::from_str(sb.stdout.trim()).map_err(err("sqlite-bulk output"))?;
    let (cr, sr) = (e / cb.wall.as_secs_f64(), e / sb.wall.as_secs_f64());
    rows.push(Row {
        what: format!(
            "bulk append of {} events, durable (events/s, process)",
            o.events
        ),
        claims: format!("{} ({:.2} s)", fmt_rate(cr), cb.wall.as_secs_f64()),
        sqlite: format!("{} ({:.2} s)", fmt_rate(sr), sb.wall.as_secs_f64()),
        ratio: format!("{:.2}×", cr / sr),
        target: format!("≥ 3× — {}", verdict(cr / sr >= 3.0)),
    });
    rows.push(Row {
        what: "peak memory of the bulk append (process)".into(),
        claims: mib(cb.rss_kib),
        sqlite: mib(sb.rss_kib.or(sbv["vmhwm_kib"].as_u64())),
        ratio: ratio_opt(cb.rss_kib, sb.rss_kib.or(sbv["vmhwm_kib"].as_u64())),
        target: "—".into(),
    });

    // 2. Disk.
    let (cbytes, sbytes) = (dir_bytes(&cdb), sqlite_bytes(&sdb));
    rows.push(Row {
        what: format!("bytes on disk (NDJSON: {:.1} MB)", ndjson as f64 / 1e6),
        claims: format!(
            "{:.1} MB ({:.2}× NDJSON)",
            cbytes as f64 / 1e6,
            cbytes as f64 / ndjson as f64
        ),
        sqlite: format!(
            "{:.1} MB ({:.2}× NDJSON)",
            sbytes as f64 / 1e6,
            sbytes as f64 / ndjson as f64
        ),
        ratio: format!("{:.2}×", cbytes as f64 / sbytes as f64),
        target: format!(
            "claims ≤ 2× NDJSON — {}",
            verdict(cbytes as f64 <= 2.0 * ndjson as f64)
        ),
    });

    // 3. Open time (in-process, median of separate processes).
    eprintln!("bench: open");
    let mut co = Vec::new();
    let mut so = Vec::new();
    for _ in 0..o.runs {
        let r = run_proc(&me, &["child", "claims-open", &cdb_s], None, false, &tmp)?;
        co.push(json_f(&r.stdout, "open_ms")?);
        let r = run_proc(&me, &["child", "sqlite-open", &sdb_s], None, false, &tmp)?;
        so.push(json_f(&r.stdout, "open_ms")?);
    }
    let (co, so) = (median(co), median(so));
    rows.push(Row {
        what: "open (ms, in-process, median)".into(),
        claims: format!("{co:.2} ms"),
        sqlite: format!("{so:.2} ms"),
        ratio: format!("{:.2}×", so / co),
        target: "—".into(),
    });

    // 4. One story's state at T: whole process (through the ledger server
    // that the commands start, and without one), then in-process.
    eprintln!("bench: one story's state ({story} at {story_t})");
    let state_args = |story: &str, t: &str| -> Vec<String> {
        [
            "--db", &cdb_s, "state", "--story", story, "--at", t, "--as-of", as_of, "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // Timed runs are not wrapped in /usr/bin/time (whose own start-up would
    // be added to both sides); one more wrapped run of each measures memory.
    let sqlite_state = |story: &str, t: &str, wrapped: bool| -> Res<Ran> {
        run_proc(
            &me,
            &["child", "sqlite-state", &sdb_s, story, t, as_of],
            None,
            wrapped,
            &tmp,
        )
    };
    let claims_state = |story: &str, t: &str, env: &[(&str, &str)], wrapped: bool| -> Res<Ran> {
        let a = state_args(story, t);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        run_proc_env(&claims, &a, env, None, wrapped, &tmp)
    };
    let same = |what: &str, c: &Ran, s: &Ran| -> Res<usize> {
        let cj: Value = serde_json::from_str(&c.stdout).map_err(err("claims state output"))?;
        let sj: Value = serde_json::from_str(&s.stdout).map_err(err("sqlite state output"))?;
        let (cst, sst) = (statuses(&cj), statuses(&sj));
        if cst != sst {
            return Err(format!(
                "claims and SQLite disagree on the state of {what}:\n claims {cst:?}\n sqlite {sst:?}"
            ));
        }
        Ok(cst.len())
    };
    // Whole-process timings are a few ms each: more runs per median.
    let proc_runs = o.runs.max(PROC_RUNS);
    start_server(&claims, &cdb_s, &tmp)?;
    claims_state(&story, &story_t, &[], false)?;
    let mut cw = Vec::new();
    let mut sw = Vec::new();
    let mut n_claims = 0;
    for _ in 0..proc_runs {
        let c = claims_state(&story, &story_t, &[], false)?;
        cw.push(c.wall.as_secs_f64() * 1e3);
        let s = sqlite_state(&story, &story_t, false)?;
        sw.push(s.wall.as_secs_f64() * 1e3);
        n_claims = same(&format!("{story} at {story_t}"), &c, &s)?;
    }
    let c_rss = claims_state(&story, &story_t, &[], timed)?.rss_kib;
    let s_rss = sqlite_state(&story, &story_t, timed)?.rss_kib;
    let (cw, sw) = (median(cw), median(sw));
    rows.push(Row {
        what: format!(
            "one story's state at T, whole process, ledger server running (median ms; {n_claims} claims)"
        ),
        claims: format!("{cw:.2} ms"),
        sqlite: format!("{sw:.2} ms"),
        ratio: format!("{:.2}× faster", sw / cw),
        target: format!("≤ ½ SQLite's time — {}", verdict(cw <= sw / 2.0)),
    });
    rows.push(Row {
        what: "peak memory of that process".into(),
        claims: mib(c_rss),
        sqlite: mib(s_rss),
        ratio: ratio_opt(c_rss, s_rss),
        target: "—".into(),
    });
    // Another story each run: nothing of it is in the server's block cache.
    let others: Vec<(String, String)> = (0..proc_runs)
        .map(|i| {
            let (s, a, b) = &summary.stories[(i * 7919 + 13) % summary.stories.len()];
            (s.clone(), workload::time(a + (b - a) / 2))
        })
        .collect();
    let mut cw = Vec::new();
    let mut sw = Vec::new();
    for (s, t) in &others {
        let c = claims_state(s, t, &[], false)?;
        cw.push(c.wall.as_secs_f64() * 1e3);
        let q = sqlite_state(s, t, false)?;
        sw.push(q.wall.as_secs_f64() * 1e3);
        same(&format!("{s} at {t}"), &c, &q)?;
    }
    let (cw, sw) = (median(cw), median(sw));
    rows.push(Row {
        what: "one story's state at T, whole process, ledger server running, another story each run (median ms)".into(),
        claims: format!("{cw:.2} ms"),
        sqlite: format!("{sw:.2} ms"),
        ratio: format!("{:.2}× faster", sw / cw),
        target: format!("≤ ½ SQLite's time — {}", verdict(cw <= sw / 2.0)),
    });
    let server_rss = server_peak_kib(&claims, &cdb_s, &tmp);
    rows.push(Row {
        what: "peak memory of the ledger server, after these queries".into(),
        claims: mib(server_rss),
        sqlite: "—".into(),
        ratio: "—".into(),
        target: "—".into(),
    });
    let mut cw = Vec::new();
    let mut sw = Vec::new();
    for _ in 0..proc_runs {
        let c = claims_state(&story, &story_t, OFF, false)?;
        cw.push(c.wall.as_secs_f64() * 1e3);
        let s = sqlite_state(&story, &story_t, false)?;
        sw.push(s.wall.as_secs_f64() * 1e3);
        same(&format!("{story} at {story_t}"), &c, &s)?;
    }
    let (cw, sw) = (median(cw), median(sw));
    rows.push(Row {
        what: "one story's state at T, whole process, no server (`CLAIMS_SERVER=off`; median ms)"
            .into(),
        claims: format!("{cw:.2} ms"),
        sqlite: format!("{sw:.2} ms"),
        ratio: format!("{:.2}× faster", sw / cw),
        target: "—".into(),
    });
    let runs = (o.runs * 10).to_string();
    let r = run_proc(
        &me,
        &[
            "child",
            "claims-story",
            &cdb_s,
            &story,
            &story_t,
            as_of,
            &runs,
        ],
        None,
        false,
        &tmp,
    )?;
    let ci = json_f(&r.stdout, "median_us")?;
    let ci_first = json_f(&r.stdout, "first_us")?;
    let r = run_proc(
        &me,
        &[
            "child",
            "sqlite-story",
            &sdb_s,
            &story,
            &story_t,
            as_of,
            &runs,
        ],
        None,
        false,
        &tmp,
    )?;
    let si = json_f(&r.stdout, "median_us")?;
    let si_first = json_f(&r.stdout, "first_us")?;
    rows.push(Row {
        what: "one story's state at T, in-process, first query after open (µs; nothing cached)"
            .into(),
        claims: format!("{ci_first:.0} µs"),
        sqlite: format!("{si_first:.0} µs"),
        ratio: format!("{:.2}× faster", si_first / ci_first),
        target: "—".into(),
    });
    rows.push(Row {
        what: "one story's state at T, in-process, the same query again (median µs, ledger open)"
            .into(),
        claims: format!("{ci:.0} µs"),
        sqlite: format!("{si:.0} µs"),
        ratio: format!("{:.2}× faster", si / ci),
        target: "—".into(),
    });

    // 5. Every claim's state at T (in-process, after open).
    eprintln!("bench: every claim's state at {all_t}");
    let ca = run_proc(
        &me,
        &["child", "claims-all", &cdb_s, &all_t, as_of],
        None,
        timed,
        &tmp,
    )?;
    let sa = run_proc(
        &me,
        &["child", "sqlite-all", &sdb_s, &all_t, as_of],
        None,
        timed,
        &tmp,
    )?;
    let caj: Value = serde_json::from_str(ca.stdout.trim()).map_err(err("claims-all output"))?;
    let saj: Value = serde_json::from_str(sa.stdout.trim()).map_err(err("sqlite-all output"))?;
    if caj["histogram"] != saj["histogram"] {
        return Err(format!(
            "claims and SQLite disagree on every claim's state at {all_t}: claims {} sqlite {}",
            caj["histogram"], saj["histogram"]
        ));
    }
    let (cs, ss) = (
        caj["seconds"].as_f64().unwrap_or(f64::NAN),
        saj["seconds"].as_f64().unwrap_or(f64::NAN),
    );
    rows.push(Row {
        what: format!(
            "every claim's state at T, in-process (s; {} claims)",
            caj["claims"]
        ),
        claims: format!("{cs:.3} s = {} events/s", fmt_rate(e / cs)),
        sqlite: format!("{ss:.3} s = {} events/s", fmt_rate(e / ss)),
        ratio: format!("{:.2}× faster", ss / cs),
        target: format!(
            "≥ 4× and ≥ 1 M events/s — {}",
            verdict(ss / cs >= 4.0 && e / cs >= 1e6)
        ),
    });
    rows.push(Row {
        what: "peak memory of that process".into(),
        claims: mib(ca.rss_kib.or(caj["vmhwm_kib"].as_u64())),
        sqlite: mib(sa.rss_kib.or(saj["vmhwm_kib"].as_u64())),
        ratio: ratio_opt(
            ca.rss_kib.or(caj["vmhwm_kib"].as_u64()),
            sa.rss_kib.or(saj["vmhwm_kib"].as_u64()),
        ),
        target: "—".into(),
    });

    // 5b. Every claim's state at T, whole process, against the sqlite3 shell
    // over one table of the events (the peer of issue 12).
    eprintln!("bench: every claim's state at {all_t}, whole process, against the sqlite3 shell");
    let shdb = o.dir.join("shell.sqlite");
    let shdb_s = c(&shdb);
    run_proc(
        &me,
        &["child", "shell-load", &shdb_s, &ev_s],
        None,
        false,
        &tmp,
    )?;
    let query = tmp.join("shell-query.sql");
    std::fs::write(
        &query,
        child::shell_sql(child::micros(&all_t)?, child::micros(as_of)?),
    )
    .map_err(err("writing the shell's query"))?;
    let (shell_out, claims_out) = (tmp.join("shell.out"), tmp.join("state.json"));
    let shell_run = |wrapped: bool| -> Res<Ran> {
        run_proc_to(
            &shell,
            &["-bail", &shdb_s],
            &[],
            Some(&query),
            Some(&shell_out),
            wrapped,
            &tmp,
        )
    };
    let all_args: Vec<&str> = vec![
        "--db", &cdb_s, "state", "--at", &all_t, "--as-of", as_of, "--json",
    ];
    let claims_run = |env: &[(&str, &str)], wrapped: bool| -> Res<Ran> {
        run_proc_to(
            &claims,
            &all_args,
            env,
            None,
            Some(&claims_out),
            wrapped,
            &tmp,
        )
    };
    // Both outputs must give every claim the same status (and so the same
    // histogram), or no table is printed.
    let check = |mode: &str| -> Res<usize> {
        let text = std::fs::read_to_string(&claims_out).map_err(err("claims' output"))?;
        let cj: Value = serde_json::from_str(&text).map_err(err("claims state --json output"))?;
        let cst = statuses(&cj);
        let text = std::fs::read_to_string(&shell_out).map_err(err("the shell's output"))?;
        let sst = shell_statuses(&text)?;
        let (ch, sh) = (status_histogram(&cst), status_histogram(&sst));
        if ch != sh {
            return Err(format!(
                "claims ({mode}) and the sqlite3 shell disagree on every claim's state at {all_t}: status histogram claims {ch:?}, sqlite3 {sh:?}"
            ));
        }
        if cst != sst {
            let first = cst
                .iter()
                .find(|(k, v)| sst.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k}: claims {v}, sqlite3 {:?}", sst.get(k)))
                .unwrap_or_else(|| "a claim only the sqlite3 shell lists".into());
            return Err(format!(
                "claims ({mode}) and the sqlite3 shell give the same histogram but not the same claims at {all_t}; first difference {first}"
            ));
        }
        Ok(cst.len())
    };
    for (mode, env) in [
        ("ledger server running", &[][..]),
        ("no server (`CLAIMS_SERVER=off`)", OFF),
    ] {
        if env.is_empty() {
            // The in-process row above opened the ledger, so the server let go.
            start_server(&claims, &cdb_s, &tmp)?;
        }
        // One untimed run of each, checked (as for the story rows).
        shell_run(false)?;
        claims_run(env, false)?;
        let n_all = check(mode)?;
        let mut cw = Vec::new();
        let mut sw = Vec::new();
        for _ in 0..o.runs {
            cw.push(claims_run(env, false)?.wall.as_secs_f64());
            sw.push(shell_run(false)?.wall.as_secs_f64());
        }
        check(mode)?;
        let (cw, sw) = (median(cw), median(sw));
        rows.push(Row {
            what: format!(
                "every claim's state at T, whole process, {mode} (`state --json > out` against `sqlite3 DB < query.sql > out`; median s; {n_all} claims)"
            ),
            claims: format!("{cw:.3} s = {} events/s", fmt_rate(e / cw)),
            sqlite: format!("{sw:.3} s (sqlite3 shell)"),
            ratio: format!("{:.2}× faster", sw / cw),
            target: format!(
                "≥ 4× and ≥ 1 M events/s — {}",
                verdict(sw / cw >= 4.0 && e / cw >= 1e6)
            ),
        });
        if env.is_empty() {
            let server_rss = server_peak_kib(&claims, &cdb_s, &tmp);
            rows.push(Row {
                what: "peak memory of the ledger server, after every claim's state".into(),
                claims: mib(server_rss),
                sqlite: "—".into(),
                ratio: "—".into(),
                target: "—".into(),
            });
        } else {
            let c_rss = claims_run(env, timed)?.rss_kib;
            let s_rss = shell_run(timed)?.rss_kib;
            rows.push(Row {
                what: "peak memory of that process (claims, no server; the sqlite3 shell)".into(),
                claims: mib(c_rss),
                sqlite: mib(s_rss),
                ratio: ratio_opt(c_rss, s_rss),
                target: "—".into(),
            });
        }
    }

    // 6. One durable assert, whole process: through the ledger server, and
    // without one.
    eprintln!("bench: one durable assert");
    let assert_args = |text: &str| -> Vec<String> {
        [
            "--db",
            &cdb_s,
            "assert",
            "--story",
            "bench-asserts",
            "--by",
            "a spokesperson",
            "--text",
            text,
            "--at",
            "2024-05-01T10:00:00Z",
            "--via",
            "Reuters",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    for (mode, env) in [
        ("ledger server running", &[][..]),
        ("no server (`CLAIMS_SERVER=off`)", OFF),
    ] {
        if env.is_empty() {
            start_server(&claims, &cdb_s, &tmp)?;
        }
        let mut ca = Vec::new();
        let mut sa = Vec::new();
        for i in 0..proc_runs {
            let text = format!("Bench claim number {i} ({mode}) says the minister resigned");
            let a = assert_args(&text);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let r = run_proc_env(&claims, &a, env, None, false, &tmp)?;
            ca.push(r.wall.as_secs_f64() * 1e3);
            let r = run_proc(
                &me,
                &["child", "sqlite-assert", &sdb_s, &text],
                None,
                false,
                &tmp,
            )?;
            sa.push(r.wall.as_secs_f64() * 1e3);
        }
        let (ca, sa) = (median(ca), median(sa));
        rows.push(Row {
            what: format!("one durable assert, whole process, {mode} (median ms)"),
            claims: format!("{ca:.2} ms"),
            sqlite: format!("{sa:.2} ms"),
            ratio: format!("{:.2}× faster", sa / ca),
            target: if env.is_empty() {
                format!("no slower than SQLite — {}", verdict(ca <= sa))
            } else {
                "—".into()
            },
        });
    }
    run_proc(
        &claims,
        &["--db", &cdb_s, "serve", "--stop"],
        None,
        false,
        &tmp,
    )?;

    print_table(&o, &summary, &story, &story_t, &all_t, timed, &rows);
    Ok(())
}

/// Runs per median of the whole-process rows, at least.
const PROC_RUNS: usize = 20;

/// The environment of a `claims` command that runs on its own, with no
/// ledger server.
const OFF: &[(&str, &str)] = &[("CLAIMS_SERVER", "off")];

/// The pid of the ledger's server, if one answers `serve --status`.
fn server_pid(claims: &Path, db: &str, tmp: &Path) -> Option<u32> {
    let r = run_proc(claims, &["--db", db, "serve", "--status"], None, false, tmp).ok()?;
    r.stdout
        .strip_prefix("a ledger server (pid ")?
        .split(')')
        .next()?
        .parse()
        .ok()
}

/// Makes sure a ledger server holds the ledger: a command that finds none
/// runs on its own and starts one; then waits until the server answers.
fn start_server(claims: &Path, db: &str, tmp: &Path) -> Res<u32> {
    run_proc(
        claims,
        &["--db", db, "log", "--since", "18446744073709551615"],
        None,
        false,
        tmp,
    )?;
    let started = Instant::now();
    loop {
        if let Some(pid) = server_pid(claims, db, tmp) {
            return Ok(pid);
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            return Err("no ledger server started within a minute".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The ledger server's peak resident memory (VmHWM), in KiB.
fn server_peak_kib(claims: &Path, db: &str, tmp: &Path) -> Option<u64> {
    let pid = server_pid(claims, db, tmp)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn ratio_opt(a: Option<u64>, b: Option<u64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0 => format!("{:.2}×", a as f64 / b as f64),
        _ => "—".into(),
    }
}

fn json_f(out: &str, key: &str) -> Res<f64> {
    let v: Value =
        serde_json::from_str(out.trim()).map_err(|e| format!("child output {out:?}: {e}"))?;
    v[key]
        .as_f64()
        .ok_or(format!("child output lacks {key}: {out}"))
}

#[allow(clippy::too_many_arguments)]
fn print_table(
    o: &Opts,
    s: &workload::Summary,
    story: &str,
    story_t: &str,
    all_t: &str,
    timed: bool,
    rows: &[Row],
) {
    println!(
        "\n{} events ({} stories, {} claims, {} voids, {} supersedes; NDJSON {:.1} MB, {:.0} B/event); {} runs per median ({} for whole-process rows); peak memory from {}",
        s.events,
        s.stories.len(),
        s.claims,
        s.voids,
        s.supersedes,
        s.bytes as f64 / 1e6,
        s.bytes as f64 / s.events.max(1) as f64,
        o.runs,
        o.runs.max(PROC_RUNS),
        if timed { "/usr/bin/time" } else { "VmHWM of the bench's own child processes (n/a for the claims binary)" }
    );
    println!("story: {story} at {story_t}; every claim at {all_t}; as of 2100-01-01\n");
    println!("| measure | claims | SQLite | claims vs SQLite | target |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.what, r.claims, r.sqlite, r.ratio, r.target
        );
    }
}

// ---------------------------------------------------------------------------
// Child modes.

mod child {
    use super::*;
    use rusqlite::{params, Connection, OptionalExtension};

    pub fn run(args: &[String]) -> String {
        let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
        let r = match a(0) {
            "sqlite-bulk" => sqlite_bulk(a(1), a(2)),
            "sqlite-open" => sqlite_open(a(1)),
            "sqlite-state" => sqlite_state(a(1), a(2), a(3), a(4)),
            "sqlite-story" => sqlite_story(a(1), a(2), a(3), a(4), a(5)),
            "sqlite-all" => sqlite_all(a(1), a(2), a(3)),
            "sqlite-assert" => sqlite_assert(a(1), a(2)),
            "claims-open" => claims_open(a(1)),
            "claims-story" => claims_story(a(1), a(2), a(3), a(4), a(5)),
            "claims-all" => claims_all(a(1), a(2), a(3)),
            "shell-load" => shell_load(a(1), a(2)),
            "shell-sql" => {
                micros(a(1)).and_then(|t| Ok(shell_sql(t, micros(a(2))?).trim_end().to_string()))
            }
            other => Err(format!("unknown child mode {other}")),
        };
        match r {
            Ok(v) => v,
            Err(e) => {
                eprintln!("bench child {}: {e}", a(0));
                std::process::exit(1);
            }
        }
    }

    fn vmhwm_kib() -> Option<u64> {
        let s = std::fs::read_to_string("/proc/self/status").ok()?;
        s.lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    pub fn micros(s: &str) -> Res<i64> {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_micros())
            .map_err(|e| format!("time {s}: {e}"))
    }

    fn now_micros() -> i64 {
        chrono::Utc::now().timestamp_micros()
    }

    const SCHEMA: &str = "
        CREATE TABLE IF NOT EXISTS events(
            seq INTEGER PRIMARY KEY,
            id BLOB NOT NULL UNIQUE,
            kind INTEGER NOT NULL,      -- 0 asserted 1 corroborated 2 disputed 3 refuted 4 retracted 5 voided
            claim BLOB,                 -- world events
            by TEXT,
            valid_from INTEGER,         -- µs since the epoch
            valid_to INTEGER,
            recorded_at INTEGER NOT NULL,
            target BLOB,                -- voided
            body TEXT NOT NULL          -- the event's JSON
        );
        CREATE TABLE IF NOT EXISTS claims(
            claim BLOB PRIMARY KEY,
            story TEXT NOT NULL,
            by TEXT NOT NULL,
            text TEXT NOT NULL,
            asserted_seq INTEGER NOT NULL,
            valid_from INTEGER NOT NULL,
            supersedes BLOB
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS events_claim ON events(claim, seq) WHERE claim IS NOT NULL;
        CREATE INDEX IF NOT EXISTS events_target ON events(target) WHERE target IS NOT NULL;
        CREATE INDEX IF NOT EXISTS claims_story ON claims(story);
        CREATE INDEX IF NOT EXISTS claims_supersedes ON claims(supersedes) WHERE supersedes IS NOT NULL;
    ";

    fn open(db: &str) -> Res<Connection> {
        let conn = Connection::open(db).map_err(err("open"))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(err("busy_timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err("WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err("synchronous"))?;
        Ok(conn)
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ValidIn<'a> {
        #[serde(borrow)]
        from: Cow<'a, str>,
        #[serde(default, borrow)]
        to: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        #[allow(dead_code)] // parsed (and so checked to be a string), not stored apart
        text: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct In<'a> {
        #[serde(borrow)]
        id: Cow<'a, str>,
        #[serde(borrow)]
        kind: Cow<'a, str>,
        #[serde(default, borrow)]
        claim: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        story: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        by: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        text: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        valid: Option<ValidIn<'a>>,
        #[serde(default, borrow)]
        quote: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        lang: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        translation: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        via: Option<Vec<Cow<'a, str>>>,
        #[serde(default, borrow)]
        source: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        supersedes: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        note: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        reason: Option<Cow<'a, str>>,
        #[serde(default, borrow)]
        target: Option<Cow<'a, str>>,
    }

    fn uuid(s: &Option<Cow<str>>, field: &str) -> Res<[u8; 16]> {
        let s = s.as_deref().ok_or(format!("field `{field}` is missing"))?;
        uuid::Uuid::parse_str(s)
            .map(|u| *u.as_bytes())
            .map_err(|_| format!("field `{field}` is not a UUID"))
    }

    fn text<'a>(s: &'a Option<Cow<str>>, field: &str) -> Res<&'a str> {
        match s.as_deref() {
            Some(t) if !t.trim().is_empty() => Ok(t),
            _ => Err(format!("field `{field}` is missing or blank")),
        }
    }

    struct Stmts<'c> {
        by_id: rusqlite::Statement<'c>,
        claim: rusqlite::Statement<'c>,
        ins_event: rusqlite::Statement<'c>,
        ins_claim: rusqlite::Statement<'c>,
    }

    impl<'c> Stmts<'c> {
        fn new(tx: &'c Connection) -> Res<Self> {
            Ok(Stmts {
                by_id: tx.prepare("SELECT kind, body FROM events WHERE id = ?1").map_err(err("prepare"))?,
                claim: tx.prepare("SELECT valid_from FROM claims WHERE claim = ?1").map_err(err("prepare"))?,
                ins_event: tx
                    .prepare(
                        "INSERT INTO events(id, kind, claim, by, valid_from, valid_to, recorded_at, target, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .map_err(err("prepare"))?,
                ins_claim: tx
                    .prepare(
                        "INSERT INTO claims(claim, story, by, text, asserted_seq, valid_from, supersedes)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )
                    .map_err(err("prepare"))?,
            })
        }

        /// Checks the append rules for one line and inserts it. `Ok(false)`:
        /// an identical event was already there.
        fn append(&mut self, conn: &Connection, line: &str, recorded_at: i64) -> Res<bool> {
            let ev: In = serde_json::from_str(line).map_err(err("JSON"))?;
            let id = uuid(&Some(ev.id.clone()), "id")?;
            let kind = match ev.kind.as_ref() {
                "asserted" => 0,
                "corroborated" => 1,
                "disputed" => 2,
                "refuted" => 3,
                "retracted" => 4,
                "voided" => 5,
                k => return Err(format!("field `kind`: unknown kind {k}")),
            };
            if let Some((_, body)) = self
                .by_id
                .query_row(params![&id[..]], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .optional()
                .map_err(err("select"))?
            {
                if body == line {
                    return Ok(false);
                }
                return Err("field `id`: already in the ledger with different content".into());
            }
            let allowed: &[bool] = match kind {
                // story text quote lang translation supersedes note reason target
                0 => &[true, true, true, true, true, true, false, false, false],
                1 => &[false, false, true, true, true, false, true, false, false],
                2..=4 => &[false, false, true, true, true, false, false, true, false],
                _ => &[false, false, false, false, false, false, false, true, true],
            };
            let present = [
                ev.story.is_some(),
                ev.text.is_some(),
                ev.quote.is_some(),
                ev.lang.is_some(),
                ev.translation.is_some(),
                ev.supersedes.is_some(),
                ev.note.is_some(),
                ev.reason.is_some(),
                ev.target.is_some(),
            ];
            if present.iter().zip(allowed).any(|(p, a)| *p && !a) {
                return Err("a field that this kind does not take".into());
            }
            if let Some(via) = &ev.via {
                if via.iter().any(|v| v.trim().is_empty()) {
                    return Err("field `via`: blank outlet".into());
                }
            }
            if kind == 5 {
                if ev.by.is_some()
                    || ev.valid.is_some()
                    || ev.claim.is_some()
                    || ev.via.is_some()
                    || ev.source.is_some()
                {
                    return Err("a field that `voided` does not take".into());
                }
                text(&ev.reason, "reason")?;
                let target = uuid(&ev.target, "target")?;
                match self
                    .by_id
                    .query_row(params![&target[..]], |r| r.get::<_, i64>(0))
                    .optional()
                    .map_err(err("select"))?
                {
                    None => return Err("field `target`: no such event".into()),
                    Some(5) => return Err("field `target`: a void cannot be voided".into()),
                    Some(_) => {}
                }
                self.ins_event
                    .execute(params![
                        &id[..],
                        kind,
                        None::<&[u8]>,
                        None::<&str>,
                        None::<i64>,
                        None::<i64>,
                        recorded_at,
                        &target[..],
                        line
                    ])
                    .map_err(err("insert"))?;
                return Ok(true);
            }
            let claim = uuid(&ev.claim, "claim")?;
            let by = text(&ev.by, "by")?;
            let valid = ev.valid.as_ref().ok_or("field `valid` is missing")?;
            let from = micros(&valid.from)?;
            let to = match &valid.to {
                Some(t) => micros(t)?,
                None => from,
            };
            if from > to {
                return Err("field `valid`: from > to".into());
            }
            let asserted_from: Option<i64> = self
                .claim
                .query_row(params![&claim[..]], |r| r.get(0))
                .optional()
                .map_err(err("select"))?;
            if kind == 0 {
                let story = text(&ev.story, "story")?;
                if story.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    return Err("field `story` must be a slug".into());
                }
                let t = text(&ev.text, "text")?;
                if asserted_from.is_some() {
                    return Err("field `claim`: already asserted".into());
                }
                let sup = match &ev.supersedes {
                    None => None,
                    Some(_) => {
                        let s = uuid(&ev.supersedes, "supersedes")?;
                        if s == claim
                            || self
                                .claim
                                .query_row(params![&s[..]], |r| r.get::<_, i64>(0))
                                .optional()
                                .map_err(err("select"))?
                                .is_none()
                        {
                            return Err("field `supersedes`: no such claim".into());
                        }
                        Some(s)
                    }
                };
                self.ins_event
                    .execute(params![
                        &id[..],
                        kind,
                        &claim[..],
                        by,
                        from,
                        to,
                        recorded_at,
                        None::<&[u8]>,
                        line
                    ])
                    .map_err(err("insert"))?;
                let seq = conn.last_insert_rowid();
                self.ins_claim
                    .execute(params![
                        &claim[..],
                        story,
                        by,
                        t,
                        seq,
                        from,
                        sup.as_ref().map(|s| &s[..])
                    ])
                    .map_err(err("insert claim"))?;
            } else {
                match asserted_from {
                    None => return Err("field `claim`: no such claim".into()),
                    Some(a) if from < a => {
                        return Err("field `valid.from`: before the claim's assertion".into())
                    }
                    Some(_) => {}
                }
                self.ins_event
                    .execute(params![
                        &id[..],
                        kind,
                        &claim[..],
                        by,
                        from,
                        to,
                        recorded_at,
                        None::<&[u8]>,
                        line
                    ])
                    .map_err(err("insert"))?;
            }
            Ok(true)
        }
    }

    fn sqlite_bulk(db: &str, file: &str) -> Res<String> {
        let bytes = std::fs::read_to_string(file).map_err(err("reading events"))?;
        let mut conn = open(db)?;
        conn.execute_batch(SCHEMA).map_err(err("schema"))?;
        let now = now_micros();
        let tx = conn.transaction().map_err(err("begin"))?;
        let mut n = 0u64;
        {
            let mut st = Stmts::new(&tx)?;
            for (i, line) in bytes.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                if st
                    .append(&tx, line, now)
                    .map_err(|e| format!("line {}: {e}", i + 1))?
                {
                    n += 1;
                }
            }
        }
        tx.commit().map_err(err("commit"))?;
        Ok(json!({"appended": n, "vmhwm_kib": vmhwm_kib()}).to_string())
    }

    fn sqlite_assert(db: &str, text: &str) -> Res<String> {
        // What `claims assert` does: build the event, check it, commit it durably.
        let mut conn = open(db)?;
        let id = uuid::Uuid::now_v7();
        let claim = uuid::Uuid::now_v7();
        let line = json!({
            "id": id.to_string(), "kind": "asserted", "claim": claim.to_string(),
            "story": "bench-asserts", "by": "a spokesperson", "text": text,
            "valid": {"from": "2024-05-01T10:00:00Z", "to": "2024-05-01T10:00:00Z"},
            "via": ["Reuters"],
        })
        .to_string();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err("begin"))?;
        {
            let mut st = Stmts::new(&tx)?;
            st.append(&tx, &line, now_micros())?;
        }
        tx.commit().map_err(err("commit"))?;
        Ok(json!({"claim": claim.to_string()}).to_string())
    }

    fn sqlite_open(db: &str) -> Res<String> {
        let t = Instant::now();
        let conn = open(db)?;
        let n: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(err("query"))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        Ok(json!({"open_ms": ms, "tables": n}).to_string())
    }

    /// SPEC's status rule in SQL. `?1` valid time T, `?2` recorded time R (µs),
    /// `{STORY}` is `c.story = ?3` for one story (so the story index is used)
    /// or `?3 IS NULL` for every story (see `sql`). One row per claim whose assertion
    /// counts at (T, R): status rank (0 reported … 5 retracted), since (µs),
    /// number of its own counting events.
    pub const STATE_SQL: &str = "
        WITH sc AS (
            SELECT c.claim, c.by, c.text, c.story, a.valid_to AS a_to
            FROM claims c JOIN events a ON a.seq = c.asserted_seq
            WHERE {STORY}
              AND a.recorded_at <= ?2 AND a.valid_to <= ?1
              AND NOT EXISTS (SELECT 1 FROM events v WHERE v.target = a.id AND v.recorded_at <= ?2)
        ),
        contrib(claim, rank, t, own) AS (
            SELECT claim, 0, a_to, 1 FROM sc
            UNION ALL
            SELECT sc.claim,
                   CASE e.kind WHEN 4 THEN 5 WHEN 3 THEN 3 WHEN 2 THEN 2
                        ELSE CASE WHEN lower(trim(e.by)) <> lower(trim(sc.by)) THEN 1 END END,
                   e.valid_to, 1
            FROM sc JOIN events e ON e.claim = sc.claim
            WHERE e.kind BETWEEN 1 AND 4 AND e.recorded_at <= ?2 AND e.valid_to <= ?1
              AND NOT EXISTS (SELECT 1 FROM events v WHERE v.target = e.id AND v.recorded_at <= ?2)
            UNION ALL
            SELECT sc.claim, 4, s.valid_to, 0
            FROM sc JOIN claims o ON o.supersedes = sc.claim JOIN events s ON s.seq = o.asserted_seq
            WHERE s.recorded_at <= ?2 AND s.valid_to <= ?1
              AND NOT EXISTS (SELECT 1 FROM events v WHERE v.target = s.id AND v.recorded_at <= ?2)
        ),
        ranked AS (
            SELECT claim, rank, t,
                   ROW_NUMBER() OVER (PARTITION BY claim ORDER BY rank IS NULL, rank DESC, t) AS rn,
                   SUM(own) OVER (PARTITION BY claim) AS events
            FROM contrib
        )
        SELECT sc.claim, sc.story, sc.by, sc.text, r.rank, r.t, r.events
        FROM ranked r JOIN sc ON sc.claim = r.claim
        WHERE r.rn = 1";

    /// The events of present claims that possibly, not certainly, happened by T.
    const PENDING_EVENTS_SQL: &str = "
        SELECT e.claim, e.body FROM claims c JOIN events a ON a.seq = c.asserted_seq
        JOIN events e ON e.claim = c.claim
        WHERE {STORY}
          AND a.recorded_at <= ?2 AND a.valid_to <= ?1
          AND NOT EXISTS (SELECT 1 FROM events v WHERE v.target = a.id AND v.recorded_at <= ?2)
          AND e.kind BETWEEN 1 AND 4 AND e.recorded_at <= ?2 AND e.valid_from <= ?1 AND e.valid_to > ?1
          AND NOT EXISTS (SELECT 1 FROM events v WHERE v.target = e.id AND v.recorded_at <= ?2)
        ORDER BY e.seq";

    /// Claims whose assertion possibly, not certainly, happened by T.
    const PENDING_CLAIMS_SQL: &str = "
        SELECT c.claim, a.body FROM claims c JOIN events a ON a.seq = c.asserted_seq
        WHERE {STORY}
          AND a.recorded_at <= ?2 AND a.valid_from <= ?1 AND a.valid_to > ?1
          AND NOT EXISTS (SELECT 1 FROM events v WHERE v.target = a.id AND v.recorded_at <= ?2)
        ORDER BY a.seq";

    const STATUS: [&str; 6] = [
        "reported",
        "corroborated",
        "disputed",
        "refuted",
        "superseded",
        "retracted",
    ];

    fn hex_uuid(b: &[u8]) -> String {
        uuid::Uuid::from_slice(b)
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    fn fmt_micros(us: i64) -> String {
        chrono::DateTime::from_timestamp_micros(us)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            .unwrap_or_default()
    }

    /// One of the queries above for one story or (`story` None) every story.
    fn sql(q: &str, story: Option<&str>) -> String {
        q.replace(
            "{STORY}",
            if story.is_some() {
                "c.story = ?3"
            } else {
                "?3 IS NULL"
            },
        )
    }

    /// The state as SPEC's JSON shape (the fields the bench compares).
    fn sqlite_state_json(conn: &Connection, story: Option<&str>, t: i64, r: i64) -> Res<Value> {
        let mut pending_events: HashMap<Vec<u8>, Vec<Value>> = HashMap::new();
        let mut st = conn
            .prepare_cached(&sql(PENDING_EVENTS_SQL, story))
            .map_err(err("prepare"))?;
        let mut rows = st.query(params![t, r, story]).map_err(err("query"))?;
        while let Some(row) = rows.next().map_err(err("row"))? {
            let c: Vec<u8> = row.get(0).map_err(err("col"))?;
            let body: String = row.get(1).map_err(err("col"))?;
            pending_events
                .entry(c)
                .or_default()
                .push(serde_json::from_str(&body).map_err(err("body"))?);
        }
        let mut st = conn
            .prepare_cached(&sql(STATE_SQL, story))
            .map_err(err("prepare"))?;
        let mut rows = st.query(params![t, r, story]).map_err(err("query"))?;
        let mut claims = Vec::new();
        while let Some(row) = rows.next().map_err(err("row"))? {
            let c: Vec<u8> = row.get(0).map_err(err("col"))?;
            let rank: i64 = row.get(4).map_err(err("col"))?;
            claims.push(json!({
                "claim": hex_uuid(&c),
                "story": row.get::<_, String>(1).map_err(err("col"))?,
                "by": row.get::<_, String>(2).map_err(err("col"))?,
                "text": row.get::<_, String>(3).map_err(err("col"))?,
                "status": STATUS[rank as usize],
                "since": fmt_micros(row.get(5).map_err(err("col"))?),
                "events": row.get::<_, i64>(6).map_err(err("col"))?,
                "pending": pending_events.remove(&c).unwrap_or_default(),
            }));
        }
        let mut st = conn
            .prepare_cached(&sql(PENDING_CLAIMS_SQL, story))
            .map_err(err("prepare"))?;
        let mut rows = st.query(params![t, r, story]).map_err(err("query"))?;
        let mut pending = Vec::new();
        while let Some(row) = rows.next().map_err(err("row"))? {
            let body: String = row.get(1).map_err(err("col"))?;
            pending.push(serde_json::from_str::<Value>(&body).map_err(err("body"))?);
        }
        Ok(
            json!({"at": fmt_micros(t), "as_of": fmt_micros(r), "claims": claims, "pending": pending}),
        )
    }

    fn sqlite_state(db: &str, story: &str, at: &str, as_of: &str) -> Res<String> {
        let conn = open(db)?;
        let v = sqlite_state_json(&conn, Some(story), micros(at)?, micros(as_of)?)?;
        serde_json::to_string_pretty(&v).map_err(err("json"))
    }

    fn time_runs(runs: &str, mut f: impl FnMut() -> Res<()>) -> Res<(f64, f64)> {
        let runs: usize = runs.parse().unwrap_or(50).max(1);
        let mut us = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            f()?;
            us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let first = us[0];
        Ok((median(us), first))
    }

    fn sqlite_story(db: &str, story: &str, at: &str, as_of: &str, runs: &str) -> Res<String> {
        let conn = open(db)?;
        let (t, r) = (micros(at)?, micros(as_of)?);
        let (med, first) = time_runs(runs, || {
            sqlite_state_json(&conn, Some(story), t, r).map(|_| ())
        })?;
        Ok(json!({"median_us": med, "first_us": first}).to_string())
    }

    fn histogram<'a>(statuses: impl Iterator<Item = &'a str>) -> Value {
        let mut h: BTreeMap<&str, u64> = BTreeMap::new();
        for s in statuses {
            *h.entry(s).or_default() += 1;
        }
        json!(h)
    }

    fn sqlite_all(db: &str, at: &str, as_of: &str) -> Res<String> {
        let conn = open(db)?;
        let (t, r) = (micros(at)?, micros(as_of)?);
        let start = Instant::now();
        let mut st = conn
            .prepare(&sql(STATE_SQL, None))
            .map_err(err("prepare"))?;
        let mut rows = st
            .query(params![t, r, None::<&str>])
            .map_err(err("query"))?;
        let mut statuses: Vec<&str> = Vec::new();
        let mut texts = 0usize;
        while let Some(row) = rows.next().map_err(err("row"))? {
            let rank: i64 = row.get(4).map_err(err("col"))?;
            let text: String = row.get(3).map_err(err("col"))?;
            texts += text.len();
            statuses.push(STATUS[rank as usize]);
        }
        let secs = start.elapsed().as_secs_f64();
        Ok(json!({
            "seconds": secs, "claims": statuses.len(), "text_bytes": texts,
            "histogram": histogram(statuses.into_iter()), "vmhwm_kib": vmhwm_kib(),
        })
        .to_string())
    }

    // ---- The sqlite3 shell peer: one table of the events, one query.

    /// The shell peer's table: every event a row, the fields the status rule
    /// needs as columns, the event's JSON in `body`. Times in µs since the
    /// epoch (`valid_to` = `valid_from` for an instant); `recorded_at` is the
    /// time of the load, as for the rusqlite peer. Columns that most events
    /// leave empty (`target`, `supersedes`) get partial indexes.
    const SHELL_SCHEMA: &str = "
        CREATE TABLE events(
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,         -- asserted corroborated disputed refuted retracted voided
            claim TEXT,
            story TEXT,                 -- asserted
            by TEXT,
            supersedes TEXT,            -- asserted, when it replaces a claim
            target TEXT,                -- voided
            valid_from INTEGER,
            valid_to INTEGER,
            recorded_at INTEGER NOT NULL,
            body TEXT NOT NULL
        );";

    const SHELL_INDEXES: &str = "
        CREATE INDEX events_claim ON events(claim, valid_to);
        CREATE INDEX events_story ON events(story, valid_to);
        CREATE INDEX events_target ON events(target) WHERE target IS NOT NULL;
        CREATE INDEX events_supersedes ON events(supersedes) WHERE supersedes IS NOT NULL;";

    /// Writes the shell peer's database at `db` (anew) from the NDJSON
    /// `file`, read a line at a time; the database is left in WAL mode.
    fn shell_load(db: &str, file: &str) -> Res<String> {
        use std::io::BufRead;
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{db}{s}"));
        }
        let mut conn = Connection::open(db).map_err(err("open"))?;
        // The load is not measured: no journal, no syncs; WAL at the end.
        conn.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
            .map_err(err("pragmas"))?;
        conn.execute_batch(SHELL_SCHEMA).map_err(err("schema"))?;
        let now = now_micros();
        let f = std::fs::File::open(file).map_err(err("events file"))?;
        let mut r = std::io::BufReader::with_capacity(1 << 20, f);
        let tx = conn.transaction().map_err(err("begin"))?;
        let mut n = 0i64;
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO events(seq, id, kind, claim, story, by, supersedes, target,
                                        valid_from, valid_to, recorded_at, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(err("prepare"))?;
            let mut line = String::new();
            let mut no = 0u64;
            loop {
                line.clear();
                no += 1;
                if r.read_line(&mut line).map_err(err("reading events"))? == 0 {
                    break;
                }
                let l = line.trim_end_matches(['\n', '\r']);
                if l.trim().is_empty() {
                    continue;
                }
                let ev: In = serde_json::from_str(l).map_err(|e| format!("line {no}: {e}"))?;
                let (from, to) = match &ev.valid {
                    Some(v) => {
                        let from = micros(&v.from)?;
                        (Some(from), Some(v.to.as_deref().map_or(Ok(from), micros)?))
                    }
                    None => (None, None),
                };
                n += 1;
                ins.execute(params![
                    n,
                    ev.id.as_ref(),
                    ev.kind.as_ref(),
                    ev.claim.as_deref(),
                    ev.story.as_deref(),
                    ev.by.as_deref(),
                    ev.supersedes.as_deref(),
                    ev.target.as_deref(),
                    from,
                    to,
                    now,
                    l
                ])
                .map_err(|e| format!("line {no}: insert: {e}"))?;
            }
        }
        tx.execute_batch(SHELL_INDEXES).map_err(err("indexes"))?;
        tx.commit().map_err(err("commit"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err("WAL"))?;
        if mode != "wal" {
            return Err(format!(
                "the shell peer's database is in {mode} mode, not WAL"
            ));
        }
        Ok(json!({"rows": n}).to_string())
    }

    /// SPEC's status rule for the sqlite3 shell, as one query: a claim is
    /// listed when its `asserted` counts at T (µs) as of R (µs): recorded by
    /// R, `valid_to <= T`, and no void recorded by R targets it; its status is
    /// the first rank whose `EXISTS` holds over the events that count in the
    /// same way. `by` is compared as `lower(trim(by))`, as in `STATE_SQL`
    /// (SQLite's `lower` and `trim` are ASCII: the workload's `by` values
    /// are ASCII with no surrounding blanks). Output: claim, story, by, text,
    /// status, tab-separated, one line a claim.
    pub fn shell_sql(t: i64, r: i64) -> String {
        let void = |e: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM events v WHERE v.target = {e}.id AND v.recorded_at <= {r})"
            )
        };
        let rank = |kind: &str, extra: &str| {
            format!(
                "EXISTS (SELECT 1 FROM events e WHERE e.claim = a.claim AND e.valid_to <= {t} AND e.kind = '{kind}'{extra}
                     AND e.recorded_at <= {r} AND {})",
                void("e")
            )
        };
        format!(
            "-- claims' status rule (SPEC \"Status of a claim\") at T = {t} µs, as of R = {r} µs
.bail on
.mode tabs
.headers off
SELECT a.claim, a.story, a.by, json_extract(a.body, '$.text'),
  CASE
    WHEN {retracted} THEN 'retracted'
    WHEN EXISTS (SELECT 1 FROM events s WHERE s.supersedes = a.claim AND s.kind = 'asserted'
                 AND s.valid_to <= {t} AND s.recorded_at <= {r} AND {svoid}) THEN 'superseded'
    WHEN {refuted} THEN 'refuted'
    WHEN {disputed} THEN 'disputed'
    WHEN {corroborated} THEN 'corroborated'
    ELSE 'reported'
  END
FROM events a
WHERE a.kind = 'asserted' AND a.story IS NOT NULL
  AND a.valid_to <= {t} AND a.recorded_at <= {r} AND {avoid};
",
            retracted = rank("retracted", ""),
            svoid = void("s"),
            refuted = rank("refuted", ""),
            disputed = rank("disputed", ""),
            corroborated = rank(
                "corroborated",
                " AND lower(trim(e.by)) <> lower(trim(a.by))"
            ),
            avoid = void("a"),
        )
    }

    // ---- claims, in-process through the library.

    use claims_core::projection::{Standing, View};
    use claims_core::query::Scope;
    use claims_core::Ledger;
    use claims_store_sled::OpenOptions;
    use claims_store_sled::SledStore;

    fn claims_ledger(db: &str) -> Res<Ledger<SledStore>> {
        let opts = OpenOptions {
            create: false,
            ..OpenOptions::default()
        };
        SledStore::open(db, &opts)
            .map(Ledger::new)
            .map_err(err("open"))
    }

    fn view(at: &str, as_of: &str) -> Res<View> {
        let p = |s: &str| claims_core::time::parse_rfc3339(s).map_err(err("time"));
        Ok(View::new(p(at)?, p(as_of)?))
    }

    fn claims_open(db: &str) -> Res<String> {
        let t = Instant::now();
        let l = claims_ledger(db)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let seq = claims_core::Store::head(l.store()).seq;
        Ok(json!({"open_ms": ms, "head": seq}).to_string())
    }

    fn claims_story(db: &str, story: &str, at: &str, as_of: &str, runs: &str) -> Res<String> {
        let l = claims_ledger(db)?;
        let v = view(at, as_of)?;
        let scope = Scope {
            story: Some(story.to_string()),
            claim: None,
        };
        let (med, first) = time_runs(runs, || {
            let r = l.state(v, &scope).map_err(err("state"))?;
            std::hint::black_box(r.to_json());
            Ok(())
        })?;
        Ok(json!({"median_us": med, "first_us": first}).to_string())
    }

    fn claims_all(db: &str, at: &str, as_of: &str) -> Res<String> {
        let l = claims_ledger(db)?;
        let v = view(at, as_of)?;
        let start = Instant::now();
        // What `claims state` reads: the claim summaries, a claim at a time.
        let mut statuses = Vec::new();
        let mut texts = 0usize;
        for item in l.state_items(v, &Scope::default()).map_err(err("state"))? {
            let item = item.map_err(err("state"))?;
            if let Standing::Present(s) = &item.standing {
                statuses.push(s.status.as_str());
                texts += item.header.text.len();
            }
        }
        let secs = start.elapsed().as_secs_f64();
        Ok(json!({
            "seconds": secs, "claims": statuses.len(), "text_bytes": texts,
            "histogram": histogram(statuses.into_iter()), "vmhwm_kib": vmhwm_kib(),
        })
        .to_string())
    }
}
