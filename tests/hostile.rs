//! Hostile input: every case runs the real CLI and pins a clear message and the exit code
//! (0 clean, 1 findings, 2 tool/usage error). None may panic, overflow the stack or hang: every
//! run has a timeout, and a panic or an abort fails the test with the output.
//!
//! The YAML cases exercise whatever bundle loader is on main: they insist on no crash, no hang
//! and a sane exit code, and, where a finding is reported, on a sensible message.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

const TIMEOUT: Duration = Duration::from_secs(120);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    json: serde_json::Value,
}

impl Run {
    fn codes(&self) -> Vec<String> {
        self.json["diagnostics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| d["code"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn messages(&self, code: &str) -> Vec<String> {
        self.json["diagnostics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|d| d["code"] == code)
                    .map(|d| d["message"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn context(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn finish(out: Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    let run = Run {
        code: out.status.code(),
        stdout,
        stderr,
        json,
    };
    assert!(
        run.code.is_some(),
        "bricklint was killed by a signal (crash, stack overflow or timeout)\n{}",
        run.context()
    );
    for bad in [
        "panicked",
        "overflowed its stack",
        "internal error",
        "RUST_BACKTRACE",
    ] {
        assert!(
            !run.stderr.contains(bad) && !run.stdout.contains(bad),
            "bricklint output mentions `{bad}`\n{}",
            run.context()
        );
    }
    run
}

/// `bricklint check --output-format json <args>` in `dir`.
fn check_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(dir)
        .arg("check")
        .args(["--output-format", "json"])
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    finish(out)
}

fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

const NB: &str = "# Databricks notebook source\n";

#[test]
fn binary_files_are_reported_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = NB.as_bytes().to_vec();
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8));
    bytes.push(0);
    write(dir.path(), "nb.py", &bytes);
    write(
        dir.path(),
        "image.ipynb",
        [0x89, b'P', b'N', b'G', 0, 0, 1, 2],
    );
    let r = check_in(dir.path(), &["nb.py", "image.ipynb"]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    let msgs = r.messages("BL003");
    assert_eq!(msgs.len(), 2, "{}", r.context());
    assert!(msgs.iter().all(|m| m.contains("binary file")), "{msgs:?}");
}

#[test]
fn invalid_utf8_names_the_position() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nb.py",
        b"# Databricks notebook source\nx = 1\ny = \"\xff\xfe\"\n",
    );
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    let msgs = r.messages("BL003");
    assert_eq!(msgs.len(), 1, "{}", r.context());
    assert!(
        msgs[0].contains("not valid UTF-8") && msgs[0].contains("line 3, column 6"),
        "{msgs:?}"
    );
}

#[test]
fn truncated_ipynb_is_one_finding() {
    let dir = tempfile::tempdir().unwrap();
    let full = r#"{"cells": [{"cell_type": "code", "metadata": {}, "source": ["x = 1\n", "dbutils.notebook.run('a', 0)"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;
    write(dir.path(), "cut.ipynb", &full[..full.len() / 2]);
    write(dir.path(), "empty.ipynb", "");
    write(dir.path(), "ok.ipynb", full);
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    let msgs = r.messages("BL003");
    assert_eq!(msgs.len(), 2, "{}", r.context());
    assert!(msgs.iter().all(|m| m.contains("notebook JSON")), "{msgs:?}");
    assert_eq!(r.json["summary"]["files"], 1, "{}", r.context());
}

#[test]
fn config_with_wrong_types_is_a_usage_error_with_position() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nb.py", format!("{NB}x = 1\n"));
    write(
        dir.path(),
        "bricklint.toml",
        "select = [\"ALL\"]\n[limits]\nmax-file-bytes = \"big\"\n",
    );
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert!(
        r.stderr.contains("bricklint.toml:3:") && r.stderr.contains("invalid type"),
        "{}",
        r.context()
    );
    // A list where a string is expected, and a negative number for an unsigned limit.
    write(dir.path(), "bricklint.toml", "select = \"ALL\"\n");
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert!(r.stderr.contains("bricklint.toml:1:"), "{}", r.context());
    write(dir.path(), "bricklint.toml", "[limits]\nmax-nesting = -1\n");
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert!(r.stderr.contains("bricklint.toml:2:"), "{}", r.context());
}

fn big_notebook(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 1024);
    s.push_str(NB);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "# COMMAND ----------\n\nimport json\n\ndef transform_{i}(df, cols):\n    for c in cols:\n        df = df.withColumn(c, F.trim(F.col(c)))\n    return df.filter(\"id IS NOT NULL\").select(*cols)\n\ncfg_{i} = {{\"table\": \"bronze.t{i}\", \"partitions\": [1, 2, 3]}}\nout_{i} = transform_{i}(spark.table(cfg_{i}[\"table\"]), [\"a\", \"b\"])\n\n"
        ));
        i += 1;
    }
    s
}

#[test]
fn fifty_megabyte_notebook() {
    let dir = tempfile::tempdir().unwrap();
    let text = big_notebook(50 * 1024 * 1024);
    write(dir.path(), "big.py", &text);
    drop(text);
    // Under the default limit (64 MiB) it is analysed.
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(0), "{}", r.context());
    assert_eq!(r.json["summary"]["files"], 1);
    // Over a configured limit it is skipped with one finding that names the limit.
    write(
        dir.path(),
        "bricklint.toml",
        "[limits]\nmax-file-bytes = 1000000\n",
    );
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    let msgs = r.messages("BL003");
    assert_eq!(msgs.len(), 1, "{}", r.context());
    assert!(msgs[0].contains("max-file-bytes"), "{msgs:?}");
}

#[test]
fn deeply_nested_python_is_reported_not_crashed() {
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000;
    let shapes = [
        (
            "paren",
            format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n)),
        ),
        ("lists", format!("x = {}{}\n", "[".repeat(n), "]".repeat(n))),
        ("unary", format!("x = {}1\n", "-".repeat(n))),
        ("nots", format!("x = {}True\n", "not ".repeat(n))),
        ("lambdas", format!("f = {}1\n", "lambda: ".repeat(n))),
        ("ternary", format!("x = {}1\n", "1 if a else ".repeat(n))),
        ("binop", format!("x = {}1\n", "1 + ".repeat(n * 10))),
        ("attrs", format!("x = a{}\n", ".b".repeat(n * 10))),
        ("calls", format!("x = f{}\n", "(g)".repeat(n * 10))),
        (
            "blocks",
            (0..2_000)
                .map(|i| format!("{}if x:\n", " ".repeat(i)))
                .collect::<String>()
                + &" ".repeat(2_000)
                + "pass\n",
        ),
    ];
    for (name, code) in &shapes {
        write(
            dir.path(),
            &format!("{name}.py"),
            format!("{NB}y = 1\n\n# COMMAND ----------\n\n{code}"),
        );
    }
    // The same deep code in an .ipynb and in a `-- MAGIC %python` cell of a SQL notebook.
    let deep = format!("x = {}1", "-".repeat(n));
    let ipynb = serde_json::json!({
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": [deep]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    write(dir.path(), "deep.ipynb", ipynb.to_string());
    write(
        dir.path(),
        "deep.sql",
        format!("-- Databricks notebook source\nSELECT 1\n\n-- COMMAND ----------\n\n-- MAGIC %python\n-- MAGIC {deep}\n"),
    );
    // NB001 named: every cell is parsed, even in notebooks with nothing else to analyse.
    let r = check_in(dir.path(), &[".", "--extend-select", "NB001"]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    let msgs = r.messages("NB001");
    assert_eq!(msgs.len(), shapes.len() + 2, "{}", r.context());
    assert!(
        msgs.iter().all(|m| m.contains("nested deeper than")),
        "{msgs:?}"
    );
    // The finding points into the deep cell (cell 2 of the source notebooks), not at line 1.
    for d in r.json["diagnostics"].as_array().unwrap() {
        if d["path"].as_str().unwrap().ends_with(".py") {
            assert_eq!(d["cell"], 2, "{d}");
        }
    }
    // Within the limit, the same shapes are analysed normally.
    let ok = format!("{NB}x = {}1{}\n", "(".repeat(100), ")".repeat(100));
    let dir2 = tempfile::tempdir().unwrap();
    write(dir2.path(), "ok.py", ok);
    let r = check_in(dir2.path(), &["ok.py"]);
    assert_eq!(r.code, Some(0), "{}", r.context());
    // The limit is configurable.
    write(
        dir2.path(),
        "bricklint.toml",
        "[limits]\nmax-nesting = 50\n",
    );
    let r = check_in(dir2.path(), &["ok.py"]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    assert!(
        r.messages("NB001")[0].contains("50 levels"),
        "{}",
        r.context()
    );
}

fn bundle(dir: &Path, root_yaml: &str) {
    write(dir, "databricks.yml", root_yaml);
    write(dir, "src/child.py", format!("{NB}x = 1\n"));
}

/// A YAML case: no crash, no hang, exit 0 or 1 (a problem with the bundle is a finding, not a
/// tool error). Returns the run for further checks.
fn yaml_case(root_yaml: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    bundle(dir.path(), root_yaml);
    let r = check_in(dir.path(), &["."]);
    assert!(
        matches!(r.code, Some(0 | 1)),
        "a hostile bundle must give findings, not a tool error\n{}",
        r.context()
    );
    assert!(r.json.is_object(), "output is not JSON\n{}", r.context());
    r
}

#[test]
fn deeply_nested_yaml() {
    let n = 10_000;
    // Block mappings, flow sequences and flow mappings, 10,000 deep.
    let block: String = (0..n)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect::<String>()
        + &" ".repeat(n)
        + "v: 1\n";
    let cases = [
        format!(
            "bundle:\n  name: deep\nresources:\n  jobs:\n    j:\n      tags: {}{}\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
        format!(
            "bundle:\n  name: deep\nx: {}{}\n",
            "{a: ".repeat(n),
            "}".repeat(n)
        ),
        format!("bundle:\n  name: deep\nvariables:\n{block}"),
    ];
    for yaml in &cases {
        let r = yaml_case(yaml);
        assert_eq!(r.code, Some(1), "{}", r.context());
        assert!(
            r.json["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["message"].as_str().unwrap_or("").contains("max-nesting")),
            "no finding names the nesting limit\n{}",
            r.context()
        );
    }
}

#[test]
fn yaml_alias_bomb() {
    // "Billion laughs": 9 levels of 9 aliases expand to 9^9 (387 million) strings.
    let mut y = String::from("bundle:\n  name: bomb\nx:\n  a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..10 {
        let p = i - 1;
        y.push_str(&format!(
            "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    y.push_str("resources:\n  jobs:\n    j:\n      name: *a9\n      tags: {a: *a9}\n");
    let r = yaml_case(&y);
    assert_eq!(r.code, Some(1), "{}", r.context());
    assert!(
        r.json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["message"]
                .as_str()
                .unwrap_or("")
                .contains("max-yaml-aliases")),
        "no finding names the alias limit\n{}",
        r.context()
    );
}

#[test]
fn yaml_duplicate_keys() {
    let r = yaml_case(
        "bundle:\n  name: dup\nresources:\n  jobs:\n    j:\n      name: a\n      name: b\n      tasks:\n        - task_key: t\n          task_key: u\n          notebook_task:\n            notebook_path: ./src/child.py\n",
    );
    assert_eq!(r.code, Some(1), "{}", r.context());
    let dup: Vec<_> = r.json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["message"]
                .as_str()
                .unwrap_or("")
                .contains("key `name` is repeated")
        })
        .collect();
    assert_eq!(dup.len(), 1, "{}", r.context());
    // It points at the second `name`.
    assert_eq!(dup[0]["line"], 7, "{}", r.context());
}

#[test]
fn include_glob_escaping_the_bundle_root() {
    let outer = tempfile::tempdir().unwrap();
    write(
        outer.path(),
        "secret.yml",
        "resources:\n  jobs:\n    stolen:\n      name: x\n",
    );
    let root = outer.path().join("bundle");
    bundle(
        &root,
        "bundle:\n  name: esc\ninclude:\n  - ../*.yml\n  - /etc/*.conf\n  - ../../../../../../../../*\n",
    );
    let r = check_in(&root, &["."]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    let outside = r.json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            let m = d["message"].as_str().unwrap_or("");
            m.contains("outside the project") || m.contains("absolute path")
        })
        .count();
    assert!(
        outside >= 2,
        "escaping includes are not reported\n{}",
        r.context()
    );
    // Nothing outside the bundle root is reported as part of it.
    for d in r.json["diagnostics"].as_array().unwrap() {
        let p = d["path"].as_str().unwrap_or("");
        assert!(
            !p.contains("secret.yml") && !p.starts_with("/etc"),
            "a file outside the bundle root was loaded: {d}"
        );
    }
}

#[cfg(unix)]
#[test]
fn symlink_loops_terminate() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/nb.py", format!("{NB}x = 1\n"));
    std::os::unix::fs::symlink(".", dir.path().join("a/self")).unwrap();
    std::os::unix::fs::symlink("../a", dir.path().join("a/up")).unwrap();
    std::os::unix::fs::symlink("loop2.py", dir.path().join("a/loop1.py")).unwrap();
    std::os::unix::fs::symlink("loop1.py", dir.path().join("a/loop2.py")).unwrap();
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(0), "{}", r.context());
    assert_eq!(r.json["summary"]["files"], 1, "{}", r.context());
    // An explicit path through a dangling loop is a usage error, not a hang.
    let r = check_in(dir.path(), &["a/loop1.py"]);
    assert_eq!(r.code, Some(2), "{}", r.context());
}

#[cfg(unix)]
#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "nb.py", format!("{NB}x = 1\n"));
    write(dir.path(), "ok.py", format!("{NB}y = 1\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    // As root (CI), mode 000 is still readable: then the file is simply analysed.
    let readable = std::fs::read(&p).is_ok();
    let r = check_in(dir.path(), &["."]);
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    if readable {
        assert_eq!(r.code, Some(0), "{}", r.context());
        assert_eq!(r.json["summary"]["files"], 2);
    } else {
        assert_eq!(r.code, Some(1), "{}", r.context());
        let msgs = r.messages("BL003");
        assert_eq!(msgs.len(), 1, "{}", r.context());
        assert!(msgs[0].contains("cannot read"), "{msgs:?}");
        assert_eq!(r.json["summary"]["files"], 1);
    }
}

#[cfg(unix)]
#[test]
fn fifo_and_devices_do_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.py", format!("{NB}y = 1\n"));
    let fifo = dir.path().join("pipe.py");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let r = check_in(dir.path(), &["."]);
        assert_eq!(r.code, Some(0), "{}", r.context());
        assert_eq!(r.json["summary"]["files"], 1);
        let r = check_in(dir.path(), &["pipe.py"]);
        assert!(matches!(r.code, Some(0..=2)), "{}", r.context());
    }
    let r = check_in(dir.path(), &["/dev/null"]);
    assert!(matches!(r.code, Some(0 | 2)), "{}", r.context());
}

#[test]
fn odd_but_valid_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.py", "");
    write(dir.path(), "header_only.py", NB);
    write(
        dir.path(),
        "bom_crlf.py",
        "\u{feff}# Databricks notebook source\r\nx = 1\r\n",
    );
    write(
        dir.path(),
        "only_separators.py",
        format!("{NB}# COMMAND ----------\n# COMMAND ----------\n"),
    );
    write(
        dir.path(),
        "magic_empty.py",
        format!("{NB}# MAGIC\n# MAGIC %python\n# MAGIC\n"),
    );
    write(
        dir.path(),
        "empty_cells.ipynb",
        r#"{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
    );
    write(
        dir.path(),
        "cr_only.py",
        "# Databricks notebook source\rx = 1\r",
    );
    write(
        dir.path(),
        "long_line.py",
        format!("{NB}x = \"{}\"\n", "a".repeat(5_000_000)),
    );
    std::fs::create_dir_all(dir.path().join("dir.py")).unwrap();
    let r = check_in(dir.path(), &["."]);
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.context());
    assert!(!r.codes().iter().any(|c| c == "BL003"), "{}", r.context());
}

// ---------------------------------------------------------------------------------------------
// Output that cannot be written, panics outside the per-file guard, the stack.

/// `bricklint <args>` in `dir` with stdout going to `stdout` and `stdin` as input.
fn run_to(dir: &Path, args: &[&str], stdout: std::fs::File, stdin: &[u8]) -> Run {
    // A plain command: `assert_cmd` captures stdout, and stdout is what is tested here.
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("bricklint"));
    c.current_dir(dir)
        .args(args)
        .env_remove(bricklint::fsutil::FAULT_ENV)
        .stdin(std::process::Stdio::piped())
        .stdout(stdout)
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(stdin);
    }
    finish(child.wait_with_output().unwrap())
}

#[cfg(target_os = "linux")]
#[test]
fn unwritable_output_is_exit_2_naming_the_destination() {
    let dir = tempfile::tempdir().unwrap();
    // A fixable finding (so that `--diff` prints something).
    let fixable = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cli/fixable/producer.py");
    write(dir.path(), "nb.py", std::fs::read(fixable).unwrap());
    write(
        dir.path(),
        "databricks.yml",
        "bundle:\n  name: b\nresources:\n  jobs:\n    j:\n      tasks:\n        - task_key: t\n          notebook_task:\n            notebook_path: ./nb.py\n",
    );
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let null = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap()
    };
    let to_stdout: &[&[&str]] = &[
        &["rules"],
        &["rules", "--format", "json"],
        &["rule", "ORC001"],
        &["completions", "bash"],
        &["check", "."],
        &["check", ".", "--output-format", "sarif"],
        &["check", ".", "--diff", "--unsafe-fixes"],
        &["payload", "-"],
        &["plan", "."],
        &["migrate", "."],
        &["init", ".", "--diff"],
    ];
    for args in to_stdout {
        let r = run_to(dir.path(), args, full(), b"[1, 2]");
        assert_eq!(r.code, Some(2), "{args:?}\n{}", r.context());
        assert!(
            r.stderr
                .starts_with("bricklint: error: cannot write standard output: No space left"),
            "{args:?}\n{}",
            r.context()
        );
    }
    // `-o FILE`: the message names the file.
    for args in [
        &["check", ".", "-o", "/dev/full"][..],
        &["plan", ".", "-o", "/dev/full"][..],
    ] {
        let r = run_to(dir.path(), args, null(), b"");
        assert_eq!(r.code, Some(2), "{args:?}\n{}", r.context());
        assert!(
            r.stderr
                .starts_with("bricklint: error: cannot write /dev/full: No space left"),
            "{args:?}\n{}",
            r.context()
        );
    }
    // `migrate --write` whose plan cannot be shown writes nothing.
    let before = std::fs::read(dir.path().join("nb.py")).unwrap();
    let r = run_to(dir.path(), &["migrate", ".", "--write"], full(), b"");
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert_eq!(std::fs::read(dir.path().join("nb.py")).unwrap(), before);
}

#[test]
fn a_panic_outside_the_file_guard_is_exit_2_with_a_bug_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(dir.path())
        .args(["rules"])
        .env(bricklint::fsutil::FAULT_ENV, "panic")
        .env("RUST_BACKTRACE", "1")
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("bricklint: error: internal error: fault injected"),
        "{stderr}"
    );
    assert!(stderr.contains("please report it"), "{stderr}");
    // The report replaces Rust's panic message and backtrace.
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A notebook with one fan-out (so it is analysed in full) and `code` in its second cell, in a
/// bundle whose job runs it.
fn deep_project(dir: &Path, code: &str, limit: u32) {
    write(
        dir,
        "nb.py",
        format!("{NB}dbutils.notebook.run('x', 0)\n\n# COMMAND ----------\n\n{code}\n"),
    );
    write(
        dir,
        "databricks.yml",
        "bundle:\n  name: b\nresources:\n  jobs:\n    j:\n      tasks:\n        - task_key: t\n          notebook_task:\n            notebook_path: ./nb.py\n",
    );
    write(
        dir,
        "bricklint.toml",
        format!("syntax-check = \"all\"\n[limits]\nmax-nesting = {limit}\n"),
    );
}

#[test]
fn max_nesting_is_capped_where_the_stack_holds() {
    let cap = bricklint::config::MAX_NESTING_CAP;
    // Over the cap: a configuration error with its position.
    let dir = tempfile::tempdir().unwrap();
    deep_project(dir.path(), "x = 1", 1_000_000);
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert!(
        r.stderr
            .contains("bricklint.toml:3:15: max-nesting = 1000000 is over"),
        "{}",
        r.context()
    );
    // At the cap, 200,000-deep chains are findings, not stack overflows.
    for (name, code) in [
        ("calls", format!("x = f{}", "(g)".repeat(200_000))),
        ("lambdas", format!("f = {}1", "lambda: ".repeat(200_000))),
    ] {
        let dir = tempfile::tempdir().unwrap();
        deep_project(dir.path(), &code, cap);
        let r = check_in(dir.path(), &["."]);
        assert_eq!(r.code, Some(1), "{name}\n{}", r.context());
        assert!(
            r.messages("NB001")
                .iter()
                .any(|m| m.contains(&format!("nested deeper than {cap} levels"))),
            "{name}\n{}",
            r.context()
        );
    }
    // Just under the cap, the deepest shapes (a call chain, a YAML mapping) are analysed by
    // every command that loads them: the threads' stacks hold them.
    let depth = cap as usize - 10;
    let dir = tempfile::tempdir().unwrap();
    deep_project(dir.path(), &format!("x = f{}", "(g)".repeat(depth)), cap);
    let yaml: String = (0..depth)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i + 2)))
        .collect();
    let mut root = std::fs::read_to_string(dir.path().join("databricks.yml")).unwrap();
    root.push_str(&format!("variables:\n  deep:\n    default:\n{yaml}"));
    write(dir.path(), "databricks.yml", root);
    let r = check_in(dir.path(), &["."]);
    assert!(matches!(r.code, Some(0 | 1)), "{}", r.context());
    assert!(!r.stdout.contains("nested deeper"), "{}", r.context());
    for args in [&["plan", "."][..], &["migrate", "."][..]] {
        let out = Command::cargo_bin("bricklint")
            .unwrap()
            .current_dir(dir.path())
            .args(args)
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        let r = finish(out);
        assert!(matches!(r.code, Some(0 | 1)), "{args:?}\n{}", r.context());
    }
}

/// `bricklint <args>` in `dir`, stdin from nothing, with the hostile-input checks of `finish`.
fn bricklint_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    finish(out)
}

#[cfg(unix)]
#[test]
fn explicit_inputs_are_capped_and_special_files_refused() {
    let dir = tempfile::tempdir().unwrap();
    deep_project(dir.path(), "x = 1", 500);
    let fifo = dir.path().join("pipe.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    // Each input named on the command line, as a device and as a FIFO (which blocked forever):
    // exit 2 at once with what the file is.
    for (special, what) in [
        ("/dev/zero", "a character device, not a regular file"),
        ("pipe.json", "a FIFO (named pipe), not a regular file"),
    ] {
        for args in [
            &["payload", special][..],
            &["payload", "--schema", special, "nb.py"][..],
            &["plan", ".", "--inputs", special][..],
            &["plan", ".", "--durations", special][..],
            &["check", ".", "--config", special][..],
            &["check", ".", "--bundle-schema", special][..],
            &["migrate", ".", "--config", special][..],
        ] {
            let r = bricklint_in(dir.path(), args);
            assert_eq!(r.code, Some(2), "{args:?}\n{}", r.context());
            assert!(r.stderr.contains(what), "{args:?}\n{}", r.context());
            assert!(r.stderr.contains(special), "{args:?}\n{}", r.context());
        }
    }
    // A file over `[limits] max-file-bytes` (set in the configuration).
    write(
        dir.path(),
        "bricklint.toml",
        "[limits]\nmax-file-bytes = 100\n",
    );
    write(
        dir.path(),
        "inputs.json",
        format!("[{}1]", "1, ".repeat(100)),
    );
    let r = bricklint_in(dir.path(), &["plan", ".", "--inputs", "inputs.json"]);
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert!(
        r.stderr
            .contains("inputs.json: larger than 100 bytes, the limit of `[limits] max-file-bytes`"),
        "{}",
        r.context()
    );
    // Endless standard input (`yes | bricklint payload -`) stops at the default limit.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("bricklint"))
        .args(["payload", "-"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = "y\n".repeat(1 << 19);
        let mut sent = 0u64;
        // Stops when bricklint closes the pipe, or after 1 GiB (the old code read it all).
        while sent < 1 << 30 && stdin.write_all(chunk.as_bytes()).is_ok() {
            sent += chunk.len() as u64;
        }
        sent
    });
    let r = finish(child.wait_with_output().unwrap());
    let sent = feeder.join().unwrap();
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert!(
        r.stderr
            .contains("cannot read stdin: larger than 67108864 bytes"),
        "{}",
        r.context()
    );
    assert!(sent < 1 << 30, "bricklint read all of stdin");
}

#[test]
fn exclude_globs_have_budgets_and_positions() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "nb.py", format!("{NB}x = 1\n"));
    let alternatives = |n: usize| {
        format!(
            "{{{}}}",
            (0..n)
                .map(|i| format!("a{i}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    // 100 KB of alternatives (27 s with the old quadratic build), 200,000 alternatives (a bare
    // "error building NFA"), and many patterns that add up: exit 2 at once, with the position.
    let long_alternation = alternatives(16_000);
    let huge = alternatives(200_000);
    let many: Vec<String> = (0..40)
        .map(|i| format!("\"{}{i}\"", "*a".repeat(1_000)))
        .collect();
    for (config, at, what) in [
        (
            format!("exclude = [\"{long_alternation}\"]\n"),
            "bricklint.toml:1:12:",
            "is longer than 4096 bytes",
        ),
        (
            format!("select = [\"ALL\"]\nextend-exclude = [\n  \"{huge}\"]\n"),
            "bricklint.toml:3:3:",
            "is longer than 4096 bytes",
        ),
        (
            format!("exclude = [\"{}\"]\n", alternatives(300)),
            "bricklint.toml:1:12:",
            "has 300 alternatives, more than 256",
        ),
        (
            format!("exclude = [\n{}]\n", many.join(",\n")),
            "bricklint.toml:2:1:",
            "patterns add up to",
        ),
    ] {
        write(dir.path(), "bricklint.toml", &config);
        let r = check_in(dir.path(), &["."]);
        assert_eq!(r.code, Some(2), "{}", r.context());
        assert!(r.stderr.contains(at), "{at}\n{}", r.context());
        assert!(r.stderr.contains(what), "{what}\n{}", r.context());
        // The message quotes the pattern's start, not 100 KB of it.
        assert!(r.stderr.len() < 400, "{}", r.context());
    }
    // Rule selectors of the configuration are located too.
    write(
        dir.path(),
        "bricklint.toml",
        "select = [\"ORC\"]\n[per-file-ignores]\n\"x/**\" = [\"ORC001\", \"BOGUS1\"]\n",
    );
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(2), "{}", r.context());
    assert!(
        r.stderr
            .contains("bricklint.toml:3:21: unknown rule selector `BOGUS1`"),
        "{}",
        r.context()
    );
}

// ---------------------------------------------------------------------------------------------
// No lost data: `atomic_write` under injected crashes.
//
// The test re-runs this test binary as a child process that rewrites ten files with
// `bricklint::fsutil::atomic_write`, with `BRICKLINT_FAULT_INJECT` set so that the child aborts
// (SIGABRT, as a crash would) at a chosen write and point. Afterwards every file must hold either
// its complete old bytes or its complete new bytes.

const CHILD_DIR_ENV: &str = "BRICKLINT_TEST_FAULT_CHILD_DIR";
const FILES: usize = 10;

fn old_bytes(i: usize) -> Vec<u8> {
    format!(
        "{NB}# old version of file {i}\n{}",
        "x = 1\n".repeat(i * 100)
    )
    .into_bytes()
}

fn new_bytes(i: usize) -> Vec<u8> {
    format!(
        "{NB}# NEW version of file {i}\n{}",
        "y = 2\n".repeat(5_000 - i * 200)
    )
    .into_bytes()
}

/// The child: does nothing unless started by `crash_during_writes_loses_nothing`.
#[test]
fn fault_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    for i in 0..FILES {
        let p = Path::new(&dir).join(format!("f{i}.py"));
        bricklint::fsutil::atomic_write(&p, &new_bytes(i)).unwrap();
    }
}

#[test]
fn crash_during_writes_loses_nothing() {
    let exe = std::env::current_exe().unwrap();
    for point in [
        "before-temp-write",
        "mid-temp-write",
        "after-temp-write",
        "after-rename",
    ] {
        for n in [1, 4, FILES] {
            let dir = tempfile::tempdir().unwrap();
            for i in 0..FILES {
                write(dir.path(), &format!("f{i}.py"), old_bytes(i));
            }
            let status = std::process::Command::new(&exe)
                .args(["--exact", "fault_child", "--test-threads=1", "--nocapture"])
                .env(CHILD_DIR_ENV, dir.path())
                .env(bricklint::fsutil::FAULT_ENV, format!("{point}:{n}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(!status.success(), "{point}:{n}: the child was not aborted");
            let mut new = 0;
            for i in 0..FILES {
                let got = std::fs::read(dir.path().join(format!("f{i}.py"))).unwrap();
                if got == new_bytes(i) {
                    new += 1;
                } else {
                    assert_eq!(
                        got,
                        old_bytes(i),
                        "{point}:{n}: f{i}.py is neither the old nor the new version"
                    );
                }
            }
            // Writes before the fault completed; the faulted write is complete only after
            // its rename.
            let expected = if point == "after-rename" { n } else { n - 1 };
            assert_eq!(new, expected, "{point}:{n}");
        }
    }
    // Without a fault the child rewrites everything.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        write(dir.path(), &format!("f{i}.py"), old_bytes(i));
    }
    let status = std::process::Command::new(&exe)
        .args(["--exact", "fault_child", "--test-threads=1"])
        .env(CHILD_DIR_ENV, dir.path())
        .env_remove(bricklint::fsutil::FAULT_ENV)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for i in 0..FILES {
        assert_eq!(
            std::fs::read(dir.path().join(format!("f{i}.py"))).unwrap(),
            new_bytes(i)
        );
    }
}

#[test]
fn parser_panic_is_a_finding_not_a_crash() {
    // `{)` then a line starting with `,` reaches an `unreachable!` in ruff's parser (IPython
    // mode). The cell is reported (NB001) and the other cells are still analysed.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "nb.py",
        format!("{NB}x = 1\n\n# COMMAND ----------\n\n{{)\n,\n\n# COMMAND ----------\n\ndef f(:\n"),
    );
    let r = check_in(dir.path(), &["."]);
    assert_eq!(r.code, Some(1), "{}", r.context());
    let msgs = r.messages("NB001");
    assert_eq!(msgs.len(), 2, "{}", r.context());
    assert!(msgs[0].contains("parser failed"), "{msgs:?}");
    assert!(!msgs[1].contains("parser failed"), "{msgs:?}");
}
