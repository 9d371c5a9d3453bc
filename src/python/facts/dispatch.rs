//! Work handed to pools, executors, threads, joblib and asyncio: the dispatch, its worker and
//! the arguments that go to it.

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::{Ranged, TextRange};

use super::*;
use crate::python::model::Pool;

impl<'a> Extractor<'_, 'a> {
    /// A `dbutils.notebook.run` passed by reference, with the arguments that will be passed
    /// to it.
    pub(super) fn run_by_reference(
        &mut self,
        reference: &Expr,
        scope: ScopeId,
        args: &[&'a Expr],
        kwargs: &[&'a ast::Keyword],
    ) -> usize {
        let mut path_e: Option<&'a Expr> = args.first().copied();
        let mut timeout_e: Option<&'a Expr> = args.get(1).copied();
        let mut arguments_e: Option<&Expr> = args.get(2).copied();
        for k in kwargs {
            match k.arg.as_ref().map(|a| a.as_str()) {
                Some("path") => path_e = Some(&k.value),
                Some("timeout_seconds") => timeout_e = Some(&k.value),
                Some("arguments") => arguments_e = Some(&k.value),
                Some(_) => {}
                None => {
                    // `**{"path": ..., "timeout_seconds": ..., "arguments": ...}`
                    if let Expr::Dict(d) = &k.value {
                        for it in &d.items {
                            let Some(key) = &it.key else { continue };
                            match eval::eval_str(key, &self.m.env(scope)).as_deref() {
                                Some("path") => path_e = Some(&it.value),
                                Some("timeout_seconds") => timeout_e = Some(&it.value),
                                Some("arguments") => arguments_e = Some(&it.value),
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        let r = self.m.py.to_doc(reference.range());
        let run = RunCall {
            range: r,
            callee: r,
            by_reference: true,
            path: path_e.map(|e| self.desc(e, scope)),
            timeout: timeout_e.map(|e| self.desc(e, scope)),
            arguments: arguments_e.map(|e| self.desc(e, scope)),
            argument_items: arguments_e
                .map(|e| self.dict_items(e, scope))
                .unwrap_or_default(),
            path_domain: None,
            path_values: path_e
                .map(|e| self.path_values(e, scope))
                .unwrap_or_default(),
            timeout_origins: timeout_e
                .map(|e| self.data_origins(e, scope))
                .unwrap_or_default(),
            has_splat: args.iter().any(|a| a.is_starred_expr())
                || kwargs
                    .iter()
                    .any(|k| k.arg.is_none() && !k.value.is_dict_expr()),
            func: self.func,
            in_loop: !self.loop_stack.is_empty(),
            statement_level: false,
        };
        self.record_run(run)
    }

    pub(super) fn worker(&mut self, w: &'a Expr, scope: ScopeId) -> WorkerFacts {
        let refs = self.m.callables(w, scope);
        let kind = if refs.contains(&CallRef::NotebookRun) {
            WorkerKind::NotebookRun
        } else {
            match w {
                Expr::Lambda(_) => WorkerKind::Lambda,
                Expr::Call(c) => match self.m.qualname(&c.func, scope).as_deref() {
                    Some("functools.partial") => WorkerKind::Partial,
                    _ if !refs.is_empty() => WorkerKind::Closure,
                    _ => WorkerKind::Other,
                },
                _ if refs.iter().any(|r| !matches!(r, CallRef::Free(_))) || !refs.is_empty() => {
                    WorkerKind::Function
                }
                _ => WorkerKind::Other,
            }
        };
        WorkerFacts {
            expr: self.desc(w, scope),
            kind,
            refs,
        }
    }

    pub(super) fn enclosing_items(&self) -> Option<ExprDesc> {
        self.loop_stack
            .iter()
            .rev()
            .find_map(|l| l.iter)
            .map(|i| self.desc(i, self.scope(i)))
    }

    fn new_dispatch(&self, kind: DispatchKind, method: &str, crange: TextRange) -> Dispatch {
        Dispatch {
            range: crange,
            kind,
            method: method.to_string(),
            pool: None,
            worker: None,
            items: None,
            call_args: Vec::new(),
            call_kwargs: Vec::new(),
            func: self.func,
            result_discarded: false,
            in_loop: !self.loop_stack.is_empty(),
            reference_run: None,
            worker_param: None,
        }
    }

    fn pool_facts(&self, pool: &Pool<'a>) -> PoolFacts {
        let size = pool.size();
        let sscope = pool.size_scope();
        let bound = size.and_then(|s| eval::upper_bound(s, &self.m.env(sscope)));
        // Through data: the largest bound of everything the size is given as.
        let origins = match (size, bound) {
            (Some(s), None) => self.m.origins(s, sscope).unwrap_or_default(),
            _ => Vec::new(),
        };
        let bounds: Vec<Option<i64>> = origins
            .iter()
            .map(|(o, s)| match size {
                Some(e) if std::ptr::eq(*o, e) => None,
                _ => eval::upper_bound(o, &self.m.env(*s)),
            })
            .collect();
        let through_data = if !bounds.is_empty() && bounds.iter().all(Option::is_some) {
            bounds.iter().flatten().max().copied()
        } else {
            None
        };
        let size_bound = bound.or(through_data);
        let size_unbounded = if size_bound.is_none() {
            origins
                .iter()
                .zip(&bounds)
                .filter(|((o, _), b)| b.is_none() && !size.is_some_and(|e| std::ptr::eq(*o, e)))
                .map(|((o, s), _)| self.desc(o, *s))
                .collect()
        } else {
            Vec::new()
        };
        let is_cpu_count = |e: &Expr, s: ScopeId| {
            matches!(e, Expr::Call(c) if matches!(
                self.m.qualname(&c.func, s).as_deref(),
                Some("os.cpu_count" | "multiprocessing.cpu_count" | "psutil.cpu_count")
            ))
        };
        let size_cpu_count = size_bound.is_none()
            && (size.is_some_and(|e| is_cpu_count(e, sscope))
                || origins.iter().any(|(o, s)| is_cpu_count(o, *s)));
        PoolFacts {
            kind: pool.kind,
            ctor: self.m.py.to_doc(pool.ctor.range()),
            size: size.map(|s| self.desc(s, sscope)),
            size_bound,
            size_unbounded,
            size_cpu_count,
        }
    }

    /// Recognise a dispatch; records it and returns `Some(())`.
    pub(super) fn dispatch(
        &mut self,
        c: &'a ast::ExprCall,
        scope: ScopeId,
        crange: TextRange,
    ) -> Option<()> {
        if self.thread_subclass(c, scope, crange) {
            return Some(());
        }
        let found = self
            .pool_method(c, scope, crange)
            .or_else(|| self.dispatching_call(c, scope, crange))?;
        self.record_dispatch(c, scope, found);
        Some(())
    }

    /// `pool.map(f, items)`, `executor.submit(f, x)`, `pool.apply_async(f, args)`,
    /// `loop.run_in_executor(executor, f, x)`.
    fn pool_method(
        &self,
        c: &'a ast::ExprCall,
        scope: ScopeId,
        crange: TextRange,
    ) -> Option<Found<'a>> {
        let args = &c.arguments;
        let Expr::Attribute(a) = &*c.func else {
            return None;
        };
        let method = a.attr.as_str();
        if method == "run_in_executor" && self.m.imports_asyncio {
            let mut d = self.new_dispatch(DispatchKind::RunInExecutor, method, crange);
            d.items = self.enclosing_items();
            d.pool = args
                .args
                .first()
                .and_then(|ex| self.m.pool_of(ex, scope))
                .map(|p| self.pool_facts(&p));
            return Some(Found {
                d,
                worker: args.args.get(1),
                args: args.args.iter().skip(2).collect(),
                kwargs: Vec::new(),
            });
        }
        let pool = self.m.pool_of(&a.value, scope)?;
        let is_map = POOL_MAP.contains(&method);
        let is_apply = !pool.kind.is_executor() && POOL_APPLY.contains(&method);
        let is_submit = pool.kind.is_executor() && method == "submit";
        let kind = if is_map {
            DispatchKind::PoolMap
        } else if is_apply {
            DispatchKind::PoolApply
        } else if is_submit {
            DispatchKind::ExecutorSubmit
        } else {
            return None;
        };
        let mut d = self.new_dispatch(kind, method, crange);
        d.pool = Some(self.pool_facts(&pool));
        let worker = args.find_argument_value(if is_submit { "fn" } else { "func" }, 0);
        let mut fwd_args = Vec::new();
        let mut fwd_kwargs = Vec::new();
        if is_map {
            let it = args
                .find_argument_value("iterable", 1)
                .or_else(|| args.find_argument_value("iterables", 1));
            d.items = it.map(|i| self.desc(i, scope));
        } else {
            d.items = self.enclosing_items();
            fwd_args = args.args.iter().skip(1).collect();
            if is_apply {
                if let Some(Expr::Tuple(t)) = args.find_argument_value("args", 1) {
                    fwd_args = t.elts.iter().collect();
                }
            } else {
                fwd_kwargs = args.keywords.iter().collect();
            }
        }
        Some(Found {
            d,
            worker,
            args: fwd_args,
            kwargs: fwd_kwargs,
        })
    }

    /// `threading.Thread(target=f, args=(...))`, `asyncio.to_thread(f, x)`, joblib
    /// `Parallel(n_jobs=N)(delayed(f)(x) for x in items)`.
    fn dispatching_call(
        &self,
        c: &'a ast::ExprCall,
        scope: ScopeId,
        crange: TextRange,
    ) -> Option<Found<'a>> {
        let args = &c.arguments;
        match self.m.qualname(&c.func, scope).as_deref() {
            Some("threading.Thread" | "multiprocessing.Process") => {
                let mut d = self.new_dispatch(DispatchKind::Thread, "Thread", crange);
                let mut fwd_args = Vec::new();
                if let Some(Expr::Tuple(t)) = args.find_keyword("args").map(|k| &k.value) {
                    fwd_args = t.elts.iter().collect();
                }
                if let Some(Expr::Dict(dct)) = args.find_keyword("kwargs").map(|k| &k.value) {
                    for it in &dct.items {
                        if let Some(k) = &it.key {
                            d.call_kwargs.push((
                                eval::eval_str(k, &self.m.env(scope)),
                                self.desc(&it.value, scope),
                            ));
                        }
                    }
                }
                d.items = self.enclosing_items();
                return Some(Found {
                    d,
                    worker: args.find_argument_value("target", 1),
                    args: fwd_args,
                    kwargs: Vec::new(),
                });
            }
            Some("asyncio.to_thread") => {
                let mut d = self.new_dispatch(DispatchKind::ToThread, "to_thread", crange);
                d.items = self.enclosing_items();
                return Some(Found {
                    d,
                    worker: args.args.first(),
                    args: args.args.iter().skip(1).collect(),
                    kwargs: args.keywords.iter().collect(),
                });
            }
            _ => {}
        }
        let Expr::Call(inner) = &*c.func else {
            return None;
        };
        if self.m.qualname(&inner.func, scope).as_deref() != Some("joblib.Parallel") {
            return None;
        }
        let mut d = self.new_dispatch(DispatchKind::Joblib, "Parallel", crange);
        if let Some(s) = inner.arguments.find_argument_value("n_jobs", 0) {
            d.call_kwargs
                .push((Some("n_jobs".into()), self.desc(s, scope)));
        }
        let (elt, gens) = match args.args.first() {
            Some(Expr::Generator(g)) => (Some(&*g.elt), Some(&g.generators)),
            Some(Expr::ListComp(g)) => (Some(&*g.elt), Some(&g.generators)),
            _ => (None, None),
        };
        let mut found = Found {
            d,
            worker: None,
            args: Vec::new(),
            kwargs: Vec::new(),
        };
        if let Some(Expr::Call(call_d)) = elt {
            if let Expr::Call(delayed) = &*call_d.func {
                found.worker = delayed.arguments.args.first();
                found.args = call_d.arguments.args.iter().collect();
            }
        }
        if let Some(g) = gens.and_then(|g| g.first()) {
            found.d.items = Some(self.desc(&g.iter, self.scope(&g.iter)));
        }
        Some(found)
    }

    /// A subclass of `threading.Thread` whose `run` is the worker: `Runner(nb).start()`.
    fn thread_subclass(&mut self, c: &'a ast::ExprCall, scope: ScopeId, crange: TextRange) -> bool {
        let Some(cl) = self.m.class_of_expr(&c.func, scope) else {
            return false;
        };
        let is_thread = self.m.classes[cl].bases.iter().any(|b| {
            matches!(
                self.m.qualname(b, self.m.classes[cl].scope).as_deref(),
                Some("threading.Thread" | "multiprocessing.Process")
            )
        });
        let (true, Some(run)) = (is_thread, self.m.method(cl, "run", 0)) else {
            return false;
        };
        let mut d = self.new_dispatch(DispatchKind::Thread, "Thread", crange);
        d.items = self.enclosing_items();
        d.call_args = c
            .arguments
            .args
            .iter()
            .map(|a| self.desc(a, scope))
            .collect();
        d.worker = Some(WorkerFacts {
            expr: self.desc(&c.func, scope),
            kind: WorkerKind::Function,
            refs: vec![CallRef::Func(run)],
        });
        let idx = self.f.dispatches.len();
        self.f.dispatches.push(d);
        self.f.functions[self.func].dispatches.push(idx);
        self.walk_args(c);
        true
    }

    /// Record a recognised dispatch with its worker and forwarded arguments.
    fn record_dispatch(&mut self, c: &'a ast::ExprCall, scope: ScopeId, found: Found<'a>) {
        let Found {
            mut d,
            worker: worker_e,
            args: fwd_args,
            kwargs: fwd_kwargs,
        } = found;
        if let Some(Expr::Name(n)) = worker_e {
            d.worker_param = self
                .m
                .visible(scope, n.id.as_str(), n.range.start())
                .iter()
                .find_map(|&b| match self.m.bindings[b].kind {
                    crate::python::model::BindingKind::Param(f, i) if f == self.func => Some(i),
                    _ => None,
                });
        }
        let wscope = worker_e.map(|w| self.scope(w)).unwrap_or(scope);
        if let Some(w) = worker_e {
            let wf = self.worker(w, wscope);
            if wf.kind == WorkerKind::NotebookRun {
                // The arguments passed with the reference are the run's arguments.
                let run = self.run_by_reference(w, wscope, &fwd_args, &fwd_kwargs);
                // The run is not made by this function itself (it runs in the pool).
                self.f.functions[self.func].runs.retain(|&r| r != run);
                if let Some(l) = &mut self.loop_facts {
                    l.runs.retain(|&r| r != run);
                }
                d.reference_run = Some(run);
            }
            d.worker = Some(wf);
        }
        for a in &fwd_args {
            d.call_args.push(self.desc(a, scope));
        }
        for k in &fwd_kwargs {
            d.call_kwargs.push((
                k.arg.as_ref().map(|a| a.as_str().to_string()),
                self.desc(&k.value, scope),
            ));
        }
        let idx = self.f.dispatches.len();
        self.f.dispatches.push(d);
        self.f.functions[self.func].dispatches.push(idx);
        // Visit nested expressions (lambdas in the worker, calls in the arguments).
        self.expr(&c.func, false);
        for a in c.arguments.args.iter() {
            if !matches!(a, Expr::Attribute(_) | Expr::Name(_)) {
                self.expr(a, false);
            }
        }
        for k in c.arguments.keywords.iter() {
            self.expr(&k.value, false);
        }
    }
}

/// A recognised dispatch: the dispatch, the worker expression and the arguments that go to it.
struct Found<'a> {
    d: Dispatch,
    worker: Option<&'a Expr>,
    args: Vec<&'a Expr>,
    kwargs: Vec<&'a ast::Keyword>,
}
