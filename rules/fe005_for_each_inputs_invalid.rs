use crate::bundle::refs::{self, RefTarget};
use crate::bundle::Value;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::{diag, diag_in};
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "FE005",
    name: "for-each-inputs-invalid",
    severity: Severity::Error,
    summary: "For Each inputs that are not a JSON array string or a valid `{{ }}` reference",
    doc: r#"## What it does
Checks `for_each_task.inputs`, which must be a *string*: a JSON array, or a dynamic value
reference such as `"{{tasks.list.values.items}}"` or `"{{job.parameters.items}}"`. It reports:
- missing inputs;
- inputs written as a YAML list (`inputs: [a, b]`) or mapping instead of a string;
- strings that are not valid JSON or not a JSON array;
- malformed references, unknown namespaces or fields, `{{tasks.x...}}` where `x` is not a task of
  the job, and `{{input}}` (only defined inside the nested task).

## Why is this bad?
A YAML list fails schema validation and the Jobs API; a malformed reference is passed through as
literal text, so the For Each fails at run time trying to parse `{{task.list.values.items}}` as
JSON.

## Example
```yaml
for_each_task:
  inputs: [orders, customers]
```

## Fix
Quote a JSON array: `inputs: '["orders", "customers"]'`, or reference a task value:
`inputs: "{{tasks.list_tables.values.tables}}"`.
"#,
    fixable: false,
};

pub struct ForEachInputsInvalid;

impl Rule for ForEachInputsInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for job in &b.jobs {
            let keys: Vec<&str> = job.all_tasks().iter().filter_map(|t| t.key()).collect();
            for task in job.all_tasks() {
                let Some(fe) = &task.for_each_task else {
                    continue;
                };
                let route = format!("{}.inputs", fe.route);
                let Some(inputs) = &fe.inputs else {
                    out.push(
                        diag(
                            &META,
                            &fe.key_loc,
                            &fe.route,
                            format!("For Each task `{}` has no `inputs`", task.key().unwrap_or("?")),
                        )
                        .help("add `inputs`: a JSON array string or a `{{tasks.<task>.values.<key>}}` reference"),
                    );
                    continue;
                };
                let s = match &inputs.value {
                    Value::Str(s) => s,
                    Value::Seq(_) | Value::Map(_) => {
                        let json = serde_json::to_string(&inputs.to_json()).unwrap_or_default();
                        let kind = if matches!(inputs.value, Value::Seq(_)) {
                            "a YAML list"
                        } else {
                            "a YAML mapping"
                        };
                        let mut d = diag(
                            &META,
                            &inputs.loc,
                            &route,
                            format!("For Each inputs are {kind}; they must be a string holding a JSON array"),
                        );
                        if matches!(inputs.value, Value::Seq(_)) && json.len() < 200 {
                            d = d.help(format!("quote the JSON: `inputs: '{json}'`"));
                        } else {
                            d = d.help("quote a JSON array: `inputs: '[\"a\", \"b\"]'`");
                        }
                        out.push(d);
                        continue;
                    }
                    _ => {
                        out.push(diag(
                            &META,
                            &inputs.loc,
                            &route,
                            format!(
                                "For Each inputs must be a string holding a JSON array, found a {}",
                                inputs.type_name()
                            ),
                        ));
                        continue;
                    }
                };
                if s.contains("${") {
                    continue;
                }
                let dyn_refs = refs::parse_dynamic(s);
                if dyn_refs.is_empty() {
                    match serde_json::from_str::<serde_json::Value>(s) {
                        Ok(serde_json::Value::Array(_)) => {}
                        Ok(other) => out.push(diag(
                            &META,
                            &inputs.loc,
                            &route,
                            format!(
                                "For Each inputs must be a JSON array, found a JSON {}",
                                match other {
                                    serde_json::Value::Object(_) => "object",
                                    serde_json::Value::String(_) => "string",
                                    serde_json::Value::Number(_) => "number",
                                    serde_json::Value::Bool(_) => "boolean",
                                    _ => "null",
                                }
                            ),
                        )),
                        Err(e) => out.push(
                            diag(
                                &META,
                                &inputs.loc,
                                &route,
                                format!("For Each inputs are not valid JSON: {e}"),
                            )
                            .help(
                                "write a JSON array with double-quoted strings: `'[\"a\", \"b\"]'`",
                            ),
                        ),
                    }
                    continue;
                }
                for r in dyn_refs {
                    if let Some(e) = &r.syntax_error {
                        out.push(diag_in(
                            &META,
                            b,
                            inputs,
                            r.range.clone(),
                            &route,
                            format!("malformed reference in For Each inputs: {e}"),
                        ));
                        continue;
                    }
                    if let Some(p) = refs::check_dynamic(&r) {
                        let seg = r
                            .segments
                            .get(p.segment)
                            .map(|s| s.range.clone())
                            .unwrap_or(r.range.clone());
                        out.push(diag_in(&META, b, inputs, seg, &route, p.message));
                        continue;
                    }
                    match r.target() {
                        RefTarget::Input(_) => out.push(diag_in(
                            &META,
                            b,
                            inputs,
                            r.range.clone(),
                            &route,
                            "`{{input}}` is only defined inside the nested task, not in `inputs`",
                        )),
                        RefTarget::TaskValue { task: t, .. } | RefTarget::TaskField { task: t }
                            if !keys.contains(&t.name.as_str()) =>
                        {
                            let mut d = diag_in(
                                &META,
                                b,
                                inputs,
                                t.range.clone(),
                                &route,
                                format!("For Each inputs refer to task `{}`, which is not a task of job `{}`", t.name, job.key),
                            );
                            if let Some(x) = refs::suggest(&t.name, &keys) {
                                d = d.help(format!("did you mean `{x}`?"));
                            }
                            out.push(d);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
