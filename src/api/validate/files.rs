//! `stash validate -f FILE|DIR`: read YAML manifests (multi-document, recursively for a
//! directory, `*.yaml`/`*.yml` in name order), parse every object of Stash's groups, and report
//! parse errors, fields the API server would drop (unknown or misspelt), [`super::validate`]
//! problems, and Repository usage across the objects read together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{check_repository_usage, validate, Problem, ValidateError};
use crate::api::object::{ObjectError, StashObject};
use crate::api::Repository;

/// Validates a file or every YAML file under a directory. Unreadable files are problems too,
/// so the result is the complete list to print; empty means valid.
pub fn validate_path(path: &Path) -> Vec<Problem> {
    let mut files = Vec::new();
    if let Err(e) = collect(path, &mut files) {
        return vec![Problem {
            file: Some(path.to_path_buf()),
            ..Problem::at("", format!("{:#}", ErrorChain(&e)))
        }];
    }
    let mut problems = Vec::new();
    let mut objects = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let (objs, probs) = parse_documents(&text, Some(&file));
                problems.extend(probs);
                objects.extend(objs.into_iter().map(|o| (file.clone(), o)));
            }
            Err(source) => {
                let e = ValidateError::Read {
                    path: file.clone(),
                    source,
                };
                problems.push(Problem {
                    file: Some(file),
                    ..Problem::at("", format!("{:#}", ErrorChain(&e)))
                });
            }
        }
    }
    problems.extend(usage_problems(&objects));
    problems
}

/// Validates the YAML documents in `text` as if read from `file`.
pub fn validate_documents(text: &str, file: Option<&Path>) -> Vec<Problem> {
    let (objs, mut problems) = parse_documents(text, file);
    let with_file: Vec<_> = objs
        .into_iter()
        .map(|o| (file.map(Path::to_path_buf).unwrap_or_default(), o))
        .collect();
    let mut usage = usage_problems(&with_file);
    if file.is_none() {
        usage.iter_mut().for_each(|p| p.file = None);
    }
    problems.extend(usage);
    problems
}

struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut src = self.0.source();
        while let Some(s) = src {
            write!(f, ": {s}")?;
            src = s.source();
        }
        Ok(())
    }
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), ValidateError> {
    let read_err = |source| ValidateError::Read {
        path: path.to_path_buf(),
        source,
    };
    if !path.is_dir() {
        std::fs::metadata(path).map_err(read_err)?;
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(read_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect(&entry, files)?;
        } else if entry.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            files.push(entry);
        }
    }
    Ok(())
}

fn parse_documents(text: &str, file: Option<&Path>) -> (Vec<StashObject>, Vec<Problem>) {
    let with_file = |p: Problem| Problem {
        file: file.map(Path::to_path_buf),
        ..p
    };
    let docs: Vec<Value> = match serde_saphyr::from_multiple(text) {
        Ok(d) => d,
        Err(e) => {
            return (
                Vec::new(),
                vec![with_file(Problem::at("", format!("invalid YAML: {e}")))],
            )
        }
    };
    let mut objects = Vec::new();
    let mut problems = Vec::new();
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let object = Some(format!("{kind}/{name}"));
        let obj = match StashObject::from_value(&doc) {
            Ok(Some(obj)) => obj,
            Ok(None) => continue,
            Err(ObjectError::Field { path, message }) => {
                problems.push(with_file(Problem {
                    object,
                    ..Problem::at(path, message)
                }));
                continue;
            }
            Err(e @ ObjectError::UnknownKind { .. }) => {
                problems.push(with_file(Problem {
                    object,
                    ..Problem::at("kind", e.to_string())
                }));
                continue;
            }
        };
        let mut dropped = Vec::new();
        dropped_fields(&doc, &obj.to_value(), "", &mut dropped);
        for path in dropped {
            problems.push(with_file(Problem {
                object: object.clone(),
                ..Problem::at(path, "unknown field; Stash's API server would drop it")
            }));
        }
        problems.extend(validate(&obj).into_iter().map(with_file));
        objects.push(obj);
    }
    (objects, problems)
}

/// Paths present (and not null) in `input` but absent from the re-serialised `output`.
fn dropped_fields(input: &Value, output: &Value, path: &str, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                let p = super::join(path, k);
                match o.get(k) {
                    None if !v.is_null() => out.push(p),
                    None => {}
                    Some(ov) => dropped_fields(v, ov, &p, out),
                }
            }
        }
        (Value::Array(i), Value::Array(o)) => {
            for (n, (iv, ov)) in i.iter().zip(o).enumerate() {
                dropped_fields(iv, ov, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

/// Cross-namespace Repository references among the objects read together. Namespace labels are
/// not known offline, so `Selector` policies are judged against a namespace without labels.
fn usage_problems(objects: &[(PathBuf, StashObject)]) -> Vec<Problem> {
    let ns_of = |o: &StashObject| {
        o.metadata()
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into())
    };
    let repos: BTreeMap<(String, String), &Repository> = objects
        .iter()
        .filter_map(|(_, o)| match o {
            StashObject::Repository(r) => Some(((ns_of(o), o.name().to_string()), r.as_ref())),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for (file, obj) in objects {
        let repo_ref = match obj {
            StashObject::BackupConfiguration(o) => o.spec.repository.as_ref(),
            StashObject::BackupBatch(o) => o.spec.repository.as_ref(),
            StashObject::RestoreSession(o) => o.spec.repository.as_ref(),
            StashObject::RestoreBatch(o) => o.spec.repository.as_ref(),
            _ => None,
        };
        let Some(r) = repo_ref else { continue };
        let own = ns_of(obj);
        let key = (r.namespace_or(&own).to_string(), r.name.clone());
        if key.0 == own {
            continue;
        }
        if let Some(repo) = repos.get(&key) {
            let mut repo = (*repo).clone();
            repo.metadata.namespace = Some(key.0.clone());
            if let Some(p) = check_repository_usage(&repo, &own, &BTreeMap::new()) {
                out.push(Problem {
                    file: Some(file.clone()),
                    object: Some(format!("{}/{}", obj.kind(), obj.name())),
                    ..p
                });
            }
        }
    }
    out
}
