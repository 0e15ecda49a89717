//! A picture of how a story changed: one lane per claim, its status over
//! valid time, every event on it, and the user's marks, as SVG or as a
//! self-contained HTML page (SPEC `claims timeline`).
//!
//! Pure: the picture depends only on the histories and the [`Options`]
//! given (no clock, no environment, no I/O), and the same input gives the
//! same bytes.
//!
//! How the picture is drawn:
//! - a claim's status bar starts where its assertion *certainly* happened
//!   (`valid.to`) and changes colour where a counting event changes the
//!   status ([`ClaimHistory::transitions_over_valid_time`]); the last status
//!   runs to the right edge;
//! - an event whose time is known only as an interval (`from < to`) also gets
//!   a hatched strip under the bar over that interval: it possibly happened
//!   anywhere in it, and counts only from its end;
//! - each event has a marker at the time it counts, labelled with its kind,
//!   who (`by`) and through whom (`via`);
//! - long stretches in which nothing starts or ends are cut out of the time
//!   axis and drawn as a break (with the length skipped), so that events
//!   hours apart stay readable beside events days or years earlier.

use std::fmt::Write as _;

use chrono::{
    Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike,
};
use chrono_tz::Tz;
use serde_json::{json, Value};
use uuid::Uuid;

use claims_core::event::{Body, FollowUpKind, Wording};
use claims_core::projection::{ClaimHistory, EntryStanding, Status, View};
use claims_core::record::Record;
use claims_core::time::{fmt_time, Time, Valid};

/// A vertical line at a time, with a label ("published").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// Where the line goes.
    pub at: Time,
    /// What it marks.
    pub label: String,
}

/// What to draw besides the histories.
#[derive(Debug, Clone)]
pub struct Options {
    /// The heading: the story slug, or a description of the scope.
    pub title: String,
    /// Recorded time R: entries recorded later are left out, voids recorded
    /// by then are applied.
    pub as_of: Time,
    /// Vertical lines to draw.
    pub marks: Vec<Mark>,
    /// The zone the axis and the details are written in.
    pub tz: Tz,
}

impl Options {
    /// Options as known at `as_of`, in UTC, without marks.
    pub fn new(title: impl Into<String>, as_of: Time) -> Self {
        Options {
            title: title.into(),
            as_of,
            marks: Vec::new(),
            tz: Tz::UTC,
        }
    }
}

/// A tick step of the time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickStep {
    /// Every n minutes.
    Minutes(u32),
    /// Every n hours.
    Hours(u32),
    /// Every n days (at midnight).
    Days(u32),
    /// Every week (Mondays).
    Weeks(u32),
    /// Every n months (on the 1st).
    Months(u32),
    /// Every n years (on 1 January).
    Years(u32),
}

impl TickStep {
    /// The steps the axis chooses from, shortest first.
    pub const ALL: [TickStep; 20] = [
        TickStep::Minutes(1),
        TickStep::Minutes(5),
        TickStep::Minutes(15),
        TickStep::Minutes(30),
        TickStep::Hours(1),
        TickStep::Hours(3),
        TickStep::Hours(6),
        TickStep::Hours(12),
        TickStep::Days(1),
        TickStep::Weeks(1),
        TickStep::Months(1),
        TickStep::Months(3),
        TickStep::Months(6),
        TickStep::Years(1),
        TickStep::Years(2),
        TickStep::Years(5),
        TickStep::Years(10),
        TickStep::Years(25),
        TickStep::Years(50),
        TickStep::Years(100),
    ];

    /// The step's length in seconds (months and years on average).
    pub fn approx_seconds(self) -> f64 {
        const DAY: f64 = 86_400.0;
        match self {
            TickStep::Minutes(n) => 60.0 * f64::from(n),
            TickStep::Hours(n) => 3_600.0 * f64::from(n),
            TickStep::Days(n) => DAY * f64::from(n),
            TickStep::Weeks(n) => 7.0 * DAY * f64::from(n),
            TickStep::Months(n) => 30.436_875 * DAY * f64::from(n),
            TickStep::Years(n) => 365.242_5 * DAY * f64::from(n),
        }
    }

    /// The start of the step containing `t` (a local wall-clock time).
    fn floor(self, t: NaiveDateTime) -> NaiveDateTime {
        let day = t.date();
        let at = |d: NaiveDate, h: u32, m: u32| d.and_hms_opt(h, m, 0).expect("valid wall time");
        match self {
            TickStep::Minutes(n) => at(day, t.hour(), t.minute() - t.minute() % n),
            TickStep::Hours(n) => at(day, t.hour() - t.hour() % n, 0),
            TickStep::Days(_) => at(day, 0, 0),
            TickStep::Weeks(_) => at(
                day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
                0,
                0,
            ),
            TickStep::Months(n) => {
                let m0 = day.month0() - day.month0() % n;
                at(
                    NaiveDate::from_ymd_opt(day.year(), m0 + 1, 1).expect("1st"),
                    0,
                    0,
                )
            }
            TickStep::Years(n) => {
                let y = day.year() - day.year().rem_euclid(n as i32);
                at(NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(day), 0, 0)
            }
        }
    }

    /// The next tick after `t` (a local wall-clock time on a tick).
    fn next(self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            TickStep::Minutes(n) => t.checked_add_signed(Duration::minutes(i64::from(n))),
            TickStep::Hours(n) => t.checked_add_signed(Duration::hours(i64::from(n))),
            TickStep::Days(n) => t.checked_add_signed(Duration::days(i64::from(n))),
            TickStep::Weeks(n) => t.checked_add_signed(Duration::weeks(i64::from(n))),
            TickStep::Months(n) => t.checked_add_months(Months::new(n)),
            TickStep::Years(n) => t.checked_add_months(Months::new(12 * n)),
        }
    }

    fn is_sub_daily(self) -> bool {
        matches!(self, TickStep::Minutes(_) | TickStep::Hours(_))
    }
}

/// The shortest step whose ticks lie at least `min_px` apart on a scale of
/// `seconds_per_px`; the longest step if none does.
pub fn choose_tick_step(seconds_per_px: f64, min_px: f64) -> TickStep {
    TickStep::ALL
        .into_iter()
        .find(|s| s.approx_seconds() / seconds_per_px >= min_px)
        .unwrap_or(TickStep::Years(100))
}

/// The ticks of `step` from `from` to `to`, in the wall-clock time of `tz`
/// (a wall-clock time that does not exist there is skipped).
pub fn ticks(step: TickStep, from: Time, to: Time, tz: &Tz) -> Vec<Time> {
    let mut out = Vec::new();
    let mut local = step.floor(from.with_timezone(tz).naive_local());
    for _ in 0..10_000 {
        let t = match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t),
            LocalResult::Ambiguous(a, _) => Some(a),
            LocalResult::None => None,
        }
        .map(|t| t.with_timezone(&chrono::Utc));
        if let Some(t) = t {
            if t > to {
                break;
            }
            if t >= from && out.last().is_none_or(|l| *l < t) {
                out.push(t);
            }
        }
        match step.next(local) {
            Some(n) => local = n,
            None => break,
        }
    }
    out
}

/// The colour a status is drawn in.
pub fn status_colour(s: Status) -> &'static str {
    match s {
        Status::Reported => "#4c78a8",
        Status::Corroborated => "#2b8a3e",
        Status::Disputed => "#f59f00",
        Status::Refuted => "#d62728",
        Status::Superseded => "#868e96",
        Status::Retracted => "#7b2cbf",
    }
}

fn status_text_colour(s: Status) -> &'static str {
    match s {
        Status::Disputed => "#222222",
        _ => "#ffffff",
    }
}

fn status_meaning(s: Status) -> &'static str {
    match s {
        Status::Reported => "reported: asserted, nothing more",
        Status::Corroborated => "corroborated: confirmed by another party",
        Status::Disputed => "disputed: contested",
        Status::Refuted => "refuted: shown false",
        Status::Superseded => "superseded: replaced by a later claim",
        Status::Retracted => "retracted: withdrawn by the claimant's side",
    }
}

// Geometry (pixels).
const WIDTH: f64 = 1400.0;
const MARGIN: f64 = 20.0;
const LABEL_W: f64 = 370.0;
const PLOT_L: f64 = MARGIN + LABEL_W + 14.0;
const PLOT_R: f64 = WIDTH - 30.0;
const BAR_H: f64 = 14.0;
const TRACK_H: f64 = 5.0;
const TRACK_GAP: f64 = 2.0;
const ROW_H: f64 = 13.0;
const LANE_PAD: f64 = 6.0;
const BREAK_PX: f64 = 24.0;
const MAX_CUTS: usize = 6;
const MIN_TICK_PX: f64 = 64.0;
const FONT: &str = "'DejaVu Sans', Verdana, Arial, sans-serif";
const TEXT_CHARS: usize = 54;

/// Rough width of `s` at `size` px in the (wide) fonts used.
fn text_w(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.61
}

/// Maps valid time to x, leaving out long quiet stretches (breaks).
#[derive(Debug, Clone)]
struct Scale {
    /// Visible segments: start, end, x of start.
    segs: Vec<(Time, Time, f64)>,
    /// Pixels per second.
    k: f64,
}

impl Scale {
    fn new(points: &[Time]) -> Scale {
        let width = PLOT_R - PLOT_L;
        let (first, last) = match (points.first(), points.last()) {
            (Some(f), Some(l)) => (*f, *l),
            _ => unreachable!("the caller gives at least one point"),
        };
        let secs = |a: Time, b: Time| (b - a).num_milliseconds() as f64 / 1000.0;
        let total = secs(first, last);
        let gaps: Vec<(Time, Time, f64)> = points
            .windows(2)
            .map(|w| (w[0], w[1], secs(w[0], w[1])))
            .filter(|g| g.2 > 0.0)
            .collect();
        let mut sorted: Vec<f64> = gaps.iter().map(|g| g.2).collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted
            .get(sorted.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(0.0);
        // A gap is cut when it is long beside the typical gap and a real
        // share of the whole (at most MAX_CUTS, the longest); half the
        // typical gap stays visible on each side of a cut.
        let mut cuts: Vec<(Time, Time)> = Vec::new();
        if gaps.len() >= 2 {
            let mut long: Vec<&(Time, Time, f64)> = gaps
                .iter()
                .filter(|g| g.2 > 2.5 * median && g.2 > 0.05 * total)
                .collect();
            long.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
            long.truncate(MAX_CUTS);
            let keep = Duration::milliseconds((median * 500.0) as i64);
            cuts = long
                .iter()
                .map(|&&(a, b, _)| (a + keep, b - keep))
                .collect();
            cuts.sort();
        }
        let shown = total - cuts.iter().map(|(a, b)| secs(*a, *b)).sum::<f64>();
        let shown = if shown > 0.0 { shown } else { 7_200.0 };
        let left = Duration::milliseconds((shown * 0.04 * 1000.0) as i64);
        let right = Duration::milliseconds((shown * 0.12 * 1000.0) as i64);
        let start = first - left;
        let end = last + right;
        let k = (width - cuts.len() as f64 * BREAK_PX) / secs(start, end - cuts_len(&cuts));
        let mut segs = Vec::new();
        let mut seg_start = start;
        let mut x = PLOT_L;
        for (a, b) in &cuts {
            segs.push((seg_start, *a, x));
            x += secs(seg_start, *a) * k + BREAK_PX;
            seg_start = *b;
        }
        segs.push((seg_start, end, x));
        Scale { segs, k }
    }

    fn start(&self) -> Time {
        self.segs[0].0
    }

    fn end(&self) -> Time {
        self.segs[self.segs.len() - 1].1
    }

    fn x(&self, t: Time) -> f64 {
        let secs = |a: Time, b: Time| (b - a).num_milliseconds() as f64 / 1000.0;
        if t <= self.start() {
            return PLOT_L;
        }
        for (i, &(s, e, x0)) in self.segs.iter().enumerate() {
            if t <= e {
                return x0 + secs(s, t) * self.k;
            }
            if let Some(&(ns, _, nx)) = self.segs.get(i + 1) {
                if t < ns {
                    let ex = x0 + secs(s, e) * self.k;
                    return ex + (nx - ex) * secs(e, t) / secs(e, ns);
                }
            }
        }
        PLOT_R
    }

    fn visible(&self, t: Time) -> bool {
        self.segs.iter().any(|(s, e, _)| *s <= t && t <= *e)
    }

    /// The cuts: x where each starts, and the time it skips.
    fn breaks(&self) -> Vec<(f64, Duration)> {
        self.segs
            .windows(2)
            .map(|w| {
                let (s, e, x0) = w[0];
                (
                    x0 + (e - s).num_milliseconds() as f64 / 1000.0 * self.k,
                    w[1].0 - e,
                )
            })
            .collect()
    }
}

fn cuts_len(cuts: &[(Time, Time)]) -> Duration {
    cuts.iter()
        .fold(Duration::zero(), |acc, (a, b)| acc + (*b - *a))
}

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
    rows: usize,
}

/// A laid-out timeline: ask it for the SVG, the HTML page, or where things are.
#[derive(Debug, Clone)]
pub struct Timeline {
    opts: Options,
    lanes: Vec<Lane>,
    scale: Scale,
    step: TickStep,
    height: f64,
    // Vertical positions.
    legend_y: f64,
    marks_y: f64,
    /// Each mark's label row and whether its label sits left of the line.
    mark_rows: Vec<(usize, bool)>,
    axis_y: f64,
    lanes_top: f64,
    lanes_bottom: f64,
}

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

fn wording(r: &Record) -> Option<&Wording> {
    match &r.event.body {
        Body::Asserted(a) => Some(&a.wording),
        Body::FollowedUp(f) => Some(&f.wording),
        Body::Voided(_) => None,
    }
}

fn who(r: &Record) -> String {
    let by = r.event.by().unwrap_or("");
    match wording(r) {
        Some(w) if !w.via.is_empty() => format!("{by} via {}", w.via.join(", ")),
        _ => by.to_string(),
    }
}

fn marker_label(m: &EventMarker) -> String {
    let who = who(&m.record);
    let s = match m.kind {
        "superseded" => format!("superseded: new claim by {who}"),
        k => format!("{k} by {who}"),
    };
    truncate(&s, 64)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t = t.trim_end().to_string();
        t.push('…');
        t
    }
}

/// Splits `s` into at most `lines` lines of at most `n` characters, at
/// spaces; the last line ends in `…` if anything is left over.
fn wrap(s: &str, n: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let len = cur.chars().count() + usize::from(!cur.is_empty()) + w.chars().count();
        if len <= n || cur.is_empty() {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
            i += 1;
        } else {
            out.push(std::mem::take(&mut cur));
            if out.len() == lines {
                break;
            }
        }
    }
    if out.len() < lines && !cur.is_empty() {
        out.push(cur);
    }
    if i < words.len() || out.last().is_some_and(|l| l.chars().count() > n) {
        if let Some(last) = out.last_mut() {
            let mut t = truncate(last, n);
            if !t.ends_with('…') {
                t = truncate(&format!("{t} …"), n);
                if !t.ends_with('…') {
                    t.push('…');
                }
            }
            *last = t;
        }
    }
    out
}

/// Places items given as (left, right) extents into rows greedily; returns
/// each item's row and the number of rows.
fn pack(extents: &[(f64, f64)], gap: f64) -> (Vec<usize>, usize) {
    let mut ends: Vec<f64> = Vec::new();
    let mut rows = Vec::with_capacity(extents.len());
    for &(l, r) in extents {
        match ends.iter().position(|e| *e + gap <= l) {
            Some(i) => {
                ends[i] = r;
                rows.push(i);
            }
            None => {
                ends.push(r);
                rows.push(ends.len() - 1);
            }
        }
    }
    (rows, ends.len())
}

impl Timeline {
    /// Lays out the histories as known at `opts.as_of`. Claims whose
    /// assertion was not recorded by then, or was voided by then, get no lane.
    pub fn new(histories: &[ClaimHistory], opts: &Options) -> Timeline {
        let end_view = View::new(Time::MAX_UTC, opts.as_of);
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
            let transitions = h.transitions_over_valid_time(opts.as_of);
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

        let mut points: Vec<Time> = lanes
            .iter()
            .flat_map(|l| l.events.iter())
            .filter_map(|e| e.record.event.valid())
            .flat_map(|v| [v.from, v.to])
            .chain(opts.marks.iter().map(|m| m.at))
            .collect();
        if points.is_empty() {
            points.push(opts.as_of);
        }
        points.sort();
        points.dedup();
        if points.len() == 1 {
            let p = points[0];
            points = vec![p - Duration::hours(1), p, p + Duration::hours(1)];
        }
        let scale = Scale::new(&points);
        let step = choose_tick_step(1.0 / scale.k, MIN_TICK_PX);

        let mut t = Timeline {
            opts: opts.clone(),
            lanes,
            scale,
            step,
            height: 0.0,
            legend_y: 0.0,
            marks_y: 0.0,
            mark_rows: Vec::new(),
            axis_y: 0.0,
            lanes_top: 0.0,
            lanes_bottom: 0.0,
        };
        t.layout();
        t
    }

    fn mark_text(&self, m: &Mark) -> (String, String) {
        let local = m.at.with_timezone(&self.opts.tz);
        let when = if self.step.is_sub_daily() {
            local.format("%H:%M").to_string()
        } else {
            local.format("%-d %b %Y").to_string()
        };
        (truncate(&m.label, 48), when)
    }

    /// The extent of a mark's label written to the right of its line, and
    /// to the left of it.
    fn mark_extents(&self, m: &Mark) -> [(f64, f64); 2] {
        let (label, when) = self.mark_text(m);
        let w = text_w(&label, 11.0) + text_w(&when, 10.0) + 10.0;
        let x = self.scale.x(m.at);
        [(x, x + 4.0 + w), (x - 4.0 - w, x)]
    }

    fn marker_extent(&self, m: &EventMarker) -> (f64, f64) {
        let x = self.scale.x(m.record.event.valid().expect("world").to);
        let w = text_w(&marker_label(m), 10.0) + 8.0;
        if x + w > WIDTH - 4.0 {
            (x - w, x + 5.0)
        } else {
            (x - 5.0, x + w)
        }
    }

    fn layout(&mut self) {
        let mut y = MARGIN + 20.0; // title baseline
        y += 20.0; // subtitle
        self.legend_y = y + 14.0;
        y = self.legend_y + self.legend_rows() as f64 * 18.0 + 4.0;

        // Marks: one row each where labels would collide.
        let mut order: Vec<usize> = (0..self.opts.marks.len()).collect();
        order.sort_by_key(|&i| (self.opts.marks[i].at, i));
        // Labels go right of their line, unless that runs off the picture
        // or into the next mark's label while the left side is free.
        let both: Vec<[(f64, f64); 2]> = order
            .iter()
            .map(|&i| self.mark_extents(&self.opts.marks[i]))
            .collect();
        let mut left = vec![false; order.len()];
        for k in 0..order.len() {
            let [r, l] = both[k];
            let prev_end = if k == 0 {
                MARGIN
            } else if left[k - 1] {
                both[k - 1][1].1
            } else {
                both[k - 1][0].1
            };
            let clashes_next = both.get(k + 1).is_some_and(|n| r.1 + 6.0 > n[0].0);
            left[k] = (r.1 > WIDTH - 4.0 || clashes_next) && l.0 > prev_end + 6.0;
        }
        let extents: Vec<(f64, f64)> = (0..order.len())
            .map(|k| both[k][usize::from(left[k])])
            .collect();
        let (rows, n_rows) = pack(&extents, 6.0);
        self.mark_rows = vec![(0, false); self.opts.marks.len()];
        for (k, &i) in order.iter().enumerate() {
            self.mark_rows[i] = (rows[k], left[k]);
        }
        self.marks_y = y + 12.0;
        y += n_rows as f64 * 15.0 + 4.0;
        self.axis_y = y + 12.0 + 14.0;
        y = self.axis_y + 14.0 + 8.0;
        self.lanes_top = y;

        for i in 0..self.lanes.len() {
            // Marker labels in rows above the bar.
            let extents: Vec<(f64, f64)> = self.lanes[i]
                .events
                .iter()
                .map(|m| self.marker_extent(m))
                .collect();
            let (rows, n_rows) = pack(&extents, 6.0);
            // Hatch tracks for intervals.
            let mut ivs: Vec<(usize, f64, f64)> = Vec::new();
            for (j, m) in self.lanes[i].events.iter().enumerate() {
                let v = m.record.event.valid().expect("world");
                if v.is_interval() {
                    ivs.push((j, self.scale.x(v.from), self.scale.x(v.to)));
                }
            }
            let (tracks, n_tracks) = pack(
                &ivs.iter().map(|&(_, a, b)| (a, b)).collect::<Vec<_>>(),
                3.0,
            );
            let lane = &mut self.lanes[i];
            for (j, r) in rows.into_iter().enumerate() {
                lane.events[j].row = r;
            }
            for (k, &(j, _, _)) in ivs.iter().enumerate() {
                lane.events[j].track = Some(tracks[k]);
            }
            lane.rows = n_rows;
            lane.top = y;
            lane.bar_top = y + LANE_PAD + n_rows as f64 * ROW_H + 2.0;
            lane.bar_bottom = lane.bar_top + BAR_H;
            let right =
                lane.bar_bottom - y + n_tracks as f64 * (TRACK_H + TRACK_GAP) + 2.0 + LANE_PAD;
            let left = LANE_PAD * 2.0 + 3.0 * 13.0;
            lane.height = right.max(left);
            y += lane.height;
        }
        self.lanes_bottom = y;
        self.height = y + 12.0 + 14.0 + 8.0 + 2.0 * 14.0 + MARGIN;
    }

    fn legend_items(&self) -> Vec<(String, f64)> {
        let mut items: Vec<(String, f64)> = Status::ALL
            .iter()
            .map(|s| {
                (
                    s.as_str().to_string(),
                    18.0 + text_w(s.as_str(), 11.0) + 16.0,
                )
            })
            .collect();
        let hatch = "possibly happened then (time known only as an interval)";
        items.push((hatch.into(), 26.0 + text_w(hatch, 11.0) + 16.0));
        let ev = "event, by whom, via whom";
        items.push((ev.into(), 16.0 + text_w(ev, 11.0) + 16.0));
        if !self.opts.marks.is_empty() {
            items.push(("mark".into(), 18.0 + text_w("mark", 11.0) + 16.0));
        }
        items
    }

    fn legend_rows(&self) -> usize {
        let mut rows = 1;
        let mut x = MARGIN;
        for (_, w) in self.legend_items() {
            if x + w > WIDTH - MARGIN {
                rows += 1;
                x = MARGIN;
            }
            x += w;
        }
        rows
    }

    /// The lanes, top to bottom.
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }

    /// The lane of `claim`, if it has one.
    pub fn lane(&self, claim: Uuid) -> Option<&Lane> {
        self.lanes.iter().find(|l| l.claim == claim)
    }

    /// Where `t` lies on the x axis (clamped to the plot).
    pub fn x(&self, t: Time) -> f64 {
        self.scale.x(t)
    }

    /// The first and last valid time the plot shows.
    pub fn domain(&self) -> (Time, Time) {
        (self.scale.start(), self.scale.end())
    }

    /// The tick step the axis uses.
    pub fn tick_step(&self) -> TickStep {
        self.step
    }

    /// The picture's size in pixels.
    pub fn size(&self) -> (f64, f64) {
        (WIDTH, self.height)
    }

    fn local(&self, t: &Time) -> String {
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

    fn valid_text(&self, v: &Valid) -> String {
        let mut s = if v.is_interval() {
            format!("{} – {}", self.local(&v.from), self.local(&v.to))
        } else {
            self.local(&v.from)
        };
        if let Some(w) = &v.text {
            s.push_str(&format!(" (“{w}”)"));
        }
        s
    }

    /// The details of one event, as (field, value) rows.
    fn event_details(&self, m: &EventMarker) -> Vec<(String, String)> {
        let r = &m.record;
        let mut rows: Vec<(String, String)> = Vec::new();
        let v = r.event.valid().expect("world");
        rows.push(("when".into(), self.valid_text(v)));
        if v.is_interval() {
            rows.push(("counts from".into(), self.local(&v.to)));
        }
        rows.push(("by".into(), r.event.by().unwrap_or("").to_string()));
        match &r.event.body {
            Body::Asserted(a) if m.kind == "superseded" => {
                rows.push(("new claim".into(), a.text.clone()));
            }
            Body::FollowedUp(f) => {
                if let Some(x) = &f.reason {
                    rows.push(("reason".into(), x.clone()));
                }
                if let Some(x) = &f.note {
                    rows.push(("note".into(), x.clone()));
                }
            }
            _ => {}
        }
        if let Some(w) = wording(r) {
            if !w.via.is_empty() {
                rows.push(("via".into(), w.via.join(" → ")));
            }
            if let Some(q) = &w.quote {
                let key = match &w.lang {
                    Some(l) => format!("quote ({l})"),
                    None => "quote".into(),
                };
                rows.push((key, q.clone()));
            }
            if let Some(x) = &w.translation {
                rows.push(("translation".into(), x.clone()));
            }
            if let Some(x) = &w.source {
                rows.push(("source".into(), x.clone()));
            }
        }
        rows.push(("event".into(), format!("{} (seq {})", r.event.id, r.seq)));
        rows
    }

    fn event_heading(m: &EventMarker) -> String {
        match m.kind {
            "superseded" => format!("superseded: new claim by {}", who(&m.record)),
            k => format!("{k} by {}", who(&m.record)),
        }
    }

    fn claim_details(&self, l: &Lane) -> Vec<(String, String)> {
        let mut rows = vec![("by".to_string(), l.by.clone())];
        if let Some(a) = l.events.iter().find(|e| e.kind == "asserted") {
            rows.push((
                "asserted".into(),
                self.valid_text(a.record.event.valid().expect("world")),
            ));
            if let Some(w) = wording(&a.record) {
                if !w.via.is_empty() {
                    rows.push(("via".into(), w.via.join(" → ")));
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

    fn title_text(heading: &str, rows: &[(String, String)]) -> String {
        let mut s = heading.to_string();
        for (k, v) in rows {
            s.push_str(&format!("\n{k}: {v}"));
        }
        s
    }

    /// The picture as a standalone SVG document.
    pub fn svg(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        self.write_svg(&mut s);
        s
    }

    fn write_svg(&self, s: &mut String) {
        let (w, h) = (WIDTH, self.height);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="{}" font-size="11" role="img" aria-labelledby="tl-title">"#,
            esc(FONT)
        );
        let _ = writeln!(
            s,
            r#"<title id="tl-title">{}</title>"#,
            esc(&format!(
                "How {} changed, as known at {}",
                self.heading(),
                self.local(&self.opts.as_of)
            ))
        );
        self.write_defs(s);
        let _ = writeln!(
            s,
            r##"<rect class="background" x="0" y="0" width="{w:.0}" height="{h:.0}" fill="#ffffff"/>"##
        );
        self.write_header(s);
        self.write_legend(s);
        self.write_lane_backgrounds(s);
        self.write_grid(s);
        for l in &self.lanes {
            self.write_lane_bars(s, l);
        }
        self.write_breaks(s);
        self.write_axis(s, self.axis_y, true);
        self.write_axis(s, self.lanes_bottom + 12.0, false);
        self.write_marks(s);
        for l in &self.lanes {
            self.write_lane_events(s, l);
        }
        let _ = writeln!(
            s,
            r##"<text x="{MARGIN}" y="{:.1}" font-size="10" fill="#555555">{}</text>"##,
            self.height - MARGIN,
            esc("A bar starts where its claim certainly had been made and changes colour where an event certainly had happened; \
                 hatching shows the interval in which an event possibly happened.")
        );
        let _ = writeln!(s, "</svg>");
    }

    fn heading(&self) -> String {
        if self.opts.title.is_empty() {
            "the story".into()
        } else {
            self.opts.title.clone()
        }
    }

    fn write_defs(&self, s: &mut String) {
        let _ = writeln!(s, "<defs>");
        for st in Status::ALL {
            let _ = writeln!(
                s,
                r#"<pattern id="hatch-{}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect x="0" y="0" width="2.5" height="6" fill="{}"/></pattern>"#,
                st.as_str(),
                status_colour(st)
            );
        }
        let _ = writeln!(s, "</defs>");
    }

    fn write_header(&self, s: &mut String) {
        let _ = writeln!(
            s,
            r##"<text class="title" x="{MARGIN}" y="{:.1}" font-size="18" font-weight="bold" fill="#222222">{}</text>"##,
            MARGIN + 18.0,
            esc(&format!("How {} changed", self.heading()))
        );
        let sub = format!(
            "{}, as the ledger knew them at {}. Valid time (when it happened in the world), in {}.",
            plural(self.lanes.len(), "claim"),
            self.local(&self.opts.as_of),
            self.opts.tz.name()
        );
        let _ = writeln!(
            s,
            r##"<text class="subtitle" x="{MARGIN}" y="{:.1}" font-size="12" fill="#555555">{}</text>"##,
            MARGIN + 38.0,
            esc(&sub)
        );
    }

    fn write_legend(&self, s: &mut String) {
        let _ = writeln!(s, r#"<g class="legend">"#);
        let mut x = MARGIN;
        let mut y = self.legend_y;
        for (i, (label, w)) in self.legend_items().into_iter().enumerate() {
            if x + w > WIDTH - MARGIN {
                x = MARGIN;
                y += 18.0;
            }
            let ty = y + 4.0;
            if i < Status::ALL.len() {
                let st = Status::ALL[i];
                let _ = writeln!(
                    s,
                    r#"<g class="legend-item" data-status="{}"><title>{}</title><rect x="{x:.1}" y="{:.1}" width="14" height="12" fill="{}"/><text x="{:.1}" y="{ty:.1}">{}</text></g>"#,
                    st.as_str(),
                    esc(status_meaning(st)),
                    y - 6.0,
                    status_colour(st),
                    x + 18.0,
                    esc(&label)
                );
            } else if i == Status::ALL.len() {
                let _ = writeln!(
                    s,
                    r#"<g class="legend-item" data-legend="interval"><rect x="{x:.1}" y="{:.1}" width="22" height="{TRACK_H}" fill="url(#hatch-reported)" stroke="{}" stroke-width="0.8"/><text x="{:.1}" y="{ty:.1}">{}</text></g>"#,
                    y - 2.0,
                    status_colour(Status::Reported),
                    x + 26.0,
                    esc(&label)
                );
            } else if label == "mark" {
                let _ = writeln!(
                    s,
                    r##"<g class="legend-item" data-legend="mark"><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#c92a2a" stroke-width="1.5" stroke-dasharray="4 3"/><text x="{:.1}" y="{ty:.1}">{}</text></g>"##,
                    x + 7.0,
                    y - 7.0,
                    x + 7.0,
                    y + 7.0,
                    x + 18.0,
                    esc(&label)
                );
            } else {
                let _ = writeln!(
                    s,
                    r##"<g class="legend-item" data-legend="event"><circle cx="{:.1}" cy="{y:.1}" r="4.5" fill="#444444" stroke="#ffffff" stroke-width="1.2"/><text x="{:.1}" y="{ty:.1}">{}</text></g>"##,
                    x + 5.0,
                    x + 16.0,
                    esc(&label)
                );
            }
            x += w;
        }
        let _ = writeln!(s, "</g>");
    }

    fn write_lane_backgrounds(&self, s: &mut String) {
        for (i, l) in self.lanes.iter().enumerate() {
            if i % 2 == 0 {
                let _ = writeln!(
                    s,
                    r##"<rect class="lane-bg" x="0" y="{:.1}" width="{WIDTH:.0}" height="{:.1}" fill="#f4f6f8"/>"##,
                    l.top, l.height
                );
            }
        }
    }

    fn visible_ticks(&self) -> Vec<Time> {
        let all = ticks(
            self.step,
            self.scale.start(),
            self.scale.end(),
            &self.opts.tz,
        );
        let breaks = self.scale.breaks();
        let mut out: Vec<Time> = Vec::new();
        let mut last_x = f64::NEG_INFINITY;
        for t in all {
            if !self.scale.visible(t) {
                continue;
            }
            let x = self.scale.x(t);
            let near_break = breaks
                .iter()
                .any(|(bx, _)| x > bx - 36.0 && x < bx + BREAK_PX + 36.0);
            if near_break || x - last_x < MIN_TICK_PX * 0.8 {
                continue;
            }
            last_x = x;
            out.push(t);
        }
        out
    }

    fn write_grid(&self, s: &mut String) {
        let _ = writeln!(s, r#"<g class="grid">"#);
        for t in self.visible_ticks() {
            let x = self.scale.x(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#d9dde1" stroke-width="1"/>"##,
                self.axis_y + 4.0,
                self.lanes_bottom
            );
        }
        let _ = writeln!(s, "</g>");
    }

    fn write_axis(&self, s: &mut String, y: f64, top: bool) {
        let _ = writeln!(s, r#"<g class="axis" data-step="{:?}">"#, self.step);
        let ticks = self.visible_ticks();
        let mut prev_secondary: Option<String> = None;
        let mut prev_x = f64::NEG_INFINITY;
        for t in ticks {
            let x = self.scale.x(t);
            let l = t.with_timezone(&self.opts.tz);
            let (primary, secondary) = match self.step {
                TickStep::Minutes(_) | TickStep::Hours(_) => (
                    l.format("%H:%M").to_string(),
                    l.format("%a %-d %b %Y").to_string(),
                ),
                TickStep::Days(_) | TickStep::Weeks(_) => {
                    (l.format("%-d %b").to_string(), l.format("%Y").to_string())
                }
                TickStep::Months(_) => (l.format("%b").to_string(), l.format("%Y").to_string()),
                TickStep::Years(_) => (l.format("%Y").to_string(), String::new()),
            };
            // A break restarts the context.
            let crossed = self
                .scale
                .breaks()
                .iter()
                .any(|(bx, _)| *bx > prev_x && *bx < x);
            let show_secondary =
                !secondary.is_empty() && (crossed || prev_secondary.as_deref() != Some(&secondary));
            prev_secondary = Some(secondary.clone());
            prev_x = x;
            let (py, sy) = if top { (y, y - 13.0) } else { (y, y + 13.0) };
            let _ = writeln!(
                s,
                r##"<text class="tick" x="{x:.1}" y="{py:.1}" text-anchor="middle" font-size="10" fill="#333333" data-time="{}">{}</text>"##,
                fmt_time(&t),
                esc(&primary)
            );
            if show_secondary {
                let _ = writeln!(
                    s,
                    r##"<text class="tick-context" x="{x:.1}" y="{sy:.1}" text-anchor="start" font-size="10" font-weight="bold" fill="#333333">{}</text>"##,
                    esc(&secondary)
                );
            }
        }
        if top {
            for (bx, skipped) in self.scale.breaks() {
                let _ = writeln!(
                    s,
                    r##"<text class="break-label" x="{:.1}" y="{:.1}" text-anchor="middle" font-size="9" fill="#777777">{}</text>"##,
                    bx + BREAK_PX / 2.0,
                    y,
                    esc(&format!("+{}", human(skipped)))
                );
            }
        }
        let _ = writeln!(s, "</g>");
    }

    fn write_breaks(&self, s: &mut String) {
        let top = self.axis_y + 4.0;
        let bottom = self.lanes_bottom;
        for (bx, skipped) in self.scale.breaks() {
            let _ = writeln!(
                s,
                r##"<g class="break" data-skipped="{}"><title>{}</title><rect x="{bx:.1}" y="{top:.1}" width="{BREAK_PX}" height="{:.1}" fill="#ffffff"/><line x1="{bx:.1}" y1="{top:.1}" x2="{bx:.1}" y2="{bottom:.1}" stroke="#adb5bd" stroke-width="1" stroke-dasharray="2 2"/><line x1="{:.1}" y1="{top:.1}" x2="{:.1}" y2="{bottom:.1}" stroke="#adb5bd" stroke-width="1" stroke-dasharray="2 2"/></g>"##,
                human(skipped),
                esc(&format!(
                    "{} with no event left out of the axis",
                    human(skipped)
                )),
                bottom - top,
                bx + BREAK_PX,
                bx + BREAK_PX
            );
        }
    }

    fn write_marks(&self, s: &mut String) {
        for (i, m) in self.opts.marks.iter().enumerate() {
            let x = self.scale.x(m.at);
            let (row, left) = self.mark_rows[i];
            let ly = self.marks_y + row as f64 * 15.0;
            let (label, when) = self.mark_text(m);
            let _ = writeln!(
                s,
                r##"<g class="mark" data-time="{}" data-label="{}"><title>{}</title><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#c92a2a" stroke-width="1.5" stroke-dasharray="4 3"/><text x="{:.1}" y="{ly:.1}" text-anchor="{}" fill="#c92a2a"><tspan font-weight="bold">{}</tspan><tspan font-size="10"> {}</tspan></text></g>"##,
                fmt_time(&m.at),
                esc(&m.label),
                esc(&format!("{}: {}", m.label, self.local(&m.at))),
                ly + 3.0,
                self.lanes_bottom,
                if left { x - 4.0 } else { x + 4.0 },
                if left { "end" } else { "start" },
                esc(&label),
                esc(&when)
            );
        }
    }

    fn write_lane_bars(&self, s: &mut String, l: &Lane) {
        let _ = writeln!(
            s,
            r#"<g class="lane" data-claim="{}" data-by="{}">"#,
            l.claim,
            esc(&l.by)
        );
        // The claim's own label on the left.
        let lines = wrap(&l.text, TEXT_CHARS, 2);
        let mut y = l.top + LANE_PAD + 11.0;
        let title = Self::title_text(&l.text, &self.claim_details(l));
        let _ = write!(
            s,
            r##"<g class="claim-label" data-claim="{}"><title>{}</title><text x="{MARGIN}" y="{y:.1}" font-size="11.5" fill="#222222">"##,
            l.claim,
            esc(&title)
        );
        for (i, line) in lines.iter().enumerate() {
            let dy = if i == 0 { 0.0 } else { 13.0 };
            let _ = write!(s, r#"<tspan x="{MARGIN}" dy="{dy}">{}</tspan>"#, esc(line));
        }
        y += 13.0 * lines.len() as f64;
        let via = l
            .events
            .iter()
            .find(|e| e.kind == "asserted")
            .and_then(|e| wording(&e.record))
            .map(|w| w.via.clone())
            .unwrap_or_default();
        let by = if via.is_empty() {
            format!("by {}", l.by)
        } else {
            format!("by {} · via {}", l.by, via.join(", "))
        };
        let _ = writeln!(
            s,
            r##"</text><text class="claim-by" x="{MARGIN}" y="{y:.1}" font-size="10.5" font-style="italic" fill="#666666">{}</text></g>"##,
            esc(&truncate(&by, 62))
        );

        // Status spans.
        for sp in &l.spans {
            let x0 = self.scale.x(sp.from);
            let x1 = sp.to.map(|t| self.scale.x(t)).unwrap_or(PLOT_R);
            let w = (x1 - x0).max(1.0);
            let _ = write!(
                s,
                r#"<rect class="span" data-status="{}" data-from="{}" data-to="{}" x="{x0:.1}" y="{:.1}" width="{w:.1}" height="{BAR_H}" fill="{}"><title>{}</title></rect>"#,
                sp.status.as_str(),
                fmt_time(&sp.from),
                sp.to.map(|t| fmt_time(&t)).unwrap_or_default(),
                l.bar_top,
                status_colour(sp.status),
                esc(&format!(
                    "{} from {}{}",
                    sp.status.as_str(),
                    self.local(&sp.from),
                    sp.to
                        .map(|t| format!(" to {}", self.local(&t)))
                        .unwrap_or_default()
                ))
            );
            let word = sp.status.as_str();
            if w > text_w(word, 10.0) + 10.0 {
                let _ = write!(
                    s,
                    r#"<text class="span-label" x="{:.1}" y="{:.1}" font-size="10" fill="{}">{}</text>"#,
                    x0 + 5.0,
                    l.bar_top + BAR_H - 3.5,
                    status_text_colour(sp.status),
                    word
                );
            }
            let _ = writeln!(s);
        }
        // Hatched intervals.
        for m in &l.events {
            let Some(track) = m.track else { continue };
            let v = m.record.event.valid().expect("world");
            let x0 = self.scale.x(v.from);
            let x1 = self.scale.x(v.to);
            let y = l.bar_bottom + 3.0 + track as f64 * (TRACK_H + TRACK_GAP);
            let _ = writeln!(
                s,
                r#"<rect class="interval" data-event="{}" data-kind="{}" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{TRACK_H}" fill="url(#hatch-{})" stroke="{}" stroke-width="0.8"><title>{}</title></rect>"#,
                m.record.event.id,
                m.kind,
                (x1 - x0).max(1.0),
                m.status.as_str(),
                status_colour(m.status),
                esc(&format!(
                    "{}: possibly happened {}",
                    Self::event_heading(m),
                    self.valid_text(v)
                ))
            );
        }
        let _ = writeln!(s, "</g>");
    }

    fn write_lane_events(&self, s: &mut String, l: &Lane) {
        let _ = writeln!(s, r#"<g class="lane-events" data-claim="{}">"#, l.claim);
        for m in &l.events {
            let v = m.record.event.valid().expect("world");
            let x = self.scale.x(v.to);
            let ry = l.top + LANE_PAD + m.row as f64 * ROW_H + 6.0;
            let bottom = match m.track {
                Some(t) => l.bar_bottom + 3.0 + (t as f64 + 1.0) * (TRACK_H + TRACK_GAP),
                None => l.bar_bottom,
            };
            let colour = status_colour(m.status);
            let (left, _) = self.marker_extent(m);
            let to_left = left < x - 5.5;
            let title = Self::title_text(&Self::event_heading(m), &self.event_details(m));
            let _ = writeln!(
                s,
                r##"<g class="event" data-event="{}" data-kind="{}" tabindex="0"><title>{}</title><line x1="{x:.1}" y1="{ry:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{colour}" stroke-width="1" stroke-opacity="0.8"/><circle cx="{x:.1}" cy="{ry:.1}" r="4.5" fill="{colour}" stroke="#ffffff" stroke-width="1.2"/><text x="{:.1}" y="{:.1}" text-anchor="{}" font-size="10" fill="#222222" stroke="#ffffff" stroke-width="3" stroke-opacity="0.85" stroke-linejoin="round" paint-order="stroke">{}</text></g>"##,
                m.record.event.id,
                m.kind,
                esc(&title),
                if to_left { x - 7.0 } else { x + 7.0 },
                ry + 3.5,
                if to_left { "end" } else { "start" },
                esc(&marker_label(m))
            );
        }
        let _ = writeln!(s, "</g>");
    }

    /// The picture as a self-contained HTML page: the same SVG inline, with
    /// hover (and keyboard focus) details of every event and claim. It loads
    /// nothing from anywhere.
    pub fn html(&self) -> String {
        let mut details = serde_json::Map::new();
        for l in &self.lanes {
            for m in &l.events {
                details.insert(
                    m.record.event.id.to_string(),
                    details_json(&Self::event_heading(m), &self.event_details(m)),
                );
            }
            details.insert(
                l.claim.to_string(),
                details_json(&l.text, &self.claim_details(l)),
            );
        }
        let data = serde_json::to_string(&Value::Object(details))
            .expect("JSON")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        let mut svg = String::new();
        self.write_svg(&mut svg);
        let title = format!("How {} changed", self.heading());
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ margin: 0; padding: 1rem 1.5rem; font-family: {font}; color: #222; background: #fff; }}
h1 {{ font-size: 1.3rem; margin: 0 0 .3rem; }}
p.how {{ max-width: 60rem; color: #444; font-size: .9rem; margin: 0 0 .8rem; }}
.chart {{ overflow-x: auto; }}
.chart svg {{ display: block; }}
.chart .event, .chart .claim-label, .chart .interval {{ cursor: pointer; }}
.chart .event:hover circle, .chart .event:focus circle {{ r: 6.5; }}
.chart .event:focus {{ outline: none; }}
#tip {{ position: fixed; z-index: 10; max-width: 34rem; background: #fff; border: 1px solid #999; border-radius: 4px;
  box-shadow: 0 2px 10px rgba(0,0,0,.25); padding: .5rem .7rem; font-size: .82rem; line-height: 1.35; pointer-events: none; }}
#tip h2 {{ font-size: .9rem; margin: 0 0 .3rem; }}
#tip dl {{ margin: 0; display: grid; grid-template-columns: max-content 1fr; column-gap: .6rem; row-gap: .15rem; }}
#tip dt {{ color: #666; }}
#tip dd {{ margin: 0; overflow-wrap: anywhere; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="how">One lane per claim. The bar shows the claim's status over valid time; it changes where an event had certainly happened.
Hatched strips show when an event possibly happened, where the time is known only as an interval.
Point at (or tab to) an event or a claim for its quote, translation, source and reporting chain.</p>
<div class="chart">
{svg}</div>
<div id="tip" hidden></div>
<script type="application/json" id="details">{data}</script>
<script>
(function () {{
  var details = JSON.parse(document.getElementById('details').textContent);
  var tip = document.getElementById('tip');
  function keyOf(el) {{
    var g = el.closest('[data-event], .claim-label');
    if (!g) return null;
    return g.getAttribute('data-event') || g.getAttribute('data-claim');
  }}
  function show(key, x, y) {{
    var d = details[key];
    if (!d) {{ tip.hidden = true; return; }}
    tip.textContent = '';
    var h = document.createElement('h2');
    h.textContent = d.heading;
    tip.appendChild(h);
    var dl = document.createElement('dl');
    d.rows.forEach(function (r) {{
      var dt = document.createElement('dt'); dt.textContent = r[0];
      var dd = document.createElement('dd'); dd.textContent = r[1];
      if (r[0].indexOf('quote') === 0) {{ dd.lang = r[0].replace(/^quote \(|\)$/g, ''); }}
      dl.appendChild(dt); dl.appendChild(dd);
    }});
    tip.appendChild(dl);
    tip.hidden = false;
    var w = tip.offsetWidth, hh = tip.offsetHeight;
    var left = Math.min(x + 14, window.innerWidth - w - 8);
    var top = y + 14 + hh > window.innerHeight ? Math.max(8, y - hh - 14) : y + 14;
    tip.style.left = Math.max(8, left) + 'px';
    tip.style.top = top + 'px';
  }}
  document.querySelectorAll('.chart [data-event] > title, .chart .claim-label > title').forEach(function (t) {{
    t.parentNode.removeChild(t);
  }});
  var chart = document.querySelector('.chart');
  chart.addEventListener('mousemove', function (e) {{
    var k = keyOf(e.target);
    if (k) show(k, e.clientX, e.clientY); else tip.hidden = true;
  }});
  chart.addEventListener('mouseleave', function () {{ tip.hidden = true; }});
  chart.addEventListener('focusin', function (e) {{
    var k = keyOf(e.target);
    if (!k) return;
    var r = e.target.getBoundingClientRect();
    show(k, r.left, r.bottom);
  }});
  chart.addEventListener('focusout', function () {{ tip.hidden = true; }});
}})();
</script>
</body>
</html>
"#,
            title = esc(&title),
            font = FONT,
            svg = svg,
            data = data
        )
    }
}

fn details_json(heading: &str, rows: &[(String, String)]) -> Value {
    json!({
        "heading": heading,
        "rows": rows.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A duration in words: `3 days`, `10 hours`, `2 years`.
fn human(d: Duration) -> String {
    let secs = d.num_seconds().max(0) as f64;
    let (n, unit) = if secs >= 2.0 * 365.25 * 86_400.0 {
        (secs / (365.25 * 86_400.0), "years")
    } else if secs >= 60.0 * 86_400.0 {
        (secs / (30.44 * 86_400.0), "months")
    } else if secs >= 2.0 * 86_400.0 {
        (secs / 86_400.0, "days")
    } else if secs >= 2.0 * 3_600.0 {
        (secs / 3_600.0, "hours")
    } else {
        (secs / 60.0, "min")
    };
    format!("{:.0} {unit}", n.round())
}

/// Escapes text for XML content and attributes; drops characters XML 1.0
/// cannot hold.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims_core::time::parse_rfc3339;

    fn t(s: &str) -> Time {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn tick_steps_grow() {
        for w in TickStep::ALL.windows(2) {
            assert!(w[0].approx_seconds() < w[1].approx_seconds(), "{w:?}");
        }
    }

    #[test]
    fn ticks_fall_on_round_local_times() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        let ts = ticks(
            TickStep::Hours(6),
            t("2020-07-10T05:00:00Z"),
            t("2020-07-11T05:00:00Z"),
            &oslo,
        );
        let local: Vec<String> = ts
            .iter()
            .map(|x| x.with_timezone(&oslo).format("%d %H:%M").to_string())
            .collect();
        assert_eq!(local, ["10 12:00", "10 18:00", "11 00:00", "11 06:00"]);
        let ts = ticks(
            TickStep::Weeks(1),
            t("2020-07-01T00:00:00Z"),
            t("2020-07-31T00:00:00Z"),
            &Tz::UTC,
        );
        assert!(ts.iter().all(|x| x.weekday() == chrono::Weekday::Mon));
        assert_eq!(ts.len(), 4);
        let ts = ticks(
            TickStep::Months(3),
            t("2019-11-15T00:00:00Z"),
            t("2021-01-01T00:00:00Z"),
            &Tz::UTC,
        );
        let months: Vec<String> = ts
            .iter()
            .map(|x| x.format("%Y-%m-%d").to_string())
            .collect();
        assert_eq!(
            months,
            [
                "2020-01-01",
                "2020-04-01",
                "2020-07-01",
                "2020-10-01",
                "2021-01-01"
            ]
        );
        let ts = ticks(
            TickStep::Years(5),
            t("2003-01-01T00:00:00Z"),
            t("2016-01-01T00:00:00Z"),
            &Tz::UTC,
        );
        assert_eq!(ts.len(), 3);
    }

    #[test]
    fn ticks_skip_clock_changes() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        // 2020-03-29 02:00 local does not exist in Oslo.
        let ts = ticks(
            TickStep::Hours(1),
            t("2020-03-28T23:30:00Z"),
            t("2020-03-29T03:30:00Z"),
            &oslo,
        );
        let local: Vec<String> = ts
            .iter()
            .map(|x| x.with_timezone(&oslo).format("%H:%M").to_string())
            .collect();
        assert_eq!(local, ["01:00", "03:00", "04:00", "05:00"]);
    }

    #[test]
    fn long_quiet_gaps_are_cut() {
        let pts = [
            t("2020-06-28T22:00:00Z"),
            t("2020-07-05T22:00:00Z"),
            t("2020-07-10T09:00:00Z"),
            t("2020-07-10T11:00:00Z"),
            t("2020-07-10T19:00:00Z"),
            t("2020-07-10T22:05:00Z"),
        ];
        let s = Scale::new(&pts);
        assert_eq!(s.breaks().len(), 2);
        // Order is kept, and the last hours get real room.
        let xs: Vec<f64> = pts.iter().map(|p| s.x(*p)).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]), "{xs:?}");
        assert!(xs[5] - xs[4] > 30.0, "{xs:?}");
        // Evenly spread points are not cut.
        let even: Vec<Time> = (0..6)
            .map(|i| t("2020-01-01T00:00:00Z") + Duration::days(30 * i))
            .collect();
        assert!(Scale::new(&even).breaks().is_empty());
    }

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            esc("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;\u{FFFD}"
        );
    }

    #[test]
    fn wrap_keeps_words_and_marks_the_cut() {
        assert_eq!(wrap("one two three", 20, 2), ["one two three"]);
        let w = wrap("alpha beta gamma delta epsilon zeta eta theta", 12, 2);
        assert_eq!(w.len(), 2);
        assert!(w[1].ends_with('…'), "{w:?}");
        assert!(w.iter().all(|l| l.chars().count() <= 12), "{w:?}");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::days(6)), "6 days");
        assert_eq!(human(Duration::hours(61)), "3 days");
        assert_eq!(human(Duration::hours(10)), "10 hours");
        assert_eq!(human(Duration::days(400)), "13 months");
        assert_eq!(human(Duration::days(3 * 365)), "3 years");
    }
}
