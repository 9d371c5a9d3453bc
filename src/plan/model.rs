//! The job model the planner works on: the job as deployed for one target, after includes,
//! target overrides and `${var.x}` substitution. It is filled from the bundle model
//! (`crate::bundle`) by [`super::from_bundle`]; tests build it directly.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde::Serialize;

/// One job, resolved for a target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanJob {
    /// Resource key (`resources.jobs.<key>`).
    pub key: String,
    /// `name:` of the job when set.
    pub name: Option<String>,
    /// The target the job was resolved for.
    pub target: Option<String>,
    /// Job parameters with their (target-resolved) defaults, in declaration order.
    pub parameters: IndexMap<String, String>,
    /// Bundle variables with their resolved values (for `${var.x}` left in strings).
    #[serde(skip)]
    pub variables: IndexMap<String, String>,
    /// Tasks in declaration order.
    pub tasks: Vec<PlanTask>,
    /// Where the job is defined (display path of the YAML file).
    pub file: Option<String>,
    /// Where the bundle's files are in the workspace (`workspace.file_path`).
    #[serde(skip)]
    pub workspace: WorkspaceFiles,
    /// The folder the bundle syncs to `workspace.file_path` (the bundle root, or the common
    /// ancestor of `sync.paths`).
    #[serde(skip)]
    pub sync_root: Option<PathBuf>,
}

/// The bundle's `workspace.file_path` for the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WorkspaceFiles {
    /// Not known (a job built without a bundle).
    #[default]
    Unknown,
    /// A workspace folder (`/Workspace/...`).
    Known(String),
    /// Depends on what only the workspace knows (`~`, `${workspace.current_user.userName}`):
    /// the path as far as it is resolved.
    Unresolved(String),
}

/// One task of a job (or the nested task of a For Each).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanTask {
    pub key: String,
    pub depends_on: Vec<String>,
    pub kind: TaskKind,
    pub compute: Compute,
    /// `run_if` when set (default `ALL_SUCCESS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_if: Option<String>,
    /// 1-based line of the task in its YAML file, when known.
    #[serde(skip)]
    pub line: Option<usize>,
}

/// What a task runs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskKind {
    Notebook {
        /// `notebook_path` as written (after `${}` substitution).
        path: String,
        /// The notebook file in the repository, when it resolves to one.
        #[serde(skip)]
        local: Option<PathBuf>,
        /// `base_parameters` (values as strings; non-string YAML values are kept as their
        /// JSON text and flagged).
        base_parameters: IndexMap<String, ParamValue>,
    },
    ForEach {
        /// `inputs` as written: a JSON array string or a `{{ }}` reference.
        inputs: String,
        /// True when `inputs` was not a string in YAML (e.g. a YAML list), which the API
        /// rejects; `inputs` then holds its JSON text.
        #[serde(skip)]
        inputs_not_string: bool,
        /// `concurrency` when set.
        concurrency: Option<i64>,
        task: Box<PlanTask>,
    },
    /// Any other task type (`spark_python_task`, `sql_task`, `run_job_task`, ...).
    Other { task_type: String },
}

impl Default for TaskKind {
    fn default() -> Self {
        TaskKind::Other {
            task_type: "unknown".into(),
        }
    }
}

impl TaskKind {
    pub fn type_name(&self) -> &str {
        match self {
            TaskKind::Notebook { .. } => "notebook",
            TaskKind::ForEach { .. } => "for_each",
            TaskKind::Other { task_type } => task_type,
        }
    }
}

/// A `base_parameters` value as written in YAML.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Str(String),
    /// A non-string YAML scalar (`n: 5`): the schema wants strings.
    NotString(serde_json::Value),
}

impl ParamValue {
    pub fn text(&self) -> String {
        match self {
            ParamValue::Str(s) => s.clone(),
            ParamValue::NotString(v) => json_text(v),
        }
    }
}

impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::Str(s.to_string())
    }
}

/// Where a task runs (one model with `migrate`'s `--compute`).
pub use crate::bundle::compute::Compute;

/// Text a JSON value becomes when it lands in a string parameter: strings as they are, every
/// other value as its compact JSON.
pub fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}
