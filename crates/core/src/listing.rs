//! Whole-ledger listings that are not projections: the stories with their
//! counts, and the log (or one story's part of it) as it is exported.

use std::collections::HashSet;

use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Hint, Result};
use crate::event::Body;
use crate::ledger::Ledger;
use crate::record::Record;
use crate::store::{Role, Store};

/// One story in the ledger, as `claims stories` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorySummary {
    /// The slug.
    pub story: String,
    /// Claims asserted in it.
    pub claims: usize,
    /// Log entries about its claims: assertions, follow-ups and voids of
    /// them (an assertion in another story that supersedes one of its
    /// claims is counted in that story, not here).
    pub events: usize,
}

impl<S: Store> Ledger<S> {
    /// Every story, sorted by slug, with its counts. Reads the story and
    /// claim indexes only.
    pub fn story_summaries(&self) -> Result<Vec<StorySummary>> {
        let store = self.store();
        let mut rows = Vec::new();
        for story in store.stories()? {
            let claims = store.story_claims(&story)?;
            let mut events = HashSet::new();
            for (c, _) in &claims {
                for (seq, role) in store.claim_entries(*c)? {
                    if role != Role::Superseding {
                        events.insert(seq);
                    }
                }
            }
            rows.push(StorySummary {
                story,
                claims: claims.len(),
                events: events.len(),
            });
        }
        Ok(rows)
    }

    /// The log in seq order, as an export writes it; with `story`, only that
    /// story's entries: its assertions, the events on its claims, and voids
    /// of those. A story with no claims is `NotFound`.
    pub fn export_entries(
        &self,
        story: Option<&str>,
    ) -> Result<Box<dyn Iterator<Item = Result<Record>> + '_>> {
        let Some(story) = story else {
            return Ok(self.store().scan(1));
        };
        let keep = self.story_event_ids(story)?;
        Ok(Box::new(self.store().scan(1).filter(move |r| match r {
            Ok(r) => {
                keep.contains(&r.event.id)
                    || matches!(&r.event.body, Body::Voided(v) if keep.contains(&v.target))
            }
            Err(_) => true,
        })))
    }

    /// The ids of the entries the claim index files under a story's claims.
    fn story_event_ids(&self, story: &str) -> Result<HashSet<Uuid>> {
        let store = self.store();
        let claims = store.story_claims(story)?;
        if claims.is_empty() {
            return Err(
                Error::not_found(format!("there is no story `{story}` in the ledger"))
                    .with_hint(Hint::ListStories),
            );
        }
        let mut seqs = HashSet::new();
        for (claim, _) in claims {
            for (seq, _) in store.claim_entries(claim)? {
                seqs.insert(seq);
            }
        }
        let mut ids = HashSet::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(r) = store.get(seq)? {
                ids.insert(r.event.id);
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::store::conformance::{fill, id};
    use crate::store::MemStore;

    fn ledger() -> Ledger<MemStore> {
        let mut store = MemStore::new();
        fill(&mut store);
        Ledger::new(store)
    }

    #[test]
    fn stories_are_counted_from_the_indexes() {
        // Given claim 100 in story a (asserted, disputed) and claim 200 in
        // story b (asserted, superseding 100, then voided).
        let rows = ledger().story_summaries().unwrap();
        let counts: Vec<_> = rows
            .iter()
            .map(|r| (r.story.as_str(), r.claims, r.events))
            .collect();
        // The void of 200's assertion counts in b; b's superseding
        // assertion counts in b only.
        assert_eq!(counts, [("a", 1, 3), ("b", 1, 2)]);
    }

    #[test]
    fn a_story_export_keeps_its_entries_and_voids_of_them() {
        let l = ledger();
        let ids = |story| {
            l.export_entries(Some(story))
                .unwrap()
                .map(|r| r.unwrap().event.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("b"), [id(3), id(4)]);
        // Story a's export carries what changed its claim's status: b's
        // superseding assertion, and the void of that.
        assert_eq!(ids("a"), [id(1), id(2), id(3), id(4)]);
        assert_eq!(l.export_entries(None).unwrap().count(), 4);
    }

    #[test]
    fn an_unknown_story_is_not_found() {
        let e = match ledger().export_entries(Some("typo")) {
            Err(e) => e,
            Ok(_) => panic!("exported an unknown story"),
        };
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.hint(), Some(&Hint::ListStories));
    }
}
