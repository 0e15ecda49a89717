//! The conformance suite on `SledStore`, and the sled-only tests: reopening,
//! recovery, formats, foreign data.

use claims_core::record::Record;
use claims_core::store::conformance::*;
use claims_core::{MemStore, Store};

use crate::{OpenOptions, SledStore};

#[test]
fn sled_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    run_all(|| {
        n += 1;
        Box::new(
            SledStore::open(dir.path().join(format!("db{n}")), &OpenOptions::default()).unwrap(),
        )
    });
}

fn open(path: &std::path::Path) -> SledStore {
    SledStore::open(path, &OpenOptions::default()).unwrap()
}

#[test]
fn sled_store_keeps_accounts_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    accounts_survive_reopen(|| Box::new(open(&path)));
}

#[test]
fn sled_store_keeps_accounts_out_of_recovery_and_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let all = some_accounts();
    {
        let mut s = open(&path);
        fill(&mut s);
        for a in &all {
            s.put_account(a).unwrap();
        }
        // Indexes to derive again, and a format to upgrade from, on open.
        s.raw_forget_indexes(0).unwrap();
        s.raw_set_format(2).unwrap();
    }
    let s = open(&path);
    assert_eq!(s.recovery().upgraded_from, Some(2));
    assert_eq!(s.accounts().unwrap(), all);
    assert_eq!(s.head().seq, 4);
}

#[test]
fn a_poisoned_sled_store_takes_no_account() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir.path().join("db"));
    s.poisoned = true;
    let e = s.put_account(&some_accounts()[0]).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::Damaged);
    assert!(s.accounts().unwrap().is_empty());
}

#[test]
fn sled_store_keeps_everything_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let all = {
        let mut s = open(&path);
        fill(&mut s)
    };
    let s = open(&path);
    assert_eq!(s.head().seq, 4);
    assert_eq!(s.head().hash, all[3].hash);
    assert_eq!(s.scan(1).map(|r| r.unwrap()).collect::<Vec<_>>(), all);
    assert_eq!(s.claim_entries(id(100)).unwrap().len(), 4);
}

#[test]
fn sled_store_drops_uncommitted_log_entries_and_their_indexes_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        fill(&mut s);
        // A crash after step 1 of a commit: the log entry is there, the head is not.
        let leftover = seal(
            &s,
            vec![asserted(5, 300, "c", "2020-07-11T00:00:00Z", None)],
        );
        s.raw_log_put(5, &leftover[0].encode()).unwrap();
    }
    let s = open(&path);
    assert_eq!(s.head().seq, 4);
    assert!(s.raw_log_get(5).unwrap().is_none());
    assert!(s.seq_of_event(id(5)).unwrap().is_none());
    assert!(s.story_claims("c").unwrap().is_empty());
}

#[test]
fn sled_store_rebuilds_indexes_behind_the_high_water_mark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        fill(&mut s);
        s.raw_forget_indexes(0).unwrap();
    }
    let s = open(&path);
    assert_eq!(s.seq_of_event(id(3)).unwrap(), Some(3));
    assert_eq!(s.claim_entries(id(100)).unwrap().len(), 4);
    assert_eq!(s.stories().unwrap().len(), 2);
}

#[test]
fn sled_store_refuses_a_newer_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    open(&path)
        .raw_set_format(crate::FORMAT_VERSION + 1)
        .unwrap();
    let e = SledStore::open(&path, &OpenOptions::default()).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::Damaged);
    assert!(e.message().contains("newer claims"), "{e}");
}

#[test]
fn sled_store_refuses_a_foreign_directory_and_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let e = SledStore::open(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(e.message().contains("not a claims ledger"), "{e}");
    let e = SledStore::open(dir.path().join("notes.txt"), &OpenOptions::default()).unwrap_err();
    assert!(e.message().contains("is a file"), "{e}");
}

#[test]
fn sled_store_refuses_another_programs_sled_database_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other");
    {
        let db = sled::open(&path).unwrap();
        db.open_tree("their-data")
            .unwrap()
            .insert(b"k", b"v")
            .unwrap();
        db.flush().unwrap();
    }
    let e = SledStore::open(&path, &OpenOptions::default()).unwrap_err();
    assert!(e.message().contains("another program"), "{e}");
    let db = sled::open(&path).unwrap();
    let names: Vec<_> = db.tree_names().into_iter().map(|n| n.to_vec()).collect();
    assert!(
        !names.contains(&b"log".to_vec()),
        "claims created its trees in a foreign database"
    );
}

/// Writes a ledger in format 1 exactly as docs/format.md pins it ("Format
/// 1"): one `log` key per seq holding tag 1 + JSON, `meta/format` = 1 and
/// the 48-byte `meta/head`, index trees left empty (`meta/indexed` = 0, as a
/// crash before any index write would leave them).
fn write_format_1(path: &std::path::Path, records: &[Record]) {
    let db = sled::open(path).unwrap();
    let log = db.open_tree("log").unwrap();
    let meta = db.open_tree("meta").unwrap();
    for name in ["ids", "claims", "stories", "valid"] {
        db.open_tree(name).unwrap();
    }
    for r in records {
        log.insert(r.seq.to_be_bytes(), r.encode()).unwrap();
    }
    let last = records.last().unwrap();
    let mut head = Vec::new();
    head.extend_from_slice(&last.seq.to_be_bytes());
    head.extend_from_slice(&last.hash);
    head.extend_from_slice(&last.recorded_at.timestamp_micros().to_be_bytes());
    meta.insert(b"format", &1u32.to_be_bytes()).unwrap();
    meta.insert(b"head", head).unwrap();
    meta.insert(b"indexed", &0u64.to_be_bytes()).unwrap();
    db.flush().unwrap();
}

#[test]
fn a_format_1_ledger_is_upgraded_on_open_and_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1");
    let mut reference = MemStore::new();
    let all = fill(&mut reference);
    write_format_1(&path, &all);
    {
        let s = open(&path);
        assert_eq!(s.head().seq, 4);
        assert_eq!(s.head().hash, all[3].hash);
        assert_eq!(s.scan(1).map(|r| r.unwrap()).collect::<Vec<_>>(), all);
        for c in [id(100), id(200)] {
            assert_eq!(
                s.claim_entries(c).unwrap(),
                reference.claim_entries(c).unwrap()
            );
        }
        assert_eq!(s.stories().unwrap(), reference.stories().unwrap());
        claims_core::Ledger::new(s).verify(|_| {}).unwrap();
    }
    // Upgraded: it opens again as the current format, and takes new entries.
    let mut s = open(&path);
    let more = seal(&s, vec![followup(5, 200, "2020-07-12T00:00:00Z")]);
    s.commit(&s.head(), &more).unwrap();
    drop(s);
    let s = open(&path);
    assert_eq!(s.head().seq, 5);
    claims_core::Ledger::new(s).verify(|_| {}).unwrap();
}

#[test]
fn a_ledger_missing_sleds_conf_file_is_called_damaged_not_foreign() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    fill(&mut open(&path));
    std::fs::remove_file(path.join("conf")).unwrap();
    let e = SledStore::open(&path, &OpenOptions::default()).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::Damaged);
    assert!(e.message().contains("is damaged"), "{e}");
}

#[test]
fn opening_a_missing_ledger_without_create_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let opts = OpenOptions {
        create: false,
        ..OpenOptions::default()
    };
    let e = SledStore::open(dir.path().join("nope"), &opts).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::NotFound);
    assert!(!dir.path().join("nope").exists());
}

fn opts_waiting(ms: u64) -> OpenOptions {
    OpenOptions {
        lock_wait: std::time::Duration::from_millis(ms),
        ..OpenOptions::default()
    }
}

#[test]
fn an_entry_longer_than_a_block_can_hold_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut s = open(&path);
    fill(&mut s);
    let mut e = asserted(5, 300, "c", "2020-07-11T00:00:00Z", None);
    if let claims_core::event::Body::Asserted(a) = &mut e.body {
        a.text = "x".repeat(crate::packed::MAX_ENTRY);
    }
    let big = seal(&s, vec![e]);
    let err = s.commit(&s.head(), &big).unwrap_err();
    assert_eq!(err.kind(), claims_core::ErrorKind::InvalidInput, "{err}");
    // Nothing was written, so the handle still takes commits.
    assert!(!s.is_poisoned());
    assert_eq!(s.head().seq, 4);
    let more = seal(&s, vec![followup(5, 200, "2020-07-12T00:00:00Z")]);
    s.commit(&s.head(), &more).unwrap();
    drop(s);
    claims_core::Ledger::new(open(&path))
        .verify(|_| {})
        .unwrap();
}

#[test]
fn a_locked_ledger_is_found_by_flock_on_db_not_by_sleds_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    fill(&mut open(&path));
    assert!(!crate::open::lock_held(&path));
    // Hold the lock the way sled does (flock on `db`) without sled.
    let f = std::fs::File::open(path.join("db")).unwrap();
    f.try_lock().unwrap();
    assert!(crate::open::lock_held(&path));
    let started = std::time::Instant::now();
    let e = SledStore::open(&path, &opts_waiting(150)).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::Locked, "{e}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    match e.detail() {
        claims_core::error::Detail::Locked { path: p, waited_ms } => {
            assert_eq!(p, &path);
            assert!(*waited_ms >= 150, "{waited_ms}");
        }
        d => panic!("no Locked detail: {d:?}"),
    }
    drop(f);
    assert!(!crate::open::lock_held(&path));
    // And a handle of this process holds it the same way.
    let held = open(&path);
    let e = SledStore::open(&path, &opts_waiting(50)).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::Locked, "{e}");
    drop(held);
    open(&path);
}

#[test]
fn an_io_failure_on_open_is_reported_at_once_not_waited_on_as_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    fill(&mut open(&path));
    // sled cannot make its `blobs` directory where a file stands.
    std::fs::remove_dir_all(path.join("blobs")).unwrap();
    std::fs::write(path.join("blobs"), b"").unwrap();
    let started = std::time::Instant::now();
    let e = SledStore::open(&path, &opts_waiting(5_000)).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::Io, "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "waited {:?} as if locked",
        started.elapsed()
    );
    assert!(e.message().contains("(os error"), "{e}");
}

#[test]
fn a_clean_open_reports_no_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    fill(&mut open(&path));
    let s = open(&path);
    assert!(s.recovery().is_clean(), "{:?}", s.recovery());
}

#[test]
fn recovery_reports_rolled_back_entries_and_derived_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        fill(&mut s);
        let leftover = seal(
            &s,
            vec![
                asserted(5, 300, "c", "2020-07-11T00:00:00Z", None),
                followup(6, 300, "2020-07-12T00:00:00Z"),
            ],
        );
        for r in &leftover {
            s.raw_log_put(r.seq, &r.encode()).unwrap();
        }
        s.raw_forget_indexes(2).unwrap();
    }
    let s = open(&path);
    let r = s.recovery();
    assert_eq!(r.rolled_back, 2);
    assert_eq!(r.rolled_back_seqs, Some(5..=6));
    assert!(r.undecodable.is_empty());
    assert_eq!(r.reindexed, Some(3..=4));
    assert!(!r.is_clean());
}

#[test]
fn an_undecodable_leftover_past_the_head_is_reported_and_leaves_no_stale_index_elements() {
    use claims_core::store::IndexEntry;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        fill(&mut s);
        // A leftover at seq 5 that does not decode, whose index elements
        // (here: event 5 at seq 5, a story element) were written.
        s.raw_log_put(5, b"\x02not an entry").unwrap();
        s.apply_index(
            &[
                IndexEntry::EventId(id(5), 5),
                IndexEntry::Story("c".into(), id(300), 5),
            ],
            true,
        )
        .unwrap();
        s.sync().unwrap();
    }
    let mut s = open(&path);
    let r = s.recovery().clone();
    assert_eq!(r.rolled_back, 1);
    assert_eq!(r.undecodable, vec![5]);
    assert_eq!(r.stale_index_elements, 2);
    // Seq 5 is used again by another event: nothing of the old one is found.
    let more = seal(&s, vec![followup(55, 200, "2020-07-12T00:00:00Z")]);
    s.commit(&s.head(), &more).unwrap();
    assert_eq!(s.seq_of_event(id(5)).unwrap(), None);
    assert_eq!(s.seq_of_event(id(55)).unwrap(), Some(5));
    assert!(s.story_claims("c").unwrap().is_empty());
    claims_core::Ledger::new(s).verify(|_| {}).unwrap();
}

#[test]
fn a_disk_full_error_from_sled_reads_as_the_os_sentence() {
    use std::error::Error as _;
    let original = sled::Error::Io(std::io::Error::from_raw_os_error(28));
    // sled hands out clones of an error it kept, whose text is the Debug dump.
    let clone = original.clone();
    assert!(clone.to_string().contains("Os {"), "{clone}");
    for err in [original, clone] {
        let e = crate::from_sled(err);
        assert_eq!(e.kind(), claims_core::ErrorKind::Io);
        assert!(
            e.message()
                .ends_with("No space left on device (os error 28)"),
            "{}",
            e.message()
        );
        assert!(!e.message().contains("Os {"), "{}", e.message());
        assert_eq!(
            e.source().unwrap().to_string(),
            "No space left on device (os error 28)"
        );
        assert_eq!(
            e.detail(),
            &claims_core::error::Detail::Io {
                kind: std::io::ErrorKind::StorageFull
            }
        );
    }
}

#[test]
fn each_rebuilt_error_number_decodes_to_its_kind() {
    for code in 1..200 {
        let e = std::io::Error::from_raw_os_error(code);
        let clone = sled::Error::Io(std::io::Error::from_raw_os_error(code)).clone();
        let sled::Error::Io(clone) = clone else {
            unreachable!()
        };
        let plain = crate::plain_io(clone);
        assert_eq!(plain.kind(), e.kind(), "errno {code}");
        if let Some(back) = plain.raw_os_error() {
            // Rebuilt only where this number alone gives the kind.
            assert_eq!(
                back,
                code,
                "errno {code} ({:?}) rebuilt as {back}",
                e.kind()
            );
        }
        assert!(!plain.to_string().contains('{'), "{plain}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
    ))]

    /// A stored value changed in any way (a log block, an index chunk, the
    /// head, the marks) gives answers or errors from every read and from a
    /// reopen, never a panic.
    #[test]
    fn a_damaged_value_in_any_tree_gives_errors_never_a_panic(
        tree in 0..7usize,
        pick in proptest::prelude::any::<usize>(),
        flips in proptest::collection::vec((proptest::prelude::any::<usize>(), 1..=255u8), 0..4),
        cut in proptest::option::of(proptest::prelude::any::<usize>()),
        extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let mut s = open(&path);
            fill(&mut s);
            let t = [&s.log, &s.meta, &s.ids, &s.claims, &s.stories, &s.valid, &s.tiles][tree];
            let keys: Vec<_> = t.iter().keys().map(|k| k.unwrap()).collect();
            let key = &keys[pick % keys.len()];
            let mut v = t.get(key).unwrap().unwrap().to_vec();
            for (i, x) in &flips {
                if !v.is_empty() {
                    let n = v.len();
                    v[i % n] ^= x;
                }
            }
            if let Some(c) = cut {
                v.truncate(c % (v.len() + 1));
            }
            v.extend_from_slice(&extra);
            t.insert(key, v).unwrap();
            s.cache().clear();
            read_everything(&s);
            s.sync().unwrap();
        }
        if let Ok(s) = SledStore::open(&path, &OpenOptions::default()) {
            read_everything(&s);
            let _ = claims_core::Ledger::new(s).verify(|_| {});
        }
    }
}

fn read_everything(s: &SledStore) {
    for seq in 0..=6 {
        let _ = s.get(seq);
    }
    let _ = s.scan(1).collect::<Vec<_>>();
    let _ = s.scan(3).collect::<Vec<_>>();
    for n in [1, 2, 3, 4, 100, 200] {
        let _ = s.seq_of_event(id(n));
        let _ = s.claim_entries(id(n));
    }
    let all = claims_core::store::IdRange {
        lo: uuid::Uuid::nil(),
        hi: uuid::Uuid::max(),
    };
    let _ = s.event_ids_in(all, 100);
    let _ = s.claim_ids_in(all, 100);
    let _ = s.stories();
    let _ = s.story_claims("a");
    let _ = s.stored_tiles().collect::<Vec<_>>();
    use claims_core::tree;
    let _ = tree::root(s, 4);
    for seq in 1..=4 {
        let _ = tree::inclusion_proof(s, seq, 4);
    }
    let _ = tree::consistency_proof(s, 2, 4);
    let _ = s.seqs_by_valid_to(t("1900-01-01T00:00:00Z"), t("2100-01-01T00:00:00Z"));
}

#[test]
fn a_ledger_closed_with_a_commit_staged_reopens_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let (head, before) = {
        let mut s = open(&path);
        fill(&mut s);
        let head = s.head();
        let before: Vec<Record> = s.scan(1).map(|r| r.unwrap()).collect();
        let mut events = Vec::new();
        for i in 0..2000u128 {
            events.push(asserted(
                10_000 + i * 2,
                50_000 + i,
                "gone",
                "2020-07-12T10:00:00Z",
                None,
            ));
            events.push(followup(10_001 + i * 2, 50_000 + i, "2020-07-12T11:00:00Z"));
        }
        let records = seal(&s, events);
        for part in records.chunks(900) {
            s.stage(&head, part, &claims_core::store::NothingStaged)
                .unwrap();
        }
        assert_eq!(s.get(4000).unwrap().map(|r| r.seq), Some(4000));
        // Closed (the process ends) without committing.
        (head, before)
    };
    let s = open(&path);
    assert_eq!(s.head(), head);
    assert_eq!(s.recovery().rolled_back, 4000);
    assert_eq!(s.scan(1).map(|r| r.unwrap()).collect::<Vec<_>>(), before);
    assert!(s.story_claims("gone").unwrap().is_empty());
    assert!(s.summaries(5).next().is_none());
    let ledger = claims_core::Ledger::new(s);
    assert_eq!(ledger.verify(|_| {}).unwrap().count, head.seq);
}

#[test]
fn a_format_2_ledger_gains_its_summaries_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2");
    {
        let mut s = open(&path);
        fill(&mut s);
        let more = seal(
            &s,
            vec![
                followup(5, 200, "2020-07-12T00:00:00Z"),
                asserted(6, 600, "c", "2020-07-12T00:00:00Z", Some(200)),
            ],
        );
        s.commit(&s.head(), &more).unwrap();
        // What format 2 held: everything but the summary tree.
        s.raw_clear_summaries().unwrap();
        s.raw_set_format(2).unwrap();
    }
    let s = open(&path);
    assert_eq!(s.recovery().upgraded_from, Some(2));
    assert_eq!(
        s.summary(1).unwrap().len(),
        4,
        "claim 100's facts derived again"
    );
    assert_eq!(
        s.summary(3).unwrap().len(),
        4,
        "claim 200's, with the supersession"
    );
    let ledger = claims_core::Ledger::new(s);
    ledger.verify(|_| {}).unwrap();
    drop(ledger);
    let s = open(&path);
    assert!(s.recovery().is_clean(), "{:?}", s.recovery());
}

/// The encoding tag of each stored entry, in seq order.
fn stored_tags(s: &SledStore) -> Vec<u8> {
    let mut tags = Vec::new();
    for kv in s.log.range(crate::keys::seq_key(1)..) {
        let (k, v) = kv.unwrap();
        let key = u64::from_be_bytes(k.as_ref().try_into().unwrap());
        crate::packed::BlockView::parse(key, &v, |_, bytes| {
            tags.push(bytes[0]);
            true
        })
        .unwrap();
    }
    tags
}

fn stored_format(s: &SledStore) -> u32 {
    let v = s.meta.get(crate::keys::META_FORMAT).unwrap().unwrap();
    u32::from_be_bytes(v.as_ref().try_into().unwrap())
}

#[test]
fn a_format_4_ledger_is_upgraded_on_open_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4");
    let before = {
        let mut s = open(&path);
        fill(&mut s);
        // What format 4 held: this layout, every entry tag 2.
        s.raw_set_format(4).unwrap();
        s.scan(1).map(|r| r.unwrap()).collect::<Vec<_>>()
    };
    let s = open(&path);
    assert_eq!(s.recovery().upgraded_from, Some(4));
    assert_eq!(stored_format(&s), crate::FORMAT_VERSION);
    assert_eq!(crate::FORMAT_VERSION, 5);
    assert_eq!(s.recovery().reindexed, None, "no index derived again");
    assert_eq!(s.recovery().retiled, None, "the tree kept");
    assert_eq!(s.scan(1).map(|r| r.unwrap()).collect::<Vec<_>>(), before);
    assert_eq!(s.claim_entries(id(100)).unwrap().len(), 4);
    assert_eq!(stored_tags(&s), vec![2; 4]);
    // It takes entries recorded by an account (tag 3) beside the old ones.
    let mut ledger = claims_core::Ledger::new(s);
    let now = t("2026-01-02T00:00:00Z");
    ledger
        .append_as(
            vec![claims_core::Incoming {
                line: None,
                event: followup(5, 100, "2020-07-12T00:00:00Z"),
            }],
            now,
            Some("alice".into()),
        )
        .unwrap();
    ledger.verify(|_| {}).unwrap();
    drop(ledger);
    let s = open(&path);
    assert!(s.recovery().is_clean(), "{:?}", s.recovery());
    assert_eq!(stored_tags(&s), vec![2, 2, 2, 2, 3]);
    let all: Vec<Record> = s.scan(1).map(|r| r.unwrap()).collect();
    assert_eq!(all[..4], before[..]);
    assert_eq!(all[4].recorded_by.as_deref(), Some("alice"));
    assert_eq!(s.get(5).unwrap().unwrap(), all[4]);
    claims_core::Ledger::new(s).verify(|_| {}).unwrap();
}

#[test]
fn a_changed_recorded_by_fails_verify() {
    use claims_core::ErrorKind;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let now = t("2026-01-02T00:00:00Z");
    {
        let mut ledger = claims_core::Ledger::new(open(&path));
        ledger
            .append_as(
                vec![
                    claims_core::Incoming {
                        line: None,
                        event: asserted(1, 100, "a", "2020-07-10T10:00:00Z", None),
                    },
                    claims_core::Incoming {
                        line: None,
                        event: followup(2, 100, "2020-07-10T12:00:00Z"),
                    },
                ],
                now,
                Some("alice".into()),
            )
            .unwrap();
        ledger.verify(|_| {}).unwrap();
    }
    // Given as tag 1 (JSON), edited, put back: by another name, or none.
    for edit in [Some("mallory"), None] {
        let s = open(&path);
        let raw = s.raw_log_get(1).unwrap().unwrap();
        assert_eq!(raw[0], claims_core::record::ENCODING_JSON);
        let mut r = Record::decode(&raw).unwrap();
        assert_eq!(r.recorded_by.as_deref(), Some("alice"));
        r.recorded_by = edit.map(str::to_owned);
        // The export form keeps the old hash.
        let edited = r.encode();
        s.raw_log_put(1, &edited).unwrap();
        let e = claims_core::Ledger::new(s).verify(|_| {}).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Verification, "{edit:?}: {e:?}");
        // Put the entry back as it was for the next edit.
        let s = open(&path);
        s.raw_log_put(1, &raw).unwrap();
        claims_core::Ledger::new(s).verify(|_| {}).unwrap();
    }
}
