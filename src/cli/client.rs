//! The client side of the ledger server (`claims::server` has the protocol,
//! `serve.rs` the server).
//!
//! With `CLAIMS_SERVER=auto` (the default) a command first tries the server
//! socket in the ledger directory. If a server answers, it runs the command
//! there and this process only relays the output and the exit code. If none
//! does, the command runs here, and after it succeeds this process starts a
//! server in the background for the commands that follow; the server exits
//! after `CLAIMS_SERVER_IDLE` seconds (default 30) without a command, when
//! another process needs the ledger, or when the ledger directory goes away.
//! With `CLAIMS_SERVER=off` every command opens the ledger itself (asking a
//! running server to let go first).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use claims::server::{self, Request};

use super::{Cli, Command};

/// Whether commands use and start a ledger server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Use a running server; start one after a command that ran here.
    Auto,
    /// Never: every command opens the ledger itself.
    Off,
}

impl Mode {
    /// From `CLAIMS_SERVER` (`auto`, the default, or `off`).
    pub fn from_env() -> Result<Mode, String> {
        match std::env::var("CLAIMS_SERVER") {
            Err(_) => Ok(Mode::Auto),
            Ok(v) => match v.trim() {
                "" | "auto" => Ok(Mode::Auto),
                "off" => Ok(Mode::Off),
                other => Err(format!(
                    "CLAIMS_SERVER must be `auto` or `off`, not `{other}`"
                )),
            },
        }
    }
}

/// Which build of `claims` this is: a server only runs commands for the very
/// same executable, so a rebuilt or upgraded `claims` never talks to an old one.
pub fn build_id() -> String {
    let exe = std::env::current_exe().and_then(|p| p.metadata().map(|m| (p, m)));
    match exe {
        Ok((path, meta)) => {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!(
                "{}:{}:{}:{mtime}",
                env!("CARGO_PKG_VERSION"),
                path.display(),
                meta.len()
            )
        }
        Err(_) => format!("{}:unknown", env!("CARGO_PKG_VERSION")),
    }
}

/// Seconds a server started here waits for the next command.
fn idle_secs() -> f64 {
    std::env::var("CLAIMS_SERVER_IDLE")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(30.0)
}

/// The file a command reads from standard input, if it does.
fn reads_stdin(command: &Command) -> bool {
    match command {
        Command::Append(a) => a.file == "-",
        Command::Import(a) => a.file == "-",
        _ => false,
    }
}

/// What became of a command offered to the server.
pub enum Outcome {
    /// The server ran it; this is the exit code.
    Served(u8),
    /// Run it in this process (no server, or one that would not run it;
    /// nothing was done), with standard input if it was already read.
    Direct(Option<Vec<u8>>),
}

/// Runs the command through the ledger's server, if one answers.
pub fn try_server(cli: &Cli, mode: Mode, lock_wait: Duration) -> Outcome {
    if mode == Mode::Off || matches!(cli.command, Command::Completions(_) | Command::Serve(_)) {
        return Outcome::Direct(None);
    }
    let Ok(mut stream) = UnixStream::connect(server::socket_path(&cli.db)) else {
        return Outcome::Direct(None);
    };
    match offer(cli, &mut stream, lock_wait) {
        Ok(code) => Outcome::Served(code),
        Err(stdin) => Outcome::Direct(stdin),
    }
}

/// Offers the command on a connected stream: the exit code, or, to run it
/// here, the standard input already read.
fn offer(cli: &Cli, stream: &mut UnixStream, lock_wait: Duration) -> Result<u8, Option<Vec<u8>>> {
    // The server may be busy with another command or still opening the
    // ledger: wait for it as long as for the ledger's lock.
    let started = Instant::now();
    let timeout = lock_wait.max(Duration::from_millis(1));
    stream.set_read_timeout(Some(timeout)).map_err(|_| None)?;
    match server::read_frame(stream) {
        Ok(Some((server::READY, _))) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            eprintln!(
                "error: the ledger at {} is in use by another process (waited {:.1} s); try again when the other claims command has finished",
                cli.db.display(),
                started.elapsed().as_secs_f64()
            );
            return Ok(1);
        }
        _ => return Err(None),
    }
    stream.set_read_timeout(None).map_err(|_| None)?;
    let stdin_tty = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let stdin = if reads_stdin(&cli.command) && !stdin_tty {
        let mut bytes = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
            eprintln!("error: reading standard input failed: {e}");
            return Ok(1);
        }
        Some(bytes)
    } else {
        None
    };
    let argv: Option<Vec<String>> = std::env::args_os().map(|a| a.into_string().ok()).collect();
    let (Some(argv), Ok(cwd)) = (argv, std::env::current_dir()) else {
        return Err(stdin);
    };
    let request = Request {
        protocol: server::PROTOCOL,
        build: build_id(),
        argv,
        cwd,
        stdin_tty,
        stdin: stdin.is_some(),
        stderr_tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        width: super::streams::terminal_width(),
    };
    let Ok(json) = serde_json::to_vec(&request) else {
        return Err(stdin);
    };
    let sent = (|| -> std::io::Result<()> {
        let mut w = std::io::BufWriter::with_capacity(server::MAX_FRAME + 5, &*stream);
        server::write_frame(&mut w, server::REQUEST, &json)?;
        if let Some(bytes) = &stdin {
            for chunk in bytes.chunks(server::MAX_FRAME) {
                server::write_frame(&mut w, server::STDIN, chunk)?;
            }
            server::write_frame(&mut w, server::STDIN_END, &[])?;
        }
        w.flush()
    })();
    if sent.is_err() {
        // The server went away before it had the whole request: it ran nothing.
        return Err(stdin);
    }
    relay(stream, &cli.db).ok_or(stdin)
}

/// Copies the server's output to this process's streams until the exit code.
fn relay(stream: &mut UnixStream, db: &Path) -> Option<u8> {
    let mut first = true;
    let mut stdout = std::io::stdout().lock();
    loop {
        match server::read_frame(stream) {
            Ok(Some((server::RETRY, _))) if first => return None,
            Ok(Some((server::STDOUT, bytes))) => {
                if let Err(e) = stdout.write_all(&bytes) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        // `claims log | head`: the reader is done; so are we.
                        return Some(0);
                    }
                    eprintln!("error: writing to standard output failed: {e}");
                    return Some(1);
                }
            }
            Ok(Some((server::STDERR, bytes))) => {
                let _ = stdout.flush();
                let _ = std::io::stderr().write_all(&bytes);
            }
            Ok(Some((server::EXIT, code))) => {
                let _ = stdout.flush();
                return Some(code.first().copied().unwrap_or(1));
            }
            _ => {
                let _ = stdout.flush();
                eprintln!(
                    "error: the ledger server of {} stopped before the command finished, so it may or may not have taken effect; check with `claims log` or run it again (a repeated `append` is a no-op)",
                    db.display()
                );
                return Some(1);
            }
        }
        first = false;
    }
}

/// After a command that opened the ledger itself: starts a server in the
/// background for the commands that follow, unless one runs already.
pub fn start_server(db: &Path, mode: Mode) {
    if mode == Mode::Off {
        return;
    }
    if UnixStream::connect(server::socket_path(db)).is_ok() {
        return;
    }
    let (Ok(exe), Ok(db)) = (std::env::current_exe(), db.canonicalize()) else {
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--db")
        .arg(&db)
        .arg("serve")
        .arg("--background")
        .arg("--idle")
        .arg(idle_secs().to_string())
        .env_remove("CLAIMS_DB")
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    // Not waited for: the server outlives this process, and init reaps it.
    #[allow(clippy::zombie_processes)]
    let _ = cmd.spawn();
}
