//! rustls client configurations from a [`TlsConfig`], for the native drivers, a TLS
//! connector for drivers that take a ready stream (Redis), and the classification of TLS
//! failures.
//!
//! Built on the `ring` provider explicitly, so nothing depends on which crypto back end a
//! process installed as its default. A failed certificate check is [`AddonError::Tls`], not a
//! connection error: waiting will not make the server's certificate match the CA, so the
//! readiness wait stops at once, and the message points at the AppBinding fields to fix.
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

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
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else if tls.skip_hostname_check {
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots(tls)?),
            provider,
        )
        .build()
        .map_err(|e| bad("CA bundle", e))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyName(verifier)))
    } else {
        builder.with_root_certificates(roots(tls)?)
    };
    match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) => {
            let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert.as_bytes())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad("client certificate", e))?;
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key.as_bytes())
                .map_err(|e| bad("client key", e))?
                .ok_or_else(|| bad("client key", "no private key in the PEM"))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| bad("client certificate", e))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(bad(
            "client certificate",
            "give both the certificate and its key",
        )),
    }
}

/// The trust anchors: the CA bundle's certificates, or the web PKI roots without one.
fn roots(tls: &TlsConfig) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match &tls.ca_pem {
        Some(pem) => {
            for c in rustls_pemfile::certs(&mut pem.as_bytes()) {
                roots
                    .add(c.map_err(|e| bad("CA bundle", e))?)
                    .map_err(|e| bad("CA bundle", e))?;
            }
            if roots.is_empty() {
                return Err(bad("CA bundle", "no certificate in the PEM"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(roots)
}

/// The name the server's certificate must hold: AppBinding `serverName`, else the host.
pub fn server_name(host: &str, tls: &TlsConfig) -> Result<ServerName<'static>> {
    let name = tls
        .server_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(host);
    ServerName::try_from(name.to_string()).map_err(|e| bad(&format!("server name {name:?}"), e))
}

/// TCP to `host:port`, then a TLS handshake per `tls`. A refused or timed-out TCP connection
/// is [`AddonError::Connect`] (retryable); a handshake that rustls rejects is
/// [`AddonError::Tls`].
pub async fn connect(
    addon: &'static str,
    host: &str,
    port: u16,
    tls: &TlsConfig,
    timeout: Duration,
) -> Result<TlsStream<TcpStream>> {
    let target = format!("{host}:{port}");
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(tls)?));
    let name = server_name(host, tls)?;
    let connect = |e: std::io::Error| AddonError::Connect {
        addon,
        target: target.clone(),
        source: Box::new(e),
    };
    let timed_out = || {
        connect(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {}s", timeout.as_secs()),
        ))
    };
    let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| timed_out())?
        .map_err(connect)?;
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Err(_) => Err(timed_out()),
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(match rustls_cause(&e) {
            Some(r) => tls_failed(addon, target.clone(), r),
            None => connect(e),
        }),
    }
}

/// The rustls error somewhere in `e`'s causes. `io::Error` hides the error it wraps from
/// `source()` (it skips to that error's own source), and so does an `Arc<dyn Error>` (the
/// redis crate's wrapping of io errors), so those levels are opened by hand.
pub fn rustls_cause<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        let inner: Option<&'a (dyn StdError + 'static)> =
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                io.get_ref().map(|i| i as &(dyn StdError + 'static))
            } else {
                err.downcast_ref::<Arc<dyn StdError + Send + Sync>>()
                    .map(|a| &**a as &(dyn StdError + 'static))
            };
        if let Some(r) = inner.and_then(rustls_cause) {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// [`AddonError::Tls`] for a rustls failure, with the fix that fits it.
pub fn tls_failed(addon: &'static str, target: String, e: &rustls::Error) -> AddonError {
    use rustls::AlertDescription as A;
    let hint = match e {
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }) => {
            "the server's certificate does not hold the name we connect to: set the AppBinding's spec.clientConfig.serverName to a name it holds"
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            "the server's certificate is not signed by a CA in the AppBinding's spec.clientConfig.caBundle"
        }
        rustls::Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. } | CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }) => {
            "the server's certificate is outside its validity period (or this machine's clock is off)"
        }
        rustls::Error::AlertReceived(A::CertificateRequired | A::BadCertificate | A::UnknownCA | A::CertificateUnknown | A::AccessDenied) => {
            "the server wants a client certificate it trusts: check the AppBinding's spec.tlsSecret (tls.crt, tls.key)"
        }
        _ => TLS_HINT,
    };
    AddonError::Tls {
        addon,
        target,
        detail: e.to_string(),
        hint: hint.to_string(),
    }
}

/// What to check when a TLS failure says nothing more specific.
pub const TLS_HINT: &str =
    "check the AppBinding: spec.clientConfig.caBundle must hold the CA that signed the server's certificate, serverName a name in it, and spec.tlsSecret the client certificate if the server wants one";

/// libpq's `sslmode=verify-ca`: the chain must lead to a trusted CA; the name is not checked
/// (webpki checks the name only after the chain, so nothing else is skipped).
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
        {
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
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rustls_errors_inside_io_errors() {
        let inner = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, inner);
        let wrapped = AddonError::Io {
            what: "x".into(),
            source: io,
        };
        let found = rustls_cause(&wrapped).expect("found");
        let e = tls_failed("redis", "h:1".into(), found);
        let text = e.to_string();
        assert!(
            text.contains("TLS with redis at h:1 failed")
                && text.contains("certificate")
                && text.contains("caBundle"),
            "{text}"
        );
        assert!(!e.is_retryable());
        // The redis crate keeps io errors as Arc<dyn Error>.
        let alert = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
        );
        let arc: Arc<dyn StdError + Send + Sync> = Arc::new(alert);
        let found = rustls_cause(&arc).expect("found through the Arc");
        assert!(tls_failed("redis", "h:1".into(), found)
            .to_string()
            .contains("spec.tlsSecret"));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(rustls_cause(&plain).is_none());
        let name = tls_failed(
            "x",
            "h".into(),
            &rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
        );
        assert!(name.to_string().contains("serverName"), "{name}");
    }

    #[test]
    fn configs_build_or_explain() {
        assert!(client_config(&TlsConfig::default()).is_ok());
        assert!(client_config(&TlsConfig {
            insecure_skip_verify: true,
            ..Default::default()
        })
        .is_ok());
        let e = client_config(&TlsConfig {
            ca_pem: Some("not a pem".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("CA bundle"), "{e}");
        let e = client_config(&TlsConfig {
            client_cert_pem: Some(String::new()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("both"), "{e}");
    }
}
