//! Text edits of a notebook: whole statement lines removed or replaced, everything else kept
//! byte for byte (cells, `MAGIC` prefixes, CRLF line ends). `.ipynb` files are edited at the
//! JSON string level: only the `source` value of the touched cells is re-encoded.

use ruff_text_size::{TextRange, TextSize};

use crate::source::{ipynb, Document, FileKind};

/// One edit in document coordinates: `range` covers whole lines (from a line start to just after
/// a line end); `code` is the replacement Python, one entry per line, without magic prefixes or
/// the statement's indentation (both are added from the first replaced line).
#[derive(Debug, Clone, PartialEq)]
pub struct LineEdit {
    pub range: TextRange,
    pub code: Vec<String>,
}

/// Expand a document range to whole lines (start of its first line to after its last line end).
pub fn whole_lines(doc: &Document, range: TextRange) -> TextRange {
    let first = doc.lines().line_of(range.start());
    let end_off = if range.end() > range.start() {
        range.end() - TextSize::new(1)
    } else {
        range.end()
    };
    let last = doc.lines().line_of(end_off);
    let start = doc.lines().line_start(first);
    let end = if last + 1 < doc.lines().line_count() {
        doc.lines().line_start(last + 1)
    } else {
        doc.lines_end()
    };
    TextRange::new(start, end.max(start))
}

/// Prefix (magic marker) and indentation of the line holding `offset`'s statement.
fn line_prefix(doc: &Document, range: TextRange, code_start: TextSize) -> (String, String) {
    let line_start = range.start();
    let cell_line = doc.cell_at(code_start).and_then(|c| {
        c.lines
            .iter(&doc.text)
            .find(|l| l.start() <= code_start && code_start <= l.end())
    });
    let content_start = cell_line.map(|l| l.start()).unwrap_or(line_start);
    let prefix = doc.text[TextRange::new(line_start, content_start.max(line_start))].to_string();
    let indent = doc.text
        [TextRange::new(content_start.max(line_start), code_start.max(content_start))]
    .to_string();
    (prefix, indent)
}

fn line_ending(doc: &Document, range: TextRange) -> &'static str {
    let s = &doc.text[range];
    if s.ends_with("\r\n") || (!s.ends_with('\n') && doc.text.contains("\r\n")) {
        "\r\n"
    } else {
        "\n"
    }
}

/// Apply edits to the document text. The `TextSize` of each edit is the document offset where
/// its statement code starts (its indentation is reused).
pub fn apply_to_text(doc: &Document, edits: &[(LineEdit, TextSize)]) -> String {
    apply_region(
        doc,
        TextRange::new(TextSize::new(0), doc.lines_end()),
        edits,
    )
}

/// Apply the edits that lie inside `region` to the text of `region`.
fn apply_region(doc: &Document, region: TextRange, edits: &[(LineEdit, TextSize)]) -> String {
    let mut edits: Vec<&(LineEdit, TextSize)> = edits
        .iter()
        .filter(|(e, _)| region.start() <= e.range.start() && e.range.end() <= region.end())
        .collect();
    edits.sort_by_key(|(e, _)| e.range.start());
    let mut out = String::with_capacity(region.len().into());
    let mut pos = region.start();
    for (e, code_start) in edits {
        if e.range.start() < pos {
            continue; // overlapping edits: the first wins
        }
        out.push_str(&doc.text[TextRange::new(pos, e.range.start())]);
        let (prefix, indent) = line_prefix(doc, e.range, *code_start);
        let nl = line_ending(doc, e.range);
        let ends_with_nl = doc.text[e.range].ends_with('\n');
        for (i, line) in e.code.iter().enumerate() {
            out.push_str(&prefix);
            out.push_str(&indent);
            out.push_str(line);
            if i + 1 < e.code.len() || ends_with_nl {
                out.push_str(nl);
            }
        }
        pos = e.range.end();
    }
    out.push_str(&doc.text[TextRange::new(pos, region.end())]);
    out
}

/// The new file contents after the edits: the text itself for source files, the JSON with the
/// touched cells' `source` re-encoded for `.ipynb`.
pub fn apply(doc: &Document, edits: &[(LineEdit, TextSize)]) -> Result<String, String> {
    let new_text = apply_to_text(doc, edits);
    if doc.kind != FileKind::Ipynb {
        return Ok(new_text);
    }
    let raw = doc
        .raw
        .as_deref()
        .ok_or_else(|| "notebook JSON is not available".to_string())?;
    // Map each edit to its cell; recompute those cells' sources from the new text.
    let mut touched: Vec<usize> = edits
        .iter()
        .filter_map(|(e, _)| doc.cell_at(e.range.start()).map(|c| c.index))
        .collect();
    touched.sort_unstable();
    touched.dedup();
    let mut sources: Vec<(usize, String)> = Vec::new();
    for idx in touched {
        let cell = &doc.cells[idx];
        let cell_edits: Vec<(LineEdit, TextSize)> = edits
            .iter()
            .filter(|(e, _)| {
                cell.range.start() <= e.range.start() && e.range.start() <= cell.range.end()
            })
            .cloned()
            .collect();
        sources.push((idx, cell_text_after(doc, cell.range, &cell_edits)));
    }
    ipynb::patch_sources(raw, &sources)
}

/// The text of one cell after its edits (the cell's joining `\n` is included while editing,
/// since an edit of the cell's last line covers it, and removed afterwards).
fn cell_text_after(doc: &Document, cell: TextRange, edits: &[(LineEdit, TextSize)]) -> String {
    let with_nl = cell.end() < doc.lines_end();
    let region = if with_nl {
        TextRange::new(cell.start(), cell.end() + TextSize::new(1))
    } else {
        cell
    };
    let mut t = apply_region(doc, region, edits);
    if with_nl && t.ends_with('\n') {
        t.pop();
    }
    t
}

/// Is document line `line` (0-based) blank code (only whitespace after any magic prefix)?
fn is_blank_line(doc: &Document, line: usize) -> bool {
    let start = doc.lines().line_start(line);
    let Some(cell) = doc.cell_at(start) else {
        return false;
    };
    if start < cell.range.start() {
        return false;
    }
    let end = if line + 1 < doc.lines().line_count() {
        doc.lines().line_start(line + 1)
    } else {
        doc.lines_end()
    };
    match cell
        .lines
        .iter(&doc.text)
        .find(|l| l.start() >= start && l.end() <= end)
    {
        Some(l) => doc.text[l].trim().is_empty(),
        None => doc.text[TextRange::new(start, end)].trim().is_empty(),
    }
}

/// Extend a removal over the blank lines that follow it when it is preceded by a blank line
/// (or starts its cell), so removed definitions do not leave runs of empty lines.
pub fn absorb_blank_lines(doc: &Document, range: TextRange) -> TextRange {
    let first = doc.lines().line_of(range.start());
    let cell_start = doc
        .cell_at(range.start())
        .map(|c| doc.lines().line_of(c.range.start()) == first)
        .unwrap_or(false);
    if !(cell_start || (first > 0 && is_blank_line(doc, first - 1))) {
        return range;
    }
    let mut end = range.end();
    let mut line = doc.lines().line_of(end);
    while end < doc.lines_end() && line < doc.lines().line_count() && is_blank_line(doc, line) {
        let next = if line + 1 < doc.lines().line_count() {
            doc.lines().line_start(line + 1)
        } else {
            doc.lines_end()
        };
        // Keep the blank line that separates cells.
        if doc.cell_at(next).map(|c| c.range.start()) != doc.cell_at(end).map(|c| c.range.start()) {
            break;
        }
        end = next;
        line += 1;
    }
    TextRange::new(range.start(), end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn load(name: &str, kind: FileKind, text: &str) -> Document {
        Document::load(Arc::new(PathBuf::from(name)), kind, text.to_string()).unwrap()
    }

    fn edit_stmt(doc: &Document, needle: &str, code: &[&str]) -> (LineEdit, TextSize) {
        let py = doc.python().unwrap();
        let stmt = py
            .module()
            .body
            .iter()
            .find(|s| py.slice(*s).starts_with(needle))
            .unwrap();
        let r = py.doc_range(stmt);
        (
            LineEdit {
                range: whole_lines(doc, r),
                code: code.iter().map(|s| s.to_string()).collect(),
            },
            r.start(),
        )
    }

    #[test]
    fn magic_prefix_and_crlf_are_kept() {
        let src = "-- Databricks notebook source\r\nSELECT 1\r\n\r\n-- COMMAND ----------\r\n\r\n-- MAGIC %python\r\n-- MAGIC x = run(\r\n-- MAGIC   1)\r\n-- MAGIC y = 2\r\n";
        let doc = load(
            "a.sql",
            FileKind::SourceNotebook(crate::source::Lang::Sql),
            src,
        );
        let e = edit_stmt(&doc, "x = run(", &["# moved", "z = 3"]);
        let out = apply(&doc, &[e]).unwrap();
        assert_eq!(
            out,
            "-- Databricks notebook source\r\nSELECT 1\r\n\r\n-- COMMAND ----------\r\n\r\n-- MAGIC %python\r\n-- MAGIC # moved\r\n-- MAGIC z = 3\r\n-- MAGIC y = 2\r\n"
        );
    }

    #[test]
    fn indentation_is_reused_and_removal_works() {
        let src = "# Databricks notebook source\nimport os\nwith open('x') as f:\n    a = 1\n    b = 2\nc = 3\n";
        let doc = load(
            "a.py",
            FileKind::SourceNotebook(crate::source::Lang::Python),
            src,
        );
        let e1 = edit_stmt(&doc, "import os", &[]);
        let e2 = edit_stmt(&doc, "c = 3", &["d = 4"]);
        assert_eq!(
            apply(&doc, &[e2, e1]).unwrap(),
            "# Databricks notebook source\nwith open('x') as f:\n    a = 1\n    b = 2\nd = 4\n"
        );
    }

    #[test]
    fn ipynb_only_the_touched_cell_changes() {
        let raw = "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {\"a\": 1},\n   \"outputs\": [{\"text\": \"hi\"}],\n   \"source\": [\n    \"x = 1\\n\",\n    \"y = run()\\n\",\n    \"z = 2\"\n   ]\n  },\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {},\n   \"source\": \"w = 1\\n\"\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 0\n}\n";
        let doc = load("a.ipynb", FileKind::Ipynb, raw);
        assert_eq!(ipynb::source_spans(raw).unwrap().len(), 2);
        let e = edit_stmt(&doc, "y = run()", &["# gone", "v = 0"]);
        let out = apply(&doc, &[e]).unwrap();
        let expected = raw.replace(
            "    \"y = run()\\n\",\n",
            "    \"# gone\\n\",\n    \"v = 0\\n\",\n",
        );
        assert_eq!(out, expected);
        // Editing the last line of the last cell keeps its trailing newline.
        let e = edit_stmt(&doc, "w = 1", &["w = 2"]);
        let out = apply(&doc, &[e]).unwrap();
        assert_eq!(out, raw.replace("\"w = 1\\n\"", "\"w = 2\\n\""));
    }

    #[test]
    fn ipynb_string_sources_and_crlf_json_keep_their_form() {
        let raw = "{\r\n \"cells\": [\r\n  {\"cell_type\": \"code\", \"metadata\": {}, \"source\": \"a = 1\\nb = run()\\n\"}\r\n ],\r\n \"metadata\": {},\r\n \"nbformat\": 4,\r\n \"nbformat_minor\": 5\r\n}\r\n";
        let doc = load("a.ipynb", FileKind::Ipynb, raw);
        let e = edit_stmt(&doc, "b = run()", &["c = 2"]);
        let out = apply(&doc, &[e]).unwrap();
        assert_eq!(out, raw.replace("b = run()", "c = 2"));
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
    }
}
