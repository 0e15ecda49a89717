//! The page every view is written into (head, the desk's bar with who is
//! signed in, the main column, the footer), the pieces every page shows
//! (statuses, times, ids, ledger text) and the error page. Everything is
//! written with maud, which escapes every value it is given; ledger text
//! also has its control characters shown escaped, as the CLI shows them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use uuid::Uuid;

use claims_api::display;
use claims_core::projection::Status;
use claims_core::time::{fmt_time, Time, Valid};

use super::csrf;
use super::session::Visitor;

/// A page to send.
pub(crate) struct Page<'a> {
    /// The `<title>` and the first heading's words.
    pub title: String,
    /// Who is looking.
    pub visitor: &'a Visitor,
    /// The main column.
    pub body: Markup,
    /// The answer's status.
    pub status: StatusCode,
    /// A story whose new entries the page's script may announce, and the
    /// log's head when the page was drawn.
    pub live: Option<(String, u64)>,
}

impl Page<'_> {
    /// The whole HTML document as an answer.
    pub(crate) fn respond(self) -> Response {
        let doc = html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · claims desk" }
                    link rel="stylesheet" href=(super::assets::CSS_PATH);
                    link rel="icon" href=(super::assets::ICON_PATH) type="image/svg+xml";
                    @if self.live.is_some() {
                        script src=(super::assets::JS_PATH) defer {}
                    }
                }
                body data-live-story=[self.live.as_ref().map(|l| l.0.as_str())]
                    data-head=[self.live.as_ref().map(|l| l.1)] {
                    a.skip href="#main" { "Skip to content" }
                    (bar(self.visitor))
                    main #main tabindex="-1" {
                        (self.body)
                    }
                    footer.site {
                        p {
                            "claims — an event-sourced, hash-chained ledger of the claims in news stories. "
                            "Times are shown in the zone chosen on the page; every view is a link."
                        }
                    }
                }
            }
        };
        let mut r = (self.status, doc.into_string()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    }
}

/// The desk's bar: the name, the stories, and who is signed in.
fn bar(v: &Visitor) -> Markup {
    html! {
        header.bar {
            a.brand href="/" { span.mark aria-hidden="true" { "¶" } " claims " span.desk { "desk" } }
            nav aria-label="Site" {
                a href="/" { "Stories" }
            }
            div.who {
                @if let Some((name, role)) = v.account() {
                    span { "Signed in as " strong { (name) } " (" (role.as_str()) ")" }
                    @if let Some(s) = &v.session {
                        form.inline method="post" action="/signout" {
                            input type="hidden" name=(csrf::FIELD) value=(s.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                } @else {
                    a href="/signin" { "Sign in" }
                }
            }
        }
    }
}

/// An error page: the sentence the CLI prints, and its hint.
pub(crate) fn error_page(v: &Visitor, status: StatusCode, message: &str, hint: &str) -> Response {
    Page {
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        visitor: v,
        body: html! {
            h1 { (status.canonical_reason().unwrap_or("Error")) }
            (problem(message, hint))
            p { a href="/" { "Back to the stories" } }
        },
        status,
        live: None,
    }
    .respond()
}

/// A refusal shown on a page: the CLI's sentence and what to do.
pub(crate) fn problem(message: &str, hint: &str) -> Markup {
    html! {
        div.problem role="alert" {
            p.message { strong { "Error: " } span.sentence { (text(message)) } }
            @if !hint.is_empty() {
                p.hint { span.sentence-hint { (text(hint)) } }
            }
        }
    }
}

/// Ledger text as people read it: control characters shown escaped.
pub(crate) fn text(s: &str) -> String {
    claims_render::clean(s).into_owned()
}

/// A status, coloured as the timeline colours it.
pub(crate) fn status(s: Option<Status>) -> Markup {
    match s {
        Some(s) => html! { span class={ "status status-" (s.as_str()) } { (s.as_str()) } },
        None => html! { span.status.status-absent { "absent" } },
    }
}

/// A time in the page's zone, with its UTC value for machines.
pub(crate) fn when(t: &Time, tz: &Tz) -> Markup {
    html! { time datetime=(fmt_time(t)) { (display::time(t, tz)) } }
}

/// A valid time: one instant or `from – to`, and the source's wording.
pub(crate) fn valid(v: &Valid, tz: &Tz) -> Markup {
    html! {
        span.valid {
            (when(&v.from, tz))
            @if v.from != v.to { " – " (when(&v.to, tz)) }
            @if let Some(w) = &v.text { " " q.wording { (text(w)) } }
        }
    }
}

/// An id as the CLI shows it: its shortest unique prefix (`digits` hex
/// digits), the whole id in the title.
pub(crate) fn short_id(id: Uuid, digits: usize) -> Markup {
    html! { code.id title=(id.to_string()) { (display::dashed_prefix(id, digits)) } }
}

/// `path?k=v&…` with the given parameters (those without a value left out).
pub(crate) fn href(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in params {
        if let Some(v) = v {
            q.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", q.finish())
    } else {
        path.to_string()
    }
}

/// A path segment, percent-encoded.
pub(crate) fn segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Markup already written and escaped by its producer (the timeline SVG).
pub(crate) fn trusted(s: String) -> PreEscaped<String> {
    PreEscaped(s)
}

/// A text input with its label; `value` is what was typed.
pub(crate) fn field(
    name: &str,
    label: &str,
    value: &str,
    required: bool,
    help: Option<&str>,
    id_prefix: &str,
) -> Markup {
    let id = format!("{id_prefix}-{name}");
    let help_id = format!("{id}-help");
    html! {
        div.field {
            label for=(id) { (label) @if required { " " span.req aria-hidden="true" { "*" } } }
            input type="text" id=(id) name=(name) value=(value) required[required]
                aria-describedby=[help.map(|_| help_id.as_str())] autocomplete="off";
            @if let Some(h) = help { small id=(help_id) { (h) } }
        }
    }
}

/// A text area with its label.
pub(crate) fn area(
    name: &str,
    label: &str,
    value: &str,
    help: Option<&str>,
    id_prefix: &str,
) -> Markup {
    let id = format!("{id_prefix}-{name}");
    let help_id = format!("{id}-help");
    html! {
        div.field {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows="2" aria-describedby=[help.map(|_| help_id.as_str())] { (value) }
            @if let Some(h) = help { small id=(help_id) { (h) } }
        }
    }
}

/// The words under a time field: the forms the CLI reads.
pub(crate) const TIME_HELP: &str = "As the CLI reads --at: RFC 3339 (2020-07-10T15:00:00-04:00), a date-time in the page's zone (2020-07-10T15:00), a date (the whole day) or an interval A/B.";

/// The words under a query time field.
pub(crate) const QUERY_TIME_HELP: &str =
    "Empty: now. RFC 3339, a date-time in the zone below, or a date (the end of that day).";
