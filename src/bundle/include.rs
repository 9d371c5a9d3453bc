//! `include:` entries resolved to files like the CLI: relative to the bundle root, globs
//! matched like Go's `filepath.Glob` (`*` never crosses `/`), in order, first match wins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::GlobBuilder;

use super::error::{LoadError, LoadErrorKind};
use super::{Node, Value};

fn has_glob_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
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
    let boundary = crate::boundary::Boundary::of_paths([root]);
    for (i, item) in items.into_iter().enumerate() {
        let outside = |e: &crate::boundary::Escape, pat: &str, i: usize| {
            LoadError::new(
                LoadErrorKind::OutsideProject,
                root_file.clone(),
                item.loc.range,
                format!("include `{pat}` matches {e}: it is not read"),
            )
            .route(format!("include[{i}]"))
        };
        let route = format!("include[{i}]");
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
                .route(route),
            );
            continue;
        };
        let err = |msg: String| {
            LoadError::new(
                LoadErrorKind::Config,
                root_file.clone(),
                item.loc.range,
                msg,
            )
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
pub(super) fn walk_depth(root: &Path, dir: &Path, parts: &[&str], f: &mut dyn FnMut(&Path, &Path)) {
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
