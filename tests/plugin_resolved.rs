//! `bricklint check --resolved-bundle FILE|-`: the JSON `databricks bundle validate --output json`
//! prints is checked instead of the YAML, with the YAML's locations where the job and task keys
//! match, and the JSON's (file, line, route) for a job defined only in Python.
//!
//! `fixtures/plugin/resolved/` holds a bundle and, beside it, the JSON the CLI prints for it
//! (`validate.json`: dev mode names and tags, workspace notebook paths without extensions,
//! variables resolved) and the same JSON with a job a Python `load_resources` function added
//! (`validate-python.json`).

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const DIR: &str = "fixtures/plugin/resolved";

fn run(dir: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> (i32, String, String) {
    let mut c = Command::cargo_bin("bricklint").unwrap();
    c.current_dir(dir).args(args);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (code, path, line, column, end_line, end_column, message, route) of each finding.
fn findings(dir: &Path, extra: &[&str], stdin: Option<Vec<u8>>) -> Vec<Vec<Value>> {
    let mut args = vec!["check", "--output-format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(dir, &args, stdin);
    assert_eq!(code, 1, "expected findings: {out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            [
                "code",
                "path",
                "line",
                "column",
                "end_line",
                "end_column",
                "message",
                "route",
            ]
            .iter()
            .map(|k| d[*k].clone())
            .collect()
        })
        .collect()
}

fn codes(f: &[Vec<Value>]) -> Vec<&str> {
    f.iter().map(|d| d[0].as_str().unwrap()).collect()
}

#[test]
fn resolved_json_gives_the_findings_and_locations_of_its_yaml() {
    let dir = Path::new(DIR);
    let from_yaml = findings(dir, &[], None);
    let from_json = findings(dir, &["--resolved-bundle", "validate.json"], None);
    assert_eq!(codes(&from_yaml), ["FE001", "XF001", "JOB004", "XF002"]);
    assert_eq!(from_json, from_yaml);
    // Every one of them is in the YAML, none in the JSON.
    assert!(from_json
        .iter()
        .all(|d| d[1].as_str() == Some("resources/jobs.yml")));
}

#[test]
fn a_job_defined_in_python_is_located_in_the_json_by_its_keys() {
    let dir = Path::new(DIR);
    let from_yaml = findings(dir, &[], None);
    let with_python = findings(dir, &["--resolved-bundle", "validate-python.json"], None);
    let (python, yaml): (Vec<_>, Vec<_>) = with_python
        .into_iter()
        .partition(|d| d[1].as_str() == Some("validate-python.json"));
    assert_eq!(yaml, from_yaml, "the YAML jobs keep their YAML locations");
    assert_eq!(codes(&python), ["JOB002"]);
    let d = &python[0];
    assert_eq!(
        d[7].as_str(),
        Some("resources.jobs.py_etl.tasks[0].depends_on[0].task_key")
    );
    // The line of that `task_key` in the JSON.
    let text = std::fs::read_to_string(Path::new(DIR).join("validate-python.json")).unwrap();
    let line = text
        .lines()
        .nth(d[2].as_u64().unwrap() as usize - 1)
        .unwrap();
    assert!(line.contains("\"task_key\": \"publish\""), "{line}");
    assert!(d[6].as_str().unwrap().contains("`py_etl`"));
}

#[test]
fn resolved_json_from_stdin() {
    let dir = Path::new(DIR);
    let text = std::fs::read(dir.join("validate-python.json")).unwrap();
    let f = findings(dir, &["--resolved-bundle", "-"], Some(text));
    let python: Vec<_> = f.iter().filter(|d| d[0] == "JOB002").collect();
    assert_eq!(python.len(), 1);
    assert_eq!(python[0][1].as_str(), Some("<stdin>"));
    assert_eq!(f.len(), 5);
}

#[test]
fn notebook_paths_relative_to_the_bundle_root_are_found() {
    // The shape a `databricks-bundles` mutator receives: paths relative to the bundle root,
    // with their extension, variables resolved, no workspace paths.
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(DIR);
    copy_dir(src, dir.path());
    let json = serde_json::json!({
        "bundle": {"name": "plugin_demo", "target": "dev"},
        "resources": {"jobs": {"clean": {"name": "clean", "tasks": [
            {"task_key": "list_tables", "notebook_task": {"notebook_path": "src/list_tables.py"}},
            {"task_key": "load_each", "depends_on": [{"task_key": "list_tables"}],
             "for_each_task": {"inputs": "{{tasks.list_tables.values.tables}}", "concurrency": 10,
                "task": {"task_key": "load_one", "notebook_task": {
                    "notebook_path": "src/load_table.py",
                    "base_parameters": {"table": "{{input.table}}"}}}}}
        ]}}}
    });
    let (code, out, err) = run(
        dir.path(),
        &[
            "check",
            "--output-format",
            "concise",
            "--resolved-bundle",
            "-",
        ],
        Some(json.to_string().into_bytes()),
    );
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn broken_json_is_a_usage_error_with_its_position() {
    let dir = Path::new(DIR);
    let (code, _, err) = run(
        dir,
        &["check", "--resolved-bundle", "-"],
        Some(b"{\"resources\": {\n  \"jobs\": [}".to_vec()),
    );
    assert_eq!(code, 2);
    assert!(err.contains("<stdin>: not the output of `databricks bundle validate --output json`"));
    assert!(err.contains("line 2"), "{err}");
    let (code, _, err) = run(dir, &["check", "--resolved-bundle", "no-such.json"], None);
    assert_eq!(code, 2);
    assert!(err.contains("no-such.json"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}
