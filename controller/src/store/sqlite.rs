//! Local mode's state: one SQLite file (`<state>/state.db`, WAL mode) holding objects and
//! events, shared by `stash run` and the step processes it starts (`update-status` writes a
//! session's results into it) and read live by `stash get` in another process.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction: it takes SQLite's write lock before
//! reading the row it will change, so two processes never interleave a read-modify-write,
//! and the `resourceVersion` rule ([`super::rules`]) sees the truth. Each write appends a row
//! to `changes`; its row id is the new resource version, and other processes learn of writes
//! by reading `changes` past the last id they saw ([`SqliteStore::poll_changes`]).
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqliteConnection, SqlitePool};
use tokio::sync::broadcast;

use super::{rules, Deleted, Event, Kind, ObjRef, ObjectStore, StoreError};
use crate::clock::Clock;

/// The file under the state folder.
pub const DB_FILE: &str = "state.db";

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS objects (
        grp TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (grp, kind, namespace, name))",
    "CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, version TEXT NOT NULL,
        kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, kind TEXT NOT NULL,
        namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_object ON events (grp, kind, namespace, name)",
];

/// Changes kept for pollers; older rows are trimmed.
const CHANGES_KEPT: i64 = 10_000;

pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    feed: broadcast::Sender<ObjRef>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn db_err(what: &str) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError::backend(what.to_string(), e)
}

fn parse(body: &str, what: &str) -> Result<Value, StoreError> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::backend(format!("reading {what} from the state store"), e))
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`.
    pub async fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::backend(format!("creating the state folder {}", dir.display()), e)
        })?;
        let path = dir.join(DB_FILE);
        let what = format!("opening the state store {}", path.display());
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(db_err(&what))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(db_err(&what))?;
        for stmt in SCHEMA {
            sqlx::query(sqlx::AssertSqlSafe(*stmt))
                .execute(&pool)
                .await
                .map_err(db_err(&what))?;
        }
        Ok(SqliteStore {
            pool,
            path,
            clock,
            feed: broadcast::channel(1024).0,
        })
    }

    /// Every kind that has objects in the store.
    pub async fn kinds(&self) -> Result<Vec<Kind>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT json_extract(body, '$.apiVersion'), json_extract(body, '$.kind') FROM objects",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("listing kinds"))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let v = serde_json::json!({
                    "apiVersion": r.get::<Option<String>, _>(0),
                    "kind": r.get::<Option<String>, _>(1),
                });
                Kind::of_value(&v)
            })
            .collect())
    }

    /// The id of the newest change: where a poller starts.
    pub async fn last_change(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM changes")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err("reading changes"))?;
        Ok(row.get::<i64, _>(0))
    }

    /// Changes after `since` (any process's), and the id to poll from next.
    pub async fn poll_changes(&self, since: i64) -> Result<(Vec<ObjRef>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT id, grp, version, kind, namespace, name FROM changes WHERE id > ? ORDER BY id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("reading changes"))?;
        let mut last = since;
        let mut out = Vec::new();
        for r in rows {
            last = r.get::<i64, _>(0);
            let kind = Kind {
                group: r.get(1),
                version: r.get(2),
                kind: r.get(3),
            };
            out.push(ObjRef::new(kind, r.get::<&str, _>(4), r.get::<&str, _>(5)));
        }
        Ok((out, last))
    }

    /// Runs `f` inside one write transaction; `f` returns the result and the objects it
    /// changed (announced after the commit).
    async fn write<T, F>(&self, what: &str, f: F) -> Result<T, StoreError>
    where
        F: for<'c> FnOnce(
            &'c mut SqliteConnection,
        )
            -> futures::future::BoxFuture<'c, Result<(T, Vec<ObjRef>), StoreError>>,
    {
        let mut conn = self.pool.acquire().await.map_err(db_err(what))?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .map_err(db_err(what))?;
        match f(&mut conn).await {
            Ok((value, changed)) => {
                sqlx::query("COMMIT")
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err(what))?;
                for r in changed {
                    let _ = self.feed.send(r);
                }
                Ok(value)
            }
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(e)
            }
        }
    }
}

/// Binds an object's key (group, kind, namespace, name), in the order the queries name them.
fn keyed<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    r: &'q ObjRef,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    q.bind(&r.kind.group)
        .bind(&r.kind.kind)
        .bind(&r.namespace)
        .bind(&r.name)
}

async fn load(conn: &mut SqliteConnection, r: &ObjRef) -> Result<Option<Value>, StoreError> {
    let row = keyed(
        sqlx::query(
            "SELECT body FROM objects WHERE grp = ? AND kind = ? AND namespace = ? AND name = ?",
        ),
        r,
    )
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err("reading an object"))?;
    row.map(|row| parse(row.get::<&str, _>(0), &r.to_string()))
        .transpose()
}

/// Appends a change for `r` and returns its id: the next resource version.
async fn next_version(conn: &mut SqliteConnection, r: &ObjRef) -> Result<u64, StoreError> {
    let res = sqlx::query(
        "INSERT INTO changes (grp, version, kind, namespace, name) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&r.kind.group)
    .bind(&r.kind.version)
    .bind(&r.kind.kind)
    .bind(&r.namespace)
    .bind(&r.name)
    .execute(&mut *conn)
    .await
    .map_err(db_err("recording a change"))?;
    let id = res.last_insert_rowid();
    if id % 1000 == 0 {
        sqlx::query("DELETE FROM changes WHERE id < ?")
            .bind(id - CHANGES_KEPT)
            .execute(&mut *conn)
            .await
            .map_err(db_err("trimming changes"))?;
    }
    Ok(u64::try_from(id).unwrap_or_default())
}

async fn save(conn: &mut SqliteConnection, r: &ObjRef, body: &Value) -> Result<(), StoreError> {
    keyed(sqlx::query("INSERT OR REPLACE INTO objects (grp, kind, namespace, name, body) VALUES (?, ?, ?, ?, ?)"), r)
        .bind(body.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_err("writing an object"))?;
    Ok(())
}

async fn remove(conn: &mut SqliteConnection, r: &ObjRef) -> Result<(), StoreError> {
    keyed(
        sqlx::query(
            "DELETE FROM objects WHERE grp = ? AND kind = ? AND namespace = ? AND name = ?",
        ),
        r,
    )
    .execute(&mut *conn)
    .await
    .map_err(db_err("deleting an object"))?;
    Ok(())
}

#[async_trait]
impl ObjectStore for SqliteStore {
    fn origin(&self) -> String {
        format!("the state store {}", self.path.display())
    }

    async fn get_raw(&self, obj: &ObjRef) -> Result<Option<Value>, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(db_err("reading an object"))?;
        load(&mut conn, obj).await
    }

    async fn list_raw(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let rows = sqlx::query(
            "SELECT body FROM objects WHERE grp = ? AND kind = ? AND (? IS NULL OR namespace = ?) ORDER BY namespace, name",
        )
        .bind(&kind.group)
        .bind(&kind.kind)
        .bind(namespace)
        .bind(namespace)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err("listing objects"))?;
        rows.iter()
            .map(|r| parse(r.get::<&str, _>(0), &kind.kind))
            .collect()
    }

    async fn create_raw(&self, obj: Value) -> Result<Value, StoreError> {
        let now = self.clock.now();
        self.write("creating an object", move |conn| {
            Box::pin(async move {
                // The version comes first; a generated name is known only after it.
                let kind = Kind::of_value(&obj).ok_or_else(|| StoreError::Invalid {
                    what: "create".into(),
                    message: "apiVersion and kind are required".into(),
                })?;
                let version = next_version(conn, &ObjRef::new(kind, "", "")).await?;
                let (r, v) = rules::create(obj, now, version)?;
                sqlx::query("UPDATE changes SET namespace = ?, name = ? WHERE id = ?")
                    .bind(&r.namespace)
                    .bind(&r.name)
                    .bind(version as i64)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err("recording a change"))?;
                if load(conn, &r).await?.is_some() {
                    return Err(StoreError::AlreadyExists(r));
                }
                save(conn, &r, &v).await?;
                Ok((v, vec![r]))
            })
        })
        .await
    }

    async fn replace_raw(&self, obj: Value) -> Result<Value, StoreError> {
        let r = ObjRef::of_value(&obj).ok_or_else(|| StoreError::Invalid {
            what: "replace".into(),
            message: "no kind or name".into(),
        })?;
        self.write("updating an object", move |conn| {
            Box::pin(async move {
                let stored = load(conn, &r)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(r.clone()))?;
                let version = next_version(conn, &r).await?;
                match rules::replace(&r, &stored, obj, version)? {
                    Some(v) => {
                        save(conn, &r, &v).await?;
                        Ok((v, vec![r]))
                    }
                    None => {
                        remove(conn, &r).await?;
                        Ok((stored, vec![r]))
                    }
                }
            })
        })
        .await
    }

    async fn replace_status_raw(
        &self,
        obj: &ObjRef,
        resource_version: Option<&str>,
        status: Value,
    ) -> Result<Value, StoreError> {
        let (r, rv) = (obj.clone(), resource_version.map(String::from));
        self.write("updating a status", move |conn| {
            Box::pin(async move {
                let stored = load(conn, &r)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(r.clone()))?;
                let version = next_version(conn, &r).await?;
                let v = rules::replace_status(&r, &stored, rv.as_deref(), status, version)?;
                save(conn, &r, &v).await?;
                Ok((v, vec![r]))
            })
        })
        .await
    }

    async fn delete_raw(&self, obj: &ObjRef) -> Result<Deleted, StoreError> {
        let (r, now) = (obj.clone(), self.clock.now());
        self.write("deleting an object", move |conn| {
            Box::pin(async move {
                let Some(stored) = load(conn, &r).await? else {
                    return Ok((Deleted::Absent, vec![]));
                };
                if stored.pointer("/metadata/deletionTimestamp").is_some() {
                    return Ok((Deleted::Marked, vec![]));
                }
                let version = next_version(conn, &r).await?;
                match rules::delete(&stored, now, version) {
                    (d, Some(marked)) => save(conn, &r, &marked).await.map(|_| (d, vec![r])),
                    (d, None) => remove(conn, &r).await.map(|_| (d, vec![r])),
                }
            })
        })
        .await
    }

    async fn record_event(&self, event: Event) -> Result<(), StoreError> {
        let body = serde_json::to_string(&event)
            .map_err(|e| StoreError::backend("encoding an event", e))?;
        let o = &event.object;
        keyed(
            sqlx::query(
                "INSERT INTO events (grp, kind, namespace, name, body) VALUES (?, ?, ?, ?, ?)",
            ),
            o,
        )
        .bind(body)
        .execute(&self.pool)
        .await
        .map_err(db_err("recording an event"))?;
        Ok(())
    }

    async fn events(&self, obj: &ObjRef) -> Result<Vec<Event>, StoreError> {
        let rows = keyed(sqlx::query("SELECT body FROM events WHERE grp = ? AND kind = ? AND namespace = ? AND name = ? ORDER BY id"), obj)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err("reading events"))?;
        rows.iter()
            .map(|r| {
                serde_json::from_str(r.get::<&str, _>(0))
                    .map_err(|e| StoreError::backend("reading an event", e))
            })
            .collect()
    }

    fn changes(&self) -> broadcast::Receiver<ObjRef> {
        self.feed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use stash::api::{BackupSession, BackupSessionPhase};

    use super::*;
    use crate::clock::SystemClock;
    use crate::store::{EventType, StoreExt};

    fn session(name: &str) -> BackupSession {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession",
            "metadata": {"name": name, "namespace": "demo"},
            "spec": {"invoker": {"apiGroup": "stash.appscode.com", "kind": "BackupConfiguration", "name": "pg"}}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn two_handles_see_each_others_writes_and_state_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let a = SqliteStore::open(dir.path(), Arc::new(SystemClock))
            .await
            .unwrap();
        let b = SqliteStore::open(dir.path(), Arc::new(SystemClock))
            .await
            .unwrap();
        let start = b.last_change().await.unwrap();
        a.create(&session("s1")).await.unwrap();
        // b learns of a's write through the changes table.
        let (changed, _) = b.poll_changes(start).await.unwrap();
        assert_eq!(
            changed.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            vec!["BackupSession demo/s1"]
        );
        b.update_status::<BackupSession, _>("demo", "s1", |s| {
            s.status.get_or_insert_with(Default::default).phase = Some(BackupSessionPhase::Running)
        })
        .await
        .unwrap();
        let seen: BackupSession = a.get("demo", "s1").await.unwrap().unwrap();
        assert_eq!(
            seen.status.unwrap().phase,
            Some(BackupSessionPhase::Running)
        );
        // A write from a stale read conflicts.
        let stale = seen.metadata.resource_version.clone();
        b.update_status::<BackupSession, _>("demo", "s1", |s| {
            s.status.get_or_insert_with(Default::default).phase =
                Some(BackupSessionPhase::Succeeded)
        })
        .await
        .unwrap();
        let r = ObjRef::of::<BackupSession>("demo", "s1");
        assert!(matches!(
            a.replace_status_raw(&r, stale.as_deref(), serde_json::json!({}))
                .await,
            Err(StoreError::Conflict(_))
        ));
        a.event(
            &session("s1"),
            EventType::Warning,
            "Status Updater",
            "Host Backup Failed",
            "boom".into(),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        drop((a, b));
        let c = SqliteStore::open(dir.path(), Arc::new(SystemClock))
            .await
            .unwrap();
        let s: BackupSession = c.get("demo", "s1").await.unwrap().unwrap();
        assert_eq!(s.status.unwrap().phase, Some(BackupSessionPhase::Succeeded));
        assert_eq!(c.events(&r).await.unwrap()[0].reason, "Host Backup Failed");
        assert_eq!(
            c.delete::<BackupSession>("demo", "s1").await.unwrap(),
            Deleted::Gone
        );
        assert!(c
            .get::<BackupSession>("demo", "s1")
            .await
            .unwrap()
            .is_none());
    }
}
