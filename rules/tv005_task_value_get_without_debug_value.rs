use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TV005",
    name: "task-value-get-without-debug-value",
    severity: Severity::Warning,
    summary: "`taskValues.get` without `debugValue` (raises outside a job)",
    doc: r#"## What it does
Finds `dbutils.jobs.taskValues.get(taskKey, key, ...)` calls without a `debugValue`.

## Why is this bad?
Outside a job run (interactive development, tests, `%run`), `get` returns `debugValue`; when it
is missing (or `None`) it raises `TypeError: Must pass debugValue when calling get outside of a
job context`. The notebook cannot be run by hand, which is how most notebooks are debugged.
(`default` is something else: the value used in a job when the key is missing.)

## Example
```python
tables = dbutils.jobs.taskValues.get(taskKey="list_tables", key="tables")
```

## Fix
Pass a representative value: `dbutils.jobs.taskValues.get(taskKey="list_tables",
key="tables", debugValue=["bronze.a"])`. Databricks recommends `{{tasks.<task>.values.<key>}}`
references in the job's parameters over `taskValues.get`.
"#,
    fixable: false,
};

pub struct TaskValueGetWithoutDebugValue;

impl Rule for TaskValueGetWithoutDebugValue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(facts) = ctx.project.index.payload.task_values_of(ctx.doc) else {
            return;
        };
        for g in &facts.gets {
            if g.has_debug_value {
                continue;
            }
            let what = match (&g.task_key, &g.key) {
                (Some(t), Some(k)) => format!("taskValues.get of `{k}` from task `{t}`"),
                _ => "taskValues.get".to_string(),
            };
            out.push(
                Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    g.range,
                    format!("{what} has no `debugValue`: it raises a TypeError when the notebook runs outside a job"),
                )
                .help("add `debugValue=<a representative value>`"),
            );
        }
    }
}
