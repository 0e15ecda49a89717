//! `claims stories`: stories with claim and event counts.

use std::collections::HashSet;

use claims_core::store::Role;
use claims_core::{Result, Store};

use super::{render, Ctx};

/// Stories in the ledger, with their claim and event counts.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON: [{"story","claims","events"}].
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    let store = ledger.store();
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
        rows.push((story, claims.len(), events.len()));
    }
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|(s, c, e)| serde_json::json!({"story": s, "claims": c, "events": e}))
            .collect();
        return ctx.out(&render::json(&serde_json::Value::Array(v)));
    }
    if rows.is_empty() {
        return ctx.out("The ledger holds no stories yet.\n");
    }
    let mut t = render::table(ctx, &["story", "claims", "events"]);
    for (s, c, e) in rows {
        t.add_row(vec![s, c.to_string(), e.to_string()]);
    }
    ctx.out(&format!("{t}\n"))
}
