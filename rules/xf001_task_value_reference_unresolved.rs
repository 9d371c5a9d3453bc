use std::collections::{BTreeSet, HashSet};

use crate::bundle::{refs, walk_refs, Bundle, Job, Node, Task};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::facts::KeySet;
use crate::project::xref::{producer_of, Producer};
use crate::project::{BundleContext, Project};
use crate::rules::support::diag_in;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "XF001",
    name: "task-value-reference-unresolved",
    severity: Severity::Error,
    summary: "`{{tasks.t.values.k}}` / `taskValues.get(taskKey=t, key=k)` where `t` is not upstream or never sets `k`",
    doc: r#"## What it does
Checks every task-value reference of a job against the job's task graph and the notebooks the
tasks run:

- `{{tasks.<t>.values.<k>}}` anywhere in a task (parameters, For Each `inputs`, condition
  operands, the nested task of a For Each) and
- `dbutils.jobs.taskValues.get(taskKey="<t>", key="<k>")` in a notebook that a task runs

are reported when `<t>` is not upstream of the referencing task (directly or transitively
through `depends_on`), or when `<t>`'s notebook never sets `<k>` (with the keys it does set).

Like actionlint's `needs.<job>.outputs.<x>` check, it is permissive when knowledge is
incomplete: a producer that is not a notebook of the repository, a notebook that sets keys
computed at run time, or one that could not be analysed is assumed to set any key. References
to tasks that do not exist are JOB009's.

## Why is this bad?
A task value can only be read from a task that has finished before the reader starts, which is
what `depends_on` guarantees. A reference to a task that is not upstream, or to a key that is
never set, fails the run (`{{ }}` references) or raises in `taskValues.get` — after the
upstream tasks have already spent their compute.

## Example
```yaml
tasks:
  - task_key: list_tables
    notebook_task: {notebook_path: ../src/list_tables.py}   # sets "tables"
  - task_key: ingest
    depends_on: [{task_key: list_tables}]
    for_each_task:
      inputs: "{{tasks.list_tables.values.table_list}}"      # never set
```

## Fix
Use the key the producer sets (the message lists them), or set the key in the producer; add the
producer to `depends_on` of the referencing task.
"#,
    fixable: false,
};

pub struct TaskValueReferenceUnresolved;

fn key_list(keys: &KeySet) -> String {
    match keys {
        KeySet::Known(s) if s.is_empty() => "it sets no task value".into(),
        KeySet::Known(s) => format!(
            "it sets {}",
            s.iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        KeySet::Dynamic => String::new(),
    }
}

impl Rule for TaskValueReferenceUnresolved {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        let mut reported_gets: HashSet<(std::path::PathBuf, u32, String)> = HashSet::new();
        for job in &b.jobs {
            let graph = job.graph();
            let all_keys: HashSet<&str> = job.tasks.iter().filter_map(|t| t.key()).collect();
            for task in &job.tasks {
                let Some(me) = task.key() else { continue };
                let at = At {
                    b,
                    project: ctx.project,
                    job,
                    task,
                    me,
                    upstream: graph.upstream(me),
                    all_keys: &all_keys,
                };
                // 1. {{tasks.t.values.k}} in the task's YAML (nested task included).
                let route = task.route.clone();
                walk_refs(&task.node, &route, &mut |node, route| {
                    check_reference(&at, node, route, out)
                });
                // 2. taskValues.get(taskKey=t, key=k) in the notebooks the task runs.
                check_gets(&at, &mut reported_gets, out);
            }
        }
    }
}

/// The task whose references are checked, in its job.
struct At<'a> {
    b: &'a Bundle,
    project: &'a Project,
    job: &'a Job,
    task: &'a Task,
    me: &'a str,
    upstream: BTreeSet<String>,
    all_keys: &'a HashSet<&'a str>,
}

/// `{{tasks.t.values.k}}` references in one YAML value of the task.
fn check_reference(at: &At<'_>, node: &Node, route: &str, out: &mut Vec<Diagnostic>) {
    let At {
        b,
        project,
        job,
        me,
        upstream,
        all_keys,
        ..
    } = at;
    let (b, project, job, me) = (*b, *project, *job, *me);
    let Some(s) = node.as_str() else { return };
    if !s.contains("{{") {
        return;
    }
    for r in refs::parse_dynamic(s) {
        if r.syntax_error.is_some() {
            continue;
        }
        let refs::RefTarget::TaskValue { task: t, key: k } = r.target() else {
            continue;
        };
        if !all_keys.contains(t.name.as_str()) {
            continue; // JOB009
        }
        if t.name == me || !upstream.contains(&t.name) {
            let msg = if t.name == me {
                format!("`{{{{{}}}}}` references a value of task `{me}` itself: a task cannot read its own task values", r.path())
            } else {
                format!(
                        "`{{{{{}}}}}`: task `{}` is not upstream of `{me}`, so its values are not available when `{me}` runs",
                        r.path(),
                        t.name
                    )
            };
            let mut d = diag_in(&META, b, node, t.range.clone(), route, msg).help(format!(
                "add `depends_on: [{{task_key: {}}}]` to task `{me}`",
                t.name
            ));
            if let Some(p) = job.task(&t.name) {
                d = d.related(
                    p.anchor().file.clone(),
                    p.anchor().range,
                    format!("task `{}` is defined here", t.name),
                );
            }
            out.push(d);
            continue;
        }
        let Some(ptask) = job.task(&t.name) else {
            continue;
        };
        let producer = producer_of(project, b, job, ptask);
        let keys = producer.keys();
        if keys.may_contain(&k.name) {
            continue;
        }
        let Producer::Notebook { path, facts } = &producer else {
            continue;
        };
        let nb = crate::project::xref::rel(b, path);
        let known: Vec<&str> = match &keys {
            KeySet::Known(s) => s.iter().map(String::as_str).collect(),
            KeySet::Dynamic => Vec::new(),
        };
        let mut d = diag_in(
            &META,
            b,
            node,
            k.range.clone(),
            route,
            format!(
                "`{{{{{}}}}}`: the notebook of task `{}` ({nb}) never sets task value `{}`; {}",
                r.path(),
                t.name,
                k.name,
                key_list(&keys)
            ),
        );
        if let Some(s) = refs::suggest(&k.name, &known) {
            d = d.help(format!("did you mean `{s}`?"));
        } else {
            d = d.help("set the key in the producer notebook, or reference a key it sets");
        }
        let apath = std::sync::Arc::new(path.clone());
        for s in facts.sets.iter().take(3) {
            let label = match &s.key {
                Some(k) => format!("`{k}` is set here"),
                None => "a task value is set here".into(),
            };
            d = d.related(apath.clone(), s.key_range.unwrap_or(s.range), label);
        }
        out.push(d);
    }
}

/// `taskValues.get(taskKey=t, key=k)` in the notebooks the task runs (each call reported once
/// per referencing task).
fn check_gets(
    at: &At<'_>,
    reported_gets: &mut HashSet<(std::path::PathBuf, u32, String)>,
    out: &mut Vec<Diagnostic>,
) {
    let At {
        b,
        project,
        job,
        task,
        me,
        upstream,
        all_keys,
    } = at;
    let (b, project, job, task, me) = (*b, *project, *job, *task, *me);
    let mut runners = vec![task];
    if let Some(n) = task.nested_task() {
        runners.push(n);
    }
    for runner in runners {
        let Producer::Notebook { path, facts } = producer_of(project, b, job, runner) else {
            continue;
        };
        let apath = std::sync::Arc::new(path.clone());
        for g in &facts.gets {
            let (Some(t), Some(k)) = (&g.task_key, &g.key) else {
                continue;
            };
            let dedupe = (path.clone(), u32::from(g.range.start()), me.to_string());
            if !all_keys.contains(t.as_str()) {
                if reported_gets.insert(dedupe) {
                    out.push(
                            Diagnostic::new(
                                &META,
                                apath.clone(),
                                g.task_key_range.unwrap_or(g.range),
                                format!("taskValues.get(taskKey=\"{t}\") in the notebook of task `{me}` (job `{}`): the job has no task `{t}`", job.key),
                            )
                            .related(runner.anchor().file.clone(), runner.anchor().range, format!("task `{me}` runs this notebook"))
                            .help("use the task_key of an upstream task"),
                        );
                }
                continue;
            }
            if t == me || !upstream.contains(t) {
                if reported_gets.insert(dedupe) {
                    out.push(
                            Diagnostic::new(
                                &META,
                                apath.clone(),
                                g.task_key_range.unwrap_or(g.range),
                                format!("taskValues.get(taskKey=\"{t}\") in the notebook of task `{me}` (job `{}`): `{t}` is not upstream of `{me}`", job.key),
                            )
                            .related(runner.anchor().file.clone(), runner.anchor().range, format!("task `{me}` runs this notebook"))
                            .help(format!("add `depends_on: [{{task_key: {t}}}]` to task `{me}`")),
                        );
                }
                continue;
            }
            let Some(ptask) = job.task(t) else { continue };
            let producer = producer_of(project, b, job, ptask);
            let keys = producer.keys();
            if keys.may_contain(k) || g.has_default {
                continue;
            }
            if !reported_gets.insert(dedupe) {
                continue;
            }
            let nb = match &producer {
                Producer::Notebook { path, .. } => crate::project::xref::rel(b, path),
                Producer::Unknown => continue,
            };
            out.push(
                    Diagnostic::new(
                        &META,
                        apath.clone(),
                        g.key_range.unwrap_or(g.range),
                        format!("taskValues.get(taskKey=\"{t}\", key=\"{k}\"): the notebook of task `{t}` ({nb}) never sets `{k}`; {}", key_list(&keys)),
                    )
                    .related(runner.anchor().file.clone(), runner.anchor().range, format!("task `{me}` runs this notebook"))
                    .help("use a key the producer sets, or pass `default=`"),
                );
        }
    }
}
