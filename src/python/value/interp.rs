//! The interpreter's state and entry points: a small abstract interpreter over the ruff AST of
//! a document that follows values (names bound to literals, comprehensions and `range()` over
//! known lists, `.append` loops, `json.dumps`, JSON/YAML files of the repository) far enough to
//! know what `dbutils.jobs.taskValues.set`, `dbutils.notebook.exit` and the widget calls
//! receive, and what any watched expression evaluates to.
//!
//! Values coming from Spark (`.collect()`, `toPandas()`, `spark.sql`), files outside the
//! repository or the network are *unbounded*. Everything else that is not known is *dynamic*
//! (no finding is based on it). `dbutils` is resolved through aliases (`tv =
//! dbutils.jobs.taskValues`, `from databricks.sdk.runtime import dbutils`) because the
//! interpreter follows objects as values.
//!
//! The interpreter is bounded: a step budget per document, list and string size caps, and a call
//! depth limit; past them values become dynamic, never wrong.

use std::path::{Path, PathBuf};

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::builtins::{dict_insert, element_of, index_value};
use super::json::join;
use super::record::{Arg, CallKind, Recorded, MAX_OBSERVATIONS};
use super::syntax::Env;
use super::{Reason, Value};
use crate::fasthash::{HashMap, HashSet};
use crate::source::python::PythonSource;

/// Steps (statements and expressions evaluated) per run.
pub(super) const STEP_BUDGET: u64 = 400_000;
/// Depth of calls into local functions.
pub(super) const MAX_DEPTH: usize = 4;
/// Evaluate a document's Python and return its recorded calls, sorted by position.
pub fn evaluate(py: &PythonSource, doc_path: &Path) -> Vec<Recorded> {
    evaluate_with(py, doc_path, true)
}

/// [`evaluate`], optionally without the semantic model's alias resolution: then only calls the
/// interpreter itself resolves to `dbutils` are recorded (a subset of [`evaluate`]'s, with the
/// same values). For callers that check every payload call was recorded anyway.
pub fn evaluate_with(py: &PythonSource, doc_path: &Path, use_model: bool) -> Vec<Recorded> {
    let mut it = Interp::for_document(py, doc_path);
    if use_model {
        it.resolve_dbutils_with_model();
    }
    it.run_document();
    let mut out: Vec<Recorded> = it.records.into_values().collect();
    out.sort_by_key(|r| (r.range.start(), r.range.end()));
    out
}

/// Run a document and return the value of each expression of `watch` (given by its range in
/// the document's Python source, as `expr.range()` gives it), joined over every time it is
/// evaluated; `None` for an expression never reached. For callers that ask "what does this
/// expression (a list, a path, a timeout) hold in this notebook", with assignments, loops and
/// `.append` calls followed.
pub fn values_at(py: &PythonSource, doc_path: &Path, watch: &[TextRange]) -> Vec<Option<Value>> {
    let mut it = Interp::for_document(py, doc_path);
    it.watch = watch.iter().map(|r| (*r, None)).collect();
    it.run_document();
    watch
        .iter()
        .map(|r| it.watch.get(r).cloned().flatten())
        .collect()
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
pub(super) enum Flow {
    Normal,
    Break,
    Continue,
    Return,
}

pub(super) struct Interp<'a, 'e> {
    /// The document being run; `None` in literal evaluation (ranges are then the AST's).
    pub(super) py: Option<&'a PythonSource>,
    /// Where names no statement bound are looked up (literal evaluation).
    pub(super) env: Option<&'e dyn Env<'a>>,
    /// Names being resolved through `env` (a bound on chains and cycles of bindings).
    pub(super) env_depth: u32,
    pub(super) doc_dir: Option<PathBuf>,
    pub(super) scopes: Vec<HashMap<String, Value>>,
    pub(super) funcs: HashMap<String, &'a ast::StmtFunctionDef>,
    pub(super) all_functions: Vec<&'a ast::StmtFunctionDef>,
    pub(super) executed: HashSet<TextRange>,
    pub(super) records: HashMap<TextRange, Recorded>,
    /// Write logs of the branches being evaluated (name, scope index, old value).
    pub(super) logs: Vec<Vec<(usize, String, Option<Value>)>>,
    /// Abstract loops being executed (unknown iteration count): why unbounded, if so.
    pub(super) abstract_loops: Vec<Option<Reason>>,
    pub(super) block: Vec<u32>,
    pub(super) returns: Vec<Option<Value>>,
    pub(super) steps: u64,
    pub(super) depth: usize,
    pub(super) reached: bool,
    /// Calls the semantic model resolves to a dbutils API (virtual range -> `dbutils.a.b`).
    pub(super) dbutils_calls: HashMap<TextRange, String>,
    /// DataFrames created by `.limit(n)` (their origin ranges): collecting them is bounded.
    pub(super) limited: HashSet<TextRange>,
    /// Expressions whose values are observed (AST range -> joined value so far).
    pub(super) watch: HashMap<TextRange, Option<Value>>,
}

impl<'a, 'e> Interp<'a, 'e> {
    fn new(py: Option<&'a PythonSource>, doc_dir: Option<PathBuf>) -> Self {
        Interp {
            py,
            env: None,
            env_depth: 0,
            doc_dir,
            scopes: vec![HashMap::default()],
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
            watch: HashMap::default(),
        }
    }

    /// An interpreter for a whole document (module code is `__main__`).
    fn for_document(py: &'a PythonSource, doc_path: &Path) -> Self {
        let mut it = Interp::new(Some(py), doc_path.parent().map(Path::to_path_buf));
        it.scopes[0].insert("__name__".to_string(), Value::Str("__main__".into()));
        it
    }

    /// An interpreter that runs no statement: names are resolved through `env` alone.
    pub(super) fn literal(env: &'e dyn Env<'a>) -> Self {
        let mut it = Interp::new(None, None);
        it.env = Some(env);
        it
    }

    /// The semantic model's dbutils alias resolution (parameters that receive dbutils,
    /// `self._dbutils`, `get_dbutils()`...) backs up the values the interpreter follows.
    fn resolve_dbutils_with_model(&mut self) {
        let Some(py) = self.py else { return };
        let relevant = [
            "taskValues",
            "task_values",
            "widgets",
            "getArgument",
            "exit",
        ];
        if relevant.iter().any(|n| py.text.contains(n)) {
            self.dbutils_calls = crate::python::model::dbutils_calls_of(py, None)
                .iter()
                .map(|(r, path)| (*r, canonical_dbutils_path(path)))
                .collect();
        }
    }

    /// Run module code, then the functions never reached with known arguments (with unknown
    /// parameters, on what is left of the budget: at least half of it).
    fn run_document(&mut self) {
        let Some(py) = self.py else { return };
        let body = &py.module().body;
        collect_functions(body, &mut self.all_functions);
        self.exec_block(body);
        self.steps = self.steps.min(STEP_BUDGET / 2);
        self.reached = false;
        self.scopes.truncate(1);
        let funcs: Vec<&ast::StmtFunctionDef> = self.all_functions.clone();
        for f in funcs {
            if self.steps >= STEP_BUDGET {
                break;
            }
            if self.executed.contains(&f.range) {
                continue;
            }
            self.scopes.push(HashMap::default());
            self.bind_params_unknown(f);
            self.block.push(u32::from(f.range.start()));
            self.exec_block(&f.body);
            self.block.pop();
            self.scopes.truncate(1);
        }
    }

    /// The document range of a node (its own range in literal evaluation).
    pub(super) fn r(&self, node: &impl Ranged) -> TextRange {
        match self.py {
            Some(py) => py.doc_range(node),
            None => node.range(),
        }
    }

    pub(super) fn tick(&mut self) -> bool {
        self.steps += 1;
        self.steps <= STEP_BUDGET
    }

    /// Remember the value of a watched expression.
    pub(super) fn observe(&mut self, e: &Expr, v: &Value) {
        if let Some(slot) = self.watch.get_mut(&e.range()) {
            *slot = Some(match slot.take() {
                None => v.clone(),
                Some(prev) => join(prev, v.clone()),
            });
        }
    }

    // ---- variables -------------------------------------------------------------------------

    pub(super) fn lookup(&self, name: &str) -> Option<&Value> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    pub(super) fn set_var(&mut self, name: &str, v: Value) {
        let idx = self.scopes.len() - 1;
        let old = self.scopes[idx].insert(name.to_string(), v);
        if let Some(log) = self.logs.last_mut() {
            log.push((idx, name.to_string(), old));
        }
    }

    /// The value of a variable, moved out of its scope when no branch is being logged (the
    /// caller puts the mutated value back with `update_var`), else cloned.
    pub(super) fn take_var(&mut self, name: &str) -> Option<Value> {
        if self.logs.is_empty() {
            let idx = (0..self.scopes.len())
                .rev()
                .find(|&i| self.scopes[i].contains_key(name))?;
            self.scopes[idx]
                .get_mut(name)
                .map(|v| std::mem::replace(v, Value::None))
        } else {
            self.lookup(name).cloned()
        }
    }

    /// Replace the value of an existing variable where it lives (for mutations).
    pub(super) fn update_var(&mut self, name: &str, v: Value) {
        let idx = (0..self.scopes.len())
            .rev()
            .find(|&i| self.scopes[i].contains_key(name))
            .unwrap_or(self.scopes.len() - 1);
        let old = self.scopes[idx].insert(name.to_string(), v);
        if let Some(log) = self.logs.last_mut() {
            log.push((idx, name.to_string(), old));
        }
    }

    pub(super) fn bind_target(&mut self, target: &'a Expr, v: Value) {
        match target {
            Expr::Name(n) => self.set_var(n.id.as_str(), v),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                match v {
                    Value::List(items) | Value::Tuple(items) if items.len() == elts.len() => {
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
            Expr::Subscript(s) => self.bind_item(s, v),
            Expr::Starred(s) => self.bind_target(&s.value, Value::unknown()),
            _ => {}
        }
    }

    /// `d[k] = v` / `l[i] = v`.
    fn bind_item(&mut self, s: &'a ast::ExprSubscript, v: Value) {
        let Expr::Name(n) = &*s.value else { return };
        let key = self.eval(&s.slice);
        let name = n.id.as_str();
        let Some(cur) = self.take_var(name) else {
            return;
        };
        let new = if !self.abstract_loops.is_empty() {
            self.abstract_mutation(cur, &v)
        } else {
            match (cur, key) {
                (Value::Dict(mut items), k) if k.is_known() => {
                    dict_insert(&mut items, k, v);
                    Value::Dict(items)
                }
                (Value::List(mut items), Value::Int(i)) => match index_value(i, items.len()) {
                    Some(i) => {
                        items[i] = v;
                        Value::List(items)
                    }
                    None => Value::unknown(),
                },
                (cur, _) => join(cur, Value::unknown()),
            }
        };
        self.update_var(name, new);
    }

    /// A container mutated inside a loop whose iteration count is unknown.
    pub(super) fn abstract_mutation(&self, cur: Value, added: &Value) -> Value {
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
        Value::Dynamic {
            unbounded,
            not_json,
        }
    }

    pub(super) fn bind_params_unknown(&mut self, f: &ast::StmtFunctionDef) {
        let p = &f.parameters;
        for a in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
            self.set_var(a.parameter.name.as_str(), Value::unknown());
        }
        if let Some(a) = &p.vararg {
            self.set_var(a.name.as_str(), Value::unknown());
        }
        if let Some(a) = &p.kwarg {
            self.set_var(a.name.as_str(), Value::unknown());
        }
    }

    /// Record one time a `dbutils` call is reached (not in literal evaluation).
    pub(super) fn record(&mut self, kind: CallKind, c: &'a ast::ExprCall, args: Vec<Arg>) {
        if self.py.is_none() {
            return;
        }
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
