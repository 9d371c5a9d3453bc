//! The statement edits of the rewrite: which top-level statements the producer replaces,
//! which go with the fan-out, and the refusals when the rewrite would change what the notebook
//! does.

use std::collections::HashSet;

use ruff_python_ast::{self as ast, Expr, Stmt};

use super::reach::calls_in;
use super::{callee_name, Planner, SitePlan, StmtEdit};
use crate::migrate::names::{bound_names, loaded_names_stmt};
use crate::migrate::plan::FanOutKind;
use crate::migrate::rewrite::whole_lines;

/// A statement that only waits for or prints the fan-out's results.
pub(super) fn is_wait_like(s: &Stmt) -> bool {
    const OK: &[&str] = &[
        "result",
        "close",
        "join",
        "shutdown",
        "wait",
        "as_completed",
        "get",
        "print",
        "list",
        "append",
        "len",
        "format",
        "exception",
        "done",
        "ready",
        "successful",
        "str",
        "extend",
    ];
    let calls = calls_in(s);
    let shape_ok = matches!(
        s,
        Stmt::Expr(_) | Stmt::Assign(_) | Stmt::For(_) | Stmt::AugAssign(_)
    );
    shape_ok
        && calls
            .iter()
            .all(|c| callee_name(&c.func).is_some_and(|n| OK.contains(&n)))
}

/// A statement whose move before the fan-out cannot change what the job does.
fn is_inert(s: &Stmt, pool: &dyn Fn(&ast::ExprCall) -> bool) -> bool {
    match s {
        Stmt::Import(_)
        | Stmt::ImportFrom(_)
        | Stmt::FunctionDef(_)
        | Stmt::ClassDef(_)
        | Stmt::Pass(_) => true,
        Stmt::Expr(e) => match &*e.value {
            Expr::StringLiteral(_) => true,
            Expr::Call(c) => {
                matches!(callee_name(&c.func), Some("print" | "display"))
                    || matches!(&*c.func, Expr::Attribute(a) if a.attr.id.as_str() == "exit")
            }
            _ => false,
        },
        Stmt::Assign(a) => is_pure_value(&a.value, pool),
        Stmt::AnnAssign(a) => a.value.as_deref().is_none_or(|v| is_pure_value(v, pool)),
        Stmt::IpyEscapeCommand(_) => false,
        _ => false,
    }
}

/// A value whose computation has no effect (a pool constructor included: the pool is only
/// used by the fan-out).
fn is_pure_value(e: &Expr, pool: &dyn Fn(&ast::ExprCall) -> bool) -> bool {
    let pure = |e: &Expr| is_pure_value(e, pool);
    match e {
        Expr::StringLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_)
        | Expr::Name(_) => true,
        Expr::List(l) => l.elts.iter().all(pure),
        Expr::Tuple(l) => l.elts.iter().all(pure),
        Expr::Dict(d) => d
            .iter()
            .all(|i| i.key.as_ref().is_none_or(pure) && pure(&i.value)),
        Expr::FString(_) | Expr::Lambda(_) => true,
        Expr::BinOp(b) => pure(&b.left) && pure(&b.right),
        Expr::ListComp(l) => pure(&l.elt) || matches!(&*l.elt, Expr::Call(_)),
        Expr::Call(c) => {
            pool(c)
                || matches!(
                    callee_name(&c.func),
                    Some("str" | "int" | "len" | "range" | "list" | "dict")
                )
        }
        Expr::Subscript(s) => pure(&s.value) && pure(&s.slice),
        Expr::Attribute(a) => pure(&a.value),
        _ => false,
    }
}

/// Decide the statement edits; refuse when the rewrite would change what the notebook does.
/// `announce` is the comment left where a fan-out was, with `{}` for the tasks that replace it.
pub(super) fn rewrite_plan(
    p: &Planner<'_>,
    sites: &mut [SitePlan],
    announce: &str,
    convert_key: Option<&str>,
) -> Result<(Vec<StmtEdit>, bool), (u32, String)> {
    let body = p.body;
    let py = p.py;
    let pool = &|c: &ast::ExprCall| p.is_pool_ctor(c);
    let replaced: HashSet<usize> = sites.iter().map(|s| s.top).collect();
    let mut removed: HashSet<usize> = replaced.clone();
    removed.extend(sites.iter().flat_map(|s| s.extra.iter().copied()));
    // Names the producer code still needs.
    let mut producer_uses: HashSet<String> = HashSet::new();
    for s in sites.iter() {
        if let Some(code) = &s.producer {
            let src = crate::source::python::PythonSource::from_text(code);
            for st in &src.module().body {
                producer_uses.extend(loaded_names_stmt(st));
            }
        }
    }
    // A `with` block holding a dispatch must hold nothing else.
    for s in sites.iter() {
        if let Stmt::With(w) = &body[s.top] {
            for inner in &w.body {
                let has_dispatch = calls_in(inner).iter().any(|c| p.is_dispatch(c));
                if !has_dispatch && !is_wait_like(inner) {
                    return Err((
                        p.line_of(inner),
                        "the pool block does other work too; move it out of the `with` block first"
                            .into(),
                    ));
                }
            }
        }
    }
    let first_top = sites.iter().map(|s| s.top).min().unwrap_or(0);
    connected_removals(p, &mut removed, &producer_uses, first_top)?;
    // Code left after the first fan-out would now run before the child notebooks.
    for (i, s) in body.iter().enumerate() {
        if i > first_top && !removed.contains(&i) && !is_inert(s, pool) {
            return Err((p.line_of(s), "code after the fan-out would run before the child notebooks in the job; move it to its own notebook (a later task) first".into()));
        }
    }
    let keep_producer = sites.iter().any(|s| s.producer.is_some())
        || body
            .iter()
            .enumerate()
            .any(|(i, s)| !removed.contains(&i) && !is_inert(s, pool));
    // The orchestrator's own task becomes the first For Each task: it takes its key.
    if let (Some(k), false) = (convert_key, keep_producer) {
        if let Some(FanOutKind::ForEach(fe)) = sites.first_mut().map(|s| &mut s.fanout.kind) {
            fe.task_key = k.to_string();
            fe.value_key = format!("{k}_inputs");
        }
    }
    let rel = |s: &SitePlan| -> String {
        match &s.fanout.kind {
            FanOutKind::ForEach(fe) => format!("task `{}`", fe.task_key),
            FanOutKind::Tasks(ts) | FanOutKind::Chain(ts) => format!(
                "tasks {}",
                ts.iter()
                    .map(|t| format!("`{}`", t.task_key))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    };
    let mut edits = Vec::new();
    for &i in &removed {
        let range = py.doc_range(&body[i]);
        let code = match sites.iter().find(|s| s.top == i) {
            Some(s) if replaced.contains(&i) => {
                let mut c = vec![format!(
                    "# bricklint migrate: {}",
                    announce.replacen("{}", &rel(s), 1)
                )];
                c.extend(s.producer.iter().cloned());
                c
            }
            _ => Vec::new(),
        };
        edits.push(StmtEdit { range, code });
    }
    edits.sort_by_key(|e| e.range.start());
    for s in sites.iter_mut() {
        let r = py.doc_range(&body[s.top]);
        s.fanout.replace = whole_lines(p.doc, r);
        s.fanout.remove = removed
            .iter()
            .filter(|&&i| !replaced.contains(&i))
            .map(|&i| whole_lines(p.doc, py.doc_range(&body[i])))
            .collect();
        s.fanout.remove.sort_by_key(|r| r.start());
    }
    Ok((edits, keep_producer))
}

/// Fixpoint: add to `removed` the statements connected to the fan-out that nothing else uses
/// (its imports, pools, item lists and worker functions) and the waits on its results;
/// refuse when a kept statement uses its results.
fn connected_removals(
    p: &Planner<'_>,
    removed: &mut HashSet<usize>,
    producer_uses: &HashSet<String>,
    first_top: usize,
) -> Result<(), (u32, String)> {
    let body = p.body;
    let pool = &|c: &ast::ExprCall| p.is_pool_ctor(c);
    // Fixpoint: remove statements connected to the fan-out that nothing else uses.
    let loads: Vec<HashSet<String>> = body.iter().map(loaded_names_stmt).collect();
    loop {
        let mut changed = false;
        let removed_uses: HashSet<String> = removed
            .iter()
            .flat_map(|&i| loads[i].iter().cloned())
            .collect();
        let removed_binds: HashSet<String> = removed
            .iter()
            .flat_map(|&i| crate::migrate::names::bound_names_deep(&body[i]))
            .collect();
        for (i, s) in body.iter().enumerate() {
            if removed.contains(&i) {
                continue;
            }
            let binds: HashSet<String> = bound_names(s).into_iter().collect();
            let uses = &loads[i];
            let others_use = |n: &String| {
                producer_uses.contains(n)
                    || loads
                        .iter()
                        .enumerate()
                        .any(|(j, l)| j != i && !removed.contains(&j) && l.contains(n))
            };
            let connected = binds.iter().any(|n| removed_uses.contains(n));
            let removable_kind = matches!(
                s,
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) | Stmt::Import(_) | Stmt::ImportFrom(_)
            ) || matches!(s, Stmt::Assign(a) if is_pure_value(&a.value, pool));
            if connected && removable_kind && !binds.is_empty() && !binds.iter().any(others_use) {
                removed.insert(i);
                changed = true;
                continue;
            }
            // Statements that use what was removed must go too: waits only.
            let needs_removed = uses.iter().any(|n| {
                removed_binds.contains(n) && !binds.contains(n)
                    || removed_binds.contains(n) && !p.info.bound.contains(n.as_str())
            });
            let uses_removed = uses
                .iter()
                .any(|n| removed_binds.contains(n) && !producer_uses.contains(n));
            if (uses_removed || needs_removed) && i > first_top {
                if is_wait_like(s) {
                    removed.insert(i);
                    changed = true;
                } else {
                    return Err((p.line_of(s), "the fan-out's results are used here; a job task cannot hand them back to the notebook".into()));
                }
            }
        }
        if !changed {
            break;
        }
    }
    Ok(())
}
