//! The packed layouts of format 2 (docs/format.md, "Format 2"): log blocks
//! (many consecutive entries in one sled value, LZ4-compressed) and index
//! chunks (a sorted run of index keys in one sled value, prefix-compressed).
//!
//! sled's cost is per key and per node rewrite, not per byte: a million tiny
//! keys make it slow to write, slow to open and five times larger than the
//! data. Packing keeps the number of sled keys around one per 10 KiB of log
//! and one per 4 KiB of index.

use sled::{IVec, Tree};

use claims_core::error::{Error, Hint, Result};

use crate::from_sled;

/// First byte of a packed log block. A log value that starts with anything
/// else is a single legacy (format 1) entry whose seq is its key.
pub const BLOCK_TAG: u8 = 0x42;
/// A block's payload is stored as is.
const PLAIN: u8 = 0;
/// A block's payload is LZ4 (block format, uncompressed size prepended).
const LZ4: u8 = 1;

/// A block is closed once its entries take this many bytes (before
/// compression, about half after). Small enough that a sled leaf (up to 17
/// values) stays inline, below sled's blob threshold of 128 KiB at its
/// default segment size; a leaf past it becomes a file of its own.
pub const BLOCK_TARGET: usize = 10 * 1024;

/// The longest entry (encoded, tag byte included) that a commit stores; a
/// longer one is refused before anything is written. Twice SPEC's longest
/// event line (16 MiB), whose compact encoding is never longer than the line.
pub const MAX_ENTRY: usize = 32 << 20;

/// The longest payload a block can hold: a block is closed once its entries
/// reach [`BLOCK_TARGET`] (counting 4 bytes of framing an entry, which covers
/// the two varints of an entry below that size), so only its last entry goes
/// past it, by at most [`MAX_ENTRY`] and that entry's varints. The reader
/// refuses a block that claims more (it can only be damaged) before it
/// allocates anything.
pub const MAX_PAYLOAD: usize = BLOCK_TARGET + MAX_ENTRY + 32;

/// LZ4 cannot expand its input more than this many times (a match adds at
/// most 255 bytes of output for each byte of input), so a block claiming a
/// larger ratio is damaged.
const LZ4_MAX_RATIO: usize = 255;

pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads the varint at `at` and moves past it; `None` if it runs past the
/// end or holds more than 64 bits.
pub(crate) fn read_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        // The tenth byte holds bit 63 only.
        if shift == 63 && byte & 0x7e != 0 {
            return None;
        }
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn damaged_block(key: u64) -> Error {
    Error::damaged(format!("the log block at seq {key} is damaged"))
        .with_hint(Hint::VerifyThenRestore)
}

/// The decompressed size that an LZ4 body (`u32` little-endian size, then
/// the compressed bytes) claims, if a block can hold that much and the
/// compressed bytes can expand to it.
fn lz4_size(body: &[u8]) -> Option<usize> {
    let size = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
    let size = usize::try_from(size).ok()?;
    let most = (body.len() - 4).saturating_mul(LZ4_MAX_RATIO);
    (size <= MAX_PAYLOAD && size <= most).then_some(size)
}

/// One log value decoded: `(seq, entry bytes)` in seq order. Entry bytes are
/// what `Record::decode` reads (tag byte first).
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub entries: Vec<(u64, Vec<u8>)>,
}

impl Block {
    /// Decodes the value stored under `key`.
    pub fn decode(key: u64, value: &[u8]) -> Result<Block> {
        let mut entries = Vec::new();
        BlockView::parse(key, value, |seq, bytes| {
            entries.push((seq, bytes.to_vec()));
            true
        })?;
        Ok(Block { entries })
    }

    /// Bytes of the entries (the closing rule of [`BLOCK_TARGET`]).
    pub fn raw_len(&self) -> usize {
        self.entries.iter().map(|(_, b)| b.len() + 4).sum()
    }

    /// Encodes the block for storage under `key` (at or below its first seq).
    pub fn encode(&self, key: u64) -> Vec<u8> {
        let base = key;
        let mut payload = Vec::with_capacity(self.raw_len() + 8);
        varint(&mut payload, self.entries.len() as u64);
        for (seq, bytes) in &self.entries {
            varint(&mut payload, seq - base);
            varint(&mut payload, bytes.len() as u64);
            payload.extend_from_slice(bytes);
        }
        let packed = lz4_flex::block::compress_prepend_size(&payload);
        let mut out = Vec::with_capacity(packed.len().min(payload.len()) + 2);
        out.push(BLOCK_TAG);
        if packed.len() < payload.len() {
            out.push(LZ4);
            out.extend_from_slice(&packed);
        } else {
            out.push(PLAIN);
            out.extend_from_slice(&payload);
        }
        out
    }
}

/// Walks a stored log value without copying entries.
pub struct BlockView;

impl BlockView {
    /// Calls `f(seq, entry bytes)` for each entry of the value stored under
    /// `key`, in order, until `f` returns false.
    pub fn parse(key: u64, value: &[u8], mut f: impl FnMut(u64, &[u8]) -> bool) -> Result<()> {
        if value.first() != Some(&BLOCK_TAG) {
            // A format-1 value: one entry, its seq is the key.
            f(key, value);
            return Ok(());
        }
        let payload = Self::unpack(key, value)?;
        Self::parse_payload(key, &payload, f)
    }

    /// The entries' bytes of a block value (`BLOCK_TAG` first), decompressed.
    pub fn unpack(key: u64, value: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
        match (value.first(), value.get(1)) {
            (Some(&BLOCK_TAG), Some(&PLAIN)) => Ok(std::borrow::Cow::Borrowed(&value[2..])),
            (Some(&BLOCK_TAG), Some(&LZ4)) => {
                let size = lz4_size(&value[2..]).ok_or_else(|| damaged_block(key))?;
                let body = &value[6..];
                let mut out = vec![0u8; size];
                match lz4_flex::block::decompress_into(body, &mut out) {
                    Ok(n) if n == size => Ok(std::borrow::Cow::Owned(out)),
                    _ => Err(damaged_block(key)),
                }
            }
            _ => Err(damaged_block(key)),
        }
    }

    /// Whether a stored log value is a block (rather than one format-1 entry).
    pub fn is_block(value: &[u8]) -> bool {
        value.first() == Some(&BLOCK_TAG)
    }

    /// [`BlockView::parse`] on a block's [`unpack`](BlockView::unpack)ed bytes.
    pub fn parse_payload(
        key: u64,
        payload: &[u8],
        mut f: impl FnMut(u64, &[u8]) -> bool,
    ) -> Result<()> {
        let mut at = 0;
        let n = read_varint(payload, &mut at).ok_or_else(|| damaged_block(key))?;
        let mut last = None;
        for _ in 0..n {
            let delta = read_varint(payload, &mut at).ok_or_else(|| damaged_block(key))?;
            let len = read_varint(payload, &mut at).ok_or_else(|| damaged_block(key))?;
            let seq = key.checked_add(delta).ok_or_else(|| damaged_block(key))?;
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| at.checked_add(l))
                .filter(|e| *e <= payload.len())
                .ok_or_else(|| damaged_block(key))?;
            if last.is_some_and(|l| seq <= l) {
                return Err(damaged_block(key));
            }
            last = Some(seq);
            if !f(seq, &payload[at..end]) {
                return Ok(());
            }
            at = end;
        }
        if at != payload.len() {
            return Err(damaged_block(key));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Index chunks.

/// A chunk is split once its encoding passes this size.
pub const CHUNK_MAX: usize = 6 * 1024;
/// Chunks are written at about this size.
const CHUNK_FILL: usize = 4 * 1024;

fn damaged_index() -> Error {
    Error::damaged("an index of the ledger is damaged").with_hint(Hint::VerifyThenRebuildIndexes)
}

/// Decodes a chunk value into its elements.
pub fn decode_chunk(value: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    walk_chunk(value, |e| {
        out.push(e.to_vec());
        true
    })?;
    Ok(out)
}

/// Calls `f` on each element of a chunk, in order, until it returns false.
pub fn walk_chunk(value: &[u8], mut f: impl FnMut(&[u8]) -> bool) -> Result<()> {
    let mut at = 0;
    let n = read_varint(value, &mut at).ok_or_else(damaged_index)?;
    let mut cur: Vec<u8> = Vec::with_capacity(64);
    for i in 0..n {
        let shared = read_varint(value, &mut at).and_then(|v| usize::try_from(v).ok());
        let len = read_varint(value, &mut at).and_then(|v| usize::try_from(v).ok());
        let (Some(shared), Some(len)) = (shared, len) else {
            return Err(damaged_index());
        };
        let suffix = at
            .checked_add(len)
            .and_then(|end| value.get(at..end))
            .ok_or_else(damaged_index)?;
        let prev_rest = cur.get(shared..).ok_or_else(damaged_index)?;
        // Elements strictly increase: past the shared prefix, the new suffix
        // sorts after the rest of the previous element.
        if i > 0 && suffix <= prev_rest {
            return Err(damaged_index());
        }
        cur.truncate(shared);
        cur.extend_from_slice(suffix);
        at += len;
        if !f(&cur) {
            return Ok(());
        }
    }
    if at != value.len() {
        return Err(damaged_index());
    }
    Ok(())
}

pub fn encode_chunk<E: AsRef<[u8]>>(elems: &[E]) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHUNK_MAX + 64);
    varint(&mut out, elems.len() as u64);
    let mut prev: &[u8] = &[];
    for e in elems {
        let e = e.as_ref();
        let shared = prev
            .iter()
            .zip(e.iter())
            .take_while(|(a, b)| a == b)
            .count();
        varint(&mut out, shared as u64);
        varint(&mut out, (e.len() - shared) as u64);
        out.extend_from_slice(&e[shared..]);
        prev = e;
    }
    out
}

fn encoded_len_estimate(prev: &[u8], e: &[u8]) -> usize {
    let shared = prev
        .iter()
        .zip(e.iter())
        .take_while(|(a, b)| a == b)
        .count();
    e.len() - shared + 2
}

/// Splits sorted elements into chunks of about [`CHUNK_FILL`] bytes.
fn pack(elems: Vec<Vec<u8>>, out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    let total: usize = {
        let mut prev: &[u8] = &[];
        let mut t = 0;
        for e in &elems {
            t += encoded_len_estimate(prev, e);
            prev = e;
        }
        t
    };
    if total <= CHUNK_MAX {
        if !elems.is_empty() {
            out.push((elems[0].clone(), encode_chunk(&elems)));
        }
        return;
    }
    let parts = total.div_ceil(CHUNK_FILL);
    let per = total.div_ceil(parts);
    let mut start = 0;
    let mut size = 0;
    let mut prev: &[u8] = &[];
    for i in 0..elems.len() {
        size += encoded_len_estimate(prev, &elems[i]);
        prev = &elems[i];
        if size >= per || i + 1 == elems.len() {
            let part = &elems[start..=i];
            out.push((part[0].clone(), encode_chunk(part)));
            start = i + 1;
            size = 0;
            prev = &[];
        }
    }
}

/// A write to one tree: insert (`Some`) or remove (`None`) a key.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// The chunk whose first element is the greatest one at or below `e`.
fn chunk_at_or_below(tree: &Tree, e: &[u8]) -> Result<Option<(IVec, IVec)>> {
    let mut k = Vec::with_capacity(e.len() + 1);
    k.extend_from_slice(e);
    k.push(0);
    tree.get_lt(k).map_err(from_sled)
}

/// The writes that add `adds` and take out `removes` (both sorted, without
/// duplicates) in the chunked set stored in `tree`. Adding a present element
/// or removing an absent one changes nothing.
pub fn plan<E: AsRef<[u8]>>(tree: &Tree, adds: &[E], removes: &[E]) -> Result<Vec<Write>> {
    // Every element lands in the chunk at or below it (or the first chunk).
    // Group the work by chunk, walking both lists in order.
    let mut writes = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < adds.len() || j < removes.len() {
        let next: &[u8] = match (adds.get(i), removes.get(j)) {
            (Some(a), Some(r)) => a.as_ref().min(r.as_ref()),
            (Some(a), None) => a.as_ref(),
            (None, Some(r)) => r.as_ref(),
            (None, None) => unreachable!(),
        };
        let here = match chunk_at_or_below(tree, next)? {
            Some(kv) => Some(kv),
            None => tree.first().map_err(from_sled)?,
        };
        let (old_key, mut elems, upper) = match here {
            Some((k, v)) => {
                let upper = tree.get_gt(&k).map_err(from_sled)?.map(|(k, _)| k);
                (Some(k), decode_chunk(&v)?, upper)
            }
            None => (None, Vec::new(), None),
        };
        let below = |e: &E| upper.as_ref().is_none_or(|u| e.as_ref() < u.as_ref());
        let a0 = i;
        while i < adds.len() && below(&adds[i]) {
            i += 1;
        }
        let r0 = j;
        while j < removes.len() && below(&removes[j]) {
            j += 1;
        }
        if i == a0 && j == r0 {
            // Cannot happen (the element is below `upper` by construction),
            // but never loop forever on a damaged tree.
            return Err(damaged_index());
        }
        let removing = &removes[r0..j];
        if !removing.is_empty() {
            elems.retain(|e| removing.binary_search_by(|r| r.as_ref().cmp(e)).is_err());
        }
        let merged = merge(elems, &adds[a0..i]);
        let mut packed = Vec::new();
        pack(merged, &mut packed);
        let old_key = old_key.map(|k| k.to_vec());
        if let Some(k) = &old_key {
            if !packed.iter().any(|(nk, _)| nk == k) {
                writes.push((k.clone(), None));
            }
        }
        for (k, v) in packed {
            writes.push((k, Some(v)));
        }
    }
    Ok(writes)
}

fn merge<E: AsRef<[u8]>>(a: Vec<Vec<u8>>, b: &[E]) -> Vec<Vec<u8>> {
    if b.is_empty() {
        return a;
    }
    if a.is_empty() {
        return b.iter().map(|e| e.as_ref().to_vec()).collect();
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.iter().peekable();
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.as_slice().cmp(y.as_ref()) {
                std::cmp::Ordering::Less => out.push(a.next().expect("peeked")),
                std::cmp::Ordering::Greater => {
                    out.push(b.next().expect("peeked").as_ref().to_vec())
                }
                std::cmp::Ordering::Equal => {
                    out.push(a.next().expect("peeked"));
                    b.next();
                }
            },
            (Some(_), None) => out.push(a.next().expect("peeked")),
            (None, Some(_)) => out.push(b.next().expect("peeked").as_ref().to_vec()),
            (None, None) => return out,
        }
    }
}

/// The key of the chunk a walk from element `lo` starts at.
pub fn chunk_start(tree: &Tree, lo: &[u8]) -> Result<Vec<u8>> {
    Ok(match chunk_at_or_below(tree, lo)? {
        Some((k, _)) => k.to_vec(),
        None => lo.to_vec(),
    })
}

/// Calls `f` on every element `e` with `lo <= e <= hi`, in order, until it
/// returns false.
pub fn scan(tree: &Tree, lo: &[u8], hi: &[u8], mut f: impl FnMut(&[u8]) -> bool) -> Result<()> {
    let start: Vec<u8> = match chunk_at_or_below(tree, lo)? {
        Some((k, _)) => k.to_vec(),
        None => lo.to_vec(),
    };
    for kv in tree.range(start..) {
        let (k, v) = kv.map_err(from_sled)?;
        if k.as_ref() > hi {
            break;
        }
        let mut go = true;
        walk_chunk(&v, |e| {
            if e < lo {
                return true;
            }
            if e > hi {
                go = false;
                return false;
            }
            go = f(e);
            go
        })?;
        if !go {
            break;
        }
    }
    Ok(())
}

/// The smallest element at or after `from`.
pub fn first_from(tree: &Tree, from: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut found = None;
    scan(tree, from, &[0xFF; 64], |e| {
        found = Some(e.to_vec());
        false
    })?;
    Ok(found)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_legacy_values_read_as_one_entry() {
        let b = Block {
            entries: (5..40u64)
                .map(|s| (s, vec![2, s as u8, 7, 7, 7, 7, 7, 7]))
                .collect(),
        };
        let v = b.encode(5);
        assert_eq!(v[0], BLOCK_TAG);
        assert_eq!(Block::decode(5, &v).unwrap().entries, b.entries);
        let legacy = b"\x01{\"seq\":3}";
        assert_eq!(
            Block::decode(3, legacy).unwrap().entries,
            vec![(3, legacy.to_vec())]
        );
        assert!(Block::decode(5, &v[..v.len() - 1]).is_err());
    }

    fn damaged(r: Result<impl std::fmt::Debug>) -> Error {
        let e = r.expect_err("damaged bytes must be refused");
        assert_eq!(e.kind(), claims_core::ErrorKind::Damaged, "{e:?}");
        assert!(e.hint().is_some(), "a damaged value has a hint: {e:?}");
        e
    }

    #[test]
    fn a_chunk_whose_suffix_length_overflows_is_damaged_not_a_panic() {
        // One element, shared 0, suffix length u64::MAX: `at + len` used to
        // overflow (a panic in debug builds, a slice panic in release).
        let mut v = vec![1, 0];
        varint(&mut v, u64::MAX);
        v.extend_from_slice(b"abc");
        damaged(decode_chunk(&v));
        // A length that fits but runs past the value, and a shared prefix
        // longer than the element before.
        damaged(decode_chunk(&[1, 0, 9, b'a']));
        damaged(decode_chunk(&[2, 0, 1, b'a', 5, 1, b'b']));
    }

    #[test]
    fn a_chunk_out_of_order_or_with_trailing_bytes_is_damaged() {
        let good = encode_chunk(&[b"ab".to_vec(), b"ac".to_vec(), b"b".to_vec()]);
        assert_eq!(decode_chunk(&good).unwrap().len(), 3);
        let mut trailing = good.clone();
        trailing.push(0);
        damaged(decode_chunk(&trailing));
        // "ac" then "ab", and a repeated element.
        damaged(decode_chunk(&[2, 0, 2, b'a', b'c', 1, 1, b'b']));
        damaged(decode_chunk(&[2, 0, 1, b'a', 0, 1, b'a']));
        // A walk that stops early does not read the rest.
        let mut first = None;
        walk_chunk(&trailing, |e| {
            first = Some(e.to_vec());
            false
        })
        .unwrap();
        assert_eq!(first.as_deref(), Some(&b"ab"[..]));
    }

    #[test]
    fn a_block_claiming_a_huge_decompressed_size_is_refused_before_allocating() {
        // An LZ4 block whose size prefix claims 4 GiB - 1.
        let mut v = vec![BLOCK_TAG, LZ4, 0xFF, 0xFF, 0xFF, 0xFF];
        v.extend_from_slice(&[0x10, b'x']);
        let started = std::time::Instant::now();
        let (r, largest) = crate::alloc_probe::largest_allocation(|| Block::decode(1, &v));
        damaged(r);
        assert!(largest < 4096, "asked for {largest} bytes");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Within the block bound, but more than 3 compressed bytes can give.
        let mut v = vec![BLOCK_TAG, LZ4];
        v.extend_from_slice(&(1u32 << 20).to_le_bytes());
        v.extend_from_slice(&[0x10, b'x', 0]);
        let (r, largest) = crate::alloc_probe::largest_allocation(|| Block::decode(1, &v));
        damaged(r);
        assert!(largest < 4096, "asked for {largest} bytes");
        // A size that is not the payload's is damaged either way.
        let b = Block {
            entries: (1..30u64).map(|s| (s, vec![2; 100])).collect(),
        };
        let mut v = b.encode(1);
        assert_eq!(v[1], LZ4);
        let size = u32::from_le_bytes(v[2..6].try_into().unwrap());
        v[2..6].copy_from_slice(&(size + 1).to_le_bytes());
        damaged(Block::decode(1, &v));
        v[2..6].copy_from_slice(&(size - 1).to_le_bytes());
        damaged(Block::decode(1, &v));
    }

    #[test]
    fn the_largest_entry_a_commit_stores_fits_the_block_bound() {
        // A block one short of closing, then the largest entry.
        let small = BLOCK_TARGET - 4 - 1;
        let b = Block {
            entries: vec![(1, vec![7; small]), (2, vec![9; MAX_ENTRY])],
        };
        let v = b.encode(1);
        assert_eq!(Block::decode(1, &v).unwrap().entries, b.entries);
        let payload = BlockView::unpack(1, &v).unwrap();
        assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
    }

    #[test]
    fn chunked_sets_insert_remove_and_scan_like_a_sorted_set() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let t = db.open_tree("x").unwrap();
        let mut model = std::collections::BTreeSet::new();
        let mut x: u64 = 7;
        for round in 0..6 {
            let mut adds: Vec<Vec<u8>> = (0..3000)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let n = (x >> 40) % 20_000;
                    format!("k{n:06}-{}", n % 7).into_bytes()
                })
                .collect();
            adds.sort();
            adds.dedup();
            let mut removes: Vec<Vec<u8>> = model.iter().step_by(3 + round).cloned().collect();
            removes.retain(|r| adds.binary_search(r).is_err());
            for w in plan(&t, &adds, &removes).unwrap() {
                match w.1 {
                    Some(v) => t.insert(w.0, v).unwrap(),
                    None => t.remove(w.0).unwrap(),
                };
            }
            for a in adds {
                model.insert(a);
            }
            for r in &removes {
                model.remove(r);
            }
            let mut all = Vec::new();
            scan(&t, b"", &[0xFF; 16], |e| {
                all.push(e.to_vec());
                true
            })
            .unwrap();
            assert_eq!(all, model.iter().cloned().collect::<Vec<_>>());
            let mut some = Vec::new();
            scan(&t, b"k010000", b"k012000", |e| {
                some.push(e.to_vec());
                true
            })
            .unwrap();
            let expect: Vec<Vec<u8>> = model
                .range(b"k010000".to_vec()..=b"k012000".to_vec())
                .cloned()
                .collect();
            assert_eq!(some, expect);
            for (k, v) in t.iter().map(|kv| kv.unwrap()) {
                assert!(v.len() <= CHUNK_MAX + 64);
                assert_eq!(decode_chunk(&v).unwrap()[0], k.to_vec());
            }
        }
    }
}
