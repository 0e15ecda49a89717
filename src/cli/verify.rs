//! `claims verify`: recomputes the hash chain; with `--published`, checks a
//! published copy from the outside instead.

use std::path::PathBuf;

use claims_core::record::GENESIS;
use claims_core::Result;
use claims_transparency::encode_hash;

use super::tiles_dir::Dir;
use super::transparency::{
    check_entry, checkpoint_bytes, from_failure, not_a_signing_key, verifier,
};
use super::{Ctx, Progress};

/// Recompute the hash chain from the first entry and check every index
/// and the Merkle tree against the log; prints the entry count and the head
/// hash.
///
/// Exits 1 naming the first bad seq if any entry was changed, removed or
/// reordered.
///
/// With --published DIR --verifier KEY, opens no ledger: checks a copy
/// written by `claims publish` (C2SP tlog-tiles) from the outside. The
/// checkpoint must be signed by KEY; every entry must be the canonical
/// encoding of its seq's entry; every hash tile must be what the entries
/// make, and their root the checkpoint's. Prints the hash chain's head, to
/// compare with the newsroom's `claims verify`. With --old-checkpoint CP, an
/// older checkpoint of the same log, also checks that the log only grew:
/// CP's root is the root of the first entries, and an RFC 9162 consistency
/// proof made from the tiles holds between the two. With --entry EVENT,
/// also prints the entry of that event (an id or a unique prefix of at least
/// 6 characters) as `claims export` writes it, with its chain hash: that
/// entry, byte for byte, is in the signed log.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A published copy (a directory `claims publish` wrote) to check.
    #[arg(long, value_name = "DIR", requires = "verifier")]
    pub published: Option<PathBuf>,
    /// With --published: the log's verifier key (NAME+ID+KEY), or a file
    /// holding it.
    #[arg(long, value_name = "KEY", requires = "published")]
    pub verifier: Option<String>,
    /// With --published: an older signed checkpoint of the log, which the
    /// copy must extend.
    #[arg(long, value_name = "CP", requires = "published")]
    pub old_checkpoint: Option<PathBuf>,
    /// With --published: an event id (or a unique prefix of at least 6
    /// characters) whose entry to print once the copy checks.
    #[arg(long, value_name = "EVENT", requires = "published")]
    pub entry: Option<String>,
}

impl Args {
    /// Whether the command opens a ledger (`--published` does not).
    pub fn opens_ledger(&self) -> bool {
        self.published.is_none()
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let (Some(dir), Some(key)) = (&args.published, &args.verifier) {
        return published(
            ctx,
            dir,
            key,
            args.old_checkpoint.as_ref(),
            args.entry.as_deref(),
        );
    }
    if let Some(r) = ctx.server() {
        let v: serde_json::Value = r.get_json("/v1/verify", &())?;
        let count = v
            .get("count")
            .and_then(|c| c.as_u64())
            .ok_or_else(|| r.garbled("no `count` in the answer"))?;
        let head = v
            .get("head")
            .and_then(|h| h.as_str())
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| r.garbled("no `head` in the answer"))?;
        return ctx.out(&format!("ok: {count} events, head {head}\n"));
    }
    let ledger = ctx.open_read()?;
    let mut progress = Progress::new(
        ctx,
        claims_core::Store::head(ledger.store()).seq,
        "verifying",
    );
    let report = ledger.verify(|n| progress.set(n))?;
    progress.finish();
    ctx.out(&format!(
        "ok: {} events, head {}\n",
        report.count,
        hex::encode(report.head)
    ))
}

/// An event id or prefix as `--entry` takes it: lowercase, at least 6
/// characters, hex digits and hyphens only.
fn entry_prefix(e: &str) -> Result<String> {
    let p = e.trim().to_ascii_lowercase();
    if p.len() < 6 || p.len() > 36 || !p.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(claims_core::Error::invalid(format!(
            "--entry {e:?} is not an event id or a prefix of one (at least 6 hex digits)"
        )));
    }
    Ok(p)
}

fn published(
    ctx: &Ctx,
    dir: &PathBuf,
    key: &str,
    old: Option<&PathBuf>,
    entry: Option<&str>,
) -> Result<()> {
    let wanted = entry.map(entry_prefix).transpose()?;
    let shown = dir.display().to_string();
    not_a_signing_key(&shown, "the published copy's directory")?;
    let key = verifier(ctx, key)?;
    let old = match old {
        Some(p) => Some(checkpoint_bytes(ctx, p)?.0),
        None => None,
    };
    let files = Dir::for_reading(ctx.path(dir), &shown)?;
    let mut chain = GENESIS;
    let mut found: Vec<claims_core::Record> = Vec::new();
    let mut progress = Progress::new(ctx, 0, "verifying");
    let checked = claims_transparency::published::verify(
        &files,
        &key,
        old.as_deref(),
        &mut |i, bytes| {
            let r = check_entry(&mut chain, i, bytes)?;
            if let Some(p) = &wanted {
                if found.len() < 2 && r.event.id.to_string().starts_with(p.as_str()) {
                    found.push(r);
                }
            }
            Ok(())
        },
        &mut |n| progress.set(n),
    )
    .map_err(from_failure)?;
    progress.finish();
    let cp = &checked.checkpoint;
    let mut out = format!(
        "ok: {shown}/checkpoint is signed by {}: {}, size {}, root {}\n",
        checked.key,
        cp.origin,
        cp.size,
        encode_hash(&cp.root)
    );
    out.push_str(&format!(
        "ok: {} entries in {} entry bundle{}, each the canonical encoding of the entry of its seq\n",
        cp.size,
        checked.bundles,
        if checked.bundles == 1 { "" } else { "s" }
    ));
    out.push_str(&format!(
        "ok: {} hash tile{} the entries, and their root is the checkpoint's\n",
        checked.tiles,
        if checked.tiles == 1 {
            " matches"
        } else {
            "s match"
        }
    ));
    if let Some(old) = &checked.old {
        out.push_str(&format!(
            "ok: the old checkpoint (size {}, root {}) is a prefix of this one: the log only grew (RFC 9162 consistency proof from the tiles)\n",
            old.size,
            encode_hash(&old.root)
        ));
    }
    out.push_str(&format!(
        "ok: {} events, head {}\n",
        cp.size,
        hex::encode(chain)
    ));
    if let (Some(e), Some(p)) = (entry, &wanted) {
        match found.as_slice() {
            [] => {
                return Err(claims_core::Error::not_found(format!(
                    "the copy checks, but none of its {} entries has an event id starting with {p}",
                    cp.size
                ))
                .with_hint(claims_core::error::Hint::Say(format!(
                    "check the id {e:?} against the newsroom's `claims log`"
                ))))
            }
            [r] => {
                out.push_str(&format!(
                    "ok: event {} is entry seq {} of the signed log:\n{}\n",
                    r.event.id,
                    r.seq,
                    r.to_line()
                ));
            }
            _ => {
                return Err(claims_core::Error::new(
                    claims_core::ErrorKind::Ambiguous,
                    format!("the copy checks, but more than one event id starts with {p}"),
                )
                .with_hint(claims_core::error::Hint::Say(
                    "give more of the id".to_string(),
                )))
            }
        }
    }
    ctx.out(&out)
}
