//! `claims checkpoint --key FILE`: the current tree head, signed.

use std::path::PathBuf;

use claims_core::Result;
use claims_transparency::Checkpoint;

use super::transparency::{from_format, signing_key, warn_if_open};
use super::Ctx;

/// Print a signed checkpoint of the log: its size and tree root, signed.
///
/// A C2SP tlog-checkpoint (origin, size, base64 root hash of the RFC 9162
/// tree over the entries), signed as a C2SP signed note with the key in
/// FILE. The origin is the key's name. Readers check it with the verifier key
/// (`claims proof check --checkpoint`, `claims verify --published`), or
/// with any tool that reads those formats.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The signing key file (`claims key generate -o FILE`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let (key, open) = signing_key(ctx, &args.key)?;
    let (size, root) = match ctx.server() {
        Some(r) => {
            let v: serde_json::Value = r.get_json("/v1/tree", &())?;
            let size = v
                .get("size")
                .and_then(|s| s.as_u64())
                .ok_or_else(|| r.garbled("no `size` in the answer"))?;
            let mut root = [0u8; 32];
            v.get("root")
                .and_then(|h| h.as_str())
                .and_then(|h| hex::decode_to_slice(h, &mut root).ok())
                .ok_or_else(|| r.garbled("no `root` in the answer"))?;
            (size, root)
        }
        None => {
            let ledger = ctx.open_read()?;
            let size = ledger.store().head().seq;
            (size, ledger.tree_root(size)?)
        }
    };
    let note = Checkpoint::sign(&key, size, root).map_err(from_format)?;
    let text = String::from_utf8(note).expect("a signed note is UTF-8");
    ctx.out(&text)?;
    warn_if_open(ctx, &args.key, open);
    Ok(())
}
