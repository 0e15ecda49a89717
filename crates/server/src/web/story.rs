//! `GET /stories/{slug}?at=T&as_of=R&tz=ZONE[&from=T1&to=T2[&recorded=on]][&audit=recorded]`:
//! a story's state at valid time T as the ledger knew it at recorded time R
//! (each defaulting to now, read exactly as `claims state --at/--as-of`
//! reads them, in the zone `tz`), the claims that are pending there, the
//! timeline `claims timeline` draws, a diff between two chosen times, and
//! the audit of every status change; for writers, the forms.
//!
//! In the state, each claim that counts is one element with
//! `data-claim="ID"` and `data-status="STATUS"`, each of its pending events
//! an element inside it with `data-pending`; each claim whose assertion is
//! pending is one element with `data-claim="ID"` and `data-pending` (and no
//! `data-status`): the same as `claims state --json`'s `claims`, their
//! `pending`, and the top-level `pending`.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use chrono::Utc;
use chrono_tz::Tz;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use claims_api::error::ErrorBody;
use claims_api::params::{Clock, DiffParams};
use claims_core::event::Body;
use claims_core::projection::{ClaimHistory, Standing, View};
use claims_core::query::{AuditOptions, Scope};
use claims_core::Record;

use super::forms::{self, ClaimChoice, Echo, EventChoice, Fields};
use super::layout::{
    error_page, field, href, problem, segment, short_id, status, text, trusted, valid, when, Page,
    QUERY_TIME_HELP,
};
use super::session::Visitor;
use super::{query, signin_first, ZONES};
use crate::app::{App, SharedLedger};

/// The page's parameters (each optional; empty means not given).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoryQuery {
    /// Valid time T.
    pub at: Option<String>,
    /// Recorded time R.
    pub as_of: Option<String>,
    /// The zone of times without an offset, and of the times shown.
    pub tz: Option<String>,
    /// The diff's first time.
    pub from: Option<String>,
    /// The diff's second time.
    pub to: Option<String>,
    /// Compare two recorded times instead (at T).
    pub recorded: Option<String>,
    /// `recorded`: the audit in the order the ledger learned it.
    pub audit: Option<String>,
}

impl StoryQuery {
    fn get(v: &Option<String>) -> Option<&str> {
        v.as_deref().filter(|s| !s.trim().is_empty())
    }
}

/// `GET /stories/{slug}`.
pub(crate) async fn page(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    Path(slug): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    if !v.may_read() {
        return signin_first(&format!("/stories/{}", segment(&slug)), raw.as_deref());
    }
    let q: StoryQuery = match query(raw.as_deref()) {
        Ok(q) => q,
        Err(message) => {
            return error_page(
                &v,
                StatusCode::BAD_REQUEST,
                &message,
                "the page takes at, as_of, tz, from, to, recorded and audit",
            )
        }
    };
    render(app, v, slug, q, None).await
}

/// The page again after a refused form, at now in the form's zone.
pub(crate) async fn again(
    app: App,
    v: Visitor,
    slug: String,
    fields: &Fields,
    echo: Echo,
) -> Response {
    let q = StoryQuery {
        tz: fields.opt("tz"),
        ..StoryQuery::default()
    };
    render(app, v, slug, q, Some(echo)).await
}

async fn render(app: App, v: Visitor, slug: String, q: StoryQuery, echo: Option<Echo>) -> Response {
    let visitor = v.clone();
    let r = app
        .blocking(move |app| {
            let l = app.read_ledger();
            Ok(build(&l, &visitor, &slug, &q, echo.as_ref()))
        })
        .await;
    match r {
        Ok(r) => r,
        Err(e) => error_page(&v, e.status(), &e.0.error.message, &e.0.error.hint),
    }
}

/// Everything the page shows of the story at its view.
struct Seen {
    view: View,
    tz: Tz,
    claims: Vec<ClaimHistory>,
    pending: Vec<ClaimHistory>,
    histories: Vec<ClaimHistory>,
    short: HashMap<Uuid, usize>,
}

fn build(
    l: &SharedLedger,
    v: &Visitor,
    slug: &str,
    q: &StoryQuery,
    echo: Option<&Echo>,
) -> Response {
    let mut status = echo.map_or(StatusCode::OK, |e| code(&e.error));
    let seen = see(l, slug, q);
    let seen = match seen {
        Ok(s) => s,
        Err(e)
            if e.kind()
                == Some(claims_api::error::Kind::Ledger(
                    claims_core::ErrorKind::NotFound,
                )) =>
        {
            return error_page(v, StatusCode::NOT_FOUND, &e.error.message, &e.error.hint)
        }
        Err(e) => {
            // A time or zone that does not read: the view form again, with
            // what was typed, and the CLI's sentence.
            let body = html! {
                p.kicker { "Story" }
                h1 { (text(slug)) }
                (problem(&e.error.message, &e.error.hint))
                (view_form(slug, q, q.tz.as_deref().unwrap_or("")))
            };
            return Page {
                title: slug.to_string(),
                visitor: v,
                body,
                status: code(&e),
                live: None,
            }
            .respond();
        }
    };
    let tz_name = seen.tz.name().to_string();
    let diff = diff(l, slug, q, &seen);
    if matches!(diff, Some(Err(_))) && status == StatusCode::OK {
        status = StatusCode::BAD_REQUEST;
    }
    let audit = audit(l, slug, q, &seen);
    let writer = writer_forms(v, slug, &seen, &tz_name, echo);
    let given = |x: &Option<String>| StoryQuery::get(x).is_some();
    let body = html! {
        p.kicker { "Story" }
        h1 { (text(slug)) }
        p.lede {
            "What stood at " strong { (when(&seen.view.at, &seen.tz)) }
            @if !given(&q.at) { " (now)" }
            ", as the ledger knew it at " strong { (when(&seen.view.as_of, &seen.tz)) }
            @if !given(&q.as_of) { " (now)" }
            ". Times in " (tz_name) "."
        }
        (view_form(slug, q, &tz_name))
        section #state aria-labelledby="state-h" {
            h2 #state-h { "State: " (seen.claims.len()) " claim" @if seen.claims.len() != 1 { "s" } " count" @if seen.claims.len() == 1 { "s" } }
            @if seen.claims.is_empty() {
                p { "No claim counts at that time." }
            }
            ul.claims {
                @for h in &seen.claims { (claim_item(h, &seen, q)) }
            }
        }
        @if !seen.pending.is_empty() {
            section #pending aria-labelledby="pending-h" {
                h2 #pending-h { "Possibly asserted by then, not certainly (pending)" }
                ul.claims {
                    @for h in &seen.pending { (pending_item(h, &seen, q)) }
                }
            }
        }
        (writer)
        section #timeline aria-labelledby="timeline-h" {
            h2 #timeline-h { "Timeline" }
            p.meta { "Each claim's status over valid time, as known at " (when(&seen.view.as_of, &seen.tz)) "; hatched: when an event possibly happened. The red line is the time shown above." }
            div.timeline { (trusted(timeline_svg(slug, &seen, given(&q.at)))) }
        }
        (diff_section(slug, q, &seen, diff))
        (audit_section(slug, q, &seen, audit))
    };
    Page {
        title: slug.to_string(),
        visitor: v,
        body,
        status,
        live: Some((slug.to_string(), l.store().head().seq)),
    }
    .respond()
}

fn code(e: &ErrorBody) -> StatusCode {
    StatusCode::from_u16(e.kind().map_or(500, |k| k.status())).unwrap_or(StatusCode::BAD_REQUEST)
}

fn see(l: &SharedLedger, slug: &str, q: &StoryQuery) -> Result<Seen, ErrorBody> {
    let of = |e: claims_core::Error| ErrorBody::of(&e);
    let tz = Clock::zone(StoryQuery::get(&q.tz)).map_err(of)?;
    let clock = Clock::new(tz, Utc::now(), l.store());
    let view = clock
        .view(StoryQuery::get(&q.at), StoryQuery::get(&q.as_of))
        .map_err(of)?;
    let scope = Scope {
        story: Some(slug.to_string()),
        claim: None,
    };
    let report = l.state(view, &scope).map_err(of)?;
    let histories = l.histories(&scope).map_err(of)?;
    let ids: Vec<Uuid> = histories.iter().map(|h| h.claim).collect();
    let short = l.short_claim_digits(&ids).map_err(of)?;
    Ok(Seen {
        view,
        tz,
        claims: report.claims,
        pending: report.pending,
        histories,
        short,
    })
}

impl Seen {
    fn digits(&self, id: Uuid) -> usize {
        self.short.get(&id).copied().unwrap_or(36)
    }
}

/// A link to a claim's page at the same view.
fn claim_href(id: Uuid, q: &StoryQuery) -> String {
    href(
        &format!("/claims/{id}"),
        &[
            ("at", StoryQuery::get(&q.at)),
            ("as_of", StoryQuery::get(&q.as_of)),
            ("tz", StoryQuery::get(&q.tz)),
        ],
    )
}

fn claim_item(h: &ClaimHistory, seen: &Seen, q: &StoryQuery) -> Markup {
    let (Some(a), Standing::Present(st)) = (h.assertion(), h.state(&seen.view)) else {
        return html! {};
    };
    html! {
        li data-claim=(h.claim.to_string()) data-status=(st.status.as_str()) {
            div.claim-head {
                (status(Some(st.status)))
                span.by { (text(&a.by)) }
                span.meta { "since " (when(&st.since, &seen.tz)) }
                span.meta { (st.events) " event" @if st.events != 1 { "s" } " count" }
                (short_id(h.claim, seen.digits(h.claim)))
            }
            p.claim-text { a href=(claim_href(h.claim, q)) { (text(&a.text)) } }
            @if !st.pending.is_empty() {
                ul.pending-events aria-label="Pending: possibly happened by then, not certainly" {
                    @for r in &st.pending { (pending_event(r, &seen.tz)) }
                }
            }
        }
    }
}

fn pending_event(r: &Record, tz: &Tz) -> Markup {
    html! {
        li data-pending data-event=(r.event.id.to_string()) data-kind=(r.event.kind().as_str()) {
            "pending: " strong { (r.event.kind().as_str()) }
            @if let Some(by) = r.event.by() { " by " (text(by)) }
            @if let Some(v) = r.event.valid() { ", " (valid(v, tz)) }
        }
    }
}

fn pending_item(h: &ClaimHistory, seen: &Seen, q: &StoryQuery) -> Markup {
    let Some(a) = h.assertion() else {
        return html! {};
    };
    html! {
        li data-claim=(h.claim.to_string()) data-pending {
            div.claim-head {
                span.status.status-absent { "pending" }
                span.by { (text(&a.by)) }
                span.meta { "asserted " (valid(&a.valid, &seen.tz)) }
                (short_id(h.claim, seen.digits(h.claim)))
            }
            p.claim-text { a href=(claim_href(h.claim, q)) { (text(&a.text)) } }
        }
    }
}

/// The GET form that chooses the view: its answer is a link.
fn view_form(slug: &str, q: &StoryQuery, tz: &str) -> Markup {
    let g = |x: &Option<String>| x.clone().unwrap_or_default();
    html! {
        form.view method="get" action={ "/stories/" (segment(slug)) } aria-label="Choose the moment" {
            (field("at", "Valid time (at): what stood then", &g(&q.at), false, Some(QUERY_TIME_HELP), "view"))
            (field("as_of", "Recorded time (as of): as known then", &g(&q.as_of), false, Some(QUERY_TIME_HELP), "view"))
            (zone_field(tz, "view"))
            @for (k, val) in [("from", &q.from), ("to", &q.to), ("recorded", &q.recorded), ("audit", &q.audit)] {
                @if let Some(val) = StoryQuery::get(val) { input type="hidden" name=(k) value=(val); }
            }
            div.field { button type="submit" { "Show" } }
        }
        p.presets { a href={ "/stories/" (segment(slug)) } { "Now" } " · every view is a link: copy the address to share it." }
    }
}

/// The time zone field, with a list of common zones (any IANA name works).
pub(crate) fn zone_field(tz: &str, prefix: &str) -> Markup {
    let id = format!("{prefix}-tz");
    let list = format!("{prefix}-zones");
    html! {
        div.field {
            label for=(id) { "Time zone" }
            input type="text" id=(id) name="tz" value=(tz) list=(list) autocomplete="off" aria-describedby={ (id) "-help" };
            small id={ (id) "-help" } { "An IANA name (Europe/Oslo, America/New_York); empty: UTC." }
            datalist id=(list) { @for z in ZONES { option value=(z) {} } }
        }
    }
}

fn timeline_svg(slug: &str, seen: &Seen, mark: bool) -> String {
    let mut opts = claims_render::timeline::Options::new(slug, seen.view.as_of);
    opts.tz = seen.tz;
    if mark {
        opts.marks.push(claims_render::timeline::Mark {
            at: seen.view.at,
            label: "shown".into(),
        });
    }
    let svg = claims_render::timeline::Timeline::new(&seen.histories, &opts).svg();
    // Inline in the page: no XML declaration, and the lanes' claim ids under
    // another name, so that `data-claim` marks the state's claims alone.
    svg.lines()
        .filter(|l| !l.starts_with("<?xml"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(" data-claim=\"", " data-lane=\"")
}

type DiffResult = Result<(String, String, Vec<claims_core::query::Change>), ErrorBody>;

fn diff(l: &SharedLedger, slug: &str, q: &StoryQuery, seen: &Seen) -> Option<DiffResult> {
    let (from, to) = (StoryQuery::get(&q.from), StoryQuery::get(&q.to));
    if from.is_none() && to.is_none() {
        return None;
    }
    let recorded = StoryQuery::get(&q.recorded).is_some();
    let p = DiffParams {
        from: from.map(str::to_string),
        to: to.map(str::to_string),
        recorded,
        at: if recorded {
            StoryQuery::get(&q.at).map(str::to_string)
        } else {
            None
        },
        as_of: if recorded {
            None
        } else {
            StoryQuery::get(&q.as_of).map(str::to_string)
        },
        story: Some(slug.to_string()),
        tz: Some(seen.tz.name().to_string()),
    };
    let clock = Clock::new(seen.tz, Utc::now(), l.store());
    Some(
        (|| {
            let v = p.views(&clock)?;
            let changes = l.diff(v.before, v.after, &p.scope())?;
            Ok((
                claims_api::display::time(&v.t1, &seen.tz),
                claims_api::display::time(&v.t2, &seen.tz),
                changes,
            ))
        })()
        .map_err(|e: claims_core::Error| ErrorBody::of(&e)),
    )
}

fn diff_section(slug: &str, q: &StoryQuery, seen: &Seen, d: Option<DiffResult>) -> Markup {
    let g = |x: &Option<String>| x.clone().unwrap_or_default();
    let recorded = StoryQuery::get(&q.recorded).is_some();
    html! {
        section #diff aria-labelledby="diff-h" {
            h2 #diff-h { "What changed between two times" }
            form.view method="get" action={ "/stories/" (segment(slug)) "#diff" } aria-label="Compare two times" {
                @for (k, val) in [("at", &q.at), ("as_of", &q.as_of), ("tz", &q.tz), ("audit", &q.audit)] {
                    @if let Some(val) = StoryQuery::get(val) { input type="hidden" name=(k) value=(val); }
                }
                (field("from", "From (T1)", &g(&q.from), true, Some(QUERY_TIME_HELP), "diff"))
                (field("to", "To (T2)", &g(&q.to), true, Some(QUERY_TIME_HELP), "diff"))
                div.field {
                    label for="diff-recorded" {
                        input #diff-recorded type="checkbox" name="recorded" value="on" checked[recorded];
                        " compare recorded times (what we knew then vs then), at the valid time above"
                    }
                }
                div.field { button type="submit" { "Compare" } }
            }
            @match d {
                None => { p.meta { "Choose two times to see the claims whose status or text differ (claims diff)." } }
                Some(Err(e)) => { (problem(&e.error.message, &e.error.hint)) }
                Some(Ok((t1, t2, changes))) => {
                    p { "From " strong { (t1) } " to " strong { (t2) } ": " (changes.len()) " change" @if changes.len() != 1 { "s" } "." }
                    @if !changes.is_empty() {
                        table {
                            thead { tr { th scope="col" { "Claim" } th scope="col" { "Text" } th scope="col" { "Before" } th scope="col" { "After" } } }
                            tbody {
                                @for c in &changes {
                                    tr {
                                        td { a href=(claim_href(c.claim, q)) { (short_id(c.claim, seen.digits(c.claim))) } }
                                        td { (text(&c.text)) }
                                        td { (status(c.before)) }
                                        td { (status(c.after)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn audit(
    l: &SharedLedger,
    slug: &str,
    q: &StoryQuery,
    seen: &Seen,
) -> Result<Vec<claims_core::query::AuditRow>, ErrorBody> {
    let opts = AuditOptions {
        recorded: StoryQuery::get(&q.audit) == Some("recorded"),
        at: seen.view.at,
        as_of: seen.view.as_of,
        from: None,
        to: None,
    };
    let scope = Scope {
        story: Some(slug.to_string()),
        claim: None,
    };
    l.audit(&scope, &opts).map_err(|e| ErrorBody::of(&e))
}

fn audit_section(
    slug: &str,
    q: &StoryQuery,
    seen: &Seen,
    rows: Result<Vec<claims_core::query::AuditRow>, ErrorBody>,
) -> Markup {
    let recorded = StoryQuery::get(&q.audit) == Some("recorded");
    let other = href(
        &format!("/stories/{}", segment(slug)),
        &[
            ("at", StoryQuery::get(&q.at)),
            ("as_of", StoryQuery::get(&q.as_of)),
            ("tz", StoryQuery::get(&q.tz)),
            ("from", StoryQuery::get(&q.from)),
            ("to", StoryQuery::get(&q.to)),
            ("recorded", StoryQuery::get(&q.recorded)),
            ("audit", if recorded { None } else { Some("recorded") }),
        ],
    ) + "#audit";
    html! {
        section #audit aria-labelledby="audit-h" {
            h2 #audit-h { "Audit: every status change" }
            p.meta {
                @if recorded {
                    "In the order the ledger learned them, voids included, at the valid time above. "
                    a href=(other) { "In valid-time order" }
                } @else {
                    "In valid-time order, as known at the recorded time above. "
                    a href=(other) { "In the order the ledger learned them" }
                }
            }
            @match rows {
                Err(e) => { (problem(&e.error.message, &e.error.hint)) }
                Ok(rows) => {
                    table {
                        thead { tr {
                            th.num scope="col" { "Seq" }
                            th scope="col" { "When (valid)" }
                            th scope="col" { "Claim" }
                            th scope="col" { "Event" }
                            th scope="col" { "By" }
                            th scope="col" { "Change" }
                            th scope="col" { "Recorded" }
                            th scope="col" { "Entered by" }
                        } }
                        tbody {
                            @for row in &rows {
                                @let r = &row.t.record;
                                tr {
                                    td.num { (r.seq) }
                                    td { @if let Some(v) = r.event.valid() { (valid(v, &seen.tz)) } @else { "—" } }
                                    td { a href=(claim_href(row.claim, q)) { (short_id(row.claim, seen.digits(row.claim))) } }
                                    td { (r.event.kind().as_str()) }
                                    td { @if let Some(by) = r.event.by() { (text(by)) } }
                                    td { (status(row.t.from)) " → " (status(row.t.to)) }
                                    td { (when(&r.recorded_at, &seen.tz)) }
                                    td { @match &r.recorded_by { Some(n) => { (text(n)) }, None => { span.meta { "local" } } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The forms a writer sees on the story page.
fn writer_forms(v: &Visitor, slug: &str, seen: &Seen, tz: &str, echo: Option<&Echo>) -> Markup {
    let Some(session) = v.session.as_ref().filter(|_| v.may_write()) else {
        return html! {};
    };
    let choices: Vec<ClaimChoice> = seen
        .histories
        .iter()
        .filter_map(|h| {
            h.assertion().map(|a| ClaimChoice {
                id: h.claim,
                short: claims_api::display::dashed_prefix(h.claim, seen.digits(h.claim)),
                text: a.text.clone(),
            })
        })
        .collect();
    let mut events: Vec<&Record> = seen
        .histories
        .iter()
        .flat_map(|h| h.asserted.iter().chain(h.others.iter()))
        .filter(|r| !matches!(r.event.body, Body::Voided(_)))
        .collect();
    events.sort_by_key(|r| r.seq);
    events.dedup_by_key(|r| r.seq);
    let events: Vec<EventChoice> = events
        .iter()
        .map(|r| event_choice(r, &seen.short))
        .collect();
    let base = format!("/stories/{}", segment(slug));
    html! {
        section #record aria-labelledby="record-h" {
            h2 #record-h { "Record what happened" }
            p.meta { "Entries are recorded by your account (" (session.account) ") and checked by the same rules as the CLI." }
            (forms::follow_up_form(&format!("{base}/follow-up"), Some(&choices), &session.csrf, tz, echo))
            (forms::assert_form(slug, &session.csrf, tz, echo))
            (forms::void_form(&format!("{base}/void"), &events, &session.csrf, tz, echo))
        }
    }
}

/// How a void form names an entry.
pub(crate) fn event_choice(r: &Record, short: &HashMap<Uuid, usize>) -> EventChoice {
    let claim = r
        .event
        .claim()
        .map(|c| claims_api::display::dashed_prefix(c, short.get(&c).copied().unwrap_or(8)))
        .unwrap_or_default();
    EventChoice {
        id: r.event.id,
        label: format!(
            "seq {} · {} · {} · claim {} · event {}",
            r.seq,
            r.event.kind().as_str(),
            forms::cut(r.event.by().unwrap_or(""), 40),
            claim,
            claims_api::display::dashed_prefix(r.event.id, 8)
        ),
    }
}
