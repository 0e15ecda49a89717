//! The conformance suite every [`Store`] backend must pass. Each check takes a
//! function that makes a fresh, empty store; `run_all` runs them all.

use uuid::Uuid;

use super::{IdRange, Role, Store};
use crate::account::{Account, Role as AccountRole};
use crate::event::{Asserted, Body, Event, FollowUp, FollowUpKind, Voided, Wording};
use crate::record::{Record, GENESIS};
use crate::time::{parse_rfc3339, Valid};

/// A time from RFC 3339 (test input; panics on a bad one).
pub fn t(s: &str) -> crate::time::Time {
    parse_rfc3339(s).unwrap()
}

/// The UUID with this number.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// An `asserted` event: id `n`, claim `claim`, in `story`, valid to `to`.
pub fn asserted(n: u128, claim: u128, story: &str, to: &str, supersedes: Option<u128>) -> Event {
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

/// A `disputed` event `n` on `claim`, valid to `to`.
pub fn followup(n: u128, claim: u128, to: &str) -> Event {
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

/// A `voided` event `n` of event `target`.
pub fn void(n: u128, target: u128) -> Event {
    Event {
        id: id(n),
        body: Body::Voided(Voided {
            target: id(target),
            reason: "mistake".into(),
        }),
    }
}

/// Seals `events` to continue `store`'s head.
pub fn seal(store: &(impl Store + ?Sized), events: Vec<Event>) -> Vec<Record> {
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
pub fn fill(store: &mut (impl Store + ?Sized)) -> Vec<Record> {
    let first = seal(
        store,
        vec![
            asserted(1, 100, "a", "2020-07-10T10:00:00Z", None),
            followup(2, 100, "2020-07-10T12:00:00Z"),
        ],
    );
    store.commit(&store.head(), &first).unwrap();
    let second = seal(
        store,
        vec![
            asserted(3, 200, "b", "2020-07-10T11:00:00Z", Some(100)),
            void(4, 3),
        ],
    );
    store.commit(&store.head(), &second).unwrap();
    first.into_iter().chain(second).collect()
}

/// Conformance check: empty store has an empty head.
pub fn empty_store_has_an_empty_head(mut make: impl FnMut() -> Box<dyn Store>) {
    let s = make();
    assert_eq!(s.head().seq, 0);
    assert_eq!(s.head().hash, GENESIS);
    assert!(s.get(1).unwrap().is_none());
    assert_eq!(s.scan(1).count(), 0);
    assert!(s.stories().unwrap().is_empty());
}

/// Conformance check: commit then read back.
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

/// Conformance check: claim index files follow ups voids and supersessions.
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

/// Conformance check: story index lists claims and slugs.
pub fn story_index_lists_claims_and_slugs(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    fill(&mut *s);
    assert_eq!(s.stories().unwrap(), vec!["a".to_string(), "b".to_string()]);
    assert_eq!(s.story_claims("a").unwrap(), vec![(id(100), 1)]);
    assert_eq!(s.story_claims("b").unwrap(), vec![(id(200), 3)]);
    assert!(s.story_claims("").unwrap().is_empty());
}

/// Conformance check: valid time index orders by to.
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

/// Conformance check: id ranges find prefixes.
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

/// Conformance check: out of order commit is refused and changes nothing.
pub fn out_of_order_commit_is_refused_and_changes_nothing(make: impl FnMut() -> Box<dyn Store>) {
    let mut make = make;
    let mut s = make();
    fill(&mut *s);
    let mut bad = seal(&*s, vec![followup(9, 100, "2020-07-11T00:00:00Z")]);
    bad[0].seq = 7;
    assert!(s.commit(&s.head(), &bad).is_err());
    assert_eq!(s.head().seq, 4);
    assert!(s.seq_of_event(id(9)).unwrap().is_none());
}

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
        s.commit(&s.head(), &new).unwrap();
        all.extend(new);
        for r in &all {
            assert_eq!(s.get(r.seq).unwrap().as_ref(), Some(r), "round {round}");
        }
        assert!(s.get(all.len() as u64 + 1).unwrap().is_none());
    }
}

/// A commit sealed against a head that is not the store's (another writer
/// committed first) writes nothing and names the actual head.
pub fn a_commit_against_a_moved_head_is_refused_naming_the_actual_head(
    make: impl FnMut() -> Box<dyn Store>,
) {
    use crate::error::{Detail, ErrorKind};
    let mut make = make;
    let mut s = make();
    let stale = s.head();
    fill(&mut *s);
    let actual = s.head();
    assert_eq!(s.read_head().unwrap(), actual);
    // Sealed against the stale (empty) head, as a second writer would have.
    let late = Record::seal_all(
        vec![asserted(50, 500, "late", "2020-07-10T10:00:00Z", None)],
        1,
        t("2026-01-01T00:00:00Z"),
        &GENESIS,
    );
    let e = s.commit(&stale, &late).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HeadMoved, "{e:?}");
    assert_eq!(
        e.detail(),
        &Detail::HeadMoved {
            expected: stale,
            actual
        }
    );
    assert_eq!(s.head(), actual);
    assert!(s.seq_of_event(id(50)).unwrap().is_none());
    // The right head but records that do not continue it are refused too.
    let mut wrong = seal(&*s, vec![followup(51, 100, "2020-07-11T00:00:00Z")]);
    let mut other = actual;
    other.hash = [7; 32];
    assert_eq!(
        s.commit(&other, &wrong).unwrap_err().kind(),
        ErrorKind::HeadMoved
    );
    wrong[0].seq = actual.seq + 2;
    assert!(s.commit(&actual, &wrong).is_err());
    assert_eq!(s.head(), actual);
    // Re-sealed against the actual head, it goes in.
    let resealed = seal(&*s, vec![followup(52, 100, "2020-07-11T00:00:00Z")]);
    s.commit(&actual, &resealed).unwrap();
    assert_eq!(s.head().seq, actual.seq + 1);
}

/// The facts a claim's history implies, as the summary must hold them.
fn facts_from_log(s: &(impl Store + ?Sized), claim: Uuid) -> (u64, Vec<crate::summary::Fact>) {
    let mut h = crate::projection::ClaimHistory::new(claim);
    let mut asserted_seq = 0;
    for (seq, role) in s.claim_entries(claim).unwrap() {
        if role == Role::Asserted {
            asserted_seq = seq;
        }
        h.apply(&s.get(seq).unwrap().unwrap());
    }
    let mut facts = h.facts();
    facts.sort_by_key(|f| f.seq);
    (asserted_seq, facts)
}

fn summaries_agree_with_the_log(s: &(impl Store + ?Sized)) {
    use crate::summary::ClaimHeader;
    let all = IdRange {
        lo: Uuid::nil(),
        hi: Uuid::max(),
    };
    type Expected = (u64, Option<ClaimHeader>, Vec<crate::summary::Fact>);
    let mut expected: Vec<Expected> = Vec::new();
    for c in s.claim_ids_in(all, usize::MAX).unwrap() {
        let (claim_seq, facts) = facts_from_log(s, c);
        assert_eq!(s.summary(claim_seq).unwrap(), facts, "claim {c}");
        let header = ClaimHeader::of(&s.get(claim_seq).unwrap().unwrap()).filter(ClaimHeader::fits);
        expected.push((claim_seq, header, facts));
    }
    expected.sort_by_key(|e| e.0);
    let stored: Vec<Expected> = crate::stream::Claims::new(s.summaries(0))
        .map(|c| c.unwrap())
        .map(|c| (c.claim_seq, c.header, c.facts))
        .collect();
    assert_eq!(stored, expected);
    if let Some((c, _, _)) = expected.last() {
        let tail: Vec<_> = s.summaries(*c).map(|x| x.unwrap()).collect();
        assert!(tail.iter().all(|(k, _)| k == c) && !tail.is_empty());
    }
}

/// The tiles the log implies, built from its leaves, against the stored ones.
pub fn tree_agrees_with_the_log(s: &(impl Store + ?Sized)) {
    use crate::tree::{leaf_of, TileId, TreeBuilder};
    let mut b = TreeBuilder::new();
    let mut expected: Vec<(TileId, Vec<u8>)> = Vec::new();
    for r in s.scan(1) {
        b.push(leaf_of(&r.unwrap()), &mut |id, t| {
            if id.level > 0 {
                expected.push((id, t.to_vec()))
            }
        });
    }
    assert_eq!(b.size(), s.head().seq);
    expected.extend(b.partial_tiles().map(|(id, t)| (id, t.to_vec())));
    expected.sort();
    assert!(expected
        .iter()
        .all(|(id, _)| crate::tree::is_stored(*id, b.size())));
    let stored: Vec<(TileId, Vec<u8>)> = s.stored_tiles().map(|t| t.unwrap()).collect();
    assert_eq!(stored.len(), expected.len(), "tiles stored vs implied");
    assert!(
        stored == expected,
        "the stored tiles differ from those the log implies"
    );
    for (id, t) in &expected {
        assert_eq!(s.tile(*id).unwrap().as_ref(), Some(t), "tile {id:?}");
    }
}

/// Conformance check: the Merkle tree grows with every commit, across tile
/// boundaries, and its roots and proofs at every earlier size check.
pub fn the_merkle_tree_grows_with_every_commit(mut make: impl FnMut() -> Box<dyn Store>) {
    use crate::tree::{leaf_of, TileId, EMPTY_ROOT};
    let mut s = make();
    assert!(s.stored_tiles().next().is_none());
    assert_eq!(s.tile(TileId { level: 0, index: 0 }).unwrap(), None);
    let mut n = 0u128;
    let mut roots = vec![EMPTY_ROOT];
    for step in [1u128, 1, 253, 1, 1, 300, 10, 65_000 - 567] {
        let events = (0..step)
            .map(|i| {
                asserted(
                    1_000_000 + n + i,
                    2_000_000 + n + i,
                    "tree",
                    "2020-07-10T12:00:00Z",
                    None,
                )
            })
            .collect();
        n += step;
        let records = seal(&*s, events);
        s.commit(&s.head(), &records).unwrap();
        tree_agrees_with_the_log(&*s);
        let ledger = crate::Ledger::new(s);
        let size = ledger.store().head().seq;
        roots.push(ledger.tree_root(size).unwrap());
        let sizes = [1, 2, 255, 256, 257, 512, size / 2, size];
        for &m in sizes.iter().filter(|&&m| m >= 1 && m <= size) {
            let root = tlog_tiles::Hash(ledger.tree_root(m).unwrap());
            for seq in [1, m / 2 + 1, m] {
                let leaf = leaf_of(&ledger.store().get(seq).unwrap().unwrap());
                let p: Vec<_> = ledger
                    .inclusion_proof(seq, m)
                    .unwrap()
                    .into_iter()
                    .map(tlog_tiles::Hash)
                    .collect();
                tlog_tiles::check_record(&p, m, root, seq - 1, tlog_tiles::Hash(leaf)).unwrap();
            }
            let p: Vec<_> = ledger
                .consistency_proof(m, size)
                .unwrap()
                .into_iter()
                .map(tlog_tiles::Hash)
                .collect();
            tlog_tiles::check_tree(&p, size, tlog_tiles::Hash(roots[roots.len() - 1]), m, root)
                .unwrap();
        }
        assert!(ledger.tree_root(size + 1).is_err());
        assert!(ledger.inclusion_proof(size + 1, size).is_err());
        assert!(ledger.consistency_proof(0, size).is_err());
        s = ledger.into_store();
    }
    assert_eq!(s.head().seq, 65_000);
}

/// Conformance check: the claim summaries hold what the status rule needs
/// of every entry filed under each claim (follow-ups with their party,
/// supersessions, voids by target seq), in (claim seq, seq) order.
pub fn summaries_hold_each_claims_facts(mut make: impl FnMut() -> Box<dyn Store>) {
    let mut s = make();
    fill(&mut *s);
    summaries_agree_with_the_log(&*s);
    let facts = s.summary(1).unwrap();
    assert_eq!(facts.len(), 4, "{facts:?}");
    assert!(matches!(
        facts[2].what,
        crate::summary::What::Superseding { .. }
    ));
    assert_eq!(facts[3].what, crate::summary::What::Void { target: 3 });
    assert_eq!(s.summary(3).unwrap().len(), 2);
    assert!(s.summary(2).unwrap().is_empty());
}

/// Conformance check: a commit larger than any backend's small-commit path
/// (5000 entries) keeps the summaries and every index as the log implies,
/// and a ledger over the store verifies.
pub fn a_large_commit_keeps_summaries_and_verifies(mut make: impl FnMut() -> Box<dyn Store>) {
    let mut s = make();
    fill(&mut *s);
    let mut events = Vec::new();
    for i in 0..1000u128 {
        let claim = 10_000 + i;
        events.push(asserted(
            20_000 + i * 8,
            claim,
            "big",
            "2020-07-11T10:00:00Z",
            None,
        ));
        for j in 1..4 {
            events.push(followup(20_000 + i * 8 + j, claim, "2020-07-11T12:00:00Z"));
        }
        if i % 10 == 0 {
            events.push(void(20_000 + i * 8 + 4, 20_000 + i * 8 + 1));
        }
        if i % 7 == 1 {
            events.push(asserted(
                20_000 + i * 8 + 5,
                90_000 + i,
                "big",
                "2020-07-11T13:00:00Z",
                Some(claim - 1),
            ));
        }
    }
    events.push(followup(19_999, 100, "2020-07-11T12:00:00Z"));
    let records = seal(&*s, events);
    assert!(records.len() > 4096);
    s.commit(&s.head(), &records).unwrap();
    summaries_agree_with_the_log(&*s);
    tree_agrees_with_the_log(&*s);
    let ledger = crate::Ledger::new(s);
    let report = ledger.verify(|_| {}).unwrap();
    assert_eq!(report.count, ledger.store().head().seq);
}

/// A [`super::StagedIndex`] over records held in memory (what earlier
/// parts staged, for tests that stage by hand).
pub struct Known(pub Vec<Record>);

impl super::StagedIndex for Known {
    fn event_seq(&self, id: Uuid) -> Option<u64> {
        self.0.iter().find(|r| r.event.id == id).map(|r| r.seq)
    }
    fn claim(&self, claim: Uuid) -> Option<(u64, String)> {
        self.0.iter().find_map(|r| match &r.event.body {
            Body::Asserted(a) if a.claim == claim => Some((r.seq, a.by.clone())),
            _ => None,
        })
    }
}

/// Conformance check: staged parts are seen by the handle's reads but not
/// by its head; an abort leaves the store as it was; a commit of the staged
/// parts gives the store one commit of them all would.
pub fn staged_parts_commit_together_or_not_at_all(mut make: impl FnMut() -> Box<dyn Store>) {
    let mut whole = make();
    let mut parts = make();
    fill(&mut *whole);
    fill(&mut *parts);
    let head = parts.head();
    let mut events = Vec::new();
    for i in 0..30u128 {
        events.push(asserted(
            500 + i * 3,
            5000 + i,
            "staged",
            "2020-07-12T10:00:00Z",
            None,
        ));
        events.push(followup(501 + i * 3, 5000 + i, "2020-07-12T11:00:00Z"));
        if i % 5 == 0 {
            events.push(void(502 + i * 3, 501 + i * 3));
        }
    }
    events.push(followup(499, 100, "2020-07-12T11:00:00Z"));
    // Across parts: on a claim and of an event of the first part.
    events.push(followup(498, 5000, "2020-07-12T11:00:00Z"));
    events.push(void(497, 501));
    let records = seal(&*parts, events);
    let (a, b) = records.split_at(40);
    // Aborted: nothing left.
    let nothing = &super::NothingStaged;
    parts.stage(&head, a, nothing).unwrap();
    assert_eq!(parts.head(), head, "staging does not move the head");
    assert_eq!(
        parts.get(a[5].seq).unwrap().as_ref(),
        Some(&a[5]),
        "staged entries are read back"
    );
    assert!(
        parts.commit(&head, b).is_err(),
        "a commit while staged is refused"
    );
    parts.abort_staged().unwrap();
    assert_eq!(parts.head(), head);
    assert!(parts.get(a[0].seq).unwrap().is_none());
    assert!(parts.seq_of_event(a[0].event.id).unwrap().is_none());
    assert!(parts.summaries(head.seq + 1).next().is_none());
    summaries_agree_with_the_log(&*parts);
    tree_agrees_with_the_log(&*parts);
    // Committed: as one commit.
    parts.stage(&head, a, nothing).unwrap();
    parts.stage(&head, b, &Known(a.to_vec())).unwrap();
    parts.commit_staged(&head).unwrap();
    whole.commit(&whole.head(), &records).unwrap();
    assert_eq!(parts.head(), whole.head());
    let all = |s: &dyn Store| s.scan(1).map(|r| r.unwrap()).collect::<Vec<_>>();
    assert_eq!(all(&*parts), all(&*whole));
    let index = |s: &dyn Store| {
        let mut v: Vec<Vec<u8>> = s
            .stored_index()
            .map(|e| {
                let mut b = Vec::new();
                e.unwrap().canonical_into(&mut b);
                b
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(index(&*parts), index(&*whole));
    summaries_agree_with_the_log(&*parts);
    tree_agrees_with_the_log(&*parts);
    let tiles = |s: &dyn Store| s.stored_tiles().map(|t| t.unwrap()).collect::<Vec<_>>();
    assert_eq!(tiles(&*parts), tiles(&*whole));
}

/// Accounts for the account checks: `alice` (admin, created at a time with
/// nanoseconds), `bob` (reader) and `zed.9` (writer, revoked).
pub fn some_accounts() -> Vec<Account> {
    let mut zed = Account::new(
        "zed.9",
        AccountRole::Writer,
        "claims_z",
        t("2026-01-03T00:00:00Z"),
    )
    .unwrap();
    zed.revoke(t("2026-01-04T05:06:07.000000008Z")).unwrap();
    vec![
        Account::new(
            "alice",
            AccountRole::Admin,
            "claims_a",
            t("2026-01-01T12:34:56.123456789Z"),
        )
        .unwrap(),
        Account::new(
            "bob",
            AccountRole::Reader,
            "claims_b",
            t("2026-01-02T00:00:00Z"),
        )
        .unwrap(),
        zed,
    ]
}

/// Conformance check: accounts are put, listed in name order exactly as
/// put, and replaced by name; they are not in the log, the indexes or the
/// tiles, and commits and an aborted staged commit leave them as they are.
pub fn accounts_are_put_listed_and_replaced(mut make: impl FnMut() -> Box<dyn Store>) {
    let mut s = make();
    assert!(s.accounts().unwrap().is_empty());
    let mut all = some_accounts();
    for a in all.iter().rev() {
        s.put_account(a).unwrap();
    }
    assert_eq!(s.accounts().unwrap(), all, "in name order, as put");
    assert_eq!(s.head(), super::Head::EMPTY, "accounts are not in the log");
    assert_eq!(s.scan(1).count(), 0);
    assert_eq!(s.stored_index().count(), 0);
    assert_eq!(s.stored_tiles().count(), 0);

    // Replaced by name: a revocation, even a change of role and token.
    all[1].revoke(t("2026-02-01T00:00:00Z")).unwrap();
    all[1].role = AccountRole::Writer;
    all[1].token_hash = crate::account::token_hash("claims_b2");
    s.put_account(&all[1]).unwrap();
    assert_eq!(s.accounts().unwrap(), all);

    // Commits leave them as they are, and they leave the commits alone.
    let mut plain = make();
    fill(&mut *plain);
    fill(&mut *s);
    assert_eq!(s.accounts().unwrap(), all);
    let index = |s: &dyn Store| {
        let mut v: Vec<Vec<u8>> = s
            .stored_index()
            .map(|e| {
                let mut b = Vec::new();
                e.unwrap().canonical_into(&mut b);
                b
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(index(&*s), index(&*plain));
    let tiles = |s: &dyn Store| s.stored_tiles().map(|t| t.unwrap()).collect::<Vec<_>>();
    assert_eq!(tiles(&*s), tiles(&*plain));
    assert_eq!(s.head(), plain.head());

    // An aborted staged commit takes out its entries, not the accounts.
    let head = s.head();
    let part = seal(
        &*s,
        vec![asserted(900, 9000, "x", "2020-07-12T10:00:00Z", None)],
    );
    s.stage(&head, &part, &super::NothingStaged).unwrap();
    s.abort_staged().unwrap();
    assert_eq!(s.head(), head);
    assert_eq!(s.accounts().unwrap(), all);
    let first = all.remove(0);
    let mut fresh = make();
    fresh.put_account(&first).unwrap();
    assert_eq!(fresh.accounts().unwrap(), [first]);
}

/// Conformance check for a backend that keeps its data: accounts put
/// through one handle are there, exactly, through the next. `open` opens
/// the same store each time (empty the first time); each handle is dropped
/// before the next is opened.
pub fn accounts_survive_reopen(mut open: impl FnMut() -> Box<dyn Store>) {
    let mut all = some_accounts();
    {
        let mut s = open();
        assert!(s.accounts().unwrap().is_empty());
        for a in &all {
            s.put_account(a).unwrap();
        }
    }
    {
        let mut s = open();
        assert_eq!(s.accounts().unwrap(), all);
        fill(&mut *s);
        all[0].revoke(t("2026-03-01T00:00:00Z")).unwrap();
        s.put_account(&all[0]).unwrap();
    }
    let s = open();
    assert_eq!(s.accounts().unwrap(), all);
    assert_eq!(s.head().seq, 4);
}

/// Runs every check on fresh stores from `make`.
pub fn run_all(mut make: impl FnMut() -> Box<dyn Store>) {
    empty_store_has_an_empty_head(&mut make);
    commit_then_read_back(&mut make);
    reads_between_commits_see_each_commit(&mut make);
    claim_index_files_follow_ups_voids_and_supersessions(&mut make);
    story_index_lists_claims_and_slugs(&mut make);
    valid_time_index_orders_by_to(&mut make);
    id_ranges_find_prefixes(&mut make);
    out_of_order_commit_is_refused_and_changes_nothing(&mut make);
    a_commit_against_a_moved_head_is_refused_naming_the_actual_head(&mut make);
    summaries_hold_each_claims_facts(&mut make);
    a_large_commit_keeps_summaries_and_verifies(&mut make);
    staged_parts_commit_together_or_not_at_all(&mut make);
    the_merkle_tree_grows_with_every_commit(&mut make);
    accounts_are_put_listed_and_replaced(&mut make);
    crate::bulk::tests::streamed_appends_in_parts_are_all_or_nothing(&mut make);
    crate::ledger::tests::run_all(&mut make);
}

#[cfg(test)]
mod backends {
    use super::*;
    use crate::store::MemStore;

    #[test]
    fn mem_store_conforms() {
        run_all(|| Box::new(MemStore::new()));
    }
}
