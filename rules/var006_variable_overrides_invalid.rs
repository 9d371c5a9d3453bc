use crate::bundle::VarIssueKind;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::var002_variable_reference_cycle::issue_diagnostics;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "VAR006",
    name: "variable-overrides-invalid",
    severity: Severity::Error,
    summary: "a `.databricks/bundle/<target>/variable-overrides.json` the CLI refuses",
    doc: r#"## What it does
Reads `.databricks/bundle/<target>/variable-overrides.json` (`default` when the bundle has no
targets) as the CLI does and reports a file that is not JSON, is not a JSON object, or gives a
complex variable a plain value (or a plain variable a mapping or a list). The position in the
file is in the message.

## Why is this bad?
The CLI reads this file before resolving variables and stops on each of these
(`failed to parse variables file`, `variable x is of type complex, but the value in the variable
file is not a complex type`; bundle/config/mutator/set_variables.go): no command works for the
target until the file is fixed or removed.

## Example
```json
{"catalog": "dev", "cluster": "small"}
```
with `cluster` declared `type: complex`.

## Fix
Write a JSON object mapping variable names to values of the declared kind, or delete the file.
"#,
    fixable: false,
};

pub struct VariableOverridesInvalid;

impl Rule for VariableOverridesInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        issue_diagnostics(&META, ctx.bundle, VarIssueKind::OverridesFile, out);
    }
}
