//! Local mode's runner: each step is a child process of this binary, as each step is a
//! container of the `stash` image in a Job. Steps of a job run one after another until one
//! fails; their output goes to `<logs>/<job>.log` (what `kubectl logs` would show), and the
//! last lines of a failed step become its message.
//!
//! A child dies with the controller (`PR_SET_PDEATHSIG`), as a Job's pod dies with its node:
//! a step never goes on writing after the process that would record its result is gone. The
//! session that owned it is then found Running with no job behind it and ends Failed.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use tokio::process::Command;
use tokio::sync::{mpsc, Notify};

use super::{map_paths, JobSpec, JobState, RunnerError, Step, StepRunner};
use crate::store::ObjRef;

/// Lines of a failed step's output kept in its message.
const TAIL_LINES: usize = 6;

/// Environment variables of the controller that must not leak into steps: a step gets its
/// repository and password from the Repository and its Secret, never from whoever started
/// `stash run`.
const SCRUBBED_ENV: &[&str] = &[
    "RESTIC_REPOSITORY",
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND",
];

struct Entry {
    state: JobState,
    cancel: Arc<Notify>,
}

pub struct ProcessRunner {
    exe: PathBuf,
    env: BTreeMap<String, String>,
    logs: PathBuf,
    jobs: Arc<Mutex<BTreeMap<String, Entry>>>,
    done: mpsc::UnboundedSender<ObjRef>,
}

impl std::fmt::Debug for ProcessRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessRunner")
            .field("exe", &self.exe)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl ProcessRunner {
    /// Runs steps with `exe` (this binary), adding `env` to each (e.g. where the state and the
    /// manifests are), logging under `logs`, and sending each finished job's owner on `done`.
    pub fn new(
        exe: PathBuf,
        env: BTreeMap<String, String>,
        logs: PathBuf,
        done: mpsc::UnboundedSender<ObjRef>,
    ) -> ProcessRunner {
        ProcessRunner {
            exe,
            env,
            logs,
            jobs: Arc::default(),
            done,
        }
    }

    /// Where a job's output goes.
    pub fn log_file(&self, job: &str) -> PathBuf {
        self.logs.join(format!("{job}.log"))
    }
}

fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

enum Ended {
    Exited(std::process::ExitStatus),
    Cancelled,
    TimedOut,
}

async fn run_step(
    exe: &Path,
    step: &Step,
    job: &JobSpec,
    env: &BTreeMap<String, String>,
    log: &Path,
    cancel: &Notify,
    deadline: Option<Instant>,
) -> std::io::Result<Ended> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut cmd = Command::new(exe);
    cmd.args(step.args.iter().map(|a| map_paths(a, &job.mounts)));
    for k in SCRUBBED_ENV {
        cmd.env_remove(k);
    }
    cmd.envs(env).envs(&job.env);
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    cmd.kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches only the child's own attributes.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let timeout = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    let ended = tokio::select! {
        status = child.wait() => Ended::Exited(status?),
        _ = cancel.notified() => Ended::Cancelled,
        _ = timeout => Ended::TimedOut,
    };
    if !matches!(ended, Ended::Exited(_)) {
        let _ = child.kill().await;
    }
    Ok(ended)
}

async fn run_job(
    exe: PathBuf,
    env: BTreeMap<String, String>,
    job: JobSpec,
    log: PathBuf,
    cancel: Arc<Notify>,
) -> JobState {
    let deadline = job.timeout.map(|t| Instant::now() + t);
    for (_, dir) in &job.mounts {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return JobState::Failed {
                step: "setup".into(),
                message: format!("creating {}: {e}", dir.display()),
            };
        }
    }
    for step in &job.steps {
        let failed = |message: String| JobState::Failed {
            step: step.name.clone(),
            message,
        };
        match run_step(&exe, step, &job, &env, &log, &cancel, deadline).await {
            Ok(Ended::Exited(s)) if s.success() => continue,
            Ok(Ended::Exited(s)) => {
                let how = s.code().map_or_else(
                    || "was killed by a signal".to_string(),
                    |c| format!("exited with code {c}"),
                );
                return failed(format!(
                    "step {} {how}: {}",
                    step.name,
                    tail(&log, TAIL_LINES)
                ));
            }
            Ok(Ended::Cancelled) => return failed(format!("step {} was stopped", step.name)),
            Ok(Ended::TimedOut) => {
                return failed(format!("step {} was stopped at the deadline", step.name))
            }
            Err(e) => return failed(format!("step {} could not run: {e}", step.name)),
        }
    }
    JobState::Succeeded
}

#[async_trait]
impl StepRunner for ProcessRunner {
    async fn start(&self, job: JobSpec) -> Result<(), RunnerError> {
        let cancel = Arc::new(Notify::new());
        {
            let mut jobs = self.jobs.lock().expect("runner lock");
            if jobs.contains_key(&job.name) {
                return Ok(());
            }
            jobs.insert(
                job.name.clone(),
                Entry {
                    state: JobState::Running,
                    cancel: cancel.clone(),
                },
            );
        }
        std::fs::create_dir_all(&self.logs).map_err(|source| RunnerError::Start {
            job: job.name.clone(),
            source,
        })?;
        let (exe, env, log, jobs, done) = (
            self.exe.clone(),
            self.env.clone(),
            self.log_file(&job.name),
            self.jobs.clone(),
            self.done.clone(),
        );
        tracing::info!(job = %job.name, owner = %job.owner, steps = job.steps.len(), "starting job");
        tokio::spawn(async move {
            let name = job.name.clone();
            let owner = job.owner.clone();
            let state = run_job(exe, env, job, log, cancel).await;
            match &state {
                JobState::Failed { message, .. } => {
                    tracing::warn!(job = %name, "job failed: {message}")
                }
                _ => tracing::info!(job = %name, "job succeeded"),
            }
            if let Some(e) = jobs.lock().expect("runner lock").get_mut(&name) {
                e.state = state;
            }
            let _ = done.send(owner);
        });
        Ok(())
    }

    fn state(&self, job: &str) -> Option<JobState> {
        self.jobs
            .lock()
            .expect("runner lock")
            .get(job)
            .map(|e| e.state.clone())
    }

    fn forget(&self, job: &str) {
        let mut jobs = self.jobs.lock().expect("runner lock");
        if jobs.get(job).is_some_and(|e| e.state != JobState::Running) {
            jobs.remove(job);
        }
    }

    async fn cancel(&self, job: &str) {
        let cancel = self
            .jobs
            .lock()
            .expect("runner lock")
            .get(job)
            .filter(|e| e.state == JobState::Running)
            .map(|e| e.cancel.clone());
        if let Some(c) = cancel {
            c.notify_one();
        }
    }
}
