//! Every message bricklint shows about user input speaks of the input, never of the libraries
//! that read it (issue 19, "Messages"). The test runs the binary over every fixture of the suite
//! (`check`, `plan`, `migrate`) and over the hostile inputs the other tests use, collects every
//! user-visible message (findings, problems, hints, stderr) and greps them for words of Rust,
//! serde, serde-saphyr, globset and panics. It fails with the offending message and the command
//! that produced it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Words of library internals that no message may contain.
const DENYLIST: &[&str] = &[
    "weak recursion",
    "from_str_multiple",
    "DuplicateKeyPolicy",
    "MergeKeys",
    "budget breached",
    "NFA",
    "serde",
    "saphyr",
    "globset",
    "unwrap",
    "panicked",
    "called `Result",
    "called `Option",
    "RUST_BACKTRACE",
    "Os {",
    "kind:",
    "Error {",
    "Error(",
    "Some(",
];

/// The internal words of `message`: denylisted words and Debug-formatted structs
/// (`Name { field: ...`).
fn internal_words(message: &str) -> Vec<String> {
    let mut out: Vec<String> = DENYLIST
        .iter()
        .filter(|w| message.contains(*w))
        .map(|w| w.to_string())
        .collect();
    // `Capitalised { field:` is how Debug prints a struct.
    for (i, _) in message.match_indices(" { ") {
        let name: String = message[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let rest = &message[i + 3..];
        let field: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_uppercase())
            && !field.is_empty()
            && rest[field.len()..].starts_with(": ")
        {
            out.push(format!("{name} {{ {field}: (Debug output)"));
        }
    }
    out
}

#[test]
fn the_matcher_finds_library_texts() {
    for leak in [
        "a.yml:1:8: recursive references require weak recursion types",
        "YAML exceeds an input limit (budget breached: MergeKeys { merge_keys: 10001 })",
        "cannot read: Os { code: 2, kind: NotFound, message: \"No such file\" }",
        "error building NFA",
        "invalid type: map, expected a string (serde_saphyr::de)",
        "thread 'main' panicked at src/x.rs:1:1",
        "called `Option::unwrap()` on a `None` value",
        "Config { select: None }",
    ] {
        assert!(!internal_words(leak).is_empty(), "not caught: {leak}");
    }
    for fine in [
        "databricks.yml:3:5: SCH002 [error] unclosed bracket '['",
        "JSON nested deeper than 128 levels",
        "`{{ input }}` is never closed: use `{{input.x}}`",
        "use None or a string",
    ] {
        assert!(
            internal_words(fine).is_empty(),
            "{fine}: {:?}",
            internal_words(fine)
        );
    }
}

/// Every message one run showed.
struct Collected {
    command: String,
    messages: Vec<String>,
}

fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> Collected {
    let mut cmd = Command::cargo_bin("bricklint").unwrap();
    cmd.current_dir(dir).args(args).timeout(TIMEOUT);
    if let Some(s) = stdin {
        cmd.write_stdin(s.as_bytes().to_vec());
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let command = format!("(in {}) bricklint {}", dir.display(), args.join(" "));
    assert!(
        out.status.code().is_some(),
        "{command}: killed by a signal\n{stderr}"
    );
    let mut messages: Vec<String> = stderr.lines().map(str::to_string).collect();
    match serde_json::from_str::<Value>(&stdout) {
        // JSON output: the texts bricklint wrote, not the user's content it quotes.
        Ok(v) => collect_json(&v, &mut messages),
        // Text output: every line (the hostile inputs below hold no denylisted word).
        Err(_) => messages.extend(stdout.lines().map(str::to_string)),
    }
    Collected { command, messages }
}

fn collect_json(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("message" | "help" | "title" | "reason" | "error", Value::String(s)) => {
                        out.push(s.clone())
                    }
                    _ => collect_json(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_json(x, out)),
        _ => {}
    }
}

fn assert_clean(runs: &[Collected]) {
    let mut bad = Vec::new();
    let mut total = 0;
    for r in runs {
        for m in &r.messages {
            total += 1;
            let words = internal_words(m);
            if !words.is_empty() {
                bad.push(format!("{}\n    {m}\n    internal: {words:?}", r.command));
            }
        }
    }
    assert!(total > 0, "no message collected");
    assert!(
        bad.is_empty(),
        "{} of {total} messages show library internals:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "snapshots"))
        .collect();
    v.sort();
    v
}

#[test]
fn fixtures_give_no_library_texts() {
    let root = repo();
    let mut runs = vec![
        run(
            &root,
            &[
                "check",
                "fixtures",
                "--select",
                "ALL",
                "--output-format",
                "json",
            ],
            None,
        ),
        run(&root, &["check", "examples", "--select", "ALL"], None),
    ];
    for dir in subdirs(&root.join("fixtures/plan")) {
        let d = dir.to_string_lossy().into_owned();
        runs.push(run(&root, &["plan", &d], None));
        runs.push(run(&root, &["plan", &d, "--format", "json"], None));
        if let Ok(extra) = std::fs::read_to_string(dir.join("plan.args")) {
            let mut args = vec!["plan", d.as_str()];
            args.extend(extra.split_whitespace());
            runs.push(run(&root, &args, None));
        }
    }
    for dir in subdirs(&root.join("fixtures/migrate")) {
        let d = dir.to_string_lossy().into_owned();
        // A dry run: nothing is written.
        runs.push(run(&root, &["migrate", &d], None));
    }
    assert_clean(&runs);
}

fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
}

const NB: &str = "# Databricks notebook source\nx = 1\n";

/// A bundle whose `databricks.yml` is `root` and whose `resources/r.yml` is `resource`; `check`
/// and `plan` over it.
fn bundle_runs(root: &str, resource: &str) -> Vec<Collected> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "databricks.yml", root);
    write(dir.path(), "resources/r.yml", resource);
    write(dir.path(), "src/nb.py", NB);
    vec![
        run(dir.path(), &["check", ".", "--output-format", "json"], None),
        run(dir.path(), &["check", "."], None),
        run(dir.path(), &["plan", "."], None),
        run(dir.path(), &["plan", ".", "--format", "json"], None),
    ]
}

const HEAD: &str = "bundle:\n  name: b\ninclude:\n  - resources/*.yml\n";

#[test]
fn hostile_yaml_gives_no_library_texts() {
    let merge_bomb: String = (0..10_001).map(|i| format!("m{i}: {{<<: *b}}\n")).collect();
    let mut alias_bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        alias_bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 9].join(", ")
        ));
    }
    let cases: Vec<(String, String)> = vec![
        // An alias inside its own anchor ("weak recursion types").
        (format!("{HEAD}x: &x [*x]\n"), String::new()),
        (HEAD.into(), "resources:\n  jobs: &j {a: *j}\n".into()),
        // 10,001 merge keys ("MergeKeys { merge_keys: 10001 }").
        (format!("{HEAD}base: &b {{x: 1}}\n{merge_bomb}"), String::new()),
        (HEAD.into(), alias_bomb),
        (format!("{HEAD}deep: {}{}\n", "[".repeat(3000), "]".repeat(3000)), String::new()),
        // A repeated key, a repeated merge key, a second document ("from_str_multiple").
        (format!("{HEAD}bundle:\n  name: c\n"), "a: 1\na: 2\n".into()),
        (format!("{HEAD}b: &b {{x: 1}}\nm:\n  <<: *b\n  <<: *b\n"), String::new()),
        (HEAD.into(), "resources: {}\n---\nresources: {}\n".into()),
        // Syntax errors, tabs, wrong types, unknown anchors.
        (HEAD.into(), "resources:\n  jobs:\n    j: {tasks: [\n".into()),
        (HEAD.into(), "resources:\n\tjobs: {}\n".into()),
        (HEAD.into(), "resources:\n  jobs: *nope\n".into()),
        (HEAD.into(), "resources:\n  jobs:\n    j:\n      tasks: 3\n".into()),
        (HEAD.into(), "resources:\n  jobs:\n    j:\n      tasks:\n        - 7\n".into()),
        // Variables: unknown, cyclic, complex.
        (
            format!("{HEAD}variables:\n  a: {{default: \"${{var.b}}\"}}\n  b: {{default: \"${{var.a}}\"}}\n"),
            "resources:\n  jobs:\n    j:\n      name: ${var.a}-${var.zz}\n".into(),
        ),
        // Includes: outside the bundle, a huge pattern, an entry that is not a string.
        ("bundle: {name: b}\ninclude: [../*.yml, 3, {a: b}]\n".into(), String::new()),
        (format!("bundle: {{name: b}}\ninclude: [\"{}\"]\n", "*a".repeat(300_000)), String::new()),
        // Bad UTF-8 and NUL bytes.
        (HEAD.into(), "resources:\n  jobs: \u{0}\n".into()),
        // Targets: unknown default, two defaults.
        (
            format!("{HEAD}targets:\n  a: {{default: true}}\n  b: {{default: true}}\n"),
            String::new(),
        ),
    ];
    let mut runs = Vec::new();
    for (root, resource) in &cases {
        runs.extend(bundle_runs(root, resource));
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "databricks.yml", HEAD);
    write(
        dir.path(),
        "resources/r.yml",
        b"resources:\n  jobs: \xff\xfe\n",
    );
    runs.push(run(dir.path(), &["check", "."], None));
    runs.push(run(dir.path(), &["plan", "."], None));
    runs.push(run(dir.path(), &["plan", ".", "-t", "nope"], None));
    assert_clean(&runs);
}

#[test]
fn hostile_configuration_gives_no_library_texts() {
    let configs = [
        "select = 3\n",
        "select = [\"NOPE1\"]\n",
        "exclude = [\"a[\"]\n",
        "exclude = [\"{a,{b}\"]\n",
        "[limits]\nmax-nesting = 100000\n",
        "[limits]\nmax-file-bytes = -1\n",
        "[per-file-ignores]\n\"x\" = 3\n",
        "unknown-key = 1\n",
        "[task-values.k]\nschema = \"missing.json\"\n",
        "this is not toml",
        "\u{0}",
    ];
    let mut runs = Vec::new();
    for config in configs {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "bricklint.toml", config);
        write(dir.path(), "nb.py", NB);
        write(dir.path(), "p.json", "[1]");
        runs.push(run(dir.path(), &["check", "."], None));
        runs.push(run(dir.path(), &["payload", "p.json", "--key", "k"], None));
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "huge.toml",
        format!(
            "exclude = [\"{{{}}}\"]\n",
            (0..200_000)
                .map(|i| format!("a{i}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
    );
    write(dir.path(), "nb.py", NB);
    runs.push(run(
        dir.path(),
        &["check", ".", "--config", "huge.toml"],
        None,
    ));
    runs.push(run(
        dir.path(),
        &["check", ".", "--config", "missing.toml"],
        None,
    ));
    runs.push(run(dir.path(), &["check", ".", "--select", "NOPE"], None));
    runs.push(run(dir.path(), &["check", "missing-dir"], None));
    assert_clean(&runs);
}

#[test]
fn hostile_payloads_and_inputs_give_no_library_texts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let payloads = [
        "{\"a\": \"\\ud800\"}",
        "[\"\\udc00\\u0041\"]",
        "{\"a\": 1e400}",
        "[NaN, Infinity]",
        "[1, 2",
        "{\"a\" 1}",
        "\"\\x\"",
        "",
        "[] []",
    ];
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let mut runs = Vec::new();
    for (i, p) in payloads.iter().copied().chain([deep.as_str()]).enumerate() {
        let name = format!("p{i}.json");
        write(d, &name, p);
        runs.push(run(d, &["payload", &name], None));
        runs.push(run(
            d,
            &[
                "payload",
                &name,
                "--for-each-inputs",
                "--output-format",
                "json",
            ],
            None,
        ));
        runs.push(run(d, &["payload", "-"], Some(p)));
    }
    write(d, "bad-utf8.json", b"[\"\xff\"]");
    write(d, "schema-not-json.json", "{type: array}");
    write(d, "schema-bad.json", "{\"type\": 3}");
    write(d, "ok.json", "[1]");
    runs.push(run(d, &["payload", "bad-utf8.json"], None));
    runs.push(run(
        d,
        &["payload", "ok.json", "--schema", "schema-not-json.json"],
        None,
    ));
    runs.push(run(
        d,
        &["payload", "ok.json", "--schema", "schema-bad.json"],
        None,
    ));
    runs.push(run(
        d,
        &["payload", "ok.json", "--schema", "nope.json"],
        None,
    ));
    runs.push(run(d, &["payload", "missing.json"], None));
    runs.push(run(d, &["payload", "."], None));
    // Inputs named on the command line: missing, a directory, not JSON, bad UTF-8.
    write(d, "databricks.yml", "bundle: {name: b}\n");
    write(d, "nb.py", NB);
    for (flag, file) in [
        ("--inputs", "schema-not-json.json"),
        ("--inputs", "bad-utf8.json"),
        ("--inputs", "missing.json"),
        ("--durations", "schema-not-json.json"),
        ("--durations", "ok.json"),
    ] {
        runs.push(run(d, &["plan", ".", flag, file], None));
    }
    for schema in [
        "schema-not-json.json",
        "schema-bad.json",
        "missing.json",
        ".",
    ] {
        runs.push(run(d, &["check", ".", "--bundle-schema", schema], None));
    }
    #[cfg(unix)]
    for special in ["/dev/zero", "/dev/null"] {
        runs.push(run(d, &["payload", special], None));
        runs.push(run(d, &["plan", ".", "--inputs", special], None));
        runs.push(run(d, &["check", ".", "--config", special], None));
    }
    #[cfg(target_os = "linux")]
    runs.push(run(d, &["check", ".", "--output", "/dev/full"], None));
    assert_clean(&runs);
}

#[test]
fn hostile_notebooks_give_no_library_texts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "deep.py",
        format!("{}{}{}\n", NB, "(".repeat(5000), ")".repeat(5000)),
    );
    write(d, "syntax.py", format!("{NB}def f(:\n"));
    write(
        d,
        "trunc.ipynb",
        "{\"cells\": [{\"cell_type\": \"code\", \"source\": [\"x\"",
    );
    write(
        d,
        "surrogate.ipynb",
        "{\"cells\": [{\"cell_type\": \"code\", \"source\": [\"\\ud800\"]}]}",
    );
    write(d, "wrong.ipynb", "{\"cells\": 3}");
    write(d, "list.ipynb", "[]");
    write(d, "nul.py", format!("{NB}x = '\u{0}'\n"));
    write(
        d,
        "latin1.py",
        b"# Databricks notebook source\nx = '\xe9'\n",
    );
    let runs = vec![
        run(d, &["check", ".", "--select", "ALL"], None),
        run(
            d,
            &["check", ".", "--select", "ALL", "--output-format", "json"],
            None,
        ),
    ];
    assert_clean(&runs);
}

/// A `databricks.yml` that is a directory or a FIFO is reported, not skipped in silence.
#[cfg(unix)]
#[test]
fn a_bundle_root_that_is_not_a_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("as-dir/databricks.yml")).unwrap();
    write(d, "as-dir/nb.py", NB);
    std::fs::create_dir_all(d.join("as-fifo")).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(d.join("as-fifo/databricks.yml"))
        .status()
        .unwrap()
        .success());
    write(d, "as-fifo/nb.py", NB);
    for (sub, what) in [
        ("as-dir", "a directory, not a regular file"),
        ("as-fifo", "a FIFO (named pipe), not a regular file"),
    ] {
        let out = Command::cargo_bin("bricklint")
            .unwrap()
            .current_dir(d)
            .args(["check", sub, "--output-format", "concise"])
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{sub}\n{stdout}");
        assert!(
            stdout.contains(&format!("{sub}/databricks.yml:1:1: BL003")) && stdout.contains(what),
            "{sub}\n{stdout}"
        );
        let out = Command::cargo_bin("bricklint")
            .unwrap()
            .current_dir(d)
            .args(["plan", sub])
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sub}\n{stderr}");
        assert!(
            stderr.contains(&format!("{sub}/databricks.yml: {what}")),
            "{sub}\n{stderr}"
        );
    }
}

/// JSON that serde_json refuses although its grammar allows it, each said for what it is (was
/// "unexpected end of hex escape", and "invalid JSON" for both of the others); a bundle schema
/// that is not JSON is a usage error with its position.
#[test]
fn payload_and_schema_messages_say_what_the_json_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for (text, expected) in [
        (
            "{\"a\": \"\\ud800\"}",
            "p.json:1:14: error[lone-surrogate]: the string escape `\\ud800` is half of a UTF-16 surrogate pair",
        ),
        (
            "{\"a\": 1e400}",
            "p.json:1:11: error[number-out-of-range]: the number `1e400` is beyond the range of a 64-bit float",
        ),
        (
            deep.as_str(),
            "p.json:1:128: error[too-deep]: arrays and objects nested deeper than 128 levels",
        ),
    ] {
        write(d, "p.json", text);
        let out = Command::cargo_bin("bricklint")
            .unwrap()
            .current_dir(d)
            .args(["payload", "p.json"])
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }
    write(d, "nb.py", NB);
    write(d, "schema.json", "{\n  type: 1}");
    let out = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(d)
        .args(["check", ".", "--bundle-schema", "schema.json"])
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("schema.json:2:3: the bundle schema is not JSON"),
        "{stderr}"
    );
}
