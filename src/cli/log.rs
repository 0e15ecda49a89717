//! `claims log`: the raw log in seq order.

use std::io::Write;

use claims_core::record::fmt_recorded;
use claims_core::record::Record;
use claims_core::{Error, Result, Store};

use super::{render, Ctx};

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
    let ledger = ctx.open_read()?;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, ctx.io().stdout());
    let res = (|| -> std::io::Result<Result<()>> {
        if args.json {
            write!(out, "[")?;
        }
        for (i, r) in ledger
            .store()
            .scan(args.since.saturating_add(1))
            .enumerate()
        {
            let r = match r {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            if args.json {
                write!(out, "{}\n  {}", if i == 0 { "" } else { "," }, r.to_line())?;
                continue;
            }
            writeln!(out, "{}", line(&r))?;
        }
        if args.json {
            writeln!(out, "\n]")?;
        }
        out.flush()?;
        Ok(Ok(()))
    })();
    match res {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("writing the log", e)),
    }
}

/// An entry as `log` (and `follow`) print it for people: seq, recorded
/// time, kind, id, what it is about, who said it and what.
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
    format!(
        "{:>6}  {}  {:<12}  {}  {}  {}: {}",
        r.seq,
        fmt_recorded(&r.recorded_at),
        r.event.kind().as_str(),
        r.event.id,
        subject,
        render::clean(r.event.by().unwrap_or("ledger")),
        render::clean(about)
    )
}
