//! `claims void`: marks a ledger entry as made in error.

use uuid::Uuid;

use super::Ctx;
use claims_api::compose::VoidInput;
use claims_core::{Incoming, Result};

/// Mark a ledger entry as made in error (our mistake, not the world's); prints
/// the void's id.
///
/// Voiding an assertion removes its claim, and every event on it, from the
/// state as known from now on. Earlier `--as-of` views still show it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The event to void (its id, or a unique prefix of at least 6 digits).
    pub event: String,
    /// Why the entry was a mistake.
    #[arg(long)]
    pub reason: String,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let checked = VoidInput {
        event: args.event,
        reason: args.reason,
    }
    .check()?;
    let mut ledger = ctx.target()?;
    let target = ledger.resolve_event(&checked.event)?;
    let id = Uuid::new_v4();
    let event = checked.event(target, id);
    ledger.append(vec![Incoming { line: None, event }], ctx.now())?;
    ctx.out(&format!("{id}\n"))
}
