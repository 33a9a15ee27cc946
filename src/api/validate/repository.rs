//! Repository rules (Stash's `Repository.IsValid`) and the backend checks shared with
//! BackupBlueprint, whose spec inlines a RepositorySpec.

use super::{join, Problem};
use crate::api::repository::{FromNamespaces, RepositorySpec};
use crate::api::Repository;

pub(super) fn repository(r: &Repository) -> Vec<Problem> {
    repository_spec(&r.spec, "spec")
}

/// Rules of a RepositorySpec found at `base`.
pub(super) fn repository_spec(spec: &RepositorySpec, base: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    let backend_path = join(base, "backend");
    let Some(backend) = &spec.backend else {
        out.push(Problem::required(backend_path));
        return out;
    };
    let providers = backend.providers();
    if providers.len() != 1 {
        out.push(Problem::at(
            &backend_path,
            format!(
                "exactly one of local, s3, gcs, azure, swift, b2, rest must be set, found {}",
                if providers.is_empty() {
                    "none".to_string()
                } else {
                    providers.join(", ")
                }
            ),
        ));
    }
    if backend
        .storage_secret_name
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        out.push(Problem::at(
            join(&backend_path, "storageSecretName"),
            "Required value: the storage Secret holds RESTIC_PASSWORD",
        ));
    }
    let wipe_out = spec.wipe_out.unwrap_or(false);
    if wipe_out && backend.local.is_some() {
        out.push(Problem::at(
            join(base, "wipeOut"),
            "wipe out operation is not supported for local backend",
        ));
    } else if wipe_out && backend.b2.is_some() {
        out.push(Problem::at(
            join(base, "wipeOut"),
            "wipe out operation is not supported for B2 backend",
        ));
    }
    let empty = |v: &Option<String>| v.as_deref().unwrap_or_default().is_empty();
    if let Some(local) = &backend.local {
        let p = join(&backend_path, "local.mountPath");
        match local.mount_path.as_deref().unwrap_or_default() {
            "" => out.push(Problem::required(p)),
            mp if mp.split('/').nth(1) == Some("stash") => out.push(Problem::at(
                p,
                "`/stash` and `/stash/*` cannot be used as mountPath: the stash binary lives in /stash; \
                 use `/stash-backup` or any other path",
            )),
            _ => {}
        }
    }
    if let Some(s3) = &backend.s3 {
        if empty(&s3.bucket) {
            out.push(Problem::required(join(&backend_path, "s3.bucket")));
        }
        if empty(&s3.endpoint) {
            out.push(Problem::required(join(&backend_path, "s3.endpoint")));
        }
    }
    if backend.gcs.as_ref().is_some_and(|g| empty(&g.bucket)) {
        out.push(Problem::required(join(&backend_path, "gcs.bucket")));
    }
    if backend.azure.as_ref().is_some_and(|a| empty(&a.container)) {
        out.push(Problem::required(join(&backend_path, "azure.container")));
    }
    if backend.swift.as_ref().is_some_and(|s| empty(&s.container)) {
        out.push(Problem::required(join(&backend_path, "swift.container")));
    }
    if backend.b2.as_ref().is_some_and(|b| empty(&b.bucket)) {
        out.push(Problem::required(join(&backend_path, "b2.bucket")));
    }
    if backend.rest.as_ref().is_some_and(|r| empty(&r.url)) {
        out.push(Problem::required(join(&backend_path, "rest.url")));
    }
    if let Some(allowed) = spec
        .usage_policy
        .as_ref()
        .and_then(|u| u.allowed_namespaces.as_ref())
    {
        if allowed.from == Some(FromNamespaces::Selector) && allowed.selector.is_none() {
            out.push(Problem::at(
                join(base, "usagePolicy.allowedNamespaces.selector"),
                "Required value: a selector is needed when `from` is Selector",
            ));
        }
    }
    out
}
