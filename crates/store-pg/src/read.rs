//! The reads of a [`PgStore`], each bounded by the handle's head (or the end
//! of what it has staged): one chained prefix of the log, whatever other
//! writers commit meanwhile. Whole-ledger reads come in chunks of keyset
//! pages, so memory does not grow with the log.

use std::collections::VecDeque;

use claims_core::account::Account;
use claims_core::record::Record;
use claims_core::store::{Head, IdRange, IndexEntry, Role};
use claims_core::summary::{ClaimHeader, Fact, Filed};
use claims_core::time::Time;
use claims_core::tree::{self, TileId};
use claims_core::{Error, Result};
use postgres::types::FromSql;
use postgres::Row;
use uuid::Uuid;

use crate::codec::{account_role_of, decode_fact, role_of, time_cols, time_of};
use crate::conn::Conn;
use crate::PgStore;

/// Column `i` of a row; a column of another type than this build's schema
/// gives (a damaged or foreign table) is refused, never a panic.
fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|_| {
        Error::damaged(format!(
            "a column of the ledger's tables in PostgreSQL does not hold what schema version {} says",
            crate::SCHEMA_VERSION
        ))
        .with_hint(claims_core::error::Hint::Say(
            "the ledger's tables were changed outside claims: restore the database from a backup, or import an export into an empty one".into(),
        ))
    })
}

/// Rows a page of a whole-ledger read holds.
const PAGE: i64 = 2048;

/// The head row; `for_update` locks it until the transaction ends.
pub(crate) fn head_row(c: &mut Conn, for_update: bool) -> Result<Head> {
    let rows = if for_update {
        c.query(
            "SELECT seq, hash, recorded_secs, recorded_nanos FROM claims.head FOR UPDATE",
            &[],
        )?
    } else {
        c.query(
            "SELECT seq, hash, recorded_secs, recorded_nanos FROM claims.head",
            &[],
        )?
    };
    let row = rows
        .first()
        .ok_or_else(|| Error::damaged("the ledger's head row is missing"))?;
    let seq: i64 = col(row, 0)?;
    let hash: Vec<u8> = col(row, 1)?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| Error::damaged("the ledger's head hash is not 32 bytes"))?;
    let recorded_at = match (col::<Option<i64>>(row, 2)?, col::<Option<i32>>(row, 3)?) {
        (Some(s), Some(n)) => Some(time_of(s, n)?),
        _ => None,
    };
    Ok(Head {
        seq: u64::try_from(seq).map_err(|_| Error::damaged("the ledger's head seq is negative"))?,
        hash,
        recorded_at,
    })
}

fn seq_of(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::damaged(format!("a stored seq is negative ({v})")))
}

fn record_of(row: &Row) -> Result<Record> {
    let seq = seq_of(col(row, 0)?)?;
    let entry: &[u8] = col(row, 1)?;
    let r = Record::decode(entry)?;
    if r.seq != seq {
        return Err(Error::damaged(format!(
            "the log entry at seq {seq} holds seq {}",
            r.seq
        )));
    }
    Ok(r)
}

pub(crate) fn get(s: &PgStore, seq: u64) -> Result<Option<Record>> {
    let Ok(seq) = i64::try_from(seq) else {
        return Ok(None);
    };
    if seq > s.bound() {
        return Ok(None);
    }
    let rows = s
        .conn()?
        .query("SELECT seq, entry FROM claims.log WHERE seq = $1", &[&seq])?;
    rows.first().map(record_of).transpose()
}

/// Pages of `T`, each fetched after the last item of the one before.
fn paged<'a, T: 'a, K: Clone + 'a>(
    start: K,
    mut fetch: impl FnMut(&K) -> Result<(Vec<T>, Option<K>)> + 'a,
) -> Box<dyn Iterator<Item = Result<T>> + 'a> {
    let mut next = Some(start);
    let mut buf: VecDeque<T> = VecDeque::new();
    Box::new(std::iter::from_fn(move || {
        if buf.is_empty() {
            let k = next.take()?;
            match fetch(&k) {
                Ok((items, after)) => {
                    buf.extend(items);
                    next = after;
                }
                Err(e) => return Some(Err(e)),
            }
        }
        buf.pop_front().map(Ok)
    }))
}

pub(crate) fn scan(s: &PgStore, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
    let bound = s.bound();
    let from = i64::try_from(from_seq.max(1)).unwrap_or(i64::MAX);
    paged(from, move |&from| {
        let rows = s.conn()?.query(
            "SELECT seq, entry FROM claims.log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3",
            &[&from, &bound, &PAGE],
        )?;
        let records = rows.iter().map(record_of).collect::<Result<Vec<_>>>()?;
        let after = match records.last() {
            Some(r) if rows.len() as i64 == PAGE => Some(r.seq as i64 + 1),
            _ => None,
        };
        Ok((records, after))
    })
}

pub(crate) fn seq_of_event(s: &PgStore, id: Uuid) -> Result<Option<u64>> {
    let rows = s.conn()?.query(
        "SELECT seq FROM claims.event_ids WHERE id = $1 AND seq <= $2",
        &[&id, &s.bound()],
    )?;
    rows.first().map(|r| seq_of(col(r, 0)?)).transpose()
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn event_ids_in(s: &PgStore, range: IdRange, n: usize) -> Result<Vec<Uuid>> {
    let rows = s.conn()?.query(
        "SELECT id FROM claims.event_ids WHERE id BETWEEN $1 AND $2 AND seq <= $3 ORDER BY id LIMIT $4",
        &[&range.lo, &range.hi, &s.bound(), &limit(n)],
    )?;
    rows.iter().map(|r| col(r, 0)).collect()
}

pub(crate) fn claim_ids_in(s: &PgStore, range: IdRange, n: usize) -> Result<Vec<Uuid>> {
    let rows = s.conn()?.query(
        "SELECT claim FROM claims.claim_entries WHERE claim BETWEEN $1 AND $2 AND role = 0 \
         AND seq <= $3 ORDER BY claim LIMIT $4",
        &[&range.lo, &range.hi, &s.bound(), &limit(n)],
    )?;
    rows.iter().map(|r| col(r, 0)).collect()
}

pub(crate) fn claim_entries(s: &PgStore, claim: Uuid) -> Result<Vec<(u64, Role)>> {
    let rows = s.conn()?.query(
        "SELECT seq, role FROM claims.claim_entries WHERE claim = $1 AND seq <= $2 ORDER BY seq",
        &[&claim, &s.bound()],
    )?;
    rows.iter()
        .map(|r| Ok((seq_of(col(r, 0)?)?, role_of(col(r, 1)?)?)))
        .collect()
}

pub(crate) fn story_claims(s: &PgStore, story: &str) -> Result<Vec<(Uuid, u64)>> {
    let rows = s.conn()?.query(
        "SELECT claim, seq FROM claims.story_claims WHERE story = $1 AND seq <= $2 ORDER BY claim",
        &[&story.as_bytes(), &s.bound()],
    )?;
    rows.iter()
        .map(|r| Ok((col(r, 0)?, seq_of(col(r, 1)?)?)))
        .collect()
}

pub(crate) fn stories(s: &PgStore) -> Result<Vec<String>> {
    let rows = s.conn()?.query(
        "SELECT DISTINCT story FROM claims.story_claims WHERE seq <= $1 ORDER BY story",
        &[&s.bound()],
    )?;
    rows.iter()
        .map(|r| text_of(col(r, 0)?, "a story"))
        .collect()
}

/// Ledger text stored as UTF-8 bytes; damaged if it is not UTF-8.
fn text_of(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| crate::codec::damaged(what))
}

pub(crate) fn seqs_by_valid_to(s: &PgStore, lo: Time, hi: Time) -> Result<Vec<u64>> {
    let (ls, ln) = time_cols(&lo);
    let (hs, hn) = time_cols(&hi);
    let rows = s.conn()?.query(
        "SELECT seq FROM claims.valid_to WHERE (secs, nanos) >= ($1, $2) AND (secs, nanos) <= ($3, $4) \
         AND seq <= $5 ORDER BY secs, nanos, seq",
        &[&ls, &ln, &hs, &hn, &s.bound()],
    )?;
    rows.iter().map(|r| seq_of(col(r, 0)?)).collect()
}

fn fact_row(r: &Row) -> Result<(u64, Fact)> {
    let claim_seq = seq_of(col(r, 0)?)?;
    let seq = seq_of(col(r, 1)?)?;
    let f = decode_fact(col(r, 2)?)?;
    if f.seq != seq {
        return Err(Error::damaged(format!(
            "the claim summary at ({claim_seq}, {seq}) holds seq {}",
            f.seq
        )));
    }
    Ok((claim_seq, f))
}

fn header_row(r: &Row) -> Result<(u64, ClaimHeader)> {
    Ok((
        seq_of(col(r, 0)?)?,
        ClaimHeader {
            claim: col(r, 1)?,
            story: text_of(col(r, 2)?, "a claim summary's story")?,
            by: text_of(col(r, 3)?, "a claim summary's by")?,
            text: text_of(col(r, 4)?, "a claim summary's text")?,
        },
    ))
}

/// The facts from (claim seq, seq) `from` on, in that order.
fn facts_from(s: &PgStore, from: (i64, i64)) -> Box<dyn Iterator<Item = Result<(u64, Fact)>> + '_> {
    let bound = s.bound();
    paged(from, move |&(c, q)| {
        let rows = s.conn()?.query(
            "SELECT claim_seq, seq, fact FROM claims.summaries WHERE (claim_seq, seq) >= ($1, $2) \
             AND claim_seq <= $3 AND seq <= $3 ORDER BY claim_seq, seq LIMIT $4",
            &[&c, &q, &bound, &PAGE],
        )?;
        let items = rows.iter().map(fact_row).collect::<Result<Vec<_>>>()?;
        let after = match items.last() {
            Some((c, f)) if rows.len() as i64 == PAGE => Some((*c as i64, f.seq as i64 + 1)),
            _ => None,
        };
        Ok((items, after))
    })
}

/// The headers from claim seq `from` on.
fn headers_from(
    s: &PgStore,
    from: i64,
) -> Box<dyn Iterator<Item = Result<(u64, ClaimHeader)>> + '_> {
    let bound = s.bound();
    paged(from, move |&c| {
        let rows = s.conn()?.query(
            "SELECT claim_seq, claim, story, by_whom, text FROM claims.headers \
             WHERE claim_seq >= $1 AND claim_seq <= $2 ORDER BY claim_seq LIMIT $3",
            &[&c, &bound, &PAGE],
        )?;
        let items = rows.iter().map(header_row).collect::<Result<Vec<_>>>()?;
        let after = match items.last() {
            Some((c, _)) if rows.len() as i64 == PAGE => Some(*c as i64 + 1),
            _ => None,
        };
        Ok((items, after))
    })
}

pub(crate) fn summaries(
    s: &PgStore,
    from_claim_seq: u64,
) -> Box<dyn Iterator<Item = Result<(u64, Filed)>> + '_> {
    let from = i64::try_from(from_claim_seq).unwrap_or(i64::MAX);
    let mut headers = headers_from(s, from).peekable();
    let mut facts = facts_from(s, (from, 0)).peekable();
    // Each claim's header first, then its facts (as every store files them).
    Box::new(std::iter::from_fn(move || {
        if let Some(Err(_)) = headers.peek() {
            return headers.next().and_then(|r| r.err()).map(Err);
        }
        if let Some(Err(_)) = facts.peek() {
            return facts.next().and_then(|r| r.err()).map(Err);
        }
        let h = headers
            .peek()
            .and_then(|r| r.as_ref().ok())
            .map(|(c, _)| *c);
        let f = facts.peek().and_then(|r| r.as_ref().ok()).map(|(c, _)| *c);
        match (h, f) {
            (Some(h), f) if f.is_none_or(|f| h <= f) => headers
                .next()
                .map(|r| r.map(|(c, h)| (c, Filed::Header(h)))),
            (_, Some(_)) => facts.next().map(|r| r.map(|(c, f)| (c, Filed::Fact(f)))),
            _ => None,
        }
    }))
}

pub(crate) fn summary(s: &PgStore, claim_seq: u64) -> Result<Vec<Fact>> {
    let Ok(c) = i64::try_from(claim_seq) else {
        return Ok(Vec::new());
    };
    let rows = s.conn()?.query(
        "SELECT claim_seq, seq, fact FROM claims.summaries WHERE claim_seq = $1 \
         AND claim_seq <= $2 AND seq <= $2 ORDER BY seq",
        &[&c, &s.bound()],
    )?;
    rows.iter().map(|r| fact_row(r).map(|(_, f)| f)).collect()
}

pub(crate) fn stored_index(s: &PgStore) -> Box<dyn Iterator<Item = Result<IndexEntry>> + '_> {
    let bound = s.bound();
    let ids = paged(Uuid::nil(), move |&after| {
        let rows = s.conn()?.query(
            "SELECT id, seq FROM claims.event_ids WHERE id >= $1 AND seq <= $2 ORDER BY id LIMIT $3",
            &[&after, &bound, &PAGE],
        )?;
        let items = rows
            .iter()
            .map(|r| Ok(IndexEntry::EventId(col(r, 0)?, seq_of(col(r, 1)?)?)))
            .collect::<Result<Vec<_>>>()?;
        let next = match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => {
                let id: Uuid = col(r, 0)?;
                Some(Uuid::from_u128(id.as_u128().saturating_add(1)))
            }
            _ => None,
        };
        Ok((items, next))
    });
    let claims = paged((Uuid::nil(), 0i64), move |(c, q)| {
        let rows = s.conn()?.query(
            "SELECT claim, seq, role FROM claims.claim_entries WHERE (claim, seq) >= ($1, $2) \
             AND seq <= $3 ORDER BY claim, seq LIMIT $4",
            &[c, q, &bound, &PAGE],
        )?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(IndexEntry::Claim(
                    col(r, 0)?,
                    seq_of(col(r, 1)?)?,
                    role_of(col(r, 2)?)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let next = match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => Some((col(r, 0)?, col::<i64>(r, 1)? + 1)),
            _ => None,
        };
        Ok((items, next))
    });
    let stories = paged((Vec::<u8>::new(), Uuid::nil()), move |(st, c)| {
        let rows = s.conn()?.query(
            "SELECT story, claim, seq FROM claims.story_claims WHERE (story, claim) >= ($1, $2) \
             AND seq <= $3 ORDER BY story, claim LIMIT $4",
            &[st, c, &bound, &PAGE],
        )?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(IndexEntry::Story(
                    text_of(col(r, 0)?, "a story")?,
                    col(r, 1)?,
                    seq_of(col(r, 2)?)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let next = match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => {
                let c: Uuid = col(r, 1)?;
                Some((col(r, 0)?, Uuid::from_u128(c.as_u128().saturating_add(1))))
            }
            _ => None,
        };
        Ok((items, next))
    });
    let valid = paged((i64::MIN, i32::MIN, 0i64), move |(t, n, q)| {
        let rows = s.conn()?.query(
            "SELECT secs, nanos, seq FROM claims.valid_to WHERE (secs, nanos, seq) >= ($1, $2, $3) \
             AND seq <= $4 ORDER BY secs, nanos, seq LIMIT $5",
            &[t, n, q, &bound, &PAGE],
        )?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(IndexEntry::ValidTo(
                    time_of(col(r, 0)?, col(r, 1)?)?,
                    seq_of(col(r, 2)?)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let next = match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => {
                Some((col(r, 0)?, col(r, 1)?, col::<i64>(r, 2)? + 1))
            }
            _ => None,
        };
        Ok((items, next))
    });
    let facts = facts_from(s, (0, 0)).map(|r| r.map(|(c, f)| IndexEntry::Summary(c, f)));
    let headers = headers_from(s, 0).map(|r| r.map(|(c, h)| IndexEntry::Header(c, h)));
    Box::new(
        ids.chain(claims)
            .chain(stories)
            .chain(valid)
            .chain(facts)
            .chain(headers),
    )
}

/// A tile as the tree of `size` leaves has it: `None` unless that tree
/// stores it ([`tree::is_stored`]); a partial tile cut to that tree's width
/// (another writer may have grown it since).
fn as_of_size(id: TileId, hashes: Vec<u8>, size: u64) -> Result<Option<Vec<u8>>> {
    if !tree::is_stored(id, size) {
        return Ok(None);
    }
    let (full, width) = tree::level_shape(size, id.level);
    let want = if id.index < full {
        tree::WIDTH as usize * 32
    } else if id.index == full && width > 0 {
        width as usize * 32
    } else {
        return Ok(None);
    };
    if hashes.len() < want {
        // Short: the tree's own checks name it.
        return Ok(Some(hashes));
    }
    let mut hashes = hashes;
    hashes.truncate(want);
    Ok(Some(hashes))
}

/// A tile as stored, for the commit that extends the tree.
pub(crate) fn tile_raw(c: &mut Conn, id: TileId) -> Result<Option<Vec<u8>>> {
    let rows = c.query(
        "SELECT hashes FROM claims.tiles WHERE level = $1 AND idx = $2",
        &[&i16::from(id.level), &(id.index as i64)],
    )?;
    rows.first().map(|r| col(r, 0)).transpose()
}

pub(crate) fn tile(s: &PgStore, id: TileId) -> Result<Option<Vec<u8>>> {
    let raw = tile_raw(&mut *s.conn()?, id)?;
    match raw {
        Some(h) => as_of_size(id, h, s.bound() as u64),
        None => Ok(None),
    }
}

pub(crate) fn stored_tiles(
    s: &PgStore,
) -> Box<dyn Iterator<Item = Result<(TileId, Vec<u8>)>> + '_> {
    let size = s.bound() as u64;
    let all = paged((0i16, 0i64), move |(l, i)| {
        let rows = s.conn()?.query(
            "SELECT level, idx, hashes FROM claims.tiles WHERE (level, idx) >= ($1, $2) \
             ORDER BY level, idx LIMIT $3",
            &[l, i, &PAGE],
        )?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let level: i16 = col(r, 0)?;
            let index: i64 = col(r, 1)?;
            let id = TileId {
                level: u8::try_from(level)
                    .map_err(|_| Error::damaged(format!("a stored tile has level {level}")))?,
                index: seq_of(index)?,
            };
            if let Some(h) = as_of_size(id, col(r, 2)?, size)? {
                items.push((id, h));
            }
        }
        let next = match rows.last() {
            Some(r) if rows.len() as i64 == PAGE => Some((col(r, 0)?, col::<i64>(r, 1)? + 1)),
            _ => None,
        };
        Ok((items, next))
    });
    Box::new(all)
}

pub(crate) fn accounts(s: &PgStore) -> Result<Vec<Account>> {
    let rows = s.conn()?.query(
        "SELECT name, role, token_hash, created_secs, created_nanos, revoked_secs, revoked_nanos \
         FROM claims.accounts ORDER BY name",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let name: String = col(r, 0)?;
            let role: String = col(r, 1)?;
            let hash: Vec<u8> = col(r, 2)?;
            let damaged = || Error::damaged(format!("the stored account {name} does not read"));
            Ok(Account {
                role: account_role_of(&role)?,
                token_hash: hash.try_into().map_err(|_| damaged())?,
                created_at: time_of(col(r, 3)?, col(r, 4)?)?,
                revoked_at: match (col::<Option<i64>>(r, 5)?, col::<Option<i32>>(r, 6)?) {
                    (Some(s), Some(n)) => Some(time_of(s, n)?),
                    _ => None,
                },
                name,
            })
        })
        .collect()
}
