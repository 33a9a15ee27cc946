//! Stash's Prometheus metrics (spec §7.3): what a finished BackupSession or RestoreSession
//! and its Repository look like as gauges, kept in one registry that `stash run
//! --metrics-addr` serves at `/metrics`, and pushed to a Pushgateway when one is configured.
//!
//! **Why this shape.** Sessions are batch work: a Prometheus scrape may never see a session
//! that lasted ten seconds, so Stash pushes each session's result to a Pushgateway, under the
//! job `<lower(invokerKind)>-<namespace>-<invokerName>`, with HTTP POST (the Pushgateway then
//! replaces the job's metrics of the same names and keeps the others: a failed session's
//! `success 0` leaves the last successful session's duration and time in place). The values
//! come only from API objects — a session's final status and the Repository's status — so
//! [`Metrics::record_backup_session`], [`Metrics::record_restore_session`] and
//! [`Metrics::record_repository`] are pure and tested on hand-built objects; [`session`] is the
//! glue the reconcilers call at a session's end (it reads the objects and turns a push
//! failure into a `False` condition, so a missing metric is never silent).
//!
//! **Names.** Only Stash's current names (`stash_appscode_com_backupsession_*`,
//! `…_restoresession_*`, `…_repository_*`), every one a gauge as in Stash. Stash also pushes
//! its legacy `stash_backup_*` / `stash_restore_*` / `stash_repository_*` duplicates for
//! dashboards older than the rename; this implementation has no such dashboards to keep
//! working, and the duplicates would double every series in the Pushgateway and in
//! Prometheus. A user who needs an old name can rename with a recording rule (the mapping is
//! in docs/controller.md).
//!
//! **Labels.** Session metrics: `invoker_kind`, `invoker_name`, `namespace`, `driver`,
//! `repository`; per target add `kind`, `group`, `name` (an AppBinding's application group
//! and resource from its `spec.type`, as Stash does); per host add `hostname`. Repository
//! metrics: `name`, `namespace`, `backend`, `bucket`, `prefix`. Nothing secret is a label:
//! the values are object names and the backend's location.
//!
//! **Crate.** `prometheus` (tikv's rust-prometheus), without default features: its text
//! encoder writes the Prometheus text format 0.0.4, which is what the Pushgateway parses
//! (it reads no OpenMetrics text — prometheus/pushgateway#400 — so the official
//! `prometheus-client`, which writes only OpenMetrics, would be read by accident of its
//! comment syntax); without defaults it pulls no protobuf and no HTTP client, only
//! parking_lot, fnv, memchr and lazy_static. Pushing uses the workspace's reqwest
//! ([`push`]), serving uses the hyper 1 that reqwest already brings ([`serve`]).
use std::collections::BTreeMap;

use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, Opts, Registry, TextEncoder};

mod push;
mod record;
pub mod serve;
pub mod session;

pub use push::{PushError, Pushgateway};
pub use record::Invoker;

/// Environment variable with the Pushgateway's URL (`stash run --pushgateway-url`; `stash
/// run` hands it to its steps, whose post-backup action pushes the repository metrics).
pub const PUSHGATEWAY_ENV: &str = "STASH_PUSHGATEWAY_URL";
/// The namespace of every metric name.
const NS: &str = "stash_appscode_com";

const SESSION_LABELS: [&str; 5] = [
    "invoker_kind",
    "invoker_name",
    "namespace",
    "driver",
    "repository",
];
const TARGET_LABELS: [&str; 8] = [
    "invoker_kind",
    "invoker_name",
    "namespace",
    "driver",
    "repository",
    "kind",
    "group",
    "name",
];
const HOST_LABELS: [&str; 9] = [
    "invoker_kind",
    "invoker_name",
    "namespace",
    "driver",
    "repository",
    "kind",
    "group",
    "name",
    "hostname",
];
const REPOSITORY_LABELS: [&str; 5] = ["name", "namespace", "backend", "bucket", "prefix"];

/// The gauges of BackupSessions.
struct BackupGauges {
    success: GaugeVec,
    duration: GaugeVec,
    target_count: GaugeVec,
    last_success: GaugeVec,
    target_success: GaugeVec,
    target_hosts: GaugeVec,
    target_last_success: GaugeVec,
    host_success: GaugeVec,
    host_duration: GaugeVec,
    host_size: GaugeVec,
    host_uploaded: GaugeVec,
    host_processing: GaugeVec,
    host_files_total: GaugeVec,
    host_files_new: GaugeVec,
    host_files_modified: GaugeVec,
    host_files_unmodified: GaugeVec,
}

/// The gauges of RestoreSessions.
struct RestoreGauges {
    success: GaugeVec,
    duration: GaugeVec,
    target_count: GaugeVec,
    target_success: GaugeVec,
    target_hosts: GaugeVec,
    host_success: GaugeVec,
    host_duration: GaugeVec,
}

/// The gauges of Repositories.
struct RepositoryGauges {
    integrity: GaugeVec,
    size: GaugeVec,
    snapshot_count: GaugeVec,
    snapshot_cleaned: GaugeVec,
}

/// The registry of Stash's metrics and, if configured, the Pushgateway they go to.
pub struct Metrics {
    registry: Registry,
    backup: BackupGauges,
    restore: RestoreGauges,
    repository: RepositoryGauges,
    pushgateway: Option<Pushgateway>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("pushgateway", &self.pushgateway)
            .finish_non_exhaustive()
    }
}

/// Registers one gauge family `stash_appscode_com_<subsystem>_<name>`.
fn gauge(reg: &Registry, subsystem: &str, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(
        Opts::new(name, help).namespace(NS).subsystem(subsystem),
        labels,
    )
    .expect("a valid metric name and labels");
    reg.register(Box::new(g.clone()))
        .expect("each metric registered once");
    g
}

impl Metrics {
    /// A registry with every family registered; pushes go to `pushgateway` if given.
    pub fn new(pushgateway: Option<Pushgateway>) -> Metrics {
        let r = Registry::new();
        let (b, s, t, h) = (
            "backupsession",
            &SESSION_LABELS[..],
            &TARGET_LABELS[..],
            &HOST_LABELS[..],
        );
        let backup = BackupGauges {
            success: gauge(
                &r,
                b,
                "success",
                "1 if the BackupSession succeeded, 0 if it failed",
                s,
            ),
            duration: gauge(
                &r,
                b,
                "duration_seconds",
                "Time the last successful BackupSession took",
                s,
            ),
            target_count: gauge(
                &r,
                b,
                "target_count_total",
                "Targets of the last successful BackupSession",
                s,
            ),
            last_success: gauge(
                &r,
                b,
                "last_success_time_seconds",
                "When the last successful BackupSession ended (Unix time)",
                s,
            ),
            target_success: gauge(
                &r,
                b,
                "target_success",
                "1 if the target's backup succeeded, 0 if it failed",
                t,
            ),
            target_hosts: gauge(
                &r,
                b,
                "target_host_count_total",
                "Hosts of the target at its last successful backup",
                t,
            ),
            target_last_success: gauge(
                &r,
                b,
                "target_last_success_time_seconds",
                "When the target's last successful backup ended (Unix time)",
                t,
            ),
            host_success: gauge(
                &r,
                b,
                "host_backup_success",
                "1 if the host's backup succeeded, 0 if it failed",
                h,
            ),
            host_duration: gauge(
                &r,
                b,
                "host_backup_duration_seconds",
                "Time the host's last successful backup took",
                h,
            ),
            host_size: gauge(
                &r,
                b,
                "host_data_size_bytes",
                "Size of the data the host's last successful backup read",
                h,
            ),
            host_uploaded: gauge(
                &r,
                b,
                "host_data_uploaded_bytes",
                "Bytes the host's last successful backup added to the repository",
                h,
            ),
            host_processing: gauge(
                &r,
                b,
                "host_data_processing_time_seconds",
                "Time the host's last successful backup spent on its data",
                h,
            ),
            host_files_total: gauge(
                &r,
                b,
                "host_files_total",
                "Files in the host's last successful backup",
                h,
            ),
            host_files_new: gauge(
                &r,
                b,
                "host_files_new",
                "New files in the host's last successful backup",
                h,
            ),
            host_files_modified: gauge(
                &r,
                b,
                "host_files_modified",
                "Modified files in the host's last successful backup",
                h,
            ),
            host_files_unmodified: gauge(
                &r,
                b,
                "host_files_unmodified",
                "Unmodified files in the host's last successful backup",
                h,
            ),
        };
        let rs = "restoresession";
        let restore = RestoreGauges {
            success: gauge(
                &r,
                rs,
                "success",
                "1 if the RestoreSession succeeded, 0 if it failed",
                s,
            ),
            duration: gauge(
                &r,
                rs,
                "duration_seconds",
                "Time the last successful RestoreSession took",
                s,
            ),
            target_count: gauge(
                &r,
                rs,
                "target_count_total",
                "Targets of the last successful RestoreSession",
                s,
            ),
            target_success: gauge(
                &r,
                rs,
                "target_success",
                "1 if the target's restore succeeded, 0 if it failed",
                t,
            ),
            target_hosts: gauge(
                &r,
                rs,
                "target_host_count_total",
                "Hosts of the target at its last successful restore",
                t,
            ),
            host_success: gauge(
                &r,
                rs,
                "host_restore_success",
                "1 if the host's restore succeeded, 0 if it failed",
                h,
            ),
            host_duration: gauge(
                &r,
                rs,
                "host_restore_duration_seconds",
                "Time the host's last successful restore took",
                h,
            ),
        };
        let (rp, l) = ("repository", &REPOSITORY_LABELS[..]);
        let repository = RepositoryGauges {
            integrity: gauge(
                &r,
                rp,
                "integrity",
                "1 if the last integrity check of the repository passed, 0 if it failed",
                l,
            ),
            size: gauge(&r, rp, "size_bytes", "Size of the repository's data", l),
            snapshot_count: gauge(&r, rp, "snapshot_count", "Snapshots in the repository", l),
            snapshot_cleaned: gauge(
                &r,
                rp,
                "snapshot_cleaned",
                "Snapshots the last retention policy removed",
                l,
            ),
        };
        Metrics {
            registry: r,
            backup,
            restore,
            repository,
            pushgateway,
        }
    }

    /// The Pushgateway pushes go to, if any.
    pub fn pushgateway(&self) -> Option<&Pushgateway> {
        self.pushgateway.as_ref()
    }

    /// Every series, in the text format 0.0.4 (what `/metrics` serves).
    pub fn text(&self) -> String {
        encode(&self.registry.gather())
    }

    /// The series of one push: the sessions' series of `invoker`, and those of the repository
    /// `repository` (`(namespace, name)`) if given.
    fn job_families(
        &self,
        invoker: &Invoker,
        repository: Option<(&str, &str)>,
    ) -> Vec<MetricFamily> {
        let label = |m: &prometheus::proto::Metric, k: &str| {
            m.get_label()
                .iter()
                .find(|l| l.name() == k)
                .map(|l| l.value().to_string())
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for mut f in self.registry.gather() {
            let repo_family = f.name().starts_with(&format!("{NS}_repository_"));
            f.mut_metric().retain(|m| {
                if repo_family {
                    repository.is_some_and(|(ns, name)| {
                        label(m, "namespace") == ns && label(m, "name") == name
                    })
                } else {
                    label(m, "invoker_kind") == invoker.kind
                        && label(m, "invoker_name") == invoker.name
                        && label(m, "namespace") == invoker.namespace
                }
            });
            if !f.get_metric().is_empty() {
                out.push(f);
            }
        }
        out
    }

    /// Pushes the job's series (see [`Metrics::job_families`]) to the Pushgateway; `Ok(None)`
    /// when none is configured.
    pub async fn push(
        &self,
        invoker: &Invoker,
        repository: Option<(&str, &str)>,
    ) -> Result<Option<String>, PushError> {
        let Some(gw) = &self.pushgateway else {
            return Ok(None);
        };
        let body = encode(&self.job_families(invoker, repository));
        gw.push(&invoker.job_name(), body).await?;
        Ok(Some(gw.to_string()))
    }
}

fn encode(families: &[MetricFamily]) -> String {
    TextEncoder::new()
        .encode_to_string(families)
        .expect("gauges encode as text")
}

/// Label values by name, in the order of `names`.
fn values<'a>(labels: &'a BTreeMap<&str, String>, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .map(|n| labels.get(n).map(String::as_str).unwrap_or_default())
        .collect()
}
