//! `stash update-status`: the last step of every catalog Task. It takes exactly the flags of
//! the catalog's `update-status` Function and reads the `output.json` the step before it wrote.
//!
//! Stash's update-status writes the hosts' results into the BackupSession/RestoreSession, runs
//! the post-backup actions and pushes metrics. Here, given local mode's state folder
//! (`--state`, set by `stash run`), the results are written into the session named by
//! `--backupsession` or `--restoresession` ([`crate::steps::record`]). Either way this step
//! reports the results (stdout, or JSON with `--json`) and exits 1 when a host failed, so the
//! failure the step before recorded (and exited 0 for) is not lost. Retention already ran in
//! the backup step (see docs/addons.md).
use anyhow::{bail, Context};
use clap::Args;
use stash::api::output::{BackupOutput, RestoreOutput};

use super::addon::flags::{nonempty, InvokerFlags, RepoFlags, SourceFlags};
use super::addon::volume::TargetFlags;
use super::GlobalArgs;

#[derive(Args, Debug)]
pub struct UpdateStatusArgs {
    #[command(flatten)]
    pub source: SourceFlags,
    #[command(flatten)]
    pub repo: RepoFlags,
    #[command(flatten)]
    pub invoker: InvokerFlags,
    #[command(flatten)]
    pub target: TargetFlags,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub backupsession: String,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub restoresession: String,
    /// The Repository the session used
    #[arg(long, default_value = "", hide_default_value = true)]
    pub repository: String,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub repository_namespace: String,
    /// Accepted; the controller pushes a session's metrics when the session ends
    /// (`stash run --pushgateway-url`), host metrics included
    #[arg(long, default_value = "false")]
    pub metrics_enabled: String,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub metrics_pushgateway_url: String,
    #[arg(long, default_value = "", hide_default_value = true)]
    pub prom_job_name: String,
    /// Local mode's state folder: the results are written into the session there
    #[arg(long, env = crate::steps::STATE_ENV)]
    pub state: Option<std::path::PathBuf>,
}

/// One host's outcome, whichever direction.
struct HostResult {
    host: String,
    phase: String,
    detail: String,
}

fn backup_hosts(o: &BackupOutput) -> Vec<HostResult> {
    let stats = o.target_status.stats.iter().flatten();
    stats
        .map(|h| HostResult {
            host: h.hostname.clone().unwrap_or_default(),
            phase: h
                .phase
                .map(|p| format!("{p:?}"))
                .unwrap_or_else(|| "Unknown".into()),
            detail: match &h.error {
                Some(e) => e.clone(),
                None => {
                    let snaps: Vec<String> = h
                        .snapshots
                        .iter()
                        .flatten()
                        .filter_map(|s| s.name.clone())
                        .collect();
                    format!("snapshot {}", snaps.join(", "))
                }
            },
        })
        .collect()
}

fn restore_hosts(o: &RestoreOutput) -> Vec<HostResult> {
    let stats = o.target_status.stats.iter().flatten();
    stats
        .map(|h| HostResult {
            host: h.hostname.clone().unwrap_or_default(),
            phase: h
                .phase
                .map(|p| format!("{p:?}"))
                .unwrap_or_else(|| "Unknown".into()),
            detail: h.error.clone().unwrap_or_default(),
        })
        .collect()
}

/// The target the `--target-*` flags name, if any.
fn target_of(a: &UpdateStatusArgs) -> Option<stash::api::TargetRef> {
    nonempty(&a.target.target_name).map(|name| stash::api::TargetRef {
        api_version: None,
        kind: nonempty(&a.target.target_kind).map(String::from),
        name: Some(name.to_string()),
        namespace: nonempty(&a.target.target_namespace).map(String::from),
    })
}

pub async fn run(g: &GlobalArgs, a: UpdateStatusArgs) -> anyhow::Result<()> {
    let Some(file) = a.invoker.output_file() else {
        bail!("--output-dir is empty: update-status reads the output.json that the Task's previous step wrote there");
    };
    let text = std::fs::read(&file)
        .with_context(|| format!("reading {} (written by the previous step)", file.display()))?;
    let restore = nonempty(&a.restoresession).is_some();
    let store = crate::steps::open_local_store(a.state.clone(), &a.source.manifests).await?;
    let (json, hosts) = if restore {
        let o: RestoreOutput = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a restore output", file.display()))?;
        if let (Some(store), Some(session)) = (&store, nonempty(&a.restoresession)) {
            crate::steps::record::record_restore(
                store.as_ref(),
                a.source.namespace(),
                session,
                target_of(&a),
                &o,
            )
            .await
            .with_context(|| {
                format!(
                    "writing the results into RestoreSession {}/{session}",
                    a.source.namespace()
                )
            })?;
        }
        (serde_json::to_value(&o)?, restore_hosts(&o))
    } else {
        let o: BackupOutput = serde_json::from_slice(&text)
            .with_context(|| format!("{}: not a backup output", file.display()))?;
        if let (Some(store), Some(session)) = (&store, nonempty(&a.backupsession)) {
            crate::steps::record::record_backup(
                store.as_ref(),
                a.source.namespace(),
                session,
                target_of(&a),
                &o,
            )
            .await
            .with_context(|| {
                format!(
                    "writing the results into BackupSession {}/{session}",
                    a.source.namespace()
                )
            })?;
        }
        (serde_json::to_value(&o)?, backup_hosts(&o))
    };
    if hosts.is_empty() {
        bail!("{} holds no host results", file.display());
    }
    let session = nonempty(if restore {
        &a.restoresession
    } else {
        &a.backupsession
    })
    .unwrap_or("(no session)");
    if g.json {
        println!("{json}");
    } else if !g.quiet {
        for h in &hosts {
            println!("{session}: host {} {}: {}", h.host, h.phase, h.detail);
        }
    }
    let failed: Vec<&HostResult> = hosts.iter().filter(|h| h.phase != "Succeeded").collect();
    if let Some(first) = failed.first() {
        bail!(
            "{session}: {} of {} hosts failed; host {}: {}",
            failed.len(),
            hosts.len(),
            first.host,
            first.detail
        );
    }
    Ok(())
}
