use std::path::Path;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::paths;
use crate::rules::{Rule, RuleMeta};
use crate::source::Lang;

pub static META: RuleMeta = RuleMeta {
    code: "NB003",
    name: "notebook-target-not-found",
    severity: Severity::Error,
    summary: "`%run ./x` or `dbutils.notebook.run(\"./x\")` whose target is not in the repository",
    doc: r#"## What it does
Resolves the relative targets of `%run` cells and the static relative paths of
`dbutils.notebook.run` in notebooks against the notebook's directory, with or without a
notebook extension (`.py`, `.ipynb`, `.sql`, `.scala`, `.r`), and reports those that match no
file of the repository. Absolute workspace paths (`/Workspace/...`, `/Repos/...`) and paths not
known statically are not checked.

## Why is this bad?
The notebook fails when it reaches the call, often after minutes of work, and in a fan-out
possibly only for some items. A renamed or moved child notebook is the usual cause.

## Example
```python
# MAGIC %run ./helpers/commmon
dbutils.notebook.run("./bronze_ingset", 3600)
```

## Fix
Fix the path (relative to the calling notebook, without the extension as Databricks shows it),
or add the missing notebook.
"#,
    fixable: false,
};

pub struct NotebookTargetNotFound;

impl Rule for NotebookTargetNotFound {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        if !ctx.doc.is_notebook() {
            return;
        }
        // A loaded document, else a file on disk (one directory listing, not a `stat` per
        // candidate).
        let exists = |p: &Path| {
            ctx.project
                .index
                .by_path
                .contains_key(crate::fasthash::key(p))
                || ctx.project.fs.is_file(p)
        };
        let check = |target: &str| -> bool {
            paths::is_workspace_absolute(target)
                || target.contains("://")
                || target.contains("{{")
                || target.contains('$')
                || paths::notebook_candidates(&ctx.doc.path, target)
                    .iter()
                    .any(|c| exists(c))
        };
        for c in &ctx.doc.cells {
            if c.lang != Lang::Run {
                continue;
            }
            let Some((t, range)) = &c.run_target else {
                continue;
            };
            if t.is_empty() || check(t) {
                continue;
            }
            out.push(
                Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    *range,
                    format!("`%run {t}`: no notebook `{t}` next to this notebook"),
                )
                .help("fix the path (relative to this notebook) or add the missing notebook"),
            );
        }
        let Some((_, facts)) = crate::project::fanout::doc_facts(ctx.project, ctx.doc) else {
            return;
        };
        for r in &facts.runs {
            let Some(p) = &r.path else { continue };
            let Some(t) = p.value.as_ref().and_then(|v| v.as_str()) else {
                continue;
            };
            if t.is_empty() || check(t) {
                continue;
            }
            out.push(
                Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    p.range,
                    format!("`dbutils.notebook.run`: no notebook `{t}` relative to this notebook"),
                )
                .help("fix the path (relative to this notebook) or add the missing notebook"),
            );
        }
    }
}
