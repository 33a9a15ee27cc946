//! rustls client configurations from a [`TlsConfig`], for the native drivers.
//!
//! Built on the `ring` provider explicitly, so nothing depends on which crypto back end a
//! process installed as its default.
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::connection::TlsConfig;
use crate::error::{AddonError, Result};

fn bad(what: &str, e: impl std::fmt::Display) -> AddonError {
    AddonError::Invalid(format!("TLS {what}: {e}"))
}

/// A client config: verify with `ca_pem` (or the web PKI roots when none is given), or not at
/// all when `insecure_skip_verify`; present the client certificate when one is given.
pub fn client_config(tls: &TlsConfig) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("protocol versions", e))?;
    let builder = if tls.insecure_skip_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        match &tls.ca_pem {
            Some(pem) => {
                for c in rustls_pemfile::certs(&mut pem.as_bytes()) {
                    roots.add(c.map_err(|e| bad("CA bundle", e))?).map_err(|e| bad("CA bundle", e))?;
                }
                if roots.is_empty() {
                    return Err(bad("CA bundle", "no certificate in the PEM"));
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots)
    };
    match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) => {
            let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert.as_bytes())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad("client certificate", e))?;
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key.as_bytes())
                .map_err(|e| bad("client key", e))?
                .ok_or_else(|| bad("client key", "no private key in the PEM"))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| bad("client certificate", e))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(bad("client certificate", "give both the certificate and its key")),
    }
}

/// Accepts any server certificate (AppBinding `insecureSkipTLSVerify: true`); signatures are
/// still checked so the handshake is well-formed.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_build_or_explain() {
        assert!(client_config(&TlsConfig::default()).is_ok());
        assert!(client_config(&TlsConfig { insecure_skip_verify: true, ..Default::default() }).is_ok());
        let e = client_config(&TlsConfig { ca_pem: Some("not a pem".into()), ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("CA bundle"), "{e}");
        let e = client_config(&TlsConfig { client_cert_pem: Some(String::new()), ..Default::default() }).unwrap_err();
        assert!(e.to_string().contains("both"), "{e}");
    }
}
