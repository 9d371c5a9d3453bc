use crate::bundle::{refs, Entry, Node};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::{diag, diag_in};
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "VAR007",
    name: "variable-in-name-or-key",
    severity: Severity::Error,
    summary: "`${...}` in `bundle.name` or in a resource key, where the CLI does not substitute it",
    doc: r#"## What it does
Finds `${...}` references where the CLI refuses them: in `bundle.name` (top level or under a
target) and in the key of a resource (`resources.jobs.<key>`, also under a target).

## Why is this bad?
`databricks bundle validate` refuses both. The bundle name is read before variables are
resolved (it names the workspace folder `~/.bundle/${bundle.name}/<target>`), and resource keys
are never substituted: the CLI substitutes values, not mapping keys (libs/dyn/dynvar/resolve.go
walks values), so the key stays `${var.env}_load`, which no deployment accepts.

## Example
```yaml
bundle:
  name: etl-${var.env}
resources:
  jobs:
    ${var.env}_load:
      name: load
```

## Fix
Give the bundle a plain name and the resource a plain key; put the variable in the resource's
`name:` (`name: load-${var.env}`), which is substituted, or use a target per environment.
"#,
    fixable: false,
};

pub struct VariableInNameOrKey;

impl Rule for VariableInNameOrKey {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        for f in &b.files {
            let Some(tree) = &f.tree else { continue };
            check_layer(b, tree, "", out);
            for section in ["targets", "environments"] {
                for t in tree.get(section).and_then(Node::as_map).unwrap_or_default() {
                    check_layer(b, &t.value, &format!("{section}.{}.", t.key), out);
                }
            }
        }
    }
}

/// `bundle.name` and resource keys of one layer (the top level or a target).
fn check_layer(b: &crate::bundle::Bundle, layer: &Node, prefix: &str, out: &mut Vec<Diagnostic>) {
    if let Some(name) = layer.get_path(&["bundle", "name"]) {
        if let Some(s) = name.as_str().filter(|s| refs::has_interpolation(s)) {
            for i in refs::parse_interpolations(s) {
                out.push(
                    diag_in(
                        &META,
                        b,
                        name,
                        i.range.clone(),
                        format!("{prefix}bundle.name"),
                        format!(
                            "`${{{}}}` in `bundle.name`: the CLI refuses references in the bundle name, which it reads before resolving variables",
                            i.path
                        ),
                    )
                    .help("write the name as plain text; use a target per environment"),
                );
            }
        }
    }
    for kind in layer
        .get("resources")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        for res in kind
            .value
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter(|r| refs::has_interpolation(&r.key))
        {
            out.push(key_finding(res, &kind.key, prefix));
        }
    }
}

fn key_finding(res: &Entry, kind: &str, prefix: &str) -> Diagnostic {
    diag(
        &META,
        &res.key_loc,
        format!("{prefix}resources.{kind}.{}", res.key),
        format!(
            "resource key `{}` holds a reference: the CLI substitutes values, never keys, so the key stays as written and `bundle validate` refuses it",
            res.key
        ),
    )
    .help("use a plain key and put the variable in the resource's `name:`")
}
