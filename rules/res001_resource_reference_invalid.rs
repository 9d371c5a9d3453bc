use std::collections::BTreeMap;

use crate::bundle::{refs, walk_refs, Node};
use crate::diagnostic::{Diagnostic, Severity};
use crate::project::BundleContext;
use crate::rules::support::diag_in;
use crate::rules::{Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "RES001",
    name: "resource-reference-invalid",
    severity: Severity::Error,
    summary: "`${resources.<type>.<key>...}` naming a resource that is not defined, or resources that reference each other in a cycle",
    doc: r#"## What it does
Checks every `${resources.<type>.<key>...}` reference of the configuration of the target (after
includes and target overrides are merged):
- the resource `<type>.<key>` must be defined (the CLI's `validate:dangling_resource_references`
  stops with "reference does not exist"); the trailing field (`.id`, `.url`) is known only at
  deploy time and is not checked;
- resources must not reference each other in a cycle (a job whose `run_job_task` runs another
  job that runs the first one through `${resources.jobs.<key>.id}`), nor themselves: a resource
  is created after the resources it references, so a cycle cannot be deployed. Each cycle is
  reported once, at the reference of the resource declared first.

## Why is this bad?
The reference is resolved at deploy time only: `databricks bundle deploy` fails (or, for a
cycle, never finds an order to create the resources in).

## Example
```yaml
resources:
  jobs:
    nightly:
      tasks:
        - task_key: run_ingest
          run_job_task:
            job_id: ${resources.jobs.ingset.id}     # the job is `ingest`
    ingest:
      tasks:
        - task_key: again
          run_job_task:
            job_id: ${resources.jobs.ingest.id}     # runs itself
```

## Fix
Fix the key of the referenced resource; break the cycle (a job should not run a job that runs it).
"#,
    fixable: false,
};

pub struct ResourceReferenceInvalid;

/// A resource (`jobs`, `key`).
type Res = (String, String);

/// One reference of a resource to another: where it is written.
struct Edge<'a> {
    to: Res,
    node: &'a Node,
    range: std::ops::Range<usize>,
    route: String,
    text: String,
}

impl Rule for ResourceReferenceInvalid {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check_bundle(&self, ctx: &BundleContext<'_>, out: &mut Vec<Diagnostic>) {
        let b = ctx.bundle;
        let Some(config) = &b.config else { return };
        let resources = config.get("resources");
        let defined = |group: &str, key: &str| {
            resources
                .and_then(|r| r.get(group))
                .and_then(|g| g.get(key))
                .is_some_and(|v| !v.is_null())
        };
        // Edges between resources, in declaration order of the referencing resource.
        let mut edges: BTreeMap<Res, Vec<Edge<'_>>> = BTreeMap::new();
        walk_refs(config, "", &mut |node, route| {
            let Some(s) = node.as_str() else { return };
            if !s.contains("${resources.") {
                return;
            }
            for i in refs::parse_interpolations(s) {
                if i.syntax_error.is_some() || i.namespace() != Some("resources") {
                    continue;
                }
                let [_, group, key, ..] = i.segments.as_slice() else {
                    continue;
                };
                if !defined(group, key) {
                    let keys: Vec<&str> = resources
                        .and_then(|r| r.get(group))
                        .and_then(Node::as_map)
                        .map(|m| m.iter().map(|e| e.key.as_str()).collect())
                        .unwrap_or_default();
                    let mut d = diag_in(
                        &META,
                        b,
                        node,
                        i.range.clone(),
                        route,
                        format!(
                            "reference does not exist: `${{{}}}`: no resource `{group}.{key}` is defined{}",
                            i.path,
                            target_note(b.target.as_deref())
                        ),
                    );
                    if let Some(s) = refs::suggest(key, &keys) {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    out.push(d);
                    continue;
                }
                if let Some(from) = owner(route) {
                    edges.entry(from).or_default().push(Edge {
                        to: (group.clone(), key.clone()),
                        node,
                        range: i.range.clone(),
                        route: route.to_string(),
                        text: i.path.clone(),
                    });
                }
            }
        });
        report_cycles(ctx, &edges, out);
    }
}

fn target_note(target: Option<&str>) -> String {
    match target {
        Some(t) => format!(" in target `{t}`"),
        None => String::new(),
    }
}

/// The resource a route is inside (`resources.jobs.a.tasks[0]...` -> (`jobs`, `a`)).
fn owner(route: &str) -> Option<Res> {
    let rest = route.strip_prefix("resources.")?;
    let (group, rest) = rest.split_once('.')?;
    let key = rest.split(['.', '[']).next()?;
    Some((group.to_string(), key.to_string()))
}

/// Report each cycle of references once: from its resource that comes first in the
/// configuration's order, following references in the order they are written.
fn report_cycles(
    ctx: &BundleContext<'_>,
    edges: &BTreeMap<Res, Vec<Edge<'_>>>,
    out: &mut Vec<Diagnostic>,
) {
    let b = ctx.bundle;
    let order = declaration_order(b.config.as_ref());
    let rank = |r: &Res| order.iter().position(|x| x == r).unwrap_or(usize::MAX);
    let mut starts: Vec<&Res> = edges.keys().collect();
    starts.sort_by_key(|r| rank(r));
    let mut reported: Vec<Vec<Res>> = Vec::new();
    for start in starts {
        let Some(cycle) = find_cycle(start, edges) else {
            continue;
        };
        // The same cycle found from another of its resources: its members as a set.
        let mut members: Vec<Res> = cycle.iter().map(|e| e.to.clone()).collect();
        members.sort();
        if reported.contains(&members) {
            continue;
        }
        reported.push(members);
        let first = cycle[0];
        let name = |r: &Res| format!("{}.{}", r.0, r.1);
        let message = if cycle.len() == 1 {
            format!(
                "`{}` references itself (`${{{}}}`): a resource is deployed after the resources it references, so this can never be resolved",
                name(start),
                first.text
            )
        } else {
            let mut path: Vec<String> = vec![name(start)];
            path.extend(cycle.iter().map(|e| name(&e.to)));
            format!(
                "resources reference each other in a cycle: {}; a resource is deployed after the resources it references, so none of them can be deployed first",
                path.join(" -> ")
            )
        };
        let mut d = diag_in(
            &META,
            b,
            first.node,
            first.range.clone(),
            &first.route,
            message,
        )
        .help(
            if cycle.len() == 1 && start.0 == "jobs" && first.text.ends_with(".id") {
                "a job's own id at run time is the dynamic value reference `{{job.id}}`"
            } else {
                "remove the reference that closes the loop"
            },
        );
        for e in &cycle[1..] {
            let r = b.sub_range(e.node, e.range.clone());
            d = d.related(
                e.node.loc.file.clone(),
                r,
                format!("`${{{}}}` continues the cycle", e.text),
            );
        }
        out.push(d);
    }
}

/// Resources in declaration order.
fn declaration_order(config: Option<&Node>) -> Vec<Res> {
    let Some(groups) = config
        .and_then(|c| c.get("resources"))
        .and_then(Node::as_map)
    else {
        return Vec::new();
    };
    groups
        .iter()
        .flat_map(|g| {
            g.value
                .as_map()
                .unwrap_or_default()
                .iter()
                .map(move |r| (g.key.clone(), r.key.clone()))
        })
        .collect()
}

/// The first cycle back to `start` (depth first, references in written order): its edges.
fn find_cycle<'e, 'a>(
    start: &Res,
    edges: &'e BTreeMap<Res, Vec<Edge<'a>>>,
) -> Option<Vec<&'e Edge<'a>>> {
    let mut path: Vec<&Edge<'_>> = Vec::new();
    let mut visited: Vec<&Res> = Vec::new();
    fn dfs<'e, 'a>(
        at: &Res,
        start: &Res,
        edges: &'e BTreeMap<Res, Vec<Edge<'a>>>,
        path: &mut Vec<&'e Edge<'a>>,
        visited: &mut Vec<&'e Res>,
    ) -> bool {
        for e in edges.get(at).map(Vec::as_slice).unwrap_or_default() {
            if e.to == *start {
                path.push(e);
                return true;
            }
            if visited.contains(&&e.to) {
                continue;
            }
            visited.push(&e.to);
            path.push(e);
            if dfs(&e.to, start, edges, path, visited) {
                return true;
            }
            path.pop();
        }
        false
    }
    dfs(start, start, edges, &mut path, &mut visited).then_some(path)
}
