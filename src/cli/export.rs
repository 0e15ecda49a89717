//! `claims export`: the log as NDJSON, with seq, recorded time and hash.

use std::io::Write;

use claims_core::event::Body;
use claims_core::{Error, Result, Store};

use super::Ctx;

/// Write the log as NDJSON with `seq`, `recorded_at` and `hash` (a backup that
/// `claims import` restores exactly).
///
/// With --story, only that story's entries (its assertions, their events and
/// voids of them): for reading and sharing; `import` needs a whole export.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this story.
    #[arg(long)]
    pub story: Option<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, ctx.io().stdout());
    let mut keep: Option<std::collections::HashSet<uuid::Uuid>> = None;
    if let Some(story) = &args.story {
        let mut seqs = std::collections::HashSet::new();
        for (claim, _) in ledger.store().story_claims(story)? {
            for (seq, _) in ledger.store().claim_entries(claim)? {
                seqs.insert(seq);
            }
        }
        let mut ids = std::collections::HashSet::new();
        for seq in seqs {
            if let Some(r) = ledger.store().get(seq)? {
                ids.insert(r.event.id);
            }
        }
        keep = Some(ids);
    }
    for r in ledger.store().scan(1) {
        let r = r?;
        if let Some(keep) = &keep {
            let wanted = keep.contains(&r.event.id)
                || matches!(&r.event.body, Body::Voided(v) if keep.contains(&v.target));
            if !wanted {
                continue;
            }
        }
        let line = r.to_line();
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(Error::io("writing the export", e));
        }
    }
    out.flush().or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(Error::io("writing the export", e))
        }
    })
}
