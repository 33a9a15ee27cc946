//! Running client tools (pg_dump, psql, mariadb-dump, …) as stream stages.
//!
//! A tool's stdout is copied into the addon's sink, or the addon's source is copied into its
//! stdin, and the tool's exit status decides the outcome: a non-zero exit is an error carrying
//! the tail of its stderr, never a short stream. If the source fails half-way the tool is
//! killed before its stdin is closed, so a client like psql never commits a truncated input.
//! Children are killed if the future is dropped.
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::{AddonError, Result};

/// How much of a tool's stderr is kept for the error message.
const STDERR_TAIL: usize = 8 * 1024;
const BUF: usize = 256 * 1024;

/// Rewrites a byte stream on its way into a tool (e.g. dropping a line).
pub trait StreamFilter: Send {
    /// Filter `chunk`, appending what should pass to `out`.
    fn filter(&mut self, chunk: &[u8], out: &mut Vec<u8>);
    /// The stream ended: flush anything held back.
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// A prepared tool invocation.
pub struct Tool {
    pub name: String,
    pub cmd: Command,
}

impl Tool {
    pub fn new(program: &str) -> Tool {
        let mut cmd = Command::new(program);
        cmd.kill_on_drop(true)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Tool {
            name: program.rsplit('/').next().unwrap_or(program).to_string(),
            cmd,
        }
    }

    fn spawn(&mut self) -> Result<Child> {
        self.cmd.spawn().map_err(|e| AddonError::Spawn {
            tool: self.name.clone(),
            source: e,
        })
    }

    /// Run to completion and return its stdout (small outputs: probes, queries).
    pub async fn output(mut self) -> Result<String> {
        self.cmd.stdout(Stdio::piped());
        let child = self.spawn()?;
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| AddonError::io(format!("waiting for {}", self.name), e))?;
        if !out.status.success() {
            return Err(AddonError::ToolFailed {
                tool: self.name,
                status: out.status.to_string(),
                stderr: tail(&out.stderr),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Copy the tool's stdout into `sink`; succeed only if it exits 0. Returns bytes copied.
    pub async fn stdout_into(mut self, sink: &mut (dyn AsyncWrite + Unpin + Send)) -> Result<u64> {
        self.cmd.stdout(Stdio::piped());
        let mut child = self.spawn()?;
        let stderr = collect_stderr(&mut child, &self.name);
        let mut out = child.stdout.take().expect("stdout is piped");
        let mut buf = vec![0u8; BUF];
        let mut n = 0u64;
        let copied: Result<()> = async {
            loop {
                let k = out
                    .read(&mut buf)
                    .await
                    .map_err(|e| AddonError::io(format!("reading {}'s output", self.name), e))?;
                if k == 0 {
                    return Ok(());
                }
                sink.write_all(&buf[..k])
                    .await
                    .map_err(|e| AddonError::io(format!("storing {}'s output", self.name), e))?;
                n += k as u64;
            }
        }
        .await;
        if let Err(e) = copied {
            let _ = child.kill().await;
            return Err(e);
        }
        self.wait(child, stderr).await?;
        Ok(n)
    }

    /// Copy `source` (through `filter`) into the tool's stdin; succeed only if the source ends
    /// cleanly and the tool exits 0. Returns bytes read from `source`.
    pub async fn stdin_from(
        mut self,
        source: &mut (dyn AsyncRead + Unpin + Send),
        mut filter: Option<Box<dyn StreamFilter>>,
    ) -> Result<u64> {
        self.cmd.stdin(Stdio::piped());
        let mut child = self.spawn()?;
        let stderr = collect_stderr(&mut child, &self.name);
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let mut buf = vec![0u8; BUF];
        let mut fout = Vec::with_capacity(BUF);
        let mut n = 0u64;
        enum Stop {
            Eof,
            Source(std::io::Error),
            ToolGone,
        }
        let stop = loop {
            let k = match source.read(&mut buf).await {
                Ok(0) => break Stop::Eof,
                Ok(k) => k,
                Err(e) => break Stop::Source(e),
            };
            n += k as u64;
            let data: &[u8] = match filter.as_mut() {
                Some(f) => {
                    fout.clear();
                    f.filter(&buf[..k], &mut fout);
                    &fout
                }
                None => &buf[..k],
            };
            if stdin.write_all(data).await.is_err() {
                break Stop::ToolGone;
            }
        };
        match stop {
            Stop::Source(e) => {
                // Kill first: closing stdin would let the tool commit a truncated input.
                let _ = child.kill().await;
                Err(AddonError::io("reading the dump from the repository", e))
            }
            Stop::ToolGone => {
                drop(stdin);
                self.wait(child, stderr).await?;
                Err(AddonError::ToolFailed {
                    tool: self.name,
                    status: "exited before reading all input".into(),
                    stderr: String::new(),
                })
            }
            Stop::Eof => {
                if let Some(f) = filter.as_mut() {
                    fout.clear();
                    f.finish(&mut fout);
                    if stdin.write_all(&fout).await.is_err() {
                        drop(stdin);
                        self.wait(child, stderr).await?;
                        return Err(AddonError::ToolFailed {
                            tool: self.name,
                            status: "exited early".into(),
                            stderr: String::new(),
                        });
                    }
                }
                let _ = stdin.shutdown().await;
                drop(stdin);
                self.wait(child, stderr).await?;
                Ok(n)
            }
        }
    }

    async fn wait(&self, mut child: Child, stderr: StderrTail) -> Result<()> {
        let st = child
            .wait()
            .await
            .map_err(|e| AddonError::io(format!("waiting for {}", self.name), e))?;
        let text = stderr.finish().await;
        if !st.success() {
            return Err(AddonError::ToolFailed {
                tool: self.name.clone(),
                status: st.to_string(),
                stderr: text,
            });
        }
        if !text.is_empty() {
            tracing::debug!(tool = %self.name, stderr = %text, "tool finished with messages");
        }
        Ok(())
    }
}

struct StderrTail {
    buf: Arc<Mutex<Vec<u8>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl StderrTail {
    async fn finish(mut self) -> String {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        let b = self.buf.lock().unwrap();
        tail(&b)
    }
}

/// Keep the last few KiB of stderr (logged line by line at debug level).
fn collect_stderr(child: &mut Child, name: &str) -> StderrTail {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let task = child.stderr.take().map(|e| {
        let buf = buf.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(e).split(b'\n');
            while let Ok(Some(line)) = lines.next_segment().await {
                tracing::debug!(tool = %name, "{}", String::from_utf8_lossy(&line));
                let mut b = buf.lock().unwrap();
                b.extend_from_slice(&line);
                b.push(b'\n');
                if b.len() > 2 * STDERR_TAIL {
                    let cut = b.len() - STDERR_TAIL;
                    b.drain(..cut);
                }
            }
        })
    });
    StderrTail { buf, task }
}

fn tail(b: &[u8]) -> String {
    let s = if b.len() > STDERR_TAIL {
        &b[b.len() - STDERR_TAIL..]
    } else {
        b
    };
    String::from_utf8_lossy(s).trim().to_string()
}

/// Split a Stash `args` string the way a shell would (`--pg-args="-d app --clean"`).
pub fn split_args(s: &str) -> Result<Vec<String>> {
    shlex::split(s).ok_or_else(|| AddonError::Invalid(format!("args {s:?} has unbalanced quotes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn non_zero_exit_is_an_error_with_stderr() {
        let mut t = Tool::new("sh");
        t.cmd.args([
            "-c",
            "echo partial; echo 'pg_dump: error: connection lost' >&2; exit 1",
        ]);
        let mut sink = Vec::new();
        let e = t.stdout_into(&mut sink).await.unwrap_err();
        assert_eq!(sink, b"partial\n");
        assert!(e.to_string().contains("connection lost"), "{e}");
    }

    #[tokio::test]
    async fn source_error_kills_the_tool_instead_of_closing_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("committed");
        let mut t = Tool::new("sh");
        // The tool "commits" only if it sees EOF on stdin.
        t.cmd.args([
            "-c",
            &format!("cat >/dev/null && touch {}", marker.display()),
        ]);
        struct Broken(u8);
        impl AsyncRead for Broken {
            fn poll_read(
                mut self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                b: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.0 += 1;
                if self.0 > 3 {
                    return std::task::Poll::Ready(Err(std::io::Error::other("pack is corrupt")));
                }
                b.put_slice(b"data");
                std::task::Poll::Ready(Ok(()))
            }
        }
        let e = t.stdin_from(&mut Broken(0), None).await.unwrap_err();
        assert!(crate::error::chain(&e).contains("pack is corrupt"));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!marker.exists());
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split_args("-d app --exclude-table='a b'").unwrap(),
            vec!["-d", "app", "--exclude-table=a b"]
        );
        assert!(split_args("'open").is_err());
    }
}
