//! `GET /signin`, `POST /signin` (a token in, a session cookie out) and
//! `POST /signout`. The token is checked as a bearer token is (hashed,
//! compared in constant time with every active account's), and is never
//! written to a page, a cookie or a log: the cookie carries a random
//! session id ([`super::session`]).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use maud::html;
use serde::Deserialize;

use claims_core::account::authenticate;

use super::csrf;
use super::forms::{see_other, Fields};
use super::layout::{error_page, problem, Page};
use super::session::{cookie, random_hex, set_cookie, Visitor, COOKIE, LIFETIME};
use crate::app::App;

/// How long the sign-in form's token lasts.
const FORM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// `GET /signin`'s parameters.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SigninQuery {
    /// Where to go once signed in (a path of this server).
    next: Option<String>,
}

/// A path of this server to go to after signing in, or `/`: never another
/// site (`//host`, `/\host`, a scheme).
fn next_of(s: &str) -> &str {
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && !s.starts_with("/\\")
        && !s.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        s
    } else {
        "/"
    }
}

fn form(
    v: &Visitor,
    token: &str,
    next: &str,
    refusal: Option<(&str, &str)>,
    status: StatusCode,
) -> Response {
    let body = html! {
        p.kicker { "The desk" }
        h1 { "Sign in" }
        @if let Some((name, role)) = v.account() {
            p.notice { "You are signed in as " strong { (name) } " (" (role.as_str()) "). Signing in again replaces it." }
        }
        @if let Some((m, h)) = refusal { (problem(m, h)) }
        form.signin method="post" action="/signin" {
            input type="hidden" name=(csrf::FIELD) value=(token);
            input type="hidden" name="next" value=(next);
            div.field {
                label for="signin-token" { "Token " span.req aria-hidden="true" { "*" } }
                input #signin-token type="password" name="token" required autocomplete="off" spellcheck="false"
                    aria-describedby="signin-token-help" autofocus;
                small #signin-token-help { "The token `claims user add NAME --role ROLE` printed for you. It is checked once; the page then keeps a session, never the token." }
            }
            button type="submit" { "Sign in" }
        }
    };
    let mut r = Page {
        title: "Sign in".into(),
        visitor: v,
        body,
        status,
        live: None,
    }
    .respond();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(csrf::SIGNIN_COOKIE, token, FORM_LIFETIME, v.secure),
    );
    r
}

/// `GET /signin[?next=PATH]`.
pub(crate) async fn page(Extension(v): Extension<Visitor>, RawQuery(raw): RawQuery) -> Response {
    let q: SigninQuery = super::query(raw.as_deref()).unwrap_or_default();
    let next = q.next.unwrap_or_default();
    form(&v, &random_hex(32), next_of(&next), None, StatusCode::OK)
}

/// `POST /signin`: `token`, `next`, and the form's `csrf`.
pub(crate) async fn post(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let forbidden = |why: &str| {
        error_page(
            &v,
            StatusCode::FORBIDDEN,
            why,
            "open the sign-in page and send its form again",
        )
    };
    if !csrf::same_origin(&headers, v.secure) {
        return forbidden("the form was not sent from this server's own page");
    }
    let Ok(body) = body else {
        return forbidden("the form could not be read");
    };
    let fields = Fields::parse(&body);
    let expected = cookie(&headers, csrf::SIGNIN_COOKIE).unwrap_or("");
    if !csrf::same(expected, fields.get(csrf::FIELD)) {
        return forbidden("the form does not carry the sign-in page's token");
    }
    let next = next_of(fields.get("next")).to_string();
    let name = {
        let accounts = app.accounts();
        authenticate(&accounts, fields.get("token").trim()).map(|a| a.name.clone())
    };
    let Some(name) = name else {
        return form(
            &v,
            &random_hex(32),
            &next,
            Some((
                "the token names no active account",
                "use the token `claims user add` printed for you; an admin can add or revoke accounts",
            )),
            StatusCode::UNAUTHORIZED,
        );
    };
    if let Some(old) = &v.session {
        app.sessions().close(&old.id);
    }
    let s = app.sessions().open(&name);
    let mut r = see_other(&next);
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(COOKIE, &s.id, LIFETIME, v.secure),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(csrf::SIGNIN_COOKIE, "", std::time::Duration::ZERO, v.secure),
    );
    r
}

/// `POST /signout`: closes the session (its CSRF token needed).
pub(crate) async fn signout(
    State(app): State<App>,
    Extension(v): Extension<Visitor>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(s) = &v.session else {
        return see_other("/signin");
    };
    let fields = body.map(|b| Fields::parse(&b)).unwrap_or_default();
    if !csrf::same_origin(&headers, v.secure) || !csrf::same(&s.csrf, fields.get(csrf::FIELD)) {
        return error_page(
            &v,
            StatusCode::FORBIDDEN,
            "the form does not carry this session's token",
            "reload the page and send it again",
        );
    }
    app.sessions().close(&s.id);
    let mut r = see_other("/signin");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(COOKIE, "", std::time::Duration::ZERO, v.secure),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::next_of;

    #[test]
    fn sign_in_goes_on_only_to_this_server() {
        assert_eq!(next_of("/stories/x?at=1"), "/stories/x?at=1");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "",
            "stories",
        ] {
            assert_eq!(next_of(bad), "/", "{bad}");
        }
    }
}
