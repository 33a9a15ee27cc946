//! Recreate collections (options), insert documents in batches, then build indexes.
use bson::{doc, Bson, Document, RawDocumentBuf};
use tokio::io::BufReader;

use crate::addon::{Ctx, Report, Source};
use crate::error::{AddonError, Result};

use super::format::read_doc;
use super::Mongo;

/// Server error code for "collection already exists".
const NAMESPACE_EXISTS: i32 = 48;

pub(super) async fn restore(m: &Mongo, ctx: &Ctx, source: Source<'_>) -> Result<Report> {
    let conn = m.connect().await?;
    let c = &conn.client;
    let mut src = BufReader::with_capacity(1 << 20, source);
    let head = read_doc(&mut src)
        .await?
        .ok_or_else(|| AddonError::Format("the dump is empty".into()))?;
    if head.get("stash_mongo_dump").ok().flatten().is_none() {
        return Err(AddonError::Format(
            "no stash mongo dump header (is this a mongodump archive?)".into(),
        ));
    }
    let mut rep = Report::default();
    let mut current: Option<(String, String, Vec<Document>)> = None;
    let mut count = 0i64;
    let (mut colls, mut docs) = (0i64, 0i64);
    loop {
        let d = read_doc(&mut src)
            .await?
            .ok_or_else(|| AddonError::Format("the dump has no end marker (truncated)".into()))?;
        let d: Document = d
            .to_document()
            .map_err(|e| AddonError::Format(format!("control document: {e}")))?;
        if let Ok(h) = d.get_document("collection") {
            let src_db = h
                .get_str("db")
                .map_err(|_| AddonError::Format("collection header without db".into()))?;
            let name = h
                .get_str("name")
                .map_err(|_| AddonError::Format("collection header without name".into()))?
                .to_string();
            let dbname = m
                .opts
                .restore_db
                .clone()
                .unwrap_or_else(|| src_db.to_string());
            let db = c.database(&dbname);
            if m.opts.drop {
                db.collection::<Document>(&name)
                    .drop()
                    .await
                    .map_err(|e| m.classify(e, &format!("dropping {dbname}.{name}")))?;
            }
            let mut create = doc! {"create": &name};
            for (k, v) in h.get_document("options").cloned().unwrap_or_default() {
                create.insert(k, v);
            }
            if let Err(e) = db.run_command(create).await {
                let exists = matches!(e.kind.as_ref(), mongodb::error::ErrorKind::Command(ce) if ce.code == NAMESPACE_EXISTS);
                if !exists {
                    return Err(m.classify(e, &format!("creating {dbname}.{name}")));
                }
            }
            let indexes = h
                .get_array("indexes")
                .map(|a| a.iter().filter_map(|i| i.as_document().cloned()).collect())
                .unwrap_or_default();
            current = Some((dbname, name, indexes));
            count = 0;
        } else if let Ok(n) = d
            .get_i64("batch")
            .or_else(|_| d.get_i32("batch").map(i64::from))
        {
            let (dbname, name, _) = current
                .as_ref()
                .ok_or_else(|| AddonError::Format("documents before a collection header".into()))?;
            let mut batch: Vec<RawDocumentBuf> = Vec::with_capacity(n as usize);
            for _ in 0..n {
                batch.push(
                    read_doc(&mut src).await?.ok_or_else(|| {
                        AddonError::Format("the stream ends inside a batch".into())
                    })?,
                );
            }
            c.database(dbname)
                .collection::<RawDocumentBuf>(name)
                .insert_many(batch)
                .await
                .map_err(|e| m.classify(e, &format!("inserting into {dbname}.{name}")))?;
            count += n;
            ctx.add_items(n as u64);
        } else if let Ok(e) = d.get_document("end_collection") {
            let (dbname, name, indexes) = current
                .take()
                .ok_or_else(|| AddonError::Format("collection end without header".into()))?;
            let want = e
                .get_i64("count")
                .or_else(|_| e.get_i32("count").map(i64::from))
                .unwrap_or(-1);
            if want != count {
                return Err(AddonError::Format(format!(
                    "{dbname}.{name}: the dump announces {want} documents but holds {count}"
                )));
            }
            create_indexes(m, c, &dbname, &name, indexes, &mut rep).await?;
            colls += 1;
            docs += count;
        } else if let Ok(e) = d.get_document("end") {
            let want = e
                .get_i64("documents")
                .or_else(|_| e.get_i32("documents").map(i64::from))
                .unwrap_or(-1);
            if want != docs {
                return Err(AddonError::Format(format!(
                    "the dump announces {want} documents but holds {docs}"
                )));
            }
            break;
        } else {
            return Err(AddonError::Format(format!(
                "unknown control document {:?}",
                d.keys().next()
            )));
        }
    }
    rep.count("collections", colls as u64);
    rep.count("documents", docs as u64);
    Ok(rep)
}

async fn create_indexes(
    m: &Mongo,
    c: &mongodb::Client,
    dbname: &str,
    coll: &str,
    indexes: Vec<Document>,
    rep: &mut Report,
) -> Result<()> {
    let specs: Vec<Bson> = indexes
        .into_iter()
        .filter(|i| i.get_str("name") != Ok("_id_"))
        .map(|mut i| {
            i.remove("v");
            i.remove("ns");
            Bson::Document(i)
        })
        .collect();
    if specs.is_empty() {
        return Ok(());
    }
    let n = specs.len() as u64;
    c.database(dbname)
        .run_command(doc! {"createIndexes": coll, "indexes": specs})
        .await
        .map_err(|e| m.classify(e, &format!("creating indexes of {dbname}.{coll}")))?;
    rep.count("indexes", n);
    Ok(())
}
