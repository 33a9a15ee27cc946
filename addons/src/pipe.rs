//! A bounded in-memory pipe between an addon and the engine that can *fail*.
//!
//! `tokio::io::duplex` turns a dropped writer into a clean EOF, and an EOF makes the engine
//! write a snapshot. Here the writer must say how the stream ended: [`PipeWriter::finish`]
//! gives the reader EOF, [`PipeWriter::fail`] (or dropping the writer) gives it an error, so
//! a dump that breaks half-way never becomes a snapshot. At most `chunks` chunks of at most
//! [`CHUNK`] bytes are in flight, which bounds memory whatever the speeds on either side.
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

/// Largest chunk one write puts into the pipe.
pub const CHUNK: usize = 256 * 1024;

enum Msg {
    Data(Bytes),
    End,
    Fail(String),
}

pub struct PipeWriter {
    tx: PollSender<Msg>,
}

pub struct PipeReader {
    rx: mpsc::Receiver<Msg>,
    cur: Bytes,
    done: Option<Result<(), String>>,
}

/// A pipe holding at most `chunks` chunks.
pub fn pipe(chunks: usize) -> (PipeWriter, PipeReader) {
    let (tx, rx) = mpsc::channel(chunks.max(1));
    (
        PipeWriter {
            tx: PollSender::new(tx),
        },
        PipeReader {
            rx,
            cur: Bytes::new(),
            done: None,
        },
    )
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the stream's reader stopped")
}

impl PipeWriter {
    /// End the stream successfully. Returns false if the reader was already gone.
    pub async fn finish(self) -> bool {
        self.send(Msg::End).await
    }

    /// End the stream with an error the reader will see. Returns false if the reader was
    /// already gone (then the reader's failure, not ours, is the cause).
    pub async fn fail(self, why: String) -> bool {
        self.send(Msg::Fail(why)).await
    }

    async fn send(self, m: Msg) -> bool {
        match self.tx.get_ref() {
            Some(tx) => tx.send(m).await.is_ok(),
            None => false,
        }
    }

    /// Whether the reader is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl AsyncWrite for PipeWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(self.tx.poll_reserve(cx)).map_err(|_| closed())?;
        let n = buf.len().min(CHUNK);
        self.tx
            .send_item(Msg::Data(Bytes::copy_from_slice(&buf[..n])))
            .map_err(|_| closed())?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for PipeReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.cur.is_empty() {
                let n = self.cur.len().min(out.remaining());
                out.put_slice(&self.cur[..n]);
                self.cur.advance(n);
                return Poll::Ready(Ok(()));
            }
            if let Some(done) = &self.done {
                return Poll::Ready(match done {
                    Ok(()) => Ok(()),
                    Err(why) => Err(io::Error::other(why.clone())),
                });
            }
            match ready!(self.rx.poll_recv(cx)) {
                Some(Msg::Data(b)) => self.cur = b,
                Some(Msg::End) => self.done = Some(Ok(())),
                Some(Msg::Fail(why)) => self.done = Some(Err(why)),
                None => {
                    self.done = Some(Err(
                        "the producer stopped before the end of the stream".into()
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn finish_is_eof_and_fail_is_an_error() {
        let (mut w, mut r) = pipe(2);
        let t = tokio::spawn(async move {
            w.write_all(&vec![7u8; CHUNK * 3 + 5]).await.unwrap();
            w.finish().await
        });
        let mut v = Vec::new();
        r.read_to_end(&mut v).await.unwrap();
        assert_eq!(v.len(), CHUNK * 3 + 5);
        assert!(t.await.unwrap());

        let (mut w, mut r) = pipe(2);
        tokio::spawn(async move {
            w.write_all(b"partial").await.unwrap();
            w.fail("pg_dump died".into()).await
        });
        let mut v = Vec::new();
        let e = r.read_to_end(&mut v).await.unwrap_err();
        assert!(e.to_string().contains("pg_dump died"));

        let (w, mut r) = pipe(2);
        drop(w);
        assert!(
            r.read_to_end(&mut Vec::new()).await.is_err(),
            "a dropped writer is not an EOF"
        );
    }

    #[tokio::test]
    async fn writer_sees_a_dropped_reader() {
        let (mut w, r) = pipe(1);
        drop(r);
        assert_eq!(
            w.write_all(b"x").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert!(!w.finish().await);
    }
}
