//! Native parallel PostgreSQL dump and restore, consistent across tables.
//!
//! # Backup
//! One coordinator session opens a `REPEATABLE READ, READ ONLY` transaction, exports its
//! snapshot (`pg_export_snapshot()`), lists the tables and takes `ACCESS SHARE` locks on them
//! (so no DDL can change them mid-dump), and stays open until the end. Then, all in that one
//! snapshot:
//! - `pg_dump --section=pre-data --snapshot=…` (types, tables, functions, large object
//!   metadata…);
//! - `jobs` worker sessions (`SET TRANSACTION SNAPSHOT`) run `COPY … TO STDOUT` for the tables,
//!   largest first, in parallel;
//! - at the same time `pg_dump --section=data --snapshot=… --exclude-table-data=<each COPYed
//!   table>` carries everything else of the data section: sequence positions, large object
//!   contents, and the data of any table we did not COPY ourselves;
//! - `pg_dump --section=post-data --snapshot=…` (indexes, constraints, triggers, matview refresh).
//!
//! # Stream format (`/dumpfile.pgx`, version 1)
//! ```text
//! "STASHPGX" 0x01 "\n"                                      magic + version (10 bytes)
//! frame*: kind u8 | stream u32 BE | length u32 BE | payload (≤ 256 KiB)
//!   1 META      stream 0   JSON {server_version, snapshot, jobs, tables: [{id, table, columns}]}
//!   2 PRE       stream 0   pre-data SQL (pg_dump output, in order)
//!   3 DATA      stream id  COPY text-format rows of table `id` (split anywhere)
//!   4 TABLE_END stream id  JSON {rows}
//!   5 SQL_DATA  stream 0   the rest of the data section (SQL)
//!   6 POST      stream 0   post-data SQL
//!   7 END       stream 0   JSON {tables, rows}
//! ```
//! Order: META, all PRE, then DATA/TABLE_END of different tables and SQL_DATA interleaved,
//! then all POST, then END. A stream without END is truncated and is refused.
//!
//! # Restore
//! PRE goes through `psql`; each table's DATA feeds its own session's `COPY … FROM STDIN`
//! as the frames arrive (so tables load in parallel, as many at once as the backup dumped),
//! SQL_DATA goes through a second `psql` alongside; once all tables are loaded, POST goes
//! through `psql` (indexes and constraints are built after the data, as pg_restore does;
//! indexes and table constraints by several sessions at once, see `postdata`).
//! Memory is bounded by a few frames per table in flight.
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::PollSender;

use crate::addon::{Ctx, Report, Sink, Source};
use crate::connection::SecretDir;
use crate::error::{AddonError, Result};
use crate::pipe::{pipe, PipeWriter};

use super::{connect, Postgres, DEFAULT_PORT};

pub const FILE_NAME: &str = "dumpfile.pgx";
pub const MAGIC: &[u8; 10] = b"STASHPGX\x01\n";
const MAX_FRAME: usize = 256 * 1024;
/// COPY rows are gathered into frames of about this size.
const COPY_FRAME: usize = 128 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Meta = 1,
    Pre = 2,
    Data = 3,
    TableEnd = 4,
    SqlData = 5,
    Post = 6,
    End = 7,
}

impl Kind {
    fn from_u8(b: u8) -> Result<Kind> {
        Ok(match b {
            1 => Kind::Meta,
            2 => Kind::Pre,
            3 => Kind::Data,
            4 => Kind::TableEnd,
            5 => Kind::SqlData,
            6 => Kind::Post,
            7 => Kind::End,
            other => return Err(AddonError::Format(format!("unknown frame kind {other}"))),
        })
    }
}

struct Frame {
    kind: Kind,
    stream: u32,
    payload: Bytes,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TableMeta {
    id: u32,
    /// `"schema"."table"`, quoted for SQL.
    table: String,
    /// Quoted column names (generated columns excluded).
    columns: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    server_version: String,
    snapshot: String,
    jobs: usize,
    tables: Vec<TableMeta>,
}

impl TableMeta {
    fn copy(&self, dir: &str) -> String {
        if self.columns.is_empty() {
            format!("COPY {} {dir}", self.table)
        } else {
            format!("COPY {} ({}) {dir}", self.table, self.columns.join(", "))
        }
    }
}

fn db_err(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> AddonError {
    let what = what.into();
    move |e| AddonError::db(what, e)
}

// ---------------------------------------------------------------------------------------------
// Backup

pub(super) async fn backup(pg: &Postgres, ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
    let (tx, mut rx) = mpsc::channel::<Frame>(pg.opts.jobs.max(1) * 4 + 4);
    let writer = async move {
        let w = |e| AddonError::io("writing the dump", e);
        sink.write_all(MAGIC).await.map_err(w)?;
        while let Some(f) = rx.recv().await {
            let mut h = [0u8; 9];
            h[0] = f.kind as u8;
            h[1..5].copy_from_slice(&f.stream.to_be_bytes());
            h[5..9].copy_from_slice(&(f.payload.len() as u32).to_be_bytes());
            sink.write_all(&h).await.map_err(w)?;
            sink.write_all(&f.payload).await.map_err(w)?;
        }
        Ok::<(), AddonError>(())
    };
    let (written, produced) = tokio::join!(writer, produce(pg, ctx, tx));
    let report = produced?;
    written?;
    Ok(report)
}

async fn send(tx: &mpsc::Sender<Frame>, kind: Kind, stream: u32, payload: Bytes) -> Result<()> {
    tx.send(Frame {
        kind,
        stream,
        payload,
    })
    .await
    .map_err(|_| {
        AddonError::io(
            "writing the dump",
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the stream's reader stopped",
            ),
        )
    })
}

async fn send_json<T: Serialize>(
    tx: &mpsc::Sender<Frame>,
    kind: Kind,
    stream: u32,
    v: &T,
) -> Result<()> {
    send(
        tx,
        kind,
        stream,
        Bytes::from(serde_json::to_vec(v).expect("plain data serializes")),
    )
    .await
}

const TABLES_SQL: &str = "
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
       n.nspname, c.relname,
       coalesce((SELECT array_agg(quote_ident(a.attname) ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY pg_relation_size(c.oid) DESC, 2, 3";

/// A pg_dump pattern matching exactly `schema.table` (quoted parts match literally).
fn exact_pattern(schema: &str, table: &str) -> String {
    format!(
        "\"{}\".\"{}\"",
        schema.replace('"', "\"\""),
        table.replace('"', "\"\"")
    )
}

async fn produce(pg: &Postgres, ctx: &Ctx, tx: mpsc::Sender<Frame>) -> Result<Report> {
    let target = pg.conn.target(DEFAULT_PORT);
    let coord = connect(pg, None).await?;
    coord
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await
        .map_err(db_err(format!(
            "starting the snapshot transaction on {target}"
        )))?;
    let snapshot: String = coord
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .map_err(db_err("exporting the snapshot"))?
        .get(0);
    let server_version: String = coord
        .query_one("SHOW server_version", &[])
        .await
        .map_err(db_err("reading the server version"))?
        .get(0);
    let rows = coord
        .query(TABLES_SQL, &[])
        .await
        .map_err(db_err("listing tables"))?;
    let mut tables = Vec::new();
    let mut patterns = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let (schema, name): (String, String) = (r.get(1), r.get(2));
        patterns.push(exact_pattern(&schema, &name));
        tables.push(TableMeta {
            id: i as u32 + 1,
            table: r.get(0),
            columns: r.get(3),
        });
    }
    for chunk in tables.chunks(200) {
        let list: Vec<&str> = chunk.iter().map(|t| t.table.as_str()).collect();
        coord
            .batch_execute(&format!(
                "LOCK TABLE {} IN ACCESS SHARE MODE",
                list.join(", ")
            ))
            .await
            .map_err(db_err("locking the tables against concurrent DDL"))?;
    }
    let jobs = pg.opts.jobs.max(1);
    let meta = Meta {
        server_version,
        snapshot: snapshot.clone(),
        jobs,
        tables: tables.clone(),
    };
    send_json(&tx, Kind::Meta, 0, &meta).await?;

    let secrets =
        SecretDir::new().map_err(|e| AddonError::io("creating a private temp folder", e))?;
    let dump = |section: &str| -> Result<crate::process::Tool> {
        let mut t = pg.tool("pg_dump", &secrets)?;
        t.cmd
            .arg(format!("--section={section}"))
            .arg(format!("--snapshot={snapshot}"));
        t.cmd.arg(format!(
            "--dbname={}",
            pg.conn.database.as_deref().unwrap_or("postgres")
        ));
        Ok(t)
    };

    dump("pre-data")?
        .stdout_into(&mut FrameSink::new(&tx, Kind::Pre))
        .await?;

    let queue = Mutex::new(tables.iter().cloned().collect::<VecDeque<_>>());
    let total_rows = std::sync::atomic::AtomicU64::new(0);
    let worker = |_: usize| async {
        let c = connect(pg, None).await?;
        c.batch_execute(&format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot}'; SET row_security = off"
        ))
        .await
        .map_err(db_err("joining the exported snapshot"))?;
        loop {
            let Some(t) = queue.lock().unwrap().pop_front() else {
                break;
            };
            let what = || format!("dumping {}", t.table);
            let stream = c
                .copy_out(&t.copy("TO STDOUT"))
                .await
                .map_err(db_err(what()))?;
            futures::pin_mut!(stream);
            let mut buf = BytesMut::with_capacity(COPY_FRAME * 2);
            let mut rows = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(db_err(what()))?;
                rows += 1;
                buf.extend_from_slice(&chunk);
                if buf.len() >= COPY_FRAME {
                    send(&tx, Kind::Data, t.id, buf.split().freeze()).await?;
                }
            }
            if !buf.is_empty() {
                send(&tx, Kind::Data, t.id, buf.split().freeze()).await?;
            }
            send_json(
                &tx,
                Kind::TableEnd,
                t.id,
                &serde_json::json!({ "rows": rows }),
            )
            .await?;
            ctx.add_items(rows);
            total_rows.fetch_add(rows, std::sync::atomic::Ordering::Relaxed);
        }
        c.batch_execute("COMMIT")
            .await
            .map_err(db_err("ending a worker transaction"))?;
        Ok::<(), AddonError>(())
    };
    let rest = async {
        let mut t = dump("data")?;
        for p in &patterns {
            t.cmd.arg(format!("--exclude-table-data={p}"));
        }
        t.stdout_into(&mut FrameSink::new(&tx, Kind::SqlData))
            .await
            .map(|_| ())
    };
    let workers = futures::future::try_join_all((0..jobs.min(tables.len().max(1))).map(worker));
    futures::try_join!(workers, rest)?;

    dump("post-data")?
        .stdout_into(&mut FrameSink::new(&tx, Kind::Post))
        .await?;
    coord
        .batch_execute("COMMIT")
        .await
        .map_err(db_err("ending the snapshot transaction"))?;
    let rows = total_rows.into_inner();
    send_json(
        &tx,
        Kind::End,
        0,
        &serde_json::json!({ "tables": tables.len(), "rows": rows }),
    )
    .await?;
    let mut rep = Report::default();
    rep.count("tables", tables.len() as u64);
    rep.count("rows", rows);
    Ok(rep)
}

/// Frames everything written to it as `kind` on stream 0.
struct FrameSink {
    tx: PollSender<Frame>,
    kind: Kind,
}

impl FrameSink {
    fn new(tx: &mpsc::Sender<Frame>, kind: Kind) -> FrameSink {
        FrameSink {
            tx: PollSender::new(tx.clone()),
            kind,
        }
    }
}

impl AsyncWrite for FrameSink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let broken = || {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the stream's reader stopped",
            )
        };
        ready!(self.tx.poll_reserve(cx)).map_err(|_| broken())?;
        let n = buf.len().min(MAX_FRAME);
        let kind = self.kind;
        self.tx
            .send_item(Frame {
                kind,
                stream: 0,
                payload: Bytes::copy_from_slice(&buf[..n]),
            })
            .map_err(|_| broken())?;
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

// ---------------------------------------------------------------------------------------------
// Restore

/// A psql fed through a pipe, running as its own task.
struct Psql {
    w: PipeWriter,
    task: JoinHandle<Result<u64>>,
}

impl Psql {
    fn start(pg: &Postgres) -> Result<Psql> {
        let secrets =
            SecretDir::new().map_err(|e| AddonError::io("creating a private temp folder", e))?;
        let mut t = pg.tool("psql", &secrets)?;
        t.cmd
            .args(["--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1"]);
        t.cmd.arg(format!(
            "--dbname={}",
            pg.conn.database.as_deref().unwrap_or("postgres")
        ));
        let (w, mut r) = pipe(8);
        let task = tokio::spawn(async move {
            let _keep = secrets;
            t.stdin_from(&mut r, None).await
        });
        Ok(Psql { w, task })
    }

    async fn write(&mut self, b: &[u8]) -> Result<()> {
        if self.w.write_all(b).await.is_err() {
            // psql stopped early: its own error says why.
            return Err(self.task_error().await);
        }
        Ok(())
    }

    async fn task_error(&mut self) -> AddonError {
        match (&mut self.task).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => AddonError::Format("psql stopped reading early".into()),
            Err(e) => AddonError::Invalid(format!("psql task: {e}")),
        }
    }

    async fn finish(self) -> Result<()> {
        self.w.finish().await;
        self.task
            .await
            .map_err(|e| AddonError::Invalid(format!("psql task: {e}")))??;
        Ok(())
    }
}

enum TableMsg {
    Data(Bytes),
    End,
}

async fn load_table(pg: &Postgres, t: TableMeta, mut rx: mpsc::Receiver<TableMsg>) -> Result<u64> {
    let what = || format!("restoring {}", t.table);
    let c = connect(pg, None).await?;
    let sink = c
        .copy_in::<_, Bytes>(&t.copy("FROM STDIN"))
        .await
        .map_err(db_err(what()))?;
    futures::pin_mut!(sink);
    loop {
        match rx.recv().await {
            Some(TableMsg::Data(b)) => sink.send(b).await.map_err(db_err(what()))?,
            Some(TableMsg::End) => return sink.as_mut().finish().await.map_err(db_err(what())),
            // The stream broke: drop the COPY without finishing it (the server discards it).
            None => {
                return Err(AddonError::Format(format!(
                    "{}: the stream ended inside its data",
                    t.table
                )))
            }
        }
    }
}

pub(super) async fn restore(pg: &Postgres, ctx: &Ctx, source: Source<'_>) -> Result<Report> {
    let mut r = BufReader::with_capacity(1 << 20, source);
    let mut magic = [0u8; 10];
    r.read_exact(&mut magic)
        .await
        .map_err(|e| AddonError::io("reading the dump", e))?;
    if &magic != MAGIC {
        return Err(AddonError::Format(
            "not a stash native PostgreSQL dump (bad magic)".into(),
        ));
    }
    let pg = Arc::new(Postgres::new(pg.conn.clone(), pg.opts.clone()));
    let mut meta: Option<Meta> = None;
    let mut pre: Option<Psql> = None;
    let mut pre_done = false;
    let mut sqldata: Option<Psql> = None;
    let mut post: Option<Vec<u8>> = None;
    let mut open: HashMap<u32, mpsc::Sender<TableMsg>> = HashMap::new();
    let mut loaders: Vec<(String, JoinHandle<Result<u64>>)> = Vec::new();
    let mut rows_announced: HashMap<u32, u64> = HashMap::new();
    let mut payload = Vec::new();
    let end: serde_json::Value = loop {
        let mut h = [0u8; 9];
        match r.read_exact(&mut h).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(AddonError::Format(
                    "the dump has no end frame (truncated)".into(),
                ))
            }
            Err(e) => return Err(AddonError::io("reading the dump", e)),
        }
        let kind = Kind::from_u8(h[0])?;
        let stream = u32::from_be_bytes(h[1..5].try_into().unwrap());
        let len = u32::from_be_bytes(h[5..9].try_into().unwrap()) as usize;
        if len > MAX_FRAME {
            return Err(AddonError::Format(format!(
                "frame of {len} bytes is too large"
            )));
        }
        payload.resize(len, 0);
        r.read_exact(&mut payload)
            .await
            .map_err(|e| AddonError::io("reading the dump", e))?;
        if kind != Kind::Pre && kind != Kind::Meta && !pre_done {
            if let Some(p) = pre.take() {
                p.finish().await?;
            }
            pre_done = true;
        }
        match kind {
            Kind::Meta => {
                meta = Some(
                    serde_json::from_slice(&payload)
                        .map_err(|e| AddonError::Format(format!("META: {e}")))?,
                )
            }
            Kind::Pre => {
                if pre.is_none() {
                    pre = Some(Psql::start(&pg)?);
                }
                pre.as_mut().unwrap().write(&payload).await?;
            }
            Kind::Data => {
                let tx = match open.entry(stream) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let m = meta
                            .as_ref()
                            .ok_or_else(|| AddonError::Format("data before META".into()))?;
                        let t = m
                            .tables
                            .iter()
                            .find(|t| t.id == stream)
                            .cloned()
                            .ok_or_else(|| {
                                AddonError::Format(format!("unknown table stream {stream}"))
                            })?;
                        let (tx, rx) = mpsc::channel(8);
                        let pg2 = pg.clone();
                        let name = t.table.clone();
                        loaders.push((
                            name,
                            tokio::spawn(async move { load_table(&pg2, t, rx).await }),
                        ));
                        v.insert(tx)
                    }
                };
                if tx
                    .send(TableMsg::Data(Bytes::copy_from_slice(&payload)))
                    .await
                    .is_err()
                {
                    // The loader failed; its error is reported below.
                    open.remove(&stream);
                    return Err(first_failure(&mut loaders).await);
                }
            }
            Kind::TableEnd => {
                let v: serde_json::Value = serde_json::from_slice(&payload)
                    .map_err(|e| AddonError::Format(format!("TABLE_END: {e}")))?;
                rows_announced.insert(stream, v["rows"].as_u64().unwrap_or(0));
                match open.remove(&stream) {
                    Some(tx) => {
                        let _ = tx.send(TableMsg::End).await;
                    }
                    None => {
                        // An empty table: nothing to load.
                    }
                }
            }
            Kind::SqlData => {
                if sqldata.is_none() {
                    sqldata = Some(Psql::start(&pg)?);
                }
                sqldata.as_mut().unwrap().write(&payload).await?;
            }
            Kind::Post => {
                if post.is_none() {
                    if !open.is_empty() {
                        return Err(AddonError::Format(
                            "post-data before the end of all tables".into(),
                        ));
                    }
                    let mut loaded = 0u64;
                    for (name, h) in loaders.drain(..) {
                        let n = h
                            .await
                            .map_err(|e| AddonError::Invalid(format!("loader task: {e}")))??;
                        tracing::debug!(table = %name, rows = n, "table restored");
                        loaded += n;
                    }
                    ctx.add_items(loaded);
                    if let Some(s) = sqldata.take() {
                        s.finish().await?;
                    }
                    post = Some(Vec::new());
                }
                post.as_mut().unwrap().extend_from_slice(&payload);
            }
            Kind::End => {
                break serde_json::from_slice(&payload)
                    .map_err(|e| AddonError::Format(format!("END: {e}")))?
            }
        }
    };
    if let Some(p) = pre.take() {
        p.finish().await?;
    }
    let mut loaded = 0u64;
    for (_, h) in loaders.drain(..) {
        loaded += h
            .await
            .map_err(|e| AddonError::Invalid(format!("loader task: {e}")))??;
    }
    ctx.add_items(loaded);
    if let Some(s) = sqldata.take() {
        s.finish().await?;
    }
    if let Some(sql) = post.take() {
        restore_post_data(&pg, sql, pg.opts.jobs.max(1)).await?;
    }
    let rows: u64 = rows_announced.values().sum();
    if end["rows"].as_u64() != Some(rows) {
        return Err(AddonError::Format(format!(
            "the dump announces {} rows but holds {rows}",
            end["rows"]
        )));
    }
    let mut rep = Report::default();
    rep.count("tables", end["tables"].as_u64().unwrap_or(0));
    rep.count("rows", rows);
    Ok(rep)
}

/// Indexes and table constraints in parallel sessions, then the rest through psql in order
/// (see `postdata`). SQL that is not UTF-8 goes through psql whole, as it came.
async fn restore_post_data(pg: &Postgres, sql: Vec<u8>, jobs: usize) -> Result<()> {
    let serial = match String::from_utf8(sql) {
        Ok(text) => {
            let split = super::postdata::split(&text);
            super::postdata::run_parallel(pg, &split, jobs).await?;
            split.serial.into_bytes()
        }
        Err(e) => e.into_bytes(),
    };
    let mut psql = Psql::start(pg)?;
    psql.write(&serial).await?;
    psql.finish().await
}

async fn first_failure(loaders: &mut Vec<(String, JoinHandle<Result<u64>>)>) -> AddonError {
    for (_, h) in loaders.drain(..) {
        if h.is_finished() {
            if let Ok(Err(e)) = h.await {
                return e;
            }
        } else {
            h.abort();
        }
    }
    AddonError::Format("a table loader stopped".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_literally() {
        assert_eq!(
            exact_pattern("shop", "Mixed \"Q\" *"),
            "\"shop\".\"Mixed \"\"Q\"\" *\""
        );
        let t = TableMeta {
            id: 1,
            table: "\"a\".\"b\"".into(),
            columns: vec!["\"x\"".into(), "\"y\"".into()],
        };
        assert_eq!(
            t.copy("TO STDOUT"),
            "COPY \"a\".\"b\" (\"x\", \"y\") TO STDOUT"
        );
    }
}
