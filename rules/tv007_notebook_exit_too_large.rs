use crate::diagnostic::{Diagnostic, Severity};
use crate::limits::NOTEBOOK_EXIT_MAX_BYTES;
use crate::payload::thousands;
use crate::project::DocContext;
use crate::python::value::Value;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TV007",
    name: "notebook-exit-too-large",
    severity: Severity::Warning,
    summary: "a `dbutils.notebook.exit` value over 5 MB, or of unbounded size",
    doc: r#"## What it does
Evaluates the value given to `dbutils.notebook.exit(value)` like TV001 does for task values,
and reports it when its size is statically over 5 MB (5,000,000 bytes), or when it has no
bound (it comes from `.collect()`, `toPandas()`, `spark.sql`, a file outside the repository or
the network).

## Why is this bad?
`exit` returns one string; `runs/get-output` (and so `dbutils.notebook.run` callers and the Jobs
API) return only the first 5 MB of it and mark it truncated. A caller that parses the result as
JSON then fails on a cut-off document.

## Example
```python
rows = spark.table("silver.events").toJSON().collect()
dbutils.notebook.exit(json.dumps(rows))
```

## Fix
Return a reference instead of the data: a table or view name, or a path in a volume, and let the
caller read it.
"#,
    fixable: false,
};

pub struct NotebookExitTooLarge;

impl Rule for NotebookExitTooLarge {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(facts) = ctx.project.index.payload.task_values_of(ctx.doc) else {
            return;
        };
        for e in &facts.exits {
            let Some(value) = &e.value else { continue };
            let range = e.value_range.unwrap_or(e.range);
            // exit() returns str(value): a string's size is its length, not its JSON.
            let size = match value {
                Value::Str(s) => {
                    let n = s.len() as u64;
                    crate::python::value::SizeBound {
                        min: n,
                        exact: Some(n),
                        unbounded: None,
                    }
                }
                Value::Dumped { text: Some(t), .. } => {
                    let n = t.len() as u64;
                    crate::python::value::SizeBound {
                        min: n,
                        exact: Some(n),
                        unbounded: None,
                    }
                }
                v => v.size(),
            };
            if size.min > NOTEBOOK_EXIT_MAX_BYTES {
                out.push(
                    Diagnostic::new(
                        &META,
                        ctx.doc.path.clone(),
                        range,
                        format!(
                            "the exit value is {}{} bytes: only the first 5 MB ({} bytes) are returned to the caller",
                            if size.exact.is_some() { "" } else { "at least " },
                            thousands(size.min),
                            thousands(NOTEBOOK_EXIT_MAX_BYTES)
                        ),
                    )
                    .help("return a table name or a file path instead of the data"),
                );
            } else if let Some(reason) = &size.unbounded {
                let mut d = Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    range,
                    format!(
                        "the size of the exit value has no bound: it comes from {}; only the first 5 MB are returned to the caller",
                        reason.what
                    ),
                )
                .help("return a table name or a file path instead of the data");
                if reason.range != range && !reason.range.is_empty() {
                    d = d.related(
                        ctx.doc.path.clone(),
                        reason.range,
                        "unbounded data comes from here",
                    );
                }
                out.push(d);
            }
        }
    }
}
