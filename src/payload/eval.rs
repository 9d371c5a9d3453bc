//! Static payload evaluation: a small abstract interpreter over the ruff AST of a document that
//! follows literal values (names bound to literals, comprehensions and `range()` over known
//! lists, `.append` loops, `json.dumps`, JSON/YAML files of the repository) far enough to know
//! what `dbutils.jobs.taskValues.set`, `dbutils.notebook.exit` and the widget calls receive.
//!
//! Values coming from Spark (`.collect()`, `toPandas()`, `spark.sql`), files outside the
//! repository or the network are *unbounded*. Everything else that is not known is *dynamic*
//! (no finding is based on it). `dbutils` is resolved through aliases (`tv =
//! dbutils.jobs.taskValues`, `from databricks.sdk.runtime import dbutils`) because the
//! interpreter follows objects as values.
//!
//! The interpreter is bounded: a step budget per document, list and string size caps, and a call
//! depth limit; past them values become dynamic, never wrong.

use crate::fasthash::HashMap;
use std::path::{Path, PathBuf};

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::value::{join, py_dumps, FileRef, Reason, V};
use crate::source::python::PythonSource;

const STEP_BUDGET: u64 = 400_000;
const MAX_LIST: usize = 200_000;
const MAX_STR: usize = 8 * 1024 * 1024;
const MAX_DEPTH: usize = 4;
const MAX_OBSERVATIONS: usize = 64;
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// What a recorded `dbutils` call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    TaskValueSet,
    TaskValueGet,
    NotebookExit,
    WidgetGet,
    /// `getArgument(name, default?)`.
    GetArgument,
    /// `dbutils.widgets.text/dropdown/combobox/multiselect` (the method name).
    WidgetDefine(&'static str),
    /// `dbutils.widgets.getAll()`, `getArgument()` without a name or
    /// `dbutils.notebook.entry_point.getCurrentBindings()`: reads every parameter.
    WidgetGetAll,
}

/// One evaluated argument.
#[derive(Debug, Clone)]
pub struct Arg {
    /// Keyword name, `None` for positional.
    pub name: Option<String>,
    pub value: V,
    /// Document range of the argument expression.
    pub range: TextRange,
    /// The argument is a direct `json.dumps(...)` call.
    pub is_dumps_call: bool,
    /// For a direct `json.dumps(x)` call with one argument: the range of `x`.
    pub dumps_inner: Option<TextRange>,
}

/// A recorded call, with the arguments of every time the interpreter reached it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub kind: CallKind,
    /// Document range of the whole call.
    pub range: TextRange,
    /// Document range of the callee (`dbutils.jobs.taskValues.set`).
    pub func_range: TextRange,
    /// One entry per time the call was reached (capped); each the evaluated arguments.
    pub observations: Vec<Vec<Arg>>,
    /// More observations than kept.
    pub truncated: bool,
    /// Identifies the block (branch) the call is in; calls in the same straight-line block
    /// share it.
    pub block: Vec<u32>,
    /// Reached from module code (not only from a function never called with known arguments).
    pub reached: bool,
}

impl Recorded {
    /// The argument `name` or at `position` of observation `i`.
    pub fn arg(&self, i: usize, name: &str, position: usize) -> Option<&Arg> {
        let obs = self.observations.get(i)?;
        obs.iter()
            .find(|a| a.name.as_deref() == Some(name))
            .or_else(|| obs.iter().filter(|a| a.name.is_none()).nth(position))
    }

    /// The joined value of an argument over every observation.
    pub fn joined(&self, name: &str, position: usize) -> Option<(V, TextRange, bool)> {
        let mut out: Option<(V, TextRange, bool)> = None;
        for i in 0..self.observations.len() {
            if let Some(a) = self.arg(i, name, position) {
                out = Some(match out {
                    None => (a.value.clone(), a.range, a.is_dumps_call),
                    Some((v, r, d)) => (join(v, a.value.clone()), r, d || a.is_dumps_call),
                });
            }
        }
        if self.truncated {
            out = out.map(|(v, r, d)| (join(v, V::unknown()), r, d));
        }
        out
    }

    /// Every distinct value of an argument (when each observation is known).
    pub fn values(&self, name: &str, position: usize) -> Vec<&V> {
        let mut out: Vec<&V> = Vec::new();
        for i in 0..self.observations.len() {
            if let Some(a) = self.arg(i, name, position) {
                if !out.contains(&&a.value) {
                    out.push(&a.value);
                }
            }
        }
        out
    }
}

/// Evaluate a document's Python and return its recorded calls, sorted by position.
pub fn evaluate(py: &PythonSource, doc_path: &Path) -> Vec<Recorded> {
    evaluate_with(py, doc_path, true)
}

/// [`evaluate`], optionally without the semantic model's alias resolution: then only calls the
/// interpreter itself resolves to `dbutils` are recorded (a subset of [`evaluate`]'s, with the
/// same values). For callers that check every payload call was recorded anyway.
pub fn evaluate_with(py: &PythonSource, doc_path: &Path, use_model: bool) -> Vec<Recorded> {
    let mut it = Interp::new(py, doc_path);
    // The semantic model's dbutils alias resolution (parameters that receive dbutils,
    // `self._dbutils`, `get_dbutils()`...) backs up the values the interpreter follows.
    let relevant = [
        "taskValues",
        "task_values",
        "widgets",
        "getArgument",
        "exit",
    ];
    if use_model && relevant.iter().any(|n| py.text.contains(n)) {
        it.dbutils_calls = crate::python::model::dbutils_calls_of(py, None)
            .iter()
            .map(|(r, path)| (*r, canonical_dbutils_path(path)))
            .collect();
    }
    let body = &py.module().body;
    collect_functions(body, &mut it.all_functions);
    it.exec_block(body);
    // Functions never reached with known arguments: analyse them with unknown parameters,
    // with what is left of the budget (at least half of it).
    it.steps = it.steps.min(STEP_BUDGET / 2);
    it.reached = false;
    it.scopes.truncate(1);
    let funcs: Vec<&ast::StmtFunctionDef> = it.all_functions.clone();
    for f in funcs {
        if it.steps >= STEP_BUDGET {
            break;
        }
        if it.executed.contains(&f.range) {
            continue;
        }
        it.scopes.push(HashMap::default());
        it.bind_params_unknown(f);
        it.block.push(u32::from(f.range.start()));
        it.exec_block(&f.body);
        it.block.pop();
        it.scopes.truncate(1);
    }
    let mut out: Vec<Recorded> = it.records.into_values().collect();
    out.sort_by_key(|r| (r.range.start(), r.range.end()));
    out
}

fn collect_functions<'a>(body: &'a [Stmt], out: &mut Vec<&'a ast::StmtFunctionDef>) {
    for s in body {
        match s {
            Stmt::FunctionDef(f) => {
                out.push(f);
                collect_functions(&f.body, out);
            }
            Stmt::ClassDef(c) => collect_functions(&c.body, out),
            Stmt::If(i) => {
                collect_functions(&i.body, out);
                for c in &i.elif_else_clauses {
                    collect_functions(&c.body, out);
                }
            }
            Stmt::Try(t) => {
                collect_functions(&t.body, out);
                for ast::ExceptHandler::ExceptHandler(h) in &t.handlers {
                    collect_functions(&h.body, out);
                }
            }
            Stmt::With(w) => collect_functions(&w.body, out),
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
    Return,
}

struct Interp<'a> {
    py: &'a PythonSource,
    doc_dir: Option<PathBuf>,
    scopes: Vec<HashMap<String, V>>,
    funcs: HashMap<String, &'a ast::StmtFunctionDef>,
    all_functions: Vec<&'a ast::StmtFunctionDef>,
    executed: crate::fasthash::HashSet<TextRange>,
    records: HashMap<TextRange, Recorded>,
    /// Write logs of the branches being evaluated (name, scope index, old value).
    logs: Vec<Vec<(usize, String, Option<V>)>>,
    /// Abstract loops being executed (unknown iteration count): why unbounded, if so.
    abstract_loops: Vec<Option<Reason>>,
    block: Vec<u32>,
    returns: Vec<Option<V>>,
    steps: u64,
    depth: usize,
    reached: bool,
    /// Calls the semantic model resolves to a dbutils API (virtual range -> `dbutils.a.b`).
    dbutils_calls: HashMap<TextRange, String>,
    /// DataFrames created by `.limit(n)` (their origin ranges): collecting them is bounded.
    limited: crate::fasthash::HashSet<TextRange>,
}

impl<'a> Interp<'a> {
    fn new(py: &'a PythonSource, doc_path: &Path) -> Self {
        let mut module = HashMap::default();
        module.insert("__name__".to_string(), V::Str("__main__".into()));
        Interp {
            py,
            doc_dir: doc_path.parent().map(Path::to_path_buf),
            scopes: vec![module],
            funcs: HashMap::default(),
            all_functions: Vec::new(),
            executed: Default::default(),
            records: HashMap::default(),
            logs: Vec::new(),
            abstract_loops: Vec::new(),
            block: Vec::new(),
            returns: Vec::new(),
            steps: 0,
            depth: 0,
            reached: true,
            dbutils_calls: HashMap::default(),
            limited: Default::default(),
        }
    }

    fn r(&self, node: &impl Ranged) -> TextRange {
        self.py.doc_range(node)
    }

    fn tick(&mut self) -> bool {
        self.steps += 1;
        self.steps <= STEP_BUDGET
    }

    // ---- variables -------------------------------------------------------------------------

    fn lookup(&self, name: &str) -> Option<&V> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn set_var(&mut self, name: &str, v: V) {
        let idx = self.scopes.len() - 1;
        let old = self.scopes[idx].insert(name.to_string(), v);
        if let Some(log) = self.logs.last_mut() {
            log.push((idx, name.to_string(), old));
        }
    }

    /// The value of a variable, moved out of its scope when no branch is being logged (the
    /// caller puts the mutated value back with `update_var`), else cloned.
    fn take_var(&mut self, name: &str) -> Option<V> {
        if self.logs.is_empty() {
            let idx = (0..self.scopes.len())
                .rev()
                .find(|&i| self.scopes[i].contains_key(name))?;
            self.scopes[idx]
                .get_mut(name)
                .map(|v| std::mem::replace(v, V::None))
        } else {
            self.lookup(name).cloned()
        }
    }

    /// Replace the value of an existing variable where it lives (for mutations).
    fn update_var(&mut self, name: &str, v: V) {
        let idx = (0..self.scopes.len())
            .rev()
            .find(|&i| self.scopes[i].contains_key(name))
            .unwrap_or(self.scopes.len() - 1);
        let old = self.scopes[idx].insert(name.to_string(), v);
        if let Some(log) = self.logs.last_mut() {
            log.push((idx, name.to_string(), old));
        }
    }

    fn bind_target(&mut self, target: &'a Expr, v: V) {
        match target {
            Expr::Name(n) => self.set_var(n.id.as_str(), v),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                match v {
                    V::List(items) if items.len() == elts.len() => {
                        for (t, it) in elts.iter().zip(items) {
                            self.bind_target(t, it);
                        }
                    }
                    other => {
                        let elem = element_of(&other);
                        for t in elts {
                            self.bind_target(t, elem.clone());
                        }
                    }
                }
            }
            Expr::Subscript(s) => {
                // d[k] = v
                if let Expr::Name(n) = &*s.value {
                    let key = self.eval(&s.slice);
                    let name = n.id.as_str().to_string();
                    if let Some(cur) = self.take_var(&name) {
                        let new = if !self.abstract_loops.is_empty() {
                            self.abstract_mutation(cur, &v)
                        } else {
                            match (cur, key) {
                                (V::Dict(mut items), k) if k.is_known() => {
                                    if let Some(e) = items.iter_mut().find(|(x, _)| *x == k) {
                                        e.1 = v;
                                    } else {
                                        items.push((k, v));
                                    }
                                    V::Dict(items)
                                }
                                (V::List(mut items), V::Int(i)) => {
                                    let len = items.len() as i128;
                                    let i = if i < 0 { i + len } else { i };
                                    if (0..len).contains(&i) {
                                        items[i as usize] = v;
                                        V::List(items)
                                    } else {
                                        V::unknown()
                                    }
                                }
                                (cur, _) => join(cur, V::unknown()),
                            }
                        };
                        self.update_var(&name, new);
                    }
                }
            }
            Expr::Starred(s) => self.bind_target(&s.value, V::unknown()),
            _ => {}
        }
    }

    /// A container mutated inside a loop whose iteration count is unknown.
    fn abstract_mutation(&self, cur: V, added: &V) -> V {
        let unbounded = self
            .abstract_loops
            .iter()
            .rev()
            .find_map(|r| r.clone())
            .or_else(|| added.unbounded_reason().cloned())
            .or_else(|| cur.unbounded_reason().cloned());
        let not_json = added
            .find_not_json()
            .map(|(_, n)| n)
            .or_else(|| cur.find_not_json().map(|(_, n)| n));
        V::Dynamic {
            unbounded,
            not_json,
        }
    }

    fn bind_params_unknown(&mut self, f: &ast::StmtFunctionDef) {
        let p = &f.parameters;
        for a in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
            self.set_var(a.parameter.name.as_str(), V::unknown());
        }
        if let Some(a) = &p.vararg {
            self.set_var(a.name.as_str(), V::unknown());
        }
        if let Some(a) = &p.kwarg {
            self.set_var(a.name.as_str(), V::unknown());
        }
    }

    // ---- statements ------------------------------------------------------------------------

    fn exec_block(&mut self, body: &'a [Stmt]) -> Flow {
        for s in body {
            let f = self.exec(s);
            if f != Flow::Normal {
                return f;
            }
        }
        Flow::Normal
    }

    /// Execute alternative blocks (branches of an `if` whose test is unknown) and join.
    fn exec_alternatives(&mut self, blocks: &[&'a [Stmt]], fallthrough: bool) -> Flow {
        let mut results: Vec<HashMap<(usize, String), Option<V>>> = Vec::new();
        let mut olds: HashMap<(usize, String), Option<V>> = HashMap::default();
        let mut flows = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            self.logs.push(Vec::new());
            self.block.push(i as u32 + 1);
            flows.push(self.exec_block(b));
            self.block.pop();
            let log = self.logs.pop().unwrap_or_default();
            let mut written = HashMap::default();
            // Undo in reverse order, remembering the branch's final values.
            for (idx, name, old) in log.into_iter().rev() {
                let cur = match old.clone() {
                    Some(v) => self
                        .scopes
                        .get_mut(idx)
                        .and_then(|s| s.insert(name.clone(), v)),
                    None => self.scopes.get_mut(idx).and_then(|s| s.remove(&name)),
                };
                written.insert((idx, name.clone()), cur);
                olds.insert((idx, name), old);
            }
            results.push(written);
        }
        // Join: for each written name, the values of every branch (old value where not written).
        let n = blocks.len() + usize::from(fallthrough);
        for (key, old) in &olds {
            let mut acc: Option<V> = None;
            let mut missing = false;
            for i in 0..n {
                let v = results
                    .get(i)
                    .and_then(|w| w.get(key).cloned())
                    .unwrap_or_else(|| old.clone());
                match v {
                    Some(v) => acc = Some(acc.map_or(v.clone(), |a| join(a, v))),
                    None => missing = true,
                }
            }
            if let Some(mut v) = acc {
                if missing {
                    v = join(v.clone(), V::unknown());
                    // A variable bound in only some branches: keep what we know.
                    if let Some(only) = results.iter().find_map(|w| w.get(key).cloned().flatten()) {
                        v = join(only, V::unknown());
                    }
                }
                let (idx, name) = key;
                if let Some(s) = self.scopes.get_mut(*idx) {
                    let old_now = s.insert(name.clone(), v);
                    if let Some(log) = self.logs.last_mut() {
                        log.push((*idx, name.clone(), old_now));
                    }
                }
            }
        }
        if !fallthrough && !flows.is_empty() && flows.iter().all(|f| *f == flows[0]) {
            flows[0]
        } else {
            Flow::Normal
        }
    }

    fn exec(&mut self, s: &'a Stmt) -> Flow {
        if !self.tick() {
            return Flow::Normal;
        }
        match s {
            Stmt::Expr(e) => {
                self.eval(&e.value);
            }
            Stmt::Assign(a) => {
                let v = self.eval(&a.value);
                for t in &a.targets {
                    self.bind_target(t, v.clone());
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.eval(value);
                    self.bind_target(&a.target, v);
                }
            }
            Stmt::AugAssign(a) => {
                let rhs = self.eval(&a.value);
                if let Expr::Name(n) = &*a.target {
                    let cur = self
                        .lookup(n.id.as_str())
                        .cloned()
                        .unwrap_or_else(V::unknown);
                    let new = if !self.abstract_loops.is_empty()
                        && matches!(cur, V::List(_) | V::Str(_) | V::Dict(_))
                    {
                        self.abstract_mutation(cur, &rhs)
                    } else {
                        binop(a.op, cur, rhs)
                    };
                    self.update_var(n.id.as_str(), new);
                } else {
                    self.bind_target(&a.target, V::unknown());
                }
            }
            Stmt::Import(i) => {
                for alias in &i.names {
                    let full = alias.name.as_str();
                    match &alias.asname {
                        Some(a) => self.set_var(a.as_str(), V::Obj(canonical_module(full))),
                        None => {
                            let first = full.split('.').next().unwrap_or(full);
                            self.set_var(first, V::Obj(canonical_module(first)));
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map(|m| m.as_str()).unwrap_or("");
                for alias in &i.names {
                    let name = alias.name.as_str();
                    if name == "*" {
                        continue;
                    }
                    let bound = alias.asname.as_ref().map_or(name, |a| a.as_str());
                    let path = if module.is_empty() {
                        name.to_string()
                    } else {
                        format!("{module}.{name}")
                    };
                    self.set_var(bound, V::Obj(canonical_module(&path)));
                }
            }
            Stmt::FunctionDef(f) => {
                self.funcs.insert(f.name.to_string(), f);
                self.set_var(f.name.as_str(), V::Obj(format!("<function {}>", f.name)));
            }
            Stmt::ClassDef(c) => {
                self.set_var(c.name.as_str(), V::unknown());
            }
            Stmt::Return(r) => {
                let v = r.value.as_ref().map(|e| self.eval(e)).unwrap_or(V::None);
                if let Some(slot) = self.returns.last_mut() {
                    *slot = Some(match slot.take() {
                        Some(prev) => join(prev, v),
                        None => v,
                    });
                }
                return Flow::Return;
            }
            Stmt::If(i) => return self.exec_if(i),
            Stmt::For(f) => return self.exec_for(f),
            Stmt::While(w) => {
                self.eval(&w.test);
                self.abstract_loops.push(None);
                self.exec_alternatives(&[&w.body], true);
                self.abstract_loops.pop();
                self.exec_block(&w.orelse);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    let v = self.eval(&item.context_expr);
                    if let Some(t) = &item.optional_vars {
                        let bound = match v {
                            f @ V::File(_) => f,
                            V::Obj(p) => V::Obj(p),
                            _ => V::unknown(),
                        };
                        self.bind_target(t, bound);
                    }
                }
                return self.exec_block(&w.body);
            }
            Stmt::Try(t) => {
                let f = self.exec_block(&t.body);
                let handlers: Vec<&'a [Stmt]> = t
                    .handlers
                    .iter()
                    .map(|ast::ExceptHandler::ExceptHandler(h)| &h.body[..])
                    .collect();
                if !handlers.is_empty() {
                    for ast::ExceptHandler::ExceptHandler(h) in &t.handlers {
                        if let Some(n) = &h.name {
                            self.set_var(n.as_str(), V::unknown());
                        }
                    }
                    self.exec_alternatives(&handlers, true);
                }
                if f == Flow::Normal {
                    self.exec_block(&t.orelse);
                }
                self.exec_block(&t.finalbody);
                return f;
            }
            Stmt::Match(m) => {
                self.eval(&m.subject);
                let blocks: Vec<&'a [Stmt]> = m.cases.iter().map(|c| &c.body[..]).collect();
                self.exec_alternatives(&blocks, true);
            }
            Stmt::Break(_) => return Flow::Break,
            Stmt::Continue(_) => return Flow::Continue,
            Stmt::Delete(d) => {
                for t in &d.targets {
                    if let Expr::Name(n) = t {
                        self.set_var(n.id.as_str(), V::unknown());
                    }
                }
            }
            Stmt::Assert(a) => {
                self.eval(&a.test);
            }
            Stmt::Raise(_) => return Flow::Return,
            _ => {}
        }
        Flow::Normal
    }

    fn exec_if(&mut self, i: &'a ast::StmtIf) -> Flow {
        let test = self.eval(&i.test).truthy();
        match test {
            Some(true) => return self.exec_block(&i.body),
            Some(false) if i.elif_else_clauses.is_empty() => return Flow::Normal,
            _ => {}
        }
        // Build the list of alternatives, resolving known elif tests.
        let mut blocks: Vec<&'a [Stmt]> = Vec::new();
        if test.is_none() {
            blocks.push(&i.body);
        }
        let mut has_else = false;
        for c in &i.elif_else_clauses {
            match &c.test {
                None => {
                    has_else = true;
                    blocks.push(&c.body);
                    break;
                }
                Some(t) => match self.eval(t).truthy() {
                    Some(true) if blocks.is_empty() => return self.exec_block(&c.body),
                    Some(true) => {
                        has_else = true;
                        blocks.push(&c.body);
                        break;
                    }
                    Some(false) => {}
                    None => blocks.push(&c.body),
                },
            }
        }
        if blocks.is_empty() {
            return Flow::Normal;
        }
        self.exec_alternatives(&blocks, !has_else)
    }

    fn exec_for(&mut self, f: &'a ast::StmtFor) -> Flow {
        let iter = self.eval(&f.iter);
        let items = iterate(&iter);
        match items {
            Some(items) if self.steps < STEP_BUDGET => {
                for it in items {
                    self.bind_target(&f.target, it);
                    match self.exec_block(&f.body) {
                        Flow::Break => return Flow::Normal,
                        Flow::Return => return Flow::Return,
                        _ => {}
                    }
                    if self.steps >= STEP_BUDGET {
                        break;
                    }
                }
                self.exec_block(&f.orelse)
            }
            _ => {
                let reason = iter.unbounded_reason().cloned();
                let elem = element_of(&iter);
                self.bind_target(&f.target, elem);
                self.abstract_loops.push(reason);
                self.exec_alternatives(&[&f.body], true);
                self.abstract_loops.pop();
                self.exec_block(&f.orelse)
            }
        }
    }

    // ---- expressions -----------------------------------------------------------------------

    fn eval(&mut self, e: &'a Expr) -> V {
        if !self.tick() {
            return V::unknown();
        }
        match e {
            Expr::NoneLiteral(_) => V::None,
            Expr::BooleanLiteral(b) => V::Bool(b.value),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => i
                    .as_i64()
                    .map(|x| V::Int(i128::from(x)))
                    .or_else(|| i.to_string().parse::<i128>().ok().map(V::Int))
                    .unwrap_or_else(V::unknown),
                ast::Number::Float(f) => V::Float(*f),
                ast::Number::Complex { .. } => V::not_json("a complex number", self.r(e)),
            },
            Expr::StringLiteral(s) => V::Str(s.value.to_str().to_string()),
            Expr::BytesLiteral(_) => V::not_json("bytes", self.r(e)),
            Expr::FString(f) => self.eval_fstring(f),
            Expr::List(l) => self.eval_seq(&l.elts),
            Expr::Tuple(t) => self.eval_seq(&t.elts),
            Expr::Set(s) => {
                for x in &s.elts {
                    self.eval(x);
                }
                V::not_json("a set", self.r(e))
            }
            Expr::Dict(d) => {
                let mut items = Vec::new();
                for item in &d.items {
                    let v = self.eval(&item.value);
                    match &item.key {
                        Some(k) => {
                            let k = self.eval(k);
                            dict_insert(&mut items, k, v);
                        }
                        None => match v {
                            V::Dict(other) => {
                                for (k, v) in other {
                                    dict_insert(&mut items, k, v);
                                }
                            }
                            other => return join(V::Dict(items), other),
                        },
                    }
                }
                V::Dict(items)
            }
            Expr::Name(n) => self.eval_name(n.id.as_str()),
            Expr::Attribute(a) => {
                let base = self.eval(&a.value);
                let attr = a.attr.as_str();
                match base {
                    V::Obj(p) => V::Obj(canonical_attr(&p, attr)),
                    V::DataFrame(r) => V::DataFrame(r),
                    V::Dynamic { unbounded, .. } => V::Dynamic {
                        unbounded,
                        not_json: None,
                    },
                    _ => V::unknown(),
                }
            }
            Expr::Call(c) => self.eval_call(c),
            Expr::BinOp(b) => {
                let l = self.eval(&b.left);
                let r = self.eval(&b.right);
                binop(b.op, l, r)
            }
            Expr::UnaryOp(u) => {
                let v = self.eval(&u.operand);
                match (u.op, v) {
                    (ast::UnaryOp::USub, V::Int(i)) => V::Int(-i),
                    (ast::UnaryOp::USub, V::Float(f)) => V::Float(-f),
                    (ast::UnaryOp::UAdd, v @ (V::Int(_) | V::Float(_))) => v,
                    (ast::UnaryOp::Not, v) => v.truthy().map_or_else(V::unknown, |b| V::Bool(!b)),
                    _ => V::unknown(),
                }
            }
            Expr::BoolOp(b) => {
                let mut last = V::unknown();
                for (i, x) in b.values.iter().enumerate() {
                    let v = self.eval(x);
                    let t = v.truthy();
                    let is_and = b.op == ast::BoolOp::And;
                    match t {
                        Some(t) if t != is_and => return v,
                        Some(_) => last = v,
                        None => {
                            // Unknown: the result is this or a later value.
                            let mut acc = v;
                            for y in &b.values[i + 1..] {
                                let w = self.eval(y);
                                acc = join(acc, w);
                            }
                            return acc;
                        }
                    }
                }
                last
            }
            Expr::If(i) => {
                let t = self.eval(&i.test).truthy();
                match t {
                    Some(true) => self.eval(&i.body),
                    Some(false) => self.eval(&i.orelse),
                    None => {
                        let a = self.eval(&i.body);
                        let b = self.eval(&i.orelse);
                        join(a, b)
                    }
                }
            }
            Expr::Compare(c) => self.eval_compare(c),
            Expr::Subscript(s) => {
                let v = self.eval(&s.value);
                if let Expr::Slice(sl) = &*s.slice {
                    let lo = sl.lower.as_ref().map(|x| self.eval(x));
                    let hi = sl.upper.as_ref().map(|x| self.eval(x));
                    if sl.step.is_none() {
                        if let V::List(items) = &v {
                            let len = items.len() as i128;
                            let norm = |x: Option<V>, d: i128| -> Option<i128> {
                                match x {
                                    None => Some(d),
                                    Some(V::Int(i)) => {
                                        Some((if i < 0 { i + len } else { i }).clamp(0, len))
                                    }
                                    _ => None,
                                }
                            };
                            if let (Some(a), Some(b)) = (norm(lo, 0), norm(hi, len)) {
                                return V::List(items[a as usize..(b.max(a)) as usize].to_vec());
                            }
                        }
                    }
                    return element_dyn(&v);
                }
                let k = self.eval(&s.slice);
                subscript(&v, &k)
            }
            Expr::ListComp(c) => self.eval_comp(&c.elt, None, &c.generators, false),
            Expr::Generator(c) => self.eval_comp(&c.elt, None, &c.generators, false),
            Expr::SetComp(c) => {
                self.eval_comp(&c.elt, None, &c.generators, false);
                V::not_json("a set", self.r(e))
            }
            Expr::DictComp(c) => self.eval_comp(&c.value, c.key.as_deref(), &c.generators, true),
            Expr::Named(n) => {
                let v = self.eval(&n.value);
                self.bind_target(&n.target, v.clone());
                v
            }
            Expr::Starred(s) => self.eval(&s.value),
            Expr::Lambda(_) => V::Obj("<lambda>".into()),
            Expr::Await(a) => {
                self.eval(&a.value);
                V::unknown()
            }
            _ => V::unknown(),
        }
    }

    fn eval_name(&self, name: &str) -> V {
        if let Some(v) = self.lookup(name) {
            return v.clone();
        }
        match name {
            "dbutils" | "spark" | "sc" | "sqlContext" | "display" | "getArgument" | "open"
            | "range" | "len" | "list" | "tuple" | "dict" | "set" | "frozenset" | "str" | "int"
            | "float" | "bool" | "sorted" | "reversed" | "enumerate" | "zip" | "map" | "filter"
            | "bytes" | "bytearray" | "print" | "min" | "max" | "sum" | "abs" | "round"
            | "repr" => V::Obj(name.to_string()),
            _ => V::unknown(),
        }
    }

    fn eval_seq(&mut self, elts: &'a [Expr]) -> V {
        let mut out = Vec::with_capacity(elts.len());
        for x in elts {
            if let Expr::Starred(s) = x {
                let v = self.eval(&s.value);
                match iterate(&v) {
                    Some(items) => out.extend(items),
                    None => return join(V::List(out), element_dyn(&v)),
                }
            } else {
                out.push(self.eval(x));
            }
        }
        V::List(out)
    }

    fn eval_fstring(&mut self, f: &'a ast::ExprFString) -> V {
        let mut s = String::new();
        let mut known = true;
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => s.push_str(&l.value),
                ast::FStringPart::FString(fs) => {
                    for el in fs.elements.iter() {
                        match el {
                            ast::InterpolatedStringElement::Literal(l) => s.push_str(&l.value),
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                let v = self.eval(&i.expression);
                                match (&v, &i.format_spec, i.conversion) {
                                    (_, None, ast::ConversionFlag::None) => match py_str(&v) {
                                        Some(t) => s.push_str(&t),
                                        None => known = false,
                                    },
                                    _ => known = false,
                                }
                            }
                        }
                    }
                }
            }
        }
        if known {
            V::Str(s)
        } else {
            V::unknown()
        }
    }

    fn eval_compare(&mut self, c: &'a ast::ExprCompare) -> V {
        let mut left = self.eval(&c.left);
        let mut result = Some(true);
        for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
            let r = self.eval(right);
            let this = match op {
                ast::CmpOp::Eq if left.is_known() && r.is_known() => Some(left == r),
                ast::CmpOp::NotEq if left.is_known() && r.is_known() => Some(left != r),
                ast::CmpOp::In | ast::CmpOp::NotIn => {
                    let found = match (&left, &r) {
                        (V::Str(a), V::Str(b)) => Some(b.contains(a.as_str())),
                        (x, V::List(items)) if x.is_known() && items.iter().all(V::is_known) => {
                            Some(items.contains(x))
                        }
                        (x, V::Dict(items)) if x.is_known() => {
                            Some(items.iter().any(|(k, _)| k == x))
                        }
                        _ => None,
                    };
                    if *op == ast::CmpOp::NotIn {
                        found.map(|b| !b)
                    } else {
                        found
                    }
                }
                ast::CmpOp::Lt | ast::CmpOp::LtE | ast::CmpOp::Gt | ast::CmpOp::GtE => {
                    match (&left, &r) {
                        (V::Int(a), V::Int(b)) => Some(match op {
                            ast::CmpOp::Lt => a < b,
                            ast::CmpOp::LtE => a <= b,
                            ast::CmpOp::Gt => a > b,
                            _ => a >= b,
                        }),
                        _ => None,
                    }
                }
                ast::CmpOp::Is | ast::CmpOp::IsNot => match (&left, &r) {
                    (V::None, V::None) => Some(*op == ast::CmpOp::Is),
                    (a, V::None) if a.is_known() => Some(*op == ast::CmpOp::IsNot),
                    _ => None,
                },
                _ => None,
            };
            result = match (result, this) {
                (Some(true), t) => t,
                (Some(false), _) => Some(false),
                (None, Some(false)) => Some(false),
                _ => None,
            };
            left = r;
        }
        result.map_or_else(V::unknown, V::Bool)
    }

    /// Comprehensions: concrete when every iterable is known, else a dynamic value that keeps
    /// unboundedness and non-JSON elements.
    fn eval_comp(
        &mut self,
        elt: &'a Expr,
        key: Option<&'a Expr>,
        gens: &'a [ast::Comprehension],
        is_dict: bool,
    ) -> V {
        self.scopes.push(HashMap::default());
        self.logs.push(Vec::new());
        let mut out_list = Vec::new();
        let mut out_dict = Vec::new();
        let mut exact = true;
        let mut unbounded = None;
        let mut not_json = None;
        self.comp_level(
            elt,
            key,
            gens,
            0,
            is_dict,
            &mut out_list,
            &mut out_dict,
            &mut exact,
            &mut unbounded,
            &mut not_json,
        );
        self.logs.pop();
        self.scopes.pop();
        if exact {
            if is_dict {
                V::Dict(out_dict)
            } else {
                V::List(out_list)
            }
        } else {
            V::Dynamic {
                unbounded,
                not_json,
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn comp_level(
        &mut self,
        elt: &'a Expr,
        key: Option<&'a Expr>,
        gens: &'a [ast::Comprehension],
        level: usize,
        is_dict: bool,
        out_list: &mut Vec<V>,
        out_dict: &mut Vec<(V, V)>,
        exact: &mut bool,
        unbounded: &mut Option<Reason>,
        not_json: &mut Option<super::value::NotJson>,
    ) {
        let Some(g) = gens.get(level) else {
            let v = self.eval(elt);
            if let Some((_, n)) = v.find_not_json() {
                not_json.get_or_insert(n);
            }
            if let Some(r) = v.unbounded_reason() {
                unbounded.get_or_insert(r.clone());
            }
            if is_dict {
                let k = key.map(|k| self.eval(k)).unwrap_or_else(V::unknown);
                if let Some((_, n)) = k.find_not_json() {
                    not_json.get_or_insert(n);
                }
                dict_insert(out_dict, k, v);
            } else {
                out_list.push(v);
            }
            if out_list.len() + out_dict.len() > MAX_LIST {
                *exact = false;
            }
            return;
        };
        let iter = self.eval(&g.iter);
        let items = if *exact { iterate(&iter) } else { None };
        match items {
            Some(items) => {
                for it in items {
                    if self.steps >= STEP_BUDGET {
                        *exact = false;
                        return;
                    }
                    self.bind_target(&g.target, it);
                    let mut keep = Some(true);
                    for cond in &g.ifs {
                        match self.eval(cond).truthy() {
                            Some(true) => {}
                            Some(false) => {
                                keep = Some(false);
                                break;
                            }
                            None => keep = None,
                        }
                    }
                    match keep {
                        Some(false) => continue,
                        Some(true) => {}
                        None => *exact = false,
                    }
                    self.comp_level(
                        elt,
                        key,
                        gens,
                        level + 1,
                        is_dict,
                        out_list,
                        out_dict,
                        exact,
                        unbounded,
                        not_json,
                    );
                }
            }
            None => {
                *exact = false;
                if let Some(r) = iter.unbounded_reason() {
                    unbounded.get_or_insert(r.clone());
                }
                let elem = element_of(&iter);
                self.bind_target(&g.target, elem);
                for cond in &g.ifs {
                    self.eval(cond);
                }
                self.comp_level(
                    elt,
                    key,
                    gens,
                    level + 1,
                    is_dict,
                    out_list,
                    out_dict,
                    exact,
                    unbounded,
                    not_json,
                );
            }
        }
    }

    // ---- calls -----------------------------------------------------------------------------

    fn eval_args(&mut self, args: &'a ast::Arguments) -> Vec<Arg> {
        let mut out = Vec::new();
        for a in args.args.iter() {
            let value = self.eval(a);
            out.push(Arg {
                name: None,
                value,
                range: self.r(a),
                is_dumps_call: is_dumps_call(self, a),
                dumps_inner: dumps_inner(self, a),
            });
        }
        for k in args.keywords.iter() {
            let value = self.eval(&k.value);
            out.push(Arg {
                name: k.arg.as_ref().map(|a| a.to_string()),
                value,
                range: self.r(&k.value),
                is_dumps_call: is_dumps_call(self, &k.value),
                dumps_inner: dumps_inner(self, &k.value),
            });
        }
        out
    }

    fn record(&mut self, kind: CallKind, c: &'a ast::ExprCall, args: Vec<Arg>) {
        let range = self.r(c);
        let func_range = self.r(&*c.func);
        let block = self.block.clone();
        let reached = self.reached;
        let rec = self.records.entry(range).or_insert_with(|| Recorded {
            kind,
            range,
            func_range,
            observations: Vec::new(),
            truncated: false,
            block,
            reached,
        });
        rec.reached |= reached;
        if rec.observations.len() < MAX_OBSERVATIONS {
            rec.observations.push(args);
        } else {
            rec.truncated = true;
        }
    }

    fn eval_call(&mut self, c: &'a ast::ExprCall) -> V {
        let range = self.r(c);
        // Methods on a named receiver may mutate it.
        if let Expr::Attribute(a) = &*c.func {
            if let Expr::Name(n) = &*a.value {
                let name = n.id.as_str();
                let mutating = matches!(
                    a.attr.as_str(),
                    "append"
                        | "extend"
                        | "insert"
                        | "update"
                        | "setdefault"
                        | "pop"
                        | "remove"
                        | "clear"
                        | "add"
                );
                if mutating
                    && matches!(
                        self.lookup(name),
                        Some(V::List(_) | V::Dict(_) | V::Dynamic { .. })
                    )
                {
                    // Arguments first: they may read the container itself.
                    let args = self.eval_args(&c.arguments);
                    if let Some(cur) = self.take_var(name) {
                        let (new, ret) = self.mutate(cur, a.attr.as_str(), &args);
                        self.update_var(name, new);
                        return ret;
                    }
                }
            }
        }
        let mut func = self.eval(&c.func);
        if !matches!(&func, V::Obj(p) if p.starts_with("dbutils.") || p == "getArgument") {
            if let Some(p) = self.dbutils_calls.get(&c.range()) {
                func = V::Obj(p.clone());
            }
        }
        let args = self.eval_args(&c.arguments);
        match func {
            V::Obj(path) => self.call_obj(&path, c, args, range),
            V::DataFrame(r) => {
                // A DataFrame method: the attribute name decides.
                let method = match &*c.func {
                    Expr::Attribute(a) => a.attr.as_str(),
                    _ => "",
                };
                let n_known = matches!(args.first().map(|a| &a.value), Some(V::Int(_)));
                if method == "limit" && n_known {
                    // A bounded number of rows: collecting it is not unbounded.
                    self.limited.insert(range);
                    return V::DataFrame(range);
                }
                if self.limited.contains(&r) && matches!(method, "collect" | "toPandas") {
                    let what = if method == "collect" {
                        "Spark Row objects"
                    } else {
                        "a pandas DataFrame"
                    };
                    return V::not_json(what, range);
                }
                df_method(method, r, range)
            }
            V::Dynamic { unbounded, .. } => {
                let method = match &*c.func {
                    Expr::Attribute(a) => a.attr.as_str(),
                    _ => "",
                };
                match method {
                    "collect" | "toPandas" | "toLocalIterator" => df_method(method, range, range),
                    "isoformat" | "strftime" | "decode" | "upper" | "lower" | "strip" => {
                        V::Dynamic {
                            unbounded,
                            not_json: None,
                        }
                    }
                    _ => V::Dynamic {
                        unbounded,
                        not_json: None,
                    },
                }
            }
            _ => {
                // A method call on a known value.
                if let Expr::Attribute(a) = &*c.func {
                    let recv = self.eval(&a.value);
                    return value_method(&recv, a.attr.as_str(), &args, self.doc_dir.as_deref());
                }
                V::unknown()
            }
        }
    }

    fn mutate(&self, cur: V, method: &str, args: &[Arg]) -> (V, V) {
        let first = args.first().map(|a| a.value.clone()).unwrap_or(V::None);
        if !self.abstract_loops.is_empty() || matches!(cur, V::Dynamic { .. }) {
            let added = match method {
                "extend" | "update" => element_dyn(&first),
                _ => first,
            };
            let new = match cur {
                V::Dynamic {
                    unbounded,
                    not_json,
                } if self.abstract_loops.is_empty() => V::Dynamic {
                    unbounded: unbounded.or_else(|| added.unbounded_reason().cloned()),
                    not_json: not_json.or_else(|| added.find_not_json().map(|(_, n)| n)),
                },
                cur => self.abstract_mutation(cur, &added),
            };
            return (new, V::unknown());
        }
        match (cur, method) {
            (V::List(mut l), "append") if l.len() < MAX_LIST => {
                l.push(first);
                (V::List(l), V::None)
            }
            (V::List(mut l), "extend") => match iterate(&first) {
                Some(items) if l.len() + items.len() <= MAX_LIST => {
                    l.extend(items);
                    (V::List(l), V::None)
                }
                _ => (join(V::List(l), element_dyn(&first)), V::None),
            },
            (V::List(mut l), "insert") => {
                let v = args.get(1).map(|a| a.value.clone()).unwrap_or(V::None);
                match first {
                    V::Int(i) if i >= 0 => {
                        let i = (i as usize).min(l.len());
                        l.insert(i, v);
                        (V::List(l), V::None)
                    }
                    _ => (V::unknown(), V::None),
                }
            }
            (V::List(mut l), "pop") if args.is_empty() => {
                let v = l.pop().unwrap_or_else(V::unknown);
                (V::List(l), v)
            }
            (V::List(mut l), "remove") if first.is_known() => {
                if let Some(i) = l.iter().position(|x| *x == first) {
                    l.remove(i);
                }
                (V::List(l), V::None)
            }
            (V::List(_) | V::Dict(_), "clear") => (
                match method {
                    _ if matches!(first, V::None) => V::List(Vec::new()),
                    _ => V::unknown(),
                },
                V::None,
            ),
            (V::Dict(mut d), "update") => match first {
                V::Dict(other) => {
                    for (k, v) in other {
                        dict_insert(&mut d, k, v);
                    }
                    for a in args.iter().filter(|a| a.name.is_some()) {
                        dict_insert(
                            &mut d,
                            V::Str(a.name.clone().unwrap_or_default()),
                            a.value.clone(),
                        );
                    }
                    (V::Dict(d), V::None)
                }
                V::None if args.iter().all(|a| a.name.is_some()) => {
                    for a in args {
                        dict_insert(
                            &mut d,
                            V::Str(a.name.clone().unwrap_or_default()),
                            a.value.clone(),
                        );
                    }
                    (V::Dict(d), V::None)
                }
                other => (join(V::Dict(d), other), V::None),
            },
            (V::Dict(mut d), "setdefault") if first.is_known() => {
                let v = args.get(1).map(|a| a.value.clone()).unwrap_or(V::None);
                if let Some((_, cur)) = d.iter().find(|(k, _)| *k == first) {
                    let cur = cur.clone();
                    (V::Dict(d), cur)
                } else {
                    dict_insert(&mut d, first, v.clone());
                    (V::Dict(d), v)
                }
            }
            (V::Dict(mut d), "pop") if first.is_known() => {
                let pos = d.iter().position(|(k, _)| *k == first);
                let v = pos
                    .map(|i| d.remove(i).1)
                    .or_else(|| args.get(1).map(|a| a.value.clone()))
                    .unwrap_or_else(V::unknown);
                (V::Dict(d), v)
            }
            (cur, _) => (join(cur, V::unknown()), V::unknown()),
        }
    }

    fn call_local(&mut self, f: &'a ast::StmtFunctionDef, args: &[Arg]) -> V {
        if self.depth >= MAX_DEPTH || self.steps >= STEP_BUDGET {
            return V::unknown();
        }
        self.executed.insert(f.range);
        let mut frame = HashMap::default();
        let p = &f.parameters;
        let positional: Vec<&Arg> = args.iter().filter(|a| a.name.is_none()).collect();
        for (i, pd) in p.posonlyargs.iter().chain(&p.args).enumerate() {
            let name = pd.parameter.name.as_str();
            let v = args
                .iter()
                .find(|a| a.name.as_deref() == Some(name))
                .or_else(|| positional.get(i).copied())
                .map(|a| a.value.clone())
                .or_else(|| pd.default.as_ref().map(|_| V::unknown()));
            frame.insert(name.to_string(), v.unwrap_or_else(V::unknown));
        }
        // Defaults that are literals are evaluated in the caller's scope (good enough).
        for pd in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
            let name = pd.parameter.name.as_str();
            let given = args.iter().any(|a| a.name.as_deref() == Some(name));
            let needs_default = matches!(frame.get(name), None | Some(V::Dynamic { .. }));
            if !given && needs_default {
                if let Some(d) = &pd.default {
                    let idx = p
                        .posonlyargs
                        .iter()
                        .chain(&p.args)
                        .position(|x| x.parameter.name.as_str() == name);
                    if idx.is_none_or(|i| i >= positional.len()) {
                        let v = self.eval(d);
                        frame.insert(name.to_string(), v);
                    }
                }
            }
            if !frame.contains_key(name) {
                let v = args
                    .iter()
                    .find(|a| a.name.as_deref() == Some(name))
                    .map(|a| a.value.clone())
                    .unwrap_or_else(V::unknown);
                frame.insert(name.to_string(), v);
            }
        }
        if let Some(a) = &p.vararg {
            frame.insert(a.name.to_string(), V::unknown());
        }
        if let Some(a) = &p.kwarg {
            frame.insert(a.name.to_string(), V::unknown());
        }
        self.depth += 1;
        self.scopes.push(frame);
        self.returns.push(None);
        self.block.push(u32::from(f.range.start()));
        // Writes to the function's own scope must not leak into an enclosing branch log.
        self.logs.push(Vec::new());
        self.exec_block(&f.body);
        let log = self.logs.pop().unwrap_or_default();
        if let Some(outer) = self.logs.last_mut() {
            let top = self.scopes.len() - 1;
            outer.extend(log.into_iter().filter(|(i, _, _)| *i != top));
        }
        self.block.pop();
        let ret = self.returns.pop().flatten().unwrap_or(V::None);
        self.scopes.pop();
        self.depth -= 1;
        ret
    }

    fn call_obj(
        &mut self,
        path: &str,
        c: &'a ast::ExprCall,
        args: Vec<Arg>,
        range: TextRange,
    ) -> V {
        let first = args
            .iter()
            .find(|a| a.name.is_none())
            .map(|a| a.value.clone());
        let kw = |n: &str| {
            args.iter()
                .find(|a| a.name.as_deref() == Some(n))
                .map(|a| a.value.clone())
        };
        if let Some(name) = path
            .strip_prefix("<function ")
            .and_then(|p| p.strip_suffix('>'))
        {
            if let Some(f) = self.funcs.get(name).copied() {
                return self.call_local(f, &args);
            }
            return V::unknown();
        }
        match path {
            "dbutils.jobs.taskValues.set" => {
                self.record(CallKind::TaskValueSet, c, args);
                V::None
            }
            "dbutils.jobs.taskValues.get" => {
                self.record(CallKind::TaskValueGet, c, args);
                V::unknown()
            }
            "dbutils.notebook.exit" => {
                self.record(CallKind::NotebookExit, c, args);
                V::None
            }
            "dbutils.widgets.get" => {
                self.record(CallKind::WidgetGet, c, args);
                V::unknown()
            }
            "getArgument" | "dbutils.widgets.getArgument" => {
                if args.is_empty() {
                    self.record(CallKind::WidgetGetAll, c, args);
                } else {
                    self.record(CallKind::GetArgument, c, args);
                }
                V::unknown()
            }
            // `dbutils.notebook.entry_point.getCurrentBindings()`: every parameter as a map.
            "dbutils.widgets.getAll" | "dbutils.notebook.entry_point.getCurrentBindings" => {
                self.record(CallKind::WidgetGetAll, c, args);
                V::unknown()
            }
            "dbutils.widgets.text" => {
                self.record(CallKind::WidgetDefine("text"), c, args);
                V::None
            }
            "dbutils.widgets.dropdown" => {
                self.record(CallKind::WidgetDefine("dropdown"), c, args);
                V::None
            }
            "dbutils.widgets.combobox" => {
                self.record(CallKind::WidgetDefine("combobox"), c, args);
                V::None
            }
            "dbutils.widgets.multiselect" => {
                self.record(CallKind::WidgetDefine("multiselect"), c, args);
                V::None
            }
            "dbutils.fs.ls" => V::Dynamic {
                unbounded: Some(Reason {
                    what: "a directory listing (`dbutils.fs.ls`)".into(),
                    range,
                }),
                not_json: Some(super::value::NotJson {
                    what: "FileInfo objects".into(),
                    range,
                }),
            },
            "os.listdir" | "glob.glob" | "os.walk" | "os.scandir" => {
                V::unbounded(format!("a directory listing (`{path}`)"), range)
            }
            "dbutils.fs.head" => V::unbounded("file contents (`dbutils.fs.head`)", range),
            "json.dumps" => {
                let inner = first.unwrap_or_else(V::unknown);
                let compact = matches!(kw("separators"), Some(V::List(ref s)) if s.iter().all(|x| matches!(x, V::Str(t) if !t.contains(' '))));
                let ensure_ascii = !matches!(kw("ensure_ascii"), Some(V::Bool(false)));
                let has_indent = matches!(kw("indent"), Some(ref v) if *v != V::None);
                let default_fn = kw("default").is_some();
                let text = if has_indent || default_fn {
                    None
                } else {
                    py_dumps(&inner, compact, ensure_ascii)
                };
                V::Dumped {
                    inner: Box::new(inner),
                    text,
                    range,
                }
            }
            "json.loads" => match first {
                Some(V::Str(s)) => serde_json::from_str(&s)
                    .map(|v| V::from_json(&v))
                    .unwrap_or_else(|_| V::unknown()),
                Some(V::Dumped { inner, .. }) => *inner,
                Some(other) => element_bound(&other),
                None => V::unknown(),
            },
            "json.load" => load_file(first.as_ref(), FileFormat::Json),
            "yaml.safe_load" | "yaml.load" | "yaml.full_load" | "yaml.unsafe_load" => match first {
                Some(V::Str(s)) => serde_saphyr::from_str::<serde_json::Value>(&s)
                    .map(|v| V::from_json(&v))
                    .unwrap_or_else(|_| V::unknown()),
                other => load_file(other.as_ref(), FileFormat::Yaml),
            },
            "open" | "io.open" | "codecs.open" => V::File(self.resolve_file(first.as_ref(), range)),
            "pathlib.Path" | "pathlib.PurePath" | "os.path.join" => {
                let parts: Option<Vec<String>> = args
                    .iter()
                    .filter(|a| a.name.is_none())
                    .map(|a| a.value.as_str().map(str::to_string))
                    .collect();
                match parts {
                    Some(p) if !p.is_empty() => {
                        let mut pb = PathBuf::new();
                        for x in p {
                            pb.push(x);
                        }
                        V::Str(pb.to_string_lossy().into_owned())
                    }
                    _ => V::unknown(),
                }
            }
            "range" => {
                let ints: Option<Vec<i128>> = args
                    .iter()
                    .map(|a| match a.value {
                        V::Int(i) => Some(i),
                        _ => None,
                    })
                    .collect();
                match ints.as_deref() {
                    Some([n]) => make_range(0, *n, 1),
                    Some([a, b]) => make_range(*a, *b, 1),
                    Some([a, b, s]) => make_range(*a, *b, *s),
                    _ => V::unknown(),
                }
            }
            "len" => match first {
                Some(V::List(l)) => V::Int(l.len() as i128),
                Some(V::Dict(d)) => V::Int(d.len() as i128),
                Some(V::Str(s)) => V::Int(s.chars().count() as i128),
                _ => V::unknown(),
            },
            "list" | "tuple" | "sorted" => match first {
                None => V::List(Vec::new()),
                Some(v) => match iterate(&v) {
                    Some(items) if path == "sorted" => sort_values(items),
                    Some(items) => V::List(items),
                    None => element_bound(&v),
                },
            },
            "reversed" => match first.as_ref().and_then(iterate) {
                Some(mut items) => {
                    items.reverse();
                    V::List(items)
                }
                None => V::unknown(),
            },
            "set" | "frozenset" => V::not_json("a set", range),
            "dict" => {
                let mut d = match first {
                    Some(V::Dict(d)) => d,
                    Some(V::List(pairs)) => {
                        let mut d = Vec::new();
                        for p in pairs {
                            match p {
                                V::List(kv) if kv.len() == 2 => {
                                    let mut it = kv.into_iter();
                                    let k = it.next().unwrap_or(V::None);
                                    let v = it.next().unwrap_or(V::None);
                                    dict_insert(&mut d, k, v);
                                }
                                _ => return V::unknown(),
                            }
                        }
                        d
                    }
                    None => Vec::new(),
                    Some(other) => return element_bound(&other),
                };
                for a in args.iter().filter(|a| a.name.is_some()) {
                    dict_insert(
                        &mut d,
                        V::Str(a.name.clone().unwrap_or_default()),
                        a.value.clone(),
                    );
                }
                V::Dict(d)
            }
            "enumerate" => match first.as_ref().and_then(iterate) {
                Some(items) => V::List(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| V::List(vec![V::Int(i as i128), v]))
                        .collect(),
                ),
                None => element_bound(first.as_ref().unwrap_or(&V::unknown())),
            },
            "zip" => {
                let lists: Option<Vec<Vec<V>>> = args
                    .iter()
                    .filter(|a| a.name.is_none())
                    .map(|a| iterate(&a.value))
                    .collect();
                match lists {
                    Some(ls) if !ls.is_empty() => {
                        let n = ls.iter().map(Vec::len).min().unwrap_or(0);
                        V::List(
                            (0..n)
                                .map(|i| V::List(ls.iter().map(|l| l[i].clone()).collect()))
                                .collect(),
                        )
                    }
                    _ => V::unknown(),
                }
            }
            "str" | "repr" => match first.as_ref().and_then(py_str) {
                Some(s) => V::Str(s),
                None => V::unknown(),
            },
            "int" => match first {
                Some(V::Int(i)) => V::Int(i),
                Some(V::Str(s)) => s
                    .trim()
                    .parse()
                    .map(V::Int)
                    .unwrap_or_else(|_| V::unknown()),
                Some(V::Float(f)) if f.is_finite() => V::Int(f.trunc() as i128),
                _ => V::unknown(),
            },
            "float" => match first {
                Some(V::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                    "nan" | "+nan" | "-nan" => V::Float(f64::NAN),
                    "inf" | "+inf" | "infinity" => V::Float(f64::INFINITY),
                    "-inf" | "-infinity" => V::Float(f64::NEG_INFINITY),
                    t => t.parse().map(V::Float).unwrap_or_else(|_| V::unknown()),
                },
                Some(V::Int(i)) => V::Float(i as f64),
                Some(V::Float(f)) => V::Float(f),
                _ => V::unknown(),
            },
            "bool" => first
                .and_then(|v| v.truthy())
                .map_or_else(V::unknown, V::Bool),
            "bytes" | "bytearray" => V::not_json("bytes", range),
            "decimal.Decimal" => V::not_json("a Decimal", range),
            "datetime.datetime"
            | "datetime.datetime.now"
            | "datetime.datetime.utcnow"
            | "datetime.datetime.today"
            | "datetime.datetime.fromisoformat"
            | "datetime.datetime.strptime"
            | "datetime.datetime.fromtimestamp" => V::not_json("a datetime", range),
            "datetime.date" | "datetime.date.today" | "datetime.date.fromisoformat" => {
                V::not_json("a date", range)
            }
            "datetime.time" => V::not_json("a time", range),
            "datetime.timedelta" => V::not_json("a timedelta", range),
            "uuid.uuid4" | "uuid.UUID" => V::not_json("a UUID", range),
            "pyspark.dbutils.DBUtils" => V::Obj("dbutils".into()),
            "databricks.sdk.WorkspaceClient" => V::Obj("WorkspaceClient".into()),
            p if p.starts_with("spark.") && !p.starts_with("spark.conf") => {
                if p.ends_with(".sparkContext") || p.starts_with("spark.catalog") {
                    V::unknown()
                } else {
                    V::DataFrame(range)
                }
            }
            p if p.starts_with("requests.")
                || p.starts_with("urllib.")
                || p.starts_with("httpx.")
                || p.starts_with("WorkspaceClient.") =>
            {
                V::unbounded(format!("data from the network (`{p}`)"), range)
            }
            p if p.starts_with("pandas.read_") => V::Dynamic {
                unbounded: Some(Reason {
                    what: format!("data read with `{p}`"),
                    range,
                }),
                not_json: Some(super::value::NotJson {
                    what: "a pandas DataFrame".into(),
                    range,
                }),
            },
            "math.nan" | "numpy.nan" | "math.inf" | "numpy.inf" => V::unknown(),
            _ => V::unknown(),
        }
    }

    fn resolve_file(&self, p: Option<&V>, range: TextRange) -> FileRef {
        let Some(s) = p.and_then(V::as_str) else {
            return FileRef::Unknown;
        };
        resolve_repo_file(s, self.doc_dir.as_deref(), range)
    }
}

/// Resolve a literal path used in `open()` against the notebook's directory, then its
/// ancestors up to the repository or bundle root.
pub fn resolve_repo_file(s: &str, doc_dir: Option<&Path>, range: TextRange) -> FileRef {
    if s.contains("://")
        || s.starts_with("/dbfs")
        || s.starts_with("dbfs:")
        || s.starts_with("/Volumes")
        || s.starts_with("/Workspace")
        || s.starts_with("/mnt")
        || s.starts_with("s3:")
        || s.starts_with("abfss:")
    {
        return FileRef::Outside(Reason {
            what: format!("a file outside the repository (`{s}`)"),
            range,
        });
    }
    let p = Path::new(s);
    if p.is_absolute() {
        return FileRef::Outside(Reason {
            what: format!("a file outside the repository (`{s}`)"),
            range,
        });
    }
    let mut dir = doc_dir;
    while let Some(d) = dir {
        let cand = d.join(p);
        if cand.is_file() {
            // A link out of the project is never read (its content could reach the output).
            let boundary = crate::boundary::Boundary::of_paths([d]);
            if let Err(e) = boundary.check(&cand) {
                return FileRef::Outside(Reason {
                    what: format!("a file outside the repository ({e})"),
                    range,
                });
            }
            return FileRef::Repo(cand);
        }
        if d.join(".git").exists() || d.join("databricks.yml").is_file() {
            break;
        }
        dir = d.parent();
    }
    FileRef::Unknown
}

#[derive(Clone, Copy)]
enum FileFormat {
    Json,
    Yaml,
}

fn load_file(f: Option<&V>, fmt: FileFormat) -> V {
    match f {
        Some(V::File(FileRef::Repo(p))) => {
            let Ok(meta) = std::fs::metadata(p) else {
                return V::unknown();
            };
            if meta.len() > MAX_FILE {
                return V::unknown();
            }
            let Ok(text) = std::fs::read_to_string(p) else {
                return V::unknown();
            };
            let parsed: Option<serde_json::Value> = match fmt {
                FileFormat::Json => serde_json::from_str(&text).ok(),
                FileFormat::Yaml => serde_saphyr::from_str(&text).ok(),
            };
            parsed.map(|v| V::from_json(&v)).unwrap_or_else(V::unknown)
        }
        Some(V::File(FileRef::Outside(r))) => V::Dynamic {
            unbounded: Some(r.clone()),
            not_json: None,
        },
        Some(V::Str(s)) if matches!(fmt, FileFormat::Json) => serde_json::from_str(s)
            .map(|v| V::from_json(&v))
            .unwrap_or_else(|_| V::unknown()),
        _ => V::unknown(),
    }
}

fn is_dumps_call(it: &Interp<'_>, e: &Expr) -> bool {
    let Expr::Call(c) = e else { return false };
    match &*c.func {
        Expr::Attribute(a) if a.attr.as_str() == "dumps" => match &*a.value {
            Expr::Name(n) => matches!(it.lookup(n.id.as_str()), Some(V::Obj(p)) if p == "json"),
            _ => false,
        },
        Expr::Name(n) => {
            matches!(it.lookup(n.id.as_str()), Some(V::Obj(p)) if p == "json.dumps")
        }
        _ => false,
    }
}

fn dumps_inner(it: &Interp<'_>, e: &Expr) -> Option<TextRange> {
    if !is_dumps_call(it, e) {
        return None;
    }
    let Expr::Call(c) = e else { return None };
    match (&c.arguments.args[..], c.arguments.keywords.is_empty()) {
        ([x], true) if !x.is_starred_expr() => Some(it.r(x)),
        _ => None,
    }
}

fn canonical_dbutils_path(path: &[String]) -> String {
    let mut out = String::from("dbutils");
    for (i, seg) in path.iter().enumerate() {
        out.push('.');
        if i == 1 && path[0] == "jobs" && seg == "task_values" {
            out.push_str("taskValues");
        } else {
            out.push_str(seg);
        }
    }
    out
}

fn canonical_module(path: &str) -> String {
    match path {
        "databricks.sdk.runtime.dbutils" | "databricks.sdk.runtime.dbutils_stub.dbutils" => {
            "dbutils".into()
        }
        "databricks.sdk.runtime.spark" => "spark".into(),
        "numpy" | "np" => "numpy".into(),
        "pandas" | "pd" => "pandas".into(),
        "pathlib" | "pathlib.Path" => path.into(),
        p => p.into(),
    }
}

fn canonical_attr(base: &str, attr: &str) -> String {
    let attr = match (base, attr) {
        ("dbutils.jobs", "task_values") => "taskValues",
        (_, a) => a,
    };
    if base == "WorkspaceClient" && attr == "dbutils" {
        return "dbutils".into();
    }
    let mut s = String::with_capacity(base.len() + 1 + attr.len());
    s.push_str(base);
    s.push('.');
    s.push_str(attr);
    s
}

fn dict_insert(items: &mut Vec<(V, V)>, k: V, v: V) {
    if k.is_known() {
        if let Some(e) = items.iter_mut().find(|(x, _)| *x == k) {
            e.1 = v;
            return;
        }
    }
    items.push((k, v));
}

fn make_range(a: i128, b: i128, s: i128) -> V {
    if s == 0 {
        return V::unknown();
    }
    let n = if s > 0 {
        (b - a + s - 1).max(0) / s
    } else {
        (a - b - s - 1).max(0) / -s
    };
    if n as usize > MAX_LIST {
        return V::unknown();
    }
    V::List((0..n).map(|i| V::Int(a + i * s)).collect())
}

fn sort_values(mut items: Vec<V>) -> V {
    if items.iter().all(|v| matches!(v, V::Str(_))) {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        V::List(items)
    } else if items.iter().all(|v| matches!(v, V::Int(_))) {
        items.sort_by_key(|v| match v {
            V::Int(i) => *i,
            _ => 0,
        });
        V::List(items)
    } else {
        // Same size whatever the order.
        V::List(items)
    }
}

/// The items of an iterable value when known.
fn iterate(v: &V) -> Option<Vec<V>> {
    match v {
        V::List(items) => Some(items.clone()),
        V::Dict(items) => Some(items.iter().map(|(k, _)| k.clone()).collect()),
        V::Str(s) if s.len() <= 10_000 => Some(s.chars().map(|c| V::Str(c.to_string())).collect()),
        _ => None,
    }
}

/// One element of an iterable that is not known item by item.
fn element_of(v: &V) -> V {
    match v {
        V::Dynamic { not_json, .. } => V::Dynamic {
            unbounded: None,
            not_json: not_json.clone(),
        },
        V::DataFrame(r) => V::not_json("a Spark Row", *r),
        _ => V::unknown(),
    }
}

/// A value derived from `v` that keeps its unboundedness (and non-JSON parts).
fn element_bound(v: &V) -> V {
    V::Dynamic {
        unbounded: v.unbounded_reason().cloned(),
        not_json: v.find_not_json().map(|(_, n)| n),
    }
}

fn element_dyn(v: &V) -> V {
    V::Dynamic {
        unbounded: v.unbounded_reason().cloned(),
        not_json: None,
    }
}

fn subscript(v: &V, k: &V) -> V {
    match (v, k) {
        (V::List(items), V::Int(i)) => {
            let len = items.len() as i128;
            let i = if *i < 0 { i + len } else { *i };
            if (0..len).contains(&i) {
                items[i as usize].clone()
            } else {
                V::unknown()
            }
        }
        (V::Dict(items), k) if k.is_known() => items
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(V::unknown),
        (V::Str(s), V::Int(i)) => {
            let chars: Vec<char> = s.chars().collect();
            let len = chars.len() as i128;
            let i = if *i < 0 { i + len } else { *i };
            if (0..len).contains(&i) {
                V::Str(chars[i as usize].to_string())
            } else {
                V::unknown()
            }
        }
        (V::DataFrame(r), _) => V::DataFrame(*r),
        _ => element_dyn(v),
    }
}

/// Python's `str(v)` for simple known values.
fn py_str(v: &V) -> Option<String> {
    match v {
        V::Str(s) => Some(s.clone()),
        V::Int(i) => Some(i.to_string()),
        V::Float(f) => Some(
            super::value::py_float_repr(*f)
                .replace("Infinity", "inf")
                .replace("NaN", "nan"),
        ),
        V::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        V::None => Some("None".into()),
        V::Dumped { text, .. } => text.clone(),
        _ => None,
    }
}

fn binop(op: ast::Operator, l: V, r: V) -> V {
    use ast::Operator::*;
    match (op, l, r) {
        (Add, V::Int(a), V::Int(b)) => a.checked_add(b).map_or_else(V::unknown, V::Int),
        (Sub, V::Int(a), V::Int(b)) => a.checked_sub(b).map_or_else(V::unknown, V::Int),
        (Mult, V::Int(a), V::Int(b)) => a.checked_mul(b).map_or_else(V::unknown, V::Int),
        (FloorDiv, V::Int(a), V::Int(b)) if b != 0 => V::Int(a.div_euclid(b)),
        (Mod, V::Int(a), V::Int(b)) if b != 0 => V::Int(a.rem_euclid(b)),
        (Pow, V::Int(a), V::Int(b)) if (0..64).contains(&b) => {
            a.checked_pow(b as u32).map_or_else(V::unknown, V::Int)
        }
        (Add, V::Float(a), V::Float(b)) => V::Float(a + b),
        (Mult, V::Float(a), V::Float(b)) => V::Float(a * b),
        (Add, V::Str(a), V::Str(b)) if a.len() + b.len() <= MAX_STR => V::Str(a + &b),
        (Mult, V::Str(s), V::Int(n)) | (Mult, V::Int(n), V::Str(s)) => {
            let n = n.max(0) as usize;
            if s.len().saturating_mul(n) <= MAX_STR {
                V::Str(s.repeat(n))
            } else {
                V::unknown()
            }
        }
        (Add, V::List(mut a), V::List(b)) if a.len() + b.len() <= MAX_LIST => {
            a.extend(b);
            V::List(a)
        }
        (Mult, V::List(l), V::Int(n)) | (Mult, V::Int(n), V::List(l)) => {
            let n = n.max(0) as usize;
            if l.len().saturating_mul(n) <= MAX_LIST {
                let mut out = Vec::with_capacity(l.len() * n);
                for _ in 0..n {
                    out.extend(l.iter().cloned());
                }
                V::List(out)
            } else {
                V::unknown()
            }
        }
        (BitOr, V::Dict(mut a), V::Dict(b)) => {
            for (k, v) in b {
                dict_insert(&mut a, k, v);
            }
            V::Dict(a)
        }
        (Mod, V::Str(_), _) => V::unknown(),
        (_, l, r) => {
            let unbounded = l.unbounded_reason().or(r.unbounded_reason()).cloned();
            V::Dynamic {
                unbounded,
                not_json: None,
            }
        }
    }
}

/// Methods of DataFrames and of values that come from Spark.
fn df_method(method: &str, origin: TextRange, range: TextRange) -> V {
    match method {
        "collect" | "toLocalIterator" => V::Dynamic {
            unbounded: Some(Reason {
                what: "the rows of a DataFrame (`.collect()`)".into(),
                range,
            }),
            not_json: Some(super::value::NotJson {
                what: "Spark Row objects".into(),
                range,
            }),
        },
        "toPandas" => V::Dynamic {
            unbounded: Some(Reason {
                what: "a DataFrame converted with `.toPandas()`".into(),
                range,
            }),
            not_json: Some(super::value::NotJson {
                what: "a pandas DataFrame".into(),
                range,
            }),
        },
        "first" | "head" | "take" | "tail" => V::not_json("Spark Row objects", range),
        "count" => V::unknown(),
        "toJSON" => V::unbounded("the rows of a DataFrame (`.toJSON()`)", range),
        _ => V::DataFrame(origin),
    }
}

/// Methods on known values (strings, dicts, lists, files).
fn value_method(recv: &V, method: &str, args: &[Arg], doc_dir: Option<&Path>) -> V {
    let first = args.first().map(|a| &a.value);
    match (recv, method) {
        (V::File(FileRef::Repo(p)), "read") => std::fs::metadata(p)
            .ok()
            .filter(|m| m.len() <= MAX_FILE)
            .and_then(|_| std::fs::read_to_string(p).ok())
            .map(V::Str)
            .unwrap_or_else(V::unknown),
        (V::File(FileRef::Outside(r)), _) => V::Dynamic {
            unbounded: Some(r.clone()),
            not_json: None,
        },
        (V::Str(p), "read_text") => match resolve_repo_file(p, doc_dir, TextRange::default()) {
            FileRef::Repo(path) => std::fs::metadata(&path)
                .ok()
                .filter(|m| m.len() <= MAX_FILE)
                .and_then(|_| std::fs::read_to_string(&path).ok())
                .map(V::Str)
                .unwrap_or_else(V::unknown),
            FileRef::Outside(r) => V::Dynamic {
                unbounded: Some(r),
                not_json: None,
            },
            FileRef::Unknown => V::unknown(),
        },
        (V::Dict(d), "keys") => V::List(d.iter().map(|(k, _)| k.clone()).collect()),
        (V::Dict(d), "values") => V::List(d.iter().map(|(_, v)| v.clone()).collect()),
        (V::Dict(d), "items") => V::List(
            d.iter()
                .map(|(k, v)| V::List(vec![k.clone(), v.clone()]))
                .collect(),
        ),
        (V::Dict(d), "get") => match first {
            Some(k) if k.is_known() => d
                .iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| v.clone())
                .or_else(|| args.get(1).map(|a| a.value.clone()))
                .unwrap_or(V::None),
            _ => V::unknown(),
        },
        (V::Dict(d), "copy") => V::Dict(d.clone()),
        (V::List(l), "copy") => V::List(l.clone()),
        (V::List(l), "index" | "count") => {
            let _ = l;
            V::unknown()
        }
        (V::Str(s), "join") => match first.and_then(iterate) {
            Some(items) => {
                let parts: Option<Vec<String>> = items
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect();
                parts.map_or_else(V::unknown, |p| V::Str(p.join(s)))
            }
            None => element_dyn(first.unwrap_or(&V::None)),
        },
        (V::Str(s), "split") => {
            let parts: Vec<V> = match first {
                Some(V::Str(sep)) if !sep.is_empty() => {
                    s.split(sep.as_str()).map(|x| V::Str(x.into())).collect()
                }
                None | Some(V::None) => s.split_whitespace().map(|x| V::Str(x.into())).collect(),
                _ => return V::unknown(),
            };
            V::List(parts)
        }
        (V::Str(s), "strip") if first.is_none() => V::Str(s.trim().into()),
        (V::Str(s), "upper") => V::Str(s.to_uppercase()),
        (V::Str(s), "lower") => V::Str(s.to_lowercase()),
        (V::Str(s), "replace") => match (first, args.get(1).map(|a| &a.value)) {
            (Some(V::Str(a)), Some(V::Str(b))) if !a.is_empty() => V::Str(s.replace(a.as_str(), b)),
            _ => V::unknown(),
        },
        (V::Str(s), "encode") => {
            let _ = s;
            V::not_json("bytes", args.first().map(|a| a.range).unwrap_or_default())
        }
        (V::Dumped { .. }, "encode") => V::not_json("bytes", TextRange::default()),
        (V::DataFrame(r), m) => df_method(m, *r, *r),
        (v, _) => element_dyn(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str) -> Vec<Recorded> {
        let py = PythonSource::from_text(code);
        evaluate(&py, Path::new("/nonexistent/nb.py"))
    }

    fn set_value(code: &str) -> V {
        let recs = run(code);
        let r = recs
            .iter()
            .find(|r| r.kind == CallKind::TaskValueSet)
            .expect("a set call");
        r.joined("value", 1).expect("a value").0
    }

    #[test]
    fn literal_list_through_names_and_append() {
        let v = set_value(
            "tables = ['a', 'b']\nout = []\nfor t in tables:\n    out.append({'table': t, 'n': 1})\ndbutils.jobs.taskValues.set(key='objs', value=out)\n",
        );
        assert_eq!(
            v.to_json().unwrap(),
            serde_json::json!([{"table": "a", "n": 1}, {"table": "b", "n": 1}])
        );
    }

    #[test]
    fn comprehension_and_range_and_fstring() {
        let v = set_value(
            "tv = dbutils.jobs.taskValues\nn = 3\ntv.set('days', [f'2024-01-{d:02}' if False else f'd{d}' for d in range(1, n + 1)])\n",
        );
        assert_eq!(v.to_json().unwrap(), serde_json::json!(["d1", "d2", "d3"]));
    }

    #[test]
    fn collect_is_unbounded_and_not_json() {
        let v = set_value(
            "rows = spark.sql('select 1').collect()\ndbutils.jobs.taskValues.set('r', rows)\n",
        );
        assert!(v.unbounded_reason().is_some());
        assert_eq!(v.find_not_json().unwrap().1.what, "Spark Row objects");
        let v = set_value(
            "names = [r.name for r in spark.table('t').collect()]\ndbutils.jobs.taskValues.set('r', names)\n",
        );
        assert!(v.unbounded_reason().is_some());
        assert!(v.find_not_json().is_none());
    }

    #[test]
    fn json_dumps_is_recorded_as_dumped() {
        let recs =
            run("import json\nx = ['a', 'b']\ndbutils.jobs.taskValues.set('k', json.dumps(x))\n");
        let (v, _, direct) = recs[0].joined("value", 1).unwrap();
        assert!(direct);
        match v {
            V::Dumped { text, .. } => assert_eq!(text.as_deref(), Some("[\"a\", \"b\"]")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn not_json_values() {
        let v = set_value("from datetime import datetime\ndbutils.jobs.taskValues.set('k', {'when': datetime.now()})\n");
        assert_eq!(v.find_not_json().unwrap().1.what, "a datetime");
        let v = set_value("dbutils.jobs.taskValues.set('k', {1, 2})\n");
        assert_eq!(v.find_not_json().unwrap().1.what, "a set");
        let v = set_value("dbutils.jobs.taskValues.set('k', [float('nan')])\n");
        assert_eq!(v.find_not_json().unwrap().1.what, "NaN");
    }

    #[test]
    fn limited_collect_is_bounded() {
        let v = set_value(
            "rows = [r.asDict() for r in spark.table('t').limit(50).select('a').collect()]\ndbutils.jobs.taskValues.set('r', rows)\n",
        );
        assert!(v.unbounded_reason().is_none(), "{v:?}");
        let v =
            set_value("dbutils.jobs.taskValues.set('r', spark.table('t').limit(5).collect())\n");
        assert!(v.unbounded_reason().is_none());
        assert_eq!(v.find_not_json().unwrap().1.what, "Spark Row objects");
    }

    #[test]
    fn unknown_branch_joins() {
        let v =
            set_value("x = [1]\nif cond:\n    x = [1, 2]\ndbutils.jobs.taskValues.set('k', x)\n");
        assert!(!v.is_known());
        let v =
            set_value("x = [1]\nif True:\n    x = [1, 2]\ndbutils.jobs.taskValues.set('k', x)\n");
        assert_eq!(v.to_json().unwrap(), serde_json::json!([1, 2]));
    }

    #[test]
    fn functions_are_followed() {
        let v = set_value(
            "def build(n, prefix='t'):\n    return [prefix + str(i) for i in range(n)]\n\ndef main():\n    dbutils.jobs.taskValues.set('k', build(2))\n\nif __name__ == '__main__':\n    main()\n",
        );
        assert_eq!(v.to_json().unwrap(), serde_json::json!(["t0", "t1"]));
        // Never called: analysed with unknown parameters.
        let recs = run("def f(x):\n    dbutils.jobs.taskValues.set('k', x)\n");
        assert_eq!(recs.len(), 1);
        assert!(!recs[0].reached);
    }

    #[test]
    fn dbutils_passed_as_parameter_is_resolved_by_the_model() {
        let recs = run(
            "class Job:\n    def __init__(self, dbutils):\n        self._dbutils = dbutils\n\n    def publish(self, items):\n        self._dbutils.jobs.taskValues.set('items', items)\n\nJob(dbutils).publish(['a'])\n",
        );
        assert_eq!(recs.len(), 1, "{recs:?}");
        assert_eq!(recs[0].kind, CallKind::TaskValueSet);
    }

    #[test]
    fn large_append_loops_are_evaluated_exactly() {
        // 20,000 appends: exact, and fast because the list is not copied per append.
        let t = std::time::Instant::now();
        let v = set_value(
            "o = []\nfor i in range(20000):\n    o.append({'t': 'x'})\ndbutils.jobs.taskValues.set('k', o)\n",
        );
        assert_eq!(v.size().exact, Some(2 + 20000 * 9 + 19999));
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn widgets_are_recorded() {
        let recs = run(
            "w = dbutils.widgets\nw.text('a', '')\nx = w.get('a')\ny = getArgument('b', 'd')\n",
        );
        let kinds: Vec<_> = recs.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            vec![
                CallKind::WidgetDefine("text"),
                CallKind::WidgetGet,
                CallKind::GetArgument
            ]
        );
    }

    #[test]
    fn loop_with_unknown_iterations_is_dynamic() {
        let v = set_value("out = []\nfor r in df.collect():\n    out.append(r.x)\ndbutils.jobs.taskValues.set('k', out)\n");
        // df is unknown here, so collect on it is still recognised as unbounded.
        assert!(v.unbounded_reason().is_some(), "{v:?}");
        let v = set_value(
            "out = []\nwhile more():\n    out.append(1)\ndbutils.jobs.taskValues.set('k', out)\n",
        );
        assert!(!v.is_known());
        assert!(v.unbounded_reason().is_none());
    }
}
