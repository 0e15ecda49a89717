//! Tree hashes as text: standard base64 (RFC 4648 §4, padded), as
//! checkpoints write them; 64 hexadecimal digits are also read.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::Error;

/// A SHA-256 leaf, node or root hash.
pub type Hash = [u8; 32];

/// A hash as checkpoints and proofs write it: 44 characters of standard
/// base64.
pub fn encode_hash(h: &Hash) -> String {
    STANDARD.encode(h)
}

/// Reads a hash written as 44 characters of standard base64 (as in
/// checkpoints and proofs) or as 64 hexadecimal digits (as `claims verify`
/// prints the chain's head). Anything else is refused, naming the form.
pub fn parse_hash(s: &str) -> Result<Hash, Error> {
    let mut h = [0u8; 32];
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).unwrap_or(0);
            let lo = (pair[1] as char).to_digit(16).unwrap_or(0);
            h[i] = (hi * 16 + lo) as u8;
        }
        return Ok(h);
    }
    if s.len() != 44 {
        let n = s.chars().count();
        return Err(Error::invalid(format!(
            "a hash is 44 characters of base64 or 64 hexadecimal digits, not {n} character{}",
            if n == 1 { "" } else { "s" }
        )));
    }
    match STANDARD.decode(s) {
        Ok(bytes) if bytes.len() == 32 => {
            h.copy_from_slice(&bytes);
            Ok(h)
        }
        _ => Err(Error::invalid(
            "a hash is 44 characters of standard base64 (32 bytes)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_hex_read_the_same_hash() {
        let h: Hash = core::array::from_fn(|i| (i * 7) as u8);
        let b = encode_hash(&h);
        assert_eq!(b.len(), 44);
        assert_eq!(parse_hash(&b).unwrap(), h);
        let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_hash(&hex).unwrap(), h);
        assert_eq!(parse_hash(&hex.to_uppercase()).unwrap(), h);
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            "",
            "abc",
            // 31 bytes
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
            // not padded
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
            // URL-safe alphabet
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",
            // 63 hex digits and a letter
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
            // non-ASCII of the right length in bytes
            "ééééééééééééééééééééééé",
        ] {
            assert!(parse_hash(bad).is_err(), "{bad:?}");
        }
        // Non-canonical trailing bits are refused by the engine.
        assert!(parse_hash("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=").is_err());
    }
}
