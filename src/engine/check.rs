//! Running the rules: the analysis thread pool, the panic guard, which documents are analysed in
//! full, rule dispatch over documents, bundles and the project, and the `check` pipeline.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use ruff_text_size::TextRange;

use crate::diagnostic::{Diagnostic, Message};
use crate::profile::{self, phase};
use crate::project::{BundleContext, CheckOptions, DocContext, Project, ProjectContext};
use crate::rules::{self, Rule};
use crate::source::Document;

use super::load::{load_error, load_project};
use super::report::report;
use super::select::{per_file_ignores, Selection};

/// Result of a check run.
pub struct CheckResult {
    pub messages: Vec<Message>,
    /// Number of files analysed (documents loaded).
    pub files: usize,
    pub project: Project,
}

impl CheckResult {
    pub fn document(&self, path: &Path) -> Option<&Arc<Document>> {
        self.project.document(path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Run a closure; a panic becomes a BL003 diagnostic on `path`.
pub fn guarded(
    path: &Arc<PathBuf>,
    what: &str,
    f: impl FnOnce() -> Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(d) => d,
        Err(p) => vec![load_error(
            path,
            format!(
                "internal error while {what}: {}; please report this bug",
                panic_message(&*p)
            ),
            TextRange::default(),
        )],
    }
}

/// Documents analysed in full by the last `run_rules` (for `BRICKLINT_PROFILE`).
static ANALYSED: AtomicUsize = AtomicUsize::new(0);

/// Is document `i` analysed in full (parsed, NB001 reported)? Files named on the command
/// line are; so are files with a suppression comment (BL001 needs the findings it covers),
/// files that write task values or call `notebook.exit` (what the TV rules report on),
/// and every file the orchestration index parsed (it mentions notebook runs or
/// the Jobs API, or `%run`s / imports one that does), and every file an enabled rule asks
/// for ([`Rule::wants_parse`]). Everything else is only scanned: with nothing for bricklint
/// to find, it is never parsed, which is most of a typical repository.
pub fn is_analysed(project: &Project, i: usize, enabled: &[&'static dyn Rule], full: bool) -> bool {
    let doc = &project.documents[i];
    full || project
        .index
        .python
        .facts
        .get(i)
        .is_some_and(|f| f.is_some())
        || project.explicit.contains(doc.path.as_path())
        || doc.has(crate::source::Token::Suppression)
        || crate::project::facts::writes_task_values(doc)
        || enabled.iter().any(|r| r.wants_parse(doc))
}

/// Run every enabled rule over a loaded project; returns raw diagnostics (unsuppressed).
pub fn run_rules(project: &Project, enabled: &[&'static dyn Rule]) -> Vec<Diagnostic> {
    let full = project.syntax_check_all();
    // Document rules and bundle rules side by side: neither waits for the other (lazily
    // computed facts are shared through their `OnceLock`s).
    let doc_rules = || -> Vec<Diagnostic> {
        project
            .documents
            .par_iter()
            .enumerate()
            .filter(|(_, d)| !d.kind.is_yaml())
            .flat_map_iter(|(i, doc)| {
                guarded(&doc.path, "analysing this file", || {
                    let analysed = doc.has_python() && is_analysed(project, i, enabled, full);
                    if analysed {
                        ANALYSED.fetch_add(1, Ordering::Relaxed);
                    }
                    // When no earlier pass parsed this document, its rules run on a private copy
                    // whose syntax tree is freed right after them: peak memory stays at a few trees
                    // per thread instead of one per file. (A rule that needs another document's tree
                    // still gets it, parsed and kept, through `project`.)
                    let copy;
                    let doc: &Document = if analysed && !doc.python_is_parsed() {
                        copy = doc.fresh_copy();
                        &copy
                    } else {
                        doc
                    };
                    let ctx = DocContext {
                        doc,
                        project,
                        analysed,
                    };
                    let mut v = Vec::new();
                    for (k, r) in enabled.iter().enumerate() {
                        let t = profile::start();
                        r.check_document(&ctx, &mut v);
                        profile::add_time(k, t);
                    }
                    v
                })
            })
            .collect()
    };
    // The rules of a bundle run in parallel too (a project is often one big bundle).
    let bundle_rules = || -> Vec<Diagnostic> {
        project
            .bundles
            .par_iter()
            .flat_map(|b| enabled.par_iter().enumerate().map(move |(k, r)| (b, k, r)))
            .flat_map_iter(|(b, k, r)| {
                guarded(&b.root_file, "analysing this bundle", || {
                    let ctx = BundleContext { bundle: b, project };
                    let mut v = Vec::new();
                    let t = profile::start();
                    r.check_bundle(&ctx, &mut v);
                    profile::add_time(k, t);
                    crate::bundle::targets::mark_target(b, &mut v);
                    v
                })
            })
            .collect()
    };
    let (mut out, by_bundle) = rayon::join(doc_rules, bundle_rules);
    out.extend(crate::bundle::targets::merge_target_findings(
        &project.bundles,
        by_bundle,
    ));
    let root = Arc::new(project.root.clone());
    out.extend(guarded(&root, "analysing the project", || {
        let ctx = ProjectContext { project };
        let mut v = Vec::new();
        for r in enabled {
            r.check_project(&ctx, &mut v);
        }
        v
    }));
    out
}

/// Stack size of analysis threads. Syntax trees are walked recursively; cells nested deeper than
/// `[limits] max-nesting` are not parsed, and this leaves a wide margin for the rest.
pub const ANALYSIS_STACK_BYTES: usize = crate::config::THREAD_STACK_BYTES;

/// The thread pool analysis runs on (rayon's default threads have 2 MiB stacks).
pub fn analysis_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(ANALYSIS_STACK_BYTES)
            .thread_name(|i| format!("bricklint-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// The full `check` pipeline (run on the analysis thread pool).
pub fn check(opts: &CheckOptions) -> Result<CheckResult, CheckError> {
    match analysis_pool() {
        Some(pool) => pool.install(|| check_inner(opts)),
        None => check_inner(opts),
    }
}

fn check_inner(opts: &CheckOptions) -> Result<CheckResult, CheckError> {
    let select = opts.select.clone().or_else(|| opts.config.select.clone());
    let mut extend = opts.config.extend_select.clone();
    extend.extend(opts.extend_select.iter().cloned());
    let mut ignore = opts.config.ignore.clone();
    ignore.extend(opts.ignore.iter().cloned());
    let selection = Selection::new(select.as_deref(), &extend, &ignore)?;
    let per_file = per_file_ignores(&opts.config)?;
    phase("start");

    let (project, load_diags, report_roots) = load_project(opts)?;
    let enabled: Vec<&'static dyn Rule> = rules::all()
        .iter()
        .copied()
        .filter(|r| selection.is_enabled(r.meta().code))
        .collect();
    let mut diags = run_rules(&project, &enabled);
    // The rules that took the most time (summed over threads; a rule that first asks for a
    // lazily computed fact pays for it).
    let codes: Vec<&str> = enabled.iter().map(|r| r.meta().code).collect();
    profile::print_slot_times("rule CPU ms", &codes);
    phase(&format!(
        "rules ({} of {} documents parsed in full)",
        ANALYSED.swap(0, Ordering::Relaxed),
        project.documents.len()
    ));
    diags.extend(
        load_diags
            .into_iter()
            .filter(|d| selection.is_enabled(d.code)),
    );
    let messages = report(&project, opts, diags, &selection, &per_file, &report_roots);
    let files = project.documents.len();
    phase("report");
    Ok(CheckResult {
        messages,
        files,
        project,
    })
}
