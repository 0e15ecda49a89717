//! The one writer: appends from every connection wait in one queue; the
//! writer takes all that wait, checks each batch on its own (all-or-nothing)
//! and commits those that pass in one `Store::commit`, one fsync for all
//! (group commit). An answer is sent only once its commit is durable.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};

use chrono::Utc;
use tokio::sync::{oneshot, watch};

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
    queue: usize,
) -> Handle {
    let (tx, rx) = sync_channel(queue.max(1));
    std::thread::Builder::new()
        .name("claims-writer".into())
        .spawn(move || run(&ledger, &head, rx))
        .expect("a thread for the writer");
    Handle { tx }
}

fn run(ledger: &RwLock<SharedLedger>, head: &watch::Sender<u64>, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
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
        head.send_if_modified(|h| {
            let moved = *h != seq;
            *h = seq;
            moved
        });
        for (result, reply) in results.into_iter().zip(replies) {
            // A client that went away before its answer: its events are in.
            let _ = reply.send(result);
        }
    }
}
