//! Readiness: PING, then the version from `INFO server`.
use crate::addon::ProbeInfo;
use crate::error::Result;

use super::Redis;

pub(super) async fn probe(r: &Redis) -> Result<ProbeInfo> {
    let mut con = r.connect().await?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut con)
        .await
        .map_err(|e| r.classify(e, "reading INFO server"))?;
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    Ok(ProbeInfo {
        server_version: version,
    })
}
