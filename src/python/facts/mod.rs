//! Per-file orchestration facts, extracted from the [`Model`] in pass 1 (in parallel) and kept
//! in the project index. Everything here is owned and every range is a *document* range (into
//! `Document::text`), so facts outlive the AST and can be combined across files.

use crate::fasthash::HashMap;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::python::model::{CallRef, FuncId, FuncNode, Model, PoolKind, ScopeId, MODULE_FUNC};
use crate::python::value::{self as eval, Value};
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
    /// When the path is not one known string: every string it may be through data (a loop
    /// variable over a literal list joined to a literal prefix, a parameter every call of the
    /// file gives a literal); empty when one of them is not known.
    pub path_values: Vec<String>,
    /// When the timeout is not known itself: the known values that reach it through data
    /// (`Child("./a", 0)` read as `child.timeout`, `nb[1]` of a literal list, `step["timeout"]`
    /// of a dict literal, a parameter fed by the calls of the file), where they are written.
    pub timeout_origins: Vec<ExprDesc>,
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
    /// An upper bound of the size (`min(len(x), 8)` is 8; a parameter every call of the file
    /// gives a small literal is bounded by the largest).
    pub size_bound: Option<i64>,
    /// What the size is given as, through data, when it has no bound: `len(tables)` passed to
    /// the parameter that sizes the pool.
    pub size_unbounded: Vec<ExprDesc>,
    /// The size is the driver's CPU count (`os.cpu_count()`, `multiprocessing.cpu_count()`).
    pub size_cpu_count: bool,
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
        Self::extract_opts(py, runners, true)
    }

    /// [`FileFacts::extract_with`]; without `loop_values`, the iterables of loops are described
    /// without their values (`ExprDesc::value` is `None`). Evaluating them can be costly (a
    /// comprehension over `range(n)` of a data generator, a list of 200,000 values kept with
    /// the facts), and they matter only for loops that reach a `notebook.run`, which the project
    /// index knows once it has linked every file: it extracts those files again with the values.
    pub fn extract_opts(py: &PythonSource, runners: &[String], loop_values: bool) -> FileFacts {
        let m = Model::build(py);
        // Kept for the payload evaluation of this source, which would build the model again.
        crate::python::model::dbutils_calls_of(py, Some(&m));
        let mut x = Extractor {
            runners,
            m: &m,
            f: FileFacts::default(),
            func: MODULE_FUNC,
            loop_stack: Vec::new(),
            try_stack: Vec::new(),
            loop_facts: None,
            retry_raises: false,
            loop_iter: None,
            loop_values,
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
                // A factory: the (first) local function it returns, for workers built by
                // `make_worker(...)` in the files that import or `%run` this one.
                let returned = func.returns.iter().find_map(|r| {
                    m.callables(r, func.scope)
                        .into_iter()
                        .find_map(|c| match c {
                            CallRef::Func(g) => Some(g),
                            _ => None,
                        })
                });
                if let Some(g) = returned {
                    x.f.exports.insert(
                        format!("{}{}", func.qualname, crate::python::model::RETURNED),
                        g,
                    );
                }
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

pub(super) struct LoopCtx<'a> {
    iter: Option<&'a Expr>,
}

pub(super) struct Extractor<'m, 'a> {
    runners: &'m [String],
    m: &'m Model<'a>,
    f: FileFacts,
    func: FuncId,
    loop_stack: Vec<LoopCtx<'a>>,
    /// Open `try` bodies: index into `tries` of the first handler of each.
    try_stack: Vec<Vec<usize>>,
    /// The outermost open loop's facts.
    loop_facts: Option<LoopFacts>,
    /// Inside a retry loop that raises once its attempts are spent.
    retry_raises: bool,
    /// The outermost open loop's iterable and its scope, described if the loop is kept.
    loop_iter: Option<(&'a Expr, ScopeId)>,
    /// Evaluate the iterables of loops ([`FileFacts::extract_opts`]).
    loop_values: bool,
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
    pub(super) fn scope(&self, node: &impl Ranged) -> ScopeId {
        self.m.scope_at(node.range().start())
    }

    pub(super) fn desc(&self, e: &Expr, scope: ScopeId) -> ExprDesc {
        let mut d = self.desc_unevaluated(e, scope);
        d.value = self.m.eval(e, scope);
        d
    }

    /// [`Extractor::desc`] without the value.
    pub(super) fn desc_unevaluated(&self, e: &Expr, scope: ScopeId) -> ExprDesc {
        let param = match e {
            Expr::Name(n) => self.m.lookup(scope, n.id.as_str()).iter().find_map(|&b| {
                match self.m.bindings[b].kind {
                    crate::python::model::BindingKind::Param(f, i) if f == self.func => Some(i),
                    _ => None,
                }
            }),
            _ => None,
        };
        ExprDesc {
            range: self.m.py.to_doc(e.range()),
            text: self.m.py.slice(e).to_string(),
            value: None,
            param,
        }
    }

    /// The known values that reach `e` through data (see [`RunCall::timeout_origins`]); empty
    /// when `e` is known itself or nothing is followed.
    pub(super) fn data_origins(&self, e: &'a Expr, scope: ScopeId) -> Vec<ExprDesc> {
        if self.m.eval(e, scope).is_some() {
            return Vec::new();
        }
        let Some(origins) = self.m.origins(e, scope) else {
            return Vec::new();
        };
        origins
            .into_iter()
            .filter(|(o, _)| !std::ptr::eq(*o, e))
            .filter_map(|(o, s)| {
                let d = self.desc(o, s);
                d.value.is_some().then_some(d)
            })
            .collect()
    }

    /// Every string a path may be through data (see [`RunCall::path_values`]).
    pub(super) fn path_values(&self, e: &'a Expr, scope: ScopeId) -> Vec<String> {
        if self.m.eval(e, scope).is_some() {
            return Vec::new();
        }
        // Data that reaches the path as it is (`notebook.path` of `NotebookData("./a", 60)`).
        if let Some(origins) = self.m.origins(e, scope) {
            let strings: Option<Vec<String>> = origins
                .iter()
                .map(|(o, s)| {
                    if std::ptr::eq(*o, e) {
                        return None;
                    }
                    match self.m.eval(o, *s)? {
                        Value::Str(v) => Some(v),
                        _ => None,
                    }
                })
                .collect();
            if let Some(v) = strings.filter(|v| !v.is_empty()) {
                return v;
            }
        }
        self.m
            .values(e, scope)
            .and_then(|vs| {
                vs.into_iter()
                    .map(|v| match v {
                        Value::Str(s) => Some(s),
                        _ => None,
                    })
                    .collect::<Option<Vec<String>>>()
            })
            .unwrap_or_default()
    }

    pub(super) fn body(&mut self, body: &'a [Stmt]) {
        for (i, s) in body.iter().enumerate() {
            // A retry loop that raises once its attempts are spent (`for ... else: raise`, or
            // a raise right after the loop): failures its handlers pass over are retried, not
            // lost.
            let orelse = match s {
                Stmt::For(f) if is_retry_body(&f.body) => Some(&f.orelse),
                Stmt::While(w) if is_retry_body(&w.body) => Some(&w.orelse),
                _ => None,
            };
            match orelse {
                Some(orelse) => {
                    let raises = orelse.iter().any(swallow::contains_raise)
                        || body.get(i + 1).is_some_and(swallow::contains_raise);
                    let old = std::mem::replace(&mut self.retry_raises, raises);
                    self.stmt(s);
                    self.retry_raises = old;
                }
                None => self.stmt(s),
            }
        }
    }
}

pub(super) fn walk_calls<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a ast::ExprCall)) {
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

mod dispatch;
mod jobs;
mod swallow;
mod walk;

use swallow::is_retry_body;
