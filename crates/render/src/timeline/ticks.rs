//! The ticks of the time axis: the steps to choose from, the step that
//! suits a scale, the ticks of a step in a zone's wall-clock time, which of
//! them the plot shows, and their labels.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike,
};
use chrono_tz::Tz;

use claims_core::time::Time;

use super::scale::BREAK_PX;
use super::Timeline;

/// The least distance between ticks the axis aims for (pixels).
pub(super) const MIN_TICK_PX: f64 = 64.0;

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

    /// A tick's label at local time `l`, and its context (the day or year
    /// it lies in; none for years).
    pub(super) fn labels(self, l: &DateTime<Tz>) -> (String, String) {
        match self {
            TickStep::Minutes(_) | TickStep::Hours(_) => (
                l.format("%H:%M").to_string(),
                l.format("%a %-d %b %Y").to_string(),
            ),
            TickStep::Days(_) | TickStep::Weeks(_) => {
                (l.format("%-d %b").to_string(), l.format("%Y").to_string())
            }
            TickStep::Months(_) => (l.format("%b").to_string(), l.format("%Y").to_string()),
            TickStep::Years(_) => (l.format("%Y").to_string(), String::new()),
        }
    }

    /// Whether the step is shorter than a day.
    pub(super) fn is_sub_daily(self) -> bool {
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

impl Timeline {
    /// The ticks the plot shows: those not cut out, clear of the breaks, and
    /// not crowding the one before.
    pub(super) fn visible_ticks(&self) -> Vec<Time> {
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
}
