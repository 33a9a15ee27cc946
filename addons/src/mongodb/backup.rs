//! Every chosen collection: header with options and index definitions, then its documents in
//! `_id` order, in batches.
use bson::{doc, Document, RawDocumentBuf};
use futures::TryStreamExt;
use mongodb::Database;
use tokio::io::AsyncWriteExt;

use crate::addon::{Ctx, Report, Sink};
use crate::error::{AddonError, Result};

use super::format::control;
use super::Mongo;

/// Flush a batch at this many bytes even if it has fewer documents than the batch size.
const BATCH_BYTES: usize = 8 << 20;
const SYSTEM_DBS: &[&str] = &["admin", "config", "local"];

pub(super) async fn backup(m: &Mongo, ctx: &Ctx, sink: Sink<'_>) -> Result<Report> {
    let conn = m.connect().await?;
    let c = &conn.client;
    let version = super::probe::server_version(m, c).await?;
    let w = |e| AddonError::io("writing the dump", e);
    sink.write_all(&control(
        &doc! {"stash_mongo_dump": 1, "server_version": version},
    )?)
    .await
    .map_err(w)?;
    let dbs = if m.opts.dbs.is_empty() {
        list_dbs(m, c).await?
    } else {
        m.opts.dbs.clone()
    };
    let (mut colls, mut docs) = (0i64, 0i64);
    let mut rep = Report::default();
    for dbname in &dbs {
        let db = c.database(dbname);
        let mut infos = list_collections(m, &db).await?;
        infos.retain(|(name, kind, _)| {
            if kind == "view" {
                rep.notes.push(format!(
                    "view {dbname}.{name} skipped (views are not dumped)"
                ));
                return false;
            }
            !name.starts_with("system.")
                && (m.opts.collections.is_empty() || m.opts.collections.contains(name))
        });
        for want in &m.opts.collections {
            if !infos.iter().any(|(n, _, _)| n == want) {
                return Err(AddonError::Invalid(format!(
                    "collection {dbname}.{want} does not exist"
                )));
            }
        }
        for (name, _, options) in infos {
            let indexes = list_indexes(m, &db, &name).await?;
            let head = doc! {"collection": {"db": dbname, "name": &name, "options": options, "indexes": indexes}};
            sink.write_all(&control(&head)?).await.map_err(w)?;
            let mut cursor = db
                .collection::<RawDocumentBuf>(&name)
                .find(doc! {})
                .sort(doc! {"_id": 1})
                .batch_size(m.opts.batch_size as u32)
                .await
                .map_err(|e| m.classify(e, &format!("reading {dbname}.{name}")))?;
            let mut buf = Vec::with_capacity(BATCH_BYTES);
            let (mut n, mut count) = (0i64, 0i64);
            loop {
                let next = cursor
                    .try_next()
                    .await
                    .map_err(|e| m.classify(e, &format!("reading {dbname}.{name}")))?;
                let end = next.is_none();
                if let Some(d) = next {
                    buf.extend_from_slice(d.as_bytes());
                    n += 1;
                }
                if n > 0 && (end || n as usize >= m.opts.batch_size || buf.len() >= BATCH_BYTES) {
                    sink.write_all(&control(&doc! {"batch": n})?)
                        .await
                        .map_err(w)?;
                    sink.write_all(&buf).await.map_err(w)?;
                    ctx.add_items(n as u64);
                    count += n;
                    n = 0;
                    buf.clear();
                }
                if end {
                    break;
                }
            }
            sink.write_all(&control(
                &doc! {"end_collection": {"db": dbname, "name": &name, "count": count}},
            )?)
            .await
            .map_err(w)?;
            colls += 1;
            docs += count;
        }
    }
    sink.write_all(&control(
        &doc! {"end": {"collections": colls, "documents": docs}},
    )?)
    .await
    .map_err(w)?;
    rep.count("databases", dbs.len() as u64);
    rep.count("collections", colls as u64);
    rep.count("documents", docs as u64);
    Ok(rep)
}

async fn list_dbs(m: &Mongo, c: &mongodb::Client) -> Result<Vec<String>> {
    let r = c
        .database("admin")
        .run_command(doc! {"listDatabases": 1, "nameOnly": true})
        .await
        .map_err(|e| m.classify(e, "listing databases"))?;
    let list = r.get_array("databases").map_err(|_| {
        AddonError::Invalid(
            "the server did not list its databases (listDatabases); name them with --db".into(),
        )
    })?;
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|d| d.as_document()?.get_str("name").ok().map(String::from))
        .filter(|n| !SYSTEM_DBS.contains(&n.as_str()))
        .collect();
    names.sort();
    Ok(names)
}

/// All documents of a command's cursor (`firstBatch`, then `getMore` until exhausted).
pub(super) async fn cursor_docs(
    m: &Mongo,
    db: &Database,
    first: Document,
    what: &str,
) -> Result<Vec<Document>> {
    let bad = || AddonError::db(what.to_string(), format!("unexpected reply to {what}"));
    let mut cur = first.get_document("cursor").map_err(|_| bad())?.clone();
    let ns = cur.get_str("ns").unwrap_or_default().to_string();
    let mut out: Vec<Document> = Vec::new();
    let mut key = "firstBatch";
    loop {
        for d in cur.get_array(key).map_err(|_| bad())? {
            if let Some(d) = d.as_document() {
                out.push(d.clone());
            }
        }
        let id = cur.get_i64("id").unwrap_or(0);
        if id == 0 {
            return Ok(out);
        }
        let coll = ns
            .split_once('.')
            .map(|(_, c)| c.to_string())
            .unwrap_or_default();
        let r = db
            .run_command(doc! {"getMore": id, "collection": coll})
            .await
            .map_err(|e| m.classify(e, what))?;
        cur = r.get_document("cursor").map_err(|_| bad())?.clone();
        key = "nextBatch";
    }
}

/// (name, type, options) of every collection, sorted by name. Raw `listCollections`: the typed
/// driver call is stricter than some MongoDB-compatible servers.
async fn list_collections(m: &Mongo, db: &Database) -> Result<Vec<(String, String, Document)>> {
    let what = format!("listing collections of {}", db.name());
    let r = db
        .run_command(doc! {"listCollections": 1})
        .await
        .map_err(|e| m.classify(e, &what))?;
    let mut out: Vec<(String, String, Document)> = cursor_docs(m, db, r, &what)
        .await?
        .into_iter()
        .filter_map(|d| {
            let name = d.get_str("name").ok()?.to_string();
            let kind = d.get_str("type").unwrap_or("collection").to_string();
            let options = d.get_document("options").cloned().unwrap_or_default();
            Some((name, kind, options))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

async fn list_indexes(m: &Mongo, db: &Database, coll: &str) -> Result<Vec<Document>> {
    let what = format!("listing indexes of {}.{coll}", db.name());
    let r = db
        .run_command(doc! {"listIndexes": coll})
        .await
        .map_err(|e| m.classify(e, &what))?;
    let mut v = cursor_docs(m, db, r, &what).await?;
    v.sort_by(|a, b| {
        a.get_str("name")
            .unwrap_or("")
            .cmp(b.get_str("name").unwrap_or(""))
    });
    Ok(v)
}
