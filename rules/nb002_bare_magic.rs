use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{Expr, IpyEscapeKind, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::diagnostic::{Diagnostic, Severity};
use crate::project::DocContext;
use crate::rules::{Rule, RuleMeta};
use crate::source::{Document, FileKind, Lang};

pub static META: RuleMeta = RuleMeta {
    code: "NB002",
    name: "bare-magic",
    severity: Severity::Warning,
    summary: "`%pip` / `%run` / `!cmd` lines without `# MAGIC` in a source-format `.py` notebook",
    doc: r#"## What it does
Finds IPython magics (`%pip install`, `%run ./x`, `%sh`, `!ls`) written as plain lines in a
Python cell of a source-format `.py` notebook (`# Databricks notebook source`), instead of a
magic cell whose lines carry the `# MAGIC ` prefix.

## Why is this bad?
In the source format, a cell is Python unless its lines start with `# MAGIC`. A bare `%pip`
line is a Python syntax error when the notebook runs in Databricks (and the file is not valid
Python for any other tool either). `%run` must also be alone in its cell.

## Example
```python
# Databricks notebook source
%pip install requests
```

## Fix
Put the magic in its own cell, every line prefixed:
```python
# COMMAND ----------

# MAGIC %pip install requests
```
"#,
    fixable: false,
};

pub struct BareMagic;

/// A cheap line scan before any parsing: can a Python cell that is not `# MAGIC` hold an IPython
/// escape? Escapes start a logical line (`%pip`, `!ls`, `?x`, `,f a`, `;f a`, `/f a`), end one
/// (`x?`), or follow an assignment (`x = !ls`, `y = %time f()`). `false` is exact; `true` means
/// "parse and look".
fn may_have_escape(doc: &Document) -> bool {
    doc.cells
        .iter()
        .filter(|c| c.lang == Lang::Python && !c.magic)
        .any(|c| text_may_escape(&doc.text[c.range]))
}

/// `text.split('\n').any(line_may_escape_str)`, without visiting every line: every escape involves
/// one of `%!?,;/`, so only those bytes (found with SIMD searches; they are rare at a line start)
/// are looked at, with the blanks around them. A non-ASCII byte next to one sends its line to the
/// `str` definition (Unicode whitespace).
fn text_may_escape(text: &str) -> bool {
    /// ASCII whitespace inside a line (`char::is_whitespace`, `\n` excluded).
    fn blank(c: u8) -> bool {
        matches!(c, b' ' | b'\t' | b'\r' | 0x0B | 0x0C)
    }
    let b = text.as_bytes();
    let line_of = |j: usize| -> &str {
        let s = memchr::memrchr(b'\n', &b[..j]).map_or(0, |i| i + 1);
        let e = memchr::memchr(b'\n', &b[j..]).map_or(b.len(), |i| j + i);
        &text[s..e]
    };
    let check = |j: usize| -> bool {
        // The previous byte on the line that is not blank.
        let mut i = j;
        while i > 0 && blank(b[i - 1]) {
            i -= 1;
        }
        match i.checked_sub(1).map(|k| b[k]) {
            // First on its line: `%pip`, `!ls`, `?x`, `,f a`, `;f a`, `/f a`.
            None | Some(b'\n') => return true,
            Some(c) if c >= 0x80 => return line_may_escape_str(line_of(j)),
            // After an assignment: `x = %time f()`, `y = !ls` (not `!=`).
            Some(b'=') if b[j] == b'%' || (b[j] == b'!' && b.get(j + 1) != Some(&b'=')) => {
                return true
            }
            _ => {}
        }
        if b[j] == b'?' {
            // Last on its line: `x?`.
            let mut k = j + 1;
            while k < b.len() && blank(b[k]) {
                k += 1;
            }
            match b.get(k) {
                None | Some(b'\n') => return true,
                Some(&c) if c >= 0x80 => return line_may_escape_str(line_of(j)),
                _ => {}
            }
        }
        false
    };
    memchr::memchr3_iter(b'%', b'!', b'?', b).any(check)
        || memchr::memchr3_iter(b',', b';', b'/', b).any(check)
}

/// Can this line hold an IPython escape? The reference definition (Unicode trimming) that
/// [`text_may_escape`] agrees with.
fn line_may_escape_str(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with(['%', '!', '?', ',', ';', '/']) || t.ends_with('?') {
        return true;
    }
    let b = t.as_bytes();
    memchr::memchr_iter(b'=', b).any(|i| {
        let rest = t[i + 1..].trim_start();
        (rest.starts_with('%') || rest.starts_with('!')) && !rest.starts_with("!=")
    })
}

struct Finder(Vec<(TextRange, String)>);

impl<'a> Visitor<'a> for Finder {
    fn visit_stmt(&mut self, s: &'a Stmt) {
        if let Stmt::IpyEscapeCommand(c) = s {
            self.0.push((c.range(), escape(c.kind, &c.value)));
        }
        walk_stmt(self, s);
    }
    fn visit_expr(&mut self, e: &'a Expr) {
        if let Expr::IpyEscapeCommand(c) = e {
            self.0.push((c.range(), escape(c.kind, &c.value)));
        }
        walk_expr(self, e);
    }
}

fn escape(kind: IpyEscapeKind, value: &str) -> String {
    let prefix = match kind {
        IpyEscapeKind::Shell => "!",
        IpyEscapeKind::ShCap => "!!",
        IpyEscapeKind::Magic => "%",
        IpyEscapeKind::Magic2 => "%%",
        IpyEscapeKind::Help => "?",
        IpyEscapeKind::Help2 => "??",
        IpyEscapeKind::Quote => ",",
        IpyEscapeKind::Quote2 => ";",
        IpyEscapeKind::Paren => "/",
    };
    let word = value.split_whitespace().next().unwrap_or("");
    format!("{prefix}{word}")
}

impl Rule for BareMagic {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn wants_parse(&self, doc: &Document) -> bool {
        doc.kind == FileKind::SourceNotebook(Lang::Python) && may_have_escape(doc)
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        if ctx.doc.kind != FileKind::SourceNotebook(Lang::Python)
            || !ctx.analysed
            || !may_have_escape(ctx.doc)
        {
            return;
        }
        let Some(py) = ctx.doc.python() else { return };
        let mut f = Finder(Vec::new());
        f.visit_body(&py.module().body);
        for (range, what) in f.0 {
            let cell = py.cell_of(range.start());
            if cell
                .and_then(|c| ctx.doc.cells.get(c))
                .is_some_and(|c| c.magic)
            {
                continue;
            }
            let r = py.to_doc(range);
            out.push(
                Diagnostic::new(
                    &META,
                    ctx.doc.path.clone(),
                    r,
                    format!("`{what}` without `# MAGIC` in a source-format notebook: Databricks runs this line as Python"),
                )
                .help("put the magic in its own cell and prefix each of its lines with `# MAGIC `"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The scan of a whole cell agrees with the line-by-line `str` definition.
        #[test]
        fn text_check_equals_line_checks(text in "[ \t\r\n\x0b\x0c\u{a0}\u{2003}\u{85}%!?,;/=a-z\u{e9}]{0,40}") {
            prop_assert_eq!(
                text_may_escape(&text),
                text.split('\n').any(line_may_escape_str),
                "{:?}", text
            );
        }
    }

    #[test]
    fn lines_that_may_hold_an_escape() {
        for l in [
            "%pip install x",
            "  !ls",
            "x?",
            "y = %time f()",
            "z =\u{a0}!ls",
            "\u{b}%sh",
        ] {
            assert!(line_may_escape_str(l), "{l:?}");
            assert!(text_may_escape(&format!("a = 1\n{l}\nb = 2")), "{l:?}");
        }
        for l in ["x = 1", "if a != b:", "s = '%d' % 3", "a == b", "", "   "] {
            assert!(!line_may_escape_str(l), "{l:?}");
            assert!(!text_may_escape(&format!("a = 1\n{l}\nb = 2")), "{l:?}");
        }
    }
}
