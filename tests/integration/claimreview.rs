//! `claims claimreview` and `claims claimreview import`: the seed story's
//! verdicts as schema.org ClaimReview, every type and property checked
//! against schema.org's vocabulary (tests/data/schemaorg), feeds in the forms
//! fact-checkers publish, the round trip, and the refusals.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::harness::{Ledger, DISPUTED_CLAIM, EMAIL_CLAIM, MEDIA_CLAIM, STORY};

/// The update time of the seed article.
const UPDATE: &str = "2020-07-11T00:05+02:00";

fn export_story(l: &Ledger) -> Value {
    l.sh(&format!(
        "claimreview --story {STORY} --at {UPDATE} --publisher Faktisk --url https://faktisk.example/reviews"
    ))
    .output()
    .json()
}

/// Claim text → status, for a story.
fn statuses(l: &Ledger, story: &str) -> BTreeMap<String, String> {
    let v = l
        .sh(&format!("state --story {story} --json"))
        .output()
        .json();
    v["claims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["text"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_seed_story_exports_a_review_of_each_verdict_with_its_rating() {
    let l = Ledger::seeded();
    let doc = export_story(&l);
    assert_eq!(doc["@context"], "https://schema.org");
    let graph = doc["@graph"].as_array().unwrap();
    let by_id: BTreeMap<&str, &Value> = graph
        .iter()
        .map(|r| (r["identifier"].as_str().unwrap(), r))
        .collect();
    // Three retracted, one disputed, one corroborated at the update time.
    assert_eq!(graph.len(), 5, "{doc:#}");
    let rating = |id: &str| {
        let r = &by_id[id]["reviewRating"];
        (
            r["ratingValue"].as_u64().unwrap(),
            r["alternateName"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(rating(EMAIL_CLAIM), (2, "Retracted".into()));
    assert_eq!(rating(DISPUTED_CLAIM), (3, "Disputed".into()));
    assert_eq!(rating(MEDIA_CLAIM), (5, "Corroborated".into()));
    let retracted = graph
        .iter()
        .filter(|r| r["reviewRating"]["alternateName"] == "Retracted")
        .count();
    assert_eq!(retracted, 3);
    for r in graph {
        assert_eq!(r["@type"], "ClaimReview");
        assert_eq!(r["reviewRating"]["bestRating"], 5);
        assert_eq!(r["reviewRating"]["worstRating"], 1);
        assert_eq!(r["author"]["name"], "Faktisk");
        assert_eq!(r["itemReviewed"]["@type"], "Claim");
        assert!(r["itemReviewed"]["author"]["name"].is_string());
        assert!(r["itemReviewed"]["firstAppearance"]["name"].is_string());
        assert_eq!(r["datePublished"], "2020-07-10T22:05:00Z");
        assert_eq!(
            r["url"],
            format!(
                "https://faktisk.example/reviews#claim-{}",
                r["identifier"].as_str().unwrap()
            )
        );
    }
    let email = by_id[EMAIL_CLAIM];
    assert_eq!(email["itemReviewed"]["author"]["name"], "Amazon");
    assert_eq!(
        email["itemReviewed"]["datePublished"],
        "2020-07-10T19:00:00Z"
    );

    // One claim: a single node with its own @context.
    let one = l
        .sh(&format!(
            "claimreview {} --at {UPDATE} --publisher Faktisk",
            &EMAIL_CLAIM[..8]
        ))
        .output()
        .json();
    assert_eq!(one["@context"], "https://schema.org");
    assert_eq!(one["@type"], "ClaimReview");
    assert_eq!(one["identifier"], EMAIL_CLAIM);
    assert!(one.get("url").is_none());

    // Before anything was disputed, nothing is a verdict: an empty @graph.
    let early = l
        .sh(&format!(
            "claimreview --story {STORY} --at 2020-07-10T12:00Z --publisher Faktisk"
        ))
        .output()
        .json();
    assert_eq!(early["@graph"], json!([]));
    // As known before the seed was recorded, there is no claim at all.
    let before = l
        .sh(&format!(
            "claimreview --story {STORY} --at {UPDATE} --as-of 2000-01-01 --publisher Faktisk"
        ))
        .output()
        .json();
    assert_eq!(before["@graph"], json!([]));
}

#[test]
fn claim_and_story_are_one_or_the_other() {
    let l = Ledger::seeded();
    for line in [
        "claimreview --publisher Faktisk".to_string(),
        format!("claimreview {EMAIL_CLAIM} --story {STORY} --publisher Faktisk"),
        format!("claimreview --story {STORY}"),
    ] {
        let out = l.sh(&line).output();
        out.expect_code(2);
    }
}

/// The labels (column `label`) of a schema.org vocabulary CSV.
fn labels(file: &str) -> BTreeSet<String> {
    let path = format!("{}/tests/data/schemaorg/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        !text.starts_with("version https://git-lfs"),
        "{path} is a Git LFS pointer, not the CSV"
    );
    let rows = csv_rows(&text);
    let header = &rows[0];
    let col = header
        .iter()
        .position(|h| h == "label")
        .expect("a label column");
    rows[1..]
        .iter()
        .filter_map(|r| r.get(col).cloned())
        .collect()
}

/// A minimal RFC 4180 reader: quoted fields, doubled quotes, line breaks
/// inside quotes.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Every `@type` value and every property name in `v`.
fn walk(v: &Value, types: &mut BTreeSet<String>, props: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "@type" {
                    types.insert(x.as_str().expect("a type name").to_string());
                } else if k.starts_with('@') {
                    assert!(
                        ["@context", "@graph"].contains(&k.as_str()),
                        "unexpected keyword {k}"
                    );
                } else {
                    props.insert(k.clone());
                }
                walk(x, types, props);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, types, props)),
        _ => {}
    }
}

#[test]
fn every_type_and_property_exported_is_in_schema_orgs_vocabulary() {
    let l = Ledger::seeded();
    let known_types = labels("schemaorg-current-https-types.csv");
    let known_props = labels("schemaorg-current-https-properties.csv");
    assert!(known_types.contains("ClaimReview") && known_props.contains("claimReviewed"));
    // A source that is an address, so the `url` form is used too.
    l.sh(&format!(
        "dispute {EMAIL_CLAIM} --by Faktisk --at 2020-07-10T23:00Z --source https://example.org/a"
    ))
    .ok();
    let (mut types, mut props) = (BTreeSet::new(), BTreeSet::new());
    walk(&export_story(&l), &mut types, &mut props);
    assert!(props.contains("url") && props.contains("appearance"));
    for t in &types {
        assert!(
            known_types.contains(t),
            "@type {t} is not a schema.org type"
        );
    }
    for p in &props {
        assert!(known_props.contains(p), "{p} is not a schema.org property");
    }
}

#[test]
fn a_story_exported_and_imported_into_an_empty_ledger_keeps_its_verdicts() {
    let seeded = Ledger::seeded();
    let exported = seeded
        .sh(&format!(
            "claimreview --story {STORY} --at {UPDATE} --publisher Faktisk --url https://faktisk.example"
        ))
        .ok();
    let want: BTreeMap<String, String> = {
        let v = seeded
            .sh(&format!("state --story {STORY} --at {UPDATE} --json"))
            .output()
            .json();
        v["claims"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] != "reported")
            .map(|c| {
                (
                    c["text"].as_str().unwrap().to_string(),
                    c["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(want.len(), 5);
    let l = Ledger::empty();
    let feed = l.write("feed.json", &exported);
    let out = l
        .sh(&format!("claimreview import {feed} --story imported"))
        .ok();
    assert_eq!(out, "imported 5 reviews: appended 10 events (seq 1..10)\n");
    assert_eq!(statuses(&l, "imported"), want);
    let before = l.export();
    let again = l
        .sh(&format!("claimreview import {feed} --story imported"))
        .ok();
    assert_eq!(
        again,
        "imported 5 reviews: appended 0 events; 10 already in the ledger\n"
    );
    assert_eq!(l.export(), before);
    // And from standard input, the same.
    let piped = l
        .sh("claimreview import - --story imported")
        .stdin(exported.clone())
        .ok();
    assert_eq!(piped, again);
    // The imported ledger exports the same verdicts again.
    let back = l
        .sh("claimreview --story imported --publisher Faktisk")
        .output()
        .json();
    let ratings = |doc: &Value| -> BTreeMap<String, Value> {
        doc["@graph"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["claimReviewed"].as_str().unwrap().to_string(),
                    r["reviewRating"].clone(),
                )
            })
            .collect()
    };
    let first: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(ratings(&back), ratings(&first));
}

/// A Fact Check Tools page with one markup per rating given.
fn page(markups: Vec<Value>) -> Value {
    json!({
        "pageUrl": "https://checker.example/2024/04/claims",
        "publishDate": "2024-04-03",
        "claimReviewAuthor": {"name": "Checker", "imageUrl": "https://checker.example/logo.png"},
        "claimReviewMarkups": markups,
    })
}

fn markup(n: usize, text: &str, rating: Value) -> Value {
    json!({
        "url": format!("https://checker.example/2024/04/claims#{n}"),
        "claimReviewed": text,
        "claimDate": "2024-04-01",
        "claimAuthor": {"name": "A Senator"},
        "claimFirstAppearance": "https://video.example/clip",
        "claimAppearances": ["https://video.example/clip", "https://social.example/post"],
        "rating": rating,
    })
}

#[test]
fn google_fact_check_pages_import_to_the_statuses_their_ratings_say() {
    let l = Ledger::empty();
    let words = page(vec![
        markup(
            1,
            "The bridge cost a billion.",
            json!({"textualRating": "False"}),
        ),
        markup(2, "Taxes rose.", json!({"textualRating": "Mostly True"})),
        markup(3, "Crime doubled.", json!({"textualRating": "Misleading"})),
        markup(
            4,
            "The mayor resigned.",
            json!({"textualRating": " pants on fire "}),
        ),
    ]);
    let f = l.write("words.json", words.to_string());
    l.sh(&format!("claimreview import {f} --story words")).ok();
    let want: BTreeMap<String, String> = [
        ("The bridge cost a billion.", "refuted"),
        ("Taxes rose.", "corroborated"),
        ("Crime doubled.", "disputed"),
        ("The mayor resigned.", "refuted"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(statuses(&l, "words"), want);
    let numbers = page(vec![
        markup(
            1,
            "Rated one.",
            json!({"ratingValue": 1, "bestRating": 7, "worstRating": 1}),
        ),
        markup(
            2,
            "Rated four.",
            json!({"ratingValue": "4", "bestRating": "7", "worstRating": "1"}),
        ),
        markup(
            3,
            "Rated seven.",
            json!({"ratingValue": 7, "bestRating": 7, "worstRating": 1}),
        ),
    ]);
    let f = l.write("numbers.json", numbers.to_string());
    l.sh(&format!("claimreview import {f} --story numbers"))
        .ok();
    let want: BTreeMap<String, String> = [
        ("Rated one.", "refuted"),
        ("Rated four.", "disputed"),
        ("Rated seven.", "corroborated"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(statuses(&l, "numbers"), want);
    // The claim's author, date and first appearance, and the reviewer's
    // verdict valid over the page's publishing day.
    let log = l.sh("log --json").output().json();
    let first = &log[0];
    assert_eq!(first["kind"], "asserted");
    assert_eq!(first["by"], "A Senator");
    assert_eq!(first["source"], "https://video.example/clip");
    assert_eq!(first["valid"]["from"], "2024-04-01T00:00:00Z");
    let verdict = &log[1];
    assert_eq!(verdict["kind"], "refuted");
    assert_eq!(verdict["by"], "Checker");
    assert_eq!(
        verdict["source"],
        "https://checker.example/2024/04/claims#1"
    );
    assert_eq!(verdict["valid"]["from"], "2024-04-03T00:00:00Z");
    // Again: nothing added.
    let again = l
        .sh(&format!("claimreview import {f} --story numbers"))
        .ok();
    assert!(again.contains("appended 0 events; 6 already"), "{again}");
}

#[test]
fn json_ld_arrays_and_graphs_import_too() {
    let l = Ledger::empty();
    let review = |n: usize, words: &str| {
        json!({
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": format!("https://other.example/r/{n}"),
            "claimReviewed": format!("Claim number {n}."),
            "itemReviewed": {"@type": "Claim", "author": {"@type": "Person", "name": "Someone"},
                             "datePublished": "2024-05-01T10:00:00+02:00"},
            "author": {"@type": "Organization", "name": "Other Checkers"},
            "datePublished": "2024-05-02",
            "reviewRating": {"@type": "Rating", "alternateName": words},
        })
    };
    let f = l.write(
        "array.json",
        json!([review(1, "True"), review(2, "Fake")]).to_string(),
    );
    l.sh(&format!("claimreview import {f} --story s")).ok();
    let g = json!({"@context": "https://schema.org",
        "@graph": [{"@type": "WebPage", "name": "x"}, review(3, "Retracted")]});
    let f = l.write("graph.json", g.to_string());
    let out = l.sh(&format!("claimreview import {f} --story s")).ok();
    assert!(
        out.starts_with("imported 1 review: appended 2 events"),
        "{out}"
    );
    let one = l.write("one.json", review(4, "Half True").to_string());
    l.sh(&format!("claimreview import {one} --story s")).ok();
    let got = statuses(&l, "s");
    assert_eq!(got["Claim number 1."], "corroborated");
    assert_eq!(got["Claim number 2."], "refuted");
    assert_eq!(got["Claim number 3."], "retracted");
    assert_eq!(got["Claim number 4."], "disputed");
}

#[test]
fn a_review_that_lacks_a_field_or_a_mapping_is_refused_and_nothing_is_written() {
    let l = Ledger::seeded();
    let good = markup(1, "Fine claim.", json!({"textualRating": "False"}));
    let mut no_text = markup(2, "x", json!({"textualRating": "False"}));
    no_text.as_object_mut().unwrap().remove("claimReviewed");
    let f = l.write("a.json", page(vec![good.clone(), no_text]).to_string());
    l.refuses(
        l.sh(&format!("claimreview import {f} --story feed")),
        &[
            "review 2",
            "https://checker.example/2024/04/claims#2",
            "claimReviewed",
        ],
    );
    for words in ["Superseded", "Satire"] {
        let bad = markup(2, "y", json!({"textualRating": words}));
        let f = l.write("b.json", page(vec![good.clone(), bad]).to_string());
        l.refuses(
            l.sh(&format!("claimreview import {f} --story feed")),
            &["review 2", "reviewRating", words],
        );
    }
    let mut no_author = markup(1, "z", json!({"textualRating": "True"}));
    no_author.as_object_mut().unwrap().remove("claimAuthor");
    let f = l.write("c.json", page(vec![no_author]).to_string());
    l.refuses(
        l.sh(&format!("claimreview import {f} --story feed")),
        &["review 1", "author"],
    );
    let f = l.write("d.json", "{\"claimReviewMarkups\": [");
    l.refuses(
        l.sh(&format!("claimreview import {f} --story feed")),
        &["not valid JSON", "line 1"],
    );
    let f = l.write("e.json", "[]");
    l.refuses(
        l.sh(&format!("claimreview import {f} --story feed")),
        &["no ClaimReview"],
    );
}

#[test]
fn html_output_cannot_be_closed_by_a_claims_text() {
    let l = Ledger::empty();
    let id = l
        .claims([
            "assert",
            "--story",
            "s",
            "--by",
            "Someone",
            "--at",
            "2024-01-01",
            "--text",
            "Nothing </script><script>alert(1)</script> here <!--",
        ])
        .ok();
    let id = id.trim();
    l.sh(&format!("refute {id} --by Checker --at 2024-01-02"))
        .ok();
    let html = l
        .sh(&format!("claimreview {id} --publisher Desk --html"))
        .ok();
    assert!(html.starts_with("<script type=\"application/ld+json\">\n"));
    assert!(html.ends_with("</script>\n"));
    assert_eq!(html.matches("</script>").count(), 1, "{html}");
    assert_eq!(html.matches('<').count(), 2, "{html}");
    let inner =
        &html["<script type=\"application/ld+json\">\n".len()..html.len() - "</script>\n".len()];
    let v: Value = serde_json::from_str(inner).unwrap();
    assert_eq!(
        v["claimReviewed"],
        "Nothing </script><script>alert(1)</script> here <!--"
    );
    assert_eq!(v["reviewRating"]["alternateName"], "Refuted");
}
