//! How a Task's steps run. A job is what a Kubernetes Job would be: steps in order (every step
//! but the last an init-container there), a scratch folder mounted where the catalog expects
//! `/stash-tmp`, an environment, a deadline. [`StepRunner`] starts jobs and reports their
//! state; the reconcilers never wait on one. When a job ends, the runner sends its owner's
//! reference on the channel it was given, so the owner is reconciled at once.
//!
//! Results do not travel through the runner: the Task's last step (`update-status`) writes
//! them into the session through the store. The runner only says whether a job is running,
//! and how it ended, so that a step that died before recording anything is noticed.
//!
//! [`process`] runs steps as child processes of this binary (local mode); [`fake`] is a
//! scripted runner for scenario tests; Jobs come with the Kubernetes mode.
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use crate::store::ObjRef;

pub mod fake;
pub mod process;

pub use fake::FakeRunner;
pub use process::ProcessRunner;

/// One step: a command line of the `stash` binary (the catalog's images run `stash`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The container's name, e.g. `postgres-backup-14-0-0`.
    pub name: String,
    pub args: Vec<String>,
}

/// A job: steps run in order until one fails.
#[derive(Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Unique, e.g. `stash-backup-<session>-0`.
    pub name: String,
    /// Reconciled when the job ends.
    pub owner: ObjRef,
    pub steps: Vec<Step>,
    /// Environment of every step (on top of the runner's own).
    pub env: BTreeMap<String, String>,
    /// Paths as the catalog's Functions see them inside a pod → where they are here:
    /// `/stash-tmp` → the job's scratch folder. Applied to arguments that start with, or
    /// contain `=` followed by, the pod path.
    pub mounts: Vec<(String, PathBuf)>,
    /// Killed after this long (the session's deadline).
    pub timeout: Option<Duration>,
}

impl fmt::Debug for JobSpec {
    // The environment may carry credentials: list the names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobSpec")
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("steps", &self.steps)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("mounts", &self.mounts)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// How a job stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    Running,
    Succeeded,
    /// `step` failed (or was killed); `message` says how, with the end of its output.
    Failed {
        step: String,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("starting job {job}")]
    Start {
        job: String,
        #[source]
        source: std::io::Error,
    },
}

#[async_trait]
pub trait StepRunner: Send + Sync + fmt::Debug {
    /// Starts the job; starting a job that this runner already has is a no-op.
    async fn start(&self, job: JobSpec) -> Result<(), RunnerError>;
    /// The job's state, or `None` if this runner has never seen it (it ran in an earlier
    /// process, or never started).
    fn state(&self, job: &str) -> Option<JobState>;
    /// Stops the job if it runs (its state becomes Failed).
    async fn cancel(&self, job: &str);
    /// Drops the record of a finished job, so that the next `start` of that name runs it
    /// again (a retry). A running job is kept.
    fn forget(&self, job: &str);
}

/// Why a target's jobs (their `states`, one per host) ended with a host unreported: `None`
/// while one still runs; else the first failure, a job this runner lost (`gone`), or that they
/// ended without reporting (`silent`).
pub fn ended_unreported(states: &[Option<JobState>], gone: &str, silent: &str) -> Option<String> {
    if states.contains(&Some(JobState::Running)) {
        return None;
    }
    let why = states.iter().find_map(|s| match s {
        Some(JobState::Failed { message, .. }) => Some(message.clone()),
        None => Some(gone.to_string()),
        _ => None,
    });
    Some(why.unwrap_or_else(|| silent.to_string()))
}

/// Applies `mounts` to one argument.
pub fn map_paths(arg: &str, mounts: &[(String, PathBuf)]) -> String {
    let mut out = arg.to_string();
    for (pod, here) in mounts {
        let here = here.display().to_string();
        let within = |rest: &str| rest.is_empty() || rest.starts_with('/');
        if let Some(rest) = out.strip_prefix(pod.as_str()).filter(|r| within(r)) {
            out = format!("{here}{rest}");
        } else if let Some((flag, value)) = out.split_once('=') {
            if let Some(rest) = value.strip_prefix(pod.as_str()).filter(|r| within(r)) {
                out = format!("{flag}={here}{rest}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_paths_map_onto_the_scratch_folder() {
        let m = vec![(
            "/stash-tmp".to_string(),
            PathBuf::from("/var/lib/stash/jobs/j1"),
        )];
        assert_eq!(
            map_paths("--output-dir=/stash-tmp/output", &m),
            "--output-dir=/var/lib/stash/jobs/j1/output"
        );
        assert_eq!(
            map_paths("--scratch-dir=/stash-tmp", &m),
            "--scratch-dir=/var/lib/stash/jobs/j1"
        );
        assert_eq!(map_paths("/stash-tmp/x", &m), "/var/lib/stash/jobs/j1/x");
        assert_eq!(
            map_paths("--path=/stash-tmpfoo", &m),
            "--path=/stash-tmpfoo"
        );
        assert_eq!(map_paths("--args=", &m), "--args=");
    }
}
