//! The Merkle tree's tiles on sled: the catch-up on open from `meta/tree`,
//! the cut back of tiles a crash left past it, a damaged right edge rebuilt,
//! the upgrade from format 3, and `verify` catching a changed tile.

use claims_core::store::conformance::*;
use claims_core::tree::{self, TileId};
use claims_core::{Ledger, MemStore, Store};

use crate::keys::META_TREE;
use crate::tree::tile_key;
use crate::{OpenOptions, SledStore};

fn open(path: &std::path::Path) -> SledStore {
    SledStore::open(path, &OpenOptions::default()).unwrap()
}

/// Commits `n` assertions in commits of `step`.
fn grow(s: &mut dyn Store, n: u128, step: usize) {
    let base = 10_000 + 2 * u128::from(s.head().seq);
    let events: Vec<_> = (0..n)
        .map(|i| {
            asserted(
                base + 2 * i,
                base + 2 * i + 1,
                "t",
                "2020-07-10T12:00:00Z",
                None,
            )
        })
        .collect();
    for part in events.chunks(step) {
        let records = seal(s, part.to_vec());
        s.commit(&s.head(), &records).unwrap();
    }
}

/// The tiles a plain store holding the same log has.
fn reference_tiles(s: &SledStore) -> Vec<(TileId, Vec<u8>)> {
    let mut m = MemStore::new();
    let records: Vec<_> = s.scan(1).map(|r| r.unwrap()).collect();
    m.commit(&m.head(), &records).unwrap();
    m.stored_tiles().map(|t| t.unwrap()).collect()
}

fn tiles(s: &SledStore) -> Vec<(TileId, Vec<u8>)> {
    s.stored_tiles().map(|t| t.unwrap()).collect()
}

#[test]
fn tiles_past_the_mark_are_cut_and_the_tree_caught_up_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        grow(&mut s, 600, 97);
        assert_eq!(tiles(&s), reference_tiles(&s));
        // What a crash leaves: the mark behind, tiles past it.
        s.meta.insert(META_TREE, &300u64.to_be_bytes()).unwrap();
        s.tiles
            .insert(tile_key(TileId { level: 0, index: 9 }), vec![7u8; 64])
            .unwrap();
        let mut edge = s.read_tile(TileId { level: 0, index: 2 }).unwrap().unwrap();
        edge.extend_from_slice(&[1u8; 96]);
        s.tiles
            .insert(tile_key(TileId { level: 0, index: 2 }), edge)
            .unwrap();
        s.tiles
            .insert(
                tile_key(TileId {
                    level: 12,
                    index: 0,
                }),
                vec![0u8; 32],
            )
            .unwrap();
        s.sync().unwrap();
    }
    let s = open(&path);
    assert_eq!(s.recovery().retiled, Some(301..=600));
    assert_eq!(tiles(&s), reference_tiles(&s));
    let ledger = Ledger::new(s);
    ledger.verify(|_| {}).unwrap();
    drop(ledger);
    assert!(open(&path).recovery().is_clean());
}

#[test]
fn a_damaged_right_edge_is_rebuilt_from_the_first_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        grow(&mut s, 700, 700);
        s.tiles
            .remove(tile_key(TileId { level: 1, index: 0 }))
            .unwrap();
        s.sync().unwrap();
    }
    let s = open(&path);
    assert_eq!(s.recovery().retiled, Some(1..=700));
    assert_eq!(tiles(&s), reference_tiles(&s));
}

#[test]
fn a_format_3_ledger_gains_its_tree_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3");
    {
        let mut s = open(&path);
        fill(&mut s);
        grow(&mut s, 300, 300);
        // What format 3 held: everything but the tiles and their mark.
        s.tiles.clear().unwrap();
        s.meta.remove(META_TREE).unwrap();
        s.raw_set_format(3).unwrap();
    }
    let s = open(&path);
    assert_eq!(s.recovery().upgraded_from, Some(3));
    assert_eq!(s.recovery().retiled, Some(1..=304));
    assert_eq!(tiles(&s), reference_tiles(&s));
    let root = tree::root(&s, 304).unwrap();
    assert_eq!(root, tree::root(&reference(&s), 304).unwrap());
    Ledger::new(s).verify(|_| {}).unwrap();
    assert!(open(&path).recovery().is_clean());
}

fn reference(s: &SledStore) -> MemStore {
    let mut m = MemStore::new();
    let records: Vec<_> = s.scan(1).map(|r| r.unwrap()).collect();
    m.commit(&m.head(), &records).unwrap();
    m
}

#[test]
fn verify_names_the_tree_when_a_tile_was_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        grow(&mut s, 300, 300);
        let id = TileId { level: 0, index: 1 };
        let mut t = s.read_tile(id).unwrap().unwrap();
        t[40] ^= 1;
        s.tiles.insert(tile_key(id), t).unwrap();
        s.sync().unwrap();
    }
    let s = open(&path);
    assert!(
        s.recovery().is_clean(),
        "a changed full tile is not recovery's to find"
    );
    let e = Ledger::new(s).verify(|_| {}).unwrap_err();
    assert_eq!(e.kind(), claims_core::ErrorKind::Verification);
    assert!(e.message().contains("Merkle tree"), "{}", e.message());
}

#[test]
fn an_aborted_staged_commit_leaves_the_tiles_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir.path().join("db"));
    grow(&mut s, 300, 300);
    let before = tiles(&s);
    let head = s.head();
    let events: Vec<_> = (0..600u128)
        .map(|i| asserted(900_000 + i, 950_000 + i, "t", "2020-07-10T12:00:00Z", None))
        .collect();
    let records = seal(&s, events);
    let (a, b) = records.split_at(250);
    s.stage(&head, a, &claims_core::store::NothingStaged)
        .unwrap();
    s.stage(&head, b, &Known(a.to_vec())).unwrap();
    assert_ne!(tiles(&s), before, "the parts extend the tiles");
    s.abort_staged().unwrap();
    assert_eq!(tiles(&s), before);
    grow(&mut s, 10, 10);
    assert_eq!(tiles(&s), reference_tiles(&s));
}

#[test]
fn a_level_0_edge_a_crash_removed_is_put_back_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let mut s = open(&path);
        grow(&mut s, 300, 300);
        assert!(s
            .read_tile(TileId { level: 0, index: 1 })
            .unwrap()
            .is_some());
        assert!(
            s.read_tile(TileId { level: 0, index: 0 })
                .unwrap()
                .is_none(),
            "no full level-0 tile is stored"
        );
        // An unfinished commit filled the edge (and so removed it), and
        // wrote tiles past it.
        s.tiles
            .remove(tile_key(TileId { level: 0, index: 1 }))
            .unwrap();
        let id = TileId { level: 1, index: 0 };
        let mut t = s.read_tile(id).unwrap().unwrap();
        t.extend_from_slice(&[3u8; 64]);
        s.tiles.insert(tile_key(id), t).unwrap();
        s.sync().unwrap();
    }
    let s = open(&path);
    assert_eq!(tiles(&s), reference_tiles(&s));
    Ledger::new(s).verify(|_| {}).unwrap();
}
