//! Python cells of a document parsed with ruff's parser (IPython mode, so `%magic` and `!cmd`
//! lines parse), every position mapped back to the real file.
//!
//! This is the only module that touches `ruff_python_parser` directly; the rest of bricklint
//! uses the AST types from `ruff_python_ast` and the mapping methods here.

use ruff_python_ast::ModModule;
use ruff_python_parser::{parse_cells_unchecked, Mode, ParseError, ParseErrorType, ParseOptions};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::{Document, Lang};

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f`, turning a panic into `Err(())` without printing the panic message (a parser panic on
/// hostile input is reported as a finding, not as a crash on stderr).
fn catch_quietly<R>(f: impl FnOnce() -> R) -> Result<R, ()> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET_PANICS.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(was));
    r.map_err(|_| ())
}

/// The Python of a document as one virtual source: the Python cells' code lines (magic prefixes
/// removed) joined by `\n`, each cell parsed on its own (as Databricks runs them), with an offset
/// map from the virtual text back to the document text.
#[derive(Debug)]
pub struct PythonSource {
    /// The virtual Python text.
    pub text: String,
    /// Segment starts: (virtual offset, document offset), one per code line, sorted.
    map: Vec<(u32, u32)>,
    /// For each parsed Python cell: (index into `Document::cells`, range in `text`).
    pub cells: Vec<(usize, TextRange)>,
    parsed: ModModule,
    /// Parse errors, plus one per cell skipped because it nests too deeply.
    errors: Vec<ParseError>,
    /// The `dbutils` calls the semantic model finds (call range, attribute path after
    /// `dbutils`), kept by whichever pass builds the model first so that later passes need not
    /// build it again ([`PythonSource::dbutils_calls`]).
    dbutils_calls: std::sync::OnceLock<Vec<(TextRange, Vec<String>)>>,
}

impl PythonSource {
    pub fn build(doc: &Document) -> Self {
        Self::build_filtered(doc, None)
    }

    /// Like [`PythonSource::build`], but only the Python cells whose text `keep` accepts are
    /// parsed (the others are left out, as if empty). Document offsets and cell numbers are
    /// those of the whole document.
    pub fn build_cells(doc: &Document, keep: &dyn Fn(&super::Cell) -> bool) -> Self {
        Self::build_filtered(doc, Some(keep))
    }

    fn build_filtered(doc: &Document, keep: Option<&dyn Fn(&super::Cell) -> bool>) -> Self {
        let mut text = String::with_capacity(doc.text.len());
        let mut map = Vec::new();
        let mut ranges = Vec::new();
        let mut cells = Vec::new();
        for cell in doc.cells.iter().filter(|c| c.lang == Lang::Python) {
            if cell.lines.is_empty() {
                continue;
            }
            // A cell left out is not copied either (its text, with any `# MAGIC` prefixes,
            // holds the same tokens as its code).
            if keep.is_some_and(|keep| !keep(cell)) {
                continue;
            }
            let start = TextSize::of(text.as_str());
            for line in cell.lines.iter(&doc.text) {
                map.push((text.len() as u32, u32::from(line.start())));
                text.push_str(&doc.text[line]);
                text.push('\n');
            }
            let end = TextSize::of(text.as_str()) - TextSize::new(1);
            let r = TextRange::new(start, end);
            ranges.push(r);
            cells.push((cell.index, r));
        }
        // Cells nested deeper than the limit are not parsed (see `nesting`): their syntax tree
        // could overflow the stack of whoever walks or drops it.
        let mut skipped = Vec::new();
        ranges.retain(|r| match super::nesting::check(text[*r].as_bytes(), doc.max_nesting) {
            None => true,
            Some(deep) => {
                let at = r.start() + TextSize::new(deep.offset as u32);
                skipped.push(ParseError {
                    error: ParseErrorType::OtherError(format!(
                        "code nested deeper than {} levels (`[limits] max-nesting`); this cell is not analysed",
                        doc.max_nesting
                    )),
                    location: TextRange::new(at, (at + TextSize::new(1)).min(r.end())),
                });
                false
            }
        });
        let options = ParseOptions::from(Mode::Ipython);
        let empty = || parse_cells_unchecked("", [], &options).into_syntax();
        // `parse_cells_unchecked` wants cells separated by exactly one `\n`: when cells were
        // left out, parse each run of adjacent cells on its own and join the results.
        let parse = |rs: &[TextRange]| -> Result<(ModModule, Vec<ParseError>), ()> {
            let mut module: Option<ModModule> = None;
            let mut errors = Vec::new();
            let mut start = 0;
            while start < rs.len() {
                let mut end = start + 1;
                while end < rs.len() && rs[end].start() == rs[end - 1].end() + TextSize::new(1) {
                    end += 1;
                }
                let group = &rs[start..end];
                let p = catch_quietly(|| {
                    parse_cells_unchecked(&text, group.iter().copied(), &options)
                })?;
                errors.extend_from_slice(p.errors());
                let m = p.into_syntax();
                match &mut module {
                    None => module = Some(m),
                    Some(acc) => {
                        acc.body.extend(m.body);
                        acc.range = TextRange::new(acc.range.start(), m.range.end());
                    }
                }
                start = end;
            }
            Ok((module.unwrap_or_else(empty), errors))
        };
        let (parsed, mut errors) = match parse(&ranges) {
            Ok(p) => p,
            Err(()) => {
                // The parser panicked on some cell (it has `unreachable!`s reachable from odd
                // input, e.g. `{)` then a line starting with `,`). Find the cells it fails on,
                // report them, and analyse the others.
                let mut good = Vec::with_capacity(ranges.len());
                for r in &ranges {
                    if parse(std::slice::from_ref(r)).is_ok() {
                        good.push(*r);
                    } else {
                        skipped.push(ParseError {
                            error: ParseErrorType::OtherError(
                                "the Python parser failed on this cell (a parser bug triggered by invalid code); this cell is not analysed".into(),
                            ),
                            location: TextRange::new(
                                r.start(),
                                (r.start() + TextSize::new(1)).min(r.end()),
                            ),
                        });
                    }
                }
                parse(&good).unwrap_or_else(|()| (empty(), Vec::new()))
            }
        };
        if !skipped.is_empty() {
            errors.extend(skipped);
            errors.sort_by_key(|e| e.location.start());
        }
        PythonSource {
            text,
            map,
            cells,
            parsed,
            errors,
            dbutils_calls: std::sync::OnceLock::new(),
        }
    }

    /// Build from plain Python text (tests, generated code checks).
    pub fn from_text(code: &str) -> Self {
        let doc = Document::load(
            std::sync::Arc::new("<string>".into()),
            super::FileKind::PythonModule,
            code.to_string(),
        )
        .expect("python module loads");
        PythonSource::build(&doc)
    }

    /// The cache of this source's `dbutils` calls (range, dotted path), filled by the semantic
    /// model (`crate::python::model::dbutils_calls_of`), which lives a layer above.
    pub fn dbutils_calls_cache(&self) -> &std::sync::OnceLock<Vec<(TextRange, Vec<String>)>> {
        &self.dbutils_calls
    }

    pub fn module(&self) -> &ModModule {
        &self.parsed
    }

    pub fn errors(&self) -> &[ParseError] {
        &self.errors
    }

    /// Map a virtual offset to a document offset.
    pub fn to_doc_offset(&self, offset: TextSize) -> TextSize {
        let v = u32::from(offset);
        let i = self.map.partition_point(|(vs, _)| *vs <= v);
        if i == 0 {
            return TextSize::new(v);
        }
        let (vs, rs) = self.map[i - 1];
        TextSize::new(rs + (v - vs))
    }

    /// Map a virtual range to a document range.
    pub fn to_doc(&self, range: TextRange) -> TextRange {
        let s = self.to_doc_offset(range.start());
        let e = self.to_doc_offset(range.end());
        TextRange::new(s, e.max(s))
    }

    /// Map a node's range to the document.
    pub fn doc_range(&self, node: &impl Ranged) -> TextRange {
        self.to_doc(node.range())
    }

    /// Source text of a node (virtual text).
    pub fn slice(&self, node: &impl Ranged) -> &str {
        &self.text[node.range()]
    }

    /// Index (into `Document::cells`) of the cell holding a virtual offset.
    pub fn cell_of(&self, offset: TextSize) -> Option<usize> {
        let i = self.cells.partition_point(|(_, r)| r.end() < offset);
        self.cells.get(i).map(|(c, _)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    #[test]
    fn magic_cells_map_back_to_file() {
        let src = "-- Databricks notebook source\nSELECT 1\n\n-- COMMAND ----------\n\n-- MAGIC %python\n-- MAGIC x = dbutils.notebook.run(\"a\", 0)\n";
        let doc = crate::source::notebook::parse_source_notebook(
            Arc::new(PathBuf::from("a.sql")),
            Lang::Sql,
            src.to_string(),
        );
        let py = doc.python().unwrap();
        assert!(py.errors().is_empty());
        let stmt = &py.module().body[0];
        let r = py.doc_range(stmt);
        assert_eq!(&doc.text[r], "x = dbutils.notebook.run(\"a\", 0)");
        let res = doc.resolve(r);
        assert_eq!((res.line, res.column, res.cell), (7, 10, Some(2)));
    }

    #[test]
    fn parser_panic_is_a_syntax_error_of_its_cell() {
        let src = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n{)\n,\n\n# COMMAND ----------\n\ny = 2\n";
        let doc = crate::source::notebook::parse_source_notebook(
            Arc::new(PathBuf::from("a.py")),
            Lang::Python,
            src.to_string(),
        );
        let py = doc.python().unwrap();
        let failed: Vec<_> = py
            .errors()
            .iter()
            .filter(|e| e.error.to_string().contains("parser failed"))
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(py.cell_of(failed[0].location.start()), Some(1));
        // The other cells are analysed.
        let stmts: Vec<&str> = py.module().body.iter().map(|s| py.slice(s)).collect();
        assert_eq!(stmts, vec!["x = 1", "y = 2"]);
    }

    #[test]
    fn a_deep_cell_between_others_is_skipped_alone() {
        let deep = "-".repeat(1000);
        let src = format!("# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\ny = {deep}1\n\n# COMMAND ----------\n\nz = 2\n");
        let doc = crate::source::notebook::parse_source_notebook(
            Arc::new(PathBuf::from("a.py")),
            Lang::Python,
            src,
        );
        let py = doc.python().unwrap();
        assert_eq!(py.errors().len(), 1);
        assert_eq!(py.cell_of(py.errors()[0].location.start()), Some(1));
        let stmts: Vec<&str> = py.module().body.iter().map(|s| py.slice(s)).collect();
        assert_eq!(stmts, vec!["x = 1", "z = 2"]);
    }

    #[test]
    fn cells_parse_independently() {
        let src = "# Databricks notebook source\ndef f(:\n\n# COMMAND ----------\n\ny = 1\n%pip install x\n";
        let doc = crate::source::notebook::parse_source_notebook(
            Arc::new(PathBuf::from("a.py")),
            Lang::Python,
            src.to_string(),
        );
        let py = doc.python().unwrap();
        assert!(!py.errors().is_empty());
        let err = &py.errors()[0];
        assert_eq!(py.cell_of(err.location.start()), Some(0));
        // The second cell still parses: `y = 1` and the magic.
        assert!(py.module().body.iter().any(|s| py.slice(s) == "y = 1"));
    }
}
