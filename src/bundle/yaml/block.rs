//! The first, fastest path of [`super::parse`]: a line scanner for the block-style YAML that
//! bundle files are made of (indented mappings and lists, one-line scalars, comments).
//!
//! It builds the tree that the event path ([`super::parse_fast`]) builds, with the same spans,
//! and gives up (`None`) on anything else: flow collections (`[a, b]`, `{k: v}`), block scalars
//! (`|`, `>`), scalars over several lines, escapes in quoted scalars, anchors, aliases, tags,
//! merge keys, explicit keys (`?`), document markers, directives, tabs, `\r`, duplicate keys,
//! ambiguous plain scalars (see [`super::plain_scalar`]), and anything the YAML grammar
//! rejects. The next path then decides, with the parser's own error messages.
//! `block_scanner_matches_the_event_path` checks the trees on every fixture and on generated
//! documents.

use std::path::PathBuf;
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};

use super::{plain_scalar, widen_collection, Entry, Loc, Node, Value};
use crate::config::Limits;

/// A line with content (blank and comment-only lines are left out).
#[derive(Clone, Copy)]
struct Line {
    /// Column where the content starts (spaces before it). For a compact mapping in a list item
    /// (`- key: value`) the item's line is re-read from the key, at the key's column.
    indent: usize,
    /// Byte offset of the content.
    start: usize,
    /// Byte offset of the end of the line (its `\n`, or the end of the text).
    end: usize,
}

struct Scanner<'a> {
    file: &'a Arc<PathBuf>,
    text: &'a str,
    lines: Vec<Line>,
    pos: usize,
    nodes: usize,
    max_depth: usize,
}

/// At most this many nodes (as the event path).
const MAX_NODES: usize = 500_000;

/// This path recurses once per level: deeper documents (rare in bundles) go to the event
/// path, which keeps its own stack, whatever `[limits] max-nesting` allows.
const MAX_DEPTH: usize = 128;

/// Parse `text` when it is plain block YAML (see the module documentation); `None` otherwise.
pub(super) fn parse(file: &Arc<PathBuf>, text: &str, limits: &Limits) -> Option<Node> {
    if text.len() > u32::MAX as usize
        || text.starts_with('\u{feff}')
        || memchr::memchr2(b'\t', b'\r', text.as_bytes()).is_some()
    {
        return None;
    }
    let mut lines = Vec::with_capacity(text.len() / 24);
    let b = text.as_bytes();
    let mut at = 0;
    while at < b.len() {
        let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |i| at + i);
        let indent = b[at..end].iter().take_while(|&&c| c == b' ').count();
        let start = at + indent;
        match b.get(start) {
            None | Some(b'\n' | b'#') => {}
            Some(_) => {
                // Document markers (`---`, `...`).
                if indent == 0
                    && (b[start..end].starts_with(b"---") || b[start..end].starts_with(b"..."))
                {
                    return None;
                }
                lines.push(Line { indent, start, end });
            }
        }
        at = end + 1;
    }
    let first = *lines.first()?;
    let mut s = Scanner {
        file,
        text,
        lines,
        pos: 0,
        nodes: 0,
        max_depth: (limits.max_nesting as usize).min(MAX_DEPTH),
    };
    let root = s.collection(first.indent, 0, false)?;
    (s.pos == s.lines.len()).then_some(root)
}

/// Is this content a list item (`-` then a blank or the end of the line)?
fn is_item(c: &[u8]) -> bool {
    c.first() == Some(&b'-') && matches!(c.get(1), None | Some(b' '))
}

/// Where the rest of a line after a scalar may only be blanks and a comment: is it?
fn only_comment_after(c: &[u8]) -> bool {
    let blanks = c.iter().take_while(|&&x| x == b' ').count();
    blanks == c.len() || (blanks > 0 && c[blanks] == b'#')
}

impl<'a> Scanner<'a> {
    fn loc(&self, start: usize, end: usize) -> Loc {
        Loc::new(
            self.file.clone(),
            TextRange::new(TextSize::new(start as u32), TextSize::new(end as u32)),
        )
    }

    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(())
    }

    /// The mapping or list whose first line is the current one, at column `indent`.
    /// `indentless`: a list written at its parent key's column (`key:\n- a`).
    fn collection(&mut self, indent: usize, depth: usize, indentless: bool) -> Option<Node> {
        if depth >= self.max_depth {
            return None;
        }
        let line = *self.lines.get(self.pos)?;
        let mut node = if is_item(&self.text.as_bytes()[line.start..line.end]) {
            self.list(indent, depth, indentless)?
        } else {
            self.mapping(indent, depth)?
        };
        widen_collection(&mut node);
        self.count()?;
        Some(node)
    }

    /// The value of a key or list item with nothing after it on its line (`parent` is the
    /// column of the key or `-`): a collection on the next lines, or null at `null_at`.
    fn block_value(
        &mut self,
        parent: usize,
        depth: usize,
        key: bool,
        null_at: usize,
    ) -> Option<Node> {
        if let Some(next) = self.lines.get(self.pos).copied() {
            if next.indent > parent {
                return self.collection(next.indent, depth + 1, false);
            }
            if key && next.indent == parent && is_item(&self.text.as_bytes()[next.start..next.end])
            {
                return self.collection(parent, depth + 1, true);
            }
        }
        self.count()?;
        Some(Node::new(Value::Null, self.loc(null_at, null_at)))
    }

    /// A scalar written after a key or `-` at `from` on the current line (already consumed),
    /// ending its line; the next line may not continue it (deeper indentation).
    fn inline_scalar(&mut self, from: usize, end: usize, parent: usize) -> Option<Node> {
        let node = self.scalar(from, end)?;
        if self.lines.get(self.pos).is_some_and(|n| n.indent > parent) {
            return None;
        }
        self.count()?;
        Some(node)
    }

    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Node> {
        let b = self.text.as_bytes();
        let first = self.lines[self.pos];
        let mut entries: Vec<Entry> = Vec::new();
        let mut seen: Option<std::collections::HashSet<String>> = None;
        while let Some(line) = self.lines.get(self.pos).copied() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_item(&b[line.start..line.end]) {
                return None;
            }
            let (key, key_range, colon) = self.key(line.start, line.end)?;
            if entries.len() < 32 {
                if entries.iter().any(|e| e.key == key) {
                    return None;
                }
            } else {
                let seen =
                    seen.get_or_insert_with(|| entries.iter().map(|e| e.key.clone()).collect());
                if !seen.insert(key.clone()) {
                    return None;
                }
            }
            self.pos += 1;
            let after = colon + 1;
            let blanks = b[after..line.end]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
            let rest = after + blanks;
            let value = if rest == line.end || (blanks > 0 && b[rest] == b'#') {
                self.block_value(indent, depth, true, colon)?
            } else {
                self.inline_scalar(rest, line.end, indent)?
            };
            entries.push(Entry {
                key,
                key_loc: self.loc(key_range.0, key_range.1),
                value,
            });
        }
        Some(Node::new(
            Value::Map(Arc::new(entries)),
            self.loc(first.start, first.start),
        ))
    }

    fn list(&mut self, indent: usize, depth: usize, indentless: bool) -> Option<Node> {
        let b = self.text.as_bytes();
        let first = self.lines[self.pos];
        let mut items: Vec<Node> = Vec::new();
        // Where the first item's text starts (after `- ` and blanks).
        let mut first_rest = None;
        while let Some(line) = self.lines.get(self.pos).copied() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None;
            }
            if !is_item(&b[line.start..line.end]) {
                // The parent mapping's next key (or, when no mapping holds this list, an error
                // the parent reports by not consuming the line).
                break;
            }
            let after = line.start + 1;
            let blanks = b[after..line.end]
                .iter()
                .take_while(|&&c| c == b' ')
                .count();
            let rest = after + blanks;
            first_rest.get_or_insert(rest);
            let item = if rest == line.end {
                self.pos += 1;
                self.block_value(indent, depth, false, line.end)?
            } else if b[rest] == b'#' || is_item(&b[rest..line.end]) {
                // A comment after `-` (the null's position differs), or `- - x`.
                return None;
            } else if self.key(rest, line.end).is_some() {
                // `- key: value`: a mapping at the key's column, from this line on.
                self.lines[self.pos] = Line {
                    indent: rest - (line.start - line.indent),
                    start: rest,
                    end: line.end,
                };
                let col = self.lines[self.pos].indent;
                self.collection(col, depth + 1, false)?
            } else {
                self.pos += 1;
                self.inline_scalar(rest, line.end, indent)?
            };
            items.push(item);
        }
        // A list at its parent key's column starts after its first `- ` (the parser's
        // convention, kept for equal spans).
        let start = match (indentless, first_rest) {
            (true, Some(r)) => r,
            _ => first.start,
        };
        Some(Node::new(
            Value::Seq(Arc::new(items)),
            self.loc(start, start),
        ))
    }

    /// The text of the quoted scalar at `start` (its quote) and the offset after its closing
    /// quote, on the same line (`end`). `None` for escapes (`\` in double quotes, `''` in single
    /// ones), whose values the parser decodes.
    fn quoted(&self, start: usize, end: usize) -> Option<(&'a str, usize)> {
        let b = self.text.as_bytes();
        let q = b[start];
        let close = start + 1 + memchr::memchr(q, &b[start + 1..end])?;
        let inner = &self.text[start + 1..close];
        if q == b'"' && inner.contains('\\') || q == b'\'' && b.get(close + 1) == Some(&b'\'') {
            return None;
        }
        Some((inner, close + 1))
    }

    /// A mapping key at `start` (up to `end`, the end of its line): its text, its range and the
    /// offset of its `:`. `None` when the line does not start with a simple key.
    fn key(&self, start: usize, end: usize) -> Option<(String, (usize, usize), usize)> {
        let b = self.text.as_bytes();
        let (text, range, mut at) = match b[start] {
            b'"' | b'\'' => {
                let (inner, stop) = self.quoted(start, end)?;
                (inner.to_string(), (start, stop), stop)
            }
            c if is_indicator(c) => return None,
            _ => {
                // The first `: ` (or `:` at the end of the line) before any ` #` comment.
                let mut i = start;
                let colon = loop {
                    let j = i + memchr::memchr2(b':', b'#', &b[i..end])?;
                    if b[j] == b'#' {
                        if b[j - 1] == b' ' {
                            return None;
                        }
                    } else if matches!(b.get(j + 1), None | Some(b' ' | b'\n')) {
                        break j;
                    }
                    i = j + 1;
                };
                let raw = self.text[start..colon].trim_end_matches(' ');
                // `: value` and `? key` are explicit entries, not keys.
                if raw.is_empty()
                    || matches!(b[start], b'?' | b':')
                        && matches!(b.get(start + 1), None | Some(b' ' | b'\n'))
                {
                    return None;
                }
                let text = match plain_scalar(raw)? {
                    Value::Str(s) if s != "<<" => s,
                    Value::Int(i) => i.to_string(),
                    Value::Bool(v) => v.to_string(),
                    Value::Null => "null".to_string(),
                    _ => return None,
                };
                return Some((text, (start, start + raw.len()), colon));
            }
        };
        while b.get(at) == Some(&b' ') {
            at += 1;
        }
        (at < end && b[at] == b':' && matches!(b.get(at + 1), None | Some(b' ' | b'\n')))
            .then_some((text, range, at))
    }

    /// A one-line scalar from `start` to the end of its line (`end`), then blanks and maybe a
    /// comment.
    fn scalar(&self, start: usize, end: usize) -> Option<Node> {
        let b = self.text.as_bytes();
        let (value, stop) = match b[start] {
            b'"' | b'\'' => {
                let (inner, stop) = self.quoted(start, end)?;
                if !only_comment_after(&b[stop..end]) {
                    return None;
                }
                (Value::Str(inner.to_string()), stop)
            }
            c if is_indicator(c) => return None,
            b'-' | b'?' | b':' if matches!(b.get(start + 1), None | Some(b' ' | b'\n')) => {
                return None
            }
            _ => {
                // Up to a ` #` comment; a `: ` inside would make it a mapping.
                let comment =
                    memchr::memmem::find(&b[start..end], b" #").map_or(end, |i| start + i);
                let raw = self.text[start..comment].trim_end_matches(' ');
                let r = raw.as_bytes();
                if memchr::memchr_iter(b':', r).any(|i| r.get(i + 1).is_none_or(|&c| c == b' ')) {
                    return None;
                }
                (plain_scalar(raw)?, start + raw.len())
            }
        };
        Some(Node::new(value, self.loc(start, stop)))
    }
}

/// Characters that cannot start a plain scalar here (flow collections, comments, anchors,
/// aliases, tags, block scalars, quotes handled apart, directives, reserved).
fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b',' | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'%'
            | b'@'
            | b'`'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parse `text` on this path and on the event path; when this path takes it, the trees
    /// must be equal. Returns whether this path took it.
    fn agrees(text: &str) -> Result<bool, String> {
        let file = Arc::new(PathBuf::from("t.yml"));
        let limits = Limits::default();
        let Some(mine) = parse(&file, text, &limits) else {
            return Ok(false);
        };
        let Some(events) = super::super::parse_fast(&file, text, &limits) else {
            return Err(format!("taken here, not by the event path:\n{text}"));
        };
        let (a, b) = (format!("{mine:#?}"), format!("{events:#?}"));
        if a != b {
            return Err(format!("trees differ for\n{text}\nhere: {a}\nevents: {b}"));
        }
        Ok(true)
    }

    #[test]
    fn takes_block_yaml_and_leaves_the_rest() {
        let taken = [
            "e:\n-\n  a: 1\n- x\n",
            "e:\n-\n- x\n",
            "e:\n-\n  - a\nf: 1\n",
            "\"a b\": 1\n'c': 2\n",
            "\"a\" : 1\n",
            "a: \"x\" # c\nb: 'y'   \n",
            "- a: 1\n  b:\n  - x\n  c: 2\n",
            "a:\n  b:\n    c:\n      d: 1\n",
            "  a: 1\n  b: 2\n",
            "a: 1\n  # deep comment\nb: 2\n",
            "a: x:y\nb: x #y\nc: x#y\nd: http://h:8080/p\ne: x # c: d\n",
            "a:\n  - x\n  - y: 1\n    z:\n      - 2\n",
            "- x\n- \n-\n",
            "a: <<\n",
            "a:\n\n\n  b: 1\n\n",
            "a: 1\n# end",
            "a:\n- x\n- y\nb:\n- z\n",
            "key with spaces: v\n",
            "1: a\ntrue: b\n~: c\n-5: e\n0: f\n",
            "a: yes\nb: \"\"\nc: ''\n",
            "- \"x\": 1\n  y: 2\n",
            "a:    # c\n  - x # d\n",
            "a:\n  -\n    b: 1\n",
            "éa: ü\nb: \"ñ {{job.id}}\"\n",
            "- a: 1\n- b: 2\n  c: 3\n",
            "a:\n-\n",
            "a:\n- \n",
            "a  :\nb: 1\n",
            "\"a\" :\nb: 1\n",
            "- a:\n- 'b':\n",
            "d: ?x\ne: :x\na#b: 1\nk: it's\nu: a]b}c\n",
        ];
        for text in taken {
            assert_eq!(agrees(text), Ok(true), "{text:?}");
        }
        let left = [
            "e:\n- - a\n",
            "a: b: c\n",
            "a: -x\n",
            "a: 'it''s'\n",
            "a: \"q\\\"\"\n",
            "a: 1\na: 2\n",
            "<<: x\n",
            "# only\n",
            "a: 1\nb",
            "- a\n -b\n",
            "a: x\n b: y\n",
            "a:\n  b: 1\n c: 2\n",
            "a: {x: 1}\n",
            "a: [1]\n",
            "a: |\n  x\n",
            "a: >\n  x\n",
            "a: &x 1\n",
            "a: *x\n",
            "a: !t 1\n",
            "a: b\n---\n",
            "---\na: b\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 'x\n  y'\n",
            "a: \"x\n  y\"\n",
            "a: x\n  y\n",
            "null: 1\nNull: 2\n",
            "a: 0x1\n",
            "a: 1.5\n",
            "a: .inf\n",
            "a: 'x' y\n",
            "- # c\n",
            "? a\n: b\n",
            ": b\n",
            "a:\t1\n",
            "a: 1\r\n",
            "\u{feff}a: 1\n",
            "just text\n",
        ];
        for text in left {
            assert_eq!(agrees(text), Ok(false), "{text:?}");
        }
    }

    /// Nesting deeper than the limit is left to the paths that report it.
    #[test]
    fn nesting_limit() {
        let file = Arc::new(PathBuf::from("t.yml"));
        let limits = Limits {
            max_nesting: 3,
            ..Limits::default()
        };
        assert!(parse(&file, "a:\n  b:\n    c: 1\n", &limits).is_some());
        assert!(parse(&file, "a:\n  b:\n    c:\n      d: 1\n", &limits).is_none());
        // Deeper than this path recurses: the event path reads it.
        let deep: String = (0..MAX_DEPTH + 10)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let limits = Limits::default();
        assert!(parse(&file, &deep, &limits).is_none());
        assert!(super::super::parse(&file, &deep, &limits).is_ok());
    }

    /// Every YAML file of the fixtures and tests: same tree as the event path, and the block
    /// path takes most of them.
    #[test]
    fn fixtures_agree() {
        let (mut files, mut taken) = (0, 0);
        for (name, text) in super::super::tests::yaml_files(&["fixtures", "tests", "examples"]) {
            files += 1;
            match agrees(&text) {
                Ok(t) => taken += usize::from(t),
                Err(e) => panic!("{name}: {e}"),
            }
        }
        assert!(taken >= 90, "the block path took {taken} of {files} files");
    }

    /// A YAML tree, rendered in the many ways block YAML is written.
    #[derive(Debug, Clone)]
    enum T {
        Scalar(&'static str),
        Map(Vec<(&'static str, T)>),
        Seq(Vec<T>),
    }

    /// Keys and scalars the block path reads, and ones it leaves to the next path.
    const KEYS: &[&str] = &[
        "a",
        "task_key",
        "b c",
        "1",
        "true",
        "~",
        "é",
        "\"q k\"",
        "'s'",
        "x.y",
        "k-1",
        "-5",
        "0",
        "\"a:b\"",
        "a'b",
        "tasks",
        "name",
        "depends_on",
    ];
    const ODD_KEYS: &[&str] = &["<<", "null", "? x", "[k]", "&a k", "-x"];
    const SCALARS: &[&str] = &[
        "x",
        "1",
        "-1",
        "0",
        "\"q\"",
        "'s'",
        "http://h:1/p",
        "\"\"",
        "''",
        "yes",
        "\"{{job.id}}\"",
        "a #c",
        "a#b",
        "~",
        "null",
        "",
        "v  ",
        "ü",
        ":x",
        "a b",
        "x:y",
        "../notebooks/nb_001.py",
        "\"${var.catalog}\"",
        "3600",
    ];
    const ODD_SCALARS: &[&str] = &[
        "007", "1.5", "[1, 2]", "{k: v}", "x: y", "&a x", "*a", "'it''s'", "\"e\\n\"", "-x", "|",
        "- x", "1e3", "True", "!t x", "'a\n  b'", ">-", "\"x\" y",
    ];

    fn tree() -> impl Strategy<Value = T> {
        let leaf = prop_oneof![
            12 => proptest::sample::select(SCALARS),
            1 => proptest::sample::select(ODD_SCALARS),
        ]
        .prop_map(T::Scalar);
        let key = prop_oneof![
            12 => proptest::sample::select(KEYS),
            1 => proptest::sample::select(ODD_KEYS),
        ];
        leaf.prop_recursive(5, 48, 5, move |inner| {
            prop_oneof![
                proptest::collection::vec((key.clone(), inner.clone()), 1..5).prop_map(T::Map),
                proptest::collection::vec(inner, 1..5).prop_map(T::Seq),
            ]
        })
    }

    /// How a tree is written.
    #[derive(Debug, Clone)]
    struct Style {
        step: usize,
        indentless: bool,
        compact: bool,
        comments: bool,
        blank_lines: bool,
        trailing: bool,
        /// Blanks between a key and its `:`.
        spaced: bool,
    }

    fn style() -> impl Strategy<Value = Style> {
        (
            1usize..5,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(step, indentless, compact, comments, blank_lines, trailing, spaced)| Style {
                    step,
                    indentless,
                    compact,
                    comments,
                    blank_lines,
                    trailing,
                    spaced,
                },
            )
    }

    fn render(t: &T, col: usize, st: &Style, out: &mut String) {
        let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
        let end = |out: &mut String| {
            if st.trailing {
                out.push_str("  ");
            }
            if st.comments {
                out.push_str(" # c");
            }
            out.push('\n');
            if st.blank_lines {
                out.push('\n');
            }
        };
        match t {
            T::Scalar(s) => {
                out.push_str(s);
                end(out);
            }
            T::Map(entries) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        pad(out, col);
                    }
                    out.push_str(k);
                    if st.spaced {
                        out.push_str("  ");
                    }
                    out.push(':');
                    match v {
                        T::Scalar(s) => {
                            out.push(' ');
                            out.push_str(s);
                            end(out);
                        }
                        T::Seq(_) if st.indentless => {
                            end(out);
                            pad(out, col);
                            render(v, col, st, out);
                        }
                        _ => {
                            end(out);
                            pad(out, col + st.step);
                            render(v, col + st.step, st, out);
                        }
                    }
                }
            }
            T::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        pad(out, col);
                    }
                    out.push('-');
                    match v {
                        T::Map(_) if st.compact => {
                            let gap = st.step.max(2);
                            pad(out, gap - 1);
                            render(v, col + gap, st, out);
                        }
                        T::Scalar(s) => {
                            out.push(' ');
                            out.push_str(s);
                            end(out);
                        }
                        _ => {
                            out.push('\n');
                            pad(out, col + st.step);
                            render(v, col + st.step, st, out);
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whatever the block path takes, it reads as the event path does.
        #[test]
        fn block_scanner_matches_the_event_path(t in tree(), st in style(), head in 0usize..3) {
            let mut text = String::new();
            let col = if head == 2 { 2 } else { 0 };
            if head == 1 {
                text.push_str("# head\n");
            }
            text.extend(std::iter::repeat_n(' ', col));
            render(&t, col, &st, &mut text);
            if let Err(e) = agrees(&text) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}
