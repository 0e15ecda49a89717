//! Appending a stream of events in memory that does not grow with the
//! stream's length: the append rules are checked against the batch so far
//! through compact maps (a 64-bit fingerprint of every event id, the
//! `valid.from` of every claim asserted), and the checked events are sealed
//! and staged in parts of [`STAGE_EVERY`] ([`Store::stage`]), then committed
//! at once ([`Store::commit_staged`]). The batch stays all-or-nothing: a
//! refusal on any line aborts what was staged.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Hint, Result};
use crate::event::{Body, Event};
use crate::ledger::{
    Check, ImportOptions, ImportReport, Incoming, Known, Ledger, CLOCK_SKEW_SECONDS,
};
use crate::record::{fmt_recorded, truncate_micros, Record, GENESIS};
use crate::store::{StagedIndex, Store};
use crate::summary::Parties;
use crate::time::Time;

/// Events sealed and staged together.
pub const STAGE_EVERY: usize = 50_000;

/// What a streamed append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamReport {
    /// Entries written.
    pub appended: u64,
    /// The seqs of the first and last entry written.
    pub seqs: Option<(u64, u64)>,
    /// Events already in the ledger with identical content.
    pub unchanged: usize,
    /// Events that appeared earlier in the same batch with identical content.
    pub repeated: usize,
}

/// The batch so far, as the append rules and the store's index derivation
/// need it, in about 40 bytes an event.
struct Batch {
    /// Events checked and not yet staged, with their ids.
    pending: Vec<Event>,
    pending_ids: HashMap<Uuid, usize>,
    /// Where each event of the batch is, by a 64-bit fingerprint of its id
    /// (seq − head seq); an id whose fingerprint another id of the batch
    /// already has is kept whole in `overflow`. A candidate is checked
    /// against the entry itself.
    fingerprints: HashMap<u64, u32, Fingerprint>,
    overflow: HashMap<Uuid, u64>,
    /// Every claim asserted in the batch: its `valid.from`, seq (less the
    /// head's) and party.
    claims: HashMap<Uuid, (Time, u32, u32)>,
    parties: Parties,
    /// The committed head's seq: entries after it are the batch's.
    head_seq: u64,
}

impl Batch {
    fn new(head_seq: u64) -> Batch {
        Batch {
            pending: Vec::new(),
            pending_ids: HashMap::new(),
            fingerprints: HashMap::with_hasher(Fingerprint),
            overflow: HashMap::new(),
            claims: HashMap::new(),
            parties: Parties::default(),
            head_seq,
        }
    }

    fn candidate(&self, id: Uuid) -> Option<u64> {
        if let Some(seq) = self.overflow.get(&id) {
            return Some(*seq);
        }
        self.fingerprints
            .get(&fingerprint(id))
            .map(|off| self.head_seq + u64::from(*off))
    }

    fn file(&mut self, e: &Event, seq: u64) {
        let off = u32::try_from(seq - self.head_seq).expect("a batch of fewer than 2^32 events");
        match self.fingerprints.entry(fingerprint(e.id)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(off);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.overflow.insert(e.id, seq);
            }
        }
        if let Body::Asserted(a) = &e.body {
            let party = self.parties.intern(&a.by);
            self.claims.insert(a.claim, (a.valid.from, off, party));
        }
    }
}

impl StagedIndex for Batch {
    fn event_seq(&self, id: Uuid) -> Option<u64> {
        self.candidate(id)
    }

    fn claim(&self, claim: Uuid) -> Option<(u64, String)> {
        self.claims.get(&claim).map(|(_, off, p)| {
            (
                self.head_seq + u64::from(*off),
                self.parties.name(*p).to_string(),
            )
        })
    }
}

/// Event ids are random: their low 64 bits are a fingerprint already.
#[derive(Default, Clone, Copy)]
struct Fingerprint;

impl BuildHasher for Fingerprint {
    type Hasher = PassThrough;
    fn build_hasher(&self) -> PassThrough {
        PassThrough(0)
    }
}

struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

fn fingerprint(id: Uuid) -> u64 {
    // Mixed, so that ids made by other generators (version 7: a clock
    // first) spread as well.
    let v = id.as_u128();
    let x = (v as u64) ^ ((v >> 64) as u64).rotate_left(29);
    x.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Known for Batch {
    fn event<S: Store>(&self, ledger: &Ledger<S>, id: Uuid) -> Result<Option<(Event, bool)>> {
        if let Some(&i) = self.pending_ids.get(&id) {
            return Ok(Some((self.pending[i].clone(), true)));
        }
        if let Some(seq) = self.candidate(id) {
            // The store's reads of entries see what this batch staged.
            if let Some(r) = ledger.store().get(seq)?.filter(|r| r.event.id == id) {
                return Ok(Some((r.event, true)));
            }
        }
        if self.head_seq == 0 {
            return Ok(None);
        }
        Ok(ledger.event(id)?.map(|r| (r.event, r.seq > self.head_seq)))
    }

    fn claim_from<S: Store>(&self, ledger: &Ledger<S>, claim: Uuid) -> Result<Option<Time>> {
        if let Some((t, _, _)) = self.claims.get(&claim) {
            return Ok(Some(*t));
        }
        ledger.committed_claim_from(claim)
    }
}

impl<S: Store> Ledger<S> {
    /// Appends a stream of events all-or-nothing, as [`Ledger::append`]
    /// does a batch, recorded at `now`, calling `progress` with the number
    /// of events read so far. An error of the stream itself (a line that
    /// does not parse) fails the append like a refused event.
    pub fn append_stream(
        &mut self,
        events: impl Iterator<Item = Result<Incoming>>,
        now: Time,
        progress: impl FnMut(u64),
    ) -> Result<StreamReport> {
        self.append_stream_in_parts(events, now, STAGE_EVERY, progress)
    }

    /// [`Ledger::append_stream`], every entry recorded by the account
    /// `recorded_by` (as [`Ledger::append_as`]; `None` is a local append).
    pub fn append_stream_as(
        &mut self,
        events: impl Iterator<Item = Result<Incoming>>,
        now: Time,
        recorded_by: Option<&str>,
        progress: impl FnMut(u64),
    ) -> Result<StreamReport> {
        self.append_stream_parts_as(events, now, recorded_by, STAGE_EVERY, progress)
    }

    /// [`Ledger::append_stream`], staging every `part` events.
    pub fn append_stream_in_parts(
        &mut self,
        events: impl Iterator<Item = Result<Incoming>>,
        now: Time,
        part: usize,
        progress: impl FnMut(u64),
    ) -> Result<StreamReport> {
        self.append_stream_parts_as(events, now, None, part, progress)
    }

    fn append_stream_parts_as(
        &mut self,
        events: impl Iterator<Item = Result<Incoming>>,
        now: Time,
        recorded_by: Option<&str>,
        part: usize,
        mut progress: impl FnMut(u64),
    ) -> Result<StreamReport> {
        if recorded_by == Some("") {
            return Err(Error::invalid(
                "the account an entry is recorded by must have a name, not an empty one",
            ));
        }
        let part = part.max(1);
        let head = self.store().read_head()?;
        self.forget();
        let recorded_at = truncate_micros(match head.recorded_at {
            Some(last) if last > now => last,
            _ => now,
        });
        let mut batch = Batch::new(head.seq);
        let mut report = StreamReport::default();
        let mut staged = false;
        let mut prev = head.hash;
        let mut next_seq = head.seq + 1;
        let mut read = 0u64;
        let outcome = (|| -> Result<()> {
            for item in events {
                let item = item?;
                read += 1;
                if read.is_multiple_of(4096) {
                    progress(read);
                }
                let checked = self
                    .check(&item.event, &batch)
                    .map_err(|e| match item.line {
                        Some(n) => e.context(format!("line {n}")),
                        None => e,
                    })?;
                match checked {
                    Check::Duplicate => report.unchanged += 1,
                    Check::Repeated => report.repeated += 1,
                    Check::New => {
                        let e = item.event;
                        let seq = next_seq + batch.pending.len() as u64;
                        batch.file(&e, seq);
                        batch.pending_ids.insert(e.id, batch.pending.len());
                        batch.pending.push(e);
                    }
                }
                if batch.pending.len() >= part {
                    let records = seal(
                        &mut batch,
                        &mut next_seq,
                        recorded_at,
                        recorded_by,
                        &mut prev,
                    );
                    let (store, batch) = (&mut self.store_mut(), &batch);
                    store.stage(&head, &records, batch)?;
                    staged = true;
                    note(&mut report, &records);
                }
            }
            progress(read);
            let records = seal(
                &mut batch,
                &mut next_seq,
                recorded_at,
                recorded_by,
                &mut prev,
            );
            if staged {
                self.store_mut().stage(&head, &records, &batch)?;
                // The batch's maps (tens of bytes an event) are done with:
                // freed before the store's commit, which has its own peak.
                batch = Batch::new(head.seq);
                self.store_mut().commit_staged(&head)?;
            } else if !records.is_empty() {
                self.store_mut().commit(&head, &records)?;
            }
            note(&mut report, &records);
            Ok(())
        })();
        self.forget();
        if let Err(e) = outcome {
            return Err(self.undo(staged, e));
        }
        Ok(report)
    }
}

impl<S: Store> Ledger<S> {
    /// Restores a stream of exported entries (each with its line number), as
    /// [`Ledger::import`] does a whole export, in memory that does not grow
    /// with the stream: into an empty ledger, or resuming one whose log is a
    /// prefix of it; all-or-nothing.
    pub fn import_stream(
        &mut self,
        records: impl Iterator<Item = Result<(usize, Record)>>,
        opts: &ImportOptions,
        progress: impl FnMut(u64),
    ) -> Result<ImportReport> {
        self.import_stream_in_parts(records, opts, STAGE_EVERY, progress)
    }

    /// [`Ledger::import_stream`], staging every `part` entries.
    pub fn import_stream_in_parts(
        &mut self,
        records: impl Iterator<Item = Result<(usize, Record)>>,
        opts: &ImportOptions,
        part: usize,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportReport> {
        let part = part.max(1);
        let head = self.store().read_head()?;
        self.forget();
        let latest = opts.now + chrono::Duration::seconds(CLOCK_SKEW_SECONDS);
        let mut batch = Batch::new(head.seq);
        let mut pending: Vec<Record> = Vec::new();
        let mut staged = false;
        let mut prev = GENESIS;
        let mut last_recorded: Option<Time> = None;
        let mut count = 0u64;
        let mut restored = 0u64;
        let outcome = (|| -> Result<()> {
            for item in records {
                let (line, r) = item?;
                let here = |e: Error| e.context(format!("line {line}"));
                let expected = count + 1;
                if r.seq != expected {
                    return Err(here(Error::invalid(format!(
                        "field `seq` is {}, but the log must run 1, 2, 3, … without gaps (expected {expected})",
                        r.seq
                    )))
                    .with_hint(Hint::ImportWholeExport));
                }
                if r.compute_hash(&prev) != r.hash {
                    return Err(here(Error::new(
                        ErrorKind::Verification,
                        "field `hash` does not match the entry and the one before it (the file was changed after export)",
                    )));
                }
                if last_recorded.is_some_and(|l| r.recorded_at < l) {
                    return Err(here(Error::invalid(
                        "field `recorded_at` goes back in time",
                    )));
                }
                if !opts.accept_future_times && r.recorded_at > latest {
                    return Err(here(Error::invalid(format!(
                        "field `recorded_at` is {}, later than now ({}) by more than the {} minutes of clock difference allowed, and every later entry would be stamped that late",
                        fmt_recorded(&r.recorded_at),
                        fmt_recorded(&opts.now),
                        CLOCK_SKEW_SECONDS / 60
                    )))
                    .with_hint(Hint::AcceptFutureTimes));
                }
                last_recorded = Some(r.recorded_at);
                prev = r.hash;
                count = expected;
                if count.is_multiple_of(4096) {
                    progress(count);
                }
                if r.seq <= head.seq {
                    if self.store().get(r.seq)?.as_ref() != Some(&r) {
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            format!(
                                "line {line}: the ledger's log is not a prefix of the file: they differ at seq {}",
                                r.seq
                            ),
                        )
                        .with_hint(Hint::ImportIntoEmptyLedger));
                    }
                    continue;
                }
                if r.seq == head.seq + 1 && head.recorded_at.is_some_and(|l| r.recorded_at < l) {
                    return Err(here(Error::invalid(
                        "field `recorded_at` is earlier than the ledger's last entry",
                    )));
                }
                match self.check(&r.event, &batch).map_err(here)? {
                    Check::Duplicate | Check::Repeated => {
                        return Err(here(Error::invalid(format!(
                            "field `id`: event {} appears twice",
                            r.event.id
                        ))))
                    }
                    Check::New => {}
                }
                batch.file(&r.event, r.seq);
                batch.pending_ids.insert(r.event.id, batch.pending.len());
                batch.pending.push(r.event.clone());
                pending.push(r);
                if pending.len() >= part {
                    batch.pending.clear();
                    batch.pending_ids.clear();
                    let (store, b) = (&mut self.store_mut(), &batch);
                    store.stage(&head, &pending, b)?;
                    staged = true;
                    restored += pending.len() as u64;
                    pending.clear();
                }
            }
            progress(count);
            if count < head.seq {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "the ledger holds {} entries but the file only {count}, so the file cannot continue it",
                        head.seq
                    ),
                )
                .with_hint(Hint::ImportIntoEmptyLedger));
            }
            restored += pending.len() as u64;
            if staged {
                self.store_mut().stage(&head, &pending, &batch)?;
                batch = Batch::new(head.seq);
                self.store_mut().commit_staged(&head)?;
            } else if !pending.is_empty() {
                self.store_mut().commit(&head, &pending)?;
            }
            Ok(())
        })();
        self.forget();
        if let Err(e) = outcome {
            return Err(self.undo(staged, e));
        }
        Ok(ImportReport {
            restored,
            already: head.seq,
        })
    }

    /// After a failed streamed write: takes out what was staged.
    fn undo(&mut self, staged: bool, e: Error) -> Error {
        if staged {
            if let Err(undo) = self.store_mut().abort_staged() {
                return Error::new(
                    undo.kind(),
                    format!(
                        "{}; taking out what was written failed too ({}), and reopening the ledger finishes it",
                        e.message(),
                        undo.message()
                    ),
                );
            }
        }
        e
    }
}

/// Seals the pending events after `prev`, and empties the batch's pending part.
fn seal(
    batch: &mut Batch,
    next_seq: &mut u64,
    recorded_at: Time,
    recorded_by: Option<&str>,
    prev: &mut [u8; 32],
) -> Vec<Record> {
    batch.pending_ids.clear();
    let events = std::mem::take(&mut batch.pending);
    let records = Record::seal_all_as(events, *next_seq, recorded_at, recorded_by, prev);
    if let Some(last) = records.last() {
        *next_seq = last.seq + 1;
        *prev = last.hash;
    }
    records
}

fn note(report: &mut StreamReport, records: &[Record]) {
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        report.appended += records.len() as u64;
        report.seqs = Some(match report.seqs {
            Some((a, _)) => (a, last.seq),
            None => (first.seq, last.seq),
        });
    }
}

/// Given/when/then checks of streamed appends over any store (run by the
/// conformance suite for every backend).
#[cfg(any(test, feature = "testing"))]
pub mod tests {
    use super::*;
    use crate::store::conformance::{asserted, fill, followup, t, void};
    use crate::ErrorKind;

    fn incoming(events: Vec<Event>) -> Vec<Result<Incoming>> {
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| {
                Ok(Incoming {
                    line: Some(i + 1),
                    event,
                })
            })
            .collect()
    }

    fn story(n: u128) -> Vec<Event> {
        let mut events = Vec::new();
        for i in 0..n {
            events.push(asserted(
                1000 + i * 4,
                9000 + i,
                "bulk",
                "2020-07-12T10:00:00Z",
                None,
            ));
            events.push(followup(1001 + i * 4, 9000 + i, "2020-07-12T11:00:00Z"));
            if i % 4 == 1 {
                events.push(void(1002 + i * 4, 1001 + (i - 1) * 4));
            }
        }
        events
    }

    fn export(l: &Ledger<Box<dyn Store>>) -> Vec<Record> {
        l.store().scan(1).map(|r| r.unwrap()).collect()
    }

    /// Given a ledger, when a stream is appended in parts of 7, then the
    /// log is what one `append` of the same events writes, and a stream
    /// refused on its last line, or repeating an id with other content in a
    /// later part, writes nothing and leaves the ledger usable.
    pub fn streamed_appends_in_parts_are_all_or_nothing(mut make: impl FnMut() -> Box<dyn Store>) {
        let now = t("2026-01-01T00:00:00Z");
        let mut streamed = Ledger::new(make());
        let mut batched = Ledger::new(make());
        fill(streamed.store_mut());
        fill(batched.store_mut());
        let before = export(&streamed);

        let mut bad = story(20);
        bad.push(followup(7777, 424242, "2020-07-12T11:00:00Z"));
        let e = streamed
            .append_stream_in_parts(incoming(bad).into_iter(), now, 7, |_| {})
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e:?}");
        assert!(e.message().contains("line 46"), "{}", e.message());
        assert_eq!(export(&streamed), before);

        let mut clash = story(20);
        let mut other = clash[3].clone();
        if let Body::FollowedUp(f) = &mut other.body {
            f.by = "someone else".into();
        }
        clash.push(other);
        let e = streamed
            .append_stream_in_parts(incoming(clash).into_iter(), now, 7, |_| {})
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e:?}");
        assert_eq!(export(&streamed), before);

        let mut good = story(20);
        good.push(good[2].clone());
        let report = streamed
            .append_stream_in_parts(incoming(good.clone()).into_iter(), now, 7, |_| {})
            .unwrap();
        assert_eq!(report.repeated, 1);
        let batch = good
            .into_iter()
            .map(|event| Incoming { line: None, event })
            .collect();
        let appended = batched.append(batch, now).unwrap().appended;
        assert_eq!(report.appended, appended.len() as u64);
        assert_eq!(export(&streamed), export(&batched));
        streamed.verify(|_| {}).unwrap();

        // Again: every event is already there.
        let again = streamed
            .append_stream_in_parts(incoming(story(20)).into_iter(), now, 7, |_| {})
            .unwrap();
        assert_eq!((again.appended, again.unchanged), (0, 45));

        // Its export restores, in parts, into an empty ledger and resumes a
        // ledger holding a prefix of it; a changed entry restores nothing.
        let log = export(&streamed);
        let lines = |log: &[Record]| -> Vec<Result<(usize, Record)>> {
            log.iter()
                .cloned()
                .enumerate()
                .map(|(i, r)| Ok((i + 1, r)))
                .collect()
        };
        let opts = ImportOptions {
            now,
            accept_future_times: false,
        };
        let mut restored = Ledger::new(make());
        let mut tampered = log.clone();
        if let Body::FollowedUp(f) = &mut tampered[30].event.body {
            f.by = "tampered".into();
        } else if let Body::Asserted(a) = &mut tampered[30].event.body {
            a.by = "tampered".into();
        }
        let e = restored
            .import_stream_in_parts(lines(&tampered).into_iter(), &opts, 7, |_| {})
            .unwrap_err();
        assert!(e.message().contains("line 31"), "{}", e.message());
        assert_eq!(restored.store().head().seq, 0);
        let report = restored
            .import_stream_in_parts(lines(&log).into_iter(), &opts, 7, |_| {})
            .unwrap();
        assert_eq!(report.restored, log.len() as u64);
        assert_eq!(export(&restored), log);
        restored.verify(|_| {}).unwrap();
        let mut resumed = Ledger::new(make());
        resumed
            .import_stream_in_parts(lines(&log[..10]).into_iter(), &opts, 7, |_| {})
            .unwrap();
        let report = resumed
            .import_stream_in_parts(lines(&log).into_iter(), &opts, 7, |_| {})
            .unwrap();
        assert_eq!(
            (report.already, report.restored),
            (10, log.len() as u64 - 10)
        );
        assert_eq!(export(&resumed), log);
    }

    #[test]
    fn on_the_memory_store() {
        streamed_appends_in_parts_are_all_or_nothing(|| Box::new(crate::MemStore::new()));
    }
}
