//! The one place errors become words: `error: <message>; <hint>` on one line.
//! The core gives a typed [`Hint`]; here it is said in the command line's
//! terms (its commands and options).

use claims_core::Error;

/// The error as the one line `claims` prints to stderr.
pub fn error_line(e: &Error) -> String {
    // One line, whatever the user's input held.
    let msg = one_line(e.message().trim_end_matches('.'));
    match e.hint().map(hint_words).filter(|h| !h.is_empty()) {
        Some(h) => format!("error: {msg}; {}", one_line(&h)),
        None => format!("error: {msg}"),
    }
}

/// One line, with every control character shown escaped (the message may
/// quote the user's input or the ledger's text).
fn one_line(s: &str) -> String {
    super::render::clean(s).into_owned()
}

pub use claims_api::words::hint_words;
