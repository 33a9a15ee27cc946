//! Replay a RESP command stream with pipelining; `SELECT` is mapped through `db_map`.
use redis::Value;
use tokio::io::BufReader;

use crate::addon::{Ctx, Report, Source};
use crate::error::{AddonError, Result};

use super::resp::read_command;
use super::{Redis, END_MARKER};

const PIPE_BYTES: usize = 8 << 20;

pub(super) async fn restore(r: &Redis, ctx: &Ctx, source: Source<'_>) -> Result<Report> {
    let mut con = r.connect().await?;
    let mut rd = BufReader::with_capacity(256 * 1024, source);
    let mut line = Vec::new();
    let mut pipe = redis::pipe();
    let (mut pending, mut pending_bytes) = (0usize, 0usize);
    let (mut restored, mut other, mut selects) = (0u64, 0u64, 0u64);
    let mut marker: Option<(u64, u64)> = None;
    let mut db = 0i64;
    let max_pending = r.opts.batch.max(1) * 10;
    while let Some(args) = read_command(&mut rd, &mut line).await? {
        let name = args
            .first()
            .map(|a| a.to_ascii_uppercase())
            .unwrap_or_default();
        match name.as_slice() {
            b"SELECT" => {
                let src: i64 = args
                    .get(1)
                    .and_then(|a| std::str::from_utf8(a).ok()?.parse().ok())
                    .ok_or_else(|| AddonError::Format("SELECT without a database number".into()))?;
                db = *r.opts.db_map.get(&src).unwrap_or(&src);
                pipe.cmd("SELECT").arg(db);
                selects += 1;
            }
            b"ECHO"
                if args
                    .get(1)
                    .map(|a| a.starts_with(END_MARKER.as_bytes()))
                    .unwrap_or(false) =>
            {
                marker = Some(parse_marker(&String::from_utf8_lossy(&args[1]))?);
                continue;
            }
            _ => {
                let mut c = redis::cmd(&String::from_utf8_lossy(&args[0]));
                for a in &args[1..] {
                    c.arg(a.as_slice());
                }
                pipe.add_command(c);
                if name == b"RESTORE" {
                    restored += 1;
                } else {
                    other += 1;
                }
            }
        }
        pending += 1;
        pending_bytes += args.iter().map(|a| a.len()).sum::<usize>();
        if pending >= max_pending || pending_bytes >= PIPE_BYTES {
            flush(r, &mut con, &mut pipe, db).await?;
            ctx.add_items(pending as u64);
            pending = 0;
            pending_bytes = 0;
        }
    }
    if pending > 0 {
        flush(r, &mut con, &mut pipe, db).await?;
        ctx.add_items(pending as u64);
    }
    let mut rep = Report::default();
    rep.count("keys", restored);
    rep.count("databases", selects);
    rep.count("other_commands", other);
    match marker {
        Some((keys, _)) if keys != restored => {
            return Err(AddonError::Format(format!(
                "the dump announces {keys} keys but holds {restored}"
            )));
        }
        Some(_) => {}
        None => rep.notes.push(
            "the stream has no stash end marker (not written by stash?); key count not verified"
                .into(),
        ),
    }
    Ok(rep)
}

async fn flush(
    r: &Redis,
    con: &mut redis::aio::MultiplexedConnection,
    pipe: &mut redis::Pipeline,
    db: i64,
) -> Result<()> {
    let vals: Vec<Value> = pipe
        .query_async(con)
        .await
        .map_err(|e| r.classify(e, &format!("restoring into database {db}")))?;
    if let Some(Value::ServerError(e)) = vals.iter().find(|v| matches!(v, Value::ServerError(_))) {
        return Err(AddonError::db(
            format!("restoring into database {db}"),
            redis::RedisError::from(e.clone()),
        ));
    }
    pipe.clear();
    Ok(())
}

/// `stash-redis-dump keys=<n> dbs=<d> vanished=<v>` → (keys, dbs).
fn parse_marker(s: &str) -> Result<(u64, u64)> {
    let get = |k: &str| {
        s.split_whitespace()
            .find_map(|f| f.strip_prefix(k)?.strip_prefix('=')?.parse::<u64>().ok())
            .ok_or_else(|| AddonError::Format(format!("end marker {s:?} lacks {k}")))
    };
    Ok((get("keys")?, get("dbs")?))
}
