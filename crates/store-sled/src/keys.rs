//! Byte layouts of the keys (docs/format.md, "Trees" and "Elements"): the
//! `log` keys, the `meta` names, the index elements of the five index trees,
//! and the head record.

use chrono::DateTime;
use uuid::Uuid;

use claims_core::error::{Error, Result};
use claims_core::event::FollowUpKind;
use claims_core::record::Hash;
use claims_core::store::{Head, Role};
use claims_core::summary::{ClaimHeader, Fact, Filed, What};
use claims_core::time::Time;

/// The `log` key of the head record (seq 0, which no entry has).
pub(crate) const LOG_HEAD: [u8; 8] = [0; 8];

pub(crate) const META_FORMAT: &[u8] = b"format";
pub(crate) const META_HEAD: &[u8] = b"head";
pub(crate) const META_INDEXED: &[u8] = b"indexed";
/// `meta/tree`: the size of the Merkle tree the `tiles` tree holds (u64).
pub(crate) const META_TREE: &[u8] = b"tree";

/// `log` key: the seq, big-endian.
pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// `ids` element: event id (16 bytes) then seq (8, big-endian).
pub(crate) fn id_element(id: Uuid, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(id.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// `claims` key: claim id (16 bytes) then seq (8, big-endian).
pub(crate) fn claim_key(claim: Uuid, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(claim.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// `claims` element: [`claim_key`] then the role byte.
pub(crate) fn claim_element(claim: Uuid, seq: u64, role: Role) -> [u8; 25] {
    let mut k = [0u8; 25];
    k[..24].copy_from_slice(&claim_key(claim, seq));
    k[24] = role as u8;
    k
}

/// `stories` key: the slug's UTF-8, a 0 byte, then the claim id.
pub(crate) fn story_key(story: &str, claim: Uuid) -> Vec<u8> {
    let mut k = Vec::with_capacity(story.len() + 25);
    k.extend_from_slice(story.as_bytes());
    k.push(0);
    k.extend_from_slice(claim.as_bytes());
    k
}

/// `stories` element: [`story_key`] then the seq of the claim's assertion.
pub(crate) fn story_element(story: &str, claim: Uuid, seq: u64) -> Vec<u8> {
    let mut k = story_key(story, claim);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// `valid` key: seconds since the epoch with the sign bit flipped (so negative
/// times sort first), nanoseconds, then the seq; all big-endian.
pub(crate) fn valid_key(t: &Time, seq: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    let secs = (t.timestamp() as u64) ^ (1 << 63);
    k[..8].copy_from_slice(&secs.to_be_bytes());
    k[8..12].copy_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
    k[12..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn put_time(k: &mut Vec<u8>, t: &Time) {
    let secs = (t.timestamp() as u64) ^ (1 << 63);
    k.extend_from_slice(&secs.to_be_bytes());
    k.extend_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
}

fn get_time(b: &[u8]) -> Option<Time> {
    let secs = u64::from_be_bytes(b.get(..8)?.try_into().ok()?) ^ (1 << 63);
    let nanos = u32::from_be_bytes(b.get(8..12)?.try_into().ok()?);
    DateTime::from_timestamp(secs as i64, nanos)
}

/// The time of a `valid` element.
pub(crate) fn valid_element_time(e: &[u8]) -> Option<Time> {
    get_time(e)
}

/// `summary` element: the claim's assertion seq (8, big-endian), the fact's
/// seq (8), a tag byte, then per tag (docs/format.md, "The summary tree"):
/// 0 asserted: id 16, recorded µs 8, from 12, to 12;
/// 1 follow-up: kind 1, other party 1, id 16, recorded 8, from 12, to 12;
/// 2 superseding: id 16, recorded 8, from 12, to 12;
/// 3 void: target seq 8, recorded 8.
pub(crate) fn summary_element(claim_seq: u64, f: &Fact) -> Vec<u8> {
    let mut k = Vec::with_capacity(64);
    k.extend_from_slice(&claim_seq.to_be_bytes());
    k.extend_from_slice(&f.seq.to_be_bytes());
    let rec = f.recorded_at.timestamp_micros().to_be_bytes();
    let world = |k: &mut Vec<u8>, from: &Time, to: &Time| {
        k.extend_from_slice(f.id.as_bytes());
        k.extend_from_slice(&rec);
        put_time(k, from);
        put_time(k, to);
    };
    match &f.what {
        What::Asserted { from, to } => {
            k.push(0);
            world(&mut k, from, to);
        }
        What::FollowUp {
            kind,
            other_party,
            from,
            to,
        } => {
            k.push(1);
            k.push(kind.to_byte());
            k.push(u8::from(*other_party));
            world(&mut k, from, to);
        }
        What::Superseding { from, to } => {
            k.push(2);
            world(&mut k, from, to);
        }
        What::Void { target } => {
            k.push(3);
            k.extend_from_slice(&target.to_be_bytes());
            k.extend_from_slice(&rec);
        }
    }
    k
}

/// `summary` element of a claim's header: the claim's assertion seq twice
/// (8 + 8, big-endian), tag 4, the claim id (16), then the story and `by`
/// each as a varint length and UTF-8, then the text (the rest).
pub(crate) fn header_element(claim_seq: u64, h: &ClaimHeader) -> Vec<u8> {
    let mut k = Vec::with_capacity(64 + h.story.len() + h.by.len() + h.text.len());
    k.extend_from_slice(&claim_seq.to_be_bytes());
    k.extend_from_slice(&claim_seq.to_be_bytes());
    k.push(4);
    k.extend_from_slice(h.claim.as_bytes());
    for s in [&h.story, &h.by] {
        crate::packed::varint(&mut k, s.len() as u64);
        k.extend_from_slice(s.as_bytes());
    }
    k.extend_from_slice(h.text.as_bytes());
    k
}

fn decode_header(e: &[u8]) -> Option<(u64, ClaimHeader)> {
    let claim_seq = u64::from_be_bytes(e.get(..8)?.try_into().ok()?);
    let claim = Uuid::from_slice(e.get(17..33)?).ok()?;
    let mut at = 33;
    let next = |at: &mut usize| -> Option<String> {
        let n = usize::try_from(crate::packed::read_varint(e, at)?).ok()?;
        let end = at.checked_add(n)?;
        let s = std::str::from_utf8(e.get(*at..end)?).ok()?.to_string();
        *at = end;
        Some(s)
    };
    let story = next(&mut at)?;
    let by = next(&mut at)?;
    let text = std::str::from_utf8(&e[at..]).ok()?.to_string();
    Some((
        claim_seq,
        ClaimHeader {
            claim,
            story,
            by,
            text,
        },
    ))
}

/// Reads a summary tree element ([`summary_element`] or
/// [`header_element`]); `None` for one of the wrong shape.
pub(crate) fn decode_filed(e: &[u8]) -> Option<(u64, Filed)> {
    if *e.get(16)? == 4 {
        return decode_header(e).map(|(c, h)| (c, Filed::Header(h)));
    }
    decode_summary(e).map(|(c, f)| (c, Filed::Fact(f)))
}

/// Reads a [`summary_element`]; `None` for one of the wrong shape.
pub(crate) fn decode_summary(e: &[u8]) -> Option<(u64, Fact)> {
    let u64_of = |at: usize| -> Option<u64> {
        Some(u64::from_be_bytes(e.get(at..at + 8)?.try_into().ok()?))
    };
    let claim_seq = u64_of(0)?;
    let seq = u64_of(8)?;
    let tag = *e.get(16)?;
    let world = |at: usize| -> Option<(Uuid, Time, Time, Time)> {
        if e.len() != at + 48 {
            return None;
        }
        let id = Uuid::from_slice(&e[at..at + 16]).ok()?;
        let rec = DateTime::from_timestamp_micros(i64::from_be_bytes(
            e[at + 16..at + 24].try_into().ok()?,
        ))?;
        Some((id, rec, get_time(&e[at + 24..])?, get_time(&e[at + 36..])?))
    };
    let (id, recorded_at, what) = match tag {
        0 => {
            let (id, rec, from, to) = world(17)?;
            (id, rec, What::Asserted { from, to })
        }
        1 => {
            let kind = FollowUpKind::from_byte(*e.get(17)?)?;
            let other_party = match *e.get(18)? {
                0 => false,
                1 => true,
                _ => return None,
            };
            let (id, rec, from, to) = world(19)?;
            (
                id,
                rec,
                What::FollowUp {
                    kind,
                    other_party,
                    from,
                    to,
                },
            )
        }
        2 => {
            let (id, rec, from, to) = world(17)?;
            (id, rec, What::Superseding { from, to })
        }
        3 => {
            if e.len() != 33 {
                return None;
            }
            let target = u64_of(17)?;
            let rec = DateTime::from_timestamp_micros(u64_of(25)? as i64)?;
            (Uuid::nil(), rec, What::Void { target })
        }
        _ => return None,
    };
    Some((
        claim_seq,
        Fact {
            seq,
            id,
            recorded_at,
            what,
        },
    ))
}

/// The big-endian u64 at `at` of a stored key.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Result<u64> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::damaged("an index key of the ledger is damaged"))
}

/// The last 8 bytes of an index element of length `len`, as a seq.
pub(crate) fn tail_seq(e: &[u8], len: usize) -> Option<u64> {
    (e.len() == len).then(|| u64::from_be_bytes(e[len - 8..].try_into().expect("8 bytes")))
}

/// The seq that an element of the index tree `tree` (in
/// `SledStore::index_trees` order: ids, claims, stories, valid, summary) holds;
/// `None` for an element of the wrong shape.
pub(crate) fn element_seq(tree: usize, e: &[u8]) -> Option<u64> {
    match tree {
        0 => tail_seq(e, 24),
        1 if e.len() == 25 => Some(u64::from_be_bytes(e[16..24].try_into().ok()?)),
        2 if e.len() >= 25 => tail_seq(e, e.len()),
        3 => tail_seq(e, 20),
        4 if e.len() > 16 => Some(u64::from_be_bytes(e[8..16].try_into().ok()?)),
        _ => None,
    }
}

/// The 48 bytes of the head record: seq, hash, recorded_at (µs).
pub(crate) fn head_bytes(head: &Head) -> Vec<u8> {
    let mut v = Vec::with_capacity(48);
    v.extend_from_slice(&head.seq.to_be_bytes());
    v.extend_from_slice(&head.hash);
    let micros = head.recorded_at.map(|t| t.timestamp_micros()).unwrap_or(0);
    v.extend_from_slice(&micros.to_be_bytes());
    v
}

/// Reads a head record; `None` if it is not 48 bytes.
pub(crate) fn decode_head(v: &[u8]) -> Option<Head> {
    if v.len() != 48 {
        return None;
    }
    let seq = u64::from_be_bytes(v[0..8].try_into().expect("8 bytes"));
    let hash: Hash = v[8..40].try_into().expect("32 bytes");
    let micros = i64::from_be_bytes(v[40..48].try_into().expect("8 bytes"));
    Some(Head {
        seq,
        hash,
        recorded_at: DateTime::from_timestamp_micros(micros),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_keys_sort_by_time_then_seq() {
        let t = |s| claims_core::time::parse_rfc3339(s).unwrap();
        let a = valid_key(&t("1960-01-01T00:00:00Z"), 9);
        let b = valid_key(&t("2020-07-10T00:00:00Z"), 1);
        let c = valid_key(&t("2020-07-10T00:00:00.5Z"), 0);
        let d = valid_key(&t("2020-07-10T00:00:00.5Z"), 1);
        assert!(a < b && b < c && c < d);
    }

    #[test]
    fn claim_keys_group_by_claim_then_seq() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert!(claim_key(a, u64::MAX) < claim_key(b, 0));
        assert!(claim_key(a, 1) < claim_key(a, 256));
    }

    #[test]
    fn story_keys_do_not_mix_slugs_that_prefix_each_other() {
        let c = Uuid::max();
        assert!(story_key("ab", c) < story_key("ab-c", Uuid::nil()));
    }
}
