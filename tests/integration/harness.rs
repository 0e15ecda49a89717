//! What the test modules share: the seed story, the `claims` binary, the
//! ledger server's wire protocol (the binary has no library), and how a test
//! opens a ledger directly.

#![allow(dead_code)]

/// The ledger server's wire protocol, shared with the binary.
#[cfg(unix)]
#[path = "../../src/cli/protocol.rs"]
pub mod server;

/// The `claims` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_claims");

/// The seed story as `append` events.
pub const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/amazon-tiktok-2020-07.ndjson"
);

/// The seed story's slug.
pub const STORY: &str = "amazon-tiktok-2020-07";

/// Events and claims in the seed story.
pub const SEED_EVENTS: usize = 27;
pub const SEED_CLAIMS: usize = 20;

/// How the tests open a ledger directly: like the CLI, asking a ledger server
/// that holds it to let go.
pub fn open_options() -> claims_store_sled::OpenOptions {
    claims_store_sled::OpenOptions {
        on_locked: Some(std::sync::Arc::new(server::ask_release)),
        ..claims_store_sled::OpenOptions::default()
    }
}
