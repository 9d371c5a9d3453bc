//! GitLab Code Quality report (`--output-format gitlab`): a JSON array of issues.
//!
//! The fingerprint identifies a finding across commits: it hashes the rule code, the path, the
//! message and the (whitespace-normalised) source text of the finding — never line numbers — so
//! moving code up or down does not make GitLab report it as fixed and new. Identical findings in
//! one file are told apart by their order of occurrence.
//!
//! Severities: error -> `critical`, warning -> `major`, info -> `info`.

use std::collections::HashMap;
use std::io::Write;

use serde_json::{json, Value};

use crate::diagnostic::{Message, Severity};
use crate::engine::CheckResult;

pub fn severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Error => "critical",
        Severity::Warning => "major",
        Severity::Info => "info",
    }
}

/// 128-bit FNV-1a as 32 hex digits: stable across platforms, Rust versions and runs.
pub fn fingerprint_of(parts: &[&str]) -> String {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:032x}")
}

/// The source text a finding covers, whitespace-normalised (empty when unknown).
fn snippet(m: &Message, result: &CheckResult) -> String {
    let Some(doc) = result.document(&m.abs_path) else {
        return String::new();
    };
    let r = m.span.range;
    let end = doc.text.len();
    let (s, e) = (
        usize::from(r.start()).min(end),
        usize::from(r.end()).min(end),
    );
    doc.text
        .get(s..e)
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn to_value(result: &CheckResult) -> Value {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let issues: Vec<Value> = result
        .messages
        .iter()
        .map(|m| {
            let snip = snippet(m, result);
            let base = fingerprint_of(&[m.code, &m.span.path, &m.message, &snip]);
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let fingerprint = if *n == 1 {
                base
            } else {
                fingerprint_of(&[&base, &n.to_string()])
            };
            json!({
                "type": "issue",
                "description": format!("{} {}", m.code, m.message),
                "check_name": format!("{} {}", m.code, m.name),
                "categories": ["Bug Risk"],
                "fingerprint": fingerprint,
                "severity": severity(m.severity),
                "location": {
                    "path": m.span.path,
                    "lines": { "begin": m.span.file_line, "end": m.span.file_end_line.max(m.span.file_line) },
                },
            })
        })
        .collect();
    Value::Array(issues)
}

pub fn render(result: &CheckResult, w: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &to_value(result))?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_separates_parts() {
        // A fixed value: changing the hash would make GitLab see every finding as new.
        assert_eq!(
            fingerprint_of(&["NB001", "a.py", "msg", "x"]),
            "57870024ea88b6bf899a2240cc2d5ecd"
        );
        assert_ne!(
            fingerprint_of(&["ab", "c"]),
            fingerprint_of(&["a", "bc"]),
            "parts are delimited"
        );
        assert_eq!(fingerprint_of(&[]).len(), 32);
    }
}
