//! Task → containers, as Stash's `resolver/task.go`: substitute the variables into the Task,
//! then for each step substitute `step params < variables < ADDON_IMAGE` into its Function and
//! build the container (`<function name, dots as dashes>-<index>`, `IfNotPresent`). Every step
//! but the last runs as an init-container.
//!
//! Precedence, highest first: invoker `task.params` > implicit variables > Task step params >
//! `${X:=default}` in the Function. (The first two are already merged in `vars` by
//! [`super::variables`].)
//!
//! Left to the Job builder: the tmp volume and mount, the invoker's runtime settings, hooks.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;

use super::subst::substitute_value;
use super::variables::Vars;
use super::ResolveError;
use crate::api::{Function, FunctionSpec, Task};

/// One resolved step.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedStep {
    pub function: String,
    /// The Function spec after substitution (runtime settings included).
    pub spec: FunctionSpec,
    pub container: core::Container,
}

/// A resolved Task: steps in order and the pod volumes.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedTask {
    pub steps: Vec<ResolvedStep>,
    pub volumes: Vec<core::Volume>,
}

impl ResolvedTask {
    /// `(init containers, main containers)`: all steps but the last, and the last.
    pub fn containers(&self) -> (Vec<core::Container>, Vec<core::Container>) {
        let mut all: Vec<_> = self.steps.iter().map(|s| s.container.clone()).collect();
        let last = all.pop().into_iter().collect();
        (all, last)
    }
}

fn subst_typed<T: serde::Serialize + serde::de::DeserializeOwned>(
    obj: &T,
    vars: &Vars,
    what: &str,
) -> Result<T, ResolveError> {
    let mut v = serde_json::to_value(obj).map_err(|source| ResolveError::Json {
        what: what.to_string(),
        source,
    })?;
    substitute_value(&mut v, vars).map_err(|source| ResolveError::Placeholder {
        what: what.to_string(),
        source,
    })?;
    serde_json::from_value(v).map_err(|source| ResolveError::Json {
        what: what.to_string(),
        source,
    })
}

/// Resolves `task` with `vars`, looking Functions up in `functions` by name.
pub fn resolve_task(
    task: &Task,
    functions: &BTreeMap<String, Function>,
    vars: &Vars,
) -> Result<ResolvedTask, ResolveError> {
    let task_name = task.metadata.name.clone().unwrap_or_default();
    let spec = subst_typed(&task.spec, vars, &format!("Task {task_name}"))?;
    let mut steps = Vec::new();
    for (i, step) in spec.steps().iter().enumerate() {
        let function = functions
            .get(&step.name)
            .ok_or_else(|| ResolveError::MissingFunction {
                task: task_name.clone(),
                function: step.name.clone(),
            })?;
        let mut inputs: Vars = step
            .params()
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        inputs.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        inputs.insert(
            "ADDON_IMAGE".into(),
            function.spec.image.clone().unwrap_or_default(),
        );
        let fspec = subst_typed(
            &function.spec,
            &inputs,
            &format!("Function {} of Task {task_name}", step.name),
        )?;
        let rs = fspec.runtime_settings.clone().unwrap_or_default();
        let container = core::Container {
            name: format!("{}-{i}", step.name.replace('.', "-")),
            image: fspec.image.clone(),
            command: fspec.command.clone(),
            args: fspec.args.clone(),
            working_dir: fspec.working_dir.clone(),
            ports: fspec.ports.clone(),
            env: rs.env,
            env_from: rs.env_from,
            volume_mounts: fspec.volume_mounts.clone(),
            volume_devices: fspec.volume_devices.clone(),
            resources: rs.resources,
            liveness_probe: rs.liveness_probe,
            readiness_probe: rs.readiness_probe,
            lifecycle: rs.lifecycle,
            security_context: rs.security_context,
            image_pull_policy: Some("IfNotPresent".into()),
            ..Default::default()
        };
        steps.push(ResolvedStep {
            function: step.name.clone(),
            spec: fspec,
            container,
        });
    }
    if steps.is_empty() {
        return Err(ResolveError::EmptyTask { task: task_name });
    }
    Ok(ResolvedTask {
        steps,
        volumes: spec.volumes.unwrap_or_default(),
    })
}
