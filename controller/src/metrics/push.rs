//! The Pushgateway client: HTTP POST of the text format to `<url>/metrics/job/<job>` with the
//! workspace's one HTTP client. POST (not PUT) replaces the job's metrics of the same names
//! and keeps the rest, as Stash pushes.
use std::time::Duration;

/// How long one push may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Tries of a push that failed for a reason that may pass (no connection, a 5xx).
const ATTEMPTS: u32 = 3;

/// A Pushgateway's base URL (`http://pushgateway:9091`).
#[derive(Clone)]
pub struct Pushgateway {
    url: reqwest::Url,
    client: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(
        "the Pushgateway URL {url:?} is not an http(s) URL: give one like http://127.0.0.1:9091"
    )]
    BadUrl { url: String },
    #[error("building the HTTP client")]
    Client(#[source] stash::storage::StorageError),
    #[error("pushing to {url}: {message}")]
    Push { url: String, message: String },
}

impl Pushgateway {
    pub fn new(url: &str) -> Result<Pushgateway, PushError> {
        let bad = || PushError::BadUrl { url: redact(url) };
        let parsed = reqwest::Url::parse(url.trim_end_matches('/')).map_err(|_| bad())?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(bad());
        }
        let client =
            stash::storage::http::client(&Default::default()).map_err(PushError::Client)?;
        Ok(Pushgateway {
            url: parsed,
            client,
        })
    }

    /// POSTs `body` (text format 0.0.4) as job `job`'s metrics.
    pub async fn push(&self, job: &str, body: String) -> Result<(), PushError> {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|_| PushError::BadUrl {
                url: self.to_string(),
            })?
            .pop_if_empty()
            .extend(["metrics", "job", job]);
        let shown = format!("{self}/metrics/job/{job}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)
                .body(body.clone())
                .timeout(TIMEOUT)
                .send()
                .await;
            let (message, again) = match sent {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    let text = text.trim();
                    (
                        format!("the Pushgateway answered {status}: {text}"),
                        status.is_server_error(),
                    )
                }
                Err(e) => (error_chain(&e), !e.is_builder()),
            };
            if !again || attempt >= ATTEMPTS {
                return Err(PushError::Push {
                    url: shown,
                    message,
                });
            }
            tokio::time::sleep(Duration::from_millis(500) * attempt).await;
        }
    }
}

/// The URL as messages show it: without a user's password.
impl std::fmt::Display for Pushgateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(redact(self.url.as_str()).trim_end_matches('/'))
    }
}

impl std::fmt::Debug for Pushgateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pushgateway({self})")
    }
}

/// `url` with any password replaced by `***` (a Pushgateway behind basic auth).
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Not a URL: show no more than its scheme and host part could leak.
        Err(_) => url
            .rsplit_once('@')
            .map_or_else(|| url.to_string(), |(_, host)| format!("***@{host}")),
    }
}

/// An error and its causes, `: `-joined (reqwest's own text says only "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_passwords_never_shown() {
        let gw = Pushgateway::new("http://stash:s3cret@127.0.0.1:9091/").unwrap();
        assert_eq!(gw.to_string(), "http://stash:***@127.0.0.1:9091");
        assert!(!format!("{gw:?}").contains("s3cret"));
        for bad in [
            "127.0.0.1:9091",
            "ftp://x:9091",
            "not a url",
            "http://u:pw@",
        ] {
            let e = Pushgateway::new(bad).unwrap_err().to_string();
            assert!(e.contains("http://127.0.0.1:9091"), "{e}");
            assert!(!e.contains("pw@"), "{e}");
        }
    }
}
