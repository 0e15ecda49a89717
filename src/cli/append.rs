//! `claims append`: appends NDJSON events, all-or-nothing, idempotent by id.

use std::io::{IsTerminal, Read};
use std::path::Path;

use serde_json::Value;

use claims::{Error, Event, Incoming, Result};

use super::{Ctx, Progress};

/// Append NDJSON events from FILE (or standard input), all or nothing.
///
/// One event per line, as in the README's "Event format". An event whose id is
/// already in the ledger with identical content is skipped, so a failed or
/// repeated append can simply be run again. Any refusal names the line and the
/// field, and writes nothing.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The NDJSON file, or `-` for standard input.
    #[arg(default_value = "-", value_name = "FILE")]
    pub file: String,
}

/// Reads NDJSON from a file or `-`, returning each non-blank line's number and
/// JSON. Errors name the line.
pub fn read_ndjson(file: &str, mut progress: Option<&mut Progress>) -> Result<Vec<(usize, Value)>> {
    let mut bytes = Vec::new();
    if file == "-" {
        if std::io::stdin().is_terminal() {
            return Err(Error::invalid(
                "append reads NDJSON events from standard input, which is a terminal here; pass a FILE or pipe the events in",
            ));
        }
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("reading standard input", e))?;
    } else {
        let path = Path::new(file);
        if path.is_dir() {
            return Err(Error::invalid(format!(
                "{file} is a directory, not an NDJSON file"
            )));
        }
        bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::not_found(format!("there is no file {file}")),
            _ => Error::io(format!("reading {file}"), e),
        })?;
    }
    let mut out = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let line = std::str::from_utf8(line)
            .map_err(|_| Error::invalid(format!("line {n}: the line is not valid UTF-8")))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| Error::invalid(format!("line {n}: the line is not valid JSON ({e})")))?;
        out.push((n, value));
        if let Some(p) = progress.as_deref_mut() {
            p.set(out.len() as u64);
        }
    }
    Ok(out)
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut progress = Progress::new(0, "reading");
    let lines = read_ndjson(&args.file, Some(&mut progress))?;
    let batch = lines
        .iter()
        .map(|(n, v)| {
            Event::from_json(v, &[])
                .map(|event| Incoming {
                    line: Some(*n),
                    event,
                })
                .map_err(|e| e.context(format!("line {n}")))
        })
        .collect::<Result<Vec<_>>>()?;
    progress.finish();
    if batch.is_empty() {
        return Err(Error::invalid(format!(
            "{} holds no events",
            shown(&args.file)
        )));
    }
    let mut ledger = ctx.open_write()?;
    let report = ledger.append(batch, ctx.now)?;
    let n = report.appended.len();
    let mut msg = format!("appended {n} event{}", if n == 1 { "" } else { "s" });
    if report.unchanged > 0 {
        msg.push_str(&format!("; {} already in the ledger", report.unchanged));
    }
    if let Some(last) = report.appended.last() {
        msg.push_str(&format!(" (seq {}..{})", report.appended[0].seq, last.seq));
    }
    super::out(&format!("{msg}\n"))
}

fn shown(file: &str) -> &str {
    if file == "-" {
        "standard input"
    } else {
        file
    }
}
