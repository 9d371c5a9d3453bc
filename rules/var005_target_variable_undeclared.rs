use crate::bundle::Node;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "VAR005",
    name: "target-variable-undeclared",
    severity: Severity::Error,
    summary: "a target assigns a variable that the top-level `variables:` does not declare",
    doc: r#"## What it does
Checks every target of every bundle file: each name under `targets.<target>.variables` must be
declared under the top-level `variables:`. Every target is checked, not only the selected one.

## Why is this bad?
The CLI refuses the target: `variable <name> is not defined` (bundle/config/root.go merges a
target's variables only into declared ones). A declaration that exists only under a target is
not a declaration, and the value is usually a typo of a declared name.

## Example
```yaml
variables:
  catalog:
    default: dev
targets:
  prod:
    variables:
      catalgo: prod
```

## Fix
Declare the variable under the top-level `variables:`, or fix the name.
"#,
    fixable: false,
};

pub struct TargetVariableUndeclared;

impl Rule for TargetVariableUndeclared {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        // Declarations of every file (the merged configuration keeps them all).
        let declared: Vec<&str> = b.variables.keys().map(String::as_str).collect();
        for f in &b.files {
            let Some(tree) = &f.tree else { continue };
            for section in ["targets", "environments"] {
                let Some(targets) = tree.get(section).and_then(Node::as_map) else {
                    continue;
                };
                for t in targets {
                    let Some(vars) = t.value.get("variables").and_then(Node::as_map) else {
                        continue;
                    };
                    for v in vars.iter().filter(|v| !declared.contains(&v.key.as_str())) {
                        let mut d = diag(
                            &META,
                            &v.key_loc,
                            format!("{section}.{}.variables.{}", t.key, v.key),
                            format!(
                                "target `{}` assigns variable `{}`, which is not declared under the top-level `variables:`: the CLI stops with `variable {} is not defined`",
                                t.key, v.key, v.key
                            ),
                        );
                        d = d.help(match crate::bundle::refs::suggest(&v.key, &declared) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => {
                                format!("declare it: `variables: {{{}: {{default: ...}}}}`", v.key)
                            }
                        });
                        out.push(d);
                    }
                }
            }
        }
    }
}
