use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::python::fanout::{DispatchKind, FanOutKind};
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "ORC005",
    name: "thread-pool-oversized",
    severity: Severity::Warning,
    summary: "a notebook fan-out pool larger than 100, unbounded, or over the configured limit",
    doc: r#"## What it does
For pools, executors and threads that fan out `dbutils.notebook.run` (see ORC001), checks the
number of workers: a static size above the limit, a size that is not bounded statically
(`len(tables)`, a widget value, `n_jobs=-1`), a pool created without a size (its size then
depends on the driver's CPU count), or one `threading.Thread` per item of an unbounded list.
`min(len(x), 8)` counts as bounded by 8, and a pool sized by a parameter is bounded by the
largest value the calls of the file give it (`run_all(notebooks, 2)`). A size taken from the
driver's CPU count (`os.cpu_count()`) is not a bound.

The limit is the smaller of 100 (the largest For Each concurrency) and
`[orchestration] max-pool-size` in the configuration (default 100).

## Why is this bad?
Each worker runs a child notebook on the same cluster: every one needs an execution context
(at most **145 per cluster**, `MAX_SPARK_CONTEXTS_EXCEEDED` beyond), all of them share one
driver, and the workspace allows 2,000 concurrent task runs. A pool sized by the length of the
input grows with the data until the cluster falls over, and a migration to For Each cannot keep
a concurrency above 100.

## Example
```python
with ThreadPoolExecutor(max_workers=len(tables)) as ex:
    ex.map(run_table, tables)
```

## Fix
Bound the pool (`max_workers=min(len(tables), 16)`), or better, move the fan-out to a For Each
task with an explicit `concurrency` (1 to 100).
"#,
    fixable: false,
};

pub struct ThreadPoolOversized;

impl Rule for ThreadPoolOversized {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        let configured = i64::from(ctx.project.config.orchestration.max_pool_size);
        let limit = configured.min(100);
        let mut seen = Vec::new();
        for f in crate::project::fanout::parallel_fan_outs(ctx.project, ctx.doc) {
            let path = ctx.doc.path.clone();
            let over = |n: i64| {
                if n > 100 {
                    format!("{n} workers, more than the 100 a For Each task can run at once")
                } else {
                    format!("{n} workers, more than the configured `max-pool-size` of {configured}")
                }
            };
            if let Some(pool) = &f.pool {
                if seen.contains(&pool.ctor) {
                    continue;
                }
                seen.push(pool.ctor);
                let (range, msg) = match (&pool.size, pool.size_bound) {
                    (Some(s), Some(n)) if n > limit => (s.range, over(n)),
                    (Some(_), Some(_)) => continue,
                    (Some(s), None) if pool.size_cpu_count => (
                        s.range,
                        format!(
                            "pool size `{}` is the driver's CPU count: a bigger driver runs more child notebooks at once, whatever the cluster can hold",
                            s.text
                        ),
                    ),
                    (Some(s), None) => (
                        s.range,
                        match pool.size_unbounded.first() {
                            Some(u) => format!(
                                "pool size `{}` is not bounded: a call gives it `{}`, which grows with the input",
                                s.text, u.text
                            ),
                            None => format!(
                                "pool size `{}` is not bounded: it grows with the input",
                                s.text
                            ),
                        },
                    ),
                    (None, _) => (
                        pool.ctor,
                        format!(
                            "`{}` has no size: it depends on the driver's CPU count",
                            pool.kind.name()
                        ),
                    ),
                };
                out.push(
                    Diagnostic::new(&META, path, range, format!("notebook fan-out pool: {msg}"))
                        .help(format!("bound the pool (at most {limit}), or move the fan-out to a For Each task with `concurrency` between 1 and 100"))
                        .related(ctx.doc.path.clone(), f.range, "notebooks are dispatched here"),
                );
                continue;
            }
            match f.kind {
                FanOutKind::Dispatch(DispatchKind::Joblib) => {
                    let Some((_, n)) = f
                        .call_kwargs
                        .iter()
                        .find(|(k, _)| k.as_deref() == Some("n_jobs"))
                    else {
                        continue;
                    };
                    let msg = match n.value.as_ref().and_then(|v| v.as_int()) {
                        Some(v) if v < 0 => format!("`n_jobs={v}` uses every CPU of the driver"),
                        Some(v) if v > limit => over(v),
                        Some(_) => continue,
                        None => format!("`n_jobs={}` is not bounded statically", n.text),
                    };
                    out.push(
                        Diagnostic::new(&META, path, n.range, format!("notebook fan-out pool: {msg}"))
                            .help(format!("bound `n_jobs` (at most {limit}), or move the fan-out to a For Each task")),
                    );
                }
                FanOutKind::Dispatch(DispatchKind::Thread) if f.in_loop => {
                    let n = f
                        .items
                        .as_ref()
                        .and_then(|i| i.value.as_ref())
                        .and_then(|v| v.as_seq())
                        .map(|s| s.len() as i64);
                    let msg = match n {
                        Some(n) if n > limit => over(n),
                        Some(_) => continue,
                        None => "one thread per item: the number of threads grows with the input"
                            .to_string(),
                    };
                    out.push(
                        Diagnostic::new(&META, path, f.range, format!("notebook fan-out threads: {msg}"))
                            .help(format!("use a bounded pool (at most {limit} workers), or move the fan-out to a For Each task")),
                    );
                }
                _ => {}
            }
        }
    }
}
