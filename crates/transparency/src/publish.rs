//! Writing a log as C2SP tlog-tiles, incrementally: the tiles and entry
//! bundles a new size needs that the published copy does not have, then the
//! signed checkpoint, last.
//!
//! The log is a [`TreeSource`] (the CLI's is the ledger) and the copy a
//! [`Target`] (the CLI's is a directory); this module decides what to write
//! and checks what it writes: an existing checkpoint must be signed by the
//! key and name a prefix of the log, every level-0 tile must match the leaf
//! hashes of the entries it is written with, and the root of the tiles as
//! written must be the log's root before the checkpoint is signed.

use std::collections::HashMap;

use tlog_tiles::Tile;

use crate::checkpoint::{Checkpoint, MAX_CHECKPOINT_BYTES};
use crate::hash::{encode_hash, Hash};
use crate::key::SigningKey;
use crate::tiles::{self, Fault, TileFiles, HEIGHT, WIDTH};
use crate::{EachEntry, Error, ErrorKind, Failure, Result, MAX_TREE_SIZE};

/// The path of the checkpoint in a published copy.
pub const CHECKPOINT: &str = "checkpoint";

/// A log to publish.
pub trait TreeSource {
    /// The source's own failures.
    type Error;
    /// Entries in the log.
    fn size(&self) -> u64;
    /// The root of the tree of the first `size` entries (`size` ≤
    /// [`Self::size`]).
    fn root(&self, size: u64) -> std::result::Result<Hash, Self::Error>;
    /// The first `width` hashes of tile `index` of `level` (`width * 32`
    /// bytes).
    fn tile(&self, level: u8, index: u64, width: u32) -> std::result::Result<Vec<u8>, Self::Error>;
    /// Calls `each(index, C(index + 1))` for the leaves `from..to`, in order,
    /// stopping at the first error.
    fn entries(&self, from: u64, to: u64, each: &mut EachEntry) -> Result<(), Self::Error>;
}

/// The files of a published copy, by path relative to its root
/// (`checkpoint`, `tile/0/000`, …).
pub trait Files {
    /// The files' own failures.
    type Error;
    /// The file's bytes, or `None` when there is none; at most `max + 1`
    /// bytes are read, so that a larger file is seen to be too large without
    /// reading all of it.
    fn read(&self, path: &str, max: usize) -> std::result::Result<Option<Vec<u8>>, Self::Error>;
}

/// Where a copy is published.
pub trait Target: Files {
    /// Replaces the file at `path` with `bytes`, whole or not at all (a
    /// temporary file renamed over it), creating directories as needed.
    fn write(&mut self, path: &str, bytes: &[u8]) -> std::result::Result<(), Self::Error>;
    /// Makes every write so far durable.
    fn sync(&mut self) -> std::result::Result<(), Self::Error>;
    /// Checks, before anything is written, that `path` can be: `Err` when
    /// something in the copy is in its way (a link or a file where a
    /// directory must be, a directory where the file must be). Creates
    /// nothing.
    fn check_writable(&mut self, path: &str) -> std::result::Result<(), Self::Error> {
        let _ = path;
        Ok(())
    }
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The size of the checkpoint that was published before (0 if none).
    pub old_size: u64,
    /// The size now published.
    pub size: u64,
    /// The root now published.
    pub root: Hash,
    /// Hash tiles written.
    pub tiles: usize,
    /// Entry bundles written.
    pub bundles: usize,
}

/// Publishes `source` into `target`, signed by `key`, writing only what is
/// new since the checkpoint already there. Refused, with nothing written,
/// when that checkpoint is not signed by the key, is not of a prefix of
/// the log, or the tiles the copy keeps do not make its root. An entry too long for a bundle (over 65 535 bytes) is refused
/// before the checkpoint is written (bundles before it may have been).
pub fn publish<S, T>(
    source: &S,
    target: &mut T,
    key: &SigningKey,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, S::Error>
where
    S: TreeSource,
    T: Target<Error = S::Error>,
{
    let size = source.size();
    if size > MAX_TREE_SIZE {
        return Err(Error::invalid("the log is larger than 2^48 entries").into());
    }
    let old = match target
        .read(CHECKPOINT, MAX_CHECKPOINT_BYTES)
        .map_err(Failure::Source)?
    {
        None => None,
        Some(bytes) => {
            let cp = Checkpoint::open(&bytes, key.verifier()).map_err(|e| {
                Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "the published checkpoint cannot be extended with this key: {}",
                        e.message()
                    ),
                )
            })?;
            if cp.size > size {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "the published checkpoint has {} entries, more than the log's {size}: it is not a copy of this log",
                        cp.size
                    ),
                )
                .into());
            }
            let root = source.root(cp.size).map_err(Failure::Source)?;
            if root != cp.root {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "the published checkpoint of size {} has root {}, but the log's first {} entries have root {}: the published copy is not a prefix of this log",
                        cp.size,
                        encode_hash(&cp.root),
                        cp.size,
                        encode_hash(&root)
                    ),
                )
                .into());
            }
            Some(cp)
        }
    };
    // The tiles the copy keeps are read again for the new root: they must
    // make the published checkpoint's root before anything is written.
    if let Some(cp) = &old {
        let have = copy_root(target, cp.size).map_err(|f| match f {
            Failure::Format(e) => Error::new(
                ErrorKind::Conflict,
                format!(
                    "the published copy does not hold the tiles of its checkpoint of size {}: {}",
                    cp.size,
                    e.message()
                ),
            )
            .into(),
            other => other,
        })?;
        if have != cp.root {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "the published tiles have root {}, not the root {} of the published checkpoint of size {}: a tile in the copy was changed",
                    encode_hash(&have),
                    encode_hash(&cp.root),
                    cp.size
                ),
            )
            .into());
        }
    }
    let old_size = old.as_ref().map_or(0, |c| c.size);
    let root = source.root(size).map_err(Failure::Source)?;
    let (mut tiles_written, mut bundles) = (0usize, 0usize);
    let mut bundle = Vec::new();
    // The root hash of each full tile written so far, to check the tile
    // above it against.
    let mut full_roots: HashMap<(u8, u64), Hash> = HashMap::new();
    // Every path to be written, checked before the first is.
    let new_tiles = Tile::new_tiles(HEIGHT, old_size, size);
    for t in &new_tiles {
        if t.level() == 0 {
            let path = tiles::bundle_path(t.level_index(), t.width());
            target.check_writable(&path).map_err(Failure::Source)?;
        }
        target
            .check_writable(&tiles::path_of(t))
            .map_err(Failure::Source)?;
    }
    target.check_writable(CHECKPOINT).map_err(Failure::Source)?;
    for t in new_tiles {
        let (level, index, width) = (t.level(), t.level_index(), t.width());
        let data = if level == 0 {
            // Level 0 is the entries' leaf hashes: made here, from the
            // entries written with them into their bundle (a partial
            // level-0 tile is compared with the log's too).
            let (data, n) = bundle_of(source, index, width, &mut bundle)?;
            if width < WIDTH {
                let stored = source.tile(level, index, width).map_err(Failure::Source)?;
                if stored != data {
                    return Err(Error::new(
                        ErrorKind::Damaged,
                        format!(
                            "the log's tree does not match its entries at tile {}",
                            tiles::path_of(&t)
                        ),
                    )
                    .into());
                }
            }
            target
                .write(&tiles::bundle_path(index, width), &bundle)
                .map_err(Failure::Source)?;
            bundles += 1;
            progress(n);
            data
        } else {
            let data = source.tile(level, index, width).map_err(Failure::Source)?;
            if data.len() != width as usize * 32 {
                return Err(Error::new(
                    ErrorKind::Damaged,
                    format!(
                        "the log's tile {} is {} bytes, not {}",
                        tiles::path_of(&t),
                        data.len(),
                        width as usize * 32
                    ),
                )
                .into());
            }
            for (k, h) in data.chunks_exact(32).enumerate() {
                let child = (level - 1, index * u64::from(WIDTH) + k as u64);
                if full_roots.get(&child).is_some_and(|r| r[..] != *h) {
                    return Err(Error::new(
                        ErrorKind::Damaged,
                        format!(
                            "the log's tile {} does not match the tiles below it (hash {k})",
                            tiles::path_of(&t)
                        ),
                    )
                    .into());
                }
            }
            data
        };
        if width == WIDTH {
            full_roots.insert((level, index), Tile::subtree_hash(&data).0);
        }
        target
            .write(&tiles::path_of(&t), &data)
            .map_err(Failure::Source)?;
        tiles_written += 1;
    }
    // The root of the tiles as the copy now holds them.
    let got = copy_root(target, size)?;
    if got != root {
        return Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "the published tiles have root {}, not the log's {}: a tile in the copy was changed",
                encode_hash(&got),
                encode_hash(&root)
            ),
        )
        .into());
    }
    let note = Checkpoint::sign(key, size, root)?;
    target.sync().map_err(Failure::Source)?;
    target.write(CHECKPOINT, &note).map_err(Failure::Source)?;
    target.sync().map_err(Failure::Source)?;
    Ok(Report {
        old_size,
        size,
        root,
        tiles: tiles_written,
        bundles,
    })
}

/// The root of the tree of `size` leaves made from the tiles `target`
/// holds; a tile missing, of the wrong length or not making a tree of that
/// size is the error.
fn copy_root<T: Files>(target: &T, size: u64) -> Result<Hash, T::Error> {
    if size == 0 {
        return Ok(tlog_tiles::EMPTY_HASH.0);
    }
    let read = |p: &str| match target.read(p, tiles::FULL_TILE_BYTES) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(Fault::Format(Error::new(
            ErrorKind::Conflict,
            format!("{p} is missing from the published copy"),
        ))),
        Err(e) => Err(Fault::Source(e)),
    };
    let files = TileFiles::new(size, &read);
    let got = tlog_tiles::tree_hash(size, &files);
    match (got, files.take_fault()) {
        (_, Some(Fault::Source(e))) => Err(Failure::Source(e)),
        (_, Some(Fault::Format(e))) => Err(e.into()),
        (Err(_), None) => Err(Error::new(
            ErrorKind::Conflict,
            "the published tiles do not make a tree of the log's size",
        )
        .into()),
        (Ok(h), None) => Ok(h.0),
    }
}

/// Reads the entries of bundle `index` (`width` of them) into `bundle`;
/// returns their leaf hashes (the level-0 tile) and the leaves done.
fn bundle_of<S: TreeSource>(
    source: &S,
    index: u64,
    width: u32,
    bundle: &mut Vec<u8>,
) -> Result<(Vec<u8>, u64), S::Error> {
    let from = index * u64::from(WIDTH);
    let to = from + u64::from(width);
    bundle.clear();
    let mut leaves = Vec::with_capacity(width as usize * 32);
    let mut next = from;
    source.entries(from, to, &mut |i, entry| {
        if i != next || i >= to {
            return Err(Error::new(
                ErrorKind::Damaged,
                format!("the log gave leaf {i} where leaf {next} of {from}..{to} was due"),
            ));
        }
        next += 1;
        leaves.extend_from_slice(&tlog_tiles::record_hash(entry).0);
        tiles::push_entry(bundle, entry).map_err(|len| {
            Error::invalid(format!(
                "entry seq {} is {len} bytes of canonical JSON, more than the 65535 an entry bundle can hold",
                i + 1
            ))
        })
    })?;
    if next != to {
        return Err(Error::new(
            ErrorKind::Damaged,
            format!("the log gave fewer entries than leaves {from}..{to}"),
        )
        .into());
    }
    Ok((leaves, to))
}

/// An in-memory log and copy, for tests here and in the crates that use
/// this one.
pub mod memory {
    use std::collections::BTreeMap;

    use super::*;

    /// Every stored hash of a tree, in `tlog_tiles::stored_hash_index`
    /// order, as a `tlog_tiles::HashReader`.
    #[derive(Debug, Default, Clone)]
    pub struct Stored(pub Vec<tlog_tiles::Hash>);

    impl tlog_tiles::HashReader for Stored {
        fn read_hashes(
            &self,
            indexes: &[u64],
        ) -> std::result::Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
            indexes
                .iter()
                .map(|&i| {
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| self.0.get(i).copied())
                        .ok_or(tlog_tiles::Error::IndexesNotInTree)
                })
                .collect()
        }
    }

    impl Stored {
        /// Adds leaf `n` (the next one) with data `entry`.
        pub fn push(&mut self, n: u64, entry: &[u8]) {
            let hs = tlog_tiles::stored_hashes(n, entry, self).expect("in memory");
            self.0.extend(hs);
        }
    }

    /// A log held in memory: its entries and every stored hash
    /// (`tlog_tiles::stored_hashes`).
    #[derive(Debug, Default, Clone)]
    pub struct MemLog {
        /// The entries, `C(1)`, `C(2)`, …
        pub entries: Vec<Vec<u8>>,
        stored: Stored,
    }

    impl MemLog {
        /// An empty log.
        pub fn new() -> Self {
            Self::default()
        }

        /// Appends an entry.
        pub fn push(&mut self, entry: Vec<u8>) {
            self.stored.push(self.entries.len() as u64, &entry);
            self.entries.push(entry);
        }

        /// The stored hashes, for `tlog_tiles`' functions.
        pub fn hashes(&self) -> &Stored {
            &self.stored
        }
    }

    impl TreeSource for MemLog {
        type Error = String;
        fn size(&self) -> u64 {
            self.entries.len() as u64
        }
        fn root(&self, size: u64) -> std::result::Result<Hash, String> {
            tlog_tiles::tree_hash(size, &self.stored)
                .map(|h| h.0)
                .map_err(|e| e.to_string())
        }
        fn tile(&self, level: u8, index: u64, width: u32) -> std::result::Result<Vec<u8>, String> {
            Tile::new(HEIGHT, level, index, width, false)
                .read_data(&self.stored)
                .map_err(|e| e.to_string())
        }
        fn entries(&self, from: u64, to: u64, each: &mut EachEntry) -> Result<(), String> {
            for i in from..to {
                let e = self
                    .entries
                    .get(i as usize)
                    .ok_or_else(|| Failure::Source(format!("no leaf {i}")))?;
                each(i, e)?;
            }
            Ok(())
        }
    }

    /// A published copy in memory.
    #[derive(Debug, Default, Clone)]
    pub struct MemFiles {
        /// Path → bytes.
        pub files: BTreeMap<String, Vec<u8>>,
        /// Paths written, in order.
        pub written: Vec<String>,
        /// `sync` calls.
        pub syncs: usize,
    }

    impl Files for MemFiles {
        type Error = String;
        fn read(&self, path: &str, max: usize) -> std::result::Result<Option<Vec<u8>>, String> {
            Ok(self
                .files
                .get(path)
                .map(|b| b[..b.len().min(max + 1)].to_vec()))
        }
    }

    impl Target for MemFiles {
        fn write(&mut self, path: &str, bytes: &[u8]) -> std::result::Result<(), String> {
            self.files.insert(path.to_owned(), bytes.to_vec());
            self.written.push(path.to_owned());
            Ok(())
        }
        fn sync(&mut self) -> std::result::Result<(), String> {
            self.syncs += 1;
            Ok(())
        }
    }
}
