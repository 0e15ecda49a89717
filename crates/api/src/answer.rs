//! The answers: each query's JSON, written to any `Write` as it is produced.
//! `claims state --json` writes them to standard output and `GET /v1/state`
//! to the response body, through these functions, so the two are the same
//! bytes by construction (SPEC, "JSON shapes").

use std::io::Write;

use serde_json::Value;

use claims_core::ledger::VerifyReport;
use claims_core::listing::StorySummary;
use claims_core::projection::{ClaimState, Standing, View};
use claims_core::query::{change_json, entry_json, pending_claim_json, AuditRow, Change};
use claims_core::record::Record;
use claims_core::stream::{Items, StateItem};
use claims_core::summary::ClaimHeader;
use claims_core::time::{fmt_time, Time};
use claims_core::{Error, Result};

use crate::json;

/// What writing an answer can fail on: the ledger (reading it), or the
/// writer (a closed pipe, a client gone).
#[derive(Debug)]
pub enum Failed {
    /// Reading the ledger failed; nothing more was written.
    Ledger(Error),
    /// The writer refused.
    Write(std::io::Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Ledger(e)
    }
}

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Self {
        Failed::Write(e)
    }
}

impl Failed {
    /// As a ledger error, a failed write said as writing `what`.
    pub fn into_error(self, what: &str) -> Error {
        match self {
            Failed::Ledger(e) => e,
            Failed::Write(e) => Error::io(what, e),
        }
    }
}

/// What writing an answer gives.
pub type Written = std::result::Result<(), Failed>;

/// A state entry with no pending events, as `entry_json` pretty-printed at
/// depth 2 would read, written without building the JSON value (the whole
/// ledger's state is mostly these). A unit test holds the two equal.
fn entry_text(a: &ClaimHeader, st: &ClaimState) -> String {
    let mut s = String::with_capacity(200 + a.text.len());
    let field = |s: &mut String, key: &str, v: &str| {
        s.push_str("      \"");
        s.push_str(key);
        s.push_str("\": ");
        json::string_into(v, s);
        s.push_str(",\n");
    };
    s.push_str("{\n");
    let mut id = [0u8; 36];
    field(&mut s, "claim", a.claim.hyphenated().encode_lower(&mut id));
    field(&mut s, "story", &a.story);
    field(&mut s, "by", &a.by);
    field(&mut s, "text", &a.text);
    field(&mut s, "status", st.status.as_str());
    s.push_str("      \"since\": \"");
    claims_core::time::fmt_time_into(&st.since, &mut s);
    s.push_str("\",\n      \"events\": ");
    s.push_str(&st.events.to_string());
    s.push_str(",\n      \"pending\": []\n    }");
    s
}

/// SPEC's `state` JSON, written claim by claim.
pub fn state(w: &mut impl Write, view: &View, items: Items<'_, StateItem>) -> Written {
    let mut pending = Vec::new();
    w.write_all(b"{")?;
    json::key(w, 0, "at", true)?;
    w.write_all(json::pretty_at(&fmt_time(&view.at).into(), 1).as_bytes())?;
    json::key(w, 0, "as_of", false)?;
    w.write_all(json::pretty_at(&fmt_time(&view.as_of).into(), 1).as_bytes())?;
    json::key(w, 0, "claims", false)?;
    let mut claims = json::Array::open(w, 1)?;
    for item in items {
        let item = item?;
        match &item.standing {
            Standing::Present(st) if st.pending.is_empty() => {
                claims.raw_item(w, &entry_text(&item.header, st))?
            }
            Standing::Present(_) => claims.item(w, &entry_json(&item.header, &item.standing))?,
            _ => {
                if let Some(r) = &item.asserted {
                    pending.push(pending_claim_json(r));
                }
            }
        }
    }
    claims.close(w)?;
    json::key(w, 0, "pending", false)?;
    w.write_all(json::pretty_at(&Value::Array(pending), 1).as_bytes())?;
    w.write_all(b"\n}\n")?;
    Ok(w.flush()?)
}

/// SPEC's `audit` JSON: an array of rows, written row by row.
pub fn audit(w: &mut impl Write, rows: Items<'_, AuditRow>) -> Written {
    let mut arr = json::Array::open(w, 0)?;
    for r in rows {
        arr.item(w, &r?.to_json())?;
    }
    arr.close(w)?;
    w.write_all(b"\n")?;
    Ok(w.flush()?)
}

/// SPEC's `diff` JSON, written change by change.
pub fn diff(w: &mut impl Write, t1: &Time, t2: &Time, changes: Items<'_, Change>) -> Written {
    w.write_all(b"{")?;
    json::key(w, 0, "from", true)?;
    w.write_all(json::pretty_at(&fmt_time(t1).into(), 1).as_bytes())?;
    json::key(w, 0, "to", false)?;
    w.write_all(json::pretty_at(&fmt_time(t2).into(), 1).as_bytes())?;
    json::key(w, 0, "changes", false)?;
    let mut arr = json::Array::open(w, 1)?;
    for c in changes {
        arr.item(w, &change_json(&c?))?;
    }
    arr.close(w)?;
    w.write_all(b"\n}\n")?;
    Ok(w.flush()?)
}

/// A JSON value pretty-printed, with a closing newline (`show`, `stories`).
pub fn value(w: &mut impl Write, v: &Value) -> Written {
    w.write_all(serde_json::to_string_pretty(v).expect("JSON").as_bytes())?;
    w.write_all(b"\n")?;
    Ok(w.flush()?)
}

/// `log --json`: the entries after a seq as a JSON array of export lines.
pub fn log(w: &mut impl Write, entries: impl Iterator<Item = Result<Record>>) -> Written {
    write!(w, "[")?;
    for (i, r) in entries.enumerate() {
        let r = r?;
        write!(w, "{}\n  {}", if i == 0 { "" } else { "," }, r.to_line())?;
    }
    writeln!(w, "\n]")?;
    Ok(w.flush()?)
}

/// `export`, `/v1/export` and `/v1/log`: NDJSON, one export line an entry.
pub fn ndjson(w: &mut impl Write, entries: impl Iterator<Item = Result<Record>>) -> Written {
    for r in entries {
        writeln!(w, "{}", r?.to_line())?;
    }
    Ok(w.flush()?)
}

/// `stories --json`.
pub fn stories(w: &mut impl Write, rows: &[StorySummary]) -> Written {
    value(
        w,
        &serde_json::to_value(rows).expect("a story summary is JSON"),
    )
}

/// `verify --json` and `/v1/verify`: `{"count":N,"head":HEX}`.
pub fn verify_json(report: &VerifyReport) -> Value {
    serde_json::json!({
        "count": report.count,
        "head": hex_of(&report.head),
    })
}

fn hex_of(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims_core::event::Event;
    use claims_core::projection::Status;
    use claims_core::time::parse_rfc3339;

    #[test]
    fn a_plain_entry_is_written_as_the_json_value_would_be() {
        let line = r#"{"id":"0190a3b2-0000-7000-8000-000000000001","kind":"asserted",
          "claim":"0190a3b2-0000-7000-8000-0000000000c1","story":"s-q",
          "by":"Ama\u00e9 \\ zon","text":"line\nbreak \u001b[31m \u2028",
          "valid":{"from":"2020-07-10T09:00:00Z","to":"2020-07-10T19:00:00Z"}}"#;
        let event = Event::from_json(&serde_json::from_str(line).unwrap(), &[]).unwrap();
        let t = parse_rfc3339("2020-07-10T19:00:00Z").unwrap();
        let r = Record::seal(event, 1, t, &[0; 32]);
        let st = ClaimState {
            status: Status::Disputed,
            since: t,
            because: r.event.id,
            events: 3,
            pending: Vec::new(),
        };
        let a = ClaimHeader::of(&r).unwrap();
        let want = json::pretty_at(&entry_json(&a, &Standing::Present(st.clone())), 2);
        assert_eq!(entry_text(&a, &st), want);
    }
}
