//! `claims state`: the belief state at a valid time, as known at a recorded time.

use uuid::Uuid;

use claims_core::event::{Asserted, Body};
use claims_core::projection::View;
use claims_core::query::Scope;
use claims_core::stream::{Items, StateItem};
use claims_core::Result;

use super::backend::AnyLedger;
use super::remote::Remote;
use super::table::Col;
use super::{answers, pipeline, render, Ctx};
use claims_api::params::StateParams;

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
    if let Some(r) = ctx.server() {
        return remote(ctx, r, args);
    }
    let ledger = ctx.open_read()?;
    let view = ctx.view(args.at.as_deref(), args.as_of.as_deref())?;
    let (at, as_of) = (view.at, view.as_of);
    let scope = Scope {
        story: args.story.clone(),
        claim: None,
    };
    let whole = scope.story.is_none();
    let guard = ledger;
    let ledger: &AnyLedger = &guard;
    if args.json {
        if whole {
            return pipeline::run(
                || ledger.state_items(view, &scope),
                |items| json(ctx, &view, items),
            );
        }
        return json(ctx, &view, ledger.state_items(view, &scope)?);
    }
    // Refuse an unknown story before printing anything.
    let items = if whole {
        None
    } else {
        Some(ledger.state_items(view, &scope)?)
    };
    let tz = ctx.tz();
    ctx.out(&format!(
        "State of {} at {}, as known at {}\n",
        args.story.as_deref().unwrap_or("all stories"),
        render::time(&at, tz),
        render::time(&as_of, tz)
    ))?;
    let Some(items) = items else {
        // The whole ledger's claims are many: read their ids once.
        let all = ledger.short_ids()?;
        return pipeline::run(
            || ledger.state_items(view, &scope),
            |items| {
                table(ctx, items, Vec::new(), &|id| {
                    Ok(render::dashed_prefix(id, all.digits(id)))
                })
            },
        );
    };
    // A story's claims are few: name them by per-id look-ups.
    let items: Vec<StateItem> = items.collect::<Result<_>>()?;
    let ids: Vec<Uuid> = items.iter().map(|i| i.claim()).collect();
    let map = render::short_ids(ledger, &ids)?;
    table(
        ctx,
        Box::new(items.into_iter().map(Ok)),
        Vec::new(),
        &|id| Ok(map[&id].clone()),
    )
}

/// `state` against a server: its `--json` as the server wrote it, or the
/// table from its answer.
fn remote(ctx: &Ctx, r: &Remote, args: Args) -> Result<()> {
    let params = StateParams {
        at: args.at,
        as_of: args.as_of,
        story: args.story.clone(),
        tz: Some(ctx.tz().name().to_string()),
    };
    if args.json {
        return ctx.out_raw(&r.get_bytes("/v1/state", &params)?);
    }
    let doc: serde_json::Value = r.get_json("/v1/state", &params)?;
    let tz = ctx.tz();
    let (at, as_of) = (
        answers::time(r, &doc, "at")?,
        answers::time(r, &doc, "as_of")?,
    );
    let items = answers::state_items(r, &doc)?;
    let pending = answers::pending_claims(r, &doc)?;
    let mut ids: Vec<Uuid> = items.iter().map(|i| i.claim()).collect();
    ids.extend(pending.iter().map(|a| a.claim));
    let names = answers::short_names(r, &ids)?;
    ctx.out(&format!(
        "State of {} at {}, as known at {}\n",
        args.story.as_deref().unwrap_or("all stories"),
        render::time(&at, tz),
        render::time(&as_of, tz)
    ))?;
    table(ctx, Box::new(items.into_iter().map(Ok)), pending, &|id| {
        Ok(names[&id].clone())
    })
}

fn table(
    ctx: &Ctx,
    items: Items<'_, StateItem>,
    mut pending_claims: Vec<Asserted>,
    short: &dyn Fn(Uuid) -> Result<String>,
) -> Result<()> {
    let tz = ctx.tz();
    let mut t = None;
    for item in items {
        let item = item?;
        let Some(st) = item.present() else {
            if let Some(Body::Asserted(a)) = item.asserted.map(|r| r.event.body) {
                pending_claims.push(a);
            }
            continue;
        };
        let a = &item.header;
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
        let (status, since) = (st.status.as_str().to_string(), render::time(&st.since, tz));
        let id = short(a.claim)?;
        let header = item.header;
        t.add(vec![
            id,
            status,
            since,
            header.by,
            header.text,
            pending.join(", "),
        ])?;
    }
    match t {
        Some(t) => ctx.end_table(t)?,
        None => ctx.out("No claim counts at that time.\n")?,
    }
    if !pending_claims.is_empty() {
        let mut s = String::from("\nPossibly asserted by then, not certainly (pending):\n");
        for a in &pending_claims {
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

/// SPEC's `state` JSON, written claim by claim ([`claims_api::answer::state`]).
fn json(ctx: &Ctx, view: &View, items: Items<'_, StateItem>) -> Result<()> {
    let mut w = ctx.json_writer();
    claims_api::answer::state(&mut w, view, items)
        .map_err(|f| f.into_error("writing to standard output"))
}
