//! `claims stories`: stories with claim and event counts.

use claims_core::Result;

use super::table::Col;
use super::Ctx;

/// Stories in the ledger, with their claim and event counts.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON: [{"story","claims","events"}].
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    let rows = ledger.story_summaries()?;
    if args.json {
        let v = serde_json::to_value(&rows).expect("a story summary is JSON");
        return ctx.out_json(&v);
    }
    if rows.is_empty() {
        return ctx.out("The ledger holds no stories yet.\n");
    }
    let mut t = ctx.table(vec![
        Col::flex("story", 12),
        Col::fit("claims", 12),
        Col::fit("events", 12),
    ]);
    for r in rows {
        t.add(vec![r.story, r.claims.to_string(), r.events.to_string()])?;
    }
    ctx.end_table(t)
}
