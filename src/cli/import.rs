//! `claims import`: restores an export exactly.

use claims_core::{Error, Record, Result};

use super::append::read_ndjson;
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
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut progress = Progress::new(ctx, 0, "reading");
    let records = read_ndjson(ctx, &args.file, &mut progress, |n, v| {
        Record::from_json(v).map(|r| (n, r))
    })?;
    progress.finish();
    if records.is_empty() {
        return Err(Error::invalid(format!("{} holds no entries", args.file)));
    }
    let mut ledger = ctx.open_write()?;
    let report = ledger.import(records)?;
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
