//! `claims prove EVENT [--size N]` and `claims prove --consistency M
//! [--size N]`: RFC 9162 proofs from the ledger's tree, as JSON.

use claims_api::proofs::ProveParams;
use claims_core::Result;

use super::Ctx;

/// Prove that an entry is in the log, or that the log only grew.
///
/// `prove EVENT` prints an inclusion proof of the entry holding EVENT in the
/// tree of size --size (default: the log's size now), with the entry as
/// `claims export` writes it:
/// {"type":"inclusion","tree_size":N,"leaf_index":I,"leaf_hash":H,"path":[H...],"entry":{...}}
/// (leaf index = seq − 1; hashes base64). `prove --consistency M` prints a
/// consistency proof that the tree of size M is a prefix of the tree of size
/// --size: {"type":"consistency","old_size":M,"tree_size":N,"path":[H...]}.
/// Anyone checks them with `claims proof check`, against a root or a signed
/// checkpoint, with no ledger.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(false)))]
pub struct Args {
    /// The event (its id, or a unique prefix of at least 6 digits).
    #[arg(group = "what")]
    pub event: Option<String>,
    /// Prove that the tree of this size is a prefix of the tree of --size.
    #[arg(long, value_name = "M", group = "what")]
    pub consistency: Option<u64>,
    /// The tree to prove against (default: the log's size now).
    #[arg(long, value_name = "N")]
    pub size: Option<u64>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let params = ProveParams {
        event: args.event,
        consistency: args.consistency,
        size: args.size,
    };
    if let Some(r) = ctx.server() {
        return ctx.out_raw(&r.get_bytes("/v1/proof", &params)?);
    }
    let ledger = ctx.open_read()?;
    ctx.out_json(&claims_api::proofs::prove(&ledger, &params)?)
}
