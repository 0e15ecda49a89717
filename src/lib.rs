//! `claims`: an event-sourced, hash-chained ledger of the claims in news
//! stories. See ARCHITECTURE.md for the map of modules and their invariants.
//!
//! The library does no terminal I/O and reads no environment; the `claims`
//! binary (src/main.rs, src/cli/) does.

#![warn(missing_docs)]

pub mod error;
pub mod event;
pub mod ledger;
pub mod projection;
pub mod query;
pub mod record;
pub mod store;
pub mod time;
pub mod timeline;

pub use error::{Error, ErrorKind, Result};
pub use event::{Event, Kind};
pub use ledger::{Incoming, Ledger};
pub use projection::{ClaimHistory, Status, View};
pub use record::Record;
pub use store::{MemStore, SledStore, Store};
