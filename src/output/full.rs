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
                .map(|m| render_message(&renderer, opts.color, m, result))
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

/// One source excerpt of a finding: the text shown, its first line number, its path label and
/// its annotations (byte ranges in `src`; a label only on context annotations).
struct Excerpt<'a> {
    src: &'a str,
    line_start: usize,
    path: String,
    annotations: Vec<(std::ops::Range<usize>, Option<&'a str>)>,
}

/// Everything a finding renders, whichever renderer draws it.
struct Layout<'a> {
    severity: Severity,
    code: &'static str,
    message: &'a str,
    /// The first excerpt's first annotation is the primary one.
    excerpts: Vec<Excerpt<'a>>,
    /// The path alone, when the file's text is not at hand.
    origin: Option<String>,
    /// (is help, text): a `note` or a `help` line.
    footers: Vec<(bool, std::borrow::Cow<'a, str>)>,
}

fn layout<'a>(m: &'a Message, result: &'a CheckResult) -> Layout<'a> {
    let doc = result.document(&m.abs_path);
    let mut excerpts = Vec::new();
    let mut origin = None;
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
        let mut first = Excerpt {
            src,
            line_start,
            path: path_label,
            annotations: vec![(clamp(m.span.range, off, src.len()), None)],
        };
        let mut others = Vec::new();
        for r in &m.related {
            let Some(d) = result.document(&r.abs_path) else {
                continue;
            };
            if same_view(r) {
                first.annotations.push((
                    clamp(r.span.range, off, src.len()),
                    Some(r.message.as_str()),
                ));
            } else {
                let (s2, o2, l2) = snippet_source(d, &[r.span.range]);
                let p = match (d.kind == FileKind::Ipynb, r.span.cell) {
                    (true, Some(c)) => format!("{}:cell {}", r.span.path, c),
                    _ => r.span.path.clone(),
                };
                others.push(Excerpt {
                    src: s2,
                    line_start: l2,
                    path: p,
                    annotations: vec![(
                        clamp(r.span.range, o2, s2.len()),
                        Some(r.message.as_str()),
                    )],
                });
            }
        }
        excerpts.push(first);
        excerpts.extend(others);
    } else {
        origin = Some(m.span.path.clone());
    }
    let mut footers = Vec::new();
    if let Some(route) = &m.route {
        footers.push((false, format!("at `{route}`").into()));
    }
    if let Some(help) = &m.help {
        footers.push((true, help.as_str().into()));
    }
    if let Some(fix) = &m.fix {
        footers.push((
            true,
            format!(
                "fix ({}): {}",
                match fix.applicability {
                    crate::diagnostic::Applicability::Safe => "safe",
                    crate::diagnostic::Applicability::Unsafe => "unsafe",
                    crate::diagnostic::Applicability::DisplayOnly => "manual",
                },
                fix.title
            )
            .into(),
        ));
    }
    Layout {
        severity: m.severity,
        code: m.code,
        message: m.message.as_str(),
        excerpts,
        origin,
        footers,
    }
}

fn render_message(renderer: &Renderer, color: bool, m: &Message, result: &CheckResult) -> String {
    let l = layout(m, result);
    if !color {
        if let Some(s) = render_plain_simple(&l) {
            return s;
        }
    }
    render_annotated(renderer, &l)
}

/// The general renderer: annotate-snippets (rustc's and ruff's).
fn render_annotated(renderer: &Renderer, l: &Layout<'_>) -> String {
    let title = level(l.severity).primary_title(l.message).id(l.code);
    let mut group = Group::with_title(title);
    for (i, e) in l.excerpts.iter().enumerate() {
        let mut snip = Snippet::source(e.src)
            .line_start(e.line_start)
            .path(e.path.clone())
            .fold(true);
        for (k, (range, label)) in e.annotations.iter().enumerate() {
            let kind = if i == 0 && k == 0 {
                AnnotationKind::Primary
            } else {
                AnnotationKind::Context
            };
            let mut a = kind.span(range.clone());
            if let Some(label) = label {
                a = a.label(*label);
            }
            snip = snip.annotation(a);
        }
        group = group.element(snip);
    }
    if let Some(path) = &l.origin {
        group = group.element(annotate_snippets::Origin::path(path.clone()));
    }
    for (help, text) in &l.footers {
        let lv = if *help { Level::HELP } else { Level::NOTE };
        group = group.element(lv.message(text.as_ref()));
    }
    renderer.render(&[group])
}

/// The plain (uncoloured) rendering of the common shape, written directly: each excerpt holds
/// one annotation on one short line of printable ASCII, and no text has a line break. Gives
/// byte for byte what [`render_annotated`] gives (property-tested against it in
/// `simple_renderer_matches_annotate_snippets`) at a fraction of the cost; `None` for every
/// other shape.
fn render_plain_simple(l: &Layout<'_>) -> Option<String> {
    use std::fmt::Write as _;
    if l.origin.is_some() || l.excerpts.is_empty() {
        return None;
    }
    let plain = |t: &str| !t.bytes().any(|b| b < 0x20 || b == 0x7f);
    if !plain(l.message) || !l.footers.iter().all(|(_, t)| plain(t)) {
        return None;
    }
    // (line number, line text, column of the span, span width, label)
    let mut rows = Vec::with_capacity(l.excerpts.len());
    for e in &l.excerpts {
        let [(range, label)] = e.annotations.as_slice() else {
            return None;
        };
        if label.is_some_and(|t| !plain(t) || !t.is_ascii()) || !plain(&e.path) {
            return None;
        }
        let bytes = e.src.as_bytes();
        let ls = memchr::memrchr(b'\n', &bytes[..range.start]).map_or(0, |i| i + 1);
        let le = memchr::memchr(b'\n', &bytes[ls..]).map_or(bytes.len(), |i| ls + i);
        let line = &e.src[ls..le];
        let indent = line.len() - line.trim_start_matches(' ').len();
        let label_len = label.map_or(0, |t| t.len() + 1);
        if range.end > le
            || range.start >= bytes.len()
            || !line.bytes().all(|b| (0x20..0x7f).contains(&b))
            || indent > 20
            || line.len() > 100
            || range.end - ls + label_len > 100
        {
            return None;
        }
        let number = e.line_start + memchr::memchr_iter(b'\n', &bytes[..ls]).count();
        rows.push((number, line, range.start - ls, range.len(), *label));
    }
    let width = rows.iter().map(|r| r.0.to_string().len()).max()?;
    let pad = " ".repeat(width);
    let level = match l.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let mut out = String::with_capacity(256);
    let _ = write!(out, "{level}[{}]: {}", l.code, l.message);
    for (i, (e, (number, line, col, len, label))) in l.excerpts.iter().zip(&rows).enumerate() {
        let arrow = if i == 0 { "-->" } else { ":::" };
        if i > 0 {
            let _ = write!(out, "\n{pad} |");
        }
        let _ = write!(
            out,
            "\n{pad}{arrow} {}:{number}:{}\n{pad} |\n{number:>width$} |",
            e.path,
            col + 1,
        );
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        let _ = write!(out, "\n{pad} | {}", " ".repeat(*col));
        let mark = if i == 0 { "^" } else { "-" };
        out.push_str(&mark.repeat((*len).max(1)));
        if let Some(label) = label.filter(|t| !t.is_empty()) {
            out.push(' ');
            out.push_str(label);
        }
    }
    if !l.footers.is_empty() {
        let _ = write!(out, "\n{pad} |");
    }
    for (help, text) in &l.footers {
        let _ = write!(
            out,
            "\n{pad} = {}: {text}",
            if *help { "help" } else { "note" }
        );
    }
    Some(out)
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
    for note in crate::bundle::targets::notes(&result.project.bundles) {
        writeln!(w, "note: {note}")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn annotated(l: &Layout<'_>) -> String {
        render_annotated(&Renderer::plain().decor_style(DecorStyle::Ascii), l)
    }

    fn excerpt_strategy() -> impl Strategy<Value = (String, usize, usize, usize, Option<String>)> {
        (
            // Lines: leading blanks (some past annotate-snippets' 20-column trim), printable
            // ASCII, sometimes a non-ASCII or tab byte, sometimes trailing blanks.
            proptest::collection::vec(
                prop_oneof![
                    8 => "[ ]{0,22}[ -~]{0,80}[ ]{0,2}",
                    1 => "[ ]{0,26}[ -~]{0,110}( |\t|é)?[ -~]{0,8}[ ]{0,3}",
                ],
                1..4,
            ),
            any::<proptest::sample::Index>(),
            // Mostly short spans (one line: the shape the simple renderer takes), some long.
            prop_oneof![4 => 0usize..12, 1 => 0usize..300],
            1usize..120_000,
            proptest::option::of("[ -~]{0,40}"),
        )
            .prop_map(|(lines, a, len, start, label)| {
                let src = lines.join("\n") + "\n";
                let a = a.index(src.len() + 1);
                let b = (a + len).min(src.len());
                // On a char boundary.
                let fix = |mut i: usize| {
                    while !src.is_char_boundary(i) {
                        i -= 1;
                    }
                    i
                };
                (src.clone(), fix(a), fix(b), start, label)
            })
    }

    proptest! {
        #[test]
        fn simple_renderer_matches_annotate_snippets(
            excerpts in proptest::collection::vec(excerpt_strategy(), 1..4),
            message in "[ -~]{0,60}(é|“x”)?",
            severity in 0u8..3,
            footers in proptest::collection::vec((any::<bool>(), "[ -~]{0,50}(é|→)?"), 0..3),
            path in "[a-zé ._-]{1,12}",
        ) {
            let l = Layout {
                severity: [Severity::Error, Severity::Warning, Severity::Info][severity as usize],
                code: "XF001",
                message: &message,
                excerpts: excerpts
                    .iter()
                    .enumerate()
                    .map(|(i, (src, a, b, start, label))| Excerpt {
                        src,
                        line_start: *start,
                        path: format!("{path}/file_{i}.py"),
                        annotations: vec![(*a..*b, if i == 0 { None } else { label.as_deref() })],
                    })
                    .collect(),
                origin: None,
                footers: footers.iter().map(|(h, t)| (*h, t.as_str().into())).collect(),
            };
            if let Some(fast) = render_plain_simple(&l) {
                prop_assert_eq!(fast, annotated(&l));
            }
        }
    }

    #[test]
    fn simple_renderer_takes_the_common_shape() {
        let src = "x = 1\nvalue = dbutils.jobs.taskValues.get(taskKey=\"a\")\nz\n";
        let l = Layout {
            severity: Severity::Error,
            code: "XF001",
            message: "taskValues.get(taskKey=\"a\"): the job has no task `a`",
            excerpts: vec![
                Excerpt {
                    src: &src[6..],
                    line_start: 99,
                    path: "nb.py".into(),
                    annotations: vec![(37..40, None)],
                },
                Excerpt {
                    src: "        - task_key: t_002\n",
                    line_start: 1009,
                    path: "resources/jobs.yml".into(),
                    annotations: vec![(20..25, Some("task `t_002` runs this notebook"))],
                },
            ],
            origin: None,
            footers: vec![(true, "use the task_key of an upstream task".into())],
        };
        let fast = render_plain_simple(&l).expect("the common shape takes the simple path");
        assert_eq!(fast, annotated(&l));
        assert!(fast.contains("1009 |         - task_key: t_002"), "{fast}");
    }
}
