//! Databricks Asset Bundles ("Declarative Automation Bundles"), loaded offline the way the
//! Databricks CLI does, with a location for every node.
//!
//! Loading ([`load_all`], [`load_bundle`]):
//! 1. the root file (`databricks.yml`, `databricks.yaml`, `bundle.yml` or `bundle.yaml`) is
//!    parsed ([`yaml::parse`]: anchors, aliases and `<<` merge keys expanded, alias bombs and
//!    deep nesting stopped by `[limits]`);
//! 2. its `include:` entries are joined to the bundle root and matched like Go's
//!    `filepath.Glob` (`*` never crosses `/`, `**` is a plain `*`, `{}` are plain characters;
//!    `../` works while it stays inside the project; the root files are never included again;
//!    a non-glob entry that matches nothing, an absolute path or a match that is not YAML or
//!    JSON is an error) and the files are merged in order (mappings deep-merged, lists
//!    appended, first match wins); see [`include`];
//! 3. the selected target (`--target`, else the one marked `default: true`, else the only one)
//!    is merged on top, then job `tasks` are merged by `task_key`, `job_clusters` by
//!    `job_cluster_key` and `parameters` by `name`, as the CLI's `MergeJobTasks` & co. do;
//! 4. variables are resolved with the CLI's precedence (`--var name=value`, then the
//!    `BUNDLE_VAR_<name>` environment variable, then
//!    `.databricks/bundle/<target>/variable-overrides.json`, then the target's value, then the
//!    default; `lookup` variables have no value offline) and `${var.x}`, `${variables.x.value}`,
//!    `${bundle.target}` and `${bundle.name}` are substituted; a pure `${var.x}` keeps the
//!    variable's type (an integer stays an integer).
//!
//! Every [`yaml::Node`] keeps the file and byte range it was written at, also after merging,
//! so rules report on the line that causes a finding. The typed job model is in [`model`],
//! the task graph in [`graph`], `{{ }}` / `${ }` references in [`refs`] and schema validation
//! in [`schema`].
//!
//! The loader is split by step: [`load`] (the steps in order), [`include`] (`include:`
//! globs), [`merge`] (deep merges and merges by key), [`vars`] (variable values and `${ }`
//! substitution) and [`walk`] (strings of a tree with their routes).
//!
//! Load problems are returned as [`LoadError`]s, which the engine reports under the rule of
//! their [`LoadErrorKind`]: SCH002 (YAML that does not parse or breaks an input limit) and
//! SCH001 (bad `include:` entries). An unknown `--target` is a usage error
//! ([`Bundle::target_error`]), as in the CLI.

pub mod compute;
mod error;
pub mod graph;
mod include;
pub mod load;
mod merge;
pub mod model;
pub mod refs;
pub mod resolved;
pub mod schema;
pub mod targets;
mod vars;
mod walk;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};

pub use error::{LoadError, LoadErrorKind};
pub use graph::TaskGraph;
pub use load::{load_all, load_bundle, usage_error};
pub use merge::merge;
pub use model::{ForEachTask, Job, JobCluster, JobParameter, NotebookTask, Task};
pub use vars::{
    parse_var_flags, VarIssue, VarIssueKind, MAX_REFERENCE_DEPTH, MAX_SUBSTITUTED_BYTES,
};
pub use walk::{walk_refs, walk_strings};
pub use yaml::{Entry, Loc, Node, Value};

/// One YAML file of a bundle (the root or an include).
#[derive(Debug, Clone)]
pub struct BundleFile {
    pub path: Arc<PathBuf>,
    pub text: Arc<str>,
    /// The parsed tree (`None` when the file does not parse).
    pub tree: Option<Node>,
    /// True for the root `databricks.yml`.
    pub is_root: bool,
}

/// A declared bundle variable.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    /// Where it is declared (the key under `variables:`).
    pub key_loc: Loc,
    /// The value used for the selected target (see [`VarSource`] for the precedence), after
    /// resolving references to other variables. `None` when it has no value offline
    /// (`lookup`, or no default).
    pub value: Option<Node>,
    /// Where the value comes from.
    pub source: VarSource,
}

/// Where a variable's value comes from, highest precedence first (the CLI's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarSource {
    /// `--var name=value`.
    Flag,
    /// The `BUNDLE_VAR_<name>` environment variable.
    Env,
    /// `.databricks/bundle/<target>/variable-overrides.json`.
    OverridesFile,
    /// `targets.<target>.variables`.
    Target,
    /// The variable's `default`.
    Default,
    /// No value offline: a `lookup` (resolved by the CLI against the workspace) or no default.
    Unknown,
}

impl Bundle {
    /// Where the value of `${var.name}` (or `${variables.name.value}`) in `text` comes from, for
    /// messages: `", set with --var"`, `", set by BUNDLE_VAR_x"`, ...; empty for a default or
    /// when `text` is not a pure variable reference.
    pub fn variable_origin(&self, text: &str) -> String {
        let items = refs::parse_interpolations(text);
        let [i] = items.as_slice() else {
            return String::new();
        };
        let name = match i.segments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["var", n] | ["variables", n, "value"] => n,
            _ => return String::new(),
        };
        match self.variables.get(name).map(|v| v.source) {
            Some(VarSource::Flag) => ", set with --var".into(),
            Some(VarSource::Env) => format!(", set by BUNDLE_VAR_{name}"),
            Some(VarSource::OverridesFile) => format!(
                ", set in .databricks/bundle/{}/variable-overrides.json",
                self.target.as_deref().unwrap_or("?")
            ),
            Some(VarSource::Target) => format!(
                ", the value of target `{}`",
                self.target.as_deref().unwrap_or("?")
            ),
            _ => String::new(),
        }
    }
}

/// How to load bundles: the target and variable values given from outside the YAML.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--target` (else the target marked `default: true`).
    pub target: Option<String>,
    /// `--var name=value` assignments, in the order given (a later one wins).
    pub vars: Vec<(String, String)>,
    /// `BUNDLE_VAR_<name>` values (name, value).
    pub env_vars: Vec<(String, String)>,
    /// Files that do not exist on disk yet and are loaded as if they did (the engine's overlay:
    /// `migrate` re-checks a resource file it would create): `include:` globs match them.
    pub virtual_files: Vec<PathBuf>,
}

impl LoadOptions {
    /// Options for `target` and `--var` values, with the `BUNDLE_VAR_*` variables of this
    /// process's environment.
    pub fn from_process(target: Option<String>, vars: Vec<(String, String)>) -> Self {
        LoadOptions {
            target,
            vars,
            env_vars: std::env::vars()
                .filter_map(|(k, v)| Some((k.strip_prefix("BUNDLE_VAR_")?.to_string(), v)))
                .collect(),
            virtual_files: Vec::new(),
        }
    }
}

/// A `task_key` (or `job_cluster_key`, parameter `name`) defined twice in one layer of the
/// configuration (the base files, or one target), which the CLI silently merges.
#[derive(Debug, Clone)]
pub struct DuplicateKey {
    pub job: String,
    /// `task_key`, `job_cluster_key` or `name`.
    pub field: &'static str,
    pub key: String,
    pub first: Loc,
    pub second: Loc,
    /// Route of the duplicate (`resources.jobs.j.tasks[3]`).
    pub route: String,
}

/// A loaded bundle.
#[derive(Debug)]
pub struct Bundle {
    /// Directory holding `databricks.yml`.
    pub root: PathBuf,
    /// The root file.
    pub root_file: Arc<PathBuf>,
    /// The root file first, then the included files in include order.
    pub files: Vec<BundleFile>,
    /// The selected target, if any.
    pub target: Option<String>,
    /// Names of all targets, in order.
    pub targets: Vec<String>,
    /// Set when the requested `--target` is not defined (a usage error: the CLI stops there).
    pub target_error: Option<String>,
    /// The merged configuration for the selected target, variables resolved (`targets:` removed).
    /// `None` when the root file does not parse.
    pub config: Option<Node>,
    /// Declared variables with their value for the selected target.
    pub variables: BTreeMap<String, Variable>,
    /// Jobs of the merged configuration (`resources.jobs`), in declaration order.
    pub jobs: Vec<Job>,
    /// Duplicate keys found before the CLI-style merges.
    pub duplicates: Vec<DuplicateKey>,
    /// Variable problems found while resolving (cycles, budgets, the overrides file).
    pub var_issues: Vec<VarIssue>,
    /// The sync root: the bundle root, widened by `sync.paths` to their common ancestor.
    pub sync_root: PathBuf,
    /// Files known to exist or not (notebook paths are resolved by several rules).
    file_cache: crate::fsutil::DirCache,
    /// Set when the bundle's root is loaded once per target (several targets, none default, no
    /// `--target`): every target checked, in order (see [`targets`]).
    pub every_target: Option<Arc<Vec<String>>>,
    /// Notes for the summary about the targets checked (see [`targets::notes`]).
    pub notes: Vec<String>,
}

impl Bundle {
    /// The text of a bundle file.
    pub fn text(&self, path: &Path) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.path.as_path() == path)
            .map(|f| &*f.text)
    }

    /// A job by its resource key.
    pub fn job(&self, key: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.key == key)
    }

    /// Map a byte range inside a string node's value (e.g. a `{{ }}` reference found by
    /// [`refs::parse_dynamic`]) to a range in the file. Falls back to the node's range when the
    /// string is written with escapes or folding that make the mapping ambiguous.
    pub fn sub_range(&self, node: &Node, r: std::ops::Range<usize>) -> TextRange {
        let Some(value) = node.as_str() else {
            return node.loc.range;
        };
        let written = node.loc.written();
        let Some(text) = self.text(&node.loc.file) else {
            return node.loc.range;
        };
        let Some(src) = text.get(usize::from(written.start())..usize::from(written.end())) else {
            return node.loc.range;
        };
        let Some(piece) = value.get(r.clone()) else {
            return node.loc.range;
        };
        let base = usize::from(written.start());
        let offset = if src == value {
            Some(r.start)
        } else if src.len() >= 2
            && (src.starts_with('"') || src.starts_with('\''))
            && src.get(1..src.len() - 1) == Some(value)
        {
            Some(r.start + 1)
        } else {
            // Escapes or block scalars: find the same text in the source (the n-th occurrence
            // matching the n-th occurrence in the value).
            let nth = value[..r.start].matches(piece).count();
            src.match_indices(piece).nth(nth).map(|(i, _)| i)
        };
        match offset {
            Some(o) => TextRange::new(
                TextSize::new((base + o) as u32),
                TextSize::new((base + o + piece.len()) as u32),
            ),
            None => node.loc.range,
        }
    }

    /// Whether `path` is a file (one directory listing per directory, kept for the bundle's
    /// lifetime: a bundle of a thousand tasks checks a thousand notebook paths).
    pub fn is_file(&self, path: &Path) -> bool {
        self.file_cache.is_file(path)
    }

    /// Resolve a job task's `notebook_path` to a file (see [`model::resolve_notebook`]).
    pub fn resolve_notebook(&self, job: &Job, task: &Task) -> model::NotebookRef {
        model::resolve_notebook(self, job, task)
    }
}

#[cfg(test)]
mod tests;
