//! Writing the picture as SVG: the header, legend, lane backgrounds, grid,
//! lanes' labels, status bars and hatched intervals, breaks, axes, marks and
//! event markers, in that order (later ones on top).

use std::fmt::Write as _;

use claims_core::projection::Status;
use claims_core::time::fmt_time;

use super::details::{claim_by, claim_text, mark_label, marker_label, via_text, wording};
use super::escape::esc;
use super::lanes::Lane;
use super::layout::{
    text_w, BAR_H, LANE_PAD, MARGIN, PLOT_R, ROW_H, TEXT_CHARS, TRACK_GAP, TRACK_H, WIDTH,
};
use super::scale::BREAK_PX;
use super::style::{status_colour, status_meaning, status_text_colour, FONT};
use super::text::{human, plural, truncate, wrap};
use super::Timeline;

impl Timeline {
    /// The picture as a standalone SVG document.
    pub fn svg(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        self.write_svg(&mut s);
        s
    }

    /// Writes the `<svg>` element (the HTML page holds it inline).
    pub(super) fn write_svg(&self, s: &mut String) {
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
            let (primary, secondary) = self.step.labels(&l);
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
                esc(&mark_label(m)),
                esc(&format!("{}: {}", mark_label(m), self.local(&m.at))),
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
            esc(&claim_by(l))
        );
        // The claim's own label on the left.
        let text = claim_text(l);
        let lines = wrap(&text, TEXT_CHARS, 2);
        let mut y = l.top + LANE_PAD + 11.0;
        let title = Self::title_text(&text, &self.claim_details(l));
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
            .map(|w| via_text(&w.via, ", "))
            .unwrap_or_default();
        let by = if via.is_empty() {
            format!("by {}", claim_by(l))
        } else {
            format!("by {} · via {via}", claim_by(l))
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
}
