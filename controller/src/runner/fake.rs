//! A scripted runner for scenario tests: jobs are recorded, not run; the test says how each
//! one ends (and plays the Task's last step itself by writing the status a real
//! `update-status` would write).
use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{JobSpec, JobState, RunnerError, StepRunner};

#[derive(Debug, Default)]
pub struct FakeRunner {
    jobs: Mutex<BTreeMap<String, (JobSpec, JobState)>>,
}

impl FakeRunner {
    pub fn new() -> FakeRunner {
        FakeRunner::default()
    }

    /// The jobs started so far, in name order.
    pub fn started(&self) -> Vec<JobSpec> {
        self.jobs
            .lock()
            .expect("fake runner")
            .values()
            .map(|(j, _)| j.clone())
            .collect()
    }

    /// Ends a job the way the test says.
    pub fn finish(&self, job: &str, state: JobState) {
        let mut jobs = self.jobs.lock().expect("fake runner");
        let entry = jobs
            .get_mut(job)
            .unwrap_or_else(|| panic!("no job {job} was started"));
        entry.1 = state;
    }

    /// Forgets every job, as a restarted process would.
    pub fn forget_all(&self) {
        self.jobs.lock().expect("fake runner").clear();
    }
}

#[async_trait]
impl StepRunner for FakeRunner {
    async fn start(&self, job: JobSpec) -> Result<(), RunnerError> {
        self.jobs
            .lock()
            .expect("fake runner")
            .entry(job.name.clone())
            .or_insert((job, JobState::Running));
        Ok(())
    }

    fn forget(&self, job: &str) {
        let mut jobs = self.jobs.lock().expect("fake runner");
        if jobs.get(job).is_some_and(|(_, s)| *s != JobState::Running) {
            jobs.remove(job);
        }
    }

    fn state(&self, job: &str) -> Option<JobState> {
        self.jobs
            .lock()
            .expect("fake runner")
            .get(job)
            .map(|(_, s)| s.clone())
    }

    async fn cancel(&self, job: &str) {
        if let Some(e) = self.jobs.lock().expect("fake runner").get_mut(job) {
            if e.1 == JobState::Running {
                e.1 = JobState::Failed {
                    step: "cancelled".into(),
                    message: "cancelled".into(),
                };
            }
        }
    }
}
