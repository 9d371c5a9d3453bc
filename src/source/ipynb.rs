//! Jupyter / Databricks `.ipynb` notebooks.
//!
//! The document text is the cells' sources joined by `\n`; every text line also knows its line
//! in the JSON file (for CI annotations, which must point at the file on disk).

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};
use serde_json::Value;

use super::notebook::{code_lines, line_spans};
use super::{Cell, CellLines, Document, FileKind, Lang, LoadError};

pub const DATABRICKS_NOTEBOOK_KEY: &str = "application/vnd.databricks.v1+notebook";
pub use super::ipynb_fast::DATABRICKS_CELL_KEY;

fn json_error(e: &serde_json::Error) -> LoadError {
    LoadError {
        message: format!("invalid notebook JSON: {e}"),
        line: None,
        column: None,
    }
}

/// The notebook language from its metadata (Databricks key first, then Jupyter's).
pub fn notebook_language(meta: &Value) -> Lang {
    let candidates = [
        meta.get(DATABRICKS_NOTEBOOK_KEY)
            .and_then(|m| m.get("language")),
        meta.get("kernelspec").and_then(|m| m.get("language")),
        meta.get("language_info").and_then(|m| m.get("name")),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(Lang::from_name)
        .unwrap_or(Lang::Python)
}

fn source_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// One cell, as the loaders find it.
struct CellIn<'a> {
    cell_type: Option<Cow<'a, str>>,
    /// The cell's source in the document text (one final `\n` dropped; a `\n` follows it).
    source: std::ops::Range<usize>,
    title: Option<String>,
}

pub fn parse_ipynb(path: Arc<PathBuf>, raw: String) -> Result<Document, LoadError> {
    // The common case in one pass over the bytes (`ipynb_fast`); anything unusual (a duplicate
    // key, a cell that is not an object, invalid JSON) goes through `serde_json` and its
    // messages.
    if let Some(nb) = super::ipynb_fast::scan(&raw) {
        let meta = match nb.metadata {
            Some(m) => serde_json::from_str(m).map_err(|e| json_error(&e))?,
            None => Value::Null,
        };
        let mut json_lines = Vec::with_capacity(nb.cells.len());
        let cells: Vec<CellIn> = nb
            .cells
            .into_iter()
            .map(|c| {
                json_lines.push(c.lines);
                CellIn {
                    cell_type: c.cell_type,
                    source: c.source,
                    title: c.title,
                }
            })
            .collect();
        let doc = build(path, &meta, cells, nb.text, &json_lines);
        return Ok(with_raw(doc, raw));
    }
    parse_ipynb_general(path, raw)
}

fn with_raw(mut doc: Document, raw: String) -> Document {
    doc.raw = Some(raw);
    doc
}

/// The general loader: the whole file into a `serde_json::Value`.
pub fn parse_ipynb_general(path: Arc<PathBuf>, raw: String) -> Result<Document, LoadError> {
    let root: Value = serde_json::from_str(&raw).map_err(|e| json_error(&e))?;
    let Some(obj) = root.as_object() else {
        return Err(LoadError::new(
            "invalid notebook: the top level is not a JSON object",
        ));
    };
    let Some(cells_v) = obj.get("cells").and_then(Value::as_array) else {
        return Err(LoadError::new("invalid notebook: no \"cells\" array"));
    };
    let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
    let mut text = String::new();
    let cells: Vec<CellIn> = cells_v
        .iter()
        .map(|c| CellIn {
            cell_type: c
                .get("cell_type")
                .and_then(Value::as_str)
                .map(Cow::Borrowed),
            source: {
                let start = text.len();
                text.push_str(&source_text(c.get("source")));
                super::ipynb_fast::end_cell(&mut text, start)
            },
            title: c
                .get("metadata")
                .and_then(|m| m.get(DATABRICKS_CELL_KEY))
                .and_then(|m| m.get("title"))
                .and_then(Value::as_str)
                .map(str::to_string),
        })
        .collect();
    let json_lines = source_line_positions(&raw);
    let doc = build(path, &meta, cells, text, &json_lines);
    Ok(with_raw(doc, raw))
}

/// The document of the cells found in `text` (the cells' sources, each followed by a `\n`).
fn build(
    path: Arc<PathBuf>,
    meta: &Value,
    cells_v: Vec<CellIn>,
    text: String,
    json_lines: &[Vec<u32>],
) -> Document {
    let nb_lang = notebook_language(meta);
    let mut cells = Vec::with_capacity(cells_v.len());
    let mut file_lines: Vec<u32> =
        Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    for (index, c) in cells_v.into_iter().enumerate() {
        let cell_type = c.cell_type.as_deref().unwrap_or("code");
        let at = |i: usize| TextSize::new(i as u32);
        let range = TextRange::new(at(c.source.start), at(c.source.end));
        let src = &text[c.source.clone()];
        // JSON line of every text line of this cell.
        let n_lines = memchr::memchr_iter(b'\n', src.as_bytes()).count() + 1;
        let cell_json = json_lines.get(index);
        for k in 0..n_lines {
            let l = cell_json
                .and_then(|v| v.get(k).or(v.last()))
                .copied()
                .unwrap_or(1);
            file_lines.push(l);
        }
        let title = c.title.filter(|t| !t.is_empty());
        let (lang, run_target, magic, lines) = match cell_type {
            "markdown" => (Lang::Markdown, None, false, CellLines::Natural(range)),
            "raw" => (
                Lang::Other("raw".into()),
                None,
                false,
                CellLines::Natural(range),
            ),
            _ => classify_code_cell(&text, range, &nb_lang),
        };
        cells.push(Cell {
            index,
            lang,
            range,
            lines,
            title,
            run_target,
            magic,
        });
    }
    // The trailing `\n` of the last cell opens one more (empty) line.
    file_lines.push(file_lines.last().copied().unwrap_or(1));
    let mut doc = Document::new(path, FileKind::Ipynb, text, cells);
    doc.file_lines = Some(file_lines);
    doc
}

/// A code cell whose first non-blank line is `%lang` is in that language.
fn classify_code_cell(
    text: &str,
    range: TextRange,
    nb_lang: &Lang,
) -> (Lang, Option<(String, TextRange)>, bool, CellLines) {
    let natural = CellLines::Natural(range);
    let Some((head_idx, head)) = line_spans(text, range)
        .map(|(_, c)| c)
        .enumerate()
        .find(|(_, r)| !text[*r].trim().is_empty())
    else {
        return (nb_lang.clone(), None, false, natural);
    };
    let line = &text[head];
    let trimmed = line.trim_start();
    let Some(m) = trimmed
        .strip_prefix("%%")
        .or_else(|| trimmed.strip_prefix('%'))
    else {
        return (nb_lang.clone(), None, false, natural);
    };
    let word_end = m.find(char::is_whitespace).unwrap_or(m.len());
    let word = &m[..word_end];
    let lang = Lang::from_magic(word);
    let lead = (line.len() - m.len() + word_end) as u32;
    let rest = TextRange::new(head.start() + TextSize::new(lead), head.end());
    match lang {
        Lang::Run => {
            let arg = text[rest].trim_start();
            let off = (text[rest].len() - arg.len()) as u32;
            let target = arg.split_whitespace().next().unwrap_or("").to_string();
            let r = TextRange::at(
                rest.start() + TextSize::new(off),
                TextSize::of(target.as_str()),
            );
            (lang, Some((target, r)), true, natural)
        }
        Lang::Python | Lang::Sql | Lang::Scala | Lang::R | Lang::Markdown => {
            let mut lines = code_lines(text, range);
            lines[head_idx] = if text[rest].trim().is_empty() {
                TextRange::empty(head.end())
            } else {
                rest
            };
            for l in lines.iter_mut().take(head_idx) {
                *l = TextRange::empty(l.end());
            }
            (lang, None, true, CellLines::Explicit(lines))
        }
        // `%pip install x` in a Python notebook is its own pip cell in Databricks; other line
        // magics stay in the notebook language and IPython mode parses them.
        Lang::Pip | Lang::Shell | Lang::Fs => (lang, None, true, natural),
        _ => (nb_lang.clone(), None, false, natural),
    }
}

/// For each cell, the 1-based JSON line of each element of its `source` array (or of the
/// `source` string). A small scanner over the raw JSON that tracks the path to the values.
pub fn source_line_positions(raw: &str) -> Vec<Vec<u32>> {
    let mut s = Scanner {
        b: raw.as_bytes(),
        pos: 0,
        line: 1,
        out: Vec::new(),
    };
    s.ws();
    s.value(Ctx::Root, 0);
    s.out
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Root,
    Cells,
    Cell,
    Source,
    Other,
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    line: u32,
    out: Vec<Vec<u32>>,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                _ => break,
            }
        }
    }
    fn string(&mut self) -> Option<&str> {
        // at '"'
        let start = self.pos + 1;
        self.pos += 1;
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    return std::str::from_utf8(&self.b[start..self.pos - 1]).ok();
                }
                b'\n' => {
                    self.line += 1;
                    self.pos += 1
                }
                _ => self.pos += 1,
            }
        }
        None
    }
    /// Scan a value; `depth` bounds recursion on hostile input.
    fn value(&mut self, ctx: Ctx, depth: usize) {
        if depth > 256 {
            self.pos = self.b.len();
            return;
        }
        self.ws();
        match self.b.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                loop {
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b'"') => {
                            let key = self.string().unwrap_or("").to_string();
                            self.ws();
                            if self.b.get(self.pos) == Some(&b':') {
                                self.pos += 1;
                            }
                            let child = match (ctx, key.as_str()) {
                                (Ctx::Root, "cells") => Ctx::Cells,
                                (Ctx::Cell, "source") => Ctx::Source,
                                _ => Ctx::Other,
                            };
                            self.value(child, depth + 1);
                        }
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return;
                        }
                        _ => {
                            self.pos = self.b.len();
                            return;
                        }
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                loop {
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b']') => {
                            self.pos += 1;
                            return;
                        }
                        Some(b',') => self.pos += 1,
                        Some(_) => {
                            let child = match ctx {
                                Ctx::Cells => {
                                    self.out.push(Vec::new());
                                    Ctx::Cell
                                }
                                Ctx::Source => {
                                    if let Some(v) = self.out.last_mut() {
                                        v.push(self.line);
                                    }
                                    Ctx::Other
                                }
                                _ => Ctx::Other,
                            };
                            let before = self.pos;
                            self.value(child, depth + 1);
                            if self.pos == before {
                                self.pos = self.b.len();
                                return;
                            }
                        }
                        None => return,
                    }
                }
            }
            Some(b'"') => {
                if ctx == Ctx::Source {
                    if let Some(v) = self.out.last_mut() {
                        v.push(self.line);
                    }
                }
                self.string();
            }
            Some(_) => {
                while let Some(&c) = self.b.get(self.pos) {
                    if matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace() {
                        break;
                    }
                    self.pos += 1;
                }
            }
            None => {}
        }
    }
}

/// The notebook JSON with new texts for some cells' `source` (cell index, full source text):
/// only those values are re-encoded, in the form they had (a string stays a string, an array
/// keeps its layout); every other byte of the file is kept. A cell whose text is unchanged keeps
/// its bytes too.
pub fn patch_sources(raw: &str, sources: &[(usize, String)]) -> Result<String, String> {
    if sources.is_empty() {
        return Ok(raw.to_string());
    }
    let spans = source_spans(raw).ok_or_else(|| "cannot locate cell sources".to_string())?;
    let mut patches: Vec<(usize, usize, String)> = Vec::new();
    for (idx, text) in sources {
        let Some(&(s, e)) = spans.get(*idx).filter(|(s, e)| e > s) else {
            return Err(format!("cannot locate the source of cell {}", idx + 1));
        };
        let orig: Value =
            serde_json::from_str(&raw[s..e]).map_err(|e| format!("invalid notebook JSON: {e}"))?;
        // The loader drops one final `\n` of every cell source: put it back.
        let mut src = text.clone();
        if source_text(Some(&orig)).ends_with('\n') {
            src.push('\n');
        }
        patches.push((s, e, encode_source(raw, s, e, &src)));
    }
    patches.sort_by_key(|p| p.0);
    let mut out = String::with_capacity(raw.len());
    let mut pos = 0;
    for (s, e, text) in patches {
        if s < pos {
            return Err("two edits of the same notebook cell".into());
        }
        out.push_str(&raw[pos..s]);
        out.push_str(&text);
        pos = e;
    }
    out.push_str(&raw[pos..]);
    Ok(out)
}

/// Encode a cell source like the original value: a string stays a string; an array keeps its
/// element indentation, one element per line.
pub fn encode_source(raw: &str, s: usize, e: usize, src: &str) -> String {
    let orig = &raw[s..e];
    // Unchanged: keep the bytes (escapes, element splits, layout).
    if serde_json::from_str::<Value>(orig).ok().is_some_and(|v| {
        matches!(v, Value::String(_) | Value::Array(_)) && source_text(Some(&v)) == src
    }) {
        return orig.to_string();
    }
    // A file written with only ASCII (Python's `ensure_ascii`) stays ASCII.
    let ascii = raw.is_ascii();
    let enc = |x: &str| encode_json_string(x, ascii);
    if orig.starts_with('"') {
        return enc(src);
    }
    let nl = if raw.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<&str> = src.split_inclusive('\n').collect();
    if src.is_empty() {
        lines.clear();
    }
    if lines.is_empty() {
        return "[]".into();
    }
    // Indentation of the first element and of the closing bracket.
    let inner = &orig[1..orig.len().saturating_sub(1)];
    let elem_indent = inner
        .find('"')
        .map(|q| {
            let before = &inner[..q];
            before.rsplit('\n').next().unwrap_or("").to_string()
        })
        .filter(|w| w.chars().all(|c| c == ' ' || c == '\t'));
    let close_indent = inner
        .rsplit('\n')
        .next()
        .filter(|w| w.chars().all(|c| c == ' ' || c == '\t'))
        .map(str::to_string);
    let line_start = raw[..s].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let key_indent: String = raw[line_start..s]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let multi_line = inner.contains('\n') || inner.trim().is_empty();
    if !multi_line {
        let parts: Vec<String> = lines.iter().map(|l| enc(l)).collect();
        return format!("[{}]", parts.join(", "));
    }
    let elem_indent = elem_indent.unwrap_or_else(|| format!("{key_indent} "));
    let close_indent = close_indent.unwrap_or(key_indent);
    let mut out = String::from("[");
    for (i, l) in lines.iter().enumerate() {
        out.push_str(nl);
        out.push_str(&elem_indent);
        out.push_str(&enc(l));
        if i + 1 < lines.len() {
            out.push(',');
        }
    }
    out.push_str(nl);
    out.push_str(&close_indent);
    out.push(']');
    out
}

/// Byte spans of `cells[i].source` values in the raw JSON, in cell order.
pub fn source_spans(raw: &str) -> Option<Vec<(usize, usize)>> {
    let b = raw.as_bytes();
    let mut p = JsonPos { b, i: 0 };
    p.ws();
    let mut out = Vec::new();
    p.object(|p, key| {
        if key == "cells" {
            p.array(|p| {
                let mut span = None;
                p.object(|p, k| {
                    if k == "source" {
                        let s = p.i;
                        p.skip_value()?;
                        span = Some((s, p.i));
                        Some(())
                    } else {
                        p.skip_value()
                    }
                })?;
                out.push(span.unwrap_or((0, 0)));
                Some(())
            })
        } else {
            p.skip_value()
        }
    })?;
    Some(out)
}

struct JsonPos<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonPos<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn string(&mut self) -> Option<String> {
        let s = self.i;
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        loop {
            match self.b.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    break;
                }
                _ => self.i += 1,
            }
        }
        serde_json::from_slice(&self.b[s..self.i]).ok()
    }
    fn object(&mut self, mut f: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.ws();
        if self.b.get(self.i) != Some(&b'{') {
            return None;
        }
        self.i += 1;
        loop {
            self.ws();
            match self.b.get(self.i)? {
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                b',' => self.i += 1,
                b'"' => {
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    self.ws();
                    f(self, &k)?;
                }
                _ => return None,
            }
        }
    }
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.ws();
        if self.b.get(self.i) != Some(&b'[') {
            return None;
        }
        self.i += 1;
        loop {
            self.ws();
            match self.b.get(self.i)? {
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                b',' => self.i += 1,
                _ => f(self)?,
            }
        }
    }
    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        match self.b.get(self.i)? {
            b'{' => self.object(|p, _| p.skip_value()),
            b'[' => self.array(|p| p.skip_value()),
            b'"' => self.string().map(|_| ()),
            _ => {
                while let Some(c) = self.b.get(self.i) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

/// A JSON string literal; with `ascii`, non-ASCII characters are `\\uXXXX` escapes.
fn encode_json_string(x: &str, ascii: bool) -> String {
    let s = serde_json::to_string(x).unwrap_or_else(|_| "\"\"".into());
    if !ascii || s.is_ascii() {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for u in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NB: &str = r#"{
 "cells": [
  {
   "cell_type": "code",
   "metadata": {"application/vnd.databricks.v1+cell": {"title": "Setup"}},
   "source": [
    "import json\n",
    "x = 1"
   ]
  },
  {
   "cell_type": "code",
   "metadata": {},
   "source": ["%sql\n", "SELECT 1"]
  },
  {
   "cell_type": "code",
   "metadata": {},
   "source": "%run ./lib"
  }
 ],
 "metadata": {"application/vnd.databricks.v1+notebook": {"language": "python"}},
 "nbformat": 4,
 "nbformat_minor": 0
}"#;

    #[test]
    fn loads_cells_and_positions() {
        let doc = parse_ipynb(Arc::new(PathBuf::from("n.ipynb")), NB.to_string()).unwrap();
        assert_eq!(doc.cells.len(), 3);
        assert_eq!(doc.cells[0].lang, Lang::Python);
        assert_eq!(doc.cells[0].title.as_deref(), Some("Setup"));
        assert_eq!(doc.cells[1].lang, Lang::Sql);
        assert_eq!(doc.cells[2].lang, Lang::Run);
        assert_eq!(doc.cells[2].run_target.as_ref().unwrap().0, "./lib");
        let py = doc.python().unwrap();
        let stmt = &py.module().body[1];
        let r = py.doc_range(stmt);
        assert_eq!(&doc.text[r], "x = 1");
        let res = doc.resolve(r);
        assert_eq!(
            (res.line, res.column, res.cell, res.file_line),
            (2, 1, Some(1), 8)
        );
    }

    #[test]
    fn truncated_json_is_an_error_with_position() {
        // serde_json puts the position in the message.
        let err =
            parse_ipynb(Arc::new(PathBuf::from("n.ipynb")), NB[..40].to_string()).unwrap_err();
        assert!(err.message.contains("line 4 column 22"), "{}", err.message);
    }

    #[test]
    fn patched_sources_keep_the_file_style() {
        let raw = "{\"cells\": [{\"source\": [\"a = \\\"\\u00e9\\\"\\n\", \"b\"]}, {\"source\": \"c\\n\"}]}";
        // Unchanged text: the value keeps its bytes (escapes, element splits).
        assert_eq!(
            patch_sources(raw, &[(0, "a = \"\u{e9}\"\nb".into())]).unwrap(),
            raw
        );
        // Changed: an ASCII-only file stays ASCII; a final newline stays.
        let out = patch_sources(raw, &[(0, "\u{e9}".into()), (1, "d".into())]).unwrap();
        assert_eq!(
            out,
            "{\"cells\": [{\"source\": [\"\\u00e9\"]}, {\"source\": \"d\\n\"}]}"
        );
        assert!(patch_sources(raw, &[(5, "x".into())]).is_err());
    }
}
