//! The CLI as a client of a claims server (`--db http(s)://HOST[:PORT]`):
//! every request goes to the `/v1` API (docs/api.md) with the account's
//! token, and an error answer comes back as the core error it was, so the
//! command prints the sentence and exits with the code a local one would.
//! Files named on the command line are read and written here, never by the
//! server.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use ureq::http::Response;
use ureq::Body;

use claims_api::error::ErrorBody;
use claims_core::{Error, ErrorKind, Result};

/// The longest answer read whole (a JSON document; NDJSON is streamed).
const MAX_DOCUMENT: u64 = 1 << 30;

/// A server the CLI talks to.
pub struct Remote {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
    /// How errors name it: the server's address, or the ledger whose
    /// socket it is.
    shown: String,
    /// On the ledger's own socket.
    local: bool,
}

/// Whether `db` names a server rather than a ledger directory.
pub fn is_url(db: &str) -> bool {
    db.starts_with("http://") || db.starts_with("https://")
}

impl Remote {
    /// A client of the server at `url` (`http(s)://HOST[:PORT]`, no path).
    pub fn new(url: &str, token: Option<String>, ca: Option<&[u8]>) -> Result<Remote> {
        let base = url.trim_end_matches('/').to_string();
        let rest = base.split_once("://").map_or("", |(_, r)| r);
        if rest.is_empty() || rest.contains('/') || rest.contains('?') || rest.contains('#') {
            return Err(Error::invalid(format!(
                "--db {url}: a server is named by its scheme, host and port only (http://HOST:PORT)"
            )));
        }
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(pem) = ca {
            let cert = ureq::tls::Certificate::from_pem(pem).map_err(|e| {
                Error::invalid(format!("--tls-ca: the file is not a PEM certificate ({e})"))
            })?;
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&[cert]));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .user_agent(concat!("claims/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Remote {
            shown: format!("the claims server at {base}"),
            base,
            token,
            agent,
            local: false,
        })
    }

    /// A client of the server on the socket `path` of the ledger `db`.
    pub fn unix(db: &Path, path: &Path) -> Remote {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .user_agent(concat!("claims/", env!("CARGO_PKG_VERSION")))
            .build();
        Remote {
            base: super::socket::BASE.to_string(),
            token: None,
            agent: super::socket::agent(path, config),
            shown: format!("the ledger server of {}", db.display()),
            local: true,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn unreachable(&self, e: ureq::Error) -> Error {
        if self.local {
            return Error::new(
                ErrorKind::Io,
                format!(
                    "{} stopped before the command finished, so it may or may not have taken effect",
                    self.shown
                ),
            )
            .with_hint("check with `claims log` or run it again (a repeated `append` is a no-op)");
        }
        Error::new(
            ErrorKind::Io,
            format!("could not reach {} ({e})", self.shown),
        )
        .with_hint("check the address, and that `claims serve --listen` runs there")
    }

    /// A GET of `path` with `query`; an error answer is the error.
    pub fn get(&self, path: &str, query: &impl Serialize) -> Result<Response<Body>> {
        let mut req = self.agent.get(self.url(path));
        for (k, v) in pairs(query) {
            req = req.query(k, v);
        }
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        self.answer(req.call())
    }

    /// A POST of `body` (of `content_type`) to `path`.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Result<Response<Body>> {
        let mut req = self
            .agent
            .post(self.url(path))
            .header("Content-Type", content_type);
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        self.answer(req.send(body))
    }

    /// A DELETE of `path`, whose answer is one JSON document.
    pub fn delete_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let mut req = self.agent.delete(self.url(path));
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let mut r = self.answer(req.call())?;
        let bytes = read_all(&mut r, &self.shown)?;
        serde_json::from_slice(&bytes).map_err(|e| self.garbled(e))
    }

    /// A POST of a JSON document, whose answer is one.
    pub fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).expect("JSON");
        self.post_for(path, "application/json", &body)
    }

    /// A POST of `body`, whose answer is one JSON document.
    pub fn post_for<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<T> {
        let mut r = self.post(path, content_type, body)?;
        let bytes = read_all(&mut r, &self.shown)?;
        serde_json::from_slice(&bytes).map_err(|e| self.garbled(e))
    }

    fn answer(
        &self,
        r: std::result::Result<Response<Body>, ureq::Error>,
    ) -> Result<Response<Body>> {
        let mut r = r.map_err(|e| self.unreachable(e))?;
        if r.status().is_success() {
            return Ok(r);
        }
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .unwrap_or_default();
        Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => body.into_error(),
            Err(_) => Error::new(
                ErrorKind::Io,
                format!("{} answered {status} without a claims error", self.shown),
            )
            .with_hint("check that --db names a claims server"),
        })
    }

    /// A GET whose answer is one JSON document, read whole.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &impl Serialize,
    ) -> Result<T> {
        let mut r = self.get(path, query)?;
        let bytes = read_all(&mut r, &self.shown)?;
        serde_json::from_slice(&bytes).map_err(|e| self.garbled(e))
    }

    /// A GET whose answer is copied as it comes, byte for byte.
    pub fn get_bytes(&self, path: &str, query: &impl Serialize) -> Result<Vec<u8>> {
        let mut r = self.get(path, query)?;
        read_all(&mut r, &self.shown)
    }

    /// The answer's body as a reader (NDJSON, streamed).
    pub fn reader(r: Response<Body>) -> impl Read {
        r.into_body().into_reader()
    }

    /// An answer that does not read as the API says.
    pub fn garbled(&self, e: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("{} sent an answer that does not read ({e})", self.shown),
        )
        .with_hint("check that the server runs the same version of claims")
    }
}

fn read_all(r: &mut Response<Body>, base: &str) -> Result<Vec<u8>> {
    r.body_mut()
        .with_config()
        .limit(MAX_DOCUMENT)
        .read_to_vec()
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("the answer of {base} broke off ({e})"),
            )
        })
}

/// The query parameters of a parameter struct: its fields that are set,
/// as strings (`false` flags left out).
fn pairs(query: &impl Serialize) -> Vec<(String, String)> {
    let v = serde_json::to_value(query).unwrap_or(serde_json::Value::Null);
    let mut out = Vec::new();
    if let serde_json::Value::Object(m) = v {
        for (k, v) in m {
            match v {
                serde_json::Value::Null | serde_json::Value::Bool(false) => {}
                serde_json::Value::String(s) => out.push((k, s)),
                other => out.push((k, other.to_string())),
            }
        }
    }
    out
}
