//! The verifiable log's proofs, as `claims prove` prints them and `GET
//! /v1/proof` answers them: RFC 9162 inclusion and consistency proofs from
//! the ledger's tree, each checked against the tree before it is given.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use claims_core::error::{ErrorKind, Hint};
use claims_core::{Error, Ledger, Result, Store};
use claims_transparency::proof::{Consistency, Inclusion, Proof};

/// What to prove: an entry (`event`) or that the log only grew
/// (`consistency`), in the tree of `size` (default: the log's size now).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProveParams {
    /// The event (id or unique prefix) whose entry to prove.
    pub event: Option<String>,
    /// The old tree's size, to prove a prefix of the tree of `size`.
    pub consistency: Option<u64>,
    /// The tree to prove against.
    pub size: Option<u64>,
}

/// `GET /v1/tree[?size=N]`: a tree head, unsigned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeParams {
    /// The tree's size (default: the log's size now).
    pub size: Option<u64>,
}

/// The proof `p` asks for, as its JSON.
pub fn prove<S: Store>(ledger: &Ledger<S>, p: &ProveParams) -> Result<Value> {
    let args = p;
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
        let Some(event) = args.event.as_deref() else {
            return Err(Error::invalid("name an event to prove, or --consistency M"));
        };
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
    Ok(proof.to_json())
}

/// The ledger's own proof does not hold: its tree disagrees with itself.
fn damaged(why: &str) -> Error {
    Error::new(
        ErrorKind::Damaged,
        format!("the ledger's tree does not prove what it should ({why})"),
    )
    .with_hint(Hint::Verify)
}
