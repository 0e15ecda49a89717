//! The writers' forms and what their POSTs do: assert (a new claim),
//! corroborate / dispute / refute / retract (one form, the kind chosen),
//! and void (an entry made in error). Each field is named as the CLI's
//! option; the values are checked and the event built by
//! [`claims_api::compose`], as `claims assert` and its siblings do, and
//! appended through the server's one writer with the account's name as
//! `recorded_by`, exactly as `POST /v1/events`. A refusal shows the form
//! again with what was typed and the sentence the CLI prints; a recorded
//! event answers 303 to the claim's page, at the new event.
//!
//! Required fields are marked `required`, but the forms are `novalidate`:
//! an empty field reaches the server, which answers with the CLI's own
//! sentence (`--by must not be empty or blank`), as for every refusal.
//!
//! Only a signed-in writer (or admin) sees the forms, and a POST needs the
//! session's CSRF token and this server's origin (else 403).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use uuid::Uuid;

use claims_api::compose::{follow_up_refusal, AssertInput, FollowUpInput, VoidInput, WordingInput};
use claims_api::error::ErrorBody;
use claims_api::params::Clock;
use claims_core::event::FollowUpKind;
use claims_core::{Batch, Error, Incoming};

use super::layout::{area, error_page, field, href, problem, segment, TIME_HELP};
use super::session::Visitor;
use super::{claim, csrf, story};
use crate::app::App;
use crate::error::ApiError;

/// A form's fields as posted (urlencoded), in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Reads an `application/x-www-form-urlencoded` body.
    pub(crate) fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The value of `k` (empty when absent).
    pub(crate) fn get(&self, k: &str) -> &str {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The value of `k`, `None` when absent or empty (an optional field
    /// left empty is an option not given).
    pub(crate) fn opt(&self, k: &str) -> Option<String> {
        Some(self.get(k))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// The lines of `k` (a repeatable option, one a line), empty lines
    /// left out.
    pub(crate) fn lines(&self, k: &str) -> Vec<String> {
        self.get(k)
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn wording(&self) -> WordingInput {
        WordingInput {
            quote: self.opt("quote"),
            lang: self.opt("lang"),
            translation: self.opt("translation"),
            via: self.lines("via"),
            source: self.opt("source"),
        }
    }
}

/// Which form a refusal is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// A new claim.
    Assert,
    /// Corroborate, dispute, refute or retract.
    FollowUp,
    /// Void an entry.
    Void,
}

/// A refused form, to show again: what was typed and why it was refused.
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    /// The form.
    pub which: Which,
    /// What was typed.
    pub fields: Fields,
    /// The refusal: the CLI's sentence and hint.
    pub error: ErrorBody,
}

impl Echo {
    fn of(&self, which: Which) -> Option<&Echo> {
        (self.which == which).then_some(self)
    }
}

/// What a form shows in its fields: what was typed, if refused, else blank.
fn typed<'a>(echo: Option<&'a Echo>, which: Which, k: &str) -> &'a str {
    echo.and_then(|e| e.of(which))
        .map_or("", |e| e.fields.get(k))
}

fn refusal(echo: Option<&Echo>, which: Which) -> Markup {
    match echo.and_then(|e| e.of(which)) {
        Some(e) => problem(&e.error.error.message, &e.error.error.hint),
        None => html! {},
    }
}

/// The four follow-up kinds as the form offers them.
const KINDS: [(&str, &str); 4] = [
    ("dispute", "Disputed: someone contested it"),
    (
        "corroborate",
        "Corroborated: someone other than the claimant confirmed it",
    ),
    ("refute", "Refuted: someone showed it false"),
    ("retract", "Retracted: the claimant's side withdrew it"),
];

fn kind_of(s: &str) -> Option<FollowUpKind> {
    Some(match s {
        "corroborate" => FollowUpKind::Corroborated,
        "dispute" => FollowUpKind::Disputed,
        "refute" => FollowUpKind::Refuted,
        "retract" => FollowUpKind::Retracted,
        _ => return None,
    })
}

fn hidden(csrf_token: &str, tz: &str) -> Markup {
    html! {
        input type="hidden" name=(csrf::FIELD) value=(csrf_token);
        input type="hidden" name="tz" value=(tz);
    }
}

/// The assert form (a new claim in `slug`).
pub(crate) fn assert_form(slug: &str, csrf_token: &str, tz: &str, echo: Option<&Echo>) -> Markup {
    let w = Which::Assert;
    let t = |k: &str| typed(echo, w, k);
    html! {
        form.writer #assert method="post" novalidate action={ "/stories/" (segment(slug)) "/assert" } {
            h3 { "Record a new claim" }
            (refusal(echo, w))
            (hidden(csrf_token, tz))
            div.grid {
                (field("by", "By (who made the claim)", t("by"), true, Some("--by"), "assert"))
                (field("at", "When it was made", t("at"), true, Some(TIME_HELP), "assert"))
                (field("said", "The source's wording of that time", t("said"), false, Some("--said, e.g. “fredag morgen, amerikansk tid”"), "assert"))
            }
            (area("text", "The claim, attributed to its claimant *", t("text"), Some("--text"), "assert"))
            div.grid {
                (field("quote", "Original-language quote", t("quote"), false, Some("--quote"), "assert"))
                (field("lang", "Quote's language tag", t("lang"), false, Some("--lang, e.g. nb"), "assert"))
                (field("translation", "English rendering", t("translation"), false, Some("--translation"), "assert"))
            }
            div.grid {
                (area("via", "Reporting chain (via)", t("via"), Some("One outlet a line, nearest to the claimant first (--via, repeatable)."), "assert"))
                (field("source", "Source (URL or title)", t("source"), false, Some("--source"), "assert"))
                (field("supersedes", "Supersedes (an earlier claim)", t("supersedes"), false, Some("--supersedes: its id or a prefix of 6+ digits"), "assert"))
            }
            button type="submit" { "Record the claim" }
        }
    }
}

/// A choice of claim for a form on the story page: its id, shown id and text.
pub(crate) struct ClaimChoice {
    /// The claim.
    pub id: Uuid,
    /// Its shortest unique prefix.
    pub short: String,
    /// Its text.
    pub text: String,
}

/// The follow-up form: on a claim's page (`claim` fixed) or on the story's
/// (`choices` to pick from).
pub(crate) fn follow_up_form(
    action: &str,
    choices: Option<&[ClaimChoice]>,
    csrf_token: &str,
    tz: &str,
    echo: Option<&Echo>,
) -> Markup {
    let w = Which::FollowUp;
    let t = |k: &str| typed(echo, w, k);
    let kind = match t("kind") {
        "" => "dispute",
        k => k,
    };
    html! {
        form.writer #follow-up method="post" novalidate action=(action) {
            h3 { "Record what happened to " @if choices.is_some() { "a claim" } @else { "this claim" } }
            (refusal(echo, w))
            (hidden(csrf_token, tz))
            div.grid {
                @if let Some(choices) = choices {
                    div.field {
                        label for="follow-up-claim" { "Claim " span.req aria-hidden="true" { "*" } }
                        select #follow-up-claim name="claim" required {
                            @for c in choices {
                                @let id = c.id.to_string();
                                option value=(id) selected[t("claim") == id] {
                                    (c.short) " — " (super::layout::text(&cut(&c.text, 90)))
                                }
                            }
                        }
                    }
                }
                div.field {
                    label for="follow-up-kind" { "What happened " span.req aria-hidden="true" { "*" } }
                    select #follow-up-kind name="kind" required {
                        @for (k, words) in KINDS {
                            option value=(k) selected[kind == k] { (words) }
                        }
                    }
                }
                (field("by", "By (who made the statement)", t("by"), true, Some("--by"), "follow-up"))
                (field("at", "When it happened", t("at"), true, Some(TIME_HELP), "follow-up"))
                (field("said", "The source's wording of that time", t("said"), false, Some("--said"), "follow-up"))
            }
            div.grid {
                (area("reason", "Reason (a note for a corroboration)", t("reason"), Some("--reason"), "follow-up"))
                (area("via", "Reporting chain (via)", t("via"), Some("One outlet a line, nearest to the claimant first (--via, repeatable)."), "follow-up"))
                (field("source", "Source (URL or title)", t("source"), false, Some("--source"), "follow-up"))
            }
            button type="submit" { "Record the event" }
        }
    }
}

/// An entry a void form offers.
pub(crate) struct EventChoice {
    /// The event.
    pub id: Uuid,
    /// What the choice says.
    pub label: String,
}

/// The void form.
pub(crate) fn void_form(
    action: &str,
    choices: &[EventChoice],
    csrf_token: &str,
    tz: &str,
    echo: Option<&Echo>,
) -> Markup {
    let w = Which::Void;
    let t = |k: &str| typed(echo, w, k);
    html! {
        form.writer #void method="post" novalidate action=(action) {
            h3 { "Void an entry made in error" }
            p.meta { "Our mistake, not the world's: the entry stays in the log, and stops counting from now on." }
            (refusal(echo, w))
            (hidden(csrf_token, tz))
            div.grid {
                div.field {
                    label for="void-event" { "Entry " span.req aria-hidden="true" { "*" } }
                    select #void-event name="event" required {
                        @for c in choices {
                            @let id = c.id.to_string();
                            option value=(id) selected[t("event") == id] { (super::layout::text(&c.label)) }
                        }
                    }
                }
                (area("reason", "Why it was a mistake *", t("reason"), Some("--reason"), "void"))
            }
            button type="submit" { "Void the entry" }
        }
    }
}

/// `s` cut to `n` characters, with an ellipsis.
pub(crate) fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// The refusal of a POST that is not a signed-in writer's own form: 403.
fn refused(v: &Visitor, why: &str) -> Response {
    error_page(
        v,
        StatusCode::FORBIDDEN,
        why,
        "sign in as a writer and use the forms on the pages",
    )
}

/// The checks every form POST passes first: a writer signed in, this
/// server's origin, and the session's CSRF token. The fields, or the 403.
fn admit(
    v: &Visitor,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Fields, Box<Response>> {
    let Some(session) = v.session.as_ref().filter(|_| v.may_write()) else {
        return Err(Box::new(refused(
            v,
            "only a writer signed in on this page may record events",
        )));
    };
    if !csrf::same_origin(headers, v.secure) {
        return Err(Box::new(refused(
            v,
            "the form was not sent from this server's own page",
        )));
    }
    let body = body.map_err(|_| Box::new(refused(v, "the form could not be read")))?;
    let fields = Fields::parse(&body);
    if !csrf::same(&session.csrf, fields.get(csrf::FIELD)) {
        return Err(Box::new(refused(
            v,
            "the form does not carry this session's token; reload the page and send it again",
        )));
    }
    Ok(fields)
}

/// 303 to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Appends `event` as the visitor, through the server's writer; a refusal
/// by the append rules is said through `say`.
async fn append(
    app: &App,
    v: &Visitor,
    event: claims_core::Event,
    say: fn(Error) -> Error,
) -> Result<(), ErrorBody> {
    let batch = Batch {
        items: vec![Incoming { line: None, event }],
        recorded_by: v.caller.recorded_by(),
    };
    match app.writer().append(batch).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(ErrorBody::of(&say(e))),
        Err(ApiError(body)) => Err(body),
    }
}

fn body_of(e: &Error) -> ErrorBody {
    ErrorBody::of(e)
}

/// The zone a form's `tz` names (default UTC), and its name.
fn zone(fields: &Fields) -> Result<chrono_tz::Tz, ErrorBody> {
    Clock::zone(fields.opt("tz").as_deref()).map_err(|e| body_of(&e))
}

/// Where a recorded event is shown: its claim's page, at the event.
fn shown_at(claim: Uuid, event: Uuid, tz: &Fields) -> String {
    format!(
        "{}#e-{}",
        href(
            &format!("/claims/{claim}"),
            &[("tz", tz.opt("tz").as_deref())]
        ),
        event
    )
}

/// `POST /stories/{slug}/assert`.
pub(crate) async fn post_assert(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let fields = match admit(&v, &headers, body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let result = async {
        let tz = zone(&fields)?;
        let checked = AssertInput {
            story: slug.clone(),
            by: fields.get("by").to_string(),
            text: fields.get("text").to_string(),
            at: fields.get("at").to_string(),
            said: fields.opt("said"),
            wording: fields.wording(),
            supersedes: fields.opt("supersedes"),
        }
        .check(&tz)
        .map_err(|e| body_of(&e))?;
        let (claim, id) = (Uuid::new_v4(), Uuid::new_v4());
        let event = app
            .blocking(move |app| {
                let l = app.read_ledger();
                Ok(checked.event(claim, id, |p| l.resolve_claim(p)))
            })
            .await
            .map_err(|ApiError(b)| b)?
            .map_err(|e| body_of(&e))?;
        append(&app, &v, event, |e| e).await?;
        Ok::<_, ErrorBody>(shown_at(claim, id, &fields))
    }
    .await;
    match result {
        Ok(to) => see_other(&to),
        Err(error) => {
            let echo = Echo {
                which: Which::Assert,
                fields: fields.clone(),
                error,
            };
            story::again(app, v, slug, &fields, echo).await
        }
    }
}

/// What a follow-up form posted about, and where a refusal is shown.
enum On {
    Story(String),
    Claim(String),
}

async fn follow_up(
    app: App,
    v: Visitor,
    on: On,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let fields = match admit(&v, &headers, body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let claim_ref = match &on {
        On::Story(_) => fields.get("claim").to_string(),
        On::Claim(id) => id.clone(),
    };
    let result = async {
        let tz = zone(&fields)?;
        let kind = kind_of(fields.get("kind")).ok_or_else(|| {
            body_of(&Error::invalid(
                "choose what happened: corroborate, dispute, refute or retract",
            ))
        })?;
        let checked = FollowUpInput {
            claim: claim_ref,
            by: fields.get("by").to_string(),
            at: fields.get("at").to_string(),
            said: fields.opt("said"),
            reason: fields.opt("reason"),
            wording: fields.wording(),
        }
        .check(&tz)
        .map_err(|e| body_of(&e))?;
        let prefix = checked.claim.clone();
        let claim = app
            .blocking(move |app| Ok(app.read_ledger().resolve_claim(&prefix)))
            .await
            .map_err(|ApiError(b)| b)?
            .map_err(|e| body_of(&e))?;
        let id = Uuid::new_v4();
        append(&app, &v, checked.event(kind, claim, id), follow_up_refusal).await?;
        Ok::<_, ErrorBody>(shown_at(claim, id, &fields))
    }
    .await;
    match result {
        Ok(to) => see_other(&to),
        Err(error) => {
            let echo = Echo {
                which: Which::FollowUp,
                fields: fields.clone(),
                error,
            };
            match on {
                On::Story(slug) => story::again(app, v, slug, &fields, echo).await,
                On::Claim(id) => claim::again(app, v, id, &fields, echo).await,
            }
        }
    }
}

async fn void(
    app: App,
    v: Visitor,
    on: On,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let fields = match admit(&v, &headers, body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let result = async {
        zone(&fields)?;
        let checked = VoidInput {
            event: fields.get("event").to_string(),
            reason: fields.get("reason").to_string(),
        }
        .check()
        .map_err(|e| body_of(&e))?;
        let prefix = checked.event.clone();
        let (target, claim) = app
            .blocking(move |app| {
                let l = app.read_ledger();
                Ok(l.resolve_event(&prefix).and_then(|t| {
                    let claim = l.event(t)?.and_then(|r| r.event.claim());
                    Ok((t, claim))
                }))
            })
            .await
            .map_err(|ApiError(b)| b)?
            .map_err(|e| body_of(&e))?;
        let id = Uuid::new_v4();
        append(&app, &v, checked.event(target, id), |e| e).await?;
        Ok::<_, ErrorBody>(match claim {
            Some(c) => shown_at(c, id, &fields),
            None => "/".to_string(),
        })
    }
    .await;
    match result {
        Ok(to) => see_other(&to),
        Err(error) => {
            let echo = Echo {
                which: Which::Void,
                fields: fields.clone(),
                error,
            };
            match on {
                On::Story(slug) => story::again(app, v, slug, &fields, echo).await,
                On::Claim(id) => claim::again(app, v, id, &fields, echo).await,
            }
        }
    }
}

/// `POST /stories/{slug}/follow-up`: the claim chosen in the form.
pub(crate) async fn post_story_follow_up(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    follow_up(app, v, On::Story(slug), headers, body).await
}

/// `POST /claims/{id}/follow-up`.
pub(crate) async fn post_claim_follow_up(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    follow_up(app, v, On::Claim(id), headers, body).await
}

/// `POST /stories/{slug}/void`.
pub(crate) async fn post_story_void(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    void(app, v, On::Story(slug), headers, body).await
}

/// `POST /claims/{id}/void`.
pub(crate) async fn post_claim_void(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    void(app, v, On::Claim(id), headers, body).await
}
