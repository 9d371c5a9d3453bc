//! Which job tasks run a notebook: the bundle's own jobs, as `check` loads them (targets,
//! includes, variables), with `notebook_task.notebook_path` resolved as JOB004 resolves it.
//!
//! Two views are needed. The merged configuration of the selected target says which task runs
//! the notebook. The files as written say where that task is defined and which targets
//! override it, since an in-place edit changes the files, not the merged view.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bundle::model::NotebookRef;
use crate::bundle::{Bundle, Job, Node, Task};

/// A task of the merged configuration that runs the notebook.
#[derive(Debug, Clone, Copy)]
pub struct Runner<'b> {
    pub job: &'b Job,
    pub task: &'b Task,
    /// The For Each task when the notebook runs as its nested task.
    pub nested_in: Option<&'b Task>,
    /// Matched through a workspace path (`${workspace.file_path}/...`) rather than a local one.
    pub by_workspace_path: bool,
}

impl Runner<'_> {
    pub fn job_name(&self) -> String {
        self.job
            .name
            .as_ref()
            .and_then(Node::as_str)
            .unwrap_or(&self.job.key)
            .to_string()
    }
    pub fn task_key(&self) -> &str {
        self.task.key().unwrap_or("?")
    }
}

/// The notebook file without its extension (how the workspace names it).
fn stem_path(p: &Path) -> PathBuf {
    p.with_extension("")
}

/// Does a `notebook_path` that is not a local file name the notebook through the bundle's
/// deployed files (`${workspace.file_path}/notebooks/x`, `${workspace.root_path}/files/...`)?
fn workspace_match(bundle: &Bundle, path: &str, notebook: &Path) -> bool {
    let rest = ["${workspace.file_path}/", "${workspace.root_path}/files/"]
        .iter()
        .find_map(|p| path.strip_prefix(p));
    let Some(rest) = rest else {
        return false;
    };
    let cand = crate::discover::normalize(&bundle.sync_root.join(rest));
    stem_path(&cand) == stem_path(notebook)
}

/// Every task of the selected target's jobs that runs `notebook` (top-level and nested).
pub fn runners<'b>(bundle: &'b Bundle, notebook: &Path) -> Vec<Runner<'b>> {
    let mut out = Vec::new();
    for job in &bundle.jobs {
        for top in &job.tasks {
            let mut cur = Some(top);
            let mut parent = None;
            while let Some(t) = cur {
                let (hit, by_workspace_path) = match bundle.resolve_notebook(job, t) {
                    NotebookRef::Local(p) => (p == notebook, false),
                    NotebookRef::Remote(s) => (workspace_match(bundle, &s, notebook), true),
                    _ => (false, false),
                };
                if hit {
                    out.push(Runner {
                        job,
                        task: t,
                        nested_in: parent,
                        by_workspace_path,
                    });
                }
                parent = Some(t);
                cur = t.nested_task();
            }
        }
    }
    out
}

/// A task mapping as written in one bundle file.
#[derive(Debug, Clone, Copy)]
pub struct RawTask<'b> {
    pub file: &'b Arc<PathBuf>,
    pub text: &'b str,
    /// `None` for the base configuration, else the target whose `resources` hold it.
    pub target: Option<&'b str>,
    pub job: &'b str,
    /// The `tasks` list and the task's index in it.
    pub seq: &'b Node,
    pub index: usize,
    pub node: &'b Node,
}

impl RawTask<'_> {
    pub fn key(&self) -> Option<&str> {
        self.node.get("task_key").and_then(Node::as_str)
    }
    /// Where it is, for messages (`resources/x.yml:12`).
    pub fn place(&self) -> String {
        let off = usize::from(self.node.loc.range.start()).min(self.text.len());
        let line = self.text[..off].matches('\n').count() + 1;
        format!("{}:{line}", crate::source::display_path(self.file))
    }
    /// Does its `notebook_path` (as written, relative to this file) name `notebook`?
    pub fn runs(&self, notebook: &Path) -> bool {
        let Some(p) = self
            .node
            .get_path(&["notebook_task", "notebook_path"])
            .and_then(Node::as_str)
        else {
            return false;
        };
        if p.contains("${") || p.contains("{{") || p.starts_with('/') {
            return false;
        }
        let base = self.file.parent().unwrap_or(Path::new(""));
        crate::discover::normalize(&base.join(p)) == notebook
    }
}

/// Every task mapping of every bundle file, base configuration and target overrides.
pub fn raw_tasks(bundle: &Bundle) -> Vec<RawTask<'_>> {
    let mut out = Vec::new();
    for f in &bundle.files {
        let Some(tree) = &f.tree else { continue };
        let mut layers: Vec<(Option<&str>, &Node)> = vec![(None, tree)];
        for targets in ["targets", "environments"] {
            for t in tree.get(targets).and_then(Node::as_map).unwrap_or_default() {
                layers.push((Some(t.key.as_str()), &t.value));
            }
        }
        for (target, layer) in layers {
            let jobs = layer
                .get_path(&["resources", "jobs"])
                .and_then(Node::as_map)
                .unwrap_or_default();
            for j in jobs {
                let Some(seq) = j.value.get("tasks") else {
                    continue;
                };
                for (index, node) in seq.as_seq().unwrap_or_default().iter().enumerate() {
                    if node.as_map().is_some() {
                        out.push(RawTask {
                            file: &f.path,
                            text: &f.text,
                            target,
                            job: &j.key,
                            seq,
                            index,
                            node,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Every job key defined in any file or target of the bundle (new job names must not collide
/// with any of them).
pub fn all_job_keys(bundle: &Bundle) -> Vec<String> {
    let mut keys: Vec<String> = bundle.jobs.iter().map(|j| j.key.clone()).collect();
    for f in &bundle.files {
        let Some(tree) = &f.tree else { continue };
        let mut layers = vec![tree];
        for targets in ["targets", "environments"] {
            for t in tree.get(targets).and_then(Node::as_map).unwrap_or_default() {
                layers.push(&t.value);
            }
        }
        for l in layers {
            for j in l
                .get_path(&["resources", "jobs"])
                .and_then(Node::as_map)
                .unwrap_or_default()
            {
                keys.push(j.key.clone());
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}
