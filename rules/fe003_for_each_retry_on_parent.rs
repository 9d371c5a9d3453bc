use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::report_keys_on_for_each_parent;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "FE003",
    name: "for-each-retry-on-parent",
    severity: Severity::Error,
    summary: "retry settings on the For Each task itself instead of its nested task",
    doc: r#"## What it does
Finds `max_retries`, `min_retry_interval_millis` or `retry_on_timeout` set on a task that has a
`for_each_task`.

## Why is this bad?
Retries apply per iteration and belong on the nested task. The Jobs API rejects them on the For
Each task at deploy time, and `databricks bundle validate` does not catch it (databricks/cli
issue #3977).

## Example
```yaml
- task_key: process_all
  max_retries: 2
  for_each_task:
    inputs: '["a", "b"]'
    task:
      task_key: process_one
      notebook_task: {notebook_path: ../src/process.py}
```

## Fix
Move the retry settings into `for_each_task.task`.
"#,
    fixable: false,
};

const RETRY_KEYS: &[&str] = &[
    "max_retries",
    "min_retry_interval_millis",
    "retry_on_timeout",
];

pub struct ForEachRetryOnParent;

impl Rule for ForEachRetryOnParent {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        report_keys_on_for_each_parent(
            &META,
            ctx.bundle,
            RETRY_KEYS,
            |key, task| {
                format!("`{key}` on For Each task `{task}`: retries belong on the nested task (the Jobs API rejects them here)")
            },
            out,
        );
    }
}
