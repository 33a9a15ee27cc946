//! `stash.appscode.com/v1alpha1` Repository: where a restic repository lives (`backend`), who may
//! use it (`usagePolicy`), and what the last backup left there (`status`). Also
//! [`RetentionPolicy`], which Stash declares in v1alpha1 and the v1beta1 invokers embed.
//!
//! The backend is kmodules' objectstore `Backend`: one struct with one optional member per
//! provider, not a Rust enum, because that is the wire shape (and validation, not parsing, is
//! where "exactly one provider" is reported with a field path).

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::TypedObjectReference;

/// Repository spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "stash.appscode.com",
    version = "v1alpha1",
    kind = "Repository",
    plural = "repositories",
    singular = "repository",
    namespaced,
    status = "RepositoryStatus",
    shortname = "repo",
    category = "stash",
    category = "appscode",
    printcolumn(name = "Integrity", type_ = "boolean", json_path = ".status.integrity"),
    printcolumn(name = "Size", type_ = "string", json_path = ".status.totalSize"),
    printcolumn(
        name = "Snapshot-Count",
        type_ = "integer",
        json_path = ".status.snapshotCount"
    ),
    printcolumn(
        name = "Last-Successful-Backup",
        type_ = "date",
        format = "date-time",
        json_path = ".status.lastBackupTime"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "Repository holds the backend information of a restic repository"
)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// Delete every object under the backend's bucket/prefix when the Repository is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wipe_out: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_policy: Option<UsagePolicy>,
}

/// Repository status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_backup_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots_removed_on_last_cleanup: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<Vec<TypedObjectReference>>,
}

// The only spec type of a backend: storage opens it as it is (`Backend::config`, implemented in
// `crate::storage::backends`), and restic's repository strings and the `--provider` flags are
// read into it. (A plain comment: doc comments become the CRD's descriptions.)
/// The storage: `storageSecretName` plus exactly one provider.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_secret_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Spec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GCSSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swift: Option<SwiftSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b2: Option<B2Spec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest: Option<RestServerSpec>,
}

impl Backend {
    /// The providers that are set, by their field name (`REPOSITORY_PROVIDER` values).
    pub fn providers(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.local.is_some() {
            v.push("local");
        }
        if self.s3.is_some() {
            v.push("s3");
        }
        if self.gcs.is_some() {
            v.push("gcs");
        }
        if self.azure.is_some() {
            v.push("azure");
        }
        if self.swift.is_some() {
            v.push("swift");
        }
        if self.b2.is_some() {
            v.push("b2");
        }
        if self.rest.is_some() {
            v.push("rest");
        }
        v
    }

    /// The single provider's name, if exactly one is set.
    pub fn provider(&self) -> Option<&'static str> {
        match self.providers().as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Bucket (or container) of the provider, `""` if it has none.
    pub fn bucket(&self) -> &str {
        let b = if let Some(s) = &self.s3 {
            &s.bucket
        } else if let Some(g) = &self.gcs {
            &g.bucket
        } else if let Some(a) = &self.azure {
            &a.container
        } else if let Some(s) = &self.swift {
            &s.container
        } else if let Some(b) = &self.b2 {
            &b.bucket
        } else {
            &None
        };
        b.as_deref().unwrap_or_default()
    }

    /// Prefix inside the bucket, `""` if none.
    pub fn prefix(&self) -> &str {
        let p = if let Some(s) = &self.s3 {
            &s.prefix
        } else if let Some(g) = &self.gcs {
            &g.prefix
        } else if let Some(a) = &self.azure {
            &a.prefix
        } else if let Some(s) = &self.swift {
            &s.prefix
        } else if let Some(b) = &self.b2 {
            &b.prefix
        } else {
            &None
        };
        p.as_deref().unwrap_or_default()
    }

    /// `-o <provider>.connections=N` value; 0 = restic's default.
    pub fn max_connections(&self) -> i64 {
        let m = if let Some(g) = &self.gcs {
            g.max_connections
        } else if let Some(a) = &self.azure {
            a.max_connections
        } else if let Some(b) = &self.b2 {
            b.max_connections
        } else {
            None
        };
        m.unwrap_or(0)
    }
}

/// A required field of `spec.backend` that is unset or empty, by its path below `spec.backend`
/// (`s3.bucket`). The provider types' `required_*` accessors are the one place these rules
/// live: admission reports the path as a Required value, storage refuses to open without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingField(pub &'static str);

impl MissingField {
    /// The provider (`s3`).
    pub fn provider(&self) -> &'static str {
        self.0.split_once('.').map_or(self.0, |(p, _)| p)
    }

    /// The field within the provider (`bucket`).
    pub fn field(&self) -> &'static str {
        self.0.split_once('.').map_or(self.0, |(_, f)| f)
    }
}

impl std::fmt::Display for MissingField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "spec.backend.{} is required", self.0)
    }
}

impl std::error::Error for MissingField {}

/// The value of the required field at `path`, unless it is unset or blank.
fn required<'a>(value: &'a Option<String>, path: &'static str) -> Result<&'a str, MissingField> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or(MissingField(path))
}

/// Any core volume source (Go inlines `core.VolumeSource`), mounted at `mountPath` (optionally
/// `subPath`) into the backup pod. k8s-openapi has no standalone `VolumeSource`, so its members
/// are listed here; [`LocalSpec::to_volume`] turns them into a named core `Volume`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalSpec {
    #[serde(
        default,
        rename = "awsElasticBlockStore",
        skip_serializing_if = "Option::is_none"
    )]
    pub aws_elastic_block_store: Option<core::AWSElasticBlockStoreVolumeSource>,
    #[serde(default, rename = "azureDisk", skip_serializing_if = "Option::is_none")]
    pub azure_disk: Option<core::AzureDiskVolumeSource>,
    #[serde(default, rename = "azureFile", skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<core::AzureFileVolumeSource>,
    #[serde(default, rename = "cephfs", skip_serializing_if = "Option::is_none")]
    pub cephfs: Option<core::CephFSVolumeSource>,
    #[serde(default, rename = "cinder", skip_serializing_if = "Option::is_none")]
    pub cinder: Option<core::CinderVolumeSource>,
    #[serde(default, rename = "configMap", skip_serializing_if = "Option::is_none")]
    pub config_map: Option<core::ConfigMapVolumeSource>,
    #[serde(default, rename = "csi", skip_serializing_if = "Option::is_none")]
    pub csi: Option<core::CSIVolumeSource>,
    #[serde(
        default,
        rename = "downwardAPI",
        skip_serializing_if = "Option::is_none"
    )]
    pub downward_api: Option<core::DownwardAPIVolumeSource>,
    #[serde(default, rename = "emptyDir", skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<core::EmptyDirVolumeSource>,
    #[serde(default, rename = "ephemeral", skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<core::EphemeralVolumeSource>,
    #[serde(default, rename = "fc", skip_serializing_if = "Option::is_none")]
    pub fc: Option<core::FCVolumeSource>,
    #[serde(
        default,
        rename = "flexVolume",
        skip_serializing_if = "Option::is_none"
    )]
    pub flex_volume: Option<core::FlexVolumeSource>,
    #[serde(default, rename = "flocker", skip_serializing_if = "Option::is_none")]
    pub flocker: Option<core::FlockerVolumeSource>,
    #[serde(
        default,
        rename = "gcePersistentDisk",
        skip_serializing_if = "Option::is_none"
    )]
    pub gce_persistent_disk: Option<core::GCEPersistentDiskVolumeSource>,
    #[serde(default, rename = "gitRepo", skip_serializing_if = "Option::is_none")]
    pub git_repo: Option<core::GitRepoVolumeSource>,
    #[serde(default, rename = "glusterfs", skip_serializing_if = "Option::is_none")]
    pub glusterfs: Option<core::GlusterfsVolumeSource>,
    #[serde(default, rename = "hostPath", skip_serializing_if = "Option::is_none")]
    pub host_path: Option<core::HostPathVolumeSource>,
    #[serde(default, rename = "image", skip_serializing_if = "Option::is_none")]
    pub image: Option<core::ImageVolumeSource>,
    #[serde(default, rename = "iscsi", skip_serializing_if = "Option::is_none")]
    pub iscsi: Option<core::ISCSIVolumeSource>,
    #[serde(default, rename = "nfs", skip_serializing_if = "Option::is_none")]
    pub nfs: Option<core::NFSVolumeSource>,
    #[serde(
        default,
        rename = "persistentVolumeClaim",
        skip_serializing_if = "Option::is_none"
    )]
    pub persistent_volume_claim: Option<core::PersistentVolumeClaimVolumeSource>,
    #[serde(
        default,
        rename = "photonPersistentDisk",
        skip_serializing_if = "Option::is_none"
    )]
    pub photon_persistent_disk: Option<core::PhotonPersistentDiskVolumeSource>,
    #[serde(
        default,
        rename = "portworxVolume",
        skip_serializing_if = "Option::is_none"
    )]
    pub portworx_volume: Option<core::PortworxVolumeSource>,
    #[serde(default, rename = "projected", skip_serializing_if = "Option::is_none")]
    pub projected: Option<core::ProjectedVolumeSource>,
    #[serde(default, rename = "quobyte", skip_serializing_if = "Option::is_none")]
    pub quobyte: Option<core::QuobyteVolumeSource>,
    #[serde(default, rename = "rbd", skip_serializing_if = "Option::is_none")]
    pub rbd: Option<core::RBDVolumeSource>,
    #[serde(default, rename = "scaleIO", skip_serializing_if = "Option::is_none")]
    pub scale_io: Option<core::ScaleIOVolumeSource>,
    #[serde(default, rename = "secret", skip_serializing_if = "Option::is_none")]
    pub secret: Option<core::SecretVolumeSource>,
    #[serde(default, rename = "storageos", skip_serializing_if = "Option::is_none")]
    pub storageos: Option<core::StorageOSVolumeSource>,
    #[serde(
        default,
        rename = "vsphereVolume",
        skip_serializing_if = "Option::is_none"
    )]
    pub vsphere_volume: Option<core::VsphereVirtualDiskVolumeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

impl LocalSpec {
    /// `mountPath`, where backup pods mount the volume (the repository folder inside them).
    pub fn required_mount_path(&self) -> Result<&str, MissingField> {
        required(&self.mount_path, "local.mountPath")
    }

    /// The volume source as a core `Volume` called `name`.
    pub fn to_volume(&self, name: &str) -> core::Volume {
        core::Volume {
            name: name.to_string(),
            aws_elastic_block_store: self.aws_elastic_block_store.clone(),
            azure_disk: self.azure_disk.clone(),
            azure_file: self.azure_file.clone(),
            cephfs: self.cephfs.clone(),
            cinder: self.cinder.clone(),
            config_map: self.config_map.clone(),
            csi: self.csi.clone(),
            downward_api: self.downward_api.clone(),
            empty_dir: self.empty_dir.clone(),
            ephemeral: self.ephemeral.clone(),
            fc: self.fc.clone(),
            flex_volume: self.flex_volume.clone(),
            flocker: self.flocker.clone(),
            gce_persistent_disk: self.gce_persistent_disk.clone(),
            git_repo: self.git_repo.clone(),
            glusterfs: self.glusterfs.clone(),
            host_path: self.host_path.clone(),
            image: self.image.clone(),
            iscsi: self.iscsi.clone(),
            nfs: self.nfs.clone(),
            persistent_volume_claim: self.persistent_volume_claim.clone(),
            photon_persistent_disk: self.photon_persistent_disk.clone(),
            portworx_volume: self.portworx_volume.clone(),
            projected: self.projected.clone(),
            quobyte: self.quobyte.clone(),
            rbd: self.rbd.clone(),
            scale_io: self.scale_io.clone(),
            secret: self.secret.clone(),
            storageos: self.storageos.clone(),
            vsphere_volume: self.vsphere_volume.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(
        default,
        rename = "insecureTLS",
        skip_serializing_if = "Option::is_none"
    )]
    pub insecure_tls: Option<bool>,
}

impl S3Spec {
    pub fn required_bucket(&self) -> Result<&str, MissingField> {
        required(&self.bucket, "s3.bucket")
    }

    /// Required by admission; storage, given none (the `--provider=s3` flags), uses AWS's.
    pub fn required_endpoint(&self) -> Result<&str, MissingField> {
        required(&self.endpoint, "s3.endpoint")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GCSSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<i64>,
}

impl GCSSpec {
    pub fn required_bucket(&self) -> Result<&str, MissingField> {
        required(&self.bucket, "gcs.bucket")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<i64>,
}

impl AzureSpec {
    pub fn required_container(&self) -> Result<&str, MissingField> {
        required(&self.container, "azure.container")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SwiftSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

impl SwiftSpec {
    pub fn required_container(&self) -> Result<&str, MissingField> {
        required(&self.container, "swift.container")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct B2Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<i64>,
}

impl B2Spec {
    pub fn required_bucket(&self) -> Result<&str, MissingField> {
        required(&self.bucket, "b2.bucket")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RestServerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl RestServerSpec {
    pub fn required_url(&self) -> Result<&str, MissingField> {
        required(&self.url, "rest.url")
    }
}

/// Which namespaces may reference this Repository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsagePolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_namespaces: Option<AllowedNamespaces>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AllowedNamespaces {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Same"))]
    pub from: Option<FromNamespaces>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum FromNamespaces {
    All,
    Selector,
    #[default]
    Same,
}

/// How old snapshots are forgotten (restic `forget` flags). `name` and `prune` are required.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::require_name_and_prune)]
pub struct RetentionPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_hourly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

impl Repository {
    /// Whether an invoker in `namespace` (with that namespace's labels) may use this Repository.
    /// Without a usagePolicy only the Repository's own namespace may; `from` unset allows none
    /// (as Stash: the CRD default `Same` normally fills it in).
    pub fn usage_allowed(
        &self,
        namespace: &str,
        namespace_labels: &std::collections::BTreeMap<String, String>,
    ) -> bool {
        let own = self.metadata.namespace.as_deref().unwrap_or_default();
        let Some(policy) = &self.spec.usage_policy else {
            return own == namespace;
        };
        let allowed = policy.allowed_namespaces.clone().unwrap_or_default();
        match allowed.from {
            None => false,
            Some(FromNamespaces::All) => true,
            Some(FromNamespaces::Same) => own == namespace,
            Some(FromNamespaces::Selector) => allowed
                .selector
                .as_ref()
                .is_some_and(|s| super::selector::matches(s, namespace_labels)),
        }
    }
}
