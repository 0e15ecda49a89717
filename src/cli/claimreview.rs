//! `claims claimreview`: verdicts out as schema.org ClaimReview, and
//! `claims claimreview import`: a fact-checker's feed in as events. The
//! format is `claims-claimreview`'s; this module reads and writes the files.

use serde_json::Value;

use claims_claimreview::{export, import};
use claims_core::query::Scope;
use claims_core::{Error, Event, Incoming, Result};

use super::{render, Ctx};

/// Publish verdicts as schema.org ClaimReview JSON-LD, or take in a
/// fact-checker's ClaimReview feed (`claimreview import`).
///
/// Writes one ClaimReview for CLAIM, or an `@graph` of one per claim of
/// --story, for each claim whose status at --at, as known at --as-of, is a
/// verdict (corroborated, disputed, refuted, retracted, superseded).
/// `reviewRating` is on a 1–5 scale: corroborated 5, disputed 3,
/// superseded 2, retracted 2, refuted 1, with the status in words as
/// `alternateName`.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    group(clap::ArgGroup::new("scope").required(true).multiple(false))
)]
pub struct Args {
    #[command(subcommand)]
    pub import: Option<Sub>,
    /// The claim (its id, or a unique prefix of at least 6 digits).
    #[arg(group = "scope")]
    pub claim: Option<String>,
    /// Every claim of this story, as one `@graph`.
    #[arg(long, group = "scope")]
    pub story: Option<String>,
    /// Valid time: the verdict as it stood then (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Recorded time: as the ledger knew it then (default: now).
    #[arg(long, value_name = "TIME")]
    pub as_of: Option<String>,
    /// The reviewing organisation's name (each review's `author`).
    #[arg(long, required = true, value_name = "NAME")]
    pub publisher: Option<String>,
    /// The publisher's site: `author.url`, and each review's `url` is
    /// URL#claim-ID.
    #[arg(long)]
    pub url: Option<String>,
    /// Wrap the JSON-LD in a `<script type="application/ld+json">` element
    /// for a web page.
    #[arg(long)]
    pub html: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    Import(ImportArgs),
}

/// Take in a ClaimReview feed: per review, the claim's `asserted` and the
/// reviewer's verdict event, all or nothing.
///
/// Reads ClaimReview JSON-LD (one object, an array, an `@graph`) or Google
/// Fact Check Tools' page form (`claimReviewMarkups`). Ids are derived from
/// each review (UUID v5), so importing the same feed again adds nothing. A
/// review that lacks a needed field, or whose rating maps to no verdict, is
/// refused naming the review and the field, and nothing is written.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The JSON file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The story the imported claims belong to.
    #[arg(long, required = true)]
    pub story: String,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(Sub::Import(a)) = args.import {
        return run_import(ctx, a);
    }
    let ledger = ctx.source()?;
    let view = ctx.view(args.at.as_deref(), args.as_of.as_deref())?;
    let publisher = export::Publisher {
        name: args.publisher.unwrap_or_default(),
        url: args.url,
    };
    if publisher.name.trim().is_empty() {
        return Err(Error::invalid(
            "--publisher is blank; name the reviewing organisation",
        ));
    }
    let doc = match &args.claim {
        Some(prefix) => {
            let claim = ledger.resolve_claim(prefix)?;
            let scope = Scope {
                story: None,
                claim: Some(claim),
            };
            let h = ledger.histories(&scope)?;
            let review = h
                .first()
                .and_then(|h| export::review(h, &view, &publisher))
                .ok_or_else(|| {
                    let status = h
                        .first()
                        .and_then(|h| h.status(&view))
                        .map(|s| format!("is {}", s.as_str()))
                        .unwrap_or_else(|| "does not count".into());
                    Error::invalid(format!(
                        "claim {claim} {status} at that time, which is no verdict to review"
                    ))
                })?;
            export::single(review)
        }
        None => {
            let scope = Scope {
                story: args.story.clone(),
                claim: None,
            };
            let reviews = ledger
                .histories(&scope)?
                .iter()
                .filter_map(|h| export::review(h, &view, &publisher))
                .collect();
            export::graph(reviews)
        }
    };
    if args.html {
        return ctx.write_raw(&export::html(&render::json(&doc)));
    }
    ctx.out_json(&doc)
}

fn run_import(ctx: &Ctx, args: ImportArgs) -> Result<()> {
    let bytes = if args.file == "-" {
        if ctx.io().stdin_is_terminal() {
            return Err(Error::invalid(
                "claimreview import reads a ClaimReview feed from standard input, which is a terminal here; pass a FILE or pipe the feed in",
            ));
        }
        ctx.io()
            .read_stdin()
            .map_err(|e| Error::io("reading standard input", e))?
    } else {
        let path = ctx.path(&args.file);
        if path.is_dir() {
            return Err(Error::invalid(format!(
                "{} is a directory, not a ClaimReview file",
                args.file
            )));
        }
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::not_found(format!("there is no file {}", args.file))
            }
            _ => Error::io(format!("reading {}", args.file), e),
        })?
    };
    let shown = if args.file == "-" {
        "standard input"
    } else {
        args.file.as_str()
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let feed: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::invalid(format!("{shown} is not valid JSON ({e})")))?;
    let plan = import::plan(&feed, &args.story)?;
    let mut batch = Vec::with_capacity(plan.events.len());
    for (i, v) in plan.events.iter().enumerate() {
        let event =
            Event::from_json(v, &[]).map_err(|e| e.context(format!("review {}", i / 2 + 1)))?;
        batch.push(Incoming { line: None, event });
    }
    let mut ledger = ctx.target()?;
    let report = ledger.append(batch, ctx.now())?;
    let n = plan.reviews;
    let a = report.appended;
    let mut msg = format!(
        "imported {n} review{}: appended {a} event{}",
        if n == 1 { "" } else { "s" },
        if a == 1 { "" } else { "s" }
    );
    if report.unchanged > 0 {
        msg.push_str(&format!("; {} already in the ledger", report.unchanged));
    }
    if let (Some(first), Some(last)) = (report.first_seq, report.last_seq) {
        msg.push_str(&format!(" (seq {first}..{last})"));
    }
    ctx.out(&format!("{msg}\n"))
}
