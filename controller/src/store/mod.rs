//! Where the controller's objects, their status and their events live.
//!
//! [`ObjectStore`] is the seam between the reconcilers and the world: the Kubernetes API in a
//! cluster, a SQLite file under the state folder in local mode ([`sqlite`]), an in-memory map
//! in tests ([`memory`]). It speaks the API server's language — whole objects as JSON with
//! `apiVersion`, `kind`, `metadata`, `spec`, `status`; `resourceVersion` for optimistic
//! concurrency; a separate status write; deletion that waits for finalizers; events — so the
//! reconcilers behave the same on all three, and the Kubernetes implementation is a thin
//! mapping.
//!
//! The trait is object-safe and works on `serde_json::Value`; [`StoreExt`] adds the typed
//! calls reconcilers use (`get::<BackupSession>`, `update_status`, …) on top of it. The rules
//! every implementation shares (what `create` fills in, when `generation` moves, what a delete
//! does to an object with finalizers) are in [`rules`], written once.
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

pub mod local;
pub mod memory;
pub mod rules;
pub mod selector;
pub mod sqlite;

pub use local::LocalStore;
pub use memory::MemoryStore;
pub use selector::Selector;
pub use sqlite::SqliteStore;

/// A kind as the API server knows it: `stash.appscode.com/v1beta1 BackupSession`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Kind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Kind {
    pub fn of<T: Object>() -> Kind {
        Kind {
            group: T::group(&()).into_owned(),
            version: T::version(&()).into_owned(),
            kind: T::kind(&()).into_owned(),
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kind of a JSON object, from its `apiVersion` and `kind`.
    pub fn of_value(obj: &Value) -> Option<Kind> {
        let api_version = obj.get("apiVersion")?.as_str()?;
        let kind = obj.get("kind")?.as_str()?;
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        Some(Kind {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        })
    }
}

/// Which object: kind, namespace (empty for cluster-scoped kinds) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjRef {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl ObjRef {
    pub fn new(kind: Kind, namespace: &str, name: &str) -> ObjRef {
        ObjRef {
            kind,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    pub fn of<T: Object>(namespace: &str, name: &str) -> ObjRef {
        ObjRef::new(Kind::of::<T>(), namespace, name)
    }

    /// The reference of a typed object.
    pub fn to<T: Object>(obj: &T) -> ObjRef {
        let m = obj.meta();
        ObjRef::of::<T>(
            m.namespace.as_deref().unwrap_or_default(),
            m.name.as_deref().unwrap_or_default(),
        )
    }

    /// The reference of a JSON object.
    pub fn of_value(obj: &Value) -> Option<ObjRef> {
        let kind = Kind::of_value(obj)?;
        let meta = obj.get("metadata")?;
        let name = meta.get("name")?.as_str()?;
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some(ObjRef::new(kind, namespace, name))
    }

    pub fn is<T: Object>(&self) -> bool {
        self.kind == Kind::of::<T>()
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind.kind, self.namespace, self.name)
        }
    }
}

/// Any typed API object the store can hold: Stash's kinds, AppBinding, and the core kinds
/// local mode reads (Secret, PersistentVolume(Claim), workloads, CronJob).
pub trait Object:
    kube::Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Send + Sync + 'static
{
}
impl<T> Object for T where
    T: kube::Resource<DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(ObjRef),
    #[error("{0} already exists")]
    AlreadyExists(ObjRef),
    /// The object changed since it was read (its `resourceVersion` moved): read it again.
    #[error("{0} was changed by someone else: read it again")]
    Conflict(ObjRef),
    /// The object given is not a storable object (no kind, no name…).
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// The object does not parse as its Rust type.
    #[error("{object}: reading it as {kind}")]
    Decode {
        object: String,
        kind: String,
        #[source]
        source: serde_json::Error,
    },
    /// The store itself failed (a locked or unreadable database, a lost connection).
    #[error("{what}")]
    Backend {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// Worth trying again: somebody else wrote first, or the store was briefly unavailable.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict(_) | StoreError::Backend { .. })
    }

    pub fn backend(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Backend {
            what: what.into(),
            source: Box::new(source),
        }
    }
}

/// Kubernetes' event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    Normal,
    Warning,
}

/// An event recorded about an object (`kubectl describe` shows them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub object: ObjRef,
    #[serde(rename = "type")]
    pub type_: EventType,
    /// Stash's reason text, e.g. `Host Backup Succeeded`.
    pub reason: String,
    pub message: String,
    /// Stash's component, e.g. `BackupSession Controller`, `Status Updater`.
    pub source: String,
    pub time: DateTime<Utc>,
}

/// What a delete did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The object is gone.
    Gone,
    /// The object has finalizers: it is marked (`deletionTimestamp`) and stays until the last
    /// finalizer is removed.
    Marked,
    /// There was no such object.
    Absent,
}

/// Objects, status and events. See the module docs for the contract.
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Where the objects live, for messages (`state in /var/lib/stash/state.db`).
    fn origin(&self) -> String;
    async fn get_raw(&self, obj: &ObjRef) -> Result<Option<Value>, StoreError>;
    /// Objects of `kind`, in `namespace` or in all namespaces (`None`), in name order.
    async fn list_raw(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, StoreError>;
    /// Creates the object (filling in uid, creationTimestamp, resourceVersion, generation and,
    /// from `metadata.generateName`, a name). Any `status` given is kept.
    async fn create_raw(&self, obj: Value) -> Result<Value, StoreError>;
    /// Replaces metadata and spec (not status). With a `resourceVersion`, fails with
    /// [`StoreError::Conflict`] if the stored one differs. Removing the last finalizer of an
    /// object marked for deletion removes it.
    async fn replace_raw(&self, obj: Value) -> Result<Value, StoreError>;
    /// Replaces the status only, under the same `resourceVersion` rule.
    async fn replace_status_raw(
        &self,
        obj: &ObjRef,
        resource_version: Option<&str>,
        status: Value,
    ) -> Result<Value, StoreError>;
    async fn delete_raw(&self, obj: &ObjRef) -> Result<Deleted, StoreError>;
    async fn record_event(&self, event: Event) -> Result<(), StoreError>;
    /// Events about `obj`, oldest first.
    async fn events(&self, obj: &ObjRef) -> Result<Vec<Event>, StoreError>;
    /// A feed of the objects that changed (created, updated, status, deleted) from now on.
    fn changes(&self) -> broadcast::Receiver<ObjRef>;
}

fn decode<T: Object>(v: Value) -> Result<T, StoreError> {
    let object = ObjRef::of_value(&v)
        .map(|r| r.to_string())
        .unwrap_or_else(|| "an object".into());
    serde_json::from_value(v).map_err(|source| StoreError::Decode {
        object,
        kind: T::kind(&()).into_owned(),
        source,
    })
}

fn encode<T: Object>(obj: &T) -> Result<Value, StoreError> {
    let mut v = serde_json::to_value(obj).map_err(|e| StoreError::Invalid {
        what: "an object".into(),
        message: e.to_string(),
    })?;
    // Typed objects do not always carry apiVersion/kind (k8s-openapi's do, kube's CRDs do).
    if let Value::Object(m) = &mut v {
        let k = Kind::of::<T>();
        m.insert("apiVersion".into(), Value::String(k.api_version()));
        m.insert("kind".into(), Value::String(k.kind));
    }
    Ok(v)
}

/// How many times an update re-reads after a conflict.
const CONFLICT_RETRIES: usize = 8;

/// Typed calls over any [`ObjectStore`].
#[async_trait]
pub trait StoreExt: ObjectStore {
    async fn get<T: Object>(&self, namespace: &str, name: &str) -> Result<Option<T>, StoreError> {
        self.get_raw(&ObjRef::of::<T>(namespace, name))
            .await?
            .map(decode)
            .transpose()
    }

    /// Objects of `T` in `namespace` (or all) whose labels match `selector`.
    async fn list<T: Object>(
        &self,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Result<Vec<T>, StoreError> {
        let all = self.list_raw(&Kind::of::<T>(), namespace).await?;
        all.into_iter()
            .filter(|v| selector.matches(&rules::labels(v)))
            .map(decode)
            .collect()
    }

    async fn create<T: Object>(&self, obj: &T) -> Result<T, StoreError> {
        decode(self.create_raw(encode(obj)?).await?)
    }

    async fn replace<T: Object>(&self, obj: &T) -> Result<T, StoreError> {
        decode(self.replace_raw(encode(obj)?).await?)
    }

    async fn delete<T: Object>(&self, namespace: &str, name: &str) -> Result<Deleted, StoreError> {
        self.delete_raw(&ObjRef::of::<T>(namespace, name)).await
    }

    /// Reads `T`, lets `change` edit it, and writes its status back if the status changed
    /// (nothing is written otherwise). A conflict re-reads and re-applies `change`. `Ok(None)`
    /// when there is no such object.
    async fn update_status<T, F>(
        &self,
        namespace: &str,
        name: &str,
        change: F,
    ) -> Result<Option<T>, StoreError>
    where
        T: Object,
        F: FnMut(&mut T) + Send,
    {
        modify(self, ObjRef::of::<T>(namespace, name), Part::Status, change).await
    }

    /// Reads `T`, lets `change` edit metadata or spec, and writes it back if anything changed.
    async fn update<T, F>(
        &self,
        namespace: &str,
        name: &str,
        change: F,
    ) -> Result<Option<T>, StoreError>
    where
        T: Object,
        F: FnMut(&mut T) + Send,
    {
        modify(self, ObjRef::of::<T>(namespace, name), Part::Rest, change).await
    }

    /// Records an event about a typed object.
    async fn event<T: Object>(
        &self,
        obj: &T,
        type_: EventType,
        source: &str,
        reason: &str,
        message: String,
        time: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let event = Event {
            object: ObjRef::to(obj),
            type_,
            reason: reason.into(),
            message,
            source: source.into(),
            time,
        };
        self.record_event(event).await
    }
}

impl<S: ObjectStore + ?Sized> StoreExt for S {}

/// Which part of an object a write replaces: the status, or everything else.
#[derive(Clone, Copy)]
enum Part {
    Status,
    Rest,
}

impl Part {
    /// The part of `obj` this write compares and sends.
    fn of(self, obj: &Value) -> Value {
        match self {
            Part::Status => obj.get("status").cloned().unwrap_or(Value::Null),
            Part::Rest => {
                let mut v = obj.clone();
                if let Value::Object(m) = &mut v {
                    m.remove("status");
                }
                v
            }
        }
    }
}

/// Read, change, and write `part` back unless it is unchanged; a conflict starts over.
async fn modify<S, T, F>(
    store: &S,
    r: ObjRef,
    part: Part,
    mut change: F,
) -> Result<Option<T>, StoreError>
where
    S: ObjectStore + ?Sized,
    T: Object,
    F: FnMut(&mut T) + Send,
{
    for _ in 0..CONFLICT_RETRIES {
        let Some(raw) = store.get_raw(&r).await? else {
            return Ok(None);
        };
        let before = part.of(&raw);
        let rv = rules::resource_version(&raw);
        let mut obj: T = decode(raw)?;
        change(&mut obj);
        let after = part.of(&encode(&obj)?);
        if after == before {
            return Ok(Some(obj));
        }
        let written = match part {
            Part::Status => store.replace_status_raw(&r, rv.as_deref(), after).await,
            Part::Rest => store.replace_raw(after).await,
        };
        match written {
            Ok(v) => return Ok(Some(decode(v)?)),
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(r))
}
