//! The time axis: which stretch of valid time the plot shows, the long
//! quiet stretches cut out of it (the breaks), and where a time lies on x.

use chrono::Duration;

use claims_core::time::Time;

use super::lanes::Lane;
use super::layout::{PLOT_L, PLOT_R};
use super::Mark;

/// The width of a break, where a stretch of time was cut out (pixels).
pub(super) const BREAK_PX: f64 = 24.0;
/// At most this many stretches are cut out.
const MAX_CUTS: usize = 6;

/// The times the axis must show: both ends of every event's valid time and
/// every mark; `as_of` when there is none; an hour either side of a lone one.
pub(super) fn points(lanes: &[Lane], marks: &[Mark], as_of: Time) -> Vec<Time> {
    let mut points: Vec<Time> = lanes
        .iter()
        .flat_map(|l| l.events.iter())
        .filter_map(|e| e.record.event.valid())
        .flat_map(|v| [v.from, v.to])
        .chain(marks.iter().map(|m| m.at))
        .collect();
    if points.is_empty() {
        points.push(as_of);
    }
    points.sort();
    points.dedup();
    if points.len() == 1 {
        let p = points[0];
        points = vec![p - Duration::hours(1), p, p + Duration::hours(1)];
    }
    points
}

/// Maps valid time to x, leaving out long quiet stretches (breaks).
#[derive(Debug, Clone)]
pub(super) struct Scale {
    /// Visible segments: start, end, x of start.
    segs: Vec<(Time, Time, f64)>,
    /// Pixels per second.
    k: f64,
}

impl Scale {
    /// The scale over `points` (sorted, at least one).
    pub(super) fn new(points: &[Time]) -> Scale {
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

    /// Seconds per pixel (within a segment).
    pub(super) fn seconds_per_px(&self) -> f64 {
        1.0 / self.k
    }

    /// The first valid time shown.
    pub(super) fn start(&self) -> Time {
        self.segs[0].0
    }

    /// The last valid time shown.
    pub(super) fn end(&self) -> Time {
        self.segs[self.segs.len() - 1].1
    }

    /// Where `t` lies on x: within a segment linearly, within a cut across
    /// its break; clamped to the plot.
    pub(super) fn x(&self, t: Time) -> f64 {
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

    /// Whether `t` lies in a segment (not in a cut).
    pub(super) fn visible(&self, t: Time) -> bool {
        self.segs.iter().any(|(s, e, _)| *s <= t && t <= *e)
    }

    /// The cuts: x where each starts, and the time it skips.
    pub(super) fn breaks(&self) -> Vec<(f64, Duration)> {
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

/// The time the cuts leave out.
fn cuts_len(cuts: &[(Time, Time)]) -> Duration {
    cuts.iter()
        .fold(Duration::zero(), |acc, (a, b)| acc + (*b - *a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims_core::time::parse_rfc3339;

    fn t(s: &str) -> Time {
        parse_rfc3339(s).unwrap()
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
}
