//! The shortest id prefixes that name claims alone in a ledger, for tables
//! that show ids people type back (`claims show 1daf5e10`). A prefix shown
//! this way resolves with [`Ledger::resolve_claim`].

use std::collections::HashMap;

use uuid::Uuid;

use crate::error::Result;
use crate::ledger::Ledger;
use crate::store::{IdRange, Store};

/// The fewest hex digits a shown prefix has.
pub const MIN_SHOWN_DIGITS: usize = 8;

/// Above this many ids, the whole claim index is read once instead of one
/// range read per id.
const PER_ID_LOOKUPS: usize = 2_000;

fn lcp_digits(a: Uuid, b: Uuid) -> usize {
    ((a.as_u128() ^ b.as_u128()).leading_zeros() / 4) as usize
}

fn prefix_of(id: Uuid, digits: usize) -> IdRange {
    let bits = 4 * digits as u32;
    let keep = if bits >= 128 {
        u128::MAX
    } else {
        !(u128::MAX >> bits)
    };
    let lo = id.as_u128() & keep;
    IdRange {
        lo: Uuid::from_u128(lo),
        hi: Uuid::from_u128(lo | !keep),
    }
}

impl<S: Store> Ledger<S> {
    /// For each claim in `ids`, how many hex digits (at least
    /// [`MIN_SHOWN_DIGITS`]) name it alone among the ledger's claims. Costs one
    /// index range read per id for a few ids, one pass over the claim index
    /// for many; never a comparison of every id with every other.
    pub fn short_claim_digits(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, usize>> {
        let mut out = HashMap::with_capacity(ids.len());
        if ids.len() <= PER_ID_LOOKUPS {
            for &id in ids {
                let mut digits = MIN_SHOWN_DIGITS;
                while digits < 32 {
                    let near = self.store().claim_ids_in(prefix_of(id, digits), 2)?;
                    if near.iter().all(|o| *o == id) {
                        break;
                    }
                    let other = near.into_iter().find(|o| *o != id).expect("two");
                    digits = digits.max(lcp_digits(id, other) + 1);
                }
                out.insert(id, digits.min(32));
            }
            return Ok(out);
        }
        let all = self.short_ids()?;
        for &id in ids {
            out.insert(id, all.digits(id));
        }
        Ok(out)
    }

    /// Every claim id of the ledger, sorted, to answer
    /// [`ShortIds::digits`] for any number of ids (a table of the whole
    /// state): 16 bytes a claim.
    pub fn short_ids(&self) -> Result<ShortIds> {
        let all = IdRange {
            lo: Uuid::nil(),
            hi: Uuid::max(),
        };
        let mut known: Vec<u128> = self
            .store()
            .claim_ids_in(all, usize::MAX)?
            .into_iter()
            .map(|u| u.as_u128())
            .collect();
        known.sort_unstable();
        // Where each value of the top BUCKET_BITS bits starts: a look-up is
        // then a search of a few ids (random ids spread evenly).
        let mut starts = vec![0u32; (1 << BUCKET_BITS) + 1];
        for k in &known {
            starts[(k >> (128 - BUCKET_BITS)) as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        Ok(ShortIds { known, starts })
    }
}

/// The ledger's claim ids, sorted, for shortest unique prefixes.
#[derive(Debug, Clone)]
pub struct ShortIds {
    known: Vec<u128>,
    starts: Vec<u32>,
}

/// The bits of an id [`ShortIds`] buckets by (4 MiB of bucket starts).
const BUCKET_BITS: u32 = 20;

impl ShortIds {
    /// How many hex digits (at least [`MIN_SHOWN_DIGITS`]) name `id` alone
    /// among the ledger's claims.
    pub fn digits(&self, id: Uuid) -> usize {
        let known = &self.known;
        let v = id.as_u128();
        let b = (v >> (128 - BUCKET_BITS)) as usize;
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let at = lo + known[lo..hi].partition_point(|k| *k < v);
        let mut digits = MIN_SHOWN_DIGITS;
        let after = if known.get(at) == Some(&v) {
            at + 1
        } else {
            at
        };
        let lcp = |o: u128| ((v ^ o).leading_zeros() / 4) as usize;
        if let Some(next) = known.get(after) {
            digits = digits.max(lcp(*next) + 1);
        }
        if at > 0 {
            digits = digits.max(lcp(known[at - 1]) + 1);
        }
        digits.min(32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use crate::store::conformance::{asserted, t};
    use crate::store::MemStore;

    fn ledger_of(claims: &[u128]) -> Ledger<MemStore> {
        let mut store = MemStore::new();
        let events = claims
            .iter()
            .enumerate()
            .map(|(i, c)| asserted(i as u128 + 1, *c, "s", "2020-07-10T10:00:00Z", None))
            .collect();
        let records = Record::seal_all(events, 1, t("2026-01-01T00:00:00Z"), &[0; 32]);
        store.commit(&store.head(), &records).unwrap();
        Ledger::new(store)
    }

    #[test]
    fn prefixes_are_as_short_as_the_ledger_allows_and_at_least_eight() {
        let a = 0x1daf5e10_0000_4000_8000_000000000001u128;
        let b = 0x1daf5e10_9000_4000_8000_000000000001u128; // shares 8 digits
        let c = 0x1daf5e10_9100_4000_8000_000000000001u128; // shares 9 with b
        let d = 0x77000000_0000_4000_8000_000000000001u128;
        let l = ledger_of(&[a, b, c, d]);
        let ids: Vec<Uuid> = [a, b, c, d].into_iter().map(Uuid::from_u128).collect();
        let few = l.short_claim_digits(&ids).unwrap();
        assert_eq!(few[&ids[0]], 9);
        assert_eq!(few[&ids[1]], 10);
        assert_eq!(few[&ids[2]], 10);
        assert_eq!(few[&ids[3]], 8);
        // Unique in the ledger, not only among the ids shown: `d` alone.
        let alone = l.short_claim_digits(&ids[1..2]).unwrap();
        assert_eq!(alone[&ids[1]], 10);
    }

    #[test]
    fn both_ways_of_counting_agree() {
        // Many ids: the pass over the whole index must give what the per-id
        // look-ups give.
        let mut x = 0x9e3779b97f4a7c15f39cc0605cedc834u128;
        let mut claims = Vec::new();
        for i in 0..2_500u128 {
            x = x.wrapping_mul(0x2545f4914f6cdd1d).wrapping_add(i);
            // Crowd some ids on one 8-digit prefix.
            let c = if i % 50 == 0 {
                (x & !(u128::MAX << 96)) | (0xabcdef01u128 << 96)
            } else {
                x
            };
            claims.push(c);
        }
        claims.sort_unstable();
        claims.dedup();
        let l = ledger_of(&claims);
        let ids: Vec<Uuid> = claims.iter().map(|c| Uuid::from_u128(*c)).collect();
        let many = l.short_claim_digits(&ids).unwrap();
        for chunk in ids.chunks(500) {
            let few = l.short_claim_digits(chunk).unwrap();
            for id in chunk {
                assert_eq!(few[id], many[id], "{id}");
            }
        }
        assert!(many.values().any(|d| *d > 8));
    }
}
