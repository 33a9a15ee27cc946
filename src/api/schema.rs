//! Schema adjustments the derive cannot express: fields that are `Option` in Rust (so a bad
//! manifest still parses and validation can name the field) but required in Stash's CRDs, and
//! the free-form embedded object of AppBinding `parameters`.

use schemars::{json_schema, Schema, SchemaGenerator};

fn require(schema: &mut Schema, field: &str) {
    let obj = schema.ensure_object();
    let req = obj
        .entry("required")
        .or_insert_with(|| serde_json::json!([]));
    if let Some(list) = req.as_array_mut() {
        if !list.iter().any(|v| v == field) {
            list.push(field.into());
        }
    }
}

/// `retentionPolicy` is required on BackupConfiguration, BackupBatch and BackupBlueprint specs.
pub fn require_retention_policy(schema: &mut Schema) {
    require(schema, "retentionPolicy");
}

/// `name` and `prune` are required in a RetentionPolicy.
pub fn require_name_and_prune(schema: &mut Schema) {
    require(schema, "name");
    require(schema, "prune");
}

/// `clientConfig` is required on an AppBinding spec.
pub fn require_client_config(schema: &mut Schema) {
    require(schema, "clientConfig");
}

/// A RawExtension that must be an embedded object, kept verbatim.
pub fn embedded_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// `[]byte` fields: base64 strings.
pub fn bytes(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "byte" })
}
