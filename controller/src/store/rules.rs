//! The API server's rules for writes, written once for every store: what `create` fills in,
//! how `resourceVersion` guards a write, when `generation` moves, and how a delete waits for
//! finalizers. Each function takes the stored object (if any) and the write, and returns what
//! to store; the stores only keep the results and hand out resource versions.
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{Deleted, ObjRef, StoreError};

pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
    labels
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

pub fn resource_version(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(String::from)
}

fn finalizers(obj: &Value) -> usize {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

fn meta_mut(obj: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

/// RFC 3339 with seconds, as the API server writes timestamps.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A random lowercase string of `n` characters from Kubernetes' alphabet for generated names.
pub fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let mut x = h.finish();
        while x > 0 && out.len() < n {
            out.push(ALPHABET[(x % ALPHABET.len() as u64) as usize] as char);
            x /= ALPHABET.len() as u64;
        }
    }
    out
}

fn uid() -> String {
    let s = format!(
        "{}{}{}{}",
        random_suffix(8),
        random_suffix(8),
        random_suffix(8),
        random_suffix(8)
    );
    format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// A new object as it is stored: name from `generateName` if needed, uid, creation time,
/// generation 1, resource version `rv`. Errors if it has no kind or no name.
pub fn create(mut obj: Value, now: DateTime<Utc>, rv: u64) -> Result<(ObjRef, Value), StoreError> {
    let invalid = |m: &str| StoreError::Invalid {
        what: "create".into(),
        message: m.into(),
    };
    if !obj.is_object() {
        return Err(invalid("not a JSON object"));
    }
    let meta = meta_mut(&mut obj);
    let has_name = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !has_name {
        let Some(prefix) = meta
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|g| !g.is_empty())
        else {
            return Err(invalid(
                "metadata.name or metadata.generateName is required",
            ));
        };
        let name = format!("{prefix}{}", random_suffix(5));
        meta.insert("name".into(), Value::String(name));
    }
    meta.insert("uid".into(), Value::String(uid()));
    meta.insert("creationTimestamp".into(), Value::String(timestamp(now)));
    meta.insert("generation".into(), json!(1));
    meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    meta.remove("deletionTimestamp");
    let r = ObjRef::of_value(&obj).ok_or_else(|| invalid("apiVersion and kind are required"))?;
    Ok((r, obj))
}

fn check_version(r: &ObjRef, stored: &Value, given: Option<&str>) -> Result<(), StoreError> {
    match given {
        Some(v) if Some(v) != resource_version(stored).as_deref() => {
            Err(StoreError::Conflict(r.clone()))
        }
        _ => Ok(()),
    }
}

/// What a replace leaves: the object to store, or `None` when it is to be removed (the last
/// finalizer of an object marked for deletion went away).
pub fn replace(
    r: &ObjRef,
    stored: &Value,
    mut new: Value,
    rv: u64,
) -> Result<Option<Value>, StoreError> {
    check_version(r, stored, resource_version(&new).as_deref())?;
    // Status is not written here; identity and deletion are the store's.
    match stored.get("status") {
        Some(s) => new["status"] = s.clone(),
        None => {
            if let Value::Object(m) = &mut new {
                m.remove("status");
            }
        }
    }
    let old_meta = stored.get("metadata").cloned().unwrap_or(json!({}));
    let spec_changed = stored.get("spec") != new.get("spec");
    let generation = old_meta
        .get("generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        + i64::from(spec_changed);
    let meta = meta_mut(&mut new);
    for k in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "name",
        "namespace",
    ] {
        match old_meta.get(k) {
            Some(v) => meta.insert(k.into(), v.clone()),
            None => meta.remove(k),
        };
    }
    meta.insert("generation".into(), json!(generation));
    meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    let marked = old_meta.get("deletionTimestamp").is_some();
    Ok(if marked && finalizers(&new) == 0 {
        None
    } else {
        Some(new)
    })
}

/// The stored object with its status replaced.
pub fn replace_status(
    r: &ObjRef,
    stored: &Value,
    given_version: Option<&str>,
    status: Value,
    rv: u64,
) -> Result<Value, StoreError> {
    check_version(r, stored, given_version)?;
    let mut new = stored.clone();
    if status.is_null() {
        if let Value::Object(m) = &mut new {
            m.remove("status");
        }
    } else {
        new["status"] = status;
    }
    meta_mut(&mut new).insert("resourceVersion".into(), Value::String(rv.to_string()));
    Ok(new)
}

/// A delete: gone at once, or marked when finalizers remain (the object to store is returned).
pub fn delete(stored: &Value, now: DateTime<Utc>, rv: u64) -> (Deleted, Option<Value>) {
    if finalizers(stored) == 0 {
        return (Deleted::Gone, None);
    }
    let mut marked = stored.clone();
    let meta = meta_mut(&mut marked);
    if meta.get("deletionTimestamp").is_none() {
        meta.insert("deletionTimestamp".into(), Value::String(timestamp(now)));
    }
    meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    (Deleted::Marked, Some(marked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-30T10:00:00Z".parse().unwrap()
    }

    fn bs(name: &str) -> Value {
        json!({"apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession", "metadata": {"name": name, "namespace": "demo"}, "spec": {"retryLeft": 1}})
    }

    #[test]
    fn create_fills_identity_and_generates_names() {
        let (r, v) = create(bs("a"), now(), 7).unwrap();
        assert_eq!(r.to_string(), "BackupSession demo/a");
        assert_eq!(v["metadata"]["generation"], 1);
        assert_eq!(v["metadata"]["resourceVersion"], "7");
        assert_eq!(v["metadata"]["creationTimestamp"], "2026-11-30T10:00:00Z");
        let mut g = bs("");
        g["metadata"]["generateName"] = json!("pg-backup-");
        let (r, _) = create(g, now(), 8).unwrap();
        assert!(
            r.name.starts_with("pg-backup-") && r.name.len() == "pg-backup-".len() + 5,
            "{}",
            r.name
        );
        let e = create(json!({"kind": "X", "metadata": {}}), now(), 9)
            .unwrap_err()
            .to_string();
        assert!(e.contains("metadata.name"), "{e}");
    }

    #[test]
    fn replace_guards_versions_keeps_status_and_counts_spec_changes() {
        let (r, stored) = create(bs("a"), now(), 1).unwrap();
        let mut stored = replace_status(&r, &stored, None, json!({"phase": "Running"}), 2).unwrap();
        let mut new = stored.clone();
        new["status"] = json!({"phase": "Bogus"});
        new["metadata"]["labels"] = json!({"x": "y"});
        let v = replace(&r, &stored, new.clone(), 3).unwrap().unwrap();
        assert_eq!(v["status"]["phase"], "Running");
        assert_eq!(v["metadata"]["generation"], 1, "labels are not spec");
        new["spec"]["retryLeft"] = json!(0);
        new["metadata"]["resourceVersion"] = json!("2");
        let v = replace(&r, &stored, new.clone(), 4).unwrap().unwrap();
        assert_eq!(v["metadata"]["generation"], 2);
        stored = v;
        // A stale version conflicts.
        assert!(matches!(
            replace(&r, &stored, new, 5),
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            replace_status(&r, &stored, Some("1"), json!({}), 5),
            Err(StoreError::Conflict(_))
        ));
    }

    #[test]
    fn delete_waits_for_finalizers() {
        let (r, stored) = create(bs("a"), now(), 1).unwrap();
        assert_eq!(delete(&stored, now(), 2).0, Deleted::Gone);
        let mut with = stored.clone();
        with["metadata"]["finalizers"] = json!(["stash.appscode.com"]);
        let (d, marked) = delete(&with, now(), 2);
        assert_eq!(d, Deleted::Marked);
        let marked = marked.unwrap();
        assert_eq!(
            marked["metadata"]["deletionTimestamp"],
            "2026-11-30T10:00:00Z"
        );
        // Removing the finalizer removes the object.
        let mut released = marked.clone();
        released["metadata"]["finalizers"] = json!([]);
        assert!(replace(&r, &marked, released, 3).unwrap().is_none());
        // Keeping it keeps the mark, whatever the writer sent.
        let mut kept = marked.clone();
        kept["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("deletionTimestamp");
        let v = replace(&r, &marked, kept, 3).unwrap().unwrap();
        assert!(v["metadata"]["deletionTimestamp"].is_string());
    }
}
