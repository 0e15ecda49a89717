//! `GET /`: the stories, with their claim and event counts (`claims
//! stories`), each a link to its page.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use maud::html;

use super::layout::{error_page, segment, text, Page};
use super::session::Visitor;
use super::signin_first;
use crate::app::App;

/// `GET /`.
pub(crate) async fn page(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    RawQuery(raw): RawQuery,
) -> Response {
    if !v.may_read() {
        return signin_first("/", raw.as_deref());
    }
    if raw.as_deref().is_some_and(|q| !q.is_empty()) {
        return error_page(
            &v,
            StatusCode::BAD_REQUEST,
            "the stories page takes no parameters",
            "",
        );
    }
    let rows = app
        .blocking(|app| Ok(app.read_ledger().story_summaries()?))
        .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return error_page(&v, e.status(), &e.0.error.message, &e.0.error.hint),
    };
    let body = html! {
        p.kicker { "The desk's ledger" }
        h1 { "Stories" }
        p.lede { "Every story in the ledger, with its claims and the entries about them. Open one to see what stood at a chosen time, as known at a chosen time, and how it changed." }
        @if rows.is_empty() {
            p { "The ledger holds no story yet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Story" } th.num scope="col" { "Claims" } th.num scope="col" { "Events" } } }
                tbody {
                    @for r in &rows {
                        tr data-story=(r.story) {
                            td { a href={ "/stories/" (segment(&r.story)) } { (text(&r.story)) } }
                            td.num { (r.claims) }
                            td.num { (r.events) }
                        }
                    }
                }
            }
        }
    };
    Page {
        title: "Stories".into(),
        visitor: &v,
        body,
        status: StatusCode::OK,
        live: None,
    }
    .respond()
}
