//! The ledger's own socket, `server.sock` in the ledger directory: the
//! claims server on it serves this Unix user's commands with the same `/v1`
//! API as on the network (one request path; docs/api.md). Both sides check
//! the peer: the server answers only connections from its own user, and a
//! client talks only to a socket served by its own user, so a socket planted
//! in a shared directory can neither receive a command nor fake an answer.
//!
//! The CLI's HTTP client (ureq) reaches the socket through [`UnixConnector`].

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

/// The socket's file name in the ledger directory.
pub const SOCKET: &str = "server.sock";
/// The file a server holds locked for its whole life (one server a ledger).
pub const LOCK: &str = "server.lock";
/// The header a client sends its build in, and a server answers with its
/// own: a server serves only the very same build of `claims`.
pub const BUILD_HEADER: &str = "x-claims-build";
/// The base URL requests on the socket are made to (the address is not
/// used: the connector always connects to the socket; an IP literal keeps
/// the resolver from looking a name up).
pub const BASE: &str = "http://127.0.0.1";

/// The socket of the ledger at `db`.
pub fn socket_path(db: &Path) -> PathBuf {
    db.join(SOCKET)
}

/// This process's effective user.
pub fn own_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// The Unix user at the other end of `s`.
pub fn peer_uid(s: &UnixStream) -> io::Result<u32> {
    Ok(rustix::net::sockopt::socket_peercred(s)?.uid.as_raw())
}

/// Connects to the socket at `path`, refusing a peer of another user.
pub fn connect(path: &Path) -> io::Result<UnixStream> {
    let s = UnixStream::connect(path)?;
    if peer_uid(&s)? != own_uid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the ledger's socket is served by another user",
        ));
    }
    Ok(s)
}

/// A ureq connector to one Unix socket.
pub struct UnixConnector {
    path: PathBuf,
}

impl fmt::Debug for UnixConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixConnector")
            .field("path", &self.path)
            .finish()
    }
}

impl Connector<()> for UnixConnector {
    type Out = UnixTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let stream = connect(&self.path).map_err(ureq::Error::Io)?;
        let config = details.config;
        Ok(Some(UnixTransport {
            stream,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
        }))
    }
}

/// One connection on the socket.
pub struct UnixTransport {
    stream: UnixStream,
    buffers: LazyBuffers,
}

impl fmt::Debug for UnixTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixTransport").finish()
    }
}

fn timed_out(e: io::Error, timeout: &NextTimeout) -> ureq::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ureq::Error::Timeout(timeout.reason),
        _ => ureq::Error::Io(e),
    }
}

impl Transport for UnixTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        self.stream
            .set_write_timeout(timeout.not_zero().map(|d| *d))
            .map_err(ureq::Error::Io)?;
        let output = &self.buffers.output()[..amount];
        self.stream
            .write_all(output)
            .map_err(|e| timed_out(e, &timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        self.stream
            .set_read_timeout(timeout.not_zero().map(|d| *d))
            .map_err(ureq::Error::Io)?;
        let input = self.buffers.input_append_buf();
        let n = loop {
            match self.stream.read(input) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(timed_out(e, &timeout)),
            }
        };
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        // A server that closed the connection makes it readable with EOF.
        if self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let mut one = [0u8; 1];
        let open =
            matches!(self.stream.read(&mut one), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        self.stream.set_nonblocking(false).is_ok() && open
    }
}

/// A ureq agent whose every request goes to the socket at `path`.
pub fn agent(path: &Path, config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        UnixConnector {
            path: path.to_path_buf(),
        },
        ureq::unversioned::resolver::DefaultResolver::default(),
    )
}

fn quick_agent(db: &Path, wait: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(wait.max(Duration::from_millis(100))))
        .build();
    agent(&socket_path(db), config)
}

/// Asks the server of the ledger at `db`, if one runs, to close the ledger
/// and exit; waits up to `ready_wait` for its answer and `release_wait` for
/// it to have let go. Whether one did.
pub fn ask_release(db: &Path, ready_wait: Duration, release_wait: Duration) -> bool {
    let path = socket_path(db);
    if connect(&path).is_err() {
        return false;
    }
    let wait = release_wait;
    let asked = quick_agent(db, ready_wait.max(release_wait))
        .post(format!("{BASE}/v1/release"))
        .send_empty();
    if !matches!(&asked, Ok(r) if r.status().is_success()) {
        return false;
    }
    // It answers before it closes the ledger: wait until its socket is gone.
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if connect(&path).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}
