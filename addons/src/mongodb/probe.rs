//! Readiness: `ping`, then the version from `buildInfo`.
use bson::doc;

use crate::addon::ProbeInfo;
use crate::error::Result;

use super::Mongo;

pub(super) async fn probe(m: &Mongo) -> Result<ProbeInfo> {
    let conn = m.connect().await?;
    conn.client.database("admin").run_command(doc! {"ping": 1}).await.map_err(|e| m.classify(e, "connecting"))?;
    Ok(ProbeInfo { server_version: server_version(m, &conn.client).await? })
}

pub(super) async fn server_version(m: &Mongo, c: &mongodb::Client) -> Result<String> {
    let r = c.database("admin").run_command(doc! {"buildInfo": 1}).await.map_err(|e| m.classify(e, "connecting"))?;
    Ok(r.get_str("version").unwrap_or("unknown").to_string())
}
