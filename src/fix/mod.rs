//! Applying fixes: edits of the selected applicability, applied per file until they converge;
//! `--diff` prints a unified diff instead of writing.
//!
//! The model is ruff's: a [`Fix`] is data (edits + [`Applicability`]). `--fix` applies `Safe`
//! fixes, `--unsafe-fixes` adds `Unsafe` ones, `DisplayOnly` fixes are never applied. A fix is
//! applied whole or not at all: when one of its edits overlaps an edit already accepted in this
//! pass (in any file) the fix waits for the next pass. After writing, the project is checked
//! again and the new fixes are applied, until no fix applies (at most [`MAX_PASSES`] passes).
//!
//! Edit ranges are offsets into the document text (the file itself, except for `.ipynb`, where
//! the text is the cells joined by `\n`: each edit must stay inside one cell, and the notebook
//! JSON is written back with the changed cells' `source`). Files are written atomically: a
//! temporary file in the same directory, then a rename over the original. A file changed on
//! disk since it was read is not written (error).
//!
//! `--diff` computes the first pass in memory and prints a unified diff; it writes nothing.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use ruff_text_size::TextRange;

use crate::diagnostic::{Applicability, Edit, Fix};
use crate::engine::{CheckOptions, CheckResult};
use crate::source::{Document, FileKind};

/// Safety net against fixes that keep producing fixes.
pub const MAX_PASSES: usize = 10;

#[derive(Debug, Default)]
pub struct FixReport {
    /// Number of fixes applied (or that `--diff` would apply).
    pub fixed: usize,
    /// Unified diff of all changes (only with `--diff`).
    pub diff: String,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// True when the loop stopped at [`MAX_PASSES`] with fixes still applicable.
    pub not_converged: bool,
}

fn applies(fix: &Fix, unsafe_fixes: bool) -> bool {
    match fix.applicability {
        Applicability::Safe => true,
        Applicability::Unsafe => unsafe_fixes,
        Applicability::DisplayOnly => false,
    }
}

fn overlaps(a: TextRange, b: TextRange) -> bool {
    // Two insertions at the same point conflict too (their order would be arbitrary).
    let cross = a.start() < b.end() && b.start() < a.end();
    let same_point =
        (a.is_empty() && a.start() == b.start()) || (b.is_empty() && b.start() == a.start());
    cross || a == b || same_point
}

/// Choose the fixes of one pass: in order, each fix whose edits overlap no edit chosen before.
pub fn select<'a>(fixes: impl IntoIterator<Item = &'a Fix>, unsafe_fixes: bool) -> Vec<&'a Fix> {
    let mut taken: BTreeMap<&Path, Vec<TextRange>> = BTreeMap::new();
    let mut chosen = Vec::new();
    let mut seen: HashSet<*const Fix> = HashSet::new();
    for fix in fixes {
        if !applies(fix, unsafe_fixes) || fix.edits.is_empty() || !seen.insert(fix) {
            continue;
        }
        // The edits of one fix must not overlap each other either.
        let mut own: Vec<(&Path, TextRange)> = Vec::new();
        let ok = fix.edits.iter().all(|e| {
            let clash = taken
                .get(e.path.as_path())
                .is_some_and(|v| v.iter().any(|r| overlaps(*r, e.range)))
                || own
                    .iter()
                    .any(|(p, r)| *p == e.path.as_path() && overlaps(*r, e.range));
            own.push((e.path.as_path(), e.range));
            !clash
        });
        if ok {
            for (p, r) in own {
                taken.entry(p).or_default().push(r);
            }
            chosen.push(fix);
        }
    }
    chosen
}

/// Apply non-overlapping edits to a text. Edits out of bounds or not on char boundaries are an
/// error.
pub fn apply_edits(text: &str, edits: &[&Edit]) -> Result<String, String> {
    let mut sorted: Vec<&Edit> = edits.to_vec();
    sorted.sort_by_key(|e| (e.range.start(), e.range.end()));
    let mut out = String::with_capacity(text.len());
    let mut last = 0usize;
    for e in sorted {
        let (s, t) = (usize::from(e.range.start()), usize::from(e.range.end()));
        if s < last || t > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(t) {
            return Err(format!(
                "invalid edit {}..{} in {} (text is {} bytes)",
                s,
                t,
                e.path.display(),
                text.len()
            ));
        }
        out.push_str(&text[last..s]);
        out.push_str(&e.content);
        last = t;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// The new `.ipynb` JSON after applying edits to its document text. Each edit must lie inside one
/// cell; the changed cells' `source` values are re-encoded in place, every other byte is kept.
pub fn ipynb_write_back(doc: &Document, edits: &[&Edit]) -> Result<String, String> {
    let raw = doc.raw.as_deref().ok_or("notebook JSON is not available")?;
    let mut per_cell: BTreeMap<usize, Vec<&Edit>> = BTreeMap::new();
    for e in edits {
        let cell = doc
            .cells
            .iter()
            .find(|c| c.range.contains_range(e.range))
            .ok_or_else(|| {
                format!(
                    "an edit of {} spans several notebook cells",
                    e.path.display()
                )
            })?;
        per_cell.entry(cell.index).or_default().push(e);
    }
    let mut sources = Vec::with_capacity(per_cell.len());
    for (index, edits) in per_cell {
        let cell = &doc.cells[index];
        let shifted: Vec<Edit> = edits
            .iter()
            .map(|e| Edit {
                path: e.path.clone(),
                range: e.range - cell.range.start(),
                content: e.content.clone(),
            })
            .collect();
        let refs: Vec<&Edit> = shifted.iter().collect();
        sources.push((index, apply_edits(&doc.text[cell.range], &refs)?));
    }
    crate::source::ipynb::patch_sources(raw, &sources)
}

/// The new contents of a loaded file after edits in its document text: the text itself for
/// source files, the notebook JSON with the edited cells' `source` patched for `.ipynb`. With no
/// edits (or edits that change nothing) the file's bytes come back unchanged.
pub fn write_back(doc: &Document, edits: &[&Edit]) -> Result<String, String> {
    if doc.kind == FileKind::Ipynb {
        ipynb_write_back(doc, edits)
    } else {
        apply_edits(&doc.text, edits)
    }
}

/// Write `content` to `path` atomically (see [`crate::fsutil::atomic_write`]), creating missing
/// parent directories first.
pub fn write_atomic(path: &Path, content: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::fsutil::atomic_write(path, content.as_bytes())
}

/// A file's path, its text on disk (`None` when it does not exist) and its new text.
type FileChange = (PathBuf, Option<String>, String);

/// One pass: the new contents of every file touched by the chosen fixes.
/// Returns (path, old text on disk, new text) per file, and the number of fixes.
fn plan_pass(result: &CheckResult, unsafe_fixes: bool) -> Result<(Vec<FileChange>, usize), String> {
    let chosen = select(
        result.messages.iter().filter_map(|m| m.fix.as_ref()),
        unsafe_fixes,
    );
    let mut by_file: BTreeMap<&Path, Vec<&Edit>> = BTreeMap::new();
    for f in &chosen {
        for e in &f.edits {
            by_file.entry(e.path.as_path()).or_default().push(e);
        }
    }
    let mut changes = Vec::new();
    for (path, edits) in by_file {
        let on_disk = match std::fs::read(path) {
            Ok(b) => Some(String::from_utf8(b).map_err(|_| {
                format!(
                    "{}: not UTF-8, not fixed",
                    crate::source::display_path(path)
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(format!(
                    "{}: cannot read: {e}",
                    crate::source::display_path(path)
                ))
            }
        };
        let new = match result.document(path) {
            Some(doc) if doc.kind == FileKind::Ipynb => {
                if on_disk.as_deref() != doc.raw.as_deref() {
                    return Err(format!(
                        "{}: changed on disk during the run, not fixed",
                        doc.display_path()
                    ));
                }
                write_back(doc, &edits)?
            }
            Some(doc) => {
                if on_disk.as_deref() != Some(doc.text.as_str()) {
                    return Err(format!(
                        "{}: changed on disk during the run, not fixed",
                        doc.display_path()
                    ));
                }
                write_back(doc, &edits)?
            }
            // A file the run did not load (a fix that creates or edits another file).
            None => apply_edits(on_disk.as_deref().unwrap_or(""), &edits)?,
        };
        if on_disk.as_deref() != Some(new.as_str()) {
            changes.push((path.to_path_buf(), on_disk, new));
        }
    }
    Ok((changes, chosen.len()))
}

/// Unified diff of one file (`--- a/path` / `+++ b/path`).
pub fn unified_diff(path: &Path, old: Option<&str>, new: &str) -> String {
    let display = crate::source::display_path(path);
    // Paths outside the working directory stay absolute: `a/` + `/x` would read `a//x`.
    let display = display.strip_prefix('/').unwrap_or(&display);
    let old_name = if old.is_some() {
        format!("a/{display}")
    } else {
        "/dev/null".to_string()
    };
    similar::TextDiff::from_lines(old.unwrap_or(""), new)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{display}"))
        .to_string()
}

/// Apply (or with `diff_only`, show) the fixes of a check result. With `--fix`, `result` is
/// replaced by a fresh check of the fixed files.
pub fn apply_fixes(
    opts: &CheckOptions,
    result: &mut CheckResult,
    unsafe_fixes: bool,
    diff_only: bool,
) -> Result<FixReport, String> {
    let mut report = FixReport::default();
    if diff_only {
        let (changes, n) = plan_pass(result, unsafe_fixes)?;
        report.fixed = n;
        for (path, old, new) in &changes {
            report
                .diff
                .push_str(&unified_diff(path, old.as_deref(), new));
        }
        return Ok(report);
    }
    let mut written: Vec<PathBuf> = Vec::new();
    for pass in 0..MAX_PASSES {
        let (changes, n) = plan_pass(result, unsafe_fixes)?;
        if n == 0 || changes.is_empty() {
            break;
        }
        for (path, _, new) in &changes {
            write_atomic(path, new).map_err(|e| {
                format!(
                    "{}: cannot write the fix: {e}",
                    crate::source::display_path(path)
                )
            })?;
            if !written.contains(path) {
                written.push(path.clone());
            }
        }
        report.fixed += n;
        *result = crate::engine::check(opts).map_err(|e| e.to_string())?;
        if pass + 1 == MAX_PASSES {
            report.not_converged = result
                .messages
                .iter()
                .any(|m| m.fix.as_ref().is_some_and(|f| applies(f, unsafe_fixes)));
        }
    }
    report.files = written;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruff_text_size::TextSize;
    use serde_json::Value;
    use std::sync::Arc;

    fn edit(path: &str, s: u32, e: u32, content: &str) -> Edit {
        Edit {
            path: PathBuf::from(path),
            range: TextRange::new(TextSize::new(s), TextSize::new(e)),
            content: content.into(),
        }
    }

    fn fix(app: Applicability, edits: Vec<Edit>) -> Fix {
        Fix {
            title: "t".into(),
            applicability: app,
            edits,
        }
    }

    #[test]
    fn applies_edits_in_offset_order() {
        let a = edit("f", 6, 11, "there");
        let b = edit("f", 0, 0, ">> ");
        assert_eq!(
            apply_edits("hello world", &[&a, &b]).unwrap(),
            ">> hello there"
        );
        let bad = edit("f", 3, 99, "");
        assert!(apply_edits("abc", &[&bad]).is_err());
    }

    #[test]
    fn select_respects_applicability_and_overlaps() {
        let safe = fix(Applicability::Safe, vec![edit("a", 0, 5, "x")]);
        let overlapping = fix(Applicability::Safe, vec![edit("a", 3, 8, "y")]);
        let other_file = fix(Applicability::Safe, vec![edit("b", 3, 8, "y")]);
        let unsafe_ = fix(Applicability::Unsafe, vec![edit("a", 10, 12, "z")]);
        let display = fix(Applicability::DisplayOnly, vec![edit("a", 20, 22, "z")]);
        let all = [&safe, &overlapping, &other_file, &unsafe_, &display];
        let chosen = select(all.iter().copied(), false);
        assert_eq!(chosen.len(), 2);
        assert!(std::ptr::eq(chosen[0], &safe) && std::ptr::eq(chosen[1], &other_file));
        let chosen = select(all.iter().copied(), true);
        assert_eq!(chosen.len(), 3, "unsafe fixes with --unsafe-fixes");
        // Two insertions at the same point: only the first.
        let i1 = fix(Applicability::Safe, vec![edit("a", 4, 4, "1")]);
        let i2 = fix(Applicability::Safe, vec![edit("a", 4, 4, "2")]);
        assert_eq!(select([&i1, &i2], false).len(), 1);
        // Adjacent edits do not overlap.
        let x1 = fix(Applicability::Safe, vec![edit("a", 0, 4, "1")]);
        let x2 = fix(Applicability::Safe, vec![edit("a", 4, 6, "2")]);
        assert_eq!(select([&x1, &x2], false).len(), 2);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nb.py");
        std::fs::write(&p, "old").unwrap();
        write_atomic(&p, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn ipynb_edits_rewrite_only_the_cell_source() {
        let raw = "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {},\n   \"source\": [\n    \"x = 1\\n\",\n    \"y = 2\"\n   ]\n  },\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {},\n   \"source\": \"z = 3\\n\"\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n";
        let path = Arc::new(PathBuf::from("t.ipynb"));
        let doc = crate::source::ipynb::parse_ipynb(path, raw.to_string()).unwrap();
        assert_eq!(doc.text, "x = 1\ny = 2\nz = 3\n");
        // `y = 2` -> `y = 20\nw = 0`, `z` -> `zz`.
        let e1 = edit("t.ipynb", 10, 11, "20\nw = 0");
        let e2 = edit("t.ipynb", 12, 13, "zz");
        let out = ipynb_write_back(&doc, &[&e1, &e2]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["cells"][0]["source"],
            serde_json::json!(["x = 1\n", "y = 20\n", "w = 0"])
        );
        assert_eq!(v["cells"][1]["source"], "zz = 3\n");
        assert!(out.starts_with("{\n \"cells\": [\n  {\n"), "{out}");
        assert!(out.ends_with("}\n"));
        // No edit: the same file back.
        assert_eq!(ipynb_write_back(&doc, &[]).unwrap(), raw);
        // An edit across the cell separator is refused.
        let across = edit("t.ipynb", 10, 14, "");
        assert!(ipynb_write_back(&doc, &[&across]).is_err());
    }

    /// Check a directory and give the first finding a fix that closes the bracket at `at`.
    fn checked_with_fix(dir: &Path, app: Applicability, at: &str) -> (CheckOptions, CheckResult) {
        // NB001 named: every Python cell of the directory is parsed (`syntax-check`).
        let opts = CheckOptions {
            paths: vec![dir.to_path_buf()],
            select: Some(vec!["NB001".into()]),
            ..Default::default()
        };
        let mut result = crate::engine::check(&opts).unwrap();
        assert_eq!(result.messages.len(), 1, "one NB001 expected");
        let m = &mut result.messages[0];
        let doc = result.project.document(&m.abs_path).unwrap();
        let off = doc.text.find(at).unwrap() + at.len();
        m.fix = Some(Fix {
            title: "close the bracket".into(),
            applicability: app,
            edits: vec![Edit {
                path: m.abs_path.to_path_buf(),
                range: TextRange::empty(TextSize::new(off as u32)),
                content: ")".into(),
            }],
        });
        (opts, result)
    }

    const BROKEN: &str = "# Databricks notebook source\nx = (1, 2\n";

    #[test]
    fn fix_writes_rechecks_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nb.py");
        std::fs::write(&p, BROKEN).unwrap();
        let (opts, mut result) = checked_with_fix(dir.path(), Applicability::Safe, "1, 2");
        let report = apply_fixes(&opts, &mut result, false, false).unwrap();
        assert_eq!(report.fixed, 1);
        assert_eq!(report.files, vec![p.clone()]);
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "# Databricks notebook source\nx = (1, 2)\n"
        );
        assert!(result.messages.is_empty(), "re-checked after the fix");
        assert!(!report.not_converged);
    }

    #[test]
    fn unsafe_fix_needs_the_flag_and_diff_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nb.py");
        std::fs::write(&p, BROKEN).unwrap();
        let (opts, mut result) = checked_with_fix(dir.path(), Applicability::Unsafe, "1, 2");
        let report = apply_fixes(&opts, &mut result, false, false).unwrap();
        assert_eq!(report.fixed, 0);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), BROKEN);
        let report = apply_fixes(&opts, &mut result, true, true).unwrap();
        assert_eq!(report.fixed, 1);
        assert!(
            report.diff.contains("-x = (1, 2\n+x = (1, 2)\n"),
            "{}",
            report.diff
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), BROKEN, "--diff wrote");
    }

    #[test]
    fn a_file_changed_since_the_check_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nb.py");
        std::fs::write(&p, BROKEN).unwrap();
        let (opts, mut result) = checked_with_fix(dir.path(), Applicability::Safe, "1, 2");
        std::fs::write(&p, "# Databricks notebook source\nx = 3\n").unwrap();
        let err = apply_fixes(&opts, &mut result, false, false).unwrap_err();
        assert!(err.contains("changed on disk"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "# Databricks notebook source\nx = 3\n"
        );
    }

    #[test]
    fn ipynb_fix_is_written_back_as_notebook_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nb.ipynb");
        let nb = serde_json::json!({
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": ["# T"]},
                {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
                 "source": ["import os\n", "x = (1, 2\n"]}
            ],
            "metadata": {"language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5
        });
        std::fs::write(&p, serde_json::to_string_pretty(&nb).unwrap() + "\n").unwrap();
        let (opts, mut result) = checked_with_fix(dir.path(), Applicability::Safe, "1, 2");
        let report = apply_fixes(&opts, &mut result, false, false).unwrap();
        assert_eq!(report.fixed, 1);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(
            v["cells"][1]["source"],
            serde_json::json!(["import os\n", "x = (1, 2)\n"])
        );
        assert_eq!(v["cells"][0], nb["cells"][0]);
        assert!(result.messages.is_empty());
    }

    #[test]
    fn diff_has_headers_and_hunks() {
        let d = unified_diff(Path::new("x.py"), Some("a\nb\n"), "a\nc\n");
        assert!(d.contains("--- a/x.py\n+++ b/x.py\n"), "{d}");
        assert!(d.contains("-b\n+c\n"), "{d}");
        let created = unified_diff(Path::new("y.py"), None, "new\n");
        assert!(
            created.starts_with("--- /dev/null\n+++ b/y.py\n"),
            "{created}"
        );
    }
}
