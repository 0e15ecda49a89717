//! Cross-site request forgery: every POST form carries its session's token
//! (a hidden `csrf` field), compared in constant time, and the request must
//! come from the server's own origin (`Origin`, or else `Referer`, naming
//! this scheme and host). A POST that fails either is refused with 403.
//! The sign-in form, before any session, carries the token of a short-lived
//! `claims_signin` cookie instead (double submit).

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

/// The hidden field every form carries.
pub(crate) const FIELD: &str = "csrf";

/// The cookie the sign-in form's token is also in.
pub(crate) const SIGNIN_COOKIE: &str = "claims_signin";

/// Whether `presented` is `expected`, in time that depends on neither.
pub(crate) fn same(expected: &str, presented: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    // Lengths are public (both are 64 hex digits when well formed).
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// Whether the request comes from this server's own pages: its `Origin`
/// (or, without one, its `Referer`) is `scheme://host` of this request.
pub(crate) fn same_origin(headers: &HeaderMap, secure: bool) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let ours = format!("{}://{host}", if secure { "https" } else { "http" });
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(|o| o == ours);
    }
    match headers.get(header::REFERER).and_then(|r| r.to_str().ok()) {
        Some(r) => r == ours || r.starts_with(&format!("{ours}/")),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn tokens_must_match_whole() {
        assert!(same("abcd", "abcd"));
        assert!(!same("abcd", "abce"));
        assert!(!same("abcd", "abc"));
        assert!(!same("", ""));
    }

    #[test]
    fn only_this_origin_may_post() {
        let ok = headers(&[
            ("host", "127.0.0.1:8421"),
            ("origin", "http://127.0.0.1:8421"),
        ]);
        assert!(same_origin(&ok, false));
        assert!(!same_origin(&ok, true));
        let evil = headers(&[
            ("host", "127.0.0.1:8421"),
            ("origin", "http://evil.example"),
        ]);
        assert!(!same_origin(&evil, false));
        let referer = headers(&[
            ("host", "127.0.0.1:8421"),
            ("referer", "http://127.0.0.1:8421/stories/x"),
        ]);
        assert!(same_origin(&referer, false));
        let lookalike = headers(&[
            ("host", "127.0.0.1:8421"),
            ("referer", "http://127.0.0.1:84210/"),
        ]);
        assert!(!same_origin(&lookalike, false));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8421")]), false));
    }
}
