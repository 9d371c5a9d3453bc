//! Name bindings and uses of statements (for deciding what code only the fan-out used).

use std::collections::HashSet;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprContext, Stmt};

/// Names a top-level statement binds.
pub fn bound_names(s: &Stmt) -> Vec<String> {
    let mut out = Vec::new();
    let targets = |e: &Expr, out: &mut Vec<String>| collect_store(e, out);
    match s {
        Stmt::FunctionDef(f) => out.push(f.name.id.to_string()),
        Stmt::ClassDef(c) => out.push(c.name.id.to_string()),
        Stmt::Assign(a) => {
            for t in &a.targets {
                targets(t, &mut out);
            }
        }
        Stmt::AnnAssign(a) => targets(&a.target, &mut out),
        Stmt::AugAssign(a) => targets(&a.target, &mut out),
        Stmt::For(f) => targets(&f.target, &mut out),
        Stmt::With(w) => {
            for i in &w.items {
                if let Some(v) = &i.optional_vars {
                    targets(v, &mut out);
                }
            }
        }
        Stmt::Import(i) => {
            for a in &i.names {
                let n = a.asname.as_ref().unwrap_or(&a.name).id.to_string();
                out.push(n.split('.').next().unwrap_or("").to_string());
            }
        }
        Stmt::ImportFrom(i) => {
            for a in &i.names {
                out.push(a.asname.as_ref().unwrap_or(&a.name).id.to_string());
            }
        }
        _ => {}
    }
    out
}

fn collect_store(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Name(n) => out.push(n.id.to_string()),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| collect_store(e, out)),
        Expr::List(t) => t.elts.iter().for_each(|e| collect_store(e, out)),
        Expr::Starred(s) => collect_store(&s.value, out),
        _ => {}
    }
}

#[derive(Default)]
struct Loads {
    names: HashSet<String>,
}

impl<'a> Visitor<'a> for Loads {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            if matches!(n.ctx, ExprContext::Load | ExprContext::Del) {
                self.names.insert(n.id.to_string());
            }
        }
        visitor::walk_expr(self, expr);
    }
}

/// Names an expression loads.
pub fn loaded_names_expr(e: &Expr) -> HashSet<String> {
    let mut v = Loads::default();
    v.visit_expr(e);
    v.names
}

/// Names a statement loads (including inside nested functions; a conservative over-count).
pub fn loaded_names_stmt(s: &Stmt) -> HashSet<String> {
    let mut v = Loads::default();
    v.visit_stmt(s);
    v.names
}

/// Names a statement binds anywhere inside it (nested blocks, not nested functions).
pub fn bound_names_deep(s: &Stmt) -> Vec<String> {
    let mut out = bound_names(s);
    let bodies: Vec<&[Stmt]> = match s {
        Stmt::With(w) => vec![&w.body],
        Stmt::For(f) => vec![&f.body, &f.orelse],
        Stmt::While(w) => vec![&w.body, &w.orelse],
        Stmt::If(i) => {
            let mut v: Vec<&[Stmt]> = vec![&i.body];
            v.extend(i.elif_else_clauses.iter().map(|c| c.body.as_slice()));
            v
        }
        Stmt::Try(t) => {
            let mut v: Vec<&[Stmt]> = vec![&t.body, &t.orelse, &t.finalbody];
            for h in &t.handlers {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                v.push(&h.body);
            }
            v
        }
        _ => Vec::new(),
    };
    for b in bodies {
        for st in b {
            out.extend(bound_names_deep(st));
        }
    }
    out
}
