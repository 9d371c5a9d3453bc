//! Substitution of `{{ }}` dynamic value references and `${ }` interpolations inside parameter
//! strings, for one For Each iteration.
//!
//! Only the references whose value is known before a run are replaced: `{{input}}`,
//! `{{input.<field>...}}`, `{{job.parameters.<name>}}` (the parameter's default) and `${var.x}`.
//! Everything else (`{{job.run_id}}`, `{{tasks.t.values.k}}`, ...) is a runtime value and is kept
//! as written.

use indexmap::IndexMap;
use serde_json::Value;

use super::model::json_text;

/// One `{{ ... }}` occurrence in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynRef {
    /// Byte range of the whole `{{ ... }}` in the string.
    pub start: usize,
    pub end: usize,
    /// Path segments (`input`, `field`), backticks removed.
    pub path: Vec<String>,
}

/// Find the `{{ ... }}` references in `s`. Malformed ones (no closing braces, empty, bad
/// backticks) are not references: Databricks passes them through as literal text.
pub fn scan(s: &str) -> Vec<DynRef> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(rel) = s[i..].find("{{") {
        let start = i + rel;
        let Some(close_rel) = s[start + 2..].find("}}") else {
            break;
        };
        let inner = &s[start + 2..start + 2 + close_rel];
        let end = start + 2 + close_rel + 2;
        if let Some(path) = split_path(inner.trim()) {
            out.push(DynRef { start, end, path });
        }
        i = end;
    }
    out
}

/// Split `a.b.`c-d`` into segments; `None` when malformed.
pub fn split_path(inner: &str) -> Option<Vec<String>> {
    if inner.is_empty() {
        return None;
    }
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut chars = inner.chars().peekable();
    let mut quoted_seg = false;
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                if !cur.is_empty() {
                    return None;
                }
                for q in chars.by_ref() {
                    if q == '`' {
                        quoted_seg = true;
                        break;
                    }
                    cur.push(q);
                }
                if !quoted_seg {
                    return None;
                }
            }
            '.' => {
                if cur.is_empty() {
                    return None;
                }
                segs.push(std::mem::take(&mut cur));
                quoted_seg = false;
            }
            c if quoted_seg => {
                let _ = c;
                return None;
            }
            c if c.is_alphanumeric() || c == '_' || c == '-' => cur.push(c),
            _ => return None,
        }
    }
    if cur.is_empty() {
        return None;
    }
    segs.push(cur);
    Some(segs)
}

/// What a reference in a parameter resolved to, for reporting.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// `{{input...}}` resolved to a JSON value from the element.
    Input { path: String, value: Value },
    /// `{{input.<field>}}` where the element has no such field (or is not an object).
    MissingField { path: String, field: String },
    /// `{{input}}` used outside a For Each or with unknown inputs.
    InputUnknown { path: String },
    /// `{{job.parameters.x}}` with no such job parameter.
    UnknownJobParameter { name: String },
    /// A reference only known at run time, kept as written.
    Runtime { text: String },
}

/// Context for substitution.
pub struct Scope<'a> {
    /// The current For Each element, when known.
    pub input: Option<&'a Value>,
    /// Job parameters with their defaults.
    pub job_parameters: &'a IndexMap<String, String>,
    /// Bundle variables (for `${var.x}` left over).
    pub variables: &'a IndexMap<String, String>,
}

/// Substitute the known references in `s`. Returns the new text and what each reference became.
pub fn substitute(s: &str, scope: &Scope<'_>) -> (String, Vec<Resolution>) {
    let s = substitute_vars(s, scope.variables);
    let mut out = String::with_capacity(s.len());
    let mut res = Vec::new();
    let mut last = 0;
    for r in scan(&s) {
        out.push_str(&s[last..r.start]);
        last = r.end;
        let text = &s[r.start..r.end];
        let head = r.path[0].as_str();
        match head {
            "input" => {
                let path = r.path.join(".");
                match scope.input {
                    None => {
                        res.push(Resolution::InputUnknown { path });
                        out.push_str(text);
                    }
                    Some(el) => match lookup(el, &r.path[1..]) {
                        Ok(v) => {
                            out.push_str(&json_text(v));
                            res.push(Resolution::Input {
                                path,
                                value: v.clone(),
                            });
                        }
                        Err(field) => {
                            res.push(Resolution::MissingField { path, field });
                            out.push_str(text);
                        }
                    },
                }
            }
            "job" if r.path.len() == 3 && r.path[1] == "parameters" => {
                match scope.job_parameters.get(&r.path[2]) {
                    Some(v) => out.push_str(v),
                    None => {
                        res.push(Resolution::UnknownJobParameter {
                            name: r.path[2].clone(),
                        });
                        out.push_str(text);
                    }
                }
            }
            _ => {
                res.push(Resolution::Runtime {
                    text: text.to_string(),
                });
                out.push_str(text);
            }
        }
    }
    out.push_str(&s[last..]);
    (out, res)
}

/// Follow `fields` into `v`; on failure return the field that is missing.
fn lookup<'v>(v: &'v Value, fields: &[String]) -> Result<&'v Value, String> {
    let mut cur = v;
    for f in fields {
        match cur {
            Value::Object(m) => match m.get(f) {
                Some(next) => cur = next,
                None => return Err(f.clone()),
            },
            _ => return Err(f.clone()),
        }
    }
    Ok(cur)
}

/// Replace `${var.x}` (and `${variables.x.value}`) with known variable values.
pub fn substitute_vars(s: &str, vars: &IndexMap<String, String>) -> String {
    if !s.contains("${") || vars.is_empty() {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(rel) = s[i..].find("${") {
        let start = i + rel;
        let Some(close_rel) = s[start + 2..].find('}') else {
            break;
        };
        let inner = &s[start + 2..start + 2 + close_rel];
        let end = start + 2 + close_rel + 1;
        out.push_str(&s[i..start]);
        let name = inner.strip_prefix("var.").or_else(|| {
            inner
                .strip_prefix("variables.")
                .and_then(|r| r.strip_suffix(".value"))
        });
        match name.and_then(|n| vars.get(n)) {
            Some(v) => out.push_str(v),
            None => out.push_str(&s[start..end]),
        }
        i = end;
    }
    out.push_str(&s[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope<'a>(
        input: Option<&'a Value>,
        params: &'a IndexMap<String, String>,
        vars: &'a IndexMap<String, String>,
    ) -> Scope<'a> {
        Scope {
            input,
            job_parameters: params,
            variables: vars,
        }
    }

    #[test]
    fn scan_finds_references_and_skips_malformed() {
        let r = scan("a {{input}} b {{ input.x }} {{job.parameters.`p-1`}} {{bad ref}} {{");
        let paths: Vec<_> = r.iter().map(|r| r.path.join(".")).collect();
        assert_eq!(paths, ["input", "input.x", "job.parameters.p-1"]);
        assert!(scan("{{}}").is_empty());
        assert!(scan("{{a..b}}").is_empty());
    }

    #[test]
    fn substitutes_input_fields_params_and_vars() {
        let el = json!({"table": "orders", "n": 5, "nested": {"d": "2024"}});
        let mut params = IndexMap::new();
        params.insert("env".to_string(), "dev".to_string());
        let mut vars = IndexMap::new();
        vars.insert("catalog".to_string(), "main".to_string());
        let sc = scope(Some(&el), &params, &vars);
        let (s, res) = substitute(
            "${var.catalog}.{{job.parameters.env}}_{{input.table}}/{{input.nested.d}}/{{input.n}}",
            &sc,
        );
        assert_eq!(s, "main.dev_orders/2024/5");
        assert_eq!(res.len(), 3);
        assert!(matches!(&res[2], Resolution::Input { value, .. } if value == &json!(5)));
        let (s, _) = substitute("{{input}}", &sc);
        assert_eq!(s, r#"{"table":"orders","n":5,"nested":{"d":"2024"}}"#);
    }

    #[test]
    fn missing_fields_and_runtime_refs_are_kept() {
        let el = json!("plain");
        let params = IndexMap::new();
        let vars = IndexMap::new();
        let sc = scope(Some(&el), &params, &vars);
        let (s, res) = substitute("{{input.x}}-{{job.run_id}}-{{job.parameters.nope}}", &sc);
        assert_eq!(s, "{{input.x}}-{{job.run_id}}-{{job.parameters.nope}}");
        assert_eq!(
            res,
            vec![
                Resolution::MissingField {
                    path: "input.x".into(),
                    field: "x".into()
                },
                Resolution::Runtime {
                    text: "{{job.run_id}}".into()
                },
                Resolution::UnknownJobParameter {
                    name: "nope".into()
                },
            ]
        );
        let sc = scope(None, &params, &vars);
        let (_, res) = substitute("{{input}}", &sc);
        assert!(matches!(res[0], Resolution::InputUnknown { .. }));
    }

    #[test]
    fn unknown_variables_stay() {
        let vars = IndexMap::new();
        assert_eq!(
            substitute_vars("${var.x}-${bundle.target}", &vars),
            "${var.x}-${bundle.target}"
        );
    }
}
