//! `claims proof check FILE (--root H | --checkpoint CP --verifier KEY)
//! [--old-root H | --old-checkpoint CP]`: checks a proof offline, with no
//! ledger.

use std::io::Read;
use std::path::PathBuf;

use serde_json::Value;

use claims_core::error::ErrorKind;
use claims_core::{Error, Record, Result};
use claims_transparency::json::MAX_PROOF_BYTES;
use claims_transparency::proof::{Inclusion, Proof};
use claims_transparency::{encode_hash, parse_hash, Checkpoint, Hash, Verifier};

use super::transparency::{checkpoint_file, from_format, read_capped, verifier};
use super::Ctx;

/// Proofs of the verifiable log.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    Check(CheckArgs),
}

/// Check a proof from `claims prove`, offline: no ledger is opened.
///
/// An inclusion proof is checked against the root (--root, or the root of
/// the signed --checkpoint, whose signature, origin and size are checked
/// too); when it carries the entry, the entry's leaf hash is recomputed from
/// it. A consistency proof is checked between the old root (--old-root or
/// --old-checkpoint) and the new. Exactly RFC 9162's verification
/// algorithms (by the tlog_tiles crate). Prints `ok: …` and exits 0, or
/// says in one sentence what does not hold and exits 1.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("new").required(true).multiple(false)))]
pub struct CheckArgs {
    /// The proof (JSON), or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: String,
    /// The root hash of the proof's tree: base64 (as in checkpoints) or 64
    /// hexadecimal digits.
    #[arg(long, value_name = "HASH", group = "new")]
    pub root: Option<String>,
    /// A signed checkpoint of the proof's tree (a file, as `claims
    /// checkpoint` prints it).
    #[arg(long, value_name = "CP", group = "new", requires = "verifier")]
    pub checkpoint: Option<PathBuf>,
    /// The log's verifier key (NAME+ID+KEY), or a file holding it.
    #[arg(long, value_name = "KEY")]
    pub verifier: Option<String>,
    /// For a consistency proof: the old tree's root hash.
    #[arg(long, value_name = "HASH", conflicts_with = "old_checkpoint")]
    pub old_root: Option<String>,
    /// For a consistency proof: a signed checkpoint of the old tree.
    #[arg(long, value_name = "CP", requires = "verifier")]
    pub old_checkpoint: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match args.command {
        Sub::Check(a) => check(ctx, a),
    }
}

/// The root a proof is checked against, and where it came from.
struct Root {
    hash: Hash,
    /// The checkpoint's size and signer, when it came from one.
    signed: Option<(u64, String)>,
}

fn check(ctx: &Ctx, args: CheckArgs) -> Result<()> {
    let bytes = if args.file == "-" {
        let mut bytes = Vec::new();
        ctx.io()
            .stdin_reader()
            .and_then(|r| r.take(MAX_PROOF_BYTES as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| Error::io("reading standard input", e))?;
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(Error::invalid(format!(
                "standard input is larger than any proof ({MAX_PROOF_BYTES} bytes)"
            )));
        }
        bytes
    } else {
        read_capped(&ctx.path(&args.file), &args.file, MAX_PROOF_BYTES, "proof")?
    };
    let shown = if args.file == "-" {
        "standard input"
    } else {
        args.file.as_str()
    };
    let proof = Proof::parse(&bytes).map_err(|e| from_format(e.context(shown)))?;
    let key: Option<Verifier> = match &args.verifier {
        Some(k) => Some(verifier(ctx, k)?),
        None => None,
    };
    let new = root(
        ctx,
        args.root.as_deref(),
        args.checkpoint.as_ref(),
        key.as_ref(),
        "",
    )?
    .expect("clap requires --root or --checkpoint");
    let old = root(
        ctx,
        args.old_root.as_deref(),
        args.old_checkpoint.as_ref(),
        key.as_ref(),
        "old-",
    )?;
    match proof {
        Proof::Inclusion(p) => {
            if old.is_some() {
                return Err(Error::invalid(
                    "an inclusion proof is checked against one tree: --old-root and --old-checkpoint are for consistency proofs",
                ));
            }
            same_size(&new, p.tree_size, "--checkpoint", "tree_size")?;
            let seq = match &p.entry {
                Some(entry) => Some(check_entry(&p, entry)?),
                None => None,
            };
            p.check(&new.hash).map_err(from_format)?;
            let what = match seq {
                Some(seq) => format!("entry seq {seq} (leaf {})", p.leaf_index),
                None => format!(
                    "leaf {} (seq {}) with hash {}",
                    p.leaf_index,
                    p.leaf_index + 1,
                    encode_hash(&p.leaf_hash)
                ),
            };
            ctx.out(&format!(
                "ok: {what} is in the tree of size {}{}\n",
                p.tree_size,
                described(&new)
            ))
        }
        Proof::Consistency(p) => {
            same_size(&new, p.tree_size, "--checkpoint", "tree_size")?;
            let old = match old {
                Some(old) => old,
                None if p.old_size == p.tree_size => Root {
                    hash: new.hash,
                    signed: new.signed.clone(),
                },
                None => {
                    return Err(Error::invalid(format!(
                        "a consistency proof from size {} to {} needs the old tree's root: give --old-root or --old-checkpoint",
                        p.old_size, p.tree_size
                    )))
                }
            };
            same_size(&old, p.old_size, "--old-checkpoint", "old_size")?;
            p.check(&old.hash, &new.hash).map_err(from_format)?;
            ctx.out(&format!(
                "ok: the tree of size {}{} is a prefix of the tree of size {}{}\n",
                p.old_size,
                described(&old),
                p.tree_size,
                described(&new)
            ))
        }
    }
}

/// `, root R` or `, root R, signed by KEY`.
fn described(r: &Root) -> String {
    match &r.signed {
        Some((_, key)) => format!(", root {}, signed by {key}", encode_hash(&r.hash)),
        None => format!(", root {}", encode_hash(&r.hash)),
    }
}

/// A checkpoint's size must be the proof's.
fn same_size(r: &Root, size: u64, option: &str, field: &str) -> Result<()> {
    match &r.signed {
        Some((cp_size, _)) if *cp_size != size => Err(Error::new(
            ErrorKind::Verification,
            format!(
                "the proof's `{field}` is {size}, but {option} is a checkpoint of size {cp_size}"
            ),
        )),
        _ => Ok(()),
    }
}

/// The root given as `--{prefix}root` or `--{prefix}checkpoint`.
fn root(
    ctx: &Ctx,
    hash: Option<&str>,
    checkpoint: Option<&PathBuf>,
    key: Option<&Verifier>,
    prefix: &str,
) -> Result<Option<Root>> {
    if let Some(h) = hash {
        let hash = parse_hash(h.trim())
            .map_err(|e| Error::invalid(format!("--{prefix}root: {}", e.message())))?;
        return Ok(Some(Root { hash, signed: None }));
    }
    let Some(cp) = checkpoint else {
        return Ok(None);
    };
    let key = key.ok_or_else(|| {
        Error::invalid(format!(
            "--{prefix}checkpoint needs --verifier KEY to check it"
        ))
    })?;
    let c: Checkpoint = checkpoint_file(ctx, cp, key)?;
    Ok(Some(Root {
        hash: c.root,
        signed: Some((c.size, key.label())),
    }))
}

/// The proof's entry must be an export entry whose leaf hash is the proof's
/// `leaf_hash` and whose seq is `leaf_index + 1`; returns its seq.
fn check_entry(p: &Inclusion, entry: &Value) -> Result<u64> {
    let record = Record::from_json(entry).map_err(|e| {
        Error::invalid(format!(
            "field `entry` is not an export entry: {}",
            e.message()
        ))
    })?;
    if Value::Object(record.to_json()) != *entry {
        return Err(Error::invalid(
            "field `entry` is not in its export form (as `claims export` writes it)",
        ));
    }
    if record.seq != p.leaf_index + 1 {
        return Err(Error::new(
            ErrorKind::Verification,
            format!(
                "the entry is seq {}, but the proof is for leaf {} (seq {})",
                record.seq,
                p.leaf_index,
                p.leaf_index + 1
            ),
        ));
    }
    let mut c = Vec::with_capacity(1024);
    record.canonical_into(&mut c);
    let leaf = claims_core::tree::leaf_hash(&c);
    if leaf != p.leaf_hash {
        return Err(Error::new(
            ErrorKind::Verification,
            format!(
                "the entry's leaf hash is {}, not the proof's `leaf_hash` {}: the entry is not the one proven",
                encode_hash(&leaf),
                encode_hash(&p.leaf_hash)
            ),
        ));
    }
    Ok(record.seq)
}
