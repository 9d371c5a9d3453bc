//! `bricklint migrate`, the job side: what happens to the bundle's jobs (chained tasks for
//! notebooks that ran one after the other, refusals that print the YAML to apply by hand,
//! `--emit-yaml`), on fixture projects of `fixtures/migrate/` copied to a temporary directory.

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
        if e.file_name() == "snapshots" {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A temporary copy of a fixture project.
fn project(name: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join(name), t.path());
    t
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(dir)
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

fn snapshot(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(fixtures().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.bind(|| insta::assert_snapshot!(name, text));
}

/// The bundle's jobs as `check` loads them for a target.
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

/// Lines removed from `before` in `after` (a line diff).
fn removed_lines(before: &str, after: &str) -> Vec<String> {
    similar::TextDiff::from_lines(before, after)
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .map(|c| c.value().trim_end().to_string())
        .collect()
}

#[test]
fn a_sequential_loop_over_different_notebooks_becomes_a_chain_of_tasks() {
    let p = project("chain_loop_job");
    let before = tree(p.path());
    let (code, out) = run(p.path(), &["migrate", "--to", "tasks", "--diff", "."]);
    assert_eq!(code, 1, "{out}");
    snapshot("chain_loop_job_diff", &out);
    assert_eq!(before, tree(p.path()), "a dry run writes nothing");

    let file = p.path().join("resources/etl.job.yml");
    let yaml_before = std::fs::read_to_string(&file).unwrap();
    let (code, out) = run(p.path(), &["migrate", "--to", "tasks", "--write", "."]);
    assert_eq!(code, 0, "{out}");
    let yaml_after = std::fs::read_to_string(&file).unwrap();
    // Only the downstream task's dependency changes; comments and everything else stay (the
    // line diff may align the inserted tasks either way around `- task_key: report`).
    let removed = removed_lines(&yaml_before, &yaml_after);
    assert!(
        removed == ["            - task_key: run_steps"]
            || removed == ["        - task_key: report"],
        "{removed:?}\n{yaml_after}"
    );
    assert!(
        yaml_after.contains("- task_key: run_steps   # runs extract, transform, load in order\n")
    );
    for target in [None, Some("prod")] {
        let jobs = load_jobs(p.path(), target);
        assert_eq!(jobs.len(), 1, "exactly one job");
        let g = jobs[0].graph();
        let order = [
            "prepare",
            "run_steps",
            "extract",
            "transform",
            "load",
            "report",
        ];
        for w in order.windows(2) {
            assert!(g.is_upstream(w[0], w[1]), "{} before {}", w[0], w[1]);
        }
        // Each step waits for the previous one only (the original order, nothing more).
        let deps = |k: &str| -> Vec<String> {
            jobs[0]
                .task(k)
                .unwrap()
                .depends_on
                .iter()
                .filter_map(|d| d.task_key.as_ref()?.as_str().map(str::to_string))
                .collect()
        };
        assert_eq!(deps("extract"), ["run_steps"]);
        assert_eq!(deps("transform"), ["extract"]);
        assert_eq!(deps("load"), ["transform"]);
        assert_eq!(deps("report"), ["load"]);
        // The new tasks run on the orchestrator task's job cluster.
        for k in ["extract", "transform", "load"] {
            let t = jobs[0].task(k).unwrap();
            assert_eq!(
                t.job_cluster_key.as_ref().and_then(|n| n.as_str()),
                Some("main")
            );
        }
    }
    let (code, out) = run(p.path(), &["check", "."]);
    assert_eq!(code, 0, "check is clean after the migration:\n{out}");
    let snap = tree(p.path());
    let (code, out) = run(p.path(), &["migrate", "--to", "tasks", "--write", "."]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Nothing to migrate"), "{out}");
    assert_eq!(snap, tree(p.path()), "a second run changes nothing");
}

/// The YAML documents `--emit-yaml` printed, parsed.
fn yaml_docs(text: &str) -> Vec<serde_json::Value> {
    text.split("\n---\n")
        .map(|d| serde_saphyr::from_str::<serde_json::Value>(d).expect("--emit-yaml prints YAML"))
        .collect()
}

#[test]
fn refused_job_edits_print_the_yaml_to_paste_and_write_nothing() {
    for (name, reason, key) in [
        (
            "refused_several_jobs",
            "2 tasks run this notebook: job `backfill` (task `run_all`), job `daily` (task `orchestrate`)",
            "run_ingest",
        ),
        (
            "refused_target_override",
            "target `prod` overrides `existing_cluster_id` of task `orchestrate` in job `ingest` (databricks.yml:16)",
            "orchestrate",
        ),
    ] {
        let p = project(name);
        let before = tree(p.path());
        let (code, out) = run(p.path(), &["migrate", "--diff", "."]);
        snapshot(&format!("{name}_diff"), &out);
        assert_eq!(code, 1, "{name}: a refused edit is pending work\n{out}");
        assert!(out.contains(reason), "{name}: {out}");
        assert!(out.contains("to do it by hand:"), "{name}: {out}");
        assert!(!out.contains("+++"), "{name}: nothing to apply\n{out}");
        let (code, out) = run(p.path(), &["migrate", "--write", "."]);
        assert_eq!(code, 1, "{name}: {out}");
        assert_eq!(before, tree(p.path()), "{name}: nothing written");

        let (code, out) = run(p.path(), &["migrate", "--emit-yaml", "."]);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.starts_with("# notebooks/orchestrate.py: not applied: "), "{out}");
        let docs = yaml_docs(&out);
        assert_eq!(docs.len(), 1, "{name}: {out}");
        // The pasted YAML is a task list or a task's `for_each_task` entry whose nested task
        // runs the child notebook for every input.
        let (task_key, fe) = match &docs[0] {
            serde_json::Value::Array(items) => (
                items[0]["task_key"].as_str().unwrap().to_string(),
                items[0]["for_each_task"].clone(),
            ),
            m => (key.to_string(), m["for_each_task"].clone()),
        };
        assert_eq!(task_key, key, "{name}");
        assert_eq!(fe["inputs"], r#"["customers","orders","payments"]"#);
        assert_eq!(
            fe["task"]["notebook_task"]["notebook_path"],
            "../notebooks/ingest.py"
        );
        assert_eq!(before, tree(p.path()), "{name}: --emit-yaml writes nothing");
    }
    // Nothing refused: nothing on stdout, exit 1.
    let p = project("chain_loop_job");
    let (code, out) = run(p.path(), &["migrate", "--emit-yaml", "."]);
    assert_eq!((code, out.as_str()), (1, ""));
}
