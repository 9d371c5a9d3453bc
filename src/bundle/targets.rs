//! Which targets a run checks, as the CLI selects them (`bundle/config/mutator/select_target.go`,
//! `select_default_target.go`):
//! - `--target X`: the target `X`. In a run over several bundles, a bundle that does not define
//!   `X` is checked with its own default and a note says so (the CLI would stop on it, but the
//!   option is meant for the bundles that define it); when no bundle defines `X` it is a usage
//!   error.
//! - no `--target`: the target marked `default: true`, else the only target. With several
//!   targets and none marked default the CLI stops ("please specify target"); bricklint checks
//!   every target instead, reports each finding once, and names the targets a finding occurs
//!   in when it does not occur in all of them (a note in the summary says so).

use std::path::PathBuf;
use std::sync::Arc;

use super::error::LoadError;
use super::Bundle;
use crate::diagnostic::Diagnostic;

/// The most targets checked one by one (each is a full load of the bundle).
pub const MAX_EVERY_TARGET: usize = 32;

/// Separates a finding's message from the target it was found in, between the rules of a
/// bundle loaded once per target and [`merge_target_findings`]. Never shown.
const MARK: char = '\u{1f}';

/// The bundles of one root loaded once per target: mark them (see [`Bundle::every_target`]).
pub(super) fn mark_variants(variants: &mut [Bundle]) {
    let all: Vec<String> = variants.iter().filter_map(|b| b.target.clone()).collect();
    let all = Arc::new(all);
    for (i, b) in variants.iter_mut().enumerate() {
        b.every_target = Some(all.clone());
        if i == 0 {
            b.notes.push(format!(
                "{}: no --target and no default target: every target was checked ({}); a finding that occurs in some of them only names them (`databricks bundle validate` asks for --target here)",
                crate::source::display_path(&b.root_file),
                all.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            ));
        }
    }
}

/// The suffix naming `targets` of `all`, empty when a finding occurs in every target.
fn suffix(targets: &[String], all: &[String]) -> String {
    if all.iter().all(|t| targets.contains(t)) {
        return String::new();
    }
    let names: Vec<String> = all
        .iter()
        .filter(|t| targets.contains(t))
        .map(|t| format!("`{t}`"))
        .collect();
    if names.len() == 1 {
        format!(" (in target {} only)", names[0])
    } else {
        format!(" (in targets {})", names.join(", "))
    }
}

/// The load errors of the variants of one root, each once, naming the targets it occurs in.
pub(super) fn merge_target_errors(
    per_target: Vec<(String, Vec<LoadError>)>,
    all: &[String],
) -> Vec<LoadError> {
    let mut out: Vec<(LoadError, Vec<String>)> = Vec::new();
    for (target, errors) in per_target {
        for e in errors {
            let same = out.iter_mut().find(|(o, _)| {
                o.file == e.file && o.range == e.range && o.message == e.message && o.kind == e.kind
            });
            match same {
                Some((_, ts)) => ts.push(target.clone()),
                None => out.push((e, vec![target.clone()])),
            }
        }
    }
    out.into_iter()
        .map(|(mut e, ts)| {
            e.message.push_str(&suffix(&ts, all));
            e
        })
        .collect()
}

/// Mark the findings of a bundle's rules with its target when the bundle is one of the
/// variants of a root checked for every target (engine hook, after each rule).
pub fn mark_target(b: &Bundle, findings: &mut [Diagnostic]) {
    let (Some(_), Some(t)) = (&b.every_target, &b.target) else {
        return;
    };
    for d in findings {
        d.message.push(MARK);
        d.message.push_str(t);
        d.message.push(MARK);
        d.message.push_str(&b.root_file.to_string_lossy());
    }
}

/// The findings of all bundle rules: those of variants (see [`mark_target`]) reported once,
/// naming the targets they occur in when not all (engine hook).
pub fn merge_target_findings(bundles: &[Bundle], findings: Vec<Diagnostic>) -> Vec<Diagnostic> {
    type Key = (
        &'static str,
        Arc<PathBuf>,
        ruff_text_size::TextRange,
        String,
        String,
    );
    let mut out: Vec<Diagnostic> = Vec::with_capacity(findings.len());
    let mut groups: Vec<(Key, Diagnostic, Vec<String>)> = Vec::new();
    let mut index: crate::fasthash::HashMap<Key, usize> = Default::default();
    for mut d in findings {
        let Some((message, rest)) = d.message.split_once(MARK) else {
            out.push(d);
            continue;
        };
        let (target, root) = rest.split_once(MARK).unwrap_or((rest, ""));
        let (message, target, root) = (message.to_string(), target.to_string(), root.to_string());
        d.message = message.clone();
        let key: Key = (d.code, d.path.clone(), d.range, message, root);
        match index.get(&key) {
            Some(&i) => groups[i].2.push(target),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, d, vec![target]));
            }
        }
    }
    for ((_, _, _, _, root), mut d, targets) in groups {
        let all = bundles
            .iter()
            .find(|b| b.root_file.to_string_lossy() == root.as_str())
            .and_then(|b| b.every_target.clone())
            .unwrap_or_default();
        d.message.push_str(&suffix(&targets, &all));
        out.push(d);
    }
    out
}

/// The notes of a run about the targets checked, once each (for the summary).
pub fn notes(bundles: &[Bundle]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in bundles.iter().flat_map(|b| &b.notes) {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}
