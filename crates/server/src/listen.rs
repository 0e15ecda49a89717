//! The listeners: TCP (plain or TLS) for the desk, the ledger's Unix socket
//! for its owner. Both serve the same router; each connection is HTTP/1.1
//! with the limits of [`crate::Limits`]: at most `connections` at once (more
//! are closed at once), `header_bytes` of request head, `idle_time` to send
//! a request's head (slow senders and idle keep-alive connections are cut),
//! a TLS handshake within `idle_time`.

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::{Limits, Peer, Secure};

/// Serves `router` on `listener` until `shutdown` resolves; with `tls`,
/// every connection is TLS.
pub async fn serve_tcp(
    router: Router,
    limits: Limits,
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let tls = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    while let Some((stream, _)) = next(|| listener.accept(), &mut shutdown).await {
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, limits, tls) = (router.clone(), limits.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(stream, router, &limits, Peer::Network, Secure(false)).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.idle_time, acceptor.accept(stream)).await;
                    if let Ok(Ok(stream)) = handshake {
                        connection(stream, router, &limits, Peer::Network, Secure(true)).await
                    }
                }
            }
        });
    }
}

/// Serves `router` on the ledger's Unix socket until `shutdown`: only to a
/// peer of the Unix user `owner` (the socket's owner); any other peer's
/// connection is closed unanswered.
pub async fn serve_unix(
    router: Router,
    limits: Limits,
    listener: UnixListener,
    owner: u32,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    tokio::pin!(shutdown);
    while let Some((stream, _)) = next(|| listener.accept(), &mut shutdown).await {
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == owner => {}
            _ => continue,
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let (router, limits) = (router.clone(), limits.clone());
        tokio::spawn(async move {
            let _slot = slot;
            connection(stream, router, &limits, Peer::Local, Secure(false)).await
        });
    }
}

/// The next connection `accept` gives, or `None` once `shutdown` has
/// resolved. A failed accept (out of descriptors and the like) waits a
/// little and tries again.
async fn next<T, F>(
    accept: impl Fn() -> F,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<T>
where
    F: Future<Output = std::io::Result<T>>,
{
    loop {
        tokio::select! {
            () = &mut *shutdown => return None,
            accepted = accept() => match accepted {
                Ok(t) => return Some(t),
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            },
        }
    }
}

async fn connection<S>(stream: S, router: Router, limits: &Limits, peer: Peer, secure: Secure)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(peer);
        req.extensions_mut().insert(secure);
        req
    });
    let service = TowerToHyperService::new(service);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_time)
        .max_buf_size(limits.header_bytes.max(8192))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    // A connection that breaks, or sends what is not HTTP, ends here; the
    // others go on.
    let _ = conn.await;
}
