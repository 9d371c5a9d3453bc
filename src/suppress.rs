//! Inline suppressions: `# bricklint: ignore[ORC001, task-value-too-large] reason` on any line
//! a finding covers, and `# bricklint: file-ignore[...]` for the whole file. The marker must
//! follow a comment start on its line (`#`, `--`, `//`, also after a `MAGIC` prefix).

use ruff_text_size::{TextRange, TextSize};

use crate::diagnostic::Diagnostic;
use crate::rules;
use crate::rules::bl001_unused_suppression::META as BL001;
use crate::rules::bl002_invalid_suppression::META as BL002;
use crate::source::Document;

#[derive(Debug)]
pub struct Entry {
    /// The code or name as written.
    pub text: String,
    pub range: TextRange,
    pub used: bool,
}

#[derive(Debug)]
pub struct Suppression {
    /// 0-based line of the comment.
    pub line: usize,
    pub file_level: bool,
    pub entries: Vec<Entry>,
}

/// Parse every suppression comment of a document.
pub fn parse(doc: &Document) -> Vec<Suppression> {
    let text = doc.text.as_str();
    let mut out = Vec::new();
    for pos in memchr::memmem::find_iter(text.as_bytes(), b"bricklint:") {
        let line = doc.lines().line_of(TextSize::new(pos as u32));
        let line_start = usize::from(doc.lines().line_start(line));
        let before = text[line_start..pos].trim_end();
        if !(before.ends_with('#') || before.ends_with("--") || before.ends_with("//")) {
            continue;
        }
        let rest = &text[pos + "bricklint:".len()..];
        let trimmed = rest.trim_start();
        let base = pos + "bricklint:".len() + (rest.len() - trimmed.len());
        let (file_level, after) = if let Some(a) = trimmed.strip_prefix("ignore[") {
            (false, a)
        } else if let Some(a) = trimmed.strip_prefix("file-ignore[") {
            (true, a)
        } else {
            continue;
        };
        let list_start = base + (trimmed.len() - after.len());
        let Some(close) = after.find(']') else {
            continue;
        };
        let list = &after[..close];
        if list.contains('\n') {
            continue;
        }
        let mut entries = Vec::new();
        let mut off = 0;
        for part in list.split(',') {
            let t = part.trim();
            if !t.is_empty() {
                let s = list_start + off + (part.len() - part.trim_start().len());
                entries.push(Entry {
                    text: t.to_string(),
                    range: TextRange::at(TextSize::new(s as u32), TextSize::of(t)),
                    used: false,
                });
            }
            off += part.len() + 1;
        }
        out.push(Suppression {
            line,
            file_level,
            entries,
        });
    }
    out
}

fn matches(entry: &str, d: &Diagnostic) -> bool {
    entry == "ALL" || entry.eq_ignore_ascii_case(d.code) || entry == d.name
}

/// Remove suppressed diagnostics of one document and add BL001/BL002 findings.
/// `enabled` tells whether a code is selected (BL001/BL002 are only reported when enabled).
pub fn apply(
    doc: &Document,
    diags: Vec<Diagnostic>,
    enabled: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut sups = parse(doc);
    if sups.is_empty() {
        return diags;
    }
    let mut kept = Vec::with_capacity(diags.len());
    'diag: for d in diags {
        let l1 = doc.lines().line_of(d.range.start());
        let l2 = doc.lines().line_of(d.range.end());
        for s in sups.iter_mut() {
            if s.file_level || (s.line >= l1 && s.line <= l2) {
                if let Some(e) = s.entries.iter_mut().find(|e| matches(&e.text, &d)) {
                    e.used = true;
                    continue 'diag;
                }
            }
        }
        kept.push(d);
    }
    for s in &sups {
        for e in &s.entries {
            let known = e.text == "ALL" || rules::find(&e.text).is_some();
            if !known {
                if enabled(BL002.code) {
                    kept.push(Diagnostic::new(
                        &BL002,
                        doc.path.clone(),
                        e.range,
                        format!("Unknown rule `{}` in suppression comment", e.text),
                    ));
                }
            } else if !e.used && enabled(BL001.code) && enabled_code(&e.text, enabled) {
                kept.push(
                    Diagnostic::new(
                        &BL001,
                        doc.path.clone(),
                        e.range,
                        format!("Unused suppression: `{}` reports nothing here", e.text),
                    )
                    .help("remove this code from the suppression comment"),
                );
            }
        }
    }
    kept
}

/// A suppression of a rule that is not selected is not "unused": the rule did not run.
fn enabled_code(text: &str, enabled: &dyn Fn(&str) -> bool) -> bool {
    match rules::find(text) {
        Some(r) => enabled(r.meta().code),
        None => true,
    }
}
