//! Read models: the belief state, one claim, the audit trail and diffs, built
//! from [`ClaimHistory`] folds over exactly the entries they need.
//!
//! A story's or a claim's query reads only that story's or claim's entries
//! through the claim and story indexes; only an unscoped query scans the log.

use std::collections::HashMap;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{Error, Hint, Result};
use crate::event::Body;
use crate::ledger::Ledger;
use crate::projection::{ClaimHistory, EntryStanding, Standing, Status, Transition, View};
use crate::record::{fmt_recorded, Record};
use crate::store::Store;
use crate::summary::ClaimHeader;
use crate::time::{fmt_time, Time};

/// Which claims a query covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only this story.
    pub story: Option<String>,
    /// Only this claim.
    pub claim: Option<Uuid>,
}

impl<S: Store> Ledger<S> {
    /// The full history of one claim, through the claim index.
    pub fn history(&self, claim: Uuid) -> Result<ClaimHistory> {
        if let Some(h) = self.read_cache().histories.get(&claim) {
            return Ok(h.clone());
        }
        let mut h = ClaimHistory::new(claim);
        for (seq, _) in self.store().claim_entries(claim)? {
            if let Some(r) = self.store().get(seq)? {
                h.apply(&r);
            }
        }
        let mut cache = self.read_cache();
        if cache.histories.len() >= crate::ledger::ReadCache::MAX_HISTORIES {
            cache.histories.clear();
        }
        cache.histories.insert(claim, h.clone());
        Ok(h)
    }

    /// The histories of `ids`, in that order. When many are not in the read
    /// cache, the second half is read on another thread: a story's claims
    /// lie in as many log blocks as they have entries, and a long-lived
    /// process (the ledger server) has both cores to read them with.
    fn histories_of(&self, ids: &[Uuid]) -> Result<Vec<ClaimHistory>> {
        const PARALLEL_FROM: usize = 6;
        let misses = {
            let cache = self.read_cache();
            ids.iter()
                .filter(|c| !cache.histories.contains_key(c))
                .count()
        };
        if misses < PARALLEL_FROM {
            return ids.iter().map(|c| self.history(*c)).collect();
        }
        let (first, second) = ids.split_at(ids.len() / 2);
        let read = |part: &[Uuid]| {
            part.iter()
                .map(|c| self.history(*c))
                .collect::<Result<Vec<_>>>()
        };
        let (a, b) = std::thread::scope(|s| {
            let other = std::thread::Builder::new().spawn_scoped(s, || read(second));
            let a = read(first);
            let b = match other {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                // No thread to be had: read it here.
                Err(_) => read(second),
            };
            (a, b)
        });
        let mut out = a?;
        out.extend(b?);
        Ok(out)
    }

    /// The claims of a story (through the story index), with their
    /// assertions' seqs.
    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        if let Some(c) = self.read_cache().stories.get(story) {
            return Ok(c.clone());
        }
        let claims = self.store().story_claims(story)?;
        let mut cache = self.read_cache();
        if cache.stories.len() >= crate::ledger::ReadCache::MAX_HISTORIES {
            cache.stories.clear();
        }
        cache.stories.insert(story.to_string(), claims.clone());
        Ok(claims)
    }

    /// The histories of the claims in `scope`, in assertion order.
    pub fn histories(&self, scope: &Scope) -> Result<Vec<ClaimHistory>> {
        let mut out = if let Some(c) = scope.claim {
            vec![self.history(c)?]
        } else if let Some(story) = &scope.story {
            let claims = self.story_claims(story)?;
            if claims.is_empty() {
                return Err(
                    Error::not_found(format!("there is no story `{story}` in the ledger"))
                        .with_hint(Hint::ListStories),
                );
            }
            let ids: Vec<Uuid> = claims.into_iter().map(|(c, _)| c).collect();
            self.histories_of(&ids)?
        } else {
            self.all_histories()?
        };
        out.retain(|h| {
            h.asserted.is_some()
                && scope
                    .story
                    .as_ref()
                    .is_none_or(|s| h.assertion().is_some_and(|a| &a.story == s))
        });
        out.sort_by_key(|h| h.asserted.as_ref().map(|r| r.seq));
        Ok(out)
    }

    /// Every claim's history, from one pass over the log. Records are moved
    /// into the histories, copied only for the few that touch two claims (an
    /// assertion that supersedes, and voids of it).
    fn all_histories(&self) -> Result<Vec<ClaimHistory>> {
        let n = self.store().head().seq as usize;
        let mut at: HashMap<Uuid, usize> = HashMap::with_capacity(n / 4);
        let mut out: Vec<ClaimHistory> = Vec::with_capacity(n / 4);
        // event id → the claims it touches (its own, and one it supersedes)
        let mut touched: HashMap<Uuid, (Uuid, Option<Uuid>)> = HashMap::with_capacity(n);
        let mut file = |c: Uuid, r: Record, out: &mut Vec<ClaimHistory>| {
            let i = *at.entry(c).or_insert_with(|| {
                out.push(ClaimHistory::new(c));
                out.len() - 1
            });
            let h = &mut out[i];
            match &r.event.body {
                Body::Asserted(a) if a.claim == c => h.asserted = Some(r),
                _ => h.others.push(r),
            }
        };
        for r in self.store().scan(1) {
            let r = r?;
            let (first, second) = match &r.event.body {
                Body::Voided(v) => match touched.get(&v.target) {
                    Some(t) => *t,
                    None => continue,
                },
                Body::Asserted(a) => {
                    touched.insert(r.event.id, (a.claim, a.supersedes));
                    (a.claim, a.supersedes)
                }
                Body::FollowedUp(f) => {
                    touched.insert(r.event.id, (f.claim, None));
                    (f.claim, None)
                }
            };
            if let Some(s) = second {
                file(s, r.clone(), &mut out);
            }
            file(first, r, &mut out);
        }
        Ok(out)
    }

    /// The belief state at `view` over `scope`.
    pub fn state(&self, view: View, scope: &Scope) -> Result<StateReport> {
        let mut claims = Vec::new();
        let mut pending = Vec::new();
        for h in self.histories(scope)? {
            match h.state(&view) {
                Standing::Absent => {}
                Standing::Pending => pending.push(h),
                Standing::Present(_) => claims.push(h),
            }
        }
        Ok(StateReport {
            view,
            claims,
            pending,
        })
    }

    /// Every status change over `scope`, in valid-time order (or, with
    /// `recorded`, in the order the ledger learned them, voids included).
    /// `from`/`to` bound the valid time (recorded time with `recorded`) of the
    /// entries listed.
    pub fn audit(&self, scope: &Scope, opts: &AuditOptions) -> Result<Vec<AuditRow>> {
        let mut rows = Vec::new();
        for h in self.histories(scope)? {
            let transitions = if opts.recorded {
                h.transitions_over_recorded_time(opts.at, opts.as_of)
            } else {
                h.transitions_over_valid_time(opts.as_of)
            };
            for t in transitions {
                rows.push(AuditRow { claim: h.claim, t });
            }
        }
        let key = |r: &AuditRow| -> Time {
            if opts.recorded {
                r.t.record.recorded_at
            } else {
                r.t.record
                    .event
                    .valid()
                    .map(|v| v.to)
                    .unwrap_or(r.t.record.recorded_at)
            }
        };
        rows.retain(|r| {
            opts.from.is_none_or(|f| key(r) >= f) && opts.to.is_none_or(|t| key(r) <= t)
        });
        if opts.recorded {
            rows.sort_by_key(|r| (r.t.record.seq, r.claim));
        } else {
            rows.sort_by_key(|r| (key(r), r.t.record.seq, r.claim));
        }
        Ok(rows)
    }

    /// Claims whose status or text differ between two views.
    pub fn diff(&self, before: View, after: View, scope: &Scope) -> Result<Vec<Change>> {
        let mut out = Vec::new();
        for h in self.histories(scope)? {
            let a = h.status(&before);
            let b = h.status(&after);
            if a != b {
                out.push(Change {
                    claim: h.claim,
                    text: h.assertion().map(|a| a.text.clone()).unwrap_or_default(),
                    before: a,
                    after: b,
                });
            }
        }
        Ok(out)
    }
}

/// Options of [`Ledger::audit`].
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// List in recorded order, voids included.
    pub recorded: bool,
    /// The valid time statuses are taken at in recorded order.
    pub at: Time,
    /// What the ledger knew by then.
    pub as_of: Time,
    /// Earliest time listed.
    pub from: Option<Time>,
    /// Latest time listed.
    pub to: Option<Time>,
}

/// The belief state at one point.
#[derive(Debug, Clone)]
pub struct StateReport {
    /// Where it was taken.
    pub view: View,
    /// Claims whose assertion counts.
    pub claims: Vec<ClaimHistory>,
    /// Claims whose assertion possibly, not certainly, happened by T.
    pub pending: Vec<ClaimHistory>,
}

/// One audit row.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// The claim whose status changed.
    pub claim: Uuid,
    /// The change.
    pub t: Transition,
}

/// One difference between two views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The claim.
    pub claim: Uuid,
    /// Its text.
    pub text: String,
    /// Status in the first view (`None`: absent).
    pub before: Option<Status>,
    /// Status in the second view.
    pub after: Option<Status>,
}

fn status_json(s: Option<Status>) -> Value {
    s.map(|s| Value::String(s.as_str().into()))
        .unwrap_or(Value::Null)
}

/// A record in its export form (JSON).
pub fn record_json(r: &Record) -> Value {
    Value::Object(r.to_json())
}

/// The JSON of one claim's `state` entry at `view` (status `null` when it does
/// not count there).
pub fn claim_entry_json(h: &ClaimHistory, view: &View) -> Value {
    let asserted = h.asserted.as_ref().expect("histories hold asserted claims");
    let header = ClaimHeader::of(asserted).expect("an assertion");
    entry_json(&header, &h.state(view))
}

/// The JSON of a claim's `state` entry from its header and standing.
pub fn entry_json(a: &ClaimHeader, standing: &Standing) -> Value {
    let mut m = Map::new();
    m.insert("claim".into(), a.claim.to_string().into());
    m.insert("story".into(), a.story.clone().into());
    m.insert("by".into(), a.by.clone().into());
    m.insert("text".into(), a.text.clone().into());
    match standing {
        Standing::Present(s) => {
            m.insert("status".into(), s.status.as_str().into());
            m.insert("since".into(), fmt_time(&s.since).into());
            m.insert("events".into(), s.events.into());
            m.insert(
                "pending".into(),
                Value::Array(s.pending.iter().map(record_json).collect()),
            );
        }
        standing => {
            m.insert("status".into(), Value::Null);
            m.insert("since".into(), Value::Null);
            m.insert("events".into(), 0.into());
            m.insert("pending".into(), Value::Array(Vec::new()));
            if matches!(standing, Standing::Pending) {
                m.insert("asserted_pending".into(), true.into());
            }
        }
    }
    Value::Object(m)
}

/// The JSON of a claim in the state's top-level `pending` list: one whose
/// assertion possibly, not certainly, happened by T.
pub fn pending_claim_json(asserted: &Record) -> Value {
    let Body::Asserted(a) = &asserted.event.body else {
        return Value::Null;
    };
    json!({
        "claim": a.claim.to_string(),
        "story": a.story,
        "by": a.by,
        "text": a.text,
        "event": asserted.event.id.to_string(),
        "valid": valid_json(asserted),
    })
}

impl StateReport {
    /// SPEC's `state` JSON shape.
    pub fn to_json(&self) -> Value {
        let pending: Vec<Value> = self
            .pending
            .iter()
            .filter_map(|h| h.asserted.as_ref().map(pending_claim_json))
            .collect();
        json!({
            "at": fmt_time(&self.view.at),
            "as_of": fmt_time(&self.view.as_of),
            "claims": self.claims.iter().map(|h| claim_entry_json(h, &self.view)).collect::<Vec<_>>(),
            "pending": pending,
        })
    }
}

fn valid_json(r: &Record) -> Value {
    match r.event.valid() {
        Some(v) => json!({"from": fmt_time(&v.from), "to": fmt_time(&v.to), "text": v.text}),
        None => Value::Null,
    }
}

/// SPEC's `show` JSON: the state entry plus the history, each entry annotated
/// with how it stands at the view.
pub fn show_json(h: &ClaimHistory, view: &View) -> Value {
    let mut entry = claim_entry_json(h, view);
    let mut all: Vec<&Record> = h.asserted.iter().chain(h.others.iter()).collect();
    all.sort_by_key(|r| r.seq);
    let history: Vec<Value> = all
        .into_iter()
        .filter(|r| r.recorded_at <= view.as_of)
        .map(|r| {
            let mut v = r.to_json();
            v.insert(
                "standing".into(),
                standing_name(h.entry_standing(r, view)).into(),
            );
            Value::Object(v)
        })
        .collect();
    entry
        .as_object_mut()
        .expect("object")
        .insert("history".into(), Value::Array(history));
    entry
}

/// How an entry's standing is written.
pub fn standing_name(s: EntryStanding) -> &'static str {
    match s {
        EntryStanding::Unknown => "unknown",
        EntryStanding::Voided => "voided",
        EntryStanding::Counts => "counts",
        EntryStanding::Pending => "pending",
        EntryStanding::Later => "later",
        EntryStanding::Void => "void",
    }
}

impl AuditRow {
    /// SPEC's `audit` row JSON, with `recorded_by` after `recorded_at`
    /// when the entry has one (a row of an entry without it is as before).
    pub fn to_json(&self) -> Value {
        let r = &self.t.record;
        let mut m = serde_json::Map::new();
        m.insert("seq".into(), r.seq.into());
        m.insert("event".into(), r.event.id.to_string().into());
        m.insert("claim".into(), self.claim.to_string().into());
        m.insert("kind".into(), r.event.kind().as_str().into());
        m.insert("by".into(), json!(r.event.by()));
        m.insert("valid".into(), valid_json(r));
        m.insert("recorded_at".into(), fmt_recorded(&r.recorded_at).into());
        if let Some(by) = &r.recorded_by {
            m.insert("recorded_by".into(), by.clone().into());
        }
        m.insert("from".into(), status_json(self.t.from));
        m.insert("to".into(), status_json(self.t.to));
        Value::Object(m)
    }
}

/// SPEC's `diff` JSON.
pub fn diff_json(from: &Time, to: &Time, changes: &[Change]) -> Value {
    json!({
        "from": fmt_time(from),
        "to": fmt_time(to),
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
    })
}

/// One change of SPEC's `diff` JSON.
pub fn change_json(c: &Change) -> Value {
    json!({
        "claim": c.claim.to_string(),
        "text": c.text,
        "before": status_json(c.before),
        "after": status_json(c.after),
    })
}
