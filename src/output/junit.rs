//! JUnit XML (`--output-format junit`): one `<testsuite>`, one `<testcase>` per file with
//! findings (a `<failure>` per finding), or a single passing `<testcase>` when the run is clean.

use std::io::Write;

use crate::engine::CheckResult;

/// Escape text for XML content and attribute values (control characters are dropped).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(result: &CheckResult, w: &mut dyn Write) -> std::io::Result<()> {
    // Files in output order (messages are sorted by path).
    let mut files: Vec<(&str, Vec<&crate::diagnostic::Message>)> = Vec::new();
    for m in &result.messages {
        match files.last_mut() {
            Some((p, v)) if *p == m.span.path => v.push(m),
            _ => files.push((m.span.path.as_str(), vec![m])),
        }
    }
    let failures = result.messages.len();
    let tests = files.len().max(1);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="bricklint" tests="{tests}" failures="{failures}" errors="0">"#
    )?;
    writeln!(
        w,
        r#"  <testsuite name="bricklint" tests="{tests}" failures="{failures}" errors="0" skipped="0">"#
    )?;
    if files.is_empty() {
        writeln!(
            w,
            r#"    <testcase name="bricklint check ({} files)" classname="bricklint"/>"#,
            result.files
        )?;
    }
    for (path, msgs) in files {
        writeln!(
            w,
            r#"    <testcase name="{}" classname="bricklint" file="{}">"#,
            escape(path),
            escape(path)
        )?;
        for m in msgs {
            let cell = m
                .span
                .cell
                .map(|c| format!(" (cell {c})"))
                .unwrap_or_default();
            let loc = format!("{}:{}:{}{cell}", m.span.path, m.span.line, m.span.column);
            let mut body = format!("{loc}: {} [{}] {}", m.code, m.name, m.message);
            if let Some(h) = &m.help {
                body.push_str(&format!("\nhelp: {h}"));
            }
            if let Some(r) = &m.route {
                body.push_str(&format!("\nat: {r}"));
            }
            body.push_str(&format!("\ndocs: {}", m.url));
            writeln!(
                w,
                r#"      <failure type="{}" message="{}">{}</failure>"#,
                escape(m.code),
                escape(&format!(
                    "{}:{}: {} {}",
                    m.span.line, m.span.column, m.code, m.message
                )),
                escape(&body)
            )?;
        }
        writeln!(w, "    </testcase>")?;
    }
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_control_chars() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1}y\nz"), "xy&#10;z");
    }
}
