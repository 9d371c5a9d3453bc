//! Planning: from a notebook's Python to a [`NotebookPlan`].
//!
//! The planner finds each pool dispatch (`pool.map`, `executor.submit` in a loop or
//! comprehension, a helper function holding the pool), follows the worker to the
//! `dbutils.notebook.run` it reaches, and expresses the path, timeout and arguments of that call
//! as functions of the item ([`Sym`]). From those it decides For Each, per-object tasks or a
//! refusal with the reason, and which top-level statements the rewrite replaces or removes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};
use serde_json::Value;

use super::names::{bound_names, loaded_names_stmt};
use super::plan::*;
use super::rewrite::whole_lines;
use super::sites::{ExternalWorker, Facts, Nodes, SiteFact};
use super::sym::{bind_params, bind_values, is_builtin_global, py_str, ModuleInfo, Sym};
use crate::python::fanout::{DispatchKind, FanOutKind as Shape, LoopKind};
use crate::source::Document;

/// Task values are limited to 48 KiB of JSON.
pub const MAX_TASK_VALUE_BYTES: usize = crate::limits::TASK_VALUE_MAX_BYTES as usize;

/// The error of a pool dispatch that reaches no `dbutils.notebook.run` (a pool of Spark
/// queries or downloads): not a fan-out, so nothing is reported.
const NOT_A_FAN_OUT: &str = "no `dbutils.notebook.run` is reached from the worker";

/// Options of the planner.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub to: TargetShape,
    /// The job that runs (or will run) the fan-out, and its file as shown in the comment left
    /// in the notebook (`resources/<job>.job.yml` when empty).
    pub job_key: Option<String>,
    pub job_file: Option<String>,
    /// The task key of the orchestrator notebook in that job (the job key when empty).
    pub producer_key: Option<String>,
    /// Task keys the job already has (new tasks get other keys).
    pub reserved: Vec<String>,
    /// When nothing is left in the orchestrator, its task becomes the first For Each task and
    /// keeps its key (an existing job edited in place).
    pub convert: bool,
}

/// One statement edit of the rewrite: a top-level statement replaced by lines of code (empty:
/// removed).
#[derive(Debug, Clone, PartialEq)]
pub struct StmtEdit {
    /// Document range of the statement.
    pub range: TextRange,
    pub code: Vec<String>,
}

/// A sequential fan-out at module level: a `for` loop or a list comprehension.
#[derive(Clone, Copy)]
enum LoopSite<'a> {
    For(&'a ast::StmtFor),
    Comp(&'a ast::ExprListComp),
}

/// A fan-out of the facts, tied to the syntax the planner rewrites.
struct Site<'a> {
    /// Index of the top-level statement that holds the dispatch (or the call of the helper
    /// function holding it).
    top: usize,
    /// Line of the fan-out in messages.
    line: u32,
    /// The dispatch call (none for sequential loops).
    call: Option<&'a ast::ExprCall>,
    kind: DispatchKind,
    method: String,
    pool_ctor: Option<&'a ast::ExprCall>,
    /// Enclosing loop or comprehension inside the dispatch's scope: (target, iterable).
    iter: Option<(&'a Expr, &'a Expr)>,
    /// Bindings of the helper function's parameters (dispatch inside a helper).
    env: HashMap<String, Sym>,
    helper: Option<String>,
    /// A sequential `for` loop at module level whose body runs the notebooks.
    loop_for: Option<LoopSite<'a>>,
    /// The document range `check` reports the fan-out at.
    range: TextRange,
    external: Option<&'a ExternalWorker>,
}

fn callee_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

/// The worker side of a dispatch: (base items, worker, positional and keyword arguments of the
/// worker, the items expression).
type WorkerCall<'e> = (
    Sym,
    &'e Expr,
    Vec<Sym>,
    Vec<(String, Sym)>,
    Option<&'e Expr>,
);

/// A reached `dbutils.notebook.run`.
#[derive(Debug, Clone)]
struct RunCall {
    path: Sym,
    timeout: Option<Sym>,
    args: Option<Sym>,
    retries: Option<u32>,
}

struct Planner<'a> {
    doc: &'a Document,
    py: &'a crate::source::PythonSource,
    info: ModuleInfo<'a>,
    body: &'a [Stmt],
    notebook_dir: PathBuf,
    facts: &'a Facts,
    nodes: Nodes<'a>,
}

fn err<T>(s: impl Into<String>) -> Result<T, String> {
    Err(s.into())
}

/// A fan-out inside a function that the notebook does not call at its top level: refused
/// unless the rewrite removes the function anyway (a loop inside a worker).
struct Pending {
    range: TextRange,
    refusal: Refusal,
}

impl<'a> Planner<'a> {
    fn line_of(&self, node: &impl Ranged) -> u32 {
        self.doc.resolve(self.py.doc_range(node)).file_line
    }

    fn line_at(&self, r: TextRange) -> u32 {
        self.doc.resolve(r).file_line
    }

    /// `dbutils.notebook.run(...)`, as the facts know it.
    fn is_run_call(&self, c: &ast::ExprCall) -> bool {
        self.facts.run_calls.contains(&self.py.doc_range(c))
    }

    /// `dbutils.notebook.run` itself passed as a worker.
    fn is_run_ref(&self, e: &Expr) -> bool {
        self.facts.run_callees.contains(&self.py.doc_range(e))
    }

    fn is_pool_ctor(&self, c: &ast::ExprCall) -> bool {
        self.facts.pool_ctors.contains(&self.py.doc_range(c))
    }

    fn is_dispatch(&self, c: &ast::ExprCall) -> bool {
        self.facts.dispatches.contains(&self.py.doc_range(c))
    }

    /// The index of the top-level statement holding a document range.
    fn top_of(&self, r: TextRange) -> Option<usize> {
        self.body
            .iter()
            .position(|s| self.py.doc_range(s).contains_range(r))
    }

    /// The top-level function whose name is at `name`.
    fn function_named_at(&self, name: TextRange) -> Option<&'a ast::StmtFunctionDef> {
        self.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if self.py.doc_range(&f.name) == name => Some(f),
            _ => None,
        })
    }

    /// The name of the top-level function holding a document range.
    fn enclosing_function(&self, r: TextRange) -> Option<&'a ast::StmtFunctionDef> {
        self.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if self.py.doc_range(f).contains_range(r) => Some(f),
            _ => None,
        })
    }

    /// Every fan-out of the facts as a site, or the reason it is not one.
    fn sites(&self) -> (Vec<Site<'a>>, Vec<Refusal>, Vec<Pending>) {
        let mut sites = Vec::new();
        let mut refusals = Vec::new();
        let mut pending = Vec::new();
        for sf in &self.facts.sites {
            let f = &sf.fan_out;
            let line = self.line_at(f.range);
            let refuse = |reason: String| Refusal { line, reason };
            match f.kind {
                Shape::Dispatch(
                    k @ (DispatchKind::PoolMap
                    | DispatchKind::ExecutorSubmit
                    | DispatchKind::PoolApply),
                ) => match self.dispatch_sites(sf, k) {
                    Ok(mut s) => sites.append(&mut s),
                    Err(Ok(r)) => refusals.push(r),
                    Err(Err(p)) => pending.push(p),
                },
                Shape::Loop(LoopKind::For | LoopKind::Comprehension) => match self.loop_site(sf) {
                    Ok(s) => sites.push(s),
                    Err(Ok(r)) => refusals.push(r),
                    Err(Err(p)) => pending.push(p),
                },
                Shape::Loop(LoopKind::While) => {
                    let r = refuse("a `while` loop runs notebooks until a condition holds, not once per item of a list (cannot autofix); move it to a job by hand".into());
                    match self.not_called(sf) {
                        Some(_) => pending.push(Pending {
                            range: f.range,
                            refusal: r,
                        }),
                        None => refusals.push(r),
                    }
                }
                _ => {
                    let r = refuse(format!(
                        "{}: not a shape `bricklint migrate` rewrites (cannot autofix); move it to a job by hand",
                        sf.what
                    ));
                    match self.not_called(sf) {
                        Some(_) => pending.push(Pending {
                            range: f.range,
                            refusal: r,
                        }),
                        None => refusals.push(r),
                    }
                }
            }
        }
        sites.sort_by_key(|s| (s.top, s.range.start()));
        (sites, refusals, pending)
    }

    /// A fan-out in a function this notebook never calls at its top level: the function's
    /// name.
    fn not_called(&self, sf: &SiteFact) -> Option<String> {
        let (name, callers) = sf.holder.as_ref()?;
        if !callers.is_empty() {
            return None;
        }
        Some(
            self.function_named_at(*name)
                .map(|f| f.name.id.to_string())
                .unwrap_or_else(|| self.py_text(*name)),
        )
    }

    fn py_text(&self, r: TextRange) -> String {
        self.doc
            .text
            .get(usize::from(r.start())..usize::from(r.end()))
            .unwrap_or("?")
            .to_string()
    }

    fn pending_in_function(&self, sf: &SiteFact, f: &str) -> Pending {
        Pending {
            range: sf.fan_out.range,
            refusal: Refusal {
                line: self.line_at(sf.fan_out.range),
                reason: format!(
                    "{} inside function `{f}`, which this notebook does not call at its top level (cannot autofix); migrate the notebook that calls it",
                    sf.what
                ),
            },
        }
    }

    /// The sites of a pool or executor dispatch: one, or one per module-level call of the
    /// function holding it.
    #[allow(clippy::type_complexity)]
    fn dispatch_sites(
        &self,
        sf: &'a SiteFact,
        kind: DispatchKind,
    ) -> Result<Vec<Site<'a>>, Result<Refusal, Pending>> {
        let f = &sf.fan_out;
        let line = self.line_at(f.range);
        let refuse = |reason: String| Err(Ok(Refusal { line, reason }));
        let site = |call: &'a ast::ExprCall, top: usize, env, helper: Option<String>| {
            let items = f.items.as_ref().map(|i| i.range);
            Site {
                top,
                line: self.line_of(call),
                call: Some(call),
                kind,
                method: f.method.clone(),
                pool_ctor: f
                    .pool
                    .as_ref()
                    .and_then(|p| self.nodes.calls.get(&p.ctor).copied()),
                iter: items
                    .filter(|_| kind != DispatchKind::PoolMap)
                    .and_then(|r| self.nodes.iters.get(&r).copied()),
                env,
                helper,
                loop_for: None,
                range: f.range,
                external: sf.external.as_ref(),
            }
        };
        // A worker handed to a generic helper that dispatches its parameter.
        if let Some((hpath, hrange)) = &f.helper {
            if **hpath != *self.doc.path {
                return refuse(format!(
                    "{}: the worker is handed to a helper of another file ({}) that dispatches it; `bricklint migrate` rewrites dispatches of this notebook only (cannot autofix)",
                    sf.what,
                    crate::source::display_path(hpath)
                ));
            }
            if f.func != crate::python::model::MODULE_FUNC {
                let name = self
                    .enclosing_function(f.range)
                    .map(|d| d.name.id.to_string())
                    .unwrap_or_else(|| "?".into());
                return Err(Err(self.pending_in_function(sf, &name)));
            }
            let (Some(hcall), Some(dcall), Some(top), Some(def)) = (
                self.nodes.calls.get(&f.range).copied(),
                self.nodes.calls.get(hrange).copied(),
                self.top_of(f.range),
                self.enclosing_function(*hrange),
            ) else {
                return refuse(format!("{}: the helper that dispatches the worker is not a top-level function of this notebook (cannot autofix)", sf.what));
            };
            return match bind_params(&self.info, &def.parameters, hcall, &HashMap::new(), 0, 0) {
                Ok(env) => Ok(vec![site(dcall, top, env, Some(def.name.id.to_string()))]),
                Err(e) => refuse(format!(
                    "the call of `{}` (which fans out) cannot be followed: {e}",
                    def.name.id
                )),
            };
        }
        let Some(call) = self.nodes.calls.get(&f.range).copied() else {
            return refuse(format!(
                "{}: not a shape `bricklint migrate` rewrites (cannot autofix); move it to a job by hand",
                sf.what
            ));
        };
        let Some((name, callers)) = &sf.holder else {
            let Some(top) = self.top_of(f.range) else {
                return refuse(format!("{}: not in a statement of this notebook", sf.what));
            };
            return Ok(vec![site(call, top, HashMap::new(), None)]);
        };
        // A dispatch inside a function: one site per module-level call of it.
        let Some(def) = self.function_named_at(*name) else {
            let name = self.py_text(*name);
            return refuse(format!(
                "{} inside `{name}`, which is not a top-level function of this notebook (cannot autofix); move the fan-out to the notebook's top level",
                sf.what
            ));
        };
        if callers.is_empty() {
            return Err(Err(self.pending_in_function(sf, def.name.id.as_str())));
        }
        let mut out = Vec::new();
        for c in callers {
            let (Some(hcall), Some(top)) = (self.nodes.calls.get(c).copied(), self.top_of(*c))
            else {
                continue;
            };
            match bind_params(&self.info, &def.parameters, hcall, &HashMap::new(), 0, 0) {
                Ok(env) => out.push(site(call, top, env, Some(def.name.id.to_string()))),
                Err(e) => {
                    return Err(Ok(Refusal {
                        line: self.line_at(*c),
                        reason: format!(
                            "the call of `{}` (which fans out) cannot be followed: {e}",
                            def.name.id
                        ),
                    }))
                }
            }
        }
        Ok(out)
    }

    /// The site of a sequential loop or comprehension: a top-level `for` statement, or a
    /// comprehension that is a whole top-level statement (or assigned by one).
    fn loop_site(&self, sf: &'a SiteFact) -> Result<Site<'a>, Result<Refusal, Pending>> {
        let f = &sf.fan_out;
        let line = self.line_at(f.range);
        if let Some((name, _)) = &sf.holder {
            let fname = self
                .function_named_at(*name)
                .map(|d| d.name.id.to_string())
                .unwrap_or_else(|| self.py_text(*name));
            if self.not_called(sf).is_some() {
                return Err(Err(self.pending_in_function(sf, &fname)));
            }
            return Err(Ok(Refusal {
                line,
                reason: format!("{} inside function `{fname}`: only loops at the top level of the notebook are migrated (cannot autofix); move the loop out of the function", sf.what),
            }));
        }
        let top = self.top_of(f.range);
        let l = top.and_then(|i| match &self.body[i] {
            Stmt::For(s) if self.py.doc_range(s).start() == f.range.start() => {
                Some(LoopSite::For(s))
            }
            Stmt::Expr(ast::StmtExpr { value, .. })
            | Stmt::Assign(ast::StmtAssign { value, .. }) => match &**value {
                Expr::ListComp(c) if c.generators.len() == 1 && self.py.doc_range(c) == f.range => {
                    Some(LoopSite::Comp(c))
                }
                _ => None,
            },
            _ => None,
        });
        let (Some(top), Some(l)) = (top, l) else {
            return Err(Ok(Refusal {
                line,
                reason: "a sequential loop of `dbutils.notebook.run` inside another statement: only loops at the top level of the notebook are migrated".into(),
            }));
        };
        let iter = match l {
            LoopSite::For(s) => (&*s.target, &*s.iter),
            LoopSite::Comp(c) => (&c.generators[0].target, &c.generators[0].iter),
        };
        // The line of the first `notebook.run` of the loop itself, else of the loop.
        let stmt = self.py.doc_range(&self.body[top]);
        let line = f
            .runs
            .iter()
            .filter(|r| *r.path == *self.doc.path && stmt.contains_range(r.call.range))
            .map(|r| self.line_at(r.call.range))
            .next()
            .unwrap_or(line);
        Ok(Site {
            top,
            line,
            call: None,
            kind: DispatchKind::PoolMap,
            method: "for".into(),
            pool_ctor: None,
            iter: Some(iter),
            env: HashMap::new(),
            helper: None,
            loop_for: Some(l),
            range: f.range,
            external: None,
        })
    }

    /// Follow a worker to the `notebook.run` calls it reaches.
    fn reach_worker(
        &self,
        worker: &Expr,
        args: Vec<Sym>,
        kw: Vec<(String, Sym)>,
        env: &HashMap<String, Sym>,
    ) -> Result<Vec<RunCall>, String> {
        match worker {
            // `functools.partial(f, a, k=v)`: f with those arguments first.
            Expr::Call(c)
                if callee_name(&c.func) == Some("partial") && !c.arguments.args.is_empty() =>
            {
                let mut pargs = Vec::new();
                for a in c.arguments.args.iter().skip(1) {
                    pargs.push(self.info.sym(a, env, 0)?);
                }
                pargs.extend(args);
                let mut pkw = Vec::new();
                for k in &c.arguments.keywords {
                    let Some(n) = &k.arg else {
                        return err("`**` in `partial`");
                    };
                    pkw.push((n.id.to_string(), self.info.sym(&k.value, env, 0)?));
                }
                pkw.extend(kw);
                self.reach_worker(&c.arguments.args[0], pargs, pkw, env)
            }
            w if self.is_run_ref(w) => {
                let mut a = args.into_iter();
                let mut kwm: HashMap<String, Sym> = kw.into_iter().collect();
                let path = a
                    .next()
                    .or_else(|| kwm.remove("path"))
                    .ok_or("`notebook.run` without a path")?;
                let timeout = a.next().or_else(|| kwm.remove("timeout_seconds"));
                let args = a.next().or_else(|| kwm.remove("arguments"));
                Ok(vec![RunCall {
                    path,
                    timeout,
                    args,
                    retries: None,
                }])
            }
            Expr::Lambda(l) => {
                let local = match &l.parameters {
                    Some(p) => bind_values(&self.info, p, args, kw, env, 0, 0)?,
                    None => HashMap::new(),
                };
                let mut out = Vec::new();
                self.reach_expr(&l.body, &local, &mut Vec::new(), &mut Vec::new(), &mut out)?;
                Ok(out)
            }
            Expr::Name(n) => {
                let Some(f) = self.info.functions.get(n.id.as_str()) else {
                    return err(format!(
                        "the worker `{}` is not a function of this notebook",
                        n.id
                    ));
                };
                let local = bind_values(&self.info, &f.parameters, args, kw, env, 0, 0)?;
                let mut out = Vec::new();
                let mut stack = vec![n.id.to_string()];
                self.reach_body(&f.body, local, &mut stack, &mut Vec::new(), &mut out)?;
                Ok(out)
            }
            other => err(format!(
                "the worker `{}` cannot be followed",
                self.info.text_of(other)
            )),
        }
    }

    fn reach_body(
        &self,
        stmts: &'a [Stmt],
        mut env: HashMap<String, Sym>,
        stack: &mut Vec<String>,
        retry: &mut Vec<u32>,
        out: &mut Vec<RunCall>,
    ) -> Result<(), String> {
        self.reach_stmts(stmts, &mut env, stack, retry, out)
    }

    fn reach_stmts(
        &self,
        stmts: &'a [Stmt],
        env: &mut HashMap<String, Sym>,
        stack: &mut Vec<String>,
        retry: &mut Vec<u32>,
        out: &mut Vec<RunCall>,
    ) -> Result<(), String> {
        for s in stmts {
            match s {
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                Stmt::Assign(a) => {
                    self.reach_expr(&a.value, env, stack, retry, out)?;
                    if let [Expr::Name(n)] = a.targets.as_slice() {
                        match self.info.sym(&a.value, env, 0) {
                            Ok(v) => {
                                env.insert(n.id.to_string(), v);
                            }
                            Err(_) => {
                                env.remove(n.id.as_str());
                            }
                        }
                    }
                }
                Stmt::For(f) => {
                    self.reach_expr(&f.iter, env, stack, retry, out)?;
                    let n = range_count(&f.iter);
                    if let Some(n) = n {
                        retry.push(n);
                    }
                    self.reach_stmts(&f.body, env, stack, retry, out)?;
                    if n.is_some() {
                        retry.pop();
                    }
                }
                Stmt::While(w) => {
                    self.reach_expr(&w.test, env, stack, retry, out)?;
                    self.reach_stmts(&w.body, env, stack, retry, out)?;
                }
                Stmt::If(i) => {
                    self.reach_expr(&i.test, env, stack, retry, out)?;
                    self.reach_stmts(&i.body, env, stack, retry, out)?;
                    for c in &i.elif_else_clauses {
                        self.reach_stmts(&c.body, env, stack, retry, out)?;
                    }
                }
                Stmt::Try(t) => {
                    self.reach_stmts(&t.body, env, stack, retry, out)?;
                    for h in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        self.reach_stmts(&h.body, env, stack, retry, out)?;
                    }
                    self.reach_stmts(&t.orelse, env, stack, retry, out)?;
                    self.reach_stmts(&t.finalbody, env, stack, retry, out)?;
                }
                Stmt::With(w) => {
                    for i in &w.items {
                        self.reach_expr(&i.context_expr, env, stack, retry, out)?;
                    }
                    self.reach_stmts(&w.body, env, stack, retry, out)?;
                }
                other => {
                    for c in calls_in(other) {
                        self.reach_call(c, env, stack, retry, out)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn reach_expr(
        &self,
        e: &'a Expr,
        env: &HashMap<String, Sym>,
        stack: &mut Vec<String>,
        retry: &mut Vec<u32>,
        out: &mut Vec<RunCall>,
    ) -> Result<(), String> {
        let mut v = Calls::default();
        v.visit_expr(e);
        for c in v.calls {
            self.reach_call(c, env, stack, retry, out)?;
        }
        Ok(())
    }

    fn reach_call(
        &self,
        c: &'a ast::ExprCall,
        env: &HashMap<String, Sym>,
        stack: &mut Vec<String>,
        retry: &mut Vec<u32>,
        out: &mut Vec<RunCall>,
    ) -> Result<(), String> {
        if self.is_run_call(c) {
            let mut kw = Vec::new();
            for k in &c.arguments.keywords {
                let Some(n) = &k.arg else {
                    return err("`**` arguments to `notebook.run`");
                };
                kw.push((n.id.to_string(), self.info.sym(&k.value, env, 0)?));
            }
            let args: Vec<Sym> = c
                .arguments
                .args
                .iter()
                .map(|a| self.info.sym(a, env, 0))
                .collect::<Result<_, _>>()?;
            let mut a = args.into_iter();
            let mut kwm: HashMap<String, Sym> = kw.into_iter().collect();
            let path = a
                .next()
                .or_else(|| kwm.remove("path"))
                .ok_or("`notebook.run` without a path")?;
            let timeout = a.next().or_else(|| kwm.remove("timeout_seconds"));
            let args = a.next().or_else(|| kwm.remove("arguments"));
            let retries = retry.last().map(|n| n.saturating_sub(1));
            out.push(RunCall {
                path,
                timeout,
                args,
                retries,
            });
            return Ok(());
        }
        if let Expr::Name(n) = &*c.func {
            let name = n.id.as_str();
            if stack.iter().any(|s| s == name) || stack.len() > 4 {
                return Ok(()); // recursion (a retry by calling itself)
            }
            if let Some(f) = self.info.functions.get(name) {
                let local = bind_params(&self.info, &f.parameters, c, env, 0, 0)?;
                stack.push(name.to_string());
                let r = self.reach_body(&f.body, local, stack, retry, out);
                stack.pop();
                r?;
            }
        }
        Ok(())
    }

    fn static_of(&self, s: &Sym, item: &Value) -> Option<Value> {
        s.eval(item, &|n| self.info.global_value(n))
    }

    /// Resolve a `notebook.run` path to a repository file, as Databricks does: relative to the
    /// calling notebook's folder, the extension added.
    fn resolve_notebook(&self, p: &str) -> Result<PathBuf, String> {
        if p.starts_with('/') {
            return err(format!(
                "the child notebook `{p}` is a workspace path; bricklint only migrates notebooks of this repository"
            ));
        }
        let base = crate::discover::normalize(&self.notebook_dir.join(p));
        if base.is_file() {
            return Ok(base);
        }
        for ext in ["py", "ipynb", "sql", "scala", "r"] {
            let mut c = base.clone().into_os_string();
            c.push(".");
            c.push(ext);
            let c = PathBuf::from(c);
            if c.is_file() {
                return Ok(c);
            }
        }
        err(format!(
            "the child notebook `{p}` is not a file of this repository"
        ))
    }

    /// The statically known items and their source.
    fn items_of(&self, base: &Sym, direct: Option<&'a Expr>) -> (ItemsSource, Option<Vec<Value>>) {
        let expr = match base {
            Sym::Global(n) => self.info.single.get(n.as_str()).copied(),
            Sym::List(_) => {
                return (
                    ItemsSource::Literal,
                    self.static_of(base, &Value::Null)
                        .and_then(|v| v.as_array().cloned()),
                )
            }
            _ => direct,
        };
        let Some(expr) = expr else {
            return (ItemsSource::Dynamic, None);
        };
        if let Some(p) = config_path(expr) {
            let file = crate::discover::normalize(&self.notebook_dir.join(&p));
            let values = crate::fsutil::read_input_string(&file)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v.as_array().cloned());
            return (ItemsSource::ConfigFile(file), values);
        }
        if matches!(expr, Expr::List(_) | Expr::Tuple(_)) {
            let v = self
                .info
                .sym(expr, &HashMap::new(), 0)
                .ok()
                .and_then(|s| self.static_of(&s, &Value::Null))
                .and_then(|v| v.as_array().cloned());
            return (ItemsSource::Literal, v);
        }
        (ItemsSource::Dynamic, None)
    }
}

/// `range(N)` with a literal N.
fn range_count(e: &Expr) -> Option<u32> {
    let Expr::Call(c) = e else { return None };
    if callee_name(&c.func) != Some("range") || c.arguments.args.len() != 1 {
        return None;
    }
    match &c.arguments.args[0] {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64().and_then(|v| u32::try_from(v).ok()),
            _ => None,
        },
        _ => None,
    }
}

/// `json.load(open("p"))` or `json.loads(open("p").read())` with a literal path.
fn config_path(e: &Expr) -> Option<String> {
    let Expr::Call(c) = e else { return None };
    let f = callee_name(&c.func)?;
    let arg = c.arguments.args.first()?;
    let open = match (f, arg) {
        ("load", Expr::Call(o)) => o,
        ("loads", Expr::Call(r)) => match &*r.func {
            Expr::Attribute(a) if a.attr.id.as_str() == "read" => match &*a.value {
                Expr::Call(o) => o,
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    if callee_name(&open.func) != Some("open") {
        return None;
    }
    match open.arguments.args.first()? {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

#[derive(Default)]
struct Calls<'a> {
    calls: Vec<&'a ast::ExprCall>,
}

impl<'a> Visitor<'a> for Calls<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            visitor::walk_stmt(self, stmt);
        }
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(c) = expr {
            self.calls.push(c);
        }
        if !matches!(expr, Expr::Lambda(_)) {
            visitor::walk_expr(self, expr);
        }
    }
}

fn calls_in(s: &Stmt) -> Vec<&ast::ExprCall> {
    let mut v = Calls::default();
    v.visit_stmt(s);
    v.calls
}

/// A statement that only waits for or prints the fan-out's results.
fn is_wait_like(s: &Stmt) -> bool {
    const OK: &[&str] = &[
        "result",
        "close",
        "join",
        "shutdown",
        "wait",
        "as_completed",
        "get",
        "print",
        "list",
        "append",
        "len",
        "format",
        "exception",
        "done",
        "ready",
        "successful",
        "str",
        "extend",
    ];
    let calls = calls_in(s);
    let shape_ok = matches!(
        s,
        Stmt::Expr(_) | Stmt::Assign(_) | Stmt::For(_) | Stmt::AugAssign(_)
    );
    shape_ok
        && calls
            .iter()
            .all(|c| callee_name(&c.func).is_some_and(|n| OK.contains(&n)))
}

/// A statement whose move before the fan-out cannot change what the job does.
fn is_inert(s: &Stmt, pool: &dyn Fn(&ast::ExprCall) -> bool) -> bool {
    match s {
        Stmt::Import(_)
        | Stmt::ImportFrom(_)
        | Stmt::FunctionDef(_)
        | Stmt::ClassDef(_)
        | Stmt::Pass(_) => true,
        Stmt::Expr(e) => match &*e.value {
            Expr::StringLiteral(_) => true,
            Expr::Call(c) => {
                matches!(callee_name(&c.func), Some("print" | "display"))
                    || matches!(&*c.func, Expr::Attribute(a) if a.attr.id.as_str() == "exit")
            }
            _ => false,
        },
        Stmt::Assign(a) => is_pure_value(&a.value, pool),
        Stmt::AnnAssign(a) => a.value.as_deref().is_none_or(|v| is_pure_value(v, pool)),
        Stmt::IpyEscapeCommand(_) => false,
        _ => false,
    }
}

/// A value whose computation has no effect (a pool constructor included: the pool is only
/// used by the fan-out).
fn is_pure_value(e: &Expr, pool: &dyn Fn(&ast::ExprCall) -> bool) -> bool {
    let pure = |e: &Expr| is_pure_value(e, pool);
    match e {
        Expr::StringLiteral(_)
        | Expr::NumberLiteral(_)
        | Expr::BooleanLiteral(_)
        | Expr::NoneLiteral(_)
        | Expr::Name(_) => true,
        Expr::List(l) => l.elts.iter().all(pure),
        Expr::Tuple(l) => l.elts.iter().all(pure),
        Expr::Dict(d) => d
            .iter()
            .all(|i| i.key.as_ref().is_none_or(pure) && pure(&i.value)),
        Expr::FString(_) => true,
        Expr::BinOp(b) => pure(&b.left) && pure(&b.right),
        Expr::ListComp(l) => pure(&l.elt) || matches!(&*l.elt, Expr::Call(_)),
        Expr::Call(c) => {
            pool(c)
                || matches!(
                    callee_name(&c.func),
                    Some("str" | "int" | "len" | "range" | "list" | "dict")
                )
        }
        Expr::Subscript(s) => pure(&s.value) && pure(&s.slice),
        Expr::Attribute(a) => pure(&a.value),
        _ => false,
    }
}

/// The result of planning one notebook: the plan and the statement edits of the rewrite.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: NotebookPlan,
    pub edits: Vec<StmtEdit>,
    /// Whether the orchestrator still has work of its own (or produces the inputs) and stays
    /// a task of the job.
    pub keep_producer: bool,
}

struct SitePlan {
    fanout: FanOutPlan,
    top: usize,
    /// Python lines replacing the dispatch statement (besides the comment).
    producer: Option<String>,
}

/// Plan one notebook from its facts ([`Facts`]). Returns `None` when it has no fan-out.
pub fn plan_document(
    doc: &Document,
    bundle_root: &Path,
    job_key: &str,
    opts: &PlanOptions,
    facts: &Facts,
) -> Option<Planned> {
    if facts.is_empty() {
        return None;
    }
    let job_key = opts.job_key.as_deref().unwrap_or(job_key);
    let producer_key = opts.producer_key.as_deref().unwrap_or(job_key);
    let mk = |fanouts, refusals| NotebookPlan {
        notebook: (*doc.path).clone(),
        bundle_root: bundle_root.to_path_buf(),
        job_file: None,
        job_key: job_key.to_string(),
        producer_key: producer_key.to_string(),
        producer_task: true,
        fanouts,
        refusals,
    };
    let refused = |rs: Vec<Refusal>| Planned {
        plan: mk(Vec::new(), rs),
        edits: Vec::new(),
        keep_producer: false,
    };
    let Some(py) = doc.python() else {
        // Scala and other languages: every fan-out is refused with its reason.
        let rs = facts
            .sites
            .iter()
            .map(|sf| Refusal {
                line: doc.resolve(sf.fan_out.range).file_line,
                reason: format!(
                    "{}: not a shape `bricklint migrate` rewrites (cannot autofix); move it to a job by hand",
                    sf.what
                ),
            })
            .collect();
        return Some(refused(rs));
    };
    if !py.errors().is_empty() {
        return Some(refused(vec![Refusal {
            line: 1,
            reason: "the notebook has Python syntax errors (NB001)".into(),
        }]));
    }
    let body: &[Stmt] = &py.module().body;
    let planner = Planner {
        doc,
        py,
        info: ModuleInfo::new(body, &py.text),
        body,
        notebook_dir: doc.path.parent().map(Path::to_path_buf).unwrap_or_default(),
        facts,
        nodes: Nodes::new(py),
    };
    let (sites, mut refusals, mut pending) = planner.sites();
    if sites.is_empty() {
        refusals.extend(pending.drain(..).map(|p| p.refusal));
    }
    if sites.is_empty() && refusals.is_empty() {
        return None;
    }
    let mut site_plans: Vec<SitePlan> = Vec::new();
    let mut used_keys: HashSet<String> =
        HashSet::from([job_key.to_string(), producer_key.to_string()]);
    used_keys.extend(opts.reserved.iter().cloned());
    for site in &sites {
        let planned = match plan_site(&planner, site, opts, &mut used_keys) {
            Err(reason) => match site.external {
                Some(ext) if opts.to != TargetShape::Tasks => {
                    plan_external(&planner, site, ext, &mut used_keys)
                }
                _ => Err(reason),
            },
            ok => ok,
        };
        match planned {
            Ok(sp) => site_plans.push(sp),
            Err(reason) if reason == NOT_A_FAN_OUT => refusals.push(Refusal {
                line: site.line,
                reason: "the worker reaches `dbutils.notebook.run` through an alias or a path `bricklint migrate` cannot follow (cannot autofix)".into(),
            }),
            Err(reason) => refusals.push(Refusal {
                line: site.line,
                reason,
            }),
        }
    }
    // Several dispatches in one top-level statement: not supported.
    let mut tops: Vec<usize> = site_plans.iter().map(|s| s.top).collect();
    tops.sort_unstable();
    if tops.windows(2).any(|w| w[0] == w[1]) {
        refusals.push(Refusal {
            line: site_plans[0].fanout.line,
            reason: "several fan-outs in one statement".into(),
        });
    }
    if !refusals.is_empty() {
        return Some(refused(with_blocked(refusals, &site_plans)));
    }
    let announce = match opts.to {
        TargetShape::Submit => {
            let stem = doc
                .path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("notebook");
            format!("run `{job_key}` ({{}}) now runs this fan-out: {stem}.submit.json")
        }
        _ => format!(
            "job `{job_key}` ({{}}) now runs this fan-out: {}",
            opts.job_file
                .clone()
                .unwrap_or_else(|| format!("resources/{job_key}.job.yml"))
        ),
    };
    let convert_key = opts.convert.then_some(producer_key);
    match rewrite_plan(&planner, &mut site_plans, &announce, convert_key) {
        Ok((edits, keep)) => {
            // Fan-outs in functions the notebook never calls block the migration unless the
            // rewrite removes them (a loop inside the worker of a migrated fan-out).
            pending.retain(|p| !edits.iter().any(|e| e.range.contains_range(p.range)));
            if !pending.is_empty() {
                let rs = pending.into_iter().map(|p| p.refusal).collect();
                return Some(refused(with_blocked(rs, &site_plans)));
            }
            let fanouts = site_plans.into_iter().map(|s| s.fanout).collect();
            let mut plan = mk(fanouts, Vec::new());
            plan.producer_task = keep;
            Some(Planned {
                plan,
                edits,
                keep_producer: keep,
            })
        }
        Err((line, reason)) => Some(refused(vec![Refusal { line, reason }])),
    }
}

/// The refusals of a notebook, with every fan-out that could be migrated marked as blocked
/// by them: a partly migrated notebook would run its remaining fan-out before the job's tasks.
fn with_blocked(mut rs: Vec<Refusal>, site_plans: &[SitePlan]) -> Vec<Refusal> {
    for sp in site_plans {
        if !rs.iter().any(|r| r.line == sp.fanout.line) {
            rs.push(Refusal {
                line: sp.fanout.line,
                reason: "not migrated because another fan-out of this notebook cannot be".into(),
            });
        }
    }
    rs.sort_by_key(|r| r.line);
    rs
}

/// Plan a `map` fan-out whose worker is in another file.
fn plan_external(
    p: &Planner<'_>,
    site: &Site<'_>,
    ext: &ExternalWorker,
    used: &mut HashSet<String>,
) -> Result<SitePlan, String> {
    if site.helper.is_some() || site.kind != DispatchKind::PoolMap || site.method == "starmap" {
        return err("the worker is in another file and the dispatch is not a plain `map`");
    }
    let child = p.resolve_notebook(&ext.child)?;
    let task_key = unique_key(&format!("run_{}", stem(&child)), used);
    let per_item: Vec<&String> = ext
        .params
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    if per_item.len() > 1 {
        return err("the worker passes the item under several names");
    }
    let parameters: Vec<(String, ParamValue)> = ext
        .params
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    Some(l) => ParamValue::Literal(l.clone()),
                    None => ParamValue::Input,
                },
            )
        })
        .collect();
    let (source, values) = match &ext.items {
        Some(v) => (
            ItemsSource::Literal,
            v.iter()
                .map(|x| py_str(x).map(Value::String))
                .collect::<Option<Vec<_>>>(),
        ),
        None => (ItemsSource::Dynamic, None),
    };
    let mut notes = vec![format!(
        "the worker is defined in another file; it is left in place"
    )];
    let concurrency = match ext.pool_size {
        Some(n) if n >= 1 => n.min(100) as u32,
        _ => {
            notes.push("pool size not static: concurrency 32 assumed (review it)".into());
            32
        }
    };
    let var = if p.info.bound.contains("item") {
        "item_"
    } else {
        "item"
    };
    let producer_expr = format!("[str({var}) for {var} in {}]", ext.items_text);
    let fe = ForEachPlan {
        task_key: task_key.clone(),
        child,
        parameters,
        items: Items {
            source,
            values,
            producer_expr: producer_expr.clone(),
        },
        concurrency,
        timeout_seconds: ext.timeout.filter(|t| *t > 0).map(|t| t as u64),
        max_retries: None,
        value_key: format!("{task_key}_inputs"),
    };
    let inline = super::yaml::inline_inputs(&fe).is_some();
    let producer = (!inline).then(|| {
        format!(
            "dbutils.jobs.taskValues.set(key=\"{}\", value={producer_expr})",
            fe.value_key
        )
    });
    Ok(SitePlan {
        fanout: FanOutPlan {
            line: site.line,
            dispatch: format!(
                "{}.{}",
                site.pool_ctor
                    .and_then(|c| callee_name(&c.func))
                    .unwrap_or("pool"),
                site.method
            ),
            kind: FanOutKind::ForEach(fe),
            remove: Vec::new(),
            replace: TextRange::default(),
            notes,
        },
        top: site.top,
        producer,
    })
}

fn unique_key(base: &str, used: &mut HashSet<String>) -> String {
    let base = sanitize_key(base);
    let mut k = base.clone();
    let mut i = 2;
    while used.contains(&k) {
        k = format!("{base}_{i}");
        i += 1;
    }
    used.insert(k.clone());
    k
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("notebook")
        .to_string()
}

fn plan_site(
    p: &Planner<'_>,
    site: &Site<'_>,
    opts: &PlanOptions,
    used: &mut HashSet<String>,
) -> Result<SitePlan, String> {
    let info = &p.info;
    let line = site.line;
    let ctor_name = site
        .pool_ctor
        .and_then(|c| callee_name(&c.func))
        .unwrap_or("pool")
        .to_string();
    let dispatch = if let Some(LoopSite::Comp(_)) = site.loop_for {
        "comprehension".to_string()
    } else if site.loop_for.is_some() {
        "for loop".to_string()
    } else {
        format!("{ctor_name}.{}", site.method)
    };
    // Items and the worker's arguments as functions of the base item.
    let (base, runs, worker_objs, items_expr) = if let Some(LoopSite::Comp(c)) = site.loop_for {
        let g = &c.generators[0];
        if !g.ifs.is_empty() || g.is_async {
            return err("a comprehension with a filter");
        }
        let items = info.sym(&g.iter, &site.env, 0)?;
        let (base, elem) = info.base_items(items, 0)?;
        let mut env2 = site.env.clone();
        super::sym::bind_target(&g.target, elem.clone(), &mut env2)?;
        if !matches!(&*c.elt, Expr::Call(_)) {
            return err("the comprehension does more than run notebooks");
        }
        let mut runs = Vec::new();
        p.reach_expr(&c.elt, &env2, &mut Vec::new(), &mut Vec::new(), &mut runs)?;
        (base, runs, vec![elem], Some(&g.iter))
    } else if let Some(LoopSite::For(f)) = site.loop_for {
        if !f.orelse.is_empty() {
            return err("a `for ... else` loop");
        }
        let items = info.sym(&f.iter, &site.env, 0)?;
        let (base, elem) = info.base_items(items, 0)?;
        let mut env2 = site.env.clone();
        super::sym::bind_target(&f.target, elem.clone(), &mut env2)?;
        for st in &f.body {
            let ok = match st {
                Stmt::Expr(e) => matches!(&*e.value, Expr::Call(_)),
                Stmt::Assign(a) => matches!(&*a.value, Expr::Call(_)),
                _ => false,
            };
            if !ok {
                return err(format!(
                    "the loop does more than run notebooks (line {}); move that work out first",
                    p.line_of(st)
                ));
            }
        }
        let mut runs = Vec::new();
        let mut env3 = env2;
        p.reach_stmts(
            &f.body,
            &mut env3,
            &mut Vec::new(),
            &mut Vec::new(),
            &mut runs,
        )?;
        (base, runs, vec![elem], Some(&*f.iter))
    } else {
        let (base, worker, wargs, wkw, items_expr): WorkerCall<'_> = if site.kind
            == DispatchKind::PoolMap
        {
            let call = site.call.ok_or("no dispatch call")?;
            if site.method == "starmap" {
                return err("`starmap` unpacks each item into the worker's arguments; write the worker for one argument (`map`) first");
            }
            if call.arguments.args.len() != 2 {
                return err(format!(
                    "`{dispatch}` with {} arguments",
                    call.arguments.args.len()
                ));
            }
            let items = info.sym(&call.arguments.args[1], &site.env, 0)?;
            let (base, elem) = info.base_items(items, 0)?;
            (
                base,
                &call.arguments.args[0],
                vec![elem],
                Vec::new(),
                Some(&call.arguments.args[1]),
            )
        } else {
            let call = site.call.ok_or("no dispatch call")?;
            let Some((target, iter)) = site.iter else {
                // One submit is one task, not a fan-out; quiet unless it runs a notebook.
                let reaches = call
                    .arguments
                    .args
                    .first()
                    .and_then(|w| p.reach_worker(w, Vec::new(), Vec::new(), &site.env).ok())
                    .is_some_and(|r| !r.is_empty())
                    || call.arguments.args.first().is_some_and(|w| p.is_run_ref(w));
                if !reaches {
                    return err(NOT_A_FAN_OUT);
                }
                return err(format!(
                    "`{dispatch}` outside a loop or comprehension: a single task, not a fan-out"
                ));
            };
            let items = info.sym(iter, &site.env, 0)?;
            let (base, elem) = info.base_items(items, 0)?;
            let mut env2 = site.env.clone();
            super::sym::bind_target(target, elem, &mut env2)?;
            let Some(worker) = call.arguments.args.first() else {
                return err(format!("`{dispatch}` without a function"));
            };
            let rest: Vec<&Expr> = if site.method == "apply_async" {
                match call.arguments.args.get(1) {
                    Some(Expr::Tuple(t)) => t.elts.iter().collect(),
                    Some(Expr::List(t)) => t.elts.iter().collect(),
                    None => Vec::new(),
                    Some(_) => return err("`apply_async` with non-literal arguments"),
                }
            } else {
                call.arguments.args.iter().skip(1).collect()
            };
            let mut args = Vec::new();
            for a in rest {
                if matches!(a, Expr::Starred(_)) {
                    return err("`*args` in the dispatch");
                }
                args.push(info.sym(a, &env2, 0)?);
            }
            let mut kw = Vec::new();
            for k in &call.arguments.keywords {
                match &k.arg {
                    Some(n) => kw.push((n.id.to_string(), info.sym(&k.value, &env2, 0)?)),
                    None => match info.sym(&k.value, &env2, 0)? {
                        Sym::Dict(kv) => {
                            for (k, v) in kv {
                                let Sym::Const(Value::String(k)) = k else {
                                    return err("`**` with non-literal keys");
                                };
                                kw.push((k, v));
                            }
                        }
                        _ => return err("`**kwargs` in the dispatch"),
                    },
                }
            }
            (base, worker, args, kw, Some(iter))
        };
        let worker_objs: Vec<Sym> = wargs
            .iter()
            .chain(wkw.iter().map(|(_, v)| v))
            .cloned()
            .collect();
        let runs = p.reach_worker(worker, wargs, wkw, &site.env)?;
        (base, runs, worker_objs, items_expr)
    };
    let run = merge_runs(&runs)?;
    // Retries: a retry loop around the call, or a `retry` attribute of the item object.
    let mut max_retries = run.retries;
    for o in &worker_objs {
        if let Sym::Obj(_, attrs) = o {
            for (n, v) in attrs {
                if matches!(n.as_str(), "retry" | "retries" | "max_retries") {
                    if let Some(Value::Number(k)) = p.static_of(v, &Value::Null) {
                        max_retries = k.as_u64().map(|k| k as u32).or(max_retries);
                    }
                }
            }
        }
    }
    let (source, values) = p.items_of(&base, items_expr.filter(|_| site.helper.is_none()));
    // Pool size.
    let mut notes = Vec::new();
    let pool_size = site.pool_ctor.and_then(|c| {
        let arg = c
            .arguments
            .keywords
            .iter()
            .find(|k| {
                k.arg
                    .as_ref()
                    .is_some_and(|a| matches!(a.id.as_str(), "max_workers" | "processes"))
            })
            .map(|k| &k.value)
            .or(c.arguments.args.first())?;
        if let Expr::Call(lc) = arg {
            if callee_name(&lc.func) == Some("len") {
                return values.as_ref().map(|v| v.len() as u64);
            }
        }
        let s = info.sym(arg, &site.env, 0).ok()?;
        p.static_of(&s, &Value::Null)?.as_u64()
    });
    let concurrency = match pool_size {
        _ if site.loop_for.is_some() => {
            notes.push("the loop ran the notebooks one after another: concurrency 1 keeps that; raise it when the runs are independent".into());
            1
        }
        Some(n) if n >= 1 => {
            if n > 100 {
                notes.push(format!(
                    "pool size {n} capped at 100 (the For Each maximum)"
                ));
            }
            n.min(100) as u32
        }
        _ => {
            notes.push("pool size not static: concurrency 32 assumed (review it)".into());
            32
        }
    };
    let timeout = match &run.timeout {
        None => None,
        Some(t) => match p.static_of(t, &Value::Null) {
            Some(Value::Number(n)) => n.as_i64().filter(|n| *n > 0).map(|n| n as u64),
            _ => {
                notes.push("timeout not static: no `timeout_seconds` set".into());
                None
            }
        },
    };
    // Parameters.
    let params: Vec<(String, Sym)> = match &run.args {
        None => Vec::new(),
        Some(Sym::Dict(kv)) => {
            let mut out = Vec::new();
            for (k, v) in kv {
                match p.static_of(k, &Value::Null) {
                    Some(Value::String(k)) => out.push((k, v.clone())),
                    _ => return err("an `arguments` key that is not a string literal"),
                }
            }
            out
        }
        Some(Sym::Global(g)) if info.single.contains_key(g.as_str()) => {
            match info.sym(info.single[g.as_str()], &HashMap::new(), 0)? {
                Sym::Dict(kv) => kv
                    .into_iter()
                    .map(|(k, v)| match p.static_of(&k, &Value::Null) {
                        Some(Value::String(k)) => Ok((k, v)),
                        _ => err("an `arguments` key that is not a string literal"),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return err("the `arguments` are not a dict literal"),
            }
        }
        Some(other) if other.depends_on_item() => {
            // The item (or a part of it) is the arguments dict: keys from the static items.
            let Some(vals) = &values else {
                return err("the `arguments` are built at run time; bricklint needs a dict literal to map them to parameters");
            };
            let mut keys: Vec<String> = Vec::new();
            for it in vals {
                match p.static_of(other, it) {
                    Some(Value::Object(m)) => {
                        for k in m.keys() {
                            if !keys.contains(k) {
                                keys.push(k.clone());
                            }
                        }
                    }
                    _ => return err("the `arguments` are not a dict for every item"),
                }
            }
            keys.into_iter()
                .map(|k| {
                    (
                        k.clone(),
                        Sym::Index(
                            Box::new(other.clone()),
                            Box::new(Sym::Const(Value::String(k))),
                        ),
                    )
                })
                .collect()
        }
        Some(_) => return err("the `arguments` are not a dict literal"),
    };
    let mut constant: Vec<(String, String)> = Vec::new();
    let mut per_item: Vec<(String, Sym)> = Vec::new();
    for (k, v) in params {
        match (v.depends_on_item(), p.static_of(&v, &Value::Null)) {
            (false, Some(c)) => constant.push((
                k,
                py_str(&c).ok_or("an argument value that is not a string")?,
            )),
            _ => per_item.push((k, v)),
        }
    }
    // Per-object tasks or For Each?
    let path_per_item = run.path.depends_on_item();
    let want_tasks = match opts.to {
        TargetShape::Tasks => true,
        TargetShape::ForEach => {
            if path_per_item {
                return err("the child notebook differs per item, which a For Each cannot express; use `--to tasks`");
            }
            false
        }
        TargetShape::Auto | TargetShape::Submit => path_per_item,
    };
    if want_tasks {
        let Some(vals) = &values else {
            return err(if path_per_item {
                "dynamic notebook paths (computed at run time): cannot autofix; list the notebooks literally or create the tasks by hand"
            } else {
                "per-object tasks need a static list of items"
            });
        };
        if vals.len() > 100 {
            return err(format!(
                "{} items: too many for one task per object; use For Each",
                vals.len()
            ));
        }
        let mut tasks = Vec::new();
        for it in vals {
            let Some(Value::String(path)) = p.static_of(&run.path, it) else {
                return err("a notebook path that is not a static string for every item");
            };
            let nb = p.resolve_notebook(&path)?;
            let mut params = constant.clone();
            for (k, v) in &per_item {
                let val = p
                    .static_of(v, it)
                    .and_then(|x| py_str(&x))
                    .ok_or_else(|| format!("the argument `{k}` is not static for every item"))?;
                params.push((k.clone(), val));
            }
            let mut base_key = stem(&nb);
            if !path_per_item {
                if let Some((_, v)) = params
                    .iter()
                    .find(|(k, _)| constant.iter().all(|(c, _)| c != k))
                {
                    base_key = format!("{base_key}_{v}");
                }
            }
            tasks.push(ObjectTask {
                task_key: unique_key(&base_key, used),
                notebook: nb,
                parameters: params,
                timeout_seconds: timeout,
                max_retries,
            });
        }
        // A sequential loop ran them one after the other: chained tasks keep that order.
        let kind = if site.loop_for.is_some() {
            notes.retain(|n| !n.contains("concurrency 1"));
            notes.push("the loop ran the notebooks one after another: each task depends on the previous one".into());
            FanOutKind::Chain(tasks)
        } else {
            FanOutKind::Tasks(tasks)
        };
        return Ok(SitePlan {
            fanout: FanOutPlan {
                line,
                dispatch,
                kind,
                remove: Vec::new(),
                replace: TextRange::default(),
                notes,
            },
            top: site.top,
            producer: None,
        });
    }
    // For Each.
    let path = match p.static_of(&run.path, &Value::Null) {
        Some(Value::String(s)) => s,
        _ => {
            return err(format!(
                "dynamic notebook path `{}`: cannot autofix; use a literal path",
                run.path.to_python("item").unwrap_or_else(|| "?".into())
            ))
        }
    };
    let child = p.resolve_notebook(&path)?;
    let task_key = unique_key(&format!("run_{}", stem(&child)), used);
    // One value per item: the item list holds just that value (`{{input}}`).
    let scalar = per_item.len() == 1;
    let mut parameters: Vec<(String, ParamValue)> = Vec::new();
    for (k, v) in &constant {
        parameters.push((k.clone(), ParamValue::Literal(v.clone())));
    }
    let elem = if scalar {
        parameters.insert(0, (per_item[0].0.clone(), ParamValue::Input));
        Sym::Str(Box::new(per_item[0].1.clone()))
    } else {
        for (k, _) in per_item.iter().rev() {
            parameters.insert(0, (k.clone(), ParamValue::InputField(k.clone())));
        }
        Sym::Dict(
            per_item
                .iter()
                .map(|(k, v)| {
                    (
                        Sym::Const(Value::String(k.clone())),
                        Sym::Str(Box::new(v.clone())),
                    )
                })
                .collect(),
        )
    };
    parameters.sort_by_key(|(k, _)| {
        per_item
            .iter()
            .position(|(x, _)| x == k)
            .unwrap_or(usize::MAX)
    });
    let item_values: Option<Vec<Value>> = values
        .as_ref()
        .and_then(|vals| vals.iter().map(|it| p.static_of(&elem, it)).collect());
    let var = if info.bound.contains("item") {
        "item_"
    } else {
        "item"
    };
    let base_py = base
        .to_python(var)
        .ok_or("the list of items cannot be written as Python")?;
    let elem_py = elem
        .to_python(var)
        .ok_or("the per-item arguments cannot be written as Python")?;
    let producer_expr = if elem == Sym::Str(Box::new(Sym::Item))
        && item_values.is_some()
        && values
            .as_ref()
            .is_some_and(|v| v.iter().all(Value::is_string))
    {
        base_py.clone()
    } else {
        format!("[{elem_py} for {var} in {base_py}]")
    };
    if source == ItemsSource::Dynamic {
        notes.push("the inputs are only known at run time: keep their JSON under 48 KiB (the task-value limit) or pass lookup keys".into());
    }
    if let Some(v) = &item_values {
        let size = serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
        if size > MAX_TASK_VALUE_BYTES && source != ItemsSource::Literal {
            return err(format!(
                "the inputs are {size} bytes of JSON, over the 48 KiB task-value limit; pass lookup keys and read the details in the child notebook"
            ));
        }
    }
    let fe = ForEachPlan {
        task_key: task_key.clone(),
        child,
        parameters,
        items: Items {
            source,
            values: item_values,
            producer_expr: producer_expr.clone(),
        },
        concurrency,
        timeout_seconds: timeout,
        max_retries,
        value_key: format!("{task_key}_inputs"),
    };
    let inline = super::yaml::inline_inputs(&fe).is_some();
    if !inline {
        if let (ItemsSource::Literal, Some(v)) = (&fe.items.source, &fe.items.values) {
            let size = serde_json::to_string(v).map(|s| s.len()).unwrap_or(0);
            if size > MAX_TASK_VALUE_BYTES {
                return err(format!(
                    "the inputs are {size} bytes of JSON: over 10,000 characters inline and over the 48 KiB task-value limit; pass lookup keys instead"
                ));
            }
        }
    }
    let producer = (!inline).then(|| {
        format!(
            "dbutils.jobs.taskValues.set(key=\"{}\", value={producer_expr})",
            fe.value_key
        )
    });
    Ok(SitePlan {
        fanout: FanOutPlan {
            line,
            dispatch,
            kind: FanOutKind::ForEach(fe),
            remove: Vec::new(),
            replace: TextRange::default(),
            notes,
        },
        top: site.top,
        producer,
    })
}

fn merge_runs(runs: &[RunCall]) -> Result<RunCall, String> {
    let Some(first) = runs.first() else {
        return err(NOT_A_FAN_OUT);
    };
    let key = |r: &RunCall| {
        (
            r.path.to_python("item"),
            r.timeout.as_ref().and_then(|t| t.to_python("item")),
        )
    };
    if runs.iter().any(|r| key(r) != key(first)) {
        return err("the worker runs several different notebooks");
    }
    let with_args: Vec<&RunCall> = runs.iter().filter(|r| r.args.is_some()).collect();
    if with_args.windows(2).any(|w| w[0].args != w[1].args) {
        return err("the worker passes different arguments on different paths");
    }
    let mut out = with_args.first().copied().unwrap_or(first).clone();
    out.retries = runs.iter().filter_map(|r| r.retries).max();
    Ok(out)
}

/// Decide the statement edits; refuse when the rewrite would change what the notebook does.
/// `announce` is the comment left where a fan-out was, with `{}` for the tasks that replace it.
fn rewrite_plan(
    p: &Planner<'_>,
    sites: &mut [SitePlan],
    announce: &str,
    convert_key: Option<&str>,
) -> Result<(Vec<StmtEdit>, bool), (u32, String)> {
    let body = p.body;
    let py = p.py;
    let pool = &|c: &ast::ExprCall| p.is_pool_ctor(c);
    let mut removed: HashSet<usize> = sites.iter().map(|s| s.top).collect();
    let replaced: HashSet<usize> = removed.clone();
    // Names the producer code still needs.
    let mut producer_uses: HashSet<String> = HashSet::new();
    for s in sites.iter() {
        if let Some(code) = &s.producer {
            let src = crate::source::python::PythonSource::from_text(code);
            for st in &src.module().body {
                producer_uses.extend(loaded_names_stmt(st));
            }
        }
    }
    // A `with` block holding a dispatch must hold nothing else.
    for s in sites.iter() {
        if let Stmt::With(w) = &body[s.top] {
            for inner in &w.body {
                let has_dispatch = calls_in(inner).iter().any(|c| p.is_dispatch(c));
                if !has_dispatch && !is_wait_like(inner) {
                    return Err((
                        p.line_of(inner),
                        "the pool block does other work too; move it out of the `with` block first"
                            .into(),
                    ));
                }
            }
        }
    }
    let first_top = sites.iter().map(|s| s.top).min().unwrap_or(0);
    // Fixpoint: remove statements connected to the fan-out that nothing else uses.
    let loads: Vec<HashSet<String>> = body.iter().map(loaded_names_stmt).collect();
    loop {
        let mut changed = false;
        let removed_uses: HashSet<String> = removed
            .iter()
            .flat_map(|&i| loads[i].iter().cloned())
            .collect();
        let removed_binds: HashSet<String> = removed
            .iter()
            .flat_map(|&i| super::names::bound_names_deep(&body[i]))
            .collect();
        for (i, s) in body.iter().enumerate() {
            if removed.contains(&i) {
                continue;
            }
            let binds: HashSet<String> = bound_names(s).into_iter().collect();
            let uses = &loads[i];
            let others_use = |n: &String| {
                producer_uses.contains(n)
                    || loads
                        .iter()
                        .enumerate()
                        .any(|(j, l)| j != i && !removed.contains(&j) && l.contains(n))
            };
            let connected = binds.iter().any(|n| removed_uses.contains(n));
            let removable_kind = matches!(
                s,
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) | Stmt::Import(_) | Stmt::ImportFrom(_)
            ) || matches!(s, Stmt::Assign(a) if is_pure_value(&a.value, pool));
            if connected && removable_kind && !binds.is_empty() && !binds.iter().any(others_use) {
                removed.insert(i);
                changed = true;
                continue;
            }
            // Statements that use what was removed must go too: waits only.
            let needs_removed = uses.iter().any(|n| {
                removed_binds.contains(n) && !binds.contains(n)
                    || removed_binds.contains(n) && !p.info.bound.contains(n.as_str())
            });
            let uses_removed = uses
                .iter()
                .any(|n| removed_binds.contains(n) && !producer_uses.contains(n));
            if (uses_removed || needs_removed) && i > first_top {
                if is_wait_like(s) {
                    removed.insert(i);
                    changed = true;
                } else {
                    return Err((p.line_of(s), "the fan-out's results are used here; a job task cannot hand them back to the notebook".into()));
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Code left after the first fan-out would now run before the child notebooks.
    for (i, s) in body.iter().enumerate() {
        if i > first_top && !removed.contains(&i) && !is_inert(s, pool) {
            return Err((p.line_of(s), "code after the fan-out would run before the child notebooks in the job; move it to its own notebook (a later task) first".into()));
        }
    }
    let keep_producer = sites.iter().any(|s| s.producer.is_some())
        || body
            .iter()
            .enumerate()
            .any(|(i, s)| !removed.contains(&i) && !is_inert(s, pool));
    // The orchestrator's own task becomes the first For Each task: it takes its key.
    if let (Some(k), false) = (convert_key, keep_producer) {
        if let Some(FanOutKind::ForEach(fe)) = sites.first_mut().map(|s| &mut s.fanout.kind) {
            fe.task_key = k.to_string();
            fe.value_key = format!("{k}_inputs");
        }
    }
    let rel = |s: &SitePlan| -> String {
        match &s.fanout.kind {
            FanOutKind::ForEach(fe) => format!("task `{}`", fe.task_key),
            FanOutKind::Tasks(ts) | FanOutKind::Chain(ts) => format!(
                "tasks {}",
                ts.iter()
                    .map(|t| format!("`{}`", t.task_key))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    };
    let mut edits = Vec::new();
    for &i in &removed {
        let range = py.doc_range(&body[i]);
        let code = match sites.iter().find(|s| s.top == i) {
            Some(s) if replaced.contains(&i) => {
                let mut c = vec![format!(
                    "# bricklint migrate: {}",
                    announce.replacen("{}", &rel(s), 1)
                )];
                c.extend(s.producer.iter().cloned());
                c
            }
            _ => Vec::new(),
        };
        edits.push(StmtEdit { range, code });
    }
    edits.sort_by_key(|e| e.range.start());
    for s in sites.iter_mut() {
        let r = py.doc_range(&body[s.top]);
        s.fanout.replace = whole_lines(p.doc, r);
        s.fanout.remove = removed
            .iter()
            .filter(|&&i| !replaced.contains(&i))
            .map(|&i| whole_lines(p.doc, py.doc_range(&body[i])))
            .collect();
        s.fanout.remove.sort_by_key(|r| r.start());
    }
    let _ = is_builtin_global;
    Ok((edits, keep_producer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plan `src` as `orch.py` in a temp folder holding a `child.py` and `other.py`, from
    /// the facts `check` computes.
    fn plan_src(src: &str, to: TargetShape) -> Planned {
        try_plan(src, to).expect("a fan-out")
    }

    fn try_plan(src: &str, to: TargetShape) -> Option<Planned> {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().to_path_buf();
        for c in ["child.py", "other.py"] {
            std::fs::write(dir.join(c), "# Databricks notebook source\n").unwrap();
        }
        let path = dir.join("orch.py");
        std::fs::write(&path, format!("# Databricks notebook source\n{src}")).unwrap();
        let (project, _, _) = crate::engine::load_project(&crate::engine::CheckOptions {
            paths: vec![dir.clone()],
            ..Default::default()
        })
        .unwrap();
        let doc = project
            .documents
            .iter()
            .find(|d| *d.path == path)
            .expect("orch.py is loaded")
            .clone();
        let facts = super::super::sites::facts_of(&project, &doc);
        let opts = PlanOptions {
            to,
            ..Default::default()
        };
        let p = plan_document(&doc, &dir, "orch", &opts, &facts);
        drop(t);
        p
    }

    #[test]
    fn fan_outs_the_planner_cannot_rewrite_are_refused_with_their_line() {
        let src = "import threading\nts = [threading.Thread(target=dbutils.notebook.run, args=('./child', 0)) for _ in range(2)]\n";
        let p = plan_src(src, TargetShape::Auto);
        assert!(p.plan.fanouts.is_empty());
        assert_eq!(p.plan.refusals.len(), 1, "{:?}", p.plan.refusals);
        assert_eq!(p.plan.refusals[0].line, 3);
        assert!(
            p.plan.refusals[0]
                .reason
                .starts_with("thread (`Thread`): not a shape"),
            "{:?}",
            p.plan.refusals
        );
        // A loop inside the worker, which the rewrite removes, does not block.
        let src = format!(
            "{POOL}def w(t):\n    for a in range(2):\n        dbutils.notebook.run('./child', 0, {{'t': t}})\nwith ThreadPoolExecutor(2) as ex:\n    ex.map(w, ['x'])\n"
        );
        let p = plan_src(&src, TargetShape::Auto);
        assert!(p.plan.refusals.is_empty(), "{:?}", p.plan.refusals);
        assert_eq!(p.plan.fanouts.len(), 1);
    }

    #[test]
    fn only_what_check_reports_is_a_candidate() {
        // A fan-out in a function the notebook never calls: refused with that reason.
        let r = refusal(&format!(
            "{POOL}def go(items):\n    with ThreadPoolExecutor(2) as ex:\n        ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), items)\n"
        ));
        assert!(
            r.contains("inside function `go`, which this notebook does not call"),
            "{r}"
        );
    }
    fn refusal(src: &str) -> String {
        let p = plan_src(src, TargetShape::Auto);
        assert!(p.plan.fanouts.is_empty(), "{:?}", p.plan.fanouts);
        assert!(p.edits.is_empty());
        p.plan
            .refusals
            .iter()
            .map(|r| r.reason.clone())
            .collect::<Vec<_>>()
            .join("; ")
    }

    const POOL: &str = "from concurrent.futures import ThreadPoolExecutor\n";

    #[test]
    fn pools_without_notebook_runs_are_not_reported() {
        let src = format!("{POOL}# not a notebook fan-out\nwith ThreadPoolExecutor(4) as ex:\n    ex.map(lambda t: spark.sql(f'OPTIMIZE {{t}}'), ['a'])\nprint('done')\n");
        assert!(try_plan(&src, TargetShape::Auto).is_none());
    }

    #[test]
    fn tuple_targets_bind_item_elements() {
        let p = plan_src(
            &format!(
                "{POOL}jobs = [('./child', {{'x': '1'}}), ('./other', {{'x': '2'}})]\nwith ThreadPoolExecutor(2) as ex:\n    futs = [ex.submit(dbutils.notebook.run, path, 60, args) for path, args in jobs]\n"
            ),
            TargetShape::Auto,
        );
        let FanOutKind::Tasks(ts) = &p.plan.fanouts[0].kind else {
            panic!("{:?}", p.plan)
        };
        assert_eq!(ts[0].parameters, vec![("x".to_string(), "1".to_string())]);
        assert_eq!(ts[1].parameters, vec![("x".to_string(), "2".to_string())]);
        assert!(ts[1].notebook.ends_with("other.py"));
    }

    #[test]
    fn partial_workers_are_followed() {
        let p = plan_src(
            &format!(
                "{POOL}from functools import partial\ndef run(env, table, timeout=60):\n    return dbutils.notebook.run('./child', timeout, {{'env': env, 'table': table}})\nwith ThreadPoolExecutor(3) as ex:\n    ex.map(partial(run, 'prod', timeout=120), ['a', 'b'])\n"
            ),
            TargetShape::Auto,
        );
        let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
            panic!("{:?}", p.plan)
        };
        assert_eq!(fe.timeout_seconds, Some(120));
        assert_eq!(
            fe.parameters,
            vec![
                ("table".into(), ParamValue::Input),
                ("env".into(), ParamValue::Literal("prod".into())),
            ]
        );
        assert!(
            p.edits.iter().any(|e| e.code.is_empty()),
            "the import of partial goes too"
        );
    }

    #[test]
    fn sequential_comprehensions_become_for_each_with_concurrency_one() {
        let p = plan_src(
            "days = ['mon', 'tue']\n[dbutils.notebook.run('./child', 60, {'day': d}) for d in days]\n",
            TargetShape::Auto,
        );
        assert!(p.plan.refusals.is_empty(), "{:?}", p.plan.refusals);
        let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
            panic!("{:?}", p.plan)
        };
        assert_eq!(fe.concurrency, 1);
        assert_eq!(p.plan.fanouts[0].dispatch, "comprehension");
        // A comprehension whose results are used later is refused.
        let r = refusal("out = [dbutils.notebook.run('./child', 60) for d in ['a']]\nprint(len(out))\nspark.sql('x')\n");
        assert!(!r.is_empty());
    }

    #[test]
    fn results_used_later_are_refused() {
        let r = refusal(&format!(
            "{POOL}t = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    res = list(ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t))\ndf = spark.createDataFrame(res)\n"
        ));
        assert!(r.contains("results are used"), "{r}");
    }

    #[test]
    fn work_after_the_fan_out_is_refused() {
        let r = refusal(&format!(
            "{POOL}t = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\nspark.sql('OPTIMIZE x')\n"
        ));
        assert!(r.contains("code after the fan-out"), "{r}");
    }

    #[test]
    fn pool_block_with_other_work_is_refused() {
        let r = refusal(&format!(
            "{POOL}t = ['a']\nwith ThreadPoolExecutor(2) as ex:\n    spark.sql('SELECT 1')\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\n"
        ));
        assert!(r.contains("does other work"), "{r}");
    }

    #[test]
    fn missing_child_and_workspace_paths_are_refused() {
        let r = refusal(&format!(
            "{POOL}with ThreadPoolExecutor(2) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./missing', 0, {{'t': x}}), ['a'])\n"
        ));
        assert!(r.contains("not a file of this repository"), "{r}");
        let r = refusal(&format!(
            "{POOL}with ThreadPoolExecutor(2) as ex:\n    ex.map(lambda x: dbutils.notebook.run('/Shared/x', 0, {{'t': x}}), ['a'])\n"
        ));
        assert!(r.contains("workspace path"), "{r}");
    }

    #[test]
    fn different_notebooks_per_item_need_tasks() {
        let src = format!(
            "{POOL}with ThreadPoolExecutor(2) as ex:\n    ex.map(lambda p: dbutils.notebook.run(p, 60), ['./child', './other'])\n"
        );
        let p = plan_src(&src, TargetShape::Auto);
        match &p.plan.fanouts[0].kind {
            FanOutKind::Tasks(ts) => {
                let keys: Vec<&str> = ts.iter().map(|t| t.task_key.as_str()).collect();
                assert_eq!(keys, ["child", "other"]);
                assert_eq!(ts[0].timeout_seconds, Some(60));
            }
            k => panic!("{k:?}"),
        }
        let p = plan_src(&src, TargetShape::ForEach);
        assert!(p.plan.refusals[0].reason.contains("--to tasks"));
    }

    #[test]
    fn arguments_map_to_input_fields_and_literals() {
        let p = plan_src(
            &format!(
                "{POOL}ENV = 'prod'\nitems = [{{'n': 'a', 'k': 1}}, {{'n': 'b', 'k': 2}}]\ndef w(it):\n    args = {{'name': it['n'], 'key': it['k'], 'env': ENV}}\n    return dbutils.notebook.run('child', 30, args)\nwith ThreadPoolExecutor(max_workers=200) as ex:\n    for it in items:\n        ex.submit(w, it)\n"
            ),
            TargetShape::Auto,
        );
        let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
            panic!()
        };
        assert_eq!(fe.concurrency, 100);
        assert_eq!(
            fe.parameters,
            vec![
                ("name".into(), ParamValue::InputField("name".into())),
                ("key".into(), ParamValue::InputField("key".into())),
                ("env".into(), ParamValue::Literal("prod".into())),
            ]
        );
        // Values become strings, as notebook.run needed.
        assert_eq!(
            fe.items.values,
            Some(vec![
                serde_json::json!({"name": "a", "key": "1"}),
                serde_json::json!({"name": "b", "key": "2"}),
            ])
        );
        assert_eq!(
            fe.items.producer_expr,
            "[{\"name\": str(item[\"n\"]), \"key\": str(item[\"k\"])} for item in items]"
        );
    }

    #[test]
    fn large_static_inputs_use_the_producer_and_huge_ones_are_refused() {
        let items: Vec<String> = (0..1500).map(|i| format!("'table_{i:06}'")).collect();
        let p = plan_src(
            &format!(
                "{POOL}t = [{}]\nwith ThreadPoolExecutor(4) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\n",
                items.join(", ")
            ),
            TargetShape::Auto,
        );
        let FanOutKind::ForEach(fe) = &p.plan.fanouts[0].kind else {
            panic!()
        };
        assert!(super::super::yaml::inline_inputs(fe).is_none());
        assert!(p.edits.iter().any(|e| e.code.iter().any(
            |c| c.starts_with("dbutils.jobs.taskValues.set(key=\"run_child_inputs\", value=t)")
        )));
        let items: Vec<String> = (0..5000).map(|i| format!("'table_{i:06}'")).collect();
        let r = refusal(&format!(
            "{POOL}t = [{}]\nwith ThreadPoolExecutor(4) as ex:\n    ex.map(lambda x: dbutils.notebook.run('./child', 0, {{'t': x}}), t)\n",
            items.join(", ")
        ));
        assert!(r.contains("48 KiB"), "{r}");
    }
}
