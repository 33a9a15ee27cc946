//! Stash's own documentation examples (`testdata/examples` from the reference set,
//! `testdata/docs` from stashed/docs) must parse, validate cleanly, re-serialise to the same
//! JSON, and satisfy the openAPIV3Schema of our generated CRDs.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::crd;
use super::object::StashObject;
use super::validate::{validate, validate_path};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/api/testdata")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            yaml_files(&e, out);
        } else if e.extension().is_some_and(|x| x == "yaml") {
            out.push(e);
        }
    }
}

/// Every Stash object of the examples with the JSON it was parsed from.
fn examples() -> Vec<(PathBuf, Value, StashObject)> {
    let mut files = Vec::new();
    yaml_files(&testdata().join("examples"), &mut files);
    yaml_files(&testdata().join("docs"), &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            if let Some(obj) =
                StashObject::from_value(&doc).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
            {
                out.push((f.clone(), doc, obj));
            }
        }
    }
    out
}

#[test]
fn every_kind_is_covered_by_examples() {
    let mut kinds: Vec<_> = examples().iter().map(|(_, _, o)| o.kind()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "AppBinding",
            "BackupBatch",
            "BackupBlueprint",
            "BackupConfiguration",
            "BackupSession",
            "Function",
            "Repository",
            "RestoreBatch",
            "RestoreSession",
            "Snapshot",
            "Task",
        ]
    );
}

#[test]
fn examples_round_trip_without_losing_a_field() {
    let all = examples();
    assert!(all.len() >= 45, "only {} example objects found", all.len());
    for (file, input, obj) in all {
        assert_eq!(
            obj.to_value(),
            input,
            "{}: {}/{}",
            file.display(),
            obj.kind(),
            obj.name()
        );
    }
}

#[test]
fn examples_are_valid() {
    for (file, _, obj) in examples() {
        let problems = validate(&obj);
        assert!(problems.is_empty(), "{}: {problems:#?}", file.display());
    }
    assert_eq!(validate_path(&testdata().join("examples")), vec![]);
    assert_eq!(validate_path(&testdata().join("docs")), vec![]);
}

#[test]
fn examples_satisfy_the_generated_crd_schemas() {
    let validators: std::collections::BTreeMap<String, jsonschema::Validator> = crd::all()
        .into_iter()
        .map(|c| {
            let schema = c.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap();
            let schema = serde_json::to_value(schema).unwrap();
            (
                c.spec.names.kind.clone(),
                jsonschema::validator_for(&schema).unwrap(),
            )
        })
        .collect();
    for (file, input, obj) in examples() {
        if obj.kind() == "Snapshot" {
            continue; // served by an aggregated API, no CRD
        }
        let validator = &validators[obj.kind()];
        let errors: Vec<String> = validator
            .iter_errors(&input)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}: {}/{}: {errors:#?}",
            file.display(),
            obj.kind(),
            obj.name()
        );
    }
}

#[test]
fn schema_rejects_what_stash_rejects() {
    let schema = crd::schema_of("BackupConfiguration").unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad = serde_json::json!({
        "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupConfiguration",
        "metadata": {"name": "x"},
        "spec": {"driver": "Rsync", "retentionPolicy": {"name": "keep"}}
    });
    let mut errors: Vec<String> = validator
        .iter_errors(&bad)
        .map(|e| e.instance_path().to_string())
        .collect();
    errors.sort();
    assert_eq!(errors, ["/spec/driver", "/spec/retentionPolicy"]);
}
