//! The conformance suite every [`Store`] backend must pass. Each check takes a
//! function that makes a fresh, empty store; `run_all` runs them all.

use uuid::Uuid;

use super::{IdRange, Role, Store};
use crate::event::{Asserted, Body, Event, FollowUp, FollowUpKind, Voided, Wording};
use crate::record::{Record, GENESIS};
use crate::time::{parse_rfc3339, Valid};

fn t(s: &str) -> crate::time::Time {
    parse_rfc3339(s).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn asserted(n: u128, claim: u128, story: &str, to: &str, supersedes: Option<u128>) -> Event {
    Event {
        id: id(n),
        body: Body::Asserted(Asserted {
            claim: id(claim),
            story: story.into(),
            by: "Amazon".into(),
            text: format!("claim {claim}"),
            valid: Valid {
                from: t("2020-07-10T00:00:00Z"),
                to: t(to),
                text: None,
            },
            wording: Wording::default(),
            supersedes: supersedes.map(id),
        }),
    }
}

fn followup(n: u128, claim: u128, to: &str) -> Event {
    Event {
        id: id(n),
        body: Body::FollowedUp(FollowUp {
            kind: FollowUpKind::Disputed,
            claim: id(claim),
            by: "TikTok".into(),
            valid: Valid::at(t(to)),
            reason: None,
            note: None,
            wording: Wording::default(),
        }),
    }
}

fn void(n: u128, target: u128) -> Event {
    Event {
        id: id(n),
        body: Body::Voided(Voided {
            target: id(target),
            reason: "mistake".into(),
        }),
    }
}

fn seal(store: &(impl Store + ?Sized), events: Vec<Event>) -> Vec<Record> {
    let head = store.head();
    let mut prev = head.hash;
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let r = Record::seal(e, head.seq + 1 + i as u64, t("2026-01-01T00:00:00Z"), &prev);
            prev = r.hash;
            r
        })
        .collect()
}

/// A small story: claims 100 (story a) and 200 (story b, supersedes 100),
/// a dispute of 100, a void of 200's assertion.
fn fill(store: &mut (impl Store + ?Sized)) -> Vec<Record> {
    let first = seal(
        store,
        vec![
            asserted(1, 100, "a", "2020-07-10T10:00:00Z", None),
            followup(2, 100, "2020-07-10T12:00:00Z"),
        ],
    );
    store.commit(&first).unwrap();
    let second = seal(
        store,
        vec![
            asserted(3, 200, "b", "2020-07-10T11:00:00Z", Some(100)),
            void(4, 3),
        ],
    );
    store.commit(&second).unwrap();
    first.into_iter().chain(second).collect()
}

pub fn empty_store_has_an_empty_head(mut make: impl FnMut() -> Box<dyn Store>) {
    let s = make();
    assert_eq!(s.head().seq, 0);
    assert_eq!(s.head().hash, GENESIS);
    assert!(s.get(1).unwrap().is_none());
    assert_eq!(s.scan(1).count(), 0);
    assert!(s.stories().unwrap().is_empty());
}

pub fn commit_then_read_back(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    let all = fill(&mut *s);
    assert_eq!(s.head().seq, 4);
    assert_eq!(s.head().hash, all[3].hash);
    for r in &all {
        assert_eq!(s.get(r.seq).unwrap().as_ref(), Some(r));
        assert_eq!(s.seq_of_event(r.event.id).unwrap(), Some(r.seq));
    }
    let scanned: Vec<Record> = s.scan(2).map(|r| r.unwrap()).collect();
    assert_eq!(scanned, all[1..].to_vec());
    assert!(s.get(5).unwrap().is_none());
}

pub fn claim_index_files_follow_ups_voids_and_supersessions(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    fill(&mut *s);
    assert_eq!(
        s.claim_entries(id(100)).unwrap(),
        vec![
            (1, Role::Asserted),
            (2, Role::FollowUp),
            (3, Role::Superseding),
            (4, Role::Void)
        ]
    );
    assert_eq!(
        s.claim_entries(id(200)).unwrap(),
        vec![(3, Role::Asserted), (4, Role::Void)]
    );
    assert!(s.claim_entries(id(300)).unwrap().is_empty());
}

pub fn story_index_lists_claims_and_slugs(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    fill(&mut *s);
    assert_eq!(s.stories().unwrap(), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(s.story_claims("a").unwrap(), vec![(id(100), 1)]);
    assert_eq!(s.story_claims("b").unwrap(), vec![(id(200), 3)]);
    assert!(s.story_claims("").unwrap().is_empty());
}

pub fn valid_time_index_orders_by_to(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    fill(&mut *s);
    let all = s
        .seqs_by_valid_to(crate::time::Time::MIN_UTC, crate::time::Time::MAX_UTC)
        .unwrap();
    assert_eq!(all, vec![1, 3, 2]);
    let some = s
        .seqs_by_valid_to(t("2020-07-10T10:30:00Z"), t("2020-07-10T12:00:00Z"))
        .unwrap();
    assert_eq!(some, vec![3, 2]);
}

pub fn id_ranges_find_prefixes(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    fill(&mut *s);
    let all = IdRange {
        lo: Uuid::nil(),
        hi: Uuid::max(),
    };
    assert_eq!(
        s.event_ids_in(all, 10).unwrap(),
        vec![id(1), id(2), id(3), id(4)]
    );
    assert_eq!(s.event_ids_in(all, 2).unwrap(), vec![id(1), id(2)]);
    assert_eq!(s.claim_ids_in(all, 10).unwrap(), vec![id(100), id(200)]);
    let one = IdRange {
        lo: id(200),
        hi: id(200),
    };
    assert_eq!(s.claim_ids_in(one, 10).unwrap(), vec![id(200)]);
}

pub fn out_of_order_commit_is_refused_and_changes_nothing(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    fill(&mut *s);
    let mut bad = seal(&*s, vec![followup(9, 100, "2020-07-11T00:00:00Z")]);
    bad[0].seq = 7;
    assert!(s.commit(&bad).is_err());
    assert_eq!(s.head().seq, 4);
    assert!(s.seq_of_event(id(9)).unwrap().is_none());
}

/// Runs every check against `make`.
/// Reads between commits see every commit: a store that keeps what it read
/// (the sled store's block cache) must drop what a commit rewrites.
pub fn reads_between_commits_see_each_commit(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    let mut all: Vec<Record> = Vec::new();
    for round in 0..6u128 {
        let events = (0..3u128)
            .map(|i| {
                asserted(
                    1000 + round * 10 + i,
                    5000 + round * 10 + i,
                    "r",
                    "2020-07-10T10:00:00Z",
                    None,
                )
            })
            .collect();
        let new = seal(&*s, events);
        s.commit(&new).unwrap();
        all.extend(new);
        for r in &all {
            assert_eq!(s.get(r.seq).unwrap().as_ref(), Some(r), "round {round}");
        }
        assert!(s.get(all.len() as u64 + 1).unwrap().is_none());
    }
}

pub fn run_all(mut make: impl FnMut() -> Box<dyn Store>) {
    empty_store_has_an_empty_head(&mut make);
    commit_then_read_back(&mut make);
    reads_between_commits_see_each_commit(&mut make);
    claim_index_files_follow_ups_voids_and_supersessions(&mut make);
    story_index_lists_claims_and_slugs(&mut make);
    valid_time_index_orders_by_to(&mut make);
    id_ranges_find_prefixes(&mut make);
    out_of_order_commit_is_refused_and_changes_nothing(&mut make);
}

mod backends {
    use super::*;
    use crate::store::{MemStore, OpenOptions, SledStore};

    #[test]
    fn mem_store_conforms() {
        run_all(|| Box::new(MemStore::new()));
    }

    #[test]
    fn sled_store_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let mut n = 0;
        run_all(|| {
            n += 1;
            Box::new(
                SledStore::open(dir.path().join(format!("db{n}")), &OpenOptions::default())
                    .unwrap(),
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
            .raw_set_format(crate::store::FORMAT_VERSION + 1)
            .unwrap();
        let e = SledStore::open(&path, &OpenOptions::default()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Damaged);
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
            crate::Ledger::new(s).verify(|_| {}).unwrap();
        }
        // Upgraded: it opens again as the current format, and takes new entries.
        let mut s = open(&path);
        let more = seal(&s, vec![followup(5, 200, "2020-07-12T00:00:00Z")]);
        s.commit(&more).unwrap();
        drop(s);
        let s = open(&path);
        assert_eq!(s.head().seq, 5);
        crate::Ledger::new(s).verify(|_| {}).unwrap();
    }

    #[test]
    fn a_ledger_missing_sleds_conf_file_is_called_damaged_not_foreign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        fill(&mut open(&path));
        std::fs::remove_file(path.join("conf")).unwrap();
        let e = SledStore::open(&path, &OpenOptions::default()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Damaged);
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
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
        assert!(!dir.path().join("nope").exists());
    }
}
