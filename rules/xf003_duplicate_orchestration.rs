use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::xref::notebook_of;
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "XF003",
    name: "duplicate-orchestration",
    severity: Severity::Warning,
    summary: "a job fans a notebook out with For Each while the notebook itself still fans out with a thread pool",
    doc: r#"## What it does
Finds For Each tasks whose nested notebook still fans out `dbutils.notebook.run` from the driver
(what ORC001 reports: a thread pool, executor, threads or futures that reach
`dbutils.notebook.run`).

## Why is this bad?
The fan-out is done twice: the For Each already runs one iteration per input, up to 100 at a
time, and every iteration then starts its own pool of ephemeral notebook runs on the same
cluster. The number of concurrent runs multiplies (concurrency × pool size), the 145
execution contexts of a cluster run out, and failures of the inner runs stay invisible in the
Jobs UI. It usually means a migration to For Each was only half done.

## Example
```yaml
for_each_task:
  inputs: "{{tasks.list_tables.values.tables}}"
  task:
    task_key: ingest_one
    notebook_task: {notebook_path: ../src/orchestrate.py}   # still runs a ThreadPool
```

## Fix
Point the nested task at the child notebook the pool was running (passing the item as a
parameter), and remove the pool from the orchestrator notebook (`bricklint migrate` does both).
"#,
    fixable: false,
};

pub struct DuplicateOrchestration;

impl Rule for DuplicateOrchestration {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for job in &b.jobs {
            for task in &job.tasks {
                let Some(fe) = &task.for_each_task else {
                    continue;
                };
                let Some(nested) = &fe.task else { continue };
                let Some(path) = notebook_of(b, job, nested) else {
                    continue;
                };
                let Some(doc) = ctx.project.document(&path) else {
                    continue;
                };
                let fan_outs = crate::project::fanout::parallel_fan_outs(ctx.project, doc);
                let Some(first) = fan_outs.first() else {
                    continue;
                };
                let anchor = nested
                    .notebook_task
                    .as_ref()
                    .and_then(|n| n.notebook_path.as_ref())
                    .map(|n| &n.loc)
                    .unwrap_or(nested.anchor());
                let mut d = diag(
                    &META,
                    anchor,
                    format!("{}.notebook_task.notebook_path", nested.route),
                    format!(
                        "For Each task `{}` runs {} per input, and that notebook fans out `dbutils.notebook.run` again ({}): the fan-out is done twice",
                        task.key().unwrap_or("?"),
                        crate::project::xref::rel(b, &path),
                        first.kind.describe(),
                    ),
                )
                .related(first.path.clone(), first.range, "the notebook fans out here");
                if let Some(run) = first.runs.first() {
                    d = d.related(
                        Arc::clone(&run.path),
                        run.call.range,
                        "dbutils.notebook.run is called here",
                    );
                }
                out.push(d.help("run the child notebook directly in the For Each's nested task and remove the pool (`bricklint migrate`)"));
            }
        }
    }
}
