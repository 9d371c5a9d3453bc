use crate::bundle::schema;
use crate::diagnostic::{Diagnostic, Severity, TextRange};
use crate::project::BundleContext;
use crate::rules::support::diag;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "SCH001",
    name: "bundle-schema-violation",
    severity: Severity::Error,
    summary: "bundle configuration that breaks the bundle JSON schema",
    doc: r#"## What it does
Validates every file of a bundle (`databricks.yml` and its includes) against a JSON Schema and
reports each violation at the key or value it is about: unknown fields, missing required fields,
wrong types (a YAML list where a string is expected, a number in `base_parameters`), invalid enum
values. Also reports bad `include:` entries (absolute, escaping the bundle root, or a path
without wildcards that matches nothing). (An unknown `--target` is not a finding but a usage
error, exit code 2, as in the Databricks CLI.)

By default the built-in schema is used. It was written for bricklint and covers what bricklint
models: jobs, tasks, `for_each_task`, `notebook_task`, `depends_on`, `job_clusters` and job
`parameters`; other parts of the configuration are accepted as they are.
`--bundle-schema FILE` (or `bundle-schema = "..."` in `bricklint.toml`) validates against the
official schema instead (`databricks bundle schema > bundle_schema.json`). With
`BRICKLINT_USE_DATABRICKS_CLI=1`, bricklint asks the `databricks` executable on PATH for its
schema and caches it per CLI version.

The official schema wraps every field in `oneOf: [<type>, <${var...} reference>]`; bricklint
descends into the alternative that matched best, so the message names the real problem.
A schema given with `--bundle-schema` is checked on the merged configuration of the target
(includes and target overrides merged, variables substituted), so required fields are judged
on the result and not on a target-override fragment.

What the CLI accepts is not reported (`libs/dyn/convert/normalize.go`): null is unset (`tasks:`
with no value is no tasks); a number or boolean where a string is expected is converted
(`existing_cluster_id: 500`, `spark_conf` values `1` / `true`), with a warning only when the
conversion changes what is written (`spark_version: 13.10` becomes `"13.1"`); `"5"` where an
integer is expected is read as 5; a `${...}` reference where an enum or pattern is expected is
resolved later. A null scalar field is a warning (the CLI ignores the field), and so are the
read-only fields of a resource (`id`, `url`), which the deployment sets. The fields the Jobs API
requires of a task type (`python_wheel_task.package_name` and `entry_point`,
`spark_python_task.python_file`, ...) are checked on the merged configuration, as the CLI's
`required_fields` validation does.

## Why is this bad?
`databricks bundle validate` needs credentials and a network; these mistakes are found only at
deploy time, or silently dropped (the CLI warns about and ignores unknown fields).

## Example
```yaml
resources:
  jobs:
    fan_out:
      tasks:
        - task_key: process
          for_each_task:
            inputs: ["a", "b"]      # a YAML list: inputs must be a JSON string
            task:
              task_key: process_one
              notebook_task:
                notebook_path: ../src/process.py
                base_parameters:
                  retries: [3]      # must be a string
```

## Fix
Follow the message: rename or remove unknown fields, quote values that must be strings
(`inputs: '["a", "b"]'`, `retries: "[3]"`), add the missing fields.
"#,
    fixable: false,
};

pub struct BundleSchemaViolation;

impl Rule for BundleSchemaViolation {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        let config = &ctx.project.config;
        let path = match (&ctx.project.options.bundle_schema, &config.bundle_schema) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => match config.resolve_content_path(p) {
                Ok(p) => Some(p),
                Err(e) => {
                    out.push(Diagnostic::new(
                        &META,
                        b.root_file.clone(),
                        TextRange::default(),
                        format!("`bundle-schema` of the configuration: {e}"),
                    ));
                    return;
                }
            },
            (None, None) => None,
        };
        let path = path.or_else(schema::schema_from_cli);
        let owned;
        let validator = match &path {
            Some(p) => match schema::load_schema(p) {
                Ok(v) => {
                    owned = v;
                    &*owned
                }
                Err(e) => {
                    out.push(Diagnostic::new(
                        &META,
                        b.root_file.clone(),
                        TextRange::default(),
                        e,
                    ));
                    return;
                }
            },
            None => schema::builtin(),
        };
        let to_diag = |v: schema::Violation| {
            let mut d = diag(&META, &v.loc, v.route, v.message);
            if v.warning {
                d.severity = Severity::Warning;
            }
            d
        };
        // A schema given by the user (the official one) is checked on the merged configuration
        // of the target, variables substituted, as the CLI checks the configuration it loaded:
        // required fields are judged on the merged result, not on a target-override fragment.
        if let (Some(_), Some(merged)) = (&path, &b.config) {
            out.extend(
                schema::validate_with(validator, merged, &|p| b.text(p))
                    .into_iter()
                    .map(to_diag),
            );
            return;
        }
        use rayon::prelude::*;
        let found: Vec<Vec<Diagnostic>> = b
            .files
            .par_iter()
            .filter_map(|f| f.tree.as_ref().filter(|t| !t.is_null()))
            .map(|tree| {
                schema::validate_with(validator, tree, &|p| b.text(p))
                    .into_iter()
                    .filter(|v| !v.required)
                    .map(to_diag)
                    .collect()
            })
            .collect();
        out.extend(found.into_iter().flatten());
        // The built-in schema checks each file, but required fields are judged on the merged
        // configuration of the target (a target override may leave out what the base file
        // sets), as the CLI's bundle/config/validate/required_fields.go does.
        if let Some(merged) = &b.config {
            out.extend(
                schema::validate_with(validator, merged, &|p| b.text(p))
                    .into_iter()
                    .filter(|v| v.required)
                    .map(to_diag),
            );
            out.extend(
                schema::required_task_fields(merged)
                    .into_iter()
                    .map(to_diag),
            );
        }
    }
}
