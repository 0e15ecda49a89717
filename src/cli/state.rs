//! `claims state`: the belief state at a valid time, as known at a recorded time.

use std::io::Write;

use serde_json::Value;
use uuid::Uuid;

use claims_core::event::Body;
use claims_core::projection::{Standing, View};
use claims_core::query::{entry_json, pending_claim_json, Scope};
use claims_core::stream::{Items, StateItem};
use claims_core::time::fmt_time;
use claims_core::{Error, Result};

use super::table::Col;
use super::{json_out, render, Ctx};

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
    let view = View::new(at, as_of);
    let items = ledger.state_items(view, &scope)?;
    if args.json {
        return json(ctx, &view, items);
    }
    let tz = ctx.tz();
    ctx.out(&format!(
        "State of {} at {}, as known at {}\n",
        args.story.as_deref().unwrap_or("all stories"),
        render::time(&at, tz),
        render::time(&as_of, tz)
    ))?;
    // A story's claims are few: name them by per-id look-ups. The whole
    // ledger's are many: read the claim ids once.
    if scope.story.is_some() {
        let items: Vec<StateItem> = items.collect::<Result<_>>()?;
        let ids: Vec<Uuid> = items.iter().map(|i| i.claim()).collect();
        let map = render::short_ids(&ledger, &ids)?;
        return table(ctx, Box::new(items.into_iter().map(Ok)), &|id| {
            Ok(map[&id].clone())
        });
    }
    let all = ledger.short_ids()?;
    table(ctx, items, &|id| {
        Ok(render::dashed_prefix(id, all.digits(id)))
    })
}

fn table(
    ctx: &Ctx,
    items: Items<'_, StateItem>,
    short: &dyn Fn(Uuid) -> Result<String>,
) -> Result<()> {
    let tz = ctx.tz();
    let mut pending_claims = Vec::new();
    let mut t = None;
    for item in items {
        let item = item?;
        let Some(st) = item.present() else {
            pending_claims.push(item);
            continue;
        };
        let Body::Asserted(a) = &item.asserted.event.body else {
            continue;
        };
        let t = t.get_or_insert_with(|| {
            ctx.table(vec![
                Col::fit_min("claim", 8, 36),
                Col::fit_min("status", 8, 12),
                Col::fit_min("since", 16, 24),
                Col::fit_min("by", 6, 24),
                Col::flex("claim text", 12),
                Col::fit_min("pending", 7, 28),
            ])
        });
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
            short(a.claim)?,
            st.status.as_str().to_string(),
            render::time(&st.since, tz),
            a.by.clone(),
            a.text.clone(),
            pending.join(", "),
        ])?;
    }
    match t {
        Some(t) => ctx.end_table(t)?,
        None => ctx.out("No claim counts at that time.\n")?,
    }
    if !pending_claims.is_empty() {
        let mut s = String::from("\nPossibly asserted by then, not certainly (pending):\n");
        for item in &pending_claims {
            let Body::Asserted(a) = &item.asserted.event.body else {
                continue;
            };
            s.push_str(&format!(
                "  {}  {}: {}  [{}]\n",
                short(a.claim)?,
                render::clean(&a.by),
                render::clean(&a.text),
                render::valid(&a.valid, tz)
            ));
        }
        ctx.out(&s)?;
    }
    Ok(())
}

/// SPEC's `state` JSON, written claim by claim.
fn json(ctx: &Ctx, view: &View, items: Items<'_, StateItem>) -> Result<()> {
    let io = |e| Error::io("writing to standard output", e);
    let mut w = ctx.json_writer();
    let mut pending = Vec::new();
    w.write_all(b"{").map_err(io)?;
    json_out::key(&mut w, 0, "at", true).map_err(io)?;
    w.write_all(json_out::pretty_at(&fmt_time(&view.at).into(), 1).as_bytes())
        .map_err(io)?;
    json_out::key(&mut w, 0, "as_of", false).map_err(io)?;
    w.write_all(json_out::pretty_at(&fmt_time(&view.as_of).into(), 1).as_bytes())
        .map_err(io)?;
    json_out::key(&mut w, 0, "claims", false).map_err(io)?;
    let mut claims = json_out::Array::open(&mut w, 1).map_err(io)?;
    for item in items {
        let item = item?;
        match item.standing {
            Standing::Present(_) => claims
                .item(&mut w, &entry_json(&item.asserted, &item.standing))
                .map_err(io)?,
            _ => pending.push(pending_claim_json(&item.asserted)),
        }
    }
    claims.close(&mut w).map_err(io)?;
    json_out::key(&mut w, 0, "pending", false).map_err(io)?;
    w.write_all(json_out::pretty_at(&Value::Array(pending), 1).as_bytes())
        .map_err(io)?;
    w.write_all(b"\n}\n").map_err(io)?;
    w.flush().map_err(io)
}
