//! `claims corroborate | dispute | refute | retract`: records what happened to
//! a claim and prints the event's id.

use uuid::Uuid;

use claims_core::event::{Body, Event, FollowUp, FollowUpKind};
use claims_core::{Incoming, Result};

use super::assert::{optional, required, valid_of, WordingArgs};
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
    let valid = valid_of(ctx, &args.at, args.said)?;
    let by = required("--by", args.by)?;
    let reason = optional("--reason", args.reason)?;
    let wording = args.wording.build()?;
    let mut ledger = ctx.target()?;
    let claim = ledger.resolve_claim(&args.claim)?;
    let (reason, note) = match kind {
        FollowUpKind::Corroborated => (None, reason),
        _ => (reason, None),
    };
    let id = Uuid::new_v4();
    let event = Event {
        id,
        body: Body::FollowedUp(FollowUp {
            kind,
            claim,
            by,
            valid,
            reason,
            note,
            wording,
        }),
    };
    ledger
        .append(vec![Incoming { line: None, event }], ctx.now())
        .map_err(|e| match e.message().strip_prefix("field `valid.from`: ") {
            Some(rest) => claims_core::Error::invalid(format!("--at: {rest}")),
            None => e,
        })?;
    ctx.out(&format!("{id}\n"))
}
