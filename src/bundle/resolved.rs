//! `bricklint check --resolved-bundle FILE|-`: check the configuration the Databricks CLI
//! resolved instead of the one bricklint loads from YAML.
//!
//! The input is the JSON that `databricks bundle validate --output json` prints (targets merged,
//! variables and `lookup`s resolved, presets applied, jobs defined in Python added), or the input
//! of a `databricks-bundles` mutator (the same shape, before the CLI translates paths). Its
//! `resources` replace the YAML configuration of the bundle it belongs to; notebooks are still
//! read from the repository, so the cross-file rules see them.
//!
//! Locations: every node of the JSON that also exists in the YAML bundle (the same mapping keys;
//! list items matched by `task_key`, `job_cluster_key`, parameter `name` or `environment_key`,
//! other lists by position when their lengths agree) takes the YAML location, so a finding on a
//! job or task written in YAML points at the same line as `bricklint check` on the YAML does.
//! Anything else (a job defined in Python, a task a mutator added) keeps its place in the JSON;
//! its route (`resources.jobs.<job>.tasks[<i>]...`) names the JSON path.
//!
//! Notebook paths: the CLI rewrites them, relative to the bundle root before its Python phases
//! and to workspace paths (`${workspace.file_path}/src/nb`, extension dropped) in `validate`'s
//! output. Both are mapped back to the repository file (the extension found again) and written
//! relative to the file of their location, which is what the notebook rules resolve against.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::model::NOTEBOOK_EXTENSIONS;
use super::yaml::{self, Entry, Node, Value};
use super::{Bundle, LoadOptions, VarSource, Variable};
use crate::config::Config;
use crate::source::{Document, FileKind};

/// The resolved configuration as given on the command line.
#[derive(Debug, Clone)]
pub struct ResolvedSource {
    /// The JSON file (absolute), or `<stdin>` in the working directory for `-`.
    pub path: Arc<PathBuf>,
    pub text: String,
}

impl ResolvedSource {
    /// Read `FILE`, or standard input for `-`.
    pub fn read(arg: &Path) -> Result<Self, String> {
        if arg.as_os_str() == "-" {
            let text = crate::fsutil::read_stdin()
                .and_then(crate::fsutil::text_of)
                .map_err(|e| format!("--resolved-bundle -: cannot read standard input: {e}"))?;
            let cwd = std::env::current_dir().unwrap_or_default();
            return Ok(Self::from_text(cwd.join("<stdin>"), text));
        }
        let path = crate::discover::absolutize(arg);
        let text = crate::fsutil::read_input_string(&path)
            .map_err(|e| format!("--resolved-bundle {}: {e}", arg.display()))?;
        Ok(Self::from_text(path, text))
    }

    pub fn from_text(path: PathBuf, text: String) -> Self {
        ResolvedSource {
            path: Arc::new(path),
            text,
        }
    }

    /// The JSON as a document, so findings located in it get lines and columns.
    pub fn document(&self) -> Document {
        Document::new(
            self.path.clone(),
            FileKind::Yaml,
            self.text.clone(),
            Vec::new(),
        )
    }

    /// Add the JSON to the project's documents (sorted by path), unless it is one already.
    pub fn add_document(&self, documents: &mut Vec<Arc<Document>>) {
        if documents.iter().any(|d| d.path == self.path) {
            return;
        }
        documents.push(Arc::new(self.document()));
        documents.sort_unstable_by(|a, b| crate::discover::cmp_paths(&a.path, &b.path));
    }
}

/// Replace the configuration of the bundle the resolved JSON belongs to (by `bundle.name`, else
/// the only bundle, else the one rooted in the working directory) with the JSON's, keeping the
/// YAML files (for locations, suppressions and the per-file checks). Other bundles are dropped:
/// the check is about the resolved one.
pub fn apply(
    src: &ResolvedSource,
    bundles: Vec<Bundle>,
    config: &Config,
    opts: &LoadOptions,
) -> Result<Vec<Bundle>, String> {
    let name = crate::discover::display_path(&src.path);
    let not_it = |why: String| {
        format!("{name}: not the output of `databricks bundle validate --output json`: {why}")
    };
    let json: serde_json::Value =
        serde_json::from_str(&src.text).map_err(|e| not_it(e.to_string()))?;
    if !json.is_object() {
        return Err(not_it("the JSON is not an object".into()));
    }
    let mut tree =
        yaml::parse(&src.path, &src.text, &config.limits).map_err(|e| not_it(e.message))?;
    let bundle_name = tree
        .get_path(&["bundle", "name"])
        .and_then(Node::as_str)
        .map(str::to_string);
    let target = tree
        .get_path(&["bundle", "target"])
        .and_then(Node::as_str)
        .map(str::to_string);
    let mut base = pick(bundles, bundle_name.as_deref(), config, opts);
    if target.is_some() && base.target != target && base.targets.contains(target.as_ref().unwrap())
    {
        // The YAML of the target the CLI resolved, for the locations.
        base = reload(&base, target.clone(), config, opts);
    }
    if let Some(yaml_config) = &base.config {
        overlay(&mut tree, yaml_config, "");
    }
    let file_path = tree
        .get_path(&["workspace", "file_path"])
        .and_then(Node::as_str)
        .map(str::to_string);
    let places = Places {
        root: &base.root,
        sync_root: &base.sync_root,
        workspace_files: file_path.as_deref(),
    };
    if let Some(jobs) = resources_jobs_mut(&mut tree) {
        for e in Arc::make_mut(jobs).iter_mut() {
            local_notebook_paths(&mut e.value, &places, 0);
        }
    }
    if tree.get("variables").is_some() {
        base.variables = variables(&tree, &base);
    }
    base.target = target.or(base.target);
    base.jobs = super::model::build_jobs(&tree);
    base.config = Some(tree);
    Ok(vec![base])
}

fn pick(bundles: Vec<Bundle>, name: Option<&str>, config: &Config, opts: &LoadOptions) -> Bundle {
    let cwd = crate::discover::absolutize(Path::new("."));
    let named = |b: &Bundle| {
        b.config
            .as_ref()
            .and_then(|c| c.get_path(&["bundle", "name"]))
            .and_then(Node::as_str)
            == name
    };
    let i = bundles
        .iter()
        .position(|b| name.is_some() && named(b))
        .or_else(|| (bundles.len() == 1).then_some(0))
        .or_else(|| bundles.iter().position(|b| b.root == cwd));
    match i {
        Some(i) => bundles.into_iter().nth(i).expect("index in range"),
        None => {
            // No YAML bundle: an empty one rooted in the working directory.
            let mut ignored = Vec::new();
            super::load_bundle(
                Arc::new(cwd.join("databricks.yml")),
                Arc::from(""),
                &|_| None,
                config,
                opts,
                &mut ignored,
            )
        }
    }
}

fn reload(base: &Bundle, target: Option<String>, config: &Config, opts: &LoadOptions) -> Bundle {
    let texts: Vec<(PathBuf, Arc<str>)> = base
        .files
        .iter()
        .map(|f| (f.path.to_path_buf(), f.text.clone()))
        .collect();
    let root_text = base
        .text(&base.root_file)
        .map(Arc::from)
        .unwrap_or_else(|| Arc::from(""));
    let opts = LoadOptions {
        target,
        ..opts.clone()
    };
    let mut ignored = Vec::new();
    super::load_bundle(
        base.root_file.clone(),
        root_text,
        &|p: &Path| texts.iter().find(|(q, _)| q == p).map(|(_, t)| t.clone()),
        config,
        &opts,
        &mut ignored,
    )
}

/// The key that identifies the items of a list, as the CLI merges them.
fn item_key(list: &str) -> Option<&'static str> {
    match list {
        "tasks" | "depends_on" => Some("task_key"),
        "job_clusters" => Some("job_cluster_key"),
        "parameters" => Some("name"),
        "environments" => Some("environment_key"),
        _ => None,
    }
}

/// Give `json` (and every node under it) the location of the same node in the YAML tree.
fn overlay(json: &mut Node, yaml: &Node, key: &str) {
    json.loc = yaml.loc.clone();
    match (&mut json.value, &yaml.value) {
        (Value::Map(m), Value::Map(ym)) => {
            for e in Arc::make_mut(m).iter_mut() {
                if let Some(ye) = ym.iter().find(|y| y.key == e.key) {
                    e.key_loc = ye.key_loc.clone();
                    overlay(&mut e.value, &ye.value, &e.key);
                }
            }
        }
        (Value::Seq(s), Value::Seq(ys)) => {
            let s = Arc::make_mut(s);
            match item_key(key) {
                Some(k) => {
                    for item in s.iter_mut() {
                        let id = item.get(k).and_then(Node::scalar_text);
                        let found = id.and_then(|id| {
                            ys.iter().find(|y| {
                                y.get(k).and_then(Node::scalar_text).as_ref() == Some(&id)
                            })
                        });
                        if let Some(y) = found {
                            overlay(item, y, "");
                        }
                    }
                }
                None if s.len() == ys.len() => {
                    for (item, y) in s.iter_mut().zip(ys.iter()) {
                        overlay(item, y, "");
                    }
                }
                None => {}
            }
        }
        _ => {}
    }
}

fn resources_jobs_mut(tree: &mut Node) -> Option<&mut Arc<Vec<Entry>>> {
    let Value::Map(root) = &mut tree.value else {
        return None;
    };
    let res = Arc::make_mut(root)
        .iter_mut()
        .find(|e| e.key == "resources")?;
    let Value::Map(res) = &mut res.value.value else {
        return None;
    };
    let jobs = Arc::make_mut(res).iter_mut().find(|e| e.key == "jobs")?;
    match &mut jobs.value.value {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

/// Where the CLI's notebook paths lead in the repository.
struct Places<'a> {
    root: &'a Path,
    sync_root: &'a Path,
    /// `workspace.file_path`: where the sync root is uploaded.
    workspace_files: Option<&'a str>,
}

impl Places<'_> {
    /// The repository file a resolved notebook path names, if it is one.
    fn local_file(&self, value: &str) -> Option<PathBuf> {
        if value.contains("://") || value.contains("{{") || value.contains("${") {
            return None;
        }
        let uploaded = self.workspace_files.and_then(|w| {
            let w = w.trim_end_matches('/');
            value
                .strip_prefix(w)
                .and_then(|r| r.strip_prefix('/'))
                .or_else(|| {
                    // `/Workspace/Users/...` and `/Users/...` name the same place.
                    let short = w.strip_prefix("/Workspace")?;
                    value.strip_prefix(short)?.strip_prefix('/')
                })
        });
        let path = match uploaded {
            Some(rel) => self.sync_root.join(rel),
            None if value.starts_with('/') => {
                let p = PathBuf::from(value);
                if !p.starts_with(self.root) && !p.starts_with(self.sync_root) {
                    return None;
                }
                p
            }
            None => self.root.join(value),
        };
        let path = crate::discover::normalize(&path);
        if uploaded.is_some() && !path.is_file() {
            // The CLI drops a notebook's extension when it uploads it.
            return NOTEBOOK_EXTENSIONS
                .iter()
                .map(|ext| {
                    let mut s = path.clone().into_os_string();
                    s.push(".");
                    s.push(ext);
                    PathBuf::from(s)
                })
                .find(|p| p.is_file())
                .or(Some(path));
        }
        Some(path)
    }
}

/// Rewrite each `notebook_path` under a job to the repository file, relative to the file of its
/// location (see the module doc).
fn local_notebook_paths(node: &mut Node, places: &Places<'_>, depth: usize) {
    if depth > 64 {
        return;
    }
    match &mut node.value {
        Value::Map(m) => {
            for e in Arc::make_mut(m).iter_mut() {
                if e.key == "notebook_path" {
                    let base = e.value.loc.file.parent().map(Path::to_path_buf);
                    let local = e.value.as_str().and_then(|v| places.local_file(v));
                    if let (Some(base), Some(file)) = (base, local) {
                        e.value.value = Value::Str(relative(&base, &file));
                    }
                } else {
                    local_notebook_paths(&mut e.value, places, depth + 1);
                }
            }
        }
        Value::Seq(s) => {
            for n in Arc::make_mut(s).iter_mut() {
                local_notebook_paths(n, places, depth + 1);
            }
        }
        _ => {}
    }
}

/// `to` relative to the directory `from` (both absolute and normalised), with `/` separators.
pub fn relative(from: &Path, to: &Path) -> String {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); a.len() - common];
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// The variables of the resolved configuration: each one's `value` (else its `default`).
fn variables(tree: &Node, yaml: &Bundle) -> std::collections::BTreeMap<String, Variable> {
    let mut out = std::collections::BTreeMap::new();
    for e in tree
        .get("variables")
        .and_then(Node::as_map)
        .unwrap_or_default()
    {
        let value = e
            .value
            .get("value")
            .or_else(|| e.value.get("default"))
            .filter(|v| !v.is_null())
            .cloned();
        let source = match (&value, yaml.variables.get(&e.key)) {
            (None, _) => VarSource::Unknown,
            (Some(_), Some(v)) => v.source,
            (Some(_), None) => VarSource::Default,
        };
        out.insert(
            e.key.clone(),
            Variable {
                name: e.key.clone(),
                key_loc: e.key_loc.clone(),
                value,
                source,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/r/resources"), Path::new("/r/src/nb.py")),
            "../src/nb.py"
        );
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/src/nb.py")),
            "src/nb.py"
        );
        assert_eq!(relative(Path::new("/r/a"), Path::new("/r/a")), ".");
    }

    #[test]
    fn workspace_paths_map_back_to_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("b");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/nb.py"), "# Databricks notebook source\n").unwrap();
        let places = Places {
            root: &root,
            sync_root: &root,
            workspace_files: Some("/Workspace/Users/u@x.com/.bundle/demo/dev/files"),
        };
        let want = Some(root.join("src/nb.py"));
        for v in [
            "/Workspace/Users/u@x.com/.bundle/demo/dev/files/src/nb",
            "/Users/u@x.com/.bundle/demo/dev/files/src/nb",
            "src/nb.py",
            "./src/../src/nb.py",
        ] {
            assert_eq!(places.local_file(v), want, "{v}");
        }
        let abs = root.join("src/nb.py");
        assert_eq!(places.local_file(abs.to_str().unwrap()), want);
        assert_eq!(places.local_file("/Workspace/Shared/other"), None);
        assert_eq!(places.local_file("{{job.parameters.nb}}"), None);
    }
}
