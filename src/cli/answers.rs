//! A server's answers read back into the library's types, so that a command
//! against a server prints its tables with the very code a local command
//! prints them with. What a JSON shape leaves out is asked for: the short
//! names of claims (`POST /v1/ids/short`).

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

use claims_core::event::{Asserted, Body, Event};
use claims_core::projection::{ClaimState, Standing, Status};
use claims_core::record::Record;
use claims_core::stream::StateItem;
use claims_core::summary::ClaimHeader;
use claims_core::time::{parse_rfc3339, Time};
use claims_core::Result;

use super::remote::Remote;
use super::render;

fn field<'v>(r: &Remote, v: &'v Value, key: &str) -> Result<&'v Value> {
    v.get(key)
        .ok_or_else(|| r.garbled(format!("no `{key}` in the answer")))
}

fn text(r: &Remote, v: &Value, key: &str) -> Result<String> {
    field(r, v, key)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| r.garbled(format!("`{key}` is not a string")))
}

/// A UUID field.
pub fn id(r: &Remote, v: &Value, key: &str) -> Result<Uuid> {
    Uuid::parse_str(&text(r, v, key)?).map_err(|e| r.garbled(e))
}

/// A time field.
pub fn time(r: &Remote, v: &Value, key: &str) -> Result<Time> {
    parse_rfc3339(&text(r, v, key)?).map_err(|e| r.garbled(e.message().to_string()))
}

/// A status field (`None` for `null`).
pub fn status(r: &Remote, v: &Value, key: &str) -> Result<Option<Status>> {
    match field(r, v, key)? {
        Value::Null => Ok(None),
        Value::String(s) => Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .map(Some)
            .ok_or_else(|| r.garbled(format!("`{s}` is not a status"))),
        _ => Err(r.garbled(format!("`{key}` is not a status"))),
    }
}

/// An entry in export form.
pub fn record(r: &Remote, v: &Value) -> Result<Record> {
    Record::from_json(v).map_err(|e| r.garbled(e.message().to_string()))
}

/// An array field.
pub fn array<'v>(r: &Remote, v: &'v Value, key: &str) -> Result<&'v Vec<Value>> {
    field(r, v, key)?
        .as_array()
        .ok_or_else(|| r.garbled(format!("`{key}` is not an array")))
}

/// The claims of a `state` answer that count, as the table prints them.
pub fn state_items(r: &Remote, doc: &Value) -> Result<Vec<StateItem>> {
    let mut out = Vec::new();
    for c in array(r, doc, "claims")? {
        let header = ClaimHeader {
            claim: id(r, c, "claim")?,
            story: text(r, c, "story")?,
            by: text(r, c, "by")?,
            text: text(r, c, "text")?,
        };
        let Some(st) = status(r, c, "status")? else {
            continue;
        };
        let pending = array(r, c, "pending")?
            .iter()
            .map(|p| record(r, p))
            .collect::<Result<Vec<_>>>()?;
        let events = field(r, c, "events")?
            .as_u64()
            .ok_or_else(|| r.garbled("`events` is not a count"))?;
        out.push(StateItem {
            header,
            standing: Standing::Present(ClaimState {
                status: st,
                since: time(r, c, "since")?,
                because: Uuid::nil(),
                events: events as usize,
                pending,
            }),
            asserted: None,
        });
    }
    Ok(out)
}

/// The claims of a `state` answer whose assertion is pending.
pub fn pending_claims(r: &Remote, doc: &Value) -> Result<Vec<Asserted>> {
    let mut out = Vec::new();
    for p in array(r, doc, "pending")? {
        let event = serde_json::json!({
            "id": field(r, p, "event")?,
            "kind": "asserted",
            "claim": field(r, p, "claim")?,
            "story": field(r, p, "story")?,
            "by": field(r, p, "by")?,
            "text": field(r, p, "text")?,
            "valid": field(r, p, "valid")?,
        });
        let e = Event::from_json(&event, &[]).map_err(|e| r.garbled(e.message().to_string()))?;
        if let Body::Asserted(a) = e.body {
            out.push(a);
        }
    }
    Ok(out)
}

/// The short names (at least 8 digits, unique in the server's ledger) of
/// `ids`.
pub fn short_names(r: &Remote, ids: &[Uuid]) -> Result<HashMap<Uuid, String>> {
    let digits: HashMap<Uuid, usize> =
        r.post_json("/v1/ids/short", &serde_json::json!({ "claims": ids }))?;
    Ok(ids
        .iter()
        .map(|id| {
            let n = digits.get(id).copied().unwrap_or(32);
            (*id, render::dashed_prefix(*id, n))
        })
        .collect())
}

/// The histories of a story's claims, or of one claim (`GET
/// /v1/histories`), as the library folds them.
pub fn histories(
    r: &Remote,
    story: Option<&str>,
    claim: Option<&str>,
) -> Result<Vec<claims_core::ClaimHistory>> {
    #[derive(serde::Serialize)]
    struct P<'a> {
        story: Option<&'a str>,
        claim: Option<&'a str>,
    }
    let doc: Vec<Value> = r.get_json("/v1/histories", &P { story, claim })?;
    let mut out = Vec::with_capacity(doc.len());
    for h in &doc {
        let mut history = claims_core::ClaimHistory::new(id(r, h, "claim")?);
        for e in array(r, h, "entries")? {
            history.apply(&record(r, e)?);
        }
        out.push(history);
    }
    Ok(out)
}
