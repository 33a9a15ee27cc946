//! The repository a step works on. Stash's way: `--provider/--bucket/--endpoint/--region/
//! --path/--insecure-tls` describe the Repository's backend and `--storage-secret-name`
//! names the Secret with `RESTIC_PASSWORD` and the provider's keys; they build the
//! Repository's `spec.backend` itself (the API's [`Backend`]), which opens exactly as a
//! Repository object's does. A backup initialises the repository when there is none yet
//! (Stash's `InitializeBackendRepository` pre-backup action). Without `--provider`, restic's
//! way: `-r/--repo` and `RESTIC_PASSWORD`.
//!
//! A `local` repository is the folder `--path` names: inside a backup Job that is where the
//! volume is mounted (`mountPath`); in local mode, where the folder is on this machine.
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use stash::api::repository::{
    AzureSpec, B2Spec, Backend, GCSSpec, LocalSpec, RestServerSpec, S3Spec, SwiftSpec,
};
use stash::engine::keyfile::KdfParams;
use stash::engine::{RepoError, Repository};
use stash::storage::LocalAccess;

use super::flags::{nonempty, RepoFlags, SourceFlags};
use super::objects::Objects;
use crate::cli::GlobalArgs;

/// Repository format of repositories we create (restic ≥ 0.14 reads it).
const NEW_REPO_VERSION: u32 = 2;

/// `--provider` and friends as a Repository backend.
pub fn backend_spec(f: &RepoFlags) -> anyhow::Result<Backend> {
    let provider = nonempty(&f.provider).unwrap_or_default();
    let need = |flag: &str, value: &str, what: &str| -> anyhow::Result<String> {
        nonempty(value)
            .map(String::from)
            .ok_or_else(|| anyhow!("--provider={provider} needs --{flag}: {what}"))
    };
    let bucket = || {
        need(
            "bucket",
            &f.bucket,
            "the bucket or container (the Repository's spec.backend)",
        )
    };
    let prefix = nonempty(&f.path).map(String::from);
    let connections = Some(f.max_connections.max(0));
    let mut spec = Backend::default();
    match provider {
        "local" => {
            // Stash has put the folder in REPOSITORY_BUCKET or REPOSITORY_PREFIX over time.
            let dir = match (nonempty(&f.bucket), nonempty(&f.path)) {
                (Some(b), Some(p)) => Path::new(b).join(p.trim_start_matches('/')).display().to_string(),
                (Some(one), None) | (None, Some(one)) => one.to_string(),
                (None, None) => bail!(
                    "--provider=local needs --path: the repository folder (the Repository's spec.backend.local.mountPath)"
                ),
            };
            spec.local = Some(LocalSpec {
                mount_path: Some(dir),
                ..Default::default()
            });
        }
        "s3" => {
            spec.s3 = Some(S3Spec {
                endpoint: nonempty(&f.endpoint).map(String::from),
                bucket: Some(bucket()?),
                prefix,
                region: nonempty(&f.region).map(String::from),
                insecure_tls: Some(f.insecure_tls),
            })
        }
        "gcs" => {
            spec.gcs = Some(GCSSpec {
                bucket: Some(bucket()?),
                prefix,
                max_connections: connections,
            })
        }
        "azure" => {
            spec.azure = Some(AzureSpec {
                container: Some(bucket()?),
                prefix,
                max_connections: connections,
            })
        }
        "b2" => {
            spec.b2 = Some(B2Spec {
                bucket: Some(bucket()?),
                prefix,
                max_connections: connections,
            })
        }
        "swift" => {
            spec.swift = Some(SwiftSpec {
                container: Some(bucket()?),
                prefix,
            })
        }
        "rest" => {
            spec.rest = Some(RestServerSpec {
                url: Some(need("endpoint", &f.endpoint, "the REST server's URL")?),
            })
        }
        other => {
            bail!("invalid --provider {other:?}: use local, s3, gcs, azure, swift, b2 or rest")
        }
    }
    Ok(spec)
}

/// Opens (with `init`: creates if missing) the repository the flags name.
pub async fn open(
    g: &GlobalArgs,
    f: &RepoFlags,
    source: &SourceFlags,
    objects: &Objects,
    init: bool,
) -> anyhow::Result<Arc<Repository>> {
    if nonempty(&f.provider).is_none() {
        if g.repo.is_some() {
            return g.open().await;
        }
        bail!(
            "say where the repository is: --provider with --bucket/--path/… and --storage-secret-name (as the catalog's \
             Functions pass them), or -r/--repo with RESTIC_PASSWORD"
        );
    }
    let spec = backend_spec(f)?;
    let Some(secret_name) = nonempty(&f.storage_secret_name) else {
        bail!("--provider={} needs --storage-secret-name: the Secret holding RESTIC_PASSWORD and the provider's keys", f.provider);
    };
    let ns = nonempty(&f.storage_secret_namespace).unwrap_or(source.namespace());
    let what = format!("storage Secret {ns}/{secret_name} (--storage-secret-name)");
    let secret = objects
        .get("--storage-secret-name")?
        .secret(ns, secret_name)
        .await
        .with_context(|| what.clone())?
        .into_storage_secret();
    let password = secret
        .restic_password()
        .with_context(|| format!("{what}: add the repository password under RESTIC_PASSWORD"))?;
    let config = spec
        .config(&secret, LocalAccess::Mounted)
        .with_context(|| format!("the repository of --provider={}", f.provider))?;
    let mut opts = g.options()?;
    let connections = usize::try_from(f.max_connections).unwrap_or(0);
    if let Some(n) = Some(connections).filter(|n| *n > 0).or(spec.connections()) {
        opts.connections = n;
    }
    let location = config.location();
    let backend = config
        .open(init)
        .with_context(|| format!("the repository of --provider={}", f.provider))?;
    match Repository::open(backend.clone(), password.expose(), opts.clone()).await {
        Ok(r) => Ok(Arc::new(r)),
        Err(RepoError::NotARepository { .. }) if init => {
            tracing::info!(%location, "no repository there yet: initialising it");
            match Repository::init(
                backend.clone(),
                password.expose(),
                NEW_REPO_VERSION,
                KdfParams::default(),
                opts.clone(),
            )
            .await
            {
                Ok(r) => Ok(Arc::new(r)),
                // Another step initialised it at the same moment: use theirs.
                Err(RepoError::AlreadyInitialized { .. }) => Ok(Arc::new(
                    Repository::open(backend, password.expose(), opts).await?,
                )),
                Err(e) => {
                    Err(e).with_context(|| format!("initialising a repository at {location}"))
                }
            }
        }
        Err(e) => Err(e).with_context(|| format!("opening the repository at {location}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(provider: &str, bucket: &str, path: &str, endpoint: &str) -> RepoFlags {
        RepoFlags {
            provider: provider.into(),
            bucket: bucket.into(),
            endpoint: endpoint.into(),
            region: String::new(),
            path: path.into(),
            insecure_tls: false,
            storage_secret_name: "s".into(),
            storage_secret_namespace: String::new(),
            scratch_dir: String::new(),
            enable_cache: true,
            max_connections: 3,
        }
    }

    #[test]
    fn providers_map_onto_backends() {
        let s = backend_spec(&flags("local", "", "/safe/data", "")).unwrap();
        assert_eq!(s.local.unwrap().mount_path.unwrap(), "/safe/data");
        let s = backend_spec(&flags("local", "/mnt", "repo", "")).unwrap();
        assert_eq!(s.local.unwrap().mount_path.unwrap(), "/mnt/repo");
        let s = backend_spec(&flags("s3", "b", "demo/pg", "http://127.0.0.1:9000"))
            .unwrap()
            .s3
            .unwrap();
        assert_eq!(
            (s.endpoint.unwrap(), s.bucket.unwrap(), s.prefix.unwrap()),
            ("http://127.0.0.1:9000".into(), "b".into(), "demo/pg".into())
        );
        assert_eq!(
            backend_spec(&flags("gcs", "b", "p", ""))
                .unwrap()
                .connections(),
            Some(3)
        );
        assert_eq!(
            backend_spec(&flags("rest", "", "", "http://rest:8000/r"))
                .unwrap()
                .rest
                .unwrap()
                .url
                .unwrap(),
            "http://rest:8000/r"
        );
    }

    #[test]
    fn missing_pieces_name_the_flag() {
        let e = backend_spec(&flags("s3", "", "p", ""))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--provider=s3 needs --bucket"), "{e}");
        let e = backend_spec(&flags("local", "", "", ""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--provider=local needs --path") && e.contains("mountPath"),
            "{e}"
        );
        let e = backend_spec(&flags("rest", "", "", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs --endpoint"), "{e}");
        let e = backend_spec(&flags("ftp", "b", "", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid --provider \"ftp\""), "{e}");
    }
}
