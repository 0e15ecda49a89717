//! Commits: one PostgreSQL transaction each, serialized on the head row.
//! A staged commit keeps its transaction open across its parts, so a crash,
//! a lost connection or an abort leaves none of it.

use std::collections::{BTreeMap, BTreeSet};

use claims_core::account::Account;
use claims_core::record::Record;
use claims_core::store::{
    check_contiguous, check_continues, index_entries, BatchLookup, Head, IndexEntry, NothingStaged,
    Role, StagedIndex,
};
use claims_core::summary::{ClaimHeader, Fact};
use claims_core::tree;
use claims_core::{Error, Result};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use uuid::Uuid;

use crate::conn::Conn;

use crate::codec::{encode_fact, time_cols};
use crate::read::{head_row, tile_raw};
use crate::{sql, PgStore};
use claims_core::store::Store;

fn begin(s: &PgStore) -> Result<Head> {
    let mut c = s.conn()?;
    c.client
        .batch_execute("BEGIN")
        .map_err(sql("starting a commit"))?;
    match head_row(&mut c, true) {
        Ok(h) => Ok(h),
        Err(e) => {
            let _ = c.client.batch_execute("ROLLBACK");
            Err(e)
        }
    }
}

fn rollback(s: &PgStore) {
    // A lost connection has rolled back already.
    let mut c = s.conn.lock().unwrap_or_else(|p| p.into_inner());
    let _ = c.client.batch_execute("ROLLBACK");
}

/// Writes the head row and commits the open transaction.
fn finish(s: &PgStore, end: &Head) -> Result<()> {
    let mut c = s.conn.lock().unwrap_or_else(|p| p.into_inner());
    let (secs, nanos) = match &end.recorded_at {
        Some(t) => {
            let (s, n) = time_cols(t);
            (Some(s), Some(n))
        }
        None => (None, None),
    };
    c.execute(
        "UPDATE claims.head SET seq = $1, hash = $2, recorded_secs = $3, recorded_nanos = $4",
        &[&(end.seq as i64), &end.hash.as_slice(), &secs, &nanos],
    )?;
    c.client.batch_execute("COMMIT").map_err(sql("committing"))
}

fn end_of(records: &[Record]) -> Option<Head> {
    records.last().map(|r| Head {
        seq: r.seq,
        hash: r.hash,
        recorded_at: Some(r.recorded_at),
    })
}

fn refuse_while_staged(s: &PgStore) -> Result<()> {
    match s.staged {
        Some(_) => Err(Error::invalid(
            "a commit is staged through this handle; commit or abort it first",
        )),
        None => Ok(()),
    }
}

pub(crate) fn commit(s: &mut PgStore, expected: &Head, records: &[Record]) -> Result<()> {
    refuse_while_staged(s)?;
    let Some(end) = end_of(records) else {
        return check_continues(expected, &s.read_head()?, records);
    };
    let actual = begin(s)?;
    s.set_head(actual);
    let written = check_continues(expected, &actual, records)
        .and_then(|()| write_part(s, actual.seq, records, &NothingStaged))
        .and_then(|()| finish(s, &end));
    match written {
        Ok(()) => {
            s.set_head(end);
            Ok(())
        }
        Err(e) => {
            rollback(s);
            Err(e)
        }
    }
}

pub(crate) fn stage(
    s: &mut PgStore,
    expected: &Head,
    records: &[Record],
    staged: &dyn StagedIndex,
) -> Result<()> {
    let at = match s.staged {
        Some(at) => {
            check_continues(expected, &s.head(), &[])?;
            at
        }
        None => {
            let actual = begin(s)?;
            s.set_head(actual);
            if let Err(e) = check_continues(expected, &actual, &[]) {
                rollback(s);
                return Err(e);
            }
            s.staged = Some(actual);
            actual
        }
    };
    check_contiguous(at.seq, records)?;
    write_part(s, at.seq, records, staged)?;
    if let Some(end) = end_of(records) {
        s.staged = Some(end);
    }
    Ok(())
}

pub(crate) fn commit_staged(s: &mut PgStore, expected: &Head) -> Result<()> {
    let Some(end) = s.staged else {
        return check_continues(expected, &s.read_head()?, &[]);
    };
    check_continues(expected, &s.head(), &[])?;
    let done = finish(s, &end);
    s.staged = None;
    match done {
        Ok(()) => {
            s.set_head(end);
            Ok(())
        }
        Err(e) => {
            rollback(s);
            Err(e)
        }
    }
}

pub(crate) fn abort_staged(s: &mut PgStore) -> Result<()> {
    if s.staged.take().is_some() {
        rollback(s);
    }
    Ok(())
}

pub(crate) fn put_account(s: &mut PgStore, a: &Account) -> Result<()> {
    refuse_while_staged(s)?;
    let (cs, cn) = time_cols(&a.created_at);
    let revoked = a.revoked_at.as_ref().map(time_cols);
    s.conn()?.execute(
        "INSERT INTO claims.accounts (name, role, token_hash, created_secs, created_nanos, revoked_secs, revoked_nanos) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, \
         token_hash = EXCLUDED.token_hash, created_secs = EXCLUDED.created_secs, created_nanos = EXCLUDED.created_nanos, \
         revoked_secs = EXCLUDED.revoked_secs, revoked_nanos = EXCLUDED.revoked_nanos",
        &[
            &a.name,
            &a.role.as_str(),
            &a.token_hash.as_slice(),
            &cs,
            &cn,
            &revoked.map(|r| r.0),
            &revoked.map(|r| r.1),
        ],
    )?;
    Ok(())
}

/// The rows of a part, as the columns of each table (an index entry filed
/// twice keeps its last value, as every store does).
#[derive(Default)]
struct Rows {
    ids: Vec<(Uuid, u64)>,
    claims: BTreeMap<(Uuid, u64), Role>,
    stories: BTreeMap<(String, Uuid), u64>,
    valid: BTreeSet<(i64, i32, i64)>,
    facts: BTreeMap<(u64, u64), Fact>,
    headers: BTreeMap<u64, ClaimHeader>,
}

/// Writes `records` (continuing the tree of `size` leaves) and their index
/// entries and tiles in the open transaction.
fn write_part(s: &PgStore, size: u64, records: &[Record], staged: &dyn StagedIndex) -> Result<()> {
    let mut rows = Rows::default();
    {
        // Earlier entries are read through this handle, in the open
        // transaction (so a staged part sees the parts before it).
        let mut lookup = BatchLookup::staged(s, records, staged);
        for (i, r) in records.iter().enumerate() {
            for e in index_entries(r, &mut lookup)? {
                match e {
                    IndexEntry::EventId(id, seq) => rows.ids.push((id, seq)),
                    IndexEntry::Claim(c, seq, role) => {
                        rows.claims.insert((c, seq), role);
                    }
                    IndexEntry::Story(st, c, seq) => {
                        rows.stories.insert((st, c), seq);
                    }
                    IndexEntry::ValidTo(t, seq) => {
                        let (secs, nanos) = time_cols(&t);
                        rows.valid.insert((secs, nanos, seq as i64));
                    }
                    IndexEntry::Summary(c, f) => {
                        rows.facts.insert((c, f.seq), f);
                    }
                    IndexEntry::Header(c, h) => {
                        rows.headers.insert(c, h);
                    }
                }
            }
            lookup.add(i);
        }
    }
    let leaves: Vec<tree::Hash> = records.iter().map(tree::leaf_of).collect();
    let tiles = tree::extend(size, &leaves, &mut |id| tile_raw(&mut *s.conn()?, id))?;

    let mut c = s.conn.lock().unwrap_or_else(|p| p.into_inner());
    // Every table's rows go in by COPY (binary): one stream a table, the
    // fastest way into PostgreSQL, for a bulk import's parts and one
    // event alike.
    let mut entry = Vec::with_capacity(256);
    copy(
        &mut c,
        "COPY claims.log (seq, entry) FROM STDIN (FORMAT binary)",
        &[Type::INT8, Type::BYTEA],
        |w| {
            for r in records {
                entry.clear();
                r.encode_compact_into(&mut entry);
                w.write(&[&(r.seq as i64), &entry.as_slice()])?;
            }
            Ok(())
        },
    )?;
    if !rows.ids.is_empty() {
        copy(
            &mut c,
            "COPY claims.event_ids (id, seq) FROM STDIN (FORMAT binary)",
            &[Type::UUID, Type::INT8],
            |w| {
                for (id, seq) in &rows.ids {
                    w.write(&[id, &(*seq as i64)])?;
                }
                Ok(())
            },
        )?;
    }
    if !rows.claims.is_empty() {
        copy(
            &mut c,
            "COPY claims.claim_entries (claim, seq, role) FROM STDIN (FORMAT binary)",
            &[Type::UUID, Type::INT8, Type::INT2],
            |w| {
                for ((claim, seq), role) in &rows.claims {
                    w.write(&[claim, &(*seq as i64), &(*role as i16)])?;
                }
                Ok(())
            },
        )?;
    }
    if !rows.stories.is_empty() {
        copy(
            &mut c,
            "COPY claims.story_claims (story, claim, seq) FROM STDIN (FORMAT binary)",
            &[Type::BYTEA, Type::UUID, Type::INT8],
            |w| {
                for ((story, claim), seq) in &rows.stories {
                    w.write(&[&story.as_bytes(), claim, &(*seq as i64)])?;
                }
                Ok(())
            },
        )?;
    }
    if !rows.valid.is_empty() {
        copy(
            &mut c,
            "COPY claims.valid_to (secs, nanos, seq) FROM STDIN (FORMAT binary)",
            &[Type::INT8, Type::INT4, Type::INT8],
            |w| {
                for (secs, nanos, seq) in &rows.valid {
                    w.write(&[secs, nanos, seq])?;
                }
                Ok(())
            },
        )?;
    }
    if !rows.facts.is_empty() {
        copy(
            &mut c,
            "COPY claims.summaries (claim_seq, seq, fact) FROM STDIN (FORMAT binary)",
            &[Type::INT8, Type::INT8, Type::BYTEA],
            |w| {
                for ((claim_seq, seq), f) in &rows.facts {
                    w.write(&[&(*claim_seq as i64), &(*seq as i64), &encode_fact(f)])?;
                }
                Ok(())
            },
        )?;
    }
    if !rows.headers.is_empty() {
        copy(&mut c, "COPY claims.headers (claim_seq, claim, story, by_whom, text) FROM STDIN (FORMAT binary)", &[Type::INT8, Type::UUID, Type::BYTEA, Type::BYTEA, Type::BYTEA], |w| {
            for (claim_seq, h) in &rows.headers {
                w.write(&[&(*claim_seq as i64), &h.claim, &h.story.as_bytes(), &h.by.as_bytes(), &h.text.as_bytes()])?;
            }
            Ok(())
        })?;
    }
    let (mut tl, mut ti, mut th) = (Vec::new(), Vec::new(), Vec::new());
    for (id, hashes) in tiles.put {
        tl.push(i16::from(id.level));
        ti.push(id.index as i64);
        th.push(hashes);
    }
    c.execute(
        "INSERT INTO claims.tiles (level, idx, hashes) \
         SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[]) \
         ON CONFLICT (level, idx) DO UPDATE SET hashes = EXCLUDED.hashes",
        &[&tl, &ti, &th],
    )?;
    for id in tiles.remove {
        c.execute(
            "DELETE FROM claims.tiles WHERE level = $1 AND idx = $2",
            &[&i16::from(id.level), &(id.index as i64)],
        )?;
    }
    Ok(())
}

/// Streams rows into a table with `COPY … FROM STDIN (FORMAT binary)`.
fn copy(
    c: &mut Conn,
    statement: &str,
    types: &[Type],
    rows: impl FnOnce(&mut BinaryCopyInWriter<'_>) -> std::result::Result<(), postgres::Error>,
) -> Result<()> {
    let what = "writing the ledger";
    let sink = c.client.copy_in(statement).map_err(sql(what))?;
    let mut w = BinaryCopyInWriter::new(sink, types);
    rows(&mut w).map_err(sql(what))?;
    w.finish().map_err(sql(what))?;
    Ok(())
}
