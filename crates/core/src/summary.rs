//! Claim summaries: what the status rule needs of each entry touching a claim
//! (its kind, valid interval, recorded time, seq, and whether a
//! corroboration comes from another party), without the entry's text.
//!
//! A store keeps the summary of every claim as derived data, keyed by the
//! seq of the claim's assertion ([`crate::store::IndexEntry::Summary`]), so
//! that the whole ledger's state reads summaries in assertion order instead
//! of decoding every record. [`crate::ClaimHistory`] folds through the same
//! functions, so the two cannot disagree: every status question is answered
//! here, once.

use std::collections::HashSet;

use uuid::Uuid;

use crate::event::{Body, FollowUpKind};
use crate::projection::{same_party, Status, View};
use crate::record::Record;
use crate::time::Time;

/// The longest claim header kept in a summary (story, `by` and text
/// together, in bytes); a longer claim's is read from its assertion.
pub const HEADER_MAX: usize = 2048;

/// What a state or diff prints of a claim besides its status: kept in the
/// summary beside the facts, so that the whole ledger's state reads no log
/// record for a claim without pending events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHeader {
    /// The claim.
    pub claim: Uuid,
    /// Its story.
    pub story: String,
    /// Who made it.
    pub by: String,
    /// The proposition.
    pub text: String,
}

impl ClaimHeader {
    /// The header of an `asserted` record.
    pub fn of(record: &Record) -> Option<ClaimHeader> {
        match &record.event.body {
            Body::Asserted(a) => Some(ClaimHeader {
                claim: a.claim,
                story: a.story.clone(),
                by: a.by.clone(),
                text: a.text.clone(),
            }),
            _ => None,
        }
    }

    /// Whether it is short enough to keep in a summary ([`HEADER_MAX`]).
    pub fn fits(&self) -> bool {
        self.story.len() + self.by.len() + self.text.len() <= HEADER_MAX
    }
}

/// The `by`s of claims, each kept once and named by a number (a bulk append
/// or `verify` remembers every claim's party in 4 bytes).
#[derive(Debug, Default)]
pub(crate) struct Parties {
    names: Vec<String>,
    ids: std::collections::HashMap<String, u32>,
}

impl Parties {
    /// The number of `by`, given it if it is new.
    pub(crate) fn intern(&mut self, by: &str) -> u32 {
        if let Some(p) = self.ids.get(by) {
            return *p;
        }
        let p = self.names.len() as u32;
        self.names.push(by.to_string());
        self.ids.insert(by.to_string(), p);
        p
    }

    /// The `by` numbered `p`.
    pub(crate) fn name(&self, p: u32) -> &str {
        &self.names[p as usize]
    }
}

/// One item filed in a claim's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filed {
    /// An entry touching the claim.
    Fact(Fact),
    /// The claim's header (absent for a long one).
    Header(ClaimHeader),
}

/// One entry touching a claim, as the status rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    /// The entry's seq.
    pub seq: u64,
    /// The entry's event id (nil for a void, which no status names).
    pub id: Uuid,
    /// When the ledger learned it.
    pub recorded_at: Time,
    /// What it is to the claim.
    pub what: What,
}

/// What an entry is to the claim it is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// The claim's own `asserted`.
    Asserted {
        /// `valid.from`
        from: Time,
        /// `valid.to`
        to: Time,
    },
    /// A follow-up on the claim.
    FollowUp {
        /// Which one.
        kind: FollowUpKind,
        /// Whether its `by` differs from the claim's (SPEC: only another
        /// party's corroboration corroborates).
        other_party: bool,
        /// `valid.from`
        from: Time,
        /// `valid.to`
        to: Time,
    },
    /// Another claim's `asserted` naming this one in `supersedes`.
    Superseding {
        /// `valid.from`
        from: Time,
        /// `valid.to`
        to: Time,
    },
    /// A `voided` of the entry at `target` (an entry of this summary).
    Void {
        /// The seq of the voided entry.
        target: u64,
    },
}

impl Fact {
    /// The fact's canonical bytes (`verify`'s digests; PostgreSQL's `fact`
    /// column, docs/format.md), every integer big-endian:
    ///
    /// ```text
    /// fact = seq (u64) ‖ event id (16 B) ‖ recorded_at ‖ what
    /// time = seconds (i64) ‖ nanoseconds (u32)
    /// what = 0 ‖ from ‖ to                                   asserted
    ///      | 1 ‖ kind (1 B) ‖ other_party (1 B) ‖ from ‖ to   follow-up
    ///      | 2 ‖ from ‖ to                                   superseding
    ///      | 3 ‖ target seq (u64)                            void
    /// ```
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        fn time(out: &mut Vec<u8>, t: &Time) {
            out.extend_from_slice(&t.timestamp().to_be_bytes());
            out.extend_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
        }
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
        time(out, &self.recorded_at);
        match self.what {
            What::Asserted { from, to } => {
                out.push(0);
                time(out, &from);
                time(out, &to);
            }
            What::FollowUp {
                kind,
                other_party,
                from,
                to,
            } => {
                out.push(1);
                out.push(kind.to_byte());
                out.push(u8::from(other_party));
                time(out, &from);
                time(out, &to);
            }
            What::Superseding { from, to } => {
                out.push(2);
                time(out, &from);
                time(out, &to);
            }
            What::Void { target } => {
                out.push(3);
                out.extend_from_slice(&target.to_be_bytes());
            }
        }
    }

    /// Reads [`Fact::encode_into`]'s bytes back, exactly: `None` for bytes
    /// that are short, long, or hold an unknown tag or kind.
    pub fn decode(bytes: &[u8]) -> Option<Fact> {
        struct Reader<'a>(&'a [u8]);
        impl Reader<'_> {
            fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
                let (a, b) = self.0.split_first_chunk::<N>()?;
                self.0 = b;
                Some(*a)
            }
            fn u64(&mut self) -> Option<u64> {
                self.take().map(u64::from_be_bytes)
            }
            fn time(&mut self) -> Option<Time> {
                let s = i64::from_be_bytes(self.take()?);
                let n = u32::from_be_bytes(self.take()?);
                Time::from_timestamp(s, n)
            }
        }
        let mut r = Reader(bytes);
        let seq = r.u64()?;
        let id = Uuid::from_bytes(r.take()?);
        let recorded_at = r.time()?;
        let what = match r.take::<1>()?[0] {
            0 => What::Asserted {
                from: r.time()?,
                to: r.time()?,
            },
            1 => {
                let kind = FollowUpKind::from_byte(r.take::<1>()?[0])?;
                let other_party = match r.take::<1>()?[0] {
                    0 => false,
                    1 => true,
                    _ => return None,
                };
                What::FollowUp {
                    kind,
                    other_party,
                    from: r.time()?,
                    to: r.time()?,
                }
            }
            2 => What::Superseding {
                from: r.time()?,
                to: r.time()?,
            },
            3 => What::Void { target: r.u64()? },
            _ => return None,
        };
        r.0.is_empty().then_some(Fact {
            seq,
            id,
            recorded_at,
            what,
        })
    }

    /// The valid interval, for a world event.
    pub fn valid(&self) -> Option<(Time, Time)> {
        match self.what {
            What::Asserted { from, to }
            | What::FollowUp { from, to, .. }
            | What::Superseding { from, to } => Some((from, to)),
            What::Void { .. } => None,
        }
    }

    /// Whether the entry is the claim's own (its assertion or a follow-up),
    /// as counted in `events` and listed as pending.
    pub fn is_own(&self) -> bool {
        matches!(self.what, What::Asserted { .. } | What::FollowUp { .. })
    }

    /// The status the entry gives the claim when it counts.
    pub fn gives(&self) -> Option<Status> {
        match self.what {
            What::Asserted { .. } => Some(Status::Reported),
            What::Superseding { .. } => Some(Status::Superseded),
            What::FollowUp {
                kind, other_party, ..
            } => match kind {
                FollowUpKind::Corroborated if !other_party => None,
                FollowUpKind::Corroborated => Some(Status::Corroborated),
                FollowUpKind::Disputed => Some(Status::Disputed),
                FollowUpKind::Refuted => Some(Status::Refuted),
                FollowUpKind::Retracted => Some(Status::Retracted),
            },
            What::Void { .. } => None,
        }
    }

    /// The fact of `record` filed under `claim`, whose assertion is at
    /// `claim_seq` and made by `claim_by`; `target_seq` finds the seq of a
    /// void's target. `None` if the record does not touch the claim.
    pub fn of(
        record: &Record,
        claim: Uuid,
        claim_by: &str,
        target_seq: impl FnOnce(Uuid) -> Option<u64>,
    ) -> Option<Fact> {
        let what = match &record.event.body {
            Body::Asserted(a) if a.claim == claim => What::Asserted {
                from: a.valid.from,
                to: a.valid.to,
            },
            Body::Asserted(a) if a.supersedes == Some(claim) => What::Superseding {
                from: a.valid.from,
                to: a.valid.to,
            },
            Body::Asserted(_) => return None,
            Body::FollowedUp(f) if f.claim == claim => What::FollowUp {
                kind: f.kind,
                other_party: !same_party(&f.by, claim_by),
                from: f.valid.from,
                to: f.valid.to,
            },
            Body::FollowedUp(_) => return None,
            Body::Voided(v) => What::Void {
                target: target_seq(v.target)?,
            },
        };
        let id = match what {
            What::Void { .. } => Uuid::nil(),
            _ => record.event.id,
        };
        Some(Fact {
            seq: record.seq,
            id,
            recorded_at: record.recorded_at,
            what,
        })
    }
}

/// How one fact stands at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactStanding {
    /// Not recorded by R.
    Unknown,
    /// Voided by R.
    Voided,
    /// Counts at T.
    Counts,
    /// Possibly happened by T.
    Pending,
    /// Had not happened by T.
    Later,
    /// A void (it has no valid time).
    Void,
}

/// Where a claim stands at a point, from its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its assertion does not count and did not possibly happen by T.
    Absent,
    /// Its assertion possibly, but not certainly, happened by T.
    Pending,
    /// Its assertion counts.
    Present(Verdict),
}

/// A present claim's status, from its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The highest status that applies.
    pub status: Status,
    /// The valid time (`to`) of the entry that gave it (the earliest).
    pub since: Time,
    /// The event id of that entry.
    pub because: Uuid,
    /// How many of the claim's own events count (its assertion included).
    pub events: usize,
    /// The seqs of the claim's own events that possibly happened by T, ascending.
    pub pending: Vec<u64>,
}

fn knows(view: &View, f: &Fact) -> bool {
    f.recorded_at <= view.as_of && f.seq <= view.upto_seq
}

/// The seqs voided as known at `view`.
pub fn voided(facts: &[Fact], view: &View) -> HashSet<u64> {
    facts
        .iter()
        .filter(|f| knows(view, f))
        .filter_map(|f| match f.what {
            What::Void { target } => Some(target),
            _ => None,
        })
        .collect()
}

/// How `f` stands at `view`, given the seqs voided then.
pub fn standing(f: &Fact, view: &View, voided: &HashSet<u64>) -> FactStanding {
    if !knows(view, f) {
        return FactStanding::Unknown;
    }
    if voided.contains(&f.seq) {
        return FactStanding::Voided;
    }
    match f.valid() {
        None => FactStanding::Void,
        Some((_, to)) if to <= view.at => FactStanding::Counts,
        Some((from, _)) if from <= view.at => FactStanding::Pending,
        Some(_) => FactStanding::Later,
    }
}

/// The claim's standing at `view` from its facts (in any order).
pub fn outcome(facts: &[Fact], view: &View) -> Outcome {
    let Some(asserted) = facts
        .iter()
        .find(|f| matches!(f.what, What::Asserted { .. }))
    else {
        return Outcome::Absent;
    };
    // Few claims have a void: skip building the set for the rest.
    let voided = if facts.iter().any(|f| matches!(f.what, What::Void { .. })) {
        voided(facts, view)
    } else {
        HashSet::new()
    };
    match standing(asserted, view, &voided) {
        FactStanding::Counts => {}
        FactStanding::Pending => return Outcome::Pending,
        _ => return Outcome::Absent,
    }
    let (_, to) = asserted.valid().expect("world event");
    let mut best = (Status::Reported, to, asserted.id);
    let mut events = 1;
    let mut pending = Vec::new();
    for f in facts {
        if f.seq == asserted.seq {
            continue;
        }
        match standing(f, view, &voided) {
            FactStanding::Counts => {
                if f.is_own() {
                    events += 1;
                }
                if let Some(s) = f.gives() {
                    let (_, to) = f.valid().expect("world event");
                    if s > best.0 || (s == best.0 && to < best.1) {
                        best = (s, to, f.id);
                    }
                }
            }
            FactStanding::Pending if f.is_own() => pending.push(f.seq),
            _ => {}
        }
    }
    pending.sort_unstable();
    Outcome::Present(Verdict {
        status: best.0,
        since: best.1,
        because: best.2,
        events,
        pending,
    })
}

/// The status at `view`: `None` when the claim is absent or pending.
pub fn status(facts: &[Fact], view: &View) -> Option<Status> {
    match outcome(facts, view) {
        Outcome::Present(v) => Some(v.status),
        _ => None,
    }
}

/// One status change, naming the entry that made it by seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The entry that made the change.
    pub seq: u64,
    /// The status before (`None`: absent).
    pub from: Option<Status>,
    /// The status after (`None`: absent).
    pub to: Option<Status>,
}

/// Every status change over valid time, as known at `as_of`: for each
/// distinct `valid.to` among the counting entries, the status just after it,
/// reported where it differs from the one before. Each change names the entry
/// at that time that gave it (the highest-giving, the earliest seq of those).
pub fn changes_over_valid_time(facts: &[Fact], as_of: Time) -> Vec<Change> {
    let view_end = View::new(Time::MAX_UTC, as_of);
    let voided = voided(facts, &view_end);
    let mut candidates: Vec<&Fact> = facts
        .iter()
        .filter(|f| f.valid().is_some())
        .filter(|f| standing(f, &view_end, &voided) == FactStanding::Counts)
        .collect();
    candidates.sort_by_key(|f| (f.valid().expect("world").1, f.seq));
    let mut out = Vec::new();
    let mut before: Option<Status> = None;
    let mut i = 0;
    while i < candidates.len() {
        let t = candidates[i].valid().expect("world").1;
        let mut j = i;
        while j < candidates.len() && candidates[j].valid().expect("world").1 == t {
            j += 1;
        }
        let after = status(facts, &View::new(t, as_of));
        if after != before {
            let giver = candidates[i..j]
                .iter()
                .max_by_key(|f| (f.gives(), std::cmp::Reverse(f.seq)))
                .expect("non-empty group");
            out.push(Change {
                seq: giver.seq,
                from: before,
                to: after,
            });
            before = after;
        }
        i = j;
    }
    out
}

/// Every status change in the order the ledger learned it (voids included):
/// the status at valid time `at`, known up to each entry.
pub fn changes_over_recorded_time(facts: &[Fact], at: Time, as_of: Time) -> Vec<Change> {
    let mut order: Vec<&Fact> = facts.iter().collect();
    order.sort_by_key(|f| f.seq);
    let mut out = Vec::new();
    let mut before: Option<Status> = None;
    for f in order {
        if f.recorded_at > as_of {
            break;
        }
        let view = View {
            at,
            as_of,
            upto_seq: f.seq,
        };
        let after = status(facts, &view);
        if after != before {
            out.push(Change {
                seq: f.seq,
                from: before,
                to: after,
            });
            before = after;
        }
    }
    out
}

#[cfg(test)]
mod fact_bytes {
    use super::*;

    fn t(s: &str) -> Time {
        crate::time::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn every_kind_of_fact_round_trips_and_a_cut_or_changed_one_is_refused() {
        let id = Uuid::from_u128(7);
        let at = t("2026-01-01T00:00:00.123456789Z");
        let (from, to) = (t("2020-07-10T10:00:00Z"), t("2020-07-10T12:00:00Z"));
        let mut whats = vec![
            What::Asserted { from, to },
            What::Superseding { from, to },
            What::Void { target: 42 },
        ];
        for b in 0..4 {
            for other_party in [false, true] {
                whats.push(What::FollowUp {
                    kind: FollowUpKind::from_byte(b).unwrap(),
                    other_party,
                    from,
                    to,
                });
            }
        }
        for what in whats {
            let f = Fact {
                seq: 9,
                id,
                recorded_at: at,
                what,
            };
            let mut bytes = Vec::new();
            f.encode_into(&mut bytes);
            assert_eq!(Fact::decode(&bytes), Some(f), "{what:?}");
            for n in 0..bytes.len() {
                assert_eq!(Fact::decode(&bytes[..n]), None, "{what:?} cut to {n}");
            }
            let mut long = bytes.clone();
            long.push(0);
            assert_eq!(Fact::decode(&long), None, "{what:?} with a byte more");
            let mut bad = bytes.clone();
            bad[36] = 9; // the tag
            assert_eq!(Fact::decode(&bad), None, "{what:?} with tag 9");
        }
        assert_eq!(FollowUpKind::from_byte(4), None);
    }
}
