//! `claims prove EVENT [--size N]` and `claims prove --consistency M
//! [--size N]`: RFC 9162 proofs from the ledger's tree, as JSON.

use serde_json::Value;

use claims_core::error::{ErrorKind, Hint};
use claims_core::{Error, Result, Store};
use claims_transparency::proof::{Consistency, Inclusion, Proof};

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
    let ledger = ctx.open_read()?;
    let head = ledger.store().head().seq;
    let size = args.size.unwrap_or(head);
    if size > head {
        return Err(Error::invalid(format!(
            "--size {size}: the log has {head} entries, so there is no tree of size {size} yet"
        )));
    }
    let proof = if let Some(old) = args.consistency {
        if old == 0 || old > size {
            return Err(Error::invalid(format!(
                "--consistency {old}: the old tree's size must be from 1 to {size} (the tree it is a prefix of)"
            )));
        }
        let path = ledger.consistency_proof(old, size)?;
        let p = Consistency {
            old_size: old,
            tree_size: size,
            path,
        };
        p.check(&ledger.tree_root(old)?, &ledger.tree_root(size)?)
            .map_err(|e| damaged(e.message()))?;
        Proof::Consistency(p)
    } else {
        let event = args.event.as_deref().unwrap_or_default();
        let id = ledger.resolve_event(event)?;
        let seq = ledger
            .store()
            .seq_of_event(id)?
            .ok_or_else(|| Error::not_found(format!("event {id} is not in the log")))?;
        if seq > size {
            return Err(Error::invalid(format!(
                "--size {size}: event {id} is entry seq {seq}, which is not in the tree of size {size} (it came later)"
            )));
        }
        let record = ledger
            .store()
            .get(seq)?
            .ok_or_else(|| damaged(&format!("the log has no entry seq {seq}")))?;
        let mut c = Vec::with_capacity(1024);
        record.canonical_into(&mut c);
        let p = Inclusion {
            tree_size: size,
            leaf_index: seq - 1,
            leaf_hash: claims_core::tree::leaf_hash(&c),
            path: ledger.inclusion_proof(seq, size)?,
            entry: Some(Value::Object(record.to_json())),
        };
        p.check(&ledger.tree_root(size)?)
            .map_err(|e| damaged(e.message()))?;
        Proof::Inclusion(p)
    };
    ctx.out_json(&proof.to_json())
}

/// The ledger's own proof does not hold: its tree disagrees with itself.
fn damaged(why: &str) -> Error {
    Error::new(
        ErrorKind::Damaged,
        format!("the ledger's tree does not prove what it should ({why})"),
    )
    .with_hint(Hint::Verify)
}
