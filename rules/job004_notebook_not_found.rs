use std::path::Path;

use crate::bundle::model::NotebookRef;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};
use crate::source::{self, FileKind};

pub static META: RuleMeta = RuleMeta {
    code: "JOB004",
    name: "notebook-not-found",
    severity: Severity::Error,
    summary: "`notebook_path` that does not lead to a notebook in the repository",
    doc: r#"## What it does
Resolves each `notebook_task.notebook_path` as the Databricks CLI does when it deploys a bundle:
a local path is relative to the YAML file that defines it, must include the file extension
(`.py`, `.ipynb`, `.sql`, `.scala`, `.r`), must lie inside the sync root, and must be a notebook
(a source file with the `# Databricks notebook source` header, or an `.ipynb`). It reports paths
that do not exist, lack their extension, leave the sync root, or name a plain file.

Paths that are not local are not checked: absolute workspace paths (`/Workspace/...`), URLs,
values built from `{{ }}` or `${ }` references, tasks with `source: GIT` and every task of a job
with `git_source` (its paths are relative to the Git repository).

## Why is this bad?
`databricks bundle deploy` fails ("notebook ... not found. Did you mean ...py?"), after the
review, in the pipeline.

## Example
```yaml
# resources/jobs.yml
tasks:
  - task_key: process
    notebook_task:
      notebook_path: ./src/process     # relative to resources/, and no extension
```

## Fix
Write the path relative to the YAML file, with the extension: `../src/process.py`.
"#,
    fixable: false,
};

fn is_notebook(ctx: &BundleContext<'_>, p: &Path) -> bool {
    if let Some(doc) = ctx.project.document(p) {
        return doc.kind.is_notebook();
    }
    // Not loaded (excluded, or not a candidate): classify from the first bytes.
    let head = std::fs::read(p)
        .map(|b| b[..b.len().min(256)].to_vec())
        .unwrap_or_default();
    matches!(
        source::classify(p, &head),
        Some(FileKind::SourceNotebook(_) | FileKind::Ipynb)
    )
}

pub struct NotebookNotFound;

impl Rule for NotebookNotFound {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for job in &b.jobs {
            for task in job.all_tasks() {
                let Some(node) = task
                    .notebook_task
                    .as_ref()
                    .and_then(|n| n.notebook_path.as_ref())
                else {
                    continue;
                };
                let Some(written) = node.as_str() else {
                    continue;
                };
                let route = format!("{}.notebook_task.notebook_path", task.route);
                let rel = |p: &Path| -> String {
                    let base = node.loc.file.parent().unwrap_or(Path::new(""));
                    pathdiff(p, base)
                };
                match b.resolve_notebook(job, task) {
                    NotebookRef::Missing {
                        with_extension: Some(p),
                        ..
                    } => out.push(
                        diag(
                            &META,
                            &node.loc,
                            &route,
                            format!("notebook `{written}` not found: a local notebook path must include its extension"),
                        )
                        .help(format!("did you mean `{}`?", rel(&p))),
                    ),
                    NotebookRef::Missing { path, .. } => out.push(
                        diag(
                            &META,
                            &node.loc,
                            &route,
                            format!(
                                "notebook `{written}` not found (looked for {})",
                                source::display_path(&path)
                            ),
                        )
                        .help("paths are relative to the YAML file that defines them"),
                    ),
                    NotebookRef::OutsideSyncRoot(path) => out.push(
                        diag(
                            &META,
                            &node.loc,
                            &route,
                            format!(
                                "notebook `{written}` ({}) is outside the bundle's sync root, so it is not deployed",
                                source::display_path(&path)
                            ),
                        )
                        .help("move the notebook into the bundle, or add its directory to `sync.paths`"),
                    ),
                    NotebookRef::Local(path) if !is_notebook(ctx, &path) => out.push(
                        diag(
                            &META,
                            &node.loc,
                            &route,
                            format!("`{written}` is a file, not a notebook: the first line is not `# Databricks notebook source`"),
                        )
                        .help("add the notebook header, or run the file with a `spark_python_task`"),
                    ),
                    _ => {}
                }
            }
        }
    }
}

/// `p` relative to `base` (both absolute), with `..` where needed.
fn pathdiff(p: &Path, base: &Path) -> String {
    let pc: Vec<_> = p.components().collect();
    let bc: Vec<_> = base.components().collect();
    let common = pc.iter().zip(&bc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..bc.len() {
        parts.push("..".into());
    }
    for c in &pc[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    let s = parts.join("/");
    if s.starts_with("..") {
        s
    } else {
        format!("./{s}")
    }
}
