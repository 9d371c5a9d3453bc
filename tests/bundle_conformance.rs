//! Conformance with the official Databricks bundle schema (read by path from
//! `../shared/reference/databricks/bundle_schema.json`, never copied into the repository):
//! - every fixture bundle that the built-in schema accepts (no SCH001/SCH002) is also valid for
//!   the official schema;
//! - the fixtures meant to break the schema (`fixtures/rules/bundle-schema-violation/bad*`) are
//!   flagged by SCH001 when run with `--bundle-schema` on the official schema.
//!
//! When the file is absent (a clone without `shared/` beside it), the tests print a notice and
//! pass.

use std::path::{Path, PathBuf};

use bricklint::engine::{check, CheckOptions, ReportScope};

fn official_schema() -> Option<PathBuf> {
    // `BRICKLINT_OFFICIAL_SCHEMA` overrides the path (worktrees without `../shared`).
    let p = std::env::var_os("BRICKLINT_OFFICIAL_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/reference/databricks/bundle_schema.json")
        });
    if p.is_file() {
        Some(p)
    } else {
        eprintln!(
            "NOTICE: {} not found; bundle schema conformance tests skipped",
            p.display()
        );
        None
    }
}

/// Every directory under fixtures/rules holding a databricks.yml.
fn fixture_bundles() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    for rule in std::fs::read_dir(&root).unwrap().flatten() {
        for case in std::fs::read_dir(rule.path()).unwrap().flatten() {
            if case.path().join("databricks.yml").is_file() {
                out.push(case.path());
            }
        }
    }
    out.sort();
    out
}

fn sch_findings(dir: &Path, schema: Option<&Path>) -> Vec<String> {
    let opts = CheckOptions {
        paths: vec![dir.to_path_buf()],
        select: Some(vec!["SCH001".into(), "SCH002".into()]),
        report_scope: ReportScope::Bundle,
        bundle_schema: schema.map(Path::to_path_buf),
        ..Default::default()
    };
    let r = check(&opts).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    r.messages
        .iter()
        .map(|m| {
            format!(
                "{}:{}:{} {} {}",
                m.span.path, m.span.line, m.span.column, m.code, m.message
            )
        })
        .collect()
}

#[test]
fn clean_fixture_bundles_are_valid_for_the_official_schema() {
    let Some(schema) = official_schema() else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in fixture_bundles() {
        if !sch_findings(&dir, None).is_empty() {
            continue;
        }
        checked += 1;
        let official = sch_findings(&dir, Some(&schema));
        if !official.is_empty() {
            failures.push(format!(
                "{}: clean for bricklint, invalid for the official schema:\n  {}",
                dir.display(),
                official.join("\n  ")
            ));
        }
    }
    assert!(checked > 20, "only {checked} fixture bundles checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn schema_breaking_fixtures_are_flagged_with_the_official_schema() {
    let Some(schema) = official_schema() else {
        return;
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/bundle-schema-violation");
    let mut n = 0;
    for case in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = case.file_name().to_string_lossy().to_string();
        if !name.starts_with("bad") {
            continue;
        }
        n += 1;
        let f = sch_findings(&case.path(), Some(&schema));
        assert!(
            f.iter().any(|m| m.contains("SCH001")),
            "{name}: the official schema should flag it, bricklint reported: {f:?}"
        );
    }
    assert!(n >= 3);
}

#[test]
fn official_schema_errors_point_at_the_offending_key_or_value() {
    let Some(schema) = official_schema() else {
        return;
    };
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/bundle-schema-violation");
    // The `oneOf` wrappers are descended: the message names the field, not "oneOf".
    let f = sch_findings(&base.join("bad_unknown_field"), Some(&schema));
    assert!(
        f.iter()
            .any(|m| m.contains(":8:7 SCH001") && m.contains("max_concurrent_run")),
        "{f:?}"
    );
    assert!(f.iter().all(|m| !m.contains("oneOf")), "{f:?}");
    let f = sch_findings(&base.join("bad_inputs_list"), Some(&schema));
    assert!(
        f.iter()
            .any(|m| m.contains(":10:21 SCH001") && m.contains("`inputs` must be a string")),
        "{f:?}"
    );
    // `retries: 3` in base_parameters (strings) is converted by the CLI
    // (libs/dyn/convert/normalize.go), so it is not reported; the enum value is.
    let f = sch_findings(&base.join("bad_types"), Some(&schema));
    assert!(
        f.iter().all(|m| !m.contains(":14:24 SCH001")),
        "base_parameters value 3: {f:?}"
    );
    assert!(
        f.iter()
            .any(|m| m.contains(":10:19 SCH001") && m.contains("SOMETIMES")),
        "{f:?}"
    );
}

#[test]
fn official_schema_accepts_interpolations_in_typed_fields() {
    let Some(schema) = official_schema() else {
        return;
    };
    // `${var.x}` in an integer field; `\p{L}` patterns must compile.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rules/for-each-concurrency-out-of-range/bad_variable");
    assert_eq!(sch_findings(&dir, Some(&schema)), Vec::<String>::new());
}
