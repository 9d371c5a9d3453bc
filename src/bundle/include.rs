//! `include:` entries resolved to files as the Databricks CLI does (its `ProcessRootIncludes`
//! mutator): each entry is joined to the bundle root and cleaned (so `../shared/*.yml` works),
//! then matched like Go's `filepath.Glob` (`*` never crosses `/`, `**` is a plain `*`, `{`
//! and `}` are plain characters); matches are taken in order, sorted within an entry, first
//! match wins; the root files (`databricks.yml`, `databricks.yaml`, `bundle.yml`,
//! `bundle.yaml` of the bundle root) are never included again; a match that is not YAML or
//! JSON is an error, and so is an entry without wildcards that matches nothing.
//!
//! Unlike the CLI, nothing outside the project is read (see [`crate::boundary`]): an entry that
//! leaves the repository, or a match that resolves outside it through a symbolic link, is a
//! finding. Patterns are bounded ([`crate::discover::MAX_GLOB_BYTES`]).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};

use super::error::{LoadError, LoadErrorKind};
use super::{Node, Value};
use crate::boundary::Boundary;

/// The names of a bundle's root file, in the order the CLI looks for them (`config.FileNames`).
pub const ROOT_FILE_NAMES: &[&str] = crate::discover::BUNDLE_ROOT_NAMES;

fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// What one `include:` entry needs to be resolved.
struct IncludeEntry<'a> {
    root: &'a Path,
    root_file: &'a Arc<PathBuf>,
    item: &'a Node,
    index: usize,
    pat: &'a str,
}

impl IncludeEntry<'_> {
    fn error(&self, kind: LoadErrorKind, msg: String) -> LoadError {
        LoadError::new(kind, self.root_file.clone(), self.item.loc.range, msg)
            .route(format!("include[{}]", self.index))
    }
}

/// Resolve `include:` entries to files, in order, first match wins.
pub(super) fn resolve_includes(
    root: &Path,
    root_file: &Arc<PathBuf>,
    tree: &Node,
    virtual_files: &[PathBuf],
    diags: &mut Vec<LoadError>,
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
                LoadError::new(
                    LoadErrorKind::Config,
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
    let boundary = Boundary::of_paths([root]);
    // The root files are never included again.
    let mut seen: Vec<PathBuf> = ROOT_FILE_NAMES.iter().map(|n| root.join(n)).collect();
    for (index, item) in items.into_iter().enumerate() {
        let Some(pat) = item.as_str() else {
            diags.push(
                LoadError::new(
                    LoadErrorKind::Config,
                    root_file.clone(),
                    item.loc.range,
                    format!(
                        "an include entry must be a string, found a {}",
                        item.type_name()
                    ),
                )
                .route(format!("include[{index}]")),
            );
            continue;
        };
        let entry = IncludeEntry {
            root,
            root_file,
            item,
            index,
            pat,
        };
        for m in entry_matches(&entry, virtual_files, &boundary, diags) {
            if seen.contains(&m) {
                continue;
            }
            seen.push(m.clone());
            let ext = m.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !matches!(ext, "yml" | "yaml" | "json") {
                diags.push(
                    entry
                        .error(
                            LoadErrorKind::Config,
                            format!(
                                "include `{pat}` matches `{}`, which is not a YAML or JSON file: the CLI refuses to load the bundle",
                                crate::discover::display_path(&m)
                            ),
                        )
                        .help("narrow the pattern (`resources/*.yml`); files to upload belong under `sync.include`"),
                );
                continue;
            }
            if let Err(e) = boundary.check(&m) {
                diags.push(entry.error(
                    LoadErrorKind::OutsideProject,
                    format!("include `{pat}` matches {e}: it is not read"),
                ));
                continue;
            }
            out.push(m);
        }
    }
    out
}

/// The files one entry matches, sorted (problems with the entry itself go to `diags`).
fn entry_matches(
    entry: &IncludeEntry<'_>,
    virtual_files: &[PathBuf],
    boundary: &Boundary,
    diags: &mut Vec<LoadError>,
) -> Vec<PathBuf> {
    let pat = entry.pat;
    if Path::new(pat).is_absolute() || pat.starts_with('/') {
        diags.push(entry.error(
            LoadErrorKind::Config,
            format!(
                "include `{pat}` is an absolute path; includes are relative to the bundle root"
            ),
        ));
        return Vec::new();
    }
    if pat.len() > crate::discover::MAX_GLOB_BYTES {
        diags.push(
            entry
                .error(
                    LoadErrorKind::Config,
                    format!(
                        "include pattern {} is longer than {} bytes: it is not matched",
                        crate::discover::show_pattern(pat),
                        crate::discover::MAX_GLOB_BYTES
                    ),
                )
                .help("split it into several entries"),
        );
        return Vec::new();
    }
    // Joined to the root and cleaned, as `filepath.Join` does.
    let cleaned = crate::discover::normalize(&entry.root.join(pat));
    let (base, rest) = split_literal_base(&cleaned);
    if let Err(e) = boundary.check(&base) {
        diags.push(entry.error(
            LoadErrorKind::OutsideProject,
            format!("include `{pat}` points to {e}: it is not read"),
        ));
        return Vec::new();
    }
    if rest.is_empty() {
        if cleaned.is_file() || virtual_files.contains(&cleaned) {
            return vec![cleaned];
        }
        diags.push(entry.error(
            LoadErrorKind::Config,
            format!("include `{pat}` matches no file (a path without wildcards must exist)"),
        ));
        return Vec::new();
    }
    let glob = match go_glob(&rest.join("/")) {
        Ok(g) => g,
        Err(e) => {
            diags.push(entry.error(
                LoadErrorKind::Config,
                format!("include `{pat}` is not a valid glob: {e}"),
            ));
            return Vec::new();
        }
    };
    let parts: Vec<&str> = rest.iter().map(String::as_str).collect();
    let mut matches = Vec::new();
    walk_depth(&base, &base, &parts, &mut |rel, abs| {
        if glob.is_match(rel) {
            matches.push(abs.to_path_buf());
        }
    });
    for v in virtual_files {
        if v.strip_prefix(&base).is_ok_and(|rel| glob.is_match(rel)) && !matches.contains(v) {
            matches.push(v.clone());
        }
    }
    matches.sort();
    matches
}

/// Split a cleaned absolute pattern into the directory its leading components without
/// wildcards name, and the components from the first wildcard on (empty for a plain path).
fn split_literal_base(cleaned: &Path) -> (PathBuf, Vec<String>) {
    let mut base = PathBuf::new();
    let mut rest = Vec::new();
    for c in cleaned.components() {
        let s = c.as_os_str().to_string_lossy();
        if rest.is_empty() && (!has_glob_meta(&s) || matches!(c, Component::RootDir)) {
            base.push(c.as_os_str());
        } else {
            rest.push(s.into_owned());
        }
    }
    if rest.is_empty() {
        return (cleaned.to_path_buf(), rest);
    }
    (base, rest)
}

/// A matcher with the syntax of Go's `filepath.Match`: `*` and `?` never cross `/`, `[...]`
/// classes (`[^...]` negated), `\` escapes; `{`, `}` and `,` are plain characters; `**` is `*`.
fn go_glob(pattern: &str) -> Result<GlobMatcher, String> {
    let mut p = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                p.push(c);
                if let Some(n) = chars.next() {
                    p.push(n);
                }
            }
            '[' if !in_class => {
                in_class = true;
                p.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    p.push('!');
                }
            }
            ']' if in_class => {
                in_class = false;
                p.push(']');
            }
            '{' | '}' if !in_class => {
                p.push('[');
                p.push(c);
                p.push(']');
            }
            '*' if !in_class => {
                p.push('*');
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
            }
            _ => p.push(c),
        }
    }
    GlobBuilder::new(&p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Visit the files below `dir` as many components down as the pattern `parts` has, that may
/// match it: a component without wildcards names its entry (`resources` in
/// `resources/*.yml`), so the directory holding it is not listed. `f` gets each file's path
/// relative to `root` and its full path.
pub(super) fn walk_depth(root: &Path, dir: &Path, parts: &[&str], f: &mut dyn FnMut(&Path, &Path)) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    let depth = parts.len();
    let literal = !first.contains(['*', '?', '[', ']', '\\']) && !matches!(*first, "" | "." | "..");
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
