//! `claims append`: appends NDJSON events, all-or-nothing, idempotent by id.

use std::io::{BufRead, BufReader, Read};
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

/// The longest event line `append` reads: far past any real event, so a
/// runaway line is refused before it is parsed.
pub const MAX_EVENT_LINE: usize = 16 << 20;

/// The longest line `import` reads: an event of [`MAX_EVENT_LINE`] bytes
/// plus what its export adds (`seq`, `recorded_at`, `hash`, a defaulted
/// `valid.to`: a few hundred bytes; serde_json never writes a string longer
/// than the shortest JSON that reads as it). So every event that `append`
/// takes comes back through `export` and `import`.
pub const MAX_EXPORT_LINE: usize = MAX_EVENT_LINE + (64 << 10);

/// A UTF-8 byte-order mark, which some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An NDJSON input opened for reading as it comes.
pub struct Input {
    reader: Box<dyn Read + Send>,
    /// Its size, when it is a file (for the progress bar).
    pub len: Option<u64>,
}

/// Opens a file, or standard input for `-`, to read as it comes.
pub fn open_input(ctx: &Ctx, file: &str) -> Result<Input> {
    if file == "-" {
        if ctx.io().stdin_is_terminal() {
            return Err(Error::invalid(
                "append reads NDJSON events from standard input, which is a terminal here; pass a FILE or pipe the events in",
            ));
        }
        let reader = ctx
            .io()
            .stdin_reader()
            .map_err(|e| Error::io("reading standard input", e))?;
        return Ok(Input { reader, len: None });
    }
    let path = &ctx.path(file);
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{file} is a directory, not an NDJSON file"
        )));
    }
    let f = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::not_found(format!("there is no file {file}")),
        _ => Error::io(format!("reading {file}"), e),
    })?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok(Input {
        reader: Box::new(f),
        len,
    })
}

/// Lines handed from the parsing thread at a time.
const LINES_A_BATCH: usize = 1024;

/// Reads `input` line by line on a second thread, turning each non-blank
/// line into a `T` with `convert` (given the 1-based line number), and hands
/// them in order to `consume` on this one. Memory is a few batches of lines,
/// whatever the input's length. Lines longer than `max_line` are refused
/// without reading them whole; a UTF-8 byte-order mark at the start is
/// skipped; `read` counts the bytes read so far. The first bad line ends
/// the stream with its error.
pub fn stream_ndjson<T: Send, R>(
    input: Input,
    file: &str,
    max_line: usize,
    read: &AtomicU64,
    convert: impl Fn(usize, &Value) -> Result<T> + Send,
    consume: impl FnOnce(&mut dyn Iterator<Item = Result<T>>) -> Result<R>,
) -> Result<R> {
    let shown = shown(file).to_string();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Result<T>>>(8);
        s.spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 20, input.reader);
            let mut buf = Vec::with_capacity(4096);
            let mut batch = Vec::with_capacity(LINES_A_BATCH);
            let mut n = 0usize;
            loop {
                buf.clear();
                let got = (&mut reader)
                    .take(max_line as u64 + 3)
                    .read_until(b'\n', &mut buf);
                let got = match got {
                    Ok(got) => got,
                    Err(e) => {
                        batch.push(Err(Error::io(format!("reading {shown}"), e)));
                        let _ = tx.send(batch);
                        return;
                    }
                };
                if got == 0 {
                    break;
                }
                n += 1;
                read.fetch_add(got as u64, Ordering::Relaxed);
                let mut line: &[u8] = buf.strip_suffix(b"\n").unwrap_or(&buf);
                if n == 1 {
                    line = line.strip_prefix(BOM).unwrap_or(line);
                }
                let item = match parse_line(n, line, max_line) {
                    Ok(None) => continue,
                    Ok(Some(v)) => convert(n, &v).map_err(|e| e.context(format!("line {n}"))),
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                batch.push(item);
                if batch.len() == LINES_A_BATCH || failed {
                    if tx.send(std::mem::take(&mut batch)).is_err() || failed {
                        return;
                    }
                    batch.reserve(LINES_A_BATCH);
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
        });
        let mut items = rx.into_iter().flatten();
        consume(&mut items)
    })
}

/// Parses one line's JSON (line number `n`, 1-based).
fn parse_line(n: usize, line: &[u8], max: usize) -> Result<Option<Value>> {
    if line.len() > max {
        return Err(Error::invalid(format!(
            "line {n}: the line is longer than {}, the most one {} may take",
            if max == MAX_EVENT_LINE {
                "16 MiB"
            } else {
                "16 MiB and 64 KiB"
            },
            if max == MAX_EVENT_LINE {
                "event"
            } else {
                "exported entry"
            },
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

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let input = open_input(ctx, &args.file)?;
    let mut progress = Progress::new(ctx, input.len.unwrap_or(0), "appending");
    let read = AtomicU64::new(0);
    let mut ledger = ctx.open_write()?;
    let now = ctx.now();
    let report = stream_ndjson(
        input,
        &args.file,
        MAX_EVENT_LINE,
        &read,
        |n, v| {
            Event::from_json(v, &[]).map(|event| Incoming {
                line: Some(n),
                event,
            })
        },
        |events| {
            let mut any = false;
            let events = events.inspect(|_| any = true);
            let report = ledger
                .append_stream(events, now, |_| progress.set(read.load(Ordering::Relaxed)))?;
            Ok((report, any))
        },
    );
    progress.finish();
    let (report, any) = report?;
    if !any {
        return Err(Error::invalid(format!(
            "{} holds no events",
            shown(&args.file)
        )));
    }
    let n = report.appended;
    let mut msg = format!("appended {n} event{}", if n == 1 { "" } else { "s" });
    if report.unchanged > 0 {
        msg.push_str(&format!("; {} already in the ledger", report.unchanged));
    }
    if report.repeated > 0 {
        msg.push_str(&match report.repeated {
            1 => "; 1 line repeated an earlier one".to_string(),
            r => format!("; {r} lines repeated earlier ones"),
        });
    }
    if let Some((first, last)) = report.seqs {
        msg.push_str(&format!(" (seq {first}..{last})"));
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
