//! `claims timeline`: the SVG is well-formed XML holding the lanes, statuses
//! and marks the seed story calls for; the HTML page is self-contained; the
//! command refuses a file name it cannot write. The pixel tests (resvg) are
//! in crates/render/tests/pixels.rs, behind the `pixels` feature.

use crate::harness::{claims_at, seed_events, SEED, STORY};
use crate::harness::{DISPUTED_CLAIM, EMAIL_CLAIM, EMAIL_RETRACTED, MEDIA_CLAIM};

use chrono::Duration;
use serde_json::Value;
use tempfile::TempDir;
use uuid::Uuid;

use claims_core::projection::Status;
use claims_core::query::Scope;
use claims_core::time::{parse_rfc3339, Time};
use claims_core::{ClaimHistory, Event, Incoming, Ledger, MemStore};
use claims_render::timeline::{choose_tick_step, Mark, Options, TickStep, Timeline};

// The seed's claims drawn here: the e-mail (asserted 09:00Z–19:00Z, disputed
// by TikTok, retracted by the spokesperson …–22:05Z), "several US media
// report" (corroborated) and "… roughly 500,000 employees" (disputed) are in
// the harness; these three only here.
const INDIA: &str = "1daf5e10-197b-40fb-9ae2-252202f79b11";
const POMPEO: &str = "8d182e3e-752d-4a19-8fde-01c3b90022a5";
const HONG_KONG: &str = "ca17fd65-3b61-471a-8883-1aebfe6b9843";

fn t(s: &str) -> Time {
    parse_rfc3339(s).unwrap()
}

/// When the test ledgers record the seed (a fixed time: the picture shows it).
fn recorded() -> Time {
    t("2020-07-11T06:00:00Z")
}

fn append(ledger: &mut Ledger<MemStore>, events: Vec<Event>, now: Time) {
    let batch = events
        .into_iter()
        .map(|event| Incoming { line: None, event })
        .collect();
    ledger.append(batch, now).unwrap();
}

fn seed_histories() -> Vec<ClaimHistory> {
    let mut ledger = Ledger::new(MemStore::new());
    append(&mut ledger, seed_events(), recorded());
    ledger
        .histories(&Scope {
            story: Some(STORY.into()),
            claim: None,
        })
        .unwrap()
}

/// The seed story with the article's publication and update marked, in
/// Norwegian time.
fn seed_options() -> Options {
    let mut opts = Options::new(STORY, recorded());
    opts.tz = "Europe/Oslo".parse().unwrap();
    opts.marks = vec![
        Mark {
            at: t("2020-07-10T21:06:00+02:00"),
            label: "published".into(),
        },
        Mark {
            at: t("2020-07-11T00:05:00+02:00"),
            label: "updated".into(),
        },
    ];
    opts
}

fn seed_timeline() -> Timeline {
    Timeline::new(&seed_histories(), &seed_options())
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

fn has_class(n: &roxmltree::Node, class: &str) -> bool {
    n.attribute("class")
        .is_some_and(|c| c.split_whitespace().any(|x| x == class))
}

fn lane<'a>(doc: &'a roxmltree::Document, claim: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| has_class(n, "lane") && n.attribute("data-claim") == Some(claim))
        .unwrap_or_else(|| panic!("no lane for {claim}"))
}

/// The statuses of a lane's spans, left to right, with their start times.
fn spans(doc: &roxmltree::Document, claim: &str) -> Vec<(String, String)> {
    lane(doc, claim)
        .descendants()
        .filter(|n| has_class(n, "span"))
        .map(|n| {
            (
                n.attribute("data-status").unwrap().to_string(),
                n.attribute("data-from").unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn tick_chooser_suits_spans_from_minutes_to_centuries() {
    // A 1000-pixel axis, ticks at least 64 px apart.
    let step = |span: Duration| choose_tick_step(span.num_seconds() as f64 / 1000.0, 64.0);
    assert_eq!(step(Duration::minutes(10)), TickStep::Minutes(1));
    assert_eq!(step(Duration::hours(1)), TickStep::Minutes(5));
    assert_eq!(step(Duration::hours(3)), TickStep::Minutes(15));
    assert_eq!(step(Duration::hours(12)), TickStep::Hours(1));
    assert_eq!(step(Duration::days(1)), TickStep::Hours(3));
    assert_eq!(step(Duration::days(3)), TickStep::Hours(6));
    assert_eq!(step(Duration::days(12)), TickStep::Days(1));
    assert_eq!(step(Duration::days(60)), TickStep::Weeks(1));
    assert_eq!(step(Duration::days(365)), TickStep::Months(1));
    assert_eq!(step(Duration::days(3 * 365)), TickStep::Months(3));
    assert_eq!(step(Duration::days(20 * 365)), TickStep::Years(2));
    assert_eq!(step(Duration::days(300 * 365)), TickStep::Years(25));
    // Beyond the list: the longest step.
    assert_eq!(step(Duration::days(100_000 * 365)), TickStep::Years(100));
}

#[test]
fn tick_chooser_keeps_ticks_apart_and_picks_the_finest_that_fits() {
    for secs_per_px in [0.5, 7.0, 90.0, 3_000.0, 40_000.0, 1e6, 3e7] {
        let s = choose_tick_step(secs_per_px, 64.0);
        assert!(
            s.approx_seconds() / secs_per_px >= 64.0,
            "{s:?} at {secs_per_px}"
        );
        let i = TickStep::ALL.iter().position(|x| *x == s).unwrap();
        if i > 0 {
            let finer = TickStep::ALL[i - 1];
            assert!(
                finer.approx_seconds() / secs_per_px < 64.0,
                "{finer:?} would fit"
            );
        }
    }
}

#[test]
fn svg_is_xml_with_every_lane_status_event_and_mark() {
    let svg = seed_timeline().svg();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );

    // One lane per claim, each claim once.
    let lanes: Vec<&str> = doc
        .descendants()
        .filter(|n| has_class(n, "lane"))
        .map(|n| n.attribute("data-claim").unwrap())
        .collect();
    assert_eq!(lanes.len(), 20, "{lanes:?}");
    let mut unique = lanes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 20);
    // Chronological: India, then Hong Kong and Pompeo, days before the e-mail.
    let pos = |c: &str| lanes.iter().position(|l| *l == c).unwrap();
    assert!(
        pos(INDIA) < pos(HONG_KONG)
            && pos(HONG_KONG) < pos(POMPEO)
            && pos(POMPEO) < pos(EMAIL_CLAIM)
    );

    // The e-mail: reported once it had certainly been sent (19:00Z), retracted
    // once the spokesperson had certainly spoken (22:05Z, the update).
    assert_eq!(
        spans(&doc, EMAIL_CLAIM),
        [
            ("reported".to_string(), "2020-07-10T19:00:00Z".to_string()),
            ("retracted".to_string(), "2020-07-10T22:05:00Z".to_string()),
        ]
    );
    let statuses = |c: &str| -> Vec<String> { spans(&doc, c).into_iter().map(|s| s.0).collect() };
    assert_eq!(statuses(MEDIA_CLAIM), ["reported", "corroborated"]);
    assert_eq!(statuses(DISPUTED_CLAIM), ["reported", "disputed"]);
    assert_eq!(
        spans(&doc, INDIA),
        [("reported".to_string(), "2020-07-05T22:00:00Z".to_string())]
    );

    // The e-mail lane's events, labelled with who and through whom.
    let events: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| has_class(n, "lane-events") && n.attribute("data-claim") == Some(EMAIL_CLAIM))
        .flat_map(|n| {
            n.children()
                .filter(|c| has_class(c, "event"))
                .collect::<Vec<_>>()
        })
        .collect();
    let labels: Vec<String> = events
        .iter()
        .map(|e| {
            e.descendants()
                .filter(|n| n.has_tag_name("text"))
                .map(|n| n.text().unwrap_or(""))
                .collect()
        })
        .collect();
    assert!(
        labels.contains(&"asserted by Amazon via Reuters".to_string()),
        "{labels:?}"
    );
    assert!(
        labels.contains(&"disputed by TikTok".to_string()),
        "{labels:?}"
    );
    assert!(
        labels.contains(&"retracted by Amazon spokesperson via Wall Street Journal".to_string()),
        "{labels:?}"
    );
    // Hover details sit in the marker's <title>.
    let retraction = events
        .iter()
        .find(|e| e.attribute("data-event") == Some(EMAIL_RETRACTED))
        .unwrap();
    let title = retraction
        .children()
        .find(|n| n.has_tag_name("title"))
        .unwrap()
        .text()
        .unwrap();
    assert!(title.contains("noen timer senere"), "{title}");
    assert!(title.contains("translation: A few hours later"), "{title}");
    assert!(title.contains("via: Wall Street Journal"), "{title}");

    // Every event has a marker; every interval a hatched strip.
    let markers = doc.descendants().filter(|n| has_class(n, "event")).count();
    assert_eq!(markers, 27);
    let intervals = doc
        .descendants()
        .filter(|n| has_class(n, "interval"))
        .count();
    let expected = seed_events()
        .iter()
        .filter(|e| e.valid().is_some_and(|v| v.from < v.to))
        .count();
    assert_eq!(intervals, expected);
    assert!(intervals > 0);
    for i in doc.descendants().filter(|n| has_class(n, "interval")) {
        assert!(i.attribute("fill").unwrap().starts_with("url(#hatch-"));
    }

    // The marks.
    let marks: Vec<(&str, &str)> = doc
        .descendants()
        .filter(|n| has_class(n, "mark"))
        .map(|n| {
            (
                n.attribute("data-label").unwrap(),
                n.attribute("data-time").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("published", "2020-07-10T19:06:00Z"),
            ("updated", "2020-07-10T22:05:00Z")
        ]
    );

    // The legend names every status.
    let legend: Vec<&str> = doc
        .descendants()
        .filter(|n| has_class(n, "legend-item"))
        .filter_map(|n| n.attribute("data-status"))
        .collect();
    assert_eq!(legend, Status::ALL.map(Status::as_str));
}

#[test]
fn output_is_deterministic() {
    assert_eq!(seed_timeline().svg(), seed_timeline().svg());
    assert_eq!(seed_timeline().html(), seed_timeline().html());
}

#[test]
fn as_of_draws_what_the_ledger_knew_then() {
    // The e-mail and everything but its correction recorded first; the
    // spokesperson's retraction an hour later.
    let (first, second): (Vec<Event>, Vec<Event>) = seed_events()
        .into_iter()
        .partition(|e| e.id != uuid(EMAIL_RETRACTED));
    let mut ledger = Ledger::new(MemStore::new());
    let r1 = t("2020-07-10T20:00:00Z");
    let r2 = t("2020-07-10T23:00:00Z");
    append(&mut ledger, first, r1);
    append(&mut ledger, second, r2);
    let hist = ledger.histories(&Scope::default()).unwrap();
    let doc_at = |as_of: Time| Timeline::new(&hist, &Options::new(STORY, as_of)).svg();
    let early = doc_at(r1);
    let early = roxmltree::Document::parse(&early).unwrap();
    // TikTok's dispute counts from 22:05Z; the retraction is unknown yet.
    assert_eq!(
        spans(&early, EMAIL_CLAIM)
            .into_iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        ["reported", "disputed"]
    );
    assert!(!early
        .descendants()
        .any(|n| n.attribute("data-event") == Some(EMAIL_RETRACTED)));
    let late = doc_at(r2);
    let late = roxmltree::Document::parse(&late).unwrap();
    assert_eq!(
        spans(&late, EMAIL_CLAIM)
            .into_iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        ["reported", "retracted"]
    );
    // Before anything was recorded: no lanes at all.
    let none = Timeline::new(&hist, &Options::new(STORY, r1 - Duration::seconds(1)));
    assert!(none.lanes().is_empty());
    roxmltree::Document::parse(&none.svg()).unwrap();
}

#[test]
fn voided_events_and_claims_are_left_out() {
    let mut ledger = Ledger::new(MemStore::new());
    append(&mut ledger, seed_events(), recorded());
    let void = |target: &str, n: u128| {
        let v = serde_json::json!({
            "id": Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0000 | n).to_string(),
            "kind": "voided", "target": target, "reason": "entered in error"
        });
        Event::from_json(&v, &[]).unwrap()
    };
    append(
        &mut ledger,
        vec![
            void(EMAIL_RETRACTED, 1),
            // India's assertion.
            void("0790ba40-c09e-4798-97db-5c16d262e5a7", 2),
        ],
        recorded() + Duration::hours(1),
    );
    let hist = ledger.histories(&Scope::default()).unwrap();
    let tl = Timeline::new(&hist, &Options::new(STORY, recorded() + Duration::hours(2)));
    assert_eq!(tl.lanes().len(), 19);
    assert!(tl.lane(uuid(INDIA)).is_none());
    let svg = tl.svg();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(
        spans(&doc, EMAIL_CLAIM)
            .into_iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        ["reported", "disputed"]
    );
    // As known before the voids, both are back.
    let tl = Timeline::new(&hist, &Options::new(STORY, recorded()));
    assert_eq!(tl.lanes().len(), 20);
}

#[test]
fn hostile_text_is_escaped() {
    let nasty = "<script>alert('x')</script> & \"quotes\" ]]> \u{1}";
    let claim = Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0001);
    let ev = serde_json::json!({
        "id": Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0002).to_string(),
        "kind": "asserted", "claim": claim.to_string(), "story": "x",
        "by": nasty, "text": nasty, "quote": nasty, "translation": nasty, "source": nasty,
        "via": [nasty], "valid": {"from": "2021-01-01T00:00:00Z", "to": "2021-01-02T00:00:00Z", "text": nasty}
    });
    let mut ledger = Ledger::new(MemStore::new());
    append(
        &mut ledger,
        vec![Event::from_json(&ev, &[]).unwrap()],
        recorded(),
    );
    let hist = ledger.histories(&Scope::default()).unwrap();
    let mut opts = Options::new(nasty, recorded());
    opts.marks = vec![Mark {
        at: t("2021-01-01T12:00:00Z"),
        label: nasty.into(),
    }];
    let tl = Timeline::new(&hist, &opts);
    let svg = tl.svg();
    let doc = roxmltree::Document::parse(&svg).expect("escaped SVG parses");
    // The control character is written out, as the command line shows it.
    assert!(doc.descendants().any(|n| n.attribute("data-label")
        == Some("<script>alert('x')</script> & \"quotes\" ]]> \\u{1}")));
    assert!(!svg.contains("<script>"));
    assert!(!svg.contains('\u{1}'), "no raw control character");
    let html = tl.html();
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own two scripts"
    );
    assert!(!html.contains("</script> &"));
}

/// The `<svg>…</svg>` part of an HTML page.
fn inline_svg(html: &str) -> &str {
    let start = html.find("<svg").unwrap();
    let end = html.rfind("</svg>").unwrap() + "</svg>".len();
    &html[start..end]
}

#[test]
fn html_page_is_self_contained_with_hover_details() {
    let tl = seed_timeline();
    let html = tl.html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // The same picture, inline.
    let svg = inline_svg(&html);
    roxmltree::Document::parse(svg).expect("the inline SVG parses");
    assert!(tl.svg().ends_with(&format!("{svg}\n")));
    // Nothing loaded from anywhere.
    for bad in [
        "<link",
        " src=",
        "@import",
        "url(http",
        "href=\"http",
        "<iframe",
        "<img",
    ] {
        assert!(!html.contains(bad), "the page contains {bad}");
    }
    // Hover details: quote, translation, source, via of the e-mail's retraction.
    let start = html
        .find(r#"<script type="application/json" id="details">"#)
        .unwrap();
    let json = &html[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    let details: Value = serde_json::from_str(json).unwrap();
    let d = &details[EMAIL_RETRACTED];
    assert_eq!(
        d["heading"],
        "retracted by Amazon spokesperson via Wall Street Journal"
    );
    let rows: Vec<(String, String)> = d["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().into(), r[1].as_str().unwrap().into()))
        .collect();
    let field = |k: &str| {
        rows.iter()
            .find(|r| r.0 == k)
            .map(|r| r.1.clone())
            .unwrap_or_default()
    };
    assert!(
        field("quote (nb)").starts_with("Noen timer senere"),
        "{rows:?}"
    );
    assert!(
        field("translation").starts_with("A few hours later"),
        "{rows:?}"
    );
    assert!(
        field("source").contains("Amazon trekker beskjed om Tiktok-forbud"),
        "{rows:?}"
    );
    assert_eq!(field("via"), "Wall Street Journal");
    assert!(
        field("when").contains("2020-07-10 13:00 CEST – 2020-07-11 00:05 CEST"),
        "{rows:?}"
    );
    // Every event and claim the picture shows has details.
    let doc = roxmltree::Document::parse(svg).unwrap();
    let keys: Vec<&str> = doc
        .descendants()
        .filter(|n| has_class(n, "event") || has_class(n, "claim-label"))
        .map(|n| {
            n.attribute("data-event")
                .or(n.attribute("data-claim"))
                .unwrap()
        })
        .collect();
    assert_eq!(keys.len(), 27 + 20);
    for k in keys {
        assert!(details[k]["rows"].is_array(), "no details for {k}");
    }
    assert!(details[EMAIL_CLAIM]["heading"]
        .as_str()
        .unwrap()
        .starts_with("Amazon's e-mail tells employees"));
}

#[test]
fn cli_writes_svg_and_html_and_refuses_other_names() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("l.db");
    claims_at(&db).arg("append").arg(SEED).assert().success();
    let marks = [
        "--mark",
        "2020-07-10T21:06+02:00=published",
        "--mark",
        "2020-07-11T00:05+02:00=updated",
    ];

    let svg = dir.path().join("t.svg");
    let out = claims_at(&db)
        .args(["--tz", "Europe/Oslo", "timeline", "--story", STORY])
        .args(marks)
        .arg("-o")
        .arg(&svg)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("20 claims, 27 events"), "{stdout}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(
        doc.descendants().filter(|n| has_class(n, "lane")).count(),
        20
    );
    assert_eq!(
        doc.descendants().filter(|n| has_class(n, "mark")).count(),
        2
    );
    assert!(text.contains("Europe/Oslo"));

    let html = dir.path().join("t.HTML");
    claims_at(&db)
        .args(["timeline", "--story", STORY, "-o"])
        .arg(&html)
        .assert()
        .success();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));

    // A name it cannot write: one sentence, exit 1, nothing written.
    for name in ["t.png", "t", "t.svg.txt"] {
        let path = dir.path().join(name);
        let out = claims_at(&db)
            .args(["timeline", "-o"])
            .arg(&path)
            .assert()
            .code(1);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("error: ") && err.contains(".svg") && err.contains(".html"),
            "{err}"
        );
        assert!(!path.exists());
    }

    // A bad mark or an unknown story: exit 1.
    for args in [
        vec!["timeline", "--mark", "2020-07-10", "-o"],
        vec!["timeline", "--mark", "yesterday=x", "-o"],
        vec!["timeline", "--mark", "2020-07-10= ", "-o"],
        vec!["timeline", "--story", "no-such-story", "-o"],
    ] {
        let out = claims_at(&db)
            .args(&args)
            .arg(dir.path().join("bad.svg"))
            .assert()
            .code(1);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    assert!(!dir.path().join("bad.svg").exists());
    // -o is required (usage error).
    claims_at(&db).args(["timeline"]).assert().code(2);
}

#[test]
fn a_timeline_of_every_story_of_a_large_ledger_is_refused_with_a_way_out() {
    let l = crate::harness::Ledger::empty();
    let lines: Vec<Value> = (0..2001u128)
        .map(|i| {
            serde_json::json!({
                "id": Uuid::from_u128(0x7000_0000_0000_4000_8000_0000_0000_0000 + i).to_string(),
                "kind": "asserted",
                "claim": Uuid::from_u128(0x9000_0000_0000_4000_8000_0000_0000_0000 + i).to_string(),
                "story": if i == 0 { "small-one" } else { "big" },
                "by": "Someone",
                "text": format!("claim {i}"),
                "valid": {"from": "2020-07-10T09:00:00Z", "to": "2020-07-10T09:00:00Z"},
            })
        })
        .collect();
    l.append_lines(&lines).ok();
    let svg = l.path("all.svg");
    l.refuses(
        l.sh(&format!("timeline -o {}", svg.display())),
        &["more than 2000 claims", "--story"],
    );
    assert!(!svg.exists());
    let one = l.path("one.svg");
    l.sh(&format!("timeline --story small-one -o {}", one.display()))
        .ok();
    assert!(one.exists());
}
