//! Black-box tests of the `bricklint` binary: exit codes, output formats and their contracts.
//! Fixtures live in `fixtures/cli/`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cli")
}

/// `bricklint` run from `fixtures/cli/`, with colours and env defaults neutralised.
fn bricklint() -> Command {
    let mut c = Command::cargo_bin("bricklint").unwrap();
    c.current_dir(fixtures())
        .env_remove("BRICKLINT_OUTPUT_FORMAT")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR");
    c
}

fn stdout_of(c: &mut Command) -> String {
    String::from_utf8(c.output().unwrap().stdout).unwrap()
}

fn json_of(c: &mut Command) -> Value {
    let out = stdout_of(c);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

// ---------------------------------------------------------------- exit codes

#[test]
fn clean_directory_exits_0_with_summary() {
    bricklint()
        .args(["check", "clean"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "All checks passed (1 file analysed).",
        ));
}

#[test]
fn findings_exit_1_with_counts_in_summary() {
    bricklint()
        .args(["check", "findings"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "Found 2 findings (2 errors, 0 warnings, 0 info) in 2 files analysed.",
        ))
        .stdout(predicate::str::contains("error[NB001]"));
}

#[test]
fn exit_zero_turns_findings_into_success() {
    bricklint()
        .args(["check", "findings", "--exit-zero"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("error[NB001]"));
}

#[test]
fn unknown_selector_is_a_usage_error() {
    bricklint()
        .args(["check", "clean", "--select", "XYZ999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule selector `XYZ999`"));
}

#[test]
fn missing_path_is_a_usage_error() {
    bricklint()
        .args(["check", "does-not-exist"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "does-not-exist: no such file or directory",
        ));
}

#[test]
fn bad_config_is_an_error_with_its_position() {
    bricklint()
        .current_dir(fixtures().join("bad-config"))
        .args(["check", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bricklint.toml:2:1"))
        .stderr(predicate::str::contains("unknown field `unknown-key`"));
}

#[test]
fn explicit_bad_config_file_is_an_error_too() {
    bricklint()
        .args(["check", "clean", "--config", "bad-config/bricklint.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown-key"));
}

#[test]
fn unknown_flag_and_unknown_format_are_usage_errors() {
    bricklint()
        .args(["check", "--no-such-flag"])
        .assert()
        .code(2);
    bricklint()
        .args(["check", "clean", "--output-format", "xml"])
        .assert()
        .code(2);
}

// ---------------------------------------------------------------- selection

#[test]
fn select_and_ignore_filter_rules() {
    // Selecting another rule hides NB001.
    bricklint()
        .args(["check", "findings", "--select", "BL001"])
        .assert()
        .code(0);
    // Ignoring NB001 by name hides it too.
    bricklint()
        .args(["check", "findings", "--ignore", "python-syntax-error"])
        .assert()
        .code(0);
    // Selecting by prefix keeps it.
    bricklint()
        .args(["check", "findings", "--select", "NB"])
        .assert()
        .code(1);
    // `--extend-select` on top of a selection.
    bricklint()
        .args([
            "check",
            "findings",
            "--select",
            "BL001",
            "--extend-select",
            "NB001",
        ])
        .assert()
        .code(1);
}

#[test]
fn statistics_counts_per_rule() {
    let out = stdout_of(bricklint().args(["check", "findings", "--statistics"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    let cols: Vec<&str> = lines[0].split('\t').map(str::trim).collect();
    assert_eq!(cols, ["2", "NB001", "python-syntax-error"]);
    let v = json_of(bricklint().args([
        "check",
        "findings",
        "--statistics",
        "--output-format",
        "json",
    ]));
    assert_eq!(
        v,
        serde_json::json!([{"code": "NB001", "name": "python-syntax-error", "count": 2, "fixable": 0}])
    );
}

// ---------------------------------------------------------------- JSON contract (version 1)

#[test]
fn json_output_follows_the_version_1_contract() {
    let v = json_of(bricklint().args(["check", "findings", "--output-format", "json"]));
    assert_eq!(v["version"], 1);
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 2);
    for d in diags {
        for key in [
            "code",
            "name",
            "severity",
            "message",
            "path",
            "line",
            "column",
            "end_line",
            "end_column",
            "cell",
            "route",
            "url",
            "related",
            "fix",
        ] {
            assert!(d.get(key).is_some(), "diagnostic lacks `{key}`: {d}");
        }
        assert_eq!(d["code"], "NB001");
        assert_eq!(d["name"], "python-syntax-error");
        assert_eq!(d["severity"], "error");
        assert!(d["message"]
            .as_str()
            .unwrap()
            .starts_with("Python syntax error"));
        assert!(d["route"].is_null(), "no YAML route for a notebook finding");
        assert!(d["related"].is_array());
        assert!(d["fix"].is_null());
        assert!(d["url"].as_str().unwrap().ends_with("#nb001"));
        for k in ["line", "column", "end_line", "end_column", "cell"] {
            assert!(d[k].as_u64().unwrap() >= 1, "{k} is 1-based: {d}");
        }
    }
    // Sorted by path; paths relative to the working directory with `/`.
    let ipynb = &diags[0];
    assert_eq!(ipynb["path"], "findings/broken.ipynb");
    // Lines of an .ipynb are lines inside the cell, with the cell number.
    assert_eq!(
        (&ipynb["cell"], &ipynb["line"], &ipynb["column"]),
        (&2.into(), &4.into(), &5.into())
    );
    let py = &diags[1];
    assert_eq!(py["path"], "findings/broken.py");
    assert_eq!(
        (
            &py["line"],
            &py["column"],
            &py["end_line"],
            &py["end_column"],
            &py["cell"]
        ),
        (&7.into(), &5.into(), &7.into(), &11.into(), &2.into())
    );
    let s = &v["summary"];
    assert_eq!(
        (&s["files"], &s["errors"], &s["warnings"], &s["infos"]),
        (&2.into(), &2.into(), &0.into(), &0.into())
    );
}

#[test]
fn json_lines_is_one_object_per_finding() {
    let out = stdout_of(bricklint().args(["check", "findings", "--output-format", "json-lines"]));
    let objs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2);
    assert!(objs.iter().all(|o| o["code"] == "NB001"));
}

#[test]
fn json_of_a_clean_run_is_empty_but_complete() {
    let mut c = bricklint();
    c.args(["check", "clean", "--output-format", "json"]);
    c.assert().code(0);
    let v = json_of(&mut c);
    assert_eq!(v["version"], 1);
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    assert_eq!(v["summary"]["files"], 1);
}

// ---------------------------------------------------------------- CI formats

#[test]
fn github_annotations_use_json_lines_for_ipynb() {
    let out = stdout_of(bricklint().args(["check", "findings", "--output-format", "github"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    // `    return x\n` is line 20 of the notebook's JSON; no columns (they are cell columns).
    assert!(
        lines[0].starts_with(
            "::error title=bricklint (NB001),file=findings/broken.ipynb,line=20,endLine=20::"
        ),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("col="));
    assert!(lines[0].contains("cell 2, 4:5: NB001"));
    assert!(
        lines[1].starts_with(
            "::error title=bricklint (NB001),file=findings/broken.py,line=7,endLine=7,col=5,endColumn=11::"
        ),
        "{}",
        lines[1]
    );
}

#[test]
fn sarif_has_tool_rules_and_regions() {
    let v = json_of(bricklint().args(["check", "findings", "--output-format", "sarif"]));
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "bricklint");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), bricklint::rules::all().len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert_eq!(r["level"], "error");
    }
    let rule = &rules[results[0]["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["name"], "python-syntax-error");
    assert_eq!(rule["defaultConfiguration"]["level"], "error");
    assert!(rule["helpUri"].as_str().unwrap().ends_with("#nb001"));
    assert!(rule["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("## What it does"));
    assert!(rule["fullDescription"]["text"].as_str().unwrap().len() > 20);
    assert!(rule["shortDescription"]["text"]
        .as_str()
        .unwrap()
        .ends_with('.'));

    let loc = |r: &Value| r["locations"][0]["physicalLocation"].clone();
    let nb = loc(&results[0]);
    assert_eq!(nb["artifactLocation"]["uri"], "findings/broken.ipynb");
    assert_eq!(nb["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(
        nb["region"],
        serde_json::json!({"startLine": 20, "endLine": 20})
    );
    assert!(results[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("(cell 2, line 4, column 5)"));
    let py = loc(&results[1]);
    assert_eq!(py["artifactLocation"]["uri"], "findings/broken.py");
    assert_eq!(
        py["region"],
        serde_json::json!({"startLine": 7, "startColumn": 5, "endLine": 7, "endColumn": 11})
    );
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("file:///"));
}

#[test]
fn sarif_of_a_clean_run_has_no_results() {
    let v = json_of(bricklint().args(["check", "clean", "--output-format", "sarif"]));
    assert_eq!(v["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn junit_has_a_testcase_per_file_and_a_failure_per_finding() {
    let out = stdout_of(bricklint().args(["check", "findings", "--output-format", "junit"]));
    assert!(out.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    assert_eq!(out.matches("<testsuite ").count(), 1);
    assert_eq!(out.matches("<testcase ").count(), 2);
    assert_eq!(out.matches("<failure ").count(), 2);
    assert!(out.contains(r#"tests="2" failures="2""#));
    assert!(out.contains(r#"<testcase name="findings/broken.ipynb""#));
    assert!(out.contains(r#"type="NB001""#));

    let clean = stdout_of(bricklint().args(["check", "clean", "--output-format", "junit"]));
    assert_eq!(clean.matches("<testcase ").count(), 1);
    assert_eq!(clean.matches("<failure").count(), 0);
    assert!(clean.contains(r#"tests="1" failures="0""#));
}

fn gitlab_issues(dir: &Path) -> Vec<Value> {
    let mut c = Command::cargo_bin("bricklint").unwrap();
    c.current_dir(dir)
        .args(["check", "nb.py", "--output-format", "gitlab"]);
    let v: Value = serde_json::from_slice(&c.output().unwrap().stdout).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn gitlab_fingerprints_are_unique_and_survive_line_moves() {
    let tmp = tempfile::tempdir().unwrap();
    let src = "# Databricks notebook source\n\n# COMMAND ----------\n\nx = (1,\n\n# COMMAND ----------\n\ny = [2,\n";
    std::fs::write(tmp.path().join("nb.py"), src).unwrap();
    let before = gitlab_issues(tmp.path());
    assert_eq!(before.len(), 2);
    for i in &before {
        assert_eq!(i["severity"], "critical");
        assert_eq!(i["location"]["path"], "nb.py");
        assert!(i["check_name"].as_str().unwrap().starts_with("NB001"));
        assert!(i["description"].as_str().unwrap().contains("syntax error"));
        assert_eq!(i["fingerprint"].as_str().unwrap().len(), 32);
    }
    assert_ne!(before[0]["fingerprint"], before[1]["fingerprint"]);
    // Move everything down three lines.
    let moved = src.replacen("\n\n# COMMAND", "\n\nimport os\nimport sys\n\n# COMMAND", 1);
    std::fs::write(tmp.path().join("nb.py"), moved).unwrap();
    let after = gitlab_issues(tmp.path());
    assert_eq!(after.len(), 2);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b["fingerprint"], a["fingerprint"]);
        assert_eq!(
            a["location"]["lines"]["begin"].as_u64().unwrap(),
            b["location"]["lines"]["begin"].as_u64().unwrap() + 3
        );
    }
}

// ---------------------------------------------------------------- usability

#[test]
fn output_file_receives_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("sub/report.json");
    bricklint()
        .args([
            "check",
            "findings",
            "--output-format",
            "json",
            "--output-file",
        ])
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v["summary"]["errors"], 2);
}

#[test]
fn no_ansi_escapes_when_piped_or_with_no_color() {
    let piped = stdout_of(bricklint().args(["check", "findings"]));
    assert!(piped.contains("error[NB001]"));
    assert!(!piped.contains('\x1b'), "escape codes in piped output");
    let forced = stdout_of(
        bricklint()
            .env("CLICOLOR_FORCE", "1")
            .args(["check", "findings"]),
    );
    assert!(forced.contains('\x1b'), "CLICOLOR_FORCE should colour");
    let no_color = stdout_of(
        bricklint()
            .env("CLICOLOR_FORCE", "1")
            .env("NO_COLOR", "1")
            .args(["check", "findings"]),
    );
    assert!(!no_color.contains('\x1b'), "NO_COLOR must win");
}

#[test]
fn rule_prints_the_doc_by_code_or_name() {
    for arg in ["NB001", "nb001", "python-syntax-error"] {
        bricklint()
            .args(["rule", arg])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("# python-syntax-error (NB001)"))
            .stdout(predicate::str::contains("## What it does"))
            .stdout(predicate::str::contains("## Fix"));
    }
    bricklint()
        .args(["rule", "NOPE1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule `NOPE1`"));
}

#[test]
fn rules_lists_every_rule_in_text_and_json() {
    let text = stdout_of(bricklint().arg("rules"));
    assert_eq!(text.lines().count(), bricklint::rules::all().len());
    assert!(text
        .lines()
        .any(|l| l.starts_with("NB001") && l.contains("python-syntax-error")));
    let v = json_of(bricklint().args(["rules", "--format", "json"]));
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), bricklint::rules::all().len());
    let nb = arr.iter().find(|r| r["code"] == "NB001").unwrap();
    assert_eq!(nb["name"], "python-syntax-error");
    assert_eq!(nb["severity"], "error");
    assert!(nb["doc"].as_str().unwrap().contains("## Why is this bad?"));
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_bricklint()"),
        ("zsh", "#compdef bricklint"),
        ("fish", "complete -c bricklint"),
    ] {
        bricklint()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(marker))
            .stdout(predicate::str::contains("output-format"));
    }
}

#[test]
fn version_flag_prints_the_version() {
    bricklint()
        .arg("--version")
        .assert()
        .code(0)
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

// ---------------------------------------------------------------- bundle plugin (`init`)

const BUNDLE_YML: &str = "# The demo bundle.\nbundle:\n  name: demo # keep this comment\n\ninclude:\n  - resources/*.yml\n";

#[test]
fn init_adds_the_hook_once_and_keeps_comments() {
    let tmp = tempfile::tempdir().unwrap();
    let yml = tmp.path().join("databricks.yml");
    std::fs::write(&yml, BUNDLE_YML).unwrap();
    // --diff shows the change and writes nothing.
    bricklint()
        .args(["init", "--diff", "--no-snippets"])
        .arg(tmp.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("+experimental:"))
        .stdout(predicate::str::contains(
            "+    postinit: 'if command -v bricklint",
        ));
    assert_eq!(std::fs::read_to_string(&yml).unwrap(), BUNDLE_YML);
    bricklint()
        .args(["init"])
        .arg(tmp.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "added `experimental.scripts.postinit`",
        ))
        .stdout(predicate::str::contains("- id: bricklint"))
        .stdout(predicate::str::contains("upload-sarif"));
    let once = std::fs::read_to_string(&yml).unwrap();
    assert!(once.starts_with(BUNDLE_YML), "original text kept:\n{once}");
    bricklint()
        .args(["init", "--no-snippets"])
        .arg(&yml)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("nothing to do"));
    assert_eq!(std::fs::read_to_string(&yml).unwrap(), once, "idempotent");
}

#[test]
fn init_without_a_bundle_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    bricklint()
        .arg("init")
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no databricks.yml"));
}

/// Run the hook script as the Databricks CLI does (a shell in the bundle root).
fn run_hook(dir: &Path, path_var: &str, required: bool) -> std::process::Output {
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(bricklint::cli::init::SCRIPT)
        .current_dir(dir)
        .env("PATH", path_var)
        .env_remove("BRICKLINT_REQUIRED");
    if required {
        c.env("BRICKLINT_REQUIRED", "1");
    }
    c.output().unwrap()
}

#[test]
fn hook_script_gates_on_findings_and_tolerates_a_missing_binary() {
    let bin_dir = assert_cmd::cargo::cargo_bin("bricklint")
        .parent()
        .unwrap()
        .to_path_buf();
    let sys_path = "/usr/bin:/bin";
    let with_bin = format!("{}:{sys_path}", bin_dir.display());
    let findings = fixtures().join("findings");
    let clean = fixtures().join("clean");
    let out = run_hook(&findings, &with_bin, false);
    assert_eq!(
        out.status.code(),
        Some(1),
        "findings fail the bundle command"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("NB001"));
    assert_eq!(run_hook(&clean, &with_bin, false).status.code(), Some(0));
    // bricklint missing: a warning, exit 0 ...
    let out = run_hook(&findings, sys_path, false);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: bricklint not found on PATH"));
    // ... unless it is required.
    let out = run_hook(&findings, sys_path, true);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BRICKLINT_REQUIRED=1"));
}

// ---------------------------------------------------------------- fixes and report scope

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn diff_and_fix_without_fixable_findings_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("findings"), tmp.path());
    std::fs::write(
        tmp.path().join("bricklint.toml"),
        "syntax-check = \"all\"\n",
    )
    .unwrap();
    let before = std::fs::read_to_string(tmp.path().join("broken.py")).unwrap();
    let mut c = Command::cargo_bin("bricklint").unwrap();
    c.current_dir(tmp.path())
        .args(["check", ".", "--diff"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    let mut c = Command::cargo_bin("bricklint").unwrap();
    c.current_dir(tmp.path())
        .args(["check", ".", "--fix"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Found 2 findings"))
        .stdout(predicate::str::contains("Fixed").not());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("broken.py")).unwrap(),
        before
    );
}

#[test]
fn explicit_files_report_only_their_findings_but_see_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("precommit/pass"), tmp.path());
    std::fs::write(
        tmp.path().join("notebooks/broken.py"),
        "# Databricks notebook source\ndef f(:\n    pass\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = Command::cargo_bin("bricklint").unwrap();
        c.current_dir(tmp.path()).arg("check").args(args);
        c.output().unwrap()
    };
    // As pre-commit calls it: only the changed (clean) notebook.
    let out = run(&["--force-exclude", "notebooks/list_tables.py"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The broken one is reported when it is among the files ...
    let out = run(&[
        "--force-exclude",
        "notebooks/list_tables.py",
        "notebooks/broken.py",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("notebooks/broken.py"));
    // ... or with the bundle scope, when every notebook's syntax is checked.
    std::fs::write(
        tmp.path().join("bricklint.toml"),
        "syntax-check = \"all\"\n",
    )
    .unwrap();
    let out = run(&["--report-scope", "bundle", "notebooks/list_tables.py"]);
    assert_eq!(out.status.code(), Some(1));
}

/// A directory scan parses the notebooks bricklint has something to analyse in; a syntax error
/// elsewhere is reported for files named on the command line, with NB001 selected by name, or
/// with `syntax-check = "all"`.
#[test]
fn directory_scans_parse_what_they_analyse() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("plain.py"),
        "# Databricks notebook source\ndef f(:\n    pass\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = Command::cargo_bin("bricklint").unwrap();
        c.current_dir(tmp.path())
            .args(["check", "--output-format", "concise"])
            .args(args);
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert_eq!(run(&["."]).0, Some(0));
    let (code, out) = run(&["plain.py"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("plain.py:2:7: NB001"), "{out}");
    assert_eq!(run(&[".", "--extend-select", "NB001"]).0, Some(1));
    assert_eq!(run(&[".", "--select", "python-syntax-error"]).0, Some(1));
    // A prefix does not name the rule: `NB` keeps the default scope.
    assert_eq!(run(&[".", "--select", "NB"]).0, Some(0));
    // A notebook with something to analyse is parsed, and its syntax errors reported.
    std::fs::write(
        tmp.path().join("driver.py"),
        "# Databricks notebook source\ndbutils.notebook.run(\"./plain\", 60)\n\n# COMMAND ----------\n\nx = (1,\n",
    )
    .unwrap();
    let (code, out) = run(&["."]);
    assert_eq!(code, Some(1));
    assert!(out.contains("driver.py:6:"), "{out}");
    assert!(!out.contains("plain.py"), "{out}");
    std::fs::write(
        tmp.path().join("bricklint.toml"),
        "syntax-check = \"all\"\n",
    )
    .unwrap();
    let (_, out) = run(&["."]);
    assert!(out.contains("plain.py:2:7: NB001"), "{out}");
}

#[test]
fn the_for_each_bundle_passes_every_rule() {
    bricklint()
        .args(["check", "precommit/pass"])
        .assert()
        .code(0);
}

#[test]
fn unsafe_fixes_need_the_flag_diff_shows_them_and_fix_writes_them() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("fixable"), tmp.path());
    let py = tmp.path().join("producer.py");
    let nb = tmp.path().join("producer_nb.ipynb");
    let (py0, nb0) = (
        std::fs::read_to_string(&py).unwrap(),
        std::fs::read_to_string(&nb).unwrap(),
    );
    let cmd = |args: &[&str]| {
        let mut c = Command::cargo_bin("bricklint").unwrap();
        c.current_dir(tmp.path()).arg("check").arg(".").args(args);
        c
    };
    // TV003's fix is unsafe: the summary says how to apply it; --fix alone changes nothing.
    cmd(&[]).assert().code(1).stdout(predicate::str::contains(
        "2 fixable with `--fix --unsafe-fixes`.",
    ));
    cmd(&["--fix"]).assert().code(1);
    assert_eq!(std::fs::read_to_string(&py).unwrap(), py0);
    // --diff without --unsafe-fixes: nothing to show.
    cmd(&["--diff"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    // --diff --unsafe-fixes: a unified diff of both files, nothing written, exit 1.
    cmd(&["--diff", "--unsafe-fixes"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "--- a/producer.py\n+++ b/producer.py\n",
        ))
        .stdout(predicate::str::contains(
            "+dbutils.jobs.taskValues.set(key=\"tables\", value=tables)\n",
        ))
        .stdout(predicate::str::contains(
            "+    \"dbutils.jobs.taskValues.set(key=\\\"tables\\\", value=tables)\\n\"\n",
        ));
    assert_eq!(std::fs::read_to_string(&py).unwrap(), py0);
    assert_eq!(std::fs::read_to_string(&nb).unwrap(), nb0);
    // --fix --unsafe-fixes: written, re-checked clean.
    cmd(&["--fix", "--unsafe-fixes"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Fixed 2 findings."))
        .stdout(predicate::str::contains("All checks passed"));
    assert_eq!(
        std::fs::read_to_string(&py).unwrap(),
        py0.replace("json.dumps(tables)", "tables")
    );
    // The notebook JSON is rewritten in place: only the changed source line differs.
    assert_eq!(
        std::fs::read_to_string(&nb).unwrap(),
        nb0.replace("json.dumps(tables)", "tables")
    );
    cmd(&["--fix", "--unsafe-fixes"]).assert().code(0);
}

#[test]
fn sarif_and_json_carry_fixes() {
    let v = json_of(bricklint().args(["check", "fixable", "--output-format", "json"]));
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "fixable/producer.py")
        .unwrap();
    assert_eq!(d["fix"]["applicability"], "unsafe");
    assert_eq!(d["fix"]["edits"][0]["content"], "tables");
    assert_eq!(v["summary"]["fixable"], 2);
    let v = json_of(bricklint().args(["check", "fixable", "--output-format", "sarif"]));
    let results = v["runs"][0]["results"].as_array().unwrap();
    let py = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "fixable/producer.py"
        })
        .unwrap();
    let change = &py["fixes"][0]["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], "fixable/producer.py");
    assert_eq!(
        change["replacements"][0],
        serde_json::json!({
            "deletedRegion": {"startLine": 5, "startColumn": 49, "endLine": 5, "endColumn": 67},
            "insertedContent": {"text": "tables"}
        })
    );
    // .ipynb fixes are edits of cell text, not of the JSON file: not given as SARIF fixes.
    let nb = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "fixable/producer_nb.ipynb"
        })
        .unwrap();
    assert!(nb.get("fixes").is_none());
}

#[test]
fn yaml_findings_carry_their_route_in_json_and_sarif() {
    let v = json_of(bricklint().args(["check", "bundle", "--output-format", "json"]));
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "FE001");
    assert_eq!(d["path"], "bundle/databricks.yml");
    assert_eq!(
        d["route"],
        "resources.jobs.ingest.tasks[0].for_each_task.concurrency"
    );
    assert!(d["cell"].is_null());
    assert_eq!((&d["line"], &d["column"]), (&12.into(), &26.into()));
    let v = json_of(bricklint().args(["check", "bundle", "--output-format", "sarif"]));
    let loc = &v["runs"][0]["results"][0]["locations"][0];
    assert_eq!(
        loc["logicalLocations"][0]["fullyQualifiedName"],
        "resources.jobs.ingest.tasks[0].for_each_task.concurrency"
    );
    assert_eq!(loc["physicalLocation"]["region"]["startLine"], 12);
    let gh = stdout_of(bricklint().args(["check", "bundle", "--output-format", "github"]));
    assert!(gh.starts_with(
        "::error title=bricklint (FE001),file=bundle/databricks.yml,line=12,endLine=12,col=26,endColumn=29::"
    ));
}

/// A file named on the command line keeps that status when another named file's bundle walk
/// listed it first: a binary `.py` among them is reported, not skipped silently.
#[test]
fn named_files_stay_named_after_a_bundle_walk() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("precommit/pass"), tmp.path());
    std::fs::write(tmp.path().join("notebooks/blob.py"), b"\x00\x01binary\x00").unwrap();
    let mut c = Command::cargo_bin("bricklint").unwrap();
    let out = c
        .current_dir(tmp.path())
        .args([
            "check",
            "--output-format",
            "concise",
            "notebooks/list_tables.py",
            "notebooks/blob.py",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("notebooks/blob.py:1:1: BL003"), "{stdout}");
    // Found by the walk only, the same file is skipped (binary files are not notebooks).
    let mut c = Command::cargo_bin("bricklint").unwrap();
    c.current_dir(tmp.path())
        .args(["check", "notebooks/list_tables.py"])
        .assert()
        .code(0);
}
