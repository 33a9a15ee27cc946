//! Secrets that take their values from the environment (local mode's manifests only).
//!
//! A manifests folder is often kept in git, and a Docker Compose stack keeps its credentials in
//! one `.env` file that both the database containers and stash read. A Secret annotated
//! [`EXPAND_ENV_ANNOTATION`]` = "true"` may therefore write `${NAME}` in its `stringData`
//! values; stash replaces it with its environment variable `NAME` when it reads the folder:
//! `stash run` ([`crate::store::ManifestDir`]'s twin in the controller) and the step processes
//! it starts, which inherit its environment and so read the same values. Without
//! the annotation nothing is replaced: a Stash manifest whose password happens to contain
//! `${` means what it says. In a cluster the annotation is meaningless: the API server holds
//! the values.
//!
//! `$$` writes one `$`. A variable that is not set (an empty one is set) is an error naming
//! the key and the variable, never the value; the Secret is then not served at all, rather
//! than served with a password that is wrong.

/// The opt-in annotation.
pub const EXPAND_ENV_ANNOTATION: &str = "local.stash.appscode.com/expand-env";

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// `${NAME}` names a variable that is not set.
    #[error("${{{0}}} is not set in stash's environment: set {0} (an empty value is allowed), or write $${{ for a literal ${{")]
    Unset(String),
    /// `${` without a closing `}` or with something other than a variable name inside.
    #[error("{0:?} is not ${{NAME}} with NAME made of letters, digits and _: fix it, or write $$ for a literal $")]
    Malformed(String),
}

/// A Secret value that could not be expanded: its key and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stringData.{key}: {error}")]
pub struct SecretExpandError {
    pub key: String,
    pub error: ExpandError,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `text` with every `${NAME}` replaced by `lookup(NAME)` and every `$$` by `$`; any other
/// `$` is kept as it is.
pub fn expand(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner
                .find('}')
                .filter(|&e| is_name(&inner[..e]))
                .ok_or_else(|| ExpandError::Malformed(rest[i..].chars().take(24).collect()))?;
            let name = &inner[..end];
            out.push_str(&lookup(name).ok_or_else(|| ExpandError::Unset(name.into()))?);
            rest = &inner[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands the `stringData` values of a Secret manifest that opted in.
pub fn expand_secret(
    secret: &mut serde_json::Value,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(), SecretExpandError> {
    let opted_in = secret
        .pointer(&format!(
            "/metadata/annotations/{}",
            EXPAND_ENV_ANNOTATION.replace('/', "~1")
        ))
        .and_then(serde_json::Value::as_str)
        == Some("true");
    if !opted_in {
        return Ok(());
    }
    let Some(data) = secret
        .get_mut("stringData")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return Ok(());
    };
    for (key, value) in data.iter_mut() {
        if let Some(text) = value.as_str() {
            let expanded = expand(text, &lookup).map_err(|error| SecretExpandError {
                key: key.clone(),
                error,
            })?;
            *value = serde_json::Value::String(expanded);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "PW" => Some("s3cr$t}".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn names_are_replaced_and_dollars_escaped() {
        assert_eq!(expand("${PW}", env).unwrap(), "s3cr$t}");
        assert_eq!(expand("a-${PW}-${EMPTY}-b", env).unwrap(), "a-s3cr$t}--b");
        assert_eq!(
            expand("$${PW} costs $5 $", env).unwrap(),
            "${PW} costs $5 $"
        );
        assert_eq!(expand("no dollars", env).unwrap(), "no dollars");
    }

    #[test]
    fn unset_and_malformed_are_errors_that_name_the_variable() {
        assert_eq!(
            expand("${NOPE}", env),
            Err(ExpandError::Unset("NOPE".into()))
        );
        let e = expand("x${NOPE}", env).unwrap_err().to_string();
        assert!(
            e.contains("${NOPE} is not set") && e.contains("set NOPE"),
            "{e}"
        );
        assert!(matches!(
            expand("${PW", env),
            Err(ExpandError::Malformed(_))
        ));
        assert!(matches!(
            expand("${1A}", env),
            Err(ExpandError::Malformed(_))
        ));
        assert!(matches!(expand("${}", env), Err(ExpandError::Malformed(_))));
    }

    #[test]
    fn only_annotated_secrets_and_only_string_data_change() {
        let mut plain = json!({"kind": "Secret", "stringData": {"password": "${PW}"}});
        expand_secret(&mut plain, env).unwrap();
        assert_eq!(plain["stringData"]["password"], "${PW}");

        let mut s = json!({
            "kind": "Secret",
            "metadata": {"annotations": {EXPAND_ENV_ANNOTATION: "true"}},
            "stringData": {"password": "${PW}", "username": "root"},
            "data": {"token": "JHtQV30="},
        });
        expand_secret(&mut s, env).unwrap();
        assert_eq!(s["stringData"]["password"], "s3cr$t}");
        assert_eq!(s["stringData"]["username"], "root");
        assert_eq!(s["data"]["token"], "JHtQV30=");

        let mut unset = json!({
            "metadata": {"annotations": {EXPAND_ENV_ANNOTATION: "true"}},
            "stringData": {"password": "${NOPE}"},
        });
        let e = expand_secret(&mut unset, env).unwrap_err().to_string();
        assert!(
            e.starts_with("stringData.password: ${NOPE} is not set"),
            "{e}"
        );
    }
}
