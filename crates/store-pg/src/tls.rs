//! TLS for the connection, through rustls (ring): `require` encrypts
//! without checking the certificate (as libpq does), `verify-ca` and
//! `verify-full` check it against the web's roots (webpki-roots) or the
//! PEM file `sslrootcert` names, and the host name.

use std::path::Path;
use std::sync::Arc;

use claims_core::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
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
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(p)))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `sslmode=verify-ca` / `verify-full`: the certificate and host name checked.
pub fn verifying(root: Option<&Path>) -> Result<MakeRustlsConnect> {
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
    let config = builder(provider())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Takes any certificate; still checks the handshake's signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
