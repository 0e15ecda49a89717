//! `claims audit`: every status change.

use serde_json::Value;

use std::collections::HashMap;

use uuid::Uuid;

use claims_core::event::Body;
use claims_core::query::AuditRow;
use claims_core::stream::Items;
use claims_core::Result;

use super::remote::Remote;
use super::table::Col;
use super::{answers, render, Ctx};
use claims_api::params::AuditParams;
use claims_core::ClaimHistory;

/// Every status change: which claim moved from which status to which, when,
/// on whose word.
///
/// In valid-time order by default (as known at --as-of); with --recorded, in
/// the order the ledger learned them, voids included (statuses taken at --at).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this story.
    #[arg(long)]
    pub story: Option<String>,
    /// Only this claim (id or unique prefix).
    #[arg(long)]
    pub claim: Option<String>,
    /// List changes from this time (valid time; recorded time with --recorded).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// List changes up to this time (valid time; recorded time with --recorded).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// In the order the ledger learned them, voids included.
    #[arg(long)]
    pub recorded: bool,
    /// Valid time the statuses are taken at with --recorded (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Recorded time: as the ledger knew it then (default: now).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Print SPEC's JSON shape instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    fn params(&self, ctx: &Ctx) -> AuditParams {
        AuditParams {
            story: self.story.clone(),
            claim: self.claim.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            recorded: self.recorded,
            at: self.at.clone(),
            as_of: self.as_of.clone(),
            tz: Some(ctx.tz().name().to_string()),
        }
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(r) = ctx.server() {
        return remote(ctx, r, args);
    }
    let ledger = ctx.open_read()?;
    let (scope, opts) = args.params(ctx).resolve(&ctx.clock(), &ledger)?;
    let scoped = scope.story.is_some() || scope.claim.is_some();
    let rows = ledger.audit_rows(&scope, &opts)?;
    if args.json {
        let mut w = ctx.json_writer();
        return claims_api::answer::audit(&mut w, rows)
            .map_err(|f| f.into_error("writing to standard output"));
    }
    let (rows, short): (Items<'_, AuditRow>, Box<dyn Fn(Uuid) -> String>) = if scoped {
        let rows: Vec<AuditRow> = rows.collect::<Result<_>>()?;
        let map = render::short_ids(&ledger, &rows.iter().map(|r| r.claim).collect::<Vec<_>>())?;
        (
            Box::new(rows.into_iter().map(Ok)),
            Box::new(move |id| map[&id].clone()),
        )
    } else {
        let all = ledger.short_ids()?;
        (
            rows,
            Box::new(move |id| render::dashed_prefix(id, all.digits(id))),
        )
    };
    let mut text_of = |claim: Uuid| -> Result<String> {
        Ok(ledger
            .assertion(claim)?
            .and_then(|a| match a.event.body {
                Body::Asserted(a) => Some(a.text),
                _ => None,
            })
            .unwrap_or_default())
    };
    table(ctx, args.recorded, rows, &*short, &mut text_of)
}

/// `audit` against a server: its `--json` as written, or the table from
/// its rows, each row's entry and claim text read from the claims'
/// histories (`GET /v1/histories`).
fn remote(ctx: &Ctx, r: &Remote, args: Args) -> Result<()> {
    let params = args.params(ctx);
    if args.json {
        return ctx.out_raw(&r.get_bytes("/v1/audit", &params)?);
    }
    let doc: Vec<serde_json::Value> = r.get_json("/v1/audit", &params)?;
    // The histories the rows are about: the scope's at once, else claim by
    // claim as the rows name them.
    let mut by_claim: HashMap<Uuid, ClaimHistory> = HashMap::new();
    if args.story.is_some() || args.claim.is_some() {
        for h in answers::histories(r, args.story.as_deref(), args.claim.as_deref())? {
            by_claim.insert(h.claim, h);
        }
    }
    let mut rows = Vec::with_capacity(doc.len());
    for v in &doc {
        let claim = answers::id(r, v, "claim")?;
        if !by_claim.contains_key(&claim) {
            for h in answers::histories(r, None, Some(&claim.to_string()))? {
                by_claim.insert(h.claim, h);
            }
        }
        let seq = v
            .get("seq")
            .and_then(|n| n.as_u64())
            .ok_or_else(|| r.garbled("no `seq` in an audit row"))?;
        let record = by_claim
            .get(&claim)
            .and_then(|h| {
                h.asserted
                    .iter()
                    .chain(h.others.iter())
                    .find(|e| e.seq == seq)
            })
            .cloned()
            .ok_or_else(|| r.garbled(format!("entry {seq} is in no history of claim {claim}")))?;
        rows.push(AuditRow {
            claim,
            t: claims_core::projection::Transition {
                record,
                from: answers::status(r, v, "from")?,
                to: answers::status(r, v, "to")?,
            },
        });
    }
    let names = answers::short_names(r, &rows.iter().map(|r| r.claim).collect::<Vec<_>>())?;
    let mut text_of = |claim: Uuid| -> Result<String> {
        Ok(by_claim
            .get(&claim)
            .and_then(|h| h.assertion().map(|a| a.text.clone()))
            .unwrap_or_default())
    };
    table(
        ctx,
        args.recorded,
        Box::new(rows.into_iter().map(Ok)),
        &|id| names[&id].clone(),
        &mut text_of,
    )
}

/// `; entered by NAME` for an entry appended through the server by the
/// account NAME, else nothing (so a ledger without such entries prints as
/// it always has).
fn entered_by(r: &claims_core::Record) -> String {
    match &r.recorded_by {
        Some(name) => format!("; entered by {name}"),
        None => String::new(),
    }
}

fn table(
    ctx: &Ctx,
    recorded: bool,
    rows: Items<'_, AuditRow>,
    short: &dyn Fn(Uuid) -> String,
    text_of: &mut dyn FnMut(Uuid) -> Result<String>,
) -> Result<()> {
    let tz = ctx.tz();
    // Claim texts read so far (bounded: a whole ledger has millions).
    let mut texts: HashMap<Uuid, String> = HashMap::new();
    let mut t = None;
    for row in rows {
        let row = row?;
        let r = &row.t.record;
        if !texts.contains_key(&row.claim) {
            if texts.len() >= 20_000 {
                texts.clear();
            }
            let text = text_of(row.claim)?;
            texts.insert(row.claim, text);
        }
        let text = &texts[&row.claim];
        let t = t.get_or_insert_with(|| {
            ctx.table(vec![
                Col::fit_min(if recorded { "recorded" } else { "valid time" }, 21, 44),
                Col::fit_min("claim", 8, 36),
                Col::flex("claim text", 12),
                Col::fit_min("change", 12, 27),
                Col::fit_min("event", 8, 24),
                Col::fit_min("by / via", 8, 28),
            ])
        });
        let when = if recorded {
            render::time(&r.recorded_at, tz)
        } else {
            r.event
                .valid()
                .map(|v| render::valid(v, tz))
                .unwrap_or_default()
        };
        let via = match r.event.to_json().get("via") {
            Some(Value::Array(v)) => {
                let v: Vec<&str> = v.iter().filter_map(|x| x.as_str()).collect();
                format!(" via {}", v.join(" ← "))
            }
            _ => String::new(),
        };
        t.add(vec![
            when,
            short(row.claim),
            text.clone(),
            format!(
                "{} → {}",
                render::status(row.t.from),
                render::status(row.t.to)
            ),
            format!("{} (seq {})", r.event.kind().as_str(), r.seq),
            format!("{}{via}{}", r.event.by().unwrap_or("ledger"), entered_by(r)),
        ])?;
    }
    match t {
        Some(t) => ctx.end_table(t),
        None => ctx.out("No status changes.\n"),
    }
}
