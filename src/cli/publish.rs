//! `claims publish DIR --key FILE`: the log as C2SP tlog-tiles in a
//! directory, for any static web host to serve.

use std::path::PathBuf;

use claims_core::{Result, Store};
use claims_transparency::encode_hash;

use super::tiles_dir::Dir;
use super::transparency::{from_failure, not_a_signing_key, signing_key, warn_if_open, LedgerTree};
use super::{Ctx, Progress};

/// Publish the log as static files (C2SP tlog-tiles) under DIR.
///
/// Signed with the key in FILE. DIR/checkpoint is the signed checkpoint (as `claims checkpoint` prints
/// it); DIR/tile/<L>/<N>[.p/<W>] are the hash tiles of the RFC 9162 tree
/// (256 hashes a full tile); DIR/tile/entries/<N>[.p/<W>] the entry
/// bundles, each entry its canonical JSON, the bytes its leaf hash covers.
/// Incremental: when DIR already holds a checkpoint, it must be signed by
/// this key and be of a prefix of this log, and only what is new is
/// written, the checkpoint last. Readers check the copy with `claims verify
/// --published DIR --verifier KEY`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to publish into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The signing key file (`claims key generate -o FILE`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let shown = args.dir.display().to_string();
    not_a_signing_key(&shown, "the directory to publish into")?;
    let (key, open) = signing_key(ctx, &args.key)?;
    if ctx.server().is_some() {
        return Err(claims_core::Error::invalid(
            "publish writes the log's tiles from a ledger on this machine, and --db names a server",
        )
        .with_hint("run `claims publish` where the ledger is (the server's machine, on its --db directory)"));
    }
    let ledger = ctx.open_read()?;
    let size = ledger.store().head().seq;
    let mut dir = Dir::for_writing(ctx.path(&args.dir), &shown)?;
    let source = LedgerTree::new(&ledger, size);
    let mut progress = Progress::new(ctx, size, "publishing");
    let report =
        claims_transparency::publish::publish(&source, &mut dir, &key, &mut |n| progress.set(n))
            .map_err(from_failure)?;
    progress.finish();
    let what = if report.old_size == report.size && report.tiles == 0 {
        format!("already up to date at size {}", report.size)
    } else {
        format!(
            "size {} (was {}): {} tile{} and {} entry bundle{} written",
            report.size,
            report.old_size,
            report.tiles,
            if report.tiles == 1 { "" } else { "s" },
            report.bundles,
            if report.bundles == 1 { "" } else { "s" },
        )
    };
    ctx.out(&format!(
        "published {shown}: {what}; root {}, signed by {}\n",
        encode_hash(&report.root),
        key.verifier().label()
    ))?;
    warn_if_open(ctx, &args.key, open);
    Ok(())
}
