//! Planning: from the facts `check` computes about a notebook to a [`NotebookPlan`].
//!
//! One job per file: [`site`] ties each fan-out of the facts ([`crate::migrate::sites`]) to
//! the statements it occupies; [`reach`] follows the worker to the `dbutils.notebook.run` it
//! reaches and expresses its path, timeout and arguments as functions of the item ([`Sym`]);
//! [`decide`] chooses For Each, one task per object, or a refusal with the reason; [`cleanup`]
//! decides which top-level statements the rewrite replaces or removes.

mod cleanup;
mod decide;
mod explain;
mod reach;
mod site;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::plan::*;
use super::sites::{Facts, Nodes};
use super::sym::ModuleInfo;
use crate::source::Document;
use cleanup::rewrite_plan;
use decide::{plan_external, plan_site};
pub use explain::render as render_explain;

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

pub(super) fn callee_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

pub(super) struct Planner<'a> {
    pub(super) doc: &'a Document,
    pub(super) py: &'a crate::source::PythonSource,
    pub(super) info: ModuleInfo<'a>,
    pub(super) body: &'a [Stmt],
    pub(super) notebook_dir: PathBuf,
    /// The bundle root (workspace paths are matched from there).
    pub(super) bundle_root: &'a Path,
    pub(super) facts: &'a Facts,
    pub(super) nodes: Nodes<'a>,
}

pub(super) fn err<T>(s: impl Into<String>) -> Result<T, String> {
    Err(s.into())
}

impl<'a> Planner<'a> {
    pub(super) fn line_of(&self, node: &impl Ranged) -> u32 {
        self.doc.resolve(self.py.doc_range(node)).file_line
    }

    pub(super) fn line_at(&self, r: TextRange) -> u32 {
        self.doc.resolve(r).file_line
    }

    /// `dbutils.notebook.run(...)`, as the facts know it.
    pub(super) fn is_run_call(&self, c: &ast::ExprCall) -> bool {
        self.facts.run_calls.contains(&self.py.doc_range(c))
    }

    /// `dbutils.notebook.run` itself passed as a worker.
    pub(super) fn is_run_ref(&self, e: &Expr) -> bool {
        self.facts.run_callees.contains(&self.py.doc_range(e))
    }

    pub(super) fn is_pool_ctor(&self, c: &ast::ExprCall) -> bool {
        self.facts.pool_ctors.contains(&self.py.doc_range(c))
    }

    pub(super) fn is_dispatch(&self, c: &ast::ExprCall) -> bool {
        self.facts.dispatches.contains(&self.py.doc_range(c))
    }

    /// The index of the top-level statement holding a document range.
    pub(super) fn top_of(&self, r: TextRange) -> Option<usize> {
        self.body
            .iter()
            .position(|s| self.py.doc_range(s).contains_range(r))
    }

    /// The top-level function whose name is at `name`.
    pub(super) fn function_named_at(&self, name: TextRange) -> Option<&'a ast::StmtFunctionDef> {
        self.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if self.py.doc_range(&f.name) == name => Some(f),
            _ => None,
        })
    }

    /// The name of the top-level function holding a document range.
    pub(super) fn enclosing_function(&self, r: TextRange) -> Option<&'a ast::StmtFunctionDef> {
        self.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if self.py.doc_range(f).contains_range(r) => Some(f),
            _ => None,
        })
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

pub(super) struct SitePlan {
    pub(super) fanout: FanOutPlan,
    pub(super) top: usize,
    /// Python lines replacing the dispatch statement (besides the comment).
    pub(super) producer: Option<String>,
    /// Other top-level statements the fan-out occupies (the later runs of a sequence).
    pub(super) extra: Vec<usize>,
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
        explain: Vec::new(),
        after: None,
    };
    // Refused: every site's explanation ends with the refusals that stop the notebook.
    let refused = |rs: Vec<Refusal>, mut explain: Vec<SiteExplain>| {
        for ex in explain.iter_mut() {
            let more: Vec<String> = rs
                .iter()
                .filter(|r| !ex.steps.iter().any(|s| s.contains(&r.reason)))
                .map(|r| format!("not migrated: line {}: {}", r.line, r.reason))
                .collect();
            ex.steps.extend(more);
        }
        let mut plan = mk(Vec::new(), rs);
        plan.explain = explain;
        Planned {
            plan,
            edits: Vec::new(),
            keep_producer: false,
        }
    };
    let Some(py) = doc.python() else {
        // Scala and other languages: every fan-out is refused with its reason.
        let rs: Vec<Refusal> = facts
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
        let explain = refusal_explain(&rs);
        return Some(refused(rs, explain));
    };
    if !py.errors().is_empty() {
        let rs = vec![Refusal {
            line: 1,
            reason: "the notebook has Python syntax errors (NB001)".into(),
        }];
        return Some(refused(rs, Vec::new()));
    }
    let body: &[Stmt] = &py.module().body;
    let planner = Planner {
        doc,
        py,
        info: ModuleInfo::new(body, &py.text),
        body,
        notebook_dir: doc.path.parent().map(Path::to_path_buf).unwrap_or_default(),
        bundle_root,
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
    let mut explain = refusal_explain(&refusals);
    let mut used_keys: HashSet<String> =
        HashSet::from([job_key.to_string(), producer_key.to_string()]);
    used_keys.extend(opts.reserved.iter().cloned());
    let (mut site_plans, found_len) = plan_sites(
        &planner,
        &sites,
        opts,
        &mut used_keys,
        &mut refusals,
        &mut explain,
    );
    explain.sort_by_key(|e| e.line);
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
        return Some(refused(with_blocked(refusals, &site_plans), explain));
    }
    let announce = announce(doc, job_key, opts);
    let convert_key = opts.convert.then_some(producer_key);
    match rewrite_plan(&planner, &mut site_plans, &announce, convert_key) {
        Ok((edits, keep)) => {
            // Fan-outs in functions the notebook never calls block the migration unless the
            // rewrite removes them (a loop inside the worker of a migrated fan-out).
            pending.retain(|p| !edits.iter().any(|e| e.range.contains_range(p.range)));
            if !pending.is_empty() {
                let rs = pending.into_iter().map(|p| p.refusal).collect();
                return Some(refused(with_blocked(rs, &site_plans), explain));
            }
            for sp in &site_plans {
                if let Some(ex) = explain.iter_mut().find(|e| e.line == sp.fanout.line) {
                    ex.steps
                        .truncate(found_len.get(&ex.line).copied().unwrap_or(0));
                    explain::planned(ex, &sp.fanout, opts.to);
                    explain::rewrite(&planner, ex, &sp.fanout, keep);
                }
            }
            let fanouts = site_plans.into_iter().map(|s| s.fanout).collect();
            let mut plan = mk(fanouts, Vec::new());
            plan.producer_task = keep;
            plan.explain = explain;
            Some(Planned {
                plan,
                edits,
                keep_producer: keep,
            })
        }
        Err((line, reason)) => Some(refused(vec![Refusal { line, reason }], explain)),
    }
}

/// The comment left where a fan-out was, with `{}` for the tasks that replace it.
fn announce(doc: &Document, job_key: &str, opts: &PlanOptions) -> String {
    match opts.to {
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
    }
}

/// Plan every site (with the external-worker fallback), recording refusals and the
/// explanation of each; returns the plans and, per site line, how many explanation steps
/// precede its shape.
#[allow(clippy::type_complexity)]
fn plan_sites(
    planner: &Planner<'_>,
    sites: &[site::Site<'_>],
    opts: &PlanOptions,
    used_keys: &mut HashSet<String>,
    refusals: &mut Vec<Refusal>,
    explain: &mut Vec<SiteExplain>,
) -> (Vec<SitePlan>, std::collections::HashMap<u32, usize>) {
    let mut found_len = std::collections::HashMap::new();
    let mut site_plans = Vec::new();
    for site in sites {
        let planned = match plan_site(planner, site, opts, used_keys) {
            Err(reason) => match site.external {
                Some(ext) if opts.to != TargetShape::Tasks => {
                    plan_external(planner, site, ext, used_keys)
                }
                _ => Err(reason),
            },
            ok => ok,
        };
        let mut ex = explain::found(planner, site);
        found_len.insert(ex.line, ex.steps.len());
        match planned {
            Ok(sp) => {
                explain::planned(&mut ex, &sp.fanout, opts.to);
                site_plans.push(sp);
            }
            Err(reason) => {
                let reason = if reason == NOT_A_FAN_OUT {
                    "the worker reaches `dbutils.notebook.run` through an alias or a path `bricklint migrate` cannot follow (cannot autofix)".into()
                } else {
                    reason
                };
                ex.steps.push(format!("refused: {reason}"));
                refusals.push(Refusal {
                    line: site.line,
                    reason,
                });
            }
        }
        explain.push(ex);
    }
    (site_plans, found_len)
}

/// The explanation of fan-outs refused before planning: the refusal is the decision.
fn refusal_explain(rs: &[Refusal]) -> Vec<SiteExplain> {
    rs.iter()
        .map(|r| SiteExplain {
            line: r.line,
            what: String::new(),
            steps: vec![format!("refused: {}", r.reason)],
        })
        .collect()
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

pub(super) fn unique_key(base: &str, used: &mut HashSet<String>) -> String {
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

pub(super) fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("notebook")
        .to_string()
}
