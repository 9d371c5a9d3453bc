//! The diagnostic model shared by every rule and every output format.
//!
//! Rules produce [`Diagnostic`]s with byte ranges into a document's text. The engine resolves
//! them into [`Message`]s (1-based lines, columns, cells, display paths) that the renderers use.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

/// Static description of a rule.
#[derive(Debug)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what it finds.
    pub summary: &'static str,
    /// Markdown documentation.
    pub doc: &'static str,
    /// Whether the rule can offer a fix.
    pub fixable: bool,
}

pub use ruff_text_size::{TextRange, TextSize};

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
    /// One-letter form used in the rule catalog (E/W/I).
    pub fn letter(self) -> char {
        match self {
            Severity::Error => 'E',
            Severity::Warning => 'W',
            Severity::Info => 'I',
        }
    }
}

/// A problem that `bricklint plan` or `bricklint payload` reports about what it was given: not a
/// finding in a source file (that is a [`Diagnostic`]), one model for both commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Written as `level` by `plan --format json`, as `severity` by `payload --output-format
    /// json`.
    #[serde(rename = "level")]
    pub severity: Severity,
    /// Stable machine-readable kind (`widget-unset`, `invalid-json`, `too-large`, ...).
    pub kind: &'static str,
    pub message: String,
    /// JSON pointer of the failing value (payload schema problems).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// 1-based position in the input (a payload that is not JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Problem {
    pub fn new(severity: Severity, kind: &'static str, message: impl Into<String>) -> Self {
        Problem {
            severity,
            kind,
            message: message.into(),
            pointer: None,
            line: None,
            column: None,
        }
    }
}

/// How safe it is to apply a fix automatically (ruff's model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Applied by `--fix`.
    Safe,
    /// Applied only with `--unsafe-fixes`.
    Unsafe,
    /// Shown, never applied.
    DisplayOnly,
}

/// One text replacement in a file: `range` (byte offsets into the *file bytes*) becomes `content`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: PathBuf,
    pub range: TextRange,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

/// A secondary location of a diagnostic, possibly in another file.
#[derive(Debug, Clone)]
pub struct Label {
    pub path: Arc<PathBuf>,
    pub range: TextRange,
    pub message: String,
}

/// A finding as a rule reports it: byte ranges into the document text of `path`.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub path: Arc<PathBuf>,
    pub range: TextRange,
    /// YAML route (`resources.jobs.x.tasks[1].for_each_task`) for bundle findings.
    pub route: Option<String>,
    pub related: Vec<Label>,
    pub help: Option<String>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(
        meta: &'static RuleMeta,
        path: Arc<PathBuf>,
        range: TextRange,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code: meta.code,
            name: meta.name,
            severity: meta.severity,
            message: message.into(),
            path,
            range,
            route: None,
            related: Vec::new(),
            help: None,
            fix: None,
        }
    }
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }
    pub fn related(
        mut self,
        path: Arc<PathBuf>,
        range: TextRange,
        message: impl Into<String>,
    ) -> Self {
        self.related.push(Label {
            path,
            range,
            message: message.into(),
        });
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }
}

/// A resolved position span (all 1-based; columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Path for display: relative to the working directory when under it, `/` separators.
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    /// 1-based notebook cell, `None` for YAML and plain modules.
    pub cell: Option<u32>,
    /// Lines in the file on disk (differs from `line` only for `.ipynb`, where `line` is the
    /// line inside the cell and these are lines of the JSON file).
    pub file_line: u32,
    pub file_end_line: u32,
    /// Byte range in the document text (for snippets).
    #[serde(skip)]
    pub range: TextRange,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedMessage {
    pub span: Span,
    pub message: String,
    #[serde(skip)]
    pub abs_path: Arc<PathBuf>,
}

/// A diagnostic resolved for output.
#[derive(Debug, Clone)]
pub struct Message {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub route: Option<String>,
    pub url: String,
    pub related: Vec<RelatedMessage>,
    pub help: Option<String>,
    pub fix: Option<Fix>,
    /// Absolute path of the file (to find the document text for snippets).
    pub abs_path: Arc<PathBuf>,
}

impl Message {
    pub fn fixable(&self) -> bool {
        self.fix
            .as_ref()
            .is_some_and(|f| f.applicability != Applicability::DisplayOnly)
    }
}

/// Documentation URL of a rule.
pub fn rule_url(code: &str) -> String {
    format!(
        "https://github.com/bricklint/bricklint/blob/main/docs/rules.md#{}",
        code.to_ascii_lowercase()
    )
}
