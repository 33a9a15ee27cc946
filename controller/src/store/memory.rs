//! The in-memory store, for scenario tests: the same rules as every store ([`super::rules`]),
//! plus a log of the writes made, which tests assert on ("create BackupSession demo/x",
//! "status BackupSession demo/x") — including that reconciling an unchanged world writes
//! nothing.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::broadcast;

use super::{rules, Deleted, Event, Kind, ObjRef, ObjectStore, StoreError};
use crate::clock::Clock;

#[derive(Default)]
struct State {
    objects: BTreeMap<ObjRef, Value>,
    events: Vec<Event>,
    writes: Vec<String>,
    version: u64,
}

pub struct MemoryStore {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    feed: broadcast::Sender<ObjRef>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new(clock: Arc<dyn Clock>) -> MemoryStore {
        MemoryStore {
            state: Mutex::new(State::default()),
            clock,
            feed: broadcast::channel(1024).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("store lock")
    }

    /// The writes made since the last call, oldest first, and forgets them.
    pub fn take_writes(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().writes)
    }

    fn wrote(&self, st: &mut State, what: &str, r: &ObjRef) {
        st.writes.push(format!("{what} {r}"));
        let _ = self.feed.send(r.clone());
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    fn origin(&self) -> String {
        "memory".into()
    }

    async fn get_raw(&self, obj: &ObjRef) -> Result<Option<Value>, StoreError> {
        Ok(self.lock().objects.get(obj).cloned())
    }

    async fn list_raw(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, StoreError> {
        let st = self.lock();
        let hit = |r: &ObjRef| &r.kind == kind && namespace.is_none_or(|ns| r.namespace == ns);
        Ok(st
            .objects
            .iter()
            .filter(|(r, _)| hit(r))
            .map(|(_, v)| v.clone())
            .collect())
    }

    async fn create_raw(&self, obj: Value) -> Result<Value, StoreError> {
        let mut st = self.lock();
        st.version += 1;
        let (r, v) = rules::create(obj, self.clock.now(), st.version)?;
        if st.objects.contains_key(&r) {
            return Err(StoreError::AlreadyExists(r));
        }
        st.objects.insert(r.clone(), v.clone());
        self.wrote(&mut st, "create", &r);
        Ok(v)
    }

    async fn replace_raw(&self, obj: Value) -> Result<Value, StoreError> {
        let r = ObjRef::of_value(&obj).ok_or_else(|| StoreError::Invalid {
            what: "replace".into(),
            message: "no kind or name".into(),
        })?;
        let mut st = self.lock();
        let stored = st
            .objects
            .get(&r)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(r.clone()))?;
        st.version += 1;
        let version = st.version;
        match rules::replace(&r, &stored, obj, version)? {
            Some(v) => {
                st.objects.insert(r.clone(), v.clone());
                self.wrote(&mut st, "update", &r);
                Ok(v)
            }
            None => {
                st.objects.remove(&r);
                self.wrote(&mut st, "remove", &r);
                Ok(stored)
            }
        }
    }

    async fn replace_status_raw(
        &self,
        obj: &ObjRef,
        resource_version: Option<&str>,
        status: Value,
    ) -> Result<Value, StoreError> {
        let mut st = self.lock();
        let stored = st
            .objects
            .get(obj)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(obj.clone()))?;
        st.version += 1;
        let v = rules::replace_status(obj, &stored, resource_version, status, st.version)?;
        st.objects.insert(obj.clone(), v.clone());
        self.wrote(&mut st, "status", obj);
        Ok(v)
    }

    async fn delete_raw(&self, obj: &ObjRef) -> Result<Deleted, StoreError> {
        let mut st = self.lock();
        let Some(stored) = st.objects.get(obj).cloned() else {
            return Ok(Deleted::Absent);
        };
        if stored.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Deleted::Marked);
        }
        st.version += 1;
        match rules::delete(&stored, self.clock.now(), st.version) {
            (d, Some(marked)) => {
                st.objects.insert(obj.clone(), marked);
                self.wrote(&mut st, "mark-deleted", obj);
                Ok(d)
            }
            (d, None) => {
                st.objects.remove(obj);
                self.wrote(&mut st, "delete", obj);
                Ok(d)
            }
        }
    }

    async fn record_event(&self, event: Event) -> Result<(), StoreError> {
        let mut st = self.lock();
        st.writes
            .push(format!("event {} {}", event.object, event.reason));
        st.events.push(event);
        Ok(())
    }

    async fn events(&self, obj: &ObjRef) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .lock()
            .events
            .iter()
            .filter(|e| &e.object == obj)
            .cloned()
            .collect())
    }

    fn changes(&self) -> broadcast::Receiver<ObjRef> {
        self.feed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use stash::api::{BackupSession, BackupSessionPhase};

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::{Selector, StoreExt};

    fn session(name: &str) -> BackupSession {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession",
            "metadata": {"name": name, "namespace": "demo", "labels": {"stash.appscode.com/invoker-name": "pg"}},
            "spec": {"invoker": {"apiGroup": "stash.appscode.com", "kind": "BackupConfiguration", "name": "pg"}}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn typed_round_trip_and_a_write_log() {
        let store = MemoryStore::new(Arc::new(ManualClock::at("2026-11-30T10:00:00Z")));
        let mut feed = store.changes();
        store.create(&session("pg-1")).await.unwrap();
        assert_eq!(
            feed.recv().await.unwrap().to_string(),
            "BackupSession demo/pg-1"
        );
        let got: BackupSession = store.get("demo", "pg-1").await.unwrap().unwrap();
        assert_eq!(
            got.metadata.creation_timestamp.unwrap().0.to_string(),
            "2026-11-30T10:00:00Z"
        );
        let set_running = |s: &mut BackupSession| {
            s.status.get_or_insert_with(Default::default).phase = Some(BackupSessionPhase::Running)
        };
        store
            .update_status::<BackupSession, _>("demo", "pg-1", set_running)
            .await
            .unwrap();
        // The same change again writes nothing.
        store
            .update_status::<BackupSession, _>("demo", "pg-1", set_running)
            .await
            .unwrap();
        assert_eq!(
            store.take_writes(),
            vec![
                "create BackupSession demo/pg-1",
                "status BackupSession demo/pg-1"
            ]
        );
        let listed: Vec<BackupSession> = store
            .list(
                Some("demo"),
                &Selector::labels([("stash.appscode.com/invoker-name", "pg")]),
            )
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert!(store
            .list::<BackupSession>(None, &Selector::labels([("x", "y")]))
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(
            store.create(&session("pg-1")).await,
            Err(StoreError::AlreadyExists(_))
        ));
    }
}
