//! `claims timeline`: a picture of how a story changed, as SVG or HTML.

use std::path::{Path, PathBuf};

use claims_core::query::Scope;
use claims_core::{Error, Result};
use claims_render::timeline::{Mark, Options, Timeline};

use super::target::Source;
use super::{render, Ctx};

/// Draw how a story changed: one lane per claim, its status over valid time,
/// every event on it (who said it, through whom), and your marks.
///
/// The bar of a claim starts where it had certainly been made and changes
/// colour where an event had certainly happened (the end of its valid
/// interval); a hatched strip shows an interval in which an event possibly
/// happened. Long stretches with no event are cut out of the time axis and
/// marked. Times are shown in --tz.
///
/// FILE ending in .svg gets an SVG picture; ending in .html, a self-contained
/// page (no external resources) with hover details: quote, translation,
/// source and reporting chain.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this story.
    #[arg(long)]
    pub story: Option<String>,
    /// Recorded time: draw what the ledger knew then (default: now).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// A vertical line at TIME labelled LABEL, e.g. the publication:
    /// --mark "2020-07-10T21:06+02:00=published" (repeatable). TIME is read
    /// like --as-of: a bare date means the end of that day in --tz.
    #[arg(long, value_name = "TIME=LABEL")]
    pub mark: Vec<String>,
    /// Where to write the picture: FILE.svg or FILE.html. An existing file
    /// (or a symbolic link) there is refused unless --force.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Replace an existing FILE (a symbolic link is replaced itself; the file
    /// it points to is left alone).
    #[arg(long)]
    pub force: bool,
}

enum Format {
    Svg,
    Html,
}

fn format_of(path: &Path) -> Result<Format> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => Ok(Format::Svg),
        Some("html") | Some("htm") => Ok(Format::Html),
        _ => Err(Error::invalid(format!(
            "cannot tell what to write to `{}` from its name",
            path.display()
        ))
        .with_hint("give -o a file name ending in .svg (a picture) or .html (a page)")),
    }
}

fn parse_mark(ctx: &Ctx, s: &str) -> Result<Mark> {
    let Some((time, label)) = s.split_once('=') else {
        return Err(
            Error::invalid(format!("--mark `{s}` has no label")).with_hint(
                "write it as TIME=LABEL, e.g. --mark \"2020-07-10T21:06+02:00=published\"",
            ),
        );
    };
    let label = label.trim();
    if label.is_empty() {
        return Err(
            Error::invalid(format!("--mark `{s}` has an empty label")).with_hint(
                "write it as TIME=LABEL, e.g. --mark \"2020-07-10T21:06+02:00=published\"",
            ),
        );
    }
    let at = ctx
        .query_time(Some(time))
        .map_err(|e| e.context("--mark"))?;
    Ok(Mark {
        at,
        label: label.to_string(),
    })
}

/// The most claims a timeline of every story draws.
const MAX_CLAIMS_DRAWN: usize = 2000;

fn too_many() -> Error {
    Error::invalid(format!(
        "the ledger has more than {MAX_CLAIMS_DRAWN} claims, too many to draw in one picture"
    ))
    .with_hint("draw one story with `--story S` (`claims stories` lists them)")
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let format = format_of(&args.output)?;
    refuse_existing(&ctx.path(&args.output), &args.output, args.force)?;
    let ledger = ctx.source()?;
    let as_of = ctx
        .query_time(args.as_of.as_deref())
        .map_err(|e| e.context("--as-of"))?;
    let marks = args
        .mark
        .iter()
        .map(|m| parse_mark(ctx, m))
        .collect::<Result<Vec<_>>>()?;
    let scope = Scope {
        story: args.story.clone(),
        claim: None,
    };
    if scope.story.is_none() {
        // A picture of a whole large ledger is no picture, and drawing it
        // would hold every claim's history at once.
        let all = claims_core::store::IdRange {
            lo: uuid::Uuid::nil(),
            hi: uuid::Uuid::max(),
        };
        let n = match &ledger {
            Source::Local(l) => l.store().claim_ids_in(all, MAX_CLAIMS_DRAWN + 1)?.len(),
            Source::Remote(_) => 0,
        };
        if n > MAX_CLAIMS_DRAWN {
            return Err(too_many());
        }
    }
    let histories = ledger.histories(&scope)?;
    if histories.len() > MAX_CLAIMS_DRAWN {
        return Err(too_many());
    }
    let mut opts = Options::new(
        args.story.clone().unwrap_or_else(|| "all stories".into()),
        as_of,
    );
    opts.marks = marks;
    opts.tz = *ctx.tz();
    let timeline = Timeline::new(&histories, &opts);
    if timeline.lanes().is_empty() {
        let known = render::time(&as_of, ctx.tz());
        return Err(match &args.story {
            Some(s) => Error::not_found(format!("story `{s}` has no claims as known at {known}"))
                .with_hint("`claims stories` lists the stories"),
            None => Error::not_found(format!("the ledger has no claims as known at {known}"))
                .with_hint("add some with `claims assert` or `claims append`"),
        });
    }
    let text = match format {
        Format::Svg => timeline.svg(),
        Format::Html => timeline.html(),
    };
    write_output(
        &ctx.path(&args.output),
        &args.output,
        text.as_bytes(),
        args.force,
    )?;
    let events: usize = timeline.lanes().iter().map(|l| l.events.len()).sum();
    let n = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    ctx.out(&format!(
        "wrote {}: {}, {}\n",
        args.output.display(),
        n(timeline.lanes().len(), "claim"),
        n(events, "event")
    ))
}

/// Refuses an existing `path` (a file, a link, anything) unless `force`.
fn refuse_existing(path: &Path, shown: &Path, force: bool) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(Error::invalid(format!(
            "{} is a directory",
            shown.display()
        ))
        .with_hint("give -o a file name ending in .svg or .html")),
        Ok(_) if !force => Err(
            Error::invalid(format!("{} already exists", shown.display()))
                .with_hint("pass --force to replace it, or choose another name"),
        ),
        _ => Ok(()),
    }
}

/// Writes `bytes` to a new file at `path`, never through a link: without
/// `force` the file must not exist (checked by the create itself); with it,
/// the bytes go to a new file beside `path` that is then renamed over it.
fn write_output(path: &Path, shown: &Path, bytes: &[u8], force: bool) -> Result<()> {
    use std::io::Write;
    refuse_existing(path, shown, force)?;
    let io = |e| Error::io(format!("writing {}", shown.display()), e);
    let create = |p: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
    };
    if !force {
        let mut f = create(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                Error::invalid(format!("{} already exists", shown.display()))
                    .with_hint("pass --force to replace it, or choose another name")
            }
            _ => io(e),
        })?;
        return f.write_all(bytes).and_then(|_| f.sync_all()).map_err(io);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.unwrap_or_default(),
        std::process::id()
    ));
    let written = create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(io)
}
