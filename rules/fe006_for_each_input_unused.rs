use crate::bundle::refs::{self, RefTarget};
use crate::bundle::walk_refs;
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::{diag, diag_in};
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "FE006",
    name: "for-each-input-unused",
    severity: Severity::Warning,
    summary: "nested task never uses `{{input}}`, `{{input.f}}` for a field the inputs lack, or `{{input}}` outside a For Each",
    doc: r#"## What it does
- A For Each whose nested task never mentions `{{input}}` (in parameters, paths, anything): every
  iteration runs exactly the same thing.
- `{{input.f}}` when the inputs are an inline JSON array whose elements are not objects, or
  some elements have no field `f`.
- `{{input}}` in a task that is not the nested task of a For Each, where it is not defined.

## Why is this bad?
The iterations are identical (wasted compute, or the notebook reads the item from elsewhere and
the fan-out is a lie); a missing field makes the iteration fail or receive literal text.

## Example
```yaml
for_each_task:
  inputs: '[{"table": "orders"}, {"table": "items"}]'
  task:
    task_key: load_one
    notebook_task:
      notebook_path: ../src/load.py
      base_parameters:
        table: "{{input.name}}"      # the elements have `table`, not `name`
```

## Fix
Pass the current element to the nested task (`"{{input}}"` or `"{{input.<field>}}"` with a field
every element has).
"#,
    fixable: false,
};

pub struct ForEachInputUnused;

impl Rule for ForEachInputUnused {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for job in &b.jobs {
            // `{{input}}` outside the nested task of a For Each.
            let route = job.route.clone();
            walk_refs(&job.node, &route, &mut |node, route| {
                let Some(s) = node.as_str() else { return };
                if !s.contains("{{")
                    || route.contains(".for_each_task.task")
                    || route.ends_with(".for_each_task.inputs")
                {
                    return;
                }
                for r in refs::parse_dynamic(s) {
                    if r.syntax_error.is_none() && r.namespace() == Some("input") {
                        out.push(
                            diag_in(&META, b, node, r.range.clone(), route, format!("`{{{{{}}}}}` is used outside the nested task of a For Each, where it is not defined", r.path()))
                                .help("use it only inside `for_each_task.task`"),
                        );
                    }
                }
            });
            for task in job.all_tasks() {
                let Some(fe) = &task.for_each_task else {
                    continue;
                };
                let Some(nested) = &fe.task else { continue };
                // Known elements, when the inputs are an inline JSON array.
                let elements: Option<Vec<serde_json::Value>> = fe
                    .inputs
                    .as_ref()
                    .and_then(|i| i.as_str())
                    .filter(|s| !s.contains("{{") && !s.contains("${"))
                    .and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(s).ok());
                let mut used = false;
                let route = nested.route.clone();
                walk_refs(&nested.node, &route, &mut |node, route| {
                    let Some(s) = node.as_str() else { return };
                    if !s.contains("{{") || route.contains(".for_each_task.task.for_each_task") {
                        return;
                    }
                    for r in refs::parse_dynamic(s) {
                        if r.syntax_error.is_some() {
                            continue;
                        }
                        let RefTarget::Input(fields) = r.target() else {
                            continue;
                        };
                        used = true;
                        let (Some(field), Some(elems)) = (fields.first(), &elements) else {
                            continue;
                        };
                        let missing: Vec<usize> = elems
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| e.get(&field.name).is_none())
                            .map(|(i, _)| i)
                            .collect();
                        if missing.is_empty() || elems.is_empty() {
                            continue;
                        }
                        let msg = if elems.iter().all(|e| !e.is_object()) {
                            format!("`{{{{{}}}}}`: the For Each inputs are not objects, so they have no field `{}`", r.path(), field.name)
                        } else {
                            format!(
                                "`{{{{{}}}}}`: {} of {} input elements have no field `{}` (first: element {})",
                                r.path(),
                                missing.len(),
                                elems.len(),
                                field.name,
                                missing[0]
                            )
                        };
                        let mut d = diag_in(&META, b, node, field.range.clone(), route, msg);
                        if let Some(i) = fe.inputs.as_ref() {
                            d = d.related(i.loc.file.clone(), i.loc.range, "the inputs");
                        }
                        out.push(d);
                    }
                });
                if !used {
                    out.push(
                        diag(
                            &META,
                            nested.anchor(),
                            &nested.route,
                            format!(
                                "nested task `{}` never uses `{{{{input}}}}`: every iteration of For Each `{}` runs the same thing",
                                nested.key().unwrap_or("?"),
                                task.key().unwrap_or("?")
                            ),
                        )
                        .help("pass the current element, e.g. `base_parameters: {item: \"{{input}}\"}`"),
                    );
                }
            }
        }
    }
}
