//! The newsroom server (SPEC, "The newsroom server"; docs/api.md): one
//! ledger served to a desk over HTTP, and to its owner on the ledger's Unix
//! socket, through one router.
//!
//! - [`app`]: the shared state: the ledger, the accounts, the options;
//! - `writer`: the one writer, which commits every waiting append together
//!   (group commit);
//! - `auth`: the layer that finds the caller and checks its role;
//! - `routes`: thin handlers over the library's queries and appends;
//! - [`listen`]: the listeners (TCP, TLS, Unix) and their limits;
//! - [`tls`]: a rustls configuration from PEM;
//! - `web`: the desk's web page (server-rendered HTML, sign-in, forms).
//!
//! The handlers never parse a command line and never open a path a client
//! names; the only files the server opens are the ones its operator passed
//! (through the CLI, which reads them).

pub mod app;
mod auth;
mod error;
pub mod listen;
mod routes;
pub mod tls;
mod web;
mod writer;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub use app::{App, Limits, Options, SharedLedger};
pub use auth::{Caller, Peer};
pub use web::Secure;

use claims_api::error::Kind;
use error::ApiError;

/// The whole router: `/v1`, `/healthz`, and the layers (auth, limits).
pub fn router(app: App) -> Router {
    let limits = app.options().limits.clone();
    router_with(app, &limits)
}

/// The router with other limits than the app's (the owner's Unix socket
/// takes a whole ledger's import).
pub fn router_with(app: App, limits: &Limits) -> Router {
    let api = routes::api().layer(from_fn_with_state(limits.request_time, deadline));
    Router::new()
        .merge(api)
        .merge(routes::feed())
        .merge(web::router(&app, limits.request_time))
        .route("/healthz", get(health))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(from_fn_with_state(app.clone(), auth::layer))
        .layer(from_fn_with_state(app.clone(), track))
        .layer(from_fn_with_state(limits.body_bytes, announced_size))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .with_state(app)
}

async fn health(State(app): State<App>) -> Response {
    let seq = *app.watch_head().borrow();
    Json(serde_json::json!({
        "ok": true,
        "seq": seq,
        "build": app.options().build,
        "pid": std::process::id(),
        "served": app.served(),
    }))
    .into_response()
}

/// Counts requests (not `/healthz`, which asks only whether it runs), so
/// that an idle server knows it is.
async fn track(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    app.request_started();
    let r = next.run(req).await;
    app.request_ended();
    r
}

async fn no_route() -> ApiError {
    ApiError::new(
        Kind::NoRoute,
        "there is no such route",
        "see docs/api.md for the routes",
    )
}

async fn no_method() -> ApiError {
    ApiError::new(
        Kind::Method,
        "this route does not take that method",
        "see docs/api.md for the routes",
    )
}

/// A body announced larger than the limit is refused before a byte of it
/// is read (one that grows past it unannounced is cut where it does).
async fn announced_size(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return error::too_large(limit).into_response();
    }
    next.run(req).await
}

/// A request that takes longer than the limit is answered 408.
async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            Kind::Timeout,
            format!(
                "the request took longer than the {} seconds this server gives one",
                limit.as_secs()
            ),
            "send it again, faster or smaller",
        )
        .into_response(),
    }
}
