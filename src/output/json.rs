//! `--output-format json` (version 1 contract) and `json-lines`.

use std::io::Write;

use serde_json::{json, Value};

use crate::diagnostic::{Applicability, Message};
use crate::engine::CheckResult;

pub const JSON_VERSION: u32 = 1;

/// One diagnostic as a JSON object of the version-1 contract.
pub fn message_json(m: &Message, result: &CheckResult) -> Value {
    let fix = m.fix.as_ref().map(|f| {
        json!({
            "title": f.title,
            "applicability": match f.applicability {
                Applicability::Safe => "safe",
                Applicability::Unsafe => "unsafe",
                Applicability::DisplayOnly => "display-only",
            },
            "edits": f.edits.iter().map(|e| {
                let span = crate::engine::resolve_span(&result.project, &e.path, e.range);
                json!({
                    "path": span.path,
                    "line": span.line, "column": span.column,
                    "end_line": span.end_line, "end_column": span.end_column,
                    "content": e.content,
                })
            }).collect::<Vec<_>>(),
        })
    });
    json!({
        "code": m.code,
        "name": m.name,
        "severity": m.severity.as_str(),
        "message": m.message,
        "path": m.span.path,
        "line": m.span.line,
        "column": m.span.column,
        "end_line": m.span.end_line,
        "end_column": m.span.end_column,
        "cell": m.span.cell,
        "route": m.route,
        "url": m.url,
        "related": m.related.iter().map(|r| json!({
            "path": r.span.path,
            "line": r.span.line,
            "column": r.span.column,
            "end_line": r.span.end_line,
            "end_column": r.span.end_column,
            "cell": r.span.cell,
            "message": r.message,
        })).collect::<Vec<_>>(),
        "fix": fix,
        "help": m.help,
    })
}

pub fn render(result: &CheckResult, w: &mut dyn Write) -> std::io::Result<()> {
    let (errors, warnings, infos) = super::counts(&result.messages);
    let doc = json!({
        "version": JSON_VERSION,
        "diagnostics": result.messages.iter().map(|m| message_json(m, result)).collect::<Vec<_>>(),
        "summary": {
            "files": result.files,
            "errors": errors,
            "warnings": warnings,
            "infos": infos,
            "fixable": result.messages.iter().filter(|m| m.fixable()).count(),
        },
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

pub fn render_lines(result: &CheckResult, w: &mut dyn Write) -> std::io::Result<()> {
    for m in &result.messages {
        serde_json::to_writer(&mut *w, &message_json(m, result))?;
        writeln!(w)?;
    }
    Ok(())
}
