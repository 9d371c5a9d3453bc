//! Cross-file links between bundle jobs and notebook payload facts: which notebook a task runs,
//! which task values it sets, which parameters it reads (used by XF001–XF003 and FE004).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::bundle::model::NotebookRef;
use crate::bundle::{Bundle, Job, Task};
use crate::project::Project;

use super::facts::{DocFacts, KeySet};

/// What runs in a task, as far as payload facts go.
pub enum Producer<'a> {
    /// A notebook of the repository that bricklint analysed.
    Notebook { path: PathBuf, facts: &'a DocFacts },
    /// Anything else: another task type, a remote or missing notebook, a notebook that could not
    /// be analysed. Checks against it stay permissive.
    Unknown,
}

impl Producer<'_> {
    /// The keys the task sets (dynamic when unknown).
    pub fn keys(&self) -> KeySet {
        match self {
            Producer::Notebook { facts, .. } => facts.keys(),
            Producer::Unknown => KeySet::Dynamic,
        }
    }
}

/// The local notebook file a task runs, if any.
pub fn notebook_of(bundle: &Bundle, job: &Job, task: &Task) -> Option<PathBuf> {
    match bundle.resolve_notebook(job, task) {
        NotebookRef::Local(p) => Some(p),
        _ => None,
    }
}

/// The producer behind a task.
pub fn producer_of<'a>(
    project: &'a Project,
    bundle: &Bundle,
    job: &Job,
    task: &Task,
) -> Producer<'a> {
    let Some(path) = notebook_of(bundle, job, task) else {
        return Producer::Unknown;
    };
    match project.index.payload.get(&path) {
        Some(f) if !f.failed => Producer::Notebook { path, facts: f },
        _ => Producer::Unknown,
    }
}

/// Parameter names a notebook can read, including the notebooks it `%run`s (transitively).
/// `None` when any of them reads parameters dynamically (every name may be read).
pub fn readable_parameters(project: &Project, path: &std::path::Path) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut stack = vec![project
        .index
        .by_path
        .get(crate::fasthash::key(path))
        .copied()?];
    let mut seen = BTreeSet::new();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) || seen.len() > 64 {
            continue;
        }
        let doc = project.documents.get(i)?;
        let f = project.index.payload.get(&doc.path)?;
        if f.failed || f.reads_all_widgets || f.dynamic_widget_reads {
            return None;
        }
        out.extend(f.parameter_names().into_iter().map(str::to_string));
        if let Some(incl) = project.index.python.run_includes.get(i) {
            stack.extend(incl.iter().copied());
        }
    }
    Some(out)
}

/// A path for messages: relative to the bundle root when inside it.
pub fn rel(bundle: &Bundle, path: &std::path::Path) -> String {
    match path.strip_prefix(&bundle.root) {
        Ok(r) => r.to_string_lossy().replace('\\', "/"),
        Err(_) => crate::source::display_path(path),
    }
}
