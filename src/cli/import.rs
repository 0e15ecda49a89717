//! `claims import`: restores an export exactly.

use claims_core::{Error, ImportOptions, Record, Result};

use std::sync::atomic::{AtomicU64, Ordering};

use super::append::{open_input, stream_ndjson, MAX_EXPORT_LINE};
use super::remote::Remote;
use super::{Ctx, Progress};

/// Restore a `claims export` exactly (same seq, recorded times and hashes).
///
/// Into an empty ledger, or resuming a ledger whose log is a prefix of the
/// file (an interrupted import). The whole hash chain is checked first;
/// anything else is refused and nothing is written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The export file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// Take entries recorded more than 5 minutes after this machine's clock
    /// (refused otherwise: every entry appended after them would be stamped
    /// as late as they are).
    #[arg(long)]
    pub accept_future_times: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(r) = ctx.server() {
        return remote(ctx, r, args);
    }
    let input = open_input(ctx, &args.file)?;
    let mut progress = Progress::new(ctx, input.len.unwrap_or(0), "restoring");
    let read = AtomicU64::new(0);
    let opts = ImportOptions {
        // The clock, before opening raises `now` to the ledger's last entry.
        now: ctx.now(),
        accept_future_times: args.accept_future_times,
    };
    let mut ledger = ctx.open_write()?;
    let report = stream_ndjson(
        input,
        &args.file,
        MAX_EXPORT_LINE,
        &read,
        |n, v| Record::from_json(v).map(|r| (n, r)),
        |records| {
            let mut any = false;
            let records = records.inspect(|_| any = true);
            let report = ledger.import_stream(records, &opts, |_| {
                progress.set(read.load(Ordering::Relaxed))
            })?;
            Ok((report, any))
        },
    );
    progress.finish();
    let (report, any) = report?;
    if !any {
        return Err(Error::invalid(format!("{} holds no entries", args.file)));
    }
    said(ctx, report.restored, report.already)
}

fn said(ctx: &Ctx, restored: u64, already: u64) -> Result<()> {
    let report = claims_core::ledger::ImportReport { restored, already };
    let msg = if report.already > 0 {
        format!(
            "restored {} entries after the {} the ledger already had",
            report.restored, report.already
        )
    } else {
        format!(
            "restored {} entr{}",
            report.restored,
            if report.restored == 1 { "y" } else { "ies" }
        )
    };
    ctx.out(&format!("{msg}\n"))
}

/// `import` against a server (an admin's): the file is read and checked
/// here line by line as a local import reads it, then sent whole; the
/// server restores it all-or-nothing.
fn remote(ctx: &Ctx, r: &Remote, args: Args) -> Result<()> {
    let input = open_input(ctx, &args.file)?;
    let read = AtomicU64::new(0);
    let body = stream_ndjson(
        input,
        &args.file,
        MAX_EXPORT_LINE,
        &read,
        |_, v| Record::from_json(v).map(|r| r.to_line()),
        |lines| {
            let mut body = String::new();
            for l in lines {
                body.push_str(&l?);
                body.push('\n');
            }
            Ok(body)
        },
    )?;
    if body.is_empty() {
        return Err(Error::invalid(format!("{} holds no entries", args.file)));
    }
    let path = if args.accept_future_times {
        "/v1/import?accept_future_times=true"
    } else {
        "/v1/import"
    };
    let v: serde_json::Value = r.post_for(path, "application/x-ndjson", body.as_bytes())?;
    let count = |k: &str| {
        v.get(k)
            .and_then(|n| n.as_u64())
            .ok_or_else(|| r.garbled(format!("no `{k}` in the answer")))
    };
    said(ctx, count("restored")?, count("already")?)
}
