//! Differential tests: small bundles whose outcome under `databricks bundle validate` is derived
//! from the Databricks CLI's Go source (github.com/databricks/cli, each test cites the file it
//! follows), checked with `bricklint check`. Where bricklint is deliberately stricter than the
//! CLI (a problem the Jobs API rejects at deploy), the test says so.

use std::path::Path;

use assert_cmd::Command;

#[path = "bundle_cli_semantics/loading.rs"]
mod loading;
#[path = "bundle_cli_semantics/refs.rs"]
mod refs;
#[path = "bundle_cli_semantics/targets.rs"]
mod targets;
#[path = "bundle_cli_semantics/vars.rs"]
mod vars;

/// A bundle in a temporary directory: (relative path, text) pairs.
pub fn bundle(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = d.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

/// The outcome of `bricklint check . --output-format concise` plus `args`.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Lines of findings with `code` (e.g. "SCH001").
    pub fn findings(&self, code: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.contains(&format!(" {code} ")))
            .collect()
    }

    /// Lines of error findings (any rule).
    pub fn errors(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.contains("[error]"))
            .collect()
    }
}

pub fn check(dir: &Path, args: &[&str]) -> Outcome {
    let o = Command::cargo_bin("bricklint")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["check", ".", "--output-format", "concise"])
        .args(args)
        .output()
        .unwrap();
    Outcome {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The header line of a source notebook.
pub const NOTEBOOK: &str = "# Databricks notebook source\nprint(1)\n";
