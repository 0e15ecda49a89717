//! Shared pieces of the human-readable output: tables and times in `--tz`.

use std::collections::HashMap;

use chrono::Timelike;
use chrono_tz::Tz;
use comfy_table::{presets, ContentArrangement, Table};
use uuid::Uuid;

use claims_core::projection::Status;
use claims_core::time::{Time, Valid};

/// A table in the house style.
pub fn table(ctx: &super::Ctx, header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().copied())
        // The user's terminal; not a terminal: a width that still reads well
        // in a file.
        .set_width(ctx.io().width().unwrap_or(120));
    t
}

/// The shortest prefixes (at least 8 hex digits) that tell `ids` apart, as
/// `claims` accepts them back.
pub fn short_ids(ids: &[Uuid]) -> HashMap<Uuid, String> {
    let hex: Vec<(Uuid, String)> = ids.iter().map(|u| (*u, u.simple().to_string())).collect();
    let mut out = HashMap::new();
    for (id, h) in &hex {
        let mut n = 8;
        while n < 32 && hex.iter().any(|(o, oh)| o != id && oh[..n] == h[..n]) {
            n += 1;
        }
        let dashed = id.to_string();
        // Cut the dashed form after n hex digits.
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
        out.insert(*id, dashed[..cut].trim_end_matches('-').to_string());
    }
    out
}

/// A time in the display zone: `2020-07-10 21:06 CEST`, with seconds when it
/// has them.
pub fn time(t: &Time, tz: &Tz) -> String {
    if *t == Time::MAX_UTC {
        return "end of time".into();
    }
    let local = t.with_timezone(tz);
    if local.second() == 0 && local.nanosecond() == 0 {
        local.format("%Y-%m-%d %H:%M %Z").to_string()
    } else if local.nanosecond() == 999_999_999 && local.second() == 59 {
        // The end of a day or minute: show it as the minute it closes.
        local.format("%Y-%m-%d %H:%M:59 %Z").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M:%S %Z").to_string()
    }
}

/// A valid time: one instant, or `from – to`, with the source's wording.
pub fn valid(v: &Valid, tz: &Tz) -> String {
    let mut s = if v.from == v.to {
        time(&v.from, tz)
    } else {
        format!("{} – {}", time(&v.from, tz), time(&v.to, tz))
    };
    if let Some(text) = &v.text {
        s.push_str(&format!(" (“{text}”)"));
    }
    s
}

/// A status, or `absent`.
pub fn status(s: Option<Status>) -> &'static str {
    s.map(Status::as_str).unwrap_or("absent")
}

/// JSON, pretty, with a newline.
pub fn json(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON");
    s.push('\n');
    s
}
