//! The typed API of a claims ledger, shared by the HTTP server and every
//! client of it (the remote CLI among them):
//! - [`params`]: each query's parameters and how they resolve;
//! - [`answer`]: each query's JSON, written as it is produced (the CLI's
//!   `--json` and the API's bodies are these same bytes);
//! - [`error`]: the error shape and its HTTP statuses;
//! - [`words`]: the words a hint is said in;
//! - [`ndjson`]: an NDJSON body of events, read by `append`'s rules;
//! - [`proofs`]: the verifiable log's proofs;
//! - [`follow`]: the live feed's entries after a seq, of one story or all;
//! - [`compose`]: the events the write commands build from typed values;
//! - [`display`]: ids and times as people read them.
//!
//! It does no I/O of its own: callers pass the writer, the clock and the zone.

pub mod answer;
pub mod compose;
pub mod display;
pub mod error;
pub mod follow;
pub mod json;
pub mod ndjson;
pub mod params;
pub mod proofs;
pub mod words;

/// The API's version prefix.
pub const PREFIX: &str = "/v1";
