//! Nothing outside the project is read: a repository whose symbolic links point at a "secret"
//! file outside it (an `include:` match, a linked directory on an include path, a `%run` target,
//! a file a notebook loads, a schema named by the configuration, a file named on the command
//! line) must never make any output format or command print the secret's content.
#![cfg(unix)]

use std::os::unix::fs::symlink;
use std::path::Path;

use assert_cmd::Command;

const MARKER: &str = "S3CR3T-bricklint-boundary-marker";

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A repository (with `.git`) beside a directory of secrets; the repository links to them.
fn hostile_repo() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let secrets = t.path().join("secrets");
    // YAML, JSON and Python that would each produce findings quoting their content if read.
    write(
        &secrets.join("creds.yml"),
        &format!(
            "resources:\n  jobs:\n    {MARKER}:\n      name: {MARKER}\n      tasks:\n        - task_key: \"{MARKER} bad key\"\n          depends_on:\n            - task_key: {MARKER}\n"
        ),
    );
    write(
        &secrets.join("token.json"),
        &format!("[\"{MARKER}\", \"{MARKER}\"]"),
    );
    write(
        &secrets.join("helpers.py"),
        &format!("def broken(:\n    '{MARKER}'\n"),
    );
    write(
        &secrets.join("schema.json"),
        &format!("{{\"type\": \"{MARKER}\"}}"),
    );
    let repo = t.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    write(
        &repo.join("databricks.yml"),
        "bundle:\n  name: hostile\n\ninclude:\n  - resources/*.yml\n  - linked/creds.yml\n",
    );
    write(
        &repo.join("resources/jobs.yml"),
        "resources:\n  jobs:\n    regions:\n      name: regions\n      tasks:\n        - task_key: build\n          notebook_task:\n            notebook_path: ../src/build.py\n        - task_key: each\n          depends_on:\n            - task_key: build\n          for_each_task:\n            inputs: \"{{tasks.build.values.regions}}\"\n            concurrency: 2\n            task:\n              task_key: one\n              notebook_task:\n                notebook_path: ../src/report.py\n                base_parameters:\n                  region: \"{{input}}\"\n",
    );
    symlink(secrets.join("creds.yml"), repo.join("resources/creds.yml")).unwrap();
    symlink(&secrets, repo.join("linked")).unwrap();
    write(
        &repo.join("src/build.py"),
        "# Databricks notebook source\nimport json\nregions = json.load(open(\"../conf/regions.json\"))\ndbutils.jobs.taskValues.set(\"regions\", regions)\n",
    );
    std::fs::create_dir_all(repo.join("conf")).unwrap();
    symlink(secrets.join("token.json"), repo.join("conf/regions.json")).unwrap();
    write(
        &repo.join("src/report.py"),
        "# Databricks notebook source\n# MAGIC %run ../lib/helpers\n\n# COMMAND ----------\n\nregion = dbutils.widgets.get(\"region\")\nbroken(region)\n",
    );
    symlink(&secrets, repo.join("lib")).unwrap();
    write(
        &repo.join("bricklint.toml"),
        "[task-values.regions]\nschema = \"conf/schema.json\"\n",
    );
    symlink(secrets.join("schema.json"), repo.join("conf/schema.json")).unwrap();
    symlink(secrets.join("helpers.py"), repo.join("src/named.py")).unwrap();
    (t, repo)
}

fn run(repo: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(repo)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn no_output_format_prints_files_outside_the_project() {
    let (_t, repo) = hostile_repo();
    for format in [
        "full",
        "concise",
        "json",
        "json-lines",
        "github",
        "sarif",
        "junit",
        "gitlab",
    ] {
        let (code, text) = run(&repo, &["check", "--output-format", format, "."]);
        assert!(
            !text.contains(MARKER),
            "{format}: the secret leaked:\n{text}"
        );
        assert!(
            matches!(code, Some(1) | Some(2)),
            "{format}: {code:?}\n{text}"
        );
    }
    let (_, text) = run(&repo, &["check", "--output-format", "concise", "."]);
    // The two include matches are reported with where they point.
    assert!(
        text.contains("BL004") && text.contains("resources/creds.yml") && text.contains("linked"),
        "{text}"
    );
}

#[test]
fn a_named_link_out_of_the_project_is_reported_not_read() {
    let (_t, repo) = hostile_repo();
    let (code, text) = run(
        &repo,
        &["check", "--output-format", "concise", "src/named.py"],
    );
    assert!(!text.contains(MARKER), "{text}");
    assert!(text.contains("BL004"), "{text}");
    assert_eq!(code, Some(1), "{text}");
}

#[test]
fn plan_and_migrate_do_not_print_files_outside_the_project() {
    let (_t, repo) = hostile_repo();
    for args in [
        &["plan", "."][..],
        &["plan", "--format", "json", "."][..],
        &["migrate", "."][..],
        &["payload", "--key", "regions", "conf/regions.json"][..],
    ] {
        let (_, text) = run(&repo, args);
        // `payload` reads the file it is given on the command line: that is the user's choice,
        // but the schema the configuration names through a link is not read.
        if args[0] == "payload" {
            assert!(!text.contains(&format!("\"type\": \"{MARKER}\"")), "{text}");
            continue;
        }
        assert!(
            !text.contains(MARKER),
            "{args:?}: the secret leaked:\n{text}"
        );
    }
}
