//! Index maintenance, shared by commit and recovery: the index elements of
//! records (`claims_core::store::index_entries` in this store's element
//! layout) and the chunk writes that add or take them out.

use claims_core::error::Result;
use claims_core::record::Record;
use claims_core::store::{index_entries, BatchLookup, IndexEntry};

use crate::keys::{
    claim_element, header_element, id_element, story_element, summary_element, valid_key,
};
use crate::packed;
use crate::{from_sled, SledStore};

impl SledStore {
    /// Index entries of `records`, looking earlier entries up in `records`
    /// first, then in the committed log.
    pub(crate) fn derive(&self, records: &[Record]) -> Result<Vec<IndexEntry>> {
        let mut lookup = BatchLookup::new(self, records);
        let mut out = Vec::with_capacity(records.len() * 5);
        for (i, r) in records.iter().enumerate() {
            out.extend(index_entries(r, &mut lookup)?);
            lookup.add(i);
        }
        Ok(out)
    }

    /// The chunk writes, per index tree (in [`Self::index_trees`] order), that
    /// add (`insert`) or take out `entries`.
    pub(crate) fn index_writes(
        &self,
        entries: &[IndexEntry],
        insert: bool,
    ) -> Result<[Vec<packed::Write>; 5]> {
        // Fixed-size elements sort as arrays, without an allocation each.
        let mut ids: Vec<[u8; 24]> = Vec::new();
        let mut claims: Vec<[u8; 25]> = Vec::new();
        let mut stories: Vec<Vec<u8>> = Vec::new();
        let mut valid: Vec<[u8; 20]> = Vec::new();
        let mut summary: Vec<Vec<u8>> = Vec::new();
        for e in entries {
            match e {
                IndexEntry::EventId(id, seq) => ids.push(id_element(*id, *seq)),
                IndexEntry::Claim(c, seq, role) => claims.push(claim_element(*c, *seq, *role)),
                IndexEntry::Story(s, c, seq) => stories.push(story_element(s, *c, *seq)),
                IndexEntry::ValidTo(t, seq) => valid.push(valid_key(t, *seq)),
                IndexEntry::Summary(claim_seq, f) => summary.push(summary_element(*claim_seq, f)),
                IndexEntry::Header(claim_seq, h) => summary.push(header_element(*claim_seq, h)),
            }
        }
        fn planned<E: AsRef<[u8]> + Ord>(
            tree: &sled::Tree,
            mut el: Vec<E>,
            insert: bool,
        ) -> Result<Vec<packed::Write>> {
            if el.is_empty() {
                return Ok(Vec::new());
            }
            el.sort_unstable();
            el.dedup();
            if insert {
                packed::plan(tree, &el, &[])
            } else {
                packed::plan(tree, &[], &el)
            }
        }
        Ok([
            planned(&self.ids, ids, insert)?,
            planned(&self.claims, claims, insert)?,
            planned(&self.stories, stories, insert)?,
            planned(&self.valid, valid, insert)?,
            planned(&self.summary, summary, insert)?,
        ])
    }

    pub(crate) fn apply_index(&self, entries: &[IndexEntry], insert: bool) -> Result<()> {
        self.write_index(self.index_writes(entries, insert)?)
    }

    /// Writes chunk writes from [`Self::index_writes`], one sled batch a tree.
    pub(crate) fn write_index(&self, writes: [Vec<packed::Write>; 5]) -> Result<()> {
        for (tree, ws) in self.index_trees().into_iter().zip(writes) {
            let mut batch = sled::Batch::default();
            for (k, v) in ws {
                match v {
                    Some(v) => batch.insert(k, v),
                    None => batch.remove(k),
                }
            }
            tree.apply_batch(batch).map_err(from_sled)?;
        }
        Ok(())
    }
}
