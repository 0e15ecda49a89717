//! C2SP signed-note keys: an Ed25519 signing key as
//! `PRIVATE+KEY+NAME+ID+KEY` (Go's `sumdb/note` form, which `signed_note`
//! reads) and its verifier key `NAME+ID+KEY`, where ID is the key id
//! (8 hexadecimal digits of SHA-256 over the name, a newline, and the
//! algorithm byte with the public key) and KEY is base64 of the algorithm
//! byte (1, Ed25519) and the 32 key bytes.
//!
//! No error and no `Debug` output of this module shows key material.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand_core::CryptoRngCore;
use signed_note::{StandardSigner, StandardVerifier};

use crate::Error;

/// The longest key name accepted (a log's origin, e.g.
/// `news.example/claims`).
pub const MAX_NAME_BYTES: usize = 255;

/// The longest key file read.
pub const MAX_KEY_BYTES: usize = 4096;

/// Whether `name` can name a key and be a checkpoint's origin: not empty,
/// no white space, no `+` (signed-note), no control character (a note's
/// text has none), at most [`MAX_NAME_BYTES`] bytes. `Err` says why not.
pub fn check_name(name: &str) -> Result<(), Error> {
    name_problem(name).map_or(Ok(()), |why| Err(Error::invalid(why)))
}

/// Why `name` cannot name a key, if it cannot.
fn name_problem(name: &str) -> Option<&'static str> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_NAME_BYTES {
        "it is longer than 255 bytes"
    } else if name.chars().any(char::is_whitespace) {
        "it contains white space"
    } else if name.contains('+') {
        "it contains `+`"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return None;
    };
    Some(why)
}

/// A new signing key for `name`, and its verifier key.
pub fn generate(rng: &mut impl CryptoRngCore, name: &str) -> Result<(Secret, String), Error> {
    if let Some(why) = name_problem(name) {
        // A signing key pasted as the name is not repeated.
        let shown = if name.contains("PRIVATE+KEY+") {
            "a signing key (not shown)".to_owned()
        } else {
            format!("{name:?}")
        };
        return Err(Error::invalid(format!(
            "{shown} cannot name a key: {why} (a key's name, the log's origin, has no white space, `+` or control characters, such as news.example/claims)"
        )));
    }
    let (skey, vkey) = signed_note::generate_key(rng, name);
    Ok((Secret(skey), vkey))
}

/// The text of a signing key, kept out of `Debug` and `Display`.
pub struct Secret(String);

impl Secret {
    /// The key's text, `PRIVATE+KEY+NAME+ID+KEY`, to write to its file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Overwrite the key's text before the memory is freed.
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// A signing key read from its file.
#[derive(Clone)]
pub struct SigningKey {
    signer: StandardSigner,
    verifier: Verifier,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.verifier.text)
    }
}

impl SigningKey {
    /// Reads a key file's text: one line, `PRIVATE+KEY+NAME+ID+KEY`, with or
    /// without a final newline. The error says what is wrong with it, never
    /// what it holds.
    pub fn parse(text: &[u8]) -> Result<SigningKey, Error> {
        if text.len() > MAX_KEY_BYTES {
            return Err(Error::invalid(
                "it is larger than any signing key (a key file is one short line)",
            ));
        }
        let text = std::str::from_utf8(text)
            .map_err(|_| Error::invalid("it is not text, so not a signing key"))?;
        let line = one_line(text)
            .ok_or_else(|| Error::invalid("it holds more than one line; a key file is one line"))?;
        if line.is_empty() {
            return Err(Error::invalid("it is empty, not a signing key"));
        }
        if !line.starts_with("PRIVATE+KEY+") {
            if StandardVerifier::new(line).is_ok() {
                return Err(Error::invalid(
                    "it holds a verifier key, not the signing key (`claims key generate -o FILE` writes the signing key to FILE)",
                ));
            }
            return Err(Error::invalid(
                "it is not a signing key (PRIVATE+KEY+NAME+ID+KEY, as `claims key generate` writes)",
            ));
        }
        let parts: Vec<&str> = line.splitn(5, '+').collect();
        let [_, _, name, id, key] = parts[..] else {
            return Err(Error::invalid(
                "it is not a signing key: it has fewer than five `+`-separated parts",
            ));
        };
        check_name(name).map_err(|e| Error::invalid(format!("its key name is not valid: {e}")))?;
        if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::invalid("its key id is not 8 hexadecimal digits"));
        }
        let bytes = STANDARD
            .decode(key)
            .map_err(|_| Error::invalid("its key is not standard base64"))?;
        if bytes.first() != Some(&1) {
            return Err(Error::invalid(
                "its key is not an Ed25519 key (algorithm 1)",
            ));
        }
        let seed: [u8; 32] = bytes[1..]
            .try_into()
            .map_err(|_| Error::invalid("its Ed25519 key is not 32 bytes"))?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let vkey = signed_note::new_ed25519_verifier_key(name, &public);
        let signer = match StandardSigner::new(line) {
            Ok(s) => s,
            Err(signed_note::SignerError::Id) => {
                return Err(Error::invalid(
                    "its key id does not match its key (the file was altered)",
                ))
            }
            Err(_) => return Err(Error::invalid("it is not a valid signing key")),
        };
        let verifier =
            Verifier::parse(&vkey).map_err(|_| Error::invalid("it is not a valid signing key"))?;
        Ok(SigningKey { signer, verifier })
    }

    /// The key's name: the log's origin.
    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    /// The verifier of this key.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The signer, for `signed_note`.
    pub(crate) fn signer(&self) -> &StandardSigner {
        &self.signer
    }
}

/// A verifier key: the public half, to publish.
#[derive(Clone)]
pub struct Verifier {
    inner: StandardVerifier,
    text: String,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verifier({})", self.text)
    }
}

impl Verifier {
    /// Reads a verifier key `NAME+ID+KEY` (with or without a final newline).
    /// A signing key given by mistake is refused without being shown.
    pub fn parse(text: &str) -> Result<Verifier, Error> {
        if text.len() > MAX_KEY_BYTES {
            return Err(Error::invalid("it is larger than any verifier key"));
        }
        let line = one_line(text).ok_or_else(|| {
            Error::invalid("it holds more than one line; a verifier key is one line")
        })?;
        if line.starts_with("PRIVATE+KEY+") {
            return Err(Error::invalid(
                "it is a signing key, which must stay private, not a verifier key (give the line `claims key generate` printed)",
            ));
        }
        match StandardVerifier::new(line) {
            Ok(inner) => {
                let name = signed_note::Verifier::name(&inner).to_owned();
                check_name(&name)
                    .map_err(|e| Error::invalid(format!("its key name is not valid: {e}")))?;
                Ok(Verifier {
                    inner,
                    text: line.to_owned(),
                })
            }
            Err(signed_note::VerifierError::Id) => Err(Error::invalid(
                "it is not a valid verifier key: its key id does not match its key",
            )),
            Err(signed_note::VerifierError::Alg) => Err(Error::invalid(
                "it is not an Ed25519 verifier key (algorithm 1)",
            )),
            Err(_) => Err(Error::invalid(
                "it is not a verifier key (NAME+ID+KEY, as `claims key generate` prints)",
            )),
        }
    }

    /// The key's name (the log's origin).
    pub fn name(&self) -> &str {
        signed_note::Verifier::name(&self.inner)
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        signed_note::Verifier::key_id(&self.inner)
    }

    /// The key as text, `NAME+ID+KEY`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `NAME+ID`, how messages name the key.
    pub fn label(&self) -> String {
        format!("{}+{:08x}", self.name(), self.key_id())
    }

    /// The `signed_note` verifier.
    pub(crate) fn inner(&self) -> &StandardVerifier {
        &self.inner
    }
}

/// The text without one final line end (`\n` or `\r\n`), if what is left
/// is one line.
fn one_line(text: &str) -> Option<&str> {
    let line = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    (!line.contains(['\n', '\r'])).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn a_generated_key_reads_back_with_its_verifier() {
        let (secret, vkey) = generate(&mut OsRng, "news.example/claims").unwrap();
        let key = SigningKey::parse(format!("{}\n", secret.expose()).as_bytes()).unwrap();
        assert_eq!(key.name(), "news.example/claims");
        assert_eq!(key.verifier().text(), vkey);
        let v = Verifier::parse(&format!("{vkey}\n")).unwrap();
        assert_eq!(v.key_id(), key.verifier().key_id());
        assert!(vkey.starts_with("news.example/claims+"));
        assert!(!format!("{key:?}").contains(secret.expose()));
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }

    #[test]
    fn go_s_published_example_key_reads_and_matches_its_verifier() {
        // From golang.org/x/mod/sumdb/note's documentation (and signed_note's).
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let key = SigningKey::parse(skey.as_bytes()).unwrap();
        assert_eq!(key.verifier().text(), vkey);
    }

    #[test]
    fn bad_names_are_refused() {
        for name in [
            "",
            "a b",
            "a+b",
            "a\tb",
            "a\u{1}b",
            "a\u{a0}b",
            &"x".repeat(256),
        ] {
            assert!(generate(&mut OsRng, name).is_err(), "{name:?}");
        }
        assert!(generate(&mut OsRng, "ok/name-1.2_3").is_ok());
    }

    #[test]
    fn malformed_key_files_are_refused_without_showing_them() {
        let (secret, vkey) = generate(&mut OsRng, "n").unwrap();
        let s = secret.expose().to_string();
        let b64 = s.splitn(5, '+').nth(4).unwrap().to_string();
        let mut altered_id = s.clone();
        // Change the id's first digit.
        let at = "PRIVATE+KEY+n+".len();
        let c = if &altered_id[at..at + 1] == "0" {
            "1"
        } else {
            "0"
        };
        altered_id.replace_range(at..at + 1, c);
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "empty"),
            (vkey.clone(), "verifier key"),
            (format!("{s}\n{s}\n"), "more than one line"),
            (s.clone(), ""),
            (s.replacen("PRIVATE", "PRIVATF", 1), "not a signing key"),
            (altered_id, "key id does not match"),
            (s.replace(&b64, "AQ=="), "not 32 bytes"),
            (s.replace(&b64, "!!!!"), "base64"),
            (
                format!("PRIVATE+KEY+a b+{}", &s["PRIVATE+KEY+n+".len()..]),
                "name",
            ),
            ("PRIVATE+KEY+n+zz".into(), "five"),
        ];
        for (text, needle) in cases {
            let got = SigningKey::parse(text.as_bytes());
            if needle.is_empty() {
                assert!(got.is_ok());
                continue;
            }
            let e = got.unwrap_err();
            assert!(e.message().contains(needle), "{needle}: {e}");
            assert!(!e.message().contains(&b64), "key material in {e}");
        }
        assert!(SigningKey::parse(&[0xff, 0xfe]).is_err());
        assert!(SigningKey::parse(&vec![b'a'; 5000]).is_err());
    }

    #[test]
    fn a_signing_key_given_as_verifier_is_refused_without_showing_it() {
        let (secret, _) = generate(&mut OsRng, "n").unwrap();
        let e = Verifier::parse(secret.expose()).unwrap_err();
        assert!(e.message().contains("signing key"));
        assert!(!e.message().contains(secret.expose()));
        assert!(Verifier::parse("n+00000000+AQ==").is_err());
        assert!(Verifier::parse("nonsense").is_err());
    }
}
