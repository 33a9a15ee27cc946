//! What backup and restore sessions share to turn a Task into a job: the catalog (the built-in
//! Functions and Tasks, overridden by any the user applied), the job itself (a scratch folder
//! of its own where the catalog expects `/stash-tmp`), and a resolved Task's steps.
use std::collections::BTreeMap;
use std::path::PathBuf;

use stash::api::resolve::resolve_task;
use stash::api::resolve::variables::Vars;
use stash::api::{Function, Task};

use super::name_of;
use crate::context::Ctx;
use crate::error::Result;
use crate::runner::{JobSpec, Step};
use crate::store::{ObjRef, Selector, StoreExt};

/// Where the catalog's Functions keep scratch data inside a pod.
pub const POD_SCRATCH: &str = "/stash-tmp";

/// The Functions and the Task `name`: the user's if applied, else the built-in ones.
pub async fn catalog(ctx: &Ctx, task: &str) -> Result<(Option<Task>, BTreeMap<String, Function>)> {
    let mut functions = ctx.catalog.functions.clone();
    for f in ctx.store.list::<Function>(None, &Selector::all()).await? {
        functions.insert(name_of(&f), f);
    }
    let task = match ctx.store.get::<Task>("", task).await? {
        Some(t) => Some(t),
        None => ctx.catalog.tasks.get(task).cloned(),
    };
    Ok((task, functions))
}

/// The steps of `task` resolved with `vars`, or the resolver's message.
pub fn task_steps(
    task: &Task,
    functions: &BTreeMap<String, Function>,
    vars: &Vars,
) -> Result<Vec<Step>, String> {
    let resolved = resolve_task(task, functions, vars).map_err(|e| {
        format!(
            "resolving Task {}: {e}",
            task.metadata.name.as_deref().unwrap_or_default()
        )
    })?;
    Ok(resolved
        .steps
        .iter()
        .map(|s| Step {
            name: s.container.name.clone(),
            args: s.container.args.clone().unwrap_or_default(),
        })
        .collect())
}

/// A job whose pod paths land in a scratch folder of its own.
pub fn job(
    ctx: &Ctx,
    name: String,
    owner: ObjRef,
    steps: Vec<Step>,
    timeout: Option<std::time::Duration>,
) -> JobSpec {
    let scratch: PathBuf = ctx.settings.scratch_root.join(&name);
    JobSpec {
        name,
        owner,
        steps,
        env: BTreeMap::new(),
        mounts: vec![(POD_SCRATCH.to_string(), scratch)],
        timeout,
    }
}
