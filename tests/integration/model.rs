//! Model-based tests of the belief-state fold (SPEC "Events", "Which events
//! count at a point (T, R)" and "Status of a claim").
//!
//! Random logs (several claims in two stories, assertions at exact instants
//! and over intervals, follow-ups of all four kinds by the claimant's own side
//! and by others, `supersedes`, voids of every kind of entry including voids
//! of already-voided entries, idempotent retries, and batches that break an
//! append rule) are appended to a [`MemStore`] ledger in several batches at
//! different recorded times. At random points `(T, R)` the production answers
//! of [`Ledger::state`], [`Ledger::diff`] and [`Ledger::audit`] are compared
//! with a deliberately naive reference fold written below from SPEC's words
//! alone: it re-scans the whole log for every question and shares no code
//! with `src/projection.rs`.
//!
//! Choices the reference makes where SPEC leaves room (stated once, here):
//! - two `by` values name the same party when they are equal after trimming
//!   and ignoring case;
//! - a claim's `events` counts its assertion and its counting follow-ups (a
//!   corroboration by the claimant's own side included); another claim's
//!   assertion that supersedes it is not one of its events;
//! - a claim's `pending` lists its own follow-ups that possibly happened by T;
//! - a valid-time audit row is the first T at which the status differs from
//!   the status just before; a recorded-time audit row is the first log entry
//!   (in seq order) after which the status at T differs;
//! - a recorded time never goes back: an append whose clock reads earlier than
//!   the last entry is recorded at the last entry's time;
//! - scoping a query to a story that has no claim in the ledger is a
//!   `NotFound` error (an unknown name), not an empty answer.
//!
//! Building each log also checks that a batch breaking an append rule is
//! refused and leaves the store exactly as it was, that an identical event
//! sent again is a no-op, and that an accepted batch is sealed with the next
//! seqs at its recorded time. `MODEL_CASES=N` runs N cases per property.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, TimeZone, Utc};
use claims_core::event::{Asserted, Body, Event, FollowUp, FollowUpKind, Voided, Wording};
use claims_core::ledger::{Incoming, Ledger};
use claims_core::projection::{ClaimHistory, Standing, View};
use claims_core::query::{AuditOptions, Scope};
use claims_core::record::Record;
use claims_core::store::{MemStore, Store};
use claims_core::time::{Time, Valid};
use claims_core::ErrorKind;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use uuid::Uuid;

// ---------------------------------------------------------------------------
// Times, ids and names
// ---------------------------------------------------------------------------

/// Valid time: whole minutes after 2020-07-10T00:00Z.
fn vt(minutes: i64) -> Time {
    Utc.with_ymd_and_hms(2020, 7, 10, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// The minute offset of a valid time (for readable failure dumps).
fn vmin(t: Time) -> i64 {
    (t - vt(0)).num_minutes()
}

/// Recorded time: whole seconds after 2026-01-01T00:00Z.
fn rt(seconds: i64) -> Time {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(seconds)
}

fn rsec(t: Time) -> i64 {
    (t - rt(0)).num_seconds()
}

const CLAIM_BASE: u128 = 0xC1A1_0000;
const EVENT_BASE: u128 = 0xE7E7_0000;
const STORIES: [&str; 2] = ["amazon-tiktok-2020-07", "hk-app-stores"];
const PARTIES: [&str; 6] = [
    "Amazon",
    "Amazon spokesperson",
    "TikTok",
    "Mike Pompeo",
    "Reuters",
    "Åse Ødegård",
];

fn claim_id(n: u128) -> Uuid {
    Uuid::from_u128(CLAIM_BASE + n)
}

fn event_id(n: u128) -> Uuid {
    Uuid::from_u128(EVENT_BASE + n)
}

/// `c3` / `e17` for dumps.
fn short(id: Uuid) -> String {
    let n = id.as_u128();
    if (CLAIM_BASE..CLAIM_BASE + 0x1000).contains(&n) {
        format!("c{}", n - CLAIM_BASE)
    } else if (EVENT_BASE..EVENT_BASE + 0x1000).contains(&n) {
        format!("e{}", n - EVENT_BASE)
    } else {
        format!("{id}")
    }
}

/// The same party written another way (case, surrounding white space).
fn spelled(by: &str, variant: u8) -> String {
    match variant % 6 {
        0 | 1 => by.to_string(),
        2 => by.to_uppercase(),
        3 => by.to_lowercase(),
        4 => format!("  {by} "),
        _ => format!("\t{}", by.to_lowercase()),
    }
}

fn valid(from: i64, to: i64) -> Valid {
    Valid {
        from: vt(from),
        to: vt(to),
        text: (from != to).then(|| format!("between minute {from} and {to}")),
    }
}

const FOLLOW_KINDS: [FollowUpKind; 4] = [
    FollowUpKind::Corroborated,
    FollowUpKind::Disputed,
    FollowUpKind::Refuted,
    FollowUpKind::Retracted,
];

fn kind_name(k: FollowUpKind) -> &'static str {
    match k {
        FollowUpKind::Corroborated => "corroborated",
        FollowUpKind::Disputed => "disputed",
        FollowUpKind::Refuted => "refuted",
        FollowUpKind::Retracted => "retracted",
    }
}

// ---------------------------------------------------------------------------
// The reference: the log as plain data and SPEC's rules, re-scanned naively
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum What {
    Asserted {
        claim: Uuid,
        story: String,
        by: String,
        from: Time,
        to: Time,
        supersedes: Option<Uuid>,
    },
    Follow {
        kind: &'static str,
        claim: Uuid,
        by: String,
        from: Time,
        to: Time,
    },
    Voided {
        target: Uuid,
    },
}

#[derive(Debug, Clone)]
struct MEvent {
    id: Uuid,
    seq: u64,
    rec: Time,
    what: What,
}

impl MEvent {
    fn from_event(e: &Event, seq: u64, rec: Time) -> MEvent {
        let what = match &e.body {
            Body::Asserted(a) => What::Asserted {
                claim: a.claim,
                story: a.story.clone(),
                by: a.by.clone(),
                from: a.valid.from,
                to: a.valid.to,
                supersedes: a.supersedes,
            },
            Body::FollowedUp(f) => What::Follow {
                kind: kind_name(f.kind),
                claim: f.claim,
                by: f.by.clone(),
                from: f.valid.from,
                to: f.valid.to,
            },
            Body::Voided(v) => What::Voided { target: v.target },
        };
        MEvent {
            id: e.id,
            seq,
            rec,
            what,
        }
    }

    /// `valid` of a world event.
    fn valid(&self) -> Option<(Time, Time)> {
        match &self.what {
            What::Asserted { from, to, .. } | What::Follow { from, to, .. } => Some((*from, *to)),
            What::Voided { .. } => None,
        }
    }
}

/// A point: valid time T, recorded time R, and (for replaying the log entry
/// by entry) the last seq known.
#[derive(Debug, Clone, Copy)]
struct Pt {
    t: Time,
    r: Time,
    upto: u64,
}

impl Pt {
    fn new(t: Time, r: Time) -> Pt {
        Pt {
            t,
            r,
            upto: u64::MAX,
        }
    }
}

/// SPEC's order of statuses, lowest first.
fn rank(status: &str) -> u8 {
    match status {
        "reported" => 0,
        "corroborated" => 1,
        "disputed" => 2,
        "refuted" => 3,
        "superseded" => 4,
        "retracted" => 5,
        other => panic!("not a status: {other}"),
    }
}

/// Same party: equal once trimmed, ignoring case.
fn ref_same_party(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .chars()
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    norm(a) == norm(b)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RStanding {
    Absent,
    Pending,
    Present(RState),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RState {
    status: &'static str,
    since: Time,
    events: usize,
    pending: Vec<Uuid>,
}

#[derive(Debug, Clone, Default)]
struct Model {
    log: Vec<MEvent>,
}

impl Model {
    fn last_rec(&self) -> Option<Time> {
        self.log.last().map(|e| e.rec)
    }

    fn get(&self, id: Uuid) -> Option<&MEvent> {
        self.log.iter().find(|e| e.id == id)
    }

    /// Recorded at or before R (and within the replayed prefix).
    fn known(&self, e: &MEvent, p: Pt) -> bool {
        e.rec <= p.r && e.seq <= p.upto
    }

    /// A `voided` recorded at or before R targets it.
    fn voided(&self, id: Uuid, p: Pt) -> bool {
        self.log
            .iter()
            .any(|v| self.known(v, p) && matches!(v.what, What::Voided { target } if target == id))
    }

    /// Counts at p: known, not voided, certainly happened by T.
    fn counts(&self, e: &MEvent, p: Pt) -> bool {
        match e.valid() {
            Some((_, to)) => self.known(e, p) && !self.voided(e.id, p) && to <= p.t,
            None => false,
        }
    }

    /// Possibly but not certainly happened by T.
    fn possibly(&self, e: &MEvent, p: Pt) -> bool {
        match e.valid() {
            Some((from, to)) => {
                self.known(e, p) && !self.voided(e.id, p) && from <= p.t && p.t < to
            }
            None => false,
        }
    }

    fn assertion(&self, claim: Uuid) -> Option<&MEvent> {
        self.log
            .iter()
            .find(|e| matches!(&e.what, What::Asserted { claim: c, .. } if *c == claim))
    }

    fn claim_by(&self, claim: Uuid) -> String {
        match self.assertion(claim).map(|e| &e.what) {
            Some(What::Asserted { by, .. }) => by.clone(),
            _ => String::new(),
        }
    }

    /// The status an event would give the claim if it counted.
    fn gives(&self, e: &MEvent, claim: Uuid) -> Option<&'static str> {
        match &e.what {
            What::Asserted { claim: c, .. } if *c == claim => Some("reported"),
            What::Asserted {
                supersedes: Some(s),
                ..
            } if *s == claim => Some("superseded"),
            What::Follow {
                kind, claim: c, by, ..
            } if *c == claim => {
                if *kind == "corroborated" && ref_same_party(by, &self.claim_by(claim)) {
                    None
                } else {
                    Some(kind)
                }
            }
            _ => None,
        }
    }

    fn is_follow_up_on(e: &MEvent, claim: Uuid) -> bool {
        matches!(&e.what, What::Follow { claim: c, .. } if *c == claim)
    }

    fn standing(&self, claim: Uuid, p: Pt) -> RStanding {
        let Some(a) = self.assertion(claim) else {
            return RStanding::Absent;
        };
        if !self.counts(a, p) {
            return if self.possibly(a, p) {
                RStanding::Pending
            } else {
                RStanding::Absent
            };
        }
        // Every counting event that gives a status, with its valid.to.
        let mut given: Vec<(&'static str, Time)> = Vec::new();
        for e in &self.log {
            if self.counts(e, p) {
                if let Some(s) = self.gives(e, claim) {
                    given.push((s, e.valid().unwrap().1));
                }
            }
        }
        let status = given
            .iter()
            .map(|(s, _)| *s)
            .max_by_key(|s| rank(s))
            .unwrap();
        let since = given
            .iter()
            .filter(|(s, _)| *s == status)
            .map(|(_, t)| *t)
            .min()
            .unwrap();
        let events = 1 + self
            .log
            .iter()
            .filter(|e| Self::is_follow_up_on(e, claim) && self.counts(e, p))
            .count();
        let pending = self
            .log
            .iter()
            .filter(|e| Self::is_follow_up_on(e, claim) && self.possibly(e, p))
            .map(|e| e.id)
            .collect();
        RStanding::Present(RState {
            status,
            since,
            events,
            pending,
        })
    }

    fn status(&self, claim: Uuid, p: Pt) -> Option<&'static str> {
        match self.standing(claim, p) {
            RStanding::Present(s) => Some(s.status),
            _ => None,
        }
    }

    /// Claims asserted in the log, in the order asserted.
    fn claims(&self) -> Vec<Uuid> {
        self.log
            .iter()
            .filter_map(|e| match &e.what {
                What::Asserted { claim, .. } => Some(*claim),
                _ => None,
            })
            .collect()
    }

    fn in_scope(&self, claim: Uuid, scope: &Scope) -> bool {
        let story_ok = match (&scope.story, self.assertion(claim).map(|e| &e.what)) {
            (None, _) => true,
            (Some(s), Some(What::Asserted { story, .. })) => story == s,
            _ => false,
        };
        story_ok && scope.claim.is_none_or(|c| c == claim)
    }

    /// Every whole minute from before the first valid bound to after the last.
    fn sweep(&self) -> Vec<Time> {
        let bounds: Vec<i64> = self
            .log
            .iter()
            .filter_map(|e| e.valid())
            .flat_map(|(f, t)| [vmin(f), vmin(t)])
            .collect();
        match (bounds.iter().min(), bounds.iter().max()) {
            (Some(lo), Some(hi)) => (lo - 2..=hi + 2).map(vt).collect(),
            _ => Vec::new(),
        }
    }

    /// Valid-time audit of a claim as known at R: `(T, from, to)` at each T
    /// where the status differs from the one just before.
    fn valid_rows(
        &self,
        claim: Uuid,
        r: Time,
    ) -> Vec<(Time, Option<&'static str>, Option<&'static str>)> {
        let mut out = Vec::new();
        let mut before = None;
        for t in self.sweep() {
            let now = self.status(claim, Pt::new(t, r));
            if now != before {
                out.push((t, before, now));
                before = now;
            }
        }
        out
    }

    /// Recorded-time audit of a claim at T as known at R: `(seq, from, to)`
    /// at each entry after which the status differs.
    fn recorded_rows(
        &self,
        claim: Uuid,
        t: Time,
        r: Time,
    ) -> Vec<(u64, Option<&'static str>, Option<&'static str>)> {
        let mut out = Vec::new();
        let mut before = None;
        for e in &self.log {
            if e.rec > r {
                break;
            }
            let now = self.status(claim, Pt { t, r, upto: e.seq });
            if now != before {
                out.push((e.seq, before, now));
                before = now;
            }
        }
        out
    }

    fn dump(&self) -> String {
        let mut s = String::from("log (valid times in minutes, recorded times in seconds):\n");
        for e in &self.log {
            let line = match &e.what {
                What::Asserted {
                    claim,
                    story,
                    by,
                    from,
                    to,
                    supersedes,
                } => format!(
                    "asserted {} story={story} by={by:?} valid=[{},{}]{}",
                    short(*claim),
                    vmin(*from),
                    vmin(*to),
                    supersedes
                        .map(|c| format!(" supersedes={}", short(c)))
                        .unwrap_or_default()
                ),
                What::Follow {
                    kind,
                    claim,
                    by,
                    from,
                    to,
                } => format!(
                    "{kind} {} by={by:?} valid=[{},{}]",
                    short(*claim),
                    vmin(*from),
                    vmin(*to)
                ),
                What::Voided { target } => format!("voided target={}", short(*target)),
            };
            s += &format!(
                "  seq {} rec {} {}: {line}\n",
                e.seq,
                rsec(e.rec),
                short(e.id)
            );
        }
        s
    }
}

// ---------------------------------------------------------------------------
// Generating logs
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Assert {
        story: u8,
        by: u8,
        spelling: u8,
        from: u8,
        len: u8,
        supersedes: Option<Index>,
    },
    FollowUp {
        kind: u8,
        claim: Index,
        /// By the claimant's own side (spelled some way) rather than `by`.
        own_side: bool,
        by: u8,
        spelling: u8,
        /// Start, minutes after the assertion's start.
        after: u8,
        len: u8,
    },
    /// Void any world event (maybe one already voided).
    Void(Index),
    /// Void an event that a void already targets.
    VoidAgain(Index),
    /// The same event again, identical: a no-op.
    Retry(Index),
    /// An event that breaks an append rule: the whole batch is refused.
    Bad(u8, Index),
}

#[derive(Debug, Clone)]
struct Batch {
    ops: Vec<Op>,
    /// Seconds the clock moves before this batch (may go back).
    clock: i8,
}

fn interval_len() -> impl Strategy<Value = u8> {
    prop_oneof![2 => Just(0u8), 3 => 1..=6u8]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..2u8, 0..6u8, any::<u8>(), 0..=16u8, interval_len(), prop::option::weighted(0.4, any::<Index>()))
            .prop_map(|(story, by, spelling, from, len, supersedes)| Op::Assert { story, by, spelling, from, len, supersedes }),
        7 => (0..4u8, any::<Index>(), prop::bool::weighted(0.35), 0..6u8, any::<u8>(), 0..=8u8, interval_len())
            .prop_map(|(kind, claim, own_side, by, spelling, after, len)| Op::FollowUp { kind, claim, own_side, by, spelling, after, len }),
        3 => any::<Index>().prop_map(Op::Void),
        1 => any::<Index>().prop_map(Op::VoidAgain),
        1 => any::<Index>().prop_map(Op::Retry),
        1 => (0..8u8, any::<Index>()).prop_map(|(k, i)| Op::Bad(k, i)),
    ]
}

fn batches() -> impl Strategy<Value = Vec<Batch>> {
    let clock = prop_oneof![6 => 1..=3i8, 1 => Just(0i8), 1 => -2..=-1i8];
    prop::collection::vec(
        (prop::collection::vec(op(), 1..8), clock).prop_map(|(ops, clock)| Batch { ops, clock }),
        1..9,
    )
}

/// What the generator has available to refer to.
#[derive(Debug, Clone, Default)]
struct Pools {
    /// (claim, assertion's valid.from, claimant)
    claims: Vec<(Uuid, i64, String)>,
    /// World events (void targets).
    world: Vec<Uuid>,
    /// Voids: (void id, target).
    voids: Vec<(Uuid, Uuid)>,
    /// Every event, for retries and conflicting reuse of an id.
    all: Vec<Event>,
}

enum Step {
    New(Event),
    Retry(Event),
    Bad(Event),
    Skip,
}

struct Ids {
    claims: u128,
    events: u128,
}

impl Ids {
    fn claim(&mut self) -> Uuid {
        self.claims += 1;
        claim_id(self.claims)
    }
    fn event(&mut self) -> Uuid {
        self.events += 1;
        event_id(self.events)
    }
}

fn follow_up(id: Uuid, kind: FollowUpKind, claim: Uuid, by: String, from: i64, to: i64) -> Event {
    Event {
        id,
        body: Body::FollowedUp(FollowUp {
            kind,
            claim,
            by,
            valid: valid(from, to),
            reason: (kind != FollowUpKind::Corroborated).then(|| "because".to_string()),
            note: None,
            wording: Wording::default(),
        }),
    }
}

fn assertion(
    id: Uuid,
    claim: Uuid,
    story: &str,
    by: String,
    from: i64,
    to: i64,
    supersedes: Option<Uuid>,
) -> Event {
    Event {
        id,
        body: Body::Asserted(Asserted {
            claim,
            story: story.to_string(),
            by,
            text: format!("claim {}", short(claim)),
            valid: valid(from, to),
            wording: Wording {
                via: vec!["Reuters".into()],
                ..Wording::default()
            },
            supersedes,
        }),
    }
}

fn void(id: Uuid, target: Uuid) -> Event {
    Event {
        id,
        body: Body::Voided(Voided {
            target,
            reason: "entered in error".into(),
        }),
    }
}

fn interpret(op: &Op, p: &mut Pools, ids: &mut Ids) -> Step {
    let step = match op {
        Op::Assert {
            story,
            by,
            spelling,
            from,
            len,
            supersedes,
        } => {
            let claim = ids.claim();
            let by = spelled(PARTIES[*by as usize % PARTIES.len()], *spelling);
            let sup = supersedes
                .as_ref()
                .filter(|_| !p.claims.is_empty())
                .map(|i| p.claims[i.index(p.claims.len())].0);
            let (from, to) = (*from as i64, *from as i64 + *len as i64);
            let e = assertion(
                ids.event(),
                claim,
                STORIES[*story as usize % 2],
                by.clone(),
                from,
                to,
                sup,
            );
            p.claims.push((claim, from, by));
            Step::New(e)
        }
        Op::FollowUp {
            kind,
            claim,
            own_side,
            by,
            spelling,
            after,
            len,
        } => {
            if p.claims.is_empty() {
                return Step::Skip;
            }
            let (claim, a_from, claimant) = p.claims[claim.index(p.claims.len())].clone();
            let by = if *own_side {
                spelled(&claimant, *spelling)
            } else {
                spelled(PARTIES[*by as usize % PARTIES.len()], *spelling)
            };
            let from = a_from + *after as i64;
            Step::New(follow_up(
                ids.event(),
                FOLLOW_KINDS[*kind as usize % 4],
                claim,
                by,
                from,
                from + *len as i64,
            ))
        }
        Op::Void(i) => {
            if p.world.is_empty() {
                return Step::Skip;
            }
            let target = p.world[i.index(p.world.len())];
            Step::New(void(ids.event(), target))
        }
        Op::VoidAgain(i) => {
            if p.voids.is_empty() {
                return Step::Skip;
            }
            let target = p.voids[i.index(p.voids.len())].1;
            Step::New(void(ids.event(), target))
        }
        Op::Retry(i) => {
            if p.all.is_empty() {
                return Step::Skip;
            }
            Step::Retry(p.all[i.index(p.all.len())].clone())
        }
        Op::Bad(kind, i) => Step::Bad(bad_event(*kind, i, p, ids)),
    };
    if let Step::New(e) = &step {
        match &e.body {
            Body::Voided(v) => p.voids.push((e.id, v.target)),
            _ => p.world.push(e.id),
        }
        p.all.push(e.clone());
    }
    step
}

/// An event that breaks an append rule.
fn bad_event(kind: u8, i: &Index, p: &Pools, ids: &mut Ids) -> Event {
    let unknown_claim = Uuid::from_u128(0xDEAD_0000 + kind as u128);
    let on_unknown_claim = |ids: &mut Ids| {
        follow_up(
            ids.event(),
            FollowUpKind::Disputed,
            unknown_claim,
            "TikTok".into(),
            5,
            5,
        )
    };
    match kind % 8 {
        // A follow-up starting before its claim's assertion.
        0 => {
            let late: Vec<_> = p.claims.iter().filter(|c| c.1 > 0).collect();
            if late.is_empty() {
                return on_unknown_claim(ids);
            }
            let (claim, from, _) = late[i.index(late.len())];
            follow_up(
                ids.event(),
                FollowUpKind::Refuted,
                *claim,
                "TikTok".into(),
                from - 1,
                from + 3,
            )
        }
        // A void of a void.
        1 => {
            if p.voids.is_empty() {
                return void(ids.event(), Uuid::from_u128(0xDEAD_BEEF));
            }
            void(ids.event(), p.voids[i.index(p.voids.len())].0)
        }
        // A void of an unknown event.
        2 => void(ids.event(), Uuid::from_u128(0xDEAD_BEEF)),
        // A follow-up on an unknown claim.
        3 => on_unknown_claim(ids),
        // A second assertion of a claim.
        4 => {
            if p.claims.is_empty() {
                return on_unknown_claim(ids);
            }
            let (claim, from, by) = p.claims[i.index(p.claims.len())].clone();
            assertion(ids.event(), claim, STORIES[0], by, from, from, None)
        }
        // Superseding an unknown claim.
        5 => assertion(
            ids.event(),
            ids.claim(),
            STORIES[0],
            "TikTok".into(),
            3,
            3,
            Some(unknown_claim),
        ),
        // A known id with different content.
        6 => {
            if p.all.is_empty() {
                return on_unknown_claim(ids);
            }
            let mut e = p.all[i.index(p.all.len())].clone();
            match &mut e.body {
                Body::Asserted(a) => a.text.push_str(" (edited)"),
                Body::FollowedUp(f) => f.by.push_str(" Jr."),
                Body::Voided(v) => v.reason.push_str(" (edited)"),
            }
            e
        }
        // A claim superseding itself.
        _ => {
            let c = ids.claim();
            assertion(ids.event(), c, STORIES[1], "TikTok".into(), 3, 3, Some(c))
        }
    }
}

struct Built {
    ledger: Ledger<MemStore>,
    model: Model,
    /// Distinct recorded times of accepted entries.
    recs: Vec<Time>,
    /// Batches refused.
    refused: usize,
    /// Identical events sent again.
    retries: usize,
}

/// Reads every claim's history and every story's claims, so that the checks
/// after the last batch also test that each append empties the ledger's
/// read cache (a stale cached history would show there).
fn warm_cache(ledger: &Ledger<MemStore>) {
    for r in log_of(ledger) {
        if let Body::Asserted(a) = &r.event.body {
            let _ = ledger.history(a.claim);
            let _ = ledger.histories(&Scope {
                story: Some(a.story.clone()),
                claim: None,
            });
        }
    }
}

fn log_of(ledger: &Ledger<MemStore>) -> Vec<Record> {
    ledger
        .store()
        .scan(1)
        .map(|r| r.expect("mem store reads"))
        .collect()
}

/// Appends the batches to a fresh ledger and to the model, checking that
/// exactly the batches that break a rule are refused and leave the store as
/// it was, and that accepted batches are sealed as the model expects.
fn build(batches: &[Batch]) -> Result<Built, TestCaseError> {
    let mut ledger = Ledger::new(MemStore::new());
    let mut model = Model::default();
    let mut pools = Pools::default();
    let mut ids = Ids {
        claims: 0,
        events: 0,
    };
    let mut now = rt(10);
    let mut recs: Vec<Time> = Vec::new();
    let (mut refused, mut total_retries) = (0, 0);
    for (b, batch) in batches.iter().enumerate() {
        warm_cache(&ledger);
        now += Duration::seconds(batch.clock as i64);
        let mut p = pools.clone();
        let mut events = Vec::new();
        let mut fresh = Vec::new();
        let mut retries = 0;
        let mut bad = false;
        for op in &batch.ops {
            match interpret(op, &mut p, &mut ids) {
                Step::New(e) => {
                    events.push(e.clone());
                    fresh.push(e);
                }
                Step::Retry(e) => {
                    events.push(e);
                    retries += 1;
                }
                Step::Bad(e) => {
                    events.push(e);
                    bad = true;
                }
                Step::Skip => {}
            }
        }
        let incoming: Vec<Incoming> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Incoming {
                line: Some(i + 1),
                event,
            })
            .collect();
        let head_before = ledger.store().head();
        let log_before = log_of(&ledger);
        let result = ledger.append(incoming, now);
        if bad {
            prop_assert!(
                result.is_err(),
                "batch {b} breaks a rule but was accepted\n{}",
                model.dump()
            );
            prop_assert_eq!(
                ledger.store().head(),
                head_before,
                "a refused batch moved the head"
            );
            prop_assert_eq!(
                log_of(&ledger),
                log_before,
                "a refused batch changed the log"
            );
            refused += 1;
            continue;
        }
        let report = result.map_err(|e| {
            TestCaseError::fail(format!("batch {b} refused: {e}\n{}", model.dump()))
        })?;
        let rec = match model.last_rec() {
            Some(last) if last > now => last,
            _ => now,
        };
        prop_assert_eq!(
            report.unchanged + report.repeated,
            retries,
            "idempotent retries"
        );
        total_retries += retries;
        let got: Vec<(u64, Uuid, Time)> = report
            .appended
            .iter()
            .map(|r| (r.seq, r.event.id, r.recorded_at))
            .collect();
        let first = model.log.len() as u64 + 1;
        let want: Vec<(u64, Uuid, Time)> = fresh
            .iter()
            .enumerate()
            .map(|(i, e)| (first + i as u64, e.id, rec))
            .collect();
        prop_assert_eq!(got, want, "what batch {} appended", b);
        for (i, e) in fresh.iter().enumerate() {
            prop_assert_eq!(&report.appended[i].event, e);
            model.log.push(MEvent::from_event(e, first + i as u64, rec));
        }
        if !fresh.is_empty() && recs.last() != Some(&rec) {
            recs.push(rec);
        }
        pools = p;
    }
    prop_assert_eq!(log_of(&ledger).len(), model.log.len());
    Ok(Built {
        ledger,
        model,
        recs,
        refused,
        retries: total_retries,
    })
}

// ---------------------------------------------------------------------------
// Query points
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Query {
    /// T: a valid bound of some event (plus -1, 0 or +1 minute) or any minute.
    t: (Index, i8, Option<i8>),
    /// R: around a recorded time of the log.
    r: Index,
    /// 0-1: everything; 2, 3: a story; 4: a claim; 5: an unknown claim.
    scope: (u8, Index),
    /// Valid-time bounds of audit rows (minutes).
    valid_range: (Option<i8>, Option<i8>),
    /// Recorded-time bounds of audit rows.
    rec_range: (Option<Index>, Option<Index>),
}

fn query() -> impl Strategy<Value = Query> {
    (
        (
            any::<Index>(),
            -1..=1i8,
            prop::option::weighted(0.25, -2..=32i8),
        ),
        any::<Index>(),
        (0..6u8, any::<Index>()),
        (
            prop::option::weighted(0.3, -1..=30i8),
            prop::option::weighted(0.3, -1..=30i8),
        ),
        (
            prop::option::weighted(0.3, any::<Index>()),
            prop::option::weighted(0.3, any::<Index>()),
        ),
    )
        .prop_map(|(t, r, scope, valid_range, rec_range)| Query {
            t,
            r,
            scope,
            valid_range,
            rec_range,
        })
}

impl Built {
    fn t_of(&self, q: &Query) -> Time {
        let bounds: BTreeSet<i64> = self
            .model
            .log
            .iter()
            .filter_map(|e| e.valid())
            .flat_map(|(f, t)| [vmin(f), vmin(t)])
            .collect();
        let bounds: Vec<i64> = bounds.into_iter().collect();
        match q.t.2 {
            Some(m) => vt(m as i64),
            None if bounds.is_empty() => vt(5),
            None => vt(bounds[q.t.0.index(bounds.len())] + q.t.1 as i64),
        }
    }

    /// Recorded times worth asking at: before anything, each recorded time
    /// and a second either side of it, and long after.
    fn r_candidates(&self) -> Vec<Time> {
        let mut out = vec![rt(0)];
        for r in &self.recs {
            out.extend([*r - Duration::seconds(1), *r, *r + Duration::seconds(1)]);
        }
        out.push(rt(1_000_000));
        out
    }

    fn r_of(&self, i: &Index) -> Time {
        let c = self.r_candidates();
        c[i.index(c.len())]
    }

    fn scope_of(&self, q: &Query) -> Scope {
        let claims = self.model.claims();
        match q.scope.0 {
            2 | 3 => Scope {
                story: Some(STORIES[(q.scope.0 - 2) as usize].to_string()),
                claim: None,
            },
            4 if !claims.is_empty() => Scope {
                story: None,
                claim: Some(claims[q.scope.1.index(claims.len())]),
            },
            5 => Scope {
                story: None,
                claim: Some(Uuid::from_u128(0xDEAD_0001)),
            },
            _ => Scope::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------

fn fmt_standing(s: &RStanding) -> String {
    match s {
        RStanding::Absent => "absent".into(),
        RStanding::Pending => "pending".into(),
        RStanding::Present(s) => format!(
            "{} since {} events {} pending {:?}",
            s.status,
            vmin(s.since),
            s.events,
            s.pending.iter().map(|id| short(*id)).collect::<Vec<_>>()
        ),
    }
}

/// The production standing in the reference's terms.
fn prod_standing(h: &ClaimHistory, view: &View) -> RStanding {
    match h.state(view) {
        Standing::Absent => RStanding::Absent,
        Standing::Pending => RStanding::Pending,
        Standing::Present(s) => RStanding::Present(RState {
            status: s.status.as_str(),
            since: s.since,
            events: s.events,
            pending: s.pending.iter().map(|r| r.event.id).collect(),
        }),
    }
}

/// Scoping to a story that has no claim in the ledger is an error
/// (`NotFound`, as for any unknown name); every other scope is answered.
fn answered<T>(
    b: &Built,
    scope: &Scope,
    what: &str,
    result: claims_core::Result<T>,
) -> Result<Option<T>, TestCaseError> {
    let unknown_story = scope.story.as_ref().is_some_and(|s| {
        !b.model
            .log
            .iter()
            .any(|e| matches!(&e.what, What::Asserted { story, .. } if story == s))
    });
    match result {
        Ok(v) if !unknown_story => Ok(Some(v)),
        Err(e) if unknown_story && e.kind() == ErrorKind::NotFound => Ok(None),
        Ok(_) => Err(TestCaseError::fail(format!(
            "{what} answered for story {:?}, which has no claim",
            scope.story
        ))),
        Err(e) => Err(TestCaseError::fail(format!("{what} failed: {e}"))),
    }
}

/// The whole ledger's state read from the claim summaries (and any scope's
/// through the streaming reader) is the state the histories give.
fn same_state_streamed(
    b: &Built,
    report: &claims_core::query::StateReport,
    scope: &Scope,
) -> Result<(), TestCaseError> {
    let items = b
        .ledger
        .state_items(report.view, scope)
        .and_then(|i| i.collect::<claims_core::Result<Vec<_>>>())
        .map_err(|e| TestCaseError::fail(format!("streamed state failed: {e}")))?;
    let fmt = |s: &Standing| match s {
        Standing::Absent => "absent".to_string(),
        Standing::Pending => "pending".to_string(),
        Standing::Present(s) => format!(
            "{} since {} because {} events {} pending {:?}",
            s.status.as_str(),
            s.since,
            s.because,
            s.events,
            s.pending.iter().map(|r| r.seq).collect::<Vec<_>>()
        ),
    };
    let got: Vec<(Uuid, String)> = items
        .iter()
        .map(|i| (i.claim(), fmt(&i.standing)))
        .collect();
    let mut want: Vec<(u64, Uuid, String)> = report
        .claims
        .iter()
        .chain(&report.pending)
        .map(|h| {
            (
                h.asserted.as_ref().map_or(0, |r| r.seq),
                h.claim,
                fmt(&h.state(&report.view)),
            )
        })
        .collect();
    want.sort();
    let want: Vec<(Uuid, String)> = want.into_iter().map(|(_, c, s)| (c, s)).collect();
    prop_assert_eq!(got, want, "streamed state vs state, scope {:?}", scope);
    Ok(())
}

/// The streaming audit lists the rows the audit lists, in its order.
fn same_audit_streamed(
    b: &Built,
    rows: &[claims_core::query::AuditRow],
    scope: &Scope,
    opts: &AuditOptions,
) -> Result<(), TestCaseError> {
    let streamed = b
        .ledger
        .audit_rows(scope, opts)
        .and_then(|i| i.collect::<claims_core::Result<Vec<_>>>())
        .map_err(|e| TestCaseError::fail(format!("streamed audit failed: {e}")))?;
    let key = |r: &claims_core::query::AuditRow| (r.claim, r.t.record.seq, r.t.from, r.t.to);
    prop_assert_eq!(
        streamed.iter().map(key).collect::<Vec<_>>(),
        rows.iter().map(key).collect::<Vec<_>>(),
        "streamed audit vs audit, scope {:?}",
        scope
    );
    Ok(())
}

fn check_state(b: &Built, t: Time, r: Time, scope: &Scope) -> Result<(), TestCaseError> {
    let m = &b.model;
    let p = Pt::new(t, r);
    let ctx = || {
        format!(
            "at T=minute {} R=second {} scope story={:?} claim={:?}\n{}",
            vmin(t),
            rsec(r),
            scope.story,
            scope.claim.map(short),
            m.dump()
        )
    };
    let Some(report) = answered(b, scope, "state", b.ledger.state(View::new(t, r), scope))? else {
        return Ok(());
    };
    same_state_streamed(b, &report, scope)?;

    let mut want_present = BTreeMap::new();
    let mut want_pending = BTreeSet::new();
    for c in m.claims().into_iter().filter(|c| m.in_scope(*c, scope)) {
        match m.standing(c, p) {
            RStanding::Absent => {}
            RStanding::Pending => {
                want_pending.insert(c);
            }
            RStanding::Present(s) => {
                want_present.insert(c, s);
            }
        }
    }
    let mut got_present = BTreeMap::new();
    for h in &report.claims {
        match prod_standing(h, &report.view) {
            RStanding::Present(s) => {
                got_present.insert(h.claim, s);
            }
            other => {
                return Err(TestCaseError::fail(format!(
                    "state lists {} among claims but it is {}\n{}",
                    short(h.claim),
                    fmt_standing(&other),
                    ctx()
                )))
            }
        }
    }
    let got_pending: BTreeSet<Uuid> = report.pending.iter().map(|h| h.claim).collect();
    prop_assert_eq!(
        report.pending.len(),
        got_pending.len(),
        "a claim listed twice as pending"
    );

    for c in want_present
        .keys()
        .chain(got_present.keys())
        .collect::<BTreeSet<_>>()
    {
        let want = want_present
            .get(c)
            .map(|s| fmt_standing(&RStanding::Present(s.clone())));
        let got = got_present
            .get(c)
            .map(|s| fmt_standing(&RStanding::Present(s.clone())));
        prop_assert_eq!(
            got,
            want,
            "claim {}: production (left) vs reference (right) {}",
            short(*c),
            ctx()
        );
    }
    prop_assert_eq!(
        got_pending.iter().map(|c| short(*c)).collect::<Vec<_>>(),
        want_pending.iter().map(|c| short(*c)).collect::<Vec<_>>(),
        "top-level pending claims, {}",
        ctx()
    );

    // The entry named as the cause of each status gives that status, counts,
    // and its valid.to is the status's `since`.
    for h in &report.claims {
        if let Standing::Present(s) = h.state(&report.view) {
            let e = m.get(s.because).expect("cause is in the log");
            prop_assert!(
                m.counts(e, p),
                "cause {} does not count; {}",
                short(e.id),
                ctx()
            );
            prop_assert_eq!(
                m.gives(e, h.claim),
                Some(s.status.as_str()),
                "cause; {}",
                ctx()
            );
            prop_assert_eq!(e.valid().unwrap().1, s.since, "cause's valid.to; {}", ctx());
        }
    }

    // The JSON shape carries the same answers.
    let json = report.to_json();
    let claims = json["claims"].as_array().expect("claims array");
    prop_assert_eq!(claims.len(), want_present.len());
    for entry in claims {
        let c: Uuid = entry["claim"].as_str().unwrap().parse().unwrap();
        let want = &want_present[&c];
        prop_assert_eq!(entry["status"].as_str(), Some(want.status));
        prop_assert_eq!(entry["events"].as_u64(), Some(want.events as u64));
        let since = chrono::DateTime::parse_from_rfc3339(entry["since"].as_str().unwrap()).unwrap();
        prop_assert_eq!(since.with_timezone(&Utc), want.since);
        let pending: Vec<Uuid> = entry["pending"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().parse().unwrap())
            .collect();
        prop_assert_eq!(&pending, &want.pending);
    }
    let pending: BTreeSet<Uuid> = json["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["claim"].as_str().unwrap().parse().unwrap())
        .collect();
    prop_assert_eq!(pending, want_pending);
    Ok(())
}

fn check_diff(b: &Built, before: Pt, after: Pt, scope: &Scope) -> Result<(), TestCaseError> {
    let m = &b.model;
    let changes = b.ledger.diff(
        View::new(before.t, before.r),
        View::new(after.t, after.r),
        scope,
    );
    let Some(changes) = answered(b, scope, "diff", changes)? else {
        return Ok(());
    };
    let streamed: Vec<_> = b
        .ledger
        .diff_items(
            View::new(before.t, before.r),
            View::new(after.t, after.r),
            scope,
        )
        .and_then(|i| i.collect::<claims_core::Result<Vec<_>>>())
        .map_err(|e| TestCaseError::fail(format!("streamed diff failed: {e}")))?;
    prop_assert_eq!(&streamed, &changes, "streamed diff vs diff");
    let got: BTreeMap<Uuid, (Option<&str>, Option<&str>)> = changes
        .into_iter()
        .map(|c| {
            (
                c.claim,
                (c.before.map(|s| s.as_str()), c.after.map(|s| s.as_str())),
            )
        })
        .collect();
    let want: BTreeMap<Uuid, (Option<&str>, Option<&str>)> = m
        .claims()
        .into_iter()
        .filter(|c| m.in_scope(*c, scope))
        .map(|c| (c, (m.status(c, before), m.status(c, after))))
        .filter(|(_, (x, y))| x != y)
        .collect();
    prop_assert_eq!(
        got,
        want,
        "diff between T={} R={} and T={} R={}\n{}",
        vmin(before.t),
        rsec(before.r),
        vmin(after.t),
        rsec(after.r),
        m.dump()
    );
    Ok(())
}

type Row = (Uuid, String, Option<&'static str>, Option<&'static str>);

fn check_valid_audit(
    b: &Built,
    r: Time,
    scope: &Scope,
    range: (Option<i8>, Option<i8>),
) -> Result<(), TestCaseError> {
    let m = &b.model;
    let (from, to) = (range.0.map(|x| vt(x as i64)), range.1.map(|x| vt(x as i64)));
    let opts = AuditOptions {
        recorded: false,
        at: Time::MAX_UTC,
        as_of: r,
        from,
        to,
    };
    let Some(rows) = answered(b, scope, "audit", b.ledger.audit(scope, &opts))? else {
        return Ok(());
    };
    same_audit_streamed(b, &rows, scope, &opts)?;
    let ctx = || {
        format!(
            "valid-time audit as of R={} rows in [{:?},{:?}] scope story={:?} claim={:?}\n{}",
            rsec(r),
            range.0,
            range.1,
            scope.story,
            scope.claim.map(short),
            m.dump()
        )
    };
    let mut got: Vec<Row> = Vec::new();
    let mut last_key = None;
    for row in &rows {
        let e = m
            .get(row.t.record.event.id)
            .expect("row's entry is in the log");
        let (_, key) = e.valid().expect("a valid-time row names a world event");
        prop_assert!(
            last_key <= Some(key),
            "rows out of valid-time order; {}",
            ctx()
        );
        last_key = Some(key);
        // The named entry is there at that time and touches the claim.
        prop_assert!(
            m.counts(e, Pt::new(key, r)),
            "row entry {} does not count; {}",
            short(e.id),
            ctx()
        );
        let touches = match &e.what {
            What::Asserted {
                claim, supersedes, ..
            } => *claim == row.claim || *supersedes == Some(row.claim),
            What::Follow { claim, .. } => *claim == row.claim,
            What::Voided { .. } => false,
        };
        prop_assert!(
            touches,
            "row entry {} does not touch {}; {}",
            short(e.id),
            short(row.claim),
            ctx()
        );
        got.push((
            row.claim,
            format!("T={}", vmin(key)),
            row.t.from.map(|s| s.as_str()),
            row.t.to.map(|s| s.as_str()),
        ));
    }
    let mut want: Vec<Row> = Vec::new();
    for c in m.claims().into_iter().filter(|c| m.in_scope(*c, scope)) {
        for (t, x, y) in m.valid_rows(c, r) {
            if from.is_none_or(|f| t >= f) && to.is_none_or(|u| t <= u) {
                want.push((c, format!("T={}", vmin(t)), x, y));
            }
        }
    }
    // Compare each claim's rows in order; rows of different claims at the
    // same time may interleave either way.
    got.sort_by_key(|r| r.0);
    want.sort_by_key(|r| r.0);
    prop_assert_eq!(
        got,
        want,
        "production (left) vs reference (right) {}",
        ctx()
    );
    Ok(())
}

fn check_recorded_audit(
    b: &Built,
    t: Time,
    r: Time,
    scope: &Scope,
    range: (Option<Time>, Option<Time>),
) -> Result<(), TestCaseError> {
    let m = &b.model;
    let opts = AuditOptions {
        recorded: true,
        at: t,
        as_of: r,
        from: range.0,
        to: range.1,
    };
    let Some(rows) = answered(b, scope, "audit", b.ledger.audit(scope, &opts))? else {
        return Ok(());
    };
    same_audit_streamed(b, &rows, scope, &opts)?;
    let ctx = || {
        format!(
            "recorded audit at T={} as of R={} rows in [{:?},{:?}] scope story={:?} claim={:?}\n{}",
            vmin(t),
            rsec(r),
            range.0.map(rsec),
            range.1.map(rsec),
            scope.story,
            scope.claim.map(short),
            m.dump()
        )
    };
    let seqs: Vec<u64> = rows.iter().map(|r| r.t.record.seq).collect();
    prop_assert!(
        seqs.windows(2).all(|w| w[0] <= w[1]),
        "rows out of seq order; {}",
        ctx()
    );
    let mut got: Vec<(u64, Uuid, Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|row| {
            (
                row.t.record.seq,
                row.claim,
                row.t.from.map(|s| s.as_str()),
                row.t.to.map(|s| s.as_str()),
            )
        })
        .collect();
    let mut want = Vec::new();
    for c in m.claims().into_iter().filter(|c| m.in_scope(*c, scope)) {
        for (seq, x, y) in m.recorded_rows(c, t, r) {
            let rec = m.log[seq as usize - 1].rec;
            if range.0.is_none_or(|f| rec >= f) && range.1.is_none_or(|u| rec <= u) {
                want.push((seq, c, x, y));
            }
        }
    }
    got.sort();
    want.sort();
    prop_assert_eq!(
        got,
        want,
        "production (left) vs reference (right) {}",
        ctx()
    );
    Ok(())
}

/// Replaying a claim's entries in any order gives the same state.
fn check_order_independence(
    b: &Built,
    claim: Uuid,
    shuffle: &[Index],
    views: &[View],
) -> Result<(), TestCaseError> {
    let h = b
        .ledger
        .history(claim)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut records: Vec<Record> = h.asserted.iter().chain(h.others.iter()).cloned().collect();
    records.sort_by_key(|r| r.seq);
    for (i, s) in shuffle.iter().enumerate() {
        if records.len() > 1 {
            let j = s.index(records.len());
            let n = records.len();
            records.swap(i % n, j);
        }
    }
    let mut again = ClaimHistory::new(claim);
    for r in &records {
        again.apply(r);
    }
    for v in views {
        prop_assert_eq!(
            prod_standing(&again, v),
            prod_standing(&h, v),
            "replaying {} in the order {:?}",
            short(claim),
            records.iter().map(|r| r.seq).collect::<Vec<_>>()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// 2000 cases per property (about 10 s for both in a debug build), or
/// `MODEL_CASES` for a longer hunt.
///
/// Failures are kept in `model.proptest-regressions` beside this file and
/// re-run first. proptest's default (`SourceParallel`) would look for
/// `tests/proptest-regressions/model.txt` instead, since this directory has a
/// `main.rs`, and silently skip the cases kept here.
fn config() -> ProptestConfig {
    let cases = std::env::var("MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config())]

    /// State (per-claim status, since, events, pending; top-level pending) and
    /// diff agree with the reference at random points and scopes, and a
    /// claim's state does not depend on replay order.
    #[test]
    fn state_and_diff_match_the_reference(
        log in batches(),
        queries in prop::collection::vec(query(), 1..6),
        shuffle in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let b = build(&log)?;
        let mut points = Vec::new();
        for q in &queries {
            let (t, r, scope) = (b.t_of(q), b.r_of(&q.r), b.scope_of(q));
            check_state(&b, t, r, &scope)?;
            check_state(&b, t, r, &Scope::default())?;
            points.push((Pt::new(t, r), scope));
        }
        for w in points.windows(2) {
            check_diff(&b, w[0].0, w[1].0, &w[1].1)?;
            // Same T, two recorded times: what we knew then vs later.
            check_diff(&b, Pt::new(w[1].0.t, w[0].0.r), w[1].0, &Scope::default())?;
        }
        let views: Vec<View> = points.iter().map(|(p, _)| View::new(p.t, p.r)).collect();
        for c in b.model.claims() {
            check_order_independence(&b, c, &shuffle, &views)?;
        }
    }

    /// Both audits agree with the reference: valid-time rows as T sweeps at
    /// R, and recorded-time rows (voids included) as the log is learned entry
    /// by entry at T, with and without row bounds.
    #[test]
    fn audits_match_the_reference(
        log in batches(),
        queries in prop::collection::vec(query(), 1..4),
    ) {
        let b = build(&log)?;
        for q in &queries {
            let (t, r, scope) = (b.t_of(q), b.r_of(&q.r), b.scope_of(q));
            check_valid_audit(&b, r, &scope, q.valid_range)?;
            check_valid_audit(&b, r, &Scope::default(), (None, None))?;
            let range = (
                q.rec_range.0.as_ref().map(|i| b.r_of(i)),
                q.rec_range.1.as_ref().map(|i| b.r_of(i)),
            );
            check_recorded_audit(&b, t, r, &scope, range)?;
            check_recorded_audit(&b, t, r, &Scope::default(), (None, None))?;
        }
    }
}

// ---------------------------------------------------------------------------
// Given / when / then
// ---------------------------------------------------------------------------

fn e(n: u128) -> Uuid {
    event_id(n)
}

fn c(n: u128) -> Uuid {
    claim_id(n)
}

fn ledger_with(batches: Vec<(i64, Vec<Event>)>) -> Ledger<MemStore> {
    let mut l = Ledger::new(MemStore::new());
    for (now, events) in batches {
        let batch = events
            .into_iter()
            .map(|event| Incoming { line: None, event })
            .collect();
        l.append(batch, rt(now)).expect("batch accepted");
    }
    l
}

fn standing_of(l: &Ledger<MemStore>, claim: Uuid, t: i64, r: i64) -> RStanding {
    let h = l.history(claim).expect("history");
    prod_standing(&h, &View::new(vt(t), rt(r)))
}

fn present(status: &'static str, since: i64, events: usize, pending: Vec<Uuid>) -> RStanding {
    RStanding::Present(RState {
        status,
        since: vt(since),
        events,
        pending,
    })
}

#[test]
fn a_corroboration_by_the_claimants_own_side_is_ignored() {
    // Given Amazon's claim, corroborated by " amazon " and later by Reuters
    let l = ledger_with(vec![(
        10,
        vec![
            assertion(e(1), c(1), STORIES[0], "Amazon".into(), 0, 0, None),
            follow_up(
                e(2),
                FollowUpKind::Corroborated,
                c(1),
                " AMAZON ".into(),
                2,
                2,
            ),
            follow_up(
                e(3),
                FollowUpKind::Corroborated,
                c(1),
                "Reuters".into(),
                5,
                5,
            ),
        ],
    )]);
    // When the state is read between the two, then it is still reported (the
    // own-side corroboration is one of its events all the same)
    assert_eq!(
        standing_of(&l, c(1), 3, 10),
        present("reported", 0, 2, vec![])
    );
    // and after Reuters it is corroborated since Reuters's time
    assert_eq!(
        standing_of(&l, c(1), 5, 10),
        present("corroborated", 5, 3, vec![])
    );
    // and the valid-time audit shows a single change to corroborated, at 5
    let rows = l
        .audit(
            &Scope::default(),
            &AuditOptions {
                recorded: false,
                at: Time::MAX_UTC,
                as_of: rt(10),
                from: None,
                to: None,
            },
        )
        .unwrap();
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.t.record.event.id,
                r.t.from.map(|s| s.as_str()),
                r.t.to.map(|s| s.as_str()),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (e(1), None, Some("reported")),
            (e(3), Some("reported"), Some("corroborated"))
        ]
    );
}

#[test]
fn a_voided_assertion_removes_the_claim_only_as_of_the_voids_recorded_time() {
    // Given a claim and a dispute recorded at 10 s, and the assertion voided at 20 s
    let l = ledger_with(vec![
        (
            10,
            vec![
                assertion(e(1), c(1), STORIES[0], "Amazon".into(), 0, 0, None),
                follow_up(e(2), FollowUpKind::Disputed, c(1), "TikTok".into(), 1, 1),
            ],
        ),
        (20, vec![void(e(3), e(1))]),
    ]);
    // Then as of 19 s it is disputed, as of 20 s it is gone with its events
    assert_eq!(
        standing_of(&l, c(1), 5, 19),
        present("disputed", 1, 2, vec![])
    );
    assert_eq!(standing_of(&l, c(1), 5, 20), RStanding::Absent);
    let state = l
        .state(View::new(vt(5), rt(20)), &Scope::default())
        .unwrap();
    assert!(state.claims.is_empty() && state.pending.is_empty());
    // and the recorded audit names the void as the change to absent
    let rows = l
        .audit(
            &Scope::default(),
            &AuditOptions {
                recorded: true,
                at: vt(5),
                as_of: rt(30),
                from: None,
                to: None,
            },
        )
        .unwrap();
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.t.record.event.id,
                r.t.from.map(|s| s.as_str()),
                r.t.to.map(|s| s.as_str()),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (e(1), None, Some("reported")),
            (e(2), Some("reported"), Some("disputed")),
            (e(3), Some("disputed"), None),
        ]
    );
    // and voiding it again changes nothing
    let mut l = l;
    l.append(
        vec![Incoming {
            line: None,
            event: void(e(4), e(1)),
        }],
        rt(30),
    )
    .expect("a second void of the same entry is allowed");
    assert_eq!(standing_of(&l, c(1), 5, 30), RStanding::Absent);
    assert_eq!(
        standing_of(&l, c(1), 5, 19),
        present("disputed", 1, 2, vec![])
    );
}

#[test]
fn a_claim_is_superseded_only_while_the_superseding_assertion_counts() {
    // Given claim 1 at 0, and claim 2 over [10, 14] superseding it, then
    // claim 2's assertion voided at 30 s
    let l = ledger_with(vec![
        (
            10,
            vec![assertion(
                e(1),
                c(1),
                STORIES[0],
                "Amazon".into(),
                0,
                0,
                None,
            )],
        ),
        (
            20,
            vec![assertion(
                e(2),
                c(2),
                STORIES[1],
                "Amazon spokesperson".into(),
                10,
                14,
                Some(c(1)),
            )],
        ),
        (30, vec![void(e(3), e(2))]),
    ]);
    // Then while claim 2 only possibly happened, claim 1 is not superseded
    // and claim 2 is listed as pending
    assert_eq!(
        standing_of(&l, c(1), 12, 20),
        present("reported", 0, 1, vec![])
    );
    assert_eq!(standing_of(&l, c(2), 12, 20), RStanding::Pending);
    let state = l
        .state(View::new(vt(12), rt(20)), &Scope::default())
        .unwrap();
    assert_eq!(
        state.pending.iter().map(|h| h.claim).collect::<Vec<_>>(),
        vec![c(2)]
    );
    // and it is superseded from 14, not counted among claim 1's events
    assert_eq!(
        standing_of(&l, c(1), 14, 20),
        present("superseded", 14, 1, vec![])
    );
    // and not before claim 2 was recorded
    assert_eq!(
        standing_of(&l, c(1), 14, 19),
        present("reported", 0, 1, vec![])
    );
    // and no longer once claim 2's assertion is voided
    assert_eq!(
        standing_of(&l, c(1), 14, 30),
        present("reported", 0, 1, vec![])
    );
    // and the story scope of claim 1 still sees the superseding entry
    let scoped = l
        .state(
            View::new(vt(14), rt(20)),
            &Scope {
                story: Some(STORIES[0].into()),
                claim: None,
            },
        )
        .unwrap();
    assert_eq!(scoped.claims.len(), 1);
    assert_eq!(
        prod_standing(&scoped.claims[0], &scoped.view),
        present("superseded", 14, 1, vec![])
    );
}

#[test]
fn an_event_is_pending_from_its_start_and_counts_from_its_end() {
    // Given a claim at exactly 10 and a refutation over [12, 16]
    let l = ledger_with(vec![(
        10,
        vec![
            assertion(e(1), c(1), STORIES[0], "Amazon".into(), 10, 10, None),
            follow_up(e(2), FollowUpKind::Refuted, c(1), "TikTok".into(), 12, 16),
        ],
    )]);
    // Then before 10 the claim is absent, and at exactly 10 it counts
    assert_eq!(standing_of(&l, c(1), 9, 10), RStanding::Absent);
    assert_eq!(
        standing_of(&l, c(1), 10, 10),
        present("reported", 10, 1, vec![])
    );
    // and the refutation is neither pending nor counted before 12
    assert_eq!(
        standing_of(&l, c(1), 11, 10),
        present("reported", 10, 1, vec![])
    );
    // and pending from exactly 12 up to (not including) 16
    assert_eq!(
        standing_of(&l, c(1), 12, 10),
        present("reported", 10, 1, vec![e(2)])
    );
    assert_eq!(
        standing_of(&l, c(1), 15, 10),
        present("reported", 10, 1, vec![e(2)])
    );
    // and counting at exactly 16
    assert_eq!(
        standing_of(&l, c(1), 16, 10),
        present("refuted", 16, 2, vec![])
    );
    // and nothing is known before the recorded time
    assert_eq!(standing_of(&l, c(1), 16, 9), RStanding::Absent);
}

#[test]
fn an_asserted_interval_makes_the_claim_pending_then_present() {
    // Given a claim over [3, 8] and a retraction at exactly 5 (inside it)
    let l = ledger_with(vec![(
        10,
        vec![
            assertion(e(1), c(1), STORIES[0], "Amazon".into(), 3, 8, None),
            follow_up(
                e(2),
                FollowUpKind::Retracted,
                c(1),
                "Amazon spokesperson".into(),
                5,
                5,
            ),
        ],
    )]);
    // Then the claim is pending over [3, 8), and retracted since 5 from 8 on
    assert_eq!(standing_of(&l, c(1), 2, 10), RStanding::Absent);
    assert_eq!(standing_of(&l, c(1), 3, 10), RStanding::Pending);
    assert_eq!(standing_of(&l, c(1), 7, 10), RStanding::Pending);
    assert_eq!(
        standing_of(&l, c(1), 8, 10),
        present("retracted", 5, 2, vec![])
    );
}

#[test]
fn since_is_the_earliest_event_giving_the_status_whatever_the_order() {
    // Given two disputes, the later one recorded first
    let l = ledger_with(vec![
        (
            10,
            vec![
                assertion(e(1), c(1), STORIES[0], "Amazon".into(), 0, 0, None),
                follow_up(e(2), FollowUpKind::Disputed, c(1), "TikTok".into(), 9, 9),
            ],
        ),
        (
            20,
            vec![follow_up(
                e(3),
                FollowUpKind::Disputed,
                c(1),
                "Reuters".into(),
                4,
                6,
            )],
        ),
    ]);
    // Then the status is disputed since the earliest end
    assert_eq!(
        standing_of(&l, c(1), 9, 20),
        present("disputed", 6, 3, vec![])
    );
    assert_eq!(
        standing_of(&l, c(1), 9, 10),
        present("disputed", 9, 2, vec![])
    );
    // and retracted outranks superseded, which outranks refuted
    let mut l = l;
    l.append(
        vec![
            Incoming {
                line: None,
                event: follow_up(e(4), FollowUpKind::Refuted, c(1), "Reuters".into(), 10, 10),
            },
            Incoming {
                line: None,
                event: assertion(e(5), c(2), STORIES[0], "TikTok".into(), 11, 11, Some(c(1))),
            },
            Incoming {
                line: None,
                event: follow_up(e(6), FollowUpKind::Retracted, c(1), "Amazon".into(), 12, 12),
            },
        ],
        rt(30),
    )
    .unwrap();
    assert_eq!(
        standing_of(&l, c(1), 10, 30),
        present("refuted", 10, 4, vec![])
    );
    assert_eq!(
        standing_of(&l, c(1), 11, 30),
        present("superseded", 11, 4, vec![])
    );
    assert_eq!(
        standing_of(&l, c(1), 12, 30),
        present("retracted", 12, 5, vec![])
    );
}

#[test]
fn the_ledger_refuses_events_whose_valid_time_runs_backwards_or_whose_by_is_blank() {
    // SPEC "Append rules": `from > to` and an empty or blank `by` are errors,
    // and ledger.rs promises that nothing breaking an append rule reaches the
    // store, whoever builds the event.
    let l = ledger_with(vec![(
        10,
        vec![assertion(
            e(1),
            c(1),
            STORIES[0],
            "Amazon".into(),
            0,
            0,
            None,
        )],
    )]);
    let mut backwards = follow_up(e(2), FollowUpKind::Disputed, c(1), "TikTok".into(), 5, 5);
    if let Body::FollowedUp(f) = &mut backwards.body {
        f.valid.to = vt(4);
    }
    let blank = follow_up(e(3), FollowUpKind::Disputed, c(1), "   ".into(), 5, 5);
    let mut accepted = Vec::new();
    for (what, bad) in [
        ("valid.from > valid.to", backwards),
        ("a blank `by`", blank),
    ] {
        let mut fresh = Ledger::new(l.store().clone());
        let before = log_of(&fresh);
        let result = fresh.append(
            vec![Incoming {
                line: Some(1),
                event: bad,
            }],
            rt(20),
        );
        if result.is_ok() {
            accepted.push(what);
        } else {
            assert_eq!(log_of(&fresh), before);
        }
    }
    assert!(
        accepted.is_empty(),
        "Ledger::append accepted events with {accepted:?}"
    );
}

/// The generator reaches every rule the properties are meant to exercise
/// (guards against a generator that silently stops covering one).
#[test]
fn the_generator_covers_every_rule() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut hit = |what: &'static str, yes: bool| {
        *seen.entry(what).or_default() += yes as usize;
    };
    for _ in 0..500 {
        let log = batches().new_tree(&mut runner).unwrap().current();
        let b = build(&log).expect("built");
        let m = &b.model;
        hit("refused batch", b.refused > 0);
        hit("idempotent retry", b.retries > 0);
        hit("several recorded times", b.recs.len() >= 3);
        let targets: Vec<Uuid> = m
            .log
            .iter()
            .filter_map(|e| match e.what {
                What::Voided { target } => Some(target),
                _ => None,
            })
            .collect();
        for t in &targets {
            let kind = match m.get(*t).map(|e| &e.what) {
                Some(What::Asserted {
                    supersedes: Some(_),
                    ..
                }) => "void of a superseding assertion",
                Some(What::Asserted { .. }) => "void of an assertion",
                Some(What::Follow { .. }) => "void of a follow-up",
                _ => "void of something else",
            };
            hit(kind, true);
        }
        hit(
            "void of a voided entry",
            targets.iter().collect::<BTreeSet<_>>().len() < targets.len(),
        );
        let stories: BTreeSet<String> = m
            .log
            .iter()
            .filter_map(|e| match &e.what {
                What::Asserted { story, .. } => Some(story.clone()),
                _ => None,
            })
            .collect();
        hit("two stories", stories.len() == 2);
        for e in &m.log {
            if let What::Follow {
                kind: "corroborated",
                claim,
                by,
                ..
            } = &e.what
            {
                let claimant = m.claim_by(*claim);
                hit(
                    "own-side corroboration spelled differently",
                    ref_same_party(by, &claimant) && *by != claimant,
                );
                hit(
                    "corroboration by another party",
                    !ref_same_party(by, &claimant),
                );
            }
            if let (Some((f, t)), What::Follow { claim, .. }) = (e.valid(), &e.what) {
                hit("interval follow-up", f < t);
                let earlier_but_later_in_world = m.log.iter().any(|o| {
                    o.seq < e.seq
                        && matches!(&o.what, What::Follow { claim: c, .. } if c == claim)
                        && o.valid().unwrap().1 > t
                });
                hit(
                    "follow-up out of valid-time order",
                    earlier_but_later_in_world,
                );
            }
        }
        let end = Pt::new(Time::MAX_UTC, Time::MAX_UTC);
        for c in m.claims() {
            for t in m.sweep() {
                match m.standing(c, Pt::new(t, end.r)) {
                    RStanding::Pending => hit("pending claim", true),
                    RStanding::Present(s) => {
                        hit(s.status, true);
                        hit("pending follow-up", !s.pending.is_empty());
                    }
                    RStanding::Absent => {}
                }
            }
            if let Some(s) = m.status(c, end) {
                hit(s, true);
            }
            hit(
                "claim removed by a void",
                m.assertion(c).is_some_and(|a| m.voided(a.id, end)),
            );
        }
    }
    for what in [
        "refused batch",
        "idempotent retry",
        "several recorded times",
        "void of a superseding assertion",
        "void of an assertion",
        "void of a follow-up",
        "void of a voided entry",
        "two stories",
        "own-side corroboration spelled differently",
        "corroboration by another party",
        "interval follow-up",
        "follow-up out of valid-time order",
        "pending claim",
        "pending follow-up",
        "claim removed by a void",
        "reported",
        "corroborated",
        "disputed",
        "refuted",
        "superseded",
        "retracted",
    ] {
        let n = seen.get(what).copied().unwrap_or(0);
        assert!(
            n >= 10,
            "the generator reached `{what}` only {n} times in 500 logs: {seen:?}"
        );
    }
    eprintln!("{seen:#?}");
}
