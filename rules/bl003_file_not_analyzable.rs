use crate::diagnostic::Severity;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "BL003",
    name: "file-not-analyzable",
    severity: Severity::Error,
    summary: "a file that cannot be read, decoded or analysed",
    doc: "## What it does\nReports files bricklint was asked to analyse but could not: unreadable files, files that are not UTF-8, binary files, notebooks whose JSON is malformed or truncated, files over the size limit (`[limits] max-file-bytes`), and internal errors while analysing a file.\n\n## Why is this bad?\nA file bricklint cannot read is a file nobody checked. Databricks itself rejects most of these files at import time.\n\n## Example\nA `.ipynb` cut off in the middle of its JSON by a bad merge.\n\n## Fix\nRepair or re-export the file; exclude it with `exclude = [...]` in the config if it is not a notebook.\n",
    fixable: false,
};

/// Reported by the engine while loading files (`crate::engine::load`), and for a panic while
/// analysing one file (the per-file guard).
pub struct FileNotAnalyzable;

impl Rule for FileNotAnalyzable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
