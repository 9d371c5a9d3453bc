//! The semantic model of one Python source (a module, or all Python cells of a notebook in
//! order): scopes and bindings, functions (defs, methods, lambdas), classes, imports, and the
//! resolution of expressions to what they denote:
//!
//! - [`Model::qualname`]: the imported, fully qualified name of an expression
//!   (`cf.ThreadPoolExecutor` with `import concurrent.futures as cf` is
//!   `concurrent.futures.ThreadPoolExecutor`). Pools and executors are recognised from these
//!   names, never from spelling.
//! - [`Model::dbutils_path`]: whether an expression denotes `dbutils` or a part of it, whatever
//!   alias was used (the global, `from databricks.sdk.runtime import dbutils`, `DBUtils(spark)`,
//!   `get_dbutils(spark)`, a parameter that receives it, `self._dbutils`, `params["dbutils"]`).
//! - [`Model::dbutils_call`]: a call resolved to its dbutils path, e.g.
//!   `["jobs", "taskValues", "set"]`.
//! - [`Model::callables`]: the functions a callee or worker expression may denote (defs, methods,
//!   lambdas, `functools.partial`, closures returned by factories, imported or `%run`-included
//!   names, `dbutils.notebook.run` itself).
//! - [`Model::pool_of`]: the pool / executor an expression denotes.
//!
//! The model is flow-insensitive: a name bound several times denotes any of its values (for
//! callables) and has no static value (for [`crate::python::value`]).

use crate::fasthash::HashMap;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::value::{self as eval, Env};
use crate::source::PythonSource;

/// The `dbutils` calls of `py` (range, dotted path), computed once per source: from `model` when
/// it is given and the calls are not known yet, else from a model built for the purpose.
pub fn dbutils_calls_of<'s>(
    py: &'s PythonSource,
    model: Option<&Model<'_>>,
) -> &'s [(TextRange, Vec<String>)] {
    py.dbutils_calls_cache().get_or_init(|| {
        let calls = |m: &Model<'_>| {
            m.dbutils_calls()
                .into_iter()
                .map(|c| (c.call.range(), c.path))
                .collect()
        };
        match model {
            Some(m) => calls(m),
            None => calls(&Model::build(py)),
        }
    })
}

pub type FuncId = usize;
pub type ClassId = usize;
pub type ScopeId = usize;
pub type BindingId = usize;

/// The module pseudo-function: module-level code (all cells of a notebook).
pub const MODULE_FUNC: FuncId = 0;
/// The module scope.
pub const MODULE_SCOPE: ScopeId = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Function(FuncId),
    Class(ClassId),
}

#[derive(Debug)]
pub struct Scope<'a> {
    pub kind: ScopeKind,
    pub parent: Option<ScopeId>,
    /// Virtual range of the scope's code.
    pub range: TextRange,
    pub names: HashMap<&'a str, Vec<BindingId>>,
    /// Names declared `global` here.
    pub globals: Vec<&'a str>,
}

#[derive(Debug, Clone, Copy)]
pub enum BindingKind<'a> {
    Def(FuncId),
    Class(ClassId),
    /// An import; the fully qualified name it binds (`import a.b` binds `a` to `a`;
    /// `from a import b as c` binds `c` to `a.b`; relative imports keep their leading dots).
    Import(&'a str, TextRange),
    Assign(&'a Expr),
    /// Positional index of the parameter of a function (keyword-only parameters come after the
    /// positional ones).
    Param(FuncId, usize),
    /// Loop / comprehension target: (iterable, target).
    LoopVar(&'a Expr, &'a Expr),
    /// `with ctx as name`.
    With(&'a Expr),
    /// Anything else (augmented assignment, unpacking, walrus, except name, ...).
    Other,
}

#[derive(Debug, Clone)]
pub struct Binding<'a> {
    pub name: &'a str,
    pub kind: BindingKind<'a>,
    pub scope: ScopeId,
    pub range: TextRange,
    /// Owned form of an import's qualified name.
    pub import: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum FuncNode<'a> {
    Module,
    Def(&'a ast::StmtFunctionDef),
    Lambda(&'a ast::ExprLambda),
}

#[derive(Debug)]
pub struct Function<'a> {
    pub name: String,
    /// `outer.inner`, `Class.method`, `<lambda>`; `<module>` for the module.
    pub qualname: String,
    pub node: FuncNode<'a>,
    /// The function's own scope (the module scope for the module).
    pub scope: ScopeId,
    pub class: Option<ClassId>,
    pub params: Vec<&'a str>,
    /// `return` values directly in the body (for closures returned by factories).
    pub returns: Vec<&'a Expr>,
    /// Is this a method whose first parameter is the instance (`self`)?
    pub is_method: bool,
    pub top_level: bool,
}

impl Function<'_> {
    /// Virtual range of the name (defs) or the whole node (lambdas).
    pub fn name_range(&self) -> TextRange {
        match self.node {
            FuncNode::Module => TextRange::default(),
            FuncNode::Def(d) => d.name.range(),
            FuncNode::Lambda(l) => l.range(),
        }
    }
}

#[derive(Debug)]
pub struct Class<'a> {
    pub name: String,
    pub node: &'a ast::StmtClassDef,
    pub scope: ScopeId,
    pub methods: HashMap<String, FuncId>,
    /// `self.<attr> = value` assignments in the class's methods: (value, method scope).
    pub attrs: HashMap<String, Vec<(&'a Expr, ScopeId)>>,
    pub bases: Vec<&'a Expr>,
}

/// A call resolved to a `dbutils` API.
#[derive(Debug, Clone)]
pub struct DbutilsCall<'a> {
    /// The attribute path after `dbutils`: `["notebook", "run"]`, `["jobs", "taskValues", "set"]`.
    pub path: Vec<String>,
    pub call: &'a ast::ExprCall,
}

impl DbutilsCall<'_> {
    pub fn is(&self, path: &[&str]) -> bool {
        self.path.len() == path.len() && self.path.iter().zip(path).all(|(a, b)| a == b)
    }
}

/// What a callee or worker expression may denote. Owned, so it can live in project facts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallRef {
    /// A function (def, method, lambda) of this file.
    Func(FuncId),
    /// `dbutils.notebook.run` itself (passed by reference).
    NotebookRun,
    /// A name imported from a module: `from module import name`, `module.name`, also
    /// `Class.method` of an imported class. Resolved to a file of the project by the index.
    External { module: String, name: String },
    /// A free name (not bound in this file): a `%run`-included definition or a builtin.
    Free(String),
}

/// What kind of pool or executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// `multiprocessing.pool.ThreadPool`, `multiprocessing.dummy.Pool`.
    ThreadPool,
    /// `multiprocessing.Pool`, `multiprocessing.pool.Pool`.
    ProcessPool,
    /// `concurrent.futures.ThreadPoolExecutor`.
    ThreadPoolExecutor,
    /// `concurrent.futures.ProcessPoolExecutor`.
    ProcessPoolExecutor,
}

impl PoolKind {
    pub fn from_qualname(q: &str) -> Option<PoolKind> {
        Some(match q {
            "multiprocessing.pool.ThreadPool" | "multiprocessing.dummy.Pool" => {
                PoolKind::ThreadPool
            }
            "multiprocessing.Pool" | "multiprocessing.pool.Pool" => PoolKind::ProcessPool,
            "concurrent.futures.ThreadPoolExecutor"
            | "concurrent.futures.thread.ThreadPoolExecutor" => PoolKind::ThreadPoolExecutor,
            "concurrent.futures.ProcessPoolExecutor"
            | "concurrent.futures.process.ProcessPoolExecutor" => PoolKind::ProcessPoolExecutor,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::ThreadPool => "ThreadPool",
            PoolKind::ProcessPool => "Pool",
            PoolKind::ThreadPoolExecutor => "ThreadPoolExecutor",
            PoolKind::ProcessPoolExecutor => "ProcessPoolExecutor",
        }
    }
    pub fn is_executor(self) -> bool {
        matches!(
            self,
            PoolKind::ThreadPoolExecutor | PoolKind::ProcessPoolExecutor
        )
    }
    /// The keyword of the size argument.
    pub fn size_keyword(self) -> &'static str {
        if self.is_executor() {
            "max_workers"
        } else {
            "processes"
        }
    }
}

/// A pool or executor construction.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    pub kind: PoolKind,
    pub ctor: &'a ast::ExprCall,
    /// Scope of the constructor (to evaluate its size).
    pub scope: ScopeId,
}

impl<'a> Pool<'a> {
    /// The size argument, if given.
    pub fn size(&self) -> Option<&'a Expr> {
        self.ctor
            .arguments
            .find_argument_value(self.kind.size_keyword(), 0)
    }
}

/// The semantic model of one Python source.
pub struct Model<'a> {
    pub py: &'a PythonSource,
    pub scopes: Vec<Scope<'a>>,
    pub bindings: Vec<Binding<'a>>,
    pub functions: Vec<Function<'a>>,
    pub classes: Vec<Class<'a>>,
    /// Function / lambda / class id by the start of its node.
    pub func_at: HashMap<TextSize, FuncId>,
    pub class_at: HashMap<TextSize, ClassId>,
    /// Every call with the scope it is in (for parameter inference).
    calls: Vec<(&'a ast::ExprCall, ScopeId)>,
    /// Parameters (function, positional index) that receive `dbutils` at some call site.
    dbutils_params: crate::fasthash::HashSet<(FuncId, usize)>,
    /// Does the source import `asyncio`?
    pub imports_asyncio: bool,
    /// Imported modules: (qualified module, level, virtual range) of every import statement.
    pub imports: Vec<(String, u32, TextRange)>,
    /// Scopes sorted by start (outer first on ties), for [`Model::scope_at`].
    scope_order: Vec<ScopeId>,
}

const MAX_DEPTH: u32 = 12;

impl<'a> Model<'a> {
    pub fn build(py: &'a PythonSource) -> Model<'a> {
        let module = py.module();
        let mut m = Model {
            py,
            scopes: vec![Scope {
                kind: ScopeKind::Module,
                parent: None,
                range: module.range,
                names: HashMap::default(),
                globals: Vec::new(),
            }],
            bindings: Vec::new(),
            functions: vec![Function {
                name: "<module>".into(),
                qualname: "<module>".into(),
                node: FuncNode::Module,
                scope: MODULE_SCOPE,
                class: None,
                params: Vec::new(),
                returns: Vec::new(),
                is_method: false,
                top_level: true,
            }],
            classes: Vec::new(),
            func_at: HashMap::default(),
            class_at: HashMap::default(),
            calls: Vec::new(),
            dbutils_params: Default::default(),
            imports_asyncio: false,
            imports: Vec::new(),
            scope_order: Vec::new(),
        };
        let mut b = Builder {
            m: &mut m,
            scope: MODULE_SCOPE,
            func: MODULE_FUNC,
            prefix: String::new(),
        };
        b.body(&module.body);
        let mut order: Vec<ScopeId> = (0..m.scopes.len()).collect();
        order.sort_by_key(|&s| {
            let r = m.scopes[s].range;
            (r.start(), std::cmp::Reverse(r.end()), s)
        });
        m.scope_order = order;
        m.infer_dbutils_params();
        m
    }

    // ----- scopes -----

    /// The innermost scope containing a virtual offset (binary search over the scopes sorted
    /// by start, then up the parents: scopes nest).
    pub fn scope_at(&self, offset: TextSize) -> ScopeId {
        let i = self
            .scope_order
            .partition_point(|&s| self.scopes[s].range.start() <= offset);
        if i == 0 {
            return MODULE_SCOPE;
        }
        let mut s = Some(self.scope_order[i - 1]);
        while let Some(id) = s {
            let r = self.scopes[id].range;
            if r.start() <= offset && offset < r.end().max(r.start() + TextSize::new(1)) {
                return id;
            }
            s = self.scopes[id].parent;
        }
        MODULE_SCOPE
    }

    /// The function owning a scope (the nearest enclosing function scope; classes belong to
    /// their enclosing function).
    pub fn func_of_scope(&self, mut scope: ScopeId) -> FuncId {
        loop {
            match self.scopes[scope].kind {
                ScopeKind::Function(f) => return f,
                ScopeKind::Module => return MODULE_FUNC,
                ScopeKind::Class(_) => scope = self.scopes[scope].parent.unwrap_or(MODULE_SCOPE),
            }
        }
    }

    /// The bindings of `name` visible from `scope` (Python's LEGB without builtins; class
    /// scopes are visible only from their own body).
    pub fn lookup(&self, scope: ScopeId, name: &str) -> &[BindingId] {
        let mut s = Some(scope);
        let mut first = true;
        while let Some(id) = s {
            let sc = &self.scopes[id];
            let skip = matches!(sc.kind, ScopeKind::Class(_)) && !first;
            if !skip {
                if sc.globals.contains(&name) {
                    return self.lookup(MODULE_SCOPE, name);
                }
                if let Some(b) = sc.names.get(name) {
                    return b;
                }
            }
            first = false;
            s = sc.parent;
        }
        &[]
    }

    /// The bindings of `name` that may reach a use at `at` in `scope`: when the binding scope
    /// is the use's own scope, the nearest binding before the use (straight-line code);
    /// otherwise the last few bindings (a function sees the module's final state). Keeps
    /// resolution linear on files that rebind one name thousands of times.
    pub fn visible(&self, scope: ScopeId, name: &str, at: TextSize) -> &[BindingId] {
        let all = self.lookup(scope, name);
        if all.len() <= 1 {
            return all;
        }
        let bscope = self.bindings[all[0]].scope;
        if bscope == scope {
            let i = all.partition_point(|&b| self.bindings[b].range.start() <= at);
            if i > 0 {
                return &all[i - 1..i];
            }
        }
        &all[all.len().saturating_sub(8)..]
    }

    fn single(&self, scope: ScopeId, name: &str) -> Option<&Binding<'a>> {
        match self.lookup(scope, name) {
            [one] => Some(&self.bindings[*one]),
            _ => None,
        }
    }

    /// The enclosing class of a scope when the scope is a method (for `self.x`).
    pub fn class_of_method_scope(&self, scope: ScopeId) -> Option<ClassId> {
        let f = self.func_of_scope(scope);
        let func = &self.functions[f];
        if func.is_method {
            return func.class;
        }
        // A lambda or nested def inside a method sees the method's `self`.
        let mut s = self.scopes[func.scope].parent;
        while let Some(id) = s {
            if let ScopeKind::Function(g) = self.scopes[id].kind {
                if self.functions[g].is_method {
                    return self.functions[g].class;
                }
            }
            s = self.scopes[id].parent;
        }
        None
    }

    /// An evaluation environment for expressions in `scope`.
    pub fn env(&self, scope: ScopeId) -> ModelEnv<'_, 'a> {
        ModelEnv { m: self, scope }
    }

    /// Evaluate an expression of `scope` statically.
    pub fn eval(&self, expr: &Expr, scope: ScopeId) -> Option<eval::Value> {
        eval::eval(expr, &self.env(scope))
    }

    // ----- qualified names -----

    /// The fully qualified imported name an expression denotes
    /// (`concurrent.futures.ThreadPoolExecutor`), following simple aliases.
    pub fn qualname(&self, expr: &Expr, scope: ScopeId) -> Option<String> {
        self.qualname_d(expr, scope, 0)
    }

    fn qualname_d(&self, expr: &Expr, scope: ScopeId, d: u32) -> Option<String> {
        if d > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Name(n) => {
                let b = self.single(scope, n.id.as_str())?;
                match b.kind {
                    BindingKind::Import(..) => b.import.clone(),
                    BindingKind::Assign(v) => match v {
                        Expr::Name(_) | Expr::Attribute(_) => self.qualname_d(v, b.scope, d + 1),
                        _ => None,
                    },
                    _ => None,
                }
            }
            Expr::Attribute(a) => {
                let mut name = self.qualname_d(&a.value, scope, d + 1)?;
                name.push('.');
                name.push_str(a.attr.as_str());
                Some(name)
            }
            _ => None,
        }
    }

    // ----- dbutils -----

    /// The dbutils path an expression denotes: `Some([])` for dbutils itself,
    /// `Some(["notebook"])` for `dbutils.notebook`, `None` when it is not dbutils.
    pub fn dbutils_path(&self, expr: &Expr, scope: ScopeId) -> Option<Vec<String>> {
        self.dbutils_d(expr, scope, 0)
    }

    fn dbutils_d(&self, expr: &Expr, scope: ScopeId, d: u32) -> Option<Vec<String>> {
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
    fn self_attr(&self, expr: &Expr, scope: ScopeId) -> Option<Vec<(&'a Expr, ScopeId)>> {
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

    fn infer_dbutils_params(&mut self) {
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

    // ----- pools -----

    /// The pool or executor an expression denotes.
    pub fn pool_of(&self, expr: &'a Expr, scope: ScopeId) -> Option<Pool<'a>> {
        self.pool_d(expr, scope, 0)
    }

    fn pool_d(&self, expr: &'a Expr, scope: ScopeId, d: u32) -> Option<Pool<'a>> {
        if d > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Call(c) => {
                let q = self.qualname(&c.func, scope)?;
                let kind = PoolKind::from_qualname(&q)?;
                Some(Pool {
                    kind,
                    ctor: c,
                    scope,
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

    // ----- callables -----

    /// The functions a callee / worker expression may denote.
    pub fn callables(&self, expr: &Expr, scope: ScopeId) -> Vec<CallRef> {
        let mut out = Vec::new();
        self.callables_d(expr, scope, 0, &mut out);
        out.sort();
        out.dedup();
        out
    }

    fn callables_d(&self, expr: &Expr, scope: ScopeId, d: u32, out: &mut Vec<CallRef>) {
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
                    if let CallRef::Func(f) = f {
                        let func = &self.functions[f];
                        for r in &func.returns {
                            self.callables_d(r, func.scope, d + 1, out);
                        }
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

    fn instance_of(&self, expr: &Expr, scope: ScopeId, d: u32) -> Option<Instance> {
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

/// The class of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    Local(ClassId),
    External(String),
}

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

/// An [`Env`] over the model: names bound exactly once to a value.
pub struct ModelEnv<'m, 'a> {
    m: &'m Model<'a>,
    scope: ScopeId,
}

impl<'x, 'a: 'x> Env<'x> for ModelEnv<'_, 'a> {
    fn lookup(&self, name: &ast::ExprName) -> Option<&'x Expr> {
        let b = self.m.single(self.scope, name.id.as_str())?;
        match b.kind {
            BindingKind::Assign(v) => Some(v),
            _ => None,
        }
    }
}

/// Pass 1: scopes, bindings, functions, classes.
struct Builder<'m, 'a> {
    m: &'m mut Model<'a>,
    scope: ScopeId,
    func: FuncId,
    prefix: String,
}

impl<'a> Builder<'_, 'a> {
    fn bind(&mut self, name: &'a str, kind: BindingKind<'a>, range: TextRange) {
        self.bind_in(self.scope, name, kind, range, None);
    }

    fn bind_in(
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

    fn new_scope(&mut self, kind: ScopeKind, range: TextRange) -> ScopeId {
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

    fn body(&mut self, body: &'a [Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn target(&mut self, t: &'a Expr, kind: BindingKind<'a>) {
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

    fn stmt(&mut self, s: &'a Stmt) {
        match s {
            Stmt::FunctionDef(f) => {
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
                let is_static = f.decorator_list.iter().any(
                    |d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"),
                );
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
            Stmt::ClassDef(c) => {
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
            Stmt::Import(i) => {
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
            Stmt::ImportFrom(i) => {
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

    fn expr(&mut self, e: &'a Expr) {
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

fn destructured(kind: BindingKind<'_>) -> BindingKind<'_> {
    match kind {
        BindingKind::LoopVar(i, t) => BindingKind::LoopVar(i, t),
        _ => BindingKind::Other,
    }
}

fn params_of(p: &ast::Parameters) -> Vec<&str> {
    p.posonlyargs
        .iter()
        .chain(&p.args)
        .chain(&p.kwonlyargs)
        .map(|p| p.parameter.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_of(code: &str) -> (PythonSource, Vec<String>) {
        let py = PythonSource::from_text(code);
        let names = {
            let m = Model::build(&py);
            m.dbutils_calls()
                .iter()
                .map(|c| c.path.join("."))
                .collect::<Vec<_>>()
        };
        (py, names)
    }

    #[test]
    fn dbutils_aliases() {
        let code = r#"
from databricks.sdk.runtime import dbutils as du
from pyspark.dbutils import DBUtils
d2 = DBUtils(spark)
def helper(x, utils):
    utils.notebook.run("a", 0)
helper(1, dbutils)
class R:
    def __init__(self, dbutils):
        self.__dbutils = dbutils
    def go(self):
        self.__dbutils.jobs.taskValues.set("k", 1)
def f(params):
    params["dbutils"].widgets.get("x")
du.notebook.exit("x")
d2.fs.ls("/")
get_dbutils(spark).notebook.run("b", 0)
notebookutils.notebook.run("c", 0)
mssparkutils.notebook.run("d", 0)
"#;
        let (_, names) = model_of(code);
        assert_eq!(
            names,
            vec![
                "notebook.run",
                "jobs.taskValues.set",
                "widgets.get",
                "notebook.exit",
                "fs.ls",
                "notebook.run"
            ]
        );
    }

    #[test]
    fn qualnames_and_pools() {
        let code = "import concurrent.futures as cf\nfrom multiprocessing.pool import ThreadPool as TP\np = TP(4)\nwith cf.ThreadPoolExecutor(max_workers=3) as ex:\n    pass\nq = Pool(3)\n";
        let py = PythonSource::from_text(code);
        let m = Model::build(&py);
        let body = &py.module().body;
        let Stmt::Assign(a) = &body[2] else { panic!() };
        let p = m.pool_of(&a.targets[0], MODULE_SCOPE).unwrap();
        assert_eq!(p.kind, PoolKind::ThreadPool);
        let ex = m
            .lookup(MODULE_SCOPE, "ex")
            .first()
            .map(|&b| m.bindings[b].kind);
        assert!(matches!(ex, Some(BindingKind::With(_))));
        let Stmt::Assign(q) = &body[4] else { panic!() };
        // `Pool` is not imported: not a pool.
        assert!(m.pool_of(&q.targets[0], MODULE_SCOPE).is_none());
    }

    #[test]
    fn callables_partial_factory_method() {
        let code = r#"
import functools
def run(p):
    return dbutils.notebook.run(p, 0)
def factory(nb):
    def inner(x):
        return run(nb)
    return inner
class C:
    def a(self):
        return self.b
    def b(self):
        pass
w1 = functools.partial(run, 1)
w2 = factory("x")
w3 = lambda p: run(p)
"#;
        let py = PythonSource::from_text(code);
        let m = Model::build(&py);
        let get = |name: &str| {
            let b = m.lookup(MODULE_SCOPE, name)[0];
            let BindingKind::Assign(v) = m.bindings[b].kind else {
                panic!()
            };
            m.callables(v, MODULE_SCOPE)
                .into_iter()
                .map(|r| match r {
                    CallRef::Func(f) => m.functions[f].qualname.clone(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(get("w1"), vec!["run"]);
        assert_eq!(get("w2"), vec!["factory.inner"]);
        assert_eq!(get("w3"), vec!["<lambda>"]);
    }
}
