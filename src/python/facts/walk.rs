//! The walk over statements and expressions: loops, tries, calls and `notebook.run` calls.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::*;

impl<'a> Extractor<'_, 'a> {
    pub(super) fn stmt(&mut self, s: &'a Stmt) {
        match s {
            // Nested functions and classes are visited on their own (see `extract`).
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.expr(&d.expression, false);
                }
            }
            Stmt::ClassDef(c) => {
                // Class bodies run in the enclosing function; methods are visited separately.
                for st in &c.body {
                    if !matches!(st, Stmt::FunctionDef(_)) {
                        self.stmt(st);
                    }
                }
            }
            Stmt::Expr(e) => {
                // A dispatch whose result is dropped.
                self.expr_stmt(&e.value);
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    if self.mentions_futures(v) {
                        self.f.functions[self.func].collects = true;
                    }
                    self.expr(v, true);
                }
            }
            Stmt::Assign(a) => self.expr(&a.value, true),
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.expr(v, true)
                }
            }
            Stmt::AugAssign(a) => self.expr(&a.value, true),
            Stmt::For(fr) => {
                self.expr(&fr.iter, true);
                let header = TextRange::new(fr.range.start(), fr.iter.range().end());
                self.enter_loop(
                    LoopKind::For,
                    header,
                    Some(&fr.iter),
                    Some(&fr.target),
                    &fr.body,
                );
                self.body(&fr.body);
                self.exit_loop();
                self.body(&fr.orelse);
            }
            Stmt::While(w) => {
                self.expr(&w.test, true);
                let header = TextRange::new(w.range.start(), w.test.range().end());
                self.enter_loop(LoopKind::While, header, None, None, &w.body);
                self.body(&w.body);
                self.exit_loop();
                self.body(&w.orelse);
            }
            Stmt::If(i) => {
                self.expr(&i.test, true);
                self.body(&i.body);
                for c in &i.elif_else_clauses {
                    if let Some(t) = &c.test {
                        self.expr(t, true);
                    }
                    self.body(&c.body);
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    self.expr(&item.context_expr, true);
                }
                self.body(&w.body);
            }
            Stmt::Try(t) => {
                let mut ids = Vec::new();
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    let kind = self
                        .swallow_kind(h)
                        .filter(|k| !(self.retry_raises && *k == SwallowKind::Pass));
                    if let Some(kind) = kind {
                        let header_end = h
                            .type_
                            .as_ref()
                            .map(|t| t.range().end())
                            .or(h.name.as_ref().map(|n| n.range().end()))
                            .unwrap_or(h.range.start() + ruff_text_size::TextSize::new(6));
                        ids.push(self.f.tries.len());
                        self.f.tries.push(TryFacts {
                            handler: self
                                .m
                                .py
                                .to_doc(TextRange::new(h.range.start(), header_end)),
                            kind,
                            func: self.func,
                            runs: Vec::new(),
                            calls: Vec::new(),
                            collects: false,
                        });
                    }
                }
                self.try_stack.push(ids);
                self.body(&t.body);
                self.try_stack.pop();
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    self.body(&h.body);
                }
                self.body(&t.orelse);
                self.body(&t.finalbody);
            }
            Stmt::Raise(r) => {
                if let Some(e) = &r.exc {
                    self.expr(e, true);
                }
            }
            Stmt::Assert(a) => self.expr(&a.test, true),
            Stmt::Match(mt) => {
                self.expr(&mt.subject, true);
                for c in &mt.cases {
                    self.body(&c.body);
                }
            }
            _ => {}
        }
    }

    pub(super) fn enter_loop(
        &mut self,
        kind: LoopKind,
        header: TextRange,
        iter: Option<&'a Expr>,
        target: Option<&'a Expr>,
        body: &'a [Stmt],
    ) {
        if self.loop_stack.is_empty() {
            // The iterable is described when the loop is kept (`exit_loop`): evaluating it
            // can be costly (a comprehension over `range(n)` of a data generator), and most
            // loops make no call that matters.
            self.loop_iter = iter.map(|i| (i, self.scope(i)));
            self.loop_facts = Some(LoopFacts {
                range: self.m.py.to_doc(header),
                kind,
                items: None,
                target: target.map(|t| self.m.py.slice(t).to_string()),
                func: self.func,
                runs: Vec::new(),
                calls: Vec::new(),
                retry: is_retry_body(body),
                nested: 0,
            });
        } else if let Some(l) = &mut self.loop_facts {
            l.nested += 1;
        }
        self.loop_stack.push(LoopCtx { iter });
    }

    pub(super) fn exit_loop(&mut self) {
        self.loop_stack.pop();
        if self.loop_stack.is_empty() {
            let iter = self.loop_iter.take();
            if let Some(mut l) = self.loop_facts.take() {
                if !l.runs.is_empty() || !l.calls.is_empty() {
                    l.items = iter.map(|(e, scope)| {
                        let mut d = self.desc_unevaluated(e, scope);
                        if self.loop_values {
                            d.value = self.m.eval(e, scope);
                        }
                        d
                    });
                    self.f.loops.push(l);
                }
            }
        }
    }

    pub(super) fn expr_stmt(&mut self, e: &'a Expr) {
        let before = self.f.dispatches.len();
        self.expr(e, true);
        if let Expr::Call(c) = e {
            let r = self.m.py.to_doc(c.range());
            for d in &mut self.f.dispatches[before..] {
                if d.range == r && d.kind != DispatchKind::Thread {
                    d.result_discarded = true;
                }
            }
        }
    }

    /// Visit an expression of the current function.
    pub(super) fn expr(&mut self, e: &'a Expr, statement_level: bool) {
        match e {
            Expr::Call(c) => self.call(c, statement_level),
            Expr::Lambda(l) => {
                // A lambda's body belongs to the lambda function.
                if let Some(&id) = self.m.func_at.get(&l.range.start()) {
                    let (of, ls, lf, li) = (
                        self.func,
                        std::mem::take(&mut self.loop_stack),
                        self.loop_facts.take(),
                        self.loop_iter.take(),
                    );
                    let ts = std::mem::take(&mut self.try_stack);
                    self.func = id;
                    self.expr(&l.body, false);
                    self.func = of;
                    self.loop_stack = ls;
                    self.loop_facts = lf;
                    self.loop_iter = li;
                    self.try_stack = ts;
                }
            }
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                let (gens, elts): (&'a [ast::Comprehension], Vec<&'a Expr>) = match e {
                    Expr::ListComp(c) => (&c.generators, vec![&*c.elt]),
                    Expr::SetComp(c) => (&c.generators, vec![&*c.elt]),
                    Expr::DictComp(c) => (
                        &c.generators,
                        c.key.iter().map(|k| &**k).chain([&*c.value]).collect(),
                    ),
                    Expr::Generator(c) => (&c.generators, vec![&*c.elt]),
                    _ => unreachable!(),
                };
                if let Some(g) = gens.first() {
                    self.expr(&g.iter, statement_level);
                }
                let first = gens.first();
                self.enter_loop(
                    LoopKind::Comprehension,
                    e.range(),
                    first.map(|g| &g.iter),
                    first.map(|g| &g.target),
                    &[],
                );
                for (i, g) in gens.iter().enumerate() {
                    if i > 0 {
                        self.expr(&g.iter, false);
                    }
                    for cond in &g.ifs {
                        self.expr(cond, false);
                    }
                }
                for el in elts {
                    self.expr(el, false);
                }
                self.exit_loop();
            }
            _ => {
                use ruff_python_ast::visitor::{walk_expr, Visitor};
                struct V<'x, 'm, 'a>(&'x mut Extractor<'m, 'a>);
                impl<'a> Visitor<'a> for V<'_, '_, 'a> {
                    fn visit_expr(&mut self, e: &'a Expr) {
                        match e {
                            Expr::Call(_)
                            | Expr::Lambda(_)
                            | Expr::ListComp(_)
                            | Expr::SetComp(_)
                            | Expr::DictComp(_)
                            | Expr::Generator(_) => self.0.expr(e, false),
                            _ => walk_expr(self, e),
                        }
                    }
                }
                walk_expr(&mut V(self), e);
            }
        }
    }

    pub(super) fn record_call(&mut self, r: CallRef, range: TextRange) {
        self.f.functions[self.func].calls.push((r.clone(), range));
        if let Some(l) = &mut self.loop_facts {
            l.calls.push((r.clone(), range));
        }
        for ids in &self.try_stack {
            for &i in ids {
                self.f.tries[i].calls.push((r.clone(), range));
            }
        }
    }

    pub(super) fn record_run(&mut self, run: RunCall) -> usize {
        let idx = self.f.runs.len();
        self.f.runs.push(run);
        self.f.functions[self.func].runs.push(idx);
        if let Some(l) = &mut self.loop_facts {
            l.runs.push(idx);
        }
        for ids in &self.try_stack {
            for &i in ids {
                self.f.tries[i].runs.push(idx);
            }
        }
        idx
    }

    pub(super) fn call(&mut self, c: &'a ast::ExprCall, statement_level: bool) {
        let scope = self.scope(c);
        let crange = self.m.py.to_doc(c.range());
        // Result collection.
        if let Expr::Attribute(a) = &*c.func {
            if matches!(a.attr.as_str(), "result" | "get" | "join" | "exception")
                && c.arguments.args.len() <= 1
            {
                self.mark_collects();
            }
        }
        if let Expr::Name(n) = &*c.func {
            if matches!(n.id.as_str(), "as_completed" | "wait") {
                self.mark_collects();
            }
        } else if let Some(q) = self.m.qualname(&c.func, scope) {
            if q.ends_with(".as_completed") || q.ends_with(".wait") {
                self.mark_collects();
            }
        }

        // dbutils.notebook.run(...), or a configured runner helper.
        let is_runner = !self.runners.is_empty()
            && self.m.callables(&c.func, scope).iter().any(|r| match r {
                CallRef::External { module, name } => {
                    let q = format!("{module}.{name}");
                    self.runners.contains(&q)
                }
                CallRef::Free(name) => self
                    .runners
                    .iter()
                    .any(|x| x.rsplit('.').next() == Some(name.as_str())),
                _ => false,
            });
        let dbutils_path = if is_runner {
            Some(vec!["notebook".to_string(), "run".to_string()])
        } else {
            self.m.dbutils_path(&c.func, scope)
        };
        if let Some(p) = dbutils_path {
            if p.len() == 2 && p[0] == "notebook" && p[1] == "run" {
                let args = &c.arguments;
                let path = args.find_argument_value("path", 0);
                let timeout = args.find_argument_value("timeout_seconds", 1);
                let arguments = args.find_argument_value("arguments", 2);
                let run = RunCall {
                    range: crange,
                    callee: self.m.py.to_doc(c.func.range()),
                    by_reference: false,
                    path: path.map(|e| self.desc(e, scope)),
                    timeout: timeout.map(|e| self.desc(e, scope)),
                    arguments: arguments.map(|e| self.desc(e, scope)),
                    argument_items: arguments
                        .map(|e| self.dict_items(e, scope))
                        .unwrap_or_default(),
                    path_domain: path.and_then(|p| self.domain(p, scope)),
                    path_values: path.map(|p| self.path_values(p, scope)).unwrap_or_default(),
                    timeout_origins: timeout
                        .map(|t| self.data_origins(t, scope))
                        .unwrap_or_default(),
                    has_splat: args.args.iter().any(|a| a.is_starred_expr())
                        || args.keywords.iter().any(|k| k.arg.is_none()),
                    func: self.func,
                    in_loop: !self.loop_stack.is_empty(),
                    statement_level,
                };
                self.record_run(run);
                self.walk_args(c);
                return;
            }
        }

        if let Some(()) = self.dispatch(c, scope, crange) {
            return;
        }

        self.jobs_api(c, scope, crange);

        // Synchronous call edges: the callee and callables passed as arguments.
        let callees = self.m.callables(&c.func, scope);
        let mut cargs: Vec<(usize, Vec<CallRef>)> = Vec::new();
        for (i, a) in c.arguments.args.iter().enumerate() {
            if a.is_starred_expr() {
                break;
            }
            if matches!(
                a,
                Expr::Name(_) | Expr::Attribute(_) | Expr::Lambda(_) | Expr::Call(_)
            ) {
                let refs: Vec<CallRef> = self
                    .m
                    .callables(a, scope)
                    .into_iter()
                    .filter(|r| !matches!(r, CallRef::Free(_)))
                    .collect();
                if !refs.is_empty() {
                    cargs.push((i, refs));
                }
            }
        }
        if !cargs.is_empty() {
            for r in &callees {
                self.f.functions[self.func]
                    .callable_args
                    .push((r.clone(), crange, cargs.clone()));
            }
        }
        for r in callees {
            self.record_call(r, crange);
        }
        for a in c
            .arguments
            .args
            .iter()
            .chain(c.arguments.keywords.iter().map(|k| &k.value))
        {
            if matches!(a, Expr::Name(_) | Expr::Attribute(_) | Expr::Lambda(_)) {
                for r in self.m.callables(a, scope) {
                    if matches!(r, CallRef::Func(_) | CallRef::NotebookRun) {
                        if r == CallRef::NotebookRun {
                            self.run_by_reference(a, scope, &[], &[]);
                        } else {
                            self.record_call(r, crange);
                        }
                    }
                }
            }
        }
        self.expr(&c.func, false);
        self.walk_args(c);
    }

    pub(super) fn mark_collects(&mut self) {
        self.f.functions[self.func].collects = true;
        for ids in &self.try_stack {
            for &i in ids {
                self.f.tries[i].collects = true;
            }
        }
    }

    pub(super) fn walk_args(&mut self, c: &'a ast::ExprCall) {
        for a in c.arguments.args.iter() {
            self.expr(a, false);
        }
        for k in c.arguments.keywords.iter() {
            self.expr(&k.value, false);
        }
    }

    /// The iterable a loop variable takes its values from.
    pub(super) fn domain(&self, e: &Expr, scope: ScopeId) -> Option<ExprDesc> {
        let Expr::Name(n) = e else { return None };
        let bs = self.m.visible(scope, n.id.as_str(), n.range.start());
        bs.iter().find_map(|&b| match self.m.bindings[b].kind {
            crate::python::model::BindingKind::LoopVar(iter, target) if target.is_name_expr() => {
                Some(self.desc(iter, self.m.bindings[b].scope))
            }
            _ => None,
        })
    }

    pub(super) fn dict_items(&self, e: &Expr, scope: ScopeId) -> Vec<(Option<String>, ExprDesc)> {
        match e {
            Expr::Dict(d) => d
                .items
                .iter()
                .filter_map(|it| {
                    let key = it.key.as_ref()?;
                    Some((
                        eval::eval_str(key, &self.m.env(scope)),
                        self.desc(&it.value, scope),
                    ))
                })
                .collect(),
            Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "dict") => c
                .arguments
                .keywords
                .iter()
                .filter_map(|k| {
                    Some((
                        Some(k.arg.as_ref()?.as_str().to_string()),
                        self.desc(&k.value, scope),
                    ))
                })
                .collect(),
            Expr::Name(n) => {
                // A dict bound once.
                use crate::python::value::Env;
                match self.m.env(scope).lookup(n) {
                    Some(v @ Expr::Dict(_)) => self.dict_items(v, scope),
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}
