use crate::bundle::Value;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "FE001",
    name: "for-each-concurrency-out-of-range",
    severity: Severity::Error,
    summary: "For Each concurrency below 1 or above 100 (error), or missing (info)",
    doc: r#"## What it does
Checks `for_each_task.concurrency` for the target being analysed (after target overrides and
variables): a value below 1 or above 100 (the Jobs maximum) is an error; a missing value is
reported as info, because the iterations then run one at a time.

## Why is this bad?
The Jobs API rejects a concurrency above 100 at deploy time, and `bundle validate` does not
check it. A missing concurrency makes a "parallel" fan-out sequential: the docs' UI default is 1
(the Terraform docs say 20; the API default is not documented), so the run takes N times longer
than the author expects.

## Example
```yaml
- task_key: process_all
  for_each_task:
    inputs: "{{tasks.list.values.items}}"
    concurrency: 500
    task: ...
```

## Fix
Set `concurrency` explicitly, between 1 and 100. Keep it at or below what the cluster and the
sources you read can take.
"#,
    fixable: false,
};

pub struct ForEachConcurrencyOutOfRange;

impl Rule for ForEachConcurrencyOutOfRange {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            for task in job.all_tasks() {
                let Some(fe) = &task.for_each_task else {
                    continue;
                };
                match &fe.concurrency {
                    None => out.push(
                        diag(
                            &META,
                            &fe.key_loc,
                            &fe.route,
                            format!(
                                "For Each task `{}` has no `concurrency`: its iterations run one at a time",
                                task.key().unwrap_or("?")
                            ),
                        )
                        .severity(Severity::Info)
                        .help("set `concurrency` (1 to 100) to run iterations in parallel"),
                    ),
                    Some(c) => {
                        let v = match &c.value {
                            Value::Int(i) => *i as f64,
                            Value::Float(f) => *f,
                            _ => continue,
                        };
                        if !(1.0..=f64::from(crate::limits::FOR_EACH_MAX_CONCURRENCY)).contains(&v) {
                            let via = ctx
                                .bundle
                                .text(&c.loc.file)
                                .and_then(|t| t.get(usize::from(c.loc.range.start())..usize::from(c.loc.range.end())))
                                .filter(|s| s.contains("${"))
                                .map(|s| {
                                    format!(" (from `{s}`{})", ctx.bundle.variable_origin(s))
                                })
                                .unwrap_or_default();
                            out.push(
                                diag(
                                    &META,
                                    &c.loc,
                                    format!("{}.concurrency", fe.route),
                                    format!(
                                        "For Each concurrency {v}{via} is out of range: it must be between 1 and 100"
                                    ),
                                )
                                .help(if v > f64::from(crate::limits::FOR_EACH_MAX_CONCURRENCY) {
                                    "use at most 100 (the Jobs maximum)"
                                } else {
                                    "use at least 1"
                                }),
                            );
                        }
                    }
                }
            }
        }
    }
}
