//! `claims assert`: records a new claim and prints its id.

use uuid::Uuid;

use claims_api::compose::{AssertInput, WordingInput};
use claims_core::{Incoming, Result};

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
    /// The wording as [`claims_api::compose`] takes it.
    pub fn input(self) -> WordingInput {
        WordingInput {
            quote: self.quote,
            lang: self.lang,
            translation: self.translation,
            via: self.via,
            source: self.source,
        }
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let checked = AssertInput {
        story: args.story,
        by: args.by,
        text: args.text,
        at: args.at,
        said: args.said,
        wording: args.wording.input(),
        supersedes: args.supersedes,
    }
    .check(ctx.tz())?;
    let mut ledger = ctx.target()?;
    let claim = Uuid::new_v4();
    let event = checked.event(claim, Uuid::new_v4(), |p| ledger.resolve_claim(p))?;
    ledger.append(vec![Incoming { line: None, event }], ctx.now())?;
    ctx.out(&format!("{claim}\n"))
}
