//! From raw diagnostics to reported messages: suppression comments, per-file ignores, report
//! scope, positions (span resolution), order and duplicates.

use crate::fasthash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::{rule_url, Diagnostic, Message, RelatedMessage, Span};
use crate::project::{CheckOptions, Project, ReportScope};
use crate::source;
use crate::suppress;

use super::select::{meta_of, selector_matches, PerFile, Selection};

/// The messages to report from the raw diagnostics of a run, sorted by position, without
/// duplicates. `report_roots`: the paths given (with `--report-scope files`, only findings in
/// them are reported).
pub(super) fn report(
    project: &Project,
    opts: &CheckOptions,
    diags: Vec<Diagnostic>,
    selection: &Selection,
    per_file: &PerFile,
    report_roots: &[PathBuf],
) -> Vec<Message> {
    // Group by file, apply suppressions and per-file ignores.
    let mut by_file: HashMap<Arc<PathBuf>, Vec<Diagnostic>> = HashMap::default();
    for d in diags {
        by_file.entry(d.path.clone()).or_default().push(d);
    }
    // Documents with suppression comments but no findings still need BL001.
    if !opts.no_ignores {
        for doc in &project.documents {
            if doc.has(crate::source::Token::Suppression) {
                by_file.entry(doc.path.clone()).or_default();
            }
        }
    }
    let enabled_fn = |c: &str| selection.is_enabled(c);
    // Per file, in parallel: suppressions, per-file ignores, report scope, positions.
    let by_file: Vec<(Arc<PathBuf>, Vec<Diagnostic>)> = by_file.into_iter().collect();
    let mut messages: Vec<Message> = by_file
        .into_par_iter()
        .flat_map_iter(|(path, ds)| {
            let ds = match (opts.no_ignores, project.document(&path)) {
                (false, Some(doc)) => suppress::apply(doc, ds, &enabled_fn),
                _ => ds,
            };
            let ignored = per_file.ignored_for(&path, &project.root);
            ds.into_iter()
                .filter(move |d| !ignored.iter().any(|s| selector_matches(s, meta_of(d.code))))
                .filter(move |d| {
                    opts.report_scope != ReportScope::Files
                        || report_roots.iter().any(|r| d.path.starts_with(r))
                })
                .map(move |d| resolve(project, &d))
        })
        .collect();
    messages.par_sort_by(|a, b| {
        (&a.span.path, a.span.line, a.span.column, a.code, &a.message).cmp(&(
            &b.span.path,
            b.span.line,
            b.span.column,
            b.code,
            &b.message,
        ))
    });
    messages.dedup_by(|a, b| a.code == b.code && a.span == b.span && a.message == b.message);
    messages
}

/// Resolve a span of a file to positions (documents not loaded resolve to line 1).
pub fn resolve_span(project: &Project, path: &Path, range: TextRange) -> Span {
    let display = source::display_path(path);
    match project.document(path) {
        Some(doc) => {
            let end = TextSize::of(doc.text.as_str());
            let range = TextRange::new(range.start().min(end), range.end().min(end));
            let r = doc.resolve(range);
            Span {
                path: display,
                line: r.line,
                column: r.column,
                end_line: r.end_line,
                end_column: r.end_column,
                cell: r.cell,
                file_line: r.file_line,
                file_end_line: r.file_end_line,
                range,
            }
        }
        None => Span {
            path: display,
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            cell: None,
            file_line: 1,
            file_end_line: 1,
            range,
        },
    }
}

pub fn resolve(project: &Project, d: &Diagnostic) -> Message {
    Message {
        code: d.code,
        name: d.name,
        severity: d.severity,
        message: d.message.clone(),
        span: resolve_span(project, &d.path, d.range),
        route: d.route.clone(),
        url: rule_url(d.code),
        related: d
            .related
            .iter()
            .map(|l| RelatedMessage {
                span: resolve_span(project, &l.path, l.range),
                message: l.message.clone(),
                abs_path: l.path.clone(),
            })
            .collect(),
        help: d.help.clone(),
        fix: d.fix.clone(),
        abs_path: d.path.clone(),
    }
}
