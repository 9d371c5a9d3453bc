//! Variables: values, precedence, references between variables, budgets
//! (bundle/config/mutator/set_variables.go, resolve_variable_references.go,
//! libs/dyn/dynvar/resolve.go and ref.go).

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;

struct Run {
    code: Option<i32>,
    json: serde_json::Value,
    out: String,
}

impl Run {
    /// (code, line, message) of every finding.
    fn findings(&self) -> Vec<(String, u64, String)> {
        self.json["diagnostics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| {
                        (
                            d["code"].as_str().unwrap_or("").to_string(),
                            d["line"].as_u64().unwrap_or(0),
                            d["message"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    fn codes(&self) -> Vec<String> {
        self.findings().into_iter().map(|f| f.0).collect()
    }
    fn of(&self, code: &str) -> Vec<(u64, String)> {
        self.findings()
            .into_iter()
            .filter(|f| f.0 == code)
            .map(|f| (f.1, f.2))
            .collect()
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A bundle with `databricks.yml` = `yaml` and a notebook `src/load.py`.
fn bundle(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "databricks.yml", yaml);
    write(
        dir.path(),
        "src/load.py",
        "# Databricks notebook source\nprint(1)\n",
    );
    dir
}

/// `bricklint check --report-scope bundle --output-format json . <args>` with `env`.
fn check(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::cargo_bin("bricklint").unwrap();
    cmd.current_dir(dir)
        .args([
            "check",
            "--output-format",
            "json",
            "--report-scope",
            "bundle",
        ])
        .args(args)
        .arg(".")
        .timeout(Duration::from_secs(120));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Run {
        code: out.status.code(),
        json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        out: format!("exit {:?}\n{stdout}\n{stderr}", out.status.code()),
    }
}

const JOB: &str = "resources:\n  jobs:\n    load:\n      name: load\n      tasks:\n        - task_key: load\n          notebook_task:\n            notebook_path: ./src/load.py\n            base_parameters:\n              catalog: ${var.catalog}\n";

/// Issue 19 item 3. `v_n: ${var.v_n-1}${var.v_n-1}`, 27 levels: 2^27 copies of v0. The CLI's
/// `dynvar.Resolve` (libs/dyn/dynvar/resolve.go) memoises each variable but builds every byte;
/// bricklint stops at its substitution budget with a positioned VAR003, fast and small.
#[test]
fn doubling_variables_stop_at_the_budget() {
    let mut y = String::from("bundle:\n  name: bomb\nvariables:\n  v0:\n    default: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n");
    for i in 1..=27 {
        y.push_str(&format!(
            "  v{i}:\n    default: \"${{var.v{p}}}${{var.v{p}}}\"\n",
            p = i - 1
        ));
    }
    y.push_str(&JOB.replace("${var.catalog}", "${var.v27}"));
    let dir = bundle(&y);
    let t = Instant::now();
    let r = check(dir.path(), &[], &[]);
    let took = t.elapsed();
    assert_eq!(r.code, Some(1), "{}", r.out);
    let hits = r.of("VAR003");
    assert_eq!(hits.len(), 1, "{}", r.out);
    // At the value of a variable of the chain (line 6 is v1's value; the budget is reached
    // well before v27).
    assert!(hits[0].0 > 5 && hits[0].0 < 60, "{}", r.out);
    assert!(hits[0].1.contains("16 MiB"), "{}", r.out);
    // A debug build on a busy machine: seconds, not the minutes and gigabytes of 2^27 copies.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// A chain of variables longer than the depth budget is reported once, not a stack overflow.
#[test]
fn long_variable_chains_stop_at_the_depth_budget() {
    let mut y = String::from("bundle:\n  name: chain\nvariables:\n  v0:\n    default: x\n");
    for i in 1..=100 {
        y.push_str(&format!("  v{i}:\n    default: \"${{var.v{}}}\"\n", i - 1));
    }
    y.push_str(&JOB.replace("${var.catalog}", "${var.v100}"));
    let r = check(bundle(&y).path(), &[], &[]);
    assert_eq!(r.of("VAR003").len(), 1, "{}", r.out);
    assert!(
        r.of("VAR003")[0].1.contains("chain of more than 64"),
        "{}",
        r.out
    );
}

/// bundle/config/mutator/set_variables.go: a variable with no `--var`, no `BUNDLE_VAR_`, no
/// lookup, nothing in variable-overrides.json and no default is `no value assigned to required
/// variable`; each of those sources is enough.
#[test]
fn required_variable_needs_a_value_from_some_source() {
    let y = format!(
        "bundle:\n  name: req\nvariables:\n  catalog:\n    description: no default\ntargets:\n  dev:\n    default: true\n{JOB}"
    );
    let dir = bundle(&y);
    let r = check(dir.path(), &[], &[]);
    let hits = r.of("VAR001");
    assert_eq!(hits.len(), 1, "{}", r.out);
    assert_eq!(hits[0].0, 4, "{}", r.out);
    assert!(hits[0]
        .1
        .contains("no value assigned to required variable catalog"));

    let r = check(dir.path(), &["--var", "catalog=main"], &[]);
    assert!(!r.codes().contains(&"VAR001".into()), "{}", r.out);
    let r = check(dir.path(), &[], &[("BUNDLE_VAR_catalog", "main")]);
    assert!(!r.codes().contains(&"VAR001".into()), "{}", r.out);
    write(
        dir.path(),
        ".databricks/bundle/dev/variable-overrides.json",
        "{\"catalog\": \"main\"}\n",
    );
    let r = check(dir.path(), &[], &[]);
    assert!(!r.codes().contains(&"VAR001".into()), "{}", r.out);

    // A lookup is resolved against the workspace by the CLI: not a missing value.
    let y = y.replace(
        "description: no default",
        "lookup:\n      warehouse: Shared",
    );
    let r = check(bundle(&y).path(), &[], &[]);
    assert!(!r.codes().contains(&"VAR001".into()), "{}", r.out);
}

/// libs/dyn/dynvar/resolve.go: `cycle detected in field resolution` for a -> b -> a and for a
/// complex variable that refers to its own field.
#[test]
fn reference_cycles_are_reported_with_their_chain() {
    let y = format!(
        "bundle:\n  name: cyc\nvariables:\n  a:\n    default: x-${{var.b}}\n  b:\n    default: ${{var.a}}-y\n  c:\n    default: fine\n  catalog:\n    default: ${{var.c}}\n{JOB}"
    );
    let r = check(bundle(&y).path(), &[], &[]);
    let hits = r.of("VAR002");
    assert_eq!(hits.len(), 1, "{}", r.out);
    assert_eq!(hits[0].0, 5, "{}", r.out);
    assert!(hits[0].1.contains("var.a -> var.b -> var.a"), "{}", r.out);

    let y = format!(
        "bundle:\n  name: cyc\nvariables:\n  catalog:\n    default: main\n  cluster:\n    type: complex\n    default:\n      a: one\n      b: ${{var.cluster.a}}\n{JOB}"
    );
    let r = check(bundle(&y).path(), &[], &[]);
    assert_eq!(r.of("VAR002").len(), 1, "{}", r.out);
    assert!(
        r.of("VAR002")[0].1.contains("refers to itself"),
        "{}",
        r.out
    );
}

/// libs/dyn/dynvar/resolve.go looks `${var.cluster.spark_versio}` up in the value:
/// `reference does not exist`; a string has no fields; `bundle` and `workspace` have the fields
/// of bundle/config/bundle.go and workspace.go.
#[test]
fn fields_of_variables_and_sections_must_exist() {
    let y = "bundle:\n  name: f\nvariables:\n  catalog:\n    default: main\n  cluster:\n    type: complex\n    default:\n      spark_version: 15.4.x-scala2.12\nresources:\n  jobs:\n    load:\n      name: ${bundle.name}-${workspace.root_path}-${var.cluster.spark_version}\n      tasks:\n        - task_key: load\n          notebook_task:\n            notebook_path: ./src/load.py\n            base_parameters:\n              a: ${var.cluster.spark_versio}\n              b: ${var.catalog.name}\n              c: ${workspace.nope}\n              d: ${bundle.git.origin_url}\n";
    let r = check(bundle(y).path(), &[], &[]);
    let lines: Vec<u64> = r.of("VAR004").into_iter().map(|h| h.0).collect();
    assert_eq!(lines, [19, 20, 21], "{}", r.out);
}

/// bundle/config/root.go (target overrides): `variable x is not defined` for a target that
/// assigns an undeclared variable, in every target.
#[test]
fn targets_assign_only_declared_variables() {
    let y = format!(
        "bundle:\n  name: t\nvariables:\n  catalog:\n    default: main\ntargets:\n  dev:\n    default: true\n  prod:\n    variables:\n      catalgo: gold\n{JOB}"
    );
    let r = check(bundle(&y).path(), &[], &[]);
    assert_eq!(r.of("VAR005").len(), 1, "{}", r.out);
    assert_eq!(r.of("VAR005")[0].0, 11, "{}", r.out);
}

/// bundle/config/mutator/set_variables.go `readVariablesFromFile`: not JSON, not an object, or
/// a complex variable given a plain value stop the CLI.
#[test]
fn malformed_variable_overrides_file() {
    let y = format!(
        "bundle:\n  name: o\nvariables:\n  catalog:\n    default: main\n  cluster:\n    type: complex\n    default: {{n: 1}}\n{JOB}"
    );
    let dir = bundle(&y);
    let f = ".databricks/bundle/default/variable-overrides.json";
    for (text, want) in [
        ("{\"catalog\": \n", "not valid JSON at line 2"),
        ("[1, 2]\n", "must be a JSON object"),
        ("{\"cluster\": \"small\"}\n", "is of type complex"),
    ] {
        write(dir.path(), f, text);
        let r = check(dir.path(), &[], &[]);
        let hits = r.of("VAR006");
        assert_eq!(hits.len(), 1, "{text}\n{}", r.out);
        assert!(hits[0].1.contains(want), "{text}\n{}", r.out);
    }
    write(
        dir.path(),
        f,
        "{\"catalog\": \"gold\", \"cluster\": {\"n\": 2}}\n",
    );
    let r = check(dir.path(), &[], &[]);
    assert!(r.of("VAR006").is_empty(), "{}", r.out);
}

/// libs/dyn/dynvar/ref.go matches the inner `${var.tail}` of `${var.nb_${var.tail}}`; the next
/// resolution round (resolve_variable_references.go) resolves the outer one. No JOB008 error,
/// and the path resolves (JOB004 finds the notebook).
#[test]
fn nested_references_resolve_as_in_the_cli() {
    let y = "bundle:\n  name: n\nvariables:\n  tail:\n    default: dev\n  nb_dev:\n    default: load\nresources:\n  jobs:\n    load:\n      name: load\n      tasks:\n        - task_key: load\n          notebook_task:\n            notebook_path: ./src/${var.nb_${var.tail}}.py\n";
    let r = check(bundle(y).path(), &[], &[]);
    assert_eq!(r.code, Some(0), "{}", r.out);
}

/// `plan`, `check` and `migrate` share `--config`, `--target` / `-t` and `--var`
/// (src/cli/args.rs): `plan --var` resolves the variable `check --var` resolves (the CLI's
/// `--var` flag, cmd/bundle/utils/utils.go, parsed as a CSV string slice).
#[test]
fn plan_takes_the_bundle_arguments_of_check() {
    let y = "bundle:\n  name: p\nvariables:\n  items:\n    default: '[\"a\"]'\nresources:\n  jobs:\n    fan:\n      name: fan\n      tasks:\n        - task_key: each\n          for_each_task:\n            inputs: ${var.items}\n            task:\n              task_key: one\n              notebook_task:\n                notebook_path: ./src/load.py\n                base_parameters:\n                  x: \"{{input}}\"\n";
    let dir = bundle(y);
    let plan = |args: &[&str]| {
        let out = Command::cargo_bin("bricklint")
            .unwrap()
            .current_dir(dir.path())
            .args(["plan", ".", "--format", "json"])
            .args(args)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text)
    };
    let inputs = |text: &str| {
        let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        v["jobs"][0]["tasks"][0]["for_each"]["inputs"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let (code, text) = plan(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(inputs(&text), "[\"a\"]");
    let (code, text) = plan(&["--var", "\"items=[1,2,3]\""]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(inputs(&text), "[1,2,3]");
    // An undeclared variable is a usage error, as in `check`.
    let (code, _) = plan(&["--var", "nope=1"]);
    assert_eq!(code, Some(2));
    // `-t` is `--target` for every command.
    let (code, _) = plan(&["-t", "missing"]);
    assert_eq!(code, Some(2));
    let r = check(dir.path(), &["-t", "missing"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.out);
}

/// `${...}` in `bundle.name` and in a resource key: `bundle validate` refuses both; keys are
/// never substituted (libs/dyn/dynvar/resolve.go walks values only).
#[test]
fn references_in_the_bundle_name_and_resource_keys() {
    let y = "bundle:\n  name: etl-${var.env}\nvariables:\n  env:\n    default: dev\nresources:\n  jobs:\n    ${var.env}_load:\n      name: load-${var.env}\n      tasks:\n        - task_key: load\n          notebook_task:\n            notebook_path: ./src/load.py\n";
    let r = check(bundle(y).path(), &[], &[]);
    let lines: Vec<u64> = r.of("VAR007").into_iter().map(|h| h.0).collect();
    assert_eq!(lines, [2, 8], "{}", r.out);
}
