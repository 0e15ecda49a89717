//! Property-based fuzzing (issue 5) of the event parser, the time parser and
//! the append path against a model of the append rules.
//!
//! The default case counts are modest for CI; `PROPTEST_CASES` raises them
//! (`scripts/fuzz` runs `PROPTEST_CASES=2000000 cargo test --release --test integration fuzz::`).
//! Every finding is kept below as a named regression test.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use claims_core::event::{Asserted, Body, FollowUp, FollowUpKind, Voided, Wording};
use claims_core::record::GENESIS;
use claims_core::time::{fmt_time, parse_query, parse_rfc3339, parse_valid, Time, Valid};
use claims_core::{Event, Incoming, Ledger, MemStore, Record, Store};
use claims_store_sled::SledStore;

/// `default` cases, or `PROPTEST_CASES / divisor` (at least `default`) when
/// that is set, so slow properties scale down in long runs.
fn config(default: u32, divisor: u32) -> ProptestConfig {
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(s) => (s.trim().parse::<u32>().expect("PROPTEST_CASES") / divisor).max(default),
        Err(_) => default,
    };
    ProptestConfig {
        cases,
        // Slow properties shrink less (`PROPTEST_MAX_SHRINK_ITERS` overrides).
        max_shrink_iters: std::env::var("PROPTEST_MAX_SHRINK_ITERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4096 / divisor.min(16)),
        // Findings are kept as named tests in `regressions` below.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs a slow property with `config(default, divisor)`. (The `proptest!`
/// macro lets `PROPTEST_CASES` override any configured count, which would run
/// a sled property 200 000 times in a long run.)
fn check<S: Strategy>(
    default: u32,
    divisor: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = proptest::test_runner::TestRunner::new(config(default, divisor));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

// ------------------------------------------------------------ strategies

const FIELDS: &[&str] = &[
    "id",
    "kind",
    "claim",
    "story",
    "by",
    "text",
    "valid",
    "quote",
    "lang",
    "translation",
    "via",
    "source",
    "supersedes",
    "note",
    "reason",
    "target",
    "seq",
    "recorded_at",
    "hash",
    "from",
    "to",
];

const KINDS: &[&str] = &[
    "asserted",
    "corroborated",
    "disputed",
    "refuted",
    "retracted",
    "voided",
    "Asserted",
    "",
    "void",
];

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Oslo",
    "America/New_York",
    "Pacific/Kiritimati",
    "Pacific/Niue",
    "Etc/GMT+12",
    "Etc/GMT-14",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
];

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        4 => proptest::sample::select(FIELDS).prop_map(String::from),
        1 => ".{0,12}",
    ]
    .boxed()
}

/// A UUID string, mostly well-formed, sometimes in other accepted spellings
/// or broken.
fn uuid_text() -> BoxedStrategy<String> {
    prop_oneof![
        6 => any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
        1 => (0u128..4).prop_map(|n| Uuid::from_u128(n).to_string()),
        1 => any::<u128>().prop_map(|n| Uuid::from_u128(n).simple().to_string()),
        1 => any::<u128>().prop_map(|n| Uuid::from_u128(n).urn().to_string()),
        1 => any::<u128>().prop_map(|n| Uuid::from_u128(n).braced().to_string().to_uppercase()),
        1 => "[0-9a-f-]{0,40}",
    ]
    .boxed()
}

/// Time strings: near RFC 3339, with field values at and past their limits
/// and offsets that carry a time across the year 0 and year 9999 edges.
fn time_text() -> BoxedStrategy<String> {
    let year = prop_oneof![
        Just(0i64),
        Just(1),
        Just(1969),
        Just(1970),
        Just(2020),
        Just(9999),
        Just(10000),
        Just(99999),
        Just(-1),
        0i64..10000,
    ];
    let frac = prop_oneof![Just(String::new()), "\\.[0-9]{1,12}", Just(".".to_string())];
    let offset = prop_oneof![
        Just("Z".to_string()),
        Just("z".to_string()),
        Just(String::new()),
        (any::<bool>(), 0u32..26, 0u32..61)
            .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
        Just("+23:59".to_string()),
        Just("-23:59".to_string()),
    ];
    let sep = prop_oneof![Just('T'), Just('t'), Just(' '), Just('_')];
    let edge = prop_oneof![
        Just("9999-12-31T23:59:59".to_string()),
        Just("9999-12-31T22:00:00".to_string()),
        Just("0000-01-01T00:00:00".to_string()),
        Just("0000-01-01T01:30:00".to_string()),
    ];
    prop_oneof![
        4 => (year, 0u32..14, 0u32..33, sep, 0u32..26, 0u32..62, 0u32..62, frac, offset.clone())
            .prop_map(|(y, mo, d, s, h, mi, se, f, o)| {
                let y = if (0..10000).contains(&y) { format!("{y:04}") } else { y.to_string() };
                format!("{y}-{mo:02}-{d:02}{s}{h:02}:{mi:02}:{se:02}{f}{o}")
            }),
        1 => (edge, offset).prop_map(|(e, o)| format!("{e}{o}")),
        1 => ".{0,30}",
    ]
    .boxed()
}

fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[A-Za-z ]{1,12}",
        1 => Just(String::new()),
        1 => Just("   ".to_string()),
        1 => "\\PC{0,16}",
        1 => ".{0,16}",
    ]
    .boxed()
}

fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
        uuid_text().prop_map(Value::String),
        time_text().prop_map(Value::String),
        proptest::sample::select(KINDS).prop_map(|k| Value::String(k.into())),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

fn valid_json() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => (time_text(), proptest::option::of(time_text()), proptest::option::of(short_text()))
            .prop_map(|(f, t, x)| {
                let mut m = Map::new();
                m.insert("from".into(), f.into());
                if let Some(t) = t { m.insert("to".into(), t.into()); }
                if let Some(x) = x { m.insert("text".into(), x.into()); }
                Value::Object(m)
            }),
        1 => arb_json(),
    ]
    .boxed()
}

/// An event object close to a valid one, then mutated: a field dropped,
/// replaced by any JSON, or an extra one added.
fn near_event() -> BoxedStrategy<Value> {
    let base = (
        proptest::sample::select(KINDS),
        uuid_text(),
        uuid_text(),
        short_text(),
        short_text(),
        short_text(),
        valid_json(),
        prop::collection::vec(short_text(), 0..3),
        proptest::option::of(uuid_text()),
        short_text(),
    )
        .prop_map(
            |(kind, id, claim, story, by, text, valid, via, sup, reason)| {
                let mut m = Map::new();
                m.insert("id".into(), id.into());
                m.insert("kind".into(), kind.into());
                match kind {
                    "voided" => {
                        m.insert("target".into(), claim.into());
                        m.insert("reason".into(), reason.into());
                    }
                    "asserted" => {
                        m.insert("claim".into(), claim.into());
                        m.insert("story".into(), story.into());
                        m.insert("by".into(), by.into());
                        m.insert("text".into(), text.into());
                        m.insert("valid".into(), valid);
                        if !via.is_empty() {
                            m.insert("via".into(), json!(via));
                        }
                        if let Some(s) = sup {
                            m.insert("supersedes".into(), s.into());
                        }
                    }
                    _ => {
                        m.insert("claim".into(), claim.into());
                        m.insert("by".into(), by.into());
                        m.insert("valid".into(), valid);
                        m.insert("reason".into(), reason.into());
                    }
                }
                Value::Object(m)
            },
        );
    let mutation = prop_oneof![
        3 => Just(None),
        1 => (key(), proptest::option::of(arb_json())).prop_map(Some),
    ];
    (base, prop::collection::vec(mutation, 0..3))
        .prop_map(|(mut v, muts)| {
            let m = v.as_object_mut().unwrap();
            for (k, val) in muts.into_iter().flatten() {
                match val {
                    Some(val) => {
                        m.insert(k, val);
                    }
                    None => {
                        m.remove(&k);
                    }
                }
            }
            v
        })
        .boxed()
}

// ------------------------------------------------------------ parser properties

/// What must hold of any event the parser accepts: it obeys the field rules,
/// its JSON form parses back to itself, and it survives sealing, the stored
/// encoding and the export line.
fn check_accepted(e: &Event) -> Result<(), TestCaseError> {
    let again = Event::from_json(&Value::Object(e.to_json()), &[])
        .map_err(|err| TestCaseError::fail(format!("its own JSON form is refused: {err}")))?;
    prop_assert_eq!(&again, e);
    let not_blank = |s: &str| !s.trim().is_empty();
    match &e.body {
        Body::Asserted(a) => {
            prop_assert!(not_blank(&a.by) && not_blank(&a.text) && not_blank(&a.story));
            prop_assert!(!a.story.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
        Body::FollowedUp(f) => prop_assert!(not_blank(&f.by)),
        Body::Voided(v) => prop_assert!(not_blank(&v.reason)),
    }
    if let Some(v) = e.valid() {
        prop_assert!(v.from <= v.to);
        for t in [v.from, v.to] {
            prop_assert_eq!(
                parse_rfc3339(&fmt_time(&t)).ok(),
                Some(t),
                "{} cannot be read back",
                fmt_time(&t)
            );
        }
    }
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let r = Record::seal(e.clone(), 1, now, &GENESIS);
    let decoded = Record::decode(&r.encode())
        .map_err(|err| TestCaseError::fail(format!("the stored form does not decode: {err}")))?;
    prop_assert_eq!(&decoded, &r);
    let line: Value = serde_json::from_str(&r.to_line()).unwrap();
    let back = Record::from_json(&line)
        .map_err(|err| TestCaseError::fail(format!("the export line does not parse: {err}")))?;
    prop_assert_eq!(&back, &r);
    prop_assert_eq!(back.compute_hash(&GENESIS), r.hash);
    Ok(())
}

fn check_parse(v: &Value) -> Result<(), TestCaseError> {
    match Event::from_json(v, &[]) {
        Ok(e) => check_accepted(&e),
        Err(err) => {
            let msg = err.message();
            prop_assert!(
                msg.starts_with("field `") || msg.starts_with("expected a JSON object"),
                "an error that names no field: {}",
                msg
            );
            Ok(())
        }
    }
}

proptest! {
    // `PROPTEST_CASES` sets the count of these directly.
    #![proptest_config(config(512, 1))]

    #[test]
    fn event_parser_on_any_json(v in arb_json()) {
        check_parse(&v)?;
    }

    #[test]
    fn event_parser_on_near_valid_events(v in near_event()) {
        check_parse(&v)?;
    }

    #[test]
    fn event_parser_on_any_string(s in prop_oneof![
        ".{0,64}",
        "[\\[\\]{}\":,0-9a-z \\\\.-]{0,64}",
        near_event().prop_map(|v| v.to_string()),
    ], cut in any::<prop::sample::Index>(), junk in ".{0,3}") {
        // The string itself, and the string cut short with junk spliced in.
        let mut cuts = vec![s.clone()];
        if !s.is_empty() {
            let mut at = cut.index(s.len());
            while !s.is_char_boundary(at) { at -= 1; }
            cuts.push(format!("{}{junk}", &s[..at]));
        }
        for text in cuts {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                check_parse(&v)?;
            }
        }
    }

    #[test]
    fn time_parsers_never_panic(s in prop_oneof![
        ".{0,40}",
        time_text(),
        (time_text(), time_text()).prop_map(|(a, b)| format!("{a}/{b}")),
        "[+-]?[0-9]{1,7}-[0-9]{1,2}-[0-9]{1,2}",
        "[+-]?[0-9]{1,7}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?",
        "(now|NOW| now |/|//|[0-9]{4}-[0-9]{2}-[0-9]{2}/)",
    ], zone in proptest::sample::select(ZONES)) {
        let tz: Tz = zone.parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        if let Ok((from, to)) = parse_valid(&s, &tz) {
            prop_assert!(from <= to, "{s:?} in {zone}: from after to");
            // What `--at` accepts is stored, so it must read back.
            for t in [from, to] {
                prop_assert_eq!(
                    parse_rfc3339(&fmt_time(&t)).ok(),
                    Some(t),
                    "{:?} in {} gives {}, which cannot be read back",
                    &s, zone, fmt_time(&t)
                );
            }
        }
        let _ = parse_query(&s, &tz, now);
        let _ = parse_rfc3339(&s);
    }
}

// ------------------------------------------------------------ append model

/// One generated event over small id pools, so that duplicates, conflicts,
/// unknown references and voids of voids happen often.
#[derive(Debug, Clone)]
enum Op {
    Assert {
        id: u8,
        claim: u8,
        hour: u8,
        span: u8,
        supersedes: Option<u8>,
        by: u8,
    },
    Follow {
        id: u8,
        kind: u8,
        claim: u8,
        hour: u8,
        span: u8,
        by: u8,
    },
    Void {
        id: u8,
        target: u8,
        by: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u8..20;
    prop_oneof![
        3 => (id.clone(), 0u8..6, 0u8..8, 0u8..4, proptest::option::weighted(0.2, 0u8..6), 0u8..2)
            .prop_map(|(id, claim, hour, span, supersedes, by)| Op::Assert { id, claim, hour, span, supersedes, by }),
        3 => (id.clone(), 0u8..4, 0u8..7, 0u8..8, 0u8..4, 0u8..2)
            .prop_map(|(id, kind, claim, hour, span, by)| Op::Follow { id, kind, claim, hour, span, by }),
        2 => (id.clone(), 0u8..21, 0u8..2).prop_map(|(id, target, by)| Op::Void { id, target, by }),
    ]
}

fn hour(h: u8) -> Time {
    Utc.with_ymd_and_hms(2020, 7, 10, 0, 0, 0).unwrap() + chrono::Duration::hours(h as i64)
}

fn eid(n: u8) -> Uuid {
    Uuid::from_u128(0xE000 + n as u128)
}

fn cid(n: u8) -> Uuid {
    Uuid::from_u128(0xC000 + n as u128)
}

const WHO: [&str; 2] = ["Amazon", "TikTok"];

fn event_of(op: &Op) -> Event {
    let valid = |h: u8, span: u8| Valid {
        from: hour(h),
        to: hour(h + span),
        text: None,
    };
    match *op {
        Op::Assert {
            id,
            claim,
            hour: h,
            span,
            supersedes,
            by,
        } => Event {
            id: eid(id),
            body: Body::Asserted(Asserted {
                claim: cid(claim),
                story: "s".into(),
                by: WHO[by as usize].into(),
                text: format!("claim {claim}"),
                valid: valid(h, span),
                wording: Wording::default(),
                supersedes: supersedes.map(cid),
            }),
        },
        Op::Follow {
            id,
            kind,
            claim,
            hour: h,
            span,
            by,
        } => Event {
            id: eid(id),
            body: Body::FollowedUp(FollowUp {
                kind: [
                    FollowUpKind::Corroborated,
                    FollowUpKind::Disputed,
                    FollowUpKind::Refuted,
                    FollowUpKind::Retracted,
                ][kind as usize],
                claim: cid(claim),
                by: WHO[by as usize].into(),
                valid: valid(h, span),
                reason: None,
                note: None,
                wording: Wording::default(),
            }),
        },
        Op::Void { id, target, by } => Event {
            id: eid(id),
            body: Body::Voided(Voided {
                target: eid(target),
                reason: format!("mistake by {}", WHO[by as usize]),
            }),
        },
    }
}

/// The append rules of SPEC, written as plainly as possible.
#[derive(Debug, Clone, Default)]
struct Model {
    events: HashMap<Uuid, Event>,
    /// claim → start of its assertion's valid time
    claims: HashMap<Uuid, Time>,
    log: Vec<Event>,
}

impl Model {
    /// The new model and the events written, or the 1-based line refused.
    fn append(&self, batch: &[Event]) -> Result<(Model, Vec<Event>), usize> {
        let mut m = self.clone();
        let mut fresh = Vec::new();
        for (i, e) in batch.iter().enumerate() {
            let line = i + 1;
            if let Some(old) = m.events.get(&e.id) {
                if old == e {
                    continue;
                }
                return Err(line);
            }
            match &e.body {
                Body::Asserted(a) => {
                    if m.claims.contains_key(&a.claim) {
                        return Err(line);
                    }
                    if let Some(s) = a.supersedes {
                        if s == a.claim || !m.claims.contains_key(&s) {
                            return Err(line);
                        }
                    }
                    m.claims.insert(a.claim, a.valid.from);
                }
                Body::FollowedUp(f) => match m.claims.get(&f.claim) {
                    Some(from) if f.valid.from >= *from => {}
                    _ => return Err(line),
                },
                Body::Voided(v) => match m.events.get(&v.target) {
                    Some(t) if !matches!(t.body, Body::Voided(_)) => {}
                    _ => return Err(line),
                },
            }
            m.events.insert(e.id, e.clone());
            m.log.push(e.clone());
            fresh.push(e.clone());
        }
        Ok((m, fresh))
    }
}

fn incoming(batch: &[Event]) -> Vec<Incoming> {
    batch
        .iter()
        .enumerate()
        .map(|(i, e)| Incoming {
            line: Some(i + 1),
            event: e.clone(),
        })
        .collect()
}

fn log_of<S: Store>(ledger: &Ledger<S>) -> Vec<Record> {
    ledger.store().scan(1).map(|r| r.unwrap()).collect()
}

/// Runs `batches` against a ledger over `store` and the model, step by step.
fn check_against_model<S: Store>(
    store: S,
    batches: &[Vec<Op>],
) -> Result<Ledger<S>, TestCaseError> {
    let mut ledger = Ledger::new(store);
    let mut model = Model::default();
    for (step, ops) in batches.iter().enumerate() {
        let batch: Vec<Event> = ops.iter().map(event_of).collect();
        let before = log_of(&ledger);
        let head = ledger.store().head();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::seconds(step as i64);
        let got = ledger.append(incoming(&batch), now);
        match (got, model.append(&batch)) {
            (Ok(report), Ok((next, fresh))) => {
                let written: Vec<Event> = report.appended.iter().map(|r| r.event.clone()).collect();
                prop_assert_eq!(
                    written,
                    fresh.clone(),
                    "step {}: other events written",
                    step
                );
                prop_assert_eq!(
                    report.unchanged + report.repeated,
                    batch.len() - fresh.len()
                );
                for (i, r) in report.appended.iter().enumerate() {
                    prop_assert_eq!(r.seq, head.seq + 1 + i as u64);
                }
                model = next;
            }
            (Err(e), Err(line)) => {
                prop_assert!(
                    e.message().starts_with(&format!("line {line}: field `")),
                    "step {}: the refusal names another line or no field: {}",
                    step,
                    e.message()
                );
                prop_assert_eq!(
                    ledger.store().head(),
                    head,
                    "step {}: a refusal moved the head",
                    step
                );
                prop_assert_eq!(
                    log_of(&ledger),
                    before,
                    "step {}: a refusal changed the log",
                    step
                );
            }
            (Ok(_), Err(line)) => {
                return Err(TestCaseError::fail(format!(
                    "step {step}: accepted a batch the rules refuse at line {line}: {batch:?}"
                )))
            }
            (Err(e), Ok(_)) => {
                return Err(TestCaseError::fail(format!(
                    "step {step}: refused a batch the rules accept ({e}): {batch:?}"
                )))
            }
        }
        let log: Vec<Event> = log_of(&ledger).into_iter().map(|r| r.event).collect();
        prop_assert_eq!(
            &log,
            &model.log,
            "step {}: the log differs from the model",
            step
        );
        ledger
            .verify(|_| {})
            .map_err(|e| TestCaseError::fail(format!("step {step}: verify failed: {e}")))?;
    }
    Ok(ledger)
}

fn batches() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..7), 1..10)
}

#[test]
fn append_matches_the_model() {
    check(256, 4, batches(), |batches| {
        check_against_model(MemStore::new(), &batches).map(|_| ())
    });
}

/// The same batches through the sled store give the same log as through the
/// in-memory one, also after reopening.
#[test]
fn sled_store_agrees_with_the_model() {
    check(24, 2000, batches(), |batches| {
        let tmp = tempfile::TempDir::new().unwrap();
        let path = tmp.path().join("ledger");
        let opts = claims_store_sled::OpenOptions::default();
        let ledger = check_against_model(SledStore::open(&path, &opts).unwrap(), &batches)?;
        let mem = check_against_model(MemStore::new(), &batches)?;
        let log = log_of(&ledger);
        prop_assert_eq!(&log, &log_of(&mem));
        drop(ledger);
        let reopened = Ledger::new(SledStore::open(&path, &opts).unwrap());
        prop_assert_eq!(log_of(&reopened), log);
        let verified = reopened.verify(|_| {});
        prop_assert!(verified.is_ok(), "{:?}", verified);
        Ok(())
    });
}

// ------------------------------------------------------------ regressions

/// Kept findings: inputs the fuzzers tripped over, pinned as plain tests.
mod regressions {
    use super::*;

    fn asserted_with(valid: Value) -> Value {
        json!({"id": "0e5e0000-0000-4000-8000-000000000001", "kind": "asserted",
            "claim": "0e5e0000-0000-4000-8000-000000000002", "story": "s", "by": "A",
            "text": "T", "valid": valid})
    }

    /// Found by `event_parser_on_any_string`: a `valid.to` of
    /// `9999-12-31T23:59:59-23:59` was accepted.
    #[test]
    fn event_times_past_year_9999_in_utc_are_refused() {
        for valid in [
            json!({"from": "2020-07-10T00:00:00Z", "to": "9999-12-31T23:59:59-23:59"}),
            json!({"from": "9999-12-31T23:00:00-02:00"}),
            json!({"from": "0000-01-01T00:30:00+01:00", "to": "2020-07-10T00:00:00Z"}),
        ] {
            // Stored as written, these would read back as `+10000-…` or
            // `-0001-…`, which no RFC 3339 parser takes: the entry, and with it
            // the ledger, could no longer be read.
            let e =
                Event::from_json(&asserted_with(valid.clone()), &[]).expect_err(&valid.to_string());
            assert!(e.message().starts_with("field `valid."), "{e}");
            assert!(e.message().contains("0000 to 9999"), "{e}");
        }
    }

    /// Found by `time_parsers_never_panic`: `--at -1-1-1` was accepted.
    #[test]
    fn at_times_past_year_9999_in_utc_are_refused() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // Before 1888 Tokyo kept local mean time, 9:18:59 ahead of UTC.
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        for (s, tz) in [
            ("9999-12-31", ny),
            ("9999-12-31T23:00", ny),
            ("2020-07-10/9999-12-31", ny),
            ("0000-01-01", tokyo),
            ("0000-01-01T00:00", tokyo),
            ("-1-1-1", "UTC".parse().unwrap()),
        ] {
            let e = parse_valid(s, &tz).expect_err(s);
            assert!(e.message().contains("0000 to 9999"), "{s}: {e}");
        }
    }

    /// Found by `time_parsers_never_panic` in the first long run: second 60
    /// in a zone whose offset then had seconds (Oslo's local mean time) gave
    /// an instant that was written back one second off.
    #[test]
    fn a_second_60_that_is_no_leap_second_is_refused() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        let e = parse_valid("0-03-10 00:00:60", &oslo).unwrap_err();
        assert!(e.message().contains("second 60"), "{e}");
        for s in ["2020-07-10T12:34:60Z", "2020-07-10T23:59:60+01:00"] {
            let e = parse_rfc3339(s).unwrap_err();
            assert!(e.message().contains("second 60"), "{s}: {e}");
        }
        // A real leap second is kept, and reads back as written.
        for s in ["2016-12-31T23:59:60Z", "2017-01-01T00:59:60+01:00"] {
            let t = parse_rfc3339(s).unwrap();
            assert_eq!(fmt_time(&t), "2016-12-31T23:59:60Z");
            assert_eq!(parse_rfc3339(&fmt_time(&t)).unwrap(), t);
        }
    }
}
