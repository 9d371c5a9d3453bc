//! One For Each task expanded: where its inputs come from, the nested task's parameters as
//! written and per iteration, the widgets the child reads, and waves and timing.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

use super::facts::{NotebookFacts, TaskValueFact, WidgetRead};
use super::model::{self, ParamValue, PlanJob, PlanTask, TaskKind};
use super::options::{DurationSpec, InputsOverride};
use super::refs::{self, Resolution, Scope, TaskValues};
use super::waves::{self, Timing, Waves};
use super::{
    notebook_of, type_name, ForEachExpansion, InputsSource, Iteration, PlanOptions, Problem,
    Severity,
};
use crate::bundle::TaskGraph;

/// What the expansion of one job needs.
pub(super) struct Ctx<'a> {
    pub job: &'a PlanJob,
    pub graph: &'a TaskGraph,
    pub facts: &'a dyn NotebookFacts,
    pub opts: &'a PlanOptions,
    pub n_for_each: usize,
}

/// Elements of a value that should be a JSON array. A string holding a JSON array (a
/// double-encoded payload) is accepted with a warning.
fn elements_of(v: &Value, what: &str, problems: &mut Vec<Problem>) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => {
                problems.push(Problem::new(
                    Severity::Warning,
                    "double-encoded",
                    format!("{what} is a string holding a JSON array (double-encoded, e.g. `json.dumps`); set the list itself"),
                ));
                Some(a)
            }
            _ => {
                problems.push(Problem::new(
                    Severity::Error,
                    "inputs-invalid",
                    format!("{what} is a string, not a JSON array"),
                ));
                None
            }
        },
        other => {
            problems.push(Problem::new(
                Severity::Error,
                "inputs-invalid",
                format!("{what} is {}, not a JSON array", type_name(other)),
            ));
            None
        }
    }
}

/// Where the iterations of `t` come from.
fn resolve_inputs(
    cx: &Ctx<'_>,
    t: &PlanTask,
    inputs: &str,
    problems: &mut Vec<Problem>,
) -> (InputsSource, Option<Vec<Value>>) {
    // 1. --inputs
    if let Some(ov) = &cx.opts.inputs {
        let given = match ov {
            InputsOverride::Array { value, .. } if cx.n_for_each == 1 => Some(value),
            InputsOverride::Array { .. } => {
                problems.push(Problem::new(
                    Severity::Error,
                    "inputs-file",
                    format!(
                        "{}: the job has {} For Each tasks; give an object of task keys to arrays",
                        ov.label(),
                        cx.n_for_each
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
    let text = refs::substitute_vars(inputs.trim(), &cx.job.variables);
    let found = refs::scan(&text);
    // 2. inline JSON array
    if found.is_empty() {
        return inline_inputs(text, problems);
    }
    // 3. one reference that is the whole string
    let whole = found.len() == 1 && found[0].start == 0 && found[0].end == text.len();
    if whole {
        let path = &found[0].path;
        if path.len() == 4 && path[0] == "tasks" && path[2] == "values" {
            let (detail, value) = upstream_value(cx, &t.key, &path[1], &path[3], problems);
            let src = InputsSource {
                kind: if value.is_some() && detail.starts_with("--inputs") {
                    "file"
                } else {
                    "task-value"
                },
                detail,
            };
            let els =
                value.and_then(|v| elements_of(&v, &format!("task value `{}`", path[3]), problems));
            return (src, els);
        }
        if path.len() == 3 && path[0] == "job" && path[1] == "parameters" {
            return job_parameter_inputs(cx.job, &path[2], problems);
        }
    }
    problems.push(Problem::new(
        Severity::Info,
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

fn inline_inputs(text: String, problems: &mut Vec<Problem>) -> (InputsSource, Option<Vec<Value>>) {
    let src = InputsSource {
        kind: "inline",
        detail: "inline JSON array".into(),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => {
            let n = text.chars().count();
            if n as u64 > crate::limits::FOR_EACH_INLINE_MAX_CHARS {
                problems.push(Problem::new(
                    Severity::Error,
                    "inputs-too-large",
                    format!("inline inputs are {n} characters; the limit is 10,000"),
                ));
            }
            let els = elements_of(&v, "`inputs`", problems);
            (src, els)
        }
        Err(e) => {
            problems.push(Problem::new(
                Severity::Error,
                "inputs-invalid",
                format!("`inputs` is not valid JSON: {e}"),
            ));
            (src, None)
        }
    }
}

fn job_parameter_inputs(
    job: &PlanJob,
    name: &str,
    problems: &mut Vec<Problem>,
) -> (InputsSource, Option<Vec<Value>>) {
    let src = InputsSource {
        kind: "job-parameter",
        detail: format!("default of job parameter `{name}`"),
    };
    match job.parameters.get(name) {
        Some(d) => match serde_json::from_str::<Value>(d) {
            Ok(v) => {
                let els = elements_of(&v, &format!("job parameter `{name}`"), problems);
                (src, els)
            }
            Err(e) => {
                problems.push(Problem::new(
                    Severity::Error,
                    "inputs-invalid",
                    format!("the default of job parameter `{name}` is not JSON: {e}"),
                ));
                (src, None)
            }
        },
        None => {
            problems.push(Problem::new(
                Severity::Error,
                "inputs-invalid",
                format!(
                    "`inputs` references job parameter `{name}`, which the job does not define"
                ),
            ));
            (src, None)
        }
    }
}

/// The value of task value `key` set by `producer`, as task `consumer` reads it: from
/// `--inputs` (an entry `tasks.<producer>.values.<key>`) or the producer notebook's statically
/// known value. Returns where it came from and the value when known; why not goes to `problems`.
pub(super) fn upstream_value(
    cx: &Ctx<'_>,
    consumer: &str,
    producer: &str,
    key: &str,
    problems: &mut Vec<Problem>,
) -> (String, Option<Value>) {
    let job = cx.job;
    let mut detail = format!("task value `{key}` of task `{producer}`");
    let Some(p) = job.tasks.iter().find(|x| x.key == producer) else {
        problems.push(Problem::new(
            Severity::Error,
            "inputs-invalid",
            format!(
                "`{consumer}` reads a task value of `{producer}`, which is not a task of this job"
            ),
        ));
        return (detail, None);
    };
    if !cx.graph.is_upstream(producer, consumer) {
        problems.push(Problem::new(
            Severity::Error,
            "producer-not-upstream",
            format!("`{producer}` is not upstream of `{consumer}` (add it to `depends_on`): its task value is not available"),
        ));
    }
    if let Some(ov) = &cx.opts.inputs {
        if let Some(v) = ov.task_value(producer, key) {
            let entry = super::options::task_value_entry(producer, key);
            return (
                format!("--inputs {} `{entry}`", ov.label()),
                Some(v.clone()),
            );
        }
    }
    let TaskKind::Notebook { local, path, .. } = &p.kind else {
        problems.push(Problem::new(
            Severity::Info,
            "inputs-unknown",
            format!("producer `{producer}` is not a notebook task: give the payload with --inputs FILE.json"),
        ));
        return (detail, None);
    };
    detail = format!("task value `{key}` set by `{producer}` ({path})");
    let Some(local) = local else {
        problems.push(Problem::new(
            Severity::Info,
            "inputs-unknown",
            format!("producer notebook {path} is not in the repository: give the payload with --inputs FILE.json"),
        ));
        return (detail, None);
    };
    match cx.facts.task_value(local, key) {
        TaskValueFact::Known { value, line } => {
            if let Some(l) = line {
                detail = format!("task value `{key}` set by `{producer}` ({path}:{l})");
            }
            let size = serde_json::to_string(&value).map(|s| s.len()).unwrap_or(0);
            if size as u64 > crate::limits::TASK_VALUE_MAX_BYTES {
                problems.push(Problem::new(
                    Severity::Error,
                    "inputs-too-large",
                    format!("the task value is {size} bytes of JSON; the limit is 49,152 (48 KiB)"),
                ));
            }
            (detail, Some(value))
        }
        TaskValueFact::Dynamic { reason, .. } => {
            problems.push(Problem::new(
                Severity::Info,
                "inputs-unknown",
                format!("task value `{key}` is computed at run time ({reason}): give the payload with --inputs FILE.json"),
            ));
            (detail, None)
        }
        TaskValueFact::NotSet => {
            problems.push(Problem::new(
                Severity::Error,
                "inputs-invalid",
                format!("{path} never sets task value `{key}`"),
            ));
            (detail, None)
        }
        TaskValueFact::Unknown => {
            problems.push(Problem::new(
                Severity::Info,
                "inputs-unknown",
                format!("{path} could not be analysed: give the payload with --inputs FILE.json"),
            ));
            (detail, None)
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

fn concurrency_problems(concurrency: Option<i64>, problems: &mut Vec<Problem>) {
    match concurrency {
        None => problems.push(Problem::new(
            Severity::Info,
            "concurrency",
            "`concurrency` is not set: iterations run one at a time",
        )),
        Some(c) if !(1..=waves::MAX_CONCURRENCY).contains(&c) => problems.push(Problem::new(
            Severity::Error,
            "concurrency",
            format!(
                "`concurrency: {c}` is outside 1..=100; modelled as {}",
                waves::effective_concurrency(Some(c))
            ),
        )),
        _ => {}
    }
}

/// The upstream task values the nested task's parameters reference, with their values where
/// known (`--inputs`, or what the producer statically sets).
fn parameter_task_values(
    cx: &Ctx<'_>,
    consumer: &str,
    template: &IndexMap<String, ParamValue>,
) -> TaskValues {
    let mut out = TaskValues::new();
    for v in template.values() {
        let text = refs::substitute_vars(&v.text(), &cx.job.variables);
        for r in refs::scan(&text) {
            if r.path.len() == 4 && r.path[0] == "tasks" && r.path[2] == "values" {
                let k = (r.path[1].clone(), r.path[3].clone());
                if !out.contains_key(&k) {
                    let mut scratch = Vec::new();
                    let (_, value) = upstream_value(cx, consumer, &k.0, &k.1, &mut scratch);
                    out.insert(k, value);
                }
            }
        }
    }
    out
}

/// The nested task's parameters with the static references resolved; problems of the template
/// itself. Returns the parameters and whether any uses `{{input}}`.
fn static_parameters(
    job: &PlanJob,
    template: &IndexMap<String, ParamValue>,
    task_values: &TaskValues,
    problems: &mut Vec<Problem>,
) -> (IndexMap<String, String>, bool) {
    let scope = Scope {
        input: None,
        job_parameters: &job.parameters,
        variables: &job.variables,
        task_values,
    };
    let mut parameters = IndexMap::new();
    let mut uses_input = false;
    for (k, v) in template {
        if let ParamValue::NotString(x) = v {
            problems.push(Problem::new(
                Severity::Warning,
                "not-string",
                format!(
                    "parameter `{k}` is {} ({}) in YAML; `base_parameters` values are strings",
                    type_name(x),
                    model::json_text(x)
                ),
            ));
        }
        let (s, res) = refs::substitute(&v.text(), &scope);
        for r in res {
            match r {
                Resolution::UnknownJobParameter { name } => problems.push(Problem::new(
                    Severity::Error,
                    "unknown-job-parameter",
                    format!("parameter `{k}` references job parameter `{name}`, which the job does not define"),
                )),
                Resolution::InputUnknown { .. } => uses_input = true,
                _ => {}
            }
        }
        parameters.insert(k.clone(), s);
    }
    (parameters, uses_input)
}

/// Problems about the widgets of the child against the parameters passed.
fn widget_problems(
    cx: &Ctx<'_>,
    nested: &PlanTask,
    local: Option<&Path>,
    template: &IndexMap<String, ParamValue>,
    problems: &mut Vec<Problem>,
) -> Option<Vec<WidgetRead>> {
    let job = cx.job;
    let widgets = local.and_then(|p| cx.facts.widgets(p));
    if let Some(ws) = &widgets {
        for w in ws {
            let passed = template.contains_key(&w.name) || job.parameters.contains_key(&w.name);
            if let (false, Some(d)) = (passed, &w.default) {
                problems.push(Problem::new(
                    Severity::Info,
                    "widget-default",
                    format!("widget `{}` is not passed: every iteration uses the notebook default {d:?}", w.name),
                ));
            }
        }
        let open = local.is_some_and(|p| cx.facts.reads_other_widgets(p));
        for k in template.keys() {
            if !open && !ws.iter().any(|w| &w.name == k) {
                problems.push(Problem::new(
                    Severity::Info,
                    "parameter-unused",
                    format!("parameter `{k}` is passed but the child notebook never reads it"),
                ));
            }
        }
    } else if matches!(nested.kind, TaskKind::Notebook { .. }) {
        problems.push(Problem::new(
            Severity::Info,
            "widgets-unknown",
            "the child notebook is not a file of the repository, or could not be analysed: widgets are not checked",
        ));
    }
    for (k, v) in template {
        let same = v.text().replace(' ', "") == format!("{{{{job.parameters.{k}}}}}");
        if job.parameters.contains_key(k) && !same {
            problems.push(Problem::new(
                Severity::Warning,
                "shadowed-by-job-parameter",
                format!("job parameter `{k}` is pushed down to the nested notebook task and wins over its `base_parameters.{k}`"),
            ));
        }
    }
    widgets
}

/// What every iteration shares.
struct IterCtx<'a> {
    job: &'a PlanJob,
    nested: &'a PlanTask,
    template: &'a IndexMap<String, ParamValue>,
    widgets: Option<&'a [WidgetRead]>,
    task_values: &'a TaskValues,
}

/// One iteration's parameters and their problems.
fn resolve_iteration(ic: &IterCtx<'_>, el: &Value) -> (IndexMap<String, String>, Vec<Problem>) {
    let scope = Scope {
        input: Some(el),
        job_parameters: &ic.job.parameters,
        variables: &ic.job.variables,
        task_values: ic.task_values,
    };
    let mut ip = Vec::new();
    let mut resolved = IndexMap::new();
    for (k, v) in ic.template {
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
                        Severity::Error,
                        "field-missing",
                        format!("parameter `{k}`: `{{{{{path}}}}}` cannot resolve: {why}"),
                    ));
                }
                Resolution::Input { path, value } if !value.is_string() => {
                    ip.push(Problem::new(
                        Severity::Warning,
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
    for w in ic.widgets.unwrap_or_default() {
        if w.default.is_none()
            && !resolved.contains_key(&w.name)
            && !ic.job.parameters.contains_key(&w.name)
        {
            let at = match (w.line, notebook_of(ic.nested)) {
                (Some(l), Some(nb)) => format!(" ({nb}:{l})"),
                (Some(l), None) => format!(" (line {l})"),
                _ => String::new(),
            };
            ip.push(Problem::new(
                Severity::Error,
                "widget-unset",
                format!("widget `{}` is read without a default{at} and no parameter sets it: the iteration fails", w.name),
            ));
        }
    }
    (resolved, ip)
}

fn iterations(ic: &IterCtx<'_>, elements: &[Value]) -> Vec<Iteration> {
    let mut out = Vec::with_capacity(elements.len());
    let mut seen_elements: HashMap<String, usize> = HashMap::new();
    let mut seen_params: HashMap<String, usize> = HashMap::new();
    for (i, el) in elements.iter().enumerate() {
        let index = i + 1;
        let (resolved, mut ip) = resolve_iteration(ic, el);
        let ck = canonical(el);
        if let Some(&first) = seen_elements.get(&ck) {
            ip.push(Problem::new(
                Severity::Warning,
                "duplicate",
                format!("same element as iteration {first}: the work runs twice"),
            ));
        } else {
            seen_elements.insert(ck, index);
            if !resolved.is_empty() {
                let pk = serde_json::to_string(&resolved).unwrap_or_default();
                if let Some(&first) = seen_params.get(&pk) {
                    ip.push(Problem::new(
                        Severity::Warning,
                        "duplicate",
                        format!("same parameters as iteration {first}: the work runs twice"),
                    ));
                } else {
                    seen_params.insert(pk, index);
                }
            }
        }
        out.push(Iteration {
            index,
            input: el.clone(),
            parameters: resolved,
            problems: ip,
        });
    }
    out
}

fn timing(
    spec: &DurationSpec,
    n: usize,
    c: usize,
    pool: usize,
    problems: &mut Vec<Problem>,
) -> Timing {
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
                    Severity::Warning,
                    "durations",
                    format!(
                        "{} durations given for {n} iterations: the extra ones are ignored",
                        list.len()
                    ),
                ));
            }
            if filled > 0 {
                problems.push(Problem::new(
                    Severity::Warning,
                    "durations",
                    format!("{} durations given for {n} iterations: the mean is used for the other {filled}", list.len()),
                ));
            }
            (ds, false, filled)
        }
    };
    waves::timing(&ds, c, pool, uniform, filled)
}

/// Expand the For Each task `t`.
pub(super) fn plan_for_each(cx: &Ctx<'_>, t: &PlanTask) -> ForEachExpansion {
    let TaskKind::ForEach {
        inputs,
        inputs_not_string,
        concurrency,
        task: nested,
    } = &t.kind
    else {
        unreachable!("plan_for_each is called on For Each tasks only")
    };
    let job = cx.job;
    let mut problems = Vec::new();
    concurrency_problems(*concurrency, &mut problems);
    if *inputs_not_string {
        problems.push(Problem::new(
            Severity::Error,
            "inputs-invalid",
            "`inputs` is not a string in YAML (a YAML list?): the API wants a JSON array in a quoted string",
        ));
    }
    let (source, elements) = resolve_inputs(cx, t, inputs, &mut problems);

    // The nested task's parameters, as written, with the static references resolved.
    let empty = IndexMap::new();
    let (template, local) = match &nested.kind {
        TaskKind::Notebook {
            base_parameters,
            local,
            ..
        } => (base_parameters, local.as_deref()),
        _ => (&empty, None),
    };
    let task_values = parameter_task_values(cx, &t.key, template);
    let (parameters, uses_input) = static_parameters(job, template, &task_values, &mut problems);
    if !uses_input && matches!(nested.kind, TaskKind::Notebook { .. }) {
        problems.push(Problem::new(
            Severity::Warning,
            "input-unused",
            "the nested task never uses `{{input}}`: every iteration runs the same parameters",
        ));
    }
    let widgets = widget_problems(cx, nested, local, template, &mut problems);

    let expanded = elements.is_some();
    let ic = IterCtx {
        job,
        nested,
        template,
        widgets: widgets.as_deref(),
        task_values: &task_values,
    };
    let iterations = iterations(&ic, &elements.unwrap_or_default());

    let c = waves::effective_concurrency(*concurrency);
    let (waves_v, timing): (Option<Waves>, Option<Timing>) = if expanded {
        let w = waves::waves(iterations.len(), c);
        let pool = cx.opts.pool_size.unwrap_or(c);
        let timing = cx
            .opts
            .durations
            .as_ref()
            .and_then(|d| d.for_task(&t.key))
            .map(|spec| timing(spec, iterations.len(), c, pool, &mut problems));
        (Some(w), timing)
    } else {
        (None, None)
    };

    ForEachExpansion {
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
        task_values: task_values
            .into_iter()
            .map(|((task, key), value)| super::TaskValueInput { task, key, value })
            .collect(),
    }
}
