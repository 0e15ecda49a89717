//! `claims verify`: recomputes the hash chain.

use claims_core::Result;

use super::{Ctx, Progress};

/// Recompute the hash chain from the first entry and check every index
/// against the log; prints the entry count and the head hash.
///
/// Exits 1 naming the first bad seq if any entry was changed, removed or
/// reordered.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &Ctx, _args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    let mut progress = Progress::new(
        ctx,
        claims_core::Store::head(ledger.store()).seq,
        "verifying",
    );
    let report = ledger.verify(|n| progress.set(n))?;
    progress.finish();
    ctx.out(&format!(
        "ok: {} events, head {}\n",
        report.count,
        hex::encode(report.head)
    ))
}
