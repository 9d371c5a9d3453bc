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

/// Deep merge as the CLI merges configuration trees: mappings recursively, lists appended,
/// scalars replaced; a null override keeps the base.
pub fn merge(base: &mut Node, over: Node) {
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let b = Arc::make_mut(b);
            for e in Arc::unwrap_or_clone(o) {
                match b.iter_mut().find(|x| x.key == e.key) {
                    Some(be) => merge(&mut be.value, e.value),
                    None => b.push(e),
                }
            }
        }
        (Value::Seq(b), Value::Seq(o)) => Arc::make_mut(b).extend(Arc::unwrap_or_clone(o)),
        (_, Value::Null) => {}
        (_, v) => {
            base.value = v;
            base.loc = over.loc;
        }
    }
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
