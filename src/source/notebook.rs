//! Databricks source-format notebooks (`.py`, `.sql`, `.scala`, `.r`).
//!
//! ```text
//! # Databricks notebook source
//! x = 1
//!
//! # COMMAND ----------
//!
//! # DBTITLE 1,Load
//! # MAGIC %sql
//! # MAGIC SELECT 1
//! ```
//! The header comment is `#` for Python and R, `--` for SQL and `//` for Scala. A BOM and CRLF
//! line ends are tolerated (the Databricks CLI is stricter).

use std::path::PathBuf;
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};

use super::{Cell, CellLines, Document, FileKind, Lang};

const HEADER: &str = "Databricks notebook source";

/// Detect a source-notebook header in the first bytes of a file. Returns the *comment family*:
/// `Python` for `#` (used by `.py` and `.r`), `Sql` for `--`, `Scala` for `//`.
pub fn detect_header(head: &[u8]) -> Option<Lang> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..end]).ok()?.trim_end();
    let (lang, rest) = if let Some(r) = line.strip_prefix('#') {
        (Lang::Python, r)
    } else if let Some(r) = line.strip_prefix("--") {
        (Lang::Sql, r)
    } else if let Some(r) = line.strip_prefix("//") {
        (Lang::Scala, r)
    } else {
        return None;
    };
    let rest = rest.trim_start();
    // Old exports: `// Databricks notebook source exported at <date>`.
    if rest == HEADER || rest.starts_with("Databricks notebook source exported at") {
        Some(lang)
    } else {
        None
    }
}

/// The lines of `text[range]`: (full line range including terminator, content range).
pub struct LineSpans<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> LineSpans<'a> {
    pub fn new(text: &'a str, range: TextRange) -> Self {
        let end = usize::from(range.end());
        LineSpans {
            bytes: &text.as_bytes()[..end],
            pos: usize::from(range.start()),
            end,
        }
    }
}

impl Iterator for LineSpans<'_> {
    type Item = (TextRange, TextRange);
    fn next(&mut self) -> Option<(TextRange, TextRange)> {
        let (pos, end, bytes) = (self.pos, self.end, self.bytes);
        if pos >= end {
            return None;
        }
        let (content_end, next) = match memchr::memchr(b'\n', &bytes[pos..]).map(|i| pos + i) {
            Some(i) => {
                let ce = if i > pos && bytes[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                (ce, i + 1)
            }
            None => (end, end),
        };
        self.pos = next;
        Some((
            TextRange::new(TextSize::new(pos as u32), TextSize::new(next as u32)),
            TextRange::new(TextSize::new(pos as u32), TextSize::new(content_end as u32)),
        ))
    }
}

/// Iterate the lines of `text[range]`: (full line range including terminator, content range).
pub fn line_spans(text: &str, range: TextRange) -> LineSpans<'_> {
    LineSpans::new(text, range)
}

/// Content ranges (no line terminators) of every line in `range`.
pub fn code_lines(text: &str, range: TextRange) -> Vec<TextRange> {
    line_spans(text, range).map(|(_, c)| c).collect()
}

/// The line before the line boundary `end` (a line start, or the end of the text), not
/// starting before `lo`: (full line range, content range), as [`line_spans`] gives it.
fn line_before(bytes: &[u8], lo: usize, end: usize) -> Option<(TextRange, TextRange)> {
    if end <= lo {
        return None;
    }
    let terminated = bytes[end - 1] == b'\n';
    let body_end = if terminated { end - 1 } else { end };
    let start = memchr::memrchr(b'\n', &bytes[lo..body_end]).map_or(lo, |i| lo + i + 1);
    let content_end = if terminated && body_end > start && bytes[body_end - 1] == b'\r' {
        body_end - 1
    } else {
        body_end
    };
    let at = |i: usize| TextSize::new(i as u32);
    Some((
        TextRange::new(at(start), at(end)),
        TextRange::new(at(start), at(content_end)),
    ))
}

fn is_separator(line: &str, prefix: &str) -> bool {
    line.strip_prefix(prefix)
        .map(|r| r.trim() == "COMMAND ----------")
        .unwrap_or(false)
}

/// Strip `<prefix> MAGIC` from a line; returns the offset (in the line) where content starts.
fn magic_content_start(line: &str, prefix: &str) -> Option<usize> {
    let rest = line.strip_prefix(prefix)?;
    let after = rest.strip_prefix(" MAGIC")?;
    if after.is_empty() {
        return Some(line.len());
    }
    if let Some(stripped) = after.strip_prefix(' ') {
        return Some(line.len() - stripped.len());
    }
    None
}

/// Parse a source-format notebook. `lang` is the notebook language (from the extension).
///
/// Cells are found from their separators (one substring search over the text), and a cell is
/// read line by line only when its first code line carries a `MAGIC` prefix: the lines of the
/// other cells (most of them) are their natural lines ([`CellLines::Natural`]).
pub fn parse_source_notebook(path: Arc<PathBuf>, lang: Lang, text: String) -> Document {
    static SEPARATOR: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"COMMAND ----------"));
    let prefix = lang.comment_prefix();
    let bytes = text.as_bytes();
    let len = bytes.len();
    // The header line, when the file starts with one, belongs to no cell.
    let mut start = 0;
    if let Some((full, content)) = line_spans(&text, TextRange::up_to(TextSize::of(&text))).next() {
        let s = &text[content];
        let s = s.strip_prefix('\u{feff}').unwrap_or(s);
        if detect_header(s.as_bytes()).is_some() {
            start = usize::from(full.end());
        }
    }
    // Separator lines first (line start, next line start), so the cells are allocated once.
    let mut separators = Vec::new();
    let mut seg_start = start;
    let mut from = start;
    while let Some(i) = SEPARATOR.find(&bytes[from..]).map(|i| from + i) {
        // The line of the match: from the line break before it to the one after.
        let next = memchr::memchr(b'\n', &bytes[i..]).map_or(len, |k| i + k + 1);
        from = next;
        let Some((full, content)) = line_before(bytes, seg_start, next) else {
            continue;
        };
        if is_separator(&text[content], prefix) {
            separators.push((usize::from(full.start()), next));
            seg_start = next;
        }
    }
    let mut cells = Vec::with_capacity(separators.len() + 1);
    let mut seg_start = start;
    for (line_start, next) in separators {
        if let Some(cell) = segment_cell(&text, seg_start, line_start, prefix, &lang, cells.len()) {
            cells.push(cell);
        }
        seg_start = next;
    }
    if let Some(cell) = segment_cell(&text, seg_start, len, prefix, &lang, cells.len()) {
        cells.push(cell);
    }
    Document::new(path, FileKind::SourceNotebook(lang), text, cells)
}

/// The cell of the lines in `text[lo..hi]` (both line boundaries), `None` when they are all
/// blank.
fn segment_cell(
    text: &str,
    lo: usize,
    hi: usize,
    prefix: &str,
    lang: &Lang,
    index: usize,
) -> Option<Cell> {
    let bytes = text.as_bytes();
    let seg = TextRange::new(TextSize::new(lo as u32), TextSize::new(hi as u32));
    let is_blank = |r: TextRange| is_blank_str(&text[r]);
    let (first_full, first) = line_spans(text, seg).find(|(_, c)| !is_blank(*c))?;
    let mut end = hi;
    let last = loop {
        let (full, content) = line_before(bytes, lo, end)?;
        if !is_blank(content) {
            break content;
        }
        end = usize::from(full.start());
    };
    let range = TextRange::new(first.start(), last.end());
    let mut title = None;
    let mut body_start = first_full.start();
    if let Some(rest) = text[first].strip_prefix(prefix) {
        if let Some(t) = rest.trim_start().strip_prefix("DBTITLE") {
            let t = t.trim();
            title = Some(t.split_once(',').map(|(_, t)| t).unwrap_or(t).to_string());
            body_start = first_full.end();
        }
    }
    let body = TextRange::new(body_start.min(range.end()), range.end());
    let first_code = line_spans(text, body).find(|(_, c)| !is_blank(*c));
    if let Some((_, c)) = first_code {
        if magic_content_start(&text[c], prefix).is_some() {
            // Maybe a magic cell (every code line must carry the prefix): line by line.
            let lines: Vec<(TextRange, TextRange)> = line_spans(text, seg).collect();
            return build_cell(text, &lines, prefix, lang, index);
        }
    }
    Some(Cell {
        index,
        lang: lang.clone(),
        range,
        lines: CellLines::Natural(body),
        title,
        run_target: None,
        magic: false,
    })
}

/// `s.trim().is_empty()`, decided on the bytes while they are ASCII (most lines): `str::trim`
/// tests every char for Unicode white space.
fn is_blank_str(s: &str) -> bool {
    for &c in s.as_bytes() {
        match c {
            // The ASCII characters `char::is_whitespace` accepts (U+000B included).
            b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r' => {}
            0x80.. => return s.trim().is_empty(),
            _ => return false,
        }
    }
    true
}

fn build_cell(
    text: &str,
    lines: &[(TextRange, TextRange)],
    prefix: &str,
    lang: &Lang,
    index: usize,
) -> Option<Cell> {
    let is_blank = |r: &TextRange| is_blank_str(&text[*r]);
    let first = lines.iter().position(|(_, c)| !is_blank(c))?;
    let last = lines.iter().rposition(|(_, c)| !is_blank(c))?;
    let lines = &lines[first..=last];
    let range = TextRange::new(lines[0].1.start(), lines[lines.len() - 1].1.end());
    let mut body = lines;
    let mut title = None;
    if let Some(rest) = text[body[0].1].strip_prefix(prefix) {
        if let Some(t) = rest.trim_start().strip_prefix("DBTITLE") {
            let t = t.trim();
            title = Some(t.split_once(',').map(|(_, t)| t).unwrap_or(t).to_string());
            body = &body[1..];
        }
    }
    let magic_lines: Option<Vec<TextRange>> = body
        .iter()
        .filter(|(_, c)| !is_blank(c))
        .map(|(_, c)| {
            magic_content_start(&text[*c], prefix)
                .map(|off| TextRange::new(c.start() + TextSize::new(off as u32), c.end()))
        })
        .collect();
    match magic_lines {
        Some(ml) if !ml.is_empty() => {
            // Magic cell: every non-blank line carries the MAGIC prefix. Keep blank lines in place
            // so line structure is preserved.
            let mut code: Vec<TextRange> = Vec::with_capacity(body.len());
            for (_, c) in body {
                if is_blank(c) {
                    code.push(TextRange::empty(c.end()));
                } else {
                    let off = magic_content_start(&text[*c], prefix).unwrap_or(0);
                    code.push(TextRange::new(
                        c.start() + TextSize::new(off as u32),
                        c.end(),
                    ));
                }
            }
            // Skip leading empty magic lines to find the `%lang` line.
            let head_idx = code
                .iter()
                .position(|r| !is_blank_str(&text[*r]))
                .unwrap_or(0);
            let head = code[head_idx];
            let head_text = &text[head];
            let trimmed = head_text.trim_start();
            let (cell_lang, run_target, code_lines) = if let Some(m) = trimmed.strip_prefix('%') {
                let word_end = m.find(|c: char| c.is_whitespace()).unwrap_or(m.len());
                let word = &m[..word_end];
                let cl = Lang::from_magic(word);
                let lead = (head_text.len() - trimmed.len()) as u32 + 1 + word_end as u32;
                let rest_range = TextRange::new(head.start() + TextSize::new(lead), head.end());
                match cl {
                    Lang::Run => {
                        let arg = text[rest_range].trim();
                        let off = text[rest_range].find(arg).unwrap_or(0) as u32;
                        let r = TextRange::at(
                            rest_range.start() + TextSize::new(off),
                            TextSize::of(arg),
                        );
                        let target = arg.split_whitespace().next().unwrap_or("").to_string();
                        let r = TextRange::at(r.start(), TextSize::of(target.as_str()));
                        (cl, Some((target, r)), code[head_idx..].to_vec())
                    }
                    Lang::Python | Lang::Sql | Lang::Scala | Lang::R | Lang::Markdown => {
                        // The `%lang` line is not code; the rest of the first line is
                        // (`%python time.sleep(60)`: Databricks runs it), without the blanks
                        // after the magic word, which are not indentation.
                        let mut v = Vec::with_capacity(code.len());
                        let rest = &text[rest_range];
                        if !rest.trim().is_empty() {
                            let blanks = rest.len() - rest.trim_start().len();
                            v.push(TextRange::new(
                                rest_range.start() + TextSize::new(blanks as u32),
                                rest_range.end(),
                            ));
                        } else {
                            v.push(TextRange::empty(head.end()));
                        }
                        v.extend_from_slice(&code[head_idx + 1..]);
                        (cl, None, v)
                    }
                    other => (other, None, code[head_idx..].to_vec()),
                }
            } else {
                (Lang::Other("magic".into()), None, code)
            };
            Some(Cell {
                index,
                lang: cell_lang,
                range,
                lines: CellLines::Explicit(code_lines),
                title,
                run_target,
                magic: true,
            })
        }
        _ => Some(Cell {
            index,
            lang: lang.clone(),
            range,
            lines: CellLines::Natural(match (body.first(), body.last()) {
                (Some(a), Some(b)) => TextRange::new(a.1.start(), b.1.end()),
                _ => TextRange::empty(range.end()),
            }),
            title,
            run_target: None,
            magic: false,
        }),
    }
}

#[cfg(test)]
mod reference {
    use super::*;

    /// The line-by-line parser the one above replaced: the oracle of the differential test.
    pub(super) fn parse_reference(path: Arc<PathBuf>, lang: Lang, text: String) -> Document {
        let prefix = lang.comment_prefix();
        let full = TextRange::up_to(TextSize::of(&text));
        let mut cells = Vec::new();
        let mut current: Vec<(TextRange, TextRange)> = Vec::new();
        let mut first = true;
        let flush = |current: &mut Vec<(TextRange, TextRange)>, cells: &mut Vec<Cell>| {
            if let Some(cell) = build_cell(&text, current, prefix, &lang, cells.len()) {
                cells.push(cell);
            }
            current.clear();
        };
        for (line_full, content) in line_spans(&text, full) {
            let s = &text[content];
            if first {
                first = false;
                let s2 = s.strip_prefix('\u{feff}').unwrap_or(s);
                if detect_header(s2.as_bytes()).is_some() {
                    continue;
                }
            }
            if is_separator(s, prefix) {
                flush(&mut current, &mut cells);
                continue;
            }
            current.push((line_full, content));
        }
        flush(&mut current, &mut cells);
        Document::new(path, FileKind::SourceNotebook(lang), text, cells)
    }
}

#[cfg(test)]
mod blank_tests {
    proptest::proptest! {
        /// The byte test gives what `trim` gives, ASCII or not.
        #[test]
        fn blank_is_trim_empty(s in "[ \t\n\r\u{b}\u{c}\u{85}\u{a0}\u{2028}\u{3000}a#é]{0,12}") {
            proptest::prop_assert_eq!(super::is_blank_str(&s), s.trim().is_empty());
        }
    }

    #[test]
    fn ascii_white_space_is_chars_white_space() {
        for b in 0u8..0x80 {
            let c = b as char;
            assert_eq!(
                super::is_blank_str(&c.to_string()),
                c.is_whitespace(),
                "{b:#x}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, lang: Lang) -> Document {
        parse_source_notebook(Arc::new(PathBuf::from("nb.py")), lang, text.to_string())
    }

    #[test]
    fn header_detection() {
        assert_eq!(
            detect_header(b"# Databricks notebook source\nx"),
            Some(Lang::Python)
        );
        assert_eq!(
            detect_header(b"\xEF\xBB\xBF# Databricks notebook source\r\n"),
            Some(Lang::Python)
        );
        assert_eq!(
            detect_header(b"-- Databricks notebook source"),
            Some(Lang::Sql)
        );
        assert_eq!(
            detect_header(b"// Databricks notebook source exported at Tue, 1 Jan"),
            Some(Lang::Scala)
        );
        assert_eq!(detect_header(b"# Databricks notebook"), None);
        assert_eq!(detect_header(b"import os"), None);
    }

    #[test]
    fn cells_magic_and_titles() {
        let src = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n# DBTITLE 1,Load data\n# MAGIC %sql\n# MAGIC SELECT 1\n\n# COMMAND ----------\n\n# MAGIC %run ./helpers/lib\n\n# COMMAND ----------\n\n# MAGIC %python\n# MAGIC y = 2\n# MAGIC\n# MAGIC z = 3\n";
        let doc = load(src, Lang::Python);
        assert_eq!(doc.cells.len(), 4);
        assert_eq!(doc.cells[0].lang, Lang::Python);
        assert_eq!(&doc.text[doc.cells[0].lines.to_vec(&doc.text)[0]], "x = 1");
        assert_eq!(doc.cells[1].lang, Lang::Sql);
        assert_eq!(doc.cells[1].title.as_deref(), Some("Load data"));
        assert_eq!(doc.cells[2].lang, Lang::Run);
        let (t, r) = doc.cells[2].run_target.clone().unwrap();
        assert_eq!(t, "./helpers/lib");
        assert_eq!(&doc.text[r], "./helpers/lib");
        assert_eq!(doc.cells[3].lang, Lang::Python);
        let code: Vec<&str> = doc.cells[3]
            .lines
            .iter(&doc.text)
            .map(|r| &doc.text[r])
            .collect();
        assert_eq!(code, vec!["", "y = 2", "", "z = 3"]);
    }

    #[test]
    fn code_on_the_magic_line_is_code() {
        let src = "-- Databricks notebook source\nSELECT 1\n\n-- COMMAND ----------\n\n-- MAGIC %python time.sleep(60) # wait\n\n-- COMMAND ----------\n\n-- MAGIC %python   x = 1\n-- MAGIC y = x\n";
        let doc = load(src, Lang::Sql);
        assert_eq!(doc.cells.len(), 3);
        let code = |i: usize| -> Vec<String> {
            doc.cells[i]
                .lines
                .iter(&doc.text)
                .map(|r| doc.text[r].to_string())
                .collect()
        };
        assert_eq!(doc.cells[1].lang, Lang::Python);
        assert_eq!(code(1), vec!["time.sleep(60) # wait"]);
        assert_eq!(code(2), vec!["x = 1", "y = x"]);
        assert!(doc.python().unwrap().errors().is_empty());
    }

    #[test]
    fn sql_notebook_with_python_cell_and_crlf() {
        let src = "-- Databricks notebook source\r\nSELECT 1\r\n\r\n-- COMMAND ----------\r\n\r\n-- MAGIC %python\r\n-- MAGIC dbutils.notebook.run(\"x\", 0)\r\n";
        let doc = load(src, Lang::Sql);
        assert_eq!(doc.cells.len(), 2);
        assert_eq!(doc.cells[0].lang, Lang::Sql);
        assert_eq!(doc.cells[1].lang, Lang::Python);
        assert_eq!(
            &doc.text[doc.cells[1].lines.to_vec(&doc.text)[1]],
            "dbutils.notebook.run(\"x\", 0)"
        );
    }
}

#[cfg(test)]
mod differential {
    use super::*;

    /// What a cell looks like to its users, whichever way its lines are stored.
    fn view(doc: &Document) -> Vec<String> {
        doc.cells
            .iter()
            .map(|c| {
                format!(
                    "{} {:?} {:?} {:?} {:?} {:?} {}",
                    c.index,
                    c.lang,
                    c.range,
                    c.title,
                    c.run_target,
                    c.lines.to_vec(&doc.text),
                    c.magic
                )
            })
            .collect()
    }

    const PIECES: &[&str] = &[
        "# Databricks notebook source",
        "-- Databricks notebook source",
        "# COMMAND ----------",
        "#  COMMAND ----------  ",
        "-- COMMAND ----------",
        "x = 1 # COMMAND ----------",
        "# COMMAND ---------- x",
        "# MAGIC %sql",
        "# MAGIC %run ./helpers",
        "# MAGIC %python",
        "# MAGIC %md",
        "# MAGIC SELECT 1",
        "# MAGIC",
        "# MAGIC ",
        "-- MAGIC %python",
        "-- MAGIC dbutils.notebook.run('x', 0)",
        "# DBTITLE 1,Load",
        "-- DBTITLE 0,Title",
        "",
        " ",
        "\t",
        "\u{3000}",
        "import os",
        "y = 2",
        "SELECT 1",
        "é = 1",
        "\u{feff}# Databricks notebook source",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The separator-search parser gives the cells, titles, languages and code lines the
        /// line-by-line parser gave, for every line ending and final newline.
        #[test]
        fn same_cells_as_the_line_by_line_parser(
            picks in proptest::collection::vec(0..PIECES.len(), 0..24),
            crlf in proptest::collection::vec(proptest::bool::ANY, 24),
            final_newline in proptest::bool::ANY,
            sql in proptest::bool::ANY,
        ) {
            let mut text = String::new();
            for (k, p) in picks.iter().enumerate() {
                if k > 0 {
                    text.push_str(if crlf[k] { "\r\n" } else { "\n" });
                }
                text.push_str(PIECES[*p]);
            }
            if final_newline {
                text.push('\n');
            }
            let lang = if sql { Lang::Sql } else { Lang::Python };
            let path = Arc::new(PathBuf::from("nb.py"));
            let new = parse_source_notebook(path.clone(), lang.clone(), text.clone());
            let old = reference::parse_reference(path, lang, text);
            proptest::prop_assert_eq!(view(&new), view(&old));
        }
    }
}
