use crate::bundle::refs::{self, RefTarget};
use crate::bundle::{diag_in, walk_strings};
use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::BundleContext;
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
and `_` must be in backticks (``{{job.parameters.`my-param`}}``). The offending part of the
string is highlighted. For Each `inputs` are checked by FE005 and `{{input}}` by FE006.

## Why is this bad?
A malformed reference or one with an unknown namespace is passed through *silently* as literal
text: the notebook receives the string `{{job.naem}}` instead of a value. An unknown field in a
known namespace makes the run fail.

## Example
```yaml
base_parameters:
  run: "{{job.run-id}}"          # malformed: `-`
  name: "{{job.naem}}"           # unknown field
  items: "{{tasks.lsit.values.items}}"   # no task `lsit`
```

## Fix
Use a documented reference, backticks for unusual names, and an existing `task_key`.
"#,
    fixable: false,
};

pub struct DynamicReferenceInvalid;

impl Rule for DynamicReferenceInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for job in &b.jobs {
            let keys: Vec<&str> = job.all_tasks().iter().filter_map(|t| t.key()).collect();
            let mut route = job.route.clone();
            walk_strings(&job.node, &mut route, &mut |node, route| {
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
