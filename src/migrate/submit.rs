//! `--to submit`: a Jobs API `runs/submit` request body (`POST /api/2.2/jobs/runs/submit`, or
//! `databricks jobs submit --json @<notebook>.submit.json`) instead of bundle YAML.
//!
//! The tasks are the ones the bundle job would have: the orchestrator notebook as the producer
//! task when it still has work (or sets the For Each inputs as a task value), then a
//! `for_each_task` per fan-out over a list (its nested `task` is a regular notebook task) or one
//! notebook task per object, each wave `depends_on` the previous one. Differences from the
//! bundle job, from the API: a submitted run has no `job_clusters` (so `--compute job-cluster=`
//! is refused), no bundle variables (`${var.x}` is refused), notebook paths are workspace paths
//! (absolute, no extension: `<workspace root>/<path in the project>`), and at most 100 tasks
//! (the API reference's limit for submit; the SDK says 1000, bricklint keeps the safe one).

use std::path::Path;

use serde_json::{json, Map, Value};

use super::plan::{Compute, FanOutKind, NotebookPlan, ParamValue};
use super::yaml::{for_each_inputs, relative_path, MAX_CONCURRENCY};

/// Task limit of a `runs/submit` request (API reference; see DATABRICKS_FACTS §3).
pub const MAX_SUBMIT_TASKS: usize = 100;

/// The compute options a submitted run can use.
pub fn check_compute(compute: &Compute) -> Result<(), String> {
    match compute {
        Compute::Serverless => Ok(()),
        Compute::ExistingCluster(id) if id.contains("${") => Err(format!(
            "--to submit: `existing-cluster={id}` is a bundle variable, but a runs/submit request is plain JSON; give the cluster id"
        )),
        Compute::ExistingCluster(_) => Ok(()),
        Compute::JobCluster(_) => Err(
            "--to submit: a runs/submit request has no job clusters; use --compute serverless or existing-cluster=<id>"
                .into(),
        ),
        other => Err(format!(
            "--to submit: {} cannot be given to the tasks of a runs/submit request; use --compute serverless or existing-cluster=<id>",
            other.describe()
        )),
    }
}

/// `--workspace-root` when not given: `/Workspace/Shared/<project folder name>`.
pub fn default_workspace_root(project_root: &Path) -> String {
    let name = project_root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("project");
    format!("/Workspace/Shared/{name}")
}

/// Workspace path of a notebook of the project: `<root>/<path in the project>` without the
/// extension (notebooks have none in the workspace).
pub fn workspace_path(
    workspace_root: &str,
    project_root: &Path,
    notebook: &Path,
) -> Result<String, String> {
    let rel = relative_path(project_root, &notebook.with_extension(""));
    if rel.starts_with("..") || rel == "." {
        return Err(format!(
            "--to submit: {} is outside the project folder {}; its workspace path is unknown",
            crate::source::display_path(notebook),
            crate::source::display_path(project_root)
        ));
    }
    Ok(format!("{}/{rel}", workspace_root.trim_end_matches('/')))
}

fn notebook_task(
    task: &mut Map<String, Value>,
    path: String,
    params: &[(String, String)],
    compute: &Compute,
) {
    let mut nb = Map::new();
    nb.insert("notebook_path".into(), Value::String(path));
    if !params.is_empty() {
        let p: Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        nb.insert("base_parameters".into(), Value::Object(p));
    }
    task.insert("notebook_task".into(), Value::Object(nb));
    if let Compute::ExistingCluster(id) = compute {
        task.insert("existing_cluster_id".into(), Value::String(id.clone()));
    }
}

fn retries(task: &mut Map<String, Value>, timeout: Option<u64>, max_retries: Option<u32>) {
    if let Some(t) = timeout.filter(|t| *t > 0) {
        task.insert("timeout_seconds".into(), json!(t));
    }
    if let Some(r) = max_retries.filter(|r| *r > 0) {
        task.insert("max_retries".into(), json!(r));
    }
}

fn depends_on(task: &mut Map<String, Value>, deps: &[String]) {
    if !deps.is_empty() {
        let d: Vec<Value> = deps.iter().map(|k| json!({ "task_key": k })).collect();
        task.insert("depends_on".into(), Value::Array(d));
    }
}

fn param_text(p: &ParamValue) -> String {
    match p {
        ParamValue::Input => "{{input}}".into(),
        ParamValue::InputField(f) => format!("{{{{input.{f}}}}}"),
        ParamValue::Literal(s) => s.clone(),
    }
}

/// The `runs/submit` request body for a notebook plan.
pub fn submit_request(
    plan: &NotebookPlan,
    compute: &Compute,
    workspace_root: &str,
    project_root: &Path,
) -> Result<Value, String> {
    check_compute(compute)?;
    let ws = |p: &Path| workspace_path(workspace_root, project_root, p);
    let mut tasks: Vec<Value> = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    if plan.producer_task {
        let mut t = Map::new();
        t.insert("task_key".into(), Value::String(plan.producer_key.clone()));
        notebook_task(&mut t, ws(&plan.notebook)?, &[], compute);
        tasks.push(Value::Object(t));
        previous.push(plan.producer_key.clone());
    }
    for f in &plan.fanouts {
        match &f.kind {
            FanOutKind::ForEach(fe) => {
                let mut inner = Map::new();
                inner.insert(
                    "task_key".into(),
                    Value::String(format!("{}_iteration", fe.task_key)),
                );
                let params: Vec<(String, String)> = fe
                    .parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), param_text(v)))
                    .collect();
                notebook_task(&mut inner, ws(&fe.child)?, &params, compute);
                retries(&mut inner, fe.timeout_seconds, fe.max_retries);
                let mut t = Map::new();
                t.insert("task_key".into(), Value::String(fe.task_key.clone()));
                depends_on(&mut t, &previous);
                t.insert(
                    "for_each_task".into(),
                    json!({
                        "inputs": for_each_inputs(fe, &plan.producer_key),
                        "concurrency": fe.concurrency.clamp(1, MAX_CONCURRENCY),
                        "task": Value::Object(inner),
                    }),
                );
                tasks.push(Value::Object(t));
                previous = vec![fe.task_key.clone()];
            }
            FanOutKind::Tasks(ts) | FanOutKind::Chain(ts) => {
                for (ot, deps) in ts.iter().zip(f.kind.dependencies(&previous)) {
                    let mut t = Map::new();
                    t.insert("task_key".into(), Value::String(ot.task_key.clone()));
                    depends_on(&mut t, &deps);
                    notebook_task(&mut t, ws(&ot.notebook)?, &ot.parameters, compute);
                    retries(&mut t, ot.timeout_seconds, ot.max_retries);
                    tasks.push(Value::Object(t));
                }
                previous = f.kind.last_keys();
            }
        }
    }
    if let Some(a) = &plan.after {
        let mut t = Map::new();
        t.insert("task_key".into(), Value::String(a.task_key.clone()));
        depends_on(&mut t, &previous);
        notebook_task(&mut t, ws(&a.notebook)?, &[], compute);
        tasks.push(Value::Object(t));
    }
    if tasks.len() > MAX_SUBMIT_TASKS {
        return Err(format!(
            "--to submit: {} tasks, over the {MAX_SUBMIT_TASKS} a runs/submit request takes; use a bundle job (--to auto)",
            tasks.len()
        ));
    }
    Ok(json!({ "run_name": plan.job_key, "tasks": tasks }))
}

/// The request body as the file `migrate` writes (2-space JSON, final newline).
pub fn submit_json(
    plan: &NotebookPlan,
    compute: &Compute,
    workspace_root: &str,
    project_root: &Path,
) -> Result<String, String> {
    let v = submit_request(plan, compute, workspace_root, project_root)?;
    let mut s = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::plan::*;
    use super::*;
    use ruff_text_size::TextRange;

    fn plan(kind: FanOutKind) -> NotebookPlan {
        NotebookPlan {
            notebook: "/r/notebooks/orchestrate.py".into(),
            bundle_root: "/r".into(),
            job_file: None,
            job_key: "orchestrate".into(),
            producer_key: "orchestrate".into(),
            producer_task: true,
            fanouts: vec![FanOutPlan {
                line: 3,
                dispatch: "ThreadPool.map".into(),
                kind,
                remove: vec![],
                replace: TextRange::default(),
                notes: vec![],
            }],
            refusals: vec![],
            explain: vec![],
            after: None,
        }
    }

    fn for_each(values: Option<Vec<Value>>) -> FanOutKind {
        FanOutKind::ForEach(ForEachPlan {
            task_key: "run_bronze".into(),
            child: "/r/notebooks/bronze.py".into(),
            parameters: vec![
                ("table".into(), ParamValue::Input),
                ("env".into(), ParamValue::Literal("prod".into())),
            ],
            items: Items {
                source: if values.is_some() {
                    ItemsSource::Literal
                } else {
                    ItemsSource::Dynamic
                },
                values,
                producer_expr: "tables".into(),
            },
            concurrency: 300,
            timeout_seconds: Some(600),
            max_retries: None,
            value_key: "run_bronze_inputs".into(),
        })
    }

    #[test]
    fn for_each_request() {
        let p = plan(for_each(Some(vec![json!("a"), json!("b")])));
        let v = submit_request(&p, &Compute::Serverless, "/Workspace/x/", Path::new("/r")).unwrap();
        assert_eq!(v["run_name"], "orchestrate");
        let tasks = v["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            tasks[0]["notebook_task"]["notebook_path"],
            "/Workspace/x/notebooks/orchestrate"
        );
        let fe = &tasks[1]["for_each_task"];
        assert_eq!(tasks[1]["depends_on"], json!([{"task_key": "orchestrate"}]));
        assert_eq!(fe["inputs"], "[\"a\",\"b\"]");
        assert_eq!(fe["concurrency"], 100);
        assert_eq!(fe["task"]["task_key"], "run_bronze_iteration");
        assert_eq!(
            fe["task"]["notebook_task"]["base_parameters"],
            json!({"table": "{{input}}", "env": "prod"})
        );
        assert_eq!(fe["task"]["timeout_seconds"], 600);
        assert!(fe["task"].get("max_retries").is_none());
        assert!(tasks[0].get("existing_cluster_id").is_none());
        // Dynamic items: the producer's task value.
        let p = plan(for_each(None));
        let v = submit_request(
            &p,
            &Compute::ExistingCluster("0101-abc".into()),
            "/W",
            Path::new("/r"),
        )
        .unwrap();
        assert_eq!(
            v["tasks"][1]["for_each_task"]["inputs"],
            "{{tasks.orchestrate.values.run_bronze_inputs}}"
        );
        assert_eq!(
            v["tasks"][1]["for_each_task"]["task"]["existing_cluster_id"],
            "0101-abc"
        );
        assert!(v["tasks"][1].get("existing_cluster_id").is_none());
    }

    #[test]
    fn refusals() {
        let p = plan(for_each(None));
        assert!(check_compute(&Compute::JobCluster("main".into())).is_err());
        assert!(check_compute(&Compute::ExistingCluster("${var.c}".into())).is_err());
        // A child outside the project has no known workspace path.
        let mut q = p.clone();
        if let FanOutKind::ForEach(fe) = &mut q.fanouts[0].kind {
            fe.child = "/elsewhere/child.py".into();
        }
        assert!(submit_request(&q, &Compute::Serverless, "/W", Path::new("/r")).is_err());
        // Over 100 tasks.
        let many: Vec<ObjectTask> = (0..100)
            .map(|i| ObjectTask {
                task_key: format!("t{i}"),
                notebook: "/r/a.py".into(),
                parameters: vec![],
                timeout_seconds: None,
                max_retries: None,
            })
            .collect();
        let p = plan(FanOutKind::Tasks(many));
        let e = submit_request(&p, &Compute::Serverless, "/W", Path::new("/r")).unwrap_err();
        assert!(e.contains("101 tasks"), "{e}");
    }
}
