//! Errors: every failure carries a kind (what went wrong, for code), a message
//! (one sentence for the user) and an optional hint (what to do about it).

use std::fmt;

/// What kind of failure an [`Error`] is. Callers match on this, never on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input (an event, a time, an option) breaks a rule; nothing was written.
    InvalidInput,
    /// An id, prefix or file does not name anything that exists.
    NotFound,
    /// An id prefix matches more than one thing.
    Ambiguous,
    /// The input contradicts what the ledger already holds (e.g. a reused id).
    Conflict,
    /// Another process holds the ledger.
    Locked,
    /// The ledger's files are damaged, foreign, or of an unknown format version.
    Damaged,
    /// The hash chain does not verify.
    Verification,
    /// The operating system refused a read or write.
    Io,
}

/// The one error type of the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a one-sentence `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Shorthand for [`ErrorKind::InvalidInput`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::Damaged`].
    pub fn damaged(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Damaged, message)
    }

    /// Shorthand for an I/O failure while doing `what`.
    pub fn io(what: impl fmt::Display, err: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Io, format!("{what} failed: {err}"))
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The one-sentence message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do about it, if the library knows.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Prefixes the message with where it happened (e.g. `line 3`).
    pub fn context(mut self, at: impl fmt::Display) -> Self {
        self.message = format!("{at}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
