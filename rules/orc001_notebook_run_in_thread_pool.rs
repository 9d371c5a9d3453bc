use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::fanout::{DispatchKind, FanOutKind, WorkerKind};
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC001",
    name: "notebook-run-in-thread-pool",
    severity: Severity::Error,
    summary: "`dbutils.notebook.run` fanned out from the driver through a thread pool, threads or futures",
    doc: r#"## What it does
Finds work handed to a thread pool, executor, thread, joblib or asyncio executor (or a Scala
`Future` / `.par` collection) that reaches `dbutils.notebook.run`: directly, through helpers at
any depth, lambdas, `functools.partial`, closures returned by factories, methods
(`self._submit(...)`), the function itself passed by reference
(`submit(dbutils.notebook.run, path, 600, args)`, also with a `**{...}` splat), and helpers that
live in another file (`%run ./helpers` or `from lib.runner import run_all`). Pools and executors
are recognised from their imports (`multiprocessing.pool.ThreadPool`, `multiprocessing.Pool`,
`concurrent.futures.ThreadPoolExecutor` / `ProcessPoolExecutor`, `threading.Thread`,
`joblib.Parallel`, `asyncio.to_thread`, `loop.run_in_executor`), and `dbutils` under any alias
(`DBUtils(spark)`, `get_dbutils()`, a parameter that receives it, `self._dbutils`,
`params["dbutils"]`, `from databricks.sdk.runtime import dbutils`).

The finding points at the dispatch (`pool.map(...)`, `executor.submit(...)`, `Thread(...)`),
with one related label on every `notebook.run` it reaches, in whichever file it is.

Look-alikes stay silent: papermill / nbclient, Microsoft Fabric `notebookutils` /
`mssparkutils`, pools that run `spark.sql` or downloads, and `notebook.run` in comments,
strings and docstrings.

## Why is this bad?
Every `dbutils.notebook.run` starts an ephemeral job **on the same cluster** as the caller. A
pool of them keeps the driver busy orchestrating (driver near 100% CPU, executors idle), each
child takes an execution context (at most **145 per cluster**), every run counts toward the
**10,000 job creations per hour** of the workspace, failures are easily swallowed, runs are
not retried and nothing shows in the Jobs UI. It works for 10 notebooks and collapses at 60.

## Which pattern to use instead
| you have | use | limits (platform) |
|---|---|---|
| the same notebook over a list of items (tables, dates, files) | a **For Each task** (`for_each_task`) fed by a task value: `dbutils.jobs.taskValues.set("items", items)` upstream, `inputs: "{{tasks.<t>.values.items}}"` | concurrency 1–**100**; task value JSON ≤ **48 KiB**; inline inputs ≤ **10,000 characters**; retries per iteration on the nested task |
| a fixed set of different notebooks, possibly with dependencies | **one task per notebook** in a multi-task job (`depends_on` for order) | ≤ **1,000 tasks** per job; retries, repair and UI visibility per task |
| a one-off, ad-hoc set of runs from code | a one-time run, `jobs/runs/submit` (`w.jobs.submit(...)`) | no retries, not saved as a job, **not in the Jobs UI**; counts toward 10,000 creations per hour |
| a handful of short notebooks that must share the driver's state | keep the pool, but small | ≤ **145** execution contexts per cluster; **2,000** concurrent task runs per workspace; set a timeout and collect every result |

`bricklint migrate` rewrites the first two shapes into bundle resources.

## Example
```python
from concurrent.futures import ThreadPoolExecutor

def run_one(table):
    return dbutils.notebook.run("./bronze_ingest", 3600, {"table": table})

with ThreadPoolExecutor(max_workers=32) as ex:
    results = list(ex.map(run_one, tables))
```

## Fix
Publish the list as a task value and let a For Each task run the child notebook:
```python
dbutils.jobs.taskValues.set("tables", tables)
```
```yaml
- task_key: ingest
  depends_on: [{task_key: plan}]
  for_each_task:
    inputs: "{{tasks.plan.values.tables}}"
    concurrency: 32
    task:
      task_key: ingest_one
      notebook_task:
        notebook_path: ../src/bronze_ingest.py
        base_parameters: {table: "{{input}}"}
```
"#,
    fixable: false,
};

pub struct NotebookRunInThreadPool;

impl Rule for NotebookRunInThreadPool {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        for f in crate::project::fanout::parallel_fan_outs(ctx.project, ctx.doc) {
            let what = match (f.kind, &f.pool) {
                (FanOutKind::Dispatch(DispatchKind::RunInExecutor), Some(p)) => {
                    format!("`{}` through `run_in_executor`", p.kind.name())
                }
                (FanOutKind::Dispatch(_), Some(p)) => format!("`{}.{}`", p.kind.name(), f.method),
                (FanOutKind::Dispatch(DispatchKind::Thread), _) => "`threading.Thread`".into(),
                (FanOutKind::Dispatch(DispatchKind::Joblib), _) => "joblib `Parallel`".into(),
                (FanOutKind::Dispatch(DispatchKind::ToThread), _) => "`asyncio.to_thread`".into(),
                (FanOutKind::Dispatch(DispatchKind::RunInExecutor), _) => {
                    "`run_in_executor`".into()
                }
                (FanOutKind::ScalaFuture, _) => "a Scala `Future`".into(),
                (FanOutKind::ScalaPar, _) => {
                    format!("a Scala parallel collection (`.{}`)", f.method)
                }
                (other, _) => format!("a {}", other.describe()),
            };
            let n = f.runs.len();
            let other_file = f.runs.iter().any(|r| r.path != f.path);
            let via = match f.worker.as_ref().map(|w| w.kind) {
                _ if f.helper.is_some() => " inside a helper".to_string(),
                Some(WorkerKind::NotebookRun) => " (passed by reference)".to_string(),
                _ if other_file => " through a helper in another file".to_string(),
                _ => String::new(),
            };
            let msg = format!(
                "`dbutils.notebook.run` fanned out from the driver by {what}{via}: {} notebook run{} reached",
                n,
                if n == 1 { "" } else { "s" },
            );
            let mut d = Diagnostic::new(&META, ctx.doc.path.clone(), f.range, msg).help(
                "run the child notebook as a job instead: a For Each task fed by a task value \
                 (concurrency up to 100), or one task per notebook; `bricklint rule ORC001` has a \
                 decision guide and `bricklint migrate` can rewrite it",
            );
            if let Some((hp, hr)) = &f.helper {
                d = d.related(
                    hp.clone(),
                    *hr,
                    "the helper hands the work to the pool here",
                );
            }
            for r in &f.runs {
                d = d.related(
                    r.path.clone(),
                    r.call.range,
                    "dbutils.notebook.run is called here",
                );
            }
            out.push(d);
        }
    }
}
