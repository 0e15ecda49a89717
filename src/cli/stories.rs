//! `claims stories`: stories with claim and event counts.

use claims_core::listing::StorySummary;
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
    let rows = match ctx.server() {
        Some(r) => {
            if args.json {
                return ctx.out_raw(&r.get_bytes("/v1/stories", &())?);
            }
            let doc: Vec<serde_json::Value> = r.get_json("/v1/stories", &())?;
            doc.iter()
                .map(|v| {
                    let count = |k: &str| {
                        v.get(k)
                            .and_then(|n| n.as_u64())
                            .map(|n| n as usize)
                            .ok_or_else(|| r.garbled(format!("no `{k}` in a story")))
                    };
                    Ok(StorySummary {
                        story: v
                            .get("story")
                            .and_then(|s| s.as_str())
                            .ok_or_else(|| r.garbled("no `story` in a story"))?
                            .to_string(),
                        claims: count("claims")?,
                        events: count("events")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        }
        None => {
            let ledger = ctx.open_read()?;
            let rows = ledger.story_summaries()?;
            if args.json {
                let mut w = ctx.json_writer();
                return claims_api::answer::stories(&mut w, &rows)
                    .map_err(|f| f.into_error("writing to standard output"));
            }
            rows
        }
    };
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
