//! What the picture says about things: times in the chosen zone, the
//! heading, each mark's label, each event's label and heading, and the
//! detail rows of events and claims (the SVG's titles, the page's tips).
//!
//! Every text taken from the ledger (or the options) is passed through
//! [`clean`] here, before it is cut, wrapped or escaped, so that a control
//! character in it is shown written out, never raw.

use std::borrow::Cow;

use chrono::Timelike;

use claims_core::event::{Body, Wording};
use claims_core::record::Record;
use claims_core::time::{Time, Valid};

use crate::clean;

use super::lanes::{EventMarker, Lane};
use super::text::truncate;
use super::{Mark, Timeline};

/// The wording of an assertion or follow-up.
pub(super) fn wording(r: &Record) -> Option<&Wording> {
    match &r.event.body {
        Body::Asserted(a) => Some(&a.wording),
        Body::FollowedUp(f) => Some(&f.wording),
        Body::Voided(_) => None,
    }
}

/// A reporting chain as shown, its links joined by `sep`.
pub(super) fn via_text(via: &[String], sep: &str) -> String {
    via.iter().map(|v| clean(v)).collect::<Vec<_>>().join(sep)
}

/// Who made an entry, as shown.
fn by(r: &Record) -> Cow<'_, str> {
    clean(r.event.by().unwrap_or(""))
}

/// Who made an entry, and through whom: `TikTok via Reuters, Bloomberg`.
fn who(r: &Record) -> String {
    let by = by(r);
    match wording(r) {
        Some(w) if !w.via.is_empty() => format!("{by} via {}", via_text(&w.via, ", ")),
        _ => by.into_owned(),
    }
}

/// A claim's text, as shown.
pub(super) fn claim_text(l: &Lane) -> Cow<'_, str> {
    clean(&l.text)
}

/// Who made a claim, as shown.
pub(super) fn claim_by(l: &Lane) -> Cow<'_, str> {
    clean(&l.by)
}

/// A mark's label, as shown (whole).
pub(super) fn mark_label(m: &Mark) -> Cow<'_, str> {
    clean(&m.label)
}

/// The label written beside an event's marker.
pub(super) fn marker_label(m: &EventMarker) -> String {
    let who = who(&m.record);
    let s = match m.kind {
        "superseded" => format!("superseded: new claim by {who}"),
        k => format!("{k} by {who}"),
    };
    truncate(&s, 64)
}

impl Timeline {
    /// A mark's label and the time written after it (the day, or the time
    /// of day when the axis is in hours).
    pub(super) fn mark_text(&self, m: &Mark) -> (String, String) {
        let local = m.at.with_timezone(&self.opts.tz);
        let when = if self.step.is_sub_daily() {
            local.format("%H:%M").to_string()
        } else {
            local.format("%-d %b %Y").to_string()
        };
        (truncate(&mark_label(m), 48), when)
    }

    /// `t` in the chosen zone, to the minute (to the second when it has
    /// seconds).
    pub(super) fn local(&self, t: &Time) -> String {
        if *t == Time::MAX_UTC {
            return "end of time".into();
        }
        let l = t.with_timezone(&self.opts.tz);
        if l.second() == 0 && l.nanosecond() == 0 {
            l.format("%Y-%m-%d %H:%M %Z").to_string()
        } else {
            l.format("%Y-%m-%d %H:%M:%S %Z").to_string()
        }
    }

    /// A valid time in words: the time, or the interval, and its text.
    pub(super) fn valid_text(&self, v: &Valid) -> String {
        let mut s = if v.is_interval() {
            format!("{} – {}", self.local(&v.from), self.local(&v.to))
        } else {
            self.local(&v.from)
        };
        if let Some(w) = &v.text {
            s.push_str(&format!(" (“{}”)", clean(w)));
        }
        s
    }

    /// The details of one event, as (field, value) rows.
    pub(super) fn event_details(&self, m: &EventMarker) -> Vec<(String, String)> {
        let r = &m.record;
        let mut rows: Vec<(String, String)> = Vec::new();
        let v = r.event.valid().expect("world");
        rows.push(("when".into(), self.valid_text(v)));
        if v.is_interval() {
            rows.push(("counts from".into(), self.local(&v.to)));
        }
        rows.push(("by".into(), by(r).into_owned()));
        match &r.event.body {
            Body::Asserted(a) if m.kind == "superseded" => {
                rows.push(("new claim".into(), clean(&a.text).into_owned()));
            }
            Body::FollowedUp(f) => {
                if let Some(x) = &f.reason {
                    rows.push(("reason".into(), clean(x).into_owned()));
                }
                if let Some(x) = &f.note {
                    rows.push(("note".into(), clean(x).into_owned()));
                }
            }
            _ => {}
        }
        if let Some(w) = wording(r) {
            if !w.via.is_empty() {
                rows.push(("via".into(), via_text(&w.via, " → ")));
            }
            if let Some(q) = &w.quote {
                let key = match &w.lang {
                    Some(l) => format!("quote ({})", clean(l)),
                    None => "quote".into(),
                };
                rows.push((key, clean(q).into_owned()));
            }
            if let Some(x) = &w.translation {
                rows.push(("translation".into(), clean(x).into_owned()));
            }
            if let Some(x) = &w.source {
                rows.push(("source".into(), clean(x).into_owned()));
            }
        }
        rows.push(("event".into(), format!("{} (seq {})", r.event.id, r.seq)));
        rows
    }

    /// What happened, by whom, via whom.
    pub(super) fn event_heading(m: &EventMarker) -> String {
        match m.kind {
            "superseded" => format!("superseded: new claim by {}", who(&m.record)),
            k => format!("{k} by {}", who(&m.record)),
        }
    }

    /// The details of a claim, as (field, value) rows.
    pub(super) fn claim_details(&self, l: &Lane) -> Vec<(String, String)> {
        let mut rows = vec![("by".to_string(), claim_by(l).into_owned())];
        if let Some(a) = l.events.iter().find(|e| e.kind == "asserted") {
            rows.push((
                "asserted".into(),
                self.valid_text(a.record.event.valid().expect("world")),
            ));
            if let Some(w) = wording(&a.record) {
                if !w.via.is_empty() {
                    rows.push(("via".into(), via_text(&w.via, " → ")));
                }
            }
        }
        let history: Vec<String> = l
            .spans
            .iter()
            .map(|s| format!("{} from {}", s.status.as_str(), self.local(&s.from)))
            .collect();
        if !history.is_empty() {
            rows.push(("status".into(), history.join("; ")));
        }
        rows.push(("claim".into(), l.claim.to_string()));
        rows
    }

    /// A heading and its rows as plain text (an SVG `<title>`).
    pub(super) fn title_text(heading: &str, rows: &[(String, String)]) -> String {
        let mut s = heading.to_string();
        for (k, v) in rows {
            s.push_str(&format!("\n{k}: {v}"));
        }
        s
    }

    /// What the picture is of: the title, or `the story`.
    pub(super) fn heading(&self) -> String {
        if self.opts.title.is_empty() {
            "the story".into()
        } else {
            clean(&self.opts.title).into_owned()
        }
    }
}
