//! Go-template rendering of hook strings (exec command words, the httpPost body) against a
//! [`super::Summary`], as Stash renders them with `text/template`.
//!
//! Why not a Go-template engine: the one Rust port (`gtmpl`) is marked passively maintained,
//! has had no release since 2021 and would bring a second `thiserror` major and `lazy_static`
//! into the binary, while a hook only ever needs the summary's fields. So this is a small
//! renderer of exactly what hooks use: field paths (`{{ .Status.Phase }}`), Go's trim markers
//! (`{{-`, `-}}`), comments (`{{/* … */}}`) and string literals (`{{ "{{" }}`). Anything else —
//! `if`, `range`, pipelines, functions (Stash also loads sprig's) — is an error that names the
//! action, so a hook never runs with a half-rendered command. An unknown field is an error
//! naming it and the fields that exist, as Go's "can't evaluate field" is.
//!
//! As Stash does, only strings containing `{{` are rendered, and a rendered string is trimmed
//! of surrounding whitespace ([`render_if_template`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed action {0:?}: no }}}} after it")]
    Unclosed(String),
    #[error("unknown field {field:?} in {{{{ {path} }}}}: {has}")]
    UnknownField {
        field: String,
        path: String,
        has: String,
    },
    #[error("{{{{ {path} }}}} is a struct: name one of its fields ({has})")]
    NotAValue { path: String, has: String },
    #[error("unsupported action {{{{ {0} }}}}: hook templates take field paths such as {{{{ .Status.Phase }}}}, comments and string literals")]
    Unsupported(String),
    #[error("bad string literal {0}")]
    BadLiteral(String),
}

/// Something whose fields a template can name: Go's field names, a path of them.
pub trait Fields {
    /// The value at `path` (e.g. `["Status", "Phase"]`), printed as Go prints it.
    fn field(&self, path: &[&str]) -> Result<String, TemplateError>;
}

/// Renders `text` against `data`.
pub fn render(text: &str, data: &dyn Fields) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut before = &rest[..open];
        if trim_next {
            before = before.trim_start();
        }
        out.push_str(before);
        let after_open = &rest[open + 2..];
        let close = after_open.find("}}").ok_or_else(|| {
            TemplateError::Unclosed(format!(
                "{{{{{}",
                after_open.chars().take(30).collect::<String>()
            ))
        })?;
        let mut action = &after_open[..close];
        // Go's trim markers need a space beside them: `{{- x -}}`; `{{-3}}` is the number -3.
        if let Some(a) = action
            .strip_prefix("- ")
            .or_else(|| action.strip_prefix("-\t"))
            .or_else(|| action.strip_prefix("-\n"))
        {
            let kept = out.trim_end().len();
            out.truncate(kept);
            action = a;
        }
        trim_next = false;
        if let Some(a) = action
            .strip_suffix(" -")
            .or_else(|| action.strip_suffix("\t-"))
            .or_else(|| action.strip_suffix("\n-"))
        {
            trim_next = true;
            action = a;
        }
        out.push_str(&evaluate(action.trim(), data)?);
        rest = &after_open[close + 2..];
    }
    if trim_next {
        rest = rest.trim_start();
    }
    out.push_str(rest);
    Ok(out)
}

/// Stash's rule: a string with `{{` is rendered and trimmed; any other is left as it is.
pub fn render_if_template(text: &str, data: &dyn Fields) -> Result<String, TemplateError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    Ok(render(text, data)?.trim().to_string())
}

fn evaluate(action: &str, data: &dyn Fields) -> Result<String, TemplateError> {
    if action.starts_with("/*") && action.ends_with("*/") && action.len() >= 4 {
        return Ok(String::new());
    }
    if action.starts_with('"') {
        return serde_json::from_str::<String>(action)
            .map_err(|_| TemplateError::BadLiteral(action.to_string()));
    }
    if let Some(raw) = action
        .strip_prefix('`')
        .and_then(|a| a.strip_suffix('`'))
        .filter(|a| !a.contains('`'))
    {
        return Ok(raw.to_string());
    }
    let Some(path) = action.strip_prefix('.') else {
        return Err(TemplateError::Unsupported(action.to_string()));
    };
    let segments: Vec<&str> = path.split('.').collect();
    let ident = |s: &str| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    };
    if !segments.iter().all(|s| ident(s)) {
        return Err(TemplateError::Unsupported(action.to_string()));
    }
    data.field(&segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Map;
    impl Fields for Map {
        fn field(&self, path: &[&str]) -> Result<String, TemplateError> {
            match path {
                ["A"] => Ok("a".into()),
                ["B", "C"] => Ok("c".into()),
                ["B"] => Err(TemplateError::NotAValue {
                    path: ".B".into(),
                    has: "C".into(),
                }),
                [f, ..] => Err(TemplateError::UnknownField {
                    field: f.to_string(),
                    path: format!(".{}", path.join(".")),
                    has: "a Map has A, B".into(),
                }),
                [] => unreachable!(),
            }
        }
    }

    #[test]
    fn renders_the_supported_actions() {
        let cases = [
            ("plain", "plain"),
            ("{{.A}}", "a"),
            ("x {{ .A }} y {{ .B.C }}", "x a y c"),
            ("x  {{- .A -}}  y", "xay"),
            ("x {{/* note */}}y", "x y"),
            (r#"{{ "{{" }}"#, "{{"),
            ("{{ `raw \"q\"` }}", "raw \"q\""),
            ("{\"phase\": \"{{ .A }}\"}", "{\"phase\": \"a\"}"),
        ];
        for (t, want) in cases {
            assert_eq!(render(t, &Map).unwrap(), want, "{t}");
        }
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let err = |t: &str| render(t, &Map).unwrap_err().to_string();
        assert_eq!(
            err("{{ .Nope }}"),
            "unknown field \"Nope\" in {{ .Nope }}: a Map has A, B"
        );
        assert!(
            err("{{ .B }}").contains("is a struct"),
            "{}",
            err("{{ .B }}")
        );
        assert!(err("{{ if .A }}x{{ end }}").starts_with("unsupported action {{ if .A }}"));
        assert!(err("{{ .A | upper }}").starts_with("unsupported action"));
        assert!(err("{{ . }}").starts_with("unsupported action"));
        assert!(err("x {{ .A").starts_with("unclosed action"));
    }

    #[test]
    fn only_templates_are_rendered_and_trimmed() {
        assert_eq!(render_if_template("  keep  ", &Map).unwrap(), "  keep  ");
        assert_eq!(render_if_template("  {{ .A }}\n", &Map).unwrap(), "a");
    }
}
