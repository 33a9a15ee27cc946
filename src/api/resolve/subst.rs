//! `${VAR}` placeholders, as Stash's envsubst evaluates them, but applied to one string value at
//! a time: callers walk a parsed object and substitute each string, so a value with quotes,
//! backslashes or newlines lands in the object verbatim instead of breaking the JSON text that
//! Stash substitutes into.
//!
//! Forms: `${VAR}`; `${VAR:=default}` and `${VAR:-default}` (default when unset or empty);
//! `${VAR=default}` and `${VAR-default}` (default when unset). Defaults may themselves hold
//! placeholders. An unset variable without default becomes empty, as in envsubst. Deliberate
//! difference: a bare `$VAR` (no braces) is left alone, so shell text in args survives.

use std::collections::BTreeMap;

/// Errors in placeholder syntax.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstError {
    #[error("unterminated placeholder at byte {at} of {text:?}")]
    Unterminated { at: usize, text: String },
    #[error("invalid variable name {name:?} in {text:?}")]
    BadName { name: String, text: String },
}

/// One piece of a template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Literal(String),
    Var {
        name: String,
        default: Option<Default>,
    },
}

/// A default value and whether it also applies when the variable is set but empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Default {
    pub if_empty: bool,
    pub value: Vec<Segment>,
}

/// Parses a template string into segments.
pub fn parse(text: &str) -> Result<Vec<Segment>, SubstError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            let end = matching_brace(text, i + 2).ok_or_else(|| SubstError::Unterminated {
                at: i,
                text: text.to_string(),
            })?;
            if !lit.is_empty() {
                out.push(Segment::Literal(std::mem::take(&mut lit)));
            }
            out.push(placeholder(&text[i + 2..end], text)?);
            i = end + 1;
        } else {
            let ch = text[i..].chars().next().unwrap_or_default();
            lit.push(ch);
            i += ch.len_utf8();
        }
    }
    if !lit.is_empty() {
        out.push(Segment::Literal(lit));
    }
    Ok(out)
}

/// Index of the `}` closing a placeholder whose body starts at `start`, honouring nesting.
fn matching_brace(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn placeholder(body: &str, text: &str) -> Result<Segment, SubstError> {
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, rest) = body.split_at(name_len);
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let bad = || SubstError::BadName {
        name: body.to_string(),
        text: text.to_string(),
    };
    if !valid {
        return Err(bad());
    }
    let default = if rest.is_empty() {
        None
    } else if let Some(v) = rest.strip_prefix(":=").or_else(|| rest.strip_prefix(":-")) {
        Some(Default {
            if_empty: true,
            value: parse(v)?,
        })
    } else if let Some(v) = rest.strip_prefix('=').or_else(|| rest.strip_prefix('-')) {
        Some(Default {
            if_empty: false,
            value: parse(v)?,
        })
    } else {
        return Err(bad());
    };
    Ok(Segment::Var {
        name: name.to_string(),
        default,
    })
}

/// Substitutes `vars` into `text`.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, SubstError> {
    if !text.contains("${") {
        return Ok(text.to_string());
    }
    Ok(render(&parse(text)?, vars))
}

fn render(segments: &[Segment], vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Literal(l) => out.push_str(l),
            Segment::Var { name, default } => match (vars.get(name), default) {
                (Some(v), Some(d)) if v.is_empty() && d.if_empty => {
                    out.push_str(&render(&d.value, vars))
                }
                (Some(v), _) => out.push_str(v),
                (None, Some(d)) => out.push_str(&render(&d.value, vars)),
                (None, None) => {}
            },
        }
    }
    out
}

/// Names of the variables `text` refers to, with whether each has a default.
pub fn references(text: &str) -> Result<Vec<(String, bool)>, SubstError> {
    fn walk(segs: &[Segment], out: &mut Vec<(String, bool)>) {
        for s in segs {
            if let Segment::Var { name, default } = s {
                out.push((name.clone(), default.is_some()));
                if let Some(d) = default {
                    walk(&d.value, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&parse(text)?, &mut out);
    Ok(out)
}

/// Substitutes into every string (not keys) of a JSON tree, in place.
pub fn substitute_value(
    v: &mut serde_json::Value,
    vars: &BTreeMap<String, String>,
) -> Result<(), SubstError> {
    match v {
        serde_json::Value::String(s) => *s = substitute(s, vars)?,
        serde_json::Value::Array(items) => {
            for item in items {
                substitute_value(item, vars)?;
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values_mut() {
                substitute_value(item, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms() {
        let v = vars(&[("A", "a"), ("E", "")]);
        assert_eq!(substitute("x${A}y", &v).unwrap(), "xay");
        assert_eq!(substitute("${MISSING}", &v).unwrap(), "");
        assert_eq!(substitute("${MISSING:=d}", &v).unwrap(), "d");
        assert_eq!(substitute("${E:=d}", &v).unwrap(), "d");
        assert_eq!(substitute("${E:-d}", &v).unwrap(), "d");
        assert_eq!(substitute("${E=d}", &v).unwrap(), "");
        assert_eq!(substitute("${MISSING-d}", &v).unwrap(), "d");
        assert_eq!(substitute("${A:=d}", &v).unwrap(), "a");
        assert_eq!(
            substitute("${MISSING:=--all-databases --x=1}", &v).unwrap(),
            "--all-databases --x=1"
        );
        assert_eq!(substitute("${MISSING:=}", &v).unwrap(), "");
        assert_eq!(substitute("${X:=${A}-b}", &v).unwrap(), "a-b");
        assert_eq!(substitute("$A and $$ stay", &v).unwrap(), "$A and $$ stay");
        assert_eq!(substitute("ünï ${A} ✓", &v).unwrap(), "ünï a ✓");
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            parse("--x=${A").unwrap_err(),
            SubstError::Unterminated {
                at: 4,
                text: "--x=${A".into()
            }
        );
        assert_eq!(
            parse("${1A}").unwrap_err().to_string(),
            r#"invalid variable name "1A" in "${1A}""#
        );
        assert_eq!(
            parse("${A?x}").unwrap_err().to_string(),
            r#"invalid variable name "A?x" in "${A?x}""#
        );
    }

    #[test]
    fn values_with_quotes_and_newlines_stay_intact() {
        let v = vars(&[("args", "--where=\"a = 'b'\"\nline2 \\ end}")]);
        let mut tree = serde_json::json!({"args": ["--x=${args}", {"y": "${args:=z}"}], "n": 3});
        substitute_value(&mut tree, &v).unwrap();
        assert_eq!(tree["args"][0], "--x=--where=\"a = 'b'\"\nline2 \\ end}");
        assert_eq!(tree["args"][1]["y"], "--where=\"a = 'b'\"\nline2 \\ end}");
        assert_eq!(tree["n"], 3);
    }

    #[test]
    fn references_list_nested_names() {
        assert_eq!(
            references("${A:=${B}} ${C}").unwrap(),
            vec![("A".into(), true), ("B".into(), false), ("C".into(), false)]
        );
    }
}
