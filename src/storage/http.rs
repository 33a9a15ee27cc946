//! The one HTTP stack of every remote backend: reqwest on rustls with the ring provider.
//!
//! OpenDAL's own default transport is left out (no `http-transport-reqwest` feature, which
//! would pull aws-lc-rs as a second crypto back end); each operator gets a client built here,
//! so a private CA (`CA_CERT_DATA`) and `insecureTLS` apply the same way to S3, GCS, Azure,
//! Swift, B2 and our REST client. Retries, timeouts and the connection limit are layered on
//! here too, so every service behaves alike.
use std::time::Duration;

use opendal::layers::{ConcurrentLimitLayer, RetryLayer, TimeoutLayer};
use opendal::{HttpTransporter, OperationContext, Operator};
use opendal_http_transport_reqwest::ReqwestTransport;

use super::backends::StorageError;

/// TLS settings of a backend.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept any server certificate (Stash's `s3.insecureTLS`, restic's `--insecure-tls`).
    pub insecure: bool,
    /// Extra trusted roots, PEM (the Secret's `CA_CERT_DATA`, restic's `--cacert`).
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("insecure", &self.insecure)
            .field(
                "ca_cert_pem",
                &self
                    .ca_cert_pem
                    .as_ref()
                    .map(|c| format!("{} bytes", c.len())),
            )
            .finish()
    }
}

/// How often and how patiently a transient failure is retried: exponential backoff with
/// jitter, 0.5 s doubling to at most 16 s, 8 retries (about a minute and a half in all), so a
/// server restart or a short outage is ridden out while a dead server still fails in time.
pub const RETRY_MAX_TIMES: usize = 8;
pub const RETRY_MIN_DELAY: Duration = Duration::from_millis(500);
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(16);

/// Install ring as the process' rustls provider unless one is installed already (a binary may
/// have chosen; then that one is used and nothing is compiled twice on our side).
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A reqwest client for one backend.
pub fn client(tls: &TlsOptions) -> Result<reqwest::Client, StorageError> {
    ensure_crypto_provider();
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("stash/", env!("CARGO_PKG_VERSION")));
    if tls.insecure {
        b = b.tls_danger_accept_invalid_certs(true);
    }
    if let Some(pem) = &tls.ca_cert_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            StorageError::Tls(format!("CA_CERT_DATA is not a PEM certificate bundle: {e}"))
        })?;
        if certs.is_empty() {
            return Err(StorageError::Tls(
                "CA_CERT_DATA holds no PEM certificate".into(),
            ));
        }
        b = b.tls_certs_merge(certs);
    }
    b.build()
        .map_err(|e| StorageError::Tls(format!("building the HTTPS client: {e}")))
}

/// The retry policy as an OpenDAL layer: it retries errors OpenDAL marks temporary (5xx,
/// throttling, dropped connections, timeouts) and never permanent ones (403, 404).
pub fn retry_layer() -> RetryLayer {
    RetryLayer::new()
        .with_jitter()
        .with_factor(2.0)
        .with_min_delay(RETRY_MIN_DELAY)
        .with_max_delay(RETRY_MAX_DELAY)
        .with_max_times(RETRY_MAX_TIMES)
}

/// Give an HTTP operator our client, timeouts, the connection limit and retries.
/// Layer order, inside out: timeout, concurrency limit, retry — a retry waits without holding
/// a connection slot, and a hung request times out into a retry.
pub fn finish(op: Operator, client: reqwest::Client, max_connections: Option<usize>) -> Operator {
    let ctx = OperationContext::new()
        .with_http_transport(HttpTransporter::new(ReqwestTransport::new(client)));
    let mut op = op.with_context(ctx).layer(
        TimeoutLayer::new()
            .with_timeout(Duration::from_secs(120))
            .with_io_timeout(Duration::from_secs(60)),
    );
    if let Some(n) = max_connections.filter(|n| *n > 0) {
        op = op.layer(ConcurrentLimitLayer::new(n));
    }
    op.layer(retry_layer())
}

/// Delay before retry number `attempt` (0-based) for our own HTTP client (the REST backend),
/// the same policy as [`retry_layer`]: full jitter over an exponential window.
pub fn backoff(attempt: usize) -> Duration {
    use rand::Rng;
    let base = RETRY_MIN_DELAY.as_millis() as u64;
    let cap = RETRY_MAX_DELAY.as_millis() as u64;
    let window = base.saturating_mul(1u64 << attempt.min(16)).min(cap);
    // Never less than half the window: a retry should not hammer a server that just failed.
    let ms = rand::thread_rng().gen_range(window / 2..=window);
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..12 {
            let d = backoff(attempt);
            let window = (500u64 << attempt).min(16_000);
            assert!(
                d.as_millis() as u64 >= window / 2 && d.as_millis() as u64 <= window,
                "{attempt}: {d:?}"
            );
        }
    }

    #[test]
    fn bad_ca_is_a_clear_error() {
        let e = client(&TlsOptions {
            insecure: false,
            ca_cert_pem: Some(b"not a pem".to_vec()),
        })
        .unwrap_err();
        assert!(e.to_string().contains("CA_CERT_DATA"), "{e}");
        assert!(client(&TlsOptions {
            insecure: true,
            ca_cert_pem: None
        })
        .is_ok());
    }
}
