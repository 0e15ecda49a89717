//! The newsroom server (`claims serve --listen`): the `/v1` API, accounts and
//! roles, the CLI as its client, the live feed, and hostile requests. Each
//! test runs the real binary as a server on a free loopback port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Ledger, BIN, SEED, SEED_EVENTS, STORY};

/// A server running on a ledger, killed when dropped.
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// What it printed on stderr, read when it is stopped.
    stderr: Option<std::process::ChildStderr>,
}

impl Served {
    /// `claims --db LEDGER serve --listen 127.0.0.1:0 EXTRA…`.
    pub fn start(l: &Ledger, extra: &[&str]) -> Served {
        Served::start_on(l.db().as_os_str(), extra)
    }

    /// `claims --db DB serve --listen 127.0.0.1:0 EXTRA…`, DB a directory or
    /// a database's URL.
    pub fn start_on(db: &std::ffi::OsStr, extra: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("CLAIMS_DB")
            .env("CLAIMS_SERVER", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("claims serve starts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("the served address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        let stderr = child.stderr.take();
        Served { child, url, stderr }
    }

    /// The address without the scheme.
    pub fn addr(&self) -> String {
        self.url.split_once("://").expect("a scheme").1.to_string()
    }

    /// Stops it (SIGTERM) and gives what it wrote on stderr.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let mut s = String::new();
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills process `pid` after `secs` seconds, so that a test reading its
/// output line by line fails instead of hanging if it stops printing.
fn kill_after(pid: u32, secs: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
}

/// An answer: status and body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The error kind of an error answer (and checks its shape).
    #[track_caller]
    pub fn error_kind(&self) -> String {
        let v = self.json();
        let e = v
            .get("error")
            .unwrap_or_else(|| panic!("no error: {}", self.body));
        for k in ["kind", "message", "hint"] {
            assert!(
                e.get(k).is_some_and(|x| x.is_string()),
                "no {k}: {}",
                self.body
            );
        }
        e["kind"].as_str().unwrap().to_string()
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.expect("the server answers");
    Answer {
        status: r.status().as_u16(),
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// `GET url+path` with an optional token.
pub fn get(s: &Served, path: &str, token: Option<&str>) -> Answer {
    let mut req = agent().get(format!("{}{path}", s.url));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    answer(req.call())
}

/// `POST url+path` of `body`.
pub fn post(s: &Served, path: &str, token: Option<&str>, body: &str) -> Answer {
    let mut req = agent().post(format!("{}{path}", s.url));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    answer(req.send(body))
}

/// `claims user add NAME --role ROLE` on a ledger no server holds: the token.
pub fn add_user(l: &Ledger, name: &str, role: &str) -> String {
    let out = l.sh(&format!("user add {name} --role {role}")).ok();
    out.trim().to_string()
}

#[test]
fn tokens_and_roles_decide_who_may_do_what() {
    let l = Ledger::seeded();
    let admin = add_user(&l, "ada", "admin");
    let writer = add_user(&l, "wes", "writer");
    let reader = add_user(&l, "rita", "reader");
    let gone = add_user(&l, "gone", "writer");
    l.sh("user revoke gone").ok();
    let s = Served::start(&l, &[]);
    let event = std::fs::read_to_string(SEED).unwrap();
    let first = event.lines().next().unwrap().to_string();

    // No token, a wrong token, a revoked token: 401.
    for t in [None, Some("claims_00"), Some(gone.as_str()), Some("")] {
        let a = get(&s, "/v1/state", t);
        assert_eq!(a.status, 401, "{t:?}: {}", a.body);
        assert_eq!(a.error_kind(), "unauthorized");
        assert!(!a.body.contains(&gone), "the token is not echoed");
    }
    // A reader reads, and may not append or manage accounts.
    assert_eq!(get(&s, "/v1/stories", Some(&reader)).status, 200);
    let a = post(&s, "/v1/events", Some(&reader), &first);
    assert_eq!(
        (a.status, a.error_kind().as_str()),
        (403, "forbidden"),
        "{}",
        a.body
    );
    // A writer appends, and may not add a user.
    let a = post(&s, "/v1/events", Some(&writer), &first);
    assert_eq!(a.status, 200, "{}", a.body);
    let a = post(
        &s,
        "/v1/users",
        Some(&writer),
        r#"{"name":"eve","role":"admin"}"#,
    );
    assert_eq!((a.status, a.error_kind().as_str()), (403, "forbidden"));
    // An admin adds one, whose token works at once; and revokes it.
    let a = post(
        &s,
        "/v1/users",
        Some(&admin),
        r#"{"name":"nina","role":"reader"}"#,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let nina = a.json()["token"].as_str().unwrap().to_string();
    assert_eq!(get(&s, "/v1/stories", Some(&nina)).status, 200);
    let list = get(&s, "/v1/users", Some(&admin));
    assert!(list.body.contains("\"nina\"") && !list.body.contains(&nina));
    let r = answer(
        agent()
            .delete(format!("{}/v1/users/nina", s.url))
            .header("Authorization", format!("Bearer {admin}"))
            .call(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(&s, "/v1/stories", Some(&nina)).status, 401);
    // No token appears in what the server wrote.
    let logged = s.stop();
    for t in [&admin, &writer, &reader, &gone, &nina] {
        assert!(
            !logged.contains(t.as_str()),
            "a token in the server's output"
        );
    }
}

#[test]
fn public_read_lets_anonymous_readers_in_and_no_one_else() {
    let l = Ledger::seeded();
    let s = Served::start(&l, &["--public-read"]);
    assert_eq!(get(&s, "/v1/state", None).status, 200);
    assert_eq!(get(&s, "/v1/export", None).status, 200);
    let a = post(&s, "/v1/events", None, "{}");
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(get(&s, "/v1/users", None).status, 401);
    // A wrong token is still wrong.
    assert_eq!(get(&s, "/v1/state", Some("claims_bad")).status, 401);
}

#[test]
fn appends_through_the_api_keep_appends_rules() {
    let l = Ledger::empty();
    let w = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &[]);
    let seed = std::fs::read_to_string(SEED).unwrap();
    let a = post(&s, "/v1/events", Some(&w), &seed);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.json(),
        serde_json::json!({"appended": SEED_EVENTS, "skipped": 0, "first_seq": 1,
            "last_seq": SEED_EVENTS, "unchanged": 0, "repeated": 0})
    );
    // Again: nothing new.
    let a = post(&s, "/v1/events", Some(&w), &seed);
    assert_eq!(a.json()["appended"], 0);
    assert_eq!(a.json()["skipped"], SEED_EVENTS);
    // The same id with other content: 409, nothing written.
    let first = seed
        .lines()
        .next()
        .unwrap()
        .replace("\"by\":\"", "\"by\":\"X");
    let a = post(&s, "/v1/events", Some(&w), &first);
    assert_eq!(
        (a.status, a.error_kind().as_str()),
        (409, "conflict"),
        "{}",
        a.body
    );
    // A bad line among good ones: 400 naming the line, nothing written.
    let mixed = format!(
        "{}\n{{\"kind\":\"asserted\"}}\n",
        seed.lines().nth(1).unwrap()
    );
    let a = post(&s, "/v1/events", Some(&w), &mixed);
    assert_eq!(a.status, 400, "{}", a.body);
    let msg = a.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(msg.starts_with("line 2: "), "{msg}");
    // Not JSON at all; an empty body.
    assert_eq!(post(&s, "/v1/events", Some(&w), "not json").status, 400);
    assert_eq!(post(&s, "/v1/events", Some(&w), "").status, 400);
    // The log holds the seed once and nothing else.
    let log = get(&s, "/v1/log", Some(&w));
    assert_eq!(log.body.lines().count(), SEED_EVENTS);
    let v = get(&s, "/v1/verify", Some(&w)).json();
    assert_eq!(v["count"], SEED_EVENTS);
}

/// The commands that read the seed story, each of SPEC's table with its
/// refusals: run both ways (against a ledger and a server, against sled and
/// PostgreSQL), they must print the same. Files they write (`-o`) go to the
/// working directory.
pub fn reading_commands() -> Vec<String> {
    let when = "--as-of 2030-01-01";
    vec![
        format!("state --story {STORY} --at 2020-07-10T21:06 {when}"),
        format!("state --story {STORY} --at 2020-07-10T21:06 {when} --json"),
        format!("--tz America/New_York state --story {STORY} --at 2020-07-10T04:00 {when}"),
        format!("--tz America/New_York state --story {STORY} --at 2020-07-10T15:00 {when}"),
        format!("state --at 2020-07-10T21:06 {when}"),
        format!("state --at 2020-07-10T12:00 {when} --json"),
        format!("diff --story {STORY} 2020-07-10T21:06 2020-07-11T00:05 {when}"),
        format!("diff --story {STORY} 2020-07-10T21:06 2020-07-11T00:05 {when} --json"),
        "diff --recorded 2020-01-01 2030-01-01 --at 2020-07-11".to_string(),
        "stories".to_string(),
        "stories --json".to_string(),
        "verify".to_string(),
        "export".to_string(),
        format!("export --story {STORY}"),
        "state --story no-such-story".to_string(),
        "state --at 2020-13-45".to_string(),
        "diff 2020-07-10 tomorrowish".to_string(),
        "export --story nope".to_string(),
        format!("claimreview --story {STORY} --publisher Faktisk --at 2020-07-11T00:05Z {when}"),
        format!("claimreview 854a140a --publisher Faktisk --at 2020-07-11T00:05Z {when} --html"),
        "claimreview 1daf5e10 --publisher Faktisk".to_string(),
        "prove 6ea7452a --size 27".to_string(),
        "prove --consistency 10 --size 27".to_string(),
        "prove --consistency 10 --size 99".to_string(),
        "prove ffffffff".to_string(),
        format!("timeline --story {STORY} --as-of 2030-01-01 -o picture.svg"),
        format!("timeline --story {STORY} --as-of 2030-01-01 -o picture.html --mark 2020-07-10T21:06Z=published"),
        "timeline --story nope -o x.svg".to_string(),
        format!("audit --story {STORY}"),
        format!("audit --story {STORY} --json"),
        format!("audit --story {STORY} --recorded"),
        "audit --claim 854a140a --from 2020-07-10 --to 2020-07-11".to_string(),
        "audit".to_string(),
        "audit --json".to_string(),
        "audit --claim 0000000".to_string(),
        format!("show 854a140a --at 2020-07-10T21:06Z {when}"),
        format!("show 854a140a --at 2020-07-10T21:06Z {when} --json"),
        format!("show 98613568-7451-4557-9fe9-715b4e736098 --at 2020-07-11 {when}"),
        "show 12".to_string(),
        "show ffffffff".to_string(),
        "log".to_string(),
        "log --json".to_string(),
        "log --since 20".to_string(),
        "log --since 27 --json".to_string(),
    ]
}

/// Commands run both ways: against the ledger, and against a server on a
/// copy of it. Same stdout, stderr and exit code.
#[test]
fn the_cli_against_a_server_prints_what_it_prints_locally() {
    let local = Ledger::seeded();
    let remote = Ledger::empty();
    let export = remote.write("export.ndjson", local.sh("export").ok());
    remote.sh(&format!("import {export}")).ok();
    let token = add_user(&remote, "rita", "reader");
    let s = Served::start(&remote, &[]);
    let tf = remote.write("token", &token);
    let lines = reading_commands();
    // The comparisons are of real answers, not of two empty ones.
    let state = local.sh(&lines[0]).ok();
    assert!(
        state.contains("retracted") && state.contains("disputed"),
        "{state}"
    );
    for line in lines {
        let here = local.sh(&line).output();
        let there = crate::harness::Run::new(remote.dir.path())
            .args(["--db", &s.url, "--token-file", &tf])
            .args(crate::harness::words(&line))
            .output();
        crate::harness::assert_same_text(&format!("stdout of {line}"), &there.stdout, &here.stdout);
        crate::harness::assert_same_text(&format!("stderr of {line}"), &there.stderr, &here.stderr);
        assert_eq!(there.code, here.code, "exit code of {line}");
    }
    // The pictures, drawn from the same histories.
    for f in ["picture.svg", "picture.html"] {
        let here = std::fs::read(local.path(f)).unwrap();
        let there = std::fs::read(remote.path(f)).unwrap();
        crate::harness::assert_same_text(f, there, here);
    }
    // A checkpoint signed here over the server's tree head is the one
    // signed over the ledger's own (Ed25519 signs deterministically).
    local.sh("key generate example.org/desk -o desk.key").ok();
    std::fs::copy(local.path("desk.key"), remote.path("desk.key")).unwrap();
    let here = local.sh("checkpoint --key desk.key").ok();
    let there = crate::harness::Run::new(remote.dir.path())
        .args([
            "--db",
            &s.url,
            "--token-file",
            &tf,
            "checkpoint",
            "--key",
            "desk.key",
        ])
        .ok();
    assert_eq!(there, here);
}

#[test]
fn the_remote_cli_writes_and_the_entry_says_who_entered_it() {
    let l = Ledger::seeded();
    let token = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &[]);
    let run = |line: &str| {
        crate::harness::Run::new(l.dir.path())
            .args(["--db", &s.url])
            .env("CLAIMS_TOKEN", &token)
            .args(crate::harness::words(line))
    };
    let claim = run(&format!(
        "assert --story {STORY} --by Reuters --text Amazon-confirms --at 2020-07-10T20:00Z"
    ))
    .ok();
    let claim = claim.trim();
    assert_eq!(claim.len(), 36, "{claim}");
    let ev = run(&format!(
        "dispute {} --by TikTok --at 2020-07-10T21:00Z",
        &claim[..8]
    ))
    .ok();
    run(&format!("void {} --reason typo", &ev.trim()[..8])).ok();
    // Refusals say what a local command says.
    let out = run("dispute 00000000 --by X --at 2020-07-10T21:00Z").output();
    out.expect_code(1);
    let export = get(&s, "/v1/export", Some(&token)).body;
    let mine: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["seq"].as_u64().unwrap() as usize > SEED_EVENTS)
        .collect();
    assert_eq!(mine.len(), 3, "{export}");
    for v in &mine {
        assert_eq!(v["recorded_by"], "wes", "{v}");
    }
    // The seed, appended locally, names no one.
    assert!(!export.lines().next().unwrap().contains("recorded_by"));
}

#[test]
fn follow_prints_entries_as_they_land() {
    let l = Ledger::empty();
    let token = add_user(&l, "wes", "writer");
    let s = Served::start(&l, &[]);
    let mut f = Command::new(BIN)
        .args(["--db", &s.url, "follow", "--json", "--since", "0"])
        .env("CLAIMS_TOKEN", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("follow starts");
    kill_after(f.id(), 60);
    let seed = std::fs::read_to_string(SEED).unwrap();
    let mut lines = seed.lines();
    let first: String = lines.by_ref().take(3).map(|l| format!("{l}\n")).collect();
    assert_eq!(post(&s, "/v1/events", Some(&token), &first).status, 200);
    let mut out = BufReader::new(f.stdout.take().unwrap());
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < 3 && Instant::now() < deadline {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        got.push(line);
    }
    assert_eq!(got.len(), 3, "{got:?}");
    // One more lands while it follows.
    let next: String = lines.take(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(post(&s, "/v1/events", Some(&token), &next).status, 200);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["seq"], 4);
    assert_eq!(v["recorded_by"], "wes");
    let _ = f.kill();
    let _ = f.wait();
}

#[test]
fn the_feed_resumes_after_last_event_id_and_filters_by_story() {
    let l = Ledger::seeded();
    let token = add_user(&l, "rita", "reader");
    let s = Served::start(&l, &[]);
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        c,
        "GET /v1/follow?story={STORY} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nLast-Event-ID: 25\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&buf).contains("id: 27") && Instant::now() < deadline {
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("text/event-stream"), "{text}");
    assert!(text.contains("id: 26") && text.contains("id: 27"), "{text}");
    assert!(!text.contains("id: 25\n"), "{text}");
    let a = get(&s, "/v1/follow?story=no-such-story", Some(&token));
    assert_eq!(a.status, 404, "{}", a.body);
}

/// Sends raw bytes and reads what comes back until the server closes or
/// `wait` passes.
fn raw(s: &Served, bytes: &[u8], wait: Duration) -> String {
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(wait)).unwrap();
    let _ = c.write_all(bytes);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn hostile_requests_are_refused_and_the_server_keeps_serving() {
    let l = Ledger::seeded();
    let w = add_user(&l, "wes", "writer");
    let before = l.sh("export").ok();
    let s = Served::start(
        &l,
        &[
            "--idle-seconds",
            "2",
            "--request-seconds",
            "5",
            "--max-body-mib",
            "1",
        ],
    );
    // Not HTTP at all.
    let a = raw(&s, b"\x16\x03\x01 hello\r\n\r\n", Duration::from_secs(5));
    assert!(a.is_empty() || a.starts_with("HTTP/1.1 400"), "{a}");
    // A header flood: refused, not buffered without end.
    let mut flood = b"GET /v1/state HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..4000 {
        flood.extend_from_slice(format!("X-Flood-{i}: {}\r\n", "a".repeat(40)).as_bytes());
    }
    flood.extend_from_slice(b"\r\n");
    let a = raw(&s, &flood, Duration::from_secs(5));
    assert!(
        a.is_empty() || a.starts_with("HTTP/1.1 431") || a.starts_with("HTTP/1.1 400"),
        "{a}"
    );
    // A body of 1 GiB announced: 413 at once, without reading it.
    let started = Instant::now();
    let big = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {w}\r\nContent-Length: 1073741824\r\n\r\n{{"
    );
    let a = raw(&s, big.as_bytes(), Duration::from_secs(10));
    assert!(a.starts_with("HTTP/1.1 413"), "{a}");
    assert!(a.contains("too_large"), "{a}");
    assert!(started.elapsed() < Duration::from_secs(8));
    // A request that sends one byte a second is cut off.
    let mut slow = TcpStream::connect(s.addr()).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let started = Instant::now();
    let mut closed = false;
    for b in b"GET /v1/state HTTP/1.1\r\nHost: x\r\n"
        .iter()
        .cycle()
        .take(30)
    {
        if slow.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        let mut one = [0u8; 512];
        match slow.read(&mut one) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "a slow request was not cut off");
    assert!(started.elapsed() < Duration::from_secs(20));
    // A thousand idle connections, and the server still answers.
    let idle: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(s.addr()).ok())
        .collect();
    assert!(idle.len() > 900);
    let a = get(&s, "/v1/stories", Some(&w));
    assert_eq!(a.status, 200, "{}", a.body);
    drop(idle);
    // Unknown routes, methods and parameters: the error shape.
    let a = get(&s, "/v1/nothing", Some(&w));
    assert_eq!((a.status, a.error_kind().as_str()), (404, "no_route"));
    let a = get(&s, "/v1/state?colour=red", Some(&w));
    assert_eq!(a.status, 400, "{}", a.body);
    a.error_kind();
    let a = get(&s, "/v1/state?at=yesterday-ish", Some(&w));
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.json()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("--at: "));
    let a = get(&s, "/v1/claims/zz", Some(&w));
    assert!(a.status == 400 || a.status == 404, "{}", a.body);
    a.error_kind();
    // Ids and parameters that look like paths or overflow: refused, and no
    // file is ever opened for them.
    for path in [
        "/v1/claims/..%2F..%2Fetc%2Fpasswd",
        "/v1/claims/%00%00%00%00%00%00",
        "/v1/events/..",
        "/v1/log?since=-1",
        "/v1/log?since=99999999999999999999999",
        "/v1/follow?since=abc",
        "/v1/export?story=../../etc",
        "/v1/proof?size=18446744073709551615&consistency=1",
    ] {
        let a = get(&s, path, Some(&w));
        assert!(
            (400..500).contains(&a.status),
            "{path}: {} {}",
            a.status,
            a.body
        );
        a.error_kind();
    }
    // Nothing changed.
    drop(s);
    assert_eq!(l.sh("export").ok(), before);
    l.sh("verify").ok();
}

#[test]
fn a_non_loopback_address_needs_tls_or_insecure_http() {
    let l = Ledger::seeded();
    let out = l.sh("serve --listen 0.0.0.0:0").output();
    out.expect_code(1);
    out.expect_error_line(&["not a loopback address", "--tls-cert"]);
    let out = l.sh("serve --listen not-an-address").output();
    out.expect_code(1);
}

#[test]
fn tls_serves_https_and_the_cli_trusts_the_certificate_it_is_given() {
    let l = Ledger::seeded();
    let token = add_user(&l, "rita", "reader");
    let local = l.sh("stories").ok();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let c = l.write("cert.pem", cert.cert.pem());
    let k = l.write("key.pem", cert.signing_key.serialize_pem());
    // A key that is not a key, a certificate that is not one: one sentence.
    let bad = l.write("bad.pem", "not a pem");
    let out = l
        .sh(&format!(
            "serve --listen 127.0.0.1:0 --tls-cert {bad} --tls-key {k}"
        ))
        .output();
    out.expect_code(1);
    out.expect_error_line(&["--tls-cert"]);
    let s = Served::start(&l, &["--tls-cert", &c, "--tls-key", &k]);
    assert!(s.url.starts_with("https://"), "{}", s.url);
    let run = |extra: &[&str], line: &str| {
        crate::harness::Run::new(l.dir.path())
            .args(["--db", &s.url])
            .args(extra)
            .env("CLAIMS_TOKEN", &token)
            .args(crate::harness::words(line))
            .output()
    };
    let out = run(&["--tls-ca", &c], "stories");
    out.expect_code(0);
    assert_eq!(out.stdout, local);
    // Without the certificate to trust, the server is not trusted.
    let out = run(&[], "stories");
    out.expect_code(1);
    out.expect_error_line(&["could not reach the claims server"]);
    // Plain HTTP to the TLS port gets nothing from the ledger.
    let plain = raw(
        &s,
        format!("GET /v1/stories HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
            .as_bytes(),
        Duration::from_secs(3),
    );
    assert!(!plain.contains("amazon"), "{plain}");
}

#[test]
fn accounts_are_managed_through_the_server_as_they_are_locally() {
    let l = Ledger::seeded();
    let admin = add_user(&l, "ada", "admin");
    let s = Served::start(&l, &[]);
    let run = |line: &str| {
        crate::harness::Run::new(l.dir.path())
            .args(["--db", &s.url])
            .env("CLAIMS_TOKEN", &admin)
            .args(crate::harness::words(line))
            .output()
    };
    let out = run("user add wes --role writer");
    out.expect_code(0);
    let wes = out.stdout.trim().to_string();
    assert!(wes.starts_with("claims_") && wes.len() == 71, "{wes}");
    assert!(
        out.stderr.contains("shown only this once"),
        "{}",
        out.stderr
    );
    assert_eq!(get(&s, "/v1/stories", Some(&wes)).status, 200);
    let out = run("user add wes --role reader");
    out.expect_code(1);
    out.expect_error_line(&["already an account wes"]);
    let out = run("user list");
    out.expect_code(0);
    assert!(
        out.stdout.contains("wes") && out.stdout.contains("writer"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&wes));
    let out = run("user list --json");
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let out = run("user revoke wes");
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("revoked wes (writer) at "),
        "{}",
        out.stdout
    );
    assert_eq!(get(&s, "/v1/stories", Some(&wes)).status, 401);
    let out = run("user revoke wes");
    out.expect_code(1);
    let out = run("user revoke nobody");
    out.expect_code(1);
    out.expect_error_line(&["there is no account nobody"]);
    // A writer may not.
    let out = crate::harness::Run::new(l.dir.path())
        .args(["--db", &s.url, "user", "list"])
        .env("CLAIMS_TOKEN", &wes)
        .output();
    out.expect_code(1);
}

/// Every acknowledged event in the export once, every batch whole, seq
/// gapless from 1; the number of entries.
pub fn check_log(export: &str, acked: &[[String; 2]]) -> usize {
    let mut seen = std::collections::HashMap::new();
    let mut per_claim = std::collections::HashMap::new();
    let mut n = 0;
    for (i, line) in export.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["seq"].as_u64(), Some(i as u64 + 1), "seq gapless");
        *seen
            .entry(v["id"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
        *per_claim
            .entry(v["claim"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
        n += 1;
    }
    assert!(per_claim.values().all(|n| *n == 2), "a batch cut in two");
    for [a, c] in acked {
        assert_eq!(seen.get(a), Some(&1), "acknowledged {a} present once");
        assert_eq!(seen.get(c), Some(&1), "acknowledged {c} present once");
    }
    n
}

/// Two events a batch: a new claim and its corroboration, so that a batch
/// cut in two would show.
pub fn batch(n: usize, t: usize) -> (String, [String; 2]) {
    let claim = uuid::Uuid::new_v4().to_string();
    let (a, c) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let body = format!(
        "{}\n{}\n",
        serde_json::json!({"id": a, "kind": "asserted", "claim": claim, "story": format!("load-{t}"),
            "by": "Desk", "text": format!("claim {n} of writer {t}"),
            "valid": {"from": "2020-07-10T09:00:00Z", "to": "2020-07-10T09:00:00Z"}}),
        serde_json::json!({"id": c, "kind": "corroborated", "claim": claim, "by": "Wire",
            "valid": {"from": "2020-07-10T10:00:00Z", "to": "2020-07-10T10:00:00Z"}}),
    );
    (body, [a, c])
}

#[test]
fn a_server_killed_under_load_loses_nothing_it_acknowledged() {
    let l = Ledger::empty();
    let token = add_user(&l, "wes", "writer");
    let mut s = Served::start(&l, &[]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..32)
        .map(|t| {
            let (url, token, stop) = (s.url.clone(), token.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut acked = Vec::new();
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let (body, ids) = batch(n, t);
                    let r = agent
                        .post(format!("{url}/v1/events"))
                        .header("Authorization", format!("Bearer {token}"))
                        .send(body.as_str());
                    match r {
                        Ok(r) if r.status().as_u16() == 200 => acked.push(ids),
                        Ok(r) => panic!("answered {}", r.status()),
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    s.child.kill().expect("SIGKILL");
    let _ = s.child.wait();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<[String; 2]> = writers
        .into_iter()
        .flat_map(|w| w.join().expect("a writer"))
        .collect();
    assert!(
        acked.len() > 32,
        "only {} batches acknowledged",
        acked.len()
    );
    // Opened again (recovery runs): every acknowledged event once, every
    // batch whole, seq gapless, the chain verifies.
    l.sh("verify").ok();
    let export = l.sh("export").ok();
    check_log(&export, &acked);
    let again = Served::start(&l, &[]);
    assert_eq!(get(&again, "/v1/verify", Some(&token)).status, 200);
}

#[test]
fn follow_on_a_ledger_directory_uses_its_own_server() {
    let l = Ledger::seeded();
    let mut f = Command::new(BIN)
        .arg("--db")
        .arg(l.db())
        .args(["follow", "--since", "25"])
        .env_remove("CLAIMS_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("follow starts");
    kill_after(f.id(), 60);
    let mut out = BufReader::new(f.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line);
    }
    assert!(lines[0].trim_start().starts_with("26 "), "{lines:?}");
    assert!(lines[1].trim_start().starts_with("27 "), "{lines:?}");
    // A local command lands through the same server, and is followed.
    l.sh("assert --story s --by B --text Landed --at 2020-07-12")
        .ok();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(
        line.trim_start().starts_with("28 ") && line.contains("Landed"),
        "{line}"
    );
    let _ = f.kill();
    let _ = f.wait();
}

#[test]
fn the_ledgers_socket_is_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let l = Ledger::seeded();
    let s = Served::start(&l, &[]);
    let sock = l.db().join("server.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "server.sock has mode {mode:o}");
    // The desk's server serves its owner's commands on the socket too, and
    // does not let go of the ledger when asked.
    let out = l.sh("stories").output();
    out.expect_code(0);
    let out = l.sh("serve --stop").output();
    out.expect_code(1);
    assert_eq!(get(&s, "/healthz", None).status, 200);
    // On the network, the release route is not the owner's.
    let admin = {
        let out = l.sh("user add ada --role admin").output();
        out.expect_code(0);
        out.stdout.trim().to_string()
    };
    let a = post(&s, "/v1/release", Some(&admin), "");
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(get(&s, "/healthz", None).status, 200);
}
