//! From the bundle model (`crate::bundle`) to the planner's [`PlanJob`]s: the bundle is loaded
//! the way `bricklint check` loads it (includes, target merge, variables), then each job's
//! tasks are mapped. The project index answers the notebook questions ([`NotebookFacts`]).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::facts::{NotebookFacts, TaskValueFact, TaskValueRead, WidgetRead};
use super::model::{Compute, ParamValue, PlanJob, PlanTask, TaskKind, WorkspaceFiles};
use crate::bundle::model::NotebookRef;
use crate::bundle::{Bundle, Job, Node, Task, Value};
use crate::config::Config;
use crate::engine::{self, CheckOptions, Project};
use crate::project::facts::KeySet;
use crate::python::value::Value as V;

/// A loaded bundle, ready to plan.
pub struct Loaded {
    pub jobs: Vec<PlanJob>,
    pub facts: ProjectFacts,
    /// What `check` reports about loading the bundle's files (SCH001 schema violations, SCH002
    /// YAML that does not parse): a job in a file that cannot be used is missing from the plan.
    pub findings: Vec<LoadFinding>,
}

/// A finding from loading the bundle, positioned as `check` positions it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadFinding {
    pub code: &'static str,
    pub severity: &'static str,
    pub message: String,
    pub path: String,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for LoadFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {} [{}] {}",
            self.path, self.line, self.column, self.code, self.severity, self.message
        )
    }
}

impl Loaded {
    /// The jobs to plan: all, or the one whose key or name is `job`.
    pub fn select(&self, job: Option<&str>) -> Result<Vec<PlanJob>, String> {
        let Some(want) = job else {
            return Ok(self.jobs.clone());
        };
        let found: Vec<PlanJob> = self
            .jobs
            .iter()
            .filter(|j| j.key == want)
            .chain(
                self.jobs
                    .iter()
                    .filter(|j| j.key != want && j.name.as_deref() == Some(want)),
            )
            .take(1)
            .cloned()
            .collect();
        if found.is_empty() {
            let keys: Vec<&str> = self.jobs.iter().map(|j| j.key.as_str()).collect();
            return Err(format!(
                "no job `{want}` in the bundle (jobs: {})",
                if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                }
            ));
        }
        Ok(found)
    }
}

/// Notebook facts from the project index (`crate::project::facts`).
pub struct ProjectFacts {
    project: Project,
}

impl ProjectFacts {
    fn line(&self, notebook: &Path, range: ruff_text_size::TextRange) -> Option<usize> {
        let doc = self.project.document(notebook)?;
        Some(doc.resolve(range).file_line as usize)
    }
}

impl NotebookFacts for ProjectFacts {
    fn widgets(&self, notebook: &Path) -> Option<Vec<WidgetRead>> {
        let f = self.project.index.payload.get(notebook)?;
        if f.failed {
            return None;
        }
        let mut out: Vec<WidgetRead> = Vec::new();
        for d in &f.widget_defs {
            let Some(name) = &d.name else { continue };
            if out.iter().any(|w| &w.name == name) {
                continue;
            }
            let default = match &d.default {
                Some(V::Str(s)) => s.clone(),
                Some(v) => v
                    .to_json()
                    .map(|j| super::model::json_text(&j))
                    .unwrap_or_else(|| v.describe()),
                None => String::new(),
            };
            out.push(WidgetRead {
                name: name.clone(),
                default: Some(default),
                line: self.line(notebook, d.range),
            });
        }
        for r in &f.widget_reads {
            let Some(name) = &r.name else { continue };
            if let Some(w) = out.iter_mut().find(|w| &w.name == name) {
                if w.line.is_none() {
                    w.line = self.line(notebook, r.range);
                }
                continue;
            }
            out.push(WidgetRead {
                name: name.clone(),
                default: r.has_default.then(|| format!("({} default)", r.via)),
                line: self.line(notebook, r.range),
            });
        }
        out.sort_by_key(|w| w.line.unwrap_or(usize::MAX));
        Some(out)
    }

    fn reads_other_widgets(&self, notebook: &Path) -> bool {
        self.project
            .index
            .payload
            .get(notebook)
            .is_some_and(|f| f.reads_all_widgets || f.dynamic_widget_reads)
    }

    fn task_value_reads(&self, notebook: &Path) -> Vec<TaskValueRead> {
        let Some(f) = self.project.index.payload.get(notebook) else {
            return Vec::new();
        };
        f.gets
            .iter()
            .map(|g| TaskValueRead {
                task: g.task_key.clone(),
                key: g.key.clone(),
                line: self.line(notebook, g.range),
            })
            .collect()
    }

    fn task_value(&self, notebook: &Path, key: &str) -> TaskValueFact {
        let Some(f) = self.project.index.payload.get(notebook) else {
            return TaskValueFact::Unknown;
        };
        if f.failed {
            return TaskValueFact::Unknown;
        }
        let Some(set) = f.sets_of(key).next() else {
            return match f.keys() {
                KeySet::Dynamic => TaskValueFact::Unknown,
                KeySet::Known(_) => TaskValueFact::NotSet,
            };
        };
        let line = self.line(notebook, set.range);
        match set.value.as_ref() {
            Some(v) => match v.to_json() {
                Some(value) => TaskValueFact::Known { value, line },
                None => TaskValueFact::Dynamic {
                    reason: v
                        .unbounded_reason()
                        .map(|r| r.what.clone())
                        .unwrap_or_else(|| v.describe()),
                    line,
                },
            },
            None => TaskValueFact::Dynamic {
                reason: "the value is not known statically".into(),
                line,
            },
        }
    }
}

/// Find the bundle root file in `dir`.
fn root_file(dir: &Path) -> Result<PathBuf, String> {
    if dir.is_file() {
        return Ok(dir.to_path_buf());
    }
    for name in ["databricks.yml", "databricks.yaml"] {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
        // A directory or a FIFO by that name: say what it is (reading it tells, without
        // waiting on a FIFO).
        if std::fs::symlink_metadata(&p).is_ok() {
            if let Err(e) = crate::fsutil::read_input(&p) {
                return Err(format!(
                    "{}: {e}: the bundle root file must be a file",
                    crate::source::display_path(&p)
                ));
            }
        }
    }
    Err(format!(
        "{}: no databricks.yml here (give the bundle directory)",
        crate::source::display_path(dir)
    ))
}

/// Load the bundle in `dir` for `target`.
pub fn load(
    dir: &Path,
    config: Config,
    target: Option<&str>,
    vars: Vec<(String, String)>,
) -> Result<Loaded, String> {
    let root = crate::discover::absolutize(&root_file(dir)?);
    let opts = CheckOptions {
        paths: vec![root.parent().map(Path::to_path_buf).unwrap_or_default()],
        config,
        target: target.map(str::to_string),
        vars,
        ..Default::default()
    };
    let (project, diags, _) = engine::load_project(&opts).map_err(|e| e.to_string())?;
    // What the loader reports about files it cannot use (SCH001 on bad `include:` entries,
    // SCH002 on YAML that does not parse), as `check` reports it; the schema rule's findings
    // on files that load are left to `check`.
    let cfg = &opts.config;
    let selection = engine::Selection::new(cfg.select.as_deref(), &cfg.extend_select, &cfg.ignore)
        .map_err(|e| e.to_string())?;
    let Some(bundle) = project
        .bundles
        .iter()
        .find(|b| b.root_file.as_path() == root.as_path())
    else {
        // Why: what the loader said about the file (binary, not UTF-8, too large), else its name.
        let why = diags
            .iter()
            .find(|d| d.path.as_path() == root.as_path())
            .map(|d| format!(": {}", d.message))
            .unwrap_or_else(|| " (a bundle root file is databricks.yml or databricks.yaml)".into());
        return Err(format!(
            "{}: not loaded as a bundle{why}",
            crate::source::display_path(&root)
        ));
    };
    if target.is_some() && bundle.config.is_some() && bundle.target.as_deref() != target {
        return Err(format!(
            "cannot load the bundle for target `{}`",
            target.unwrap_or_default()
        ));
    }
    let findings = diags
        .iter()
        .filter(|d| d.code.starts_with("SCH") && d.severity == crate::Severity::Error)
        .filter(|d| selection.is_enabled(d.code))
        .filter(|d| d.path.starts_with(&bundle.root))
        .map(|d| {
            let m = engine::resolve(&project, d);
            LoadFinding {
                code: d.code,
                severity: d.severity.as_str(),
                message: d.message.clone(),
                path: m.span.path,
                line: m.span.line,
                column: m.span.column,
            }
        })
        .collect();
    let jobs = bundle.jobs.iter().map(|j| convert_job(bundle, j)).collect();
    Ok(Loaded {
        jobs,
        facts: ProjectFacts { project },
        findings,
    })
}

fn text(n: Option<&Node>) -> Option<String> {
    n.and_then(Node::scalar_text)
}

fn convert_job(bundle: &Bundle, job: &Job) -> PlanJob {
    let parameters = job
        .parameters
        .iter()
        .filter_map(|p| Some((text(p.name.as_ref())?, text(p.default.as_ref())?)))
        .collect();
    let variables = bundle
        .variables
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), text(v.value.as_ref())?)))
        .collect();
    PlanJob {
        key: job.key.clone(),
        name: text(job.name.as_ref()),
        target: bundle.target.clone(),
        parameters,
        variables,
        tasks: job
            .tasks
            .iter()
            .map(|t| convert_task(bundle, job, t))
            .collect(),
        file: Some(crate::source::display_path(&job.key_loc.file)),
        workspace: workspace_files(bundle),
        sync_root: Some(bundle.sync_root.clone()),
    }
}

/// `workspace.file_path` for the bundle's target, as the Databricks CLI defaults it:
/// `${workspace.root_path}/files`, with `root_path` defaulting to
/// `~/.bundle/${bundle.name}/${bundle.target}` and `~` the current user's home folder
/// (`/Workspace/Users/<user name>`), which only the workspace knows.
fn workspace_files(bundle: &Bundle) -> WorkspaceFiles {
    let Some(config) = bundle.config.as_ref() else {
        return WorkspaceFiles::Unknown;
    };
    let get = |keys: &[&str]| config.get_path(keys).and_then(Node::scalar_text);
    let name = get(&["bundle", "name"]).unwrap_or_else(|| "bundle".into());
    let target = bundle.target.clone().unwrap_or_else(|| "default".into());
    let home = |p: String| match p.strip_prefix('~') {
        Some(rest) => format!("/Workspace/Users/${{workspace.current_user.userName}}{rest}"),
        None => p,
    };
    let root =
        home(get(&["workspace", "root_path"]).unwrap_or(format!("~/.bundle/{name}/{target}")));
    let files = match get(&["workspace", "file_path"]) {
        Some(f) => home(f.replace("${workspace.root_path}", &root)),
        None => format!("{root}/files"),
    };
    let files = files.trim_end_matches('/').to_string();
    if crate::bundle::refs::has_interpolation(&files) {
        WorkspaceFiles::Unresolved(files)
    } else {
        WorkspaceFiles::Known(files)
    }
}

/// Task types that need no compute.
const NO_COMPUTE: &[&str] = &[
    "for_each_task",
    "condition_task",
    "run_job_task",
    "pipeline_task",
    "sql_task",
    "dbt_cloud_task",
    "dashboard_task",
    "alert_task",
    "power_bi_task",
];

fn compute_of(t: &Task) -> Compute {
    if let Some(k) = text(t.get("job_cluster_key")) {
        return Compute::JobCluster(k);
    }
    if let Some(id) = text(t.get("existing_cluster_id")) {
        return Compute::ExistingCluster(id);
    }
    if let Some(nc) = t.get("new_cluster") {
        let mut parts = Vec::new();
        for (k, label) in [
            ("spark_version", ""),
            ("node_type_id", ""),
            ("num_workers", " workers"),
        ] {
            if let Some(v) = text(nc.get(k)) {
                parts.push(format!("{v}{label}"));
            }
        }
        return Compute::NewCluster(parts.join(", "));
    }
    if let Some(k) = text(t.get("environment_key")) {
        return Compute::Environment(k);
    }
    match t.task_type() {
        Some(ty) if NO_COMPUTE.contains(&ty) => Compute::NotNeeded,
        _ => Compute::Serverless,
    }
}

fn convert_task(bundle: &Bundle, job: &Job, t: &Task) -> PlanTask {
    let kind = if let Some(nb) = &t.notebook_task {
        let local = match bundle.resolve_notebook(job, t) {
            NotebookRef::Local(p) => Some(p),
            _ => None,
        };
        let path = text(nb.notebook_path.as_ref()).unwrap_or_default();
        let base_parameters: IndexMap<String, ParamValue> = nb
            .base_parameters
            .iter()
            .map(|e| {
                let v = match &e.value.value {
                    Value::Str(s) => ParamValue::Str(s.clone()),
                    _ => ParamValue::NotString(e.value.to_json()),
                };
                (e.key.clone(), v)
            })
            .collect();
        TaskKind::Notebook {
            path,
            local,
            base_parameters,
        }
    } else if let Some(fe) = &t.for_each_task {
        let inputs = match fe.inputs.as_ref() {
            Some(n) => match &n.value {
                Value::Str(s) => s.clone(),
                _ => serde_json::to_string(&n.to_json()).unwrap_or_default(),
            },
            None => String::new(),
        };
        let inputs_not_string = fe.inputs.as_ref().is_some_and(|n| n.as_str().is_none());
        TaskKind::ForEach {
            inputs,
            inputs_not_string,
            concurrency: fe.concurrency.as_ref().and_then(Node::as_i64),
            task: Box::new(match &fe.task {
                Some(n) => convert_task(bundle, job, n),
                None => PlanTask {
                    key: "(no task)".into(),
                    ..Default::default()
                },
            }),
        }
    } else {
        TaskKind::Other {
            task_type: t
                .task_type()
                .map(|s| s.trim_end_matches("_task").to_string())
                .unwrap_or_else(|| "unknown".into()),
        }
    };
    let line = bundle.text(&t.node.loc.file).map(|txt| {
        let off = usize::from(t.anchor().range.start()).min(txt.len());
        txt[..off].matches('\n').count() + 1
    });
    PlanTask {
        key: t.key().unwrap_or("(no task_key)").to_string(),
        depends_on: t
            .depends_on
            .iter()
            .filter_map(|d| d.task_key.as_ref()?.as_str().map(str::to_string))
            .collect(),
        kind,
        compute: compute_of(t),
        run_if: text(t.get("run_if")),
        line,
    }
}
