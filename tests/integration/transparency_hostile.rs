//! The verifiable log's commands given hostile input: keys, proofs,
//! checkpoints and published copies made by someone who wants them
//! believed, or wants the command to crash, hang, leak the signing key or
//! change what it was given. Each refusal is one `error:` line, exit 1, and
//! leaves the ledger and the published copy exactly as they were.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::harness::{id, Ledger, Out};

/// `claims key generate NAME -o FILE` in `l`'s directory; the verifier key,
/// also written to `claims.pub`.
fn seeded_with_key() -> Ledger {
    let l = Ledger::seeded();
    let out = l
        .bare("key generate news.example/claims -o claims.key")
        .output();
    out.expect_code(0);
    l.write("claims.pub", &out.stdout);
    l
}

/// Appends `n` new claims to story `more`, ids numbered from `from`.
fn append_claims(l: &Ledger, from: u128, n: u128) {
    let lines: Vec<Value> = (from..from + n)
        .map(|i| {
            json!({
                "id": id(2_000_000 + i), "kind": "asserted", "claim": id(3_000_000 + i),
                "story": "more", "by": "a reporter", "text": format!("claim number {i}"),
                "valid": {"from": "2020-07-10T12:00:00Z"},
            })
        })
        .collect();
    l.append_lines(&lines).output().expect_code(0);
}

/// Every file under `dir` (symbolic links as their targets), by relative
/// path; directories end in `/`, other special files in `|`.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let kind = e.file_type().unwrap();
            if kind.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                stack.push(p);
            } else if !kind.is_file() && !kind.is_symlink() {
                // A FIFO or the like: never opened (it would block).
                out.insert(format!("{rel}|"), Vec::new());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// `dir` holds exactly `before`.
#[track_caller]
fn unchanged(out: &Out, dir: &Path, before: &BTreeMap<String, Vec<u8>>) {
    let after = files_under(dir);
    let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let changed: Vec<_> = after
        .iter()
        .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
        .map(|(k, _)| k)
        .collect();
    if !(added.is_empty() && gone.is_empty() && changed.is_empty()) {
        out.fail(&format!(
            "a refused command changed {}: added {added:?}, removed {gone:?}, changed {changed:?}",
            dir.display()
        ));
    }
}

#[test]
fn publish_over_a_copy_with_a_changed_tile_writes_nothing() {
    // 257 entries: the copy keeps tile/1/000.p/1, which the next size's
    // root is made from too; a changed byte in it must stop the publish
    // before it writes the new size's tiles and bundles.
    let l = seeded_with_key();
    append_claims(&l, 0, 230);
    l.sh("publish pub --key claims.key").ok();
    let tile = l.path("pub/tile/1/000.p/1");
    let mut b = std::fs::read(&tile).unwrap();
    b[3] ^= 1;
    std::fs::write(&tile, b).unwrap();
    append_claims(&l, 1000, 1);
    let before = files_under(&l.path("pub"));
    let out = l.refuses(
        l.sh("publish pub --key claims.key"),
        &["tile", "checkpoint of size 257"],
    );
    unchanged(&out, &l.path("pub"), &before);
    // A tile of the old size missing, or of the wrong length: the same.
    std::fs::remove_file(&tile).unwrap();
    let before = files_under(&l.path("pub"));
    let out = l.refuses(
        l.sh("publish pub --key claims.key"),
        &["tile/1/000.p/1 is missing"],
    );
    unchanged(&out, &l.path("pub"), &before);
    std::fs::write(&tile, [0u8; 33]).unwrap();
    let before = files_under(&l.path("pub"));
    let out = l.refuses(
        l.sh("publish pub --key claims.key"),
        &["tile/1/000.p/1 is 33 bytes"],
    );
    unchanged(&out, &l.path("pub"), &before);
}

#[cfg(unix)]
#[test]
fn publish_refused_by_something_in_the_way_writes_nothing() {
    // Whatever in the copy stands where a later tile goes (a link, a file
    // where a directory must be, a directory where a file must be) is found
    // before the first new file is written, not after.
    let l = seeded_with_key();
    l.sh("publish pub --key claims.key").ok();
    append_claims(&l, 0, 574);
    let pubdir = l.path("pub");
    std::fs::create_dir_all(l.path("elsewhere")).unwrap();
    std::fs::create_dir_all(pubdir.join("tile/0/002.p/89")).unwrap();
    std::os::unix::fs::symlink(l.path("elsewhere"), pubdir.join("tile/entries/002.p")).unwrap();
    std::fs::write(pubdir.join("tile/1"), b"").unwrap();
    let cases: [(&str, &str); 3] = [
        (
            "tile/entries/002.p",
            "pub/tile/entries/002.p is a symbolic link",
        ),
        ("tile/0/002.p/89", "pub/tile/0/002.p/89 is a directory"),
        ("tile/1", "pub/tile/1 is not a directory"),
    ];
    for (i, (_, needle)) in cases.iter().enumerate() {
        let before = files_under(&pubdir);
        let out = l.refuses(l.sh("publish pub --key claims.key"), &[needle]);
        unchanged(&out, &pubdir, &before);
        assert!(files_under(&l.path("elsewhere")).is_empty());
        // Out of the way, for the next one.
        let p = pubdir.join(cases[i].0);
        if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    l.sh("publish pub --key claims.key").ok();
    l.bare("verify --published pub --verifier claims.pub").ok();
}

#[test]
fn a_signing_key_given_where_a_file_name_belongs_is_never_shown() {
    // The key's text pasted where its file's name (or a proof's, a
    // checkpoint's, a directory's) belongs: refused in one sentence that
    // does not repeat it, and no file or directory made of it.
    let l = seeded_with_key();
    l.sh("checkpoint --key claims.key").ok();
    let cp = l.write("cp", l.sh("checkpoint --key claims.key").ok());
    let secret = std::fs::read_to_string(l.path("claims.key")).unwrap();
    let secret = secret.trim_end();
    // PRIVATE+KEY+<name>+<key hash>+<key data>: the key data is base64 and
    // may hold '+' itself, so it is what follows the fourth '+'.
    let material = secret.splitn(5, '+').nth(4).unwrap();
    assert!(material.len() >= 40, "the key's material: {material:?}");
    let runs = [
        l.sh("checkpoint").args(["--key", secret]),
        l.sh("publish pub").args(["--key", secret]),
        l.sh("publish").args([secret, "--key", "claims.key"]),
        l.bare("proof check --root AAAA").args([secret]),
        l.bare("proof check --checkpoint")
            .args([secret, "--verifier", "claims.pub"])
            .args(["-"]),
        l.bare("verify --verifier claims.pub --published")
            .args([secret]),
        l.bare("verify --published . --verifier claims.pub --old-checkpoint")
            .args([secret]),
        l.bare("proof check cp --checkpoint").args([
            cp.as_str(),
            "--verifier",
            "claims.pub",
            "--old-checkpoint",
            secret,
        ]),
        l.bare("key generate -o other.key").args([secret]),
    ];
    // A FIFO where a file is named is not opened (it would block), and the
    // sentence says what it is not.
    #[cfg(unix)]
    {
        let fifo = l.path("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        l.bare("proof check fifo --root AAAA")
            .output()
            .expect_error_line(&["fifo is not a file, so not a proof"]);
    }
    let before = files_under(l.dir.path());
    for run in runs {
        let out = run.output();
        out.expect_code(1);
        if out.stderr.contains(material) || out.stdout.contains(material) {
            out.fail("the signing key was shown");
        }
        if !out.stderr.starts_with("error: ") || out.stderr.lines().count() != 1 {
            out.fail("expected one error line");
        }
        unchanged(&out, l.dir.path(), &before);
    }
}
