//! C2SP tlog-checkpoint, signed as a C2SP signed note:
//!
//! ```text
//! news.example/claims
//! 27
//! XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=
//!
//! — news.example/claims AbCd…
//! ```
//!
//! The origin is the signing key's name. The text is `tlog_tiles`'
//! `Checkpoint`; the note and its Ed25519 signature are `signed_note`'s.

use signed_note::{Note, NoteError, VerifierList};

use crate::hash::{encode_hash, Hash};
use crate::key::{SigningKey, Verifier};
use crate::{Error, MAX_TREE_SIZE};

/// The most bytes of a signed checkpoint read (signed_note's own limit for
/// a note).
pub const MAX_CHECKPOINT_BYTES: usize = 1_000_000;

/// A tree head: the log's origin, its size and its root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin (the signing key's name).
    pub origin: String,
    /// Entries in the tree.
    pub size: u64,
    /// The RFC 9162 root hash of the tree of that size.
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint's text, `ORIGIN\nSIZE\nROOT\n`.
    pub fn text(&self) -> Result<Vec<u8>, Error> {
        let cp =
            tlog_tiles::Checkpoint::new(&self.origin, self.size, tlog_tiles::Hash(self.root), "")
                .map_err(|_| Error::invalid("the origin cannot start a checkpoint"))?;
        Ok(cp.to_bytes())
    }

    /// The checkpoint of `size` and `root`, signed by `key` as a C2SP signed
    /// note whose origin is the key's name.
    pub fn sign(key: &SigningKey, size: u64, root: Hash) -> Result<Vec<u8>, Error> {
        let cp = Checkpoint {
            origin: key.name().to_owned(),
            size,
            root,
        };
        let text = cp.text()?;
        let mut note = Note::new(&text, &[])
            .map_err(|_| Error::invalid("the key's name cannot be a checkpoint's origin"))?;
        note.add_sigs(&[key.signer()])
            .map_err(|_| Error::invalid("signing the checkpoint failed"))?;
        Ok(note.to_bytes())
    }

    /// Reads a signed checkpoint: it must be a signed note with a valid
    /// signature by `verifier` (other signatures are ignored, as the format
    /// says), its text a tlog-checkpoint, and its origin the key's name.
    pub fn open(bytes: &[u8], verifier: &Verifier) -> Result<Checkpoint, Error> {
        if bytes.len() > MAX_CHECKPOINT_BYTES {
            return Err(Error::invalid("it is larger than any checkpoint (1 MB)"));
        }
        if bytes.is_empty() {
            return Err(Error::invalid("it is empty, not a checkpoint"));
        }
        let note = Note::from_bytes(bytes).map_err(|_| {
            let why = if std::str::from_utf8(bytes).is_err() {
                "it is not UTF-8 text"
            } else if bytes.contains(&b'\r') {
                "it has carriage returns (a note's lines end in \\n alone)"
            } else if bytes.iter().any(|b| *b < 0x20 && *b != b'\n') {
                "it has control characters"
            } else {
                "its text, blank line and signature lines are not in the signed-note form"
            };
            Error::invalid(format!("it is not a signed checkpoint: {why}"))
        })?;
        let list = VerifierList::new(vec![Box::new(verifier.inner().clone())]);
        match note.verify(&list) {
            Ok(_) => {}
            Err(NoteError::UnverifiedNote) => {
                return Err(Error::failed(format!(
                    "it is not signed by {}",
                    verifier.label()
                )))
            }
            Err(NoteError::InvalidSignature { .. }) => {
                return Err(Error::failed(format!(
                    "its signature by {} does not verify: the checkpoint was altered, or forged",
                    verifier.label()
                )))
            }
            Err(_) => {
                return Err(Error::failed(format!(
                    "its signatures do not verify with {}",
                    verifier.label()
                )))
            }
        }
        let cp = tlog_tiles::Checkpoint::from_bytes(note.text()).map_err(|_| {
            Error::invalid(
                "its signed text is not a tlog checkpoint (origin, size and base64 root hash, one a line)",
            )
        })?;
        if cp.origin() != verifier.name() {
            return Err(Error::failed(format!(
                "its origin is {:?}, not the key's name {:?}",
                cp.origin(),
                verifier.name()
            )));
        }
        if cp.size() > MAX_TREE_SIZE {
            return Err(Error::invalid(format!(
                "its size {} is larger than this program reads (2^48 entries)",
                cp.size()
            )));
        }
        Ok(Checkpoint {
            origin: cp.origin().to_owned(),
            size: cp.size(),
            root: cp.hash().0,
        })
    }

    /// `size N, root B64`, for messages.
    pub fn describe(&self) -> String {
        format!("size {}, root {}", self.size, encode_hash(&self.root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::generate;
    use rand_core::OsRng;

    fn key(name: &str) -> SigningKey {
        let (s, _) = generate(&mut OsRng, name).unwrap();
        SigningKey::parse(s.expose().as_bytes()).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_verifier() {
        let k = key("news.example/claims");
        let root = tlog_tiles::record_hash(b"x").0;
        let note = Checkpoint::sign(&k, 27, root).unwrap();
        let text = String::from_utf8(note.clone()).unwrap();
        let expected = format!(
            "news.example/claims\n27\n{}\n\n\u{2014} news.example/claims ",
            encode_hash(&root)
        );
        assert!(text.starts_with(&expected), "{text}");
        assert!(text.ends_with('\n'));
        assert_eq!(text.lines().count(), 5);
        let cp = Checkpoint::open(&note, k.verifier()).unwrap();
        assert_eq!(
            cp,
            Checkpoint {
                origin: "news.example/claims".into(),
                size: 27,
                root
            }
        );
        // signed_note's own reading agrees.
        let n = Note::from_bytes(&note).unwrap();
        let list = VerifierList::new(vec![Box::new(
            signed_note::StandardVerifier::new(k.verifier().text()).unwrap(),
        )]);
        assert!(n.verify(&list).is_ok());
    }

    #[test]
    fn the_empty_tree_has_a_checkpoint() {
        let k = key("n");
        let note = Checkpoint::sign(&k, 0, tlog_tiles::EMPTY_HASH.0).unwrap();
        let cp = Checkpoint::open(&note, k.verifier()).unwrap();
        assert_eq!(cp.size, 0);
        assert_eq!(cp.root, tlog_tiles::EMPTY_HASH.0);
    }

    #[test]
    fn another_key_an_altered_text_or_another_origin_is_refused() {
        let k = key("news.example/claims");
        let other = key("news.example/claims");
        let root = [7u8; 32];
        let note = Checkpoint::sign(&k, 5, root).unwrap();
        // Re-signed with another key of the same name.
        let forged = Checkpoint::sign(&other, 5, root).unwrap();
        let e = Checkpoint::open(&forged, k.verifier()).unwrap_err();
        assert!(e.message().contains("not signed by"), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::Verification);
        // The size changed under the signature.
        let text = String::from_utf8(note.clone()).unwrap();
        let altered = text.replacen("\n5\n", "\n6\n", 1);
        let e = Checkpoint::open(altered.as_bytes(), k.verifier()).unwrap_err();
        assert!(e.message().contains("does not verify"), "{e}");
        // A key of another name: its checkpoint's origin is not ours.
        let third = key("elsewhere.example/log");
        let e = Checkpoint::open(&Checkpoint::sign(&third, 5, root).unwrap(), k.verifier())
            .unwrap_err();
        assert!(e.message().contains("not signed by"), "{e}");
        // Both signatures: ours verifies, the other is ignored.
        let mut both = Note::from_bytes(&note).unwrap();
        both.add_sigs(&[third.signer()]).unwrap();
        assert!(Checkpoint::open(&both.to_bytes(), k.verifier()).is_ok());
    }

    #[test]
    fn a_note_whose_text_is_not_a_checkpoint_or_names_another_origin_is_refused() {
        let k = key("n");
        for text in [
            "n\n5\n".to_string(),
            "n\n05\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".to_string(),
            "n\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".to_string(),
            "n\n5\nAAAA\n".to_string(),
            "m\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".to_string(),
            format!(
                "n\n{}\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                MAX_TREE_SIZE + 1
            ),
        ] {
            let mut note = Note::new(text.as_bytes(), &[]).unwrap();
            note.add_sigs(&[k.signer()]).unwrap();
            assert!(
                Checkpoint::open(&note.to_bytes(), k.verifier()).is_err(),
                "{text:?}"
            );
        }
        let good = Checkpoint::sign(&k, 5, [0; 32]).unwrap();
        let crlf = String::from_utf8(good.clone())
            .unwrap()
            .replace('\n', "\r\n");
        for bad in [
            &b""[..],
            b"garbage",
            crlf.as_bytes(),
            &good[..good.len() - 1],
            &[0xff, b'\n', b'\n'],
        ] {
            assert!(Checkpoint::open(bad, k.verifier()).is_err());
        }
    }
}
