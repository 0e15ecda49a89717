//! `GET /v1/follow?since=SEQ[&story=S]`: Server-Sent Events, one event an
//! entry after SEQ (`log --since`), `data:` its export line, `id:` its seq;
//! resumable with `Last-Event-ID`. Without `since`, from the next entry to
//! land, like `tail -f`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use claims_api::follow as feed_read;
use claims_api::params::FollowParams;
use claims_core::Store;

use super::Q;
use crate::app::App;
use crate::error::{ApiError, ApiResult};

pub(crate) async fn follow(
    State(app): State<App>,
    headers: HeaderMap,
    Q(p): Q<FollowParams>,
) -> ApiResult<Response> {
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request("the Last-Event-ID header is not a seq (a whole number)")
                })?,
        ),
    };
    let story = p.story.clone();
    let since = {
        let app = app.clone();
        app.blocking(move |app| {
            let l = app.read_ledger();
            if let Some(s) = &story {
                feed_read::check_story(&l, s)?;
            }
            Ok(resume.or(p.since).unwrap_or(l.store().head().seq))
        })
        .await?
    };
    let (tx, rx) = mpsc::channel::<Result<SseEvent, Infallible>>(64);
    tokio::spawn(feed(app, since, p.story, tx));
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Sends every entry after `since` (of `story`), then each as it lands,
/// until the client goes away.
async fn feed(
    app: App,
    mut since: u64,
    story: Option<String>,
    tx: mpsc::Sender<Result<SseEvent, Infallible>>,
) {
    let mut head = app.watch_head();
    let mut stories = feed_read::Stories::default();
    loop {
        let seen = *head.borrow_and_update();
        while since < seen {
            let (app2, story2, mut known) =
                (app.clone(), story.clone(), std::mem::take(&mut stories));
            let read = tokio::task::spawn_blocking(move || {
                let l = app2.read_ledger();
                let got = feed_read::chunk(&l, since, story2.as_deref(), &mut known);
                (got, known)
            })
            .await;
            let Ok((got, known)) = read else { return };
            stories = known;
            let Ok((records, last)) = got else { return };
            for r in records {
                let event = SseEvent::default().id(r.seq.to_string()).data(r.to_line());
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            if last <= since {
                break;
            }
            since = last;
        }
        tokio::select! {
            changed = head.changed() => if changed.is_err() { return },
            () = tx.closed() => return,
        }
    }
}
