//! Shared pieces of the human-readable output: tables and times in `--tz`.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono_tz::Tz;
use uuid::Uuid;

use claims_core::projection::Status;
use claims_core::time::{Time, Valid};

/// Ledger text made safe for a terminal: every control character (C0, DEL
/// and C1, which could drive the terminal or break a line) is shown escaped:
/// `\n`, `\t`, `\r`, or `\u{1b}` for the others. The same function the
/// pictures use (`claims_render::clean`). `--json` and exports keep text
/// exact; this is for what people read.
pub fn clean(s: &str) -> Cow<'_, str> {
    claims_render::clean(s)
}

/// Like [`clean`], but keeps line ends: for whole lines of output, whose
/// `\n`s are the output's own.
pub fn clean_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.split('\n').map(clean).collect::<Vec<_>>().join("\n"))
}

/// The shortest prefixes (at least 8 hex digits) that name each claim in
/// `ids` alone in the ledger, as `claims` accepts them back, in the dashed
/// form cut after that many digits.
pub fn short_ids(
    ledger: &super::backend::AnyLedger,
    ids: &[Uuid],
) -> claims_core::Result<HashMap<Uuid, String>> {
    let digits = ledger.short_claim_digits(ids)?;
    Ok(digits
        .into_iter()
        .map(|(id, n)| (id, dashed_prefix(id, n)))
        .collect())
}

/// `id` in its dashed form, cut after `n` hex digits
/// ([`claims_api::display::dashed_prefix`], shared with the web page).
pub fn dashed_prefix(id: Uuid, n: usize) -> String {
    claims_api::display::dashed_prefix(id, n)
}

/// A time in the display zone: `2020-07-10 21:06 CEST`, with seconds when it
/// has them ([`claims_api::display::time`], shared with the web page).
pub fn time(t: &Time, tz: &Tz) -> String {
    claims_api::display::time(t, tz)
}

/// A valid time: one instant, or `from – to`, with the source's wording.
pub fn valid(v: &Valid, tz: &Tz) -> String {
    let mut s = if v.from == v.to {
        time(&v.from, tz)
    } else {
        format!("{} – {}", time(&v.from, tz), time(&v.to, tz))
    };
    if let Some(text) = &v.text {
        s.push_str(&format!(" (“{}”)", clean(text)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn times_read_as_chronos_formats_in_every_zone() {
        let zones = [
            "UTC",
            "Europe/Oslo",
            "America/New_York",
            "Asia/Kolkata",
            "Pacific/Apia",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for z in zones {
            let tz: Tz = z.parse().unwrap();
            for i in 0..20_000u32 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let secs = (x % 4_000_000_000) as i64 - 1_000_000_000;
                let nanos = match i % 3 {
                    0 => 0,
                    1 => 999_999_999,
                    _ => (x >> 20) as u32 % 1_000_000_000,
                };
                let secs = if i % 3 == 1 {
                    secs - secs.rem_euclid(60) + 59
                } else {
                    secs
                };
                let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap();
                let local = t.with_timezone(&tz);
                let want = if local.second() == 0 && local.nanosecond() == 0 {
                    local.format("%Y-%m-%d %H:%M %Z").to_string()
                } else if local.nanosecond() == 999_999_999 && local.second() == 59 {
                    local.format("%Y-%m-%d %H:%M:59 %Z").to_string()
                } else {
                    local.format("%Y-%m-%d %H:%M:%S %Z").to_string()
                };
                assert_eq!(time(&t, &tz), want, "{z} {secs} {nanos}");
            }
        }
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(clean("a\u{1b}[31mred\u{7}"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(clean("two\nlines\tand\r"), "two\\nlines\\tand\\r");
        assert_eq!(
            clean("C1 \u{9b}31m, DEL \u{7f}"),
            "C1 \\u{9b}31m, DEL \\u{7f}"
        );
        assert_eq!(
            clean_lines("keeps\nline ends\u{1b}\n"),
            "keeps\nline ends\\u{1b}\n"
        );
        assert!(matches!(
            clean("Amazon e-post: «slett TikTok»"),
            Cow::Borrowed(_)
        ));
    }
}
