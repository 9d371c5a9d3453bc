//! Renderers of a plan: human text, versioned JSON, and a Mermaid flowchart that renders in
//! GitHub and Markdown.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::from_bundle::LoadFinding;
use super::model::Compute;
use super::waves::MODEL_NOTE;
use super::{ForEachExpansion, JobPlan, Problem, Severity, TaskStep, JSON_VERSION};

/// Output format of `bricklint plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Mermaid,
    /// A Jobs API `runs/submit` request that runs the iterations chosen with `--iteration` /
    /// `--where`, and nothing else of the job.
    Submit,
}

/// Counts of problems by level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

pub fn counts(plans: &[JobPlan], findings: &[LoadFinding]) -> Counts {
    let mut c = Counts {
        errors: findings.len(),
        ..Counts::default()
    };
    for p in plans.iter().flat_map(|j| j.all_problems()) {
        match p.severity {
            Severity::Error => c.errors += 1,
            Severity::Warning => c.warnings += 1,
            Severity::Info => c.infos += 1,
        }
    }
    c
}

/// Render the plans; `findings` are what loading the bundle reported (shown before the plans;
/// Mermaid leaves them to the caller). `Submit` is written by `super::submit`, not here.
pub fn render(format: PlanFormat, plans: &[JobPlan], findings: &[LoadFinding]) -> String {
    match format {
        PlanFormat::Text => text(plans, findings),
        PlanFormat::Json | PlanFormat::Submit => {
            let mut s =
                serde_json::to_string_pretty(&json_value(plans, findings)).unwrap_or_default();
            s.push('\n');
            s
        }
        PlanFormat::Mermaid => mermaid(plans),
    }
}

// ---------------------------------------------------------------- JSON

pub fn json_value(plans: &[JobPlan], findings: &[LoadFinding]) -> Value {
    let c = counts(plans, findings);
    let mut v = json!({
        "version": JSON_VERSION,
        "jobs": plans,
        "model": MODEL_NOTE,
        "summary": {"errors": c.errors, "warnings": c.warnings, "infos": c.infos},
    });
    if !findings.is_empty() {
        v["findings"] = json!(findings);
    }
    v
}

// ---------------------------------------------------------------- text

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn trim_num(s: f64) -> String {
    if (s - s.round()).abs() < 1e-9 {
        format!("{}", s.round() as i64)
    } else {
        format!("{s:.1}")
    }
}

/// `180 s (3m 00s)`.
pub fn fmt_seconds(s: f64) -> String {
    let num = trim_num(s);
    if s < 60.0 {
        return format!("{num} s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, (total % 3600) / 60, total % 60);
    if h > 0 {
        format!("{num} s ({h}h {m:02}m {sec:02}s)")
    } else {
        format!("{num} s ({m}m {sec:02}s)")
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn params_line(p: &indexmap::IndexMap<String, String>) -> String {
    if p.is_empty() {
        return "(no parameters)".into();
    }
    p.iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn problem_line(out: &mut String, indent: &str, p: &Problem) {
    let _ = writeln!(
        out,
        "{indent}{} [{}] {}",
        p.severity.as_str(),
        p.kind,
        p.message
    );
}

fn task_line(s: &TaskStep) -> String {
    let mut line = format!("{:>3}. {} [{}", s.step, s.task_key, s.task_type);
    if let Some(nb) = &s.notebook {
        let _ = write!(line, " {nb}");
    }
    if let Some(fe) = &s.for_each {
        match fe.concurrency {
            Some(c) => {
                let _ = write!(line, ", concurrency {c}");
            }
            None => line.push_str(", concurrency not set (1)"),
        }
    }
    line.push(']');
    if s.compute != Compute::NotNeeded {
        let _ = write!(line, " on {}", s.compute.describe());
    }
    if !s.depends_on.is_empty() {
        let _ = write!(line, ", after {}", s.depends_on.join(", "));
    }
    if let Some(r) = &s.run_if {
        let _ = write!(line, " (run_if {r})");
    }
    line
}

pub fn text(plans: &[JobPlan], findings: &[LoadFinding]) -> String {
    let mut out = String::new();
    if !findings.is_empty() {
        out.push_str("bundle files that cannot be used (jobs defined there are missing below):\n");
        for f in findings {
            let _ = writeln!(out, "  {f}");
        }
        out.push('\n');
    }
    if plans.is_empty() {
        out.push_str("no jobs\n");
    }
    let mut timed = false;
    for (n, j) in plans.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let _ = write!(out, "job `{}`", j.job);
        if let Some(name) = &j.name {
            let _ = write!(out, " ({name})");
        }
        if let Some(t) = &j.target {
            let _ = write!(out, ", target `{t}`");
        }
        if let Some(f) = &j.file {
            let _ = write!(out, ", defined in {f}");
        }
        out.push('\n');
        if !j.parameters.is_empty() {
            let _ = writeln!(out, "job parameters: {}", params_line(&j.parameters));
        }
        let _ = writeln!(
            out,
            "\ntask graph ({}, in run order):",
            plural(j.tasks.len() + j.cycle.len(), "task", "tasks")
        );
        for s in &j.tasks {
            let _ = writeln!(out, "{}", task_line(s));
            if let Some(fe) = &s.for_each {
                let mut l = format!(
                    "       each iteration runs {} [{}",
                    fe.task_key, fe.task_type
                );
                if let Some(nb) = &fe.notebook {
                    let _ = write!(l, " {nb}");
                }
                l.push(']');
                let _ = write!(l, " on {}", fe.compute.describe());
                let _ = writeln!(out, "{l}");
            }
        }
        for k in &j.cycle {
            let _ = writeln!(
                out,
                "   -. {k} (never runs: on or behind a dependency cycle)"
            );
        }
        for p in &j.problems {
            problem_line(&mut out, "  ", p);
        }
        for f in &j.for_each {
            out.push('\n');
            timed |= f.timing.is_some();
            for_each_text(&mut out, f);
        }
    }
    let c = counts(plans, findings);
    let _ = writeln!(
        out,
        "\n{}, {}, {}",
        plural(c.errors, "error", "errors"),
        plural(c.warnings, "warning", "warnings"),
        plural(c.infos, "info", "infos")
    );
    if timed {
        out.push_str(&wrap(MODEL_NOTE, 100));
    }
    out
}

/// Wrap `s` at spaces into lines of at most `width` characters.
fn wrap(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn for_each_text(out: &mut String, f: &ForEachExpansion) {
    let _ = write!(
        out,
        "for each `{}` runs `{}`",
        f.task_key, f.nested_task_key
    );
    if let Some(nb) = &f.notebook {
        let _ = write!(out, " ({nb})");
    }
    out.push('\n');
    let _ = writeln!(out, "  inputs: {}", f.source.detail);
    let _ = writeln!(out, "  parameters: {}", params_line(&f.parameters));
    if let Some(ws) = &f.widgets {
        let list: Vec<String> = ws
            .iter()
            .map(|w| match &w.default {
                Some(d) => format!("{} (default {})", w.name, quote(d)),
                None => w.name.clone(),
            })
            .collect();
        let _ = writeln!(
            out,
            "  widgets read: {}",
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            }
        );
    }
    for p in &f.problems {
        problem_line(out, "  ", p);
    }
    if f.expanded {
        // A problem every iteration has is printed once (the JSON keeps it per iteration).
        let common: Vec<&Problem> = match f.iterations.split_first() {
            Some((first, rest)) if !rest.is_empty() => first
                .problems
                .iter()
                .filter(|p| rest.iter().all(|it| it.problems.contains(p)))
                .collect(),
            _ => Vec::new(),
        };
        let _ = writeln!(out, "  iterations ({}):", f.iterations.len());
        for p in &common {
            problem_line(out, "    every iteration: ", p);
        }
        let width = f.iterations.len().to_string().len();
        for it in &f.iterations {
            let _ = writeln!(
                out,
                "    #{:<width$}  {}",
                it.index,
                params_line(&it.parameters)
            );
            for p in it.problems.iter().filter(|p| !common.contains(p)) {
                problem_line(out, &format!("    {:width$}    ", ""), p);
            }
        }
    } else {
        let _ = writeln!(out, "  iterations: unknown until run time");
    }
    if let Some(w) = &f.waves {
        let sizes: Vec<String> = w.wave_sizes.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(
            out,
            "  waves: {} at concurrency {} -> {}{}",
            plural(w.iterations, "iteration", "iterations"),
            w.concurrency,
            plural(w.waves, "wave", "waves"),
            if sizes.len() > 1 {
                format!(" ({})", compress_sizes(&sizes))
            } else {
                String::new()
            }
        );
    }
    if let Some(t) = &f.timing {
        let per = if t.durations == "uniform" {
            let each = if w_iters(f) > 0 {
                t.total_work_seconds / w_iters(f) as f64
            } else {
                0.0
            };
            format!("{} s per iteration", trim_num(each))
        } else {
            format!(
                "per-iteration durations, {} s of work",
                trim_num(t.total_work_seconds)
            )
        };
        let _ = writeln!(out, "  wall time, {per}:");
        let _ = writeln!(
            out,
            "    For Each:                  {}",
            fmt_seconds(t.for_each_seconds)
        );
        let pool = if t.pool_slots < t.pool_size {
            format!(
                "driver ThreadPool({}), {} slots:",
                t.pool_size, t.pool_slots
            )
        } else {
            format!("driver ThreadPool({}):", t.pool_size)
        };
        let _ = writeln!(
            out,
            "    {pool:<27}{} or more (one shared cluster)",
            fmt_seconds(t.driver_pool_seconds)
        );
        let _ = writeln!(
            out,
            "    sequential:                {}",
            fmt_seconds(t.sequential_seconds)
        );
    }
}

fn w_iters(f: &ForEachExpansion) -> usize {
    f.waves.as_ref().map(|w| w.iterations).unwrap_or(0)
}

/// `10, 10, 10, 5` -> `3 x 10, 5`.
fn compress_sizes(sizes: &[String]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sizes.len() {
        let mut j = i;
        while j + 1 < sizes.len() && sizes[j + 1] == sizes[i] {
            j += 1;
        }
        let run = j - i + 1;
        if run > 2 {
            parts.push(format!("{run} x {}", sizes[i]));
        } else {
            parts.extend(sizes[i..=j].iter().cloned());
        }
        i = j + 1;
    }
    parts.join(", ")
}

// ---------------------------------------------------------------- Mermaid

/// Iterations drawn per For Each before the rest is summarised in one node.
pub const MERMAID_MAX_ITERATIONS: usize = 12;

/// Escape a label for a double-quoted Mermaid node text.
pub fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            '`' => out.push('\''),
            c => out.push(c),
        }
    }
    out
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn element_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .values()
            .take(2)
            .map(super::model::json_text)
            .collect::<Vec<_>>()
            .join(" · "),
        other => super::model::json_text(other),
    }
}

pub fn mermaid(plans: &[JobPlan]) -> String {
    let mut out = String::from("flowchart TD\n");
    let mut any_error = false;
    for (jn, j) in plans.iter().enumerate() {
        let id = |step: usize| format!("j{jn}t{step}");
        let step_of = |key: &str| j.tasks.iter().find(|s| s.task_key == key).map(|s| s.step);
        let multi = plans.len() > 1;
        let ind = if multi { "    " } else { "  " };
        if multi {
            let _ = writeln!(
                out,
                "  subgraph j{jn} [\"{}\"]",
                mermaid_escape(&format!("job {}", j.job))
            );
        }
        for s in &j.tasks {
            match &s.for_each {
                None => {
                    let mut label = format!("{}<br/>{}", mermaid_escape(&s.task_key), s.task_type);
                    if s.compute != Compute::NotNeeded {
                        let _ = write!(label, " · {}", mermaid_escape(&s.compute.describe()));
                    }
                    let _ = writeln!(out, "{ind}{}[\"{label}\"]", id(s.step));
                }
                Some(fe) => {
                    let plan = j.for_each.iter().find(|f| f.task_key == s.task_key);
                    let conc = fe
                        .concurrency
                        .map(|c| format!("concurrency {c}"))
                        .unwrap_or_else(|| "concurrency not set (1)".into());
                    let mut title = format!("for each {} → {} · {conc}", s.task_key, fe.task_key);
                    if let Some(w) = plan.and_then(|p| p.waves.as_ref()) {
                        let _ = write!(
                            title,
                            " · {} · {}",
                            plural(w.iterations, "iteration", "iterations"),
                            plural(w.waves, "wave", "waves")
                        );
                    }
                    let _ = writeln!(
                        out,
                        "{ind}subgraph {} [\"{}\"]",
                        id(s.step),
                        mermaid_escape(&title)
                    );
                    let nested = format!(
                        "{} · {}",
                        fe.task_key,
                        fe.notebook.as_deref().unwrap_or(&fe.task_type)
                    );
                    match plan.filter(|p| p.expanded) {
                        None => {
                            let _ = writeln!(
                                out,
                                "{ind}  {}_n[\"{}<br/>iterations known at run time\"]",
                                id(s.step),
                                mermaid_escape(&nested)
                            );
                        }
                        Some(p) => {
                            let per_wave = p.waves.as_ref().map(|w| w.concurrency).unwrap_or(1);
                            let n_waves = p.waves.as_ref().map(|w| w.waves).unwrap_or(0);
                            let shown =
                                &p.iterations[..p.iterations.len().min(MERMAID_MAX_ITERATIONS)];
                            // Waves side by side (left to right), iterations of a wave stacked.
                            let mut wave_ids = Vec::new();
                            if n_waves <= 1 {
                                let _ = writeln!(out, "{ind}  direction LR");
                            }
                            for (w, chunk) in shown.chunks(per_wave.max(1)).enumerate() {
                                let inner = if n_waves > 1 {
                                    let wid = format!("{}_w{}", id(s.step), w + 1);
                                    let _ =
                                        writeln!(out, "{ind}  subgraph {wid} [\"wave {}\"]", w + 1);
                                    wave_ids.push(wid);
                                    format!("{ind}    ")
                                } else {
                                    format!("{ind}  ")
                                };
                                for it in chunk {
                                    let label = format!(
                                        "#{} {}",
                                        it.index,
                                        short(&element_label(&it.input), 32)
                                    );
                                    let bad =
                                        it.problems.iter().any(|p| p.severity == Severity::Error);
                                    any_error |= bad;
                                    let _ = writeln!(
                                        out,
                                        "{inner}{}_i{}[\"{}\"]{}",
                                        id(s.step),
                                        it.index,
                                        mermaid_escape(&label),
                                        if bad { ":::error" } else { "" }
                                    );
                                }
                                if n_waves > 1 {
                                    let _ = writeln!(out, "{ind}  end");
                                }
                            }
                            if wave_ids.len() > 1 {
                                let _ = writeln!(out, "{ind}  {}", wave_ids.join(" ~~~ "));
                            }
                            if p.iterations.len() > MERMAID_MAX_ITERATIONS {
                                let _ = writeln!(
                                    out,
                                    "{ind}  {}_more[\"… {} more\"]",
                                    id(s.step),
                                    p.iterations.len() - MERMAID_MAX_ITERATIONS
                                );
                            }
                            if p.iterations.is_empty() {
                                let _ = writeln!(out, "{ind}  {}_n[\"no iterations\"]", id(s.step));
                            }
                        }
                    }
                    let _ = writeln!(out, "{ind}end");
                }
            }
        }
        for (i, k) in j.cycle.iter().enumerate() {
            any_error = true;
            let _ = writeln!(
                out,
                "{ind}j{jn}c{i}[\"{}<br/>never runs: dependency cycle\"]:::error",
                mermaid_escape(k)
            );
        }
        for s in &j.tasks {
            for d in &s.depends_on {
                if let Some(from) = step_of(d) {
                    let _ = writeln!(out, "{ind}{} --> {}", id(from), id(s.step));
                }
            }
        }
        if multi {
            out.push_str("  end\n");
        }
    }
    if any_error {
        out.push_str("  classDef error fill:#fde2e2,stroke:#c62828,color:#000\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_human() {
        assert_eq!(fmt_seconds(45.0), "45 s");
        assert_eq!(fmt_seconds(180.0), "180 s (3m 00s)");
        assert_eq!(fmt_seconds(3725.0), "3725 s (1h 02m 05s)");
        assert_eq!(fmt_seconds(1.25), "1.2 s");
    }

    #[test]
    fn sizes_compress() {
        let s: Vec<String> = ["10", "10", "10", "5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(compress_sizes(&s), "3 x 10, 5");
        let s: Vec<String> = ["10", "5"].iter().map(|s| s.to_string()).collect();
        assert_eq!(compress_sizes(&s), "10, 5");
    }

    fn sample() -> Vec<JobPlan> {
        use crate::plan::*;
        let child = PlanTask {
            key: "ingest_one".into(),
            kind: TaskKind::Notebook {
                path: "../src/ingest.py".into(),
                local: None,
                base_parameters: [("table", "{{input.table}}"), ("date", "{{input.date}}")]
                    .iter()
                    .map(|(k, v)| (k.to_string(), ParamValue::from(*v)))
                    .collect(),
            },
            compute: Compute::JobCluster("main".into()),
            ..Default::default()
        };
        let nb = |k: &str, deps: &[&str]| PlanTask {
            key: k.into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            kind: TaskKind::Notebook {
                path: format!("../src/{k}.py"),
                local: None,
                base_parameters: Default::default(),
            },
            ..Default::default()
        };
        let j = PlanJob {
            key: "ingest".into(),
            tasks: vec![
                nb("prep", &[]),
                PlanTask {
                    key: "fan".into(),
                    depends_on: vec!["prep".into()],
                    kind: TaskKind::ForEach {
                        inputs:
                            r#"[{"table":"a","date":"1"},{"table":"b"},{"table":"c","date":"1"}]"#
                                .into(),
                        inputs_not_string: false,
                        concurrency: Some(2),
                        task: Box::new(child),
                    },
                    compute: Compute::NotNeeded,
                    ..Default::default()
                },
                nb("publish", &["fan"]),
            ],
            ..Default::default()
        };
        let opts = PlanOptions {
            durations: Some(Durations::uniform(90.0)),
            pool_size: Some(32),
            ..Default::default()
        };
        vec![plan_job(&j, &NoFacts, &opts)]
    }

    #[test]
    fn mermaid_draws_waves_and_marks_failing_iterations() {
        let m = mermaid(&sample());
        assert!(m.starts_with("flowchart TD\n"));
        assert!(m.contains("subgraph j0t2 [\"for each fan → ingest_one · concurrency 2 · 3 iterations · 2 waves\"]"));
        assert!(m.contains("subgraph j0t2_w1 [\"wave 1\"]"));
        assert!(m.contains("j0t2_i2[\"#35;2 b\"]:::error"));
        assert!(m.contains("j0t2_w1 ~~~ j0t2_w2"));
        assert!(m.contains("j0t1 --> j0t2\n  j0t2 --> j0t3"));
        assert!(m.contains("classDef error"));
        assert_eq!(
            m.matches("subgraph").count(),
            m.lines().filter(|l| l.trim() == "end").count()
        );
    }

    #[test]
    fn text_shows_waves_and_wall_time() {
        let t = text(&sample(), &[]);
        assert!(t.contains("waves: 3 iterations at concurrency 2 -> 2 waves (2, 1)"));
        assert!(t.contains("For Each:                  180 s (3m 00s)"));
        assert!(t.contains("driver ThreadPool(32):     90 s (1m 30s) or more"));
        assert!(
            t.contains("1 error, 1 warning, 1 info") || t.contains("1 error, "),
            "{t}"
        );
    }

    #[test]
    fn mermaid_labels_are_escaped() {
        assert_eq!(
            mermaid_escape(r#"a "b" <c> #1"#),
            "a #quot;b#quot; #lt;c#gt; #35;1"
        );
    }
}
