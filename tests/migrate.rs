//! `bricklint migrate` on the fixture projects in `fixtures/migrate/<project>/`: the plan and
//! diff (snapshots), `--write`, idempotency, and the byte-for-byte preservation guarantees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/migrate")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let name = e.file_name();
        if name == "snapshots" {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &to.join(&name));
        } else {
            std::fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

/// A temporary copy of a fixture project.
fn project(name: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(name), t.path());
    t
}

fn migrate(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(dir)
        .arg("migrate")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "bricklint panicked: {stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every file of a directory with its contents.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

const MIGRATABLE: &[&str] = &[
    "named_function",
    "lambda",
    "executor_submit",
    "function_reference",
    "notebook_data",
    "static_list",
    "json_config",
    "spark_query",
    "tasks_waves",
    "sequential_loop",
    "helper_elsewhere",
    "existing_job",
    "existing_job_downstream",
    "filtered_comprehension",
    "json_arguments",
    "loop_arguments",
    "lambda_name",
    "collect_rows",
    "workspace_path",
    "sequence_job",
];

/// One fixture per refusal reason: nothing is written, the plan names the line and the reason.
const REFUSED: &[&str] = &[
    "refused_dynamic_path",
    "refused_thread",
    "refused_results_used",
    "refused_loop_work",
    "refused_uncalled_function",
    "refused_while_loop",
    "refused_gated_sequence",
];

fn snapshot(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(fixtures().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// `--explain`: per fan-out, each decision and why, before the plan; a refusal is the last
/// decision of the site it stops.
#[test]
fn explain_snapshots() {
    for name in [
        "filtered_comprehension",
        "tasks_waves",
        "workspace_path",
        "refused_results_used",
    ] {
        let p = project(name);
        let (_, out) = migrate(p.path(), &["--explain", "."]);
        let explain = out.split("\n\n").next().unwrap_or("");
        assert!(explain.contains("  - found: "), "{name}: {out}");
        snapshot(&format!("{name}_explain"), explain);
    }
    let p = project("refused_results_used");
    let (_, out) = migrate(p.path(), &["--explain", "."]);
    assert!(
        out.contains("  - not migrated: line 10: the fan-out's results are used here"),
        "{out}"
    );
}

#[test]
fn diff_snapshots() {
    for name in MIGRATABLE.iter().chain(REFUSED.iter()) {
        let p = project(name);
        let before = tree(p.path());
        let (code, out) = migrate(p.path(), &["--diff", "."]);
        snapshot(&format!("{name}_diff"), &out);
        let expected = if name.starts_with("refused") { 0 } else { 1 };
        assert_eq!(code, expected, "{name}: exit code\n{out}");
        assert_eq!(before, tree(p.path()), "{name}: a dry run must not write");
    }
}

#[test]
fn write_then_idempotent() {
    for name in MIGRATABLE {
        let p = project(name);
        let (code, out) = migrate(p.path(), &["--write", "."]);
        assert_eq!(code, 0, "{name}: --write\n{out}");
        assert!(out.contains("Wrote"), "{name}: {out}");
        let after = tree(p.path());
        let resources: Vec<_> = after
            .keys()
            .filter(|k| k.starts_with("resources"))
            .collect();
        assert_eq!(
            resources.len(),
            1,
            "{name}: one job resource: {resources:?}"
        );
        // The generated YAML parses and has a job with tasks.
        let yaml = String::from_utf8(after[resources[0]].clone()).unwrap();
        let v: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        let jobs = v["resources"]["jobs"].as_object().unwrap();
        assert_eq!(jobs.len(), 1);
        let tasks = jobs.values().next().unwrap()["tasks"].as_array().unwrap();
        assert!(!tasks.is_empty());
        for t in tasks {
            if let Some(fe) = t.get("for_each_task") {
                assert!(fe["inputs"].is_string(), "{name}: inputs must be a string");
                let c = fe["concurrency"].as_u64().unwrap();
                assert!((1..=100).contains(&c));
                assert!(
                    t.get("max_retries").is_none(),
                    "{name}: retries on the parent"
                );
            }
        }
        // Second run: nothing to do, nothing changes.
        let (code, out) = migrate(p.path(), &["--write", "."]);
        assert_eq!(code, 0, "{name}: second --write\n{out}");
        assert!(out.contains("Nothing to migrate"), "{name}: {out}");
        assert_eq!(after, tree(p.path()), "{name}: second run changed files");
        let (code, _) = migrate(p.path(), &["."]);
        assert_eq!(code, 0, "{name}: dry run after migration");
        // The rewritten notebooks have no notebook.run fan-out left and still parse.
        let (code, out) = Command::cargo_bin("bricklint")
            .unwrap()
            .current_dir(p.path())
            .args(["check", "--select", "NB001", "."])
            .output()
            .map(|o| {
                (
                    o.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&o.stdout).into_owned(),
                )
            })
            .unwrap();
        assert_eq!(code, 0, "{name}: rewritten notebooks must parse\n{out}");
    }
}

#[test]
fn refused_project_is_left_alone() {
    let p = project("refused_dynamic_path");
    let before = tree(p.path());
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("cannot migrate automatically"), "{out}");
    assert!(out.contains("dynamic notebook paths"), "{out}");
    assert_eq!(before, tree(p.path()));
    // Shapes the semantic model finds but migrate does not rewrite are refused, not ignored.
    let p = project("refused_thread");
    let before = tree(p.path());
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("thr.py:7: cannot migrate automatically: thread"),
        "{out}"
    );
    assert_eq!(before, tree(p.path()));
}

#[test]
fn ipynb_keeps_metadata_and_outputs() {
    let p = project("function_reference");
    let nb = p.path().join("notebooks/backfill.ipynb");
    let before: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&nb).unwrap()).unwrap();
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0, "{out}");
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&nb).unwrap()).unwrap();
    assert_eq!(before["metadata"], after["metadata"]);
    let (bc, ac) = (
        before["cells"].as_array().unwrap(),
        after["cells"].as_array().unwrap(),
    );
    assert_eq!(bc.len(), ac.len());
    for (b, a) in bc.iter().zip(ac) {
        assert_eq!(b["metadata"], a["metadata"]);
        assert_eq!(b["outputs"], a["outputs"]);
        assert_eq!(b["cell_type"], a["cell_type"]);
    }
    assert_eq!(
        bc[0]["source"], ac[0]["source"],
        "the markdown cell is untouched"
    );
    let last: String = ac[2]["source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        last.starts_with("# bricklint migrate: job `backfill`"),
        "{last}"
    );
    assert!(!last.contains("notebook.run"));
}

#[test]
fn crlf_and_magic_prefixes_are_kept() {
    let p = project("static_list");
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(p.path().join("sql/all_regions.sql")).unwrap();
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "bare LF in {text:?}"
    );
    assert!(text
        .starts_with("-- Databricks notebook source\r\nCREATE SCHEMA IF NOT EXISTS reports;\r\n"));
    assert!(text.contains("-- MAGIC %python\r\n-- MAGIC # bricklint migrate: job `all_regions`"));
    assert!(!text.contains("notebook.run"));
}

/// The bundle's jobs as `check` loads them (selected target), for the property checks below.
fn load_jobs(root: &Path, target: Option<&str>) -> Vec<bricklint::bundle::Job> {
    let text = std::fs::read_to_string(root.join("databricks.yml")).unwrap();
    let mut diags = Vec::new();
    let b = bricklint::bundle::load_bundle(
        std::sync::Arc::new(root.join("databricks.yml")),
        std::sync::Arc::from(text.as_str()),
        &|_| None,
        &Default::default(),
        &bricklint::bundle::LoadOptions {
            target: target.map(str::to_string),
            ..Default::default()
        },
        &mut diags,
    );
    assert!(diags.is_empty(), "{diags:?}");
    b.jobs
}

/// Lines of `before` that are not in `after`, and lines of `after` not in `before` (a line
/// diff), for checking that an edit kept everything else.
fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let d = similar::TextDiff::from_lines(before, after);
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for c in d.iter_all_changes() {
        match c.tag() {
            similar::ChangeTag::Delete => removed.push(c.value().trim_end().to_string()),
            similar::ChangeTag::Insert => added.push(c.value().trim_end().to_string()),
            similar::ChangeTag::Equal => {}
        }
    }
    (removed, added)
}

#[test]
fn the_job_that_runs_the_orchestrator_is_edited_in_place() {
    // Nothing left in the notebook: the orchestrator task becomes the For Each task, with its
    // key, its compute and its retries on the nested task; the rest of the file is untouched.
    let p = project("existing_job");
    let file = p.path().join("resources/bronze.job.yml");
    let before = std::fs::read_to_string(&file).unwrap();
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("task `orchestrate` becomes the For Each task"),
        "{out}"
    );
    let after = std::fs::read_to_string(&file).unwrap();
    let (removed, _) = changed_lines(&before, &after);
    assert_eq!(
        removed,
        [
            "          job_cluster_key: main",
            "          notebook_task:",
            "            notebook_path: ../notebooks/orchestrate.py",
            "          max_retries: 2"
        ],
        "{after}"
    );
    for target in [None, Some("prod")] {
        let jobs = load_jobs(p.path(), target);
        assert_eq!(jobs.len(), 1);
        let t = jobs[0].task("orchestrate").unwrap();
        let nested = t.nested_task().expect("a For Each task");
        assert_eq!(
            nested.job_cluster_key.as_ref().and_then(|n| n.as_str()),
            Some("main")
        );
        assert!(t.job_cluster_key.is_none() && t.get("max_retries").is_none());
        assert_eq!(nested.get("max_retries").and_then(|n| n.as_i64()), Some(2));
        let publish = jobs[0].task("publish").unwrap();
        assert_eq!(
            publish.depends_on[0]
                .task_key
                .as_ref()
                .and_then(|n| n.as_str()),
            Some("orchestrate")
        );
        // The target override of the orchestrator task still applies (to the For Each task).
        let timeout = t.get("timeout_seconds").and_then(|n| n.as_i64());
        assert_eq!(timeout, target.map(|_| 7200));
    }
    // Dynamic inputs: the orchestrator stays as the producer; the For Each runs after it and
    // the task that waited for the orchestrator now waits for the For Each.
    let p = project("existing_job_downstream");
    let file = p.path().join("resources/pipeline.job.yml");
    let before = std::fs::read_to_string(&file).unwrap();
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0, "{out}");
    let after = std::fs::read_to_string(&file).unwrap();
    let (removed, _) = changed_lines(&before, &after);
    assert!(
        removed.is_empty() || removed == ["        - task_key: silver"],
        "{removed:?}"
    );
    assert!(after.contains("- task_key: build_configs   # reads the table list, fans out\n"));
    for target in [None, Some("prod")] {
        let jobs = load_jobs(p.path(), target);
        assert_eq!(jobs.len(), 1);
        let g = jobs[0].graph();
        assert!(g.is_upstream("build_configs", "run_ingest"));
        assert!(g.is_upstream("run_ingest", "silver"));
        let fe = jobs[0].task("run_ingest").unwrap();
        assert_eq!(
            fe.nested_task()
                .unwrap()
                .job_cluster_key
                .as_ref()
                .and_then(|n| n.as_str()),
            Some("main")
        );
        assert!(jobs[0]
            .task("build_configs")
            .unwrap()
            .notebook_task
            .is_some());
    }
    // A second run has nothing to do.
    let snap = tree(p.path());
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Nothing to migrate"), "{out}");
    assert_eq!(snap, tree(p.path()));
}

#[test]
fn the_example_bundle_migrates_to_one_job_and_checks_clean() {
    let t = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fanout-bundle"),
        t.path(),
    );
    let (code, out) = migrate(t.path(), &["--write"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("in job `orchestrator`"), "{out}");
    let jobs = load_jobs(t.path(), None);
    assert_eq!(jobs.len(), 1, "exactly one job");
    assert_eq!(jobs[0].key, "orchestrator");
    assert!(jobs[0].task("orchestrate").unwrap().for_each_task.is_some());
    let files: Vec<_> = std::fs::read_dir(t.path().join("resources"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1, "no second resource file");
    let check = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(t.path())
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let snap = tree(t.path());
    let (code, out) = migrate(t.path(), &["--write"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Nothing to migrate"), "{out}");
    assert_eq!(snap, tree(t.path()));
}

#[test]
fn user_files_are_never_overwritten() {
    // A file of the user's with the name migrate would pick: another name is used.
    let p = project("named_function");
    std::fs::create_dir_all(p.path().join("resources")).unwrap();
    let res = p.path().join("resources/orchestrate.job.yml");
    std::fs::write(&res, "resources: {}\n").unwrap();
    let (code, out) = migrate(p.path(), &["--write", "--force", "."]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(std::fs::read_to_string(&res).unwrap(), "resources: {}\n");
    let job = std::fs::read_to_string(p.path().join("resources/orchestrate_2.job.yml")).unwrap();
    assert!(job.contains("    orchestrate_2:\n"), "{job}");
    assert!(job.contains("for_each_task"), "{job}");
    // A file an earlier migration of this notebook generated (the notebook was restored since,
    // and the generated job does not run it): replaced with --force only.
    let p = project("named_function");
    let nb = p.path().join("notebooks/orchestrate.py");
    let before = std::fs::read(&nb).unwrap();
    let (code, _) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 0);
    let res = p.path().join("resources/orchestrate.job.yml");
    let generated = std::fs::read_to_string(&res).unwrap();
    std::fs::write(&nb, &before).unwrap();
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("earlier `bricklint migrate`"), "{out}");
    assert!(out.contains("pass --force"), "{out}");
    assert_eq!(std::fs::read(&nb).unwrap(), before, "nothing written");
    let (code, out) = migrate(p.path(), &["--write", "--force", "."]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(std::fs::read_to_string(&res).unwrap(), generated);
}

#[test]
fn init_bundle_creates_databricks_yml() {
    let p = project("named_function");
    std::fs::remove_file(p.path().join("databricks.yml")).unwrap();
    std::fs::create_dir(p.path().join(".git")).unwrap();
    let (code, out) = migrate(p.path(), &["--write", "."]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--init-bundle"), "{out}");
    assert!(!p.path().join("databricks.yml").exists());
    let (code, out) = migrate(
        p.path(),
        &[
            "--write",
            "--init-bundle",
            "--compute",
            "existing-cluster=${var.cluster_id}",
            ".",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let root = std::fs::read_to_string(p.path().join("databricks.yml")).unwrap();
    assert!(root.contains("resources/*.yml"), "{root}");
    assert!(root.contains("cluster_id:"), "{root}");
    let job = std::fs::read_to_string(p.path().join("resources/orchestrate.job.yml")).unwrap();
    assert!(
        job.contains("existing_cluster_id: \"${var.cluster_id}\""),
        "{job}"
    );
}

#[test]
fn to_shapes() {
    // A static list of different notebooks cannot be a For Each.
    let p = project("tasks_waves");
    let (code, out) = migrate(p.path(), &["--to", "for-each", "."]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("use `--to tasks`"), "{out}");
    // One task per object for a homogeneous static list.
    let p = project("named_function");
    let (code, out) = migrate(
        p.path(),
        &["--to", "tasks", "--compute", "job-cluster=main", "."],
    );
    assert_eq!(code, 1, "{out}");
    for t in ["bronze_customers", "bronze_orders", "bronze_line_items"] {
        assert!(out.contains(&format!("- task_key: {t}")), "{t}: {out}");
    }
    assert!(out.contains("job_cluster_key: main"), "{out}");
    assert!(out.contains("table: customers"), "{out}");
}

/// The official bundle schema's `jobs.Task` definition as a validator (a `runs/submit` task is
/// a job task without the job-level keys), when `../shared/reference/databricks/` is there.
fn official_task_validator() -> Option<jsonschema::Validator> {
    let p = std::env::var_os("BRICKLINT_OFFICIAL_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/reference/databricks/bundle_schema.json")
        });
    let Ok(text) = std::fs::read_to_string(&p) else {
        eprintln!(
            "NOTICE: {} not found; submit tasks checked structurally only",
            p.display()
        );
        return None;
    };
    let full: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema = serde_json::json!({
        "$defs": full["$defs"],
        "$ref": "#/$defs/github.com/databricks/databricks-sdk-go/service/jobs.Task",
    });
    let v = jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(&schema)
        .unwrap();
    // The validator can fail: an unknown key in a notebook task is rejected.
    assert!(!v.is_valid(&serde_json::json!({
        "task_key": "a",
        "notebook_task": {"notebook_path": "/x", "bogus": 1}
    })));
    Some(v)
}

/// Structural checks of a `runs/submit` body (and the schema's, when available).
fn check_submit_request(
    name: &str,
    v: &serde_json::Value,
    ws_root: &str,
    validator: Option<&jsonschema::Validator>,
) {
    let obj = v.as_object().unwrap();
    assert!(
        obj.keys().all(|k| k == "run_name" || k == "tasks"),
        "{name}: {obj:?}"
    );
    assert!(v["run_name"].as_str().is_some_and(|s| !s.is_empty()));
    let tasks = v["tasks"].as_array().unwrap();
    assert!(!tasks.is_empty() && tasks.len() <= 100, "{name}");
    let mut seen: Vec<&str> = Vec::new();
    let check_notebook = |t: &serde_json::Value| {
        let p = t["notebook_task"]["notebook_path"].as_str().unwrap();
        assert!(p.starts_with(&format!("{ws_root}/")), "{name}: {p}");
        assert!(!p.ends_with(".py") && !p.ends_with(".ipynb") && !p.ends_with(".sql"));
        for (_, val) in t["notebook_task"]["base_parameters"]
            .as_object()
            .into_iter()
            .flatten()
        {
            assert!(val.is_string(), "{name}: base_parameters are strings");
        }
    };
    for t in tasks {
        let key = t["task_key"].as_str().unwrap();
        assert!(
            !key.is_empty()
                && key.len() <= 100
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{name}: task_key {key}"
        );
        assert!(!seen.contains(&key), "{name}: duplicate task_key {key}");
        let deps: Vec<&str> = t["depends_on"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["task_key"].as_str().unwrap())
            .collect();
        assert!(
            deps.iter().all(|d| seen.contains(d)),
            "{name}: {key} depends on a task that is not before it"
        );
        assert!(
            t.get("job_cluster_key").is_none(),
            "{name}: no job clusters in submit"
        );
        if let Some(fe) = t.get("for_each_task") {
            let inputs = fe["inputs"].as_str().unwrap();
            if let Some(r) = inputs.strip_prefix("{{tasks.") {
                let producer = r.split('.').next().unwrap();
                assert!(deps.contains(&producer), "{name}: {inputs} not upstream");
            } else {
                let items: serde_json::Value = serde_json::from_str(inputs).unwrap();
                assert!(items.is_array(), "{name}: inputs are a JSON array");
            }
            let c = fe["concurrency"].as_u64().unwrap();
            assert!((1..=100).contains(&c));
            assert!(t.get("max_retries").is_none() && t.get("notebook_task").is_none());
            check_notebook(&fe["task"]);
            if let Some(val) = validator {
                let errs: Vec<String> = val
                    .iter_errors(&fe["task"])
                    .map(|e| e.to_string())
                    .collect();
                assert!(errs.is_empty(), "{name}: nested task: {errs:?}");
            }
        } else {
            check_notebook(t);
        }
        if let Some(val) = validator {
            let errs: Vec<String> = val.iter_errors(t).map(|e| e.to_string()).collect();
            assert!(errs.is_empty(), "{name}: task {key}: {errs:?}\n{t}");
        }
        seen.push(key);
    }
}

const WS: &str = "/Workspace/Users/me@example.com/project";

#[test]
fn submit_diff_snapshots() {
    for name in ["named_function", "spark_query", "tasks_waves"] {
        let p = project(name);
        let before = tree(p.path());
        let (code, out) = migrate(
            p.path(),
            &["--to", "submit", "--workspace-root", WS, "--diff", "."],
        );
        snapshot(&format!("{name}_submit_diff"), &out);
        assert_eq!(code, 1, "{name}: pending changes\n{out}");
        assert!(out.contains(".submit.json"), "{name}: {out}");
        assert!(!out.contains("resources/"), "{name}: no bundle YAML\n{out}");
        assert_eq!(before, tree(p.path()), "{name}: a dry run must not write");
    }
}

#[test]
fn submit_writes_valid_requests_once() {
    let validator = official_task_validator();
    for name in MIGRATABLE {
        let p = project(name);
        std::fs::remove_file(p.path().join("databricks.yml")).unwrap();
        std::fs::create_dir(p.path().join(".git")).unwrap();
        let before = tree(p.path());
        let (code, out) = migrate(
            p.path(),
            &["--to", "submit", "--workspace-root", WS, "--write", "."],
        );
        assert_eq!(code, 0, "{name}: --write (no bundle needed)\n{out}");
        let after = tree(p.path());
        let new: Vec<&PathBuf> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        assert!(
            !new.is_empty()
                && new
                    .iter()
                    .all(|k| k.to_string_lossy().ends_with(".submit.json")),
            "{name}: only request files are created: {new:?}"
        );
        for k in new {
            let v: serde_json::Value = serde_json::from_slice(&after[k]).unwrap();
            check_submit_request(name, &v, WS, validator.as_ref());
            // A task-value input is set by the rewritten orchestrator.
            for t in v["tasks"].as_array().unwrap() {
                let inputs = t["for_each_task"]["inputs"].as_str().unwrap_or("");
                if let Some(r) = inputs.strip_prefix("{{tasks.") {
                    let key = r.trim_end_matches("}}").rsplit('.').next().unwrap();
                    let nb_text: String = after
                        .iter()
                        .filter(|(p, _)| !p.to_string_lossy().ends_with(".json"))
                        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
                        .collect();
                    assert!(
                        nb_text.contains(&format!("taskValues.set(key=\\\"{key}\\\""))
                            || nb_text.contains(&format!("taskValues.set(key=\"{key}\"")),
                        "{name}: nobody sets {key}"
                    );
                }
            }
        }
        // Twice equals once.
        let (code, out) = migrate(
            p.path(),
            &["--to", "submit", "--workspace-root", WS, "--write", "."],
        );
        assert_eq!(code, 0, "{name}: second --write\n{out}");
        assert!(out.contains("Nothing to migrate"), "{name}: {out}");
        assert_eq!(after, tree(p.path()), "{name}: second run changed files");
    }
}

#[test]
fn submit_refuses_what_a_request_cannot_hold() {
    let p = project("named_function");
    for (args, msg) in [
        (
            vec!["--to", "submit", "--compute", "job-cluster=main", "."],
            "no job clusters",
        ),
        (
            vec![
                "--to",
                "submit",
                "--compute",
                "existing-cluster=${var.cluster_id}",
                ".",
            ],
            "bundle variable",
        ),
        (
            vec!["--to", "submit", "--workspace-root", "Shared/x", "."],
            "absolute",
        ),
    ] {
        let out = Command::cargo_bin("bricklint")
            .unwrap()
            .current_dir(p.path())
            .arg("migrate")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    // Without --workspace-root the plan says which folder the paths assume; an existing
    // request file needs --force.
    let (code, out) = migrate(p.path(), &["--to", "submit", "."]);
    assert_eq!(code, 1);
    assert!(out.contains("pass --workspace-root"), "{out}");
    std::fs::write(p.path().join("notebooks/orchestrate.submit.json"), "{}\n").unwrap();
    let (code, out) = migrate(p.path(), &["--to", "submit", "--write", "."]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("exists; pass --force"), "{out}");
    let (code, out) = migrate(p.path(), &["--to", "submit", "--write", "--force", "."]);
    assert_eq!(code, 0, "{out}");
    // Two orchestrators that would write the same request file: neither is migrated.
    let p = project("named_function");
    let nb = p.path().join("notebooks/orchestrate.py");
    let text = std::fs::read_to_string(&nb).unwrap();
    let cells: Vec<serde_json::Value> = text
        .trim_start_matches("# Databricks notebook source\n")
        .split("\n# COMMAND ----------\n")
        .map(|c| serde_json::json!({"cell_type": "code", "metadata": {}, "source": c.trim()}))
        .collect();
    let ipynb =
        serde_json::json!({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5});
    std::fs::write(
        p.path().join("notebooks/orchestrate.ipynb"),
        ipynb.to_string(),
    )
    .unwrap();
    let before = tree(p.path());
    let (code, out) = migrate(p.path(), &["--to", "submit", "--write", "."]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("would also write notebooks/orchestrate.submit.json"),
        "{out}"
    );
    assert_eq!(before, tree(p.path()));
}
