//! The one writer: appends from every connection wait in one queue; the
//! writer takes all that wait, checks each batch on its own (all-or-nothing)
//! and commits those that pass in one `Store::commit`, one fsync for all
//! (group commit). An answer is sent only once its commit is durable.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{oneshot, watch};

use claims_core::account::Account;
use claims_core::ledger::AppendReport;

use claims_core::Batch;
use claims_core::Result;

use crate::app::SharedLedger;
use crate::error::{ApiError, ApiResult};

/// The most batches one commit takes.
const MAX_BATCHES: usize = 4096;
/// The most events one commit takes (a batch over it goes alone).
const MAX_EVENTS: usize = 1 << 16;

struct Job {
    batch: Batch,
    reply: oneshot::Sender<Result<AppendReport>>,
}

/// Where appends are sent.
pub(crate) struct Handle {
    tx: SyncSender<Job>,
}

impl Handle {
    /// Queues `batch`; its report once durable, or its error.
    pub(crate) async fn append(&self, batch: Batch) -> ApiResult<Result<AppendReport>> {
        let (reply, answer) = oneshot::channel();
        match self.tx.try_send(Job { batch, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                return Err(ApiError::busy())
            }
        }
        answer.await.map_err(|_| ApiError::busy())
    }
}

/// Starts the writer thread over `ledger`.
pub(crate) fn start(
    ledger: Arc<RwLock<SharedLedger>>,
    head: watch::Sender<u64>,
    accounts: Arc<RwLock<Vec<Account>>>,
    queue: usize,
) -> Handle {
    let (tx, rx) = sync_channel(queue.max(1));
    std::thread::Builder::new()
        .name("claims-writer".into())
        .spawn(move || run(&ledger, &head, &accounts, rx))
        .expect("a thread for the writer");
    Handle { tx }
}

/// How often a writer with nothing to do reads the store's head afresh,
/// so that other writers' commits (other servers on one PostgreSQL
/// database) reach this server's reads and followers.
const LOOK_AROUND: Duration = Duration::from_millis(200);

/// How often the writer reads the accounts afresh, idle or not, so that an
/// account added or revoked elsewhere (another server, or `claims user` on
/// a shared PostgreSQL database) counts here within about a second.
const ACCOUNTS_EVERY: Duration = Duration::from_secs(1);

/// Reads the store's accounts and takes them if they changed. A failed read
/// keeps the ones known (the next try comes a second later).
fn refresh_accounts(ledger: &RwLock<SharedLedger>, accounts: &RwLock<Vec<Account>>) {
    let read = {
        let l = ledger.read().unwrap_or_else(|p| p.into_inner());
        l.store().accounts()
    };
    if let Ok(fresh) = read {
        let mut known = accounts.write().unwrap_or_else(|p| p.into_inner());
        if *known != fresh {
            *known = fresh;
        }
    }
}

fn run(
    ledger: &RwLock<SharedLedger>,
    head: &watch::Sender<u64>,
    accounts: &RwLock<Vec<Account>>,
    rx: Receiver<Job>,
) {
    let mut accounts_read = Instant::now();
    loop {
        if accounts_read.elapsed() >= ACCOUNTS_EVERY {
            refresh_accounts(ledger, accounts);
            accounts_read = Instant::now();
        }
        let first = match rx.recv_timeout(LOOK_AROUND) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                // `read_head` also moves the handle's own head, so the
                // ledger's reads (and its read cache) see what it found.
                let seq = {
                    let l = ledger.read().unwrap_or_else(|p| p.into_inner());
                    l.store().read_head().map(|h| h.seq)
                };
                if let Ok(seq) = seq {
                    moved_to(head, seq);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut events = first.batch.items.len();
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCHES && events < MAX_EVENTS {
            match rx.try_recv() {
                Ok(job) => {
                    events += job.batch.items.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let (batches, replies): (Vec<Batch>, Vec<_>) =
            jobs.into_iter().map(|j| (j.batch, j.reply)).unzip();
        let (results, seq) = {
            let mut l = ledger.write().unwrap_or_else(|p| p.into_inner());
            let results = l.append_group(batches, Utc::now());
            (results, l.store().head().seq)
        };
        moved_to(head, seq);
        for (result, reply) in results.into_iter().zip(replies) {
            // A client that went away before its answer: its events are in.
            let _ = reply.send(result);
        }
    }
}

/// Tells followers the head is now `seq`, if it moved.
fn moved_to(head: &watch::Sender<u64>, seq: u64) {
    head.send_if_modified(|h| {
        let moved = *h < seq;
        if moved {
            *h = seq;
        }
        moved
    });
}
