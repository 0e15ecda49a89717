//! The desk's web page (SPEC, "The web page"; docs/web.md): server-rendered
//! HTML over the same ledger, queries and append path as `/v1`, readable
//! without JavaScript.
//!
//! - [`layout`]: the page shell and the pieces every page shows;
//! - [`stories`]: `/`, the stories;
//! - [`story`]: `/stories/{slug}`, a story at a chosen time;
//! - [`claim`]: `/claims/{id}`, one claim and every entry on it;
//! - [`forms`]: the writers' forms and their POSTs;
//! - [`signin`]: signing in with a token, and out;
//! - [`session`]: sessions and the layer that finds the visitor;
//! - [`csrf`]: the token and origin checks of every POST;
//! - [`assets`]: the stylesheet, the script and the icon, served here.
//!
//! Every page answer carries a Content-Security-Policy that allows only
//! this server's own files (no inline script), and refuses framing.

pub(crate) mod assets;
pub(crate) mod claim;
pub(crate) mod csrf;
pub(crate) mod forms;
pub(crate) mod layout;
pub(crate) mod session;
pub(crate) mod signin;
pub(crate) mod stories;
pub(crate) mod story;

use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::de::DeserializeOwned;

use claims_api::params::FollowParams;

use crate::app::App;
use session::Visitor;

pub use session::Secure;

/// Whether `path` is one of the page's (not the API's, not `/healthz`).
pub(crate) fn is_page(path: &str) -> bool {
    path == "/"
        || path == "/signin"
        || path == "/signout"
        || path == "/live"
        || path.starts_with("/stories/")
        || path.starts_with("/claims/")
        || path.starts_with("/assets/")
}

/// The page's routes, with the visitor layer and the security headers.
pub(crate) fn router(app: &App, request_time: std::time::Duration) -> Router<App> {
    let pages = Router::new()
        .route("/", get(stories::page))
        .route("/signin", get(signin::page).post(signin::post))
        .route("/signout", post(signin::signout))
        .route("/stories/{slug}", get(story::page))
        .route("/stories/{slug}/assert", post(forms::post_assert))
        .route(
            "/stories/{slug}/follow-up",
            post(forms::post_story_follow_up),
        )
        .route("/stories/{slug}/void", post(forms::post_story_void))
        .route("/claims/{id}", get(claim::page))
        .route("/claims/{id}/follow-up", post(forms::post_claim_follow_up))
        .route("/claims/{id}/void", post(forms::post_claim_void))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::JS_PATH, get(assets::js))
        .route(assets::ICON_PATH, get(assets::icon))
        .layer(from_fn_with_state(request_time, crate::deadline));
    Router::new()
        .merge(pages)
        .route("/live", get(live))
        .layer(from_fn_with_state(app.clone(), session::layer))
        .layer(from_fn(headers))
}

/// The security headers of every page answer.
async fn headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// A page's query string read as `T`; an error names what is wrong.
pub(crate) fn query<T: DeserializeOwned + Default>(raw: Option<&str>) -> Result<T, String> {
    match raw {
        None | Some("") => Ok(T::default()),
        Some(q) => serde_urlencoded_like::<T>(q)
            .map_err(|e| format!("the page's parameters do not read: {e}")),
    }
}

fn serde_urlencoded_like<T: DeserializeOwned>(q: &str) -> Result<T, String> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| "not a query string".to_string())?,
    )
    .map(|q| q.0)
    .map_err(|e| e.body_text())
}

/// A reader must sign in first: 303 to the sign-in page, back here after.
pub(crate) fn signin_first(path: &str, query: Option<&str>) -> Response {
    let here = match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    };
    forms::see_other(&layout::href("/signin", &[("next", Some(&here))]))
}

/// `GET /live?story=S[&since=SEQ]`: the story's new entries as Server-Sent
/// Events (the `/v1/follow` feed), for the page's script; a visitor who may
/// read the pages may follow them.
async fn live(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if !v.may_read() {
        return layout::error_page(
            &v,
            StatusCode::UNAUTHORIZED,
            "sign in to follow the story",
            "",
        );
    }
    let p: FollowParams = match query(raw.as_deref()) {
        Ok(p) => p,
        Err(m) => return layout::error_page(&v, StatusCode::BAD_REQUEST, &m, ""),
    };
    match crate::routes::follow::follow(State(app), headers, crate::routes::Q(p)).await {
        Ok(r) => r,
        Err(e) => layout::error_page(&v, e.status(), &e.0.error.message, &e.0.error.hint),
    }
}

/// Zones the time-zone field offers (any IANA name is taken).
pub(crate) const ZONES: [&str; 16] = [
    "UTC",
    "Europe/Oslo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Africa/Johannesburg",
    "Pacific/Auckland",
];
