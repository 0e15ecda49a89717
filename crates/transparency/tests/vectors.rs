//! RFC 6962/9162 test vectors (tests/data/rfc6962-vectors.json, copied from
//! transparency-dev/merkle): the reference tree's roots, its inclusion and
//! consistency proofs accepted and each deliberately broken proof refused,
//! and every published probe given to this crate as a proof file would be
//! (through `Proof::parse` and `parse_hash`), with the verdict the probe
//! wants.

use claims_transparency::proof::{Consistency, Inclusion, Proof};
use claims_transparency::publish::memory::MemLog;
use claims_transparency::publish::TreeSource;
use claims_transparency::{encode_hash, parse_hash, Hash};
use serde_json::{json, Value};

fn vectors() -> Value {
    let text = include_str!("data/rfc6962-vectors.json");
    serde_json::from_str(text).expect("the vectors are JSON")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hash_hex(s: &str) -> Hash {
    hex(s).try_into().unwrap()
}

fn hashes_hex(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| hash_hex(h.as_str().unwrap()))
        .collect()
}

/// The reference tree: leaves "", 00, 10, 2021, … as a log.
fn reference() -> (MemLog, Vec<Hash>, Vec<Vec<u8>>) {
    let v = vectors();
    let leaves: Vec<Vec<u8>> = v["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex(l.as_str().unwrap()))
        .collect();
    let roots = hashes_hex(&v["roots_hex"]);
    let mut log = MemLog::new();
    for l in &leaves {
        log.push(l.clone());
    }
    (log, roots, leaves)
}

#[test]
fn the_reference_tree_has_the_published_roots_at_every_size() {
    let (log, roots, _) = reference();
    assert_eq!(roots.len(), 9);
    for (size, root) in roots.iter().enumerate() {
        assert_eq!(&log.root(size as u64).unwrap(), root, "size {size}");
    }
}

/// Every way of breaking a path: each bit of each hash flipped, a hash
/// added or removed at either end, neighbours swapped.
fn broken_paths(path: &[Hash]) -> Vec<(String, Vec<Hash>)> {
    let mut out = Vec::new();
    for i in 0..path.len() {
        for bit in 0..256 {
            let mut p = path.to_vec();
            p[i][bit / 8] ^= 1 << (bit % 8);
            out.push((format!("bit {bit} of hash {i} flipped"), p));
        }
    }
    let mut longer = path.to_vec();
    longer.push([0; 32]);
    out.push(("a hash added at the end".into(), longer));
    let mut longer = vec![[0; 32]];
    longer.extend_from_slice(path);
    out.push(("a hash added at the start".into(), longer));
    if !path.is_empty() {
        out.push((
            "the last hash removed".into(),
            path[..path.len() - 1].to_vec(),
        ));
        out.push(("the first hash removed".into(), path[1..].to_vec()));
        out.push(("an empty path".into(), vec![]));
    }
    for i in 1..path.len() {
        let mut p = path.to_vec();
        p.swap(i - 1, i);
        if p != path {
            out.push((format!("hashes {} and {i} swapped", i - 1), p));
        }
    }
    out
}

#[test]
fn the_reference_inclusion_proofs_hold_and_every_broken_one_fails() {
    let (log, roots, leaves) = reference();
    let v = vectors();
    let cases = v["inclusion_proofs"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for c in cases {
        let index = c["leaf_index"].as_u64().unwrap();
        let size = c["tree_size"].as_u64().unwrap();
        let path = hashes_hex(&c["path"]);
        let leaf = tlog_tiles::record_hash(&leaves[index as usize]).0;
        let root = roots[size as usize];
        let p = Inclusion {
            tree_size: size,
            leaf_index: index,
            leaf_hash: leaf,
            path: path.clone(),
            entry: None,
        };
        p.check(&root)
            .unwrap_or_else(|e| panic!("leaf {index} of {size}: {e}"));
        // tlog_tiles makes the same path from the stored hashes.
        let made = tlog_tiles::prove_record(size, index, log.hashes()).unwrap();
        assert_eq!(made.iter().map(|h| h.0).collect::<Vec<_>>(), path);
        for (what, bad) in broken_paths(&path) {
            let q = Inclusion {
                path: bad,
                ..p.clone()
            };
            assert!(q.check(&root).is_err(), "leaf {index} of {size}: {what}");
        }
        for other in 1..=8u64 {
            if other != size {
                let q = Inclusion {
                    tree_size: other,
                    ..p.clone()
                };
                // A size is bound to its root (by a checkpoint): against
                // the other size's root the path fails. (Against the same
                // root a path can hold for several sizes whose trees have
                // the same shape along it, as RFC 9162 allows: leaf 0's path
                // is the same in the trees of 5 to 8 leaves.)
                if index < other {
                    assert!(
                        q.check(&roots[other as usize]).is_err(),
                        "leaf {index} of {size} as size {other}, its root"
                    );
                }
            }
        }
        for other in 0..size {
            if other != index {
                let q = Inclusion {
                    leaf_index: other,
                    ..p.clone()
                };
                assert!(q.check(&root).is_err(), "leaf {index} as {other}");
            }
        }
        for bit in 0..256 {
            let mut l = leaf;
            l[bit / 8] ^= 1 << (bit % 8);
            let q = Inclusion {
                leaf_hash: l,
                ..p.clone()
            };
            assert!(q.check(&root).is_err(), "leaf hash bit {bit}");
            let mut r = root;
            r[bit / 8] ^= 1 << (bit % 8);
            assert!(p.check(&r).is_err(), "root bit {bit}");
        }
    }
}

#[test]
fn every_inclusion_proof_of_the_reference_tree_holds() {
    let (log, roots, leaves) = reference();
    for size in 1..=8u64 {
        for index in 0..size {
            let path: Vec<Hash> = tlog_tiles::prove_record(size, index, log.hashes())
                .unwrap()
                .into_iter()
                .map(|h| h.0)
                .collect();
            let p = Inclusion {
                tree_size: size,
                leaf_index: index,
                leaf_hash: tlog_tiles::record_hash(&leaves[index as usize]).0,
                path,
                entry: None,
            };
            p.check(&roots[size as usize]).unwrap();
        }
    }
}

#[test]
fn the_reference_consistency_proofs_hold_and_every_broken_one_fails() {
    let (log, roots, _) = reference();
    let v = vectors();
    let cases = v["consistency_proofs"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for c in cases {
        let old = c["old_size"].as_u64().unwrap();
        let size = c["tree_size"].as_u64().unwrap();
        let path = hashes_hex(&c["path"]);
        let p = Consistency {
            old_size: old,
            tree_size: size,
            path: path.clone(),
        };
        let (old_root, root) = (roots[old as usize], roots[size as usize]);
        p.check(&old_root, &root)
            .unwrap_or_else(|e| panic!("{old} → {size}: {e}"));
        let made = tlog_tiles::prove_tree(size, old, log.hashes()).unwrap();
        assert_eq!(made.iter().map(|h| h.0).collect::<Vec<_>>(), path);
        for (what, bad) in broken_paths(&path) {
            let q = Consistency {
                path: bad,
                ..p.clone()
            };
            assert!(q.check(&old_root, &root).is_err(), "{old} → {size}: {what}");
        }
        for other in 1..=8u64 {
            if other != size && other >= old {
                let q = Consistency {
                    tree_size: other,
                    ..p.clone()
                };
                assert!(
                    q.check(&old_root, &roots[other as usize]).is_err(),
                    "{old} → {size} as {other}"
                );
            }
            if other != old && other <= size {
                let q = Consistency {
                    old_size: other,
                    ..p.clone()
                };
                assert!(
                    q.check(&roots[other as usize], &root).is_err(),
                    "{old} as {other} → {size}"
                );
            }
        }
        // The roots swapped, or either with a bit flipped.
        if old != size {
            assert!(p.check(&root, &old_root).is_err());
        }
        for bit in [0, 7, 100, 255] {
            let mut r = root;
            r[bit / 8] ^= 1 << (bit % 8);
            assert!(p.check(&old_root, &r).is_err());
            let mut o = old_root;
            o[bit / 8] ^= 1 << (bit % 8);
            assert!(p.check(&o, &root).is_err());
        }
    }
}

#[test]
fn every_consistency_proof_of_the_reference_tree_holds() {
    let (log, roots, _) = reference();
    for size in 1..=8u64 {
        for old in 1..=size {
            let path: Vec<Hash> = tlog_tiles::prove_tree(size, old, log.hashes())
                .unwrap()
                .into_iter()
                .map(|h| h.0)
                .collect();
            Consistency {
                old_size: old,
                tree_size: size,
                path,
            }
            .check(&roots[old as usize], &roots[size as usize])
            .unwrap();
        }
    }
}

/// A probe's hash as a reader would pass it: base64 text, refused by
/// `parse_hash` unless it is one.
fn probe_hash(v: &Value) -> Result<Hash, String> {
    match v {
        Value::String(s) => parse_hash(s).map_err(|e| e.to_string()),
        _ => Err("no hash".into()),
    }
}

fn probe_path(v: &Value) -> Value {
    match v {
        Value::Null => json!([]),
        other => other.clone(),
    }
}

/// The probes the published set wants accepted whose hashes are not hashes
/// ("don't care" placeholders of 12 bytes): the proof file format, whose
/// hashes are 32 bytes, refuses them before any check.
const NOT_HASHES: &[&str] =
    &["testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"];

#[test]
fn every_published_inclusion_probe_gets_its_verdict() {
    let v = vectors();
    let probes = v["inclusion_probes"].as_array().unwrap();
    assert!(probes.len() > 90);
    let mut accepted = 0;
    for p in probes {
        let file = p["file"].as_str().unwrap();
        let want_err = p["wantErr"].as_bool().unwrap();
        let verdict = (|| -> Result<(), String> {
            let root = probe_hash(&p["root"])?;
            let doc = json!({
                "type": "inclusion",
                "tree_size": p["treeSize"],
                "leaf_index": p["leafIdx"],
                "leaf_hash": p["leafHash"],
                "path": probe_path(&p["proof"]),
            });
            let proof = Proof::parse(doc.to_string().as_bytes()).map_err(|e| e.to_string())?;
            let Proof::Inclusion(i) = proof else {
                return Err("not inclusion".into());
            };
            i.check(&root).map_err(|e| e.to_string())
        })();
        match (want_err, &verdict) {
            (true, Err(_)) => {}
            (false, Ok(())) => accepted += 1,
            (true, Ok(())) => panic!("{file}: accepted, but must fail"),
            (false, Err(e)) => panic!("{file}: refused ({e}), but must hold"),
        }
    }
    // The happy paths of the five proofs, and the one-leaf tree.
    assert_eq!(accepted, 6);
}

#[test]
fn every_published_consistency_probe_gets_its_verdict() {
    let v = vectors();
    let probes = v["consistency_probes"].as_array().unwrap();
    assert!(probes.len() > 90);
    let mut accepted = 0;
    for p in probes {
        let file = p["file"].as_str().unwrap();
        let want_err = p["wantErr"].as_bool().unwrap();
        let verdict = (|| -> Result<(), String> {
            let old_root = probe_hash(&p["root1"])?;
            let root = probe_hash(&p["root2"])?;
            let doc = json!({
                "type": "consistency",
                "old_size": p["size1"],
                "tree_size": p["size2"],
                "path": probe_path(&p["proof"]),
            });
            let proof = Proof::parse(doc.to_string().as_bytes()).map_err(|e| e.to_string())?;
            let Proof::Consistency(c) = proof else {
                return Err("not consistency".into());
            };
            c.check(&old_root, &root).map_err(|e| e.to_string())
        })();
        match (want_err, &verdict) {
            (true, Err(_)) => {}
            (false, Ok(())) => accepted += 1,
            (true, Ok(())) => panic!("{file}: accepted, but must fail"),
            (false, Err(e)) if NOT_HASHES.contains(&file) => {
                assert!(e.contains("base64"), "{file}: {e}");
            }
            (false, Err(e)) => panic!("{file}: refused ({e}), but must hold"),
        }
    }
    assert_eq!(accepted, 5);
}

#[test]
fn a_proof_file_of_a_vector_round_trips_and_checks() {
    let (_, roots, leaves) = reference();
    let v = vectors();
    let c = &v["inclusion_proofs"][2];
    let text = json!({
        "type": "inclusion",
        "tree_size": c["tree_size"],
        "leaf_index": c["leaf_index"],
        "leaf_hash": encode_hash(&tlog_tiles::record_hash(&leaves[5]).0),
        "path": hashes_hex(&c["path"]).iter().map(encode_hash).collect::<Vec<_>>(),
    })
    .to_string();
    let Proof::Inclusion(p) = Proof::parse(text.as_bytes()).unwrap() else {
        panic!()
    };
    p.check(&roots[8]).unwrap();
    assert_eq!(Proof::Inclusion(p).to_json().to_string(), text);
}
