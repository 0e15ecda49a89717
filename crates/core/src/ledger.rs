//! The ledger: the append rules of SPEC, sealing (seq, recorded time, hash
//! chain), import, export, verification and id look-up, over any [`Store`].
//!
//! Invariants kept here: nothing reaches the store that breaks an append rule;
//! a command's events are committed in one `Store::commit` or not at all;
//! `recorded_at` never decreases along `seq`.

use std::collections::HashMap;

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Hint, Result};
use crate::event::{Body, Event, Kind};
use crate::record::{truncate_micros, Hash, Record};
use crate::store::{Head, IdRange, Role, Store};
use crate::time::{fmt_time, Time};

/// An event to append and where it came from (its line in a batch file).
#[derive(Debug, Clone)]
pub struct Incoming {
    /// 1-based line number, for errors.
    pub line: Option<usize>,
    /// The event.
    pub event: Event,
}

/// One batch of a group commit ([`Ledger::append_group`]): the events of one
/// request, all-or-nothing, and the server account appending them.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The events, in order.
    pub items: Vec<Incoming>,
    /// The account every entry of the batch is recorded by (`None`: a local
    /// append).
    pub recorded_by: Option<String>,
}

/// What an append did.
#[derive(Debug, Clone, Default)]
pub struct AppendReport {
    /// The entries written, in order.
    pub appended: Vec<Record>,
    /// Events already in the ledger with identical content (idempotent retries).
    pub unchanged: usize,
    /// Events that appeared earlier in the same batch with identical content.
    pub repeated: usize,
}

/// How far ahead of the importing machine's clock an imported entry's
/// recorded time may be (two machines' clocks differ a little).
pub const CLOCK_SKEW_SECONDS: i64 = 5 * 60;

/// How [`Ledger::import`] treats recorded times.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The importing machine's clock.
    pub now: Time,
    /// Take entries recorded later than `now` plus [`CLOCK_SKEW_SECONDS`]
    /// (otherwise refused: each later entry would be stamped that late).
    pub accept_future_times: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Entries written.
    pub restored: u64,
    /// Entries the ledger already had (a resumed import).
    pub already: u64,
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of entries.
    pub count: u64,
    /// The last hash.
    pub head: Hash,
}

/// The ledger over a store.
#[derive(Debug)]
pub struct Ledger<S: Store> {
    store: S,
    /// Histories and story listings read so far, keyed by the head they were
    /// read at: a read that finds the store at another head (a commit through
    /// this ledger, or another writer's seen by `read_head`) drops the cache
    /// first, and every commit through this ledger empties it. It matters to a
    /// long-lived process (the ledger server).
    pub(crate) cache: std::sync::Mutex<ReadCache>,
}

/// See [`Ledger`]'s `cache`.
#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    /// The head (seq, hash) the cached reads were made at; a cache found at
    /// another head is dropped whole before it is used.
    pub(crate) at: Option<(u64, Hash)>,
    pub(crate) histories: HashMap<Uuid, crate::projection::ClaimHistory>,
    pub(crate) stories: HashMap<String, Vec<(Uuid, u64)>>,
}

impl ReadCache {
    /// The most histories kept; past it, the cache starts over.
    pub(crate) const MAX_HISTORIES: usize = 20_000;
}

/// How many times an append is checked and sealed again after another
/// writer moved the head before giving up with [`ErrorKind::HeadMoved`].
const MAX_HEAD_RETRIES: u32 = 64;

fn at_line(line: Option<usize>, e: Error) -> Error {
    match line {
        Some(n) => e.context(format!("line {n}")),
        None => e,
    }
}

/// Events checked and kept, on top of the store (borrowed from the batches:
/// a million-event append does not copy its events to check them).
#[derive(Default)]
struct Overlay<'a> {
    events: HashMap<Uuid, &'a Event>,
    /// claim → valid.from of its assertion
    claims: HashMap<Uuid, Time>,
}

impl<'a> Overlay<'a> {
    fn add(&mut self, event: &'a Event) {
        if let Body::Asserted(a) = &event.body {
            self.claims.insert(a.claim, a.valid.from);
        }
        self.events.insert(event.id, event);
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.claims.is_empty()
    }

    /// Takes in `other`'s events (a batch accepted into the group).
    fn absorb(&mut self, other: Overlay<'a>) {
        if self.is_empty() {
            *self = other;
        } else {
            self.events.extend(other.events);
            self.claims.extend(other.claims);
        }
    }
}

/// What the rules see while one batch of a group is checked: the batch so
/// far (`current`: "earlier in this batch"), then the batches accepted
/// before it in the group (`group`: as if already in the ledger), then the
/// store.
struct Layered<'o, 'a> {
    current: &'o Overlay<'a>,
    group: &'o Overlay<'a>,
}

/// What the append rules look up of the events and claims before one being
/// checked: the batch so far, then the ledger.
pub(crate) trait Known {
    /// An event by id, and whether it is earlier in the same batch.
    fn event<S: Store>(&self, ledger: &Ledger<S>, id: Uuid) -> Result<Option<(Event, bool)>>;
    /// The `valid.from` of a claim's assertion, if the claim exists.
    fn claim_from<S: Store>(&self, ledger: &Ledger<S>, claim: Uuid) -> Result<Option<Time>>;
}

impl Known for Layered<'_, '_> {
    fn event<S: Store>(&self, ledger: &Ledger<S>, id: Uuid) -> Result<Option<(Event, bool)>> {
        if let Some(e) = self.current.events.get(&id) {
            return Ok(Some(((*e).clone(), true)));
        }
        if let Some(e) = self.group.events.get(&id) {
            return Ok(Some(((*e).clone(), false)));
        }
        if ledger.store.head().seq == 0 {
            return Ok(None);
        }
        Ok(ledger.event(id)?.map(|r| (r.event, false)))
    }

    fn claim_from<S: Store>(&self, ledger: &Ledger<S>, claim: Uuid) -> Result<Option<Time>> {
        if let Some(t) = self.current.claims.get(&claim) {
            return Ok(Some(*t));
        }
        if let Some(t) = self.group.claims.get(&claim) {
            return Ok(Some(*t));
        }
        ledger.committed_claim_from(claim)
    }
}

impl<S: Store> Ledger<S> {
    /// A ledger over `store`.
    pub fn new(store: S) -> Self {
        Ledger {
            store,
            cache: Default::default(),
        }
    }

    /// The store, to write through.
    pub(crate) fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Empties the read cache (before any write).
    pub(crate) fn forget(&self) {
        *self.read_cache() = ReadCache::default();
    }

    /// The read cache (a poisoned lock only means a reader panicked; the
    /// cache is then dropped as a whole).
    pub(crate) fn read_cache(&self) -> std::sync::MutexGuard<'_, ReadCache> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            *g = ReadCache::default();
            g
        });
        let head = self.store.head();
        let now = Some((head.seq, head.hash));
        if cache.at != now {
            *cache = ReadCache {
                at: now,
                ..ReadCache::default()
            };
        }
        cache
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Looks an event up by id.
    pub fn event(&self, id: Uuid) -> Result<Option<Record>> {
        match self.store.seq_of_event(id)? {
            Some(seq) => self.store.get(seq),
            None => Ok(None),
        }
    }

    /// The `asserted` entry of a claim.
    pub fn assertion(&self, claim: Uuid) -> Result<Option<Record>> {
        for (seq, role) in self.store.claim_entries(claim)? {
            if role == Role::Asserted {
                return self.store.get(seq);
            }
        }
        Ok(None)
    }

    /// Appends a batch all-or-nothing: checks every append rule, skips events
    /// already present with identical content, then seals and commits the rest
    /// in one durable commit recorded at `now`. A local append: the entries
    /// have no `recorded_by` ([`Ledger::append_as`] with `None`).
    pub fn append(&mut self, batch: Vec<Incoming>, now: Time) -> Result<AppendReport> {
        self.append_as(batch, now, None)
    }

    /// [`Ledger::append`], every entry recorded by the account `recorded_by`
    /// (covered by the hash; `None` is a local append). An empty name is
    /// refused.
    pub fn append_as(
        &mut self,
        batch: Vec<Incoming>,
        now: Time,
        recorded_by: Option<String>,
    ) -> Result<AppendReport> {
        let mut reports = self.append_group(
            vec![Batch {
                items: batch,
                recorded_by,
            }],
            now,
        );
        reports.pop().expect("one report a batch")
    }

    /// Group commit (the newsroom server's concurrent appends): each batch
    /// is all-or-nothing on its own, checked by exactly [`Ledger::append`]'s
    /// rules against the store and the batches accepted before it in the
    /// group (an event identical to one of those counts as already in the
    /// ledger, `unchanged`; the same id with other content is a conflict). A
    /// refused batch gets its error and changes nothing for the others. The
    /// accepted batches are sealed one after the other (all recorded at the
    /// same time, each entry by its batch's `recorded_by`, one chain) and
    /// written in one [`Store::commit`], one fsync; if that fails, every
    /// accepted batch gets the error. Another writer moving the head retries
    /// the whole group, as `append` does. A group with nothing to write
    /// writes nothing. One result a batch, in order; each report's
    /// `appended` holds that batch's own entries.
    pub fn append_group(&mut self, batches: Vec<Batch>, now: Time) -> Vec<Result<AppendReport>> {
        let mut batches = batches;
        let mut attempt = 0;
        loop {
            // Read the head fresh, check against the store as of it, seal on
            // it; if another writer committed in between, do all of it again
            // (the batches come back whole: their events are moved, never
            // copied).
            let head = match self.store.read_head() {
                Ok(head) => head,
                Err(e) => return batches.iter().map(|_| Err(e.clone())).collect(),
            };
            match self.append_group_at(batches, head, now) {
                GroupAttempt::Done(results) => return results,
                GroupAttempt::HeadMoved(back, refused, e) => {
                    if attempt >= MAX_HEAD_RETRIES {
                        return refused
                            .into_iter()
                            .map(|r| Err(r.unwrap_or_else(|| e.clone())))
                            .collect();
                    }
                    attempt += 1;
                    batches = back;
                }
            }
        }
    }

    fn append_group_at(&mut self, batches: Vec<Batch>, head: Head, now: Time) -> GroupAttempt {
        // What the checks found of each batch: refused with an error, or
        // accepted with which of its events are new.
        let mut refused: Vec<Option<Error>> = Vec::with_capacity(batches.len());
        let mut accepted: Vec<Option<Accepted>> = Vec::with_capacity(batches.len());
        {
            let mut group = Overlay::default();
            for b in &batches {
                match self.check_batch(b, &group) {
                    Err(e) => {
                        refused.push(Some(e));
                        accepted.push(None);
                    }
                    Ok((current, found)) => {
                        group.absorb(current);
                        refused.push(None);
                        accepted.push(Some(found));
                    }
                }
            }
        }
        let recorded_at = truncate_micros(match head.recorded_at {
            Some(last) if last > now => last,
            _ => now,
        });
        // Seal the accepted batches one after the other on one chain.
        let mut records: Vec<Record> = Vec::new();
        let mut plans: Vec<Plan> = Vec::with_capacity(batches.len());
        let (mut next_seq, mut prev) = (head.seq + 1, head.hash);
        for (b, found) in batches.into_iter().zip(accepted) {
            let Some(found) = found else {
                plans.push(Plan::Refused(b));
                continue;
            };
            let mut fresh = Vec::with_capacity(b.items.len() - found.unchanged - found.repeated);
            let mut lines = Vec::with_capacity(fresh.capacity());
            let mut skipped = Vec::with_capacity(found.unchanged + found.repeated);
            for (item, keep) in b.items.into_iter().zip(&found.keep) {
                if *keep {
                    lines.push(item.line);
                    fresh.push(item.event);
                } else {
                    skipped.push(item);
                }
            }
            let sealed = Record::seal_all_as(
                fresh,
                next_seq,
                recorded_at,
                b.recorded_by.as_deref(),
                &prev,
            );
            if let Some(last) = sealed.last() {
                next_seq = last.seq + 1;
                prev = last.hash;
            }
            let start = records.len();
            if records.is_empty() {
                records = sealed;
            } else {
                records.extend(sealed);
            }
            plans.push(Plan::Sealed {
                range: start..records.len(),
                found,
                lines,
                skipped,
                recorded_by: b.recorded_by,
            });
        }
        let committed = if records.is_empty() {
            Ok(())
        } else {
            self.forget();
            self.store.commit(&head, &records)
        };
        match committed {
            Ok(()) => {
                // Hand each batch its own records, taken from the end.
                let mut results: Vec<Result<AppendReport>> = Vec::with_capacity(plans.len());
                for (plan, refused) in plans.into_iter().zip(refused).rev() {
                    results.push(match plan {
                        Plan::Refused(_) => Err(refused.expect("a refused batch has its error")),
                        Plan::Sealed { range, found, .. } => Ok(AppendReport {
                            appended: records.split_off(range.start),
                            unchanged: found.unchanged,
                            repeated: found.repeated,
                        }),
                    });
                }
                results.reverse();
                GroupAttempt::Done(results)
            }
            Err(e) if e.kind() == ErrorKind::HeadMoved => {
                // The batches as they came, for another try.
                let mut records = records.into_iter();
                let back = plans
                    .into_iter()
                    .map(|plan| match plan {
                        Plan::Refused(b) => b,
                        Plan::Sealed {
                            range,
                            found,
                            lines,
                            skipped,
                            recorded_by,
                        } => {
                            let mut mine = records.by_ref().take(range.len()).zip(lines);
                            let mut skipped = skipped.into_iter();
                            let items = found
                                .keep
                                .iter()
                                .map(|k| {
                                    if *k {
                                        let (r, line) =
                                            mine.next().expect("one record a kept event");
                                        Incoming {
                                            line,
                                            event: r.event,
                                        }
                                    } else {
                                        skipped.next().expect("one item a skipped event")
                                    }
                                })
                                .collect();
                            Batch { items, recorded_by }
                        }
                    })
                    .collect();
                GroupAttempt::HeadMoved(back, refused, e)
            }
            Err(e) => GroupAttempt::Done(
                refused
                    .into_iter()
                    .map(|r| Err(r.unwrap_or_else(|| e.clone())))
                    .collect(),
            ),
        }
    }

    /// Checks one batch of a group against the store and the batches
    /// accepted before it (`group`): its own events as an overlay, and
    /// which of them are new, or the first refusal.
    fn check_batch<'a>(
        &self,
        b: &'a Batch,
        group: &Overlay<'a>,
    ) -> Result<(Overlay<'a>, Accepted)> {
        if b.recorded_by.as_deref() == Some("") {
            return Err(Error::invalid(
                "the account an entry is recorded by must have a name, not an empty one",
            ));
        }
        let mut current = Overlay::default();
        let mut found = Accepted {
            keep: Vec::with_capacity(b.items.len()),
            unchanged: 0,
            repeated: 0,
        };
        for item in &b.items {
            let known = Layered {
                current: &current,
                group,
            };
            let checked = self
                .check(&item.event, &known)
                .map_err(|e| at_line(item.line, e))?;
            match checked {
                Check::Duplicate => {
                    found.unchanged += 1;
                    found.keep.push(false);
                }
                Check::Repeated => {
                    found.repeated += 1;
                    found.keep.push(false);
                }
                Check::New => {
                    current.add(&item.event);
                    found.keep.push(true);
                }
            }
        }
        Ok((current, found))
    }

    /// The `valid.from` of a claim's assertion in the store.
    pub(crate) fn committed_claim_from(&self, claim: Uuid) -> Result<Option<Time>> {
        if self.store.head().seq == 0 {
            return Ok(None);
        }
        Ok(self
            .assertion(claim)?
            .and_then(|r| r.event.valid().map(|v| v.from)))
    }

    pub(crate) fn check(&self, event: &Event, known: &impl Known) -> Result<Check> {
        event.validate()?;
        if let Some((existing, in_batch)) = known.event(self, event.id)? {
            if existing == *event {
                return Ok(if in_batch {
                    Check::Repeated
                } else {
                    Check::Duplicate
                });
            }
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "field `id`: event {} {} with different content",
                    event.id,
                    if in_batch {
                        "appears earlier in this batch"
                    } else {
                        "is already in the ledger"
                    }
                ),
            )
            .with_hint("give a corrected event a new id; void the old one if it was a mistake"));
        }
        match &event.body {
            Body::Asserted(a) => {
                if known.claim_from(self, a.claim)?.is_some() {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("field `claim`: claim {} is already asserted", a.claim),
                    )
                    .with_hint(
                        "a claim has one `asserted`; record what happened to it with another kind",
                    ));
                }
                if let Some(old) = a.supersedes {
                    if old == a.claim {
                        return Err(Error::invalid(
                            "field `supersedes`: a claim cannot supersede itself",
                        ));
                    }
                    if known.claim_from(self, old)?.is_none() {
                        return Err(Error::not_found(format!(
                            "field `supersedes`: there is no claim {old} in the ledger"
                        )));
                    }
                }
            }
            Body::FollowedUp(f) => {
                let Some(asserted_from) = known.claim_from(self, f.claim)? else {
                    return Err(Error::not_found(format!(
                        "field `claim`: there is no claim {} in the ledger",
                        f.claim
                    ))
                    .with_hint("assert the claim first, earlier in the same batch or before"));
                };
                if f.valid.from < asserted_from {
                    return Err(Error::invalid(format!(
                        "field `valid.from`: the event starts at {}, before claim {} was asserted ({})",
                        fmt_time(&f.valid.from),
                        f.claim,
                        fmt_time(&asserted_from)
                    )));
                }
            }
            Body::Voided(v) => match known.event(self, v.target)?.map(|(e, _)| e) {
                None => {
                    return Err(Error::not_found(format!(
                        "field `target`: there is no event {} in the ledger",
                        v.target
                    )))
                }
                Some(t) if t.kind() == Kind::Voided => {
                    return Err(Error::invalid(format!(
                    "field `target`: event {} is itself a `voided`, and a void cannot be voided",
                    v.target
                )))
                }
                Some(_) => {}
            },
        }
        Ok(Check::New)
    }

    /// Restores an export: into an empty ledger, or resuming a ledger whose
    /// log is a prefix of `records`. Checks seq, hash chain, recorded times and
    /// every append rule; all-or-nothing ([`Ledger::import_stream`] of them).
    pub fn import(
        &mut self,
        records: Vec<(usize, Record)>,
        opts: &ImportOptions,
    ) -> Result<ImportReport> {
        self.import_stream(records.into_iter().map(Ok), opts, |_| {})
    }

    /// Resolves an event id or a unique prefix of one (at least 6 hex digits).
    pub fn resolve_event(&self, prefix: &str) -> Result<Uuid> {
        let range = prefix_range(prefix)?;
        let found = self.store.event_ids_in(range, 6)?;
        pick(prefix, "event", found)
    }

    /// Resolves a claim id or a unique prefix of one (at least 6 hex digits).
    pub fn resolve_claim(&self, prefix: &str) -> Result<Uuid> {
        let range = prefix_range(prefix)?;
        let found = self.store.claim_ids_in(range, 6)?;
        pick(prefix, "claim", found)
    }
}

/// One try at a group: done (each batch well or not), or lost to another
/// writer, with the batches back and the errors of those refused.
enum GroupAttempt {
    Done(Vec<Result<AppendReport>>),
    HeadMoved(Vec<Batch>, Vec<Option<Error>>, Error),
}

/// A batch that passed the checks: which of its events are new (`keep`),
/// and how many were skipped.
struct Accepted {
    keep: Vec<bool>,
    unchanged: usize,
    repeated: usize,
}

/// Where a batch of a group stands once the accepted ones are sealed.
enum Plan {
    /// Refused: kept whole for another try.
    Refused(Batch),
    /// Accepted: its records are `range` of the group's, and what it takes
    /// to give the batch back whole.
    Sealed {
        range: std::ops::Range<usize>,
        found: Accepted,
        lines: Vec<Option<usize>>,
        skipped: Vec<Incoming>,
        recorded_by: Option<String>,
    },
}

pub(crate) enum Check {
    New,
    /// Already in the ledger with identical content.
    Duplicate,
    /// Earlier in the same batch with identical content.
    Repeated,
}

/// The id range a prefix stands for. Dashes are ignored.
pub fn prefix_range(prefix: &str) -> Result<IdRange> {
    let hex: String = prefix
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() < 6 || hex.len() > 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!(
            "`{prefix}` is not an id or an id prefix of at least 6 hexadecimal digits"
        )));
    }
    let lo = format!("{hex:0<32}");
    let hi = format!("{hex:f<32}");
    let parse = |s: &str| Uuid::parse_str(s).expect("32 hex digits");
    Ok(IdRange {
        lo: parse(&lo),
        hi: parse(&hi),
    })
}

fn pick(prefix: &str, what: &'static str, found: Vec<Uuid>) -> Result<Uuid> {
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(
            Error::not_found(format!("there is no {what} {prefix} in the ledger"))
                .with_hint(Hint::ListIds(what)),
        ),
        many => {
            let list: Vec<String> = many.iter().take(5).map(|u| u.to_string()).collect();
            let more = if many.len() > 5 { ", …" } else { "" };
            Err(Error::new(
                ErrorKind::Ambiguous,
                format!(
                    "the prefix {prefix} matches several {what}s: {}{more}",
                    list.join(", ")
                ),
            )
            .with_hint("give more digits of the id"))
        }
    }
}

/// Given/when/then checks of group commit and `recorded_by` over any store
/// (run by the conformance suite for every backend, and on the MemStore
/// through [`Faulty`](crate::store::faulty::Faulty) for the commit count).
#[cfg(any(test, feature = "testing"))]
pub mod tests {
    use super::*;
    use crate::store::conformance::{asserted, fill, followup, id, t, void};
    use crate::store::faulty::{Fault, Faulty};

    fn items(events: Vec<Event>) -> Vec<Incoming> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Incoming {
                line: Some(i + 1),
                event,
            })
            .collect()
    }

    fn batch(by: &str, events: Vec<Event>) -> Batch {
        Batch {
            items: items(events),
            recorded_by: Some(by.into()),
        }
    }

    fn log<S: Store>(l: &Ledger<S>) -> Vec<Record> {
        l.store().scan(1).map(|r| r.unwrap()).collect()
    }

    /// Given a ledger, when a group of three batches is appended and the
    /// middle one breaks a rule, then the first and the third are committed
    /// with gapless seqs in one commit, each entry recorded by its batch's
    /// account at one time, and the middle one gets its error alone.
    pub fn a_group_commits_the_accepted_batches_together(mut make: impl FnMut() -> Box<dyn Store>) {
        let now = t("2026-01-01T00:00:00Z");
        let mut ledger = Ledger::new(Faulty::new(make(), []));
        fill(ledger.store_mut());
        ledger.store_mut().commits = 0;
        let before = log(&ledger);
        let results = ledger.append_group(
            vec![
                batch(
                    "alice",
                    vec![
                        asserted(10, 300, "c", "2020-07-11T00:00:00Z", None),
                        followup(11, 300, "2020-07-11T01:00:00Z"),
                    ],
                ),
                // A follow-up of a claim nobody asserted.
                batch(
                    "bob",
                    vec![
                        asserted(20, 400, "c", "2020-07-11T00:00:00Z", None),
                        followup(21, 999, "2020-07-11T01:00:00Z"),
                    ],
                ),
                batch(
                    "carol",
                    vec![asserted(30, 500, "d", "2020-07-11T00:00:00Z", None)],
                ),
            ],
            now,
        );
        assert_eq!(results.len(), 3);
        let a = results[0].as_ref().unwrap();
        let e = results[1].as_ref().unwrap_err();
        let c = results[2].as_ref().unwrap();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e:?}");
        assert!(e.message().starts_with("line 2: "), "{}", e.message());
        assert_eq!(ledger.store().commits, 1, "one commit for the group");
        let seqs = |r: &AppendReport| r.appended.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(a), vec![5, 6]);
        assert_eq!(seqs(c), vec![7]);
        for r in &a.appended {
            assert_eq!(r.recorded_by.as_deref(), Some("alice"));
        }
        assert_eq!(c.appended[0].recorded_by.as_deref(), Some("carol"));
        assert!(a
            .appended
            .iter()
            .chain(&c.appended)
            .all(|r| r.recorded_at == now));
        let mut expected = before;
        expected.extend(a.appended.iter().cloned());
        expected.extend(c.appended.iter().cloned());
        assert_eq!(
            log(&ledger),
            expected,
            "one chain, the refused batch absent"
        );
        assert_eq!(ledger.store().seq_of_event(id(20)).unwrap(), None);
        assert_eq!(ledger.verify(|_| {}).unwrap().count, 7);
    }

    /// Given a group, when a later batch follows up, voids or repeats what
    /// an earlier batch of the same group asserted, then it is checked as if
    /// the earlier batch were already in the ledger: accepted, the repeat
    /// `unchanged`; the same id with other content is a conflict for the
    /// later batch only.
    pub fn later_batches_see_the_earlier_ones(mut make: impl FnMut() -> Box<dyn Store>) {
        let now = t("2026-01-01T00:00:00Z");
        let mut ledger = Ledger::new(make());
        let mut other = followup(2, 100, "2020-07-10T13:00:00Z");
        if let Body::FollowedUp(f) = &mut other.body {
            f.by = "someone else".into();
        }
        let results = ledger.append_group(
            vec![
                batch(
                    "alice",
                    vec![
                        asserted(1, 100, "a", "2020-07-10T10:00:00Z", None),
                        followup(2, 100, "2020-07-10T12:00:00Z"),
                    ],
                ),
                batch(
                    "bob",
                    vec![
                        asserted(1, 100, "a", "2020-07-10T10:00:00Z", None),
                        followup(3, 100, "2020-07-10T13:00:00Z"),
                        void(4, 2),
                        asserted(5, 200, "b", "2020-07-10T10:00:00Z", Some(100)),
                    ],
                ),
                batch("carol", vec![other]),
                // An empty batch and one that repeats only: reports, no writes.
                batch("dave", vec![]),
                batch("erin", vec![void(4, 2), void(4, 2)]),
            ],
            now,
        );
        let b = results[1].as_ref().unwrap();
        assert_eq!((b.appended.len(), b.unchanged, b.repeated), (3, 1, 0));
        assert!(b
            .appended
            .iter()
            .all(|r| r.recorded_by.as_deref() == Some("bob")));
        let e = results[2].as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e:?}");
        assert!(e.message().contains("with different content"), "{e}");
        let d = results[3].as_ref().unwrap();
        assert_eq!((d.appended.len(), d.unchanged, d.repeated), (0, 0, 0));
        // As in one `append`: an event already in the ledger is unchanged
        // each time the batch has it.
        let r = results[4].as_ref().unwrap();
        assert_eq!((r.appended.len(), r.unchanged, r.repeated), (0, 2, 0));
        assert_eq!(ledger.store().head().seq, 5);
        assert_eq!(ledger.verify(|_| {}).unwrap().count, 5);

        // A group with nothing to write does not commit.
        let mut quiet = Ledger::new(Faulty::new(ledger.into_store(), [Fault::Fail]));
        let results = quiet.append_group(
            vec![
                batch("alice", vec![]),
                batch("bob", vec![followup(3, 100, "2020-07-10T13:00:00Z")]),
            ],
            now,
        );
        assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
        assert_eq!(quiet.store().commits, 0);
    }

    /// Given a group, when its one commit fails, then every accepted batch
    /// gets the error (a refused one keeps its own) and nothing is written;
    /// when another writer moves the head first, the whole group is checked
    /// and sealed again on the new head.
    pub fn a_group_fails_or_retries_as_one(mut make: impl FnMut() -> Box<dyn Store>) {
        let now = t("2026-01-01T00:00:00Z");
        let group = || {
            vec![
                batch(
                    "alice",
                    vec![asserted(1, 100, "a", "2020-07-10T10:00:00Z", None)],
                ),
                batch("bob", vec![followup(2, 999, "2020-07-10T12:00:00Z")]),
                batch("carol", vec![followup(3, 100, "2020-07-10T12:00:00Z")]),
            ]
        };
        let mut ledger = Ledger::new(Faulty::new(make(), [Fault::Fail]));
        let results = ledger.append_group(group(), now);
        assert_eq!(results[0].as_ref().unwrap_err().kind(), ErrorKind::Io);
        assert_eq!(results[1].as_ref().unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(results[2].as_ref().unwrap_err().kind(), ErrorKind::Io);
        assert_eq!(ledger.store().head(), Head::EMPTY);

        // The other writer asserts claim 999 first: now bob's batch passes.
        let theirs = vec![asserted(9, 999, "z", "2020-07-10T10:00:00Z", None)];
        let mut ledger = Ledger::new(Faulty::new(make(), [Fault::Race(theirs, now)]));
        let results = ledger.append_group(group(), now);
        assert_eq!(ledger.store().commits, 2, "tried, lost, tried again");
        let seqs: Vec<u64> = results
            .iter()
            .map(|r| r.as_ref().unwrap().appended[0].seq)
            .collect();
        assert_eq!(seqs, vec![2, 3, 4], "sealed after theirs");
        let by: Vec<Option<String>> = log(&ledger).into_iter().map(|r| r.recorded_by).collect();
        assert_eq!(
            by,
            vec![
                None,
                Some("alice".into()),
                Some("bob".into()),
                Some("carol".into())
            ]
        );
        assert_eq!(ledger.verify(|_| {}).unwrap().count, 4);
    }

    /// Given entries recorded by accounts and entries without, when the log
    /// is exported and imported into an empty ledger, then every entry keeps
    /// its `recorded_by` and its hash; an entry's hash covers its
    /// `recorded_by`, and `append_as` refuses an empty name.
    pub fn recorded_by_round_trips_through_export_and_is_hashed(
        mut make: impl FnMut() -> Box<dyn Store>,
    ) {
        let now = t("2026-01-01T00:00:00Z");
        let mut ledger = Ledger::new(make());
        fill(ledger.store_mut());
        let report = ledger
            .append_as(
                items(vec![followup(5, 100, "2020-07-10T13:00:00Z"), void(6, 5)]),
                now,
                Some("alice".into()),
            )
            .unwrap();
        ledger
            .append(items(vec![followup(7, 100, "2020-07-10T14:00:00Z")]), now)
            .unwrap();
        let e = ledger
            .append_as(
                items(vec![followup(8, 100, "2020-07-10T14:00:00Z")]),
                now,
                Some(String::new()),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let original = log(&ledger);
        assert_eq!(original[4..6], report.appended[..]);
        let by: Vec<Option<&str>> = original.iter().map(|r| r.recorded_by.as_deref()).collect();
        assert_eq!(
            by,
            [None, None, None, None, Some("alice"), Some("alice"), None]
        );

        // The hash covers it: changed, added or taken away, the chain breaks.
        let prev = original[3].hash;
        let mut edited = original[4].clone();
        edited.recorded_by = Some("mallory".into());
        assert_ne!(edited.compute_hash(&prev), edited.hash);
        edited.recorded_by = None;
        assert_ne!(edited.compute_hash(&prev), edited.hash);
        let mut added = original[6].clone();
        added.recorded_by = Some("alice".into());
        assert_ne!(added.compute_hash(&original[5].hash), added.hash);

        let lines: Vec<(usize, Record)> = original
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let line = r.to_line();
                let again = Record::from_json(&serde_json::from_str(&line).unwrap()).unwrap();
                (i + 1, again)
            })
            .collect();
        let mut restored = Ledger::new(make());
        restored
            .import(
                lines,
                &ImportOptions {
                    now,
                    accept_future_times: false,
                },
            )
            .unwrap();
        assert_eq!(log(&restored), original);
        assert_eq!(restored.verify(|_| {}).unwrap().head, original[6].hash);
    }

    /// Runs every check on fresh stores from `make`.
    pub fn run_all(mut make: impl FnMut() -> Box<dyn Store>) {
        a_group_commits_the_accepted_batches_together(&mut make);
        later_batches_see_the_earlier_ones(&mut make);
        a_group_fails_or_retries_as_one(&mut make);
        recorded_by_round_trips_through_export_and_is_hashed(&mut make);
    }
}
