use crate::diagnostic::{Diagnostic, Severity, TextRange, TextSize};
use crate::project::DocContext;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "NB001",
    name: "python-syntax-error",
    severity: Severity::Error,
    summary: "a Python cell that does not parse",
    doc: r#"## What it does
Reports Python cells (and plain Python modules) that do not parse. Each notebook cell is parsed
on its own, as Databricks runs it, with IPython magics (`%pip`, `!ls`) allowed.

Which files are parsed (`syntax-check` in the config):
- `"analyzed"` (the default): every file named on the command line (what pre-commit passes), and,
  in a directory scan, every notebook or module bricklint parses for its own analysis: it runs
  notebooks or calls the Jobs API (or `%run`s / imports a file that does), sets task values,
  calls `notebook.exit`, holds an IPython escape or a `bricklint:` comment. A notebook with none
  of these is never parsed (a byte search decides), which keeps large repositories fast; its
  syntax errors are left to the Python tooling that checks every file (ruff, pyright).
- `"all"`: every Python cell of every file. Naming the rule, `--select NB001` or
  `--extend-select python-syntax-error` (not a prefix such as `NB` or `ALL`), does the same.

## Why is this bad?
A cell that does not parse fails when the notebook runs, and bricklint cannot analyse it: every
other rule is blind to the code of that cell.

## Example
```python
# Databricks notebook source
def run(path:
    return dbutils.notebook.run(path, 0)
```

## Fix
Fix the syntax error. bricklint reports it with the exact cell, line and column.
"#,
    fixable: false,
};

pub struct PythonSyntaxError;

impl Rule for PythonSyntaxError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_document(&self, ctx: &DocContext<'_>, out: &mut Vec<Diagnostic>) {
        if !ctx.analysed {
            return;
        }
        // From the document's parse summary: the syntax tree may be gone already. One
        // diagnostic per cell: later errors in the same cell are usually follow-ups.
        let mut seen_cells = Vec::new();
        for err in ctx.doc.python_errors() {
            if seen_cells.contains(&err.cell) {
                continue;
            }
            seen_cells.push(err.cell);
            let mut range = err.range;
            let text = &ctx.doc.text[range];
            if let Some(nl) = text.find(['\n', '\r']) {
                range = TextRange::at(range.start(), TextSize::new(nl as u32));
            }
            if range.is_empty()
                && range.start() > TextSize::new(0)
                && matches!(
                    ctx.doc.text.as_bytes().get(usize::from(range.start())),
                    Some(b'\n' | b'\r') | None
                )
            {
                range = TextRange::new(range.start() - TextSize::new(1), range.start());
            }
            if range.is_empty() {
                // Point at one character so the snippet shows something.
                let end = (range.start() + TextSize::new(1)).min(ctx.doc.lines_end());
                range = TextRange::new(range.start(), end);
            }
            out.push(Diagnostic::new(
                &META,
                ctx.doc.path.clone(),
                range,
                format!("Python syntax error: {}", err.message),
            ));
        }
    }
}
