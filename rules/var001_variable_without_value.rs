use crate::bundle::{Node, VarSource};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "VAR001",
    name: "variable-without-value",
    severity: Severity::Error,
    summary: "a variable with no value: no default, no `--var`, no `BUNDLE_VAR_`, no target value",
    doc: r#"## What it does
Finds declared variables that get no value for the selected target: no `default`, no `lookup`, no
value under `targets.<target>.variables`, none in
`.databricks/bundle/<target>/variable-overrides.json`, and none given with `--var name=value` or
the `BUNDLE_VAR_<name>` environment variable (give bricklint the same `--var` flags and
environment as the CLI). With several targets and none selected, a variable is reported only
when no target gives it a value.

## Why is this bad?
The CLI stops before doing anything else: `no value assigned to required variable <name>`
(bundle/config/mutator/set_variables.go). Every `validate`, `deploy` and `run` of the target
fails until the value is given.

## Example
```yaml
variables:
  catalog:
    description: Unity Catalog to write to
targets:
  dev:
    default: true
```

## Fix
Give the variable a `default:`, a value under each target's `variables:`, or pass it with
`--var catalog=...` / `BUNDLE_VAR_catalog`.
"#,
    fixable: false,
};

pub struct VariableWithoutValue;

impl Rule for VariableWithoutValue {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        let Some(config) = &b.config else { return };
        for v in b.variables.values() {
            if v.source != VarSource::Unknown {
                continue;
            }
            let decl = config.get_path(&["variables", &v.name]);
            if decl.and_then(|d| d.get("lookup")).is_some() {
                continue;
            }
            // No target selected among several: the CLI asks for one; report only a variable
            // that no target gives a value.
            if b.target.is_none() && !b.targets.is_empty() && any_target_sets(b, &v.name) {
                continue;
            }
            let target = b.target.as_deref().unwrap_or("default");
            out.push(
                diag(
                    &META,
                    &v.key_loc,
                    format!("variables.{}", v.name),
                    format!(
                        "variable `{0}` has no value for target `{target}`: no `default`, no value under the target, no `--var {0}=...`, no `BUNDLE_VAR_{0}` and none in .databricks/bundle/{target}/variable-overrides.json; the CLI stops with `no value assigned to required variable {0}`",
                        v.name
                    ),
                )
                .help(format!(
                    "add `default: ...` to `{0}`, set it under `targets.{target}.variables`, or pass `--var {0}=...`",
                    v.name
                )),
            );
        }
    }
}

/// Does some target of the bundle's files set `name` (a value, a default or a lookup)?
fn any_target_sets(b: &crate::bundle::Bundle, name: &str) -> bool {
    b.files.iter().filter_map(|f| f.tree.as_ref()).any(|t| {
        ["targets", "environments"].iter().any(|k| {
            t.get(k).and_then(Node::as_map).is_some_and(|ts| {
                ts.iter().any(|tgt| {
                    tgt.value
                        .get_path(&["variables", name])
                        .is_some_and(|v| !v.is_null())
                })
            })
        })
    })
}
