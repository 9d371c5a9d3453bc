use crate::bundle::{refs, walk_refs};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag_in;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB008",
    name: "undefined-variable",
    severity: Severity::Error,
    summary: "`${var.x}` not declared, or an unknown `${...}` namespace",
    doc: r#"## What it does
Checks every `${...}` interpolation in the bundle files: `${var.x}` (and `${variables.x.value}`)
must name a variable declared under the top-level `variables:`; the first segment must be one of
`bundle`, `workspace`, `var`, `variables`, `resources`, `artifacts`; names must match the CLI's
syntax (`\p{L}+([-_]*[\p{L}\p{N}]+)*`, with `[N]` indexes). Every target is checked, not only the
selected one.

## Why is this bad?
The CLI fails with "reference does not exist" when it resolves the configuration, for every
deploy of every target that uses it; a variable declared only under a target is not a
declaration.

## Example
```yaml
variables:
  catalog:
    default: dev
resources:
  jobs:
    load:
      tasks:
        - task_key: load
          notebook_task:
            notebook_path: ../src/load.py
            base_parameters:
              catalog: ${var.catalgo}
```

## Fix
Declare the variable under `variables:` (with a `default` or a value per target), or fix the
name.
"#,
    fixable: false,
};

pub struct UndefinedVariable;

impl Rule for UndefinedVariable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        let declared: Vec<&str> = b.variables.keys().map(String::as_str).collect();
        for f in &b.files {
            let Some(tree) = &f.tree else { continue };
            let route = String::new();
            walk_refs(tree, &route, &mut |node, route| {
                let Some(s) = node.as_str() else { return };
                if !s.contains("${") {
                    return;
                }
                for i in refs::parse_interpolations(s) {
                    let msg = if let Some(e) = &i.syntax_error {
                        Some((format!("invalid interpolation: {e}"), None))
                    } else if !i
                        .namespace()
                        .is_some_and(|n| refs::INTERPOLATION_NAMESPACES.contains(&n))
                    {
                        let ns = i.namespace().unwrap_or("");
                        Some((
                            format!(
                                "unknown namespace `{ns}` in `${{{}}}`: the CLI resolves `bundle`, `workspace`, `var`, `variables`, `resources` and `artifacts`",
                                i.path
                            ),
                            refs::suggest(ns, refs::INTERPOLATION_NAMESPACES).map(|s| format!("did you mean `{s}`?")),
                        ))
                    } else if let Some(v) = i.variable() {
                        if declared.contains(&v) {
                            None
                        } else if i.segments.len() < 2 {
                            Some((format!("`${{{}}}` names no variable", i.path), None))
                        } else {
                            Some((
                                format!("variable `{v}` is not declared (`${{{}}}`)", i.path),
                                Some(match refs::suggest(v, &declared) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => format!("declare it under the top-level `variables:`: `{v}: {{default: ...}}`"),
                                }),
                            ))
                        }
                    } else {
                        None
                    };
                    if let Some((m, help)) = msg {
                        let mut d = diag_in(&META, b, node, i.range.clone(), route, m);
                        if let Some(h) = help {
                            d = d.help(h);
                        }
                        out.push(d);
                    }
                }
            });
        }
    }
}
