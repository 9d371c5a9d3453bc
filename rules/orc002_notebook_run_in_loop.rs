use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::fanout::FanOutKind;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC002",
    name: "notebook-run-in-loop",
    severity: Severity::Warning,
    summary: "`dbutils.notebook.run` reached once per item of a loop or comprehension",
    doc: r#"## What it does
Finds `for` / `while` loops and comprehensions whose body reaches `dbutils.notebook.run` for
each item, directly or through helpers (in this file, a `%run`-included notebook or a local
module): `for t in tables: dbutils.notebook.run(...)`, nested loops over notebooks and parameter
sets, `[dbutils.notebook.run(p, 0) for p in paths]`. Retry loops (a `try` that returns or breaks
on success) are not reported. Loops that only hand work to a pool are ORC001's.

## Why is this bad?
The runs happen one after the other on the driver, each as an ephemeral job on the same
cluster: the notebook takes the sum of all the children's durations, one failure stops (or,
worse, silently skips) the rest, there are no retries per item and nothing appears in the Jobs
UI. This is exactly what a For Each task does, with retries per iteration and up to 100
iterations in parallel.

## Example
```python
for table in ["orders", "customers", "items"]:
    dbutils.notebook.run("./bronze_ingest", 3600, {"table": table})
```

## Fix
Publish the items as a task value (`dbutils.jobs.taskValues.set("tables", tables)`) and run
the child notebook from a For Each task (`inputs: "{{tasks.plan.values.tables}}"`,
`base_parameters: {table: "{{input}}"}`); `bricklint migrate` writes it.
"#,
    fixable: false,
};

pub struct NotebookRunInLoop;

impl Rule for NotebookRunInLoop {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        for f in crate::project::fanout::fan_outs(ctx.project, ctx.doc) {
            let FanOutKind::Loop(_) = f.kind else {
                continue;
            };
            if f.retry {
                continue;
            }
            let n = f.runs.len();
            let items = f
                .items
                .as_ref()
                .map(|i| match i.value.as_ref().and_then(|v| v.as_seq()) {
                    Some(s) => format!(" of `{}` ({} items)", i.text, s.len()),
                    None => format!(" of `{}`", i.text),
                })
                .unwrap_or_default();
            let msg = format!(
                "`dbutils.notebook.run` runs once per item{items} of this {}: {} notebook run{} one after the other on the driver",
                f.kind.describe(),
                n,
                if n == 1 { "" } else { "s" }
            );
            let mut d = Diagnostic::new(&META, ctx.doc.path.clone(), f.range, msg).help(
                "run the child notebook from a For Each task over these items (retries per \
                 iteration, concurrency up to 100); `bricklint migrate` can rewrite it",
            );
            for r in &f.runs {
                d = d.related(
                    r.path.clone(),
                    r.call.range,
                    "dbutils.notebook.run is called here",
                );
            }
            out.push(d);
        }
    }
}
