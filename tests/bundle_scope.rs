//! Giving one file of a bundle (a notebook, an included YAML file) analyses the whole bundle;
//! `--report-scope files` (the default) reports only findings located in the given files.

use std::path::Path;

use bricklint::engine::{check, CheckOptions, ReportScope};

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle:\n  name: scope\ninclude:\n  - resources/*.yml\nvariables:\n  conc:\n    default: 500\n",
    );
    // Job a (a.yml) has a missing notebook; job b (b.yml) uses a variable of databricks.yml.
    write(
        d.path(),
        "resources/a.yml",
        "resources:\n  jobs:\n    a:\n      tasks:\n        - task_key: first\n          notebook_task:\n            notebook_path: ../src/nb.py\n        - task_key: second\n          depends_on:\n            - task_key: first\n          notebook_task:\n            notebook_path: ../src/missing.py\n",
    );
    write(
        d.path(),
        "resources/b.yml",
        "resources:\n  jobs:\n    b:\n      tasks:\n        - task_key: all\n          for_each_task:\n            inputs: '[\"x\"]'\n            concurrency: ${var.conc}\n            task:\n              task_key: one\n              notebook_task:\n                notebook_path: ../src/nb.py\n                base_parameters:\n                  item: \"{{input}}\"\n",
    );
    write(
        d.path(),
        "src/nb.py",
        "# Databricks notebook source\nprint(1)\n",
    );
    d
}

fn run(paths: &[&Path], scope: ReportScope) -> Vec<(String, String)> {
    let opts = CheckOptions {
        paths: paths.iter().map(|p| p.to_path_buf()).collect(),
        select: Some(vec!["FE".into(), "JOB".into(), "SCH".into()]),
        report_scope: scope,
        ..Default::default()
    };
    let r = check(&opts).unwrap();
    let mut v: Vec<(String, String)> = r
        .messages
        .iter()
        .map(|m| {
            (
                m.code.to_string(),
                Path::new(&m.span.path)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn one_yaml_file_analyses_its_bundle() {
    let d = setup();
    // b.yml alone: the variable from databricks.yml is resolved (500 -> FE001), and nothing
    // from a.yml is reported.
    let b = d.path().join("resources/b.yml");
    assert_eq!(
        run(&[&b], ReportScope::Files),
        [("FE001".into(), "b.yml".into())]
    );
    // The same with the bundle scope reports a.yml's missing notebook too.
    let all = run(&[&b], ReportScope::Bundle);
    assert!(all.contains(&("JOB004".into(), "a.yml".into())), "{all:?}");
    assert!(all.contains(&("FE001".into(), "b.yml".into())), "{all:?}");
}

#[test]
fn one_notebook_analyses_its_bundle() {
    let d = setup();
    let nb = d.path().join("src/nb.py");
    // Findings are in YAML files, not in the notebook: nothing in scope `files`.
    assert_eq!(
        run(&[&nb], ReportScope::Files),
        Vec::<(String, String)>::new()
    );
    let all = run(&[&nb], ReportScope::Bundle);
    assert_eq!(
        all,
        [
            ("FE001".to_string(), "b.yml".to_string()),
            ("JOB004".to_string(), "a.yml".to_string())
        ]
    );
}

#[test]
fn whole_directory() {
    let d = setup();
    let all = run(&[d.path()], ReportScope::Files);
    assert_eq!(all.len(), 2, "{all:?}");
}

#[test]
fn target_override_changes_a_finding() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rules/for-each-concurrency-out-of-range/bad_target_override");
    let run_target = |target: Option<&str>| {
        let opts = CheckOptions {
            paths: vec![dir.clone()],
            select: Some(vec!["FE001".into()]),
            target: target.map(str::to_string),
            ..Default::default()
        };
        check(&opts)
            .unwrap()
            .messages
            .iter()
            .map(|m| format!("{}:{} {}", m.span.line, m.span.column, m.message))
            .collect::<Vec<_>>()
    };
    // `prod` is the default target: its override (concurrency 250) is reported at its own line.
    let prod = run_target(None);
    assert_eq!(prod.len(), 1, "{prod:?}");
    assert!(
        prod[0].starts_with("18:30 ") && prod[0].contains("250"),
        "{prod:?}"
    );
    assert_eq!(run_target(Some("prod")), prod);
    // `dev` keeps the base value from resources/process.job.yml (10): no finding.
    assert_eq!(run_target(Some("dev")), Vec::<String>::new());
}
