//! `except` handlers that lose a failure, and what counts as collecting results.

use ruff_python_ast::{self as ast, Expr, Stmt};

use super::*;

impl<'a> Extractor<'_, 'a> {
    pub(super) fn swallow_kind(&self, h: &ast::ExceptHandlerExceptHandler) -> Option<SwallowKind> {
        let mut raises = false;
        let mut recursion = false;
        let mut stringify = false;
        let mut only_pass = true;
        let name = h.name.as_ref().map(|n| n.as_str());
        let own = &self.m.functions[self.func].name;
        for s in &h.body {
            match s {
                Stmt::Pass(_) | Stmt::Continue(_) => {}
                Stmt::Expr(e) if e.value.is_ellipsis_literal_expr() => {}
                Stmt::Expr(e) => {
                    if let Expr::Call(c) = &*e.value {
                        let callee = match &*c.func {
                            Expr::Name(n) => Some(n.id.as_str()),
                            Expr::Attribute(a) => Some(a.attr.as_str()),
                            _ => None,
                        };
                        if callee == Some(own.as_str()) && self.func != MODULE_FUNC {
                            recursion = true;
                        }
                        if matches!(
                            callee,
                            Some(
                                "print"
                                    | "error"
                                    | "warning"
                                    | "warn"
                                    | "info"
                                    | "exception"
                                    | "debug"
                                    | "display"
                            )
                        ) {
                            continue;
                        }
                        if matches!(callee, Some("append" | "add" | "put"))
                            && name.is_some_and(|n| mentions_name(&e.value, n))
                        {
                            stringify = true;
                        }
                    }
                    only_pass = false;
                }
                Stmt::Raise(_) => raises = true,
                Stmt::Return(r) => {
                    only_pass = false;
                    if r.value
                        .as_ref()
                        .is_some_and(|v| name.is_some_and(|n| mentions_name(v, n)) || is_str(v))
                    {
                        stringify = true;
                    }
                }
                Stmt::Assign(a) => {
                    only_pass = false;
                    if name.is_some_and(|n| mentions_name(&a.value, n)) {
                        stringify = true;
                    }
                }
                _ => {
                    only_pass = false;
                    if contains_raise(s) {
                        raises = true;
                    }
                }
            }
        }
        if recursion {
            return Some(SwallowKind::RecursionWithoutReturn);
        }
        if raises {
            return None;
        }
        if stringify {
            return Some(SwallowKind::Stringify);
        }
        only_pass.then_some(SwallowKind::Pass)
    }

    pub(super) fn mentions_futures(&self, e: &Expr) -> bool {
        // Returning a dispatch result (futures, an async result) hands it to the caller.
        let mut found = false;
        walk_calls(e, &mut |c| {
            if let Expr::Attribute(a) = &*c.func {
                if matches!(a.attr.as_str(), "submit" | "map_async" | "apply_async") {
                    found = true;
                }
            }
        });
        found || matches!(e, Expr::Name(_) | Expr::List(_) | Expr::ListComp(_))
    }
}

pub(super) fn mentions_name(e: &Expr, name: &str) -> bool {
    use ruff_python_ast::visitor::{walk_expr, Visitor};
    struct V<'n>(&'n str, bool);
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Name(n) = e {
                if n.id.as_str() == self.0 {
                    self.1 = true;
                }
            }
            walk_expr(self, e);
        }
    }
    let mut v = V(name, false);
    v.visit_expr(e);
    v.1
}

pub(super) fn is_str(e: &Expr) -> bool {
    matches!(e, Expr::StringLiteral(_) | Expr::FString(_))
}

pub(super) fn contains_raise(s: &Stmt) -> bool {
    use ruff_python_ast::statement_visitor::{walk_stmt, StatementVisitor};
    struct V(bool);
    impl<'a> StatementVisitor<'a> for V {
        fn visit_stmt(&mut self, s: &'a Stmt) {
            if matches!(s, Stmt::Raise(_)) {
                self.0 = true;
            }
            if !matches!(s, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                walk_stmt(self, s);
            }
        }
    }
    let mut v = V(false);
    v.visit_stmt(s);
    v.0
}

pub(super) fn is_retry_body(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Try(t) => t
            .body
            .iter()
            .chain(t.orelse.iter())
            .any(|s| matches!(s, Stmt::Return(_) | Stmt::Break(_))),
        _ => false,
    })
}
