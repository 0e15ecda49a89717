//! `claims append`: appends NDJSON events, all-or-nothing, idempotent by id.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use claims_core::{Error, Event, Incoming, Result};

use super::remote::Remote;
use super::{Ctx, Progress};
use claims_api::params::Appended;

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

use claims_api::ndjson::BOM;
pub use claims_api::ndjson::{MAX_EVENT_LINE, MAX_EXPORT_LINE};

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
                let item = match claims_api::ndjson::parse_line(n, line, max_line) {
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

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(r) = ctx.server() {
        return remote(ctx, r, args);
    }
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
    let answer = Appended {
        appended: report.appended,
        skipped: (report.unchanged + report.repeated) as u64,
        first_seq: report.seqs.map(|s| s.0),
        last_seq: report.seqs.map(|s| s.1),
        unchanged: report.unchanged as u64,
        repeated: report.repeated as u64,
    };
    ctx.out(&format!("{}\n", answer.line()))
}

/// `append` against a server: the input is read here, checked by the same
/// rules (so a bad line is refused before anything is sent), and sent as
/// one request, which the server commits all-or-nothing.
fn remote(ctx: &Ctx, r: &Remote, args: Args) -> Result<()> {
    let input = open_input(ctx, &args.file)?;
    let mut body = Vec::new();
    let mut reader = input.reader;
    reader
        .read_to_end(&mut body)
        .map_err(|e| Error::io(format!("reading {}", shown(&args.file)), e))?;
    claims_api::ndjson::events(&body, shown(&args.file))?;
    let appended: Appended = r.post_for("/v1/events", "application/x-ndjson", &body)?;
    ctx.out(&format!("{}\n", appended.line()))
}

fn shown(file: &str) -> &str {
    if file == "-" {
        "standard input"
    } else {
        file
    }
}
