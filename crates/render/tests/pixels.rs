//! Pixel tests of the timeline: a real SVG renderer (resvg) draws the
//! e-mail's lane in the "reported" colour before the correction and in the
//! "retracted" colour after it. They need the `pixels` feature, which builds
//! resvg, so that a plain `cargo test` does not:
//!
//! ```text
//! cargo test -p claims-render --features pixels
//! cargo test -p claims-render --features pixels -- --ignored   # re-renders docs/timeline.png
//! ```

use std::path::Path;

use serde_json::Value;
use uuid::Uuid;

use claims_core::projection::Status;
use claims_core::query::Scope;
use claims_core::time::{parse_rfc3339, Time};
use claims_core::{ClaimHistory, Event, Incoming, Ledger, MemStore};
use claims_render::timeline::{status_colour, Mark, Options, Timeline};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/amazon-tiktok-2020-07.ndjson"
);
const STORY: &str = "amazon-tiktok-2020-07";
/// Amazon's e-mail ordering staff to remove TikTok: asserted 09:00Z–19:00Z,
/// disputed by TikTok and retracted by the spokesperson (…–22:05Z).
const EMAIL: &str = "854a140a-60a0-4347-bd5e-9ce34872d972";
const INDIA: &str = "1daf5e10-197b-40fb-9ae2-252202f79b11";

fn t(s: &str) -> Time {
    parse_rfc3339(s).unwrap()
}

/// When the test ledgers record the seed (a fixed time: the picture shows it).
fn recorded() -> Time {
    t("2020-07-11T06:00:00Z")
}

fn seed_events() -> Vec<Event> {
    std::fs::read_to_string(SEED)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Event::from_json(&serde_json::from_str::<Value>(l).unwrap(), &[]).unwrap())
        .collect()
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

fn render(svg: &str) -> resvg::tiny_skia::Pixmap {
    let mut opt = resvg::usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let tree = resvg::usvg::Tree::from_str(svg, &opt).expect("resvg reads the SVG");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
}

fn rgb(p: &resvg::tiny_skia::Pixmap, x: f64, y: f64) -> [u8; 3] {
    let c = p
        .pixel(x.round() as u32, y.round() as u32)
        .unwrap()
        .demultiply();
    [c.red(), c.green(), c.blue()]
}

fn hex(s: &str) -> [u8; 3] {
    let v = |i: usize| u8::from_str_radix(&s[i..i + 2], 16).unwrap();
    [v(1), v(3), v(5)]
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12)
}

#[test]
fn rendered_email_lane_turns_from_reported_to_retracted() {
    let tl = seed_timeline();
    let png = render(&tl.svg());
    let (w, h) = tl.size();
    assert_eq!((png.width(), png.height()), (w as u32, h as u32));

    let lane = tl.lane(uuid(EMAIL)).unwrap();
    // Near the bar's top edge, clear of any text inside it.
    let y = lane.bar_top + 2.0;
    let before = tl.x(t("2020-07-10T20:30:00Z"));
    let (_, end) = tl.domain();
    let after = (tl.x(t("2020-07-10T22:05:00Z")) + tl.x(end)) / 2.0;
    let (a, b) = (rgb(&png, before, y), rgb(&png, after, y));
    assert_ne!(
        a, b,
        "the e-mail's lane should change colour at the correction"
    );
    assert!(
        close(a, hex(status_colour(Status::Reported))),
        "before: {a:?}"
    );
    assert!(
        close(b, hex(status_colour(Status::Retracted))),
        "after: {b:?}"
    );
    // Before it had certainly been sent, the bar is empty (background).
    let early = rgb(&png, tl.x(t("2020-07-10T12:00:00Z")), y);
    assert!(!close(early, a) && !close(early, b), "early: {early:?}");

    // India's lane is reported days earlier, and stays so.
    let india = tl.lane(uuid(INDIA)).unwrap();
    for x in [tl.x(t("2020-07-05T22:00:00Z")) + 3.0, before] {
        let c = rgb(&png, x, india.bar_top + 2.0);
        let reported = hex(status_colour(Status::Reported));
        assert!(close(c, reported), "India: {c:?}");
    }
    // Pompeo had certainly spoken days before the e-mail.
    assert!(tl.x(t("2020-07-07T04:00:00Z")) < before - 100.0);
}

#[test]
#[ignore]
fn write_docs_png() {
    let tl = seed_timeline();
    let png = render(&tl.svg());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/timeline.png");
    png.save_png(&path).unwrap();
}
