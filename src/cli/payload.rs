//! `bricklint payload`: check a task-value / For Each payload (a JSON file or stdin) against the
//! size limits and a JSON Schema contract.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::payload::{self, PayloadOptions, PayloadReport, Severity};

#[derive(Debug, Args)]
#[command(
    about = "Check a task-value / For Each payload (JSON file or stdin): validity, compact \
JSON size (48 KiB), For Each inputs, JSON Schema contract"
)]
#[command(
    long_about = "Check a task-value or For Each payload: valid JSON (NaN and Infinity are \
not JSON), at most 48 KiB (49,152 bytes) or --max-bytes, optionally a JSON array that fits \
for_each_task.inputs, and a JSON Schema contract.\n\n\
Size is measured exactly as compact JSON: no whitespace outside strings, strings in canonical \
form (only quotes, backslashes and control characters escaped), non-ASCII characters counted in \
UTF-8 bytes, numbers as written.\n\n\
Exit status: 0 no problems, 1 problems found, 2 usage or I/O error."
)]
pub struct PayloadArgs {
    /// JSON file to check, or `-` (the default) for stdin.
    #[arg(default_value = "-")]
    pub file: String,
    /// Task-value key whose contract (`[task-values.<key>]`: schema, max-bytes) applies.
    #[arg(long)]
    pub key: Option<String>,
    /// JSON Schema file to validate the payload with (overrides the key's schema).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// The payload feeds `for_each_task.inputs`: it must be a JSON array; warn above the
    /// 10,000-character limit of inputs given inline.
    #[arg(long)]
    pub for_each_inputs: bool,
    /// Size limit in bytes of compact JSON (default 49152 = 48 KiB, or the key's max-bytes).
    #[arg(long)]
    pub max_bytes: Option<u64>,
    #[arg(long, value_enum, default_value_t = PayloadFormat::Text)]
    pub output_format: PayloadFormat,
    /// Configuration file (default: bricklint.toml, .bricklint.toml or pyproject.toml upward).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PayloadFormat {
    Text,
    Json,
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    super::fail(msg)
}

pub fn run(args: PayloadArgs) -> ExitCode {
    // The contract of the key, if any.
    let mut max_bytes = args.max_bytes;
    let mut contract = None;
    if let Some(key) = &args.key {
        let config = match super::load_config(args.config.as_ref()) {
            Ok(c) => c,
            Err(code) => return code,
        };
        match payload::Contract::load(&config, key) {
            Ok(Some(c)) => contract = Some(c),
            Ok(None) => {
                return usage_error(format!(
                    "no contract for task value `{key}`: add `[task-values.{key}]` with `schema` and/or `max-bytes` to the config{}",
                    config
                        .source
                        .as_ref()
                        .map(|p| format!(" ({})", crate::source::display_path(p)))
                        .unwrap_or_default()
                ))
            }
            Err(e) => return usage_error(e),
        }
    }
    if max_bytes.is_none() {
        max_bytes = contract.as_ref().map(|c| c.max_bytes);
    }
    let explicit_schema = match &args.schema {
        Some(p) => match payload::load_schema(p) {
            Ok(v) => Some((v, crate::source::display_path(p))),
            Err(e) => return usage_error(e),
        },
        None => None,
    };
    let schema = match (&explicit_schema, &contract) {
        (Some((v, label)), _) => Some((v, label.clone())),
        (None, Some(c)) => c.validator.as_ref().map(|v| (v, c.label())),
        _ => None,
    };

    // The payload.
    let (text, name) = if args.file == "-" {
        match crate::fsutil::read_stdin() {
            Ok(buf) => (buf, "<stdin>".to_string()),
            Err(e) => return usage_error(format!("cannot read stdin: {e}")),
        }
    } else {
        match crate::fsutil::read_input(Path::new(&args.file)) {
            Ok(b) => (b, args.file.clone()),
            Err(e) => return usage_error(format!("{}: cannot read: {e}", args.file)),
        }
    };
    let text = match String::from_utf8(text) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) =
                crate::fsutil::line_col(&e.as_bytes()[..e.utf8_error().valid_up_to()]);
            return usage_error(format!(
                "{name}:{line}:{col}: not UTF-8; JSON must be UTF-8"
            ));
        }
    };

    let opts = PayloadOptions {
        max_bytes,
        for_each_inputs: args.for_each_inputs,
        schema,
    };
    let report = payload::check_text(&text, &opts);
    let out = match args.output_format {
        PayloadFormat::Text => render_text(&name, &report, &opts),
        PayloadFormat::Json => render_json(&name, args.key.as_deref(), &report),
    };
    let code = if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    super::print_then(&out, code)
}

fn render_text(name: &str, r: &PayloadReport, opts: &PayloadOptions<'_>) -> String {
    let mut s = String::new();
    for p in &r.problems {
        let level = p.severity.as_str();
        let pos = match (p.line, p.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "{name}{pos}: {level}[{}]: {}\n",
            p.kind, p.message
        ));
    }
    if let (Some(bytes), Some(t)) = (r.bytes, r.json_type) {
        let what = match r.elements {
            Some(n) if t == "array" => format!("an array of {n} element{}", plural(n)),
            Some(n) => format!("an object with {n} member{}", plural(n)),
            None => format!("a {t}"),
        };
        let mut line = format!(
            "{name}: {what}, {bytes} bytes of compact JSON (limit {}, {:.1}% used)",
            r.max_bytes,
            bytes as f64 * 100.0 / r.max_bytes.max(1) as f64
        );
        if opts.for_each_inputs {
            if let Some(c) = r.characters {
                line.push_str(&format!(
                    ", {c} characters (inline limit {})",
                    payload::FOR_EACH_INLINE_MAX_CHARS
                ));
            }
        }
        if let Some((_, label)) = &opts.schema {
            line.push_str(&format!(", schema {label}"));
        }
        s.push_str(&line);
        s.push('\n');
    }
    let errors = r
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = r.problems.len() - errors;
    if r.problems.is_empty() {
        s.push_str("ok\n");
    } else {
        s.push_str(&format!(
            "{errors} error{}, {warnings} warning{}\n",
            plural(errors),
            plural(warnings)
        ));
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One problem as `payload --output-format json` has always written it: every field, `severity`.
fn problem_json(p: &payload::Problem) -> serde_json::Value {
    serde_json::json!({
        "severity": p.severity,
        "kind": p.kind,
        "message": p.message,
        "pointer": p.pointer,
        "line": p.line,
        "column": p.column,
    })
}

fn render_json(name: &str, key: Option<&str>, r: &PayloadReport) -> String {
    let v = serde_json::json!({
        "version": 1,
        "path": name,
        "key": key,
        "ok": r.problems.is_empty(),
        "valid_json": r.valid_json,
        "type": r.json_type,
        "elements": r.elements,
        "bytes": r.bytes,
        "characters": r.characters,
        "max_bytes": r.max_bytes,
        "problems": r.problems.iter().map(problem_json).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
