//! Statements: assignments, imports, branches (both sides run and joined when the test is not
//! known), loops (item by item over known iterables, once abstractly otherwise), `try`, `with`,
//! and calls of the document's own functions.

use ruff_python_ast::statement_visitor::{walk_stmt, StatementVisitor};
use ruff_python_ast::visitor::{walk_expr, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

use super::builtins::{binop, element_bound, element_of, iterate};
use super::interp::{Flow, Interp, MAX_DEPTH, STEP_BUDGET};
use super::json::join;
use super::objects::canonical_module;
use super::record::Arg;
use super::Value;
use crate::fasthash::HashMap;

impl<'a> Interp<'a, '_> {
    pub(super) fn exec_block(&mut self, body: &'a [Stmt]) -> Flow {
        for s in body {
            let f = self.exec(s);
            if f != Flow::Normal {
                return f;
            }
        }
        Flow::Normal
    }

    /// Execute alternative blocks (branches of an `if` whose test is unknown) and join.
    pub(super) fn exec_alternatives(&mut self, blocks: &[&'a [Stmt]], fallthrough: bool) -> Flow {
        let mut results: Vec<HashMap<(usize, String), Option<Value>>> = Vec::new();
        let mut olds: HashMap<(usize, String), Option<Value>> = HashMap::default();
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
            let mut acc: Option<Value> = None;
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
                    v = join(v.clone(), Value::unknown());
                    // A variable bound in only some branches: keep what we know.
                    if let Some(only) = results.iter().find_map(|w| w.get(key).cloned().flatten()) {
                        v = join(only, Value::unknown());
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
            Stmt::AugAssign(a) => self.exec_aug_assign(a),
            Stmt::Import(i) => {
                for alias in &i.names {
                    let full = alias.name.as_str();
                    match &alias.asname {
                        Some(a) => self.set_var(a.as_str(), Value::Obj(canonical_module(full))),
                        None => {
                            let first = full.split('.').next().unwrap_or(full);
                            self.set_var(first, Value::Obj(canonical_module(first)));
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => self.exec_import_from(i),
            Stmt::FunctionDef(f) => {
                self.funcs.insert(f.name.to_string(), f);
                self.set_var(
                    f.name.as_str(),
                    Value::Obj(format!("<function {}>", f.name)),
                );
            }
            Stmt::ClassDef(c) => {
                self.set_var(c.name.as_str(), Value::unknown());
            }
            Stmt::Return(r) => {
                let v = r
                    .value
                    .as_ref()
                    .map(|e| self.eval(e))
                    .unwrap_or(Value::None);
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
                self.widen_loop_carried(&w.body);
                self.exec_alternatives(&[&w.body], true);
                self.abstract_loops.pop();
                self.exec_block(&w.orelse);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    let v = self.eval(&item.context_expr);
                    if let Some(t) = &item.optional_vars {
                        let bound = match v {
                            f @ Value::File(_) => f,
                            Value::Obj(p) => Value::Obj(p),
                            _ => Value::unknown(),
                        };
                        self.bind_target(t, bound);
                    }
                }
                return self.exec_block(&w.body);
            }
            Stmt::Try(t) => return self.exec_try(t),
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
                        self.set_var(n.id.as_str(), Value::unknown());
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

    fn exec_aug_assign(&mut self, a: &'a ast::StmtAugAssign) {
        let rhs = self.eval(&a.value);
        if let Expr::Name(n) = &*a.target {
            let cur = self
                .lookup(n.id.as_str())
                .cloned()
                .unwrap_or_else(Value::unknown);
            let new = if !self.abstract_loops.is_empty()
                && matches!(cur, Value::List(_) | Value::Str(_) | Value::Dict(_))
            {
                self.abstract_mutation(cur, &rhs)
            } else {
                binop(a.op, cur, rhs)
            };
            self.update_var(n.id.as_str(), new);
        } else {
            self.bind_target(&a.target, Value::unknown());
        }
    }

    fn exec_import_from(&mut self, i: &'a ast::StmtImportFrom) {
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
            self.set_var(bound, Value::Obj(canonical_module(&path)));
        }
    }

    fn exec_try(&mut self, t: &'a ast::StmtTry) -> Flow {
        let f = self.exec_block(&t.body);
        let handlers: Vec<&'a [Stmt]> = t
            .handlers
            .iter()
            .map(|ast::ExceptHandler::ExceptHandler(h)| &h.body[..])
            .collect();
        if !handlers.is_empty() {
            for ast::ExceptHandler::ExceptHandler(h) in &t.handlers {
                if let Some(n) = &h.name {
                    self.set_var(n.as_str(), Value::unknown());
                }
            }
            self.exec_alternatives(&handlers, true);
        }
        if f == Flow::Normal {
            self.exec_block(&t.orelse);
        }
        self.exec_block(&t.finalbody);
        f
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
        match iterate(&iter) {
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
                self.widen_loop_carried(&f.body);
                self.exec_alternatives(&[&f.body], true);
                self.abstract_loops.pop();
                self.exec_block(&f.orelse)
            }
        }
    }

    /// Before the body of a loop whose iterations are not known one by one: the variables the
    /// body assigns may hold any iteration's value, so their value before the loop is not what
    /// the body reads (`i = 0; while ...: set(f"k_{i}", v); i += 1`). Accumulated containers
    /// and strings grow with the iterations (unbounded when the loop is); other values become
    /// unknown, keeping what is known of their size and JSON-ness.
    fn widen_loop_carried(&mut self, body: &'a [Stmt]) {
        let mut assigned = Assigned::default();
        assigned.visit_body(body);
        for (name, accumulated) in assigned.names {
            let Some(cur) = self.lookup(name).cloned() else {
                continue;
            };
            let grows = accumulated
                && matches!(
                    cur,
                    Value::List(_) | Value::Tuple(_) | Value::Dict(_) | Value::Str(_)
                );
            let widened = if grows {
                self.abstract_mutation(cur, &Value::None)
            } else {
                element_bound(&cur)
            };
            self.update_var(name, widened);
        }
    }

    /// Call a function of the document with evaluated arguments.
    pub(super) fn call_local(&mut self, f: &'a ast::StmtFunctionDef, args: &[Arg]) -> Value {
        if self.depth >= MAX_DEPTH || self.steps >= STEP_BUDGET {
            return Value::unknown();
        }
        self.executed.insert(f.range);
        let frame = self.bind_arguments(f, args);
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
        let ret = self.returns.pop().flatten().unwrap_or(Value::None);
        self.scopes.pop();
        self.depth -= 1;
        ret
    }

    /// The frame of a call: parameters bound to arguments, then to defaults (evaluated in the
    /// caller's scope, good enough for literals), else unknown.
    fn bind_arguments(
        &mut self,
        f: &'a ast::StmtFunctionDef,
        args: &[Arg],
    ) -> HashMap<String, Value> {
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
                .or_else(|| pd.default.as_ref().map(|_| Value::unknown()));
            frame.insert(name.to_string(), v.unwrap_or_else(Value::unknown));
        }
        for pd in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
            let name = pd.parameter.name.as_str();
            let given = args.iter().any(|a| a.name.as_deref() == Some(name));
            let needs_default = matches!(frame.get(name), None | Some(Value::Dynamic { .. }));
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
                    .unwrap_or_else(Value::unknown);
                frame.insert(name.to_string(), v);
            }
        }
        if let Some(a) = &p.vararg {
            frame.insert(a.name.to_string(), Value::unknown());
        }
        if let Some(a) = &p.kwarg {
            frame.insert(a.name.to_string(), Value::unknown());
        }
        frame
    }
}

/// The names a loop body assigns (not inside nested functions or classes), each with whether
/// it accumulates (`x += ...`, `x = x + ...`).
#[derive(Default)]
struct Assigned<'a> {
    names: Vec<(&'a str, bool)>,
}

impl<'a> Assigned<'a> {
    fn add(&mut self, target: &'a Expr, accumulated: bool) {
        match target {
            Expr::Name(n) => match self.names.iter_mut().find(|(m, _)| *m == n.id.as_str()) {
                Some(e) => e.1 |= accumulated,
                None => self.names.push((n.id.as_str(), accumulated)),
            },
            Expr::Tuple(t) => t.elts.iter().for_each(|e| self.add(e, accumulated)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.add(e, accumulated)),
            Expr::Starred(s) => self.add(&s.value, accumulated),
            _ => {}
        }
    }
}

impl<'a> StatementVisitor<'a> for Assigned<'a> {
    fn visit_stmt(&mut self, s: &'a Stmt) {
        match s {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => return,
            Stmt::Assign(a) => {
                for t in &a.targets {
                    let reads_itself =
                        matches!(t, Expr::Name(n) if mentions(&a.value, n.id.as_str()));
                    self.add(t, reads_itself);
                }
            }
            Stmt::AnnAssign(a) => self.add(&a.target, false),
            Stmt::AugAssign(a) => self.add(&a.target, true),
            Stmt::For(f) => self.add(&f.target, false),
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(t) = &item.optional_vars {
                        self.add(t, false);
                    }
                }
            }
            _ => {}
        }
        walk_stmt(self, s);
    }
}

/// Does `e` read the name `name`?
fn mentions(e: &Expr, name: &str) -> bool {
    struct Find<'n>(&'n str, bool);
    impl<'a> Visitor<'a> for Find<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::Name(n) if n.id.as_str() == self.0 => self.1 = true,
                _ => walk_expr(self, e),
            }
        }
    }
    let mut f = Find(name, false);
    f.visit_expr(e);
    f.1
}
