//! What a run was asked to do: the paths, the configuration and the command-line selection.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;

/// Which findings to report when explicit paths are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReportScope {
    /// Only findings located in the given paths (the whole bundle is still analysed).
    #[default]
    Files,
    /// Every finding in the analysed bundles.
    Bundle,
}

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub config: Config,
    /// CLI selection (overrides the config's `select` when given).
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub target: Option<String>,
    pub report_scope: ReportScope,
    pub no_ignores: bool,
    pub force_exclude: bool,
    pub bundle_schema: Option<PathBuf>,
    /// `--var name=value` bundle variable values, in the order given.
    pub vars: Vec<(String, String)>,
    /// Free each `.ipynb` file's JSON text once its cells are read (`Document::raw` is then
    /// `None`): only fixes and migrations write notebooks back. Saves the memory of every
    /// notebook's JSON for the rest of the run.
    pub drop_notebook_json: bool,
    /// Texts analysed instead of the files on disk, by absolute path (`bricklint migrate`
    /// re-checks what it would write before writing anything). A path that does not exist yet
    /// is analysed as if it did when it lies under a checked path, and bundle `include:` globs
    /// match it.
    pub overlay: Option<Arc<std::collections::BTreeMap<PathBuf, String>>>,
    /// `--resolved-bundle`: the configuration `databricks bundle validate --output json`
    /// resolved, checked instead of the YAML's (see [`crate::bundle::resolved`]).
    pub resolved_bundle: Option<Arc<crate::bundle::resolved::ResolvedSource>>,
}
