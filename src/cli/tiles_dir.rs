//! A published copy as a directory: `publish` writes it, `verify
//! --published` reads it.
//!
//! Writes are whole or not at all: each file is written to a new temporary
//! file beside it (created exclusively, so an existing file or link of that
//! name is never followed), then renamed over the old name (which replaces
//! a symbolic link there rather than writing through it). The checkpoint,
//! the one file replaced in place, is synced before its rename; tiles and
//! bundles, which never change once written, are synced together by
//! [`Dir::sync`] (which `publish` calls before it writes the checkpoint),
//! with every directory written to: one sync after thousands of files
//! rather than one each. Directories inside the copy are created as needed
//! and must be real directories: a symbolic link among them is refused, so
//! that a copy cannot be made to write outside itself. Reads take regular
//! files only, at most the size asked.

use std::collections::{BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use claims_core::{Error, Result};
use claims_transparency::publish::{Files, Target};

/// A published copy's directory.
pub struct Dir {
    root: PathBuf,
    shown: String,
    /// Directories known to be real directories of the copy.
    checked: HashSet<PathBuf>,
    /// Directories whose entries changed since the last sync.
    touched: BTreeSet<PathBuf>,
    /// Files written but not yet synced.
    unsynced: Vec<PathBuf>,
    /// Held while writing: one publish into a directory at a time.
    _lock: Option<File>,
    serial: u64,
}

impl Dir {
    /// The copy at `root` (shown as `shown`) for reading: it must be a
    /// directory.
    pub fn for_reading(root: PathBuf, shown: &str) -> Result<Dir> {
        match std::fs::metadata(&root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(Error::invalid(format!("{shown} is not a directory"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::not_found(format!("there is no directory {shown}")))
            }
            Err(e) => return Err(Error::io(format!("reading {shown}"), e)),
        }
        Ok(Dir {
            root,
            shown: shown.to_string(),
            checked: HashSet::new(),
            touched: BTreeSet::new(),
            unsynced: Vec::new(),
            _lock: None,
            serial: 0,
        })
    }

    /// The copy at `root` for publishing: created if missing (a file there
    /// is refused), and locked against another publish into it.
    pub fn for_writing(root: PathBuf, shown: &str) -> Result<Dir> {
        let mut touched = BTreeSet::new();
        match std::fs::metadata(&root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::invalid(format!(
                    "{shown} is a file, not a directory to publish into"
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&root)
                    .map_err(|e| Error::io(format!("creating {shown}"), e))?;
                if let Some(parent) = root.parent() {
                    touched.insert(if parent.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        parent.to_path_buf()
                    });
                }
            }
            Err(e) => return Err(Error::io(format!("reading {shown}"), e)),
        }
        let lock = File::open(&root).map_err(|e| Error::io(format!("opening {shown}"), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    claims_core::error::ErrorKind::Locked,
                    format!("another publish is writing into {shown}"),
                )
                .with_hint(claims_core::error::Hint::TryAgainLater))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("locking {shown}"), e))
            }
        }
        let mut checked = HashSet::new();
        checked.insert(root.clone());
        Ok(Dir {
            root,
            shown: shown.to_string(),
            checked,
            touched,
            unsynced: Vec::new(),
            _lock: Some(lock),
            serial: 0,
        })
    }

    fn shown(&self, rel: &str) -> String {
        format!("{}/{rel}", self.shown.trim_end_matches('/'))
    }

    /// Why `rel`, which is `m` and not a directory, cannot be one of the
    /// copy's directories.
    fn not_a_dir(&self, m: &std::fs::Metadata, rel: &str) -> Error {
        if m.file_type().is_symlink() {
            Error::invalid(format!(
                "{} is a symbolic link; publish writes only into real directories of the copy",
                self.shown(rel)
            ))
        } else {
            Error::invalid(format!("{} is not a directory", self.shown(rel)))
        }
    }

    /// Makes `dir` (inside the copy) a real directory, creating it and its
    /// parents as needed.
    fn ensure_dir(&mut self, rel: &Path) -> Result<()> {
        let mut at = self.root.clone();
        let mut shown = String::new();
        for part in rel.components() {
            at.push(part);
            if !shown.is_empty() {
                shown.push('/');
            }
            shown.push_str(&part.as_os_str().to_string_lossy());
            if self.checked.contains(&at) {
                continue;
            }
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() => {}
                Ok(m) => return Err(self.not_a_dir(&m, &shown)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match std::fs::create_dir(&at) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            continue; // checked again next time
                        }
                        Err(e) => {
                            return Err(Error::io(format!("creating {}", self.shown(&shown)), e))
                        }
                    }
                    if let Some(parent) = at.parent() {
                        self.touched.insert(parent.to_path_buf());
                    }
                }
                Err(e) => return Err(Error::io(format!("reading {}", self.shown(&shown)), e)),
            }
            self.checked.insert(at.clone());
        }
        Ok(())
    }
}

impl Files for Dir {
    type Error = Error;

    fn read(&self, rel: &str, max: usize) -> Result<Option<Vec<u8>>> {
        let path = self.root.join(rel);
        let shown = self.shown(rel);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(20) => return Ok(None), // ENOTDIR: a parent is a file
            Err(e) => return Err(Error::io(format!("reading {shown}"), e)),
        };
        if !meta.is_file() {
            return Err(Error::new(
                claims_core::error::ErrorKind::Verification,
                format!("{shown} is not a regular file"),
            ));
        }
        let file = File::open(&path).map_err(|e| Error::io(format!("reading {shown}"), e))?;
        let mut bytes = Vec::with_capacity((meta.len() as usize).min(max + 1));
        file.take(max as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading {shown}"), e))?;
        Ok(Some(bytes))
    }
}

impl Target for Dir {
    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let rel_path = Path::new(rel);
        let (parent, name) = match (rel_path.parent(), rel_path.file_name()) {
            (Some(p), Some(n)) => (p.to_path_buf(), n.to_string_lossy().into_owned()),
            _ => return Err(Error::invalid(format!("{rel} is not a file's path"))),
        };
        self.ensure_dir(&parent)?;
        let dir = self.root.join(&parent);
        let shown = self.shown(rel);
        self.serial += 1;
        let tmp = dir.join(format!(
            ".{name}.tmp-{}-{}",
            std::process::id(),
            self.serial
        ));
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o644);
        let written = (|| {
            let mut f = opts.open(&tmp)?;
            f.write_all(bytes)?;
            if rel == claims_transparency::publish::CHECKPOINT {
                f.sync_all()?;
            }
            std::fs::rename(&tmp, dir.join(&name))
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(format!("writing {shown}"), e));
        }
        if rel != claims_transparency::publish::CHECKPOINT {
            self.unsynced.push(dir.join(&name));
        }
        self.touched.insert(dir);
        Ok(())
    }

    fn check_writable(&mut self, rel: &str) -> Result<()> {
        let parts: Vec<_> = Path::new(rel).components().collect();
        let mut at = self.root.clone();
        let mut shown = String::new();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            if !shown.is_empty() {
                shown.push('/');
            }
            shown.push_str(&part.as_os_str().to_string_lossy());
            let last = i + 1 == parts.len();
            if !last && self.checked.contains(&at) {
                continue;
            }
            match std::fs::symlink_metadata(&at) {
                // Made when it is written.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(Error::io(format!("reading {}", self.shown(&shown)), e)),
                // A file or a link there is replaced, not written through.
                Ok(m) if last && m.is_dir() => {
                    return Err(Error::invalid(format!(
                        "{} is a directory where publish writes a file",
                        self.shown(&shown)
                    )))
                }
                Ok(_) if last => {}
                Ok(m) if m.is_dir() => {
                    self.checked.insert(at.clone());
                }
                Ok(m) => return Err(self.not_a_dir(&m, &shown)),
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        for f in std::mem::take(&mut self.unsynced) {
            File::open(&f)
                .and_then(|h| h.sync_all())
                .map_err(|e| Error::io(format!("syncing {}", f.display()), e))?;
        }
        for d in std::mem::take(&mut self.touched) {
            File::open(&d)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(format!("syncing {}", d.display()), e))?;
        }
        Ok(())
    }
}
