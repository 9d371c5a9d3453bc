//! The common case of `.ipynb` loading in one pass over the bytes: a strict JSON scanner that
//! validates the whole file and, on the way, takes out the only parts bricklint reads (every
//! cell's type, source, source line numbers and Databricks title, and the notebook metadata).
//! Outputs and everything else are validated and skipped without being built.
//!
//! Anything unusual returns `None` and the caller falls back to the general path
//! (`serde_json` into a `Value`), which gives the same result for every valid notebook and the
//! error messages for invalid ones: a duplicate key that matters, a `\u` escape of a UTF-16
//! surrogate, a cell that is not an object, a source that is not a string or an array of
//! strings, nesting deeper than `serde_json` allows, and every JSON syntax error.

use std::borrow::Cow;

pub const DATABRICKS_CELL_KEY: &str = "application/vnd.databricks.v1+cell";

/// One cell as found.
pub(super) struct FastCell<'a> {
    /// `None` when missing or not a string (read as a code cell).
    pub cell_type: Option<Cow<'a, str>>,
    /// The source (array elements joined) in [`FastNotebook::text`], without its final `\n`.
    pub source: std::ops::Range<usize>,
    /// 1-based line in the file of each source element (or of the source string).
    pub lines: Vec<u32>,
    /// `metadata["application/vnd.databricks.v1+cell"]["title"]` when it is a string.
    pub title: Option<String>,
}

pub(super) struct FastNotebook<'a> {
    pub cells: Vec<FastCell<'a>>,
    /// The raw text of the top-level `metadata` value.
    pub metadata: Option<&'a str>,
    /// The document text: each cell's source (one final `\n` dropped) and a `\n`, decoded
    /// straight from the JSON strings.
    pub text: String,
}

/// `serde_json`'s recursion limit: deeper input goes to the general path and its error.
const MAX_DEPTH: usize = 127;

struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Line number at `pos`: the newlines skipped so far plus one (in valid JSON every
    /// newline is whitespace between tokens, which only [`Scan::ws`] skips).
    line: u32,
    /// The document text being built ([`FastNotebook::text`]).
    text: String,
}

/// End the cell whose source was appended to the document text from `start`: one final `\n`
/// dropped (Jupyter's line list ends each line but the last with it), then the `\n` that
/// separates cells. Returns the source's range. Both loaders lay out the text with this.
pub(super) fn end_cell(text: &mut String, start: usize) -> std::ops::Range<usize> {
    if text.len() > start && text.ends_with('\n') {
        text.pop();
    }
    let end = text.len();
    text.push('\n');
    start..end
}

pub(super) fn scan(raw: &str) -> Option<FastNotebook<'_>> {
    let mut p = Scan {
        s: raw,
        b: raw.as_bytes(),
        pos: 0,
        line: 1,
        // Decoded sources are shorter than the file: one allocation, only the used part of
        // which is ever touched.
        text: String::with_capacity(raw.len()),
    };
    p.ws();
    p.expect(b'{')?;
    let mut cells = None;
    let mut metadata = None;
    p.members(|p, key| {
        match key {
            "cells" if cells.is_none() => cells = Some(p.cells()?),
            "metadata" if metadata.is_none() => {
                let start = p.pos;
                p.value(1)?;
                metadata = Some(&p.s[start..p.pos]);
            }
            "cells" | "metadata" => return None,
            _ => p.value(1)?,
        }
        Some(())
    })?;
    p.ws();
    if p.pos != p.b.len() {
        return None;
    }
    Some(FastNotebook {
        cells: cells?,
        metadata,
        text: p.text,
    })
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(c @ (b' ' | b'\t' | b'\n' | b'\r')) = self.peek() {
            self.line += u32::from(c == b'\n');
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.pos += 1)
    }

    /// 1-based line of the current position.
    fn line_now(&self) -> u32 {
        self.line
    }

    /// The members of an object whose `{` was just consumed: `f(self, key)` must consume the
    /// value.
    fn members(&mut self, mut f: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            f(self, &key)?;
            self.ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The elements of an array whose `[` was just consumed: `f(self)` must consume each.
    fn elements(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.ws();
            f(self)?;
            self.ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn cells(&mut self) -> Option<Vec<FastCell<'a>>> {
        self.expect(b'[')?;
        let mut cells = Vec::new();
        self.elements(|p| {
            cells.push(p.cell()?);
            Some(())
        })?;
        Some(cells)
    }

    fn cell(&mut self) -> Option<FastCell<'a>> {
        self.expect(b'{')?;
        let mut cell_type: Option<Option<Cow<'a, str>>> = None;
        let mut source: Option<(std::ops::Range<usize>, Vec<u32>)> = None;
        let mut title: Option<Option<String>> = None;
        self.members(|p, key| {
            match key {
                "cell_type" if cell_type.is_none() => {
                    cell_type = Some(if p.peek() == Some(b'"') {
                        Some(p.string()?)
                    } else {
                        p.value(3)?;
                        None
                    });
                }
                "source" if source.is_none() => source = Some(p.source()?),
                "metadata" if title.is_none() => title = Some(p.cell_title()?),
                "cell_type" | "source" | "metadata" => return None,
                _ => p.value(3)?,
            }
            Some(())
        })?;
        let (source, lines) = match source {
            Some(s) => s,
            None => {
                // No source: an empty cell, still a line of the text.
                let at = self.text.len();
                self.text.push('\n');
                (at..at, Vec::new())
            }
        };
        Some(FastCell {
            cell_type: cell_type.flatten(),
            source,
            lines,
            title: title.flatten(),
        })
    }

    /// A `source`: a string, or an array of strings, decoded onto the end of the document text
    /// (one final `\n` dropped, a `\n` added): its range there, and the JSON line of each part.
    fn source(&mut self) -> Option<(std::ops::Range<usize>, Vec<u32>)> {
        let start = self.text.len();
        let mut text = std::mem::take(&mut self.text);
        let lines = match self.peek()? {
            b'"' => {
                let line = self.line_now();
                let r = self.string_into(&mut text);
                self.text = text;
                r?;
                vec![line]
            }
            b'[' => {
                self.pos += 1;
                let mut lines = Vec::new();
                let r = self.elements(|p| {
                    if p.peek() != Some(b'"') {
                        return None;
                    }
                    lines.push(p.line_now());
                    p.string_into(&mut text)
                });
                self.text = text;
                r?;
                lines
            }
            _ => {
                self.text = text;
                return None;
            }
        };
        Some((end_cell(&mut self.text, start), lines))
    }

    /// A cell's `metadata`: its Databricks title when it is a string.
    fn cell_title(&mut self) -> Option<Option<String>> {
        if self.peek() != Some(b'{') {
            self.value(3)?;
            return Some(None);
        }
        self.pos += 1;
        let mut title: Option<Option<String>> = None;
        self.members(|p, key| {
            if key != DATABRICKS_CELL_KEY {
                return p.value(4);
            }
            if title.is_some() {
                return None;
            }
            if p.peek() != Some(b'{') {
                title = Some(None);
                return p.value(4);
            }
            p.pos += 1;
            let mut t: Option<Option<String>> = None;
            p.members(|p, key| {
                if key != "title" {
                    return p.value(5);
                }
                if t.is_some() {
                    return None;
                }
                t = Some(if p.peek() == Some(b'"') {
                    Some(p.string()?.into_owned())
                } else {
                    p.value(5)?;
                    None
                });
                Some(())
            })?;
            title = Some(t.flatten());
            Some(())
        })?;
        Some(title.flatten())
    }

    /// Validate and skip any value.
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                self.members(|p, _| p.value(depth + 1))
            }
            b'[' => {
                self.pos += 1;
                self.elements(|p| p.value(depth + 1))
            }
            b'"' => self.skip_string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.pos..]
            .starts_with(word)
            .then(|| self.pos += word.len())
    }

    /// JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// Validate a string at `"` and move past it; returns whether it holds escapes and the
    /// range of its contents.
    fn string_span(&mut self) -> Option<(usize, usize, bool)> {
        self.expect(b'"')?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let i = self.pos + memchr::memchr2(b'"', b'\\', &self.b[self.pos..])?;
            // Control characters must be escaped. (A fold without early exit: vectorized.)
            if self.b[self.pos..i]
                .iter()
                .fold(false, |acc, &c| acc | (c < 0x20))
            {
                return None;
            }
            self.pos = i + 1;
            if self.b[i] == b'"' {
                return Some((start, i, escaped));
            }
            escaped = true;
            match *self.b.get(self.pos)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 1,
                b'u' => {
                    let hex = self.b.get(self.pos + 1..self.pos + 5)?;
                    let s = std::str::from_utf8(hex).ok()?;
                    let cp = u32::from_str_radix(s, 16).ok()?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) || (0xD800..0xE000).contains(&cp) {
                        return None;
                    }
                    self.pos += 5;
                }
                _ => return None,
            }
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        self.string_span().map(|_| ())
    }

    /// A string's value (borrowed when it has no escapes).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let at = self.pos;
        let (s, e, escaped) = self.string_span()?;
        if !escaped {
            return Some(Cow::Borrowed(&self.s[s..e]));
        }
        self.pos = at;
        let mut out = String::with_capacity(e - s);
        self.string_into(&mut out)?;
        Some(Cow::Owned(out))
    }

    /// A string's value, appended to `out`: validated and decoded in one pass (source lines are
    /// short strings, most of them ending in an escaped `\n`). The same strings as
    /// [`Scan::string_span`] are accepted; on `None`, `out` holds a partial value.
    fn string_into(&mut self, out: &mut String) -> Option<()> {
        self.expect(b'"')?;
        loop {
            let start = self.pos;
            let i = start + memchr::memchr2(b'"', b'\\', &self.b[start..])?;
            // Control characters must be escaped. (A fold without early exit: vectorized.)
            if self.b[start..i]
                .iter()
                .fold(false, |acc, &c| acc | (c < 0x20))
            {
                return None;
            }
            // `start` follows a quote or an escape and `i` is at one: both char boundaries.
            out.push_str(&self.s[start..i]);
            self.pos = i + 1;
            if self.b[i] == b'"' {
                return Some(());
            }
            let c = match *self.b.get(self.pos)? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hex = self.b.get(self.pos + 1..self.pos + 5)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    let cp = hex.iter().fold(0u32, |acc, &h| {
                        acc * 16 + (h as char).to_digit(16).unwrap_or(0)
                    });
                    // Surrogates (pairs included) go to the general path.
                    let c = char::from_u32(cp)?;
                    self.pos += 4;
                    c
                }
                _ => return None,
            };
            out.push(c);
            self.pos += 1;
        }
    }
}
