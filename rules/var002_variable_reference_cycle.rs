use crate::bundle::{Bundle, Loc, VarIssueKind};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "VAR002",
    name: "variable-reference-cycle",
    severity: Severity::Error,
    summary: "variables that refer to each other in a cycle, or a variable that refers to itself",
    doc: r#"## What it does
Resolves the variables' values as the CLI does (each variable once, following `${var.x}`
references depth first) and reports a cycle: `a` refers to `b` and `b` to `a`, or a complex
variable refers to one of its own fields. The finding is at the value of the first variable of
the cycle, with the whole chain in the message.

## Why is this bad?
The CLI stops with `cycle detected in field resolution: variables.a.value -> variables.b.value
-> variables.a.value` (libs/dyn/dynvar/resolve.go): nothing of the bundle can be validated or
deployed.

## Example
```yaml
variables:
  schema:
    default: ${var.catalog}_schema
  catalog:
    default: main_${var.schema}
```

## Fix
Give one of the variables a value that does not refer back, usually by introducing a third
variable both can use.
"#,
    fixable: false,
};

pub struct VariableReferenceCycle;

impl Rule for VariableReferenceCycle {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        issue_diagnostics(&META, ctx.bundle, VarIssueKind::Cycle, out);
    }
}

/// The variable issues of one kind found by the loader, as diagnostics of `meta`.
pub fn issue_diagnostics(
    meta: &'static crate::rules::RuleMeta,
    b: &Bundle,
    kind: VarIssueKind,
    out: &mut Vec<Diagnostic>,
) {
    for i in b.var_issues.iter().filter(|i| i.kind == kind) {
        let loc: &Loc = &i.loc;
        let mut d = if i.route.is_empty() {
            Diagnostic::new(meta, loc.file.clone(), loc.range, i.message.clone())
        } else {
            diag(meta, loc, i.route.clone(), i.message.clone())
        };
        if let Some(h) = &i.help {
            d = d.help(h.clone());
        }
        out.push(d);
    }
}
