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
