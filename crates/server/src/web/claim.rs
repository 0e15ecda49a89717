//! `GET /claims/{id}?at=T&as_of=R&tz=ZONE`: one claim (its id or a unique
//! prefix of 6+ digits, as `claims show` takes it): its state at the view,
//! and every entry the ledger had recorded by R, each with how it stands
//! there: who and when, the quote in its language, the translation, the
//! reporting chain, the source, the reason, when it was recorded and by
//! which account. For writers, the follow-up and void forms.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::Utc;
use chrono_tz::Tz;
use maud::{html, Markup};
use serde::Deserialize;

use claims_api::error::ErrorBody;
use claims_api::params::Clock;
use claims_core::event::Body;
use claims_core::projection::{ClaimHistory, EntryStanding, Standing, View};
use claims_core::query::standing_name;
use claims_core::Record;

use super::forms::{self, Echo, Fields};
use super::layout::{
    error_page, field, href, problem, segment, short_id, status, text, valid, when, Page,
    QUERY_TIME_HELP,
};
use super::session::Visitor;
use super::story::{event_choice, zone_field};
use super::{query, signin_first};
use crate::app::{App, SharedLedger};

/// The page's parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClaimQuery {
    /// Valid time T.
    pub at: Option<String>,
    /// Recorded time R.
    pub as_of: Option<String>,
    /// The zone.
    pub tz: Option<String>,
}

fn get(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

/// The longest id or prefix looked up (a UUID with its dashes).
const MAX_ID: usize = 36;

/// `GET /claims/{id}`.
pub(crate) async fn page(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if !v.may_read() {
        return signin_first(&format!("/claims/{}", segment(&id)), raw.as_deref());
    }
    let q: ClaimQuery = match query(raw.as_deref()) {
        Ok(q) => q,
        Err(message) => {
            return error_page(
                &v,
                StatusCode::BAD_REQUEST,
                &message,
                "the page takes at, as_of and tz",
            )
        }
    };
    render(app, v, id, q, None).await
}

/// The page again after a refused form, at now in the form's zone.
pub(crate) async fn again(
    app: App,
    v: Visitor,
    id: String,
    fields: &Fields,
    echo: Echo,
) -> Response {
    let q = ClaimQuery {
        tz: fields.opt("tz"),
        ..ClaimQuery::default()
    };
    render(app, v, id, q, Some(echo)).await
}

async fn render(app: App, v: Visitor, id: String, q: ClaimQuery, echo: Option<Echo>) -> Response {
    if id.len() > MAX_ID {
        return error_page(
            &v,
            StatusCode::BAD_REQUEST,
            &format!("a claim id has at most {MAX_ID} characters"),
            "name the claim by its id or a prefix of at least 6 digits",
        );
    }
    let visitor = v.clone();
    let r = app
        .blocking(move |app| {
            let l = app.read_ledger();
            Ok(build(&l, &visitor, &id, &q, echo.as_ref()))
        })
        .await;
    match r {
        Ok(r) => r,
        Err(e) => error_page(&v, e.status(), &e.0.error.message, &e.0.error.hint),
    }
}

fn code(e: &ErrorBody) -> StatusCode {
    StatusCode::from_u16(e.kind().map_or(500, |k| k.status())).unwrap_or(StatusCode::BAD_REQUEST)
}

fn build(l: &SharedLedger, v: &Visitor, id: &str, q: &ClaimQuery, echo: Option<&Echo>) -> Response {
    let of = |e: claims_core::Error| ErrorBody::of(&e);
    let claim = match l.resolve_claim(id).map_err(of) {
        Ok(c) => c,
        Err(e) => return error_page(v, code(&e), &e.error.message, &e.error.hint),
    };
    let h = match l.history(claim).map_err(of) {
        Ok(h) => h,
        Err(e) => return error_page(v, code(&e), &e.error.message, &e.error.hint),
    };
    let Some(a) = h.assertion().cloned() else {
        return error_page(
            v,
            StatusCode::NOT_FOUND,
            &format!("there is no claim {id} in the ledger"),
            "",
        );
    };
    let title = format!("Claim {}", claims_api::display::dashed_prefix(claim, 8));
    let view = Clock::zone(get(&q.tz)).map_err(of).and_then(|tz| {
        let clock = Clock::new(tz, Utc::now(), l.store());
        Ok((tz, clock.view(get(&q.at), get(&q.as_of)).map_err(of)?))
    });
    let (tz, view) = match view {
        Ok(x) => x,
        Err(e) => {
            let body = html! {
                p.kicker { "Claim in " a href={ "/stories/" (segment(&a.story)) } { (text(&a.story)) } }
                h1 { (text(&a.text)) }
                (problem(&e.error.message, &e.error.hint))
                (view_form(id, q, q.tz.as_deref().unwrap_or("")))
            };
            return Page {
                title,
                visitor: v,
                body,
                status: code(&e),
                live: None,
            }
            .respond();
        }
    };
    let digits = l
        .short_claim_digits(&[claim])
        .ok()
        .and_then(|m| m.get(&claim).copied())
        .unwrap_or(36);
    let standing = h.state(&view);
    let tz_name = tz.name().to_string();
    let status_code = echo.map_or(StatusCode::OK, |e| code(&e.error));
    let story_href = href(
        &format!("/stories/{}", segment(&a.story)),
        &[
            ("at", get(&q.at)),
            ("as_of", get(&q.as_of)),
            ("tz", get(&q.tz)),
        ],
    );
    let body = html! {
        p.kicker { "Claim in " a href=(story_href) { (text(&a.story)) } }
        h1 { (text(&a.text)) }
        p.lede {
            "By " strong { (text(&a.by)) } " · " (short_id(claim, digits))
            " · at " (when(&view.at, &tz)) " as known at " (when(&view.as_of, &tz)) " (" (tz_name) ")"
        }
        (view_form(id, q, &tz_name))
        (state_box(&h, &standing, &tz))
        (writer_forms(v, &h, &tz_name, echo, digits))
        section #events aria-labelledby="events-h" {
            h2 #events-h { "Every entry" }
            p.meta { "In the order the ledger recorded them, as known at " (when(&view.as_of, &tz)) ", each with how it stands at the time shown." }
            ol.events {
                @for r in entries(&h, &view) { (entry(r, &h, &view, &tz)) }
            }
        }
    };
    Page {
        title,
        visitor: v,
        body,
        status: status_code,
        live: Some((a.story.clone(), l.store().head().seq)),
    }
    .respond()
}

fn entries<'a>(h: &'a ClaimHistory, view: &View) -> Vec<&'a Record> {
    let mut all: Vec<&Record> = h.asserted.iter().chain(h.others.iter()).collect();
    all.sort_by_key(|r| r.seq);
    all.into_iter()
        .filter(|r| r.recorded_at <= view.as_of)
        .collect()
}

fn state_box(h: &ClaimHistory, standing: &Standing, tz: &Tz) -> Markup {
    html! {
        section #claim-state aria-labelledby="claim-state-h" {
            h2 #claim-state-h { "Status at the time shown" }
            @match standing {
                Standing::Present(st) => {
                    div.claims { div data-claim=(h.claim.to_string()) data-status=(st.status.as_str()) {
                        (status(Some(st.status))) " since " (when(&st.since, tz))
                        " · " (st.events) " event" @if st.events != 1 { "s" } " count"
                        @if !st.pending.is_empty() { " · " (st.pending.len()) " pending" }
                    } }
                }
                Standing::Pending => {
                    div.claims { div data-claim=(h.claim.to_string()) data-pending {
                        span.status.status-absent { "pending" } " its assertion possibly, not certainly, happened by then"
                    } }
                }
                Standing::Absent => { p { (status(None)) " its assertion does not count at the time shown." } }
            }
        }
    }
}

fn entry(r: &Record, h: &ClaimHistory, view: &View, tz: &Tz) -> Markup {
    let st = h.entry_standing(r, view);
    let class = match st {
        EntryStanding::Voided => "voided",
        EntryStanding::Unknown => "unknown",
        _ => "",
    };
    let (wording, reason, note, supersedes, target) = match &r.event.body {
        Body::Asserted(a) => (
            Some(&a.wording),
            None,
            None,
            a.supersedes.filter(|s| *s != h.claim),
            None,
        ),
        Body::FollowedUp(f) => (
            Some(&f.wording),
            f.reason.as_ref(),
            f.note.as_ref(),
            None,
            None,
        ),
        Body::Voided(v) => (None, Some(&v.reason), None, None, Some(v.target)),
    };
    // An assertion of another claim that supersedes this one.
    let replaced_by = match &r.event.body {
        Body::Asserted(a) if a.claim != h.claim => Some(a.claim),
        _ => None,
    };
    html! {
        li id={ "e-" (r.event.id) } class=(class) data-event=(r.event.id.to_string()) data-kind=(r.event.kind().as_str()) {
            div.claim-head {
                strong { (r.event.kind().as_str()) }
                @if let Some(by) = r.event.by() { span { "by " strong { (text(by)) } } }
                span.standing { (standing_name(st)) }
                code.id title=(r.event.id.to_string()) { (claims_api::display::dashed_prefix(r.event.id, 8)) }
            }
            dl {
                @if let Some(v) = r.event.valid() { dt { "When" } dd { (valid(v, tz)) } }
                @if let Some(c) = replaced_by {
                    dt { "Replaced by" } dd { a href={ "/claims/" (c) } { "claim " (claims_api::display::dashed_prefix(c, 8)) } }
                }
                @if let Some(s) = supersedes {
                    dt { "Supersedes" } dd { a href={ "/claims/" (s) } { "claim " (claims_api::display::dashed_prefix(s, 8)) } }
                }
                @if let Some(t) = target {
                    dt { "Voids" } dd { a href={ "#e-" (t) } { "event " (claims_api::display::dashed_prefix(t, 8)) } }
                }
                @if let Some(w) = wording {
                    @if let Some(quote) = &w.quote {
                        dt { "Quote" }
                        dd { blockquote lang=[w.lang.as_deref()] { (text(quote)) } @if let Some(lang) = &w.lang { small.meta { "language: " (text(lang)) } } }
                    }
                    @if let Some(tr) = &w.translation {
                        dt { "Translation" } dd { blockquote lang="en" { (text(tr)) } }
                    }
                    @if !w.via.is_empty() {
                        dt { "Via" }
                        dd { ol.via { @for o in &w.via { li { (text(o)) } } } }
                    }
                    @if let Some(s) = &w.source {
                        dt { "Source" }
                        dd {
                            @if s.starts_with("https://") || s.starts_with("http://") {
                                a href=(s) rel="noopener noreferrer" { (text(s)) }
                            } @else { (text(s)) }
                        }
                    }
                }
                @if let Some(reason) = reason { dt { "Reason" } dd { (text(reason)) } }
                @if let Some(n) = note { dt { "Note" } dd { (text(n)) } }
                dt { "Recorded" } dd { (when(&r.recorded_at, tz)) " · seq " (r.seq) }
                dt { "Entered by" }
                dd { @match &r.recorded_by { Some(n) => { span.recorded-by { (text(n)) } }, None => { span.meta { "a local append (no account)" } } } }
            }
        }
    }
}

fn view_form(id: &str, q: &ClaimQuery, tz: &str) -> Markup {
    let g = |x: &Option<String>| x.clone().unwrap_or_default();
    html! {
        form.view method="get" action={ "/claims/" (segment(id)) } aria-label="Choose the moment" {
            (field("at", "Valid time (at)", &g(&q.at), false, Some(QUERY_TIME_HELP), "view"))
            (field("as_of", "Recorded time (as of)", &g(&q.as_of), false, Some(QUERY_TIME_HELP), "view"))
            (zone_field(tz, "view"))
            div.field { button type="submit" { "Show" } }
        }
    }
}

fn writer_forms(
    v: &Visitor,
    h: &ClaimHistory,
    tz: &str,
    echo: Option<&Echo>,
    digits: usize,
) -> Markup {
    let Some(session) = v.session.as_ref().filter(|_| v.may_write()) else {
        return html! {};
    };
    let mut short = std::collections::HashMap::new();
    short.insert(h.claim, digits);
    let mut events: Vec<&Record> = h
        .asserted
        .iter()
        .chain(h.others.iter())
        .filter(|r| !matches!(r.event.body, Body::Voided(_)))
        .collect();
    events.sort_by_key(|r| r.seq);
    let choices: Vec<_> = events.iter().map(|r| event_choice(r, &short)).collect();
    let base = format!("/claims/{}", h.claim);
    html! {
        section #record aria-labelledby="record-h" {
            h2 #record-h { "Record what happened" }
            p.meta { "Entries are recorded by your account (" (session.account) ") and checked by the same rules as the CLI." }
            (forms::follow_up_form(&format!("{base}/follow-up"), None, &session.csrf, tz, echo))
            (forms::void_form(&format!("{base}/void"), &choices, &session.csrf, tz, echo))
        }
    }
}
