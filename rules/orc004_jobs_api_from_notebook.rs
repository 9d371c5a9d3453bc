use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC004",
    name: "jobs-api-from-notebook",
    severity: Severity::Warning,
    summary: "a notebook that launches jobs through the Jobs API (SDK or REST)",
    doc: r#"## What it does
Finds notebook code that launches job runs through the Jobs API: the Databricks SDK
(`WorkspaceClient().jobs.submit / submit_and_wait / run_now / run_now_and_wait`), the legacy
`databricks_cli` `JobsApi` (`submit_run`, `run_now`), or REST calls
(`requests.post(f"{host}/api/2.1/jobs/runs/submit")`, `/jobs/run-now`). `WorkspaceClient` and
the HTTP clients are recognised from their imports.

Not reported: defining a job without running it (`jobs.create`, `jobs.update`, `jobs.reset`,
`/jobs/create`, as setup notebooks do: that is what a bundle declares, and nothing runs), reading
jobs and runs (`jobs.list`, `jobs.get_run`), and plain scripts outside notebooks (Airflow DAGs,
CI jobs), for which calling the Jobs API is the point.

## Why is this bad?
A notebook that launches jobs is an orchestrator hidden in a task: the jobs it starts are not
part of the bundle, not reviewed, not visible as dependencies in the Jobs UI, and they need a
token or service principal in the notebook. One-time runs (`runs/submit`) are not retried and
do not appear in the Jobs UI; every run counts toward the 10,000 job creations per hour of the
workspace.

## Example
```python
from databricks.sdk import WorkspaceClient
w = WorkspaceClient()
w.jobs.run_now(job_id=123, job_parameters={"day": day})
```

## Fix
Declare the job in the bundle and trigger it from the calling job with a Run Job task
(`run_job_task`), or fan out with a For Each task.
"#,
    fixable: false,
};

pub struct JobsApiFromNotebook;

impl Rule for JobsApiFromNotebook {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        if !ctx.doc.is_notebook() {
            return;
        }
        let Some((_, facts)) = crate::project::fanout::doc_facts(ctx.project, ctx.doc) else {
            return;
        };
        for c in &facts.jobs_api {
            out.push(
                Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    c.range,
                    format!("notebook launches a job run through the Jobs API (`{}`)", c.what),
                )
                .help("declare the job in the bundle and trigger it with a Run Job task (`run_job_task`) or a For Each task"),
            );
        }
    }
}
