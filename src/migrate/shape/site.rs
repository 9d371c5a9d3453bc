//! Sites: each fan-out of the facts tied to the syntax the rewrite works on (the top-level
//! statement holding it, the dispatch call, the loop around it, the helper function's
//! parameters), or the reason it is not one.

use std::collections::HashMap;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::TextRange;

use super::Planner;
use crate::migrate::plan::Refusal;
use crate::migrate::sites::{ExternalWorker, SiteFact};
use crate::migrate::sym::{bind_params, Sym};
use crate::python::fanout::{DispatchKind, FanOutKind as Shape, LoopKind};

/// A sequential fan-out at module level: a `for` loop or a list comprehension.
#[derive(Clone, Copy)]
pub(super) enum LoopSite<'a> {
    For(&'a ast::StmtFor),
    Comp(&'a ast::ExprListComp),
}

/// A fan-out of the facts, tied to the syntax the planner rewrites.
pub(super) struct Site<'a> {
    /// Index of the top-level statement that holds the dispatch (or the call of the helper
    /// function holding it).
    pub(super) top: usize,
    /// Line of the fan-out in messages.
    pub(super) line: u32,
    /// The dispatch call (none for sequential loops).
    pub(super) call: Option<&'a ast::ExprCall>,
    pub(super) kind: DispatchKind,
    pub(super) method: String,
    pub(super) pool_ctor: Option<&'a ast::ExprCall>,
    /// Enclosing loop or comprehension inside the dispatch's scope: (target, iterable).
    pub(super) iter: Option<(&'a Expr, &'a Expr)>,
    /// Bindings of the helper function's parameters (dispatch inside a helper).
    pub(super) env: HashMap<String, Sym>,
    pub(super) helper: Option<String>,
    /// A sequential `for` loop at module level whose body runs the notebooks.
    pub(super) loop_for: Option<LoopSite<'a>>,
    /// The document range `check` reports the fan-out at.
    pub(super) range: TextRange,
    pub(super) external: Option<&'a ExternalWorker>,
    /// A straight-line sequence of runs (ORC003): the calls, and the top-level statement of
    /// each, in order.
    pub(super) seq: Vec<(&'a ast::ExprCall, usize)>,
}

/// A fan-out inside a function that the notebook does not call at its top level: refused
/// unless the rewrite removes the function anyway (a loop inside a worker).
pub(super) struct Pending {
    pub(super) range: TextRange,
    pub(super) refusal: Refusal,
}

impl<'a> Planner<'a> {
    /// Every fan-out of the facts as a site, or the reason it is not one.
    pub(super) fn sites(&self) -> (Vec<Site<'a>>, Vec<Refusal>, Vec<Pending>) {
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
        if !self.facts.sequence.is_empty() {
            match self.sequence_site() {
                Ok(s) => sites.push(s),
                Err(r) => refusals.push(r),
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
                seq: Vec::new(),
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
            seq: Vec::new(),
        })
    }

    /// The site of a straight-line sequence of runs at the top level (ORC003): each run must
    /// be a whole statement, and the notebook must not fan out otherwise.
    fn sequence_site(&self) -> Result<Site<'a>, Refusal> {
        let seq = &self.facts.sequence;
        let line = self.line_at(seq[0]);
        if let Some(other) = self.facts.sites.first() {
            return Err(Refusal {
                line,
                reason: format!(
                    "{} notebooks run one after the other here and the notebook also fans out at line {}: `bricklint migrate` moves one of them per notebook; move the sequence to a notebook of its own first",
                    seq.len(),
                    self.line_at(other.fan_out.range)
                ),
            });
        }
        let mut calls = Vec::new();
        for r in seq {
            let l = self.line_at(*r);
            let found = self.nodes.calls.get(r).copied().zip(self.top_of(*r));
            let Some((call, top)) = found else {
                return Err(Refusal {
                    line: l,
                    reason: "the notebook run is not in a statement of this notebook".into(),
                });
            };
            let whole = match &self.body[top] {
                Stmt::Expr(e) => self.py.doc_range(&*e.value) == *r,
                Stmt::Assign(a) => self.py.doc_range(&*a.value) == *r,
                _ => false,
            };
            if !whole {
                let at = self.line_of(&self.body[top]);
                let reason = match &self.body[top] {
                    Stmt::If(_) => format!(
                        "the notebook run at line {l} depends on the `if` at line {at}: a job task runs when the tasks before it succeed, not on a value they return (cannot autofix); use an If/else condition task, by hand"
                    ),
                    Stmt::Try(_) => format!(
                        "the notebook run at line {l} is inside the `try` at line {at}: its error handling has no place in a job task (cannot autofix); remove it or create the tasks by hand"
                    ),
                    _ => format!(
                        "the notebook run at line {l} is part of the larger statement at line {at}: `bricklint migrate` moves runs that are whole statements"
                    ),
                };
                return Err(Refusal { line: l, reason });
            }
            calls.push((call, top));
        }
        Ok(Site {
            top: calls[0].1,
            line,
            call: None,
            kind: DispatchKind::PoolMap,
            method: "sequence".into(),
            pool_ctor: None,
            iter: None,
            env: HashMap::new(),
            helper: None,
            loop_for: None,
            range: seq[0],
            external: None,
            seq: calls,
        })
    }
}
