//! Index maintenance, shared by commit and recovery: the index elements of
//! records (`claims_core::store::index_entries` in this store's element
//! layout) and the chunk writes that add or take them out.

use claims_core::error::Result;
use claims_core::record::Record;
use claims_core::store::{index_entries, BatchLookup, IndexEntry, NothingStaged, StagedIndex};

use crate::keys::{
    claim_element, header_element, id_element, story_element, summary_element, valid_key,
};
use crate::packed;
use crate::{from_sled, SledStore};

impl SledStore {
    /// Index entries of `records`, looking earlier entries up in `records`
    /// first, then in the committed log.
    pub(crate) fn derive(&self, records: &[Record]) -> Result<Vec<IndexEntry>> {
        self.derive_staged(records, &NothingStaged)
    }

    /// [`Self::derive`], consulting what earlier parts of a staged commit
    /// hold before the committed log.
    pub(crate) fn derive_staged(
        &self,
        records: &[Record],
        staged: &dyn StagedIndex,
    ) -> Result<Vec<IndexEntry>> {
        let mut lookup = BatchLookup::staged(self, records, staged);
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
        let el = Elements::of(entries);
        Ok([
            planned(&self.ids, &el.ids, insert)?,
            planned(&self.claims, &el.claims, insert)?,
            planned(&self.stories, &el.stories, insert)?,
            planned(&self.valid, &el.valid, insert)?,
            planned(&self.summary, &el.summary, insert)?,
        ])
    }

    /// For one part of a staged commit: the chunk writes of the trees whose
    /// keys mostly grow with the log (valid time, summaries), and, for the
    /// trees keyed by random ids (event ids, claims, stories), sorted runs
    /// for the `stage` tree, merged into them once at commit
    /// (`staging.rs`), so that no part rewrites their chunks.
    pub(crate) fn staged_writes(
        &self,
        entries: &[IndexEntry],
        part: u32,
    ) -> Result<([Vec<packed::Write>; 5], Vec<packed::Write>)> {
        let el = Elements::of(entries);
        let mut runs = Vec::new();
        crate::staging::run_writes(0, part, &el.ids, &mut runs);
        crate::staging::run_writes(1, part, &el.claims, &mut runs);
        crate::staging::run_writes(2, part, &el.stories, &mut runs);
        Ok((
            [
                Vec::new(),
                Vec::new(),
                Vec::new(),
                planned(&self.valid, &el.valid, true)?,
                planned(&self.summary, &el.summary, true)?,
            ],
            runs,
        ))
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

/// The index elements of some entries, per tree, sorted and without
/// duplicates. Fixed-size elements sort as arrays, without an allocation each.
struct Elements {
    ids: Vec<[u8; 24]>,
    claims: Vec<[u8; 25]>,
    stories: Vec<Vec<u8>>,
    valid: Vec<[u8; 20]>,
    summary: Vec<Vec<u8>>,
}

impl Elements {
    fn of(entries: &[IndexEntry]) -> Elements {
        let mut el = Elements {
            ids: Vec::new(),
            claims: Vec::new(),
            stories: Vec::new(),
            valid: Vec::new(),
            summary: Vec::new(),
        };
        for e in entries {
            match e {
                IndexEntry::EventId(id, seq) => el.ids.push(id_element(*id, *seq)),
                IndexEntry::Claim(c, seq, role) => el.claims.push(claim_element(*c, *seq, *role)),
                IndexEntry::Story(s, c, seq) => el.stories.push(story_element(s, *c, *seq)),
                IndexEntry::ValidTo(t, seq) => el.valid.push(valid_key(t, *seq)),
                IndexEntry::Summary(claim_seq, f) => {
                    el.summary.push(summary_element(*claim_seq, f))
                }
                IndexEntry::Header(claim_seq, h) => el.summary.push(header_element(*claim_seq, h)),
            }
        }
        fn tidy<E: Ord>(v: &mut Vec<E>) {
            v.sort_unstable();
            v.dedup();
        }
        tidy(&mut el.ids);
        tidy(&mut el.claims);
        tidy(&mut el.stories);
        tidy(&mut el.valid);
        tidy(&mut el.summary);
        el
    }
}

fn planned<E: AsRef<[u8]>>(
    tree: &sled::Tree,
    el: &[E],
    insert: bool,
) -> Result<Vec<packed::Write>> {
    if el.is_empty() {
        return Ok(Vec::new());
    }
    if insert {
        packed::plan(tree, el, &[])
    } else {
        packed::plan(tree, &[], el)
    }
}
