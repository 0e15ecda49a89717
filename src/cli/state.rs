//! `claims state`: the belief state at a valid time, as known at a recorded time.

use std::io::Write;

use serde_json::Value;
use uuid::Uuid;

use claims_core::event::Body;
use claims_core::projection::{ClaimState, Standing, View};
use claims_core::query::{entry_json, pending_claim_json, Scope};
use claims_core::stream::{Items, StateItem};
use claims_core::summary::ClaimHeader;
use claims_core::time::fmt_time;
use claims_core::{Error, Result};

use super::backend::AnyLedger;
use super::table::Col;
use super::{json_out, pipeline, render, Ctx};

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
                table(ctx, items, &|id| {
                    Ok(render::dashed_prefix(id, all.digits(id)))
                })
            },
        );
    };
    // A story's claims are few: name them by per-id look-ups.
    let items: Vec<StateItem> = items.collect::<Result<_>>()?;
    let ids: Vec<Uuid> = items.iter().map(|i| i.claim()).collect();
    let map = render::short_ids(ledger, &ids)?;
    table(ctx, Box::new(items.into_iter().map(Ok)), &|id| {
        Ok(map[&id].clone())
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
        for item in &pending_claims {
            let Some(Body::Asserted(a)) = item.asserted.as_ref().map(|r| &r.event.body) else {
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

/// A state entry with no pending events, as `entry_json` pretty-printed at
/// depth 2 would read, written without building the JSON value (the whole
/// ledger's state is mostly these). A unit test holds the two equal.
fn entry_text(a: &ClaimHeader, st: &ClaimState) -> String {
    let mut s = String::with_capacity(200 + a.text.len());
    let field = |s: &mut String, key: &str, v: &str| {
        s.push_str("      \"");
        s.push_str(key);
        s.push_str("\": ");
        json_out::string_into(v, s);
        s.push_str(",\n");
    };
    s.push_str("{\n");
    let mut id = [0u8; 36];
    field(&mut s, "claim", a.claim.hyphenated().encode_lower(&mut id));
    field(&mut s, "story", &a.story);
    field(&mut s, "by", &a.by);
    field(&mut s, "text", &a.text);
    field(&mut s, "status", st.status.as_str());
    s.push_str("      \"since\": \"");
    claims_core::time::fmt_time_into(&st.since, &mut s);
    s.push_str("\",\n      \"events\": ");
    s.push_str(&st.events.to_string());
    s.push_str(",\n      \"pending\": []\n    }");
    s
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
        match &item.standing {
            Standing::Present(st) if st.pending.is_empty() => claims
                .raw_item(&mut w, &entry_text(&item.header, st))
                .map_err(io)?,
            Standing::Present(_) => claims
                .item(&mut w, &entry_json(&item.header, &item.standing))
                .map_err(io)?,
            _ => {
                if let Some(r) = &item.asserted {
                    pending.push(pending_claim_json(r));
                }
            }
        }
    }
    claims.close(&mut w).map_err(io)?;
    json_out::key(&mut w, 0, "pending", false).map_err(io)?;
    w.write_all(json_out::pretty_at(&Value::Array(pending), 1).as_bytes())
        .map_err(io)?;
    w.write_all(b"\n}\n").map_err(io)?;
    w.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use claims_core::event::Event;
    use claims_core::projection::Status;
    use claims_core::record::Record;
    use claims_core::time::parse_rfc3339;

    #[test]
    fn a_plain_entry_is_written_as_the_json_value_would_be() {
        let line = r#"{"id":"0190a3b2-0000-7000-8000-000000000001","kind":"asserted",
          "claim":"0190a3b2-0000-7000-8000-0000000000c1","story":"s-q",
          "by":"Ama\u00e9 \\ zon","text":"line\nbreak \u001b[31m \u2028",
          "valid":{"from":"2020-07-10T09:00:00Z","to":"2020-07-10T19:00:00Z"}}"#;
        let event = Event::from_json(&serde_json::from_str(line).unwrap(), &[]).unwrap();
        let t = parse_rfc3339("2020-07-10T19:00:00Z").unwrap();
        let r = Record::seal(event, 1, t, &[0; 32]);
        let st = ClaimState {
            status: Status::Disputed,
            since: t,
            because: r.event.id,
            events: 3,
            pending: Vec::new(),
        };
        let a = ClaimHeader::of(&r).unwrap();
        let want = json_out::pretty_at(&entry_json(&a, &Standing::Present(st.clone())), 2);
        assert_eq!(entry_text(&a, &st), want);
    }
}
