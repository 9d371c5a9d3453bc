//! Python cells of a document parsed with ruff's parser (IPython mode, so `%magic` and `!cmd`
//! lines parse), every position mapped back to the real file.
//!
//! This is the only module that touches `ruff_python_parser` directly; the rest of bricklint
//! uses the AST types from `ruff_python_ast` and the mapping methods here.

use ruff_python_ast::ModModule;
use ruff_python_parser::{
    parse_cells_unchecked, Mode, ParseError, ParseErrorType, ParseOptions, Parsed,
};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::{Document, Lang};

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
    parsed: Parsed<ModModule>,
    /// Parse errors, plus one per cell skipped because it nests too deeply.
    errors: Vec<ParseError>,
}

impl PythonSource {
    pub fn build(doc: &Document) -> Self {
        let mut text = String::with_capacity(doc.text.len());
        let mut map = Vec::new();
        let mut ranges = Vec::new();
        let mut cells = Vec::new();
        for cell in doc.cells.iter().filter(|c| c.lang == Lang::Python) {
            if cell.lines.is_empty() {
                continue;
            }
            let start = TextSize::of(text.as_str());
            for line in &cell.lines {
                map.push((text.len() as u32, u32::from(line.start())));
                text.push_str(&doc.text[*line]);
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
        let parsed = parse_cells_unchecked(&text, ranges.iter().copied(), &options);
        let mut errors = parsed.errors().to_vec();
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

    pub fn module(&self) -> &ModModule {
        self.parsed.syntax()
    }

    pub fn errors(&self) -> &[ParseError] {
        &self.errors
    }

    pub fn tokens(&self) -> &ruff_python_ast::token::Tokens {
        self.parsed.tokens()
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
