//! The migration plan: what `bricklint migrate` will generate for one orchestrator notebook.
//! Plans are plain data, built by the planner (or by hand in tests) and consumed by the YAML
//! generator and the notebook rewriter.

use std::path::PathBuf;

use ruff_text_size::TextRange;
use serde_json::Value;

/// `--to`: the shape to migrate to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TargetShape {
    /// For Each for one child notebook with varying parameters, per-object tasks for a static
    /// list of different notebooks.
    #[default]
    Auto,
    /// Only For Each tasks.
    ForEach,
    /// Only one task per object (a static list is required).
    #[value(alias = "jobs")]
    Tasks,
    /// A one-time Jobs API `runs/submit` request body (`<notebook>.submit.json` beside the
    /// notebook) instead of bundle YAML; For Each or per-object tasks are chosen as with `auto`.
    Submit,
}

/// `--compute`: where the generated notebook tasks run (one model with `bricklint plan`'s).
pub use crate::bundle::compute::Compute;

/// `task_key` / `job_cluster_key` syntax: 1 to 100 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Turn any text into a valid task or job key (`snake_case`, at most 100 characters).
pub fn sanitize_key(s: &str) -> String {
    let mut out = String::new();
    let mut last_us = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("task");
    }
    out.truncate(100);
    out
}

/// The value a nested/per-object task passes for one notebook parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// `"{{input}}"`: the item itself (scalar items).
    Input,
    /// `"{{input.<field>}}"`.
    InputField(String),
    /// A constant, the same for every item.
    Literal(String),
}

/// Where the list of items comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemsSource {
    /// A literal list in the notebook.
    Literal,
    /// A repository config file read with a literal path (`json.load(open("conf/x.json"))`).
    ConfigFile(PathBuf),
    /// Only known at run time (`spark.sql(...).collect()`, widgets, ...).
    Dynamic,
}

/// The items of a fan-out as the child notebook receives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Items {
    pub source: ItemsSource,
    /// The statically known items, already in the shape the child receives (strings for
    /// scalar items, objects of strings for `{{input.<field>}}`), when known.
    pub values: Option<Vec<Value>>,
    /// Python expression that evaluates to exactly those items at run time (the task-value
    /// producer sets it).
    pub producer_expr: String,
}

/// A For Each task that replaces one fan-out.
#[derive(Debug, Clone, PartialEq)]
pub struct ForEachPlan {
    pub task_key: String,
    /// The child notebook file (absolute).
    pub child: PathBuf,
    pub parameters: Vec<(String, ParamValue)>,
    pub items: Items,
    /// Pool size (capped at 100 when written).
    pub concurrency: u32,
    pub timeout_seconds: Option<u64>,
    pub max_retries: Option<u32>,
    /// Task-value key set by the orchestrator when the inputs are not inline.
    pub value_key: String,
}

/// One task per object (a static list of notebooks).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectTask {
    pub task_key: String,
    pub notebook: PathBuf,
    pub parameters: Vec<(String, String)>,
    pub timeout_seconds: Option<u64>,
    pub max_retries: Option<u32>,
}

/// What replaces one fan-out.
#[derive(Debug, Clone, PartialEq)]
pub enum FanOutKind {
    ForEach(ForEachPlan),
    /// One task per object, all after the same upstream tasks (the runs were concurrent).
    Tasks(Vec<ObjectTask>),
    /// One task per notebook run one after the other on the driver (a straight-line sequence
    /// of `dbutils.notebook.run`, ORC003, or a sequential loop over different notebooks,
    /// ORC002): each task depends on the previous one, in the original order.
    Chain(Vec<ObjectTask>),
}

impl FanOutKind {
    /// The per-object tasks (`Tasks` and `Chain`).
    pub fn object_tasks(&self) -> &[ObjectTask] {
        match self {
            FanOutKind::ForEach(_) => &[],
            FanOutKind::Tasks(ts) | FanOutKind::Chain(ts) => ts,
        }
    }

    /// Every task key this fan-out adds, in order.
    pub fn task_keys(&self) -> Vec<String> {
        match self {
            FanOutKind::ForEach(fe) => vec![fe.task_key.clone()],
            FanOutKind::Tasks(ts) | FanOutKind::Chain(ts) => {
                ts.iter().map(|t| t.task_key.clone()).collect()
            }
        }
    }

    /// The keys of the tasks that finish the fan-out: what a task that waited for the whole
    /// fan-out must depend on (the For Each task, every concurrent task, or the last task of
    /// a chain).
    pub fn last_keys(&self) -> Vec<String> {
        match self {
            FanOutKind::Chain(ts) => ts.last().map(|t| t.task_key.clone()).into_iter().collect(),
            k => k.task_keys(),
        }
    }

    /// The `depends_on` of each task (by position in [`Self::task_keys`]) when the fan-out
    /// starts after `upstream`.
    pub fn dependencies(&self, upstream: &[String]) -> Vec<Vec<String>> {
        let keys = self.task_keys();
        match self {
            FanOutKind::Chain(_) => (0..keys.len())
                .map(|i| {
                    if i == 0 {
                        upstream.to_vec()
                    } else {
                        vec![keys[i - 1].clone()]
                    }
                })
                .collect(),
            _ => keys.iter().map(|_| upstream.to_vec()).collect(),
        }
    }
}

/// One fan-out of an orchestrator notebook and its replacement.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOutPlan {
    /// Line (1-based, in the file) of the dispatch, for messages.
    pub line: u32,
    /// What the dispatch was (`ThreadPoolExecutor.submit`, `ThreadPool.map`, ...).
    pub dispatch: String,
    pub kind: FanOutKind,
    /// Document ranges (statements, whole lines) that the rewrite removes.
    pub remove: Vec<TextRange>,
    /// The document range (whole statement lines) replaced by the producer code.
    pub replace: TextRange,
    /// Notes printed with the plan (assumptions made).
    pub notes: Vec<String>,
}

/// A fan-out that is left alone, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub line: u32,
    pub reason: String,
}

/// The plan for one orchestrator notebook.
#[derive(Debug, Clone, PartialEq)]
pub struct NotebookPlan {
    /// The orchestrator notebook (absolute).
    pub notebook: PathBuf,
    /// Bundle root (holding `databricks.yml`, existing or to be created).
    pub bundle_root: PathBuf,
    /// The file that defines the job (an existing job edited in place), when not
    /// `resources/<job>.job.yml`.
    pub job_file: Option<PathBuf>,
    /// Job resource key (also the job name).
    pub job_key: String,
    /// Task key of the orchestrator notebook (the producer).
    pub producer_key: String,
    /// Whether the orchestrator notebook stays a task of the job (it produces the inputs or
    /// still has work of its own).
    pub producer_task: bool,
    pub fanouts: Vec<FanOutPlan>,
    pub refusals: Vec<Refusal>,
    /// `migrate --explain`: per fan-out, each decision and why.
    pub explain: Vec<SiteExplain>,
    /// Code after the fan-out that does not use its results, moved to a task that runs after
    /// the fan-out (`None`: nothing runs after it).
    pub after: Option<AfterPlan>,
}

/// The decisions made for one fan-out, in order (`migrate --explain`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SiteExplain {
    /// Line (1-based, in the file) of the fan-out.
    pub line: u32,
    /// What was found (`pool map (`map`)`, `for loop`).
    pub what: String,
    /// One line per decision: what was decided and why.
    pub steps: Vec<String>,
}

/// Code after the fan-out that does not use its results. In the job it ran after every child
/// notebook; in the migrated job it moves to a new notebook (`<orchestrator stem>_after.py`
/// beside the orchestrator) run by a new task, `<orchestrator task>_after`, that depends on
/// the fan-out's last tasks; tasks that depended on the orchestrator depend on it instead.
///
/// The planner says which statements move; `migrate` removes them from the orchestrator (the
/// planner's own edits must not touch them), writes the new notebook and adds the task.
#[derive(Debug, Clone, PartialEq)]
pub struct AfterPlan {
    /// Task key of the new task.
    pub task_key: String,
    /// The new notebook (absolute).
    pub notebook: PathBuf,
    /// Document ranges of the top-level statements that move, in order.
    pub moved: Vec<TextRange>,
    /// Document ranges of statements copied (not moved) above them: the imports and constant
    /// assignments the moved code reads.
    pub copied: Vec<TextRange>,
}

impl AfterPlan {
    /// The task key and notebook for the code after the fan-out of `notebook`, whose task is
    /// `producer_key`; the key avoids `taken` (the job's task keys).
    pub fn new(
        notebook: &std::path::Path,
        producer_key: &str,
        taken: &[String],
        moved: Vec<TextRange>,
        copied: Vec<TextRange>,
    ) -> AfterPlan {
        let base = sanitize_key(&format!("{producer_key}_after"));
        let mut task_key = base.clone();
        let mut n = 2;
        while taken.contains(&task_key) {
            task_key = format!("{base}_{n}");
            n += 1;
        }
        let stem = notebook
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("notebook");
        AfterPlan {
            task_key,
            notebook: notebook.with_file_name(format!("{stem}_after.py")),
            moved,
            copied,
        }
    }
}

impl NotebookPlan {
    /// `resources/<job>.job.yml` under the bundle root.
    pub fn resource_file(&self) -> PathBuf {
        if let Some(f) = &self.job_file {
            return f.clone();
        }
        self.bundle_root
            .join("resources")
            .join(format!("{}.job.yml", self.job_key))
    }

    /// `<notebook stem>.submit.json` beside the notebook (`--to submit`).
    pub fn submit_file(&self) -> PathBuf {
        let stem = self
            .notebook
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("notebook");
        self.notebook.with_file_name(format!("{stem}.submit.json"))
    }

    /// The file that defines the generated job or run for a target shape.
    pub fn output_file(&self, to: TargetShape) -> PathBuf {
        if to == TargetShape::Submit {
            self.submit_file()
        } else {
            self.resource_file()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sanitized() {
        assert_eq!(sanitize_key("Run Bronze-Tables!"), "run_bronze_tables");
        assert_eq!(sanitize_key("///"), "task");
        assert!(is_valid_key("a-b_c1"));
        assert!(!is_valid_key("a b"));
        assert!(!is_valid_key(""));
    }

    fn task(k: &str) -> ObjectTask {
        ObjectTask {
            task_key: k.into(),
            notebook: format!("/r/{k}.py").into(),
            parameters: vec![],
            timeout_seconds: None,
            max_retries: None,
        }
    }

    #[test]
    fn chains_depend_in_order_and_end_with_their_last_task() {
        let up = vec!["producer".to_string()];
        let chain = FanOutKind::Chain(vec![task("a"), task("b"), task("c")]);
        assert_eq!(
            chain.dependencies(&up),
            vec![up.clone(), vec!["a".to_string()], vec!["b".to_string()]]
        );
        assert_eq!(chain.last_keys(), ["c"]);
        let par = FanOutKind::Tasks(vec![task("a"), task("b")]);
        assert_eq!(par.dependencies(&up), vec![up.clone(), up.clone()]);
        assert_eq!(par.last_keys(), ["a", "b"]);
    }
}
