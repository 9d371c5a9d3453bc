//! `bricklint migrate`: rewrite driver fan-out into For Each or per-object task bundle
//! resources, and the orchestrator notebook into a task-value producer.
//!
//! Flow: load the notebooks (parallel) -> plan each ([`planner`]) -> generate the job YAML
//! ([`yaml`]) and the rewritten notebook ([`rewrite`]) -> re-check the would-be result with
//! bricklint's own engine in a temporary copy of the bundle -> print the plan and diff, or
//! write every file atomically.

pub mod names;
pub mod plan;
pub mod planner;
pub mod rewrite;
pub mod submit;
pub mod sym;
pub mod yaml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Config;
use crate::source::{display_path, Document};
pub use plan::{Compute, NotebookPlan, TargetShape};

/// Options of `bricklint migrate`.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    pub paths: Vec<PathBuf>,
    pub to: TargetShape,
    pub compute: Compute,
    pub force: bool,
    pub init_bundle: bool,
    pub config: Config,
    /// Re-check the result with the engine before writing (on by default in the CLI).
    pub recheck: bool,
    /// `--to submit`: the workspace folder the project is deployed to (notebook paths);
    /// default `/Workspace/Shared/<project folder name>`.
    pub workspace_root: Option<String>,
}

/// One file the migration creates or changes.
#[derive(Debug, Clone, PartialEq)]
pub struct FileChange {
    pub path: PathBuf,
    /// Current contents (`None`: the file is created).
    pub old: Option<String>,
    pub new: String,
}

/// The migration of one notebook.
#[derive(Debug, Clone)]
pub struct NotebookOutcome {
    pub plan: NotebookPlan,
    pub changes: Vec<FileChange>,
    /// Why the planned changes are not applied (resource exists, re-check findings, ...).
    pub blocked: Vec<String>,
    /// Warnings that do not block.
    pub warnings: Vec<String>,
}

impl NotebookOutcome {
    pub fn is_applicable(&self) -> bool {
        self.blocked.is_empty() && !self.changes.is_empty()
    }
}

#[derive(Debug, Default)]
pub struct MigrateResult {
    /// The target shape the plan was made for.
    pub to: TargetShape,
    pub outcomes: Vec<NotebookOutcome>,
    /// Files that could not be loaded (skipped; reported with the plan).
    pub errors: Vec<String>,
}

impl MigrateResult {
    /// Every change to apply (deduplicated: one `databricks.yml` per new bundle).
    pub fn changes(&self) -> Vec<&FileChange> {
        let mut seen = HashSet::new();
        self.outcomes
            .iter()
            .filter(|o| o.is_applicable())
            .flat_map(|o| o.changes.iter())
            .filter(|c| seen.insert(c.path.clone()))
            .collect()
    }
    pub fn pending(&self) -> bool {
        !self.changes().is_empty()
    }
}

fn is_candidate_doc(doc: &Document) -> bool {
    !doc.kind.is_yaml() && doc.has_python()
}

/// Plan the migration of every notebook under `opts.paths`; nothing is written.
pub fn plan(opts: &MigrateOptions) -> Result<MigrateResult, String> {
    if opts.to == TargetShape::Submit {
        submit::check_compute(&opts.compute)?;
        if let Some(ws) = opts
            .workspace_root
            .as_deref()
            .filter(|w| !w.starts_with('/'))
        {
            return Err(format!(
                "--workspace-root `{ws}`: a workspace path is absolute (`/Workspace/...`)"
            ));
        }
    }
    // The engine loads the given paths widened to their bundles (helpers and children are
    // context); only notebooks under the given paths are migrated.
    let copts = crate::engine::CheckOptions {
        paths: opts.paths.clone(),
        config: opts.config.clone(),
        ..Default::default()
    };
    let (project, load_diags, roots) =
        crate::engine::load_project(&copts).map_err(|e| e.to_string())?;
    let mut result = MigrateResult {
        to: opts.to,
        ..Default::default()
    };
    let under_roots = |p: &Path| roots.iter().any(|r| p.starts_with(r));
    for dg in &load_diags {
        if under_roots(&dg.path) {
            result
                .errors
                .push(format!("{}: {}", display_path(&dg.path), dg.message));
        }
    }
    // (document, the directory a new bundle would be created in).
    let docs: Vec<(&Document, PathBuf)> = project
        .documents
        .iter()
        .filter(|d| is_candidate_doc(d))
        .filter_map(|d| {
            let r = roots.iter().find(|r| d.path.starts_with(r))?;
            let init = if r.is_dir() {
                r.clone()
            } else {
                r.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            Some((&**d, init))
        })
        .collect();
    // Bundle root and job key per notebook (keys unique per bundle).
    let with_root: Vec<(&Document, Option<PathBuf>, PathBuf)> = docs
        .into_iter()
        .map(|(d, init)| {
            let root = crate::discover::bundle_root_of(&d.path);
            (d, root, init)
        })
        .collect();
    let mut stems: HashMap<(PathBuf, String), usize> = HashMap::new();
    for (d, root, init) in &with_root {
        let r = root.clone().unwrap_or_else(|| init.clone());
        *stems.entry((r, stem_key(&d.path))).or_default() += 1;
    }
    let progress = Progress::new(with_root.len());
    let outcomes: Vec<Option<NotebookOutcome>> = with_root
        .par_iter()
        .map(|(d, root, init)| {
            progress.tick();
            let r = root.clone().unwrap_or_else(|| init.clone());
            let key = if stems.get(&(r.clone(), stem_key(&d.path))).copied() > Some(1) {
                let rel = d
                    .path
                    .strip_prefix(&r)
                    .unwrap_or(&d.path)
                    .with_extension("");
                plan::sanitize_key(&rel.to_string_lossy())
            } else {
                stem_key(&d.path)
            };
            let detected = detected_fan_outs(&project, d);
            plan_one(d, root.as_deref(), &r, &key, opts, &detected)
        })
        .collect();
    progress.finish();
    result.outcomes = outcomes.into_iter().flatten().collect();
    result
        .outcomes
        .sort_by(|a, b| a.plan.notebook.cmp(&b.plan.notebook));
    if opts.to == TargetShape::Submit {
        block_shared_submit_files(&mut result);
    }
    if opts.recheck {
        recheck(&mut result, opts);
    }
    Ok(result)
}

/// A progress line on stderr for large runs on a terminal (`[k/n] planning`).
struct Progress {
    total: usize,
    done: std::sync::atomic::AtomicUsize,
    show: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        use std::io::IsTerminal;
        Progress {
            total,
            done: std::sync::atomic::AtomicUsize::new(0),
            show: total >= 200 && std::io::stderr().is_terminal(),
        }
    }
    fn tick(&self) {
        let k = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self.show && (k.is_multiple_of(50) || k == self.total) {
            eprint!("\r[{k}/{}] planning the migration", self.total);
        }
    }
    fn finish(&self) {
        if self.show {
            eprintln!();
        }
    }
}

/// The fan-outs bricklint's semantic model finds in a document (what ORC001/ORC002 report):
/// the planner migrates each of them or refuses it with the reason.
fn detected_fan_outs(project: &crate::engine::Project, doc: &Document) -> Vec<planner::Detected> {
    if !doc.text.contains("notebook") {
        return Vec::new();
    }
    crate::python::fanout::fan_outs(project, doc)
        .into_iter()
        .filter(|f| !f.retry && *f.path == *doc.path)
        .map(|f| {
            let what = match f.kind {
                crate::python::fanout::FanOutKind::Dispatch(_) => {
                    format!("{} (`{}`)", f.kind.describe(), f.method)
                }
                k => k.describe().to_string(),
            };
            let external = external_worker(&f, doc);
            planner::Detected {
                range: f.range,
                what,
                external,
            }
        })
        .collect()
}

/// What the semantic model knows about a `map` whose worker (and its `notebook.run`) is in
/// another file: enough to plan a For Each when the path is static and every argument is a
/// literal or the item itself.
fn external_worker(
    f: &crate::python::fanout::FanOut,
    doc: &Document,
) -> Option<planner::ExternalWorker> {
    use crate::python::fanout::{DispatchKind, FanOutKind, WorkerKind};
    if f.kind != FanOutKind::Dispatch(DispatchKind::PoolMap)
        || f.worker.as_ref()?.kind != WorkerKind::Function
        || f.runs.is_empty()
        || f.runs
            .iter()
            .any(|r| *r.path == *doc.path || r.call.by_reference)
    {
        return None;
    }
    let first = &f.runs[0].call;
    let key = |c: &crate::python::fanout::RunCall| {
        (
            c.path.as_ref().map(|p| p.text.clone()),
            c.timeout.as_ref().map(|p| p.text.clone()),
            c.argument_items
                .iter()
                .map(|(k, v)| (k.clone(), v.text.clone()))
                .collect::<Vec<_>>(),
        )
    };
    if f.runs.iter().any(|r| key(&r.call) != key(first)) {
        return None;
    }
    let child = first.path.as_ref()?.value.as_ref()?.as_str()?.to_string();
    let timeout = match &first.timeout {
        None => None,
        Some(t) => match t.value.as_ref()?.to_json()? {
            serde_json::Value::Number(n) => n.as_i64(),
            _ => return None,
        },
    };
    if first.arguments.is_some() && first.argument_items.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    for (k, v) in &first.argument_items {
        let k = k.clone()?;
        if v.param == Some(0) {
            params.push((k, None));
        } else {
            let val = v.value.as_ref()?.to_json()?;
            params.push((k, Some(sym::py_str(&val)?)));
        }
    }
    let items = f.items.as_ref()?;
    let static_items = items
        .value
        .as_ref()
        .and_then(|v| v.to_json())
        .and_then(|v| v.as_array().cloned());
    Some(planner::ExternalWorker {
        child,
        timeout,
        params,
        items: static_items,
        items_text: items.text.clone(),
        pool_size: f.pool.as_ref().and_then(|p| p.size_bound),
    })
}

fn stem_key(p: &Path) -> String {
    plan::sanitize_key(p.file_stem().and_then(|s| s.to_str()).unwrap_or("job"))
}

fn plan_one(
    doc: &Document,
    existing_root: Option<&Path>,
    root: &Path,
    key: &str,
    opts: &MigrateOptions,
    detected: &[planner::Detected],
) -> Option<NotebookOutcome> {
    let popts = planner::PlanOptions { to: opts.to };
    let planned = planner::plan_document(doc, root, key, &popts, detected)?;
    let mut out = NotebookOutcome {
        plan: planned.plan,
        changes: Vec::new(),
        blocked: Vec::new(),
        warnings: Vec::new(),
    };
    if out.plan.fanouts.is_empty() {
        return Some(out);
    }
    let submit = opts.to == TargetShape::Submit;
    if existing_root.is_none() && !opts.init_bundle && !submit {
        out.blocked.push(format!(
            "no databricks.yml in {} or above; pass --init-bundle to create one",
            display_path(root)
        ));
    }
    // The rewritten notebook.
    let edits: Vec<(rewrite::LineEdit, ruff_text_size::TextSize)> = planned
        .edits
        .iter()
        .map(|e| {
            let lines = rewrite::whole_lines(doc, e.range);
            let range = if e.code.is_empty() {
                rewrite::absorb_blank_lines(doc, lines)
            } else {
                lines
            };
            (
                rewrite::LineEdit {
                    range,
                    code: e.code.clone(),
                },
                e.range.start(),
            )
        })
        .collect();
    let old = doc.raw.clone().unwrap_or_else(|| doc.text.clone());
    match rewrite::apply(doc, &edits) {
        Ok(new) => out.changes.push(FileChange {
            path: (*doc.path).clone(),
            old: Some(old),
            new,
        }),
        Err(e) => out
            .blocked
            .push(format!("cannot rewrite the notebook: {e}")),
    }
    if submit {
        submit_request_change(&mut out, root, opts);
        return Some(out);
    }
    // The job resource.
    let res = out.plan.resource_file();
    let source_display = yaml::relative_path(root, &doc.path);
    let job = yaml::job_yaml(&out.plan, &opts.compute, &source_display);
    let old_res = std::fs::read_to_string(&res).ok();
    if old_res.is_some() && !opts.force {
        out.blocked.push(format!(
            "{} exists; pass --force to overwrite it",
            display_path(&res)
        ));
    }
    out.changes.push(FileChange {
        path: res.clone(),
        old: old_res,
        new: job,
    });
    match existing_root {
        None => {
            let name = root
                .file_name()
                .and_then(|n| n.to_str())
                .map(plan::sanitize_key)
                .unwrap_or_else(|| "bundle".into());
            out.changes.push(FileChange {
                path: root.join("databricks.yml"),
                old: None,
                new: yaml::databricks_yml(&name, &opts.compute),
            });
        }
        Some(r) => {
            if !included(r, &res) {
                out.warnings.push(format!(
                    "{} does not include {}: add `resources/*.yml` to its `include` list",
                    display_path(&r.join("databricks.yml")),
                    yaml::relative_path(r, &res)
                ));
            }
        }
    }
    Some(out)
}

/// Two notebooks of one folder with the same stem (`a.py`, `a.ipynb`) would write the same
/// `a.submit.json`: neither is migrated.
fn block_shared_submit_files(result: &mut MigrateResult) {
    let mut count: HashMap<PathBuf, usize> = HashMap::new();
    for o in result.outcomes.iter().filter(|o| !o.changes.is_empty()) {
        *count.entry(o.plan.submit_file()).or_default() += 1;
    }
    for o in result.outcomes.iter_mut() {
        let f = o.plan.submit_file();
        if !o.changes.is_empty() && count.get(&f).copied().unwrap_or(0) > 1 {
            o.blocked.push(format!(
                "another notebook of this folder would also write {}; rename one of them",
                display_path(&f)
            ));
        }
    }
}

/// `--to submit`: the `runs/submit` request body beside the notebook.
fn submit_request_change(out: &mut NotebookOutcome, root: &Path, opts: &MigrateOptions) {
    let file = out.plan.submit_file();
    let ws = opts
        .workspace_root
        .clone()
        .unwrap_or_else(|| submit::default_workspace_root(root));
    if opts.workspace_root.is_none() {
        if let Some(f) = out.plan.fanouts.first_mut() {
            f.notes.push(format!(
                "notebook paths assume the project folder is {ws} in the workspace; pass --workspace-root to change it"
            ));
        }
    }
    match submit::submit_json(&out.plan, &opts.compute, &ws, root) {
        Ok(json) => {
            let old = std::fs::read_to_string(&file).ok();
            if old.is_some() && !opts.force {
                out.blocked.push(format!(
                    "{} exists; pass --force to overwrite it",
                    display_path(&file)
                ));
            }
            out.changes.push(FileChange {
                path: file,
                old,
                new: json,
            });
        }
        Err(e) => out.blocked.push(e),
    }
}

/// Does the bundle's `include` list match the resource file?
fn included(root: &Path, file: &Path) -> bool {
    let text = crate::fsutil::read_input_string(&root.join("databricks.yml"))
        .or_else(|_| crate::fsutil::read_input_string(&root.join("databricks.yaml")))
        .unwrap_or_default();
    let Ok(v) = serde_saphyr::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    let rel = yaml::relative_path(root, file);
    v.get("include")
        .and_then(|i| i.as_array())
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str())
        .any(|g| {
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map(|g| g.compile_matcher().is_match(&rel))
                .unwrap_or(false)
        })
}

/// Selectors of the rules the result must satisfy (only those bricklint has).
fn recheck_selectors() -> Vec<String> {
    [
        "FE", "JOB", "SCH", "XF", "ORC001", "ORC002", "TV001", "TV002", "TV003", "TV004", "NB001",
    ]
    .iter()
    .filter(|s| {
        crate::rules::all()
            .iter()
            .any(|r| r.meta().code.starts_with(*s))
    })
    .map(|s| s.to_string())
    .collect()
}

/// Run the engine over each bundle with the changes applied in memory; findings in the changed
/// files block that notebook's migration.
fn recheck(result: &mut MigrateResult, opts: &MigrateOptions) {
    let selectors = recheck_selectors();
    if selectors.is_empty() {
        return;
    }
    let mut by_root: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, o) in result.outcomes.iter().enumerate() {
        if o.is_applicable() {
            by_root
                .entry(o.plan.bundle_root.clone())
                .or_default()
                .push(i);
        }
    }
    for (root, idxs) in by_root {
        let findings = match check_overlay(&root, result, &idxs, &selectors, opts) {
            Ok(f) => f,
            Err(e) => {
                for &i in &idxs {
                    result.outcomes[i]
                        .blocked
                        .push(format!("cannot re-check the result: {e}"));
                }
                continue;
            }
        };
        for &i in &idxs {
            let o = &mut result.outcomes[i];
            let mine: HashSet<&PathBuf> = o.changes.iter().map(|c| &c.path).collect();
            for (path, msg, blocking) in &findings {
                if !mine.contains(path) {
                    continue;
                }
                if *blocking {
                    o.blocked.push(format!(
                        "the result would not pass bricklint: {}: {msg}",
                        display_path(path)
                    ));
                } else {
                    o.warnings.push(format!("{}: {msg}", display_path(path)));
                }
            }
        }
    }
}

/// Check the bundle with the changes applied in memory (the engine's overlay: nothing is
/// written, no copy of the project is made). Returns (path, message, blocking) of each finding:
/// errors, and any finding of the structural bundle rules (FE, JOB, SCH), block; other warnings
/// (an unbounded task value from `.collect()`, a parameter the child never reads) are reported
/// with the plan.
fn check_overlay(
    root: &Path,
    result: &MigrateResult,
    idxs: &[usize],
    selectors: &[String],
    opts: &MigrateOptions,
) -> Result<Vec<(PathBuf, String, bool)>, String> {
    let mut overlay = BTreeMap::new();
    for &i in idxs {
        for c in &result.outcomes[i].changes {
            overlay.insert(c.path.clone(), c.new.clone());
        }
    }
    // The project's configuration (excludes, limits, orchestration helpers), without the rule
    // selection: the result must pass the structural rules whatever the project ignores.
    let mut config = opts.config.clone();
    config.ignore.clear();
    config.extend_select.clear();
    config.per_file_ignores.clear();
    let copts = crate::engine::CheckOptions {
        paths: vec![root.to_path_buf()],
        config,
        select: Some(selectors.to_vec()),
        // JOB007 (repeated notebook tasks) is the shape `--to tasks` asks for.
        ignore: vec!["JOB007".into()],
        report_scope: crate::engine::ReportScope::Bundle,
        overlay: Some(std::sync::Arc::new(overlay)),
        ..Default::default()
    };
    let res = crate::engine::check(&copts).map_err(|e| e.to_string())?;
    Ok(res
        .messages
        .iter()
        .map(|m| {
            let blocking = m.severity == crate::diagnostic::Severity::Error
                || ["FE", "JOB", "SCH"].iter().any(|p| m.code.starts_with(p));
            (
                m.abs_path.to_path_buf(),
                format!("{} {}", m.code, m.message),
                blocking,
            )
        })
        .collect())
}

/// The plan as text (what `migrate` prints).
pub fn render_plan(result: &MigrateResult) -> String {
    let mut out = String::new();
    let what = if result.to == TargetShape::Submit {
        "run"
    } else {
        "job"
    };
    for o in &result.outcomes {
        let nb = display_path(&o.plan.notebook);
        for r in &o.plan.refusals {
            let _ = writeln!(
                out,
                "{nb}:{}: cannot migrate automatically: {}",
                r.line, r.reason
            );
        }
        for f in &o.plan.fanouts {
            match &f.kind {
                plan::FanOutKind::ForEach(fe) => {
                    let inputs = match yaml::inline_inputs(fe) {
                        Some(_) => format!(
                            "inline, {} items",
                            fe.items.values.as_ref().map_or(0, Vec::len)
                        ),
                        None => format!(
                            "task value `{}` set by task `{}` ({})",
                            fe.value_key,
                            o.plan.producer_key,
                            match &fe.items.source {
                                plan::ItemsSource::Literal => "literal list".to_string(),
                                plan::ItemsSource::ConfigFile(p) =>
                                    format!("read from {}", display_path(p)),
                                plan::ItemsSource::Dynamic => "computed at run time".to_string(),
                            }
                        ),
                    };
                    let _ = writeln!(
                        out,
                        "{nb}:{}: {} -> For Each task `{}` in {what} `{}` ({})",
                        f.line,
                        f.dispatch,
                        fe.task_key,
                        o.plan.job_key,
                        display_path(&o.plan.output_file(result.to))
                    );
                    let _ = writeln!(out, "  child notebook: {}", display_path(&fe.child));
                    let _ = writeln!(out, "  inputs: {inputs}");
                    let _ = writeln!(
                        out,
                        "  concurrency: {}, timeout_seconds: {}, max_retries: {}",
                        fe.concurrency,
                        fe.timeout_seconds.map_or("none".into(), |t| t.to_string()),
                        fe.max_retries.unwrap_or(0)
                    );
                }
                plan::FanOutKind::Tasks(ts) => {
                    let _ = writeln!(
                        out,
                        "{nb}:{}: {} -> {} tasks in {what} `{}` ({})",
                        f.line,
                        f.dispatch,
                        ts.len(),
                        o.plan.job_key,
                        display_path(&o.plan.output_file(result.to))
                    );
                    for t in ts {
                        let _ = writeln!(
                            out,
                            "  task `{}`: {}",
                            t.task_key,
                            display_path(&t.notebook)
                        );
                    }
                }
            }
            for n in &f.notes {
                let _ = writeln!(out, "  note: {n}");
            }
        }
        for w in &o.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        for b in &o.blocked {
            let _ = writeln!(out, "  not applied: {b}");
        }
    }
    for e in &result.errors {
        let _ = writeln!(out, "warning: skipped {e}");
    }
    out
}

/// Unified diff of every pending change.
pub fn render_diff(result: &MigrateResult) -> String {
    let mut out = String::new();
    for c in result.changes() {
        out.push_str(&crate::fix::unified_diff(&c.path, c.old.as_deref(), &c.new));
    }
    out
}

/// Write every applicable change atomically (temp file + rename), in parallel.
pub fn write(result: &MigrateResult) -> Vec<String> {
    result
        .changes()
        .par_iter()
        .filter_map(|c| {
            atomic_write(&c.path, c.new.as_bytes())
                .err()
                .map(|e| format!("{}: {e}", display_path(&c.path)))
        })
        .collect()
}

/// Write a file atomically ([`crate::fsutil::atomic_write`]), creating its folder.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    crate::fsutil::atomic_write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recheck_blocks_a_result_with_findings() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        std::fs::write(
            root.join("databricks.yml"),
            "bundle:\n  name: x\ninclude:\n  - resources/*.yml\n",
        )
        .unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        let nb = root.join("a.py");
        std::fs::write(&nb, "# Databricks notebook source\nx = 1\n").unwrap();
        let plan = NotebookPlan {
            notebook: nb.clone(),
            bundle_root: root.clone(),
            job_key: "a".into(),
            producer_key: "a".into(),
            producer_task: true,
            fanouts: Vec::new(),
            refusals: Vec::new(),
        };
        let good = FileChange {
            path: nb.clone(),
            old: None,
            new: "# Databricks notebook source\nx = 2\n".into(),
        };
        // A For Each nested in a For Each and a concurrency over 100: the engine must object.
        let bad_yaml = "resources:\n  jobs:\n    a:\n      name: a\n      tasks:\n        - task_key: t\n          for_each_task:\n            inputs: '[1]'\n            concurrency: 500\n            task:\n              task_key: u\n              notebook_task:\n                notebook_path: ../a.py\n";
        let mut result = MigrateResult {
            to: TargetShape::Auto,
            outcomes: vec![NotebookOutcome {
                plan,
                changes: vec![
                    good,
                    FileChange {
                        path: root.join("resources/a.job.yml"),
                        old: None,
                        new: bad_yaml.into(),
                    },
                ],
                blocked: Vec::new(),
                warnings: Vec::new(),
            }],
            errors: Vec::new(),
        };
        assert!(result.pending());
        recheck(&mut result, &MigrateOptions::default());
        let o = &result.outcomes[0];
        assert!(
            o.blocked.iter().any(|b| b.contains("FE001")),
            "{:?}",
            o.blocked
        );
        assert!(!result.pending());
        // Nothing was written to the real project.
        assert!(!root.join("resources").exists());
    }
}
