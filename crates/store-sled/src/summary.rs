//! The read side of the summary tree and of `verify`'s walk over every
//! stored index element: streaming, one chunk in memory at a time.

use uuid::Uuid;

use claims_core::error::{Error, Result};
use claims_core::store::{IndexEntry, Role};
use claims_core::summary::{Fact, Filed};

use crate::keys::{decode_filed, element_seq, tail_seq, valid_element_time};
use crate::packed;
use crate::{from_sled, SledStore};

fn damaged(what: &str) -> Error {
    Error::damaged(format!("a {what} index entry is damaged"))
}

/// Walks a packed tree's elements from the chunk holding `lo`, one chunk at
/// a time, handing each element to `decode`; elements below `lo` or past
/// the head are skipped.
pub(crate) struct Elements<T> {
    chunks: sled::Iter,
    lo: Vec<u8>,
    tree: usize,
    head: u64,
    decode: fn(&[u8]) -> Option<T>,
    what: &'static str,
    buf: std::vec::IntoIter<Result<T>>,
    done: bool,
}

impl<T> Elements<T> {
    pub(crate) fn new(
        tree: &sled::Tree,
        index: usize,
        lo: Vec<u8>,
        head: u64,
        decode: fn(&[u8]) -> Option<T>,
        what: &'static str,
    ) -> Result<Self> {
        let start = packed::chunk_start(tree, &lo)?;
        Ok(Elements {
            chunks: tree.range(start..),
            lo,
            tree: index,
            head,
            decode,
            what,
            buf: Vec::new().into_iter(),
            done: false,
        })
    }
}

impl<T> Iterator for Elements<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(x) = self.buf.next() {
                return Some(x);
            }
            if self.done {
                return None;
            }
            let v = match self.chunks.next() {
                None => {
                    self.done = true;
                    continue;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(from_sled(e)));
                }
                Some(Ok((_, v))) => v,
            };
            let mut out = Vec::new();
            let (lo, head, tree, decode, what) =
                (&self.lo, self.head, self.tree, self.decode, self.what);
            let walked = packed::walk_chunk(&v, |e| {
                if e < lo.as_slice() {
                    return true;
                }
                match element_seq(tree, e) {
                    Some(seq) if seq > head => return true,
                    Some(_) => {}
                    None => {
                        out.push(Err(damaged(what)));
                        return false;
                    }
                }
                out.push(decode(e).ok_or_else(|| damaged(what)));
                true
            });
            if let Err(e) = walked {
                out.push(Err(e));
            }
            if out.iter().any(|x| x.is_err()) {
                self.done = true;
            }
            self.buf = out.into_iter();
        }
    }
}

/// Decodes one stored element of an index tree.
type Decode = fn(&[u8]) -> Option<IndexEntry>;

fn summary_filed(e: &[u8]) -> Option<(u64, Filed)> {
    decode_filed(e)
}

impl SledStore {
    /// [`claims_core::Store::summaries`].
    pub(crate) fn summaries_from(
        &self,
        from_claim_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, Filed)>> + '_> {
        let lo = from_claim_seq.to_be_bytes().to_vec();
        match Elements::new(&self.summary, 4, lo, self.visible, summary_filed, "summary") {
            Ok(it) => Box::new(it),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// [`claims_core::Store::summary`].
    pub(crate) fn summary_of(&self, claim_seq: u64) -> Result<Vec<Fact>> {
        let lo = claim_seq.to_be_bytes();
        let mut hi = lo.to_vec();
        hi.extend_from_slice(&[0xFF; 64]);
        let head = self.visible;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(&self.summary, &lo, &hi, |e| match decode_filed(e) {
            Some((c, Filed::Fact(f))) if c == claim_seq => {
                if f.seq <= head {
                    out.push(f);
                }
                true
            }
            Some((c, Filed::Header(_))) if c == claim_seq => true,
            _ => {
                bad = true;
                false
            }
        })?;
        if bad {
            return Err(damaged("summary"));
        }
        Ok(out)
    }

    /// [`claims_core::Store::stored_index`]: every element of the five
    /// index trees, decoded.
    pub(crate) fn all_index_entries(&self) -> Box<dyn Iterator<Item = Result<IndexEntry>> + '_> {
        let trees = self.index_trees();
        let decoders: [(Decode, &'static str); 5] = [
            (id_entry, "event id"),
            (claim_entry, "claim"),
            (story_entry, "story"),
            (valid_entry, "valid-time"),
            (summary_entry, "summary"),
        ];
        let mut parts: Vec<Box<dyn Iterator<Item = Result<IndexEntry>> + '_>> = Vec::new();
        for (i, (tree, (decode, what))) in trees.into_iter().zip(decoders).enumerate() {
            match Elements::new(tree, i, Vec::new(), u64::MAX, decode, what) {
                // Every element, past the head too: recovery removes those,
                // so one left over is a disagreement.
                Ok(it) => parts.push(Box::new(it)),
                Err(e) => parts.push(Box::new(std::iter::once(Err(e)))),
            }
        }
        Box::new(parts.into_iter().flatten())
    }
}

fn id_entry(e: &[u8]) -> Option<IndexEntry> {
    let seq = tail_seq(e, 24)?;
    Some(IndexEntry::EventId(Uuid::from_slice(&e[..16]).ok()?, seq))
}

fn claim_entry(e: &[u8]) -> Option<IndexEntry> {
    if e.len() != 25 {
        return None;
    }
    let c = Uuid::from_slice(&e[..16]).ok()?;
    let seq = u64::from_be_bytes(e[16..24].try_into().ok()?);
    Some(IndexEntry::Claim(c, seq, Role::from_byte(e[24])?))
}

fn story_entry(e: &[u8]) -> Option<IndexEntry> {
    let n = e.len().checked_sub(24)?;
    if n == 0 || e[n - 1] != 0 {
        return None;
    }
    let slug = std::str::from_utf8(&e[..n - 1]).ok()?;
    let c = Uuid::from_slice(&e[n..n + 16]).ok()?;
    let seq = u64::from_be_bytes(e[n + 16..].try_into().ok()?);
    Some(IndexEntry::Story(slug.to_string(), c, seq))
}

fn valid_entry(e: &[u8]) -> Option<IndexEntry> {
    let seq = tail_seq(e, 20)?;
    Some(IndexEntry::ValidTo(valid_element_time(e)?, seq))
}

fn summary_entry(e: &[u8]) -> Option<IndexEntry> {
    Some(match decode_filed(e)? {
        (c, Filed::Fact(f)) => IndexEntry::Summary(c, f),
        (c, Filed::Header(h)) => IndexEntry::Header(c, h),
    })
}
