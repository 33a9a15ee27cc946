//! `stash run --manifests DIR [--state DIR] [--once] [--metrics-addr ADDR] [--pushgateway-url
//! URL]`: local mode ([`crate::local::run`]).
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::local::run::{run as run_loop, Options};
use crate::steps::{default_state_dir, MANIFESTS_ENV, STATE_ENV};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Folder(s) of manifests to apply and watch (what you would `kubectl apply -f DIR -R`)
    #[arg(long = "manifests", env = MANIFESTS_ENV, value_delimiter = ':', required = true)]
    pub manifests: Vec<PathBuf>,
    /// State folder: objects, status and events (SQLite), step logs, scratch space
    /// [default: $XDG_STATE_HOME/stash or ~/.local/state/stash]
    #[arg(long, env = STATE_ENV)]
    pub state: Option<PathBuf>,
    /// Run what is due or pending (a first backup of each BackupConfiguration and
    /// BackupBatch that never ran, then pending RestoreSessions), then exit: 0 only if all of it succeeded
    #[arg(long)]
    pub once: bool,
    /// How many members of a Parallel BackupBatch run at once
    #[arg(long, default_value_t = crate::context::DEFAULT_PARALLEL_MEMBERS as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel_members: u16,
    /// Serve Prometheus metrics at http://ADDR/metrics while running (e.g. 127.0.0.1:9090;
    /// port 0 picks a free one, printed at start)
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Push each finished session's metrics (and its Repository's) to this Prometheus
    /// Pushgateway, job <invoker kind>-<namespace>-<invoker name>; a failed push fails the
    /// session (its MetricsPushed condition says why)
    #[arg(long, value_name = "URL", env = crate::metrics::PUSHGATEWAY_ENV)]
    pub pushgateway_url: Option<String>,
}

pub async fn run(a: RunArgs) -> anyhow::Result<()> {
    let state = a.state.unwrap_or_else(default_state_dir);
    let opts = Options {
        manifests: a.manifests,
        state: state.clone(),
        once: a.once,
        max_parallel_members: usize::from(a.max_parallel_members),
        metrics_addr: a.metrics_addr,
        pushgateway_url: a.pushgateway_url,
    };
    eprintln!(
        "stash run: manifests {}, state {}",
        opts.manifests
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        state.display()
    );
    let summary = run_loop(opts, shutdown_signal()).await?;
    if !a.once {
        return Ok(());
    }
    if summary.sessions.is_empty() && summary.failures.is_empty() {
        println!("nothing was due");
    }
    if !summary.failures.is_empty() {
        for f in &summary.failures {
            eprintln!("failed: {f}");
        }
        bail!(
            "{} of what was due did not succeed (step logs: {})",
            summary.failures.len(),
            state.join("logs").display()
        );
    }
    Ok(())
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
