//! Local mode's object store: a folder (or files) of Kubernetes manifests, the same YAML a user
//! would `kubectl apply`. Multi-document files and `kind: List` are read; subfolders too;
//! hidden files and files that are not `.yaml`/`.yml`/`.json` are skipped (a file named
//! directly is always read). An object without `metadata.namespace` is in `default`, as
//! `kubectl apply` without `-n` would put it.
//!
//! Everything is read once, when the store is made, so a syntax error anywhere is reported
//! up front with its file; an object is only checked against its kind when it is asked for,
//! so one broken manifest does not stop work on the others.
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use super::{InvalidObject, ObjectRef, ObjectStore, SecretObject, StoreError};
use crate::api::object::{ObjectError, StashObject};
use crate::api::{AppBinding, Repository};

/// Namespace of objects whose manifest names none.
pub const DEFAULT_NAMESPACE: &str = "default";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    group: String,
    kind: String,
    namespace: String,
    name: String,
}

struct Entry {
    /// `file` or `file#3` (third document).
    place: String,
    value: Value,
}

/// The manifests under one or more paths, indexed by group, kind, namespace and name.
pub struct ManifestDir {
    roots: Vec<PathBuf>,
    objects: BTreeMap<Key, Vec<Entry>>,
}

impl fmt::Debug for ManifestDir {
    // Entries hold Secret data: show where they came from and how many, nothing else.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManifestDir")
            .field("roots", &self.roots)
            .field("objects", &self.objects.len())
            .finish()
    }
}

fn group_of(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

fn read_err(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Read {
        path: path.display().to_string(),
        source,
    }
}

/// Files below `root` in name order; `root` itself when it is a file.
fn manifest_files(root: &Path, out: &mut Vec<PathBuf>) -> Result<(), StoreError> {
    let meta = std::fs::metadata(root).map_err(|e| read_err(root, e))?;
    if !meta.is_dir() {
        out.push(root.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(|e| read_err(root, e))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(root, e))?;
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if p.is_dir() {
            manifest_files(&p, out)?;
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(p);
        }
    }
    Ok(())
}

impl ManifestDir {
    /// Reads every manifest under `paths` (folders or files).
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<ManifestDir, StoreError> {
        let mut files = Vec::new();
        for p in paths {
            manifest_files(p.as_ref(), &mut files)?;
        }
        let mut dir = ManifestDir {
            roots: paths.iter().map(|p| p.as_ref().to_path_buf()).collect(),
            objects: BTreeMap::new(),
        };
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| read_err(&file, e))?;
            let docs: Vec<Value> =
                serde_saphyr::from_multiple(&text).map_err(|e| StoreError::Yaml {
                    path: file.display().to_string(),
                    message: e.to_string(),
                })?;
            for (i, doc) in docs.into_iter().enumerate() {
                let place = if i == 0 {
                    file.display().to_string()
                } else {
                    format!("{}#{}", file.display(), i + 1)
                };
                dir.add(&place, doc);
            }
        }
        Ok(dir)
    }

    fn add(&mut self, place: &str, value: Value) {
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let kind = text(&value, "kind");
        if kind == "List" {
            if let Some(Value::Array(items)) = value.get("items") {
                for item in items.clone() {
                    self.add(place, item);
                }
            }
            return;
        }
        let meta = value.get("metadata").cloned().unwrap_or(Value::Null);
        let name = text(&meta, "name");
        if kind.is_empty() || name.is_empty() {
            // Not a Kubernetes object (a kustomization, a values file): not ours to judge.
            return;
        }
        let namespace = Some(text(&meta, "namespace"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_NAMESPACE.into());
        let key = Key {
            group: group_of(&text(&value, "apiVersion")).to_string(),
            kind,
            namespace,
            name,
        };
        self.objects.entry(key).or_default().push(Entry {
            place: place.to_string(),
            value,
        });
    }

    /// The one manifest of this object, or why there is none.
    fn find(
        &self,
        group: &str,
        kind: &'static str,
        namespace: &str,
        name: &str,
    ) -> Result<&Entry, StoreError> {
        let key = Key {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        let object = ObjectRef::new(kind, namespace, name);
        match self.objects.get(&key).map(Vec::as_slice) {
            Some([one]) => Ok(one),
            Some([first, second, ..]) => Err(StoreError::Duplicate {
                object,
                first: first.place.clone(),
                second: second.place.clone(),
            }),
            _ => Err(StoreError::NotFound {
                object,
                origin: self.origin(),
                hint: self.not_found_hint(group, kind, namespace, name),
            }),
        }
    }

    /// What to do, and what is there instead: same name in other namespaces, or the objects
    /// of that kind in the namespace.
    fn not_found_hint(&self, group: &str, kind: &str, namespace: &str, name: &str) -> String {
        let same_kind: Vec<&Key> = self
            .objects
            .keys()
            .filter(|k| k.group == group && k.kind == kind)
            .collect();
        let elsewhere: Vec<&str> = same_kind
            .iter()
            .filter(|k| k.name == name)
            .map(|k| k.namespace.as_str())
            .collect();
        let mut hint = ": add its manifest there, or correct the name".to_string();
        if !elsewhere.is_empty() {
            hint.push_str(&format!(
                " or namespace (one of that name is in namespace {})",
                elsewhere.join(", ")
            ));
            return hint;
        }
        let here: Vec<String> = same_kind
            .iter()
            .filter(|k| k.namespace == namespace)
            .map(|k| k.name.clone())
            .collect();
        if here.is_empty() {
            hint.push_str(&format!(" (there is no {kind} in namespace {namespace})"));
        } else {
            let shown: Vec<&str> = here.iter().take(8).map(String::as_str).collect();
            let more = if here.len() > shown.len() {
                ", …"
            } else {
                ""
            };
            hint.push_str(&format!(
                " ({kind}s in namespace {namespace}: {}{more})",
                shown.join(", ")
            ));
        }
        hint
    }

    fn invalid(
        kind: &'static str,
        namespace: &str,
        name: &str,
        entry: &Entry,
        path: String,
        message: String,
    ) -> StoreError {
        let object = ObjectRef::new(kind, namespace, name);
        StoreError::Invalid(Box::new(InvalidObject {
            object,
            origin: entry.place.clone(),
            path,
            message,
        }))
    }

    fn stash_object(
        &self,
        group: &str,
        kind: &'static str,
        namespace: &str,
        name: &str,
    ) -> Result<StashObject, StoreError> {
        let entry = self.find(group, kind, namespace, name)?;
        match StashObject::from_value(&entry.value) {
            Ok(Some(obj)) => Ok(obj),
            Ok(None) => Err(Self::invalid(
                kind,
                namespace,
                name,
                entry,
                "apiVersion".into(),
                "not a Stash API group".into(),
            )),
            Err(ObjectError::UnknownKind { api_version, .. }) => Err(Self::invalid(
                kind,
                namespace,
                name,
                entry,
                "apiVersion".into(),
                format!("{kind} is not served at {api_version:?}"),
            )),
            Err(ObjectError::Field { path, message }) => {
                Err(Self::invalid(kind, namespace, name, entry, path, message))
            }
        }
    }
}

#[async_trait]
impl ObjectStore for ManifestDir {
    fn origin(&self) -> String {
        let roots: Vec<String> = self.roots.iter().map(|p| p.display().to_string()).collect();
        format!("the manifests in {}", roots.join(", "))
    }

    async fn app_binding(&self, namespace: &str, name: &str) -> Result<AppBinding, StoreError> {
        match self.stash_object(crate::api::APPCATALOG_GROUP, "AppBinding", namespace, name)? {
            StashObject::AppBinding(ab) => Ok(*ab),
            other => unreachable!("looked up an AppBinding, parsed a {}", other.kind()),
        }
    }

    async fn repository(&self, namespace: &str, name: &str) -> Result<Repository, StoreError> {
        match self.stash_object(crate::api::STASH_GROUP, "Repository", namespace, name)? {
            StashObject::Repository(r) => Ok(*r),
            other => unreachable!("looked up a Repository, parsed a {}", other.kind()),
        }
    }

    async fn secret(&self, namespace: &str, name: &str) -> Result<SecretObject, StoreError> {
        let entry = self.find("", "Secret", namespace, name)?;
        let mut value = entry.value.clone();
        super::env::expand_secret(&mut value, |var| std::env::var(var).ok()).map_err(|e| {
            Self::invalid(
                "Secret",
                namespace,
                name,
                entry,
                format!("stringData.{}", e.key),
                e.error.to_string(),
            )
        })?;
        let secret: Secret = serde_path_to_error::deserialize(&value).map_err(|e| {
            Self::invalid(
                "Secret",
                namespace,
                name,
                entry,
                e.path().to_string(),
                e.into_inner().to_string(),
            )
        })?;
        // The API server folds stringData into data, stringData winning.
        let mut data: BTreeMap<String, Vec<u8>> = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        data.extend(
            secret
                .string_data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes())),
        );
        Ok(SecretObject::new(data))
    }
}
