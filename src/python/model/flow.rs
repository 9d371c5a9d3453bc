//! Data flow of values built from literals: the expressions a value may come from, and the
//! static values it may take. Followed:
//!
//! - names bound once, or the nearest binding before the use in straight-line code;
//! - loop and comprehension variables over list / tuple / set displays (also unpacked targets,
//!   `for name, timeout in [("./a", 0)]`) and over list comprehensions;
//! - parameters, through the calls of the file that reach the function: direct calls (and
//!   method calls through an instance), `submit(f, x)`, `map(f, items)` (one item each),
//!   `Thread(target=f, args=(x,))`, and the parameter's default when a call leaves it out;
//! - both branches of a conditional expression whose test is not known;
//! - an item of a display read with a literal index or key (`nb[1]`, `step["timeout"]`);
//! - an attribute of an instance of a local class set from a constructor parameter
//!   (`self.timeout = timeout` in `__init__`, so `Child("./a", 0).timeout` is `0`), or from an
//!   annotated field of a `@dataclass` / `NamedTuple` in declaration order.
//!
//! The model stays flow-insensitive otherwise: every origin found is possible, none is certain.

use std::cell::OnceCell;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::{BindingKind, CallRef, ClassId, FuncId, FuncNode, Model, ScopeId};
use crate::fasthash::HashMap;
use crate::python::value::{self as eval, Value};

/// An expression a value may come from, with the scope it is evaluated in.
pub type Origin<'a> = (&'a Expr, ScopeId);

/// More origins than this and the flow is not known.
const MAX_ORIGINS: usize = 64;
/// Longest chain of names, parameters, items and attributes followed.
const MAX_FLOW_DEPTH: u32 = 10;
/// Most combinations of name values tried by [`Model::values`].
const MAX_COMBINATIONS: usize = 64;
/// Most steps of one [`Model::origins`] / [`Model::values`] query (a bound on the work of
/// hostile sources whatever their shape).
const MAX_STEPS: u32 = 20_000;

/// How a call hands a function its arguments.
#[derive(Debug, Clone, Copy)]
enum SiteKind {
    /// `f(a, b)` / `obj.method(a)`: positional arguments from `offset`.
    Direct { offset: usize },
    /// `pool.submit(f, a, b)`: the arguments after the worker at `worker`.
    Forward { worker: usize, offset: usize },
    /// `pool.map(f, items)`: one item of the iterable after the worker per call.
    Map { worker: usize, offset: usize },
    /// `Thread(target=f, args=(a, b))`.
    Target { offset: usize },
}

/// Calls reaching each function of the model (index into `Model::calls`, how).
type CallSites = HashMap<FuncId, Vec<(usize, SiteKind)>>;

/// The lazily built call sites of a model.
#[derive(Default)]
pub(super) struct FlowCache {
    sites: OnceCell<CallSites>,
    /// Steps taken by the current query.
    steps: std::cell::Cell<u32>,
}

const MAP_METHODS: &[&str] = &["map", "imap", "imap_unordered", "map_async"];

impl<'a> Model<'a> {
    /// The expressions `e` (evaluated in `scope`) may take its value from. An expression the
    /// flow cannot follow further is its own origin. `None` when there are too many.
    pub fn origins(&self, e: &'a Expr, scope: ScopeId) -> Option<Vec<Origin<'a>>> {
        self.flow.steps.set(0);
        self.origins_at(e, scope, 0)
    }

    /// [`Model::origins`] from depth `d` of a query already running.
    fn origins_at(&self, e: &'a Expr, scope: ScopeId, d: u32) -> Option<Vec<Origin<'a>>> {
        let mut out = Vec::new();
        self.origins_d(e, scope, d, &mut out).then_some(out)
    }

    fn origins_d(&self, e: &'a Expr, scope: ScopeId, d: u32, out: &mut Vec<Origin<'a>>) -> bool {
        let steps = self.flow.steps.get() + 1;
        self.flow.steps.set(steps);
        if out.len() >= MAX_ORIGINS || steps > MAX_STEPS {
            return false;
        }
        if d <= MAX_FLOW_DEPTH {
            let mut found = Vec::new();
            let followed = match e {
                Expr::Name(n) => self.name_origins(n, scope, d, &mut found),
                Expr::Subscript(s) => self.item_origins(s, scope, d, &mut found),
                Expr::Attribute(a) => self.attr_origins(a, scope, d, &mut found),
                Expr::If(i) => {
                    let ok = match self.eval(&i.test, scope).and_then(|t| t.truthy()) {
                        Some(true) => self.origins_d(&i.body, scope, d + 1, &mut found),
                        Some(false) => self.origins_d(&i.orelse, scope, d + 1, &mut found),
                        None => {
                            self.origins_d(&i.body, scope, d + 1, &mut found)
                                && self.origins_d(&i.orelse, scope, d + 1, &mut found)
                        }
                    };
                    ok.then_some(true)
                }
                _ => Some(false),
            };
            match followed {
                Some(true) => {
                    out.extend(found);
                    return out.len() <= MAX_ORIGINS;
                }
                None => return false,
                Some(false) => {}
            }
        }
        out.push((e, scope));
        true
    }

    /// `Some(true)` when followed, `Some(false)` when `n` is its own origin, `None` when too
    /// many.
    fn name_origins(
        &self,
        n: &'a ast::ExprName,
        scope: ScopeId,
        d: u32,
        out: &mut Vec<Origin<'a>>,
    ) -> Option<bool> {
        let mut at = n.range.start();
        // `base = f"{base}/x"`: the right-hand side reads the binding before this one.
        if let [b] = self.visible(scope, n.id.as_str(), at) {
            let bd = &self.bindings[*b];
            if let BindingKind::Assign(v) = bd.kind {
                if v.range().contains(at) && bd.range.start() > 0.into() {
                    at = bd.range.start() - ruff_text_size::TextSize::new(1);
                }
            }
        }
        let bindings = self.reaching(scope, n.id.as_str(), at);
        if bindings.is_empty() {
            return Some(false);
        }
        let mut found = Vec::new();
        for b in bindings {
            let bd = &self.bindings[b];
            let ok = match bd.kind {
                BindingKind::Assign(v) => self.origins_d(v, bd.scope, d + 1, &mut found),
                BindingKind::LoopVar(iter, target) => {
                    let Some(path) = target_path(target, n.id.as_str(), bd.range) else {
                        return Some(false);
                    };
                    let Some(items) = self.elements(iter, bd.scope, d + 1) else {
                        return Some(false);
                    };
                    let mut ok = true;
                    for (item, s) in items {
                        match unpack(item, &path) {
                            Some(x) => ok &= self.origins_d(x, s, d + 1, &mut found),
                            None => return Some(false),
                        }
                    }
                    ok
                }
                BindingKind::Param(f, i) => match self.param_origins(f, i, d + 1, &mut found) {
                    Some(ok) => ok,
                    None => return Some(false),
                },
                _ => return Some(false),
            };
            if !ok {
                return None;
            }
        }
        out.extend(found);
        Some(true)
    }

    /// The bindings of `name` that may reach a use at `at` in `scope`: in straight-line code of
    /// the same scope, the bindings before the use back to the first one that runs whenever the
    /// use runs (`p = ""` then `if c: p = "./x/"` reaches a use after the `if` with both);
    /// otherwise [`Model::visible`].
    fn reaching(&self, scope: ScopeId, name: &str, at: TextSize) -> Vec<usize> {
        let all = self.lookup(scope, name);
        if all.len() <= 1 || self.bindings[all[0]].scope != scope {
            return self.visible(scope, name, at).to_vec();
        }
        let i = all.partition_point(|&b| self.bindings[b].range.start() <= at);
        if i == 0 {
            return self.visible(scope, name, at).to_vec();
        }
        let mut out = Vec::new();
        for &b in all[..i].iter().rev() {
            out.push(b);
            if out.len() >= 8 || self.dominates(self.bindings[b].range, at) {
                break;
            }
        }
        out
    }

    /// Does the statement binding at `b` run whenever the code at `at` runs? False when it sits
    /// in a branch, loop or handler body that does not also hold `at`.
    fn dominates(&self, b: TextRange, at: TextSize) -> bool {
        let mut body: &[Stmt] = &self.py.module().body;
        loop {
            let Some(s) = body.iter().find(|s| s.range().contains_range(b)) else {
                return true;
            };
            let blocks: Vec<(&[Stmt], bool)> = match s {
                Stmt::If(i) => std::iter::once((&i.body[..], true))
                    .chain(i.elif_else_clauses.iter().map(|c| (&c.body[..], true)))
                    .collect(),
                Stmt::For(f) => vec![(&f.body[..], true), (&f.orelse[..], true)],
                Stmt::While(w) => vec![(&w.body[..], true), (&w.orelse[..], true)],
                Stmt::Try(t) => std::iter::once((&t.body[..], false))
                    .chain(t.handlers.iter().map(|h| {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        (&h.body[..], true)
                    }))
                    .chain([(&t.orelse[..], true), (&t.finalbody[..], false)])
                    .collect(),
                Stmt::With(w) => vec![(&w.body[..], false)],
                Stmt::Match(m) => m.cases.iter().map(|c| (&c.body[..], true)).collect(),
                Stmt::FunctionDef(f) => vec![(&f.body[..], false)],
                Stmt::ClassDef(c) => vec![(&c.body[..], false)],
                _ => return true,
            };
            let Some((next, conditional)) = blocks
                .into_iter()
                .find(|(blk, _)| blk.iter().any(|s| s.range().contains_range(b)))
            else {
                return true;
            };
            if conditional {
                let (Some(first), Some(last)) = (next.first(), next.last()) else {
                    return true;
                };
                if !TextRange::new(first.start(), last.end()).contains(at) {
                    return false;
                }
            }
            body = next;
        }
    }

    /// The items of an iterable: elements of displays it comes from, the element of a list
    /// comprehension. `None` when one of its origins is something else.
    fn elements(&self, iter: &'a Expr, scope: ScopeId, d: u32) -> Option<Vec<Origin<'a>>> {
        let mut out = Vec::new();
        for (o, s) in self.origins_at(iter, scope, d)? {
            match o {
                Expr::List(ast::ExprList { elts, .. })
                | Expr::Tuple(ast::ExprTuple { elts, .. })
                | Expr::Set(ast::ExprSet { elts, .. }) => {
                    if elts.iter().any(Expr::is_starred_expr) {
                        return None;
                    }
                    out.extend(elts.iter().map(|x| (x, s)));
                }
                Expr::ListComp(c) => out.push((&c.elt, self.scope_at(c.elt.range().start()))),
                _ => return None,
            }
            if out.len() > MAX_ORIGINS || d > MAX_FLOW_DEPTH {
                return None;
            }
        }
        Some(out)
    }

    /// `x[1]`, `x["timeout"]`: the item of each display `x` comes from.
    fn item_origins(
        &self,
        s: &'a ast::ExprSubscript,
        scope: ScopeId,
        d: u32,
        out: &mut Vec<Origin<'a>>,
    ) -> Option<bool> {
        let Some(key) = self.eval(&s.slice, scope) else {
            return Some(false);
        };
        let mut found = Vec::new();
        for (o, os) in self.origins_at(&s.value, scope, d + 1)? {
            let item = match (o, &key) {
                (
                    Expr::List(ast::ExprList { elts, .. })
                    | Expr::Tuple(ast::ExprTuple { elts, .. }),
                    Value::Int(i),
                ) if !elts.iter().any(Expr::is_starred_expr) => {
                    let i = if *i < 0 { elts.len() as i128 + i } else { *i };
                    usize::try_from(i).ok().and_then(|i| elts.get(i))
                }
                (Expr::Dict(dict), Value::Str(k)) => dict.items.iter().rev().find_map(|it| {
                    let key = it.key.as_ref()?;
                    (self.eval(key, os).as_ref().and_then(Value::as_str) == Some(k.as_str()))
                        .then_some(&it.value)
                }),
                _ => None,
            };
            let Some(item) = item else {
                return Some(false);
            };
            if !self.origins_d(item, os, d + 1, &mut found) {
                return None;
            }
        }
        out.extend(found);
        Some(true)
    }

    /// `x.attr` where `x` comes from constructions of local classes.
    fn attr_origins(
        &self,
        a: &'a ast::ExprAttribute,
        scope: ScopeId,
        d: u32,
        out: &mut Vec<Origin<'a>>,
    ) -> Option<bool> {
        let attr = a.attr.as_str();
        let mut found = Vec::new();
        for (o, os) in self.origins_at(&a.value, scope, d + 1)? {
            let Expr::Call(call) = o else {
                return Some(false);
            };
            let Some(c) = self.class_of_expr(&call.func, os) else {
                return Some(false);
            };
            let Some(arg) = self.ctor_attr(c, call, attr, os) else {
                return Some(false);
            };
            let ok = match arg {
                CtorValue::Arg(e) => self.origins_d(e, os, d + 1, &mut found),
                CtorValue::In(e, s) => self.origins_d(e, s, d + 1, &mut found),
            };
            if !ok {
                return None;
            }
        }
        out.extend(found);
        Some(true)
    }

    /// What `attr` of `Class(...)` holds: the argument of the `__init__` parameter assigned to
    /// `self.attr`, a value assigned in `__init__`, or a field of a dataclass / NamedTuple.
    fn ctor_attr(
        &self,
        c: ClassId,
        call: &'a ast::ExprCall,
        attr: &str,
        call_scope: ScopeId,
    ) -> Option<CtorValue<'a>> {
        let class = &self.classes[c];
        if let Some(init) = self.method(c, "__init__", 0) {
            let assigned = class.attrs.get(attr)?;
            let [(v, s)] = assigned.as_slice() else {
                return None;
            };
            if let Expr::Name(n) = v {
                if let [b] = self.lookup(*s, n.id.as_str()) {
                    if let BindingKind::Param(f, i) = self.bindings[*b].kind {
                        if f == init {
                            return self
                                .argument(init, call, i, 1)
                                .map(|(e, in_call)| {
                                    if in_call {
                                        CtorValue::Arg(e)
                                    } else {
                                        CtorValue::In(e, self.functions[init].scope)
                                    }
                                })
                                .or(None);
                        }
                    }
                }
            }
            return Some(CtorValue::In(v, *s));
        }
        // `@dataclass` / NamedTuple: annotated fields in order.
        let mut i = 0usize;
        for st in &class.node.body {
            let ast::Stmt::AnnAssign(an) = st else {
                continue;
            };
            let Expr::Name(n) = &*an.target else { continue };
            if n.id.as_str() == attr {
                if let Some(e) = call.arguments.find_argument_value(attr, i) {
                    return Some(CtorValue::Arg(e));
                }
                return an.value.as_deref().map(|v| CtorValue::In(v, class.scope));
            }
            i += 1;
        }
        let _ = call_scope;
        None
    }

    /// The argument a call gives parameter `i` of `f` (positional from `offset`, by keyword,
    /// else the default): (expression, whether it is in the call).
    pub(super) fn argument(
        &self,
        f: FuncId,
        call: &'a ast::ExprCall,
        i: usize,
        offset: usize,
    ) -> Option<(&'a Expr, bool)> {
        let func = &self.functions[f];
        let name = func.params.get(i)?;
        let args = &call.arguments.args;
        if i >= offset {
            let k = i - offset;
            if args.iter().take(k + 1).any(Expr::is_starred_expr) {
                return None;
            }
            if let Some(a) = args.get(k) {
                return Some((a, true));
            }
        }
        if let Some(kw) = call.arguments.find_keyword(name) {
            return Some((&kw.value, true));
        }
        if call.arguments.keywords.iter().any(|k| k.arg.is_none()) {
            return None;
        }
        default_of(func.node, name).map(|e| (e, false))
    }

    /// Origins of parameter `i` of `f` from every call of the file reaching `f`. `None` when
    /// no call reaches it (nothing known), `Some(false)` when there are too many.
    fn param_origins(
        &self,
        f: FuncId,
        i: usize,
        d: u32,
        out: &mut Vec<Origin<'a>>,
    ) -> Option<bool> {
        let sites = self.call_sites().get(&f)?;
        let fscope = self.functions[f].scope;
        let mut any = false;
        for &(ci, kind) in sites {
            let (call, cs) = self.calls()[ci];
            let ok = match kind {
                SiteKind::Direct { offset } => {
                    if i < offset {
                        // `obj.method(...)`: self is `obj`.
                        match &*call.func {
                            Expr::Attribute(a) => self.origins_d(&a.value, cs, d, out),
                            _ => return None,
                        }
                    } else {
                        match self.argument(f, call, i, offset)? {
                            // `f(x)` inside `f` passing its own `x` on: nothing new.
                            (e, true) if self.is_param(e, cs, f, i) => {
                                any = true;
                                continue;
                            }
                            (e, true) => self.origins_d(e, cs, d, out),
                            (e, false) => self.origins_d(e, fscope, d, out),
                        }
                    }
                }
                SiteKind::Forward { worker, offset } | SiteKind::Map { worker, offset } => {
                    let w = &call.arguments.args[worker];
                    if i < offset {
                        match w {
                            Expr::Attribute(a) => self.origins_d(&a.value, cs, d, out),
                            _ => return None,
                        }
                    } else {
                        let rest = &call.arguments.args[worker + 1..];
                        if rest.iter().any(Expr::is_starred_expr) {
                            return None;
                        }
                        if matches!(kind, SiteKind::Map { .. }) {
                            if i != offset {
                                return None;
                            }
                            let items = self.elements(rest.first()?, cs, d)?;
                            let mut ok = true;
                            for (x, s) in items {
                                ok &= self.origins_d(x, s, d, out);
                            }
                            ok
                        } else {
                            match rest.get(i - offset) {
                                Some(e) if self.is_param(e, cs, f, i) => {
                                    any = true;
                                    continue;
                                }
                                Some(e) => self.origins_d(e, cs, d, out),
                                None => {
                                    let name = self.functions[f].params.get(i)?;
                                    let e = default_of(self.functions[f].node, name)?;
                                    self.origins_d(e, fscope, d, out)
                                }
                            }
                        }
                    }
                }
                SiteKind::Target { offset } => {
                    let Expr::Tuple(t) = &call.arguments.find_keyword("args")?.value else {
                        return None;
                    };
                    let e = t.elts.get(i.checked_sub(offset)?)?;
                    self.origins_d(e, cs, d, out)
                }
            };
            if !ok {
                return Some(false);
            }
            any = true;
        }
        any.then_some(true)
    }

    /// Is `e` (in `scope`) parameter `i` of `f` itself?
    fn is_param(&self, e: &Expr, scope: ScopeId, f: FuncId, i: usize) -> bool {
        let Expr::Name(n) = e else { return false };
        matches!(self.lookup(scope, n.id.as_str()), [b]
            if matches!(self.bindings[*b].kind, BindingKind::Param(g, j) if g == f && j == i))
    }

    /// Every call of the file that reaches a function of the file, by function (built once).
    fn call_sites(&self) -> &CallSites {
        self.flow.sites.get_or_init(|| {
            let mut m: CallSites = HashMap::default();
            for (ci, (call, scope)) in self.calls().iter().enumerate() {
                for r in self.callables(&call.func, *scope) {
                    if let CallRef::Func(f) = r {
                        let offset = self.self_offset(&call.func, f);
                        m.entry(f)
                            .or_default()
                            .push((ci, SiteKind::Direct { offset }));
                    }
                }
                let method = match &*call.func {
                    Expr::Attribute(a) => a.attr.as_str(),
                    Expr::Name(n) => n.id.as_str(),
                    _ => "",
                };
                for (k, a) in call.arguments.args.iter().enumerate() {
                    if !matches!(a, Expr::Name(_) | Expr::Attribute(_)) {
                        continue;
                    }
                    for r in self.callables(a, *scope) {
                        let CallRef::Func(f) = r else { continue };
                        let offset = self.self_offset(a, f);
                        let kind = if MAP_METHODS.contains(&method) {
                            SiteKind::Map { worker: k, offset }
                        } else if method == "submit" {
                            SiteKind::Forward { worker: k, offset }
                        } else {
                            continue;
                        };
                        m.entry(f).or_default().push((ci, kind));
                    }
                }
                if let Some(t) = call.arguments.find_keyword("target") {
                    for r in self.callables(&t.value, *scope) {
                        if let CallRef::Func(f) = r {
                            let offset = self.self_offset(&t.value, f);
                            m.entry(f)
                                .or_default()
                                .push((ci, SiteKind::Target { offset }));
                        }
                    }
                }
            }
            m
        })
    }

    /// The static values `e` may take: its value when known, else every combination of the
    /// values of the names it reads (through [`Model::origins`]). `None` when one is unknown
    /// or there are too many.
    pub fn values(&self, e: &'a Expr, scope: ScopeId) -> Option<Vec<Value>> {
        self.flow.steps.set(0);
        self.values_d(e, scope, 0)
    }

    fn values_d(&self, e: &'a Expr, scope: ScopeId, d: u32) -> Option<Vec<Value>> {
        if let Some(v) = self.eval(e, scope) {
            return Some(vec![v]);
        }
        if d > 4 {
            return None;
        }
        let mut names: Vec<&'a Expr> = Vec::new();
        if !free_names(e, &mut names) {
            return None;
        }
        let mut bound: Vec<(&str, Vec<Value>)> = Vec::new();
        for as_expr in names {
            let Expr::Name(n) = as_expr else { continue };
            if bound.iter().any(|(b, _)| *b == n.id.as_str()) {
                continue;
            }
            if self.eval(as_expr, scope).is_some() {
                continue;
            }
            let origins = self.origins_at(as_expr, scope, d)?;
            if origins.iter().any(|(o, _)| std::ptr::eq(*o, as_expr)) {
                // Not followed (a module, a builtin, a value of no known origin): left to the
                // evaluation environment.
                continue;
            }
            let mut vals = Vec::new();
            for (o, s) in origins {
                vals.extend(self.values_d(o, s, d + 1)?);
                if vals.len() > MAX_COMBINATIONS {
                    return None;
                }
            }
            if vals.is_empty() {
                return None;
            }
            bound.push((n.id.as_str(), vals));
        }
        if bound.is_empty() {
            return None;
        }
        let total = bound
            .iter()
            .try_fold(1usize, |acc, (_, v)| acc.checked_mul(v.len()))?;
        if total > MAX_COMBINATIONS {
            return None;
        }
        let env = self.env(scope);
        let mut out = Vec::with_capacity(total);
        for k in 0..total {
            let mut rest = k;
            let vars: Vec<(&str, Value)> = bound
                .iter()
                .map(|(name, vals)| {
                    let v = vals[rest % vals.len()].clone();
                    rest /= vals.len();
                    (*name, v)
                })
                .collect();
            out.push(eval::eval_bound(e, &env, &vars)?);
        }
        Some(out)
    }
}

enum CtorValue<'a> {
    /// An argument of the constructor call (call's scope).
    Arg(&'a Expr),
    /// A default or an expression of the class (its own scope).
    In(&'a Expr, ScopeId),
}

/// The default value of parameter `name` of a def.
fn default_of<'a>(node: FuncNode<'a>, name: &str) -> Option<&'a Expr> {
    let FuncNode::Def(def) = node else {
        return None;
    };
    def.parameters
        .iter_non_variadic_params()
        .find(|p| p.parameter.name.as_str() == name)
        .and_then(|p| p.default.as_deref())
}

/// Where `name` sits in a loop target: `[]` for the target itself, `[1]` for `(a, name)`.
fn target_path(target: &Expr, name: &str, at: ruff_text_size::TextRange) -> Option<Vec<usize>> {
    match target {
        Expr::Name(n) => (n.id.as_str() == name && n.range == at).then(Vec::new),
        Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
            elts.iter().enumerate().find_map(|(i, e)| {
                let mut p = target_path(e, name, at)?;
                p.insert(0, i);
                Some(p)
            })
        }
        _ => None,
    }
}

/// The part of a display an unpacking path selects.
fn unpack<'a>(mut e: &'a Expr, path: &[usize]) -> Option<&'a Expr> {
    for &i in path {
        e = match e {
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                if elts.iter().any(Expr::is_starred_expr) {
                    return None;
                }
                elts.get(i)?
            }
            _ => return None,
        };
    }
    Some(e)
}

/// The names an expression reads (false when it holds a lambda or comprehension, whose own
/// names would be mistaken for free ones).
fn free_names<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) -> bool {
    use ruff_python_ast::visitor::{walk_expr, Visitor};
    struct V<'v, 'a> {
        out: &'v mut Vec<&'a Expr>,
        ok: bool,
    }
    impl<'a> Visitor<'a> for V<'_, 'a> {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::Name(_) => self.out.push(e),
                Expr::Lambda(_)
                | Expr::ListComp(_)
                | Expr::SetComp(_)
                | Expr::DictComp(_)
                | Expr::Generator(_)
                | Expr::Named(_) => self.ok = false,
                _ => walk_expr(self, e),
            }
        }
    }
    let mut v = V { out, ok: true };
    v.visit_expr(e);
    v.ok
}
