//! `claims import`: restores an export exactly.

use claims_core::{Error, ImportOptions, Record, Result};

use super::append::{read_ndjson, MAX_EXPORT_LINE};
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
    let mut progress = Progress::new(ctx, 0, "reading");
    let records = read_ndjson(ctx, &args.file, MAX_EXPORT_LINE, &mut progress, |n, v| {
        Record::from_json(v).map(|r| (n, r))
    })?;
    progress.finish();
    if records.is_empty() {
        return Err(Error::invalid(format!("{} holds no entries", args.file)));
    }
    let opts = ImportOptions {
        // The clock, before opening raises `now` to the ledger's last entry.
        now: ctx.now(),
        accept_future_times: args.accept_future_times,
    };
    let mut ledger = ctx.open_write()?;
    let report = ledger.import(records, &opts)?;
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
