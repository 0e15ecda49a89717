//! Control characters in ledger text never reach the picture raw: a story
//! whose every text holds every control character (C0, DEL, C1) gives an
//! SVG that is well-formed XML, and an SVG and an HTML page that show each
//! of them written out (`\n`, `\t`, `\r`, `\u{1b}`), as the command line
//! does.

use serde_json::Value;
use uuid::Uuid;

use claims_core::query::Scope;
use claims_core::time::{parse_rfc3339, Time};
use claims_core::{ClaimHistory, Event, Incoming, Ledger, MemStore};
use claims_render::clean;
use claims_render::timeline::{Mark, Options, Timeline};

const STORY: &str = "hostile-story";

fn t(s: &str) -> Time {
    parse_rfc3339(s).unwrap()
}

/// Every control character.
fn controls() -> Vec<char> {
    (0x00..=0x1f)
        .chain([0x7f])
        .chain(0x80..=0x9f)
        .map(|n| char::from_u32(n).unwrap())
        .collect()
}

/// A text holding every control character, each between brackets, and the
/// characters XML escapes.
fn hostile(what: &str) -> String {
    let mut s = format!("{what} <&>\"' ");
    for c in controls() {
        s.push('[');
        s.push(c);
        s.push(']');
    }
    s
}

fn id(n: u128) -> String {
    Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0000 | n).to_string()
}

fn event(v: Value) -> Incoming {
    Incoming {
        line: None,
        event: Event::from_json(&v, &[]).unwrap(),
    }
}

/// A claim asserted, corroborated (with a note), refuted (with a reason)
/// and superseded by a second claim, every text hostile; valid times are
/// intervals, so that the hatching's titles carry them too.
fn histories() -> Vec<ClaimHistory> {
    let h = hostile;
    let wording = |v: &mut Value| {
        v["quote"] = h("quote").into();
        v["lang"] = h("lang").into();
        v["translation"] = h("translation").into();
        v["source"] = h("source").into();
        v["via"] = serde_json::json!([h("via one"), h("via two")]);
    };
    let valid =
        |from: &str, to: &str| serde_json::json!({"from": from, "to": to, "text": h("valid")});
    let mut asserted = serde_json::json!({
        "id": id(1), "kind": "asserted", "claim": id(100), "story": STORY,
        "by": h("by"), "text": h("text"),
        "valid": valid("2021-01-01T00:00:00Z", "2021-01-02T00:00:00Z"),
    });
    wording(&mut asserted);
    let mut corroborated = serde_json::json!({
        "id": id(2), "kind": "corroborated", "claim": id(100), "by": h("by corroborating"),
        "note": h("note"), "valid": valid("2021-01-03T00:00:00Z", "2021-01-04T00:00:00Z"),
    });
    wording(&mut corroborated);
    let mut refuted = serde_json::json!({
        "id": id(3), "kind": "refuted", "claim": id(100), "by": h("by refuting"),
        "reason": h("reason"), "valid": valid("2021-01-05T00:00:00Z", "2021-01-06T00:00:00Z"),
    });
    wording(&mut refuted);
    let mut superseding = serde_json::json!({
        "id": id(4), "kind": "asserted", "claim": id(101), "story": STORY,
        "by": h("by superseding"), "text": h("new text"), "supersedes": id(100),
        "valid": valid("2021-01-07T00:00:00Z", "2021-01-08T00:00:00Z"),
    });
    wording(&mut superseding);
    let mut ledger = Ledger::new(MemStore::new());
    ledger
        .append(
            [asserted, corroborated, refuted, superseding]
                .into_iter()
                .map(event)
                .collect(),
            t("2021-02-01T00:00:00Z"),
        )
        .unwrap();
    ledger
        .histories(&Scope {
            story: Some(STORY.into()),
            claim: None,
        })
        .unwrap()
}

fn timeline() -> Timeline {
    let mut opts = Options::new(hostile("title"), t("2021-02-01T00:00:00Z"));
    opts.marks = vec![Mark {
        at: t("2021-01-04T12:00:00Z"),
        label: hostile("mark"),
    }];
    let tl = Timeline::new(&histories(), &opts);
    assert_eq!(tl.lanes().len(), 2);
    tl
}

/// No control character but the line ends of the document's own layout,
/// and none of the hostile text's control characters in place.
fn assert_no_raw_controls(what: &str, out: &str) {
    if let Some(c) = out.chars().find(|&c| c.is_control() && c != '\n') {
        panic!("{what} holds a raw U+{:04X}", c as u32);
    }
    for c in controls() {
        let raw = format!("[{c}]");
        assert!(!out.contains(&raw), "{what} holds a raw U+{:04X}", c as u32);
        let shown = format!("[{}]", clean(&c.to_string()));
        assert!(out.contains(&shown), "{what} does not show {shown}");
    }
    assert!(out.contains("[\\n]") && out.contains("[\\t]") && out.contains("[\\r]"));
    assert!(out.contains("[\\u{1b}]") && out.contains("[\\u{7f}]") && out.contains("[\\u{9f}]"));
}

/// The SVG parses as XML, and no text or attribute value in it holds a
/// control character (line breaks between elements and between a
/// `<title>`'s rows aside).
fn assert_well_formed_svg(what: &str, svg: &str) {
    let doc = roxmltree::Document::parse(svg)
        .unwrap_or_else(|e| panic!("{what} is not well-formed XML: {e}"));
    for node in doc.descendants() {
        if let Some(text) = node.is_text().then(|| node.text()).flatten() {
            // Line breaks: between elements, and between a `<title>`'s rows.
            let breaks = text.trim().is_empty()
                || node
                    .parent_element()
                    .is_some_and(|p| p.has_tag_name("title"));
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && !(breaks && c == '\n')),
                "{what}: text {text:?}"
            );
        }
        for a in node.attributes() {
            assert!(
                !a.value().chars().any(char::is_control),
                "{what}: attribute {}={:?}",
                a.name(),
                a.value()
            );
        }
    }
    for field in ["title", "by", "text", "mark", "valid", "via one", "via two"] {
        let shown = clean(&hostile(field)).into_owned();
        assert!(
            doc.descendants()
                .any(|n| n.text().is_some_and(|t| t.contains(shown.as_str()))
                    || n.attributes().any(|a| a.value() == shown)),
            "{what} does not show the whole {field}"
        );
    }
}

#[test]
fn the_svg_is_well_formed_and_shows_control_characters_escaped() {
    let svg = timeline().svg();
    assert_no_raw_controls("the SVG", &svg);
    assert_well_formed_svg("the SVG", &svg);
}

#[test]
fn the_html_page_shows_control_characters_escaped() {
    let html = timeline().html();
    assert_no_raw_controls("the HTML page", &html);

    // The SVG inside it.
    let start = html.find("<svg ").expect("an <svg> element");
    let end = html.find("</svg>").expect("an </svg> end tag") + "</svg>".len();
    assert_well_formed_svg("the page's SVG", &html[start..end]);

    // The details the tips show, as the page's script reads them.
    let open = r#"<script type="application/json" id="details">"#;
    let from = html.find(open).expect("the details") + open.len();
    let to = from + html[from..].find("</script>").expect("their end");
    let details: Value = serde_json::from_str(&html[from..to]).unwrap();
    let mut strings = Vec::new();
    fn collect<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            Value::Object(o) => o.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    collect(&details, &mut strings);
    for s in &strings {
        assert!(!s.chars().any(char::is_control), "a tip holds {s:?}");
    }
    for field in [
        "by",
        "text",
        "new text",
        "note",
        "reason",
        "quote",
        "lang",
        "translation",
        "source",
        "valid",
        "via one",
    ] {
        let shown = clean(&hostile(field)).into_owned();
        assert!(
            strings.iter().any(|s| s.contains(shown.as_str())),
            "no tip shows the whole {field}"
        );
    }
}
