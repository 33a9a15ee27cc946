//! Redis addon, native (no redis-dump-go, no redis-cli).
//!
//! Backup SCANs every database (or those chosen), reads each key with `PTTL` + `DUMP`, and
//! writes a RESP command stream — the format `redis-cli --pipe` replays and Stash's
//! `/dumpfile.resp` holds:
//!
//! ```text
//! SELECT <db>
//! RESTORE <key> <ttl-ms, 0 = none> <DUMP payload> REPLACE      (one per key)
//! …
//! ECHO "stash-redis-dump keys=<n> dbs=<d> vanished=<v>"        (end marker)
//! ```
//!
//! Keys that disappear between SCAN and DUMP (expired, deleted) are counted and reported, not
//! written. The end marker lets restore prove it replayed as many keys as were dumped; it is a
//! harmless `ECHO` for `redis-cli --pipe`. Restore parses the stream incrementally and replays
//! it with pipelining (optionally mapping database numbers), failing on the first error reply.
use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::addon::{Addon, Capabilities, Ctx, ProbeInfo, Report, Sink, Source};
use crate::connection::DbConnection;
use crate::error::{AddonError, Result};

mod backup;
mod probe;
pub mod resp;
mod restore;

pub const DEFAULT_PORT: u16 = 6379;
pub const FILE_NAME: &str = "dumpfile.resp";
pub const END_MARKER: &str = "stash-redis-dump";

#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Databases to dump; empty = every database that has keys.
    pub dbs: Vec<i64>,
    /// Only keys matching this glob (SCAN MATCH).
    pub pattern: Option<String>,
    /// Keys per PTTL/DUMP round trip (backup) and commands per pipeline (restore, ×10).
    pub batch: usize,
    /// Restore: source database → target database.
    pub db_map: BTreeMap<i64, i64>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            dbs: vec![],
            pattern: None,
            batch: 200,
            db_map: BTreeMap::new(),
        }
    }
}

impl RedisOptions {
    /// Stash's `args` in redis-dump-go's spelling: `-db N`, `-filter GLOB`, `-n BATCH`; and
    /// for restore `-map SRC:DST`.
    pub fn from_args(args: &[String]) -> Result<RedisOptions> {
        let mut o = RedisOptions::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            let mut val = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| AddonError::Invalid(format!("redis arg {flag} needs a value")))
            };
            let num = |v: String, what: &str| {
                v.parse::<i64>().map_err(|_| {
                    AddonError::Invalid(format!("redis arg {what}: {v:?} is not a number"))
                })
            };
            match flag.trim_start_matches('-') {
                "db" => o.dbs.push(num(val()?, "-db")?),
                "filter" => o.pattern = Some(val()?),
                "n" => o.batch = num(val()?, "-n")?.max(1) as usize,
                "map" => {
                    let v = val()?;
                    let (s, d) = v.split_once(':').ok_or_else(|| {
                        AddonError::Invalid(format!("redis arg -map {v:?}: use SRC:DST"))
                    })?;
                    o.db_map
                        .insert(num(s.into(), "-map")?, num(d.into(), "-map")?);
                }
                _ => {
                    return Err(AddonError::Invalid(format!(
                        "unknown redis arg {a:?} (known: -db, -filter, -n, -map)"
                    )))
                }
            }
        }
        Ok(o)
    }
}

pub struct Redis {
    pub conn: DbConnection,
    pub opts: RedisOptions,
}

impl Redis {
    pub fn new(conn: DbConnection, opts: RedisOptions) -> Redis {
        Redis { conn, opts }
    }

    /// The server's URL with credentials; TLS is not in it (see [`Redis::connect`]).
    fn url(&self) -> String {
        let mut url = String::from("redis://");
        if self.conn.user.is_some() || self.conn.password.is_some() {
            url += &enc(self.conn.user.as_deref().unwrap_or(""));
            if let Some(p) = &self.conn.password {
                url += ":";
                url += &enc(p);
            }
            url += "@";
        }
        let host = if self.conn.host.contains(':') {
            format!("[{}]", self.conn.host)
        } else {
            self.conn.host.clone()
        };
        url += &format!("{host}:{}/0", self.conn.port_or(DEFAULT_PORT));
        url
    }

    /// One multiplexed connection. With TLS, our own connector ([`crate::tls::connect`]:
    /// ring, the AppBinding's CA, client certificate, serverName, insecureSkipTLSVerify) makes
    /// the stream and the driver speaks over it, so every addon verifies servers the same way.
    pub(crate) async fn connect(&self) -> Result<redis::aio::MultiplexedConnection> {
        let timeout = Duration::from_secs(10);
        let cfg = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(Duration::from_secs(300)));
        let bad =
            |e: redis::RedisError| AddonError::Invalid(format!("redis connection settings: {e}"));
        let Some(tls) = &self.conn.tls else {
            let client = redis::Client::open(self.url()).map_err(bad)?;
            return client
                .get_multiplexed_async_connection_with_config(&cfg)
                .await
                .map_err(|e| self.classify(e, "connecting"));
        };
        let info = redis::IntoConnectionInfo::into_connection_info(self.url()).map_err(bad)?;
        let stream = crate::tls::connect(
            "redis",
            &self.conn.host,
            self.conn.port_or(DEFAULT_PORT),
            tls,
            timeout,
        )
        .await?;
        let (con, driver) =
            redis::aio::MultiplexedConnection::new_with_config(info.redis_settings(), stream, cfg)
                .await
                .map_err(|e| self.classify(e, "connecting"))?;
        tokio::spawn(driver);
        Ok(con)
    }

    pub(crate) fn classify(&self, e: redis::RedisError, doing: &str) -> AddonError {
        let target = self.conn.target(DEFAULT_PORT);
        // A client certificate the server refuses shows up on the first read after the
        // handshake (TLS 1.3), so it arrives here rather than in tls::connect.
        if let Some(r) = crate::tls::rustls_cause(&e) {
            return crate::tls::tls_failed("redis", target, r);
        }
        let text = e.to_string();
        if e.kind() == redis::ErrorKind::AuthenticationFailed
            || text.contains("WRONGPASS")
            || text.contains("NOAUTH")
        {
            return AddonError::Auth {
                addon: "redis",
                target,
                user: self.conn.user.clone().unwrap_or_else(|| "default".into()),
                detail: text,
            };
        }
        let transient = e.is_io_error()
            || e.is_connection_refusal()
            || e.is_timeout()
            || e.is_connection_dropped()
            || text.contains("LOADING");
        if transient && doing == "connecting" {
            return AddonError::Connect {
                addon: "redis",
                target,
                source: Box::new(e),
            };
        }
        AddonError::db(format!("{doing} (redis at {target})"), e)
    }
}

/// Percent-encode a URL userinfo part.
fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else {
            o += &format!("%{b:02X}");
        }
    }
    o
}

#[async_trait]
impl Addon for Redis {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: "redis",
            file_name: FILE_NAME,
            tools: vec![],
            parallel: false,
            consistent: false,
            tls: true,
            selective: true,
        }
    }

    fn target(&self) -> String {
        self.conn.target(DEFAULT_PORT)
    }

    async fn probe(&self) -> Result<ProbeInfo> {
        probe::probe(self).await
    }

    async fn backup(&self, ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
        backup::backup(self, ctx, sink).await
    }

    async fn restore(&self, ctx: &Ctx, source: Source<'_>) -> Result<Report> {
        restore::restore(self, ctx, source).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_dump_go_args() {
        let a: Vec<String> = [
            "-db", "3", "-db=4", "-filter", "app:*", "-n", "50", "-map", "3:7",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = RedisOptions::from_args(&a).unwrap();
        assert_eq!(o.dbs, vec![3, 4]);
        assert_eq!(o.pattern.as_deref(), Some("app:*"));
        assert_eq!(o.batch, 50);
        assert_eq!(o.db_map.get(&3), Some(&7));
        assert!(RedisOptions::from_args(&["-x".into()]).is_err());
        assert!(RedisOptions::from_args(&["-db".into()]).is_err());
    }

    #[test]
    fn userinfo_is_encoded() {
        assert_eq!(enc("p@ss:w/rd"), "p%40ss%3Aw%2Frd");
    }
}
