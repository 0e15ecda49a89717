//! The Merkle tree over the log: RFC 9162 §2.1, kept as tiles of height 8
//! (C2SP tlog-tiles), derived data beside the log like the other indexes.
//!
//! Leaf `seq − 1` of the tree is entry `seq`; its hash is
//! `SHA-256(0x00 ‖ C(seq))`, where `C` is the canonical encoding the hash
//! chain covers ([`Record::canonical_into`]), and an inner node is
//! `SHA-256(0x01 ‖ left ‖ right)`. The tree of size N covers seq 1..N.
//!
//! The tiles are those of tlog-tiles: at level 0 the leaf hashes, at level
//! `L + 1` the root of each full tile of level `L`; a full tile holds 256
//! hashes, the partial tile at the right edge of a level 1..255. A store
//! keeps every tile of level 1 and up and, of level 0, only the partial tile
//! ([`is_stored`]): a full level-0 tile is the leaf hashes of 256 entries,
//! read from the log when a proof needs it, so the stored tree is about
//! 1/256 of 32 bytes an entry. A proof reads one tile a level, `O(log n)`
//! reads (and the entries of at most two level-0 tiles: the leaf's own, and
//! for a tree smaller than the log, the partial tile at its edge). The
//! proofs themselves are made and
//! checked by the `tlog_tiles` crate (a port of Go's `sumdb/tlog`); this
//! module only stores and reads what they need. docs/format.md pins the
//! stored bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{HashReader, Tile};

use crate::error::{Error, ErrorKind, Result};
use crate::ledger::Ledger;
use crate::record::Record;
use crate::store::Store;

/// A SHA-256 node or leaf hash of the tree.
pub type Hash = [u8; 32];

/// The height of a tile: a full tile holds `2^HEIGHT` = 256 hashes.
pub const HEIGHT: u8 = 8;

/// The hashes of a full tile.
pub const WIDTH: u64 = 1 << HEIGHT;

/// Bytes of one hash in a tile.
const HASH_LEN: usize = 32;

/// Bytes of a full tile.
pub const FULL_TILE_BYTES: usize = WIDTH as usize * HASH_LEN;

/// The hash of the empty tree (`SHA-256("")`).
pub const EMPTY_ROOT: Hash = tlog_tiles::EMPTY_HASH.0;

/// Where a tile sits: its level and its index within the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    /// 0 for the leaf hashes.
    pub level: u8,
    /// The tile's number within its level, from 0.
    pub index: u64,
}

/// The leaf hash of the entry whose canonical encoding is `canonical`.
pub fn leaf_hash(canonical: &[u8]) -> Hash {
    tlog_tiles::record_hash(canonical).0
}

/// The leaf hash of `record`.
pub fn leaf_of(record: &Record) -> Hash {
    let mut c = Vec::with_capacity(512);
    record.canonical_into(&mut c);
    leaf_hash(&c)
}

/// The hashes a level of the tree of `size` leaves holds (0 past its top).
fn hashes_at(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(HEIGHT) * u32::from(level))
        .unwrap_or(0)
}

/// The tiles of one level of the tree of `size` leaves: how many full tiles,
/// and the width of the partial tile after them (0: there is none).
pub fn level_shape(size: u64, level: u8) -> (u64, u32) {
    let n = hashes_at(size, level);
    (n >> HEIGHT, (n % WIDTH) as u32)
}

/// The number of levels that hold any tile in the tree of `size` leaves.
pub fn levels(size: u64) -> u8 {
    let mut l = 0;
    while hashes_at(size, l) > 0 {
        l += 1;
    }
    l
}

/// Whether a store keeps tile `id` of the tree of `size` leaves: every tile
/// of level 1 and up, and of level 0 only the partial tile at the right edge.
pub fn is_stored(id: TileId, size: u64) -> bool {
    let (full, width) = level_shape(size, 0);
    id.level > 0 || (id.index == full && width > 0)
}

/// What appending leaves does to the stored tiles.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TileWrites {
    /// Tiles written whole (new, or grown).
    pub put: Vec<(TileId, Vec<u8>)>,
    /// Tiles no longer stored: the level-0 partial tile that became full.
    pub remove: Vec<TileId>,
}

/// The changes to the stored tiles ([`is_stored`]) when `leaves` are
/// appended to the tree of `size` leaves. `read` gives a stored tile (the
/// partial tiles at the right edge are read, one a level at most).
pub fn extend(
    size: u64,
    leaves: &[Hash],
    read: &mut dyn FnMut(TileId) -> Result<Option<Vec<u8>>>,
) -> Result<TileWrites> {
    let new_size = size + leaves.len() as u64;
    let mut w = TileWrites::default();
    for (id, t) in changed_tiles(size, leaves, read)? {
        if is_stored(id, new_size) {
            w.put.push((id, t));
        }
    }
    let old_edge = TileId {
        level: 0,
        index: size / WIDTH,
    };
    if !size.is_multiple_of(WIDTH) && !is_stored(old_edge, new_size) {
        w.remove.push(old_edge);
    }
    Ok(w)
}

/// Every tile that changes when `leaves` are appended to the tree of `size`
/// leaves, each whole as it is then (full, or the new partial tile), in
/// level order.
pub fn changed_tiles(
    size: u64,
    leaves: &[Hash],
    read: &mut dyn FnMut(TileId) -> Result<Option<Vec<u8>>>,
) -> Result<Vec<(TileId, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut level = 0u8;
    let mut before = size;
    let mut new: Vec<Hash> = leaves.to_vec();
    while !new.is_empty() {
        let mut index = before / WIDTH;
        let kept = (before % WIDTH) as usize * HASH_LEN;
        let mut cur = Vec::with_capacity(FULL_TILE_BYTES);
        if kept > 0 {
            let id = TileId { level, index };
            let data = read(id)?.unwrap_or_default();
            if data.len() < kept {
                return Err(short_tile(id, kept / HASH_LEN, data.len()));
            }
            cur.extend_from_slice(&data[..kept]);
        }
        let mut up = Vec::with_capacity(new.len() / WIDTH as usize + 1);
        for h in &new {
            cur.extend_from_slice(h);
            if cur.len() == FULL_TILE_BYTES {
                up.push(Tile::subtree_hash(&cur).0);
                let full = std::mem::replace(&mut cur, Vec::with_capacity(FULL_TILE_BYTES));
                out.push((TileId { level, index }, full));
                index += 1;
            }
        }
        if !cur.is_empty() {
            out.push((TileId { level, index }, cur));
        }
        before /= WIDTH;
        new = up;
        level += 1;
    }
    Ok(out)
}

fn short_tile(id: TileId, want: usize, have: usize) -> Error {
    Error::damaged(format!(
        "the Merkle tree's tile {}/{} holds {} hashes where the tree needs {want}",
        id.level,
        id.index,
        have / HASH_LEN
    ))
}

/// The tree of `size` leaves as a [`HashReader`] over stored tiles, for the
/// `tlog_tiles` proof functions. Tiles are read once each per reader.
pub struct TileHashes<'a> {
    size: u64,
    read: &'a dyn Fn(TileId) -> Result<Option<Vec<u8>>>,
    tiles: RefCell<HashMap<TileId, Vec<u8>>>,
    failure: RefCell<Option<Error>>,
}

impl<'a> TileHashes<'a> {
    /// Reads the tree of `size` leaves through `read`.
    pub fn new(size: u64, read: &'a dyn Fn(TileId) -> Result<Option<Vec<u8>>>) -> Self {
        TileHashes {
            size,
            read,
            tiles: RefCell::new(HashMap::new()),
            failure: RefCell::new(None),
        }
    }

    /// Turns a `tlog_tiles` error into ours, preferring the read failure
    /// that caused it.
    fn error(&self, e: tlog_tiles::Error) -> Error {
        self.failure.borrow_mut().take().unwrap_or_else(|| {
            Error::new(
                ErrorKind::Damaged,
                format!("the Merkle tree cannot be read ({e})"),
            )
        })
    }

    fn hash(&self, index: u64) -> Result<tlog_tiles::Hash> {
        let (level, n) = tlog_tiles::split_stored_hash_index(index);
        // Only hashes of complete subtrees inside the tree of `size`.
        let end = (n + 1).checked_shl(u32::from(level));
        if level >= 64 || end.is_none_or(|e| e > self.size) {
            return Err(Error::new(
                ErrorKind::Damaged,
                format!(
                    "the Merkle tree of size {} has no node at level {level}, index {n}",
                    self.size
                ),
            ));
        }
        let need = Tile::from_index(HEIGHT, index);
        let id = TileId {
            level: need.level(),
            index: need.level_index(),
        };
        let mut tiles = self.tiles.borrow_mut();
        let data = match tiles.entry(id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((self.read)(id)?.unwrap_or_default())
            }
        };
        let want = need.width() as usize;
        if data.len() < want * HASH_LEN || !data.len().is_multiple_of(HASH_LEN) {
            return Err(short_tile(id, want, data.len()));
        }
        let have = Tile::new(
            HEIGHT,
            id.level,
            id.index,
            (data.len() / HASH_LEN) as u32,
            false,
        );
        have.hash_at_index(data.as_slice(), index)
            .map_err(|e| Error::damaged(format!("the Merkle tree cannot be read ({e})")))
    }
}

impl HashReader for TileHashes<'_> {
    fn read_hashes(
        &self,
        indexes: &[u64],
    ) -> std::result::Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(indexes.len());
        for &i in indexes {
            match self.hash(i) {
                Ok(h) => out.push(h),
                Err(e) => {
                    *self.failure.borrow_mut() = Some(e);
                    return Err(tlog_tiles::Error::InvalidTile);
                }
            }
        }
        Ok(out)
    }
}

/// Builds the tree's tiles from its leaves, one at a time, holding only the
/// right edge (a partial tile a level): for `verify`, which compares the
/// tiles a store keeps ([`is_stored`]) with the stored ones.
#[derive(Debug, Default)]
pub struct TreeBuilder {
    size: u64,
    edge: Vec<Vec<u8>>,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; `full` is given each tile that it completes.
    pub fn push(&mut self, leaf: Hash, full: &mut dyn FnMut(TileId, &[u8])) {
        let mut h = leaf;
        let mut level = 0usize;
        loop {
            if self.edge.len() == level {
                self.edge.push(Vec::with_capacity(FULL_TILE_BYTES));
            }
            let tile = &mut self.edge[level];
            tile.extend_from_slice(&h);
            if tile.len() < FULL_TILE_BYTES {
                break;
            }
            let index = hashes_at(self.size, level as u8) / WIDTH;
            full(
                TileId {
                    level: level as u8,
                    index,
                },
                tile,
            );
            h = Tile::subtree_hash(tile).0;
            tile.clear();
            level += 1;
        }
        self.size += 1;
    }

    /// The partial tiles at the right edge (those not empty), by level.
    pub fn partial_tiles(&self) -> impl Iterator<Item = (TileId, &[u8])> + '_ {
        self.edge
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.is_empty())
            .map(|(level, t)| {
                let (full, _) = level_shape(self.size, level as u8);
                (
                    TileId {
                        level: level as u8,
                        index: full,
                    },
                    t.as_slice(),
                )
            })
    }

    /// The root hash of the tree so far.
    pub fn root(&self) -> Hash {
        let partial: HashMap<TileId, Vec<u8>> = self
            .partial_tiles()
            .map(|(id, t)| (id, t.to_vec()))
            .collect();
        let read = |id: TileId| Ok(partial.get(&id).cloned());
        let reader = TileHashes::new(self.size, &read);
        // Every hash the root needs is in a partial tile (module docs).
        tlog_tiles::tree_hash(self.size, &reader)
            .map(|h| h.0)
            .unwrap_or(EMPTY_ROOT)
    }
}

fn tree_bound(store: &(impl Store + ?Sized), size: u64) -> Result<()> {
    let head = store.head().seq;
    if size > head {
        return Err(Error::invalid(format!(
            "the tree size {size} is past the end of the log, which has {head} entries"
        )));
    }
    Ok(())
}

fn with_reader<R>(store: &(impl Store + ?Sized), size: u64, f: impl FnOnce(&TileHashes) -> R) -> R {
    let read = |id: TileId| read_tile(store, id, size);
    let reader = TileHashes::new(size, &read);
    f(&reader)
}

/// A tile of the tree of `size` leaves: as stored, or for a level-0 tile the
/// store does not keep, the leaf hashes of its entries (up to `size`).
fn read_tile(store: &(impl Store + ?Sized), id: TileId, size: u64) -> Result<Option<Vec<u8>>> {
    if id.level > 0 {
        return store.tile(id);
    }
    let first = id.index.saturating_mul(WIDTH);
    let want = size.saturating_sub(first).min(WIDTH) as usize;
    if let Some(t) = store.tile(id)? {
        if t.len() >= want * HASH_LEN {
            return Ok(Some(t));
        }
    }
    leaves_from_log(store, first, want).map(Some)
}

/// The leaf hashes of `count` entries from leaf index `first` (seq
/// `first + 1`), read from the log.
fn leaves_from_log(store: &(impl Store + ?Sized), first: u64, count: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(count * HASH_LEN);
    let mut c = Vec::with_capacity(512);
    for (i, r) in store.scan(first + 1).take(count).enumerate() {
        let r = r?;
        if r.seq != first + 1 + i as u64 {
            return Err(Error::damaged(format!(
                "the log has seq {} where seq {} should be",
                r.seq,
                first + 1 + i as u64
            )));
        }
        c.clear();
        r.canonical_into(&mut c);
        out.extend_from_slice(&leaf_hash(&c));
    }
    if out.len() < count * HASH_LEN {
        return Err(Error::damaged(format!(
            "the log ends before seq {}",
            first + count as u64
        )));
    }
    Ok(out)
}

/// The level-0 partial tile of the tree of `size` leaves, from the log
/// (empty when `size` is a multiple of 256): what recovery puts back.
pub fn leaf_edge(store: &(impl Store + ?Sized), size: u64) -> Result<Vec<u8>> {
    let (full, width) = level_shape(size, 0);
    leaves_from_log(store, full * WIDTH, width as usize)
}

/// The root hash of the tree of the first `size` entries of `store`.
pub fn root(store: &(impl Store + ?Sized), size: u64) -> Result<Hash> {
    tree_bound(store, size)?;
    with_reader(store, size, |r| {
        tlog_tiles::tree_hash(size, r)
            .map(|h| h.0)
            .map_err(|e| r.error(e))
    })
}

/// The inclusion proof (RFC 9162 §2.1.3, leaf to root) of entry `seq` in
/// the tree of the first `size` entries of `store`.
pub fn inclusion_proof(store: &(impl Store + ?Sized), seq: u64, size: u64) -> Result<Vec<Hash>> {
    tree_bound(store, size)?;
    if seq == 0 || seq > size {
        return Err(Error::invalid(format!(
            "entry seq {seq} is not in the tree of size {size}"
        )));
    }
    with_reader(store, size, |r| {
        tlog_tiles::prove_record(size, seq - 1, r)
            .map(|p| p.into_iter().map(|h| h.0).collect())
            .map_err(|e| r.error(e))
    })
}

/// The consistency proof (RFC 9162 §2.1.4) that the tree of the first
/// `old_size` entries of `store` is a prefix of the tree of the first `size`.
pub fn consistency_proof(
    store: &(impl Store + ?Sized),
    old_size: u64,
    size: u64,
) -> Result<Vec<Hash>> {
    tree_bound(store, size)?;
    if old_size == 0 || old_size > size {
        return Err(Error::invalid(format!(
            "a consistency proof needs 1 <= old size <= size; got old size {old_size} and size {size}"
        )));
    }
    with_reader(store, size, |r| {
        tlog_tiles::prove_tree(size, old_size, r)
            .map(|p| p.into_iter().map(|h| h.0).collect())
            .map_err(|e| r.error(e))
    })
}

/// The first `width` hashes of a stored tile of `store` (`width × 32` bytes).
pub fn tile(store: &(impl Store + ?Sized), id: TileId, width: u32) -> Result<Vec<u8>> {
    let want = width as usize * HASH_LEN;
    let data = read_tile(store, id, store.head().seq)?.unwrap_or_default();
    if data.len() < want {
        return Err(short_tile(id, width as usize, data.len()));
    }
    Ok(data[..want].to_vec())
}

/// The tree through the ledger: the functions above on its store.
impl<S: Store> Ledger<S> {
    /// [`root`]: the root hash of the tree of the first `size` entries.
    pub fn tree_root(&self, size: u64) -> Result<Hash> {
        root(self.store(), size)
    }

    /// [`inclusion_proof`] of entry `seq` in the tree of size `size`.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>> {
        inclusion_proof(self.store(), seq, size)
    }

    /// [`consistency_proof`] from the tree of size `old_size` to `size`.
    pub fn consistency_proof(&self, old_size: u64, size: u64) -> Result<Vec<Hash>> {
        consistency_proof(self.store(), old_size, size)
    }

    /// [`tile`]: the first `width` hashes of a stored tile.
    pub fn tile(&self, id: TileId, width: u32) -> Result<Vec<u8>> {
        tile(self.store(), id, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// RFC 9162's MTH, straight from its definition.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => EMPTY_ROOT,
            1 => d[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                tlog_tiles::node_hash(
                    tlog_tiles::Hash(mth(&d[..k])),
                    tlog_tiles::Hash(mth(&d[k..])),
                )
                .0
            }
        }
    }

    fn grow(tiles: &mut BTreeMap<TileId, Vec<u8>>, size: u64, new: &[Hash]) {
        let snapshot = tiles.clone();
        let changed = changed_tiles(size, new, &mut |id| Ok(snapshot.get(&id).cloned())).unwrap();
        tiles.extend(changed);
    }

    #[test]
    fn tiles_grown_in_any_steps_give_the_rfc_root_at_every_size() {
        let all = leaves(70_000);
        let mut tiles = BTreeMap::new();
        let mut size = 0u64;
        for step in [1u64, 1, 254, 1, 300, 65_000, 4_443] {
            let new = &all[size as usize..(size + step) as usize];
            grow(&mut tiles, size, new);
            size += step;
            let read = |id: TileId| Ok(tiles.get(&id).cloned());
            for s in [1, size / 3 + 1, size - 1, size] {
                let r = TileHashes::new(s, &read);
                assert_eq!(
                    tlog_tiles::tree_hash(s, &r).unwrap().0,
                    mth(&all[..s as usize]),
                    "size {s}"
                );
            }
        }
        // The shape tlog-tiles names for 70 000 leaves: 273 full level-0
        // tiles and one of 112, one full level-1 tile and one of 17, one
        // level-2 tile of 1.
        assert_eq!(level_shape(70_000, 0), (273, 112));
        assert_eq!(level_shape(70_000, 1), (1, 17));
        assert_eq!(level_shape(70_000, 2), (0, 1));
        assert_eq!(levels(70_000), 3);
        assert_eq!(tiles[&TileId { level: 1, index: 1 }].len(), 17 * 32);
        assert_eq!(tiles[&TileId { level: 2, index: 0 }].len(), 32);
    }

    #[test]
    fn the_builder_makes_the_tiles_extend_makes_and_the_same_root() {
        let all = leaves(66_000);
        let mut tiles = BTreeMap::new();
        grow(&mut tiles, 0, &all);
        let mut b = TreeBuilder::new();
        let mut built = BTreeMap::new();
        for (i, l) in all.iter().enumerate() {
            b.push(*l, &mut |id, t| {
                built.insert(id, t.to_vec());
            });
            if [0usize, 1, 255, 256, 257, 65_535].contains(&i) {
                assert_eq!(b.root(), mth(&all[..=i]), "size {}", i + 1);
            }
        }
        for (id, t) in b.partial_tiles() {
            built.insert(id, t.to_vec());
        }
        assert_eq!(built, tiles);
        assert_eq!(b.root(), mth(&all));
    }

    #[test]
    fn extend_keeps_only_the_stored_shape() {
        let all = leaves(70_000);
        let mut every = BTreeMap::new();
        let mut stored: BTreeMap<TileId, Vec<u8>> = BTreeMap::new();
        let mut size = 0u64;
        for step in [1u64, 254, 1, 1, 300, 65_000, 4_443] {
            let new = &all[size as usize..(size + step) as usize];
            grow(&mut every, size, new);
            let snapshot = stored.clone();
            let w = extend(size, new, &mut |id| Ok(snapshot.get(&id).cloned())).unwrap();
            for id in &w.remove {
                assert!(stored.remove(id).is_some(), "{id:?} was stored");
            }
            stored.extend(w.put);
            size += step;
            let expected: BTreeMap<_, _> = every
                .iter()
                .filter(|(id, _)| is_stored(**id, size))
                .map(|(id, t)| (*id, t.clone()))
                .collect();
            assert_eq!(stored, expected, "size {size}");
        }
        assert!(!stored.contains_key(&TileId { level: 0, index: 0 }));
        assert_eq!(
            stored[&TileId {
                level: 0,
                index: 273
            }]
                .len(),
            112 * 32
        );
    }

    #[test]
    fn proofs_from_tiles_check_and_a_short_tile_is_damage() {
        let all = leaves(1000);
        let mut tiles = BTreeMap::new();
        grow(&mut tiles, 0, &all);
        let read = |id: TileId| Ok(tiles.get(&id).cloned());
        for size in [1u64, 2, 3, 256, 257, 999, 1000] {
            let r = TileHashes::new(size, &read);
            let root = tlog_tiles::Hash(mth(&all[..size as usize]));
            for i in [0, size / 2, size - 1] {
                let p = tlog_tiles::prove_record(size, i, &r).unwrap();
                tlog_tiles::check_record(&p, size, root, i, tlog_tiles::Hash(all[i as usize]))
                    .unwrap();
            }
            for old in [1, size / 2 + 1, size] {
                let p = tlog_tiles::prove_tree(size, old, &r).unwrap();
                let old_root = tlog_tiles::Hash(mth(&all[..old as usize]));
                tlog_tiles::check_tree(&p, size, root, old, old_root).unwrap();
            }
        }
        let mut cut = tiles.clone();
        cut.insert(TileId { level: 0, index: 3 }, vec![0; 32]);
        let read = |id: TileId| Ok(cut.get(&id).cloned());
        let r = TileHashes::new(1000, &read);
        let e = tlog_tiles::prove_record(1000, 999, &r)
            .map_err(|e| r.error(e))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Damaged);
        assert!(e.message().contains("tile 0/3"), "{}", e.message());
    }

    /// The side of each step of RFC 9162's inclusion check (§2.1.3.2) of leaf
    /// `i` in a tree of `size` with a path of `len` hashes, or `None` where
    /// the check fails on shape alone.
    fn shape(i: u64, size: u64, len: usize) -> Option<Vec<bool>> {
        let (mut f, mut s) = (i, size - 1);
        let mut sides = Vec::new();
        for _ in 0..len {
            if s == 0 {
                return None;
            }
            if f & 1 == 1 || f == s {
                sides.push(true);
                if f & 1 == 0 {
                    while f & 1 == 0 && f != 0 {
                        f >>= 1;
                        s >>= 1;
                    }
                }
            } else {
                sides.push(false);
            }
            f >>= 1;
            s >>= 1;
        }
        (s == 0).then_some(sides)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]

        /// Every proof the tiles give checks; with one bit flipped in any
        /// hash, another size or another index, none does.
        #[test]
        fn every_proof_checks_and_no_altered_one_does(
            size in 1u64..1500,
            pick in 0u64..u64::MAX,
            old_pick in 0u64..u64::MAX,
            flip in 0usize..usize::MAX,
            bit in 0u8..8,
        ) {
            use tlog_tiles::{check_record, check_tree, Hash as H};
            let all = leaves(size);
            let mut tiles = BTreeMap::new();
            grow(&mut tiles, 0, &all);
            let read = |id: TileId| Ok(tiles.get(&id).cloned());
            let r = TileHashes::new(size, &read);
            let root = H(mth(&all));
            let i = pick % size;
            let leaf = H(all[i as usize]);
            let p = tlog_tiles::prove_record(size, i, &r).unwrap();
            proptest::prop_assert!(check_record(&p, size, root, i, leaf).is_ok());
            if !p.is_empty() {
                let mut bad = p.clone();
                let k = flip % bad.len();
                bad[k].0[(flip / 7) % 32] ^= 1 << bit;
                proptest::prop_assert!(check_record(&bad, size, root, i, leaf).is_err());
            }
            let mut bad_leaf = leaf;
            bad_leaf.0[flip % 32] ^= 1 << bit;
            proptest::prop_assert!(check_record(&p, size, root, i, bad_leaf).is_err());
            if size > 1 {
                let j = (i + 1 + flip as u64 % (size - 1)) % size;
                proptest::prop_assert!(j == i || check_record(&p, size, root, j, leaf).is_err());
                // Another tree size: refused unless it gives the path the
                // same shape (RFC 9162 §2.1.3.2 binds the size only so far:
                // a checkpoint binds it wholly).
                let other = 1 + (size + flip as u64) % 1500;
                if other != size && i < other && shape(i, other, p.len()) != shape(i, size, p.len()) {
                    proptest::prop_assert!(check_record(&p, other, root, i, leaf).is_err());
                }
            }
            let old = 1 + old_pick % size;
            let old_root = H(mth(&all[..old as usize]));
            let c = tlog_tiles::prove_tree(size, old, &r).unwrap();
            proptest::prop_assert!(check_tree(&c, size, root, old, old_root).is_ok());
            if !c.is_empty() {
                let mut bad = c.clone();
                let k = flip % bad.len();
                bad[k].0[(flip / 7) % 32] ^= 1 << bit;
                proptest::prop_assert!(check_tree(&bad, size, root, old, old_root).is_err());
            }
            if old > 1 && old < size {
                proptest::prop_assert!(check_tree(&c, size, root, old - 1, old_root).is_err());
            }
        }
    }
}
