//! `rest`: restic's REST protocol (rest-server, `rclone serve restic`), a client of our own —
//! OpenDAL has no service for it.
//!
//! The protocol: `HEAD|GET|POST /config`, `GET /<type>/` lists (v2: JSON `[{name, size}]`
//! when asked with `Accept: application/vnd.x.restic.rest.v2`, v1: JSON names),
//! `HEAD|GET|POST|DELETE /<type>/<name>` (packs are `data/<name>`; the server lays them out),
//! `POST /?create=true` makes a repository. Reads of part of a file use `Range`.
//!
//! Retries follow the same policy as OpenDAL's RetryLayer on the other backends
//! ([`http::backoff`]): connection failures, timeouts, 408, 429 and 5xx are retried with
//! jittered exponential backoff; 401, 403 and 404 never are. A failed body read retries the
//! whole request. `maxConnections`-like limits come from [`RestConfig::connections`].
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::StorageError;
use crate::api::repository::RestServerSpec;
use crate::engine::backend::{Backend, BackendError, ErrorKind, FileInfo, FileType};
use crate::storage::http::{self, TlsOptions, RETRY_MAX_TIMES};
use crate::storage::secret::{Credentials, Redactor, Sensitive};

#[derive(Clone)]
pub struct RestConfig {
    /// The repository's URL, without user info, ending in `/`.
    pub url: Url,
    pub username: Option<Sensitive>,
    pub password: Option<Sensitive>,
    pub ca_cert_pem: Option<Vec<u8>>,
    /// Concurrent requests at most (none: unbounded).
    pub connections: Option<usize>,
}

impl std::fmt::Debug for RestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestConfig")
            .field("url", &self.url.as_str())
            .field("username", &self.username.as_ref().map(|_| "***"))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("connections", &self.connections)
            .finish()
    }
}

const V2: &str = "application/vnd.x.restic.rest.v2";

impl RestConfig {
    /// User info in the URL (restic's `rest:http://user:pass@host/`) is taken out of it and
    /// wins over `REST_SERVER_USERNAME`/`REST_SERVER_PASSWORD` (Stash injects those into the
    /// URL for restic; we send them as a header instead).
    pub fn new(spec: &RestServerSpec, creds: &dyn Credentials) -> Result<RestConfig, StorageError> {
        let raw = spec.required_url()?.trim();
        let mut url = Url::parse(raw).map_err(|e| {
            // The parse error never echoes the URL, which may hold a password.
            StorageError::invalid(
                "rest",
                format!(
                    "url is not a URL ({e}): set spec.backend.rest.url to http(s)://host:port/path"
                ),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(StorageError::invalid(
                "rest",
                "url must start with http:// or https://",
            ));
        }
        let in_url_user =
            (!url.username().is_empty()).then(|| Sensitive::new(pct_decode(url.username())));
        let in_url_pass = url.password().map(|p| Sensitive::new(pct_decode(p)));
        let _ = url.set_username("");
        let _ = url.set_password(None);
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        let username = in_url_user.or_else(|| creds.optional("REST_SERVER_USERNAME"));
        let password = in_url_pass.or_else(|| creds.optional("REST_SERVER_PASSWORD"));
        Ok(RestConfig {
            url,
            username,
            password,
            ca_cert_pem: creds
                .optional("CA_CERT_DATA")
                .map(|c| c.expose().as_bytes().to_vec()),
            connections: None,
        })
    }

    /// `rest:<url>`, without user info.
    pub fn location(&self) -> String {
        format!("rest:{}", self.url)
    }

    pub fn redactor(&self) -> Redactor {
        Redactor::new(self.username.iter().chain(&self.password))
    }

    pub fn build(&self) -> Result<RestBackend, StorageError> {
        let client = http::client(&TlsOptions {
            insecure: false,
            ca_cert_pem: self.ca_cert_pem.clone(),
        })?;
        Ok(RestBackend {
            client,
            config: self.clone(),
            location: self.location(),
            redactor: self.redactor(),
            limit: self
                .connections
                .filter(|n| *n > 0)
                .map(|n| Arc::new(Semaphore::new(n))),
        })
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct RestBackend {
    client: reqwest::Client,
    config: RestConfig,
    location: String,
    redactor: Redactor,
    limit: Option<Arc<Semaphore>>,
}

impl std::fmt::Debug for RestBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestBackend")
            .field("location", &self.location)
            .finish()
    }
}

#[derive(Deserialize)]
struct V2Entry {
    name: String,
    size: u64,
}

impl RestBackend {
    fn rel(t: FileType, name: &str) -> String {
        match t {
            FileType::Config => "config".to_string(),
            t => format!("{}/{}", t.dir(), name),
        }
    }

    fn url(&self, rel: &str) -> Url {
        self.config.url.join(rel).expect("relative path joins")
    }

    fn req(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        let b = self.client.request(method, url);
        match &self.config.username {
            Some(u) => b.basic_auth(
                u.expose(),
                self.config.password.as_ref().map(|p| p.expose()),
            ),
            None => b,
        }
    }

    fn err(&self, kind: ErrorKind, op: &'static str, path: &str, message: String) -> BackendError {
        BackendError {
            kind,
            op,
            path: path.to_string(),
            location: self.location.clone(),
            message: self.redactor.redact(&message),
        }
    }

    fn status_err(
        &self,
        op: &'static str,
        path: &str,
        status: StatusCode,
        body: &str,
    ) -> BackendError {
        let kind = match status.as_u16() {
            401 | 403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            413 | 507 => ErrorKind::StorageFull,
            408 | 429 | 500..=599 => ErrorKind::Temporary,
            _ => ErrorKind::Other,
        };
        let message = match kind {
            ErrorKind::PermissionDenied => format!(
                "the REST server refused access ({status}): check REST_SERVER_USERNAME/REST_SERVER_PASSWORD (restic: RESTIC_REST_USERNAME/RESTIC_REST_PASSWORD)"
            ),
            ErrorKind::NotFound => "not found".into(),
            ErrorKind::StorageFull => format!("storage is full: the REST server answered {status}"),
            _ => format!("the REST server answered {status}: {}", body.trim().chars().take(200).collect::<String>()),
        };
        self.err(kind, op, path, message)
    }

    fn send_err(&self, op: &'static str, path: &str, e: reqwest::Error) -> BackendError {
        let kind =
            if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() || e.is_decode() {
                ErrorKind::Temporary
            } else {
                ErrorKind::Other
            };
        // Print the error chain: reqwest's top line alone says little ("error sending request").
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        self.err(kind, op, path, msg)
    }

    /// Run one request (and the read of its answer) with retries of temporary failures.
    async fn retry<T, F, Fut>(&self, op: &'static str, path: &str, f: F) -> Result<T, BackendError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, BackendError>>,
    {
        let mut attempt = 0;
        loop {
            let permit = match &self.limit {
                Some(s) => Some(
                    s.clone()
                        .acquire_owned()
                        .await
                        .expect("semaphore is never closed"),
                ),
                None => None,
            };
            let r = f().await;
            drop(permit);
            match r {
                Err(e) if e.is_retryable() && attempt < RETRY_MAX_TIMES => {
                    let wait = http::backoff(attempt);
                    tracing::warn!(location = %self.location, op, path, attempt = attempt + 1, ?wait, error = %e.message, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(mut e) if e.is_retryable() => {
                    e.message = format!(
                        "temporary failure, {} retries exhausted: {}",
                        RETRY_MAX_TIMES, e.message
                    );
                    return Err(e);
                }
                r => return r,
            }
        }
    }

    /// GET a whole file or a range of it; `None` when it does not exist.
    async fn get(
        &self,
        op: &'static str,
        rel: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<Bytes>, BackendError> {
        self.retry(op, rel, || async move {
            let mut r = self.req(reqwest::Method::GET, self.url(rel));
            if let Some((off, len)) = range {
                r = r.header("range", format!("bytes={}-{}", off, off + len - 1));
            }
            let resp = r.send().await.map_err(|e| self.send_err(op, rel, e))?;
            let status = resp.status();
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(self.status_err(op, rel, status, &body));
            }
            let body = resp.bytes().await.map_err(|e| self.send_err(op, rel, e))?;
            Ok(Some(body))
        })
        .await
    }
}

#[async_trait]
impl Backend for RestBackend {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn create(&self) -> Result<(), BackendError> {
        let mut url = self.config.url.clone();
        url.set_query(Some("create=true"));
        let url = &url;
        self.retry("creating", "", || async move {
            let resp = self
                .req(reqwest::Method::POST, url.clone())
                .send()
                .await
                .map_err(|e| self.send_err("creating", "", e))?;
            let status = resp.status();
            if status.is_success() {
                Ok(())
            } else {
                let body = resp.text().await.unwrap_or_default();
                Err(self.status_err("creating", "", status, &body))
            }
        })
        .await
    }

    async fn list(&self, t: FileType) -> Result<Vec<FileInfo>, BackendError> {
        let rel_s = format!("{}/", t.dir());
        let rel = rel_s.as_str();
        let body = self
            .retry("listing", rel, || async move {
                let resp = self
                    .req(reqwest::Method::GET, self.url(rel))
                    .header("accept", V2)
                    .send()
                    .await
                    .map_err(|e| self.send_err("listing", rel, e))?;
                let status = resp.status();
                if status == StatusCode::NOT_FOUND {
                    return Ok(None);
                }
                if !status.is_success() {
                    let body = resp.text().await.unwrap_or_default();
                    return Err(self.status_err("listing", rel, status, &body));
                }
                let v2 = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| c.starts_with(V2));
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| self.send_err("listing", rel, e))?;
                Ok(Some((v2, body)))
            })
            .await?;
        let Some((v2, body)) = body else {
            return Ok(Vec::new());
        };
        let bad = |e: serde_json::Error| {
            self.err(
                ErrorKind::Other,
                "listing",
                rel,
                format!("unexpected answer: {e}"),
            )
        };
        let mut out = Vec::new();
        if v2 {
            let entries: Vec<V2Entry> = serde_json::from_slice(&body).map_err(bad)?;
            out.extend(entries.into_iter().map(|e| FileInfo {
                name: e.name,
                size: e.size,
            }));
        } else {
            // Protocol v1: names only; ask each file's size.
            let names: Vec<String> = serde_json::from_slice(&body).map_err(bad)?;
            for name in names {
                if let Some(size) = self.stat(t, &name).await? {
                    out.push(FileInfo { name, size });
                }
            }
        }
        out.retain(|f| f.name.len() == 64 && f.name.bytes().all(|b| b.is_ascii_hexdigit()));
        Ok(out)
    }

    async fn read(&self, t: FileType, name: &str) -> Result<Bytes, BackendError> {
        let rel = Self::rel(t, name);
        self.get("reading", &rel, None)
            .await?
            .ok_or_else(|| self.err(ErrorKind::NotFound, "reading", &rel, "not found".into()))
    }

    async fn read_range(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, BackendError> {
        let rel = Self::rel(t, name);
        if len == 0 {
            return Ok(Bytes::new());
        }
        let b = self
            .get("reading", &rel, Some((offset, len)))
            .await?
            .ok_or_else(|| self.err(ErrorKind::NotFound, "reading", &rel, "not found".into()))?;
        if b.len() as u64 != len {
            return Err(self.err(
                ErrorKind::Other,
                "reading",
                &rel,
                format!(
                    "short read: wanted {len} bytes at offset {offset}, got {}",
                    b.len()
                ),
            ));
        }
        Ok(b)
    }

    async fn write(&self, t: FileType, name: &str, data: Bytes) -> Result<(), BackendError> {
        let rel_s = Self::rel(t, name);
        let rel = rel_s.as_str();
        let data = &data;
        self.retry("writing", rel, || async move {
            let resp = self
                .req(reqwest::Method::POST, self.url(rel))
                .header("content-type", "application/octet-stream")
                .body(data.clone())
                .send()
                .await
                .map_err(|e| self.send_err("writing", rel, e))?;
            let status = resp.status();
            if status.is_success() {
                Ok(())
            } else {
                let body = resp.text().await.unwrap_or_default();
                Err(self.status_err("writing", rel, status, &body))
            }
        })
        .await
    }

    async fn remove(&self, t: FileType, name: &str) -> Result<(), BackendError> {
        let rel_s = Self::rel(t, name);
        let rel = rel_s.as_str();
        self.retry("removing", rel, || async move {
            let resp = self
                .req(reqwest::Method::DELETE, self.url(rel))
                .send()
                .await
                .map_err(|e| self.send_err("removing", rel, e))?;
            let status = resp.status();
            if status.is_success() || status == StatusCode::NOT_FOUND {
                Ok(())
            } else {
                let body = resp.text().await.unwrap_or_default();
                Err(self.status_err("removing", rel, status, &body))
            }
        })
        .await
    }

    async fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>, BackendError> {
        let rel_s = Self::rel(t, name);
        let rel = rel_s.as_str();
        self.retry("checking", rel, || async move {
            let resp = self
                .req(reqwest::Method::HEAD, self.url(rel))
                .send()
                .await
                .map_err(|e| self.send_err("checking", rel, e))?;
            let status = resp.status();
            if status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                return Err(self.status_err("checking", rel, status, ""));
            }
            let len = resp
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    self.err(
                        ErrorKind::Other,
                        "checking",
                        rel,
                        "the answer has no Content-Length".into(),
                    )
                })?;
            Ok(Some(len))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::backends::stub::{Reply, Stub};
    use crate::storage::secret::{EnvCredentials, StorageSecret};

    #[test]
    fn user_info_leaves_the_url() {
        let c = RestConfig::new(
            &RestServerSpec {
                url: Some("http://alice:p%40ss-word@127.0.0.1:8000/repo".into()),
            },
            &StorageSecret::default(),
        )
        .unwrap();
        assert_eq!(c.location(), "rest:http://127.0.0.1:8000/repo/");
        assert_eq!(c.username.as_ref().unwrap().expose(), "alice");
        assert_eq!(c.password.as_ref().unwrap().expose(), "p@ss-word");
        let d = format!("{c:?}");
        assert!(!d.contains("p@ss") && !d.contains("p%40ss"), "{d}");
    }

    #[test]
    fn stash_keys_and_restics_env() {
        let spec = RestServerSpec {
            url: Some("https://rest.example/".into()),
        };
        let s = StorageSecret::from_strings([
            ("REST_SERVER_USERNAME", "bob"),
            ("REST_SERVER_PASSWORD", "hunter22"),
        ]);
        let c = RestConfig::new(&spec, &s).unwrap();
        assert_eq!(
            (c.username.unwrap().expose(), c.password.unwrap().expose()),
            ("bob", "hunter22")
        );
        let env = EnvCredentials::from_fn(|k| match k {
            "RESTIC_REST_USERNAME" => Some("carol".into()),
            "RESTIC_REST_PASSWORD" => Some("pw12345".into()),
            _ => None,
        });
        let c = RestConfig::new(&spec, &env).unwrap();
        assert_eq!(c.username.unwrap().expose(), "carol");
        let e = RestConfig::new(
            &RestServerSpec {
                url: Some("ftp://x:secretpw@h/".into()),
            },
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(!e.contains("secretpw"), "{e}");
        let e = RestConfig::new(
            &RestServerSpec {
                url: Some("not a url secretpw".into()),
            },
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            !e.contains("secretpw") && e.contains("spec.backend.rest.url"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn retries_5xx_but_not_401() {
        let stub = Stub::start(vec![
            Reply::new(503, "busy"),
            Reply::new(200, "hello"),
            Reply::new(401, "who are you"),
        ])
        .await;
        let s = StorageSecret::from_strings([
            ("REST_SERVER_USERNAME", "u"),
            ("REST_SERVER_PASSWORD", "pw-987654"),
        ]);
        let b = RestConfig::new(
            &RestServerSpec {
                url: Some(format!("{}/repo", stub.base)),
            },
            &s,
        )
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(&b.read(FileType::Config, "").await.unwrap()[..], b"hello");
        let e = b.read(FileType::Key, &"ab".repeat(32)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::PermissionDenied);
        assert!(!e.to_string().contains("pw-987654"));
        let reqs = stub.requests();
        assert_eq!(reqs.len(), 3, "one retry of the 503, none of the 401");
        assert_eq!(reqs[0].path, "/repo/config");
        assert_eq!(reqs[2].path, format!("/repo/keys/{}", "ab".repeat(32)));
        use base64::Engine as _;
        assert_eq!(
            reqs[0].headers["authorization"],
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("u:pw-987654")
            )
        );
    }

    #[tokio::test]
    async fn list_v2_and_range_read_shapes() {
        let id = "cd".repeat(32);
        let stub = Stub::start(vec![
            Reply::new(
                200,
                format!(r#"[{{"name":"{id}","size":42}},{{"name":"junk","size":1}}]"#),
            )
            .header("content-type", V2),
            Reply::new(206, "0123"),
        ])
        .await;
        let b = RestConfig::new(
            &RestServerSpec {
                url: Some(stub.base.clone()),
            },
            &StorageSecret::default(),
        )
        .unwrap()
        .build()
        .unwrap();
        assert_eq!(
            b.list(FileType::Pack).await.unwrap(),
            vec![FileInfo {
                name: id.clone(),
                size: 42
            }]
        );
        assert_eq!(
            &b.read_range(FileType::Pack, &id, 10, 4).await.unwrap()[..],
            b"0123"
        );
        let reqs = stub.requests();
        assert_eq!(
            (reqs[0].path.as_str(), reqs[0].headers["accept"].as_str()),
            ("/data/", V2)
        );
        assert_eq!(
            (reqs[1].path.as_str(), reqs[1].headers["range"].as_str()),
            (format!("/data/{id}").as_str(), "bytes=10-13")
        );
        assert!(!reqs[0].headers.contains_key("authorization"));
    }
}
