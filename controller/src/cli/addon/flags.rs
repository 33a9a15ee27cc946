//! The flags the catalog's Functions pass (`catalog/*.yaml`), grouped the way Stash's addons
//! group them, plus the few we add for running by hand.
//!
//! The catalog fills every flag from a variable, so values arrive as `--region=` when a
//! variable is empty: an empty string always means "not set". Booleans are written
//! `--insecure-tls=false`; a bare `--insecure-tls` means true.
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

/// Where Kubernetes objects come from.
#[derive(Args, Debug, Clone)]
pub struct SourceFlags {
    /// Local mode: a folder (or file) of manifests holding the AppBinding, its Secrets and the
    /// storage Secret; repeatable
    #[arg(long = "manifests", env = "STASH_MANIFESTS", value_name = "PATH")]
    pub manifests: Vec<PathBuf>,
    /// Namespace of the session; the default namespace of --appbinding and the storage Secret
    #[arg(long, default_value = "default")]
    pub namespace: String,
}

impl SourceFlags {
    pub fn namespace(&self) -> &str {
        nonempty(&self.namespace).unwrap_or("default")
    }
}

/// Where the repository is: Stash's repository flags (the Repository's backend, as the
/// `REPOSITORY_*` variables give it) and the storage Secret.
#[derive(Args, Debug, Clone)]
pub struct RepoFlags {
    /// Backend: local, s3, gcs, azure, swift, b2 or rest (instead of -r/--repo)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub provider: String,
    /// Bucket or container (local: the repository folder, if --path is empty)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub bucket: String,
    /// S3 endpoint, or the REST server's URL
    #[arg(long, default_value = "", hide_default_value = true)]
    pub endpoint: String,
    /// S3 region
    #[arg(long, default_value = "", hide_default_value = true)]
    pub region: String,
    /// Prefix inside the bucket (local: the repository folder, i.e. the volume's mountPath)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub path: String,
    /// Skip TLS certificate verification (S3)
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub insecure_tls: bool,
    /// Secret with RESTIC_PASSWORD and the provider's credentials
    #[arg(long, default_value = "", hide_default_value = true)]
    pub storage_secret_name: String,
    /// Namespace of the storage Secret (default: --namespace)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub storage_secret_namespace: String,
    /// Scratch folder (the Job's tmp volume): temporary files go there when it exists
    #[arg(long, default_value = "", hide_default_value = true)]
    pub scratch_dir: String,
    /// Accepted for Stash's Functions; the engine keeps no local cache
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub enable_cache: bool,
    /// Parallel requests to the backend (0: the backend's maxConnections, else 2)
    #[arg(long, default_value = "0", value_parser = count)]
    pub max_connections: i64,
}

/// Who runs this step; accepted so the catalog's Functions run, used in messages only.
#[derive(Args, Debug, Clone)]
pub struct InvokerFlags {
    #[arg(long, default_value = "", hide_default_value = true)]
    pub invoker_kind: String,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub invoker_name: String,
    /// Folder for output.json, read by the Task's update-status step
    #[arg(long, default_value = "", hide_default_value = true)]
    pub output_dir: String,
    /// Snapshot host: host-0, or the target's alias
    #[arg(long, default_value = "", hide_default_value = true)]
    pub hostname: String,
}

impl InvokerFlags {
    pub fn host(&self) -> String {
        nonempty(&self.hostname)
            .unwrap_or(stash::engine::snapshot::DEFAULT_HOST)
            .to_string()
    }
    pub fn output_file(&self) -> Option<PathBuf> {
        nonempty(&self.output_dir).map(|d| PathBuf::from(d).join(stash::api::output::OUTPUT_FILE))
    }
}

/// Stash's retention policy as flags (`RETENTION_*`); applied after a successful backup.
#[derive(Args, Debug, Clone)]
pub struct RetentionFlags {
    #[arg(long, default_value = "0", value_parser = count)]
    pub retention_keep_last: i64,
    #[arg(long, default_value = "0", value_parser = count)]
    pub retention_keep_hourly: i64,
    #[arg(long, default_value = "0", value_parser = count)]
    pub retention_keep_daily: i64,
    #[arg(long, default_value = "0", value_parser = count)]
    pub retention_keep_weekly: i64,
    #[arg(long, default_value = "0", value_parser = count)]
    pub retention_keep_monthly: i64,
    #[arg(long, default_value = "0", value_parser = count)]
    pub retention_keep_yearly: i64,
    /// Comma-separated tags; a snapshot with any of them is kept
    #[arg(long, default_value = "", hide_default_value = true)]
    pub retention_keep_tags: String,
    /// Prune unreferenced data after forgetting snapshots
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub retention_prune: bool,
    /// Report what the policy would remove, remove nothing
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub retention_dry_run: bool,
}

/// Flags of every backup step.
#[derive(Args, Debug, Clone)]
pub struct BackupFlags {
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub repo: RepoFlags,
    #[command(flatten)]
    pub invoker: InvokerFlags,
    #[command(flatten)]
    pub retention: RetentionFlags,
    /// The BackupSession this step belongs to (recorded by update-status)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub backupsession: String,
}

/// Flags of every restore step.
#[derive(Args, Debug, Clone)]
pub struct RestoreFlags {
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub repo: RepoFlags,
    #[command(flatten)]
    pub invoker: InvokerFlags,
    /// The RestoreSession this step belongs to (recorded by update-status)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub restoresession: String,
    /// Host whose snapshots are restored (default: --hostname)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub source_hostname: String,
}

impl RestoreFlags {
    pub fn source_host(&self) -> String {
        nonempty(&self.source_hostname)
            .map(String::from)
            .unwrap_or_else(|| self.invoker.host())
    }
}

/// The database: an AppBinding (as in a cluster), or host/port/user by hand.
#[derive(Args, Debug, Clone)]
pub struct DbFlags {
    /// Name of the AppBinding describing the database
    #[arg(long, default_value = "", hide_default_value = true)]
    pub appbinding: String,
    /// Namespace of the AppBinding (default: --namespace)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub appbinding_namespace: String,
    /// Database host, instead of --appbinding (password in DB_PASSWORD)
    #[arg(long)]
    pub host: Option<String>,
    #[arg(long)]
    pub port: Option<u16>,
    /// Login user (PostgreSQL: the user of a TLS client certificate, default postgres)
    #[arg(long, default_value = "", hide_default_value = true)]
    pub user: String,
    /// Extra arguments for the dump/restore tool (Stash's `args`)
    #[arg(
        long,
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub args: String,
    /// How long to wait for the database: seconds, or 30s, 5m, 1h
    #[arg(long, default_value = "300", value_parser = parse_duration)]
    pub wait_timeout: Duration,
}

/// A value the catalog may leave empty.
pub fn nonempty(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// Comma-separated list, empty items dropped.
pub fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A count; empty means 0 (a variable the catalog substituted with nothing).
fn count(s: &str) -> Result<i64, String> {
    match nonempty(s) {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{s:?} is not a whole number")),
    }
}

/// Seconds (`300`, Stash's waitTimeout) or a number with s, m or h.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: use seconds, or e.g. 30s, 5m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("invalid duration {s:?}: use s, m or h")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_mean_unset() {
        assert_eq!(count(""), Ok(0));
        assert_eq!(count("7"), Ok(7));
        assert!(count("x").is_err());
        assert_eq!(nonempty("  "), None);
        assert_eq!(list("a, b,,c"), vec!["a", "b", "c"]);
        assert_eq!(parse_duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_duration("5d").is_err());
    }
}
