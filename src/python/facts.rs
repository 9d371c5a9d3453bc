//! Per-file orchestration facts, extracted from the [`Model`] in pass 1 (in parallel) and kept
//! in the project index. Everything here is owned and every range is a *document* range (into
//! `Document::text`), so facts outlive the AST and can be combined across files.

use crate::fasthash::HashMap;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::model::{CallRef, FuncId, FuncNode, Model, PoolKind, ScopeId, MODULE_FUNC};
use super::value::{self as eval, Value};
use crate::source::PythonSource;

/// An expression as written, with its static value when known.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprDesc {
    /// Document range.
    pub range: TextRange,
    /// Source text (virtual text of the Python source; magic prefixes removed).
    pub text: String,
    /// Static value, when [`eval`] knows it.
    pub value: Option<Value>,
    /// When the expression is a parameter of the enclosing function: its positional index.
    pub param: Option<usize>,
}

/// A call of `dbutils.notebook.run` (or a reference to it passed as a worker).
#[derive(Debug, Clone)]
pub struct RunCall {
    /// The call (document range); for references, the reference expression.
    pub range: TextRange,
    /// `dbutils.notebook.run` as written (the callee).
    pub callee: TextRange,
    /// Passed by reference (`submit(dbutils.notebook.run, path, 60, args)`): path, timeout and
    /// arguments come from the dispatch's arguments.
    pub by_reference: bool,
    pub path: Option<ExprDesc>,
    pub timeout: Option<ExprDesc>,
    pub arguments: Option<ExprDesc>,
    /// The `arguments` dict literal's values (key text, value), when it is a dict display.
    pub argument_items: Vec<(Option<String>, ExprDesc)>,
    /// When the path is a loop variable: the iterable it takes its values from.
    pub path_domain: Option<ExprDesc>,
    /// The call unpacks `*args` / `**kwargs`: missing arguments may be in there.
    pub has_splat: bool,
    /// The enclosing function.
    pub func: FuncId,
    /// Inside a loop or comprehension of its function.
    pub in_loop: bool,
    /// Inside a lambda, comprehension or nested expression rather than a plain statement of a
    /// function body (for sequences).
    pub statement_level: bool,
}

/// How work is handed to other threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchKind {
    /// `pool.map`, `pool.imap`, `pool.imap_unordered`, `pool.starmap`, `executor.map`, ...
    PoolMap,
    /// `pool.apply_async` / `pool.apply`.
    PoolApply,
    /// `executor.submit`.
    ExecutorSubmit,
    /// `threading.Thread(target=...)` / `multiprocessing.Process(target=...)`.
    Thread,
    /// `Parallel(n_jobs=...)(delayed(f)(x) for x in items)`.
    Joblib,
    /// `loop.run_in_executor(executor, f, ...)`.
    RunInExecutor,
    /// `asyncio.to_thread(f, ...)`.
    ToThread,
}

impl DispatchKind {
    pub fn describe(self) -> &'static str {
        match self {
            DispatchKind::PoolMap => "pool map",
            DispatchKind::PoolApply => "pool apply",
            DispatchKind::ExecutorSubmit => "executor submit",
            DispatchKind::Thread => "thread",
            DispatchKind::Joblib => "joblib Parallel",
            DispatchKind::RunInExecutor => "run_in_executor",
            DispatchKind::ToThread => "asyncio.to_thread",
        }
    }
}

/// How the worker is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerKind {
    /// A named function or method (`run_notebook`, `self._submit`).
    Function,
    Lambda,
    /// `functools.partial(f, ...)`.
    Partial,
    /// A closure returned by a factory call (`run_with_retry(nb)`).
    Closure,
    /// `dbutils.notebook.run` itself.
    NotebookRun,
    /// Something else (a parameter, an unknown expression).
    Other,
}

#[derive(Debug, Clone)]
pub struct WorkerFacts {
    pub expr: ExprDesc,
    pub kind: WorkerKind,
    pub refs: Vec<CallRef>,
}

#[derive(Debug, Clone)]
pub struct PoolFacts {
    pub kind: PoolKind,
    /// The constructor call (document range).
    pub ctor: TextRange,
    /// The size argument, if given.
    pub size: Option<ExprDesc>,
    /// An upper bound of the size (`min(len(x), 8)` is 8).
    pub size_bound: Option<i64>,
}

/// A dispatch of work to a pool, executor or thread.
#[derive(Debug, Clone)]
pub struct Dispatch {
    /// The dispatching call (document range): `pool.map(...)`, `ex.submit(...)`, `Thread(...)`.
    pub range: TextRange,
    pub kind: DispatchKind,
    /// The method called (`map`, `submit`, ...), or `Thread`.
    pub method: String,
    pub pool: Option<PoolFacts>,
    pub worker: Option<WorkerFacts>,
    /// The items: the iterable of a `map`, or the loop / comprehension iterable around a
    /// `submit` / `Thread`.
    pub items: Option<ExprDesc>,
    /// Arguments passed to the worker (after the worker in `submit(f, a, b)`; `args=` of a
    /// thread), and keyword arguments by name.
    pub call_args: Vec<ExprDesc>,
    pub call_kwargs: Vec<(Option<String>, ExprDesc)>,
    pub func: FuncId,
    /// The result (futures, async result) is dropped on the floor.
    pub result_discarded: bool,
    /// Inside a loop of its function.
    pub in_loop: bool,
    /// When the worker is `dbutils.notebook.run` itself: the run (index into
    /// [`FileFacts::runs`]) built from the dispatch's arguments.
    pub reference_run: Option<usize>,
    /// When the worker is a parameter of the enclosing function (a generic "run in parallel"
    /// helper): its positional index. The callers' arguments are the real workers.
    pub worker_param: Option<usize>,
}

/// A `for` / `while` loop or a comprehension (outermost in its function) whose body makes
/// synchronous calls.
#[derive(Debug, Clone)]
pub struct LoopFacts {
    /// `for x in items` header, `while cond`, or the comprehension (document range).
    pub range: TextRange,
    pub kind: LoopKind,
    pub items: Option<ExprDesc>,
    /// The loop target as written (`p`, `(name, params)`).
    pub target: Option<String>,
    pub func: FuncId,
    /// Direct `notebook.run` calls in the body (indices into [`FileFacts::runs`]).
    pub runs: Vec<usize>,
    /// Synchronous calls in the body, with their call ranges.
    pub calls: Vec<(CallRef, TextRange)>,
    /// A retry loop (returns or breaks out of a `try` on success).
    pub retry: bool,
    /// Nested loops inside.
    pub nested: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    For,
    While,
    Comprehension,
}

/// How an `except` handler loses the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwallowKind {
    /// `pass`, `continue`, `...`, or only logging.
    Pass,
    /// The exception becomes a string / return value.
    Stringify,
    /// Retries by calling itself without returning the result.
    RecursionWithoutReturn,
}

#[derive(Debug, Clone)]
pub struct TryFacts {
    /// The handler (`except ...:` line) range.
    pub handler: TextRange,
    pub kind: SwallowKind,
    pub func: FuncId,
    /// Direct runs and synchronous calls in the `try` body.
    pub runs: Vec<usize>,
    pub calls: Vec<(CallRef, TextRange)>,
    /// The `try` body collects fan-out results (`.result()`, `as_completed`, `.get()`, `join`).
    pub collects: bool,
}

/// A call of the Jobs API from code.
#[derive(Debug, Clone)]
pub struct JobsApiCall {
    pub range: TextRange,
    /// `jobs.submit`, `jobs.run_now`, `POST /api/2.1/jobs/runs/submit`, ...
    pub what: String,
}

/// A call passing callables as positional arguments: (callee, call range, [(argument index,
/// what the argument denotes)]).
pub type CallableArgs = (CallRef, TextRange, Vec<(usize, Vec<CallRef>)>);

/// Facts of one function.
#[derive(Debug, Clone)]
pub struct FuncFacts {
    pub name: String,
    pub qualname: String,
    /// Range of the name (defs) or the lambda (document range).
    pub range: TextRange,
    pub is_lambda: bool,
    pub params: Vec<String>,
    pub runs: Vec<usize>,
    /// Synchronous callees with the call range.
    pub calls: Vec<(CallRef, TextRange)>,
    /// Dispatches made by this function.
    pub dispatches: Vec<usize>,
    /// Calls `.result()`, `as_completed`, `wait`, `.get()`, `.join()` or returns its futures.
    pub collects: bool,
    /// Calls that pass callables as positional arguments: (callee, call range,
    /// [(argument index, what the argument denotes)]). Used to follow workers handed to
    /// generic helpers (`run_parallel(run_notebook, paths)`).
    pub callable_args: Vec<CallableArgs>,
}

/// Every orchestration fact of one file.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    /// Functions; index 0 is the module.
    pub functions: Vec<FuncFacts>,
    pub runs: Vec<RunCall>,
    pub dispatches: Vec<Dispatch>,
    pub loops: Vec<LoopFacts>,
    pub tries: Vec<TryFacts>,
    pub jobs_api: Vec<JobsApiCall>,
    /// Top-level names that other files may import or `%run`: functions and `Class.method`.
    pub exports: HashMap<String, FuncId>,
    /// Names re-exported by imports: local name -> qualified imported name.
    pub reexports: HashMap<String, String>,
    /// Imports: (module, level) for module resolution.
    pub imports: Vec<(String, u32)>,
}

impl FileFacts {
    /// Extract the facts of a Python source.
    pub fn extract(py: &PythonSource) -> FileFacts {
        Self::extract_with(py, &[])
    }

    /// Extract the facts, treating calls of the given helpers (fully qualified names such as
    /// `lib.runner.run_notebook`, or the bare name of a `%run`-included function; config
    /// `[orchestration] notebook-runners`) as `dbutils.notebook.run` calls.
    pub fn extract_with(py: &PythonSource, runners: &[String]) -> FileFacts {
        let m = Model::build(py);
        // Kept for the payload evaluation of this source, which would build the model again.
        super::model::dbutils_calls_of(py, Some(&m));
        let mut x = Extractor {
            runners,
            m: &m,
            f: FileFacts::default(),
            func: MODULE_FUNC,
            loop_stack: Vec::new(),
            try_stack: Vec::new(),
            loop_facts: None,
        };
        for func in &m.functions {
            x.f.functions.push(FuncFacts {
                name: func.name.clone(),
                qualname: func.qualname.clone(),
                range: py.to_doc(func.name_range()),
                is_lambda: matches!(func.node, FuncNode::Lambda(_)),
                params: func.params.iter().map(|s| s.to_string()).collect(),
                runs: Vec::new(),
                calls: Vec::new(),
                dispatches: Vec::new(),
                collects: false,
                callable_args: Vec::new(),
            });
        }
        for (i, func) in m.functions.iter().enumerate() {
            if func.top_level && !matches!(func.node, FuncNode::Lambda(_)) && i != MODULE_FUNC {
                x.f.exports.insert(func.qualname.clone(), i);
            }
        }
        // Module-level re-exports.
        if let Some(names) = Some(&m.scopes[0].names) {
            for (name, bids) in names {
                for &b in bids {
                    if let Some(q) = &m.bindings[b].import {
                        x.f.reexports.insert(name.to_string(), q.clone());
                    }
                }
            }
        }
        x.f.imports = m.imports.iter().map(|(q, l, _)| (q.clone(), *l)).collect();
        x.body(&py.module().body);
        for i in 1..m.functions.len() {
            if let FuncNode::Def(d) = m.functions[i].node {
                x.func = i;
                x.body(&d.body);
            }
        }
        x.func = MODULE_FUNC;
        x.f
    }
}

struct LoopCtx<'a> {
    iter: Option<&'a Expr>,
}

struct Extractor<'m, 'a> {
    runners: &'m [String],
    m: &'m Model<'a>,
    f: FileFacts,
    func: FuncId,
    loop_stack: Vec<LoopCtx<'a>>,
    /// Open `try` bodies: index into `tries` of the first handler of each.
    try_stack: Vec<Vec<usize>>,
    /// The outermost open loop's facts.
    loop_facts: Option<LoopFacts>,
}

const POOL_MAP: &[&str] = &[
    "map",
    "map_async",
    "imap",
    "imap_unordered",
    "starmap",
    "starmap_async",
];
const POOL_APPLY: &[&str] = &["apply", "apply_async"];

impl<'a> Extractor<'_, 'a> {
    fn scope(&self, node: &impl Ranged) -> ScopeId {
        self.m.scope_at(node.range().start())
    }

    fn desc(&self, e: &Expr, scope: ScopeId) -> ExprDesc {
        let param = match e {
            Expr::Name(n) => self.m.lookup(scope, n.id.as_str()).iter().find_map(|&b| {
                match self.m.bindings[b].kind {
                    super::model::BindingKind::Param(f, i) if f == self.func => Some(i),
                    _ => None,
                }
            }),
            _ => None,
        };
        ExprDesc {
            range: self.m.py.to_doc(e.range()),
            text: self.m.py.slice(e).to_string(),
            value: self.m.eval(e, scope),
            param,
        }
    }

    fn body(&mut self, body: &'a [Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &'a Stmt) {
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
                    if let Some(kind) = self.swallow_kind(h) {
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

    fn swallow_kind(&self, h: &ast::ExceptHandlerExceptHandler) -> Option<SwallowKind> {
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

    fn mentions_futures(&self, e: &Expr) -> bool {
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

    fn enter_loop(
        &mut self,
        kind: LoopKind,
        header: TextRange,
        iter: Option<&'a Expr>,
        target: Option<&'a Expr>,
        body: &'a [Stmt],
    ) {
        if self.loop_stack.is_empty() {
            self.loop_facts = Some(LoopFacts {
                range: self.m.py.to_doc(header),
                kind,
                items: iter.map(|i| self.desc(i, self.scope(i))),
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

    fn exit_loop(&mut self) {
        self.loop_stack.pop();
        if self.loop_stack.is_empty() {
            if let Some(l) = self.loop_facts.take() {
                if !l.runs.is_empty() || !l.calls.is_empty() {
                    self.f.loops.push(l);
                }
            }
        }
    }

    fn expr_stmt(&mut self, e: &'a Expr) {
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
    fn expr(&mut self, e: &'a Expr, statement_level: bool) {
        match e {
            Expr::Call(c) => self.call(c, statement_level),
            Expr::Lambda(l) => {
                // A lambda's body belongs to the lambda function.
                if let Some(&id) = self.m.func_at.get(&l.range.start()) {
                    let (of, ls, lf) = (
                        self.func,
                        std::mem::take(&mut self.loop_stack),
                        self.loop_facts.take(),
                    );
                    let ts = std::mem::take(&mut self.try_stack);
                    self.func = id;
                    self.expr(&l.body, false);
                    self.func = of;
                    self.loop_stack = ls;
                    self.loop_facts = lf;
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

    fn record_call(&mut self, r: CallRef, range: TextRange) {
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

    fn record_run(&mut self, run: RunCall) -> usize {
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

    fn call(&mut self, c: &'a ast::ExprCall, statement_level: bool) {
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

    fn mark_collects(&mut self) {
        self.f.functions[self.func].collects = true;
        for ids in &self.try_stack {
            for &i in ids {
                self.f.tries[i].collects = true;
            }
        }
    }

    fn walk_args(&mut self, c: &'a ast::ExprCall) {
        for a in c.arguments.args.iter() {
            self.expr(a, false);
        }
        for k in c.arguments.keywords.iter() {
            self.expr(&k.value, false);
        }
    }

    /// The iterable a loop variable takes its values from.
    fn domain(&self, e: &Expr, scope: ScopeId) -> Option<ExprDesc> {
        let Expr::Name(n) = e else { return None };
        let bs = self.m.visible(scope, n.id.as_str(), n.range.start());
        bs.iter().find_map(|&b| match self.m.bindings[b].kind {
            super::model::BindingKind::LoopVar(iter, target) if target.is_name_expr() => {
                Some(self.desc(iter, self.m.bindings[b].scope))
            }
            _ => None,
        })
    }

    fn dict_items(&self, e: &Expr, scope: ScopeId) -> Vec<(Option<String>, ExprDesc)> {
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
                use super::value::Env;
                match self.m.env(scope).lookup(n) {
                    Some(v @ Expr::Dict(_)) => self.dict_items(v, scope),
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }

    /// A `dbutils.notebook.run` passed by reference, with the arguments that will be passed
    /// to it.
    fn run_by_reference(
        &mut self,
        reference: &Expr,
        scope: ScopeId,
        args: &[&'a Expr],
        kwargs: &[&'a ast::Keyword],
    ) -> usize {
        let mut path = args.first().map(|e| self.desc(e, scope));
        let mut timeout = args.get(1).map(|e| self.desc(e, scope));
        let mut arguments_e: Option<&Expr> = args.get(2).copied();
        for k in kwargs {
            match k.arg.as_ref().map(|a| a.as_str()) {
                Some("path") => path = Some(self.desc(&k.value, scope)),
                Some("timeout_seconds") => timeout = Some(self.desc(&k.value, scope)),
                Some("arguments") => arguments_e = Some(&k.value),
                Some(_) => {}
                None => {
                    // `**{"path": ..., "timeout_seconds": ..., "arguments": ...}`
                    if let Expr::Dict(d) = &k.value {
                        for it in &d.items {
                            let Some(key) = &it.key else { continue };
                            match eval::eval_str(key, &self.m.env(scope)).as_deref() {
                                Some("path") => path = Some(self.desc(&it.value, scope)),
                                Some("timeout_seconds") => {
                                    timeout = Some(self.desc(&it.value, scope))
                                }
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
            path,
            timeout,
            arguments: arguments_e.map(|e| self.desc(e, scope)),
            argument_items: arguments_e
                .map(|e| self.dict_items(e, scope))
                .unwrap_or_default(),
            path_domain: None,
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

    fn worker(&mut self, w: &'a Expr, scope: ScopeId) -> WorkerFacts {
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

    fn enclosing_items(&self) -> Option<ExprDesc> {
        self.loop_stack
            .iter()
            .rev()
            .find_map(|l| l.iter)
            .map(|i| self.desc(i, self.scope(i)))
    }

    /// Recognise a dispatch; records it and returns `Some(())`.
    fn dispatch(&mut self, c: &'a ast::ExprCall, scope: ScopeId, crange: TextRange) -> Option<()> {
        let args = &c.arguments;
        let mut d: Option<Dispatch> = None;
        let new = |kind, method: &str| Dispatch {
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
        };
        // Worker plus the arguments that go to it.
        let mut worker_e: Option<&'a Expr> = None;
        let mut fwd_args: Vec<&'a Expr> = Vec::new();
        let mut fwd_kwargs: Vec<&'a ast::Keyword> = Vec::new();
        if let Expr::Attribute(a) = &*c.func {
            let method = a.attr.as_str();
            if let Some(pool) = self.m.pool_of(&a.value, scope) {
                let is_map = POOL_MAP.contains(&method);
                let is_apply = !pool.kind.is_executor() && POOL_APPLY.contains(&method);
                let is_submit = pool.kind.is_executor() && method == "submit";
                if is_map || is_apply || is_submit {
                    let kind = if is_map {
                        DispatchKind::PoolMap
                    } else if is_apply {
                        DispatchKind::PoolApply
                    } else {
                        DispatchKind::ExecutorSubmit
                    };
                    let mut dd = new(kind, method);
                    let size = pool.size();
                    dd.pool = Some(PoolFacts {
                        kind: pool.kind,
                        ctor: self.m.py.to_doc(pool.ctor.range()),
                        size: size.map(|s| self.desc(s, pool.scope)),
                        size_bound: size
                            .and_then(|s| eval::upper_bound(s, &self.m.env(pool.scope))),
                    });
                    worker_e = args.find_argument_value(if is_submit { "fn" } else { "func" }, 0);
                    if is_map {
                        let it = args
                            .find_argument_value("iterable", 1)
                            .or_else(|| args.find_argument_value("iterables", 1));
                        dd.items = it.map(|i| self.desc(i, scope));
                    } else {
                        dd.items = self.enclosing_items();
                        fwd_args = args.args.iter().skip(1).collect();
                        if is_apply {
                            if let Some(Expr::Tuple(t)) = args.find_argument_value("args", 1) {
                                fwd_args = t.elts.iter().collect();
                            }
                        } else {
                            fwd_kwargs = args.keywords.iter().collect();
                        }
                    }
                    d = Some(dd);
                }
            } else if method == "run_in_executor" && self.m.imports_asyncio {
                let mut dd = new(DispatchKind::RunInExecutor, method);
                worker_e = args.args.get(1);
                fwd_args = args.args.iter().skip(2).collect();
                dd.items = self.enclosing_items();
                if let Some(ex) = args.args.first() {
                    if let Some(pool) = self.m.pool_of(ex, scope) {
                        let size = pool.size();
                        dd.pool = Some(PoolFacts {
                            kind: pool.kind,
                            ctor: self.m.py.to_doc(pool.ctor.range()),
                            size: size.map(|s| self.desc(s, pool.scope)),
                            size_bound: size
                                .and_then(|s| eval::upper_bound(s, &self.m.env(pool.scope))),
                        });
                    }
                }
                d = Some(dd);
            }
        }
        if d.is_none() {
            let q = self.m.qualname(&c.func, scope);
            match q.as_deref() {
                Some("threading.Thread" | "multiprocessing.Process") => {
                    let mut dd = new(DispatchKind::Thread, "Thread");
                    worker_e = args.find_argument_value("target", 1);
                    if let Some(Expr::Tuple(t)) = args.find_keyword("args").map(|k| &k.value) {
                        fwd_args = t.elts.iter().collect();
                    }
                    if let Some(Expr::Dict(dct)) = args.find_keyword("kwargs").map(|k| &k.value) {
                        for it in &dct.items {
                            if let Some(k) = &it.key {
                                dd.call_kwargs.push((
                                    eval::eval_str(k, &self.m.env(scope)),
                                    self.desc(&it.value, scope),
                                ));
                            }
                        }
                    }
                    dd.items = self.enclosing_items();
                    d = Some(dd);
                }
                Some("asyncio.to_thread") => {
                    let mut dd = new(DispatchKind::ToThread, "to_thread");
                    worker_e = args.args.first();
                    fwd_args = args.args.iter().skip(1).collect();
                    fwd_kwargs = args.keywords.iter().collect();
                    dd.items = self.enclosing_items();
                    d = Some(dd);
                }
                _ => {}
            }
        }
        // A subclass of `threading.Thread` whose `run` is the worker: `Runner(nb).start()`.
        if d.is_none() {
            if let Some(cl) = self.m.class_of_expr(&c.func, scope) {
                let is_thread = self.m.classes[cl].bases.iter().any(|b| {
                    matches!(
                        self.m.qualname(b, self.m.classes[cl].scope).as_deref(),
                        Some("threading.Thread" | "multiprocessing.Process")
                    )
                });
                if let (true, Some(run)) = (is_thread, self.m.method(cl, "run", 0)) {
                    let mut dd = new(DispatchKind::Thread, "Thread");
                    dd.items = self.enclosing_items();
                    dd.call_args = args.args.iter().map(|a| self.desc(a, scope)).collect();
                    dd.worker = Some(WorkerFacts {
                        expr: self.desc(&c.func, scope),
                        kind: WorkerKind::Function,
                        refs: vec![CallRef::Func(run)],
                    });
                    let idx = self.f.dispatches.len();
                    self.f.dispatches.push(dd);
                    self.f.functions[self.func].dispatches.push(idx);
                    self.walk_args(c);
                    return Some(());
                }
            }
        }
        // joblib: Parallel(n_jobs=N)(delayed(f)(x) for x in items)
        if d.is_none() {
            if let Expr::Call(inner) = &*c.func {
                if self.m.qualname(&inner.func, scope).as_deref() == Some("joblib.Parallel") {
                    let mut dd = new(DispatchKind::Joblib, "Parallel");
                    let size = inner.arguments.find_argument_value("n_jobs", 0);
                    dd.pool = None;
                    if let Some(s) = size {
                        dd.call_kwargs
                            .push((Some("n_jobs".into()), self.desc(s, scope)));
                    }
                    let (elt, gens) = match args.args.first() {
                        Some(Expr::Generator(g)) => (Some(&*g.elt), Some(&g.generators)),
                        Some(Expr::ListComp(g)) => (Some(&*g.elt), Some(&g.generators)),
                        _ => (None, None),
                    };
                    if let Some(Expr::Call(call_d)) = elt {
                        if let Expr::Call(delayed) = &*call_d.func {
                            worker_e = delayed.arguments.args.first();
                            fwd_args = call_d.arguments.args.iter().collect();
                        }
                    }
                    if let Some(g) = gens.and_then(|g| g.first()) {
                        dd.items = Some(self.desc(&g.iter, self.scope(&g.iter)));
                    }
                    d = Some(dd);
                }
            }
        }
        let mut d = d?;
        if let Some(Expr::Name(n)) = worker_e {
            d.worker_param = self
                .m
                .visible(scope, n.id.as_str(), n.range.start())
                .iter()
                .find_map(|&b| match self.m.bindings[b].kind {
                    super::model::BindingKind::Param(f, i) if f == self.func => Some(i),
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
        Some(())
    }

    fn jobs_api(&mut self, c: &'a ast::ExprCall, scope: ScopeId, crange: TextRange) {
        if let Expr::Attribute(a) = &*c.func {
            let method = a.attr.as_str();
            // Launching a run, not defining a job: `jobs.create` / `update` / `reset` in a
            // setup notebook declare a job (what a bundle does), they start nothing.
            if matches!(
                method,
                "submit" | "submit_and_wait" | "run_now" | "run_now_and_wait" | "submit_run"
            ) {
                // w.jobs.submit(...) with w = WorkspaceClient()
                if let Expr::Attribute(jobs) = &*a.value {
                    if jobs.attr.as_str() == "jobs" {
                        if let Some(super::model::Instance::External(q)) =
                            self.m.instance_class(&jobs.value, scope)
                        {
                            if q == "databricks.sdk.WorkspaceClient" {
                                self.f.jobs_api.push(JobsApiCall {
                                    range: crange,
                                    what: format!("WorkspaceClient().jobs.{method}"),
                                });
                                return;
                            }
                        }
                    }
                }
                if let Some(super::model::Instance::External(q)) =
                    self.m.instance_class(&a.value, scope)
                {
                    if q.ends_with("JobsApi") || q.ends_with("JobsAPI") {
                        self.f.jobs_api.push(JobsApiCall {
                            range: crange,
                            what: format!("{}.{method}", q.rsplit('.').next().unwrap_or("")),
                        });
                        return;
                    }
                }
            }
            // REST: requests.post(f"{host}/api/2.1/jobs/runs/submit", ...)
            if matches!(method, "post" | "request" | "get" | "put") {
                let q = self.m.qualname(&a.value, scope);
                let http = matches!(q.as_deref(), Some("requests" | "httpx" | "urllib3"))
                    || self
                        .m
                        .instance_class(&a.value, scope)
                        .is_some_and(|i| matches!(i, super::model::Instance::External(q) if q.starts_with("requests.") || q.starts_with("httpx.")));
                if http {
                    for arg in c
                        .arguments
                        .args
                        .iter()
                        .chain(c.arguments.keywords.iter().map(|k| &k.value))
                    {
                        if let Some(ep) = jobs_endpoint(arg, self.m, scope) {
                            self.f.jobs_api.push(JobsApiCall {
                                range: crange,
                                what: format!("{} {ep}", method.to_ascii_uppercase()),
                            });
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// A Jobs API endpoint mentioned in a URL expression (literal parts of strings / f-strings).
fn jobs_endpoint(e: &Expr, m: &Model<'_>, scope: ScopeId) -> Option<String> {
    let mut text = String::new();
    collect_literal_text(e, m, scope, &mut text, 0);
    let i = text.find("/api/2.")?;
    let rest = &text[i..];
    let j = rest.find("/jobs/")?;
    let ep = &rest[j + 1..];
    let ep: String = ep
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'))
        .collect();
    matches!(ep.as_str(), "jobs/runs/submit" | "jobs/run-now")
        .then(|| format!("{}{}", &rest[..j + 1], ep))
}

fn collect_literal_text(e: &Expr, m: &Model<'_>, scope: ScopeId, out: &mut String, d: u32) {
    if d > 6 {
        return;
    }
    match e {
        Expr::StringLiteral(s) => out.push_str(s.value.to_str()),
        Expr::FString(f) => eval::fstring_parts(f, &mut |part| match part {
            eval::FStringPart::Literal(l) => out.push_str(l),
            eval::FStringPart::Interpolation(i) => {
                collect_literal_text(&i.expression, m, scope, out, d + 1)
            }
        }),
        Expr::BinOp(b) => {
            collect_literal_text(&b.left, m, scope, out, d + 1);
            collect_literal_text(&b.right, m, scope, out, d + 1);
        }
        Expr::Name(n) => {
            use super::value::Env;
            if let Some(v) = m.env(scope).lookup(n) {
                collect_literal_text(v, m, scope, out, d + 1);
            }
        }
        _ => {}
    }
}

fn mentions_name(e: &Expr, name: &str) -> bool {
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

fn is_str(e: &Expr) -> bool {
    matches!(e, Expr::StringLiteral(_) | Expr::FString(_))
}

fn contains_raise(s: &Stmt) -> bool {
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

fn is_retry_body(body: &[Stmt]) -> bool {
    body.iter().any(|s| match s {
        Stmt::Try(t) => t
            .body
            .iter()
            .chain(t.orelse.iter())
            .any(|s| matches!(s, Stmt::Return(_) | Stmt::Break(_))),
        _ => false,
    })
}

fn walk_calls<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a ast::ExprCall)) {
    use ruff_python_ast::visitor::{walk_expr, Visitor};
    struct V<'f, 'a>(&'f mut dyn FnMut(&'a ast::ExprCall));
    impl<'a> Visitor<'a> for V<'_, 'a> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Call(c) = e {
                (self.0)(c);
            }
            walk_expr(self, e);
        }
    }
    V(f).visit_expr(e);
}
