//! Loading a bundle: the root file, its includes, the selected target, variables, the job
//! model. Problems are returned as [`LoadError`]s, which the engine reports under the rule of
//! their [`LoadErrorKind`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ruff_text_size::{TextRange, TextSize};

use super::error::{LoadError, LoadErrorKind};
use super::include::resolve_includes;
use super::merge::{
    collect_duplicates, conflict_error, drop_null_resource_fields, duplicate_resources,
    keys_across_types, merge_checked, merge_keyed_lists,
};
use super::vars::apply_variables;
use super::{model, targets, yaml, Bundle, BundleFile, Entry, LoadOptions, Node, Value};
use crate::config::Config;
use crate::diagnostic::Severity;
use crate::fasthash::HashMap;
use crate::source::{Document, FileKind};

/// Load every bundle whose root file is among `documents`. Load problems (invalid YAML, bad
/// includes) are returned beside the bundles; an unknown target is in
/// [`Bundle::target_error`] (see [`usage_error`]).
pub fn load_all(
    documents: &[Arc<Document>],
    config: &Config,
    opts: &LoadOptions,
) -> (Vec<Bundle>, Vec<LoadError>) {
    let by_path: HashMap<&Path, &Arc<Document>> =
        documents.iter().map(|d| (d.path.as_path(), d)).collect();
    let loaded = |p: &Path| by_path.get(p).map(|d| Arc::from(d.text.as_str()));
    let (roots, mut extra) = bundle_roots(documents);
    let mut results: Vec<(Vec<Bundle>, Vec<LoadError>)> = {
        use rayon::prelude::*;
        roots
            .par_iter()
            .map(|d| load_root(d, &loaded, config, opts))
            .collect()
    };
    // `--target X` in a run over several bundles: the bundles that do not define `X` are
    // checked with their own default target (a usage error only when no bundle defines it).
    if let Some(t) = &opts.target {
        let defined = results
            .iter()
            .any(|(bs, _)| bs.iter().any(|b| b.target_error.is_none()));
        if defined {
            let without = LoadOptions {
                target: None,
                ..opts.clone()
            };
            for (d, r) in roots.iter().zip(results.iter_mut()) {
                if r.0.iter().all(|b| b.target_error.is_none()) {
                    continue;
                }
                let defined_here = r.0.first().map(|b| b.targets.clone()).unwrap_or_default();
                *r = load_root(d, &loaded, config, &without);
                if let Some(b) = r.0.first_mut() {
                    b.notes.push(format!(
                        "{}: target `{t}` is not defined in this bundle ({}): it was checked {}",
                        crate::source::display_path(&b.root_file),
                        if defined_here.is_empty() {
                            "it has no targets".to_string()
                        } else {
                            format!(
                                "its targets: {}",
                                defined_here
                                    .iter()
                                    .map(|t| format!("`{t}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        },
                        match &b.target {
                            Some(own) if b.every_target.is_none() => {
                                format!("for its target `{own}`")
                            }
                            Some(_) => "for each of its targets".to_string(),
                            None => "without a target".to_string(),
                        }
                    ));
                }
            }
        }
    }
    let mut bundles = Vec::new();
    let mut diags = Vec::new();
    diags.append(&mut extra);
    for (bs, d) in results {
        // `bundle.yml` is a common name: one that holds no bundle settings is someone else's.
        let Some(first) = bs.first() else { continue };
        let name = first
            .root_file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        if name.starts_with("bundle.") && !looks_like_a_bundle(first) {
            continue;
        }
        bundles.extend(bs);
        diags.extend(d);
    }
    (bundles, diags)
}

/// Load the bundle of one root file: once, or once per target when it has several targets,
/// none marked default, and no `--target` is given (see [`super::targets`]).
fn load_root(
    d: &Arc<Document>,
    loaded: &(dyn Fn(&Path) -> Option<Arc<str>> + Sync),
    config: &Config,
    opts: &LoadOptions,
) -> (Vec<Bundle>, Vec<LoadError>) {
    let mut diags = Vec::new();
    let text: Arc<str> = Arc::from(d.text.as_str());
    let (base, merged) = load_base(d.path.clone(), text, loaded, config, opts, &mut diags);
    let Some(merged) = merged else {
        return (vec![base], diags);
    };
    let targets = match every_target(&merged, opts) {
        Some(ts) if ts.len() <= targets::MAX_EVERY_TARGET => ts,
        other => {
            let mut b = finish(base, merged, opts, &mut diags);
            // Each target is a full resolution: a configuration with hundreds of targets is
            // checked without one (as before), with a note.
            if let Some(ts) = other {
                b.notes.push(format!(
                    "{}: {} targets and none of them default: checked without a target (every target is checked up to {}); give --target",
                    crate::source::display_path(&b.root_file),
                    ts.len(),
                    targets::MAX_EVERY_TARGET
                ));
            }
            return (vec![b], diags);
        }
    };
    // The files are read, parsed and merged once; each target is resolved from a copy of that
    // (the trees are shared until a step changes them).
    let mut variants = Vec::with_capacity(targets.len());
    let mut per_target = Vec::with_capacity(targets.len());
    for t in &targets {
        let o = LoadOptions {
            target: Some(t.clone()),
            ..opts.clone()
        };
        let mut dg = Vec::new();
        variants.push(finish(base.copy_files(), merged.clone(), &o, &mut dg));
        per_target.push((t.clone(), dg));
    }
    targets::mark_variants(&mut variants);
    let mut errors = diags;
    errors.extend(targets::merge_target_errors(per_target, &targets));
    (variants, errors)
}

/// The targets to check one by one: several targets, none marked default, no `--target`.
fn every_target(merged: &Node, opts: &LoadOptions) -> Option<Vec<String>> {
    if opts.target.is_some() {
        return None;
    }
    let ts = merged
        .get("targets")
        .or_else(|| merged.get("environments"))
        .and_then(Node::as_map)?;
    let default = ts
        .iter()
        .any(|e| e.value.get("default").and_then(Node::as_bool) == Some(true));
    (ts.len() >= 2 && !default).then(|| ts.iter().map(|e| e.key.clone()).collect())
}

/// The root files to load (one a directory: the CLI's `FindInPath`), and an error for each
/// directory that holds several (the CLI refuses to load such a bundle).
fn bundle_roots(documents: &[Arc<Document>]) -> (Vec<&Arc<Document>>, Vec<LoadError>) {
    let mut roots: Vec<&Arc<Document>> = documents
        .iter()
        .filter(|d| d.kind == FileKind::BundleRoot)
        .collect();
    let rank = |d: &Arc<Document>| {
        let name = d.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        crate::discover::BUNDLE_ROOT_NAMES
            .iter()
            .position(|n| *n == name)
            .unwrap_or(usize::MAX)
    };
    roots.sort_by(|a, b| {
        a.path
            .parent()
            .cmp(&b.path.parent())
            .then(rank(a).cmp(&rank(b)))
    });
    let mut errors = Vec::new();
    let mut kept: Vec<&Arc<Document>> = Vec::new();
    for d in roots {
        match kept.last() {
            Some(first) if first.path.parent() == d.path.parent() => {
                errors.push(LoadError::new(
                    LoadErrorKind::Config,
                    d.path.clone(),
                    TextRange::default(),
                    format!(
                        "this directory has two bundle root files ({} and this one): the CLI refuses to load the bundle (`multiple bundle root configuration files`); bricklint analyses {}",
                        crate::discover::display_path(&first.path),
                        crate::discover::display_path(&first.path)
                    ),
                ));
            }
            _ => kept.push(d),
        }
    }
    (kept, errors)
}

/// Does a `bundle.yml` hold bundle settings (a top-level key of a bundle configuration)?
fn looks_like_a_bundle(b: &Bundle) -> bool {
    const KEYS: &[&str] = &[
        "bundle",
        "resources",
        "targets",
        "environments",
        "include",
        "variables",
        "workspace",
        "artifacts",
        "sync",
    ];
    b.files
        .first()
        .and_then(|f| f.tree.as_ref())
        .and_then(Node::as_map)
        .is_some_and(|m| m.iter().any(|e| KEYS.contains(&e.key.as_str())))
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

/// Load one bundle from its root file. `loaded` returns the text of an already loaded file
/// (other included files are read from disk).
pub fn load_bundle(
    root_file: Arc<PathBuf>,
    root_text: Arc<str>,
    loaded: &(dyn Fn(&Path) -> Option<Arc<str>> + Sync),
    config: &Config,
    opts: &LoadOptions,
    diags: &mut Vec<LoadError>,
) -> Bundle {
    let (bundle, merged) = load_base(root_file, root_text, loaded, config, opts, diags);
    match merged {
        Some(merged) => finish(bundle, merged, opts, diags),
        None => bundle,
    }
}

/// The first steps of a load, which do not depend on the target: the root file and its
/// includes, merged (`None` when the root file does not parse).
fn load_base(
    root_file: Arc<PathBuf>,
    root_text: Arc<str>,
    loaded: &(dyn Fn(&Path) -> Option<Arc<str>> + Sync),
    config: &Config,
    opts: &LoadOptions,
    diags: &mut Vec<LoadError>,
) -> (Bundle, Option<Node>) {
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
        var_issues: Vec::new(),
        sync_root: root.clone(),
        file_cache: Default::default(),
        every_target: None,
        notes: Vec::new(),
    };
    let Some(mut merged) = parse_root(&mut bundle, root_text, config, diags) else {
        return (bundle, None);
    };
    load_includes(&mut bundle, &mut merged, loaded, config, opts, diags);
    keys_across_types(&merged, diags);
    (bundle, Some(merged))
}

/// The steps that depend on the target: the target's overrides, merges by key, variables, the
/// job model.
fn finish(
    mut bundle: Bundle,
    mut merged: Node,
    opts: &LoadOptions,
    diags: &mut Vec<LoadError>,
) -> Bundle {
    // Duplicates in the base layer, then the target layer.
    collect_duplicates(&merged, &mut bundle.duplicates);
    let target_node = select_target(&mut bundle, &merged, opts.target.as_deref());
    if let Value::Map(m) = &mut merged.value {
        Arc::make_mut(m).retain(|e| e.key != "targets" && e.key != "environments");
    }
    let target_vars = apply_target(&mut bundle, &mut merged, target_node, diags);
    merge_keyed_lists(&mut merged);

    apply_variables(&mut bundle, &mut merged, &target_vars, opts);
    drop_null_resource_fields(&mut merged);

    bundle.sync_root = sync_root(&bundle.root, &merged);
    bundle.jobs = model::build_jobs(&merged);
    bundle.config = Some(merged);
    bundle
}

impl Bundle {
    /// A bundle with the same root and files, before any target step (see [`finish`]).
    fn copy_files(&self) -> Bundle {
        Bundle {
            root: self.root.clone(),
            root_file: self.root_file.clone(),
            files: self.files.clone(),
            target: None,
            targets: Vec::new(),
            target_error: None,
            config: None,
            variables: BTreeMap::new(),
            jobs: Vec::new(),
            duplicates: Vec::new(),
            var_issues: Vec::new(),
            sync_root: self.root.clone(),
            file_cache: Default::default(),
            every_target: None,
            notes: Vec::new(),
        }
    }
}

/// Parse the root file into `bundle.files`; the tree when it is a mapping (null reads as an
/// empty mapping).
fn parse_root(
    bundle: &mut Bundle,
    root_text: Arc<str>,
    config: &Config,
    diags: &mut Vec<LoadError>,
) -> Option<Node> {
    let root_file = bundle.root_file.clone();
    let root_tree = parse_file(&root_file, &root_text, config, diags);
    bundle.files.push(BundleFile {
        path: root_file.clone(),
        text: root_text,
        tree: root_tree.clone(),
        is_root: true,
    });
    let mut merged = root_tree?;
    if merged.is_null() {
        merged = Node::new(Value::Map(Arc::new(Vec::new())), merged.loc.clone());
    }
    if merged.as_map().is_none() {
        diags.push(LoadError::new(
            LoadErrorKind::Config,
            root_file,
            merged.loc.range,
            format!(
                "the bundle configuration must be a mapping, found a {}",
                merged.type_name()
            ),
        ));
        return None;
    }
    Some(merged)
}

/// An included file: path, text (if readable), tree (if it parses), load problems.
type ParsedInclude = (Arc<PathBuf>, Option<Arc<str>>, Option<Node>, Vec<LoadError>);

/// Read and parse the included files (in parallel) and merge them into `merged` in include
/// order.
fn load_includes(
    bundle: &mut Bundle,
    merged: &mut Node,
    loaded: &(dyn Fn(&Path) -> Option<Arc<str>> + Sync),
    config: &Config,
    opts: &LoadOptions,
    diags: &mut Vec<LoadError>,
) {
    let root_file = bundle.root_file.clone();
    let include_paths =
        resolve_includes(&bundle.root, &root_file, merged, &opts.virtual_files, diags);
    let parsed: Vec<ParsedInclude> = {
        use rayon::prelude::*;
        include_paths
            .into_par_iter()
            .map(|path| {
                let path = Arc::new(path);
                let mut d = Vec::new();
                let text = match loaded(&path) {
                    Some(t) => Some(t),
                    None => match crate::fsutil::read_input_string(path.as_path()) {
                        Ok(t) => Some(Arc::from(t.as_str())),
                        Err(e) => {
                            d.push(LoadError::new(
                                LoadErrorKind::Config,
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
            if let Some(inc) = t.entry("include") {
                diags.push(
                    LoadError::new(
                        LoadErrorKind::Config,
                        path.clone(),
                        inc.key_loc.range,
                        "`include` in an included file is ignored: the CLI loads only the includes of the bundle root file",
                    )
                    .route("include")
                    .severity(Severity::Warning)
                    .help("move these entries to the `include:` of the root file"),
                );
            }
            if t.as_map().is_some() {
                duplicate_resources(merged, t, diags);
                let mut conflicts = Vec::new();
                merge_checked(merged, t.clone(), "", &mut conflicts);
                diags.extend(
                    conflicts
                        .iter()
                        .map(|c| conflict_error(c, "this value of an included file")),
                );
            } else if !t.is_null() {
                diags.push(LoadError::new(
                    LoadErrorKind::Config,
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
}

/// Choose the target (`--target`, else the one marked `default: true`, else the only one) and
/// record the targets; returns the chosen target's mapping. An unknown `--target` sets
/// [`Bundle::target_error`].
fn select_target(bundle: &mut Bundle, merged: &Node, target: Option<&str>) -> Option<Node> {
    let targets_node = merged.get("targets").or_else(|| merged.get("environments"));
    let Some(ts) = targets_node.and_then(Node::as_map) else {
        if let Some(t) = target {
            bundle.target_error = Some(format!(
                "{}: target `{t}` is not defined: this bundle has no `targets:`",
                crate::source::display_path(&bundle.root_file)
            ));
        }
        return None;
    };
    bundle.targets = ts.iter().map(|e| e.key.clone()).collect();
    let chosen = match target {
        Some(t) => match ts.iter().find(|e| e.key == t) {
            Some(e) => Some(e),
            None => {
                bundle.target_error = Some(format!(
                    "{}: target `{t}` is not defined; defined targets: {}",
                    crate::source::display_path(&bundle.root_file),
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
    let e = chosen?;
    bundle.target = Some(e.key.clone());
    Some(e.value.clone())
}

/// Merge the target's overrides into `merged`; returns its `variables:` entries.
fn apply_target(
    bundle: &mut Bundle,
    merged: &mut Node,
    target_node: Option<Node>,
    diags: &mut Vec<LoadError>,
) -> Vec<Entry> {
    let mut target_vars: Vec<Entry> = Vec::new();
    let Some(t) = target_node.filter(|t| t.as_map().is_some()) else {
        return target_vars;
    };
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
                let mut conflicts = Vec::new();
                merge_checked(merged, over, "", &mut conflicts);
                let what = format!(
                    "this override of target `{}`",
                    bundle.target.as_deref().unwrap_or("?")
                );
                diags.extend(conflicts.iter().map(|c| conflict_error(c, &what)));
            }
        }
    }
    target_vars
}

fn parse_file(
    path: &Arc<PathBuf>,
    text: &str,
    config: &Config,
    diags: &mut Vec<LoadError>,
) -> Option<Node> {
    match yaml::parse_with_notes(path, text, &config.limits) {
        Ok(parsed) => {
            for note in parsed.notes {
                diags.push(note_error(path, note));
            }
            Some(parsed.node)
        }
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
            let mut d = LoadError::new(
                LoadErrorKind::InvalidYaml,
                path.clone(),
                range,
                e.message.clone(),
            );
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

/// The finding for what the CLI accepts in a YAML file but is probably a mistake.
fn note_error(path: &Arc<PathBuf>, note: yaml::ParseNote) -> LoadError {
    match note {
        yaml::ParseNote::DuplicateKey {
            key,
            first,
            second,
        } => LoadError::new(
            LoadErrorKind::DuplicateKey,
            path.clone(),
            second,
            format!("key `{key}` is repeated in this mapping: the CLI keeps this value and ignores the first one"),
        )
        .related(path.clone(), first, "first written here")
        .help("remove one of the two entries (or merge them)"),
        yaml::ParseNote::ExtraDocuments { at } => LoadError::new(
            LoadErrorKind::InvalidYaml,
            path.clone(),
            at,
            "a second YAML document starts here: the CLI reads only the first document of a file and ignores the rest",
        )
        .severity(Severity::Warning)
        .help("remove the `---` line, or move the second document to its own file and include it"),
    }
}

/// The sync root: the bundle root, widened by `sync.paths` to their common ancestor.
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
