//! Project facts gathered in pass 1, used by cross-file rules (who sets which task value, which
//! widgets a notebook reads, which functions wrap `notebook.run`, `%run` / import edges).
//!
//! Python orchestration facts ([`PythonIndex`]) are built in three steps, each linear in the
//! size of the project:
//! 1. in parallel, per document: does the text mention `notebook`; its `%run` targets and local
//!    imports resolved to documents;
//! 2. a document is *relevant* when it, or a file it includes or imports (transitively),
//!    mentions `notebook`; in parallel, the [`FileFacts`] of every relevant document;
//! 3. link: callees resolved across files (`%run`-included definitions, local imports), then
//!    a fixpoint computing, for every function, the `notebook.run` calls it reaches.

use crate::fasthash::{key, HashMap, HashSet};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::config::Config;
use crate::python::facts::{FileFacts, RunCall};
use crate::python::model::{CallRef, FuncId};
use crate::python::paths;
use crate::source::imports::is_well_known_module;
use crate::source::{Document, FileKind, Lang, PythonSource, Token};

/// Facts about the whole project. Filled by `ProjectIndex::build`.
#[derive(Debug, Default)]
pub struct ProjectIndex {
    /// Document index by absolute path.
    pub by_path: crate::fasthash::PathMap<usize>,
    /// Python orchestration facts.
    pub python: PythonIndex,
    /// Task values, widgets and payloads of every Python document ([`super::facts`]).
    pub payload: crate::project::facts::PayloadIndex,
}

impl ProjectIndex {
    pub fn build(documents: &[Arc<Document>], config: &Config) -> Self {
        Self::build_with(documents, config, &EarlyFacts::default())
    }

    /// [`ProjectIndex::build`] with the facts a context pass extracted already.
    pub fn build_with(documents: &[Arc<Document>], config: &Config, early: &EarlyFacts) -> Self {
        let by_path: crate::fasthash::PathMap<usize> = documents
            .iter()
            .enumerate()
            .map(|(i, d)| (crate::fasthash::PathKey((*d.path).clone()), i))
            .collect();
        let python = PythonIndex::build(documents, &by_path, config, early);
        let payload = crate::project::facts::PayloadIndex::build(documents, config);
        ProjectIndex {
            by_path,
            python,
            payload,
        }
    }
}

/// A reached `notebook.run`: (document index, index into that document's `FileFacts::runs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunSite {
    pub doc: usize,
    pub run: usize,
}

/// Cross-file Python facts.
#[derive(Debug, Default)]
pub struct PythonIndex {
    /// Facts per document (None: not Python, or not relevant to orchestration).
    pub facts: Vec<Option<Arc<FileFacts>>>,
    /// `%run` targets per document, resolved to document indices, in cell order.
    pub run_includes: Vec<Vec<usize>>,
    /// Local imports per document, resolved to document indices.
    pub imports: Vec<Vec<usize>>,
    /// Callee resolution per document.
    resolved: Vec<HashMap<CallRef, Vec<(usize, FuncId)>>>,
    /// Runs reached per (document, function), through any edge (calls and dispatches).
    reach: Vec<Vec<Vec<RunSite>>>,
    /// Runs reached per (document, function) through synchronous calls only.
    sync_reach: Vec<Vec<Vec<RunSite>>>,
}

const MAX_SITES: usize = 64;
/// Does a document mention `notebook` (other than in a `Databricks notebook source` header) or
/// the Jobs API (`jobs`, other than in `dbutils.jobs.taskValues`)? Files that do not, and whose
/// includes and imports do not, need no orchestration analysis. (From the document's token scan,
/// [`Document::has`].)
pub fn mentions_orchestration(d: &Document) -> bool {
    d.has_any(&[Token::Notebook, Token::Jobs])
}

fn is_python_doc(d: &Document) -> bool {
    matches!(
        d.kind,
        FileKind::PythonModule | FileKind::Ipynb | FileKind::SourceNotebook(_)
    ) && d.has_python()
}

/// Modules imported anywhere in a module: from the parse of the document when some pass parsed
/// it (statements only, exact), else from a lexical scan.
fn imported_modules(d: &Document) -> &[(String, u32)] {
    // Parsing every file only for its imports would cost a parse per file: a document that is
    // not parsed for other reasons is scanned lexically.
    if let Some(s) = d.parse_summary() {
        return &s.imports;
    }
    if !mentions_orchestration(d) {
        return d.lexical_imports();
    }
    drop(d.parse_python());
    d.parse_summary().map_or(&[], |s| &s.imports)
}

/// Orchestration facts extracted before the index is built: the context pass parses every
/// document that mentions orchestration (for its imports), and such a document is relevant, so
/// its [`FileFacts`] come from that same parse. The index takes them ([`EarlyFacts::take`]);
/// the syntax tree is dropped right away.
#[derive(Debug, Default)]
pub struct EarlyFacts(Mutex<crate::fasthash::PathMap<Option<Arc<FileFacts>>>>);

impl EarlyFacts {
    /// Parse `d` once (unless a pass did): its imports and syntax errors are kept on the
    /// document, its facts here.
    fn parse(&self, d: &Document, runners: &[String]) {
        if d.parse_summary().is_some() || !mentions_orchestration(d) {
            return;
        }
        let Some(py) = d.parse_python() else { return };
        let f = extract(&py, runners, false);
        drop(py);
        if let Ok(mut m) = self.0.lock() {
            m.insert(crate::fasthash::PathKey((*d.path).clone()), f);
        }
    }

    fn take(&self, d: &Document) -> Option<Option<Arc<FileFacts>>> {
        self.0.lock().ok()?.remove(key(&d.path))
    }
}

/// The facts of a parsed document (`None` if the extraction fails), the values of loop
/// iterables only with `loop_values` (see [`FileFacts::extract_opts`]).
fn extract(py: &PythonSource, runners: &[String], loop_values: bool) -> Option<Arc<FileFacts>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        FileFacts::extract_opts(py, runners, loop_values)
    }))
    .ok()
    .map(Arc::new)
}

/// Files on disk, not loaded yet, that loaded documents `%run` or import and that may matter
/// to orchestration analysis (standard-library and common third-party modules are skipped).
/// The engine loads them as context, so `check changed_file.py` still sees helpers in other
/// files (their own findings are outside the report scope).
/// `fs` answers "is this a file?" from directory listings; the engine keeps it for the rules,
/// which probe the same `%run` targets.
/// Documents that mention orchestration are parsed here, once: their facts go to `early`.
pub fn missing_context(
    documents: &[Arc<Document>],
    fs: &crate::fsutil::DirCache,
    runners: &[String],
    early: &EarlyFacts,
) -> Vec<PathBuf> {
    let loaded: HashSet<&[u8]> = documents.iter().map(|d| key(&d.path)).collect();
    let known = |p: &Path| loaded.contains(key(p));
    let mut out: Vec<PathBuf> = documents
        .par_iter()
        .filter(|d| is_python_doc(d))
        .flat_map_iter(|d| {
            early.parse(d, runners);
            let mut v = Vec::new();
            for c in d.cells.iter().filter(|c| c.lang == Lang::Run) {
                if let Some((t, _)) = &c.run_target {
                    let cands = paths::notebook_candidates(&d.path, t);
                    if cands.iter().any(|c| known(c)) {
                        continue;
                    }
                    if let Some(p) = cands.into_iter().find(|c| fs.is_file(c)) {
                        v.push(p);
                    }
                }
            }
            for (m, l) in imported_modules(d) {
                let (m, l) = (m.as_str(), *l);
                if l == 0 && is_well_known_module(m) {
                    continue;
                }
                let cands = paths::module_candidates(&d.path, m, l);
                if cands.iter().any(|c| known(c)) {
                    continue;
                }
                if let Some(c) = cands.into_iter().find(|c| fs.is_file(c)) {
                    v.push(c);
                }
            }
            v
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Resolve a module to a loaded document.
pub fn resolve_module(
    by_path: &crate::fasthash::PathMap<usize>,
    from: &Path,
    module: &str,
    level: u32,
) -> Option<usize> {
    paths::module_candidates(from, module, level)
        .into_iter()
        .find_map(|c| by_path.get(key(&c)).copied())
}

impl PythonIndex {
    pub fn build(
        documents: &[Arc<Document>],
        by_path: &crate::fasthash::PathMap<usize>,
        config: &Config,
        early: &EarlyFacts,
    ) -> Self {
        let n = documents.len();
        let runners = &config.orchestration.notebook_runners;
        // Step 1: mentions and edges.
        let step1: Vec<(bool, Vec<usize>, Vec<usize>)> = documents
            .par_iter()
            .map(|d| {
                if !is_python_doc(d) {
                    return (false, Vec::new(), Vec::new());
                }
                early.parse(d, runners);
                // A configured runner (`[orchestration] notebook-runners`) counts as a mention
                // of its own name.
                let mentions = mentions_orchestration(d)
                    || runners.iter().any(|r| {
                        let short = r.rsplit('.').next().unwrap_or(r);
                        !short.is_empty() && d.mentions(&[short.as_bytes()])
                    });
                let includes: Vec<usize> = d
                    .cells
                    .iter()
                    .filter(|c| c.lang == Lang::Run)
                    .filter_map(|c| c.run_target.as_ref())
                    .filter_map(|(t, _)| {
                        // Only loaded documents count here: no need to probe the disk.
                        paths::notebook_candidates(&d.path, t)
                            .into_iter()
                            .find_map(|p| by_path.get(key(&p)).copied())
                    })
                    .collect();
                let imports: Vec<usize> = imported_modules(d)
                    .iter()
                    .filter(|(m, l)| *l > 0 || !is_well_known_module(m))
                    .filter_map(|(m, l)| resolve_module(by_path, &d.path, m, *l))
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                (mentions, includes, imports)
            })
            .collect();
        crate::profile::phase("ix:edges");
        // Step 2: relevance (transitive mention through includes and imports).
        let mut relevant: Vec<Option<bool>> = vec![None; n];
        for start in 0..n {
            if relevant[start].is_some() {
                continue;
            }
            // Iterative DFS; a file in progress counts as not relevant (cycles).
            let mut seen = HashSet::default();
            let mut queue = VecDeque::from([start]);
            let mut found = false;
            while let Some(i) = queue.pop_front() {
                if !seen.insert(i) {
                    continue;
                }
                if step1[i].0 || relevant[i] == Some(true) {
                    found = true;
                    break;
                }
                if relevant[i] == Some(false) {
                    continue;
                }
                queue.extend(step1[i].1.iter().chain(step1[i].2.iter()).copied());
            }
            relevant[start] = Some(found);
        }
        let facts: Vec<Option<Arc<FileFacts>>> = documents
            .par_iter()
            .enumerate()
            .map(|(i, d)| {
                if relevant[i] != Some(true) {
                    return None;
                }
                if let Some(f) = early.take(d) {
                    return f;
                }
                // Parsed for its facts alone: the tree is dropped here (the document keeps its
                // syntax errors for the rules).
                let py = d.parse_python()?;
                extract(&py, runners, false)
            })
            .collect();
        crate::profile::phase("ix:facts");
        let (run_includes, imports): (Vec<_>, Vec<_>) =
            step1.into_iter().map(|(_, inc, imp)| (inc, imp)).unzip();
        let mut idx = PythonIndex {
            facts,
            run_includes,
            imports,
            resolved: Vec::new(),
            reach: Vec::new(),
            sync_reach: Vec::new(),
        };
        // Step 3: link.
        idx.resolved = (0..n)
            .into_par_iter()
            .map(|i| idx.resolve_all(documents, by_path, i))
            .collect();
        idx.fixpoint();
        idx.describe_loops(documents, runners);
        crate::profile::phase("ix:link");
        idx
    }

    /// The facts were extracted without the values of loop iterables: extract again, with
    /// them, the files that have a loop reaching a `notebook.run` (the only loops any consumer
    /// reads). The rest of the facts is the same, so the links stay valid.
    fn describe_loops(&mut self, documents: &[Arc<Document>], runners: &[String]) {
        let redo: Vec<usize> = (0..self.facts.len())
            .filter(|&i| {
                self.facts[i].as_ref().is_some_and(|f| {
                    f.loops.iter().any(|l| {
                        l.items.is_some()
                            && (!l.runs.is_empty()
                                || l.calls.iter().any(|(r, _)| {
                                    self.resolve(i, r)
                                        .iter()
                                        .any(|&(j, g)| !self.reach_of_func(j, g, false).is_empty())
                                }))
                    })
                })
            })
            .collect();
        let again: Vec<(usize, Option<Arc<FileFacts>>)> = redo
            .into_par_iter()
            .map(|i| {
                let f = documents[i]
                    .parse_python()
                    .and_then(|py| extract(&py, runners, true));
                (i, f)
            })
            .collect();
        for (i, f) in again {
            if f.is_some() {
                self.facts[i] = f;
            }
        }
    }

    fn resolve_all(
        &self,
        documents: &[Arc<Document>],
        by_path: &crate::fasthash::PathMap<usize>,
        i: usize,
    ) -> HashMap<CallRef, Vec<(usize, FuncId)>> {
        let mut out = HashMap::default();
        let Some(f) = &self.facts[i] else {
            return out;
        };
        let mut refs: Vec<&CallRef> = Vec::new();
        for func in &f.functions {
            refs.extend(func.calls.iter().map(|(r, _)| r));
            for (_, _, args) in &func.callable_args {
                refs.extend(args.iter().flat_map(|(_, rs)| rs.iter()));
            }
        }
        for d in &f.dispatches {
            if let Some(w) = &d.worker {
                refs.extend(w.refs.iter());
            }
        }
        for r in refs {
            if out.contains_key(r) {
                continue;
            }
            let targets = self.resolve_ref(documents, by_path, i, r, 0);
            out.insert(r.clone(), targets);
        }
        out
    }

    fn resolve_ref(
        &self,
        documents: &[Arc<Document>],
        by_path: &crate::fasthash::PathMap<usize>,
        i: usize,
        r: &CallRef,
        depth: u32,
    ) -> Vec<(usize, FuncId)> {
        if depth > 4 {
            return Vec::new();
        }
        match r {
            CallRef::Func(f) => vec![(i, *f)],
            CallRef::NotebookRun => Vec::new(),
            CallRef::Free(name) => {
                // Definitions pulled in by `%run`, nearest first, transitively.
                let mut seen = HashSet::from_iter([i]);
                let mut queue: VecDeque<usize> = self.run_includes[i].iter().copied().collect();
                while let Some(j) = queue.pop_front() {
                    if !seen.insert(j) {
                        continue;
                    }
                    if let Some(fj) = &self.facts[j] {
                        if let Some(&id) = fj.exports.get(name) {
                            return vec![(j, id)];
                        }
                    }
                    queue.extend(self.run_includes[j].iter().copied());
                }
                Vec::new()
            }
            CallRef::External { module, name } => {
                let level = module.chars().take_while(|c| *c == '.').count() as u32;
                let m = module.trim_start_matches('.');
                let Some(j) = resolve_module(by_path, &documents[i].path, m, level) else {
                    return Vec::new();
                };
                let Some(fj) = &self.facts[j] else {
                    return Vec::new();
                };
                if let Some(&id) = fj.exports.get(name) {
                    return vec![(j, id)];
                }
                // Re-exported: `from .impl import run_all` in the target module.
                let head = name.split('.').next().unwrap_or(name);
                if let Some(q) = fj.reexports.get(head) {
                    let rest = &name[head.len()..];
                    let full = format!("{q}{rest}");
                    if let Some((m2, n2)) = full.rsplit_once('.') {
                        let r2 = CallRef::External {
                            module: m2.to_string(),
                            name: n2.to_string(),
                        };
                        return self.resolve_ref(documents, by_path, j, &r2, depth + 1);
                    }
                }
                Vec::new()
            }
        }
    }

    fn fixpoint(&mut self) {
        let n = self.facts.len();
        let init = |sync: bool| -> Vec<Vec<Vec<RunSite>>> {
            (0..n)
                .map(|i| match &self.facts[i] {
                    None => Vec::new(),
                    Some(f) => f
                        .functions
                        .iter()
                        .map(|func| {
                            let mut v: Vec<RunSite> = func
                                .runs
                                .iter()
                                .map(|&r| RunSite { doc: i, run: r })
                                .collect();
                            if !sync {
                                for &d in &func.dispatches {
                                    if let Some(r) = f.dispatches[d].reference_run {
                                        v.push(RunSite { doc: i, run: r });
                                    }
                                }
                            }
                            v.sort();
                            v.dedup();
                            v
                        })
                        .collect(),
                })
                .collect()
        };
        let mut reach = init(false);
        let mut sync_reach = init(true);
        for _round in 0..64 {
            let mut changed = false;
            for i in 0..n {
                let Some(f) = self.facts[i].clone() else {
                    continue;
                };
                for (fi, func) in f.functions.iter().enumerate() {
                    let mut add_any: Vec<RunSite> = Vec::new();
                    let mut add_sync: Vec<RunSite> = Vec::new();
                    for (r, _) in &func.calls {
                        for &(j, g) in self.resolved[i].get(r).map(Vec::as_slice).unwrap_or(&[]) {
                            if let Some(s) = reach.get(j).and_then(|v| v.get(g)) {
                                add_any.extend_from_slice(s);
                            }
                            if let Some(s) = sync_reach.get(j).and_then(|v| v.get(g)) {
                                add_sync.extend_from_slice(s);
                            }
                        }
                    }
                    for &d in &func.dispatches {
                        if let Some(w) = &f.dispatches[d].worker {
                            for r in &w.refs {
                                for &(j, g) in
                                    self.resolved[i].get(r).map(Vec::as_slice).unwrap_or(&[])
                                {
                                    if let Some(s) = reach.get(j).and_then(|v| v.get(g)) {
                                        add_any.extend_from_slice(s);
                                    }
                                }
                            }
                        }
                    }
                    // Workers handed to generic helpers that dispatch their parameter.
                    for (callee, _, args) in &func.callable_args {
                        for &(j, g) in self.resolved[i]
                            .get(callee)
                            .map(Vec::as_slice)
                            .unwrap_or(&[])
                        {
                            for (k, refs) in self.helper_dispatch_args(j, g, args) {
                                let _ = k;
                                for r in refs {
                                    for &(j2, g2) in
                                        self.resolved[i].get(r).map(Vec::as_slice).unwrap_or(&[])
                                    {
                                        if let Some(s) = reach.get(j2).and_then(|v| v.get(g2)) {
                                            add_any.extend_from_slice(s);
                                        }
                                    }
                                }
                            }
                        }
                    }
                    changed |= merge(&mut reach[i][fi], add_any);
                    changed |= merge(&mut sync_reach[i][fi], add_sync);
                }
            }
            if !changed {
                break;
            }
        }
        self.reach = reach;
        self.sync_reach = sync_reach;
    }

    /// For a call of function `g` of document `j` with callable arguments `args`: the
    /// dispatches of `g` whose worker is one of those parameters, with the arguments' refs.
    pub fn helper_dispatch_args<'s>(
        &'s self,
        j: usize,
        g: FuncId,
        args: &'s [(usize, Vec<CallRef>)],
    ) -> Vec<(usize, &'s [CallRef])> {
        let Some(fj) = self.facts(j) else {
            return Vec::new();
        };
        let Some(func) = fj.functions.get(g) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &d in &func.dispatches {
            let Some(p) = fj.dispatches[d].worker_param else {
                continue;
            };
            for (i, refs) in args {
                if *i == p {
                    out.push((d, refs.as_slice()));
                }
            }
        }
        out
    }

    /// Facts of a document.
    pub fn facts(&self, doc: usize) -> Option<&FileFacts> {
        self.facts.get(doc)?.as_deref()
    }

    /// The functions (document, function) a callee of `doc` resolves to.
    pub fn resolve(&self, doc: usize, r: &CallRef) -> &[(usize, FuncId)] {
        self.resolved
            .get(doc)
            .and_then(|m| m.get(r))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The `notebook.run` calls a function reaches (through calls and nested dispatches when
    /// `sync` is false, through synchronous calls only when it is true).
    pub fn reach_of_func(&self, doc: usize, func: FuncId, sync: bool) -> &[RunSite] {
        let t = if sync { &self.sync_reach } else { &self.reach };
        t.get(doc)
            .and_then(|v| v.get(func))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The `notebook.run` calls a callee of `doc` reaches.
    pub fn reach_of(&self, doc: usize, r: &CallRef, sync: bool) -> Vec<RunSite> {
        let mut out = Vec::new();
        for &(j, g) in self.resolve(doc, r) {
            out.extend_from_slice(self.reach_of_func(j, g, sync));
        }
        out.sort();
        out.dedup();
        out
    }

    /// A run call by site.
    pub fn run(&self, site: RunSite) -> Option<&RunCall> {
        self.facts(site.doc)?.runs.get(site.run)
    }
}

fn merge(into: &mut Vec<RunSite>, add: Vec<RunSite>) -> bool {
    if add.is_empty() || into.len() >= MAX_SITES {
        return false;
    }
    let before = into.len();
    into.extend(add);
    into.sort();
    into.dedup();
    into.truncate(MAX_SITES);
    into.len() != before
}
