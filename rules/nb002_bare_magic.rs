use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{Expr, IpyEscapeKind, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::DocContext;
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
        .any(|c| {
            let text = &doc.text[c.range];
            let b = text.as_bytes();
            let mut start = 0;
            while start < b.len() {
                let end = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i);
                if line_may_escape(&text[start..end]) {
                    return true;
                }
                start = end + 1;
            }
            false
        })
}

/// [`may_have_escape`] for one line, on bytes: ASCII whitespace is trimmed by hand and a line
/// where a non-ASCII byte meets the trim (possibly Unicode whitespace) takes the `str` path.
fn line_may_escape(line: &str) -> bool {
    /// `char::is_whitespace` on an ASCII byte.
    fn ws(c: &u8) -> bool {
        matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
    }
    let b = line.as_bytes();
    let Some(first) = b.iter().position(|c| !ws(c)) else {
        return false;
    };
    let last = b.iter().rposition(|c| !ws(c)).unwrap_or(first);
    if b[first] >= 0x80 || b[last] >= 0x80 {
        return line_may_escape_str(line);
    }
    if matches!(b[first], b'%' | b'!' | b'?' | b',' | b';' | b'/') || b[last] == b'?' {
        return true;
    }
    memchr::memchr_iter(b'=', &b[..=last]).any(|i| {
        // The first byte after the `=` that is not whitespace.
        let Some(j) = b[i + 1..].iter().position(|c| !ws(c)).map(|k| i + 1 + k) else {
            return false;
        };
        match b[j] {
            c if c >= 0x80 => line_may_escape_str(line),
            b'%' => true,
            b'!' => b.get(j + 1) != Some(&b'='),
            _ => false,
        }
    })
}

/// The reference definition of [`line_may_escape`] (Unicode trimming).
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
        /// The byte-level line check agrees with its `str` definition on any line.
        #[test]
        fn byte_check_equals_str_check(line in "[ \t\r\x0b\x0c\u{a0}\u{2003}\u{85}%!?,;/=a-z\u{e9}]{0,12}") {
            prop_assert_eq!(line_may_escape(&line), line_may_escape_str(&line), "{:?}", line);
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
            assert!(line_may_escape(l), "{l:?}");
        }
        for l in ["x = 1", "if a != b:", "s = '%d' % 3", "a == b", "", "   "] {
            assert!(!line_may_escape(l), "{l:?}");
        }
    }
}
