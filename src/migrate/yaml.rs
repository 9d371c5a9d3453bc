//! The generated bundle YAML: `resources/<job>.job.yml` and, with `--init-bundle`, a minimal
//! `databricks.yml`. The text is emitted directly (deterministic, Databricks template style:
//! 2-space indent, `- task_key:` list items), quoting every scalar that needs it.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::plan::{Compute, FanOutKind, ForEachPlan, NotebookPlan, ObjectTask, ParamValue};

/// Inline For Each inputs are limited to 10,000 characters.
pub const MAX_INLINE_INPUTS: usize = crate::limits::FOR_EACH_INLINE_MAX_CHARS as usize;
/// For Each concurrency maximum.
pub const MAX_CONCURRENCY: u32 = crate::limits::FOR_EACH_MAX_CONCURRENCY;

/// Is `s` safe as a plain YAML scalar that reads back as this very string?
fn is_plain_safe(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~" | ".inf" | ".nan"
    ) {
        return false;
    }
    if s.parse::<f64>().is_ok() || s.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !s.starts_with('-')
}

/// A YAML scalar for a string value: plain when safe, otherwise double-quoted (JSON escaping is
/// valid YAML double-quoted escaping).
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

/// A single-quoted YAML scalar (used for JSON `inputs`, which contain many `"`).
pub fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Relative path from directory `from` to `to` (both absolute, normalised), with `/`.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..f.len() {
        parts.push("..".into());
    }
    for c in &t[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The For Each `inputs` string: inline JSON when static and small enough, else a task-value
/// reference to the producer.
pub fn for_each_inputs(fe: &ForEachPlan, producer_key: &str) -> String {
    if let Some(json) = inline_inputs(fe) {
        return json;
    }
    format!("{{{{tasks.{producer_key}.values.{}}}}}", fe.value_key)
}

/// Inline JSON for the inputs when they are a literal list of at most 10,000 characters.
pub fn inline_inputs(fe: &ForEachPlan) -> Option<String> {
    if fe.items.source != super::plan::ItemsSource::Literal {
        return None;
    }
    let values = fe.items.values.as_ref()?;
    let json = serde_json::to_string(values).ok()?;
    (json.chars().count() <= MAX_INLINE_INPUTS).then_some(json)
}

fn param_text(p: &ParamValue) -> String {
    match p {
        ParamValue::Input => "{{input}}".into(),
        ParamValue::InputField(f) => format!("{{{{input.{f}}}}}"),
        ParamValue::Literal(s) => s.clone(),
    }
}

/// Where generated notebook tasks run.
#[derive(Debug, Clone, Copy)]
pub enum TaskCompute<'a> {
    /// `--compute` (or serverless for a new job).
    Given(&'a Compute),
    /// The orchestrator task's own compute entries (`job_cluster_key: x`, a `new_cluster:`
    /// block, `libraries:` ...), as YAML lines at column 0.
    Inherited(&'a [String]),
}

fn compute_lines(out: &mut String, indent: &str, compute: TaskCompute<'_>) {
    match compute {
        // `--compute` parses to serverless, an existing cluster or a job cluster only; a task
        // with no compute keys runs on serverless.
        TaskCompute::Given(Compute::Serverless | Compute::NotNeeded | Compute::NewCluster(_)) => {}
        TaskCompute::Given(Compute::Environment(key)) => {
            let _ = writeln!(out, "{indent}environment_key: {}", scalar(key));
        }
        TaskCompute::Given(Compute::ExistingCluster(id)) => {
            let _ = writeln!(out, "{indent}existing_cluster_id: {}", scalar(id));
        }
        TaskCompute::Given(Compute::JobCluster(key)) => {
            let _ = writeln!(out, "{indent}job_cluster_key: {}", scalar(key));
        }
        TaskCompute::Inherited(lines) => {
            for l in lines {
                let _ = writeln!(out, "{indent}{l}");
            }
        }
    }
}

fn notebook_task(
    out: &mut String,
    indent: &str,
    path: &str,
    params: &[(String, String)],
    compute: TaskCompute<'_>,
) {
    let _ = writeln!(out, "{indent}notebook_task:");
    let _ = writeln!(out, "{indent}  notebook_path: {}", scalar(path));
    if !params.is_empty() {
        let _ = writeln!(out, "{indent}  base_parameters:");
        for (k, v) in params {
            let _ = writeln!(out, "{indent}    {}: {}", scalar(k), scalar(v));
        }
    }
    compute_lines(out, indent, compute);
}

fn retry_lines(out: &mut String, indent: &str, timeout: Option<u64>, retries: Option<u32>) {
    if let Some(t) = timeout.filter(|t| *t > 0) {
        let _ = writeln!(out, "{indent}timeout_seconds: {t}");
    }
    if let Some(r) = retries.filter(|r| *r > 0) {
        let _ = writeln!(out, "{indent}max_retries: {r}");
    }
}

/// `depends_on:` with one entry per key (nothing for no keys).
pub fn depends_on(out: &mut String, indent: &str, deps: &[String]) {
    if deps.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}depends_on:");
    for d in deps {
        let _ = writeln!(out, "{indent}  - task_key: {}", scalar(d));
    }
}

/// The `for_each_task:` entry of a task (at column 0, ending with a newline). `yaml_dir` is
/// the directory of the YAML file it goes into (notebook paths are relative to it).
pub fn for_each_entry(
    fe: &ForEachPlan,
    producer_key: &str,
    yaml_dir: &Path,
    compute: TaskCompute<'_>,
) -> String {
    let mut out = String::new();
    out.push_str("for_each_task:\n");
    let inputs = for_each_inputs(fe, producer_key);
    let inputs = if inputs.starts_with("{{") {
        scalar(&inputs)
    } else {
        single_quoted(&inputs)
    };
    let _ = writeln!(out, "  inputs: {inputs}");
    let _ = writeln!(
        out,
        "  concurrency: {}",
        fe.concurrency.clamp(1, MAX_CONCURRENCY)
    );
    out.push_str("  task:\n");
    let _ = writeln!(
        out,
        "    task_key: {}",
        scalar(&format!("{}_iteration", fe.task_key))
    );
    let params: Vec<(String, String)> = fe
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), param_text(v)))
        .collect();
    let child = relative_path(yaml_dir, &fe.child);
    notebook_task(&mut out, "    ", &child, &params, compute);
    retry_lines(&mut out, "    ", fe.timeout_seconds, fe.max_retries);
    out
}

/// The task list items (`- task_key: ...`, at column 0) that replace the fan-outs of a plan,
/// one wave after the other (the tasks of a chain one after the other); the first wave
/// depends on `first_deps`. Returns the text and the keys of the tasks that end the last
/// wave, or the task of the code after the fan-out ([`super::plan::AfterPlan`]): what tasks
/// that waited for the fan-out must now wait for.
pub fn fan_out_tasks(
    plan: &NotebookPlan,
    first_deps: &[String],
    yaml_dir: &Path,
    compute: TaskCompute<'_>,
) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut previous = first_deps.to_vec();
    for f in &plan.fanouts {
        match &f.kind {
            FanOutKind::ForEach(fe) => {
                let _ = writeln!(out, "- task_key: {}", scalar(&fe.task_key));
                depends_on(&mut out, "  ", &previous);
                let entry = for_each_entry(fe, &plan.producer_key, yaml_dir, compute);
                out.push_str(&indent_lines(&entry, 2));
                previous = vec![fe.task_key.clone()];
            }
            FanOutKind::Tasks(tasks) | FanOutKind::Chain(tasks) => {
                for (ot, deps) in tasks.iter().zip(f.kind.dependencies(&previous)) {
                    object_task(&mut out, ot, &deps, yaml_dir, compute);
                }
                previous = f.kind.last_keys();
            }
        }
    }
    if let Some(a) = &plan.after {
        // The code that ran after the fan-out runs after all of it.
        let _ = writeln!(out, "- task_key: {}", scalar(&a.task_key));
        depends_on(&mut out, "  ", &previous);
        let nb = relative_path(yaml_dir, &a.notebook);
        notebook_task(&mut out, "  ", &nb, &[], compute);
        previous = vec![a.task_key.clone()];
    }
    (out, previous)
}

/// Indent every non-empty line of `text` by `n` spaces.
pub fn indent_lines(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.split_inclusive('\n')
        .map(|l| {
            if l.trim().is_empty() {
                l.to_string()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect()
}

/// The job resource file for a notebook plan (a new job: no job runs the notebook yet).
pub fn job_yaml(plan: &NotebookPlan, compute: &Compute, source_display: &str) -> String {
    let yaml_dir: PathBuf = plan
        .resource_file()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{GENERATED_HEADER} from {source_display}: the fan-out that ran on the driver."
    );
    out.push_str("resources:\n  jobs:\n");
    let _ = writeln!(out, "    {}:", scalar(&plan.job_key));
    let _ = writeln!(out, "      name: {}", scalar(&plan.job_key));
    if let Compute::JobCluster(key) = compute {
        out.push_str("      job_clusters:\n");
        let _ = writeln!(out, "        - job_cluster_key: {}", scalar(key));
        out.push_str("          new_cluster: # review: size the cluster for the child notebooks\n");
        out.push_str("            spark_version: 15.4.x-scala2.12\n");
        out.push_str("            node_type_id: i3.xlarge\n");
        out.push_str("            num_workers: 2\n");
    }
    out.push_str("      tasks:\n");
    let mut tasks = String::new();
    let mut first = Vec::new();
    if plan.producer_task {
        let _ = writeln!(tasks, "- task_key: {}", scalar(&plan.producer_key));
        let nb = relative_path(&yaml_dir, &plan.notebook);
        notebook_task(&mut tasks, "  ", &nb, &[], TaskCompute::Given(compute));
        first.push(plan.producer_key.clone());
    }
    let (rest, _) = fan_out_tasks(plan, &first, &yaml_dir, TaskCompute::Given(compute));
    tasks.push_str(&rest);
    out.push_str(&indent_lines(&tasks, 8));
    out
}

/// The first words of every resource file `migrate` creates (how `--force` recognises the
/// files it may replace).
pub const GENERATED_HEADER: &str = "# Generated by `bricklint migrate`";

/// Was this file written by `bricklint migrate` (its first line is the generated header)?
pub fn is_generated(text: &str) -> bool {
    text.starts_with(GENERATED_HEADER)
}

fn object_task(
    out: &mut String,
    ot: &ObjectTask,
    deps: &[String],
    yaml_dir: &Path,
    compute: TaskCompute<'_>,
) {
    let _ = writeln!(out, "- task_key: {}", scalar(&ot.task_key));
    depends_on(out, "  ", deps);
    let nb = relative_path(yaml_dir, &ot.notebook);
    notebook_task(out, "  ", &nb, &ot.parameters, compute);
    retry_lines(out, "  ", ot.timeout_seconds, ot.max_retries);
}

/// A minimal `databricks.yml` (`--init-bundle`).
pub fn databricks_yml(bundle_name: &str, compute: &Compute) -> String {
    let mut out = String::new();
    out.push_str("# Created by `bricklint migrate --init-bundle`.\n");
    let _ = writeln!(out, "bundle:\n  name: {}\n", scalar(bundle_name));
    out.push_str("include:\n  - resources/*.yml\n");
    if let Compute::ExistingCluster(id) = compute {
        if let Some(var) = id.strip_prefix("${var.").and_then(|r| r.strip_suffix('}')) {
            let _ = writeln!(
                out,
                "\nvariables:\n  {var}:\n    description: Cluster that runs the migrated notebooks."
            );
        }
    }
    out.push_str("\ntargets:\n  dev:\n    mode: development\n    default: true\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::plan::*;
    use super::*;
    use ruff_text_size::TextRange;

    fn plan(items: Items) -> NotebookPlan {
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
                kind: FanOutKind::ForEach(ForEachPlan {
                    task_key: "run_bronze".into(),
                    child: "/r/notebooks/bronze.py".into(),
                    parameters: vec![
                        ("table".into(), ParamValue::InputField("table".into())),
                        ("env".into(), ParamValue::Literal("prod".into())),
                    ],
                    items,
                    concurrency: 500,
                    timeout_seconds: Some(600),
                    max_retries: Some(2),
                    value_key: "run_bronze_inputs".into(),
                }),
                remove: vec![],
                replace: TextRange::default(),
                notes: vec![],
            }],
            refusals: vec![],
            explain: vec![],
            after: None,
        }
    }

    #[test]
    fn scalars_are_quoted_when_needed() {
        assert_eq!(scalar("abc_1"), "abc_1");
        assert_eq!(scalar("../nb.py"), "../nb.py");
        assert_eq!(scalar("{{input}}"), "\"{{input}}\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("10"), "\"10\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(single_quoted("[\"it's\"]"), "'[\"it''s\"]'");
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("/r/resources"), Path::new("/r/nb/a.py")),
            "../nb/a.py"
        );
        assert_eq!(relative_path(Path::new("/r"), Path::new("/r/a.py")), "a.py");
    }

    #[test]
    fn for_each_inline_and_producer() {
        let inline = plan(Items {
            source: ItemsSource::Literal,
            values: Some(vec![serde_json::json!({"table": "a"})]),
            producer_expr: String::new(),
        });
        let y = job_yaml(&inline, &Compute::Serverless, "notebooks/orchestrate.py");
        assert!(y.contains("inputs: '[{\"table\":\"a\"}]'"), "{y}");
        assert!(y.contains("concurrency: 100"), "{y}");
        assert!(y.contains("table: \"{{input.table}}\""), "{y}");
        assert!(y.contains("notebook_path: ../notebooks/bronze.py"), "{y}");
        assert!(!y.contains("existing_cluster_id"));
        let dynamic = plan(Items {
            source: ItemsSource::Dynamic,
            values: None,
            producer_expr: "x".into(),
        });
        let y = job_yaml(
            &dynamic,
            &Compute::ExistingCluster("${var.cluster_id}".into()),
            "n.py",
        );
        assert!(
            y.contains("inputs: \"{{tasks.orchestrate.values.run_bronze_inputs}}\""),
            "{y}"
        );
        assert_eq!(
            y.matches("existing_cluster_id: \"${var.cluster_id}\"")
                .count(),
            2
        );
        // Parsed back, the YAML has the expected structure.
        let v: serde_json::Value = serde_saphyr::from_str(&y).unwrap();
        let tasks = &v["resources"]["jobs"]["orchestrate"]["tasks"];
        assert_eq!(tasks[1]["depends_on"][0]["task_key"], "orchestrate");
        assert_eq!(tasks[1]["for_each_task"]["task"]["max_retries"], 2);
        assert!(tasks[1]["max_retries"].is_null());
    }

    #[test]
    fn code_after_the_fan_out_runs_in_a_task_after_it() {
        let mut p = plan(Items {
            source: ItemsSource::Literal,
            values: Some(vec![serde_json::json!({"table": "a"})]),
            producer_expr: String::new(),
        });
        p.after = Some(AfterPlan::new(
            &p.notebook,
            "orchestrate",
            &["orchestrate_after".to_string()],
            vec![TextRange::default()],
            vec![],
        ));
        let (items, last) = fan_out_tasks(
            &p,
            &["orchestrate".to_string()],
            Path::new("/r/resources"),
            TaskCompute::Given(&Compute::JobCluster("main".into())),
        );
        assert_eq!(last, ["orchestrate_after_2"]);
        let v: serde_json::Value = serde_saphyr::from_str(&items).unwrap();
        assert_eq!(v[0]["task_key"], "run_bronze");
        assert_eq!(v[1]["task_key"], "orchestrate_after_2");
        assert_eq!(v[1]["depends_on"][0]["task_key"], "run_bronze");
        assert_eq!(
            v[1]["notebook_task"]["notebook_path"],
            "../notebooks/orchestrate_after.py"
        );
        assert_eq!(v[1]["job_cluster_key"], "main");
    }

    #[test]
    fn inline_limit_switches_to_producer() {
        let big: Vec<serde_json::Value> = (0..2000)
            .map(|i| serde_json::json!(format!("table_{i:05}")))
            .collect();
        let p = plan(Items {
            source: ItemsSource::Literal,
            values: Some(big),
            producer_expr: "tables".into(),
        });
        let y = job_yaml(&p, &Compute::Serverless, "n.py");
        assert!(y.contains("{{tasks.orchestrate.values.run_bronze_inputs}}"));
    }

    #[test]
    fn init_bundle_declares_cluster_variable() {
        let y = databricks_yml(
            "demo",
            &Compute::ExistingCluster("${var.cluster_id}".into()),
        );
        let v: serde_json::Value = serde_saphyr::from_str(&y).unwrap();
        assert_eq!(v["bundle"]["name"], "demo");
        assert_eq!(v["include"][0], "resources/*.yml");
        assert!(v["variables"]["cluster_id"].is_object());
    }
}
