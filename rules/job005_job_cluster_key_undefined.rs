use crate::bundle::refs::suggest;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB005",
    name: "job-cluster-key-undefined",
    severity: Severity::Error,
    summary: "`job_cluster_key` not defined in the job's `job_clusters`",
    doc: r#"## What it does
Finds tasks, including the nested task of a For Each, whose `job_cluster_key` is not the key of
an entry in the job's `job_clusters` (after target overrides are merged).

## Why is this bad?
The task has no cluster to run on: the Jobs API rejects the job. `databricks bundle validate`
only warns about it.

## Example
```yaml
job_clusters:
  - job_cluster_key: main
    new_cluster: {...}
tasks:
  - task_key: process
    job_cluster_key: mian
```

## Fix
Use a key defined in `job_clusters`, or add the cluster.
"#,
    fixable: false,
};

pub struct JobClusterKeyUndefined;

impl Rule for JobClusterKeyUndefined {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            let keys = job.job_cluster_keys();
            for task in job.all_tasks() {
                let Some(k) = &task.job_cluster_key else {
                    continue;
                };
                let Some(key) = k.as_str() else { continue };
                if keys.contains(&key) || key.contains("${") {
                    continue;
                }
                let mut d = diag(
                    &META,
                    &k.loc,
                    format!("{}.job_cluster_key", task.route),
                    format!(
                        "job_cluster_key `{key}` of task `{}` is not defined in the `job_clusters` of job `{}`",
                        task.key().unwrap_or("?"),
                        job.key
                    ),
                );
                d = match (suggest(key, &keys), keys.is_empty()) {
                    (Some(s), _) => d.help(format!("did you mean `{s}`?")),
                    (None, true) => d.help("add a `job_clusters` entry with this key to the job"),
                    (None, false) => d.help(format!(
                        "defined keys: {}",
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                out.push(d);
            }
        }
    }
}
