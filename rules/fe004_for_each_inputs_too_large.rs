use crate::bundle::refs::{self, RefTarget};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "FE004",
    name: "for-each-inputs-too-large",
    severity: Severity::Error,
    summary: "For Each inputs over 10,000 characters",
    doc: r#"## What it does
Measures For Each `inputs` given inline (a JSON array in the YAML, after variables are
substituted) and inputs taken from a job parameter (`"{{job.parameters.p}}"`, measured on the
parameter's `default`): more than 10,000 characters is an error.

Payloads produced by a notebook through a task value (`"{{tasks.t.values.k}}"`, limit 48 KiB)
are measured by TV001 on the `taskValues.set` call and by `bricklint payload`.

## Why is this bad?
The Jobs service limits the parameter array of a For Each task to 10,000 characters (48 KB when
passed by task-value reference); the job is rejected or the run fails.

## Example
```yaml
for_each_task:
  inputs: '[{"table": "orders", "columns": [...]}, ... 400 more ...]'
```

## Fix
Pass lookup keys instead of whole records (`["orders", "customers"]`) and let the nested task
read its configuration from a file or table; or produce the list in a task and pass it with a
task value.
"#,
    fixable: false,
};

/// Inline inputs limit (characters).
pub const MAX_INLINE: usize = crate::limits::FOR_EACH_INLINE_MAX_CHARS as usize;

pub struct ForEachInputsTooLarge;

impl Rule for ForEachInputsTooLarge {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        for job in &ctx.bundle.jobs {
            for task in job.all_tasks() {
                let Some(fe) = &task.for_each_task else {
                    continue;
                };
                let Some(inputs) = &fe.inputs else { continue };
                let Some(s) = inputs.as_str() else { continue };
                let route = format!("{}.inputs", fe.route);
                let dyn_refs = refs::parse_dynamic(s);
                if dyn_refs.is_empty() {
                    let n = s.chars().count();
                    if n > MAX_INLINE {
                        out.push(
                            diag(
                                &META,
                                &inputs.loc,
                                route,
                                format!("For Each inputs are {n} characters long; the limit is {MAX_INLINE}"),
                            )
                            .help("pass lookup keys instead of whole records, or produce the list in a task and pass it as a task value (up to 48 KiB)"),
                        );
                    }
                    continue;
                }
                for r in &dyn_refs {
                    let RefTarget::JobParameter(name) = r.target() else {
                        continue;
                    };
                    let Some(p) = job.parameters.iter().find(|p| {
                        p.name.as_ref().and_then(|n| n.as_str()) == Some(name.name.as_str())
                    }) else {
                        continue;
                    };
                    let Some(def) = p.default.as_ref() else {
                        continue;
                    };
                    let Some(text) = def.as_str() else { continue };
                    let n = text.chars().count();
                    if n > MAX_INLINE {
                        out.push(
                            diag(
                                &META,
                                &def.loc,
                                format!("{}.default", p.route),
                                format!(
                                    "job parameter `{}` feeds For Each task `{}` with {n} characters; the limit is {MAX_INLINE}",
                                    name.name,
                                    task.key().unwrap_or("?")
                                ),
                            )
                            .related(inputs.loc.file.clone(), inputs.loc.range, "used as For Each inputs here")
                            .help("pass lookup keys instead of whole records"),
                        );
                    }
                }
            }
        }
    }
}
