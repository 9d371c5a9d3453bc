use crate::diagnostic::Severity;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "BL002",
    name: "invalid-suppression",
    severity: Severity::Warning,
    summary: "a suppression comment naming an unknown rule",
    doc: "## What it does\nFinds `bricklint: ignore[...]` comments that name a code or rule name bricklint does not know.\n\n## Why is this bad?\nA typo in a suppression silently suppresses nothing, so the finding it was meant for still fails the build, or a later one is hidden by a wrong belief.\n\n## Example\n```python\ndbutils.notebook.run(p, 0)  # bricklint: ignore[ORC0001]\n```\n\n## Fix\nUse a code (`ORC001`) or a rule name (`notebook-run-in-thread-pool`) from `bricklint rules`.\n",
    fixable: false,
};

/// Reported by the suppression pass (`crate::suppress::apply`), which sees every finding of a
/// document and every suppression comment in it.
pub struct InvalidSuppression;

impl Rule for InvalidSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }
}
