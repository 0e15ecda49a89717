//! `claims show`: one claim, its state and all its events.

use claims_core::projection::Standing;
use claims_core::query::{show_json, standing_name};
use claims_core::Result;

use super::table::Col;
use super::{answers, render, Ctx};
use claims_api::params::ShowParams;

/// One claim: its state at --at as known at --as-of, and every event on it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The claim (its id, or a unique prefix of at least 6 digits).
    pub claim: String,
    /// Valid time (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Recorded time (default: now).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// Print SPEC's JSON shape instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let (claim, h, view) = match ctx.server() {
        Some(r) => {
            if args.json {
                let params = ShowParams {
                    at: args.at.clone(),
                    as_of: args.as_of.clone(),
                    tz: Some(ctx.tz().name().to_string()),
                };
                let path = format!("/v1/claims/{}", super::target::segment(&args.claim));
                return ctx.out_raw(&r.get_bytes(&path, &params)?);
            }
            let view = ctx.view(args.at.as_deref(), args.as_of.as_deref())?;
            let h = answers::histories(r, None, Some(&args.claim))?
                .into_iter()
                .next()
                .ok_or_else(|| r.garbled("no history in the answer"))?;
            (h.claim, h, view)
        }
        None => {
            let ledger = ctx.open_read()?;
            let view = ctx.view(args.at.as_deref(), args.as_of.as_deref())?;
            let claim = ledger.resolve_claim(&args.claim)?;
            let h = ledger.history(claim)?;
            if args.json {
                return ctx.out_json(&show_json(&h, &view));
            }
            (claim, h, view)
        }
    };
    let tz = ctx.tz();
    let a = h.assertion().expect("resolved claims are asserted");
    let mut s = format!(
        "claim   {claim}\nstory   {}\nby      {}\ntext    {}\n",
        a.story,
        render::clean(&a.by),
        render::clean(&a.text)
    );
    let status = match h.state(&view) {
        Standing::Present(st) => format!(
            "{} since {}",
            st.status.as_str(),
            render::time(&st.since, tz)
        ),
        Standing::Pending => "pending (possibly asserted by then, not certainly)".into(),
        Standing::Absent => "absent (not asserted by then, or voided)".into(),
    };
    s.push_str(&format!(
        "status  {status}\n        at {}, as known at {}\n\n",
        render::time(&view.at, tz),
        render::time(&view.as_of, tz)
    ));
    ctx.out(&s)?;
    let mut t = ctx.table(vec![
        Col::fit_min("seq", 3, 10),
        Col::fit_min("kind", 6, 12),
        Col::fit_min("by", 6, 24),
        Col::fit_min("valid time", 21, 44),
        Col::flex("via / reason / note", 12),
        Col::fit_min("at --at", 7, 8),
    ]);
    // What the ledger had recorded by --as-of, as the JSON lists it (with
    // `recorded_by` for an entry appended through the server).
    let mut all: Vec<_> = h
        .asserted
        .iter()
        .chain(h.others.iter())
        .filter(|r| r.recorded_at <= view.as_of)
        .collect();
    all.sort_by_key(|r| r.seq);
    for r in all {
        let json = r.event.to_json();
        let mut detail: Vec<String> = Vec::new();
        // Who entered it through the server, first: a long reason after it
        // may be cut on a terminal.
        if let Some(name) = &r.recorded_by {
            detail.push(format!("entered by {name}"));
        }
        if let Some(serde_json::Value::Array(via)) = json.get("via") {
            let via: Vec<&str> = via.iter().filter_map(|v| v.as_str()).collect();
            detail.push(format!("via {}", via.join(" ← ")));
        }
        for k in ["reason", "note", "text", "target"] {
            if let Some(serde_json::Value::String(v)) = json.get(k) {
                if r.event.claim() != Some(claim) && k == "text" {
                    detail.push(format!("superseded by: {v}"));
                } else if k != "text" {
                    detail.push(format!("{k}: {v}"));
                }
            }
        }
        t.add(vec![
            r.seq.to_string(),
            r.event.kind().as_str().to_string(),
            r.event.by().unwrap_or("").to_string(),
            r.event
                .valid()
                .map(|v| render::valid(v, tz))
                .unwrap_or_default(),
            detail.join("; "),
            standing_name(h.entry_standing(r, &view)).to_string(),
        ])?;
    }
    ctx.end_table(t)
}
