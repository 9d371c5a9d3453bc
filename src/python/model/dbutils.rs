//! `dbutils` under any alias: paths, calls, and the parameters that receive it.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use super::*;

impl<'a> Model<'a> {
    // ----- dbutils -----

    /// The dbutils path an expression denotes: `Some([])` for dbutils itself,
    /// `Some(["notebook"])` for `dbutils.notebook`, `None` when it is not dbutils.
    pub fn dbutils_path(&self, expr: &Expr, scope: ScopeId) -> Option<Vec<String>> {
        self.dbutils_d(expr, scope, 0)
    }

    pub(super) fn dbutils_d(&self, expr: &Expr, scope: ScopeId, d: u32) -> Option<Vec<String>> {
        if d > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Name(n) => {
                let name = n.id.as_str();
                let bs = self.visible(scope, name, n.range.start());
                if bs.is_empty() {
                    return (name == "dbutils").then(Vec::new);
                }
                for &bid in bs {
                    let b = &self.bindings[bid];
                    let r = match b.kind {
                        BindingKind::Import(..) => {
                            let q = b.import.as_deref().unwrap_or("");
                            (q == "databricks.sdk.runtime.dbutils" || q.ends_with(".dbutils"))
                                .then(Vec::new)
                        }
                        BindingKind::Assign(v) | BindingKind::With(v) => {
                            self.dbutils_d(v, b.scope, d + 1)
                        }
                        BindingKind::Param(f, i) => (self.functions[f].params.get(i)
                            == Some(&"dbutils")
                            || self.dbutils_params.contains(&(f, i)))
                        .then(Vec::new),
                        _ => None,
                    };
                    if r.is_some() {
                        return r;
                    }
                }
                None
            }
            Expr::Attribute(a) => {
                if let Some(values) = self.self_attr(expr, scope) {
                    for (v, s) in values {
                        if let Some(p) = self.dbutils_d(v, s, d + 1) {
                            return Some(p);
                        }
                    }
                    let attr = a.attr.as_str().trim_start_matches('_');
                    return (attr == "dbutils").then(Vec::new);
                }
                let mut p = self.dbutils_d(&a.value, scope, d + 1)?;
                p.push(a.attr.as_str().to_string());
                Some(p)
            }
            Expr::Subscript(s) => {
                let key = eval::eval(&s.slice, &eval::NoEnv)?;
                (key.as_str() == Some("dbutils")).then(Vec::new)
            }
            Expr::Call(c) => {
                let callee_name = match &*c.func {
                    Expr::Name(n) => Some(n.id.as_str()),
                    Expr::Attribute(a) => Some(a.attr.as_str()),
                    _ => None,
                };
                let q = self.qualname_d(&c.func, scope, d + 1);
                let is = matches!(q.as_deref(), Some("pyspark.dbutils.DBUtils"))
                    || matches!(callee_name, Some("DBUtils" | "get_dbutils"));
                is.then(Vec::new)
            }
            _ => None,
        }
    }

    /// `self.attr` inside a method: the values assigned to `self.attr` in the class.
    pub(super) fn self_attr(
        &self,
        expr: &Expr,
        scope: ScopeId,
    ) -> Option<Vec<(&'a Expr, ScopeId)>> {
        let Expr::Attribute(a) = expr else {
            return None;
        };
        let Expr::Name(n) = &*a.value else {
            return None;
        };
        if n.id.as_str() != "self" {
            return None;
        }
        let c = self.class_of_method_scope(scope)?;
        Some(
            self.classes[c]
                .attrs
                .get(a.attr.as_str())
                .cloned()
                .unwrap_or_default(),
        )
    }

    /// Resolve a call to the dbutils API it calls, whatever alias was used.
    pub fn dbutils_call(&self, call: &'a ast::ExprCall) -> Option<DbutilsCall<'a>> {
        let scope = self.scope_at(call.range().start());
        self.dbutils_call_in(call, scope)
    }

    /// Like [`Model::dbutils_call`] with a known scope.
    pub fn dbutils_call_in(
        &self,
        call: &'a ast::ExprCall,
        scope: ScopeId,
    ) -> Option<DbutilsCall<'a>> {
        let path = self.dbutils_path(&call.func, scope)?;
        if path.is_empty() {
            return None;
        }
        Some(DbutilsCall { path, call })
    }

    /// Every call to a dbutils API in the source, in source order.
    pub fn dbutils_calls(&self) -> Vec<DbutilsCall<'a>> {
        let mut out: Vec<DbutilsCall<'a>> = self
            .calls
            .iter()
            .filter_map(|(c, s)| self.dbutils_call_in(c, *s))
            .collect();
        out.sort_by_key(|c| c.call.range().start());
        out
    }

    /// Every call in the source with its scope.
    pub fn calls(&self) -> &[(&'a ast::ExprCall, ScopeId)] {
        &self.calls
    }

    pub(super) fn infer_dbutils_params(&mut self) {
        for _ in 0..4 {
            let mut new = Vec::new();
            for (call, scope) in &self.calls {
                // Work handed to a pool / thread with its arguments: `submit(f, dbutils, x)`,
                // `Thread(target=f, args=(dbutils,))`: the arguments after `f` go to `f`.
                let args = &call.arguments.args;
                let forwarded: Vec<(FuncId, &[Expr])> = args
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| matches!(a, Expr::Name(_) | Expr::Attribute(_)))
                    .flat_map(|(k, a)| {
                        self.callables(a, *scope)
                            .into_iter()
                            .filter_map(move |r| match r {
                                CallRef::Func(f) => Some((f, &args[k + 1..])),
                                _ => None,
                            })
                    })
                    .chain(
                        call.arguments
                            .find_keyword("target")
                            .into_iter()
                            .flat_map(|t| self.callables(&t.value, *scope))
                            .filter_map(|r| match (r, call.arguments.find_keyword("args")) {
                                (CallRef::Func(f), Some(k)) => match &k.value {
                                    Expr::Tuple(t) => Some((f, &t.elts[..])),
                                    _ => None,
                                },
                                _ => None,
                            }),
                    )
                    .collect();
                for (f, fargs) in forwarded {
                    let offset = usize::from(self.functions[f].is_method);
                    for (i, a) in fargs.iter().enumerate() {
                        if !self.dbutils_params.contains(&(f, i + offset))
                            && self.dbutils_path(a, *scope).is_some_and(|p| p.is_empty())
                        {
                            new.push((f, i + offset));
                        }
                    }
                }
                let refs = self.callables(&call.func, *scope);
                for r in refs {
                    let CallRef::Func(f) = r else { continue };
                    let offset = self.self_offset(&call.func, f);
                    for (i, a) in call.arguments.args.iter().enumerate() {
                        if a.is_starred_expr() {
                            break;
                        }
                        let idx = i + offset;
                        if !self.dbutils_params.contains(&(f, idx))
                            && self.dbutils_path(a, *scope).is_some_and(|p| p.is_empty())
                        {
                            new.push((f, idx));
                        }
                    }
                    for kw in call.arguments.keywords.iter() {
                        let Some(arg) = &kw.arg else { continue };
                        if let Some(idx) = self.functions[f]
                            .params
                            .iter()
                            .position(|p| *p == arg.as_str())
                        {
                            if !self.dbutils_params.contains(&(f, idx))
                                && self
                                    .dbutils_path(&kw.value, *scope)
                                    .is_some_and(|p| p.is_empty())
                            {
                                new.push((f, idx));
                            }
                        }
                    }
                }
            }
            if new.is_empty() {
                break;
            }
            self.dbutils_params.extend(new);
        }
    }

    /// 1 when `callee` calls method `f` through an instance (`self.m(...)`, `obj.m(...)`), so
    /// positional argument 0 is parameter 1.
    pub fn self_offset(&self, callee: &Expr, f: FuncId) -> usize {
        let func = &self.functions[f];
        if !func.is_method {
            return 0;
        }
        match callee {
            Expr::Attribute(a) => match &*a.value {
                // `Class.method(obj, ...)` passes self explicitly.
                Expr::Name(n)
                    if func
                        .class
                        .is_some_and(|c| self.classes[c].name == n.id.as_str()) =>
                {
                    0
                }
                _ => 1,
            },
            _ => 0,
        }
    }
}
