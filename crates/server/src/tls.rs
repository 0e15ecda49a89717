//! TLS for the network listener: a rustls server configuration from a
//! certificate chain and a private key in PEM (the operator's files, read by
//! the caller).

use std::sync::Arc;

use claims_core::{Error, Result};
use tokio_rustls::rustls;
pub use tokio_rustls::rustls::ServerConfig;

/// A rustls configuration from PEM bytes: `cert` the chain (leaf first),
/// `key` its private key (PKCS #8, PKCS #1 or SEC1).
pub fn config(cert: &[u8], key: &[u8]) -> Result<Arc<ServerConfig>> {
    let chain: Vec<_> = rustls_pemfile::certs(&mut &cert[..])
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::invalid(format!(
                "--tls-cert: the certificate does not read as PEM ({e})"
            ))
        })?;
    if chain.is_empty() {
        return Err(Error::invalid(
            "--tls-cert: the file holds no PEM certificate",
        ));
    }
    let key = rustls_pemfile::private_key(&mut &key[..])
        .map_err(|e| Error::invalid(format!("--tls-key: the key does not read as PEM ({e})")))?
        .ok_or_else(|| Error::invalid("--tls-key: the file holds no PEM private key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            Error::invalid(format!(
                "--tls-key: the key does not go with the certificate, or is not supported ({e})"
            ))
        })?;
    let mut config = config;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
