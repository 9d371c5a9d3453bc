use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::fanout;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC006",
    name: "notebook-run-without-timeout",
    severity: Severity::Warning,
    summary: "`dbutils.notebook.run` with a timeout of 0, a negative timeout, or none",
    doc: r#"## What it does
Checks the `timeout_seconds` of every `dbutils.notebook.run` call, including calls that pass
the function by reference (`submit(dbutils.notebook.run, path, 0)`, `**{"timeout_seconds": 0}`):
a static value of `0` or less, or no timeout at all, is reported. Names bound once to a literal
are followed (`TIMEOUT = 0`), and so is data that reaches the timeout: a constructor argument
of a local class (`Child("./a", 0)` read as `child.timeout`, also dataclasses), an item of a
literal list (`["./a", 0, {}]` read as `nb[1]`), a dict literal (`{"timeout": 0}` read as
`step["timeout"]`), a parameter fed by the calls of the file; the finding is on the `0`.

## Why is this bad?
`timeout_seconds=0` means *no timeout*: a stuck child notebook holds its execution context and
the caller's thread until the 30-day limit of notebook workflows. Negative values are not a
valid timeout either. A missing timeout is a `TypeError` at run time (the argument is required).

## Example
```python
dbutils.notebook.run("./ingest", 0, {"table": t})
```

## Fix
Pass a realistic timeout in seconds (`dbutils.notebook.run("./ingest", 3600, ...)`); in a job,
set `timeout_seconds` on the task instead.
"#,
    fixable: false,
};

pub struct NotebookRunWithoutTimeout;

impl Rule for NotebookRunWithoutTimeout {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let scala = fanout::scala_runs(ctx.doc);
        let python =
            crate::project::fanout::doc_facts(ctx.project, ctx.doc).map(|(_, f)| &f.runs[..]);
        for r in python.unwrap_or_default().iter().chain(&scala) {
            match &r.timeout {
                None if r.has_splat => {}
                None => {
                    // A reference mapped over paths gets only the path: no timeout either.
                    out.push(
                        Diagnostic::new(
                            &META,
                            ctx.doc.path.clone(),
                            r.range,
                            "`dbutils.notebook.run` without `timeout_seconds`",
                        )
                        .help("pass a timeout in seconds, e.g. `dbutils.notebook.run(path, 3600, args)`"),
                    );
                }
                Some(t) if t.value.is_none() => {
                    for o in &r.timeout_origins {
                        let Some(v) = o.value.as_ref().and_then(|v| v.as_f64()) else {
                            continue;
                        };
                        if v > 0.0 {
                            continue;
                        }
                        let what = if v == 0.0 {
                            "0 means no timeout, the child notebook can run for up to 30 days"
                        } else {
                            "a negative timeout is not a timeout"
                        };
                        out.push(
                            Diagnostic::new(
                                &META,
                                ctx.doc.path.clone(),
                                o.range,
                                format!(
                                    "`{}` reaches `dbutils.notebook.run` as its `timeout_seconds` (`{}`): {what}",
                                    o.text, t.text
                                ),
                            )
                            .help("pass a realistic timeout in seconds, e.g. 3600")
                            .related(ctx.doc.path.clone(), t.range, "the timeout of this notebook run"),
                        );
                    }
                }
                Some(t) => {
                    let Some(v) = t.value.as_ref().and_then(|v| v.as_f64()) else {
                        continue;
                    };
                    if v > 0.0 {
                        continue;
                    }
                    let msg = if v == 0.0 {
                        format!("`timeout_seconds` is `{}`: 0 means no timeout, the child notebook can run for up to 30 days", t.text)
                    } else {
                        format!(
                            "`timeout_seconds` is `{}`: a negative timeout is not a timeout",
                            t.text
                        )
                    };
                    out.push(
                        Diagnostic::new(&META, ctx.doc.path.clone(), t.range, msg)
                            .help("pass a realistic timeout in seconds, e.g. 3600"),
                    );
                }
            }
        }
    }
}
