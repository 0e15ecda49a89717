//! TLS for the connection, through rustls (ring): `prefer` (the default)
//! and `require` encrypt without checking the certificate (as libpq does),
//! `verify-ca` checks it against the web's roots (webpki-roots) or the PEM
//! file `sslrootcert` names, and `verify-full` the host name as well.

use std::path::Path;
use std::sync::Arc;

use claims_core::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn builder(
    provider: Arc<CryptoProvider>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>> {
    ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid(format!("TLS cannot be set up: {e}")))
}

/// `sslmode=require`: encrypted, the server's certificate taken as it is.
pub fn encrypt_only() -> Result<MakeRustlsConnect> {
    let p = provider();
    let config = builder(p.clone())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Lenient {
            chain: None,
            provider: p,
        }))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `sslmode=verify-ca`: the certificate checked; `verify-full` (`host`):
/// its host name too.
pub fn verifying(root: Option<&Path>, host: bool) -> Result<MakeRustlsConnect> {
    let mut roots = rustls::RootCertStore::empty();
    match root {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path).map_err(|_| {
                Error::invalid(format!(
                    "the sslrootcert file {} cannot be read as PEM certificates",
                    path.display()
                ))
            })?;
            let mut n = 0;
            for c in certs {
                n += 1;
                let c = c.map_err(|_| {
                    Error::invalid(format!(
                        "the sslrootcert file {} holds a certificate that does not read",
                        path.display()
                    ))
                })?;
                roots.add(c).map_err(|e| {
                    Error::invalid(format!(
                        "the sslrootcert file {} holds a certificate rustls refuses: {e}",
                        path.display()
                    ))
                })?;
            }
            if n == 0 {
                return Err(Error::invalid(format!(
                    "the sslrootcert file {} holds no PEM certificate",
                    path.display()
                )));
            }
        }
    }
    let p = provider();
    let config = if host {
        builder(p)?
            .with_root_certificates(roots)
            .with_no_client_auth()
    } else {
        let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), p.clone())
            .build()
            .map_err(|e| Error::invalid(format!("TLS cannot be set up: {e}")))?;
        builder(p.clone())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient {
                chain: Some(chain),
                provider: p,
            }))
            .with_no_client_auth()
    };
    Ok(MakeRustlsConnect::new(config))
}

/// A verifier that asks less than webpki: with no `chain`, any certificate
/// (`prefer`, `require`); with one, a certificate that chains to its roots,
/// whatever name it gives (`verify-ca`, as libpq: webpki compares the name
/// only after the chain passed). The handshake's signatures are checked
/// either way.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
