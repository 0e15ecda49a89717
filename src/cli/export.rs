//! `claims export`: the log as NDJSON, with seq, recorded time and hash.

use std::io::Write;

use claims_core::{Error, Result};

use super::remote::Remote;
use super::Ctx;

/// Write the log as NDJSON with `seq`, `recorded_at` and `hash` (a backup that
/// `claims import` restores exactly).
///
/// With --story, only that story's entries (its assertions, their events and
/// voids of them): for reading and sharing; `import` needs a whole export.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this story.
    #[arg(long)]
    pub story: Option<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(r) = ctx.server() {
        let params = claims_api::params::ExportParams {
            story: args.story.clone(),
        };
        let answer = r.get("/v1/export", &params)?;
        let mut body = Remote::reader(answer);
        let mut out = ctx.io().stdout();
        return match std::io::copy(&mut body, &mut out).and_then(|_| out.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Error::io("copying the server's export", e)),
        };
    }
    let ledger = ctx.open_read()?;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, ctx.io().stdout());
    for r in ledger.export_entries(args.story.as_deref())? {
        let r = r?;
        let line = r.to_line();
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(Error::io("writing the export", e));
        }
    }
    out.flush().or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(Error::io("writing the export", e))
        }
    })
}
