//! `bricklint migrate`: rewrite driver fan-out into For Each or per-object task bundle
//! resources, and the orchestrator notebook into a task-value producer.
//!
//! Flow: load the notebooks (parallel) -> plan each ([`shape`]) -> generate the job YAML
//! ([`yaml`]) and the rewritten notebook ([`rewrite`]) -> re-check the would-be result with
//! bricklint's own engine in a temporary copy of the bundle -> print the plan and diff, or
//! write every file atomically.

pub mod after;
mod job_choice;
pub mod job_edit;
pub mod journal;
pub mod names;
pub mod plan;
mod recheck;
mod report;
pub mod rewrite;
pub mod runners;
pub mod shape;
pub mod sites;
pub mod submit;
pub mod sym;
pub mod yaml;
pub mod yaml_edit;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::bundle::Node;
use crate::config::Config;
use crate::source::{display_path, Document};
use job_choice::JobChoice;
pub use plan::{Compute, NotebookPlan, TargetShape};
pub use report::{render_diff, render_manual_yaml, render_plan};

/// Options of `bricklint migrate`.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    pub paths: Vec<PathBuf>,
    pub to: TargetShape,
    /// `--compute`: where the new notebook tasks run. `None`: on the orchestrator task's
    /// compute when a job runs it, else serverless.
    pub compute: Option<Compute>,
    pub force: bool,
    pub init_bundle: bool,
    pub config: Config,
    /// Re-check the result with the engine before writing (on by default in the CLI).
    pub recheck: bool,
    /// `--to submit`: the workspace folder the project is deployed to (notebook paths);
    /// default `/Workspace/Shared/<project folder name>`.
    pub workspace_root: Option<String>,
    /// `--target`: the bundle target whose jobs are read (its overrides are checked too).
    pub target: Option<String>,
    /// `--var name=value` bundle variables.
    pub vars: Vec<(String, String)>,
}

impl MigrateOptions {
    /// The compute of generated tasks when nothing else decides it.
    pub fn compute_or_default(&self) -> Compute {
        self.compute.clone().unwrap_or_default()
    }
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
    /// How the job is changed (printed with the plan).
    pub notes: Vec<String>,
    /// When the job cannot be changed automatically: the YAML and the steps to do it by hand.
    pub manual: Option<Manual>,
}

/// A job change to make by hand (the edit was refused but its YAML could be computed).
#[derive(Debug, Clone, PartialEq)]
pub struct Manual {
    /// What to do with the YAML (ends with `:`).
    pub steps: String,
    /// The YAML to paste, at column 0 (task list items, or the entry that replaces one).
    pub yaml: String,
    /// What to do afterwards (may be empty).
    pub then: String,
}

impl Manual {
    /// The steps, the YAML (indented by 4) and what to do afterwards, as printed with the plan.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n{}", self.steps, yaml::indent_lines(&self.yaml, 4));
        if !self.then.is_empty() {
            out.push_str(&self.then);
            out.push('\n');
        }
        out
    }
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
        submit::check_compute(&opts.compute_or_default())?;
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
        target: opts.target.clone(),
        vars: opts.vars.clone(),
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
            let facts = sites::facts_of(&project, d);
            plan_one(&project, d, root.as_deref(), &r, &key, opts, &facts)
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
    block_shared_files(&mut result);
    if opts.recheck {
        recheck::recheck(&mut result, opts);
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

fn stem_key(p: &Path) -> String {
    plan::sanitize_key(p.file_stem().and_then(|s| s.to_str()).unwrap_or("job"))
}

fn plan_one(
    project: &crate::engine::Project,
    doc: &Document,
    existing_root: Option<&Path>,
    root: &Path,
    key: &str,
    opts: &MigrateOptions,
    facts: &sites::Facts,
) -> Option<NotebookOutcome> {
    let submit = opts.to == TargetShape::Submit;
    let bundle = existing_root.and_then(|r| project.bundles.iter().find(|b| b.root == r));
    let raws = bundle.map(runners::raw_tasks).unwrap_or_default();
    let choice = if submit {
        JobChoice::New {
            key: key.to_string(),
            file: root.join("resources").join(format!("{key}.job.yml")),
            blocked: None,
        }
    } else {
        job_choice::choose_job(bundle, &raws, &doc.path, root, key, opts.force)
    };
    let mut popts = shape::PlanOptions {
        to: opts.to,
        ..Default::default()
    };
    let mut job_file = None;
    match &choice {
        JobChoice::New { key, file, .. } if !submit => {
            popts.job_key = Some(key.clone());
            popts.job_file = Some(yaml::relative_path(root, file));
            job_file = Some(file.clone());
        }
        JobChoice::InPlace(r) => {
            let file = r.task.node.loc.file.as_ref().clone();
            popts.job_key = Some(r.job.key.clone());
            popts.producer_key = Some(r.task_key().to_string());
            popts.job_file = Some(yaml::relative_path(root, &file));
            popts.reserved = job_choice::job_task_keys(&raws, &r.job.key);
            popts.convert = true;
            job_file = Some(file);
        }
        _ => {}
    }
    let planned = shape::plan_document(doc, root, key, &popts, facts)?;
    let mut out = NotebookOutcome {
        plan: planned.plan,
        changes: Vec::new(),
        blocked: Vec::new(),
        warnings: Vec::new(),
        notes: Vec::new(),
        manual: None,
    };
    out.plan.job_file = job_file;
    if out.plan.fanouts.is_empty() {
        return Some(out);
    }
    if existing_root.is_none() && !opts.init_bundle && !submit {
        out.blocked.push(format!(
            "no databricks.yml in {} or above; pass --init-bundle to create one",
            display_path(root)
        ));
    }
    notebook_change(&mut out, doc, &planned.edits);
    after::add_notebook(&mut out, doc, root);
    if submit {
        submit_request_change(&mut out, root, opts);
        return Some(out);
    }
    match choice {
        JobChoice::New { blocked, .. } => {
            out.blocked.extend(blocked);
            job_choice::new_job_change(&mut out, doc, existing_root, root, opts);
        }
        JobChoice::InPlace(runner) => {
            if runner.by_workspace_path {
                out.notes.push(format!(
                    "job `{}` runs this notebook through its workspace path (`{}`)",
                    runner.job.key,
                    runner
                        .task
                        .notebook_task
                        .as_ref()
                        .and_then(|n| n.notebook_path.as_ref())
                        .and_then(Node::as_str)
                        .unwrap_or("?")
                ));
            }
            let bundle = bundle.expect("a runner comes from a bundle");
            let load = crate::bundle::LoadOptions::from_process(
                opts.target.clone().or_else(|| opts.config.target.clone()),
                opts.vars.clone(),
            );
            let inp = job_edit::Input {
                bundle,
                runner,
                raws: &raws,
                plan: &out.plan,
                compute: opts.compute.as_ref(),
                config: &opts.config,
                load: &load,
            };
            match job_edit::edit(&inp) {
                Ok(e) => {
                    out.notes.extend(e.notes);
                    out.changes.extend(e.changes);
                }
                Err(r) => {
                    out.blocked.push(r.reason);
                    out.manual = Some(r.manual);
                }
            }
        }
        JobChoice::Several(names) => {
            out.blocked.push(format!(
                "{} tasks run this notebook: {}; `bricklint migrate` edits a job in place only when exactly one task runs it",
                names.len(),
                names.join(", ")
            ));
            let dir = root.join("resources");
            let (items, _) = yaml::fan_out_tasks(
                &out.plan,
                &[out.plan.producer_key.clone()],
                &dir,
                yaml::TaskCompute::Given(&opts.compute_or_default()),
            );
            out.manual = Some(Manual {
                steps: format!(
                    "In the one job that should run the fan-out, add these tasks after the task that runs this notebook (named `{}` here):",
                    out.plan.producer_key
                ),
                yaml: items,
                then: "make every task that depends on it depend on the last of them, and stop the other tasks from running this notebook.".into(),
            });
        }
    }
    Some(out)
}

/// The rewritten notebook.
fn notebook_change(out: &mut NotebookOutcome, doc: &Document, edits: &[shape::StmtEdit]) {
    let mut edits: Vec<(rewrite::LineEdit, ruff_text_size::TextSize)> = edits
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
    // Code after the fan-out leaves the orchestrator for its own notebook.
    if let Some(a) = &out.plan.after {
        edits.extend(after::removals(doc, a));
        edits.sort_by_key(|(_, at)| *at);
    }
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

/// Two orchestrators whose migrations change the same file (two notebooks run by one job
/// file): the first (in path order) is migrated, the later ones wait for the next run, which
/// starts from the edited file. Identical new files (one `databricks.yml` for a new bundle) are
/// shared.
fn block_shared_files(result: &mut MigrateResult) {
    let mut claimed: HashMap<PathBuf, (Option<String>, String)> = HashMap::new();
    for o in result.outcomes.iter_mut() {
        if !o.is_applicable() {
            continue;
        }
        let clash = o.changes.iter().find(|c| {
            claimed
                .get(&c.path)
                .is_some_and(|(old, new)| !(old.is_none() && c.old.is_none() && *new == c.new))
        });
        if let Some(c) = clash {
            o.blocked.push(format!(
                "the migration of another notebook changes {} too; run `bricklint migrate` again after it",
                display_path(&c.path)
            ));
            continue;
        }
        for c in &o.changes {
            claimed.insert(c.path.clone(), (c.old.clone(), c.new.clone()));
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
    match submit::submit_json(&out.plan, &opts.compute_or_default(), &ws, root) {
        Ok(json) => {
            let old = crate::fsutil::read_input_string(&file).ok();
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

/// What `write` did.
#[derive(Debug, Default)]
pub struct Written {
    /// Files written.
    pub files: usize,
    /// One message per migration that could not be written (its files are unchanged, or
    /// journalled for the next run to finish).
    pub errors: Vec<String>,
}

/// Write every applicable migration, each all or nothing ([`journal::commit_all`]: staged,
/// journalled, renamed), one after the other.
pub fn write(result: &MigrateResult) -> Written {
    let mut out = Written::default();
    let mut done: HashMap<PathBuf, String> = HashMap::new();
    for o in result.outcomes.iter().filter(|o| o.is_applicable()) {
        // A file several migrations create alike (one `databricks.yml`) is written once.
        let changes: Vec<&FileChange> = o
            .changes
            .iter()
            .filter(|c| done.get(&c.path) != Some(&c.new))
            .collect();
        if changes.is_empty() {
            continue;
        }
        match journal::commit_all(&o.plan.bundle_root, &o.plan.notebook, &changes) {
            Ok(()) => {
                out.files += changes.len();
                for c in changes {
                    done.insert(c.path.clone(), c.new.clone());
                }
            }
            Err(e) => out.errors.push(e),
        }
    }
    out
}
