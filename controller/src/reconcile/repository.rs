//! Repository (spec §1.1): the finalizer `stash`, and on deletion Stash's `wipeOut`.
//!
//! A Repository carries the finalizer from its first reconcile, so that deleting it waits for
//! this reconciler. Without `wipeOut` the finalizer is released at once and the data stays.
//! With `wipeOut: true` a job of its own (a cleaner Job in a cluster) removes every object
//! under the backend's bucket and prefix; the finalizer is released only after it succeeded,
//! so a Repository never disappears while its data is half-deleted. A failed wipe is reported
//! as a Warning event and tried again a minute later: the usual causes (credentials, a
//! permission on the bucket) are fixed by the user without deleting anything again. Admission
//! already refused `wipeOut` on `local` and `b2` backends.
use chrono::Duration;
use stash::api::{Repository, REPOSITORY_FINALIZER};

use super::{job::job, name_of, namespace_of};
use crate::context::Ctx;
use crate::error::Result;
use crate::next::Next;
use crate::runner::{JobState, Step};
use crate::store::{EventType, ObjRef, StoreExt};

const SOURCE: &str = "Repository Controller";
/// How long after a failed wipe-out the next one starts.
const RETRY_SECS: i64 = 60;

/// The wipe-out job of a Repository.
pub fn wipe_job_name(ns: &str, name: &str) -> String {
    format!("stash-wipeout-{ns}-{name}").replace('.', "-")
}

fn has_finalizer(repo: &Repository) -> bool {
    repo.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == REPOSITORY_FINALIZER)
}

pub async fn reconcile(repo: &Repository, ctx: &Ctx) -> Result<Next> {
    let (ns, name) = (namespace_of(repo), name_of(repo));
    if repo.metadata.deletion_timestamp.is_none() {
        if !has_finalizer(repo) {
            ctx.store
                .update::<Repository, _>(&ns, &name, |r| {
                    r.metadata
                        .finalizers
                        .get_or_insert_with(Vec::new)
                        .push(REPOSITORY_FINALIZER.into())
                })
                .await?;
        }
        return Ok(Next::Wait);
    }
    if !has_finalizer(repo) {
        return Ok(Next::Wait);
    }
    if repo.spec.wipe_out == Some(true) {
        let job_name = wipe_job_name(&ns, &name);
        let now = ctx.clock.now();
        match ctx.runner.state(&job_name) {
            None => {
                let step = Step {
                    name: "wipe-out".into(),
                    args: vec![
                        "session-action".into(),
                        "wipe-out".into(),
                        format!("--namespace={ns}"),
                        format!("--repository={name}"),
                    ],
                };
                let spec = job(ctx, job_name, ObjRef::to(repo), vec![step], None);
                ctx.runner.start(spec).await?;
                return Ok(Next::Wait);
            }
            Some(JobState::Running) => return Ok(Next::Wait),
            Some(JobState::Failed { message, .. }) => {
                let msg = format!(
                    "Failed to wipe out the backend of Repository {ns}/{name}; retrying in {RETRY_SECS}s. Reason: {message}"
                );
                ctx.store
                    .event(
                        repo,
                        EventType::Warning,
                        SOURCE,
                        "FailedToWipeOut",
                        msg,
                        now,
                    )
                    .await?;
                ctx.runner.forget(&job_name);
                return Ok(Next::After(
                    Duration::seconds(RETRY_SECS).to_std().unwrap_or_default(),
                ));
            }
            Some(JobState::Succeeded) => {
                let msg = format!("Wiped out the backend of Repository {ns}/{name}.");
                ctx.store
                    .event(repo, EventType::Normal, SOURCE, "WipedOut", msg, now)
                    .await?;
            }
        }
    }
    ctx.store
        .update::<Repository, _>(&ns, &name, |r| {
            if let Some(f) = &mut r.metadata.finalizers {
                f.retain(|f| f != REPOSITORY_FINALIZER);
            }
        })
        .await?;
    Ok(Next::Wait)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::clock::ManualClock;
    use crate::context::test_ctx;
    use crate::runner::FakeRunner;
    use crate::store::{Deleted, MemoryStore, ObjectStore};

    struct World {
        store: Arc<MemoryStore>,
        runner: Arc<FakeRunner>,
        ctx: Ctx,
    }

    fn world(wipe_out: bool) -> World {
        let clock = Arc::new(ManualClock::at("2026-11-30T10:00:00Z"));
        let store = Arc::new(MemoryStore::new(clock.clone()));
        let runner = Arc::new(FakeRunner::new());
        let ctx = test_ctx(store.clone(), runner.clone(), clock);
        let w = World { store, runner, ctx };
        let repo = json!({
            "apiVersion": "stash.appscode.com/v1alpha1", "kind": "Repository",
            "metadata": {"name": "r", "namespace": "demo"},
            "spec": {"backend": {"storageSecretName": "s", "s3": {"endpoint": "http://127.0.0.1:9100", "bucket": "b", "prefix": "p"}}, "wipeOut": wipe_out}
        });
        futures::executor::block_on(w.store.create_raw(repo)).unwrap();
        w
    }

    impl World {
        async fn repo(&self) -> Option<Repository> {
            self.store.get::<Repository>("demo", "r").await.unwrap()
        }
        async fn reconcile(&self) -> Next {
            let r = self.repo().await.expect("the repository");
            reconcile(&r, &self.ctx).await.unwrap()
        }
    }

    #[tokio::test]
    async fn finalizer_added_once_then_nothing_is_written() {
        let w = world(false);
        w.reconcile().await;
        let r = w.repo().await.unwrap();
        assert_eq!(r.metadata.finalizers, Some(vec!["stash".to_string()]));
        w.store.take_writes();
        w.reconcile().await;
        assert!(w.store.take_writes().is_empty());
        assert!(w.runner.started().is_empty());
    }

    #[tokio::test]
    async fn deleting_without_wipe_out_releases_at_once() {
        let w = world(false);
        w.reconcile().await;
        let d = w.store.delete::<Repository>("demo", "r").await.unwrap();
        assert_eq!(d, Deleted::Marked);
        w.reconcile().await;
        assert!(w.repo().await.is_none());
        assert!(w.runner.started().is_empty());
    }

    #[tokio::test]
    async fn wipe_out_runs_a_job_and_releases_only_after_it_succeeded() {
        let w = world(true);
        w.reconcile().await;
        w.store.delete::<Repository>("demo", "r").await.unwrap();
        w.reconcile().await;
        let jobs = w.runner.started();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].name, "stash-wipeout-demo-r");
        assert_eq!(
            jobs[0].steps[0].args,
            [
                "session-action",
                "wipe-out",
                "--namespace=demo",
                "--repository=r"
            ]
        );
        // Running: the object stays, nothing is written.
        w.store.take_writes();
        assert_eq!(w.reconcile().await, Next::Wait);
        assert!(w.store.take_writes().is_empty());
        assert!(w.repo().await.is_some());

        // A failure: a Warning, the job forgotten, another attempt later.
        w.runner.finish(
            "stash-wipeout-demo-r",
            JobState::Failed {
                step: "wipe-out".into(),
                message: "access denied".into(),
            },
        );
        let next = w.reconcile().await;
        assert_eq!(next, Next::After(std::time::Duration::from_secs(60)));
        assert!(w.repo().await.is_some(), "released after a failed wipe");
        let events = w
            .store
            .events(&ObjRef::of::<Repository>("demo", "r"))
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].reason, "FailedToWipeOut");
        assert!(events[0].message.ends_with("Reason: access denied"));
        assert!(w.runner.started().is_empty(), "the failed job is forgotten");

        w.reconcile().await;
        assert_eq!(w.runner.started().len(), 1, "tried again");
        w.runner.finish("stash-wipeout-demo-r", JobState::Succeeded);
        w.reconcile().await;
        assert!(w.repo().await.is_none());
    }
}
