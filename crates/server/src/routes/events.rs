//! `POST /v1/events`: an NDJSON body of events, by exactly `append`'s rules,
//! all-or-nothing and idempotent by id, committed with every other append
//! waiting (group commit); answered once durable.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use claims_api::ndjson;
use claims_api::params::Appended;
use claims_core::Batch;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiResult;

pub(crate) async fn append(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = crate::error::body(body, &app)?;
    let items = app
        .blocking(move |_| Ok(ndjson::events(&body, "the request body")?))
        .await?;
    let batch = Batch {
        items,
        recorded_by: caller.recorded_by(),
    };
    let report = app.writer().append(batch).await??;
    Ok(Json(Appended::of(&report)).into_response())
}
