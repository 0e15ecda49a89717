//! `claims assert`: records a new claim and prints its id.

use uuid::Uuid;

use claims_core::event::{Asserted, Body, Event, Wording};
use claims_core::time::{parse_valid, Valid};
use claims_core::{Error, Incoming, Result};

use super::Ctx;

/// Record a new claim; prints the claim's id.
///
/// Example: claims assert --story amazon-tiktok-2020-07 --by Amazon
/// --text "Staff must delete TikTok by 10 July" --at 2020-07-10T09:00Z/2020-07-10T19:00Z
/// --said "i morges (amerikansk tid)" --via Reuters
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The story slug the claim belongs to (e.g. amazon-tiktok-2020-07).
    #[arg(long)]
    pub story: String,
    /// Who made the claim.
    #[arg(long)]
    pub by: String,
    /// The claim, as a proposition attributed to its claimant.
    #[arg(long)]
    pub text: String,
    /// When the claim was made: a time, a date (the whole day) or an interval A/B.
    #[arg(long, value_name = "TIME")]
    pub at: String,
    /// The source's own wording of that time ("fredag morgen, amerikansk tid").
    #[arg(long, value_name = "WORDING")]
    pub said: Option<String>,
    #[command(flatten)]
    pub wording: WordingArgs,
    /// An earlier claim (id or prefix) this one replaces.
    #[arg(long, value_name = "CLAIM")]
    pub supersedes: Option<String>,
}

/// Builds the valid time from `--at` and `--said` (a blank `--said` is
/// refused, as every blank text is).
pub fn valid_of(ctx: &Ctx, at: &str, said: Option<String>) -> Result<Valid> {
    let (from, to) = parse_valid(at, ctx.tz()).map_err(|e| e.context("--at"))?;
    Ok(Valid {
        from,
        to,
        text: optional("--said", said)?,
    })
}

/// Refuses a blank value of a required option.
pub fn required(flag: &str, value: String) -> Result<String> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{flag} must not be empty or blank")));
    }
    Ok(value)
}

/// Refuses a blank value of an optional option.
pub fn optional(flag: &str, value: Option<String>) -> Result<Option<String>> {
    value.map(|v| required(flag, v)).transpose()
}

/// The wording options shared by every world-event command.
#[derive(Debug, clap::Args)]
pub struct WordingArgs {
    /// The original-language quote.
    #[arg(long)]
    pub quote: Option<String>,
    /// The quote's language tag (e.g. nb).
    #[arg(long)]
    pub lang: Option<String>,
    /// An English rendering of the quote.
    #[arg(long)]
    pub translation: Option<String>,
    /// An outlet in the reporting chain, nearest to the claimant first (repeatable).
    #[arg(long, value_name = "OUTLET")]
    pub via: Vec<String>,
    /// The document (URL or title) this was extracted from.
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
}

impl WordingArgs {
    /// The wording fields, refusing blank values.
    pub fn build(self) -> Result<Wording> {
        Ok(Wording {
            quote: optional("--quote", self.quote)?,
            lang: optional("--lang", self.lang)?,
            translation: optional("--translation", self.translation)?,
            via: self
                .via
                .into_iter()
                .map(|v| required("--via", v))
                .collect::<Result<_>>()?,
            source: optional("--source", self.source)?,
        })
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let valid = valid_of(ctx, &args.at, args.said)?;
    let story = required("--story", args.story)?;
    if story.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "--story must be a slug without spaces (e.g. amazon-tiktok-2020-07)",
        ));
    }
    let by = required("--by", args.by)?;
    let text = required("--text", args.text)?;
    let wording = args.wording.build()?;
    let mut ledger = ctx.target()?;
    let supersedes = args
        .supersedes
        .map(|p| {
            ledger
                .resolve_claim(&p)
                .map_err(|e| e.context("--supersedes"))
        })
        .transpose()?;
    let claim = Uuid::new_v4();
    let event = Event {
        id: Uuid::new_v4(),
        body: Body::Asserted(Asserted {
            claim,
            story,
            by,
            text,
            valid,
            wording,
            supersedes,
        }),
    };
    ledger.append(vec![Incoming { line: None, event }], ctx.now())?;
    ctx.out(&format!("{claim}\n"))
}
