//! Resolution of `%run` targets, `dbutils.notebook.run` paths and local imports to files.

use std::path::{Path, PathBuf};

use crate::discover::normalize;

/// Extensions a notebook may have on disk (Databricks strips them in the workspace).
pub const NOTEBOOK_EXTENSIONS: &[&str] = &["py", "ipynb", "sql", "scala", "r", "R"];

/// Is a notebook path absolute in the workspace (`/Workspace/...`, `/Repos/...`)? Those cannot be
/// resolved in the repository.
pub fn is_workspace_absolute(target: &str) -> bool {
    target.starts_with('/')
}

/// Candidate files for a relative notebook path used from `from_file`: the path as written,
/// then with each notebook extension.
pub fn notebook_candidates(from_file: &Path, target: &str) -> Vec<PathBuf> {
    let target = target.trim().trim_matches(|c| c == '"' || c == '\'');
    if target.is_empty() || is_workspace_absolute(target) || target.contains("://") {
        return Vec::new();
    }
    let base = from_file.parent().unwrap_or(Path::new("."));
    let p = normalize(&base.join(target));
    let mut out = vec![p.clone()];
    for ext in NOTEBOOK_EXTENSIONS {
        let mut s = p.clone().into_os_string();
        s.push(".");
        s.push(ext);
        out.push(PathBuf::from(s));
    }
    out
}

/// Candidate files of a Python module imported from `from_file`: `a.b` -> `a/b.py`,
/// `a/b/__init__.py`, searched from the importing file's directory and its ancestors (the
/// notebook's directory and the repository root are both on `sys.path` in Databricks Repos).
/// Relative imports (`level` dots) are resolved from the importing file's package.
pub fn module_candidates(from_file: &Path, module: &str, level: u32) -> Vec<PathBuf> {
    let rel: PathBuf = module.split('.').filter(|s| !s.is_empty()).collect();
    let mut bases = Vec::new();
    let dir = from_file.parent().unwrap_or(Path::new("."));
    if level > 0 {
        let mut b = dir.to_path_buf();
        for _ in 1..level {
            b = b.parent().map(Path::to_path_buf).unwrap_or(b);
        }
        bases.push(b);
    } else {
        bases.extend(dir.ancestors().take(6).map(Path::to_path_buf));
    }
    let mut out = Vec::new();
    for b in bases {
        if rel.as_os_str().is_empty() {
            out.push(b.join("__init__.py"));
            continue;
        }
        let mut f = b.join(&rel).into_os_string();
        f.push(".py");
        out.push(PathBuf::from(f));
        out.push(b.join(&rel).join("__init__.py"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notebook_and_module_candidates() {
        let from = Path::new("/repo/notebooks/orchestrate.py");
        let c = notebook_candidates(from, "../lib/helpers");
        assert_eq!(c[0], PathBuf::from("/repo/lib/helpers"));
        assert!(c.contains(&PathBuf::from("/repo/lib/helpers.py")));
        assert!(c.contains(&PathBuf::from("/repo/lib/helpers.ipynb")));
        assert!(notebook_candidates(from, "/Workspace/Shared/x").is_empty());
        let m = module_candidates(from, "lib.runner", 0);
        assert_eq!(m[0], PathBuf::from("/repo/notebooks/lib/runner.py"));
        assert!(m.contains(&PathBuf::from("/repo/lib/runner.py")));
        assert!(m.contains(&PathBuf::from("/repo/lib/runner/__init__.py")));
        let r = module_candidates(Path::new("/repo/pkg/sub/mod.py"), "util", 2);
        assert_eq!(r[0], PathBuf::from("/repo/pkg/util.py"));
    }
}
