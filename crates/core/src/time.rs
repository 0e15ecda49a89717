//! Times as users write them, and the valid-time interval stored on world events.
//!
//! Accepted forms (see the README): RFC 3339 with an offset; a naive date-time,
//! read in the zone in force (`--tz`); a bare date, meaning the whole day in that
//! zone; and an interval `A/B` of any two of those. Everything is stored in UTC.

use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, SecondsFormat, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::error::{Error, Hint, Result};

/// A point in time, always UTC.
pub type Time = DateTime<Utc>;

/// When something happened in the world: the interval `[from, to]` (`from == to`
/// for an exact instant) and, optionally, the source's own wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    /// Earliest it can have happened.
    pub from: Time,
    /// Latest it can have happened.
    pub to: Time,
    /// The original wording ("fredag morgen, amerikansk tid").
    pub text: Option<String>,
}

impl Valid {
    /// An exact instant.
    pub fn at(t: Time) -> Self {
        Valid {
            from: t,
            to: t,
            text: None,
        }
    }

    /// Whether this is an interval rather than an instant.
    pub fn is_interval(&self) -> bool {
        self.from != self.to
    }
}

/// Formats a time the one way the ledger writes times: RFC 3339 in UTC with `Z`,
/// with as many fractional digits as it needs.
pub fn fmt_time(t: &Time) -> String {
    let mut s = String::with_capacity(30);
    fmt_time_into(t, &mut s);
    s
}

/// [`fmt_time`] appended to `out`, without chrono's formatting machinery
/// for years 0000–9999 (a whole ledger's state formats one a claim); a unit
/// test holds the two equal.
pub fn fmt_time_into(t: &Time, out: &mut String) {
    let secs = t.timestamp();
    let nanos = t.timestamp_subsec_nanos();
    // 0000-01-01 to 9999-12-31, and no leap second.
    if !(-62_167_219_200..=253_402_300_799).contains(&secs) || nanos >= 1_000_000_000 {
        out.push_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        return;
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as u32;
    let mut b = [0u8; 32];
    let mut n = 0;
    let put = |v: u32, width: usize, b: &mut [u8; 32], n: &mut usize| {
        let mut v = v;
        for i in (0..width).rev() {
            b[*n + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        *n += width;
    };
    put(y, 4, &mut b, &mut n);
    b[n] = b'-';
    n += 1;
    put(m, 2, &mut b, &mut n);
    b[n] = b'-';
    n += 1;
    put(d, 2, &mut b, &mut n);
    b[n] = b'T';
    n += 1;
    put(rem / 3600, 2, &mut b, &mut n);
    b[n] = b':';
    n += 1;
    put(rem / 60 % 60, 2, &mut b, &mut n);
    b[n] = b':';
    n += 1;
    put(rem % 60, 2, &mut b, &mut n);
    if nanos != 0 {
        b[n] = b'.';
        n += 1;
        if nanos.is_multiple_of(1_000_000) {
            put(nanos / 1_000_000, 3, &mut b, &mut n);
        } else if nanos.is_multiple_of(1_000) {
            put(nanos / 1_000, 6, &mut b, &mut n);
        } else {
            put(nanos, 9, &mut b, &mut n);
        }
    }
    b[n] = b'Z';
    n += 1;
    out.push_str(std::str::from_utf8(&b[..n]).expect("ASCII"));
}

/// Parses an IANA zone name for `--tz`.
pub fn parse_zone(name: &str) -> Result<Tz> {
    name.parse::<Tz>().map_err(|_| {
        Error::invalid(format!("`{name}` is not an IANA time zone name"))
            .with_hint("use a name such as UTC, Europe/Oslo or America/New_York")
    })
}

/// A day in a zone as the interval `[start, end]` of instants whose wall
/// clock shows that date: `start` is the first instant of the day, `end` the
/// last nanosecond before the next day starts. Works for every day of every
/// IANA zone: a day whose midnight the clocks skip starts when the clocks
/// jump; a day the zone skipped whole (Samoa, 2011-12-30) is the one instant
/// before the next day starts.
fn day_bounds(date: NaiveDate, tz: &Tz) -> Result<(Time, Time)> {
    let start = day_start(date, tz)?;
    let next = date
        .succ_opt()
        .ok_or_else(|| Error::invalid(format!("{date} is out of range")))?;
    let end = day_start(next, tz)? - Duration::nanoseconds(1);
    Ok((start.min(end), end))
}

/// The first instant at which the wall clock in `tz` shows `date` or later.
fn day_start(date: NaiveDate, tz: &Tz) -> Result<Time> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight is a time");
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        LocalResult::None => {
            // Midnight falls in a gap: the day starts when the clocks jump
            // over it, which is midnight read at the offset in force just
            // before the gap. Find that offset at the nearest wall time
            // before midnight that exists (gaps last hours, not days).
            for back in 1..=72 {
                let earlier = midnight - Duration::hours(back);
                let offset = match tz.from_local_datetime(&earlier) {
                    LocalResult::Single(t) => t.offset().fix(),
                    LocalResult::Ambiguous(_, later) => later.offset().fix(),
                    LocalResult::None => continue,
                };
                let utc = midnight - Duration::seconds(offset.local_minus_utc() as i64);
                return Ok(Utc.from_utc_datetime(&utc));
            }
            Err(Error::invalid(format!(
                "{date} has no wall-clock time in {tz} that the ledger can find"
            )))
        }
    }
}

fn local_to_utc(naive: NaiveDateTime, tz: &Tz) -> Result<Time> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        // A wall-clock time that happens twice (DST ends): take the earlier one.
        LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        LocalResult::None => Err(Error::invalid(format!(
            "{naive} does not exist in {tz} (the clocks skip it)"
        ))
        .with_hint("write the time with an explicit offset")),
    }
}

const NAIVE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
];

const OFFSET_FORMATS: &[&str] = &["%Y-%m-%dT%H:%M%:z", "%Y-%m-%d %H:%M%:z"];

/// One side of a time expression: a point, or a whole day.
fn parse_part(s: &str, tz: &Tz) -> Result<(Time, Time)> {
    // One rule for letter case everywhere: `t` and `z` are `T` and `Z`, as
    // RFC 3339 allows and as `append` reads them.
    let given = s.trim();
    let upper = given.to_ascii_uppercase();
    let s = upper.as_str();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = t.with_timezone(&Utc);
        return Ok((t, t));
    }
    if upper.ends_with('Z') {
        let with_offset = format!("{}+00:00", &upper[..upper.len() - 1]);
        for f in OFFSET_FORMATS {
            if let Ok(t) = DateTime::parse_from_str(&with_offset, f) {
                let t = t.with_timezone(&Utc);
                return Ok((t, t));
            }
        }
    }
    for f in OFFSET_FORMATS {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            let t = t.with_timezone(&Utc);
            return Ok((t, t));
        }
    }
    for f in NAIVE_FORMATS {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            let t = local_to_utc(n, tz)?;
            return Ok((t, t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return day_bounds(d, tz);
    }
    Err(unparsable(given))
}

fn unparsable(s: &str) -> Error {
    Error::invalid(format!("`{s}` is not a time the ledger can read")).with_hint(Hint::TimeForms)
}

/// Parses a valid time as given to `--at` on the write commands: a point, a
/// date (the whole day) or an interval `A/B`. Refuses `from > to`.
pub fn parse_valid(s: &str, tz: &Tz) -> Result<(Time, Time)> {
    let s = s.trim();
    if s.is_empty() {
        return Err(unparsable(s));
    }
    let (from, to) = match s.split_once('/') {
        Some((a, b)) => {
            let (a_from, _) = parse_part(a, tz)?;
            let (_, b_to) = parse_part(b, tz)?;
            (a_from, b_to)
        }
        None => parse_part(s, tz)?,
    };
    if from > to {
        return Err(Error::invalid(format!(
            "the interval `{s}` starts after it ends ({} > {})",
            fmt_time(&from),
            fmt_time(&to)
        )));
    }
    Ok((storable(from, s)?, storable(to, s)?))
}

/// Refuses a time outside the years 0000–9999 in UTC: RFC 3339 cannot write
/// it, so a stored event holding it could not be read back.
fn storable(t: Time, s: &str) -> Result<Time> {
    use chrono::{Datelike, Timelike};
    if !(0..=9999).contains(&t.year()) {
        return Err(Error::invalid(format!(
            "`{s}` falls outside the years 0000 to 9999 in UTC, which the ledger cannot store"
        )));
    }
    // chrono takes second 60 in any minute; only at 23:59 UTC, where leap
    // seconds fall, is it a real time that is written back as it was read.
    if t.nanosecond() >= 1_000_000_000 && (t.hour(), t.minute(), t.second()) != (23, 59, 59) {
        return Err(Error::invalid(format!(
            "`{s}` has a second 60 that is not a leap second (23:59:60 UTC)"
        )));
    }
    Ok(t)
}

/// Parses a query time (`--at`, `--as-of`, `--from`, `--to`): a point; a bare date
/// means the end of that day in the zone in force; `now` means now.
pub fn parse_query(s: &str, tz: &Tz, now: Time) -> Result<Time> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if s.contains('/') {
        return Err(Error::invalid(format!(
            "`{s}` is an interval, but a query needs one point in time"
        )));
    }
    if s.is_empty() {
        return Err(unparsable(s));
    }
    // The same limits as a valid time: a query time the ledger could not
    // store is one it cannot write back in RFC 3339 either.
    parse_part(s, tz).and_then(|(_, to)| storable(to, s))
}

/// Parses an RFC 3339 time with an offset, as events in NDJSON carry them.
pub fn parse_rfc3339(s: &str) -> Result<Time> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Error::invalid(format!(
                "`{s}` is not an RFC 3339 time with an offset (e.g. 2020-07-10T15:00:00Z)"
            ))
        })
        .and_then(|t| storable(t, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(s: &str) -> Time {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn a_day_that_samoa_skipped_still_has_an_end() {
        // Samoa moved across the date line: 2011-12-29 (UTC-10) was followed
        // by 2011-12-31 (UTC+14).
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let now = z("2026-01-01T00:00:00Z");
        let end_29 = parse_query("2011-12-29", &apia, now).unwrap();
        assert_eq!(fmt_time(&end_29), "2011-12-30T09:59:59.999999999Z");
        assert_eq!(parse_query("2011-12-30", &apia, now).unwrap(), end_29);
        let (from, to) = parse_valid("2011-12-29", &apia).unwrap();
        assert_eq!(fmt_time(&from), "2011-12-29T10:00:00Z");
        assert_eq!(to, end_29);
        // The skipped day is the one instant before the 31st starts.
        let (from, to) = parse_valid("2011-12-30", &apia).unwrap();
        assert_eq!((from, to), (end_29, end_29));
        let (from, _) = parse_valid("2011-12-31", &apia).unwrap();
        assert_eq!(fmt_time(&from), "2011-12-30T10:00:00Z");
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_when_the_clocks_jump() {
        // São Paulo began DST at midnight: 2018-11-04 00:00 became 01:00.
        let sp: Tz = "America/Sao_Paulo".parse().unwrap();
        let (from, to) = parse_valid("2018-11-04", &sp).unwrap();
        assert_eq!(fmt_time(&from), "2018-11-04T03:00:00Z");
        assert_eq!(fmt_time(&to), "2018-11-05T01:59:59.999999999Z");
        // And the day before ends just before the jump (23 hours later).
        let end = parse_query("2018-11-03", &sp, z("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(fmt_time(&end), "2018-11-04T02:59:59.999999999Z");
    }

    #[test]
    fn every_day_of_many_zones_has_bounds_in_order() {
        let zones = [
            "Pacific/Apia",
            "Pacific/Kiritimati",
            "America/Sao_Paulo",
            "America/Havana",
            "Asia/Tehran",
            "Europe/Oslo",
            "America/New_York",
            "Australia/Lord_Howe",
            "Antarctica/Troll",
            "Africa/Casablanca",
        ];
        let mut day = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2037, 12, 31).unwrap();
        while day <= last {
            for name in zones {
                let tz: Tz = name.parse().unwrap();
                let (from, to) =
                    day_bounds(day, &tz).unwrap_or_else(|e| panic!("{name} {day}: {e}"));
                assert!(from <= to, "{name} {day}");
                // Days tile the time line: the next starts right after
                // this one ends (or, skipped, is the instant this one ends).
                let (next_from, _) = day_bounds(day.succ_opt().unwrap(), &tz).unwrap();
                let one = Duration::nanoseconds(1);
                assert!(next_from == to + one || next_from == to, "{name} {day}");
                // A day that is not skipped starts on its own date.
                if from < to {
                    assert_eq!(from.with_timezone(&tz).date_naive(), day, "{name} {day}");
                    assert_eq!(to.with_timezone(&tz).date_naive(), day, "{name} {day}");
                }
            }
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn query_times_keep_the_limits_of_valid_times() {
        let now = z("2026-01-01T00:00:00Z");
        let e = parse_query("2016-06-30T12:00:60Z", &Tz::UTC, now).unwrap_err();
        assert!(e.message().contains("second 60"), "{e}");
        let e = parse_query("0000-01-01T00:00+01:00", &Tz::UTC, now).unwrap_err();
        assert!(e.message().contains("0000 to 9999"), "{e}");
        // A real leap second is a query time like any other.
        parse_query("2016-12-31T23:59:60Z", &Tz::UTC, now).unwrap();
    }

    #[test]
    fn letter_case_is_one_rule_for_every_time() {
        let now = z("2026-01-01T00:00:00Z");
        let want = z("2020-07-10T15:00:00Z");
        for s in [
            "2020-07-10t15:00:00z",
            "2020-07-10t15:00z",
            "2020-07-10T15:00Z",
        ] {
            assert_eq!(parse_query(s, &Tz::UTC, now).unwrap(), want, "{s}");
            assert_eq!(parse_valid(s, &Tz::UTC).unwrap().0, want, "{s}");
        }
        assert_eq!(
            parse_query("2020-07-10t15:00", &Tz::UTC, now).unwrap(),
            want
        );
        // Errors show what the user typed.
        let e = parse_query("2020-07-10t25:00", &Tz::UTC, now).unwrap_err();
        assert!(e.message().contains("`2020-07-10t25:00`"), "{e}");
    }

    fn utc(s: &str) -> Time {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn rfc3339_with_offset_is_converted_to_utc() {
        let (f, t) = parse_valid("2020-07-10T21:06:00+02:00", &Tz::UTC).unwrap();
        assert_eq!(f, utc("2020-07-10T19:06:00Z"));
        assert_eq!(f, t);
    }

    #[test]
    fn naive_time_is_read_in_the_zone() {
        let tz = parse_zone("America/New_York").unwrap();
        let (f, _) = parse_valid("2020-07-10T15:00", &tz).unwrap();
        assert_eq!(f, utc("2020-07-10T19:00:00Z"));
        let (f, _) = parse_valid("2020-07-10 15:00:30", &tz).unwrap();
        assert_eq!(f, utc("2020-07-10T19:00:30Z"));
    }

    #[test]
    fn a_date_is_the_whole_day_in_the_zone() {
        let tz = parse_zone("Europe/Oslo").unwrap();
        let (f, t) = parse_valid("2020-07-10", &tz).unwrap();
        assert_eq!(f, utc("2020-07-09T22:00:00Z"));
        assert_eq!(t, utc("2020-07-10T21:59:59.999999999Z"));
    }

    #[test]
    fn a_query_date_means_the_end_of_the_day() {
        let t = parse_query(
            "2020-07-10",
            &Tz::UTC,
            parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
        )
        .unwrap();
        assert_eq!(t, utc("2020-07-10T23:59:59.999999999Z"));
    }

    #[test]
    fn intervals_take_the_start_of_a_and_the_end_of_b() {
        let (f, t) = parse_valid("2020-07-06/2020-07-07", &Tz::UTC).unwrap();
        assert_eq!(f, utc("2020-07-06T00:00:00Z"));
        assert_eq!(t, utc("2020-07-07T23:59:59.999999999Z"));
    }

    #[test]
    fn backwards_interval_is_refused() {
        let e = parse_valid("2020-07-07T00:00Z/2020-07-06T00:00Z", &Tz::UTC).unwrap_err();
        assert!(e.message().contains("starts after it ends"), "{e}");
    }

    #[test]
    fn garbage_and_impossible_dates_are_refused() {
        for s in [
            "",
            "yesterday",
            "2020-13-01",
            "2020-02-30",
            "2020-07-10T25:00",
            "/",
        ] {
            assert!(parse_valid(s, &Tz::UTC).is_err(), "{s:?} accepted");
        }
    }

    #[test]
    fn nonexistent_local_time_is_refused() {
        let tz = parse_zone("Europe/Oslo").unwrap();
        assert!(parse_valid("2020-03-29T02:30", &tz).is_err());
    }

    #[test]
    fn unknown_zone_is_refused() {
        assert!(parse_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn formatting_round_trips() {
        for s in [
            "2020-07-10T19:06:00Z",
            "2020-07-10T23:59:59.999999999Z",
            "2020-07-10T19:06:00.123Z",
        ] {
            assert_eq!(fmt_time(&utc(s)), s);
        }
    }

    #[test]
    fn the_fast_time_format_is_chronos() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let edges = [
            -62_167_219_200i64,
            -62_167_219_201,
            253_402_300_799,
            253_402_300_800,
            0,
            -1,
            951_782_400,
            1_594_405_560,
        ];
        for i in 0..200_000u32 {
            let secs = if (i as usize) < edges.len() {
                edges[i as usize]
            } else {
                (next() % 330_000_000_000) as i64 - 65_000_000_000
            };
            let nanos = match i % 4 {
                0 => 0,
                1 => (next() % 1000) as u32 * 1_000_000,
                2 => (next() % 1_000_000) as u32 * 1_000,
                _ => (next() % 1_000_000_000) as u32,
            };
            let Some(t) = chrono::DateTime::from_timestamp(secs, nanos) else {
                continue;
            };
            assert_eq!(
                fmt_time(&t),
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                "{secs} {nanos}"
            );
        }
    }
}
