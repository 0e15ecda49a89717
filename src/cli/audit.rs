//! `claims audit`: every status change.

use serde_json::Value;

use std::collections::HashMap;

use uuid::Uuid;

use claims_core::event::Body;
use claims_core::query::{AuditOptions, AuditRow, Scope};
use claims_core::stream::Items;
use claims_core::Result;

use super::table::Col;
use super::{render, Ctx};

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

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let ledger = ctx.open_read()?;
    let opt = |s: &Option<String>, flag: &str| {
        s.as_deref()
            .map(|s| {
                ctx.query_time(Some(s))
                    .map_err(|e| e.context(flag.to_string()))
            })
            .transpose()
    };
    let from = match &args.from {
        // A bare date as --from means the start of that day.
        Some(s) if !s.contains('T') && !s.contains(' ') && s.len() == 10 => Some(
            claims_core::time::parse_valid(s, ctx.tz())
                .map_err(|e| e.context("--from"))?
                .0,
        ),
        _ => opt(&args.from, "--from")?,
    };
    let opts = AuditOptions {
        recorded: args.recorded,
        at: ctx
            .query_time(args.at.as_deref())
            .map_err(|e| e.context("--at"))?,
        as_of: ctx
            .query_time(args.as_of.as_deref())
            .map_err(|e| e.context("--as-of"))?,
        from,
        to: opt(&args.to, "--to")?,
    };
    let claim = args
        .claim
        .as_deref()
        .map(|c| ledger.resolve_claim(c))
        .transpose()?;
    let scope = Scope {
        story: args.story,
        claim,
    };
    let scoped = scope.story.is_some() || scope.claim.is_some();
    let rows = ledger.audit_rows(&scope, &opts)?;
    if args.json {
        let mut w = ctx.json_writer();
        return claims_api::answer::audit(&mut w, rows)
            .map_err(|f| f.into_error("writing to standard output"));
    }
    let tz = ctx.tz();
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
            let text = ledger
                .assertion(row.claim)?
                .and_then(|a| match a.event.body {
                    Body::Asserted(a) => Some(a.text),
                    _ => None,
                })
                .unwrap_or_default();
            texts.insert(row.claim, text);
        }
        let text = &texts[&row.claim];
        let t = t.get_or_insert_with(|| {
            ctx.table(vec![
                Col::fit_min(
                    if args.recorded {
                        "recorded"
                    } else {
                        "valid time"
                    },
                    21,
                    44,
                ),
                Col::fit_min("claim", 8, 36),
                Col::flex("claim text", 12),
                Col::fit_min("change", 12, 27),
                Col::fit_min("event", 8, 24),
                Col::fit_min("by / via", 8, 28),
            ])
        });
        let when = if args.recorded {
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
            format!("{}{via}", r.event.by().unwrap_or("ledger")),
        ])?;
    }
    match t {
        Some(t) => ctx.end_table(t),
        None => ctx.out("No status changes.\n"),
    }
}
