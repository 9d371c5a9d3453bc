//! Databricks Asset Bundles ("Declarative Automation Bundles"), loaded offline the way the
//! Databricks CLI does, with a location for every node.
//!
//! Loading ([`load_all`], [`load_bundle`]):
//! 1. the root `databricks.yml` is parsed ([`yaml::parse`]: anchors, aliases and `<<` merge keys
//!    expanded, alias bombs and deep nesting stopped by `[limits]`);
//! 2. its `include:` globs are matched relative to the bundle root like Go's `filepath.Glob`
//!    (`*` never crosses `/`, `**` is a plain `*`; a non-glob entry that matches nothing, an
//!    absolute path or one escaping the root is an error) and the files are merged in order
//!    (mappings deep-merged, lists appended, first match wins);
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
//! Load problems are returned as diagnostics: SCH002 (YAML that does not parse or breaks an
//! input limit) and SCH001 (bad `include:` entries). An unknown `--target` is a usage error
//! ([`Bundle::target_error`]), as in the CLI.

pub mod graph;
pub mod model;
pub mod refs;
pub mod schema;
pub mod yaml;

use crate::fasthash::HashMap;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::GlobBuilder;
use ruff_text_size::{TextRange, TextSize};

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::source::{Document, FileKind};

pub use graph::TaskGraph;
pub use model::{ForEachTask, Job, JobCluster, JobParameter, NotebookTask, Task};
pub use yaml::{Entry, Loc, Node, Value};

/// One YAML file of a bundle (the root or an include).
#[derive(Debug)]
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

/// Parse `--var` flag values as the Databricks CLI does: each is a comma-separated list of
/// `name=value` assignments (a value with a comma is written in double quotes, as in CSV:
/// `--var '"tags=a,b"'`).
pub fn parse_var_flags(flags: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for flag in flags {
        for item in split_csv(flag) {
            match item.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => {
                    out.push((name.trim().to_string(), value.to_string()))
                }
                _ => {
                    return Err(format!(
                    "unexpected --var value `{item}`: expected `name=value` (several as `a=1,b=2`)"
                ))
                }
            }
        }
    }
    Ok(out)
}

/// The usage error of a load, if any: an unknown `--target` (with the defined targets), or a
/// `--var` naming a variable that no loaded bundle declares (the CLI stops on both).
pub fn usage_error(bundles: &[Bundle], opts: &LoadOptions) -> Option<String> {
    if let Some(e) = bundles.iter().find_map(|b| b.target_error.clone()) {
        return Some(e);
    }
    for (name, _) in &opts.vars {
        if bundles.is_empty() || bundles.iter().any(|b| b.variables.contains_key(name)) {
            continue;
        }
        let declared: Vec<String> = bundles
            .iter()
            .flat_map(|b| b.variables.keys())
            .map(|k| format!("`{k}`"))
            .collect();
        return Some(format!(
            "--var {name}: variable `{name}` is not declared in the bundle ({})",
            if declared.is_empty() {
                "it declares no variables".to_string()
            } else {
                format!("declared: {}", declared.join(", "))
            }
        ));
    }
    // The CLI rejects complex variables on the command line.
    for (name, _) in &opts.vars {
        for b in bundles {
            let complex = b
                .config
                .as_ref()
                .and_then(|c| c.get_path(&["variables", name, "type"]))
                .and_then(Node::as_str)
                == Some("complex");
            if complex {
                return Some(format!(
                    "--var {name}: `{name}` is a complex variable; complex variables cannot be set with --var"
                ));
            }
        }
    }
    None
}

/// Split one CSV record (what pflag's string-slice flags accept): commas separate fields,
/// double quotes protect commas, `""` inside quotes is a quote.
fn split_csv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
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
    /// The sync root: the bundle root, widened by `sync.paths` to their common ancestor.
    pub sync_root: PathBuf,
    /// Files known to exist or not (notebook paths are resolved by several rules).
    file_cache: crate::fsutil::DirCache,
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

fn sch001() -> &'static crate::rules::RuleMeta {
    &crate::rules::sch001_bundle_schema_violation::META
}
fn sch002() -> &'static crate::rules::RuleMeta {
    &crate::rules::sch002_invalid_yaml::META
}

/// Load every bundle whose root file is among `documents`. Load problems (invalid YAML, bad
/// includes, an unknown target) are returned as diagnostics.
pub fn load_all(
    documents: &[Arc<Document>],
    config: &Config,
    opts: &LoadOptions,
) -> (Vec<Bundle>, Vec<Diagnostic>) {
    let by_path: HashMap<&Path, &Arc<Document>> =
        documents.iter().map(|d| (d.path.as_path(), d)).collect();
    let roots: Vec<&Arc<Document>> = documents
        .iter()
        .filter(|d| d.kind == FileKind::BundleRoot)
        .collect();
    let results: Vec<(Bundle, Vec<Diagnostic>)> = {
        use rayon::prelude::*;
        roots
            .par_iter()
            .map(|d| {
                let mut diags = Vec::new();
                let b = load_bundle(
                    d.path.clone(),
                    Arc::from(d.text.as_str()),
                    &|p: &Path| by_path.get(p).map(|d| Arc::from(d.text.as_str())),
                    config,
                    opts,
                    &mut diags,
                );
                (b, diags)
            })
            .collect()
    };
    let mut bundles = Vec::new();
    let mut diags = Vec::new();
    for (b, d) in results {
        bundles.push(b);
        diags.extend(d);
    }
    (bundles, diags)
}

/// Load one bundle from its root file. `loaded` returns the text of an already loaded file
/// (other included files are read from disk).
pub fn load_bundle(
    root_file: Arc<PathBuf>,
    root_text: Arc<str>,
    loaded: &(dyn Fn(&Path) -> Option<Arc<str>> + Sync),
    config: &Config,
    opts: &LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Bundle {
    let target = opts.target.as_deref();
    let root = root_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut bundle = Bundle {
        root: root.clone(),
        root_file: root_file.clone(),
        files: Vec::new(),
        target: None,
        targets: Vec::new(),
        target_error: None,
        config: None,
        variables: BTreeMap::new(),
        jobs: Vec::new(),
        duplicates: Vec::new(),
        sync_root: root.clone(),
        file_cache: Default::default(),
    };
    let root_tree = parse_file(&root_file, &root_text, config, diags);
    bundle.files.push(BundleFile {
        path: root_file.clone(),
        text: root_text,
        tree: root_tree.clone(),
        is_root: true,
    });
    let Some(mut merged) = root_tree else {
        return bundle;
    };
    if merged.is_null() {
        merged = Node::new(Value::Map(Arc::new(Vec::new())), merged.loc.clone());
    }
    if merged.as_map().is_none() {
        diags.push(Diagnostic::new(
            sch001(),
            root_file.clone(),
            merged.loc.range,
            format!(
                "the bundle configuration must be a mapping, found a {}",
                merged.type_name()
            ),
        ));
        return bundle;
    }

    // Includes: read and parsed in parallel, merged in include order.
    let include_paths = resolve_includes(&root, &root_file, &merged, &opts.virtual_files, diags);
    let parsed: Vec<ParsedInclude> = {
        use rayon::prelude::*;
        include_paths
            .into_par_iter()
            .map(|path| {
                let path = Arc::new(path);
                let mut d = Vec::new();
                let text = match loaded(&path) {
                    Some(t) => Some(t),
                    None => match std::fs::read_to_string(path.as_path()) {
                        Ok(t) => Some(Arc::from(t.as_str())),
                        Err(e) => {
                            d.push(Diagnostic::new(
                                sch001(),
                                root_file.clone(),
                                TextRange::default(),
                                format!(
                                    "cannot read included file {}: {e}",
                                    crate::source::display_path(&path)
                                ),
                            ));
                            None
                        }
                    },
                };
                let tree = text
                    .as_ref()
                    .and_then(|t| parse_file(&path, t, config, &mut d));
                (path, text, tree, d)
            })
            .collect()
    };
    for (path, text, tree, d) in parsed {
        diags.extend(d);
        let Some(text) = text else { continue };
        if let Some(t) = &tree {
            if t.as_map().is_some() {
                duplicate_resources(&merged, t, diags);
                merge(&mut merged, t.clone());
            } else if !t.is_null() {
                diags.push(Diagnostic::new(
                    sch001(),
                    path.clone(),
                    t.loc.range,
                    format!(
                        "an included bundle file must be a mapping, found a {}",
                        t.type_name()
                    ),
                ));
            }
        }
        bundle.files.push(BundleFile {
            path,
            text,
            tree,
            is_root: false,
        });
    }

    // Duplicates in the base layer, then the target layer.
    collect_duplicates(&merged, &mut bundle.duplicates);

    // Targets.
    let targets_node = merged
        .get("targets")
        .or_else(|| merged.get("environments"))
        .cloned();
    let mut target_node = None;
    if let Some(ts) = targets_node.as_ref().and_then(|t| t.as_map()) {
        bundle.targets = ts.iter().map(|e| e.key.clone()).collect();
        let chosen = match target {
            Some(t) => match ts.iter().find(|e| e.key == t) {
                Some(e) => Some(e),
                None => {
                    bundle.target_error = Some(format!(
                        "{}: target `{t}` is not defined; defined targets: {}",
                        crate::source::display_path(&root_file),
                        bundle
                            .targets
                            .iter()
                            .map(|t| format!("`{t}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    None
                }
            },
            None => ts
                .iter()
                .find(|e| e.value.get("default").and_then(Node::as_bool) == Some(true))
                .or_else(|| if ts.len() == 1 { ts.first() } else { None }),
        };
        if let Some(e) = chosen {
            bundle.target = Some(e.key.clone());
            target_node = Some(e.value.clone());
        }
    } else if let Some(t) = target {
        bundle.target_error = Some(format!(
            "{}: target `{t}` is not defined: this bundle has no `targets:`",
            crate::source::display_path(&root_file)
        ));
    }
    if let Value::Map(m) = &mut merged.value {
        Arc::make_mut(m).retain(|e| e.key != "targets" && e.key != "environments");
    }
    let mut target_vars: Vec<Entry> = Vec::new();
    if let Some(t) = target_node.filter(|t| t.as_map().is_some()) {
        let mut layer = Vec::new();
        collect_duplicates(&t, &mut layer);
        bundle.duplicates.extend(layer);
        for e in t.as_map().unwrap_or_default() {
            match e.key.as_str() {
                "default" | "mode" | "compute_id" | "cluster_id" | "git" => {}
                "variables" => {
                    if let Some(m) = e.value.as_map() {
                        target_vars.extend(m.iter().cloned());
                    }
                }
                key => {
                    let over = Node::new(
                        Value::Map(Arc::new(vec![Entry {
                            key: key.to_string(),
                            key_loc: e.key_loc.clone(),
                            value: e.value.clone(),
                        }])),
                        t.loc.clone(),
                    );
                    merge(&mut merged, over);
                }
            }
        }
    }
    merge_keyed_lists(&mut merged);

    // Variables.
    let overrides_file = bundle
        .target
        .as_deref()
        .and_then(|t| read_overrides_file(&root, t));
    bundle.variables = resolve_variables(
        &merged,
        &target_vars,
        &Overrides {
            flags: &opts.vars,
            env: &opts.env_vars,
            file: overrides_file.as_ref(),
        },
    );
    let ctx = SubstCtx {
        vars: &bundle.variables,
        target: bundle.target.as_deref(),
        name: merged
            .get_path(&["bundle", "name"])
            .and_then(Node::as_str)
            .map(str::to_string),
    };
    substitute(&mut merged, &ctx);

    bundle.sync_root = sync_root(&root, &merged);
    bundle.jobs = model::build_jobs(&merged);
    bundle.config = Some(merged);
    bundle
}

/// An included file: path, text (if readable), tree (if it parses), load diagnostics.
type ParsedInclude = (
    Arc<PathBuf>,
    Option<Arc<str>>,
    Option<Node>,
    Vec<Diagnostic>,
);

fn parse_file(
    path: &Arc<PathBuf>,
    text: &str,
    config: &Config,
    diags: &mut Vec<Diagnostic>,
) -> Option<Node> {
    match yaml::parse(path, text, &config.limits) {
        Ok(n) => Some(n),
        Err(e) => {
            let range = if e.range.is_empty() {
                // Point at one character so snippets show the place.
                let end = (usize::from(e.range.start()) + 1).min(text.len());
                let mut end = end;
                while end < text.len() && !text.is_char_boundary(end) {
                    end += 1;
                }
                TextRange::new(e.range.start(), TextSize::new(end as u32))
            } else {
                e.range
            };
            let mut d = Diagnostic::new(sch002(), path.clone(), range, e.message.clone());
            if e.limit {
                d = d.help(
                    "raise the limit in `[limits]` of bricklint.toml if the file is legitimate",
                );
            } else if e.message.contains("quote it") {
                d = d.help("write dynamic value references as quoted strings: `\"{{input}}\"`");
            }
            diags.push(d);
            None
        }
    }
}

/// The CLI rejects a resource key defined in two files (`UniqueResourceKeys`).
fn duplicate_resources(base: &Node, incoming: &Node, diags: &mut Vec<Diagnostic>) {
    let (Some(b), Some(i)) = (
        base.get("resources").and_then(Node::as_map),
        incoming.get("resources").and_then(Node::as_map),
    ) else {
        return;
    };
    for kind in i {
        let Some(existing) = b
            .iter()
            .find(|e| e.key == kind.key)
            .and_then(|e| e.value.as_map())
        else {
            continue;
        };
        for res in kind.value.as_map().unwrap_or_default() {
            if let Some(first) = existing.iter().find(|e| e.key == res.key) {
                diags.push(
                    Diagnostic::new(
                        sch001(),
                        res.key_loc.file.clone(),
                        res.key_loc.range,
                        format!(
                            "resource `{}.{}` is already defined in {}; the CLI rejects duplicate resource keys",
                            kind.key,
                            res.key,
                            crate::source::display_path(&first.key_loc.file)
                        ),
                    )
                    .route(format!("resources.{}.{}", kind.key, res.key))
                    .related(first.key_loc.file.clone(), first.key_loc.range, "first defined here"),
                );
            }
        }
    }
}

fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Resolve `include:` entries to files, in order, first match wins.
fn resolve_includes(
    root: &Path,
    root_file: &Arc<PathBuf>,
    tree: &Node,
    virtual_files: &[PathBuf],
    diags: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let Some(inc) = tree.get("include") else {
        return out;
    };
    let items: Vec<&Node> = match &inc.value {
        Value::Seq(s) => s.iter().collect(),
        Value::Null => Vec::new(),
        _ => {
            diags.push(
                Diagnostic::new(
                    sch001(),
                    root_file.clone(),
                    inc.loc.range,
                    format!(
                        "`include` must be a list of paths, found a {}",
                        inc.type_name()
                    ),
                )
                .route("include"),
            );
            return out;
        }
    };
    // Matches are read only when they resolve inside the project (a symbolic link in a pull
    // request must not make CI print files of the machine).
    let boundary = crate::boundary::Boundary::of_paths([root]);
    for (i, item) in items.into_iter().enumerate() {
        let outside = |e: &crate::boundary::Escape, pat: &str, i: usize| {
            Diagnostic::new(
                &crate::rules::bl004_path_outside_project::META,
                root_file.clone(),
                item.loc.range,
                format!("include `{pat}` matches {e}: it is not read"),
            )
            .route(format!("include[{i}]"))
        };
        let route = format!("include[{i}]");
        let Some(pat) = item.as_str() else {
            diags.push(
                Diagnostic::new(
                    sch001(),
                    root_file.clone(),
                    item.loc.range,
                    format!(
                        "an include entry must be a string, found a {}",
                        item.type_name()
                    ),
                )
                .route(route),
            );
            continue;
        };
        let err = |msg: String| {
            Diagnostic::new(sch001(), root_file.clone(), item.loc.range, msg)
                .route(format!("include[{i}]"))
        };
        if Path::new(pat).is_absolute() || pat.starts_with('/') {
            diags.push(err(format!(
                "include `{pat}` is an absolute path; includes are relative to the bundle root"
            )));
            continue;
        }
        let normalized = crate::discover::normalize(&root.join(pat));
        if !normalized.starts_with(root) {
            diags.push(err(format!(
                "include `{pat}` points outside the bundle root"
            )));
            continue;
        }
        if !has_glob_meta(pat) {
            let p = root.join(pat);
            if p.is_file() || virtual_files.contains(&crate::discover::normalize(&p)) {
                let p = crate::discover::normalize(&p);
                if let Err(e) = boundary.check(&p) {
                    diags.push(outside(&e, pat, i));
                    continue;
                }
                if !out.contains(&p) {
                    out.push(p);
                }
            } else {
                diags.push(err(format!(
                    "include `{pat}` matches no file (a path without wildcards must exist)"
                )));
            }
            continue;
        }
        // Go's filepath.Glob: `*` does not cross `/`; `**` is just `*`.
        let go_pat = pat.trim_start_matches("./").replace("**", "*");
        let glob = match GlobBuilder::new(&go_pat)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
        {
            Ok(g) => g.compile_matcher(),
            Err(e) => {
                diags.push(err(format!("include `{pat}` is not a valid glob: {e}")));
                continue;
            }
        };
        let parts: Vec<&str> = Path::new(&go_pat)
            .components()
            .map(|c| c.as_os_str().to_str().unwrap_or("*"))
            .collect();
        let mut matches = Vec::new();
        walk_depth(root, root, &parts, &mut |rel, abs| {
            if glob.is_match(rel) {
                matches.push(abs.to_path_buf());
            }
        });
        for v in virtual_files {
            if v.strip_prefix(root).is_ok_and(|rel| glob.is_match(rel)) && !matches.contains(v) {
                matches.push(v.clone());
            }
        }
        matches.sort();
        for m in matches {
            let ext = m.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "yml" | "yaml") {
                continue;
            }
            if let Err(e) = boundary.check(&m) {
                diags.push(outside(&e, pat, i));
                continue;
            }
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Visit the files below `dir` as many components down as the pattern `parts` has, that may
/// match it: a component without wildcards names its entry (`resources` in
/// `resources/*.yml`), so the directory holding it is not listed.
fn walk_depth(root: &Path, dir: &Path, parts: &[&str], f: &mut dyn FnMut(&Path, &Path)) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    let depth = parts.len();
    let literal =
        !first.contains(['*', '?', '[', ']', '{', '}', '\\']) && !matches!(*first, "" | "." | "..");
    if literal {
        let p = dir.join(first);
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            return;
        };
        if rest.is_empty() {
            if m.is_file() || (m.file_type().is_symlink() && p.is_file()) {
                if let Ok(rel) = p.strip_prefix(root) {
                    f(rel, &p);
                }
            }
        } else if m.is_dir() {
            walk_depth(root, &p, rest, f);
        }
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if depth == 1 {
            if ft.is_file() || (ft.is_symlink() && p.is_file()) {
                if let Ok(rel) = p.strip_prefix(root) {
                    f(rel, &p);
                }
            }
        } else if ft.is_dir() {
            walk_depth(root, &p, rest, f);
        }
    }
}

/// Deep merge as the CLI merges configuration trees: mappings recursively, lists appended,
/// scalars replaced; a null override keeps the base.
pub fn merge(base: &mut Node, over: Node) {
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let b = Arc::make_mut(b);
            for e in Arc::unwrap_or_clone(o) {
                match b.iter_mut().find(|x| x.key == e.key) {
                    Some(be) => merge(&mut be.value, e.value),
                    None => b.push(e),
                }
            }
        }
        (Value::Seq(b), Value::Seq(o)) => Arc::make_mut(b).extend(Arc::unwrap_or_clone(o)),
        (_, Value::Null) => {}
        (_, v) => {
            base.value = v;
            base.loc = over.loc;
        }
    }
}

/// The keyed lists of a job merged by key: (list, key field).
const KEYED_LISTS: &[(&str, &str)] = &[
    ("tasks", "task_key"),
    ("job_clusters", "job_cluster_key"),
    ("parameters", "name"),
];

fn jobs_mut(tree: &mut Node) -> Option<&mut Vec<Entry>> {
    let Value::Map(m) = &mut tree.value else {
        return None;
    };
    let res = Arc::make_mut(m).iter_mut().find(|e| e.key == "resources")?;
    let Value::Map(r) = &mut res.value.value else {
        return None;
    };
    let jobs = Arc::make_mut(r).iter_mut().find(|e| e.key == "jobs")?;
    match &mut jobs.value.value {
        Value::Map(j) => Some(Arc::make_mut(j)),
        _ => None,
    }
}

fn merge_keyed_lists(tree: &mut Node) {
    let Some(jobs) = jobs_mut(tree) else { return };
    use rayon::prelude::*;
    jobs.par_iter_mut().for_each(|job| {
        for (list, key) in KEYED_LISTS {
            // Most lists have no repeated key: leave them (and the job) shared and untouched.
            let Some(items) = job.value.get(list).and_then(Node::as_seq) else {
                continue;
            };
            let mut seen = crate::fasthash::HashSet::default();
            let repeated = items
                .iter()
                .filter_map(|i| i.get(key).and_then(Node::scalar_text))
                .any(|k| !seen.insert(k));
            if !repeated {
                continue;
            }
            let Value::Map(fields) = &mut job.value.value else {
                continue;
            };
            let Some(e) = Arc::make_mut(fields).iter_mut().find(|e| e.key == *list) else {
                continue;
            };
            let Value::Seq(items) = &mut e.value.value else {
                continue;
            };
            let items = Arc::make_mut(items);
            let mut out: Vec<Node> = Vec::with_capacity(items.len());
            let mut index: HashMap<String, usize> = HashMap::default();
            for item in items.drain(..) {
                match item.get(key).and_then(Node::scalar_text) {
                    Some(k) => match index.get(&k) {
                        Some(&i) => merge(&mut out[i], item),
                        None => {
                            index.insert(k, out.len());
                            out.push(item);
                        }
                    },
                    None => out.push(item),
                }
            }
            *items = out;
        }
    });
}

fn collect_duplicates(tree: &Node, out: &mut Vec<DuplicateKey>) {
    let Some(jobs) = tree.get_path(&["resources", "jobs"]).and_then(Node::as_map) else {
        return;
    };
    for job in jobs {
        for (list, key) in KEYED_LISTS {
            let Some(items) = job.value.get(list).and_then(Node::as_seq) else {
                continue;
            };
            let mut seen: HashMap<String, &Node> = HashMap::default();
            for (i, item) in items.iter().enumerate() {
                let Some(kn) = item.get(key) else { continue };
                let Some(k) = kn.scalar_text() else { continue };
                match seen.get(&k) {
                    Some(first) => out.push(DuplicateKey {
                        job: job.key.clone(),
                        field: key,
                        key: k,
                        first: first.loc.clone(),
                        second: kn.loc.clone(),
                        route: format!("resources.jobs.{}.{list}[{i}].{key}", job.key),
                    }),
                    None => {
                        seen.insert(k, kn);
                    }
                }
            }
        }
    }
}

/// Variable values given from outside the YAML files.
struct Overrides<'a> {
    flags: &'a [(String, String)],
    env: &'a [(String, String)],
    file: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// `.databricks/bundle/<target>/variable-overrides.json` (written by `databricks bundle`
/// commands for the target), if present and a JSON object.
fn read_overrides_file(
    root: &Path,
    target: &str,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let p = root
        .join(".databricks")
        .join("bundle")
        .join(target)
        .join("variable-overrides.json");
    if !crate::boundary::Boundary::of_paths([root]).allows(&p) {
        return None;
    }
    let text = std::fs::read_to_string(p).ok()?;
    match serde_json::from_str(&text).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// A value given on the command line or in the environment: a string, typed like a YAML
/// scalar when it reads as an integer, a number or a boolean (the CLI converts such strings
/// to the field's type).
fn external_value(text: &str, at: &Loc) -> Node {
    let numeric = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    let value = match (text.parse::<i64>(), text.parse::<f64>()) {
        (Ok(i), _) => Value::Int(i),
        (_, Ok(f)) if numeric && f.is_finite() => Value::Float(f),
        _ => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Str(text.to_string()),
        },
    };
    Node::new(value, at.clone())
}

fn json_node(v: &serde_json::Value, at: &Loc) -> Node {
    use serde_json::Value as J;
    let value = match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => Value::Str(s.clone()),
        J::Array(a) => Value::Seq(Arc::new(a.iter().map(|x| json_node(x, at)).collect())),
        J::Object(m) => Value::Map(Arc::new(
            m.iter()
                .map(|(k, x)| Entry {
                    key: k.clone(),
                    key_loc: at.clone(),
                    value: json_node(x, at),
                })
                .collect(),
        )),
    };
    Node::new(value, at.clone())
}

fn resolve_variables(
    tree: &Node,
    target_vars: &[Entry],
    over: &Overrides<'_>,
) -> BTreeMap<String, Variable> {
    let mut vars = BTreeMap::new();
    let Some(decl) = tree.get("variables").and_then(Node::as_map) else {
        return vars;
    };
    for e in decl {
        let is_lookup = e.value.get("lookup").is_some();
        let complex = e.value.get("type").and_then(Node::as_str) == Some("complex");
        let mut source = VarSource::Default;
        let mut value = match &e.value.value {
            Value::Map(_) => {
                if is_lookup {
                    None
                } else {
                    e.value.get("default").cloned()
                }
            }
            // `variables: {x: value}` is accepted by some versions as a shorthand default.
            Value::Null => None,
            _ => Some(e.value.clone()),
        };
        if let Some(o) = target_vars.iter().find(|t| t.key == e.key) {
            let ov = match &o.value.value {
                Value::Map(_) if o.value.get("default").is_some() => {
                    o.value.get("default").cloned()
                }
                Value::Map(_) if o.value.get("lookup").is_some() => None,
                Value::Map(_) if !complex => None,
                _ => Some(o.value.clone()),
            };
            if ov.is_some() || o.value.get("lookup").is_some() {
                value = ov;
                source = VarSource::Target;
            }
        }
        // Values from outside the YAML, lowest precedence first. The location of such a value
        // is the variable's declaration (there is no YAML text for it).
        let at = &e.key_loc;
        if let Some(v) = over.file.and_then(|m| m.get(&e.key)) {
            value = Some(json_node(v, at));
            source = VarSource::OverridesFile;
        }
        // The CLI rejects complex variables set from the environment or the command line.
        if !complex {
            if let Some((_, v)) = over.env.iter().rev().find(|(k, _)| *k == e.key) {
                value = Some(external_value(v, at));
                source = VarSource::Env;
            }
            if let Some((_, v)) = over.flags.iter().rev().find(|(k, _)| *k == e.key) {
                value = Some(external_value(v, at));
                source = VarSource::Flag;
            }
        }
        if value.is_none() {
            source = VarSource::Unknown;
        }
        vars.insert(
            e.key.clone(),
            Variable {
                name: e.key.clone(),
                key_loc: e.key_loc.clone(),
                value,
                source,
            },
        );
    }
    // Variables referring to variables: a few rounds are enough for real bundles.
    for _ in 0..8 {
        let snapshot = vars.clone();
        let ctx = SubstCtx {
            vars: &snapshot,
            target: None,
            name: None,
        };
        let mut changed = false;
        for v in vars.values_mut() {
            if let Some(n) = &mut v.value {
                if let Some(new) = substituted(n, &ctx, 0) {
                    changed |= !same_value(&new, n);
                    *n = new;
                }
            }
        }
        if !changed {
            break;
        }
    }
    vars
}

/// Structural equality of two values (locations ignored).
fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            Arc::ptr_eq(x, y)
                || (x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same_value(a, b)))
        }
        (Value::Map(x), Value::Map(y)) => {
            Arc::ptr_eq(x, y)
                || (x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|(a, b)| a.key == b.key && same_value(&a.value, &b.value)))
        }
        _ => false,
    }
}

struct SubstCtx<'a> {
    vars: &'a BTreeMap<String, Variable>,
    target: Option<&'a str>,
    name: Option<String>,
}

impl SubstCtx<'_> {
    fn lookup(&self, i: &refs::Interpolation) -> Option<Node> {
        let s = &i.segments;
        match s.first().map(String::as_str) {
            Some("var") if s.len() == 2 => self.vars.get(&s[1])?.value.clone(),
            Some("variables") if s.len() == 3 && s[2] == "value" => {
                self.vars.get(&s[1])?.value.clone()
            }
            Some("bundle") if s.len() == 2 && s[1] == "target" => self.target.map(|t| {
                Node::new(
                    Value::Str(t.to_string()),
                    Loc::new(Arc::new(PathBuf::new()), TextRange::default()),
                )
            }),
            Some("bundle") if s.len() == 2 && s[1] == "name" => self.name.clone().map(|t| {
                Node::new(
                    Value::Str(t),
                    Loc::new(Arc::new(PathBuf::new()), TextRange::default()),
                )
            }),
            _ => None,
        }
    }
}

/// Substitute `${ }` references in a tree in place.
fn substitute(node: &mut Node, ctx: &SubstCtx<'_>) {
    if let Some(n) = substituted(node, ctx, 0) {
        *node = n;
    }
}

/// The node with its `${ }` references substituted, or `None` when nothing changes. One pass;
/// unchanged subtrees stay shared (they are shared with the file trees), and wide mappings
/// (the jobs of a big bundle) are processed in parallel.
fn substituted(node: &Node, ctx: &SubstCtx<'_>, depth: usize) -> Option<Node> {
    if depth > 200 {
        return None;
    }
    let value = match &node.value {
        Value::Str(s) => substituted_str(s, ctx)?,
        Value::Seq(items) => {
            // The new list is only built from the first changed item on.
            let mut out: Option<Vec<Node>> = None;
            for (i, n) in items.iter().enumerate() {
                match (substituted(n, ctx, depth + 1), &mut out) {
                    (Some(new), Some(v)) => v.push(new),
                    (Some(new), None) => {
                        let mut v = Vec::with_capacity(items.len());
                        v.extend_from_slice(&items[..i]);
                        v.push(new);
                        out = Some(v);
                    }
                    (None, Some(v)) => v.push(n.clone()),
                    (None, None) => {}
                }
            }
            Value::Seq(Arc::new(out?))
        }
        // Wide mappings (the jobs of a big bundle) in parallel.
        Value::Map(entries) if entries.len() >= 16 => {
            use rayon::prelude::*;
            let new: Vec<Option<Node>> = entries
                .par_iter()
                .map(|e| substituted(&e.value, ctx, depth + 1))
                .collect();
            if new.iter().all(Option::is_none) {
                return None;
            }
            Value::Map(Arc::new(
                entries
                    .iter()
                    .zip(new)
                    .map(|(old, new)| with_value(old, new))
                    .collect(),
            ))
        }
        Value::Map(entries) => {
            let mut out: Option<Vec<Entry>> = None;
            for (i, e) in entries.iter().enumerate() {
                match (substituted(&e.value, ctx, depth + 1), &mut out) {
                    (Some(new), Some(v)) => v.push(with_value(e, Some(new))),
                    (Some(new), None) => {
                        let mut v = Vec::with_capacity(entries.len());
                        v.extend_from_slice(&entries[..i]);
                        v.push(with_value(e, Some(new)));
                        out = Some(v);
                    }
                    (None, Some(v)) => v.push(e.clone()),
                    (None, None) => {}
                }
            }
            Value::Map(Arc::new(out?))
        }
        _ => return None,
    };
    Some(Node {
        value,
        loc: node.loc.clone(),
    })
}

/// The entry, with a new value when there is one.
fn with_value(old: &Entry, new: Option<Node>) -> Entry {
    match new {
        Some(value) => Entry {
            key: old.key.clone(),
            key_loc: old.key_loc.clone(),
            value,
        },
        None => old.clone(),
    }
}

/// A string with its references substituted (`None`: unchanged). A pure reference takes the
/// variable's value and type; the location stays at the reference.
fn substituted_str(s: &str, ctx: &SubstCtx<'_>) -> Option<Value> {
    if !refs::has_interpolation(s) {
        return None;
    }
    let items = refs::parse_interpolations(s);
    if items.len() == 1 && items[0].range == (0..s.len()) && items[0].syntax_error.is_none() {
        return ctx.lookup(&items[0]).map(|v| v.value);
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for i in &items {
        if i.syntax_error.is_some() {
            continue;
        }
        if let Some(text) = ctx.lookup(i).and_then(|v| v.scalar_text()) {
            out.push_str(&s[last..i.range.start]);
            out.push_str(&text);
            last = i.range.end;
        }
    }
    if last == 0 {
        return None;
    }
    out.push_str(&s[last..]);
    Some(Value::Str(out))
}

fn sync_root(root: &Path, tree: &Node) -> PathBuf {
    let mut sync = root.to_path_buf();
    if let Some(paths) = tree.get_path(&["sync", "paths"]).and_then(Node::as_seq) {
        for p in paths.iter().filter_map(Node::as_str) {
            let base = paths
                .first()
                .and_then(|n| n.loc.file.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| root.to_path_buf());
            let abs = crate::discover::normalize(&base.join(p));
            while !abs.starts_with(&sync) {
                if !sync.pop() {
                    break;
                }
            }
        }
    }
    sync
}

/// Walk the strings of a tree that hold a reference (`{{` or `${`), with their route
/// (`resources.jobs.a.tasks[0].notebook_task.base_parameters.x`, after the `base` prefix). Faster
/// than [`walk_strings`] for the rules that only look at references: routes are built only for
/// the strings visited.
pub fn walk_refs<'a>(node: &'a Node, base: &str, f: &mut dyn FnMut(&'a Node, &str)) {
    enum Seg<'a> {
        Key(&'a str),
        Index(usize),
    }
    fn inner<'a>(
        node: &'a Node,
        base: &str,
        segs: &mut Vec<Seg<'a>>,
        f: &mut dyn FnMut(&'a Node, &str),
    ) {
        match &node.value {
            Value::Str(s) if refs::has_dynamic(s) || refs::has_interpolation(s) => {
                let mut route = String::with_capacity(base.len() + 48);
                route.push_str(base);
                for seg in segs.iter() {
                    match seg {
                        Seg::Key(k) => {
                            if !route.is_empty() {
                                route.push('.');
                            }
                            route.push_str(k);
                        }
                        Seg::Index(i) => {
                            use std::fmt::Write;
                            let _ = write!(route, "[{i}]");
                        }
                    }
                }
                f(node, &route);
            }
            Value::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    segs.push(Seg::Index(i));
                    inner(n, base, segs, f);
                    segs.pop();
                }
            }
            Value::Map(entries) => {
                for e in entries.iter() {
                    segs.push(Seg::Key(&e.key));
                    inner(&e.value, base, segs, f);
                    segs.pop();
                }
            }
            _ => {}
        }
    }
    inner(node, base, &mut Vec::new(), f);
}

/// Walk every string of a tree with its route (`resources.jobs.a.tasks[0].notebook_task`).
pub fn walk_strings<'a>(node: &'a Node, route: &mut String, f: &mut dyn FnMut(&'a Node, &str)) {
    match &node.value {
        Value::Str(_) => f(node, route),
        Value::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                let len = route.len();
                use std::fmt::Write;
                let _ = write!(route, "[{i}]");
                walk_strings(n, route, f);
                route.truncate(len);
            }
        }
        Value::Map(entries) => {
            for e in entries.iter() {
                let len = route.len();
                if !route.is_empty() {
                    route.push('.');
                }
                route.push_str(&e.key);
                walk_strings(&e.value, route, f);
                route.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;

/// A diagnostic at a node location, with its route; values that come from an anchor get a
/// related label at the anchored definition.
pub fn diag(
    meta: &'static crate::rules::RuleMeta,
    loc: &Loc,
    route: impl Into<String>,
    message: impl Into<String>,
) -> Diagnostic {
    let mut d = Diagnostic::new(meta, loc.file.clone(), loc.range, message).route(route);
    if let Some(def) = loc.defined {
        d = d.related(loc.file.clone(), def, "the value comes from this anchor");
    }
    d
}

/// Report each of `keys` set on a For Each task itself (rather than on its nested task):
/// one finding per key, at the key, with `message(key, task_key)` and a "move it" help.
pub fn report_keys_on_for_each_parent(
    meta: &'static crate::rules::RuleMeta,
    bundle: &Bundle,
    keys: &[&str],
    message: impl Fn(&str, &str) -> String,
    out: &mut Vec<Diagnostic>,
) {
    for job in &bundle.jobs {
        for task in job.all_tasks() {
            if task.for_each_task.is_none() {
                continue;
            }
            for key in keys {
                let Some(e) = task.entry(key) else { continue };
                out.push(
                    diag(
                        meta,
                        &e.key_loc,
                        format!("{}.{key}", task.route),
                        message(key, task.key().unwrap_or("?")),
                    )
                    .help(format!("move `{key}` into `for_each_task.task`")),
                );
            }
        }
    }
}

/// A diagnostic at a sub-range of a string node (a reference inside the string).
pub fn diag_in(
    meta: &'static crate::rules::RuleMeta,
    bundle: &Bundle,
    node: &Node,
    sub: std::ops::Range<usize>,
    route: impl Into<String>,
    message: impl Into<String>,
) -> Diagnostic {
    let range = bundle.sub_range(node, sub);
    Diagnostic::new(meta, node.loc.file.clone(), range, message).route(route)
}
