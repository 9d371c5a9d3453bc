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
use crate::bundle::refs as bundle_refs;

/// Upstream task values that parameters read, by (task, key): the value when known.
pub type TaskValues = IndexMap<(String, String), Option<Value>>;

/// One well-formed `{{ ... }}` occurrence in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynRef {
    /// Byte range of the whole `{{ ... }}` in the string.
    pub start: usize,
    pub end: usize,
    /// Path segments (`input`, `field`), backticks removed.
    pub path: Vec<String>,
}

/// The well-formed `{{ ... }}` references in `s`, found by the bundle's scanner
/// ([`crate::bundle::refs::parse_dynamic`]). Malformed ones (no closing braces, empty, bad
/// backticks) are not references: Databricks passes them through as literal text.
pub fn scan(s: &str) -> Vec<DynRef> {
    if !bundle_refs::has_dynamic(s) {
        return Vec::new();
    }
    bundle_refs::parse_dynamic(s)
        .into_iter()
        .filter(|r| r.syntax_error.is_none())
        .map(|r| DynRef {
            start: r.range.start,
            end: r.range.end,
            path: r.segments.into_iter().map(|x| x.name).collect(),
        })
        .collect()
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
    /// `{{tasks.<t>.values.<k>}}` filled with a known value.
    TaskValue { task: String, key: String },
    /// `{{tasks.<t>.values.<k>}}` whose value is not known before the run.
    TaskValueUnknown { task: String, key: String },
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
    /// Upstream task values, where known.
    pub task_values: &'a TaskValues,
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
            "tasks" if r.path.len() == 4 && r.path[2] == "values" => {
                let (task, key) = (r.path[1].clone(), r.path[3].clone());
                match scope.task_values.get(&(task.clone(), key.clone())) {
                    Some(Some(v)) => {
                        out.push_str(&json_text(v));
                        res.push(Resolution::TaskValue { task, key });
                    }
                    _ => {
                        out.push_str(text);
                        res.push(Resolution::TaskValueUnknown { task, key });
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

/// Replace `${var.x}` (and `${variables.x.value}`) with known variable values (the bundle's
/// interpolation scanner, [`crate::bundle::refs::parse_interpolations`], finds them).
pub fn substitute_vars(s: &str, vars: &IndexMap<String, String>) -> String {
    if vars.is_empty() || !bundle_refs::has_interpolation(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for i in bundle_refs::parse_interpolations(s) {
        let value = match (i.syntax_error.is_none(), i.variable()) {
            (true, Some(name)) if i.segments.len() == 2 || is_value_of(&i.segments) => {
                vars.get(name)
            }
            _ => None,
        };
        if let Some(v) = value {
            out.push_str(&s[last..i.range.start]);
            out.push_str(v);
            last = i.range.end;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// `${variables.x.value}`.
fn is_value_of(segments: &[String]) -> bool {
    segments.len() == 3 && segments[0] == "variables" && segments[2] == "value"
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
            task_values: Box::leak(Box::default()),
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
