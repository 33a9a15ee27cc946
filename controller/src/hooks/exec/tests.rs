//! The executor against real local things: commands run by this test, a one-request HTTP
//! server on 127.0.0.1 made here with tokio's `TcpListener`, open and closed TCP ports.
use std::time::Duration;

use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, HTTPHeader, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use stash::api::hooks::{FormEntry, HTTPPostAction, Handler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::hooks::summary::{InvokerRef, SummaryStatus, TargetInfo};

fn summary() -> Summary {
    Summary {
        name: "pg-backup-1796033100".into(),
        namespace: "demo".into(),
        invoker: InvokerRef {
            api_group: "stash.appscode.com".into(),
            kind: "BackupConfiguration".into(),
            name: "pg-backup".into(),
        },
        target: TargetInfo {
            kind: "AppBinding".into(),
            name: "pg".into(),
            ..Default::default()
        },
        status: SummaryStatus {
            phase: "Failed".into(),
            duration: "42s".into(),
            error: "dump failed".into(),
        },
        retry_left: 0,
    }
}

fn exec(words: &[&str]) -> Handler {
    Handler {
        exec: Some(ExecAction {
            command: Some(words.iter().map(|w| w.to_string()).collect()),
        }),
        ..Default::default()
    }
}

async fn run(h: &Handler) -> Result<(), HookError> {
    execute(h, &summary(), &ExecOptions::default()).await
}

#[tokio::test]
async fn exec_succeeds_on_exit_0_and_fails_with_the_code_and_the_last_lines() {
    run(&exec(&["true"])).await.unwrap();
    let err = run(&exec(&["sh", "-c", "exit 3"])).await.unwrap_err();
    assert_eq!(err.to_string(), "\"sh\" exited with code 3");
    let opts = ExecOptions {
        tail_lines: 2,
        ..Default::default()
    };
    let err = execute(
        &exec(&["sh", "-c", "echo one; echo two; echo three >&2; exit 1"]),
        &summary(),
        &opts,
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "\"sh\" exited with code 1: two\nthree");
}

#[tokio::test]
async fn exec_runs_no_shell_and_renders_its_words() {
    // "$X" reaches sh as a literal argument: nothing expanded it on the way.
    run(&exec(&["sh", "-c", "[ \"$1\" = '$X' ]", "sh", "$X"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "echo \"{{{{ .Name }}}} {{{{ .Status.Phase }}}} {{{{ .RetryLeft }}}}\" > {}",
        out.display()
    );
    run(&exec(&["sh", "-c", &script])).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "pg-backup-1796033100 Failed 0\n"
    );
    let err = run(&exec(&["echo", "{{ .Phase }}"])).await.unwrap_err();
    assert_eq!(
        crate::steps::actions::error_chain(&err),
        "rendering exec.command[1]: unknown field \"Phase\" in {{ .Phase }}: a Summary has Name, Namespace, Invoker, Target, Status, RetryLeft"
    );
}

#[tokio::test]
async fn exec_that_cannot_start_or_runs_too_long_fails() {
    let err = run(&exec(&["/nonexistent/hook"])).await.unwrap_err();
    assert!(matches!(err, HookError::Spawn { .. }), "{err:?}");
    let err = run(&exec(&[])).await.unwrap_err();
    assert!(matches!(err, HookError::EmptyCommand), "{err:?}");
    let opts = ExecOptions {
        exec_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let err = execute(&exec(&["sleep", "5"]), &summary(), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, HookError::Timeout { .. }), "{err:?}");
}

/// Answers one request with `status` and hands back the request as received.
async fn one_request_server(status: u16) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = conn.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
        }
        let reply =
            format!("HTTP/1.1 {status} X\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope");
        conn.write_all(reply.as_bytes()).await.unwrap();
        conn.shutdown().await.ok();
        String::from_utf8_lossy(&buf).to_string()
    });
    (port, task)
}

#[tokio::test]
async fn http_post_sends_the_rendered_body() {
    let (port, server) = one_request_server(200).await;
    let h = Handler {
        http_post: Some(HTTPPostAction {
            path: Some("/hook".into()),
            port: IntOrString::Int(i32::from(port)),
            http_headers: Some(vec![HTTPHeader {
                name: "X-Token".into(),
                value: "t1".into(),
            }]),
            body: Some(r#"{"session": "{{ .Name }}", "phase": "{{ .Status.Phase }}"}"#.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    run(&h).await.unwrap();
    let req = server.await.unwrap();
    assert!(req.starts_with("POST /hook HTTP/1.1\r\n"), "{req}");
    let lower = req.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/json"), "{req}");
    assert!(lower.contains("x-token: t1"), "{req}");
    assert!(
        req.ends_with(r#"{"session": "pg-backup-1796033100", "phase": "Failed"}"#),
        "{req}"
    );
}

#[tokio::test]
async fn http_post_sends_a_form() {
    let (port, server) = one_request_server(204).await;
    let h = Handler {
        http_post: Some(HTTPPostAction {
            port: IntOrString::String(port.to_string()),
            form: Some(vec![
                FormEntry {
                    key: Some("text".into()),
                    values: Some(vec!["backup done & ok".into()]),
                },
                FormEntry {
                    key: Some("channel".into()),
                    values: Some(vec!["ops".into(), "dev".into()]),
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    };
    run(&h).await.unwrap();
    let req = server.await.unwrap();
    assert!(req.starts_with("POST / HTTP/1.1\r\n"), "{req}");
    assert!(
        req.to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded"),
        "{req}"
    );
    assert!(
        req.ends_with("channel=ops&channel=dev&text=backup+done+%26+ok"),
        "{req}"
    );
}

#[tokio::test]
async fn http_get_succeeds_below_400_and_fails_with_the_status() {
    let get = |port: u16| Handler {
        http_get: Some(HTTPGetAction {
            path: Some("health".into()),
            port: IntOrString::Int(i32::from(port)),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (port, server) = one_request_server(302).await;
    run(&get(port)).await.unwrap();
    assert!(server.await.unwrap().starts_with("GET /health HTTP/1.1"));
    let (port, server) = one_request_server(503).await;
    let err = run(&get(port)).await.unwrap_err();
    server.await.unwrap();
    assert_eq!(
        err.to_string(),
        format!("GET http://127.0.0.1:{port}/health answered 503: nope")
    );
}

#[tokio::test]
async fn named_ports_and_bad_schemes_are_errors() {
    let h = Handler {
        http_get: Some(HTTPGetAction {
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = run(&h).await.unwrap_err();
    assert!(
        matches!(&err, HookError::NamedPort(p) if p == "http"),
        "{err:?}"
    );
    assert!(err.to_string().contains("use the port number"), "{err}");
    let h = Handler {
        http_get: Some(HTTPGetAction {
            port: IntOrString::Int(80),
            scheme: Some("ftp".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(matches!(run(&h).await, Err(HookError::BadScheme(_))));
}

#[tokio::test]
async fn tcp_socket_needs_an_open_port() {
    let open = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = |port: u16| Handler {
        tcp_socket: Some(TCPSocketAction {
            host: None,
            port: IntOrString::Int(i32::from(port)),
        }),
        ..Default::default()
    };
    run(&tcp(open.local_addr().unwrap().port())).await.unwrap();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let err = run(&tcp(closed)).await.unwrap_err();
    assert!(matches!(err, HookError::Connect { .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("connecting to 127.0.0.1:{closed}"));
}

#[tokio::test]
async fn a_handler_needs_exactly_one_action() {
    assert!(matches!(
        run(&Handler::default()).await,
        Err(HookError::NoAction)
    ));
    let mut h = exec(&["true"]);
    h.tcp_socket = Some(TCPSocketAction {
        host: None,
        port: IntOrString::Int(1),
    });
    let err = run(&h).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the hook sets exec and tcpSocket: set exactly one action"
    );
}
