//! `claims log`: the raw log in seq order.

use std::io::Write;

use claims_core::record::fmt_recorded;
use claims_core::record::Record;
use claims_core::{Error, Result, Store};

use super::remote::Remote;
use super::{answers, render, Ctx};
use claims_api::answer::Failed;

/// The raw log in seq order: every entry as the ledger recorded it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start after this seq.
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    pub since: u64,
    /// Print a JSON array of entries (the export form) instead of lines.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match ctx.server() {
        Some(r) => {
            let params = claims_api::params::LogParams { since: args.since };
            let answer = r.get("/v1/log", &params)?;
            let lines = std::io::BufRead::lines(std::io::BufReader::new(Remote::reader(answer)));
            let records = lines.map(|l| {
                let l = l.map_err(|e| {
                    Error::new(
                        claims_core::ErrorKind::Io,
                        format!("the log from the server broke off ({e})"),
                    )
                })?;
                let v: serde_json::Value = serde_json::from_str(&l).map_err(|e| r.garbled(e))?;
                answers::record(r, &v)
            });
            write(ctx, args.json, records)
        }
        None => {
            let ledger = ctx.open_read()?;
            let records = ledger.store().scan(args.since.saturating_add(1));
            write(ctx, args.json, records)
        }
    }
}

/// The entries, for people or (`--json`) as a JSON array of export lines,
/// written as they come.
fn write(ctx: &Ctx, json: bool, records: impl Iterator<Item = Result<Record>>) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 << 10, ctx.io().stdout());
    let written = if json {
        claims_api::answer::log(&mut out, records)
    } else {
        (|| {
            for r in records {
                writeln!(out, "{}", line(&r?))?;
            }
            Ok(out.flush()?)
        })()
    };
    match written {
        Ok(()) => Ok(()),
        Err(Failed::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(f) => Err(f.into_error("writing the log")),
    }
}

/// An entry as `log` (and `follow`) print it for people: seq, recorded
/// time, kind, id, what it is about, who said it and what, and which
/// account entered it (`(entered by NAME)` at the end, only for an entry
/// appended through the server).
pub fn line(r: &Record) -> String {
    let json = r.event.to_json();
    let about = ["text", "reason", "note"]
        .iter()
        .find_map(|k| json.get(*k).and_then(|v| v.as_str()))
        .unwrap_or("");
    let subject = r
        .event
        .claim()
        .map(|c| format!("claim {c}"))
        .or_else(|| {
            json.get("target")
                .and_then(|v| v.as_str())
                .map(|t| format!("target {t}"))
        })
        .unwrap_or_default();
    let mut line = format!(
        "{:>6}  {}  {:<12}  {}  {}  {}: {}",
        r.seq,
        fmt_recorded(&r.recorded_at),
        r.event.kind().as_str(),
        r.event.id,
        subject,
        render::clean(r.event.by().unwrap_or("ledger")),
        render::clean(about)
    );
    if let Some(name) = &r.recorded_by {
        line.push_str(&format!("  (entered by {})", render::clean(name)));
    }
    line
}
