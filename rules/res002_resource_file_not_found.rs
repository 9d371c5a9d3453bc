use std::path::Path;

use crate::bundle::Node;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};
use crate::source;

pub static META: RuleMeta = RuleMeta {
    code: "RES002",
    name: "resource-file-not-found",
    severity: Severity::Error,
    summary: "a local file or directory of a task or pipeline library that does not exist",
    doc: r#"## What it does
Checks that the local paths of the configuration of the target exist, as the CLI does when it
translates them to workspace paths (`bundle/config/mutator/translate_paths*.go`):
- `spark_python_task.python_file` and `sql_task.file.path` (files),
- `dbt_task.project_directory` (a directory),
- pipeline `libraries`: `notebook.path` and `file.path` (files).

Paths are relative to the YAML file that defines them. Workspace paths (`/Workspace/...`),
URLs, `${...}` and `{{...}}` references and tasks whose code comes from Git (`git_source`,
`source: GIT`) are not checked. Notebook paths of `notebook_task` are JOB004's.

## Why is this bad?
`databricks bundle validate` and `deploy` stop on a path that does not exist ("file ... not
found").

## Example
```yaml
resources:
  jobs:
    etl:
      tasks:
        - task_key: load
          spark_python_task:
            python_file: ../src/laod.py     # the file is src/load.py
```

## Fix
Fix the path (relative to the YAML file), or add the missing file.
"#,
    fixable: false,
};

pub struct ResourceFileNotFound;

/// What a path must name.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    File,
    Directory,
}

impl Rule for ResourceFileNotFound {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for job in &b.jobs {
            let from_git = job.git_source.is_some();
            for task in job.all_tasks() {
                let t = &task.node;
                let checks: [(&[&str], Kind); 3] = [
                    (&["spark_python_task", "python_file"], Kind::File),
                    (&["sql_task", "file", "path"], Kind::File),
                    (&["dbt_task", "project_directory"], Kind::Directory),
                ];
                for (path, kind) in checks {
                    let Some(node) = t.get_path(path) else {
                        continue;
                    };
                    // `source: GIT` sits beside the path (`sql_task.file.source`) or on the task
                    // type (`spark_python_task.source`, `dbt_task.source`).
                    let parent = t.get_path(&path[..path.len() - 1]);
                    let git = from_git
                        || [parent, t.get(path[0])]
                            .into_iter()
                            .flatten()
                            .any(|n| n.get("source").and_then(Node::as_str) == Some("GIT"));
                    if !git {
                        check(
                            ctx,
                            node,
                            kind,
                            format!("{}.{}", task.route, path.join(".")),
                            out,
                        );
                    }
                }
            }
        }
        let Some(pipelines) = b
            .config
            .as_ref()
            .and_then(|c| c.get_path(&["resources", "pipelines"]))
            .and_then(Node::as_map)
        else {
            return;
        };
        for p in pipelines {
            let libs = p.value.get("libraries").and_then(Node::as_seq);
            for (i, lib) in libs.unwrap_or_default().iter().enumerate() {
                for kind in ["notebook", "file"] {
                    if let Some(node) = lib.get_path(&[kind, "path"]) {
                        let route =
                            format!("resources.pipelines.{}.libraries[{i}].{kind}.path", p.key);
                        check(ctx, node, Kind::File, route, out);
                    }
                }
            }
        }
    }
}

/// Report `node` (a path written in a YAML file) when it names nothing of `kind` on disk.
fn check(
    ctx: &BundleContext<'_>,
    node: &Node,
    kind: Kind,
    route: String,
    out: &mut Vec<Diagnostic>,
) {
    let Some(written) = node.as_str() else { return };
    if written.is_empty()
        || written.starts_with('/')
        || written.contains("://")
        || written.contains("${")
        || written.contains("{{")
        || written.contains(['*', '?'])
    {
        return;
    }
    let base = node
        .loc
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ctx.bundle.root.clone());
    let abs = crate::discover::normalize(&base.join(written));
    let (exists, what) = match kind {
        Kind::File => (ctx.bundle.is_file(&abs), "file"),
        Kind::Directory => (abs.is_dir(), "directory"),
    };
    if exists {
        return;
    }
    let other = match kind {
        Kind::File if abs.is_dir() => " (it is a directory)",
        Kind::Directory if abs.is_file() => " (it is a file)",
        _ => "",
    };
    out.push(
        diag(
            &META,
            &node.loc,
            route,
            format!(
                "{what} `{written}` not found (looked for {}){other}: the CLI stops when it translates the path",
                source::display_path(&abs)
            ),
        )
        .help("paths are relative to the YAML file that defines them"),
    );
}
