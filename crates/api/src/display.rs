//! How ids and times are shown to people: the CLI's tables and the web
//! page write them with these same functions.

use chrono::{Datelike, Timelike};
use chrono_tz::Tz;
use uuid::Uuid;

use claims_core::time::Time;

/// `id` in its dashed form, cut after `n` hex digits.
pub fn dashed_prefix(id: Uuid, n: usize) -> String {
    let dashed = id.to_string();
    let mut digits = 0;
    let cut = dashed
        .char_indices()
        .find(|(_, c)| {
            if *c != '-' {
                digits += 1;
            }
            digits > n
        })
        .map(|(i, _)| i)
        .unwrap_or(dashed.len());
    dashed[..cut].trim_end_matches('-').to_string()
}

/// A time in the display zone: `2020-07-10 21:06 CEST`, with seconds when it
/// has them.
pub fn time(t: &Time, tz: &Tz) -> String {
    if *t == Time::MAX_UTC {
        return "end of time".into();
    }
    let local = t.with_timezone(tz);
    let whole_minute = local.second() == 0 && local.nanosecond() == 0;
    // The end of a day or minute shows as the minute it closes with :59.
    let minute_end = local.nanosecond() == 999_999_999 && local.second() == 59;
    if !(0..=9999).contains(&local.year()) {
        return if whole_minute {
            local.format("%Y-%m-%d %H:%M %Z").to_string()
        } else if minute_end {
            local.format("%Y-%m-%d %H:%M:59 %Z").to_string()
        } else {
            local.format("%Y-%m-%d %H:%M:%S %Z").to_string()
        };
    }
    // What the formats above print (`%Z` is the offset's name), without
    // parsing a format string a cell.
    let mut s = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute()
    );
    if !whole_minute {
        s.push_str(&format!(":{:02}", local.second()));
    }
    s.push(' ');
    s.push_str(&local.offset().to_string());
    s
}
