//! Restore invoker rules: Stash's `RestoreSession.IsValid` rule checks (applied to every member
//! of a RestoreBatch too), cross-namespace targets, and the repository reference.
//!
//! Rules are checked where they take effect: `spec.target.rules`, or the deprecated
//! `spec.rules` when the target has none (Stash's mutating webhook moves the latter into the
//! former before validating).

use std::collections::BTreeMap;

use super::backup::{cross_namespace, duration, handler, post_hook, repository_ref, target_ref};
use super::{join, Problem};
use crate::api::hooks::RestoreHooks;
use crate::api::restore_session::{RestoreTargetSpec, Rule};
use crate::api::{RestoreBatch, RestoreSession};

pub(super) fn restore_session(rs: &RestoreSession) -> Vec<Problem> {
    let mut out = Vec::new();
    let ns = rs.metadata.namespace.as_deref().unwrap_or_default();
    let s = &rs.spec;
    member(&s.template, "spec", ns, &mut out);
    let target_rules = s
        .template
        .target
        .as_ref()
        .and_then(|t| t.rules.as_deref())
        .unwrap_or_default();
    let deprecated = s.rules.as_deref().unwrap_or_default();
    if target_rules.is_empty() && !deprecated.is_empty() {
        rules(deprecated, "spec.rules", &mut out);
    }
    repository_ref(
        s.repository.as_ref(),
        s.driver(),
        "spec.repository",
        &mut out,
    );
    duration(s.time_out.as_deref(), "spec.timeOut", &mut out);
    out
}

pub(super) fn restore_batch(rb: &RestoreBatch) -> Vec<Problem> {
    let mut out = Vec::new();
    let ns = rb.metadata.namespace.as_deref().unwrap_or_default();
    let s = &rb.spec;
    if s.members().is_empty() {
        out.push(Problem::at(
            "spec.members",
            "Required value: a RestoreBatch needs at least one member",
        ));
    }
    for (i, m) in s.members().iter().enumerate() {
        member(m, &format!("spec.members[{i}]"), ns, &mut out);
    }
    if let Some(h) = &s.hooks {
        hooks(h, "spec.hooks", &mut out);
    }
    repository_ref(
        s.repository.as_ref(),
        s.driver.unwrap_or_default(),
        "spec.repository",
        &mut out,
    );
    duration(s.time_out.as_deref(), "spec.timeOut", &mut out);
    out
}

fn member(m: &RestoreTargetSpec, base: &str, ns: &str, out: &mut Vec<Problem>) {
    if let Some(target) = &m.target {
        let r = target.target_ref();
        // A restore into volumeClaimTemplates has no ref.
        if target.r#ref.is_some() || target.volume_claim_templates.is_none() {
            target_ref(&r, &join(base, "target.ref"), out);
        }
        cross_namespace(
            &r,
            ns,
            m.task_name(),
            &join(base, "target.ref.namespace"),
            out,
        );
        rules(target.rules(), &join(base, "target.rules"), out);
    }
    if let Some(h) = &m.hooks {
        hooks(h, &join(base, "hooks"), out);
    }
}

fn hooks(h: &RestoreHooks, path: &str, out: &mut Vec<Problem>) {
    if let Some(pre) = &h.pre_restore {
        handler(pre, &join(path, "preRestore"), out);
    }
    if let Some(post) = &h.post_restore {
        post_hook(post, &join(path, "postRestore"), out);
    }
}

/// The three rule checks of Stash's `RestoreSession.IsValid`, reporting every violation.
pub(super) fn rules(rules: &[Rule], path: &str, out: &mut Vec<Problem>) {
    let catch_all: Vec<String> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.target_hosts().is_empty())
        .map(|(i, _)| format!("rule[{i}]"))
        .collect();
    if catch_all.len() > 1 {
        out.push(Problem::at(
            path,
            format!(
                "{} rules found with empty targetHosts (Rules: {}). There can be at most one rule with empty targetHosts",
                catch_all.len(),
                catch_all.join(", ")
            ),
        ));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        for (j, host) in rule.target_hosts().iter().enumerate() {
            match seen.get(host.as_str()) {
                Some(&first) => out.push(Problem::at(
                    format!("{path}[{i}].targetHosts[{j}]"),
                    format!(
                        "multiple rules (rule[{first}] and rule[{i}]) match for host {host:?}. There could be only one matching rule for a host"
                    ),
                )),
                None => {
                    seen.insert(host, i);
                }
            }
        }
    }
    for (i, rule) in rules.iter().enumerate() {
        if !rule.snapshots().is_empty() && !rule.paths().is_empty() {
            out.push(Problem::at(
                format!("{path}[{i}]"),
                "both 'snapshots' and 'paths' fields are specified. A snapshot contains backed up data of only one directory, so specify 'paths' or 'snapshots', not both",
            ));
        }
    }
}
