//! C2SP tlog-tiles: tile and entry bundle paths, the bundle encoding, and
//! the tiles of a tree rebuilt from its leaves, one level's right edge at a
//! time.
//!
//! `tile/<L>/<N>[.p/<W>]` holds the hashes of level `L` (height 8: level 0
//! the leaf hashes, level `L + 1` the root of each full tile of level `L`),
//! `tile/entries/<N>[.p/<W>]` the entries themselves, each a big-endian
//! 16-bit length and that many bytes. `N` is written in 3-digit groups, all
//! but the last with an `x` (`x001/x234/067`), and `.p/<W>` marks a partial
//! tile of `W` < 256 hashes. (`tlog_tiles::Tile::path` writes Go's sumdb
//! paths, `tile/8/L/N`, so the paths are written here; which tiles a size
//! needs and every hash are `tlog_tiles`'.)

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{HashReader, Tile, TileReader};

use crate::hash::Hash;
use crate::Error;

/// The tile height: 2^8 = 256 hashes in a full tile.
pub const HEIGHT: u8 = 8;

/// Hashes (or entries) in a full tile (or bundle).
pub const WIDTH: u32 = 1 << HEIGHT;

/// Bytes of a full tile.
pub const FULL_TILE_BYTES: usize = WIDTH as usize * 32;

/// The largest entry a bundle can hold (its length is 16 bits).
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// The largest a bundle can be.
pub const MAX_BUNDLE_BYTES: usize = WIDTH as usize * (2 + MAX_ENTRY_BYTES);

/// `N` as path elements: `x001/x234/067` for 1234067, `000` for 0.
pub fn index_path(n: u64) -> String {
    let mut groups = vec![n % 1000];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(rest % 1000);
        rest /= 1000;
    }
    let mut out = String::with_capacity(groups.len() * 5);
    for (i, g) in groups.iter().enumerate().rev() {
        if i > 0 {
            out.push_str(&format!("x{g:03}/"));
        } else {
            out.push_str(&format!("{g:03}"));
        }
    }
    out
}

fn width_suffix(width: u32) -> String {
    if width == WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// The path of the hash tile `index` of `level` with `width` hashes.
pub fn tile_path(level: u8, index: u64, width: u32) -> String {
    format!("tile/{level}/{}{}", index_path(index), width_suffix(width))
}

/// The path of entry bundle `index` with `width` entries.
pub fn bundle_path(index: u64, width: u32) -> String {
    format!("tile/entries/{}{}", index_path(index), width_suffix(width))
}

/// The path of a `tlog_tiles` tile (height 8).
pub fn path_of(t: &Tile) -> String {
    tile_path(t.level(), t.level_index(), t.width())
}

/// Appends one entry to a bundle. `Err` (with the entry's length) when it
/// is longer than 65 535 bytes.
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), usize> {
    let len = u16::try_from(entry.len()).map_err(|_| entry.len())?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits a bundle that must hold exactly `width` entries.
pub fn split_bundle(bytes: &[u8], width: u32) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::with_capacity(width as usize);
    let mut at = 0usize;
    while at < bytes.len() {
        if out.len() == width as usize {
            return Err(Error::failed(format!(
                "it holds more than the {width} entries its name says (bytes after entry {width})"
            )));
        }
        let Some(len) = bytes.get(at..at + 2) else {
            return Err(Error::failed(format!(
                "entry {} is cut short in its length",
                out.len() + 1
            )));
        };
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        let start = at + 2;
        let Some(entry) = bytes.get(start..start + len) else {
            return Err(Error::failed(format!(
                "entry {} runs past the end of the bundle",
                out.len() + 1
            )));
        };
        out.push(entry);
        at = start + len;
    }
    if out.len() != width as usize {
        return Err(Error::failed(format!(
            "it holds {} entries, not the {width} its name says",
            out.len()
        )));
    }
    Ok(out)
}

/// Called with each full tile as it completes: its level, its index and
/// its 256 hashes.
pub type FullTile<'a, E> = dyn FnMut(u8, u64, &[u8]) -> Result<(), E> + 'a;

/// Reads a tile by its path: its bytes, or why not.
pub type ReadTile<'a, E> = dyn Fn(&str) -> Result<Vec<u8>, Fault<E>> + 'a;

/// Rebuilds the tiles of a tree from its leaf hashes, in order, keeping only
/// each level's right edge (at most 8 KiB a level): each full tile is given
/// to `full` as it completes, and [`Levels::partial`] lists the partial
/// tiles at the end.
#[derive(Debug, Default)]
pub struct Levels {
    /// Per level: the tile being filled, and its index in the level.
    edge: Vec<(Vec<u8>, u64)>,
    size: u64,
}

impl Levels {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf; calls `full(level, index, tile)` for each tile it
    /// completes, lowest level first.
    pub fn push<E>(&mut self, leaf: &Hash, full: &mut FullTile<'_, E>) -> Result<(), E> {
        self.size += 1;
        let mut hash = *leaf;
        let mut level = 0usize;
        loop {
            if self.edge.len() == level {
                self.edge.push((Vec::with_capacity(FULL_TILE_BYTES), 0));
            }
            let (tile, index) = &mut self.edge[level];
            tile.extend_from_slice(&hash);
            if tile.len() < FULL_TILE_BYTES {
                return Ok(());
            }
            full(level as u8, *index, tile)?;
            // The tile's root, as a hash of the level above: tlog_tiles'
            // subtree hash of its 256 hashes.
            hash = Tile::subtree_hash(tile).0;
            tile.clear();
            *index += 1;
            level += 1;
        }
    }

    /// The partial tiles of the tree so far: `(level, index, hashes)`,
    /// lowest level first (a tree of 256 leaves has a full level-0 tile and
    /// a partial level-1 tile of width 1).
    pub fn partial(&self) -> impl Iterator<Item = (u8, u64, &[u8])> + '_ {
        self.edge
            .iter()
            .enumerate()
            .filter(|(_, (tile, _))| !tile.is_empty())
            .map(|(level, (tile, index))| (level as u8, *index, tile.as_slice()))
    }
}

/// Tiles read by path, for `tlog_tiles`' hash readers: `read(path)` returns
/// the tile's bytes, which must be exactly its width's.
pub struct TileFiles<'a, E> {
    size: u64,
    read: &'a ReadTile<'a, E>,
    cache: RefCell<HashMap<Tile, Vec<u8>>>,
    fault: RefCell<Option<Fault<E>>>,
}

/// Why a tile could not be read: this crate's reason, or the caller's.
#[derive(Debug)]
pub enum Fault<E> {
    /// Missing, too long or too short.
    Format(Error),
    /// The caller's reader failed.
    Source(E),
}

impl<'a, E> TileFiles<'a, E> {
    /// The tiles of the tree of `size` leaves, read through `read`.
    pub fn new(size: u64, read: &'a ReadTile<'a, E>) -> Self {
        TileFiles {
            size,
            read,
            cache: RefCell::new(HashMap::new()),
            fault: RefCell::new(None),
        }
    }

    /// What made the last read fail, if it was the reader.
    pub fn take_fault(&self) -> Option<Fault<E>> {
        self.fault.borrow_mut().take()
    }

    fn load(&self, tile: Tile) -> Result<Vec<u8>, tlog_tiles::Error> {
        if let Some(data) = self.cache.borrow().get(&tile) {
            return Ok(data.clone());
        }
        match (self.read)(&path_of(&tile)) {
            Ok(data) => {
                if data.len() != tile.width() as usize * 32 {
                    *self.fault.borrow_mut() = Some(Fault::Format(Error::failed(format!(
                        "{} is {} bytes, not the {} of {} hashes",
                        path_of(&tile),
                        data.len(),
                        tile.width() as usize * 32,
                        tile.width()
                    ))));
                    return Err(tlog_tiles::Error::InvalidTile);
                }
                self.cache.borrow_mut().insert(tile, data.clone());
                Ok(data)
            }
            Err(f) => {
                *self.fault.borrow_mut() = Some(f);
                Err(tlog_tiles::Error::InvalidTile)
            }
        }
    }
}

impl<E> HashReader for TileFiles<'_, E> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(indexes.len());
        for &x in indexes {
            if x >= tlog_tiles::stored_hash_count(self.size) {
                return Err(tlog_tiles::Error::IndexesNotInTree);
            }
            let tile = Tile::from_index(HEIGHT, x)
                .parent(0, self.size)
                .ok_or(tlog_tiles::Error::IndexesNotInTree)?;
            let data = self.load(tile)?;
            out.push(tile.hash_at_index(&data, x)?);
        }
        Ok(out)
    }
}

impl<E> TileReader for TileFiles<'_, E> {
    fn height(&self) -> u8 {
        HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles.iter().map(|t| self.load(*t)).collect()
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::memory::Stored;

    #[test]
    fn paths_are_c2sp_s() {
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(7), "007");
        assert_eq!(index_path(999), "999");
        assert_eq!(index_path(1000), "x001/000");
        assert_eq!(index_path(1_234_067), "x001/x234/067");
        assert_eq!(index_path(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
        assert_eq!(tile_path(0, 1_234_067, 256), "tile/0/x001/x234/067");
        assert_eq!(tile_path(0, 1_234_067, 5), "tile/0/x001/x234/067.p/5");
        assert_eq!(tile_path(2, 0, 1), "tile/2/000.p/1");
        assert_eq!(bundle_path(1, 256), "tile/entries/001");
        assert_eq!(bundle_path(1000, 255), "tile/entries/x001/000.p/255");
        // The same digits as tlog_tiles' Go paths, after `tile/8/`.
        for n in [0u64, 5, 999, 1000, 123_456_789, 1 << 40] {
            for w in [1u32, 77, 256] {
                let t = Tile::new(8, 3, n, w, false);
                assert_eq!(
                    t.path().replacen("tile/8/", "tile/", 1),
                    path_of(&t),
                    "{n} {w}"
                );
            }
        }
    }

    #[test]
    fn bundles_round_trip_and_refuse_bad_lengths() {
        let entries: Vec<Vec<u8>> = vec![b"{}".to_vec(), vec![], vec![7u8; 65_535], b"x".to_vec()];
        let mut b = Vec::new();
        for e in &entries {
            push_entry(&mut b, e).unwrap();
        }
        assert_eq!(&b[..4], &[0, 2, b'{', b'}']);
        let got = split_bundle(&b, 4).unwrap();
        assert_eq!(
            got,
            entries.iter().map(|e| e.as_slice()).collect::<Vec<_>>()
        );
        assert_eq!(push_entry(&mut Vec::new(), &vec![0; 65_536]), Err(65_536));
        assert!(split_bundle(&b, 3)
            .unwrap_err()
            .message()
            .contains("more than"));
        assert!(split_bundle(&b, 5)
            .unwrap_err()
            .message()
            .contains("holds 4"));
        assert!(split_bundle(&b[..b.len() - 1], 4)
            .unwrap_err()
            .message()
            .contains("past the end"));
        assert!(split_bundle(&[0], 1)
            .unwrap_err()
            .message()
            .contains("cut short"));
        assert!(split_bundle(&[], 0).unwrap().is_empty());
    }

    /// The tiles of a tree as `tlog_tiles` reads them from its stored hashes.
    fn reference(n: u64) -> (Stored, HashMap<String, Vec<u8>>) {
        let mut stored = Stored::default();
        for i in 0..n {
            stored.push(i, format!("leaf {i}").as_bytes());
        }
        let mut tiles = HashMap::new();
        for t in Tile::new_tiles(HEIGHT, 0, n) {
            tiles.insert(path_of(&t), t.read_data(&stored).unwrap());
        }
        (stored, tiles)
    }

    #[test]
    fn levels_rebuild_tlog_tiles_tiles_and_roots() {
        for n in [
            1u64, 2, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 70_000,
        ] {
            let (stored, want) = reference(n);
            let mut got = HashMap::new();
            let mut levels = Levels::new();
            for i in 0..n {
                let leaf = tlog_tiles::record_hash(format!("leaf {i}").as_bytes()).0;
                levels
                    .push::<()>(&leaf, &mut |l, idx, t| {
                        got.insert(tile_path(l, idx, WIDTH), t.to_vec());
                        Ok(())
                    })
                    .unwrap();
            }
            for (l, idx, t) in levels.partial() {
                got.insert(tile_path(l, idx, (t.len() / 32) as u32), t.to_vec());
            }
            assert_eq!(got.len(), want.len(), "size {n}");
            for (p, t) in &want {
                assert_eq!(got.get(p), Some(t), "size {n}, {p}");
            }
            // The root from those tiles, read by path, is the tree's root.
            let read = |p: &str| got.get(p).cloned().ok_or(Fault::<()>::Source(()));
            let files = TileFiles::new(n, &read);
            assert_eq!(
                tlog_tiles::tree_hash(n, &files).unwrap(),
                tlog_tiles::tree_hash(n, &stored).unwrap()
            );
            // And of every smaller tree, from the same tiles.
            for m in [1, n / 3 + 1, n - 1, n] {
                if m >= 1 {
                    assert_eq!(
                        tlog_tiles::tree_hash(m, &files).unwrap(),
                        tlog_tiles::tree_hash(m, &stored).unwrap(),
                        "{m} of {n}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_spec_s_example_sizes_have_the_tiles_it_lists() {
        // "a tree of size 70,000 will be represented by 273 full level 0
        // tiles, one partial level 0 tile of width 112, one full level 1
        // tile, one partial level 1 tile of width 17, and one partial level 2
        // tile of width 1."
        let tiles = Tile::new_tiles(HEIGHT, 0, 70_000);
        let count = |l: u8, w: u32| {
            tiles
                .iter()
                .filter(|t| t.level() == l && t.width() == w)
                .count()
        };
        assert_eq!(count(0, 256), 273);
        assert_eq!(count(0, 112), 1);
        assert_eq!(count(1, 256), 1);
        assert_eq!(count(1, 17), 1);
        assert_eq!(count(2, 1), 1);
        assert_eq!(tiles.len(), 277);
    }
}
