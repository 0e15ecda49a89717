//! The client side of the ledger's socket server (`serve.rs`; the socket is
//! `socket.rs`).
//!
//! With `CLAIMS_SERVER=auto` (the default) a command that a server can
//! answer first looks for one on the ledger's socket. If one of the very
//! same build answers, the command runs against it through the `/v1` API,
//! exactly as against a server named by `--db http://…` (one request path:
//! the server never runs a command line). If none does, the command opens
//! the ledger itself, and after it succeeds this process starts a server in
//! the background for the commands that follow; it exits after
//! `CLAIMS_SERVER_IDLE` seconds (default 30) without a request, when
//! another process needs the ledger, or when the ledger directory goes
//! away. With `CLAIMS_SERVER=off` every command opens the ledger itself
//! (asking a running server to let go first).

use std::path::Path;
use std::time::{Duration, Instant};

use super::remote::Remote;
use super::socket::{self, BASE, BUILD_HEADER};

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

/// Which build of `claims` this is: a server serves only the very same
/// executable, so a rebuilt or upgraded `claims` never talks to an old one.
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

/// What a server says of itself.
#[derive(Debug, Clone)]
pub struct Status {
    /// Its process.
    pub pid: u32,
    /// Requests it has answered.
    pub served: u64,
    /// Its build.
    pub build: String,
}

fn agent(db: &Path, timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build();
    socket::agent(&socket::socket_path(db), config)
}

/// The server on the ledger's socket, if one answers (as this user).
pub fn status(db: &Path) -> Option<Status> {
    let mut r = agent(db, Duration::from_secs(5))
        .get(format!("{BASE}/healthz"))
        .header(BUILD_HEADER, build_id())
        .call()
        .ok()?;
    let text = r
        .body_mut()
        .with_config()
        .limit(1 << 16)
        .read_to_string()
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(Status {
        pid: v.get("pid")?.as_u64()? as u32,
        served: v.get("served")?.as_u64()?,
        build: v.get("build")?.as_str()?.to_string(),
    })
}

/// A client of the ledger's server, when one of this build answers on the
/// socket. A server of another build is asked to let go (this command then
/// opens the ledger and starts a server of its own).
pub fn find(db: &Path, mode: Mode, wait: Duration) -> Option<Remote> {
    if mode == Mode::Off {
        return None;
    }
    let path = socket::socket_path(db);
    socket::connect(&path).ok()?;
    let s = status(db)?;
    if s.build != build_id() {
        let w = wait.max(Duration::from_secs(2));
        socket::ask_release(db, w, w);
        return None;
    }
    Some(Remote::unix(db, &path))
}

/// After a command that opened the ledger itself: starts a server in the
/// background for the commands that follow, unless one runs already.
pub fn start_server(db: &Path, mode: Mode) {
    if mode == Mode::Off {
        return;
    }
    let sock = socket::socket_path(db);
    if socket::connect(&sock).is_ok() {
        return;
    }
    let (Ok(exe), Ok(db)) = (std::env::current_exe(), db.canonicalize()) else {
        return;
    };
    let idle = super::settings::server_idle().as_secs_f64();
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--db")
        .arg(&db)
        .arg("serve")
        .arg("--background")
        .arg("--idle")
        .arg(idle.to_string())
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
        if status(&db).is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
