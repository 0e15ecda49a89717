//! The error shape of the HTTP API, `{"error":{"kind":K,"message":M,"hint":H}}`,
//! and the status each kind is answered with (SPEC, "The newsroom server").
//! The server writes it from a core [`Error`]; the remote CLI reads it back
//! into one, so it prints the sentence a local command prints.

use serde::{Deserialize, Serialize};

use claims_core::error::{ErrorKind, Hint};
use claims_core::Error;

use crate::words::hint_words;

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, and what to do.
    pub error: ErrorFields,
}

/// The fields of an error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFields {
    /// A kind name ([`Kind`]).
    pub kind: String,
    /// One sentence: what was wrong.
    pub message: String,
    /// What to do (may be empty).
    #[serde(default)]
    pub hint: String,
}

/// Kinds of error answers: the core's, and the HTTP layer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// The core's kind.
    Ledger(ErrorKind),
    /// No token, or one that names no active account (401).
    Unauthorized,
    /// The account's role does not allow the request (403).
    Forbidden,
    /// The request body is larger than the server takes (413).
    TooLarge,
    /// The server has too much to do; try again (503).
    Busy,
    /// The request took longer than the server gives one (408).
    Timeout,
    /// No such route (404).
    NoRoute,
    /// The route does not take this method (405).
    Method,
}

const LEDGER_KINDS: [(ErrorKind, &str); 9] = [
    (ErrorKind::InvalidInput, "invalid_input"),
    (ErrorKind::NotFound, "not_found"),
    (ErrorKind::Ambiguous, "ambiguous"),
    (ErrorKind::Conflict, "conflict"),
    (ErrorKind::Locked, "locked"),
    (ErrorKind::Damaged, "damaged"),
    (ErrorKind::Verification, "verification"),
    (ErrorKind::Io, "io"),
    (ErrorKind::HeadMoved, "head_moved"),
];

const HTTP_KINDS: [(Kind, &str); 7] = [
    (Kind::Unauthorized, "unauthorized"),
    (Kind::Forbidden, "forbidden"),
    (Kind::TooLarge, "too_large"),
    (Kind::Busy, "busy"),
    (Kind::Timeout, "timeout"),
    (Kind::NoRoute, "no_route"),
    (Kind::Method, "method_not_allowed"),
];

impl Kind {
    /// The name written in `kind`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ledger(k) => LEDGER_KINDS
                .iter()
                .find(|(x, _)| *x == k)
                .map_or("error", |(_, n)| n),
            k => HTTP_KINDS
                .iter()
                .find(|(x, _)| *x == k)
                .map_or("error", |(_, n)| n),
        }
    }

    /// The kind a name names (`None`: a name this build does not know).
    pub fn from_name(name: &str) -> Option<Kind> {
        LEDGER_KINDS
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(k, _)| Kind::Ledger(*k))
            .or_else(|| HTTP_KINDS.iter().find(|(_, n)| *n == name).map(|(k, _)| *k))
    }

    /// The HTTP status it is answered with.
    pub fn status(self) -> u16 {
        match self {
            Kind::Ledger(k) => match k {
                ErrorKind::InvalidInput | ErrorKind::Ambiguous => 400,
                ErrorKind::NotFound => 404,
                ErrorKind::Conflict => 409,
                ErrorKind::Locked | ErrorKind::HeadMoved => 503,
                _ => 500,
            },
            Kind::Unauthorized => 401,
            Kind::Forbidden => 403,
            Kind::TooLarge => 413,
            Kind::Busy => 503,
            Kind::Timeout => 408,
            Kind::NoRoute => 404,
            Kind::Method => 405,
        }
    }

    /// The core's kind a client reports an answer of this kind as.
    pub fn ledger_kind(self) -> ErrorKind {
        match self {
            Kind::Ledger(k) => k,
            Kind::Unauthorized | Kind::Forbidden | Kind::Method => ErrorKind::InvalidInput,
            Kind::TooLarge => ErrorKind::InvalidInput,
            Kind::NoRoute => ErrorKind::NotFound,
            Kind::Busy | Kind::Timeout => ErrorKind::Locked,
        }
    }
}

impl ErrorBody {
    /// The answer for a core error: its message, and its hint in words.
    pub fn of(e: &Error) -> ErrorBody {
        ErrorBody::new(
            Kind::Ledger(e.kind()),
            e.message(),
            e.hint()
                .map(|h| hint_words(h).into_owned())
                .unwrap_or_default(),
        )
    }

    /// An answer of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>, hint: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorFields {
                kind: kind.name().to_string(),
                message: message.into(),
                hint: hint.into(),
            },
        }
    }

    /// The kind, when this build knows its name.
    pub fn kind(&self) -> Option<Kind> {
        Kind::from_name(&self.error.kind)
    }

    /// Back into a core error, as the remote CLI reports it.
    pub fn into_error(self) -> Error {
        let kind = self.kind().map_or(ErrorKind::Io, Kind::ledger_kind);
        let e = Error::new(kind, self.error.message);
        if self.error.hint.is_empty() {
            e
        } else {
            e.with_hint(Hint::Say(self.error.hint))
        }
    }

    /// The body's JSON (one line).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_named_and_read_back() {
        for (k, _) in LEDGER_KINDS {
            let kind = Kind::Ledger(k);
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
        for (k, _) in HTTP_KINDS {
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_name("no such kind"), None);
    }

    #[test]
    fn an_error_goes_over_the_wire_and_comes_back_as_it_was_said() {
        let e = Error::not_found("there is no claim 0190a3b2").with_hint(Hint::ListStories);
        let body = ErrorBody::of(&e);
        assert_eq!(body.kind().map(Kind::status), Some(404));
        let back: ErrorBody = serde_json::from_str(&body.to_json()).unwrap();
        let e2 = back.into_error();
        assert_eq!(e2.kind(), ErrorKind::NotFound);
        assert_eq!(e2.message(), e.message());
        assert_eq!(
            e2.hint().map(|h| hint_words(h).into_owned()),
            Some(hint_words(&Hint::ListStories).into_owned())
        );
    }
}
