//! PostgreSQL as the store (`--db postgres://…`): the CLI prints what it
//! prints on sled, a ledger moves between the two with the same head, a
//! database that cannot be reached is one sentence, and several servers on
//! one database keep one gapless chain through crashes of a server and of
//! PostgreSQL. Each test starts its own throw-away cluster
//! (`claims_store_pg::testing::TempCluster`); none skips without one.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use claims_store_pg::testing::TempCluster;

use crate::harness::{
    assert_same_text, dispute_email, id, new_claim, void_of, words, Ledger, Run, EMAIL_ASSERTED,
    SEED, SEED_EVENTS, STORY,
};
use crate::server::{agent, batch, check_log, get, reading_commands, Served};

/// A ledger in a fresh database of its own cluster, and a working directory.
struct Pg {
    cluster: TempCluster,
    url: String,
    dir: tempfile::TempDir,
}

impl Pg {
    fn new() -> Pg {
        let cluster = TempCluster::start();
        let url = cluster.new_database();
        Pg {
            cluster,
            url,
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// `claims --db postgres://… LINE`.
    fn sh(&self, line: &str) -> Run {
        Run::new(self.dir.path())
            .args(["--db", &self.url])
            .args(words(line))
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).expect("write a fixture");
        p.display().to_string()
    }

    fn export(&self) -> String {
        self.sh("export").ok()
    }
}

fn lines_of(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

#[test]
fn the_cli_on_postgres_prints_what_it_prints_on_sled() {
    // Given the seed story in sled, and the same log imported into PostgreSQL.
    let sled = Ledger::seeded();
    let pg = Pg::new();
    let export = pg.write("export.ndjson", sled.export());
    pg.sh(&format!("import {export}")).ok();
    // When every reading command runs on both, then they print the same.
    let first = pg.sh(&reading_commands()[0]).ok();
    assert!(
        first.contains("retracted") && first.contains("disputed"),
        "{first}"
    );
    for line in reading_commands() {
        let here = sled.sh(&line).output();
        let there = pg.sh(&line).output();
        assert_same_text(&format!("stdout of {line}"), &there.stdout, &here.stdout);
        assert_same_text(&format!("stderr of {line}"), &there.stderr, &here.stderr);
        assert_eq!(there.code, here.code, "exit code of {line}");
    }
    for f in ["picture.svg", "picture.html"] {
        let here = std::fs::read(sled.path(f)).unwrap();
        let there = std::fs::read(pg.dir.path().join(f)).unwrap();
        assert_same_text(f, there, here);
    }
    // And the writes: appends, the rules' refusals, idempotent repeats.
    let writes: Vec<(&str, String)> = vec![
        (
            "new.ndjson",
            lines_of(&[new_claim(900, 901), dispute_email(902)]),
        ),
        ("again.ndjson", lines_of(&[new_claim(900, 901)])),
        (
            "clash.ndjson",
            lines_of(
                &[json!({"id": id(900), "kind": "asserted", "claim": id(903),
                "story": "test-story", "by": "Other", "text": "Another claim.",
                "valid": {"from": "2020-07-11T00:00:00Z", "to": "2020-07-11T01:00:00Z"}})],
            ),
        ),
        ("void.ndjson", lines_of(&[void_of(904, EMAIL_ASSERTED)])),
        ("void-unknown.ndjson", lines_of(&[void_of(905, &id(999))])),
        ("garbled.ndjson", "{\"id\": 1\n".to_string()),
    ];
    for (name, text) in &writes {
        let a = sled.write(name, text);
        let b = pg.write(name, text);
        let here = sled.sh(&format!("append {a}")).output();
        let there = pg.sh(&format!("append {b}")).output();
        let line = format!("append {name}");
        assert_same_text(
            &format!("stdout of {line}"),
            &there.stdout,
            here.stdout.replace(&a, &b),
        );
        assert_same_text(
            &format!("stderr of {line}"),
            &there.stderr,
            here.stderr.replace(&a, &b),
        );
        assert_eq!(there.code, here.code, "exit code of {line}");
    }
    let log = |out: String| -> Vec<Value> {
        out.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                // Recorded when each was appended: not the same on both.
                for k in ["recorded_at", "hash"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                v
            })
            .collect()
    };
    assert_eq!(log(pg.export()), log(sled.export()));
    pg.sh("verify").ok();
}

#[test]
fn a_ledger_moves_from_sled_to_postgres_and_back_with_the_same_head() {
    // Given a sled ledger with the seed story and two later entries.
    let sled = Ledger::seeded();
    sled.append_lines(&[new_claim(900, 901), dispute_email(902)])
        .ok();
    let verified = sled.sh("verify").ok();
    assert!(verified.starts_with("ok: 29 events, head "), "{verified}");
    // When it is exported and imported into PostgreSQL,
    let pg = Pg::new();
    let file = pg.write("export.ndjson", sled.export());
    let out = pg.sh(&format!("import {file}")).ok();
    assert_eq!(out, "restored 29 entries\n");
    // then PostgreSQL verifies the same head and exports the same bytes,
    assert_eq!(pg.sh("verify").ok(), verified);
    let moved = pg.export();
    assert_same_text("the export from PostgreSQL", &moved, sled.export());
    // and back into a new sled ledger, the same again.
    let back = Ledger::empty();
    back.import(&moved).ok();
    assert_eq!(back.sh("verify").ok(), verified);
    assert_same_text("the export back in sled", back.export(), moved);
    // A checkpoint's tree head is the same on both (the Merkle tree).
    let head = |r: Run| -> Value {
        let out = r.ok();
        serde_json::from_str::<Value>(&out).unwrap_or_else(|_| json!(out))
    };
    sled.sh("key generate example.org/desk -o desk.key").ok();
    let key = sled.path("desk.key");
    assert_eq!(
        head(pg.sh(&format!("checkpoint --key {}", key.display()))),
        head(sled.sh(&format!("checkpoint --key {}", key.display())))
    );
}

#[test]
fn a_database_that_cannot_be_used_is_one_sentence_without_the_password() {
    let pg = Pg::new();
    let password = pg.cluster.password().to_string();
    let port = pg.cluster.port();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            pg.url.replace(&password, "not-the-password"),
            vec![
                "refused the user claims".into(),
                "check the user name and password".into(),
            ],
        ),
        (
            format!("postgres://claims:{password}@127.0.0.1:{dead}/x?sslmode=disable"),
            vec![format!(
                "could not connect to PostgreSQL at 127.0.0.1:{dead}"
            )],
        ),
        (
            pg.cluster.url("no_such_db"),
            vec![format!(
                "PostgreSQL at 127.0.0.1:{port} has no database no_such_db"
            )],
        ),
        (
            pg.url.clone(),
            vec![format!(
                "there is no ledger in postgres://claims@127.0.0.1:{port}/"
            )],
        ),
        (
            format!("postgres://claims:{password}@127.0.0.1:{port}"),
            vec!["names no database".into()],
        ),
        (
            format!("{}&sslmode=sometimes", pg.url),
            vec!["sslmode".into()],
        ),
    ];
    for (url, needles) in cases {
        let started = Instant::now();
        let out = Run::new(pg.dir.path())
            .args(["--db", &url, "state"])
            .output();
        let took = started.elapsed();
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        out.expect_error_line(&needles);
        assert!(
            !out.stderr.contains(&password) && !out.stdout.contains(&password),
            "the password shows: {}",
            out.stderr
        );
        assert!(took < Duration::from_secs(10), "took {took:?}: {url}");
    }
    // A refused write leaves the database without entries.
    let bad = pg.write("bad.ndjson", "{\"kind\": \"asserted\"}\n");
    pg.sh(&format!("append {bad}")).output().expect_code(1);
    let seed = pg.sh(&format!("append {SEED}")).ok();
    assert_eq!(seed, format!("appended {SEED_EVENTS} events (seq 1..27)\n"));
    // A second `claims` on a ledger made by a newer claims is refused.
    pg.cluster.sql(
        &pg.url,
        "UPDATE claims.meta SET value = '99' WHERE key = 'schema_version'",
    );
    pg.sh("state")
        .output()
        .expect_error_line(&["schema version 99", "upgrade"]);
}

#[test]
fn a_password_left_out_of_the_url_comes_from_pgpassword_or_the_password_file() {
    // Given a ledger, and its URL without the password.
    let pg = Pg::new();
    pg.sh(&format!("append {SEED}")).ok();
    let password = pg.cluster.password().to_string();
    let bare = pg.url.replace(&format!(":{password}@"), "@");
    assert!(!bare.contains(&password));
    let verify = |env: &[(&str, String)]| {
        let mut r = Run::new(pg.dir.path()).args(["--db", &bare, "verify"]);
        for (k, v) in env {
            r = r.env(k, v);
        }
        r.output()
    };
    // When neither PGPASSWORD nor a password file gives it: one sentence.
    verify(&[("HOME", pg.dir.path().display().to_string())])
        .expect_error_line(&["asks for the password of user claims", "PGPASSWORD"]);
    // Then PGPASSWORD, or a password file, gives it.
    let out = verify(&[("PGPASSWORD", password.clone())]);
    out.expect_code(0);
    assert!(out.stdout.starts_with("ok: 27 events"), "{}", out.stdout);
    // Without an sslmode (libpq's `prefer`), a server that offers no TLS is
    // used without it.
    let no_mode = pg.url.trim_end_matches("?sslmode=disable");
    assert!(!no_mode.contains("sslmode"));
    let out = Run::new(pg.dir.path())
        .args(["--db", no_mode, "verify"])
        .output();
    out.expect_code(0);
    assert!(out.stdout.starts_with("ok: 27 events"), "{}", out.stdout);
    let file = pg.write(
        "pgpass",
        format!(
            "elsewhere:*:*:*:wrong\n127.0.0.1:{}:*:claims:{password}\n",
            pg.cluster.port()
        ),
    );
    verify(&[("PGPASSFILE", file)]).expect_code(0);
    // A wrong one is refused as a wrong password is.
    verify(&[("PGPASSWORD", "wrong".to_string())]).expect_error_line(&["refused the user claims"]);
}

#[test]
fn follow_on_a_database_prints_each_entry_of_its_story_as_it_lands() {
    // Given the seed story in a database, and a follower of its story.
    let pg = Pg::new();
    pg.sh(&format!("append {SEED}")).ok();
    let mut follow = std::process::Command::new(crate::harness::BIN)
        .args(["--db", &pg.url, "follow", "--json", "--story", STORY])
        .env_remove("PGPASSWORD")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("claims follow starts");
    let stdout = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .take(2)
            .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
            .collect::<Vec<_>>()
    });
    std::thread::sleep(Duration::from_millis(1500));
    // When another story's claim and then a dispute of this story land,
    let other = pg.write("other.ndjson", lines_of(&[new_claim(900, 901)]));
    pg.sh(&format!("append {other}")).ok();
    let dispute = pg.write(
        "dispute.ndjson",
        lines_of(&[dispute_email(902), void_of(903, &id(902))]),
    );
    pg.sh(&format!("append {dispute}")).ok();
    // then it prints the dispute and its void, and nothing of the other story.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let got = reader.join().expect("two entries followed");
    let kinds: Vec<(&str, u64)> = got
        .iter()
        .map(|v| (v["kind"].as_str().unwrap(), v["seq"].as_u64().unwrap()))
        .collect();
    assert_eq!(kinds, [("disputed", 29), ("voided", 30)]);
    // A story the ledger does not hold is refused at once.
    pg.sh("follow --story no-such-story")
        .output()
        .expect_error_line(&["there is no story no-such-story"]);
}

#[test]
fn hostile_input_is_refused_on_postgres_as_on_sled_and_any_text_is_kept() {
    // Given the seed story in sled and the same log in PostgreSQL.
    let sled = Ledger::seeded();
    let pg = Pg::new();
    let file = pg.write("export.ndjson", sled.export());
    pg.sh(&format!("import {file}")).ok();
    let before = pg.export();
    // When every file of the hostile corpus is appended to both, then both
    // say the same and PostgreSQL's ledger is unchanged.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".ndjson"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "the corpus has {} files", names.len());
    for name in &names {
        let line = format!("append {dir}/{name}");
        let here = sled.sh(&line).output();
        let there = pg.sh(&line).output();
        assert_same_text(&format!("stderr of {name}"), &there.stderr, &here.stderr);
        assert_same_text(&format!("stdout of {name}"), &there.stdout, &here.stdout);
        assert_eq!(there.code, here.code, "exit code of {name}");
    }
    assert_same_text("the export after the corpus", pg.export(), before);
    // Text PostgreSQL's `text` type refuses (U+0000) is kept as sled keeps it.
    let odd = json!({"id": id(910), "kind": "asserted", "claim": id(911), "story": "odd-story",
        "by": "A\u{0}B", "text": "x\u{0}y \u{1b}[31m",
        "valid": {"from": "2020-07-11T00:00:00Z", "to": "2020-07-11T01:00:00Z"}});
    let a = sled.write("odd.ndjson", lines_of(std::slice::from_ref(&odd)));
    let b = pg.write("odd.ndjson", lines_of(&[odd]));
    sled.sh(&format!("append {a}")).ok();
    pg.sh(&format!("append {b}")).ok();
    for line in [
        "stories --json",
        "state --at 2020-07-11T00:30Z --as-of 2100-01-01 --json",
    ] {
        assert_same_text(line, pg.sh(line).ok(), sled.sh(line).ok());
    }
    pg.sh("verify").ok();
}

#[test]
fn tls_is_used_as_the_url_asks_and_the_certificate_is_checked() {
    // Given a cluster that takes TCP connections only over TLS, with a
    // certificate of its own for 127.0.0.1.
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cluster = TempCluster::start_tls(&cert.cert.pem(), &cert.signing_key.serialize_pem());
    let url = cluster.new_database();
    let base = url.trim_end_matches("?sslmode=disable").to_string();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let run = |url: &str, line: &str| {
        Run::new(dir.path())
            .args(["--db", url])
            .args(words(line))
            .output()
    };
    // When the URL asks for no TLS, the server refuses the connection;
    run(&url, "stories").expect_error_line(&["PostgreSQL at 127.0.0.1", "refused"]);
    // with sslmode=require the ledger is made and used, encrypted;
    let require = format!("{base}?sslmode=require");
    let out = run(&require, &format!("append {SEED}"));
    out.expect_code(0);
    // with no sslmode (libpq's `prefer`) TLS is used, as the server offers it;
    assert!(!base.contains("sslmode"));
    run(&base, "stories").expect_code(0);
    // with verify-full and the newsroom's own CA, the certificate is checked;
    let verify = format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display());
    let out = run(&verify, "verify");
    out.expect_code(0);
    assert!(out.stdout.starts_with("ok: 27 events"), "{}", out.stdout);
    // and with verify-full against the web's roots, a certificate they do not
    // vouch for is refused in one sentence.
    run(&format!("{base}?sslmode=verify-full"), "stories").expect_error_line(&[
        "could not connect to PostgreSQL at 127.0.0.1",
        "certificate",
    ]);
    // A root file that is not PEM: one sentence.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    run(
        &format!("{base}?sslmode=verify-full&sslrootcert={}", bad.display()),
        "stories",
    )
    .expect_error_line(&["sslrootcert"]);
}

#[test]
fn verify_ca_checks_the_chain_and_verify_full_the_host_name_too() {
    // Given a TLS-only cluster whose certificate names another host than the
    // address the client dials, and the newsroom's root for it.
    let cert = rcgen::generate_simple_self_signed(vec!["db.example.org".to_string()]).unwrap();
    let cluster = TempCluster::start_tls(&cert.cert.pem(), &cert.signing_key.serialize_pem());
    let base = cluster
        .new_database()
        .trim_end_matches("?sslmode=disable")
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["db.example.org".to_string()]).unwrap();
    let stranger = dir.path().join("stranger.pem");
    std::fs::write(&stranger, other.cert.pem()).unwrap();
    let run = |query: String, line: &str| {
        Run::new(dir.path())
            .args(["--db", &format!("{base}?{query}")])
            .args(words(line))
            .output()
    };
    // When verify-ca is given the root: the chain holds, the name is not asked.
    let ca_only = format!("sslmode=verify-ca&sslrootcert={}", ca.display());
    run(ca_only.clone(), &format!("append {SEED}")).expect_code(0);
    let out = run(ca_only, "verify");
    out.expect_code(0);
    assert!(out.stdout.starts_with("ok: 27 events"), "{}", out.stdout);
    // verify-full with the same root refuses a certificate for another name;
    run(
        format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        "verify",
    )
    .expect_error_line(&[
        "could not connect to PostgreSQL at 127.0.0.1",
        "certificate",
    ]);
    // Without sslrootcert, the root comes from PGSSLROOTCERT or
    // ~/.postgresql/root.crt, as libpq takes it; `system` asks for the web's.
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".postgresql")).unwrap();
    std::fs::copy(&ca, home.join(".postgresql/root.crt")).unwrap();
    let bare = |query: &str, env: (&str, &std::path::Path)| {
        Run::new(dir.path())
            .env(env.0, env.1)
            .args(["--db", &format!("{base}?{query}"), "verify"])
            .output()
    };
    bare("sslmode=verify-ca", ("PGSSLROOTCERT", &ca)).expect_code(0);
    bare("sslmode=verify-ca", ("HOME", &home)).expect_code(0);
    bare("sslmode=verify-ca&sslrootcert=system", ("HOME", &home)).expect_error_line(&[
        "could not connect to PostgreSQL at 127.0.0.1",
        "certificate",
    ]);
    // and verify-ca refuses a certificate another root would have to vouch for.
    run(
        format!("sslmode=verify-ca&sslrootcert={}", stranger.display()),
        "verify",
    )
    .expect_error_line(&[
        "could not connect to PostgreSQL at 127.0.0.1",
        "certificate",
    ]);
}

/// Polls `path` on `s` with `token` until it answers `status` (or 10 s).
fn eventually(s: &Served, path: &str, token: &str, status: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = get(s, path, Some(token)).status;
        if got == status || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_account_added_or_revoked_anywhere_counts_on_every_server_of_the_database() {
    // Given two servers on one database and an admin.
    let pg = Pg::new();
    let out = pg.sh("user add ada --role admin").ok();
    let admin = out.lines().next().unwrap().trim().to_string();
    let a = Served::start_on(OsStr::new(&pg.url), &[]);
    let b = Served::start_on(OsStr::new(&pg.url), &[]);
    // When the admin adds a reader through the first server,
    let added = crate::server::post(
        &a,
        "/v1/users",
        Some(&admin),
        r#"{"name":"rita","role":"reader"}"#,
    );
    assert_eq!(added.status, 201, "{}", added.body);
    let rita = added.json()["token"].as_str().unwrap().to_string();
    // then her token works on the second within a moment;
    assert_eq!(eventually(&b, "/v1/stories", &rita, 200), 200);
    // and when she is revoked on the database directly (no server involved),
    pg.sh("user revoke rita").ok();
    // then both servers refuse her token within a moment.
    assert_eq!(eventually(&a, "/v1/stories", &rita, 401), 401);
    assert_eq!(eventually(&b, "/v1/stories", &rita, 401), 401);
    assert_eq!(get(&b, "/v1/stories", Some(&admin)).status, 200);
}

/// Writers posting one batch (two events) at a time to `urls` in turn until
/// `stop`; each returns the ids the servers acknowledged. Anything but 200
/// is not acknowledged; the writer waits a little and goes on.
fn writers(
    urls: &[String],
    n: usize,
    token: &str,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<[String; 2]>>> {
    (0..n)
        .map(|t| {
            let (url, token, stop) = (
                urls[t % urls.len()].clone(),
                token.to_string(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                let agent = agent();
                let mut acked = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (body, ids) = batch(i, t);
                    let r = agent
                        .post(format!("{url}/v1/events"))
                        .header("Authorization", format!("Bearer {token}"))
                        .send(body.as_str());
                    match r {
                        Ok(r) if r.status().as_u16() == 200 => acked.push(ids),
                        _ => std::thread::sleep(Duration::from_millis(50)),
                    }
                }
                acked
            })
        })
        .collect()
}

fn join(ws: Vec<std::thread::JoinHandle<Vec<[String; 2]>>>) -> Vec<[String; 2]> {
    ws.into_iter()
        .flat_map(|w| w.join().expect("a writer"))
        .collect()
}

#[test]
fn two_servers_on_one_database_keep_one_gapless_chain_and_follow_each_other() {
    // Given two servers on one database, and an editor following the second.
    let pg = Pg::new();
    let out = pg.sh("user add wes --role writer").ok();
    let token = out.lines().next().unwrap().trim().to_string();
    let a = Served::start_on(OsStr::new(&pg.url), &[]);
    let b = Served::start_on(OsStr::new(&pg.url), &[]);
    let mut follow = std::process::Command::new(crate::harness::BIN)
        .args(["--db", &b.url, "follow", "--json", "--since", "0"])
        .env("CLAIMS_TOKEN", &token)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("claims follow starts");
    // When 16 writers, split between them, append for a while,
    let stop = Arc::new(AtomicBool::new(false));
    // (CLAIMS_PG_LOAD_SECONDS=60 for the run BENCHMARKS.md reports.)
    let seconds: u64 = std::env::var("CLAIMS_PG_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let ws = writers(&[a.url.clone(), b.url.clone()], 16, &token, &stop);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let acked = join(ws);
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "two servers, 16 writers, {took:.1} s: {} batches ({} events) acknowledged, {:.0} events/s",
        acked.len(),
        2 * acked.len(),
        2.0 * acked.len() as f64 / took
    );
    assert!(
        acked.len() > 100,
        "only {} batches acknowledged",
        acked.len()
    );
    // then every acknowledged event is there once, seq gapless, and each
    // server verifies the same chain.
    let export = pg.export();
    let n = check_log(&export, &acked);
    pg.sh("verify").ok();
    let va = get(&a, "/v1/verify", Some(&token));
    assert_eq!(va.status, 200, "{}", va.body);
    let deadline = Instant::now() + Duration::from_secs(5);
    let vb = loop {
        let vb = get(&b, "/v1/verify", Some(&token)).json();
        if vb["count"] == va.json()["count"] || Instant::now() > deadline {
            break vb;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(vb, va.json(), "both servers verify one chain");
    assert_eq!(va.json()["count"].as_u64(), Some(n as u64));
    // And the follower of the second server saw every entry, the first
    // server's too, in seq order.
    let stdout = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seqs = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let v: Value = serde_json::from_str(&line).unwrap();
            seqs.push(v["seq"].as_u64().unwrap());
            if seqs.len() == n {
                break;
            }
        }
        seqs
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = follow.kill();
    let seqs = reader.join().unwrap();
    assert_eq!(
        seqs,
        (1..=n as u64).collect::<Vec<_>>(),
        "the follower's seqs"
    );
    let _ = follow.wait();
}

#[test]
fn a_killed_server_and_a_crashed_postgres_lose_nothing_acknowledged() {
    let pg = Pg::new();
    let out = pg.sh("user add wes --role writer").ok();
    let token = out.lines().next().unwrap().trim().to_string();
    // Given 8 writers on a server, when the server is killed (SIGKILL),
    let mut s = Served::start_on(OsStr::new(&pg.url), &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let ws = writers(std::slice::from_ref(&s.url), 8, &token, &stop);
    std::thread::sleep(Duration::from_millis(2500));
    s.child.kill().expect("SIGKILL");
    let _ = s.child.wait();
    stop.store(true, Ordering::Relaxed);
    let mut acked = join(ws);
    assert!(acked.len() > 8, "only {} batches acknowledged", acked.len());
    // then every acknowledged event is there, no batch cut in two.
    check_log(&pg.export(), &acked);
    pg.sh("verify").ok();
    // Given a new server under load, when PostgreSQL stops as in a crash
    // (immediate mode, no checkpoint) and starts again,
    let s = Served::start_on(OsStr::new(&pg.url), &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let ws = writers(std::slice::from_ref(&s.url), 8, &token, &stop);
    std::thread::sleep(Duration::from_millis(2500));
    pg.cluster.stop_immediate();
    std::thread::sleep(Duration::from_millis(1000));
    pg.cluster.start_again();
    // the server goes on serving once it is back,
    let deadline = Instant::now() + Duration::from_secs(30);
    let before = acked.len();
    std::thread::sleep(Duration::from_millis(2500));
    stop.store(true, Ordering::Relaxed);
    acked.extend(join(ws));
    assert!(Instant::now() < deadline);
    let health = get(&s, "/v1/verify", Some(&token));
    assert_eq!(
        health.status, 200,
        "the server after the restart: {}",
        health.body
    );
    // and nothing acknowledged is lost, no batch is partial.
    let n = check_log(&pg.export(), &acked);
    assert!(acked.len() > before, "nothing acknowledged after the crash");
    assert_eq!(health.json()["count"].as_u64(), Some(n as u64));
    pg.sh("verify").ok();
    // A write after the restart lands after everything before it.
    let more = pg.write("more.ndjson", lines_of(&[new_claim(900, 901)]));
    let out = pg.sh(&format!("append {more}")).ok();
    assert_eq!(out, format!("appended 1 event (seq {0}..{0})\n", n + 1));
}
