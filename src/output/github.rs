//! GitHub Actions workflow commands: `::error file=…,line=…::message`.
//! Lines are lines of the file on disk (for `.ipynb`, lines of the JSON file).

use std::io::Write;

use crate::diagnostic::Severity;
use crate::engine::CheckResult;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_prop(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(result: &CheckResult, w: &mut dyn Write) -> std::io::Result<()> {
    for m in &result.messages {
        let level = match m.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let s = &m.span;
        let cell = s.cell.map(|c| format!("cell {c}, ")).unwrap_or_default();
        // Columns only make sense when the line is the real line of the file.
        let cols = if s.file_line == s.line && s.file_end_line == s.end_line {
            format!(",col={},endColumn={}", s.column, s.end_column)
        } else {
            String::new()
        };
        writeln!(
            w,
            "::{level} title={},file={},line={},endLine={}{cols}::{}",
            escape_prop(&format!("bricklint ({})", m.code)),
            escape_prop(&s.path),
            s.file_line,
            s.file_end_line,
            escape_data(&format!(
                "{}{}:{}: {} {}",
                cell, s.line, s.column, m.code, m.message
            )),
        )?;
    }
    Ok(())
}
