//! The tables (docs/format.md, "PostgreSQL"), created and migrated by
//! `claims` itself, with the schema's version stored in `claims.meta`.

use claims_core::error::{Detail, Hint};
use claims_core::{Error, ErrorKind, Result};
use postgres::Client;

use crate::sql;

/// The schema version this build writes and reads.
pub const VERSION: u32 = 1;

/// Version 1: every table. Times are (seconds, nanoseconds) since the Unix
/// epoch in UTC, so that they order and round-trip exactly. Ledger text
/// (stories, `by`, a claim's text) is UTF-8 in `bytea`: it orders byte-wise
/// as sled's keys do, and may hold any character, U+0000 included, which
/// PostgreSQL's `text` refuses.
const V1: &str = r#"
CREATE TABLE claims.head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    recorded_secs bigint,
    recorded_nanos integer
);
INSERT INTO claims.head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE claims.log (
    seq bigint PRIMARY KEY,
    entry bytea NOT NULL
);
CREATE TABLE claims.event_ids (
    id uuid PRIMARY KEY,
    seq bigint NOT NULL
);
CREATE TABLE claims.claim_entries (
    claim uuid NOT NULL,
    seq bigint NOT NULL,
    role smallint NOT NULL,
    PRIMARY KEY (claim, seq)
);
CREATE TABLE claims.story_claims (
    story bytea NOT NULL,
    claim uuid NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (story, claim)
);
CREATE TABLE claims.valid_to (
    secs bigint NOT NULL,
    nanos integer NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (secs, nanos, seq)
);
CREATE TABLE claims.summaries (
    claim_seq bigint NOT NULL,
    seq bigint NOT NULL,
    fact bytea NOT NULL,
    PRIMARY KEY (claim_seq, seq)
);
CREATE TABLE claims.headers (
    claim_seq bigint PRIMARY KEY,
    claim uuid NOT NULL,
    story bytea NOT NULL,
    by_whom bytea NOT NULL,
    text bytea NOT NULL
);
CREATE TABLE claims.tiles (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hashes bytea NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE claims.accounts (
    name text COLLATE "C" PRIMARY KEY,
    role text NOT NULL,
    token_hash bytea NOT NULL,
    created_secs bigint NOT NULL,
    created_nanos integer NOT NULL,
    revoked_secs bigint,
    revoked_nanos integer
);
"#;

/// Whether the database holds a ledger, creating it when `create` (and
/// there is none); refuses a schema newer than [`VERSION`]. Concurrent
/// first connections wait for each other on an advisory lock, so exactly
/// one creates the tables.
pub fn prepare(client: &mut Client, create: bool, shown: &str) -> Result<bool> {
    let mut tx = client.transaction().map_err(sql("preparing the ledger"))?;
    tx.execute("SELECT pg_advisory_xact_lock(7361606479826545153)", &[])
        .map_err(sql("preparing the ledger"))?;
    let exists: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
             WHERE table_schema = 'claims' AND table_name = 'meta')",
            &[],
        )
        .map_err(sql("reading the ledger's schema"))?
        .try_get(0)
        .map_err(sql("reading the ledger's schema"))?;
    if exists {
        let row = tx
            .query_opt(
                "SELECT value FROM claims.meta WHERE key = 'schema_version'",
                &[],
            )
            .map_err(sql("reading the ledger's schema version"))?;
        let version: Option<u32> = row.and_then(|r| r.try_get::<_, String>(0).ok()?.parse().ok());
        return match version {
            Some(VERSION) => Ok(true),
            Some(v) if v > VERSION => Err(Error::new(
                ErrorKind::Damaged,
                format!(
                    "the ledger in {shown} has PostgreSQL schema version {v}; this claims knows versions up to {VERSION}"
                ),
            )
            .with_detail(Detail::NewerFormat { found: v, supported: VERSION })
            .with_hint(Hint::UpgradeProgram)),
            _ => Err(Error::damaged(format!(
                "the schema `claims` in {shown} is not a ledger of a version claims knows"
            ))
            .with_hint(Hint::Say(
                "name a database that holds a claims ledger, or an empty one".into(),
            ))),
        };
    }
    if !create {
        return Ok(false);
    }
    tx.batch_execute(
        "CREATE SCHEMA IF NOT EXISTS claims; \
         CREATE TABLE claims.meta (key text PRIMARY KEY, value text NOT NULL);",
    )
    .map_err(sql("creating the ledger's tables"))?;
    tx.batch_execute(V1)
        .map_err(sql("creating the ledger's tables"))?;
    tx.execute(
        "INSERT INTO claims.meta (key, value) VALUES ('schema_version', $1)",
        &[&VERSION.to_string()],
    )
    .map_err(sql("creating the ledger's tables"))?;
    tx.commit().map_err(sql("creating the ledger's tables"))?;
    Ok(true)
}
