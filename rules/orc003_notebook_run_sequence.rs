use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC003",
    name: "notebook-run-sequence",
    severity: Severity::Info,
    summary:
        "several straight-line `dbutils.notebook.run` calls with static paths: a multi-task job",
    doc: r#"## What it does
Finds code (module level or one function) that runs two or more notebooks with statically
known paths one after the other, outside loops: a hand-written pipeline, often with each call
gated on the previous result (`if result == "Success": ...`).

## Why is this bad?
It is a multi-task job in disguise: the order, the dependencies and the retries live in driver
code, every child is an ephemeral job on the same cluster, a failure in step 7 means re-running
steps 1 to 6, and nothing shows in the Jobs UI. A job with one task per notebook and
`depends_on` edges gives visibility, retries, repair runs and per-task compute.

## Example
```python
dbutils.notebook.run("./bronze", 3600)
dbutils.notebook.run("./silver", 3600)
dbutils.notebook.run("./gold", 3600)
```

## Fix
Define one `notebook_task` per notebook in a job (at most 1,000 tasks) with `depends_on` for
the order; pass values between them with task values. `bricklint migrate --to jobs` writes it.
"#,
    fixable: false,
};

pub struct NotebookRunSequence;

impl Rule for NotebookRunSequence {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some((_, facts)) = crate::project::fanout::doc_facts(ctx.project, ctx.doc) else {
            return;
        };
        for (fi, func) in facts.functions.iter().enumerate() {
            if func.is_lambda {
                continue;
            }
            let runs: Vec<_> = facts
                .runs
                .iter()
                .filter(|r| {
                    r.func == fi
                        && !r.in_loop
                        && !r.by_reference
                        && r.path
                            .as_ref()
                            .and_then(|p| p.value.as_ref())
                            .is_some_and(|v| v.as_str().is_some())
                })
                .collect();
            if runs.len() < 2 {
                continue;
            }
            let names: Vec<String> = runs
                .iter()
                .filter_map(|r| {
                    r.path
                        .as_ref()?
                        .value
                        .as_ref()?
                        .as_str()
                        .map(str::to_string)
                })
                .collect();
            let mut d = Diagnostic::new(
                &META,
                ctx.doc.path.clone(),
                runs[0].range,
                format!(
                    "{} notebooks run one after the other from the driver ({}): this is a multi-task job",
                    runs.len(),
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .help("define one job task per notebook with `depends_on` for the order; `bricklint migrate --to jobs` can write it");
            for r in &runs[1..] {
                d = d.related(ctx.doc.path.clone(), r.range, "then this notebook runs");
            }
            out.push(d);
        }
    }
}
