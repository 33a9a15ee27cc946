//! The built-in catalog: the Functions and Tasks under `catalog/` (embedded at build time),
//! loaded and checked once at start. Catalog YAML is ours, so it is parsed strictly: a field
//! the types do not know is an error, not something to drop. Checks: only Functions and Tasks,
//! no duplicate names, every Function a Task names exists, and every `${VAR}` is an implicit
//! variable, a param of the step that runs the Function, or has a default.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::object::StashObject;
use super::resolve::subst;
use super::{Function, Task};

/// The catalog files, by name, as compiled in.
pub const FILES: &[(&str, &str)] = &[
    ("mariadb.yaml", include_str!("../../catalog/mariadb.yaml")),
    ("mongodb.yaml", include_str!("../../catalog/mongodb.yaml")),
    ("mysql.yaml", include_str!("../../catalog/mysql.yaml")),
    ("postgres.yaml", include_str!("../../catalog/postgres.yaml")),
    ("pvc.yaml", include_str!("../../catalog/pvc.yaml")),
    ("redis.yaml", include_str!("../../catalog/redis.yaml")),
    (
        "update-status.yaml",
        include_str!("../../catalog/update-status.yaml"),
    ),
];

/// Variables Stash (and so our controller) always provides; see `resolve::variables`.
pub const IMPLICIT_VARIABLES: &[&str] = &[
    "NAMESPACE",
    "BACKUP_SESSION",
    "RESTORE_SESSION",
    "REPOSITORY_NAME",
    "REPOSITORY_NAMESPACE",
    "REPOSITORY_PROVIDER",
    "REPOSITORY_BUCKET",
    "REPOSITORY_PREFIX",
    "REPOSITORY_ENDPOINT",
    "REPOSITORY_REGION",
    "REPOSITORY_INSECURE_TLS",
    "REPOSITORY_SECRET_NAME",
    "REPOSITORY_SECRET_NAMESPACE",
    "MAX_CONNECTIONS",
    "ENABLE_CACHE",
    "HOSTNAME",
    "SOURCE_HOSTNAME",
    "TARGET_NAME",
    "TARGET_KIND",
    "TARGET_NAMESPACE",
    "TARGET_MOUNT_PATH",
    "TARGET_PATHS",
    "TARGET_APP_REPLICAS",
    "EXCLUDE_PATTERNS",
    "INCLUDE_PATTERNS",
    "DRIVER_ARGS",
    "RESTORE_PATHS",
    "RESTORE_SNAPSHOTS",
    "INTERIM_DATA_DIR",
    "INVOKER_KIND",
    "INVOKER_NAME",
    "ADDON_IMAGE",
    "RETENTION_KEEP_LAST",
    "RETENTION_KEEP_HOURLY",
    "RETENTION_KEEP_DAILY",
    "RETENTION_KEEP_WEEKLY",
    "RETENTION_KEEP_MONTHLY",
    "RETENTION_KEEP_YEARLY",
    "RETENTION_KEEP_TAGS",
    "RETENTION_PRUNE",
    "RETENTION_DRY_RUN",
    "PROMETHEUS_PUSHGATEWAY_URL",
    "PROMETHEUS_JOB_NAME",
    "STASH_DOCKER_REGISTRY",
    "STASH_DOCKER_IMAGE",
    "STASH_IMAGE_TAG",
    "LICENSE_APISERVICE",
];

/// Errors loading or checking the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: parsing YAML: {message}")]
    Yaml { file: String, message: String },
    #[error("{file}: {object}: {message}")]
    Object {
        file: String,
        object: String,
        message: String,
    },
    #[error("{file}: {object}: unknown field {path}")]
    UnknownField {
        file: String,
        object: String,
        path: String,
    },
    #[error("{file}: {object}: only Functions and Tasks belong in the catalog")]
    WrongKind { file: String, object: String },
    #[error("{object} is defined twice ({first} and {second})")]
    Duplicate {
        object: String,
        first: String,
        second: String,
    },
    #[error("Task {task}: step {step} names Function {function}, which is not in the catalog")]
    MissingFunction {
        task: String,
        step: usize,
        function: String,
    },
    #[error("{object}: {path}: ${{{variable}}} is neither an implicit variable, nor a param of {context}, nor has a default")]
    UnknownVariable {
        object: String,
        path: String,
        variable: String,
        context: String,
    },
    #[error("{object}: {path}: {message}")]
    Placeholder {
        object: String,
        path: String,
        message: String,
    },
}

/// Functions and Tasks by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    pub functions: BTreeMap<String, Function>,
    pub tasks: BTreeMap<String, Task>,
}

impl Catalog {
    /// The embedded catalog, loaded and checked.
    pub fn builtin() -> Result<Catalog, Vec<CatalogError>> {
        Self::load(FILES.iter().copied())
    }

    /// Loads `(file name, YAML text)` pairs and checks the result; all errors are returned.
    pub fn load<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Catalog, Vec<CatalogError>> {
        let mut cat = Catalog::default();
        let mut errors = Vec::new();
        let mut origin: BTreeMap<String, String> = BTreeMap::new();
        for (file, text) in files {
            let docs: Vec<Value> = match serde_saphyr::from_multiple(text) {
                Ok(d) => d,
                Err(e) => {
                    errors.push(CatalogError::Yaml {
                        file: file.into(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            for doc in docs.into_iter().filter(|d| !d.is_null()) {
                let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
                let name = doc
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let object = format!("{kind}/{name}");
                let obj = match StashObject::from_value(&doc) {
                    Ok(Some(o)) => o,
                    Ok(None) => {
                        errors.push(CatalogError::WrongKind {
                            file: file.into(),
                            object,
                        });
                        continue;
                    }
                    Err(e) => {
                        errors.push(CatalogError::Object {
                            file: file.into(),
                            object,
                            message: e.to_string(),
                        });
                        continue;
                    }
                };
                let mut dropped = Vec::new();
                strict(&doc, &obj.to_value(), "", &mut dropped);
                for path in dropped {
                    errors.push(CatalogError::UnknownField {
                        file: file.into(),
                        object: object.clone(),
                        path,
                    });
                }
                if let Some(first) = origin.insert(object.clone(), file.to_string()) {
                    errors.push(CatalogError::Duplicate {
                        object: object.clone(),
                        first,
                        second: file.into(),
                    });
                }
                match obj {
                    StashObject::Function(f) => {
                        cat.functions.insert(name.to_string(), *f);
                    }
                    StashObject::Task(t) => {
                        cat.tasks.insert(name.to_string(), *t);
                    }
                    _ => errors.push(CatalogError::WrongKind {
                        file: file.into(),
                        object,
                    }),
                }
            }
        }
        errors.extend(cat.check());
        if errors.is_empty() {
            Ok(cat)
        } else {
            Err(errors)
        }
    }

    /// Cross-object checks: Function references and variables.
    pub fn check(&self) -> Vec<CatalogError> {
        let mut errors = Vec::new();
        let implicit: BTreeSet<&str> = IMPLICIT_VARIABLES.iter().copied().collect();
        let mut used = BTreeSet::new();
        for (tname, task) in &self.tasks {
            let object = format!("Task/{tname}");
            let spec = serde_json::to_value(&task.spec).unwrap_or_default();
            variables(&spec, "spec", &object, &implicit, "the Task", &mut errors);
            for (i, step) in task.spec.steps().iter().enumerate() {
                let Some(f) = self.functions.get(&step.name) else {
                    errors.push(CatalogError::MissingFunction {
                        task: tname.clone(),
                        step: i,
                        function: step.name.clone(),
                    });
                    continue;
                };
                used.insert(step.name.clone());
                let mut known = implicit.clone();
                known.extend(step.params().iter().map(|p| p.name.as_str()));
                let fspec = serde_json::to_value(&f.spec).unwrap_or_default();
                let context = format!("step {i} of Task {tname}");
                variables(
                    &fspec,
                    "spec",
                    &format!("Function/{}", step.name),
                    &known,
                    &context,
                    &mut errors,
                );
            }
        }
        for (fname, f) in self.functions.iter().filter(|(n, _)| !used.contains(*n)) {
            let fspec = serde_json::to_value(&f.spec).unwrap_or_default();
            variables(
                &fspec,
                "spec",
                &format!("Function/{fname}"),
                &implicit,
                "any Task",
                &mut errors,
            );
        }
        errors
    }
}

fn variables(
    v: &Value,
    path: &str,
    object: &str,
    known: &BTreeSet<&str>,
    context: &str,
    errors: &mut Vec<CatalogError>,
) {
    match v {
        Value::String(s) => match subst::references(s) {
            Ok(refs) => {
                for (name, has_default) in refs {
                    if !has_default && !known.contains(name.as_str()) {
                        let e = CatalogError::UnknownVariable {
                            object: object.into(),
                            path: path.into(),
                            variable: name,
                            context: context.into(),
                        };
                        if !errors.contains(&e) {
                            errors.push(e);
                        }
                    }
                }
            }
            Err(e) => errors.push(CatalogError::Placeholder {
                object: object.into(),
                path: path.into(),
                message: e.to_string(),
            }),
        },
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                variables(
                    item,
                    &format!("{path}[{i}]"),
                    object,
                    known,
                    context,
                    errors,
                );
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                variables(item, &format!("{path}.{k}"), object, known, context, errors);
            }
        }
        _ => {}
    }
}

/// Paths in `input` that did not survive re-serialisation (= fields the types do not know).
fn strict(input: &Value, output: &Value, path: &str, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match o.get(k) {
                    None => out.push(p),
                    Some(ov) => strict(v, ov, &p, out),
                }
            }
        }
        (Value::Array(i), Value::Array(o)) => {
            for (n, (iv, ov)) in i.iter().zip(o).enumerate() {
                strict(iv, ov, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
