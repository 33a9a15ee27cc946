//! Repository rules (Stash's `Repository.IsValid`) and the backend checks shared with
//! BackupBlueprint, whose spec inlines a RepositorySpec.

use super::{join, Problem};
use crate::api::repository::{FromNamespaces, MissingField, RepositorySpec};
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
    // The required-field rules live with the types (`required_*`); storage reads them too.
    let mut missing = Vec::new();
    if let Some(local) = &backend.local {
        match local.required_mount_path() {
            Err(m) => missing.push(m),
            Ok(mp) if mp.split('/').nth(1) == Some("stash") => out.push(Problem::at(
                join(&backend_path, "local.mountPath"),
                "`/stash` and `/stash/*` cannot be used as mountPath: the stash binary lives in /stash; \
                 use `/stash-backup` or any other path",
            )),
            Ok(_) => {}
        }
    }
    if let Some(s3) = &backend.s3 {
        missing.extend(s3.required_bucket().err());
        missing.extend(s3.required_endpoint().err());
    }
    missing.extend(backend.gcs.as_ref().and_then(|g| g.required_bucket().err()));
    missing.extend(
        backend
            .azure
            .as_ref()
            .and_then(|a| a.required_container().err()),
    );
    missing.extend(
        backend
            .swift
            .as_ref()
            .and_then(|s| s.required_container().err()),
    );
    missing.extend(backend.b2.as_ref().and_then(|b| b.required_bucket().err()));
    missing.extend(backend.rest.as_ref().and_then(|r| r.required_url().err()));
    for MissingField(path) in missing {
        out.push(Problem::required(join(&backend_path, path)));
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
