//! The routes of `/v1` (docs/api.md): thin adapters from HTTP to the
//! library's queries and appends.

mod events;
pub(crate) mod follow;
mod import;
mod read;
mod tree;
mod users;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::error::ApiError;

/// The API's router (auth and limits are layered on by [`crate::router`]).
pub(crate) fn api() -> Router<App> {
    Router::new()
        .route("/v1/events", post(events::append))
        .route("/v1/events/{id}", get(read::event))
        .route("/v1/import", post(import::import))
        .route("/v1/state", get(read::state))
        .route("/v1/claims/{id}", get(read::show))
        .route("/v1/audit", get(read::audit))
        .route("/v1/histories", get(read::histories))
        .route("/v1/diff", get(read::diff))
        .route("/v1/stories", get(read::stories))
        .route("/v1/log", get(read::log))
        .route("/v1/export", get(read::export))
        .route("/v1/verify", get(read::verify))
        .route("/v1/tree", get(tree::tree))
        .route("/v1/proof", get(tree::proof))
        .route("/v1/checkpoint", get(tree::checkpoint))
        .route("/v1/ids/short", post(read::short_ids))
        .route("/v1/users", get(users::list).post(users::add))
        .route("/v1/release", post(release))
        .route("/v1/users/{name}", axum::routing::delete(users::revoke))
}

/// The live feed, outside the request-time limit.
pub(crate) fn feed() -> Router<App> {
    Router::new().route("/v1/follow", get(follow::follow))
}

/// Query parameters, refused with SPEC's error shape when they do not parse
/// (an unknown parameter among them).
pub(crate) struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Q(q.0))
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "the query string does not parse: {}",
                    e.body_text()
                ))
            })
    }
}

/// A JSON answer already written.
pub(crate) fn json(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// An NDJSON answer already written.
pub(crate) fn ndjson(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        body,
    )
        .into_response()
}

/// `POST /v1/release`, for the ledger's owner on its socket only: the server
/// answers, then stops taking requests, closes the ledger and exits (so that
/// a command of the owner's can open the ledger itself). A desk's server
/// (`serve --listen`) refuses.
async fn release(
    axum::extract::State(app): axum::extract::State<App>,
    axum::Extension(caller): axum::Extension<crate::Caller>,
) -> Result<Response, ApiError> {
    if caller != crate::Caller::Local {
        return Err(ApiError::new(
            claims_api::error::Kind::Forbidden,
            "only the ledger's owner, on its socket, may stop its server",
            "",
        ));
    }
    if !app.options().releasable {
        return Err(ApiError::new(
            claims_api::error::Kind::Ledger(claims_core::ErrorKind::Locked),
            "this server serves a desk and does not let go of the ledger",
            "run the command against it (it is on the ledger's socket), or stop the server",
        ));
    }
    app.ask_release();
    Ok(axum::Json(serde_json::json!({"released": true})).into_response())
}
