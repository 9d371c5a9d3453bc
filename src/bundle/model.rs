//! The typed job/task model over the merged bundle configuration.
//!
//! Every typed field is the [`Node`] it was read from, so its value *and* its location (file,
//! byte range) are at hand; `route` strings (`resources.jobs.bronze.tasks[1]`) name the place
//! in the merged configuration for `Diagnostic::route`. The raw `node` of each object is kept for
//! fields the model does not type.
//!
//! ```no_run
//! # fn f(bundle: &bricklint::bundle::Bundle) {
//! for job in &bundle.jobs {
//!     let graph = job.graph();
//!     for task in job.all_tasks() {
//!         if let Some(nb) = &task.notebook_task {
//!             let _path = bundle.resolve_notebook(job, task);
//!             let _params = &nb.base_parameters;
//!         }
//!         let _upstream = task.key().map(|k| graph.upstream(k));
//!     }
//! }
//! # }
//! ```

use std::path::{Path, PathBuf};

use super::graph::TaskGraph;
use super::yaml::{Entry, Node, Value};
use super::Bundle;

/// A job (`resources.jobs.<key>`).
#[derive(Debug, Clone)]
pub struct Job {
    /// The resource key.
    pub key: String,
    /// The job mapping (merged for the target).
    pub node: Node,
    /// Location of the resource key.
    pub key_loc: super::Loc,
    /// `resources.jobs.<key>`
    pub route: String,
    pub name: Option<Node>,
    /// Top-level tasks, in order (after merging by `task_key`).
    pub tasks: Vec<Task>,
    pub job_clusters: Vec<JobCluster>,
    pub parameters: Vec<JobParameter>,
    /// `git_source`: notebook paths are then relative to the Git repository, not local files.
    pub git_source: Option<Node>,
}

/// A task (a job task or the nested task of a For Each).
#[derive(Debug, Clone)]
pub struct Task {
    /// `resources.jobs.<job>.tasks[i]` (or `...for_each_task.task`).
    pub route: String,
    pub node: Node,
    pub task_key: Option<Node>,
    pub depends_on: Vec<Dependency>,
    pub notebook_task: Option<NotebookTask>,
    pub for_each_task: Option<Box<ForEachTask>>,
    pub job_cluster_key: Option<Node>,
    /// True for the `task` of a `for_each_task`.
    pub nested: bool,
}

/// One `depends_on` entry.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// The `task_key` node of the entry (`None` when missing or not a string).
    pub task_key: Option<Node>,
    /// The entry itself.
    pub node: Node,
    pub route: String,
}

/// `notebook_task`.
#[derive(Debug, Clone)]
pub struct NotebookTask {
    pub node: Node,
    pub route: String,
    pub notebook_path: Option<Node>,
    /// `base_parameters` entries (key, value node).
    pub base_parameters: Vec<Entry>,
    /// `source`: `WORKSPACE` or `GIT`.
    pub source: Option<Node>,
    /// Where `notebook_path` leads, computed on first use ([`resolve_notebook`]; several
    /// rules ask for every task).
    pub(crate) resolved: std::sync::OnceLock<NotebookRef>,
}

/// `for_each_task`.
#[derive(Debug, Clone)]
pub struct ForEachTask {
    pub node: Node,
    /// `...tasks[i].for_each_task`
    pub route: String,
    /// The `for_each_task` key entry location.
    pub key_loc: super::Loc,
    pub inputs: Option<Node>,
    pub concurrency: Option<Node>,
    pub task: Option<Task>,
}

/// `job_clusters[i]`.
#[derive(Debug, Clone)]
pub struct JobCluster {
    pub node: Node,
    pub route: String,
    pub job_cluster_key: Option<Node>,
}

/// `parameters[i]` of a job.
#[derive(Debug, Clone)]
pub struct JobParameter {
    pub node: Node,
    pub route: String,
    pub name: Option<Node>,
    pub default: Option<Node>,
}

/// Task fields that choose compute.
pub const COMPUTE_KEYS: &[&str] = &[
    "job_cluster_key",
    "existing_cluster_id",
    "new_cluster",
    "environment_key",
];

/// Task types (the `*_task` keys).
pub const TASK_TYPES: &[&str] = &[
    "notebook_task",
    "spark_python_task",
    "python_wheel_task",
    "spark_jar_task",
    "spark_submit_task",
    "sql_task",
    "dbt_task",
    "pipeline_task",
    "run_job_task",
    "condition_task",
    "for_each_task",
    "clean_rooms_notebook_task",
    "dashboard_task",
    "power_bi_task",
    "gen_ai_compute_task",
    "ai_runtime_task",
    "alert_task",
    "dbt_cloud_task",
];

impl Task {
    /// The `task_key` text.
    pub fn key(&self) -> Option<&str> {
        self.task_key.as_ref().and_then(Node::as_str)
    }
    /// A field of the task mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.node.entry(key)
    }
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.node.get(key)
    }
    /// The task type key present (`notebook_task`, `for_each_task`, ...).
    pub fn task_type(&self) -> Option<&str> {
        self.node
            .as_map()?
            .iter()
            .find(|e| TASK_TYPES.contains(&e.key.as_str()))
            .map(|e| e.key.as_str())
    }
    /// The nested task of a For Each, if any.
    pub fn nested_task(&self) -> Option<&Task> {
        self.for_each_task.as_ref()?.task.as_ref()
    }
    /// A location to report the task at: its `task_key` value, else the task mapping.
    pub fn anchor(&self) -> &super::Loc {
        self.task_key
            .as_ref()
            .map(|n| &n.loc)
            .unwrap_or(&self.node.loc)
    }
}

impl Job {
    /// Top-level tasks and the nested tasks of For Each tasks (depth first).
    pub fn all_tasks(&self) -> Vec<&Task> {
        let mut out = Vec::new();
        for t in &self.tasks {
            out.push(t);
            let mut cur = t;
            while let Some(n) = cur.nested_task() {
                out.push(n);
                cur = n;
            }
        }
        out
    }
    /// A top-level task by key.
    pub fn task(&self, key: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.key() == Some(key))
    }
    /// The dependency graph of the top-level tasks.
    pub fn graph(&self) -> TaskGraph {
        TaskGraph::from_keys(self.tasks.iter().map(|t| {
            let deps = t
                .depends_on
                .iter()
                .filter_map(|d| d.task_key.as_ref()?.as_str())
                .collect();
            (t.key(), deps)
        }))
    }
    /// The top-level task that contains `task` (itself, or the For Each owning a nested task).
    pub fn owner_of<'a>(&'a self, task: &Task) -> Option<&'a Task> {
        self.tasks
            .iter()
            .find(|t| task.route == t.route || task.route.starts_with(&format!("{}.", t.route)))
    }
    /// The job clusters' keys.
    pub fn job_cluster_keys(&self) -> Vec<&str> {
        self.job_clusters
            .iter()
            .filter_map(|c| c.job_cluster_key.as_ref().and_then(Node::as_str))
            .collect()
    }
}

fn seq(n: Option<&Node>) -> &[Node] {
    n.and_then(Node::as_seq).unwrap_or_default()
}

fn build_task(node: &Node, route: String, nested: bool, depth: usize) -> Task {
    let depends_on = seq(node.get("depends_on"))
        .iter()
        .enumerate()
        .map(|(i, d)| Dependency {
            task_key: match &d.value {
                Value::Str(_) => Some(d.clone()),
                _ => d.get("task_key").filter(|k| k.as_str().is_some()).cloned(),
            },
            node: d.clone(),
            route: format!("{route}.depends_on[{i}]"),
        })
        .collect();
    let notebook_task = node.get("notebook_task").map(|nb| NotebookTask {
        node: nb.clone(),
        route: format!("{route}.notebook_task"),
        notebook_path: nb.get("notebook_path").cloned(),
        base_parameters: nb
            .get("base_parameters")
            .and_then(Node::as_map)
            .map(<[Entry]>::to_vec)
            .unwrap_or_default(),
        source: nb.get("source").cloned(),
        resolved: std::sync::OnceLock::new(),
    });
    let for_each_task = node.entry("for_each_task").map(|fe| {
        let fr = format!("{route}.for_each_task");
        Box::new(ForEachTask {
            node: fe.value.clone(),
            key_loc: fe.key_loc.clone(),
            inputs: fe.value.get("inputs").cloned(),
            concurrency: fe.value.get("concurrency").cloned(),
            task: if depth < 16 {
                fe.value
                    .get("task")
                    .filter(|t| t.as_map().is_some())
                    .map(|t| build_task(t, format!("{fr}.task"), true, depth + 1))
            } else {
                None
            },
            route: fr,
        })
    });
    Task {
        task_key: node.get("task_key").cloned(),
        job_cluster_key: node.get("job_cluster_key").cloned(),
        depends_on,
        notebook_task,
        for_each_task,
        node: node.clone(),
        route,
        nested,
    }
}

/// Build the jobs of a merged configuration.
pub fn build_jobs(config: &Node) -> Vec<Job> {
    let Some(jobs) = config
        .get_path(&["resources", "jobs"])
        .and_then(Node::as_map)
    else {
        return Vec::new();
    };
    use rayon::prelude::*;
    jobs.par_iter()
        .filter(|e| e.value.as_map().is_some())
        .map(|e| {
            let route = format!("resources.jobs.{}", e.key);
            let n = &e.value;
            Job {
                key: e.key.clone(),
                key_loc: e.key_loc.clone(),
                name: n.get("name").cloned(),
                tasks: seq(n.get("tasks"))
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.as_map().is_some())
                    .map(|(i, t)| build_task(t, format!("{route}.tasks[{i}]"), false, 0))
                    .collect(),
                job_clusters: seq(n.get("job_clusters"))
                    .iter()
                    .enumerate()
                    .map(|(i, c)| JobCluster {
                        node: c.clone(),
                        route: format!("{route}.job_clusters[{i}]"),
                        job_cluster_key: c.get("job_cluster_key").cloned(),
                    })
                    .collect(),
                parameters: seq(n.get("parameters"))
                    .iter()
                    .enumerate()
                    .map(|(i, p)| JobParameter {
                        node: p.clone(),
                        route: format!("{route}.parameters[{i}]"),
                        name: p.get("name").cloned(),
                        default: p.get("default").cloned(),
                    })
                    .collect(),
                git_source: n.get("git_source").cloned(),
                node: n.clone(),
                route,
            }
        })
        .collect()
}

/// Where a task's `notebook_path` leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotebookRef {
    /// The task has no notebook_task / notebook_path.
    None,
    /// A local file that exists and is inside the sync root.
    Local(PathBuf),
    /// A local path that does not exist. `with_extension` is a file that exists when an
    /// extension is added (the CLI requires it).
    Missing {
        path: PathBuf,
        with_extension: Option<PathBuf>,
    },
    /// A local path outside the sync root (the CLI rejects it).
    OutsideSyncRoot(PathBuf),
    /// Not a local file: a workspace path (`/Workspace/...`), a URL, a path in the job's
    /// `git_source`, or a value built from `{{ }}` / `${ }` references.
    Remote(String),
}

/// Notebook file extensions the CLI strips when uploading.
pub const NOTEBOOK_EXTENSIONS: &[&str] = &["py", "ipynb", "sql", "scala", "r", "R"];

/// Resolve a task's `notebook_path` to a repository file, following the CLI's rules: a local
/// path is relative to the YAML file that defines it, must include its extension and must lie
/// inside the sync root; absolute paths, URLs, references and jobs with `git_source` (or
/// `source: GIT`) are not local.
pub fn resolve_notebook(bundle: &Bundle, job: &Job, task: &Task) -> NotebookRef {
    let Some(nb) = &task.notebook_task else {
        return NotebookRef::None;
    };
    // The job, the task and the bundle's sync root do not change after loading.
    nb.resolved
        .get_or_init(|| resolve_uncached(bundle, job, nb))
        .clone()
}

fn resolve_uncached(bundle: &Bundle, job: &Job, nb: &NotebookTask) -> NotebookRef {
    let Some(node) = &nb.notebook_path else {
        return NotebookRef::None;
    };
    let Some(path) = node.as_str() else {
        return NotebookRef::None;
    };
    if job.git_source.is_some()
        || nb.source.as_ref().and_then(Node::as_str) == Some("GIT")
        || path.starts_with('/')
        || path.contains("://")
        || path.contains("{{")
        || path.contains("${")
        || path.is_empty()
    {
        return NotebookRef::Remote(path.to_string());
    }
    let base = node
        .loc
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| bundle.root.clone());
    let abs = crate::discover::normalize(&base.join(path));
    if !abs.starts_with(&bundle.sync_root) {
        return NotebookRef::OutsideSyncRoot(abs);
    }
    if bundle.is_file(&abs) {
        return NotebookRef::Local(abs);
    }
    let with_extension = NOTEBOOK_EXTENSIONS.iter().find_map(|ext| {
        let mut s = abs.clone().into_os_string();
        s.push(".");
        s.push(ext);
        let p = PathBuf::from(s);
        bundle.is_file(&p).then_some(p)
    });
    NotebookRef::Missing {
        path: abs,
        with_extension,
    }
}
