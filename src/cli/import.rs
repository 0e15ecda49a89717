//! `claims import`: restores an export exactly.

use claims_core::{Error, ImportOptions, Record, Result};

use std::sync::atomic::{AtomicU64, Ordering};

use super::append::{open_input, stream_ndjson, MAX_EXPORT_LINE};
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
