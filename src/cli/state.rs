//! `claims state`: the belief state at a valid time, as known at a recorded time.

use claims_core::projection::{Standing, View};
use claims_core::query::Scope;
use claims_core::Result;

use super::table::Col;
use super::{render, Ctx};

/// The belief state: every claim's status at valid time --at, as the ledger
/// knew it at recorded time --as-of.
///
/// An event counts when it certainly happened by --at (its whole interval
/// lies before it); one that only possibly happened is listed as pending.
/// A bare date means the end of that day in --tz.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Valid time: what stood then (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Recorded time: as the ledger knew it then (default: now).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Only this story.
    #[arg(long)]
    pub story: Option<String>,
    /// Print SPEC's JSON shape instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    let at = ctx
        .query_time(args.at.as_deref())
        .map_err(|e| e.context("--at"))?;
    let as_of = ctx
        .query_time(args.as_of.as_deref())
        .map_err(|e| e.context("--as-of"))?;
    let scope = Scope {
        story: args.story.clone(),
        claim: None,
    };
    let report = ledger.state(View::new(at, as_of), &scope)?;
    if args.json {
        return ctx.out_json(&report.to_json());
    }
    let tz = ctx.tz();
    ctx.out(&format!(
        "State of {} at {}, as known at {}\n",
        args.story.as_deref().unwrap_or("all stories"),
        render::time(&at, tz),
        render::time(&as_of, tz)
    ))?;
    let ids: Vec<_> = report
        .claims
        .iter()
        .chain(&report.pending)
        .map(|h| h.claim)
        .collect();
    let short = render::short_ids(&ledger, &ids)?;
    if report.claims.is_empty() {
        ctx.out("No claim counts at that time.\n")?;
    } else {
        let mut t = ctx.table(vec![
            Col::fit_min("claim", 8, 36),
            Col::fit_min("status", 8, 12),
            Col::fit_min("since", 16, 24),
            Col::fit_min("by", 6, 24),
            Col::flex("claim text", 12),
            Col::fit_min("pending", 7, 28),
        ]);
        for h in &report.claims {
            let a = h.assertion().expect("asserted");
            let Standing::Present(st) = h.state(&report.view) else {
                continue;
            };
            let pending: Vec<String> = st
                .pending
                .iter()
                .map(|r| {
                    format!(
                        "{} ({})",
                        r.event.kind().as_str(),
                        r.event.by().unwrap_or("")
                    )
                })
                .collect();
            t.add(vec![
                short[&h.claim].clone(),
                st.status.as_str().to_string(),
                render::time(&st.since, tz),
                a.by.clone(),
                a.text.clone(),
                pending.join(", "),
            ])?;
        }
        ctx.end_table(t)?;
    }
    if !report.pending.is_empty() {
        let mut s = String::from("\nPossibly asserted by then, not certainly (pending):\n");
        for h in &report.pending {
            let a = h.assertion().expect("asserted");
            s.push_str(&format!(
                "  {}  {}: {}  [{}]\n",
                short[&h.claim],
                render::clean(&a.by),
                render::clean(&a.text),
                render::valid(&a.valid, tz)
            ));
        }
        ctx.out(&s)?;
    }
    Ok(())
}
