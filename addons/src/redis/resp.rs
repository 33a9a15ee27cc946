//! RESP2 command encoding and an incremental reader of command streams (arrays of bulk
//! strings), with memory bounded by the largest single command.
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use crate::error::{AddonError, Result};

/// Append one command as a RESP array of bulk strings.
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Largest bulk string accepted (Redis' own proto-max-bulk-len default).
const MAX_BULK: usize = 512 << 20;

/// Read the next command; `None` at a clean end of stream.
pub async fn read_command<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
) -> Result<Option<Vec<Vec<u8>>>> {
    let io = |e| AddonError::io("reading the RESP stream", e);
    line.clear();
    let n = r.read_until(b'\n', line).await.map_err(io)?;
    if n == 0 {
        return Ok(None);
    }
    let count = header(line, b'*')?;
    let mut args = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        line.clear();
        r.read_until(b'\n', line).await.map_err(io)?;
        let len = header(line, b'$')?;
        if len > MAX_BULK {
            return Err(AddonError::Format(format!(
                "bulk string of {len} bytes is larger than Redis accepts"
            )));
        }
        let mut buf = vec![0u8; len + 2];
        r.read_exact(&mut buf).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                AddonError::Format("the stream ends inside a command".into())
            } else {
                io(e)
            }
        })?;
        if &buf[len..] != b"\r\n" {
            return Err(AddonError::Format(
                "bulk string not followed by CRLF".into(),
            ));
        }
        buf.truncate(len);
        args.push(buf);
    }
    Ok(Some(args))
}

fn header(line: &[u8], kind: u8) -> Result<usize> {
    let bad = || {
        let shown = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
        AddonError::Format(format!(
            "expected a RESP {} header, found {shown:?}",
            if kind == b'*' { "array" } else { "bulk string" }
        ))
    };
    if line.len() < 4 || line[0] != kind || !line.ends_with(b"\r\n") {
        return Err(bad());
    }
    std::str::from_utf8(&line[1..line.len() - 2])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trips_binary_commands() {
        let mut s = Vec::new();
        encode(&mut s, &[b"SELECT", b"3"]);
        encode(
            &mut s,
            &[
                b"RESTORE",
                b"k\r\n\x00",
                b"0",
                &[0xff, b'\n', 0],
                b"REPLACE",
            ],
        );
        let mut r = tokio::io::BufReader::new(&s[..]);
        let mut line = Vec::new();
        assert_eq!(
            read_command(&mut r, &mut line).await.unwrap().unwrap(),
            vec![b"SELECT".to_vec(), b"3".to_vec()]
        );
        let c = read_command(&mut r, &mut line).await.unwrap().unwrap();
        assert_eq!(c[1], b"k\r\n\x00");
        assert_eq!(c[3], vec![0xff, b'\n', 0]);
        assert!(read_command(&mut r, &mut line).await.unwrap().is_none());
        let mut r = tokio::io::BufReader::new(&s[..s.len() - 3]);
        read_command(&mut r, &mut line).await.unwrap();
        assert!(read_command(&mut r, &mut line).await.is_err());
        let mut r = tokio::io::BufReader::new(&b"PING\r\n"[..]);
        assert!(read_command(&mut r, &mut line).await.is_err());
    }
}
