//! The lanes: one per claim whose assertion counts as known at R, with its
//! status spans over valid time and the events drawn on it; and the order
//! the lanes are stacked in.

use uuid::Uuid;

use claims_core::event::{Body, FollowUpKind};
use claims_core::projection::{ClaimHistory, EntryStanding, Status, View};
use claims_core::record::Record;
use claims_core::time::Time;

/// One status span of a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The status.
    pub status: Status,
    /// When it starts (the `valid.to` of the event that gave it).
    pub from: Time,
    /// When the next status starts; `None`: it runs to the right edge.
    pub to: Option<Time>,
}

/// One event drawn on a lane.
#[derive(Debug, Clone)]
pub struct EventMarker {
    /// The log entry.
    pub record: Record,
    /// The word for what happened (`asserted`, `retracted`, `superseded`, …).
    pub kind: &'static str,
    /// The status colour it is drawn in.
    pub status: Status,
    /// The label row it sits in (0 = top).
    pub row: usize,
    /// The hatch track its interval sits in, when it is an interval.
    pub track: Option<usize>,
}

/// One claim's lane.
#[derive(Debug, Clone)]
pub struct Lane {
    /// The claim.
    pub claim: Uuid,
    /// Who made it.
    pub by: String,
    /// The claim's text.
    pub text: String,
    /// Its status over valid time.
    pub spans: Vec<Span>,
    /// Its events (as known at R), in valid-time order.
    pub events: Vec<EventMarker>,
    /// The lane's top edge.
    pub top: f64,
    /// Its height.
    pub height: f64,
    /// The status bar's top edge.
    pub bar_top: f64,
    /// The status bar's bottom edge.
    pub bar_bottom: f64,
    /// How many label rows sit above the bar.
    pub(super) rows: usize,
}

/// What an entry on a claim's lane is called and the status it is drawn in;
/// `None` for a void.
fn kind_of(h: &ClaimHistory, r: &Record) -> Option<(&'static str, Status)> {
    match &r.event.body {
        Body::Asserted(a) if a.claim == h.claim => Some(("asserted", Status::Reported)),
        Body::Asserted(_) => Some(("superseded", Status::Superseded)),
        Body::FollowedUp(f) => Some(match f.kind {
            FollowUpKind::Corroborated => ("corroborated", Status::Corroborated),
            FollowUpKind::Disputed => ("disputed", Status::Disputed),
            FollowUpKind::Refuted => ("refuted", Status::Refuted),
            FollowUpKind::Retracted => ("retracted", Status::Retracted),
        }),
        Body::Voided(_) => None,
    }
}

/// The lanes of `histories` as known at `as_of`, top to bottom (by when
/// their assertions happened). Their geometry is left to the layout.
pub(super) fn lanes(histories: &[ClaimHistory], as_of: Time) -> Vec<Lane> {
    let end_view = View::new(Time::MAX_UTC, as_of);
    let mut lanes: Vec<Lane> = Vec::new();
    for h in histories {
        let (Some(ar), Some(a)) = (&h.asserted, h.assertion()) else {
            continue;
        };
        if h.entry_standing(ar, &end_view) != EntryStanding::Counts {
            continue;
        }
        let mut events: Vec<EventMarker> = h
            .asserted
            .iter()
            .chain(h.others.iter())
            .filter(|r| h.entry_standing(r, &end_view) == EntryStanding::Counts)
            .filter_map(|r| {
                let (kind, status) = kind_of(h, r)?;
                Some(EventMarker {
                    record: r.clone(),
                    kind,
                    status,
                    row: 0,
                    track: None,
                })
            })
            .collect();
        events.sort_by_key(|m| {
            let v = m.record.event.valid().expect("world event");
            (v.to, v.from, m.record.seq)
        });
        let transitions = h.transitions_over_valid_time(as_of);
        let mut spans: Vec<Span> = Vec::new();
        for t in &transitions {
            let at = t.record.event.valid().expect("world event").to;
            if let Some(last) = spans.last_mut() {
                last.to = Some(at);
            }
            if let Some(s) = t.to {
                spans.push(Span {
                    status: s,
                    from: at,
                    to: None,
                });
            }
        }
        spans.retain(|s| s.to.is_none_or(|to| to > s.from));
        lanes.push(Lane {
            claim: h.claim,
            by: a.by.clone(),
            text: a.text.clone(),
            spans,
            events,
            top: 0.0,
            height: 0.0,
            bar_top: 0.0,
            bar_bottom: 0.0,
            rows: 0,
        });
    }
    lanes.sort_by_key(|l| {
        let a = l.events.iter().find(|e| e.kind == "asserted");
        let v = a.and_then(|e| e.record.event.valid().cloned());
        (
            v.as_ref().map(|v| v.from),
            v.map(|v| v.to),
            a.map(|e| e.record.seq),
        )
    });
    lanes
}
