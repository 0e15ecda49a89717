//! The client side of the ledger server (`crate::cli::protocol` has the protocol,
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
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::protocol::{self as server, Request};

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
        Ok(if super::settings::server_mode_value()? {
            Mode::Auto
        } else {
            Mode::Off
        })
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
    super::settings::server_idle().as_secs_f64()
}

/// What `claims` would take for `--db` and the subcommand, read from the
/// command line without building the whole parser (that costs about as much
/// as a query in the server). `None` when the line is for this process
/// alone (help, version, `serve`, `completions`) or is unusual: clap then
/// parses it as always. The server parses the line again with clap and runs
/// nothing unless it names the server's own ledger.
fn quick_scan(args: &[String], env_db: Result<String, std::env::VarError>) -> Option<PathBuf> {
    let mut db: Option<&str> = None;
    let mut sub: Option<&str> = None;
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "--" => break,
            "-h" | "--help" | "-V" | "--version" => return None,
            "--db" => {
                db = Some(args.get(i + 1)?.as_str());
                i += 2;
                continue;
            }
            "--tz" => {
                i += 2;
                continue;
            }
            _ => {}
        }
        if let Some(v) = a.strip_prefix("--db=") {
            db = Some(v);
        } else if a.starts_with("--tz=") {
        } else if sub.is_none() {
            if a.starts_with('-') {
                return None;
            }
            sub = Some(a);
        }
        i += 1;
    }
    if matches!(sub?, "serve" | "completions" | "help") {
        return None;
    }
    let db = match db {
        Some(d) => d.to_string(),
        None => match env_db {
            Ok(v) if !v.is_empty() => v,
            Err(std::env::VarError::NotPresent) => "claims.db".to_string(),
            _ => return None,
        },
    };
    Some(PathBuf::from(db))
}

/// The subcommand a command line names: its first word that is not an
/// option or the value of `--db` or `--tz`.
fn subcommand(args: &[String]) -> Option<&str> {
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--db" | "--tz" => i += 2,
            a if a.starts_with('-') => i += 1,
            a => return Some(a),
        }
    }
    None
}

/// What became of a command offered to the server.
pub enum Outcome {
    /// The server ran it; this is the exit code.
    Served(u8),
    /// Run it in this process (no server, or one that would not run it;
    /// nothing was done), with standard input if it was already read.
    Direct(Option<Vec<u8>>),
}

/// Runs the command line through the ledger's server, if one answers.
pub fn try_server(mode: Mode, lock_wait: Duration) -> Outcome {
    if mode == Mode::Off {
        return Outcome::Direct(None);
    }
    let argv: Option<Vec<String>> = std::env::args_os().map(|a| a.into_string().ok()).collect();
    let Some(argv) = argv else {
        return Outcome::Direct(None);
    };
    let Some(db) = quick_scan(&argv, std::env::var("CLAIMS_DB")) else {
        return Outcome::Direct(None);
    };
    let mut stdin = None;
    // At most twice: the second time with standard input, if the server
    // asked for it.
    for _ in 0..2 {
        let Ok(mut stream) = UnixStream::connect(server::socket_path(&db)) else {
            return Outcome::Direct(stdin);
        };
        match offer(&db, &argv, &mut stream, lock_wait, stdin.take()) {
            Offered::Served(code) => return Outcome::Served(code),
            Offered::Declined(s) => return Outcome::Direct(s),
            Offered::WantsStdin => {
                let mut bytes = Vec::new();
                if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
                    eprintln!("error: reading standard input failed: {e}");
                    return Outcome::Served(1);
                }
                stdin = Some(bytes);
            }
        }
    }
    Outcome::Direct(stdin)
}

/// How an offer went.
enum Offered {
    /// The server ran it; the exit code.
    Served(u8),
    /// The server ran nothing; run it here (with this standard input).
    Declined(Option<Vec<u8>>),
    /// The server ran nothing: it needs the standard input first.
    WantsStdin,
}

/// Offers the command line on a connected stream.
fn offer(
    db: &Path,
    argv: &[String],
    stream: &mut UnixStream,
    lock_wait: Duration,
    stdin: Option<Vec<u8>>,
) -> Offered {
    // The server may be busy with another command or still opening the
    // ledger: wait for it as long as for the ledger's lock.
    let started = Instant::now();
    let timeout = lock_wait.max(Duration::from_millis(1));
    if stream.set_read_timeout(Some(timeout)).is_err() {
        return Offered::Declined(stdin);
    }
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
                db.display(),
                started.elapsed().as_secs_f64()
            );
            return Offered::Served(1);
        }
        _ => return Offered::Declined(stdin),
    }
    if stream.set_read_timeout(None).is_err() {
        return Offered::Declined(stdin);
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Offered::Declined(stdin);
    };
    let request = Request {
        protocol: server::PROTOCOL,
        build: build_id(),
        argv: argv.to_vec(),
        cwd,
        db_env: std::env::var("CLAIMS_DB").ok(),
        stdin_tty: std::io::IsTerminal::is_terminal(&std::io::stdin()),
        stdin: stdin.is_some(),
        stderr_tty: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        width: super::streams::terminal_width(),
    };
    let Ok(json) = serde_json::to_vec(&request) else {
        return Offered::Declined(stdin);
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
        return Offered::Declined(stdin);
    }
    match relay(stream, db, argv) {
        Relayed::Exit(code) => Offered::Served(code),
        Relayed::Retry => Offered::Declined(stdin),
        Relayed::WantsStdin => Offered::WantsStdin,
    }
}

/// How the server answered a request.
enum Relayed {
    Exit(u8),
    Retry,
    WantsStdin,
}

/// Copies the server's output to this process's streams until the exit code.
fn relay(stream: &mut UnixStream, db: &Path, argv: &[String]) -> Relayed {
    let mut first = true;
    // The pager runs here, on the client's terminal, as for a direct run.
    let paged = subcommand(argv).is_some_and(|s| super::pager::PAGED.contains(&s));
    let mut pager = super::pager::wanted(argv.iter().any(|a| a == "--no-pager"))
        .filter(|_| paged)
        .and_then(|cmd| super::pager::Pager::start(&cmd));
    let mut plain = std::io::stdout().lock();
    let stdout: &mut dyn Write = match pager.as_mut() {
        Some(p) => p.input(),
        None => &mut plain,
    };
    loop {
        match server::read_frame(stream) {
            Ok(Some((server::RETRY, _))) if first => return Relayed::Retry,
            Ok(Some((server::WANT_STDIN, _))) if first => return Relayed::WantsStdin,
            Ok(Some((server::STDOUT, bytes))) => {
                if let Err(e) = stdout.write_all(&bytes) {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        // `claims log | head`: the reader is done; so are we.
                        return Relayed::Exit(0);
                    }
                    eprintln!("error: writing to standard output failed: {e}");
                    return Relayed::Exit(1);
                }
            }
            Ok(Some((server::STDERR, bytes))) => {
                let _ = stdout.flush();
                let _ = std::io::stderr().write_all(&bytes);
            }
            Ok(Some((server::EXIT, code))) => {
                let _ = stdout.flush();
                return Relayed::Exit(code.first().copied().unwrap_or(1));
            }
            _ => {
                let _ = stdout.flush();
                eprintln!(
                    "error: the ledger server of {} stopped before the command finished, so it may or may not have taken effect; check with `claims log` or run it again (a repeated `append` is a no-op)",
                    db.display()
                );
                return Relayed::Exit(1);
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
    if cmd.spawn().is_err() {
        return;
    }
    // But wait (a moment at most) until it has the ledger open: a ledger
    // deleted right after this command returns must not race a server still
    // opening it, which would write sled's files back into the deleted
    // directory.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Ok(mut s) = UnixStream::connect(server::socket_path(&db)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            // READY, RETRY or a closed connection: it is past opening.
            let _ = server::read_frame(&mut s);
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::env::VarError::NotPresent;

    fn scan(line: &str, env: Result<String, std::env::VarError>) -> Option<String> {
        let args: Vec<String> = line.split(' ').map(String::from).collect();
        quick_scan(&args, env).map(|p| p.display().to_string())
    }

    #[test]
    fn quick_scan_finds_the_ledger_as_clap_would() {
        let none = || Err(NotPresent);
        assert_eq!(scan("claims --db x state", none()).as_deref(), Some("x"));
        assert_eq!(
            scan("claims state --db=y --json", none()).as_deref(),
            Some("y")
        );
        assert_eq!(
            scan("claims state --json --db z", none()).as_deref(),
            Some("z")
        );
        assert_eq!(
            scan("claims --tz Europe/Oslo state", none()).as_deref(),
            Some("claims.db")
        );
        assert_eq!(
            scan("claims --tz=UTC log", Ok("e".into())).as_deref(),
            Some("e")
        );
        assert_eq!(
            scan("claims --db x log", Ok("e".into())).as_deref(),
            Some("x")
        );
        // After `--` nothing is an option.
        assert_eq!(
            scan("claims assert --text -- --db w", none()).as_deref(),
            Some("claims.db")
        );
    }

    #[test]
    fn quick_scan_leaves_help_version_local_commands_and_odd_lines_to_clap() {
        let none = || Err(NotPresent);
        for line in [
            "claims",
            "claims --help",
            "claims state -h",
            "claims -V",
            "claims serve --status",
            "claims completions bash",
            "claims help state",
            "claims --db",
            "claims --bogus state",
        ] {
            assert_eq!(scan(line, none()), None, "{line}");
        }
        // An empty or non-Unicode CLAIMS_DB: clap decides.
        assert_eq!(scan("claims state", Ok(String::new())), None);
    }
}
