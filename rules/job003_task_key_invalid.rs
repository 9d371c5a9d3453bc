use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB003",
    name: "task-key-invalid",
    severity: Severity::Error,
    summary: "a duplicate `task_key`, longer than 100 characters or with characters outside `[A-Za-z0-9_-]`",
    doc: r#"## What it does
Checks every `task_key` (nested For Each tasks included): it must be 1 to 100 characters of
letters, digits, `_` and `-`, and unique in its job. Duplicates are found in each layer of the
configuration (the base files, and each target's overrides), before the CLI merges tasks with
the same key; only two definitions in one file are reported (a task whose settings are split
between files, e.g. an include and a target override in another file, is merged on purpose).
`databricks bundle validate` accepts keys with spaces or other characters and over 100
characters; the Jobs API rejects them at deploy, so bricklint reports them.

## Why is this bad?
The Jobs API rejects invalid keys at deploy time. A duplicate `task_key` is worse: the CLI
silently merges the two tasks into one (`MergeJobTasks`), so one task's settings overwrite the
other's and a task disappears.

## Example
```yaml
tasks:
  - task_key: load data          # space
  - task_key: transform
  - task_key: transform          # duplicate: merged into the first one
```

## Fix
Rename the task: use `_` or `-` instead of spaces and dots, keep keys unique and short.
"#,
    fixable: false,
};

pub struct TaskKeyInvalid;

impl Rule for TaskKeyInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for dup in &ctx.bundle.duplicates {
            // Written in two files (an include and a target override in another file), the two
            // definitions are one task split on purpose: the CLI merges them by `task_key`
            // (bundle/config/mutator/merge_job_tasks.go).
            if dup.field != "task_key" || dup.first.file != dup.second.file {
                continue;
            }
            out.push(
                diag(
                    &META,
                    &dup.second,
                    &dup.route,
                    format!(
                        "duplicate task_key `{}` in job `{}`: the CLI merges both tasks into one",
                        dup.key, dup.job
                    ),
                )
                .related(
                    dup.first.file.clone(),
                    dup.first.range,
                    "first defined here",
                )
                .help("give each task a unique `task_key`"),
            );
        }
        for job in &ctx.bundle.jobs {
            // Nested task keys must not collide with top-level ones either.
            let mut seen: Vec<(&str, &crate::bundle::Loc)> = Vec::new();
            for task in job.all_tasks() {
                let Some(k) = &task.task_key else { continue };
                let Some(key) = k.as_str() else { continue };
                if key.contains("${") {
                    continue;
                }
                let route = format!("{}.task_key", task.route);
                if task.nested {
                    if let Some((_, first)) = seen.iter().find(|(s, _)| *s == key) {
                        out.push(
                            diag(
                                &META,
                                &k.loc,
                                &route,
                                format!("task_key `{key}` of a For Each's nested task is already used in job `{}`", job.key),
                            )
                            .related(first.file.clone(), first.range, "first used here")
                            .help("give the nested task its own key"),
                        );
                    }
                }
                seen.push((key, &k.loc));
                let bad: Vec<char> = key
                    .chars()
                    .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
                    .collect();
                if key.is_empty() {
                    out.push(
                        diag(&META, &k.loc, &route, "empty task_key (`bundle validate` accepts it, the Jobs API rejects it at deploy)")
                            .help("use 1 to 100 letters, digits, `_` or `-`"),
                    );
                } else if key.chars().count() > crate::limits::MAX_KEY_CHARS {
                    out.push(
                        diag(
                            &META,
                            &k.loc,
                            &route,
                            format!(
                                "task_key is {} characters long; the maximum is 100 (`bundle validate` accepts it, the Jobs API rejects it at deploy)",
                                key.chars().count()
                            ),
                        )
                        .help("shorten the task_key"),
                    );
                } else if !bad.is_empty() {
                    let mut uniq = bad.clone();
                    uniq.dedup();
                    let suggested: String = key
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    out.push(
                        diag(
                            &META,
                            &k.loc,
                            &route,
                            format!(
                                "task_key `{key}` contains {}: only letters, digits, `_` and `-` are allowed (`bundle validate` accepts it, the Jobs API rejects it at deploy)",
                                uniq.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ")
                            ),
                        )
                        .help(format!("rename it, e.g. `{suggested}` (and update `depends_on` and `{{{{tasks.…}}}}` references)")),
                    );
                }
            }
        }
    }
}
