//! Human output: rich snippets (annotate-snippets, the renderer of rustc and ruff) or concise
//! one-line findings, then a summary line.

use std::io::Write;

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::{Message, Severity, Span};
use crate::engine::CheckResult;
use crate::source::{Document, FileKind};

fn level(sev: Severity) -> Level<'static> {
    match sev {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

/// `path:line:col` (with the cell for notebooks: `path:cell 3:2:5` for `.ipynb`).
pub fn location(span: &Span, kind: Option<&FileKind>) -> String {
    match (kind, span.cell) {
        (Some(FileKind::Ipynb), Some(c)) => {
            format!("{}:cell {}:{}:{}", span.path, c, span.line, span.column)
        }
        _ => format!("{}:{}:{}", span.path, span.line, span.column),
    }
}

/// The view a span is shown in: its cell for `.ipynb` (with the cell's own line numbers), the
/// whole file otherwise, as (start offset, end offset, 1-based number of the view's first line).
fn view_of(doc: &Document, range: TextRange) -> (usize, usize, usize) {
    if doc.kind == FileKind::Ipynb {
        if let Some(cell) = doc.cell_at(range.start()) {
            let first = doc.lines().line_of(cell.range.start());
            return (cell.range.start().into(), cell.range.end().into(), first);
        }
    }
    (0, doc.text.len(), 0)
}

/// Source text to show for annotations at `ranges` (all in the view of the first): whole lines
/// from the first annotated line to one line past the last, clipped to the view. The renderer
/// folds every unannotated line away, so a window renders exactly like the whole view, without
/// a cost per finding proportional to the size of the file.
/// Returns (text, offset of text in the document, its first line number).
fn snippet_source<'d>(doc: &'d Document, ranges: &[TextRange]) -> (&'d str, usize, usize) {
    let (vs, ve, view_first) = view_of(doc, ranges[0]);
    let clip = |o: TextSize| usize::from(o).clamp(vs, ve);
    let lo = ranges.iter().map(|r| clip(r.start())).min().unwrap_or(vs);
    let hi = ranges.iter().map(|r| clip(r.end())).max().unwrap_or(ve);
    let first = doc.lines().line_of(TextSize::new(lo as u32));
    let last = doc.lines().line_of(TextSize::new(hi as u32)) + 2;
    let start = usize::from(doc.lines().line_start(first)).max(vs);
    let end = if last < doc.lines().line_count() {
        usize::from(doc.lines().line_start(last)).min(ve)
    } else {
        ve
    };
    (&doc.text[start..end], start, first - view_first + 1)
}

fn clamp(range: TextRange, offset: usize, len: usize) -> std::ops::Range<usize> {
    let s = usize::from(range.start()).saturating_sub(offset).min(len);
    let e = usize::from(range.end())
        .saturating_sub(offset)
        .min(len)
        .max(s);
    s..e
}

pub fn render(
    result: &CheckResult,
    opts: &super::RenderOptions,
    w: &mut dyn Write,
    concise: bool,
) -> std::io::Result<()> {
    let renderer = if opts.color {
        Renderer::styled().decor_style(DecorStyle::Ascii)
    } else {
        Renderer::plain().decor_style(DecorStyle::Ascii)
    };
    if !concise {
        // Snippets are rendered in parallel (thousands of findings take tens of milliseconds
        // each way), then written in order.
        use rayon::prelude::*;
        // On the analysis threads: their heaps hold the memory the analysis freed (a new pool
        // would fault in fresh pages for every snippet).
        let render_all = || -> Vec<String> {
            result
                .messages
                .par_iter()
                .map(|m| render_message(&renderer, m, result))
                .collect()
        };
        let rendered = match crate::engine::analysis_pool() {
            Some(pool) => pool.install(render_all),
            None => render_all(),
        };
        for r in rendered {
            writeln!(w, "{r}")?;
            writeln!(w)?;
        }
    }
    for m in result.messages.iter().filter(|_| concise) {
        let doc = result.document(&m.abs_path);
        writeln!(
            w,
            "{}: {} [{}] {}",
            location(&m.span, doc.map(|d| &d.kind)),
            m.code,
            m.severity.as_str(),
            m.message
        )?;
    }
    if opts.summary {
        summary(result, opts, w)?;
    }
    Ok(())
}

fn render_message(renderer: &Renderer, m: &Message, result: &CheckResult) -> String {
    let doc = result.document(&m.abs_path);
    let title = level(m.severity)
        .primary_title(m.message.as_str())
        .id(m.code);
    let mut group = Group::with_title(title);
    let mut others: Vec<Snippet<'_, annotate_snippets::Annotation<'_>>> = Vec::new();
    let path_label = match (doc.map(|d| &d.kind), m.span.cell) {
        (Some(FileKind::Ipynb), Some(c)) => format!("{}:cell {}", m.span.path, c),
        _ => m.span.path.clone(),
    };
    if let Some(doc) = doc {
        let same_view = |r: &crate::diagnostic::RelatedMessage| {
            result.document(&r.abs_path).is_some_and(|d| {
                std::ptr::eq(&**d, &**doc)
                    && (doc.kind != FileKind::Ipynb || r.span.cell == m.span.cell)
            })
        };
        let ranges: Vec<TextRange> = std::iter::once(m.span.range)
            .chain(
                m.related
                    .iter()
                    .filter(|r| same_view(r))
                    .map(|r| r.span.range),
            )
            .collect();
        let (src, off, line_start) = snippet_source(doc, &ranges);
        let mut snip = Snippet::source(src)
            .line_start(line_start)
            .path(path_label)
            .fold(true)
            .annotation(AnnotationKind::Primary.span(clamp(m.span.range, off, src.len())));
        for r in &m.related {
            let Some(d) = result.document(&r.abs_path) else {
                continue;
            };
            if same_view(r) {
                snip = snip.annotation(
                    AnnotationKind::Context
                        .span(clamp(r.span.range, off, src.len()))
                        .label(r.message.as_str()),
                );
            } else {
                let (s2, o2, l2) = snippet_source(d, &[r.span.range]);
                let p = match (d.kind == FileKind::Ipynb, r.span.cell) {
                    (true, Some(c)) => format!("{}:cell {}", r.span.path, c),
                    _ => r.span.path.clone(),
                };
                others.push(
                    Snippet::source(s2)
                        .line_start(l2)
                        .path(p)
                        .fold(true)
                        .annotation(
                            AnnotationKind::Context
                                .span(clamp(r.span.range, o2, s2.len()))
                                .label(r.message.as_str()),
                        ),
                );
            }
        }
        group = group.element(snip);
        for o in others {
            group = group.element(o);
        }
    } else {
        group = group.element(annotate_snippets::Origin::path(m.span.path.clone()));
    }
    if let Some(route) = &m.route {
        group = group.element(Level::NOTE.message(format!("at `{route}`")));
    }
    if let Some(help) = &m.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    if let Some(fix) = &m.fix {
        group = group.element(Level::HELP.message(format!(
            "fix ({}): {}",
            match fix.applicability {
                crate::diagnostic::Applicability::Safe => "safe",
                crate::diagnostic::Applicability::Unsafe => "unsafe",
                crate::diagnostic::Applicability::DisplayOnly => "manual",
            },
            fix.title
        )));
    }
    renderer.render(&[group])
}

pub fn summary(
    result: &CheckResult,
    opts: &super::RenderOptions,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let (e, wa, i) = super::counts(&result.messages);
    let total = e + wa + i;
    let fix_app = |a: crate::diagnostic::Applicability| {
        result
            .messages
            .iter()
            .filter(|m| m.fix.as_ref().is_some_and(|f| f.applicability == a))
            .count()
    };
    let fixable = fix_app(crate::diagnostic::Applicability::Safe);
    let unsafe_fixable = fix_app(crate::diagnostic::Applicability::Unsafe);
    if opts.fixed > 0 {
        writeln!(
            w,
            "Fixed {} finding{}.",
            opts.fixed,
            if opts.fixed == 1 { "" } else { "s" }
        )?;
    }
    if total == 0 {
        writeln!(
            w,
            "All checks passed ({} file{} analysed).",
            result.files,
            if result.files == 1 { "" } else { "s" }
        )?;
    } else {
        let mut fx = String::new();
        if fixable > 0 {
            fx.push_str(&format!(" {fixable} fixable with `--fix`."));
        }
        if unsafe_fixable > 0 {
            let more = if fixable > 0 { " more" } else { "" };
            fx.push_str(&format!(
                " {unsafe_fixable}{more} fixable with `--fix --unsafe-fixes`."
            ));
        }
        writeln!(
            w,
            "Found {total} finding{} ({e} error{}, {wa} warning{}, {i} info) in {} file{} analysed.{fx}",
            if total == 1 { "" } else { "s" },
            if e == 1 { "" } else { "s" },
            if wa == 1 { "" } else { "s" },
            result.files,
            if result.files == 1 { "" } else { "s" },
        )?;
    }
    Ok(())
}
