//! What every handler shares: the ledger, the writer that commits appends
//! together, the accounts, the options, and the head that followers watch.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::response::Response;
use tokio::sync::watch;

use claims_core::account::Account;
use claims_core::{Ledger, Result, Store};

use crate::error::{ApiError, ApiResult};
use crate::writer;

/// The ledger a server serves, over whichever store it was opened on.
pub type SharedLedger = Ledger<Box<dyn Store>>;

/// How a server behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Let requests without a token read (every GET): a published ledger.
    pub public_read: bool,
    /// Limits on requests and connections.
    pub limits: Limits,
    /// The key `GET /v1/checkpoint` signs with (none: the route says so).
    pub signer: Option<Arc<claims_transparency::SigningKey>>,
    /// The build of `claims` serving, answered by `/healthz`: a client of
    /// another build does not use this server.
    pub build: String,
    /// Whether the ledger's owner may ask it to let go of the ledger
    /// (`POST /v1/release` on the Unix socket): a server started for one
    /// user's commands, not a desk's.
    pub releasable: bool,
}

/// What the server has been doing, for its owner to decide when it stops.
#[derive(Debug)]
pub struct Activity {
    last: std::sync::Mutex<std::time::Instant>,
    in_flight: std::sync::atomic::AtomicUsize,
    served: std::sync::atomic::AtomicU64,
    released: tokio::sync::Notify,
    release_asked: std::sync::atomic::AtomicBool,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            last: std::sync::Mutex::new(std::time::Instant::now()),
            in_flight: Default::default(),
            served: Default::default(),
            released: Default::default(),
            release_asked: Default::default(),
        }
    }
}

/// Limits on what one request or connection may take (SPEC, "Safety").
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest request body, in bytes (larger: 413).
    pub body_bytes: usize,
    /// The most bytes of request line and headers a connection may buffer.
    pub header_bytes: usize,
    /// How long one request may take, body included (longer: 408); a
    /// follower's feed is not a request that ends and is exempt.
    pub request_time: Duration,
    /// How long a connection may take to send a request's headers, and may
    /// stay idle between requests.
    pub idle_time: Duration,
    /// Connections served at once; more are closed at once.
    pub connections: usize,
    /// Appends waiting for the writer; more are answered 503.
    pub queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 64 << 20,
            header_bytes: 16 << 10,
            request_time: Duration::from_secs(60),
            idle_time: Duration::from_secs(10),
            connections: 1024,
            queue: 4096,
        }
    }
}

pub(crate) struct Inner {
    pub ledger: Arc<RwLock<SharedLedger>>,
    pub writer: writer::Handle,
    /// The accounts, read afresh by the writer about once a second.
    pub accounts: Arc<RwLock<Vec<Account>>>,
    pub options: Options,
    /// The log's head seq, raised after every commit.
    pub head: watch::Sender<u64>,
    pub activity: Activity,
    /// The web page's sessions.
    pub sessions: crate::web::session::Sessions,
}

/// The server's shared state (cheap to clone).
#[derive(Clone)]
pub struct App(pub(crate) Arc<Inner>);

impl App {
    /// Serves `ledger`: reads its accounts and starts the writer.
    pub fn new(ledger: SharedLedger, options: Options) -> Result<App> {
        let accounts = ledger.store().accounts()?;
        let head = watch::Sender::new(ledger.store().head().seq);
        let ledger = Arc::new(RwLock::new(ledger));
        let accounts = Arc::new(RwLock::new(accounts));
        let writer = writer::start(
            ledger.clone(),
            head.clone(),
            accounts.clone(),
            options.limits.queue,
        );
        Ok(App(Arc::new(Inner {
            ledger,
            writer,
            accounts,
            options,
            head,
            activity: Activity::default(),
            sessions: Default::default(),
        })))
    }

    /// How long since the last request ended (zero while one runs).
    pub fn idle_for(&self) -> Duration {
        use std::sync::atomic::Ordering;
        if self.0.activity.in_flight.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.0
            .activity
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.0
            .activity
            .served
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resolves once the owner asked the server to let go of the ledger.
    pub async fn released(&self) {
        use std::sync::atomic::Ordering;
        loop {
            let notified = self.0.activity.released.notified();
            if self.0.activity.release_asked.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn ask_release(&self) {
        use std::sync::atomic::Ordering;
        self.0.activity.release_asked.store(true, Ordering::SeqCst);
        self.0.activity.released.notify_waiters();
    }

    pub(crate) fn request_started(&self) {
        use std::sync::atomic::Ordering;
        self.0.activity.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn request_ended(&self) {
        use std::sync::atomic::Ordering;
        *self
            .0
            .activity
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = std::time::Instant::now();
        self.0.activity.served.fetch_add(1, Ordering::SeqCst);
        self.0.activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn options(&self) -> &Options {
        &self.0.options
    }

    pub(crate) fn read_ledger(&self) -> RwLockReadGuard<'_, SharedLedger> {
        self.0.ledger.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn write_ledger(&self) -> RwLockWriteGuard<'_, SharedLedger> {
        self.0.ledger.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn accounts(&self) -> RwLockReadGuard<'_, Vec<Account>> {
        self.0.accounts.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_accounts(&self, accounts: Vec<Account>) {
        *self.0.accounts.write().unwrap_or_else(|p| p.into_inner()) = accounts;
    }

    pub(crate) fn sessions(&self) -> &crate::web::session::Sessions {
        &self.0.sessions
    }

    pub(crate) fn writer(&self) -> &writer::Handle {
        &self.0.writer
    }

    /// Tells followers the head is now `seq`.
    pub(crate) fn moved_to(&self, seq: u64) {
        self.0.head.send_if_modified(|h| {
            let moved = *h != seq;
            *h = seq;
            moved
        });
    }

    pub(crate) fn watch_head(&self) -> watch::Receiver<u64> {
        self.0.head.subscribe()
    }

    /// Runs `f` over the ledger on a blocking thread, under the read lock.
    pub(crate) async fn read<F>(&self, f: F) -> ApiResult<Response>
    where
        F: FnOnce(&SharedLedger) -> ApiResult<Response> + Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let ledger = app.read_ledger();
            f(&ledger)
        })
        .await
        .unwrap_or_else(|_| Err(internal()))
    }

    /// Runs `f` on a blocking thread, with the app.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&App) -> ApiResult<T> + Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || f(&app))
            .await
            .unwrap_or_else(|_| Err(internal()))
    }
}

/// A handler that failed in a way it should not have (a panic caught).
pub(crate) fn internal() -> ApiError {
    ApiError::new(
        claims_api::error::Kind::Ledger(claims_core::ErrorKind::Io),
        "the server failed to answer this request",
        "try again; if it goes on, look at the server's log",
    )
}
