use crate::bundle::refs::{self, RefTarget};
use crate::bundle::{walk_refs, Job, Node};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag_in;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "JOB009",
    name: "dynamic-reference-invalid",
    severity: Severity::Error,
    summary:
        "malformed `{{ }}`, unknown namespace or field, or `{{tasks.x...}}` where `x` is not a task",
    doc: r#"## What it does
Parses every `{{ ... }}` dynamic value reference in the jobs of the bundle and checks it against
the references the Jobs service knows (DATABRICKS_FACTS.md §1): the namespaces `job`, `task`,
`tasks`, `workspace`, `input`, `backfill` and the legacy single names (`{{job_id}}`, ...), their
fields (`{{job.start_time.iso_date}}`, `{{tasks.<t>.values.<k>}}`, ...), and that `<t>` in
`{{tasks.<t>...}}` is a task of the same job. Names with characters other than letters, digits
and `_` must be in backticks (``{{job.parameters.`my-param`}}``). A `{{job.parameters.<name>}}`
must name a parameter of the job's `parameters:` (after the target's overrides are merged), with
a "did you mean" for a close name. The offending part of the string is highlighted. For Each
`inputs` are checked by FE005 and `{{input}}` by FE006.

## Why is this bad?
A malformed reference or one with an unknown namespace is passed through *silently* as literal
text: the notebook receives the string `{{job.naem}}` instead of a value. An unknown field in a
known namespace, or a job parameter the job does not define, makes the run fail.

## Example
```yaml
base_parameters:
  run: "{{job.run-id}}"          # malformed: `-`
  name: "{{job.naem}}"           # unknown field
  items: "{{tasks.lsit.values.items}}"   # no task `lsit`
  day: "{{job.parameters.run_dte}}"      # the job's parameter is `run_date`
```

## Fix
Use a documented reference, backticks for unusual names, an existing `task_key`, and a
parameter declared under the job's `parameters:`.
"#,
    fixable: false,
};

/// The names of a job's parameters (after target merging); `None` when they are not known
/// offline (`parameters` set from a complex variable, a name built from `${ }`).
fn job_parameter_names(job: &Job) -> Option<Vec<&str>> {
    match job.node.get("parameters") {
        None => Some(Vec::new()),
        Some(n) if n.is_null() => Some(Vec::new()),
        Some(n) => n
            .as_seq()?
            .iter()
            .map(|p| {
                p.get("name")
                    .and_then(Node::as_str)
                    .filter(|s| !s.contains("${"))
            })
            .collect(),
    }
}

pub struct DynamicReferenceInvalid;

impl Rule for DynamicReferenceInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for job in &b.jobs {
            let keys: Vec<&str> = job.all_tasks().iter().filter_map(|t| t.key()).collect();
            let params = job_parameter_names(job);
            let route = job.route.clone();
            walk_refs(&job.node, &route, &mut |node, route| {
                let Some(s) = node.as_str() else { return };
                if !s.contains("{{") || route.ends_with(".for_each_task.inputs") {
                    return;
                }
                for r in refs::parse_dynamic(s) {
                    if let Some(e) = &r.syntax_error {
                        out.push(
                            diag_in(
                                &META,
                                b,
                                node,
                                r.range.clone(),
                                route,
                                format!("malformed dynamic value reference: {e}"),
                            )
                            .help("the Jobs service keeps a malformed reference as literal text; write `{{namespace.field}}`, with backticks around unusual names"),
                        );
                        continue;
                    }
                    if let Some(p) = refs::check_dynamic(&r) {
                        let seg = r
                            .segments
                            .get(p.segment)
                            .map(|s| s.range.clone())
                            .unwrap_or(r.range.clone());
                        out.push(diag_in(&META, b, node, seg, route, p.message));
                        continue;
                    }
                    let task = match r.target() {
                        RefTarget::TaskValue { task, .. } | RefTarget::TaskField { task } => task,
                        RefTarget::JobParameter(p) => {
                            let Some(names) = &params else { continue };
                            if names.contains(&p.name.as_str()) || p.name.contains("${") {
                                continue;
                            }
                            let written = s.get(r.range.clone()).unwrap_or_default();
                            let mut d = diag_in(
                                &META,
                                b,
                                node,
                                p.range.clone(),
                                route,
                                if names.is_empty() {
                                    format!(
                                        "`{}`: job `{}` has no `parameters:`, so there is no parameter `{}`",
                                        written,
                                        job.key,
                                        p.name
                                    )
                                } else {
                                    format!(
                                        "`{}`: job `{}` has no parameter `{}` (its parameters: {})",
                                        written,
                                        job.key,
                                        p.name,
                                        names
                                            .iter()
                                            .map(|n| format!("`{n}`"))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )
                                },
                            );
                            d = match refs::suggest(&p.name, names) {
                                Some(s) => d.help(format!("did you mean `{s}`?")),
                                None => d.help(format!(
                                    "declare it in the job: `parameters: [{{name: {}, default: ...}}]`",
                                    p.name
                                )),
                            };
                            if let Some(e) = job.node.entry("parameters") {
                                d = d.related(
                                    e.key_loc.file.clone(),
                                    e.key_loc.range,
                                    format!("the parameters of job `{}`", job.key),
                                );
                            }
                            out.push(d);
                            continue;
                        }
                        _ => continue,
                    };
                    if keys.contains(&task.name.as_str()) || task.name.contains("${") {
                        continue;
                    }
                    let mut d = diag_in(
                        &META,
                        b,
                        node,
                        task.range.clone(),
                        route,
                        format!(
                            "`{{{{{}}}}}` refers to task `{}`, which is not a task of job `{}`",
                            r.path(),
                            task.name,
                            job.key
                        ),
                    );
                    if let Some(s) = refs::suggest(&task.name, &keys) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    out.push(d);
                }
            });
        }
    }
}
