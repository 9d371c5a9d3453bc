use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::report_keys_on_for_each_parent;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "FE007",
    name: "for-each-settings-misplaced",
    severity: Severity::Error,
    summary: "libraries or compute settings on the For Each task instead of its nested task",
    doc: r#"## What it does
Finds `libraries`, `job_cluster_key`, `existing_cluster_id`, `new_cluster` or `environment_key`
on a task that has a `for_each_task`.

## Why is this bad?
The For Each task itself runs nothing and needs no compute; the iterations run the nested task.
Libraries on the parent break the API call (dbx issue #887), and compute set on the parent is not
used by the iterations, which then run on the wrong compute or fail validation.

## Example
```yaml
- task_key: process_all
  job_cluster_key: main
  libraries: [{pypi: {package: requests}}]
  for_each_task:
    inputs: '["a", "b"]'
    task:
      task_key: process_one
      notebook_task: {notebook_path: ../src/process.py}
```

## Fix
Move the settings into `for_each_task.task`.
"#,
    fixable: false,
};

const KEYS: &[&str] = &[
    "libraries",
    "job_cluster_key",
    "existing_cluster_id",
    "new_cluster",
    "environment_key",
];

pub struct ForEachSettingsMisplaced;

impl Rule for ForEachSettingsMisplaced {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        report_keys_on_for_each_parent(
            &META,
            ctx.bundle,
            KEYS,
            |key, task| {
                format!("`{key}` on For Each task `{task}` is not used by its iterations: it belongs on the nested task")
            },
            out,
        );
    }
}
