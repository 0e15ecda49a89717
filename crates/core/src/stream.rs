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
use crate::summary::{self, Fact, Outcome};
use crate::time::Time;

/// A fallible iterator borrowed from a ledger.
pub type Items<'a, T> = Box<dyn Iterator<Item = Result<T>> + 'a>;

/// One claim of a state that counts or is pending at the view.
#[derive(Debug, Clone)]
pub struct StateItem {
    /// The claim's `asserted` entry.
    pub asserted: Record,
    /// [`Standing::Present`] or [`Standing::Pending`], never absent.
    pub standing: Standing,
}

impl StateItem {
    /// The claim's id.
    pub fn claim(&self) -> Uuid {
        match &self.asserted.event.body {
            Body::Asserted(a) => a.claim,
            _ => Uuid::nil(),
        }
    }

    /// The present claim's state, `None` when its assertion is pending.
    pub fn present(&self) -> Option<&ClaimState> {
        match &self.standing {
            Standing::Present(s) => Some(s),
            _ => None,
        }
    }
}

/// The summaries as claims: each claim's assertion seq and its facts.
pub struct Claims<'a> {
    inner: Peekable<Items<'a, (u64, Fact)>>,
}

impl<'a> Claims<'a> {
    /// Groups a store's summary stream.
    pub fn new(inner: Items<'a, (u64, Fact)>) -> Self {
        Claims {
            inner: inner.peekable(),
        }
    }
}

impl Iterator for Claims<'_> {
    type Item = Result<(u64, Vec<Fact>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let (claim_seq, first) = match self.inner.next()? {
            Ok(x) => x,
            Err(e) => return Some(Err(e)),
        };
        let mut facts = vec![first];
        while let Some(Ok((c, _))) = self.inner.peek() {
            if *c != claim_seq {
                break;
            }
            let (_, f) = self.inner.next().expect("peeked").expect("peeked ok");
            facts.push(f);
        }
        Some(Ok((claim_seq, facts)))
    }
}

fn history_item(h: ClaimHistory, view: &View) -> Option<StateItem> {
    let standing = h.state(view);
    if matches!(standing, Standing::Absent) {
        return None;
    }
    Some(StateItem {
        asserted: h.asserted?,
        standing,
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
            let (claim_seq, facts) = match c {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            };
            let standing = match summary::outcome(&facts, &view) {
                Outcome::Absent => return None,
                Outcome::Pending => Standing::Pending,
                Outcome::Present(v) => {
                    let pending = match v
                        .pending
                        .iter()
                        .map(|s| self.record(*s))
                        .collect::<Result<Vec<_>>>()
                    {
                        Ok(p) => p,
                        Err(e) => return Some(Err(e)),
                    };
                    Standing::Present(ClaimState {
                        status: v.status,
                        since: v.since,
                        because: v.because,
                        events: v.events,
                        pending,
                    })
                }
            };
            Some(
                self.record(claim_seq)
                    .map(|asserted| StateItem { asserted, standing }),
            )
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
            let (claim_seq, facts) = match c {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            };
            let a = summary::status(&facts, &before);
            let b = summary::status(&facts, &after);
            if a == b {
                return None;
            }
            Some(self.record(claim_seq).map(|r| match r.event.body {
                Body::Asserted(asserted) => Change {
                    claim: asserted.claim,
                    text: asserted.text,
                    before: a,
                    after: b,
                },
                _ => Change {
                    claim: Uuid::nil(),
                    text: String::new(),
                    before: a,
                    after: b,
                },
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
            let (claim_seq, facts) = c?;
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
