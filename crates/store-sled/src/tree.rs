//! The Merkle tree's tiles in the `tiles` tree (docs/format.md, "The
//! `tiles` tree"): what a commit writes, how an abort or a crash is cut back,
//! and the catch-up on open from the `meta/tree` high-water mark.
//!
//! A tile is one sled value: key level (1 B) ‖ index (8 B, big-endian),
//! value its hashes, 32 bytes each. Every commit protocol extends the tiles
//! with its entries: a small commit in its transaction (with `meta/tree`), a
//! large or staged one before the head, with `meta/tree` written after it.
//! So the tiles past `meta/tree` can only be those of entries not (known to
//! be) committed: open cuts the tiles back to `min(meta/tree, head)` and
//! extends them again from the log up to the head.

use std::ops::RangeInclusive;

use claims_core::error::{Error, Result};
use claims_core::record::Record;
use claims_core::tree::{self, TileId, TileWrites, FULL_TILE_BYTES};

use crate::keys::META_TREE;
use crate::{from_sled, SledStore};

/// The highest level any stored tile may have: a tree of at most
/// `u64::MAX` leaves uses levels 0..=7; the cut also clears level 8 and any
/// key above it, which no tree has.
const MAX_LEVEL: u8 = 8;

/// The key of a tile.
pub(crate) fn tile_key(id: TileId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

/// The tile a key names.
pub(crate) fn tile_id(key: &[u8]) -> Result<TileId> {
    match <[u8; 9]>::try_from(key) {
        Ok(k) => Ok(TileId {
            level: k[0],
            index: u64::from_be_bytes(k[1..].try_into().expect("8 bytes")),
        }),
        Err(_) => Err(Error::damaged(
            "the Merkle tree's tiles have a key of the wrong length",
        )),
    }
}

impl SledStore {
    /// A stored tile.
    pub(crate) fn read_tile(&self, id: TileId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tiles
            .get(tile_key(id))
            .map_err(from_sled)?
            .map(|v| v.to_vec()))
    }

    /// The size of the tree the tiles held at the last commit.
    pub(crate) fn tree_mark(&self) -> Result<u64> {
        Ok(match self.meta.get(META_TREE).map_err(from_sled)? {
            Some(v) if v.len() == 8 => u64::from_be_bytes(v.as_ref().try_into().expect("8")),
            Some(_) => {
                return Err(Error::damaged(
                    "the Merkle tree's high-water mark is damaged",
                ))
            }
            None => 0,
        })
    }

    /// The tile writes that append `records` to the tree the tiles hold
    /// (of [`SledStore::tree_size`] leaves).
    pub(crate) fn tile_writes(&self, records: &[Record]) -> Result<TileWrites> {
        let leaves: Vec<tree::Hash> = records.iter().map(tree::leaf_of).collect();
        tree::extend(self.tree_size, &leaves, &mut |id| self.read_tile(id))
    }

    /// Writes `tiles` (from [`SledStore::tile_writes`] of `count` entries)
    /// outside a transaction.
    pub(crate) fn write_tiles(&mut self, tiles: TileWrites, count: u64) -> Result<()> {
        for group in tiles.put.chunks(256) {
            let mut b = sled::Batch::default();
            for (id, t) in group {
                b.insert(&tile_key(*id), t.as_slice());
            }
            self.tiles.apply_batch(b).map_err(from_sled)?;
        }
        for id in &tiles.remove {
            self.tiles.remove(tile_key(*id)).map_err(from_sled)?;
        }
        self.tree_size += count;
        Ok(())
    }

    /// Whether the right edge of the tiles holds the tree of `size` leaves:
    /// at each level from 1, the last full tile whole and the partial tile at
    /// least as wide as the tree needs (level 0's partial tile is put back
    /// from the log by recovery anyway).
    fn edge_holds(&self, size: u64) -> Result<bool> {
        for level in 1..tree::levels(size) {
            let (full, width) = tree::level_shape(size, level);
            if full > 0 {
                let last = self.read_tile(TileId {
                    level,
                    index: full - 1,
                })?;
                if last.map(|t| t.len()) != Some(FULL_TILE_BYTES) {
                    return Ok(false);
                }
            }
            if width > 0 {
                let edge = self.read_tile(TileId { level, index: full })?;
                if edge.is_none_or(|t| t.len() < width as usize * 32) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Cuts the tiles back to the tree of `size` leaves: every tile past its
    /// right edge removed, the partial tiles cut to their width, and no full
    /// tile of level 0 ([`tree::is_stored`]). Returns whether anything
    /// changed.
    pub(crate) fn cut_tiles(&self, size: u64) -> Result<bool> {
        let mut b = sled::Batch::default();
        let mut changed = false;
        for level in 0..=MAX_LEVEL {
            let (full, width) = tree::level_shape(size, level);
            let first = if level == 0 { 0 } else { full };
            let from = tile_key(TileId {
                level,
                index: first,
            });
            let to = tile_key(TileId {
                level,
                index: u64::MAX,
            });
            for kv in self.tiles.range(from..=to) {
                let (k, v) = kv.map_err(from_sled)?;
                let id = tile_id(&k)?;
                let keep = width as usize * 32;
                if id.index == full && width > 0 {
                    if v.len() > keep {
                        b.insert(k, &v[..keep]);
                        changed = true;
                    }
                } else {
                    b.remove(k);
                    changed = true;
                }
            }
        }
        // No tree has a level past the eighth.
        for kv in self.tiles.range([MAX_LEVEL + 1]..) {
            let (k, _) = kv.map_err(from_sled)?;
            b.remove(k);
            changed = true;
        }
        self.tiles.apply_batch(b).map_err(from_sled)?;
        Ok(changed)
    }

    /// [`SledStore::cut_tiles`] to the tree of `size` leaves, then level 0's
    /// partial tile put back from the log if it is not there whole (a later
    /// write that did not commit may have filled it, and so removed it).
    /// Returns whether anything changed.
    pub(crate) fn cut_back(&self, size: u64) -> Result<bool> {
        let mut changed = self.cut_tiles(size)?;
        let (full, width) = tree::level_shape(size, 0);
        let id = TileId {
            level: 0,
            index: full,
        };
        let stored = self.read_tile(id)?.map_or(0, |t| t.len());
        if width > 0 && stored != width as usize * 32 {
            let edge = tree::leaf_edge(self, size)?;
            self.tiles.insert(tile_key(id), edge).map_err(from_sled)?;
            changed = true;
        }
        Ok(changed)
    }

    /// The recovery step of the tree: the tiles cut back to the last
    /// commit's tree (or, if their right edge does not hold it, to nothing),
    /// then extended from the log up to the head. Returns the seqs whose
    /// leaves were added again.
    pub(crate) fn recover_tree(&mut self) -> Result<(Option<RangeInclusive<u64>>, bool)> {
        let head = self.head.seq;
        let mut mark = self.tree_mark()?.min(head);
        if !self.edge_holds(mark)? {
            mark = 0;
        }
        let cut = self.cut_back(mark)?;
        self.tree_size = mark;
        self.each_chunk(mark + 1, head, |s, chunk| {
            let tiles = s.tile_writes(chunk)?;
            s.write_tiles(tiles, chunk.len() as u64)
        })?;
        if cut || mark < head {
            self.sync()?;
            self.meta
                .insert(META_TREE, &head.to_be_bytes())
                .map_err(from_sled)?;
        }
        Ok(((mark < head).then(|| mark + 1..=head), cut))
    }
}
