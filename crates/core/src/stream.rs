//! Whole-ledger reads in bounded memory: the state, the diff and the audit
//! as iterators. A story's or a claim's query folds its histories as
//! [`crate::query`] does; an unscoped one reads the claim summaries in
//! assertion order ([`Store::summaries`]) and decodes only the records it
//! prints (a present or pending claim's assertion, its pending events, an
//! audit row's entry), so its memory does not grow with the log's entries.

use std::iter::Peekable;

use uuid::Uuid;

use crate::error::Result;
use crate::event::Body;
use crate::ledger::Ledger;
use crate::projection::{ClaimHistory, ClaimState, Standing, Status, Transition, View};
use crate::query::{AuditOptions, AuditRow, Change, Scope};
use crate::record::Record;
use crate::store::Store;
use crate::summary::{self, ClaimHeader, Fact, Filed, Outcome};
use crate::time::Time;

/// A fallible iterator borrowed from a ledger.
pub type Items<'a, T> = Box<dyn Iterator<Item = Result<T>> + 'a>;

/// One claim of a state that counts or is pending at the view.
#[derive(Debug, Clone)]
pub struct StateItem {
    /// What is printed of the claim besides its status.
    pub header: ClaimHeader,
    /// [`Standing::Present`] or [`Standing::Pending`], never absent.
    pub standing: Standing,
    /// The claim's `asserted` entry, read for a pending claim (whose
    /// listing shows the assertion's valid time).
    pub asserted: Option<Record>,
}

impl StateItem {
    /// The claim's id.
    pub fn claim(&self) -> Uuid {
        self.header.claim
    }

    /// The present claim's state, `None` when its assertion is pending.
    pub fn present(&self) -> Option<&ClaimState> {
        match &self.standing {
            Standing::Present(s) => Some(s),
            _ => None,
        }
    }
}

/// One claim's summary: its assertion seq, header (if kept) and facts.
#[derive(Debug, Clone)]
pub struct ClaimSummary {
    /// The seq of the claim's assertion.
    pub claim_seq: u64,
    /// Its header, when the store keeps it.
    pub header: Option<ClaimHeader>,
    /// Every entry filed under it, in seq order.
    pub facts: Vec<Fact>,
}

/// The summaries as claims.
pub struct Claims<'a> {
    inner: Peekable<Items<'a, (u64, Filed)>>,
}

impl<'a> Claims<'a> {
    /// Groups a store's summary stream.
    pub fn new(inner: Items<'a, (u64, Filed)>) -> Self {
        Claims {
            inner: inner.peekable(),
        }
    }
}

impl Iterator for Claims<'_> {
    type Item = Result<ClaimSummary>;

    fn next(&mut self) -> Option<Self::Item> {
        let (claim_seq, first) = match self.inner.next()? {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        let mut c = ClaimSummary {
            claim_seq,
            header: None,
            facts: Vec::new(),
        };
        let file = |c: &mut ClaimSummary, f: Filed| match f {
            Filed::Fact(f) => c.facts.push(f),
            Filed::Header(h) => c.header = Some(h),
        };
        file(&mut c, first);
        while let Some(Ok((k, _))) = self.inner.peek() {
            if *k != claim_seq {
                break;
            }
            let (_, f) = self.inner.next().expect("peeked").expect("peeked ok");
            file(&mut c, f);
        }
        Some(Ok(c))
    }
}

fn history_item(h: ClaimHistory, view: &View) -> Option<StateItem> {
    let standing = h.state(view);
    if matches!(standing, Standing::Absent) {
        return None;
    }
    let asserted = h.asserted?;
    Some(StateItem {
        header: ClaimHeader::of(&asserted)?,
        standing,
        asserted: Some(asserted),
    })
}

impl<S: Store> Ledger<S> {
    fn record(&self, seq: u64) -> Result<Record> {
        self.store().get(seq)?.ok_or_else(|| {
            crate::Error::damaged(format!(
                "the claim summaries name seq {seq}, which the log does not hold"
            ))
            .with_hint(crate::error::Hint::RebuildIndexes)
        })
    }

    /// A summary's header, read from the claim's assertion if not kept.
    fn header_of(&self, c: &mut ClaimSummary) -> Result<ClaimHeader> {
        if let Some(h) = c.header.take() {
            return Ok(h);
        }
        ClaimHeader::of(&self.record(c.claim_seq)?).ok_or_else(|| {
            crate::Error::damaged(format!(
                "the claim summaries name seq {}, which is not an assertion",
                c.claim_seq
            ))
            .with_hint(crate::error::Hint::RebuildIndexes)
        })
    }

    fn summary_item(&self, mut c: ClaimSummary, view: &View) -> Result<Option<StateItem>> {
        let (standing, asserted) = match summary::outcome(&c.facts, view) {
            Outcome::Absent => return Ok(None),
            Outcome::Pending => (Standing::Pending, Some(self.record(c.claim_seq)?)),
            Outcome::Present(v) => {
                let pending = v
                    .pending
                    .iter()
                    .map(|s| self.record(*s))
                    .collect::<Result<Vec<_>>>()?;
                let st = ClaimState {
                    status: v.status,
                    since: v.since,
                    because: v.because,
                    events: v.events,
                    pending,
                };
                (Standing::Present(st), None)
            }
        };
        let header = match &asserted {
            Some(r) if c.header.is_none() => ClaimHeader::of(r).expect("an assertion"),
            _ => self.header_of(&mut c)?,
        };
        Ok(Some(StateItem {
            header,
            standing,
            asserted,
        }))
    }

    /// Every claim of `scope` that counts or is pending at `view`, in
    /// assertion order, one at a time.
    pub fn state_items(&self, view: View, scope: &Scope) -> Result<Items<'_, StateItem>> {
        if scope.story.is_some() || scope.claim.is_some() {
            let items: Vec<StateItem> = self
                .histories(scope)?
                .into_iter()
                .filter_map(|h| history_item(h, &view))
                .collect();
            return Ok(Box::new(items.into_iter().map(Ok)));
        }
        let claims = Claims::new(self.store().summaries(0));
        Ok(Box::new(claims.filter_map(move |c| {
            c.and_then(|c| self.summary_item(c, &view)).transpose()
        })))
    }

    /// Claims whose status differs between two views, in assertion order,
    /// one at a time.
    pub fn diff_items(
        &self,
        before: View,
        after: View,
        scope: &Scope,
    ) -> Result<Items<'_, Change>> {
        if scope.story.is_some() || scope.claim.is_some() {
            let changes = self.diff(before, after, scope)?;
            return Ok(Box::new(changes.into_iter().map(Ok)));
        }
        let claims = Claims::new(self.store().summaries(0));
        Ok(Box::new(claims.filter_map(move |c| {
            let mut c = match c {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            };
            let a = summary::status(&c.facts, &before);
            let b = summary::status(&c.facts, &after);
            if a == b {
                return None;
            }
            Some(self.header_of(&mut c).map(|h| Change {
                claim: h.claim,
                text: h.text,
                before: a,
                after: b,
            }))
        })))
    }

    /// Every status change over `scope`, as [`Ledger::audit`] lists them,
    /// one at a time. Unscoped, it holds 32 bytes a change (sorted), not the
    /// changes' entries, which it reads as it hands each row out.
    pub fn audit_rows(&self, scope: &Scope, opts: &AuditOptions) -> Result<Items<'_, AuditRow>> {
        if scope.story.is_some() || scope.claim.is_some() {
            let rows = self.audit(scope, opts)?;
            return Ok(Box::new(rows.into_iter().map(Ok)));
        }
        let mut rows: Vec<Compact> = Vec::new();
        for c in Claims::new(self.store().summaries(0)) {
            let ClaimSummary {
                claim_seq, facts, ..
            } = c?;
            let changes = if opts.recorded {
                summary::changes_over_recorded_time(&facts, opts.at, opts.as_of)
            } else {
                summary::changes_over_valid_time(&facts, opts.as_of)
            };
            for ch in changes {
                let f = facts
                    .iter()
                    .find(|f| f.seq == ch.seq)
                    .expect("a change names a fact");
                let key = if opts.recorded {
                    f.recorded_at
                } else {
                    f.valid().map(|v| v.1).unwrap_or(f.recorded_at)
                };
                if opts.from.is_some_and(|t| key < t) || opts.to.is_some_and(|t| key > t) {
                    continue;
                }
                rows.push(Compact::new(
                    if opts.recorded { None } else { Some(key) },
                    ch.seq,
                    claim_seq,
                    ch.from,
                    ch.to,
                ));
            }
        }
        rows.sort_unstable_by_key(|r| (r.secs, r.nanos, r.seq, r.claim_seq));
        Ok(Box::new(AuditStream {
            ledger: self,
            rows: rows.into_iter().peekable(),
            group: Vec::new().into_iter(),
        }))
    }
}

/// One audit change in 32 bytes: its sort key, entry, claim and statuses.
#[derive(Debug, Clone, Copy)]
struct Compact {
    secs: i64,
    nanos: u32,
    from: u8,
    to: u8,
    seq: u64,
    claim_seq: u64,
}

fn status_byte(s: Option<Status>) -> u8 {
    s.map_or(0, |s| {
        1 + Status::ALL.iter().position(|x| *x == s).expect("a status") as u8
    })
}

fn byte_status(b: u8) -> Option<Status> {
    b.checked_sub(1).map(|i| Status::ALL[i as usize])
}

impl Compact {
    fn new(
        key: Option<Time>,
        seq: u64,
        claim_seq: u64,
        from: Option<Status>,
        to: Option<Status>,
    ) -> Self {
        Compact {
            secs: key.map_or(0, |t| t.timestamp()),
            nanos: key.map_or(0, |t| t.timestamp_subsec_nanos()),
            from: status_byte(from),
            to: status_byte(to),
            seq,
            claim_seq,
        }
    }

    fn same_place(&self, o: &Compact) -> bool {
        (self.secs, self.nanos, self.seq) == (o.secs, o.nanos, o.seq)
    }
}

/// Hands out audit rows from sorted compact changes; rows at one place
/// (one entry changing two claims: an assertion that supersedes, or a void
/// of it) are ordered by claim id, as [`Ledger::audit`] orders them.
struct AuditStream<'a, S: Store> {
    ledger: &'a Ledger<S>,
    rows: Peekable<std::vec::IntoIter<Compact>>,
    group: std::vec::IntoIter<AuditRow>,
}

impl<S: Store> AuditStream<'_, S> {
    fn row(&self, c: &Compact) -> Result<AuditRow> {
        let record = self.ledger.record(c.seq)?;
        let claim = match &record.event.body {
            Body::Asserted(a) if c.seq == c.claim_seq => a.claim,
            Body::Asserted(a) => a.supersedes.unwrap_or(a.claim),
            Body::FollowedUp(f) => f.claim,
            Body::Voided(_) => match self.ledger.record(c.claim_seq)?.event.body {
                Body::Asserted(a) => a.claim,
                _ => Uuid::nil(),
            },
        };
        Ok(AuditRow {
            claim,
            t: Transition {
                record,
                from: byte_status(c.from),
                to: byte_status(c.to),
            },
        })
    }
}

impl<S: Store> Iterator for AuditStream<'_, S> {
    type Item = Result<AuditRow>;

    fn next(&mut self) -> Option<Result<AuditRow>> {
        if let Some(r) = self.group.next() {
            return Some(Ok(r));
        }
        let first = self.rows.next()?;
        let mut place = vec![first];
        while let Some(n) = self.rows.peek() {
            if !n.same_place(&first) {
                break;
            }
            place.push(self.rows.next().expect("peeked"));
        }
        let mut group = match place
            .iter()
            .map(|c| self.row(c))
            .collect::<Result<Vec<_>>>()
        {
            Ok(g) => g,
            Err(e) => return Some(Err(e)),
        };
        group.sort_by_key(|r| r.claim);
        self.group = group.into_iter();
        self.group.next().map(Ok)
    }
}
