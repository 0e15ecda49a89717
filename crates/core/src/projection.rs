//! The pure fold from one claim's events to its state at a point `(T, R)`
//! (SPEC "Which events count" and "Status of a claim").
//!
//! A [`ClaimHistory`] is built by [`ClaimHistory::apply`]-ing every log entry
//! that touches the claim (its assertion, its follow-ups, voids of any of
//! those, and other claims' assertions that supersede it), in any order.
//! [`ClaimHistory::state`] then answers for any `(T, R)`; the rule is
//! order-independent, so the answer does not depend on replay order.

use std::collections::HashSet;

use uuid::Uuid;

use crate::event::{Asserted, Body, FollowUpKind};
use crate::record::Record;
use crate::time::Time;

/// A claim's status, lowest to highest: the highest that applies wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Asserted, nothing more.
    Reported,
    /// Confirmed by someone other than the claimant.
    Corroborated,
    /// Contested.
    Disputed,
    /// Shown false.
    Refuted,
    /// Replaced by a later claim.
    Superseded,
    /// Withdrawn by the claimant's side.
    Retracted,
}

impl Status {
    /// The lower-case name used in output and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Corroborated => "corroborated",
            Status::Disputed => "disputed",
            Status::Refuted => "refuted",
            Status::Superseded => "superseded",
            Status::Retracted => "retracted",
        }
    }

    /// Every status, lowest first.
    pub const ALL: [Status; 6] = [
        Status::Reported,
        Status::Corroborated,
        Status::Disputed,
        Status::Refuted,
        Status::Superseded,
        Status::Retracted,
    ];
}

/// A point to evaluate at: valid time `at` (T), as known at recorded time
/// `as_of` (R), optionally also cut at a `seq` (for replaying the log one entry
/// at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// T: what had certainly happened by then.
    pub at: Time,
    /// R: what the ledger had recorded by then.
    pub as_of: Time,
    /// Only entries up to this `seq` are known.
    pub upto_seq: u64,
}

impl View {
    /// At `at`, as known at `as_of`.
    pub fn new(at: Time, as_of: Time) -> Self {
        View {
            at,
            as_of,
            upto_seq: u64::MAX,
        }
    }

    fn knows(&self, r: &Record) -> bool {
        r.recorded_at <= self.as_of && r.seq <= self.upto_seq
    }
}

/// Whether a counted event affects the status, and how.
fn contribution(claim_by: &str, claim: Uuid, r: &Record) -> Option<Status> {
    match &r.event.body {
        Body::Asserted(a) if a.claim == claim => Some(Status::Reported),
        Body::Asserted(a) if a.supersedes == Some(claim) => Some(Status::Superseded),
        Body::FollowedUp(f) if f.claim == claim => Some(match f.kind {
            FollowUpKind::Corroborated if same_party(&f.by, claim_by) => return None,
            FollowUpKind::Corroborated => Status::Corroborated,
            FollowUpKind::Disputed => Status::Disputed,
            FollowUpKind::Refuted => Status::Refuted,
            FollowUpKind::Retracted => Status::Retracted,
        }),
        _ => None,
    }
}

/// Whether two `by` values name the same party: equal after trimming and
/// ignoring case.
pub fn same_party(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Everything the ledger holds about one claim.
#[derive(Debug, Clone)]
pub struct ClaimHistory {
    /// The claim.
    pub claim: Uuid,
    /// Its assertion, once applied.
    pub asserted: Option<Record>,
    /// Every other entry touching it, in the order applied.
    pub others: Vec<Record>,
}

/// Where a claim stands at a point.
#[derive(Debug, Clone)]
pub enum Standing {
    /// Its assertion does not count and did not possibly happen by T.
    Absent,
    /// Its assertion possibly, but not certainly, happened by T.
    Pending,
    /// Its assertion counts.
    Present(ClaimState),
}

/// A present claim's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimState {
    /// The highest status that applies.
    pub status: Status,
    /// The valid time (`to`) of the event that gave the status (the earliest,
    /// if several give it).
    pub since: Time,
    /// The entry that gave the status.
    pub because: Uuid,
    /// How many of the claim's own events count (its assertion included).
    pub events: usize,
    /// Events that possibly, but not certainly, happened by T.
    pub pending: Vec<Record>,
}

/// How one entry of the claim's history stands at a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStanding {
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
    /// A `voided` entry (it has no valid time).
    Void,
}

impl ClaimHistory {
    /// An empty history.
    pub fn new(claim: Uuid) -> Self {
        ClaimHistory {
            claim,
            asserted: None,
            others: Vec::new(),
        }
    }

    /// Files one entry touching this claim.
    pub fn apply(&mut self, r: &Record) {
        match &r.event.body {
            Body::Asserted(a) if a.claim == self.claim => self.asserted = Some(r.clone()),
            _ => self.others.push(r.clone()),
        }
    }

    /// The assertion's content, if applied.
    pub fn assertion(&self) -> Option<&Asserted> {
        match &self.asserted.as_ref()?.event.body {
            Body::Asserted(a) => Some(a),
            _ => None,
        }
    }

    fn voided(&self, view: &View) -> HashSet<Uuid> {
        self.others
            .iter()
            .filter(|r| view.knows(r))
            .filter_map(|r| match &r.event.body {
                Body::Voided(v) => Some(v.target),
                _ => None,
            })
            .collect()
    }

    /// How an entry stands at `view`.
    pub fn entry_standing(&self, r: &Record, view: &View) -> EntryStanding {
        self.entry_standing_with(r, view, &self.voided(view))
    }

    fn entry_standing_with(
        &self,
        r: &Record,
        view: &View,
        voided: &HashSet<Uuid>,
    ) -> EntryStanding {
        if !view.knows(r) {
            return EntryStanding::Unknown;
        }
        if voided.contains(&r.event.id) {
            return EntryStanding::Voided;
        }
        match r.event.valid() {
            None => EntryStanding::Void,
            Some(v) if v.to <= view.at => EntryStanding::Counts,
            Some(v) if v.from <= view.at => EntryStanding::Pending,
            Some(_) => EntryStanding::Later,
        }
    }

    /// The claim's standing at `view`.
    pub fn state(&self, view: &View) -> Standing {
        let Some(asserted) = &self.asserted else {
            return Standing::Absent;
        };
        let a = self.assertion().expect("asserted");
        let voided = self.voided(view);
        match self.entry_standing_with(asserted, view, &voided) {
            EntryStanding::Counts => {}
            EntryStanding::Pending => return Standing::Pending,
            _ => return Standing::Absent,
        }
        let mut best = (Status::Reported, a.valid.to, asserted.event.id);
        let mut events = 1;
        let mut pending = Vec::new();
        for r in &self.others {
            match self.entry_standing_with(r, view, &voided) {
                EntryStanding::Counts => {
                    if r.event.claim() == Some(self.claim) {
                        events += 1;
                    }
                    if let Some(s) = contribution(&a.by, self.claim, r) {
                        let to = r.event.valid().expect("world event").to;
                        if s > best.0 || (s == best.0 && to < best.1) {
                            best = (s, to, r.event.id);
                        }
                    }
                }
                EntryStanding::Pending if r.event.claim() == Some(self.claim) => {
                    pending.push(r.clone())
                }
                _ => {}
            }
        }
        pending.sort_by_key(|r| r.seq);
        Standing::Present(ClaimState {
            status: best.0,
            since: best.1,
            because: best.2,
            events,
            pending,
        })
    }

    /// The status at `view`, `None` when the claim is absent or pending.
    pub fn status(&self, view: &View) -> Option<Status> {
        match self.state(view) {
            Standing::Present(s) => Some(s.status),
            _ => None,
        }
    }

    /// Every status change over valid time, as known at `as_of`: for each
    /// distinct `valid.to` among the counting entries, the status just after
    /// it, reported where it differs from the one before. Each change names the
    /// entry at that time that gave it.
    pub fn transitions_over_valid_time(&self, as_of: Time) -> Vec<Transition> {
        let view_end = View::new(Time::MAX_UTC, as_of);
        let voided = self.voided(&view_end);
        let mut candidates: Vec<&Record> = self
            .asserted
            .iter()
            .chain(self.others.iter())
            .filter(|r| r.event.valid().is_some())
            .filter(|r| self.entry_standing_with(r, &view_end, &voided) == EntryStanding::Counts)
            .collect();
        candidates.sort_by_key(|r| (r.event.valid().expect("world").to, r.seq));
        let mut out = Vec::new();
        let mut before: Option<Status> = None;
        let mut i = 0;
        while i < candidates.len() {
            let t = candidates[i].event.valid().expect("world").to;
            let mut j = i;
            while j < candidates.len() && candidates[j].event.valid().expect("world").to == t {
                j += 1;
            }
            let after = self.status(&View::new(t, as_of));
            if after != before {
                let by_ = self.assertion().map(|a| a.by.clone()).unwrap_or_default();
                let giver = candidates[i..j]
                    .iter()
                    .max_by_key(|r| (contribution(&by_, self.claim, r), std::cmp::Reverse(r.seq)))
                    .expect("non-empty group");
                out.push(Transition {
                    record: (*giver).clone(),
                    from: before,
                    to: after,
                });
                before = after;
            }
            i = j;
        }
        out
    }

    /// Every status change in the order the ledger learned it (voids
    /// included): the status at valid time `at`, known up to each entry.
    pub fn transitions_over_recorded_time(&self, at: Time, as_of: Time) -> Vec<Transition> {
        let mut entries: Vec<&Record> = self.asserted.iter().chain(self.others.iter()).collect();
        entries.sort_by_key(|r| r.seq);
        let mut out = Vec::new();
        let mut before: Option<Status> = None;
        for r in entries {
            if r.recorded_at > as_of {
                break;
            }
            let view = View {
                at,
                as_of,
                upto_seq: r.seq,
            };
            let after = self.status(&view);
            if after != before {
                out.push(Transition {
                    record: r.clone(),
                    from: before,
                    to: after,
                });
                before = after;
            }
        }
        out
    }
}

/// One status change of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The entry that made the change.
    pub record: Record,
    /// The status before (`None`: absent).
    pub from: Option<Status>,
    /// The status after (`None`: absent).
    pub to: Option<Status>,
}
