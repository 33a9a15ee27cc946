//! SCAN → PTTL + DUMP (pipelined per batch) → RESP `RESTORE … REPLACE` commands.
use redis::Value;
use tokio::io::AsyncWriteExt;

use crate::addon::{Ctx, Report, Sink};
use crate::error::{AddonError, Result};

use super::resp::encode;
use super::{Redis, END_MARKER};

const FLUSH: usize = 1 << 20;

pub(super) async fn backup(r: &Redis, ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
    let mut con = r.connect().await?;
    let dbs = if r.opts.dbs.is_empty() {
        keyspace_dbs(r, &mut con).await?
    } else {
        r.opts.dbs.clone()
    };
    let mut out = Vec::with_capacity(2 * FLUSH);
    let (mut keys, mut vanished) = (0u64, 0u64);
    let mut vanished_names: Vec<String> = Vec::new();
    for db in &dbs {
        redis::cmd("SELECT")
            .arg(db)
            .query_async::<()>(&mut con)
            .await
            .map_err(|e| r.classify(e, &format!("selecting database {db}")))?;
        encode(&mut out, &[b"SELECT", db.to_string().as_bytes()]);
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor);
            if let Some(p) = &r.opts.pattern {
                scan.arg("MATCH").arg(p);
            }
            scan.arg("COUNT").arg(1000);
            let (next, found): (u64, Vec<Vec<u8>>) = scan
                .query_async(&mut con)
                .await
                .map_err(|e| r.classify(e, &format!("scanning database {db}")))?;
            for batch in found.chunks(r.opts.batch.max(1)) {
                let mut p = redis::pipe();
                for k in batch {
                    p.cmd("PTTL").arg(k);
                    p.cmd("DUMP").arg(k);
                }
                let vals: Vec<Value> = p
                    .query_async(&mut con)
                    .await
                    .map_err(|e| r.classify(e, &format!("reading keys of database {db}")))?;
                for (i, k) in batch.iter().enumerate() {
                    let ttl = match vals.get(2 * i) {
                        Some(Value::Int(t)) => *t,
                        _ => -2,
                    };
                    match vals.get(2 * i + 1) {
                        Some(Value::BulkString(payload)) if ttl != -2 => {
                            let ttl = if ttl < 0 { 0 } else { ttl };
                            encode(
                                &mut out,
                                &[
                                    b"RESTORE",
                                    k,
                                    ttl.to_string().as_bytes(),
                                    payload,
                                    b"REPLACE",
                                ],
                            );
                            keys += 1;
                            ctx.add_items(1);
                        }
                        _ => {
                            // Expired or deleted between SCAN and DUMP.
                            vanished += 1;
                            if vanished_names.len() < 20 {
                                vanished_names
                                    .push(format!("db{db}:{}", String::from_utf8_lossy(k)));
                            }
                        }
                    }
                }
                if out.len() >= FLUSH {
                    sink.write_all(&out)
                        .await
                        .map_err(|e| AddonError::io("writing the RESP stream", e))?;
                    out.clear();
                }
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
    }
    let marker = format!(
        "{END_MARKER} keys={keys} dbs={} vanished={vanished}",
        dbs.len()
    );
    encode(&mut out, &[b"ECHO", marker.as_bytes()]);
    sink.write_all(&out)
        .await
        .map_err(|e| AddonError::io("writing the RESP stream", e))?;
    let mut rep = Report::default();
    rep.count("keys", keys);
    rep.count("databases", dbs.len() as u64);
    rep.count("vanished", vanished);
    if vanished > 0 {
        let more = if vanished as usize > vanished_names.len() {
            ", …"
        } else {
            ""
        };
        rep.notes.push(format!(
            "{vanished} keys vanished during the scan (expired or deleted): {}{more}",
            vanished_names.join(", ")
        ));
        tracing::warn!(vanished, "keys vanished during the scan");
    }
    Ok(rep)
}

/// Databases that hold keys, from `INFO keyspace` (`db3:keys=10,expires=0,avg_ttl=0`).
async fn keyspace_dbs(r: &Redis, con: &mut redis::aio::MultiplexedConnection) -> Result<Vec<i64>> {
    let info: String = redis::cmd("INFO")
        .arg("keyspace")
        .query_async(con)
        .await
        .map_err(|e| r.classify(e, "reading INFO keyspace"))?;
    Ok(parse_keyspace(&info))
}

fn parse_keyspace(info: &str) -> Vec<i64> {
    let mut dbs: Vec<i64> = info
        .lines()
        .filter_map(|l| l.strip_prefix("db")?.split_once(':')?.0.parse().ok())
        .collect();
    dbs.sort_unstable();
    dbs
}

#[cfg(test)]
mod tests {
    #[test]
    fn keyspace_lists_databases() {
        let info =
            "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\ndb12:keys=3,expires=1,avg_ttl=5\r\n";
        assert_eq!(super::parse_keyspace(info), vec![0, 12]);
    }
}
