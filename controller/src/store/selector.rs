//! Label selectors for `list`: the API's `LabelSelector` (matched by
//! [`stash::api::selector::matches`]), built from a label map or from kubectl's `-l` syntax.
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector(pub LabelSelector);

impl Selector {
    /// Matches every object.
    pub fn all() -> Selector {
        Selector::default()
    }

    /// Objects carrying every one of these labels.
    pub fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Selector {
        let m: BTreeMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Selector(LabelSelector {
            match_labels: Some(m),
            ..Default::default()
        })
    }

    /// kubectl's `-l` syntax: `a=b,c!=d,e,!f` (`==` too). An empty string selects everything.
    pub fn parse(s: &str) -> Result<Selector, String> {
        let mut labels = BTreeMap::new();
        let mut exprs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let req = |key: &str, op: &str, values: Option<Vec<String>>| LabelSelectorRequirement {
                key: key.trim().to_string(),
                operator: op.to_string(),
                values,
            };
            if let Some((k, v)) = part.split_once("!=") {
                exprs.push(req(k, "NotIn", Some(vec![v.trim().to_string()])));
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                labels.insert(k.trim().to_string(), v.trim().to_string());
            } else if let Some(k) = part.strip_prefix('!') {
                exprs.push(req(k, "DoesNotExist", None));
            } else {
                exprs.push(req(part, "Exists", None));
            }
        }
        if labels
            .keys()
            .chain(exprs.iter().map(|e| &e.key))
            .any(|k| k.is_empty())
        {
            return Err(format!(
                "invalid label selector {s:?}: every term needs a key (a=b, a!=b, a or !a)"
            ));
        }
        Ok(Selector(LabelSelector {
            match_labels: (!labels.is_empty()).then_some(labels),
            match_expressions: (!exprs.is_empty()).then_some(exprs),
        }))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        stash::api::selector::matches(&self.0, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kubectl_syntax() {
        let s = Selector::parse("repository=r, hostname==host-0").unwrap();
        assert!(s.matches(&l(&[
            ("repository", "r"),
            ("hostname", "host-0"),
            ("x", "y")
        ])));
        assert!(!s.matches(&l(&[("repository", "r"), ("hostname", "host-1")])));
        let s = Selector::parse("app!=db,tier,!legacy").unwrap();
        assert!(s.matches(&l(&[("tier", "1")])));
        assert!(!s.matches(&l(&[("tier", "1"), ("app", "db")])));
        assert!(!s.matches(&l(&[("tier", "1"), ("legacy", "")])));
        assert!(!s.matches(&l(&[])));
        assert!(Selector::parse("").unwrap().matches(&l(&[])));
        assert!(Selector::parse("=x").unwrap_err().contains("needs a key"));
    }
}
