//! The re-check before writing: bricklint's own rules run over each bundle with the changes
//! applied in memory (the engine's overlay; nothing is written and no copy of the project is
//! made). A finding in a changed file that the project did not have before blocks that
//! notebook's migration.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{MigrateOptions, MigrateResult};
use crate::source::display_path;

/// Selectors of the rules the result must satisfy (only those bricklint has).
fn recheck_selectors() -> Vec<String> {
    [
        "FE", "JOB", "SCH", "XF", "ORC001", "ORC002", "TV001", "TV002", "TV003", "TV004", "NB001",
    ]
    .iter()
    .filter(|s| {
        crate::rules::all()
            .iter()
            .any(|r| r.meta().code.starts_with(*s))
    })
    .map(|s| s.to_string())
    .collect()
}

/// Run the engine over each bundle with the changes applied in memory; findings in the changed
/// files block that notebook's migration.
pub fn recheck(result: &mut MigrateResult, opts: &MigrateOptions) {
    let selectors = recheck_selectors();
    if selectors.is_empty() {
        return;
    }
    let mut by_root: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, o) in result.outcomes.iter().enumerate() {
        if o.is_applicable() {
            by_root
                .entry(o.plan.bundle_root.clone())
                .or_default()
                .push(i);
        }
    }
    for (root, idxs) in by_root {
        let checked = check_overlay(&root, result, &idxs, &selectors, opts)
            .and_then(|after| Ok((after, check_overlay(&root, result, &[], &selectors, opts)?)));
        let (findings, before) = match checked {
            Ok(f) => f,
            Err(e) => {
                for &i in &idxs {
                    result.outcomes[i]
                        .blocked
                        .push(format!("cannot re-check the result: {e}"));
                }
                continue;
            }
        };
        // Findings the project already had are not the migration's doing.
        let mut known: HashMap<(&PathBuf, &String), usize> = HashMap::new();
        for (path, msg, _) in &before {
            *known.entry((path, msg)).or_default() += 1;
        }
        let mut new_findings = Vec::new();
        for f in &findings {
            match known.get_mut(&(&f.0, &f.1)) {
                Some(n) if *n > 0 => *n -= 1,
                _ => new_findings.push(f),
            }
        }
        for &i in &idxs {
            let o = &mut result.outcomes[i];
            let mine: HashSet<&PathBuf> = o.changes.iter().map(|c| &c.path).collect();
            for (path, msg, blocking) in new_findings.iter().copied() {
                if !mine.contains(path) {
                    continue;
                }
                if *blocking {
                    o.blocked.push(format!(
                        "the result would not pass bricklint: {}: {msg}",
                        display_path(path)
                    ));
                } else {
                    o.warnings.push(format!("{}: {msg}", display_path(path)));
                }
            }
        }
    }
}

/// Check the bundle with the changes applied in memory (the engine's overlay: nothing is
/// written, no copy of the project is made). Returns (path, message, blocking) of each finding:
/// errors, and any finding of the structural bundle rules (FE, JOB, SCH), block; other warnings
/// (an unbounded task value from `.collect()`, a parameter the child never reads) are reported
/// with the plan.
fn check_overlay(
    root: &Path,
    result: &MigrateResult,
    idxs: &[usize],
    selectors: &[String],
    opts: &MigrateOptions,
) -> Result<Vec<(PathBuf, String, bool)>, String> {
    let mut overlay = BTreeMap::new();
    for &i in idxs {
        for c in &result.outcomes[i].changes {
            overlay.insert(c.path.clone(), c.new.clone());
        }
    }
    // The project's configuration (excludes, limits, orchestration helpers), without the rule
    // selection: the result must pass the structural rules whatever the project ignores.
    let mut config = opts.config.clone();
    config.ignore.clear();
    config.extend_select.clear();
    config.per_file_ignores.clear();
    let copts = crate::engine::CheckOptions {
        paths: vec![root.to_path_buf()],
        config,
        select: Some(selectors.to_vec()),
        // JOB007 (repeated notebook tasks) is the shape `--to tasks` asks for.
        ignore: vec!["JOB007".into()],
        report_scope: crate::engine::ReportScope::Bundle,
        overlay: Some(std::sync::Arc::new(overlay)),
        ..Default::default()
    };
    let res = crate::engine::check(&copts).map_err(|e| e.to_string())?;
    Ok(res
        .messages
        .iter()
        .map(|m| {
            let blocking = m.severity == crate::diagnostic::Severity::Error
                || ["FE", "JOB", "SCH"].iter().any(|p| m.code.starts_with(p));
            (
                m.abs_path.to_path_buf(),
                format!("{} {}", m.code, m.message),
                blocking,
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::{FileChange, NotebookOutcome, NotebookPlan, TargetShape};

    #[test]
    fn recheck_blocks_a_result_with_findings() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        std::fs::write(
            root.join("databricks.yml"),
            "bundle:\n  name: x\ninclude:\n  - resources/*.yml\n",
        )
        .unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        let nb = root.join("a.py");
        std::fs::write(&nb, "# Databricks notebook source\nx = 1\n").unwrap();
        let plan = NotebookPlan {
            notebook: nb.clone(),
            bundle_root: root.clone(),
            job_file: None,
            job_key: "a".into(),
            producer_key: "a".into(),
            producer_task: true,
            fanouts: Vec::new(),
            refusals: Vec::new(),
            explain: Vec::new(),
            after: None,
        };
        let good = FileChange {
            path: nb.clone(),
            old: None,
            new: "# Databricks notebook source\nx = 2\n".into(),
        };
        // A For Each nested in a For Each and a concurrency over 100: the engine must object.
        let bad_yaml = "resources:\n  jobs:\n    a:\n      name: a\n      tasks:\n        - task_key: t\n          for_each_task:\n            inputs: '[1]'\n            concurrency: 500\n            task:\n              task_key: u\n              notebook_task:\n                notebook_path: ../a.py\n";
        let mut result = MigrateResult {
            to: TargetShape::Auto,
            outcomes: vec![NotebookOutcome {
                plan,
                changes: vec![
                    good,
                    FileChange {
                        path: root.join("resources/a.job.yml"),
                        old: None,
                        new: bad_yaml.into(),
                    },
                ],
                blocked: Vec::new(),
                warnings: Vec::new(),
                notes: Vec::new(),
                manual: None,
            }],
            errors: Vec::new(),
        };
        assert!(result.pending());
        recheck(&mut result, &MigrateOptions::default());
        let o = &result.outcomes[0];
        assert!(
            o.blocked.iter().any(|b| b.contains("FE001")),
            "{:?}",
            o.blocked
        );
        assert!(!result.pending());
        // Nothing was written to the real project.
        assert!(!root.join("resources").exists());
    }
}
