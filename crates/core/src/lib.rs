//! `claims-core`: the core of an event-sourced, hash-chained ledger of the claims in news
//! stories. See ARCHITECTURE.md for the map of modules and their invariants.
//!
//! This is the core: it knows no command line, socket, clock, environment or
//! rendering, and does no I/O but through the [`Store`] it is given. The
//! sled store is `claims-store-sled`; the `claims` binary is the command line.
//!
//! ```
//! use claims_core::{Event, Incoming, Ledger, MemStore, View};
//! use claims_core::query::Scope;
//! use claims_core::time::parse_rfc3339;
//!
//! let line = r#"{"id":"0190a3b2-0000-7000-8000-000000000001","kind":"asserted",
//!   "claim":"0190a3b2-0000-7000-8000-0000000000c1","story":"amazon-tiktok-2020-07",
//!   "by":"Amazon","text":"Staff must delete TikTok by 10 July",
//!   "valid":{"from":"2020-07-10T09:00:00Z","to":"2020-07-10T19:00:00Z"}}"#;
//! let event = Event::from_json(&serde_json::from_str(line).unwrap(), &[]).unwrap();
//!
//! let mut ledger = Ledger::new(MemStore::new());
//! let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
//! ledger.append(vec![Incoming { line: Some(1), event }], now).unwrap();
//!
//! // At 15:00 UTC the e-mail had only possibly been sent: the claim is pending.
//! let at = parse_rfc3339("2020-07-10T15:00:00Z").unwrap();
//! let state = ledger.state(View::new(at, now), &Scope::default()).unwrap();
//! assert!(state.claims.is_empty());
//! assert_eq!(state.pending.len(), 1);
//!
//! // By 19:00 it certainly had.
//! let at = parse_rfc3339("2020-07-10T19:00:00Z").unwrap();
//! let state = ledger.state(View::new(at, now), &Scope::default()).unwrap();
//! assert_eq!(state.claims.len(), 1);
//! ```

#![warn(missing_docs)]

pub mod account;
pub mod bulk;
pub mod error;
pub mod event;
pub mod ids;
pub mod ledger;
pub mod listing;
pub mod projection;
pub mod query;
pub mod record;
pub mod store;
pub mod stream;
pub mod summary;
pub mod time;
pub mod tree;
mod verify;

pub use error::{Error, ErrorKind, Result};
pub use event::{Event, Kind};
pub use ledger::{Batch, ImportOptions, Incoming, Ledger};
pub use projection::{ClaimHistory, Status, View};
pub use record::Record;
pub use store::{MemStore, Store};
