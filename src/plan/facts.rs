//! What the planner needs to know about notebooks: the widgets a notebook reads and the task
//! values it sets, statically evaluated. The project index (`crate::project::index`) answers these; tests
//! and callers without an index use [`StaticFacts`] or [`NoFacts`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// A widget a notebook reads (`dbutils.widgets.get("x")`, `text("x", "default")`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WidgetRead {
    pub name: String,
    /// The default the notebook declares (`dbutils.widgets.text("x", "d")`), if any.
    pub default: Option<String>,
    /// 1-based line in the notebook file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// What is known about the value a notebook sets for one task-value key.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskValueFact {
    /// Statically evaluated JSON value.
    Known { value: Value, line: Option<usize> },
    /// Set, but from something only known at run time (`.collect()`, a query, network).
    Dynamic { reason: String, line: Option<usize> },
    /// The notebook was analysed and never sets this key.
    NotSet,
    /// The notebook could not be analysed.
    Unknown,
}

/// A task value a notebook reads (`dbutils.jobs.taskValues.get(taskKey="t", key="k")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskValueRead {
    /// `taskKey`, when a literal.
    pub task: Option<String>,
    /// `key`, when a literal.
    pub key: Option<String>,
    /// 1-based line in the notebook file, when known.
    pub line: Option<usize>,
}

/// Facts about notebooks, by absolute (or bundle-relative, as given in the plan model) path.
pub trait NotebookFacts {
    /// Widgets `notebook` reads; `None` when the notebook cannot be analysed (no check then).
    fn widgets(&self, notebook: &Path) -> Option<Vec<WidgetRead>>;
    /// The value `notebook` sets for task value `key`.
    fn task_value(&self, notebook: &Path, key: &str) -> TaskValueFact;
    /// True when `notebook` may read widgets beyond [`Self::widgets`] (`getAll()`, a name
    /// computed at run time): then no parameter is called unused.
    fn reads_other_widgets(&self, _notebook: &Path) -> bool {
        false
    }
    /// Task values `notebook` reads in its code.
    fn task_value_reads(&self, _notebook: &Path) -> Vec<TaskValueRead> {
        Vec::new()
    }
}

/// Knows nothing: widget checks are skipped and producer payloads are unknown.
pub struct NoFacts;

impl NotebookFacts for NoFacts {
    fn widgets(&self, _notebook: &Path) -> Option<Vec<WidgetRead>> {
        None
    }
    fn task_value(&self, _notebook: &Path, _key: &str) -> TaskValueFact {
        TaskValueFact::Unknown
    }
}

/// Facts given as data (tests, or an adapter that gathered them up front).
#[derive(Debug, Default, Clone)]
pub struct StaticFacts {
    pub widgets: HashMap<PathBuf, Vec<WidgetRead>>,
    pub task_values: HashMap<(PathBuf, String), TaskValueFact>,
    /// Notebooks that were analysed (a key missing from `task_values` is then `NotSet`).
    pub analysed: std::collections::HashSet<PathBuf>,
    pub reads: HashMap<PathBuf, Vec<TaskValueRead>>,
}

impl NotebookFacts for StaticFacts {
    fn widgets(&self, notebook: &Path) -> Option<Vec<WidgetRead>> {
        self.widgets.get(notebook).cloned()
    }
    fn task_value(&self, notebook: &Path, key: &str) -> TaskValueFact {
        match self
            .task_values
            .get(&(notebook.to_path_buf(), key.to_string()))
        {
            Some(f) => f.clone(),
            None if self.analysed.contains(notebook) => TaskValueFact::NotSet,
            None => TaskValueFact::Unknown,
        }
    }
    fn task_value_reads(&self, notebook: &Path) -> Vec<TaskValueRead> {
        self.reads.get(notebook).cloned().unwrap_or_default()
    }
}
