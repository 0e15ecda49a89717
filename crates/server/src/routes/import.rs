//! `POST /v1/import[?accept_future_times=true]` (admin): an export's NDJSON,
//! restored exactly (same seq, recorded times, hashes) into an empty
//! ledger, or resuming one whose log is a prefix of it; all-or-nothing, by
//! exactly `claims import`'s rules.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use claims_api::ndjson::{parse_line, BOM, MAX_EXPORT_LINE};
use claims_core::{Error, ImportOptions, Record};

use super::Q;
use crate::app::App;
use crate::error::ApiResult;

/// The parameters of an import.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportParams {
    #[serde(default)]
    accept_future_times: bool,
}

pub(crate) async fn import(
    State(app): State<App>,
    Q(p): Q<ImportParams>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = crate::error::body(body, &app)?;
    let report = app
        .blocking(move |app| {
            let body = body.strip_prefix(BOM).unwrap_or(&body);
            let mut records = Vec::new();
            for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                let n = i + 1;
                if let Some(v) = parse_line(n, line, MAX_EXPORT_LINE)? {
                    let r = Record::from_json(&v).map_err(|e| e.context(format!("line {n}")))?;
                    records.push((n, r));
                }
            }
            if records.is_empty() {
                return Err(Error::invalid("the request body holds no entries").into());
            }
            let opts = ImportOptions {
                now: Utc::now(),
                accept_future_times: p.accept_future_times,
            };
            let mut l = app.write_ledger();
            let report = l.import(records, &opts)?;
            app.moved_to(l.store().head().seq);
            Ok(report)
        })
        .await?;
    Ok(Json(serde_json::json!({
        "restored": report.restored,
        "already": report.already,
    }))
    .into_response())
}
