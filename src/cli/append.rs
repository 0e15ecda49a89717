//! `claims append`: appends NDJSON events, all-or-nothing, idempotent by id.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use claims_core::{Error, Event, Incoming, Result};

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

/// The longest line read: far past any real event, so a runaway line is
/// refused before it is parsed.
const MAX_LINE: usize = 16 << 20;

/// Reads a whole file, or standard input for `-`.
fn read_input(ctx: &Ctx, file: &str) -> Result<Vec<u8>> {
    if file == "-" {
        if ctx.io().stdin_is_terminal() {
            return Err(Error::invalid(
                "append reads NDJSON events from standard input, which is a terminal here; pass a FILE or pipe the events in",
            ));
        }
        return ctx
            .io()
            .read_stdin()
            .map_err(|e| Error::io("reading standard input", e));
    }
    let path = &ctx.path(file);
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{file} is a directory, not an NDJSON file"
        )));
    }
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!("there is no file {file}")),
        _ => Error::io(format!("reading {file}"), e),
    })
}

/// Parses one line's JSON (line number `n`, 1-based).
fn parse_line(n: usize, line: &[u8]) -> Result<Option<Value>> {
    if line.len() > MAX_LINE {
        return Err(Error::invalid(format!(
            "line {n}: the line is longer than 16 MiB, the most one event may take"
        ))
        .with_hint("keep long documents outside the ledger and cite them in `source`"));
    }
    let line = std::str::from_utf8(line)
        .map_err(|_| Error::invalid(format!("line {n}: the line is not valid UTF-8")))?;
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return Ok(None);
    }
    claims_core::event::parse_json_strict(line)
        .map(Some)
        .map_err(|e| Error::invalid(format!("line {n}: the line is not valid JSON ({e})")))
}

/// Reads NDJSON from a file or `-` and turns each non-blank line into a `T`
/// with `convert` (given the 1-based line number), on every core, keeping no
/// more than one parsed JSON value per core at a time. The error reported is
/// the one of the earliest bad line.
pub fn read_ndjson<T: Send>(
    ctx: &Ctx,
    file: &str,
    progress: &mut Progress,
    convert: impl Fn(usize, &Value) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let bytes = read_input(ctx, file)?;
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = lines.len().div_ceil(workers).max(1);
    let done = AtomicU64::new(0);
    let results: Vec<Result<Vec<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (convert, done) = (&convert, &done);
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for (i, line) in part.iter().enumerate() {
                        let n = c * chunk + i + 1;
                        if let Some(v) = parse_line(n, line)? {
                            out.push(convert(n, &v).map_err(|e| e.context(format!("line {n}")))?);
                        }
                        if i % 4096 == 4095 {
                            done.fetch_add(4096, Ordering::Relaxed);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        progress.set_len(lines.len() as u64);
        while handles.iter().any(|h| !h.is_finished()) {
            progress.set(done.load(Ordering::Relaxed));
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("a parsing thread panicked"))
            .collect()
    });
    let mut out = Vec::with_capacity(lines.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut progress = Progress::new(ctx, 0, "reading");
    let batch = read_ndjson(ctx, &args.file, &mut progress, |n, v| {
        Event::from_json(v, &[]).map(|event| Incoming {
            line: Some(n),
            event,
        })
    })?;
    progress.finish();
    if batch.is_empty() {
        return Err(Error::invalid(format!(
            "{} holds no events",
            shown(&args.file)
        )));
    }
    let mut ledger = ctx.open_write()?;
    let report = ledger.append(batch, ctx.now())?;
    let n = report.appended.len();
    let mut msg = format!("appended {n} event{}", if n == 1 { "" } else { "s" });
    if report.unchanged > 0 {
        msg.push_str(&format!("; {} already in the ledger", report.unchanged));
    }
    if let Some(last) = report.appended.last() {
        msg.push_str(&format!(" (seq {}..{})", report.appended[0].seq, last.seq));
    }
    ctx.out(&format!("{msg}\n"))
}

fn shown(file: &str) -> &str {
    if file == "-" {
        "standard input"
    } else {
        file
    }
}
