//! What the verifiable log's commands share (`key`, `checkpoint`, `prove`,
//! `proof check`, `publish`, `verify --published`): the adapter between
//! `claims-transparency` and the command line. Its errors become
//! `claims_core::Error`s; key, verifier and checkpoint files are read with a
//! cap and named in every error (never their key material); the ledger is a
//! `TreeSource`; and an entry of a published copy is checked against the
//! core's canonical encoding and hash chain.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use claims_core::error::{ErrorKind, Hint};
use claims_core::record::Hash as ChainHash;
use claims_core::tree::TileId;
use claims_core::{Error, Record, Result};
use claims_transparency::checkpoint::MAX_CHECKPOINT_BYTES;
use claims_transparency::key::MAX_KEY_BYTES;
use claims_transparency::publish::TreeSource;
use claims_transparency::{Checkpoint, EachEntry, Failure, SigningKey, Verifier};

use super::backend::AnyLedger;
use super::Ctx;

/// A `claims-transparency` error as the CLI's.
pub fn from_format(e: claims_transparency::Error) -> Error {
    use claims_transparency::ErrorKind as K;
    match e.kind() {
        K::Invalid => Error::invalid(e.message()),
        K::Verification => Error::new(ErrorKind::Verification, e.message()),
        K::Conflict => Error::new(ErrorKind::Conflict, e.message()),
        K::Damaged => Error::new(ErrorKind::Damaged, e.message()).with_hint(Hint::Verify),
    }
}

/// A failure through the CLI's sources and files.
pub fn from_failure(f: Failure<Error>) -> Error {
    match f {
        Failure::Format(e) => from_format(e),
        Failure::Source(e) => e,
    }
}

/// Refuses a signing key's text (`PRIVATE+KEY+…`) given where `what`, a
/// file's or a directory's name, belongs, before any message shows it as a
/// name.
pub fn not_a_signing_key(name: &str, what: &str) -> Result<()> {
    if name.contains("PRIVATE+KEY+") {
        return Err(Error::invalid(format!(
            "a signing key was given where {what} belongs (it is not shown here: keep it secret, and give the name of the file that holds it)"
        )));
    }
    Ok(())
}

/// Reads at most `cap` bytes of the file `path` (given as `shown`), refusing
/// a larger file, a directory or anything else that is not a regular file
/// (a FIFO would block).
pub fn read_capped(path: &Path, shown: &str, cap: usize, what: &str) -> Result<Vec<u8>> {
    not_a_signing_key(shown, &format!("the name of a {what} file"))?;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(format!("reading {shown}"), e))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "{shown} is not a file, so not a {what}"
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("reading {shown}"), e))?;
    let mut bytes = Vec::new();
    file.take(cap as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("reading {shown}"), e))?;
    if bytes.len() > cap {
        return Err(Error::invalid(format!(
            "{shown} is larger than any {what} ({cap} bytes)"
        )));
    }
    Ok(bytes)
}

/// A signing key read from the key file `name`, and whether other users may
/// read or write the file (the caller warns once its command has worked).
pub fn signing_key(ctx: &Ctx, name: &Path) -> Result<(SigningKey, bool)> {
    let path = ctx.path(name);
    let shown = name.display().to_string();
    let bytes = read_capped(&path, &shown, MAX_KEY_BYTES, "signing key")?;
    let key = SigningKey::parse(&bytes).map_err(|e| from_format(e.context(&shown)))?;
    Ok((key, open_to_others(&path)))
}

#[cfg(unix)]
fn open_to_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn open_to_others(_: &Path) -> bool {
    false
}

/// After a command that used the key file `name` worked: a warning when
/// other users may read it.
pub fn warn_if_open(ctx: &Ctx, name: &Path, open: bool) {
    if open {
        let n = name.display();
        ctx.io().error_line(&super::render::clean(&format!(
            "warning: other users can read or change the signing key {n}; make it private with `chmod 600 {n}`"
        )));
    }
}

/// The verifier key `--verifier` names: a file holding one, if a file of
/// that name exists, else the key itself.
pub fn verifier(ctx: &Ctx, arg: &str) -> Result<Verifier> {
    let path = ctx.path(arg);
    if path.is_file() {
        let bytes = read_capped(&path, arg, MAX_KEY_BYTES, "verifier key")?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::invalid(format!("{arg} is not text, so not a verifier key")))?;
        return Verifier::parse(text).map_err(|e| from_format(e.context(arg)));
    }
    // Not shown: it may be a signing key given by mistake.
    Verifier::parse(arg).map_err(|e| {
        Error::invalid(format!(
            "--verifier names no file, and as a key: {}",
            e.message()
        ))
    })
}

/// The signed checkpoint in the file `name`, checked with `verifier`.
pub fn checkpoint_file(ctx: &Ctx, name: &Path, verifier: &Verifier) -> Result<Checkpoint> {
    let shown = name.display().to_string();
    let bytes = read_capped(&ctx.path(name), &shown, MAX_CHECKPOINT_BYTES, "checkpoint")?;
    Checkpoint::open(&bytes, verifier).map_err(|e| from_format(e.context(&shown)))
}

/// The bytes of a signed checkpoint file, unchecked (for a check that opens
/// it itself).
pub fn checkpoint_bytes(ctx: &Ctx, name: &Path) -> Result<(Vec<u8>, String)> {
    let shown = name.display().to_string();
    let bytes = read_capped(&ctx.path(name), &shown, MAX_CHECKPOINT_BYTES, "checkpoint")?;
    Ok((bytes, shown))
}

/// The ledger as the log to publish, up to `size` entries: its tree's
/// roots and tiles, and its entries' canonical encodings `C(n)` from one
/// scan of the log held across bundles.
pub struct LedgerTree<'a> {
    ledger: &'a AnyLedger,
    size: u64,
    scan: RefCell<Option<Scan<'a>>>,
}

struct Scan<'a> {
    next: u64,
    records: Box<dyn Iterator<Item = Result<Record>> + 'a>,
}

impl<'a> LedgerTree<'a> {
    /// The first `size` entries of `ledger`.
    pub fn new(ledger: &'a AnyLedger, size: u64) -> Self {
        LedgerTree {
            ledger,
            size,
            scan: RefCell::new(None),
        }
    }
}

impl TreeSource for LedgerTree<'_> {
    type Error = Error;

    fn size(&self) -> u64 {
        self.size
    }

    fn root(&self, size: u64) -> Result<[u8; 32]> {
        self.ledger.tree_root(size)
    }

    fn tile(&self, level: u8, index: u64, width: u32) -> Result<Vec<u8>> {
        self.ledger.tile(TileId { level, index }, width)
    }

    fn entries(
        &self,
        from: u64,
        to: u64,
        each: &mut EachEntry,
    ) -> claims_transparency::Result<(), Error> {
        let mut scan = self.scan.borrow_mut();
        if scan.as_ref().is_none_or(|s| s.next != from + 1) {
            *scan = Some(Scan {
                next: from + 1,
                records: claims_core::Store::scan(self.ledger.store(), from + 1),
            });
        }
        let s = scan.as_mut().expect("just set");
        let mut c = Vec::with_capacity(1024);
        while s.next <= to {
            let r = match s.records.next() {
                Some(r) => r.map_err(Failure::Source)?,
                None => {
                    return Err(Failure::Source(
                        Error::damaged(format!("the log ends before seq {}", s.next))
                            .with_hint(Hint::Verify),
                    ))
                }
            };
            if r.seq != s.next {
                return Err(Failure::Source(
                    Error::damaged(format!(
                        "the log has seq {} where {} was due",
                        r.seq, s.next
                    ))
                    .with_hint(Hint::Verify),
                ));
            }
            c.clear();
            r.canonical_into(&mut c);
            each(r.seq - 1, &c)?;
            s.next += 1;
        }
        Ok(())
    }
}

/// Checks one entry of a published copy, leaf `index`: it must be the
/// canonical encoding `C(n)` of an export entry (UTF-8 JSON whose
/// re-encoding is exactly these bytes) whose seq is `index + 1`; and
/// extends the hash chain `chain` with it; gives the entry back, with its
/// chain hash.
pub fn check_entry(
    chain: &mut ChainHash,
    index: u64,
    bytes: &[u8],
) -> std::result::Result<Record, claims_transparency::Error> {
    fn bad(why: impl Into<String>) -> claims_transparency::Error {
        claims_transparency::Error::failed(why)
    }
    let text = std::str::from_utf8(bytes).map_err(|_| bad("it is not UTF-8 text"))?;
    let v: Value = serde_json::from_str(text).map_err(|_| bad("it is not JSON"))?;
    let Value::Object(mut obj) = v else {
        return Err(bad("it is not a JSON object"));
    };
    if obj.contains_key("hash") {
        return Err(bad(
            "it has a `hash` field, which the canonical encoding leaves out",
        ));
    }
    // The export form, with a hash to be read and not checked.
    obj.insert("hash".into(), Value::String("0".repeat(64)));
    let r = Record::from_json(&Value::Object(obj))
        .map_err(|e| bad(format!("it is not a ledger entry: {}", e.message())))?;
    if r.seq != index + 1 {
        return Err(bad(format!(
            "its seq is {}, not its place in the log",
            r.seq
        )));
    }
    let mut c = Vec::with_capacity(bytes.len());
    r.canonical_into(&mut c);
    if c != bytes {
        let at = c
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(c.len().min(bytes.len()));
        return Err(bad(format!(
            "it is not canonical: its bytes differ from the entry's canonical encoding at byte {at}"
        )));
    }
    let mut r = r;
    r.hash = r.compute_hash(chain);
    *chain = r.hash;
    Ok(r)
}
