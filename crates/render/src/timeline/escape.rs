//! Escaping: text for XML content and attributes (the SVG, and the HTML
//! page around it), and JSON for a `<script>` element.

/// Escapes text for XML content and attributes; drops characters XML 1.0
/// cannot hold. Ledger text is passed through [`crate::clean`] first, so
/// that its control characters are shown written out rather than dropped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JSON text made safe inside a `<script>` element: `<`, `>` and `&` are
/// written as `\u` escapes, which JSON reads back as the same characters.
pub(super) fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            esc("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;\u{FFFD}"
        );
    }

    #[test]
    fn json_cannot_end_the_script() {
        assert_eq!(
            script_json(r#"{"a":"</script><!-- & -->"}"#),
            r#"{"a":"\u003c/script\u003e\u003c!-- \u0026 --\u003e"}"#
        );
    }
}
