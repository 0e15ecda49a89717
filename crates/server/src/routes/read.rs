//! The read routes: each resolves its parameters as the CLI does
//! ([`claims_api::params`]) and writes the CLI's `--json` answer
//! ([`claims_api::answer`]).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use claims_api::answer::{self, Failed};
use claims_api::params::{
    AuditParams, Clock, DiffParams, ExportParams, LogParams, ShowParams, StateParams,
};
use claims_core::query::show_json;
use claims_core::Store;

use super::{json, ndjson, Q};
use crate::app::{App, SharedLedger};
use crate::error::{ApiError, ApiResult};

fn clock(l: &SharedLedger, tz: Option<&str>) -> ApiResult<Clock> {
    Ok(Clock::new(Clock::zone(tz)?, Utc::now(), l.store()))
}

fn written(r: Result<(), Failed>) -> ApiResult<()> {
    r.map_err(|f| ApiError::from(f.into_error("writing the answer")))
}

/// `GET /v1/state`: `claims state --json`.
pub(crate) async fn state(State(app): State<App>, Q(p): Q<StateParams>) -> ApiResult<Response> {
    app.read(move |l| {
        let view = clock(l, p.tz.as_deref())?.view(p.at.as_deref(), p.as_of.as_deref())?;
        let items = l.state_items(view, &p.scope())?;
        let mut out = Vec::new();
        written(answer::state(&mut out, &view, items))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/claims/{id}`: `claims show ID --json`.
pub(crate) async fn show(
    State(app): State<App>,
    Path(id): Path<String>,
    Q(p): Q<ShowParams>,
) -> ApiResult<Response> {
    app.read(move |l| {
        let view = clock(l, p.tz.as_deref())?.view(p.at.as_deref(), p.as_of.as_deref())?;
        let claim = l.resolve_claim(&id)?;
        let h = l.history(claim)?;
        let mut out = Vec::new();
        written(answer::value(&mut out, &show_json(&h, &view)))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/audit`: `claims audit --json`.
pub(crate) async fn audit(State(app): State<App>, Q(p): Q<AuditParams>) -> ApiResult<Response> {
    app.read(move |l| {
        let (scope, opts) = p.resolve(&clock(l, p.tz.as_deref())?, l)?;
        let rows = l.audit_rows(&scope, &opts)?;
        let mut out = Vec::new();
        written(answer::audit(&mut out, rows))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/diff?from=T1&to=T2`: `claims diff T1 T2 --json`.
pub(crate) async fn diff(State(app): State<App>, Q(p): Q<DiffParams>) -> ApiResult<Response> {
    app.read(move |l| {
        let v = p.views(&clock(l, p.tz.as_deref())?)?;
        let changes = l.diff_items(v.before, v.after, &p.scope())?;
        let mut out = Vec::new();
        written(answer::diff(&mut out, &v.t1, &v.t2, changes))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/stories`: `claims stories --json`.
pub(crate) async fn stories(State(app): State<App>, Q(_): Q<NoParams>) -> ApiResult<Response> {
    app.read(move |l| {
        let rows = l.story_summaries()?;
        let mut out = Vec::new();
        written(answer::stories(&mut out, &rows))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/verify`: recomputes the chain; `{"count":N,"head":HEX}`, or
/// the error naming the first bad seq.
pub(crate) async fn verify(State(app): State<App>, Q(_): Q<NoParams>) -> ApiResult<Response> {
    app.read(move |l| {
        let report = l.verify(|_| {})?;
        let mut out = Vec::new();
        written(answer::value(&mut out, &answer::verify_json(&report)))?;
        Ok(json(out))
    })
    .await
}

/// `GET /v1/log?since=SEQ`: the entries after SEQ, NDJSON in export form.
pub(crate) async fn log(State(app): State<App>, Q(p): Q<LogParams>) -> ApiResult<Response> {
    Ok(entries(app, p.since.saturating_add(1)))
}

/// `GET /v1/export[?story=S]`: `claims export`.
pub(crate) async fn export(State(app): State<App>, Q(p): Q<ExportParams>) -> ApiResult<Response> {
    match p.story {
        None => Ok(entries(app, 1)),
        Some(story) => {
            app.read(move |l| {
                let mut out = Vec::new();
                written(answer::ndjson(&mut out, l.export_entries(Some(&story))?))?;
                Ok(ndjson(out))
            })
            .await
        }
    }
}

/// The whole log from `from` to the head as it is now, streamed: read a
/// chunk at a time under the read lock, so a long export never holds the
/// writer back for more than a chunk.
fn entries(app: App, from: u64) -> Response {
    const CHUNK: usize = 2048;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let end = app.read_ledger().store().head().seq;
        let mut next = from;
        while next <= end {
            let mut buf = Vec::with_capacity(512 << 10);
            {
                let l = app.read_ledger();
                for r in l.store().scan(next).take(CHUNK) {
                    match r {
                        Ok(r) if r.seq <= end => {
                            next = r.seq + 1;
                            buf.extend_from_slice(r.to_line().as_bytes());
                            buf.push(b'\n');
                        }
                        Ok(_) => {
                            next = end + 1;
                            break;
                        }
                        Err(e) => {
                            // The body ends short: the client sees a broken
                            // answer, never a quietly partial one.
                            let _ = tx
                                .blocking_send(Err(std::io::Error::other(e.message().to_string())));
                            return;
                        }
                    }
                }
            }
            if buf.is_empty() {
                break;
            }
            if tx.blocking_send(Ok(buf.into())).is_err() {
                return;
            }
        }
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response()
}

/// The body of `POST /v1/ids/short`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ShortIds {
    claims: Vec<Uuid>,
}

/// `POST /v1/ids/short` `{"claims":[ID...]}`: how many hex digits name each
/// claim alone in the ledger (at least 8), for tables a client prints.
pub(crate) async fn short_ids(
    State(app): State<App>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    let body: ShortIds =
        crate::error::json_body(&body.map_err(|e| ApiError::bad_request(e.body_text()))?)?;
    if body.claims.len() > 1 << 20 {
        return Err(ApiError::bad_request("ask for at most 1048576 ids at once"));
    }
    app.read(move |l| {
        let digits: HashMap<Uuid, usize> = l.short_claim_digits(&body.claims)?;
        let map: serde_json::Map<String, serde_json::Value> = digits
            .into_iter()
            .map(|(id, n)| (id.to_string(), n.into()))
            .collect();
        let mut out = Vec::new();
        written(answer::value(&mut out, &serde_json::Value::Object(map)))?;
        Ok(json(out))
    })
    .await
}

/// A route that takes no parameters refuses any.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoParams {}

/// `GET /v1/events/{id}`: one entry by its event id (or a unique prefix),
/// in export form.
pub(crate) async fn event(
    State(app): State<App>,
    Path(id): Path<String>,
    Q(_): Q<NoParams>,
) -> ApiResult<Response> {
    app.read(move |l| {
        let id = l.resolve_event(&id)?;
        let r = l.event(id)?.ok_or_else(|| {
            claims_core::Error::not_found(format!("there is no event {id} in the ledger"))
        })?;
        let mut out = Vec::new();
        written(answer::value(
            &mut out,
            &claims_core::query::record_json(&r),
        ))?;
        Ok(json(out))
    })
    .await
}

/// The most claims whose histories are sent for a whole ledger.
const MAX_UNSCOPED: usize = 10_000;

/// The parameters of `GET /v1/histories`: a story, or a claim, or (for a
/// ledger of at most [`MAX_UNSCOPED`] claims) neither.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoriesParams {
    story: Option<String>,
    claim: Option<String>,
}

/// `GET /v1/histories?story=S` or `?claim=ID`: every entry that bears on
/// each claim (its assertion, its events, voids of them, assertions that
/// supersede it), claim by claim in assertion order:
/// `[{"claim":ID,"entries":[ENTRY...]}]`. What a client needs to draw a
/// story's timeline or show a claim as the library folds it.
pub(crate) async fn histories(
    State(app): State<App>,
    Q(p): Q<HistoriesParams>,
) -> ApiResult<Response> {
    app.read(move |l| {
        let claim = match &p.claim {
            Some(c) => Some(l.resolve_claim(c)?),
            None => None,
        };
        if claim.is_none() && p.story.is_none() {
            let all = claims_core::store::IdRange {
                lo: uuid::Uuid::nil(),
                hi: uuid::Uuid::max(),
            };
            if l.store().claim_ids_in(all, MAX_UNSCOPED + 1)?.len() > MAX_UNSCOPED {
                return Err(ApiError::bad_request(format!(
                    "the ledger has more than {MAX_UNSCOPED} claims: name a story or a claim"
                )));
            }
        }
        let scope = claims_core::query::Scope {
            story: p.story.clone(),
            claim,
        };
        let hs = l.histories(&scope)?;
        let mut out = Vec::new();
        let mut arr = claims_api::json::Array::open(&mut out, 0)
            .map_err(|e| ApiError::from(claims_core::Error::io("writing the answer", e)))?;
        for h in &hs {
            let mut entries: Vec<&claims_core::Record> =
                h.asserted.iter().chain(h.others.iter()).collect();
            entries.sort_by_key(|r| r.seq);
            let v = serde_json::json!({
                "claim": h.claim.to_string(),
                "entries": entries.iter().map(|r| claims_core::query::record_json(r)).collect::<Vec<_>>(),
            });
            arr.item(&mut out, &v)
                .map_err(|e| ApiError::from(claims_core::Error::io("writing the answer", e)))?;
        }
        arr.close(&mut out)
            .map_err(|e| ApiError::from(claims_core::Error::io("writing the answer", e)))?;
        out.push(b'\n');
        Ok(json(out))
    })
    .await
}
