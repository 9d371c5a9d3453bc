//! A lexical scan of the `import` statements of a document's Python cells, without parsing.
//!
//! The project index needs every document's local imports to decide which documents matter for
//! cross-file analysis; parsing every file (and keeping every syntax tree) only to read its
//! imports cost half a gigabyte on a 4,000-notebook corpus. This scan reads statements that start
//! with `import` or `from` (multi-line parenthesised lists and `\` continuations included). It
//! can only over-report (an `import` line inside a docstring), never miss a real import
//! statement that starts a line, which is the safe side for "is this document relevant?".

use super::{Document, Lang};

/// `(module, level)` pairs, as `import a.b` → `("a.b", 0)`, `from ..m import x` → `("m", 2)`
/// and `("m.x", 2)` (a `from` import may import a module). Absolute imports of standard-library
/// and common third-party packages ([`is_well_known_module`]) are left out: no
/// caller looks for them in the repository.
pub fn lexical_imports(doc: &Document) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    if !doc.has(super::Token::Import) {
        return out;
    }
    static IMPORT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"import"));
    for cell in doc.cells.iter().filter(|c| c.lang == Lang::Python) {
        // Every statement this scan reports contains `import` (`from m import x` too), and
        // its lines all lie in the cell: most cells have none and are not read line by line.
        if IMPORT.find(doc.text[cell.range].as_bytes()).is_none() {
            continue;
        }
        let mut lines = cell.lines.iter(&doc.text).map(|r| &doc.text[r]);
        while let Some(line) = lines.next() {
            // Most lines start with neither word: decided on the first byte that is not ASCII
            // whitespace (a non-ASCII byte may be Unicode whitespace: the `str` path decides).
            let first = line
                .bytes()
                .find(|c| !matches!(c, b' ' | b'\t' | b'\r' | 0x0B | 0x0C));
            if !matches!(first, Some(b'i' | b'f' | 0x80..)) {
                continue;
            }
            let t = line.trim_start();
            if !(t.starts_with("import") || t.starts_with("from")) {
                continue;
            }
            let t = strip_comment(t).trim_end();
            // Gather the whole statement: open parentheses or trailing backslashes continue it.
            let mut stmt = t.to_string();
            while stmt.matches('(').count() > stmt.matches(')').count() || stmt.ends_with('\\') {
                let Some(next) = lines.next() else { break };
                if stmt.ends_with('\\') {
                    stmt.pop();
                }
                stmt.push(' ');
                stmt.push_str(strip_comment(next).trim());
            }
            for part in stmt.split(';') {
                statement(part.trim(), &mut out);
            }
        }
    }
    out
}

fn strip_comment(line: &str) -> &str {
    match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    }
}

fn word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or("")
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

/// The modules a parsed module imports, in statement order: `import a.b` → `("a.b", 0)`,
/// `from ..m import x` → `("m", 2)` and `("m.x", 2)` (a `from` import may import a module).
/// Unlike [`lexical_imports`], exact: every import statement, wherever it is (inside
/// functions, after `;`), and none from strings.
pub fn parsed_imports(module: &ruff_python_ast::ModModule) -> Vec<(String, u32)> {
    use ruff_python_ast::statement_visitor::{walk_stmt, StatementVisitor};
    use ruff_python_ast::Stmt;
    struct V(Vec<(String, u32)>);
    impl<'a> StatementVisitor<'a> for V {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            match s {
                Stmt::Import(i) => {
                    for a in &i.names {
                        self.0.push((a.name.as_str().to_string(), 0));
                    }
                }
                Stmt::ImportFrom(i) => {
                    let m = i.module.as_ref().map(|m| m.as_str()).unwrap_or("");
                    self.0.push((m.to_string(), i.level));
                    // `from pkg import module` imports a module too.
                    for a in &i.names {
                        let full = if m.is_empty() {
                            a.name.as_str().to_string()
                        } else {
                            format!("{m}.{}", a.name.as_str())
                        };
                        self.0.push((full, i.level));
                    }
                }
                _ => walk_stmt(self, s),
            }
        }
    }
    let mut v = V(Vec::new());
    v.visit_body(&module.body);
    v.0
}

/// A standard-library or common third-party module (by its top-level package): never a file of
/// the repository, so neither the import scan nor the project index looks for it on disk.
pub fn is_well_known_module(m: &str) -> bool {
    let top = m.split('.').next().unwrap_or(m);
    matches!(
        top,
        "os" | "sys"
            | "re"
            | "json"
            | "time"
            | "datetime"
            | "logging"
            | "typing"
            | "collections"
            | "itertools"
            | "functools"
            | "math"
            | "random"
            | "uuid"
            | "pathlib"
            | "shutil"
            | "subprocess"
            | "threading"
            | "multiprocessing"
            | "concurrent"
            | "asyncio"
            | "dataclasses"
            | "enum"
            | "abc"
            | "io"
            | "csv"
            | "glob"
            | "tempfile"
            | "traceback"
            | "copy"
            | "decimal"
            | "hashlib"
            | "base64"
            | "urllib"
            | "http"
            | "textwrap"
            | "string"
            | "inspect"
            | "warnings"
            | "contextlib"
            | "operator"
            | "pprint"
            | "pyspark"
            | "databricks"
            | "delta"
            | "pandas"
            | "numpy"
            | "requests"
            | "joblib"
            | "yaml"
            | "pytest"
            | "IPython"
            | "mlflow"
            | "sklearn"
            | "scipy"
            | "pyarrow"
            | "papermill"
            | "nbformat"
            | "nbclient"
            | "notebookutils"
            | "dbruntime"
    )
}

fn statement(s: &str, out: &mut Vec<(String, u32)>) {
    if let Some(rest) = s.strip_prefix("import") {
        if !rest.starts_with(char::is_whitespace) {
            return;
        }
        for item in rest.split(',') {
            let m = word(item);
            if is_dotted_name(m) && !is_well_known_module(m) {
                out.push((m.to_string(), 0));
            }
        }
    } else if let Some(rest) = s.strip_prefix("from") {
        if !rest.starts_with(char::is_whitespace) && !rest.starts_with('.') {
            return;
        }
        let rest = rest.trim_start();
        let level = rest.chars().take_while(|&c| c == '.').count();
        let rest = rest[level..].trim_start();
        let (module, names) = if let Some(names) = rest.strip_prefix("import") {
            ("", names)
        } else {
            match rest.find(" import") {
                Some(i) => (rest[..i].trim(), &rest[i + " import".len()..]),
                None => return,
            }
        };
        if !module.is_empty() && !is_dotted_name(module) {
            return;
        }
        if level == 0 && is_well_known_module(module) {
            // `module` and every `module.name` share its well-known top-level package.
            return;
        }
        out.push((module.to_string(), level as u32));
        let names = names.trim().trim_start_matches('(').trim_end_matches(')');
        for item in names.split(',') {
            let n = word(item);
            if n.is_empty() || !is_dotted_name(n) {
                continue;
            }
            let full = if module.is_empty() {
                n.to_string()
            } else {
                format!("{module}.{n}")
            };
            out.push((full, level as u32));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileKind;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn imports(src: &str) -> Vec<(String, u32)> {
        let doc = Document::load(
            Arc::new(PathBuf::from("m.py")),
            FileKind::PythonModule,
            src.into(),
        )
        .unwrap();
        lexical_imports(&doc)
    }

    fn s(v: &[(&str, u32)]) -> Vec<(String, u32)> {
        v.iter().map(|(m, l)| (m.to_string(), *l)).collect()
    }

    #[test]
    fn statement_shapes() {
        assert_eq!(
            imports("import os, lib.runner as r  # c\nimport json; from x import y\n"),
            s(&[("lib.runner", 0), ("x", 0), ("x.y", 0)])
        );
        assert_eq!(
            imports(
                "from . import helpers\nfrom ..pkg.mod import (\n    a,  # first\n    b as c,\n)\n"
            ),
            s(&[
                ("", 1),
                ("helpers", 1),
                ("pkg.mod", 2),
                ("pkg.mod.a", 2),
                ("pkg.mod.b", 2)
            ])
        );
        // Well-known packages are left out, `from` and `import` alike (relative imports stay).
        assert_eq!(
            imports("from os.path import join\nfrom pyspark.sql import functions as F\nfrom .json import x\n"),
            s(&[("json", 1), ("json.x", 1)])
        );
        assert_eq!(
            imports("def f():\n    from lib \\\n        import run\nimported = 1\nfromage = 2\n"),
            s(&[("lib", 0), ("lib.run", 0)])
        );
    }

    #[test]
    fn same_as_the_syntax_tree_on_magic_cells() {
        let src = "-- Databricks notebook source\nSELECT 1\n\n-- COMMAND ----------\n\n-- MAGIC %python\n-- MAGIC from helpers import run_all\n";
        let doc = crate::source::notebook::parse_source_notebook(
            Arc::new(PathBuf::from("a.sql")),
            Lang::Sql,
            src.into(),
        );
        assert_eq!(
            lexical_imports(&doc),
            s(&[("helpers", 0), ("helpers.run_all", 0)])
        );
    }
}
