use crate::bundle::refs::suggest;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB001",
    name: "depends-on-unknown-task",
    severity: Severity::Error,
    summary: "`depends_on` names no task of the job",
    doc: r#"## What it does
Finds `depends_on` entries whose `task_key` is not the key of a task in the same job (after
target overrides are merged).

## Why is this bad?
The Jobs API rejects the job at deploy time; a renamed or deleted task leaves dangling
dependencies behind.

## Example
```yaml
tasks:
  - task_key: ingest
    notebook_task: {notebook_path: ../src/ingest.py}
  - task_key: transform
    depends_on:
      - task_key: ingset
    notebook_task: {notebook_path: ../src/transform.py}
```

## Fix
Use the `task_key` of an existing task (bricklint suggests the closest one), or remove the entry.
"#,
    fixable: false,
};

pub struct DependsOnUnknownTask;

impl Rule for DependsOnUnknownTask {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            let keys: Vec<&str> = job.tasks.iter().filter_map(|t| t.key()).collect();
            for task in job.all_tasks() {
                for dep in &task.depends_on {
                    let Some(k) = dep.task_key.as_ref() else {
                        continue;
                    };
                    let Some(name) = k.as_str() else { continue };
                    if keys.contains(&name) || name.contains("${") {
                        continue;
                    }
                    let mut d = diag(
                        &META,
                        &k.loc,
                        format!("{}.task_key", dep.route),
                        format!(
                            "task `{}` depends on `{name}`, which is not a task of job `{}`",
                            task.key().unwrap_or("?"),
                            job.key
                        ),
                    );
                    d = match suggest(name, &keys) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!(
                            "the job's tasks are: {}",
                            keys.iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    };
                    out.push(d);
                }
            }
        }
    }
}
