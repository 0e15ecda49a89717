//! Reads: the head record and the index mark, point reads and scans of the
//! log, and the index reads (the read side of the [`Store`] impl). Every read
//! ignores entries and index elements past the head (the slug list excepted).

use uuid::Uuid;

use claims_core::error::{Error, Hint, Result};
use claims_core::record::Record;
use claims_core::store::{Head, IdRange, IndexEntry, Role, StagedIndex, Store};
use claims_core::summary::{Fact, Filed};
use claims_core::time::Time;
use claims_core::tree::TileId;

use crate::keys::{
    claim_key, decode_head, seq_key, tail_seq, u64_at, valid_key, LOG_HEAD, META_INDEXED,
};
use crate::packed::{self, BlockView};
use crate::{from_sled, SledStore};

/// Scans longer than this decode on a second thread.
const PARALLEL_SCAN: u64 = 20_000;

impl SledStore {
    /// The head record (`log` key 0), or the empty head.
    pub(crate) fn read_head(&self) -> Result<Head> {
        let Some(v) = self.log.get(LOG_HEAD).map_err(from_sled)? else {
            return Ok(Head::EMPTY);
        };
        decode_head(&v).ok_or_else(|| {
            Error::damaged(format!("{} has a damaged head record", self.path.display()))
        })
    }

    /// The index high-water mark (`meta/indexed`), 0 if there is none.
    pub(crate) fn indexed(&self) -> Result<u64> {
        Ok(match self.meta.get(META_INDEXED).map_err(from_sled)? {
            Some(v) if v.len() == 8 => u64::from_be_bytes(v.as_ref().try_into().expect("8")),
            Some(_) => return Err(Error::damaged("the index high-water mark is damaged")),
            None => 0,
        })
    }

    /// The block holding `seq` (the one with the greatest key at or below
    /// it): its first seq and its stored value.
    pub(crate) fn block_at(&self, seq: u64) -> Result<Option<(u64, sled::IVec)>> {
        // A block holds a few dozen entries, so the one holding `seq` almost
        // always starts within the last `NEAR` seqs: a short forward range
        // finds it far faster than sled's `get_lt`, which walks backwards by
        // copying tree nodes (a third of a cold story query at 1M events).
        const NEAR: u64 = 64;
        if seq > NEAR {
            let mut last = None;
            for kv in self.log.range(seq_key(seq - NEAR)..=seq_key(seq)) {
                last = Some(kv.map_err(from_sled)?);
            }
            if let Some((k, v)) = last {
                return Ok(Some((u64_at(&k, 0)?, v)));
            }
        }
        match self
            .log
            .get_lt(seq_key(seq.saturating_add(1)))
            .map_err(from_sled)?
        {
            Some((k, v)) if k.as_ref() != LOG_HEAD => Ok(Some((u64_at(&k, 0)?, v))),
            _ => Ok(None),
        }
    }

    /// Calls `f(seq, entry bytes)` for the log entries in `[from, to]`, in seq
    /// order, until it returns false.
    pub(crate) fn each_entry(
        &self,
        from: u64,
        to: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let start = match self.block_at(from)? {
            Some((k, _)) => k,
            None => from.max(1),
        };
        for kv in self.log.range(seq_key(start)..) {
            let (k, v) = kv.map_err(from_sled)?;
            let key = u64_at(&k, 0)?;
            if key > to {
                break;
            }
            let mut go = true;
            let mut err = None;
            BlockView::parse(key, &v, |seq, bytes| {
                if seq < from {
                    return true;
                }
                if seq > to {
                    go = false;
                    return false;
                }
                match f(seq, bytes) {
                    Ok(more) => go = more,
                    Err(e) => {
                        err = Some(e);
                        go = false;
                    }
                }
                go
            })?;
            if let Some(e) = err {
                return Err(e);
            }
            if !go {
                break;
            }
        }
        Ok(())
    }
}

impl Store for SledStore {
    fn head(&self) -> Head {
        self.head
    }

    fn accounts(&self) -> Result<Vec<claims_core::account::Account>> {
        self.read_accounts()
    }

    fn put_account(&mut self, account: &claims_core::account::Account) -> Result<()> {
        self.write_account(account)
    }

    fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        self.commit_checked(expected, records)
    }

    fn stage(
        &mut self,
        expected: &Head,
        records: &[Record],
        staged: &dyn StagedIndex,
    ) -> Result<()> {
        self.stage_checked(expected, records, staged)
    }

    fn commit_staged(&mut self, expected: &Head) -> Result<()> {
        self.commit_staged_checked(expected)
    }

    fn abort_staged(&mut self) -> Result<()> {
        self.abort_staged_here()
    }

    fn get(&self, seq: u64) -> Result<Option<Record>> {
        if seq == 0 || seq > self.visible {
            return Ok(None);
        }
        let mut found = None;
        let pick = |s: u64, bytes: &[u8]| {
            if s == seq {
                found = Some(Record::decode(bytes));
            }
            s < seq
        };
        let cached = self.cache().find(seq);
        if let Some((key, payload)) = cached {
            BlockView::parse_payload(key, &payload, pick)?;
        } else if let Some((key, v)) = self.block_at(seq)? {
            if BlockView::is_block(&v) {
                let payload = std::sync::Arc::new(BlockView::unpack(key, &v)?.into_owned());
                let mut last = key;
                BlockView::parse_payload(key, &payload, |s, _| {
                    last = s;
                    true
                })?;
                self.cache().put(key, last, payload.clone());
                BlockView::parse_payload(key, &payload, pick)?;
            } else {
                BlockView::parse(key, &v, pick)?;
            }
        }
        match found {
            Some(r) => r.map(Some),
            None => Err(Error::damaged(format!(
                "the log of {} has no entry at seq {seq}",
                self.path.display()
            ))
            .with_hint(Hint::VerifyThenRestore)),
        }
    }

    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
        let head = self.visible;
        let from = from_seq.max(1);
        if from > head {
            return Box::new(std::iter::empty());
        }
        let start = match self.block_at(from) {
            Ok(Some((k, _))) => k,
            Ok(None) => from,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let scan = LogScan {
            blocks: self.log.range(seq_key(start)..),
            from,
            head,
            buf: Vec::new().into_iter(),
            done: false,
        };
        if head - from < PARALLEL_SCAN {
            return Box::new(scan);
        }
        // A long scan decodes blocks on a second thread while the caller
        // folds the records it already has. Dropping the iterator ends it.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Result<Record>>>(16);
        let (scan_tx, scan_rx) = std::sync::mpsc::channel::<LogScan>();
        let spawned = std::thread::Builder::new()
            .name("claims-scan".into())
            .spawn(move || {
                let Ok(mut scan) = scan_rx.recv() else { return };
                loop {
                    let batch: Vec<Result<Record>> = scan.by_ref().take(512).collect();
                    if batch.is_empty() || tx.send(batch).is_err() {
                        return;
                    }
                }
            });
        match spawned {
            Ok(_) => {
                let _ = scan_tx.send(scan);
                Box::new(rx.into_iter().flatten())
            }
            // No thread to be had: decode here.
            Err(_) => Box::new(scan),
        }
    }

    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>> {
        let mut lo = [0u8; 24];
        lo[..16].copy_from_slice(id.as_bytes());
        let mut hi = lo;
        hi[16..].fill(0xFF);
        let head = self.visible;
        let mut out = None;
        let mut bad = false;
        packed::scan(&self.ids, &lo, &hi, |e| match tail_seq(e, 24) {
            Some(seq) if seq <= head => {
                out = Some(seq);
                false
            }
            Some(_) => true,
            None => {
                bad = true;
                false
            }
        })?;
        if bad {
            return Err(Error::damaged("an event id index entry is damaged"));
        }
        Ok(out)
    }

    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        let mut lo = [0u8; 24];
        lo[..16].copy_from_slice(range.lo.as_bytes());
        let mut hi = [0xFFu8; 24];
        hi[..16].copy_from_slice(range.hi.as_bytes());
        let head = self.visible;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(&self.ids, &lo, &hi, |e| {
            match (tail_seq(e, 24), Uuid::from_slice(&e[..e.len().min(16)])) {
                (Some(seq), Ok(id)) => {
                    if seq <= head {
                        out.push(id);
                    }
                }
                _ => bad = true,
            }
            !bad && out.len() < limit
        })?;
        if bad {
            return Err(Error::damaged("a stored event id is damaged"));
        }
        Ok(out)
    }

    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        let mut lo = claim_key(range.lo, 0).to_vec();
        lo.push(0);
        let mut hi = claim_key(range.hi, u64::MAX).to_vec();
        hi.push(0xFF);
        let head = self.visible;
        let mut out: Vec<Uuid> = Vec::new();
        let mut bad = false;
        packed::scan(&self.claims, &lo, &hi, |e| {
            if e.len() != 25 {
                bad = true;
                return false;
            }
            let seq = u64::from_be_bytes(e[16..24].try_into().expect("8 bytes"));
            if e[24] == Role::Asserted as u8 && seq <= head {
                let c = Uuid::from_slice(&e[..16]).expect("16 bytes");
                if out.last() != Some(&c) {
                    out.push(c);
                }
            }
            out.len() < limit
        })?;
        if bad {
            return Err(Error::damaged("a stored claim id is damaged"));
        }
        Ok(out)
    }

    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>> {
        let mut lo = claim_key(claim, 0).to_vec();
        lo.push(0);
        let mut hi = claim_key(claim, u64::MAX).to_vec();
        hi.push(0xFF);
        let head = self.visible;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(&self.claims, &lo, &hi, |e| {
            let role = if e.len() == 25 {
                Role::from_byte(e[24])
            } else {
                None
            };
            match role {
                Some(role) => {
                    let seq = u64::from_be_bytes(e[16..24].try_into().expect("8 bytes"));
                    if seq <= head {
                        out.push((seq, role));
                    }
                    true
                }
                None => {
                    bad = true;
                    false
                }
            }
        })?;
        if bad {
            return Err(Error::damaged("a claim index entry is damaged"));
        }
        Ok(out)
    }

    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        let mut lo = story.as_bytes().to_vec();
        lo.push(0);
        let n = lo.len();
        let mut hi = lo.clone();
        hi.extend_from_slice(&[0xFF; 24]);
        let head = self.visible;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(&self.stories, &lo, &hi, |e| {
            if e.len() != n + 24 {
                bad = true;
                return false;
            }
            let c = Uuid::from_slice(&e[n..n + 16]).expect("16 bytes");
            let seq = u64::from_be_bytes(e[n + 16..].try_into().expect("8 bytes"));
            if seq <= head {
                out.push((c, seq));
            }
            true
        })?;
        if bad {
            return Err(Error::damaged("a story index entry is damaged"));
        }
        Ok(out)
    }

    fn stories(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        // Skip from one slug to the next instead of walking every claim.
        while let Some(e) = packed::first_from(&self.stories, &from)? {
            let end = e
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| Error::damaged("a story index key is damaged"))?;
            let slug = String::from_utf8(e[..end].to_vec())
                .map_err(|_| Error::damaged("a story slug is not UTF-8"))?;
            from = e[..end].to_vec();
            from.push(1);
            out.push(slug);
        }
        Ok(out)
    }

    fn summaries(
        &self,
        from_claim_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, Filed)>> + '_> {
        self.summaries_from(from_claim_seq)
    }

    fn summary(&self, claim_seq: u64) -> Result<Vec<Fact>> {
        self.summary_of(claim_seq)
    }

    fn stored_index(&self) -> Box<dyn Iterator<Item = Result<IndexEntry>> + '_> {
        self.all_index_entries()
    }

    fn tile(&self, id: TileId) -> Result<Option<Vec<u8>>> {
        self.read_tile(id)
    }

    fn stored_tiles(&self) -> Box<dyn Iterator<Item = Result<(TileId, Vec<u8>)>> + '_> {
        Box::new(self.tiles.iter().map(|kv| {
            let (k, v) = kv.map_err(from_sled)?;
            Ok((crate::tree::tile_id(&k)?, v.to_vec()))
        }))
    }

    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>> {
        let head = self.visible;
        let mut out = Vec::new();
        let mut bad = false;
        packed::scan(
            &self.valid,
            &valid_key(&lo, 0),
            &valid_key(&hi, u64::MAX),
            |e| match tail_seq(e, 20) {
                Some(seq) => {
                    if seq <= head {
                        out.push(seq);
                    }
                    true
                }
                None => {
                    bad = true;
                    false
                }
            },
        )?;
        if bad {
            return Err(Error::damaged("a valid-time index entry is damaged"));
        }
        Ok(out)
    }
}

/// [`Store::scan`] over the log blocks: decodes one block at a time.
struct LogScan {
    blocks: sled::Iter,
    from: u64,
    head: u64,
    buf: std::vec::IntoIter<Result<Record>>,
    done: bool,
}

impl Iterator for LogScan {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if let Some(r) = self.buf.next() {
                return Some(r);
            }
            if self.done {
                return None;
            }
            let (k, v) = match self.blocks.next() {
                None => {
                    self.done = true;
                    continue;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(from_sled(e)));
                }
                Some(Ok(kv)) => kv,
            };
            let key = match u64_at(&k, 0) {
                Ok(key) => key,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if key > self.head {
                self.done = true;
                continue;
            }
            let (from, head) = (self.from, self.head);
            let mut out = Vec::with_capacity(64);
            let parsed = BlockView::parse(key, &v, |seq, bytes| {
                if seq > head {
                    return false;
                }
                if seq >= from {
                    out.push(Record::decode(bytes));
                }
                true
            });
            if let Err(e) = parsed {
                out.push(Err(e));
                self.done = true;
            }
            self.buf = out.into_iter();
        }
    }
}
