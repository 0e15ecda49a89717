//! `claims diff`: what changed between two valid times, or between two
//! recorded times (what we knew then against what we know now).

use uuid::Uuid;

use claims_core::query::{Change, Scope};
use claims_core::stream::Items;
use claims_core::time::Time;
use claims_core::Result;

use super::remote::Remote;
use super::table::Col;
use super::{answers, render, Ctx};
use claims_api::params::DiffParams;

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

impl Args {
    fn params(&self, ctx: &Ctx) -> DiffParams {
        DiffParams {
            from: Some(self.t1.clone()),
            to: Some(self.t2.clone()),
            recorded: self.recorded,
            at: self.at.clone(),
            as_of: self.as_of.clone(),
            story: self.story.clone(),
            tz: Some(ctx.tz().name().to_string()),
        }
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(r) = ctx.server() {
        return remote(ctx, r, args);
    }
    let ledger = ctx.open_read()?;
    let v = args.params(ctx).views(&ctx.clock())?;
    let (t1, t2, before, after) = (v.t1, v.t2, v.before, v.after);
    let scope = Scope {
        story: args.story,
        claim: None,
    };
    let scoped = scope.story.is_some();
    let changes = ledger.diff_items(before, after, &scope)?;
    if args.json {
        return json(ctx, &t1, &t2, changes);
    }
    heading(ctx, args.recorded, &t1, &t2)?;
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
    table(ctx, changes, &*short)
}

fn heading(ctx: &Ctx, recorded: bool, t1: &Time, t2: &Time) -> Result<()> {
    let tz = ctx.tz();
    let what = if recorded { "known at" } else { "at" };
    ctx.out(&format!(
        "Changes from {what} {} to {what} {}\n",
        render::time(t1, tz),
        render::time(t2, tz)
    ))
}

/// `diff` against a server.
fn remote(ctx: &Ctx, r: &Remote, args: Args) -> Result<()> {
    let params = args.params(ctx);
    if args.json {
        return ctx.out_raw(&r.get_bytes("/v1/diff", &params)?);
    }
    let doc: serde_json::Value = r.get_json("/v1/diff", &params)?;
    let (t1, t2) = (
        answers::time(r, &doc, "from")?,
        answers::time(r, &doc, "to")?,
    );
    let mut changes = Vec::new();
    for c in answers::array(r, &doc, "changes")? {
        changes.push(Change {
            claim: answers::id(r, c, "claim")?,
            text: c
                .get("text")
                .and_then(|t| t.as_str())
                .ok_or_else(|| r.garbled("no `text` in a change"))?
                .to_string(),
            before: answers::status(r, c, "before")?,
            after: answers::status(r, c, "after")?,
        });
    }
    let names = answers::short_names(r, &changes.iter().map(|c| c.claim).collect::<Vec<_>>())?;
    heading(ctx, args.recorded, &t1, &t2)?;
    table(ctx, Box::new(changes.into_iter().map(Ok)), &|id| {
        names[&id].clone()
    })
}

fn table(ctx: &Ctx, changes: Items<'_, Change>, short: &dyn Fn(Uuid) -> String) -> Result<()> {
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
