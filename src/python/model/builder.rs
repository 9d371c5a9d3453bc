//! Pass 1 of the model: scopes, bindings, functions, classes, imports.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::*;
use crate::fasthash::HashMap;

/// Pass 1: scopes, bindings, functions, classes.
pub(super) struct Builder<'m, 'a> {
    pub(super) m: &'m mut Model<'a>,
    pub(super) scope: ScopeId,
    pub(super) func: FuncId,
    pub(super) prefix: String,
}

impl<'a> Builder<'_, 'a> {
    pub(super) fn bind(&mut self, name: &'a str, kind: BindingKind<'a>, range: TextRange) {
        self.bind_in(self.scope, name, kind, range, None);
    }

    pub(super) fn bind_in(
        &mut self,
        scope: ScopeId,
        name: &'a str,
        kind: BindingKind<'a>,
        range: TextRange,
        import: Option<String>,
    ) {
        let scope = if self.m.scopes[scope].globals.contains(&name) {
            MODULE_SCOPE
        } else {
            scope
        };
        let id = self.m.bindings.len();
        self.m.bindings.push(Binding {
            name,
            kind,
            scope,
            range,
            import,
        });
        self.m.scopes[scope].names.entry(name).or_default().push(id);
    }

    pub(super) fn new_scope(&mut self, kind: ScopeKind, range: TextRange) -> ScopeId {
        let id = self.m.scopes.len();
        self.m.scopes.push(Scope {
            kind,
            parent: Some(self.scope),
            range,
            names: HashMap::default(),
            globals: Vec::new(),
        });
        id
    }

    pub(super) fn body(&mut self, body: &'a [Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    pub(super) fn target(&mut self, t: &'a Expr, kind: BindingKind<'a>) {
        match t {
            Expr::Name(n) => self.bind(n.id.as_str(), kind, n.range),
            Expr::Tuple(tu) => {
                for e in &tu.elts {
                    self.target(e, destructured(kind));
                }
            }
            Expr::List(l) => {
                for e in &l.elts {
                    self.target(e, destructured(kind));
                }
            }
            Expr::Starred(s) => self.target(&s.value, BindingKind::Other),
            Expr::Attribute(a) => {
                // self.attr = value inside a method.
                if let (Expr::Name(n), BindingKind::Assign(v)) = (&*a.value, kind) {
                    if n.id.as_str() == "self" {
                        if let Some(c) = self.m.class_of_method_scope(self.scope) {
                            self.m.classes[c]
                                .attrs
                                .entry(a.attr.as_str().to_string())
                                .or_default()
                                .push((v, self.scope));
                        }
                    }
                }
                self.expr(&a.value);
            }
            other => self.expr(other),
        }
    }

    pub(super) fn stmt(&mut self, s: &'a Stmt) {
        match s {
            Stmt::FunctionDef(f) => self.function_def(f),
            Stmt::ClassDef(c) => self.class_def(c),
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.m.functions[self.func].returns.push(v);
                    self.expr(v);
                }
            }
            Stmt::Assign(a) => {
                self.expr(&a.value);
                for t in &a.targets {
                    self.target(t, BindingKind::Assign(&a.value));
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.expr(v);
                    self.target(&a.target, BindingKind::Assign(v));
                }
            }
            Stmt::AugAssign(a) => {
                self.expr(&a.value);
                self.target(&a.target, BindingKind::Other);
            }
            Stmt::For(f) => {
                self.expr(&f.iter);
                self.target(&f.target, BindingKind::LoopVar(&f.iter, &f.target));
                self.body(&f.body);
                self.body(&f.orelse);
            }
            Stmt::While(w) => {
                self.expr(&w.test);
                self.body(&w.body);
                self.body(&w.orelse);
            }
            Stmt::If(i) => {
                self.expr(&i.test);
                self.body(&i.body);
                for c in &i.elif_else_clauses {
                    if let Some(t) = &c.test {
                        self.expr(t);
                    }
                    self.body(&c.body);
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    self.expr(&item.context_expr);
                    if let Some(v) = &item.optional_vars {
                        self.target(v, BindingKind::With(&item.context_expr));
                    }
                }
                self.body(&w.body);
            }
            Stmt::Try(t) => {
                self.body(&t.body);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(ty) = &h.type_ {
                        self.expr(ty);
                    }
                    if let Some(n) = &h.name {
                        self.bind(n.as_str(), BindingKind::Other, n.range());
                    }
                    self.body(&h.body);
                }
                self.body(&t.orelse);
                self.body(&t.finalbody);
            }
            Stmt::Import(i) => self.import(i),
            Stmt::ImportFrom(i) => self.import_from(i),
            Stmt::Global(g) => {
                for n in &g.names {
                    self.m.scopes[self.scope].globals.push(n.as_str());
                }
            }
            Stmt::Expr(e) => self.expr(&e.value),
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e);
                }
            }
            Stmt::Assert(a) => self.expr(&a.test),
            Stmt::Delete(d) => {
                for t in &d.targets {
                    self.expr(t);
                }
            }
            Stmt::Match(mt) => {
                self.expr(&mt.subject);
                for c in &mt.cases {
                    self.body(&c.body);
                }
            }
            _ => {}
        }
    }

    fn function_def(&mut self, f: &'a ast::StmtFunctionDef) {
        for d in &f.decorator_list {
            self.expr(&d.expression);
        }
        for p in f.parameters.iter_non_variadic_params() {
            if let Some(d) = &p.default {
                self.expr(d);
            }
        }
        let id = self.m.functions.len();
        let class = match self.m.scopes[self.scope].kind {
            ScopeKind::Class(c) => Some(c),
            _ => None,
        };
        let is_static = f
            .decorator_list
            .iter()
            .any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"));
        let qualname = format!("{}{}", self.prefix, f.name.as_str());
        let scope = self.new_scope(ScopeKind::Function(id), f.range);
        let params = params_of(&f.parameters);
        self.m.functions.push(Function {
            name: f.name.as_str().to_string(),
            qualname: qualname.clone(),
            node: FuncNode::Def(f),
            scope,
            class,
            params: params.clone(),
            returns: Vec::new(),
            is_method: class.is_some() && !is_static,
            top_level: self.scope == MODULE_SCOPE || class.is_some(),
        });
        self.m.func_at.insert(f.range.start(), id);
        if let Some(c) = class {
            self.m.classes[c]
                .methods
                .insert(f.name.as_str().to_string(), id);
        }
        self.bind(f.name.as_str(), BindingKind::Def(id), f.name.range());
        let (os, of, op) = (self.scope, self.func, std::mem::take(&mut self.prefix));
        self.scope = scope;
        self.func = id;
        self.prefix = format!("{qualname}.");
        for (i, p) in params.iter().enumerate() {
            self.bind(p, BindingKind::Param(id, i), f.parameters.range);
        }
        if let Some(v) = &f.parameters.vararg {
            self.bind(v.name.as_str(), BindingKind::Other, v.range);
        }
        if let Some(v) = &f.parameters.kwarg {
            self.bind(v.name.as_str(), BindingKind::Other, v.range);
        }
        self.body(&f.body);
        self.scope = os;
        self.func = of;
        self.prefix = op;
    }

    fn class_def(&mut self, c: &'a ast::StmtClassDef) {
        for d in &c.decorator_list {
            self.expr(&d.expression);
        }
        let bases: Vec<&'a Expr> = c
            .arguments
            .as_ref()
            .map(|a| a.args.iter().collect())
            .unwrap_or_default();
        for b in &bases {
            self.expr(b);
        }
        let id = self.m.classes.len();
        let scope = self.new_scope(ScopeKind::Class(id), c.range);
        self.m.classes.push(Class {
            name: c.name.as_str().to_string(),
            node: c,
            scope,
            methods: HashMap::default(),
            attrs: HashMap::default(),
            bases,
        });
        self.m.class_at.insert(c.range.start(), id);
        self.bind(c.name.as_str(), BindingKind::Class(id), c.name.range());
        let (os, op) = (self.scope, std::mem::take(&mut self.prefix));
        self.scope = scope;
        self.prefix = format!("{op}{}.", c.name.as_str());
        self.body(&c.body);
        self.scope = os;
        self.prefix = op;
    }

    fn import(&mut self, i: &'a ast::StmtImport) {
        for alias in &i.names {
            let full = alias.name.as_str();
            if full == "asyncio" {
                self.m.imports_asyncio = true;
            }
            self.m.imports.push((full.to_string(), 0, alias.range));
            match &alias.asname {
                Some(asn) => self.bind_in(
                    self.scope,
                    asn.as_str(),
                    BindingKind::Import(full, alias.range),
                    alias.range,
                    Some(full.to_string()),
                ),
                None => {
                    let first = full.split('.').next().unwrap_or(full);
                    self.bind_in(
                        self.scope,
                        first,
                        BindingKind::Import(first, alias.range),
                        alias.range,
                        Some(first.to_string()),
                    )
                }
            }
        }
    }

    fn import_from(&mut self, i: &'a ast::StmtImportFrom) {
        let module = i.module.as_ref().map(|m| m.as_str()).unwrap_or("");
        if module == "asyncio" {
            self.m.imports_asyncio = true;
        }
        let dots = ".".repeat(i.level as usize);
        let base = format!("{dots}{module}");
        self.m.imports.push((module.to_string(), i.level, i.range));
        for alias in &i.names {
            let name = alias.name.as_str();
            if name == "*" {
                continue;
            }
            let q = if module.is_empty() {
                format!("{base}{name}")
            } else {
                format!("{base}.{name}")
            };
            let local = alias.asname.as_ref().map(|a| a.as_str()).unwrap_or(name);
            self.bind_in(
                self.scope,
                local,
                BindingKind::Import(name, alias.range),
                alias.range,
                Some(q),
            );
        }
    }

    pub(super) fn expr(&mut self, e: &'a Expr) {
        use ruff_python_ast::visitor::{walk_expr, Visitor};
        struct V<'b, 'm, 'a>(&'b mut Builder<'m, 'a>);
        impl<'a> Visitor<'a> for V<'_, '_, 'a> {
            fn visit_expr(&mut self, e: &'a Expr) {
                let b = &mut *self.0;
                match e {
                    Expr::Lambda(l) => {
                        if let Some(p) = &l.parameters {
                            for p in p.iter_non_variadic_params() {
                                if let Some(d) = &p.default {
                                    self.visit_expr(d);
                                }
                            }
                        }
                        let b = &mut *self.0;
                        let id = b.m.functions.len();
                        let scope = b.new_scope(ScopeKind::Function(id), l.range);
                        let params = l.parameters.as_deref().map(params_of).unwrap_or_default();
                        b.m.functions.push(Function {
                            name: "<lambda>".into(),
                            qualname: format!("{}<lambda>", b.prefix),
                            node: FuncNode::Lambda(l),
                            scope,
                            class: None,
                            params: params.clone(),
                            returns: vec![&l.body],
                            is_method: false,
                            top_level: false,
                        });
                        b.m.func_at.insert(l.range.start(), id);
                        let (os, of) = (b.scope, b.func);
                        b.scope = scope;
                        b.func = id;
                        for (i, p) in params.iter().enumerate() {
                            b.bind(p, BindingKind::Param(id, i), l.range);
                        }
                        self.visit_expr(&l.body);
                        let b = &mut *self.0;
                        b.scope = os;
                        b.func = of;
                    }
                    Expr::Named(n) => {
                        b.target(&n.target, BindingKind::Assign(&n.value));
                        self.visit_expr(&n.value);
                    }
                    Expr::ListComp(_)
                    | Expr::SetComp(_)
                    | Expr::DictComp(_)
                    | Expr::Generator(_) => {
                        let gens = match e {
                            Expr::ListComp(c) => &c.generators,
                            Expr::SetComp(c) => &c.generators,
                            Expr::DictComp(c) => &c.generators,
                            Expr::Generator(c) => &c.generators,
                            _ => unreachable!(),
                        };
                        for g in gens {
                            b.target(&g.target, BindingKind::LoopVar(&g.iter, &g.target));
                        }
                        walk_expr(self, e);
                    }
                    Expr::Call(c) => {
                        b.m.calls.push((c, b.scope));
                        walk_expr(self, e);
                    }
                    _ => walk_expr(self, e),
                }
            }
        }
        V(self).visit_expr(e);
    }
}

pub(super) fn destructured(kind: BindingKind<'_>) -> BindingKind<'_> {
    match kind {
        BindingKind::LoopVar(i, t) => BindingKind::LoopVar(i, t),
        _ => BindingKind::Other,
    }
}

pub(super) fn params_of(p: &ast::Parameters) -> Vec<&str> {
    p.posonlyargs
        .iter()
        .chain(&p.args)
        .chain(&p.kwonlyargs)
        .map(|p| p.parameter.name.as_str())
        .collect()
}
