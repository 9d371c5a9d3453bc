use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::model::CallRef;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC009",
    name: "notebook-run-dynamic-path",
    severity: Severity::Info,
    summary: "a `dbutils.notebook.run` path that cannot be resolved statically",
    doc: r#"## What it does
Reports `dbutils.notebook.run` calls whose notebook path is not known from the source: not a
literal, an f-string of literals, a name bound once to one, a loop variable over a literal list
(also joined to a literal prefix: `base + name`), a parameter every call of the file gives a
literal, nor a worker parameter fed from a literal list by the fan-out that calls it. Typical dynamic
paths: `notebook.path` of a `NotebookData` object, `step["path"]`, a widget value, a path
computed from a config file or a directory listing.

## Why is this bad?
Nothing is wrong at run time, but neither a reviewer nor `bricklint migrate` can tell which
notebooks run: automatic migration to For Each / multi-task jobs needs the set of notebooks,
and NB003 cannot check that they exist.

## Example
```python
for step in json.load(open("conf/steps.json")):
    dbutils.notebook.run(step["path"], 600)
```

## Fix
Keep the list of notebooks as a literal (or in the bundle), or accept the finding and migrate
by hand. Suppress with `# bricklint: ignore[ORC009]` where the dynamic path is intended.
"#,
    fixable: false,
};

pub struct NotebookRunDynamicPath;

impl Rule for NotebookRunDynamicPath {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some((_, facts)) = crate::project::fanout::doc_facts(ctx.project, ctx.doc) else {
            return;
        };
        let fans = crate::project::fanout::fan_outs(ctx.project, ctx.doc);
        for r in &facts.runs {
            let Some(p) = &r.path else { continue };
            if p.value.as_ref().is_some_and(|v| v.as_str().is_some()) {
                continue;
            }
            if r.path_domain.as_ref().is_some_and(|d| d.value.is_some()) {
                continue;
            }
            if !r.path_values.is_empty() {
                continue;
            }
            if let Some(pi) = p.param {
                let fed_statically = fans.iter().any(|f| {
                    f.worker
                        .as_ref()
                        .is_some_and(|w| w.refs.contains(&CallRef::Func(r.func)))
                        && (f.items.as_ref().is_some_and(|i| i.value.is_some())
                            || f.call_args.get(pi).is_some_and(|a| a.value.is_some()))
                });
                if fed_statically {
                    continue;
                }
            }
            out.push(
                Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    p.range,
                    format!("notebook path `{}` is not known statically", p.text),
                )
                .help("keep the notebook paths as literals (or in the bundle) so the fan-out can be migrated to a job automatically"),
            );
        }
    }
}
