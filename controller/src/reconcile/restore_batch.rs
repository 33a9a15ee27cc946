//! RestoreBatch (spec §1.6, §3.11): the members of a BackupBatch restored from its shared
//! Repository, all at once or one after another, between the batch's global hooks.
//!
//! Each member is restored by a RestoreSession of its own, `<batch>-<index>`, owned by the
//! batch and labelled with it (`stash.appscode.com/invoker-type: RestoreBatch`): the same
//! reconciler, restore jobs, member hooks, backups-first wait and host results as a
//! RestoreSession applied by hand, so a member is restored exactly as it would be alone. Stash
//! keeps members inside the batch's status only; the extra objects are what makes a member
//! visible on its own (`stash get restoresession`), and the batch's status carries the same
//! per-member phase, hosts and stats as Stash's.
//!
//! A pass: final → nothing; admission rules (`ValidationPassed`); the deadline
//! (`DeadlineExceeded`, the members' sessions are deleted so their jobs stop); the global
//! preRestore hook, a job of its own (False: no member is created, the batch fails); the
//! members' sessions, created in turn — Parallel while fewer than `max_parallel_members` are
//! unfinished, Sequential once the one before is final, whatever its outcome; their status
//! folded into `status.members`; once every member is final, the global postRestore hook by
//! its policy; then `MetricsPushed`, the phase ([`restore_batch_phase`]), the duration and an
//! event.
use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use stash::api::common::{find_condition, set_condition, ExecutionOrder};
use stash::api::conditions::{reasons, types};
use stash::api::restore_batch::{restore_batch_phase, RestoreMemberStatus, RestoreTargetPhase};
use stash::api::restore_session::restore_target_phase;
use stash::api::validate::validate;
use stash::api::{
    Condition, RestoreBatch, RestoreBatchStatus, RestorePhase, RestoreSession, RestoreSessionSpec,
    StashObject,
};

use super::backup_configuration::offshoot_labels;
use super::backup_session::parse_go_duration;
use super::{condition, from_time, name_of, namespace_of, owner_ref, to_time};
use crate::context::Ctx;
use crate::error::Result;
use crate::hooks::{decide, Decision, HookType, Summary};
use crate::next::Next;
use crate::reconcile::job::job;
// A global hook's job is named as a RestoreSession's hook job: `stash-<action>-<name>`.
use crate::reconcile::restore_session::hooks::hook_job_name;
use crate::runner::{JobState, Step};
use crate::store::{EventType, ObjRef, Selector, StoreError, StoreExt};

const POLL_SECS: u64 = 5;
const SOURCE: &str = "RestoreBatch Controller";
pub const KIND: &str = "RestoreBatch";

fn has(st: &RestoreBatchStatus, ty: &str) -> Option<bool> {
    find_condition(st.conditions.as_deref(), ty).map(Condition::is_true)
}

fn set(st: &mut RestoreBatchStatus, c: Condition) {
    set_condition(st.conditions.get_or_insert_with(Vec::new), c);
}

/// The RestoreSession restoring member `index` of batch `batch`.
pub fn member_session_name(batch: &str, index: usize) -> String {
    format!("{batch}-{index}")
}

/// Member `index`'s RestoreSession as the batch would create it.
fn member_session(rb: &RestoreBatch, index: usize) -> RestoreSession {
    let name = name_of(rb);
    let mut labels = rb.metadata.labels.clone().unwrap_or_default();
    labels.extend(offshoot_labels(KIND, &name));
    labels.extend([(
        "stash.appscode.com/restore-batch-member".to_string(),
        index.to_string(),
    )]);
    RestoreSession {
        metadata: ObjectMeta {
            name: Some(member_session_name(&name, index)),
            namespace: rb.metadata.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![owner_ref(rb)]),
            ..Default::default()
        },
        spec: RestoreSessionSpec {
            template: rb.spec.members()[index].clone(),
            driver: rb.spec.driver,
            repository: rb.spec.repository.clone(),
            rules: None,
            time_out: rb.spec.time_out.clone(),
        },
        status: None,
    }
}

/// A member's entry in the batch's status, from its RestoreSession (Pending before it exists).
fn member_status(
    rb: &RestoreBatch,
    index: usize,
    rs: Option<&RestoreSession>,
) -> RestoreMemberStatus {
    let ns = namespace_of(rb);
    let mut target = rb.spec.members()[index]
        .target
        .as_ref()
        .map(|t| t.target_ref())
        .unwrap_or_default();
    if target.namespace.as_deref().unwrap_or_default().is_empty() {
        target.namespace = Some(ns);
    }
    let st = rs.and_then(|r| r.status.clone()).unwrap_or_default();
    let phase = match st.phase {
        Some(RestorePhase::Succeeded) => RestoreTargetPhase::Succeeded,
        Some(RestorePhase::Failed) => RestoreTargetPhase::Failed,
        Some(RestorePhase::Unknown) => RestoreTargetPhase::Unknown,
        // A member whose spec the webhook refuses does not run.
        Some(RestorePhase::Invalid) => RestoreTargetPhase::Failed,
        _ => restore_target_phase(
            st.conditions.as_deref(),
            st.total_hosts,
            st.stats.as_deref(),
        ),
    };
    let phase = match (phase, st.phase) {
        // Not final yet: its metrics and event are still to come.
        (RestoreTargetPhase::Succeeded | RestoreTargetPhase::Failed, Some(p)) if !p.is_final() => {
            RestoreTargetPhase::Running
        }
        (p, _) => p,
    };
    RestoreMemberStatus {
        r#ref: target,
        conditions: st.conditions,
        total_hosts: st.total_hosts,
        phase: Some(phase),
        stats: st.stats,
    }
}

fn member_final(m: &RestoreMemberStatus) -> bool {
    matches!(
        m.phase,
        Some(
            RestoreTargetPhase::Succeeded
                | RestoreTargetPhase::Failed
                | RestoreTargetPhase::Unknown
        )
    )
}

/// The summary a global hook sees: the batch as invoker, Failed when a member failed or a
/// condition is False.
pub fn summary(rb: &RestoreBatch, st: &RestoreBatchStatus, now: DateTime<Utc>) -> Summary {
    let mut s = Summary::for_invoker(
        KIND,
        &name_of(rb),
        &namespace_of(rb),
        rb.metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, from_time),
        now,
    );
    let member_error = st.members.iter().flatten().find_map(|m| {
        m.stats
            .iter()
            .flatten()
            .find_map(|h| h.error.clone())
            .or_else(|| {
                (m.phase == Some(RestoreTargetPhase::Failed)).then(|| {
                    m.conditions
                        .iter()
                        .flatten()
                        .find(|c| c.is_false())
                        .and_then(|c| c.message.clone())
                        .unwrap_or_else(|| format!("member {} failed", m.r#ref.name()))
                })
            })
    });
    let error = member_error.or_else(|| {
        st.conditions
            .iter()
            .flatten()
            .find(|c| c.is_false())
            .and_then(|c| c.message.clone())
    });
    if let Some(e) = error {
        s.status.phase = "Failed".into();
        s.status.error = e;
    }
    s
}

pub async fn reconcile(rb: &RestoreBatch, ctx: &Ctx) -> Result<Next> {
    let (ns, name) = (namespace_of(rb), name_of(rb));
    let now = ctx.clock.now();
    let old = rb.status.clone().unwrap_or_default();
    if old.phase.is_some_and(RestorePhase::is_final) {
        return Ok(Next::Wait);
    }
    let mut st = old.clone();
    let mut next = advance(rb, &mut st, ctx, now).await?;
    let completed = has(&st, types::DEADLINE_EXCEEDED) == Some(true)
        || has(&st, types::GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED) == Some(false)
        || (st
            .members
            .as_ref()
            .is_some_and(|m| m.len() == rb.spec.members().len() && m.iter().all(member_final))
            && !global_post_pending(rb, &st));
    if completed && has(&st, types::METRICS_PUSHED).is_none() {
        set(
            &mut st,
            condition(
                types::METRICS_PUSHED,
                true,
                reasons::SUCCESSFULLY_PUSHED_METRICS,
                "Successfully recorded the session's metrics.",
                now,
            ),
        );
    }
    st.phase = Some(restore_batch_phase(&st));
    let is_final = st.phase.is_some_and(RestorePhase::is_final);
    if is_final && st.session_duration.is_none() {
        let created = rb
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, from_time);
        st.session_duration = Some(stash::api::output::go_duration(
            std::time::Duration::from_secs((now - created).num_seconds().max(0) as u64),
        ));
    }
    if st != old {
        // A global hook's step records its condition meanwhile: keep what this pass lacks.
        let new = st.clone();
        ctx.store
            .update_status::<RestoreBatch, _>(&ns, &name, |b| {
                let stored = b.status.take().unwrap_or_default().conditions;
                let mut st = new.clone();
                for c in stored.into_iter().flatten() {
                    if has(&st, &c.type_).is_none() {
                        set(&mut st, c);
                    }
                }
                b.status = Some(st);
            })
            .await?;
    }
    if is_final {
        let phase = st.phase.unwrap_or(RestorePhase::Unknown);
        let (type_, reason) = match phase {
            RestorePhase::Succeeded => (EventType::Normal, "RestoreBatch Succeeded"),
            _ => (EventType::Warning, "RestoreBatch Failed"),
        };
        let mut msg = format!("RestoreBatch {name} is {phase:?}");
        if phase != RestorePhase::Succeeded {
            msg.push_str(&format!(": {}", summary(rb, &st, now).status.error));
        }
        ctx.store.event(rb, type_, SOURCE, reason, msg, now).await?;
        next = Next::Wait;
    }
    Ok(next)
}

/// Whether the global postRestore hook is still owed.
fn global_post_pending(rb: &RestoreBatch, st: &RestoreBatchStatus) -> bool {
    rb.spec
        .hooks
        .as_ref()
        .is_some_and(|h| h.post_restore.is_some())
        && has(st, types::GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED) != Some(false)
        && has(st, types::GLOBAL_POST_RESTORE_HOOK_SUCCEEDED).is_none()
}

async fn advance(
    rb: &RestoreBatch,
    st: &mut RestoreBatchStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<Next> {
    let (ns, name) = (namespace_of(rb), name_of(rb));
    // Admission rules: a refused spec waits for a change.
    let problems: Vec<String> = validate(&StashObject::RestoreBatch(Box::new(rb.clone())))
        .iter()
        .map(|p| p.to_string())
        .collect();
    if !problems.is_empty() {
        set(
            st,
            condition(
                types::VALIDATION_PASSED,
                false,
                reasons::RESOURCE_VALIDATION_FAILED,
                problems.join("; "),
                now,
            ),
        );
        return Ok(Next::Wait);
    }
    set(
        st,
        condition(
            types::VALIDATION_PASSED,
            true,
            reasons::RESOURCE_VALIDATION_PASSED,
            "Successfully validated.",
            now,
        ),
    );

    // The members' sessions as they are.
    let selector = Selector::labels([
        ("stash.appscode.com/invoker-type", KIND),
        ("stash.appscode.com/invoker-name", name.as_str()),
    ]);
    let sessions = ctx
        .store
        .list::<RestoreSession>(Some(&ns), &selector)
        .await?;
    let count = rb.spec.members().len();
    let session_of = |i: usize| {
        let n = member_session_name(&name, i);
        sessions.iter().find(|s| name_of(*s) == n)
    };
    st.members = Some(
        (0..count)
            .map(|i| member_status(rb, i, session_of(i)))
            .collect(),
    );

    // The deadline.
    if let (Some(t), None) = (
        rb.spec.time_out.as_deref().and_then(parse_go_duration),
        &st.session_deadline,
    ) {
        let created = rb
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(now, from_time);
        st.session_deadline = Some(to_time(
            created + chrono::Duration::from_std(t).unwrap_or_default(),
        ));
    }
    let deadline = st.session_deadline.as_ref().map(from_time);
    if let Some(deadline) = deadline.filter(|d| now > *d) {
        if has(st, types::DEADLINE_EXCEEDED).is_none() {
            let msg = format!(
                "Failed to complete restore within the session deadline {} (spec.timeOut {}).",
                deadline.to_rfc3339(),
                rb.spec.time_out.clone().unwrap_or_default()
            );
            set(
                st,
                condition(
                    types::DEADLINE_EXCEEDED,
                    true,
                    reasons::FAILED_TO_COMPLETE_WITHIN_DEADLINE,
                    msg,
                    now,
                ),
            );
        }
        for hook in [HookType::GlobalPreRestore, HookType::GlobalPostRestore] {
            ctx.runner.cancel(&hook_job_name(hook, &name)).await;
        }
        for s in sessions.iter().filter(|s| {
            !s.status
                .as_ref()
                .and_then(|s| s.phase)
                .is_some_and(RestorePhase::is_final)
        }) {
            ctx.store.delete::<RestoreSession>(&ns, &name_of(s)).await?;
        }
        return Ok(Next::Wait);
    }
    let remaining = deadline.and_then(|d| (d - now).to_std().ok());

    // The global preRestore hook, before any member.
    if rb
        .spec
        .hooks
        .as_ref()
        .is_some_and(|h| h.pre_restore.is_some())
        && has(st, types::GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED).is_none()
    {
        follow_hook(rb, st, HookType::GlobalPreRestore, ctx, now, remaining).await?;
        if has(st, types::GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED).is_none() {
            return Ok(Next::secs(POLL_SECS));
        }
    }
    if has(st, types::GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED) == Some(false) {
        return Ok(Next::Wait);
    }

    // The members, in turn.
    let members = st.members.clone().unwrap_or_default();
    let mut unfinished = members
        .iter()
        .enumerate()
        .filter(|(i, m)| session_of(*i).is_some() && !member_final(m))
        .count();
    for i in 0..count {
        if session_of(i).is_some() {
            continue;
        }
        let turn = match rb.spec.execution_order() {
            ExecutionOrder::Sequential => members[..i].iter().all(member_final),
            ExecutionOrder::Parallel => unfinished < ctx.settings.max_parallel_members.max(1),
        };
        if !turn {
            break;
        }
        match ctx.store.create(&member_session(rb, i)).await {
            Ok(_) | Err(StoreError::AlreadyExists(_)) => unfinished += 1,
            Err(e) => return Err(e.into()),
        }
    }

    // After every member, the global postRestore hook.
    if members.len() == count && members.iter().all(member_final) && global_post_pending(rb, st) {
        let hook = HookType::GlobalPostRestore;
        let policy = rb
            .spec
            .hooks
            .as_ref()
            .and_then(|h| h.post_restore.as_ref())
            .map(|p| p.execution_policy())
            .unwrap_or_default();
        if ctx.runner.state(&hook_job_name(hook, &name)).is_none() {
            let s = summary(rb, st, now);
            if let Decision::Skip(msg) = decide(hook, policy, &s.status.phase, 0) {
                set(st, hook.succeeded(Some(msg), now));
                return Ok(Next::Wait);
            }
        }
        follow_hook(rb, st, hook, ctx, now, remaining).await?;
    }
    Ok(Next::secs(POLL_SECS))
}

/// Starts a global hook's job (`stash session-action global-…-restore-hook --restorebatch`),
/// or folds in how it ended: the condition its step recorded, else one made of its message.
async fn follow_hook(
    rb: &RestoreBatch,
    st: &mut RestoreBatchStatus,
    hook: HookType,
    ctx: &Ctx,
    now: DateTime<Utc>,
    remaining: Option<std::time::Duration>,
) -> Result<()> {
    let (ns, name) = (namespace_of(rb), name_of(rb));
    let job_name = hook_job_name(hook, &name);
    let message = match ctx.runner.state(&job_name) {
        None => {
            let steps = vec![Step {
                name: hook.action().into(),
                args: vec![
                    "session-action".into(),
                    hook.action().into(),
                    format!("--namespace={ns}"),
                    format!("--restorebatch={name}"),
                ],
            }];
            ctx.runner
                .start(job(ctx, job_name, ObjRef::to(rb), steps, remaining))
                .await?;
            return Ok(());
        }
        Some(JobState::Running) => return Ok(()),
        Some(JobState::Succeeded) => None,
        Some(JobState::Failed { message, .. }) => Some(message),
    };
    let fresh: Option<RestoreBatch> = ctx.store.get(&ns, &name).await?;
    let recorded = fresh
        .and_then(|b| b.status)
        .and_then(|s| find_condition(s.conditions.as_deref(), hook.condition_type()).cloned());
    set(
        st,
        match (recorded, message) {
            (Some(c), _) => c,
            (None, Some(m)) => hook.failed(&m, now),
            // The step records its condition before it exits 0.
            (None, None) => hook.succeeded(None, now),
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use stash::api::restore_session::RestoreSessionStatus;

    use super::*;
    use crate::clock::ManualClock;
    use crate::context::{test_ctx, Ctx};
    use crate::runner::{FakeRunner, StepRunner};
    use crate::store::{MemoryStore, ObjectStore};

    const OBJECTS: &str = r#"
- apiVersion: stash.appscode.com/v1beta1
  kind: RestoreBatch
  metadata: {name: app-restore, namespace: demo}
  spec:
    repository: {name: repo}
    executionOrder: Sequential
    members:
    - task: {name: postgres-restore-14.0}
      target: {alias: pg, ref: {apiVersion: appcatalog.appscode.com/v1alpha1, kind: AppBinding, name: pg}, rules: [{snapshots: [latest]}]}
    - task: {name: pvc-restore}
      target: {alias: files, ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: data}, rules: [{snapshots: [latest]}]}
"#;

    struct World {
        store: Arc<MemoryStore>,
        runner: Arc<FakeRunner>,
        ctx: Ctx,
    }

    async fn world(edit: impl Fn(&mut RestoreBatch)) -> World {
        let clock = Arc::new(ManualClock::at("2026-11-30T10:00:00Z"));
        let store = Arc::new(MemoryStore::new(clock.clone()));
        let runner = Arc::new(FakeRunner::new());
        for obj in serde_saphyr::from_str::<Vec<serde_json::Value>>(OBJECTS).unwrap() {
            let mut rb: RestoreBatch = serde_json::from_value(obj).unwrap();
            edit(&mut rb);
            store.create(&rb).await.unwrap();
        }
        let ctx = test_ctx(store.clone(), runner.clone(), clock);
        World { store, runner, ctx }
    }

    impl World {
        async fn batch(&self) -> RestoreBatch {
            self.store
                .get("demo", "app-restore")
                .await
                .unwrap()
                .unwrap()
        }
        async fn reconcile(&self) -> RestoreBatchStatus {
            reconcile(&self.batch().await, &self.ctx).await.unwrap();
            self.batch().await.status.unwrap()
        }
        async fn members(&self) -> Vec<String> {
            let mut names: Vec<String> = self
                .store
                .list::<RestoreSession>(Some("demo"), &Selector::all())
                .await
                .unwrap()
                .iter()
                .map(name_of)
                .collect();
            names.sort();
            names
        }
        /// What member `i`'s RestoreSession reconciler would have written at its end.
        async fn member_ends(&self, i: usize, phase: RestorePhase) {
            let host = if phase == RestorePhase::Succeeded {
                "Succeeded"
            } else {
                "Failed"
            };
            let st: RestoreSessionStatus = serde_json::from_value(serde_json::json!({
                "phase": phase,
                "totalHosts": 1,
                "conditions": [{"type": "RestoreTargetFound", "status": "True"},
                               {"type": "RestoreExecutorEnsured", "status": "True"}],
                "stats": [{"hostname": "h", "phase": host, "error": (phase != RestorePhase::Succeeded).then_some("psql: no such database")}],
            }))
            .unwrap();
            self.store
                .update_status::<RestoreSession, _>(
                    "demo",
                    &member_session_name("app-restore", i),
                    |r| r.status = Some(st.clone()),
                )
                .await
                .unwrap()
                .unwrap();
        }
    }

    #[tokio::test]
    async fn sequential_members_restore_one_after_another_even_after_a_failure() {
        let w = world(|_| {}).await;
        let st = w.reconcile().await;
        assert_eq!(
            w.members().await,
            vec!["app-restore-0"],
            "one member at a time"
        );
        assert_eq!(st.phase, Some(RestorePhase::Pending));
        let rs: RestoreSession = w.store.get("demo", "app-restore-0").await.unwrap().unwrap();
        assert_eq!(rs.spec.repository.as_ref().unwrap().name, "repo");
        assert_eq!(rs.spec.template.task_name(), "postgres-restore-14.0");
        assert_eq!(
            rs.metadata.owner_references.unwrap()[0].kind,
            "RestoreBatch"
        );

        w.member_ends(0, RestorePhase::Failed).await;
        let st = w.reconcile().await;
        assert_eq!(
            w.members().await,
            vec!["app-restore-0", "app-restore-1"],
            "the next member runs after a failed one"
        );
        assert_eq!(st.phase, Some(RestorePhase::Running));
        w.member_ends(1, RestorePhase::Succeeded).await;
        let st = w.reconcile().await;
        assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
        let phases: Vec<_> = st.members.unwrap().iter().map(|m| m.phase).collect();
        assert_eq!(
            phases,
            vec![
                Some(RestoreTargetPhase::Failed),
                Some(RestoreTargetPhase::Succeeded)
            ]
        );
        assert!(st.session_duration.is_some());
        let events = w
            .store
            .events(&ObjRef::of::<RestoreBatch>("demo", "app-restore"))
            .await
            .unwrap();
        assert!(
            events.iter().any(|e| e.reason == "RestoreBatch Failed"
                && e.message.contains("psql: no such database")),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn parallel_members_start_together_and_the_batch_succeeds_when_all_do() {
        let w = world(|rb| rb.spec.execution_order = Some(ExecutionOrder::Parallel)).await;
        w.reconcile().await;
        assert_eq!(w.members().await, vec!["app-restore-0", "app-restore-1"]);
        w.member_ends(0, RestorePhase::Succeeded).await;
        assert_eq!(w.reconcile().await.phase, Some(RestorePhase::Running));
        w.member_ends(1, RestorePhase::Succeeded).await;
        let st = w.reconcile().await;
        assert_eq!(st.phase, Some(RestorePhase::Succeeded), "{st:?}");
        let members = st.members.unwrap();
        assert_eq!(members[1].r#ref.kind(), "PersistentVolumeClaim");
        assert_eq!(members[1].total_hosts, Some(1));
    }

    #[tokio::test]
    async fn a_failed_global_pre_restore_hook_restores_no_member() {
        let w = world(|rb| {
            rb.spec.hooks = Some(
                serde_saphyr::from_str(
                    "{preRestore: {exec: {command: [sh, -c, 'echo locked; exit 1']}}}",
                )
                .unwrap(),
            )
        })
        .await;
        w.reconcile().await;
        let job = hook_job_name(HookType::GlobalPreRestore, "app-restore");
        assert_eq!(w.runner.state(&job), Some(JobState::Running));
        assert!(w.members().await.is_empty(), "no member before the hook");
        // The hook's step, as its job runs it.
        let res = crate::steps::hooks::restore_batch_hook(
            w.store.as_ref(),
            "demo",
            "app-restore",
            HookType::GlobalPreRestore,
            &crate::hooks::ExecOptions::default(),
        )
        .await;
        let message = res.unwrap_err().to_string();
        w.runner.finish(
            &job,
            JobState::Failed {
                step: "hook".into(),
                message,
            },
        );
        let st = w.reconcile().await;
        assert_eq!(st.phase, Some(RestorePhase::Failed), "{st:?}");
        let c = find_condition(
            st.conditions.as_deref(),
            types::GLOBAL_PRE_RESTORE_HOOK_SUCCEEDED,
        )
        .unwrap();
        assert!(c.is_false());
        assert!(c.message.as_deref().unwrap().contains("locked"), "{c:?}");
        assert!(w.members().await.is_empty(), "no member restored");
    }
}
