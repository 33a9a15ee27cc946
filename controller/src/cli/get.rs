//! `stash get KIND [NAME…] [-n NS | -A] [-l SELECTOR] [-o wide|yaml|json|name]`: kubectl's
//! `get` over local mode's state folder.
//!
//! The table is the one the API server would send for the kind: NAME, then the CRD's printer
//! columns (Stash's, see [`super::kubectl`]; `-o wide` adds those of priority > 0, which only
//! CronJob has: Stash's CRDs define none), NAMESPACE first with `-A`. Missing values print
//! empty, dates as ages (`5m`, `2d`). `-o json` and `-o yaml` print objects as the API server
//! returns them (keys sorted, as for any custom resource); several objects become a `List`.
//! Secrets are read from `--manifests` and are shown as a table only: their data stays in the
//! files it was written to.
//!
//! Snapshots (`get snapshots`, `get snapshot NAME`) are the repositories' restic snapshots as
//! objects ([`crate::snapshots`]): each Repository of the namespace is opened with its storage
//! Secret from `--manifests`; `-l repository=R` opens only R, `-l hostname=H` keeps H's. The
//! table is Stash's: NAME, ID (restic's short id), REPOSITORY, HOSTNAME, CREATED AT (the
//! snapshot's time, as Stash's server prints it). A Repository that cannot be read is one error
//! line naming it and why; the others are still listed, and the exit code is 1.
use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::kubectl::{age, tabwrite, time_at, Column, KubectlError, Resource, StateArgs};
use super::GlobalArgs;
use crate::snapshots;
use crate::steps::MANIFESTS_ENV;
use crate::store::{rules, ObjRef, ObjectStore, Selector};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The table with every column
    Wide,
    Json,
    Yaml,
    /// `kind.group/name` per object
    Name,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// Kind: repository (repo), backupconfiguration (bc), backupsession (bs), restoresession
    /// (restore, rs), backupbatch, restorebatch, backupblueprint (bb), function (fn), task,
    /// appbinding, cronjob (cj), secret, snapshot (read from the repositories); singular,
    /// plural or short
    pub kind: String,
    /// Object name(s); all objects of the kind when none
    pub names: Vec<String>,
    #[command(flatten)]
    pub ns: super::kubectl::NamespaceArg,
    /// List across all namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Label selector: a=b, a!=b, a, !a (comma-separated)
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output format
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<Output>,
    #[command(flatten)]
    pub state: StateArgs,
    /// Manifests folder(s) holding the Secrets (`get secret`, and `get snapshots` to open the
    /// repositories)
    #[arg(long = "manifests", env = MANIFESTS_ENV, value_delimiter = ':')]
    pub manifests: Vec<PathBuf>,
}

/// The value at a simple JSONPath (`.status.phase`, `.spec.targets[0].ref`).
pub fn lookup<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = obj;
    for part in path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (field, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !field.is_empty() {
            v = v.get(field)?;
        }
        while let Some(close) = rest.find(']') {
            let index: usize = rest[1..close].parse().ok()?;
            v = v.get(index)?;
            rest = &rest[close + 1..];
        }
    }
    Some(v)
}

/// A CRD column's cell, as the API server's table convertor fills it and kubectl prints it:
/// missing → empty; dates → age; strings as is; other values of a string column as JSON.
pub fn crd_cell(obj: &Value, col: &Column, now: DateTime<Utc>) -> String {
    let Some(v) = lookup(obj, &col.json_path).filter(|v| !v.is_null()) else {
        return String::new();
    };
    match (col.type_.as_str(), v) {
        ("date", Value::String(s)) => match super::kubectl::parse_time(s) {
            Some(t) => age(Some(t), now),
            None => String::new(),
        },
        ("date", _) => String::new(),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .map(|i| i.to_string())
            .or_else(|| n.as_f64().map(|f| (f as i64).to_string()))
            .unwrap_or_default(),
        ("number", Value::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => (f as i64).to_string(),
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        ("boolean", Value::Bool(b)) => b.to_string(),
        ("integer" | "number" | "boolean", _) => String::new(),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// Columns after NAME: the CRD's, or a core kind's as kubectl's built-in printers have them.
pub fn columns(res: &Resource, wide: bool) -> Vec<Column> {
    let core = |name: &str, priority: i32| Column {
        name: name.into(),
        type_: "string".into(),
        json_path: String::new(),
        priority,
    };
    let all = match (res.kind.group.as_str(), res.kind.kind.as_str()) {
        ("batch", "CronJob") => vec![
            core("Schedule", 0),
            core("Timezone", 0),
            core("Suspend", 0),
            core("Active", 0),
            core("Last Schedule", 0),
            core("Age", 0),
            core("Containers", 1),
            core("Images", 1),
            core("Selector", 1),
        ],
        ("", "Secret") => vec![core("Type", 0), core("Data", 0), core("Age", 0)],
        _ if res.is_snapshot() => {
            let path = |name: &str, json_path: &str| Column {
                name: name.into(),
                type_: "string".into(),
                json_path: json_path.into(),
                priority: 0,
            };
            vec![
                core("ID", 0),
                path("Repository", ".status.repository"),
                path("Hostname", ".status.hostname"),
                path("Created At", ".metadata.creationTimestamp"),
            ]
        }
        _ => res.columns.clone(),
    };
    all.into_iter()
        .filter(|c| wide || c.priority == 0)
        .collect()
}

fn text<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// `metav1.FormatLabelSelector`.
fn format_selector(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return "<none>".into();
    };
    let mut parts: Vec<String> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e.get("operator").and_then(Value::as_str) {
            Some("In") => format!("{key} in ({})", values.join(",")),
            Some("NotIn") => format!("{key} notin ({})", values.join(",")),
            Some("DoesNotExist") => format!("!{key}"),
            _ => key.to_string(),
        });
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

/// A core kind's cell, as kubectl's built-in printer writes it.
fn core_cell(res: &Resource, obj: &Value, col: &str, now: DateTime<Utc>) -> String {
    let created = || age(time_at(obj, "/metadata/creationTimestamp"), now);
    let containers = || -> Vec<&Value> {
        obj.pointer("/spec/jobTemplate/spec/template/spec/containers")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    let join = |field: &str| -> String {
        containers()
            .iter()
            .filter_map(|c| c.get(field).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(",")
    };
    match (res.kind.kind.as_str(), col) {
        (_, "Age") => created(),
        ("CronJob", "Schedule") => text(obj, "/spec/schedule").unwrap_or_default().into(),
        ("CronJob", "Timezone") => text(obj, "/spec/timeZone").unwrap_or("<none>").into(),
        ("CronJob", "Suspend") => match obj.pointer("/spec/suspend").and_then(Value::as_bool) {
            Some(true) => "True".into(),
            Some(false) => "False".into(),
            None => "<unset>".into(),
        },
        ("CronJob", "Active") => obj
            .pointer("/status/active")
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
            .to_string(),
        ("CronJob", "Last Schedule") => match time_at(obj, "/status/lastScheduleTime") {
            Some(t) => age(Some(t), now),
            None => "<none>".into(),
        },
        ("CronJob", "Containers") => join("name"),
        ("CronJob", "Images") => join("image"),
        ("CronJob", "Selector") => format_selector(obj.pointer("/spec/jobTemplate/spec/selector")),
        ("Secret", "Type") => text(obj, "/type").unwrap_or("Opaque").into(),
        ("Secret", "Data") => super::describe::secret_sizes(obj).len().to_string(),
        ("Snapshot", "ID") => text(obj, "/metadata/uid")
            .unwrap_or_default()
            .chars()
            .take(snapshots::ID_PREFIX_LEN)
            .collect(),
        _ => String::new(),
    }
}

/// How a table is laid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    /// Columns of priority > 0 too (`-o wide`).
    pub wide: bool,
    /// A NAMESPACE column first (`-A`; only for namespaced kinds).
    pub namespace: bool,
    /// Names as `kind.group/name` (several kinds in one `get`).
    pub kind: bool,
}

/// The table of `objs`, aligned as kubectl aligns it.
pub fn table(res: &Resource, objs: &[Value], layout: Layout, now: DateTime<Utc>) -> String {
    let (wide, with_namespace) = (layout.wide, layout.namespace && res.namespaced);
    let cols = columns(res, wide);
    let mut lines = Vec::with_capacity(objs.len() + 1);
    let mut header: Vec<String> = Vec::new();
    if with_namespace {
        header.push("NAMESPACE".into());
    }
    header.push("NAME".into());
    header.extend(cols.iter().map(|c| c.name.to_uppercase()));
    lines.push(header.join("\t"));
    for obj in objs {
        let mut row: Vec<String> = Vec::new();
        if with_namespace {
            row.push(text(obj, "/metadata/namespace").unwrap_or_default().into());
        }
        let name = text(obj, "/metadata/name").unwrap_or_default();
        row.push(if layout.kind {
            format!("{}/{name}", res.group_singular())
        } else {
            name.into()
        });
        for c in &cols {
            let cell = if c.json_path.is_empty() {
                core_cell(res, obj, &c.name, now)
            } else {
                crd_cell(obj, c, now)
            };
            // A cell ends at its first line break, as kubectl cuts it.
            row.push(cell.lines().next().unwrap_or_default().to_string());
        }
        lines.push(row.join("\t"));
    }
    tabwrite(&(lines.join("\n") + "\n"), 3)
}

/// Keys sorted at every level, as the API server returns a custom resource (and so stable
/// whatever order the store kept them in).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// kubectl's `List` of several objects.
pub fn list(items: &[Value]) -> Value {
    json!({
        "apiVersion": "v1",
        "items": items.iter().map(sorted).collect::<Vec<_>>(),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    })
}

/// JSON with kubectl's four-space indent.
pub fn to_json(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&sorted(v), &mut ser).expect("a JSON value serialises");
    String::from_utf8(buf).expect("JSON is UTF-8") + "\n"
}

pub fn to_yaml(v: &Value) -> anyhow::Result<String> {
    serde_saphyr::to_string(&sorted(v)).context("writing YAML")
}

/// `kind.group/name`, as `-o name` prints an object.
pub fn object_name(res: &Resource, obj: &Value) -> String {
    format!(
        "{}/{}",
        res.group_singular(),
        text(obj, "/metadata/name").unwrap_or_default()
    )
}

/// The objects asked for: by name (with the names not found), or by listing.
pub async fn fetch(
    store: &dyn ObjectStore,
    res: &Resource,
    namespace: Option<&str>,
    names: &[String],
    selector: &Selector,
) -> anyhow::Result<(Vec<Value>, Vec<String>)> {
    // Cluster-scoped objects are kept without a namespace; list them all whatever `-n` says.
    let ns = if res.namespaced { namespace } else { None };
    if names.is_empty() {
        let all = store.list_raw(&res.kind, ns).await?;
        let found = all
            .into_iter()
            .filter(|v| selector.matches(&rules::labels(v)))
            .collect();
        return Ok((found, Vec::new()));
    }
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for name in names {
        let obj = if res.namespaced {
            let r = ObjRef::new(res.kind.clone(), ns.unwrap_or_default(), name);
            store.get_raw(&r).await?
        } else {
            let all = store.list_raw(&res.kind, None).await?;
            all.into_iter()
                .find(|v| text(v, "/metadata/name") == Some(name.as_str()))
        };
        match obj {
            Some(o) => found.push(o),
            None => missing.push(name.clone()),
        }
    }
    Ok((found, missing))
}

/// Snapshots asked for: by name, or listed from the Repositories the selector picks. Besides
/// the objects, the error lines of what could not be shown (a name not found or malformed, a
/// Repository that does not open), each naming what and why.
pub async fn fetch_snapshots(
    store: &dyn ObjectStore,
    namespace: Option<&str>,
    names: &[String],
    selector: &Selector,
) -> anyhow::Result<(Vec<Value>, Vec<String>)> {
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    if names.is_empty() {
        let listing = snapshots::list(store, namespace, selector).await?;
        for s in &listing.snapshots {
            found.push(serde_json::to_value(s)?);
        }
        errors.extend(listing.failures.iter().map(|e| KubectlError::snapshot(e).0));
        return Ok((found, errors));
    }
    let ns = namespace.unwrap_or(crate::local::manifests::DEFAULT_NAMESPACE);
    for name in names {
        match snapshots::get(store, ns, name).await {
            Ok(s) => found.push(serde_json::to_value(&s)?),
            Err(snapshots::SnapshotError::Store(e)) => return Err((*e).into()),
            Err(e) => errors.push(KubectlError::snapshot(&e).0),
        }
    }
    Ok((found, errors))
}

/// What `get`'s arguments ask for: kinds, each with the names wanted (none: all of them).
/// `KIND[,KIND…] [NAME…]` (a kind may be a category such as `all`), or `TYPE/NAME…`.
pub fn requests(
    kind: &str,
    names: &[String],
) -> Result<Vec<(Resource, Vec<String>)>, KubectlError> {
    let unknown =
        |t: &str| KubectlError::usage(format!("the server doesn't have a resource type \"{t}\""));
    if kind.contains('/') {
        let mut out: Vec<(Resource, Vec<String>)> = Vec::new();
        for arg in std::iter::once(kind).chain(names.iter().map(String::as_str)) {
            let (Some(t), name) = super::kubectl::split_type_name(arg) else {
                return Err(KubectlError::usage(format!(
                    "there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'stash get resource/<resource_name>' instead of 'stash get resource resource/<resource_name>'): {arg:?}"
                )));
            };
            let res = Resource::find(t).ok_or_else(|| unknown(t))?;
            match out.last_mut() {
                Some((r, n)) if *r == res => n.push(name.to_string()),
                _ => out.push((res, vec![name.to_string()])),
            }
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for t in kind.split(',').filter(|t| !t.is_empty()) {
        for res in Resource::resolve(t).ok_or_else(|| unknown(t))? {
            out.push((res, names.to_vec()));
        }
    }
    if out.is_empty() {
        return Err(KubectlError::usage("a resource type is required"));
    }
    Ok(out)
}

pub async fn run(g: &GlobalArgs, a: GetArgs) -> anyhow::Result<()> {
    let reqs = requests(&a.kind, &a.names)?;
    let by_name = reqs.iter().any(|(_, n)| !n.is_empty());
    if by_name && a.selector.is_some() {
        return Err(
            KubectlError::usage("name cannot be provided when a selector is specified").into(),
        );
    }
    if by_name && a.all_namespaces {
        return Err(KubectlError::usage(
            "a resource cannot be retrieved by name across all namespaces",
        )
        .into());
    }
    let output = a.output.or(g.json.then_some(Output::Json));
    let secrets = reqs.iter().any(|(r, _)| r.is_secret());
    if secrets && matches!(output, Some(Output::Json | Output::Yaml)) {
        bail!("Secret data is not printed: read it in its manifest file (stash get secret shows each Secret's type and key count, stash describe secret its keys and sizes)");
    }
    if secrets && a.manifests.is_empty() {
        bail!("Secrets are read from the manifests folder, not from the state: pass --manifests DIR (or set {MANIFESTS_ENV})");
    }
    let snapshots = reqs.iter().any(|(r, _)| r.is_snapshot());
    if snapshots && a.manifests.is_empty() {
        bail!("Snapshots are read from the repositories, opened with their storage Secrets from the manifests folder: pass --manifests DIR (or set {MANIFESTS_ENV})");
    }
    let manifests = if secrets || snapshots {
        a.manifests.clone()
    } else {
        Vec::new()
    };
    let selector =
        Selector::parse(a.selector.as_deref().unwrap_or_default()).map_err(KubectlError::usage)?;
    let store = a.state.open(manifests).await?;
    let namespace = (!a.all_namespaces).then_some(a.ns.namespace.as_str());
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (res, names) in &reqs {
        if res.is_snapshot() {
            let (found, failed) = fetch_snapshots(&store, namespace, names, &selector).await?;
            errors.extend(failed);
            results.push((res, found));
            continue;
        }
        let (found, missing) = fetch(&store, res, namespace, names, &selector).await?;
        if !missing.is_empty() {
            let missing: Vec<&str> = missing.iter().map(String::as_str).collect();
            errors.push(KubectlError::not_found(res, &missing).0);
        }
        results.push((res, found));
    }
    let all: Vec<Value> = results
        .iter()
        .flat_map(|(_, f)| f.iter().cloned())
        .collect();
    // One object asked for by name prints as itself; anything else as a List (none at all,
    // when every name asked for is missing).
    let single = reqs.len() == 1 && reqs[0].1.len() == 1;
    match output {
        Some(Output::Json | Output::Yaml) if by_name && all.is_empty() => {}
        Some(Output::Json) if single => print!("{}", to_json(&all[0])),
        Some(Output::Json) => print!("{}", to_json(&list(&all))),
        Some(Output::Yaml) if single => print!("{}", to_yaml(&all[0])?),
        Some(Output::Yaml) => print!("{}", to_yaml(&list(&all))?),
        Some(Output::Name) => {
            for (res, found) in &results {
                for o in found {
                    println!("{}", object_name(res, o));
                }
            }
        }
        None | Some(Output::Wide) => {
            let layout = Layout {
                wide: output == Some(Output::Wide),
                namespace: a.all_namespaces,
                kind: results.len() > 1,
            };
            let now = Utc::now();
            let tables: Vec<String> = results
                .iter()
                .filter(|(_, found)| !found.is_empty())
                .map(|(res, found)| table(res, found, layout, now))
                .collect();
            print!("{}", tables.join("\n"));
            if all.is_empty() && errors.is_empty() {
                let namespaced = reqs.iter().any(|(r, _)| r.namespaced);
                if a.all_namespaces || !namespaced {
                    eprintln!("No resources found");
                } else {
                    eprintln!("No resources found in {} namespace.", a.ns.namespace);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(KubectlError(errors.join("\n")).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::kubectl::parse_time;

    fn now() -> DateTime<Utc> {
        parse_time("2026-03-01T12:00:00Z").unwrap()
    }

    fn session(name: &str, phase: Option<&str>, duration: Option<&str>) -> Value {
        let mut v = json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession",
            "metadata": {"name": name, "namespace": "demo", "creationTimestamp": "2026-03-01T11:55:00Z"},
            "spec": {"invoker": {"apiGroup": "stash.appscode.com", "kind": "BackupConfiguration", "name": "nightly"}},
        });
        if let Some(p) = phase {
            v["status"]["phase"] = json!(p);
        }
        if let Some(d) = duration {
            v["status"]["sessionDuration"] = json!(d);
        }
        v
    }

    fn rows(t: &str) -> Vec<Vec<String>> {
        t.lines()
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    }

    #[test]
    fn arguments_name_kinds_categories_and_type_slash_name() {
        let ask = |kind: &str, names: &[&str]| {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            requests(kind, &names).map(|r| {
                r.into_iter()
                    .map(|(res, n)| format!("{}:{}", res.kind.kind, n.join("+")))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(ask("bs", &["a", "b"]).unwrap(), ["BackupSession:a+b"]);
        assert_eq!(
            ask("bc,bs", &[]).unwrap(),
            ["BackupConfiguration:", "BackupSession:"]
        );
        assert_eq!(ask("all", &[]).unwrap().len(), 7);
        assert_eq!(
            ask("bc/nightly", &["bc/weekly", "bs/x"]).unwrap(),
            ["BackupConfiguration:nightly+weekly", "BackupSession:x"]
        );
        assert!(ask("bc/nightly", &["weekly"])
            .unwrap_err()
            .to_string()
            .starts_with("error: there is no need to specify a resource type"));
        assert_eq!(
            ask("bc,widgets", &[]).unwrap_err().to_string(),
            "error: the server doesn't have a resource type \"widgets\""
        );
    }

    #[test]
    fn several_kinds_name_rows_by_kind() {
        let r = Resource::find("bs").unwrap();
        let layout = Layout {
            kind: true,
            ..Default::default()
        };
        let t = table(&r, &[session("nightly-1", None, None)], layout, now());
        assert_eq!(rows(&t)[1][0], "backupsession.stash.appscode.com/nightly-1");
    }

    #[test]
    fn columns_per_kind_are_stashs() {
        let heads = |kind: &str, wide: bool| -> Vec<String> {
            let r = Resource::find(kind).unwrap();
            columns(&r, wide).into_iter().map(|c| c.name).collect()
        };
        assert_eq!(
            heads("repo", false),
            [
                "Integrity",
                "Size",
                "Snapshot-Count",
                "Last-Successful-Backup",
                "Age"
            ]
        );
        assert_eq!(
            heads("bc", false),
            ["Task", "Schedule", "Paused", "Phase", "Age"]
        );
        assert_eq!(
            heads("backupbatch", false),
            ["Schedule", "Paused", "Phase", "Age"]
        );
        assert_eq!(
            heads("bs", false),
            ["Invoker-Type", "Invoker-Name", "Phase", "Duration", "Age"]
        );
        assert_eq!(
            heads("restore", false),
            ["Repository", "Phase", "Duration", "Age"]
        );
        assert_eq!(
            heads("restorebatch", false),
            ["Repository", "Phase", "Duration", "Age"]
        );
        assert_eq!(heads("bb", false), ["Task", "Schedule", "Age"]);
        assert_eq!(heads("fn", false), ["Age"]);
        assert_eq!(heads("task", false), ["Age"]);
        assert_eq!(heads("appbinding", false), ["Type", "Version", "Age"]);
        // Stash's CRDs have no priority-1 columns: wide is the same table.
        assert_eq!(heads("bs", true), heads("bs", false));
        assert_eq!(
            heads("cj", false),
            [
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age"
            ]
        );
        assert_eq!(heads("cj", true).len(), 9);
        assert_eq!(heads("secret", false), ["Type", "Data", "Age"]);
        assert_eq!(
            heads("snapshots", false),
            ["ID", "Repository", "Hostname", "Created At"]
        );
    }

    #[test]
    fn snapshot_table_is_stashs() {
        let id = "b54ee4a0e9c9084696dc976f125c4fd0e6b1a31abfd82cfc857b3bc9e559fa2f";
        let snap = json!({
            "apiVersion": "repositories.stash.appscode.com/v1alpha1", "kind": "Snapshot",
            "metadata": {"name": "gcs-repo-b54ee4a0", "namespace": "demo", "uid": id,
                         "creationTimestamp": "2026-03-01T11:00:00Z",
                         "labels": {"repository": "gcs-repo", "hostname": "host-0"}},
            "status": {"repository": "gcs-repo", "hostname": "host-0", "paths": ["/data"],
                       "tree": "00", "username": "", "uid": 0, "gid": 0},
        });
        let r = Resource::find("snapshots").unwrap();
        let t = table(&r, std::slice::from_ref(&snap), Layout::default(), now());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines,
            [
                "NAME                ID         REPOSITORY   HOSTNAME   CREATED AT",
                "gcs-repo-b54ee4a0   b54ee4a0   gcs-repo     host-0     2026-03-01T11:00:00Z",
            ]
        );
        assert_eq!(
            object_name(&r, &snap),
            "snapshot.repositories.stash.appscode.com/gcs-repo-b54ee4a0"
        );
        let with_ns = table(
            &r,
            &[snap],
            Layout {
                namespace: true,
                ..Default::default()
            },
            now(),
        );
        assert_eq!(rows(&with_ns)[1][..2], ["demo", "gcs-repo-b54ee4a0"]);
    }

    #[test]
    fn session_table_with_and_without_namespace() {
        let r = Resource::find("bs").unwrap();
        let objs = [
            session("nightly-1", Some("Succeeded"), Some("32s")),
            session("nightly-2", None, None),
        ];
        let t = table(&r, &objs, Layout::default(), now());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "NAME        INVOKER-TYPE          INVOKER-NAME   PHASE       DURATION   AGE"
        );
        assert_eq!(
            lines[1],
            "nightly-1   BackupConfiguration   nightly        Succeeded   32s        5m"
        );
        // Missing phase and duration print empty, as the API server's table leaves them.
        assert_eq!(
            lines[2],
            "nightly-2   BackupConfiguration   nightly                               5m"
        );
        let t = table(
            &r,
            &objs,
            Layout {
                namespace: true,
                ..Default::default()
            },
            now(),
        );
        assert_eq!(rows(&t)[0][..2], ["NAMESPACE", "NAME"]);
        assert_eq!(rows(&t)[1][..2], ["demo", "nightly-1"]);
    }

    #[test]
    fn cells_by_column_type() {
        let repo = json!({
            "metadata": {"name": "gcs", "creationTimestamp": "2026-02-27T12:00:00Z"},
            "status": {"integrity": true, "totalSize": "1.2 GiB", "snapshotCount": 12,
                       "lastBackupTime": "2026-03-01T11:00:00Z"},
        });
        let r = Resource::find("repo").unwrap();
        let t = table(&r, &[repo], Layout::default(), now());
        assert_eq!(
            rows(&t)[1],
            ["gcs", "true", "1.2", "GiB", "12", "60m", "2d"]
        );
        let bc = json!({
            "metadata": {"name": "nightly", "creationTimestamp": "2026-03-01T12:00:01Z"},
            "spec": {"task": {"name": "postgres-backup-16"}, "schedule": "*/5 * * * *", "paused": false},
            "status": {"phase": "Ready"},
        });
        let r = Resource::find("bc").unwrap();
        let t = table(&r, &[bc], Layout::default(), now());
        assert_eq!(
            t.lines().nth(1).unwrap(),
            "nightly   postgres-backup-16   */5 * * * *   false    Ready   0s"
        );
        let col = |type_: &str, path: &str| Column {
            name: "X".into(),
            type_: type_.into(),
            json_path: path.into(),
            priority: 0,
        };
        let v = json!({"a": {"n": 3, "f": 1.5, "s": "x", "o": {"k": 1}, "l": [{"b": "second"}]}});
        assert_eq!(crd_cell(&v, &col("integer", ".a.n"), now()), "3");
        assert_eq!(crd_cell(&v, &col("number", ".a.f"), now()), "1.5");
        assert_eq!(crd_cell(&v, &col("number", ".a.n"), now()), "3");
        assert_eq!(crd_cell(&v, &col("string", ".a.o"), now()), "{\"k\":1}");
        assert_eq!(crd_cell(&v, &col("string", ".a.l[0].b"), now()), "second");
        assert_eq!(crd_cell(&v, &col("integer", ".a.s"), now()), "");
        assert_eq!(crd_cell(&v, &col("date", ".a.s"), now()), "");
        assert_eq!(crd_cell(&v, &col("string", ".a.missing"), now()), "");
    }

    #[test]
    fn core_kinds_print_like_kubectl() {
        let cj = json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "stash-trigger-nightly", "namespace": "demo", "creationTimestamp": "2026-03-01T10:00:00Z"},
            "spec": {"schedule": "*/5 * * * *", "suspend": true, "jobTemplate": {}},
        });
        let r = Resource::find("cj").unwrap();
        assert_eq!(
            rows(&table(
                &r,
                std::slice::from_ref(&cj),
                Layout::default(),
                now()
            ))[1],
            [
                "stash-trigger-nightly",
                "*/5",
                "*",
                "*",
                "*",
                "*",
                "<none>",
                "True",
                "0",
                "<none>",
                "120m"
            ]
        );
        let wide = table(
            &r,
            &[cj],
            Layout {
                wide: true,
                ..Default::default()
            },
            now(),
        );
        let w = rows(&wide);
        assert_eq!(
            w[0][w[0].len() - 4..],
            ["AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
        );
        assert_eq!(w[1].last().unwrap(), "<none>", "{wide}");
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "pg-auth", "namespace": "demo"},
            "data": {"password": "c2VjcmV0"}, "stringData": {"username": "postgres"},
        });
        let r = Resource::find("secret").unwrap();
        assert_eq!(
            rows(&table(&r, &[secret], Layout::default(), now()))[1],
            ["pg-auth", "Opaque", "2", "<unknown>"]
        );
    }

    #[test]
    fn json_and_yaml_are_sorted_objects_and_lists() {
        let s = session("nightly-1", Some("Succeeded"), None);
        let j = to_json(&s);
        assert!(j.starts_with("{\n    \"apiVersion\": \"stash.appscode.com/v1beta1\",\n    \"kind\": \"BackupSession\",\n    \"metadata\": {"), "{j}");
        assert_eq!(serde_json::from_str::<Value>(&j).unwrap(), s);
        let l = list(std::slice::from_ref(&s));
        assert_eq!(l["kind"], "List");
        assert_eq!(l["apiVersion"], "v1");
        assert_eq!(l["items"][0], s);
        let y = to_yaml(&s).unwrap();
        assert!(
            y.starts_with("apiVersion: stash.appscode.com/v1beta1\nkind: BackupSession\n"),
            "{y}"
        );
        assert_eq!(serde_saphyr::from_str::<Value>(&y).unwrap(), s);
        let r = Resource::find("bs").unwrap();
        assert_eq!(
            object_name(&r, &s),
            "backupsession.stash.appscode.com/nightly-1"
        );
    }
}
