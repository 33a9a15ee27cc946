//! Local mode's store: the SQLite state ([`super::SqliteStore`]) for every object the
//! controller reads and writes, with one exception: Secrets are served from the manifests
//! folder and never copied into the state file, so credentials live only where the user put
//! them. The manifests themselves are applied into the state by `stash run`
//! ([`crate::local::manifests`]).
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::broadcast;

use super::{Deleted, Event, Kind, ObjRef, ObjectStore, SqliteStore, StoreError};
use crate::clock::Clock;
use crate::local::manifests::read_manifests;

pub struct LocalStore {
    pub db: SqliteStore,
    manifests: Vec<PathBuf>,
    secrets: RwLock<BTreeMap<(String, String), Value>>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("db", &self.db)
            .field("manifests", &self.manifests)
            .finish_non_exhaustive()
    }
}

fn is_secret(kind: &Kind) -> bool {
    kind.group.is_empty() && kind.kind == "Secret"
}

impl LocalStore {
    pub async fn open(
        state: &std::path::Path,
        manifests: Vec<PathBuf>,
        clock: Arc<dyn Clock>,
    ) -> Result<LocalStore, StoreError> {
        let store = LocalStore {
            db: SqliteStore::open(state, clock).await?,
            manifests,
            secrets: RwLock::default(),
        };
        store.reload_secrets();
        Ok(store)
    }

    /// Re-reads the Secrets from the manifests (problems are reported by the manifest loader).
    pub fn reload_secrets(&self) {
        let docs = read_manifests(&self.manifests).objects;
        let secrets = docs
            .into_iter()
            .filter(|d| Kind::of_value(&d.value).is_some_and(|k| is_secret(&k)))
            .filter_map(|d| {
                let r = ObjRef::of_value(&d.value)?;
                let ns = if r.namespace.is_empty() {
                    crate::local::manifests::DEFAULT_NAMESPACE.to_string()
                } else {
                    r.namespace
                };
                let mut v = d.value;
                v["metadata"]["namespace"] = Value::String(ns.clone());
                Some(((ns, r.name), v))
            })
            .collect();
        *self.secrets.write().expect("secrets lock") = secrets;
    }

    fn read_only(what: &str) -> StoreError {
        StoreError::Invalid {
            what: what.into(),
            message: "Secrets are read from the manifests folder: edit the file there".into(),
        }
    }
}

#[async_trait]
impl ObjectStore for LocalStore {
    fn origin(&self) -> String {
        self.db.origin()
    }

    async fn get_raw(&self, obj: &ObjRef) -> Result<Option<Value>, StoreError> {
        if is_secret(&obj.kind) {
            return Ok(self
                .secrets
                .read()
                .expect("secrets lock")
                .get(&(obj.namespace.clone(), obj.name.clone()))
                .cloned());
        }
        self.db.get_raw(obj).await
    }

    async fn list_raw(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        if is_secret(kind) {
            let s = self.secrets.read().expect("secrets lock");
            return Ok(s
                .iter()
                .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
                .map(|(_, v)| v.clone())
                .collect());
        }
        self.db.list_raw(kind, namespace).await
    }

    async fn create_raw(&self, obj: Value) -> Result<Value, StoreError> {
        if Kind::of_value(&obj).is_some_and(|k| is_secret(&k)) {
            return Err(Self::read_only("create"));
        }
        self.db.create_raw(obj).await
    }

    async fn replace_raw(&self, obj: Value) -> Result<Value, StoreError> {
        if Kind::of_value(&obj).is_some_and(|k| is_secret(&k)) {
            return Err(Self::read_only("update"));
        }
        self.db.replace_raw(obj).await
    }

    async fn replace_status_raw(
        &self,
        obj: &ObjRef,
        resource_version: Option<&str>,
        status: Value,
    ) -> Result<Value, StoreError> {
        self.db
            .replace_status_raw(obj, resource_version, status)
            .await
    }

    async fn delete_raw(&self, obj: &ObjRef) -> Result<Deleted, StoreError> {
        if is_secret(&obj.kind) {
            return Err(Self::read_only("delete"));
        }
        self.db.delete_raw(obj).await
    }

    async fn record_event(&self, event: Event) -> Result<(), StoreError> {
        self.db.record_event(event).await
    }

    async fn events(&self, obj: &ObjRef) -> Result<Vec<Event>, StoreError> {
        self.db.events(obj).await
    }

    fn changes(&self) -> broadcast::Receiver<ObjRef> {
        self.db.changes()
    }
}
