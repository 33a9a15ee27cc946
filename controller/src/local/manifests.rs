//! Reading a manifests folder the way `kubectl apply -f DIR -R` would, tolerating what is
//! broken: every file is read, every document of every file is looked at, and a document that
//! cannot be used (not YAML, no kind or name, an unknown Stash kind, a field of the wrong type,
//! a Stash object its admission rules refuse, as the webhook would in a cluster) becomes a
//! [`Problem`] naming its file, kind, name and field, while the rest is applied.
//! [`apply`] then makes the state store hold exactly the folder's objects: created, updated
//! when their spec, labels or annotations changed, deleted when their file no longer holds
//! them. Objects created by the controller itself are left alone.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use stash::api::object::{is_stash_group, StashObject};

use crate::store::{Kind, ObjRef, ObjectStore, StoreError};

/// Namespace of objects whose manifest names none.
pub const DEFAULT_NAMESPACE: &str = "default";
/// Annotation on objects applied from a manifest: the file they came from.
pub const SOURCE_ANNOTATION: &str = "local.stash.appscode.com/manifest";

/// Kinds without a namespace.
const CLUSTER_SCOPED: &[&str] = &[
    "Function",
    "Task",
    "BackupBlueprint",
    "PersistentVolume",
    "Namespace",
    "StorageClass",
];

/// One usable document.
#[derive(Clone, Debug)]
pub struct Doc {
    /// `file` or `file#3`.
    pub place: String,
    pub value: Value,
}

/// A document that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub place: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

#[derive(Debug, Default)]
pub struct Manifests {
    pub objects: Vec<Doc>,
    pub problems: Vec<Problem>,
}

fn files(root: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            return problems.push(Problem {
                place: root.display().to_string(),
                message: format!("cannot read: {e}"),
            })
        }
    };
    if !meta.is_dir() {
        return out.push(root.to_path_buf());
    }
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(root) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            return problems.push(Problem {
                place: root.display().to_string(),
                message: format!("cannot read: {e}"),
            })
        }
    };
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            files(&p, out, problems);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p);
        }
    }
}

fn describe(v: &Value) -> String {
    let s = |k: &str| {
        v.pointer(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let ns = s("/metadata/namespace");
    let ns = if ns.is_empty() {
        DEFAULT_NAMESPACE.to_string()
    } else {
        ns
    };
    format!("{} {ns}/{}", s("/kind"), s("/metadata/name"))
}

fn add(place: &str, mut value: Value, out: &mut Manifests) {
    let text = |v: &Value, p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if text(&value, "/kind") == "List" {
        for item in value
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            add(place, item, out);
        }
        return;
    }
    if value.is_null() {
        return;
    }
    let (kind, name) = (text(&value, "/kind"), text(&value, "/metadata/name"));
    if kind.is_empty() || name.is_empty() || text(&value, "/apiVersion").is_empty() {
        out.problems.push(Problem {
            place: place.into(),
            message: "not a Kubernetes object: apiVersion, kind and metadata.name are required"
                .into(),
        });
        return;
    }
    if is_stash_group(&text(&value, "/apiVersion")) {
        let obj = match StashObject::from_value(&value) {
            Ok(obj) => obj,
            Err(e) => {
                let message = match e {
                    stash::api::object::ObjectError::Field { path, message } => {
                        format!("{}: field {path}: {message}", describe(&value))
                    }
                    other => format!("{}: {other}", describe(&value)),
                };
                out.problems.push(Problem {
                    place: place.into(),
                    message,
                });
                return;
            }
        };
        // Admission: what Stash's webhook refuses is not applied.
        let refused = obj
            .as_ref()
            .map(stash::api::validate::validate)
            .unwrap_or_default();
        if !refused.is_empty() {
            out.problems.extend(refused.into_iter().map(|p| Problem {
                place: place.into(),
                message: p.to_string(),
            }));
            return;
        }
    }
    if kind == "Secret" && text(&value, "/apiVersion") == "v1" {
        if let Err(e) =
            stash::store::env::expand_secret(&mut value, |name| std::env::var(name).ok())
        {
            out.problems.push(Problem {
                place: place.into(),
                message: format!("{}: {e}", describe(&value)),
            });
            return;
        }
    }
    if !CLUSTER_SCOPED.contains(&kind.as_str()) && text(&value, "/metadata/namespace").is_empty() {
        value["metadata"]["namespace"] = Value::String(DEFAULT_NAMESPACE.into());
    }
    out.objects.push(Doc {
        place: place.into(),
        value,
    });
}

/// Reads every manifest under `roots`.
pub fn read_manifests(roots: &[PathBuf]) -> Manifests {
    let mut out = Manifests::default();
    let mut list = Vec::new();
    for r in roots {
        files(r, &mut list, &mut out.problems);
    }
    for file in list {
        let place = file.display().to_string();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                out.problems.push(Problem {
                    place,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match serde_saphyr::from_multiple::<Value>(&text) {
            Ok(docs) => {
                for (i, doc) in docs.into_iter().enumerate() {
                    let p = if i == 0 {
                        place.clone()
                    } else {
                        format!("{place}#{}", i + 1)
                    };
                    add(&p, doc, &mut out);
                }
            }
            Err(e) => out.problems.push(Problem {
                place,
                message: format!("not YAML: {e}"),
            }),
        }
    }
    out
}

/// Where an object keeps the manifest it was last applied from, as `kubectl apply` keeps it.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `kubectl apply`'s three-way merge, on JSON: fields the manifest sets take its values, fields
/// the previous manifest set and this one no longer does are removed, and fields no manifest
/// ever set (status, the server's metadata, `spec.paused` set by `stash pause`) are kept.
/// Objects merge field by field; anything else (lists included) is replaced whole.
fn three_way(stored: &Value, last: &Value, want: &Value) -> Value {
    let (Value::Object(s), Value::Object(w)) = (stored, want) else {
        return want.clone();
    };
    let mut out = s.clone();
    if let Value::Object(l) = last {
        for k in l.keys().filter(|k| !w.contains_key(*k)) {
            out.remove(k);
        }
    }
    for (k, wv) in w {
        let sv = s.get(k).unwrap_or(&Value::Null);
        let lv = last.get(k).unwrap_or(&Value::Null);
        out.insert(k.clone(), three_way(sv, lv, wv));
    }
    Value::Object(out)
}

/// The manifest an object was last applied from (`Null` if none).
fn last_applied(stored: &Value) -> Value {
    stored
        .pointer(&format!(
            "/metadata/annotations/{}",
            LAST_APPLIED.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// `want` carrying itself as its last-applied configuration.
fn with_last_applied(want: &Value) -> Value {
    let mut v = want.clone();
    v["metadata"]["annotations"][LAST_APPLIED] = Value::String(want.to_string());
    v
}

/// What [`apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    /// The folder's objects now in the store.
    pub seen: BTreeSet<ObjRef>,
    /// Those created, updated or deleted.
    pub changed: Vec<ObjRef>,
    /// Objects the store refused (the others were applied).
    pub problems: Vec<Problem>,
}

/// Makes the store hold the folder's objects (Secrets excepted: the local store reads them
/// from the folder directly). `previous` is what the folder held before, so that what left it
/// is deleted. An object the store refuses is a problem of its own; only a failing store
/// stops the rest.
pub async fn apply(
    store: &dyn ObjectStore,
    m: &Manifests,
    previous: &BTreeSet<ObjRef>,
) -> Result<Applied, StoreError> {
    let mut seen = BTreeSet::new();
    let mut changed = Vec::new();
    let mut problems = Vec::new();
    let mut by_ref: BTreeMap<ObjRef, &Doc> = BTreeMap::new();
    for d in &m.objects {
        if let Some(r) = ObjRef::of_value(&d.value) {
            if r.kind.group.is_empty() && r.kind.kind == "Secret" {
                continue;
            }
            by_ref.insert(r, d);
        }
    }
    for (r, d) in by_ref {
        let mut want = d.value.clone();
        want["metadata"]["annotations"][SOURCE_ANNOTATION] =
            Value::String(d.place.split('#').next().unwrap_or_default().to_string());
        if let Value::Object(o) = &mut want {
            o.remove("status");
        }
        seen.insert(r.clone());
        let written = match store.get_raw(&r).await? {
            None => store.create_raw(with_last_applied(&want)).await.map(Some),
            Some(stored) => {
                let last = last_applied(&stored);
                if last == want {
                    Ok(None)
                } else {
                    let merged = three_way(&stored, &last, &with_last_applied(&want));
                    store.replace_raw(merged).await.map(Some)
                }
            }
        };
        match written {
            Ok(Some(_)) => changed.push(r),
            Ok(None) => {}
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => problems.push(Problem {
                place: d.place.clone(),
                message: format!("{} {}/{}: {e}", r.kind.kind, r.namespace, r.name),
            }),
        }
    }
    for gone in previous.difference(&seen) {
        store.delete_raw(gone).await?;
        changed.push(gone.clone());
    }
    Ok(Applied {
        seen,
        changed,
        problems,
    })
}

/// What the folder looks like (each file's path, size and modification time): when this is
/// unchanged the folder need not be read again.
pub fn fingerprint(roots: &[PathBuf]) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let (mut list, mut problems) = (Vec::new(), Vec::new());
    for r in roots {
        files(r, &mut list, &mut problems);
    }
    list.into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (p, len, modified)
        })
        .collect()
}

/// Objects in the store that came from manifests (to know what a removed file takes with it).
pub async fn applied_objects(
    store: &dyn ObjectStore,
    kinds: &[Kind],
) -> Result<BTreeSet<ObjRef>, StoreError> {
    let mut out = BTreeSet::new();
    for k in kinds {
        for v in store.list_raw(k, None).await? {
            if v.pointer(&format!(
                "/metadata/annotations/{}",
                SOURCE_ANNOTATION.replace('/', "~1")
            ))
            .is_some()
            {
                if let Some(r) = ObjRef::of_value(&v) {
                    out.insert(r);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;

    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    const REPO: &str = "apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata: {name: repo}
spec:
  backend:
    local: {mountPath: /tmp/r, hostPath: {path: /tmp/r}}
    storageSecretName: s
";

    #[test]
    fn annotated_secrets_take_values_from_the_environment() {
        std::env::set_var("STASH_TEST_MANIFESTS_PW", "from-env");
        std::env::remove_var("STASH_TEST_MANIFESTS_UNSET");
        let secret = |name: &str, var: &str| {
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  annotations: {{local.stash.appscode.com/expand-env: \"true\"}}\nstringData: {{password: \"${{{var}}}\"}}\n"
            )
        };
        let dir = folder(&[
            ("a.yaml", &secret("set", "STASH_TEST_MANIFESTS_PW")),
            ("b.yaml", &secret("unset", "STASH_TEST_MANIFESTS_UNSET")),
        ]);
        let m = read_manifests(&[dir.path().to_path_buf()]);
        assert_eq!(m.objects.len(), 1);
        assert_eq!(m.objects[0].value["stringData"]["password"], "from-env");
        let text: Vec<String> = m.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(text.len(), 1, "{text:#?}");
        assert!(
            text[0].contains("b.yaml: Secret default/unset: stringData.password: ${STASH_TEST_MANIFESTS_UNSET} is not set"),
            "{text:#?}"
        );
    }

    #[tokio::test]
    async fn broken_documents_are_problems_and_the_rest_is_applied() {
        let dir = folder(&[
            ("a.yaml", REPO),
            ("b.yaml", "kind: [unclosed"),
            (
                "c.yaml",
                "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: bc}\nspec: {paused: maybe}\n",
            ),
            ("d.yaml", "apiVersion: stash.appscode.com/v1beta1\nkind: Nonsense\nmetadata: {name: odd}\n"),
            // Well-formed, but refused by Stash's admission rules.
            (
                "e.yaml",
                REPO.replace("name: repo", "name: wiped")
                    .replace("spec:\n", "spec:\n  wipeOut: true\n")
                    .as_str(),
            ),
        ]);
        let m = read_manifests(&[dir.path().to_path_buf()]);
        let text: Vec<String> = m.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(m.problems.len(), 4, "{text:#?}");
        assert!(
            text[3].ends_with("e.yaml: Repository/wiped: spec.wipeOut: wipe out operation is not supported for local backend"),
            "{text:#?}"
        );
        assert!(
            text[0].contains("b.yaml") && text[0].contains("not YAML"),
            "{text:#?}"
        );
        assert!(
            text[1].contains("c.yaml")
                && text[1].contains("BackupConfiguration default/bc")
                && text[1].contains("spec.paused"),
            "{text:#?}"
        );
        assert!(
            text[2].contains("d.yaml") && text[2].contains("Nonsense"),
            "{text:#?}"
        );
        assert_eq!(m.objects.len(), 1);
    }

    #[tokio::test]
    async fn apply_creates_updates_deletes_and_then_writes_nothing() {
        let store = MemoryStore::new(Arc::new(ManualClock::at("2026-11-30T10:00:00Z")));
        let dir = folder(&[("a.yaml", REPO)]);
        let roots = [dir.path().to_path_buf()];
        let first = apply(&store, &read_manifests(&roots), &BTreeSet::new())
            .await
            .unwrap();
        assert_eq!(first.changed.len(), 1);
        assert!(first.problems.is_empty());
        store.take_writes();
        let again = apply(&store, &read_manifests(&roots), &first.seen)
            .await
            .unwrap();
        assert!(again.changed.is_empty());
        assert!(
            store.take_writes().is_empty(),
            "a second apply writes nothing"
        );

        std::fs::write(dir.path().join("a.yaml"), REPO.replace("/tmp/r", "/tmp/q")).unwrap();
        let edited = apply(&store, &read_manifests(&roots), &again.seen)
            .await
            .unwrap();
        assert_eq!(edited.changed.len(), 1);
        let stored = store.get_raw(&first.changed[0]).await.unwrap().unwrap();
        assert_eq!(stored["spec"]["backend"]["local"]["mountPath"], "/tmp/q");

        std::fs::remove_file(dir.path().join("a.yaml")).unwrap();
        let removed = apply(&store, &read_manifests(&roots), &edited.seen)
            .await
            .unwrap();
        assert_eq!(removed.changed.len(), 1);
        assert!(store.get_raw(&first.changed[0]).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn apply_merges_three_ways_and_keeps_what_no_manifest_set() {
        let store = MemoryStore::new(Arc::new(ManualClock::at("2026-11-30T10:00:00Z")));
        let bc = "apiVersion: stash.appscode.com/v1beta1\nkind: BackupConfiguration\nmetadata: {name: bc}\nspec:\n  schedule: '@daily'\n  repository: {name: r}\n  target: {ref: {apiVersion: apps/v1, kind: Deployment, name: app}, paths: [/data]}\n  retentionPolicy: {name: keep, keepLast: 1, prune: true}\n  timeOut: 1h\n";
        let dir = folder(&[("bc.yaml", bc)]);
        let roots = [dir.path().to_path_buf()];
        let m = read_manifests(&roots);
        assert_eq!(m.problems, vec![], "the test's manifest is admitted");
        let first = apply(&store, &m, &BTreeSet::new()).await.unwrap();
        let r = first.changed[0].clone();
        // `stash pause` sets a field no manifest set.
        let mut v = store.get_raw(&r).await.unwrap().unwrap();
        v["spec"]["paused"] = Value::Bool(true);
        store.replace_raw(v).await.unwrap();
        let same = apply(&store, &read_manifests(&roots), &first.seen)
            .await
            .unwrap();
        assert!(
            same.changed.is_empty(),
            "an unchanged file is not applied again"
        );
        // The file changes elsewhere (schedule) and drops timeOut: paused stays, timeOut goes.
        std::fs::write(
            dir.path().join("bc.yaml"),
            bc.replace("'@daily'", "'@hourly'")
                .replace("  timeOut: 1h\n", ""),
        )
        .unwrap();
        apply(&store, &read_manifests(&roots), &same.seen)
            .await
            .unwrap();
        let v = store.get_raw(&r).await.unwrap().unwrap();
        assert_eq!(v["spec"]["schedule"], "@hourly");
        assert_eq!(v["spec"]["paused"], true);
        assert!(v["spec"].get("timeOut").is_none(), "{v:#}");
    }
}
