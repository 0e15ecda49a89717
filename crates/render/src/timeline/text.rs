//! Plain-text helpers: shortening and wrapping text, counts and durations
//! in words.

use chrono::Duration;

/// `s` cut to at most `n` characters, ending in `…` if it was cut.
pub(super) fn truncate(s: &str, n: usize) -> String {
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
pub(super) fn wrap(s: &str, n: usize, lines: usize) -> Vec<String> {
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

/// `1 claim`, `3 claims`.
pub(super) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A duration in words: `3 days`, `10 hours`, `2 years`.
pub(super) fn human(d: Duration) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
