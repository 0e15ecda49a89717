//! `claims serve --listen ADDR`: the newsroom server (SPEC, "The newsroom
//! server"; docs/api.md). This module only reads the operator's options and
//! files, opens the ledger and binds the address; `claims-server` serves.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use claims_core::{Error, Result};
use claims_server::{App, Limits};

use super::Ctx;

/// What `serve --listen` takes (flattened into `serve`'s options).
#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Serve the ledger over HTTP to a desk at ADDR (HOST:PORT; default
    /// 127.0.0.1:8421). Port 0 takes a free port; the address served is
    /// printed.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8421")]
    pub listen: Option<String>,
    /// Let requests without a token read (every GET): a published ledger.
    #[arg(long, requires = "listen")]
    pub public_read: bool,
    /// The TLS certificate chain (PEM) to serve HTTPS with.
    #[arg(long, value_name = "FILE", requires_all = ["listen", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires_all = ["listen", "tls_cert"])]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (tokens then
    /// cross the network in the clear).
    #[arg(long, requires = "listen")]
    pub insecure_http: bool,
    /// The largest request body, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64, requires = "listen")]
    pub max_body_mib: usize,
    /// Seconds a connection may take to send a request's headers, or stay
    /// idle between requests, before it is closed.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        requires = "listen"
    )]
    pub idle_seconds: u64,
    /// Seconds one request may take, its body included (a `follow` feed is
    /// exempt).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "listen"
    )]
    pub request_seconds: u64,
    /// A signing key (`claims key generate`) to sign `GET /v1/checkpoint`
    /// with.
    #[arg(long, value_name = "FILE", requires = "listen")]
    pub key: Option<PathBuf>,
    /// Connections served at once; more are closed at once.
    #[arg(long, value_name = "N", default_value_t = 1024, requires = "listen")]
    pub max_connections: usize,
}

fn addresses(addr: &str) -> Result<Vec<SocketAddr>> {
    let found: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| {
            Error::invalid(format!(
                "--listen {addr}: not an address to listen on ({e})"
            ))
        })?
        .collect();
    if found.is_empty() {
        return Err(Error::invalid(format!(
            "--listen {addr}: the name resolves to no address"
        )));
    }
    Ok(found)
}

fn read_file(p: &PathBuf, flag: &str) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| Error::io(format!("{flag}: reading {}", p.display()), e))
}

/// A desk's network listener, checked and ready to bind.
pub struct Network {
    addr: String,
    addrs: Vec<SocketAddr>,
    tls: Option<std::sync::Arc<claims_server::tls::ServerConfig>>,
    /// The limits of its requests.
    pub limits: Limits,
    /// The key checkpoints are signed with.
    pub signer: Option<std::sync::Arc<claims_transparency::SigningKey>>,
}

/// Checks the options and reads the operator's files (TLS, key) before the
/// ledger is served.
pub fn prepare(ctx: &Ctx, args: &ListenArgs) -> Result<Network> {
    let addr = args.listen.clone().unwrap_or_default();
    let addrs = addresses(&addr)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(claims_server::tls::config(
            &read_file(c, "--tls-cert")?,
            &read_file(k, "--tls-key")?,
        )?),
        _ => None,
    };
    if tls.is_none() && !args.insecure_http && addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(Error::invalid(format!(
            "--listen {addr} is not a loopback address, and without TLS every token would cross the network in the clear"
        ))
        .with_hint("pass --tls-cert and --tls-key, or --insecure-http if the network is yours alone"));
    }
    if args.max_body_mib == 0 || args.max_body_mib > 4096 {
        return Err(Error::invalid("--max-body-mib must be from 1 to 4096"));
    }
    if args.idle_seconds == 0 || args.request_seconds == 0 || args.max_connections == 0 {
        return Err(Error::invalid(
            "--idle-seconds, --request-seconds and --max-connections must be at least 1",
        ));
    }
    let signer = match &args.key {
        Some(k) => {
            let (key, open) = super::transparency::signing_key(ctx, k)?;
            super::transparency::warn_if_open(ctx, k, open);
            Some(std::sync::Arc::new(key))
        }
        None => None,
    };
    Ok(Network {
        addr,
        addrs,
        tls,
        limits: Limits {
            body_bytes: args.max_body_mib << 20,
            idle_time: Duration::from_secs(args.idle_seconds),
            request_time: Duration::from_secs(args.request_seconds),
            connections: args.max_connections,
            ..Limits::default()
        },
        signer,
    })
}

impl Network {
    /// Binds the address, says where it serves, and gives the serving
    /// future (until `stop`).
    pub async fn serve(
        self,
        ctx: &Ctx<'_>,
        app: App,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
        let listener = tokio::net::TcpListener::bind(&self.addrs[..])
            .await
            .map_err(|e| Error::io(format!("--listen {}: binding the address", self.addr), e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        ctx.out(&format!(
            "serving {} at {scheme}://{bound} (stop with Ctrl-C)\n",
            ctx.shown_db()
        ))?;
        let router = claims_server::router(app);
        Ok(claims_server::listen::serve_tcp(
            router,
            self.limits,
            listener,
            self.tls,
            stop,
        ))
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
