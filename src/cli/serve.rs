//! `claims serve`: the ledger server. It keeps one ledger open and runs the
//! commands of other `claims` processes, one at a time, with the same code
//! and the same rules as a command run directly; only the open is saved.
//! The protocol is in `crate::cli::protocol`; the client side in `client.rs`.
//!
//! Invariants:
//! - one server a ledger: it holds `server.lock` locked for its whole life,
//!   and the sled lock while it serves;
//! - it binds the socket before it opens the ledger, so commands that come
//!   while it opens wait for it instead of racing it for the lock;
//! - a command either runs whole or not at all: the request, and standard
//!   input with its end mark, are read before anything runs;
//! - it lets go when asked (`RELEASE`, sent by any opener that finds the
//!   ledger locked), when idle for `--idle` seconds, when its socket or the
//!   ledger directory is gone, and after a commit failed part-way;
//! - on the way out it removes its socket before it closes the ledger and
//!   answers the connections that were waiting with `RETRY`, so none of
//!   them is left without an answer and none runs twice.

use std::cell::{Cell, RefCell};
use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use super::backend::{self, AnyLedger};
use crate::cli::protocol::{self as server, Request, Status};
use claims_core::time::parse_zone;
use claims_core::{Error, ErrorKind, Result};

use super::{client, streams::Streams, Cli, Command, Ctx};

/// Keep the ledger open and run other `claims` commands' work, so that they
/// need not open it each time (see the README, "The ledger server").
///
/// Commands start a server by themselves and it exits when idle (set
/// CLAIMS_SERVER=off to never use one). Run this to keep one in the
/// foreground, to stop one, or to see whether one runs.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Exit after this many seconds without a command (default: run until
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

/// How often the server looks at its idle time and its socket.
const TICK: Duration = Duration::from_millis(200);

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if ctx.server().is_some() {
        return Err(Error::invalid(
            "--db names a server; `claims serve` serves a ledger directory on this machine",
        ));
    }
    if args.net.listen.is_some() {
        return super::listen::run(ctx, args.net);
    }
    let shown = ctx.db.display();
    if args.stop {
        return if server::ask_release(&ctx.db, ctx.lock_wait, ctx.lock_wait) {
            ctx.out(&format!("stopped the ledger server of {shown}\n"))
        } else {
            ctx.out(&format!("no ledger server runs for {shown}\n"))
        };
    }
    if args.status {
        return match status(&ctx.db, ctx.lock_wait) {
            Some(s) => ctx.out(&format!(
                "a ledger server (pid {}) holds {shown}; it has run {} command{}\n",
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
    serve(ctx, idle, args.background)
}

/// Asks the ledger's server who it is.
fn status(db: &Path, wait: Duration) -> Option<Status> {
    let mut stream = UnixStream::connect(server::socket_path(db)).ok()?;
    stream.set_read_timeout(Some(wait)).ok()?;
    match server::read_frame(&mut stream).ok()?? {
        (server::READY, _) => {}
        _ => return None,
    }
    server::write_frame(&mut stream, server::STATUS, &[]).ok()?;
    match server::read_frame(&mut stream).ok()?? {
        (server::STATUS_REPLY, json) => serde_json::from_slice(&json).ok(),
        _ => None,
    }
}

/// What the loop does after a connection.
enum Next {
    Go,
    /// Close the ledger and exit; answer this `RELEASE` once it is closed.
    Stop(Option<UnixStream>),
}

fn serve(ctx: &Ctx, idle: Option<Duration>, background: bool) -> Result<()> {
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
    let lock_path = db.join(server::LOCK);
    let lock_existed = lock_path.exists();
    let lock = fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| Error::io(format!("opening {}", server::LOCK), e))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) if background => return Ok(()),
        Err(fs::TryLockError::WouldBlock) => {
            return Err(Error::new(
                ErrorKind::Locked,
                format!("a ledger server already runs for {shown}"),
            )
            .with_hint("`claims serve --stop` stops it"))
        }
        Err(fs::TryLockError::Error(e)) => {
            return Err(Error::io(format!("locking {}", server::LOCK), e))
        }
    }
    // Holding the server lock, any socket file here is a dead server's.
    let sock = server::socket_path(&db);
    let _ = fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock)
        .map_err(|e| Error::io(format!("listening on {}", sock.display()), e))?;
    let _ = fs::set_permissions(&sock, fs::Permissions::from_mode(0o600));
    let ino = socket_ino(&sock);
    let listener = with_accept_timeout(listener, TICK)
        .map_err(|e| Error::io(format!("listening on {}", sock.display()), e))?;
    let how = backend::Open {
        create: false,
        lock_wait: ctx.lock_wait,
        evict_server: false,
    };
    let mut ledger = match backend::open(&db, how) {
        Ok(ledger) => Some(ledger),
        Err(e) => {
            leave(&sock, ino, listener);
            if !lock_existed {
                // Not a ledger after all (another program's sled database,
                // say): leave its directory as it was.
                let _ = fs::remove_file(&lock_path);
            }
            return Err(e);
        }
    };
    if !background {
        ctx.io().error_line(&format!(
            "serving the ledger at {shown}; stop with Ctrl-C or `claims serve --stop`"
        ));
    }
    let build = client::build_id();
    // Built once: building clap's parser costs more than most queries. The
    // ledger is named by the client's `--db` or `CLAIMS_DB`, never by this
    // process's environment.
    let mut parser = <Cli as clap::CommandFactory>::command().mut_arg("db", |a| a.env(None));
    let mut served = 0u64;
    let mut last = Instant::now();
    let releaser = loop {
        if socket_ino(&sock) != ino {
            // The ledger was moved or deleted, or another server took the
            // name: nobody can reach this one any more. The ledger is not
            // closed the usual way: sled's last flush would write its files
            // back into a deleted directory. Every commit is already synced.
            drop(listener);
            std::mem::forget(ledger);
            return Ok(());
        }
        if idle.is_some_and(|idle| last.elapsed() >= idle) {
            break None;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let before = served;
                let next = handle(&db, stream, &mut ledger, &build, &mut served, &mut parser);
                if served != before {
                    // Idle time counts from the last command (not status checks).
                    last = Instant::now();
                }
                let poisoned = ledger.as_ref().is_none_or(|l| l.store().is_poisoned());
                match next {
                    Next::Stop(r) => break r,
                    Next::Go if poisoned => break None,
                    Next::Go => {}
                }
            }
            // The tick: look at the clock and the socket again.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                leave(&sock, ino, listener);
                return Err(Error::io(format!("accepting on {}", sock.display()), e));
            }
        }
    };
    leave(&sock, ino, listener);
    drop(ledger);
    if let Some(mut r) = releaser {
        let _ = server::write_frame(&mut r, server::RELEASED, &[]);
    }
    drop(lock);
    Ok(())
}

/// The inode at the socket's path: the server's own socket while it is
/// reachable, something else (or nothing) once the ledger moved or went.
fn socket_ino(sock: &Path) -> Option<u64> {
    fs::symlink_metadata(sock).map(|m| m.ino()).ok()
}

/// Stops serving: removes the socket (if it is still this server's) and
/// answers every connection still waiting with `RETRY`.
fn leave(sock: &Path, ino: Option<u64>, listener: UnixListener) {
    if socket_ino(sock) == ino {
        let _ = fs::remove_file(sock);
    }
    if listener.set_nonblocking(true).is_ok() {
        while let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.set_nonblocking(false);
            let _ = server::write_frame(&mut stream, server::RETRY, &[]);
        }
    }
}

/// A listener whose `accept` gives up after `timeout` (Linux applies a
/// socket's receive timeout to `accept`), so the loop can look at the clock.
fn with_accept_timeout(listener: UnixListener, timeout: Duration) -> io::Result<UnixListener> {
    let as_stream = UnixStream::from(OwnedFd::from(listener));
    as_stream.set_read_timeout(Some(timeout))?;
    Ok(UnixListener::from(OwnedFd::from(as_stream)))
}

/// Serves one connection.
fn handle(
    db: &Path,
    mut stream: UnixStream,
    ledger: &mut Option<AnyLedger>,
    build: &str,
    served: &mut u64,
    parser: &mut clap::Command,
) -> Next {
    // A client that connects and then says nothing does not hold us up.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if server::write_frame(&mut stream, server::READY, &[]).is_err() {
        return Next::Go;
    }
    let (tag, payload) = match server::read_frame(&mut stream) {
        Ok(Some(frame)) => frame,
        _ => return Next::Go,
    };
    match tag {
        server::RELEASE => Next::Stop(Some(stream)),
        server::STATUS => {
            let status = Status {
                pid: std::process::id(),
                served: *served,
                build: build.to_string(),
            };
            let json = serde_json::to_vec(&status).unwrap_or_default();
            let _ = server::write_frame(&mut stream, server::STATUS_REPLY, &json);
            Next::Go
        }
        server::REQUEST => {
            let Ok(request) = serde_json::from_slice::<Request>(&payload) else {
                return Next::Go;
            };
            if request.protocol != server::PROTOCOL || request.build != build {
                // Another build of claims: it runs the command itself, and
                // starts a server of its own once this one is gone.
                let _ = server::write_frame(&mut stream, server::RETRY, &[]);
                return Next::Stop(None);
            }
            let stdin = if request.stdin {
                match read_stdin(&mut stream) {
                    Some(bytes) => Some(bytes),
                    // The client went away mid-input: run nothing.
                    None => return Next::Go,
                }
            } else {
                None
            };
            let _ = stream.set_read_timeout(None);
            match run_request(db, &stream, request, stdin, ledger, parser) {
                Ok(code) => {
                    *served += 1;
                    let _ = server::write_frame(&mut stream, server::EXIT, &[code]);
                }
                Err(tag) => {
                    let _ = server::write_frame(&mut stream, tag, &[]);
                }
            }
            Next::Go
        }
        _ => Next::Go,
    }
}

/// Reads `STDIN` frames up to `STDIN_END`; `None` if the stream ends first.
fn read_stdin(stream: &mut UnixStream) -> Option<Vec<u8>> {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut bytes = Vec::new();
    loop {
        match server::read_frame(stream) {
            Ok(Some((server::STDIN, chunk))) => bytes.extend_from_slice(&chunk),
            Ok(Some((server::STDIN_END, _))) => return Some(bytes),
            _ => return None,
        }
    }
}

/// Runs one command on the open ledger, with the client's streams; returns
/// the exit code, or the frame (`RETRY`, `WANT_STDIN`) that says why
/// nothing was run.
fn run_request(
    db: &Path,
    stream: &UnixStream,
    request: Request,
    stdin: Option<Vec<u8>>,
    ledger: &mut Option<AnyLedger>,
    parser: &mut clap::Command,
) -> std::result::Result<u8, u8> {
    let remote = Remote {
        stream,
        cwd: request.cwd.clone(),
        stdin: RefCell::new(stdin),
        stdin_tty: request.stdin_tty,
        stderr_tty: request.stderr_tty,
        width: request.width,
    };
    // A line clap refuses is the client's to report, as it always does.
    let matches = parser
        .try_get_matches_from_mut(&request.argv)
        .map_err(|_| server::RETRY)?;
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map_err(|_| server::RETRY)?;
    if matches!(cli.command, Command::Serve(_) | Command::Completions(_))
        || cli.command.needs_no_ledger()
    {
        return Err(server::RETRY);
    }
    // Run nothing for another ledger than this server's own.
    let named = match (matches.value_source("db"), request.db_env.as_deref()) {
        (Some(clap::parser::ValueSource::CommandLine), _) => cli.db.clone(),
        (_, Some(env)) if !env.is_empty() => PathBuf::from(env),
        _ => cli.db.clone(),
    };
    if request.cwd.join(named).canonicalize().ok().as_deref() != Some(db) {
        return Err(server::RETRY);
    }
    let reads_stdin = match &cli.command {
        Command::Append(a) => a.file == "-",
        Command::Import(a) => a.file == "-",
        Command::Claimreview(a) => a.reads_stdin(),
        _ => false,
    };
    if reads_stdin && !request.stdin && !request.stdin_tty {
        return Err(server::WANT_STDIN);
    }
    let (tz, bad_tz) = match parse_zone(&cli.tz) {
        Ok(tz) => (tz, None),
        Err(e) => (chrono_tz::Tz::UTC, Some(e)),
    };
    let mut ctx = Ctx::remote(db, tz, ledger.take(), Box::new(remote));
    ctx.wide = cli.wide;
    let code = match bad_tz {
        Some(e) => {
            ctx.report(&e.context("--tz"));
            1
        }
        None => super::execute(&ctx, cli.command),
    };
    *ledger = ctx.held.take();
    Ok(code)
}

impl<'a> Ctx<'a> {
    /// A context for a command the server runs for a client.
    fn remote(
        db: &Path,
        tz: chrono_tz::Tz,
        ledger: Option<AnyLedger>,
        io: Box<dyn Streams + 'a>,
    ) -> Ctx<'a> {
        Ctx {
            db: db.to_path_buf(),
            tz,
            now: Cell::new(Utc::now()),
            lock_wait: super::lock_wait(),
            created: Cell::new(false),
            opened: Cell::new(false),
            held: RefCell::new(ledger),
            wide: false,
            remote: None,
            copies: RefCell::new(Vec::new()),
            io,
        }
    }
}

/// A client's streams, through the socket.
struct Remote<'a> {
    stream: &'a UnixStream,
    cwd: PathBuf,
    stdin: RefCell<Option<Vec<u8>>>,
    stdin_tty: bool,
    stderr_tty: bool,
    width: Option<u16>,
}

/// Writes as `tag` frames.
struct Frames<'a> {
    stream: &'a UnixStream,
    tag: u8,
}

impl Write for Frames<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(server::MAX_FRAME);
        server::write_frame(&mut self.stream, self.tag, &buf[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Streams for Remote<'_> {
    fn stdout(&self) -> Box<dyn Write + '_> {
        Box::new(Frames {
            stream: self.stream,
            tag: server::STDOUT,
        })
    }

    fn read_stdin(&self) -> io::Result<Vec<u8>> {
        Ok(self.stdin.borrow_mut().take().unwrap_or_default())
    }

    fn stdin_is_terminal(&self) -> bool {
        self.stdin_tty
    }

    fn stderr_is_terminal(&self) -> bool {
        self.stderr_tty
    }

    fn width(&self) -> Option<u16> {
        self.width
    }

    fn error_line(&self, line: &str) {
        let mut frames = Frames {
            stream: self.stream,
            tag: server::STDERR,
        };
        let _ = frames.write_all(format!("{line}\n").as_bytes());
    }

    fn path(&self, name: &Path) -> PathBuf {
        self.cwd.join(name)
    }

    fn is_local(&self) -> bool {
        false
    }
}
