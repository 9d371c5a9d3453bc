use crate::bundle::{refs, Node, Value};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag_in;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "VAR004",
    name: "reference-field-unknown",
    severity: Severity::Error,
    summary: "`${var.x.field}` naming no field of the variable's value, or an unknown `${bundle.*}` / `${workspace.*}` field",
    doc: r#"## What it does
Checks the fields named after a variable or a configuration section in `${ }` references:
- `${var.cluster.spark_version}`: the value of `cluster` for the selected target must have the
  field `spark_version` (and `${var.x.y}` where `x` is a string has no field at all);
- `${bundle.<field>}` and `${workspace.<field>}`: the field must be one the CLI's configuration
  has (`bundle.name`, `bundle.target`, `bundle.git.branch`, `workspace.root_path`,
  `workspace.current_user.userName`, ...).

## Why is this bad?
The CLI stops with `reference does not exist: ${var.cluster.spark_versio}` (libs/dyn/dynvar/
resolve.go looks the path up in the configuration; bundle/config/bundle.go and workspace.go list
the fields), for every target that uses the reference.

## Example
```yaml
variables:
  cluster:
    type: complex
    default:
      spark_version: 15.4.x-scala2.12
      num_workers: 2
resources:
  jobs:
    load:
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_version: ${var.cluster.spark_versio}
```

## Fix
Fix the field name (the message lists the fields the value has), or refer to the variable
itself when it is not a mapping.
"#,
    fixable: false,
};

/// Fields of `bundle` (bundle/config/bundle.go, git.go).
const BUNDLE_FIELDS: &[&str] = &[
    "name",
    "target",
    "environment",
    "git",
    "cluster_id",
    "compute_id",
    "databricks_cli_version",
    "deployment",
    "uuid",
    "lock",
    "terraform",
    "engine",
];
const GIT_FIELDS: &[&str] = &[
    "branch",
    "origin_url",
    "commit",
    "bundle_root_path",
    "actual_branch",
    "inferred",
];
/// Fields of `workspace` (bundle/config/workspace.go).
const WORKSPACE_FIELDS: &[&str] = &[
    "host",
    "profile",
    "auth_type",
    "metadata_service_url",
    "client_id",
    "google_service_account",
    "azure_workspace_resource_id",
    "azure_use_msi",
    "azure_client_id",
    "azure_tenant_id",
    "azure_environment",
    "azure_login_app_id",
    "experimental_is_unified_host",
    "account_id",
    "workspace_id",
    "current_user",
    "root_path",
    "file_path",
    "resource_path",
    "artifact_path",
    "state_path",
    "snapshot_path",
];

pub struct ReferenceFieldUnknown;

impl Rule for ReferenceFieldUnknown {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for f in &b.files {
            let Some(tree) = &f.tree else { continue };
            let mut path = Vec::new();
            walk(tree, &mut path, &mut |node, path| {
                let Some(s) = node.as_str() else { return };
                for i in refs::parse_interpolations(s) {
                    if i.syntax_error.is_some() {
                        continue;
                    }
                    if let Some((m, help)) = problem(b, &i) {
                        let route = route(path);
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

/// A step of the route to a node.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Call `f` on every string holding `${`, with the route to it as steps: the route text is
/// built only for a finding (bundles hold tens of thousands of references, nearly all fine).
fn walk<'a>(node: &'a Node, path: &mut Vec<Seg<'a>>, f: &mut dyn FnMut(&'a Node, &[Seg<'a>])) {
    match &node.value {
        Value::Str(s) if refs::has_interpolation(s) => f(node, path),
        Value::Map(m) => {
            for e in m.iter() {
                path.push(Seg::Key(&e.key));
                walk(&e.value, path, f);
                path.pop();
            }
        }
        Value::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(n, path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

fn route(path: &[Seg<'_>]) -> String {
    let mut r = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !r.is_empty() {
                    r.push('.');
                }
                r.push_str(k);
            }
            Seg::Index(i) => r.push_str(&format!("[{i}]")),
        }
    }
    r
}

/// The problem of one reference: message and help.
fn problem(b: &crate::bundle::Bundle, i: &refs::Interpolation) -> Option<(String, Option<String>)> {
    let s = &i.segments;
    match s.first().map(String::as_str)? {
        "bundle" => {
            let f = s.get(1)?;
            if !BUNDLE_FIELDS.contains(&f.as_str()) {
                return Some(unknown(i, f, "bundle", BUNDLE_FIELDS));
            }
            match (f.as_str(), s.get(2)) {
                ("git", Some(g)) if !GIT_FIELDS.contains(&g.as_str()) => {
                    Some(unknown(i, g, "bundle.git", GIT_FIELDS))
                }
                _ => None,
            }
        }
        "workspace" => {
            let f = s.get(1)?;
            if WORKSPACE_FIELDS.contains(&f.as_str()) {
                None
            } else {
                Some(unknown(i, f, "workspace", WORKSPACE_FIELDS))
            }
        }
        "var" | "variables" => variable_field(b, i),
        _ => None,
    }
}

fn unknown(
    i: &refs::Interpolation,
    field: &str,
    section: &str,
    known: &[&str],
) -> (String, Option<String>) {
    (
        format!(
            "`{section}` has no field `{field}` (`${{{}}}`): the CLI stops with `reference does not exist`",
            i.path
        ),
        Some(match refs::suggest(field, known) {
            Some(s) => format!("did you mean `{section}.{s}`?"),
            None => format!(
                "`{section}` has {}",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    )
}

/// `${var.x.a.b}` / `${variables.x.value.a}`: the fields after the variable must exist in its
/// value for the selected target (indexes are not checked).
fn variable_field(
    b: &crate::bundle::Bundle,
    i: &refs::Interpolation,
) -> Option<(String, Option<String>)> {
    if i.path.contains('[') {
        return None;
    }
    let s = &i.segments;
    let (name, rest) = match s[0].as_str() {
        "var" => (s.get(1)?, s.get(2..)?),
        _ if s.get(2).map(String::as_str) == Some("value") => (s.get(1)?, s.get(3..)?),
        _ => return None,
    };
    let mut cur: &Node = b.variables.get(name)?.value.as_ref()?;
    let mut at = format!("var.{name}");
    for field in rest {
        if crate::bundle::refs::has_interpolation(cur.as_str().unwrap_or("")) {
            return None;
        }
        let Value::Map(m) = &cur.value else {
            return Some((
                format!(
                    "`{at}` is a {}, it has no field `{field}` (`${{{}}}`): the CLI stops with `reference does not exist`",
                    cur.type_name(),
                    i.path
                ),
                Some(format!("refer to the whole value: `${{{at}}}`")),
            ));
        };
        match m.iter().find(|e| e.key == *field) {
            Some(e) => cur = &e.value,
            None => {
                let known: Vec<&str> = m.iter().map(|e| e.key.as_str()).collect();
                return Some((
                    format!(
                        "`{at}` has no field `{field}` (`${{{}}}`): the CLI stops with `reference does not exist`",
                        i.path
                    ),
                    Some(match refs::suggest(field, &known) {
                        Some(k) => format!("did you mean `{at}.{k}`?"),
                        None => format!(
                            "its fields: {}",
                            known
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }),
                ));
            }
        }
        at.push('.');
        at.push_str(field);
    }
    None
}
