//! The conformance suite on `PgStore` against a throw-away cluster, and the
//! PostgreSQL-only tests: several handles on one database, a lost server,
//! connection failures, the schema's version.

use claims_core::store::conformance::*;

use crate::testing::TempCluster;
use crate::PgStore;

#[test]
fn pg_store_conforms() {
    let pg = TempCluster::start();
    run_all(|| Box::new(PgStore::open(&pg.new_database(), true).unwrap()));
}

#[test]
fn pg_store_keeps_accounts_across_reopen() {
    let pg = TempCluster::start();
    let url = pg.new_database();
    PgStore::open(&url, true).unwrap();
    accounts_survive_reopen(|| Box::new(PgStore::open(&url, false).unwrap()));
}

// ---------------------------------------------------------------------------
// PostgreSQL-only: several handles on one database, a lost server, staged
// commits left behind, connection failures, the schema's version.
// ---------------------------------------------------------------------------

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use claims_core::error::Detail;
use claims_core::store::{Head, NothingStaged, Store};
use claims_core::{ErrorKind, Incoming, Ledger, Record};

/// Every entry a handle can see, in seq order.
fn log_of(s: &PgStore) -> Vec<Record> {
    s.scan(1)
        .map(|r| r.expect("an entry of the log reads"))
        .collect()
}

/// The head as a fresh handle on `url` sees it.
fn head_seen_fresh(url: &str) -> Head {
    PgStore::open(url, false)
        .expect("a fresh handle opens the ledger")
        .head()
}

/// Asserts that a connection failure is one sentence without the password,
/// given back within 10 seconds.
fn assert_one_clean_sentence(what: &str, e: &claims_core::Error, password: &str, took: Duration) {
    let shown = e.to_string();
    assert!(
        !shown.contains('\n'),
        "{what}: the error should be one line, got {shown:?}"
    );
    assert!(
        !shown.contains(password) && !format!("{e:?}").contains(password),
        "{what}: the error must never show the password, got {shown:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "{what}: the error should come within 10 s, took {took:?}"
    );
}

/// Given two handles on one database, both at the empty head, when handle A
/// commits and handle B then commits records sealed against its stale head,
/// then B is refused with HeadMoved naming A's head and nothing of B's is
/// written; after `read_head` B sees A's commit and its re-sealed commit
/// goes in on top of it.
#[test]
fn a_second_handle_sealed_on_a_stale_head_is_refused_then_commits_resealed() {
    // Given
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut a = PgStore::open(&url, true).unwrap();
    let mut b = PgStore::open(&url, false).unwrap();
    let stale = b.head();
    assert_eq!(stale, Head::EMPTY, "B starts at the empty head");

    // When A commits
    let a_records = fill(&mut a);
    let a_head = a.head();
    assert_eq!(a_head.seq, 4, "A's commit moved its head to 4");

    // and B commits against its stale head
    let late = seal(
        &b,
        vec![asserted(50, 500, "late", "2020-07-10T10:00:00Z", None)],
    );
    assert_eq!(late[0].seq, 1, "B sealed on the empty head it knew");
    let e = b.commit(&stale, &late).unwrap_err();

    // Then B is refused, naming A's head, and wrote nothing
    assert_eq!(e.kind(), ErrorKind::HeadMoved, "B's stale commit: {e:?}");
    assert_eq!(
        e.detail(),
        &Detail::HeadMoved {
            expected: stale,
            actual: a_head
        },
        "the refusal names the head B expected and the one A left"
    );
    assert_eq!(
        head_seen_fresh(&url),
        a_head,
        "the head row is A's after B's refused commit"
    );
    let fresh = PgStore::open(&url, false).unwrap();
    assert!(
        fresh.seq_of_event(id(50)).unwrap().is_none(),
        "B's refused event is not in the ledger"
    );
    assert_eq!(log_of(&fresh), a_records, "the log holds A's entries only");

    // When B reads the head and re-seals
    assert_eq!(
        b.read_head().unwrap(),
        a_head,
        "B's read_head sees A's commit"
    );
    assert_eq!(log_of(&b), a_records, "B now reads A's entries");
    let resealed = seal(&b, vec![followup(51, 100, "2020-07-11T00:00:00Z")]);
    b.commit(&b.head(), &resealed)
        .expect("B's commit re-sealed on the actual head goes in");

    // Then both handles see one chain of five entries
    assert_eq!(b.head().seq, 5, "B's head is after its own commit");
    assert_eq!(a.read_head().unwrap(), b.head(), "A sees B's commit");
    assert_eq!(a.seq_of_event(id(51)).unwrap(), Some(5));
    Ledger::new(PgStore::open(&url, false).unwrap())
        .verify(|_| {})
        .expect("the ledger of both handles verifies");
}

/// Given handle B opened on a ledger, when handle A commits more, then B's
/// reads (scan, stories, story_claims, seq_of_event, get, claim_entries)
/// stay at B's head until B calls `read_head`, and then show A's entries.
#[test]
fn a_handles_reads_are_bounded_by_its_head_until_read_head() {
    // Given
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut a = PgStore::open(&url, true).unwrap();
    let before = fill(&mut a);
    let b = PgStore::open(&url, false).unwrap();
    assert_eq!(b.head().seq, 4, "B opens at A's head");

    // When A commits more: a new claim in a new story, a follow-up of 100
    let more = seal(
        &a,
        vec![
            asserted(10, 300, "c", "2020-07-11T00:00:00Z", None),
            followup(11, 100, "2020-07-11T01:00:00Z"),
        ],
    );
    a.commit(&a.head(), &more).unwrap();
    assert_eq!(a.head().seq, 6);

    // Then B still reads the ledger as of its head
    assert_eq!(b.head().seq, 4, "B's head does not move by itself");
    assert_eq!(log_of(&b), before, "B's scan(1) stops at its head");
    assert_eq!(b.scan(5).count(), 0, "B's scan from 5 is empty");
    assert!(b.get(5).unwrap().is_none(), "B's get(5) sees nothing");
    assert_eq!(
        b.stories().unwrap(),
        vec!["a".to_string(), "b".to_string()],
        "B's stories do not list A's new story"
    );
    assert!(
        b.story_claims("c").unwrap().is_empty(),
        "B's story_claims(c) is empty"
    );
    assert!(
        b.seq_of_event(id(10)).unwrap().is_none() && b.seq_of_event(id(11)).unwrap().is_none(),
        "B's seq_of_event does not find A's new events"
    );
    assert_eq!(
        b.claim_entries(id(100)).unwrap().len(),
        4,
        "B's claim_entries(100) stops at its head"
    );

    // When B reads the head
    assert_eq!(
        b.read_head().unwrap(),
        a.head(),
        "read_head moves B to A's head"
    );

    // Then B sees A's new entries
    let all: Vec<Record> = before.iter().cloned().chain(more.iter().cloned()).collect();
    assert_eq!(log_of(&b), all, "B's scan now shows A's entries");
    assert_eq!(
        b.stories().unwrap(),
        vec!["a".to_string(), "b".to_string(), "c".to_string()]
    );
    assert_eq!(b.story_claims("c").unwrap(), vec![(id(300), 5)]);
    assert_eq!(b.seq_of_event(id(10)).unwrap(), Some(5));
    assert_eq!(b.seq_of_event(id(11)).unwrap(), Some(6));
    assert_eq!(b.claim_entries(id(100)).unwrap().len(), 5);
}

/// Given one database, when four threads, each with its own handle and
/// `Ledger`, append fifty single-event batches of new claims at once (the
/// ledger re-sealing whenever another writer moved the head), then every
/// append succeeds, seq is gapless 1..=200, every event is there exactly
/// once, and the ledger verifies on a fresh handle.
#[test]
fn concurrent_ledgers_append_a_gapless_chain_that_verifies() {
    const WRITERS: u128 = 4;
    const APPENDS: u128 = 50;
    // Given
    let pg = TempCluster::start();
    let url = pg.new_database();
    PgStore::open(&url, true).unwrap();
    let event_of = |w: u128, i: u128| 1_000_000 + w * 1000 + i;

    // When
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut ledger = Ledger::new(PgStore::open(&url, false).unwrap());
                for i in 0..APPENDS {
                    let event = asserted(
                        event_of(w, i),
                        2_000_000 + w * 1000 + i,
                        &format!("desk-{w}"),
                        "2020-07-11T00:00:00Z",
                        None,
                    );
                    let report = ledger
                        .append(
                            vec![Incoming { line: None, event }],
                            t("2026-01-01T00:00:00Z"),
                        )
                        .unwrap_or_else(|e| {
                            panic!("writer {w}, append {i}: the ledger should retry past other writers, got {e:?}")
                        });
                    assert_eq!(report.appended.len(), 1, "writer {w}, append {i}: one entry");
                }
            })
        })
        .collect();
    for w in writers {
        w.join()
            .expect("a writer thread finished without panicking");
    }
    let took = started.elapsed();

    // Then
    let fresh = PgStore::open(&url, false).unwrap();
    let total = (WRITERS * APPENDS) as u64;
    assert_eq!(
        fresh.head().seq,
        total,
        "every append is in (took {took:?})"
    );
    let log = log_of(&fresh);
    let seqs: Vec<u64> = log.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "seq is gapless from 1"
    );
    let ids: BTreeSet<_> = log.iter().map(|r| r.event.id).collect();
    assert_eq!(ids.len(), log.len(), "no event is there twice");
    let expected: BTreeSet<_> = (0..WRITERS)
        .flat_map(|w| (0..APPENDS).map(move |i| id(event_of(w, i))))
        .collect();
    assert_eq!(ids, expected, "every event appended is there");
    for r in &log {
        assert_eq!(
            fresh.seq_of_event(r.event.id).unwrap(),
            Some(r.seq),
            "the event index finds {}",
            r.event.id
        );
    }
    for w in 0..WRITERS {
        assert_eq!(
            fresh.story_claims(&format!("desk-{w}")).unwrap().len(),
            APPENDS as usize,
            "story desk-{w} lists each of its writer's claims"
        );
    }
    tree_agrees_with_the_log(&fresh);
    let report = Ledger::new(fresh)
        .verify(|_| {})
        .expect("the concurrently written ledger verifies");
    assert_eq!(report.count, total);
}

/// Given a ledger with entries and a handle opened on it, when PostgreSQL
/// stops as in a crash and starts again, then everything committed before
/// is there, and the old handle's next call either works or fails in one
/// sentence, after which a retry works (it connects again) and it can
/// commit.
#[test]
fn a_handle_reconnects_after_postgres_restarts_and_nothing_committed_is_lost() {
    // Given
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut s = PgStore::open(&url, true).unwrap();
    let before = fill(&mut s);
    let head = s.head();

    // When
    pg.stop_immediate();
    pg.start_again();

    // Then a fresh handle finds every committed entry
    let fresh = PgStore::open(&url, false).expect("the ledger opens after the restart");
    assert_eq!(fresh.head(), head, "the head survived the crash");
    assert_eq!(
        log_of(&fresh),
        before,
        "every committed entry survived the crash"
    );
    Ledger::new(fresh)
        .verify(|_| {})
        .expect("the ledger verifies after the crash");

    // and the old handle: its first call may fail in one sentence ...
    match s.read_head() {
        Ok(h) => assert_eq!(h, head, "the old handle's first read_head"),
        Err(e) => {
            let shown = e.to_string();
            assert!(
                !shown.contains('\n') && !shown.contains(pg.password()),
                "the old handle's first error is one sentence without the password: {shown:?}"
            );
            assert_eq!(e.kind(), ErrorKind::Io, "a lost connection is Io: {e:?}");
        }
    }
    // ... and a retry works
    assert_eq!(
        s.read_head()
            .expect("the old handle connects again on retry"),
        head
    );
    assert_eq!(log_of(&s), before, "the old handle reads the log again");
    let more = seal(&s, vec![followup(60, 100, "2020-07-12T00:00:00Z")]);
    s.commit(&s.head(), &more)
        .expect("the old handle commits after reconnecting");
    assert_eq!(head_seen_fresh(&url).seq, 5, "its commit is seen by others");
}

/// Given a handle that commits its first call after a restart straight
/// away (a commit, not a read), when it fails once, then a retry of the
/// commit goes in and nothing is written twice.
#[test]
fn a_commit_after_postgres_restarts_goes_in_on_retry_exactly_once() {
    // Given
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut s = PgStore::open(&url, true).unwrap();
    fill(&mut s);
    let head = s.head();
    pg.stop_immediate();
    pg.start_again();

    // When
    let more = seal(&s, vec![followup(61, 100, "2020-07-12T00:00:00Z")]);
    if let Err(e) = s.commit(&head, &more) {
        let shown = e.to_string();
        assert!(
            !shown.contains('\n'),
            "the first commit's error is one line: {shown:?}"
        );
        s.commit(&head, &more)
            .expect("the commit retried after reconnecting goes in");
    }

    // Then
    let fresh = PgStore::open(&url, false).unwrap();
    assert_eq!(fresh.head().seq, 5, "the commit went in once");
    assert_eq!(fresh.seq_of_event(id(61)).unwrap(), Some(5));
}

/// Given two handles on a ledger, when A stages a commit, then B does not
/// see it; when A is dropped without committing (its connection gone) or
/// aborts, then nothing of it is visible, the head row is unchanged, and
/// B can commit on the unchanged head (the head row's lock is released).
#[test]
fn a_staged_commit_dropped_or_aborted_leaves_nothing_behind() {
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut b = PgStore::open(&url, true).unwrap();
    let before = fill(&mut b);
    let head = b.head();

    // Given A staged two parts
    let mut a = PgStore::open(&url, false).unwrap();
    let part = seal(
        &a,
        vec![
            asserted(70, 700, "staged", "2020-07-12T00:00:00Z", None),
            followup(71, 700, "2020-07-12T01:00:00Z"),
        ],
    );
    a.stage(&head, &part[..1], &NothingStaged).unwrap();
    a.stage(&head, &part[1..], &Known(part[..1].to_vec()))
        .unwrap();
    assert_eq!(
        a.get(6).unwrap().as_ref(),
        Some(&part[1]),
        "A reads what it staged"
    );

    // Then B does not see it while it is staged
    assert_eq!(b.read_head().unwrap(), head, "staging moves no head row");
    assert!(b.seq_of_event(id(70)).unwrap().is_none());

    // When A is dropped without committing
    drop(a);

    // Then nothing is visible, and the head row is unchanged
    assert_eq!(
        b.read_head().unwrap(),
        head,
        "the head row is unchanged after the drop"
    );
    assert_eq!(head_seen_fresh(&url), head);
    let fresh = PgStore::open(&url, false).unwrap();
    assert_eq!(log_of(&fresh), before, "no staged entry is in the log");
    assert!(fresh.seq_of_event(id(70)).unwrap().is_none());
    assert!(fresh.story_claims("staged").unwrap().is_empty());
    tree_agrees_with_the_log(&fresh);

    // Given A' staged, when it aborts
    let mut a2 = PgStore::open(&url, false).unwrap();
    let part2 = seal(
        &a2,
        vec![asserted(72, 720, "staged", "2020-07-12T00:00:00Z", None)],
    );
    a2.stage(&head, &part2, &NothingStaged).unwrap();
    a2.abort_staged().unwrap();

    // Then nothing is visible, the head row is unchanged
    assert_eq!(a2.head(), head, "the aborting handle keeps its head");
    assert_eq!(a2.read_head().unwrap(), head);
    assert!(
        a2.get(5).unwrap().is_none(),
        "the aborted entry is gone for A'"
    );
    assert_eq!(
        head_seen_fresh(&url),
        head,
        "the head row is unchanged after the abort"
    );
    let fresh = PgStore::open(&url, false).unwrap();
    assert!(fresh.seq_of_event(id(72)).unwrap().is_none());
    assert_eq!(log_of(&fresh), before);

    // and B commits on the unchanged head, within a few seconds (no lock left)
    let started = Instant::now();
    let next = seal(&b, vec![followup(73, 100, "2020-07-12T02:00:00Z")]);
    b.commit(&head, &next)
        .expect("B commits on the head the staged commits left");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "B's commit did not wait on a left-over lock ({:?})",
        started.elapsed()
    );
    assert_eq!(head_seen_fresh(&url).seq, 5);
    Ledger::new(PgStore::open(&url, false).unwrap())
        .verify(|_| {})
        .expect("the ledger verifies after the staged commits left");
}

/// Given a running PostgreSQL, when a ledger is opened with a wrong
/// password, on a port where nothing listens, on a database that does not
/// exist, or without `create` on an empty database, then each fails within
/// 10 s in one sentence naming what went wrong, never with the password.
#[test]
fn connection_failures_are_one_sentence_without_the_password() {
    let pg = TempCluster::start();
    let port = pg.port();
    let url = pg.new_database();
    let db = url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .unwrap()
        .to_string();

    // A wrong password
    let wrong_pw = "not-the-password-42";
    let wrong = url.replacen(pg.password(), wrong_pw, 1);
    assert_ne!(wrong, url);
    let started = Instant::now();
    let e = PgStore::open(&wrong, true).unwrap_err();
    let took = started.elapsed();
    assert_one_clean_sentence("wrong password", &e, wrong_pw, took);
    assert_one_clean_sentence("wrong password", &e, pg.password(), took);
    assert!(
        e.to_string().contains(&format!(
            "PostgreSQL at 127.0.0.1:{port} refused the user claims"
        )),
        "a wrong password names the refused user: {e}"
    );

    // Nothing listening
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = url.replacen(&format!(":{port}/"), &format!(":{closed}/"), 1);
    let started = Instant::now();
    let e = PgStore::open(&nowhere, true).unwrap_err();
    assert_one_clean_sentence("nothing listening", &e, pg.password(), started.elapsed());
    assert_eq!(e.kind(), ErrorKind::Io, "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("could not connect to PostgreSQL at 127.0.0.1:{closed}: connection refused"),
        "nothing listening is a refused connection"
    );

    // A missing database
    let started = Instant::now();
    let e = PgStore::open(&pg.url("nosuchdb"), true).unwrap_err();
    assert_one_clean_sentence("missing database", &e, pg.password(), started.elapsed());
    assert_eq!(
        e.to_string(),
        format!("PostgreSQL at 127.0.0.1:{port} has no database nosuchdb"),
        "a missing database is named"
    );

    // No ledger in an empty database, without create
    let started = Instant::now();
    let e = PgStore::open(&url, false).unwrap_err();
    assert_one_clean_sentence("no ledger", &e, pg.password(), started.elapsed());
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("there is no ledger in postgres://claims@127.0.0.1:{port}/{db}")
    );
    // and it created nothing: with create it is made afresh
    let s = PgStore::open(&url, true).expect("with create, the ledger is made");
    assert_eq!(s.head(), Head::EMPTY);
}

/// Given a ledger whose stored schema version is newer than this build's,
/// when it is opened, then it is refused as Damaged with the typed detail
/// NewerFormat naming both versions.
#[test]
fn a_newer_schema_version_is_refused() {
    // Given
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut s = PgStore::open(&url, true).unwrap();
    fill(&mut s);
    drop(s);
    pg.sql(
        &url,
        "UPDATE claims.meta SET value = '99' WHERE key = 'schema_version'",
    );

    // When
    let e = PgStore::open(&url, false).unwrap_err();

    // Then
    assert_eq!(e.kind(), ErrorKind::Damaged, "{e:?}");
    assert_eq!(
        e.detail(),
        &Detail::NewerFormat {
            found: 99,
            supported: crate::SCHEMA_VERSION
        }
    );
    let shown = e.to_string();
    assert!(
        shown.contains("schema version 99") && !shown.contains(pg.password()),
        "the refusal names the version and not the password: {shown}"
    );
    assert_eq!(
        PgStore::open(&url, true).unwrap_err().kind(),
        ErrorKind::Damaged,
        "create does not overwrite a newer ledger"
    );
}

/// Given two handles opened on one empty ledger (each its own `Ledger`),
/// when both assert the same claim (with different event ids), each
/// checking the append rules against the head it saw, then exactly one
/// assertion goes in: the second's commit finds the head moved, its ledger
/// checks the rules again against the new head and refuses the claim.
#[test]
fn two_writers_cannot_both_assert_one_claim() {
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut a = Ledger::new(PgStore::open(&url, true).unwrap());
    let mut b = Ledger::new(PgStore::open(&url, false).unwrap());
    let now = t("2026-01-01T00:00:00Z");
    let first = asserted(1, 100, "a", "2020-07-10T10:00:00Z", None);
    let second = asserted(2, 100, "a", "2020-07-10T11:00:00Z", None);
    a.append(
        vec![Incoming {
            line: None,
            event: first,
        }],
        now,
    )
    .expect("the first assertion goes in");
    let e = b
        .append(
            vec![Incoming {
                line: None,
                event: second,
            }],
            now,
        )
        .expect_err("the second assertion of the claim is refused");
    assert!(
        e.to_string().contains(&id(100).to_string()[..8]),
        "the refusal names the claim: {e}"
    );
    let fresh = PgStore::open(&url, false).unwrap();
    assert_eq!(fresh.head().seq, 1, "one entry");
    assert_eq!(fresh.seq_of_event(id(2)).unwrap(), None);
}

/// Given a ledger whose tables were changed outside claims (a column of
/// another type, a fact that does not decode, an entry that does not
/// decode), when it is read, then each read is refused as damaged in one
/// sentence, never a panic.
#[test]
fn tables_changed_outside_claims_are_refused_as_damaged() {
    let pg = TempCluster::start();
    let url = pg.new_database();
    let mut s = PgStore::open(&url, true).unwrap();
    fill(&mut s);
    drop(s);
    let damaged = |what: &str, e: claims_core::Error| {
        assert_eq!(e.kind(), claims_core::ErrorKind::Damaged, "{what}: {e:?}");
        assert!(!e.to_string().contains('\n'), "{what}: one line: {e}");
    };
    pg.sql(
        &url,
        "ALTER TABLE claims.story_claims ALTER COLUMN story TYPE text USING encode(story, 'escape')",
    );
    let s = PgStore::open(&url, false).unwrap();
    damaged("a story column of type text", s.stories().unwrap_err());
    damaged(
        "a story column of type text",
        s.story_claims("a").unwrap_err(),
    );
    pg.sql(&url, "UPDATE claims.summaries SET fact = '\\x00'");
    let e = s
        .summaries(0)
        .find_map(|r| r.err())
        .expect("a fact that does not decode is an error");
    damaged("a fact that does not decode", e);
    pg.sql(
        &url,
        "UPDATE claims.log SET entry = '\\x02ff' WHERE seq = 2",
    );
    damaged("an entry that does not decode", s.get(2).unwrap_err());
    let e = s
        .scan(1)
        .find_map(|r| r.err())
        .expect("a scan over an entry that does not decode is an error");
    damaged("a scan over an entry that does not decode", e);
}
