//! Ledger text made safe to show: control characters written out.

use std::borrow::Cow;

/// Ledger text as it is shown: every control character (C0, DEL and C1) is
/// written escaped, as the command line shows it: `\n`, `\t`, `\r`, and
/// `\u{1b}` (lowercase hex, in braces) for the others, so that
/// `"a\u{1b}[31mred\u{7}"` shows as `a\u{1b}[31mred\u{7}`. Everything else
/// is kept; text without control characters is borrowed as it is.
///
/// The pictures apply it to every text that comes from the ledger before
/// escaping it for XML or HTML: XML 1.0 cannot hold most control
/// characters, and none of them should reach a reader raw.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_written_out() {
        assert_eq!(clean("a\u{1b}[31mred\u{7}"), "a\\u{1b}[31mred\\u{7}");
        assert_eq!(clean("a\nb\tc\rd"), "a\\nb\\tc\\rd");
        assert_eq!(
            clean("\u{0}\u{1f}\u{7f}\u{80}\u{9f}"),
            "\\u{0}\\u{1f}\\u{7f}\\u{80}\\u{9f}"
        );
    }

    #[test]
    fn other_text_is_kept_and_borrowed() {
        let s = "Æ <b> & \u{a0}\u{200b}\u{2028} “x” 🙂";
        assert!(matches!(clean(s), Cow::Borrowed(t) if t == s));
    }

    #[test]
    fn every_control_character_and_nothing_else_is_escaped() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let shown = clean(c.encode_utf8(&mut [0; 4])).into_owned();
            let control = matches!(c as u32, 0..=0x1f | 0x7f..=0x9f);
            assert_eq!(shown != c.to_string(), control, "{:x}", c as u32);
            assert!(!shown.chars().any(char::is_control), "{:x}", c as u32);
        }
    }
}
