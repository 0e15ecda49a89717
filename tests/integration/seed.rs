//! The seed story, loaded through the library: its three moments are pinned
//! as golden JSON (regenerate with `UPDATE_GOLDEN=1 cargo test --test integration seed::`
//! after a deliberate change, and review the diff).

use crate::harness::{seed_events, SEED, STORY};
use std::path::Path;

use claims_core::projection::View;
use claims_core::query::Scope;
use claims_core::time::parse_rfc3339;
use claims_core::{Incoming, Ledger, MemStore};

fn seed() -> Ledger<MemStore> {
    let batch = seed_events()
        .into_iter()
        .enumerate()
        .map(|(i, event)| Incoming {
            line: Some(i + 1),
            event,
        })
        .collect();
    let mut ledger = Ledger::new(MemStore::new());
    ledger
        .append(batch, parse_rfc3339("2026-01-01T00:00:00Z").unwrap())
        .unwrap();
    ledger
}

fn check_golden(name: &str, got: &serde_json::Value) {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden")).join(name);
    let got = serde_json::to_string_pretty(got).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
    if want != got {
        let mut msg = format!("{} differs from the golden file:\n", path.display());
        for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
            if w != g {
                msg.push_str(&format!(
                    "line {}:\n  expected: {w}\n  got:      {g}\n",
                    i + 1
                ));
            }
        }
        msg.push_str(&format!(
            "({} expected lines, {} got)",
            want.lines().count(),
            got.lines().count()
        ));
        panic!("{msg}");
    }
}

fn state_at(ledger: &Ledger<MemStore>, at: &str) -> serde_json::Value {
    let view = View::new(
        parse_rfc3339(at).unwrap(),
        parse_rfc3339("2026-01-01T00:00:00Z").unwrap(),
    );
    let scope = Scope {
        story: Some(STORY.into()),
        claim: None,
    };
    ledger.state(view, &scope).unwrap().to_json()
}

fn status_of(state: &serde_json::Value, text_contains: &str) -> Option<String> {
    let claims = state["claims"].as_array().unwrap();
    let hit: Vec<_> = claims
        .iter()
        .filter(|c| c["text"].as_str().unwrap().contains(text_contains))
        .collect();
    assert!(hit.len() <= 1, "`{text_contains}` matches several claims");
    hit.first()
        .map(|c| c["status"].as_str().unwrap().to_string())
}

const ORDER: &str = "must be removed by 10 July";

#[test]
fn before_the_email_the_order_is_not_in_the_state() {
    let s = state_at(&seed(), "2020-07-10T08:00:00Z");
    assert_eq!(status_of(&s, ORDER), None);
    assert_eq!(status_of(&s, "banned in India"), Some("reported".into()));
    check_golden("state-1-before-email.json", &s);
}

#[test]
fn at_15_new_york_the_order_stands_and_the_correction_is_pending() {
    let s = state_at(&seed(), "2020-07-10T19:00:00Z");
    assert_eq!(status_of(&s, ORDER), Some("reported".into()));
    let order = s["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["text"].as_str().unwrap().contains(ORDER))
        .unwrap();
    let pending: Vec<&str> = order["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(pending.contains(&"retracted"), "{pending:?}");
    check_golden("state-2-between.json", &s);
}

#[test]
fn at_publication_the_order_is_still_reported() {
    let s = state_at(&seed(), "2020-07-10T19:06:00Z");
    assert_eq!(status_of(&s, ORDER), Some("reported".into()));
    check_golden("state-3-publication.json", &s);
}

#[test]
fn at_the_update_the_order_is_retracted() {
    let s = state_at(&seed(), "2020-07-10T22:05:00Z");
    assert_eq!(status_of(&s, ORDER), Some("retracted".into()));
    assert!(s["pending"].as_array().unwrap().is_empty());
}

#[test]
fn every_seed_event_carries_quote_translation_and_source() {
    let text = std::fs::read_to_string(SEED).unwrap();
    // The article lies in ../shared beside the checkout (as in CI).
    let article = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/seed/amazon-tiktok-2020-07.nb.txt"
    ))
    .expect("../shared/seed/amazon-tiktok-2020-07.nb.txt beside the checkout");
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in ["quote", "translation", "source", "by"] {
            assert!(v[key].is_string(), "line {}: no `{key}`", i + 1);
        }
        assert_eq!(v["lang"], "nb", "line {}", i + 1);
        assert!(
            v["valid"]["text"].is_string(),
            "line {}: no valid.text",
            i + 1
        );
        let quote = v["quote"].as_str().unwrap();
        assert!(
            article.contains(quote),
            "line {}: quote not verbatim: {quote}",
            i + 1
        );
    }
}
