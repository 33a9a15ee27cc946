//! Rules for the remaining kinds: BackupSession, Function, Task (placeholders must be
//! well-formed) and AppBinding (how to reach the app must be unambiguous).

use super::{join, Problem};
use crate::api::resolve::subst;
use crate::api::{AppBinding, BackupSession, Function, Task};

pub(super) fn backup_session(s: &BackupSession) -> Vec<Problem> {
    let mut out = Vec::new();
    match &s.spec.invoker {
        None => out.push(Problem::required("spec.invoker")),
        Some(inv) => {
            if !matches!(inv.kind.as_str(), "BackupConfiguration" | "BackupBatch") {
                out.push(Problem::at(
                    "spec.invoker.kind",
                    format!(
                        "Unsupported value: {:?}: supported values: \"BackupConfiguration\", \"BackupBatch\"",
                        inv.kind
                    ),
                ));
            }
            if inv.name.is_empty() {
                out.push(Problem::required("spec.invoker.name"));
            }
        }
    }
    if s.spec.retry_left.is_some_and(|r| r < 0) {
        out.push(Problem::at(
            "spec.retryLeft",
            "must be greater than or equal to 0",
        ));
    }
    out
}

pub(super) fn function(f: &Function) -> Vec<Problem> {
    let mut out = Vec::new();
    if f.spec.image.as_deref().unwrap_or_default().is_empty() {
        out.push(Problem::required("spec.image"));
    }
    placeholders(
        &serde_json::to_value(&f.spec).unwrap_or_default(),
        "spec",
        &mut out,
    );
    out
}

pub(super) fn task(t: &Task) -> Vec<Problem> {
    let mut out = Vec::new();
    if t.spec.steps().is_empty() {
        out.push(Problem::at(
            "spec.steps",
            "Required value: a Task needs at least one step",
        ));
    }
    for (i, step) in t.spec.steps().iter().enumerate() {
        if step.name.is_empty() {
            out.push(Problem::required(format!("spec.steps[{i}].name")));
        }
    }
    placeholders(
        &serde_json::to_value(&t.spec).unwrap_or_default(),
        "spec",
        &mut out,
    );
    out
}

/// Every string must have well-formed `${…}` placeholders.
fn placeholders(v: &serde_json::Value, path: &str, out: &mut Vec<Problem>) {
    match v {
        serde_json::Value::String(s) => {
            if let Err(e) = subst::parse(s) {
                out.push(Problem::at(path, e.to_string()));
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                placeholders(item, &format!("{path}[{i}]"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                placeholders(item, &join(path, k), out);
            }
        }
        _ => {}
    }
}

pub(super) fn appbinding(ab: &AppBinding) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(cc) = &ab.spec.client_config else {
        out.push(Problem::required("spec.clientConfig"));
        return out;
    };
    match (&cc.url, &cc.service) {
        (Some(_), Some(_)) | (None, None) => out.push(Problem::at(
            "spec.clientConfig",
            "exactly one of url or service must be specified",
        )),
        (Some(url), None) => {
            if let Err(e) = crate::api::resolve::appbinding::parse_url(url) {
                out.push(Problem::at("spec.clientConfig.url", e.to_string()));
            }
        }
        (None, Some(svc)) => {
            if svc.name.is_empty() {
                out.push(Problem::required("spec.clientConfig.service.name"));
            }
            if !(0..=65535).contains(&svc.port) {
                out.push(Problem::at(
                    "spec.clientConfig.service.port",
                    format!("must be between 0 and 65535, got {}", svc.port),
                ));
            }
        }
    }
    if let Some(secret) = &ab.spec.secret {
        if secret.name.is_empty() {
            out.push(Problem::required("spec.secret.name"));
        }
    }
    for (i, t) in ab.spec.secret_transforms.iter().flatten().enumerate() {
        let set = [
            t.rename_key.is_some(),
            t.add_key.is_some(),
            t.add_keys_from.is_some(),
            t.remove_key.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if set != 1 {
            out.push(Problem::at(
                format!("spec.secretTransforms[{i}]"),
                format!("exactly one of renameKey, addKey, addKeysFrom, removeKey must be set, found {set}"),
            ));
        }
        if let Some(from) = &t.add_keys_from {
            if from.secret_ref.as_ref().is_none_or(|r| r.name.is_empty()) {
                out.push(Problem::required(format!(
                    "spec.secretTransforms[{i}].addKeysFrom.secretRef.name"
                )));
            }
        }
    }
    if let Some(p) = &ab.spec.parameters {
        if !p.is_object() {
            out.push(Problem::at("spec.parameters", "must be an object"));
        }
    }
    out
}
