//! Reading and writing at once: a whole-ledger listing is read (summaries,
//! records) on a second thread while this one renders and writes, in
//! batches through a bounded channel, so the two cores share the work and
//! memory stays a few batches.

use std::sync::mpsc;

use claims_core::stream::Items;
use claims_core::Result;

/// Items a batch carries.
const BATCH: usize = 512;
/// Batches in flight.
const DEPTH: usize = 8;

/// Runs `read` on a second thread and hands its items, in order, to
/// `write` on this one. An error of `read` (before or during) reaches
/// `write` as an item; if `write` returns early, the reader stops.
pub fn run<'l, T, R, W>(read: R, write: W) -> Result<()>
where
    T: Send,
    R: FnOnce() -> Result<Items<'l, T>> + Send,
    W: FnOnce(Items<'_, T>) -> Result<()>,
{
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<Vec<Result<T>>>(DEPTH);
        s.spawn(move || {
            let items = match read() {
                Ok(items) => items,
                Err(e) => {
                    let _ = tx.send(vec![Err(e)]);
                    return;
                }
            };
            let mut batch = Vec::with_capacity(BATCH);
            for item in items {
                let failed = item.is_err();
                batch.push(item);
                if batch.len() == BATCH || failed {
                    if tx.send(std::mem::take(&mut batch)).is_err() || failed {
                        return;
                    }
                    batch.reserve(BATCH);
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
        });
        write(Box::new(rx.into_iter().flatten()))
    })
}
