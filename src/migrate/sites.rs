//! Migration sites: what `check` knows about the fan-outs of one notebook.
//!
//! The planner does not look for fan-outs itself. Its candidates are exactly the fan-outs of
//! [`crate::project::fanout::fan_outs`] (what ORC001 and ORC002 report), and the calls it
//! follows are the `dbutils.notebook.run` calls, dispatches and pool constructors of the same
//! file's facts ([`crate::python::facts::FileFacts`]), identified by their document ranges.

use std::collections::{HashMap, HashSet};

use ruff_text_size::TextRange;
use serde_json::Value;

use crate::python::facts::FileFacts;
use crate::python::fanout::{self, DispatchKind, FanOut, FanOutKind, WorkerKind};
use crate::python::model::CallRef;
use crate::source::Document;

/// The facts of one notebook the planner works from.
#[derive(Debug, Default)]
pub struct Facts {
    /// Every fan-out `check` reports in this notebook (retry loops are not fan-outs).
    pub sites: Vec<SiteFact>,
    /// Document ranges of the `dbutils.notebook.run(...)` calls of this file.
    pub run_calls: HashSet<TextRange>,
    /// Document ranges of `dbutils.notebook.run` as written (callees and references passed
    /// as workers).
    pub run_callees: HashSet<TextRange>,
    /// Document ranges of the dispatch calls of this file (`pool.map(...)`, `ex.submit(...)`).
    pub dispatches: HashSet<TextRange>,
    /// Document ranges of the pool and executor constructors of this file.
    pub pool_ctors: HashSet<TextRange>,
    /// Straight-line `dbutils.notebook.run` calls of static notebooks at the notebook's top
    /// level, in order, when there are two or more (what ORC003 reports).
    pub sequence: Vec<TextRange>,
}

impl Facts {
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty() && self.sequence.is_empty()
    }
}

/// One fan-out as `check` describes it, with what the planner needs besides.
#[derive(Debug, Clone)]
pub struct SiteFact {
    pub fan_out: FanOut,
    /// What it is, for messages (`pool map (`map`)`, `for loop`).
    pub what: String,
    /// When the fan-out is inside a function of this notebook: the document range of the
    /// function's name, and the module-level calls of that function.
    pub holder: Option<(TextRange, Vec<TextRange>)>,
    /// A `map` whose worker (and its `notebook.run`) is in another file.
    pub external: Option<ExternalWorker>,
}

/// A worker defined in another file, as the semantic model describes its `notebook.run`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalWorker {
    /// The static notebook path.
    pub child: String,
    pub timeout: Option<i64>,
    /// `arguments` entries: a literal value, or `None` for the worker's item parameter.
    pub params: Vec<(String, Option<String>)>,
    /// The static items, when known.
    pub items: Option<Vec<Value>>,
    /// The items expression as written at the dispatch.
    pub items_text: String,
    pub pool_size: Option<i64>,
}

/// The facts of `doc` in `project`.
pub fn facts_of(project: &crate::project::Project, doc: &Document) -> Facts {
    let mut out = Facts::default();
    let file = crate::project::fanout::doc_facts(project, doc);
    if let Some((_, ff)) = file {
        collect_ranges(ff, &mut out);
        out.sequence = sequence(ff);
    }
    for f in crate::project::fanout::fan_outs(project, doc) {
        if f.retry || *f.path != *doc.path {
            continue;
        }
        let what = match f.kind {
            FanOutKind::Dispatch(_) => format!("{} (`{}`)", f.kind.describe(), f.method),
            k => k.describe().to_string(),
        };
        let holder = file.and_then(|(_, ff)| holder_of(ff, f.func));
        let external = external_worker(&f, doc);
        out.sites.push(SiteFact {
            fan_out: f,
            what,
            holder,
            external,
        });
    }
    out
}

/// The module-level runs of ORC003: outside loops, not passed by reference, static paths.
fn sequence(ff: &FileFacts) -> Vec<TextRange> {
    let runs: Vec<TextRange> = ff
        .runs
        .iter()
        .filter(|r| {
            r.func == crate::python::model::MODULE_FUNC
                && !r.in_loop
                && !r.by_reference
                && r.path
                    .as_ref()
                    .and_then(|p| p.value.as_ref())
                    .is_some_and(|v| v.as_str().is_some())
        })
        .map(|r| r.range)
        .collect();
    if runs.len() < 2 {
        return Vec::new();
    }
    let mut runs = runs;
    runs.sort_by_key(|r| r.start());
    runs
}

fn collect_ranges(ff: &FileFacts, out: &mut Facts) {
    for r in &ff.runs {
        if r.by_reference {
            out.run_callees.insert(r.range);
        } else {
            out.run_calls.insert(r.range);
            out.run_callees.insert(r.callee);
        }
    }
    for d in &ff.dispatches {
        out.dispatches.insert(d.range);
        if let Some(p) = &d.pool {
            out.pool_ctors.insert(p.ctor);
        }
    }
}

/// The function (other than the module) holding a fan-out: its name's range and the
/// module-level calls of it.
fn holder_of(ff: &FileFacts, func: usize) -> Option<(TextRange, Vec<TextRange>)> {
    if func == crate::python::model::MODULE_FUNC {
        return None;
    }
    let f = ff.functions.get(func)?;
    let module = ff.functions.get(crate::python::model::MODULE_FUNC)?;
    let calls = module
        .calls
        .iter()
        .filter(|(r, _)| *r == CallRef::Func(func))
        .map(|(_, range)| *range)
        .collect();
    Some((f.range, calls))
}

/// What the semantic model knows about a `map` whose worker (and its `notebook.run`) is in
/// another file: enough to plan a For Each when the path is static and every argument is a
/// literal or the item itself.
fn external_worker(f: &FanOut, doc: &Document) -> Option<ExternalWorker> {
    if f.kind != FanOutKind::Dispatch(DispatchKind::PoolMap)
        || f.worker.as_ref()?.kind != WorkerKind::Function
        || f.runs.is_empty()
        || f.runs
            .iter()
            .any(|r| *r.path == *doc.path || r.call.by_reference)
    {
        return None;
    }
    let first = &f.runs[0].call;
    let key = |c: &fanout::RunCall| {
        (
            c.path.as_ref().map(|p| p.text.clone()),
            c.timeout.as_ref().map(|p| p.text.clone()),
            c.argument_items
                .iter()
                .map(|(k, v)| (k.clone(), v.text.clone()))
                .collect::<Vec<_>>(),
        )
    };
    if f.runs.iter().any(|r| key(&r.call) != key(first)) {
        return None;
    }
    let child = first.path.as_ref()?.value.as_ref()?.as_str()?.to_string();
    let timeout = match &first.timeout {
        None => None,
        Some(t) => match t.value.as_ref()?.to_json()? {
            Value::Number(n) => n.as_i64(),
            _ => return None,
        },
    };
    if first.arguments.is_some() && first.argument_items.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    for (k, v) in &first.argument_items {
        let k = k.clone()?;
        if v.param == Some(0) {
            params.push((k, None));
        } else {
            let val = v.value.as_ref()?.to_json()?;
            params.push((k, Some(super::sym::py_str(&val)?)));
        }
    }
    let items = f.items.as_ref()?;
    let static_items = items
        .value
        .as_ref()
        .and_then(|v| v.to_json())
        .and_then(|v| v.as_array().cloned());
    Some(ExternalWorker {
        child,
        timeout,
        params,
        items: static_items,
        items_text: items.text.clone(),
        pool_size: f.pool.as_ref().and_then(|p| p.size_bound),
    })
}

/// Document ranges of the syntax nodes of a Python source, to find the node a fact names.
pub struct Nodes<'a> {
    pub calls: HashMap<TextRange, &'a ruff_python_ast::ExprCall>,
    /// Loop and comprehension iterables (first generator) by their document range:
    /// (target, iterable).
    pub iters: HashMap<TextRange, (&'a ruff_python_ast::Expr, &'a ruff_python_ast::Expr)>,
    /// List comprehensions by document range.
    pub comps: HashMap<TextRange, &'a ruff_python_ast::ExprListComp>,
    /// The bodies of `for` loops by the document range of their iterable.
    pub for_bodies: HashMap<TextRange, &'a [ruff_python_ast::Stmt]>,
}

impl<'a> Nodes<'a> {
    pub fn new(py: &'a crate::source::PythonSource) -> Self {
        use ruff_python_ast::visitor::Visitor;
        let mut v = NodeVisitor {
            py,
            nodes: Nodes {
                calls: HashMap::new(),
                iters: HashMap::new(),
                comps: HashMap::new(),
                for_bodies: HashMap::new(),
            },
        };
        for s in &py.module().body {
            v.visit_stmt(s);
        }
        v.nodes
    }
}

struct NodeVisitor<'a> {
    py: &'a crate::source::PythonSource,
    nodes: Nodes<'a>,
}

impl<'a> ruff_python_ast::visitor::Visitor<'a> for NodeVisitor<'a> {
    fn visit_stmt(&mut self, stmt: &'a ruff_python_ast::Stmt) {
        if let ruff_python_ast::Stmt::For(f) = stmt {
            let r = self.py.doc_range(&*f.iter);
            self.nodes.iters.insert(r, (&f.target, &f.iter));
            self.nodes.for_bodies.insert(r, &f.body);
        }
        ruff_python_ast::visitor::walk_stmt(self, stmt);
    }
    fn visit_expr(&mut self, expr: &'a ruff_python_ast::Expr) {
        use ruff_python_ast::Expr;
        match expr {
            Expr::Call(c) => {
                self.nodes.calls.insert(self.py.doc_range(c), c);
            }
            Expr::ListComp(c) => {
                self.nodes.comps.insert(self.py.doc_range(c), c);
            }
            _ => {}
        }
        let generators = match expr {
            Expr::ListComp(c) => Some(&c.generators),
            Expr::SetComp(c) => Some(&c.generators),
            Expr::Generator(c) => Some(&c.generators),
            Expr::DictComp(c) => Some(&c.generators),
            _ => None,
        };
        if let Some(g) = generators.and_then(|g| g.first()) {
            self.nodes
                .iters
                .insert(self.py.doc_range(&g.iter), (&g.target, &g.iter));
        }
        ruff_python_ast::visitor::walk_expr(self, expr);
    }
}
