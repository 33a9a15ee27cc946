//! Steps 3 and 4, before the job starts: the spec is valid and everything it names exists
//! (each a condition whose message names the missing object and the field naming it), and no
//! backup into the same Repository is in progress.
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Secret;
use stash::api::conditions::{reasons, types};
use stash::api::restore_session::RestoreSessionStatus;
use stash::api::validate::{check_repository_usage, validate};
use stash::api::{
    BackupBatch, BackupConfiguration, BackupSession, BackupSessionPhase, Repository,
    RestoreSession, StashObject,
};

use super::super::{condition, namespace_of};
use super::{set, POLL_SECS};
use crate::context::Ctx;
use crate::error::Result;
use crate::next::Next;
use crate::store::{Selector, StoreExt};
use crate::targets::target_exists;

/// Step 3: `ValidationPassed`, `RepositoryFound`, `BackendSecretFound`, `RestoreTargetFound`.
/// The Repository when all is there, else when to look again.
pub(super) async fn check_objects(
    rs: &RestoreSession,
    st: &mut RestoreSessionStatus,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> Result<Result<Repository, Next>> {
    let ns = namespace_of(rs);
    let repo_ref = rs.spec.repository.clone().unwrap_or_default();
    let repo_ns = repo_ref.namespace_or(&ns).to_string();
    let repo = ctx
        .store
        .get::<Repository>(&repo_ns, &repo_ref.name)
        .await?;

    // Admission rules (local mode has no webhook): a problem names the field.
    let mut problems: Vec<String> = validate(&StashObject::RestoreSession(Box::new(rs.clone())))
        .iter()
        .map(|p| p.to_string())
        .collect();
    if let Some(p) = repo
        .as_ref()
        .and_then(|r| check_repository_usage(r, &ns, &Default::default()))
    {
        problems.push(p.to_string());
    }
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
        return Ok(Err(Next::Wait));
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

    let Some(repo) = repo else {
        let msg = format!(
            "Repository {repo_ns}/{} does not exist: create it (spec.repository names it)",
            repo_ref.name
        );
        set(
            st,
            condition(
                types::REPOSITORY_FOUND,
                false,
                reasons::REPOSITORY_NOT_AVAILABLE,
                msg,
                now,
            ),
        );
        return Ok(Err(Next::secs(POLL_SECS)));
    };
    set(
        st,
        condition(
            types::REPOSITORY_FOUND,
            true,
            reasons::REPOSITORY_AVAILABLE,
            format!("Repository {repo_ns}/{} exist.", repo_ref.name),
            now,
        ),
    );
    let secret = repo
        .spec
        .backend
        .as_ref()
        .and_then(|b| b.storage_secret_name.clone())
        .unwrap_or_default();
    if ctx.store.get::<Secret>(&repo_ns, &secret).await?.is_none() {
        let msg = format!("Backend Secret {repo_ns}/{secret} does not exist: create it (Repository {repo_ns}/{} spec.backend.storageSecretName names it)", repo_ref.name);
        set(
            st,
            condition(
                types::BACKEND_SECRET_FOUND,
                false,
                reasons::BACKEND_SECRET_NOT_AVAILABLE,
                msg,
                now,
            ),
        );
        return Ok(Err(Next::secs(POLL_SECS)));
    }
    set(
        st,
        condition(
            types::BACKEND_SECRET_FOUND,
            true,
            reasons::BACKEND_SECRET_AVAILABLE,
            format!("Backend Secret {repo_ns}/{secret} exist."),
            now,
        ),
    );

    if let Some(t) = rs
        .spec
        .template
        .target
        .as_ref()
        .and_then(|t| t.r#ref.as_ref())
        .filter(|t| !t.name().is_empty())
    {
        let tns = t.namespace_or(&ns).to_string();
        let (kind, tname) = (t.kind(), t.name());
        if !target_exists(ctx, t, &tns).await? {
            let msg = format!("Restore target {kind} {tns}/{tname} does not exist: create it (spec.target.ref names it)");
            set(
                st,
                condition(
                    types::RESTORE_TARGET_FOUND,
                    false,
                    reasons::TARGET_NOT_AVAILABLE,
                    msg,
                    now,
                ),
            );
            return Ok(Err(Next::secs(POLL_SECS)));
        }
        set(
            st,
            condition(
                types::RESTORE_TARGET_FOUND,
                true,
                reasons::TARGET_AVAILABLE,
                format!("Restore target {kind} {tns}/{tname} found."),
                now,
            ),
        );
    }
    Ok(Ok(repo))
}

/// Step 4: whether a BackupSession into Repository `repo_ns/repo` is in progress: Running,
/// Pending (it may be initialising the repository), or not yet looked at (no phase: it was
/// just created, e.g. by a schedule, and will run next).
pub(super) async fn backup_in_progress(ctx: &Ctx, repo_ns: &str, repo: &str) -> Result<bool> {
    let sessions = ctx
        .store
        .list::<BackupSession>(None, &Selector::all())
        .await?;
    for s in &sessions {
        let active = matches!(
            s.status.as_ref().and_then(|st| st.phase),
            None | Some(BackupSessionPhase::Running | BackupSessionPhase::Pending)
        );
        let Some(invoker) = s.spec.invoker.as_ref().filter(|_| active) else {
            continue;
        };
        let sns = namespace_of(s);
        let target = match invoker.kind.as_str() {
            "BackupConfiguration" => ctx
                .store
                .get::<BackupConfiguration>(&sns, &invoker.name)
                .await?
                .and_then(|bc| bc.spec.repository),
            "BackupBatch" => ctx
                .store
                .get::<BackupBatch>(&sns, &invoker.name)
                .await?
                .and_then(|bb| bb.spec.repository),
            _ => None,
        };
        if target.is_some_and(|r| r.namespace_or(&sns) == repo_ns && r.name == repo) {
            return Ok(true);
        }
    }
    Ok(false)
}
