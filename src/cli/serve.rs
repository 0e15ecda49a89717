//! `claims serve`: the claims server (`claims-server`) on the ledger's own
//! Unix socket, and with `--listen` on the network too. The client side of
//! the socket is `local_server.rs`; the socket itself `socket.rs`.
//!
//! Invariants:
//! - one server a ledger: it holds `server.lock` locked for its whole life,
//!   and the sled lock while it serves;
//! - the socket appears with its final mode: it is bound in a private
//!   directory (mode 0700) and renamed into place, so there is no moment
//!   at which another user could connect;
//! - it answers only its own Unix user on the socket (the listener checks
//!   the peer's credentials);
//! - a server started for one user's commands (not `--listen`) lets go when
//!   asked (`POST /v1/release`, sent by any opener that finds the ledger
//!   locked), when idle for `--idle` seconds, when its socket or the ledger
//!   directory is gone; it removes its socket before it closes the ledger.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use claims_core::{Error, ErrorKind, Result};
use claims_server::{App, Limits, Options};

use super::socket::{self, LOCK};
use super::{backend, local_server, Ctx};

/// Keep the ledger open and serve this user's `claims` commands on the
/// ledger's socket, so that they need not open it each time (README, "The
/// ledger server"); with --listen, serve a desk over HTTP as well.
///
/// Commands start a socket server by themselves and it exits when idle (set
/// CLAIMS_SERVER=off to never use one). Run this to keep one in the
/// foreground, to stop one, to see whether one runs, or to serve a desk.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit after this many seconds without a request (default: run until
    /// stopped).
    #[arg(long, value_name = "SECONDS")]
    pub idle: Option<f64>,
    /// Stop this ledger's server, if one runs, and exit.
    #[arg(long, conflicts_with_all = ["status", "idle"])]
    pub stop: bool,
    /// Say whether a server runs for this ledger, and exit.
    #[arg(long, conflicts_with = "idle")]
    pub status: bool,
    /// Started by another command: exit quietly if a server runs already.
    #[arg(long, hide = true)]
    pub background: bool,
    #[command(flatten)]
    pub net: super::listen::ListenArgs,
}

/// How often the server looks at its idle time, its socket and its ledger.
const TICK: Duration = Duration::from_millis(200);
/// On the way out: how long without a request counts as done.
const QUIET: Duration = Duration::from_millis(150);
/// On the way out: the longest the requests under way are waited for.
const DRAIN: Duration = Duration::from_secs(30);

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if ctx.server().is_some() {
        return Err(Error::invalid(
            "--db names a server; `claims serve` serves a ledger directory on this machine",
        ));
    }
    if ctx.is_postgres() {
        return serve_database(ctx, args);
    }
    let shown = ctx.db.display();
    if args.stop {
        return if socket::ask_release(
            &ctx.db,
            ctx.lock_wait.max(Duration::from_secs(2)),
            ctx.lock_wait.max(Duration::from_secs(2)),
        ) {
            ctx.out(&format!("stopped the ledger server of {shown}\n"))
        } else if local_server::status(&ctx.db).is_some() {
            Err(Error::new(
                ErrorKind::Locked,
                format!("the server of {shown} serves a desk and does not stop when asked"),
            )
            .with_hint("stop it where it runs (Ctrl-C, or SIGTERM)"))
        } else {
            ctx.out(&format!("no ledger server runs for {shown}\n"))
        };
    }
    if args.status {
        return match local_server::status(&ctx.db) {
            Some(s) => ctx.out(&format!(
                "a ledger server (pid {}) holds {shown}; it has answered {} request{}\n",
                s.pid,
                s.served,
                if s.served == 1 { "" } else { "s" }
            )),
            None => ctx.out(&format!("no ledger server runs for {shown}\n")),
        };
    }
    let idle = match args.idle {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(Error::invalid(format!(
                "--idle must be a positive number of seconds, not {s}"
            )))
        }
    };
    if args.net.listen.is_some() && idle.is_some() {
        return Err(Error::invalid(
            "--idle is for a server of one user's commands; a desk's server (--listen) runs until stopped",
        ));
    }
    serve(ctx, idle, args.background, args.net)
}

fn serve(
    ctx: &Ctx,
    idle: Option<Duration>,
    background: bool,
    net: super::listen::ListenArgs,
) -> Result<()> {
    let desk = net.listen.is_some();
    // The operator's options and files first: a bad one changes nothing.
    let network = if desk {
        Some(super::listen::prepare(ctx, &net)?)
    } else {
        None
    };
    if desk && !ctx.db.exists() {
        // A desk's new ledger: created as a first command would create it.
        backend::open(
            &ctx.db,
            backend::Open {
                create: true,
                lock_wait: ctx.lock_wait,
                evict_server: true,
            },
        )?;
    }
    let db = ctx
        .db
        .canonicalize()
        .ok()
        .filter(|d| d.join("conf").is_file());
    let Some(db) = db else {
        return Err(
            Error::not_found(format!("there is no ledger at {}", ctx.db.display()))
                .with_hint("pass the ledger's directory with --db"),
        );
    };
    let shown = db.display().to_string();
    let lock_path = db.join(LOCK);
    let lock_existed = lock_path.exists();
    let lock = fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("opening {LOCK}"), e))?;
    let mut asked: Option<std::time::Instant> = None;
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) if background => return Ok(()),
            // A desk's server takes over from a server of the owner's
            // commands: it asks it to let go, and waits for it to.
            Err(fs::TryLockError::WouldBlock)
                if desk
                    && asked.is_none_or(|t| {
                        t.elapsed() < ctx.lock_wait.max(Duration::from_secs(2))
                    }) =>
            {
                if asked.is_none() {
                    let w = ctx.lock_wait.max(Duration::from_secs(2));
                    socket::ask_release(&db, w, w);
                    asked = Some(std::time::Instant::now());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!("a ledger server already runs for {shown}"),
                )
                .with_hint("`claims serve --stop` stops it"))
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(format!("locking {LOCK}"), e)),
        }
    }
    let sock = socket::socket_path(&db);
    let listener = bind_private(&db, &sock)?;
    let ino = socket_ino(&sock);
    let how = backend::Open {
        create: false,
        lock_wait: ctx.lock_wait,
        evict_server: false,
    };
    let ledger = match backend::open(&db, how) {
        Ok(ledger) => ledger,
        Err(e) => {
            leave(&sock, ino);
            if !lock_existed {
                // Not a ledger after all (another program's sled database,
                // say): leave its directory as it was.
                let _ = fs::remove_file(&lock_path);
            }
            return Err(e);
        }
    };
    let options = Options {
        public_read: net.public_read,
        limits: network
            .as_ref()
            .map(|n| n.limits.clone())
            .unwrap_or_default(),
        signer: network.as_ref().and_then(|n| n.signer.clone()),
        build: local_server::build_id(),
        releasable: !desk,
    };
    let app = App::new(ledger, options)?;
    // The owner's commands on the socket: whole imports, no time limit.
    let local_limits = Limits {
        body_bytes: 1 << 40,
        request_time: Duration::from_secs(24 * 3600),
        ..Limits::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("claims-server")
        .build()
        .map_err(|e| Error::io("starting the server's threads", e))?;
    let owner = socket::own_uid();
    let outcome = runtime.block_on(async {
        let unix = tokio::net::UnixListener::from_std(listener)
            .map_err(|e| Error::io(format!("listening on {}", sock.display()), e))?;
        let stop = tokio_util_stop();
        let local = tokio::spawn(claims_server::listen::serve_unix(
            claims_server::router_with(app.clone(), &local_limits),
            local_limits.clone(),
            unix,
            owner,
            stop.wait(),
        ));
        let tcp = match network {
            Some(n) => Some(tokio::spawn(n.serve(ctx, app.clone(), stop.wait()).await?)),
            None => {
                if !background {
                    ctx.io().error_line(&format!(
                        "serving the ledger at {shown}; stop with Ctrl-C or `claims serve --stop`"
                    ));
                }
                None
            }
        };
        let why = watch(&app, &sock, ino, idle).await;
        // No new connections; the requests under way, and those that
        // follow them at once on the same connections (a command's
        // second request), are answered before the ledger is closed.
        stop.fire();
        let _ = local.await;
        if let Some(t) = tcp {
            let _ = t.await;
        }
        if why != Why::Gone {
            let deadline = std::time::Instant::now() + DRAIN;
            while app.idle_for() < QUIET && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        Ok::<Why, Error>(why)
    });
    let why = match outcome {
        Ok(w) => w,
        Err(e) => {
            leave(&sock, ino);
            return Err(e);
        }
    };
    leave(&sock, ino);
    drop(runtime);
    if why == Why::Gone {
        // The ledger was moved or deleted, or another server took the
        // name: it is not closed the usual way, since sled's last flush
        // would write its files back into a deleted directory. Every
        // commit is already synced.
        std::mem::forget(app);
    } else {
        drop(app);
    }
    drop(lock);
    Ok(())
}

/// A desk's server over a PostgreSQL ledger: `--listen` only (a database
/// has no directory for a socket, and several servers may share it: each
/// reads the others' commits through the store's head).
fn serve_database(ctx: &Ctx, args: Args) -> Result<()> {
    if args.stop || args.status || args.background || args.idle.is_some() {
        return Err(Error::invalid(
            "--stop, --status and --idle are for the server of a ledger directory; a PostgreSQL ledger's server runs until stopped where it runs",
        ));
    }
    if args.net.listen.is_none() {
        return Err(Error::invalid(
            "serving a PostgreSQL ledger needs --listen ADDR: it has no directory for a local socket",
        )
        .with_hint("claims serve --db postgres://… --listen 127.0.0.1:8080"));
    }
    let network = super::listen::prepare(ctx, &args.net)?;
    let how = backend::Open {
        create: true,
        lock_wait: ctx.lock_wait,
        evict_server: false,
    };
    let ledger = backend::open(&ctx.db, how)?;
    let options = Options {
        public_read: args.net.public_read,
        limits: network.limits.clone(),
        signer: network.signer.clone(),
        build: local_server::build_id(),
        releasable: false,
    };
    let app = App::new(ledger, options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("claims-server")
        .build()
        .map_err(|e| Error::io("starting the server's threads", e))?;
    runtime.block_on(async {
        let stop = tokio_util_stop();
        let tcp = tokio::spawn(network.serve(ctx, app.clone(), stop.wait()).await?);
        super::listen::stopped().await;
        stop.fire();
        let _ = tcp.await;
        let deadline = std::time::Instant::now() + DRAIN;
        while app.idle_for() < QUIET && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<(), Error>(())
    })?;
    drop(runtime);
    drop(app);
    Ok(())
}

/// Why the server stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Idle,
    Released,
    Signalled,
    Gone,
}

/// Waits for a reason to stop.
async fn watch(app: &App, sock: &Path, ino: Option<u64>, idle: Option<Duration>) -> Why {
    let mut tick = tokio::time::interval(TICK);
    let released = app.released();
    tokio::pin!(released);
    let signalled = super::listen::stopped();
    tokio::pin!(signalled);
    loop {
        tokio::select! {
            () = &mut released => return Why::Released,
            () = &mut signalled => return Why::Signalled,
            _ = tick.tick() => {
                if socket_ino(sock) != ino {
                    return Why::Gone;
                }
                if idle.is_some_and(|idle| app.idle_for() >= idle) {
                    return Why::Idle;
                }
            }
        }
    }
}

/// A one-shot stop signal every task can wait on.
struct Stop(tokio::sync::watch::Sender<bool>);

fn tokio_util_stop() -> Stop {
    Stop(tokio::sync::watch::Sender::new(false))
}

impl Stop {
    fn wait(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    fn fire(&self) {
        self.0.send_replace(true);
    }
}

/// Binds the socket in a private directory beside it (mode 0700), makes it
/// 0600, and renames it into place: it never exists at `sock` with a wider
/// mode. Holding the server lock, any socket already at `sock` is a dead
/// server's.
fn bind_private(db: &Path, sock: &Path) -> Result<std::os::unix::net::UnixListener> {
    let private: PathBuf = db.join(format!(".server-{}", std::process::id()));
    let _ = fs::remove_dir_all(&private);
    let io = |e| Error::io(format!("listening on {}", sock.display()), e);
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .map_err(io)?;
    let bound = (|| {
        let tmp = private.join(socket::SOCKET);
        let listener = std::os::unix::net::UnixListener::bind(&tmp)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
        let _ = fs::remove_file(sock);
        fs::rename(&tmp, sock)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    })();
    let _ = fs::remove_dir_all(&private);
    bound.map_err(io)
}

use std::os::unix::fs::DirBuilderExt;

/// The inode at the socket's path: the server's own socket while it is
/// reachable, something else (or nothing) once the ledger moved or went.
fn socket_ino(sock: &Path) -> Option<u64> {
    fs::symlink_metadata(sock).map(|m| m.ino()).ok()
}

/// Removes the socket, if it is still this server's.
fn leave(sock: &Path, ino: Option<u64>) {
    if socket_ino(sock) == ino {
        let _ = fs::remove_file(sock);
    }
}
