//! Merging configuration trees as the CLI does: includes and target overrides deep-merged,
//! job `tasks` / `job_clusters` / `parameters` merged by key; duplicate keys and resources
//! found on the way.

use std::sync::Arc;

use super::error::{LoadError, LoadErrorKind};
use super::{DuplicateKey, Entry, Node, Value};
use crate::fasthash::HashMap;

/// The CLI rejects a resource key defined in two files (`UniqueResourceKeys`).
pub(super) fn duplicate_resources(base: &Node, incoming: &Node, diags: &mut Vec<LoadError>) {
    let (Some(b), Some(i)) = (
        base.get("resources").and_then(Node::as_map),
        incoming.get("resources").and_then(Node::as_map),
    ) else {
        return;
    };
    for kind in i {
        let Some(existing) = b
            .iter()
            .find(|e| e.key == kind.key)
            .and_then(|e| e.value.as_map())
        else {
            continue;
        };
        for res in kind.value.as_map().unwrap_or_default() {
            if let Some(first) = existing.iter().find(|e| e.key == res.key) {
                diags.push(
                    LoadError::new(
                        LoadErrorKind::Config,
                        res.key_loc.file.clone(),
                        res.key_loc.range,
                        format!(
                            "resource `{}.{}` is already defined in {}; the CLI rejects duplicate resource keys",
                            kind.key,
                            res.key,
                            crate::source::display_path(&first.key_loc.file)
                        ),
                    )
                    .route(format!("resources.{}.{}", kind.key, res.key))
                    .related(first.key_loc.file.clone(), first.key_loc.range, "first defined here"),
                );
            }
        }
    }
}

/// The CLI rejects one key used by two resource types, or by a resource and a script
/// (`jobs.foo` and `pipelines.foo`: `bundle run foo` must name one thing;
/// bundle/config/validate/unique_resource_keys.go). Checked on the base configuration (root
/// and includes), before target overrides, as the CLI does.
pub(super) fn keys_across_types(tree: &Node, diags: &mut Vec<LoadError>) {
    let mut seen: HashMap<&str, (String, &super::Loc)> = HashMap::default();
    let resources = tree
        .get("resources")
        .and_then(Node::as_map)
        .unwrap_or_default();
    let groups = resources
        .iter()
        .filter_map(|kind| Some((format!("resources.{}", kind.key), kind.value.as_map()?)));
    let scripts = tree
        .get("scripts")
        .and_then(Node::as_map)
        .map(|m| ("scripts".to_string(), m));
    for (group, entries) in groups.chain(scripts) {
        for e in entries {
            match seen.get(e.key.as_str()) {
                Some((first_group, first)) if *first_group != group => {
                    diags.push(
                        LoadError::new(
                            LoadErrorKind::Config,
                            e.key_loc.file.clone(),
                            e.key_loc.range,
                            format!(
                                "key `{}` is used by `{first_group}.{}` and `{group}.{}`: the CLI rejects two resources (or a resource and a script) with one key, as `bundle run {}` must name one",
                                e.key, e.key, e.key, e.key
                            ),
                        )
                        .route(format!("{group}.{}", e.key))
                        .related(first.file.clone(), first.range, "also used here")
                        .help("rename one of them"),
                    );
                }
                Some(_) => {}
                None => {
                    seen.insert(&e.key, (group.clone(), &e.key_loc));
                }
            }
        }
    }
}

/// Deep merge as the CLI merges configuration trees: mappings recursively, lists appended,
/// scalars replaced; a null override keeps the base.
pub fn merge(base: &mut Node, over: Node) {
    merge_checked(base, over, "", &mut Vec::new());
}

/// Two values the CLI cannot merge (`libs/dyn/merge/merge.go`: a mapping or a list with
/// something else): the CLI stops with "cannot merge X with Y".
#[derive(Debug, Clone)]
pub struct MergeConflict {
    pub route: String,
    /// The value merged into, and its kind.
    pub base: super::Loc,
    pub base_kind: &'static str,
    /// The incoming value, and its kind.
    pub over: super::Loc,
    pub over_kind: &'static str,
}

/// The CLI's name of a value's kind (dyn.Kind's String()).
fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::Seq(_) => "sequence",
        Value::Map(_) => "map",
    }
}

/// [`merge`], recording the values the CLI cannot merge (the incoming value replaces the
/// base there, so the analysis goes on).
pub(super) fn merge_checked(
    base: &mut Node,
    over: Node,
    route: &str,
    conflicts: &mut Vec<MergeConflict>,
) {
    let (bk, ok) = (kind_name(&base.value), kind_name(&over.value));
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let b = Arc::make_mut(b);
            for e in Arc::unwrap_or_clone(o) {
                match b.iter_mut().find(|x| x.key == e.key) {
                    Some(be) => {
                        let r = if route.is_empty() {
                            e.key.clone()
                        } else {
                            format!("{route}.{}", e.key)
                        };
                        merge_checked(&mut be.value, e.value, &r, conflicts)
                    }
                    None => b.push(e),
                }
            }
        }
        (Value::Seq(b), Value::Seq(o)) => Arc::make_mut(b).extend(Arc::unwrap_or_clone(o)),
        (_, Value::Null) => {}
        (_, v) => {
            // Scalars of two kinds are left alone (an int replaced by a `${var.x}` string is
            // common, and replaced after the merge); a mapping or a list against anything else
            // never merges.
            let structural = matches!(bk, "map" | "sequence") || matches!(ok, "map" | "sequence");
            if bk != ok && bk != "nil" && structural {
                conflicts.push(MergeConflict {
                    route: route.to_string(),
                    base: base.loc.clone(),
                    base_kind: bk,
                    over: over.loc.clone(),
                    over_kind: ok,
                });
            }
            base.value = v;
            base.loc = over.loc;
        }
    }
}

/// The load error of a merge conflict.
pub(super) fn conflict_error(c: &MergeConflict, what: &str) -> LoadError {
    LoadError::new(
        LoadErrorKind::Config,
        c.over.file.clone(),
        c.over.range,
        format!(
            "{what} cannot be merged into `{}`: it is a {}, the value it overrides is a {}; the CLI stops (`cannot merge {} with {}`)",
            c.route, c.over_kind, c.base_kind, c.base_kind, c.over_kind
        ),
    )
    .route(c.route.clone())
    .related(c.base.file.clone(), c.base.range, "the value it overrides")
    .help(if c.base_kind == "string" {
        "a `${var...}` reference is replaced after the merge: override the variable (`targets.<name>.variables`) instead of the field"
    } else {
        "write the same kind of value as the one it overrides"
    })
}

/// The keyed lists of a job merged by key: (list, key field).
const KEYED_LISTS: &[(&str, &str)] = &[
    ("tasks", "task_key"),
    ("job_clusters", "job_cluster_key"),
    ("parameters", "name"),
];

fn jobs_mut(tree: &mut Node) -> Option<&mut Vec<Entry>> {
    let Value::Map(m) = &mut tree.value else {
        return None;
    };
    let res = Arc::make_mut(m).iter_mut().find(|e| e.key == "resources")?;
    let Value::Map(r) = &mut res.value.value else {
        return None;
    };
    let jobs = Arc::make_mut(r).iter_mut().find(|e| e.key == "jobs")?;
    match &mut jobs.value.value {
        Value::Map(j) => Some(Arc::make_mut(j)),
        _ => None,
    }
}

pub(super) fn merge_keyed_lists(tree: &mut Node) {
    let Some(jobs) = jobs_mut(tree) else { return };
    use rayon::prelude::*;
    jobs.par_iter_mut().for_each(|job| {
        for (list, key) in KEYED_LISTS {
            // Most lists have no repeated key: leave them (and the job) shared and untouched.
            let Some(items) = job.value.get(list).and_then(Node::as_seq) else {
                continue;
            };
            let mut seen = crate::fasthash::HashSet::default();
            let repeated = items
                .iter()
                .filter_map(|i| i.get(key).and_then(Node::scalar_text))
                .any(|k| !seen.insert(k));
            if !repeated {
                continue;
            }
            let Value::Map(fields) = &mut job.value.value else {
                continue;
            };
            let Some(e) = Arc::make_mut(fields).iter_mut().find(|e| e.key == *list) else {
                continue;
            };
            let Value::Seq(items) = &mut e.value.value else {
                continue;
            };
            let items = Arc::make_mut(items);
            let mut out: Vec<Node> = Vec::with_capacity(items.len());
            let mut index: HashMap<String, usize> = HashMap::default();
            for item in items.drain(..) {
                match item.get(key).and_then(Node::scalar_text) {
                    Some(k) => match index.get(&k) {
                        Some(&i) => merge(&mut out[i], item),
                        None => {
                            index.insert(k, out.len());
                            out.push(item);
                        }
                    },
                    None => out.push(item),
                }
            }
            *items = out;
        }
    });
}

pub(super) fn collect_duplicates(tree: &Node, out: &mut Vec<DuplicateKey>) {
    let Some(jobs) = tree.get_path(&["resources", "jobs"]).and_then(Node::as_map) else {
        return;
    };
    for job in jobs {
        for (list, key) in KEYED_LISTS {
            let Some(items) = job.value.get(list).and_then(Node::as_seq) else {
                continue;
            };
            let mut seen: HashMap<String, &Node> = HashMap::default();
            for (i, item) in items.iter().enumerate() {
                let Some(kn) = item.get(key) else { continue };
                let Some(k) = kn.scalar_text() else { continue };
                match seen.get(&k) {
                    Some(first) => out.push(DuplicateKey {
                        job: job.key.clone(),
                        field: key,
                        key: k,
                        first: first.loc.clone(),
                        second: kn.loc.clone(),
                        route: format!("resources.jobs.{}.{list}[{i}].{key}", job.key),
                    }),
                    None => {
                        seen.insert(k, kn);
                    }
                }
            }
        }
    }
}

/// Whether a tree holds a null value in a mapping.
fn has_null_entry(node: &Node) -> bool {
    match &node.value {
        Value::Map(m) => m
            .iter()
            .any(|e| e.value.is_null() || has_null_entry(&e.value)),
        Value::Seq(s) => s.iter().any(has_null_entry),
        _ => false,
    }
}

/// Remove the null entries of mappings under `resources`: null is unset for the CLI (its
/// normalisation keeps a null struct, map or list as nil, i.e. absent, and drops a null scalar),
/// so `for_each_task:` with no value is no For Each task. Subtrees without nulls stay shared.
pub(super) fn drop_null_resource_fields(tree: &mut Node) {
    let Value::Map(m) = &mut tree.value else {
        return;
    };
    if !m
        .iter()
        .any(|e| e.key == "resources" && has_null_entry(&e.value))
    {
        return;
    }
    if let Some(e) = Arc::make_mut(m).iter_mut().find(|e| e.key == "resources") {
        drop_nulls(&mut e.value);
    }
}

fn drop_nulls(node: &mut Node) {
    if !has_null_entry(node) {
        return;
    }
    match &mut node.value {
        Value::Map(m) => {
            let m = Arc::make_mut(m);
            m.retain(|e| !e.value.is_null());
            for e in m.iter_mut() {
                drop_nulls(&mut e.value);
            }
        }
        Value::Seq(s) => {
            for n in Arc::make_mut(s).iter_mut() {
                drop_nulls(n);
            }
        }
        _ => {}
    }
}
