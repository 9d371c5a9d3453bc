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

use ruff_python_ast::{self as ast, Expr};
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
    /// A local subclass with its own `__init__`: the size it passes to the pool's `__init__`
    /// (`super().__init__(max_workers=width)`, `width` being the constructor's argument) and
    /// the scope to evaluate it in; `Some(None)` when it passes none.
    pub sized_by: Option<Option<(&'a Expr, ScopeId)>>,
}

impl<'a> Pool<'a> {
    /// The size argument, if given.
    pub fn size(&self) -> Option<&'a Expr> {
        match self.sized_by {
            Some(s) => s.map(|(e, _)| e),
            None => self
                .ctor
                .arguments
                .find_argument_value(self.kind.size_keyword(), 0),
        }
    }

    /// The scope [`Pool::size`] is evaluated in.
    pub fn size_scope(&self) -> ScopeId {
        match self.sized_by {
            Some(Some((_, s))) => s,
            _ => self.scope,
        }
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
    /// Call sites by function, built on first use ([`Model::origins`]).
    flow: flow::FlowCache,
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
            flow: Default::default(),
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
}

/// The class of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    Local(ClassId),
    External(String),
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

mod builder;
mod callables;
mod dbutils;
mod flow;
#[cfg(test)]
mod tests;

use builder::Builder;
pub use callables::RETURNED;
pub use flow::Origin;
