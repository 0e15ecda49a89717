//! The verifiable log's formats: what a stranger needs to check a claims
//! ledger without trusting the newsroom that keeps it (SPEC, "A verifiable
//! log: checkpoints and proofs").
//!
//! | module | format |
//! |---|---|
//! | [`key`] | C2SP signed-note keys: Ed25519 signing keys (`PRIVATE+KEY+NAME+ID+KEY`) and verifier keys (`NAME+ID+KEY`) |
//! | [`checkpoint`] | C2SP tlog-checkpoint (`ORIGIN\nSIZE\nROOT\n`), signed as a C2SP signed note |
//! | [`proof`] | RFC 9162 inclusion and consistency proofs as the JSON SPEC names, checked by `tlog_tiles` |
//! | [`tiles`] | C2SP tlog-tiles paths and entry bundles; a tree rebuilt from the entries, level by level |
//! | [`publish`] | writing a log as tlog-tiles, incrementally, from a [`publish::TreeSource`] |
//! | [`published`] | checking such a copy from the outside, with only the verifier key |
//!
//! The Merkle math (leaf and node hashes, proofs, tree hashes, which tiles
//! a size needs) is `tlog_tiles`' (a port of Go's `sumdb/tlog`), and notes
//! and signatures are `signed_note`'s (a port of Go's `sumdb/note`). This
//! crate writes none of RFC 9162's algorithms itself: it checks the
//! preconditions those crates assert on, so that no input can make them
//! panic, and says in one sentence what is wrong with input that does not
//! hold.
//!
//! The crate knows no ledger: a log to publish is a [`publish::TreeSource`],
//! and the files of a published copy are a [`publish::Files`]. What an entry
//! means (its canonical encoding `C(n)`, the hash chain) is the caller's
//! (claims-core's), passed in as a check. It reads no environment, no clock,
//! no terminal and no file of its own accord.

pub mod checkpoint;
pub mod hash;
pub mod json;
pub mod key;
pub mod proof;
pub mod publish;
pub mod published;
pub mod tiles;

pub use checkpoint::Checkpoint;
pub use hash::{encode_hash, parse_hash, Hash};
pub use key::{SigningKey, Verifier};
pub use proof::{Consistency, Inclusion, Proof};

use std::fmt;

/// What kind of failure an [`Error`] is, for the caller to map to its own
/// kinds and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed: not a key, not a checkpoint, not a proof,
    /// a field missing or of the wrong form.
    Invalid,
    /// Well-formed, but what it claims does not hold: a signature, a root,
    /// a proof, a tile that does not match.
    Verification,
    /// The published copy and the log disagree: publishing over it would
    /// sign a log that does not extend what was published.
    Conflict,
    /// The log itself is inconsistent (its tree disagrees with its entries).
    Damaged,
}

/// One failure, as one sentence that names what is wrong (never any key
/// material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// Malformed input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    /// Something that does not hold.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Verification, message)
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The sentence.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error, with `at: ` before its message.
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

/// A failure of an operation that also reads or writes through the
/// caller's traits: either this crate's own [`Error`], or the caller's.
#[derive(Debug)]
pub enum Failure<E> {
    /// A format, a check or a precondition failed.
    Format(Error),
    /// The caller's source or files failed.
    Source(E),
}

impl<E> From<Error> for Failure<E> {
    fn from(e: Error) -> Self {
        Failure::Format(e)
    }
}

/// The result of an operation through the caller's traits.
pub type Result<T, E> = std::result::Result<T, Failure<E>>;

/// A check of one entry, or of one step: `Ok`, or this crate's [`Error`].
pub type Check = std::result::Result<(), Error>;

/// What is called with each entry: its leaf index and its bytes.
pub type EachEntry<'a> = dyn FnMut(u64, &[u8]) -> Check + 'a;

/// The largest tree this crate works with: 2^48 entries (a million a day
/// for 770 000 years). Sizes past it are refused before any arithmetic
/// on them, so that no shift or product can overflow.
pub const MAX_TREE_SIZE: u64 = 1 << 48;
