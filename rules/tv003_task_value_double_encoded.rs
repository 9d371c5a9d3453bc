use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity};
use crate::project::DocContext;
use crate::python::value::Value;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TV003",
    name: "task-value-double-encoded",
    severity: Severity::Warning,
    summary: "`taskValues.set(value=json.dumps(x))`: the value is encoded twice",
    doc: r#"## What it does
Finds task values set to the result of `json.dumps(...)` — directly or through a variable.

## Why is this bad?
`taskValues.set` already serializes the value to JSON. A `json.dumps` string is encoded a
second time: the task value is a JSON *string* holding JSON text, not a list or an object.
A For Each task whose `inputs` is `{{tasks.<t>.values.<key>}}` then gets a string instead of an
array, every consumer has to call `json.loads` again, and the escaping makes the payload larger
(each `"` becomes `\"`), closer to the 48 KiB limit.

## Example
```python
import json
tables = ["bronze.a", "bronze.b"]
dbutils.jobs.taskValues.set(key="tables", value=json.dumps(tables))
```

## Fix
Set the value itself: `dbutils.jobs.taskValues.set(key="tables", value=tables)`. The fix
(unsafe: consumers that call `json.loads` on the value must change too) removes the
`json.dumps(...)` call.
"#,
    fixable: true,
};

pub struct TaskValueDoubleEncoded;

/// `for_each_task.inputs` nodes in the project's bundles that iterate over the task value `key`
/// set by this notebook (`{{tasks.<t>.values.<key>}}` where task `t` runs the notebook).
fn for_each_consumers(
    ctx: &DocContext<'_>,
    key: Option<&str>,
) -> Vec<(crate::bundle::Loc, String)> {
    let mut out = Vec::new();
    let Some(key) = key else { return out };
    for b in &ctx.project.bundles {
        for job in &b.jobs {
            let producers: Vec<&str> = job
                .tasks
                .iter()
                .filter(|t| {
                    crate::project::xref::notebook_of(b, job, t).as_deref()
                        == Some(ctx.doc.path.as_path())
                })
                .filter_map(|t| t.key())
                .collect();
            if producers.is_empty() {
                continue;
            }
            for t in &job.tasks {
                let Some(fe) = &t.for_each_task else { continue };
                let Some(inputs) = &fe.inputs else { continue };
                let Some(text) = inputs.as_str() else {
                    continue;
                };
                let hit = crate::bundle::refs::parse_dynamic(text).iter().any(|r| {
                    matches!(r.target(), crate::bundle::refs::RefTarget::TaskValue { task, key: k }
                        if producers.contains(&task.name.as_str()) && k.name == key)
                });
                if hit {
                    out.push((inputs.loc.clone(), t.key().unwrap_or("?").to_string()));
                }
            }
        }
    }
    out
}

impl Rule for TaskValueDoubleEncoded {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(facts) = ctx.project.index.payload.task_values_of(ctx.doc) else {
            return;
        };
        for s in &facts.sets {
            let Some(value) = &s.value else { continue };
            let dumped = matches!(value, Value::Dumped { .. });
            if !s.value_is_dumps_call && !dumped {
                continue;
            }
            let range = s.value_range.unwrap_or(s.range);
            let key_text = s
                .key
                .as_deref()
                .map_or("a task value".to_string(), |k| format!("task value `{k}`"));
            let what = match value {
                Value::Dumped { inner, .. } => match &**inner {
                    Value::List(_) | Value::Tuple(_) => " a list",
                    Value::Dict(_) => " a dict",
                    _ => "",
                },
                _ => "",
            };
            let mut d = Diagnostic::new(
                &META,
                ctx.doc.path.clone(),
                range,
                if what.is_empty() {
                    format!("{key_text} is set to `json.dumps(...)`: taskValues.set encodes to JSON itself, so the value becomes a JSON string holding encoded JSON")
                } else {
                    format!("{key_text} is set to `json.dumps(...)` of{what}: taskValues.set encodes to JSON itself, so the value becomes a JSON string, not{what}")
                },
            )
            .help("set the value itself; consumers (For Each inputs, taskValues.get) then get the list or dict directly");
            for (loc, fe_key) in for_each_consumers(ctx, s.key.as_deref()) {
                d = d.related(
                    loc.file.clone(),
                    loc.range,
                    format!("For Each `{fe_key}` iterates over this value: it gets a JSON string, not an array"),
                );
            }
            if let Value::Dumped { range: r, .. } = value {
                if !s.value_is_dumps_call && *r != range {
                    d = d.related(ctx.doc.path.clone(), *r, "encoded with json.dumps here");
                }
            }
            if let (true, Some(inner)) = (s.value_is_dumps_call, s.dumps_inner) {
                d = d.fix(Fix {
                    title: "Set the value itself instead of `json.dumps(...)`".into(),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit {
                        path: (*ctx.doc.path).clone(),
                        range,
                        content: ctx.doc.text[inner].to_string(),
                    }],
                });
            }
            out.push(d);
        }
    }
}
