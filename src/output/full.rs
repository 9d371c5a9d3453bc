//! Human output: rich snippets (annotate-snippets, the renderer of rustc and ruff) or concise
//! one-line findings, then a summary line.

use std::io::Write;

use annotate_snippets::renderer::DecorStyle;
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use ruff_text_size::TextRange;

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

/// Source text to show for a span: the cell for `.ipynb` (with its own line numbers),
/// the whole file otherwise. Returns (text, offset of text in the document, first line).
fn snippet_source(doc: &Document, range: TextRange) -> (&str, usize, usize) {
    if doc.kind == FileKind::Ipynb {
        if let Some(cell) = doc.cell_at(range.start()) {
            return (&doc.text[cell.range], usize::from(cell.range.start()), 1);
        }
    }
    (&doc.text, 0, 1)
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
        let rendered: Vec<String> = result
            .messages
            .par_iter()
            .map(|m| render_message(&renderer, m, result))
            .collect();
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
        let (src, off, line_start) = snippet_source(doc, m.span.range);
        let mut snip = Snippet::source(src)
            .line_start(line_start)
            .path(path_label)
            .fold(true)
            .annotation(AnnotationKind::Primary.span(clamp(m.span.range, off, src.len())));
        for r in &m.related {
            let Some(d) = result.document(&r.abs_path) else {
                continue;
            };
            let same_view = std::ptr::eq(&**d, &**doc)
                && (doc.kind != FileKind::Ipynb || r.span.cell == m.span.cell);
            if same_view {
                snip = snip.annotation(
                    AnnotationKind::Context
                        .span(clamp(r.span.range, off, src.len()))
                        .label(r.message.as_str()),
                );
            } else {
                let (s2, o2, l2) = snippet_source(d, r.span.range);
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
