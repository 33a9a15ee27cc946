//! What `stash get`, `stash describe` and the control commands (`trigger`, `pause`, `resume`)
//! share: the kinds they name, spelled as kubectl spells them (singular, plural, short names,
//! `plural.group`); the state folder they read; kubectl's error lines; ages; and column
//! alignment as Go's `text/tabwriter` does it, so the output lines up the way kubectl's does.
//!
//! Stash's own kinds and AppBinding come from the CRDs the API module generates
//! ([`stash::api::crd::all`]): their names, scope and printer columns are the ones a cluster
//! would serve, so a column added to a type shows up here with no second list to keep in step.
//! Three kinds are known by hand: CronJob (local mode's schedule triggers), Secret, and
//! Stash's Snapshot (`repositories.stash.appscode.com`, served by Stash's API server, not a
//! CRD), which no store holds: its objects are the repositories' restic snapshots, read
//! through [`crate::snapshots`]. It is in no category,
//! so `get all` reads the state store only and opens no repository. Pods, Jobs and workloads
//! are not known: local mode keeps none of its own.
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::Value;

use crate::clock::SystemClock;
use crate::snapshots::SnapshotError;
use crate::steps::{default_state_dir, STATE_ENV};
use crate::store::sqlite::DB_FILE;
use crate::store::{Kind, LocalStore};

/// An error in kubectl's words (`Error from server (NotFound): …`, `error: …`), printed as is,
/// with no `Fatal:` prefix; the exit code is 1, as kubectl's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KubectlError(pub String);

impl KubectlError {
    pub fn not_found(res: &Resource, names: &[&str]) -> KubectlError {
        let lines: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    "Error from server (NotFound): {} \"{n}\" not found",
                    res.group_resource()
                )
            })
            .collect();
        KubectlError(lines.join("\n"))
    }

    pub fn usage(message: impl std::fmt::Display) -> KubectlError {
        KubectlError(format!("error: {message}"))
    }

    /// A Snapshot that could not be shown or deleted, as the aggregated API server classes it:
    /// NotFound, BadRequest (a bad or ambiguous name), else an error reading the repository;
    /// the message and its causes on one line.
    pub fn snapshot(e: &SnapshotError) -> KubectlError {
        let message = crate::steps::actions::error_chain(e);
        KubectlError(if e.is_not_found() {
            format!("Error from server (NotFound): {message}")
        } else if e.is_bad_request() {
            format!("Error from server (BadRequest): {message}")
        } else {
            format!("error: {message}")
        })
    }
}

/// A printer column: a CRD's `additionalPrinterColumns` entry, or one of a core kind's.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// A simple JSONPath (`.status.phase`); empty for core columns computed by hand.
    pub json_path: String,
    /// 0 is always shown; higher only with `-o wide`.
    pub priority: i32,
}

/// One kind as kubectl resolves it.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub kind: Kind,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    /// The categories it belongs to (`kubectl get all`, `kubectl get stash`).
    pub categories: Vec<String>,
    /// The CRD's printer columns (NAME excluded); empty for the core kinds.
    pub columns: Vec<Column>,
}

impl Resource {
    fn core(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        short: &[&str],
        categories: &[&str],
    ) -> Resource {
        Resource {
            kind: Kind {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
            },
            plural: plural.into(),
            singular: kind.to_lowercase(),
            short_names: short.iter().map(|s| s.to_string()).collect(),
            namespaced: true,
            categories: categories.iter().map(|s| s.to_string()).collect(),
            columns: Vec::new(),
        }
    }

    /// Every kind `get` and `describe` know.
    pub fn all() -> Vec<Resource> {
        let mut out: Vec<Resource> = stash::api::crd::all()
            .into_iter()
            .filter_map(|crd| {
                let names = crd.spec.names;
                let version = crd.spec.versions.into_iter().find(|v| v.storage)?;
                let mut short_names = names.short_names.unwrap_or_default();
                // Not Stash's (its CRDs define none for sessions), but what people type.
                match names.kind.as_str() {
                    "BackupSession" => short_names.push("bs".into()),
                    "RestoreSession" => short_names.push("rs".into()),
                    _ => {}
                }
                let columns = version
                    .additional_printer_columns
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| Column {
                        name: c.name,
                        type_: c.type_,
                        json_path: c.json_path,
                        priority: c.priority.unwrap_or(0),
                    })
                    .collect();
                Some(Resource {
                    kind: Kind {
                        group: crd.spec.group,
                        version: version.name,
                        kind: names.kind.clone(),
                    },
                    singular: names.singular.unwrap_or_else(|| names.kind.to_lowercase()),
                    plural: names.plural,
                    short_names,
                    namespaced: crd.spec.scope == "Namespaced",
                    categories: names.categories.unwrap_or_default(),
                    columns,
                })
            })
            .collect();
        out.push(Resource::core(
            "batch",
            "v1",
            "CronJob",
            "cronjobs",
            &["cj"],
            &["all"],
        ));
        out.push(Resource::core("", "v1", "Secret", "secrets", &[], &[]));
        out.push(Resource::core(
            stash::api::snapshot::GROUP,
            stash::api::snapshot::VERSION,
            stash::api::snapshot::KIND,
            "snapshots",
            &[],
            &[],
        ));
        out
    }

    /// What one word of `stash get` names: a kind (see [`Resource::find`]) or, failing that,
    /// a category's kinds (`all`, `stash`, `appscode`, `catalog`); `None` if neither.
    pub fn resolve(typed: &str) -> Option<Vec<Resource>> {
        if let Some(r) = Resource::find(typed) {
            return Some(vec![r]);
        }
        let typed = typed.to_lowercase();
        let members: Vec<Resource> = Resource::all()
            .into_iter()
            .filter(|r| r.categories.contains(&typed))
            .collect();
        (!members.is_empty()).then_some(members)
    }

    /// The kind a user typed: singular, plural, short name or kind, in any case, optionally
    /// followed by `.group` or `.version.group` (`backupsessions.stash.appscode.com`).
    pub fn find(typed: &str) -> Option<Resource> {
        let typed = typed.to_lowercase();
        let (name, qualifier) = match typed.split_once('.') {
            Some((n, q)) => (n, Some(q)),
            None => (typed.as_str(), None),
        };
        Resource::all().into_iter().find(|r| {
            let named = r.plural == name
                || r.singular == name
                || r.kind.kind.to_lowercase() == name
                || r.short_names.iter().any(|s| s == name);
            let grouped = match qualifier {
                None => true,
                Some(q) => {
                    let g = r.kind.group.as_str();
                    q == g || q == format!("{}.{g}", r.kind.version)
                }
            };
            named && grouped
        })
    }

    /// `backupsessions.stash.appscode.com`, `cronjobs.batch`, `secrets`: how kubectl names the
    /// resource in errors.
    pub fn group_resource(&self) -> String {
        qualified(&self.plural, &self.kind.group)
    }

    /// `backupsession.stash.appscode.com`: the prefix of `-o name` and of `… paused`.
    pub fn group_singular(&self) -> String {
        qualified(&self.singular, &self.kind.group)
    }

    pub fn is_secret(&self) -> bool {
        self.kind.group.is_empty() && self.kind.kind == "Secret"
    }

    /// Snapshots: read from the repositories, not from the state store.
    pub fn is_snapshot(&self) -> bool {
        self.kind.group == stash::api::snapshot::GROUP
            && self.kind.kind == stash::api::snapshot::KIND
    }
}

fn qualified(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

/// `-n`: kubectl's namespace flag; `default` as in a kubeconfig without one, and as local mode
/// files a manifest that names none.
#[derive(Args, Debug, Clone)]
pub struct NamespaceArg {
    /// Namespace of the object(s)
    #[arg(short = 'n', long, default_value = crate::local::manifests::DEFAULT_NAMESPACE)]
    pub namespace: String,
}

/// Where local mode's state lives.
#[derive(Args, Debug, Clone)]
pub struct StateArgs {
    /// Local mode's state folder, the one `stash run` writes [default: $XDG_STATE_HOME/stash,
    /// else ~/.local/state/stash]
    #[arg(long, env = STATE_ENV)]
    pub state: Option<PathBuf>,
}

impl StateArgs {
    pub fn dir(&self) -> PathBuf {
        self.state
            .clone()
            .filter(|s| !s.as_os_str().is_empty())
            .unwrap_or_else(default_state_dir)
    }

    /// Opens the state store; Secrets come from `manifests` (empty: none are needed). A
    /// folder holding no state is an error naming it, rather than an empty cluster: a wrong
    /// `--state` would otherwise read as "No resources found".
    pub async fn open(&self, manifests: Vec<PathBuf>) -> anyhow::Result<LocalStore> {
        let dir = self.dir();
        if !dir.join(DB_FILE).is_file() {
            anyhow::bail!(
                "no state in {}: start `stash run` there first, or pass --state DIR (or set {STATE_ENV}) to the folder it uses",
                dir.display()
            );
        }
        Ok(LocalStore::open(&dir, manifests, std::sync::Arc::new(SystemClock)).await?)
    }
}

/// kubectl's `TYPE/NAME` or `NAME`: the type if one was given.
pub fn split_type_name(arg: &str) -> (Option<&str>, &str) {
    match arg.split_once('/') {
        Some((t, n)) => (Some(t), n),
        None => (None, arg),
    }
}

/// A time field of an object (`/metadata/creationTimestamp`).
pub fn time_at(obj: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    parse_time(obj.pointer(pointer)?.as_str()?)
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// How long ago `then` was, as kubectl prints an AGE: `translateTimestampSince`.
pub fn age(then: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match then {
        None => "<unknown>".into(),
        Some(t) => human_duration(now.signed_duration_since(t)),
    }
}

/// Kubernetes' `duration.HumanDuration`: `45s`, `5m30s`, `12m`, `3h20m`, `20h`, `2d3h`, `30d`,
/// `2y40d`, `9y`. Up to 2 seconds in the future reads as `0s` (clock skew); further is
/// `<invalid>`.
pub fn human_duration(d: chrono::Duration) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Go's `text/tabwriter` with kubectl's settings (minimum width 0, pad with spaces, no flags):
/// cells end at a tab; each column of a block of consecutive lines that have that cell is as
/// wide as its widest cell plus `padding`; the text after a line's last tab is not aligned.
/// `get` uses padding 3, `describe` 2, as kubectl.
pub fn tabwrite(text: &str, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text
        .split_terminator('\n')
        .map(|l| l.split('\t').collect())
        .collect();
    let mut widths = Vec::new();
    let mut out = String::new();
    format_block(&lines, 0, lines.len(), &mut widths, padding, &mut out);
    out
}

/// Go's `Writer.format`: finds the blocks of lines having a cell in column `widths.len()`,
/// sizes that column per block and recurses into the next column.
fn format_block(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(&lines[line0..this], widths, out);
        line0 = this;
        let mut width = 0;
        while this < line1 && column + 1 < lines[this].len() {
            width = width.max(lines[this][column].chars().count() + padding);
            this += 1;
        }
        widths.push(width);
        format_block(lines, line0, this, widths, padding, out);
        widths.pop();
        line0 = this;
    }
    write_lines(&lines[line0..line1], widths, out);
}

fn write_lines(lines: &[Vec<&str>], widths: &[usize], out: &mut String) {
    for line in lines {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len() && j < widths.len() {
                let pad = widths[j].saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &Resource) -> (String, String) {
        (r.kind.kind.clone(), r.group_resource())
    }

    #[test]
    fn kinds_resolve_by_every_name_kubectl_accepts() {
        let cases = [
            ("repository", "Repository"),
            ("repositories", "Repository"),
            ("repo", "Repository"),
            ("Repository", "Repository"),
            ("backupconfiguration", "BackupConfiguration"),
            ("backupconfigurations", "BackupConfiguration"),
            ("bc", "BackupConfiguration"),
            ("backupsession", "BackupSession"),
            ("backupsessions", "BackupSession"),
            ("bs", "BackupSession"),
            ("restoresession", "RestoreSession"),
            ("restoresessions", "RestoreSession"),
            ("restore", "RestoreSession"),
            ("rs", "RestoreSession"),
            ("backupbatch", "BackupBatch"),
            ("backupbatches", "BackupBatch"),
            ("restorebatch", "RestoreBatch"),
            ("backupblueprint", "BackupBlueprint"),
            ("bb", "BackupBlueprint"),
            ("function", "Function"),
            ("functions", "Function"),
            ("fn", "Function"),
            ("task", "Task"),
            ("tasks", "Task"),
            ("appbinding", "AppBinding"),
            ("appbindings", "AppBinding"),
            ("cronjob", "CronJob"),
            ("cronjobs", "CronJob"),
            ("cj", "CronJob"),
            ("secret", "Secret"),
            ("secrets", "Secret"),
            ("backupsessions.stash.appscode.com", "BackupSession"),
            ("backupsessions.v1beta1.stash.appscode.com", "BackupSession"),
            ("appbindings.appcatalog.appscode.com", "AppBinding"),
            ("cronjobs.batch", "CronJob"),
            ("snapshot", "Snapshot"),
            ("snapshots", "Snapshot"),
            ("snapshots.repositories.stash.appscode.com", "Snapshot"),
        ];
        for (typed, kind) in cases {
            let r = Resource::find(typed).unwrap_or_else(|| panic!("{typed} not found"));
            assert_eq!(r.kind.kind, kind, "{typed}");
        }
        for unknown in [
            "pods",
            "snapshots.stash.appscode.com",
            "backupsessions.batch",
            "repo.v1beta1.stash.appscode.com",
        ] {
            assert!(Resource::find(unknown).is_none(), "{unknown}");
        }
        assert_eq!(
            names(&Resource::find("bs").unwrap()),
            (
                "BackupSession".into(),
                "backupsessions.stash.appscode.com".into()
            )
        );
        assert_eq!(
            Resource::find("cj").unwrap().group_resource(),
            "cronjobs.batch"
        );
        assert_eq!(
            Resource::find("secret").unwrap().group_resource(),
            "secrets"
        );
        assert_eq!(
            Resource::find("bc").unwrap().group_singular(),
            "backupconfiguration.stash.appscode.com"
        );
        assert!(!Resource::find("task").unwrap().namespaced);
        assert!(Resource::find("appbinding").unwrap().namespaced);
        assert_eq!(Resource::find("repo").unwrap().kind.version, "v1alpha1");
        let snap = Resource::find("snapshot").unwrap();
        assert!(snap.is_snapshot() && snap.namespaced && !snap.is_secret());
        assert_eq!(
            snap.group_singular(),
            "snapshot.repositories.stash.appscode.com"
        );
        assert!(!Resource::find("repo").unwrap().is_snapshot());
    }

    #[test]
    fn categories_expand_to_their_kinds() {
        let kinds = |typed: &str| -> Vec<String> {
            Resource::resolve(typed)
                .unwrap()
                .into_iter()
                .map(|r| r.kind.kind)
                .collect()
        };
        assert_eq!(
            kinds("all"),
            [
                "BackupConfiguration",
                "BackupBatch",
                "BackupSession",
                "RestoreSession",
                "RestoreBatch",
                "AppBinding",
                "CronJob"
            ]
        );
        assert_eq!(kinds("stash").len(), 9, "every Stash kind");
        assert_eq!(kinds("bs"), ["BackupSession"]);
        assert!(Resource::resolve("widgets").is_none());
    }

    #[test]
    fn not_found_reads_like_the_api_server() {
        let r = Resource::find("bs").unwrap();
        assert_eq!(
            KubectlError::not_found(&r, &["x", "y"]).to_string(),
            "Error from server (NotFound): backupsessions.stash.appscode.com \"x\" not found\n\
             Error from server (NotFound): backupsessions.stash.appscode.com \"y\" not found"
        );
    }

    #[test]
    fn ages_as_kubectl_prints_them() {
        let s = chrono::Duration::seconds;
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (59, "59s"),
            (119, "119s"),
            (120, "2m"),
            (330, "5m30s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 20 * 60, "3h20m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (51 * 3600, "2d3h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (770 * 86400, "2y40d"),
            (9 * 365 * 86400, "9y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(s(secs)), want, "{secs}s");
        }
        let now = parse_time("2026-01-02T00:05:00Z").unwrap();
        assert_eq!(age(parse_time("2026-01-02T00:00:00Z"), now), "5m");
        assert_eq!(age(None, now), "<unknown>");
    }

    #[test]
    fn tabwriter_aligns_blocks_like_go() {
        // A table: every column but the last padded to its widest cell + padding.
        assert_eq!(
            tabwrite("NAME\tPHASE\tAGE\nnightly-1\tSucceeded\t5m\nx\t\t1s\n", 3),
            format!(
                "NAME        PHASE       AGE\nnightly-1   Succeeded   5m\nx{}1s\n",
                " ".repeat(23)
            )
        );
        // A line without a tab ends the block: the two groups align separately.
        assert_eq!(
            tabwrite("Name:\tx\nAnnotations:\t<none>\nSpec:\n  Schedule:\t* * * * *\n  Paused:\ttrue\n", 2),
            "Name:         x\nAnnotations:  <none>\nSpec:\n  Schedule:  * * * * *\n  Paused:    true\n"
        );
        // Nested columns: column 1 only spans the lines that have a cell after it.
        assert_eq!(
            tabwrite("a\tbb\tc\naaa\tb\nx\ty\tz\n", 1),
            "a   bb c\naaa b\nx   y z\n"
        );
    }
}
