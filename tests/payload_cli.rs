//! Black-box tests of `bricklint payload`: exit codes 0/1/2, text and JSON output, and the exact
//! compact-JSON size measure at the 48 KiB boundary.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn bricklint() -> Command {
    Command::cargo_bin("bricklint").unwrap()
}

/// A pretty-printed array of objects whose *compact* JSON is exactly `bytes` bytes, with
/// non-ASCII characters (2 bytes each in UTF-8) so that bytes and characters differ.
fn payload_of(bytes: usize) -> String {
    // Compact element: {"table":"é<pad>"} = 10 + 2 + 2 + pad bytes; array adds 2 + commas.
    let mut items = Vec::new();
    let mut total = 2; // []
    loop {
        let sep = usize::from(!items.is_empty());
        let remaining = bytes - total - sep;
        if remaining <= 1000 {
            assert!(remaining >= 14, "choose another size");
            items.push(format!(
                "{{\"table\": \"é{}\"}}",
                "x".repeat(remaining - 14)
            ));
            break;
        }
        let pad = 200;
        items.push(format!("{{\"table\": \"é{}\"}}", "x".repeat(pad)));
        total += sep + 14 + pad;
    }
    let text = format!("[\n  {}\n]\n", items.join(",\n  "));
    // Independent oracle: serde_json's compact writer.
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string(&v).unwrap().len(), bytes);
    text
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn json_out(cmd: &mut Command, code: i32) -> Value {
    let out = cmd.assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn exactly_48_kib_is_ok_text_and_json() {
    let d = tempfile::tempdir().unwrap();
    let text = payload_of(49_152);
    assert!(text.len() > 49_152, "the file itself has whitespace");
    let f = write(d.path(), "ok.json", &text);
    bricklint()
        .args(["payload", &f])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "49152 bytes of compact JSON (limit 49152",
        ))
        .stdout(predicate::str::ends_with("ok\n"));
    let v = json_out(
        bricklint().args(["payload", &f, "--output-format", "json"]),
        0,
    );
    assert_eq!(v["version"], 1);
    assert_eq!(v["ok"], true);
    assert_eq!(v["bytes"], 49_152);
    assert_eq!(v["max_bytes"], 49_152);
    assert_eq!(v["type"], "array");
    assert!(
        v["characters"].as_u64().unwrap() < 49_152,
        "é is 2 bytes, 1 char"
    );
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn one_byte_over_48_kib_is_an_error_text_and_json() {
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "big.json", &payload_of(49_153));
    bricklint()
        .args(["payload", &f])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error[too-large]: payload is 49153 bytes of compact JSON, over the limit of 49152 bytes (48 KiB) by 1",
        ));
    let v = json_out(
        bricklint().args(["payload", &f, "--output-format", "json"]),
        1,
    );
    assert_eq!(v["ok"], false);
    assert_eq!(v["bytes"], 49_153);
    assert_eq!(v["problems"][0]["kind"], "too-large");
    assert_eq!(v["problems"][0]["severity"], "error");
}

#[test]
fn stdin_and_max_bytes() {
    bricklint()
        .args(["payload", "-", "--max-bytes", "7"])
        .write_stdin("[1, 2, 3]")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("7 bytes of compact JSON (limit 7"));
    bricklint()
        .args(["payload", "--max-bytes", "6"])
        .write_stdin("[1, 2, 3]")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("over the limit of 6 bytes by 1"));
}

#[test]
fn nan_and_infinity_are_invalid_json_with_position() {
    bricklint()
        .args(["payload"])
        .write_stdin("{\"a\": 1,\n \"b\": NaN}")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "<stdin>:2:7: error[invalid-json]: invalid JSON at line 2, column 7: `NaN` is not valid JSON",
        ));
    let v = json_out(
        bricklint()
            .args(["payload", "--output-format", "json"])
            .write_stdin("[Infinity]"),
        1,
    );
    assert_eq!(v["valid_json"], false);
    assert_eq!(v["bytes"], Value::Null);
    assert_eq!(v["problems"][0]["kind"], "invalid-json");
    assert_eq!(v["problems"][0]["line"], 1);
    assert_eq!(v["problems"][0]["column"], 2);
    bricklint()
        .args(["payload"])
        .write_stdin("[1, 2")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("unexpected end of input"));
}

#[test]
fn for_each_inputs_array_and_inline_limit() {
    bricklint()
        .args(["payload", "--for-each-inputs"])
        .write_stdin("\"[\\\"a\\\", \\\"b\\\"]\"")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "must be a JSON array, this is a string",
        ))
        .stdout(predicate::str::contains("double-encoded"));
    let long = format!("[\"{}\"]", "a".repeat(9_996)); // 10,000 characters: ok
    bricklint()
        .args(["payload", "--for-each-inputs"])
        .write_stdin(long)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "10000 characters (inline limit 10000)",
        ));
    let long = format!("[\"{}\"]", "a".repeat(9_997));
    let v = json_out(
        bricklint()
            .args(["payload", "--for-each-inputs", "--output-format", "json"])
            .write_stdin(long),
        1,
    );
    assert_eq!(v["characters"], 10_001);
    assert_eq!(v["problems"][0]["kind"], "inline-too-long");
    assert_eq!(v["problems"][0]["severity"], "warning");
}

const SCHEMA: &str = r#"{
  "type": "array",
  "items": {"type": "object", "required": ["table"],
            "properties": {"table": {"type": "string", "minLength": 1}}}
}"#;

#[test]
fn schema_violation_reports_the_json_pointer() {
    let d = tempfile::tempdir().unwrap();
    let s = write(d.path(), "schema.json", SCHEMA);
    let ok = write(d.path(), "ok.json", r#"[{"table": "a"}, {"table": "b"}]"#);
    let bad = write(d.path(), "bad.json", r#"[{"table": "a"}, {"table": 7}]"#);
    bricklint()
        .args(["payload", &ok, "--schema", &s])
        .assert()
        .code(0);
    bricklint()
        .args(["payload", &bad, "--schema", &s])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error[schema]: /1/table: 7 is not of type \"string\"",
        ));
    let v = json_out(
        bricklint().args(["payload", &bad, "--schema", &s, "--output-format", "json"]),
        1,
    );
    assert_eq!(v["problems"][0]["pointer"], "/1/table");
}

#[test]
fn key_uses_the_contract_from_the_config() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "tables.schema.json", SCHEMA);
    let cfg = write(
        d.path(),
        "bricklint.toml",
        "[task-values.tables]\nschema = \"tables.schema.json\"\nmax-bytes = 20\n",
    );
    // Schema ok, but over the contract's 20 bytes.
    let v = json_out(
        bricklint()
            .args([
                "payload",
                "--key",
                "tables",
                "--config",
                &cfg,
                "--output-format",
                "json",
            ])
            .write_stdin(r#"[{"table": "a"}, {"table": "b"}]"#),
        1,
    );
    assert_eq!(v["key"], "tables");
    assert_eq!(v["max_bytes"], 20);
    assert_eq!(v["problems"].as_array().unwrap().len(), 1);
    assert_eq!(v["problems"][0]["kind"], "too-large");
    // Schema violation at the root.
    bricklint()
        .args(["payload", "--key", "tables", "--config", &cfg])
        .write_stdin(r#"{"table": "a"}"#)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[schema]: (root):"))
        .stdout(predicate::str::contains("tables.schema.json"));
    // The config is discovered upward from the working directory too.
    bricklint()
        .current_dir(d.path())
        .args(["payload", "--key", "tables"])
        .write_stdin(r#"[{"table": "a"}]"#)
        .assert()
        .code(0);
    // --max-bytes wins over the contract.
    bricklint()
        .args([
            "payload",
            "--key",
            "tables",
            "--config",
            &cfg,
            "--max-bytes",
            "100",
        ])
        .write_stdin(r#"[{"table": "a"}, {"table": "b"}]"#)
        .assert()
        .code(0);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("missing.json");
    bricklint()
        .args(["payload", &missing.to_string_lossy()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read"));
    let cfg = write(d.path(), "bricklint.toml", "");
    bricklint()
        .args(["payload", "--key", "nope", "--config", &cfg])
        .write_stdin("[]")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no contract for task value `nope`",
        ));
    let bad_schema = write(d.path(), "bad.schema.json", r#"{"type": 12}"#);
    bricklint()
        .args(["payload", "--schema", &bad_schema])
        .write_stdin("[]")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid JSON Schema"));
    let not_json_schema = write(d.path(), "x.schema.json", "{");
    bricklint()
        .args(["payload", "--schema", &not_json_schema])
        .write_stdin("[]")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("schema is not valid JSON"));
    bricklint()
        .args(["payload", "--max-bytes", "lots"])
        .write_stdin("[]")
        .assert()
        .code(2);
    let latin1 = d.path().join("latin1.json");
    std::fs::write(&latin1, b"[\"\xe9\"]").unwrap();
    bricklint()
        .args(["payload", &latin1.to_string_lossy()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not UTF-8"));
}

#[test]
fn double_encoded_fix_sets_the_value_itself_in_py_and_ipynb() {
    let d = tempfile::tempdir().unwrap();
    let py = write(
        d.path(),
        "producer.py",
        "# Databricks notebook source\nimport json\n\ntables = [\"a\", \"b\"]\ndbutils.jobs.taskValues.set(key=\"tables\", value=json.dumps(tables))\n",
    );
    let nb = serde_json::json!({
        "cells": [
            {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
             "source": ["import json\n", "dbutils.jobs.taskValues.set(\"t\", json.dumps([1, 2]))"]}
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5
    });
    let ipynb = write(
        d.path(),
        "producer.ipynb",
        &serde_json::to_string_pretty(&nb).unwrap(),
    );
    // Unsafe fix: not applied by --fix alone.
    bricklint()
        .current_dir(d.path())
        .args(["check", "--select", "TV003", "--fix", "."])
        .assert()
        .code(1);
    assert!(std::fs::read_to_string(&py)
        .unwrap()
        .contains("json.dumps(tables)"));
    bricklint()
        .current_dir(d.path())
        .args(["check", "--select", "TV003", "--fix", "--unsafe-fixes", "."])
        .assert()
        .code(0);
    assert!(std::fs::read_to_string(&py)
        .unwrap()
        .contains("dbutils.jobs.taskValues.set(key=\"tables\", value=tables)\n"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&ipynb).unwrap()).unwrap();
    let src: String = v["cells"][0]["source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        src.contains("dbutils.jobs.taskValues.set(\"t\", [1, 2])"),
        "{src}"
    );
}

#[test]
fn check_reports_task_value_findings_in_json() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "producer.py",
        "# Databricks notebook source\nrows = spark.table('t').collect()\ndbutils.jobs.taskValues.set('rows', rows)\n",
    );
    let v = json_out(
        bricklint().current_dir(d.path()).args([
            "check",
            "--select",
            "TV",
            "--output-format",
            "json",
            ".",
        ]),
        1,
    );
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["TV001", "TV002"]);
    assert_eq!(v["diagnostics"][0]["severity"], "warning");
    assert_eq!(v["diagnostics"][1]["severity"], "error");
    assert_eq!(v["diagnostics"][0]["line"], 3);
}
