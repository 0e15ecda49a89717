//! RFC 9162 proofs as JSON (SPEC's shapes), and their checks:
//!
//! ```text
//! {"type":"inclusion","tree_size":N,"leaf_index":I,"leaf_hash":H,"path":[H...],"entry":EXPORT}
//! {"type":"consistency","old_size":M,"tree_size":N,"path":[H...]}
//! ```
//!
//! Hashes are standard base64. The checks are `tlog_tiles::check_record`
//! and `tlog_tiles::check_tree` (RFC 9162 §2.1.3.2 and §2.1.4.2, as Go's
//! `sumdb/tlog` implements them); this module makes sure their
//! preconditions hold (sizes from 1, an index inside the tree, a path of at
//! most 64 hashes) so that they return an answer rather than assert.

use serde_json::{Map, Value};

use crate::hash::{encode_hash, parse_hash, Hash};
use crate::json::{parse_strict, MAX_PROOF_BYTES};
use crate::Error;

/// The longest audit path of any tree of at most 2^64 leaves.
pub const MAX_PATH: usize = 64;

/// A proof of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Proof {
    /// That an entry is in a tree.
    Inclusion(Inclusion),
    /// That a tree is a prefix of a larger one.
    Consistency(Consistency),
}

/// An inclusion proof: the audit path from leaf `leaf_index` to the root of
/// the tree of `tree_size` leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Inclusion {
    /// Leaves in the tree.
    pub tree_size: u64,
    /// The leaf's index (`seq − 1`).
    pub leaf_index: u64,
    /// `SHA-256(0x00 ‖ C(n))`.
    pub leaf_hash: Hash,
    /// The audit path, leaf to root.
    pub path: Vec<Hash>,
    /// The entry itself, as `claims export` writes it (optional).
    pub entry: Option<Value>,
}

/// A consistency proof between the trees of `old_size` and `tree_size`
/// leaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Consistency {
    /// Leaves in the older tree.
    pub old_size: u64,
    /// Leaves in the newer tree.
    pub tree_size: u64,
    /// The proof's hashes.
    pub path: Vec<Hash>,
}

impl Proof {
    /// Reads a proof (at most 1 MiB of JSON). Unknown types, missing or
    /// unknown fields, sizes outside the tree, hashes that are not 32 bytes
    /// of base64 and paths of more than 64 hashes are each refused with one
    /// sentence.
    pub fn parse(bytes: &[u8]) -> Result<Proof, Error> {
        let v = parse_strict(bytes, MAX_PROOF_BYTES)
            .map_err(|e| Error::invalid(format!("the proof is not JSON: {}", e.message())))?;
        let Value::Object(obj) = v else {
            return Err(Error::invalid("the proof is not a JSON object"));
        };
        let kind = match obj.get("type") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(Error::invalid("field `type` must be a string")),
            None => return Err(Error::invalid("field `type` is missing (is this a proof?)")),
        };
        match kind {
            "inclusion" => {
                only(
                    &obj,
                    &[
                        "type",
                        "tree_size",
                        "leaf_index",
                        "leaf_hash",
                        "path",
                        "entry",
                    ],
                )?;
                let tree_size = size(&obj, "tree_size")?;
                let leaf_index = number(&obj, "leaf_index")?;
                if leaf_index >= tree_size {
                    return Err(Error::invalid(format!(
                        "field `leaf_index` ({leaf_index}) must be less than `tree_size` ({tree_size})"
                    )));
                }
                let leaf_hash = hash(&obj, "leaf_hash")?;
                let path = path(&obj)?;
                let entry = match obj.get("entry") {
                    None => None,
                    Some(e @ Value::Object(_)) => Some(e.clone()),
                    Some(_) => {
                        return Err(Error::invalid(
                            "field `entry` must be an object (an export line's entry)",
                        ))
                    }
                };
                Ok(Proof::Inclusion(Inclusion {
                    tree_size,
                    leaf_index,
                    leaf_hash,
                    path,
                    entry,
                }))
            }
            "consistency" => {
                only(&obj, &["type", "old_size", "tree_size", "path"])?;
                let old_size = size(&obj, "old_size")?;
                let tree_size = size(&obj, "tree_size")?;
                if old_size > tree_size {
                    return Err(Error::invalid(format!(
                        "field `old_size` ({old_size}) must not be larger than `tree_size` ({tree_size})"
                    )));
                }
                let path = path(&obj)?;
                Ok(Proof::Consistency(Consistency {
                    old_size,
                    tree_size,
                    path,
                }))
            }
            other => Err(Error::invalid(format!(
                "field `type` is {other:?}; a proof is \"inclusion\" or \"consistency\""
            ))),
        }
    }

    /// The proof as JSON, fields in SPEC's order.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        match self {
            Proof::Inclusion(p) => {
                m.insert("type".into(), "inclusion".into());
                m.insert("tree_size".into(), p.tree_size.into());
                m.insert("leaf_index".into(), p.leaf_index.into());
                m.insert("leaf_hash".into(), encode_hash(&p.leaf_hash).into());
                m.insert("path".into(), hashes(&p.path));
                if let Some(e) = &p.entry {
                    m.insert("entry".into(), e.clone());
                }
            }
            Proof::Consistency(p) => {
                m.insert("type".into(), "consistency".into());
                m.insert("old_size".into(), p.old_size.into());
                m.insert("tree_size".into(), p.tree_size.into());
                m.insert("path".into(), hashes(&p.path));
            }
        }
        Value::Object(m)
    }
}

impl Inclusion {
    /// Whether the path leads from the leaf to `root` in the tree of
    /// `tree_size` leaves (RFC 9162 §2.1.3.2, `tlog_tiles::check_record`).
    pub fn check(&self, root: &Hash) -> Result<(), Error> {
        if self.tree_size == 0 || self.leaf_index >= self.tree_size || self.path.len() > MAX_PATH {
            return Err(Error::invalid(
                "the proof's sizes or path are outside any tree",
            ));
        }
        let path: Vec<tlog_tiles::Hash> = self.path.iter().map(|h| tlog_tiles::Hash(*h)).collect();
        tlog_tiles::check_record(
            &path,
            self.tree_size,
            tlog_tiles::Hash(*root),
            self.leaf_index,
            tlog_tiles::Hash(self.leaf_hash),
        )
        .map_err(|_| {
            Error::failed(format!(
                "the proof does not lead from leaf {} to root {} of the tree of size {}",
                self.leaf_index,
                encode_hash(root),
                self.tree_size
            ))
        })
    }
}

impl Consistency {
    /// Whether the proof shows the tree of `old_size` with root `old_root` is
    /// a prefix of the tree of `tree_size` with root `root` (RFC 9162
    /// §2.1.4.2, `tlog_tiles::check_tree`).
    pub fn check(&self, old_root: &Hash, root: &Hash) -> Result<(), Error> {
        if self.old_size == 0 || self.old_size > self.tree_size || self.path.len() > MAX_PATH {
            return Err(Error::invalid(
                "the proof's sizes or path are outside any tree",
            ));
        }
        let path: Vec<tlog_tiles::Hash> = self.path.iter().map(|h| tlog_tiles::Hash(*h)).collect();
        tlog_tiles::check_tree(
            &path,
            self.tree_size,
            tlog_tiles::Hash(*root),
            self.old_size,
            tlog_tiles::Hash(*old_root),
        )
        .map_err(|_| {
            Error::failed(format!(
                "the proof does not show the tree of size {} (root {}) is a prefix of the tree of size {} (root {})",
                self.old_size,
                encode_hash(old_root),
                self.tree_size,
                encode_hash(root)
            ))
        })
    }
}

fn hashes(path: &[Hash]) -> Value {
    Value::Array(path.iter().map(|h| encode_hash(h).into()).collect())
}

/// Refuses fields other than `allowed`.
fn only(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), Error> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid(format!(
            "field {k:?} is not part of a proof of this type"
        ))),
        None => Ok(()),
    }
}

fn number(obj: &Map<String, Value>, field: &str) -> Result<u64, Error> {
    match obj.get(field) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            Error::invalid(format!("field `{field}` must be a whole number from 0"))
        }),
        Some(_) => Err(Error::invalid(format!("field `{field}` must be a number"))),
        None => Err(Error::invalid(format!("field `{field}` is missing"))),
    }
}

fn size(obj: &Map<String, Value>, field: &str) -> Result<u64, Error> {
    let n = number(obj, field)?;
    if n == 0 {
        return Err(Error::invalid(format!(
            "field `{field}` is 0; a proof is about a tree of at least one entry"
        )));
    }
    Ok(n)
}

fn hash(obj: &Map<String, Value>, field: &str) -> Result<Hash, Error> {
    match obj.get(field) {
        Some(Value::String(s)) => {
            base64_hash(s).map_err(|e| Error::invalid(format!("field `{field}`: {}", e.message())))
        }
        Some(_) => Err(Error::invalid(format!(
            "field `{field}` must be a base64 string"
        ))),
        None => Err(Error::invalid(format!("field `{field}` is missing"))),
    }
}

/// Hashes in proofs are base64 only.
fn base64_hash(s: &str) -> Result<Hash, Error> {
    if s.len() != 44 {
        return Err(Error::invalid(format!(
            "a hash is 44 characters of standard base64, not {}",
            s.chars().count()
        )));
    }
    parse_hash(s)
}

fn path(obj: &Map<String, Value>) -> Result<Vec<Hash>, Error> {
    let items = match obj.get("path") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(Error::invalid("field `path` must be an array of hashes")),
        None => return Err(Error::invalid("field `path` is missing")),
    };
    if items.len() > MAX_PATH {
        return Err(Error::invalid(format!(
            "field `path` has {} hashes; no tree needs more than {MAX_PATH}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => base64_hash(s).map_err(|e| {
                Error::invalid(format!("field `path`, hash {}: {}", i + 1, e.message()))
            }),
            _ => Err(Error::invalid(format!(
                "field `path`, item {}: must be a base64 string",
                i + 1
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> String {
        encode_hash(&[n; 32])
    }

    #[test]
    fn a_proof_round_trips_through_its_json() {
        let p = Proof::Inclusion(Inclusion {
            tree_size: 10,
            leaf_index: 4,
            leaf_hash: [1; 32],
            path: vec![[2; 32], [3; 32]],
            entry: Some(serde_json::json!({"seq": 5})),
        });
        let text = serde_json::to_vec(&p.to_json()).unwrap();
        assert_eq!(Proof::parse(&text).unwrap(), p);
        let c = Proof::Consistency(Consistency {
            old_size: 3,
            tree_size: 10,
            path: vec![[9; 32]],
        });
        let text = serde_json::to_string(&c.to_json()).unwrap();
        assert!(text.starts_with(r#"{"type":"consistency","old_size":3,"tree_size":10,"path":["#));
        assert_eq!(Proof::parse(text.as_bytes()).unwrap(), c);
    }

    #[test]
    fn hostile_proofs_get_one_sentence_each() {
        let inc = |extra: &str| {
            format!(
                r#"{{"type":"inclusion","tree_size":10,"leaf_index":4,"leaf_hash":"{}","path":["{}"]{extra}}}"#,
                h(1),
                h(2)
            )
        };
        assert!(Proof::parse(inc("").as_bytes()).is_ok());
        let long_path = format!(
            r#"{{"type":"consistency","old_size":1,"tree_size":2,"path":[{}]}}"#,
            vec![format!("\"{}\"", h(0)); 65].join(",")
        );
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "not JSON"),
            ("[]".into(), "not a JSON object"),
            ("{}".into(), "`type` is missing"),
            (r#"{"type":"audit"}"#.into(), "\"audit\""),
            (r#"{"type":1}"#.into(), "`type` must be a string"),
            (inc(r#","extra":1"#), "\"extra\""),
            (inc(r#","entry":[]"#), "`entry` must be an object"),
            (
                inc("").replace(r#""tree_size":10"#, r#""tree_size":0"#),
                "`tree_size` is 0",
            ),
            (
                inc("").replace(r#""tree_size":10"#, r#""tree_size":4"#),
                "less than",
            ),
            (
                inc("").replace(r#""tree_size":10"#, r#""tree_size":-1"#),
                "whole number",
            ),
            (
                inc("").replace(r#""tree_size":10"#, r#""tree_size":1e3"#),
                "whole number",
            ),
            (
                inc("").replace(r#""tree_size":10"#, r#""tree_size":"10""#),
                "must be a number",
            ),
            (
                inc("").replace(r#""leaf_index":4,"#, ""),
                "`leaf_index` is missing",
            ),
            (inc("").replace(&h(1), "AAAA"), "`leaf_hash`"),
            (inc("").replace(&h(1), &"A".repeat(64)), "`leaf_hash`"),
            (inc("").replace(&h(2), "zz"), "hash 1"),
            (inc("").replace(&format!("[\"{}\"]", h(2)), "[1]"), "item 1"),
            (inc("").replace(&format!("[\"{}\"]", h(2)), "{}"), "array"),
            (long_path, "65 hashes"),
            (
                r#"{"type":"consistency","old_size":5,"tree_size":4,"path":[]}"#.into(),
                "must not be larger",
            ),
            (
                r#"{"type":"consistency","old_size":0,"tree_size":4,"path":[]}"#.into(),
                "`old_size` is 0",
            ),
            (
                r#"{"type":"consistency","old_size":1,"tree_size":4,"path":[],"leaf_index":0}"#
                    .into(),
                "\"leaf_index\"",
            ),
            (
                inc("").replace(r#""leaf_index":4"#, r#""leaf_index":4,"leaf_index":4"#),
                "twice",
            ),
            (format!("{} x", inc("")), "not JSON"),
        ];
        for (text, needle) in cases {
            let e = Proof::parse(text.as_bytes()).unwrap_err();
            assert!(
                e.message().contains(needle),
                "{text}: {needle:?} not in {e}"
            );
            assert_eq!(e.kind(), crate::ErrorKind::Invalid);
        }
        assert!(Proof::parse(&vec![b' '; MAX_PROOF_BYTES + 1]).is_err());
    }

    #[test]
    fn checks_refuse_what_is_outside_any_tree_without_panicking() {
        let bad = Inclusion {
            tree_size: 0,
            leaf_index: 0,
            leaf_hash: [0; 32],
            path: vec![],
            entry: None,
        };
        assert!(bad.check(&[0; 32]).is_err());
        let bad = Inclusion {
            tree_size: 3,
            leaf_index: 3,
            ..bad
        };
        assert!(bad.check(&[0; 32]).is_err());
        let huge = Inclusion {
            tree_size: u64::MAX,
            leaf_index: u64::MAX - 1,
            path: vec![[0; 32]; 64],
            ..bad
        };
        assert!(huge.check(&[0; 32]).is_err());
        for (old, new) in [(0, 0), (0, 5), (6, 5), (u64::MAX, u64::MAX), (1, u64::MAX)] {
            let c = Consistency {
                old_size: old,
                tree_size: new,
                path: vec![[0; 32]; 3],
            };
            assert!(c.check(&[0; 32], &[0; 32]).is_err());
        }
    }
}
