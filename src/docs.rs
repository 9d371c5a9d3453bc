//! The rule reference `docs/rules.md`, generated from the registry (each rule's doc string is
//! its documentation). `tests/docs.rs` fails when the committed file is out of date; regenerate
//! it with `BRICKLINT_UPDATE_DOCS=1 cargo test --test docs`.

use std::fmt::Write;

use crate::rules;

/// The rule table (also shown in README.md), with links relative to `base`
/// (`""` inside docs/rules.md, `"docs/rules.md"` from the README).
pub fn rules_table(base: &str) -> String {
    let mut s = String::from("| code | name | severity | finds |\n|---|---|---|---|\n");
    for r in rules::all() {
        let m = r.meta();
        let _ = writeln!(
            s,
            "| [{}]({base}#{}) | {} | {} | {} |",
            m.code,
            m.code.to_ascii_lowercase(),
            m.name,
            m.severity.as_str(),
            m.summary.replace('|', "\\|")
        );
    }
    s
}

/// The whole `docs/rules.md` text.
pub fn rules_markdown() -> String {
    let mut s = String::new();
    s.push_str("# bricklint rules\n\n");
    s.push_str("Generated from the rule registry (`bricklint rules`, `bricklint rule CODE`); do not edit by hand.\n\n");
    s.push_str(&rules_table(""));
    for r in rules::all() {
        let m = r.meta();
        let _ = write!(
            s,
            "\n<a id=\"{}\"></a>\n\n## {} {}\n\nDefault severity: {}.{}\n\n",
            m.code.to_ascii_lowercase(),
            m.code,
            m.name,
            m.severity.as_str(),
            if m.fixable { " Fixable." } else { "" }
        );
        // Demote the doc's headings one level under the rule's heading.
        for line in m.doc.trim_end().lines() {
            if line.starts_with("## ") || line.starts_with("### ") {
                s.push('#');
            }
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}
