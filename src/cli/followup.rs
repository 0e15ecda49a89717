//! `claims corroborate | dispute | refute | retract`: records what happened to
//! a claim and prints the event's id.

use uuid::Uuid;

use claims_api::compose::{follow_up_refusal, FollowUpInput};
use claims_core::event::FollowUpKind;
use claims_core::{Incoming, Result};

use super::assert::WordingArgs;
use super::Ctx;

/// Record what happened to a claim; prints the event's id.
///
/// corroborate: someone other than the claimant confirmed it. dispute: someone
/// contested it. refute: someone showed it false. retract: the claimant's side
/// withdrew it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The claim (its id, or a unique prefix of at least 6 digits).
    pub claim: String,
    /// Who made the statement.
    #[arg(long)]
    pub by: String,
    /// When it happened: a time, a date (the whole day) or an interval A/B.
    #[arg(long, value_name = "TIME")]
    pub at: String,
    /// The source's own wording of that time.
    #[arg(long, value_name = "WORDING")]
    pub said: Option<String>,
    /// Why (for corroborate, stored as its note).
    #[arg(long, alias = "note")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub wording: WordingArgs,
}

pub fn run(ctx: &Ctx, kind: FollowUpKind, args: Args) -> Result<()> {
    let checked = FollowUpInput {
        claim: args.claim,
        by: args.by,
        at: args.at,
        said: args.said,
        reason: args.reason,
        wording: args.wording.input(),
    }
    .check(ctx.tz())?;
    let mut ledger = ctx.target()?;
    let claim = ledger.resolve_claim(&checked.claim)?;
    let id = Uuid::new_v4();
    let event = checked.event(kind, claim, id);
    ledger
        .append(vec![Incoming { line: None, event }], ctx.now())
        .map_err(follow_up_refusal)?;
    ctx.out(&format!("{id}\n"))
}
