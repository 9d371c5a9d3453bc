//! Helpers shared by the rules: diagnostics at bundle nodes.

use crate::bundle::{Bundle, Loc, Node};
use crate::diagnostic::{Diagnostic, RuleMeta};

/// A diagnostic at a node location, with its route; values that come from an anchor get a
/// related label at the anchored definition.
pub fn diag(
    meta: &'static RuleMeta,
    loc: &Loc,
    route: impl Into<String>,
    message: impl Into<String>,
) -> Diagnostic {
    let mut d = Diagnostic::new(meta, loc.file.clone(), loc.range, message).route(route);
    if let Some(def) = loc.defined {
        d = d.related(loc.file.clone(), def, "the value comes from this anchor");
    }
    d
}

/// Report each of `keys` set on a For Each task itself (rather than on its nested task):
/// one finding per key, at the key, with `message(key, task_key)` and a "move it" help.
pub fn report_keys_on_for_each_parent(
    meta: &'static RuleMeta,
    bundle: &Bundle,
    keys: &[&str],
    message: impl Fn(&str, &str) -> String,
    out: &mut Vec<Diagnostic>,
) {
    for job in &bundle.jobs {
        for task in job.all_tasks() {
            if task.for_each_task.is_none() {
                continue;
            }
            for key in keys {
                let Some(e) = task.entry(key) else { continue };
                out.push(
                    diag(
                        meta,
                        &e.key_loc,
                        format!("{}.{key}", task.route),
                        message(key, task.key().unwrap_or("?")),
                    )
                    .help(format!("move `{key}` into `for_each_task.task`")),
                );
            }
        }
    }
}

/// A diagnostic at a sub-range of a string node (a reference inside the string).
pub fn diag_in(
    meta: &'static RuleMeta,
    bundle: &Bundle,
    node: &Node,
    sub: std::ops::Range<usize>,
    route: impl Into<String>,
    message: impl Into<String>,
) -> Diagnostic {
    let range = bundle.sub_range(node, sub);
    Diagnostic::new(meta, node.loc.file.clone(), range, message).route(route)
}
