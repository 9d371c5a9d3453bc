use crate::bundle::VarIssueKind;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::var002_variable_reference_cycle::issue_diagnostics;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "VAR003",
    name: "variable-expansion-limit",
    severity: Severity::Error,
    summary: "`${var.x}` substitution that would build more than 16 MiB of text or chain more than 64 variables",
    doc: r#"## What it does
Bounds `${ }` substitution as YAML aliases are bounded: the text built by substituting the
variables of one bundle may total at most 16 MiB, and a chain of variables referring to
variables may be at most 64 long. When a budget is hit, bricklint reports where, stops
substituting there and leaves the remaining references as written, so the rest of the bundle is
still checked.

## Why is this bad?
Each variable defined as the previous one repeated (`v2: ${var.v1}${var.v1}`) doubles the text:
27 such levels in a 1 KB file expand to gigabytes. The CLI builds every byte of it and runs out of
memory; no real bundle needs it.

## Example
```yaml
variables:
  v0: {default: "xxxxxxxxxxxxxxxx"}
  v1: {default: "${var.v0}${var.v0}"}
  v2: {default: "${var.v1}${var.v1}"}
  # ... up to v27
```

## Fix
Define each variable from its parts once instead of repeating variables inside variables.
"#,
    fixable: false,
};

pub struct VariableExpansionLimit;

impl Rule for VariableExpansionLimit {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        issue_diagnostics(&META, ctx.bundle, VarIssueKind::Budget, out);
    }
}
