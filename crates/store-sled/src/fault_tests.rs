//! Fault injection in the commit path: a fail point ([`Stage`]) at every
//! stage of both commit protocols, for a small batch (100 records) and a
//! large one (more than `SMALL_COMMIT` = 4096). Each case opens a ledger with
//! some entries, commits a batch that the fail point stops, drops the handle,
//! reopens, and checks that the batch is all there or not at all (and which,
//! where the stage decides it), that `Ledger::verify` passes, that every
//! index agrees with a `MemStore` fed the same committed records, and that
//! the reopened ledger takes the next batch. Faults: a crash (the handle
//! writes nothing more; sled's own drop still hands its buffers to the OS),
//! a snapshot of the files at the fail point (what a process killed there
//! leaves: sled's unwritten buffers lost), and ENOSPC (the OS's sentence,
//! a poisoned handle, recovery on reopen).
//!
//! Dropping writes that were not synced (what a power cut does), measured on
//! this machine (Linux 6.18.44, as root, in a container):
//! - device-mapper cannot run: `dmsetup targets` fails with
//!   "/dev/mapper/control: open failed: No such device / Failure to
//!   communicate with kernel device-mapper driver. / Check that
//!   device-mapper is available in the kernel. / Incompatible libdevmapper
//!   1.02.185 (2022-05-18) and kernel driver (unknown version). / Command
//!   failed."; `ls /dev/mapper/control`: "No such file or directory";
//!   `modprobe dm_flakey`: "modprobe: command not found", and there is no
//!   `/lib/modules/6.18.44-fc-v857`. So no `dm-flakey` or `dm-log-writes`.
//! - a loop device can: `losetup -f --show IMG`, `mkfs.ext4 -q -F`, `mount -t
//!   ext4` all work, and ext4's `FS_IOC_SHUTDOWN` ioctl with
//!   `EXT4_GOING_FLAGS_NOLOGFLUSH` (xfstests' way to simulate a power cut)
//!   stops the file system at once: every later write fails with EIO, and
//!   after `umount` and `mount` only what was fsynced is there (checked: a
//!   file written without fsync is gone, an fsynced one is kept).
//!
//! `unsynced_writes_dropped_by_a_shut_down_file_system_leave_all_or_nothing`
//! does that for every stage: a child process commits on such a file system,
//! and its fail point writes an unsynced marker file, shuts the file system
//! down and ends the process; the parent remounts and checks the ledger and
//! that the marker was dropped. Without root, `losetup` or `mount` it fails
//! saying why (it is never skipped).

use std::path::{Path, PathBuf};

use uuid::Uuid;

use claims_core::event::Event;
use claims_core::record::Record;
use claims_core::store::conformance::{asserted, fill, followup, id, seal, t, void, Known};
use claims_core::store::{Head, IdRange};
use claims_core::{ErrorKind, Ledger, MemStore, Store};

use crate::{FailPoint, Fault, OpenOptions, SledStore, Stage, SMALL_COMMIT};

/// Claim ids are event ids plus this.
const CLAIM: u128 = 1 << 64;

/// `count` events from id `first`: assertions (in seven stories, some
/// superseding an earlier claim of the batch), follow-ups, voids of those,
/// and one void of an event of the base ledger (a committed target).
fn events(first: u128, count: usize) -> Vec<Event> {
    (0..count)
        .map(|i| {
            let n = first + i as u128;
            let to = format!("2020-07-{:02}T{:02}:00:00Z", 10 + i % 10, i % 24);
            match i % 4 {
                0 => {
                    let sup = (i >= 8 && i % 8 == 0).then(|| n - 8 + CLAIM);
                    asserted(n, n + CLAIM, &format!("s{}", i % 7), &to, sup)
                }
                1 => followup(n, n - 1 + CLAIM, &to),
                2 => void(n, n - 1),
                _ if i == 3 => void(n, 2),
                _ => followup(n, n - 3 + CLAIM, &to),
            }
        })
        .collect()
}

fn open(path: &Path) -> SledStore {
    SledStore::open(path, &OpenOptions::default()).unwrap()
}

/// Every answer of `s` equals `m`'s: the log and every index.
fn assert_same(s: &SledStore, m: &MemStore) {
    assert_eq!(s.head(), m.head());
    let log: Vec<Record> = s.scan(1).map(|r| r.unwrap()).collect();
    assert_eq!(log, m.scan(1).map(|r| r.unwrap()).collect::<Vec<_>>());
    for r in log.iter().step_by(97) {
        assert_eq!(s.get(r.seq).unwrap().as_ref(), Some(r));
    }
    let mut claims = vec![id(100), id(200)];
    for r in &log {
        assert_eq!(s.seq_of_event(r.event.id).unwrap(), Some(r.seq));
        if let Some(c) = r.event.claim() {
            claims.push(c);
        }
    }
    claims.sort();
    claims.dedup();
    for c in &claims {
        assert_eq!(
            s.claim_entries(*c).unwrap(),
            m.claim_entries(*c).unwrap(),
            "claim {c}"
        );
    }
    let all = IdRange {
        lo: Uuid::nil(),
        hi: Uuid::max(),
    };
    assert_eq!(
        s.event_ids_in(all, usize::MAX).unwrap(),
        m.event_ids_in(all, usize::MAX).unwrap()
    );
    assert_eq!(
        s.claim_ids_in(all, usize::MAX).unwrap(),
        m.claim_ids_in(all, usize::MAX).unwrap()
    );
    let stories = s.stories().unwrap();
    assert_eq!(stories, m.stories().unwrap());
    for st in stories
        .iter()
        .chain([&"s6".to_string(), &"nope".to_string()])
    {
        assert_eq!(
            s.story_claims(st).unwrap(),
            m.story_claims(st).unwrap(),
            "story {st}"
        );
    }
    let (lo, hi) = (t("1900-01-01T00:00:00Z"), t("2100-01-01T00:00:00Z"));
    assert_eq!(
        s.seqs_by_valid_to(lo, hi).unwrap(),
        m.seqs_by_valid_to(lo, hi).unwrap()
    );
}

/// Whether the stage decides if the batch is committed after a crash there.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    None,
    All,
    Either,
}

/// The base ledger (fill, then a small batch that leaves the last block
/// open), the same records in `m`, and the batch for `stage`.
fn base(path: &Path, m: &mut MemStore, stage: Stage) -> (SledStore, Vec<Record>) {
    let mut s = open(path);
    let first = fill(&mut s);
    m.commit(&Head::EMPTY, &first).unwrap();
    let more = seal(&s, events(1_000, 30));
    s.commit(&s.head(), &more).unwrap();
    m.commit(&m.head(), &more).unwrap();
    let n = if stage.is_large() {
        SMALL_COMMIT + 904
    } else {
        100
    };
    let batch = seal(&s, events(100_000, n));
    (s, batch)
}

/// After the failed commit: reopen `at`, check all-or-nothing against
/// `expect`, the indexes, `verify`, and that the ledger takes more.
fn check_reopened(
    at: &Path,
    m: &mut MemStore,
    before: Head,
    batch: &[Record],
    expect: Expect,
) -> bool {
    let s = open(at);
    let last = batch.last().unwrap();
    let committed = s.head().seq == last.seq;
    if committed {
        assert_eq!(s.head().hash, last.hash);
        m.commit(&m.head(), batch).unwrap();
    } else {
        assert_eq!(s.head(), before, "neither the old head nor the new one");
        for r in batch.iter().step_by(211) {
            assert_eq!(s.seq_of_event(r.event.id).unwrap(), None);
        }
    }
    match expect {
        Expect::All => assert!(committed, "the batch was lost: {:?}", s.recovery()),
        Expect::None => assert!(!committed, "an uncommitted batch is there"),
        Expect::Either => {}
    }
    assert_same(&s, m);
    let ledger = Ledger::new(s);
    ledger.verify(|_| {}).unwrap();
    // It takes the next batch, and opens clean after it.
    let mut s = ledger.into_store();
    let next = seal(&s, events(900_000, 40));
    s.commit(&s.head(), &next).unwrap();
    m.commit(&m.head(), &next).unwrap();
    drop(s);
    let s = open(at);
    assert!(s.recovery().is_clean(), "{:?}", s.recovery());
    assert_same(&s, m);
    Ledger::new(s).verify(|_| {}).unwrap();
    committed
}

/// A crash at `stage` (or, with `snapshot`, a kill: the files as they were
/// at the fail point).
fn crash_at(stage: Stage, snapshot: bool, expect: Expect) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let copy = dir.path().join("killed");
    let mut m = MemStore::new();
    let (mut s, batch) = base(&path, &mut m, stage);
    let fault = if snapshot {
        Fault::Snapshot(copy.clone())
    } else {
        Fault::Crash
    };
    s.set_fail_point(Some(FailPoint { stage, fault }));
    let before = s.head();
    let e = s.commit(&before, &batch).unwrap_err();
    assert!(e.message().contains("simulated crash"), "{e}");
    assert!(s.crashed() && s.is_poisoned());
    drop(s);
    let at = if snapshot { &copy } else { &path };
    check_reopened(at, &mut m, before, &batch, expect);
}

macro_rules! crash_tests {
    ($($name:ident: $stage:ident, crash $crash:ident, kill $kill:ident;)*) => {
        mod crash {
            use super::*;
            $(#[test]
            fn $name() {
                crash_at(Stage::$stage, false, Expect::$crash);
            })*
        }
        mod kill {
            use super::*;
            $(#[test]
            fn $name() {
                crash_at(Stage::$stage, true, Expect::$kill);
            })*
        }
    };
}

crash_tests! {
    small_before_transaction: SmallBeforeTransaction, crash None, kill None;
    small_after_transaction: SmallAfterTransaction, crash All, kill Either;
    small_sync: SmallSync, crash All, kill All;
    large_after_blocks: LargeAfterBlocks, crash None, kill None;
    large_blocks_sync: LargeBlocksSync, crash None, kill None;
    large_after_blocks_sync: LargeAfterBlocksSync, crash None, kill None;
    large_after_index: LargeAfterIndex, crash None, kill None;
    large_index_sync: LargeIndexSync, crash None, kill None;
    large_after_head: LargeAfterHead, crash All, kill Either;
    large_head_sync: LargeHeadSync, crash All, kill All;
    large_after_head_sync: LargeAfterHeadSync, crash All, kill All;
    large_before_indexed_mark: LargeBeforeIndexedMark, crash All, kill All;
}

#[test]
fn every_stage_is_in_the_matrix() {
    // The macro above names each stage once; this keeps it that way when a
    // stage is added.
    assert_eq!(Stage::ALL.len(), 12);
}

#[test]
fn a_crash_before_the_head_is_rolled_back_and_one_after_it_derives_the_indexes() {
    for (stage, rolled_back, reindexed) in [
        (Stage::LargeAfterBlocksSync, true, false),
        (Stage::LargeAfterHeadSync, false, true),
        (Stage::LargeBeforeIndexedMark, false, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut m = MemStore::new();
        let (mut s, batch) = base(&path, &mut m, stage);
        let before = s.head();
        s.set_fail_point(Some(FailPoint {
            stage,
            fault: Fault::Crash,
        }));
        s.commit(&before, &batch).unwrap_err();
        drop(s);
        let s = open(&path);
        let r = s.recovery();
        let (first, last) = (batch[0].seq, batch.last().unwrap().seq);
        if rolled_back {
            assert_eq!(r.rolled_back, batch.len() as u64, "{stage:?}: {r:?}");
            assert_eq!(r.rolled_back_seqs, Some(first..=last));
            assert!(r.undecodable.is_empty());
        } else {
            assert_eq!(r.rolled_back, 0, "{stage:?}: {r:?}");
        }
        if reindexed {
            assert_eq!(r.reindexed, Some(first..=last), "{stage:?}: {r:?}");
        } else {
            assert_eq!(r.reindexed, None, "{stage:?}: {r:?}");
        }
    }
}

/// ENOSPC at `stage`: the OS's sentence, a poisoned handle that refuses the
/// next commit, and a reopen that recovers.
fn no_space_at(stage: Stage, expect: Expect) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let mut m = MemStore::new();
    let (mut s, batch) = base(&path, &mut m, stage);
    s.set_fail_point(Some(FailPoint {
        stage,
        fault: Fault::NoSpace,
    }));
    let before = s.head();
    let e = s.commit(&before, &batch).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(
        e.message()
            .ends_with("No space left on device (os error 28)"),
        "{}",
        e.message()
    );
    assert!(
        !e.message().contains("Os {") && !e.message().contains("StorageFull"),
        "{e}"
    );
    assert_eq!(
        std::error::Error::source(&e).unwrap().to_string(),
        "No space left on device (os error 28)"
    );
    assert!(s.is_poisoned() && !s.crashed());
    let again = seal(&m, events(500_000, 3));
    let refused = s.commit(&s.head(), &again).unwrap_err();
    assert_eq!(
        refused.hint(),
        Some(&claims_core::error::Hint::Reopen),
        "{refused:?}"
    );
    drop(s);
    check_reopened(&path, &mut m, before, &batch, expect);
}

#[test]
fn no_space_before_a_small_transaction() {
    no_space_at(Stage::SmallBeforeTransaction, Expect::None);
}

#[test]
fn no_space_at_a_small_commits_sync() {
    no_space_at(Stage::SmallSync, Expect::All);
}

#[test]
fn no_space_after_a_large_commits_blocks() {
    no_space_at(Stage::LargeAfterBlocks, Expect::None);
}

#[test]
fn no_space_at_a_large_commits_index_sync() {
    no_space_at(Stage::LargeIndexSync, Expect::None);
}

// ---------------------------------------------------------------------------
// Really dropping unsynced writes: ext4 on a loop device, shut down.

/// What a power cut at each stage must leave, when every write that was not
/// fsynced is lost.
fn power_cut(stage: Stage) -> Expect {
    use Stage::*;
    match stage {
        SmallBeforeTransaction
        | LargeAfterBlocks
        | LargeBlocksSync
        | LargeAfterBlocksSync
        | LargeAfterIndex
        | LargeIndexSync => Expect::None,
        SmallAfterTransaction | SmallSync | LargeAfterHead | LargeHeadSync => Expect::Either,
        LargeAfterHeadSync | LargeBeforeIndexedMark => Expect::All,
    }
}

const CHILD_LEDGER: &str = "CLAIMS_FAULT_CHILD_LEDGER";
const CHILD_STAGE: &str = "CLAIMS_FAULT_CHILD_STAGE";
/// The exit code of a child whose fail point fired.
const CUT: i32 = 86;

#[cfg(target_os = "linux")]
fn shut_down(mount: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        fn ioctl(fd: std::ffi::c_int, request: std::ffi::c_ulong, ...) -> std::ffi::c_int;
    }
    /// `_IOR('X', 125, __u32)`
    const FS_IOC_SHUTDOWN: std::ffi::c_ulong = 0x8004_587D;
    /// Nothing more reaches the disk, not even the journal.
    const EXT4_GOING_FLAGS_NOLOGFLUSH: u32 = 2;
    let dir = std::fs::File::open(mount)?;
    let flags = EXT4_GOING_FLAGS_NOLOGFLUSH;
    // SAFETY: FS_IOC_SHUTDOWN reads one u32 through the pointer.
    let rc = unsafe { ioctl(dir.as_raw_fd(), FS_IOC_SHUTDOWN, &flags as *const u32) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Runs a command; its stderr (or the spawn error) on failure.
fn run(cmd: &str, args: &[&str]) -> Result<String, String> {
    match std::process::Command::new(cmd).args(args).output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => Err(format!(
            "`{cmd} {}`: {} ({})",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim(),
            o.status
        )),
        Err(e) => Err(format!("`{cmd} {}`: {e}", args.join(" "))),
    }
}

/// A loop device with an ext4 file system on a sparse image; detached (and
/// unmounted) when dropped.
struct LoopFs {
    dev: String,
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopFs {
    fn new() -> Result<LoopFs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let image = dir.path().join("ext4.img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(512 << 20))
            .map_err(|e| e.to_string())?;
        let dev = run("losetup", &["-f", "--show", image.to_str().unwrap()])?;
        let mount = dir.path().join("mnt");
        std::fs::create_dir(&mount).map_err(|e| e.to_string())?;
        let fs = LoopFs {
            dev,
            mount,
            _dir: dir,
        };
        run("mkfs.ext4", &["-q", "-F", &fs.dev])?;
        Ok(fs)
    }

    fn mount(&self) -> Result<(), String> {
        run(
            "mount",
            &["-t", "ext4", &self.dev, self.mount.to_str().unwrap()],
        )
        .map(|_| ())
    }

    fn unmount(&self) -> Result<(), String> {
        run("umount", &[self.mount.to_str().unwrap()]).map(|_| ())
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let _ = self.unmount();
        let _ = run("losetup", &["-d", &self.dev]);
    }
}

/// The child's side: the base ledger and the batch on the loop file system,
/// then a commit whose fail point writes an unsynced marker, shuts the file
/// system down and ends the process.
#[cfg(target_os = "linux")]
fn child(ledger: &Path, stage: Stage) -> ! {
    let mut m = MemStore::new();
    let (mut s, batch) = base(ledger, &mut m, stage);
    s.sync().unwrap();
    let mount = ledger.parent().unwrap().to_path_buf();
    s.set_fail_point(Some(FailPoint {
        stage,
        fault: Fault::Run(std::sync::Arc::new(move |_| {
            std::fs::write(mount.join("unsynced-marker"), [1u8; 4096]).unwrap();
            shut_down(&mount).unwrap();
            std::process::exit(CUT);
        })),
    }));
    let r = s.commit(&s.head(), &batch);
    eprintln!("the fail point did not fire: {r:?}");
    std::process::exit(1);
}

#[cfg(target_os = "linux")]
#[test]
fn unsynced_writes_dropped_by_a_shut_down_file_system_leave_all_or_nothing() {
    const NAME: &str =
        "fault_tests::unsynced_writes_dropped_by_a_shut_down_file_system_leave_all_or_nothing";
    if let (Ok(ledger), Ok(stage)) = (std::env::var(CHILD_LEDGER), std::env::var(CHILD_STAGE)) {
        child(
            Path::new(&ledger),
            Stage::ALL[stage.parse::<usize>().unwrap()],
        );
    }
    let fs = match LoopFs::new().and_then(|fs| fs.mount().map(|_| fs)) {
        Ok(fs) => fs,
        // Not skipped: CI runs as root, where loop devices and ext4 work.
        Err(why) => panic!(
            "this test drops unsynced writes with a loop-mounted ext4 shut down by ioctl; it needs root, losetup and mkfs.ext4: {why}"
        ),
    };
    let mut outcomes = Vec::new();
    for (i, stage) in Stage::ALL.into_iter().enumerate() {
        let ledger = fs.mount.join(format!("db{i}"));
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_LEDGER, &ledger)
            .env(CHILD_STAGE, i.to_string())
            .status()
            .unwrap();
        assert_eq!(
            status.code(),
            Some(CUT),
            "{stage:?}: the child did not stop at its fail point"
        );
        fs.unmount().unwrap();
        fs.mount().unwrap();
        assert!(
            !fs.mount.join("unsynced-marker").exists(),
            "{stage:?}: an unsynced write survived the shutdown"
        );
        // The records the child committed, sealed the same way.
        let mut m = MemStore::new();
        let scratch = tempfile::tempdir().unwrap();
        let (s, batch) = base(&scratch.path().join("db"), &mut m, stage);
        let before = s.head();
        drop(s);
        let committed = check_reopened(&ledger, &mut m, before, &batch, power_cut(stage));
        outcomes.push((stage, committed));
    }
    eprintln!("power cut outcomes (stage, batch committed): {outcomes:?}");
}

/// A commit staged in three parts, crashed (or killed) at `stage`: in the
/// second part for the stages of a part's writes, in the commit of the
/// staged parts for the others.
fn staged_crash_at(stage: Stage, snapshot: bool, in_first_part: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let copy = dir.path().join("killed");
    let mut m = MemStore::new();
    let (mut s, batch) = base(&path, &mut m, stage);
    let before = s.head();
    let parts: Vec<&[Record]> = batch.chunks(batch.len() / 3 + 1).collect();
    let fault = if snapshot {
        Fault::Snapshot(copy.clone())
    } else {
        Fault::Crash
    };
    let in_a_part = matches!(
        stage,
        Stage::LargeAfterBlocks
            | Stage::LargeBlocksSync
            | Stage::LargeAfterBlocksSync
            | Stage::LargeAfterIndex
    );
    let mut failed = None;
    let mut earlier = Vec::new();
    if in_first_part {
        s.set_fail_point(Some(FailPoint { stage, fault }));
    } else {
        s.stage(&before, parts[0], &Known(Vec::new())).unwrap();
        s.set_fail_point(Some(FailPoint { stage, fault }));
        earlier = parts[0].to_vec();
    }
    for part in &parts[earlier.len().min(1)..] {
        if let Err(e) = s.stage(&before, part, &Known(earlier.clone())) {
            failed = Some(e);
            break;
        }
        earlier.extend_from_slice(part);
    }
    let e = match failed {
        Some(e) => e,
        None => s.commit_staged(&before).unwrap_err(),
    };
    assert_eq!(
        in_a_part,
        e.message().contains("simulated crash") && earlier.len() < batch.len()
    );
    assert!(e.message().contains("simulated crash"), "{e}");
    drop(s);
    let expect = match stage {
        Stage::LargeAfterHead | Stage::LargeHeadSync => Expect::Either,
        Stage::LargeAfterHeadSync | Stage::LargeBeforeIndexedMark => Expect::All,
        _ => Expect::None,
    };
    let at = if snapshot { &copy } else { &path };
    check_reopened(at, &mut m, before, &batch, expect);
}

#[test]
fn a_commit_staged_in_parts_is_all_or_nothing_at_every_stage() {
    for stage in Stage::ALL.into_iter().filter(|s| s.is_large()) {
        for snapshot in [false, true] {
            staged_crash_at(stage, snapshot, false);
        }
    }
    for stage in [
        Stage::LargeAfterBlocks,
        Stage::LargeAfterBlocksSync,
        Stage::LargeAfterIndex,
    ] {
        staged_crash_at(stage, true, true);
    }
}
