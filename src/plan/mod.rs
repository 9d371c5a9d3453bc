//! `bricklint plan`: a job as deployed for a target, its task graph, every For Each expanded into
//! its iterations with resolved parameters and per-iteration problems, and the waves and wall
//! time of the fan-out. Offline: no cluster, no workspace.
//!
//! Flow: the bundle model gives a [`PlanJob`] (see `from_bundle`), [`plan_job`] builds a
//! [`JobPlan`], and `render` prints it as text, JSON or a Mermaid flowchart.

pub mod facts;
mod for_each;
pub mod from_bundle;
pub mod iteration;
pub mod model;
pub mod options;
pub mod refs;
pub mod render;
pub mod submit;
pub mod waves;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

pub use facts::{NoFacts, NotebookFacts, StaticFacts, TaskValueFact, WidgetRead};
pub use model::{Compute, ParamValue, PlanJob, PlanTask, TaskKind};
pub use options::{DurationSpec, Durations, InputsOverride};
pub use waves::{Timing, Waves};

use crate::bundle::TaskGraph;
pub use crate::diagnostic::{Problem, Severity};

/// Version of the JSON output of `bricklint plan --format json`.
pub const JSON_VERSION: u32 = 1;

/// Options of one plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub inputs: Option<InputsOverride>,
    pub durations: Option<Durations>,
    /// Size of the driver pool the For Each replaces (default: the For Each's concurrency).
    pub pool_size: Option<usize>,
}

/// The plan of one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobPlan {
    pub job: String,
    pub name: Option<String>,
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub parameters: IndexMap<String, String>,
    /// Tasks in run order (topological; ties broken by declaration order).
    pub tasks: Vec<TaskStep>,
    /// Tasks left out of the order because they are on or behind a dependency cycle.
    pub cycle: Vec<String>,
    pub for_each: Vec<ForEachExpansion>,
    /// Problems of the job as a whole (unknown dependencies, cycles).
    pub problems: Vec<Problem>,
}

impl JobPlan {
    /// Every problem of the plan, job-level then For Each-level then per iteration.
    pub fn all_problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .chain(self.for_each.iter().flat_map(|f| {
                f.problems
                    .iter()
                    .chain(f.iterations.iter().flat_map(|i| i.problems.iter()))
            }))
    }
}

/// One task in run order.
#[derive(Debug, Clone, Serialize)]
pub struct TaskStep {
    /// 1-based position in the run order.
    pub step: usize,
    /// Depth in the graph: 0 for tasks without dependencies, else 1 + the deepest dependency.
    pub level: usize,
    pub task_key: String,
    #[serde(rename = "type")]
    pub task_type: String,
    pub depends_on: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_if: Option<String>,
    pub compute: Compute,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notebook: Option<String>,
    /// For a For Each: declared concurrency (null when missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEachStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ForEachStep {
    pub concurrency: Option<i64>,
    pub inputs: String,
    pub task_key: String,
    #[serde(rename = "type")]
    pub task_type: String,
    pub compute: Compute,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notebook: Option<String>,
}

/// Where the iterations came from.
#[derive(Debug, Clone, Serialize)]
pub struct InputsSource {
    /// `inline`, `file`, `task-value`, `job-parameter` or `unknown`.
    pub kind: &'static str,
    pub detail: String,
}

/// One For Each task of a bundle job, expanded into its iterations (what `bricklint plan`
/// shows; `migrate::plan::ForEachPlan` is the For Each a migration creates).
#[derive(Debug, Clone, Serialize)]
pub struct ForEachExpansion {
    pub task_key: String,
    pub nested_task_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notebook: Option<String>,
    pub source: InputsSource,
    /// Whether the iterations are known (false when the inputs only exist at run time).
    pub expanded: bool,
    /// `base_parameters` as written, after `${var.x}` and `{{job.parameters.x}}`.
    pub parameters: IndexMap<String, String>,
    /// Widgets the child notebook reads (null when it could not be analysed).
    pub widgets: Option<Vec<WidgetRead>>,
    pub iterations: Vec<Iteration>,
    pub waves: Option<Waves>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    pub problems: Vec<Problem>,
    /// Upstream task values the nested task's parameters read (`{{tasks.t.values.k}}`), with
    /// their values where known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub task_values: Vec<TaskValueInput>,
}

/// An upstream task value that a For Each's nested task reads.
#[derive(Debug, Clone, Serialize)]
pub struct TaskValueInput {
    pub task: String,
    pub key: String,
    /// Null when not known before the run (give it with `--inputs`).
    pub value: Option<Value>,
}

/// One iteration of a For Each.
#[derive(Debug, Clone, Serialize)]
pub struct Iteration {
    /// 1-based.
    pub index: usize,
    pub input: Value,
    /// Fully resolved `base_parameters` of this iteration.
    pub parameters: IndexMap<String, String>,
    pub problems: Vec<Problem>,
}

/// Build the plan of one job.
pub fn plan_job(job: &PlanJob, facts: &dyn NotebookFacts, opts: &PlanOptions) -> JobPlan {
    let mut problems = Vec::new();
    let graph = TaskGraph::from_keys(job.tasks.iter().map(|t| {
        let deps = t.depends_on.iter().map(String::as_str).collect();
        (Some(t.key.as_str()), deps)
    }));
    for t in &job.tasks {
        for dep in t.depends_on.iter().filter(|d| graph.index_of(d).is_none()) {
            problems.push(Problem::new(
                Severity::Error,
                "unknown-dependency",
                format!(
                    "task `{}` depends on `{dep}`, which is not a task of this job",
                    t.key
                ),
            ));
        }
    }
    let order = graph.run_order();
    if !order.left.is_empty() {
        problems.push(Problem::new(
            Severity::Error,
            "cycle",
            format!(
                "tasks on or behind a dependency cycle never run: {}",
                order
                    .left
                    .iter()
                    .map(|&i| format!("`{}`", job.tasks[i].key))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let cx = for_each::Ctx {
        job,
        graph: &graph,
        facts,
        opts,
        n_for_each: job
            .tasks
            .iter()
            .filter(|x| matches!(x.kind, TaskKind::ForEach { .. }))
            .count(),
    };
    let mut steps = Vec::new();
    let mut for_each = Vec::new();
    for (n, &i) in order.order.iter().enumerate() {
        let t = &job.tasks[i];
        steps.push(step_of(t, n + 1, order.level[i]));
        if let TaskKind::ForEach { .. } = &t.kind {
            for_each.push(for_each::plan_for_each(&cx, t));
        }
    }
    if let Some(ov) = &opts.inputs {
        for k in ov.for_each_keys() {
            if !for_each.iter().any(|f| f.task_key == k) {
                problems.push(Problem::new(
                    Severity::Error,
                    "inputs-file",
                    format!(
                        "{}: `{k}` is not a For Each task of job `{}`",
                        ov.label(),
                        job.key
                    ),
                ));
            }
        }
    }
    JobPlan {
        job: job.key.clone(),
        name: job.name.clone(),
        target: job.target.clone(),
        file: job.file.clone(),
        parameters: job.parameters.clone(),
        tasks: steps,
        cycle: order
            .left
            .into_iter()
            .map(|i| job.tasks[i].key.clone())
            .collect(),
        for_each,
        problems,
    }
}

pub(crate) fn notebook_of(t: &PlanTask) -> Option<String> {
    match &t.kind {
        TaskKind::Notebook { path, .. } => Some(path.clone()),
        _ => None,
    }
}

fn step_of(t: &PlanTask, step: usize, level: usize) -> TaskStep {
    let for_each = match &t.kind {
        TaskKind::ForEach {
            inputs,
            concurrency,
            task,
            ..
        } => Some(ForEachStep {
            concurrency: *concurrency,
            inputs: inputs.clone(),
            task_key: task.key.clone(),
            task_type: task.kind.type_name().to_string(),
            compute: task.compute.clone(),
            notebook: notebook_of(task),
        }),
        _ => None,
    };
    TaskStep {
        step,
        level,
        task_key: t.key.clone(),
        task_type: t.kind.type_name().to_string(),
        depends_on: t.depends_on.clone(),
        run_if: t.run_if.clone(),
        compute: t.compute.clone(),
        notebook: notebook_of(t),
        for_each,
    }
}

/// A JSON value's kind, for messages (`a number`, `an object`).
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
