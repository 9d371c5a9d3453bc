//! SARIF 2.1.0 (`--output-format sarif`), for GitHub code scanning and other SARIF viewers.
//!
//! Every registered rule is listed in `tool.driver.rules` (with its documentation as `help`);
//! results point at lines of the file on disk (for `.ipynb`, lines of the JSON file: columns are
//! only given when they are columns of that line). Columns count Unicode code points
//! (`columnKind: unicodeCodePoints`), end columns are exclusive as SARIF wants.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::diagnostic::{Applicability, Message, Severity, Span};
use crate::engine::CheckResult;
use crate::rules::{self, RuleMeta};
use crate::source::FileKind;

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const INFORMATION_URI: &str = "https://github.com/bricklint/bricklint";
const SRCROOT: &str = "%SRCROOT%";

fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encode a path for a URI reference (RFC 3986 path characters are kept).
pub fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'/'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
            | b'@' => out.push(b as char),
            // A `:` in the first segment of a relative reference would read as a scheme.
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `file:///abs/path/` URI of a directory.
fn dir_uri(dir: &Path) -> String {
    let mut s = dir.to_string_lossy().replace('\\', "/");
    if !s.starts_with('/') {
        s.insert(0, '/');
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    format!("file://{}", encode_uri_path(&s))
}

/// `artifactLocation` of a display path: relative to `%SRCROOT%` (the working directory) when
/// relative, an absolute `file:` URI otherwise.
fn artifact_location(path: &str) -> Value {
    let absolute = path.starts_with('/') || path.as_bytes().get(1) == Some(&b':');
    if absolute {
        json!({ "uri": dir_uri(Path::new(path)).trim_end_matches('/') })
    } else {
        json!({ "uri": encode_uri_path(path), "uriBaseId": SRCROOT })
    }
}

/// A region in the file on disk. For `.ipynb` (cell-relative lines), only the JSON lines.
fn region(span: &Span, ipynb: bool) -> Value {
    let mut r = Map::new();
    r.insert("startLine".into(), json!(span.file_line.max(1)));
    if !ipynb && span.file_line == span.line {
        r.insert("startColumn".into(), json!(span.column.max(1)));
        r.insert("endLine".into(), json!(span.file_end_line.max(1)));
        r.insert("endColumn".into(), json!(span.end_column.max(1)));
    } else {
        r.insert(
            "endLine".into(),
            json!(span.file_end_line.max(span.file_line).max(1)),
        );
    }
    Value::Object(r)
}

fn is_ipynb(result: &CheckResult, abs: &Path) -> bool {
    match result.document(abs) {
        Some(d) => d.kind == FileKind::Ipynb,
        None => abs
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ipynb")),
    }
}

/// First paragraph of the `## What it does` section of a rule doc.
pub fn what_it_does(doc: &str) -> Option<String> {
    let rest = doc.split("## What it does").nth(1)?;
    let para: Vec<&str> = rest
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("## "))
        .collect();
    (!para.is_empty()).then(|| para.join(" "))
}

fn rule_descriptor(m: &RuleMeta) -> Value {
    let full = what_it_does(m.doc).unwrap_or_else(|| m.summary.to_string());
    json!({
        "id": m.code,
        "name": m.name,
        "shortDescription": { "text": sentence(m.summary) },
        "fullDescription": { "text": full },
        "help": { "text": m.doc, "markdown": m.doc },
        "helpUri": crate::diagnostic::rule_url(m.code),
        "defaultConfiguration": { "level": level(m.severity) },
        "properties": {
            "tags": [m.name],
            "problem.severity": match m.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "recommendation",
            },
        },
    })
}

/// Capitalised and terminated by a period (SARIF messages are sentences).
fn sentence(s: &str) -> String {
    let s = s.trim();
    let mut out = String::with_capacity(s.len() + 1);
    let mut chars = s.chars();
    if let Some(c) = chars.next() {
        out.extend(c.to_uppercase());
        out.push_str(chars.as_str());
    }
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn fixes(m: &Message, result: &CheckResult) -> Option<Value> {
    let fix = m.fix.as_ref()?;
    if fix.applicability == Applicability::DisplayOnly && fix.edits.is_empty() {
        return None;
    }
    // Group edits by file, in order of first appearance.
    let mut changes: Vec<(String, Vec<Value>)> = Vec::new();
    for e in &fix.edits {
        if is_ipynb(result, &e.path) {
            // Edits of `.ipynb` are in cell text; SARIF regions would need JSON positions.
            return None;
        }
        let span = crate::engine::resolve_span(&result.project, &e.path, e.range);
        let replacement = json!({
            "deletedRegion": {
                "startLine": span.line, "startColumn": span.column,
                "endLine": span.end_line, "endColumn": span.end_column,
            },
            "insertedContent": { "text": e.content },
        });
        match changes.iter_mut().find(|(p, _)| *p == span.path) {
            Some((_, v)) => v.push(replacement),
            None => changes.push((span.path.clone(), vec![replacement])),
        }
    }
    if changes.is_empty() {
        return None;
    }
    Some(json!([{
        "description": { "text": sentence(&fix.title) },
        "artifactChanges": changes.into_iter().map(|(p, r)| json!({
            "artifactLocation": artifact_location(&p),
            "replacements": r,
        })).collect::<Vec<_>>(),
    }]))
}

fn result_json(m: &Message, result: &CheckResult, rule_index: Option<usize>) -> Value {
    let ipynb = is_ipynb(result, &m.abs_path);
    let mut text = m.message.clone();
    if let (true, Some(c)) = (ipynb, m.span.cell) {
        text = format!(
            "{text} (cell {c}, line {}, column {})",
            m.span.line, m.span.column
        );
    }
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": artifact_location(&m.span.path),
            "region": region(&m.span, ipynb),
        },
    });
    if let Some(route) = &m.route {
        loc["logicalLocations"] = json!([{ "fullyQualifiedName": route, "kind": "member" }]);
    }
    let mut r = json!({
        "ruleId": m.code,
        "level": level(m.severity),
        "message": { "text": text },
        "locations": [loc],
    });
    if let Some(i) = rule_index {
        r["ruleIndex"] = json!(i);
    }
    if !m.related.is_empty() {
        r["relatedLocations"] = Value::Array(
            m.related
                .iter()
                .enumerate()
                .map(|(i, rel)| {
                    json!({
                        "id": i + 1,
                        "physicalLocation": {
                            "artifactLocation": artifact_location(&rel.span.path),
                            "region": region(&rel.span, is_ipynb(result, &rel.abs_path)),
                        },
                        "message": { "text": rel.message },
                    })
                })
                .collect(),
        );
    }
    if let Some(f) = fixes(m, result) {
        r["fixes"] = f;
    }
    let mut props = Map::new();
    if let Some(help) = &m.help {
        props.insert("help".into(), json!(help));
    }
    if let Some(c) = m.span.cell {
        props.insert("cell".into(), json!(c));
    }
    if !props.is_empty() {
        r["properties"] = Value::Object(props);
    }
    r
}

pub fn to_value(result: &CheckResult) -> Value {
    let all = rules::all();
    let descriptors: Vec<Value> = all.iter().map(|r| rule_descriptor(r.meta())).collect();
    let results: Vec<Value> = result
        .messages
        .iter()
        .map(|m| {
            let idx = all.iter().position(|r| r.meta().code == m.code);
            result_json(m, result, idx)
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "bricklint",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": INFORMATION_URI,
                    "rules": descriptors,
                },
            },
            "invocations": [{ "executionSuccessful": true }],
            "originalUriBaseIds": { SRCROOT: { "uri": dir_uri(&result.project.root) } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

pub fn render(result: &CheckResult, w: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &to_value(result))?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_path_chars_and_escapes_others() {
        assert_eq!(encode_uri_path("a/b c/d%.py"), "a/b%20c/d%25.py");
        assert_eq!(encode_uri_path("nb/é.ipynb"), "nb/%C3%A9.ipynb");
        assert_eq!(encode_uri_path("x:y"), "x%3Ay");
    }

    #[test]
    fn what_it_does_takes_first_paragraph() {
        let d = "## What it does\nFinds a\nthing.\n\nMore.\n\n## Why is this bad?\nx";
        assert_eq!(what_it_does(d).as_deref(), Some("Finds a thing."));
        assert_eq!(what_it_does("no sections"), None);
    }

    #[test]
    fn sentence_capitalises_and_terminates() {
        assert_eq!(sentence("a python cell"), "A python cell.");
        assert_eq!(sentence("Done."), "Done.");
    }

    #[test]
    fn ipynb_region_has_json_lines_only() {
        let span = Span {
            path: "a.ipynb".into(),
            line: 2,
            column: 3,
            end_line: 2,
            end_column: 9,
            cell: Some(1),
            file_line: 14,
            file_end_line: 14,
            range: Default::default(),
        };
        let r = region(&span, true);
        assert_eq!(r, json!({"startLine": 14, "endLine": 14}));
        let r = region(&span, false);
        assert_eq!(r["startLine"], 14);
        assert!(r.get("startColumn").is_none());
    }
}
