//! Running a hook's handler in local mode, where there is no pod to exec into and no Service
//! in front of the database: `exec` is a command on this machine, `httpGet`/`httpPost` and
//! `tcpSocket` go to their `host` (default 127.0.0.1). Success is Kubernetes' probe rule:
//! exit code 0, an HTTP status from 200 to 399, a TCP connection made in time.
//!
//! `exec` runs `command[0]` with the other words as its arguments, without a shell: a user
//! who wants one writes `["sh", "-c", "…"]`, as in a pod. Exec command words and the httpPost
//! body are rendered against the [`Summary`] first (see [`super::template`]). A failure says
//! what was run and how it ended, with the last lines of its output.
//!
//! HTTP goes through the workspace's one client (`stash::storage::http`: reqwest on rustls);
//! forms are encoded here, as Go's `url.Values.Encode` does, rather than by turning on
//! another reqwest feature.
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::core::v1::HTTPHeader;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use stash::api::hooks::{FormEntry, Handler};

use super::summary::Summary;
use super::template::{render_if_template, TemplateError};

/// How hooks run here.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// Host of httpGet/httpPost/tcpSocket when the hook names none.
    pub default_host: String,
    /// How long an exec command may run.
    pub exec_timeout: Duration,
    /// How long an HTTP request or a TCP connect may take.
    pub net_timeout: Duration,
    /// Lines of output kept in a failed command's message.
    pub tail_lines: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            default_host: "127.0.0.1".into(),
            exec_timeout: Duration::from_secs(600),
            net_timeout: Duration::from_secs(30),
            tail_lines: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("the hook sets no action: set one of exec, httpGet, httpPost, tcpSocket")]
    NoAction,
    #[error("the hook sets {0}: set exactly one action")]
    ManyActions(String),
    #[error("rendering {what}")]
    Template {
        what: String,
        #[source]
        source: TemplateError,
    },
    #[error("exec.command is empty")]
    EmptyCommand,
    #[error("running {program:?}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program:?} exited with code {code}{output}")]
    Exit {
        program: String,
        code: i32,
        output: String,
    },
    #[error("{program:?} was killed by signal {signal}{output}")]
    Killed {
        program: String,
        signal: i32,
        output: String,
    },
    #[error("{program:?} did not finish within {secs}s")]
    Timeout { program: String, secs: u64 },
    #[error("port {0:?} is a named port, and local mode has no container ports to look it up in: use the port number")]
    NamedPort(String),
    #[error("port {0} is out of range (1-65535)")]
    BadPort(i64),
    #[error("scheme {0:?} is not HTTP or HTTPS")]
    BadScheme(String),
    #[error("building the HTTP client")]
    Client(#[source] stash::storage::StorageError),
    #[error("header {0:?} is not a valid HTTP header")]
    BadHeader(String),
    #[error("{method} {url}")]
    Http {
        method: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method} {url} answered {status}{body}")]
    HttpStatus {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    #[error("connecting to {addr}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to {addr}: no answer within {secs}s")]
    ConnectTimeout { addr: String, secs: u64 },
}

/// Runs `handler`, rendered against `summary`.
pub async fn execute(
    handler: &Handler,
    summary: &Summary,
    opts: &ExecOptions,
) -> Result<(), HookError> {
    let set: Vec<&str> = [
        ("exec", handler.exec.is_some()),
        ("httpGet", handler.http_get.is_some()),
        ("httpPost", handler.http_post.is_some()),
        ("tcpSocket", handler.tcp_socket.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect();
    if set.len() > 1 {
        return Err(HookError::ManyActions(set.join(" and ")));
    }
    if let Some(e) = &handler.exec {
        let mut words = Vec::new();
        for (i, w) in e.command.iter().flatten().enumerate() {
            words.push(
                render_if_template(w, summary).map_err(|source| HookError::Template {
                    what: format!("exec.command[{i}]"),
                    source,
                })?,
            );
        }
        return run_command(&words, opts).await;
    }
    if let Some(g) = &handler.http_get {
        let target = HttpTarget {
            scheme: g.scheme.as_deref(),
            host: g.host.as_deref(),
            port: &g.port,
            path: g.path.as_deref(),
            headers: g.http_headers.as_deref().unwrap_or_default(),
        };
        return http(&target, None, opts).await;
    }
    if let Some(p) = &handler.http_post {
        let body = match p.body.as_deref() {
            Some(b) => {
                Some(
                    render_if_template(b, summary).map_err(|source| HookError::Template {
                        what: "httpPost.body".into(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let target = HttpTarget {
            scheme: p.scheme.as_deref(),
            host: p.host.as_deref(),
            port: &p.port,
            path: p.path.as_deref(),
            headers: p.http_headers.as_deref().unwrap_or_default(),
        };
        let payload = match (&p.form, body) {
            (Some(form), _) => Payload::Form(encode_form(form)),
            (None, Some(b)) if !b.is_empty() => Payload::Body(b),
            _ => Payload::Empty,
        };
        return http(&target, Some(payload), opts).await;
    }
    if let Some(t) = &handler.tcp_socket {
        let host = host_or(t.host.as_deref(), opts);
        let port = port_number(&t.port)?;
        return connect(&host, port, opts.net_timeout).await;
    }
    Err(HookError::NoAction)
}

/// The last `n` non-empty lines of `out` as `: line | line`, or nothing.
fn tail(out: &[u8], err: &[u8], n: usize) -> String {
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(out),
        String::from_utf8_lossy(err)
    );
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(": {}", lines[lines.len().saturating_sub(n)..].join("\n"))
}

async fn run_command(words: &[String], opts: &ExecOptions) -> Result<(), HookError> {
    let Some((program, args)) = words.split_first() else {
        return Err(HookError::EmptyCommand);
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| HookError::Spawn {
            program: program.clone(),
            source,
        })?;
    let out = match tokio::time::timeout(opts.exec_timeout, child.wait_with_output()).await {
        Err(_) => {
            return Err(HookError::Timeout {
                program: program.clone(),
                secs: opts.exec_timeout.as_secs(),
            })
        }
        Ok(r) => r.map_err(|source| HookError::Spawn {
            program: program.clone(),
            source,
        })?,
    };
    if out.status.success() {
        return Ok(());
    }
    let output = tail(&out.stdout, &out.stderr, opts.tail_lines);
    match out.status.code() {
        Some(code) => Err(HookError::Exit {
            program: program.clone(),
            code,
            output,
        }),
        None => {
            use std::os::unix::process::ExitStatusExt;
            Err(HookError::Killed {
                program: program.clone(),
                signal: out.status.signal().unwrap_or_default(),
                output,
            })
        }
    }
}

fn host_or(host: Option<&str>, opts: &ExecOptions) -> String {
    match host.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => h.to_string(),
        None => opts.default_host.clone(),
    }
}

fn port_number(port: &IntOrString) -> Result<u16, HookError> {
    let n = match port {
        IntOrString::Int(n) => i64::from(*n),
        IntOrString::String(s) => match s.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => return Err(HookError::NamedPort(s.clone())),
        },
    };
    u16::try_from(n)
        .ok()
        .filter(|p| *p != 0)
        .ok_or(HookError::BadPort(n))
}

struct HttpTarget<'a> {
    scheme: Option<&'a str>,
    host: Option<&'a str>,
    port: &'a IntOrString,
    path: Option<&'a str>,
    headers: &'a [HTTPHeader],
}

enum Payload {
    Empty,
    Body(String),
    Form(String),
}

fn url_of(t: &HttpTarget<'_>, opts: &ExecOptions) -> Result<String, HookError> {
    let scheme = match t.scheme.map(str::trim).filter(|s| !s.is_empty()) {
        None => "http".to_string(),
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            s.to_ascii_lowercase()
        }
        Some(s) => return Err(HookError::BadScheme(s.into())),
    };
    let mut host = host_or(t.host, opts);
    if host.contains(':') && !host.starts_with('[') {
        host = format!("[{host}]");
    }
    let port = port_number(t.port)?;
    let path = t.path.unwrap_or_default();
    let sep = if path.starts_with('/') { "" } else { "/" };
    Ok(format!("{scheme}://{host}:{port}{sep}{path}"))
}

/// `application/x-www-form-urlencoded`, keys sorted as Go's `url.Values.Encode` sorts them.
fn encode_form(form: &[FormEntry]) -> String {
    fn enc(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }
    let mut pairs: Vec<(&str, Vec<&str>)> = form
        .iter()
        .map(|e| {
            (
                e.key.as_deref().unwrap_or_default(),
                e.values.iter().flatten().map(String::as_str).collect(),
            )
        })
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    pairs
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{}={}", enc(k), enc(v))))
        .collect::<Vec<_>>()
        .join("&")
}

async fn http(
    t: &HttpTarget<'_>,
    post: Option<Payload>,
    opts: &ExecOptions,
) -> Result<(), HookError> {
    let url = url_of(t, opts)?;
    let client = stash::storage::http::client(&Default::default()).map_err(HookError::Client)?;
    let method = if post.is_some() { "POST" } else { "GET" };
    let mut req = match post {
        None => client.get(&url),
        Some(_) => client.post(&url),
    };
    let content_type = match &post {
        Some(Payload::Form(_)) => Some("application/x-www-form-urlencoded"),
        Some(Payload::Body(b)) if serde_json::from_str::<serde_json::Value>(b).is_ok() => {
            Some("application/json")
        }
        Some(Payload::Body(_)) => Some("text/plain; charset=utf-8"),
        _ => None,
    };
    // The user's own Content-Type wins over the detected one.
    let user_type = t
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("content-type"));
    if let (Some(ct), false) = (content_type, user_type) {
        req = req.header("Content-Type", ct);
    }
    for h in t.headers {
        let name = reqwest::header::HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| HookError::BadHeader(h.name.clone()))?;
        let value = reqwest::header::HeaderValue::from_str(&h.value)
            .map_err(|_| HookError::BadHeader(h.name.clone()))?;
        req = req.header(name, value);
    }
    req = match post {
        Some(Payload::Body(b)) | Some(Payload::Form(b)) => req.body(b),
        _ => req,
    };
    let resp = req
        .timeout(opts.net_timeout)
        .send()
        .await
        .map_err(|source| HookError::Http {
            method,
            url: url.clone(),
            source,
        })?;
    let status = resp.status().as_u16();
    if (200..400).contains(&status) {
        return Ok(());
    }
    let body = resp.text().await.unwrap_or_default();
    let body = body.trim();
    let body = if body.is_empty() {
        String::new()
    } else {
        let short: String = body.chars().take(300).collect();
        format!(": {short}")
    };
    Err(HookError::HttpStatus {
        method,
        url,
        status,
        body,
    })
}

async fn connect(host: &str, port: u16, timeout: Duration) -> Result<(), HookError> {
    let addr = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&addr)).await {
        Err(_) => Err(HookError::ConnectTimeout {
            addr,
            secs: timeout.as_secs(),
        }),
        Ok(Err(source)) => Err(HookError::Connect { addr, source }),
        Ok(Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests;
