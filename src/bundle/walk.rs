//! Walking the strings of a configuration tree with their routes.

use super::{refs, Node, Value};

/// Walk the strings of a tree that hold a reference (`{{` or `${`), with their route
/// (`resources.jobs.a.tasks[0].notebook_task.base_parameters.x`, after the `base` prefix). Faster
/// than [`walk_strings`] for the rules that only look at references: routes are built only for
/// the strings visited.
pub fn walk_refs<'a>(node: &'a Node, base: &str, f: &mut dyn FnMut(&'a Node, &str)) {
    enum Seg<'a> {
        Key(&'a str),
        Index(usize),
    }
    fn inner<'a>(
        node: &'a Node,
        base: &str,
        segs: &mut Vec<Seg<'a>>,
        f: &mut dyn FnMut(&'a Node, &str),
    ) {
        match &node.value {
            Value::Str(s) if refs::has_dynamic(s) || refs::has_interpolation(s) => {
                let mut route = String::with_capacity(base.len() + 48);
                route.push_str(base);
                for seg in segs.iter() {
                    match seg {
                        Seg::Key(k) => {
                            if !route.is_empty() {
                                route.push('.');
                            }
                            route.push_str(k);
                        }
                        Seg::Index(i) => {
                            use std::fmt::Write;
                            let _ = write!(route, "[{i}]");
                        }
                    }
                }
                f(node, &route);
            }
            Value::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    segs.push(Seg::Index(i));
                    inner(n, base, segs, f);
                    segs.pop();
                }
            }
            Value::Map(entries) => {
                for e in entries.iter() {
                    segs.push(Seg::Key(&e.key));
                    inner(&e.value, base, segs, f);
                    segs.pop();
                }
            }
            _ => {}
        }
    }
    inner(node, base, &mut Vec::new(), f);
}

/// Walk every string of a tree with its route (`resources.jobs.a.tasks[0].notebook_task`).
pub fn walk_strings<'a>(node: &'a Node, route: &mut String, f: &mut dyn FnMut(&'a Node, &str)) {
    match &node.value {
        Value::Str(_) => f(node, route),
        Value::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                let len = route.len();
                use std::fmt::Write;
                let _ = write!(route, "[{i}]");
                walk_strings(n, route, f);
                route.truncate(len);
            }
        }
        Value::Map(entries) => {
            for e in entries.iter() {
                let len = route.len();
                if !route.is_empty() {
                    route.push('.');
                }
                route.push_str(&e.key);
                walk_strings(&e.value, route, f);
                route.truncate(len);
            }
        }
        _ => {}
    }
}
