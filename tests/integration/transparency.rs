//! The verifiable log through the real binary: `key generate`,
//! `checkpoint`, `prove`, `proof check`, `publish` and `verify --published`.
//! Signatures are read back with `signed_note` and roots recomputed with
//! `tlog_tiles` from the export's canonical encodings, independently of the
//! ledger's tree; every proof the ledger makes verifies and altered ones do
//! not; published copies verify, incrementally, and tampered ones are
//! refused naming what is wrong; malformed files get one sentence and
//! change nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::harness::{id, Ledger, Out, EMAIL_ASSERTED, SEED_EVENTS};
use claims_transparency::proof::Proof;
use claims_transparency::publish::memory::MemLog;
use claims_transparency::publish::TreeSource;
use claims_transparency::{encode_hash, Checkpoint, SigningKey};

/// `claims key generate NAME -o FILE` in `l`'s directory; the verifier key.
fn keygen(l: &Ledger, name: &str, file: &str) -> String {
    let out = l.bare(&format!("key generate {name} -o {file}")).output();
    out.expect_code(0);
    out.stdout.trim_end().to_string()
}

/// A seeded ledger with a key `news.example/claims` in `claims.key` and its
/// verifier in `claims.pub`.
fn seeded_with_key() -> (Ledger, String) {
    let l = Ledger::seeded();
    let vkey = keygen(&l, "news.example/claims", "claims.key");
    l.write("claims.pub", format!("{vkey}\n"));
    (l, vkey)
}

fn export(l: &Ledger) -> String {
    l.sh("export").ok()
}

/// The export's entries, and the tree over their canonical encodings,
/// computed here with tlog_tiles (not the ledger's tree).
fn independent_tree(l: &Ledger) -> (Vec<Value>, MemLog) {
    let mut log = MemLog::new();
    let mut entries = Vec::new();
    for line in export(l).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let r = claims_core::Record::from_json(&v).unwrap();
        let mut c = Vec::new();
        r.canonical_into(&mut c);
        log.push(c);
        entries.push(v);
    }
    (entries, log)
}

fn root_of(log: &MemLog, size: u64) -> String {
    encode_hash(&log.root(size).unwrap())
}

fn checkpoint(l: &Ledger, file: &str) -> String {
    let text = l.sh("checkpoint --key claims.key").ok();
    l.write(file, &text);
    text
}

/// Appends `n` new claims to story `more`, ids numbered from `from`.
fn append_claims(l: &Ledger, from: u128, n: u128) {
    let lines: Vec<Value> = (from..from + n)
        .map(|i| {
            json!({
                "id": id(1_000_000 + i), "kind": "asserted", "claim": id(i),
                "story": "more", "by": "a reporter", "text": format!("claim number {i}"),
                "valid": {"from": "2020-07-10T12:00:00Z"},
            })
        })
        .collect();
    l.append_lines(&lines).output().expect_code(0);
}

/// `dir` holds exactly `expected` (without printing file contents).
#[track_caller]
fn same_files(dir: &Path, expected: &BTreeMap<String, Vec<u8>>) {
    let got = files_under(dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "files under {}",
        dir.display()
    );
    for (k, v) in &got {
        assert!(v == &expected[k], "{k} changed");
    }
}

fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn key_generate_writes_a_private_key_and_prints_only_the_verifier() {
    let l = Ledger::empty();
    let out = l
        .bare("key generate news.example/claims -o claims.key")
        .output();
    out.expect_code(0);
    assert!(out.stderr.is_empty(), "{}", out.context());
    let vkey = out.stdout.strip_suffix('\n').unwrap();
    assert!(!vkey.contains('\n'));
    let v = signed_note::StandardVerifier::new(vkey).unwrap();
    assert_eq!(signed_note::Verifier::name(&v), "news.example/claims");
    let key_text = std::fs::read_to_string(l.path("claims.key")).unwrap();
    assert!(key_text.starts_with("PRIVATE+KEY+news.example/claims+"));
    assert!(key_text.ends_with('\n'));
    let signer = signed_note::StandardSigner::new(key_text.trim_end()).unwrap();
    assert_eq!(
        signed_note::Signer::key_id(&signer),
        signed_note::Verifier::key_id(&v)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(l.path("claims.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No ledger was opened or made, in the working directory or at --db.
    assert!(!l.path("claims.db").exists());
    l.sh("key generate other -o other.key").ok();
    assert!(!l.db().exists());
    // An existing file is refused and left as it was.
    l.bare("key generate news.example/claims -o claims.key")
        .output()
        .expect_error_line(&["claims.key already exists"]);
    assert_eq!(
        std::fs::read_to_string(l.path("claims.key")).unwrap(),
        key_text
    );
    // Bad names.
    for name in ["'a b'", "a+b", "''"] {
        l.bare(&format!("key generate {name} -o bad.key"))
            .output()
            .expect_error_line(&["cannot name a key"]);
        assert!(!l.path("bad.key").exists());
    }
    // Another key, another verifier.
    let other = keygen(&l, "news.example/claims", "second.key");
    assert_ne!(other, vkey);
}

#[test]
fn a_checkpoint_is_a_signed_note_of_the_tree_of_the_entries() {
    let (l, vkey) = seeded_with_key();
    let text = checkpoint(&l, "cp");
    let note = signed_note::Note::from_bytes(text.as_bytes()).unwrap();
    let v = signed_note::StandardVerifier::new(&vkey).unwrap();
    note.verify(&signed_note::VerifierList::new(vec![Box::new(v)]))
        .unwrap();
    let cp = tlog_tiles::Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!(cp.origin(), "news.example/claims");
    assert_eq!(cp.size(), SEED_EVENTS as u64);
    let (_, log) = independent_tree(&l);
    assert_eq!(cp.hash().to_string(), root_of(&log, SEED_EVENTS as u64));
    assert!(cp.extension().is_empty());
    // Deterministic: the same tree, the same bytes.
    assert_eq!(l.sh("checkpoint --key claims.key").ok(), text);
    // An empty ledger's checkpoint: size 0, the empty tree's hash.
    let e = Ledger::empty();
    std::fs::copy(l.path("claims.key"), e.path("claims.key")).unwrap();
    e.sh("assert --story s --by a --text t --at 2020-01-01")
        .ok();
    let text = e.sh("checkpoint --key claims.key").ok();
    assert!(text.starts_with("news.example/claims\n1\n"), "{text}");
}

#[test]
fn every_seed_entry_is_proven_and_the_proofs_check_offline() {
    let (l, vkey) = seeded_with_key();
    checkpoint(&l, "cp");
    let (entries, log) = independent_tree(&l);
    let root = root_of(&log, SEED_EVENTS as u64);
    let root_hex: String = log
        .root(SEED_EVENTS as u64)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for (i, e) in entries.iter().enumerate() {
        let event = e["id"].as_str().unwrap();
        // By its id, and by a prefix of it.
        let by = if i % 2 == 0 { event } else { &event[..8] };
        let text = l.sh(&format!("prove {by}")).ok();
        let proof: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(proof["type"], "inclusion");
        assert_eq!(proof["tree_size"], SEED_EVENTS);
        assert_eq!(proof["leaf_index"], i);
        assert_eq!(&proof["entry"], e, "the entry is the export's");
        let leaf = encode_hash(&tlog_tiles::record_hash(&log.entries[i]).0);
        assert_eq!(proof["leaf_hash"], leaf);
        let file = l.write("proof.json", &text);
        let seq = i + 1;
        let want = format!("ok: entry seq {seq} (leaf {i}) is in the tree of size 27, root {root}");
        let out = l.bare(&format!("proof check {file} --root {root}")).ok();
        assert_eq!(out, format!("{want}\n"));
        l.bare(&format!("proof check {file} --root {root_hex}"))
            .ok();
        let out = l
            .bare(&format!(
                "proof check {file} --checkpoint cp --verifier claims.pub"
            ))
            .ok();
        assert!(out.starts_with(&want), "{out}");
        assert!(out.contains("signed by news.example/claims+"));
        let out = l
            .bare("proof check - --checkpoint cp")
            .args(["--verifier", vkey.as_str()])
            .stdin(text.clone())
            .ok();
        assert!(out.starts_with(&want), "{out}");
    }
    // A proof against an older tree.
    let text = l.sh(&format!("prove {EMAIL_ASSERTED} --size 10")).ok();
    let file = l.write("old.json", &text);
    l.bare(&format!("proof check {file} --root {}", root_of(&log, 10)))
        .ok();
    l.bare(&format!("proof check {file} --root {root}"))
        .output()
        .expect_error_line(&["does not lead from leaf 5"]);
    l.bare(&format!(
        "proof check {file} --checkpoint cp --verifier claims.pub"
    ))
    .output()
    .expect_error_line(&["`tree_size` is 10", "checkpoint of size 27"]);
    // Sizes outside the log.
    l.sh(&format!("prove {EMAIL_ASSERTED} --size 5"))
        .output()
        .expect_error_line(&["seq 6", "not in the tree of size 5"]);
    l.sh(&format!("prove {EMAIL_ASSERTED} --size 28"))
        .output()
        .expect_error_line(&["no tree of size 28"]);
    l.sh("prove --consistency 0")
        .output()
        .expect_error_line(&["--consistency 0"]);
    l.sh("prove --consistency 28")
        .output()
        .expect_error_line(&["from 1 to 27"]);
    l.sh("prove 00000000").output().expect_code(1);
}

/// One proof, mutated: every byte of every hash in it (one bit), its size
/// and its index; returns `(what, mutated JSON)`.
fn mutations(proof: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let flip = |s: &str, byte: usize, bit: u8| {
        let mut h = claims_transparency::parse_hash(s).unwrap();
        h[byte] ^= 1 << bit;
        Value::String(encode_hash(&h))
    };
    let path = proof["path"].as_array().unwrap();
    for (i, h) in path.iter().enumerate() {
        for byte in 0..32 {
            let mut p = proof.clone();
            p["path"][i] = flip(h.as_str().unwrap(), byte, (byte % 8) as u8);
            out.push((format!("path hash {i}, byte {byte}"), p));
        }
    }
    if let Some(leaf) = proof.get("leaf_hash") {
        for byte in 0..32 {
            let mut p = proof.clone();
            p["leaf_hash"] = flip(leaf.as_str().unwrap(), byte, 7 - (byte % 8) as u8);
            out.push((format!("leaf hash byte {byte}"), p));
        }
    }
    let size = proof["tree_size"].as_u64().unwrap();
    for other in [size - 1, size + 1, size * 2] {
        let mut p = proof.clone();
        p["tree_size"] = other.into();
        out.push((format!("tree_size {other}"), p));
    }
    if let Some(i) = proof.get("leaf_index").and_then(Value::as_u64) {
        for other in [i.wrapping_sub(1), i + 1, i ^ 1] {
            if other < size && other != i {
                let mut p = proof.clone();
                p["leaf_index"] = other.into();
                out.push((format!("leaf_index {other}"), p));
            }
        }
    }
    if let Some(m) = proof.get("old_size").and_then(Value::as_u64) {
        for other in [m - 1, m + 1] {
            if other >= 1 && other <= size && other != m {
                let mut p = proof.clone();
                p["old_size"] = other.into();
                out.push((format!("old_size {other}"), p));
            }
        }
    }
    out
}

/// Whether the library (the same code the binary runs) accepts `proof`
/// against the true roots, computed independently, of the sizes the proof
/// itself names (a proof altered to name another size is checked against
/// that size's real root, the strongest test of RFC 9162's algorithms).
fn accepts(proof: &Value, log: &MemLog) -> bool {
    let Ok(p) = Proof::parse(proof.to_string().as_bytes()) else {
        return false;
    };
    let root = |n: u64| (n <= log.size()).then(|| log.root(n).unwrap());
    match p {
        Proof::Inclusion(i) => {
            let Some(r) = root(i.tree_size) else {
                return false;
            };
            i.entry
                .as_ref()
                .is_none_or(|e| e["seq"].as_u64() == Some(i.leaf_index + 1))
                && i.check(&r).is_ok()
        }
        Proof::Consistency(c) => match (root(c.old_size), root(c.tree_size)) {
            (Some(o), Some(r)) => c.check(&o, &r).is_ok(),
            _ => false,
        },
    }
}

#[test]
fn every_proof_the_ledger_makes_verifies_and_every_altered_one_fails() {
    let (l, _) = seeded_with_key();
    append_claims(&l, 0, 13); // 40 entries: trees of many shapes
    checkpoint(&l, "cp40");
    let (entries, log) = independent_tree(&l);
    let size = entries.len() as u64;
    assert_eq!(size, 40);
    let mut through_binary = 0;
    let mut proofs = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let text = l.sh(&format!("prove {}", e["id"].as_str().unwrap())).ok();
        proofs.push((serde_json::from_str::<Value>(&text).unwrap(), size, 0u64, i));
    }
    for m in 1..=size {
        let text = l.sh(&format!("prove --consistency {m}")).ok();
        proofs.push((serde_json::from_str::<Value>(&text).unwrap(), size, m, 0));
    }
    for (proof, size, old, n) in &proofs {
        assert!(accepts(proof, &log), "{proof}");
        // Every mutation is refused by the library's RFC 9162 check (the
        // entry, whose seq and leaf hash the binary checks too, is dropped
        // so that only the path's check can refuse).
        for (k, (what, bad)) in mutations(proof).into_iter().enumerate() {
            let mut bare = bad.clone();
            bare.as_object_mut().unwrap().remove("entry");
            assert!(!accepts(&bare, &log), "{what}: {bare}");
            assert!(!accepts(&bad, &log), "{what}: {bad}");
            // And a sample of them by the binary, with the checkpoint.
            if (k + n * 7 + *old as usize * 3).is_multiple_of(41) {
                through_binary += 1;
                let f = l.write("bad.json", bad.to_string());
                let old_opt = if *old > 0 && *old < *size {
                    format!(" --old-root {}", root_of(&log, *old))
                } else {
                    String::new()
                };
                let out = l
                    .bare(&format!(
                        "proof check {f} --checkpoint cp40 --verifier claims.pub{old_opt}"
                    ))
                    .output();
                out.expect_code(1);
                assert_eq!(out.stderr.lines().count(), 1, "{}", out.context());
            }
        }
    }
    assert!(through_binary > 50, "{through_binary}");
    // Wrong sizes through the binary with --root too: against the root of
    // the size the proof now names, the path fails.
    let (p, _, _, _) = &proofs[17];
    for other in [18u64, 33, 39] {
        let mut bad = p.clone();
        bad["tree_size"] = other.into();
        let f = l.write("bad.json", bad.to_string());
        l.bare(&format!("proof check {f} --root {}", root_of(&log, other)))
            .output()
            .expect_error_line(&["does not lead"]);
    }
    // A wrong index with the entry: the entry's seq says so.
    let mut bad = p.clone();
    bad["leaf_index"] = 18.into();
    let f = l.write("bad.json", bad.to_string());
    l.bare(&format!("proof check {f} --root {}", root_of(&log, 40)))
        .output()
        .expect_error_line(&["the entry is seq 18", "leaf 18"]);
    // A changed entry: its leaf hash is not the proof's.
    let mut bad = p.clone();
    bad["entry"]["by"] = "someone else".into();
    let f = l.write("bad.json", bad.to_string());
    l.bare(&format!("proof check {f} --root {}", root_of(&log, 40)))
        .output()
        .expect_error_line(&["the entry is not the one proven"]);
}

#[test]
fn checkpoints_before_and_after_an_append_are_consistent() {
    let (l, _) = seeded_with_key();
    checkpoint(&l, "cp27");
    append_claims(&l, 0, 5);
    checkpoint(&l, "cp32");
    let text = l.sh("prove --consistency 27").ok();
    let proof: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(proof["old_size"], 27);
    assert_eq!(proof["tree_size"], 32);
    let f = l.write("cons.json", &text);
    let out = l
        .bare(&format!(
            "proof check {f} --checkpoint cp32 --old-checkpoint cp27 --verifier claims.pub"
        ))
        .ok();
    assert!(out.starts_with("ok: the tree of size 27, root "), "{out}");
    assert!(out.contains("is a prefix of the tree of size 32"));
    let (_, log) = independent_tree(&l);
    l.bare(&format!(
        "proof check {f} --root {} --old-root {}",
        root_of(&log, 32),
        root_of(&log, 27)
    ))
    .ok();
    // Without the old root there is nothing to check against.
    l.bare(&format!(
        "proof check {f} --checkpoint cp32 --verifier claims.pub"
    ))
    .output()
    .expect_error_line(&["needs the old tree's root"]);
    // Old and new swapped.
    l.bare(&format!(
        "proof check {f} --checkpoint cp27 --old-checkpoint cp32 --verifier claims.pub"
    ))
    .output()
    .expect_error_line(&["checkpoint of size 27"]);
    // A proof to an older size, from the same ledger.
    let text = l.sh("prove --consistency 10 --size 27").ok();
    let f = l.write("c10.json", &text);
    l.bare(&format!(
        "proof check {f} --checkpoint cp27 --old-root {} --verifier claims.pub",
        root_of(&log, 10)
    ))
    .ok();
    // The same size: the proof is empty and the roots equal.
    let text = l.sh("prove --consistency 32").ok();
    let f = l.write("same.json", &text);
    l.bare(&format!(
        "proof check {f} --checkpoint cp32 --verifier claims.pub"
    ))
    .ok();
    // An inclusion proof takes no old root.
    let text = l.sh(&format!("prove {EMAIL_ASSERTED}")).ok();
    let f = l.write("inc.json", &text);
    l.bare(&format!(
        "proof check {f} --checkpoint cp32 --old-checkpoint cp27 --verifier claims.pub"
    ))
    .output()
    .expect_error_line(&["inclusion proof is checked against one tree"]);
}

fn verify_published(l: &Ledger, dir: &str, old: Option<&str>) -> Out {
    let mut line = format!("verify --published {dir} --verifier claims.pub");
    if let Some(o) = old {
        line.push_str(&format!(" --old-checkpoint {o}"));
    }
    l.bare(&line).output()
}

#[test]
fn a_published_copy_verifies_and_grows_incrementally() {
    let (l, _) = seeded_with_key();
    let out = l.sh("publish pub --key claims.key").ok();
    assert!(
        out.starts_with("published pub: size 27 (was 0): 1 tile and 1 entry bundle written; root "),
        "{out}"
    );
    let files = files_under(&l.path("pub"));
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["checkpoint", "tile/0/000.p/27", "tile/entries/000.p/27"]
    );
    // The checkpoint is `claims checkpoint`'s.
    assert_eq!(
        String::from_utf8(files["checkpoint"].clone()).unwrap(),
        checkpoint(&l, "cp27")
    );
    // The bundle's entries are the canonical encodings; the tile their leaf
    // hashes.
    let (_, log) = independent_tree(&l);
    let mut bundle = Vec::new();
    for c in &log.entries {
        bundle.extend_from_slice(&(c.len() as u16).to_be_bytes());
        bundle.extend_from_slice(c);
    }
    assert_eq!(files["tile/entries/000.p/27"], bundle);
    let tile: Vec<u8> = log
        .entries
        .iter()
        .flat_map(|c| tlog_tiles::record_hash(c).0)
        .collect();
    assert_eq!(files["tile/0/000.p/27"], tile);
    let head = l.sh("verify").ok();
    let out = verify_published(&l, "pub", None);
    out.expect_code(0);
    assert!(out.stdout.ends_with(&head), "{}", out.context());
    assert!(out.stdout.contains("signed by news.example/claims+"));
    // Again: nothing new.
    let out = l.sh("publish pub --key claims.key").ok();
    assert!(out.contains("already up to date at size 27"), "{out}");
    // 600 more: full tiles, a level-1 tile; old partial tiles kept.
    append_claims(&l, 0, 600);
    let out = l.sh("publish pub --key claims.key").ok();
    assert!(
        out.starts_with("published pub: size 627 (was 27): 4 tiles and 3 entry bundles written"),
        "{out}"
    );
    let files = files_under(&l.path("pub"));
    for p in [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/115",
        "tile/1/000.p/2",
        "tile/entries/000",
        "tile/entries/001",
        "tile/entries/002.p/115",
        "tile/0/000.p/27",
        "tile/entries/000.p/27",
    ] {
        assert!(files.contains_key(p), "{p} in {:?}", files.keys());
    }
    let head = l.sh("verify").ok();
    let out = verify_published(&l, "pub", Some("cp27"));
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("ok: the old checkpoint (size 27, root "),
        "{}",
        out.context()
    );
    assert!(out.stdout.contains("the log only grew"));
    assert!(out.stdout.ends_with(&head));
    assert!(out.stdout.contains("627 entries in 3 entry bundles"));
    // And once more, a few; then the copy checked against the 627 one.
    std::fs::copy(l.path("pub/checkpoint"), l.path("cp627")).unwrap();
    append_claims(&l, 600, 3);
    let out = l.sh("publish pub --key claims.key").ok();
    assert!(
        out.contains("size 630 (was 627): 1 tile and 1 entry bundle written"),
        "{out}"
    );
    verify_published(&l, "pub", Some("cp627")).expect_code(0);
    verify_published(&l, "pub", Some("cp27")).expect_code(0);
    // verify --published opens no ledger.
    let out = l
        .claims(["verify", "--published", "pub", "--verifier", "claims.pub"])
        .output();
    out.expect_code(0);
}

/// A copy of `pub` at `name`, changed by `change`, and the one error line
/// `verify --published` gives for it.
fn tampered(l: &Ledger, name: &str, change: impl FnOnce(&Path)) -> Out {
    let from = l.path("pub");
    let to = l.path(name);
    copy_dir(&from, &to);
    change(&to);
    verify_published(l, name, None)
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in files_under(from) {
        let p = to.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn tampered_copies_are_refused_naming_what_is_wrong() {
    let (l, _) = seeded_with_key();
    append_claims(&l, 0, 600);
    l.sh("publish pub --key claims.key").ok();
    verify_published(&l, "pub", None).expect_code(0);
    let (_, log) = independent_tree(&l);

    // One entry bundle byte changed inside an entry's text: still an
    // entry, canonical, but not the one whose leaf hash the tile holds.
    tampered(&l, "t1", |d| {
        let p = d.join("tile/entries/001");
        let mut b = std::fs::read(&p).unwrap();
        let at = b.iter().position(|c| *c == b'r').unwrap();
        b[at] = b's';
        std::fs::write(p, b).unwrap();
    })
    .expect_error_line(&["tile/0/001 does not match the entries (byte "]);
    // One byte changed so that the entry is no longer JSON.
    tampered(&l, "t1b", |d| {
        let p = d.join("tile/entries/001");
        let mut b = std::fs::read(&p).unwrap();
        b[2] = b'[';
        std::fs::write(p, b).unwrap();
    })
    .expect_error_line(&["tile/entries/001: entry seq 257: it is not "]);
    // A length byte changed.
    tampered(&l, "t2", |d| {
        let p = d.join("tile/entries/000");
        let mut b = std::fs::read(&p).unwrap();
        b[1] ^= 1;
        std::fs::write(p, b).unwrap();
    })
    .expect_error_line(&["tile/entries/000"]);
    // One tile replaced by another.
    tampered(&l, "t3", |d| {
        std::fs::copy(d.join("tile/0/000"), d.join("tile/0/001")).unwrap();
    })
    // (The first byte that differs is where two random hashes first differ.)
    .expect_error_line(&["tile/0/001 does not match the entries (byte "]);
    // A level-1 tile with one bit changed.
    tampered(&l, "t4", |d| {
        let p = d.join("tile/1/000.p/2");
        let mut b = std::fs::read(&p).unwrap();
        b[37] ^= 4;
        std::fs::write(p, b).unwrap();
    })
    .expect_error_line(&["tile/1/000.p/2 does not match the entries (byte 37"]);
    // A tile missing.
    tampered(&l, "t5", |d| {
        std::fs::remove_file(d.join("tile/0/002.p/115")).unwrap();
    })
    .expect_error_line(&["tile/0/002.p/115 is missing"]);
    // The checkpoint re-signed with another key of the same name.
    keygen(&l, "news.example/claims", "impostor.key");
    let impostor = SigningKey::parse(&std::fs::read(l.path("impostor.key")).unwrap()).unwrap();
    let root = log.root(627).unwrap();
    tampered(&l, "t6", |d| {
        std::fs::write(
            d.join("checkpoint"),
            Checkpoint::sign(&impostor, 627, root).unwrap(),
        )
        .unwrap();
    })
    .expect_error_line(&["checkpoint: it is not signed by news.example/claims+"]);
    // A checkpoint's signed text altered.
    tampered(&l, "t7", |d| {
        let p = d.join("checkpoint");
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replacen("\n627\n", "\n626\n", 1);
        std::fs::write(p, t).unwrap();
    })
    .expect_error_line(&["does not verify"]);
    // Checkpoints of other sizes, properly signed.
    let key = SigningKey::parse(&std::fs::read(l.path("claims.key")).unwrap()).unwrap();
    tampered(&l, "t8", |d| {
        std::fs::write(
            d.join("checkpoint"),
            Checkpoint::sign(&key, 626, root).unwrap(),
        )
        .unwrap();
    })
    .expect_error_line(&["tile/entries/002.p/114 is missing"]);
    tampered(&l, "t9", |d| {
        std::fs::write(
            d.join("checkpoint"),
            Checkpoint::sign(&key, 628, root).unwrap(),
        )
        .unwrap();
    })
    .expect_error_line(&["tile/entries/002.p/116 is missing"]);
    // Everything rewritten consistently, but not what was signed: the
    // entries of another log under this log's checkpoint.
    let other = Ledger::seeded();
    std::fs::copy(l.path("claims.key"), other.path("claims.key")).unwrap();
    append_claims(&other, 5000, 600);
    other.sh("publish pub --key claims.key").ok();
    let signed = std::fs::read(l.path("pub/checkpoint")).unwrap();
    tampered(&l, "t10", |d| {
        std::fs::remove_dir_all(d).unwrap();
        copy_dir(&other.path("pub"), d);
        std::fs::write(d.join("checkpoint"), &signed).unwrap();
    })
    .expect_error_line(&["not the checkpoint's"]);
    // An entry that is JSON of an entry but not canonical (a space added),
    // with its tiles rebuilt to match: the bytes are refused as such.
    tampered(&l, "t11", |d| {
        let p = d.join("tile/entries/000");
        let b = std::fs::read(&p).unwrap();
        let len = u16::from_be_bytes([b[0], b[1]]) as usize;
        let mut entry = b[2..2 + len].to_vec();
        entry.insert(1, b' ');
        let mut nb = ((len + 1) as u16).to_be_bytes().to_vec();
        nb.extend_from_slice(&entry);
        nb.extend_from_slice(&b[2 + len..]);
        std::fs::write(p, nb).unwrap();
    })
    .expect_error_line(&["tile/entries/000: entry seq 1: it is not canonical"]);
    // The old checkpoint of another log.
    other.sh("checkpoint --key claims.key").ok();
    let foreign = l.write("foreign-cp", other.sh("checkpoint --key claims.key").ok());
    verify_published(&l, "pub", Some(&foreign))
        .expect_error_line(&["first 627 entries have root", "not the old checkpoint's"]);
}

#[test]
fn malformed_keys_checkpoints_and_proofs_get_one_sentence_and_change_nothing() {
    let (l, vkey) = seeded_with_key();
    checkpoint(&l, "cp");
    let proof = l.sh(&format!("prove {EMAIL_ASSERTED}")).ok();
    let good = l.write("good.json", &proof);
    let before = export(&l);
    let secret = std::fs::read_to_string(l.path("claims.key")).unwrap();
    let secret_b64 = secret.trim_end().splitn(5, '+').nth(4).unwrap().to_string();
    std::fs::create_dir(l.path("a-dir")).unwrap();
    let bad_keys: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.key", vec![], "empty"),
        (
            "pub.key",
            format!("{vkey}\n").into_bytes(),
            "verifier key, not the signing key",
        ),
        ("garbage.key", b"hello".to_vec(), "not a signing key"),
        ("big.key", vec![b'A'; 10_000], "larger than any signing key"),
        ("binary.key", vec![0xff, 0xfe, 0], "not text"),
        (
            "cut.key",
            secret.trim_end().as_bytes()[..secret.len() - 10].to_vec(),
            "",
        ),
    ];
    for (name, bytes, needle) in &bad_keys {
        l.write(name, bytes);
        for cmd in [
            format!("checkpoint --key {name}"),
            format!("publish out-{name} --key {name}"),
        ] {
            let out = l.sh(&cmd).output();
            out.expect_error_line(&[name, needle]);
            assert!(!out.stderr.contains(&secret_b64));
            assert!(!l.path(&format!("out-{name}")).exists(), "{cmd} wrote");
        }
    }
    l.sh("checkpoint --key missing.key")
        .output()
        .expect_error_line(&["missing.key"]);
    l.sh("checkpoint --key a-dir")
        .output()
        .expect_error_line(&["a-dir is not a file"]);

    // Proofs.
    let mut bad_proofs: Vec<(&str, String, &str)> = vec![
        ("p1", String::new(), "not JSON"),
        ("p2", "[1,2]".into(), "not a JSON object"),
        ("p3", r#"{"type":"audit"}"#.into(), "\"audit\""),
        (
            "p4",
            proof.replacen("\"tree_size\": 27", "\"tree_size\": 0", 1),
            "`tree_size` is 0",
        ),
        (
            "p5",
            proof.replacen("\"leaf_index\": 5", "\"leaf_index\": 99", 1),
            "less than",
        ),
        (
            "p6",
            proof.replacen("\"type\"", "\"extra\": 1, \"type\"", 1),
            "\"extra\"",
        ),
        (
            "p7",
            proof.replacen("\"leaf_hash\": \"", "\"leaf_hash\": \"x", 1),
            "`leaf_hash`",
        ),
        (
            "p8",
            proof.replacen("\"path\": [", "\"path\": [\"abc\",", 1),
            "hash 1",
        ),
        (
            "p9",
            proof.replacen("\"seq\": 6", "\"seq\": 6, \"zzz\": 1", 1),
            "`entry`",
        ),
        ("p10", format!("{proof}{proof}"), "not JSON"),
        ("p11", " ".repeat(2 << 20), "larger than any proof"),
    ];
    let long: Vec<String> = (0..65)
        .map(|_| format!("\"{}\"", encode_hash(&[0; 32])))
        .collect();
    bad_proofs.push((
        "p12",
        format!(
            r#"{{"type":"consistency","old_size":1,"tree_size":2,"path":[{}]}}"#,
            long.join(",")
        ),
        "65 hashes",
    ));
    let (_, log) = independent_tree(&l);
    let root = root_of(&log, 27);
    for (name, text, needle) in &bad_proofs {
        let f = l.write(name, text);
        l.bare(&format!("proof check {f} --root {root}"))
            .output()
            .expect_error_line(&[needle]);
    }
    // Roots, checkpoints and verifiers.
    for (root, needle) in [
        ("abc", "--root"),
        ("%%%%", "--root"),
        (&*"A".repeat(43), "--root"),
    ] {
        l.bare(&format!("proof check {good} --root {root}"))
            .output()
            .expect_error_line(&[needle]);
    }
    l.write("bad-cp", "garbage\n");
    l.bare(&format!(
        "proof check {good} --checkpoint bad-cp --verifier claims.pub"
    ))
    .output()
    .expect_error_line(&["bad-cp: it is not a signed checkpoint"]);
    l.bare(&format!(
        "proof check {good} --checkpoint missing-cp --verifier claims.pub"
    ))
    .output()
    .expect_error_line(&["missing-cp"]);
    l.bare(&format!(
        "proof check {good} --checkpoint cp --verifier nonsense"
    ))
    .output()
    .expect_error_line(&["--verifier names no file"]);
    let out = l
        .bare(&format!("proof check {good} --checkpoint cp"))
        .args(["--verifier", secret.trim_end()])
        .output();
    out.expect_error_line(&["signing key"]);
    assert!(!out.stderr.contains(&secret_b64));
    l.bare(&format!(
        "proof check {good} --checkpoint cp --verifier claims.key"
    ))
    .output()
    .expect_error_line(&["claims.key: it is a signing key"]);
    // verify --published of a malformed copy.
    std::fs::create_dir_all(l.path("badpub")).unwrap();
    l.write("badpub/checkpoint", "garbage");
    verify_published(&l, "badpub", None)
        .expect_error_line(&["checkpoint: it is not a signed checkpoint"]);
    verify_published(&l, "nowhere", None).expect_error_line(&["nowhere"]);
    verify_published(&l, "good.json", None).expect_error_line(&["not a directory"]);
    // Usage errors are clap's.
    l.bare(&format!("proof check {good}"))
        .output()
        .expect_code(2);
    l.bare(&format!("proof check {good} --checkpoint cp"))
        .output()
        .expect_code(2);
    l.bare("verify --published pub").output().expect_code(2);
    // Nothing was written: the ledger is as it was, and no ledger was made
    // by the commands that need none.
    assert_eq!(export(&l), before);
    assert!(!l.path("claims.db").exists());
}

#[test]
fn publish_refuses_a_copy_it_cannot_extend_and_writes_nothing() {
    let (l, _) = seeded_with_key();
    l.sh("publish pub --key claims.key").ok();
    let before = files_under(&l.path("pub"));
    // Another key over the copy.
    keygen(&l, "news.example/claims", "other.key");
    l.sh("publish pub --key other.key")
        .output()
        .expect_error_line(&["cannot be extended with this key", "not signed by"]);
    // A copy that is ahead of the log: the same log restored elsewhere
    // (the same entries, recorded times and hashes) and grown by one.
    let dump = l.write("dump.ndjson", export(&l));
    let ahead = Ledger::empty();
    std::fs::copy(l.path("claims.key"), ahead.path("claims.key")).unwrap();
    ahead.sh(&format!("import {dump}")).ok();
    append_claims(&ahead, 0, 1);
    copy_dir(&l.path("pub"), &ahead.path("pub"));
    let out = ahead.sh("publish pub --key claims.key").ok(); // 28 extends 27
    assert!(out.contains("size 28 (was 27)"), "{out}");
    let grown = files_under(&ahead.path("pub"));
    copy_dir(&ahead.path("pub"), &l.path("pub"));
    l.sh("publish pub --key claims.key")
        .output()
        .expect_error_line(&["28 entries, more than the log's 27"]);
    same_files(&l.path("pub"), &grown);
    // The same events recorded by another ledger (other times): not a
    // prefix.
    let twin = Ledger::seeded();
    std::fs::copy(l.path("claims.key"), twin.path("claims.key")).unwrap();
    copy_dir(&ahead.path("pub"), &twin.path("pub"));
    std::fs::write(twin.path("pub/checkpoint"), &before["checkpoint"]).unwrap();
    let twin_before = files_under(&twin.path("pub"));
    twin.sh("publish pub --key claims.key")
        .output()
        .expect_error_line(&["not a prefix of this log"]);
    same_files(&twin.path("pub"), &twin_before);
    // A different entry at the same place.
    let diverged = Ledger::empty();
    std::fs::copy(l.path("claims.key"), diverged.path("claims.key")).unwrap();
    append_claims(&diverged, 0, 30);
    copy_dir(&l.path("pub"), &diverged.path("pub"));
    let snapshot = files_under(&diverged.path("pub"));
    diverged
        .sh("publish pub --key claims.key")
        .output()
        .expect_error_line(&["not a prefix of this log"]);
    same_files(&diverged.path("pub"), &snapshot);
    // A file where the directory should be.
    l.write("afile", "x");
    l.sh("publish afile --key claims.key")
        .output()
        .expect_error_line(&["afile is a file"]);
    // A garbage checkpoint.
    std::fs::write(l.path("pub/checkpoint"), "garbage").unwrap();
    l.sh("publish pub --key claims.key")
        .output()
        .expect_error_line(&["the published checkpoint cannot be extended"]);
}

#[cfg(unix)]
#[test]
fn publish_does_not_follow_links_inside_the_copy() {
    use std::os::unix::fs::symlink;
    let (l, _) = seeded_with_key();
    std::fs::create_dir_all(l.path("pub")).unwrap();
    std::fs::create_dir_all(l.path("elsewhere")).unwrap();
    // A directory of the copy that is a link: refused, nothing written
    // where it points.
    symlink(l.path("elsewhere"), l.path("pub/tile")).unwrap();
    l.sh("publish pub --key claims.key")
        .output()
        .expect_error_line(&["pub/tile is a symbolic link"]);
    assert!(files_under(&l.path("elsewhere")).is_empty());
    assert!(!l.path("pub/checkpoint").exists());
    std::fs::remove_file(l.path("pub/tile")).unwrap();
    std::fs::create_dir_all(l.path("pub/tile/entries")).unwrap();
    symlink(l.path("elsewhere"), l.path("pub/tile/entries/000.p")).unwrap();
    l.sh("publish pub --key claims.key")
        .output()
        .expect_error_line(&["pub/tile/entries/000.p is a symbolic link"]);
    assert!(files_under(&l.path("elsewhere")).is_empty());
    std::fs::remove_file(l.path("pub/tile/entries/000.p")).unwrap();
    // A checkpoint that is a link (to a valid checkpoint of this log) is
    // read, then replaced by the new one, not written through.
    l.sh("publish first --key claims.key").ok();
    std::fs::copy(l.path("first/checkpoint"), l.path("precious")).unwrap();
    let precious = std::fs::read(l.path("precious")).unwrap();
    copy_dir(&l.path("first"), &l.path("pub"));
    std::fs::remove_file(l.path("pub/checkpoint")).unwrap();
    symlink(l.path("precious"), l.path("pub/checkpoint")).unwrap();
    append_claims(&l, 0, 1);
    let out = l.sh("publish pub --key claims.key").ok();
    assert!(out.contains("size 28 (was 27)"), "{out}");
    assert_eq!(std::fs::read(l.path("precious")).unwrap(), precious);
    let meta = std::fs::symlink_metadata(l.path("pub/checkpoint")).unwrap();
    assert!(meta.file_type().is_file());
    verify_published(&l, "pub", Some("precious")).expect_code(0);
}

#[test]
fn an_entry_too_long_for_a_bundle_is_refused_naming_its_seq() {
    let (l, _) = seeded_with_key();
    let text = "x".repeat(70_000);
    l.append_lines(&[json!({
        "id": id(9), "kind": "asserted", "claim": id(10), "story": "long",
        "by": "a", "text": text, "valid": {"from": "2020-07-10T12:00:00Z"},
    })])
    .output()
    .expect_code(0);
    l.sh("publish pub --key claims.key")
        .output()
        .expect_error_line(&["entry seq 28", "65535"]);
    assert!(!l.path("pub/checkpoint").exists());
    // Its proof still works: proofs carry the entry as JSON.
    let text = l.sh(&format!("prove {}", id(9))).ok();
    let f = l.write("long.json", &text);
    let (_, log) = independent_tree(&l);
    l.bare(&format!("proof check {f} --root {}", root_of(&log, 28)))
        .ok();
}

#[test]
fn the_ledger_server_leaves_ledger_less_commands_to_the_client() {
    // After a command that opened the ledger, a server holds it; `proof
    // check -` with that --db still reads this process's standard input.
    let (l, _) = seeded_with_key();
    checkpoint(&l, "cp");
    let text = l.sh(&format!("prove {EMAIL_ASSERTED}")).ok();
    let out = l
        .sh("proof check - --checkpoint cp --verifier claims.pub")
        .stdin(text)
        .ok();
    assert!(out.starts_with("ok: entry seq 6 (leaf 5)"), "{out}");
    let v = l.sh("key generate x -o x.key").ok();
    assert!(v.starts_with("x+"));
    l.sh("publish pub --key claims.key").ok();
    l.sh("verify --published pub --verifier claims.pub").ok();
}

#[test]
fn verify_published_shows_an_entry_of_the_checked_copy_as_export_writes_it() {
    let (l, _) = seeded_with_key();
    l.sh("publish pub --key claims.key").ok();
    let export = export(&l);
    for line in export.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["id"].as_str().unwrap();
        let out = l
            .bare(&format!(
                "verify --published pub --verifier claims.pub --entry {}",
                &id[..8]
            ))
            .output();
        out.expect_code(0);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            lines[lines.len() - 2],
            format!(
                "ok: event {id} is entry seq {} of the signed log:",
                v["seq"]
            ),
            "{}",
            out.context()
        );
        assert_eq!(
            lines[lines.len() - 1],
            line,
            "the export line, hash included"
        );
    }
    l.bare("verify --published pub --verifier claims.pub --entry 00000000")
        .output()
        .expect_error_line(&["none of its 27 entries has an event id starting with 00000000"]);
    l.bare("verify --published pub --verifier claims.pub --entry zz")
        .output()
        .expect_error_line(&["is not an event id or a prefix of one"]);
}
