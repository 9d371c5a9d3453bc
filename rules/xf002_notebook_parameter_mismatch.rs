use std::collections::BTreeSet;
use std::sync::Arc;

use crate::bundle::{Job, Task};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::xref::{producer_of, readable_parameters, Producer};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "XF002",
    name: "notebook-parameter-mismatch",
    severity: Severity::Warning,
    summary: "parameters a notebook never reads (warning); widgets read without default that no task passes (error)",
    doc: r#"## What it does
Compares what a notebook task passes with what its notebook reads:

- **Error**: the notebook reads a widget without a default — `dbutils.widgets.get("x")` with no
  `dbutils.widgets.text/dropdown/combobox/multiselect("x", ...)` in the notebook, or
  `getArgument("x")` without a default — and the task passes no `x`: neither in
  `base_parameters` (for the nested task of a For Each, typically `"{{input.x}}"`) nor as a job
  parameter (job parameters are pushed down to notebook tasks).
- **Warning**: a `base_parameters` key that the notebook (and the notebooks it `%run`s) never
  reads. Usually a typo (`tabel` for `table`) or a leftover.

Notebooks that read parameters dynamically (`dbutils.widgets.getAll()`,
`dbutils.notebook.entry_point.getCurrentBindings()`, a widget name computed at run time) are
assumed to read every parameter, and so are notebooks that hand `dbutils` or
`dbutils.widgets` (or a name assigned one of them, `utils = dbutils`) to a function or class
they do not define (`params = read_params(dbutils)` with `read_params` imported from a module).
Functions the notebook defines itself are followed.

## Why is this bad?
A widget that is read but neither defined nor passed raises `InputWidgetNotDefined` when the
task runs. A passed parameter that nothing reads is silently ignored, so the notebook runs with
its default instead of the value the job author meant.

## Example
```yaml
- task_key: ingest_one
  notebook_task:
    notebook_path: ../src/ingest_one.py     # reads widgets "table" and "mode"
    base_parameters:
      tabel: "{{input}}"                    # typo: "table" is never passed
```

## Fix
Pass every widget the notebook reads without default (or give the widget a default with
`dbutils.widgets.text("mode", "full")`), and remove or rename parameters it does not read.
"#,
    fixable: false,
};

pub struct NotebookParameterMismatch;

fn check_task(ctx: &BundleContext<'_>, job: &Job, task: &Task, out: &mut Vec<Diagnostic>) {
    let b = ctx.bundle;
    let project = ctx.project;
    let Some(nb) = &task.notebook_task else {
        return;
    };
    let Producer::Notebook { path, facts } = producer_of(project, b, job, task) else {
        return;
    };
    let nb_display = crate::project::xref::rel(b, &path);
    let task_name = task.key().unwrap_or("?");
    let job_params: BTreeSet<&str> = job
        .parameters
        .iter()
        .filter_map(|p| p.name.as_ref().and_then(|n| n.as_str()))
        .collect();
    let passed: BTreeSet<&str> = nb
        .base_parameters
        .iter()
        .map(|e| e.key.as_str())
        .chain(job_params.iter().copied())
        .collect();
    // Errors: widgets read without default that nothing passes.
    let apath = Arc::new(path.clone());
    for r in facts.reads_without_default() {
        let Some(name) = &r.name else { continue };
        if passed.contains(name.as_str()) {
            continue;
        }
        let anchor = nb
            .notebook_path
            .as_ref()
            .map(|n| &n.loc)
            .unwrap_or(task.anchor());
        let route = format!("{}.notebook_task", task.route);
        let how = if r.via == "getArgument" {
            format!("`getArgument(\"{name}\")` without a default")
        } else {
            format!("`dbutils.widgets.get(\"{name}\")` and defines no widget `{name}`")
        };
        out.push(
            diag(
                &META,
                anchor,
                route,
                format!("task `{task_name}` does not pass `{name}`, but its notebook {nb_display} reads {how}: the run fails"),
            )
            .severity(Severity::Error)
            .related(apath.clone(), r.name_range.unwrap_or(r.range), format!("`{name}` is read here"))
            .help(if task.nested {
                format!("add `{name}: \"{{{{input.{name}}}}}\"` (or a value) to `base_parameters`, or give the widget a default")
            } else {
                format!("add `{name}` to `base_parameters` or to the job's `parameters`, or give the widget a default")
            }),
        );
    }
    // Warnings: base_parameters the notebook never reads.
    let Some(readable) = readable_parameters(project, &path) else {
        return;
    };
    let known: Vec<&str> = readable.iter().map(String::as_str).collect();
    for e in &nb.base_parameters {
        if readable.contains(&e.key) {
            continue;
        }
        let mut d = diag(
            &META,
            &e.key_loc,
            format!("{}.notebook_task.base_parameters.{}", task.route, e.key),
            format!(
                "parameter `{}` is passed to {nb_display}, which never reads it{}",
                e.key,
                if known.is_empty() {
                    " (it reads no widget)".to_string()
                } else {
                    format!(
                        " (it reads {})",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        );
        d = match crate::bundle::refs::suggest(&e.key, &known) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => {
                d.help("remove the parameter, or read it in the notebook with dbutils.widgets.get")
            }
        };
        out.push(d);
    }
}

impl Rule for NotebookParameterMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            for task in job.all_tasks() {
                check_task(ctx, job, task, out);
            }
        }
    }
}
