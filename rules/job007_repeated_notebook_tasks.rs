use std::collections::BTreeMap;

use crate::bundle::model::Task;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB007",
    name: "repeated-notebook-tasks",
    severity: Severity::Warning,
    summary: "many tasks running the same notebook with different parameters (one For Each)",
    doc: r#"## What it does
Finds jobs where three or more top-level tasks run the same notebook with different
`base_parameters` and the same dependencies: a fan-out written by hand (or generated) that one
`for_each_task` expresses. The threshold is `[orchestration] repeated-notebook-tasks` in the
configuration (default 3).

## Why is this bad?
Every copy must be edited when the notebook's parameters change; adding an item means adding a
task; the job approaches the 1000-task limit; and the copies cannot share a concurrency limit.

## Example
```yaml
tasks:
  - task_key: load_orders
    notebook_task: {notebook_path: ../src/load.py, base_parameters: {table: orders}}
  - task_key: load_customers
    notebook_task: {notebook_path: ../src/load.py, base_parameters: {table: customers}}
  - task_key: load_items
    notebook_task: {notebook_path: ../src/load.py, base_parameters: {table: items}}
```

## Fix
One task with `for_each_task: {inputs: '["orders", "customers", "items"]', concurrency: 3,
task: {notebook_task: {notebook_path: ../src/load.py, base_parameters: {table: "{{input}}"}}}}`.
`bricklint migrate` can generate it.
"#,
    fixable: false,
};

/// Smallest group reported by default (`[orchestration] repeated-notebook-tasks`).
pub const MIN_REPEATS: usize = 3;

fn params(t: &Task) -> Vec<(String, String)> {
    t.notebook_task
        .as_ref()
        .map(|n| {
            n.base_parameters
                .iter()
                .map(|e| (e.key.clone(), e.value.scalar_text().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default()
}

fn deps(t: &Task) -> Vec<String> {
    let mut v: Vec<String> = t
        .depends_on
        .iter()
        .filter_map(|d| d.task_key.as_ref()?.as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

pub struct RepeatedNotebookTasks;

impl Rule for RepeatedNotebookTasks {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let min = (ctx.project.config.orchestration.repeated_notebook_tasks as usize).max(2);
        for job in &ctx.bundle.jobs {
            // (notebook, sorted deps) -> tasks
            let mut groups: BTreeMap<(String, Vec<String>), Vec<&Task>> = BTreeMap::new();
            for t in &job.tasks {
                let Some(p) = t
                    .notebook_task
                    .as_ref()
                    .and_then(|n| n.notebook_path.as_ref())
                else {
                    continue;
                };
                let Some(path) = p.as_str() else { continue };
                let key = match p.loc.file.parent() {
                    Some(dir) if !path.starts_with('/') => {
                        crate::discover::normalize(&dir.join(path))
                            .to_string_lossy()
                            .into_owned()
                    }
                    _ => path.to_string(),
                };
                groups.entry((key, deps(t))).or_default().push(t);
            }
            for ((_, _), tasks) in groups {
                if tasks.len() < min {
                    continue;
                }
                let mut distinct: Vec<Vec<(String, String)>> =
                    tasks.iter().map(|t| params(t)).collect();
                distinct.sort();
                distinct.dedup();
                if distinct.len() < 2 {
                    continue;
                }
                // The parameter keys whose values differ drive the For Each inputs.
                let first = tasks[0];
                let written = first
                    .notebook_task
                    .as_ref()
                    .and_then(|n| n.notebook_path.as_ref())
                    .and_then(|n| n.as_str())
                    .unwrap_or("?");
                let mut d = diag(
                    &META,
                    first.anchor(),
                    &first.route,
                    format!(
                        "{} tasks of job `{}` run notebook `{written}` with different parameters: one For Each task can run them",
                        tasks.len(),
                        job.key
                    ),
                )
                .help("replace them with a `for_each_task` whose inputs list the parameter values (`bricklint migrate` can write it)");
                for t in &tasks[1..] {
                    let a = t.anchor();
                    d = d.related(
                        a.file.clone(),
                        a.range,
                        format!("`{}` runs the same notebook", t.key().unwrap_or("?")),
                    );
                }
                out.push(d);
            }
        }
    }
}
