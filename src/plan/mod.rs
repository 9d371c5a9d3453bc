//! `bricklint plan`: a job as deployed for a target, its task graph, every For Each expanded into
//! its iterations with resolved parameters and per-iteration problems, and the waves and wall
//! time of the fan-out. Offline: no cluster, no workspace.
//!
//! Flow: the bundle model gives a [`PlanJob`] (see `from_bundle`), [`plan_job`] builds a
//! [`JobPlan`], and `render` prints it as text, JSON or a Mermaid flowchart.

pub mod facts;
pub mod from_bundle;
pub mod model;
pub mod refs;
pub mod render;
pub mod waves;

use std::collections::{BTreeSet, HashMap};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

pub use facts::{NoFacts, NotebookFacts, StaticFacts, TaskValueFact, WidgetRead};
pub use model::{Compute, ParamValue, PlanJob, PlanTask, TaskKind};
use refs::{Resolution, Scope};
pub use waves::{Timing, Waves};

/// Version of the JSON output of `bricklint plan --format json`.
pub const JSON_VERSION: u32 = 1;

/// Inputs given on the command line (`--inputs FILE.json`).
#[derive(Debug, Clone)]
pub enum InputsOverride {
    /// A JSON array: the inputs of the job's only For Each task.
    Array { label: String, value: Value },
    /// `{"<for each task key>": [...], ...}`.
    PerTask {
        label: String,
        map: IndexMap<String, Value>,
    },
}

impl InputsOverride {
    /// Read a parsed `--inputs` file. An array feeds the only For Each; an object maps For Each
    /// task keys to arrays (or to JSON strings of arrays, as captured from a run).
    pub fn from_json(label: &str, value: Value) -> Result<Self, String> {
        match value {
            Value::Array(_) | Value::String(_) => Ok(InputsOverride::Array {
                label: label.to_string(),
                value,
            }),
            Value::Object(m) => Ok(InputsOverride::PerTask {
                label: label.to_string(),
                map: m.into_iter().collect(),
            }),
            other => Err(format!(
                "{label}: expected a JSON array (the inputs of the For Each) or an object of For Each task keys to arrays, found {}",
                type_name(&other)
            )),
        }
    }
    fn label(&self) -> &str {
        match self {
            InputsOverride::Array { label, .. } | InputsOverride::PerTask { label, .. } => label,
        }
    }
}

/// Durations for one For Each: the same for every iteration, or one per iteration.
#[derive(Debug, Clone, PartialEq)]
pub enum DurationSpec {
    Uniform(f64),
    PerIteration(Vec<f64>),
}

/// Durations given with `--duration` or `--durations FILE.json`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durations {
    /// For every For Each without its own entry.
    pub default: Option<DurationSpec>,
    pub per_task: IndexMap<String, DurationSpec>,
}

impl Durations {
    pub fn uniform(seconds: f64) -> Self {
        Durations {
            default: Some(DurationSpec::Uniform(seconds)),
            per_task: IndexMap::new(),
        }
    }

    /// A durations file: a number (seconds per iteration), an array (seconds per iteration, in
    /// input order), or an object of For Each task keys to either.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        fn spec(v: &Value) -> Result<DurationSpec, String> {
            match v {
                Value::Number(n) => n
                    .as_f64()
                    .filter(|x| *x >= 0.0)
                    .map(DurationSpec::Uniform)
                    .ok_or_else(|| format!("duration must be a non-negative number, found {n}")),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        x.as_f64().filter(|x| *x >= 0.0).ok_or_else(|| {
                            format!(
                                "duration #{} must be a non-negative number, found {x}",
                                i + 1
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(DurationSpec::PerIteration),
                other => Err(format!(
                    "expected a number or an array of numbers, found {}",
                    type_name(other)
                )),
            }
        }
        match value {
            Value::Object(m) => {
                let mut per_task = IndexMap::new();
                for (k, v) in m {
                    per_task.insert(k.clone(), spec(v).map_err(|e| format!("`{k}`: {e}"))?);
                }
                Ok(Durations {
                    default: None,
                    per_task,
                })
            }
            v => Ok(Durations {
                default: Some(spec(v)?),
                per_task: IndexMap::new(),
            }),
        }
    }

    fn for_task(&self, key: &str) -> Option<&DurationSpec> {
        self.per_task.get(key).or(self.default.as_ref())
    }
}

/// Options of one plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub inputs: Option<InputsOverride>,
    pub durations: Option<Durations>,
    /// Size of the driver pool the For Each replaces (default: the For Each's concurrency).
    pub pool_size: Option<usize>,
}

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }
}

/// A problem found while planning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub level: Level,
    /// Stable kind: `widget-unset`, `field-missing`, `not-string`, `duplicate`, ...
    pub kind: &'static str,
    pub message: String,
}

impl Problem {
    fn new(level: Level, kind: &'static str, message: impl Into<String>) -> Self {
        Problem {
            level,
            kind,
            message: message.into(),
        }
    }
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
    pub for_each: Vec<ForEachPlan>,
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

/// One For Each, expanded.
#[derive(Debug, Clone, Serialize)]
pub struct ForEachPlan {
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
    let (order, levels, cycle, unknown) = topo_order(&job.tasks);
    for (task, dep) in unknown {
        problems.push(Problem::new(
            Level::Error,
            "unknown-dependency",
            format!("task `{task}` depends on `{dep}`, which is not a task of this job"),
        ));
    }
    if !cycle.is_empty() {
        problems.push(Problem::new(
            Level::Error,
            "cycle",
            format!(
                "tasks on or behind a dependency cycle never run: {}",
                cycle
                    .iter()
                    .map(|&i| format!("`{}`", job.tasks[i].key))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let upstream = upstream_sets(&job.tasks);
    let mut steps = Vec::new();
    let mut for_each = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        let t = &job.tasks[i];
        steps.push(step_of(t, n + 1, levels[i]));
        if let TaskKind::ForEach { .. } = &t.kind {
            for_each.push(plan_for_each(job, t, &upstream, facts, opts));
        }
    }
    if let Some(InputsOverride::PerTask { map, label }) = &opts.inputs {
        for k in map.keys() {
            if !for_each.iter().any(|f| &f.task_key == k) {
                problems.push(Problem::new(
                    Level::Error,
                    "inputs-file",
                    format!("{label}: `{k}` is not a For Each task of job `{}`", job.key),
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
        cycle: cycle
            .into_iter()
            .map(|i| job.tasks[i].key.clone())
            .collect(),
        for_each,
        problems,
    }
}

fn notebook_of(t: &PlanTask) -> Option<String> {
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

type Topo = (Vec<usize>, Vec<usize>, Vec<usize>, Vec<(String, String)>);

/// Kahn's algorithm; among ready tasks the earliest declared runs first. Returns the order, the
/// level of each task (by index), the tasks left over (cycles) and unknown dependencies.
fn topo_order(tasks: &[PlanTask]) -> Topo {
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.key.as_str(), i))
        .collect();
    let mut indeg = vec![0usize; tasks.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    let mut unknown = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let mut seen = BTreeSet::new();
        for d in &t.depends_on {
            match index.get(d.as_str()) {
                Some(&j) if seen.insert(j) => {
                    indeg[i] += 1;
                    dependents[j].push(i);
                }
                Some(_) => {}
                None => unknown.push((t.key.clone(), d.clone())),
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..tasks.len()).filter(|&i| indeg[i] == 0).collect();
    let mut level = vec![0usize; tasks.len()];
    let mut order = Vec::with_capacity(tasks.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &j in &dependents[i] {
            level[j] = level[j].max(level[i] + 1);
            indeg[j] -= 1;
            if indeg[j] == 0 {
                ready.insert(j);
            }
        }
    }
    let left: Vec<usize> = (0..tasks.len()).filter(|i| !order.contains(i)).collect();
    (order, level, left, unknown)
}

/// For each task key, the set of task keys upstream of it (transitively).
fn upstream_sets(tasks: &[PlanTask]) -> HashMap<String, BTreeSet<String>> {
    let deps: HashMap<&str, &[String]> = tasks
        .iter()
        .map(|t| (t.key.as_str(), t.depends_on.as_slice()))
        .collect();
    let mut out = HashMap::new();
    for t in tasks {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&str> = t.depends_on.iter().map(|s| s.as_str()).collect();
        while let Some(k) = stack.pop() {
            if seen.insert(k.to_string()) {
                if let Some(ds) = deps.get(k) {
                    stack.extend(ds.iter().map(|s| s.as_str()));
                }
            }
        }
        out.insert(t.key.clone(), seen);
    }
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Elements of a value that should be a JSON array. A string holding a JSON array (a
/// double-encoded payload) is accepted with a warning.
fn elements_of(v: &Value, what: &str, problems: &mut Vec<Problem>) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => {
                problems.push(Problem::new(
                    Level::Warning,
                    "double-encoded",
                    format!("{what} is a string holding a JSON array (double-encoded, e.g. `json.dumps`); set the list itself"),
                ));
                Some(a)
            }
            _ => {
                problems.push(Problem::new(
                    Level::Error,
                    "inputs-invalid",
                    format!("{what} is a string, not a JSON array"),
                ));
                None
            }
        },
        other => {
            problems.push(Problem::new(
                Level::Error,
                "inputs-invalid",
                format!("{what} is {}, not a JSON array", type_name(other)),
            ));
            None
        }
    }
}

/// Resolve where the iterations of `t` come from.
/// What the expansion of one job needs.
struct Ctx<'a> {
    job: &'a PlanJob,
    upstream: &'a HashMap<String, BTreeSet<String>>,
    facts: &'a dyn NotebookFacts,
    opts: &'a PlanOptions,
    n_for_each: usize,
}

fn resolve_inputs(
    cx: &Ctx<'_>,
    t: &PlanTask,
    inputs: &str,
    problems: &mut Vec<Problem>,
) -> (InputsSource, Option<Vec<Value>>) {
    let (job, upstream, facts, opts, n_for_each) =
        (cx.job, cx.upstream, cx.facts, cx.opts, cx.n_for_each);
    // 1. --inputs
    if let Some(ov) = &opts.inputs {
        let given = match ov {
            InputsOverride::Array { value, .. } if n_for_each == 1 => Some(value),
            InputsOverride::Array { .. } => {
                problems.push(Problem::new(
                    Level::Error,
                    "inputs-file",
                    format!(
                        "{}: the job has {n_for_each} For Each tasks; give an object of task keys to arrays",
                        ov.label()
                    ),
                ));
                None
            }
            InputsOverride::PerTask { map, .. } => map.get(&t.key),
        };
        if let Some(v) = given {
            let src = InputsSource {
                kind: "file",
                detail: ov.label().to_string(),
            };
            let els = elements_of(v, &format!("the inputs in {}", ov.label()), problems);
            return (src, els);
        }
    }
    let text = refs::substitute_vars(inputs.trim(), &job.variables);
    let found = refs::scan(&text);
    // 2. inline JSON array
    if found.is_empty() {
        let src = InputsSource {
            kind: "inline",
            detail: "inline JSON array".into(),
        };
        return match serde_json::from_str::<Value>(&text) {
            Ok(v) => {
                if text.chars().count() as u64 > crate::limits::FOR_EACH_INLINE_MAX_CHARS {
                    problems.push(Problem::new(
                        Level::Error,
                        "inputs-too-large",
                        format!(
                            "inline inputs are {} characters; the limit is 10,000",
                            text.chars().count()
                        ),
                    ));
                }
                let els = elements_of(&v, "`inputs`", problems);
                (src, els)
            }
            Err(e) => {
                problems.push(Problem::new(
                    Level::Error,
                    "inputs-invalid",
                    format!("`inputs` is not valid JSON: {e}"),
                ));
                (src, None)
            }
        };
    }
    // 3. one reference that is the whole string
    let whole = found.len() == 1 && found[0].start == 0 && found[0].end == text.len();
    if whole {
        let path = &found[0].path;
        if path.len() == 4 && path[0] == "tasks" && path[2] == "values" {
            let (producer, key) = (&path[1], &path[3]);
            return producer_inputs(job, t, producer, key, upstream, facts, problems);
        }
        if path.len() == 3 && path[0] == "job" && path[1] == "parameters" {
            let name = &path[2];
            let src = InputsSource {
                kind: "job-parameter",
                detail: format!("default of job parameter `{name}`"),
            };
            return match job.parameters.get(name) {
                Some(d) => match serde_json::from_str::<Value>(d) {
                    Ok(v) => {
                        let els = elements_of(&v, &format!("job parameter `{name}`"), problems);
                        (src, els)
                    }
                    Err(e) => {
                        problems.push(Problem::new(
                            Level::Error,
                            "inputs-invalid",
                            format!("the default of job parameter `{name}` is not JSON: {e}"),
                        ));
                        (src, None)
                    }
                },
                None => {
                    problems.push(Problem::new(
                        Level::Error,
                        "inputs-invalid",
                        format!("`inputs` references job parameter `{name}`, which the job does not define"),
                    ));
                    (src, None)
                }
            };
        }
    }
    problems.push(Problem::new(
        Level::Info,
        "inputs-unknown",
        format!("`inputs` is `{text}`, known only at run time: give the payload with --inputs FILE.json to expand the iterations"),
    ));
    (
        InputsSource {
            kind: "unknown",
            detail: text,
        },
        None,
    )
}

fn producer_inputs(
    job: &PlanJob,
    t: &PlanTask,
    producer: &str,
    key: &str,
    upstream: &HashMap<String, BTreeSet<String>>,
    facts: &dyn NotebookFacts,
    problems: &mut Vec<Problem>,
) -> (InputsSource, Option<Vec<Value>>) {
    let mut src = InputsSource {
        kind: "task-value",
        detail: format!("task value `{key}` of task `{producer}`"),
    };
    let Some(p) = job.tasks.iter().find(|x| x.key == producer) else {
        problems.push(Problem::new(
            Level::Error,
            "inputs-invalid",
            format!("`inputs` reads a task value of `{producer}`, which is not a task of this job"),
        ));
        return (src, None);
    };
    if !upstream.get(&t.key).is_some_and(|u| u.contains(producer)) {
        problems.push(Problem::new(
            Level::Error,
            "producer-not-upstream",
            format!("`{producer}` is not upstream of `{}` (add it to `depends_on`): its task value is not available", t.key),
        ));
    }
    let TaskKind::Notebook { local, path, .. } = &p.kind else {
        problems.push(Problem::new(
            Level::Info,
            "inputs-unknown",
            format!("producer `{producer}` is not a notebook task: give the payload with --inputs FILE.json"),
        ));
        return (src, None);
    };
    src.detail = format!("task value `{key}` set by `{producer}` ({path})");
    let Some(local) = local else {
        problems.push(Problem::new(
            Level::Info,
            "inputs-unknown",
            format!("producer notebook {path} is not in the repository: give the payload with --inputs FILE.json"),
        ));
        return (src, None);
    };
    match facts.task_value(local, key) {
        TaskValueFact::Known { value, line } => {
            if let Some(l) = line {
                src.detail = format!("task value `{key}` set by `{producer}` ({path}:{l})");
            }
            let size = serde_json::to_string(&value).map(|s| s.len()).unwrap_or(0);
            if size as u64 > crate::limits::TASK_VALUE_MAX_BYTES {
                problems.push(Problem::new(
                    Level::Error,
                    "inputs-too-large",
                    format!("the task value is {size} bytes of JSON; the limit is 49,152 (48 KiB)"),
                ));
            }
            let els = elements_of(&value, &format!("task value `{key}`"), problems);
            (src, els)
        }
        TaskValueFact::Dynamic { reason, .. } => {
            problems.push(Problem::new(
                Level::Info,
                "inputs-unknown",
                format!("task value `{key}` is computed at run time ({reason}): give the payload with --inputs FILE.json"),
            ));
            (src, None)
        }
        TaskValueFact::NotSet => {
            problems.push(Problem::new(
                Level::Error,
                "inputs-invalid",
                format!("{path} never sets task value `{key}`"),
            ));
            (src, None)
        }
        TaskValueFact::Unknown => {
            problems.push(Problem::new(
                Level::Info,
                "inputs-unknown",
                format!("{path} could not be analysed: give the payload with --inputs FILE.json"),
            ));
            (src, None)
        }
    }
}

/// A canonical text of a JSON value (object keys sorted), for duplicate detection.
fn canonical(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<_> = m.iter().collect();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    keys.into_iter()
                        .map(|(k, v)| (k.clone(), sort(v)))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sort(v)).unwrap_or_default()
}

fn plan_for_each(
    job: &PlanJob,
    t: &PlanTask,
    upstream: &HashMap<String, BTreeSet<String>>,
    facts: &dyn NotebookFacts,
    opts: &PlanOptions,
) -> ForEachPlan {
    let TaskKind::ForEach {
        inputs,
        inputs_not_string,
        concurrency,
        task: nested,
    } = &t.kind
    else {
        unreachable!("plan_for_each is called on For Each tasks only")
    };
    let mut problems = Vec::new();
    match concurrency {
        None => problems.push(Problem::new(
            Level::Info,
            "concurrency",
            "`concurrency` is not set: iterations run one at a time",
        )),
        Some(c) if !(1..=waves::MAX_CONCURRENCY).contains(c) => problems.push(Problem::new(
            Level::Error,
            "concurrency",
            format!(
                "`concurrency: {c}` is outside 1..=100; modelled as {}",
                waves::effective_concurrency(Some(*c))
            ),
        )),
        _ => {}
    }
    if *inputs_not_string {
        problems.push(Problem::new(
            Level::Error,
            "inputs-invalid",
            "`inputs` is not a string in YAML (a YAML list?): the API wants a JSON array in a quoted string",
        ));
    }
    let n_for_each = job
        .tasks
        .iter()
        .filter(|x| matches!(x.kind, TaskKind::ForEach { .. }))
        .count();
    let cx = Ctx {
        job,
        upstream,
        facts,
        opts,
        n_for_each,
    };
    let (source, elements) = resolve_inputs(&cx, t, inputs, &mut problems);

    // The nested task's parameters, as written, with the static references resolved.
    let (template, local): (IndexMap<String, ParamValue>, Option<&std::path::Path>) =
        match &nested.kind {
            TaskKind::Notebook {
                base_parameters,
                local,
                ..
            } => (base_parameters.clone(), local.as_deref()),
            _ => (IndexMap::new(), None),
        };
    let static_scope = Scope {
        input: None,
        job_parameters: &job.parameters,
        variables: &job.variables,
    };
    let mut parameters = IndexMap::new();
    let mut uses_input = false;
    for (k, v) in &template {
        if let ParamValue::NotString(x) = v {
            problems.push(Problem::new(
                Level::Warning,
                "not-string",
                format!(
                    "parameter `{k}` is {} ({}) in YAML; `base_parameters` values are strings",
                    type_name(x),
                    model::json_text(x)
                ),
            ));
        }
        let (s, res) = refs::substitute(&v.text(), &static_scope);
        for r in res {
            match r {
                Resolution::UnknownJobParameter { name } => problems.push(Problem::new(
                    Level::Error,
                    "unknown-job-parameter",
                    format!("parameter `{k}` references job parameter `{name}`, which the job does not define"),
                )),
                Resolution::InputUnknown { .. } => uses_input = true,
                _ => {}
            }
        }
        parameters.insert(k.clone(), s);
    }
    if !uses_input && matches!(nested.kind, TaskKind::Notebook { .. }) {
        problems.push(Problem::new(
            Level::Warning,
            "input-unused",
            "the nested task never uses `{{input}}`: every iteration runs the same parameters",
        ));
    }

    // Widgets of the child.
    let widgets = local.and_then(|p| facts.widgets(p));
    if let Some(ws) = &widgets {
        for w in ws {
            let passed = template.contains_key(&w.name) || job.parameters.contains_key(&w.name);
            if !passed {
                if let Some(d) = &w.default {
                    problems.push(Problem::new(
                        Level::Info,
                        "widget-default",
                        format!("widget `{}` is not passed: every iteration uses the notebook default {d:?}", w.name),
                    ));
                }
            }
        }
        let open = local.is_some_and(|p| facts.reads_other_widgets(p));
        for k in template.keys() {
            if !open && !ws.iter().any(|w| &w.name == k) {
                problems.push(Problem::new(
                    Level::Info,
                    "parameter-unused",
                    format!("parameter `{k}` is passed but the child notebook never reads it"),
                ));
            }
        }
    } else if matches!(nested.kind, TaskKind::Notebook { .. }) {
        problems.push(Problem::new(
            Level::Info,
            "widgets-unknown",
            "the child notebook is not a file of the repository, or could not be analysed: widgets are not checked",
        ));
    }
    for (k, v) in &template {
        let same = v.text().replace(' ', "") == format!("{{{{job.parameters.{k}}}}}");
        if job.parameters.contains_key(k) && !same {
            problems.push(Problem::new(
                Level::Warning,
                "shadowed-by-job-parameter",
                format!("job parameter `{k}` is pushed down to the nested notebook task and wins over its `base_parameters.{k}`"),
            ));
        }
    }

    let expanded = elements.is_some();
    let elements = elements.unwrap_or_default();
    let mut iterations = Vec::with_capacity(elements.len());
    let mut seen_elements: HashMap<String, usize> = HashMap::new();
    let mut seen_params: HashMap<String, usize> = HashMap::new();
    for (i, el) in elements.iter().enumerate() {
        let index = i + 1;
        let scope = Scope {
            input: Some(el),
            job_parameters: &job.parameters,
            variables: &job.variables,
        };
        let mut ip = Vec::new();
        let mut resolved = IndexMap::new();
        for (k, v) in &template {
            let (s, res) = refs::substitute(&v.text(), &scope);
            for r in res {
                match r {
                    Resolution::MissingField { path, field } => {
                        let why = if el.is_object() {
                            format!("the element has no field `{field}`")
                        } else {
                            format!("the element is {}, not an object", type_name(el))
                        };
                        ip.push(Problem::new(
                            Level::Error,
                            "field-missing",
                            format!("parameter `{k}`: `{{{{{path}}}}}` cannot resolve: {why}"),
                        ));
                    }
                    Resolution::Input { path, value } if !value.is_string() => {
                        ip.push(Problem::new(
                            Level::Warning,
                            "not-string",
                            format!(
                                "parameter `{k}`: `{{{{{path}}}}}` is {}, not a string: the widget receives the text {:?}",
                                type_name(&value),
                                model::json_text(&value)
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            resolved.insert(k.clone(), s);
        }
        if let Some(ws) = &widgets {
            for w in ws.iter().filter(|w| w.default.is_none()) {
                if !resolved.contains_key(&w.name) && !job.parameters.contains_key(&w.name) {
                    let at = match (w.line, notebook_of(nested)) {
                        (Some(l), Some(nb)) => format!(" ({nb}:{l})"),
                        (Some(l), None) => format!(" (line {l})"),
                        _ => String::new(),
                    };
                    ip.push(Problem::new(
                        Level::Error,
                        "widget-unset",
                        format!("widget `{}` is read without a default{at} and no parameter sets it: the iteration fails", w.name),
                    ));
                }
            }
        }
        let ck = canonical(el);
        if let Some(&first) = seen_elements.get(&ck) {
            ip.push(Problem::new(
                Level::Warning,
                "duplicate",
                format!("same element as iteration {first}: the work runs twice"),
            ));
        } else {
            seen_elements.insert(ck, index);
            if !resolved.is_empty() {
                let pk = serde_json::to_string(&resolved).unwrap_or_default();
                if let Some(&first) = seen_params.get(&pk) {
                    ip.push(Problem::new(
                        Level::Warning,
                        "duplicate",
                        format!("same parameters as iteration {first}: the work runs twice"),
                    ));
                } else {
                    seen_params.insert(pk, index);
                }
            }
        }
        iterations.push(Iteration {
            index,
            input: el.clone(),
            parameters: resolved,
            problems: ip,
        });
    }

    let c = waves::effective_concurrency(*concurrency);
    let (waves_v, timing) = if expanded {
        let w = waves::waves(iterations.len(), c);
        let timing = opts
            .durations
            .as_ref()
            .and_then(|d| d.for_task(&t.key))
            .map(|spec| {
                let n = iterations.len();
                let (ds, uniform, filled) = match spec {
                    DurationSpec::Uniform(s) => (vec![*s; n], true, 0),
                    DurationSpec::PerIteration(list) => {
                        let mean = if list.is_empty() {
                            0.0
                        } else {
                            list.iter().sum::<f64>() / list.len() as f64
                        };
                        let mut ds: Vec<f64> = list.iter().take(n).copied().collect();
                        let filled = n.saturating_sub(ds.len());
                        ds.resize(n, mean);
                        if list.len() > n {
                            problems.push(Problem::new(
                                Level::Warning,
                                "durations",
                                format!("{} durations given for {n} iterations: the extra ones are ignored", list.len()),
                            ));
                        }
                        if filled > 0 {
                            problems.push(Problem::new(
                                Level::Warning,
                                "durations",
                                format!("{} durations given for {n} iterations: the mean is used for the other {filled}", list.len()),
                            ));
                        }
                        (ds, false, filled)
                    }
                };
                let pool = opts.pool_size.unwrap_or(c);
                waves::timing(&ds, c, pool, uniform, filled)
            });
        (Some(w), timing)
    } else {
        (None, None)
    };

    ForEachPlan {
        task_key: t.key.clone(),
        nested_task_key: nested.key.clone(),
        notebook: notebook_of(nested),
        source,
        expanded,
        parameters,
        widgets,
        iterations,
        waves: waves_v,
        timing,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn nb(key: &str, path: &str, params: &[(&str, &str)], deps: &[&str]) -> PlanTask {
        PlanTask {
            key: key.into(),
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
            kind: TaskKind::Notebook {
                path: path.into(),
                local: Some(PathBuf::from(path)),
                base_parameters: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), ParamValue::from(*v)))
                    .collect(),
            },
            ..Default::default()
        }
    }

    fn fe(key: &str, inputs: &str, c: Option<i64>, nested: PlanTask, deps: &[&str]) -> PlanTask {
        PlanTask {
            key: key.into(),
            depends_on: deps.iter().map(|s| s.to_string()).collect(),
            kind: TaskKind::ForEach {
                inputs: inputs.into(),
                inputs_not_string: false,
                concurrency: c,
                task: Box::new(nested),
            },
            compute: Compute::NotNeeded,
            ..Default::default()
        }
    }

    fn job(tasks: Vec<PlanTask>) -> PlanJob {
        PlanJob {
            key: "j".into(),
            tasks,
            ..Default::default()
        }
    }

    fn kinds(p: &[Problem]) -> Vec<&'static str> {
        p.iter().map(|p| p.kind).collect()
    }

    #[test]
    fn order_is_topological_and_stable() {
        let j = job(vec![
            nb("c", "c.py", &[], &["a", "b"]),
            nb("b", "b.py", &[], &[]),
            nb("a", "a.py", &[], &[]),
            nb("d", "d.py", &[], &["a"]),
        ]);
        let p = plan_job(&j, &NoFacts, &PlanOptions::default());
        let keys: Vec<_> = p.tasks.iter().map(|s| s.task_key.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c", "d"]);
        assert_eq!(p.tasks[2].level, 1);
        assert!(p.problems.is_empty());
    }

    #[test]
    fn cycles_and_unknown_dependencies_are_problems() {
        let j = job(vec![
            nb("a", "a.py", &[], &["b"]),
            nb("b", "b.py", &[], &["a"]),
            nb("c", "c.py", &[], &["zz"]),
        ]);
        let p = plan_job(&j, &NoFacts, &PlanOptions::default());
        assert_eq!(p.cycle, ["a", "b"]);
        assert!(p.problems[1].message.ends_with("never run: `a`, `b`"));
        assert_eq!(kinds(&p.problems), ["unknown-dependency", "cycle"]);
    }

    #[test]
    fn inline_inputs_expand_with_problems() {
        let child = nb(
            "child",
            "child.py",
            &[("table", "{{input.table}}"), ("n", "{{input.n}}")],
            &[],
        );
        let j = job(vec![fe(
            "loop",
            r#"[{"table":"a","n":"1"},{"table":"b","n":2},{"n":"3"},{"table":"a","n":"1"}]"#,
            Some(2),
            child,
            &[],
        )]);
        let mut facts = StaticFacts::default();
        facts.widgets.insert(
            PathBuf::from("child.py"),
            vec![
                WidgetRead {
                    name: "table".into(),
                    default: None,
                    line: Some(3),
                },
                WidgetRead {
                    name: "n".into(),
                    default: None,
                    line: Some(4),
                },
                WidgetRead {
                    name: "date".into(),
                    default: None,
                    line: Some(5),
                },
            ],
        );
        let opts = PlanOptions {
            durations: Some(Durations::uniform(60.0)),
            pool_size: Some(4),
            ..Default::default()
        };
        let p = plan_job(&j, &facts, &opts);
        let f = &p.for_each[0];
        assert!(f.expanded);
        assert_eq!(f.iterations.len(), 4);
        assert_eq!(f.iterations[0].parameters["table"], "a");
        assert_eq!(f.iterations[1].parameters["n"], "2");
        assert_eq!(kinds(&f.iterations[0].problems), ["widget-unset"]);
        assert_eq!(
            kinds(&f.iterations[1].problems),
            ["not-string", "widget-unset"]
        );
        assert_eq!(
            kinds(&f.iterations[2].problems),
            ["field-missing", "widget-unset"]
        );
        assert_eq!(
            kinds(&f.iterations[3].problems),
            ["widget-unset", "duplicate"]
        );
        let w = f.waves.as_ref().unwrap();
        assert_eq!((w.waves, w.concurrency), (2, 2));
        let t = f.timing.as_ref().unwrap();
        assert_eq!(t.for_each_seconds, 120.0);
        assert_eq!(t.driver_pool_seconds, 60.0);
    }

    #[test]
    fn producer_payload_and_job_parameters() {
        let producer = nb("produce", "produce.py", &[], &[]);
        let child = nb(
            "child",
            "child.py",
            &[
                ("x", "{{input}}"),
                ("env_name", "{{job.parameters.env}}"),
                ("env", "staging"),
            ],
            &[],
        );
        let mut j = job(vec![
            producer,
            fe(
                "loop",
                "{{tasks.produce.values.items}}",
                Some(10),
                child,
                &["produce"],
            ),
        ]);
        j.parameters.insert("env".into(), "prod".into());
        let mut facts = StaticFacts::default();
        facts.task_values.insert(
            (PathBuf::from("produce.py"), "items".into()),
            TaskValueFact::Known {
                value: json!(["a", "b", "c"]),
                line: Some(7),
            },
        );
        let p = plan_job(&j, &facts, &PlanOptions::default());
        let f = &p.for_each[0];
        assert_eq!(f.source.kind, "task-value");
        assert!(f.source.detail.contains("produce.py:7"));
        assert_eq!(f.iterations.len(), 3);
        assert_eq!(f.iterations[2].parameters["x"], "c");
        assert_eq!(f.iterations[2].parameters["env_name"], "prod");
        assert_eq!(f.iterations[2].parameters["env"], "staging");
        assert!(kinds(&f.problems).contains(&"shadowed-by-job-parameter"));
    }

    #[test]
    fn producer_not_upstream_and_unknown() {
        let j = job(vec![
            nb("produce", "produce.py", &[], &[]),
            fe(
                "loop",
                "{{tasks.produce.values.items}}",
                Some(1),
                nb("c", "c.py", &[("x", "{{input}}")], &[]),
                &[],
            ),
        ]);
        let p = plan_job(&j, &NoFacts, &PlanOptions::default());
        let f = &p.for_each[0];
        assert!(!f.expanded);
        assert!(f.waves.is_none());
        assert_eq!(
            kinds(&f.problems),
            ["producer-not-upstream", "inputs-unknown", "widgets-unknown"]
        );
    }

    #[test]
    fn inputs_file_overrides_and_double_encoding() {
        let j = job(vec![fe(
            "loop",
            "{{tasks.gone.values.k}}",
            Some(3),
            nb("c", "c.py", &[("x", "{{input}}")], &[]),
            &[],
        )]);
        let opts = PlanOptions {
            inputs: Some(InputsOverride::from_json("run.json", json!("[1, 2]")).unwrap()),
            ..Default::default()
        };
        let p = plan_job(&j, &NoFacts, &opts);
        let f = &p.for_each[0];
        assert_eq!(f.source.kind, "file");
        assert_eq!(f.iterations.len(), 2);
        assert!(kinds(&f.problems).contains(&"double-encoded"));
        assert_eq!(kinds(&f.iterations[0].problems), ["not-string"]);
        let opts = PlanOptions {
            inputs: Some(InputsOverride::from_json("run.json", json!({"other": []})).unwrap()),
            ..Default::default()
        };
        let p = plan_job(&j, &NoFacts, &opts);
        assert_eq!(kinds(&p.problems), ["inputs-file"]);
    }

    #[test]
    fn inputs_from_job_parameter_and_invalid_inputs() {
        let child = || nb("c", "c.py", &[("x", "{{input}}")], &[]);
        let mut j = job(vec![fe(
            "loop",
            "{{job.parameters.items}}",
            Some(2),
            child(),
            &[],
        )]);
        j.parameters
            .insert("items".into(), r#"["a","b","a"]"#.into());
        let p = plan_job(&j, &NoFacts, &PlanOptions::default());
        let f = &p.for_each[0];
        assert_eq!(f.source.kind, "job-parameter");
        assert_eq!(f.iterations.len(), 3);
        assert_eq!(kinds(&f.iterations[2].problems), ["duplicate"]);

        let j = job(vec![fe("loop", "[1, 2", Some(2), child(), &[])]);
        let p = plan_job(&j, &NoFacts, &PlanOptions::default());
        assert!(!p.for_each[0].expanded);
        assert!(kinds(&p.for_each[0].problems).contains(&"inputs-invalid"));

        let j = job(vec![fe("loop", r#"{"a": 1}"#, Some(2), child(), &[])]);
        let p = plan_job(&j, &NoFacts, &PlanOptions::default());
        assert!(p.for_each[0].problems[0]
            .message
            .contains("an object, not a JSON array"));

        let mut t = fe("loop", "[1]", Some(2), child(), &[]);
        if let TaskKind::ForEach {
            inputs_not_string, ..
        } = &mut t.kind
        {
            *inputs_not_string = true;
        }
        let p = plan_job(&job(vec![t]), &NoFacts, &PlanOptions::default());
        assert_eq!(p.for_each[0].iterations.len(), 1);
        assert_eq!(kinds(&p.for_each[0].problems)[0], "inputs-invalid");
    }

    #[test]
    fn producer_sets_nothing_or_a_dynamic_value() {
        let mk = || {
            job(vec![
                nb("produce", "produce.py", &[], &[]),
                fe(
                    "loop",
                    "{{tasks.produce.values.items}}",
                    Some(2),
                    nb("c", "c.py", &[("x", "{{input}}")], &[]),
                    &["produce"],
                ),
            ])
        };
        let mut facts = StaticFacts::default();
        facts.analysed.insert(PathBuf::from("produce.py"));
        let p = plan_job(&mk(), &facts, &PlanOptions::default());
        assert!(kinds(&p.for_each[0].problems).contains(&"inputs-invalid"));
        assert!(p.for_each[0].problems[0]
            .message
            .contains("never sets task value `items`"));
        facts.task_values.insert(
            (PathBuf::from("produce.py"), "items".into()),
            TaskValueFact::Dynamic {
                reason: "a Spark query".into(),
                line: None,
            },
        );
        let p = plan_job(&mk(), &facts, &PlanOptions::default());
        assert!(p.for_each[0].problems[0].message.contains("a Spark query"));
        assert_eq!(p.for_each[0].problems[0].level, Level::Info);
    }

    #[test]
    fn durations_file_forms() {
        let d = Durations::from_json(&json!([1, 2.5])).unwrap();
        assert_eq!(d.default, Some(DurationSpec::PerIteration(vec![1.0, 2.5])));
        let d = Durations::from_json(&json!({"loop": 30})).unwrap();
        assert_eq!(d.for_task("loop"), Some(&DurationSpec::Uniform(30.0)));
        assert!(Durations::from_json(&json!("x")).is_err());
        assert!(Durations::from_json(&json!([-1])).is_err());
    }
}
