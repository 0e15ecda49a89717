//! `claims key generate NAME -o FILE`: a new Ed25519 signing key for the
//! verifiable log, in the C2SP signed-note format. Needs no ledger.

use std::io::Write;
use std::path::{Path, PathBuf};

use claims_core::error::ErrorKind;
use claims_core::{Error, Result};

use super::transparency::from_format;
use super::Ctx;

/// Signing keys for the verifiable log (checkpoints, `publish`).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    Generate(GenerateArgs),
}

/// Make a new Ed25519 signing key; print its verifier key.
///
/// Writes the signing key (`PRIVATE+KEY+NAME+ID+KEY`, the C2SP signed-note
/// form of Go's sumdb/note) to FILE, readable by you alone (mode 0600); an
/// existing FILE is never overwritten. Keep it secret: whoever has it can
/// sign checkpoints of your log. Prints the verifier key (`NAME+ID+KEY`)
/// and nothing else: publish it, so that readers can check your
/// checkpoints with `claims proof check` and `claims verify --published`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The log's name, its checkpoints' origin: no spaces or `+`, such as
    /// news.example/claims.
    pub name: String,
    /// The file to write the signing key to (it must not exist).
    #[arg(short = 'o', long = "output", value_name = "FILE", required = true)]
    pub output: PathBuf,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    match args.command {
        Sub::Generate(a) => generate(ctx, a),
    }
}

fn generate(ctx: &Ctx, args: GenerateArgs) -> Result<()> {
    let (secret, verifier) = claims_transparency::key::generate(&mut rand_core::OsRng, &args.name)
        .map_err(from_format)?;
    let path = ctx.path(&args.output);
    let shown = args.output.display().to_string();
    write_new_private(&path, &shown, format!("{}\n", secret.expose()).as_bytes())?;
    ctx.out(&format!("{verifier}\n"))
}

/// Writes `bytes` to the new file `path`, mode 0600, whole or not at all: a
/// temporary file beside it, synced, then hard-linked to `path` (which fails
/// if `path` exists, so nothing is ever overwritten), and the directory
/// synced.
fn write_new_private(path: &Path, shown: &str, bytes: &[u8]) -> Result<()> {
    let exists = || {
        Error::new(
            ErrorKind::Conflict,
            format!(
                "{shown} already exists; key generate never overwrites a key (choose another file)"
            ),
        )
    };
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(exists());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{shown} is not a file name")))?;
    let tmp_name = format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id());
    let tmp = dir.join(&tmp_name);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut created = false;
    let result = (|| -> std::io::Result<()> {
        let mut f = opts.open(&tmp)?;
        created = true;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    if created {
        let _ = std::fs::remove_file(&tmp);
    }
    match result {
        Ok(()) => {}
        // Not ours: left by a run of the same process id that died.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !created => {
            let tmp_shown = Path::new(shown).with_file_name(&tmp_name);
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "{} is in the way, a temporary file of an earlier key generate that did not finish; remove it and try again",
                    tmp_shown.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists()),
        // A file system without hard links: create the file itself,
        // exclusively (a crash may then leave it part-written).
        Err(_) => {
            let direct = opts.open(path).and_then(|mut f| {
                f.write_all(bytes)?;
                f.sync_all()
            });
            match direct {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists()),
                Err(e) => return Err(Error::io(format!("writing {shown}"), e)),
            }
        }
    }
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("syncing the directory of {shown}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leftover_temporary_file_is_neither_blamed_on_the_key_file_nor_removed() {
        // A temporary file of this process's id left by a run that died
        // (process ids repeat, in containers soon): the key file does not
        // exist, so the error must not say it does, and the leftover, which
        // may hold a key, is not this run's to delete.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let tmp = dir
            .path()
            .join(format!(".k.key.tmp-{}", std::process::id()));
        std::fs::write(&tmp, b"left over").unwrap();
        let e = write_new_private(&path, "k.key", b"secret\n").unwrap_err();
        assert!(!e.message().contains("already exists"), "{}", e.message());
        assert!(e.message().contains(".k.key.tmp-"), "{}", e.message());
        assert_eq!(std::fs::read(&tmp).unwrap(), b"left over");
        assert!(!path.exists());
    }
}
