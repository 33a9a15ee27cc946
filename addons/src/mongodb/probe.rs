//! Readiness: `ping`, then the version from `buildInfo`. With TLS, a preflight of our own
//! comes first (see [`tls_preflight`]).
use std::time::Duration;

use bson::doc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::addon::ProbeInfo;
use crate::connection::TlsConfig;
use crate::error::{AddonError, Result};

use super::{Mongo, DEFAULT_PORT};

pub(super) async fn probe(m: &Mongo) -> Result<ProbeInfo> {
    if let Some(tls) = &m.conn.tls {
        m.check_server_name()?;
        tls_preflight(m, tls).await?;
    }
    let conn = m.connect().await?;
    conn.client
        .database("admin")
        .run_command(doc! {"ping": 1})
        .await
        .map_err(|e| m.classify(e, "connecting"))?;
    Ok(ProbeInfo {
        server_version: server_version(m, &conn.client).await?,
    })
}

pub(super) async fn server_version(m: &Mongo, c: &mongodb::Client) -> Result<String> {
    let r = c
        .database("admin")
        .run_command(doc! {"buildInfo": 1})
        .await
        .map_err(|e| m.classify(e, "connecting"))?;
    Ok(r.get_str("version").unwrap_or("unknown").to_string())
}

/// One TLS connection of our own, with the rustls settings every addon uses, carrying one
/// `hello` round trip. The driver reports a failed handshake only as a server-selection
/// timeout whose text names no cause, so without this a wrong CA or a refused client
/// certificate would wait out `waitTimeout` and end in "not ready". The round trip matters:
/// under TLS 1.3 a server refuses the client's certificate only after the client has finished
/// its handshake, on the first read. The backup itself then goes through the driver, which is
/// given the same CA and client certificate.
async fn tls_preflight(m: &Mongo, tls: &TlsConfig) -> Result<()> {
    let (host, port) = (m.conn.host.as_str(), m.conn.port_or(DEFAULT_PORT));
    let timeout = Duration::from_secs(10);
    let mut s = crate::tls::connect("mongodb", host, port, tls, timeout).await?;
    let failed = |e: std::io::Error| match crate::tls::rustls_cause(&e) {
        Some(r) => crate::tls::tls_failed("mongodb", m.conn.target(DEFAULT_PORT), r),
        None => AddonError::Connect {
            addon: "mongodb",
            target: m.conn.target(DEFAULT_PORT),
            source: Box::new(e),
        },
    };
    let round_trip = async {
        s.write_all(&hello_message()).await?;
        s.flush().await?;
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await?;
        Ok::<_, std::io::Error>(())
    };
    match tokio::time::timeout(timeout, round_trip).await {
        Ok(r) => r.map_err(failed),
        Err(_) => Err(failed(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer to hello over TLS",
        ))),
    }
}

/// An OP_MSG carrying `{hello: 1, $db: "admin"}`: header (length, request id, response to,
/// op code 2013), flag bits, one body section (kind 0).
fn hello_message() -> Vec<u8> {
    let body = bson::to_vec(&doc! {"hello": 1, "$db": "admin"}).expect("a fixed document encodes");
    let len = (16 + 4 + 1 + body.len()) as i32;
    let mut msg = Vec::with_capacity(len as usize);
    for v in [len, 1, 0, 2013] {
        msg.extend_from_slice(&v.to_le_bytes());
    }
    msg.extend_from_slice(&0u32.to_le_bytes());
    msg.push(0);
    msg.extend_from_slice(&body);
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_a_well_formed_op_msg() {
        let m = hello_message();
        assert_eq!(
            i32::from_le_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(i32::from_le_bytes(m[12..16].try_into().unwrap()), 2013);
        assert_eq!(m[20], 0, "a body section");
        let d = bson::Document::from_reader(&m[21..]).unwrap();
        assert_eq!(d.get_i32("hello").unwrap(), 1);
        assert_eq!(d.get_str("$db").unwrap(), "admin");
    }
}
