//! The project layer: every loaded document and bundle, the facts rules read across files, and
//! the contexts rules run in. Built by the engine (`engine::load_project`), read by the rules,
//! `plan`, `migrate` and the output.
//!
//! - [`Project`] and [`options`]: what was loaded, and what the run was asked to do.
//! - [`context`]: what a rule sees (one document, one bundle, the whole project).
//! - [`index`]: orchestration facts across files (`%run` / import edges, the functions that
//!   reach a `notebook.run`), and the [`ProjectIndex`] that holds every fact.
//! - [`facts`]: per-notebook payload facts (task values set and read, `notebook.exit` values,
//!   widgets read and defined), evaluated lazily per document by the Python value interpreter
//!   (`crate::python::value`).
//! - [`fanout`]: the fan-outs of a document followed across files (ORC rules, `migrate`).
//! - [`xref`]: cross-file links between bundle tasks and those facts (XF001–XF003, FE004).

pub mod context;
pub mod facts;
pub mod fanout;
pub mod index;
pub mod options;
pub mod xref;

use crate::fasthash::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bundle::Bundle;
use crate::config::Config;
use crate::source::Document;

pub use context::{BundleContext, DocContext, ProjectContext};
pub use index::ProjectIndex;
pub use options::{CheckOptions, ReportScope};

/// The loaded project, shared by every rule.
pub struct Project {
    /// The working directory.
    pub root: PathBuf,
    /// Every loaded document, sorted by path.
    pub documents: Vec<Arc<Document>>,
    pub index: ProjectIndex,
    pub bundles: Vec<Bundle>,
    pub config: Config,
    pub options: CheckOptions,
    /// Files named on the command line (always analysed in full).
    pub explicit: HashSet<PathBuf>,
    /// "Is this a file?" for paths that are not loaded documents, from one directory listing
    /// per directory (rules probing several candidates per `%run`).
    pub fs: crate::fsutil::DirCache,
}

impl Project {
    pub fn document(&self, path: &Path) -> Option<&Arc<Document>> {
        self.index
            .by_path
            .get(crate::fasthash::key(path))
            .map(|&i| &self.documents[i])
    }

    /// Every Python cell is parsed: `syntax-check = "all"`, or NB001 selected by its code or
    /// name (not through a prefix or `ALL`).
    pub fn syntax_check_all(&self) -> bool {
        let named = |l: &[String]| {
            l.iter().any(|s| {
                s.eq_ignore_ascii_case("NB001") || s.eq_ignore_ascii_case("python-syntax-error")
            })
        };
        self.config.syntax_check == crate::config::SyntaxCheck::All
            || named(self.options.select.as_deref().unwrap_or_default())
            || named(&self.options.extend_select)
            || named(self.config.select.as_deref().unwrap_or_default())
            || named(&self.config.extend_select)
    }
}
