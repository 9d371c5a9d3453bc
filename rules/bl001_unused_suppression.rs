use crate::diagnostic::Severity;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "BL001",
    name: "unused-suppression",
    severity: Severity::Warning,
    summary: "a `bricklint: ignore[...]` comment that suppresses nothing",
    doc: "## What it does\nFinds `# bricklint: ignore[...]` and `file-ignore[...]` comments whose rules report nothing on the lines they cover.\n\n## Why is this bad?\nStale suppressions hide future findings and mislead readers about what the code does.\n\n## Example\n```python\nx = 1  # bricklint: ignore[ORC001]\n```\n\n## Fix\nRemove the comment, or the codes in it that no longer apply.\n",
    fixable: false,
};

/// Reported by the suppression pass (`crate::suppress::apply`), which sees every finding of a
/// document and every suppression comment in it.
pub struct UnusedSuppression;

impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
