use std::collections::HashSet;

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::facts::SwallowKind;
use crate::python::fanout::{DispatchKind, FanOutKind};
use crate::python::model::CallRef;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC008",
    name: "fan-out-failure-swallowed",
    severity: Severity::Warning,
    summary: "failures of fanned-out notebook runs that are never seen",
    doc: r#"## What it does
Finds notebook fan-out whose failures cannot reach the caller:
- futures that are never collected: `executor.submit(...)` / `apply_async` / `map_async` whose
  result is dropped, or a function that submits work and never calls `.result()`, `.get()`,
  `as_completed`, `wait` nor returns the futures; `executor.map(...)` whose lazy result is never
  iterated;
- `threading.Thread` workers (an exception in a thread never reaches the notebook);
- in the workers of a fan-out (and the helpers they call in the same file), an `except` around
  `dbutils.notebook.run` (or around `.result()`) that only passes, logs, or turns the error into
  a string or return value;
- Scala: `Future { dbutils.notebook.run(...) }.recover { case e => "ERROR..." }` (or
  `recoverWith`) whose handler does not throw;
- a retry loop that gives up without raising (its handlers only log, and nothing raises after
  the loop: the worker returns `None`); a retry loop that raises once its attempts are spent
  is not reported;
- the retry of Databricks' `NotebookData` sample, which calls itself again from the `except`
  without `return`, so the retried run's result is lost.

## Why is this bad?
The orchestrating notebook reports success while child notebooks failed: downstream tasks run
on partial data and nobody is alerted. Jobs fail visibly, retry per task (or per For Each
iteration) and can be repaired.

## Example
```python
with ThreadPoolExecutor(8) as ex:
    for t in tables:
        ex.submit(run_table, t)          # futures dropped: failures vanish
```

## Fix
Collect every future (`for f in as_completed(futs): f.result()`) and let exceptions propagate;
re-raise after logging; `return` the retried call. Better, move the fan-out to a For Each task,
which fails the job when an iteration fails.
"#,
    fixable: false,
};

pub struct FanOutFailureSwallowed;

impl Rule for FanOutFailureSwallowed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let path = ctx.doc.path.clone();
        let fans = crate::project::fanout::parallel_fan_outs(ctx.project, ctx.doc);
        for f in &fans {
            if let Some(r) = f.recovered {
                out.push(
                    Diagnostic::new(&META, path.clone(), r, "this `recover` turns the failure of a fanned-out notebook run into a value: the caller sees success")
                        .help("let the failure propagate (`throw` after logging, or no `recover`), or move the fan-out to a For Each task")
                        .related(path.clone(), f.range, "the notebook runs of this Future"),
                );
            }
        }
        let Some((di, facts)) = crate::project::fanout::doc_facts(ctx.project, ctx.doc) else {
            return;
        };
        let idx = &ctx.project.index.python;
        // Functions of this file that run inside a fan-out worker.
        let mut workers: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = Vec::new();
        for f in &fans {
            if let Some(w) = &f.worker {
                for r in &w.refs {
                    for &(d, g) in idx.resolve(di, r) {
                        if d == di {
                            stack.push(g);
                        }
                    }
                }
            }
        }
        while let Some(g) = stack.pop() {
            if !workers.insert(g) {
                continue;
            }
            for (r, _) in &facts.functions[g].calls {
                if let CallRef::Func(h) = r {
                    stack.push(*h);
                }
            }
        }
        for f in &fans {
            let FanOutKind::Dispatch(kind) = f.kind else {
                continue;
            };
            if f.helper.is_some() {
                continue;
            }
            let is_executor = f.pool.as_ref().is_some_and(|p| p.kind.is_executor());
            let lazy_or_async = matches!(
                f.method.as_str(),
                "map_async" | "starmap_async" | "imap" | "imap_unordered" | "apply_async"
            );
            let msg = match kind {
                DispatchKind::ExecutorSubmit | DispatchKind::PoolApply | DispatchKind::PoolMap
                    if f.result_discarded
                        && (kind != DispatchKind::PoolMap || is_executor || lazy_or_async) =>
                {
                    Some(format!(
                        "the result of `{}` is discarded: failures of the notebook runs are never seen",
                        f.method
                    ))
                }
                DispatchKind::ExecutorSubmit | DispatchKind::PoolApply
                    if !facts.functions.get(f.func).is_some_and(|x| x.collects) =>
                {
                    Some(format!(
                        "futures from `{}` are never collected (no `.result()`, `.get()`, `as_completed` or `wait`): failures of the notebook runs are never seen",
                        f.method
                    ))
                }
                DispatchKind::Thread => Some(
                    "exceptions raised in a `threading.Thread` never reach the notebook: a failed child notebook goes unnoticed".to_string(),
                ),
                _ => None,
            };
            if let Some(msg) = msg {
                out.push(
                    Diagnostic::new(&META, path.clone(), f.range, msg)
                        .help("collect every result and let exceptions propagate (`for f in as_completed(futs): f.result()`), or move the fan-out to a For Each task"),
                );
            }
        }
        for t in &facts.tries {
            let reaches = !t.runs.is_empty()
                || t.calls
                    .iter()
                    .any(|(r, _)| !idx.reach_of(di, r, true).is_empty());
            let in_worker = workers.contains(&t.func);
            // Collecting results inside the `try` only matters when the function's own
            // dispatches reach a notebook run (a pool of Spark writes is not a fan-out).
            let around_results = t.collects
                && fans
                    .iter()
                    .any(|f| f.func == t.func && f.kind.is_parallel() && f.helper.is_none());
            if !((reaches && in_worker)
                || around_results
                || (t.kind == SwallowKind::RecursionWithoutReturn && reaches))
            {
                continue;
            }
            let msg = match t.kind {
                SwallowKind::Pass => "this `except` swallows the failure of a fanned-out notebook run",
                SwallowKind::Stringify => "this `except` turns the failure of a fanned-out notebook run into a value: the caller sees success",
                SwallowKind::RecursionWithoutReturn => "the retry calls the function again without `return`: the retried notebook run's result and failure are lost",
            };
            out.push(
                Diagnostic::new(&META, path.clone(), t.handler, msg)
                    .help("re-raise after logging (`raise`), or `return` the retried call; a For Each task retries failed iterations for you"),
            );
        }
    }
}
