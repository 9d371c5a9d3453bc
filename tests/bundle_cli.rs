//! `bricklint check` on a bundle from the command line: `--target` and `--var` handling
//! (usage errors exit with 2, as the Databricks CLI stops on them), `BUNDLE_VAR_<name>`.

use std::path::Path;

use assert_cmd::Command;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A bundle whose For Each concurrency comes from a variable (default 500: FE001).
fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "databricks.yml",
        "bundle:\n  name: cli\nvariables:\n  conc:\n    default: 500\n  catalog:\n    default: dev\ntargets:\n  dev:\n    default: true\n  prod:\n    variables:\n      conc: 8\nresources:\n  jobs:\n    j:\n      tasks:\n        - task_key: all\n          for_each_task:\n            inputs: '[\"x\"]'\n            concurrency: ${var.conc}\n            task:\n              task_key: one\n              notebook_task:\n                notebook_path: ./src/nb.py\n                base_parameters:\n                  item: \"{{input}}\"\n",
    );
    write(
        d.path(),
        "src/nb.py",
        "# Databricks notebook source\nitem = dbutils.widgets.get('item')\n",
    );
    d
}

fn bricklint(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("bricklint").unwrap();
    c.current_dir(dir)
        .env_remove("BUNDLE_VAR_conc")
        .env_remove("BUNDLE_VAR_catalog")
        .args([
            "check",
            ".",
            "--select",
            "FE001,SCH",
            "--output-format",
            "concise",
        ])
        .args(args);
    c
}

/// Exit code and stdout.
fn run(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn unknown_target_is_a_usage_error_listing_the_targets() {
    let d = setup();
    let (code, out, err) = run(&mut bricklint(d.path(), &["--target", "staging"]));
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("target `staging` is not defined"), "{err}");
    assert!(err.contains("`dev`, `prod`"), "{err}");
    assert!(!out.contains("SCH001"), "{out}");
    // A defined target is fine (its variable value fixes the concurrency).
    let (code, out, _) = run(&mut bricklint(d.path(), &["--target", "prod"]));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn var_flag_wins_over_env_target_and_default() {
    let d = setup();
    // Default 500: out of range.
    let (code, out, _) = run(&mut bricklint(d.path(), &[]));
    assert_eq!(code, 1);
    assert!(out.contains("FE001"), "{out}");
    // BUNDLE_VAR_conc=10 wins over the default.
    let (code, out, _) = run(bricklint(d.path(), &[]).env("BUNDLE_VAR_conc", "10"));
    assert_eq!(code, 0, "{out}");
    // --var wins over the environment (and a comma list sets several).
    let (code, out, _) =
        run(bricklint(d.path(), &["--var", "catalog=x,conc=1000"]).env("BUNDLE_VAR_conc", "10"));
    assert_eq!(code, 1);
    assert!(
        out.contains("1000 (from `${var.conc}`, set with --var)"),
        "{out}"
    );
    let (_, out, _) = run(bricklint(d.path(), &[]).env("BUNDLE_VAR_conc", "0"));
    assert!(
        out.contains("0 (from `${var.conc}`, set by BUNDLE_VAR_conc)"),
        "{out}"
    );
    // --var wins over the target's value; the last --var wins.
    let (code, out, _) = run(&mut bricklint(
        d.path(),
        &["-t", "prod", "--var", "conc=0", "--var", "conc=20"],
    ));
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = run(&mut bricklint(d.path(), &["-t", "prod", "--var", "conc=0"]));
    assert_eq!(code, 1);
}

#[test]
fn bad_var_flags_are_usage_errors() {
    let d = setup();
    let (code, _, err) = run(&mut bricklint(d.path(), &["--var", "conc"]));
    assert_eq!(code, 2);
    assert!(err.contains("name=value"), "{err}");
    let (code, _, err) = run(&mut bricklint(d.path(), &["--var", "nope=1"]));
    assert_eq!(code, 2);
    assert!(err.contains("`nope` is not declared"), "{err}");
    assert!(err.contains("`catalog`, `conc`"), "{err}");
}

/// Issue 19 (include globs): a 600 KB `include:` pattern made the glob library panic; it is a
/// positioned finding under the glob budget, and the run goes on.
#[test]
fn a_huge_include_glob_is_a_positioned_finding() {
    let d = tempfile::tempdir().unwrap();
    let pat = format!("{}*.yml", "[ab]".repeat(150_000));
    write(
        d.path(),
        "databricks.yml",
        &format!("bundle: {{name: b}}\ninclude:\n  - '{pat}'\n"),
    );
    let (code, out, err) = run(&mut bricklint(d.path(), &[]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("databricks.yml:3:5: SCH001")
            && out.contains("is longer than 4096 bytes: it is not matched"),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
}
