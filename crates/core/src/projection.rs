//! The pure fold from one claim's events to its state at a point `(T, R)`
//! (SPEC "Which events count" and "Status of a claim").
//!
//! A [`ClaimHistory`] is built by [`ClaimHistory::apply`]-ing every log entry
//! that touches the claim (its assertion, its follow-ups, voids of any of
//! those, and other claims' assertions that supersede it), in any order.
//! [`ClaimHistory::state`] then answers for any `(T, R)`; the rule is
//! order-independent, so the answer does not depend on replay order.

use uuid::Uuid;

use crate::event::{Asserted, Body};
use crate::record::Record;
use crate::summary::{self, Fact, FactStanding, Outcome};
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

    /// Every entry of the history as the status rule sees it
    /// ([`crate::summary`]), in the order applied.
    pub fn facts(&self) -> Vec<Fact> {
        let by = self.assertion().map(|a| a.by.as_str()).unwrap_or("");
        let all = || self.asserted.iter().chain(self.others.iter());
        let seq_of = |id: Uuid| all().find(|r| r.event.id == id).map(|r| r.seq);
        all()
            .filter_map(|r| Fact::of(r, self.claim, by, seq_of))
            .collect()
    }

    fn record_at(&self, seq: u64) -> Option<&Record> {
        self.asserted
            .iter()
            .chain(self.others.iter())
            .find(|r| r.seq == seq)
    }

    /// How an entry stands at `view`.
    pub fn entry_standing(&self, r: &Record, view: &View) -> EntryStanding {
        let facts = self.facts();
        let voided = summary::voided(&facts, view);
        match facts.iter().find(|f| f.seq == r.seq) {
            Some(f) => summary::standing(f, view, &voided).into(),
            // Not filed under this claim: as known, never counted.
            None if r.recorded_at > view.as_of || r.seq > view.upto_seq => EntryStanding::Unknown,
            None => EntryStanding::Later,
        }
    }

    /// The claim's standing at `view`.
    pub fn state(&self, view: &View) -> Standing {
        match summary::outcome(&self.facts(), view) {
            Outcome::Absent => Standing::Absent,
            Outcome::Pending => Standing::Pending,
            Outcome::Present(v) => Standing::Present(ClaimState {
                status: v.status,
                since: v.since,
                because: v.because,
                events: v.events,
                pending: v
                    .pending
                    .iter()
                    .filter_map(|s| self.record_at(*s).cloned())
                    .collect(),
            }),
        }
    }

    /// The status at `view`, `None` when the claim is absent or pending.
    pub fn status(&self, view: &View) -> Option<Status> {
        summary::status(&self.facts(), view)
    }

    fn transitions(&self, changes: Vec<summary::Change>) -> Vec<Transition> {
        changes
            .into_iter()
            .filter_map(|c| {
                Some(Transition {
                    record: self.record_at(c.seq)?.clone(),
                    from: c.from,
                    to: c.to,
                })
            })
            .collect()
    }

    /// Every status change over valid time, as known at `as_of`
    /// ([`summary::changes_over_valid_time`]).
    pub fn transitions_over_valid_time(&self, as_of: Time) -> Vec<Transition> {
        self.transitions(summary::changes_over_valid_time(&self.facts(), as_of))
    }

    /// Every status change in the order the ledger learned it (voids
    /// included): the status at valid time `at`, known up to each entry.
    pub fn transitions_over_recorded_time(&self, at: Time, as_of: Time) -> Vec<Transition> {
        self.transitions(summary::changes_over_recorded_time(
            &self.facts(),
            at,
            as_of,
        ))
    }
}

impl From<FactStanding> for EntryStanding {
    fn from(s: FactStanding) -> Self {
        match s {
            FactStanding::Unknown => EntryStanding::Unknown,
            FactStanding::Voided => EntryStanding::Voided,
            FactStanding::Counts => EntryStanding::Counts,
            FactStanding::Pending => EntryStanding::Pending,
            FactStanding::Later => EntryStanding::Later,
            FactStanding::Void => EntryStanding::Void,
        }
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
