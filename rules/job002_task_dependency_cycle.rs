use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB002",
    name: "task-dependency-cycle",
    severity: Severity::Error,
    summary: "a cycle in the tasks' `depends_on`",
    doc: r#"## What it does
Finds cycles in the task graph of a job (`depends_on` edges, after target overrides). Each cycle
is reported once, deterministically: it starts at the task of the cycle that is declared first
and follows `depends_on` entries in the order they are written.

## Why is this bad?
A job with a dependency cycle can never start its tasks; the Jobs API rejects it at deploy time.

## Example
```yaml
tasks:
  - task_key: a
    depends_on: [{task_key: c}]
  - task_key: b
    depends_on: [{task_key: a}]
  - task_key: c
    depends_on: [{task_key: b}]
```

## Fix
Remove the `depends_on` entry that closes the loop (usually the one pointing "backwards").
"#,
    fixable: false,
};

pub struct TaskDependencyCycle;

impl Rule for TaskDependencyCycle {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            let graph = job.graph();
            for cycle in graph.cycles() {
                let name = |i: usize| graph.keys[i].clone().unwrap_or_else(|| "?".into());
                let mut chain: Vec<String> =
                    cycle.iter().map(|&i| format!("`{}`", name(i))).collect();
                chain.push(format!("`{}`", name(cycle[0])));
                // The depends_on entry of each task that points at the next one in the cycle.
                let edge = |from: usize, to: usize| {
                    let target = name(to);
                    job.tasks[from].depends_on.iter().find(|d| {
                        d.task_key.as_ref().and_then(|k| k.as_str()) == Some(target.as_str())
                    })
                };
                let first = cycle[0];
                let next = *cycle.get(1).unwrap_or(&first);
                let Some(primary) = edge(first, next) else {
                    continue;
                };
                let Some(pk) = primary.task_key.as_ref() else {
                    continue;
                };
                let mut d = diag(
                    &META,
                    &pk.loc,
                    format!("{}.task_key", primary.route),
                    format!(
                        "task dependency cycle in job `{}`: {}",
                        job.key,
                        chain.join(" depends on ")
                    ),
                )
                .help("remove the `depends_on` entry that closes the loop");
                for w in 1..cycle.len() {
                    let from = cycle[w];
                    let to = *cycle.get(w + 1).unwrap_or(&first);
                    if let Some(k) = edge(from, to).and_then(|e| e.task_key.as_ref()) {
                        d = d.related(
                            k.loc.file.clone(),
                            k.loc.range,
                            format!("`{}` depends on `{}` here", name(from), name(to)),
                        );
                    }
                }
                out.push(d);
            }
        }
    }
}
