//! Checking a published copy from the outside, with only its files and the
//! verifier key: the checkpoint's signature and origin; every entry bundle
//! the checkpoint's size needs, each entry checked by the caller (the CLI:
//! canonical JSON of an export entry, its seq its place); every hash tile,
//! full and partial, rebuilt from the entries and compared byte for byte;
//! the root of those tiles against the checkpoint's; and, given an older
//! checkpoint, that the log only grew: the older root is the root of the
//! first entries, and an RFC 9162 consistency proof made from the tiles
//! (`tlog_tiles::prove_tree` over a `TileHashReader`, which authenticates
//! each tile against the new root) passes `tlog_tiles::check_tree`.
//!
//! The entries are read one bundle at a time and the tree is rebuilt keeping
//! only each level's right edge, so memory does not grow with the log.

use tlog_tiles::TileHashReader;

use crate::checkpoint::{Checkpoint, MAX_CHECKPOINT_BYTES};
use crate::hash::encode_hash;
use crate::key::Verifier;
use crate::proof::Consistency;
use crate::publish::{Files, CHECKPOINT};
use crate::tiles::{self, Fault, Levels, TileFiles, FULL_TILE_BYTES, MAX_BUNDLE_BYTES, WIDTH};
use crate::{EachEntry, Error, Failure, Result};

/// What the check found, all of it holding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The published checkpoint.
    pub checkpoint: Checkpoint,
    /// The key that signed it, `NAME+ID`.
    pub key: String,
    /// Entry bundles read.
    pub bundles: u64,
    /// Hash tiles compared.
    pub tiles: u64,
    /// The older checkpoint shown consistent with it, when one was given.
    pub old: Option<Checkpoint>,
}

/// Checks the published copy in `files` (see the module's documentation).
/// `entry(index, bytes)` checks one entry (leaf `index`, seq `index + 1`);
/// `progress` is told how many entries are done after each bundle. The
/// first thing wrong is the error, naming the file.
pub fn verify<F: Files>(
    files: &F,
    verifier: &Verifier,
    old_checkpoint: Option<&[u8]>,
    entry: &mut EachEntry,
    progress: &mut dyn FnMut(u64),
) -> Result<Checked, F::Error> {
    let bytes = read(files, CHECKPOINT, MAX_CHECKPOINT_BYTES)?
        .ok_or_else(|| Error::failed("there is no checkpoint in the published copy"))?;
    let cp = Checkpoint::open(&bytes, verifier).map_err(|e| e.context("checkpoint"))?;
    let old = match old_checkpoint {
        None => None,
        Some(b) => {
            let old = Checkpoint::open(b, verifier).map_err(|e| e.context("the old checkpoint"))?;
            if old.size > cp.size {
                return Err(Error::failed(format!(
                    "the old checkpoint has {} entries, more than the published checkpoint's {}: the log shrank, or was replaced",
                    old.size, cp.size
                ))
                .into());
            }
            Some(old)
        }
    };
    let size = cp.size;
    // Every entry, bundle by bundle, and the tiles rebuilt from them.
    let mut levels = Levels::new();
    let mut tiles_checked = 0u64;
    let bundles = size.div_ceil(u64::from(WIDTH));
    for b in 0..bundles {
        let from = b * u64::from(WIDTH);
        let width = (size - from).min(u64::from(WIDTH)) as u32;
        let path = tiles::bundle_path(b, width);
        let data = read(files, &path, MAX_BUNDLE_BYTES)?.ok_or_else(|| {
            Error::failed(format!(
                "{path} is missing (the checkpoint's size {size} needs it)"
            ))
        })?;
        if data.len() > MAX_BUNDLE_BYTES {
            return Err(Error::failed(format!("{path} is larger than any entry bundle")).into());
        }
        let entries = tiles::split_bundle(&data, width).map_err(|e| e.context(&path))?;
        for (k, e) in entries.into_iter().enumerate() {
            let i = from + k as u64;
            entry(i, e).map_err(|err| err.context(format!("{path}: entry seq {}", i + 1)))?;
            let leaf = tlog_tiles::record_hash(e).0;
            levels.push(&leaf, &mut |level, index, rebuilt| {
                tiles_checked += 1;
                compare(files, &tiles::tile_path(level, index, WIDTH), rebuilt)
            })?;
        }
        progress(from + u64::from(width));
    }
    for (level, index, rebuilt) in levels.partial() {
        let path = tiles::tile_path(level, index, (rebuilt.len() / 32) as u32);
        compare(files, &path, rebuilt)?;
        tiles_checked += 1;
    }
    // The root of the tiles (now known to be the entries') is the
    // checkpoint's.
    let reader = |p: &str| match files.read(p, FULL_TILE_BYTES) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(Fault::Format(Error::failed(format!("{p} is missing")))),
        Err(e) => Err(Fault::Source(e)),
    };
    let tile_files = TileFiles::new(size, &reader);
    let root = tree_hash(size, &tile_files)?;
    if root != cp.root {
        return Err(Error::failed(format!(
            "the entries have root {}, not the checkpoint's {}",
            encode_hash(&root),
            encode_hash(&cp.root)
        ))
        .into());
    }
    if let Some(old) = &old {
        let old_root = tree_hash(old.size, &tile_files)?;
        if old_root != old.root {
            return Err(Error::failed(format!(
                "the published log's first {} entries have root {}, not the old checkpoint's {}: entries the old checkpoint covers were changed",
                old.size,
                encode_hash(&old_root),
                encode_hash(&old.root)
            ))
            .into());
        }
        if old.size > 0 {
            // What a stranger relies on: an RFC 9162 consistency proof from
            // the tiles, checked against both signed roots.
            let authenticated = TileHashReader::new(size, tlog_tiles::Hash(cp.root), &tile_files);
            let path = tlog_tiles::prove_tree(size, old.size, &authenticated);
            if let Some(f) = tile_files.take_fault() {
                return Err(fault(f));
            }
            let path = path.map_err(|_| {
                Error::failed(
                    "the published tiles do not authenticate against the checkpoint's root",
                )
            })?;
            Consistency {
                old_size: old.size,
                tree_size: size,
                path: path.into_iter().map(|h| h.0).collect(),
            }
            .check(&old.root, &cp.root)?;
        }
    }
    Ok(Checked {
        key: verifier.label(),
        checkpoint: cp,
        bundles,
        tiles: tiles_checked,
        old,
    })
}

fn fault<E>(f: Fault<E>) -> Failure<E> {
    match f {
        Fault::Format(e) => Failure::Format(e),
        Fault::Source(e) => Failure::Source(e),
    }
}

/// `tlog_tiles::tree_hash` of the tiles, the reader's own reason first.
fn tree_hash<E>(size: u64, files: &TileFiles<'_, E>) -> Result<[u8; 32], E> {
    if size == 0 {
        return Ok(tlog_tiles::EMPTY_HASH.0);
    }
    let got = tlog_tiles::tree_hash(size, files);
    if let Some(f) = files.take_fault() {
        return Err(fault(f));
    }
    got.map(|h| h.0).map_err(|_| {
        Error::failed("the published tiles do not make a tree of the checkpoint's size").into()
    })
}

fn read<F: Files>(files: &F, path: &str, max: usize) -> Result<Option<Vec<u8>>, F::Error> {
    let got = files.read(path, max).map_err(Failure::Source)?;
    match got {
        Some(b) if b.len() > max => {
            Err(Error::failed(format!("{path} is larger than it can be ({max} bytes)")).into())
        }
        other => Ok(other),
    }
}

/// The published tile at `path` must be `rebuilt`, byte for byte.
fn compare<F: Files>(files: &F, path: &str, rebuilt: &[u8]) -> Result<(), F::Error> {
    let Some(published) = read(files, path, FULL_TILE_BYTES)? else {
        return Err(Error::failed(format!(
            "{path} is missing (the checkpoint's size needs it)"
        ))
        .into());
    };
    if published.len() != rebuilt.len() {
        return Err(Error::failed(format!(
            "{path} is {} bytes, not the {} the entries make",
            published.len(),
            rebuilt.len()
        ))
        .into());
    }
    if let Some(at) = published.iter().zip(rebuilt).position(|(a, b)| a != b) {
        return Err(Error::failed(format!(
            "{path} does not match the entries (byte {at}, in hash {})",
            at / 32
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{generate, SigningKey};
    use crate::publish::memory::{MemFiles, MemLog};
    use crate::publish::{publish, Target};
    use crate::ErrorKind;
    use rand_core::OsRng;

    fn key(name: &str) -> SigningKey {
        let (s, _) = generate(&mut OsRng, name).unwrap();
        SigningKey::parse(s.expose().as_bytes()).unwrap()
    }

    fn log(n: usize) -> MemLog {
        let mut l = MemLog::new();
        for i in 0..n {
            l.push(format!("{{\"seq\":{}}}", i + 1).into_bytes());
        }
        l
    }

    fn no_check(_: u64, _: &[u8]) -> std::result::Result<(), Error> {
        Ok(())
    }

    fn check(
        files: &MemFiles,
        k: &SigningKey,
        old: Option<&[u8]>,
    ) -> std::result::Result<Checked, Error> {
        verify(files, k.verifier(), old, &mut no_check, &mut |_| {}).map_err(|f| match f {
            Failure::Format(e) => e,
            Failure::Source(s) => panic!("source: {s}"),
        })
    }

    fn publish_all(l: &MemLog, files: &mut MemFiles, k: &SigningKey) -> crate::publish::Report {
        publish(l, files, k, &mut |_| {})
            .map_err(|f| match f {
                Failure::Format(e) => e,
                Failure::Source(s) => panic!("source: {s}"),
            })
            .unwrap()
    }

    #[test]
    fn a_published_copy_verifies_at_every_interesting_size() {
        let k = key("news.example/claims");
        for n in [0usize, 1, 2, 255, 256, 257, 513, 65_537] {
            let l = log(n);
            let mut files = MemFiles::default();
            let r = publish_all(&l, &mut files, &k);
            assert_eq!(r.size, n as u64);
            assert_eq!(files.written.last().map(String::as_str), Some(CHECKPOINT));
            let got = check(&files, &k, None).unwrap();
            assert_eq!(got.checkpoint.size, n as u64);
            assert_eq!(
                got.checkpoint.root,
                tlog_tiles::tree_hash(n as u64, l.hashes()).unwrap().0
            );
            assert_eq!(got.tiles as usize, r.tiles, "size {n}");
            assert_eq!(got.bundles as usize, r.bundles, "size {n}");
        }
    }

    #[test]
    fn incremental_publishes_write_only_what_is_new_and_stay_consistent() {
        let k = key("n");
        let mut l = log(0);
        let mut files = MemFiles::default();
        let mut previous: Option<Vec<u8>> = None;
        for (step, n) in [1usize, 3, 256, 300, 600, 600, 70_000]
            .into_iter()
            .enumerate()
        {
            while l.entries.len() < n {
                l.push(format!("entry {}", l.entries.len()).into_bytes());
            }
            files.written.clear();
            let r = publish_all(&l, &mut files, &k);
            let old = r.old_size;
            assert_eq!(
                r.tiles,
                Tile::new_tiles(8, old, n as u64).len(),
                "step {step}"
            );
            // Only new tiles and bundles, then the checkpoint.
            for p in &files.written[..files.written.len() - 1] {
                assert!(p.starts_with("tile/"), "{p}");
            }
            let got = check(&files, &k, previous.as_deref()).unwrap();
            if let Some(o) = &got.old {
                assert_eq!(o.size, old);
            }
            previous = Some(files.files[CHECKPOINT].clone());
        }
        // Old partial tiles are kept.
        assert!(files.files.contains_key("tile/0/000.p/1"));
        assert!(files.files.contains_key("tile/entries/000.p/3"));
    }

    use tlog_tiles::Tile;

    fn err_of(files: &MemFiles, k: &SigningKey, old: Option<&[u8]>) -> Error {
        check(files, k, old).unwrap_err()
    }

    #[test]
    fn tampered_copies_are_refused_naming_the_file() {
        let k = key("news.example/claims");
        let l = log(600);
        let mut good = MemFiles::default();
        publish_all(&l, &mut good, &k);

        // One entry bundle byte changed.
        let mut f = good.clone();
        let b = f.files.get_mut("tile/entries/001").unwrap();
        b[10] ^= 1;
        let e = err_of(&f, &k, None);
        assert!(
            e.message()
                .starts_with("tile/0/001 does not match the entries"),
            "{e}"
        );

        // A tile replaced by another.
        let mut f = good.clone();
        let other = f.files["tile/0/000"].clone();
        f.files.insert("tile/0/001".into(), other);
        let e = err_of(&f, &k, None);
        assert!(e.message().starts_with("tile/0/001 does not match"), "{e}");

        // A level-1 tile changed.
        let mut f = good.clone();
        f.files.get_mut("tile/1/000.p/2").unwrap()[40] ^= 0x80;
        let e = err_of(&f, &k, None);
        assert!(
            e.message()
                .contains("tile/1/000.p/2 does not match the entries (byte 40, in hash 1)"),
            "{e}"
        );

        // A tile cut short, a bundle missing, a bundle with a trailing byte.
        let mut f = good.clone();
        f.files.get_mut("tile/0/000").unwrap().pop();
        assert!(err_of(&f, &k, None)
            .message()
            .contains("tile/0/000 is 8191 bytes"));
        let mut f = good.clone();
        f.files.remove("tile/entries/002.p/88");
        assert!(err_of(&f, &k, None)
            .message()
            .contains("tile/entries/002.p/88 is missing"));
        let mut f = good.clone();
        f.files.get_mut("tile/entries/000").unwrap().push(0);
        assert!(err_of(&f, &k, None)
            .message()
            .starts_with("tile/entries/000: "));

        // Entry bundle and tiles rewritten consistently: the root is not the
        // checkpoint's.
        let mut l2 = log(599);
        l2.push(b"forged".to_vec());
        let mut f2 = MemFiles::default();
        publish_all(&l2, &mut f2, &k);
        let mut f = f2.clone();
        f.files
            .insert(CHECKPOINT.into(), good.files[CHECKPOINT].clone());
        let e = err_of(&f, &k, None);
        assert!(e.message().contains("not the checkpoint's"), "{e}");

        // A checkpoint re-signed with another key of the same name.
        let other = key("news.example/claims");
        let mut f = good.clone();
        let root = tlog_tiles::tree_hash(600, l.hashes()).unwrap().0;
        f.files.insert(
            CHECKPOINT.into(),
            Checkpoint::sign(&other, 600, root).unwrap(),
        );
        let e = err_of(&f, &k, None);
        assert!(
            e.message().contains("not signed by news.example/claims+"),
            "{e}"
        );
        assert_eq!(e.kind(), ErrorKind::Verification);

        // A checkpoint of a different size, properly signed: its root is
        // not the entries'.
        let mut f = good.clone();
        f.files
            .insert(CHECKPOINT.into(), Checkpoint::sign(&k, 599, root).unwrap());
        let e = err_of(&f, &k, None);
        assert!(!e.message().is_empty());
        let mut f = good.clone();
        let root599 = tlog_tiles::tree_hash(599, l.hashes()).unwrap().0;
        f.files.insert(
            CHECKPOINT.into(),
            Checkpoint::sign(&k, 599, root599).unwrap(),
        );
        // Right root for 599, but the copy's tiles are those of 600.
        let e = err_of(&f, &k, None);
        assert!(
            e.message().contains("is missing") || e.message().contains("does not match"),
            "{e}"
        );

        // Tampered entries an entry check refuses.
        let e = verify(
            &good,
            k.verifier(),
            None,
            &mut |i, _| {
                if i == 300 {
                    Err(Error::invalid("it is not canonical"))
                } else {
                    Ok(())
                }
            },
            &mut |_| {},
        )
        .unwrap_err();
        let Failure::Format(e) = e else { panic!() };
        assert_eq!(
            e.message(),
            "tile/entries/001: entry seq 301: it is not canonical"
        );
    }

    #[test]
    fn an_old_checkpoint_must_be_a_prefix() {
        let k = key("n");
        let mut l = log(300);
        let mut files = MemFiles::default();
        publish_all(&l, &mut files, &k);
        let old = files.files[CHECKPOINT].clone();
        for i in 300..1000 {
            l.push(format!("more {i}").into_bytes());
        }
        publish_all(&l, &mut files, &k);
        let got = check(&files, &k, Some(&old)).unwrap();
        assert_eq!(got.old.unwrap().size, 300);
        // A forged old checkpoint of that size (another root) is refused.
        let forged = Checkpoint::sign(&k, 300, [9; 32]).unwrap();
        let e = err_of(&files, &k, Some(&forged));
        assert!(e.message().contains("first 300 entries have root"), "{e}");
        // A newer "old" checkpoint.
        let newer = Checkpoint::sign(&k, 1001, [9; 32]).unwrap();
        assert!(err_of(&files, &k, Some(&newer))
            .message()
            .contains("shrank"));
        // An old checkpoint by another key.
        let other = key("n");
        let o = Checkpoint::sign(&other, 300, [9; 32]).unwrap();
        assert!(err_of(&files, &k, Some(&o))
            .message()
            .starts_with("the old checkpoint: "));
        // The same checkpoint as old: consistent with itself.
        let same = files.files[CHECKPOINT].clone();
        assert!(check(&files, &k, Some(&same)).is_ok());
        // The empty tree as old.
        let empty = Checkpoint::sign(&k, 0, tlog_tiles::EMPTY_HASH.0).unwrap();
        assert!(check(&files, &k, Some(&empty)).is_ok());
        let bad_empty = Checkpoint::sign(&k, 0, [1; 32]).unwrap();
        assert!(check(&files, &k, Some(&bad_empty)).is_err());
    }

    #[test]
    fn publishing_over_a_copy_of_another_log_or_key_is_refused_writing_nothing() {
        let k = key("n");
        let l = log(300);
        let mut files = MemFiles::default();
        publish_all(&l, &mut files, &k);
        // Another log of the same size and key.
        let mut other = log(299);
        other.push(b"different".to_vec());
        for extra in 0..5 {
            other.push(format!("x{extra}").into_bytes());
        }
        let mut f = files.clone();
        f.written.clear();
        let e = publish(&other, &mut f, &k, &mut |_| {}).unwrap_err();
        let Failure::Format(e) = e else { panic!() };
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.message().contains("not a prefix"), "{e}");
        assert!(f.written.is_empty());
        // A shorter log.
        let mut f = files.clone();
        f.written.clear();
        let Failure::Format(e) = publish(&log(10), &mut f, &k, &mut |_| {}).unwrap_err() else {
            panic!()
        };
        assert!(e.message().contains("more than the log's 10"), "{e}");
        assert!(f.written.is_empty());
        // Another key.
        let mut f = files.clone();
        f.written.clear();
        let Failure::Format(e) = publish(&l, &mut f, &key("n"), &mut |_| {}).unwrap_err() else {
            panic!()
        };
        assert!(e.message().contains("not signed by"), "{e}");
        assert!(f.written.is_empty());
        // A garbage checkpoint.
        let mut f = files.clone();
        f.write(CHECKPOINT, b"garbage").unwrap();
        f.written.clear();
        assert!(publish(&l, &mut f, &k, &mut |_| {}).is_err());
        assert!(f.written.is_empty());
    }

    #[test]
    fn an_entry_too_long_for_a_bundle_is_refused_before_the_checkpoint() {
        let k = key("n");
        let mut l = log(3);
        l.push(vec![b'a'; 65_536]);
        let mut f = MemFiles::default();
        let Failure::Format(e) = publish(&l, &mut f, &k, &mut |_| {}).unwrap_err() else {
            panic!()
        };
        assert!(e.message().contains("entry seq 4 is 65536 bytes"), "{e}");
        assert!(!f.files.contains_key(CHECKPOINT));
        // 65 535 bytes fit.
        let mut l = log(3);
        l.push(vec![b'a'; 65_535]);
        let mut f = MemFiles::default();
        publish_all(&l, &mut f, &k);
        assert!(check(&f, &k, None).is_ok());
    }

    #[test]
    fn a_tree_that_disagrees_with_its_entries_is_not_published() {
        /// A log whose tiles of one level have a bit flipped.
        struct Lying(MemLog, u8);
        impl crate::publish::TreeSource for Lying {
            type Error = String;
            fn size(&self) -> u64 {
                self.0.size()
            }
            fn root(&self, s: u64) -> std::result::Result<[u8; 32], String> {
                self.0.root(s)
            }
            fn tile(&self, l: u8, i: u64, w: u32) -> std::result::Result<Vec<u8>, String> {
                let mut t = self.0.tile(l, i, w)?;
                if l == self.1 {
                    t[0] ^= 1;
                }
                Ok(t)
            }
            fn entries(&self, f: u64, t: u64, each: &mut EachEntry) -> crate::Result<(), String> {
                self.0.entries(f, t, each)
            }
        }
        let k = key("n");
        for (size, level, needle) in [
            (5, 0, "does not match its entries at tile tile/0/000.p/5"),
            (
                600,
                1,
                "tile tile/1/000.p/2 does not match the tiles below it (hash 0)",
            ),
        ] {
            let mut f = MemFiles::default();
            let Failure::Format(e) =
                publish(&Lying(log(size), level), &mut f, &k, &mut |_| {}).unwrap_err()
            else {
                panic!()
            };
            assert_eq!(e.kind(), ErrorKind::Damaged);
            assert!(e.message().contains(needle), "{e}");
            assert!(!f.files.contains_key(CHECKPOINT));
        }
    }
}
