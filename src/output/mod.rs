//! Output formats for `check` results.

pub mod full;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod sink;

pub use sink::{Sink, WriteError};

use std::io::Write;

use crate::diagnostic::{Message, Severity};
use crate::engine::CheckResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Rich snippets with labels and help (default).
    #[default]
    Full,
    /// One line per finding: `path:line:col: CODE message`.
    Concise,
    /// Versioned JSON document (version 1).
    Json,
    /// One JSON object per line.
    JsonLines,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// GitLab Code Quality JSON.
    Gitlab,
}

/// Options that affect rendering.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Use colours (the caller decides from the terminal and `NO_COLOR`).
    pub color: bool,
    /// Print `--statistics` instead of the findings.
    pub statistics: bool,
    /// Show the summary line (human formats).
    pub summary: bool,
    /// Number of fixes applied (for the summary).
    pub fixed: usize,
}

pub fn render(
    format: OutputFormat,
    result: &CheckResult,
    opts: &RenderOptions,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    if opts.statistics {
        return statistics(result, format, w);
    }
    match format {
        OutputFormat::Full => full::render(result, opts, w, false),
        OutputFormat::Concise => full::render(result, opts, w, true),
        OutputFormat::Json => json::render(result, w),
        OutputFormat::JsonLines => json::render_lines(result, w),
        OutputFormat::Github => github::render(result, w),
        OutputFormat::Sarif => sarif::render(result, w),
        OutputFormat::Junit => junit::render(result, w),
        OutputFormat::Gitlab => gitlab::render(result, w),
    }
}

/// Counts per severity.
pub fn counts(messages: &[Message]) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for m in messages {
        match m.severity {
            Severity::Error => c.0 += 1,
            Severity::Warning => c.1 += 1,
            Severity::Info => c.2 += 1,
        }
    }
    c
}

/// `--statistics`: one line per rule with its count, most frequent first.
fn statistics(
    result: &CheckResult,
    format: OutputFormat,
    w: &mut dyn Write,
) -> std::io::Result<()> {
    let mut by: std::collections::BTreeMap<(&str, &str), (usize, usize)> = Default::default();
    for m in &result.messages {
        let e = by.entry((m.code, m.name)).or_default();
        e.0 += 1;
        if m.fixable() {
            e.1 += 1;
        }
    }
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    if matches!(format, OutputFormat::Json | OutputFormat::JsonLines) {
        let v: Vec<_> = rows
            .iter()
            .map(|((code, name), (n, f))| serde_json::json!({"code": code, "name": name, "count": n, "fixable": f}))
            .collect();
        writeln!(
            w,
            "{}",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        )?;
        return Ok(());
    }
    for ((code, name), (n, f)) in rows {
        let fix = if f > 0 {
            format!(" [{f} fixable]")
        } else {
            String::new()
        };
        writeln!(w, "{n:>5}\t{code:<7}\t{name}{fix}")?;
    }
    Ok(())
}
