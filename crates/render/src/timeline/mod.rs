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
//!
//! Where things are: this file holds the public types and
//! [`Timeline::new`], which turns the histories into lanes (`lanes.rs`),
//! fits a time axis to them (`scale.rs`, `ticks.rs`) and lays them out
//! (`layout.rs`). [`Timeline::svg`] (`svg.rs`) and [`Timeline::html`]
//! (`html.rs`) write the picture, in words from `details.rs` and `text.rs`,
//! in the colours of `style.rs`, escaped by `escape.rs`.

mod details;
mod escape;
mod html;
mod lanes;
mod layout;
mod scale;
mod style;
mod svg;
mod text;
mod ticks;

use chrono_tz::Tz;
use uuid::Uuid;

use claims_core::projection::ClaimHistory;
use claims_core::time::Time;

pub use escape::esc;
pub use lanes::{EventMarker, Lane, Span};
pub use style::status_colour;
pub use ticks::{choose_tick_step, ticks, TickStep};

use layout::WIDTH;
use scale::Scale;
use ticks::MIN_TICK_PX;

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

impl Timeline {
    /// Lays out the histories as known at `opts.as_of`. Claims whose
    /// assertion was not recorded by then, or was voided by then, get no lane.
    pub fn new(histories: &[ClaimHistory], opts: &Options) -> Timeline {
        let lanes = lanes::lanes(histories, opts.as_of);
        let scale = Scale::new(&scale::points(&lanes, &opts.marks, opts.as_of));
        let step = choose_tick_step(scale.seconds_per_px(), MIN_TICK_PX);

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
}
