//! Rule fixtures: every registered rule has `fixtures/rules/<name>/` with `bad*` cases (each must
//! report the rule at least once) and `ok*` cases (must report nothing for it), and the output of
//! every case is an insta snapshot beside the fixtures.

use std::path::{Path, PathBuf};

use bricklint::engine::{check, CheckOptions, ReportScope};
use bricklint::output::{render, OutputFormat, RenderOptions};
use bricklint::rules;

/// Rules reported by the engine itself, whose fixtures are optional here.
const ENGINE_ONLY: &[&str] = &[];

fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        (n.starts_with("bad") || n.starts_with("ok")) && !n.ends_with(".snap")
    });
    v.sort();
    v
}

fn run(path: &Path, code: &str) -> (usize, String) {
    let opts = CheckOptions {
        paths: vec![path.to_path_buf()],
        // BL001 judges suppressions of selected rules only, so it runs with every rule.
        select: Some(vec![if code == "BL001" {
            "ALL".to_string()
        } else {
            code.to_string()
        }]),
        report_scope: ReportScope::Bundle,
        config: load_case_config(path),
        ..Default::default()
    };
    let result = check(&opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    render(
        OutputFormat::Full,
        &result,
        &RenderOptions::default(),
        &mut out,
    )
    .unwrap();
    let n = result.messages.iter().filter(|m| m.code == code).count();
    (n, String::from_utf8(out).unwrap())
}

/// A case directory may carry its own `bricklint.toml`.
fn load_case_config(path: &Path) -> bricklint::config::Config {
    let p = path.join("bricklint.toml");
    if p.is_file() {
        bricklint::config::Config::load_file(&p).unwrap()
    } else {
        Default::default()
    }
}

#[test]
fn every_rule_has_docs_and_fixtures() {
    let mut problems = Vec::new();
    for r in rules::all() {
        let m = r.meta();
        for section in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Fix",
        ] {
            if !m.doc.contains(section) {
                problems.push(format!("{} lacks the doc section `{section}`", m.code));
            }
        }
        if ENGINE_ONLY.contains(&m.code) {
            continue;
        }
        let dir = Path::new("fixtures/rules").join(m.name);
        let cs = cases(&dir);
        if !cs
            .iter()
            .any(|p| p.file_name().unwrap().to_string_lossy().starts_with("bad"))
        {
            problems.push(format!(
                "{} has no bad fixture in {}",
                m.code,
                dir.display()
            ));
        }
        if !cs
            .iter()
            .any(|p| p.file_name().unwrap().to_string_lossy().starts_with("ok"))
        {
            problems.push(format!("{} has no ok fixture in {}", m.code, dir.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rule_fixtures() {
    let mut failures = Vec::new();
    for r in rules::all() {
        let m = r.meta();
        let dir = Path::new("fixtures/rules").join(m.name);
        for case in cases(&dir) {
            let name = case.file_name().unwrap().to_string_lossy().to_string();
            let (n, out) = run(&case, m.code);
            if name.starts_with("bad") && n == 0 {
                failures.push(format!(
                    "{}: expected {} to report, it did not",
                    case.display(),
                    m.code
                ));
            }
            if name.starts_with("ok") && n != 0 {
                failures.push(format!(
                    "{}: expected no {} finding, got:\n{out}",
                    case.display(),
                    m.code
                ));
            }
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path(
                Path::new("../fixtures/rules")
                    .join(m.name)
                    .join("snapshots"),
            );
            settings.set_prepend_module_to_snapshot(false);
            settings.set_input_file(&case);
            settings.set_omit_expression(true);
            settings.bind(|| {
                insta::assert_snapshot!(name.replace('.', "_"), out);
            });
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
