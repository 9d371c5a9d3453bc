//! Surgical edits of bundle YAML files. The parsed tree ([`crate::bundle::Node`]) knows the
//! byte span of every key and value; an edit replaces only the lines of the entries it changes
//! (or inserts whole lines), so comments, key order, anchors, quoting and blank lines anywhere
//! else stay byte for byte, as `bricklint init` does for `databricks.yml`.
//!
//! Only block-style YAML written in the file itself is edited: a mapping written in flow style
//! (`{a: 1}`) or reached through an alias or a merge key (`<<: *defaults`) is refused with the
//! reason, and the caller prints the YAML for the user to apply by hand.

use std::ops::Range;
use std::path::Path;

use crate::bundle::{Entry, Node};

/// Replace `range` (bytes of one file) with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

impl Edit {
    pub fn insert(at: usize, text: String) -> Edit {
        Edit {
            range: at..at,
            text,
        }
    }
}

/// Apply edits to a text. Edits must not overlap (two insertions at one offset are applied in
/// the order given).
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, String> {
    let mut order: Vec<&Edit> = edits.iter().collect();
    order.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut pos = 0;
    for e in order {
        if e.range.start < pos || e.range.end > text.len() || e.range.start > e.range.end {
            return Err("two edits of the job overlap".into());
        }
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.text);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

/// Offset of the start of the line holding `off`.
pub fn line_start(text: &str, off: usize) -> usize {
    text[..off.min(text.len())].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just after the end of the line holding `off` (after its `\n`, or the end of the text).
pub fn next_line(text: &str, off: usize) -> usize {
    let off = off.min(text.len());
    text[off..].find('\n').map_or(text.len(), |i| off + i + 1)
}

/// Column (bytes from the line start) of `off`.
pub fn column(text: &str, off: usize) -> usize {
    off - line_start(text, off)
}

/// The line ending the file uses.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// Is `off` the first non-blank character of its line?
fn starts_line(text: &str, off: usize) -> bool {
    text[line_start(text, off)..off].bytes().all(|b| b == b' ')
}

/// Is `off` the first character after the `- ` of a sequence item (`- task_key: x`)?
fn after_dash(text: &str, off: usize) -> bool {
    let before = text[line_start(text, off)..off].trim_end_matches(' ');
    before.trim_start_matches(' ') == "-"
}

/// A mapping written in block style in one file: its entries and the column of its keys.
#[derive(Debug, Clone)]
pub struct BlockMap<'n> {
    pub node: &'n Node,
    pub col: usize,
}

impl<'n> BlockMap<'n> {
    /// `node` as a block mapping of `file`, or why it cannot be edited as text.
    pub fn new(node: &'n Node, file: &Path, text: &str, what: &str) -> Result<Self, String> {
        let entries = node
            .as_map()
            .ok_or_else(|| format!("{what} is not a mapping"))?;
        if node.loc.defined.is_some() {
            return Err(format!(
                "{what} comes from a YAML anchor (`*alias` or `<<:`)"
            ));
        }
        if node.loc.file.as_path() != file {
            return Err(format!("{what} is not written in {}", file.display()));
        }
        let start = usize::from(node.loc.range.start());
        if text.as_bytes().get(start) == Some(&b'{') {
            return Err(format!("{what} is written in flow style (`{{...}}`)"));
        }
        let first = entries.first().ok_or_else(|| format!("{what} is empty"))?;
        let col = column(text, usize::from(first.key_loc.range.start()));
        for e in entries {
            let k = usize::from(e.key_loc.range.start());
            if e.key_loc.defined.is_some()
                || e.key_loc.file.as_path() != file
                || column(text, k) != col
                || !(starts_line(text, k) || after_dash(text, k))
            {
                return Err(format!(
                    "{what} gets `{}` from a YAML merge key or writes it in an unusual layout",
                    e.key
                ));
            }
        }
        Ok(BlockMap { node, col })
    }

    pub fn entries(&self) -> &'n [Entry] {
        self.node.as_map().unwrap_or_default()
    }

    pub fn index(&self, key: &str) -> Option<usize> {
        self.entries().iter().position(|e| e.key == key)
    }

    /// End offset of entry `i`'s text (its value's last character, or its key for an empty
    /// value).
    fn entry_end(&self, i: usize) -> usize {
        let e = &self.entries()[i];
        let v = if e.value.loc.defined.is_none() && e.value.loc.file == e.key_loc.file {
            usize::from(e.value.loc.range.end())
        } else {
            0
        };
        v.max(usize::from(e.key_loc.range.end()))
    }

    /// The bytes of entry `i`, whole lines: from the start of its key's line (or the key itself
    /// when it follows a `- ` on the item's first line) to the end of its value's last line.
    /// An entry on a `- ` line that is not the last one ends where the next entry begins, so
    /// removing it moves the next key onto the dash line.
    pub fn entry_span(&self, text: &str, i: usize) -> Result<Range<usize>, String> {
        let e = &self.entries()[i];
        let k = usize::from(e.key_loc.range.start());
        if starts_line(text, k) {
            return Ok(line_start(text, k)..next_line(text, self.entry_end(i)));
        }
        match self.entries().get(i + 1) {
            Some(next) => Ok(k..usize::from(next.key_loc.range.start())),
            None => Err(format!(
                "`{}` is the only key on its `- ` line and cannot be removed alone",
                e.key
            )),
        }
    }

    /// The text of entry `i` as lines at column 0 (its own indentation removed; the lines of a
    /// block value keep their indentation relative to the key), for copying it elsewhere.
    /// A leading anchor on the value (`new_cluster: &c`) is dropped from the copy: a YAML
    /// anchor may be defined once.
    pub fn entry_lines(&self, text: &str, i: usize) -> Vec<String> {
        let e = &self.entries()[i];
        let k = usize::from(e.key_loc.range.start());
        let end = next_line(text, self.entry_end(i));
        let body = &text[k..end];
        let mut out: Vec<String> = Vec::new();
        for (n, line) in body.split_inclusive('\n').enumerate() {
            let line = line.trim_end_matches(['\n', '\r']);
            if n == 0 {
                out.push(drop_anchor(line, &e.key));
            } else {
                let spaces = line.len() - line.trim_start_matches(' ').len();
                out.push(line[spaces.min(self.col)..].to_string());
            }
        }
        out
    }

    /// Where text inserted as the last entries of the mapping goes: after its last entry's last
    /// line.
    pub fn end_of_last_line(&self, text: &str) -> usize {
        next_line(text, self.entry_end(self.entries().len() - 1))
    }
}

/// `key: &anchor value` -> `key: value` (the first line of a copied entry).
fn drop_anchor(line: &str, key: &str) -> String {
    let Some(colon) = line.find(':') else {
        return line.to_string();
    };
    let (head, rest) = line.split_at(colon + 1);
    let trimmed = rest.trim_start();
    if !head.trim_start().starts_with(key.trim()) || !trimmed.starts_with('&') {
        return line.to_string();
    }
    let after = trimmed
        .find(char::is_whitespace)
        .map_or("", |i| &trimmed[i..]);
    format!("{head}{}", after.trim_end()).replace(":  ", ": ")
}

/// A sequence written in block style in one file (`- ` items): the column of its dashes.
#[derive(Debug, Clone)]
pub struct BlockSeq<'n> {
    pub node: &'n Node,
    pub dash_col: usize,
}

impl<'n> BlockSeq<'n> {
    pub fn new(node: &'n Node, file: &Path, text: &str, what: &str) -> Result<Self, String> {
        let items = node
            .as_seq()
            .ok_or_else(|| format!("{what} is not a list"))?;
        if node.loc.defined.is_some() || node.loc.file.as_path() != file {
            return Err(format!("{what} comes from a YAML anchor or another file"));
        }
        let start = usize::from(node.loc.range.start());
        if text.as_bytes().get(start) == Some(&b'[') {
            return Err(format!("{what} is written in flow style (`[...]`)"));
        }
        let first = items.first().ok_or_else(|| format!("{what} is empty"))?;
        let f = usize::from(first.loc.range.start());
        let dash = text[line_start(text, f)..f]
            .find('-')
            .ok_or_else(|| format!("{what} is not a `- ` list"))?;
        Ok(BlockSeq {
            node,
            dash_col: dash,
        })
    }

    /// Offset after the last line of item `i` (where a new item after it is inserted).
    pub fn after_item(&self, text: &str, i: usize) -> usize {
        let items = self.node.as_seq().unwrap_or_default();
        next_line(text, usize::from(items[i].loc.range.end()))
    }
}

/// Lines of YAML (at column 0, each ending with `\n`) moved to `col` and given the file's line
/// ending.
pub fn place(lines: &str, col: usize, nl: &str) -> String {
    let pad = " ".repeat(col);
    let mut out = String::new();
    for l in lines.split_inclusive('\n') {
        let body = l.trim_end_matches(['\n', '\r']);
        if !body.trim().is_empty() {
            out.push_str(&pad);
            out.push_str(body);
        }
        out.push_str(nl);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn tree(text: &str) -> (Arc<PathBuf>, Node) {
        let f = Arc::new(PathBuf::from("/b/r.yml"));
        let n = crate::bundle::yaml::parse(&f, text, &Default::default()).unwrap();
        (f, n)
    }

    #[test]
    fn entry_spans_are_whole_lines() {
        let text = "tasks:\n  - task_key: a # key\n    # about the notebook\n    notebook_task:\n      notebook_path: ../x.py\n    job_cluster_key: c\n  - task_key: b\n";
        let (f, n) = tree(text);
        let t = &n.get("tasks").unwrap().as_seq().unwrap()[0];
        let m = BlockMap::new(t, &f, text, "task").unwrap();
        assert_eq!(m.col, 4);
        let s = m.entry_span(text, 1).unwrap();
        assert_eq!(
            &text[s],
            "    notebook_task:\n      notebook_path: ../x.py\n"
        );
        assert_eq!(
            m.entry_lines(text, 1),
            ["notebook_task:", "  notebook_path: ../x.py"]
        );
        // The first key shares the dash line: its span runs to the next key.
        let s = m.entry_span(text, 0).unwrap();
        assert_eq!(
            &text[s],
            "task_key: a # key\n    # about the notebook\n    "
        );
        let seq = BlockSeq::new(n.get("tasks").unwrap(), &f, text, "tasks").unwrap();
        assert_eq!(seq.dash_col, 2);
        assert_eq!(&text[seq.after_item(text, 0)..], "  - task_key: b\n");
        let edited = apply(
            text,
            &[
                Edit {
                    range: m.entry_span(text, 2).unwrap(),
                    text: String::new(),
                },
                Edit::insert(seq.after_item(text, 0), place("- task_key: n\n", 2, "\n")),
            ],
        )
        .unwrap();
        assert_eq!(
            edited,
            "tasks:\n  - task_key: a # key\n    # about the notebook\n    notebook_task:\n      notebook_path: ../x.py\n  - task_key: n\n  - task_key: b\n"
        );
    }

    #[test]
    fn flow_style_and_merge_keys_are_refused() {
        let text = "t: {task_key: a}\nd: &d\n  job_cluster_key: c\nu:\n  <<: *d\n  task_key: b\n";
        let (f, n) = tree(text);
        assert!(BlockMap::new(n.get("t").unwrap(), &f, text, "task")
            .unwrap_err()
            .contains("flow style"));
        assert!(BlockMap::new(n.get("u").unwrap(), &f, text, "task")
            .unwrap_err()
            .contains("merge key"));
        assert!(apply(
            "abc",
            &[
                Edit {
                    range: 0..2,
                    text: "x".into()
                },
                Edit {
                    range: 1..3,
                    text: "y".into()
                }
            ]
        )
        .is_err());
    }

    #[test]
    fn copied_entries_lose_their_anchor() {
        assert_eq!(
            drop_anchor("new_cluster: &c", "new_cluster"),
            "new_cluster:"
        );
        assert_eq!(
            drop_anchor("new_cluster: &c {a: 1}", "new_cluster"),
            "new_cluster: {a: 1}"
        );
        assert_eq!(
            drop_anchor("job_cluster_key: c", "job_cluster_key"),
            "job_cluster_key: c"
        );
    }
}
