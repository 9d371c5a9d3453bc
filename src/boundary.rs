//! The project boundary: no file that project content names is read when it resolves outside
//! the project.
//!
//! A pull request controls the files of the repository, symbolic links included. A link such as
//! `resources/x.yml -> /etc/passwd`, matched by an `include:` glob, would otherwise be read and
//! its text echoed in findings, CI annotations, SARIF or `plan` output. So every path that comes
//! from project content (bundle includes, `%run` targets and local imports loaded for context,
//! files a notebook reads, the variable-overrides file, schema paths from the configuration, and
//! symbolic links named on the command line) is resolved with [`std::fs::canonicalize`] before it
//! is opened, and refused when the real path lies outside every root of the boundary.
//!
//! A root is the repository that holds the analysed path: its nearest ancestor with a `.git`
//! entry (a directory, or the file of a worktree or submodule). Outside any repository, it is the
//! working directory when that holds the path, and the path's own directory otherwise.

use std::path::{Component, Path, PathBuf};

/// The directories a run may read from (canonical paths).
#[derive(Debug, Clone, Default)]
pub struct Boundary {
    roots: Vec<PathBuf>,
}

/// A path that resolves outside the boundary. Its display names the path and where it points,
/// never anything read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    /// The path as it was named.
    pub path: PathBuf,
    /// The first symbolic link on the way, and what it points to (as stored in the link).
    pub link: Option<(PathBuf, PathBuf)>,
    /// The real path.
    pub resolved: PathBuf,
}

impl std::fmt::Display for Escape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = crate::discover::display_path(&self.path);
        match &self.link {
            Some((link, to)) if link == &self.path => write!(
                f,
                "`{shown}`, a symbolic link to `{}` outside the project",
                to.display()
            ),
            Some((link, to)) => write!(
                f,
                "`{shown}`, which resolves to `{}` outside the project through the symbolic link `{}` -> `{}`",
                self.resolved.display(),
                crate::discover::display_path(link),
                to.display()
            ),
            None => write!(
                f,
                "`{shown}`, which resolves to `{}` outside the project",
                self.resolved.display()
            ),
        }
    }
}

impl Boundary {
    /// The boundary of a run over `paths` (files or directories, absolute or relative to the
    /// working directory).
    pub fn of_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Boundary {
        let mut roots: Vec<PathBuf> = paths.into_iter().filter_map(root_of).collect();
        roots.sort();
        roots.dedup();
        Boundary { roots }
    }

    /// The roots (canonical directories).
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// May `path` be read? A path that does not exist is allowed (opening it fails on its own);
    /// so is every path when the boundary has no roots (nothing could be resolved).
    pub fn check(&self, path: &Path) -> Result<(), Box<Escape>> {
        if self.roots.is_empty() {
            return Ok(());
        }
        let Ok(real) = std::fs::canonicalize(path) else {
            return Ok(());
        };
        if self.roots.iter().any(|r| real.starts_with(r)) {
            return Ok(());
        }
        Err(Box::new(Escape {
            path: path.to_path_buf(),
            link: first_link(path),
            resolved: real,
        }))
    }

    /// Like [`Boundary::check`], as a boolean.
    pub fn allows(&self, path: &Path) -> bool {
        self.check(path).is_ok()
    }
}

/// The root of the project holding `path` (see the module documentation), canonical. A path
/// that is itself a symbolic link belongs to the project of the directory holding the link, not
/// to that of its target.
pub fn root_of(path: &Path) -> Option<PathBuf> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let start = if !is_link && path.is_dir() {
        path
    } else {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    };
    let dir = std::fs::canonicalize(start).ok()?;
    if let Some(repo) = dir.ancestors().find(|d| d.join(".git").exists()) {
        return Some(repo.to_path_buf());
    }
    if let Some(cwd) = std::env::current_dir()
        .ok()
        .and_then(|c| std::fs::canonicalize(c).ok())
    {
        if dir.starts_with(&cwd) {
            return Some(cwd);
        }
    }
    Some(dir)
}

/// The first component of `path` (made absolute) that is a symbolic link, with its target.
fn first_link(path: &Path) -> Option<(PathBuf, PathBuf)> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut cur = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                cur.pop();
                continue;
            }
            Component::CurDir => continue,
            _ => cur.push(c),
        }
        if let Ok(m) = std::fs::symlink_metadata(&cur) {
            if m.file_type().is_symlink() {
                let to = std::fs::read_link(&cur).unwrap_or_default();
                return Some((cur, to));
            }
        }
    }
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn project() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.txt");
        std::fs::write(&secret, "password").unwrap();
        let repo = outside.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("resources")).unwrap();
        std::fs::write(repo.join("resources/ok.yml"), "a: 1").unwrap();
        (outside, repo, secret)
    }

    #[test]
    fn links_out_of_the_repository_are_refused() {
        let (_t, repo, secret) = project();
        symlink(&secret, repo.join("resources/x.yml")).unwrap();
        symlink(secret.parent().unwrap(), repo.join("linked_dir")).unwrap();
        symlink("../../secret.txt", repo.join("resources/rel.yml")).unwrap();
        let b = Boundary::of_paths([repo.as_path()]);
        assert!(b.allows(&repo.join("resources/ok.yml")));
        let e = b.check(&repo.join("resources/x.yml")).unwrap_err();
        assert_eq!(e.link.as_ref().unwrap().1, secret);
        assert!(e.to_string().contains("a symbolic link to"), "{e}");
        assert!(!e.to_string().contains("password"));
        let e = b.check(&repo.join("linked_dir/secret.txt")).unwrap_err();
        assert!(e.to_string().contains("linked_dir"), "{e}");
        assert!(b.check(&repo.join("resources/rel.yml")).is_err());
        // `..` chains out of the repository.
        assert!(b.check(&repo.join("resources/../../secret.txt")).is_err());
        // Links that stay inside are fine.
        symlink(repo.join("resources/ok.yml"), repo.join("resources/in.yml")).unwrap();
        assert!(b.allows(&repo.join("resources/in.yml")));
        // A path that does not exist is left to the caller.
        assert!(b.allows(&repo.join("resources/none.yml")));
        // A link named as a path of the run belongs to the project that holds the link.
        let link = repo.join("resources/x.yml");
        let named = Boundary::of_paths([link.as_path()]);
        assert!(named.check(&link).is_err());
    }

    #[test]
    fn the_root_is_the_repository_of_the_path() {
        let (_t, repo, _) = project();
        let sub = repo.join("resources");
        assert_eq!(
            root_of(&sub.join("ok.yml")).unwrap(),
            std::fs::canonicalize(&repo).unwrap()
        );
        // A worktree's `.git` is a file.
        let (_t2, repo2, _) = project();
        std::fs::remove_dir_all(repo2.join(".git")).unwrap();
        std::fs::write(repo2.join(".git"), "gitdir: elsewhere").unwrap();
        assert_eq!(
            root_of(&repo2.join("resources")).unwrap(),
            std::fs::canonicalize(&repo2).unwrap()
        );
    }
}
