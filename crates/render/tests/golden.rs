//! Golden files of the timeline: the seed story (and a few small ledgers)
//! rendered with several option sets must give exactly the bytes committed
//! under `tests/golden/`. A change that alters the picture shows up here as
//! a failure, and after regenerating, as a readable `git diff` of the files:
//!
//! ```text
//! cargo test -p claims-render --test golden                   # compare
//! UPDATE_GOLDEN=1 cargo test -p claims-render --test golden   # rewrite them
//! git diff crates/render/tests/golden/                        # review
//! ```

use std::path::{Path, PathBuf};

use chrono::Duration;
use serde_json::Value;
use uuid::Uuid;

use claims_core::query::Scope;
use claims_core::time::{parse_rfc3339, Time};
use claims_core::{ClaimHistory, Event, Incoming, Ledger, MemStore};
use claims_render::timeline::{Mark, Options, Timeline};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/amazon-tiktok-2020-07.ndjson"
);
const STORY: &str = "amazon-tiktok-2020-07";
/// The spokesperson's retraction of Amazon's e-mail.
const EMAIL_RETRACTED: &str = "d80e1299-12af-4a25-8854-a4a0f2b34313";
/// India's assertion.
const INDIA_ASSERTED: &str = "0790ba40-c09e-4798-97db-5c16d262e5a7";

fn t(s: &str) -> Time {
    parse_rfc3339(s).unwrap()
}

/// When the seed is recorded (a fixed time: the picture shows it).
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

fn histories(ledger: &Ledger<MemStore>) -> Vec<ClaimHistory> {
    ledger
        .histories(&Scope {
            story: Some(STORY.into()),
            claim: None,
        })
        .unwrap()
}

/// The seed, recorded at once.
fn seed_histories() -> Vec<ClaimHistory> {
    let mut ledger = Ledger::new(MemStore::new());
    append(&mut ledger, seed_events(), recorded());
    histories(&ledger)
}

/// The seed without the e-mail's retraction at 20:00Z, the retraction at
/// 23:00Z, then voids of the retraction and of India's assertion at 07:00Z.
fn staged_histories() -> Vec<ClaimHistory> {
    let (first, second): (Vec<Event>, Vec<Event>) = seed_events()
        .into_iter()
        .partition(|e| e.id.to_string() != EMAIL_RETRACTED);
    let mut ledger = Ledger::new(MemStore::new());
    append(&mut ledger, first, t("2020-07-10T20:00:00Z"));
    append(&mut ledger, second, t("2020-07-10T23:00:00Z"));
    let void = |target: &str, n: u128| {
        let v = serde_json::json!({
            "id": Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0000 | n).to_string(),
            "kind": "voided", "target": target, "reason": "entered in error"
        });
        Event::from_json(&v, &[]).unwrap()
    };
    append(
        &mut ledger,
        vec![void(EMAIL_RETRACTED, 1), void(INDIA_ASSERTED, 2)],
        t("2020-07-11T07:00:00Z"),
    );
    histories(&ledger)
}

/// One claim whose every text field needs escaping.
fn hostile_histories() -> (Vec<ClaimHistory>, &'static str) {
    let nasty = "<script>alert('x')</script> & \"quotes\" ]]> \u{1}";
    let claim = Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0001);
    let ev = serde_json::json!({
        "id": Uuid::from_u128(0x7e57_0000_0000_4000_8000_0000_0000_0002).to_string(),
        "kind": "asserted", "claim": claim.to_string(), "story": STORY,
        "by": nasty, "text": nasty, "quote": nasty, "translation": nasty, "source": nasty,
        "via": [nasty], "valid": {"from": "2021-01-01T00:00:00Z", "to": "2021-01-02T00:00:00Z", "text": nasty}
    });
    let mut ledger = Ledger::new(MemStore::new());
    append(
        &mut ledger,
        vec![Event::from_json(&ev, &[]).unwrap()],
        recorded(),
    );
    (histories(&ledger), nasty)
}

fn mark(at: &str, label: &str) -> Mark {
    Mark {
        at: t(at),
        label: label.into(),
    }
}

/// The article's publication and update.
fn article_marks() -> Vec<Mark> {
    vec![
        mark("2020-07-10T21:06:00+02:00", "published"),
        mark("2020-07-11T00:05:00+02:00", "updated"),
    ]
}

fn opts(as_of: Time, tz: &str, marks: Vec<Mark>) -> Options {
    let mut o = Options::new(STORY, as_of);
    o.tz = tz.parse().unwrap();
    o.marks = marks;
    o
}

/// What to render: the golden file's stem, the timeline, and whether the
/// HTML page is pinned too (it holds the same SVG, so not for every case).
fn cases() -> Vec<(&'static str, Timeline, bool)> {
    let seed = seed_histories();
    let staged = staged_histories();
    let (hostile, nasty) = hostile_histories();
    let before = t("2020-07-10T19:59:59Z");
    let mut hostile_opts = opts(recorded(), "UTC", vec![mark("2021-01-01T12:00:00Z", nasty)]);
    hostile_opts.title = nasty.into();
    let mut untitled = opts(recorded(), "America/New_York", Vec::new());
    untitled.title = String::new();
    vec![
        (
            "seed-oslo-marks",
            Timeline::new(&seed, &opts(recorded(), "Europe/Oslo", article_marks())),
            true,
        ),
        (
            "seed-oslo",
            Timeline::new(&seed, &opts(recorded(), "Europe/Oslo", Vec::new())),
            false,
        ),
        (
            "seed-utc-marks",
            Timeline::new(&seed, &opts(recorded(), "UTC", article_marks())),
            false,
        ),
        (
            "seed-utc",
            Timeline::new(&seed, &opts(recorded(), "UTC", Vec::new())),
            true,
        ),
        // Marks far apart: a years-long axis with a cut, and labels near the
        // right edge.
        (
            "seed-oslo-wide-marks",
            Timeline::new(
                &seed,
                &opts(
                    recorded(),
                    "Europe/Oslo",
                    vec![
                        mark("2016-11-08T12:00:00Z", "a US election"),
                        mark(
                            "2020-07-10T22:00:00Z",
                            "late at night, a long label to the left",
                        ),
                        mark("2020-07-10T22:01:00Z", "a minute later"),
                    ],
                ),
            ),
            false,
        ),
        (
            "seed-untitled-new-york",
            Timeline::new(&seed, &untitled),
            false,
        ),
        // As known before anything was recorded: no lanes.
        (
            "before-utc",
            Timeline::new(&seed, &opts(before, "UTC", Vec::new())),
            true,
        ),
        (
            "before-oslo-marks",
            Timeline::new(&seed, &opts(before, "Europe/Oslo", article_marks())),
            false,
        ),
        // Marks only, spread evenly (no cuts): axes in years and in months.
        (
            "before-oslo-decades",
            Timeline::new(
                &seed,
                &opts(
                    before,
                    "Europe/Oslo",
                    ["1925", "1950", "1975", "2000", "2025"]
                        .iter()
                        .map(|y| mark(&format!("{y}-06-01T00:00:00Z"), y))
                        .collect(),
                ),
            ),
            false,
        ),
        (
            "before-utc-months",
            Timeline::new(
                &seed,
                &opts(
                    before,
                    "UTC",
                    vec![
                        mark("2020-01-15T00:00:00Z", "January"),
                        mark("2020-04-01T00:00:00Z", "April"),
                        mark("2020-07-10T00:00:00Z", "July"),
                        mark("2020-10-01T00:00:00Z", "October"),
                    ],
                ),
            ),
            false,
        ),
        // The same ledger as known at each of its recording times.
        (
            "staged-first-utc",
            Timeline::new(&staged, &opts(t("2020-07-10T20:00:00Z"), "UTC", Vec::new())),
            false,
        ),
        (
            "staged-second-oslo-marks",
            Timeline::new(
                &staged,
                &opts(t("2020-07-10T23:00:00Z"), "Europe/Oslo", article_marks()),
            ),
            false,
        ),
        (
            "staged-voided-utc",
            Timeline::new(
                &staged,
                &opts(
                    t("2020-07-11T07:00:00Z") + Duration::hours(1),
                    "UTC",
                    Vec::new(),
                ),
            ),
            false,
        ),
        ("hostile", Timeline::new(&hostile, &hostile_opts), true),
    ]
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Where `actual` first differs from `expected`, line by line.
fn first_difference(expected: &str, actual: &str) -> String {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    for n in 1.. {
        match (e.next(), a.next()) {
            (None, None) => return "the line endings differ".into(),
            (x, y) if x == y => continue,
            (x, y) => {
                return format!(
                    "line {n} differs:\n  golden: {}\n  actual: {}",
                    x.unwrap_or("<end of file>"),
                    y.unwrap_or("<end of file>")
                )
            }
        }
    }
    unreachable!()
}

#[test]
fn outputs_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let dir = golden_dir();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut failures = Vec::new();
    let mut names = Vec::new();
    for (stem, tl, with_html) in cases() {
        let mut outputs = vec![(format!("{stem}.svg"), tl.svg())];
        if with_html {
            outputs.push((format!("{stem}.html"), tl.html()));
        }
        for (name, actual) in outputs {
            let path = dir.join(&name);
            names.push(name.clone());
            if update {
                std::fs::write(&path, &actual).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => {
                    failures.push(format!("{name}: {}", first_difference(&expected, &actual)))
                }
                Err(e) => failures.push(format!("{name}: cannot read {}: {e}", path.display())),
            }
        }
    }
    // No stale golden files left behind.
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg") || n.ends_with(".html"))
        .collect();
    on_disk.sort();
    names.sort();
    for n in on_disk.iter().filter(|n| !names.contains(n)) {
        if update {
            std::fs::remove_file(dir.join(n)).unwrap();
        } else {
            failures.push(format!("{n}: no case renders it"));
        }
    }
    assert!(
        failures.is_empty(),
        "the timeline's output differs from tests/golden/ \
         (if the change is meant, rerun with UPDATE_GOLDEN=1 and review `git diff`):\n{}",
        failures.join("\n")
    );
}
