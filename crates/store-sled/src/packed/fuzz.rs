//! Fuzzing the packed decoders with arbitrary and with mutated bytes: log
//! blocks, index chunks and varints never panic, refuse what they cannot
//! read as `Damaged`, and never ask for more memory than the bytes justify
//! (measured by the test binary's allocator, `alloc_probe`).
//! `PROPTEST_CASES=N` runs more cases.

use proptest::prelude::*;

use super::*;
use crate::alloc_probe::largest_allocation;

/// The most one allocation may take while a value of `len` bytes is walked:
/// an LZ4 body can expand 255 times; anything else is bounded by the input.
fn justified(len: usize) -> usize {
    len * LZ4_MAX_RATIO + 1024
}

/// 512 cases a property, or `PROPTEST_CASES`.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

/// A change to valid bytes: flip a byte, cut, extend, or splice.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Extend(Vec<u8>),
    Splice(usize, Vec<u8>),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Splice(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn mutate(mut v: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let n = v.len().max(1);
        match m {
            Mutation::Flip(i, x) => {
                if !v.is_empty() {
                    let i = i % n;
                    v[i] ^= x;
                }
            }
            Mutation::Truncate(i) => v.truncate(i % n),
            Mutation::Extend(b) => v.extend_from_slice(b),
            Mutation::Splice(i, b) => {
                let i = i % (v.len() + 1);
                v.splice(i..i, b.iter().copied());
            }
            Mutation::Remove(i) => {
                if !v.is_empty() {
                    v.remove(i % n);
                }
            }
        }
    }
    v
}

fn block() -> impl Strategy<Value = (u64, Block)> {
    (
        0..u64::MAX / 2,
        proptest::collection::vec(
            (1..1000u64, proptest::collection::vec(any::<u8>(), 0..300)),
            0..40,
        ),
        any::<bool>(),
    )
        .prop_map(|(key, raw, compressible)| {
            let mut seq = key;
            let entries = raw
                .into_iter()
                .map(|(gap, bytes)| {
                    seq += gap;
                    // Repeated bytes make the writer choose LZ4.
                    let bytes = if compressible {
                        bytes.iter().map(|b| b & 3).collect()
                    } else {
                        bytes
                    };
                    (seq, bytes)
                })
                .collect();
            (key, Block { entries })
        })
}

fn sorted_elements() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::btree_set(proptest::collection::vec(0..4u8, 0..30), 0..60)
        .prop_map(|s| s.into_iter().collect())
}

/// Walks a value as every reader does, keeping nothing, and says whether
/// it read; checks the error kind on the way.
fn walk_block(key: u64, v: &[u8]) -> bool {
    let mut last = None;
    match BlockView::parse(key, v, |seq, _| {
        assert!(last.is_none_or(|l| seq > l), "seqs must increase");
        last = Some(seq);
        true
    }) {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(e.kind(), claims_core::ErrorKind::Damaged, "{e:?}");
            false
        }
    }
}

fn walk(v: &[u8]) -> bool {
    let mut prev: Option<Vec<u8>> = None;
    match walk_chunk(v, |e| {
        assert!(
            prev.as_deref().is_none_or(|p| p < e),
            "elements must increase"
        );
        prev = Some(e.to_vec());
        true
    }) {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(e.kind(), claims_core::ErrorKind::Damaged, "{e:?}");
            false
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_never_panic_a_block_reader(
        key in any::<u64>(),
        tail in proptest::collection::vec(any::<u8>(), 0..400),
        kind in 0..4u8,
    ) {
        // As often as not, a block tag and a compression byte, so that the
        // bytes reach the payload parser and the LZ4 decoder.
        let mut v = match kind {
            0 => vec![],
            1 => vec![BLOCK_TAG, PLAIN],
            _ => vec![BLOCK_TAG, LZ4],
        };
        v.extend_from_slice(&tail);
        let (_, largest) = largest_allocation(|| walk_block(key, &v));
        prop_assert!(largest <= justified(v.len()), "{} bytes for {}", largest, v.len());
        let _ = Block::decode(key, &v);
    }

    #[test]
    fn mutated_blocks_are_read_exactly_or_refused_as_damaged(
        (key, b) in block(),
        ms in proptest::collection::vec(mutation(), 0..4),
    ) {
        let good = b.encode(key);
        prop_assert_eq!(&Block::decode(key, &good).unwrap().entries, &b.entries);
        let v = mutate(good, &ms);
        let (_, largest) = largest_allocation(|| walk_block(key, &v));
        prop_assert!(largest <= justified(v.len()), "{} bytes for {}", largest, v.len());
        if let Ok(d) = Block::decode(key, &v) {
            // Whatever reads must re-encode to a value that reads the same.
            let again = d.encode(key);
            prop_assert_eq!(Block::decode(key, &again).unwrap().entries, d.entries);
        }
    }

    #[test]
    fn a_block_claiming_any_size_allocates_no_more_than_its_bytes_justify(
        size in any::<u32>(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut v = vec![BLOCK_TAG, LZ4];
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(&body);
        let (_, largest) = largest_allocation(|| walk_block(1, &v));
        prop_assert!(largest <= justified(v.len()), "{} bytes for {}", largest, v.len());
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_chunk_reader(
        v in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let (_, largest) = largest_allocation(|| walk(&v));
        prop_assert!(largest <= justified(v.len()), "{} bytes for {}", largest, v.len());
        let _ = decode_chunk(&v);
    }

    #[test]
    fn mutated_chunks_are_read_exactly_or_refused_as_damaged(
        elems in sorted_elements(),
        ms in proptest::collection::vec(mutation(), 0..4),
    ) {
        let good = encode_chunk(&elems);
        prop_assert_eq!(&decode_chunk(&good).unwrap(), &elems);
        let v = mutate(good, &ms);
        let (_, largest) = largest_allocation(|| walk(&v));
        prop_assert!(largest <= justified(v.len()), "{} bytes for {}", largest, v.len());
        if let Ok(d) = decode_chunk(&v) {
            prop_assert!(d.windows(2).all(|w| w[0] < w[1]));
            prop_assert_eq!(decode_chunk(&encode_chunk(&d)).unwrap(), d);
        }
    }

    #[test]
    fn varints_round_trip_and_arbitrary_bytes_never_panic(
        x in any::<u64>(),
        junk in proptest::collection::vec(any::<u8>(), 0..16),
        at in 0..20usize,
    ) {
        let mut v = Vec::new();
        varint(&mut v, x);
        prop_assert!(v.len() <= 10);
        let mut pos = 0;
        prop_assert_eq!(read_varint(&v, &mut pos), Some(x));
        prop_assert_eq!(pos, v.len());
        // Cut short, it is refused.
        let mut pos = 0;
        prop_assert_eq!(read_varint(&v[..v.len() - 1], &mut pos), None);
        // Anywhere in arbitrary bytes (even past their end), it never panics
        // and never reads past the end.
        let mut pos = at;
        if read_varint(&junk, &mut pos).is_some() {
            prop_assert!(pos <= junk.len());
        }
    }
}

#[test]
fn a_varint_longer_than_64_bits_is_refused() {
    // Ten continuation bytes, and a tenth byte with more than the top bit.
    let mut pos = 0;
    assert_eq!(read_varint(&[0x80; 11], &mut pos), None);
    let mut pos = 0;
    let mut v = vec![0xFF; 9];
    v.push(0x7F);
    assert_eq!(read_varint(&v, &mut pos), None);
    let mut pos = 0;
    let mut v = vec![0xFF; 9];
    v.push(0x01);
    assert_eq!(read_varint(&v, &mut pos), Some(u64::MAX));
}
