//! The geometry of the picture: its fixed sizes, how wide text is, and
//! where everything goes vertically: the legend's rows, the marks' label
//! rows, the axis, and each lane (its label rows, status bar and hatch
//! tracks).

use claims_core::projection::Status;

use super::details::marker_label;
use super::lanes::EventMarker;
use super::{Mark, Timeline};

// Geometry (pixels).
pub(super) const WIDTH: f64 = 1400.0;
pub(super) const MARGIN: f64 = 20.0;
const LABEL_W: f64 = 370.0;
pub(super) const PLOT_L: f64 = MARGIN + LABEL_W + 14.0;
pub(super) const PLOT_R: f64 = WIDTH - 30.0;
pub(super) const BAR_H: f64 = 14.0;
pub(super) const TRACK_H: f64 = 5.0;
pub(super) const TRACK_GAP: f64 = 2.0;
pub(super) const ROW_H: f64 = 13.0;
pub(super) const LANE_PAD: f64 = 6.0;
/// How many characters of a claim's text fit on a line of its label.
pub(super) const TEXT_CHARS: usize = 54;

/// Rough width of `s` at `size` px in the (wide) fonts used.
pub(super) fn text_w(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.61
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
    /// The extent of a mark's label written to the right of its line, and
    /// to the left of it.
    fn mark_extents(&self, m: &Mark) -> [(f64, f64); 2] {
        let (label, when) = self.mark_text(m);
        let w = text_w(&label, 11.0) + text_w(&when, 10.0) + 10.0;
        let x = self.scale.x(m.at);
        [(x, x + 4.0 + w), (x - 4.0 - w, x)]
    }

    /// The extent of an event marker and its label.
    pub(super) fn marker_extent(&self, m: &EventMarker) -> (f64, f64) {
        let x = self.scale.x(m.record.event.valid().expect("world").to);
        let w = text_w(&marker_label(m), 10.0) + 8.0;
        if x + w > WIDTH - 4.0 {
            (x - w, x + 5.0)
        } else {
            (x - 5.0, x + w)
        }
    }

    /// Places everything vertically: the legend, the marks' label rows, the
    /// axis and the lanes (their label rows and hatch tracks), and the height.
    pub(super) fn layout(&mut self) {
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

    /// The legend's items and their widths.
    pub(super) fn legend_items(&self) -> Vec<(String, f64)> {
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

    /// How many rows the legend takes.
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
}
