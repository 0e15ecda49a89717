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

/// Events of the batch being checked, on top of the store (borrowed from the
/// batch: a million-event append does not copy its events to check them).
#[derive(Default)]
struct Overlay<'a> {
    events: HashMap<Uuid, &'a Event>,
    /// claim → valid.from of its assertion
    claims: HashMap<Uuid, Time>,
}

/// What the append rules look up of the events and claims before one being
/// checked: the batch so far, then the ledger.
pub(crate) trait Known {
    /// An event by id, and whether it is earlier in the same batch.
    fn event<S: Store>(&self, ledger: &Ledger<S>, id: Uuid) -> Result<Option<(Event, bool)>>;
    /// The `valid.from` of a claim's assertion, if the claim exists.
    fn claim_from<S: Store>(&self, ledger: &Ledger<S>, claim: Uuid) -> Result<Option<Time>>;
}

impl Known for Overlay<'_> {
    fn event<S: Store>(&self, ledger: &Ledger<S>, id: Uuid) -> Result<Option<(Event, bool)>> {
        if let Some(e) = self.events.get(&id) {
            return Ok(Some(((*e).clone(), true)));
        }
        if ledger.store.head().seq == 0 {
            return Ok(None);
        }
        Ok(ledger.event(id)?.map(|r| (r.event, false)))
    }

    fn claim_from<S: Store>(&self, ledger: &Ledger<S>, claim: Uuid) -> Result<Option<Time>> {
        if let Some(t) = self.claims.get(&claim) {
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
    /// in one durable commit recorded at `now`.
    pub fn append(&mut self, batch: Vec<Incoming>, now: Time) -> Result<AppendReport> {
        let mut batch = batch;
        let mut attempt = 0;
        loop {
            // Read the head fresh, check against the store as of it, seal on
            // it; if another writer committed in between, do all of it again
            // (the batch comes back whole: its events are moved, never copied).
            let head = self.store.read_head()?;
            match self.append_at(batch, head, now) {
                Attempt::Done(result) => return result,
                Attempt::HeadMoved(back, e) => {
                    if attempt >= MAX_HEAD_RETRIES {
                        return Err(e);
                    }
                    attempt += 1;
                    batch = back;
                }
            }
        }
    }

    fn append_at(&mut self, batch: Vec<Incoming>, head: Head, now: Time) -> Attempt {
        let mut keep = Vec::with_capacity(batch.len());
        let (mut unchanged, mut repeated) = (0, 0);
        {
            let mut overlay = Overlay::default();
            for item in &batch {
                let checked = self
                    .check(&item.event, &overlay)
                    .map_err(|e| at_line(item.line, e));
                match checked {
                    Err(e) => return Attempt::Done(Err(e)),
                    Ok(Check::Duplicate) => {
                        unchanged += 1;
                        keep.push(false);
                    }
                    Ok(Check::Repeated) => {
                        repeated += 1;
                        keep.push(false);
                    }
                    Ok(Check::New) => {
                        if let Body::Asserted(a) = &item.event.body {
                            overlay.claims.insert(a.claim, a.valid.from);
                        }
                        overlay.events.insert(item.event.id, &item.event);
                        keep.push(true);
                    }
                }
            }
        }
        let mut fresh = Vec::with_capacity(batch.len() - unchanged - repeated);
        let mut lines = Vec::with_capacity(fresh.capacity());
        let mut skipped = Vec::with_capacity(unchanged + repeated);
        for (item, keep) in batch.into_iter().zip(&keep) {
            if *keep {
                lines.push(item.line);
                fresh.push(item.event);
            } else {
                skipped.push(item);
            }
        }
        let recorded_at = truncate_micros(match head.recorded_at {
            Some(last) if last > now => last,
            _ => now,
        });
        let records = Record::seal_all(fresh, head.seq + 1, recorded_at, &head.hash);
        self.forget();
        match self.store.commit(&head, &records) {
            Ok(()) => Attempt::Done(Ok(AppendReport {
                appended: records,
                unchanged,
                repeated,
            })),
            Err(e) if e.kind() == ErrorKind::HeadMoved => {
                // The batch as it came, for another try.
                let mut records = records.into_iter().zip(lines);
                let mut skipped = skipped.into_iter();
                let back = keep
                    .iter()
                    .map(|k| {
                        if *k {
                            let (r, line) = records.next().expect("one record a kept event");
                            Incoming {
                                line,
                                event: r.event,
                            }
                        } else {
                            skipped.next().expect("one item a skipped event")
                        }
                    })
                    .collect();
                Attempt::HeadMoved(back, e)
            }
            Err(e) => Attempt::Done(Err(e)),
        }
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

/// One try at an append: done (well or not), or lost to another writer,
/// with the batch back.
enum Attempt {
    Done(Result<AppendReport>),
    HeadMoved(Vec<Incoming>, Error),
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
