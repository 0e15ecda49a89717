//! Errors: every failure carries a kind (what went wrong, for code), a message
//! (one sentence for the user, in the domain's words), typed details where code
//! needs them ([`Detail`]), a typed remedy ([`Hint`]) that the front end turns
//! into its own words, and the underlying cause as [`std::error::Error::source`].
//!
//! The core names no command, option or program: a hint that needs one (run a
//! verification, restore from an export, name another ledger) is a [`Hint`]
//! variant, and the command line says it in its words (`src/cli/report.rs`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::store::Head;

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
    /// Another writer moved the log's head between the read and the commit
    /// ([`Detail::HeadMoved`]); nothing was written. The ledger retries.
    HeadMoved,
}

/// Typed facts about a failure, for code that must act on it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Detail {
    /// Nothing beyond the kind and the message.
    #[default]
    None,
    /// `Store::commit` was given a head that is not the store's: the log's
    /// head is `actual`.
    HeadMoved {
        /// The head the commit was sealed against.
        expected: Head,
        /// The store's head when the commit was refused.
        actual: Head,
    },
    /// The ledger is held by another process.
    Locked {
        /// The ledger's location.
        path: PathBuf,
        /// How long the open waited, in milliseconds.
        waited_ms: u64,
    },
    /// The ledger was written by a newer format version than this build reads.
    NewerFormat {
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// There is no ledger at `path`.
    NoLedger {
        /// Where one was looked for.
        path: PathBuf,
    },
    /// The operating system's error kind.
    Io {
        /// As `std::io::Error::kind` gave it.
        kind: std::io::ErrorKind,
    },
    /// Verification failed at this seq.
    BadSeq {
        /// The first seq that does not hold.
        seq: u64,
    },
}

/// What the user can do about a failure. The core states the remedy; the
/// front end (the command line, a server) says it in its own words, naming
/// its own commands and options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// Advice in the domain's words that names no command, option or program.
    Say(String),
    /// Name an existing ledger, or a new location to create one.
    NameLedger,
    /// Name the ledger's directory (not a file in it), or a new location.
    NameLedgerDirectory,
    /// Record a claim or load events first (which creates the ledger), or name another ledger.
    CreateLedger,
    /// The files are damaged: restore the ledger from an export into a new ledger.
    RestoreIntoNewLedger,
    /// The files may be damaged: restore the ledger from an export.
    RestoreFromExport,
    /// Run a verification to find the first bad entry.
    Verify,
    /// Run a verification, and restore from an export if it fails.
    VerifyThenRestore,
    /// An index disagrees with a log that verifies: export and import rebuild it.
    RebuildIndexes,
    /// Verify; export and import rebuild the indexes.
    VerifyThenRebuildIndexes,
    /// Open the ledger again: opening recovers to the last commit.
    Reopen,
    /// Another process holds the ledger: try again when it has finished.
    TryAgainLater,
    /// Upgrade this program, or export with the newer version and import here.
    NewerFormat,
    /// Upgrade this program to the version that wrote this data.
    UpgradeProgram,
    /// Import into an empty (new) ledger.
    ImportIntoEmptyLedger,
    /// An import takes a whole export, not a filtered one.
    ImportWholeExport,
    /// List the existing ids of this kind of thing (`"claim"`, `"event"`).
    ListIds(&'static str),
    /// List the existing stories.
    ListStories,
    /// The time forms the parser takes.
    TimeForms,
    /// The disk is full: free space and run the command again.
    FreeSpace,
    /// Recorded times lie in the future: check the clock that wrote them, or
    /// accept them explicitly.
    AcceptFutureTimes,
}

impl From<&str> for Hint {
    fn from(s: &str) -> Self {
        Hint::Say(s.to_string())
    }
}

impl From<String> for Hint {
    fn from(s: String) -> Self {
        Hint::Say(s)
    }
}

/// The one error type of the library (boxed: a `Result` stays small).
#[derive(Clone)]
pub struct Error(Box<Inner>);

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    hint: Option<Hint>,
    detail: Detail,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a one-sentence `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            hint: None,
            detail: Detail::None,
            source: None,
        }))
    }

    /// Adds what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<Hint>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Adds typed facts about it.
    pub fn with_detail(mut self, detail: Detail) -> Self {
        self.0.detail = detail;
        self
    }

    /// Adds the error that caused it.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Arc::new(source));
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

    /// An I/O failure while doing `what`; keeps `err` as the source and its
    /// kind as [`Detail::Io`].
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        let kind = err.kind();
        let e = Self::new(ErrorKind::Io, format!("{what} failed: {err}"))
            .with_detail(Detail::Io { kind })
            .with_source(err);
        if kind == std::io::ErrorKind::StorageFull {
            e.with_hint(Hint::FreeSpace)
        } else {
            e
        }
    }

    /// A commit sealed against `expected` found the log's head at `actual`.
    pub fn head_moved(expected: Head, actual: Head) -> Self {
        Self::new(
            ErrorKind::HeadMoved,
            format!(
                "another writer appended to the log (its head is now seq {}, not {})",
                actual.seq, expected.seq
            ),
        )
        .with_detail(Detail::HeadMoved { expected, actual })
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The one-sentence message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// What to do about it, if the library knows.
    pub fn hint(&self) -> Option<&Hint> {
        self.0.hint.as_ref()
    }

    /// Typed facts about it.
    pub fn detail(&self) -> &Detail {
        &self.0.detail
    }

    /// Prefixes the message with where it happened (e.g. `line 3`).
    pub fn context(mut self, at: impl fmt::Display) -> Self {
        self.0.message = format!("{at}: {}", self.0.message);
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        let e = &self.0;
        d.field("kind", &e.kind)
            .field("message", &e.message)
            .field("hint", &e.hint);
        if e.detail != Detail::None {
            d.field("detail", &e.detail);
        }
        if let Some(s) = &e.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl PartialEq for Error {
    /// Two errors are equal when they say the same; the source is not compared.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0, &other.0);
        a.kind == b.kind && a.message == b.message && a.hint == b.hint && a.detail == b.detail
    }
}

impl Eq for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_io_error_keeps_its_cause_and_kind() {
        let cause = std::io::Error::from_raw_os_error(28);
        let e = Error::io("writing the ledger", cause);
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(
            e.detail(),
            &Detail::Io {
                kind: std::io::ErrorKind::StorageFull
            }
        );
        let source = e.source().expect("the cause is kept");
        assert!(source.to_string().contains("os error 28"), "{source}");
        assert!(!e.message().contains("Os {"), "{}", e.message());
    }

    #[test]
    fn a_moved_head_names_both_heads() {
        let mut actual = Head::EMPTY;
        actual.seq = 7;
        let e = Error::head_moved(Head::EMPTY, actual);
        assert_eq!(e.kind(), ErrorKind::HeadMoved);
        assert!(matches!(
            e.detail(),
            Detail::HeadMoved { expected, actual } if expected.seq == 0 && actual.seq == 7
        ));
    }
}
