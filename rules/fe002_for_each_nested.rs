use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "FE002",
    name: "for-each-nested",
    severity: Severity::Error,
    summary: "a For Each task inside a For Each task",
    doc: r#"## What it does
Finds a `for_each_task` whose nested `task` is itself a `for_each_task`.

## Why is this bad?
The Jobs API rejects nested For Each tasks ("The Jobs API rejects nested for_each_task" in the
Databricks CLI source); the bundle fails at deploy time.

## Example
```yaml
for_each_task:
  inputs: '["2024", "2025"]'
  task:
    task_key: per_year
    for_each_task:
      inputs: '["01", "02"]'
      task: ...
```

## Fix
Flatten the inputs into one list (`[{"year": "2024", "month": "01"}, ...]`), or make the nested
task a `run_job_task` that runs a second job with its own For Each.
"#,
    fixable: false,
};

pub struct ForEachNested;

impl Rule for ForEachNested {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            for task in job.all_tasks() {
                if !task.nested {
                    continue;
                }
                let Some(fe) = &task.for_each_task else {
                    continue;
                };
                out.push(
                    diag(
                        &META,
                        &fe.key_loc,
                        &fe.route,
                        format!(
                            "nested For Each: task `{}` is a For Each inside a For Each, which the Jobs API rejects",
                            task.key().unwrap_or("?")
                        ),
                    )
                    .help("flatten the inputs into one list, or run a second job (`run_job_task`) with its own For Each"),
                );
            }
        }
    }
}
