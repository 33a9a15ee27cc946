//! From API objects to gauge values: a final session's status and a Repository's status, as
//! Stash's metrics package reads them. A failed session, target or host sets only its
//! `success` gauge to 0; durations, sizes, counts and times are those of the last success.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use stash::api::backup_session::{backup_target_phase, HostBackupPhase, TargetPhase};
use stash::api::output::{parse_bytes, parse_seconds};
use stash::api::restore_batch::RestoreTargetPhase;
use stash::api::restore_session::{restore_target_phase, HostRestorePhase};
use stash::api::validate::syntax::parse_go_duration;
use stash::api::{
    AppBinding, BackupSession, BackupSessionPhase, Repository, RestorePhase, RestoreSession,
    Snapshotter, TargetRef,
};

use super::{values, Metrics, HOST_LABELS, REPOSITORY_LABELS, SESSION_LABELS, TARGET_LABELS};
use crate::invoker::BackupInvoker;

/// Who ran a session: the labels every session metric carries and the Pushgateway job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoker {
    /// `BackupConfiguration`, `BackupBatch`, `RestoreSession`, `RestoreBatch`.
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// `Restic` or `VolumeSnapshotter`.
    pub driver: String,
    /// The Repository's name.
    pub repository: String,
}

impl Invoker {
    /// A backup invoker: a BackupConfiguration or a BackupBatch.
    pub fn backup(inv: &BackupInvoker) -> Invoker {
        Invoker {
            kind: inv.kind.into(),
            name: inv.name(),
            namespace: inv.namespace(),
            driver: driver(inv.driver),
            repository: inv.repository.name.clone(),
        }
    }

    /// A RestoreSession is its own invoker.
    pub fn restore_session(rs: &RestoreSession) -> Invoker {
        Invoker {
            kind: "RestoreSession".into(),
            name: rs.metadata.name.clone().unwrap_or_default(),
            namespace: rs.metadata.namespace.clone().unwrap_or_default(),
            driver: driver(rs.spec.driver()),
            repository: rs
                .spec
                .repository
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default(),
        }
    }

    /// The Pushgateway job: `<lower(kind)>-<namespace>-<name>`.
    pub fn job_name(&self) -> String {
        format!(
            "{}-{}-{}",
            self.kind.to_lowercase(),
            self.namespace,
            self.name
        )
    }

    fn labels(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("invoker_kind", self.kind.clone()),
            ("invoker_name", self.name.clone()),
            ("namespace", self.namespace.clone()),
            ("driver", self.driver.clone()),
            ("repository", self.repository.clone()),
        ])
    }
}

fn driver(d: Snapshotter) -> String {
    format!("{d:?}")
}

/// A target's `kind`, `group` and `name` labels. An AppBinding is labelled with the
/// application it binds (`spec.type` `kubedb.com/postgres` → group `kubedb.com`, kind
/// `postgres`), as Stash does; a workload with its own kind and API group.
fn target_labels(
    base: &BTreeMap<&'static str, String>,
    target: Option<&TargetRef>,
    apps: &[AppBinding],
) -> BTreeMap<&'static str, String> {
    let mut l = base.clone();
    let Some(t) = target else {
        return l;
    };
    let group_of = |api_version: &str| {
        api_version
            .rsplit_once('/')
            .map(|(g, _)| g.to_string())
            .unwrap_or_default()
    };
    let mut kind = t.kind().to_string();
    let mut group = group_of(t.api_version.as_deref().unwrap_or_default());
    if kind == "AppBinding" {
        let app_type = apps
            .iter()
            .find(|a| a.metadata.name.as_deref() == Some(t.name()))
            .and_then(|a| a.spec.type_.as_deref());
        if let Some((g, resource)) = app_type.and_then(|ty| ty.split_once('/')) {
            (group, kind) = (g.to_string(), resource.to_string());
        }
    }
    l.insert("kind", kind);
    l.insert("group", group);
    l.insert("name", t.name().to_string());
    l
}

fn seconds(go_duration: Option<&str>) -> Option<f64> {
    go_duration.and_then(|d| parse_go_duration(d).ok())
}

fn created(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<DateTime<Utc>> {
    meta.creation_timestamp
        .as_ref()
        .map(crate::reconcile::from_time)
}

impl Metrics {
    /// A BackupSession in its final state (and its Repository, if given). `apps` are the
    /// AppBindings its targets may name.
    pub fn record_backup_session(
        &self,
        session: &BackupSession,
        invoker: &Invoker,
        repository: Option<&Repository>,
        apps: &[AppBinding],
    ) {
        let g = &self.backup;
        let st = session.status.clone().unwrap_or_default();
        let base = invoker.labels();
        let s = values(&base, &SESSION_LABELS);
        let targets = st.targets.as_deref().unwrap_or_default();
        let duration = seconds(st.session_duration.as_deref());
        // When the session ended: created + its duration (Stash takes the clock at the push).
        let ended = created(&session.metadata)
            .zip(duration)
            .map(|(c, d)| c.timestamp() as f64 + d);
        let succeeded = st.phase == Some(BackupSessionPhase::Succeeded);
        g.success
            .with_label_values(&s)
            .set(f64::from(u8::from(succeeded)));
        if succeeded {
            if let Some(d) = duration {
                g.duration.with_label_values(&s).set(d);
            }
            g.target_count
                .with_label_values(&s)
                .set(targets.len() as f64);
            if let Some(t) = ended {
                g.last_success.with_label_values(&s).set(t);
            }
        }
        for t in targets {
            let tl = target_labels(&base, t.r#ref.as_ref(), apps);
            let tv = values(&tl, &TARGET_LABELS);
            let ok = backup_target_phase(t) == TargetPhase::Succeeded;
            g.target_success
                .with_label_values(&tv)
                .set(f64::from(u8::from(ok)));
            if ok {
                if let Some(n) = t.total_hosts {
                    g.target_hosts.with_label_values(&tv).set(f64::from(n));
                }
                if let Some(e) = ended {
                    g.target_last_success.with_label_values(&tv).set(e);
                }
            }
            for h in t.stats.iter().flatten() {
                let mut hl = tl.clone();
                hl.insert("hostname", h.hostname.clone().unwrap_or_default());
                let hv = values(&hl, &HOST_LABELS);
                let ok = h.phase == Some(HostBackupPhase::Succeeded);
                g.host_success
                    .with_label_values(&hv)
                    .set(f64::from(u8::from(ok)));
                if !ok {
                    continue;
                }
                if let Some(d) = seconds(h.duration.as_deref()) {
                    g.host_duration.with_label_values(&hv).set(d);
                }
                let snaps = h.snapshots.as_deref().unwrap_or_default();
                let sum =
                    |f: &dyn Fn(&stash::api::backup_session::SnapshotStats) -> Option<f64>| {
                        snaps.iter().filter_map(f).sum::<f64>()
                    };
                g.host_size
                    .with_label_values(&hv)
                    .set(sum(&|s| s.total_size.as_deref().and_then(parse_bytes)));
                g.host_uploaded
                    .with_label_values(&hv)
                    .set(sum(&|s| s.uploaded.as_deref().and_then(parse_bytes)));
                g.host_processing.with_label_values(&hv).set(sum(&|s| {
                    s.processing_time
                        .as_deref()
                        .and_then(parse_seconds)
                        .map(|x| x as f64)
                }));
                let files = |pick: fn(&stash::api::backup_session::FileStats) -> Option<i64>| {
                    sum(&|s| s.file_stats.as_ref().and_then(pick).map(|n| n as f64))
                };
                g.host_files_total
                    .with_label_values(&hv)
                    .set(files(|f| f.total_files));
                g.host_files_new
                    .with_label_values(&hv)
                    .set(files(|f| f.new_files));
                g.host_files_modified
                    .with_label_values(&hv)
                    .set(files(|f| f.modified_files));
                g.host_files_unmodified
                    .with_label_values(&hv)
                    .set(files(|f| f.unmodified_files));
            }
        }
        if let Some(r) = repository {
            self.record_repository(r);
        }
    }

    /// A RestoreSession in its final state (and its Repository, if given).
    pub fn record_restore_session(
        &self,
        rs: &RestoreSession,
        repository: Option<&Repository>,
        apps: &[AppBinding],
    ) {
        let g = &self.restore;
        let st = rs.status.clone().unwrap_or_default();
        let base = Invoker::restore_session(rs).labels();
        let s = values(&base, &SESSION_LABELS);
        let target = rs.spec.template.target.as_ref().map(|t| t.target_ref());
        let succeeded = st.phase == Some(RestorePhase::Succeeded);
        g.success
            .with_label_values(&s)
            .set(f64::from(u8::from(succeeded)));
        if succeeded {
            if let Some(d) = seconds(st.session_duration.as_deref()) {
                g.duration.with_label_values(&s).set(d);
            }
            g.target_count
                .with_label_values(&s)
                .set(f64::from(u8::from(target.is_some())));
        }
        let tl = target_labels(&base, target.as_ref(), apps);
        let tv = values(&tl, &TARGET_LABELS);
        let phase = restore_target_phase(
            st.conditions.as_deref(),
            st.total_hosts,
            st.stats.as_deref(),
        );
        let ok = phase == RestoreTargetPhase::Succeeded;
        g.target_success
            .with_label_values(&tv)
            .set(f64::from(u8::from(ok)));
        if let (true, Some(n)) = (ok, st.total_hosts) {
            g.target_hosts.with_label_values(&tv).set(f64::from(n));
        }
        for h in st.stats.iter().flatten() {
            let mut hl = tl.clone();
            hl.insert("hostname", h.hostname.clone().unwrap_or_default());
            let hv = values(&hl, &HOST_LABELS);
            let ok = h.phase == Some(HostRestorePhase::Succeeded);
            g.host_success
                .with_label_values(&hv)
                .set(f64::from(u8::from(ok)));
            if let (true, Some(d)) = (ok, seconds(h.duration.as_deref())) {
                g.host_duration.with_label_values(&hv).set(d);
            }
        }
        if let Some(r) = repository {
            self.record_repository(r);
        }
    }

    /// A Repository's status: integrity, size, snapshot count, snapshots the last retention
    /// removed. Fields the status lacks leave their gauge as it was.
    pub fn record_repository(&self, repo: &Repository) {
        let g = &self.repository;
        let backend = repo.spec.backend.clone().unwrap_or_default();
        let mut prefix = backend.prefix().to_string();
        // A local repository's location is the folder its volume is mounted at
        // (REPOSITORY_PREFIX, see stash::api::resolve::variables).
        if let Some(m) = backend.local.as_ref().and_then(|l| l.mount_path.clone()) {
            prefix = m;
        }
        let labels = BTreeMap::from([
            ("name", repo.metadata.name.clone().unwrap_or_default()),
            (
                "namespace",
                repo.metadata.namespace.clone().unwrap_or_default(),
            ),
            (
                "backend",
                backend.provider().unwrap_or_default().to_string(),
            ),
            ("bucket", backend.bucket().to_string()),
            ("prefix", prefix),
        ]);
        let v = values(&labels, &REPOSITORY_LABELS);
        let Some(st) = repo.status.as_ref() else {
            return;
        };
        if let Some(ok) = st.integrity {
            g.integrity
                .with_label_values(&v)
                .set(f64::from(u8::from(ok)));
        }
        if let Some(size) = st.total_size.as_deref().and_then(parse_bytes) {
            g.size.with_label_values(&v).set(size);
        }
        if let Some(n) = st.snapshot_count {
            g.snapshot_count.with_label_values(&v).set(n as f64);
        }
        if let Some(n) = st.snapshots_removed_on_last_cleanup {
            g.snapshot_cleaned.with_label_values(&v).set(n as f64);
        }
    }
}

#[cfg(test)]
mod tests;
