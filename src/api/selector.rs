//! Label selector matching as apimachinery's `LabelSelectorAsSelector(...).Matches(...)`:
//! an empty selector matches everything, an unknown operator matches nothing.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `labels` satisfy `selector` (matchLabels and every matchExpression).
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expr = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let got = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => got.is_some_and(|g| values.contains(g)),
            "NotIn" => got.is_none_or(|g| !values.contains(g)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            _ => false,
        }
    });
    by_label && by_expr
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(matches(&LabelSelector::default(), &labels(&[])));
    }

    #[test]
    fn labels_and_expressions_are_anded() {
        let sel = LabelSelector {
            match_labels: Some(labels(&[("team", "db")])),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: "In".into(),
                values: Some(vec!["prod".into(), "stage".into()]),
            }]),
        };
        assert!(matches(&sel, &labels(&[("team", "db"), ("env", "prod")])));
        assert!(!matches(&sel, &labels(&[("team", "db"), ("env", "dev")])));
        assert!(!matches(&sel, &labels(&[("env", "prod")])));
    }

    #[test]
    fn not_in_and_existence() {
        let req = |op: &str| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: op.into(),
                values: Some(vec!["dev".into()]),
            }]),
            ..Default::default()
        };
        assert!(matches(&req("NotIn"), &labels(&[])));
        assert!(!matches(&req("NotIn"), &labels(&[("env", "dev")])));
        assert!(matches(&req("Exists"), &labels(&[("env", "x")])));
        assert!(matches(&req("DoesNotExist"), &labels(&[])));
        assert!(!matches(&req("Bogus"), &labels(&[("env", "dev")])));
    }
}
