use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB006",
    name: "too-many-tasks",
    severity: Severity::Error,
    summary: "more than 1000 tasks in a job",
    doc: r#"## What it does
Counts the tasks of each job (after target overrides) and reports jobs with more than 1000, the
limit of the Jobs API write endpoints.

## Why is this bad?
The job cannot be created or updated. Jobs this large are usually generated: one task per table
or per partition.

## Example
A generator that writes one `notebook_task` per table for 1,200 tables.

## Fix
Use one For Each task whose inputs list the tables (up to 10,000 characters inline, or 48 KiB
through a task value), or split the job with `run_job_task`s.
"#,
    fixable: false,
};

/// The Jobs API limit.
pub const MAX_TASKS: usize = crate::limits::MAX_TASKS_PER_JOB;

pub struct TooManyTasks;

impl Rule for TooManyTasks {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            if job.tasks.len() <= MAX_TASKS {
                continue;
            }
            let loc = job
                .node
                .entry("tasks")
                .map(|e| &e.key_loc)
                .unwrap_or(&job.key_loc);
            out.push(
                diag(
                    &META,
                    loc,
                    format!("{}.tasks", job.route),
                    format!(
                        "job `{}` has {} tasks; the Jobs API accepts at most {MAX_TASKS}",
                        job.key,
                        job.tasks.len()
                    ),
                )
                .help("fan out with one For Each task over a list, or split the job with `run_job_task`"),
            );
        }
    }
}
