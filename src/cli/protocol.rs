//! The wire protocol of the ledger server: a process that keeps one ledger
//! open and runs `claims` commands for clients over a Unix socket inside the
//! ledger's directory, so that a command need not pay sled's open on every
//! run (BENCHMARKS.md, "the ledger server").
//!
//! This module holds only what both sides and the store need: where the
//! socket is, the frames, and [`ask_release`], which any opener of a ledger
//! uses to make an idle server let go of it. The server and the client are
//! in the binary (`src/cli/serve.rs`, `src/cli/client.rs`).
//!
//! A connection goes:
//!
//! 1. server → `READY` once it has the ledger open (or `RETRY` if it cannot
//!    serve: the client then runs the command itself; nothing was done);
//! 2. client → `REQUEST` (a JSON [`Request`]) or `RELEASE`;
//!    When the request says it carries standard input, the client sends it
//!    at once as `STDIN` frames and then `STDIN_END` (it has read all of it
//!    before connecting, as a command run directly would before locking the
//!    ledger). A connection that ends without `STDIN_END` is an interrupted
//!    client: the server runs nothing;
//! 3. server → `RETRY` if it will not run the request (another build of
//!    `claims`, another ledger, a command line for the client alone or one
//!    clap refuses: nothing was done, and the client runs it itself),
//!    `WANT_STDIN` if the command reads standard input and the request did
//!    not carry it (nothing was done: the client reads its input and asks
//!    again), or any number of `STDOUT` / `STDERR`
//!    frames, then `EXIT` with the exit code; `RELEASED` after a `RELEASE`;
//!    `STATUS_REPLY` (a JSON [`Status`]) after a `STATUS`.
//!
//! A frame is a tag byte, a little-endian `u32` length and that many bytes.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The socket's file name inside the ledger directory.
pub const SOCKET: &str = "server.sock";
/// The file a server holds locked for its whole life (one server a ledger).
pub const LOCK: &str = "server.lock";
/// The protocol version, sent in every [`Request`].
pub const PROTOCOL: u32 = 1;

/// Server → client: the ledger is open; send a request.
pub const READY: u8 = b'R';
/// Server → client: this server cannot serve; nothing was done.
pub const RETRY: u8 = b'T';
/// Client → server: run this command (a JSON [`Request`]).
pub const REQUEST: u8 = b'C';
/// Client → server: close the ledger and exit.
pub const RELEASE: u8 = b'Q';
/// Server → client: the ledger is closed.
pub const RELEASED: u8 = b'q';
/// Server → client: bytes for standard output.
pub const STDOUT: u8 = b'o';
/// Server → client: bytes for standard error.
pub const STDERR: u8 = b'e';
/// Server → client: nothing was run; send the request again with standard
/// input (the command reads it).
pub const WANT_STDIN: u8 = b'W';
/// Client → server: say who you are.
pub const STATUS: u8 = b'S';
/// Server → client: a JSON [`Status`].
pub const STATUS_REPLY: u8 = b's';
/// Client → server: bytes of standard input.
pub const STDIN: u8 = b'I';
/// Client → server: standard input is complete.
pub const STDIN_END: u8 = b'E';
/// Server → client: the command ended with this exit code (one byte).
pub const EXIT: u8 = b'x';

/// The most one frame may carry.
pub const MAX_FRAME: usize = 1 << 20;

/// A command for the server to run, as the client's process would have run it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Request {
    /// [`PROTOCOL`].
    pub protocol: u32,
    /// Which build of `claims` sent it; a server of another build refuses.
    pub build: String,
    /// The command line, program name first.
    pub argv: Vec<String>,
    /// The client's working directory, for relative file names.
    pub cwd: PathBuf,
    /// The client's `CLAIMS_DB`, which names the ledger when `--db` is not
    /// given: the server runs nothing for another ledger than its own.
    #[serde(default)]
    pub db_env: Option<String>,
    /// Whether the client's standard input is a terminal.
    pub stdin_tty: bool,
    /// Whether `STDIN` frames follow the request.
    pub stdin: bool,
    /// Whether the client's standard error is a terminal.
    pub stderr_tty: bool,
    /// The client's terminal width, when its standard output is a terminal.
    pub width: Option<u16>,
}

/// What a server says of itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    /// Its process id.
    pub pid: u32,
    /// How many commands it has run.
    pub served: u64,
    /// Which build of `claims` it is.
    pub build: String,
}

/// The path of the server socket of the ledger at `db`.
pub fn socket_path(db: &Path) -> PathBuf {
    db.join(SOCKET)
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, tag: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
    let mut head = [0u8; 5];
    head[0] = tag;
    head[1..].copy_from_slice(&len.to_le_bytes());
    w.write_all(&head)?;
    w.write_all(payload)
}

/// Reads one frame; `None` at a clean end of the stream (between frames).
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame longer than the protocol allows",
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

/// Asks the server of the ledger at `db`, if one is running, to close the
/// ledger and exit. Waits up to `ready_wait` for the server to take the
/// request (it may be busy with a command, or still opening the ledger), then
/// up to `release_wait` for it to close the ledger. Returns whether a server
/// answered that it let go.
///
/// Every opener of a ledger calls this while the ledger is locked, so a
/// server never keeps anyone else out for longer than its current command.
pub fn ask_release(db: &Path, ready_wait: Duration, release_wait: Duration) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket_path(db)) else {
        return false;
    };
    if !matches!(
        read_tag(&mut stream, Instant::now() + ready_wait),
        Ok(Some(READY))
    ) {
        return false;
    }
    if write_frame(&mut stream, RELEASE, &[]).is_err() {
        return false;
    }
    matches!(
        read_tag(&mut stream, Instant::now() + release_wait),
        Ok(Some(RELEASED))
    )
}

/// Reads one frame's tag, giving up at `deadline`.
fn read_tag(stream: &mut UnixStream, deadline: Instant) -> io::Result<Option<u8>> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Ok(None);
    }
    stream.set_read_timeout(Some(left))?;
    Ok(read_frame(stream)?.map(|(tag, _)| tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_cut_frame_is_an_error() {
        let mut buf = Vec::new();
        write_frame(&mut buf, STDOUT, b"hello").unwrap();
        write_frame(&mut buf, EXIT, &[3]).unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            Some((STDOUT, b"hello".to_vec()))
        );
        assert_eq!(read_frame(&mut r).unwrap(), Some((EXIT, vec![3])));
        assert_eq!(read_frame(&mut r).unwrap(), None);
        let mut cut = &buf[..7];
        assert_eq!(
            read_frame(&mut cut).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn an_oversized_frame_is_refused() {
        let mut buf = vec![STDIN];
        buf.extend_from_slice(&((MAX_FRAME as u32) + 1).to_le_bytes());
        assert_eq!(
            read_frame(&mut &buf[..]).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn asking_a_ledger_without_a_server_to_release_returns_at_once() {
        let dir = std::env::temp_dir().join(format!("claims-no-server-{}", std::process::id()));
        let t = Instant::now();
        assert!(!ask_release(
            &dir,
            Duration::from_secs(5),
            Duration::from_secs(5)
        ));
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
