//! Fault injection at the store boundary (feature `testing`): a [`Store`]
//! wrapper that fails chosen commits, or lets "another writer" commit just
//! before one, so that tests can check what the ledger does when a write
//! fails or loses a race. Reads, and the accounts, pass straight through.

use std::collections::VecDeque;

use uuid::Uuid;

use super::{Head, IdRange, Role, Store};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::record::Record;
use crate::time::Time;

/// What to do at one commit.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Let the commit through.
    Pass,
    /// Fail it with an I/O error (ENOSPC) before anything is written.
    Fail,
    /// Before it, commit these events to the inner store as another writer
    /// would (sealed on the inner store's head, recorded at the given time),
    /// then pass the commit on, which then finds the head moved.
    Race(Vec<Event>, Time),
}

/// A store whose commits follow a script of [`Fault`]s, one a commit (then
/// [`Fault::Pass`] once the script is used up).
pub struct Faulty<S: Store> {
    inner: S,
    script: VecDeque<Fault>,
    /// How many commits were attempted through this wrapper.
    pub commits: usize,
}

impl<S: Store> Faulty<S> {
    /// Wraps `inner` with a script of faults.
    pub fn new(inner: S, script: impl IntoIterator<Item = Fault>) -> Self {
        Faulty {
            inner,
            script: script.into_iter().collect(),
            commits: 0,
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Store> Store for Faulty<S> {
    fn head(&self) -> Head {
        self.inner.head()
    }

    fn read_head(&self) -> Result<Head> {
        self.inner.read_head()
    }

    fn commit(&mut self, expected: &Head, records: &[Record]) -> Result<()> {
        self.commits += 1;
        match self.script.pop_front().unwrap_or(Fault::Pass) {
            Fault::Pass => {}
            Fault::Fail => {
                return Err(Error::io(
                    "writing the ledger",
                    std::io::Error::from_raw_os_error(28),
                ))
            }
            Fault::Race(events, at) => {
                let head = self.inner.read_head()?;
                let theirs = Record::seal_all(events, head.seq + 1, at, &head.hash);
                self.inner.commit(&head, &theirs)?;
            }
        }
        self.inner.commit(expected, records)
    }

    fn stage(
        &mut self,
        expected: &Head,
        records: &[Record],
        staged: &dyn crate::store::StagedIndex,
    ) -> Result<()> {
        self.inner.stage(expected, records, staged)
    }

    fn commit_staged(&mut self, expected: &Head) -> Result<()> {
        self.inner.commit_staged(expected)
    }

    fn abort_staged(&mut self) -> Result<()> {
        self.inner.abort_staged()
    }

    fn get(&self, seq: u64) -> Result<Option<Record>> {
        self.inner.get(seq)
    }

    fn scan(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Record>> + '_> {
        self.inner.scan(from_seq)
    }

    fn seq_of_event(&self, id: Uuid) -> Result<Option<u64>> {
        self.inner.seq_of_event(id)
    }

    fn event_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        self.inner.event_ids_in(range, limit)
    }

    fn claim_ids_in(&self, range: IdRange, limit: usize) -> Result<Vec<Uuid>> {
        self.inner.claim_ids_in(range, limit)
    }

    fn claim_entries(&self, claim: Uuid) -> Result<Vec<(u64, Role)>> {
        self.inner.claim_entries(claim)
    }

    fn story_claims(&self, story: &str) -> Result<Vec<(Uuid, u64)>> {
        self.inner.story_claims(story)
    }

    fn stories(&self) -> Result<Vec<String>> {
        self.inner.stories()
    }

    fn seqs_by_valid_to(&self, lo: Time, hi: Time) -> Result<Vec<u64>> {
        self.inner.seqs_by_valid_to(lo, hi)
    }

    fn summaries(
        &self,
        from_claim_seq: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, crate::summary::Filed)>> + '_> {
        self.inner.summaries(from_claim_seq)
    }

    fn summary(&self, claim_seq: u64) -> Result<Vec<crate::summary::Fact>> {
        self.inner.summary(claim_seq)
    }

    fn stored_index(&self) -> Box<dyn Iterator<Item = Result<crate::store::IndexEntry>> + '_> {
        self.inner.stored_index()
    }

    fn tile(&self, id: crate::tree::TileId) -> Result<Option<Vec<u8>>> {
        self.inner.tile(id)
    }

    fn stored_tiles(
        &self,
    ) -> Box<dyn Iterator<Item = Result<(crate::tree::TileId, Vec<u8>)>> + '_> {
        self.inner.stored_tiles()
    }

    fn accounts(&self) -> Result<Vec<crate::account::Account>> {
        self.inner.accounts()
    }

    /// Passes straight through: the script is one fault a commit, and an
    /// account is not a commit.
    fn put_account(&mut self, account: &crate::account::Account) -> Result<()> {
        self.inner.put_account(account)
    }
}

#[cfg(test)]
mod tests {
    //! Given a ledger over a faulty store, when a commit fails or loses a
    //! race, then the ledger writes all or nothing and re-checks on retry.
    use super::*;
    use crate::error::ErrorKind;
    use crate::store::conformance::{asserted, followup, id, t};
    use crate::store::MemStore;
    use crate::{Incoming, Ledger};

    fn batch(events: Vec<Event>) -> Vec<Incoming> {
        events
            .into_iter()
            .map(|event| Incoming { line: None, event })
            .collect()
    }

    #[test]
    fn a_failed_commit_writes_nothing_and_says_why() {
        let mut ledger = Ledger::new(Faulty::new(MemStore::new(), [Fault::Fail]));
        let now = t("2026-01-01T00:00:00Z");
        let e = ledger
            .append(
                batch(vec![asserted(1, 100, "a", "2020-07-10T10:00:00Z", None)]),
                now,
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert_eq!(ledger.store().head(), Head::EMPTY);
        // The same batch again goes in whole.
        ledger
            .append(
                batch(vec![asserted(1, 100, "a", "2020-07-10T10:00:00Z", None)]),
                now,
            )
            .unwrap();
        assert_eq!(ledger.store().head().seq, 1);
    }

    #[test]
    fn losing_a_race_reseals_on_the_new_head() {
        let now = t("2026-01-01T00:00:00Z");
        let theirs = vec![asserted(1, 100, "a", "2020-07-10T10:00:00Z", None)];
        let mut ledger = Ledger::new(Faulty::new(MemStore::new(), [Fault::Race(theirs, now)]));
        // Ours asserts another claim; the other writer commits first.
        let report = ledger
            .append(
                batch(vec![asserted(2, 200, "b", "2020-07-10T10:00:00Z", None)]),
                now,
            )
            .unwrap();
        assert_eq!(ledger.store().commits, 2, "tried, lost, tried again");
        assert_eq!(report.appended.len(), 1);
        assert_eq!(report.appended[0].seq, 2, "sealed after theirs");
        let verified = ledger.verify(|_| {}).unwrap();
        assert_eq!(verified.count, 2);
        assert_eq!(
            ledger.store().seq_of_event(id(1)).unwrap(),
            Some(1),
            "theirs kept"
        );
    }

    #[test]
    fn losing_a_race_rechecks_the_rules_against_the_new_head() {
        let now = t("2026-01-01T00:00:00Z");
        // The other writer asserts claim 100 first; ours asserts the same
        // claim under another event id: after the re-read it is refused.
        let theirs = vec![asserted(1, 100, "a", "2020-07-10T10:00:00Z", None)];
        let mut ledger = Ledger::new(Faulty::new(MemStore::new(), [Fault::Race(theirs, now)]));
        let e = ledger
            .append(
                batch(vec![asserted(2, 100, "a", "2020-07-10T10:00:00Z", None)]),
                now,
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict, "{e:?}");
        assert_eq!(ledger.store().head().seq, 1, "only theirs");
        // And a follow-up that only the winner's claim makes valid goes in.
        ledger
            .append(batch(vec![followup(3, 100, "2020-07-10T12:00:00Z")]), now)
            .unwrap();
        assert_eq!(ledger.store().head().seq, 2);
    }

    #[test]
    fn an_identical_event_committed_by_the_winner_is_a_no_op_on_retry() {
        let now = t("2026-01-01T00:00:00Z");
        let event = asserted(1, 100, "a", "2020-07-10T10:00:00Z", None);
        let mut ledger = Ledger::new(Faulty::new(
            MemStore::new(),
            [Fault::Race(vec![event.clone()], now)],
        ));
        let report = ledger.append(batch(vec![event]), now).unwrap();
        assert!(report.appended.is_empty());
        assert_eq!(report.unchanged, 1);
        assert_eq!(ledger.store().head().seq, 1);
    }
}
