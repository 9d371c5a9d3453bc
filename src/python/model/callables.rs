//! What expressions denote: pools and executors, callables (functions, lambdas, partials,
//! factories' closures, methods, imported names), classes and instances.

use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use super::*;

impl<'a> Model<'a> {
    // ----- pools -----

    /// The pool or executor an expression denotes.
    pub fn pool_of(&self, expr: &'a Expr, scope: ScopeId) -> Option<Pool<'a>> {
        self.pool_d(expr, scope, 0)
    }

    pub(super) fn pool_d(&self, expr: &'a Expr, scope: ScopeId, d: u32) -> Option<Pool<'a>> {
        if d > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Call(c) => {
                if let Some(cl) = self.class_of_expr(&c.func, scope) {
                    return self.pool_subclass(cl, c, scope, 0);
                }
                let q = self.qualname(&c.func, scope)?;
                let kind = PoolKind::from_qualname(&q)?;
                Some(Pool {
                    kind,
                    ctor: c,
                    scope,
                    sized_by: None,
                })
            }
            Expr::Name(n) => {
                for &bid in self.visible(scope, n.id.as_str(), n.range.start()) {
                    let b = &self.bindings[bid];
                    if let BindingKind::Assign(v) | BindingKind::With(v) = b.kind {
                        if let Some(p) = self.pool_d(v, b.scope, d + 1) {
                            return Some(p);
                        }
                    }
                }
                None
            }
            Expr::Attribute(_) => {
                for (v, s) in self.self_attr(expr, scope)? {
                    if let Some(p) = self.pool_d(v, s, d + 1) {
                        return Some(p);
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The construction `ctor` of local class `cl` when the class derives (through local
    /// classes) from a pool or executor: `class ChildPool(ThreadPoolExecutor)`.
    fn pool_subclass(
        &self,
        cl: ClassId,
        ctor: &'a ast::ExprCall,
        scope: ScopeId,
        d: u32,
    ) -> Option<Pool<'a>> {
        if d > 8 {
            return None;
        }
        let class = &self.classes[cl];
        let outer = self.scopes[class.scope].parent.unwrap_or(MODULE_SCOPE);
        let kind = class
            .bases
            .iter()
            .find_map(|b| match self.class_of_expr(b, class.scope) {
                Some(bc) => self.pool_subclass(bc, ctor, scope, d + 1).map(|p| p.kind),
                None => self
                    .qualname(b, outer)
                    .and_then(|q| PoolKind::from_qualname(&q)),
            })?;
        let sized_by = self
            .method(cl, "__init__", 0)
            .map(|init| self.super_init_size(init, kind, ctor, scope));
        Some(Pool {
            kind,
            ctor,
            scope,
            sized_by,
        })
    }

    /// The size a subclass's `__init__` passes to the pool's (`super().__init__(max_workers=
    /// width)` or `ThreadPoolExecutor.__init__(self, width)`), mapped to the argument of the
    /// construction when it is a parameter.
    fn super_init_size(
        &self,
        init: FuncId,
        kind: PoolKind,
        ctor: &'a ast::ExprCall,
        ctor_scope: ScopeId,
    ) -> Option<(&'a Expr, ScopeId)> {
        let FuncNode::Def(def) = self.functions[init].node else {
            return None;
        };
        let iscope = self.functions[init].scope;
        let call = def.body.iter().find_map(|s| {
            let ast::Stmt::Expr(e) = s else { return None };
            let Expr::Call(c) = &*e.value else {
                return None;
            };
            let Expr::Attribute(a) = &*c.func else {
                return None;
            };
            if a.attr.as_str() != "__init__" {
                return None;
            }
            match &*a.value {
                Expr::Call(sc) if matches!(&*sc.func, Expr::Name(n) if n.id.as_str() == "super") => {
                    Some((c, 0))
                }
                Expr::Name(_) | Expr::Attribute(_) => Some((c, 1)),
                _ => None,
            }
        })?;
        let (c, offset) = call;
        let size = c
            .arguments
            .find_argument_value(kind.size_keyword(), offset)?;
        if let Expr::Name(n) = size {
            if let [b] = self.lookup(iscope, n.id.as_str()) {
                if let BindingKind::Param(f, i) = self.bindings[*b].kind {
                    if f == init {
                        return match self.argument(init, ctor, i, 1)? {
                            (e, true) => Some((e, ctor_scope)),
                            (e, false) => Some((e, iscope)),
                        };
                    }
                }
            }
        }
        Some((size, iscope))
    }

    // ----- callables -----

    /// The functions a callee / worker expression may denote.
    pub fn callables(&self, expr: &Expr, scope: ScopeId) -> Vec<CallRef> {
        let mut out = Vec::new();
        self.callables_d(expr, scope, 0, &mut out);
        out.sort();
        out.dedup();
        out
    }

    pub(super) fn callables_d(&self, expr: &Expr, scope: ScopeId, d: u32, out: &mut Vec<CallRef>) {
        if d > MAX_DEPTH {
            return;
        }
        match expr {
            Expr::Name(n) => {
                let name = n.id.as_str();
                let bs = self.visible(scope, name, n.range.start());
                if bs.is_empty() {
                    if !is_builtin(name) {
                        out.push(CallRef::Free(name.to_string()));
                    }
                    return;
                }
                for &bid in bs {
                    let b = &self.bindings[bid];
                    match b.kind {
                        BindingKind::Def(f) => out.push(CallRef::Func(f)),
                        BindingKind::Import(..) => {
                            if let Some(q) = &b.import {
                                if let Some(r) = external(q) {
                                    out.push(r);
                                }
                            }
                        }
                        BindingKind::Assign(v) => self.callables_d(v, b.scope, d + 1, out),
                        _ => {}
                    }
                }
            }
            Expr::Lambda(l) => {
                if let Some(&f) = self.func_at.get(&l.range().start()) {
                    out.push(CallRef::Func(f));
                }
            }
            Expr::Attribute(a) => {
                if let Some(p) = self.dbutils_path(expr, scope) {
                    if p.len() == 2 && p[0] == "notebook" && p[1] == "run" {
                        out.push(CallRef::NotebookRun);
                    }
                    return;
                }
                let attr = a.attr.as_str();
                // self.method / cls.method
                if let Expr::Name(n) = &*a.value {
                    if matches!(n.id.as_str(), "self" | "cls") {
                        if let Some(c) = self.class_of_method_scope(scope) {
                            if let Some(f) = self.method(c, attr, 0) {
                                out.push(CallRef::Func(f));
                                return;
                            }
                            // self.attr holding a callable.
                            if let Some(values) = self.self_attr(expr, scope) {
                                for (v, s) in values {
                                    self.callables_d(v, s, d + 1, out);
                                }
                            }
                            return;
                        }
                    }
                }
                // Class.method on a local class.
                if let Some(c) = self.class_of_expr(&a.value, scope) {
                    if let Some(f) = self.method(c, attr, 0) {
                        out.push(CallRef::Func(f));
                    }
                    return;
                }
                // instance.method
                match self.instance_of(&a.value, scope, d + 1) {
                    Some(Instance::Local(c)) => {
                        if let Some(f) = self.method(c, attr, 0) {
                            out.push(CallRef::Func(f));
                        }
                        return;
                    }
                    Some(Instance::External(q)) => {
                        if let Some(CallRef::External { module, name }) = external(&q) {
                            out.push(CallRef::External {
                                module,
                                name: format!("{name}.{attr}"),
                            });
                        }
                        return;
                    }
                    None => {}
                }
                // module.function
                if let Some(q) = self.qualname(&a.value, scope) {
                    out.push(CallRef::External {
                        module: q,
                        name: attr.to_string(),
                    });
                }
            }
            Expr::Call(c) => {
                let q = self.qualname(&c.func, scope);
                if let Some("functools.partial" | "joblib.delayed") = q.as_deref() {
                    if let Some(f) = c.arguments.args.first() {
                        self.callables_d(f, scope, d + 1, out);
                    }
                    return;
                }
                // A factory: the closures it returns.
                let mut facs = Vec::new();
                self.callables_d(&c.func, scope, d + 1, &mut facs);
                for f in facs {
                    match f {
                        CallRef::Func(f) => {
                            let func = &self.functions[f];
                            for r in &func.returns {
                                self.callables_d(r, func.scope, d + 1, out);
                            }
                        }
                        // A factory of another module or of a `%run`-included notebook: the
                        // closure it returns, exported by that file as `name.<returns>`.
                        CallRef::External { module, name } => out.push(CallRef::External {
                            module,
                            name: format!("{name}{RETURNED}"),
                        }),
                        CallRef::Free(name) => out.push(CallRef::Free(format!("{name}{RETURNED}"))),
                        CallRef::NotebookRun => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// A method of a class, searching local base classes.
    pub fn method(&self, c: ClassId, name: &str, d: u32) -> Option<FuncId> {
        if d > 8 {
            return None;
        }
        let class = &self.classes[c];
        if let Some(&f) = class.methods.get(name) {
            return Some(f);
        }
        for base in &class.bases {
            if let Some(bc) = self.class_of_expr(base, class.scope) {
                if let Some(f) = self.method(bc, name, d + 1) {
                    return Some(f);
                }
            }
        }
        None
    }

    /// The local class a name denotes.
    pub fn class_of_expr(&self, expr: &Expr, scope: ScopeId) -> Option<ClassId> {
        let Expr::Name(n) = expr else { return None };
        let s = if let Some(p) = self.scopes[scope].parent {
            // Base classes are evaluated in the enclosing scope of the class body.
            if matches!(self.scopes[scope].kind, ScopeKind::Class(_)) {
                p
            } else {
                scope
            }
        } else {
            scope
        };
        self.lookup(s, n.id.as_str())
            .iter()
            .find_map(|&b| match self.bindings[b].kind {
                BindingKind::Class(c) => Some(c),
                _ => None,
            })
    }

    pub(super) fn instance_of(&self, expr: &Expr, scope: ScopeId, d: u32) -> Option<Instance> {
        if d > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Call(c) => {
                if let Some(cl) = self.class_of_expr(&c.func, scope) {
                    return Some(Instance::Local(cl));
                }
                let q = self.qualname(&c.func, scope)?;
                Some(Instance::External(q))
            }
            Expr::Name(n) => {
                let b = self.single(scope, n.id.as_str())?;
                match b.kind {
                    BindingKind::Assign(v) | BindingKind::With(v) => {
                        self.instance_of(v, b.scope, d + 1)
                    }
                    _ => None,
                }
            }
            Expr::Attribute(_) => {
                let values = self.self_attr(expr, scope)?;
                values
                    .iter()
                    .find_map(|(v, s)| self.instance_of(v, *s, d + 1))
            }
            _ => None,
        }
    }

    /// The local class or external qualified class name of an instance expression.
    pub fn instance_class(&self, expr: &Expr, scope: ScopeId) -> Option<Instance> {
        self.instance_of(expr, scope, 0)
    }

    /// Map a virtual range to the document.
    pub fn doc_range(&self, r: TextRange) -> TextRange {
        self.py.to_doc(r)
    }
}

/// Suffix of the exported name of the closure a factory returns (`make_worker.<returns>`).
pub const RETURNED: &str = ".<returns>";

fn external(q: &str) -> Option<CallRef> {
    let (module, name) = q.rsplit_once('.')?;
    Some(CallRef::External {
        module: module.to_string(),
        name: name.to_string(),
    })
}

fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "print"
            | "len"
            | "str"
            | "int"
            | "float"
            | "list"
            | "dict"
            | "set"
            | "tuple"
            | "range"
            | "enumerate"
            | "zip"
            | "map"
            | "filter"
            | "sorted"
            | "min"
            | "max"
            | "sum"
            | "open"
            | "isinstance"
            | "getattr"
            | "setattr"
            | "hasattr"
            | "repr"
            | "type"
            | "super"
            | "iter"
            | "next"
            | "any"
            | "all"
            | "abs"
            | "round"
            | "bool"
            | "format"
            | "vars"
            | "display"
            | "spark"
            | "sc"
            | "sqlContext"
    )
}
