//! `claims diff`: what changed between two valid times, or between two
//! recorded times (what we knew then against what we know now).

use uuid::Uuid;

use claims_core::projection::View;
use claims_core::query::{Change, Scope};
use claims_core::stream::Items;
use claims_core::time::Time;
use claims_core::Result;

use super::table::Col;
use super::{render, Ctx};

/// Claims whose status differs between two times.
///
/// By default T1 and T2 are valid times ("what stood at 15:00 against what
/// stood at 21:06"), both as known at --as-of. With --recorded they are
/// recorded times ("what we knew when we published against what we know
/// now"), both at valid time --at.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The earlier time.
    #[arg(value_name = "T1")]
    pub t1: String,
    /// The later time (`now` is accepted).
    #[arg(value_name = "T2")]
    pub t2: String,
    /// Only this story.
    #[arg(long)]
    pub story: Option<String>,
    /// Recorded time both valid times are seen from (default: now).
    #[arg(long, value_name = "TIME", conflicts_with = "recorded")]
    pub as_of: Option<String>,
    /// T1 and T2 are recorded times: compare what the ledger knew then.
    #[arg(long)]
    pub recorded: bool,
    /// With --recorded: the valid time both are taken at (default: now).
    #[arg(long, value_name = "TIME", requires = "recorded")]
    pub at: Option<String>,
    /// Print SPEC's JSON shape instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    let t1 = ctx
        .query_time(Some(&args.t1))
        .map_err(|e| e.context("T1"))?;
    let t2 = ctx
        .query_time(Some(&args.t2))
        .map_err(|e| e.context("T2"))?;
    let (before, after) = if args.recorded {
        let at = ctx
            .query_time(args.at.as_deref())
            .map_err(|e| e.context("--at"))?;
        (View::new(at, t1), View::new(at, t2))
    } else {
        let as_of = ctx
            .query_time(args.as_of.as_deref())
            .map_err(|e| e.context("--as-of"))?;
        (View::new(t1, as_of), View::new(t2, as_of))
    };
    let scope = Scope {
        story: args.story,
        claim: None,
    };
    let scoped = scope.story.is_some();
    let changes = ledger.diff_items(before, after, &scope)?;
    if args.json {
        return json(ctx, &t1, &t2, changes);
    }
    let tz = ctx.tz();
    let what = if args.recorded { "known at" } else { "at" };
    ctx.out(&format!(
        "Changes from {what} {} to {what} {}\n",
        render::time(&t1, tz),
        render::time(&t2, tz)
    ))?;
    let (changes, short): (Items<'_, Change>, Box<dyn Fn(Uuid) -> String>) = if scoped {
        let changes: Vec<Change> = changes.collect::<Result<_>>()?;
        let map = render::short_ids(
            &ledger,
            &changes.iter().map(|c| c.claim).collect::<Vec<_>>(),
        )?;
        (
            Box::new(changes.into_iter().map(Ok)),
            Box::new(move |id| map[&id].clone()),
        )
    } else {
        let all = ledger.short_ids()?;
        (
            changes,
            Box::new(move |id| render::dashed_prefix(id, all.digits(id))),
        )
    };
    let mut t = None;
    for c in changes {
        let c = c?;
        let t = t.get_or_insert_with(|| {
            ctx.table(vec![
                Col::fit_min("claim", 8, 36),
                Col::flex("claim text", 12),
                Col::fit_min("before", 6, 12),
                Col::fit_min("after", 6, 12),
            ])
        });
        t.add(vec![
            short(c.claim),
            c.text.clone(),
            render::status(c.before).to_string(),
            render::status(c.after).to_string(),
        ])?;
    }
    match t {
        Some(t) => ctx.end_table(t),
        None => ctx.out("No claim changed.\n"),
    }
}

/// SPEC's `diff` JSON, written change by change ([`claims_api::answer::diff`]).
fn json(ctx: &Ctx, t1: &Time, t2: &Time, changes: Items<'_, Change>) -> Result<()> {
    let mut w = ctx.json_writer();
    claims_api::answer::diff(&mut w, t1, t2, changes)
        .map_err(|f| f.into_error("writing to standard output"))
}
