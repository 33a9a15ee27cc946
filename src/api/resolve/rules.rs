//! Which restore rule applies to a host (Stash's `RestoreOptionsForHost`): a rule listing the
//! host wins at once; a rule with no `targetHosts` is the fallback; `sourceHost` defaults to the
//! host itself. No match gives empty options (nothing restored for that host).

use crate::api::Rule;

/// What to restore for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    pub host: String,
    pub source_host: String,
    pub paths: Vec<String>,
    pub snapshots: Vec<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

pub fn restore_options_for_host(host: &str, rules: &[Rule]) -> RestoreOptions {
    let mut matched = RestoreOptions::default();
    for rule in rules {
        let catch_all = rule.target_hosts().is_empty();
        if !catch_all && !rule.target_hosts().iter().any(|h| h == host) {
            continue;
        }
        let source = rule
            .source_host
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(host);
        matched = RestoreOptions {
            host: host.to_string(),
            source_host: source.to_string(),
            paths: rule.paths().to_vec(),
            snapshots: rule.snapshots().to_vec(),
            include: rule.include.clone().unwrap_or_default(),
            exclude: rule.exclude.clone().unwrap_or_default(),
        };
        if !catch_all {
            return matched;
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(hosts: &[&str], source: &str, paths: &[&str]) -> Rule {
        Rule {
            target_hosts: Some(hosts.iter().map(|s| s.to_string()).collect()),
            source_host: Some(source.to_string()),
            paths: Some(paths.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn specific_rule_beats_catch_all_in_any_order() {
        let rules = [
            rule(&[], "", &["/all"]),
            rule(&["host-1"], "host-0", &["/one"]),
        ];
        let o = restore_options_for_host("host-1", &rules);
        assert_eq!(
            (o.source_host.as_str(), o.paths),
            ("host-0", vec!["/one".to_string()])
        );
        let o = restore_options_for_host("host-2", &rules);
        assert_eq!(
            (o.source_host.as_str(), o.paths),
            ("host-2", vec!["/all".to_string()])
        );
    }

    #[test]
    fn no_match_restores_nothing() {
        let o = restore_options_for_host("host-9", &[rule(&["host-1"], "", &["/x"])]);
        assert_eq!(o, RestoreOptions::default());
    }
}
