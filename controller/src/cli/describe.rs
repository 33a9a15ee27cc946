//! `stash describe KIND [NAME…] [-n NS] [-l SELECTOR]`: kubectl's `describe` over local mode's
//! state folder.
//!
//! Laid out as kubectl lays out a custom resource (name, namespace, labels, annotations, then
//! spec and status field by field with kubectl's labels: `retentionPolicy` → `Retention
//! Policy`), with what a Stash user looks for pulled out into tables: the conditions; for a
//! BackupSession each target's hosts (phase, duration, snapshots, error) and its conditions;
//! for a RestoreSession and the batches, their hosts and members; then the events recorded
//! about the object. A NAME that matches nothing exactly describes the objects whose names
//! start with it, as kubectl does.
//!
//! A Secret (read from `--manifests`) shows its type and each key's size in bytes, never a
//! value, as kubectl does.
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::Value;

use super::kubectl::{age, tabwrite, time_at, KubectlError, NamespaceArg, Resource, StateArgs};
use crate::steps::MANIFESTS_ENV;
use crate::store::{Event, EventType, ObjRef, ObjectStore, Selector};

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// Kind, as for `stash get` (repository, bc, bs, restore, …)
    pub kind: String,
    /// Object name(s) or name prefix(es); every object of the kind when none
    pub names: Vec<String>,
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Label selector: a=b, a!=b, a, !a (comma-separated)
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
    /// Manifests folder(s) holding the Secrets (`describe secret` only)
    #[arg(long = "manifests", env = MANIFESTS_ENV, value_delimiter = ':')]
    pub manifests: Vec<PathBuf>,
}

/// Lines with tab-separated cells, indented by level, aligned at the end.
#[derive(Default)]
struct Out(String);

impl Out {
    fn line(&mut self, level: usize, text: impl AsRef<str>) {
        for _ in 0..level {
            self.0.push_str("  ");
        }
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }

    /// `Label:\tvalue`.
    fn field(&mut self, level: usize, label: &str, value: impl AsRef<str>) {
        self.line(level, format!("{label}:\t{}", cell(value.as_ref())));
    }

    /// A table with kubectl's underlined header; `<none>` after the title when it is empty
    /// (spaced, not tabbed, so it does not join the alignment of the lines before it).
    fn table(&mut self, level: usize, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
        if rows.is_empty() {
            self.line(level, format!("{title}:  <none>"));
            return;
        }
        self.line(level, format!("{title}:"));
        self.line(level + 1, header.join("\t"));
        let rule: Vec<String> = header.iter().map(|h| "-".repeat(h.len())).collect();
        self.line(level + 1, rule.join("\t"));
        for r in rows {
            let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
            self.line(level + 1, cells.join("\t"));
        }
    }
}

/// A value on one line: tabs and line breaks would break the alignment.
fn cell(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// kubectl's `smartLabelFor`: `storageSecretName` → `Storage Secret Name`, `apiVersion` →
/// `API Version`; a field with characters other than letters and `-` stays as it is.
pub fn smart_label(field: &str) -> String {
    if field.chars().any(|c| !c.is_alphabetic() && c != '-') {
        return field.to_string();
    }
    // Runs of one class (lower, upper, other); an upper run followed by a lower one gives
    // its last letter to it (`URLPath` → `URL`, `Path`), as fatih/camelcase splits.
    let class = |c: char| {
        if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else {
            2
        }
    };
    let mut runs: Vec<(u8, String)> = Vec::new();
    for c in field.chars() {
        match runs.last_mut() {
            Some((k, s)) if *k == class(c) => s.push(c),
            _ => runs.push((class(c), c.to_string())),
        }
    }
    for i in 0..runs.len().saturating_sub(1) {
        if runs[i].0 == 1 && runs[i + 1].0 == 0 {
            if let Some(last) = runs[i].1.pop() {
                runs[i + 1].1.insert(0, last);
            }
        }
    }
    const ACRONYMS: [&str; 5] = ["API", "URL", "UID", "OSB", "GUID"];
    runs.into_iter()
        .map(|(_, s)| s)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let upper = s.to_uppercase();
            if ACRONYMS.contains(&upper.as_str()) {
                upper
            } else {
                let mut c = s.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// kubectl's `printUnstructuredContent`: sorted fields; maps and lists open a level.
fn generic(out: &mut Out, level: usize, map: &serde_json::Map<String, Value>, skip: &[&str]) {
    let mut keys: Vec<&String> = map.keys().filter(|k| !skip.contains(&k.as_str())).collect();
    keys.sort();
    for k in keys {
        let label = smart_label(k);
        match &map[k] {
            Value::Null => {}
            Value::Object(m) => {
                out.line(level, format!("{label}:"));
                generic(out, level + 1, m, &[]);
            }
            Value::Array(items) => {
                out.line(level, format!("{label}:"));
                for item in items {
                    match item {
                        Value::Object(m) => generic(out, level + 1, m, &[]),
                        other => out.line(level + 1, cell(&scalar(other))),
                    }
                }
            }
            other => out.field(level, &label, scalar(other)),
        }
    }
}

/// A target reference as one phrase: `AppBinding demo/pg`.
fn target_ref(r: &Value) -> String {
    let (kind, name, ns) = (text(r, "/kind"), text(r, "/name"), text(r, "/namespace"));
    match (kind.is_empty(), ns.is_empty()) {
        (true, _) => name.to_string(),
        (false, true) => format!("{kind} {name}"),
        (false, false) => format!("{kind} {ns}/{name}"),
    }
}

fn list<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn conditions(out: &mut Out, level: usize, conds: &[Value], now: DateTime<Utc>) {
    let rows = conds
        .iter()
        .map(|c| {
            vec![
                text(c, "/type").to_string(),
                text(c, "/status").to_string(),
                text(c, "/reason").to_string(),
                time_at(c, "/lastTransitionTime")
                    .map(|t| age(Some(t), now))
                    .unwrap_or_default(),
                text(c, "/message").to_string(),
            ]
        })
        .collect();
    out.table(
        level,
        "Conditions",
        &["Type", "Status", "Reason", "Last Transition", "Message"],
        rows,
    );
}

/// `1a2b3c4d /dumpfile.sql (3.036 MiB)` for each snapshot of a host.
fn snapshots(host: &Value) -> String {
    list(host, "/snapshots")
        .iter()
        .map(|s| {
            let mut t = format!("{} {}", text(s, "/name"), text(s, "/path"));
            let size = text(s, "/totalSize");
            if !size.is_empty() {
                t.push_str(&format!(" ({size})"));
            }
            t.trim().to_string()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn backup_hosts(out: &mut Out, level: usize, stats: &[Value]) {
    let rows = stats
        .iter()
        .map(|h| {
            vec![
                text(h, "/hostname").to_string(),
                text(h, "/phase").to_string(),
                text(h, "/duration").to_string(),
                snapshots(h),
                text(h, "/error").to_string(),
            ]
        })
        .collect();
    out.table(
        level,
        "Hosts",
        &["Hostname", "Phase", "Duration", "Snapshots", "Error"],
        rows,
    );
}

fn restore_hosts(out: &mut Out, level: usize, stats: &[Value]) {
    let rows = stats
        .iter()
        .map(|h| {
            vec![
                text(h, "/hostname").to_string(),
                text(h, "/phase").to_string(),
                text(h, "/duration").to_string(),
                text(h, "/error").to_string(),
            ]
        })
        .collect();
    out.table(
        level,
        "Hosts",
        &["Hostname", "Phase", "Duration", "Error"],
        rows,
    );
}

/// A session's or batch's per-target part (`status.targets[]`, `status.members[]`).
fn members(out: &mut Out, title: &str, items: &[Value], backup: bool, now: DateTime<Utc>) {
    if items.is_empty() {
        return;
    }
    out.line(0, format!("{title}:"));
    for t in items {
        out.line(
            1,
            format!("{}:", target_ref(t.get("ref").unwrap_or(&Value::Null))),
        );
        for (label, pointer) in [("Phase", "/phase"), ("Total Hosts", "/totalHosts")] {
            if let Some(v) = t.pointer(pointer) {
                out.field(2, label, scalar(v));
            }
        }
        for (label, pointer) in [
            ("Pre Backup Actions", "/preBackupActions"),
            ("Post Backup Actions", "/postBackupActions"),
        ] {
            let actions: Vec<String> = list(t, pointer).iter().map(scalar).collect();
            if !actions.is_empty() {
                out.field(2, label, actions.join(", "));
            }
        }
        if backup {
            backup_hosts(out, 2, list(t, "/stats"));
        } else {
            restore_hosts(out, 2, list(t, "/stats"));
        }
        conditions(out, 2, list(t, "/conditions"), now);
    }
}

fn events(out: &mut Out, events: &[Event], now: DateTime<Utc>) {
    let rows = events
        .iter()
        .map(|e| {
            vec![
                match e.type_ {
                    EventType::Normal => "Normal".into(),
                    EventType::Warning => "Warning".into(),
                },
                e.reason.clone(),
                age(Some(e.time), now),
                e.source.clone(),
                e.message.clone(),
            ]
        })
        .collect();
    out.table(
        0,
        "Events",
        &["Type", "Reason", "Age", "From", "Message"],
        rows,
    );
}

/// Each key of a Secret (`data`, base64, and `stringData`, plain) and its size in bytes.
pub fn secret_sizes(obj: &Value) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (k, v) in obj
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        out.insert(k.clone(), base64_len(v.as_str().unwrap_or_default()));
    }
    for (k, v) in obj
        .get("stringData")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        out.insert(k.clone(), v.as_str().unwrap_or_default().len());
    }
    out
}

/// The decoded length of standard base64, without decoding it.
fn base64_len(s: &str) -> usize {
    let chars = s.chars().filter(|c| !c.is_whitespace()).count();
    let pad = s.trim_end().chars().rev().take_while(|c| *c == '=').count();
    (chars * 3 / 4).saturating_sub(pad.min(2))
}

fn header(out: &mut Out, res: &Resource, obj: &Value) {
    out.field(0, "Name", text(obj, "/metadata/name"));
    if res.namespaced {
        out.field(0, "Namespace", text(obj, "/metadata/namespace"));
    }
    let map_lines = |pointer: &str, sep: &str| -> Vec<String> {
        let mut l: Vec<String> = obj
            .pointer(pointer)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}{sep}{}", scalar(v)))
            .collect();
        l.sort();
        l
    };
    for (label, pointer, sep) in [
        ("Labels", "/metadata/labels", "="),
        ("Annotations", "/metadata/annotations", ": "),
    ] {
        let lines = map_lines(pointer, sep);
        match lines.split_first() {
            None => out.field(0, label, "<none>"),
            Some((first, rest)) => {
                out.field(0, label, first);
                for l in rest {
                    out.line(0, format!("\t{}", cell(l)));
                }
            }
        }
    }
    if res.is_secret() {
        return;
    }
    out.field(0, "API Version", text(obj, "/apiVersion"));
    out.field(0, "Kind", text(obj, "/kind"));
    out.field(
        0,
        "Creation Timestamp",
        text(obj, "/metadata/creationTimestamp"),
    );
    for o in list(obj, "/metadata/ownerReferences") {
        if o.get("controller").and_then(Value::as_bool) == Some(true) {
            out.field(
                0,
                "Controlled By",
                format!("{}/{}", text(o, "/kind"), text(o, "/name")),
            );
        }
    }
    if let Some(t) = obj.pointer("/metadata/deletionTimestamp") {
        out.field(0, "Deletion Timestamp", scalar(t));
        let f: Vec<String> = list(obj, "/metadata/finalizers")
            .iter()
            .map(scalar)
            .collect();
        out.field(0, "Finalizers", format!("[{}]", f.join(" ")));
    }
}

/// The kinds whose status has conditions (a Repository's has none).
const HAS_CONDITIONS: [&str; 5] = [
    "BackupConfiguration",
    "BackupBatch",
    "BackupSession",
    "RestoreSession",
    "RestoreBatch",
];

/// The whole description of one object.
pub fn describe(res: &Resource, obj: &Value, evs: &[Event], now: DateTime<Utc>) -> String {
    let mut out = Out::default();
    header(&mut out, res, obj);
    if res.is_secret() {
        out.line(0, "");
        out.field(
            0,
            "Type",
            obj.get("type").and_then(Value::as_str).unwrap_or("Opaque"),
        );
        out.line(0, "");
        out.line(0, "Data");
        out.line(0, "====");
        for (k, n) in secret_sizes(obj) {
            out.field(0, &k, format!("{n} bytes"));
        }
        return tabwrite(&out.0, 2);
    }
    if let Some(m) = obj.get("spec").and_then(Value::as_object) {
        out.line(0, "Spec:");
        generic(&mut out, 1, m, &[]);
    }
    // What has a table or section of its own is left out of the field-by-field status.
    let own = [
        "conditions",
        "targets",
        "stats",
        "members",
        "memberConditions",
    ];
    if let Some(m) = obj.get("status").and_then(Value::as_object) {
        if m.keys().any(|k| !own.contains(&k.as_str())) {
            out.line(0, "Status:");
            generic(&mut out, 1, m, &own);
        }
        if m.contains_key("conditions") || HAS_CONDITIONS.contains(&res.kind.kind.as_str()) {
            conditions(&mut out, 0, list(obj, "/status/conditions"), now);
        }
    }
    match res.kind.kind.as_str() {
        "BackupSession" => members(&mut out, "Targets", list(obj, "/status/targets"), true, now),
        "RestoreSession" => restore_hosts(&mut out, 0, list(obj, "/status/stats")),
        "RestoreBatch" => members(
            &mut out,
            "Members",
            list(obj, "/status/members"),
            false,
            now,
        ),
        "BackupBatch" => {
            let items = list(obj, "/status/memberConditions");
            if !items.is_empty() {
                out.line(0, "Member Conditions:");
                for m in items {
                    out.line(
                        1,
                        format!("{}:", target_ref(m.get("target").unwrap_or(&Value::Null))),
                    );
                    conditions(&mut out, 2, list(m, "/conditions"), now);
                }
            }
        }
        _ => {}
    }
    events(&mut out, evs, now);
    tabwrite(&out.0, 2)
}

pub async fn run(a: DescribeArgs) -> anyhow::Result<()> {
    let reqs = super::get::requests(&a.kind, &a.names)?;
    if reqs.iter().any(|(r, _)| r.is_snapshot()) {
        return Err(KubectlError::usage(
            "describe does not read repositories: `stash get snapshot NAME -o yaml` shows a Snapshot in full",
        )
        .into());
    }
    let secrets = reqs.iter().any(|(r, _)| r.is_secret());
    if secrets && a.manifests.is_empty() {
        bail!("Secrets are read from the manifests folder, not from the state: pass --manifests DIR (or set {MANIFESTS_ENV})");
    }
    let manifests = if secrets {
        a.manifests.clone()
    } else {
        Vec::new()
    };
    let selector =
        Selector::parse(a.selector.as_deref().unwrap_or_default()).map_err(KubectlError::usage)?;
    let store = a.state.open(manifests).await?;
    let now = Utc::now();
    let mut texts = Vec::new();
    let mut errors = Vec::new();
    for (res, names) in &reqs {
        let (all, _) =
            super::get::fetch(&store, res, Some(&a.ns.namespace), &[], &selector).await?;
        let (chosen, missing) = choose(&all, names);
        if !missing.is_empty() {
            errors.push(KubectlError::not_found(res, &missing).0);
        }
        for obj in chosen {
            let evs = match ObjRef::of_value(obj) {
                Some(r) if !res.is_secret() => store.events(&r).await?,
                _ => Vec::new(),
            };
            texts.push(describe(res, obj, &evs, now));
        }
    }
    if texts.is_empty() && errors.is_empty() {
        if reqs.iter().any(|(r, _)| r.namespaced) {
            eprintln!("No resources found in {} namespace.", a.ns.namespace);
        } else {
            eprintln!("No resources found");
        }
    }
    print!("{}", texts.join("\n"));
    if !errors.is_empty() {
        return Err(KubectlError(errors.join("\n")).into());
    }
    Ok(())
}

/// The objects `names` pick out of `all`, as kubectl's describe picks them: an exact name,
/// else every name starting with it; no names, all of them. Also the names matching nothing.
pub fn choose<'a, 'n>(all: &'a [Value], names: &'n [String]) -> (Vec<&'a Value>, Vec<&'n str>) {
    if names.is_empty() {
        return (all.iter().collect(), Vec::new());
    }
    let name_of = |v: &Value| text(v, "/metadata/name").to_string();
    let (mut chosen, mut missing) = (Vec::new(), Vec::new());
    for n in names {
        let exact: Vec<&Value> = all.iter().filter(|v| name_of(v) == *n).collect();
        let matched: Vec<&Value> = if exact.is_empty() {
            all.iter()
                .filter(|v| name_of(v).starts_with(n.as_str()))
                .collect()
        } else {
            exact
        };
        if matched.is_empty() {
            missing.push(n.as_str());
        }
        chosen.extend(matched);
    }
    (chosen, missing)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::kubectl::parse_time;
    use crate::store::Kind;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn names_pick_exactly_else_by_prefix() {
        let objs: Vec<Value> = ["nightly", "nightly-2", "weekly"]
            .iter()
            .map(|n| json!({"metadata": {"name": n}}))
            .collect();
        let names = |picked: Vec<&Value>| -> Vec<String> {
            picked
                .iter()
                .map(|v| text(v, "/metadata/name").to_string())
                .collect()
        };
        let ask = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let q = ask(&["nightly"]);
        let (c, m) = choose(&objs, &q);
        assert_eq!((names(c), m), (vec!["nightly".to_string()], vec![]));
        let q = ask(&["night", "monthly"]);
        let (c, m) = choose(&objs, &q);
        assert_eq!(
            (names(c), m),
            (
                vec!["nightly".to_string(), "nightly-2".into()],
                vec!["monthly"]
            )
        );
        let (c, m) = choose(&objs, &[]);
        assert_eq!((c.len(), m.len()), (3, 0));
    }

    #[test]
    fn labels_like_kubectls() {
        for (field, want) in [
            ("apiVersion", "API Version"),
            ("storageSecretName", "Storage Secret Name"),
            ("keepLast", "Keep Last"),
            ("uid", "UID"),
            ("URLPath", "URL Path"),
            ("paused", "Paused"),
            ("s3", "s3"),
            ("app.kubernetes.io/name", "app.kubernetes.io/name"),
        ] {
            assert_eq!(smart_label(field), want, "{field}");
        }
    }

    #[test]
    fn secret_sizes_never_values() {
        assert_eq!(base64_len("c2VjcmV0"), 6);
        assert_eq!(base64_len("cG9zdGdyZXM="), 8);
        assert_eq!(base64_len("YQ=="), 1);
        assert_eq!(base64_len(""), 0);
        let s = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "pg-auth", "namespace": "demo"},
            "data": {"password": "c2VjcmV0"}, "stringData": {"username": "postgres"},
        });
        let r = Resource::find("secret").unwrap();
        let text = describe(&r, &s, &[], at("2026-03-01T12:00:00Z"));
        assert_eq!(
            text,
            "Name:         pg-auth\nNamespace:    demo\nLabels:       <none>\nAnnotations:  <none>\n\nType:  Opaque\n\nData\n====\npassword:  6 bytes\nusername:  8 bytes\n"
        );
    }

    fn session() -> Value {
        json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupSession",
            "metadata": {
                "name": "nightly-x7k2p", "namespace": "demo", "creationTimestamp": "2026-03-01T11:50:00Z",
                "labels": {"stash.appscode.com/invoker-name": "nightly", "app.kubernetes.io/managed-by": "stash.appscode.com"},
                "ownerReferences": [{"apiVersion": "stash.appscode.com/v1beta1", "kind": "BackupConfiguration", "name": "nightly", "uid": "u", "controller": true}],
            },
            "spec": {"invoker": {"apiGroup": "stash.appscode.com", "kind": "BackupConfiguration", "name": "nightly"}, "retryLeft": 0},
            "status": {
                "phase": "Failed", "sessionDuration": "1m2s",
                "conditions": [{"type": "MetricsPushed", "status": "True", "reason": "SuccessfullyPushedMetrics",
                                "message": "Successfully pushed metrics.", "lastTransitionTime": "2026-03-01T11:51:02Z"}],
                "targets": [{
                    "ref": {"apiVersion": "appcatalog.appscode.com/v1alpha1", "kind": "AppBinding", "name": "pg", "namespace": "demo"},
                    "totalHosts": 2, "phase": "Failed",
                    "preBackupActions": ["InitializeBackendRepository"],
                    "stats": [
                        {"hostname": "host-0", "phase": "Succeeded", "duration": "3.2s",
                         "snapshots": [{"name": "1a2b3c4d", "path": "/dumpfile.sql", "totalSize": "3.036 MiB"}]},
                        {"hostname": "host-1", "phase": "Failed", "duration": "1s", "error": "pg_dump: connection refused\nretry later"},
                    ],
                }],
            },
        })
    }

    #[test]
    fn session_summary_conditions_hosts_and_events() {
        let r = Resource::find("bs").unwrap();
        let ev = Event {
            object: ObjRef::new(
                Kind {
                    group: "stash.appscode.com".into(),
                    version: "v1beta1".into(),
                    kind: "BackupSession".into(),
                },
                "demo",
                "nightly-x7k2p",
            ),
            type_: EventType::Warning,
            reason: "Host Backup Failed".into(),
            message: "backup failed for host \"host-1\"".into(),
            source: "Status Updater".into(),
            time: at("2026-03-01T11:51:00Z"),
        };
        let text = describe(&r, &session(), &[ev], at("2026-03-01T12:00:00Z"));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Name:                nightly-x7k2p");
        assert_eq!(lines[1], "Namespace:           demo");
        assert_eq!(
            lines[2],
            "Labels:              app.kubernetes.io/managed-by=stash.appscode.com"
        );
        assert_eq!(
            lines[3],
            "                     stash.appscode.com/invoker-name=nightly"
        );
        assert!(
            text.contains("\nControlled By:       BackupConfiguration/nightly\n"),
            "{text}"
        );
        assert!(text.contains("\nSpec:\n  Invoker:\n    API Group:  stash.appscode.com\n    Kind:       BackupConfiguration\n    Name:       nightly\n  Retry Left:   0\n"), "{text}");
        assert!(
            text.contains("\nStatus:\n  Phase:             Failed\n  Session Duration:  1m2s\n"),
            "{text}"
        );
        assert!(text.contains("\nConditions:\n  Type           Status  Reason                     Last Transition  Message\n  ----           ------  ------                     ---------------  -------\n  MetricsPushed  True    SuccessfullyPushedMetrics  8m58s            Successfully pushed metrics.\n"), "{text}");
        assert!(text.contains("\nTargets:\n  AppBinding demo/pg:\n    Phase:               Failed\n    Total Hosts:         2\n    Pre Backup Actions:  InitializeBackendRepository\n    Hosts:\n"), "{text}");
        assert!(
            text.contains(
                "      host-0    Succeeded  3.2s      1a2b3c4d /dumpfile.sql (3.036 MiB)  \n"
            ),
            "{text}"
        );
        assert!(text.contains("      host-1    Failed     1s                                            pg_dump: connection refused retry later\n"), "{text}");
        assert!(text.contains("    Conditions:  <none>\n"), "{text}");
        assert!(text.ends_with("Events:\n  Type     Reason              Age  From            Message\n  ----     ------              ---  ----            -------\n  Warning  Host Backup Failed  9m   Status Updater  backup failed for host \"host-1\"\n"), "{text}");
    }

    #[test]
    fn restore_session_hosts_and_no_events() {
        let rs = json!({
            "apiVersion": "stash.appscode.com/v1beta1", "kind": "RestoreSession",
            "metadata": {"name": "restore-pg", "namespace": "demo"},
            "spec": {"repository": {"name": "gcs"}},
            "status": {"phase": "Succeeded", "totalHosts": 1,
                       "stats": [{"hostname": "host-0", "phase": "Succeeded", "duration": "2s"}]},
        });
        let r = Resource::find("restore").unwrap();
        let text = describe(&r, &rs, &[], at("2026-03-01T12:00:00Z"));
        assert!(text.contains("\nStatus:\n  Phase:        Succeeded\n  Total Hosts:  1\nConditions:  <none>\nHosts:\n  Hostname  Phase      Duration  Error\n"), "{text}");
        assert!(
            text.contains("\n  host-0    Succeeded  2s        \n"),
            "{text}"
        );
        assert!(text.ends_with("Events:  <none>\n"), "{text}");
    }
}
