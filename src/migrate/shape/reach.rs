//! Following a worker to the `dbutils.notebook.run` calls it reaches (the calls the facts
//! know), with the path, timeout and arguments as functions of the item.

use std::collections::HashMap;
use std::path::PathBuf;

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use serde_json::Value;

use super::{callee_name, err, Planner, NOT_A_FAN_OUT};
use crate::migrate::plan::ItemsSource;
use crate::migrate::sym::{bind_params, bind_values, Sym};

/// A reached `dbutils.notebook.run`.
#[derive(Debug, Clone)]
pub(super) struct RunCall {
    pub(super) path: Sym,
    pub(super) timeout: Option<Sym>,
    pub(super) args: Option<Sym>,
    pub(super) retries: Option<u32>,
}

impl<'a> Planner<'a> {
    /// Follow a worker to the `notebook.run` calls it reaches.
    pub(super) fn reach_worker(
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
                // A lambda bound to a name of the notebook (`run = lambda t: ...`).
                if let Some(l @ Expr::Lambda(_)) = self.info.single.get(n.id.as_str()).copied() {
                    if !env.contains_key(n.id.as_str()) {
                        return self.reach_worker(l, args, kw, env);
                    }
                }
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

    pub(super) fn reach_body(
        &self,
        stmts: &'a [Stmt],
        mut env: HashMap<String, Sym>,
        stack: &mut Vec<String>,
        retry: &mut Vec<u32>,
        out: &mut Vec<RunCall>,
    ) -> Result<(), String> {
        self.reach_stmts(stmts, &mut env, stack, retry, out)
    }

    pub(super) fn reach_stmts(
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

    pub(super) fn reach_expr(
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

    pub(super) fn reach_call(
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

    pub(super) fn static_of(&self, s: &Sym, item: &Value) -> Option<Value> {
        s.eval(item, &|n| self.info.global_value(n))
    }

    /// Resolve a `notebook.run` path to a repository file, as Databricks does: relative to the
    /// calling notebook's folder, the extension added.
    pub(super) fn resolve_notebook(&self, p: &str) -> Result<PathBuf, String> {
        if p.starts_with('/') {
            return self.resolve_workspace_path(p);
        }
        let base = crate::discover::normalize(&self.notebook_dir.join(p));
        with_notebook_extension(&base)
            .ok_or_else(|| format!("the child notebook `{p}` is not a file of this repository"))
    }

    /// A workspace path (`/Repos/<user>/<repo>/notebooks/x`, `/Workspace/Users/<user>/...`)
    /// that ends in a notebook of this repository: the longest tail of the path that names a
    /// notebook from the bundle root, at least a folder and a name (a bare name only when the
    /// folder before it is the bundle root's own name).
    fn resolve_workspace_path(&self, p: &str) -> Result<PathBuf, String> {
        let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        let root_name = self
            .bundle_root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        for k in (1..parts.len()).rev() {
            let tail = &parts[parts.len() - k..];
            if k == 1 && parts[parts.len() - 2] != root_name {
                continue;
            }
            if tail.iter().any(|c| *c == "." || *c == "..") {
                continue;
            }
            let candidate = self.bundle_root.join(tail.join("/"));
            if let Some(f) = with_notebook_extension(&candidate) {
                return Ok(f);
            }
        }
        err(format!(
            "the child notebook `{p}` is a workspace path that ends in no notebook of this repository (its last folders were compared from the bundle root); run a repository notebook by its relative path, or create the task by hand"
        ))
    }

    /// The statically known items and their source.
    pub(super) fn items_of(
        &self,
        base: &Sym,
        direct: Option<&'a Expr>,
    ) -> (ItemsSource, Option<Vec<Value>>) {
        let expr = match base {
            // A filtered list: the items of the list the filter keeps.
            Sym::Filter(inner, cond) => {
                let (source, values) = self.items_of(inner, None);
                let values = values.and_then(|vs| {
                    let mut kept = Vec::new();
                    for v in vs {
                        if crate::migrate::sym::truthy(&self.static_of(cond, &v)?) {
                            kept.push(v);
                        }
                    }
                    Some(kept)
                });
                return (source, values);
            }
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

pub(super) fn calls_in(s: &Stmt) -> Vec<&ast::ExprCall> {
    let mut v = Calls::default();
    v.visit_stmt(s);
    v.calls
}

pub(super) fn merge_runs(runs: &[RunCall]) -> Result<RunCall, String> {
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

/// The notebook file `base` names: itself, or with a notebook extension added (as Databricks
/// resolves `notebook.run` paths).
fn with_notebook_extension(base: &std::path::Path) -> Option<PathBuf> {
    if base.is_file() {
        return Some(base.to_path_buf());
    }
    ["py", "ipynb", "sql", "scala", "r"].iter().find_map(|ext| {
        let mut c = base.to_path_buf().into_os_string();
        c.push(".");
        c.push(ext);
        let c = PathBuf::from(c);
        c.is_file().then_some(c)
    })
}
