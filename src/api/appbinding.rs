//! `appcatalog.appscode.com/v1alpha1` AppBinding (kmodules/custom-resources): how to reach an
//! application (service or URL, TLS material) and where its credentials are (a Secret, adapted
//! by `secretTransforms`). `parameters` is free JSON kept verbatim; [`StashAddon`] reads the part
//! Stash uses. Turning all this into a connection is [`crate::api::resolve::appbinding`].

use k8s_openapi::ByteString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Param, TypedObjectReference};

/// AppBinding spec.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "appcatalog.appscode.com",
    version = "v1alpha1",
    kind = "AppBinding",
    plural = "appbindings",
    singular = "appbinding",
    namespaced,
    category = "catalog",
    category = "appscode",
    category = "all",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    derive = "PartialEq",
    doc = "AppBinding holds the information needed to connect to an application such as a database"
)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::require_client_config)]
pub struct AppBindingSpec {
    /// `<group>/<resource>` such as `kubedb.com/postgres`; `Opaque` when unset.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_ref: Option<TypedObjectReference>,
    /// Application version, used to template task names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Required by the CRD; optional here so a manifest without it still parses and is
    /// reported by validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_config: Option<ClientConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<TypedLocalObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_transforms: Option<Vec<SecretTransform>>,
    /// Free JSON (a RawExtension): Stash addon tasks, MongoDB topology, Redis client cert, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::embedded_object")]
    pub parameters: Option<serde_json::Value>,
    /// Secret with the client certificate (`tls.crt`, `tls.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_secret: Option<TypedLocalObjectReference>,
}

/// How to reach the app: `service` (preferred) or `url`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientConfig {
    /// `[scheme://]host:port/path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceReference>,
    #[serde(
        default,
        rename = "insecureSkipTLSVerify",
        skip_serializing_if = "Option::is_none"
    )]
    pub insecure_skip_tls_verify: Option<bool>,
    /// PEM CA bundle (base64 in YAML); enables TLS in the addons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::bytes")]
    pub ca_bundle: Option<ByteString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// A Service in the cluster; host is `<name>.<namespace>.svc`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceReference {
    pub scheme: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Encoded query without `?` (e.g. `sslmode=disable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// Reference to a Secret in the AppBinding's namespace (`apiGroup` "", `kind` Secret by default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypedLocalObjectReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub api_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Secret"))]
    pub kind: Option<String>,
    pub name: String,
}

/// One credential transformation; exactly one member should be set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTransform {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rename_key: Option<RenameKeyTransform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_key: Option<AddKeyTransform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_keys_from: Option<AddKeysFromTransform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_key: Option<RemoveKeyTransform>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RenameKeyTransform {
    pub from: String,
    pub to: String,
}

/// Adds `key`; `stringValue` wins over `value` when both are set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddKeyTransform {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::bytes")]
    pub value: Option<ByteString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
}

/// Merges every entry of another Secret (same namespace).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddKeysFromTransform {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<k8s_openapi::api::core::v1::LocalObjectReference>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RemoveKeyTransform {
    pub key: String,
}

/// The part of `parameters` Stash reads: `{stash: {addon: {backupTask, restoreTask}}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StashAddon {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub stash: StashAddonSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StashAddonSpec {
    #[serde(default)]
    pub addon: StashTaskSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StashTaskSpec {
    #[serde(default)]
    pub backup_task: AddonTaskRef,
    #[serde(default)]
    pub restore_task: AddonTaskRef,
}

/// Task name and params named by an AppBinding's addon parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AddonTaskRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<Param>,
}

impl AppBindingSpec {
    /// `type`, or `Opaque` when unset/empty.
    pub fn app_type(&self) -> &str {
        match self.type_.as_deref() {
            Some(t) if !t.is_empty() => t,
            _ => "Opaque",
        }
    }

    /// `(group, resource)` split at the last `/` of `type` (`kubedb.com/postgres` →
    /// `("kubedb.com", "postgres")`; no slash → `("", type)`).
    pub fn app_group_resource(&self) -> (&str, &str) {
        let t = self.type_.as_deref().unwrap_or_default();
        match t.rfind('/') {
            Some(i) => (&t[..i], &t[i + 1..]),
            None => ("", t),
        }
    }

    /// The Stash addon tasks in `parameters`, if any.
    pub fn stash_addon(&self) -> Option<StashAddon> {
        let p = self.parameters.as_ref()?;
        p.get("stash")?;
        serde_json::from_value(p.clone()).ok()
    }
}
