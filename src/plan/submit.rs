//! `bricklint plan --iteration K --format submit`: a Jobs API `runs/submit` request
//! (`databricks jobs submit --json @FILE`) that runs the chosen iterations of one For Each, and
//! nothing else of the job: one notebook task per iteration, the nested task's notebook with its
//! `base_parameters` fully resolved.
//!
//! A submitted run is not the job: it has no job parameters (so they are pushed down into
//! `base_parameters`, as the job would push them), no job clusters (`--compute job-cluster=` is
//! refused), no bundle variables, and no upstream tasks. References to an upstream task value are
//! filled from `--inputs` or the producer's statically known value; the ones that are not known,
//! and task values the child notebook reads in its code (`taskValues.get` raises `ValueError`
//! in a run without that task), are named as errors. Notebook paths are workspace paths: the
//! bundle's `workspace.file_path` (or `--workspace-root`) joined with the notebook's path in the
//! synced folder, without its extension.

use std::path::Path;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::facts::NotebookFacts;
use super::iteration::Selection;
use super::model::{Compute, PlanJob, TaskKind, WorkspaceFiles};
use super::{refs, ForEachExpansion, Iteration, JobPlan, Problem, Severity};

/// Task limit of a `runs/submit` request (API reference; DATABRICKS_FACTS §3 keeps the safe one).
pub const MAX_SUBMIT_TASKS: usize = 100;

/// Options of `--format submit`.
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    pub compute: Compute,
    /// The workspace folder the bundle's files are in (overrides `workspace.file_path`).
    pub workspace_root: Option<String>,
}

/// A request and what keeps it from running as is.
#[derive(Debug, Clone)]
pub struct SubmitRequest {
    /// The `runs/submit` body; `None` when the iterations are not known.
    pub body: Option<Value>,
    /// Error-level problems: unknown upstream values, failing iterations.
    pub problems: Vec<Problem>,
    /// What the request runs, one line each (for the message printed with the command).
    pub summary: Vec<String>,
}

/// Why a compute choice cannot be used in a submitted run.
pub fn check_compute(compute: &Compute) -> Result<(), String> {
    match compute {
        Compute::Serverless => Ok(()),
        Compute::ExistingCluster(id) if crate::bundle::refs::has_interpolation(id) => Err(format!(
            "--compute existing-cluster={id}: a runs/submit request is plain JSON, with no bundle variables; give the cluster id"
        )),
        Compute::ExistingCluster(_) => Ok(()),
        other => Err(format!(
            "--compute: a runs/submit request cannot run on {} (no job clusters); use serverless or existing-cluster=<id>",
            other.describe()
        )),
    }
}

/// The workspace folder of the bundle's files.
fn workspace_folder(job: &PlanJob, opts: &SubmitOptions) -> Result<String, String> {
    if let Some(r) = &opts.workspace_root {
        return Ok(r.trim_end_matches('/').to_string());
    }
    match &job.workspace {
        WorkspaceFiles::Known(p) => Ok(p.clone()),
        WorkspaceFiles::Unresolved(p) => Err(format!(
            "the bundle's files are deployed to `{p}`, which only the workspace can resolve; give the folder with --workspace-root (e.g. /Workspace/Users/<you>/.bundle/...)"
        )),
        WorkspaceFiles::Unknown => {
            Err("the workspace folder of the notebook is unknown: give --workspace-root".into())
        }
    }
}

/// Workspace path of the notebook of `nested`: as written when it is a workspace path, else the
/// local file's path in the synced folder, without its extension, under the workspace folder.
fn notebook_path(
    job: &PlanJob,
    f: &ForEachExpansion,
    opts: &SubmitOptions,
) -> Result<String, String> {
    let nested = job
        .tasks
        .iter()
        .find(|t| t.key == f.task_key)
        .and_then(|t| match &t.kind {
            TaskKind::ForEach { task, .. } => Some(task.as_ref()),
            _ => None,
        })
        .ok_or_else(|| format!("`{}` is not a For Each task", f.task_key))?;
    let TaskKind::Notebook { path, local, .. } = &nested.kind else {
        return Err(format!(
            "the nested task `{}` is a {} task: only notebook tasks can be submitted one iteration at a time",
            nested.key,
            nested.kind.type_name()
        ));
    };
    let Some(local) = local else {
        if path.starts_with("/Workspace/") || path.starts_with("/Users/") {
            return Ok(path.clone());
        }
        return Err(format!(
            "the notebook `{path}` of `{}` is not a file of the bundle: its workspace path is unknown",
            nested.key
        ));
    };
    let root = job.sync_root.as_deref().unwrap_or(Path::new(""));
    let rel = local
        .with_extension("")
        .strip_prefix(root)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .map_err(|_| {
            format!(
                "{} is outside the bundle's synced folder {}: its workspace path is unknown",
                crate::source::display_path(local),
                crate::source::display_path(root)
            )
        })?;
    Ok(format!("{}/{rel}", workspace_folder(job, opts)?))
}

/// `task_key` of iteration `index`: `<nested key>_<index>`, at most 100 characters.
fn iteration_key(nested: &str, index: usize) -> String {
    let suffix = format!("_{index}");
    let keep = crate::limits::MAX_KEY_CHARS.saturating_sub(suffix.len());
    let head: String = nested.chars().take(keep).collect();
    format!("{head}{suffix}")
}

/// References left in a resolved parameter that a submitted run cannot resolve.
fn unresolved(k: &str, v: &str, out: &mut Vec<Problem>) {
    for r in refs::scan(v) {
        let p = &r.path;
        if p.len() == 4 && p[0] == "tasks" && p[2] == "values" {
            out.push(Problem::new(
                Severity::Error,
                "task-value-unknown",
                format!(
                    "parameter `{k}` reads task value `{}` of `{}`, which is not known before the run: give it with --inputs FILE.json ({{\"{}\": <value>}})",
                    p[3],
                    p[1],
                    super::options::task_value_entry(&p[1], &p[3])
                ),
            ));
        } else if p.len() >= 2 && p[0] == "tasks" {
            out.push(Problem::new(
                Severity::Error,
                "upstream-task",
                format!(
                    "parameter `{k}` references task `{}` (`{{{{{}}}}}`), which a run of this iteration alone does not have",
                    p[1],
                    p.join(".")
                ),
            ));
        }
    }
}

/// Task values the child notebook reads in its code from tasks other than itself.
fn code_reads(
    nested_key: &str,
    notebook: &str,
    local: Option<&Path>,
    facts: &dyn NotebookFacts,
    out: &mut Vec<Problem>,
) {
    let Some(local) = local else { return };
    for r in facts.task_value_reads(local) {
        let Some(task) = r.task.as_deref().filter(|t| *t != nested_key) else {
            continue;
        };
        let at = r
            .line
            .map(|l| format!("{notebook}:{l}"))
            .unwrap_or(notebook.to_string());
        let key = r.key.as_deref().unwrap_or("?");
        out.push(Problem::new(
            Severity::Error,
            "task-value-read",
            format!(
                "{at} reads task value `{key}` of task `{task}` with taskValues.get: a run of this iteration alone has no task `{task}`, so the call raises ValueError"
            ),
        ));
    }
}

fn base_parameters(job: &PlanJob, it: &Iteration) -> IndexMap<String, String> {
    let mut p = it.parameters.clone();
    // Job parameters are pushed down to every notebook task and win over base_parameters; a
    // submitted run has none, so they are passed here.
    for (k, v) in &job.parameters {
        p.insert(k.clone(), v.clone());
    }
    p
}

fn task_json(
    key: String,
    path: &str,
    params: &IndexMap<String, String>,
    compute: &Compute,
) -> Value {
    let mut nb = Map::new();
    nb.insert("notebook_path".into(), json!(path));
    nb.insert("source".into(), json!("WORKSPACE"));
    if !params.is_empty() {
        nb.insert("base_parameters".into(), json!(params));
    }
    let mut t = Map::new();
    t.insert("task_key".into(), json!(key));
    t.insert("notebook_task".into(), Value::Object(nb));
    if let Compute::ExistingCluster(id) = compute {
        t.insert("existing_cluster_id".into(), json!(id));
    }
    Value::Object(t)
}

/// The `runs/submit` request for the iterations of `f` that `selection` keeps. `Err` is a usage
/// error (compute, workspace path, no matching iteration, too many).
pub fn submit_request(
    job: &PlanJob,
    plan: &JobPlan,
    f: &ForEachExpansion,
    selection: &Selection,
    facts: &dyn NotebookFacts,
    opts: &SubmitOptions,
) -> Result<SubmitRequest, String> {
    check_compute(&opts.compute)?;
    let mut problems: Vec<Problem> = Vec::new();
    if !f.expanded {
        problems.extend(
            f.problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .cloned(),
        );
        let entry = job
            .tasks
            .iter()
            .find(|t| t.key == f.task_key)
            .and_then(|t| match &t.kind {
                TaskKind::ForEach { inputs, .. } => refs::scan(inputs).into_iter().next(),
                _ => None,
            })
            .filter(|r| r.path.len() == 4 && r.path[0] == "tasks" && r.path[2] == "values")
            .map(|r| super::options::task_value_entry(&r.path[1], &r.path[3]))
            .unwrap_or_else(|| f.task_key.clone());
        problems.push(Problem::new(
            Severity::Error,
            "iterations-unknown",
            format!(
                "the iterations of `{}` are not known before the run ({}): give them with --inputs FILE.json ({{\"{entry}\": [...]}})",
                f.task_key, f.source.detail
            ),
        ));
        return Ok(SubmitRequest {
            body: None,
            problems,
            summary: Vec::new(),
        });
    }
    let path = notebook_path(job, f, opts)?;
    let chosen: Vec<&Iteration> = f
        .iterations
        .iter()
        .filter(|i| selection.matches(i))
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "no iteration of `{}` matches {} ({} iterations)",
            f.task_key,
            selection.describe(),
            f.iterations.len()
        ));
    }
    if chosen.len() > MAX_SUBMIT_TASKS {
        return Err(format!(
            "{} iterations chosen: a runs/submit request holds at most {MAX_SUBMIT_TASKS} tasks; choose fewer",
            chosen.len()
        ));
    }
    problems.extend(
        plan.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .cloned(),
    );
    let local = job
        .tasks
        .iter()
        .find(|t| t.key == f.task_key)
        .and_then(|t| match &t.kind {
            TaskKind::ForEach { task, .. } => match &task.kind {
                TaskKind::Notebook { local, .. } => local.clone(),
                _ => None,
            },
            _ => None,
        });
    let nb = f.notebook.clone().unwrap_or_default();
    code_reads(
        &f.nested_task_key,
        &nb,
        local.as_deref(),
        facts,
        &mut problems,
    );
    let mut tasks = Vec::new();
    let mut summary = Vec::new();
    for it in &chosen {
        let params = base_parameters(job, it);
        for (k, v) in &params {
            unresolved(k, v, &mut problems);
        }
        for p in it.problems.iter().filter(|p| p.severity == Severity::Error) {
            let mut p = p.clone();
            p.message = format!("iteration {}: {}", it.index, p.message);
            problems.push(p);
        }
        let key = iteration_key(&f.nested_task_key, it.index);
        summary.push(format!(
            "{key}: {}",
            serde_json::to_string(&it.input).unwrap_or_default()
        ));
        tasks.push(task_json(key, &path, &params, &opts.compute));
    }
    dedup(&mut problems);
    let what = match chosen.as_slice() {
        [one] => format!("iteration {} of {}", one.index, f.iterations.len()),
        many => format!("{} of {} iterations", many.len(), f.iterations.len()),
    };
    let job_name = plan.name.clone().unwrap_or_else(|| plan.job.clone());
    let body = json!({
        "run_name": format!("{job_name} / {} / {what} (bricklint plan)", f.task_key),
        "tasks": tasks,
    });
    Ok(SubmitRequest {
        body: Some(body),
        problems,
        summary,
    })
}

fn dedup(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert((p.kind, p.message.clone())));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::facts::{StaticFacts, TaskValueRead};
    use crate::plan::model::{ParamValue, PlanTask};
    use crate::plan::{plan_job, PlanOptions};
    use std::path::PathBuf;

    fn job() -> PlanJob {
        let nested = PlanTask {
            key: "child".into(),
            kind: TaskKind::Notebook {
                path: "./src/child.py".into(),
                local: Some(PathBuf::from("/b/src/child.py")),
                base_parameters: [("x".to_string(), ParamValue::from("{{input}}"))].into(),
            },
            ..Default::default()
        };
        PlanJob {
            key: "j".into(),
            tasks: vec![PlanTask {
                key: "loop".into(),
                kind: TaskKind::ForEach {
                    inputs: r#"["a","b"]"#.into(),
                    inputs_not_string: false,
                    concurrency: Some(2),
                    task: Box::new(nested),
                },
                compute: Compute::NotNeeded,
                ..Default::default()
            }],
            workspace: WorkspaceFiles::Known("/Workspace/w/files".into()),
            sync_root: Some(PathBuf::from("/b")),
            ..Default::default()
        }
    }

    #[test]
    fn code_reads_of_other_tasks_are_errors() {
        let j = job();
        let mut facts = StaticFacts::default();
        facts.reads.insert(
            PathBuf::from("/b/src/child.py"),
            vec![
                TaskValueRead {
                    task: Some("produce".into()),
                    key: Some("cfg".into()),
                    line: Some(4),
                },
                TaskValueRead {
                    task: Some("child".into()),
                    key: Some("own".into()),
                    line: Some(5),
                },
            ],
        );
        let p = plan_job(&j, &facts, &PlanOptions::default());
        let sel = Selection {
            range: Some((2, 2)),
            wheres: Vec::new(),
        };
        let r = submit_request(
            &j,
            &p,
            &p.for_each[0],
            &sel,
            &facts,
            &SubmitOptions::default(),
        )
        .unwrap();
        let kinds: Vec<_> = r.problems.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["task-value-read"]);
        assert!(r.problems[0]
            .message
            .starts_with("./src/child.py:4 reads task value `cfg` of task `produce`"));
        let body = r.body.unwrap();
        assert_eq!(
            body["tasks"][0]["notebook_task"]["notebook_path"],
            "/Workspace/w/files/src/child"
        );
        assert_eq!(
            body["tasks"][0]["notebook_task"]["base_parameters"]["x"],
            "b"
        );
    }

    #[test]
    fn iteration_keys_stay_within_100_characters() {
        assert_eq!(iteration_key("child", 12), "child_12");
        let long = "k".repeat(100);
        let k = iteration_key(&long, 345);
        assert_eq!(k.len(), 100);
        assert!(k.ends_with("_345"));
    }
}
